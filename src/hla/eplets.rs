//! Eplet mismatch from a user-supplied eplet table (doc §4). Eplet data (HLA
//! Eplet Registry, HLAMatchmaker) has no open licence, so graftscan ships none
//! and only does set algebra on the user's table.
//!
//! Self set S of the recipient, per donor allele a at locus L:
//! class I pools A, B and C; DR pools DRB1 and DRB3/4/5; DQA1 is compared with
//! DQA1 and DQB1 with DQB1 (likewise DP); interlocus class II eplets are
//! compared with all recipient class II alleles.
//! Single-molecule mismatch |E(a) \ S|; locus load |∪ₐ (E(a) \ S)|.
//!
//! Wiebe DR/DQ single-molecule categories: Wiebe C et al., Am J Transplant
//! 2013;13:3114 and 2019;19:1708 (HLAMatchmaker 2.2); thresholds for 3.1 per
//! shared/docs/hla-matching.md. Thresholds are configuration, versioned with the
//! eplet table.

use crate::formats::input::{check_input_file, check_text_encoding};
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use crate::error::{Error, InputError, Result};
use crate::hla::nomenclature::{AlleleName, Locus, TypedItem, parse_allele};
use crate::hla::typing::Typing;

/// The locus group an eplet belongs to (column `group` of the table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EpletGroup {
    ClassI,
    Dr,
    Dq,
    Dp,
    /// Shared by several class II loci: compared with all recipient class II.
    InterlocusII,
}

impl EpletGroup {
    pub fn parse(s: &str) -> Option<EpletGroup> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "abc" | "i" | "class_i" | "classi" => EpletGroup::ClassI,
            "dr" => EpletGroup::Dr,
            "dq" => EpletGroup::Dq,
            "dp" => EpletGroup::Dp,
            "ii" | "interlocus" | "interlocus_ii" | "class_ii" => EpletGroup::InterlocusII,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eplet {
    pub name: String,
    pub group: EpletGroup,
    pub antibody_verified: bool,
}

/// allele → eplets, with per-eplet group and antibody-verified flag.
#[derive(Debug, Clone, Default)]
pub struct EpletTable {
    pub version: String,
    pub eplets: Vec<Eplet>,
    by_name: HashMap<String, u32>,
    /// Keyed by the allele name as written (normalised through the parser).
    alleles: HashMap<String, Vec<u32>>,
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" | "1" => Some(true),
        "no" | "n" | "false" | "0" | "" => Some(false),
        _ => None,
    }
}

impl EpletTable {
    /// Build from rows (allele, eplet, group, antibody_verified).
    pub fn from_rows<'a>(
        version: &str,
        rows: impl IntoIterator<Item = (&'a str, &'a str, EpletGroup, bool)>,
    ) -> std::result::Result<EpletTable, String> {
        let mut t = EpletTable {
            version: version.to_string(),
            ..Default::default()
        };
        for (allele, eplet, group, verified) in rows {
            t.add(allele, eplet, group, verified)?;
        }
        Ok(t)
    }

    fn add(
        &mut self,
        allele: &str,
        eplet: &str,
        group: EpletGroup,
        verified: bool,
    ) -> std::result::Result<(), String> {
        let name = parse_allele(allele).map_err(|e| e.0)?.to_string();
        let list = self.alleles.entry(name).or_default();
        let eplet = eplet.trim();
        if eplet.is_empty() {
            return Ok(());
        }
        let id = match self.by_name.get(eplet) {
            Some(&id) => {
                let known = &self.eplets[id as usize];
                if known.group != group || known.antibody_verified != verified {
                    return Err(format!(
                        "eplet {eplet} has conflicting group or antibody_verified values"
                    ));
                }
                id
            }
            None => {
                let id = self.eplets.len() as u32;
                self.eplets.push(Eplet {
                    name: eplet.to_string(),
                    group,
                    antibody_verified: verified,
                });
                self.by_name.insert(eplet.to_string(), id);
                id
            }
        };
        if !list.contains(&id) {
            list.push(id);
        }
        Ok(())
    }

    /// Read a table: `# version: ...` comment, then CSV
    /// `allele,eplet,group,antibody_verified` (one row per allele–eplet pair).
    pub fn read(path: &Path) -> Result<EpletTable> {
        check_input_file(path)?;
        check_text_encoding(path)?;
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let version = text
            .lines()
            .take_while(|l| l.starts_with('#'))
            .find_map(|l| l.trim_start_matches('#').trim().strip_prefix("version:"))
            .map(|v| v.trim().to_string())
            .ok_or_else(|| {
                Error::from(InputError::new(
                    path,
                    "no '# version: ...' line: the eplet table must state its version (the Wiebe thresholds depend on it)",
                ))
            })?;
        let mut reader = csv::ReaderBuilder::new()
            .comment(Some(b'#'))
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| InputError::new(path, format!("cannot read the header: {e}")))?
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect();
        let col = |n: &str| {
            headers
                .iter()
                .position(|h| h == n)
                .ok_or_else(|| Error::from(InputError::new(path, format!("missing column '{n}'"))))
        };
        let (ca, ce, cg, cv) = (
            col("allele")?,
            col("eplet")?,
            col("group")?,
            col("antibody_verified")?,
        );
        let mut table = EpletTable {
            version,
            ..Default::default()
        };
        for rec in reader.records() {
            let rec = rec.map_err(|e| InputError::new(path, format!("malformed row: {e}")))?;
            let line = rec.position().map(|p| p.line()).unwrap_or(0);
            let get = |i: usize| rec.get(i).unwrap_or("");
            let err = |field: &str, msg: String| -> Error {
                InputError::new(path, msg)
                    .at_line(line)
                    .in_field(field)
                    .into()
            };
            let group = if get(ce).is_empty() {
                EpletGroup::ClassI
            } else {
                EpletGroup::parse(get(cg)).ok_or_else(|| {
                    err(
                        "group",
                        format!(
                            "'{}' is not an eplet group (ABC, DR, DQ, DP, interlocus)",
                            get(cg)
                        ),
                    )
                })?
            };
            let verified = parse_bool(get(cv))
                .ok_or_else(|| err("antibody_verified", format!("'{}' is not yes/no", get(cv))))?;
            table
                .add(get(ca), get(ce), group, verified)
                .map_err(|m| err("allele", m))?;
        }
        Ok(table)
    }

    /// The eplets of an allele: the name as typed, else its first two fields.
    pub fn eplets_of(&self, a: &AlleleName) -> Option<&[u32]> {
        self.alleles
            .get(&a.to_string())
            .or_else(|| self.alleles.get(&a.two_field()))
            .map(Vec::as_slice)
    }

    pub fn eplet(&self, id: u32) -> &Eplet {
        &self.eplets[id as usize]
    }
}

/// Which recipient loci form the self set for a donor allele at `locus`.
pub fn self_scope(locus: Locus) -> &'static [Locus] {
    match locus {
        Locus::A | Locus::B | Locus::C => &[Locus::A, Locus::B, Locus::C],
        Locus::Drb1 | Locus::Drb345 => &[Locus::Drb1, Locus::Drb345],
        Locus::Dqa1 => &[Locus::Dqa1],
        Locus::Dqb1 => &[Locus::Dqb1],
        Locus::Dpa1 => &[Locus::Dpa1],
        Locus::Dpb1 => &[Locus::Dpb1],
    }
}

pub const CLASS_TWO: [Locus; 6] = [
    Locus::Drb1,
    Locus::Drb345,
    Locus::Dqa1,
    Locus::Dqb1,
    Locus::Dpa1,
    Locus::Dpb1,
];

/// The recipient's eplets: per locus, and all of class II.
#[derive(Debug, Clone, Default)]
pub struct SelfSets {
    per_locus: HashMap<Locus, BTreeSet<u32>>,
    class_two: BTreeSet<u32>,
}

impl SelfSets {
    pub fn of(recipient: &Typing, table: &EpletTable, missing: &mut Vec<String>) -> SelfSets {
        let mut s = SelfSets::default();
        for (locus, items) in &recipient.loci {
            for item in items {
                let TypedItem::Allele(a) = item else { continue };
                if a.is_null() {
                    continue;
                }
                match table.eplets_of(a) {
                    Some(e) => {
                        s.per_locus.entry(*locus).or_default().extend(e);
                        if CLASS_TWO.contains(locus) {
                            s.class_two.extend(e);
                        }
                    }
                    None => missing.push(format!("recipient {a}")),
                }
            }
        }
        s
    }

    /// Is eplet `e` (of a donor allele at `locus`) self for the recipient?
    pub fn contains(&self, table: &EpletTable, locus: Locus, e: u32) -> bool {
        if table.eplet(e).group == EpletGroup::InterlocusII && !locus.is_class_one() {
            return self.class_two.contains(&e);
        }
        self_scope(locus)
            .iter()
            .any(|l| self.per_locus.get(l).is_some_and(|s| s.contains(&e)))
    }
}

/// Mismatched eplets of one donor allele: E(a) \ S.
pub fn allele_mismatch(
    table: &EpletTable,
    selfs: &SelfSets,
    locus: Locus,
    eplets: &[u32],
) -> BTreeSet<u32> {
    eplets
        .iter()
        .copied()
        .filter(|&e| !selfs.contains(table, locus, e))
        .collect()
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct SingleMolecule {
    pub allele: String,
    pub locus: Locus,
    pub all: u32,
    pub verified: u32,
}

#[derive(Debug, Clone, Copy, Default, serde::Serialize, PartialEq, Eq)]
pub struct Load {
    pub all: u32,
    pub verified: u32,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct EpletLoads {
    pub table_version: String,
    /// |∪(E(a)\S)| per locus typed on both sides.
    pub per_locus: Vec<(Locus, Load)>,
    pub single_molecule: Vec<SingleMolecule>,
    /// DRB1 + DRB3/4/5 union.
    pub dr_load: Option<Load>,
    /// DQA1 + DQB1 union.
    pub dq_load: Option<Load>,
    /// Largest single DR molecule (DRB1 or DRB3/4/5 allele).
    pub dr_single_max: Option<u32>,
    /// Largest DQ heterodimer: every donor DQA1 × DQB1 pairing (phase unknown,
    /// so cis and trans pairs are both considered).
    pub dq_single_max: Option<u32>,
    /// Alleles absent from the eplet table (their eplets are not counted).
    pub missing_alleles: Vec<String>,
}

impl EpletLoads {
    pub fn locus(&self, locus: Locus) -> Option<Load> {
        self.per_locus
            .iter()
            .find(|(l, _)| *l == locus)
            .map(|(_, x)| *x)
    }
}

fn load_of(table: &EpletTable, set: &BTreeSet<u32>) -> Load {
    Load {
        all: set.len() as u32,
        verified: set
            .iter()
            .filter(|&&e| table.eplet(e).antibody_verified)
            .count() as u32,
    }
}

/// HvG eplet loads of a donor against a recipient.
pub fn eplet_loads(recipient: &Typing, donor: &Typing, table: &EpletTable) -> EpletLoads {
    let mut missing = Vec::new();
    let selfs = SelfSets::of(recipient, table, &mut missing);
    let mut per_locus = Vec::new();
    let mut single = Vec::new();
    let mut mm_by_allele: HashMap<Locus, Vec<BTreeSet<u32>>> = HashMap::new();
    for locus in Locus::ALL {
        let recipient_known = if locus == Locus::Drb345 {
            recipient.drb345_known()
        } else {
            recipient.is_typed(locus)
        };
        if !recipient_known || !donor.is_typed(locus) {
            continue;
        }
        let mut union = BTreeSet::new();
        for item in donor.items(locus) {
            let TypedItem::Allele(a) = item else { continue };
            if a.is_null() {
                continue;
            }
            let Some(eplets) = table.eplets_of(a) else {
                missing.push(format!("donor {a}"));
                continue;
            };
            let mm = allele_mismatch(table, &selfs, locus, eplets);
            let l = load_of(table, &mm);
            single.push(SingleMolecule {
                allele: a.to_string(),
                locus,
                all: l.all,
                verified: l.verified,
            });
            union.extend(mm.iter().copied());
            mm_by_allele.entry(locus).or_default().push(mm);
        }
        per_locus.push((locus, load_of(table, &union)));
    }
    let union_of = |loci: &[Locus]| -> Option<Load> {
        let mut any = false;
        let mut u = BTreeSet::new();
        for l in loci {
            if let Some(v) = mm_by_allele.get(l) {
                any = true;
                for s in v {
                    u.extend(s.iter().copied());
                }
            }
        }
        any.then(|| load_of(table, &u))
    };
    let dr_load = union_of(&[Locus::Drb1, Locus::Drb345]);
    let dq_load = union_of(&[Locus::Dqa1, Locus::Dqb1]);
    let dr_single_max = [Locus::Drb1, Locus::Drb345]
        .iter()
        .filter_map(|l| mm_by_allele.get(l))
        .flatten()
        .map(|s| s.len() as u32)
        .max();
    let dq_single_max = match (
        mm_by_allele.get(&Locus::Dqa1),
        mm_by_allele.get(&Locus::Dqb1),
    ) {
        (Some(alpha), Some(beta)) => alpha
            .iter()
            .flat_map(|a| beta.iter().map(move |b| a.union(b).count() as u32))
            .max(),
        (None, Some(beta)) => beta.iter().map(|b| b.len() as u32).max(),
        (Some(alpha), None) => alpha.iter().map(|a| a.len() as u32).max(),
        (None, None) => None,
    };
    missing.sort();
    missing.dedup();
    EpletLoads {
        table_version: table.version.clone(),
        per_locus,
        single_molecule: single,
        dr_load,
        dq_load,
        dr_single_max,
        dq_single_max,
        missing_alleles: missing,
    }
}

/// Wiebe HLA-DR/DQ single-molecule category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WiebeCategory {
    Low,
    Intermediate,
    High,
}

impl WiebeCategory {
    pub fn name(self) -> &'static str {
        match self {
            WiebeCategory::Low => "low",
            WiebeCategory::Intermediate => "intermediate",
            WiebeCategory::High => "high",
        }
    }
}

/// low = (DR < dr_low_below, when set) and DQ < dq_low_below;
/// high = DQ ≥ dq_high_at_least; intermediate otherwise.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WiebeThresholds {
    pub name: String,
    pub dr_low_below: Option<u32>,
    pub dq_low_below: u32,
    pub dq_high_at_least: u32,
}

impl WiebeThresholds {
    /// HLAMatchmaker 2.2 (Wiebe et al. AJT 2019): low DR < 7 and DQ < 9; high DQ ≥ 15.
    pub fn hlamatchmaker_2_2() -> WiebeThresholds {
        WiebeThresholds {
            name: "HLAMatchmaker 2.2".into(),
            dr_low_below: Some(7),
            dq_low_below: 9,
            dq_high_at_least: 15,
        }
    }

    /// HLAMatchmaker 3.1: DQ low < 6, high ≥ 11. shared/docs/hla-matching.md
    /// gives no DR threshold for 3.1, so none is applied; set one in a
    /// thresholds file if your protocol has it.
    pub fn hlamatchmaker_3_1() -> WiebeThresholds {
        WiebeThresholds {
            name: "HLAMatchmaker 3.1".into(),
            dr_low_below: None,
            dq_low_below: 6,
            dq_high_at_least: 11,
        }
    }

    /// The built-in set matching an eplet table version ("2.2", "3.1").
    pub fn for_table_version(version: &str) -> Option<WiebeThresholds> {
        if version.contains("2.2") {
            Some(WiebeThresholds::hlamatchmaker_2_2())
        } else if version.contains("3.1") {
            Some(WiebeThresholds::hlamatchmaker_3_1())
        } else {
            None
        }
    }

    /// `2.2`, `3.1`, or a CSV file `name,dr_low_below,dq_low_below,dq_high_at_least`
    /// (blank `dr_low_below` = no DR criterion).
    pub fn from_spec(spec: &str) -> Result<WiebeThresholds> {
        match spec {
            "2.2" => return Ok(WiebeThresholds::hlamatchmaker_2_2()),
            "3.1" => return Ok(WiebeThresholds::hlamatchmaker_3_1()),
            _ => {}
        }
        let path = Path::new(spec);
        let mut reader = csv::ReaderBuilder::new()
            .comment(Some(b'#'))
            .trim(csv::Trim::All)
            .from_path(path)
            .map_err(|e| {
                InputError::new(
                    path,
                    format!("not 2.2, 3.1 or a readable thresholds CSV: {e}"),
                )
            })?;
        let rec = reader
            .records()
            .next()
            .ok_or_else(|| Error::from(InputError::new(path, "no thresholds row")))?
            .map_err(|e| InputError::new(path, format!("malformed row: {e}")))?;
        let num = |i: usize, field: &str| -> Result<Option<u32>> {
            let v = rec.get(i).unwrap_or("");
            if v.is_empty() {
                return Ok(None);
            }
            v.parse().map(Some).map_err(|_| {
                InputError::new(path, format!("'{v}' is not a whole number"))
                    .at_line(2)
                    .in_field(field)
                    .into()
            })
        };
        let required = |i: usize, field: &str| -> Result<u32> {
            num(i, field)?.ok_or_else(|| {
                InputError::new(path, "required")
                    .at_line(2)
                    .in_field(field)
                    .into()
            })
        };
        Ok(WiebeThresholds {
            name: rec.get(0).unwrap_or("custom").to_string(),
            dr_low_below: num(1, "dr_low_below")?,
            dq_low_below: required(2, "dq_low_below")?,
            dq_high_at_least: required(3, "dq_high_at_least")?,
        })
    }

    pub fn categorise(&self, dr: u32, dq: u32) -> WiebeCategory {
        if dq >= self.dq_high_at_least {
            WiebeCategory::High
        } else if dq < self.dq_low_below && self.dr_low_below.is_none_or(|t| dr < t) {
            WiebeCategory::Low
        } else {
            WiebeCategory::Intermediate
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use EpletGroup::*;

    fn table() -> EpletTable {
        // Synthetic eplets on invented allele names.
        EpletTable::from_rows(
            "test 3.1",
            [
                ("A*90:01", "1AA", ClassI, true),
                ("A*90:01", "2AB", ClassI, false),
                ("B*90:01", "2AB", ClassI, false),
                ("B*90:01", "3BB", ClassI, true),
                ("B*90:02", "4BC", ClassI, false),
                ("B*90:02", "1AA", ClassI, true),
                ("C*90:01", "5CC", ClassI, false),
                ("DRB1*90:01", "10DR", Dr, true),
                ("DRB1*90:02", "11DR", Dr, false),
                ("DRB1*90:02", "12DR", Dr, true),
                ("DRB1*90:03", "11DR", Dr, false),
                ("DRB1*90:03", "13DR", Dr, false),
                ("DRB4*90:01", "12DR", Dr, true),
                ("DQB1*90:01", "20DQ", Dq, false),
                ("DQB1*90:02", "21DQ", Dq, true),
                ("DQB1*90:02", "30II", InterlocusII, true),
                ("DQA1*90:01", "22DQ", Dq, false),
                ("DQA1*90:02", "23DQ", Dq, false),
                ("DPB1*90:01", "30II", InterlocusII, true),
            ],
        )
        .unwrap()
    }

    fn t(gl: &str) -> Typing {
        Typing::parse_gl(gl).unwrap()
    }

    #[test]
    fn class_one_pools_a_b_and_c_for_the_self_set() {
        // Donor B*90:02 carries 1AA, which the recipient has on an A allele:
        // not a mismatch. 4BC is.
        let r = t("A*90:01^B*90:01^C*90:01");
        let d = t("A*90:01^B*90:02^C*90:01");
        let loads = eplet_loads(&r, &d, &table());
        assert_eq!(
            loads.locus(Locus::B),
            Some(Load {
                all: 1,
                verified: 0
            })
        );
        assert_eq!(
            loads.locus(Locus::A),
            Some(Load {
                all: 0,
                verified: 0
            })
        );
    }

    #[test]
    fn single_molecule_and_locus_loads_differ_when_alleles_share_eplets() {
        // Donor DRB1*90:02 (11, 12) + DRB1*90:03 (11, 13) against recipient 90:01:
        // single molecules 2 and 2, locus load |{11,12,13}| = 3.
        let r = t("DRB1*90:01");
        let d = t("DRB1*90:02+DRB1*90:03");
        let loads = eplet_loads(&r, &d, &table());
        let singles: Vec<u32> = loads.single_molecule.iter().map(|s| s.all).collect();
        assert_eq!(singles, vec![2, 2]);
        assert_eq!(
            loads.locus(Locus::Drb1),
            Some(Load {
                all: 3,
                verified: 1
            })
        );
        assert_eq!(loads.dr_single_max, Some(2));
        assert_eq!(
            loads.dr_load,
            Some(Load {
                all: 3,
                verified: 1
            })
        );
    }

    #[test]
    fn dr_pools_drb1_with_drb345_for_the_self_set() {
        // 12DR is on the recipient's DRB4: the donor DRB1*90:02 mismatches only 11.
        let r = t("DRB1*90:01^DRB4*90:01");
        let d = t("DRB1*90:02");
        let loads = eplet_loads(&r, &d, &table());
        assert_eq!(
            loads.locus(Locus::Drb1),
            Some(Load {
                all: 1,
                verified: 0
            })
        );
    }

    #[test]
    fn interlocus_class_two_eplets_compare_against_all_recipient_class_two() {
        // 30II on the recipient's DPB1 makes the donor DQB1's 30II self.
        let r = t("DQB1*90:01^DPB1*90:01");
        let d = t("DQB1*90:02");
        let loads = eplet_loads(&r, &d, &table());
        assert_eq!(
            loads.locus(Locus::Dqb1),
            Some(Load {
                all: 1,
                verified: 1
            })
        );
        let r2 = t("DQB1*90:01");
        let loads2 = eplet_loads(&r2, &d, &table());
        assert_eq!(
            loads2.locus(Locus::Dqb1),
            Some(Load {
                all: 2,
                verified: 2
            })
        );
    }

    #[test]
    fn dq_compares_dqa1_with_dqa1_only() {
        // The donor DQA1's 22DQ is not made self by anything at DQB1.
        let r = t("DQA1*90:02^DQB1*90:01");
        let d = t("DQA1*90:01^DQB1*90:01");
        let loads = eplet_loads(&r, &d, &table());
        assert_eq!(
            loads.locus(Locus::Dqa1),
            Some(Load {
                all: 1,
                verified: 0
            })
        );
        assert_eq!(loads.dq_single_max, Some(1));
    }

    #[test]
    fn wiebe_2_2_boundaries() {
        let w = WiebeThresholds::hlamatchmaker_2_2();
        assert_eq!(w.categorise(6, 8), WiebeCategory::Low);
        assert_eq!(w.categorise(7, 8), WiebeCategory::Intermediate);
        assert_eq!(w.categorise(0, 9), WiebeCategory::Intermediate);
        assert_eq!(w.categorise(0, 14), WiebeCategory::Intermediate);
        assert_eq!(w.categorise(0, 15), WiebeCategory::High);
        assert_eq!(w.categorise(30, 15), WiebeCategory::High);
    }

    #[test]
    fn wiebe_3_1_boundaries() {
        let w = WiebeThresholds::hlamatchmaker_3_1();
        assert_eq!(w.categorise(0, 5), WiebeCategory::Low);
        assert_eq!(w.categorise(0, 6), WiebeCategory::Intermediate);
        assert_eq!(w.categorise(0, 10), WiebeCategory::Intermediate);
        assert_eq!(w.categorise(0, 11), WiebeCategory::High);
        assert_eq!(
            WiebeThresholds::for_table_version("HLAMatchmaker 3.1"),
            Some(w)
        );
    }

    #[test]
    fn thresholds_and_tables_read_from_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("wiebe.csv");
        std::fs::write(
            &p,
            "name,dr_low_below,dq_low_below,dq_high_at_least\nlocal,5,7,12\n",
        )
        .unwrap();
        let w = WiebeThresholds::from_spec(p.to_str().unwrap()).unwrap();
        assert_eq!(w.dr_low_below, Some(5));
        assert_eq!(w.categorise(5, 0), WiebeCategory::Intermediate);

        let e = dir.path().join("eplets.csv");
        std::fs::write(
            &e,
            "# version: synthetic 2.2\nallele,eplet,group,antibody_verified\nA*90:01,1AA,ABC,yes\nA*90:02,1AA,ABC,no\n",
        )
        .unwrap();
        let err = EpletTable::read(&e).unwrap_err().to_string();
        assert!(
            err.contains("conflicting") && err.contains("line 4"),
            "{err}"
        );
        std::fs::write(&e, "allele,eplet,group,antibody_verified\n").unwrap();
        assert!(
            EpletTable::read(&e)
                .unwrap_err()
                .to_string()
                .contains("version")
        );
    }
}
