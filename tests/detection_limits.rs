//! Limits of blank and detection (CLSI EP17) by parametric simulation.

use graftscan::compute::cpu::CpuBackend;
use graftscan::model::detection_limits::{
    LimitSettings, ReadSettingsRecord, default_levels, detection_limits, percentile_95,
};
use graftscan::model::estimate::EstimatorSettings;
use graftscan::model::{EstimationMode, Relationship};
use graftscan::simulate::make_panel;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

#[test]
fn percentile_follows_the_ep17_rank_rule() {
    let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
    // rank 0.5 + 0.95·100 = 95.5 → halfway between the 95th and 96th values.
    assert!((percentile_95(&mut v) - 95.5).abs() < 1e-12);
}

#[test]
fn related_donors_have_a_higher_limit_of_detection() {
    let panel = make_panel(&mut ChaCha8Rng::seed_from_u64(3), 400);
    let settings = LimitSettings {
        replicates: 40,
        reads: ReadSettingsRecord {
            depth: 1500.0,
            genome_copies: Some(3000.0),
            error_rate: 0.001,
        },
        mode: EstimationMode::RecipientOnly,
        levels: default_levels(0.0002, 0.02, 14),
        seed: 5,
    };
    let est = EstimatorSettings::default();
    let unrelated = detection_limits(
        &panel,
        Relationship::Unrelated,
        &settings,
        &CpuBackend,
        &est,
    )
    .unwrap();
    let sibling = detection_limits(
        &panel,
        Relationship::FullSibling,
        &settings,
        &CpuBackend,
        &est,
    )
    .unwrap();
    println!("{unrelated:?}\n{sibling:?}");
    let (lu, ls) = (
        unrelated
            .limit_of_detection
            .expect("unrelated LoD within the ladder"),
        sibling
            .limit_of_detection
            .expect("sibling LoD within the ladder"),
    );
    assert!(unrelated.limit_of_blank < lu && sibling.limit_of_blank < ls);
    assert!(ls > lu, "sibling LoD {ls} must exceed unrelated {lu}");
    // Detection rates rise with the level.
    let first = unrelated.detection_rates.first().unwrap().1;
    let last = unrelated.detection_rates.last().unwrap().1;
    assert!(last >= 0.95 && first < last);
}
