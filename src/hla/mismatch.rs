//! Antigen- and allele-level mismatch per locus (shared/docs/hla-matching.md §3).
//!
//! Host-versus-graft (HvG, the solid-organ default): a donor item the recipient
//! lacks. Graft-versus-host (GvH): a recipient item the donor lacks.
//! Bidirectional: the larger of the two, per locus. Null alleles are never
//! mismatches (they are not expressed), on either side.

use std::collections::BTreeSet;

use crate::hla::nomenclature::{
    Antigen, Gene, Locus, TypedItem, drb1_family_of_dr_antigen, drb345_expected_from_drb1_family,
};
use crate::hla::release::{GroupKind, Release, SerologySource};
use crate::hla::typing::Typing;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    HostVsGraft,
    GraftVsHost,
    Bidirectional,
}

impl Direction {
    pub fn name(self) -> &'static str {
        match self {
            Direction::HostVsGraft => "HvG",
            Direction::GraftVsHost => "GvH",
            Direction::Bidirectional => "bidirectional",
        }
    }
}

/// Are split antigens equal to their broad (recipient A9 vs donor A23)?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AntigenEquivalence {
    /// Antigens match only by name (A23 ≠ A9 ≠ A24).
    Split,
    /// Both sides are reduced to the broad antigen first (A23 = A9 = A24).
    Broad,
}

/// The level asked for. `Auto`: antigen where every typed item at the locus has
/// serology, allele level otherwise (DQA1, DPA1, DPB1, many C alleles).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LevelRequest {
    Auto,
    Antigen,
    Allele,
    /// P group (identical antigen-recognition-domain protein, hla_nom_p.txt).
    PGroup,
    /// G group (identical ARD nucleotide sequence, hla_nom_g.txt).
    GGroup,
}

/// The level a locus was compared at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Split antigen via rel_dna_ser (or typed serologically).
    Antigen,
    /// Broad antigen via rel_ser_ser.
    BroadAntigen,
    /// First two fields (protein sequence); an `XX` code matches its whole group.
    Allele,
    PGroup,
    GGroup,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Antigen => "antigen",
            Level::BroadAntigen => "broad_antigen",
            Level::Allele => "allele_2field",
            Level::PGroup => "p_group",
            Level::GGroup => "g_group",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct MatchSettings {
    pub direction: Direction,
    /// 1: distinct donor items (solid-organ counting); 2: a homozygous
    /// mismatch counts twice (marrow convention).
    pub homozygous_count: u8,
    pub equivalence: AntigenEquivalence,
    pub level: LevelRequest,
}

impl Default for MatchSettings {
    fn default() -> Self {
        MatchSettings {
            direction: Direction::HostVsGraft,
            homozygous_count: 1,
            equivalence: AntigenEquivalence::Split,
            level: LevelRequest::Auto,
        }
    }
}

/// What one typed copy is compared as.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    Antigen(Antigen),
    /// Gene, first field, second field (`None` for an `XX` code or a 1-field name).
    Allele(Gene, String, Option<String>),
    /// A P or G group name (`A*01:01P`).
    Group(String),
}

impl Key {
    fn matches(&self, other: &Key) -> bool {
        match (self, other) {
            (Key::Antigen(a), Key::Antigen(b)) => a == b,
            (Key::Group(a), Key::Group(b)) => a == b,
            (Key::Allele(g1, f1, s1), Key::Allele(g2, f2, s2)) => {
                g1 == g2
                    && f1 == f2
                    && match (s1, s2) {
                        (Some(x), Some(y)) => x == y,
                        _ => true,
                    }
            }
            _ => false,
        }
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Key::Antigen(a) => write!(f, "{a}"),
            Key::Group(g) => write!(f, "{g}"),
            Key::Allele(g, a, Some(b)) => write!(f, "{}*{a}:{b}", g.name()),
            Key::Allele(g, a, None) => write!(f, "{}*{a}:XX", g.name()),
        }
    }
}

/// A typed copy reduced to a level: the keys it may be (several when the
/// serology is ambiguous), or `None` when it cannot be reduced.
#[derive(Debug, Clone)]
struct Reduced {
    keys: Vec<Key>,
    label: String,
}

pub(crate) fn allele_key(item: &TypedItem) -> Option<Key> {
    match item {
        TypedItem::Allele(a) => Some(Key::Allele(
            a.gene,
            a.fields[0].clone(),
            if a.any_in_group {
                None
            } else {
                a.fields.get(1).cloned()
            },
        )),
        TypedItem::Antigen(_) => None,
    }
}

/// P/G group keys of an allele; its 2-field key where the release lists no
/// group for it (then the allele is its own group at this level).
pub(crate) fn group_keys(item: &TypedItem, release: Option<&Release>, kind: GroupKind) -> Vec<Key> {
    let TypedItem::Allele(a) = item else {
        return Vec::new();
    };
    let groups = release.map(|r| r.groups(a, kind)).unwrap_or_default();
    if groups.is_empty() {
        allele_key(item).into_iter().collect()
    } else {
        groups.into_iter().map(Key::Group).collect()
    }
}

/// The level for a P/G group request, or `None` for other requests.
pub(crate) fn group_level(
    request: LevelRequest,
    all_alleles: bool,
    release: Option<&Release>,
    notes: &mut Vec<String>,
) -> Option<Level> {
    let (kind, level) = match request {
        LevelRequest::PGroup => (GroupKind::P, Level::PGroup),
        LevelRequest::GGroup => (GroupKind::G, Level::GGroup),
        _ => return None,
    };
    if !all_alleles {
        notes.push("serologic typing present: compared at antigen level".to_string());
        return Some(Level::Antigen);
    }
    match release {
        Some(r) if r.has_groups(kind) => Some(level),
        _ => {
            notes.push(format!(
                "no {} file in the release (or no release): compared at allele level",
                if kind == GroupKind::P {
                    "hla_nom_p.txt"
                } else {
                    "hla_nom_g.txt"
                }
            ));
            Some(Level::Allele)
        }
    }
}

pub(crate) fn antigen_keys(
    item: &TypedItem,
    release: Option<&Release>,
    broad: bool,
) -> Option<Vec<Antigen>> {
    let antigens = match item {
        TypedItem::Antigen(a) => vec![*a],
        TypedItem::Allele(a) => {
            let s = release?.serology(a);
            if s.source == SerologySource::None || s.antigens.is_empty() {
                return None;
            }
            s.antigens
        }
    };
    let mut v: Vec<Antigen> = match (broad, release) {
        (true, Some(r)) => antigens.into_iter().map(|a| r.broad(a)).collect(),
        _ => antigens,
    };
    v.sort();
    v.dedup();
    Some(v)
}

/// Per-locus result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LocusMismatch {
    pub locus: Locus,
    pub level: Level,
    /// Mismatch count in the requested direction.
    pub count: u32,
    /// The mismatched items (in the direction that gave `count`).
    pub items: Vec<String>,
    pub hvg: u32,
    pub gvh: u32,
    pub hvg_items: Vec<String>,
    pub gvh_items: Vec<String>,
    /// Why the level differs from the request, items that could not be reduced.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct MatchResult {
    pub loci: Vec<LocusMismatch>,
    /// Classic A/B/DR antigen mismatch (0–6), in the requested direction.
    pub abdr: Option<u32>,
    /// DRB1 ↔ DRB3/4/5 inconsistencies in the recipient or donor typing.
    pub drb_inconsistencies: Vec<String>,
    pub notes: Vec<String>,
}

impl MatchResult {
    pub fn locus(&self, locus: Locus) -> Option<&LocusMismatch> {
        self.loci.iter().find(|l| l.locus == locus)
    }
}

/// The copies of one side at a locus, nulls removed, homozygous expansion
/// applied (one typed copy at a non-DRB345 locus stands for two).
fn copies(items: &[TypedItem], locus: Locus) -> Vec<&TypedItem> {
    let mut v: Vec<&TypedItem> = items.iter().collect();
    if locus != Locus::Drb345 && v.len() == 1 {
        v.push(v[0]);
    }
    v.into_iter().filter(|i| !i.is_null()).collect()
}

/// Count items of `donor` absent from `recipient` (one direction).
fn one_direction(
    donor: &[Reduced],
    recipient: &[Reduced],
    homozygous_count: u8,
) -> (u32, Vec<String>) {
    let mut mismatched: Vec<&Reduced> = Vec::new();
    for d in donor {
        let found = d.keys.iter().any(|k| {
            recipient
                .iter()
                .any(|r| r.keys.iter().any(|rk| k.matches(rk)))
        });
        if !found {
            mismatched.push(d);
        }
    }
    let labels: BTreeSet<String> = mismatched.iter().map(|r| r.label.clone()).collect();
    let count = if homozygous_count >= 2 {
        mismatched.len() as u32
    } else {
        labels.len() as u32
    };
    (count, labels.into_iter().collect())
}

fn compare_locus(
    locus: Locus,
    recipient: &Typing,
    donor: &Typing,
    release: Option<&Release>,
    settings: &MatchSettings,
    request: LevelRequest,
) -> LocusMismatch {
    let r_copies = copies(recipient.items(locus), locus);
    let d_copies = copies(donor.items(locus), locus);
    let all: Vec<&TypedItem> = r_copies.iter().chain(&d_copies).copied().collect();
    let broad = settings.equivalence == AntigenEquivalence::Broad;
    let all_alleles = all.iter().all(|i| matches!(i, TypedItem::Allele(_)));
    let all_have_serology = all
        .iter()
        .all(|i| antigen_keys(i, release, false).is_some());
    let mut notes = Vec::new();
    let group = group_level(request, all_alleles, release, &mut notes);
    let level = match request {
        _ if group.is_some() => group.unwrap_or(Level::Allele),
        LevelRequest::Allele if all_alleles => Level::Allele,
        LevelRequest::Allele => {
            notes.push("serologic typing present: compared at antigen level".to_string());
            Level::Antigen
        }
        LevelRequest::Auto | LevelRequest::Antigen if all_have_serology => Level::Antigen,
        LevelRequest::Auto | LevelRequest::Antigen if all_alleles => {
            if request == LevelRequest::Antigen || release.is_none() {
                notes.push(if release.is_none() {
                    "no IPD-IMGT/HLA release given: compared at allele level".to_string()
                } else {
                    "no serologic equivalent for every allele: compared at allele level".to_string()
                });
            }
            Level::Allele
        }
        _ => {
            notes.push(
                "mixed serologic and molecular typing with alleles lacking serology: those alleles count as mismatched"
                    .to_string(),
            );
            Level::Antigen
        }
    };
    let level = if level == Level::Antigen && broad {
        Level::BroadAntigen
    } else {
        level
    };
    let reduce = |item: &TypedItem| -> Reduced {
        let keys = match level {
            Level::Allele => allele_key(item).into_iter().collect(),
            Level::PGroup => group_keys(item, release, GroupKind::P),
            Level::GGroup => group_keys(item, release, GroupKind::G),
            Level::Antigen | Level::BroadAntigen => antigen_keys(item, release, broad)
                .unwrap_or_default()
                .into_iter()
                .map(Key::Antigen)
                .collect::<Vec<_>>(),
        };
        let label = if keys.is_empty() {
            format!("{item} (no {})", level.name())
        } else {
            keys.iter()
                .map(|k| k.to_string())
                .collect::<Vec<_>>()
                .join("/")
        };
        Reduced { keys, label }
    };
    let r: Vec<Reduced> = r_copies.iter().map(|i| reduce(i)).collect();
    let d: Vec<Reduced> = d_copies.iter().map(|i| reduce(i)).collect();
    let (hvg, hvg_items) = one_direction(&d, &r, settings.homozygous_count);
    let (gvh, gvh_items) = one_direction(&r, &d, settings.homozygous_count);
    let (count, items) = match settings.direction {
        Direction::HostVsGraft => (hvg, hvg_items.clone()),
        Direction::GraftVsHost => (gvh, gvh_items.clone()),
        Direction::Bidirectional if gvh > hvg => (gvh, gvh_items.clone()),
        Direction::Bidirectional => (hvg, hvg_items.clone()),
    };
    LocusMismatch {
        locus,
        level,
        count,
        items,
        hvg,
        gvh,
        hvg_items,
        gvh_items,
        notes,
    }
}

/// DRB1 families predict DRB3/4/5 (doc §3.5). Returns one message per
/// contradiction; only checked where DRB3/4/5 was typed.
pub fn drb_consistency(typing: &Typing) -> Vec<String> {
    let drb345 = typing.items(Locus::Drb345);
    if drb345.is_empty() || !typing.is_typed(Locus::Drb1) {
        return Vec::new();
    }
    let mut expected: BTreeSet<Gene> = BTreeSet::new();
    for item in typing.items(Locus::Drb1) {
        let family = match item {
            TypedItem::Allele(a) => a.fields[0].parse::<u16>().ok(),
            TypedItem::Antigen(a) => drb1_family_of_dr_antigen(a.number),
        };
        match family.and_then(drb345_expected_from_drb1_family) {
            Some(Some(g)) => {
                expected.insert(g);
            }
            Some(None) => {}
            None => return Vec::new(), // Unknown family: no prediction.
        }
    }
    let mut out = Vec::new();
    for item in drb345 {
        let gene = match item {
            TypedItem::Allele(a) => a.gene,
            TypedItem::Antigen(a) => match a.number {
                51 => Gene::Drb5,
                52 => Gene::Drb3,
                _ => Gene::Drb4,
            },
        };
        if !expected.contains(&gene) {
            let exp: Vec<&str> = expected.iter().map(|g| g.name()).collect();
            out.push(format!(
                "{item} typed, but the DRB1 families predict {}",
                if exp.is_empty() {
                    "no DRB3/4/5".to_string()
                } else {
                    exp.join(" and ")
                }
            ));
        }
    }
    out
}

/// Compare a donor with a recipient at every locus typed on both sides.
pub fn compare(
    recipient: &Typing,
    donor: &Typing,
    release: Option<&Release>,
    settings: &MatchSettings,
) -> MatchResult {
    let mut loci = Vec::new();
    let mut notes = Vec::new();
    for locus in Locus::ALL {
        let r_typed = recipient.is_typed(locus);
        let d_typed = donor.is_typed(locus);
        // DRB3/4/5 may legitimately be absent (DRB1*01/08/10): compare it when
        // both sides' DRB3/4/5 content is known (typed, or predicted absent).
        let comparable = if locus == Locus::Drb345 {
            (r_typed || d_typed) && recipient.drb345_known() && donor.drb345_known()
        } else {
            r_typed && d_typed
        };
        if !comparable {
            if locus == Locus::Drb345 && (r_typed || d_typed) {
                notes.push(
                    "DRB345: not typed on one side whose DRB1 families predict DRB3/4/5; not compared"
                        .to_string(),
                );
            } else if r_typed != d_typed {
                notes.push(format!(
                    "{locus}: typed for the {} only; not compared",
                    if r_typed { "recipient" } else { "donor" }
                ));
            }
            continue;
        }
        loci.push(compare_locus(
            locus,
            recipient,
            donor,
            release,
            settings,
            settings.level,
        ));
    }
    // Classic A/B/DR: antigen level whatever the request, each locus 0–2.
    let mut abdr = Some(0u32);
    for locus in [Locus::A, Locus::B, Locus::Drb1] {
        if !(recipient.is_typed(locus) && donor.is_typed(locus)) {
            abdr = None;
            continue;
        }
        let m = compare_locus(
            locus,
            recipient,
            donor,
            release,
            settings,
            LevelRequest::Antigen,
        );
        if m.level == Level::Allele {
            notes.push(format!(
                "A/B/DR mismatch: {locus} counted at allele level (no antigen for every allele)"
            ));
        }
        abdr = abdr.map(|t| t + m.count.min(2));
    }
    let mut drb_inconsistencies = Vec::new();
    for (who, t) in [("recipient", recipient), ("donor", donor)] {
        for m in drb_consistency(t) {
            drb_inconsistencies.push(format!("{who}: {m}"));
        }
    }
    MatchResult {
        loci,
        abdr,
        drb_inconsistencies,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(gl: &str) -> Typing {
        Typing::parse_gl(gl).unwrap()
    }

    fn hvg() -> MatchSettings {
        MatchSettings::default()
    }

    #[test]
    fn recipient_only_items_are_not_hvg_mismatches() {
        let r = t("A*01:01+A*02:01");
        let d = t("A*01:01+A*01:01");
        let m = compare(&r, &d, None, &hvg());
        let a = m.locus(Locus::A).unwrap();
        assert_eq!(a.count, 0, "A*02:01 is the recipient's, not the donor's");
        assert_eq!(a.gvh, 1);
        assert_eq!(a.level, Level::Allele);
    }

    #[test]
    fn homozygous_donor_mismatch_counts_once_or_twice_by_setting() {
        let r = t("A*01:01+A*02:01");
        let d = t("A*03:01"); // one copy typed: homozygous assumed
        let once = compare(&r, &d, None, &hvg());
        assert_eq!(once.locus(Locus::A).unwrap().count, 1);
        let twice = compare(
            &r,
            &d,
            None,
            &MatchSettings {
                homozygous_count: 2,
                ..hvg()
            },
        );
        assert_eq!(twice.locus(Locus::A).unwrap().count, 2);
        assert_eq!(twice.locus(Locus::A).unwrap().items, vec!["A*03:01"]);
        // Written out twice, the same.
        let d2 = t("A*03:01+A*03:01");
        let twice2 = compare(
            &r,
            &d2,
            None,
            &MatchSettings {
                homozygous_count: 2,
                ..hvg()
            },
        );
        assert_eq!(twice2.locus(Locus::A).unwrap().count, 2);
    }

    #[test]
    fn hvg_gvh_and_bidirectional_differ_as_defined() {
        // Recipient homozygous A*01:01; donor A*01:01 + A*02:01.
        let r = t("A*01:01");
        let d = t("A*01:01+A*02:01^B*07:02+B*08:01");
        let r_b = t("A*01:01^B*07:02+B*44:02");
        for (settings, a_count, b_count) in [
            (Direction::HostVsGraft, 1, 1),
            (Direction::GraftVsHost, 0, 1),
            (Direction::Bidirectional, 1, 1),
        ] {
            let m = compare(
                &r_b,
                &d,
                None,
                &MatchSettings {
                    direction: settings,
                    ..hvg()
                },
            );
            assert_eq!(m.locus(Locus::A).unwrap().count, a_count, "{settings:?}");
            assert_eq!(m.locus(Locus::B).unwrap().count, b_count, "{settings:?}");
        }
        // GvH: the recipient's A*02:01 is absent in a homozygous A*01:01 donor.
        let m = compare(
            &d,
            &r,
            None,
            &MatchSettings {
                direction: Direction::GraftVsHost,
                ..hvg()
            },
        );
        assert_eq!(m.locus(Locus::A).unwrap().items, vec!["A*02:01"]);
        let bi = compare(
            &d,
            &r,
            None,
            &MatchSettings {
                direction: Direction::Bidirectional,
                ..hvg()
            },
        );
        assert_eq!(bi.locus(Locus::A).unwrap().count, 1);
        assert_eq!(bi.locus(Locus::A).unwrap().hvg, 0);
    }

    #[test]
    fn drb3_4_5_are_pooled_as_one_locus() {
        // Recipient carries DRB4; donor carries DRB3 and DRB4: one DRB345 mismatch.
        let r = t("DRB1*04:01+DRB1*07:01^DRB4*01:01");
        let d = t("DRB1*03:01~DRB3*01:01+DRB1*04:01~DRB4*01:01");
        let m = compare(&r, &d, None, &hvg());
        let pooled = m.locus(Locus::Drb345).unwrap();
        assert_eq!(pooled.count, 1);
        assert_eq!(pooled.items, vec!["DRB3*01:01"]);
        assert!(
            m.drb_inconsistencies.is_empty(),
            "{:?}",
            m.drb_inconsistencies
        );
    }

    #[test]
    fn untyped_drb345_is_not_counted_unless_drb1_predicts_none() {
        // Recipient DRB1*03/04 without DRB3/4/5 typing: unknown, not "none".
        let d = t("DRB1*03:01~DRB3*01:01+DRB1*04:01~DRB4*01:01");
        let r = t("DRB1*03:01+DRB1*04:01");
        assert!(compare(&r, &d, None, &hvg()).locus(Locus::Drb345).is_none());
        // Recipient DRB1*01/08: no DRB3/4/5 genes, so both donor genes mismatch.
        let r = t("DRB1*01:01+DRB1*08:01");
        assert_eq!(
            compare(&r, &d, None, &hvg())
                .locus(Locus::Drb345)
                .unwrap()
                .count,
            2
        );
    }

    #[test]
    fn drb1_family_contradicting_drb345_is_flagged() {
        let r = t("DRB1*01:01+DRB1*08:01^DRB4*01:01");
        let flags = drb_consistency(&r);
        assert_eq!(flags.len(), 1);
        assert!(flags[0].contains("no DRB3/4/5"), "{flags:?}");
    }

    #[test]
    fn null_alleles_are_never_mismatches() {
        let r = t("A*02:01+A*03:01");
        let d = t("A*01:01:01:02N+A*02:01");
        let m = compare(&r, &d, None, &hvg());
        assert_eq!(m.locus(Locus::A).unwrap().count, 0);
        // And a recipient null is not a self item either.
        let r2 = t("A*01:01:01:02N+A*02:01");
        let d2 = t("A*01:01+A*02:01");
        let m2 = compare(&r2, &d2, None, &hvg());
        assert_eq!(m2.locus(Locus::A).unwrap().count, 1);
    }

    #[test]
    fn gl_precedence_decides_what_is_compared() {
        // '/' ambiguity: the first alternative is used; '~' phase puts DRB4 in
        // the pooled locus, not in DRB1.
        let r = t("A*02:01+A*03:01^DRB1*04:01+DRB1*07:01^DRB4*01:01");
        let d = t("A*02:01/A*24:02+A*03:01^DRB1*04:01~DRB4*01:01+DRB1*07:01");
        let m = compare(&r, &d, None, &hvg());
        assert_eq!(m.locus(Locus::A).unwrap().count, 0);
        assert_eq!(m.locus(Locus::Drb1).unwrap().count, 0);
        assert_eq!(m.locus(Locus::Drb345).unwrap().count, 0);
        // '|': the first genotype is used.
        let d2 = t("A*24:02+A*03:01|A*02:01+A*03:01");
        assert_eq!(
            compare(&r, &d2, None, &hvg())
                .locus(Locus::A)
                .unwrap()
                .items,
            vec!["A*24:02"]
        );
    }

    #[test]
    fn serologic_typings_compare_at_antigen_level_without_a_release() {
        let r = t("A2+A24^B44+B62^DR15+DR17");
        let d = t("A2+A23^B44+B44^DR15+DR4");
        let m = compare(&r, &d, None, &hvg());
        assert_eq!(m.locus(Locus::A).unwrap().level, Level::Antigen);
        assert_eq!(m.locus(Locus::A).unwrap().items, vec!["A23"]);
        assert_eq!(m.abdr, Some(2));
    }

    #[test]
    fn xx_code_matches_any_allele_of_its_group() {
        let r = t("A*02:XX+A*03:01");
        let d = t("A*02:05+A*03:01");
        assert_eq!(
            compare(&r, &d, None, &hvg()).locus(Locus::A).unwrap().count,
            0
        );
    }
}
