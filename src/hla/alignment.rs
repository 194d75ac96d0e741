//! Protein alignments of a user-supplied IPD-IMGT/HLA release
//! (`alignments/<GENE>_prot.txt`), read at run time (the database is CC BY-ND:
//! graftscan ships none of it).
//!
//! Format (IPD-IMGT/HLA alignment help, release 3.x): after `#` header lines,
//! blocks of about 100 columns. Each block opens with a ` Prot` line of
//! position labels and a line of `|` marks under them; then one line per
//! allele: the name, then residues in groups of ten. The first allele row is
//! the reference; in other rows `-` means "as the reference", `*` an unknown
//! (unsequenced) residue, `.` a gap (an insertion in another allele, or a
//! deletion), `X` a stop codon. Columns where the reference has `.` are
//! insertions and carry no number of their own: they are named after the
//! position before them (`25a`, `25b`, Kabat-style).
//!
//! Offsets are derived, never hard-coded: in each block the label over a `|`
//! that stands on a reference residue numbers that column, the following
//! reference residues count on from it (…, -1, 1, 2, …: there is no position
//! 0), and every other labelled `|` is checked against the count. Only the
//! mature protein (position 1 on) is kept.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{Error, InputError, Result};
use crate::hla::nomenclature::{AlleleName, Gene, parse_allele};

/// A mature-protein position: its number and, for an insertion column, the
/// insertion's rank after that number (0 for the numbered column itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Position {
    pub number: i32,
    pub insertion: u8,
}

impl Position {
    /// `57`, `25a` (a number with an optional insertion letter).
    pub fn parse(text: &str) -> Option<Position> {
        let t = text.trim();
        let (digits, letter) = match t.chars().last() {
            Some(c) if c.is_ascii_lowercase() => (&t[..t.len() - 1], Some(c)),
            _ => (t, None),
        };
        let number: i32 = digits.parse().ok()?;
        let insertion = match letter {
            Some(c) => (c as u8) - b'a' + 1,
            None => 0,
        };
        Some(Position { number, insertion })
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.number)?;
        if self.insertion > 0 {
            write!(f, "{}", (b'a' + self.insertion - 1) as char)?;
        }
        Ok(())
    }
}

/// A residue as stored: an upper-case letter, [`GAP`] or [`UNKNOWN`].
pub const GAP: u8 = b'.';
pub const UNKNOWN: u8 = b'*';

/// One gene's protein alignment, mature columns only.
#[derive(Debug, Clone)]
pub struct ProteinAlignment {
    pub gene: Gene,
    pub file: PathBuf,
    /// Version line of the file header (`IPD-IMGT/HLA 3.58.0`), if any.
    pub version: Option<String>,
    /// The position of each kept column.
    pub columns: Vec<Position>,
    /// Allele rows (full names) and their residues per kept column.
    rows: Vec<(AlleleName, Vec<u8>)>,
    /// Every name prefix (`DRB1*15`, `DRB1*15:01`, ...) → row indices.
    by_prefix: HashMap<String, Vec<usize>>,
}

fn next_position(p: i32) -> i32 {
    if p == -1 { 1 } else { p + 1 }
}

impl ProteinAlignment {
    pub fn read(gene: Gene, path: &Path) -> Result<ProteinAlignment> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        ProteinAlignment::parse(gene, path, &text)
    }

    pub fn parse(gene: Gene, path: &Path, text: &str) -> Result<ProteinAlignment> {
        let err = |line: usize, msg: String| -> Error {
            InputError::new(path, msg).at_line(line as u64 + 1).into()
        };
        let lines: Vec<&str> = text.lines().collect();
        let version = lines
            .iter()
            .find_map(|l| l.strip_prefix("# version:").map(|v| v.trim().to_string()));
        let mut columns: Vec<Position> = Vec::new();
        let mut names: Vec<String> = Vec::new();
        let mut residues: HashMap<String, Vec<u8>> = HashMap::new();
        let mut stopped: HashMap<String, bool> = HashMap::new();
        // (position number, insertion rank) of the last reference column seen.
        let mut state: Option<(i32, u8)> = None;
        let mut i = 0;
        while i < lines.len() {
            if !lines[i].starts_with(" Prot") {
                i += 1;
                continue;
            }
            let header = lines[i];
            let bars_line = lines
                .get(i + 1)
                .ok_or_else(|| err(i, "a ' Prot' line without the '|' line under it".into()))?;
            let bars: Vec<usize> = bars_line
                .char_indices()
                .filter(|(_, c)| *c == '|')
                .map(|(j, _)| j)
                .collect();
            if bars.is_empty() {
                return Err(err(i + 1, "no '|' marks under the ' Prot' labels".into()));
            }
            // The label over each mark: the number whose text covers its column.
            let mut labels: Vec<(usize, i32)> = Vec::new();
            for &col in &bars {
                let start = header[..=col.min(header.len().saturating_sub(1))]
                    .rfind(' ')
                    .map_or(0, |s| s + 1);
                let token: String = header[start..]
                    .chars()
                    .take_while(|c| !c.is_whitespace())
                    .collect();
                let n: i32 = token.parse().map_err(|_| {
                    err(
                        i,
                        format!("no position label over the '|' at column {}", col + 1),
                    )
                })?;
                labels.push((col, n));
            }
            let seq_start = bars[0];
            // The block's rows: until a blank line or the next block.
            let mut rows: Vec<(usize, &str)> = Vec::new();
            let mut j = i + 2;
            while j < lines.len() && !lines[j].trim().is_empty() && !lines[j].starts_with(" Prot") {
                rows.push((j, lines[j]));
                j += 1;
            }
            let Some(&(ref_line, reference)) = rows.first() else {
                return Err(err(i, "a block without allele rows".into()));
            };
            let ref_seq: Vec<u8> = reference
                .as_bytes()
                .get(seq_start..)
                .unwrap_or(&[])
                .to_vec();
            // Number the reference columns of this block.
            let anchor = labels.iter().find(|(col, _)| {
                matches!(ref_seq.get(col - seq_start), Some(c) if *c != b' ' && *c != GAP)
            });
            let mut block_columns: Vec<(usize, Position)> = Vec::new();
            for (k, &c) in ref_seq.iter().enumerate() {
                if c == b' ' {
                    continue;
                }
                let col = seq_start + k;
                if let Some(&(acol, n)) = anchor
                    && col == acol
                {
                    if let Some((p, _)) = state
                        && next_position(p) != n
                    {
                        return Err(err(
                            i,
                            format!(
                                "position label {n} does not follow position {p} of the previous block"
                            ),
                        ));
                    }
                    state = Some((n, 0));
                } else if let Some((p, ins)) = state {
                    state = Some(if c == GAP {
                        (p, ins.saturating_add(1))
                    } else {
                        (next_position(p), 0)
                    });
                } else {
                    // Before the first anchor: signal peptide, not kept.
                    continue;
                }
                if let Some((p, ins)) = state {
                    block_columns.push((
                        col,
                        Position {
                            number: p,
                            insertion: ins,
                        },
                    ));
                }
            }
            for &(col, n) in &labels {
                let on_residue =
                    matches!(ref_seq.get(col - seq_start), Some(c) if *c != b' ' && *c != GAP);
                if on_residue
                    && let Some(&(_, p)) = block_columns.iter().find(|(c, _)| *c == col)
                    && (p.number != n || p.insertion != 0)
                {
                    return Err(err(
                        i,
                        format!(
                            "the '|' labelled {n} stands on reference position {p}: the columns do not match the labels"
                        ),
                    ));
                }
            }
            let kept: Vec<(usize, Position)> = block_columns
                .into_iter()
                .filter(|(_, p)| p.number >= 1)
                .collect();
            let first_kept = columns.len();
            columns.extend(kept.iter().map(|(_, p)| *p));
            for (line_no, row) in &rows {
                let name = row.split_whitespace().next().unwrap_or("");
                let row_gene = name.split('*').next().and_then(Gene::parse);
                if *line_no != ref_line && row_gene != Some(gene) {
                    continue;
                }
                if row_gene != Some(gene) {
                    continue; // The reference of DRB3/4/5 files is DRB1*01:01:01:01.
                }
                let seq = row.as_bytes().get(seq_start..).unwrap_or(&[]);
                let entry = residues.entry(name.to_string()).or_insert_with(|| {
                    names.push(name.to_string());
                    Vec::new()
                });
                entry.resize(first_kept, UNKNOWN);
                let stop = stopped.entry(name.to_string()).or_insert(false);
                for (col, _) in &kept {
                    let k = col - seq_start;
                    let c = seq.get(k).copied().unwrap_or(b' ');
                    let r = if *stop {
                        UNKNOWN
                    } else {
                        match c {
                            b'-' => ref_seq.get(k).copied().unwrap_or(UNKNOWN),
                            b'X' => {
                                *stop = true;
                                UNKNOWN
                            }
                            GAP => GAP,
                            c if c.is_ascii_uppercase() => c,
                            b'*' | b' ' => UNKNOWN,
                            other => {
                                return Err(err(
                                    *line_no,
                                    format!(
                                        "allele {name}: unexpected character '{}' in the alignment",
                                        other as char
                                    ),
                                ));
                            }
                        }
                    };
                    entry.push(if r == b'-' || r == b' ' { UNKNOWN } else { r });
                }
            }
            i = j;
        }
        if columns.is_empty() {
            return Err(InputError::new(
                path,
                "no mature-protein columns found (expected ' Prot' blocks with a '|' labelled 1)",
            )
            .into());
        }
        let mut rows = Vec::with_capacity(names.len());
        let mut by_prefix: HashMap<String, Vec<usize>> = HashMap::new();
        for name in names {
            let Some(mut r) = residues.remove(&name) else {
                continue;
            };
            r.resize(columns.len(), UNKNOWN);
            let allele = parse_allele(&name).map_err(|e| {
                Error::from(InputError::new(path, format!("allele row '{name}': {e}")))
            })?;
            let idx = rows.len();
            for n in 1..=allele.fields.len() {
                by_prefix
                    .entry(format!("{}*{}", gene.name(), allele.fields[..n].join(":")))
                    .or_default()
                    .push(idx);
            }
            rows.push((allele, r));
        }
        Ok(ProteinAlignment {
            gene,
            file: path.to_path_buf(),
            version,
            columns,
            rows,
            by_prefix,
        })
    }

    pub fn allele_count(&self) -> usize {
        self.rows.len()
    }

    /// Residues of a typed allele per column: merged over every full allele
    /// the name covers (of the same expression: an expressed name never
    /// covers a null row). Where they disagree, or none is sequenced, the
    /// residue is [`UNKNOWN`]. `None` when no row matches.
    pub fn residues_of(&self, a: &AlleleName) -> Option<Vec<u8>> {
        if a.gene != self.gene {
            return None;
        }
        let key = format!("{}*{}", a.gene.name(), a.fields.join(":"));
        let rows: Vec<&Vec<u8>> = self
            .by_prefix
            .get(&key)?
            .iter()
            .map(|&i| &self.rows[i])
            .filter(|(name, _)| name.is_null() == a.is_null())
            .filter(|(name, _)| a.expression.is_none() || name.expression == a.expression)
            .map(|(_, r)| r)
            .collect();
        if rows.is_empty() {
            return None;
        }
        let mut out = vec![UNKNOWN; self.columns.len()];
        for (k, slot) in out.iter_mut().enumerate() {
            let mut seen: Option<u8> = None;
            for r in &rows {
                let c = r[k];
                if c == UNKNOWN {
                    continue;
                }
                match seen {
                    None => seen = Some(c),
                    Some(s) if s == c => {}
                    Some(_) => {
                        seen = Some(UNKNOWN);
                        break;
                    }
                }
            }
            *slot = seen.unwrap_or(UNKNOWN);
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A synthetic alignment in the release's layout (invented sequences):
    // signal peptide -3..-1, mature 1..; an insertion column after 4 in block
    // 1 (reference '.'), a second block labelled by its first column.
    const SYNTHETIC: &str = "\
# file: DRB1_prot.txt
# version: IPD-IMGT/HLA 9.99.0

 Prot               -5    1
                    |     |
 DRB1*01:01:01:01     MVL GDTR.PKFLW QLKFS
 DRB1*01:02           --- ---S.----- -----
 DRB1*01:03           *** **--K--Y** ---.-
 DRB1*04:01N          --- ----.X
 DRB3*01:01           --- ----.----- -----

 Prot               15
                    |
 DRB1*01:01:01:01   EQRRA
 DRB1*01:02         ----V
 DRB1*01:03         -----

Please see http://hla.alleles.org/terms.html for terms of use.
";

    fn parsed() -> ProteinAlignment {
        ProteinAlignment::parse(Gene::Drb1, Path::new("DRB1_prot.txt"), SYNTHETIC).unwrap()
    }

    fn at(al: &ProteinAlignment, name: &str, pos: &str) -> char {
        let r = al.residues_of(&parse_allele(name).unwrap()).unwrap();
        let p = Position::parse(pos).unwrap();
        let k = al.columns.iter().position(|c| *c == p).unwrap();
        r[k] as char
    }

    #[test]
    fn positions_come_from_the_labels_and_insertions_get_letters() {
        let al = parsed();
        let labels: Vec<String> = al.columns.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            labels,
            vec![
                "1", "2", "3", "4", "4a", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14",
                "15", "16", "17", "18", "19"
            ]
        );
        assert_eq!(al.version.as_deref(), Some("IPD-IMGT/HLA 9.99.0"));
        // The DRB3 row of a DRB1 file is not a DRB1 allele.
        assert_eq!(al.allele_count(), 4);
    }

    #[test]
    fn dashes_unknowns_gaps_and_stops_are_decoded() {
        let al = parsed();
        assert_eq!(at(&al, "DRB1*01:02", "4"), 'S');
        assert_eq!(at(&al, "DRB1*01:02", "5"), 'P');
        assert_eq!(at(&al, "DRB1*01:02", "19"), 'V');
        assert_eq!(at(&al, "DRB1*01:03", "1"), '*');
        assert_eq!(at(&al, "DRB1*01:03", "4a"), 'K');
        assert_eq!(at(&al, "DRB1*01:03", "7"), 'Y');
        assert_eq!(at(&al, "DRB1*01:03", "13"), '.');
        assert_eq!(at(&al, "DRB1*01:01", "4a"), '.');
        // After a stop codon nothing is known.
        assert_eq!(at(&al, "DRB1*04:01N", "4"), 'R');
        assert_eq!(at(&al, "DRB1*04:01N", "6"), '*');
        assert_eq!(at(&al, "DRB1*04:01N", "15"), '*');
    }

    #[test]
    fn a_short_name_merges_its_rows_and_disagreement_is_unknown() {
        let al = parsed();
        // DRB1*01 covers 01:01, 01:02, 01:03 (expressed only): 4 differs.
        assert_eq!(at(&al, "DRB1*01", "4"), '*');
        assert_eq!(at(&al, "DRB1*01", "2"), 'D');
        // An expressed name does not cover the null row, and vice versa.
        assert!(
            al.residues_of(&parse_allele("DRB1*04:01").unwrap())
                .is_none()
        );
        assert!(
            al.residues_of(&parse_allele("DRB1*05:01").unwrap())
                .is_none()
        );
    }

    #[test]
    fn labels_that_disagree_with_the_columns_are_an_error() {
        let bad = SYNTHETIC.replace("Prot               15\n", "Prot               16\n");
        let e = ProteinAlignment::parse(Gene::Drb1, Path::new("x_prot.txt"), &bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains("x_prot.txt") && e.contains("line"), "{e}");
        assert!(e.contains("does not follow"), "{e}");
    }

    #[test]
    fn position_labels_parse_and_print() {
        let p = Position::parse("25a").unwrap();
        assert_eq!((p.number, p.insertion), (25, 1));
        assert_eq!(p.to_string(), "25a");
        assert_eq!(Position::parse("57").unwrap().to_string(), "57");
        assert!(Position::parse("x").is_none());
        assert!(Position::parse("25a") > Position::parse("25"));
        assert!(Position::parse("25a") < Position::parse("26"));
    }
}
