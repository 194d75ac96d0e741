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
//! CI runs every ordered pair of the seven people (42) at one seed;
//! `GRAFTSCAN_EVAL_SCALE=3` runs three seeds.
//!
//! The "pure" runs are not pure (`run_truth`): each holds 0.15–0.7% of other
//! people's reads, the donor's among them, so each draw is judged against
//! the donor DNA the mixture holds, measured without the estimator; the
//! nominal fraction and all non-recipient DNA (`non_recipient_truth`) are
//! printed beside it.
//!
//! Measured (2026-12-02, every ordered pair, 3 seeds,
//! `GRAFTSCAN_EVAL_SCALE=3`; 126 draws per level), at 0.5/1/2/5/10%:
//! - two-genome (third-party DNA modelled): bias +1.6/+0.4/+0.4/−0.0/−0.1%
//!   against the held DNA, coverage 125/122/124/121/117 of 126; against the
//!   nominal fractions +15.9/+7.3/+3.5/+1.0/+0.2%. Before the third-party
//!   term: +26.9/+12.8/+5.9/+1.5/+0.1% (nominal, 8 within-file pairs).
//! - recipient-only (frequencies from the batch's other five people, not the
//!   donor): bias +21.5/+0.3/+2.3/−1.0/−2.2%, coverage 70/114/115/122/118
//!   of 126 (93.1% pooled over 1–10%). At 0.5% it counts part of the
//!   recipient run's third-party DNA as the donor's (bias −22.5% against all
//!   non-recipient DNA): without the donor's genotype the two differ only
//!   in how they spread over the SNPs.
//! - genotype-free (no frequencies): bias −15.0/+7.3/+3.4/−0.2/+0.4%,
//!   coverage 113/121/114/125/126 of 126 (96.4% pooled over 1–10%).
//!
//! Before the fitted molecule share (model::dispersion, w = 1 throughout):
//! recipient-only coverage 39/123/126/120 at 1–10% (81%; bias −53% at 1%),
//! genotype-free 44/101/126/110 (76%): the donor terms were as broad as
//! molecule sampling makes them, and the error rate absorbed the donor
//! reads. Mixtures of reads carry no molecule sampling of the mixture; the
//! fit now picks w ≤ 0.1 for them and w = 1 for the wet-lab mixtures.
//!
//! At 150 reads per site (`GRAFTSCAN_MIX_DEPTH=150`, the depth of the
//! exome mixtures the issue cites; one seed, 42 draws a level) the bars
//! are not met and the assertions below fail: recipient-only covers 86% at
//! 1–10% (30/41/39/34 of 42; +22% at 1%), genotype-free 93%
//! (32/41/42/42; +26% at 1%), two-genome reads +7.6% and +4.2% at 0.5% and
//! 1% (coverage 40/42 at both). With w = 1 at that depth recipient-only
//! covered 67% (−40% at 1–2%) and genotype-free 87%.
//!
//! With the donor's genotype among the batch frequencies (an earlier layout
//! of this test) recipient-only read better than it should: the donor's own
//! alleles leaked into q.
//!
//! The assertions are the bars: two-genome within ±3% of the held
//! DNA at every level, coverage ≥ 90% pooled and ≥ 85% per level, within
//! ±3% of the nominal fraction at 5–10%; recipient-only and genotype-free
//! coverage ≥ 90% pooled over 1–10% and ≥ 85% per level there, and no
//! interval that misses the truth with QC PASS.

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
}

fn scale() -> usize {
    std::env::var("GRAFTSCAN_EVAL_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

/// Reads per site the mixtures are thinned to (`GRAFTSCAN_MIX_DEPTH`,
/// default 2,000: the pure runs' own depth, ~1,100–1,500 after thinning).
fn depth() -> f64 {
    std::env::var("GRAFTSCAN_MIX_DEPTH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000.0)
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
    /// The donor's share of the mixture's DNA: `fraction`, less the other
    /// people's DNA in the donor's run, plus the donor's DNA in the
    /// recipient's run (`run_truth`).
    corrected: f64,
    /// All DNA that is not the recipient's: `fraction` plus the other
    /// people's DNA in the recipient's run (`non_recipient_truth`), which is
    /// what an estimate without the donor's genotype cannot tell apart from
    /// the donor's.
    non_recipient: f64,
}

/// The "pure" SRP434573 runs are not pure: each carries 0.15–0.7% of other
/// people's reads (index hopping on the HiSeq 3000's patterned flow cell;
/// the M1/M2 DNA, with the most libraries in the run, is the most common).
/// Part of it is the donor's. These are measured here without the
/// estimator, by least squares at the run owner's homozygous SNPs, where
/// every read of the other allele is foreign (or an error):
/// - the donor's DNA in the recipient's run: the foreign-read share
///   regressed on [1, the other five people's allele share (third-party
///   reads), the donor's dosage of the foreign allele / 2];
/// - all foreign DNA in the donor's run: the foreign-read share regressed
///   on [1, the other six people's mean allele share].
///
/// SNPs with a foreign share over 5% (a genotype call error, not DNA) and
/// under 30 reads are left out; weights are the depths.
fn run_truth(people: &BTreeMap<String, Person>, donor: &str, recipient: &str, f: f64) -> f64 {
    f * (1.0 - foreign_dna_in_run(people, donor))
        + (1.0 - f) * donor_dna_in_run(people, recipient, donor)
}

/// Every person's DNA but the recipient's: the donor's run, all of it taken
/// as not the recipient's (it holds 0–0.2% of the recipient's DNA, left in
/// here), and the foreign DNA of the recipient's run.
fn non_recipient_truth(people: &BTreeMap<String, Person>, recipient: &str, f: f64) -> f64 {
    f + (1.0 - f) * foreign_dna_in_run(people, recipient)
}

/// (site, foreign-read share, depth, foreign allele: 1 = ALT) at the
/// homozygous SNPs of `p`'s run.
fn homozygous_foreign(p: &Person) -> Vec<(&SiteKey, f64, f64, usize)> {
    let mut out = Vec::new();
    for (site, &[rc, ac]) in &p.run {
        let n = f64::from(rc + ac);
        if n < 30.0 {
            continue;
        }
        let (foreign, allele) = match p.genotypes.get(site) {
            Some(0) => (f64::from(ac), 1),
            Some(2) => (f64::from(rc), 0),
            _ => continue,
        };
        if foreign / n <= 0.05 {
            out.push((site, foreign / n, n, allele));
        }
    }
    out
}

/// Share of the foreign allele (`allele`: 1 = ALT) in `people`'s genotypes at `site`.
fn allele_share(people: &[&Person], site: &SiteKey, allele: usize) -> Option<(f64, f64)> {
    let dosages: Vec<f64> = people
        .iter()
        .filter_map(|p| p.genotypes.get(site))
        .map(|&g| {
            if allele == 1 {
                f64::from(g)
            } else {
                2.0 - f64::from(g)
            }
        })
        .collect();
    (dosages.len() >= 3).then(|| (dosages.iter().sum::<f64>(), 2.0 * dosages.len() as f64))
}

fn donor_dna_in_run(people: &BTreeMap<String, Person>, recipient: &str, donor: &str) -> f64 {
    let others: Vec<&Person> = people
        .iter()
        .filter(|(n, _)| *n != recipient && *n != donor)
        .map(|(_, p)| p)
        .collect();
    let d = &people[donor];
    let rows: Vec<([f64; 3], f64, f64)> = homozygous_foreign(&people[recipient])
        .into_iter()
        .filter_map(|(site, y, n, allele)| {
            let (k, total) = allele_share(&others, site, allele)?;
            let g = f64::from(*d.genotypes.get(site)?);
            let dose = if allele == 1 { g } else { 2.0 - g };
            // The batch's leave-pair-out estimate of q, as the scan uses it.
            Some(([1.0, (k + 0.5) / (total + 1.0), dose / 2.0], y, n))
        })
        .collect();
    weighted_least_squares(&rows)[2]
}

fn foreign_dna_in_run(people: &BTreeMap<String, Person>, owner: &str) -> f64 {
    let others: Vec<&Person> = people
        .iter()
        .filter(|(n, _)| *n != owner)
        .map(|(_, p)| p)
        .collect();
    let rows: Vec<([f64; 2], f64, f64)> = homozygous_foreign(&people[owner])
        .into_iter()
        .filter_map(|(site, y, n, allele)| {
            let (k, total) = allele_share(&others, site, allele)?;
            Some(([1.0, k / total], y, n))
        })
        .collect();
    weighted_least_squares(&rows)[1]
}

/// Coefficients of y on x, weights w (normal equations, Gauss–Jordan).
fn weighted_least_squares<const P: usize>(rows: &[([f64; P], f64, f64)]) -> [f64; P] {
    let mut a = [[0.0f64; P]; P];
    let mut b = [0.0f64; P];
    for (x, y, w) in rows {
        for (i, row) in a.iter_mut().enumerate() {
            b[i] += w * x[i] * y;
            for (cell, xj) in row.iter_mut().zip(x) {
                *cell += w * x[i] * xj;
            }
        }
    }
    for col in 0..P {
        let pivot = (col..P)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap();
        a.swap(col, pivot);
        b.swap(col, pivot);
        let d = a[col][col];
        assert!(d.abs() > 1e-12, "singular normal equations");
        let pivot_row: [f64; P] = a[col].map(|v| v / d);
        let pivot_b = b[col] / d;
        for (i, row) in a.iter_mut().enumerate() {
            if i == col {
                *row = pivot_row;
                b[i] = pivot_b;
            } else {
                let m = row[col];
                for (cell, p) in row.iter_mut().zip(&pivot_row) {
                    *cell -= m * p;
                }
                b[i] -= m * pivot_b;
            }
        }
    }
    b
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
    // Recipient-only: every person but the donor joins the batch (a transplant
    // without draws where they are not a recipient here), so that the batch
    // frequencies come from the other five people and never from the
    // donor, whose genotype a real lab in this mode does not have.
    if mode == Mode::RecipientOnly {
        let donors: Vec<&String> = pairs.iter().map(|(d, _)| d).collect();
        for name in people.keys() {
            if !donors.contains(&name) && !pairs.iter().any(|(_, r)| r == name) {
                writeln!(
                    transplants,
                    "pool-{name},kidney,2024-01-01,unrelated,{name}.genotypes.tsv,"
                )
                .unwrap();
            }
        }
    }
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
                let mixed = mix_pure_runs(&mut rng, &sites, &d.run, &r.run, f, depth());
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
                    corrected: run_truth(people, donor, recipient, f),
                    non_recipient: non_recipient_truth(people, recipient, f),
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

/// Per level, against the corrected truth (`Draw::corrected`): mean relative
/// bias, coverage, draws, and draws whose interval misses the truth with QC
/// PASS; against the nominal fraction: mean relative bias and coverage.
struct Level {
    bias: f64,
    coverage: f64,
    n: usize,
    confidently_wrong: usize,
    nominal_bias: f64,
}

fn summarise(label: &str, draws: &[Draw], rows: &HashMap<String, Row>) -> BTreeMap<u64, Level> {
    let mut out = BTreeMap::new();
    for &f in &LEVELS {
        let mine: Vec<(&Row, f64)> = draws
            .iter()
            .filter(|d| d.fraction == f)
            .map(|d| (&rows[&d.id], d.corrected))
            .collect();
        let non_recipient: Vec<(&Row, f64)> = draws
            .iter()
            .filter(|d| d.fraction == f)
            .map(|d| (&rows[&d.id], d.non_recipient))
            .collect();
        let n = mine.len();
        let mean = |g: &dyn Fn(&Row, f64) -> f64| {
            mine.iter().map(|(r, t)| g(r, *t)).sum::<f64>() / n as f64
        };
        let bias = mean(&|r, t| r.f / t - 1.0);
        let nominal_bias = mean(&|r, _| r.f / f - 1.0);
        let covers = |r: &Row, t: f64| r.low <= t && t <= r.high;
        let covered = mine.iter().filter(|(r, t)| covers(r, *t)).count();
        let nominal_covered = mine.iter().filter(|(r, _)| covers(r, f)).count();
        let non_recipient_bias = non_recipient
            .iter()
            .map(|(r, t)| r.f / t - 1.0)
            .sum::<f64>()
            / n as f64;
        let non_recipient_covered = non_recipient.iter().filter(|(r, t)| covers(r, *t)).count();
        let confidently_wrong = mine
            .iter()
            .filter(|(r, t)| !covers(r, *t) && r.qc == "PASS")
            .count();
        let detected = mine.iter().filter(|(r, _)| r.detected).count();
        let review = mine.iter().filter(|(r, _)| r.qc != "PASS").count();
        println!(
            "{label} {:>4.1}%: against the corrected truth bias {:+6.1}%, coverage {covered}/{n}; \
             against the nominal fraction bias {:+6.1}%, coverage {nominal_covered}/{n}; \
             against all non-recipient DNA bias {:+6.1}%, coverage {non_recipient_covered}/{n}; \
             detected {detected}, QC not PASS {review}, missed with PASS {confidently_wrong}",
            100.0 * f,
            100.0 * bias,
            100.0 * nominal_bias,
            100.0 * non_recipient_bias,
        );
        out.insert(
            (f * 1e4) as u64,
            Level {
                bias,
                coverage: covered as f64 / n as f64,
                n,
                confidently_wrong,
                nominal_bias,
            },
        );
    }
    out
}

/// Coverage pooled over the levels from `from` (in 1e-4) up.
fn pooled_coverage(table: &BTreeMap<u64, Level>, from: u64) -> f64 {
    let (covered, total) = table
        .iter()
        .filter(|(level, _)| **level >= from)
        .fold((0.0, 0usize), |(c, t), (_, l)| {
            (c + l.coverage * l.n as f64, t + l.n)
        });
    covered / total as f64
}

/// Every ordered pair of the seven people (42): a pure run of each is in
/// the files, and the mixtures are made in silico.
fn pairs_for(people: &BTreeMap<String, Person>) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for d in people.keys() {
        for r in people.keys() {
            if d != r {
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

    // Recipient-only: one batch per donor (see `write_batch`).
    let ro = tempfile::tempdir().unwrap();
    let (mut draws_ro, mut rows_ro) = (Vec::new(), HashMap::new());
    for donor in people.keys() {
        let mine: Vec<(String, String)> =
            pairs.iter().filter(|(d, _)| d == donor).cloned().collect();
        if mine.is_empty() {
            continue;
        }
        let dir = ro.path().join(donor);
        std::fs::create_dir(&dir).unwrap();
        draws_ro.extend(write_batch(
            &dir,
            &people,
            &mine,
            seeds,
            Mode::RecipientOnly,
        ));
        rows_ro.extend(scan(&dir, &[]));
    }
    let recipient_only = summarise(
        "recipient-only, batch frequencies without the donor",
        &draws_ro,
        &rows_ro,
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
    // What holds (figures in the module header). Two-genome, against the
    // DNA the mixture holds: unbiased (±3%) at every level, and covering.
    for (level, l) in &two_genome {
        assert!(l.bias.abs() <= 0.03, "two-genome {level}: bias {}", l.bias);
        assert!(
            l.coverage >= 0.85,
            "two-genome {level}: coverage {} of {}",
            l.coverage,
            l.n
        );
        // The runs' own foreign DNA is small beside 5–10%.
        if *level >= 500 {
            assert!(
                l.nominal_bias.abs() <= 0.03,
                "two-genome {level}: {}",
                l.nominal_bias
            );
        }
    }
    let coverage = pooled_coverage(&two_genome, 0);
    assert!(coverage >= 0.9, "two-genome coverage {coverage}");
    // Without the donor's genotype (the bar): coverage ≥ 90% pooled
    // over 1–10%, ≥ 85% at each of those levels (38 of 42 at one seed), and
    // never confidently wrong (an interval that misses the truth carries QC
    // REVIEW with its reason).
    for (name, table) in [
        ("recipient-only", &recipient_only),
        ("genotype-free", &genotype_free),
    ] {
        for (level, l) in table.iter() {
            assert_eq!(
                l.confidently_wrong, 0,
                "{name} {level}: intervals missing the truth with QC PASS"
            );
            if *level >= 100 {
                assert!(
                    l.coverage >= 0.85,
                    "{name} {level}: coverage {} of {}",
                    l.coverage,
                    l.n
                );
            }
        }
        let coverage = pooled_coverage(table, 100);
        assert!(coverage >= 0.9, "{name}: coverage {coverage} at 1–10%");
    }
}

/// The truth correction itself, checked against the estimator: two-genome on
/// each person's pure run with each other person as the "donor" (42 ordered
/// pairs, f = 0 in silico) reads the donor DNA that `donor_dna_in_run`
/// measures by least squares without the estimator. Measured 2026-12-02:
/// correlation 0.93 over the 42 pairs, means 0.080% (estimate) and 0.073%
/// (least squares), the least-squares value inside the estimate's interval
/// in 42 of 42, (estimate − least squares)/SE with mean 0.32 and sd 0.89.
/// The runs share DNA with a column effect (M1 and M2, the people with the
/// most libraries in the run, are the most common guests) that
/// contamination drawn from the population could not give.
#[test]
fn pure_runs_hold_the_donor_dna_that_the_truth_correction_measures() {
    let Some(dir) = common::shared_data("srp434573") else {
        return;
    };
    let people = people(&dir);
    let work = tempfile::tempdir().unwrap();
    let mut transplants = String::from(
        "transplant_id,organ,transplant_date,relationship,recipient_genotypes,donor_genotypes\n",
    );
    let mut samples = String::from("sample_id,transplant_id,collected,counts\n");
    for (name, p) in &people {
        let mut geno = String::from("chrom\tpos\tref\talt\tgenotype\n");
        let mut counts = String::from("chrom\tpos\tref\talt\tref_count\talt_count\n");
        let mut sites: Vec<&SiteKey> = p.genotypes.keys().collect();
        sites.sort();
        for s in sites {
            let (r, a) = (s.ref_base as char, s.alt_base as char);
            writeln!(geno, "{}\t{}\t{r}\t{a}\t{}", s.chrom, s.pos, p.genotypes[s]).unwrap();
            if let Some([rc, ac]) = p.run.get(s) {
                writeln!(counts, "{}\t{}\t{r}\t{a}\t{rc}\t{ac}", s.chrom, s.pos).unwrap();
            }
        }
        std::fs::write(work.path().join(format!("{name}.genotypes.tsv")), geno).unwrap();
        std::fs::write(work.path().join(format!("{name}.pure.counts.tsv")), counts).unwrap();
    }
    let pairs = pairs_for(&people);
    for (d, r) in &pairs {
        writeln!(
            transplants,
            "{d}-in-{r},kidney,2024-01-01,unrelated,{r}.genotypes.tsv,{d}.genotypes.tsv"
        )
        .unwrap();
        writeln!(
            samples,
            "{d}-in-{r},{d}-in-{r},2024-02-01,{r}.pure.counts.tsv"
        )
        .unwrap();
    }
    std::fs::write(work.path().join("transplants.csv"), transplants).unwrap();
    std::fs::write(work.path().join("samples.csv"), samples).unwrap();
    let rows = scan(work.path(), &[]);
    let (mut xs, mut ys, mut inside) = (Vec::new(), Vec::new(), 0);
    for (d, r) in &pairs {
        let measured = donor_dna_in_run(&people, r, d);
        let row = &rows[&format!("{d}-in-{r}")];
        inside += usize::from(row.low <= measured && measured <= row.high);
        xs.push(measured);
        ys.push(row.f);
    }
    let n = xs.len() as f64;
    let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let cov: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let vx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    let vy: f64 = ys.iter().map(|y| (y - my).powi(2)).sum();
    let corr = cov / (vx * vy).sqrt();
    println!(
        "{} pairs: correlation {corr:.2}, mean least squares {:.3}%, mean estimate {:.3}%, \
         least squares inside the interval {inside}",
        pairs.len(),
        100.0 * mx,
        100.0 * my
    );
    assert!(corr >= 0.8, "correlation {corr}");
    assert!((my - mx).abs() <= 0.3 * mx, "means {my} vs {mx}");
    assert!(inside as f64 >= 0.9 * n, "{inside} of {n} inside");
}
