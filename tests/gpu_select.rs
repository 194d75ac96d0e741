//! Backend selection and the scan command on each backend.

mod common;

use std::process::Command;

use graftscan::compute::select::{BackendChoice, enumerate_adapters, pick_adapter, select_backend};

#[test]
fn cpu_backend_is_selected_without_wgpu() {
    let (backend, notes) = select_backend(BackendChoice::Cpu, None).unwrap();
    assert_eq!(backend.info().kind, "cpu");
    assert!(notes.is_empty());
}

#[test]
fn unknown_adapter_name_is_an_error_listing_the_adapters() {
    let text = match pick_adapter(enumerate_adapters(), Some("no-such-adapter-xyz"), |_| true) {
        Ok(_) => panic!("no adapter can match"),
        Err(e) => e.to_string(),
    };
    assert!(
        text.contains("no-such-adapter-xyz") && text.contains("available"),
        "{text}"
    );
}

#[test]
fn auto_never_picks_a_software_adapter() {
    let (backend, _) = select_backend(BackendChoice::Auto, None).unwrap();
    let info = backend.info();
    assert_ne!(info.kind, "software_adapter", "{info:?}");
}

fn graftscan() -> Command {
    Command::new(env!("CARGO_BIN_EXE_graftscan"))
}

#[test]
fn scan_on_gpu_names_the_adapter_and_matches_cpu() {
    if common::gpu_or_skip("scan_on_gpu_names_the_adapter").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let batch = dir.path().join("batch");
    let status = graftscan()
        .args(["simulate", "--out"])
        .arg(&batch)
        .args([
            "--transplants",
            "3",
            "--samples-per-transplant",
            "2",
            "--snps",
            "300",
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let mut results = Vec::new();
    for backend in ["cpu", "gpu"] {
        let out = dir.path().join(backend);
        let run = graftscan()
            .arg("scan")
            .arg(&batch)
            .args([
                "--quiet",
                "--backend",
                backend,
                "--bootstrap",
                "40",
                "--seed",
                "4",
                "--out",
            ])
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
        if backend == "gpu" {
            assert!(
                json["backend"]["adapter"]
                    .as_str()
                    .is_some_and(|s| !s.is_empty())
            );
            assert!(json["backend"]["device_type"].is_string());
            assert!(json["backend"]["wgpu_backend"].is_string());
        }
        let mut csv = csv::Reader::from_path(out.join("samples.csv")).unwrap();
        let headers = csv.headers().unwrap().clone();
        let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
        let (f, lo, hi) = (
            col("donor_fraction_pct"),
            col("boot_ci_low_pct"),
            col("boot_ci_high_pct"),
        );
        let rows: Vec<(String, String, String)> = csv
            .records()
            .map(|r| {
                let r = r.unwrap();
                (r[f].to_string(), r[lo].to_string(), r[hi].to_string())
            })
            .collect();
        results.push(rows);
    }
    // Fractions within 1e-4 absolute (percent columns: 1e-2 points).
    for (c, g) in results[0].iter().zip(&results[1]) {
        for (x, y) in [(&c.0, &g.0), (&c.1, &g.1), (&c.2, &g.2)] {
            if x.is_empty() {
                assert!(y.is_empty());
                continue;
            }
            let (x, y): (f64, f64) = (x.parse().unwrap(), y.parse().unwrap());
            assert!((x - y).abs() <= 1e-2, "cpu {x}% gpu {y}%");
        }
    }
}

#[test]
fn scan_without_bootstrap_has_no_bootstrap_columns_and_env_selects_cpu() {
    let dir = tempfile::tempdir().unwrap();
    let batch = dir.path().join("batch");
    assert!(
        graftscan()
            .args(["simulate", "--out"])
            .arg(&batch)
            .args([
                "--transplants",
                "2",
                "--samples-per-transplant",
                "1",
                "--snps",
                "200"
            ])
            .status()
            .unwrap()
            .success()
    );
    let out = dir.path().join("out");
    let run = graftscan()
        .env("GRAFTSCAN_BACKEND", "cpu")
        .arg("scan")
        .arg(&batch)
        .args(["--quiet", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let text = std::fs::read_to_string(out.join("samples.csv")).unwrap();
    assert!(!text.lines().next().unwrap().contains("boot_ci"));
    // GRAFTSCAN_BACKEND=cpu chose the CPU path.
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(json["backend"]["kind"], "cpu");
    assert_eq!(json["backend_selection"]["requested"], "cpu");
}
