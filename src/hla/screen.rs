//! Donor-pool screening: every donor against every recipient (N×M), as bitset
//! algebra for the `hla_mismatch` kernel (GPU) or its CPU twin.
//!
//! Each person becomes a row of u32 words. Antigen/allele keys get one bit in a
//! per-locus vocabulary (the same layout for both sides); eplets get blocks:
//! recipient rows hold the self sets (doc §4: class I pools A/B/C, DR pools
//! DRB1+DRB3/4/5, DQA1/DQB1/DPA1/DPB1 on their own, interlocus class II
//! eplets against all recipient class II); donor rows hold, per locus, the
//! union of their alleles' eplets (all, and antibody-verified only) and one
//! block per DR/DQ molecule. A segment counts popcount(donor & !self).
//!
//! Antigen/allele counts follow `mismatch::compare` (HvG, GvH or
//! bidirectional; homozygous counted once or twice: with count 2 each key has a
//! bit per copy; GvH uses a second, complemented region so the kernel's
//! donor & !self gives recipient items & !donor self). Eplet loads are HvG.
//! Differences, by design of a bitset: an ambiguous serologic assignment
//! contributes each of its antigens, an `XX` code is its own key, and the
//! A/B/DR count uses the screen's per-locus level (the pool-wide level
//! recorded in screen.json) rather than forcing antigen level.

use std::collections::{BinaryHeap, HashMap};

use crate::compute::cpu::hla_mismatch::{HlaBatch, HlaMismatchBackend, HlaSegment, collect_counts};
use crate::error::{Error, Result};
use crate::hla::antibodies::{BeadResult, donor_specific_antibodies};
use crate::hla::eplets::{EpletGroup, EpletTable, WiebeCategory, WiebeThresholds};
use crate::hla::mismatch::{
    AntigenEquivalence, Direction, Key, Level, LevelRequest, allele_key, antigen_keys, group_keys,
    group_level,
};
use crate::hla::nomenclature::{Locus, TypedItem};
use crate::hla::release::{GroupKind, Release};
use crate::hla::typing::{PersonTyping, Typing};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RankBy {
    /// Total antigen/allele mismatches, then A/B/DR, DQ and DR eplet loads.
    Mismatches,
    /// DQ eplet load, then DR eplet load, then total mismatches.
    Eplets,
}

#[derive(Debug, Clone)]
pub struct ScreenSettings {
    /// HvG, GvH or bidirectional for the antigen/allele counts (eplet loads
    /// are always HvG).
    pub direction: Direction,
    /// 1: distinct items; 2: a homozygous mismatch counts twice.
    pub homozygous_count: u8,
    pub equivalence: AntigenEquivalence,
    pub level: LevelRequest,
    pub top_k: usize,
    pub rank_by: RankBy,
    pub write_pairs: bool,
}

/// Self-set blocks of a recipient row, after the antigen region.
const SELF_SCOPES: usize = 6; // ABC, DR, DQA1, DQB1, DPA1, DPB1

fn scope_index(locus: Locus) -> usize {
    match locus {
        Locus::A | Locus::B | Locus::C => 0,
        Locus::Drb1 | Locus::Drb345 => 1,
        Locus::Dqa1 => 2,
        Locus::Dqb1 => 3,
        Locus::Dpa1 => 4,
        Locus::Dpb1 => 5,
    }
}

/// Segment indices in the kernel output.
pub mod seg {
    pub const ANTIGEN: usize = 0; // + locus index, 9
    pub const EPLET_ALL: usize = 9; // + locus index, 9
    pub const EPLET_VERIFIED: usize = 18; // + locus index, 9
    pub const DR_UNION: usize = 27;
    pub const DR_UNION_VERIFIED: usize = 28;
    pub const DQ_UNION: usize = 29;
    pub const DQ_UNION_VERIFIED: usize = 30;
    pub const DR_MOLECULES: usize = 31; // DRB1 ×2, DRB345 ×2
    pub const DQ_MOLECULES: usize = 35; // DQA1_i × DQB1_j
    pub const DQ_CHAINS: usize = 39; // DQA1 ×2, DQB1 ×2 on their own
    pub const WITH_EPLETS: usize = 43;
    pub const WITHOUT_EPLETS: usize = 9;
}

/// The vocabulary and row layout of one screen.
#[derive(Debug, Clone)]
pub struct ScreenPlan {
    pub levels: Vec<(Locus, Level)>,
    /// Index of the first GvH segment (one per locus), if any.
    pub gvh_at: Option<usize>,
    region_words: u32,
    copies_per_key: u32,
    vocab: Vec<HashMap<Key, u32>>,
    /// Word offset and width of each locus in the antigen region.
    antigen_words: Vec<(u32, u32)>,
    antigen_total: u32,
    eplet_words: u32,
    pub recipient_words: usize,
    pub donor_words: usize,
    pub segments: Vec<HlaSegment>,
    broad: bool,
    interlocus_mask: Vec<u32>,
    verified_mask: Vec<u32>,
}

fn set_bit(row: &mut [u32], bit: u32) {
    row[(bit / 32) as usize] |= 1 << (bit % 32);
}

impl ScreenPlan {
    pub fn build(
        people: &[&Typing],
        release: Option<&Release>,
        eplets: Option<&EpletTable>,
        settings: &ScreenSettings,
    ) -> ScreenPlan {
        let broad = settings.equivalence == AntigenEquivalence::Broad;
        // With homozygous_count 2, every key has a bit per copy.
        let copies_per_key: u32 = if settings.homozygous_count >= 2 { 2 } else { 1 };
        let mut levels = Vec::new();
        let mut vocab = Vec::new();
        let mut antigen_words = Vec::new();
        let mut offset = 0u32;
        for locus in Locus::ALL {
            let items: Vec<&TypedItem> = people
                .iter()
                .flat_map(|p| p.items(locus))
                .filter(|i| !i.is_null())
                .collect();
            let all_alleles = items.iter().all(|i| matches!(i, TypedItem::Allele(_)));
            let all_serology = items
                .iter()
                .all(|i| antigen_keys(i, release, false).is_some());
            let mut ignored = Vec::new();
            let group = group_level(settings.level, all_alleles, release, &mut ignored);
            let level = match settings.level {
                _ if group.is_some() => group.unwrap_or(Level::Allele),
                LevelRequest::Allele if all_alleles => Level::Allele,
                LevelRequest::Auto | LevelRequest::Antigen if !all_serology && all_alleles => {
                    Level::Allele
                }
                _ if broad => Level::BroadAntigen,
                _ => Level::Antigen,
            };
            let mut map: HashMap<Key, u32> = HashMap::new();
            for item in &items {
                for k in keys_of(item, level, release, broad) {
                    let n = map.len() as u32;
                    map.entry(k).or_insert(n);
                }
            }
            let words = (map.len() as u32 * copies_per_key).div_ceil(32);
            antigen_words.push((offset, words));
            offset += words;
            levels.push((locus, level));
            vocab.push(map);
        }
        let region_words = offset;
        // GvH needs a second region: donor !self, recipient !items, so that
        // donor & !recipient = recipient items & !donor self.
        let gvh = settings.direction != Direction::HostVsGraft;
        let antigen_total = if gvh { 2 * region_words } else { region_words }.max(1);
        let (eplet_words, interlocus_mask, verified_mask) = match eplets {
            Some(t) => {
                let e = (t.eplets.len() as u32).div_ceil(32).max(1);
                let mut inter = vec![0u32; e as usize];
                let mut ver = vec![0u32; e as usize];
                for (i, ep) in t.eplets.iter().enumerate() {
                    if ep.group == EpletGroup::InterlocusII {
                        set_bit(&mut inter, i as u32);
                    }
                    if ep.antibody_verified {
                        set_bit(&mut ver, i as u32);
                    }
                }
                (e, inter, ver)
            }
            None => (0, Vec::new(), Vec::new()),
        };
        let e = eplet_words;
        let recipient_words = (antigen_total + SELF_SCOPES as u32 * e) as usize;
        // Donor: per locus all + verified (18 blocks), 4 DR and 4 DQ molecule blocks.
        let donor_words = (antigen_total + 26 * e) as usize;
        let mut segments: Vec<HlaSegment> = antigen_words
            .iter()
            .map(|&(o, w)| HlaSegment::single(o, o, w))
            .collect();
        if e > 0 {
            let self_block = |l: Locus| antigen_total + scope_index(l) as u32 * e;
            // Donor blocks: all eplets per locus, then antibody-verified per locus.
            let block = |verified: bool, l: Locus| {
                antigen_total + (if verified { 9 } else { 0 } + l.index() as u32) * e
            };
            let molecule = |i: u32| antigen_total + (18 + i) * e;
            for verified in [false, true] {
                for l in Locus::ALL {
                    segments.push(HlaSegment::single(block(verified, l), self_block(l), e));
                }
            }
            for (x, y) in [(Locus::Drb1, Locus::Drb345), (Locus::Dqa1, Locus::Dqb1)] {
                for verified in [false, true] {
                    segments.push(HlaSegment::union(
                        (block(verified, x), self_block(x)),
                        (block(verified, y), self_block(y)),
                        e,
                    ));
                }
            }
            let dr_self = self_block(Locus::Drb1);
            for i in 0..4 {
                segments.push(HlaSegment::single(molecule(i), dr_self, e));
            }
            for a in 0..2 {
                for b in 0..2 {
                    segments.push(HlaSegment::union(
                        (molecule(4 + a), self_block(Locus::Dqa1)),
                        (molecule(6 + b), self_block(Locus::Dqb1)),
                        e,
                    ));
                }
            }
            for (i, l) in [
                (4, Locus::Dqa1),
                (5, Locus::Dqa1),
                (6, Locus::Dqb1),
                (7, Locus::Dqb1),
            ] {
                segments.push(HlaSegment::single(molecule(i), self_block(l), e));
            }
        }
        let gvh_at = gvh.then_some(segments.len());
        if gvh {
            for &(o, w) in &antigen_words {
                segments.push(HlaSegment::single(region_words + o, region_words + o, w));
            }
        }
        ScreenPlan {
            gvh_at,
            region_words,
            copies_per_key,
            levels,
            vocab,
            antigen_words,
            antigen_total,
            eplet_words,
            recipient_words,
            donor_words,
            segments,
            broad,
            interlocus_mask,
            verified_mask,
        }
    }

    /// Bits of one locus: as mismatch items (a copy per occurrence) or as a
    /// self set (every copy bit of every key present).
    fn locus_bits(
        &self,
        t: &Typing,
        li: usize,
        release: Option<&Release>,
        as_self: bool,
    ) -> Vec<u32> {
        let locus = Locus::ALL[li];
        let level = self.levels[li].1;
        let mut copies: Vec<&TypedItem> = t.items(locus).iter().collect();
        if locus != Locus::Drb345 && copies.len() == 1 {
            copies.push(copies[0]);
        }
        let mut seen: HashMap<u32, u32> = HashMap::new();
        let mut bits = Vec::new();
        for item in copies.into_iter().filter(|i| !i.is_null()) {
            for k in keys_of(item, level, release, self.broad) {
                let Some(&base) = self.vocab[li].get(&k) else {
                    continue;
                };
                let n = seen.entry(base).or_insert(0);
                if as_self {
                    for c in 0..self.copies_per_key {
                        bits.push(base * self.copies_per_key + c);
                    }
                } else if *n < self.copies_per_key {
                    bits.push(base * self.copies_per_key + *n);
                }
                *n += 1;
            }
        }
        bits
    }

    /// Region 1: items (donor) or self (recipient); region 2 (GvH only): the
    /// complement of the other encoding.
    fn antigen_region(&self, t: &Typing, release: Option<&Release>, row: &mut [u32], donor: bool) {
        let gvh = self.gvh_at.is_some();
        let r2 = self.region_words as usize;
        let mut second = vec![0u32; r2];
        for li in 0..Locus::ALL.len() {
            let off = self.antigen_words[li].0 as usize;
            for bit in self.locus_bits(t, li, release, !donor) {
                set_bit(&mut row[off..], bit);
            }
            if gvh {
                for bit in self.locus_bits(t, li, release, donor) {
                    set_bit(&mut second[off..], bit);
                }
            }
        }
        if gvh {
            for (w, x) in second.into_iter().enumerate() {
                row[r2 + w] = !x;
            }
        }
    }

    fn allele_eplets(t: &Typing, locus: Locus, table: &EpletTable) -> Vec<Vec<u32>> {
        t.items(locus)
            .iter()
            .filter_map(|i| match i {
                TypedItem::Allele(a) if !a.is_null() => {
                    Some(table.eplets_of(a).unwrap_or(&[]).to_vec())
                }
                _ => None,
            })
            .collect()
    }

    pub fn recipient_row(
        &self,
        t: &Typing,
        release: Option<&Release>,
        eplets: Option<&EpletTable>,
    ) -> Vec<u32> {
        let mut row = vec![0u32; self.recipient_words];
        self.antigen_region(t, release, &mut row, false);
        if let (Some(table), e) = (eplets, self.eplet_words as usize)
            && e > 0
        {
            let base = self.antigen_total as usize;
            let mut class_two = vec![0u32; e];
            for locus in Locus::ALL {
                for list in Self::allele_eplets(t, locus, table) {
                    let block = base + scope_index(locus) * e;
                    for id in list {
                        set_bit(&mut row[block..block + e], id);
                        if !locus.is_class_one() {
                            set_bit(&mut class_two, id);
                        }
                    }
                }
            }
            // Class II scopes also hold every interlocus eplet of any class II allele.
            for scope in 1..SELF_SCOPES {
                let block = base + scope * e;
                for w in 0..e {
                    row[block + w] |= class_two[w] & self.interlocus_mask[w];
                }
            }
        }
        row
    }

    pub fn donor_row(
        &self,
        t: &Typing,
        release: Option<&Release>,
        eplets: Option<&EpletTable>,
    ) -> Vec<u32> {
        let mut row = vec![0u32; self.donor_words];
        self.antigen_region(t, release, &mut row, true);
        if let (Some(table), e) = (eplets, self.eplet_words as usize)
            && e > 0
        {
            let base = self.antigen_total as usize;
            for locus in Locus::ALL {
                let lists = Self::allele_eplets(t, locus, table);
                let all = base + locus.index() * e;
                let ver = base + (9 + locus.index()) * e;
                for list in &lists {
                    for &id in list {
                        set_bit(&mut row[all..all + e], id);
                    }
                }
                for w in 0..e {
                    row[ver + w] = row[all + w] & self.verified_mask[w];
                }
                let first_molecule = match locus {
                    Locus::Drb1 => Some(0),
                    Locus::Drb345 => Some(2),
                    Locus::Dqa1 => Some(4),
                    Locus::Dqb1 => Some(6),
                    _ => None,
                };
                if let Some(m0) = first_molecule {
                    // One typed copy stands for two (except DRB3/4/5, where the
                    // second block stays empty).
                    let copies: Vec<&Vec<u32>> = match (locus, lists.len()) {
                        (Locus::Drb345, _) | (_, 0) => lists.iter().take(2).collect(),
                        (_, 1) => vec![&lists[0], &lists[0]],
                        _ => lists.iter().take(2).collect(),
                    };
                    for (i, list) in copies.into_iter().enumerate() {
                        let block = base + (18 + m0 + i) * e;
                        for &id in list {
                            set_bit(&mut row[block..block + e], id);
                        }
                    }
                }
            }
        }
        row
    }
}

fn keys_of(item: &TypedItem, level: Level, release: Option<&Release>, broad: bool) -> Vec<Key> {
    match level {
        Level::Allele => allele_key(item).into_iter().collect(),
        Level::PGroup => group_keys(item, release, GroupKind::P),
        Level::GGroup => group_keys(item, release, GroupKind::G),
        Level::Antigen | Level::BroadAntigen => match antigen_keys(item, release, broad) {
            Some(v) => v.into_iter().map(Key::Antigen).collect(),
            // No serology: the allele stands for itself (never matched by an antigen).
            None => allele_key(item).into_iter().collect(),
        },
    }
}

/// Loads of one pair, decoded from its segment counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairLoads {
    /// Per locus (Locus::ALL order); `None` where not comparable.
    pub mismatches: [Option<u32>; 9],
    pub abdr: Option<u32>,
    pub eplet_loads: [Option<u32>; 9],
    pub eplet_loads_verified: [Option<u32>; 9],
    pub dr_load: Option<u32>,
    pub dq_load: Option<u32>,
    pub dr_load_verified: Option<u32>,
    pub dq_load_verified: Option<u32>,
    pub dr_single_max: Option<u32>,
    pub dq_single_max: Option<u32>,
    pub wiebe: Option<WiebeCategory>,
}

impl PairLoads {
    pub fn total_mismatches(&self) -> u32 {
        self.mismatches.iter().flatten().sum()
    }
}

/// Bit 9 of [`typed_mask`]: the DRB3/4/5 content is known ([`Typing::drb345_known`]).
const DRB345_KNOWN: u16 = 1 << 9;

/// Which loci are typed, per person (bit per Locus::ALL index, plus
/// [`DRB345_KNOWN`]).
pub fn typed_mask(t: &Typing) -> u16 {
    let typed = Locus::ALL
        .iter()
        .enumerate()
        .filter(|(_, l)| t.is_typed(**l))
        .fold(0, |m, (i, _)| m | (1 << i));
    if t.drb345_known() {
        typed | DRB345_KNOWN
    } else {
        typed
    }
}

/// How to read one pair's counts.
#[derive(Debug, Clone, Copy)]
pub struct Decoding<'a> {
    pub has_eplets: bool,
    pub thresholds: Option<&'a WiebeThresholds>,
    pub direction: Direction,
    /// First GvH segment ([`ScreenPlan::gvh_at`]).
    pub gvh_at: Option<usize>,
}

pub fn decode_pair(
    counts: &[u32],
    recipient_typed: u16,
    donor_typed: u16,
    how: &Decoding<'_>,
) -> PairLoads {
    let has_eplets = how.has_eplets;
    let thresholds = how.thresholds;
    let gvh = |i: usize| how.gvh_at.map_or(0, |g| counts[g + i]);
    let typed = |mask: u16, l: Locus| mask & (1 << l.index()) != 0;
    let both = |l: Locus| {
        if l == Locus::Drb345 {
            recipient_typed & donor_typed & DRB345_KNOWN != 0
                && (typed(recipient_typed, l) || typed(donor_typed, l))
        } else {
            typed(recipient_typed, l) && typed(donor_typed, l)
        }
    };
    let mut mismatches = [None; 9];
    let mut eplet_loads = [None; 9];
    let mut eplet_loads_verified = [None; 9];
    for (i, l) in Locus::ALL.iter().enumerate() {
        if both(*l) {
            let hvg = counts[seg::ANTIGEN + i];
            mismatches[i] = Some(match how.direction {
                Direction::HostVsGraft => hvg,
                Direction::GraftVsHost => gvh(i),
                Direction::Bidirectional => hvg.max(gvh(i)),
            });
        }
        // Eplet loads: donor typed, and recipient typed (DRB3/4/5: known).
        let recipient_known = if *l == Locus::Drb345 {
            recipient_typed & DRB345_KNOWN != 0
        } else {
            typed(recipient_typed, *l)
        };
        if has_eplets && typed(donor_typed, *l) && recipient_known {
            eplet_loads[i] = Some(counts[seg::EPLET_ALL + i]);
            eplet_loads_verified[i] = Some(counts[seg::EPLET_VERIFIED + i]);
        }
    }
    let abdr = [Locus::A, Locus::B, Locus::Drb1]
        .iter()
        .map(|l| mismatches[l.index()].map(|c| c.min(2)))
        .sum::<Option<u32>>();
    let any = |ls: &[Locus]| ls.iter().any(|l| eplet_loads[l.index()].is_some());
    let dr = any(&[Locus::Drb1, Locus::Drb345]);
    let has = |l: Locus| eplet_loads[l.index()].is_some();
    // A union segment only where both loci are comparable; else the one that is.
    let union_or_single = |x: Locus, y: Locus, union: usize, verified: bool| -> Option<u32> {
        let single = |l: Locus| {
            if verified {
                eplet_loads_verified[l.index()]
            } else {
                eplet_loads[l.index()]
            }
        };
        match (has(x), has(y)) {
            (true, true) => Some(counts[union]),
            (true, false) => single(x),
            (false, true) => single(y),
            (false, false) => None,
        }
    };
    let dr_single_max = if dr {
        let mut v = Vec::new();
        if has(Locus::Drb1) {
            v.extend_from_slice(&counts[seg::DR_MOLECULES..seg::DR_MOLECULES + 2]);
        }
        if has(Locus::Drb345) {
            v.extend_from_slice(&counts[seg::DR_MOLECULES + 2..seg::DR_MOLECULES + 4]);
        }
        v.into_iter().max()
    } else {
        None
    };
    let dq_single_max = match (has(Locus::Dqa1), has(Locus::Dqb1)) {
        (true, true) => counts[seg::DQ_MOLECULES..seg::DQ_MOLECULES + 4]
            .iter()
            .copied()
            .max(),
        (true, false) => counts[seg::DQ_CHAINS..seg::DQ_CHAINS + 2]
            .iter()
            .copied()
            .max(),
        (false, true) => counts[seg::DQ_CHAINS + 2..seg::DQ_CHAINS + 4]
            .iter()
            .copied()
            .max(),
        (false, false) => None,
    };
    let wiebe = match (thresholds, dr_single_max, dq_single_max) {
        (Some(t), Some(dr), Some(dq)) => Some(t.categorise(dr, dq)),
        _ => None,
    };
    PairLoads {
        mismatches,
        abdr,
        eplet_loads,
        eplet_loads_verified,
        dr_load: union_or_single(Locus::Drb1, Locus::Drb345, seg::DR_UNION, false),
        dq_load: union_or_single(Locus::Dqa1, Locus::Dqb1, seg::DQ_UNION, false),
        dr_load_verified: union_or_single(Locus::Drb1, Locus::Drb345, seg::DR_UNION_VERIFIED, true),
        dq_load_verified: union_or_single(Locus::Dqa1, Locus::Dqb1, seg::DQ_UNION_VERIFIED, true),
        dr_single_max,
        dq_single_max,
        wiebe,
    }
}

fn opt(v: Option<u32>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// Quote a CSV field when needed.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub fn pairs_header(has_eplets: bool) -> String {
    let mut h = vec!["recipient_id".to_string(), "donor_id".to_string()];
    for l in Locus::ALL {
        h.push(format!("mm_{}", l.name()));
    }
    h.push("abdr_mismatch".into());
    if has_eplets {
        for l in Locus::ALL {
            h.push(format!("eplets_{}", l.name()));
        }
        for l in Locus::ALL {
            h.push(format!("eplets_verified_{}", l.name()));
        }
        for c in [
            "dr_eplet_load",
            "dq_eplet_load",
            "dr_eplet_load_verified",
            "dq_eplet_load_verified",
            "dr_single_molecule_max",
            "dq_single_molecule_max",
            "wiebe_category",
        ] {
            h.push(c.into());
        }
    }
    h.join(",") + "\n"
}

fn pair_row(out: &mut String, recipient: &str, donor: &str, p: &PairLoads, has_eplets: bool) {
    use std::fmt::Write;
    let _ = write!(out, "{},{}", field(recipient), field(donor));
    for m in p.mismatches {
        let _ = write!(out, ",{}", opt(m));
    }
    let _ = write!(out, ",{}", opt(p.abdr));
    if has_eplets {
        for m in p.eplet_loads.iter().chain(&p.eplet_loads_verified) {
            let _ = write!(out, ",{}", opt(*m));
        }
        let _ = write!(
            out,
            ",{},{},{},{},{},{},{}",
            opt(p.dr_load),
            opt(p.dq_load),
            opt(p.dr_load_verified),
            opt(p.dq_load_verified),
            opt(p.dr_single_max),
            opt(p.dq_single_max),
            p.wiebe.map(|w| w.name()).unwrap_or("")
        );
    }
    out.push('\n');
}

/// Ranking key: smaller is better; ties broken by donor order.
type RankKey = (u32, u32, u32, u32, usize);

fn rank_key(p: &PairLoads, by: RankBy, donor: usize) -> RankKey {
    let big = u32::MAX;
    match by {
        RankBy::Mismatches => (
            p.total_mismatches(),
            p.abdr.unwrap_or(big),
            p.dq_load.unwrap_or(big),
            p.dr_load.unwrap_or(big),
            donor,
        ),
        RankBy::Eplets => (
            p.dq_load.unwrap_or(big),
            p.dr_load.unwrap_or(big),
            p.total_mismatches(),
            p.abdr.unwrap_or(big),
            donor,
        ),
    }
}

pub struct ScreenOutput {
    pub pairs_csv: Option<Vec<u8>>,
    pub top_csv: Vec<u8>,
    pub pairs: u64,
    pub levels: Vec<(Locus, Level)>,
    /// Wall time in the backend (kernel, transfers) and in host-side decoding,
    /// ranking and row rendering.
    pub backend_seconds: f64,
    pub decode_seconds: f64,
}

/// Screen every donor against every recipient on `backend`.
#[allow(clippy::too_many_arguments)]
pub fn screen(
    recipients: &[PersonTyping],
    donors: &[PersonTyping],
    release: Option<&Release>,
    eplets: Option<&EpletTable>,
    thresholds: Option<&WiebeThresholds>,
    settings: &ScreenSettings,
    antibodies: Option<&[BeadResult]>,
    backend: &dyn HlaMismatchBackend,
) -> Result<ScreenOutput> {
    let people: Vec<&Typing> = recipients.iter().chain(donors).map(|p| &p.typing).collect();
    let plan = ScreenPlan::build(&people, release, eplets, settings);
    let r_rows: Vec<u32> = recipients
        .iter()
        .flat_map(|p| plan.recipient_row(&p.typing, release, eplets))
        .collect();
    let d_rows: Vec<u32> = donors
        .iter()
        .flat_map(|p| plan.donor_row(&p.typing, release, eplets))
        .collect();
    let r_typed: Vec<u16> = recipients.iter().map(|p| typed_mask(&p.typing)).collect();
    let d_typed: Vec<u16> = donors.iter().map(|p| typed_mask(&p.typing)).collect();
    let has_eplets = eplets.is_some();
    let batch = HlaBatch {
        recipients: &r_rows,
        recipient_words: plan.recipient_words,
        donors: &d_rows,
        donor_words: plan.donor_words,
        segments: &plan.segments,
        paired: false,
    };
    let n_seg = plan.segments.len();
    let how = Decoding {
        has_eplets,
        thresholds,
        direction: settings.direction,
        gvh_at: plan.gvh_at,
    };
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
                let p = decode_pair(&chunk.counts[at..at + n_seg], r_typed[r], d_typed[d], &how);
                n_pairs += 1;
                if settings.write_pairs {
                    pair_row(
                        &mut pair_text[r],
                        &recipients[r].person_id,
                        &donors[d].person_id,
                        &p,
                        has_eplets,
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
        let header = pairs_header(has_eplets);
        let total: usize = header.len() + pair_text.iter().map(String::len).sum::<usize>();
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(header.as_bytes());
        for t in &pair_text {
            out.extend_from_slice(t.as_bytes());
        }
        out
    });
    let mut top = String::from("rank,");
    top.push_str(&pairs_header(has_eplets));
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
                has_eplets,
            );
            if antibodies.is_some() {
                // DSAs are checked on the ranked donors only (host side).
                let dsas = donor_specific_antibodies(&beads, &donors[d].typing, release);
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
        levels: plan.levels,
        backend_seconds: total.saturating_sub(decode).as_secs_f64(),
        decode_seconds: decode.as_secs_f64(),
    })
}

/// Shape (a), the transplants of a scan: pair i is (recipient i, donor i), one
/// paired batch on `backend`. HvG, distinct items, as in [`screen`].
pub fn pair_loads(
    pairs: &[(&Typing, &Typing)],
    release: Option<&Release>,
    eplets: Option<&EpletTable>,
    thresholds: Option<&WiebeThresholds>,
    settings: &ScreenSettings,
    backend: &dyn HlaMismatchBackend,
) -> Result<Vec<PairLoads>> {
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let people: Vec<&Typing> = pairs.iter().flat_map(|(r, d)| [*r, *d]).collect();
    let plan = ScreenPlan::build(&people, release, eplets, settings);
    let r_rows: Vec<u32> = pairs
        .iter()
        .flat_map(|(r, _)| plan.recipient_row(r, release, eplets))
        .collect();
    let d_rows: Vec<u32> = pairs
        .iter()
        .flat_map(|(_, d)| plan.donor_row(d, release, eplets))
        .collect();
    let batch = HlaBatch {
        recipients: &r_rows,
        recipient_words: plan.recipient_words,
        donors: &d_rows,
        donor_words: plan.donor_words,
        segments: &plan.segments,
        paired: true,
    };
    let counts = collect_counts(backend, &batch)?;
    let n_seg = plan.segments.len();
    let how = Decoding {
        has_eplets: eplets.is_some(),
        thresholds,
        direction: settings.direction,
        gvh_at: plan.gvh_at,
    };
    Ok(pairs
        .iter()
        .enumerate()
        .map(|(i, (r, d))| {
            decode_pair(
                &counts[i * n_seg..(i + 1) * n_seg],
                typed_mask(r),
                typed_mask(d),
                &how,
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compute::cpu::hla_mismatch::CpuHlaMismatch;
    use crate::hla::eplets::{EpletGroup::*, eplet_loads};
    use crate::hla::mismatch::{MatchSettings, compare};

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
            direction: Direction::HostVsGraft,
            homozygous_count: 1,
            equivalence: AntigenEquivalence::Split,
            level: LevelRequest::Auto,
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
        ];
        let t = table();
        let th = WiebeThresholds::hlamatchmaker_2_2();
        let people: Vec<&Typing> = recipients
            .iter()
            .chain(&donors)
            .map(|p| &p.typing)
            .collect();
        for (direction, homozygous_count) in [
            (Direction::HostVsGraft, 1),
            (Direction::HostVsGraft, 2),
            (Direction::GraftVsHost, 1),
            (Direction::GraftVsHost, 2),
            (Direction::Bidirectional, 1),
            (Direction::Bidirectional, 2),
        ] {
            let settings = ScreenSettings {
                direction,
                homozygous_count,
                ..settings()
            };
            let plan = ScreenPlan::build(&people, None, Some(&t), &settings);
            let how = Decoding {
                has_eplets: true,
                thresholds: Some(&th),
                direction,
                gvh_at: plan.gvh_at,
            };
            for r in &recipients {
                for d in &donors {
                    let rr = plan.recipient_row(&r.typing, None, Some(&t));
                    let dr = plan.donor_row(&d.typing, None, Some(&t));
                    let mut counts = vec![0; plan.segments.len()];
                    crate::compute::cpu::hla_mismatch::pair_counts(
                        &rr,
                        &dr,
                        &plan.segments,
                        &mut counts,
                    );
                    let p =
                        decode_pair(&counts, typed_mask(&r.typing), typed_mask(&d.typing), &how);
                    let m = compare(
                        &r.typing,
                        &d.typing,
                        None,
                        &MatchSettings {
                            direction,
                            homozygous_count,
                            ..MatchSettings::default()
                        },
                    );
                    let e = eplet_loads(&r.typing, &d.typing, &t);
                    let ctx = format!(
                        "{} vs {} {direction:?} x{homozygous_count}",
                        r.person_id, d.person_id
                    );
                    for l in Locus::ALL {
                        assert_eq!(
                            p.mismatches[l.index()],
                            m.locus(l).map(|x| x.count),
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
            None,
            None,
            None,
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
