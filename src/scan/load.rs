//! Loading a batch: sheets, files (each parsed once, in parallel), allele
//! frequencies, and the per-sample likelihood models.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;

use crate::error::{Error, InputError, Result};
use crate::formats::alignment::{PileupSettings, is_alignment_path, pileup};
use crate::formats::allele_table::SourceFormat;
use crate::formats::panel::{Panel, PanelOptions, read_panel};
use crate::formats::sheet::{
    GenotypeSource, SampleRow, TransplantRow, read_samples, read_transplants,
};
use crate::formats::{AlleleTable, SiteKey, read_allele_table};
use crate::model::contamination::{
    ContaminationEstimate, MIN_CONTAMINATION_SNPS, estimate_contamination, with_third_party,
};
use crate::model::error_table::ErrorTable;
use crate::model::frequency::{AltFrequency, SampleFrequencies, Spectrum, spectrum_scenarios};
use crate::model::likelihood::{SnpInput, looks_heterozygous};
use crate::model::qc::SnpAccounting;
use crate::model::two_donor::TwoDonorSnp;
use crate::model::{EstimationMode, Relationship, SampleModel};

/// Where the population allele frequencies came from (said in every output).
#[derive(Debug, Clone, serde::Serialize)]
pub struct FrequencySource {
    pub kind: String,
    pub description: String,
    /// The panel, when one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub panel: Option<PanelSummary>,
    /// Distinct genotyped people in the batch (the leave-pair-out pool).
    pub batch_people: usize,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct PanelSummary {
    pub path: PathBuf,
    pub field: String,
    pub sites: usize,
    /// Counted sites (union of the count files) that the panel covers.
    pub counted_sites_covered: usize,
    pub counted_sites: usize,
    pub median_people: Option<f64>,
    /// Every site has the same frequency: treated as unknown.
    pub flat: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chromosome_note: Option<String>,
}

/// How the scan gets population frequencies.
#[derive(Debug, Clone)]
pub struct FrequencyOptions {
    pub panel: Option<PathBuf>,
    pub panel_options: PanelOptions,
    /// A panel covering less than this share of the counted sites is refused.
    pub min_panel_coverage: f64,
}

impl Default for FrequencyOptions {
    fn default() -> Self {
        FrequencyOptions {
            panel: None,
            panel_options: PanelOptions::default(),
            min_panel_coverage: DEFAULT_MIN_PANEL_COVERAGE,
        }
    }
}

/// Default share of counted sites a panel must cover.
pub const DEFAULT_MIN_PANEL_COVERAGE: f64 = 0.5;

/// Genotype-free: depth at which a site's allele fraction tells a
/// heterozygous recipient (for the spectrum fit).
const MIN_SPECTRUM_DEPTH: u32 = 30;

pub struct PreparedSample {
    pub row: SampleRow,
    pub transplant_index: usize,
    pub mode: Option<EstimationMode>,
    /// Why the sample cannot be estimated (identical twin), if so.
    pub refused: Option<String>,
    pub model: SampleModel,
    /// The SNPs the model was built from (to rebuild it under another relationship).
    pub inputs: Vec<SnpInput>,
    /// Each input's site (same order as `inputs`).
    pub sites: Vec<SiteKey>,
    pub accounting: SnpAccounting,
    /// Where the frequencies of the marginalised SNPs came from; `None` when no
    /// genotype is marginalised (two-genome).
    pub frequencies: Option<SampleFrequencies>,
    /// Frequency spectra for the sites of unknown frequency: the model uses the
    /// first, the interval joins all (empty when every frequency is known).
    pub spectra: Vec<Spectrum>,
    /// The same SNPs with the second donor's genotype, for a two-donor transplant.
    pub two_donor: Option<Vec<TwoDonorSnp>>,
    /// Third-party DNA of a single-donor two-genome draw (model::contamination),
    /// from `inputs`; `None` in the other modes, for two donors, or without
    /// enough concordant SNPs of known frequency.
    pub contamination: Option<ContaminationEstimate>,
}

impl PreparedSample {
    /// Third-party DNA resolved from zero: the likelihood carries it, and the
    /// interval spans its 95% range.
    pub fn third_party(&self) -> Option<&ContaminationEstimate> {
        self.contamination.as_ref().filter(|c| c.resolved())
    }

    /// Estimate `contamination` from the current `inputs` (on preparing a
    /// draw, and again when SNPs leave it).
    pub fn estimate_contamination(&mut self) {
        self.contamination = match self.mode {
            Some(EstimationMode::TwoGenome) if self.two_donor.is_none() => {
                estimate_contamination(&self.inputs, MIN_CONTAMINATION_SNPS)
            }
            _ => None,
        };
    }

    /// The SNPs the likelihood is built from: `inputs`, with the third-party
    /// term at its estimate where one is resolved.
    pub fn model_inputs(&self) -> std::borrow::Cow<'_, [SnpInput]> {
        match self.third_party() {
            Some(c) => std::borrow::Cow::Owned(with_third_party(
                &self.inputs,
                c.fraction,
                c.error_rate_at(c.fraction),
            )),
            None => std::borrow::Cow::Borrowed(&self.inputs),
        }
    }

    /// The draw's model built anew from `inputs` under another relationship
    /// (`kappa`) or frequency spectrum, keeping its heterozygous sites.
    pub fn rebuilt_model(
        &self,
        inputs: &[SnpInput],
        kappa: crate::model::relationship::Kappa,
        spectrum: Spectrum,
    ) -> SampleModel {
        let mut m = SampleModel::from_inputs(self.model.mode, inputs, kappa, spectrum);
        m.het_sites.clone_from(&self.model.het_sites);
        m
    }

    /// The SNPs with the third-party fraction at each end of its 95%
    /// interval (the error rate moving along the fitted line): the draw is
    /// estimated under each, and its interval spans them.
    pub fn third_party_alternatives(&self) -> Vec<Vec<SnpInput>> {
        self.third_party()
            .into_iter()
            .flat_map(|c| {
                c.bounds()
                    .map(|b| with_third_party(&self.inputs, b, c.error_rate_at(b)))
            })
            .collect()
    }
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
    /// The panel and whether it is flat (every site one frequency).
    panel: Option<(Panel, bool)>,
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
            c.panel.as_ref().map(|(p, flat)| (p, *flat)),
            &c.batch_counts,
            c.error_table.as_ref(),
        )
    }
}

type Genotypes = HashMap<SiteKey, u8>;
/// ALT alleles and alleles genotyped, per site.
type AltCounts = HashMap<SiteKey, (u32, u32)>;

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

/// ALT allele counts from the batch without the transplant's own recipient and
/// donor: counting the recipient pulls q towards the recipient's genotype, so
/// the marginalised donor looks like the recipient and donor DNA is over-read
/// (on SRP434573, about 2× at 1%). What is left is a count, so the likelihood
/// sees how few people stand behind it (model::frequency); nobody left is an
/// unknown frequency, never a silent 0.5.
fn leave_pair_out(counts: Option<&(u32, u32)>, own: &[Option<u8>]) -> AltFrequency {
    let (mut alt, mut n) = counts.copied().unwrap_or((0, 0));
    for g in own.iter().flatten() {
        alt = alt.saturating_sub(u32::from(*g));
        n = n.saturating_sub(2);
    }
    if n == 0 {
        AltFrequency::Unknown
    } else {
        AltFrequency::counted(f64::from(alt), f64::from(n))
    }
}

/// Harmonise the panel's chromosome names with the count files and refuse one
/// that covers too little of what was counted.
fn check_panel(
    mut panel: Panel,
    min_coverage: f64,
    tables: &HashMap<PathBuf, Arc<AlleleTable>>,
) -> Result<(Panel, PanelSummary)> {
    let path = panel.path.clone();
    let counted: BTreeSet<&SiteKey> = tables
        .values()
        .filter(|t| t.depths.is_some())
        .flat_map(|t| t.sites.iter())
        .collect();
    let count_chroms = counted.iter().map(|s| s.chrom.clone()).collect();
    panel.harmonise_chromosomes(&count_chroms)?;
    let covered = counted
        .iter()
        .filter(|s| panel.sites.contains_key(**s))
        .count();
    let share = if counted.is_empty() {
        1.0
    } else {
        covered as f64 / counted.len() as f64
    };
    if share < min_coverage {
        let example = |names: Vec<&str>| names.into_iter().take(3).collect::<Vec<_>>().join(", ");
        let panel_chroms: BTreeSet<&str> = panel.sites.keys().map(|s| &*s.chrom).collect();
        let count_names: BTreeSet<&str> = counted.iter().map(|s| &*s.chrom).collect();
        return Err(InputError::new(
            &path,
            format!(
                "the panel covers {covered} of the {} counted SNPs ({:.1}%), below the required {:.0}% (--min-panel-coverage): \
                 wrong panel, genome build or chromosome names? (panel chromosomes: {}; count files: {})",
                counted.len(),
                100.0 * share,
                100.0 * min_coverage,
                example(panel_chroms.into_iter().collect()),
                example(count_names.into_iter().collect()),
            ),
        )
        .into());
    }
    let summary = PanelSummary {
        path: path.clone(),
        field: panel.field.clone(),
        sites: panel.sites.len(),
        counted_sites_covered: covered,
        counted_sites: counted.len(),
        median_people: panel.median_people(),
        flat: panel.is_flat(),
        chromosome_note: panel.chromosome_note.clone(),
    };
    Ok((panel, summary))
}

pub fn load_batch(
    transplants_sheet: &Path,
    samples_sheet: &Path,
    frequencies: &FrequencyOptions,
    error_table: Option<&ErrorTable>,
) -> Result<Batch> {
    load_batch_with_reads(
        transplants_sheet,
        samples_sheet,
        frequencies,
        error_table,
        &PileupSettings::default(),
    )
}

/// A genotype or count file; a BAM or CRAM is counted at the panel's sites.
fn read_input(path: &Path, panel: Option<&Panel>, reads: &PileupSettings) -> Result<AlleleTable> {
    if !is_alignment_path(path) {
        return read_allele_table(path);
    }
    let panel = panel.ok_or_else(|| {
        InputError::new(
            path,
            "aligned reads are counted at the panel's sites: put panel.tsv in the batch folder or give --panel",
        )
    })?;
    let mut sites: Vec<SiteKey> = panel.sites.keys().cloned().collect();
    sites.sort();
    Ok(pileup(path, &sites, reads)?.into_table())
}

/// `load_batch`, with the read-counting settings for counts given as BAM/CRAM.
pub fn load_batch_with_reads(
    transplants_sheet: &Path,
    samples_sheet: &Path,
    frequencies: &FrequencyOptions,
    error_table: Option<&ErrorTable>,
    reads: &PileupSettings,
) -> Result<Batch> {
    let transplants = read_transplants(transplants_sheet)?;
    let rows = read_samples(samples_sheet, &transplants)?;
    load_batch_part(
        transplants_sheet,
        samples_sheet,
        transplants,
        rows,
        frequencies,
        error_table,
        reads,
        None,
        None,
    )
}

/// Parsed genotype and count files shared by the chunks of a streamed scan:
/// a file is parsed the first time a chunk reads it and dropped after the
/// last chunk that reads it, so each distinct file is parsed once per run
/// while memory holds only what the current and later chunks still need.
#[derive(Debug, Default)]
pub struct ParsedFiles {
    tables: HashMap<PathBuf, Arc<AlleleTable>>,
    /// Chunks still to read each file (files not listed are dropped after use).
    chunks_left: HashMap<PathBuf, usize>,
}

impl ParsedFiles {
    /// A cache for chunks that read these files (one list per chunk).
    pub fn for_chunks<'a>(chunks: impl IntoIterator<Item = Vec<&'a Path>>) -> ParsedFiles {
        let mut chunks_left: HashMap<PathBuf, usize> = HashMap::new();
        for mut files in chunks {
            files.sort();
            files.dedup();
            for f in files {
                *chunks_left.entry(f.to_path_buf()).or_default() += 1;
            }
        }
        ParsedFiles {
            tables: HashMap::new(),
            chunks_left,
        }
    }

    /// Parse (in parallel) those of `files` not held yet; returns how many.
    fn load(
        &mut self,
        files: &[PathBuf],
        parse: impl Fn(&Path) -> Result<AlleleTable> + Sync,
    ) -> Result<usize> {
        let missing: Vec<&PathBuf> = files
            .iter()
            .filter(|p| !self.tables.contains_key(*p))
            .collect();
        let loaded: Vec<(PathBuf, AlleleTable)> = missing
            .par_iter()
            .map(|p| parse(p).map(|t| ((*p).clone(), t)))
            .collect::<Result<_>>()?;
        let n = loaded.len();
        self.tables
            .extend(loaded.into_iter().map(|(p, t)| (p, Arc::new(t))));
        Ok(n)
    }

    /// One chunk is done with `files`: drop those no later chunk reads.
    fn release(&mut self, files: &[PathBuf]) {
        for f in files {
            let left = self.chunks_left.get_mut(f).map(|n| {
                *n = n.saturating_sub(1);
                *n
            });
            if left.unwrap_or(0) == 0 {
                self.tables.remove(f);
                self.chunks_left.remove(f);
            }
        }
    }
}

/// The batch's genotyped people and their ALT allele counts per site: what
/// the leave-pair-out frequencies are drawn from (`leave_pair_out`). A
/// streaming scan counts them once over the whole batch, one genotype file at
/// a time, so that every chunk sees the frequencies a whole-batch scan would.
#[derive(Debug, Default)]
pub struct BatchPool {
    counts: HashMap<SiteKey, (u32, u32)>,
    people: usize,
    files: usize,
}

impl BatchPool {
    /// Genotype files read to count the pool.
    pub fn files(&self) -> usize {
        self.files
    }

    pub fn count(transplants: &[TransplantRow]) -> Result<BatchPool> {
        let mut by_file: HashMap<&Path, Vec<&GenotypeSource>> = HashMap::new();
        for t in transplants {
            let second = t.second_donor.as_ref().and_then(|d| d.genotypes.as_ref());
            for s in [&t.recipient, &t.donor].into_iter().flatten().chain(second) {
                by_file.entry(s.path.as_path()).or_default().push(s);
            }
        }
        let files: Vec<(&Path, Vec<&GenotypeSource>)> = by_file.into_iter().collect();
        // Folded as the files are read (a few maps per thread), not collected
        // per file and merged after: a map per genotype file held at once was
        // 80 kB a transplant, 800 MB of a 10,000-transplant batch's peak.
        let merge = |into: &mut AltCounts, from: AltCounts| {
            for (site, (alt, n)) in from {
                let e = into.entry(site).or_default();
                e.0 += alt;
                e.1 += n;
            }
        };
        let (counts, people, read) = files
            .par_iter()
            .map(|(path, sources)| {
                let table = read_allele_table(path)?;
                let mut columns: Vec<usize> = sources
                    .iter()
                    .filter_map(|s| table.sample_index(&s.sample).ok())
                    .collect();
                columns.sort_unstable();
                columns.dedup();
                let mut counts: HashMap<SiteKey, (u32, u32)> = HashMap::new();
                for &idx in &columns {
                    for (i, site) in table.sites.iter().enumerate() {
                        if let Some(g) = table.genotype(i, idx) {
                            let e = counts.entry(site.clone()).or_default();
                            e.0 += u32::from(g);
                            e.1 += 2;
                        }
                    }
                }
                Ok((counts, columns.len()))
            })
            .try_fold(
                || (AltCounts::new(), 0usize, 0usize),
                |mut acc, part: Result<(AltCounts, usize)>| -> Result<_> {
                    let (counts, people) = part?;
                    merge(&mut acc.0, counts);
                    acc.1 += people;
                    acc.2 += 1;
                    Ok(acc)
                },
            )
            .try_reduce(
                || (AltCounts::new(), 0usize, 0usize),
                |mut a, b| {
                    merge(&mut a.0, b.0);
                    a.1 += b.1;
                    a.2 += b.2;
                    Ok(a)
                },
            )?;
        Ok(BatchPool {
            counts,
            people,
            files: read,
        })
    }
}

/// Load the draws `rows` of `transplants` (a chunk of a batch, or all of it).
/// With `pool`, the leave-pair-out frequencies come from the whole batch's
/// genotyped people rather than from those of this part.
#[allow(clippy::too_many_arguments)]
pub fn load_batch_part(
    transplants_sheet: &Path,
    samples_sheet: &Path,
    transplants: Vec<TransplantRow>,
    rows: Vec<SampleRow>,
    frequencies: &FrequencyOptions,
    error_table: Option<&ErrorTable>,
    reads: &PileupSettings,
    pool: Option<&BatchPool>,
    cache: Option<&mut ParsedFiles>,
) -> Result<Batch> {
    let mut panel = frequencies
        .panel
        .as_deref()
        .map(|p| read_panel(p, &frequencies.panel_options))
        .transpose()?;

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
    let mut own_cache = ParsedFiles::default();
    let cache = cache.unwrap_or(&mut own_cache);
    let files_parsed = cache.load(&files, |p| read_input(p, panel.as_ref(), reads))?;
    let tables: HashMap<PathBuf, Arc<AlleleTable>> = files
        .iter()
        .filter_map(|p| cache.tables.get(p).map(|t| (p.clone(), Arc::clone(t))))
        .collect();
    cache.release(&files);

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
    let batch_counts = match pool {
        Some(p) => p.counts.clone(),
        None => batch_allele_counts(&tables, &people),
    };
    let loaded_panel = match panel.take() {
        Some(p) => Some(check_panel(p, frequencies.min_panel_coverage, &tables)?),
        None => None,
    };
    let any_counts_af = rows.iter().any(|r| {
        tables
            .get(&r.counts.path)
            .is_some_and(|t| t.alt_frequency.iter().any(Option::is_some))
    });
    let batch_people = pool.map_or(people.len(), |p| p.people);
    let leave_pair_out_pool = match batch_people {
        0 => "no genotyped people".to_string(),
        n => format!(
            "the genotypes of the batch's other people (leave-pair-out: {} of {n} per transplant)",
            n.saturating_sub(2)
        ),
    };
    let frequency_source = match &loaded_panel {
        Some((panel, summary)) => {
            let people = summary
                .median_people
                .map(|p| format!("AC/AN from a median of {p:.0} people"))
                .unwrap_or_else(|| "AF without a stated sample size".to_string());
            let flat = if summary.flat {
                warnings.push(format!(
                    "panel {} gives every site the same frequency: treated as unknown frequencies (a guess, not a measurement)",
                    panel.path.display()
                ));
                "; every site has the same frequency: treated as unknown"
            } else {
                ""
            };
            // Only SNPs the panel misses take batch frequencies.
            let others = if summary.counted_sites_covered < summary.counted_sites {
                format!("; other SNPs from {leave_pair_out_pool}")
            } else {
                String::new()
            };
            FrequencySource {
                kind: "panel".into(),
                description: format!(
                    "panel {} ({}: {people}; covers {} of {} counted SNPs{flat}){others}",
                    panel.path.display(),
                    summary.field,
                    summary.counted_sites_covered,
                    summary.counted_sites,
                ),
                panel: Some(summary.clone()),
                batch_people,
            }
        }
        None if any_counts_af => FrequencySource {
            kind: "counts_info_af".into(),
            description: format!(
                "INFO/AF of the count VCFs (origin and sample size not stated); SNPs without it from {leave_pair_out_pool}"
            ),
            panel: None,
            batch_people,
        },
        None => FrequencySource {
            kind: "batch_genotypes".into(),
            description: if batch_people <= 2 {
                "none: no panel, no INFO/AF, and no genotyped people beyond each transplant's own pair; \
                 frequencies unknown (interval spans plausible frequency spectra)"
                    .to_string()
            } else {
                format!("no panel or INFO/AF: counted from {leave_pair_out_pool}")
            },
            panel: None,
            batch_people,
        },
    };
    if let Some(note) = loaded_panel
        .as_ref()
        .and_then(|(p, _)| p.chromosome_note.clone())
    {
        warnings.push(note);
    }

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
    if let Some(p) = &frequencies.panel {
        file_list.push(p.clone());
    }
    file_list.extend(files);
    Ok(Batch {
        transplants_sheet: transplants_sheet.to_path_buf(),
        samples_sheet: samples_sheet.to_path_buf(),
        panel: frequencies.panel.clone(),
        transplants,
        samples,
        files: file_list,
        frequency_source,
        warnings,
        files_parsed,
        context: PrepareContext {
            recipient_maps,
            donor_maps,
            donor2_maps,
            panel: loaded_panel.map(|(p, summary)| (p, summary.flat)),
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
    panel: Option<(&Panel, bool)>,
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
    let mut input_sites: Vec<SiteKey> = Vec::new();
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
            sites: Vec::new(),
            accounting: acc,
            frequencies: None,
            spectra: Vec::new(),
            two_donor: None,
            contamination: None,
        };
    }
    let kappa = t.relationship.kappa();
    let mut freqs = SampleFrequencies::default();
    let mut people: Vec<f64> = Vec::new();
    // A site's frequency, from the first source that has it (panel, INFO/AF of
    // the count file, the batch's other genotyped people), and its tally.
    let mut frequency = |site: &SiteKey, i: usize, tally: bool| -> AltFrequency {
        let (freq, slot) = match panel.and_then(|(p, flat)| Some((p.sites.get(site)?, flat))) {
            Some((_, true)) => (AltFrequency::Unknown, &mut freqs.unknown),
            Some((f, false)) => match f.counts {
                Some((ac, an)) => (AltFrequency::counted(ac, an), &mut freqs.panel_counted),
                None => (AltFrequency::Exact(f.af), &mut freqs.panel_af),
            },
            None => match counts.alt_frequency[i] {
                Some(q) => (AltFrequency::Exact(q), &mut freqs.counts_info_af),
                None => {
                    let own = [
                        recipient.and_then(|m| m.get(site).copied()),
                        donor.and_then(|m| m.get(site).copied()),
                    ];
                    match leave_pair_out(batch_counts.get(site), &own) {
                        AltFrequency::Unknown => (AltFrequency::Unknown, &mut freqs.unknown),
                        f => (f, &mut freqs.batch),
                    }
                }
            },
        };
        if tally {
            *slot += 1;
            freqs.sites += 1;
            if let Some(alleles) = freq.alleles() {
                people.push(alleles / 2.0);
            }
        }
        freq
    };
    let mut depth_sum = 0u64;
    let mut depth_list = Vec::new();
    // Genotype-free: SNPs deep enough to tell a heterozygous recipient.
    let (mut deep, mut deep_het) = (0usize, 0usize);
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
        // Tallied for every SNP: where the estimate marginalises a genotype over
        // q, and in two-genome mode for the relationship check.
        let q = frequency(site, i, true);
        if r.is_none() && n >= MIN_SPECTRUM_DEPTH {
            deep += 1;
            deep_het += usize::from(looks_heterozygous(alt_n, n));
        }
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
            (Some(r), None) => {
                if r != 1 {
                    acc.informative_snps += 1;
                }
            }
            (None, _) => {
                acc.informative_snps += 1;
            }
        }
        inputs.push(SnpInput {
            alt: alt_n,
            depth: n,
            recipient: r,
            donor: d,
            frequency: q,
            site_error: error_table.and_then(|t| t.rates(site)),
        });
        input_sites.push(site.clone());
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
                    alt_frequency: q.mean(),
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
    // Sites of unknown frequency draw q from a spectrum fitted to the
    // recipient's heterozygous share (model::frequency); the interval joins
    // the fitted, a more spread and the flat spectrum.
    let het_share = match mode {
        EstimationMode::RecipientOnly => {
            let typed = acc.recipient_heterozygous_snps + acc.recipient_homozygous_snps;
            (typed > 0).then(|| (acc.recipient_heterozygous_snps as f64 / typed as f64, typed))
        }
        EstimationMode::GenotypeFree => (deep > 0).then(|| (deep_het as f64 / deep as f64, deep)),
        EstimationMode::TwoGenome => None,
    };
    let spectra: Vec<Spectrum> = match het_share {
        Some((h, sites)) if freqs.unknown > 0 => spectrum_scenarios(h, sites),
        _ => Vec::new(),
    };
    let spectrum = spectra.first().copied().unwrap_or(Spectrum::FLAT);
    let frequencies = (freqs.sites > 0).then(|| {
        people.sort_by(f64::total_cmp);
        freqs.median_people = people.get(people.len() / 2).copied();
        freqs.heterozygous_share = het_share.filter(|_| !spectra.is_empty());
        freqs.spectra = spectra.clone();
        freqs
    });
    // Recipient-heterozygous SNPs enter every mode's likelihood (cfdna-model.md
    // §2): with the heterozygous balance b fitted (§7) and beta-binomial reads
    // they inform f without the allelic bias a fixed ½ read as donor DNA.
    let mut prepared = PreparedSample {
        row,
        transplant_index,
        mode: Some(mode),
        refused: None,
        model: SampleModel::new(mode),
        inputs,
        sites: input_sites,
        two_donor: two_donors.then_some(two_donor_snps),
        contamination: None,
        accounting: acc,
        frequencies,
        spectra,
    };
    // Third-party DNA (model::contamination): single-donor two-genome draws
    // with known, varying frequencies, where it is resolved from zero. Two-
    // donor draws have their own model, and the second donor's reads would
    // read as a third person.
    prepared.estimate_contamination();
    prepared.model = SampleModel::from_inputs(mode, &prepared.model_inputs(), kappa, spectrum);
    prepared
}
