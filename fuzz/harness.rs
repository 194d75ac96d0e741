//! Fuzz harness shared by the cargo-fuzz targets (fuzz/fuzz_targets/*.rs) and
//! the CI replay (tests/fuzz_regressions.rs). Each entry writes the fuzzer's
//! bytes where a reader expects its file(s) and runs the reader, or the whole
//! scan. An `Err` is the reader doing its job; a panic, a hang or unbounded
//! memory is a bug.
//!
//! Multi-file targets split their input at NUL bytes (text inputs never hold
//! one): `scan` takes transplants.csv, samples.csv, a count TSV, the
//! recipient's and the donor's genotype TSV, antibodies.csv, limits.csv and a
//! risk-rules TOML, in that order.

#![allow(dead_code)]

use std::io::Write as _;
use std::path::{Path, PathBuf};

use graftscan::formats::cohort::{count_cohort, read_populations};
use graftscan::formats::limits::DetectionLimitTable;
use graftscan::formats::panel::{PanelOptions, read_panel};
use graftscan::formats::read_allele_table;
use graftscan::formats::sheet::{CsvTable, read_samples, read_transplants};
use graftscan::hla::antibodies::read_antibodies;
use graftscan::hla::eplets::{EpletTable, WiebeThresholds};
use graftscan::hla::gl_string::parse_gl_string;
use graftscan::hla::nomenclature::{parse_antigen, parse_item};
use graftscan::hla::release::{Release, parse_rel_dna_ser_line};
use graftscan::hla::typing::{Typing, read_typing_csv};
use graftscan::model::error_table::ErrorTable;
use graftscan::risk::RiskConfig;

/// A fuzz target: its name (the corpus folder) and its entry point.
pub type Target = (&'static str, fn(&[u8]));

pub const TARGETS: &[Target] = &[
    ("sheets", sheets),
    ("allele_table", allele_table),
    ("panel", panel),
    ("error_table", error_table),
    ("limits", limits),
    ("risk_config", risk_config),
    ("typings", typings),
    ("antibodies", antibodies),
    ("hla_names", hla_names),
    ("eplets", eplets),
    ("ipd_release", ipd_release),
    ("cohort", cohort),
    ("scan", scan),
];

thread_local! {
    static SCRATCH: tempfile::TempDir = tempfile::tempdir().expect("a temporary folder");
}

/// A per-thread scratch folder, reused across runs (one file system call per
/// written file, not a new folder per run).
fn scratch() -> PathBuf {
    SCRATCH.with(|d| d.path().to_path_buf())
}

/// Write a scratch file. A failure here is the machine's (disk full, a
/// cleaned /tmp), not the reader's: the run is skipped rather than reported
/// as a crash of the code under test.
#[must_use]
fn put(path: &Path, bytes: &[u8]) -> bool {
    path.parent()
        .is_none_or(|p| std::fs::create_dir_all(p).is_ok())
        && std::fs::write(path, bytes).is_ok()
}

fn sections(data: &[u8], n: usize) -> Vec<&[u8]> {
    let mut out: Vec<&[u8]> = data.splitn(n, |&b| b == 0).collect();
    out.resize(n, &[]);
    out
}

fn bgzip(bytes: &[u8]) -> Vec<u8> {
    let mut w = noodles_bgzf::io::Writer::new(Vec::new());
    w.write_all(bytes).expect("in-memory write");
    w.finish().expect("in-memory bgzip")
}

pub fn sheets(data: &[u8]) {
    let s = sections(data, 2);
    let dir = scratch().join("sheets");
    let (t, sm) = (dir.join("transplants.csv"), dir.join("samples.csv"));
    if !put(&t, s[0]) {
        return;
    }
    if !put(&sm, s[1]) {
        return;
    }
    let _ = CsvTable::read(&t, Some(b'#'));
    if let Ok(rows) = read_transplants(&t) {
        let _ = read_samples(&sm, &rows);
    }
}

/// First byte: 0 TSV, 1 VCF, 2 raw bytes as .vcf.gz, 3 bgzipped VCF, 4 bgzipped TSV.
pub fn allele_table(data: &[u8]) {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    let dir = scratch().join("allele_table");
    let (name, bytes) = match kind % 5 {
        0 => ("x.tsv", rest.to_vec()),
        1 => ("x.vcf", rest.to_vec()),
        2 => ("x.vcf.gz", rest.to_vec()),
        3 => ("x.vcf.gz", bgzip(rest)),
        _ => ("x.tsv", bgzip(rest)),
    };
    let p = dir.join(name);
    if !put(&p, &bytes) {
        return;
    }
    if let Ok(t) = read_allele_table(&p) {
        // Every accessor on every cell the table claims to hold.
        for i in 0..t.sites.len() {
            for c in 0..t.samples.len() {
                let _ = (t.genotype(i, c), t.depth(i, c));
            }
        }
        let _ = t.sample_index("");
    }
}

pub fn panel(data: &[u8]) {
    let p = scratch().join("panel.tsv");
    if !put(&p, data) {
        return;
    }
    let _ = read_panel(&p, &PanelOptions::default());
}

pub fn error_table(data: &[u8]) {
    let p = scratch().join("errors.tsv");
    if !put(&p, data) {
        return;
    }
    if let Ok(t) = ErrorTable::read(&p) {
        for site in t.sites.keys() {
            let _ = t.rates(site);
        }
    }
}

pub fn limits(data: &[u8]) {
    let p = scratch().join("limits.csv");
    if !put(&p, data) {
        return;
    }
    let _ = DetectionLimitTable::read(&p);
}

pub fn risk_config(data: &[u8]) {
    let p = scratch().join("rules.toml");
    if !put(&p, data) {
        return;
    }
    if let Ok(c) = RiskConfig::load(&p) {
        let _ = c.rcv.limits();
        let _ = c.to_toml();
    }
}

pub fn typings(data: &[u8]) {
    let p = scratch().join("typings.csv");
    if !put(&p, data) {
        return;
    }
    let _ = read_typing_csv(&p, None);
}

pub fn antibodies(data: &[u8]) {
    let p = scratch().join("antibodies.csv");
    if !put(&p, data) {
        return;
    }
    let _ = read_antibodies(&p, 1000.0);
}

pub fn hla_names(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = Typing::parse_gl(&text);
    let _ = parse_gl_string(&text);
    let _ = parse_item(&text);
    let _ = parse_antigen(&text);
    for line in text.lines() {
        let _ = parse_rel_dna_ser_line(line);
    }
}

pub fn eplets(data: &[u8]) {
    let p = scratch().join("eplets.csv");
    if !put(&p, data) {
        return;
    }
    let _ = EpletTable::read(&p);
    let _ = WiebeThresholds::from_spec(&p.to_string_lossy());
}

/// A cohort VCF (panel building) and its populations file, split at a NUL.
pub fn cohort(data: &[u8]) {
    let s = sections(data, 2);
    let dir = scratch().join("cohort");
    let (vcf, pops) = (dir.join("cohort.vcf"), dir.join("populations.tsv"));
    if !put(&vcf, s[0]) {
        return;
    }
    if !put(&pops, s[1]) {
        return;
    }
    let populations = read_populations(&pops).ok();
    let _ = count_cohort(&vcf, populations.as_ref().map(|m| (pops.as_path(), m)));
}

/// Sections: Allelelist.txt, wmda/rel_dna_ser.txt, wmda/rel_ser_ser.txt,
/// release_version.txt, wmda/hla_nom_p.txt, wmda/hla_nom_g.txt.
pub fn ipd_release(data: &[u8]) {
    let s = sections(data, 6);
    let dir = scratch().join("ipd");
    let names = [
        "Allelelist.txt",
        "wmda/rel_dna_ser.txt",
        "wmda/rel_ser_ser.txt",
        "release_version.txt",
        "wmda/hla_nom_p.txt",
        "wmda/hla_nom_g.txt",
    ];
    for (name, bytes) in names.iter().zip(&s) {
        let p = dir.join(name);
        if bytes.is_empty() {
            let _ = std::fs::remove_file(&p);
        } else if !put(&p, bytes) {
            return;
        }
    }
    let _ = Release::load(&dir);
}

/// The whole scan, in process, on the CPU: exit code 0 or 2, never a panic.
pub fn scan(data: &[u8]) {
    let s = sections(data, 8);
    let root = scratch().join("scan");
    let batch = root.join("batch");
    let names = [
        "transplants.csv",
        "samples.csv",
        "c.tsv",
        "r.tsv",
        "d.tsv",
        "antibodies.csv",
        "limits.csv",
    ];
    for (name, bytes) in names.iter().zip(&s) {
        let p = batch.join(name);
        // Optional files are picked up from the batch folder only when present.
        if bytes.is_empty() && (*name == "antibodies.csv" || *name == "limits.csv") {
            let _ = std::fs::remove_file(&p);
        } else if !put(&p, bytes) {
            return;
        }
    }
    let out = root.join("out");
    let mut args: Vec<String> = [
        "graftscan",
        "scan",
        &batch.to_string_lossy(),
        "--out",
        &out.to_string_lossy(),
        "--force",
        "--quiet",
        "--backend",
        "cpu",
        "--grid-points",
        "20",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    if !s[7].is_empty() {
        let cfg = root.join("rules.toml");
        if !put(&cfg, s[7]) {
            return;
        }
        args.push("--config".into());
        args.push(cfg.to_string_lossy().into_owned());
    }
    let code = graftscan::cli::run(args.into_iter().map(Into::into));
    assert!(code == 0 || code == 2, "scan exit code {code}");
    if code == 0 {
        assert!(
            out.join("run.json").is_file(),
            "a successful scan writes run.json"
        );
    }
}
