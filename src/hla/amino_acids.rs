//! Amino-acid mismatch from the release's protein alignments
//! (shared/docs/hla-matching.md §4, the licence-clean baseline beside eplets).
//!
//! A donor residue at a mature-protein position is mismatched (HvG) when no
//! recipient allele of the same locus group carries it there. Groups, as for
//! eplets: class I pools A, B and C; DR pools DRB1 and DRB3/4/5 (their
//! alignments share the DRB1*01:01:01:01 reference and its numbering); DQA1,
//! DQB1, DPA1 and DPB1 each stand alone. GvH swaps the sides; bidirectional
//! takes the larger per locus. A locus count is the number of distinct
//! (position, residue) pairs; the overall count is the sum over loci.
//!
//! Unknowns are never mismatches:
//! - an unknown residue (`*` in the alignment, a stop codon's tail, an allele
//!   missing from the alignment, a serologic typing) contributes nothing on
//!   the donor side (the other copy's known residue still counts) and, on the
//!   recipient side, makes the position "may be anything": no donor residue
//!   there counts;
//! - a residue the typing does not fix (alleles of one name, or ambiguous
//!   alternatives, that differ there) is unknown in the same way, whatever the
//!   `--ambiguity` policy;
//! - a gap (`.`) is no residue: it is never counted, and it carries nothing.
//!
//! As for antigens, one rule is written once and used twice: [`contributed`]
//! lists what a side brings, [`covers`] says whether the other side's group
//! carries it. `scan` counts item by item; `hla screen` sets one bit per
//! (position, residue) and lets the `hla_mismatch` kernel popcount.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::error::{Error, InputError, Result};
use crate::formats::sheet::CsvTable;
use crate::hla::alignment::{GAP, Position, ProteinAlignment};
use crate::hla::mismatch::{DirectedCount, Direction, comparable};
use crate::hla::nomenclature::{AlleleName, Gene, Locus, TypedItem};
use crate::hla::release::Release;
use crate::hla::typing::Typing;

/// The residue-set state of one position: one bit per residue letter (A = bit
/// 0 … Z = bit 25) the person certainly carries, plus [`UNKNOWN_STATE`] when
/// some copy there is unknown (it may carry anything else); 0 = no residue.
pub type State = u32;
pub const UNKNOWN_STATE: State = 1 << 31;

/// The locus groups (self sets), in order: class I, DR, DQA1, DQB1, DPA1, DPB1.
pub const GROUPS: [&[Locus]; 6] = [
    &[Locus::A, Locus::B, Locus::C],
    &[Locus::Drb1, Locus::Drb345],
    &[Locus::Dqa1],
    &[Locus::Dqb1],
    &[Locus::Dpa1],
    &[Locus::Dpb1],
];

pub fn group_of(locus: Locus) -> usize {
    GROUPS.iter().position(|g| g.contains(&locus)).unwrap_or(0)
}

/// The genes whose alleles make up a comparison locus.
pub fn genes_of(locus: Locus) -> &'static [Gene] {
    match locus {
        Locus::A => &[Gene::A],
        Locus::B => &[Gene::B],
        Locus::C => &[Gene::C],
        Locus::Drb1 => &[Gene::Drb1],
        Locus::Drb345 => &[Gene::Drb3, Gene::Drb4, Gene::Drb5],
        Locus::Dqa1 => &[Gene::Dqa1],
        Locus::Dqb1 => &[Gene::Dqb1],
        Locus::Dpa1 => &[Gene::Dpa1],
        Locus::Dpb1 => &[Gene::Dpb1],
    }
}

/// A user-supplied set of positions per locus (e.g. solvent-accessible
/// residues): CSV `locus,position`, positions as `57`, `25a` or a range `1-94`
/// (every position numbered within it, insertions included). Loci the file
/// does not name are not compared.
#[derive(Debug, Clone)]
pub struct PositionSet {
    pub source: PathBuf,
    single: BTreeMap<Locus, BTreeSet<Position>>,
    ranges: BTreeMap<Locus, Vec<(i32, i32)>>,
}

impl PositionSet {
    pub fn read(path: &Path) -> Result<PositionSet> {
        let table = CsvTable::read(path, Some(b'#'))?;
        let locus_col = table.require("locus")?;
        let pos_col = table.require("position")?;
        let mut single: BTreeMap<Locus, BTreeSet<Position>> = BTreeMap::new();
        let mut ranges: BTreeMap<Locus, Vec<(i32, i32)>> = BTreeMap::new();
        for (line, record) in &table.rows {
            let err = |field: &str, msg: String| -> Error {
                InputError::new(path, msg)
                    .at_line(*line)
                    .in_field(field.to_string())
                    .into()
            };
            let locus_text = record.get(locus_col).unwrap_or("");
            let locus = Locus::ALL
                .iter()
                .copied()
                .find(|l| l.name().eq_ignore_ascii_case(locus_text))
                .or_else(|| Gene::parse(locus_text).map(Gene::locus))
                .ok_or_else(|| {
                    err(
                        "locus",
                        format!("'{locus_text}' is not a locus (A, B, C, DRB1, DRB3, DRB4, DRB5, DRB345, DQA1, DQB1, DPA1, DPB1)"),
                    )
                })?;
            let text = record.get(pos_col).unwrap_or("");
            let bad = || {
                err(
                    "position",
                    format!("'{text}' is not a position (57, 25a) or a range (1-94)"),
                )
            };
            match text.split_once('-').filter(|(a, _)| !a.is_empty()) {
                Some((a, b)) => {
                    let (a, b): (i32, i32) = (
                        a.trim().parse().map_err(|_| bad())?,
                        b.trim().parse().map_err(|_| bad())?,
                    );
                    if a > b {
                        return Err(bad());
                    }
                    ranges.entry(locus).or_default().push((a, b));
                }
                None => {
                    single
                        .entry(locus)
                        .or_default()
                        .insert(Position::parse(text).ok_or_else(bad)?);
                }
            }
        }
        Ok(PositionSet {
            source: path.to_path_buf(),
            single,
            ranges,
        })
    }

    pub fn names_locus(&self, locus: Locus) -> bool {
        self.single.contains_key(&locus) || self.ranges.contains_key(&locus)
    }

    pub fn covers(&self, locus: Locus, p: &Position) -> bool {
        self.single.get(&locus).is_some_and(|s| s.contains(p))
            || self
                .ranges
                .get(&locus)
                .is_some_and(|r| r.iter().any(|(a, b)| (*a..=*b).contains(&p.number)))
    }
}

/// The positions of one locus group, and where each gene's columns fall.
#[derive(Debug, Clone, Default)]
pub struct GroupIndex {
    pub positions: Vec<Position>,
}

/// The release's alignments for the genes in use, and the position set.
pub struct AaReference {
    pub groups: Vec<GroupIndex>,
    /// Gene → alignment and its column → group position map.
    alignments: HashMap<Gene, (ProteinAlignment, Vec<usize>)>,
    /// Alignment files absent from the release for genes that were typed.
    pub missing: Vec<PathBuf>,
    pub positions: Option<PositionSet>,
    cache: Mutex<HashMap<AlleleName, Option<Arc<Vec<State>>>>>,
}

fn residue_state(c: u8) -> State {
    match c {
        GAP => 0,
        c if c.is_ascii_uppercase() => 1 << (c - b'A'),
        _ => UNKNOWN_STATE,
    }
}

/// The letter of a single-residue state bit.
pub fn residue_letter(bit: State) -> char {
    (b'A' + bit.trailing_zeros() as u8) as char
}

/// Two alternatives (either may be the truth): where they differ, only the
/// residues both carry are certain, and the rest is unknown.
fn merge(into: &mut [State], other: &[State]) {
    for (a, b) in into.iter_mut().zip(other) {
        if *a != *b {
            *a = (*a & *b & !UNKNOWN_STATE) | UNKNOWN_STATE;
        }
    }
}

impl AaReference {
    /// Load `alignments/<GENE>_prot.txt` for every gene typed. Without an
    /// alignments folder amino-acid mismatch is refused.
    pub fn load(
        release: &Release,
        genes: &BTreeSet<Gene>,
        positions: Option<PositionSet>,
    ) -> Result<AaReference> {
        let dir = release.alignments_dir();
        if !dir.is_dir() {
            return Err(Error::Usage(format!(
                "amino-acid mismatch needs the protein alignments of the IPD-IMGT/HLA release: {} not found (the release's alignments/ folder holds <LOCUS>_prot.txt files)",
                dir.display()
            )));
        }
        let mut alignments = HashMap::new();
        let mut missing = Vec::new();
        for &gene in genes {
            let path = dir.join(format!("{}_prot.txt", gene.name()));
            if path.is_file() {
                alignments.insert(gene, ProteinAlignment::read(gene, &path)?);
            } else {
                missing.push(path);
            }
        }
        if alignments.is_empty() && !genes.is_empty() {
            return Err(Error::Usage(format!(
                "amino-acid mismatch: none of the typed loci has an alignment in {} (missing: {})",
                dir.display(),
                missing
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let mut groups = vec![GroupIndex::default(); GROUPS.len()];
        for (g, loci) in GROUPS.iter().enumerate() {
            let set: BTreeSet<Position> = loci
                .iter()
                .flat_map(|l| genes_of(*l))
                .filter_map(|gene| alignments.get(gene))
                .flat_map(|a: &ProteinAlignment| a.columns.iter().copied())
                .collect();
            groups[g].positions = set.into_iter().collect();
        }
        let alignments = alignments
            .into_iter()
            .map(|(gene, a)| {
                let positions = &groups[group_of(gene.locus())].positions;
                let map = a
                    .columns
                    .iter()
                    .map(|p| positions.binary_search(p).unwrap_or(0))
                    .collect();
                (gene, (a, map))
            })
            .collect();
        Ok(AaReference {
            groups,
            alignments,
            missing,
            positions,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// Files read, in gene order, for the outputs' provenance.
    pub fn files(&self) -> Vec<PathBuf> {
        let mut v: Vec<(Gene, PathBuf)> = self
            .alignments
            .iter()
            .map(|(g, (a, _))| (*g, a.file.clone()))
            .collect();
        v.sort();
        v.into_iter().map(|(_, f)| f).collect()
    }

    /// Can locus `locus` be compared at all: an alignment for each of its
    /// genes that `typings` use, and positions in the position set.
    pub fn locus_available<'t>(
        &self,
        locus: Locus,
        typings: impl IntoIterator<Item = &'t Typing>,
    ) -> std::result::Result<(), String> {
        if let Some(ps) = &self.positions
            && !ps.names_locus(locus)
        {
            return Err(format!(
                "no {locus} position in the position set {}",
                ps.source.display()
            ));
        }
        for t in typings {
            for item in t.genotypes(locus).iter().flatten().flatten() {
                if let TypedItem::Allele(a) = item
                    && !self.alignments.contains_key(&a.gene)
                {
                    return Err(format!(
                        "alignments/{}_prot.txt is not in the release",
                        a.gene.name()
                    ));
                }
            }
        }
        Ok(())
    }

    /// Per group position, the residues of one allele (`None`: not in the
    /// alignment, or no alignment for its gene).
    fn allele_states(&self, a: &AlleleName) -> Option<Arc<Vec<State>>> {
        if let Ok(cache) = self.cache.lock()
            && let Some(hit) = cache.get(a)
        {
            return hit.clone();
        }
        let computed = self.alignments.get(&a.gene).and_then(|(al, map)| {
            let residues = al.residues_of(a)?;
            let n = self.groups[group_of(a.gene.locus())].positions.len();
            // Positions of the group the gene's file lacks: no residue there.
            let mut states = vec![0; n];
            for (k, &c) in residues.iter().enumerate() {
                states[map[k]] = residue_state(c);
            }
            Some(Arc::new(states))
        });
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(a.clone(), computed.clone());
        }
        computed
    }

    /// The residue states of a person at a comparison locus, over its
    /// group's positions: copies OR-ed, alternatives merged (only what all
    /// carry is certain). Alleles without residues and serologic typings are
    /// unknown.
    pub fn locus_states(
        &self,
        typing: &Typing,
        locus: Locus,
        notes: &mut Vec<String>,
    ) -> Vec<State> {
        let n = self.groups[group_of(locus)].positions.len();
        let mut result: Option<Vec<State>> = None;
        for genotype in typing.genotypes(locus) {
            let mut g_state = vec![0; n];
            for copy in &genotype {
                let mut c_state: Option<Vec<State>> = None;
                for item in copy {
                    let s: Vec<State> = match item {
                        TypedItem::Allele(a) if a.is_null() => vec![0; n],
                        // No file for the gene: the locus is not compared
                        // (said once, in the outputs' missing alignments).
                        TypedItem::Allele(a) if !self.alignments.contains_key(&a.gene) => {
                            vec![UNKNOWN_STATE; n]
                        }
                        TypedItem::Allele(a) => match self.allele_states(a) {
                            Some(s) => s.to_vec(),
                            None => {
                                let note = format!(
                                    "{a} is not in alignments/{}_prot.txt: its residues are unknown (never counted)",
                                    a.gene.name()
                                );
                                if !notes.contains(&note) {
                                    notes.push(note);
                                }
                                vec![UNKNOWN_STATE; n]
                            }
                        },
                        TypedItem::Antigen(a) => {
                            let note = format!(
                                "{a} is a serologic typing: its residues are unknown (never counted)"
                            );
                            if !notes.contains(&note) {
                                notes.push(note);
                            }
                            vec![UNKNOWN_STATE; n]
                        }
                    };
                    match &mut c_state {
                        None => c_state = Some(s),
                        Some(c) => merge(c, &s),
                    }
                }
                if let Some(c) = c_state {
                    for (g, x) in g_state.iter_mut().zip(&c) {
                        *g |= *x;
                    }
                }
            }
            match &mut result {
                None => result = Some(g_state),
                Some(r) => merge(r, &g_state),
            }
        }
        result.unwrap_or_else(|| vec![0; n])
    }

    /// The self states of a person's group: every typed locus of the group
    /// OR-ed (an unknown anywhere stays unknown).
    pub fn group_self(&self, typing: &Typing, group: usize, notes: &mut Vec<String>) -> Vec<State> {
        let n = self.groups[group].positions.len();
        let mut out = vec![0; n];
        for &locus in GROUPS[group] {
            if !typing.is_typed(locus) {
                continue;
            }
            for (o, s) in out.iter_mut().zip(self.locus_states(typing, locus, notes)) {
                *o |= s;
            }
        }
        out
    }

    /// Is group position `p` in the scope of locus `locus`?
    pub fn in_scope(&self, locus: Locus, p: usize) -> bool {
        let pos = &self.groups[group_of(locus)].positions[p];
        self.positions
            .as_ref()
            .is_none_or(|ps| ps.covers(locus, pos))
    }

    /// `57:D`
    pub fn label(&self, locus: Locus, p: usize, bit: State) -> String {
        format!(
            "{}:{}",
            self.groups[group_of(locus)].positions[p],
            residue_letter(bit)
        )
    }
}

/// What a side brings at a locus: the residues it certainly carries, in
/// scope, as (group position, residue bit) pairs, in position order (a copy
/// unknown at a position adds nothing; another copy's known residue counts).
pub fn contributed(reference: &AaReference, locus: Locus, states: &[State]) -> Vec<(usize, State)> {
    let mut out = Vec::new();
    for (p, &s) in states.iter().enumerate() {
        if s & !UNKNOWN_STATE == 0 || !reference.in_scope(locus, p) {
            continue;
        }
        let mut bits = s & !UNKNOWN_STATE;
        while bits != 0 {
            let bit = bits & bits.wrapping_neg();
            out.push((p, bit));
            bits &= !bit;
        }
    }
    out
}

/// Does the other side's group self set carry this residue (or may it:
/// an unknown there carries everything)?
pub fn covers(self_states: &[State], p: usize, bit: State) -> bool {
    let s = self_states[p];
    s & UNKNOWN_STATE != 0 || s & bit != 0
}

/// One locus of amino-acid mismatch (`57:D` items).
#[derive(Debug, Clone, serde::Serialize)]
pub struct AaLocus {
    pub locus: Locus,
    #[serde(flatten)]
    pub counts: DirectedCount,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct AaMismatch {
    pub loci: Vec<AaLocus>,
    pub not_compared: Vec<(Locus, String)>,
    /// Sum over the compared loci; `None` when none was compared.
    pub total: Option<u32>,
    pub notes: Vec<String>,
}

impl AaMismatch {
    pub fn locus(&self, locus: Locus) -> Option<&AaLocus> {
        self.loci.iter().find(|l| l.locus == locus)
    }
}

fn one_way(
    reference: &AaReference,
    locus: Locus,
    from: &[State],
    against_self: &[State],
) -> Vec<String> {
    contributed(reference, locus, from)
        .into_iter()
        .filter(|&(p, bit)| !covers(against_self, p, bit))
        .map(|(p, bit)| reference.label(locus, p, bit))
        .collect()
}

/// Amino-acid mismatch of a pair, per locus, in `direction`.
pub fn aa_mismatch(
    recipient: &Typing,
    donor: &Typing,
    reference: &AaReference,
    direction: Direction,
) -> AaMismatch {
    let mut out = AaMismatch::default();
    let mut notes = Vec::new();
    for locus in Locus::ALL {
        let usable = comparable(recipient, donor, locus)
            .and_then(|()| reference.locus_available(locus, [recipient, donor]));
        if let Err(why) = usable {
            out.not_compared.push((locus, why));
            continue;
        }
        let group = group_of(locus);
        let d = reference.locus_states(donor, locus, &mut notes);
        let r = reference.locus_states(recipient, locus, &mut notes);
        let r_self = reference.group_self(recipient, group, &mut notes);
        let d_self = reference.group_self(donor, group, &mut notes);
        let hvg_items = one_way(reference, locus, &d, &r_self);
        let gvh_items = one_way(reference, locus, &r, &d_self);
        out.loci.push(AaLocus {
            locus,
            counts: DirectedCount::new(
                direction,
                (hvg_items.len() as u32, hvg_items),
                (gvh_items.len() as u32, gvh_items),
            ),
        });
    }
    out.total = (!out.loci.is_empty()).then(|| out.loci.iter().map(|l| l.counts.count).sum());
    out.notes = notes;
    out
}

/// The alignments for the genes `people` type, with an optional position-set
/// file: what `--aa-mismatch [--aa-positions FILE]` loads. Refused without a
/// release.
pub fn load_for<'t>(
    release: Option<&Release>,
    people: impl IntoIterator<Item = &'t Typing>,
    positions: Option<&Path>,
) -> Result<AaReference> {
    let Some(release) = release else {
        return Err(Error::Usage(
            "--aa-mismatch needs an IPD-IMGT/HLA release with its alignments/ folder (--hla-db DIR or GRAFTSCAN_HLA_DB)".into(),
        ));
    };
    let positions = positions.map(PositionSet::read).transpose()?;
    AaReference::load(release, &typed_genes(people), positions)
}

/// The warning for typed loci whose alignment file the release lacks.
pub fn missing_alignments_warning(missing: &[PathBuf]) -> Option<String> {
    (!missing.is_empty()).then(|| {
        format!(
            "amino-acid mismatch not compared at loci without an alignment file: {}",
            missing
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

/// The genes typed by any of `typings` (every alternative).
pub fn typed_genes<'t>(typings: impl IntoIterator<Item = &'t Typing>) -> BTreeSet<Gene> {
    let mut genes = BTreeSet::new();
    for t in typings {
        for locus in Locus::ALL {
            for item in t.genotypes(locus).iter().flatten().flatten() {
                if let TypedItem::Allele(a) = item {
                    genes.insert(a.gene);
                }
            }
        }
    }
    genes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_encode_residues_gaps_and_unknowns() {
        assert_eq!(residue_state(b'A'), 1);
        assert_eq!(residue_state(b'D'), 1 << 3);
        assert_eq!(residue_state(GAP), 0);
        assert_eq!(residue_state(crate::hla::alignment::UNKNOWN), UNKNOWN_STATE);
        assert_eq!(residue_letter(1 << 3), 'D');
        let mut a = vec![1, 2, 4, 1 | 2];
        merge(&mut a, &[1, 4, 4, 1 | 4]);
        // Certain only where both alternatives carry it.
        assert_eq!(a, vec![1, UNKNOWN_STATE, 4, 1 | UNKNOWN_STATE]);
    }

    #[test]
    fn unknown_self_covers_everything_and_a_gap_covers_nothing() {
        let states = [UNKNOWN_STATE, 0, 1 << 3];
        assert!(covers(&states, 0, 1));
        assert!(!covers(&states, 1, 1));
        assert!(covers(&states, 2, 1 << 3));
        assert!(!covers(&states, 2, 1));
    }

    #[test]
    fn position_sets_read_single_positions_and_ranges() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("positions.csv");
        std::fs::write(
            &p,
            "# solvent-accessible (invented)\nlocus,position\nDRB1,57\nDRB4,25a\nDQB1,1-10\n",
        )
        .unwrap();
        let s = PositionSet::read(&p).unwrap();
        assert!(s.covers(Locus::Drb1, &Position::parse("57").unwrap()));
        assert!(!s.covers(Locus::Drb1, &Position::parse("58").unwrap()));
        assert!(s.covers(Locus::Drb345, &Position::parse("25a").unwrap()));
        assert!(s.covers(Locus::Dqb1, &Position::parse("4a").unwrap()));
        assert!(!s.names_locus(Locus::Dpb1));
        std::fs::write(&p, "locus,position\nDRB1,x57\n").unwrap();
        let e = PositionSet::read(&p).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("position"), "{e}");
    }
}
