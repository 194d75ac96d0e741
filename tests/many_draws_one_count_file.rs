//! A sheet of many draws pointing at one count file (issue 12, must-show 4,
//! at test size; benches/many_draws.sh measures 500 and 5,000 draws): the file
//! is parsed once, and every draw's result, estimated in chunks, equals the
//! same draw's result in a 5-draw run.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

/// Per-draw columns of samples.csv (the serial-change columns compare a draw
/// with the one before it, which differs between the two sheets).
fn rows(out: &Path) -> BTreeMap<String, Vec<String>> {
    let mut r = csv::Reader::from_path(out.join("samples.csv")).unwrap();
    let headers = r.headers().unwrap().clone();
    let skip = ["previous_sample_id", "change_pct", "change_vs_rcv"];
    let keep: Vec<usize> = (0..headers.len())
        .filter(|&i| !skip.contains(&&headers[i]))
        .collect();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            (
                rec[0].to_string(),
                keep.iter().map(|&i| rec[i].to_string()).collect(),
            )
        })
        .collect()
}

/// Draws whose models are estimated together in the big run.
const CHUNK_DRAWS: usize = 256;

fn scan(dir: &Path, out: &Path) -> serde_json::Value {
    let run = Command::new(env!("CARGO_BIN_EXE_graftscan"))
        .arg("scan")
        .arg(dir)
        .arg("--out")
        .arg(out)
        // One transplant's draws are one streamed chunk; beyond --chunk-draws
        // their models are built and estimated in groups of that many.
        .args([
            "--quiet",
            "--backend",
            "cpu",
            "--chunk-draws",
            &CHUNK_DRAWS.to_string(),
        ])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap()
}

#[test]
fn three_hundred_draws_on_one_count_file_parse_it_once_and_match_a_five_draw_run() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = tmp.path().join("sim");
    let status = Command::new(env!("CARGO_BIN_EXE_graftscan"))
        .args([
            "simulate",
            "--snps",
            "60",
            "--transplants",
            "1",
            "--samples-per-transplant",
            "4",
            "--out",
        ])
        .arg(&sim)
        .status()
        .unwrap();
    assert!(status.success());
    let n_big = CHUNK_DRAWS + 44;
    let sheet = |n: usize| {
        let mut s = String::from("sample_id,transplant_id,collected,counts,counts_sample\n");
        for i in 0..n {
            // Four columns of the one count file, cycled; day i after 2025-02-01.
            let day =
                chrono::NaiveDate::from_ymd_opt(2025, 2, 1).unwrap() + chrono::Days::new(i as u64);
            writeln!(
                s,
                "D{i:04},TX001,{day},counts/TX001.counts.vcf.gz,TX001-S{}",
                1 + i % 4
            )
            .unwrap();
        }
        s
    };
    let mut results = Vec::new();
    for (name, n) in [("five", 5), ("big", n_big)] {
        let dir = tmp.path().join(name);
        for sub in ["counts", "genotypes"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        for f in [
            "transplants.csv",
            "panel.tsv",
            "counts/TX001.counts.vcf.gz",
            "genotypes/TX001.vcf",
        ] {
            std::fs::copy(sim.join(f), dir.join(f)).unwrap();
        }
        std::fs::write(dir.join("samples.csv"), sheet(n)).unwrap();
        let out = tmp.path().join(format!("{name}-out"));
        let run_json = scan(&dir, &out);
        assert_eq!(run_json["counts"]["samples"], n);
        // The count file and the genotype VCF, each parsed once.
        assert_eq!(run_json["counts"]["genotype_and_count_files_parsed"], 2);
        results.push(rows(&out));
    }
    let (five, big) = (&results[0], &results[1]);
    assert_eq!(big.len(), n_big);
    for (id, row) in five {
        assert_eq!(&big[id], row, "draw {id}");
    }
    // Draws reading the same column repeat its result, wherever their chunk.
    for (id, row) in big {
        let i: usize = id[1..].parse().unwrap();
        let twin = format!("D{:04}", i % 4);
        // Id, date and days since transplant differ; everything measured is the same.
        let strip = |r: &Vec<String>| r[4..].to_vec();
        assert_eq!(strip(row), strip(&big[&twin]), "{id} vs {twin}");
    }
}
