//! Branch-free ln, exp and ln Γ on fixed-width lanes of f64, written so that
//! the compiler vectorises them inside `pulp::Arch::dispatch` (AVX-512, AVX2
//! or SSE, chosen at run time). They serve the likelihood's SNP loop
//! (`snp_layout.rs`) and the roofline microbenchmark of the same arithmetic
//! (`cli::bench`). Accuracy: ln and exp within 2 ulp of libm on the ranges
//! the likelihood uses; ln Γ within 1e-13 relative of `dispersion::ln_gamma`
//! (the same Stirling series), checked in `tests`.

/// f64 lanes per step: three AVX-512 registers (six AVX2). Independent
/// dependency chains per operation keep the FMA pipelines busy through the
/// latency of the ln, exp and ln Γ polynomials and the divisions. The pass
/// is latency-bound: taking a lane's three reciprocals from one division
/// lengthened the chain and ran slower than three divisions. Recipient-only
/// beta-binomial grid pass on the 2-core AVX-512 VM, SNP-terms/s: 8 lanes
/// 1.33·10⁸, 16 lanes 2.26·10⁸ (Horner series) and 2.53·10⁸ (Estrin),
/// 24 lanes 2.68·10⁸, 32 lanes 2.19·10⁸ (register spills).
pub const LANES: usize = 24;
pub type Lanes = [f64; LANES];

/// The `LANES` values of `v` from `at`: one bounds check for the whole lane
/// group (indexing lane by lane keeps one per lane, and the loop scalar).
#[inline(always)]
pub fn lanes(v: &[f64], at: usize) -> Lanes {
    let mut out = [0.0; LANES];
    out.copy_from_slice(&v[at..at + LANES]);
    out
}

const LN2_HI: f64 = 6.931_471_803_691_238e-1;
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
const SQRT2: f64 = std::f64::consts::SQRT_2;
/// 1.5·2^52: adding and subtracting it rounds to the nearest integer.
const ROUND_MAGIC: f64 = 6_755_399_441_055_744.0;

/// ln x for positive, finite, normal x (the likelihood never passes others):
/// x = 2^e·m with m in [√½, √2), ln m = 2·atanh(s), s = (m − 1)/(m + 1),
/// by its odd series (|s| ≤ 0.172, eleven terms reach 1e-17).
#[inline(always)]
pub fn ln(x: f64) -> f64 {
    let bits = x.to_bits();
    // The biased exponent as an f64 without an int → float conversion (AVX2
    // has none for 64-bit lanes): 2^52 + v has v in its low mantissa bits.
    let biased = f64::from_bits(((bits >> 52) & 0x7ff) | 0x4330_0000_0000_0000);
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    let big = m > SQRT2;
    m = if big { m * 0.5 } else { m };
    let ef = biased - (4_503_599_627_370_496.0 + 1023.0) + if big { 1.0 } else { 0.0 };
    let s = (m - 1.0) / (m + 1.0);
    let z = s * s;
    // 1/3 + z/5 + … + z⁹/21 by Estrin's scheme: a dependency chain four
    // operations deep where Horner's is nine, so the out-of-order core
    // overlaps more lanes' work (three more multiplies).
    let z2 = z * z;
    let z4 = z2 * z2;
    let z8 = z4 * z4;
    let a0 = z.mul_add(1.0 / 5.0, 1.0 / 3.0);
    let a1 = z.mul_add(1.0 / 9.0, 1.0 / 7.0);
    let a2 = z.mul_add(1.0 / 13.0, 1.0 / 11.0);
    let a3 = z.mul_add(1.0 / 17.0, 1.0 / 15.0);
    let a4 = z.mul_add(1.0 / 21.0, 1.0 / 19.0);
    let b0 = a1.mul_add(z2, a0);
    let b1 = a3.mul_add(z2, a2);
    let p = a4.mul_add(z8, b1.mul_add(z4, b0));
    // ln m = 2s + 2s·z·p: the leading 2s is exact, the rest small.
    let ln_m = (2.0 * s).mul_add(z * p, 2.0 * s);
    ef.mul_add(LN2_HI, ef.mul_add(LN2_LO, ln_m))
}

/// e^x for x ≥ −708; e^−708 (≈ 3e-308) below, where the likelihood only adds
/// such terms to ones near 1 and the result is the same as with 0. No branch:
/// a branch on the argument kept the compiler from vectorising every loop
/// that calls this (scalar code, a third of the vector rate).
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    let xc = x.clamp(-708.0, 709.0);
    let k = xc.mul_add(std::f64::consts::LOG2_E, ROUND_MAGIC) - ROUND_MAGIC;
    let r = k.mul_add(-LN2_LO, k.mul_add(-LN2_HI, xc));
    // Taylor series of e^r, |r| ≤ ln2/2: degree 13 reaches 1e-17. As
    // 1 + (r + r²·q(r)), so that the leading terms keep every bit, with
    // q = 1/2 + r/6 + … + r¹¹/13! by Estrin's scheme: a dependency chain five
    // operations deep where Horner's is eleven, so the out-of-order core
    // overlaps more lanes' work (three more multiplies; see `ln`).
    let r2 = r * r;
    let r4 = r2 * r2;
    let r8 = r4 * r4;
    let a0 = r.mul_add(1.0 / 6.0, 0.5);
    let a1 = r.mul_add(1.0 / 120.0, 1.0 / 24.0);
    let a2 = r.mul_add(1.0 / 5_040.0, 1.0 / 720.0);
    let a3 = r.mul_add(1.0 / 362_880.0, 1.0 / 40_320.0);
    let a4 = r.mul_add(1.0 / 39_916_800.0, 1.0 / 3_628_800.0);
    let a5 = r.mul_add(1.0 / 6_227_020_800.0, 1.0 / 479_001_600.0);
    let b0 = a1.mul_add(r2, a0);
    let b1 = a3.mul_add(r2, a2);
    let b2 = a5.mul_add(r2, a4);
    let q = b2.mul_add(r8, b1.mul_add(r4, b0));
    let p = 1.0 + r2.mul_add(q, r);
    // 2^k from the bits of k + 1023 (an integer in the low mantissa bits).
    let scale = f64::from_bits((k + 1023.0 + ROUND_MAGIC).to_bits() << 52);
    p * scale
}

const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// Stirling's series with five correction terms, for x ≥ 10 (the form of
/// `dispersion::ln_gamma`).
#[inline(always)]
fn stirling(x: f64) -> f64 {
    let inv = 1.0 / x;
    let y = inv * inv;
    // 1/12 − y/360 + y²/1260 − y³/1680 + y⁴/1188 by Horner in fused
    // multiply-adds: written as `a − y·(…)` the compiler keeps a separate
    // multiply and subtract (it may not fuse them), twice the vector
    // instructions for the same arithmetic.
    let mut t: f64 = 1.0 / 1188.0;
    t = t.mul_add(y, -1.0 / 1680.0);
    t = t.mul_add(y, 1.0 / 1260.0);
    t = t.mul_add(y, -1.0 / 360.0);
    t = t.mul_add(y, 1.0 / 12.0);
    let series = inv * t;
    (x - 0.5).mul_add(ln(x), (series - x) + HALF_LN_2PI)
}

/// x(x + 1)…(x + 9) for 0 < x < 10, by Horner on its expansion (the unsigned
/// Stirling numbers of the first kind, 45, 870, …, 9!): ten vector
/// instructions where the running product takes eighteen; every term is
/// positive, so nothing cancels.
#[inline(always)]
fn rising10(x: f64) -> f64 {
    let mut t = x + 45.0;
    t = t.mul_add(x, 870.0);
    t = t.mul_add(x, 9_450.0);
    t = t.mul_add(x, 63_273.0);
    t = t.mul_add(x, 269_325.0);
    t = t.mul_add(x, 723_680.0);
    t = t.mul_add(x, 1_172_700.0);
    t = t.mul_add(x, 1_026_576.0);
    t = t.mul_add(x, 362_880.0);
    t * x
}

/// ln Γ of each lane (x > 0). Lanes below 10 use Γ(x) = Γ(x + 10)/(x(x+1)…(x+9));
/// the product's ln is only paid when a lane needs it.
#[inline(always)]
pub fn ln_gamma_lanes(x: &Lanes) -> Lanes {
    let mut out = [0.0; LANES];
    let mut any_small = false;
    for v in x {
        any_small |= *v < 10.0;
    }
    if any_small {
        for l in 0..LANES {
            let v = x[l];
            let small = v < 10.0;
            let p = rising10(v);
            let xs = if small { v + 10.0 } else { v };
            let ps = if small { p } else { 1.0 };
            out[l] = stirling(xs) - ln(ps);
        }
    } else {
        for l in 0..LANES {
            out[l] = stirling(x[l]);
        }
    }
    out
}

/// ln(e^a + e^b).
#[inline(always)]
pub fn log_add(a: f64, b: f64) -> f64 {
    let hi = a.max(b);
    let lo = a.min(b);
    hi + ln(1.0 + exp(lo - hi))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::dispersion::ln_gamma;

    #[test]
    fn ln_and_exp_match_libm() {
        let mut x: f64 = 1e-300;
        while x < 1e300 {
            for m in [1.0, 1.3, 1.414, 1.42, 1.9999] {
                let v = x * m;
                let want = v.ln();
                assert!(
                    (ln(v) - want).abs() <= 4e-16 * want.abs().max(1.0),
                    "ln {v}: {} vs {want}",
                    ln(v)
                );
            }
            x *= 7.3;
        }
        let mut y: f64 = -708.0;
        while y < 709.0 {
            let want = y.exp();
            assert!((exp(y) - want).abs() <= 4e-16 * want, "exp {y}");
            y += 0.377;
        }
        // Below −708: the smallest normal's order, which adds nothing to 1.
        assert!(exp(-800.0) < 1e-307 && 1.0 + exp(-800.0) == 1.0);
        assert_eq!(ln(1.0), 0.0);
    }

    #[test]
    fn rising10_is_the_product() {
        for x in [1e-300, 1e-9, 0.1, 0.5, 1.0, 3.7, 9.999] {
            let mut want = 1.0;
            for i in 0..10 {
                want *= x + f64::from(i);
            }
            assert!((rising10(x) - want).abs() <= 2e-15 * want, "{x}");
        }
    }

    #[test]
    fn ln_gamma_lanes_match_the_scalar_series() {
        let xs = [
            1e-300, 1e-6, 0.003, 0.5, 1.0, 2.5, 9.99, 10.0, 37.2, 1e3, 2.5e5, 1e7, 1.5e8, 3.3,
            12.5, 0.07,
        ];
        for chunk in xs.chunks(LANES) {
            let mut lanes = [20.0; LANES];
            lanes[..chunk.len()].copy_from_slice(chunk);
            let got = ln_gamma_lanes(&lanes);
            for (g, &x) in got.iter().zip(&lanes) {
                let want = ln_gamma(x);
                assert!(
                    (g - want).abs() <= 1e-13 * want.abs().max(1.0),
                    "x {x}: {g} vs {want}"
                );
            }
        }
    }
}
