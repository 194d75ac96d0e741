//! A batch scanned in chunks of whole transplants: each chunk's files are
//! loaded, its draws estimated and reduced to their results, and its models,
//! count tables and genotype maps dropped before the next chunk is loaded. So
//! memory follows the chunk (plus a small result per draw), not the batch.
//!
//! Chunks hold whole transplants because the relationship check, the
//! relationship re-estimation and the per-transplant summary look at all the
//! draws of a transplant. The leave-pair-out allele frequencies come from the
//! whole batch's genotyped people (`BatchPool`, counted once up front), so
//! every draw gets the numbers a whole-batch scan gives it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::Result;
use crate::formats::alignment::PileupSettings;
use crate::formats::limits::DetectionLimitTable;
use crate::formats::sheet::{SampleRow, TransplantRow, read_samples};
use crate::model::backend::LoglikBackend;
use crate::model::error_table::ErrorTable;
use crate::model::estimate::EstimatorSettings;
use crate::model::qc::QcThresholds;
use crate::risk::RiskConfig;

use super::checks::shared_reads;
use super::load::{BatchPool, FrequencyOptions, FrequencySource, ParsedFiles, load_batch_part};
use super::results::{ScanOutcome, run_scan};

/// Draws per chunk unless the caller says otherwise: about 250 kB of model
/// per 1,000-SNP draw, so a chunk holds ~65 MB. 5,000 draws on one count file
/// peak at 95 MB with 256 and 283 MB with 1,000, in the same time
/// (benches/many_draws.sh); a GPU batch of 256 draws is already large.
pub const DEFAULT_CHUNK_DRAWS: usize = 256;

/// What a chunked scan hands back: the results of every draw and transplant,
/// and what the run record needs.
pub struct StreamedScan {
    pub transplants: Vec<TransplantRow>,
    pub outcome: ScanOutcome,
    pub files: Vec<PathBuf>,
    pub frequency_source: Option<FrequencySource>,
    pub warnings: Vec<String>,
    /// Draws that read the same count-file column as an earlier draw.
    pub shared_reads: Option<String>,
    pub draws: usize,
    pub chunks: usize,
    /// Distinct genotype and count files parsed for the chunks (each once).
    pub files_parsed: usize,
    /// Genotype files read beforehand to count the batch's allele
    /// frequencies (`BatchPool`; only when the batch spans several chunks).
    pub genotype_files_pooled: usize,
    pub load: Duration,
    pub estimate: Duration,
}

/// The sheets' transplants cut into runs of whole transplants with about
/// `chunk_draws` draws each, in sheet order.
pub fn plan_chunks(
    transplants: &[TransplantRow],
    rows: &[SampleRow],
    chunk_draws: usize,
) -> Vec<(Vec<TransplantRow>, Vec<SampleRow>)> {
    let mut chunks = Vec::new();
    let mut current: (Vec<TransplantRow>, Vec<SampleRow>) = (Vec::new(), Vec::new());
    let mut by_transplant: std::collections::HashMap<&str, Vec<&SampleRow>> =
        std::collections::HashMap::new();
    for r in rows {
        by_transplant
            .entry(r.transplant_id.as_str())
            .or_default()
            .push(r);
    }
    for t in transplants {
        let mine = by_transplant
            .get(t.transplant_id.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default();
        if !current.1.is_empty() && current.1.len() + mine.len() > chunk_draws.max(1) {
            chunks.push(std::mem::take(&mut current));
        }
        current.0.push(t.clone());
        current.1.extend(mine.iter().map(|r| (*r).clone()));
    }
    if !current.0.is_empty() || chunks.is_empty() {
        chunks.push(current);
    }
    chunks
}

/// The genotype and count files a chunk reads.
fn chunk_files<'a>(transplants: &'a [TransplantRow], rows: &'a [SampleRow]) -> Vec<&'a Path> {
    let mut files: Vec<&Path> = Vec::new();
    for t in transplants {
        let second = t.second_donor.as_ref().and_then(|d| d.genotypes.as_ref());
        for s in [&t.recipient, &t.donor].into_iter().flatten().chain(second) {
            files.push(&s.path);
        }
    }
    files.extend(rows.iter().map(|r| r.counts.path.as_path()));
    files
}

/// Everything a chunked scan needs besides the sheets.
pub struct StreamSettings<'a> {
    pub frequencies: &'a FrequencyOptions,
    pub error_table: Option<&'a ErrorTable>,
    pub reads: &'a PileupSettings,
    pub estimator: &'a EstimatorSettings,
    pub qc: &'a QcThresholds,
    pub risk: &'a RiskConfig,
    pub limits: Option<&'a DetectionLimitTable>,
    pub chunk_draws: usize,
}

/// Scan the batch of these sheets (`transplants` read from the first) chunk
/// by chunk; `progress(done, total)` is called after each chunk with the draws
/// finished so far.
pub fn scan_in_chunks(
    transplants_sheet: &Path,
    samples_sheet: &Path,
    transplants: Vec<TransplantRow>,
    backend: &dyn LoglikBackend,
    settings: &StreamSettings<'_>,
    progress: &dyn Fn(usize, usize),
) -> Result<StreamedScan> {
    let t = Instant::now();
    let rows = read_samples(samples_sheet, &transplants)?;
    let draws = rows.len();
    let shared = shared_reads(samples_sheet, &rows);
    let chunks = plan_chunks(&transplants, &rows, settings.chunk_draws);
    drop(rows);
    // One chunk: the whole-batch path as it always was.
    let pool = if chunks.len() > 1 {
        Some(BatchPool::count(&transplants)?)
    } else {
        None
    };
    // A file read by several chunks is parsed once and kept until its last.
    let mut parsed = ParsedFiles::for_chunks(chunks.iter().map(|(ts, rs)| chunk_files(ts, rs)));
    let mut out = StreamedScan {
        transplants,
        outcome: ScanOutcome {
            samples: Vec::with_capacity(draws),
            transplants: Vec::new(),
        },
        files: Vec::new(),
        frequency_source: None,
        warnings: Vec::new(),
        shared_reads: shared,
        draws,
        chunks: chunks.len(),
        files_parsed: 0,
        genotype_files_pooled: pool.as_ref().map_or(0, BatchPool::files),
        load: t.elapsed(),
        estimate: Duration::ZERO,
    };
    let mut done = 0;
    // Membership of out.files: a Vec's `contains` made every chunk scan every
    // file seen so far (quadratic: 2·10⁸ path comparisons for 50,000 draws).
    let mut seen_files = std::collections::HashSet::new();
    for (chunk_transplants, chunk_rows) in chunks {
        let t = Instant::now();
        let n = chunk_rows.len();
        let batch = load_batch_part(
            transplants_sheet,
            samples_sheet,
            chunk_transplants,
            chunk_rows,
            settings.frequencies,
            settings.error_table,
            settings.reads,
            pool.as_ref(),
            Some(&mut parsed),
        )?;
        out.files_parsed += batch.files_parsed;
        out.load += t.elapsed();
        let t = Instant::now();
        let outcome = run_scan(
            &batch,
            backend,
            settings.estimator,
            settings.qc,
            settings.risk,
            settings.limits,
            settings.chunk_draws,
        )?;
        out.estimate += t.elapsed();
        out.outcome.samples.extend(outcome.samples);
        out.outcome.transplants.extend(outcome.transplants);
        for f in batch.files {
            if seen_files.insert(f.clone()) {
                out.files.push(f);
            }
        }
        for w in batch.warnings {
            if !out.warnings.contains(&w) {
                out.warnings.push(w);
            }
        }
        out.frequency_source.get_or_insert(batch.frequency_source);
        done += n;
        progress(done, draws);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::sheet::GenotypeSource;
    use crate::model::Relationship;
    use crate::risk::Organ;

    fn transplant(id: &str) -> TransplantRow {
        TransplantRow {
            transplant_id: id.into(),
            organ: Organ::Kidney,
            transplant_date: chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or_default(),
            relationship: Relationship::Unrelated,
            recipient: None,
            donor: None,
            second_donor: None,
            recipient_hla: None,
            donor_hla: None,
            recipient_id: None,
            donor_id: None,
            sheet: PathBuf::from("t.csv"),
            line: 2,
        }
    }

    fn draw(t: &str, i: usize) -> SampleRow {
        SampleRow {
            sample_id: format!("{t}-{i}"),
            transplant_id: t.into(),
            collected: chrono::NaiveDate::from_ymd_opt(2024, 2, 1).unwrap_or_default(),
            counts: GenotypeSource {
                path: PathBuf::from("c.tsv"),
                sample: String::new(),
            },
            total_cfdna: None,
            sheet: PathBuf::from("s.csv"),
            line: 2,
        }
    }

    #[test]
    fn chunks_hold_whole_transplants_in_sheet_order_and_every_draw_once() {
        let transplants: Vec<TransplantRow> = ["A", "B", "C", "D", "E"]
            .into_iter()
            .map(transplant)
            .collect();
        // D has no draws; draws are listed out of transplant order.
        let mut rows = Vec::new();
        for (t, n) in [("C", 2), ("A", 3), ("B", 4), ("E", 1), ("A", 1)] {
            for i in 0..n {
                rows.push(draw(t, rows.len() * 10 + i));
            }
        }
        let chunks = plan_chunks(&transplants, &rows, 5);
        let order: Vec<String> = chunks
            .iter()
            .flat_map(|c| c.0.iter().map(|t| t.transplant_id.clone()))
            .collect();
        assert_eq!(order, ["A", "B", "C", "D", "E"]);
        let mut seen = 0;
        for (ts, rs) in &chunks {
            let ids: Vec<&str> = ts.iter().map(|t| t.transplant_id.as_str()).collect();
            assert!(rs.iter().all(|r| ids.contains(&r.transplant_id.as_str())));
            // A chunk only runs over its size when one transplant alone does.
            assert!(rs.len() <= 5 || ts.len() == 1, "{ids:?}: {}", rs.len());
            seen += rs.len();
        }
        assert_eq!(seen, rows.len());
        assert!(chunks.len() >= 3);
        assert_eq!(plan_chunks(&transplants, &rows, 1000).len(), 1);
    }
}
