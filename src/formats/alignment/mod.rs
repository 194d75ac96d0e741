//! Aligned reads (BAM, CRAM) counted at panel sites: the count table that
//! `bcftools mpileup -a AD` would give, but per DNA fragment (see `count`).
//!
//! Reads are fetched through the file's index, region by region, in parallel
//! (rayon); within a region, a site's reads are tallied and released as soon
//! as the coordinate-sorted stream moves past it, so memory follows the read
//! depth of a region, not the size of the file.
//!
//! Read filters (defaults follow `bcftools mpileup`: `-q 0 -Q 13`):
//! unmapped, secondary (0x100), QC-fail (0x200) and supplementary (0x800)
//! reads are never counted; duplicates (0x400) unless `keep_duplicates`;
//! reads below `min_mapq` (255, "unavailable", passes as in htslib); bases
//! below `min_baseq` (for overlapping mates, the fragment's combined quality;
//! see `count`). Deletions and reference skips show no base. Unlike
//! bcftools' default, reads of improperly paired fragments are counted
//! (bcftools needs `-A` to do the same). No BAQ: bcftools needs `-B`.

pub mod count;

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use noodles_bam as bam;
use noodles_bgzf as bgzf;
use noodles_core::{Position, Region};
use noodles_cram as cram;
use noodles_csi::{self as csi, BinningIndex};
use noodles_fasta as fasta;
use noodles_sam as sam;
use rayon::prelude::*;
use sam::alignment::record::cigar::op::Kind;
use sam::alignment::record::data::field::{Tag, Value};

use self::count::{CountingRule, Observation, SiteCounts, count_site};
use crate::error::{Error, InputError, Result};
use crate::formats::allele_table::{AlleleTable, SourceFormat};
use crate::formats::site::SiteKey;

/// bcftools mpileup's defaults (`-q 0`, `-Q 13`).
pub const DEFAULT_MIN_MAPQ: u8 = 0;
pub const DEFAULT_MIN_BASEQ: u8 = 13;

/// Sites further apart than this start a new indexed query. A BAI/CSI linear
/// index locates reads by 16 kb window, so a query reads from the first read
/// of its window, on average half a window of reads before its site: for
/// sites closer than a window, reading on is cheaper than a new query
/// (measured on a 200× BAM: 4 kb gaps cost 1.3 CPU-s and 1 kb gaps 1.5 CPU-s
/// for 200 sites a few kb apart, against ~7 ms per query, as for htslib).
const REGION_GAP: u64 = 16_384;
/// Sites per query: enough regions for every core, bounded memory per region.
const REGION_SITES: usize = 512;

/// The tag that names a read's original molecule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
pub enum UmiTag {
    /// Raw UMI sequence (`RX`): reads with the same UMI at a site are one molecule.
    #[value(name = "RX")]
    Rx,
    /// Molecule id from a grouping tool (`MI`, fgbio/UMI-tools): preferred,
    /// since distinct molecules may share a short random UMI.
    #[value(name = "MI")]
    Mi,
}

impl UmiTag {
    fn tag(self) -> Tag {
        match self {
            UmiTag::Rx => Tag::UMI_SEQUENCE,
            UmiTag::Mi => Tag::UMI_ID,
        }
    }
}

/// How reads are counted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PileupSettings {
    pub min_mapq: u8,
    pub min_baseq: u8,
    pub keep_duplicates: bool,
    pub umi_tag: Option<UmiTag>,
    /// Count every read, as bcftools/samtools do with overlap detection off.
    pub reads_not_fragments: bool,
    /// Reference FASTA (with `.fai`) for CRAM.
    pub reference: Option<PathBuf>,
}

impl Default for PileupSettings {
    fn default() -> Self {
        PileupSettings {
            min_mapq: DEFAULT_MIN_MAPQ,
            min_baseq: DEFAULT_MIN_BASEQ,
            keep_duplicates: false,
            umi_tag: None,
            reads_not_fragments: false,
            reference: None,
        }
    }
}

/// Reads seen and why they were not counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReadTally {
    /// Records returned by the indexed queries (a read spanning two regions
    /// is read twice).
    pub records: u64,
    pub unmapped: u64,
    pub secondary: u64,
    pub supplementary: u64,
    pub qc_fail: u64,
    pub duplicate: u64,
    pub low_mapq: u64,
    /// Counted reads without the UMI tag (each such read's fragment counts alone).
    pub without_umi: u64,
}

impl ReadTally {
    fn add(&mut self, o: &ReadTally) {
        self.records += o.records;
        self.unmapped += o.unmapped;
        self.secondary += o.secondary;
        self.supplementary += o.supplementary;
        self.qc_fail += o.qc_fail;
        self.duplicate += o.duplicate;
        self.low_mapq += o.low_mapq;
        self.without_umi += o.without_umi;
    }
}

#[derive(Debug, Clone)]
pub struct SitePileup {
    pub site: SiteKey,
    pub counts: SiteCounts,
    /// False when the site's contig is not in the file's header (depth 0).
    pub contig_in_file: bool,
}

#[derive(Debug, Clone)]
pub struct Pileup {
    pub path: PathBuf,
    /// The one sample named by the read groups (`SM`), if any.
    pub sample: Option<String>,
    /// Every requested site, in the file's contig order, then by position.
    pub sites: Vec<SitePileup>,
    pub reads: ReadTally,
    /// Panel contig → the file's name for it, where they differ (`1` ↔ `chr1`).
    pub renamed_contigs: Vec<(String, String)>,
    /// Panel contigs absent from the file's header, with their site counts.
    pub absent_contigs: Vec<(String, usize)>,
}

/// A BAM or CRAM, by its extension.
pub fn is_alignment_path(path: &Path) -> bool {
    alignment_kind(path).is_some()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Bam,
    Cram,
}

fn alignment_kind(path: &Path) -> Option<FileKind> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "bam" => Some(FileKind::Bam),
        "cram" => Some(FileKind::Cram),
        _ => None,
    }
}

fn bad(path: &Path, msg: impl Into<String>) -> Error {
    InputError::new(path, msg).into()
}

/// The index beside a BAM: `X.bam.bai`, `X.bai` (Picard's name) or `X.bam.csi`.
fn read_bam_index(path: &Path) -> Result<bam::Index> {
    match bam::fs::read_associated_index(path) {
        Ok(i) => return Ok(i),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(bad(path, format!("cannot read the index: {e}")));
        }
        Err(_) => {}
    }
    let short = path.with_extension("bai");
    match bam::bai::fs::read(&short) {
        Ok(i) => Ok(bam::Index::Bai(i)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(bad(
            path,
            format!(
                "no index (looked for {0}.bai, {0}.csi and {1}); create one with `samtools index {0}`",
                path.display(),
                short.display()
            ),
        )),
        Err(e) => Err(bad(&short, format!("cannot read the index: {e}"))),
    }
}

fn fasta_repository(reference: &Path) -> Result<fasta::Repository> {
    let reader = fasta::io::indexed_reader::Builder::default()
        .build_from_path(reference)
        .map_err(|e| {
            bad(
                reference,
                format!(
                    "cannot open the reference FASTA with its index ({}.fai; create it with `samtools faidx`): {e}",
                    reference.display()
                ),
            )
        })?;
    Ok(fasta::Repository::new(
        fasta::repository::adapters::IndexedReader::new(reader),
    ))
}

enum FileIndex {
    Bam(bam::Index),
    Cram(cram::crai::Index),
}

/// What every worker shares: the header, the index, where to find the reference.
struct Source {
    path: PathBuf,
    kind: FileKind,
    header: sam::Header,
    index: FileIndex,
    reference: Option<PathBuf>,
}

enum Reader {
    Bam(bam::io::Reader<bgzf::io::Reader<File>>),
    Cram(Box<cram::io::Reader<File>>),
}

impl Source {
    fn open(path: &Path, reference: Option<&Path>) -> Result<Source> {
        if !path.is_file() {
            return Err(bad(path, "file not found"));
        }
        let kind = alignment_kind(path)
            .ok_or_else(|| bad(path, "not a BAM or CRAM (expected .bam or .cram)"))?;
        match kind {
            FileKind::Bam => {
                let mut reader = File::open(path)
                    .map(bam::io::Reader::new)
                    .map_err(|e| Error::io(path, e))?;
                let header = reader
                    .read_header()
                    .map_err(|e| bad(path, format!("not a readable BAM: {e}")))?;
                let index = read_bam_index(path)?;
                Ok(Source {
                    path: path.to_path_buf(),
                    kind,
                    header,
                    index: FileIndex::Bam(index),
                    reference: None,
                })
            }
            FileKind::Cram => {
                let reference = reference.ok_or_else(|| {
                    bad(
                        path,
                        "a CRAM needs the reference FASTA it was compressed against: give --reference FILE (indexed with `samtools faidx`)",
                    )
                })?;
                let mut reader = cram::io::reader::Builder::default()
                    .set_reference_sequence_repository(fasta_repository(reference)?)
                    .build_from_path(path)
                    .map_err(|e| Error::io(path, e))?;
                let header = reader
                    .read_header()
                    .map_err(|e| bad(path, format!("not a readable CRAM: {e}")))?;
                let mut crai = path.as_os_str().to_owned();
                crai.push(".crai");
                let crai = PathBuf::from(crai);
                let index = cram::crai::fs::read(&crai).map_err(|e| {
                    if e.kind() == std::io::ErrorKind::NotFound {
                        bad(
                            path,
                            format!(
                                "no index {}; create it with `samtools index {}`",
                                crai.display(),
                                path.display()
                            ),
                        )
                    } else {
                        bad(&crai, format!("cannot read the index: {e}"))
                    }
                })?;
                Ok(Source {
                    path: path.to_path_buf(),
                    kind,
                    header,
                    index: FileIndex::Cram(index),
                    reference: Some(reference.to_path_buf()),
                })
            }
        }
    }

    fn reader(&self) -> Result<Reader> {
        match self.kind {
            FileKind::Bam => File::open(&self.path)
                .map(|f| Reader::Bam(bam::io::Reader::new(f)))
                .map_err(|e| Error::io(&self.path, e)),
            FileKind::Cram => {
                let reference = self.reference.as_deref().unwrap_or(Path::new(""));
                let mut r = cram::io::reader::Builder::default()
                    .set_reference_sequence_repository(fasta_repository(reference)?)
                    .build_from_path(&self.path)
                    .map_err(|e| Error::io(&self.path, e))?;
                // The reader must be past the file definition and header
                // before containers can be located.
                r.read_header()
                    .map_err(|e| bad(&self.path, format!("not a readable CRAM: {e}")))?;
                Ok(Reader::Cram(Box::new(r)))
            }
        }
    }

    /// The one sample the read groups name; an error for several.
    fn sample(&self) -> Result<Option<String>> {
        let sm = sam::header::record::value::map::read_group::tag::SAMPLE;
        let mut names: Vec<String> = self
            .header
            .read_groups()
            .values()
            .filter_map(|rg| rg.other_fields().get(&sm))
            .map(|s| s.to_string())
            .collect();
        names.sort();
        names.dedup();
        match names.len() {
            0 => Ok(None),
            1 => Ok(names.pop()),
            _ => Err(bad(
                &self.path,
                format!(
                    "the read groups name {} samples ({}); graftscan counts one sample per file: split it first (`samtools split`)",
                    names.len(),
                    names.join(", ")
                ),
            )),
        }
    }
}

/// `1` ↔ `chr1`, `MT` ↔ `chrM`: the other common spelling of a contig name.
fn other_spelling(name: &str) -> String {
    match name {
        "MT" => "chrM".into(),
        "chrM" => "MT".into(),
        _ => match name.strip_prefix("chr") {
            Some(rest) => rest.to_string(),
            None => format!("chr{name}"),
        },
    }
}

struct ContigPlan {
    /// Panel contig → (header index, header name).
    mapped: HashMap<Arc<str>, (usize, String)>,
    renamed: Vec<(String, String)>,
    absent: Vec<(String, usize)>,
}

fn plan_contigs(source: &Source, sites: &[SiteKey]) -> Result<ContigPlan> {
    let refs = source.header.reference_sequences();
    let mut per_contig: BTreeMap<Arc<str>, usize> = BTreeMap::new();
    for s in sites {
        *per_contig.entry(s.chrom.clone()).or_default() += 1;
    }
    let mut plan = ContigPlan {
        mapped: HashMap::new(),
        renamed: Vec::new(),
        absent: Vec::new(),
    };
    for (chrom, n) in &per_contig {
        if let Some(i) = refs.get_index_of(chrom.as_bytes()) {
            plan.mapped.insert(chrom.clone(), (i, chrom.to_string()));
            continue;
        }
        let other = other_spelling(chrom);
        match refs.get_index_of(other.as_bytes()) {
            Some(i) => {
                plan.renamed.push((chrom.to_string(), other.clone()));
                plan.mapped.insert(chrom.clone(), (i, other));
            }
            None => plan.absent.push((chrom.to_string(), *n)),
        }
    }
    if plan.mapped.is_empty() && !sites.is_empty() {
        let header_names: Vec<String> = refs.keys().take(5).map(|k| k.to_string()).collect();
        let panel_names: Vec<String> = per_contig.keys().take(5).map(|k| k.to_string()).collect();
        return Err(bad(
            &source.path,
            format!(
                "none of the panel's contigs ({}{}) is in the file's header ({}{}), not even as 1/chr1: was it aligned to another reference?",
                panel_names.join(", "),
                if per_contig.len() > 5 { ", …" } else { "" },
                header_names.join(", "),
                if refs.len() > 5 { ", …" } else { "" },
            ),
        ));
    }
    Ok(plan)
}

/// Sites of one indexed query: one contig, sorted by position.
struct RegionJob {
    contig: String,
    /// (position, REF, ALT, index into the output).
    sites: Vec<(u64, u8, u8, usize)>,
}

fn plan_regions(sorted: &[(usize, SiteKey)], plan: &ContigPlan) -> Vec<RegionJob> {
    let mut jobs: Vec<RegionJob> = Vec::new();
    let mut last: Option<(usize, u64)> = None;
    for (out_idx, (contig_idx, site)) in sorted.iter().enumerate() {
        let Some((_, name)) = plan.mapped.get(&site.chrom) else {
            continue;
        };
        let start_new = match (last, jobs.last()) {
            (Some((c, p)), Some(job)) => {
                c != *contig_idx
                    || site.pos.saturating_sub(p) > REGION_GAP
                    || job.sites.len() >= REGION_SITES
            }
            _ => true,
        };
        if start_new {
            jobs.push(RegionJob {
                contig: name.clone(),
                sites: Vec::new(),
            });
        }
        if let Some(job) = jobs.last_mut() {
            job.sites
                .push((site.pos, site.ref_base, site.alt_base, out_idx));
        }
        last = Some((*contig_idx, site.pos));
    }
    jobs
}

/// What a read shows, whatever the container format.
struct ReadView<'a> {
    flags: sam::alignment::record::Flags,
    mapq: Option<u8>,
    start: Option<u64>,
    cigar: Vec<(Kind, usize)>,
    base: &'a dyn Fn(usize) -> u8,
    quality: &'a dyn Fn(usize) -> u8,
    name: Option<&'a [u8]>,
    umi: Option<u64>,
}

fn hash_bytes(b: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    b.hash(&mut h);
    h.finish()
}

fn umi_hash(value: &Value<'_>) -> Option<u64> {
    match value {
        Value::String(s) | Value::Hex(s) => Some(hash_bytes(s.as_ref())),
        other => other.as_int().map(|i| hash_bytes(&i.to_le_bytes())),
    }
}

/// Pending observations of a region's sites, released in coordinate order.
struct RegionTally<'s> {
    job: &'s RegionJob,
    rule: CountingRule,
    min_mapq: u8,
    min_baseq: u8,
    keep_duplicates: bool,
    pending: Vec<Vec<Observation>>,
    done: Vec<(usize, SiteCounts)>,
    /// Sites before this index are final.
    next_open: usize,
    last_start: u64,
    reads: ReadTally,
}

impl<'s> RegionTally<'s> {
    fn new(job: &'s RegionJob, settings: &PileupSettings) -> Self {
        RegionTally {
            job,
            rule: CountingRule {
                reads_not_fragments: settings.reads_not_fragments,
                by_umi: settings.umi_tag.is_some(),
            },
            min_mapq: settings.min_mapq,
            min_baseq: settings.min_baseq,
            keep_duplicates: settings.keep_duplicates,
            pending: vec![Vec::new(); job.sites.len()],
            done: Vec::with_capacity(job.sites.len()),
            next_open: 0,
            last_start: 0,
            reads: ReadTally::default(),
        }
    }

    fn finalize_before(&mut self, pos: u64) {
        while self.next_open < self.job.sites.len() && self.job.sites[self.next_open].0 < pos {
            let (_, r, a, out) = self.job.sites[self.next_open];
            let mut obs = std::mem::take(&mut self.pending[self.next_open]);
            self.done
                .push((out, count_site(&mut obs, r, a, self.min_baseq, self.rule)));
            self.next_open += 1;
        }
    }

    fn add(&mut self, read: &ReadView<'_>, path: &Path) -> Result<()> {
        self.reads.records += 1;
        let f = read.flags;
        if f.is_unmapped() {
            self.reads.unmapped += 1;
            return Ok(());
        }
        if f.is_secondary() {
            self.reads.secondary += 1;
            return Ok(());
        }
        if f.is_supplementary() {
            self.reads.supplementary += 1;
            return Ok(());
        }
        if f.is_qc_fail() {
            self.reads.qc_fail += 1;
            return Ok(());
        }
        if f.is_duplicate() && !self.keep_duplicates {
            self.reads.duplicate += 1;
            return Ok(());
        }
        // 255 ("unavailable") is None and passes, as in htslib.
        if read.mapq.is_some_and(|q| q < self.min_mapq) {
            self.reads.low_mapq += 1;
            return Ok(());
        }
        let Some(start) = read.start else {
            return Ok(());
        };
        if start < self.last_start {
            return Err(bad(
                path,
                "records are not sorted by coordinate (sort with `samtools sort`, then index)",
            ));
        }
        self.last_start = start;
        self.finalize_before(start);
        if self.rule.by_umi && read.umi.is_none() {
            self.reads.without_umi += 1;
        }
        let fragment = hash_bytes(read.name.unwrap_or_default());
        let sites = &self.job.sites;
        let mut j = self.next_open + sites[self.next_open..].partition_point(|s| s.0 < start);
        let mut ref_pos = start;
        let mut read_pos = 0usize;
        for &(kind, len) in &read.cigar {
            if j >= sites.len() {
                break;
            }
            let end = ref_pos + len as u64;
            match kind {
                Kind::Match | Kind::SequenceMatch | Kind::SequenceMismatch => {
                    while j < sites.len() && sites[j].0 < end {
                        let offset = read_pos + (sites[j].0 - ref_pos) as usize;
                        // Every base is kept: a low-quality mate still
                        // adds to (or argues with) its partner.
                        self.pending[j].push(Observation {
                            fragment,
                            umi: read.umi,
                            base: (read.base)(offset).to_ascii_uppercase(),
                            quality: (read.quality)(offset),
                        });
                        j += 1;
                    }
                    ref_pos = end;
                    read_pos += len;
                }
                Kind::Insertion | Kind::SoftClip => read_pos += len,
                Kind::Deletion | Kind::Skip => {
                    while j < sites.len() && sites[j].0 < end {
                        j += 1;
                    }
                    ref_pos = end;
                }
                Kind::HardClip | Kind::Pad => {}
            }
        }
        Ok(())
    }

    fn finish(mut self) -> (Vec<(usize, SiteCounts)>, ReadTally) {
        self.finalize_before(u64::MAX);
        (self.done, self.reads)
    }
}

/// A region's counts (index into the output, counts) and its read tally.
type RegionCounts = (Vec<(usize, SiteCounts)>, ReadTally);

fn io_err(path: &Path, e: std::io::Error) -> Error {
    bad(path, format!("cannot read records: {e}"))
}

fn run_region(
    source: &Source,
    reader: &mut Reader,
    job: &RegionJob,
    settings: &PileupSettings,
) -> Result<RegionCounts> {
    let path = source.path.as_path();
    let first = job.sites.first().map(|s| s.0).unwrap_or(1);
    let last = job.sites.last().map(|s| s.0).unwrap_or(first);
    let position = |p: u64| {
        usize::try_from(p)
            .ok()
            .and_then(Position::new)
            .ok_or_else(|| bad(path, format!("position {p} is not a valid coordinate")))
    };
    let region = Region::new(job.contig.as_str(), position(first)?..=position(last)?);
    let umi_tag = settings.umi_tag.map(UmiTag::tag);
    let mut tally = RegionTally::new(job, settings);
    match (reader, &source.index) {
        (Reader::Bam(r), FileIndex::Bam(index)) => {
            let ref_id = source
                .header
                .reference_sequences()
                .get_index_of(job.contig.as_bytes())
                .ok_or_else(|| bad(path, format!("contig {} not in the header", job.contig)))?;
            let chunks = index
                .query(ref_id, region.interval())
                .map_err(|e| io_err(path, e))?;
            // Read the index's chunks directly rather than through
            // `Reader::query`, which reads every chunk to its end: chunks are
            // in file order, which is coordinate order, so once a read starts
            // past the region no later chunk (reads of coarser bins further
            // on) can reach back into it. htslib stops there too; reading on
            // decoded ~3 MB per query on a 200× BAM.
            let mut chunk_reader = bam::io::Reader::from(csi::io::Query::new(r.get_mut(), chunks));
            let mut record = bam::Record::default();
            let mut cigar = Vec::new();
            loop {
                if chunk_reader
                    .read_record(&mut record)
                    .map_err(|e| io_err(path, e))?
                    == 0
                {
                    break;
                }
                let on_contig = match record.reference_sequence_id() {
                    Some(id) => id.map_err(|e| io_err(path, e))? == ref_id,
                    None => false,
                };
                if !on_contig {
                    continue;
                }
                let start = match record.alignment_start() {
                    Some(p) => Some(p.map_err(|e| io_err(path, e))?.get() as u64),
                    None => None,
                };
                if start.is_some_and(|s| s > last) {
                    break;
                }
                cigar.clear();
                for op in record.cigar().iter() {
                    let op = op.map_err(|e| io_err(path, e))?;
                    cigar.push((op.kind(), op.len()));
                }
                // Reads ending before the region's first site: nothing to see.
                let span: usize = cigar
                    .iter()
                    .filter(|(k, _)| k.consumes_reference())
                    .map(|(_, n)| n)
                    .sum();
                if start.is_some_and(|s| s + (span as u64) <= first) {
                    continue;
                }
                let seq = record.sequence();
                let quals = record.quality_scores();
                let quals = quals.as_ref();
                let base = |i: usize| seq.get(i).unwrap_or(b'N');
                let quality = |i: usize| quals.get(i).copied().unwrap_or(u8::MAX);
                let umi = match umi_tag {
                    Some(t) => match record.data().get(&t) {
                        Some(v) => umi_hash(&v.map_err(|e| io_err(path, e))?),
                        None => None,
                    },
                    None => None,
                };
                let view = ReadView {
                    flags: record.flags(),
                    mapq: record.mapping_quality().map(u8::from),
                    start,
                    cigar: std::mem::take(&mut cigar),
                    base: &base,
                    quality: &quality,
                    name: record.name().map(|n| n.as_ref()),
                    umi,
                };
                tally.add(&view, path)?;
                cigar = view.cigar;
            }
        }
        (Reader::Cram(r), FileIndex::Cram(index)) => {
            let query = r
                .query(&source.header, index, &region)
                .map_err(|e| io_err(path, e))?;
            for result in query.records() {
                let record = result.map_err(|e| io_err(path, e))?;
                let cigar: Vec<(Kind, usize)> = record
                    .cigar()
                    .as_ref()
                    .iter()
                    .map(|op| (op.kind(), op.len()))
                    .collect();
                let seq = record.sequence().as_ref();
                let quals = record.quality_scores().as_ref();
                let base = |i: usize| seq.get(i).copied().unwrap_or(b'N');
                let quality = |i: usize| quals.get(i).copied().unwrap_or(u8::MAX);
                let umi = umi_tag
                    .and_then(|t| record.data().get(&t))
                    .and_then(|v| match v {
                        sam::alignment::record_buf::data::field::Value::String(s)
                        | sam::alignment::record_buf::data::field::Value::Hex(s) => {
                            Some(hash_bytes(s.as_ref()))
                        }
                        other => other.as_int().map(|i| hash_bytes(&i.to_le_bytes())),
                    });
                let start = record.alignment_start().map(|p| p.get() as u64);
                if start.is_some_and(|s| s > last) {
                    break;
                }
                let view = ReadView {
                    flags: record.flags(),
                    mapq: record.mapping_quality().map(u8::from),
                    start,
                    cigar,
                    base: &base,
                    quality: &quality,
                    name: record.name().map(|n| n.as_ref()),
                    umi,
                };
                tally.add(&view, path)?;
            }
        }
        _ => return Err(bad(path, "index does not match the file format")),
    }
    Ok(tally.finish())
}

/// Count `sites` in a BAM or CRAM.
pub fn pileup(path: &Path, sites: &[SiteKey], settings: &PileupSettings) -> Result<Pileup> {
    let source = Source::open(path, settings.reference.as_deref())?;
    let sample = source.sample()?;
    let plan = plan_contigs(&source, sites)?;
    // File contig order, then position; absent contigs last, by name.
    let mut sorted: Vec<(usize, SiteKey)> = sites
        .iter()
        .map(|s| {
            let c = plan.mapped.get(&s.chrom).map_or(usize::MAX, |m| m.0);
            (c, s.clone())
        })
        .collect();
    sorted.sort();
    sorted.dedup();
    let jobs = plan_regions(&sorted, &plan);
    let results: Vec<Result<RegionCounts>> = jobs
        .par_iter()
        .map_init(
            || source.reader(),
            |reader, job| match reader {
                Ok(r) => run_region(&source, r, job, settings),
                Err(e) => Err(bad(&source.path, format!("cannot open: {e}"))),
            },
        )
        .collect();
    let mut counts = vec![SiteCounts::default(); sorted.len()];
    let mut reads = ReadTally::default();
    for r in results {
        let (done, tally) = r?;
        reads.add(&tally);
        for (i, c) in done {
            counts[i] = c;
        }
    }
    let out_sites = sorted
        .into_iter()
        .zip(counts)
        .map(|((contig, site), counts)| SitePileup {
            contig_in_file: contig != usize::MAX,
            site,
            counts,
        })
        .collect();
    Ok(Pileup {
        path: path.to_path_buf(),
        sample,
        sites: out_sites,
        reads,
        renamed_contigs: plan.renamed,
        absent_contigs: plan.absent,
    })
}

impl Pileup {
    /// The count TSV that `scan` reads: `chrom pos ref alt ref_count alt_count
    /// depth`; `detail` adds the overlap and UMI columns.
    pub fn to_tsv(&self, detail: bool) -> String {
        let mut out = String::from("chrom\tpos\tref\talt\tref_count\talt_count\tdepth");
        if detail {
            out.push_str("\toverlapping_mates\tdiscordant_mates_dropped\tumi_ties_dropped");
        }
        out.push('\n');
        for s in &self.sites {
            let c = &s.counts;
            out.push_str(&format!(
                "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                s.site.chrom,
                s.site.pos,
                s.site.ref_base as char,
                s.site.alt_base as char,
                c.ref_count,
                c.alt_count,
                c.depth
            ));
            if detail {
                out.push_str(&format!(
                    "\t{}\t{}\t{}",
                    c.overlapping_mates, c.discordant_mates_dropped, c.umi_ties_dropped
                ));
            }
            out.push('\n');
        }
        out
    }

    /// As a loaded count file, for `scan`.
    pub fn into_table(self) -> AlleleTable {
        let n = self.sites.len();
        let depths = self
            .sites
            .iter()
            .map(|s| Some([s.counts.ref_count, s.counts.alt_count]))
            .collect();
        AlleleTable {
            path: self.path,
            format: SourceFormat::Alignments,
            samples: vec![self.sample.unwrap_or_default()],
            sites: self.sites.into_iter().map(|s| s.site).collect(),
            alt_frequency: vec![None; n],
            genotypes: None,
            depths: Some(depths),
            non_snp_sites: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contig_spellings_pair_chr_prefixed_and_bare_names() {
        assert_eq!(other_spelling("chr1"), "1");
        assert_eq!(other_spelling("X"), "chrX");
        assert_eq!(other_spelling("MT"), "chrM");
        assert_eq!(other_spelling("chrM"), "MT");
    }

    #[test]
    fn alignment_files_are_known_by_extension() {
        assert!(is_alignment_path(Path::new("a/b.bam")));
        assert!(is_alignment_path(Path::new("b.CRAM")));
        assert!(!is_alignment_path(Path::new("b.vcf.gz")));
        assert!(!is_alignment_path(Path::new("bam")));
    }
}
