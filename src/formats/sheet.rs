//! The lab's batch sheets: `transplants.csv` (one row per transplant) and
//! `samples.csv` (one row per blood draw). Paths inside a sheet are relative to
//! the sheet. Unknown extra columns are kept and ignored.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use crate::error::{Error, InputError, Result};
use crate::formats::input::{
    FirstSeen, check_date, check_id, check_input_file, check_text_encoding, file_problem,
};
use crate::model::Relationship;
use crate::risk::Organ;

#[derive(Debug, Clone)]
pub struct GenotypeSource {
    pub path: PathBuf,
    pub sample: String,
}

#[derive(Debug, Clone)]
pub struct TransplantRow {
    pub transplant_id: String,
    pub organ: Organ,
    pub transplant_date: NaiveDate,
    pub relationship: Relationship,
    pub recipient: Option<GenotypeSource>,
    pub donor: Option<GenotypeSource>,
    /// A second donor (retransplant or dual-organ graft from two donors).
    pub second_donor: Option<SecondDonor>,
    /// HLA typings (GL String or antigen list) from the optional columns.
    pub recipient_hla: Option<String>,
    pub donor_hla: Option<String>,
    /// Person ids into a `--typings` file (and for antibody results).
    pub recipient_id: Option<String>,
    pub donor_id: Option<String>,
    pub sheet: PathBuf,
    pub line: u64,
}

#[derive(Debug, Clone)]
pub struct SecondDonor {
    pub genotypes: Option<GenotypeSource>,
    pub relationship: Relationship,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QuantityUnit {
    NgPerMl,
    GePerMl,
}

/// Upper bound of a plausible total cfDNA concentration. Plasma holds a few to
/// a few hundred ng/mL even in sepsis or after trauma; 10 µg/mL is two orders
/// above that, so a larger value is a unit slip (µg for ng) or a typo, and would
/// flow unchecked into copies/mL and the quantity trend plot.
pub const MAX_TOTAL_CFDNA_NG_PER_ML: f64 = 10_000.0;

impl QuantityUnit {
    pub fn as_str(self) -> &'static str {
        match self {
            QuantityUnit::NgPerMl => "ng_per_ml",
            QuantityUnit::GePerMl => "ge_per_ml",
        }
    }

    /// MAX_TOTAL_CFDNA_NG_PER_ML in this unit (3.3 pg per haploid genome).
    pub fn plausible_max(self) -> f64 {
        match self {
            QuantityUnit::NgPerMl => MAX_TOTAL_CFDNA_NG_PER_ML,
            QuantityUnit::GePerMl => MAX_TOTAL_CFDNA_NG_PER_ML * 1000.0 / 3.3,
        }
    }
}

#[derive(Debug, Clone)]
pub struct SampleRow {
    pub sample_id: String,
    pub transplant_id: String,
    pub collected: NaiveDate,
    pub counts: GenotypeSource,
    pub total_cfdna: Option<(f64, QuantityUnit)>,
    pub sheet: PathBuf,
    pub line: u64,
}

/// A CSV file with a header: lower-cased column names (a UTF-8 BOM removed)
/// and the non-empty data rows with their line numbers. Shared by every CSV
/// reader so that line numbers and header handling agree.
pub struct CsvTable {
    pub path: PathBuf,
    pub headers: Vec<String>,
    pub rows: Vec<(u64, csv::StringRecord)>,
}

impl CsvTable {
    /// `comment`: lines starting with this byte are skipped (e.g. `#`).
    pub fn read(path: &Path, comment: Option<u8>) -> Result<CsvTable> {
        check_input_file(path)?;
        check_text_encoding(path)?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .trim(csv::Trim::All)
            .comment(comment)
            .from_path(path)
            .map_err(|e| InputError::new(path, format!("cannot open: {e}")))?;
        let headers = reader
            .headers()
            .map_err(|e| InputError::new(path, format!("cannot read the header: {e}")).at_line(1))?
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').to_ascii_lowercase())
            .collect();
        let mut rows = Vec::new();
        for result in reader.records() {
            let record = result.map_err(|e| {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                InputError::new(path, format!("malformed row: {e}")).at_line(line)
            })?;
            if record.iter().all(|f| f.is_empty()) {
                continue;
            }
            // The csv crate reports line 1 for the first record after a CRLF
            // header (Excel's line ending); a data record is never above line 2.
            let line = record.position().map(|p| p.line()).unwrap_or(0).max(2);
            rows.push((line, record));
        }
        Ok(CsvTable {
            path: path.to_path_buf(),
            headers,
            rows,
        })
    }

    pub fn column(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == name)
    }

    /// The column, or an error naming it (line 1, the header).
    pub fn require(&self, name: &str) -> Result<usize> {
        self.column(name).ok_or_else(|| {
            InputError::new(&self.path, format!("missing column '{name}'"))
                .at_line(1)
                .into()
        })
    }
}

struct Sheet {
    path: PathBuf,
    columns: HashMap<String, usize>,
    rows: Vec<(u64, csv::StringRecord)>,
}

impl Sheet {
    fn read(path: &Path) -> Result<Sheet> {
        if let Some(problem) = file_problem(path) {
            return Err(InputError::new(path, format!("sheet {problem}")).into());
        }
        let table = CsvTable::read(path, None)?;
        Ok(Sheet {
            path: table.path,
            columns: table
                .headers
                .into_iter()
                .enumerate()
                .map(|(i, h)| (h, i))
                .collect(),
            rows: table.rows,
        })
    }

    fn require_columns(&self, names: &[&str]) -> Result<()> {
        for n in names {
            if !self.columns.contains_key(*n) {
                return Err(InputError::new(&self.path, format!("missing column '{n}'"))
                    .at_line(1)
                    .into());
            }
        }
        Ok(())
    }

    fn get<'a>(&self, record: &'a csv::StringRecord, name: &str) -> &'a str {
        self.columns
            .get(name)
            .and_then(|&i| record.get(i))
            .unwrap_or("")
    }

    fn err(&self, line: u64, field: &str, msg: impl Into<String>) -> Error {
        InputError::new(&self.path, msg)
            .at_line(line)
            .in_field(field)
            .into()
    }

    fn required<'a>(
        &self,
        line: u64,
        record: &'a csv::StringRecord,
        name: &str,
    ) -> Result<&'a str> {
        let v = self.get(record, name);
        if v.is_empty() {
            return Err(self.err(line, name, "required value is empty"));
        }
        Ok(v)
    }

    fn date(&self, line: u64, record: &csv::StringRecord, name: &str) -> Result<NaiveDate> {
        let raw = self.required(line, record, name)?;
        let date = NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .map_err(|_| self.err(line, name, format!("'{raw}' is not a date (YYYY-MM-DD)")))?;
        check_date(date).map_err(|m| self.err(line, name, m))?;
        Ok(date)
    }

    /// A required identifier, bounded in length (see `formats::input`).
    fn id(&self, line: u64, record: &csv::StringRecord, name: &str) -> Result<String> {
        let v = self.required(line, record, name)?;
        check_id(v).map_err(|m| self.err(line, name, m))?;
        Ok(v.to_string())
    }

    /// An optional identifier, bounded like a required one.
    fn optional_id(
        &self,
        line: u64,
        record: &csv::StringRecord,
        name: &str,
    ) -> Result<Option<String>> {
        let v = self.get(record, name);
        if v.is_empty() {
            return Ok(None);
        }
        check_id(v).map_err(|m| self.err(line, name, m))?;
        Ok(Some(v.to_string()))
    }

    /// A path relative to the sheet's folder; the file must exist.
    fn file(&self, line: u64, record: &csv::StringRecord, name: &str) -> Result<Option<PathBuf>> {
        let raw = self.get(record, name);
        if raw.is_empty() {
            return Ok(None);
        }
        let base = self.path.parent().unwrap_or(Path::new("."));
        let p = base.join(raw);
        if let Some(problem) = file_problem(&p) {
            return Err(self.err(line, name, format!("file '{}': {problem}", p.display())));
        }
        Ok(Some(p))
    }
}

pub fn read_transplants(path: &Path) -> Result<Vec<TransplantRow>> {
    let sheet = Sheet::read(path)?;
    sheet.require_columns(&[
        "transplant_id",
        "organ",
        "transplant_date",
        "relationship",
        "recipient_genotypes",
    ])?;
    let mut seen = FirstSeen::default();
    let mut out = Vec::new();
    for (line, record) in &sheet.rows {
        let line = *line;
        let id = sheet.id(line, record, "transplant_id")?;
        if let Err(first) = seen.insert(id.clone(), line) {
            return Err(sheet.err(
                line,
                "transplant_id",
                format!("duplicate transplant_id '{id}' (first at line {first})"),
            ));
        }
        let organ_raw = sheet.required(line, record, "organ")?;
        let organ: Organ = organ_raw
            .parse()
            .map_err(|m: String| sheet.err(line, "organ", m))?;
        let relationship_raw = sheet.get(record, "relationship");
        let relationship = if relationship_raw.is_empty() {
            Relationship::Unknown
        } else {
            relationship_raw
                .parse()
                .map_err(|m: String| sheet.err(line, "relationship", m))?
        };
        let recipient = sheet
            .file(line, record, "recipient_genotypes")?
            .map(|path| GenotypeSource {
                path,
                sample: sheet.get(record, "recipient_sample").to_string(),
            });
        let donor = sheet
            .file(line, record, "donor_genotypes")?
            .map(|path| GenotypeSource {
                path,
                sample: sheet.get(record, "donor_sample").to_string(),
            });
        let optional = |name: &str| {
            let v = sheet.get(record, name);
            (!v.is_empty()).then(|| v.to_string())
        };
        let recipient_id = sheet.optional_id(line, record, "recipient_id")?;
        let donor_id = sheet.optional_id(line, record, "donor_id")?;
        let donor2 = sheet
            .file(line, record, "donor2_genotypes")?
            .map(|path| GenotypeSource {
                path,
                sample: sheet.get(record, "donor2_sample").to_string(),
            });
        let relationship2_raw = sheet.get(record, "relationship2");
        let second_donor = if donor2.is_some() || !relationship2_raw.is_empty() {
            let relationship = if relationship2_raw.is_empty() {
                Relationship::Unknown
            } else {
                relationship2_raw
                    .parse()
                    .map_err(|m: String| sheet.err(line, "relationship2", m))?
            };
            if recipient.is_none() {
                return Err(sheet.err(
                    line,
                    "donor2_genotypes",
                    "a second donor needs the recipient's genotypes (recipient_genotypes)",
                ));
            }
            Some(SecondDonor {
                genotypes: donor2,
                relationship,
            })
        } else {
            None
        };
        out.push(TransplantRow {
            second_donor,
            recipient_hla: optional("recipient_hla"),
            donor_hla: optional("donor_hla"),
            recipient_id,
            donor_id,
            transplant_id: id,
            organ,
            transplant_date: sheet.date(line, record, "transplant_date")?,
            relationship,
            recipient,
            donor,
            sheet: path.to_path_buf(),
            line,
        });
    }
    if out.is_empty() {
        return Err(InputError::new(path, "no transplants listed").into());
    }
    Ok(out)
}

pub fn read_samples(path: &Path, transplants: &[TransplantRow]) -> Result<Vec<SampleRow>> {
    let sheet = Sheet::read(path)?;
    sheet.require_columns(&["sample_id", "transplant_id", "collected", "counts"])?;
    let known: HashMap<&str, &TransplantRow> = transplants
        .iter()
        .map(|t| (t.transplant_id.as_str(), t))
        .collect();
    let mut seen = FirstSeen::default();
    let mut out = Vec::new();
    for (line, record) in &sheet.rows {
        let line = *line;
        let id = sheet.id(line, record, "sample_id")?;
        if let Err(first) = seen.insert(id.clone(), line) {
            return Err(sheet.err(
                line,
                "sample_id",
                format!("duplicate sample_id '{id}' (first at line {first})"),
            ));
        }
        let tid = sheet.required(line, record, "transplant_id")?.to_string();
        let Some(transplant) = known.get(tid.as_str()) else {
            return Err(sheet.err(
                line,
                "transplant_id",
                format!("transplant_id '{tid}' is not in the transplants sheet"),
            ));
        };
        // No donor DNA circulates before the graft: a draw dated earlier is a
        // wrong date or a wrong transplant_id.
        let collected = sheet.date(line, record, "collected")?;
        if collected < transplant.transplant_date {
            return Err(sheet.err(
                line,
                "collected",
                format!(
                    "{collected} is before the transplant date {} of {tid} ({}, line {})",
                    transplant.transplant_date,
                    transplant.sheet.display(),
                    transplant.line
                ),
            ));
        }
        let counts = sheet
            .file(line, record, "counts")?
            .ok_or_else(|| sheet.err(line, "counts", "required value is empty"))?;
        let total_raw = sheet.get(record, "total_cfdna");
        let total_cfdna = if total_raw.is_empty() {
            None
        } else {
            let value: f64 = total_raw
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| {
                    sheet.err(
                        line,
                        "total_cfdna",
                        format!("'{total_raw}' is not a non-negative number"),
                    )
                })?;
            let unit = match sheet.get(record, "total_cfdna_unit") {
                "ng_per_ml" => QuantityUnit::NgPerMl,
                "ge_per_ml" => QuantityUnit::GePerMl,
                other => {
                    return Err(sheet.err(
                        line,
                        "total_cfdna_unit",
                        format!("'{other}' is not a unit (expected ng_per_ml or ge_per_ml)"),
                    ));
                }
            };
            let max = unit.plausible_max();
            if value > max {
                return Err(sheet.err(
                    line,
                    "total_cfdna",
                    format!(
                        "{total_raw} {} is above {max:.0} (no plasma holds that much cfDNA: a unit or typing error?)",
                        unit.as_str()
                    ),
                ));
            }
            Some((value, unit))
        };
        out.push(SampleRow {
            sample_id: id,
            transplant_id: tid,
            collected,
            counts: GenotypeSource {
                path: counts,
                sample: sheet.get(record, "counts_sample").to_string(),
            },
            total_cfdna,
            sheet: path.to_path_buf(),
            line,
        });
    }
    if out.is_empty() {
        return Err(InputError::new(path, "no samples listed").into());
    }
    Ok(out)
}
