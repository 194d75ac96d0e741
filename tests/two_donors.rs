//! Two donors on simulation: both fractions within 10% of the truth at
//! (1%, 5%) and (5%, 10%), with both donors typed and with the second donor's
//! genotype marginalised; intervals cover the truth.

use graftscan::compute::cpu::CpuBackend;
use graftscan::model::Relationship;
use graftscan::model::two_donor::{TwoDonorModel, TwoDonorSnp, estimate_two_donors};
use graftscan::simulate::{draw_donor_genotype, draw_hwe_genotype, make_panel};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Binomial, Distribution, Poisson};

fn simulate(seed: u64, f1: f64, f2: f64, type_donor2: bool) -> Vec<TwoDonorSnp> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let panel = make_panel(&mut rng, 1000);
    let e = 0.001;
    panel
        .iter()
        .map(|s| {
            let q = s.alt_frequency;
            let r = draw_hwe_genotype(&mut rng, q);
            let d1 = draw_donor_genotype(&mut rng, r, q, Relationship::Unrelated);
            let d2 = draw_donor_genotype(&mut rng, r, q, Relationship::Unrelated);
            let n = Poisson::new(1500.0 * s.capture).unwrap().sample(&mut rng) as u64;
            let p = (1.0 - f1 - f2) * f64::from(r) / 2.0
                + f1 * f64::from(d1) / 2.0
                + f2 * f64::from(d2) / 2.0;
            let pi = e + (1.0 - 2.0 * e) * p;
            let k = if n == 0 {
                0
            } else {
                Binomial::new(n, pi).unwrap().sample(&mut rng)
            };
            TwoDonorSnp {
                alt: k as u32,
                depth: n as u32,
                recipient: r,
                donor1: Some(d1),
                donor2: type_donor2.then_some(d2),
                alt_frequency: q,
            }
        })
        .collect()
}

fn check(f1: f64, f2: f64, type_donor2: bool) {
    let reps = 8;
    let (mut m1, mut m2, mut cover) = (0.0, 0.0, 0);
    for k in 0..reps {
        let snps = simulate(1000 + k, f1, f2, type_donor2);
        let kappa = Relationship::Unrelated.kappa();
        let mut model = TwoDonorModel::new(&snps, kappa, kappa);
        let e = estimate_two_donors(&mut model, &CpuBackend).unwrap();
        m1 += e.fraction1 / reps as f64;
        m2 += e.fraction2 / reps as f64;
        let inside = |x: f64, (lo, hi): (f64, f64)| lo <= x && x <= hi;
        cover += usize::from(inside(f1, e.interval1) && inside(f2, e.interval2));
        assert!(e.fraction1 + e.fraction2 < 1.0);
    }
    println!(
        "({f1}, {f2}) donor2 typed {type_donor2}: means ({m1:.5}, {m2:.5}), both covered {cover}/{reps}"
    );
    assert!((m1 - f1).abs() / f1 < 0.10, "f1 mean {m1} vs {f1}");
    assert!((m2 - f2).abs() / f2 < 0.10, "f2 mean {m2} vs {f2}");
    assert!(
        cover >= reps as usize - 2,
        "intervals covered both fractions in {cover}/{reps}"
    );
}

#[test]
fn both_typed_donors_at_1_and_5_percent() {
    check(0.01, 0.05, true);
}

#[test]
fn both_typed_donors_at_5_and_10_percent() {
    check(0.05, 0.10, true);
}

#[test]
fn untyped_second_donor_at_1_and_5_percent() {
    check(0.01, 0.05, false);
}

#[test]
fn untyped_second_donor_at_5_and_10_percent() {
    check(0.05, 0.10, false);
}

/// The scan path: transplants.csv with donor2_genotypes / relationship2.
#[test]
fn scan_reports_both_donor_fractions() {
    use std::fmt::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let snps = simulate(77, 0.02, 0.06, true);
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let panel = make_panel(&mut rng, 1000);
    let (mut rec, mut don1, mut don2, mut counts) = (
        String::from("chrom\tpos\tref\talt\tgenotype\n"),
        String::from("chrom\tpos\tref\talt\tgenotype\n"),
        String::from("chrom\tpos\tref\talt\tgenotype\n"),
        String::from("chrom\tpos\tref\talt\tref_count\talt_count\n"),
    );
    // simulate() and this panel use different seeds: only the genotypes and
    // counts of `snps` matter, sites are labelled from this panel.
    for (s, site) in snps.iter().zip(&panel) {
        let key = format!(
            "{}\t{}\t{}\t{}",
            site.chrom, site.pos, site.ref_base, site.alt_base
        );
        writeln!(rec, "{key}\t{}", s.recipient).unwrap();
        writeln!(don1, "{key}\t{}", s.donor1.unwrap()).unwrap();
        writeln!(don2, "{key}\t{}", s.donor2.unwrap()).unwrap();
        writeln!(counts, "{key}\t{}\t{}", s.depth - s.alt, s.alt).unwrap();
    }
    for (name, text) in [
        ("r.tsv", rec),
        ("d1.tsv", don1),
        ("d2.tsv", don2),
        ("c.tsv", counts),
    ] {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    std::fs::write(
        dir.path().join("transplants.csv"),
        "transplant_id,organ,transplant_date,relationship,recipient_genotypes,recipient_sample,donor_genotypes,donor_sample,donor2_genotypes,donor2_sample,relationship2\n\
         T1,kidney,2025-01-01,unrelated,r.tsv,,d1.tsv,,d2.tsv,,unrelated\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("samples.csv"),
        "sample_id,transplant_id,collected,counts,counts_sample\nS1,T1,2025-03-01,c.tsv,\n",
    )
    .unwrap();
    // Results outside the batch folder: graftscan never writes into an input folder.
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("out");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_graftscan"))
        .args(["scan", "--backend", "cpu", "--quiet", "--out"])
        .arg(&out)
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let mut reader = csv::Reader::from_path(out.join("samples.csv")).unwrap();
    let h = reader.headers().unwrap().clone();
    let rec = reader.records().next().unwrap().unwrap();
    let get = |n: &str| {
        rec[h.iter().position(|x| x == n).unwrap()]
            .parse::<f64>()
            .unwrap()
            / 100.0
    };
    let (f1, f2) = (get("donor_fraction_pct"), get("donor2_fraction_pct"));
    println!("scan: donor 1 {f1}, donor 2 {f2}");
    assert!((f1 - 0.02).abs() / 0.02 < 0.10, "donor 1 {f1}");
    assert!((f2 - 0.06).abs() / 0.06 < 0.10, "donor 2 {f2}");
    // Coverage is checked over replicates above; here the interval must bracket
    // the estimate on the simplex.
    let (lo, hi) = (get("donor2_ci_low_pct"), get("donor2_ci_high_pct"));
    println!("donor 2 interval [{lo}, {hi}]");
    assert!(0.0 < lo && lo < f2 && f2 < hi && f1 + hi < 1.0);
}
