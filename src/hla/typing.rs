//! A person's HLA typing, per comparison locus, from a GL String, an antigen
//! list or a lab export with one column per allele (`A_1,A_2,B_1,...`).
//!
//! Assumptions are stated, not hidden: one typed copy at a locus (a blank or
//! repeated second column, or a single allele in a GL String) is read as
//! homozygous, and a note says so. DRB3/4/5 carry 0–2 copies (DRB1*01/08/10
//! haplotypes have none), so a single DRB3/4/5 copy is never "homozygous".
//!
//! Ambiguity is kept, not resolved here: every genotype a GL String allows
//! (`|` alternatives, `/` allele lists; a lab-export cell may hold `A*24:03/A*24:10`)
//! is stored per locus, and the comparison resolves it by the `--ambiguity`
//! policy (`hla::mismatch`). `loci` holds the first alternative, which eplet
//! loads and donor-specific antibodies use (and a note says so).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::error::{Error, InputError, Result};
use crate::formats::input::{FirstSeen, check_id};
use crate::formats::sheet::CsvTable;
use crate::hla::gl_string::{GlString, parse_gl_string};
use crate::hla::nomenclature::{
    Gene, Locus, NameError, PublicEpitope, TypedItem, drb1_family_of_dr_antigen,
    drb345_expected_from_drb1_family, parse_antigen, parse_item,
};
use crate::hla::release::Release;

/// One gene copy: every allele (or antigen) it may be (`/`); a single
/// alternative when the copy is unambiguous.
pub type Copy = Vec<TypedItem>;

/// The copies of one locus in one genotype alternative (0–2 copies).
pub type Genotype = Vec<Copy>;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Typing {
    /// Typed gene copies per locus (0–2), first alternative of an ambiguous typing.
    pub loci: BTreeMap<Locus, Vec<TypedItem>>,
    /// Every genotype alternative, for the loci typed ambiguously (`|`, `/`).
    pub ambiguous: BTreeMap<Locus, Vec<Genotype>>,
    /// Bw4/Bw6 as typed beside the antigens; `None` when not typed.
    pub public_epitopes: Option<BTreeSet<PublicEpitope>>,
    /// Assumptions made while reading (homozygosity, ambiguity, name resolution).
    pub notes: Vec<String>,
}

fn genotype_text(g: &Genotype) -> String {
    if g.is_empty() {
        return "(no gene)".to_string();
    }
    g.iter()
        .map(|copy| {
            copy.iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect::<Vec<_>>()
        .join("+")
}

/// A GL String of the alternatives of one locus (`A*24:03/A*24:10+A*01:01|...`).
pub fn genotypes_text(genotypes: &[Genotype]) -> String {
    genotypes
        .iter()
        .map(genotype_text)
        .collect::<Vec<_>>()
        .join("|")
}

impl Typing {
    pub fn items(&self, locus: Locus) -> &[TypedItem] {
        self.loci.get(&locus).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn is_typed(&self, locus: Locus) -> bool {
        !self.items(locus).is_empty()
    }

    /// Is this locus typed ambiguously (more than one genotype or allele possible)?
    pub fn is_ambiguous(&self, locus: Locus) -> bool {
        self.ambiguous.contains_key(&locus)
    }

    /// Every genotype alternative at a locus (one, unambiguous, for most).
    pub fn genotypes(&self, locus: Locus) -> Vec<Genotype> {
        match self.ambiguous.get(&locus) {
            Some(g) => g.clone(),
            None => vec![self.items(locus).iter().map(|i| vec![i.clone()]).collect()],
        }
    }

    /// Is the DRB3/4/5 content known? Typed, or absent because every DRB1
    /// family present (01/08/10) predicts no DRB3/4/5 gene. A lab export without
    /// DRB3/4/5 columns for a DRB1*03/04/15... person is "not typed", not "none".
    pub fn drb345_known(&self) -> bool {
        if self.is_typed(Locus::Drb345) {
            return true;
        }
        let drb1 = self.items(Locus::Drb1);
        !drb1.is_empty()
            && drb1.iter().all(|item| {
                let family = match item {
                    TypedItem::Allele(a) => a.fields[0].parse::<u16>().ok(),
                    TypedItem::Antigen(a) => drb1_family_of_dr_antigen(a.number),
                };
                matches!(
                    family.and_then(drb345_expected_from_drb1_family),
                    Some(None)
                )
            })
    }

    /// Every item (all loci, first alternative).
    pub fn all_items(&self) -> impl Iterator<Item = &TypedItem> {
        self.loci.values().flatten()
    }

    /// Set the genotype alternatives of a locus (the first becomes `loci`).
    fn set_locus(
        &mut self,
        locus: Locus,
        genotypes: Vec<Genotype>,
    ) -> std::result::Result<(), NameError> {
        for g in &genotypes {
            if g.len() > 2 {
                return Err(NameError(format!(
                    "more than two copies at locus {locus} ({})",
                    genotype_text(g)
                )));
            }
        }
        let ambiguous = genotypes.len() > 1 || genotypes.iter().flatten().any(|c| c.len() > 1);
        let first: Vec<TypedItem> = genotypes
            .first()
            .map(|g| g.iter().filter_map(|c| c.first().cloned()).collect())
            .unwrap_or_default();
        if let Some(existing) = self.loci.get_mut(&locus) {
            // The same locus in two '^' blocks: only unambiguous copies may add up.
            if ambiguous || self.ambiguous.contains_key(&locus) {
                return Err(NameError(format!(
                    "locus {locus} appears in more than one '^' block of an ambiguous typing"
                )));
            }
            if existing.len() + first.len() > 2 {
                return Err(NameError(format!(
                    "more than two copies at locus {locus} ({})",
                    existing
                        .iter()
                        .chain(&first)
                        .map(|i| i.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            existing.extend(first);
            return Ok(());
        }
        if ambiguous {
            let possible: usize = genotypes
                .iter()
                .map(|g| g.iter().map(Vec::len).product::<usize>())
                .sum();
            self.notes.push(format!(
                "{locus}: ambiguous typing {} ({possible} possible genotypes); resolved per comparison by the --ambiguity policy",
                genotypes_text(&genotypes)
            ));
            self.ambiguous.insert(locus, genotypes);
        }
        if !first.is_empty() {
            self.loci.insert(locus, first);
        }
        Ok(())
    }

    fn note_homozygous(&mut self) {
        for (locus, items) in &self.loci {
            if *locus != Locus::Drb345 && items.len() == 1 {
                self.notes.push(format!(
                    "{locus}: one copy typed ({}); assumed homozygous, not 'second allele unresolved'",
                    items[0]
                ));
            }
        }
    }

    /// From a parsed GL String: every genotype alternative of every locus.
    pub fn from_gl(gl: &GlString) -> std::result::Result<Typing, NameError> {
        let mut typing = Typing::default();
        for locus_block in &gl.loci {
            // One map per '|' alternative: locus → copies.
            let mut alternatives: Vec<BTreeMap<Locus, Genotype>> = Vec::new();
            for genotype in &locus_block.genotypes {
                let mut per_locus: BTreeMap<Locus, Genotype> = BTreeMap::new();
                for copy in &genotype.copies {
                    for list in &copy.alleles {
                        let Some(first) = list.alternatives.first() else {
                            continue;
                        };
                        let locus = first.locus();
                        if let Some(other) = list.alternatives.iter().find(|a| a.locus() != locus) {
                            return Err(NameError(format!(
                                "ambiguous alternatives {first}/{other} belong to different loci"
                            )));
                        }
                        per_locus
                            .entry(locus)
                            .or_default()
                            .push(list.alternatives.clone());
                    }
                }
                alternatives.push(per_locus);
            }
            let loci: BTreeSet<Locus> = alternatives
                .iter()
                .flat_map(|m| m.keys().copied())
                .collect();
            for locus in loci {
                let mut genotypes = Vec::new();
                for (k, alt) in alternatives.iter().enumerate() {
                    match alt.get(&locus) {
                        Some(g) => genotypes.push(g.clone()),
                        // DRB3/4/5 may be absent from a haplotype pair.
                        None if locus == Locus::Drb345 => genotypes.push(Vec::new()),
                        None => {
                            return Err(NameError(format!(
                                "genotype alternative {} ('|') has no {locus} copy while another has one",
                                k + 1
                            )));
                        }
                    }
                }
                genotypes.dedup();
                typing.set_locus(locus, genotypes)?;
            }
        }
        typing.note_homozygous();
        Ok(typing)
    }

    /// Parse a GL String, or a space-separated antigen list such as
    /// `A2 A24 B7 B44 Bw4 Bw6 DR15 DR4` (grouped by locus into a GL String
    /// first). Bw4/Bw6 are kept as public epitopes, beside the loci.
    pub fn parse_gl(text: &str) -> std::result::Result<Typing, NameError> {
        let (rest, epitopes) = split_public_epitopes(text);
        let mut typing = match antigen_list_as_gl(&rest)? {
            Some(gl) => Typing::from_gl(&parse_gl_string(&gl)?)?,
            None if rest.trim().is_empty() && !epitopes.is_empty() => Typing::default(),
            None => Typing::from_gl(&parse_gl_string(&rest)?)?,
        };
        if !epitopes.is_empty() {
            typing.public_epitopes = Some(epitopes);
        }
        Ok(typing)
    }

    /// Check every allele (every alternative) and antigen against the release.
    /// A short null name absent from it (`DRB4*01:03N`) is answered with the
    /// full name(s) the release has: replaced by it when there is one, kept
    /// (null, so never a mismatch) with a note naming them when there are several.
    pub fn check_against(
        &mut self,
        release: &Release,
    ) -> std::result::Result<(), (Locus, String, String)> {
        let mut renames: Vec<(TypedItem, TypedItem)> = Vec::new();
        let mut notes = Vec::new();
        let all: Vec<(Locus, TypedItem)> = self
            .loci
            .iter()
            .flat_map(|(l, v)| v.iter().map(|i| (*l, i.clone())))
            .chain(
                self.ambiguous
                    .iter()
                    .flat_map(|(l, g)| g.iter().flatten().flatten().map(|i| (*l, i.clone()))),
            )
            .collect();
        for (locus, item) in all {
            match &item {
                TypedItem::Allele(a) => {
                    if release.contains(a) {
                        continue;
                    }
                    let candidates = release.null_candidates(a);
                    match candidates {
                        [] => {
                            let mut msg = release.require(a).err().unwrap_or_default();
                            if a.is_null() {
                                msg.push_str(
                                    "; no null allele of the release starts with that name",
                                );
                            }
                            return Err((locus, item.to_string(), msg));
                        }
                        [one] => {
                            let full = crate::hla::nomenclature::parse_allele(one)
                                .map_err(|e| (locus, item.to_string(), e.0))?;
                            if !renames.iter().any(|(from, _)| *from == item) {
                                notes.push(format!(
                                    "{locus}: {item} is not a full name in IPD-IMGT/HLA release {}: read as {one}",
                                    release.version
                                ));
                                renames.push((item.clone(), TypedItem::Allele(full)));
                            }
                        }
                        several => {
                            let note = format!(
                                "{locus}: {item} is not a full name in IPD-IMGT/HLA release {}: it may be {} (all null, so never a mismatch)",
                                release.version,
                                several.join(", ")
                            );
                            if !notes.contains(&note) {
                                notes.push(note);
                            }
                        }
                    }
                }
                TypedItem::Antigen(a) => {
                    if !release.knows_antigen(a) {
                        return Err((
                            locus,
                            item.to_string(),
                            format!(
                                "antigen {a} is not in IPD-IMGT/HLA release {}",
                                release.version
                            ),
                        ));
                    }
                }
            }
        }
        for (from, to) in &renames {
            let swap = |i: &mut TypedItem| {
                if i == from {
                    *i = to.clone();
                }
            };
            self.loci.values_mut().flatten().for_each(swap);
            self.ambiguous
                .values_mut()
                .flatten()
                .flatten()
                .flatten()
                .for_each(swap);
        }
        self.notes.extend(notes);
        Ok(())
    }
}

/// Remove Bw4/Bw6 from a typing text: tokens of an antigen list, or whole
/// GL String blocks made of them (`...^Bw4+Bw6`).
fn split_public_epitopes(text: &str) -> (String, BTreeSet<PublicEpitope>) {
    let mut found = BTreeSet::new();
    if !text.contains('^') && !text.contains('*') && text.split_whitespace().count() > 1 {
        let kept: Vec<&str> = text
            .split_whitespace()
            .filter(|t| match PublicEpitope::parse(t) {
                Some(e) => {
                    found.insert(e);
                    false
                }
                None => true,
            })
            .collect();
        return (kept.join(" "), found);
    }
    let kept: Vec<&str> = text
        .split('^')
        .filter(|block| {
            let tokens: Vec<&str> = block.split(['+', '/', '~', '|']).map(str::trim).collect();
            let epitopes: Vec<PublicEpitope> = tokens
                .iter()
                .filter_map(|t| PublicEpitope::parse(t))
                .collect();
            if !tokens.is_empty() && epitopes.len() == tokens.len() {
                found.extend(epitopes);
                false
            } else {
                true
            }
        })
        .collect();
    (kept.join("^"), found)
}

/// Lab-export column groups, in the order of the documented header.
pub const TYPING_COLUMNS: [(&str, Locus); 9] = [
    ("A", Locus::A),
    ("B", Locus::B),
    ("C", Locus::C),
    ("DRB1", Locus::Drb1),
    ("DRB345", Locus::Drb345),
    ("DQA1", Locus::Dqa1),
    ("DQB1", Locus::Dqb1),
    ("DPA1", Locus::Dpa1),
    ("DPB1", Locus::Dpb1),
];

/// Read one lab-export cell. A bare `02:01` in column `A_1` is read as
/// `A*02:01`; DRB345 cells must name their gene (`DRB4*01:01`, or `DR53`).
pub fn parse_cell(column_locus: Locus, value: &str) -> std::result::Result<TypedItem, NameError> {
    let v = value.trim();
    let item = if !v.contains('*') && v.starts_with(|c: char| c.is_ascii_digit()) {
        let gene = match column_locus {
            Locus::A => Gene::A,
            Locus::B => Gene::B,
            Locus::C => Gene::C,
            Locus::Drb1 => Gene::Drb1,
            Locus::Dqa1 => Gene::Dqa1,
            Locus::Dqb1 => Gene::Dqb1,
            Locus::Dpa1 => Gene::Dpa1,
            Locus::Dpb1 => Gene::Dpb1,
            Locus::Drb345 => {
                return Err(NameError(format!(
                    "'{v}': DRB3/4/5 values must name the gene (DRB3*, DRB4*, DRB5*)"
                )));
            }
        };
        parse_item(&format!("{}*{v}", gene.name()))?
    } else {
        parse_item(v)?
    };
    if item.locus() != column_locus {
        return Err(NameError(format!(
            "'{v}' is a {} typing, not {column_locus}",
            item.locus()
        )));
    }
    Ok(item)
}

/// `A2 A24 B7 B44 DR15 DR4` → `A2+A24^B7+B44^DR15+DR4`; `None` when the text
/// is not a whitespace-separated list of antigens (a GL String, say).
fn antigen_list_as_gl(text: &str) -> std::result::Result<Option<String>, NameError> {
    let tokens: Vec<&str> = text.split_whitespace().collect();
    if tokens.len() < 2 || text.contains(['*', '^', '|', '+', '~', '/']) {
        return Ok(None);
    }
    let mut groups: Vec<(Locus, Vec<&str>)> = Vec::new();
    for t in tokens {
        let locus = parse_antigen(t)?.locus;
        match groups.iter_mut().find(|(l, _)| *l == locus) {
            Some((_, items)) => items.push(t),
            None => groups.push((locus, vec![t])),
        }
    }
    Ok(Some(
        groups
            .iter()
            .map(|(_, items)| items.join("+"))
            .collect::<Vec<_>>()
            .join("^"),
    ))
}

/// One person from a typing file.
#[derive(Debug, Clone)]
pub struct PersonTyping {
    pub person_id: String,
    pub typing: Typing,
    pub line: u64,
}

/// Read a typing file: `person_id` plus either a `gl_string` column or the
/// lab-export columns `A_1,A_2,...,DPB1_2` (missing locus columns = untyped).
/// With a release, every allele must be in it.
pub fn read_typing_csv(path: &Path, release: Option<&Release>) -> Result<Vec<PersonTyping>> {
    let table = CsvTable::read(path, Some(b'#'))?;
    let headers = &table.headers;
    let col = |name: &str| headers.iter().position(|h| h == name);
    let id_col = col("person_id").ok_or_else(|| {
        Error::from(InputError::new(path, "missing column 'person_id'").at_line(1))
    })?;
    let gl_col = col("gl_string");
    let mut locus_cols = Vec::new();
    for (prefix, locus) in TYPING_COLUMNS {
        let lower = prefix.to_ascii_lowercase();
        let c1 = col(&format!("{lower}_1"));
        let c2 = col(&format!("{lower}_2"));
        if c1.is_some() || c2.is_some() {
            locus_cols.push((prefix, locus, c1, c2));
        }
    }
    for h in headers {
        if let Some((prefix, _)) = h.rsplit_once('_')
            && (h.ends_with("_1") || h.ends_with("_2"))
            && !TYPING_COLUMNS
                .iter()
                .any(|(p, _)| p.eq_ignore_ascii_case(prefix))
        {
            return Err(InputError::new(
                path,
                format!("unknown locus column '{}' (expected A, B, C, DRB1, DRB345, DQA1, DQB1, DPA1, DPB1 with _1/_2)", h.to_ascii_uppercase()),
            )
            .at_line(1)
            .into());
        }
    }
    if gl_col.is_none() && locus_cols.is_empty() {
        return Err(InputError::new(
            path,
            "no typing columns: expected 'gl_string' or A_1,A_2,B_1,... columns",
        )
        .at_line(1)
        .into());
    }
    let mut out = Vec::new();
    let mut seen = FirstSeen::default();
    for (line, record) in &table.rows {
        let line = *line;
        let person = record.get(id_col).unwrap_or("").to_string();
        let err = |field: &str, msg: String| -> Error {
            InputError::new(path, msg)
                .at_line(line)
                .in_field(field.to_string())
                .into()
        };
        if person.is_empty() {
            return Err(err("person_id", "empty person_id".into()));
        }
        check_id(&person).map_err(|m| err("person_id", m))?;
        // A second row for a person would silently replace the first typing.
        if let Err(first) = seen.insert(person.clone(), line) {
            return Err(err(
                "person_id",
                format!("person {person} is typed twice (first at line {first})"),
            ));
        }
        let mut typing = Typing::default();
        if let Some(g) = gl_col.filter(|&g| !record.get(g).unwrap_or("").is_empty()) {
            let text = record.get(g).unwrap_or("");
            typing = Typing::parse_gl(text)
                .map_err(|e| err("gl_string", format!("person {person}: {e}")))?;
        } else {
            for (prefix, locus, c1, c2) in &locus_cols {
                let v1 = c1.and_then(|c| record.get(c)).unwrap_or("");
                let v2 = c2.and_then(|c| record.get(c)).unwrap_or("");
                let mut copies: Genotype = Vec::new();
                for (suffix, v) in [("_1", v1), ("_2", v2)] {
                    if v.is_empty() {
                        continue;
                    }
                    let field = format!("{prefix}{suffix}");
                    // A cell may list ambiguous alleles: `A*24:03/A*24:10`.
                    let copy = v
                        .split('/')
                        .map(|one| parse_cell(*locus, one))
                        .collect::<std::result::Result<Copy, _>>()
                        .map_err(|e| {
                            err(
                                &field,
                                format!("person {person}, locus {locus}, value '{v}': {e}"),
                            )
                        })?;
                    copies.push(copy);
                }
                if copies.is_empty() {
                    continue;
                }
                typing
                    .set_locus(*locus, vec![copies])
                    .map_err(|e| err(&format!("{prefix}_1"), format!("person {person}: {e}")))?;
                if *locus != Locus::Drb345 {
                    if !v1.is_empty() && v2.is_empty() {
                        typing.notes.push(format!(
                            "{locus}: second allele blank; assumed homozygous for {v1}"
                        ));
                    } else if v1.is_empty() && !v2.is_empty() {
                        typing.notes.push(format!(
                            "{locus}: first allele blank; assumed homozygous for {v2}"
                        ));
                    } else if !v1.is_empty() && v1 == v2 {
                        typing
                            .notes
                            .push(format!("{locus}: repeated allele {v1}; read as homozygous"));
                    }
                }
            }
        }
        if let Some(release) = release {
            typing
                .check_against(release)
                .map_err(|(locus, value, msg)| {
                    err(
                        &format!("{locus}"),
                        format!("person {person}, locus {locus}, value '{value}': {msg}"),
                    )
                })?;
        }
        out.push(PersonTyping {
            person_id: person,
            typing,
            line,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gl_phase_assigns_linked_alleles_to_their_own_loci() {
        let t = Typing::parse_gl("DRB1*15:01~DRB5*01:01+DRB1*04:01~DRB4*01:01").unwrap();
        assert_eq!(t.items(Locus::Drb1).len(), 2);
        let drb345: Vec<String> = t
            .items(Locus::Drb345)
            .iter()
            .map(|i| i.to_string())
            .collect();
        assert_eq!(drb345, vec!["DRB5*01:01", "DRB4*01:01"]);
    }

    #[test]
    fn gl_ambiguity_keeps_every_alternative_and_says_so() {
        let t = Typing::parse_gl("A*02:01/A*02:02+A*03:01").unwrap();
        assert_eq!(t.items(Locus::A)[0].to_string(), "A*02:01");
        assert!(t.is_ambiguous(Locus::A));
        assert_eq!(t.genotypes(Locus::A)[0][0].len(), 2);
        assert!(
            t.notes.iter().any(|n| n.contains("ambiguous")),
            "{:?}",
            t.notes
        );
        // '|': whole genotypes, kept in order.
        let t = Typing::parse_gl("A*01:01+A*02:01|A*01:02+A*02:05^B*07:02").unwrap();
        let g = t.genotypes(Locus::A);
        assert_eq!(g.len(), 2);
        assert_eq!(g[1][1][0].to_string(), "A*02:05");
        assert!(!t.is_ambiguous(Locus::B));
    }

    #[test]
    fn public_epitopes_are_read_beside_the_loci() {
        let t = Typing::parse_gl("A2 A24 B7 B44 Bw4 Bw6 DR15 DR4").unwrap();
        assert_eq!(t.items(Locus::B).len(), 2);
        let e: Vec<_> = t.public_epitopes.clone().unwrap().into_iter().collect();
        assert_eq!(e, vec![PublicEpitope::Bw4, PublicEpitope::Bw6]);
        let t = Typing::parse_gl("A*02:01+A*24:02^B*44:02^Bw4").unwrap();
        assert_eq!(t.items(Locus::A).len(), 2);
        assert_eq!(t.public_epitopes.unwrap().len(), 1);
        assert!(Typing::parse_gl("A2 B7").unwrap().public_epitopes.is_none());
    }

    #[test]
    fn lab_export_cells_may_list_ambiguous_alleles() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("typing.csv");
        std::fs::write(&p, "person_id,A_1,A_2\nR1,A*24:03/A*24:10,A*01:01\n").unwrap();
        let people = read_typing_csv(&p, None).unwrap();
        let t = &people[0].typing;
        assert!(t.is_ambiguous(Locus::A));
        assert_eq!(t.items(Locus::A).len(), 2);
    }

    #[test]
    fn single_copy_is_assumed_homozygous_with_a_note() {
        let t = Typing::parse_gl("A*02:01^DRB4*01:01").unwrap();
        assert!(
            t.notes
                .iter()
                .any(|n| n.contains("A:") && n.contains("homozygous"))
        );
        assert!(!t.notes.iter().any(|n| n.contains("DRB345")));
    }

    #[test]
    fn lab_export_cells_accept_bare_fields_and_check_the_column_locus() {
        assert_eq!(
            parse_cell(Locus::A, "02:01").unwrap().to_string(),
            "A*02:01"
        );
        assert_eq!(parse_cell(Locus::C, "Cw7").unwrap().to_string(), "Cw7");
        assert!(
            parse_cell(Locus::A, "B*07:02")
                .unwrap_err()
                .0
                .contains("not A")
        );
        assert!(parse_cell(Locus::Drb345, "01:01").is_err());
    }

    #[test]
    fn lab_export_reports_person_locus_and_value_on_bad_input() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("typing.csv");
        std::fs::write(
            &p,
            "person_id,A_1,A_2,B_1,B_2\nR1,A*02:01,,B*07:02,B*08:01\nR2,A*02:01,A*01:AB,B*07:02,\n",
        )
        .unwrap();
        let e = read_typing_csv(&p, None).unwrap_err().to_string();
        assert!(
            e.contains("R2") && e.contains("A_2") && e.contains("A*01:AB"),
            "{e}"
        );
        assert!(e.contains("NMDP"), "{e}");
        assert!(e.contains("line 3"), "{e}");

        std::fs::write(&p, "person_id,A_1,A_2,X_1\nR1,A*02:01,,x\n").unwrap();
        let e = read_typing_csv(&p, None).unwrap_err().to_string();
        assert!(e.contains("unknown locus column 'X_1'"), "{e}");

        std::fs::write(&p, "person_id,A_1,A_2\nR1,A*02:01,\n").unwrap();
        let people = read_typing_csv(&p, None).unwrap();
        assert!(people[0].typing.notes[0].contains("assumed homozygous"));
    }
}
