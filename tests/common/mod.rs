//! GPU test policy: without an adapter a test is skipped on a developer machine
//! (with the reason printed) but FAILS in CI (env CI=true), where lavapipe is
//! installed and a missing adapter means a broken setup. An adapter that exists
//! but cannot run the kernels is always a failure, never a skip.

#![allow(dead_code)]

use std::path::PathBuf;

use graftscan::compute::LoglikBackend;
use graftscan::compute::gpu::GpuBackend;
use graftscan::compute::select::{enumerate_adapters, open_gpu};

/// The GPU backend on any adapter (lavapipe counts), or `None` to skip.
pub fn gpu_or_skip(test: &str) -> Option<GpuBackend> {
    if enumerate_adapters().is_empty() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{test}: CI=true but wgpu finds no adapter (install mesa-vulkan-drivers)");
        }
        eprintln!("skipping {test}: wgpu finds no adapter on this machine");
        return None;
    }
    match open_gpu(None) {
        Ok(b) => {
            eprintln!("{test}: running on {}", b.info().description);
            Some(b)
        }
        Err(e) => panic!("{test}: an adapter exists but the GPU backend failed: {e}"),
    }
}

/// |a − b| ≤ rel · max(|a|, |b|) + abs.
pub fn close(a: f64, b: f64, rel: f64, abs: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()) + abs
}

/// The shared real-data folder beside the checkout. Outside CI a missing folder
/// skips the test with a printed reason; with CI=true it is a failure.
pub fn shared_data(sub: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(sub);
    if p.is_dir() {
        return Some(p);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but {} is missing", p.display());
    }
    eprintln!(
        "skipping: {} not found (tests read ../shared beside the checkout)",
        p.display()
    );
    None
}

/// A small simulated batch (60 SNPs, one sample per transplant) whose
/// transplants carry the given (recipient_hla, donor_hla) typings, one
/// transplant per pair, without bead results.
pub fn batch_with_hla(pairs: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_graftscan"))
        .args(["simulate", "--snps", "60", "--transplants"])
        .arg(pairs.len().to_string())
        .args(["--samples-per-transplant", "1", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(status.status.success());
    let t = dir.path().join("transplants.csv");
    let mut lines: Vec<String> = std::fs::read_to_string(&t)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    // Replace the simulated antigen typings with the given ones.
    for (line, (recipient, donor)) in lines.iter_mut().skip(1).zip(pairs) {
        let mut fields: Vec<String> = line.split(',').map(String::from).collect();
        let n = fields.len();
        fields[n - 2] = recipient.to_string();
        fields[n - 1] = donor.to_string();
        *line = fields.join(",");
    }
    std::fs::write(&t, lines.join("\n") + "\n").unwrap();
    std::fs::remove_file(dir.path().join("antibodies.csv")).unwrap();
    dir
}

/// A simulated two-donor draw (cfdna-model.md §2.4): `sites` panel SNPs at
/// ~1,500× capture-scaled depth, error 0.1%, unrelated donors at fractions
/// (f1, f2); donor 2's genotype is given only when `type_donor2`.
pub fn two_donor_snps(
    seed: u64,
    sites: usize,
    f1: f64,
    f2: f64,
    type_donor2: bool,
) -> Vec<graftscan::model::two_donor::TwoDonorSnp> {
    use graftscan::model::Relationship;
    use graftscan::simulate::{draw_donor_genotype, draw_hwe_genotype, make_panel};
    use rand::SeedableRng;
    use rand_distr::{Binomial, Distribution, Poisson};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let panel = make_panel(&mut rng, sites);
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
            graftscan::model::two_donor::TwoDonorSnp {
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

/// A scan batch folder with one two-donor transplant (both donors typed,
/// unrelated) and one sample per draw: genotype TSVs for the recipient and
/// both donors, the draw's counts. Sites are labelled from a panel of their
/// own; only the genotypes and counts of `draws` matter.
pub fn write_two_donor_batch(
    dir: &std::path::Path,
    draws: &[Vec<graftscan::model::two_donor::TwoDonorSnp>],
) {
    use rand::SeedableRng;
    use std::fmt::Write as _;
    let sites = draws.iter().map(Vec::len).max().unwrap_or(0);
    let panel =
        graftscan::simulate::make_panel(&mut rand_chacha::ChaCha8Rng::seed_from_u64(5), sites);
    let header = "chrom\tpos\tref\talt\tgenotype\n";
    let mut transplants = String::from(
        "transplant_id,organ,transplant_date,relationship,recipient_genotypes,recipient_sample,donor_genotypes,donor_sample,donor2_genotypes,donor2_sample,relationship2\n",
    );
    let mut samples = String::from("sample_id,transplant_id,collected,counts,counts_sample\n");
    for (t, snps) in draws.iter().enumerate() {
        let (mut rec, mut don1, mut don2) =
            (header.to_string(), header.to_string(), header.to_string());
        let mut counts = String::from("chrom\tpos\tref\talt\tref_count\talt_count\n");
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
        for (name, text) in [("r", rec), ("d1", don1), ("d2", don2), ("c", counts)] {
            std::fs::write(dir.join(format!("{name}{t}.tsv")), text).unwrap();
        }
        writeln!(
            transplants,
            "T{t},kidney,2025-01-01,unrelated,r{t}.tsv,,d1{t}.tsv,,d2{t}.tsv,,unrelated"
        )
        .unwrap();
        writeln!(samples, "S{t},T{t},2025-03-01,c{t}.tsv,").unwrap();
    }
    std::fs::write(dir.join("transplants.csv"), transplants).unwrap();
    std::fs::write(dir.join("samples.csv"), samples).unwrap();
}
