//! Relationship check on simulated pairs with 1,000 SNPs at f = 5%: the
//! best-supported relationship is the true one in at least 95% of cases, from
//! genotypes and from plasma reads alone; a declared relationship the data
//! contradict is flagged.

use graftscan::model::Relationship;
use graftscan::model::frequency::{AltFrequency, Spectrum};
use graftscan::model::likelihood::SnpInput;
use graftscan::model::relatedness::{PlasmaDraw, PlasmaEvidence, check_genotypes, check_plasma};
use graftscan::simulate::{ReadSettings, draw_pair, make_panel, simulate_counts};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const PAIRS: usize = 40;

fn simulate_pair(rng: &mut ChaCha8Rng, relationship: Relationship) -> Vec<SnpInput> {
    let panel = make_panel(rng, 1000);
    let (r, d) = draw_pair(rng, &panel, relationship);
    let reads = ReadSettings {
        depth: 1500.0,
        genome_copies: None,
        error_rate: 0.001,
    };
    let counts = simulate_counts(rng, &panel, &r, &d, 0.05, &reads);
    panel
        .iter()
        .enumerate()
        .map(|(i, s)| SnpInput {
            alt: counts[i][1],
            depth: counts[i][0] + counts[i][1],
            recipient: Some(r[i]),
            donor: Some(d[i]),
            frequency: AltFrequency::Exact(s.alt_frequency),
            site_error: None,
        })
        .collect()
}

fn accuracy(relationship: Relationship, seed: u64) -> (usize, usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut by_genotypes, mut by_plasma) = (0, 0);
    for _ in 0..PAIRS {
        let snps = simulate_pair(&mut rng, relationship);
        let g = check_genotypes(Relationship::Unknown, &snps, true).expect("enough SNPs");
        if g.best != Some(relationship) {
            println!("  missed: {}", g.describe());
        }
        by_genotypes += usize::from(g.best == Some(relationship));
        // Plasma: donor untyped, recipient-homozygous SNPs only (as the scan does).
        let plasma: Vec<SnpInput> = snps
            .iter()
            .filter(|s| s.recipient != Some(1) && s.depth > 0)
            .map(|s| SnpInput { donor: None, ..*s })
            .collect();
        let weights = vec![1.0; plasma.len()];
        let p = check_plasma(
            Relationship::Unknown,
            &[PlasmaDraw {
                inputs: &plasma,
                error_rate: 0.001,
                weights: &weights,
                molecular: None,
                spectrum: Spectrum::FLAT,
            }],
            &PlasmaEvidence {
                frequencies_unmeasured: None,
                poor_fit: None,
            },
        )
        .expect("one draw");
        by_plasma += usize::from(p.best == Some(relationship));
    }
    println!("{relationship}: genotypes {by_genotypes}/{PAIRS}, plasma {by_plasma}/{PAIRS}");
    (by_genotypes, by_plasma)
}

fn assert_95(relationship: Relationship, seed: u64) {
    let (g, p) = accuracy(relationship, seed);
    let need = (0.95 * PAIRS as f64).ceil() as usize;
    assert!(
        g >= need,
        "{relationship}: genotypes identify it in only {g}/{PAIRS}"
    );
    assert!(
        p >= need,
        "{relationship}: plasma reads identify it in only {p}/{PAIRS}"
    );
}

#[test]
fn unrelated_pairs_are_recognised() {
    assert_95(Relationship::Unrelated, 11);
}

#[test]
fn sibling_pairs_are_recognised() {
    assert_95(Relationship::FullSibling, 12);
}

#[test]
fn parent_child_pairs_are_recognised() {
    assert_95(Relationship::ParentChild, 13);
}

#[test]
fn a_declared_sibling_that_is_unrelated_is_flagged() {
    let mut rng = ChaCha8Rng::seed_from_u64(14);
    let snps = simulate_pair(&mut rng, Relationship::Unrelated);
    let check = check_genotypes(Relationship::FullSibling, &snps, true).expect("enough SNPs");
    assert!(check.contradicts_declared, "{}", check.describe());
    assert!(check.describe().contains("contradicted"));
    let fine = check_genotypes(Relationship::Unrelated, &snps, true).expect("enough SNPs");
    assert!(!fine.contradicts_declared, "{}", fine.describe());
}
