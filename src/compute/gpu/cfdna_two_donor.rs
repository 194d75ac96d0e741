//! Host side of `shaders/cfdna_two_donor.wgsl`: two-donor draws packed into
//! the dd-cfDNA kernels' layout (27 classes per table row instead of 9), the
//! kernel run chunk by chunk, the pieces' partial sums added in f64. CPU
//! twin: `compute/cpu/cfdna_two_donor.rs`.

use std::time::Instant;

use rayon::prelude::*;

use super::cfdna_loglik::GpuBackend;
use super::chunking::{PieceSpec, plan_chunks_by, plan_pieces_by, snp_record};
use super::context::{ChunkData, Kernel, PhaseTimings};
use super::layout::{ClassLogProb, Params, Piece, Term, split_f64};
use crate::error::{Error, Result};
use crate::model::two_donor::{TWO_DONOR_CLASSES, TwoDonorModel, TwoDonorTable};

/// ℓ(f1, f2) of each draw over its grid at the draw's error rate; draws with
/// an empty grid are not evaluated (and not counted).
pub fn two_donor_loglik_grids(
    backend: &GpuBackend,
    models: &[TwoDonorModel],
    grids: &[Vec<(f64, f64)>],
) -> Result<Vec<Vec<f64>>> {
    if models.len() != grids.len() {
        return Err(Error::Gpu("one grid per two-donor draw is required".into()));
    }
    let mut out: Vec<Vec<f64>> = grids.iter().map(|g| vec![0.0; g.len()]).collect();
    let limits = backend.limits();
    let mut timings = PhaseTimings::default();
    let t = Instant::now();
    let points: Vec<usize> = grids.iter().map(Vec::len).collect();
    let pieces = plan_pieces_by(&points, 1, &limits, TWO_DONOR_CLASSES, |s| {
        models[s].sites().iter().map(|site| site.terms.len() as u32)
    })?;
    let chunks = plan_chunks_by(&pieces, &points, 1, &limits, TWO_DONOR_CLASSES);
    timings.pack += t.elapsed();
    backend.run_chunks(
        Kernel::TwoDonor,
        &pieces,
        chunks,
        &mut out,
        timings,
        |chunk| build_chunk(models, grids, chunk, limits.max_workgroups_per_dimension),
    )?;
    backend.two_donor_draws_evaluated.fetch_add(
        grids.iter().filter(|g| !g.is_empty()).count(),
        std::sync::atomic::Ordering::Relaxed,
    );
    Ok(out)
}

/// (ln π, ln(1 − π)) of every class at every grid point of one draw, computed
/// in f64 (`TwoDonorTable`, the CPU twin's table) and stored as hi + lo f32
/// pairs: 27 entries per grid point.
pub fn class_table(model: &TwoDonorModel, grid: &[(f64, f64)]) -> Vec<ClassLogProb> {
    let mut out = Vec::with_capacity(grid.len() * TWO_DONOR_CLASSES);
    for &(f1, f2) in grid {
        let t = TwoDonorTable::new(f1, f2, model.error_rate);
        for c in 0..TWO_DONOR_CLASSES {
            let (a_hi, a_lo) = split_f64(t.ln_alt[c]);
            let (r_hi, r_lo) = split_f64(t.ln_ref[c]);
            out.push([a_hi, a_lo, r_hi, r_lo]);
        }
    }
    out
}

/// Pack one chunk of two-donor pieces. A draw's class table is computed for
/// each of its pieces here rather than for the whole batch up front, so host
/// memory stays one chunk's worth.
fn build_chunk(
    models: &[TwoDonorModel],
    grids: &[Vec<(f64, f64)>],
    pieces: &[PieceSpec],
    max_workgroups_per_dimension: u32,
) -> ChunkData {
    let tables: Vec<Vec<ClassLogProb>> = pieces
        .par_iter()
        .map(|spec| class_table(&models[spec.sample], &grids[spec.sample]))
        .collect();
    let mut d = ChunkData::default();
    let (mut table_rows, mut out_rows) = (0u32, 0u32);
    for (p, (spec, table)) in pieces.iter().zip(tables).enumerate() {
        let g = grids[spec.sample].len() as u32;
        d.pieces.push(Piece {
            first_snp: d.snps.len() as u32,
            snp_count: spec.snps.len() as u32,
            first_table_row: table_rows,
            grid_count: g,
            first_out_row: out_rows,
            replicate_count: 1,
            sample_index: spec.sample as u32,
            snp_offset: spec.snps.start as u32,
            read_model: 0,
            signal_rho: 0.0,
            error_rho: 0.0,
            molecule_share: 1.0,
        });
        for site in &models[spec.sample].sites()[spec.snps.clone()] {
            d.snps.push(snp_record(
                site.alt,
                site.depth,
                d.terms.len() as u32,
                site.terms.len() as u32,
                1.0,
            ));
            d.terms.extend(site.terms.iter().map(|t| Term {
                genotype_class: u32::from(t.class),
                log_weight: t.log_weight as f32,
            }));
        }
        d.class_logp.extend(table);
        d.row_piece
            .extend(std::iter::repeat_n(p as u32, g as usize));
        table_rows += g;
        out_rows += g;
    }
    d.params = Params {
        row_count: out_rows,
        dispatch_width: max_workgroups_per_dimension.max(1).min(out_rows.max(1)),
        seed_lo: 0,
        seed_hi: 0,
    };
    d
}
