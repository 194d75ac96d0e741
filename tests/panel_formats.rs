//! Panels as labs have them (issue 10, capability 1): a sites VCF with INFO/AF
//! and one with INFO/AC+AN read as the same panel as the TSV with the same
//! columns; `1`/`chr1` naming is harmonised (and said); a panel covering none
//! or too few of the counted sites is refused with exit code 2 and no output;
//! `panel build` counts a cohort's alleles overall and per population, and
//! `--population` picks the column.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use graftscan::formats::panel::{PanelOptions, read_panel};

fn demo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/demo")
}

/// (chrom, pos, ref, alt, af) of the demo panel, with made-up allele numbers
/// (AN = 1000 + 2·row) so that AC/AN panels carry real counts.
fn demo_panel() -> Vec<(String, u64, String, String, f64, u64, u64)> {
    let text = std::fs::read_to_string(demo().join("panel.tsv")).expect("demo panel");
    text.lines()
        .skip(1)
        .enumerate()
        .map(|(i, l)| {
            let f: Vec<&str> = l.split('\t').collect();
            let af: f64 = f[4].parse().expect("af");
            let an = 1000 + 2 * i as u64;
            let ac = (af * an as f64).round() as u64;
            (
                f[0].into(),
                f[1].parse().expect("pos"),
                f[2].into(),
                f[3].into(),
                af,
                ac,
                an,
            )
        })
        .collect()
}

fn write_vcf(path: &Path, counts: bool, chrom: impl Fn(&str) -> String) {
    let mut text = String::from("##fileformat=VCFv4.2\n");
    if counts {
        text += "##INFO=<ID=AC,Number=A,Type=Integer,Description=\"ALT alleles\">\n";
        text += "##INFO=<ID=AN,Number=1,Type=Integer,Description=\"Called alleles\">\n";
    } else {
        text += "##INFO=<ID=AF,Number=A,Type=Float,Description=\"ALT frequency\">\n";
    }
    text += "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n";
    for (c, pos, r, a, af, ac, an) in demo_panel() {
        let info = if counts {
            format!("AC={ac};AN={an}")
        } else {
            format!("AF={af}")
        };
        writeln!(text, "{}\t{pos}\t.\t{r}\t{a}\t.\tPASS\t{info}", chrom(&c)).unwrap();
    }
    if path.extension().is_some_and(|e| e == "gz") {
        let mut w = noodles_bgzf::io::Writer::new(std::fs::File::create(path).unwrap());
        w.write_all(text.as_bytes()).unwrap();
        w.finish().unwrap();
    } else {
        std::fs::write(path, text).unwrap();
    }
}

fn write_tsv(path: &Path, counts: bool, chrom: impl Fn(&str) -> String) {
    let mut text = String::from(if counts {
        "chrom\tpos\tref\talt\tac\tan\n"
    } else {
        "chrom\tpos\tref\talt\taf\n"
    });
    for (c, pos, r, a, af, ac, an) in demo_panel() {
        if counts {
            writeln!(text, "{}\t{pos}\t{r}\t{a}\t{ac}\t{an}", chrom(&c)).unwrap();
        } else {
            writeln!(text, "{}\t{pos}\t{r}\t{a}\t{af}", chrom(&c)).unwrap();
        }
    }
    std::fs::write(path, text).unwrap();
}

fn same(c: &str) -> String {
    c.to_string()
}

#[test]
fn sites_vcfs_with_af_or_ac_an_read_as_the_same_panel_as_the_tsv() {
    let work = tempfile::tempdir().unwrap();
    let opts = PanelOptions::default();
    for counts in [false, true] {
        let tsv = work.path().join(format!("panel{counts}.tsv"));
        write_tsv(&tsv, counts, same);
        let reference = read_panel(&tsv, &opts).expect("TSV panel");
        assert_eq!(reference.sites.len(), 1000);
        for name in ["panel.vcf", "panel.vcf.gz"] {
            let vcf = work.path().join(format!("{counts}{name}"));
            write_vcf(&vcf, counts, same);
            let panel = read_panel(&vcf, &opts).expect("VCF panel");
            assert_eq!(panel.sites.len(), reference.sites.len());
            for (site, f) in &reference.sites {
                let g = panel.sites[site];
                assert!((g.af - f.af).abs() < 1e-6, "{site}: {} vs {}", g.af, f.af);
                assert_eq!(g.counts, f.counts, "{site}");
            }
            assert_eq!(panel.median_people(), reference.median_people());
        }
    }
}

/// A three-transplant slice of the demo batch (two-genome and recipient-only
/// transplants), with the panel given by `--panel`.
fn small_batch(dir: &Path) {
    let demo = demo();
    let transplants = std::fs::read_to_string(demo.join("transplants.csv")).unwrap();
    let samples = std::fs::read_to_string(demo.join("samples.csv")).unwrap();
    let keep = ["TX001", "TX003", "TX006"];
    let pick = |text: &str, col: usize| -> String {
        let mut lines = text.lines();
        let mut out = format!("{}\n", lines.next().unwrap());
        for l in lines {
            if keep.contains(&l.split(',').nth(col).unwrap_or("")) {
                out += l;
                out.push('\n');
            }
        }
        out
    };
    let rebase = |s: String| {
        s.replace("genotypes/", &format!("{}/genotypes/", demo.display()))
            .replace("counts/", &format!("{}/counts/", demo.display()))
    };
    std::fs::write(dir.join("transplants.csv"), rebase(pick(&transplants, 0))).unwrap();
    std::fs::write(dir.join("samples.csv"), rebase(pick(&samples, 1))).unwrap();
}

fn scan(batch: &Path, panel: &Path, out: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_graftscan"))
        .args(["scan", "--quiet", "--backend", "cpu", "--panel"])
        .arg(panel)
        .arg(batch)
        .arg("--out")
        .arg(out)
        .output()
        .expect("graftscan runs")
}

#[test]
fn a_vcf_panel_and_a_renamed_chromosome_panel_give_the_tsv_results() {
    let work = tempfile::tempdir().unwrap();
    let batch = work.path().join("batch");
    std::fs::create_dir(&batch).unwrap();
    small_batch(&batch);
    let tsv = work.path().join("panel.tsv");
    write_tsv(&tsv, true, same);
    let base = scan(&batch, &tsv, &work.path().join("base"));
    assert!(
        base.status.success(),
        "{}",
        String::from_utf8_lossy(&base.stderr)
    );
    let expected = std::fs::read(work.path().join("base/samples.csv")).unwrap();

    let vcf = work.path().join("panel.vcf.gz");
    write_vcf(&vcf, true, same);
    let from_vcf = scan(&batch, &vcf, &work.path().join("vcf"));
    assert!(from_vcf.status.success());
    assert_eq!(
        std::fs::read(work.path().join("vcf/samples.csv")).unwrap(),
        expected
    );

    // `1` instead of `chr1`: harmonised with the count files, and said so.
    let bare = work.path().join("bare.tsv");
    write_tsv(&bare, true, |c| c.trim_start_matches("chr").to_string());
    let renamed = scan(&batch, &bare, &work.path().join("bare"));
    assert!(renamed.status.success());
    assert_eq!(
        std::fs::read(work.path().join("bare/samples.csv")).unwrap(),
        expected
    );
    let run = std::fs::read_to_string(work.path().join("bare/run.json")).unwrap();
    assert!(run.contains("harmonised"), "run.json does not say so");
}

#[test]
fn a_panel_that_covers_none_or_too_few_counted_sites_is_refused() {
    let work = tempfile::tempdir().unwrap();
    let batch = work.path().join("batch");
    std::fs::create_dir(&batch).unwrap();
    small_batch(&batch);
    // Other positions: covers none of the counted SNPs.
    let elsewhere = work.path().join("elsewhere.tsv");
    let mut text = String::from("chrom\tpos\tref\talt\taf\n");
    for (c, pos, r, a, af, _, _) in demo_panel() {
        writeln!(text, "{c}\t{}\t{r}\t{a}\t{af}", pos + 7).unwrap();
    }
    std::fs::write(&elsewhere, text).unwrap();
    let out = work.path().join("out");
    let run = scan(&batch, &elsewhere, &out);
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("elsewhere.tsv") && stderr.contains("covers 0 of"),
        "{stderr}"
    );
    assert!(!out.exists(), "no output on a refused panel");
    // A tenth of the sites: below the default 50%.
    let tenth = work.path().join("tenth.tsv");
    let mut text = String::from("chrom\tpos\tref\talt\taf\n");
    for (c, pos, r, a, af, _, _) in demo_panel().into_iter().step_by(10) {
        writeln!(text, "{c}\t{pos}\t{r}\t{a}\t{af}").unwrap();
    }
    std::fs::write(&tenth, text).unwrap();
    let run = scan(&batch, &tenth, &out);
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("--min-panel-coverage"));
    assert!(!out.exists());
}

#[test]
fn panel_build_counts_a_cohort_overall_and_per_population() {
    let work = tempfile::tempdir().unwrap();
    // Six people, two populations, three SNPs (one multi-allelic, skipped).
    let people = ["p1", "p2", "p3", "p4", "p5", "p6"];
    let genotypes = [
        ["0/0", "0/1", "1/1", "0/1", "./.", "0/0"],
        ["1/1", "1/1", "0/1", "0/0", "0/0", "0|1"],
        ["0/1", "0/2", "0/0", "0/0", "0/0", "0/0"],
    ];
    let mut vcf = String::from(
        "##fileformat=VCFv4.2\n##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n",
    );
    vcf += &format!(
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{}\n",
        people.join("\t")
    );
    for (i, row) in genotypes.iter().enumerate() {
        let alt = if i == 2 { "G,T" } else { "G" };
        writeln!(
            vcf,
            "chr2\t{}\t.\tA\t{alt}\t.\tPASS\t.\tGT\t{}",
            100 + i,
            row.join("\t")
        )
        .unwrap();
    }
    let cohort = work.path().join("cohort.vcf");
    std::fs::write(&cohort, vcf).unwrap();
    let pops = work.path().join("pops.tsv");
    std::fs::write(
        &pops,
        "sample\tpopulation\np1\tEUR\np2\tEUR\np3\tEUR\np4\tAFR\np5\tAFR\np6\tAFR\n",
    )
    .unwrap();
    let out = work.path().join("panel.tsv");
    let status = Command::new(env!("CARGO_BIN_EXE_graftscan"))
        .args(["panel", "build", "--vcf"])
        .arg(&cohort)
        .arg("--populations")
        .arg(&pops)
        .arg("--out")
        .arg(&out)
        .status()
        .expect("graftscan runs");
    assert!(status.success());
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "chrom\tpos\tref\talt\taf\tac\tan\taf_AFR\tac_AFR\tan_AFR\taf_EUR\tac_EUR\tan_EUR"
    );
    // SNP 1: EUR 0+1+2 = 3 of 6; AFR 1 of 4 (p5 missing); overall 4 of 10.
    assert_eq!(
        lines[1],
        "chr2\t100\tA\tG\t0.400000\t4\t10\t0.250000\t1\t4\t0.500000\t3\t6"
    );
    assert_eq!(
        lines[2],
        "chr2\t101\tA\tG\t0.500000\t6\t12\t0.166667\t1\t6\t0.833333\t5\t6"
    );
    assert_eq!(lines.len(), 3, "the multi-allelic record is skipped");
    let eur = read_panel(
        &out,
        &PanelOptions {
            population: Some("EUR".into()),
            af_field: None,
        },
    )
    .expect("EUR column");
    assert_eq!(eur.median_people(), Some(3.0));
    assert!(eur.sites.values().any(|f| f.counts == Some((5.0, 6.0))));
    let missing = read_panel(
        &out,
        &PanelOptions {
            population: Some("EAS".into()),
            af_field: None,
        },
    )
    .expect_err("no EAS column");
    assert!(missing.to_string().contains("AFR, EUR"), "{missing}");
}
