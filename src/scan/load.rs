//! Loading a batch: sheets, files (each parsed once, in parallel), allele
//! frequencies, and the per-sample likelihood models.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use crate::error::{Error, InputError, Result};
use crate::formats::allele_table::SourceFormat;
use crate::formats::panel::read_panel;
use crate::formats::sheet::{
    GenotypeSource, SampleRow, TransplantRow, read_samples, read_transplants,
};
use crate::formats::{AlleleTable, SiteKey, read_allele_table};
use crate::model::error_table::ErrorTable;
use crate::model::likelihood::{SnpInput, het_site};
use crate::model::qc::SnpAccounting;
use crate::model::two_donor::TwoDonorSnp;
use crate::model::{EstimationMode, Relationship, SampleModel};

/// Where the population allele frequencies came from (said in every output).
#[derive(Debug, Clone, serde::Serialize)]
pub struct FrequencySource {
    pub kind: String,
    pub description: String,
}

pub struct PreparedSample {
    pub row: SampleRow,
    pub transplant_index: usize,
    pub mode: Option<EstimationMode>,
    /// Why the sample cannot be estimated (identical twin), if so.
    pub refused: Option<String>,
    pub model: SampleModel,
    /// The SNPs the model was built from (to rebuild it under another relationship).
    pub inputs: Vec<SnpInput>,
    pub accounting: SnpAccounting,
    pub frequencies_from: Option<String>,
    /// The same SNPs with the second donor's genotype, for a two-donor transplant.
    pub two_donor: Option<Vec<TwoDonorSnp>>,
}

pub struct Batch {
    pub transplants_sheet: PathBuf,
    pub samples_sheet: PathBuf,
    pub panel: Option<PathBuf>,
    pub transplants: Vec<TransplantRow>,
    /// One row per blood draw, in sheet order. Its likelihood model is built
    /// on demand ([`Batch::prepare`]): a model holds every SNP of the draw
    /// (~150 kB at 1,000 SNPs), so thousands of draws are never held at once.
    pub samples: Vec<DrawRow>,
    pub files: Vec<PathBuf>,
    pub frequency_source: FrequencySource,
    pub warnings: Vec<String>,
    /// Genotype and count files parsed: each distinct file once per run,
    /// however many rows refer to it.
    pub files_parsed: usize,
    /// Everything `prepare` needs besides the row: parsed once per run.
    context: PrepareContext,
}

/// A blood draw's sheet row and the parsed count file it reads.
pub struct DrawRow {
    pub row: SampleRow,
    pub transplant_index: usize,
    counts: Arc<AlleleTable>,
    column: usize,
}

struct PrepareContext {
    recipient_maps: Vec<Option<Genotypes>>,
    donor_maps: Vec<Option<Genotypes>>,
    donor2_maps: Vec<Option<Genotypes>>,
    panel_map: Option<HashMap<SiteKey, f64>>,
    batch_counts: HashMap<SiteKey, (u32, u32)>,
    error_table: Option<ErrorTable>,
}

impl Batch {
    /// The likelihood model and SNP accounting of draw `i` (the same every
    /// time it is asked for).
    pub fn prepare(&self, i: usize) -> PreparedSample {
        let d = &self.samples[i];
        let ti = d.transplant_index;
        let c = &self.context;
        prepare_sample(
            d.row.clone(),
            ti,
            &self.transplants[ti],
            &d.counts,
            d.column,
            c.recipient_maps[ti].as_ref(),
            c.donor_maps[ti].as_ref(),
            c.donor2_maps[ti].as_ref(),
            c.panel_map.as_ref(),
            &c.batch_counts,
            c.error_table.as_ref(),
        )
    }
}

type Genotypes = HashMap<SiteKey, u8>;

fn column(
    tables: &HashMap<PathBuf, Arc<AlleleTable>>,
    source: &GenotypeSource,
    sheet: &Path,
    line: u64,
    field: &str,
) -> Result<(Arc<AlleleTable>, usize)> {
    let table = tables
        .get(&source.path)
        .cloned()
        .ok_or_else(|| InputError::new(&source.path, "file was not loaded"))?;
    let idx = table
        .sample_index(&source.sample)
        .map_err(|m| Error::from(InputError::new(sheet, m).at_line(line).in_field(field)))?;
    Ok((table, idx))
}

fn genotype_map(
    tables: &HashMap<PathBuf, Arc<AlleleTable>>,
    source: &GenotypeSource,
    t: &TransplantRow,
    field: &str,
) -> Result<Genotypes> {
    let (table, idx) = column(tables, source, &t.sheet, t.line, field)?;
    if table.genotypes.is_none() {
        return Err(InputError::new(
            &table.path,
            "no genotypes: a VCF needs FORMAT/GT, a TSV a 'genotype' column",
        )
        .into());
    }
    let mut map = HashMap::with_capacity(table.sites.len());
    for (i, site) in table.sites.iter().enumerate() {
        if let Some(g) = table.genotype(i, idx) {
            map.insert(site.clone(), g);
        }
    }
    Ok(map)
}

/// Per-site (ALT alleles, called alleles) over every distinct genotyped person in
/// the batch. Each sample's frequency leaves its own pair out (see
/// `leave_pair_out`).
fn batch_allele_counts(
    tables: &HashMap<PathBuf, Arc<AlleleTable>>,
    people: &[(PathBuf, usize)],
) -> HashMap<SiteKey, (u32, u32)> {
    let mut counts: HashMap<SiteKey, (u32, u32)> = HashMap::new();
    for (path, idx) in people {
        let Some(table) = tables.get(path) else {
            continue;
        };
        for (i, site) in table.sites.iter().enumerate() {
            if let Some(g) = table.genotype(i, *idx) {
                let e = counts.entry(site.clone()).or_default();
                e.0 += u32::from(g);
                e.1 += 2;
            }
        }
    }
    counts
}

/// ALT frequency from the batch without the transplant's own recipient and
/// donor: counting the recipient pulls q towards the recipient's genotype, so
/// the marginalised donor looks like the recipient and donor DNA is over-read
/// (on SRP434573, about 2× at 1%). One pseudo-allele of each kind keeps q off
/// 0 and 1.
fn leave_pair_out(counts: Option<&(u32, u32)>, own: &[Option<u8>]) -> f64 {
    let (mut alt, mut n) = counts.copied().unwrap_or((0, 0));
    for g in own.iter().flatten() {
        alt = alt.saturating_sub(u32::from(*g));
        n = n.saturating_sub(2);
    }
    (f64::from(alt) + 1.0) / (f64::from(n) + 2.0)
}

const FREQUENCY_FLOOR: f64 = 0.005;

pub fn load_batch(
    transplants_sheet: &Path,
    samples_sheet: &Path,
    panel: Option<&Path>,
    error_table: Option<&ErrorTable>,
) -> Result<Batch> {
    let transplants = read_transplants(transplants_sheet)?;
    let rows = read_samples(samples_sheet, &transplants)?;
    let panel_map = panel.map(read_panel).transpose()?;

    // Every file once, parsed in parallel.
    let mut files: Vec<PathBuf> = Vec::new();
    for t in &transplants {
        let second = t.second_donor.as_ref().and_then(|d| d.genotypes.as_ref());
        for s in [&t.recipient, &t.donor].into_iter().flatten().chain(second) {
            files.push(s.path.clone());
        }
    }
    for r in &rows {
        files.push(r.counts.path.clone());
    }
    files.sort();
    files.dedup();
    let loaded: Vec<(PathBuf, AlleleTable)> = files
        .par_iter()
        .map(|p| read_allele_table(p).map(|t| (p.clone(), t)))
        .collect::<Result<_>>()?;
    let tables: HashMap<PathBuf, Arc<AlleleTable>> =
        loaded.into_iter().map(|(p, t)| (p, Arc::new(t))).collect();

    let mut warnings = Vec::new();
    let mut recipient_maps = Vec::with_capacity(transplants.len());
    let mut donor_maps = Vec::with_capacity(transplants.len());
    let mut donor2_maps = Vec::with_capacity(transplants.len());
    let mut people: Vec<(PathBuf, usize)> = Vec::new();
    for t in &transplants {
        let r = match &t.recipient {
            Some(src) => {
                let (_, idx) = column(&tables, src, &t.sheet, t.line, "recipient_sample")?;
                people.push((src.path.clone(), idx));
                Some(genotype_map(&tables, src, t, "recipient_sample")?)
            }
            None => None,
        };
        let d = match &t.donor {
            Some(src) => {
                let (_, idx) = column(&tables, src, &t.sheet, t.line, "donor_sample")?;
                people.push((src.path.clone(), idx));
                Some(genotype_map(&tables, src, t, "donor_sample")?)
            }
            None => None,
        };
        if t.relationship == Relationship::Unknown {
            warnings.push(format!(
                "transplant {}: relationship unknown (the relationship check may replace the unrelated default)",
                t.transplant_id
            ));
        }
        if t.recipient.is_none() && t.donor.is_some() {
            warnings.push(format!(
                "transplant {}: donor genotypes without recipient genotypes are not used (genotype-free mode)",
                t.transplant_id
            ));
        }
        let d2 = match t.second_donor.as_ref().and_then(|d| d.genotypes.as_ref()) {
            Some(src) => {
                let (_, idx) = column(&tables, src, &t.sheet, t.line, "donor2_sample")?;
                people.push((src.path.clone(), idx));
                Some(genotype_map(&tables, src, t, "donor2_sample")?)
            }
            None => None,
        };
        recipient_maps.push(r);
        donor_maps.push(d);
        donor2_maps.push(d2);
    }
    people.sort();
    people.dedup();
    let batch_counts = batch_allele_counts(&tables, &people);
    let any_counts_af = rows.iter().any(|r| {
        tables
            .get(&r.counts.path)
            .is_some_and(|t| t.alt_frequency.iter().any(Option::is_some))
    });
    let frequency_source = if panel_map.is_some() {
        FrequencySource {
            kind: "panel".into(),
            description: format!(
                "panel file {}",
                panel.map(|p| p.display().to_string()).unwrap_or_default()
            ),
        }
    } else if any_counts_af {
        FrequencySource {
            kind: "counts_info_af".into(),
            description: "INFO/AF of the count VCFs".into(),
        }
    } else {
        FrequencySource {
            kind: "batch_genotypes".into(),
            description: format!(
                "estimated from the genotypes of {} people in this batch (no panel file or INFO/AF given)",
                people.len()
            ),
        }
    };

    let index_of: HashMap<&str, usize> = transplants
        .iter()
        .enumerate()
        .map(|(i, t)| (t.transplant_id.as_str(), i))
        .collect();
    let mut samples = Vec::with_capacity(rows.len());
    for row in rows {
        let ti = index_of[row.transplant_id.as_str()];
        let (table, idx) = column(&tables, &row.counts, &row.sheet, row.line, "counts_sample")?;
        if table.depths.is_none() {
            let what = match table.format {
                SourceFormat::Vcf => {
                    "VCF has no FORMAT/AD allele depths (use bcftools mpileup -a AD,DP)"
                }
                _ => "not a count file (expected ref_count and alt_count columns)",
            };
            return Err(InputError::new(&table.path, what).into());
        }
        samples.push(DrawRow {
            row,
            transplant_index: ti,
            counts: table,
            column: idx,
        });
    }
    let mut file_list: Vec<PathBuf> =
        vec![transplants_sheet.to_path_buf(), samples_sheet.to_path_buf()];
    if let Some(p) = panel {
        file_list.push(p.to_path_buf());
    }
    file_list.extend(files);
    Ok(Batch {
        transplants_sheet: transplants_sheet.to_path_buf(),
        samples_sheet: samples_sheet.to_path_buf(),
        panel: panel.map(Path::to_path_buf),
        transplants,
        samples,
        files: file_list,
        frequency_source,
        warnings,
        files_parsed: tables.len(),
        context: PrepareContext {
            recipient_maps,
            donor_maps,
            donor2_maps,
            panel_map,
            batch_counts,
            error_table: error_table.cloned(),
        },
    })
}

#[allow(clippy::too_many_arguments)]
fn prepare_sample(
    row: SampleRow,
    transplant_index: usize,
    t: &TransplantRow,
    counts: &AlleleTable,
    col: usize,
    recipient: Option<&Genotypes>,
    donor: Option<&Genotypes>,
    donor2: Option<&Genotypes>,
    panel: Option<&HashMap<SiteKey, f64>>,
    batch_counts: &HashMap<SiteKey, (u32, u32)>,
    error_table: Option<&ErrorTable>,
) -> PreparedSample {
    let mode = match (recipient, donor) {
        (Some(_), Some(_)) => EstimationMode::TwoGenome,
        (Some(_), None) => EstimationMode::RecipientOnly,
        _ => EstimationMode::GenotypeFree,
    };
    let mut acc = SnpAccounting {
        non_snp_sites: counts.non_snp_sites,
        ..Default::default()
    };
    let mut inputs: Vec<SnpInput> = Vec::new();
    let two_donors = t.second_donor.is_some();
    let mut two_donor_snps: Vec<TwoDonorSnp> = Vec::new();
    if t.relationship == Relationship::IdenticalTwin {
        return PreparedSample {
            row,
            transplant_index,
            mode: None,
            refused: Some(
                "identical-twin donor: donor and recipient genomes are the same, so the donor fraction is not identifiable from SNPs"
                    .into(),
            ),
            model: SampleModel::new(mode),
            inputs,
            accounting: acc,
            frequencies_from: None,
            two_donor: None,
        };
    }
    let kappa = t.relationship.kappa();
    let mut freq_sources = [0usize; 3];
    // Frequency of a site, and which source gave it (panel, INFO/AF, batch).
    let frequency = |site: &SiteKey, i: usize| -> (f64, usize) {
        let (q, source) = if let Some(q) = panel.and_then(|p| p.get(site)) {
            (*q, 0)
        } else if let Some(q) = counts.alt_frequency[i] {
            (q, 1)
        } else {
            let own = [
                recipient.and_then(|m| m.get(site).copied()),
                donor.and_then(|m| m.get(site).copied()),
            ];
            (leave_pair_out(batch_counts.get(site), &own), 2)
        };
        (q.clamp(FREQUENCY_FLOOR, 1.0 - FREQUENCY_FLOOR), source)
    };
    let mut depth_sum = 0u64;
    let mut depth_list = Vec::new();
    // Reads at recipient-heterozygous SNPs left out of a recipient-only
    // likelihood: they still measure the molecule dispersion ρ_s.
    let mut excluded_het = Vec::new();
    for (i, site) in counts.sites.iter().enumerate() {
        let Some([ref_n, alt_n]) = counts.depth(i, col) else {
            acc.zero_depth_snps += 1;
            continue;
        };
        let n = ref_n + alt_n;
        if n == 0 {
            acc.zero_depth_snps += 1;
            continue;
        }
        let r = match recipient {
            Some(map) => match map.get(site) {
                Some(&r) => Some(r),
                None => {
                    acc.sites_without_genotype += 1;
                    continue;
                }
            },
            None => None,
        };
        let (q, source) = frequency(site, i);
        let d = match (r, donor) {
            (Some(_), Some(dmap)) => {
                let d = dmap.get(site).copied();
                if d.is_none() {
                    acc.donor_genotype_missing += 1;
                }
                d
            }
            _ => None,
        };
        match (r, d) {
            (Some(r), Some(d)) => {
                if r != d {
                    acc.informative_snps += 1;
                }
            }
            (Some(1), None) if donor.is_none() => {
                // Recipient-heterozygous SNPs carry 40–125× less information per
                // read at f ≤ 1% (cfdna-model.md §2) and, marginalised over the
                // donor genotype, absorb allelic bias as spurious donor signal:
                // on SRP434573 they pulled 1% mixtures to 15–50%. Reported, not used.
                acc.recipient_heterozygous_snps += 1;
                acc.recipient_het_excluded += 1;
                excluded_het.push(het_site(alt_n, n, None, q, kappa));
                continue;
            }
            (Some(r), None) => {
                freq_sources[source] += 1;
                if r != 1 {
                    acc.informative_snps += 1;
                }
            }
            (None, _) => {
                freq_sources[source] += 1;
                acc.informative_snps += 1;
            }
        }
        inputs.push(SnpInput {
            alt: alt_n,
            depth: n,
            recipient: r,
            donor: d,
            alt_frequency: q,
            site_error: error_table.and_then(|t| t.rates(site)),
        });
        if two_donors && let Some(r) = r {
            let d2 = donor2.and_then(|m| m.get(site).copied());
            // As for one donor: recipient-heterozygous SNPs only when both
            // donors are typed.
            if r != 1 || (d.is_some() && d2.is_some()) {
                two_donor_snps.push(TwoDonorSnp {
                    alt: alt_n,
                    depth: n,
                    recipient: r,
                    donor1: d,
                    donor2: d2,
                    alt_frequency: q,
                });
            }
        }
        if let Some(r) = r {
            if r == 1 {
                acc.recipient_heterozygous_snps += 1;
            } else {
                acc.recipient_homozygous_snps += 1;
            }
        }
        acc.snps_used += 1;
        depth_sum += u64::from(n);
        depth_list.push(n);
    }
    if acc.snps_used > 0 {
        acc.mean_depth = depth_sum as f64 / acc.snps_used as f64;
        let low = depth_list
            .iter()
            .filter(|&&n| f64::from(n) < 0.2 * acc.mean_depth)
            .count();
        acc.low_depth_fraction = low as f64 / acc.snps_used as f64;
    }
    let frequencies_from = if freq_sources.iter().sum::<usize>() == 0 {
        None
    } else {
        let names = ["panel", "counts INFO/AF", "batch genotypes"];
        Some(
            freq_sources
                .iter()
                .zip(names)
                .filter(|(c, _)| **c > 0)
                .map(|(c, n)| format!("{n}: {c}"))
                .collect::<Vec<_>>()
                .join("; "),
        )
    };
    let mut model = SampleModel::from_inputs(mode, &inputs, kappa);
    model.het_sites.extend(excluded_het);
    PreparedSample {
        row,
        transplant_index,
        mode: Some(mode),
        refused: None,
        model,
        inputs,
        two_donor: two_donors.then_some(two_donor_snps),
        accounting: acc,
        frequencies_from,
    }
}
