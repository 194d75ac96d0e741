//! Frequencies and relationship checks on real genotypes: the 1000 Genomes
//! matrix in ../shared/data/1000g-peddy (2,504 unrelated people, five
//! super-populations), with parents and siblings made by simulated meiosis.
//!
//! What each check covers (issue 10):
//! - unrelated pairs within and across super-populations, genotypes only, with
//!   no panel and with a panel of the wrong population: no swap alarm, not
//!   called related (frequency-free KING-robust kinship);
//! - parent–child and full-sibling pairs from real parents: named correctly;
//! - plasma-only: mixtures of real genotypes with finite-molecule reads; with a
//!   real panel unrelated pairs raise no alarm, with none the check says "not
//!   assessable";
//! - recipient-only recovery with frequencies counted from 20, 200 and 5,000
//!   people: intervals cover and widen as the count falls.
//!
//! CI runs reduced sizes; `GRAFTSCAN_EVAL_SCALE=10` runs the full sizes quoted
//! in the issue note.

mod common;

use graftscan::compute::cpu::CpuBackend;
use graftscan::model::estimate::{EstimatorSettings, FractionEstimate, estimate_batch};
use graftscan::model::frequency::{AltFrequency, Spectrum};
use graftscan::model::likelihood::SnpInput;
use graftscan::model::relatedness::{PlasmaDraw, PlasmaEvidence, check_genotypes, check_plasma};
use graftscan::model::{EstimationMode, Relationship, SampleModel};
use graftscan::simulate::cohort::{ReferenceCohort, child, choose_snps, phase};
use graftscan::simulate::{PanelSnp, ReadSettings, simulate_counts};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Binomial, Distribution};

const POPULATIONS: [&str; 5] = ["AFR", "AMR", "EAS", "EUR", "SAS"];

fn scale() -> usize {
    std::env::var("GRAFTSCAN_EVAL_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

fn cohort() -> Option<ReferenceCohort> {
    let dir = common::shared_data("1000g-peddy")?;
    Some(ReferenceCohort::load(&dir).expect("the 1000 Genomes matrix loads"))
}

fn pick_two(rng: &mut ChaCha8Rng, people: &[usize]) -> (usize, usize) {
    let a = people[rng.random_range(0..people.len())];
    loop {
        let b = people[rng.random_range(0..people.len())];
        if b != a {
            return (a, b);
        }
    }
}

/// SNP inputs of a typed pair (reads are irrelevant to the genotype check).
fn typed_pair(r: &[u8], d: &[u8], freq: &[AltFrequency]) -> Vec<SnpInput> {
    r.iter()
        .zip(d)
        .zip(freq)
        .map(|((&r, &d), &f)| SnpInput {
            alt: 0,
            depth: 0,
            recipient: Some(r),
            donor: Some(d),
            frequency: f,
            site_error: None,
        })
        .collect()
}

/// Panel frequencies at `snps` counted from `people`.
fn counted(cohort: &ReferenceCohort, snps: &[usize], people: &[usize]) -> Vec<AltFrequency> {
    snps.iter()
        .map(|&s| {
            let (a, n) = cohort.allele_count(s, people);
            AltFrequency::counted(f64::from(a), f64::from(n))
        })
        .collect()
}

#[test]
fn unrelated_pairs_of_real_people_raise_no_alarm_and_are_not_called_related() {
    let Some(cohort) = cohort() else { return };
    let mut rng = ChaCha8Rng::seed_from_u64(1001);
    let snps = choose_snps(&mut rng, &cohort.common_snps(0.2), 1000);
    let members: Vec<Vec<usize>> = POPULATIONS.iter().map(|p| cohort.members(p)).collect();
    let pairs = 200 * scale();
    let unknown = vec![AltFrequency::Unknown; snps.len()];
    let (mut flagged_no_panel, mut flagged_wrong_panel, mut likelihood_related) = (0, 0, 0);
    for i in 0..pairs {
        let within = i % 2 == 0;
        let pa = rng.random_range(0..5);
        let (a, b) = if within {
            pick_two(&mut rng, &members[pa])
        } else {
            let pb = (pa + rng.random_range(1..5)) % 5;
            (
                members[pa][rng.random_range(0..members[pa].len())],
                members[pb][rng.random_range(0..members[pb].len())],
            )
        };
        let (r, d) = (cohort.person(a, &snps), cohort.person(b, &snps));
        let no_panel = check_genotypes(
            Relationship::Unrelated,
            &typed_pair(&r, &d, &unknown),
            false,
        )
        .expect("1,000 SNPs");
        // A panel of another super-population than the recipient's.
        let wrong = &members[(pa + 2) % 5];
        let wrong_panel = check_genotypes(
            Relationship::Unrelated,
            &typed_pair(&r, &d, &counted(&cohort, &snps, wrong)),
            true,
        )
        .expect("1,000 SNPs");
        let flagged = |c: &graftscan::model::relatedness::RelationshipCheck| {
            c.contradicts_declared || c.best != Some(Relationship::Unrelated)
        };
        if flagged(&no_panel) {
            println!(
                "  flagged ({}): {}",
                if within { "within" } else { "across" },
                no_panel.describe()
            );
        }
        flagged_no_panel += usize::from(flagged(&no_panel));
        flagged_wrong_panel += usize::from(flagged(&wrong_panel));
        // What the frequency likelihood alone would have said (the old check).
        let ll_best = wrong_panel
            .loglik
            .iter()
            .max_by(|x, y| x.1.total_cmp(&y.1))
            .map(|x| x.0);
        likelihood_related += usize::from(ll_best != Some(Relationship::Unrelated));
    }
    println!(
        "unrelated pairs: {pairs} (half within, half across super-populations); alarm or called related: \
         {flagged_no_panel} without a panel, {flagged_wrong_panel} with a wrong-population panel; \
         the frequency likelihood alone would name {likelihood_related} related"
    );
    let allowed = pairs / 200; // 0.5%
    assert!(flagged_no_panel <= allowed, "{flagged_no_panel} of {pairs}");
    assert!(
        flagged_wrong_panel <= allowed,
        "{flagged_wrong_panel} of {pairs}"
    );
}

#[test]
fn parent_child_and_sibling_pairs_made_from_real_parents_are_named_correctly() {
    let Some(cohort) = cohort() else { return };
    let mut rng = ChaCha8Rng::seed_from_u64(1002);
    let snps = choose_snps(&mut rng, &cohort.common_snps(0.2), 1000);
    let unknown = vec![AltFrequency::Unknown; snps.len()];
    let families = 100 * scale();
    let (mut po_right, mut fs_right, mut alarms) = (0, 0, 0);
    let (mut po_panel_right, mut fs_panel_right) = (0, 0);
    for _ in 0..families {
        let pop = cohort.members(POPULATIONS[rng.random_range(0..5)]);
        let (m, f) = pick_two(&mut rng, &pop);
        let (pm, pf) = (
            phase(&mut rng, &cohort, m, &snps),
            phase(&mut rng, &cohort, f, &snps),
        );
        let c1 = child(&mut rng, &cohort, &pm, &pf, &snps);
        let c2 = child(&mut rng, &cohort, &pm, &pf, &snps);
        let parent = cohort.person(m, &snps);
        let po = check_genotypes(
            Relationship::ParentChild,
            &typed_pair(&c1, &parent, &unknown),
            false,
        )
        .expect("1,000 SNPs");
        let fs = check_genotypes(
            Relationship::FullSibling,
            &typed_pair(&c1, &c2, &unknown),
            false,
        )
        .expect("1,000 SNPs");
        // With the family's population as a measured panel, the likelihood may
        // choose between first and second degree.
        let panel = counted(&cohort, &snps, &pop);
        let po_panel = check_genotypes(
            Relationship::ParentChild,
            &typed_pair(&c1, &parent, &panel),
            true,
        )
        .expect("1,000 SNPs");
        let fs_panel = check_genotypes(
            Relationship::FullSibling,
            &typed_pair(&c1, &c2, &panel),
            true,
        )
        .expect("1,000 SNPs");
        po_panel_right += usize::from(po_panel.best == Some(Relationship::ParentChild));
        fs_panel_right += usize::from(fs_panel.best == Some(Relationship::FullSibling));
        alarms +=
            usize::from(po_panel.contradicts_declared) + usize::from(fs_panel.contradicts_declared);
        if po.best != Some(Relationship::ParentChild) {
            println!("  parent–child named otherwise: {}", po.describe());
        }
        if fs.best != Some(Relationship::FullSibling) {
            println!("  full siblings named otherwise: {}", fs.describe());
        }
        po_right += usize::from(po.best == Some(Relationship::ParentChild));
        fs_right += usize::from(fs.best == Some(Relationship::FullSibling));
        alarms += usize::from(po.contradicts_declared) + usize::from(fs.contradicts_declared);
        // A real parent declared unrelated is a mislabel the check must catch.
        let mislabelled = check_genotypes(
            Relationship::Unrelated,
            &typed_pair(&c1, &parent, &unknown),
            false,
        )
        .expect("1,000 SNPs");
        assert!(
            mislabelled.contradicts_declared,
            "{}",
            mislabelled.describe()
        );
    }
    println!(
        "named correctly without a panel: parent–child {po_right}/{families}, full siblings {fs_right}/{families}; \
         with the population's panel: {po_panel_right}/{families}, {fs_panel_right}/{families}; false alarms {alarms}"
    );
    let need = (0.99 * families as f64).ceil() as usize;
    assert!(po_panel_right >= need && fs_panel_right >= need);
    // Without frequencies KING's cut-off alone misnames the full siblings whose
    // realised sharing falls below 0.177 (1–2% at 1,000 SNPs).
    let need_no_panel = (0.97 * families as f64).floor() as usize;
    assert!(po_right >= need && fs_right >= need_no_panel);
    assert_eq!(alarms, 0);
}

/// A plasma draw of `recipient` with donor DNA of `donor` at fraction `f`:
/// finite-molecule reads (3,000 genome copies, 1,000×, error 0.1%).
fn plasma_counts(
    rng: &mut ChaCha8Rng,
    recipient: &[u8],
    donor: &[u8],
    f: f64,
    genome_copies: Option<f64>,
) -> Vec<[u32; 2]> {
    let panel: Vec<PanelSnp> = (0..recipient.len())
        .map(|i| PanelSnp {
            chrom: "1".into(),
            pos: i as u64,
            ref_base: 'A',
            alt_base: 'G',
            alt_frequency: 0.5,
            capture: 1.0,
        })
        .collect();
    let reads = ReadSettings {
        depth: 1000.0,
        genome_copies,
        error_rate: 0.001,
    };
    simulate_counts(rng, &panel, recipient, donor, f, &reads)
}

/// The recipient-only model the scan builds (every SNP with reads).
fn recipient_only(
    counts: &[[u32; 2]],
    recipient: &[u8],
    freq: &[AltFrequency],
    spectrum: Spectrum,
) -> (SampleModel, Vec<SnpInput>) {
    let inputs: Vec<SnpInput> = (0..counts.len())
        .filter(|&i| counts[i][0] + counts[i][1] > 0)
        .map(|i| SnpInput {
            alt: counts[i][1],
            depth: counts[i][0] + counts[i][1],
            recipient: Some(recipient[i]),
            donor: None,
            frequency: freq[i],
            site_error: None,
        })
        .collect();
    let kappa = Relationship::Unrelated.kappa();
    let model = SampleModel::from_inputs(EstimationMode::RecipientOnly, &inputs, kappa, spectrum);
    (model, inputs)
}

fn estimate(models: &mut [SampleModel]) -> Vec<FractionEstimate> {
    estimate_batch(models, &CpuBackend, &EstimatorSettings::default()).expect("CPU estimates")
}

#[test]
fn plasma_relationship_check_never_alarms_on_unrelated_pairs() {
    let Some(cohort) = cohort() else { return };
    let mut rng = ChaCha8Rng::seed_from_u64(1003);
    let snps = choose_snps(&mut rng, &cohort.common_snps(0.2), 1000);
    let eur = cohort.members("EUR");
    // A real panel: all 503 EUR people of the matrix.
    let panel = counted(&cohort, &snps, &eur);
    let pairs = 40 * scale();
    let fractions = [0.01, 0.02, 0.05, 0.10];
    let mut draws = Vec::new();
    for i in 0..pairs {
        let (a, b) = pick_two(&mut rng, &eur);
        let (r, d) = (cohort.person(a, &snps), cohort.person(b, &snps));
        let counts = plasma_counts(&mut rng, &r, &d, fractions[i % 4], Some(3000.0));
        draws.push(recipient_only(&counts, &r, &panel, Spectrum::FLAT));
    }
    let mut models: Vec<SampleModel> = draws.iter().map(|d| d.0.clone()).collect();
    let estimates = estimate(&mut models);
    let measured = PlasmaEvidence {
        frequencies_unmeasured: None,
        poor_fit: None,
    };
    let unmeasured = PlasmaEvidence {
        frequencies_unmeasured: Some("no population frequencies".into()),
        poor_fit: None,
    };
    let (mut checked, mut alarms, mut not_assessable) = (0, 0, 0);
    for ((model, (_, inputs)), e) in models.iter().zip(&draws).zip(&estimates) {
        if !(e.detected && e.donor_fraction >= 0.01 * 0.5) {
            continue;
        }
        let weights: Vec<f64> = model.snps.iter().map(|s| s.weight).collect();
        let draw = PlasmaDraw {
            inputs,
            error_rate: model.error_rate,
            weights: &weights,
            molecular: model.molecular,
            spectrum: Spectrum::FLAT,
        };
        let with_panel = check_plasma(
            Relationship::Unrelated,
            std::slice::from_ref(&draw),
            &measured,
        )
        .expect("one draw");
        let without = check_plasma(
            Relationship::Unrelated,
            std::slice::from_ref(&draw),
            &unmeasured,
        )
        .expect("one draw");
        checked += 1;
        if with_panel.contradicts_declared {
            println!("  alarm: {}", with_panel.describe());
        }
        alarms += usize::from(with_panel.contradicts_declared);
        assert!(!without.contradicts_declared && without.best.is_none());
        not_assessable += usize::from(without.describe().contains("not assessable"));
    }
    println!(
        "plasma check, unrelated EUR pairs at 1–10% with a real EUR panel: {alarms} alarms in {checked} checked draws; \
         without a panel {not_assessable}/{checked} 'not assessable'"
    );
    assert!(
        checked >= pairs * 9 / 10,
        "only {checked} of {pairs} draws were checkable"
    );
    assert!(alarms * 200 <= checked, "{alarms} alarms in {checked}");
    assert_eq!(not_assessable, checked);
}

#[test]
fn recipient_only_intervals_cover_and_widen_as_the_frequency_sample_shrinks() {
    let Some(cohort) = cohort() else { return };
    let mut rng = ChaCha8Rng::seed_from_u64(1004);
    let snps = choose_snps(&mut rng, &cohort.common_snps(0.2), 1000);
    let eur = cohort.members("EUR");
    let truth: Vec<f64> = snps
        .iter()
        .map(|&s| {
            let (a, n) = cohort.allele_count(s, &eur);
            f64::from(a) / f64::from(n)
        })
        .collect();
    let replicates = 20 * scale();
    let fractions = [0.005, 0.01, 0.05];
    let mut widths = Vec::new();
    for people in [20u64, 200, 5000] {
        let mut models = Vec::new();
        let mut truths = Vec::new();
        for rep in 0..replicates * fractions.len() {
            let f = fractions[rep % fractions.len()];
            // The panel: the population's frequency seen in `people` people.
            let panel: Vec<AltFrequency> = truth
                .iter()
                .map(|&q| {
                    let ac = Binomial::new(2 * people, q)
                        .map(|b| b.sample(&mut rng))
                        .unwrap_or(0);
                    AltFrequency::counted(ac as f64, 2.0 * people as f64)
                })
                .collect();
            let (a, b) = pick_two(&mut rng, &eur);
            let (r, d) = (cohort.person(a, &snps), cohort.person(b, &snps));
            let counts = plasma_counts(&mut rng, &r, &d, f, None);
            models.push(recipient_only(&counts, &r, &panel, Spectrum::FLAT).0);
            truths.push(f);
        }
        let estimates = estimate(&mut models);
        let mut line = format!("frequencies from {people} people:");
        let mut covered_all = 0;
        for (k, &f) in fractions.iter().enumerate() {
            let cell: Vec<&FractionEstimate> = estimates
                .iter()
                .zip(&truths)
                .filter(|(_, t)| **t == f)
                .map(|(e, _)| e)
                .collect();
            let covered = cell
                .iter()
                .filter(|e| e.ci_low <= f && f <= e.ci_high)
                .count();
            let bias =
                cell.iter().map(|e| e.donor_fraction / f - 1.0).sum::<f64>() / cell.len() as f64;
            let width =
                cell.iter().map(|e| (e.ci_high - e.ci_low) / f).sum::<f64>() / cell.len() as f64;
            if k == 1 {
                widths.push(width);
            }
            covered_all += covered;
            line += &format!(
                "  f={:.1}%: coverage {covered}/{} bias {:+.1}% width {:.2}×f;",
                100.0 * f,
                cell.len(),
                100.0 * bias,
                width
            );
        }
        println!("{line}");
        let total = replicates * fractions.len();
        assert!(
            covered_all * 100 >= total * 85,
            "{people} people: coverage {covered_all}/{total}"
        );
    }
    // At 1%: frequencies known from 20 people give wider intervals than from
    // 200 or 5,000. The widening is small (100 replicates each: 0.134, 0.132
    // and 0.133 × f), because each SNP's frequency error enters its own
    // genotype prior and averages out over 1,000 SNPs; coverage above shows
    // the intervals are calibrated at every size. 200 and 5,000 people are
    // not told apart by the replicates' noise, so they are not ordered here.
    println!("relative interval widths at 1% (20, 200, 5000 people): {widths:?}");
    assert!(widths[0] > widths[1] && widths[0] > widths[2], "{widths:?}");
}
