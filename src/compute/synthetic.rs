//! Synthetic batches for differential tests and `graftscan bench`: the
//! simulator's panel, genotypes and read counts turned into likelihood models,
//! so both compute paths see realistic data of any size.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::model::frequency::{AltFrequency, Spectrum};
use crate::model::likelihood::EstimationMode;
use crate::model::{Relationship, SampleModel};
use crate::simulate::{
    ReadSettings, draw_donor_genotype, draw_hwe_genotype, make_panel, simulate_counts,
};

#[derive(Debug, Clone, Copy)]
pub struct SyntheticSpec {
    pub samples: usize,
    pub snps: usize,
    pub mode: EstimationMode,
    pub relationship: Relationship,
    /// Mean reads per SNP.
    pub depth: f64,
    /// Every third sample gets f = 0; the others cycle through 0.1%…20%.
    pub seed: u64,
}

const FRACTIONS: [f64; 5] = [0.001, 0.005, 0.02, 0.08, 0.2];

/// True donor fraction of synthetic sample `s`.
pub fn synthetic_fraction(s: usize) -> f64 {
    if s.is_multiple_of(3) {
        0.0
    } else {
        FRACTIONS[s % FRACTIONS.len()]
    }
}

/// One model per sample; low depth means some SNPs have zero reads.
pub fn synthetic_models(spec: &SyntheticSpec) -> Vec<SampleModel> {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let panel = make_panel(&mut rng, spec.snps);
    let kappa = spec.relationship.kappa();
    let reads = ReadSettings {
        depth: spec.depth,
        genome_copies: None,
        error_rate: 1e-3,
    };
    (0..spec.samples)
        .map(|s| {
            let recipient: Vec<u8> = panel
                .iter()
                .map(|p| draw_hwe_genotype(&mut rng, p.alt_frequency))
                .collect();
            let donor: Vec<u8> = panel
                .iter()
                .zip(&recipient)
                .map(|(p, &r)| draw_donor_genotype(&mut rng, r, p.alt_frequency, spec.relationship))
                .collect();
            let f = synthetic_fraction(s);
            let counts = simulate_counts(&mut rng, &panel, &recipient, &donor, f, &reads);
            let mut m = SampleModel::new(spec.mode);
            m.error_rate = rng.random_range(5e-4..2e-3);
            for (i, c) in counts.iter().enumerate() {
                let (alt, depth) = (c[1], c[0] + c[1]);
                let q = AltFrequency::Exact(panel[i].alt_frequency);
                match spec.mode {
                    EstimationMode::TwoGenome => {
                        m.push_two_genome(alt, depth, recipient[i], donor[i])
                    }
                    EstimationMode::RecipientOnly => {
                        m.push_recipient_only(alt, depth, recipient[i], q, Spectrum::FLAT, kappa)
                    }
                    EstimationMode::GenotypeFree => {
                        m.push_genotype_free(alt, depth, q, Spectrum::FLAT, kappa)
                    }
                }
            }
            m
        })
        .collect()
}
