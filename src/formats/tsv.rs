//! Tab-separated count, genotype and panel files.
//!
//! - counts:    `chrom pos ref alt ref_count alt_count` (optional `depth`)
//! - genotypes: `chrom pos ref alt genotype` (0/1/2 or 0/0, 0/1, 1/1)

use std::collections::HashMap;
use std::io::{self, BufRead, Read};
use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, InputError, Result};
use crate::formats::allele_table::{AlleleTable, SourceFormat};
use crate::formats::input::{FirstSeen, check_text_encoding};
use crate::formats::site::{ChromInterner, SiteKey};

fn open_text(path: &Path, gz: bool) -> Result<Box<dyn Read>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    Ok(if gz {
        Box::new(noodles_bgzf::io::Reader::new(file))
    } else {
        Box::new(file)
    })
}

pub fn first_line(path: &Path, gz: bool) -> Result<String> {
    let mut reader = io::BufReader::new(open_text(path, gz)?);
    let mut line = String::new();
    reader
        .read_line(&mut line)
        .map_err(|e| InputError::new(path, format!("cannot read: {e}")))?;
    Ok(line)
}

/// A TSV with a header, columns looked up by name; rows carry their line number.
pub struct TsvTable {
    pub columns: HashMap<String, usize>,
    pub reader: csv::Reader<Box<dyn Read>>,
}

impl TsvTable {
    /// The next row into `record`: `false` at the end of the file, a
    /// malformed row an error naming its line.
    pub fn read_row(&mut self, path: &Path, record: &mut csv::StringRecord) -> Result<bool> {
        self.reader.read_record(record).map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            InputError::new(path, format!("malformed row: {e}"))
                .at_line(line)
                .into()
        })
    }
}

pub fn open_tsv(path: &Path, gz: bool) -> Result<TsvTable> {
    if !gz {
        check_text_encoding(path)?;
    }
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b'\t')
        .has_headers(true)
        .comment(None)
        .trim(csv::Trim::All)
        .from_reader(open_text(path, gz)?);
    let headers = reader
        .headers()
        .map_err(|e| InputError::new(path, format!("cannot read the header: {e}")).at_line(1))?;
    let columns = headers
        .iter()
        .enumerate()
        .map(|(i, h)| (h.trim_start_matches('#').to_ascii_lowercase(), i))
        .collect();
    Ok(TsvTable { columns, reader })
}

impl TsvTable {
    pub fn require(&self, path: &Path, names: &[&str]) -> Result<Vec<usize>> {
        names
            .iter()
            .map(|n| {
                self.columns.get(*n).copied().ok_or_else(|| {
                    Error::from(
                        InputError::new(path, format!("missing column '{n}' in the header"))
                            .at_line(1),
                    )
                })
            })
            .collect()
    }
}

pub fn row_error(path: &Path, record: &csv::StringRecord, field: &str, msg: String) -> Error {
    // Data rows follow the header: never above line 2 (see formats::sheet).
    let line = record.position().map(|p| p.line()).unwrap_or(0).max(2);
    InputError::new(path, msg)
        .at_line(line)
        .in_field(field)
        .into()
}

/// The largest position a VCF may hold (VCF 4.3 §1.6.2: POS is a 32-bit signed integer).
pub const MAX_POSITION: u64 = (1 << 31) - 1;

/// A 1-based position: 0 means a 0-based (BED-like) file, which would join
/// with the VCF genotypes one base off and silently match nothing.
pub fn parse_position(path: &Path, record: &csv::StringRecord, idx: usize) -> Result<u64> {
    let pos = parse_u64(path, record, idx, "pos")?;
    if pos == 0 || pos > MAX_POSITION {
        return Err(row_error(
            path,
            record,
            "pos",
            format!("{pos} is not a 1-based position in 1..={MAX_POSITION}"),
        ));
    }
    Ok(pos)
}

/// Refuse a second SNP row at a position already read: counted twice, its
/// reads would narrow the interval; for genotypes, the later row would
/// silently win.
pub fn duplicate_site_error(
    path: &Path,
    record: &csv::StringRecord,
    site: &SiteKey,
    first: u64,
) -> Error {
    row_error(
        path,
        record,
        "pos",
        format!("site {site} is listed twice (first at line {first}); each site once"),
    )
}

pub fn parse_u64(path: &Path, record: &csv::StringRecord, idx: usize, field: &str) -> Result<u64> {
    let raw = record.get(idx).unwrap_or("");
    raw.parse::<u64>().map_err(|_| {
        row_error(
            path,
            record,
            field,
            format!("'{raw}' is not a non-negative integer"),
        )
    })
}

/// Genotype text to ALT dosage: `0/1/2`, `0/0`, `0/1`, `1/1` (`|` too);
/// `.`, `./.`, `NA` are missing.
pub fn parse_genotype(text: &str) -> std::result::Result<Option<u8>, String> {
    match text {
        "0" | "0/0" | "0|0" => Ok(Some(0)),
        "1" | "0/1" | "1/0" | "0|1" | "1|0" => Ok(Some(1)),
        "2" | "1/1" | "1|1" => Ok(Some(2)),
        "" | "." | "./." | ".|." | "NA" => Ok(None),
        other => Err(format!(
            "'{other}' is not a genotype (expected 0/1/2 or 0/0, 0/1, 1/1)"
        )),
    }
}

pub fn read_allele_tsv(path: &Path, gz: bool) -> Result<AlleleTable> {
    let mut table = open_tsv(path, gz)?;
    let is_counts =
        table.columns.contains_key("ref_count") || table.columns.contains_key("alt_count");
    let is_genotypes = table.columns.contains_key("genotype");
    if !is_counts && !is_genotypes {
        return Err(InputError::new(
            path,
            "not a VCF, count TSV (chrom pos ref alt ref_count alt_count) or genotype TSV (chrom pos ref alt genotype)",
        )
        .at_line(1)
        .into());
    }
    let base = table.require(path, &["chrom", "pos", "ref", "alt"])?;
    let value_cols = if is_counts {
        table.require(path, &["ref_count", "alt_count"])?
    } else {
        table.require(path, &["genotype"])?
    };
    let depth_col = table.columns.get("depth").copied();
    let mut chroms = ChromInterner::default();
    let mut sites = Vec::new();
    let mut genotypes = Vec::new();
    let mut depths = Vec::new();
    let mut non_snp = 0;
    let mut seen: FirstSeen<(Arc<str>, u64)> = FirstSeen::default();
    let mut record = csv::StringRecord::new();
    while table.read_row(path, &mut record)? {
        let pos = parse_position(path, &record, base[1])?;
        let site = SiteKey::new(
            chroms.get(record.get(base[0]).unwrap_or("")),
            pos,
            record.get(base[2]).unwrap_or(""),
            record.get(base[3]).unwrap_or(""),
        );
        let Some(site) = site else {
            non_snp += 1;
            continue;
        };
        let line = record.position().map(|p| p.line()).unwrap_or(0).max(2);
        if let Err(first) = seen.insert((site.chrom.clone(), site.pos), line) {
            return Err(duplicate_site_error(path, &record, &site, first));
        }
        if is_counts {
            let r = parse_u64(path, &record, value_cols[0], "ref_count")?;
            let a = parse_u64(path, &record, value_cols[1], "alt_count")?;
            if let Some(dc) = depth_col {
                let d = parse_u64(path, &record, dc, "depth")?;
                if a > d {
                    return Err(row_error(
                        path,
                        &record,
                        "alt_count",
                        format!("alt_count {a} exceeds depth {d}"),
                    ));
                }
                if r + a > d {
                    return Err(row_error(
                        path,
                        &record,
                        "ref_count",
                        format!("ref_count + alt_count = {} exceeds depth {d}", r + a),
                    ));
                }
            }
            let to_u32 = |v: u64, f: &str| {
                u32::try_from(v)
                    .map_err(|_| row_error(path, &record, f, format!("count {v} is too large")))
            };
            depths.push(Some([to_u32(r, "ref_count")?, to_u32(a, "alt_count")?]));
        } else {
            let raw = record.get(value_cols[0]).unwrap_or("");
            let g = parse_genotype(raw).map_err(|m| row_error(path, &record, "genotype", m))?;
            genotypes.push(g);
        }
        sites.push(site);
    }
    let n = sites.len();
    Ok(AlleleTable {
        path: path.to_path_buf(),
        format: if is_counts {
            SourceFormat::CountTsv
        } else {
            SourceFormat::GenotypeTsv
        },
        samples: vec![String::new()],
        sites,
        alt_frequency: vec![None; n],
        genotypes: (!is_counts).then_some(genotypes),
        depths: is_counts.then_some(depths),
        non_snp_sites: non_snp,
    })
}
