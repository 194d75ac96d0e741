//! Panels of population ALT allele frequencies, as labs have them:
//!
//! - TSV: `chrom pos ref alt` with `af`, and/or `ac` and `an` (ALT alleles
//!   counted among `an` called alleles); per-population columns `af_<POP>`,
//!   `ac_<POP>`, `an_<POP>` (what `graftscan panel build` writes), chosen with
//!   `--population POP`.
//! - Sites VCF(.gz): INFO/AF, or INFO/AC and INFO/AN (gnomAD style), one value
//!   per ALT allele; `--af-field AF_nfe` picks a population field (its AC/AN
//!   twins `AC_nfe`/`AN_nfe` are used when the header has them), and
//!   `--population EUR` looks for `AF_EUR` or `EUR_AF`.
//!
//! A frequency with AN behind it is a count (the model turns it into a Beta
//! posterior, model::frequency); one without is a bare AF, and the outputs say
//! that its sample size was not stated.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use noodles_vcf as vcf;

use crate::error::{Error, InputError, Result};
use crate::formats::site::{ChromInterner, SiteKey, snp_base};
use crate::formats::tsv::{open_tsv, parse_u64, row_error};

/// One panel site's frequency.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PanelFrequency {
    /// ALT allele frequency.
    pub af: f64,
    /// (ALT alleles, called alleles) when the panel gives AC and AN.
    pub counts: Option<(f64, f64)>,
}

#[derive(Debug, Clone, Default)]
pub struct PanelOptions {
    /// Population column (TSV `af_<POP>`) or INFO field family (VCF).
    pub population: Option<String>,
    /// INFO field of a sites VCF holding the ALT frequency (default AF).
    pub af_field: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Panel {
    pub path: PathBuf,
    /// Which column or INFO field gave the frequencies ("af", "af_eur",
    /// "INFO/AF_nfe"), for the outputs.
    pub field: String,
    pub sites: HashMap<SiteKey, PanelFrequency>,
    /// Records that are not biallelic-SNP ALT alleles, or have no value.
    pub skipped: usize,
    /// A note when chromosome names were harmonised with the counts.
    pub chromosome_note: Option<String>,
}

impl Panel {
    /// Median number of people behind the frequencies (AN / 2), when AN is given.
    pub fn median_people(&self) -> Option<f64> {
        let mut people: Vec<f64> = self
            .sites
            .values()
            .filter_map(|f| f.counts.map(|(_, an)| an / 2.0))
            .collect();
        if people.is_empty() {
            return None;
        }
        people.sort_by(f64::total_cmp);
        Some(people[people.len() / 2])
    }

    /// Every site carries the same frequency (a flat guess such as 0.5, not a
    /// measured panel).
    pub fn is_flat(&self) -> bool {
        let mut values = self.sites.values().map(|f| f.af);
        match values.next() {
            Some(first) => self.sites.len() > 1 && values.all(|v| (v - first).abs() < 1e-9),
            None => false,
        }
    }

    /// Rename the panel's chromosomes to the names the count files use when
    /// they differ only by a `chr` prefix (`1` vs `chr1`, `MT` vs `chrM`).
    /// Refused when the count files themselves name one chromosome two ways.
    pub fn harmonise_chromosomes(&mut self, count_chroms: &BTreeSet<Arc<str>>) -> Result<()> {
        let mut canonical_to_counts: BTreeMap<String, Arc<str>> = BTreeMap::new();
        for c in count_chroms {
            if let Some(other) = canonical_to_counts.insert(canonical_chromosome(c), c.clone())
                && other != *c
            {
                return Err(InputError::new(
                    &self.path,
                    format!(
                        "the count files name one chromosome both '{other}' and '{c}': use one naming in all count files"
                    ),
                )
                .into());
            }
        }
        let panel_chroms: BTreeSet<Arc<str>> = self.sites.keys().map(|s| s.chrom.clone()).collect();
        let mut renames: HashMap<Arc<str>, Arc<str>> = HashMap::new();
        for c in &panel_chroms {
            if count_chroms.contains(c) {
                continue;
            }
            if let Some(target) = canonical_to_counts.get(&canonical_chromosome(c)) {
                renames.insert(c.clone(), target.clone());
            }
        }
        if renames.is_empty() {
            return Ok(());
        }
        let mut examples: Vec<String> = renames.iter().map(|(a, b)| format!("{a} → {b}")).collect();
        examples.sort();
        examples.truncate(3);
        self.chromosome_note = Some(format!(
            "panel chromosome names harmonised with the count files ({} renamed, e.g. {})",
            renames.len(),
            examples.join(", ")
        ));
        let sites = std::mem::take(&mut self.sites);
        for (mut site, f) in sites {
            if let Some(to) = renames.get(&site.chrom) {
                site.chrom = to.clone();
            }
            // Two names of one chromosome in the panel itself would collide here.
            if self.sites.insert(site.clone(), f).is_some() {
                return Err(InputError::new(
                    &self.path,
                    format!("{site} is listed twice under two names of its chromosome"),
                )
                .into());
            }
        }
        Ok(())
    }
}

/// `chr1` → `1`, `chrM`/`MT` → `M`: the part that does not depend on the
/// naming convention.
pub fn canonical_chromosome(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let bare = lower.strip_prefix("chr").unwrap_or(&lower);
    match bare {
        "mt" | "m" => "M".into(),
        other => other.to_ascii_uppercase(),
    }
}

pub fn read_panel(path: &Path, opts: &PanelOptions) -> Result<Panel> {
    if !path.exists() {
        return Err(InputError::new(path, "panel file not found").into());
    }
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let gz = crate::formats::allele_table::starts_with_gzip(path)?;
    let is_vcf = name.ends_with(".vcf")
        || name.ends_with(".vcf.gz")
        || name.ends_with(".vcf.bgz")
        || crate::formats::tsv::first_line(path, gz)?.starts_with("##fileformat=VCF");
    let panel = if is_vcf {
        read_vcf_panel(path, gz, opts)?
    } else {
        if opts.af_field.is_some() {
            return Err(InputError::new(
                path,
                "--af-field applies to a sites VCF; a TSV panel picks its column with --population",
            )
            .into());
        }
        read_tsv_panel(path, gz, opts)?
    };
    if panel.sites.is_empty() {
        return Err(InputError::new(
            path,
            format!(
                "no biallelic SNP with a frequency in '{}' ({} records skipped)",
                panel.field, panel.skipped
            ),
        )
        .into());
    }
    Ok(panel)
}

fn missing(raw: &str) -> bool {
    matches!(raw, "" | "." | "NA" | "nan" | "NaN")
}

fn read_tsv_panel(path: &Path, gz: bool, opts: &PanelOptions) -> Result<Panel> {
    let mut table = open_tsv(path, gz)?;
    let base = table.require(path, &["chrom", "pos", "ref", "alt"])?;
    let suffix = opts
        .population
        .as_ref()
        .map(|p| format!("_{}", p.to_ascii_lowercase()))
        .unwrap_or_default();
    let (af_name, ac_name, an_name) = (
        format!("af{suffix}"),
        format!("ac{suffix}"),
        format!("an{suffix}"),
    );
    let af_col = table.columns.get(&af_name).copied();
    let ac_col = table.columns.get(&ac_name).copied();
    let an_col = table.columns.get(&an_name).copied();
    let counts_cols = match (ac_col, an_col) {
        (Some(c), Some(n)) => Some((c, n)),
        (None, None) => None,
        _ => {
            return Err(InputError::new(
                path,
                format!("'{ac_name}' and '{an_name}' must be given together"),
            )
            .at_line(1)
            .into());
        }
    };
    if af_col.is_none() && counts_cols.is_none() {
        let mut populations: Vec<String> = table
            .columns
            .keys()
            .filter_map(|c| c.strip_prefix("af_").map(str::to_uppercase))
            .collect();
        populations.sort();
        let hint = if populations.is_empty() {
            String::new()
        } else {
            format!(
                " (populations in this panel: {}; choose one with --population)",
                populations.join(", ")
            )
        };
        return Err(InputError::new(
            path,
            format!("missing column '{af_name}' (or '{ac_name}' and '{an_name}'){hint}"),
        )
        .at_line(1)
        .into());
    }
    let mut chroms = ChromInterner::default();
    let mut sites: HashMap<SiteKey, (PanelFrequency, u64)> = HashMap::new();
    let mut skipped = 0usize;
    let mut record = csv::StringRecord::new();
    while table.read_row(path, &mut record)? {
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let pos = parse_u64(path, &record, base[1], "pos")?;
        let Some(site) = SiteKey::new(
            chroms.get(record.get(base[0]).unwrap_or("")),
            pos,
            record.get(base[2]).unwrap_or(""),
            record.get(base[3]).unwrap_or(""),
        ) else {
            skipped += 1;
            continue;
        };
        let counts = match counts_cols {
            Some((c, n)) => {
                let (raw_c, raw_n) = (record.get(c).unwrap_or(""), record.get(n).unwrap_or(""));
                if missing(raw_c) || missing(raw_n) {
                    None
                } else {
                    let ac = parse_u64(path, &record, c, &ac_name)? as f64;
                    let an = parse_u64(path, &record, n, &an_name)? as f64;
                    if ac > an {
                        return Err(row_error(
                            path,
                            &record,
                            &ac_name,
                            format!("{ac_name} {ac} exceeds {an_name} {an}"),
                        ));
                    }
                    (an > 0.0).then_some((ac, an))
                }
            }
            None => None,
        };
        let af = match af_col {
            Some(c) if !missing(record.get(c).unwrap_or("")) => {
                let raw = record.get(c).unwrap_or("");
                let af: f64 = raw
                    .parse()
                    .ok()
                    .filter(|x: &f64| (0.0..=1.0).contains(x))
                    .ok_or_else(|| {
                        row_error(
                            path,
                            &record,
                            &af_name,
                            format!("'{raw}' is not a frequency in [0, 1]"),
                        )
                    })?;
                if let Some((ac, an)) = counts
                    && (af - ac / an).abs() > 0.01
                {
                    return Err(row_error(
                        path,
                        &record,
                        &af_name,
                        format!(
                            "{af_name} {af} disagrees with {ac_name}/{an_name} = {ac}/{an} = {:.4}",
                            ac / an
                        ),
                    ));
                }
                Some(af)
            }
            _ => counts.map(|(ac, an)| ac / an),
        };
        let Some(af) = af else {
            skipped += 1;
            continue;
        };
        if let Some((_, first)) = sites.insert(site.clone(), (PanelFrequency { af, counts }, line))
        {
            return Err(InputError::new(
                path,
                format!("{site} is listed twice (lines {first} and {line})"),
            )
            .at_line(line)
            .into());
        }
    }
    let field = if counts_cols.is_some() {
        format!("{ac_name}/{an_name}")
    } else {
        af_name
    };
    Ok(Panel {
        path: path.to_path_buf(),
        field,
        sites: sites.into_iter().map(|(k, (f, _))| (k, f)).collect(),
        skipped,
        chromosome_note: None,
    })
}

/// The INFO fields (AF, AC, AN) to read from a sites VCF.
fn vcf_fields(
    header: &vcf::Header,
    path: &Path,
    opts: &PanelOptions,
) -> Result<[Option<String>; 3]> {
    let has = |f: &str| header.infos().contains_key(f);
    let af = match (&opts.af_field, &opts.population) {
        (Some(f), _) => {
            if !has(f) {
                return Err(InputError::new(
                    path,
                    format!("INFO field '{f}' (--af-field) is not declared in the header"),
                )
                .into());
            }
            f.clone()
        }
        (None, Some(p)) => {
            let candidates = [
                format!("AF_{p}"),
                format!("AF_{}", p.to_ascii_lowercase()),
                format!("{p}_AF"),
                format!("{}_AF", p.to_ascii_uppercase()),
            ];
            match candidates.iter().find(|c| has(c)) {
                Some(c) => c.clone(),
                None => {
                    return Err(InputError::new(
                        path,
                        format!(
                            "no INFO field for population '{p}' (looked for {})",
                            candidates.join(", ")
                        ),
                    )
                    .into());
                }
            }
        }
        (None, None) => "AF".to_string(),
    };
    // AC/AN twins: AF → AC, AN; AF_nfe → AC_nfe, AN_nfe; EUR_AF → EUR_AC, EUR_AN.
    let twin = |to: &str| -> Option<String> {
        let name = if af == "AF" {
            to.to_string()
        } else if let Some(s) = af.strip_prefix("AF") {
            format!("{to}{s}")
        } else if let Some(p) = af.strip_suffix("AF") {
            format!("{p}{to}")
        } else {
            return None;
        };
        has(&name).then_some(name)
    };
    let (ac, an) = (twin("AC"), twin("AN"));
    let (ac, an) = if ac.is_some() && an.is_some() {
        (ac, an)
    } else {
        (None, None)
    };
    if !has(&af) && ac.is_none() {
        return Err(InputError::new(
            path,
            if header.formats().contains_key("GT") && !header.sample_names().is_empty() {
                "sites VCF has no INFO/AF or INFO/AC+AN; for a cohort VCF with genotypes run `graftscan panel build --vcf FILE` first".to_string()
            } else {
                "sites VCF has no INFO/AF or INFO/AC+AN".to_string()
            },
        )
        .into());
    }
    Ok([has(&af).then_some(af), ac, an])
}

/// The i-th value of a Number=A (or scalar) INFO field as f64.
fn info_number(
    record: &vcf::Record,
    header: &vcf::Header,
    field: &str,
    allele: usize,
) -> std::result::Result<Option<f64>, String> {
    use vcf::variant::record::info::field::{Value as V, value::Array as A};
    let info = record.info();
    let value = match info.get(header, field) {
        None => return Ok(None),
        Some(Err(e)) => return Err(format!("malformed INFO/{field}: {e}")),
        Some(Ok(None)) => return Ok(None),
        Some(Ok(Some(v))) => v,
    };
    let pick = |values: Vec<Option<f64>>| values.get(allele).copied().flatten();
    Ok(match value {
        V::Float(x) => (allele == 0).then_some(f64::from(x)),
        V::Integer(x) => (allele == 0).then_some(f64::from(x)),
        V::Array(A::Float(values)) => pick(
            values
                .iter()
                .map(|v| v.ok().flatten().map(f64::from))
                .collect(),
        ),
        V::Array(A::Integer(values)) => pick(
            values
                .iter()
                .map(|v| v.ok().flatten().map(f64::from))
                .collect(),
        ),
        other => return Err(format!("INFO/{field} is not numeric: {other:?}")),
    })
}

fn read_vcf_panel(path: &Path, gz: bool, opts: &PanelOptions) -> Result<Panel> {
    let (mut reader, header) = crate::formats::vcf::open_vcf(path, gz)?;
    let [af_field, ac_field, an_field] = vcf_fields(&header, path, opts)?;
    let header_lines = crate::formats::vcf::header_line_count(path, gz);
    let mut chroms = ChromInterner::default();
    let mut sites: HashMap<SiteKey, (PanelFrequency, u64)> = HashMap::new();
    let mut skipped = 0usize;
    for (idx, result) in reader.records().enumerate() {
        let line = header_lines + idx as u64 + 1;
        let record = result.map_err(|e| {
            InputError::new(path, format!("malformed VCF record: {e}")).at_line(line)
        })?;
        let field_error = |field: &str, m: String| -> Error {
            InputError::new(path, m)
                .at_line(line)
                .in_field(format!("INFO/{field}"))
                .into()
        };
        let pos =
            crate::formats::vcf::record_position(&record, path).map_err(|e| e.at_line(line))?;
        let alts = crate::formats::vcf::record_alts(&record, path).map_err(|e| e.at_line(line))?;
        let chrom = chroms.get(record.reference_sequence_name());
        let an = match &an_field {
            Some(f) => info_number(&record, &header, f, 0).map_err(|m| field_error(f, m))?,
            None => None,
        };
        for (i, alt) in alts.iter().enumerate() {
            let site = if snp_base(record.reference_bases()).is_some() {
                SiteKey::new(chrom.clone(), pos, record.reference_bases(), alt)
            } else {
                None
            };
            let Some(site) = site else {
                skipped += 1;
                continue;
            };
            let ac = match &ac_field {
                Some(f) => info_number(&record, &header, f, i).map_err(|m| field_error(f, m))?,
                None => None,
            };
            let counts = match (ac, an) {
                (Some(ac), Some(an)) if an > 0.0 => {
                    if ac < 0.0 || ac > an {
                        return Err(field_error(
                            ac_field.as_deref().unwrap_or("AC"),
                            format!("AC {ac} outside [0, AN = {an}]"),
                        ));
                    }
                    Some((ac, an))
                }
                _ => None,
            };
            let af = match &af_field {
                Some(f) => info_number(&record, &header, f, i).map_err(|m| field_error(f, m))?,
                None => None,
            };
            if let Some(x) = af
                && !(0.0..=1.0).contains(&x)
            {
                return Err(field_error(
                    af_field.as_deref().unwrap_or("AF"),
                    format!("{x} is not a frequency in [0, 1]"),
                ));
            }
            let Some(af) = af.or(counts.map(|(ac, an)| ac / an)) else {
                skipped += 1;
                continue;
            };
            if let Some((_, first)) =
                sites.insert(site.clone(), (PanelFrequency { af, counts }, line))
            {
                return Err(InputError::new(
                    path,
                    format!("{site} is listed twice (lines {first} and {line})"),
                )
                .at_line(line)
                .into());
            }
        }
    }
    let field = match (&ac_field, &an_field, &af_field) {
        (Some(c), Some(n), _) => format!("INFO/{c}/{n}"),
        (_, _, Some(f)) => format!("INFO/{f}"),
        _ => "INFO".into(),
    };
    Ok(Panel {
        path: path.to_path_buf(),
        field,
        sites: sites.into_iter().map(|(k, (f, _))| (k, f)).collect(),
        skipped,
        chromosome_note: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_names_ignore_the_chr_prefix() {
        assert_eq!(canonical_chromosome("chr1"), "1");
        assert_eq!(canonical_chromosome("1"), "1");
        assert_eq!(canonical_chromosome("chrX"), "X");
        assert_eq!(canonical_chromosome("MT"), "M");
        assert_eq!(canonical_chromosome("chrM"), "M");
    }
}
