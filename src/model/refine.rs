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
}
