//! Turning estimates into per-sample and per-transplant results.

use chrono::NaiveDate;

use crate::error::Result;
use crate::model::backend::LoglikBackend;
use rayon::prelude::*;

use crate::formats::limits::DetectionLimitTable;
use crate::formats::sheet::QuantityUnit;
use crate::model::allele_shift::{
    BalanceFit, BalanceSite, MIN_HET_RHO, ShiftedRegion, shifted_regions,
};
use crate::model::contamination::ContaminationEstimate;
use crate::model::dispersion::MoleculeDispersion;
use crate::model::estimate::IntervalKind;
use crate::model::estimate::{EstimatorSettings, FractionEstimate, estimate_batch, join_interval};
use crate::model::frequency::SampleFrequencies;
use crate::model::frequency::Spectrum;
use crate::model::likelihood::SnpInput;
use crate::model::qc::{QcThresholds, QcVerdict, SEARCH_LIMIT_SHARE, SnpAccounting, assess};
use crate::model::relatedness::{
    MIN_PLASMA_FRACTION, PlasmaDraw, PlasmaEvidence, RelationshipCheck, check_genotypes,
    check_plasma,
};
use crate::model::relationship::Kappa;
use crate::model::two_donor::{TwoDonorEstimate, TwoDonorModel, estimate_two_donor_batch};
use crate::model::{EstimationMode, Relationship, SampleModel};
use crate::risk::{Organ, RiskConfig};
use crate::scan::load::{Batch, PreparedSample};

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
    /// (recipient-only and genotype-free draws, and two-genome draws whose
    /// third-party term rests on them).
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

/// What the later stages need of one draw once its model is dropped.
struct DrawFit {
    mode: Option<EstimationMode>,
    refused: Option<String>,
    accounting: SnpAccounting,
    frequencies: Option<SampleFrequencies>,
    /// More than one plausible frequency spectrum: the interval joins them.
    has_alternatives: bool,
    estimate: Option<FractionEstimate>,
    contamination: Option<ContaminationEstimate>,
    /// Set for a draw of a two-donor transplant (with an estimate).
    two_donor: Option<TwoDonorEstimate>,
    /// Regions of shifted recipient allele balance, left out of the estimate.
    shifted: Vec<ShiftedRegion>,
}

/// Evidence for one transplant's relationship check, kept while its draws
/// stream through the estimator.
#[derive(Default)]
struct CheckEvidence {
    /// SNPs of the two-genome draw with the most SNPs (genotype-based check),
    /// and whether its frequencies are measured.
    typed: Option<(Vec<SnpInput>, bool)>,
    /// Recipient-only draws with detectable donor DNA (plasma-based check).
    plasma: Vec<OwnedPlasmaDraw>,
    /// The first of those draws whose frequencies are not measured, and the
    /// first whose read model fits poorly (model::relatedness::PlasmaEvidence).
    frequencies_unmeasured: Option<String>,
    poor_fit: Option<String>,
}

struct OwnedPlasmaDraw {
    inputs: Vec<SnpInput>,
    error_rate: f64,
    weights: Vec<f64>,
    molecular: Option<MoleculeDispersion>,
    spectrum: Spectrum,
}

/// Estimate `draws` (indices into the batch) in groups of at most
/// `chunk_draws` (the scan's `--chunk-draws`; a streamed chunk of whole
/// transplants fits in one group unless one transplant alone has more draws):
/// build each group's models (under `kappa_for`'s relationship), estimate them
/// through the backend (the two-donor fits of the group's two-donor draws in
/// one batch too) and hand each prepared draw with its estimates to `keep`;
/// the models are dropped before the next chunk.
#[allow(clippy::too_many_arguments)]
fn estimate_in_chunks(
    batch: &Batch,
    draws: &[usize],
    kappa_for: &(dyn Fn(usize) -> Option<Kappa> + Sync),
    backend: &dyn LoglikBackend,
    estimator: &EstimatorSettings,
    qc: &QcThresholds,
    chunk_draws: usize,
    keep: &mut dyn FnMut(
        usize,
        PreparedSample,
        Option<FractionEstimate>,
        Option<TwoDonorEstimate>,
        Vec<ShiftedRegion>,
    ),
) -> Result<()> {
    for chunk in draws.chunks(chunk_draws.max(1)) {
        let mut prepared: Vec<PreparedSample> = chunk
            .par_iter()
            .map(|&i| {
                let mut s = batch.prepare(i);
                if let Some(kappa) = kappa_for(i)
                    && s.refused.is_none()
                {
                    let spectrum = s.spectra.first().copied().unwrap_or(Spectrum::FLAT);
                    s.model = s.rebuilt_model(&s.model_inputs(), kappa, spectrum);
                }
                s
            })
            .collect();
        let estimable: Vec<usize> = (0..prepared.len())
            .filter(|&k| prepared[k].refused.is_none())
            .collect();
        let mut models: Vec<SampleModel> = estimable
            .iter()
            .map(|&k| {
                std::mem::replace(
                    &mut prepared[k].model,
                    SampleModel::new(EstimationMode::TwoGenome),
                )
            })
            .collect();
        let estimates = estimate_batch(&mut models, backend, estimator)?;
        let mut per_draw: Vec<Option<FractionEstimate>> = vec![None; prepared.len()];
        for ((&k, m), e) in estimable.iter().zip(models).zip(estimates) {
            prepared[k].model = m;
            per_draw[k] = Some(e);
        }
        // Regional allele-balance shifts in the recipient: their SNPs leave
        // the draw, which is estimated again without them.
        let shifts: Vec<Vec<ShiftedRegion>> = prepared
            .par_iter()
            .zip(per_draw.par_iter())
            .map(|(s, e)| {
                e.as_ref()
                    .map_or_else(Vec::new, |e| find_allele_shifts(s, e, qc))
            })
            .collect();
        let redo: Vec<usize> = (0..prepared.len())
            .filter(|&k| !shifts[k].is_empty())
            .collect();
        if !redo.is_empty() {
            let mut models: Vec<SampleModel> = redo
                .iter()
                .map(|&k| {
                    let s = &mut prepared[k];
                    let kappa = kappa_for(chunk[k]).unwrap_or_else(|| {
                        batch.transplants[s.transplant_index].relationship.kappa()
                    });
                    exclude_shifted(s, &shifts[k], kappa);
                    std::mem::replace(&mut s.model, SampleModel::new(EstimationMode::TwoGenome))
                })
                .collect();
            let estimates = estimate_batch(&mut models, backend, estimator)?;
            for ((&k, m), e) in redo.iter().zip(models).zip(estimates) {
                prepared[k].model = m;
                per_draw[k] = Some(e);
            }
        }
        let mut two_donor = fit_two_donors(batch, &prepared, &per_draw, backend)?;
        for ((((&i, s), e), two), shifted) in chunk
            .iter()
            .zip(prepared)
            .zip(per_draw)
            .zip(two_donor.drain(..))
            .zip(shifts)
        {
            keep(i, s, e, two, shifted);
        }
    }
    Ok(())
}

/// Both fractions and the error rate on the simplex for every draw of a
/// two-donor transplant that has a single-donor estimate: one batch through
/// the backend (grids) and the host (refinement, intervals). Donor 1's numbers
/// replace the single-donor fit in `run_scan`.
fn fit_two_donors(
    batch: &Batch,
    prepared: &[PreparedSample],
    per_draw: &[Option<FractionEstimate>],
    backend: &dyn LoglikBackend,
) -> Result<Vec<Option<TwoDonorEstimate>>> {
    let (at, mut models): (Vec<usize>, Vec<TwoDonorModel>) = prepared
        .iter()
        .zip(per_draw)
        .enumerate()
        .filter_map(|(k, (s, e))| {
            let t = &batch.transplants[s.transplant_index];
            match (&s.two_donor, e, &t.second_donor) {
                (Some(snps), Some(_), Some(second)) => Some((
                    k,
                    TwoDonorModel::new(snps, t.relationship.kappa(), second.relationship.kappa()),
                )),
                _ => None,
            }
        })
        .unzip();
    let mut out: Vec<Option<TwoDonorEstimate>> = vec![None; prepared.len()];
    if models.is_empty() {
        return Ok(out);
    }
    for (k, e) in at
        .into_iter()
        .zip(estimate_two_donor_batch(&mut models, backend)?)
    {
        out[k] = Some(e);
    }
    Ok(out)
}

pub fn run_scan(
    batch: &Batch,
    backend: &dyn LoglikBackend,
    estimator: &EstimatorSettings,
    qc: &QcThresholds,
    risk: &RiskConfig,
    limits: Option<&DetectionLimitTable>,
    chunk_draws: usize,
) -> Result<ScanOutcome> {
    // Every draw once through the estimator under its transplant's declared
    // relationship, keeping only what later stages need.
    let all: Vec<usize> = (0..batch.samples.len()).collect();
    let mut fits: Vec<Option<DrawFit>> = (0..batch.samples.len()).map(|_| None).collect();
    let mut evidence: Vec<CheckEvidence> = (0..batch.transplants.len())
        .map(|_| CheckEvidence::default())
        .collect();
    // Each transplant's relationship check runs as soon as its last draw has
    // been through the estimator, and its evidence (a draw's SNPs, ~64 kB)
    // is dropped then: kept to the end, it grew with the batch (~640 MB for
    // 10,000 transplants).
    let mut draws_left: Vec<usize> = vec![0; batch.transplants.len()];
    for d in &batch.samples {
        draws_left[d.transplant_index] += 1;
    }
    let mut checks: Vec<Option<RelationshipCheck>> = vec![None; batch.transplants.len()];
    estimate_in_chunks(
        batch,
        &all,
        &|_| None,
        backend,
        estimator,
        qc,
        chunk_draws,
        &mut |i, s, estimate, two_donor, shifted| {
            let ti = s.transplant_index;
            let t = &batch.transplants[ti];
            if let Some(e) = &estimate {
                collect_evidence(&mut evidence[ti], t, &s, e, qc);
            }
            draws_left[ti] = draws_left[ti].saturating_sub(1);
            if draws_left[ti] == 0 && checks[ti].is_none() {
                checks[ti] = relationship_check(t, &evidence[ti]);
                evidence[ti] = CheckEvidence::default();
            }
            let has_alternatives = s.spectra.len() > 1 || s.third_party().is_some();
            fits[i] = Some(DrawFit {
                mode: s.mode,
                refused: s.refused,
                accounting: s.accounting,
                frequencies: s.frequencies,
                has_alternatives,
                estimate,
                contamination: s.contamination,
                two_donor,
                shifted,
            });
        },
    )?;
    let mut fits: Vec<DrawFit> = fits.into_iter().flatten().collect();

    // Relationship check per transplant; an unknown relationship is replaced by
    // the best-supported one and that transplant's draws are re-estimated.
    drop(evidence);
    let mut modelled: Vec<Relationship> = batch
        .transplants
        .iter()
        .map(|t| match t.relationship {
            Relationship::Unknown => Relationship::Unrelated,
            r => r,
        })
        .collect();
    let mut redo = vec![false; batch.samples.len()];
    for (ti, check) in checks.iter().enumerate() {
        if let Some(c) = check
            && batch.transplants[ti].relationship == Relationship::Unknown
            && let Some(adopted) = c.adopted_relationship()
        {
            modelled[ti] = adopted;
            for (i, d) in batch.samples.iter().enumerate() {
                redo[i] |= d.transplant_index == ti && fits[i].estimate.is_some();
            }
        }
    }
    // Second pass, over the draws re-estimated under the adopted relationship
    // and those whose frequencies are unknown at most sites: the latter are
    // estimated again under the other plausible frequency spectra, and the
    // interval spans them all (model::frequency); the point estimate stays
    // the fitted spectrum's.
    let again: Vec<usize> = (0..batch.samples.len())
        .filter(|&i| redo[i] || (fits[i].estimate.is_some() && fits[i].has_alternatives))
        .collect();
    for chunk in again.chunks(chunk_draws.max(1)) {
        let prepared: Vec<(usize, PreparedSample)> = chunk
            .par_iter()
            .map(|&i| {
                let mut s = batch.prepare(i);
                if !fits[i].shifted.is_empty() {
                    let kappa = modelled[s.transplant_index].kappa();
                    exclude_shifted(&mut s, &fits[i].shifted, kappa);
                }
                (i, s)
            })
            .collect();
        let rebuilt_from = |s: &PreparedSample, inputs: &[SnpInput], spectrum: Spectrum| {
            s.rebuilt_model(inputs, modelled[s.transplant_index].kappa(), spectrum)
        };
        let rebuilt =
            |s: &PreparedSample, spectrum: Spectrum| rebuilt_from(s, &s.model_inputs(), spectrum);
        let (redo_at, mut models): (Vec<usize>, Vec<SampleModel>) = prepared
            .iter()
            .filter(|(i, _)| redo[*i])
            .map(|(i, s)| {
                let spectrum = s.spectra.first().copied().unwrap_or(Spectrum::FLAT);
                (*i, rebuilt(s, spectrum))
            })
            .unzip();
        if !models.is_empty() {
            let estimates = estimate_batch(&mut models, backend, estimator)?;
            for (i, e) in redo_at.into_iter().zip(estimates) {
                fits[i].estimate = Some(e);
            }
        }
        let (owners, mut models): (Vec<usize>, Vec<SampleModel>) = prepared
            .iter()
            .filter(|(i, _)| fits[*i].estimate.is_some())
            .flat_map(|(i, s)| {
                let spectrum = s.spectra.first().copied().unwrap_or(Spectrum::FLAT);
                let other_spectra = s
                    .spectra
                    .iter()
                    .skip(1)
                    .map(move |&spectrum| (*i, rebuilt(s, spectrum)));
                // Third-party DNA at the ends of its interval.
                let other_third_party = s
                    .third_party_alternatives()
                    .into_iter()
                    .map(move |inputs| (*i, rebuilt_from(s, &inputs, spectrum)));
                other_spectra.chain(other_third_party).collect::<Vec<_>>()
            })
            .unzip();
        if !models.is_empty() {
            let estimates = estimate_batch(&mut models, backend, estimator)?;
            for (i, other) in owners.into_iter().zip(&estimates) {
                if let Some(main) = fits[i].estimate.as_mut() {
                    join_interval(main, other);
                }
            }
        }
    }

    let mut samples = Vec::with_capacity(batch.samples.len());
    for (d, fit) in batch.samples.iter().zip(fits) {
        let s = &d.row;
        let DrawFit {
            mode,
            refused,
            accounting,
            frequencies,
            has_alternatives: _,
            mut estimate,
            contamination,
            two_donor,
            shifted,
        } = fit;
        let t = &batch.transplants[d.transplant_index];
        let days = (s.collected - t.transplant_date).num_days();
        let mut flags = Vec::new();
        // Third-party DNA in the likelihood (`PreparedSample::third_party`).
        // It rests on the frequencies, so the draw names them
        // (`allele_frequencies` below), and the flag says where q was a guess.
        let third_party_modelled = mode == Some(EstimationMode::TwoGenome)
            && estimate.is_some()
            && contamination.is_some_and(|c| c.resolved());
        if third_party_modelled
            && let Some(c) = contamination
            && let Some(e) = estimate.as_mut()
        {
            e.error_rate = c.error_rate_at(c.fraction);
            let [lo, hi] = c.bounds();
            let unknown = frequencies.as_ref().map_or(0, |f| f.unknown);
            let guessed = if unknown > 0 {
                format!(" (q taken as 0.5 at {unknown} SNPs of unknown frequency)")
            } else {
                String::new()
            };
            flags.push(format!(
                "third-party DNA {:.2}% [{:.2}, {:.2}] modelled from the allele frequencies{guessed}: its reads are not counted as donor DNA, and the interval spans its range",
                100.0 * c.fraction,
                100.0 * lo,
                100.0 * hi
            ));
        }
        let second_donor = match (two_donor, estimate.as_mut()) {
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
        // A draw with no SNP that joins the genotypes, or none that tells donor
        // from recipient, has no estimate: its "0.0000" would read as a
        // measured zero. QC says why.
        let uninformative =
            refused.is_none() && (accounting.snps_used == 0 || accounting.informative_snps == 0);
        // CLSI EP17: a result at or below the limit of blank is "not detected",
        // whatever the presence test says; one below the LoD is not quantified.
        let limit = match (limits, mode) {
            (Some(table), Some(mode)) => table.lookup(modelled[d.transplant_index], mode),
            _ => None,
        };
        if let (Some(l), Some(e), false) = (limit, estimate.as_mut(), uninformative)
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
        let used = modelled[d.transplant_index];
        if t.relationship == Relationship::Unknown {
            flags.push(format!("relationship unknown: modelled as {used}"));
        } else if t.relationship.is_related() {
            flags.push(format!(
                "related donor ({}): higher limit of detection",
                t.relationship
            ));
        }
        let (qc, qc_reasons, dd) = match (&estimate, &refused) {
            (_, Some(why)) => {
                flags.push("identical-twin donor".to_string());
                (QcVerdict::Fail, vec![why.clone()], None)
            }
            (Some(e), None) => {
                let (mut v, mut r) = assess(&accounting, e, qc);
                if mode != Some(EstimationMode::TwoGenome)
                    && let Some(why) = frequencies
                        .as_ref()
                        .and_then(SampleFrequencies::review_reason)
                {
                    r.push(why);
                    v = v.max(QcVerdict::Review);
                }
                if !shifted.is_empty() {
                    let excluded = accounting.allele_shift_excluded;
                    let share = excluded as f64 / (accounting.snps_used + excluded).max(1) as f64;
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
                let dd = s.total_cfdna.map(|(value, unit)| {
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
        let (estimate, dd) = if uninformative {
            (None, None)
        } else {
            (estimate, dd)
        };
        samples.push(SampleResult {
            sample_id: s.sample_id.clone(),
            transplant_id: s.transplant_id.clone(),
            collected: s.collected,
            days_post_transplant: days,
            mode,
            estimate,
            snps: accounting,
            qc,
            qc_reasons,
            flags,
            dd_cfdna_cp_per_ml: dd,
            contamination,
            second_donor,
            limit_of_blank: limit.map(|l| l.limit_of_blank),
            limit_of_detection: limit.and_then(|l| l.limit_of_detection),
            allele_frequencies: frequencies
                .as_ref()
                .filter(|_| mode != Some(EstimationMode::TwoGenome) || third_party_modelled)
                .map(SampleFrequencies::describe),
            frequencies,
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

/// Keep what the relationship check needs of a freshly estimated draw:
/// genotype-based when the donor was typed (the two-genome draw with the most
/// SNPs, the later one on a tie), else plasma-based over the recipient-only
/// draws with detectable donor DNA that passed the depth bar, with the first
/// reason to doubt them (unmeasured frequencies, a poor read-model fit).
fn collect_evidence(
    ev: &mut CheckEvidence,
    t: &crate::formats::sheet::TransplantRow,
    s: &PreparedSample,
    e: &FractionEstimate,
    qc: &QcThresholds,
) {
    if t.relationship == Relationship::IdenticalTwin {
        return;
    }
    match s.mode {
        Some(EstimationMode::TwoGenome)
            if ev
                .typed
                .as_ref()
                .is_none_or(|(b, _)| s.inputs.len() >= b.len()) =>
        {
            let measured = s
                .frequencies
                .as_ref()
                .is_some_and(SampleFrequencies::measured);
            ev.typed = Some((s.inputs.clone(), measured));
        }
        Some(EstimationMode::RecipientOnly)
            if e.detected
                && e.donor_fraction >= MIN_PLASMA_FRACTION
                && s.accounting.mean_depth >= 10.0 =>
        {
            if ev.frequencies_unmeasured.is_none()
                && let Some(f) = s.frequencies.as_ref().filter(|f| !f.measured())
            {
                ev.frequencies_unmeasured = Some(format!(
                    "it rests on the population frequencies, and these are not measured ({})",
                    f.describe()
                ));
            }
            let worst = e
                .dispersion
                .iter()
                .copied()
                .filter(|p| p.is_finite())
                .fold(f64::NAN, f64::max);
            if ev.poor_fit.is_none() && worst > qc.max_dispersion_review {
                ev.poor_fit = Some(format!(
                    "the read model fits draw {} poorly (dispersion {worst:.1} > {})",
                    s.row.sample_id, qc.max_dispersion_review
                ));
            }
            ev.plasma.push(OwnedPlasmaDraw {
                inputs: s.inputs.clone(),
                error_rate: s.model.error_rate,
                weights: s.model.snps.iter().map(|x| x.weight).collect(),
                molecular: s.model.molecular,
                spectrum: s.spectra.first().copied().unwrap_or(Spectrum::FLAT),
            });
        }
        _ => {}
    }
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

/// Regional allele-balance shifts in a draw's recipient (model::allele_shift),
/// found with the draw's fitted read model.
fn find_allele_shifts(
    s: &PreparedSample,
    e: &FractionEstimate,
    qc: &QcThresholds,
) -> Vec<ShiftedRegion> {
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
    // A large shift can be absorbed by the fit itself (a pure recipient read
    // at 46% with a dispersion of 370): when the fit is poor or at the search
    // limit, look again as if no donor DNA were there.
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
}

/// Leave the SNPs of `regions` (indices into the draw's inputs) out of the
/// draw and rebuild its model under `kappa`.
fn exclude_shifted(s: &mut PreparedSample, regions: &[ShiftedRegion], kappa: Kappa) {
    let excluded: std::collections::HashSet<usize> = regions
        .iter()
        .flat_map(|r| r.snps.iter().copied())
        .collect();
    let keep = |k: &usize| !excluded.contains(k);
    s.inputs = std::mem::take(&mut s.inputs)
        .into_iter()
        .enumerate()
        .filter(|(k, _)| keep(k))
        .map(|(_, x)| x)
        .collect();
    s.sites = std::mem::take(&mut s.sites)
        .into_iter()
        .enumerate()
        .filter(|(k, _)| keep(k))
        .map(|(_, x)| x)
        .collect();
    s.accounting.allele_shift_excluded = excluded.len();
    s.accounting.snps_used = s.accounting.snps_used.saturating_sub(excluded.len());
    // Third-party DNA from the SNPs that remain.
    s.estimate_contamination();
    let spectrum = s.spectra.first().copied().unwrap_or(Spectrum::FLAT);
    s.model = SampleModel::from_inputs(s.model.mode, &s.model_inputs(), kappa, spectrum);
}

/// Genotype-based when the donor was typed, else plasma-based over the draws
/// with detectable donor DNA that passed QC. None in genotype-free mode.
fn relationship_check(
    t: &crate::formats::sheet::TransplantRow,
    ev: &CheckEvidence,
) -> Option<RelationshipCheck> {
    if t.relationship == Relationship::IdenticalTwin {
        return None;
    }
    if let Some((inputs, measured)) = &ev.typed {
        return check_genotypes(t.relationship, inputs, *measured);
    }
    let draws: Vec<PlasmaDraw> = ev
        .plasma
        .iter()
        .map(|d| PlasmaDraw {
            inputs: &d.inputs,
            error_rate: d.error_rate,
            weights: &d.weights,
            molecular: d.molecular,
            spectrum: d.spectrum,
        })
        .collect();
    check_plasma(
        t.relationship,
        &draws,
        &PlasmaEvidence {
            frequencies_unmeasured: ev.frequencies_unmeasured.clone(),
            poor_fit: ev.poor_fit.clone(),
        },
    )
}
