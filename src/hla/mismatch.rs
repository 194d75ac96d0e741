//! Antigen- and allele-level mismatch per locus (shared/docs/hla-matching.md §3).
//!
//! Host-versus-graft (HvG, the solid-organ default): a donor item the recipient
//! lacks. Graft-versus-host (GvH): a recipient item the donor lacks.
//! Bidirectional: the larger of the two, per locus (HvG on a tie).
//!
//! This module holds the one counting rule that both `scan` (pair by pair,
//! here) and `hla screen` (as bitsets for the `hla_mismatch` kernel, in
//! `hla::screen`) apply: [`counted_copies`] lists what one side contributes,
//! [`covers`] says whether the other side carries it, and a count is the
//! number of contributed copies not covered. The screen sets one bit per
//! contributed copy and one bit per covered vocabulary entry, so its popcount
//! is this count by construction; the tests check both paths agree.
//!
//! Conventions (each one stated in the README):
//! - A null (`N`) allele is never a mismatch and never self. An expressed
//!   allele beside a null is functionally homozygous: with
//!   `--homozygous-count 2` it counts twice, unless the other person also
//!   carries a null at that locus (then the nulls pair off and it counts once).
//! - One typed copy is read as homozygous (not at DRB3/4/5, which has 0–2 genes).
//! - An allele whose serology is ambiguous (B*13:04: possible B15/B21) is one
//!   item; it is carried by the other side when that side has any of its antigens.
//! - An associated antigen (A2403, DR1403) is its own antigen by default
//!   (`--associated distinct`), or its parent (`--associated parent`).
//! - Ambiguous typings (GL `/` and `|`) are resolved per locus by
//!   `--ambiguity`: `worst` (default: the genotypes giving the most mismatches
//!   in the requested direction, the safe reading for HvG risk), `best`, or
//!   `first` (the first alternative as written); every resolution is reported.

use std::collections::{BTreeSet, HashSet};

use crate::hla::nomenclature::{
    Antigen, Gene, Locus, PublicEpitope, TypedItem, drb1_family_of_dr_antigen,
    drb345_expected_from_drb1_family,
};
use crate::hla::release::{GroupKind, Release, SerologySource};
use crate::hla::typing::{Typing, genotypes_text};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    HostVsGraft,
    GraftVsHost,
    Bidirectional,
}

impl serde::Serialize for Direction {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl Direction {
    pub fn name(self) -> &'static str {
        match self {
            Direction::HostVsGraft => "HvG",
            Direction::GraftVsHost => "GvH",
            Direction::Bidirectional => "bidirectional",
        }
    }

    /// The count reported for this direction from the two one-way counts.
    pub fn pick(self, hvg: u32, gvh: u32) -> u32 {
        match self {
            Direction::HostVsGraft => hvg,
            Direction::GraftVsHost => gvh,
            Direction::Bidirectional => hvg.max(gvh),
        }
    }

    /// Which one-way count (and item list) the reported count is: in
    /// bidirectional mode the larger, HvG on a tie.
    pub fn reported_side(self, hvg: u32, gvh: u32) -> Direction {
        match self {
            Direction::Bidirectional if gvh > hvg => Direction::GraftVsHost,
            Direction::Bidirectional => Direction::HostVsGraft,
            d => d,
        }
    }
}

/// Are split antigens equal to their broad (recipient A9 vs donor A23)?
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AntigenEquivalence {
    /// Antigens match only by name (A23 ≠ A9 ≠ A24).
    Split,
    /// Both sides are reduced to the broad antigen first (A23 = A9 = A24).
    Broad,
}

/// Is an associated antigen (A2403 of A24, DR1403 of DR14, A203 of A2) its
/// parent's equal?
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AssociatedAntigens {
    /// Its own antigen: A2403 against A24 is a mismatch (the default: never
    /// hides a difference the serology records).
    Distinct,
    /// Read as its parent: A2403 = A24, DR1403 = DR14.
    Parent,
}

/// How an ambiguous typing is resolved, per locus and comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ambiguity {
    /// The first alternative as written.
    First,
    /// The alternatives giving the most mismatches (the default for HvG risk).
    Worst,
    /// The alternatives giving the fewest mismatches.
    Best,
}

impl Ambiguity {
    pub fn name(self) -> &'static str {
        match self {
            Ambiguity::First => "first",
            Ambiguity::Worst => "worst",
            Ambiguity::Best => "best",
        }
    }

    /// Index of the chosen combination: `First` takes index 0, `Worst` the
    /// first maximum, `Best` the first minimum (enumeration order: donor
    /// alternative major, recipient alternative minor). `None` when empty.
    pub fn choose(self, values: impl IntoIterator<Item = u32>) -> Option<(usize, u32)> {
        let mut chosen: Option<(usize, u32)> = None;
        for (i, v) in values.into_iter().enumerate() {
            chosen = match (self, chosen) {
                (_, None) => Some((i, v)),
                (Ambiguity::First, c) => c,
                (Ambiguity::Worst, Some((j, w))) => Some(if v > w { (i, v) } else { (j, w) }),
                (Ambiguity::Best, Some((j, w))) => Some(if v < w { (i, v) } else { (j, w) }),
            };
        }
        chosen
    }
}

/// Bw4/Bw6 public epitopes: compared as their own row, or ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PublicEpitopes {
    /// Read and listed in the notes, never counted (the default: the classic
    /// A/B/DR counting has no Bw term).
    Ignore,
    /// Donor Bw4/Bw6 the recipient lacks (HvG), as a separate count, when both
    /// sides typed them.
    Compare,
}

/// The level asked for. `Auto` and `Antigen`: split antigen via the release,
/// an allele without a serologic equivalent compared as an allele (DQA1,
/// DPA1, DPB1, many C alleles).
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
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

    pub fn is_antigen(self) -> bool {
        matches!(self, Level::Antigen | Level::BroadAntigen)
    }
}

#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct MatchSettings {
    pub direction: Direction,
    /// 1: distinct donor items (solid-organ counting); 2: a homozygous
    /// mismatch counts twice (marrow convention).
    pub homozygous_count: u8,
    pub equivalence: AntigenEquivalence,
    pub associated: AssociatedAntigens,
    #[serde(skip)]
    pub level: LevelRequest,
    pub ambiguity: Ambiguity,
    pub public_epitopes: PublicEpitopes,
}

impl Default for MatchSettings {
    fn default() -> Self {
        MatchSettings {
            direction: Direction::HostVsGraft,
            homozygous_count: 1,
            equivalence: AntigenEquivalence::Split,
            associated: AssociatedAntigens::Distinct,
            level: LevelRequest::Auto,
            ambiguity: Ambiguity::Worst,
            public_epitopes: PublicEpitopes::Ignore,
        }
    }
}

/// An allele reduced to its first two fields (`None`: an `XX` code or a
/// 1-field name, which matches any allele of its group).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    Allele(Gene, String, Option<String>),
}

impl Key {
    fn matches(&self, other: &Key) -> bool {
        let (Key::Allele(g1, f1, s1), Key::Allele(g2, f2, s2)) = (self, other);
        g1 == g2
            && f1 == f2
            && match (s1, s2) {
                (Some(x), Some(y)) => x == y,
                _ => true,
            }
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Key::Allele(g, a, Some(b)) => write!(f, "{}*{a}:{b}", g.name()),
            Key::Allele(g, a, None) => write!(f, "{}*{a}:XX", g.name()),
        }
    }
}

/// How a typed copy is compared at a level.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyKind {
    /// By its antigen(s).
    Antigen,
    /// As a 2-field allele (no serologic equivalent, or allele level).
    Allele(Key),
    /// By its P or G group(s).
    Groups(Vec<String>),
}

/// One typed copy as compared: its kind at the level, and its antigens (for
/// a comparison with a serologic typing on the other side).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ItemKey {
    pub kind: KeyKind,
    pub antigens: Option<Vec<Antigen>>,
}

impl ItemKey {
    /// Does the other side's copy `other` carry this item? Alleles compare at
    /// the level; as soon as one side is an antigen (typed serologically, or
    /// an allele compared at antigen level), antigens compare, and an allele
    /// without a serologic equivalent matches no antigen.
    pub fn matches(&self, other: &ItemKey) -> bool {
        match (&self.kind, &other.kind) {
            (KeyKind::Allele(a), KeyKind::Allele(b)) => a.matches(b),
            (KeyKind::Groups(a), KeyKind::Groups(b)) => a.iter().any(|g| b.contains(g)),
            (KeyKind::Groups(_), KeyKind::Allele(_)) | (KeyKind::Allele(_), KeyKind::Groups(_)) => {
                false
            }
            _ => match (&self.antigens, &other.antigens) {
                (Some(a), Some(b)) => a.iter().any(|x| b.contains(x)),
                _ => false,
            },
        }
    }

    pub fn label(&self) -> String {
        match &self.kind {
            KeyKind::Antigen => self
                .antigens
                .as_deref()
                .unwrap_or(&[])
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join("/"),
            KeyKind::Allele(k) => k.to_string(),
            KeyKind::Groups(g) => g.join("/"),
        }
    }
}

/// The level a request resolves to, and why it differs from the request.
pub fn resolve_level(
    request: LevelRequest,
    equivalence: AntigenEquivalence,
    release: Option<&Release>,
) -> (Level, Option<String>) {
    let antigen = match equivalence {
        AntigenEquivalence::Split => Level::Antigen,
        AntigenEquivalence::Broad => Level::BroadAntigen,
    };
    let (kind, level, file) = match request {
        LevelRequest::Auto | LevelRequest::Antigen => return (antigen, None),
        LevelRequest::Allele => return (Level::Allele, None),
        LevelRequest::PGroup => (GroupKind::P, Level::PGroup, "hla_nom_p.txt"),
        LevelRequest::GGroup => (GroupKind::G, Level::GGroup, "hla_nom_g.txt"),
    };
    match release {
        Some(r) if r.has_groups(kind) => (level, None),
        _ => (
            Level::Allele,
            Some(format!(
                "no wmda/{file} in the release (or no release): compared at allele level"
            )),
        ),
    }
}

/// Reduces typed items to [`ItemKey`]s at one level.
#[derive(Clone, Copy)]
pub struct Reducer<'a> {
    pub release: Option<&'a Release>,
    pub settings: &'a MatchSettings,
    pub level: Level,
}

/// The copies of one side at a locus, in one genotype alternative, as compared.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Copies {
    /// Expressed copies in order (a homozygous or null-paired copy repeated).
    pub keys: Vec<ItemKey>,
    /// The second key stands in for a null allele beside an expressed one.
    pub null_partner: bool,
    /// This side carries a null allele at the locus.
    pub carries_null: bool,
}

/// One genotype alternative of one side at a locus.
#[derive(Debug, Clone)]
pub struct Alternative {
    pub copies: Copies,
    /// The typed items chosen (one per copy), as written.
    pub typed: Vec<TypedItem>,
}

impl Alternative {
    /// `A*24:10+A*01:01 (A2403+A1)`.
    pub fn describe(&self) -> String {
        let typed: Vec<String> = self.typed.iter().map(|i| i.to_string()).collect();
        let keys: Vec<String> = self.copies.keys.iter().map(ItemKey::label).collect();
        let typed = if typed.is_empty() {
            "no gene".to_string()
        } else {
            typed.join("+")
        };
        if keys.is_empty() {
            format!("{typed} (nothing expressed)")
        } else {
            format!("{typed} ({})", keys.join("+"))
        }
    }
}

/// Genotype alternatives enumerated per person and locus; beyond this the
/// first alternative is used and a note says so.
pub const MAX_ALTERNATIVES: usize = 64;

impl Reducer<'_> {
    fn map_antigen(&self, a: Antigen) -> Antigen {
        let Some(r) = self.release else { return a };
        let a = match self.settings.associated {
            AssociatedAntigens::Parent => r.associated_parent(a),
            AssociatedAntigens::Distinct => a,
        };
        if self.level == Level::BroadAntigen {
            r.broad_of_split(a)
        } else {
            a
        }
    }

    /// The antigens of an item (mapped by the equivalence settings), or
    /// `None` when it has no serologic equivalent.
    pub fn antigens(&self, item: &TypedItem) -> Option<Vec<Antigen>> {
        let raw = match item {
            TypedItem::Antigen(a) => vec![*a],
            TypedItem::Allele(a) => {
                let s = self.release?.serology(a);
                if s.source == SerologySource::None || s.antigens.is_empty() {
                    return None;
                }
                s.antigens
            }
        };
        let mut v: Vec<Antigen> = raw.into_iter().map(|a| self.map_antigen(a)).collect();
        v.sort();
        v.dedup();
        Some(v)
    }

    /// An expressed item as compared at this level.
    pub fn key(&self, item: &TypedItem) -> ItemKey {
        let antigens = self.antigens(item);
        let TypedItem::Allele(a) = item else {
            return ItemKey {
                kind: KeyKind::Antigen,
                antigens,
            };
        };
        let allele = Key::Allele(
            a.gene,
            a.fields[0].clone(),
            if a.any_in_group {
                None
            } else {
                a.fields.get(1).cloned()
            },
        );
        let kind = match self.level {
            Level::Antigen | Level::BroadAntigen if antigens.is_some() => KeyKind::Antigen,
            Level::Antigen | Level::BroadAntigen | Level::Allele => KeyKind::Allele(allele),
            Level::PGroup | Level::GGroup => {
                let kind = if self.level == Level::PGroup {
                    GroupKind::P
                } else {
                    GroupKind::G
                };
                let groups = self.release.map(|r| r.groups(a, kind)).unwrap_or_default();
                if groups.is_empty() {
                    KeyKind::Allele(allele)
                } else {
                    KeyKind::Groups(groups)
                }
            }
        };
        ItemKey { kind, antigens }
    }

    /// The compared copies of one genotype alternative (one item per copy).
    /// One copy stands for two (homozygous), except at DRB3/4/5; an expressed
    /// copy beside a null stands for two (functionally homozygous), the second
    /// marked `null_partner`.
    pub fn copies(&self, items: &[TypedItem], locus: Locus) -> Copies {
        let carries_null = items.iter().any(TypedItem::is_null);
        let expressed: Vec<ItemKey> = items
            .iter()
            .filter(|i| !i.is_null())
            .map(|i| self.key(i))
            .collect();
        if locus == Locus::Drb345 {
            return Copies {
                keys: expressed,
                null_partner: false,
                carries_null,
            };
        }
        match (items.len(), expressed.len()) {
            (1, 1) => Copies {
                keys: vec![expressed[0].clone(), expressed[0].clone()],
                null_partner: false,
                carries_null,
            },
            (2, 1) => Copies {
                keys: vec![expressed[0].clone(), expressed[0].clone()],
                null_partner: true,
                carries_null,
            },
            _ => Copies {
                keys: expressed,
                null_partner: false,
                carries_null,
            },
        }
    }

    /// Every distinct genotype alternative of `typing` at `locus` as compared
    /// (alleles of one copy that reduce alike count once). More than
    /// [`MAX_ALTERNATIVES`]: the first alone, with a note.
    pub fn alternatives(
        &self,
        typing: &Typing,
        locus: Locus,
        notes: &mut Vec<String>,
    ) -> Vec<Alternative> {
        let genotypes = typing.genotypes(locus);
        let mut out: Vec<Alternative> = Vec::new();
        let mut seen: HashSet<Copies> = HashSet::new();
        let mut possible = 0usize;
        for genotype in &genotypes {
            // Per copy, one representative per distinct compared form.
            let per_copy: Vec<Vec<&TypedItem>> = genotype
                .iter()
                .map(|copy| {
                    let mut reps: Vec<&TypedItem> = Vec::new();
                    let mut forms: Vec<Option<ItemKey>> = Vec::new();
                    for item in copy {
                        let form = (!item.is_null()).then(|| self.key(item));
                        if !forms.contains(&form) {
                            forms.push(form);
                            reps.push(item);
                        }
                    }
                    reps
                })
                .collect();
            let n: usize = per_copy
                .iter()
                .map(Vec::len)
                .fold(1usize, |a, b| a.saturating_mul(b));
            possible = possible.saturating_add(n);
            if possible > MAX_ALTERNATIVES {
                break;
            }
            for choice in 0..n {
                let mut rest = choice;
                let typed: Vec<TypedItem> = per_copy
                    .iter()
                    .map(|reps| {
                        let item = reps[rest % reps.len()].clone();
                        rest /= reps.len();
                        item
                    })
                    .collect();
                let copies = self.copies(&typed, locus);
                if seen.insert(copies.clone()) {
                    out.push(Alternative { copies, typed });
                }
            }
        }
        if possible > MAX_ALTERNATIVES {
            notes.push(format!(
                "{locus}: more than {MAX_ALTERNATIVES} possible genotypes at {} level ({}); the first alternative was used, not the --ambiguity policy: give a less ambiguous typing",
                self.level.name(),
                genotypes_text(&genotypes)
            ));
            let first: Vec<TypedItem> = genotypes
                .first()
                .map(|g| g.iter().filter_map(|c| c.first().cloned()).collect())
                .unwrap_or_default();
            return vec![Alternative {
                copies: self.copies(&first, locus),
                typed: first,
            }];
        }
        out
    }
}

/// What a counted copy stands for (one bit each in the screen's bitsets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CopyRole {
    /// A distinct item, or the first copy of it.
    First,
    /// The second copy of a repeated item (`--homozygous-count 2`).
    Second,
    /// The stand-in for a null beside an expressed allele (`--homozygous-count 2`).
    NullPartner,
}

/// The copies one side contributes to a count: with `homozygous_count` 1 each
/// distinct item once; with 2 every copy (a repeat as `Second`, a null's
/// stand-in as `NullPartner`).
pub fn counted_copies(c: &Copies, homozygous_count: u8) -> Vec<(&ItemKey, CopyRole)> {
    let mut out: Vec<(&ItemKey, CopyRole)> = Vec::new();
    for (i, k) in c.keys.iter().enumerate() {
        let earlier = c.keys[..i].contains(k);
        if homozygous_count < 2 {
            if !earlier {
                out.push((k, CopyRole::First));
            }
        } else if i == 1 && c.null_partner {
            out.push((k, CopyRole::NullPartner));
        } else {
            out.push((
                k,
                if earlier {
                    CopyRole::Second
                } else {
                    CopyRole::First
                },
            ));
        }
    }
    out
}

/// Does `against` carry this contributed copy? It does when one of its copies
/// matches the item; a null's stand-in is also carried when `against` has a
/// null of its own (the two nulls pair off).
pub fn covers(against: &Copies, key: &ItemKey, role: CopyRole) -> bool {
    (role == CopyRole::NullPartner && against.carries_null)
        || against.keys.iter().any(|k| key.matches(k))
}

/// One direction: the contributed copies of `from` that `against` does not
/// carry; their count and their distinct labels.
pub fn count_direction(
    from: &Copies,
    against: &Copies,
    homozygous_count: u8,
) -> (u32, Vec<String>) {
    let mut count = 0u32;
    let mut labels = BTreeSet::new();
    for (key, role) in counted_copies(from, homozygous_count) {
        if !covers(against, key, role) {
            count += 1;
            labels.insert(key.label());
        }
    }
    (count, labels.into_iter().collect())
}

/// One locus of one pair, after the ambiguity policy.
#[derive(Debug, Clone)]
pub struct LocusCount {
    pub hvg: u32,
    pub gvh: u32,
    pub hvg_items: Vec<String>,
    pub gvh_items: Vec<String>,
    /// The chosen alternatives (donor, recipient) by index.
    pub chosen: (usize, usize),
    /// The reported count of the first alternatives, for the resolution note.
    pub first_count: u32,
}

/// The shared per-locus count: every donor × recipient alternative, the
/// direction's count of each, and the combination the policy picks.
pub fn count_locus(
    recipient: &[Alternative],
    donor: &[Alternative],
    settings: &MatchSettings,
) -> LocusCount {
    let hc = settings.homozygous_count;
    let combos: Vec<(usize, usize)> = (0..donor.len())
        .flat_map(|d| (0..recipient.len()).map(move |r| (d, r)))
        .collect();
    let counts: Vec<(u32, u32)> = combos
        .iter()
        .map(|&(d, r)| {
            (
                count_direction(&donor[d].copies, &recipient[r].copies, hc).0,
                count_direction(&recipient[r].copies, &donor[d].copies, hc).0,
            )
        })
        .collect();
    let values = counts.iter().map(|&(h, g)| settings.direction.pick(h, g));
    let (i, _) = settings.ambiguity.choose(values).unwrap_or((0, 0));
    let (d, r) = combos.get(i).copied().unwrap_or((0, 0));
    let empty = Alternative {
        copies: Copies {
            keys: Vec::new(),
            null_partner: false,
            carries_null: false,
        },
        typed: Vec::new(),
    };
    let dc = donor.get(d).unwrap_or(&empty);
    let rc = recipient.get(r).unwrap_or(&empty);
    let (hvg, hvg_items) = count_direction(&dc.copies, &rc.copies, hc);
    let (gvh, gvh_items) = count_direction(&rc.copies, &dc.copies, hc);
    let first_count = counts
        .first()
        .map(|&(h, g)| settings.direction.pick(h, g))
        .unwrap_or(0);
    LocusCount {
        hvg,
        gvh,
        hvg_items,
        gvh_items,
        chosen: (d, r),
        first_count,
    }
}

/// A count in the requested direction with both one-way counts and items.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DirectedCount {
    /// The count in the requested direction.
    pub count: u32,
    /// The items of the one-way count reported (`items_direction`).
    pub items: Vec<String>,
    /// HvG or GvH: in bidirectional mode the larger (HvG on a tie).
    pub items_direction: Direction,
    pub hvg: u32,
    pub gvh: u32,
    pub hvg_items: Vec<String>,
    pub gvh_items: Vec<String>,
}

impl DirectedCount {
    pub fn new(
        direction: Direction,
        (hvg, hvg_items): (u32, Vec<String>),
        (gvh, gvh_items): (u32, Vec<String>),
    ) -> DirectedCount {
        let side = direction.reported_side(hvg, gvh);
        DirectedCount {
            count: direction.pick(hvg, gvh),
            items: if side == Direction::GraftVsHost {
                gvh_items.clone()
            } else {
                hvg_items.clone()
            },
            items_direction: side,
            hvg,
            gvh,
            hvg_items,
            gvh_items,
        }
    }
}

/// Per-locus result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LocusMismatch {
    pub locus: Locus,
    pub level: Level,
    #[serde(flatten)]
    pub counts: DirectedCount,
    /// How an ambiguous typing was resolved, when one was.
    pub resolution: Option<String>,
    /// Why the level differs from the request, items compared otherwise.
    pub notes: Vec<String>,
}

/// Bw4/Bw6, compared as their own item set.
pub type PublicEpitopeMismatch = DirectedCount;

#[derive(Debug, Clone, serde::Serialize)]
pub struct MatchResult {
    /// The compared loci.
    pub loci: Vec<LocusMismatch>,
    /// Loci not compared, and why (blank counts in every output).
    pub not_compared: Vec<(Locus, String)>,
    /// Classic A/B/DR antigen mismatch (0–6), in the requested direction.
    pub abdr: Option<u32>,
    /// `--bw4-bw6 compare` with both sides typed.
    pub public_epitopes: Option<PublicEpitopeMismatch>,
    /// DRB1 ↔ DRB3/4/5 inconsistencies in the recipient or donor typing.
    pub drb_inconsistencies: Vec<String>,
    pub notes: Vec<String>,
}

impl MatchResult {
    pub fn locus(&self, locus: Locus) -> Option<&LocusMismatch> {
        self.loci.iter().find(|l| l.locus == locus)
    }
}

/// Can this locus be compared for this pair? The same rule in every path:
/// typed on both sides; DRB3/4/5 when typed on a side and its content is
/// known on both (typed, or absent by the DRB1 families). `Err` says why not.
pub fn comparable(recipient: &Typing, donor: &Typing, locus: Locus) -> Result<(), String> {
    let r_typed = recipient.is_typed(locus);
    let d_typed = donor.is_typed(locus);
    let ok = if locus == Locus::Drb345 {
        (r_typed || d_typed) && recipient.drb345_known() && donor.drb345_known()
    } else {
        r_typed && d_typed
    };
    if ok {
        return Ok(());
    }
    Err(if locus == Locus::Drb345 && (r_typed || d_typed) {
        "not typed on one side whose DRB1 families predict DRB3/4/5".to_string()
    } else if r_typed != d_typed {
        format!(
            "typed for the {} only",
            if r_typed { "recipient" } else { "donor" }
        )
    } else {
        "typed on neither side".to_string()
    })
}

/// Items compared at another level than the locus's, for the notes.
fn level_notes(
    level: Level,
    release: Option<&Release>,
    keys: &[(&TypedItem, ItemKey)],
) -> Vec<String> {
    let mut notes = Vec::new();
    if level.is_antigen() {
        let without: BTreeSet<String> = keys
            .iter()
            .filter(|(_, k)| matches!(k.kind, KeyKind::Allele(_)))
            .map(|(i, _)| i.to_string())
            .collect();
        let some_antigen = keys.iter().any(|(_, k)| k.kind == KeyKind::Antigen);
        if !without.is_empty() && some_antigen {
            notes.push(format!(
                "{}: {}; compared as 2-field alleles, which match no antigen",
                without.into_iter().collect::<Vec<_>>().join(", "),
                if release.is_some() {
                    "no serologic equivalent in the release"
                } else {
                    "no release to reduce them to antigens"
                },
            ));
        } else if !without.is_empty() && release.is_none() {
            notes.push("no IPD-IMGT/HLA release given: compared at allele level".to_string());
        }
    } else {
        let serologic: BTreeSet<String> = keys
            .iter()
            .filter(|(i, _)| matches!(i, TypedItem::Antigen(_)))
            .map(|(i, _)| i.to_string())
            .collect();
        if !serologic.is_empty() {
            notes.push(format!(
                "{} typed serologically: compared with the other side's antigens",
                serologic.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    notes
}

/// The level reported for a locus: antigen level where no item had a
/// serologic equivalent is allele level (DQA1, DPA1, DPB1).
pub fn reported_level<'k>(level: Level, keys: impl IntoIterator<Item = &'k ItemKey>) -> Level {
    let mut keys = keys.into_iter().peekable();
    if level.is_antigen()
        && keys.peek().is_some()
        && keys.all(|k| matches!(k.kind, KeyKind::Allele(_)))
    {
        Level::Allele
    } else {
        level
    }
}

fn resolution_note(
    side: &str,
    typing: &Typing,
    locus: Locus,
    alternatives: &[Alternative],
    chosen: usize,
) -> Option<String> {
    if !typing.is_ambiguous(locus) {
        return None;
    }
    let alt = alternatives.get(chosen)?;
    Some(if alternatives.len() == 1 {
        format!(
            "{side} {}: one distinct genotype at this level, {}",
            genotypes_text(&typing.genotypes(locus)),
            alt.describe()
        )
    } else {
        format!(
            "{side} {}: {} of {} distinct genotypes",
            genotypes_text(&typing.genotypes(locus)),
            alt.describe(),
            alternatives.len()
        )
    })
}

/// Compare one locus of a pair at `level` (the shared count, plus the
/// items, resolution and notes `scan` reports).
pub fn compare_locus(
    locus: Locus,
    recipient: &Typing,
    donor: &Typing,
    release: Option<&Release>,
    settings: &MatchSettings,
    level: Level,
) -> LocusMismatch {
    let reducer = Reducer {
        release,
        settings,
        level,
    };
    let mut notes = Vec::new();
    let r_alts = reducer.alternatives(recipient, locus, &mut notes);
    let d_alts = reducer.alternatives(donor, locus, &mut notes);
    let c = count_locus(&r_alts, &d_alts, settings);
    let keyed: Vec<(&TypedItem, ItemKey)> = r_alts
        .iter()
        .chain(&d_alts)
        .flat_map(|a| a.typed.iter())
        .filter(|i| !i.is_null())
        .map(|i| (i, reducer.key(i)))
        .collect();
    notes.extend(level_notes(level, release, &keyed));
    let level = reported_level(level, keyed.iter().map(|(_, k)| k));
    let counts = DirectedCount::new(
        settings.direction,
        (c.hvg, c.hvg_items),
        (c.gvh, c.gvh_items),
    );
    let resolutions: Vec<String> = [
        resolution_note("donor", donor, locus, &d_alts, c.chosen.0),
        resolution_note("recipient", recipient, locus, &r_alts, c.chosen.1),
    ]
    .into_iter()
    .flatten()
    .collect();
    let resolution = (!resolutions.is_empty()).then(|| {
        format!(
            "{} ({} case: {} mismatched; first alternatives: {})",
            resolutions.join("; "),
            settings.ambiguity.name(),
            counts.count,
            c.first_count
        )
    });
    LocusMismatch {
        locus,
        level,
        counts,
        resolution,
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

/// Bw4/Bw6 of a pair, when compared and typed on both sides.
pub fn compare_public_epitopes(
    recipient: &Typing,
    donor: &Typing,
    settings: &MatchSettings,
) -> Option<PublicEpitopeMismatch> {
    if settings.public_epitopes != PublicEpitopes::Compare {
        return None;
    }
    let (r, d) = (
        recipient.public_epitopes.as_ref()?,
        donor.public_epitopes.as_ref()?,
    );
    let one_way = |from: &BTreeSet<PublicEpitope>, against: &BTreeSet<PublicEpitope>| {
        let v: Vec<String> = from
            .difference(against)
            .map(|e| e.name().to_string())
            .collect();
        (v.len() as u32, v)
    };
    Some(DirectedCount::new(
        settings.direction,
        one_way(d, r),
        one_way(r, d),
    ))
}

/// Compare a donor with a recipient at every locus.
pub fn compare(
    recipient: &Typing,
    donor: &Typing,
    release: Option<&Release>,
    settings: &MatchSettings,
) -> MatchResult {
    let mut loci = Vec::new();
    let mut not_compared = Vec::new();
    let mut notes = Vec::new();
    let (level, level_note) = resolve_level(settings.level, settings.equivalence, release);
    notes.extend(level_note);
    for locus in Locus::ALL {
        if let Err(why) = comparable(recipient, donor, locus) {
            not_compared.push((locus, why));
            continue;
        }
        loci.push(compare_locus(
            locus, recipient, donor, release, settings, level,
        ));
    }
    // Classic A/B/DR: antigen level whatever the request, each locus 0–2.
    let (antigen, _) = resolve_level(LevelRequest::Antigen, settings.equivalence, release);
    let mut abdr = Some(0u32);
    for locus in [Locus::A, Locus::B, Locus::Drb1] {
        if comparable(recipient, donor, locus).is_err() {
            abdr = None;
            continue;
        }
        let m = match loci.iter().find(|m| m.locus == locus) {
            Some(m) if level == antigen => m.clone(),
            _ => compare_locus(locus, recipient, donor, release, settings, antigen),
        };
        if m.level == Level::Allele {
            notes.push(format!(
                "A/B/DR mismatch: {locus} counted at allele level (no antigen for every allele)"
            ));
        }
        abdr = abdr.map(|t| t + m.counts.count.min(2));
    }
    if settings.public_epitopes == PublicEpitopes::Ignore {
        for (who, t) in [("recipient", recipient), ("donor", donor)] {
            if let Some(e) = &t.public_epitopes {
                let names: Vec<&str> = e.iter().map(|x| x.name()).collect();
                notes.push(format!(
                    "{who} {}: public epitopes not compared (--bw4-bw6 ignore)",
                    names.join(" ")
                ));
            }
        }
    }
    let mut drb_inconsistencies = Vec::new();
    for (who, t) in [("recipient", recipient), ("donor", donor)] {
        for m in drb_consistency(t) {
            drb_inconsistencies.push(format!("{who}: {m}"));
        }
    }
    MatchResult {
        loci,
        not_compared,
        abdr,
        public_epitopes: compare_public_epitopes(recipient, donor, settings),
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
        assert_eq!(
            a.counts.count, 0,
            "A*02:01 is the recipient's, not the donor's"
        );
        assert_eq!(a.counts.gvh, 1);
        assert_eq!(a.level, Level::Allele);
    }

    #[test]
    fn homozygous_donor_mismatch_counts_once_or_twice_by_setting() {
        let r = t("A*01:01+A*02:01");
        let d = t("A*03:01"); // one copy typed: homozygous assumed
        let once = compare(&r, &d, None, &hvg());
        assert_eq!(once.locus(Locus::A).unwrap().counts.count, 1);
        let twice = compare(
            &r,
            &d,
            None,
            &MatchSettings {
                homozygous_count: 2,
                ..hvg()
            },
        );
        assert_eq!(twice.locus(Locus::A).unwrap().counts.count, 2);
        assert_eq!(twice.locus(Locus::A).unwrap().counts.items, vec!["A*03:01"]);
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
        assert_eq!(twice2.locus(Locus::A).unwrap().counts.count, 2);
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
            assert_eq!(
                m.locus(Locus::A).unwrap().counts.count,
                a_count,
                "{settings:?}"
            );
            assert_eq!(
                m.locus(Locus::B).unwrap().counts.count,
                b_count,
                "{settings:?}"
            );
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
        assert_eq!(m.locus(Locus::A).unwrap().counts.items, vec!["A*02:01"]);
        let bi = compare(
            &d,
            &r,
            None,
            &MatchSettings {
                direction: Direction::Bidirectional,
                ..hvg()
            },
        );
        assert_eq!(bi.locus(Locus::A).unwrap().counts.count, 1);
        assert_eq!(bi.locus(Locus::A).unwrap().counts.hvg, 0);
    }

    #[test]
    fn drb3_4_5_are_pooled_as_one_locus() {
        // Recipient carries DRB4; donor carries DRB3 and DRB4: one DRB345 mismatch.
        let r = t("DRB1*04:01+DRB1*07:01^DRB4*01:01");
        let d = t("DRB1*03:01~DRB3*01:01+DRB1*04:01~DRB4*01:01");
        let m = compare(&r, &d, None, &hvg());
        let pooled = m.locus(Locus::Drb345).unwrap();
        assert_eq!(pooled.counts.count, 1);
        assert_eq!(pooled.counts.items, vec!["DRB3*01:01"]);
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
                .counts
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
        assert_eq!(m.locus(Locus::A).unwrap().counts.count, 0);
        // And a recipient null is not a self item either.
        let r2 = t("A*01:01:01:02N+A*02:01");
        let d2 = t("A*01:01+A*02:01");
        let m2 = compare(&r2, &d2, None, &hvg());
        assert_eq!(m2.locus(Locus::A).unwrap().counts.count, 1);
    }

    #[test]
    fn gl_precedence_decides_what_is_compared() {
        // '~' phase puts DRB4 in the pooled locus, not in DRB1; '/' ambiguity
        // is resolved by the policy.
        let r = t("A*02:01+A*03:01^DRB1*04:01+DRB1*07:01^DRB4*01:01");
        let d = t("A*02:01/A*24:02+A*03:01^DRB1*04:01~DRB4*01:01+DRB1*07:01");
        let first = MatchSettings {
            ambiguity: Ambiguity::First,
            ..hvg()
        };
        let m = compare(&r, &d, None, &first);
        assert_eq!(m.locus(Locus::A).unwrap().counts.count, 0);
        assert_eq!(m.locus(Locus::Drb1).unwrap().counts.count, 0);
        assert_eq!(m.locus(Locus::Drb345).unwrap().counts.count, 0);
        let worst = compare(&r, &d, None, &hvg())
            .locus(Locus::A)
            .unwrap()
            .clone();
        assert_eq!(worst.counts.items, vec!["A*24:02"]);
        let note = worst.resolution.unwrap();
        assert!(
            note.contains("A*24:02+A*03:01") && note.contains("worst"),
            "{note}"
        );
        // '|': whole genotypes; first, worst and best differ.
        let d2 = t("A*24:02+A*03:01|A*02:01+A*03:01");
        for (policy, count) in [
            (Ambiguity::First, 1),
            (Ambiguity::Worst, 1),
            (Ambiguity::Best, 0),
        ] {
            let s = MatchSettings {
                ambiguity: policy,
                ..hvg()
            };
            assert_eq!(
                compare(&r, &d2, None, &s)
                    .locus(Locus::A)
                    .unwrap()
                    .counts
                    .count,
                count,
                "{policy:?}"
            );
        }
    }

    #[test]
    fn an_expressed_allele_beside_a_null_is_functionally_homozygous() {
        let twice = MatchSettings {
            homozygous_count: 2,
            ..hvg()
        };
        let r = t("A*01:01+A*01:01");
        let count = |r: &Typing, d: &str, s: &MatchSettings| {
            compare(r, &t(d), None, s)
                .locus(Locus::A)
                .unwrap()
                .counts
                .count
        };
        assert_eq!(count(&r, "A*68:11N+A*02:05", &twice), 2);
        assert_eq!(count(&r, "A*02:05+A*68:11N", &twice), 2);
        assert_eq!(count(&r, "A*02:05", &twice), 2);
        assert_eq!(count(&r, "A*68:11N+A*02:05", &hvg()), 1);
        // Unless the other person carries a null too: the nulls pair off.
        let r_null = t("A*01:01+A*01:01:01:02N");
        assert_eq!(count(&r_null, "A*68:11N+A*02:05", &twice), 1);
        // GvH: the recipient's expressed allele beside its null, the same way.
        let gvh = MatchSettings {
            direction: Direction::GraftVsHost,
            ..twice
        };
        assert_eq!(count(&r_null, "A*02:05+A*03:01", &gvh), 2);
        assert_eq!(count(&r_null, "A*02:05+A*68:11N", &gvh), 1);
    }

    #[test]
    fn ambiguity_policy_picks_first_max_or_min_in_order() {
        assert_eq!(Ambiguity::First.choose([3, 5, 5]), Some((0, 3)));
        assert_eq!(Ambiguity::Worst.choose([3, 5, 5]), Some((1, 5)));
        assert_eq!(Ambiguity::Best.choose([3, 1, 1]), Some((1, 1)));
        assert_eq!(Ambiguity::Worst.choose(std::iter::empty()), None);
    }

    #[test]
    fn untyped_loci_are_listed_with_the_reason() {
        let m = compare(&t("A*01:01^B*07:02"), &t("A*02:01"), None, &hvg());
        let why: Vec<_> = m
            .not_compared
            .iter()
            .map(|(l, w)| format!("{l}: {w}"))
            .collect();
        assert!(
            why.contains(&"B: typed for the recipient only".to_string()),
            "{why:?}"
        );
        assert!(
            why.contains(&"C: typed on neither side".to_string()),
            "{why:?}"
        );
        assert_eq!(m.loci.len() + m.not_compared.len(), 9);
    }

    #[test]
    fn bidirectional_reports_the_larger_direction_and_says_which() {
        let s = MatchSettings {
            direction: Direction::Bidirectional,
            ..hvg()
        };
        let m = compare(&t("A*01:01+A*02:01"), &t("A*01:01"), None, &s);
        let a = m.locus(Locus::A).unwrap();
        assert_eq!((a.counts.count, a.counts.hvg, a.counts.gvh), (1, 0, 1));
        assert_eq!(a.counts.items_direction, Direction::GraftVsHost);
        assert_eq!(a.counts.items, vec!["A*02:01"]);
    }

    #[test]
    fn public_epitopes_are_compared_only_when_asked() {
        let r = t("A2 A24 B7 B44 Bw4 Bw6");
        let d = t("A2 A24 B8 B44 Bw6");
        assert!(compare(&d, &r, None, &hvg()).public_epitopes.is_none());
        let s = MatchSettings {
            public_epitopes: PublicEpitopes::Compare,
            ..hvg()
        };
        let m = compare(&d, &r, None, &s).public_epitopes.unwrap();
        assert_eq!((m.count, m.items.clone()), (1, vec!["Bw4".to_string()]));
        assert_eq!(compare(&r, &d, None, &s).public_epitopes.unwrap().count, 0);
    }

    #[test]
    fn serologic_typings_compare_at_antigen_level_without_a_release() {
        let r = t("A2+A24^B44+B62^DR15+DR17");
        let d = t("A2+A23^B44+B44^DR15+DR4");
        let m = compare(&r, &d, None, &hvg());
        assert_eq!(m.locus(Locus::A).unwrap().level, Level::Antigen);
        assert_eq!(m.locus(Locus::A).unwrap().counts.items, vec!["A23"]);
        assert_eq!(m.abdr, Some(2));
    }

    #[test]
    fn xx_code_matches_any_allele_of_its_group() {
        let r = t("A*02:XX+A*03:01");
        let d = t("A*02:05+A*03:01");
        assert_eq!(
            compare(&r, &d, None, &hvg())
                .locus(Locus::A)
                .unwrap()
                .counts
                .count,
            0
        );
    }
}
