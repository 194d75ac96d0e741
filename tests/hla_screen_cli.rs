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
