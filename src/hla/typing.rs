//! A person's HLA typing, per comparison locus, from a GL String or from a lab
//! export with one column per allele (`A_1,A_2,B_1,...`).
//!
//! Assumptions are stated, not hidden: one typed copy at a locus (a blank or
//! repeated second column, or a single allele in a GL String) is read as
//! homozygous, and a note says so; for GL ambiguity (`/`, `|`) the first
//! alternative is used, and a note says so. DRB3/4/5 carry 0–2 copies
//! (DRB1*01/08/10 haplotypes have none), so a single DRB3/4/5 copy is never
//! "homozygous".

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, InputError, Result};
use crate::formats::input::{FirstSeen, check_id};
use crate::formats::sheet::CsvTable;
use crate::hla::gl_string::{GlString, parse_gl_string};
use crate::hla::nomenclature::parse_antigen;
use crate::hla::nomenclature::{
    Gene, Locus, NameError, TypedItem, drb1_family_of_dr_antigen, drb345_expected_from_drb1_family,
    parse_item,
};
use crate::hla::release::Release;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Typing {
    /// Typed gene copies per locus (0–2).
    pub loci: BTreeMap<Locus, Vec<TypedItem>>,
    /// Assumptions made while reading (homozygosity, ambiguity resolution).
    pub notes: Vec<String>,
}

impl Typing {
    pub fn items(&self, locus: Locus) -> &[TypedItem] {
        self.loci.get(&locus).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn is_typed(&self, locus: Locus) -> bool {
        !self.items(locus).is_empty()
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

    /// Every item (all loci).
    pub fn all_items(&self) -> impl Iterator<Item = &TypedItem> {
        self.loci.values().flatten()
    }

    fn push(&mut self, item: TypedItem) -> std::result::Result<(), NameError> {
        let locus = item.locus();
        let v = self.loci.entry(locus).or_default();
        if v.len() == 2 {
            return Err(NameError(format!(
                "more than two copies at locus {locus} ({}, {}, {item})",
                v[0], v[1]
            )));
        }
        v.push(item);
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

    /// From a parsed GL String; the first genotype of `|` and the first allele
    /// of `/` are used, with a note.
    pub fn from_gl(gl: &GlString) -> std::result::Result<Typing, NameError> {
        let mut typing = Typing::default();
        for locus_block in &gl.loci {
            let Some(genotype) = locus_block.genotypes.first() else {
                continue;
            };
            if locus_block.genotypes.len() > 1 {
                typing.notes.push(format!(
                    "{} alternative genotypes ('|'); the first was used",
                    locus_block.genotypes.len()
                ));
            }
            for copy in &genotype.copies {
                for list in &copy.alleles {
                    let Some(first) = list.alternatives.first() else {
                        continue;
                    };
                    if list.alternatives.len() > 1 {
                        let all: Vec<String> =
                            list.alternatives.iter().map(|a| a.to_string()).collect();
                        typing.notes.push(format!(
                            "ambiguous allele {}; the first ({first}) was used",
                            all.join("/")
                        ));
                    }
                    typing.push(first.clone())?;
                }
            }
        }
        typing.note_homozygous();
        Ok(typing)
    }

    /// Parse a GL String, or a space-separated antigen list such as
    /// `A2 A24 B7 B44 DR15 DR4` (grouped by locus into a GL String first).
    pub fn parse_gl(text: &str) -> std::result::Result<Typing, NameError> {
        match antigen_list_as_gl(text)? {
            Some(gl) => Typing::from_gl(&parse_gl_string(&gl)?),
            None => Typing::from_gl(&parse_gl_string(text)?),
        }
    }

    /// Check every allele against the release, and every antigen.
    pub fn validate(&self, release: &Release) -> std::result::Result<(), (Locus, String, String)> {
        for (locus, items) in &self.loci {
            for item in items {
                match item {
                    TypedItem::Allele(a) => {
                        release
                            .require(a)
                            .map_err(|m| (*locus, item.to_string(), m))?;
                    }
                    TypedItem::Antigen(a) => {
                        if !release.knows_antigen(a) {
                            return Err((
                                *locus,
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
        }
        Ok(())
    }
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
    // An ambiguity must not lose its alternatives in a one-allele cell.
    if v.contains(['/', '|']) {
        return Err(NameError(format!(
            "'{v}' lists alternatives: a lab-export cell holds one allele; give an ambiguous typing as a GL String (gl_string column), where every alternative is kept"
        )));
    }
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
                for (suffix, v) in [("_1", v1), ("_2", v2)] {
                    if v.is_empty() {
                        continue;
                    }
                    let field = format!("{prefix}{suffix}");
                    let item = parse_cell(*locus, v).map_err(|e| {
                        err(
                            &field,
                            format!("person {person}, locus {locus}, value '{v}': {e}"),
                        )
                    })?;
                    typing.push(item).map_err(|e| err(&field, e.0))?;
                }
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
            typing.validate(release).map_err(|(locus, value, msg)| {
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
    fn gl_ambiguity_uses_the_first_alternative_and_says_so() {
        let t = Typing::parse_gl("A*02:01/A*02:02+A*03:01").unwrap();
        assert_eq!(t.items(Locus::A)[0].to_string(), "A*02:01");
        assert!(t.notes.iter().any(|n| n.contains("ambiguous")));
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
        // An ambiguity in a one-allele cell is refused, never cut to its first allele.
        assert!(
            parse_cell(Locus::A, "A*24:02/A*01:01")
                .unwrap_err()
                .0
                .contains("GL String")
        );
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
