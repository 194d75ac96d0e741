// SNP bootstrap: the log-likelihood of every (sample piece, replicate, grid
// point) row, each SNP weighted by a Poisson(1) resampling count drawn from a
// counter-based integer hash of (seed, sample, replicate, SNP) — no RNG state,
// bit-identical to the CPU twin (Hanley & MacGibbon 2006 Poisson bootstrap).
// One workgroup per row, strided SNP loop, fixed tree reduction.
// CPU twin: src/compute/cpu/cfdna_bootstrap.rs. Layout twin: src/compute/gpu/layout.rs.
// (Structs and snp_loglik are copies of cfdna_loglik.wgsl: WGSL has no includes.)

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
            acc += snp.weight * f32(c) * snp_loglik(snp, table_base);
        }
    }
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
