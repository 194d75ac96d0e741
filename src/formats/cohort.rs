//! Allele counts of a genotyped cohort (`graftscan panel build`): a VCF with
//! FORMAT/GT for many people is streamed once, and each biallelic SNP yields
//! (ALT alleles, called alleles) overall and per population, never holding the
//! genotype matrix in memory.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use noodles_vcf::variant::record::samples::Sample as _;

use crate::error::{Error, InputError, Result};
use crate::formats::site::{ChromInterner, SiteKey};
use crate::formats::vcf::{genotype_value, header_line_count};

/// (ALT alleles, called alleles) at one site for one group of people.
pub type AlleleCount = (u64, u64);

pub struct CohortSite {
    pub site: SiteKey,
    pub overall: AlleleCount,
    /// One count per population, in `CohortCounts::populations` order.
    pub by_population: Vec<AlleleCount>,
}

pub struct CohortCounts {
    pub samples: usize,
    pub populations: Vec<String>,
    /// People per population (in the VCF and the populations file).
    pub population_sizes: Vec<usize>,
    /// VCF samples the populations file does not list (counted overall only).
    pub unassigned: usize,
    pub sites: Vec<CohortSite>,
    /// Records that are not biallelic SNPs.
    pub skipped: usize,
}

/// `sample` → population from a TSV or CSV with `sample` and `population`
/// columns (the delimiter is taken from the header line).
pub fn read_populations(path: &Path) -> Result<HashMap<String, String>> {
    let header = crate::formats::tsv::first_line(path, false)?;
    let delimiter = if header.contains('\t') { b'\t' } else { b',' };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_path(path)
        .map_err(|e| InputError::new(path, format!("cannot open: {e}")))?;
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| InputError::new(path, format!("cannot read the header: {e}")).at_line(1))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
    let column = |name: &str| -> Result<usize> {
        headers.iter().position(|h| h == name).ok_or_else(|| {
            InputError::new(path, format!("missing column '{name}'"))
                .at_line(1)
                .into()
        })
    };
    let (sample, population) = (column("sample")?, column("population")?);
    let mut out: HashMap<String, (String, u64)> = HashMap::new();
    for result in reader.records() {
        let row = result.map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            InputError::new(path, format!("malformed row: {e}")).at_line(line)
        })?;
        let line = row.position().map(|p| p.line()).unwrap_or(0).max(2);
        let name = row.get(sample).unwrap_or("").to_string();
        let pop = row.get(population).unwrap_or("").to_string();
        if name.is_empty() || pop.is_empty() {
            return Err(InputError::new(path, "empty sample or population")
                .at_line(line)
                .into());
        }
        if !pop
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(InputError::new(
                path,
                format!(
                    "population '{pop}' must be letters, digits, '_' or '-' (it names a column)"
                ),
            )
            .at_line(line)
            .in_field("population")
            .into());
        }
        if let Some((_, first)) = out.insert(name.clone(), (pop, line)) {
            return Err(InputError::new(
                path,
                format!("sample '{name}' is listed twice (lines {first} and {line})"),
            )
            .at_line(line)
            .in_field("sample")
            .into());
        }
    }
    Ok(out.into_iter().map(|(k, (p, _))| (k, p)).collect())
}

pub fn count_cohort(
    path: &Path,
    populations: Option<(&Path, &HashMap<String, String>)>,
) -> Result<CohortCounts> {
    let gz = crate::formats::allele_table::starts_with_gzip(path)?;
    let (mut reader, header) = crate::formats::vcf::open_vcf(path, gz)?;
    if !header.formats().contains_key("GT") || header.sample_names().is_empty() {
        return Err(InputError::new(path, "cohort VCF needs samples with FORMAT/GT").into());
    }
    let names: Vec<String> = header.sample_names().iter().cloned().collect();
    let population_names: Vec<String> = match populations {
        Some((_, map)) => map
            .values()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
        None => Vec::new(),
    };
    if let Some((pop_path, map)) = populations {
        let in_vcf: BTreeSet<&str> = names.iter().map(String::as_str).collect();
        let absent: Vec<&str> = map
            .keys()
            .map(String::as_str)
            .filter(|s| !in_vcf.contains(s))
            .collect();
        if !absent.is_empty() {
            return Err(InputError::new(
                pop_path,
                format!(
                    "{} listed sample(s) are not in {} (e.g. '{}'): wrong populations file?",
                    absent.len(),
                    path.display(),
                    absent[0]
                ),
            )
            .into());
        }
    }
    // Population index of each VCF column.
    let group: Vec<Option<usize>> = names
        .iter()
        .map(|n| {
            populations
                .and_then(|(_, m)| m.get(n))
                .and_then(|p| population_names.iter().position(|q| q == p))
        })
        .collect();
    let mut population_sizes = vec![0usize; population_names.len()];
    for g in group.iter().flatten() {
        population_sizes[*g] += 1;
    }
    let unassigned = if populations.is_some() {
        group.iter().filter(|g| g.is_none()).count()
    } else {
        0
    };
    let header_lines = header_line_count(path, gz);
    let mut chroms = ChromInterner::default();
    let mut sites = Vec::new();
    let mut seen: HashMap<SiteKey, u64> = HashMap::new();
    let mut skipped = 0usize;
    for (idx, result) in reader.records().enumerate() {
        let line = header_lines + idx as u64 + 1;
        let record = result.map_err(|e| {
            InputError::new(path, format!("malformed VCF record: {e}")).at_line(line)
        })?;
        let pos =
            crate::formats::vcf::record_position(&record, path).map_err(|e| e.at_line(line))?;
        let alts = crate::formats::vcf::record_alts(&record, path).map_err(|e| e.at_line(line))?;
        let site = match alts.as_slice() {
            [alt] => SiteKey::new(
                chroms.get(record.reference_sequence_name()),
                pos,
                record.reference_bases(),
                alt,
            ),
            _ => None,
        };
        let Some(site) = site else {
            skipped += 1;
            continue;
        };
        if let Some(first) = seen.insert(site.clone(), line) {
            return Err(InputError::new(
                path,
                format!("{site} is listed twice (lines {first} and {line})"),
            )
            .at_line(line)
            .into());
        }
        let mut overall = (0u64, 0u64);
        let mut by_population = vec![(0u64, 0u64); population_names.len()];
        let record_samples = record.samples();
        for (i, name) in names.iter().enumerate() {
            let sample = record_samples.get_index(i);
            let gt = match sample.as_ref().and_then(|s| s.get(&header, "GT")) {
                None | Some(Ok(None)) => None,
                Some(Err(e)) => {
                    return Err(InputError::new(path, format!("sample '{name}': {e}"))
                        .at_line(line)
                        .in_field("FORMAT/GT")
                        .into());
                }
                Some(Ok(Some(v))) => genotype_value(v).map_err(|m| {
                    Error::from(
                        InputError::new(path, format!("sample '{name}': {m}"))
                            .at_line(line)
                            .in_field("FORMAT/GT"),
                    )
                })?,
            };
            if let Some(g) = gt {
                overall.0 += u64::from(g);
                overall.1 += 2;
                if let Some(p) = group[i] {
                    by_population[p].0 += u64::from(g);
                    by_population[p].1 += 2;
                }
            }
        }
        sites.push(CohortSite {
            site,
            overall,
            by_population,
        });
    }
    Ok(CohortCounts {
        samples: names.len(),
        populations: population_names,
        population_sizes,
        unassigned,
        sites,
        skipped,
    })
}
