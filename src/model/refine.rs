//! One-dimensional refinement on the host, in f64, with as few likelihood
//! evaluations as the tolerance allows: Brent's parabolic-interpolation
//! maximiser and a safeguarded regula-falsi root finder (Brent 1973,
//! *Algorithms for Minimization without Derivatives*, ch. 4–5; the Illinois
//! modification of Dowell & Jarratt 1971). Each replaces a golden-section or
//! bisection loop that needed 3–5× the evaluations for the same bracket.

/// 2 − φ: the golden-section step.
const GOLDEN_STEP: f64 = 0.381_966_011_250_105_1;

/// Maximise `func` on [a, b] (assumed unimodal there), to within
/// `tol_rel`·|x| + `tol_abs`. Returns (x̂, func(x̂)). Never evaluates outside
/// [a, b].
pub fn brent_max(
    a: f64,
    b: f64,
    tol_rel: f64,
    tol_abs: f64,
    mut func: impl FnMut(f64) -> f64,
) -> (f64, f64) {
    let (mut a, mut b) = if a <= b { (a, b) } else { (b, a) };
    let mut x = a + GOLDEN_STEP * (b - a);
    let (mut w, mut v) = (x, x);
    // Minimise the negated function (Brent's `localmin`).
    let mut fx = -func(x);
    let (mut fw, mut fv) = (fx, fx);
    let (mut d, mut e) = (0.0f64, 0.0f64);
    for _ in 0..200 {
        let mid = 0.5 * (a + b);
        let tol1 = tol_rel * x.abs() + tol_abs;
        let tol2 = 2.0 * tol1;
        if (x - mid).abs() <= tol2 - 0.5 * (b - a) {
            break;
        }
        let mut golden = true;
        if e.abs() > tol1 {
            // Parabola through (v, w, x).
            let r = (x - w) * (fx - fv);
            let mut q = (x - v) * (fx - fw);
            let mut p = (x - v) * q - (x - w) * r;
            q = 2.0 * (q - r);
            if q > 0.0 {
                p = -p;
            } else {
                q = -q;
            }
            let e_prev = e;
            e = d;
            if p.abs() < (0.5 * q * e_prev).abs() && p > q * (a - x) && p < q * (b - x) {
                d = p / q;
                let u = x + d;
                if u - a < tol2 || b - u < tol2 {
                    d = tol1.copysign(mid - x);
                }
                golden = false;
            }
        }
        if golden {
            e = if x >= mid { a - x } else { b - x };
            d = GOLDEN_STEP * e;
        }
        let u = if d.abs() >= tol1 {
            x + d
        } else {
            x + tol1.copysign(d)
        };
        let fu = -func(u);
        if fu <= fx {
            if u >= x {
                a = x;
            } else {
                b = x;
            }
            (v, fv) = (w, fw);
            (w, fw) = (x, fx);
            (x, fx) = (u, fu);
        } else {
            if u < x {
                a = u;
            } else {
                b = u;
            }
            if fu <= fw || w == x {
                (v, fv) = (w, fw);
                (w, fw) = (u, fu);
            } else if fu <= fv || v == x || v == w {
                (v, fv) = (u, fu);
            }
        }
    }
    (x, -fx)
}

/// Maximise a smooth, locally concave `func` on [lo, hi] from a starting
/// point: Newton steps on the parabola through three points `h` apart, which
/// from a warm start (the maximiser at a neighbouring value of an outer
/// parameter) converge in one or two steps, four to seven evaluations where
/// Brent's method from a wide bracket needs twelve or more. The parabola's
/// curvature gives the function's own scale σ = (−f″)^(−½); a step is final
/// once it lands within three points no more than 2σ apart (the parabola then
/// interpolates where the function is nearly quadratic: the vertex is off by
/// ~h²/6, which costs ~σ²/4 in f at most), else the points close in to σ.
/// Where the three points are not concave, or the steps do not settle, it
/// falls back to `brent_max` on the whole of [lo, hi] to within `tol`.
/// Returns (x̂, func(x̂)), the best point evaluated.
pub fn newton_max(
    lo: f64,
    hi: f64,
    start: f64,
    h: f64,
    tol: f64,
    func: impl FnMut(f64) -> f64,
) -> (f64, f64) {
    let (x, fx, _) = newton_max_scaled(lo, hi, start, h, tol, func);
    (x, fx)
}

/// `newton_max`, also returning the scale σ of the last concave parabola
/// (None where it fell back or stopped at a bound): a caller maximising
/// many neighbouring functions starts the next search with a step of ~σ, so
/// that it settles in one step (four evaluations).
pub fn newton_max_scaled(
    lo: f64,
    hi: f64,
    start: f64,
    h: f64,
    tol: f64,
    mut func: impl FnMut(f64) -> f64,
) -> (f64, f64, Option<f64>) {
    let mut x = start.clamp(lo, hi);
    let mut fx = func(x);
    let mut h = h;
    for _ in 0..NEWTON_STEPS {
        let (a, b) = ((x - h).max(lo), (x + h).min(hi));
        if b - a <= tol {
            return (x, fx, None);
        }
        let fa = if a < x { func(a) } else { fx };
        let fb = if b > x { func(b) } else { fx };
        // The best of the three so far.
        let (mut bx, mut bf) = (x, fx);
        for (p, fp) in [(a, fa), (b, fb)] {
            if fp > bf {
                (bx, bf) = (p, fp);
            }
        }
        let vertex = if a < x && x < b {
            parabola_vertex(a, fa, x, fx, b, fb)
        } else {
            None
        };
        let Some((v, second)) = vertex else {
            // At a bound with the slope pointing out of [lo, hi]: the bound
            // is the maximum when the function rises towards it.
            if (x == lo && fa >= fb) || (x == hi && fb >= fa) {
                return (bx, bf, None);
            }
            break;
        };
        let sigma = (-second).sqrt().recip();
        // Never more than four spans per step: a far vertex is not trusted.
        let v = v.clamp(x - 4.0 * h, x + 4.0 * h).clamp(lo, hi);
        let settled = v >= a && v <= b && h <= 2.0 * sigma;
        if settled && (v - x).abs() <= 0.05 * h {
            // The start was at the maximum to within a twentieth of the step:
            // the parabola's own value there (off by ~|f‴|·h²·|v − x| / 6,
            // a small fraction of a unit of f for any σ) spares evaluating it.
            let peak = fx - 0.5 * second * (v - x) * (v - x);
            return (v, peak.max(bf), Some(sigma));
        }
        let fv = func(v);
        (x, fx) = if fv >= bf { (v, fv) } else { (bx, bf) };
        if settled || (v - bx).abs() <= tol {
            return (x, fx, Some(sigma));
        }
        h = sigma.clamp(tol, 4.0 * h);
    }
    let (bx, bf) = brent_max(lo, hi, 0.0, tol, &mut func);
    if bf >= fx {
        (bx, bf, None)
    } else {
        (x, fx, None)
    }
}

/// Steps `newton_max` takes before it falls back to Brent's method.
const NEWTON_STEPS: usize = 8;

/// Vertex of the parabola through three points with a < x < b, and its
/// second derivative, when it opens downwards.
fn parabola_vertex(a: f64, fa: f64, x: f64, fx: f64, b: f64, fb: f64) -> Option<(f64, f64)> {
    let (p, q) = (x - a, x - b);
    let (r, s) = (fx - fa, fx - fb);
    // Second divided difference: negative where the parabola opens downwards.
    let curvature = (r / p - s / q) / (a - b);
    if curvature.is_finite() && curvature < 0.0 {
        let num = p * p * s - q * q * r;
        let den = p * s - q * r;
        let v = x - 0.5 * num / den;
        v.is_finite().then_some((v, 2.0 * curvature))
    } else {
        None
    }
}

/// The point between `inside` (where `g` ≤ 0) and `outside` (`g` > 0) where
/// g crosses 0, to within `tol`: regula falsi with the Illinois halving, which
/// converges superlinearly where bisection halves the bracket per step.
pub fn crossing(
    inside: f64,
    g_inside: f64,
    outside: f64,
    g_outside: f64,
    tol: f64,
    mut g: impl FnMut(f64) -> f64,
) -> f64 {
    let (mut a, mut ga, mut b, mut gb) = (inside, g_inside, outside, g_outside);
    let mut last_side = 0i8;
    for _ in 0..60 {
        if (b - a).abs() < tol {
            break;
        }
        let mut c = (a * gb - b * ga) / (gb - ga);
        if !c.is_finite() || (c - a) * (c - b) >= 0.0 {
            c = 0.5 * (a + b);
        }
        let gc = g(c);
        if gc > 0.0 {
            (b, gb) = (c, gc);
            if last_side == -1 {
                ga *= 0.5;
            }
            last_side = -1;
        } else {
            (a, ga) = (c, gc);
            if last_side == 1 {
                gb *= 0.5;
            }
            last_side = 1;
        }
        if gc.abs() < 1e-9 {
            return c;
        }
    }
    0.5 * (a + b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brent_finds_a_smooth_maximum_in_few_evaluations() {
        let mut calls = 0;
        let (x, fx) = brent_max(0.0, 3.0, 1e-10, 1e-13, |x: f64| {
            calls += 1;
            -(x - 1.234_567).powi(2) * (1.0 + x) + 2.0
        });
        assert!((x - 1.234_567).abs() < 1e-7, "{x}");
        assert!((fx - 2.0).abs() < 1e-12);
        assert!(calls < 30, "{calls} evaluations");
        // A maximum at the edge of the bracket.
        let (x, _) = brent_max(0.0, 1.0, 1e-10, 1e-12, |x: f64| x);
        assert!(x > 1.0 - 1e-8, "{x}");
    }

    #[test]
    fn crossing_finds_the_root_of_a_convex_deviance() {
        let mut calls = 0;
        let mut g = |f: f64| {
            calls += 1;
            200.0 * (f - 0.01).powi(2) / 0.01 - 3.84
        };
        let (g0, g1) = (g(0.01), g(0.05));
        let root = crossing(0.01, g0, 0.05, g1, 1e-12, g);
        let want = 0.01 + (3.84f64 * 0.01 / 200.0).sqrt();
        assert!((root - want).abs() < 1e-9, "{root} vs {want}");
        assert!(calls < 25, "{calls}");
    }

    #[test]
    fn newton_converges_from_a_warm_start_in_few_evaluations() {
        let f = |x: f64| -3.0 * (x - 0.3).powi(2) - (x - 0.3).powi(3) + 1.0;
        let mut calls = 0;
        let (x, fx) = newton_max(-2.0, 2.0, 0.32, 0.05, 1e-4, |x| {
            calls += 1;
            f(x)
        });
        assert!((x - 0.3).abs() < 1e-3, "{x}");
        assert!((fx - 1.0).abs() < 1e-5);
        assert!(calls <= 5, "{calls} evaluations");
        // A cold start far away still gets there.
        let (x, _) = newton_max(-2.0, 2.0, -1.9, 0.05, 1e-4, f);
        assert!((x - 0.3).abs() < 1e-3, "{x}");
    }

    #[test]
    fn newton_closes_in_on_a_maximum_much_sharper_than_its_first_step() {
        // A Poisson log-likelihood in the log rate with 6·10⁵ events: σ ≈ 1.3e-3,
        // a fortieth of the first step.
        let k = 6e5;
        let f = |u: f64| k * (u - 0.3 - (u - 0.3).exp_m1());
        let mut calls = 0;
        let (x, fx) = newton_max(-2.0, 2.0, 0.32, 0.05, 5e-4, |u| {
            calls += 1;
            f(u)
        });
        assert!(fx > -1e-3, "ℓ off by {fx} at {x}");
        assert!(calls <= 12, "{calls} evaluations");
    }

    #[test]
    fn newton_respects_the_bounds_and_falls_back_where_not_concave() {
        // Rising to the upper bound.
        let (x, _) = newton_max(0.0, 1.0, 0.5, 0.05, 1e-6, |x: f64| x);
        assert!(x > 1.0 - 1e-5, "{x}");
        // Convex around the start: Brent on the whole bracket finds the peak.
        let g = |x: f64| {
            if x < 0.0 {
                -(x + 1.0).powi(2)
            } else {
                (x - 1.0).powi(2) - 1.0
            }
        };
        let (x, _) = newton_max(-3.0, 0.5, 0.2, 0.05, 1e-6, g);
        assert!((x + 1.0).abs() < 1e-3, "{x}");
    }
}
