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
