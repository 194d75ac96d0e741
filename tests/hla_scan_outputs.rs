//! `graftscan scan` with HLA: an ambiguous typing is resolved by
//! `--ambiguity` and every resolution is visible in hla.csv, run.json and
//! report.html; amino-acid mismatches appear per locus with their positions.
//! Uses the IPD-IMGT/HLA 3.58.0 files in ../shared (never copied into the
//! repository); missing: with CI=true a failure, otherwise a printed skip.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

fn scan(dir: &Path, out: &Path, extra: &[&str]) {
    let run = Command::new(env!("CARGO_BIN_EXE_graftscan"))
        .arg("scan")
        .arg(dir)
        .arg("--out")
        .arg(out)
        .args(["--quiet", "--backend", "cpu"])
        .args(extra)
        .output()
        .expect("graftscan runs");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

/// hla.csv rows of the first transplant, keyed by locus.
fn hla_rows(out: &Path) -> HashMap<String, HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(out.join("hla.csv")).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            let row: HashMap<String, String> = header
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.clone(), v.to_string()))
                .collect();
            (row["locus"].clone(), row)
        })
        .collect()
}

#[test]
fn an_ambiguous_typing_follows_the_policy_and_is_reported_in_every_output() {
    let Some(db) = common::shared_data("ipd-imgt-hla/3.58.0") else {
        return;
    };
    // Donor A: A*24:02 (A24, carried by the recipient) or A*24:03 (A2403, not).
    let dir = common::batch_with_hla(&[(
        "A*24:02+A*01:01^B*07:02+B*08:01^DRB1*15:01+DRB1*04:01^DQB1*06:02+DQB1*03:02",
        "A*24:02/A*24:03+A*01:01^B*07:02+B*08:01^DRB1*15:01+DRB1*03:01^DQB1*06:02+DQB1*02:01",
    )]);
    let db = db.to_str().unwrap();
    // Results outside the batch folder: graftscan never writes into an input folder.
    let outs = tempfile::tempdir().unwrap();
    for (policy, count, chosen) in [
        ("worst", "1", "A*24:03+A*01:01 (A2403+A1)"),
        ("first", "0", "A*24:02+A*01:01 (A24+A1)"),
        ("best", "0", "A*24:02+A*01:01 (A24+A1)"),
    ] {
        let out = outs.path().join(policy);
        scan(
            dir.path(),
            &out,
            &["--hla-db", db, "--ambiguity", policy, "--aa-mismatch"],
        );
        let rows = hla_rows(&out);
        assert_eq!(rows.len(), 9, "every locus listed");
        let a = &rows["A"];
        assert_eq!(a["mismatches"], count, "{policy}");
        let resolution = &a["ambiguity_resolution"];
        assert!(
            resolution.contains("A*24:02/A*24:03+A*01:01") && resolution.contains(chosen),
            "{policy}: {resolution}"
        );
        assert!(
            resolution.contains(&format!("{policy} case")),
            "{resolution}"
        );
        assert_eq!(a["ambiguity_policy"], policy);
        assert!(rows["B"]["ambiguity_resolution"].is_empty());
        // Not compared: blank counts, the reason in the notes.
        let c = &rows["C"];
        assert_eq!(
            (c["compared"].as_str(), c["mismatches"].as_str()),
            ("no", "")
        );
        assert!(
            c["notes"].contains("typed on neither side"),
            "{}",
            c["notes"]
        );
        // Amino acids: class II from the alignments, class I refused per locus.
        let drb1 = &rows["DRB1"];
        assert!(drb1["aa_mismatches"].parse::<u32>().unwrap() > 5);
        assert!(
            drb1["aa_mismatched"].contains(':'),
            "{}",
            drb1["aa_mismatched"]
        );
        assert!(a["notes"].contains("A_prot.txt"), "{}", a["notes"]);
        assert!(!a["aa_mismatch_total"].is_empty());

        let run: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
        let hla = &run["hla"];
        assert_eq!(hla["matching"]["ambiguity"], policy);
        let res = hla["ambiguity_resolutions"].as_array().unwrap();
        assert_eq!(res.len(), 1, "{res:?}");
        assert_eq!(res[0]["locus"], "A");
        assert_eq!(res[0]["resolution"].as_str().unwrap(), resolution);
        assert_eq!(
            hla["pair_kernel_disagreements"].as_array().map(Vec::len),
            Some(0)
        );
        assert!(hla["amino_acids"]["alignments"].as_array().unwrap().len() >= 2);

        let html = std::fs::read_to_string(out.join("report.html")).unwrap();
        assert!(html.contains("ambiguity resolution"));
        assert!(
            html.contains(chosen),
            "{policy}: the report names the chosen genotype"
        );
        assert!(html.contains("mismatched residues"));
    }
}
