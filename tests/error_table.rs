//! Per-site error tables: learned from pure samples, read back, and used by
//! the likelihood exactly as the symmetric model when both directions agree.

use std::process::Command;

use graftscan::model::error_table::ErrorTable;
use graftscan::model::frequency::{AltFrequency, Spectrum};
use graftscan::model::likelihood::SnpInput;
use graftscan::model::{EstimationMode, Relationship, SampleModel};

#[test]
fn per_site_errors_equal_to_the_sample_rate_leave_the_likelihood_unchanged() {
    let inputs: Vec<SnpInput> = [
        (3u32, 900u32, 0u8),
        (450, 910, 1),
        (880, 905, 2),
        (40, 800, 0),
    ]
    .iter()
    .map(|&(alt, depth, r)| SnpInput {
        alt,
        depth,
        recipient: Some(r),
        donor: None,
        frequency: AltFrequency::Exact(0.3),
        site_error: None,
    })
    .collect();
    let kappa = Relationship::Unrelated.kappa();
    let mut plain = SampleModel::from_inputs(
        EstimationMode::RecipientOnly,
        &inputs,
        kappa,
        Spectrum::FLAT,
    );
    plain.error_rate = 0.002;
    let with_table: Vec<SnpInput> = inputs
        .iter()
        .map(|s| SnpInput {
            site_error: Some([0.002, 0.002]),
            ..*s
        })
        .collect();
    let mut sited = SampleModel::from_inputs(
        EstimationMode::RecipientOnly,
        &with_table,
        kappa,
        Spectrum::FLAT,
    );
    sited.error_rate = 0.5; // ignored where a site has its own rates
    for f in [0.0, 0.003, 0.05, 0.3] {
        assert!((plain.loglik(f) - sited.loglik(f)).abs() < 1e-9, "f={f}");
    }
    // Asymmetric rates change it.
    let skewed: Vec<SnpInput> = inputs
        .iter()
        .map(|s| SnpInput {
            site_error: Some([0.02, 0.001]),
            ..*s
        })
        .collect();
    let m = SampleModel::from_inputs(
        EstimationMode::RecipientOnly,
        &skewed,
        kappa,
        Spectrum::FLAT,
    );
    assert!((m.loglik(0.01) - plain.loglik(0.01)).abs() > 1e-3);
}

#[test]
fn errors_learn_counts_reads_of_the_other_allele_at_homozygous_calls() {
    let dir = tempfile::tempdir().unwrap();
    let vcf = "##fileformat=VCFv4.2\n##contig=<ID=chr1>\n\
##FORMAT=<ID=GT,Number=1,Type=String,Description=\"g\">\n\
##FORMAT=<ID=AD,Number=R,Type=Integer,Description=\"d\">\n\
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tP1\tP2\n\
chr1\t100\t.\tA\tG\t.\tPASS\t.\tGT:AD\t0/0:990,10\t0/0:595,5\n\
chr1\t200\t.\tC\tT\t.\tPASS\t.\tGT:AD\t1/1:3,997\t0/1:500,500\n";
    let input = dir.path().join("pure.vcf");
    std::fs::write(&input, vcf).unwrap();
    let out = dir.path().join("errors.tsv");
    let run = Command::new(env!("CARGO_BIN_EXE_graftscan"))
        .args(["errors", "learn", "--input"])
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let table = ErrorTable::read(&out).unwrap();
    let site = table.sites.keys().find(|k| k.pos == 100).unwrap().clone();
    let c = table.sites[&site];
    assert_eq!(c.ref_to_alt, (15, 1600));
    assert_eq!(c.alt_to_ref, (0, 0));
    let [ra, ar] = table.rates(&site).unwrap();
    assert!((ra - 15.5 / 1601.0).abs() < 1e-12);
    // Too few reads in the ALT→REF direction: the pooled rate stands in.
    assert!((ar - table.pooled_rate().unwrap()).abs() < 1e-12);
    let other = table.sites.keys().find(|k| k.pos == 200).unwrap().clone();
    assert_eq!(table.sites[&other].alt_to_ref, (3, 1000));
}
