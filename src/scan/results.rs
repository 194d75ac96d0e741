//! Turning estimates into per-sample and per-transplant results.

use chrono::NaiveDate;

use crate::model::backend::LoglikBackend;
use crate::error::Result;
use rayon::prelude::*;

use crate::formats::limits::DetectionLimitTable;
use crate::formats::sheet::QuantityUnit;
use crate::model::allele_shift::{
    BalanceFit, BalanceSite, MIN_HET_RHO, ShiftedRegion, shifted_regions,
};
use crate::model::contamination::{ContaminationEstimate, estimate_contamination};
use crate::model::estimate::IntervalKind;
use crate::model::estimate::{EstimatorSettings, FractionEstimate, estimate_batch, join_interval};
use crate::model::frequency::SampleFrequencies;
use crate::model::frequency::Spectrum;
use crate::model::qc::{QcThresholds, QcVerdict, SEARCH_LIMIT_SHARE, SnpAccounting, assess};
use crate::model::relatedness::{
    MIN_PLASMA_FRACTION, PlasmaDraw, PlasmaEvidence, RelationshipCheck, check_genotypes,
    check_plasma,
};
use crate::model::two_donor::{TwoDonorEstimate, TwoDonorModel, estimate_two_donors};
use crate::model::{EstimationMode, Relationship, SampleModel};
use crate::risk::{Organ, RiskConfig};
use crate::scan::load::Batch;

#[derive(Debug, Clone, serde::Serialize)]
pub struct SampleResult {
    pub sample_id: String,
    pub transplant_id: String,
    pub collected: NaiveDate,
    pub days_post_transplant: i64,
    pub mode: Option<EstimationMode>,
    pub estimate: Option<FractionEstimate>,
    pub snps: SnpAccounting,
    pub qc: QcVerdict,
    pub qc_reasons: Vec<String>,
    pub flags: Vec<String>,
    pub dd_cfdna_cp_per_ml: Option<f64>,
    /// Where the frequencies of the marginalised SNPs came from, in words
    /// (recipient-only and genotype-free draws).
    pub allele_frequencies: Option<String>,
    pub frequencies: Option<SampleFrequencies>,
    /// Third-party DNA (both genotypes known; see model::contamination).
    pub contamination: Option<ContaminationEstimate>,
    /// The second donor's fraction and 95% profile interval (two-donor transplants).
    pub second_donor: Option<SecondDonorFraction>,
    /// Limits from a `--limits` file for this relationship and mode (fractions).
    pub limit_of_blank: Option<f64>,
    pub limit_of_detection: Option<f64>,
}

#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct SecondDonorFraction {
    pub donor_fraction: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct TransplantSummary {
    pub transplant_id: String,
    pub organ: Organ,
    pub relationship: Relationship,
    pub transplant_date: NaiveDate,
    pub samples: usize,
    pub latest_sample_id: Option<String>,
    pub latest_collected: Option<NaiveDate>,
    pub latest_days: Option<i64>,
    pub latest: Option<FractionEstimate>,
    pub latest_qc: Option<QcVerdict>,
    /// The relationship the likelihood used (the best-supported one when the
    /// declared relationship is unknown and the data say which).
    pub modelled_relationship: Relationship,
    pub relationship_check: Option<RelationshipCheck>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ScanOutcome {
    pub samples: Vec<SampleResult>,
    pub transplants: Vec<TransplantSummary>,
}

pub fn run_scan(
    batch: &mut Batch,
    backend: &dyn LoglikBackend,
    estimator: &EstimatorSettings,
    qc: &QcThresholds,
    risk: &RiskConfig,
    limits: Option<&DetectionLimitTable>,
) -> Result<ScanOutcome> {
    // Estimate every estimable sample in one batch through the backend.
    let idx: Vec<usize> = (0..batch.samples.len())
        .filter(|&i| batch.samples[i].refused.is_none())
        .collect();
    let mut models: Vec<SampleModel> = idx
        .iter()
        .map(|&i| {
            std::mem::replace(
                &mut batch.samples[i].model,
                SampleModel::new(EstimationMode::TwoGenome),
            )
        })
        .collect();
    let estimates = estimate_batch(&mut models, backend, estimator)?;
    let mut per_sample: Vec<Option<FractionEstimate>> = vec![None; batch.samples.len()];
    for ((i, m), e) in idx.iter().zip(models).zip(estimates) {
        batch.samples[*i].model = m;
        per_sample[*i] = Some(e);
    }
    let shifts = exclude_allele_shifts(batch, &mut per_sample, backend, estimator, qc)?;

    // Relationship check per transplant; an unknown relationship is replaced by
    // the best-supported one and that transplant's draws are re-estimated.
    let checks: Vec<Option<RelationshipCheck>> = {
        let batch = &*batch;
        (0..batch.transplants.len())
            .into_par_iter()
            .map(|ti| relationship_check(batch, ti, &per_sample, qc))
            .collect()
    };
    let mut modelled: Vec<Relationship> = batch
        .transplants
        .iter()
        .map(|t| match t.relationship {
            Relationship::Unknown => Relationship::Unrelated,
            r => r,
        })
        .collect();
    let mut redo = Vec::new();
    for (ti, check) in checks.iter().enumerate() {
        if let Some(c) = check
            && batch.transplants[ti].relationship == Relationship::Unknown
            && let Some(adopted) = c.adopted_relationship()
        {
            modelled[ti] = adopted;
            redo.extend(
                (0..batch.samples.len()).filter(|&i| {
                    batch.samples[i].transplant_index == ti && per_sample[i].is_some()
                }),
            );
        }
    }
    if !redo.is_empty() {
        let mut models: Vec<SampleModel> = redo
            .iter()
            .map(|&i| {
                let s = &batch.samples[i];
                let kappa = modelled[s.transplant_index].kappa();
                let spectrum = s.spectra.first().copied().unwrap_or(Spectrum::FLAT);
                let mut m = SampleModel::from_inputs(s.model.mode, &s.inputs, kappa, spectrum);
                m.het_sites.clone_from(&s.model.het_sites);
                m
            })
            .collect();
        let estimates = estimate_batch(&mut models, backend, estimator)?;
        for ((i, m), e) in redo.iter().zip(models).zip(estimates) {
            batch.samples[*i].model = m;
            per_sample[*i] = Some(e);
        }
    }

    // Draws whose frequencies are unknown at most sites: the same draw under
    // the other plausible frequency spectra, and the interval spans them all
    // (model::frequency). The point estimate stays the fitted spectrum's.
    let alternatives: Vec<(usize, SampleModel)> = batch
        .samples
        .iter()
        .enumerate()
        .filter(|(i, _)| per_sample[*i].is_some())
        .flat_map(|(i, s)| {
            let kappa = modelled[s.transplant_index].kappa();
            s.spectra.iter().skip(1).map(move |&spectrum| {
                let mut m = SampleModel::from_inputs(s.model.mode, &s.inputs, kappa, spectrum);
                m.het_sites.clone_from(&s.model.het_sites);
                (i, m)
            })
        })
        .collect();
    if !alternatives.is_empty() {
        let (owners, mut models): (Vec<usize>, Vec<SampleModel>) = alternatives.into_iter().unzip();
        let estimates = estimate_batch(&mut models, backend, estimator)?;
        for (i, other) in owners.into_iter().zip(&estimates) {
            if let Some(main) = per_sample[i].as_mut() {
                join_interval(main, other);
            }
        }
    }

    // Two-donor transplants: both fractions and the error rate on the simplex
    // (CPU); donor 1's numbers replace the single-donor fit.
    let two_donor: Vec<Option<TwoDonorEstimate>> = batch
        .samples
        .par_iter()
        .zip(per_sample.par_iter())
        .map(|(s, e)| {
            let snps = s.two_donor.as_ref()?;
            e.as_ref()?;
            let t = &batch.transplants[s.transplant_index];
            let k2 = t.second_donor.as_ref()?.relationship.kappa();
            let mut model = TwoDonorModel::new(snps, t.relationship.kappa(), k2);
            Some(estimate_two_donors(&mut model))
        })
        .collect();

    let mut samples = Vec::with_capacity(batch.samples.len());
    for (((s, mut estimate), two), shifted) in batch
        .samples
        .iter()
        .zip(per_sample)
        .zip(two_donor)
        .zip(shifts)
    {
        let t = &batch.transplants[s.transplant_index];
        let days = (s.row.collected - t.transplant_date).num_days();
        let mut flags = Vec::new();
        let contamination = if s.two_donor.is_none() {
            estimate_contamination(&s.inputs, 30)
        } else {
            None
        };
        let second_donor = match (two, estimate.as_mut()) {
            (Some(two), Some(e)) => {
                e.donor_fraction = two.fraction1;
                (e.ci_low, e.ci_high) = two.interval1;
                e.interval = if two.fraction1 > 0.0 {
                    IntervalKind::TwoSided
                } else {
                    IntervalKind::OneSidedUpper
                };
                // With two donors, "detected" means the profile interval excludes 0.
                e.detected = two.interval1.0 > 0.0;
                e.error_rate = two.error_rate;
                flags.push(format!(
                    "two donors: donor 2 at {:.3}% [{:.3}, {:.3}]",
                    100.0 * two.fraction2,
                    100.0 * two.interval2.0,
                    100.0 * two.interval2.1
                ));
                Some(SecondDonorFraction {
                    donor_fraction: two.fraction2,
                    ci_low: two.interval2.0,
                    ci_high: two.interval2.1,
                })
            }
            _ => None,
        };
        // CLSI EP17: a result at or below the limit of blank is "not detected",
        // whatever the presence test says; one below the LoD is not quantified.
        let limit = match (limits, s.mode) {
            (Some(table), Some(mode)) => table.lookup(modelled[s.transplant_index], mode),
            _ => None,
        };
        if let (Some(l), Some(e)) = (limit, estimate.as_mut())
            && e.detected
        {
            if e.donor_fraction <= l.limit_of_blank {
                e.detected = false;
                flags.push(format!(
                    "{:.3}% ≤ limit of blank {:.3}%: not detected",
                    100.0 * e.donor_fraction,
                    100.0 * l.limit_of_blank
                ));
            } else if let Some(lod) = l.limit_of_detection
                && e.donor_fraction < lod
            {
                flags.push(format!(
                    "below the limit of detection {:.3}%: detected, not reliably quantified",
                    100.0 * lod
                ));
            }
        }
        if days < 0 {
            flags.push("collected before the transplant date".to_string());
        } else if days < risk.early_window_days {
            flags.push(format!(
                "{days} days post-transplant (< {}): not interpretable",
                risk.early_window_days
            ));
        }
        let used = modelled[s.transplant_index];
        if t.relationship == Relationship::Unknown {
            flags.push(format!("relationship unknown: modelled as {used}"));
        } else if t.relationship.is_related() {
            flags.push(format!(
                "related donor ({}): higher limit of detection",
                t.relationship
            ));
        }
        let (qc, qc_reasons, dd) = match (&estimate, &s.refused) {
            (_, Some(why)) => {
                flags.push("identical-twin donor".to_string());
                (QcVerdict::Fail, vec![why.clone()], None)
            }
            (Some(e), None) => {
                let (mut v, mut r) = assess(&s.accounting, e, qc);
                if s.mode != Some(EstimationMode::TwoGenome)
                    && let Some(why) = s
                        .frequencies
                        .as_ref()
                        .and_then(SampleFrequencies::review_reason)
                {
                    r.push(why);
                    v = v.max(QcVerdict::Review);
                }
                if !shifted.is_empty() {
                    let excluded = s.accounting.allele_shift_excluded;
                    let share = excluded as f64 / (s.accounting.snps_used + excluded).max(1) as f64;
                    r.push(format!(
                        "recipient allele balance shifted in {} region(s) ({}): loss of heterozygosity or a copy-number change? {excluded} SNPs ({:.0}%) left out of the estimate",
                        shifted.len(),
                        shifted.iter().map(ShiftedRegion::describe).collect::<Vec<_>>().join("; "),
                        100.0 * share
                    ));
                    v = v.max(if share > qc.max_allele_shift_share {
                        QcVerdict::Fail
                    } else {
                        QcVerdict::Review
                    });
                }
                if let Some(c) = contamination
                    && c.fraction > qc.max_contamination_review
                {
                    r.push(format!(
                        "third-party DNA {:.2}% > {:.2}% (contamination or a sample mix)",
                        100.0 * c.fraction,
                        100.0 * qc.max_contamination_review
                    ));
                    v = v.max(QcVerdict::Review);
                }
                let dd = s.row.total_cfdna.map(|(value, unit)| {
                    let ge = match unit {
                        QuantityUnit::GePerMl => value,
                        QuantityUnit::NgPerMl => value * risk.genome_equivalents_per_ng,
                    };
                    e.donor_fraction * ge
                });
                (v, r, dd)
            }
            (None, None) => (QcVerdict::Fail, vec!["not estimated".to_string()], None),
        };
        samples.push(SampleResult {
            sample_id: s.row.sample_id.clone(),
            transplant_id: s.row.transplant_id.clone(),
            collected: s.row.collected,
            days_post_transplant: days,
            mode: s.mode,
            estimate,
            snps: s.accounting.clone(),
            qc,
            qc_reasons,
            flags,
            dd_cfdna_cp_per_ml: dd,
            contamination,
            second_donor,
            limit_of_blank: limit.map(|l| l.limit_of_blank),
            limit_of_detection: limit.and_then(|l| l.limit_of_detection),
            allele_frequencies: s
                .frequencies
                .as_ref()
                .filter(|_| s.mode != Some(EstimationMode::TwoGenome))
                .map(SampleFrequencies::describe),
            frequencies: s.frequencies.clone(),
        });
    }

    let transplants = batch
        .transplants
        .iter()
        .zip(checks)
        .zip(modelled)
        .map(|((t, check), used)| {
            let mut summary = summarise_transplant(t, &samples);
            summary.modelled_relationship = used;
            summary.relationship_check = check;
            summary
        })
        .collect();
    Ok(ScanOutcome {
        samples,
        transplants,
    })
}

fn summarise_transplant(
    t: &crate::formats::sheet::TransplantRow,
    samples: &[SampleResult],
) -> TransplantSummary {
    let mut mine: Vec<&SampleResult> = samples
        .iter()
        .filter(|s| s.transplant_id == t.transplant_id)
        .collect();
    mine.sort_by(|a, b| (a.collected, &a.sample_id).cmp(&(b.collected, &b.sample_id)));
    let latest = mine.last().copied();
    TransplantSummary {
        transplant_id: t.transplant_id.clone(),
        organ: t.organ,
        relationship: t.relationship,
        transplant_date: t.transplant_date,
        samples: mine.len(),
        latest_sample_id: latest.map(|l| l.sample_id.clone()),
        latest_collected: latest.map(|l| l.collected),
        latest_days: latest.map(|l| l.days_post_transplant),
        latest: latest.and_then(|l| l.estimate.clone()),
        latest_qc: latest.map(|l| l.qc),
        modelled_relationship: t.relationship,
        relationship_check: None,
    }
}

/// Regional allele-balance shifts in each recipient (model::allele_shift),
/// found with the draw's fitted read model: their SNPs leave the draw's inputs
/// and model, and those draws are estimated again. Returns each draw's regions.
fn exclude_allele_shifts(
    batch: &mut Batch,
    per_sample: &mut [Option<FractionEstimate>],
    backend: &dyn LoglikBackend,
    estimator: &EstimatorSettings,
    qc: &QcThresholds,
) -> Result<Vec<Vec<ShiftedRegion>>> {
    let shifts: Vec<Vec<ShiftedRegion>> = batch
        .samples
        .par_iter()
        .zip(per_sample.par_iter())
        .map(|(s, e)| {
            let Some(e) = e else {
                return Vec::new();
            };
            let sites: Vec<BalanceSite> = s
                .inputs
                .iter()
                .zip(&s.sites)
                .map(|(i, k)| BalanceSite {
                    chrom: &k.chrom,
                    pos: k.pos,
                    alt: i.alt,
                    depth: i.depth,
                    recipient: i.recipient,
                    donor: i.donor,
                })
                .collect();
            let fit = BalanceFit {
                donor_fraction: e.donor_fraction,
                error_rate: e.error_rate,
                het_balance: s.model.het_balance,
                het_rho: s.model.molecular.map_or(MIN_HET_RHO, |d| d.signal_rho),
            };
            let found = shifted_regions(&sites, &fit);
            // A large shift can be absorbed by the fit itself (a pure
            // recipient read at 46% with a dispersion of 370): when the fit is
            // poor or at the search limit, look again as if no donor DNA were
            // there.
            let worst_phi = e
                .dispersion
                .iter()
                .copied()
                .filter(|p| p.is_finite())
                .fold(0.0, f64::max);
            let suspect = worst_phi > qc.max_dispersion_review
                || e.donor_fraction >= SEARCH_LIMIT_SHARE * e.search_limit;
            if found.is_empty() && suspect {
                shifted_regions(
                    &sites,
                    &BalanceFit {
                        donor_fraction: 0.0,
                        ..fit
                    },
                )
            } else {
                found
            }
        })
        .collect();
    let redo: Vec<usize> = (0..shifts.len())
        .filter(|&i| !shifts[i].is_empty())
        .collect();
    if redo.is_empty() {
        return Ok(shifts);
    }
    let mut models = Vec::with_capacity(redo.len());
    for &i in &redo {
        let excluded: std::collections::HashSet<usize> = shifts[i]
            .iter()
            .flat_map(|r| r.snps.iter().copied())
            .collect();
        let kappa = batch.transplants[batch.samples[i].transplant_index]
            .relationship
            .kappa();
        let s = &mut batch.samples[i];
        let keep = |k: &usize| !excluded.contains(k);
        s.inputs = s
            .inputs
            .iter()
            .enumerate()
            .filter(|(k, _)| keep(k))
            .map(|(_, x)| *x)
            .collect();
        s.sites = s
            .sites
            .iter()
            .enumerate()
            .filter(|(k, _)| keep(k))
            .map(|(_, x)| x.clone())
            .collect();
        s.accounting.allele_shift_excluded = excluded.len();
        s.accounting.snps_used = s.accounting.snps_used.saturating_sub(excluded.len());
        let spectrum = s.spectra.first().copied().unwrap_or(Spectrum::FLAT);
        models.push(SampleModel::from_inputs(
            s.model.mode,
            &s.inputs,
            kappa,
            spectrum,
        ));
    }
    let estimates = estimate_batch(&mut models, backend, estimator)?;
    for ((&i, m), e) in redo.iter().zip(models).zip(estimates) {
        batch.samples[i].model = m;
        per_sample[i] = Some(e);
    }
    Ok(shifts)
}

/// Genotype-based when the donor was typed, else plasma-based over the draws
/// with detectable donor DNA that passed QC. None in genotype-free mode.
fn relationship_check(
    batch: &Batch,
    ti: usize,
    estimates: &[Option<FractionEstimate>],
    qc: &QcThresholds,
) -> Option<RelationshipCheck> {
    let t = &batch.transplants[ti];
    if t.relationship == Relationship::IdenticalTwin {
        return None;
    }
    let mine: Vec<usize> = (0..batch.samples.len())
        .filter(|&i| batch.samples[i].transplant_index == ti && estimates[i].is_some())
        .collect();
    let typed = mine
        .iter()
        .copied()
        .filter(|&i| batch.samples[i].mode == Some(EstimationMode::TwoGenome))
        .max_by_key(|&i| batch.samples[i].inputs.len());
    if let Some(i) = typed {
        let s = &batch.samples[i];
        let measured = s
            .frequencies
            .as_ref()
            .is_some_and(SampleFrequencies::measured);
        return check_genotypes(t.relationship, &s.inputs, measured);
    }
    // Draws with detectable donor DNA from recipient-only fits.
    let used: Vec<usize> = mine
        .iter()
        .copied()
        .filter(|&i| {
            let s = &batch.samples[i];
            s.mode == Some(EstimationMode::RecipientOnly)
                && estimates[i]
                    .as_ref()
                    .is_some_and(|e| e.detected && e.donor_fraction >= MIN_PLASMA_FRACTION)
                && s.accounting.mean_depth >= 10.0
        })
        .collect();
    let weights: Vec<Vec<f64>> = used
        .iter()
        .map(|&i| {
            batch.samples[i]
                .model
                .snps
                .iter()
                .map(|s| s.weight)
                .collect()
        })
        .collect();
    let draws: Vec<PlasmaDraw> = used
        .iter()
        .zip(&weights)
        .map(|(&i, w)| {
            let s = &batch.samples[i];
            PlasmaDraw {
                inputs: &s.inputs,
                error_rate: s.model.error_rate,
                weights: w,
                molecular: s.model.molecular,
                spectrum: s.spectra.first().copied().unwrap_or(Spectrum::FLAT),
            }
        })
        .collect();
    let frequencies_unmeasured = used
        .iter()
        .filter_map(|&i| batch.samples[i].frequencies.as_ref())
        .find(|f| !f.measured())
        .map(|f| {
            format!(
                "it rests on the population frequencies, and these are not measured ({})",
                f.describe()
            )
        });
    let poor_fit = used.iter().find_map(|&i| {
        let e = estimates[i].as_ref()?;
        let worst = e
            .dispersion
            .iter()
            .copied()
            .filter(|p| p.is_finite())
            .fold(f64::NAN, f64::max);
        (worst > qc.max_dispersion_review).then(|| {
            format!(
                "the read model fits draw {} poorly (dispersion {worst:.1} > {})",
                batch.samples[i].row.sample_id, qc.max_dispersion_review
            )
        })
    });
    check_plasma(
        t.relationship,
        &draws,
        &PlasmaEvidence {
            frequencies_unmeasured,
            poor_fit,
        },
    )
}
