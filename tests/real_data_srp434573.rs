//! Real data: the SRP434573 DNA mixtures with known minor fractions
//! (../shared/data/srp434573, see its PROVENANCE.md). The minor contributor
//! plays the donor, the major one the recipient.

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

struct TruthRow {
    mixture: String,
    sample: String,
    donor: String,
    recipient: String,
    fraction: f64,
    genotype_vcf: String,
    mixture_file: String,
}

fn truth(dir: &Path) -> Vec<TruthRow> {
    let text = std::fs::read_to_string(dir.join("truth.tsv")).expect("truth.tsv readable");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect("column");
    lines
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            TruthRow {
                mixture: f[col("mixture")].into(),
                sample: f[col("sample")].into(),
                donor: f[col("donor")].into(),
                recipient: f[col("recipient")].into(),
                fraction: f[col("known_minor_fraction")].parse().expect("fraction"),
                genotype_vcf: f[col("genotype_vcf")].into(),
                mixture_file: f[col("mixture_file")].into(),
            }
        })
        .collect()
}

/// Writes sheets for the whole series (both genotypes known) and runs
/// `graftscan scan`; returns (sample_id → (estimate, detected)).
fn scan(
    dir: &Path,
    rows: &[TruthRow],
    work: &Path,
    extra: &[&str],
) -> BTreeMap<String, (f64, bool)> {
    let g = dir
        .join("genotypes")
        .canonicalize()
        .expect("genotypes folder");
    let transplants = two_genome_sheet(&g, rows);
    scan_with(&g, rows, work, &transplants, extra)
}

fn two_genome_sheet(g: &Path, rows: &[TruthRow]) -> String {
    let mut transplants = String::from(
        "transplant_id,organ,transplant_date,relationship,recipient_genotypes,recipient_sample,donor_genotypes,donor_sample\n",
    );
    let mut seen = std::collections::BTreeSet::new();
    for r in rows {
        if seen.insert(r.mixture.clone()) {
            let vcf = g.join(&r.genotype_vcf);
            writeln!(
                transplants,
                "{},kidney,2024-01-01,unrelated,{},{},{},{}",
                r.mixture,
                vcf.display(),
                r.recipient,
                vcf.display(),
                r.donor
            )
            .unwrap();
        }
    }
    transplants
}

/// Runs `graftscan scan` over the series with the given transplants sheet.
fn scan_with(
    g: &Path,
    rows: &[TruthRow],
    work: &Path,
    transplants: &str,
    extra: &[&str],
) -> BTreeMap<String, (f64, bool)> {
    scan_sheets(work, transplants, &samples_sheet(g, rows), extra)
}

/// The samples sheet of `rows`: one draw per row, counts from its mixture VCF.
fn samples_sheet<'a>(g: &Path, rows: impl IntoIterator<Item = &'a TruthRow>) -> String {
    let mut samples = String::from("sample_id,transplant_id,collected,counts,counts_sample\n");
    for r in rows {
        writeln!(
            samples,
            "{}:{},{},2024-02-01,{},{}",
            r.mixture,
            r.sample,
            r.mixture,
            g.join(&r.mixture_file).display(),
            r.sample
        )
        .unwrap();
    }
    samples
}

/// Writes both sheets into `work` and scans it.
fn scan_sheets(
    work: &Path,
    transplants: &str,
    samples: &str,
    extra: &[&str],
) -> BTreeMap<String, (f64, bool)> {
    std::fs::write(work.join("transplants.csv"), transplants).unwrap();
    std::fs::write(work.join("samples.csv"), samples).unwrap();
    // Results go outside the sheets' folder: graftscan never writes into an input folder.
    let out_root = tempfile::tempdir().unwrap();
    let out = out_root.path().join("out");
    let status = Command::new(env!("CARGO_BIN_EXE_graftscan"))
        .arg("scan")
        .arg(work)
        .arg("--out")
        .arg(&out)
        .arg("--quiet")
        .args(extra)
        .status()
        .expect("graftscan runs");
    assert!(status.success());
    let mut reader = csv::Reader::from_path(out.join("samples.csv")).expect("samples.csv");
    let headers = reader.headers().unwrap().clone();
    let idx = |n: &str| headers.iter().position(|h| h == n).expect("column");
    let (si, fi, di) = (idx("sample_id"), idx("donor_fraction_pct"), idx("detected"));
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (
                r[si].to_string(),
                (r[fi].parse::<f64>().unwrap() / 100.0, &r[di] == "yes"),
            )
        })
        .collect()
}

fn mean_abs_rel_error(
    rows: &[TruthRow],
    est: &BTreeMap<String, (f64, bool)>,
) -> (f64, BTreeMap<String, (f64, usize)>) {
    let mut per_level: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    let mut all = Vec::new();
    for r in rows.iter().filter(|r| r.fraction > 0.0) {
        let (f, _) = est[&format!("{}:{}", r.mixture, r.sample)];
        let e = (f - r.fraction).abs() / r.fraction;
        all.push(e);
        let level = per_level
            .entry(format!("{:05.2}%", 100.0 * r.fraction))
            .or_default();
        level.0 += e;
        level.1 += 1;
    }
    (all.iter().sum::<f64>() / all.len() as f64, per_level)
}

/// Recipient-only sheets restricted to the sites where the recipient carries
/// ALT (PROVENANCE.md: their inclusion does not depend on the donor), and a
/// panel with a flat ALT frequency of 0.5 for every site, because no population
/// frequencies come with this panel (the batch of four recipients is too small
/// to estimate them). Returns the transplants sheet; writes the panel.
fn recipient_only_sheets(g: &Path, rows: &[TruthRow], work: &Path) -> String {
    let mut transplants =
        String::from("transplant_id,organ,transplant_date,relationship,recipient_genotypes\n");
    let mut panel = String::from("chrom\tpos\tref\talt\taf\n");
    let mut in_panel = std::collections::BTreeSet::new();
    let mut seen = std::collections::BTreeSet::new();
    for r in rows {
        if !seen.insert(r.mixture.clone()) {
            continue;
        }
        let table = graftscan::formats::read_allele_table(&g.join(&r.genotype_vcf))
            .expect("genotype VCF readable");
        let col = table.sample_index(&r.recipient).expect("recipient column");
        let mut tsv = String::from("chrom\tpos\tref\talt\tgenotype\n");
        for (i, site) in table.sites.iter().enumerate() {
            let (rb, ab) = (site.ref_base as char, site.alt_base as char);
            if in_panel.insert((site.chrom.to_string(), site.pos, rb, ab)) {
                writeln!(panel, "{}\t{}\t{rb}\t{ab}\t0.5", site.chrom, site.pos).unwrap();
            }
            let gt = match table.genotype(i, col) {
                Some(1) => "0/1",
                Some(2) => "1/1",
                _ => continue,
            };
            writeln!(tsv, "{}\t{}\t{rb}\t{ab}\t{gt}", site.chrom, site.pos).unwrap();
        }
        let path = work.join(format!("{}.recipient_alt.tsv", r.mixture));
        std::fs::write(&path, tsv).unwrap();
        writeln!(
            transplants,
            "{},kidney,2024-01-01,unrelated,{}",
            r.mixture,
            path.display()
        )
        .unwrap();
    }
    std::fs::write(work.join("panel.tsv"), panel).unwrap();
    transplants
}

/// Genotype-free sheets: no genotypes at all, and per-sample count files (TSV)
/// holding only the sites where the recipient carries ALT, so that the site set
/// is the fair one of the recipient-only check. Returns (transplants, samples).
fn genotype_free_sheets(g: &Path, rows: &[TruthRow], work: &Path) -> (String, String) {
    let mut transplants =
        String::from("transplant_id,organ,transplant_date,relationship,recipient_genotypes\n");
    let mut samples = String::from("sample_id,transplant_id,collected,counts\n");
    let mut seen = std::collections::BTreeSet::new();
    for r in rows {
        if seen.insert(r.mixture.clone()) {
            writeln!(transplants, "{},kidney,2024-01-01,unrelated,", r.mixture).unwrap();
        }
        let genotypes = graftscan::formats::read_allele_table(&g.join(&r.genotype_vcf))
            .expect("genotype VCF readable");
        let rcol = genotypes
            .sample_index(&r.recipient)
            .expect("recipient column");
        let fair: std::collections::HashSet<_> = genotypes
            .sites
            .iter()
            .enumerate()
            .filter(|&(i, _)| matches!(genotypes.genotype(i, rcol), Some(1 | 2)))
            .map(|(_, site)| site.clone())
            .collect();
        let counts = graftscan::formats::read_allele_table(&g.join(&r.mixture_file))
            .expect("mixture VCF readable");
        let col = counts.sample_index(&r.sample).expect("sample column");
        let mut tsv = String::from("chrom\tpos\tref\talt\tref_count\talt_count\n");
        for (i, site) in counts.sites.iter().enumerate() {
            if let (true, Some([rc, ac])) = (fair.contains(site), counts.depth(i, col)) {
                let (rb, ab) = (site.ref_base as char, site.alt_base as char);
                writeln!(tsv, "{}\t{}\t{rb}\t{ab}\t{rc}\t{ac}", site.chrom, site.pos).unwrap();
            }
        }
        let path = work.join(format!("{}.{}.counts.tsv", r.mixture, r.sample));
        std::fs::write(&path, tsv).unwrap();
        writeln!(
            samples,
            "{}:{},{},2024-02-01,{}",
            r.mixture,
            r.sample,
            r.mixture,
            path.display()
        )
        .unwrap();
    }
    (transplants, samples)
}

/// Issue 6, must-show 2: recipient-only and genotype-free on the fair sites, with the
/// beta-binomial read model (default) against the plain binomial, beside the
/// two-genome figure.
#[test]
fn recipient_only_and_genotype_free_track_known_fractions_and_blanks_stay_low() {
    let Some(dir) = common::shared_data("srp434573") else {
        return;
    };
    let rows = truth(&dir);
    let g = dir.join("genotypes").canonicalize().expect("genotypes");
    let run = |extra: &[&str]| {
        let work = tempfile::tempdir().unwrap();
        let sheet = recipient_only_sheets(&g, &rows, work.path());
        scan_with(&g, &rows, work.path(), &sheet, extra)
    };
    let beta = run(&[]);
    let plain = run(&["--overdispersion", "none"]);
    let free_dir = tempfile::tempdir().unwrap();
    let (free_transplants, free_samples) = genotype_free_sheets(&g, &rows, free_dir.path());
    recipient_only_sheets(&g, &rows, free_dir.path()); // the flat panel
    let free = scan_sheets(free_dir.path(), &free_transplants, &free_samples, &[]);
    let (mare_free, levels_free) = mean_abs_rel_error(&rows, &free);
    let two_dir = tempfile::tempdir().unwrap();
    let two = scan(&dir, &rows, two_dir.path(), &[]);
    let (mare, levels) = mean_abs_rel_error(&rows, &beta);
    let (mare_plain, levels_plain) = mean_abs_rel_error(&rows, &plain);
    let (mare_two, levels_two) = mean_abs_rel_error(&rows, &two);
    for (level, (sum, n)) in &levels {
        let per = |l: &BTreeMap<String, (f64, usize)>| 100.0 * l[level].0 / l[level].1 as f64;
        println!(
            "{level}: recipient-only MARE {:.1}% (plain binomial {:.1}%), genotype-free {:.1}%, two-genome {:.1}%, over {n}",
            100.0 * sum / *n as f64,
            per(&levels_plain),
            per(&levels_free),
            per(&levels_two)
        );
    }
    println!(
        "overall: recipient-only MARE {:.2}% (plain binomial {:.2}%), genotype-free {:.2}%, two-genome {:.2}%",
        100.0 * mare,
        100.0 * mare_plain,
        100.0 * mare_free,
        100.0 * mare_two
    );
    // Blanks: below 0.2% or not detected (the plain binomial reads 0.4–3.4%).
    for r in rows.iter().filter(|r| r.fraction == 0.0) {
        let key = format!("{}:{}", r.mixture, r.sample);
        for (mode, est) in [("recipient-only", &beta), ("genotype-free", &free)] {
            let (f, detected) = est[&key];
            println!(
                "blank {} {mode}: {:.3}% detected {detected}",
                r.sample,
                100.0 * f
            );
            assert!(f < 0.002 || !detected, "{mode} blank {} read {f}", r.sample);
        }
    }
    // Bars (issue 11): no worse than the 16.1% (recipient-only) and 14.4%
    // (genotype-free) measured when the two-genome MARE was 10.7%. They
    // were once 1.6× and 1.5× the two-genome MARE, but since two-genome
    // models third-party DNA (7.7%) that ratio measures two-genome, not
    // these modes.
    assert!(
        mare <= 0.161,
        "recipient-only MARE {mare} (two-genome {mare_two})"
    );
    assert!(
        mare_free <= 0.144,
        "genotype-free MARE {mare_free} (two-genome {mare_two})"
    );
    assert!(
        mare < 0.5 * mare_plain,
        "beta-binomial must beat the binomial"
    );
    // Sample by sample the two modes agree (the nominal fractions themselves are
    // inexact by 10–20%): median |recipient-only / two-genome − 1| below 15%.
    let mut ratios: Vec<f64> = rows
        .iter()
        .filter(|r| r.fraction > 0.0)
        .map(|r| {
            let k = format!("{}:{}", r.mixture, r.sample);
            (beta[&k].0 / two[&k].0 - 1.0).abs()
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    let median = ratios[ratios.len() / 2];
    println!(
        "median |recipient-only / two-genome − 1| = {:.1}%",
        100.0 * median
    );
    assert!(median < 0.15, "median disagreement {median}");
}

#[test]
fn two_genome_estimates_track_known_mixture_fractions() {
    let Some(dir) = common::shared_data("srp434573") else {
        return;
    };
    let rows = truth(&dir);
    let work = tempfile::tempdir().unwrap();
    let quasi = scan(&dir, &rows, work.path(), &[]);
    let plain_dir = tempfile::tempdir().unwrap();
    let plain = scan(&dir, &rows, plain_dir.path(), &["--overdispersion", "none"]);
    let (mare, levels) = mean_abs_rel_error(&rows, &quasi);
    let (mare_plain, _) = mean_abs_rel_error(&rows, &plain);
    for (level, (sum, n)) in &levels {
        println!("{level}: MARE {:.1}% over {n}", 100.0 * sum / *n as f64);
    }
    println!(
        "overall MARE {:.1}% (plain binomial {:.1}%)",
        100.0 * mare,
        100.0 * mare_plain
    );
    // The brief's yardstick: a plain binomial two-genome MLE reaches about 10%
    // on this data, allomix about 16%. With third-party DNA in the model
    // (model::contamination): 7.7%, from 10.8% without.
    assert!(mare < 0.09, "two-genome MARE {mare}");
    assert!(
        mare <= mare_plain * 1.05,
        "quasi-likelihood must not lose accuracy"
    );
    // Monotone in the nominal fraction within each mixture series.
    for r in rows.iter().filter(|r| r.fraction >= 0.05) {
        let (f, detected) = quasi[&format!("{}:{}", r.mixture, r.sample)];
        assert!(detected);
        assert!(f > 0.035, "{} at {} read {f}", r.sample, r.fraction);
    }
    // Blanks (pure recipient) stay near the contamination floor (~0.05–0.2%).
    for r in rows.iter().filter(|r| r.fraction == 0.0) {
        let (f, _) = quasi[&format!("{}:{}", r.mixture, r.sample)];
        assert!(f < 0.003, "blank {} read {f}", r.sample);
    }
}

/// Issue 10, must-show 5: each SRP434573 series scanned recipient-only in a
/// batch of its own transplant with no panel. Nobody is left for batch
/// frequencies, so the outputs must say the frequencies are unknown, QC is
/// REVIEW with that reason, and no relationship alarm is raised.
#[test]
fn a_batch_of_one_without_a_panel_says_its_frequencies_are_unknown_and_raises_no_alarm() {
    let Some(dir) = common::shared_data("srp434573") else {
        return;
    };
    let rows = truth(&dir);
    let g = dir.join("genotypes").canonicalize().expect("genotypes");
    let mixtures: std::collections::BTreeSet<String> =
        rows.iter().map(|r| r.mixture.clone()).collect();
    let mut estimates = BTreeMap::new();
    for mixture in &mixtures {
        let mine: Vec<&TruthRow> = rows.iter().filter(|r| &r.mixture == mixture).collect();
        let r0 = mine[0];
        let transplants = format!(
            "transplant_id,organ,transplant_date,relationship,recipient_genotypes,recipient_sample\n{},kidney,2024-01-01,unrelated,{},{}\n",
            r0.mixture,
            g.join(&r0.genotype_vcf).display(),
            r0.recipient
        );
        let work = tempfile::tempdir().unwrap();
        let samples = samples_sheet(&g, mine.iter().copied());
        std::fs::write(work.path().join("transplants.csv"), transplants).unwrap();
        std::fs::write(work.path().join("samples.csv"), samples).unwrap();
        // Results outside the sheets' folder: graftscan never writes into an input folder.
        let out_root = tempfile::tempdir().unwrap();
        let out = out_root.path().join("out");
        let status = Command::new(env!("CARGO_BIN_EXE_graftscan"))
            .args(["scan", "--quiet", "--backend", "cpu"])
            .arg(work.path())
            .arg("--out")
            .arg(&out)
            .status()
            .expect("graftscan runs");
        assert!(status.success());
        let run: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
        let source = run["allele_frequencies"]["description"]
            .as_str()
            .unwrap_or("");
        println!("{mixture}: run.json allele_frequencies: {source}");
        assert!(source.starts_with("none"), "{source}");
        let mut reader = csv::Reader::from_path(out.join("samples.csv")).unwrap();
        let h = reader.headers().unwrap().clone();
        let col = |n: &str| h.iter().position(|x| x == n).expect("column");
        for rec in reader.records() {
            let rec = rec.unwrap();
            let (qc, reasons, freqs) = (
                &rec[col("qc")],
                &rec[col("qc_reasons")],
                &rec[col("allele_frequencies")],
            );
            assert!(
                qc == "REVIEW" || qc == "FAIL",
                "{}: QC {qc}",
                &rec[col("sample_id")]
            );
            assert!(reasons.contains("no population frequencies"), "{reasons}");
            assert!(freqs.starts_with("unknown"), "{freqs}");
            assert!(rec[col("frequency_people")].is_empty());
            estimates.insert(
                rec[col("sample_id")].to_string(),
                (
                    rec[col("donor_fraction_pct")].parse::<f64>().unwrap() / 100.0,
                    (
                        rec[col("ci_low_pct")].parse::<f64>().unwrap() / 100.0,
                        rec[col("ci_high_pct")].parse::<f64>().unwrap() / 100.0,
                    ),
                ),
            );
        }
        let transplants = std::fs::read_to_string(out.join("transplants.csv")).unwrap();
        println!("{mixture}: {}", transplants.lines().nth(1).unwrap_or(""));
        assert!(!transplants.contains("contradicted"), "{transplants}");
        assert!(!transplants.contains("swap"), "{transplants}");
    }
    let point: BTreeMap<String, (f64, bool)> = estimates
        .iter()
        .map(|(k, (f, _))| (k.clone(), (*f, true)))
        .collect();
    let (mare, _) = mean_abs_rel_error(&rows, &point);
    let covered = rows
        .iter()
        .filter(|r| r.fraction > 0.0)
        .filter(|r| {
            let (_, (lo, hi)) = estimates[&format!("{}:{}", r.mixture, r.sample)];
            lo <= r.fraction && r.fraction <= hi
        })
        .count();
    println!(
        "recipient-only, no panel, batch of one (all pair-variant sites, so ascertainment-biased): MARE {:.1}%, {covered} of {} intervals cover the nominal fraction",
        100.0 * mare,
        rows.iter().filter(|r| r.fraction > 0.0).count()
    );
}

/// Issue 13, must-show 2: the shared series gives the same fractions and
/// interval ends on the wgpu adapter (lavapipe in CI) as on the CPU in every
/// mode, with every grid pass on the adapter.
#[test]
fn every_mode_reads_the_same_on_the_adapter_as_on_the_cpu() {
    let Some(dir) = common::shared_data("srp434573") else {
        return;
    };
    if common::gpu_or_skip("every_mode_reads_the_same_on_the_adapter_as_on_the_cpu").is_none() {
        return;
    }
    let rows = truth(&dir);
    let g = dir.join("genotypes").canonicalize().expect("genotypes");
    let samples = samples_sheet(&g, &rows);
    let two_dir = tempfile::tempdir().unwrap();
    let only_dir = tempfile::tempdir().unwrap();
    let only = recipient_only_sheets(&g, &rows, only_dir.path());
    let free_dir = tempfile::tempdir().unwrap();
    let (free, free_samples) = genotype_free_sheets(&g, &rows, free_dir.path());
    recipient_only_sheets(&g, &rows, free_dir.path()); // the flat panel
    let modes = [
        (
            "two-genome",
            two_dir.path(),
            two_genome_sheet(&g, &rows),
            samples.clone(),
        ),
        ("recipient-only", only_dir.path(), only, samples.clone()),
        ("genotype-free", free_dir.path(), free, free_samples),
    ];
    for (mode, work, transplants, samples) in modes {
        std::fs::write(work.join("transplants.csv"), transplants).unwrap();
        std::fs::write(work.join("samples.csv"), samples).unwrap();
        let read = |backend: &str| {
            let out_root = tempfile::tempdir().unwrap();
            let out = out_root.path().join("out");
            let status = Command::new(env!("CARGO_BIN_EXE_graftscan"))
                .args(["scan", "--quiet", "--backend", backend])
                .arg(work)
                .arg("--out")
                .arg(&out)
                .status()
                .expect("graftscan runs");
            assert!(status.success(), "{mode} on {backend}");
            let run: serde_json::Value =
                serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
            let mut reader = csv::Reader::from_path(out.join("samples.csv")).unwrap();
            let headers = reader.headers().unwrap().clone();
            let idx = |n: &str| headers.iter().position(|h| h == n).expect("column");
            let cols = [
                idx("donor_fraction_pct"),
                idx("ci_low_pct"),
                idx("ci_high_pct"),
            ];
            let id = idx("sample_id");
            let values: BTreeMap<String, [f64; 3]> = reader
                .records()
                .map(|r| {
                    let r = r.unwrap();
                    let v = cols.map(|c| r[c].parse::<f64>().unwrap() / 100.0);
                    (r[id].to_string(), v)
                })
                .collect();
            (values, run)
        };
        let (cpu, _) = read("cpu");
        let (gpu, run) = read("gpu");
        assert_eq!(
            run["draw_grid_passes"]["on_cpu"], 0,
            "{mode}: every grid pass on the adapter: {}",
            run["draw_grid_passes"]
        );
        assert_eq!(cpu.len(), gpu.len());
        let mut worst = 0.0f64;
        for (id, c) in &cpu {
            for (a, b) in c.iter().zip(&gpu[id]) {
                worst = worst.max((a - b).abs());
            }
        }
        println!("{mode}: max |CPU − adapter| over fraction and interval ends {worst:.1e}");
        assert!(worst <= 1e-4, "{mode}: {worst}");
    }
}
