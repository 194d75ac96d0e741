//! Bad input gets a clear message naming the file, line and field, exit code 2,
//! and no output files.

use std::path::Path;
use std::process::{Command, Output};

fn graftscan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_graftscan"))
        .args(args)
        .output()
        .expect("graftscan runs")
}

/// A small simulated batch to break in different ways.
fn batch() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = graftscan(&[
        "simulate",
        "--out",
        dir.path().to_str().unwrap(),
        "--snps",
        "60",
        "--transplants",
        "2",
        "--samples-per-transplant",
        "2",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from} not in {}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// Runs the scan and checks the failure contract; returns stderr.
fn fails(dir: &Path) -> String {
    let out_dir = dir.join("results");
    let out = graftscan(&[
        "scan",
        dir.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(!out_dir.exists(), "no output may be written on bad input");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn the_unbroken_batch_scans() {
    let dir = batch();
    let out = graftscan(&[
        "scan",
        dir.path().to_str().unwrap(),
        "--out",
        dir.path().join("r").to_str().unwrap(),
        "-q",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn malformed_date_names_sheet_line_and_field() {
    let dir = batch();
    edit(
        &dir.path().join("samples.csv"),
        "TX001-S2,TX001,",
        "TX001-S2,TX001,2025-13-",
    );
    let err = fails(dir.path());
    assert!(
        err.contains("samples.csv, line 3, field 'collected'"),
        "{err}"
    );
    assert!(err.contains("not a date"), "{err}");
}

#[test]
fn ragged_sheet_row_names_the_line() {
    let dir = batch();
    edit(
        &dir.path().join("transplants.csv"),
        "TX002,kidney,",
        "TX002,kidney,extra,",
    );
    let err = fails(dir.path());
    assert!(err.contains("transplants.csv, line 3"), "{err}");
}

#[test]
fn unknown_transplant_id_is_refused() {
    let dir = batch();
    edit(
        &dir.path().join("samples.csv"),
        "TX002-S1,TX002,",
        "TX002-S1,TX999,",
    );
    let err = fails(dir.path());
    assert!(
        err.contains("samples.csv, line 4, field 'transplant_id'"),
        "{err}"
    );
    assert!(err.contains("TX999"), "{err}");
}

#[test]
fn duplicate_sample_id_is_refused() {
    let dir = batch();
    edit(&dir.path().join("samples.csv"), "TX001-S2,", "TX001-S1,");
    let err = fails(dir.path());
    assert!(
        err.contains("line 3, field 'sample_id'") && err.contains("duplicate"),
        "{err}"
    );
}

#[test]
fn missing_file_is_named() {
    let dir = batch();
    std::fs::remove_file(dir.path().join("genotypes/TX002.vcf")).unwrap();
    let err = fails(dir.path());
    assert!(
        err.contains("transplants.csv, line 3, field 'recipient_genotypes'"),
        "{err}"
    );
    assert!(err.contains("not found"), "{err}");
}

#[test]
fn counts_vcf_without_ad_is_refused() {
    let dir = batch();
    let vcf = "##fileformat=VCFv4.2\n##contig=<ID=chr1>\n##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS\nchr1\t100\t.\tA\tG\t.\tPASS\t.\tGT\t0/1\n";
    std::fs::write(dir.path().join("noad.vcf"), vcf).unwrap();
    edit(
        &dir.path().join("samples.csv"),
        "counts/TX001.counts.vcf.gz,TX001-S1",
        "noad.vcf,S",
    );
    let err = fails(dir.path());
    assert!(err.contains("noad.vcf") && err.contains("AD"), "{err}");
}

#[test]
fn alt_count_above_depth_names_line_and_field() {
    let dir = batch();
    let tsv = "chrom\tpos\tref\talt\tref_count\talt_count\tdepth\nchr1\t100\tA\tG\t90\t10\t100\nchr1\t200\tC\tT\t5\t120\t100\n";
    std::fs::write(dir.path().join("counts.tsv"), tsv).unwrap();
    edit(
        &dir.path().join("samples.csv"),
        "counts/TX001.counts.vcf.gz,TX001-S1",
        "counts.tsv,",
    );
    let err = fails(dir.path());
    assert!(
        err.contains("counts.tsv, line 3, field 'alt_count'"),
        "{err}"
    );
}

#[test]
fn vcf_ad_above_dp_names_line_and_field() {
    let dir = batch();
    let vcf = "##fileformat=VCFv4.2\n##contig=<ID=chr1>\n##FORMAT=<ID=AD,Number=R,Type=Integer,Description=\"d\">\n##FORMAT=<ID=DP,Number=1,Type=Integer,Description=\"d\">\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS\nchr1\t100\t.\tA\tG\t.\tPASS\t.\tAD:DP\t10,5:15\nchr1\t200\t.\tA\tG\t.\tPASS\t.\tAD:DP\t10,50:15\n";
    std::fs::write(dir.path().join("bad.vcf"), vcf).unwrap();
    edit(
        &dir.path().join("samples.csv"),
        "counts/TX001.counts.vcf.gz,TX001-S1",
        "bad.vcf,S",
    );
    let err = fails(dir.path());
    assert!(err.contains("bad.vcf, line 7, field 'FORMAT/AD'"), "{err}");
}

#[test]
fn unknown_sample_column_lists_the_available_ones() {
    let dir = batch();
    edit(
        &dir.path().join("samples.csv"),
        "TX001.counts.vcf.gz,TX001-S1",
        "TX001.counts.vcf.gz,NOPE",
    );
    let err = fails(dir.path());
    assert!(
        err.contains("field 'counts_sample'") && err.contains("NOPE") && err.contains("TX001-S1"),
        "{err}"
    );
}

#[test]
fn unknown_organ_and_relationship_are_refused() {
    let dir = batch();
    edit(&dir.path().join("transplants.csv"), ",kidney,", ",kidnee,");
    let err = fails(dir.path());
    assert!(
        err.contains("field 'organ'") && err.contains("kidnee"),
        "{err}"
    );
}

#[test]
fn identical_twin_donor_is_refused_with_a_clear_message() {
    let dir = batch();
    let t = dir.path().join("transplants.csv");
    let text = std::fs::read_to_string(&t).unwrap();
    std::fs::write(&t, text.replace(",unrelated,", ",identical_twin,")).unwrap();
    let out_dir = dir.path().join("r");
    let out = graftscan(&[
        "scan",
        dir.path().to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let samples = std::fs::read_to_string(out_dir.join("samples.csv")).unwrap();
    let twin_rows: Vec<&str> = samples
        .lines()
        .filter(|l| l.contains("identical-twin"))
        .collect();
    assert!(!twin_rows.is_empty(), "{samples}");
    for row in twin_rows {
        assert!(
            row.contains("FAIL")
                && row.contains("not_identifiable")
                && row.contains("not identifiable")
        );
    }
}
