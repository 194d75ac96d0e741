//! The README's main job end to end: `graftscan scan data/demo`, on the CPU and
//! on a GPU adapter (lavapipe in CI), with HLA from the bundled typings and
//! bead results; and HLA typings checked against the real IPD-IMGT/HLA release.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn demo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/demo")
}

fn scan(dir: &Path, out: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_graftscan"))
        .arg("scan")
        .arg(dir)
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .args(extra)
        .output()
        .expect("graftscan runs")
}

#[test]
fn demo_scan_writes_every_output_and_covers_every_risk_level() {
    let out = tempfile::tempdir().unwrap();
    let run = scan(&demo(), out.path(), &["--backend", "cpu", "--json"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    for f in [
        "samples.csv",
        "transplants.csv",
        "run.json",
        "report.html",
        "hla.csv",
        "samples.json",
        "transplants.json",
    ] {
        assert!(out.path().join(f).is_file(), "{f} missing");
    }
    let transplants = std::fs::read_to_string(out.path().join("transplants.csv")).unwrap();
    for level in [",high,", ",moderate,", ",low,", ",not assessable,"] {
        assert!(
            transplants.contains(level),
            "demo lacks a transplant at level {level}"
        );
    }
    let html = std::fs::read_to_string(out.path().join("report.html")).unwrap();
    assert!(html.contains("donor-specific antibodies"));
    let run_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("run.json")).unwrap())
            .unwrap();
    assert_eq!(run_json["backend"]["kind"], "cpu");
    // The batched HLA pair kernel agrees with the itemised comparison.
    assert_eq!(run_json["hla"]["transplants_assessed"], 12);
    assert_eq!(
        run_json["hla"]["pair_kernel_disagreements"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );
    assert!(
        run_json["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["sha256"].as_str().unwrap().len() == 64)
    );
}

#[test]
fn demo_scan_on_a_gpu_adapter_matches_the_cpu_path() {
    if common::gpu_or_skip("demo_scan_on_a_gpu_adapter_matches_the_cpu_path").is_none() {
        return;
    }
    let cpu = tempfile::tempdir().unwrap();
    let gpu = tempfile::tempdir().unwrap();
    assert!(
        scan(&demo(), cpu.path(), &["--backend", "cpu"])
            .status
            .success()
    );
    let run = scan(&demo(), gpu.path(), &["--backend", "gpu"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    for f in ["samples.csv", "transplants.csv", "hla.csv"] {
        let a = std::fs::read_to_string(cpu.path().join(f)).unwrap();
        let b = std::fs::read_to_string(gpu.path().join(f)).unwrap();
        assert_eq!(a, b, "{f} differs between the CPU and GPU backends");
    }
    let run_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(gpu.path().join("run.json")).unwrap())
            .unwrap();
    assert_ne!(run_json["backend"]["kind"], "cpu");
    assert!(run_json["backend"]["adapter"].is_string());
    // The demo mixes two-genome draws (binomial) with recipient-only and
    // genotype-free ones (beta-binomial): every grid pass ran on the adapter,
    // and run.json says so.
    let passes = &run_json["draw_grid_passes"];
    assert_eq!(passes["on_cpu"], 0, "{passes}");
    assert!(passes["on_adapter"].as_u64().unwrap_or(0) > 0, "{passes}");
    let hla_kernel = run_json["hla"]["pair_kernel_backend"]
        .as_str()
        .unwrap_or_default();
    assert!(
        !hla_kernel.starts_with("CPU"),
        "HLA pair kernel ran on {hla_kernel}"
    );
    assert_eq!(
        run_json["hla"]["pair_kernel_disagreements"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );
}

#[test]
fn allele_typings_are_compared_at_antigen_level_with_the_ipd_release() {
    let Some(db) = common::shared_data("ipd-imgt-hla/3.58.0") else {
        return;
    };
    let dir = common::batch_with_hla(&[(
        "A*02:01+A*24:02^B*07:02+B*44:02^DRB1*15:01+DRB1*04:01",
        "A*02:01+A*01:01^B*08:01+B*44:02^DRB1*03:01+DRB1*04:01",
    )]);
    // Results outside the batch folder: graftscan never writes into an input folder.
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("r");
    let run = scan(
        dir.path(),
        &out,
        &["--backend", "cpu", "--hla-db", db.to_str().unwrap()],
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let hla = std::fs::read_to_string(out.join("hla.csv")).unwrap();
    // Donor A1, B8, DR17 are absent in the recipient: 3/6 at antigen level.
    assert!(hla.contains(",antigen,"), "{hla}");
    assert!(
        hla.contains("A1") && hla.contains("B8") && hla.contains("DR17"),
        "{hla}"
    );
    assert!(hla.contains("3.58.0"), "release recorded per row: {hla}");
    let run_json = std::fs::read_to_string(out.join("run.json")).unwrap();
    assert!(run_json.contains("3.58.0"));
    assert!(
        run_json.contains("\"pair_kernel_disagreements\": []"),
        "{run_json}"
    );
}

#[test]
fn an_allele_absent_from_the_release_names_the_sheet_line_and_field() {
    let Some(db) = common::shared_data("ipd-imgt-hla/3.58.0") else {
        return;
    };
    let dir = common::batch_with_hla(&[(
        "A*02:01+A*99:99^B*07:02+B*44:02",
        "A*02:01+A*01:01^B*08:01+B*44:02",
    )]);
    // Results outside the batch folder: graftscan never writes into an input folder.
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("r");
    let run = scan(
        dir.path(),
        &out,
        &["--backend", "cpu", "--hla-db", db.to_str().unwrap()],
    );
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{err}");
    assert!(
        err.contains("transplants.csv, line 2, field 'recipient_hla'"),
        "{err}"
    );
    assert!(err.contains("A*99:99"), "{err}");
    assert!(!out.exists());
}

#[test]
fn results_at_or_below_the_limit_of_blank_are_not_detected() {
    let dir = tempfile::tempdir().unwrap();
    let sim = Command::new(env!("CARGO_BIN_EXE_graftscan"))
        .args([
            "simulate",
            "--snps",
            "300",
            "--transplants",
            "2",
            "--samples-per-transplant",
            "2",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(sim.status.success());
    // TX001 is a typed unrelated pair (two-genome) at ~0.3%: a LoB of 5% must
    // turn its draws into "not detected"; a LoD above the estimate is flagged.
    std::fs::write(
        dir.path().join("limits.csv"),
        "relationship,mode,replicates,limit_of_blank_pct,limit_of_detection_pct\n\
         unrelated,two_genome,120,5.0,8.0\n\
         full_sibling,two_genome,120,0.001,90.0\n",
    )
    .unwrap();
    // Results outside the batch folder: graftscan never writes into an input folder.
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("r");
    let run = scan(dir.path(), &out, &["--backend", "cpu"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let mut reader = csv::Reader::from_path(out.join("samples.csv")).unwrap();
    let h = reader.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let mut seen = 0;
    for rec in reader.records() {
        let rec = rec.unwrap();
        match &rec[col("transplant_id")] {
            "TX001" => {
                assert_eq!(&rec[col("detected")], "no");
                assert!(
                    rec[col("flags")].contains("limit of blank 5.000%"),
                    "{:?}",
                    &rec[col("flags")]
                );
                assert_eq!(&rec[col("limit_of_blank_pct")], "5.0000");
                seen += 1;
            }
            "TX002" => {
                assert_eq!(&rec[col("detected")], "yes");
                assert!(rec[col("flags")].contains("below the limit of detection 90.000%"));
                seen += 1;
            }
            _ => {}
        }
    }
    assert_eq!(seen, 4);
}
