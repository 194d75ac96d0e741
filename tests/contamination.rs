//! Contamination by a third, unrelated person: estimated from the SNPs where
//! recipient and donor share a homozygous genotype, separated from sequencing
//! error by its dependence on the population allele frequency.

use graftscan::model::Relationship;
use graftscan::model::contamination::estimate_contamination;
use graftscan::model::frequency::AltFrequency;
use graftscan::model::likelihood::SnpInput;
use graftscan::simulate::{draw_donor_genotype, draw_hwe_genotype, make_panel};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Binomial, Distribution};

fn sample(seed: u64, f: f64, c: f64) -> Vec<SnpInput> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let panel = make_panel(&mut rng, 1000);
    let e = 0.001;
    panel
        .iter()
        .map(|s| {
            let q = s.alt_frequency;
            let r = draw_hwe_genotype(&mut rng, q);
            let d = draw_donor_genotype(&mut rng, r, q, Relationship::Unrelated);
            let x = draw_hwe_genotype(&mut rng, q);
            let p = (1.0 - f - c) * f64::from(r) / 2.0
                + f * f64::from(d) / 2.0
                + c * f64::from(x) / 2.0;
            let n = 1500u64;
            let k = Binomial::new(n, e + (1.0 - 2.0 * e) * p)
                .unwrap()
                .sample(&mut rng);
            SnpInput {
                alt: k as u32,
                depth: n as u32,
                recipient: Some(r),
                donor: Some(d),
                frequency: AltFrequency::Exact(q),
                site_error: None,
            }
        })
        .collect()
}

#[test]
fn a_clean_sample_reads_near_zero_contamination() {
    for seed in 0..5 {
        let c = estimate_contamination(&sample(seed, 0.01, 0.0), 30).expect("enough SNPs");
        assert!(c.fraction < 0.001, "seed {seed}: {c:?}");
        assert!((c.error_rate - 0.001).abs() < 0.0005, "seed {seed}: {c:?}");
    }
}

#[test]
fn two_percent_third_party_dna_is_estimated() {
    for seed in 10..15 {
        let c = estimate_contamination(&sample(seed, 0.01, 0.02), 30).expect("enough SNPs");
        println!("{c:?}");
        assert!((c.fraction - 0.02).abs() < 0.005, "seed {seed}: {c:?}");
    }
}

#[test]
fn without_both_genotypes_there_is_no_estimate() {
    let mut s = sample(1, 0.01, 0.0);
    for x in &mut s {
        x.donor = None;
    }
    assert!(estimate_contamination(&s, 30).is_none());
}

/// Two-genome estimates with third-party DNA in the reads: without the term
/// the third person's alleles at the informative SNPs read as donor DNA;
/// with it (c from the concordant SNPs, the interval spanning c's range, as
/// `scan` does) the estimate is unbiased and its interval covers.
#[test]
fn third_party_dna_is_not_read_as_donor_dna() {
    use graftscan::compute::cpu::CpuBackend;
    use graftscan::model::contamination::with_third_party;
    use graftscan::model::estimate::{EstimatorSettings, estimate_batch, join_interval};
    use graftscan::model::frequency::Spectrum;
    use graftscan::model::{EstimationMode, SampleModel};

    let (f, c) = (0.005, 0.01);
    let kappa = Relationship::Unrelated.kappa();
    let build = |inputs: &[SnpInput]| {
        SampleModel::from_inputs(EstimationMode::TwoGenome, inputs, kappa, Spectrum::FLAT)
    };
    let settings = EstimatorSettings::default();
    let replicates = 40u64;
    let (mut plain_bias, mut bias, mut covered, mut resolved) = (0.0, 0.0, 0, 0);
    for seed in 0..replicates {
        let inputs = sample(100 + seed, f, c);
        let est = estimate_contamination(&inputs, 30).expect("enough SNPs");
        let mut models = vec![build(&inputs)];
        // As `scan` does: the term only where c is resolved from zero.
        if est.resolved() {
            resolved += 1;
            models.push(build(&with_third_party(
                &inputs,
                est.fraction,
                est.error_rate_at(est.fraction),
            )));
            for b in est.bounds() {
                models.push(build(&with_third_party(&inputs, b, est.error_rate_at(b))));
            }
        } else {
            models.push(build(&inputs));
        }
        let fits = estimate_batch(&mut models, &CpuBackend, &settings).expect("CPU estimates");
        plain_bias += fits[0].donor_fraction / f - 1.0;
        let mut main = fits[1].clone();
        for other in &fits[2..] {
            join_interval(&mut main, other);
        }
        bias += main.donor_fraction / f - 1.0;
        covered += usize::from(main.ci_low <= f && f <= main.ci_high);
    }
    let n = replicates as f64;
    let (plain_bias, bias, coverage) = (plain_bias / n, bias / n, covered as f64 / n);
    println!(
        "f {f}, third party {c}: bias without the term {:+.1}%, with it {:+.1}%, coverage {covered}/{replicates}, c resolved in {resolved}",
        100.0 * plain_bias,
        100.0 * bias
    );
    assert!(plain_bias > 0.2, "the case must matter: {plain_bias}");
    assert!(bias.abs() < 0.05, "bias {bias}");
    assert!(coverage >= 0.9, "coverage {coverage}");
}
