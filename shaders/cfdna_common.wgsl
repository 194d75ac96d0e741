// Shared by cfdna_loglik.wgsl and cfdna_bootstrap.wgsl (WGSL has no includes:
// the host prepends this file to each kernel, see gpu::context::kernel_source).
// Buffer layout twin: src/compute/gpu/layout.rs.

struct Params {
    row_count: u32,
    dispatch_width: u32,
    seed_lo: u32,
    seed_hi: u32,
}

struct Piece {
    first_snp: u32,
    snp_count: u32,
    first_table_row: u32,
    grid_count: u32,
    first_out_row: u32,
    replicate_count: u32,
    sample_index: u32,
    snp_offset: u32,
}

struct Snp {
    alt: u32,
    depth: u32,
    first_term: u32,
    term_count: u32,
    weight: f32,
    sat_ln_alt_hi: f32,
    sat_ln_alt_lo: f32,
    sat_ln_ref_hi: f32,
    sat_ln_ref_lo: f32,
}

struct Term {
    genotype_class: u32,
    log_weight: f32,
}

const WORKGROUP_SIZE: u32 = 256u;
const GENOTYPE_CLASSES: u32 = 9u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> pieces: array<Piece>;
@group(0) @binding(2) var<storage, read> row_piece: array<u32>;
@group(0) @binding(3) var<storage, read> snps: array<Snp>;
@group(0) @binding(4) var<storage, read> terms: array<Term>;
// (ln π, ln(1 − π)) per (table row, class), computed on the host in f64 (keeps
// log(1 − p) for small p out of f32) and stored as hi + lo f32 pairs:
// (ln π hi, ln π lo, ln(1 − π) hi, ln(1 − π) lo).
@group(0) @binding(5) var<storage, read> class_logp: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> loglik: array<f32>;

var<workgroup> partial: array<f32, WORKGROUP_SIZE>;

// One SNP's log-likelihood minus its saturated value:
// logsumexp_t[lw_t + k(ln π_t − ln k/n) + (n − k)(ln(1 − π_t) − ln(1 − k/n))].
// Subtracting the saturated logs inside each term keeps magnitudes small, and
// the hi/lo split makes ln π − ln(k/n) accurate to f32 of the difference rather
// than of ln π: one class's rounding would otherwise repeat over every SNP.
fn snp_loglik(snp: Snp, table_base: u32) -> f32 {
    let k = f32(snp.alt);
    let nk = f32(snp.depth - snp.alt);
    let count = min(snp.term_count, GENOTYPE_CLASSES);
    var values: array<f32, 9>;
    var best = -3.0e38;
    for (var t = 0u; t < count; t++) {
        let term = terms[snp.first_term + t];
        let lp = class_logp[table_base + term.genotype_class];
        let d_alt = (lp.x - snp.sat_ln_alt_hi) + (lp.y - snp.sat_ln_alt_lo);
        let d_ref = (lp.z - snp.sat_ln_ref_hi) + (lp.w - snp.sat_ln_ref_lo);
        let v = term.log_weight + k * d_alt + nk * d_ref;
        values[t] = v;
        best = max(best, v);
    }
    var sum = 0.0;
    for (var t = 0u; t < count; t++) {
        sum += exp(values[t] - best);
    }
    return best + log(sum);
}

// Tree-reduce the workgroup's partial sums in a fixed order (bit-reproducible:
// no float atomics, no subgroup operations) and store the row. Every thread
// calls it, rows past the end included, so every barrier is reached.
fn store_row_sum(acc: f32, lid: u32, row: u32, in_range: bool) {
    partial[lid] = acc;
    workgroupBarrier();
    for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride = stride / 2u) {
        if (lid < stride) {
            partial[lid] = partial[lid] + partial[lid + stride];
        }
        workgroupBarrier();
    }
    if (in_range && lid == 0u) {
        loglik[row] = partial[0];
    }
}
