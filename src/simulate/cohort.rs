//! Real genotypes for simulation: the 1000 Genomes matrix that the peddy
//! package ships (2,504 unrelated people of five super-populations at 23,770
//! SNPs; `../shared/data/1000g-peddy`, see its PROVENANCE.md), and children
//! made from real parents by simulated meiosis.
//!
//! Real people bring what simulated HWE genotypes lack: population structure
//! (pairs within and across super-populations), real site frequency spectra,
//! and frequencies that differ between populations — what a relationship check
//! or a recipient-only estimate must survive.

use std::io::Read;
use std::path::Path;

use rand::{Rng, RngExt};

use crate::error::{Error, InputError, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CohortSnp {
    pub chrom: String,
    pub pos: u64,
    pub ref_base: char,
    pub alt_base: char,
}

pub struct ReferenceCohort {
    pub snps: Vec<CohortSnp>,
    /// Super-population of each person (AFR, AMR, EAS, EUR, SAS).
    pub populations: Vec<String>,
    /// ALT dosage, SNP-major: `genotypes[snp * people + person]`.
    genotypes: Vec<u8>,
}

impl ReferenceCohort {
    /// Load `GRCH37.sites`, `GRCH37.sites.bin.gz` and `superpopulations.txt`.
    pub fn load(dir: &Path) -> Result<ReferenceCohort> {
        let sites_path = dir.join("GRCH37.sites");
        let text = std::fs::read_to_string(&sites_path).map_err(|e| Error::io(&sites_path, e))?;
        let mut snps = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let parts: Vec<&str> = line.split(':').collect();
            let bad =
                || InputError::new(&sites_path, "expected chrom:pos:ref:alt").at_line(i as u64 + 1);
            let [chrom, pos, r, a] = parts.as_slice() else {
                return Err(bad().into());
            };
            let pos: u64 = pos.parse().map_err(|_| bad())?;
            let (Some(r), Some(a)) = (r.chars().next(), a.chars().next()) else {
                return Err(bad().into());
            };
            snps.push(CohortSnp {
                chrom: chrom.to_string(),
                pos,
                ref_base: r,
                alt_base: a,
            });
        }
        let pop_path = dir.join("superpopulations.txt");
        let populations: Vec<String> = std::fs::read_to_string(&pop_path)
            .map_err(|e| Error::io(&pop_path, e))?
            .lines()
            .map(str::to_string)
            .collect();
        let matrix_path = dir.join("GRCH37.sites.bin.gz");
        let file = std::fs::File::open(&matrix_path).map_err(|e| Error::io(&matrix_path, e))?;
        let mut genotypes = Vec::new();
        flate2::read::GzDecoder::new(file)
            .read_to_end(&mut genotypes)
            .map_err(|e| Error::io(&matrix_path, e))?;
        if genotypes.len() != snps.len() * populations.len() || genotypes.iter().any(|&g| g > 2) {
            return Err(InputError::new(
                &matrix_path,
                format!(
                    "expected {} × {} dosages 0–2, found {} bytes",
                    snps.len(),
                    populations.len(),
                    genotypes.len()
                ),
            )
            .into());
        }
        Ok(ReferenceCohort {
            snps,
            populations,
            genotypes,
        })
    }

    pub fn people(&self) -> usize {
        self.populations.len()
    }

    pub fn genotype(&self, snp: usize, person: usize) -> u8 {
        self.genotypes[snp * self.people() + person]
    }

    /// One person's dosages at `snps`.
    pub fn person(&self, person: usize, snps: &[usize]) -> Vec<u8> {
        snps.iter().map(|&s| self.genotype(s, person)).collect()
    }

    /// People of one super-population.
    pub fn members(&self, population: &str) -> Vec<usize> {
        (0..self.people())
            .filter(|&p| self.populations[p] == population)
            .collect()
    }

    /// (ALT alleles, alleles) at `snp` among `people`.
    pub fn allele_count(&self, snp: usize, people: &[usize]) -> (u32, u32) {
        let alt: u32 = people
            .iter()
            .map(|&p| u32::from(self.genotype(snp, p)))
            .sum();
        (alt, 2 * people.len() as u32)
    }

    /// SNPs whose minor-allele frequency over everyone is at least `min_maf`,
    /// in genome order.
    pub fn common_snps(&self, min_maf: f64) -> Vec<usize> {
        let everyone: Vec<usize> = (0..self.people()).collect();
        (0..self.snps.len())
            .filter(|&s| {
                let (a, n) = self.allele_count(s, &everyone);
                let q = f64::from(a) / f64::from(n);
                q.min(1.0 - q) >= min_maf
            })
            .collect()
    }
}

/// `count` SNPs drawn from `pool` without replacement, returned in genome order.
pub fn choose_snps(rng: &mut impl Rng, pool: &[usize], count: usize) -> Vec<usize> {
    let mut chosen: Vec<usize> = rand::seq::index::sample(rng, pool.len(), count.min(pool.len()))
        .into_iter()
        .map(|i| pool[i])
        .collect();
    chosen.sort_unstable();
    chosen
}

/// A real person's genotypes at `snps` split into two haplotypes: the true
/// phase is unknown, so each heterozygote's phase is drawn at random once; both
/// children of the person then draw from the same two haplotypes.
pub struct PhasedParent {
    haplotypes: [Vec<u8>; 2],
}

pub fn phase(
    rng: &mut impl Rng,
    cohort: &ReferenceCohort,
    person: usize,
    snps: &[usize],
) -> PhasedParent {
    let mut a = Vec::with_capacity(snps.len());
    let mut b = Vec::with_capacity(snps.len());
    for &s in snps {
        let (x, y) = match cohort.genotype(s, person) {
            0 => (0, 0),
            2 => (1, 1),
            _ if rng.random_bool(0.5) => (1, 0),
            _ => (0, 1),
        };
        a.push(x);
        b.push(y);
    }
    PhasedParent { haplotypes: [a, b] }
}

/// One gamete of a phased parent at `snps` (genome order): transmission
/// switches haplotype between adjacent SNPs with Haldane's probability
/// ½(1 − e^{−2d}) for d Morgans at 1 cM per Mb, and each chromosome starts on a
/// random haplotype. Linkage keeps the realised sharing of relatives as
/// variable as in real families.
pub fn gamete(
    rng: &mut impl Rng,
    cohort: &ReferenceCohort,
    parent: &PhasedParent,
    snps: &[usize],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(snps.len());
    let mut haplotype = 0usize;
    let mut previous: Option<&CohortSnp> = None;
    for (i, &s) in snps.iter().enumerate() {
        let site = &cohort.snps[s];
        match previous {
            Some(p) if p.chrom == site.chrom => {
                let morgans = site.pos.abs_diff(p.pos) as f64 * 1e-8;
                if rng.random_bool((0.5 * (1.0 - (-2.0 * morgans).exp())).clamp(0.0, 0.5)) {
                    haplotype ^= 1;
                }
            }
            _ => haplotype = usize::from(rng.random_bool(0.5)),
        }
        previous = Some(site);
        out.push(parent.haplotypes[haplotype][i]);
    }
    out
}

/// A child of two phased parents at `snps`.
pub fn child(
    rng: &mut impl Rng,
    cohort: &ReferenceCohort,
    mother: &PhasedParent,
    father: &PhasedParent,
    snps: &[usize],
) -> Vec<u8> {
    let m = gamete(rng, cohort, mother, snps);
    let f = gamete(rng, cohort, father, snps);
    m.into_iter().zip(f).map(|(a, b)| a + b).collect()
}
