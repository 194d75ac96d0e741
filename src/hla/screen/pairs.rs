//! One pair's loads decoded from its segment counts, and their CSV rows.
//!
//! A blank cell means "not compared" (a locus typed on one side only, DRB3/4/5
//! of unknown content, no alignment for an amino-acid locus, ...), never 0.

use crate::hla::eplets::{WiebeCategory, WiebeThresholds};
use crate::hla::mismatch::count_locus;
use crate::hla::nomenclature::Locus;
use crate::hla::screen::plan::{DRB345_KNOWN, PersonCode, Purpose, ScreenPlan, eplet_seg};
use crate::hla::typing::Typing;

/// Loads of one pair, decoded from its segment counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairLoads {
    /// Per locus (Locus::ALL order); `None` where not comparable.
    pub mismatches: [Option<u32>; 9],
    pub abdr: Option<u32>,
    /// Bw4/Bw6 (`--bw4-bw6 compare`, both sides typed).
    pub public_epitopes: Option<u32>,
    /// Amino-acid mismatches per locus and their sum.
    pub aa: [Option<u32>; 9],
    pub aa_total: Option<u32>,
    pub eplet_loads: [Option<u32>; 9],
    pub eplet_loads_verified: [Option<u32>; 9],
    pub dr_load: Option<u32>,
    pub dq_load: Option<u32>,
    pub dr_load_verified: Option<u32>,
    pub dq_load_verified: Option<u32>,
    pub dr_single_max: Option<u32>,
    pub dq_single_max: Option<u32>,
    pub wiebe: Option<WiebeCategory>,
}

impl PairLoads {
    pub fn total_mismatches(&self) -> u32 {
        self.mismatches.iter().flatten().sum()
    }
}

/// The two people of a pair, for the decoder.
#[derive(Clone, Copy)]
pub struct Pair<'t> {
    pub recipient: &'t Typing,
    pub donor: &'t Typing,
    pub r: PersonCode,
    pub d: PersonCode,
}

fn typed(mask: u16, l: Locus) -> bool {
    mask & (1 << l.index()) != 0
}

/// `mismatch::comparable`, on the typed masks.
fn comparable(r: u16, d: u16, l: Locus) -> bool {
    if l == Locus::Drb345 {
        r & d & DRB345_KNOWN != 0 && (typed(r, l) || typed(d, l))
    } else {
        typed(r, l) && typed(d, l)
    }
}

pub fn decode_pair(
    counts: &[u32],
    pair: Pair<'_>,
    plan: &ScreenPlan<'_>,
    thresholds: Option<&WiebeThresholds>,
) -> PairLoads {
    let settings = &plan.settings;
    let direction = settings.direction;
    let (rt, dt) = (pair.r.typed, pair.d.typed);
    let mut mismatches = [None; 9];
    let mut abdr_counts = [None; 9];
    for (li, layout) in plan.layouts.iter().enumerate() {
        let l = layout.locus;
        if !comparable(rt, dt, l) {
            continue;
        }
        let value = if (pair.r.overflow | pair.d.overflow) & (1 << li) != 0 {
            // More alternatives than slots: the same count as `scan`, on the host.
            let c = count_locus(
                &plan.alternatives(layout, pair.recipient),
                &plan.alternatives(layout, pair.donor),
                settings,
            );
            direction.pick(c.hvg, c.gvh)
        } else {
            let n = layout.combos();
            let hvg = &counts[layout.hvg_seg..layout.hvg_seg + n];
            let values = (0..n).map(|i| {
                let gvh = layout.gvh_seg.map_or(0, |g| counts[g + i]);
                direction.pick(hvg[i], gvh)
            });
            settings.ambiguity.choose(values).map_or(0, |(_, v)| v)
        };
        match layout.purpose {
            Purpose::Count => {
                mismatches[l.index()] = Some(value);
                if plan.layouts.iter().all(|x| x.purpose == Purpose::Count) {
                    abdr_counts[l.index()] = Some(value);
                }
            }
            Purpose::Abdr => abdr_counts[l.index()] = Some(value),
        }
    }
    let abdr = [Locus::A, Locus::B, Locus::Drb1]
        .iter()
        .map(|l| abdr_counts[l.index()].map(|c| c.min(2)))
        .sum::<Option<u32>>();

    let public_epitopes = plan.public_seg.and_then(|s| {
        (pair.r.has_public_epitopes && pair.d.has_public_epitopes).then(|| {
            let gvh = if plan.gvh { counts[s + 1] } else { 0 };
            direction.pick(counts[s], gvh)
        })
    });

    let mut aa = [None; 9];
    if let Some(s) = plan.aa_seg {
        let missing = pair.r.aa_missing | pair.d.aa_missing | plan.aa_excluded;
        for l in Locus::ALL {
            let i = l.index();
            if comparable(rt, dt, l) && missing & (1 << i) == 0 {
                let gvh = if plan.gvh { counts[s + 9 + i] } else { 0 };
                aa[i] = Some(direction.pick(counts[s + i], gvh));
            }
        }
    }
    let aa_total = aa
        .iter()
        .any(Option::is_some)
        .then(|| aa.iter().flatten().sum());

    let mut eplet_loads = [None; 9];
    let mut eplet_loads_verified = [None; 9];
    let mut out = PairLoads {
        mismatches,
        abdr,
        public_epitopes,
        aa,
        aa_total,
        eplet_loads,
        eplet_loads_verified,
        dr_load: None,
        dq_load: None,
        dr_load_verified: None,
        dq_load_verified: None,
        dr_single_max: None,
        dq_single_max: None,
        wiebe: None,
    };
    let Some(e0) = plan.eplet_seg else {
        return out;
    };
    let counts = &counts[e0..e0 + eplet_seg::COUNT];
    for l in Locus::ALL {
        // Eplet loads: donor typed, and recipient typed (DRB3/4/5: known).
        let recipient_known = if l == Locus::Drb345 {
            rt & DRB345_KNOWN != 0
        } else {
            typed(rt, l)
        };
        if typed(dt, l) && recipient_known {
            eplet_loads[l.index()] = Some(counts[eplet_seg::ALL + l.index()]);
            eplet_loads_verified[l.index()] = Some(counts[eplet_seg::VERIFIED + l.index()]);
        }
    }
    let has = |l: Locus| eplet_loads[l.index()].is_some();
    // A union segment only where both loci are comparable; else the one that is.
    let union_or_single = |x: Locus, y: Locus, union: usize, verified: bool| -> Option<u32> {
        let single = |l: Locus| {
            if verified {
                eplet_loads_verified[l.index()]
            } else {
                eplet_loads[l.index()]
            }
        };
        match (has(x), has(y)) {
            (true, true) => Some(counts[union]),
            (true, false) => single(x),
            (false, true) => single(y),
            (false, false) => None,
        }
    };
    let dr_single_max = if has(Locus::Drb1) || has(Locus::Drb345) {
        let mut v = Vec::new();
        if has(Locus::Drb1) {
            v.extend_from_slice(&counts[eplet_seg::DR_MOLECULES..eplet_seg::DR_MOLECULES + 2]);
        }
        if has(Locus::Drb345) {
            v.extend_from_slice(&counts[eplet_seg::DR_MOLECULES + 2..eplet_seg::DR_MOLECULES + 4]);
        }
        v.into_iter().max()
    } else {
        None
    };
    let max_of = |from: usize| counts[from..from + 2].iter().copied().max();
    let dq_single_max = match (has(Locus::Dqa1), has(Locus::Dqb1)) {
        (true, true) => counts[eplet_seg::DQ_MOLECULES..eplet_seg::DQ_MOLECULES + 4]
            .iter()
            .copied()
            .max(),
        (true, false) => max_of(eplet_seg::DQ_CHAINS),
        (false, true) => max_of(eplet_seg::DQ_CHAINS + 2),
        (false, false) => None,
    };
    out.dr_load = union_or_single(Locus::Drb1, Locus::Drb345, eplet_seg::DR_UNION, false);
    out.dq_load = union_or_single(Locus::Dqa1, Locus::Dqb1, eplet_seg::DQ_UNION, false);
    out.dr_load_verified = union_or_single(
        Locus::Drb1,
        Locus::Drb345,
        eplet_seg::DR_UNION_VERIFIED,
        true,
    );
    out.dq_load_verified =
        union_or_single(Locus::Dqa1, Locus::Dqb1, eplet_seg::DQ_UNION_VERIFIED, true);
    out.dr_single_max = dr_single_max;
    out.dq_single_max = dq_single_max;
    out.wiebe = match (thresholds, dr_single_max, dq_single_max) {
        (Some(t), Some(dr), Some(dq)) => Some(t.categorise(dr, dq)),
        _ => None,
    };
    out.eplet_loads = eplet_loads;
    out.eplet_loads_verified = eplet_loads_verified;
    out
}

fn opt(v: Option<u32>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// Quote a CSV field when needed.
pub fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Which optional column groups a screen writes.
#[derive(Debug, Clone, Copy)]
pub struct Columns {
    pub eplets: bool,
    pub public_epitopes: bool,
    pub amino_acids: bool,
}

pub fn pairs_header(c: Columns) -> String {
    let mut h = vec!["recipient_id".to_string(), "donor_id".to_string()];
    for l in Locus::ALL {
        h.push(format!("mm_{}", l.name()));
    }
    h.push("abdr_mismatch".into());
    if c.public_epitopes {
        h.push("mm_bw4_bw6".into());
    }
    if c.amino_acids {
        for l in Locus::ALL {
            h.push(format!("aa_{}", l.name()));
        }
        h.push("aa_total".into());
    }
    if c.eplets {
        for l in Locus::ALL {
            h.push(format!("eplets_{}", l.name()));
        }
        for l in Locus::ALL {
            h.push(format!("eplets_verified_{}", l.name()));
        }
        for name in [
            "dr_eplet_load",
            "dq_eplet_load",
            "dr_eplet_load_verified",
            "dq_eplet_load_verified",
            "dr_single_molecule_max",
            "dq_single_molecule_max",
            "wiebe_category",
        ] {
            h.push(name.into());
        }
    }
    h.join(",") + "\n"
}

pub fn pair_row(out: &mut String, recipient: &str, donor: &str, p: &PairLoads, c: Columns) {
    use std::fmt::Write;
    let _ = write!(out, "{},{}", field(recipient), field(donor));
    for m in p.mismatches {
        let _ = write!(out, ",{}", opt(m));
    }
    let _ = write!(out, ",{}", opt(p.abdr));
    if c.public_epitopes {
        let _ = write!(out, ",{}", opt(p.public_epitopes));
    }
    if c.amino_acids {
        for m in p.aa {
            let _ = write!(out, ",{}", opt(m));
        }
        let _ = write!(out, ",{}", opt(p.aa_total));
    }
    if c.eplets {
        for m in p.eplet_loads.iter().chain(&p.eplet_loads_verified) {
            let _ = write!(out, ",{}", opt(*m));
        }
        let _ = write!(
            out,
            ",{},{},{},{},{},{},{}",
            opt(p.dr_load),
            opt(p.dq_load),
            opt(p.dr_load_verified),
            opt(p.dq_load_verified),
            opt(p.dr_single_max),
            opt(p.dq_single_max),
            p.wiebe.map(|w| w.name()).unwrap_or("")
        );
    }
    out.push('\n');
}

/// How donors are ranked per recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RankBy {
    /// Total antigen/allele mismatches, then A/B/DR, DQ and DR eplet loads.
    Mismatches,
    /// DQ eplet load, then DR eplet load, then total mismatches.
    Eplets,
    /// Total amino-acid mismatches, then total antigen/allele mismatches.
    AminoAcids,
}

/// Ranking key: smaller is better; ties broken by donor order.
pub type RankKey = (u32, u32, u32, u32, usize);

pub fn rank_key(p: &PairLoads, by: RankBy, donor: usize) -> RankKey {
    let big = u32::MAX;
    match by {
        RankBy::Mismatches => (
            p.total_mismatches(),
            p.abdr.unwrap_or(big),
            p.dq_load.unwrap_or(big),
            p.dr_load.unwrap_or(big),
            donor,
        ),
        RankBy::Eplets => (
            p.dq_load.unwrap_or(big),
            p.dr_load.unwrap_or(big),
            p.total_mismatches(),
            p.abdr.unwrap_or(big),
            donor,
        ),
        RankBy::AminoAcids => (
            p.aa_total.unwrap_or(big),
            p.total_mismatches(),
            p.abdr.unwrap_or(big),
            0,
            donor,
        ),
    }
}
