// SNP bootstrap: the log-likelihood of every (sample piece, replicate, grid
// point) row, each SNP weighted by a Poisson(1) resampling count drawn from a
// counter-based integer hash of (seed, sample, replicate, SNP) — no RNG state,
// bit-identical to the CPU twin (Hanley & MacGibbon 2006 Poisson bootstrap).
// One workgroup per row, strided SNP loop, fixed tree reduction.
// CPU twin: src/compute/cpu/cfdna_bootstrap.rs. Structs, bindings, snp_loglik
// and the reduction: cfdna_common.wgsl, prepended by the host.

// Poisson(1) CDF · 2^32 (layout.rs POISSON1_THRESHOLDS).
const POISSON1_THRESHOLDS = array<u32, 9>(
    1580030168u, 3160060337u, 3950075421u, 4213413783u, 4279248373u, 4292415291u, 4294609777u,
    4294923276u, 4294962463u,
);

// Wellons' lowbias32 (hash-prospector); u32 arithmetic wraps in WGSL.
fn lowbias32(v: u32) -> u32 {
    var x = v;
    x ^= x >> 16u;
    x *= 0x7feb352du;
    x ^= x >> 15u;
    x *= 0x846ca68bu;
    x ^= x >> 16u;
    return x;
}

// Key of one (seed, sample, replicate): uniform over the workgroup, so hashed
// once outside the SNP loop; each SNP then costs one more hash.
fn replicate_key(sample: u32, replicate: u32) -> u32 {
    var h = lowbias32(params.seed_lo ^ 0x9e3779b9u);
    h = lowbias32(h ^ params.seed_hi);
    h = lowbias32(h ^ sample);
    return lowbias32(h ^ replicate);
}

fn bootstrap_count(key: u32, snp: u32) -> u32 {
    let u = lowbias32(key ^ snp);
    var count = 0u;
    for (var k = 0u; k < 9u; k++) {
        count += select(0u, 1u, u >= POISSON1_THRESHOLDS[k]);
    }
    return count;
}

@compute @workgroup_size(256)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let row = wg.y * params.dispatch_width + wg.x;
    let in_range = row < params.row_count;
    let safe_row = min(row, params.row_count - 1u);
    let piece = pieces[row_piece[safe_row]];
    let local_row = safe_row - piece.first_out_row;
    let grid_count = max(piece.grid_count, 1u);
    let replicate = local_row / grid_count;
    let j = local_row % grid_count;
    let table_base = (piece.first_table_row + j) * GENOTYPE_CLASSES;
    let n = select(0u, piece.snp_count, in_range);

    let key = replicate_key(piece.sample_index, replicate);
    var acc = 0.0;
    for (var i = lid; i < n; i += WORKGROUP_SIZE) {
        let snp = snps[piece.first_snp + i];
        let c = bootstrap_count(key, piece.snp_offset + i);
        if (c > 0u) {
            acc += snp.weight * f32(c) * snp_loglik(snp, table_base, piece);
        }
    }
    store_row_sum(acc, lid, row, in_range);
}
