//! `graftscan simulate`: a scan-ready folder (sheets, genotype VCFs, bgzipped
//! count VCFs, panel) and `truth.csv` with every sample's true donor fraction.

use std::fmt::Write as _;
use std::io::Write as _;

use chrono::{Days, NaiveDate};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{
    PanelSnp, ReadSettings, draw_donor_genotype, draw_hwe_genotype, make_panel, simulate_counts,
};
use crate::error::{Error, Result};
use crate::model::Relationship;
use crate::report::OutputSet;
use crate::risk::Organ;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trajectory {
    /// Quiescent graft: dd-cfDNA near the organ's healthy baseline.
    Stable,
    /// Rising towards rejection over the last draws.
    Rising,
    /// High in the first post-operative week, then settling (normal recovery).
    Recovering,
    /// Persistently above the organ threshold.
    Elevated,
    /// Donor DNA at or below the limit of detection.
    Quiescent,
}

impl Trajectory {
    pub fn as_str(self) -> &'static str {
        match self {
            Trajectory::Stable => "stable",
            Trajectory::Rising => "rising",
            Trajectory::Recovering => "recovering",
            Trajectory::Elevated => "elevated",
            Trajectory::Quiescent => "quiescent",
        }
    }
}

#[derive(Debug, Clone)]
pub struct TransplantPlan {
    pub organ: Organ,
    pub relationship: Relationship,
    pub recipient_typed: bool,
    pub donor_typed: bool,
    pub trajectory: Trajectory,
    /// Mean reads per SNP of the last draw, when it was a poor library.
    pub last_draw_depth: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct SimulationConfig {
    pub seed: u64,
    pub snps: usize,
    pub reads: ReadSettings,
    pub samples_per_transplant: usize,
    pub plans: Vec<TransplantPlan>,
}

/// Healthy baseline donor fraction per organ (order of magnitude of published
/// quiescent medians: kidney ~0.3%, heart ~0.07%, lung ~0.5%, liver a few %).
fn baseline(organ: Organ) -> f64 {
    match organ {
        Organ::Kidney => 0.003,
        Organ::Heart => 0.0007,
        Organ::Lung => 0.005,
        Organ::Liver => 0.03,
        Organ::Pancreas => 0.004,
        Organ::Other => 0.003,
    }
}

fn elevated(organ: Organ) -> f64 {
    match organ {
        Organ::Kidney => 0.025,
        Organ::Heart => 0.006,
        Organ::Lung => 0.02,
        Organ::Liver => 0.18,
        Organ::Pancreas => 0.02,
        Organ::Other => 0.02,
    }
}

/// The demo mix: a dozen transplants over organs, relationships, typed and
/// untyped donors, and every trajectory.
pub fn demo_plans() -> Vec<TransplantPlan> {
    use Organ::*;
    use Relationship::*;
    use Trajectory::*;
    // (organ, relationship, recipient typed, donor typed, trajectory, last-draw depth)
    let rows = [
        (Kidney, Unrelated, true, true, Stable, None),
        (Kidney, FullSibling, true, true, Rising, None),
        (Kidney, ParentChild, true, false, Stable, Some(6.0)),
        (Kidney, Unrelated, true, false, Elevated, None),
        (Heart, Unrelated, true, true, Recovering, None),
        (Heart, Unknown, true, false, Rising, None),
        (Heart, HalfSibling, true, true, Quiescent, None),
        (Lung, Unrelated, true, true, Elevated, None),
        (Lung, FirstCousin, true, false, Stable, Some(40.0)),
        (Liver, Unrelated, true, true, Recovering, None),
        (Liver, ParentChild, true, false, Elevated, None),
        (Pancreas, Unrelated, false, false, Stable, None),
    ];
    rows.iter()
        .map(
            |&(organ, relationship, recipient_typed, donor_typed, trajectory, last_draw_depth)| {
                TransplantPlan {
                    organ,
                    relationship,
                    recipient_typed,
                    donor_typed: donor_typed && recipient_typed,
                    trajectory,
                    last_draw_depth,
                }
            },
        )
        .collect()
}

/// Serologic antigens at common frequencies per locus (illustrative, not a
/// population model): the demo's typings are antigen lists, which need no
/// IPD-IMGT/HLA release to compare.
const ANTIGENS: [&[&str]; 4] = [
    &["A1", "A2", "A3", "A11", "A24", "A26", "A68"],
    &["B7", "B8", "B35", "B44", "B51", "B57", "B62"],
    &["DR1", "DR4", "DR7", "DR11", "DR13", "DR15", "DR17"],
    &["DQ2", "DQ5", "DQ6", "DQ7", "DQ8"],
];

/// Recipient and donor antigen typings: a related donor shares one haplotype
/// with the recipient (parent–child always, siblings half the time), an
/// unrelated donor draws both at random.
fn simulate_hla(rng: &mut ChaCha8Rng, relationship: Relationship) -> (Vec<String>, Vec<String>) {
    let shares = match relationship {
        Relationship::ParentChild => 1,
        Relationship::FullSibling => rng.random_range(0..3),
        Relationship::HalfSibling | Relationship::Grandparent | Relationship::Avuncular => {
            rng.random_range(0..2)
        }
        Relationship::IdenticalTwin => 2,
        _ => 0,
    };
    let mut recipient = Vec::new();
    let mut donor = Vec::new();
    for list in ANTIGENS {
        let pick = |rng: &mut ChaCha8Rng| list[rng.random_range(0..list.len())].to_string();
        let r = [pick(rng), pick(rng)];
        let d = match shares {
            2 => r.clone(),
            1 => [r[rng.random_range(0..2)].clone(), pick(rng)],
            _ => [pick(rng), pick(rng)],
        };
        recipient.extend(r);
        donor.extend(d);
    }
    (recipient, donor)
}

const DRAW_DAYS: [u64; 6] = [5, 21, 45, 90, 180, 365];

/// Transplants per cycle of simulated transplant dates (17 days apart from
/// 2025-01-06: the last, with its draw a year later, is due by mid-2026).
const TRANSPLANT_DATE_CYCLE: usize = 12;

fn fraction_at(plan: &TransplantPlan, k: usize, n: usize, rng: &mut ChaCha8Rng) -> f64 {
    let base = baseline(plan.organ);
    let noise = (0.25 * (rng.random::<f64>() - 0.5)).exp();
    let t = if n > 1 {
        k as f64 / (n - 1) as f64
    } else {
        1.0
    };
    let f = match plan.trajectory {
        Trajectory::Stable => base,
        Trajectory::Rising => base * (1.0 + 9.0 * t * t),
        Trajectory::Recovering => {
            if k == 0 {
                base * 15.0
            } else {
                base * (1.0 + 3.0 / (k as f64 + 1.0))
            }
        }
        Trajectory::Elevated => elevated(plan.organ),
        Trajectory::Quiescent => base * 0.05,
    };
    (f * noise).min(0.6)
}

fn vcf_header(out: &mut String, samples: &[&str], chroms: &[String]) {
    out.push_str("##fileformat=VCFv4.2\n##source=graftscan-simulate\n");
    for c in chroms {
        let _ = writeln!(out, "##contig=<ID={c}>");
    }
    out.push_str("##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n");
    out.push_str("##FORMAT=<ID=AD,Number=R,Type=Integer,Description=\"Allelic depths\">\n");
    out.push_str("##FORMAT=<ID=DP,Number=1,Type=Integer,Description=\"Read depth\">\n");
    out.push_str("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT");
    for s in samples {
        out.push('\t');
        out.push_str(s);
    }
    out.push('\n');
}

fn gt(g: u8) -> &'static str {
    ["0/0", "0/1", "1/1"][g as usize]
}

fn bgzip(text: &str) -> Result<Vec<u8>> {
    let mut w = noodles_bgzf::io::Writer::new(Vec::new());
    w.write_all(text.as_bytes())
        .map_err(|e| Error::Usage(format!("bgzip: {e}")))?;
    w.finish().map_err(|e| Error::Usage(format!("bgzip: {e}")))
}

/// Render the whole simulated batch into an output set (written atomically by the caller).
pub fn simulate_batch(cfg: &SimulationConfig) -> Result<OutputSet> {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let panel: Vec<PanelSnp> = make_panel(&mut rng, cfg.snps);
    let mut chroms: Vec<String> = panel.iter().map(|s| s.chrom.clone()).collect();
    chroms.dedup();
    let mut set = OutputSet::default();
    let mut panel_tsv = String::from("chrom\tpos\tref\talt\taf\n");
    for s in &panel {
        let _ = writeln!(
            panel_tsv,
            "{}\t{}\t{}\t{}\t{:.4}",
            s.chrom, s.pos, s.ref_base, s.alt_base, s.alt_frequency
        );
    }
    let mut transplants = String::from(
        "transplant_id,organ,transplant_date,relationship,recipient_genotypes,recipient_sample,donor_genotypes,donor_sample,recipient_hla,donor_hla\n",
    );
    let mut antibodies = String::from("transplant_id,serum_date,specificity,mfi,cutoff\n");
    let mut samples = String::from(
        "sample_id,transplant_id,collected,counts,counts_sample,total_cfdna,total_cfdna_unit\n",
    );
    let mut truth = String::from(
        "sample_id,transplant_id,true_donor_fraction,organ,relationship,recipient_typed,donor_typed,trajectory,depth,genome_copies\n",
    );
    let start = NaiveDate::from_ymd_opt(2025, 1, 6).unwrap_or_default();
    for (ti, plan) in cfg.plans.iter().enumerate() {
        let tid = format!("TX{:03}", ti + 1);
        let mut trng = ChaCha8Rng::seed_from_u64(
            cfg.seed ^ (0x9E37_79B9_7F4A_7C15u64.wrapping_mul(ti as u64 + 1)),
        );
        let recipient: Vec<u8> = panel
            .iter()
            .map(|s| draw_hwe_genotype(&mut trng, s.alt_frequency))
            .collect();
        let donor_rel = if plan.relationship == Relationship::Unknown {
            Relationship::Unrelated
        } else {
            plan.relationship
        };
        let donor: Vec<u8> = panel
            .iter()
            .zip(&recipient)
            .map(|(s, &r)| draw_donor_genotype(&mut trng, r, s.alt_frequency, donor_rel))
            .collect();
        // Transplant dates repeat every TRANSPLANT_DATE_CYCLE transplants so
        // that a batch of any size has its last draws (a year later) in the
        // past: scan refuses dates in the future.
        let tx_date = start + Days::new(17 * (ti % TRANSPLANT_DATE_CYCLE) as u64);
        let (recipient_hla, donor_hla) = simulate_hla(&mut trng, donor_rel);
        let rname = format!("{tid}_recipient");
        let dname = format!("{tid}_donor");
        let mut gvcf = String::new();
        let people: Vec<&str> = if plan.donor_typed {
            vec![&rname, &dname]
        } else {
            vec![&rname]
        };
        vcf_header(&mut gvcf, &people, &chroms);
        for (i, s) in panel.iter().enumerate() {
            let _ = write!(
                gvcf,
                "{}\t{}\t.\t{}\t{}\t.\tPASS\t.\tGT\t{}",
                s.chrom,
                s.pos,
                s.ref_base,
                s.alt_base,
                gt(recipient[i])
            );
            if plan.donor_typed {
                let _ = write!(gvcf, "\t{}", gt(donor[i]));
            }
            gvcf.push('\n');
        }
        if plan.recipient_typed {
            set.add(&format!("genotypes/{tid}.vcf"), gvcf.into_bytes());
        }
        let _ = writeln!(
            transplants,
            "{tid},{},{},{},{},{},{},{},{},{}",
            plan.organ,
            tx_date,
            plan.relationship,
            if plan.recipient_typed {
                format!("genotypes/{tid}.vcf")
            } else {
                String::new()
            },
            if plan.recipient_typed {
                rname.as_str()
            } else {
                ""
            },
            if plan.donor_typed {
                format!("genotypes/{tid}.vcf")
            } else {
                String::new()
            },
            if plan.donor_typed { dname.as_str() } else { "" },
            recipient_hla.join(" "),
            donor_hla.join(" "),
        );
        // A donor-specific antibody for every third transplant (against a
        // mismatched donor antigen) and a negative bead for every transplant.
        let mismatched: Vec<&String> = donor_hla
            .iter()
            .filter(|a| !recipient_hla.contains(a))
            .collect();
        if ti % 3 == 1
            && let Some(target) = mismatched.first()
        {
            let mfi: f64 = trng.random_range(2500.0..9000.0);
            let _ = writeln!(
                antibodies,
                "{tid},{},{target},{mfi:.0},1000",
                tx_date + Days::new(30)
            );
        }
        let _ = writeln!(
            antibodies,
            "{tid},{},A80,{:.0},1000",
            tx_date + Days::new(30),
            trng.random_range(100.0..600.0)
        );
        let n = cfg.samples_per_transplant.clamp(1, DRAW_DAYS.len());
        let days: Vec<u64> = match plan.trajectory {
            Trajectory::Recovering => DRAW_DAYS[..n].to_vec(),
            _ => DRAW_DAYS[DRAW_DAYS.len() - n..].to_vec(),
        };
        let mut columns = Vec::new();
        let mut names = Vec::new();
        for (k, &day) in days.iter().enumerate() {
            let f = fraction_at(plan, k, n, &mut trng);
            let sid = format!("{tid}-S{}", k + 1);
            let mut reads = cfg.reads;
            if k + 1 == n
                && let Some(depth) = plan.last_draw_depth
            {
                reads.depth = depth;
            }
            columns.push(simulate_counts(
                &mut trng, &panel, &recipient, &donor, f, &reads,
            ));
            let total_ng: f64 = trng.random_range(4.0..25.0);
            let collected = tx_date + Days::new(day);
            let _ = writeln!(
                samples,
                "{sid},{tid},{collected},counts/{tid}.counts.vcf.gz,{sid},{total_ng:.1},ng_per_ml"
            );
            let _ = writeln!(
                truth,
                "{sid},{tid},{f:.6},{},{},{},{},{},{},{}",
                plan.organ,
                plan.relationship,
                plan.recipient_typed,
                plan.donor_typed,
                plan.trajectory.as_str(),
                if k + 1 == n {
                    plan.last_draw_depth.unwrap_or(cfg.reads.depth)
                } else {
                    cfg.reads.depth
                },
                cfg.reads
                    .genome_copies
                    .map(|g| g.to_string())
                    .unwrap_or_else(|| "unlimited".into())
            );
            names.push(sid);
        }
        let mut cvcf = String::new();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        vcf_header(&mut cvcf, &refs, &chroms);
        for (i, s) in panel.iter().enumerate() {
            let _ = write!(
                cvcf,
                "{}\t{}\t.\t{}\t{}\t.\tPASS\t.\tGT:AD:DP",
                s.chrom, s.pos, s.ref_base, s.alt_base
            );
            for col in &columns {
                let [r, a] = col[i];
                let _ = write!(cvcf, "\t./.:{r},{a}:{}", r + a);
            }
            cvcf.push('\n');
        }
        set.add(&format!("counts/{tid}.counts.vcf.gz"), bgzip(&cvcf)?);
    }
    set.add("transplants.csv", transplants.into_bytes());
    set.add("antibodies.csv", antibodies.into_bytes());
    set.add("samples.csv", samples.into_bytes());
    set.add("panel.tsv", panel_tsv.into_bytes());
    set.add("truth.csv", truth.into_bytes());
    Ok(set)
}
