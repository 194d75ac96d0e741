//! Two-donor draws on the WGSL kernel (lavapipe in CI) against the CPU twin
//! (cfdna-model.md §2.4): the (f1, f2) grid values agree to f32 precision of
//! a deviance, also when draws are split into pieces across many chunks; the
//! fitted fractions and profile-interval ends, refined on the host in f64,
//! within 1e-4; and a scan with `--backend gpu` runs every two-donor grid pass
//! on the adapter and says so in run.json.

mod common;

use common::{close, gpu_or_skip, two_donor_snps, write_two_donor_batch};
use graftscan::compute::LoglikBackend;
use graftscan::compute::cpu::CpuBackend;
use graftscan::model::Relationship;
use graftscan::model::two_donor::{TwoDonorModel, estimate_two_donor_batch, two_donor_grid};

/// Small draws (CI runs these on a software adapter): both donors typed and
/// donor 2 marginalised, fractions from near zero to 30%, unrelated and
/// sibling priors for the untyped donor.
fn models() -> Vec<TwoDonorModel> {
    let unrelated = Relationship::Unrelated.kappa();
    let sibling = Relationship::FullSibling.kappa();
    [
        (11, 0.01, 0.05, true, unrelated),
        (12, 0.05, 0.10, false, unrelated),
        (13, 0.002, 0.0, true, unrelated),
        (14, 0.0, 0.03, false, sibling),
        (15, 0.3, 0.2, false, unrelated),
    ]
    .into_iter()
    .map(|(seed, f1, f2, typed, kappa2)| {
        TwoDonorModel::new(&two_donor_snps(seed, 300, f1, f2, typed), unrelated, kappa2)
    })
    .collect()
}

#[test]
fn two_donor_grids_on_the_adapter_match_the_cpu_twin_in_one_chunk_or_many() {
    let Some(mut gpu) =
        gpu_or_skip("two_donor_grids_on_the_adapter_match_the_cpu_twin_in_one_chunk_or_many")
    else {
        return;
    };
    let mut models = models();
    for (s, m) in models.iter_mut().enumerate() {
        m.error_rate = [1e-3, 2e-4, 5e-3, 1e-3, 3e-5][s];
    }
    let grid = two_donor_grid();
    // The last draw is not asked for: it gets an empty row and no count.
    let mut grids = vec![grid.clone(); models.len()];
    grids[4].clear();
    let cpu = CpuBackend.two_donor_loglik_grids(&models, &grids).unwrap();
    let one = gpu.two_donor_loglik_grids(&models, &grids).unwrap();
    assert_eq!(gpu.two_donor_draws_on_adapter(), 4);
    gpu.take_timings();
    // Pieces of a few hundred bytes: every draw is split across chunks and
    // its partial sums are added on the host.
    gpu.max_chunk_bytes = Some(4096);
    gpu.max_samples_per_chunk = Some(2);
    let many = gpu.two_donor_loglik_grids(&models, &grids).unwrap();
    assert!(gpu.take_timings().chunks > 2 * models.len());
    assert_eq!(gpu.two_donor_draws_on_adapter(), 8);
    for got in [&one, &many] {
        assert_eq!(got[4], Vec::<f64>::new());
        for (s, (a, b)) in cpu.iter().zip(got).enumerate() {
            assert_eq!(a.len(), b.len(), "draw {s}");
            // Values across the simplex reach ~1e5 below the maximum; the
            // f32 deviance sums hold them to ~1e-5 relative.
            let scale = a.iter().fold(1.0f64, |m, v| m.max(v.abs()));
            for (j, (x, y)) in a.iter().zip(b).enumerate() {
                assert!(
                    close(*x, *y, 2e-5, 2e-6 * scale),
                    "draw {s} point {:?}: cpu {x} gpu {y}",
                    grid[j]
                );
            }
        }
    }
}

#[test]
fn two_donor_fits_report_the_same_fractions_and_intervals_on_both_backends() {
    let Some(gpu) =
        gpu_or_skip("two_donor_fits_report_the_same_fractions_and_intervals_on_both_backends")
    else {
        return;
    };
    let mut a = models();
    let mut b = a.clone();
    let cpu = estimate_two_donor_batch(&mut a, &CpuBackend).unwrap();
    let got = estimate_two_donor_batch(&mut b, &gpu).unwrap();
    // Three grid passes per draw (two error-rate rounds and the final fit).
    assert_eq!(gpu.two_donor_draws_on_adapter(), 3 * a.len());
    let mut worst = 0.0f64;
    for (s, (x, y)) in cpu.iter().zip(&got).enumerate() {
        for (what, p, q) in [
            ("fraction1", x.fraction1, y.fraction1),
            ("fraction2", x.fraction2, y.fraction2),
            ("interval1 low", x.interval1.0, y.interval1.0),
            ("interval1 high", x.interval1.1, y.interval1.1),
            ("interval2 low", x.interval2.0, y.interval2.0),
            ("interval2 high", x.interval2.1, y.interval2.1),
        ] {
            worst = worst.max((p - q).abs());
            assert!((p - q).abs() <= 1e-4, "draw {s} {what}: cpu {p} gpu {q}");
        }
    }
    println!("largest |cpu − gpu| over fractions and interval ends: {worst:e}");
}

#[test]
fn a_gpu_scan_runs_every_two_donor_grid_pass_on_the_adapter_and_matches_the_cpu_scan() {
    if gpu_or_skip(
        "a_gpu_scan_runs_every_two_donor_grid_pass_on_the_adapter_and_matches_the_cpu_scan",
    )
    .is_none()
    {
        return;
    }
    let batch = tempfile::tempdir().unwrap();
    write_two_donor_batch(
        batch.path(),
        &[
            two_donor_snps(21, 300, 0.02, 0.06, true),
            two_donor_snps(22, 300, 0.08, 0.01, true),
        ],
    );
    let out = tempfile::tempdir().unwrap();
    let scan = |backend: &str| {
        let dir = out.path().join(backend);
        let run = std::process::Command::new(env!("CARGO_BIN_EXE_graftscan"))
            .args(["scan", "--backend", backend, "--quiet", "--out"])
            .arg(&dir)
            .arg(batch.path())
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{backend}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        let run_json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap();
        let mut reader = csv::Reader::from_path(dir.join("samples.csv")).unwrap();
        let header = reader.headers().unwrap().clone();
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        (run_json, header, rows)
    };
    let (cpu_json, header, cpu_rows) = scan("cpu");
    let (gpu_json, _, gpu_rows) = scan("gpu");
    assert_ne!(gpu_json["backend"]["kind"], "cpu");
    assert_eq!(cpu_json["two_donor_fits"], 2);
    assert_eq!(gpu_json["two_donor_fits"], 2);
    let passes = |j: &serde_json::Value, what: &str| {
        let p = &j[what];
        (p["on_adapter"].as_u64(), p["on_cpu"].as_u64())
    };
    assert_eq!(
        passes(&cpu_json, "two_donor_grid_passes"),
        (Some(0), Some(6))
    );
    assert_eq!(
        passes(&gpu_json, "two_donor_grid_passes"),
        (Some(6), Some(0))
    );
    let (_, single_on_cpu) = passes(&gpu_json, "draw_grid_passes");
    assert_eq!(single_on_cpu, Some(0));
    // Both donors' fractions and interval ends (percent in samples.csv).
    let columns = [
        "donor_fraction_pct",
        "ci_low_pct",
        "ci_high_pct",
        "donor2_fraction_pct",
        "donor2_ci_low_pct",
        "donor2_ci_high_pct",
    ];
    for (c, g) in cpu_rows.iter().zip(&gpu_rows) {
        for name in columns {
            let at = header
                .iter()
                .position(|h| h == name)
                .unwrap_or_else(|| panic!("{name}"));
            let (x, y): (f64, f64) = (c[at].parse().unwrap(), g[at].parse().unwrap());
            assert!((x - y).abs() / 100.0 <= 1e-4, "{name}: cpu {x}% gpu {y}%");
        }
    }
}
