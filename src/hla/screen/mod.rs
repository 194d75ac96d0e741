//! Donor-pool screening: every donor against every recipient (N×M), as bitset
//! algebra for the `hla_mismatch` kernel (GPU) or its CPU twin; also the
//! transplants of a scan as pairs (recipient i, donor i).
//!
//! Each person becomes a row of u32 words (layout in [`plan`]). The
//! antigen/allele counts are the counts of `mismatch::compare` by
//! construction (one rule, [`crate::hla::mismatch::counted_copies`] and
//! [`crate::hla::mismatch::covers`], evaluated as bits), with the same
//! ambiguity policy, null-allele and homozygosity conventions and the same
//! classic A/B/DR count at antigen level; amino-acid mismatches likewise
//! follow `amino_acids::aa_mismatch`. Eplet loads are HvG: recipient rows hold
//! the self sets (class I pools A/B/C, DR pools DRB1+DRB3/4/5,
//! DQA1/DQB1/DPA1/DPB1 on their own, interlocus class II eplets against all
//! recipient class II); donor rows hold, per locus, the union of their
//! alleles' eplets (all, and antibody-verified only) and one block per DR/DQ
//! molecule. Eplet loads and donor-specific antibodies use the first
//! alternative of an ambiguous typing.

pub mod pairs;
pub mod plan;

use std::collections::{BinaryHeap, HashMap};

use crate::compute::cpu::hla_mismatch::{HlaBatch, HlaMismatchBackend, collect_counts};
use crate::error::{Error, Result};
use crate::hla::amino_acids::AaReference;
use crate::hla::antibodies::{BeadResult, donor_specific_antibodies};
use crate::hla::eplets::{EpletTable, WiebeThresholds};
use crate::hla::mismatch::{Level, MatchSettings, PublicEpitopes};
use crate::hla::nomenclature::Locus;
use crate::hla::release::Release;
use crate::hla::typing::{PersonTyping, Typing};

pub use pairs::{Columns, PairLoads, RankBy, decode_pair, pairs_header};
pub use plan::{PersonCode, ScreenPlan, typed_mask};

use pairs::{Pair, RankKey, field, pair_row, rank_key};

#[derive(Debug, Clone)]
pub struct ScreenSettings {
    /// Direction, homozygous counting, level, equivalence, ambiguity and
    /// Bw4/Bw6 policy of the antigen/allele (and amino-acid) counts; eplet
    /// loads are always HvG.
    pub matching: MatchSettings,
    pub top_k: usize,
    pub rank_by: RankBy,
    pub write_pairs: bool,
}

/// Reference data of a screen.
#[derive(Clone, Copy, Default)]
pub struct ScreenReference<'a> {
    pub release: Option<&'a Release>,
    pub eplets: Option<&'a EpletTable>,
    pub thresholds: Option<&'a WiebeThresholds>,
    pub amino_acids: Option<&'a AaReference>,
}

pub struct ScreenOutput {
    pub pairs_csv: Option<Vec<u8>>,
    pub top_csv: Vec<u8>,
    pub pairs: u64,
    pub levels: Vec<(Locus, Level)>,
    pub level_note: Option<String>,
    /// Segments counted per pair, and the row widths.
    pub segments: usize,
    pub donor_words: usize,
    pub recipient_words: usize,
    /// Wall time in the backend (kernel, transfers) and in host-side decoding,
    /// ranking and row rendering.
    pub backend_seconds: f64,
    pub decode_seconds: f64,
}

fn columns(reference: &ScreenReference<'_>, settings: &MatchSettings) -> Columns {
    Columns {
        eplets: reference.eplets.is_some(),
        public_epitopes: settings.public_epitopes == PublicEpitopes::Compare,
        amino_acids: reference.amino_acids.is_some(),
    }
}

fn encode_all(
    plan: &ScreenPlan<'_>,
    people: &[&Typing],
    donor: bool,
) -> (Vec<u32>, Vec<PersonCode>) {
    let mut rows = Vec::new();
    let mut codes = Vec::with_capacity(people.len());
    for t in people {
        let (row, code) = plan.encode(t, donor);
        rows.extend(row);
        codes.push(code);
    }
    (rows, codes)
}

/// A planned and encoded batch: the layout, both sides' rows and codes.
struct Encoded<'a> {
    plan: ScreenPlan<'a>,
    r_rows: Vec<u32>,
    r_codes: Vec<PersonCode>,
    d_rows: Vec<u32>,
    d_codes: Vec<PersonCode>,
}

impl<'a> Encoded<'a> {
    fn new(
        r_typings: &[&Typing],
        d_typings: &[&Typing],
        reference: &ScreenReference<'a>,
        settings: MatchSettings,
    ) -> Encoded<'a> {
        let plan = ScreenPlan::build(
            r_typings,
            d_typings,
            reference.release,
            reference.eplets,
            reference.amino_acids,
            settings,
        );
        let (r_rows, r_codes) = encode_all(&plan, r_typings, false);
        let (d_rows, d_codes) = encode_all(&plan, d_typings, true);
        Encoded {
            plan,
            r_rows,
            r_codes,
            d_rows,
            d_codes,
        }
    }

    fn batch(&self, paired: bool) -> HlaBatch<'_> {
        HlaBatch {
            recipients: &self.r_rows,
            recipient_words: self.plan.recipient_words,
            donors: &self.d_rows,
            donor_words: self.plan.donor_words,
            segments: &self.plan.segments,
            paired,
        }
    }
}

/// Screen every donor against every recipient on `backend`.
pub fn screen(
    recipients: &[PersonTyping],
    donors: &[PersonTyping],
    reference: ScreenReference<'_>,
    settings: &ScreenSettings,
    antibodies: Option<&[BeadResult]>,
    backend: &dyn HlaMismatchBackend,
) -> Result<ScreenOutput> {
    let r_typings: Vec<&Typing> = recipients.iter().map(|p| &p.typing).collect();
    let d_typings: Vec<&Typing> = donors.iter().map(|p| &p.typing).collect();
    let encoded = Encoded::new(&r_typings, &d_typings, &reference, settings.matching);
    let (plan, r_codes, d_codes) = (&encoded.plan, &encoded.r_codes, &encoded.d_codes);
    let cols = columns(&reference, &settings.matching);
    let batch = encoded.batch(false);
    let n_seg = plan.segments.len();
    let k = settings.top_k;
    let mut heaps: Vec<BinaryHeap<(RankKey, usize)>> =
        (0..recipients.len()).map(|_| BinaryHeap::new()).collect();
    let mut pair_text: Vec<String> = if settings.write_pairs {
        vec![String::new(); recipients.len()]
    } else {
        Vec::new()
    };
    let mut best: HashMap<(usize, usize), PairLoads> = HashMap::new();
    let mut n_pairs = 0u64;
    let mut decode = std::time::Duration::ZERO;
    let started = std::time::Instant::now();
    backend.run(&batch, &mut |chunk| {
        let t = std::time::Instant::now();
        for rl in 0..chunk.n_recipients {
            let r = chunk.recipient_start + rl;
            for dl in 0..chunk.n_donors {
                let d = chunk.donor_start + dl;
                let at = (rl * chunk.n_donors + dl) * n_seg;
                let pair = Pair {
                    recipient: r_typings[r],
                    donor: d_typings[d],
                    r: r_codes[r],
                    d: d_codes[d],
                };
                let p = decode_pair(
                    &chunk.counts[at..at + n_seg],
                    pair,
                    plan,
                    reference.thresholds,
                );
                n_pairs += 1;
                if settings.write_pairs {
                    pair_row(
                        &mut pair_text[r],
                        &recipients[r].person_id,
                        &donors[d].person_id,
                        &p,
                        cols,
                    );
                }
                if k > 0 {
                    let key = rank_key(&p, settings.rank_by, d);
                    let heap = &mut heaps[r];
                    if heap.len() < k {
                        heap.push((key, d));
                        best.insert((r, d), p);
                    } else if heap.peek().is_some_and(|top| key < top.0) {
                        if let Some((_, evicted)) = heap.pop() {
                            best.remove(&(r, evicted));
                        }
                        heap.push((key, d));
                        best.insert((r, d), p);
                    }
                }
            }
        }
        decode += t.elapsed();
        Ok(())
    })?;
    let total = started.elapsed();
    let pairs_csv = settings.write_pairs.then(|| {
        let header = pairs_header(cols);
        let total: usize = header.len() + pair_text.iter().map(String::len).sum::<usize>();
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(header.as_bytes());
        for t in &pair_text {
            out.extend_from_slice(t.as_bytes());
        }
        out
    });
    let mut top = String::from("rank,");
    top.push_str(&pairs_header(cols));
    if antibodies.is_some() {
        top.pop();
        top.push_str(",dsa_count,dsa\n");
    }
    for (r, heap) in heaps.into_iter().enumerate() {
        let ranked = heap.into_sorted_vec();
        let beads: Vec<&BeadResult> = antibodies
            .unwrap_or(&[])
            .iter()
            .filter(|b| b.owner == recipients[r].person_id)
            .collect();
        for (rank, (_, d)) in ranked.into_iter().enumerate() {
            let p = best
                .get(&(r, d))
                .ok_or_else(|| Error::Usage("internal: top-k entry without loads".into()))?;
            top.push_str(&format!("{},", rank + 1));
            pair_row(
                &mut top,
                &recipients[r].person_id,
                &donors[d].person_id,
                p,
                cols,
            );
            if antibodies.is_some() {
                // DSAs are checked on the ranked donors only (host side).
                let dsas = donor_specific_antibodies(&beads, &donors[d].typing, reference.release);
                let list: Vec<String> = dsas
                    .iter()
                    .map(|x| {
                        format!(
                            "{} ({}, MFI {}, serum {})",
                            x.specificity, x.locus, x.mfi, x.serum_date
                        )
                    })
                    .collect();
                top.pop();
                top.push_str(&format!(",{},{}\n", dsas.len(), field(&list.join("; "))));
            }
        }
    }
    Ok(ScreenOutput {
        pairs_csv,
        top_csv: top.into_bytes(),
        pairs: n_pairs,
        levels: plan.levels.clone(),
        level_note: plan.level_note.clone(),
        segments: n_seg,
        donor_words: plan.donor_words,
        recipient_words: plan.recipient_words,
        backend_seconds: total.saturating_sub(decode).as_secs_f64(),
        decode_seconds: decode.as_secs_f64(),
    })
}

/// The transplants of a scan: pair i is (recipient i, donor i), one paired
/// batch on `backend`.
pub fn pair_loads(
    pairs: &[(&Typing, &Typing)],
    reference: ScreenReference<'_>,
    settings: &MatchSettings,
    backend: &dyn HlaMismatchBackend,
) -> Result<Vec<PairLoads>> {
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let r_typings: Vec<&Typing> = pairs.iter().map(|(r, _)| *r).collect();
    let d_typings: Vec<&Typing> = pairs.iter().map(|(_, d)| *d).collect();
    let encoded = Encoded::new(&r_typings, &d_typings, &reference, *settings);
    let (plan, r_codes, d_codes) = (&encoded.plan, &encoded.r_codes, &encoded.d_codes);
    let batch = encoded.batch(true);
    let counts = collect_counts(backend, &batch)?;
    let n_seg = plan.segments.len();
    Ok((0..pairs.len())
        .map(|i| {
            let pair = Pair {
                recipient: r_typings[i],
                donor: d_typings[i],
                r: r_codes[i],
                d: d_codes[i],
            };
            decode_pair(
                &counts[i * n_seg..(i + 1) * n_seg],
                pair,
                plan,
                reference.thresholds,
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compute::cpu::hla_mismatch::CpuHlaMismatch;
    use crate::hla::eplets::{EpletGroup::*, eplet_loads};
    use crate::hla::mismatch::{Ambiguity, Direction, compare};

    fn person(id: &str, gl: &str) -> PersonTyping {
        PersonTyping {
            person_id: id.into(),
            typing: Typing::parse_gl(gl).unwrap(),
            line: 0,
        }
    }

    fn table() -> EpletTable {
        EpletTable::from_rows(
            "synthetic 2.2",
            [
                ("A*90:01", "1A", ClassI, true),
                ("A*90:02", "2A", ClassI, false),
                ("B*90:01", "1A", ClassI, true),
                ("B*90:02", "3B", ClassI, true),
                ("DRB1*90:01", "10DR", Dr, true),
                ("DRB1*90:02", "11DR", Dr, false),
                ("DRB1*90:02", "12DR", Dr, true),
                ("DRB1*90:03", "11DR", Dr, false),
                ("DRB1*90:03", "13DR", Dr, false),
                ("DRB4*90:01", "12DR", Dr, true),
                ("DQA1*90:01", "20QA", Dq, false),
                ("DQA1*90:02", "21QA", Dq, true),
                ("DQB1*90:01", "30QB", Dq, false),
                ("DQB1*90:02", "31QB", Dq, true),
                ("DQB1*90:02", "40II", InterlocusII, true),
                ("DPB1*90:01", "40II", InterlocusII, true),
            ],
        )
        .unwrap()
    }

    fn settings() -> ScreenSettings {
        ScreenSettings {
            matching: MatchSettings::default(),
            top_k: 2,
            rank_by: RankBy::Mismatches,
            write_pairs: true,
        }
    }

    #[test]
    fn screen_counts_agree_with_pairwise_compare_and_eplet_loads() {
        let recipients = [
            person(
                "R1",
                "A*90:01+A*90:02^B*90:01^DRB1*90:01^DRB4*90:01^DQA1*90:01^DQB1*90:01^DPB1*90:01",
            ),
            person("R2", "A*90:02^B*90:02^DRB1*90:02+DRB1*90:03^DQB1*90:02"),
            person("R3", "A*90:03N+A*90:01^B*90:01/B*90:02+B*90:03^DRB1*90:01"),
        ];
        let donors = [
            person(
                "D1",
                "A*90:01^B*90:02^DRB1*90:02+DRB1*90:03^DQA1*90:02^DQB1*90:02",
            ),
            person(
                "D2",
                "A*90:02+A*90:01^B*90:01^DRB1*90:01~DRB4*90:01^DQA1*90:01+DQA1*90:02^DQB1*90:01",
            ),
            person("D3", "A*90:01^B*90:01^DRB1*90:01^DQB1*90:01+DQB1*90:02"),
            person(
                "D4",
                "A*90:02+A*90:04N^B*90:03|B*90:01+B*90:02^DRB1*90:02/DRB1*90:03",
            ),
        ];
        let t = table();
        let th = WiebeThresholds::hlamatchmaker_2_2();
        let r_typings: Vec<&Typing> = recipients.iter().map(|p| &p.typing).collect();
        let d_typings: Vec<&Typing> = donors.iter().map(|p| &p.typing).collect();
        for direction in [
            Direction::HostVsGraft,
            Direction::GraftVsHost,
            Direction::Bidirectional,
        ] {
            for homozygous_count in [1, 2] {
                for ambiguity in [Ambiguity::First, Ambiguity::Worst, Ambiguity::Best] {
                    let matching = MatchSettings {
                        direction,
                        homozygous_count,
                        ambiguity,
                        ..MatchSettings::default()
                    };
                    let plan =
                        ScreenPlan::build(&r_typings, &d_typings, None, Some(&t), None, matching);
                    for r in &recipients {
                        for d in &donors {
                            let (rr, rc) = plan.encode(&r.typing, false);
                            let (dr, dc) = plan.encode(&d.typing, true);
                            let mut counts = vec![0; plan.segments.len()];
                            crate::compute::cpu::hla_mismatch::pair_counts(
                                &rr,
                                &dr,
                                &plan.segments,
                                &mut counts,
                            );
                            let pair = Pair {
                                recipient: &r.typing,
                                donor: &d.typing,
                                r: rc,
                                d: dc,
                            };
                            let p = decode_pair(&counts, pair, &plan, Some(&th));
                            let m = compare(&r.typing, &d.typing, None, &matching);
                            let e = eplet_loads(&r.typing, &d.typing, &t);
                            let ctx = format!(
                                "{} vs {} {direction:?} x{homozygous_count} {ambiguity:?}",
                                r.person_id, d.person_id
                            );
                            for l in Locus::ALL {
                                assert_eq!(
                                    p.mismatches[l.index()],
                                    m.locus(l).map(|x| x.counts.count),
                                    "{ctx} {l}"
                                );
                                assert_eq!(
                                    p.eplet_loads[l.index()],
                                    e.locus(l).map(|x| x.all),
                                    "{ctx} {l}"
                                );
                                assert_eq!(
                                    p.eplet_loads_verified[l.index()],
                                    e.locus(l).map(|x| x.verified),
                                    "{ctx} {l}"
                                );
                            }
                            assert_eq!(p.abdr, m.abdr, "{ctx}");
                            assert_eq!(p.dr_load, e.dr_load.map(|x| x.all), "{ctx}");
                            assert_eq!(p.dq_load, e.dq_load.map(|x| x.all), "{ctx}");
                            assert_eq!(p.dq_load_verified, e.dq_load.map(|x| x.verified), "{ctx}");
                            assert_eq!(p.dr_single_max, e.dr_single_max, "{ctx}");
                            assert_eq!(p.dq_single_max, e.dq_single_max, "{ctx}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn persons_beyond_the_slots_are_counted_on_the_host_alike() {
        // Nine alternatives for the donor's first B copy: more than the slots.
        let many: Vec<String> = (1..=9).map(|i| format!("B*90:{i:02}")).collect();
        let recipients = [person("R1", "B*90:01+B*90:02"), person("R2", "B*90:03")];
        let donors = [
            person("D1", &format!("{}+B*90:05", many.join("/"))),
            person("D2", "B*90:01+B*90:02"),
        ];
        for ambiguity in [Ambiguity::First, Ambiguity::Worst, Ambiguity::Best] {
            let matching = MatchSettings {
                ambiguity,
                homozygous_count: 2,
                ..MatchSettings::default()
            };
            let s = ScreenSettings {
                matching,
                ..settings()
            };
            let out = screen(
                &recipients,
                &donors,
                ScreenReference::default(),
                &s,
                None,
                &CpuHlaMismatch::default(),
            )
            .unwrap();
            let pairs = String::from_utf8(out.pairs_csv.unwrap()).unwrap();
            for (r, d, line) in [(0, 0, 1), (0, 1, 2), (1, 0, 3), (1, 1, 4)] {
                let m = compare(&recipients[r].typing, &donors[d].typing, None, &matching);
                let b = m.locus(Locus::B).unwrap().counts.count;
                let row: Vec<&str> = pairs.lines().nth(line).unwrap().split(',').collect();
                assert_eq!(row[3], b.to_string(), "{ambiguity:?} R{r} D{d}");
            }
        }
    }

    #[test]
    fn top_k_lists_the_best_donors_per_recipient_in_order() {
        let recipients = [person("R1", "A*01:01+A*02:01^B*07:02+B*08:01")];
        let donors = [
            person("D1", "A*03:01+A*11:01^B*35:01+B*44:02"),
            person("D2", "A*01:01+A*02:01^B*07:02+B*08:01"),
            person("D3", "A*01:01+A*03:01^B*07:02+B*08:01"),
        ];
        let out = screen(
            &recipients,
            &donors,
            ScreenReference::default(),
            &settings(),
            None,
            &CpuHlaMismatch::default(),
        )
        .unwrap();
        let top = String::from_utf8(out.top_csv).unwrap();
        let rows: Vec<&str> = top.lines().skip(1).collect();
        assert_eq!(rows.len(), 2);
        assert!(rows[0].starts_with("1,R1,D2,0,0,"), "{top}");
        assert!(rows[1].starts_with("2,R1,D3,1,0,"), "{top}");
        assert_eq!(out.pairs, 3);
        let pairs = String::from_utf8(out.pairs_csv.unwrap()).unwrap();
        assert_eq!(pairs.lines().count(), 4);
    }
}
