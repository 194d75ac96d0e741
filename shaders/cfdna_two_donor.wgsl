// Two-donor log-likelihood ℓ(f1, f2) of every (draw piece, grid point) row of
// a batch chunk (shared/docs/cfdna-model.md §2.4): a SNP's terms are
// (recipient, donor 1, donor 2) genotype triples, 27 classes per table row
// (class r·9 + d1·3 + d2), binomial reads at the draw's error rate. Layout,
// row mapping and the fixed-order reduction are those of cfdna_loglik.wgsl
// (cfdna_common.wgsl, prepended by the host); the beta table is not read.
// CPU twin: src/compute/cpu/cfdna_two_donor.rs.

const TWO_DONOR_CLASSES: u32 = 27u;

// logsumexp_t[lw_t + k(ln π_t − ln k/n) + (n − k)(ln(1 − π_t) − ln(1 − k/n))]:
// the SNP's log-likelihood minus its saturated value, from the host's f64
// class logs (hi + lo pairs).
fn two_donor_snp_loglik(snp: Snp, table_base: u32) -> f32 {
    let k = f32(snp.alt);
    let nk = f32(snp.depth - snp.alt);
    let count = min(snp.term_count, GENOTYPE_CLASSES);
    var values: array<f32, 9>;
    var best = -3.0e38;
    for (var t = 0u; t < count; t++) {
        let term = terms[snp.first_term + t];
        let dev = table_deviances(snp, class_logp[table_base + term.genotype_class]);
        let v = term.log_weight + k * dev.x + nk * dev.y;
        values[t] = v;
        best = max(best, v);
    }
    return log_sum_exp(values, count, best);
}

@compute @workgroup_size(256)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let row = wg.y * params.dispatch_width + wg.x;
    let in_range = row < params.row_count;
    let at = row_piece_and_point(row);
    let piece = pieces[at.x];
    let table_base = (piece.first_table_row + at.y) * TWO_DONOR_CLASSES;
    var acc = 0.0;
    for (var i = lid; i < select(0u, piece.snp_count, in_range); i += WORKGROUP_SIZE) {
        acc += two_donor_snp_loglik(snps[piece.first_snp + i], table_base);
    }
    store_row_sum(acc, lid, row, in_range);
}
