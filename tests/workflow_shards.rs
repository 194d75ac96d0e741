//! The Snakemake workflow (workflow/Snakefile) on the demo batch in 3 shards
//! gives the same samples.csv, transplants.csv and hla.csv as one scan, byte
//! for byte; report.html differs only in its timestamp, the provenance paths
//! and command line, and the line saying it was merged. Snakemake comes from
//! `$SNAKEMAKE`, `.ci/venv/bin/snakemake` (made by `.ci/run`) or PATH; without
//! it a developer machine skips with the reason, CI (CI=true) fails.

use std::path::{Path, PathBuf};
use std::process::Command;

fn snakemake() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let candidates = [
        std::env::var_os("SNAKEMAKE").map(PathBuf::from),
        Some(root.join(".ci/venv/bin/snakemake")),
        Some(PathBuf::from("snakemake")),
    ];
    candidates.into_iter().flatten().find(|c| {
        Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

fn run_ok(cmd: &mut Command) {
    let out = cmd.output().expect("cannot start");
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// report.html without what may differ: the generation time, the provenance
/// lines with paths or the command line, and merge's own line.
fn normalised_report(path: &Path) -> String {
    let html = std::fs::read_to_string(path).unwrap();
    let mut out = String::new();
    for piece in html.split("<li>") {
        if piece.starts_with("merged by graftscan merge") {
            out.push_str(piece.split_once("</li>").map_or("", |r| r.1));
            continue;
        }
        if piece.starts_with("allele frequencies: panel file ") || piece.starts_with("command: ") {
            out.push_str("<li>…</li>");
            if let Some(rest) = piece.split_once("</li>") {
                out.push_str(rest.1);
            }
            continue;
        }
        out.push_str("<li>");
        out.push_str(piece);
    }
    // "generated YYYY-MM-DD HH:MM" (header and footer).
    let mut cleaned = String::new();
    let mut rest = out.as_str();
    while let Some(i) = rest.find("generated ") {
        cleaned.push_str(&rest[..i + "generated ".len()]);
        rest = &rest[i + "generated ".len() + "YYYY-MM-DD HH:MM".len()..];
    }
    cleaned.push_str(rest);
    // " · YYYY-MM-DD HH:MM" in the footer's version line.
    cleaned
        .split("<li>graftscan ")
        .enumerate()
        .map(|(i, p)| {
            if i == 0 {
                p.to_string()
            } else {
                let end = p.find("</li>").unwrap_or(0);
                format!("<li>graftscan …{}", &p[end..])
            }
        })
        .collect()
}

#[test]
fn snakemake_three_shards_equal_one_scan_of_the_demo_batch_byte_for_byte() {
    let Some(smk) = snakemake() else {
        let why = "snakemake not found ($SNAKEMAKE, .ci/venv/bin/snakemake or PATH; `.ci/run` installs it)";
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{why}");
        }
        eprintln!("skipping workflow test: {why}");
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let graftscan = env!("CARGO_BIN_EXE_graftscan");
    let dir = tempfile::tempdir().unwrap();
    let wf_out = dir.path().join("wf");
    run_ok(
        Command::new(&smk)
            .current_dir(dir.path())
            .arg("-s")
            .arg(root.join("workflow/Snakefile"))
            .args(["--cores", "2", "--quiet", "--config"])
            .arg(format!("batch={}", root.join("data/demo").display()))
            .arg("shards=3")
            .arg(format!("out={}", wf_out.display()))
            .arg(format!("graftscan={graftscan}")),
    );
    let single = dir.path().join("single");
    run_ok(
        Command::new(graftscan)
            .arg("scan")
            .arg(root.join("data/demo"))
            .args(["--quiet", "--out"])
            .arg(&single),
    );
    let merged = wf_out.join("merged");
    for name in ["samples.csv", "transplants.csv", "hla.csv"] {
        let a = std::fs::read(single.join(name)).unwrap();
        let b = std::fs::read(merged.join(name)).unwrap();
        assert!(a.len() > 100, "{name} is too short");
        assert!(
            a == b,
            "{name} differs between the single scan and the 3-shard merge"
        );
    }
    let a = normalised_report(&single.join("report.html"));
    let b = normalised_report(&merged.join("report.html"));
    assert!(a.len() > 10_000);
    if a != b {
        let at = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
        let show =
            |s: &str| s[at.saturating_sub(80).min(s.len())..(at + 200).min(s.len())].to_string();
        panic!(
            "report.html differs beyond timestamps and paths at byte {at}:\nsingle: {}\nmerged: {}",
            show(&a),
            show(&b)
        );
    }
    // Three shards really ran, each with part of the batch.
    for k in 0..3 {
        let s = std::fs::read_to_string(wf_out.join(format!("scans/{k}/transplants.csv"))).unwrap();
        assert_eq!(s.lines().count(), 5, "shard {k}: 4 of the 12 transplants");
    }
    // A merge missing a shard says which transplants are missing.
    let out = Command::new(graftscan)
        .arg("merge")
        .arg("--batch")
        .arg(root.join("data/demo"))
        .arg("--out")
        .arg(dir.path().join("partial"))
        .arg(wf_out.join("scans/0"))
        .arg(wf_out.join("scans/1"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("lack 4 of the batch's transplants") && err.contains("TX012"),
        "{err}"
    );
    assert!(!dir.path().join("partial").exists());
}

/// A shard whose panel leaves SNPs to the shard's own genotypes depends on the
/// sharding: `graftscan merge` refuses it, naming the shard's run.json.
#[test]
fn merge_refuses_a_shard_whose_panel_leaves_snps_to_batch_frequencies() {
    let graftscan = env!("CARGO_BIN_EXE_graftscan");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let batch = dir.path().join("batch");
    run_ok(
        Command::new("cp")
            .arg("-r")
            .arg(root.join("data/demo"))
            .arg(&batch),
    );
    // Three quarters of the panel: above the coverage floor, so the scan runs
    // and takes the rest from the batch's genotypes.
    let panel = std::fs::read_to_string(batch.join("panel.tsv")).unwrap();
    let kept: Vec<&str> = panel
        .lines()
        .enumerate()
        .filter(|(i, _)| *i == 0 || i % 4 != 0)
        .map(|(_, l)| l)
        .collect();
    std::fs::write(batch.join("panel.tsv"), kept.join("\n") + "\n").unwrap();
    let shard = dir.path().join("shard");
    run_ok(
        Command::new(graftscan)
            .args(["scan", "--quiet", "--backend", "cpu"])
            .arg(&batch)
            .arg("--out")
            .arg(&shard),
    );
    let out = Command::new(graftscan)
        .arg("merge")
        .arg("--batch")
        .arg(&batch)
        .arg("--out")
        .arg(dir.path().join("merged"))
        .arg(&shard)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("run.json") && err.contains("depend on the sharding"),
        "{err}"
    );
    assert!(!dir.path().join("merged").exists());
}
