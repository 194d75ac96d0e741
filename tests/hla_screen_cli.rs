//! `graftscan hla screen` end to end: outputs, bad input, and CPU vs GPU
//! (identical files). Synthetic typings and a synthetic eplet table only.

use std::path::Path;

use graftscan::compute::gpu::hla_mismatch::select_adapter;

const EPLETS: &str = "# version: synthetic HLAMatchmaker 2.2\n\
allele,eplet,group,antibody_verified\n\
A*90:01,1A,ABC,yes\nA*90:02,2A,ABC,no\nB*90:01,1A,ABC,yes\nB*90:02,3B,ABC,yes\n\
DRB1*90:01,10DR,DR,yes\nDRB1*90:02,11DR,DR,no\nDRB1*90:02,12DR,DR,yes\nDRB1*90:03,13DR,DR,no\n\
DQB1*90:01,30QB,DQ,no\nDQB1*90:02,31QB,DQ,yes\nDQB1*90:02,40II,interlocus,yes\n";

fn write_pool(dir: &Path, n_recipients: usize, n_donors: usize) {
    let alleles = |i: usize, locus: &str| format!("{locus}*90:0{}", 1 + i % 3);
    let mut r = String::from("person_id,A_1,A_2,B_1,B_2,DRB1_1,DRB1_2,DQB1_1,DQB1_2\n");
    for i in 0..n_recipients {
        r.push_str(&format!(
            "R{i},{},{},{},,{},{},{},\n",
            alleles(i, "A").replace("90:03", "90:01"),
            alleles(i / 3, "A").replace("90:03", "90:02"),
            alleles(i / 2, "B").replace("90:03", "90:01"),
            alleles(i / 5, "DRB1"),
            alleles(i / 7, "DRB1"),
            alleles(i / 11, "DQB1").replace("90:03", "90:02"),
        ));
    }
    let mut d = String::from("person_id,gl_string\n");
    for i in 0..n_donors {
        d.push_str(&format!(
            "D{i},{}+{}^{}^{}+{}^{}\n",
            alleles(i / 2, "A").replace("90:03", "90:02"),
            alleles(i / 5, "A").replace("90:03", "90:01"),
            alleles(i, "B").replace("90:03", "90:02"),
            alleles(i / 3, "DRB1"),
            alleles(i / 13, "DRB1"),
            alleles(i / 4, "DQB1").replace("90:03", "90:01"),
        ));
    }
    std::fs::write(dir.join("recipients.csv"), r).unwrap();
    std::fs::write(dir.join("donors.csv"), d).unwrap();
    std::fs::write(dir.join("eplets.csv"), EPLETS).unwrap();
}

fn run(dir: &Path, out: &str, extra: &[&str]) -> i32 {
    // No release: this test is about the pool mechanics (allele level).
    let mut args: Vec<String> = ["graftscan", "hla", "screen", "--quiet"]
        .into_iter()
        .map(String::from)
        .collect();
    for a in [
        "--recipients",
        dir.join("recipients.csv").to_str().unwrap(),
        "--donors",
        dir.join("donors.csv").to_str().unwrap(),
        "--eplets",
        dir.join("eplets.csv").to_str().unwrap(),
        "--out",
        dir.join(out).to_str().unwrap(),
        "--top-k",
        "3",
    ] {
        args.push(a.to_string());
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    graftscan::cli::run(args.into_iter().map(Into::into))
}

#[test]
fn screen_writes_pairs_and_top_k_per_recipient() {
    let dir = tempfile::tempdir().unwrap();
    write_pool(dir.path(), 5, 40);
    assert_eq!(run(dir.path(), "out", &["--backend", "cpu"]), 0);
    let pairs = std::fs::read_to_string(dir.path().join("out/pairs.csv")).unwrap();
    assert_eq!(pairs.lines().count(), 1 + 5 * 40);
    assert!(pairs.starts_with("recipient_id,donor_id,mm_A,"));
    assert!(pairs.lines().next().unwrap().contains("wiebe_category"));
    let top = std::fs::read_to_string(dir.path().join("out/top_donors.csv")).unwrap();
    assert_eq!(top.lines().count(), 1 + 5 * 3);
    let json = std::fs::read_to_string(dir.path().join("out/screen.json")).unwrap();
    assert!(
        json.contains("\"eplet_table_version\": \"synthetic HLAMatchmaker 2.2\""),
        "{json}"
    );
    assert!(json.contains("HLAMatchmaker 2.2"));
}

#[test]
fn bad_typings_fail_with_exit_code_2_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write_pool(dir.path(), 2, 3);
    std::fs::write(
        dir.path().join("donors.csv"),
        "person_id,A_1,A_2\nD0,A*90:01,A*01:AB\n",
    )
    .unwrap();
    assert_eq!(run(dir.path(), "bad", &["--backend", "cpu"]), 2);
    assert!(!dir.path().join("bad").exists());
}

#[test]
fn gpu_backend_writes_the_same_files_as_the_cpu() {
    if select_adapter(false, None).is_none() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("no wgpu adapter found (CI=true)");
        }
        eprintln!("skipping: no wgpu adapter");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write_pool(dir.path(), 23, 517);
    assert_eq!(run(dir.path(), "cpu", &["--backend", "cpu"]), 0);
    assert_eq!(run(dir.path(), "gpu", &["--backend", "gpu"]), 0);
    for f in ["pairs.csv", "top_donors.csv"] {
        let a = std::fs::read(dir.path().join("cpu").join(f)).unwrap();
        let b = std::fs::read(dir.path().join("gpu").join(f)).unwrap();
        assert!(a == b, "{f} differs between CPU and GPU");
    }
    let json = std::fs::read_to_string(dir.path().join("gpu/screen.json")).unwrap();
    assert!(json.contains("\"backend\""));
}

#[test]
fn gpu_backend_with_an_unknown_adapter_name_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    write_pool(dir.path(), 2, 3);
    assert_eq!(
        run(
            dir.path(),
            "x",
            &["--backend", "gpu", "--adapter", "no-such-adapter-zzz"]
        ),
        2
    );
}

/// A class II pool of real allele names from the 3.58.0 release (alignments
/// in ../shared), with ambiguous copies, nulls and single copies.
fn write_class_two_pool(dir: &Path, n_recipients: usize, n_donors: usize) {
    let drb1 = [
        "DRB1*01:01",
        "DRB1*03:01",
        "DRB1*04:01",
        "DRB1*07:01",
        "DRB1*11:01",
        "DRB1*13:01",
        "DRB1*15:01",
        "DRB1*04:04",
        "DRB1*01:91Q",
        "DRB1*14:03",
    ];
    let dqa1 = [
        "DQA1*01:01",
        "DQA1*01:02",
        "DQA1*02:01",
        "DQA1*03:01",
        "DQA1*05:01",
    ];
    let dqb1 = [
        "DQB1*02:01",
        "DQB1*03:01",
        "DQB1*03:02",
        "DQB1*05:01",
        "DQB1*05:03",
        "DQB1*06:02",
        "DQB1*06:03",
    ];
    let dpb1 = [
        "DPB1*01:01",
        "DPB1*02:01",
        "DPB1*03:01",
        "DPB1*04:01",
        "DPB1*04:02",
        "DPB1*13:01",
    ];
    let dpa1 = ["DPA1*01:03", "DPA1*02:01", "DPA1*02:02"];
    let pick = |v: &[&str], i: usize| v[i % v.len()].to_string();
    let person = |i: usize| {
        let drb1_a = pick(&drb1, i * 7 + 1);
        // Every ninth person has an ambiguous DRB1 copy, every eleventh a null DRB4.
        let drb1_a = if i.is_multiple_of(9) {
            format!("{drb1_a}/{}", pick(&drb1, i + 3))
        } else {
            drb1_a
        };
        let drb345 = if i.is_multiple_of(11) {
            "^DRB4*01:03:01:02N"
        } else if i.is_multiple_of(4) {
            "^DRB4*01:01"
        } else {
            ""
        };
        format!(
            "{drb1_a}+{}{drb345}^{}+{}^{}+{}^{}^{}+{}",
            pick(&drb1, i * 3 + 5),
            pick(&dqa1, i),
            pick(&dqa1, i / 2 + 1),
            pick(&dqb1, i * 5),
            pick(&dqb1, i / 3),
            pick(&dpa1, i),
            pick(&dpb1, i * 2),
            pick(&dpb1, i / 5 + 2),
        )
    };
    let mut r = String::from("person_id,gl_string\n");
    for i in 0..n_recipients {
        r.push_str(&format!("R{i},{}\n", person(i * 13 + 2)));
    }
    let mut d = String::from("person_id,gl_string\n");
    for i in 0..n_donors {
        d.push_str(&format!("D{i},{}\n", person(i)));
    }
    std::fs::write(dir.join("recipients.csv"), r).unwrap();
    std::fs::write(dir.join("donors.csv"), d).unwrap();
}

#[test]
fn amino_acid_screen_writes_the_same_bytes_on_cpu_and_gpu() {
    let db = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/ipd-imgt-hla/3.58.0");
    if !db.join("alignments").is_dir() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{} missing (CI=true)", db.display());
        }
        eprintln!("skipping: {} not found", db.display());
        return;
    }
    let gpu_present = select_adapter(false, None).is_some();
    if !gpu_present && std::env::var("CI").as_deref() == Ok("true") {
        panic!("no wgpu adapter found (CI=true)");
    }
    let dir = tempfile::tempdir().unwrap();
    write_class_two_pool(dir.path(), 31, 407);
    let run = |out: &str, extra: &[&str]| -> i32 {
        let mut args: Vec<String> = ["graftscan", "hla", "screen", "--quiet", "--aa-mismatch"]
            .into_iter()
            .map(String::from)
            .collect();
        for a in [
            "--hla-db",
            db.to_str().unwrap(),
            "--recipients",
            dir.path().join("recipients.csv").to_str().unwrap(),
            "--donors",
            dir.path().join("donors.csv").to_str().unwrap(),
            "--out",
            dir.path().join(out).to_str().unwrap(),
            "--top-k",
            "5",
            "--rank-by",
            "amino-acids",
            "--direction",
            "bidirectional",
            "--homozygous-count",
            "2",
        ] {
            args.push(a.to_string());
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        graftscan::cli::run(args.into_iter().map(Into::into))
    };
    assert_eq!(run("cpu", &["--backend", "cpu"]), 0);
    let pairs = std::fs::read_to_string(dir.path().join("cpu/pairs.csv")).unwrap();
    assert_eq!(pairs.lines().count(), 1 + 31 * 407);
    let header: Vec<&str> = pairs.lines().next().unwrap().split(',').collect();
    let total = header.iter().position(|h| *h == "aa_total").unwrap();
    let totals: Vec<u32> = pairs
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(total).unwrap().parse().unwrap())
        .collect();
    assert!(
        totals.iter().any(|&t| t > 20),
        "amino-acid totals: {:?}",
        &totals[..10]
    );
    let notes = std::fs::read_to_string(dir.path().join("cpu/typing_notes.csv")).unwrap();
    assert!(
        notes.contains("resolved per donor–recipient pair by --ambiguity worst"),
        "{notes}"
    );
    if !gpu_present {
        eprintln!("skipping the GPU half: no wgpu adapter");
        return;
    }
    assert_eq!(run("gpu", &["--backend", "gpu"]), 0);
    for f in ["pairs.csv", "top_donors.csv", "typing_notes.csv"] {
        let a = std::fs::read(dir.path().join("cpu").join(f)).unwrap();
        let b = std::fs::read(dir.path().join("gpu").join(f)).unwrap();
        assert!(a == b, "{f} differs between CPU and GPU");
    }
}
