//! Simulation of dd-cfDNA panels: population frequencies, recipient and donor
//! genotypes under HWE and identity by descent, a finite number of input genome
//! copies (molecules, not just reads), PCR resampling of those molecules into
//! reads, sequencing error, and serial samples with realistic trajectories.
//! `graftscan simulate` writes a scan-ready folder from it; the tests use the same
//! functions for recovery and coverage checks.

pub mod batch;
pub mod cohort;
pub mod real_reads;

use rand::{Rng, RngExt};
use rand_distr::{Binomial, Distribution, Gamma, Poisson};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::model::frequency::{AltFrequency, Spectrum};
use crate::model::likelihood::{SampleModel, SnpInput};
use crate::model::{EstimationMode, Relationship};

#[derive(Debug, Clone)]
pub struct PanelSnp {
    pub chrom: String,
    pub pos: u64,
    pub ref_base: char,
    pub alt_base: char,
    /// Population ALT allele frequency.
    pub alt_frequency: f64,
    /// Relative capture efficiency of this SNP's amplicon (mean 1).
    pub capture: f64,
}

/// A panel of `snps` SNPs chosen, as clinical panels are, for high minor-allele
/// frequency (MAF uniform on [0.15, 0.5], ALT the minor allele half the time),
/// spread over the autosomes, with amplicon efficiency varying ~35% (gamma).
pub fn make_panel(rng: &mut impl Rng, snps: usize) -> Vec<PanelSnp> {
    let bases = ['A', 'C', 'G', 'T'];
    let capture = Gamma::new(8.0, 1.0 / 8.0).ok();
    let mut out = Vec::with_capacity(snps);
    for i in 0..snps {
        let chrom = format!("chr{}", 1 + (i * 22) / snps.max(1));
        let pos = 1_000_000
            + (i as u64 % (snps as u64 / 22 + 1)) * 250_000
            + rng.random_range(0..100_000);
        let r = rng.random_range(0..4);
        let a = (r + rng.random_range(1..4)) % 4;
        let maf: f64 = rng.random_range(0.15..0.5);
        let q = if rng.random_bool(0.5) { maf } else { 1.0 - maf };
        let c = capture.map(|g| g.sample(rng)).unwrap_or(1.0);
        out.push(PanelSnp {
            chrom,
            pos,
            ref_base: bases[r],
            alt_base: bases[a],
            alt_frequency: q,
            capture: c,
        });
    }
    out.sort_by(|x, y| {
        let cx: u32 = x.chrom[3..].parse().unwrap_or(0);
        let cy: u32 = y.chrom[3..].parse().unwrap_or(0);
        (cx, x.pos).cmp(&(cy, y.pos))
    });
    out.dedup_by(|a, b| a.chrom == b.chrom && a.pos == b.pos);
    out
}

pub fn draw_allele(rng: &mut impl Rng, q: f64) -> u8 {
    u8::from(rng.random_bool(q.clamp(0.0, 1.0)))
}

pub fn draw_hwe_genotype(rng: &mut impl Rng, q: f64) -> u8 {
    draw_allele(rng, q) + draw_allele(rng, q)
}

/// Donor genotype given the recipient's: the number of alleles shared by
/// descent is drawn from κ for each SNP (unlinked loci).
pub fn draw_donor_genotype(rng: &mut impl Rng, r: u8, q: f64, relationship: Relationship) -> u8 {
    let k = relationship.kappa();
    let u: f64 = rng.random();
    if u < k.k2 {
        r
    } else if u < k.k2 + k.k1 {
        // One of the recipient's two alleles, chosen at random, plus one from the population.
        let shared = u8::from(rng.random_bool(f64::from(r) / 2.0));
        shared + draw_allele(rng, q)
    } else {
        draw_hwe_genotype(rng, q)
    }
}

#[derive(Debug, Clone, Copy)]
pub struct ReadSettings {
    /// Mean reads per SNP.
    pub depth: f64,
    /// Input genome copies per locus (10 ng cfDNA ≈ 3,000); `None` = unlimited,
    /// i.e. reads are independent draws from the expected allele fraction.
    pub genome_copies: Option<f64>,
    pub error_rate: f64,
}

fn binomial(rng: &mut impl Rng, n: u64, p: f64) -> u64 {
    if n == 0 || p <= 0.0 {
        return 0;
    }
    if p >= 1.0 {
        return n;
    }
    Binomial::new(n, p).map(|b| b.sample(rng)).unwrap_or(0)
}

fn poisson(rng: &mut impl Rng, mean: f64) -> u64 {
    if mean <= 0.0 {
        return 0;
    }
    Poisson::new(mean)
        .map(|p| p.sample(rng) as u64)
        .unwrap_or(0)
}

/// Simulated (REF, ALT) read counts of one plasma sample with donor fraction `f`.
pub fn simulate_counts(
    rng: &mut impl Rng,
    panel: &[PanelSnp],
    recipient: &[u8],
    donor: &[u8],
    f: f64,
    s: &ReadSettings,
) -> Vec<[u32; 2]> {
    simulate_counts_with_balance(
        rng,
        panel,
        recipient,
        donor,
        f,
        s,
        &AlleleBalance::default(),
    )
}

/// The ALT share that a heterozygous genotype contributes, per SNP and person,
/// where it is not ½: reference bias of the assay (the same for both people),
/// or a recipient's loss of heterozygosity or copy-number change (a region of
/// SNPs whose heterozygous share is shifted to β or 1 − β).
#[derive(Debug, Clone, Default)]
pub struct AlleleBalance {
    /// Per SNP; empty = ½ everywhere.
    pub recipient: Vec<f64>,
    pub donor: Vec<f64>,
}

impl AlleleBalance {
    fn share(values: &[f64], i: usize, dosage: u8) -> f64 {
        match dosage {
            0 => 0.0,
            2 => 1.0,
            _ => values.get(i).copied().unwrap_or(0.5),
        }
    }
}

/// A loss-of-heterozygosity region in a recipient: `share` of the SNPs (one
/// contiguous run, placed at random) where heterozygous SNPs read β or 1 − β
/// (which allele is lost is a coin flip per region; each SNP's REF/ALT phase is
/// random), β drawn uniformly from `beta`. Returns the recipient's per-SNP
/// heterozygous share (½ outside the region) and the region's SNP indices.
pub fn loh_region(
    rng: &mut impl Rng,
    snps: usize,
    share: f64,
    beta: std::ops::Range<f64>,
) -> (Vec<f64>, std::ops::Range<usize>) {
    let len = ((share * snps as f64).round() as usize).min(snps);
    let start = if len < snps {
        rng.random_range(0..=snps - len)
    } else {
        0
    };
    let b = rng.random_range(beta);
    let mut balance = vec![0.5; snps];
    for x in &mut balance[start..start + len] {
        *x = if rng.random_bool(0.5) { b } else { 1.0 - b };
    }
    (balance, start..start + len)
}

/// Simulated counts with per-SNP heterozygous balances (`AlleleBalance`).
pub fn simulate_counts_with_balance(
    rng: &mut impl Rng,
    panel: &[PanelSnp],
    recipient: &[u8],
    donor: &[u8],
    f: f64,
    s: &ReadSettings,
    balance: &AlleleBalance,
) -> Vec<[u32; 2]> {
    let mut out = Vec::with_capacity(panel.len());
    for (i, ((snp, &r), &d)) in panel.iter().zip(recipient).zip(donor).enumerate() {
        let n = poisson(rng, s.depth * snp.capture);
        let (hr, hd) = (
            AlleleBalance::share(&balance.recipient, i, r),
            AlleleBalance::share(&balance.donor, i, d),
        );
        let true_alt = match s.genome_copies {
            None => {
                let p = (1.0 - f) * hr + f * hd;
                binomial(rng, n, p)
            }
            Some(copies) => {
                let molecules = poisson(rng, copies);
                if molecules == 0 {
                    out.push([0, 0]);
                    continue;
                }
                let donor_molecules = binomial(rng, molecules, f);
                let alt_molecules = binomial(rng, donor_molecules, hd)
                    + binomial(rng, molecules - donor_molecules, hr);
                // PCR: reads resample the finite pool of molecules.
                binomial(rng, n, alt_molecules as f64 / molecules as f64)
            }
        };
        let alt =
            binomial(rng, true_alt, 1.0 - s.error_rate) + binomial(rng, n - true_alt, s.error_rate);
        out.push([(n - alt) as u32, alt as u32]);
    }
    out
}

/// A recipient drawn in Hardy-Weinberg equilibrium from the panel's
/// frequencies and a donor related to them by `relationship`: (recipient, donor).
pub fn draw_pair(
    rng: &mut impl Rng,
    panel: &[PanelSnp],
    relationship: Relationship,
) -> (Vec<u8>, Vec<u8>) {
    let r: Vec<u8> = panel
        .iter()
        .map(|s| draw_hwe_genotype(rng, s.alt_frequency))
        .collect();
    let d: Vec<u8> = panel
        .iter()
        .zip(&r)
        .map(|(s, &g)| draw_donor_genotype(rng, g, s.alt_frequency, relationship))
        .collect();
    (r, d)
}

/// One simulated plasma sample as the scan would model it: a new recipient and
/// donor drawn from the panel's frequencies under `relationship`, reads at
/// donor fraction `f`, and the SNPs a `mode` model uses.
pub fn simulated_model(
    panel: &[PanelSnp],
    relationship: Relationship,
    f: f64,
    mode: EstimationMode,
    reads: &ReadSettings,
    seed: u64,
) -> SampleModel {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (r, d) = draw_pair(&mut rng, panel, relationship);
    let counts = simulate_counts(&mut rng, panel, &r, &d, f, reads);
    let inputs: Vec<SnpInput> = panel
        .iter()
        .enumerate()
        .filter(|&(i, _)| counts[i][0] + counts[i][1] > 0)
        .map(|(i, s)| SnpInput {
            alt: counts[i][1],
            depth: counts[i][0] + counts[i][1],
            recipient: (mode != EstimationMode::GenotypeFree).then_some(r[i]),
            donor: (mode == EstimationMode::TwoGenome).then_some(d[i]),
            frequency: AltFrequency::Exact(s.alt_frequency),
            site_error: None,
        })
        .collect();
    SampleModel::from_inputs(mode, &inputs, relationship.kappa(), Spectrum::FLAT)
}
