//! Single-antigen-bead results and donor-specific antibodies (doc §5).
//!
//! Input CSV: `recipient_id` or `transplant_id`, `serum_date` (YYYY-MM-DD),
//! `specificity` (an allele `A*02:01`, an antigen `A2`, or a class II
//! heterodimer bead `DQA1*05:01~DQB1*02:01`), `mfi`, optional `cutoff` (else
//! the default). A bead is positive when MFI > cut-off ("above" the cut-off).
//! A positive bead whose specificity the donor carries is a DSA.

use std::path::Path;

use chrono::NaiveDate;

use crate::error::{Error, InputError, Result};
use crate::formats::input::{FirstSeen, check_date, check_id};
use crate::formats::sheet::CsvTable;
use crate::hla::nomenclature::{Locus, TypedItem, parse_item};
use crate::hla::release::Release;
use crate::hla::typing::Typing;

pub const DEFAULT_MFI_CUTOFF: f64 = 1000.0;

/// MFI bounds: Luminex single-antigen-bead readers saturate near 30,000;
/// baseline-corrected values dip a little below 0. Outside these a value is a
/// typo or a unit error.
pub const MIN_MFI: f64 = -10_000.0;
pub const MAX_MFI: f64 = 100_000.0;

#[derive(Debug, Clone)]
pub struct BeadResult {
    /// The recipient or transplant the serum belongs to.
    pub owner: String,
    pub serum_date: NaiveDate,
    /// One item, or the two chains of a heterodimer bead.
    pub specificity: Vec<TypedItem>,
    pub mfi: f64,
    pub cutoff: f64,
    pub line: u64,
}

impl BeadResult {
    pub fn positive(&self) -> bool {
        self.mfi > self.cutoff
    }

    pub fn label(&self) -> String {
        self.specificity
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join("~")
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Dsa {
    pub specificity: String,
    pub locus: Locus,
    pub mfi: f64,
    pub cutoff: f64,
    pub serum_date: NaiveDate,
    /// The donor item(s) the antibody recognises.
    pub donor_items: Vec<String>,
}

pub fn read_antibodies(path: &Path, default_cutoff: f64) -> Result<Vec<BeadResult>> {
    let table = CsvTable::read(path, Some(b'#'))?;
    let headers = &table.headers;
    let col = |n: &str| headers.iter().position(|h| h == n);
    let owner_col = col("recipient_id")
        .or_else(|| col("transplant_id"))
        .ok_or_else(|| {
            Error::from(
                InputError::new(path, "missing column 'recipient_id' or 'transplant_id'")
                    .at_line(1),
            )
        })?;
    let need = |n: &str| {
        col(n).ok_or_else(|| {
            Error::from(InputError::new(path, format!("missing column '{n}'")).at_line(1))
        })
    };
    let (date_col, spec_col, mfi_col) = (need("serum_date")?, need("specificity")?, need("mfi")?);
    let cutoff_col = col("cutoff");
    let mut out = Vec::new();
    // One result per serum and bead: a repeated bead with another MFI would
    // leave the DSA call to the row order.
    let mut seen = FirstSeen::default();
    for (line, rec) in &table.rows {
        let line = *line;
        let get = |i: usize| rec.get(i).unwrap_or("");
        let err = |field: &str, msg: String| -> Error {
            InputError::new(path, msg)
                .at_line(line)
                .in_field(field)
                .into()
        };
        let owner = get(owner_col).to_string();
        if owner.is_empty() {
            return Err(err(&headers[owner_col], "empty id".into()));
        }
        check_id(&owner).map_err(|m| err(&headers[owner_col], m))?;
        let serum_date = NaiveDate::parse_from_str(get(date_col), "%Y-%m-%d").map_err(|_| {
            err(
                "serum_date",
                format!("'{}' is not a YYYY-MM-DD date", get(date_col)),
            )
        })?;
        // Pre-transplant sera are normal (DSA screening); future ones are not.
        check_date(serum_date).map_err(|m| err("serum_date", m))?;
        if get(spec_col).contains(['/', '|']) {
            return Err(err(
                "specificity",
                format!(
                    "'{}' lists alternatives: a bead carries one specificity (one row per bead)",
                    get(spec_col)
                ),
            ));
        }
        let specificity = get(spec_col)
            .split('~')
            .map(|s| {
                parse_item(s)
                    .map_err(|e| err("specificity", format!("recipient/transplant {owner}: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        let mfi: f64 = get(mfi_col)
            .parse()
            .ok()
            .filter(|v: &f64| (MIN_MFI..=MAX_MFI).contains(v))
            .ok_or_else(|| {
                err(
                    "mfi",
                    format!("'{}' is not an MFI in [{MIN_MFI}, {MAX_MFI}]", get(mfi_col)),
                )
            })?;
        let cutoff = match cutoff_col.map(get).filter(|c| !c.is_empty()) {
            None => default_cutoff,
            Some(c) => c
                .parse()
                .ok()
                .filter(|v: &f64| *v > 0.0 && *v <= MAX_MFI)
                .ok_or_else(|| {
                    err(
                        "cutoff",
                        format!("'{c}' is not an MFI cut-off in (0, {MAX_MFI}]"),
                    )
                })?,
        };
        let label = specificity
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join("~");
        if let Err(first) = seen.insert((owner.clone(), serum_date, label.clone()), line) {
            return Err(err(
                "specificity",
                format!("{owner}, serum {serum_date}, bead {label} repeats line {first}"),
            ));
        }
        out.push(BeadResult {
            owner,
            serum_date,
            specificity,
            mfi,
            cutoff,
            line,
        });
    }
    Ok(out)
}

/// Does the donor carry this bead specificity? Returns the donor items hit.
fn donor_hits(spec: &TypedItem, donor: &Typing, release: Option<&Release>) -> Vec<String> {
    let mut hits = Vec::new();
    for item in donor.items(spec.locus()) {
        if item.is_null() {
            continue;
        }
        let hit = match (spec, item) {
            (TypedItem::Allele(s), TypedItem::Allele(d)) => {
                s.gene == d.gene
                    && s.fields[0] == d.fields[0]
                    && (s.any_in_group
                        || d.any_in_group
                        || s.fields.len() < 2
                        || d.fields.len() < 2
                        || s.fields[1] == d.fields[1])
            }
            (TypedItem::Antigen(s), TypedItem::Antigen(d)) => s == d,
            (TypedItem::Antigen(s), TypedItem::Allele(d)) => {
                release.is_some_and(|r| r.serology(d).antigens.contains(s))
            }
            (TypedItem::Allele(s), TypedItem::Antigen(d)) => {
                release.is_some_and(|r| r.serology(s).antigens.contains(d))
            }
        };
        if hit && !hits.contains(&item.to_string()) {
            hits.push(item.to_string());
        }
    }
    hits
}

/// Positive beads whose specificity the donor carries.
pub fn donor_specific_antibodies(
    beads: &[&BeadResult],
    donor: &Typing,
    release: Option<&Release>,
) -> Vec<Dsa> {
    let mut out = Vec::new();
    for bead in beads.iter().filter(|b| b.positive()) {
        let mut items = Vec::new();
        let mut all = true;
        for spec in &bead.specificity {
            let hits = donor_hits(spec, donor, release);
            if hits.is_empty() {
                all = false;
            }
            items.extend(hits);
        }
        if all && !items.is_empty() {
            out.push(Dsa {
                specificity: bead.label(),
                locus: bead.specificity[0].locus(),
                mfi: bead.mfi,
                cutoff: bead.cutoff,
                serum_date: bead.serum_date,
                donor_items: items,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positive_beads_the_donor_carries_are_dsas() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sab.csv");
        std::fs::write(
            &p,
            "recipient_id,serum_date,specificity,mfi,cutoff\n\
             R1,2026-01-05,A*02:01,5400,\n\
             R1,2026-01-05,B*08:01,800,\n\
             R1,2026-01-05,B*44:02,9000,\n\
             R1,2026-01-05,DQA1*05:01~DQB1*02:01,3000,2000\n\
             R1,2026-01-05,A*03:01,1000,\n",
        )
        .unwrap();
        let beads = read_antibodies(&p, DEFAULT_MFI_CUTOFF).unwrap();
        let refs: Vec<&BeadResult> = beads.iter().collect();
        let donor = Typing::parse_gl(
            "A*02:01+A*03:01^B*08:01+B*07:02^DQA1*05:01+DQA1*01:01^DQB1*02:01+DQB1*06:02",
        )
        .unwrap();
        let dsas = donor_specific_antibodies(&refs, &donor, None);
        let found: Vec<(String, f64)> = dsas
            .iter()
            .map(|d| (d.specificity.clone(), d.mfi))
            .collect();
        // B*08:01 below cut-off; B*44:02 not in the donor; A*03:01 at (not above) the cut-off.
        assert_eq!(
            found,
            vec![
                ("A*02:01".to_string(), 5400.0),
                ("DQA1*05:01~DQB1*02:01".to_string(), 3000.0)
            ]
        );
        assert_eq!(dsas[1].locus, Locus::Dqa1);
    }

    #[test]
    fn bad_bead_rows_name_line_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sab.csv");
        std::fs::write(
            &p,
            "recipient_id,serum_date,specificity,mfi\nR1,2026-01-05,A*02:AB,5400\n",
        )
        .unwrap();
        let e = read_antibodies(&p, 1000.0).unwrap_err().to_string();
        assert!(
            e.contains("line 2") && e.contains("specificity") && e.contains("NMDP"),
            "{e}"
        );
    }
}
