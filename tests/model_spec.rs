//! The statistical model as a specification (shared/docs/cfdna-model.md).

use graftscan::compute::cpu::CpuBackend;
use graftscan::model::estimate::{EstimatorSettings, Overdispersion, estimate_batch};
use graftscan::model::frequency::{AltFrequency::Exact, Spectrum};
const FLAT: Spectrum = Spectrum::FLAT;
use graftscan::model::genotype_prior::{donor_given_recipient, hardy_weinberg};
use graftscan::model::likelihood::{expected_alt_fraction, observed_alt_probability};
use graftscan::model::{EstimationMode, Relationship, SampleModel};

#[test]
fn expected_alt_fraction_matches_every_cell_of_the_table() {
    // p(r, d; f) = (1 − f)·r/2 + f·d/2, at f = 0.1.
    let f = 0.1;
    let table = [
        // (r, d, p)
        (0, 0, 0.0),
        (0, 1, 0.05),
        (0, 2, 0.1),
        (1, 0, 0.45),
        (1, 1, 0.5),
        (1, 2, 0.55),
        (2, 0, 0.9),
        (2, 1, 0.95),
        (2, 2, 1.0),
    ];
    for (r, d, p) in table {
        let got = expected_alt_fraction(r, d, f);
        assert!((got - p).abs() < 1e-12, "r={r} d={d}: {got} != {p}");
    }
    // Error folds symmetrically: π = e + (1 − 2e)·p.
    assert!((observed_alt_probability(0.0, 0.01) - 0.01).abs() < 1e-15);
    assert!((observed_alt_probability(1.0, 0.01) - 0.99).abs() < 1e-15);
    assert!((observed_alt_probability(0.5, 0.01) - 0.5).abs() < 1e-15);
}

#[test]
fn donor_priors_sum_to_one_for_every_relationship_genotype_and_frequency() {
    for rel in Relationship::ALL {
        let k = rel.kappa();
        assert!(
            (k.k0 + k.k1 + k.k2 - 1.0).abs() < 1e-12,
            "{rel}: κ must sum to 1"
        );
        for r in 0..=2u8 {
            for q in [0.01, 0.2, 0.5, 0.77, 0.99] {
                let total: f64 = (0..=2u8).map(|d| donor_given_recipient(d, r, q, k)).sum();
                assert!((total - 1.0).abs() < 1e-12, "{rel} r={r} q={q}: {total}");
            }
        }
    }
    for q in [0.1, 0.5, 0.9] {
        let total: f64 = (0..=2u8).map(|g| hardy_weinberg(g, q)).sum();
        assert!((total - 1.0).abs() < 1e-12);
    }
}

#[test]
fn parent_child_donors_are_never_opposite_homozygotes() {
    let k = Relationship::ParentChild.kappa();
    for q in [0.05, 0.5, 0.95] {
        assert_eq!(donor_given_recipient(2, 0, q, k), 0.0);
        assert_eq!(donor_given_recipient(0, 2, q, k), 0.0);
        assert!(donor_given_recipient(1, 0, q, k) > 0.0);
    }
}

#[test]
fn identical_twins_always_share_the_genotype() {
    let k = Relationship::IdenticalTwin.kappa();
    for r in 0..=2u8 {
        assert_eq!(donor_given_recipient(r, r, 0.3, k), 1.0);
    }
}

#[test]
fn sibling_prior_matches_ibd_mixture_by_hand() {
    // r = 0, q = 0.4: κ0·HWE + κ1·T1 + κ2·[d=r] for κ = (1/4, 1/2, 1/4).
    let q: f64 = 0.4;
    let k = Relationship::FullSibling.kappa();
    let p0 = 0.25 * (1.0 - q).powi(2) + 0.5 * (1.0 - q) + 0.25;
    let p1 = 0.25 * 2.0 * q * (1.0 - q) + 0.5 * q;
    let p2 = 0.25 * q * q;
    assert!((donor_given_recipient(0, 0, q, k) - p0).abs() < 1e-12);
    assert!((donor_given_recipient(1, 0, q, k) - p1).abs() < 1e-12);
    assert!((donor_given_recipient(2, 0, q, k) - p2).abs() < 1e-12);
}

fn settings_plain() -> EstimatorSettings {
    EstimatorSettings {
        overdispersion: Overdispersion::None,
        ..EstimatorSettings::default()
    }
}

/// Counts exactly at their expectation: round(n·π).
fn noiseless_two_genome(f: f64, e: f64, swap: bool) -> SampleModel {
    let mut m = SampleModel::new(EstimationMode::TwoGenome);
    let pairs = [
        (0u8, 1u8),
        (0, 2),
        (2, 1),
        (2, 0),
        (1, 0),
        (1, 2),
        (0, 0),
        (2, 2),
        (1, 1),
    ];
    for i in 0..600 {
        let (r, d) = pairs[i % pairs.len()];
        let n = 1_000_000u32;
        let pi = observed_alt_probability(expected_alt_fraction(r, d, f), e);
        let k = (f64::from(n) * pi).round() as u32;
        if swap {
            m.push_two_genome(n - k, n, 2 - r, 2 - d);
        } else {
            m.push_two_genome(k, n, r, d);
        }
    }
    m
}

#[test]
fn noiseless_counts_recover_the_fraction_in_two_genome_mode() {
    for f in [0.002, 0.01, 0.05, 0.3] {
        let mut models = vec![noiseless_two_genome(f, 0.001, false)];
        let est = estimate_batch(&mut models, &CpuBackend, &settings_plain()).unwrap();
        let got = est[0].donor_fraction;
        // At n = 10⁶ rounding n·π to integers moves the optimum by < 1e-5 relative.
        assert!((got - f).abs() / f < 1e-4, "f={f}: got {got}");
        assert!(est[0].ci_low < f && f < est[0].ci_high);
        assert!(
            (est[0].error_rate - 0.001).abs() < 1e-6,
            "e = {}",
            est[0].error_rate
        );
    }
}

#[test]
fn swapping_ref_and_alt_leaves_the_estimate_unchanged() {
    for f in [0.004, 0.05] {
        let mut a = vec![noiseless_two_genome(f, 0.002, false)];
        let mut b = vec![noiseless_two_genome(f, 0.002, true)];
        let ea = estimate_batch(&mut a, &CpuBackend, &settings_plain()).unwrap();
        let eb = estimate_batch(&mut b, &CpuBackend, &settings_plain()).unwrap();
        assert!((ea[0].donor_fraction - eb[0].donor_fraction).abs() < 1e-9);
        assert!((ea[0].ci_high - eb[0].ci_high).abs() < 1e-9);
        // The likelihood itself is symmetric, for every mode's term set.
        for mode in [EstimationMode::RecipientOnly, EstimationMode::GenotypeFree] {
            let mut x = SampleModel::new(mode);
            let mut y = SampleModel::new(mode);
            let k = Relationship::FullSibling.kappa();
            for (i, (alt, n)) in [(3u32, 900u32), (450, 910), (880, 905), (0, 300)]
                .iter()
                .enumerate()
            {
                let r = [0u8, 1, 2, 0][i];
                let q = 0.3;
                if mode == EstimationMode::RecipientOnly {
                    x.push_recipient_only(*alt, *n, r, Exact(q), FLAT, k);
                    y.push_recipient_only(n - alt, *n, 2 - r, Exact(1.0 - q), FLAT, k);
                } else {
                    x.push_genotype_free(*alt, *n, Exact(q), FLAT, k);
                    y.push_genotype_free(n - alt, *n, Exact(1.0 - q), FLAT, k);
                }
            }
            for fr in [0.0, 0.01, 0.2] {
                assert!(
                    (x.loglik(fr) - y.loglik(fr)).abs() < 1e-9,
                    "{mode:?} f={fr}"
                );
            }
        }
    }
}

#[test]
fn a_sample_without_donor_signal_gets_a_one_sided_bound_and_is_not_detected() {
    let mut models = vec![noiseless_two_genome(0.0, 0.001, false)];
    let est = estimate_batch(&mut models, &CpuBackend, &settings_plain()).unwrap();
    let e = &est[0];
    assert_eq!(e.donor_fraction, 0.0);
    assert_eq!(e.ci_low, 0.0);
    assert!(
        e.ci_high > 0.0 && e.ci_high < 0.002,
        "upper bound {}",
        e.ci_high
    );
    assert!(!e.detected);
    assert_eq!(
        e.interval,
        graftscan::model::estimate::IntervalKind::OneSidedUpper
    );
}
