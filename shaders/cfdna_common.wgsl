// Shared by cfdna_loglik.wgsl, cfdna_bootstrap.wgsl and cfdna_two_donor.wgsl
// (WGSL has no includes: the host prepends this file to each kernel, see
// gpu::context::kernel_source).
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
    // 0: binomial reads; 1: beta-binomial with a 1% uniform outlier share.
    read_model: u32,
    // Molecule and error dispersions ρ_s, ρ_e and the molecule share w of ρ_s
    // (SNPs with their own error rates build their terms' ρ from them; the
    // others read the class table).
    signal_rho: f32,
    error_rho: f32,
    molecule_share: f32,
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
    // ln(0.01/(n + 1)) − saturated − ln C(n, k) − ln 0.99, computed on the host
    // in f64: the outlier share on the SNP's deviance scale.
    outlier_shift: f32,
    // Per-site (REF→ALT, ALT→REF) error rates when has_site_error = 1.
    site_error_ra: f32,
    site_error_ar: f32,
    has_site_error: u32,
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
// Beta-binomial parameters per (table row, class), from the host in f64:
// (α, β, α + β, p) with p the class's expected ALT fraction (SNPs with their
// own error rates form their π from it).
@group(0) @binding(7) var<storage, read> class_beta: array<vec4<f32>>;

var<workgroup> partial: array<f32, WORKGROUP_SIZE>;

// ln(1 + x) without the rounding of 1 + x (Goldberg's correction).
fn log1p_accurate(x: f32) -> f32 {
    let u = 1.0 + x;
    if (u == 1.0) {
        return x;
    }
    return log(u) * (x / (u - 1.0));
}

// Stirling's correction s(x) = ln Γ(x) − (x − ½)ln x + x − ½ln 2π, x ≥ 10.
fn stirling_tail(x: f32) -> f32 {
    let inv = 1.0 / x;
    let inv2 = inv * inv;
    return inv * (1.0 / 12.0 - inv2 * (1.0 / 360.0 - inv2 * (1.0 / 1260.0)));
}

// ln Γ(a + k) − ln Γ(a) − k·ln a for a count k ≥ 0: the beta-binomial's
// excess over the binomial, computed without differences of large ln Γ
// values (f32 cannot hold them). Small a: peel factors (a + j)/a up to
// a + 10; then the Stirling form a·[(1 + x)ln(1 + x) − x] − ½ln(1 + x)
// + s(a + k) − s(a), x = k/a, its bracket by series when x is small.
fn rising_excess(a_in: f32, k_in: f32) -> f32 {
    if (k_in <= 0.0) {
        return 0.0;
    }
    var a = a_in;
    var k = k_in;
    var acc = 0.0;
    if (a < 10.0) {
        let m = min(k, 10.0);
        for (var j = 1.0; j < m; j += 1.0) {
            acc += log1p_accurate(j / a);
        }
        if (k <= m) {
            return acc;
        }
        acc += (k - m) * log1p_accurate(m / a);
        a = a + m;
        k = k - m;
    }
    let x = k / a;
    var g: f32;
    if (x < 0.1) {
        // (1 + x)ln(1 + x) − x = Σ_{m≥2} (−1)^m x^m / (m(m − 1))
        g = x * x * (1.0 / 2.0 - x * (1.0 / 6.0 - x * (1.0 / 12.0 - x * (1.0 / 20.0
            - x * (1.0 / 30.0 - x * (1.0 / 42.0 - x * (1.0 / 56.0)))))));
    } else {
        g = (1.0 + x) * log1p_accurate(x) - x;
    }
    return acc + a * g - 0.5 * log1p_accurate(x) + (stirling_tail(a + k) - stirling_tail(a));
}

// ρ of one genotype term (dispersion.rs term_rho).
fn term_rho(p: f32, pi: f32, signal_rho: f32, error_rho: f32, molecule_share: f32) -> f32 {
    let v = pi * (1.0 - pi);
    if (v <= 0.0) {
        return 1e-7;
    }
    let s = p * (1.0 - p);
    let signal = signal_rho * (molecule_share * s + (1.0 - molecule_share) * 4.0 * s * s);
    return clamp((signal + error_rho * abs(pi - p)) / v, 1e-7, 0.5);
}

// (ln π − ln k/n, ln(1 − π) − ln(1 − k/n)) of one class table entry, hi
// parts and lo parts subtracted separately (see snp_loglik).
fn table_deviances(snp: Snp, lp: vec4<f32>) -> vec2<f32> {
    return vec2<f32>(
        (lp.x - snp.sat_ln_alt_hi) + (lp.y - snp.sat_ln_alt_lo),
        (lp.z - snp.sat_ln_ref_hi) + (lp.w - snp.sat_ln_ref_lo),
    );
}

// ln Σ_t exp(values[t]) over the first `count` terms, `best` their maximum.
fn log_sum_exp(values: array<f32, 9>, count: u32, best: f32) -> f32 {
    var sum = 0.0;
    for (var t = 0u; t < count; t++) {
        sum += exp(values[t] - best);
    }
    return best + log(sum);
}

// One SNP's log-likelihood minus its saturated value:
// logsumexp_t[lw_t + k(ln π_t − ln k/n) + (n − k)(ln(1 − π_t) − ln(1 − k/n)) + B_t],
// B_t the beta-binomial's excess over the binomial (0 for binomial reads).
// Subtracting the saturated logs inside each term keeps magnitudes small, and
// the hi/lo split makes ln π − ln(k/n) accurate to f32 of the difference rather
// than of ln π: one class's rounding would otherwise repeat over every SNP.
// Beta-binomial reads mix in a 1% uniform outlier share (likelihood.rs).
fn snp_loglik(snp: Snp, table_base: u32, piece: Piece) -> f32 {
    let k = f32(snp.alt);
    let nk = f32(snp.depth - snp.alt);
    let n = f32(snp.depth);
    let count = min(snp.term_count, GENOTYPE_CLASSES);
    let beta_reads = piece.read_model == 1u;
    var values: array<f32, 9>;
    var best = -3.0e38;
    for (var t = 0u; t < count; t++) {
        let term = terms[snp.first_term + t];
        let lp = class_logp[table_base + term.genotype_class];
        let cb = class_beta[table_base + term.genotype_class];
        var d_alt: f32;
        var d_ref: f32;
        var a = cb.x;
        var b = cb.y;
        var c = cb.z;
        if (snp.has_site_error == 1u) {
            let p = cb.w;
            let pi = snp.site_error_ra + (1.0 - snp.site_error_ra - snp.site_error_ar) * p;
            d_alt = (log(pi) - snp.sat_ln_alt_hi) - snp.sat_ln_alt_lo;
            d_ref = (log1p_accurate(-pi) - snp.sat_ln_ref_hi) - snp.sat_ln_ref_lo;
            let rho = term_rho(p, pi, piece.signal_rho, piece.error_rho, piece.molecule_share);
            c = (1.0 - rho) / rho;
            a = max(pi * c, 1e-30);
            b = max((1.0 - pi) * c, 1e-30);
        } else {
            let dev = table_deviances(snp, lp);
            d_alt = dev.x;
            d_ref = dev.y;
        }
        var v = term.log_weight + k * d_alt + nk * d_ref;
        if (beta_reads) {
            v += rising_excess(a, k) + rising_excess(b, nk) - rising_excess(c, n);
        }
        values[t] = v;
        best = max(best, v);
    }
    let model = log_sum_exp(values, count, best);
    if (!beta_reads) {
        return model;
    }
    // ln 0.99 + logaddexp(model, outlier_shift)
    let hi = max(model, snp.outlier_shift);
    let lo = min(model, snp.outlier_shift);
    return -0.010050336 + hi + log1p_accurate(exp(lo - hi));
}

// (piece index, grid point) of an output row of a single-replicate kernel.
// Rows past the end map onto the last row: they still reach every barrier
// (uniform control flow) and store nothing.
fn row_piece_and_point(row: u32) -> vec2<u32> {
    let safe_row = min(row, params.row_count - 1u);
    let p = row_piece[safe_row];
    let piece = pieces[p];
    return vec2<u32>(p, (safe_row - piece.first_out_row) % max(piece.grid_count, 1u));
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
