//! CPU twin of `shaders/hla_mismatch.wgsl`: per (recipient, donor) pair and per
//! segment, Σ popcount(donor & !self) over the segment's words, optionally OR-ed
//! with a second word range. Also the shared data layout (`HlaParams`,
//! `HlaSegment`) and the chunked-batch interface both backends implement.
//!
//! Shapes: every donor against every recipient (N×M, `hla screen`), or pairs
//! (recipient i, donor i) (the transplants of a scan).

use rayon::prelude::*;

use crate::error::{Error, Result};

/// Uniform block of the kernel (mirrors `Params` in the WGSL).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct HlaParams {
    pub n_recipients: u32,
    pub n_donors: u32,
    pub recipient_words: u32,
    pub donor_words: u32,
    pub n_segments: u32,
    pub paired: u32,
    pub _pad0: u32,
    pub _pad1: u32,
}

/// One counted quantity: word offsets into a donor row and a recipient row
/// (mirrors `Segment` in the WGSL).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct HlaSegment {
    pub donor_a: u32,
    pub recipient_a: u32,
    pub donor_b: u32,
    pub recipient_b: u32,
    pub words: u32,
    pub has_b: u32,
    pub _pad0: u32,
    pub _pad1: u32,
}

impl HlaSegment {
    pub fn single(donor: u32, recipient: u32, words: u32) -> HlaSegment {
        HlaSegment {
            donor_a: donor,
            recipient_a: recipient,
            words,
            ..Default::default()
        }
    }

    pub fn union(a: (u32, u32), b: (u32, u32), words: u32) -> HlaSegment {
        HlaSegment {
            donor_a: a.0,
            recipient_a: a.1,
            donor_b: b.0,
            recipient_b: b.1,
            words,
            has_b: 1,
            ..Default::default()
        }
    }
}

/// Bitset rows of both sides, row-major, plus the segments to count.
#[derive(Debug, Clone, Copy)]
pub struct HlaBatch<'a> {
    pub recipients: &'a [u32],
    pub recipient_words: usize,
    pub donors: &'a [u32],
    pub donor_words: usize,
    pub segments: &'a [HlaSegment],
    /// Pairs (recipient i, donor i) instead of every donor × every recipient.
    pub paired: bool,
}

impl HlaBatch<'_> {
    pub fn n_recipients(&self) -> usize {
        self.recipients
            .len()
            .checked_div(self.recipient_words)
            .unwrap_or(0)
    }

    pub fn n_donors(&self) -> usize {
        self.donors.len().checked_div(self.donor_words).unwrap_or(0)
    }

    /// Every segment must lie inside both rows (the kernel does not check).
    pub fn validate(&self) -> Result<()> {
        let bad = |why: String| Err(Error::Usage(format!("HLA bitset batch: {why}")));
        if self.recipient_words == 0 || self.donor_words == 0 {
            return bad("rows must have at least one word".into());
        }
        if !self.recipients.len().is_multiple_of(self.recipient_words)
            || !self.donors.len().is_multiple_of(self.donor_words)
        {
            return bad("row data is not a whole number of rows".into());
        }
        if self.paired && self.n_recipients() != self.n_donors() {
            return bad("paired batch with unequal recipient and donor counts".into());
        }
        for s in self.segments {
            let d_end =
                s.donor_a.max(if s.has_b == 1 { s.donor_b } else { 0 }) as usize + s.words as usize;
            let r_end = s
                .recipient_a
                .max(if s.has_b == 1 { s.recipient_b } else { 0 }) as usize
                + s.words as usize;
            if d_end > self.donor_words || r_end > self.recipient_words {
                return bad(format!("segment {s:?} runs past a row"));
            }
        }
        Ok(())
    }
}

/// Counts of one chunk: recipients `recipient_start..+n_recipients` against
/// donors `donor_start..+n_donors`, laid out `[(r * n_donors + d) * n_segments + s]`
/// (paired: `[i * n_segments + s]` with `n_donors == n_recipients`).
#[derive(Debug)]
pub struct HlaChunk<'a> {
    pub recipient_start: usize,
    pub n_recipients: usize,
    pub donor_start: usize,
    pub n_donors: usize,
    pub counts: &'a [u32],
}

/// A backend evaluates a batch chunk by chunk and hands each chunk to `sink`
/// (so an N×M screen never needs all counts in memory at once).
pub trait HlaMismatchBackend {
    fn describe(&self) -> String;
    fn run(
        &self,
        batch: &HlaBatch<'_>,
        sink: &mut dyn FnMut(HlaChunk<'_>) -> Result<()>,
    ) -> Result<()>;
}

/// Counts of one pair (the kernel body).
#[inline]
pub fn pair_counts(recipient: &[u32], donor: &[u32], segments: &[HlaSegment], out: &mut [u32]) {
    let popcount =
        |d: &[u32], r: &[u32]| -> u32 { d.iter().zip(r).map(|(x, y)| (x & !y).count_ones()).sum() };
    for (s, o) in segments.iter().zip(out.iter_mut()) {
        let w = s.words as usize;
        let d = &donor[s.donor_a as usize..][..w];
        let r = &recipient[s.recipient_a as usize..][..w];
        *o = if s.has_b == 1 {
            let d2 = &donor[s.donor_b as usize..][..w];
            let r2 = &recipient[s.recipient_b as usize..][..w];
            (0..w)
                .map(|k| ((d[k] & !r[k]) | (d2[k] & !r2[k])).count_ones())
                .sum()
        } else {
            popcount(d, r)
        };
    }
}

/// Multi-threaded CPU backend (rayon; all cores unless the pool says otherwise).
#[derive(Debug, Clone)]
pub struct CpuHlaMismatch {
    /// Recipients per chunk handed to the sink.
    pub recipients_per_chunk: usize,
}

impl Default for CpuHlaMismatch {
    fn default() -> Self {
        CpuHlaMismatch {
            recipients_per_chunk: 64,
        }
    }
}

impl HlaMismatchBackend for CpuHlaMismatch {
    fn describe(&self) -> String {
        format!("CPU (rayon, {} threads)", rayon::current_num_threads())
    }

    fn run(
        &self,
        batch: &HlaBatch<'_>,
        sink: &mut dyn FnMut(HlaChunk<'_>) -> Result<()>,
    ) -> Result<()> {
        batch.validate()?;
        let n_seg = batch.segments.len();
        let (rw, dw) = (batch.recipient_words, batch.donor_words);
        let n_r = batch.n_recipients();
        let n_d = batch.n_donors();
        if batch.paired {
            let step = (self.recipients_per_chunk.max(1)) * 64;
            let mut start = 0;
            while start < n_r {
                let n = step.min(n_r - start);
                let mut counts = vec![0u32; n * n_seg];
                counts
                    .par_chunks_mut(n_seg.max(1))
                    .enumerate()
                    .for_each(|(i, out)| {
                        let p = start + i;
                        pair_counts(
                            &batch.recipients[p * rw..(p + 1) * rw],
                            &batch.donors[p * dw..(p + 1) * dw],
                            batch.segments,
                            out,
                        );
                    });
                sink(HlaChunk {
                    recipient_start: start,
                    n_recipients: n,
                    donor_start: start,
                    n_donors: n,
                    counts: &counts,
                })?;
                start += n;
            }
            return Ok(());
        }
        let step = self.recipients_per_chunk.max(1);
        let mut start = 0;
        while start < n_r {
            let n = step.min(n_r - start);
            let mut counts = vec![0u32; n * n_d * n_seg];
            counts
                .par_chunks_mut((n_d * n_seg).max(1))
                .enumerate()
                .for_each(|(i, block)| {
                    let r = start + i;
                    let recipient = &batch.recipients[r * rw..(r + 1) * rw];
                    for (d, out) in block.chunks_mut(n_seg.max(1)).enumerate() {
                        pair_counts(
                            recipient,
                            &batch.donors[d * dw..(d + 1) * dw],
                            batch.segments,
                            out,
                        );
                    }
                });
            sink(HlaChunk {
                recipient_start: start,
                n_recipients: n,
                donor_start: 0,
                n_donors: n_d,
                counts: &counts,
            })?;
            start += n;
        }
        Ok(())
    }
}

/// Run a backend and gather every count into one array in the full layout
/// (`[(r * n_donors + d) * n_segments + s]`, or `[i * n_segments + s]` paired).
pub fn collect_counts(backend: &dyn HlaMismatchBackend, batch: &HlaBatch<'_>) -> Result<Vec<u32>> {
    let n_seg = batch.segments.len();
    let n_d = batch.n_donors();
    let total = if batch.paired {
        batch.n_recipients() * n_seg
    } else {
        batch.n_recipients() * n_d * n_seg
    };
    let mut all = vec![0u32; total];
    let paired = batch.paired;
    backend.run(batch, &mut |chunk| {
        if paired {
            let at = chunk.recipient_start * n_seg;
            all[at..at + chunk.counts.len()].copy_from_slice(chunk.counts);
            return Ok(());
        }
        for r in 0..chunk.n_recipients {
            let src = &chunk.counts[r * chunk.n_donors * n_seg..(r + 1) * chunk.n_donors * n_seg];
            let at = ((chunk.recipient_start + r) * n_d + chunk.donor_start) * n_seg;
            all[at..at + src.len()].copy_from_slice(src);
        }
        Ok(())
    })?;
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_donor_bits_the_recipient_lacks_per_segment() {
        // Segment 0: word 0; segment 1: word 1 OR-ed with word 2.
        let recipients = [0b1010u32, 0b0001, 0b0000];
        let donors = [0b1111u32, 0b0011, 0b0110, 0b0000, 0b0001, 0b0000];
        let segments = [
            HlaSegment::single(0, 0, 1),
            HlaSegment::union((1, 1), (2, 2), 1),
        ];
        let batch = HlaBatch {
            recipients: &recipients,
            recipient_words: 3,
            donors: &donors,
            donor_words: 3,
            segments: &segments,
            paired: false,
        };
        let counts = collect_counts(&CpuHlaMismatch::default(), &batch).unwrap();
        // Donor 0: word0 0b0101 → 2; word1 0b0010 | word2 0b0110 → 0b0110 → 2.
        // Donor 1: 0; word1 0b0000 → 0.
        assert_eq!(counts, vec![2, 2, 0, 0]);
    }

    #[test]
    fn segments_past_the_row_are_rejected() {
        let batch = HlaBatch {
            recipients: &[0, 0],
            recipient_words: 1,
            donors: &[0],
            donor_words: 1,
            segments: &[HlaSegment::single(0, 1, 1)],
            paired: false,
        };
        assert!(batch.validate().is_err());
    }
}

#[cfg(test)]
mod shader_tests {
    use super::*;

    const WGSL: &str = include_str!("../../../shaders/hla_mismatch.wgsl");

    fn module() -> naga::Module {
        naga::front::wgsl::parse_str(WGSL).expect("hla_mismatch.wgsl parses")
    }

    #[test]
    fn hla_mismatch_wgsl_validates() {
        let m = module();
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::empty(),
        )
        .validate(&m)
        .expect("hla_mismatch.wgsl validates");
    }

    #[test]
    fn wgsl_structs_match_the_rust_layout() {
        let m = module();
        let mut layouter = naga::proc::Layouter::default();
        layouter.update(m.to_ctx()).unwrap();
        for (name, size) in [
            ("Params", std::mem::size_of::<HlaParams>()),
            ("Segment", std::mem::size_of::<HlaSegment>()),
        ] {
            let (handle, _) = m
                .types
                .iter()
                .find(|(_, t)| t.name.as_deref() == Some(name))
                .unwrap_or_else(|| panic!("struct {name} in the WGSL"));
            assert_eq!(layouter[handle].size as usize, size, "{name}");
        }
    }
}
