// Log-likelihood of every (sample piece, grid point) row of a batch chunk
// (shared/docs/cfdna-model.md §1–2). One workgroup per output row; its threads
// stride over the piece's SNPs and reduce with a fixed tree, so the result is
// bit-reproducible (no float atomics, no subgroup operations).
// CPU twin: src/compute/cpu/cfdna_loglik.rs. Structs, bindings, snp_loglik and
// the reduction: cfdna_common.wgsl, prepended by the host.

@compute @workgroup_size(256)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let row = wg.y * params.dispatch_width + wg.x;
    let in_range = row < params.row_count;
    let at = row_piece_and_point(row);
    let piece = pieces[at.x];
    let table_base = (piece.first_table_row + at.y) * GENOTYPE_CLASSES;
    let n = select(0u, piece.snp_count, in_range);

    var acc = 0.0;
    for (var i = lid; i < n; i += WORKGROUP_SIZE) {
        let snp = snps[piece.first_snp + i];
        acc += snp.weight * snp_loglik(snp, table_base, piece);
    }
    store_row_sum(acc, lid, row, in_range);
}
