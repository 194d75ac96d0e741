//! In-silico mixtures of real reads (issue 11, must-show 1): the pure runs of
//! the seven SRP434573 people (../shared/data/srp434573) thinned binomially and
//! summed at exact donor fractions (`simulate::real_reads`), so the reads carry
//! the real reference bias, its site-to-site variation and PCR duplication,
//! scanned end to end in each mode.
//!
//! What it covers: two-genome with recipient-heterozygous SNPs in the
//! likelihood (their real allelic imbalance must not bias f); recipient-only
//! and genotype-free with the frequencies a lab without a panel has (the
//! batch's few genotyped people, or none), whose intervals must cover.
//! Recipient-only and genotype-free use only the sites where the recipient
//! carries ALT (PROVENANCE.md: the others were ascertained on the donor).
//!
//! CI runs the within-file pairs at one seed; `GRAFTSCAN_EVAL_SCALE=3` runs
//! every pair the files allow at three seeds.
//!
//! Measured (8 within-file ordered pairs, one seed, 2026-12-01):
//! - two-genome, relative bias at 0.5/1/2/5/10%: +26.9/+12.8/+5.9/+1.5/+0.1%,
//!   coverage 0/2/4/7/7 of 8. The excess is a near-constant 0.12–0.13 points
//!   at 0.5–2%: the "pure" runs carry foreign DNA (contamination_pct 0.14–0.6%;
//!   every draw is QC REVIEW: third-party DNA > 0.5% in 23 of 40, a poor
//!   binomial fit in the rest); the issue's ±3% at every level is NOT met
//!   below 5%.
//! - recipient-only (frequencies from the batch's 7 people) and genotype-free
//!   (none): coverage at 1–10% 19/24 and 17/24 — the 90% is NOT met;
//!   every draw is QC REVIEW (frequencies from < 100 people), none missed with
//!   PASS.
//!
//! The assertions guard what holds: two-genome unbiased (±3%) and covering
//! (≥ 7/8) at 5–10% with an absolute excess ≤ 0.2 points at every level; no
//! interval that misses the truth with QC PASS; coverage without the donor's
//! genotype no lower than 65% at 1–10%.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use graftscan::formats::{SiteKey, read_allele_table};
use graftscan::simulate::real_reads::{PureRun, mix_pure_runs};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const LEVELS: [f64; 5] = [0.005, 0.01, 0.02, 0.05, 0.10];
const MIXTURES: [(&str, &str, &str); 4] = [
    ("mix_F1_into_F3", "F1", "F3"),
    ("mix_F2_into_F1", "F2", "F1"),
    ("mix_M1_into_M2", "M1", "M2"),
    ("mix_M3_into_M4", "M3", "M4"),
];

#[derive(Default)]
struct Person {
    run: PureRun,
    genotypes: HashMap<SiteKey, u8>,
    /// The mixture files the person's run came from.
    files: Vec<&'static str>,
}

fn scale() -> usize {
    std::env::var("GRAFTSCAN_EVAL_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

fn people(dir: &Path) -> BTreeMap<String, Person> {
    let mut out: BTreeMap<String, Person> = BTreeMap::new();
    for (mixture, a, b) in MIXTURES {
        let g = dir.join("genotypes");
        let admix =
            read_allele_table(&g.join(format!("{mixture}.admix.vcf.gz"))).expect("admix VCF");
        let calls = read_allele_table(&g.join(format!("{mixture}.SRP434573.vcf.gz")))
            .expect("genotype VCF");
        for name in [a, b] {
            let p = out.entry(name.to_string()).or_default();
            p.files.push(mixture);
            let col = admix.sample_index(name).expect("pure run column");
            for (i, site) in admix.sites.iter().enumerate() {
                if let Some(ad) = admix.depth(i, col) {
                    p.run.insert(site.clone(), ad);
                }
            }
            let col = calls.sample_index(name).expect("genotype column");
            for (i, site) in calls.sites.iter().enumerate() {
                if let Some(gt) = calls.genotype(i, col) {
                    p.genotypes.insert(site.clone(), gt);
                }
            }
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    TwoGenome,
    RecipientOnly,
    GenotypeFree,
}

struct Draw {
    id: String,
    fraction: f64,
}

/// Writes a batch of every (pair, level, seed) draw for `mode` into `work`;
/// returns the draws.
fn write_batch(
    work: &Path,
    people: &BTreeMap<String, Person>,
    pairs: &[(String, String)],
    seeds: u64,
    mode: Mode,
) -> Vec<Draw> {
    // One genotype file per person, so that the batch counts each person once.
    for (name, p) in people {
        let mut tsv = String::from("chrom\tpos\tref\talt\tgenotype\n");
        let mut sites: Vec<(&SiteKey, &u8)> = p.genotypes.iter().collect();
        sites.sort();
        for (s, g) in sites {
            writeln!(
                tsv,
                "{}\t{}\t{}\t{}\t{g}",
                s.chrom, s.pos, s.ref_base as char, s.alt_base as char
            )
            .unwrap();
        }
        std::fs::write(work.join(format!("{name}.genotypes.tsv")), tsv).unwrap();
    }
    let mut transplants = String::from(
        "transplant_id,organ,transplant_date,relationship,recipient_genotypes,donor_genotypes\n",
    );
    let mut samples = String::from("sample_id,transplant_id,collected,counts\n");
    let mut draws = Vec::new();
    for (donor, recipient) in pairs {
        let (d, r) = (&people[donor], &people[recipient]);
        let id = format!("{donor}-into-{recipient}");
        let (rg, dg) = match mode {
            Mode::TwoGenome => (
                format!("{recipient}.genotypes.tsv"),
                format!("{donor}.genotypes.tsv"),
            ),
            Mode::RecipientOnly => (format!("{recipient}.genotypes.tsv"), String::new()),
            Mode::GenotypeFree => (String::new(), String::new()),
        };
        writeln!(transplants, "{id},kidney,2024-01-01,unrelated,{rg},{dg}").unwrap();
        let mut sites: Vec<SiteKey> = r
            .run
            .keys()
            .filter(|s| d.run.contains_key(*s))
            .filter(|s| match (r.genotypes.get(*s), d.genotypes.get(*s)) {
                (Some(_), Some(_)) if mode == Mode::TwoGenome => true,
                // The fair sites: the recipient carries ALT (not ascertained on the donor).
                (Some(g), _) if mode != Mode::TwoGenome => *g >= 1,
                _ => false,
            })
            .cloned()
            .collect();
        sites.sort();
        let mut day = 0;
        for seed in 0..seeds {
            for (k, &f) in LEVELS.iter().enumerate() {
                let mut rng = ChaCha8Rng::seed_from_u64(seed * 1000 + k as u64 + 7);
                let mixed = mix_pure_runs(&mut rng, &sites, &d.run, &r.run, f, 2000.0);
                let mut tsv = String::from("chrom\tpos\tref\talt\tref_count\talt_count\n");
                for (s, [rc, ac]) in &mixed {
                    writeln!(
                        tsv,
                        "{}\t{}\t{}\t{}\t{rc}\t{ac}",
                        s.chrom, s.pos, s.ref_base as char, s.alt_base as char
                    )
                    .unwrap();
                }
                let sample = format!("{id}-s{seed}-{:.1}", 100.0 * f);
                let file = format!("{sample}.counts.tsv");
                std::fs::write(work.join(&file), tsv).unwrap();
                day += 1;
                writeln!(samples, "{sample},{id},2024-03-{:02},{file}", day.min(28)).unwrap();
                draws.push(Draw {
                    id: sample,
                    fraction: f,
                });
            }
        }
    }
    std::fs::write(work.join("transplants.csv"), transplants).unwrap();
    std::fs::write(work.join("samples.csv"), samples).unwrap();
    draws
}

struct Row {
    f: f64,
    low: f64,
    high: f64,
    detected: bool,
    qc: String,
}

fn scan(work: &Path, extra: &[&str]) -> HashMap<String, Row> {
    // Results outside the batch folder: graftscan never writes into an input folder.
    let out_root = tempfile::tempdir().unwrap();
    let out = out_root.path().join("out");
    let output = Command::new(env!("CARGO_BIN_EXE_graftscan"))
        .args(["scan", "--quiet", "--backend", "cpu"])
        .arg(work)
        .arg("--out")
        .arg(&out)
        .args(extra)
        .output()
        .expect("graftscan runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut reader = csv::Reader::from_path(out.join("samples.csv")).unwrap();
    let h = reader.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|x| x == n).expect("column");
    let num = |r: &csv::StringRecord, n: &str| r[col(n)].parse::<f64>().unwrap_or(f64::NAN) / 100.0;
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (
                r[col("sample_id")].to_string(),
                Row {
                    f: num(&r, "donor_fraction_pct"),
                    low: num(&r, "ci_low_pct"),
                    high: num(&r, "ci_high_pct"),
                    detected: &r[col("detected")] == "yes",
                    qc: r[col("qc")].to_string(),
                },
            )
        })
        .collect()
}

/// Per level: (mean relative bias, coverage, n); printed.
/// Per level: mean relative bias, coverage, draws, mean absolute excess
/// (f̂ − f), and draws whose interval misses the truth with QC PASS.
struct Level {
    bias: f64,
    coverage: f64,
    n: usize,
    excess: f64,
    confidently_wrong: usize,
}

fn summarise(label: &str, draws: &[Draw], rows: &HashMap<String, Row>) -> BTreeMap<u64, Level> {
    let mut out = BTreeMap::new();
    for &f in &LEVELS {
        let mine: Vec<&Row> = draws
            .iter()
            .filter(|d| d.fraction == f)
            .map(|d| &rows[&d.id])
            .collect();
        let n = mine.len();
        let bias = mine.iter().map(|r| r.f / f - 1.0).sum::<f64>() / n as f64;
        let excess = mine.iter().map(|r| r.f - f).sum::<f64>() / n as f64;
        let covered = mine.iter().filter(|r| r.low <= f && f <= r.high).count();
        let confidently_wrong = mine
            .iter()
            .filter(|r| !(r.low <= f && f <= r.high) && r.qc == "PASS")
            .count();
        let detected = mine.iter().filter(|r| r.detected).count();
        let review = mine.iter().filter(|r| r.qc != "PASS").count();
        println!(
            "{label} {:>4.1}%: bias {:+6.1}% ({:+.3} points), coverage {covered}/{n}, detected {detected}, QC not PASS {review}, missed with PASS {confidently_wrong}",
            100.0 * f,
            100.0 * bias,
            100.0 * excess,
        );
        out.insert(
            (f * 1e4) as u64,
            Level {
                bias,
                coverage: covered as f64 / n as f64,
                n,
                excess,
                confidently_wrong,
            },
        );
    }
    out
}

fn pairs_for(people: &BTreeMap<String, Person>) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for (d, pd) in people {
        for (r, pr) in people {
            let same_file = pd.files.iter().any(|f| pr.files.contains(f));
            if d != r && (same_file || scale() > 1) {
                pairs.push((d.clone(), r.clone()));
            }
        }
    }
    pairs
}

#[test]
fn real_read_mixtures_are_estimated_without_bias_and_intervals_cover() {
    let Some(dir) = common::shared_data("srp434573") else {
        return;
    };
    let people = people(&dir);
    let pairs = pairs_for(&people);
    let seeds = scale() as u64;
    println!(
        "{} ordered pairs, {seeds} seed(s), levels {LEVELS:?}",
        pairs.len()
    );

    let two = tempfile::tempdir().unwrap();
    let draws = write_batch(two.path(), &people, &pairs, seeds, Mode::TwoGenome);
    let two_genome = summarise("two-genome", &draws, &scan(two.path(), &[]));

    let ro = tempfile::tempdir().unwrap();
    let draws_ro = write_batch(ro.path(), &people, &pairs, seeds, Mode::RecipientOnly);
    let recipient_only = summarise(
        "recipient-only, batch frequencies",
        &draws_ro,
        &scan(ro.path(), &[]),
    );

    let gf = tempfile::tempdir().unwrap();
    let draws_gf = write_batch(gf.path(), &people, &pairs, seeds, Mode::GenotypeFree);
    let genotype_free = summarise(
        "genotype-free, no frequencies",
        &draws_gf,
        &scan(gf.path(), &[]),
    );

    if std::env::var("GRAFTSCAN_KEEP").is_ok() {
        for t in [two, ro, gf] {
            println!("kept {}", t.keep().display());
        }
    }
    // What holds (figures in the module header). Two-genome: unbiased where
    // the runs' own foreign DNA is small beside f, and a constant absolute
    // excess below that.
    for (level, l) in &two_genome {
        assert!(
            l.excess.abs() <= 0.002,
            "two-genome {level}: excess {} points",
            100.0 * l.excess
        );
        if *level >= 500 {
            assert!(l.bias.abs() <= 0.03, "two-genome {level}: bias {}", l.bias);
            assert!(
                l.coverage >= 0.85,
                "two-genome {level}: coverage {} of {}",
                l.coverage,
                l.n
            );
        }
    }
    // Without the donor's genotype: never confidently wrong (an interval that
    // misses the truth carries QC REVIEW with its reason), and coverage at
    // 1–10% no lower than measured (the 90% is not reached).
    for (name, table) in [
        ("recipient-only", &recipient_only),
        ("genotype-free", &genotype_free),
    ] {
        for (level, l) in table.iter() {
            assert_eq!(
                l.confidently_wrong, 0,
                "{name} {level}: intervals missing the truth with QC PASS"
            );
        }
        let (covered, total) = table
            .iter()
            .filter(|(level, _)| **level >= 100)
            .fold((0.0, 0usize), |(c, t), (_, l)| {
                (c + l.coverage * l.n as f64, t + l.n)
            });
        assert!(
            covered / total as f64 >= 0.65,
            "{name}: coverage {covered}/{total} at 1–10%"
        );
    }
}
