//! CPU twin vs GPU kernel for `hla_mismatch`, both shapes, exact equality
//! (integer counts). Runs on whatever adapter wgpu finds (lavapipe in CI).
//! No adapter: with CI=true the test fails, otherwise it prints why and skips.

use graftscan::compute::cpu::hla_mismatch::{CpuHlaMismatch, HlaBatch, HlaSegment, collect_counts};
use graftscan::compute::gpu::hla_mismatch::{GpuHlaMismatch, adapter_label, select_adapter};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn gpu() -> Option<GpuHlaMismatch> {
    let Some(adapter) = select_adapter(false, None) else {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("no wgpu adapter found (CI=true: lavapipe must be installed)");
        }
        eprintln!("skipping: no wgpu adapter (install mesa-vulkan-drivers for lavapipe)");
        return None;
    };
    eprintln!("adapter: {}", adapter_label(&adapter.get_info()));
    Some(GpuHlaMismatch::new(&adapter).expect("device opens"))
}

fn random_rows(rng: &mut ChaCha8Rng, rows: usize, words: usize, density: u32) -> Vec<u32> {
    (0..rows * words)
        .map(|_| {
            let mut x = 0u32;
            for _ in 0..density {
                x |= 1 << rng.random_range(0..32);
            }
            x
        })
        .collect()
}

fn segments() -> Vec<HlaSegment> {
    vec![
        HlaSegment::single(0, 0, 2),
        HlaSegment::single(2, 2, 3),
        HlaSegment::union((5, 5), (6, 6), 1),
        HlaSegment::single(0, 4, 7),
    ]
}

#[test]
fn gpu_matches_cpu_for_every_donor_against_every_recipient() {
    let Some(gpu) = gpu() else { return };
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let (words, n_r, n_d) = (11, 37, 301);
    let recipients = random_rows(&mut rng, n_r, words, 6);
    let donors = random_rows(&mut rng, n_d, words, 4);
    let segs = segments();
    let batch = HlaBatch {
        recipients: &recipients,
        recipient_words: words,
        donors: &donors,
        donor_words: words,
        segments: &segs,
        paired: false,
    };
    let cpu = collect_counts(&CpuHlaMismatch::default(), &batch).unwrap();
    let on_gpu = collect_counts(&gpu, &batch).unwrap();
    assert_eq!(cpu.len(), n_r * n_d * segs.len());
    assert!(cpu.iter().any(|&c| c > 0));
    assert_eq!(cpu, on_gpu);
}

#[test]
fn gpu_matches_cpu_for_transplant_pairs() {
    let Some(gpu) = gpu() else { return };
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let (words, n) = (11, 500);
    let recipients = random_rows(&mut rng, n, words, 6);
    let donors = random_rows(&mut rng, n, words, 4);
    let segs = segments();
    let batch = HlaBatch {
        recipients: &recipients,
        recipient_words: words,
        donors: &donors,
        donor_words: words,
        segments: &segs,
        paired: true,
    };
    let cpu = collect_counts(&CpuHlaMismatch::default(), &batch).unwrap();
    assert_eq!(cpu, collect_counts(&gpu, &batch).unwrap());
}

#[test]
fn pools_larger_than_one_binding_are_chunked_with_identical_results() {
    let Some(mut gpu) = gpu() else { return };
    // 4 KiB bindings: 1,000 donors × 11 words no longer fit in one dispatch,
    // and neither do the counts of one recipient row.
    gpu.max_binding_bytes = Some(4096);
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let (words, n_r, n_d) = (11, 9, 1000);
    let recipients = random_rows(&mut rng, n_r, words, 6);
    let donors = random_rows(&mut rng, n_d, words, 4);
    let segs = segments();
    for paired in [false, true] {
        let (recipients, n_rows) = if paired {
            (random_rows(&mut rng, n_d, words, 6), n_d)
        } else {
            (recipients.clone(), n_r)
        };
        let batch = HlaBatch {
            recipients: &recipients,
            recipient_words: words,
            donors: &donors,
            donor_words: words,
            segments: &segs,
            paired,
        };
        let mut chunks = 0;
        let mut sink = |_c: graftscan::compute::cpu::hla_mismatch::HlaChunk<'_>| {
            chunks += 1;
            Ok(())
        };
        use graftscan::compute::cpu::hla_mismatch::HlaMismatchBackend;
        gpu.run(&batch, &mut sink).unwrap();
        assert!(chunks > 1, "expected several dispatches, got {chunks}");
        let cpu = collect_counts(&CpuHlaMismatch::default(), &batch).unwrap();
        assert_eq!(cpu.len() % n_rows, 0);
        assert_eq!(
            cpu,
            collect_counts(&gpu, &batch).unwrap(),
            "paired={paired}"
        );
    }
}

#[test]
fn transplant_pairs_screen_identically_on_cpu_and_gpu() {
    use graftscan::hla::eplets::{EpletGroup, EpletTable, WiebeThresholds};
    use graftscan::hla::mismatch::MatchSettings;
    use graftscan::hla::screen::{ScreenReference, pair_loads};
    use graftscan::hla::typing::Typing;
    let Some(gpu) = gpu() else { return };
    let table = EpletTable::from_rows(
        "synthetic 3.1",
        [
            ("A*90:01", "1A", EpletGroup::ClassI, true),
            ("B*90:02", "3B", EpletGroup::ClassI, false),
            ("DRB1*90:02", "11DR", EpletGroup::Dr, true),
            ("DQB1*90:02", "31QB", EpletGroup::Dq, true),
            ("DQA1*90:02", "21QA", EpletGroup::Dq, false),
        ],
    )
    .unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let typing = |rng: &mut ChaCha8Rng| {
        let mut pick = |g: &str| format!("{g}*90:0{}", rng.random_range(1..=3));
        Typing::parse_gl(&format!(
            "{}+{}^{}^{}+{}^{}^{}+{}",
            pick("A"),
            pick("A"),
            pick("B"),
            pick("DRB1"),
            pick("DRB1"),
            pick("DQA1"),
            pick("DQB1"),
            pick("DQB1")
        ))
        .unwrap()
    };
    let people: Vec<(Typing, Typing)> = (0..300)
        .map(|_| (typing(&mut rng), typing(&mut rng)))
        .collect();
    let pairs: Vec<(&Typing, &Typing)> = people.iter().map(|(r, d)| (r, d)).collect();
    let settings = MatchSettings {
        direction: graftscan::hla::mismatch::Direction::Bidirectional,
        homozygous_count: 2,
        ..MatchSettings::default()
    };
    let th = WiebeThresholds::hlamatchmaker_3_1();
    let reference = ScreenReference {
        eplets: Some(&table),
        thresholds: Some(&th),
        ..ScreenReference::default()
    };
    let cpu = pair_loads(&pairs, reference, &settings, &CpuHlaMismatch::default()).unwrap();
    let on_gpu = pair_loads(&pairs, reference, &settings, &gpu).unwrap();
    assert_eq!(cpu.len(), 300);
    assert!(cpu.iter().any(|p| p.total_mismatches() > 0));
    assert_eq!(cpu, on_gpu);
}
