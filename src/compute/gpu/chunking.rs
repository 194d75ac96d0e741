//! Splitting a batch into chunks that fit the device: every storage binding
//! under `max_storage_buffer_binding_size` and `max_buffer_size`, every
//! dispatch under `max_compute_workgroups_per_dimension`². A sample too large
//! for one chunk is split into pieces of consecutive SNPs whose partial sums
//! the host adds in f64, so no batch fails for being big.

use std::ops::Range;

use super::layout::{ClassBeta, ClassLogProb, Params, Piece, Snp, Term, split_f64};
use crate::error::{Error, Result};
use crate::model::SampleModel;
use crate::model::likelihood::{
    GENOTYPE_CLASSES, OUTLIER_SHARE, class_genotypes, expected_alt_fraction_balanced,
};

use super::context::ChunkData;

const SNP_BYTES: u64 = std::mem::size_of::<Snp>() as u64;
const TERM_BYTES: u64 = std::mem::size_of::<Term>() as u64;
const PIECE_BYTES: u64 = std::mem::size_of::<Piece>() as u64;
/// Bytes of one table row (one grid point) of a per-class table with
/// `classes` classes (9 for one donor, 27 for two).
fn table_row_bytes(classes: usize) -> u64 {
    (classes * std::mem::size_of::<ClassLogProb>()) as u64
}

/// Bounds on one chunk: the device's, optionally tightened (tests force many
/// small chunks through `max_data_bytes` / `max_pieces`).
#[derive(Debug, Clone, Copy)]
pub struct ChunkLimits {
    pub max_binding_bytes: u64,
    pub max_workgroups_per_dimension: u32,
    /// Cap on the SNP and term buffers of a chunk (bytes each).
    pub max_data_bytes: Option<u64>,
    /// Cap on pieces (≈ samples) per chunk.
    pub max_pieces: Option<usize>,
}

impl ChunkLimits {
    fn data_bytes(&self) -> u64 {
        self.max_data_bytes
            .map_or(self.max_binding_bytes, |m| m.min(self.max_binding_bytes))
    }

    fn max_rows(&self) -> u64 {
        let wg = u64::from(self.max_workgroups_per_dimension.max(1));
        (wg * wg)
            .min(self.max_binding_bytes / 4)
            .min(u64::from(u32::MAX))
    }
}

/// SNPs `snps` of sample `sample`.
#[derive(Debug, Clone)]
pub struct PieceSpec {
    pub sample: usize,
    pub snps: Range<usize>,
    pub terms: u64,
}

/// Cut every sample into pieces whose SNP and term bytes fit one chunk.
pub fn plan_pieces(
    models: &[SampleModel],
    grids: &[Vec<f64>],
    replicates: u32,
    limits: &ChunkLimits,
) -> Result<Vec<PieceSpec>> {
    let grid_points: Vec<usize> = grids.iter().map(Vec::len).collect();
    plan_pieces_by(&grid_points, replicates, limits, GENOTYPE_CLASSES, |s| {
        models[s].snps.iter().map(|snp| snp.term_count)
    })
}

/// `plan_pieces` for any kernel on the shared layout: sample `s` has
/// `grid_points[s]` table rows of `classes` classes and SNPs with
/// `term_counts(s)` terms each.
pub fn plan_pieces_by<I: Iterator<Item = u32>>(
    grid_points: &[usize],
    replicates: u32,
    limits: &ChunkLimits,
    classes: usize,
    term_counts: impl Fn(usize) -> I,
) -> Result<Vec<PieceSpec>> {
    let data = limits.data_bytes();
    if data < SNP_BYTES.max(TERM_BYTES * GENOTYPE_CLASSES as u64) {
        return Err(Error::Gpu(format!(
            "a chunk of {data} bytes cannot hold a single SNP"
        )));
    }
    let mut out = Vec::new();
    for (s, &points) in grid_points.iter().enumerate() {
        if points == 0 {
            // Not asked for in this call.
            continue;
        }
        let rows = u64::from(replicates) * points as u64;
        if rows > limits.max_rows()
            || points as u64 * table_row_bytes(classes) > limits.max_binding_bytes
        {
            return Err(Error::Gpu(format!(
                "sample {s}: {rows} result rows exceed what one dispatch of this device can hold"
            )));
        }
        let mut start = 0;
        let mut terms = 0u64;
        let mut snp_count = 0;
        for (i, term_count) in term_counts(s).enumerate() {
            snp_count = i + 1;
            let t = u64::from(term_count);
            let count = (i - start) as u64;
            if count > 0 && ((count + 1) * SNP_BYTES > data || (terms + t) * TERM_BYTES > data) {
                out.push(PieceSpec {
                    sample: s,
                    snps: start..i,
                    terms,
                });
                start = i;
                terms = 0;
            }
            terms += t;
        }
        // Also the (possibly empty) tail: a sample with no SNPs still has rows.
        out.push(PieceSpec {
            sample: s,
            snps: start..snp_count,
            terms,
        });
    }
    Ok(out)
}

/// Group consecutive pieces into chunks within every limit.
pub fn plan_chunks(
    pieces: &[PieceSpec],
    grids: &[Vec<f64>],
    replicates: u32,
    limits: &ChunkLimits,
) -> Vec<Range<usize>> {
    let grid_points: Vec<usize> = grids.iter().map(Vec::len).collect();
    plan_chunks_by(pieces, &grid_points, replicates, limits, GENOTYPE_CLASSES)
}

/// `plan_chunks` for any kernel on the shared layout (see `plan_pieces_by`).
pub fn plan_chunks_by(
    pieces: &[PieceSpec],
    grid_points: &[usize],
    replicates: u32,
    limits: &ChunkLimits,
    classes: usize,
) -> Vec<Range<usize>> {
    let data = limits.data_bytes();
    let mut chunks = Vec::new();
    let (mut start, mut snps, mut terms, mut rows, mut tables) = (0usize, 0u64, 0u64, 0u64, 0u64);
    for (p, piece) in pieces.iter().enumerate() {
        let g = grid_points[piece.sample] as u64;
        let (s, t, r, tb) = (
            piece.snps.len() as u64,
            piece.terms,
            u64::from(replicates) * g,
            g,
        );
        let n = (p - start) as u64;
        let full = n > 0
            && ((snps + s) * SNP_BYTES > data
                || (terms + t) * TERM_BYTES > data
                || rows + r > limits.max_rows()
                || (tables + tb) * table_row_bytes(classes) > limits.max_binding_bytes
                || (n + 1) * PIECE_BYTES > limits.max_binding_bytes
                || limits.max_pieces.is_some_and(|m| n as usize >= m.max(1)));
        if full {
            chunks.push(start..p);
            start = p;
            (snps, terms, rows, tables) = (0, 0, 0, 0);
        }
        snps += s;
        terms += t;
        rows += r;
        tables += tb;
    }
    if start < pieces.len() {
        chunks.push(start..pieces.len());
    }
    chunks
}

/// The per-class tables of one sample's grid: ln π / ln(1 − π) as hi + lo
/// pairs, and the beta parameters with the expected ALT fraction, all
/// computed in f64 (`ClassLogProbs`, the model's own tables) and rounded once.
#[derive(Debug, Clone, Default)]
pub struct ClassTables {
    pub logp: Vec<ClassLogProb>,
    pub beta: Vec<ClassBeta>,
}

pub fn class_tables(models: &[SampleModel], grids: &[Vec<f64>]) -> Vec<ClassTables> {
    models
        .iter()
        .zip(grids)
        .map(|(m, g)| {
            let mut out = ClassTables {
                logp: Vec::with_capacity(g.len() * GENOTYPE_CLASSES),
                beta: Vec::with_capacity(g.len() * GENOTYPE_CLASSES),
            };
            for &f in g {
                let t = m.table(f, m.error_rate);
                for c in 0..GENOTYPE_CLASSES {
                    let (a_hi, a_lo) = split_f64(t.ln_alt[c]);
                    let (r_hi, r_lo) = split_f64(t.ln_ref[c]);
                    out.logp.push([a_hi, a_lo, r_hi, r_lo]);
                    let (r, d) = class_genotypes(c as u8);
                    let p = expected_alt_fraction_balanced(r, d, f, t.balance) as f32;
                    out.beta.push(match &t.beta {
                        Some(b) => {
                            let term = b[c];
                            [
                                term.alpha as f32,
                                term.beta as f32,
                                (term.alpha + term.beta) as f32,
                                p,
                            ]
                        }
                        None => [1.0, 1.0, 2.0, p],
                    });
                }
            }
            out
        })
        .collect()
}

/// A SNP's record for binomial reads without a per-site error rate: counts,
/// its terms' place, weight, and ln(k/n), ln((n − k)/n) as hi + lo pairs (each
/// 0 where its count is 0, as it is then multiplied by 0).
pub fn snp_record(alt: u32, depth: u32, first_term: u32, term_count: u32, weight: f32) -> Snp {
    let (k, n) = (f64::from(alt), f64::from(depth));
    let (sat_ln_alt_hi, sat_ln_alt_lo) = if alt > 0 {
        split_f64((k / n).ln())
    } else {
        (0.0, 0.0)
    };
    let (sat_ln_ref_hi, sat_ln_ref_lo) = if alt < depth {
        split_f64(((n - k) / n).ln())
    } else {
        (0.0, 0.0)
    };
    Snp {
        alt,
        depth,
        first_term,
        term_count,
        weight,
        sat_ln_alt_hi,
        sat_ln_alt_lo,
        sat_ln_ref_hi,
        sat_ln_ref_lo,
        outlier_shift: 0.0,
        site_error_ra: 0.0,
        site_error_ar: 0.0,
        has_site_error: 0,
    }
}

/// Pack one chunk into the shared layout. `sample_base` offsets the RNG's
/// sample index when the caller processes a batch in slices.
#[allow(clippy::too_many_arguments)]
pub fn build_chunk(
    models: &[SampleModel],
    grids: &[Vec<f64>],
    tables: &[ClassTables],
    pieces: &[PieceSpec],
    replicates: u32,
    seed: u64,
    sample_base: u32,
    limits: &ChunkLimits,
) -> ChunkData {
    let mut d = ChunkData::default();
    let (mut table_rows, mut out_rows) = (0u32, 0u32);
    for (p, spec) in pieces.iter().enumerate() {
        let m = &models[spec.sample];
        let g = grids[spec.sample].len() as u32;
        d.pieces.push(Piece {
            first_snp: d.snps.len() as u32,
            snp_count: spec.snps.len() as u32,
            first_table_row: table_rows,
            grid_count: g,
            first_out_row: out_rows,
            replicate_count: replicates,
            sample_index: sample_base + spec.sample as u32,
            snp_offset: spec.snps.start as u32,
            read_model: u32::from(m.molecular.is_some()),
            signal_rho: m.molecular.map_or(0.0, |d| d.signal_rho as f32),
            error_rho: m.molecular.map_or(0.0, |d| d.error_rho as f32),
            molecule_share: m.molecular.map_or(1.0, |d| d.molecule_share as f32),
        });
        for snp in &m.snps[spec.snps.clone()] {
            let n = f64::from(snp.depth);
            let outlier_shift = (OUTLIER_SHARE / (n + 1.0)).ln()
                - snp.saturated
                - snp.ln_choose
                - (1.0 - OUTLIER_SHARE).ln();
            let [site_error_ra, site_error_ar] = snp.site_error.unwrap_or([0.0, 0.0]);
            d.snps.push(Snp {
                outlier_shift: outlier_shift as f32,
                site_error_ra: site_error_ra as f32,
                site_error_ar: site_error_ar as f32,
                has_site_error: u32::from(snp.site_error.is_some()),
                ..snp_record(
                    snp.alt,
                    snp.depth,
                    d.terms.len() as u32,
                    snp.term_count,
                    snp.weight as f32,
                )
            });
            d.terms.extend(m.snp_terms(snp).iter().map(|t| Term {
                genotype_class: u32::from(t.class),
                log_weight: t.log_weight as f32,
            }));
        }
        d.class_logp.extend_from_slice(&tables[spec.sample].logp);
        d.class_beta.extend_from_slice(&tables[spec.sample].beta);
        let rows = replicates * g;
        d.row_piece
            .extend(std::iter::repeat_n(p as u32, rows as usize));
        table_rows += g;
        out_rows += rows;
    }
    let width = limits
        .max_workgroups_per_dimension
        .max(1)
        .min(out_rows.max(1));
    d.params = Params {
        row_count: out_rows,
        dispatch_width: width,
        seed_lo: seed as u32,
        seed_hi: (seed >> 32) as u32,
    };
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compute::synthetic::{SyntheticSpec, synthetic_models};
    use crate::model::Relationship;
    use crate::model::estimate::fraction_grid;
    use crate::model::likelihood::EstimationMode;

    fn batch() -> (Vec<SampleModel>, Vec<Vec<f64>>) {
        let models = synthetic_models(&SyntheticSpec {
            samples: 9,
            snps: 700,
            mode: EstimationMode::GenotypeFree,
            relationship: Relationship::FullSibling,
            depth: 50.0,
            seed: 4,
        });
        let grids = models
            .iter()
            .map(|m| fraction_grid(m.max_fraction, 60, 1e-5))
            .collect();
        (models, grids)
    }

    #[test]
    fn chunks_respect_every_limit_and_cover_every_snp_once() {
        let (models, grids) = batch();
        let limits = ChunkLimits {
            max_binding_bytes: 64 * 1024,
            max_workgroups_per_dimension: 100,
            max_data_bytes: Some(6000),
            max_pieces: Some(4),
        };
        let replicates = 3;
        let pieces = plan_pieces(&models, &grids, replicates, &limits).unwrap();
        let chunks = plan_chunks(&pieces, &grids, replicates, &limits);
        assert!(chunks.len() > 9);
        let mut covered = vec![0usize; models.len()];
        let tables = class_tables(&models, &grids);
        for range in chunks {
            let d = build_chunk(
                &models,
                &grids,
                &tables,
                &pieces[range.clone()],
                replicates,
                0,
                0,
                &limits,
            );
            assert!(d.pieces.len() <= 4);
            assert!((d.snps.len() * size_of::<Snp>()) as u64 <= 6000);
            assert!((d.terms.len() * size_of::<Term>()) as u64 <= 6000);
            assert!(
                (d.class_logp.len() * size_of::<ClassLogProb>()) as u64 <= limits.max_binding_bytes
                    && (d.class_beta.len() * size_of::<ClassBeta>()) as u64
                        <= limits.max_binding_bytes
            );
            assert!(u64::from(d.params.row_count) <= limits.max_rows());
            assert!(d.params.dispatch_width <= 100);
            assert_eq!(d.row_piece.len(), d.params.row_count as usize);
            for spec in &pieces[range] {
                assert_eq!(
                    covered[spec.sample], spec.snps.start,
                    "pieces are consecutive"
                );
                covered[spec.sample] = spec.snps.end;
            }
        }
        for (m, c) in models.iter().zip(covered) {
            assert_eq!(c, m.snps.len());
        }
    }

    #[test]
    fn a_sample_without_snps_still_gets_its_rows() {
        let (mut models, mut grids) = batch();
        models.push(SampleModel::new(EstimationMode::RecipientOnly));
        grids.push(fraction_grid(0.999, 60, 1e-5));
        let limits = ChunkLimits {
            max_binding_bytes: 1 << 27,
            max_workgroups_per_dimension: 65_535,
            max_data_bytes: None,
            max_pieces: None,
        };
        let pieces = plan_pieces(&models, &grids, 1, &limits).unwrap();
        let last = pieces.last().unwrap();
        assert_eq!((last.sample, last.snps.len()), (models.len() - 1, 0));
        assert_eq!(plan_chunks(&pieces, &grids, 1, &limits).len(), 1);
    }
}
