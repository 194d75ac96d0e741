//! Regional allele-balance shifts in the recipient: loss of heterozygosity or
//! a copy-number change (haematological disease, a tumour; cfdna-model.md §7).
//!
//! Donor DNA moves every informative SNP by the same fraction. A recipient
//! whose blood cells lost one copy of a region moves the *heterozygous* SNPs
//! of that region, and only those, to β or 1 − β (0.2–0.35 for a clone of
//! half the cells): a model that expects ½ reads them as donor DNA (a pure
//! recipient read 50% "detected" without genotypes, 17–23% at 1–5%), and a
//! recipient genotype called from the same blood calls some of them
//! homozygous, whose reads then look like donor alleles (a blank at 1.39%).
//!
//! The test: each SNP, in genome order, is *abnormal* when its reads are far
//! (more than `ABNORMAL_Z` standard deviations of the fitted read model) from
//! what the fit expects of it — a heterozygote from b, a homozygote from
//! error plus at most the fitted donor share. A two-state hidden Markov model
//! (normal: abnormal SNPs are rare; shifted: a large share is abnormal) is
//! decoded per chromosome (Viterbi); runs in the shifted state with enough
//! abnormal SNPs and a likelihood ratio above `MIN_REGION_LOG_LR` are regions,
//! and their SNPs leave the estimate.

use crate::model::likelihood::looks_heterozygous;

/// An SNP's reads and, when typed, the recipient's genotype, in genome order.
#[derive(Debug, Clone, Copy)]
pub struct BalanceSite<'a> {
    pub chrom: &'a str,
    pub pos: u64,
    pub alt: u32,
    pub depth: u32,
    pub recipient: Option<u8>,
    /// The donor's genotype, when typed (two-genome).
    pub donor: Option<u8>,
}

/// What the fit expects of an SNP's reads.
#[derive(Debug, Clone, Copy)]
pub struct BalanceFit {
    pub donor_fraction: f64,
    pub error_rate: f64,
    pub het_balance: f64,
    /// ICC of a heterozygote's reads across SNPs (molecule sampling and
    /// allelic imbalance); at least `MIN_HET_RHO`.
    pub het_rho: f64,
}

/// A region of shifted allele balance.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ShiftedRegion {
    pub chrom: String,
    pub start: u64,
    pub end: u64,
    /// Indices (into the sites given) of the SNPs in the region.
    #[serde(skip)]
    pub snps: Vec<usize>,
    pub abnormal: usize,
    /// Median allele fraction of the region's heterozygous-looking SNPs,
    /// folded to ≤ ½ (the shifted balance β).
    pub balance: f64,
    pub log_lr: f64,
}

impl ShiftedRegion {
    pub fn describe(&self) -> String {
        format!(
            "{}:{}-{} ({} SNPs, {} abnormal, balance ≈ {:.2})",
            self.chrom,
            self.start,
            self.end,
            self.snps.len(),
            self.abnormal,
            self.balance
        )
    }
}

/// |z| beyond which an SNP's reads are abnormal under the fit.
pub const ABNORMAL_Z: f64 = 4.0;
/// Smallest heterozygote ICC assumed (real heterozygous SNPs vary more than a
/// binomial: allelic imbalance per site).
pub const MIN_HET_RHO: f64 = 1e-3;
/// Share of abnormal SNPs in the normal state (outliers: mis-calls, dropouts)
/// at least, and in a shifted region (about half its SNPs are heterozygous,
/// most of them abnormal at panel depths) at least. Real reads have more
/// outliers in some draws than others (a 10% mixture of real reads: 5–10% of
/// SNPs beyond 4 SD, scattered over every chromosome), so the normal rate is
/// the median of the chromosomes' rates, which a region on a few chromosomes
/// does not move, and the shifted rate is at least three times it.
const MIN_NORMAL_ABNORMAL_RATE: f64 = 0.01;
const MIN_SHIFTED_ABNORMAL_RATE: f64 = 0.35;
/// Per-SNP probabilities of entering and leaving a shifted region.
const ENTER: f64 = 1e-3;
const LEAVE: f64 = 0.01;
/// A region needs this many abnormal SNPs and this log-likelihood ratio over
/// the normal state to count.
pub const MIN_REGION_ABNORMAL: usize = 4;
pub const MIN_REGION_LOG_LR: f64 = 10.0;

/// Whether `site` is heterozygous: typed so, or (untyped) reads like one.
fn heterozygous(site: &BalanceSite) -> bool {
    match site.recipient {
        Some(r) => r == 1,
        None => looks_heterozygous(site.alt, site.depth),
    }
}

/// A heterozygote's deviation from b beyond what the donor can move it
/// (±f·½), in standard deviations of the fitted read model.
fn het_z(site: &BalanceSite, fit: &BalanceFit) -> f64 {
    let n = f64::from(site.depth);
    let af = f64::from(site.alt) / n;
    let b = fit.het_balance;
    let rho = fit.het_rho.max(MIN_HET_RHO);
    let sd = (b * (1.0 - b) / n * (1.0 + (n - 1.0) * rho))
        .sqrt()
        .max(1e-9);
    let f = fit.donor_fraction;
    let dev = match site.donor {
        // A typed donor fixes the expected share exactly.
        Some(d) => (af - ((1.0 - f) * b + f * [0.0, b, 1.0][usize::from(d.min(2))])).abs(),
        None => ((af - b).abs() - f / 2.0).max(0.0),
    };
    dev / sd
}

/// How much more heterozygous SNPs spread than the fit says, measured
/// robustly: 1.4826 × the median |z| ÷ 0.6745 (so a normal spread gives 1).
/// Real heterozygous SNPs carry per-site allelic imbalance a binomial fit
/// does not describe; a median is not moved by a shifted region covering
/// less than half of them.
pub fn het_spread(sites: &[BalanceSite], fit: &BalanceFit) -> f64 {
    let mut z: Vec<f64> = sites
        .iter()
        .filter(|s| s.depth > 0 && heterozygous(s))
        .map(|s| het_z(s, fit))
        .collect();
    if z.len() < 20 {
        return 1.0;
    }
    z.sort_by(f64::total_cmp);
    (z[z.len() / 2] / 0.6745).max(1.0)
}

/// Whether an SNP's reads are abnormal under the fit, heterozygotes judged in
/// units of the robust `spread`.
pub fn is_abnormal(site: &BalanceSite, fit: &BalanceFit, spread: f64) -> bool {
    if site.depth == 0 {
        return false;
    }
    let n = f64::from(site.depth);
    let af = f64::from(site.alt) / n;
    let sd = |p: f64, rho: f64| {
        (p * (1.0 - p) / n * (1.0 + (n - 1.0) * rho))
            .sqrt()
            .max(1e-9)
    };
    if heterozygous(site) {
        return het_z(site, fit) > ABNORMAL_Z * spread;
    }
    // A homozygote: its minor allele reads error plus at most the donor's
    // whole share. Only "het-like" fractions count, so that a real donor
    // signal above its fitted share is not called a shift.
    let minor = match site.recipient {
        Some(2) => 1.0 - af,
        Some(_) => af,
        None => af.min(1.0 - af),
    };
    // The donor's share of the minor allele: at most f, exactly f·h(d) when typed.
    let donor_share = match (site.donor, site.recipient) {
        (Some(d), Some(2)) => 1.0 - [0.0, fit.het_balance, 1.0][usize::from(d.min(2))],
        (Some(d), _) => [0.0, fit.het_balance, 1.0][usize::from(d.min(2))],
        (None, _) => 1.0,
    };
    let expected = fit.error_rate + fit.donor_fraction * donor_share;
    minor > 0.1 && minor - expected > ABNORMAL_Z * spread * sd(expected.max(1e-3), MIN_HET_RHO)
}

/// Regions of shifted allele balance among `sites` (any order; decoded in
/// genome order). Region SNP indices refer to `sites`.
pub fn shifted_regions(sites: &[BalanceSite], fit: &BalanceFit) -> Vec<ShiftedRegion> {
    let mut order: Vec<usize> = (0..sites.len()).collect();
    order.sort_by(|&a, &b| (sites[a].chrom, sites[a].pos).cmp(&(sites[b].chrom, sites[b].pos)));
    let sorted: Vec<BalanceSite> = order.iter().map(|&i| sites[i]).collect();
    let spread = het_spread(&sorted, fit);
    let abnormal: Vec<bool> = sorted.iter().map(|s| is_abnormal(s, fit, spread)).collect();
    let mut chromosomes = Vec::new();
    let mut start = 0;
    while start < sorted.len() {
        let chrom = sorted[start].chrom;
        let end = (start..sorted.len())
            .find(|&i| sorted[i].chrom != chrom)
            .unwrap_or(sorted.len());
        chromosomes.push(start..end);
        start = end;
    }
    let mut rates: Vec<f64> = chromosomes
        .iter()
        .map(|r| abnormal[r.clone()].iter().filter(|a| **a).count() as f64 / r.len() as f64)
        .collect();
    rates.sort_by(f64::total_cmp);
    let normal = rates
        .get(rates.len() / 2)
        .copied()
        .unwrap_or(0.0)
        .clamp(MIN_NORMAL_ABNORMAL_RATE, 0.2);
    let rates = [normal, (3.0 * normal).clamp(MIN_SHIFTED_ABNORMAL_RATE, 0.9)];
    let mut regions = Vec::new();
    for range in chromosomes {
        decode_chromosome(&sorted, &abnormal, range, rates, &mut regions);
    }
    for r in &mut regions {
        for i in &mut r.snps {
            *i = order[*i];
        }
    }
    regions
}

/// Viterbi decoding of one chromosome's SNPs `range`.
fn decode_chromosome(
    sites: &[BalanceSite],
    abnormal: &[bool],
    range: std::ops::Range<usize>,
    rates: [f64; 2],
    regions: &mut Vec<ShiftedRegion>,
) {
    let emit = |state: usize, a: bool| -> f64 {
        let p = rates[state];
        if a { p.ln() } else { (1.0 - p).ln() }
    };
    let trans = [
        [(1.0 - ENTER).ln(), ENTER.ln()],
        [LEAVE.ln(), (1.0 - LEAVE).ln()],
    ];
    let n = range.len();
    if n == 0 {
        return;
    }
    let mut score = [
        emit(0, abnormal[range.start]),
        ENTER.ln() + emit(1, abnormal[range.start]),
    ];
    let mut back = vec![[0u8; 2]; n];
    for k in 1..n {
        let a = abnormal[range.start + k];
        let mut next = [0.0; 2];
        for (to, slot) in next.iter_mut().enumerate() {
            let (from, best) = (0..2)
                .map(|from| (from, score[from] + trans[from][to]))
                .fold((0, f64::NEG_INFINITY), |b, c| if c.1 > b.1 { c } else { b });
            back[k][to] = from as u8;
            *slot = best + emit(to, a);
        }
        score = next;
    }
    let mut state = usize::from(score[1] > score[0]);
    let mut path = vec![0u8; n];
    for k in (0..n).rev() {
        path[k] = state as u8;
        if k > 0 {
            state = usize::from(back[k][state]);
        }
    }
    let mut k = 0;
    while k < n {
        if path[k] == 0 {
            k += 1;
            continue;
        }
        let first = k;
        while k < n && path[k] == 1 {
            k += 1;
        }
        let idx: Vec<usize> = (range.start + first..range.start + k).collect();
        let count = idx.iter().filter(|&&i| abnormal[i]).count();
        let log_lr: f64 = idx
            .iter()
            .map(|&i| emit(1, abnormal[i]) - emit(0, abnormal[i]))
            .sum();
        if count < MIN_REGION_ABNORMAL || log_lr < MIN_REGION_LOG_LR {
            continue;
        }
        let mut folded: Vec<f64> = idx
            .iter()
            .map(|&i| &sites[i])
            .filter(|s| s.depth > 0)
            .map(|s| f64::from(s.alt) / f64::from(s.depth))
            .filter(|af| (0.08..=0.92).contains(af))
            .map(|af| af.min(1.0 - af))
            .collect();
        folded.sort_by(f64::total_cmp);
        regions.push(ShiftedRegion {
            chrom: sites[idx[0]].chrom.to_string(),
            start: sites[idx[0]].pos,
            end: sites[idx[idx.len() - 1]].pos,
            balance: folded.get(folded.len() / 2).copied().unwrap_or(f64::NAN),
            snps: idx,
            abnormal: count,
            log_lr,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fit() -> BalanceFit {
        BalanceFit {
            donor_fraction: 0.0,
            error_rate: 1e-3,
            het_balance: 0.5,
            het_rho: 1e-3,
        }
    }

    #[test]
    fn a_run_of_shifted_heterozygotes_is_one_region_and_normal_data_none() {
        // 400 SNPs on one chromosome, alternating hom/het at 1,000×; SNPs
        // 200–259 lost a copy (heterozygotes read 0.25).
        let sites: Vec<BalanceSite> = (0..400u64)
            .map(|i| {
                let het = i % 2 == 1;
                let alt = match (het, (200..260).contains(&i)) {
                    (true, true) => 250,
                    (true, false) => 495 + (i % 7) as u32,
                    (false, _) => 1,
                };
                BalanceSite {
                    chrom: "chr1",
                    pos: 1000 * i,
                    alt,
                    depth: 1000,
                    recipient: Some(u8::from(het)),
                    donor: None,
                }
            })
            .collect();
        let regions = shifted_regions(&sites, &fit());
        assert_eq!(regions.len(), 1, "{regions:?}");
        let r = &regions[0];
        assert!(r.snps.contains(&201) && r.snps.contains(&259) && !r.snps.contains(&100));
        assert!((r.balance - 0.25).abs() < 0.01);
        let normal: Vec<BalanceSite> = sites
            .iter()
            .map(|s| BalanceSite {
                alt: if s.recipient == Some(1) { 500 } else { 1 },
                ..*s
            })
            .collect();
        assert!(shifted_regions(&normal, &fit()).is_empty());
    }

    #[test]
    fn donor_dna_at_every_informative_snp_is_not_a_shift() {
        // 5% donor DNA: homozygous SNPs read up to 5%, heterozygotes ±2.5%.
        let f = 0.05;
        let sites: Vec<BalanceSite> = (0..300u64)
            .map(|i| BalanceSite {
                chrom: "chr2",
                pos: i,
                alt: match i % 3 {
                    0 => 50,
                    1 => 475,
                    _ => 25,
                },
                depth: 1000,
                recipient: Some(if i % 3 == 1 { 1 } else { 0 }),
                donor: None,
            })
            .collect();
        let fit = BalanceFit {
            donor_fraction: f,
            ..fit()
        };
        assert!(shifted_regions(&sites, &fit).is_empty());
    }
}
