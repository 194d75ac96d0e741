//! Kinship from two genotype vectors without population frequencies:
//! KING-robust (Manichaikul et al., Bioinformatics 2010;26:2867), the
//! estimator somalier and peddy use too.
//!
//! ```text
//! φ = (N_het,het − 2·N_opposite_hom) / (N_het(i) + N_het(j))
//! ```
//!
//! It needs no allele frequency, so pooled or wrong-population frequencies
//! cannot make people of one ancestry look related (a likelihood over
//! relationships that assumes q can, and did: unrelated spouses read
//! half-siblings with ln LR 341). Across ancestries φ goes negative, not up.
//!
//! Degrees follow KING's cut-offs (powers of 2 between the expected kinships):
//! φ > 0.354 duplicate or identical twin; 0.177–0.354 first degree; 0.088–0.177
//! second; 0.044–0.088 third; below, unrelated. A degree is only called when φ
//! exceeds zero by `RELATED_Z` block-jackknife standard errors: with 1,000
//! SNPs φ has an SE of about 0.03 for an unrelated pair, so KING's third-degree
//! cut-off alone would call one unrelated pair in twenty related.
//! First-degree pairs are split by IBS0, the share of SNPs where the two are
//! opposite homozygotes: a parent and child share one allele by descent at
//! every site, so only genotyping errors make them opposite homozygotes; full
//! siblings share none at a quarter of the sites (IBS0 ≈ 1.5–2% at common
//! SNPs). KING calls parent–offspring below IBS0 0.0012 genome-wide; with a
//! panel of ~1,000 SNPs that is one site, so the error allowance of GWASTools'
//! `ibdAssignRelatednessKing` (0.003, Gogarten et al., Bioinformatics 2012) is
//! used.

/// KING's kinship cut-offs (Manichaikul et al. 2010, Table 1).
pub const DUPLICATE_CUTOFF: f64 = 0.354;
pub const FIRST_DEGREE_CUTOFF: f64 = 0.177;
pub const SECOND_DEGREE_CUTOFF: f64 = 0.0884;
pub const THIRD_DEGREE_CUTOFF: f64 = 0.0442;

/// φ must exceed this many standard errors to call any degree of relatedness
/// (one-sided p ≈ 5·10⁻⁴ per pair).
pub const RELATED_Z: f64 = 3.3;

/// IBS0 below this is a parent–child pair (see the module docs).
pub const PARENT_CHILD_IBS0: f64 = 0.003;

/// Blocks of adjacent SNPs for the jackknife (linkage keeps neighbours correlated).
const JACKKNIFE_BLOCKS: usize = 20;

/// Fewer SNPs typed in both than this: no kinship estimate.
pub const MIN_KINSHIP_SNPS: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KinshipDegree {
    Duplicate,
    ParentChild,
    FullSibling,
    Second,
    Third,
    Unrelated,
}

impl KinshipDegree {
    pub fn as_str(self) -> &'static str {
        match self {
            KinshipDegree::Duplicate => "duplicate or identical twin",
            KinshipDegree::ParentChild => "parent–child",
            KinshipDegree::FullSibling => "full siblings",
            KinshipDegree::Second => "second degree",
            KinshipDegree::Third => "third degree",
            KinshipDegree::Unrelated => "unrelated",
        }
    }

    /// 0 duplicate, 1 first, 2 second, 3 third, 4 unrelated.
    pub fn rank(self) -> u8 {
        match self {
            KinshipDegree::Duplicate => 0,
            KinshipDegree::ParentChild | KinshipDegree::FullSibling => 1,
            KinshipDegree::Second => 2,
            KinshipDegree::Third => 3,
            KinshipDegree::Unrelated => 4,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Kinship {
    pub phi: f64,
    /// Block-jackknife standard error of φ.
    pub standard_error: f64,
    /// IBS0: share of SNPs where the two are opposite homozygotes.
    pub ibs0: f64,
    pub snps: usize,
    pub degree: KinshipDegree,
}

/// Per-SNP parts of the estimator.
#[derive(Clone, Copy, Default)]
struct Tally {
    het_het: f64,
    opposite: f64,
    het_sum: f64,
}

impl Tally {
    fn add(&mut self, a: u8, b: u8) {
        let (ha, hb) = (a == 1, b == 1);
        self.het_het += f64::from(u8::from(ha && hb));
        self.het_sum += f64::from(u8::from(ha)) + f64::from(u8::from(hb));
        self.opposite += f64::from(u8::from(!ha && !hb && a != b));
    }

    fn plus(self, o: Tally) -> Tally {
        Tally {
            het_het: self.het_het + o.het_het,
            opposite: self.opposite + o.opposite,
            het_sum: self.het_sum + o.het_sum,
        }
    }

    fn minus(self, o: Tally) -> Tally {
        Tally {
            het_het: self.het_het - o.het_het,
            opposite: self.opposite - o.opposite,
            het_sum: self.het_sum - o.het_sum,
        }
    }

    fn phi(self) -> f64 {
        if self.het_sum > 0.0 {
            (self.het_het - 2.0 * self.opposite) / self.het_sum
        } else {
            0.0
        }
    }
}

/// Delete-one-block jackknife SE of φ (Künsch 1989): linkage keeps
/// neighbouring SNPs correlated, so SNPs are left out a block at a time.
fn jackknife_se(blocks: &[Tally], total: Tally) -> f64 {
    let n = blocks.len() as f64;
    let values: Vec<f64> = blocks.iter().map(|b| total.minus(*b).phi()).collect();
    let mean = values.iter().sum::<f64>() / n;
    ((n - 1.0) / n * values.iter().map(|v| (v - mean).powi(2)).sum::<f64>()).sqrt()
}

/// KING-robust kinship of two people from their ALT dosages at the same SNPs
/// (in genome order, for the block jackknife). `None` with too few SNPs.
pub fn king_robust(pairs: &[(u8, u8)]) -> Option<Kinship> {
    if pairs.len() < MIN_KINSHIP_SNPS {
        return None;
    }
    let blocks = JACKKNIFE_BLOCKS.min(pairs.len());
    let mut tallies = vec![Tally::default(); blocks];
    for (i, &(a, b)) in pairs.iter().enumerate() {
        tallies[i * blocks / pairs.len()].add(a, b);
    }
    let total = tallies.iter().fold(Tally::default(), |t, b| t.plus(*b));
    let phi = total.phi();
    let standard_error = jackknife_se(&tallies, total);
    let ibs0 = total.opposite / pairs.len() as f64;
    let degree = if phi <= RELATED_Z * standard_error || phi < THIRD_DEGREE_CUTOFF {
        KinshipDegree::Unrelated
    } else if phi > DUPLICATE_CUTOFF {
        KinshipDegree::Duplicate
    } else if phi > FIRST_DEGREE_CUTOFF {
        if ibs0 < PARENT_CHILD_IBS0 {
            KinshipDegree::ParentChild
        } else {
            KinshipDegree::FullSibling
        }
    } else if phi > SECOND_DEGREE_CUTOFF {
        KinshipDegree::Second
    } else {
        KinshipDegree::Third
    };
    Some(Kinship {
        phi,
        standard_error,
        ibs0,
        snps: pairs.len(),
        degree,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_genotypes_are_a_duplicate() {
        let g: Vec<(u8, u8)> = (0..300).map(|i| ((i % 3) as u8, (i % 3) as u8)).collect();
        let k = king_robust(&g).expect("enough SNPs");
        // N_het,het = N_het(i) = N_het(j): φ = ½.
        assert!((k.phi - 0.5).abs() < 1e-12);
        assert_eq!(k.degree, KinshipDegree::Duplicate);
    }

    #[test]
    fn opposite_homozygotes_everywhere_are_unrelated_with_negative_phi() {
        let g: Vec<(u8, u8)> = (0..300)
            .map(|i| if i % 2 == 0 { (0, 2) } else { (1, 1) })
            .collect();
        let k = king_robust(&g).expect("enough SNPs");
        // 150 het-het, 150 opposite: (150 − 300) / 300 = −½.
        assert!((k.phi + 0.5).abs() < 1e-12);
        assert_eq!(k.degree, KinshipDegree::Unrelated);
    }

    #[test]
    fn too_few_snps_give_no_estimate() {
        assert!(king_robust(&[(0, 1); 10]).is_none());
    }
}
