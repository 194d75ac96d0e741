//! The bitset layout of a screen: which words of a donor row and a recipient
//! row hold what, and the segments the `hla_mismatch` kernel counts.
//!
//! Antigen/allele counts (one layout per locus, plus antigen-level A, B and
//! DRB1 for the classic A/B/DR count when another level is asked for): a
//! vocabulary of every compared item ([`ItemKey`]) in the pool; one bit per
//! item and [`CopyRole`]. A donor slot holds the bits of
//! [`counted_copies`]; a recipient slot holds the bits its copies
//! [`covers`]. popcount(donor & !self) is then exactly the count
//! `mismatch::count_direction` makes item by item. Ambiguous typings get one
//! slot per genotype alternative (up to [`MAX_SLOTS`]; unused slots repeat
//! the first) and one segment per donor × recipient slot pair; the decoder
//! applies the `--ambiguity` policy to them. GvH uses a second region with
//! the roles swapped and both sides complemented, so the kernel's
//! donor & !recipient gives recipient items & !donor self.
//!
//! Amino acids: per locus group a vocabulary of (position, residue); donor
//! blocks per locus hold [`contributed`] residues, recipient blocks per group
//! the residues its self set [`covers`] (all residues of a position where the
//! self set is unknown). Eplets: as described in `hla::screen`.

use std::collections::HashMap;

use crate::compute::cpu::hla_mismatch::HlaSegment;
use crate::hla::amino_acids::{
    AaReference, GROUPS, State, UNKNOWN_STATE, contributed, covers as aa_covers, group_of,
};
use crate::hla::eplets::{EpletGroup, EpletTable};
use crate::hla::mismatch::{
    Alternative, CopyRole, Direction, ItemKey, Level, LevelRequest, MatchSettings, PublicEpitopes,
    Reducer, counted_copies, reported_level, resolve_level,
};
use crate::hla::nomenclature::{Locus, PublicEpitope, TypedItem};
use crate::hla::release::Release;
use crate::hla::typing::Typing;

/// Genotype alternatives per side and locus the kernel evaluates; a person
/// with more is counted on the host by the same function as `scan`.
pub const MAX_SLOTS: usize = 8;

/// What a count layout is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The per-locus count at the requested level.
    Count,
    /// Antigen level for the classic A/B/DR count (another level requested).
    Abdr,
}

/// One antigen/allele count: a locus at a level.
#[derive(Debug, Clone)]
pub struct CountLayout {
    pub locus: Locus,
    pub level: Level,
    pub purpose: Purpose,
    vocab: HashMap<ItemKey, u32>,
    /// For each vocabulary entry, the entries it matches.
    matches: Vec<Vec<u32>>,
    roles: u32,
    /// Words per slot.
    words: u32,
    pub d_slots: usize,
    pub r_slots: usize,
    d_items: u32,
    r_self: u32,
    /// GvH region (complemented): donor self, recipient items.
    d_self_not: u32,
    r_items_not: u32,
    /// First HvG segment (d_slots × r_slots of them), then GvH ones if any.
    pub hvg_seg: usize,
    pub gvh_seg: Option<usize>,
}

impl CountLayout {
    pub fn combos(&self) -> usize {
        self.d_slots * self.r_slots
    }

    fn role_bit(&self, index: u32, role: CopyRole) -> u32 {
        index * self.roles
            + match role {
                CopyRole::First => 0,
                CopyRole::Second => 1,
                CopyRole::NullPartner => 2,
            }
    }

    fn item_bits(&self, alt: &Alternative, hc: u8) -> Vec<u32> {
        counted_copies(&alt.copies, hc)
            .into_iter()
            .filter_map(|(k, role)| self.vocab.get(k).map(|&i| self.role_bit(i, role)))
            .collect()
    }

    /// The bits `alt` covers: every role of every entry one of its copies
    /// matches, and every null stand-in when it carries a null.
    fn self_bits(&self, alt: &Alternative) -> Vec<u32> {
        let mut bits = Vec::new();
        for k in &alt.copies.keys {
            if let Some(&i) = self.vocab.get(k) {
                for &j in &self.matches[i as usize] {
                    for r in 0..self.roles {
                        bits.push(j * self.roles + r);
                    }
                }
            }
        }
        if alt.copies.carries_null && self.roles == 3 {
            for j in 0..self.vocab.len() as u32 {
                bits.push(self.role_bit(j, CopyRole::NullPartner));
            }
        }
        bits
    }
}

/// Word offsets handed out in both rows.
#[derive(Debug, Default)]
struct RowAlloc {
    donor: u32,
    recipient: u32,
}

impl RowAlloc {
    fn take(&mut self, donor: u32, recipient: u32) -> (u32, u32) {
        let at = (self.donor, self.recipient);
        self.donor += donor;
        self.recipient += recipient;
        at
    }
}

/// Eplet segment offsets from `eplet_seg`.
pub mod eplet_seg {
    pub const ALL: usize = 0; // + locus index, 9
    pub const VERIFIED: usize = 9; // + locus index, 9
    pub const DR_UNION: usize = 18;
    pub const DR_UNION_VERIFIED: usize = 19;
    pub const DQ_UNION: usize = 20;
    pub const DQ_UNION_VERIFIED: usize = 21;
    pub const DR_MOLECULES: usize = 22; // DRB1 ×2, DRB345 ×2
    pub const DQ_MOLECULES: usize = 26; // DQA1_i × DQB1_j
    pub const DQ_CHAINS: usize = 30; // DQA1 ×2, DQB1 ×2 on their own
    pub const COUNT: usize = 34;
}

/// Self-set blocks of a recipient row's eplet region: the amino-acid groups.
const SELF_SCOPES: usize = 6;

#[derive(Debug, Clone)]
struct EpletLayout {
    words: u32,
    d_base: u32,
    r_base: u32,
    interlocus_mask: Vec<u32>,
    verified_mask: Vec<u32>,
}

#[derive(Debug, Clone)]
struct AaLayout {
    /// Per group: (position, residue bit) → vocabulary bit; words per block.
    vocab: Vec<HashMap<(usize, State), u32>>,
    words: Vec<u32>,
    /// Donor item blocks per locus; recipient self blocks per group.
    d_items: [u32; 9],
    r_self: [u32; 6],
    /// GvH (complemented): donor self per group, recipient items per locus.
    d_self_not: [u32; 6],
    r_items_not: [u32; 9],
}

/// What the decoder needs to know about one person beside the counts.
#[derive(Debug, Clone, Copy, Default)]
pub struct PersonCode {
    /// Bit per Locus::ALL index typed, plus [`DRB345_KNOWN`].
    pub typed: u16,
    /// Bit per count layout whose alternatives exceed [`MAX_SLOTS`].
    pub overflow: u64,
    /// Bit per locus with a typed gene lacking an alignment file.
    pub aa_missing: u16,
    pub has_public_epitopes: bool,
}

/// Bit 9 of [`PersonCode::typed`]: the DRB3/4/5 content is known
/// ([`Typing::drb345_known`]).
pub const DRB345_KNOWN: u16 = 1 << 9;

/// The vocabulary and row layout of one screen.
pub struct ScreenPlan<'a> {
    pub settings: MatchSettings,
    pub release: Option<&'a Release>,
    pub eplets: Option<&'a EpletTable>,
    pub aa: Option<&'a AaReference>,
    pub layouts: Vec<CountLayout>,
    /// The reported level of each locus (Locus::ALL order).
    pub levels: Vec<(Locus, Level)>,
    pub level_note: Option<String>,
    /// Bw4/Bw6 segments (HvG, then GvH).
    pub public_seg: Option<usize>,
    bw_at: (u32, u32),
    pub eplet_seg: Option<usize>,
    eplet: Option<EpletLayout>,
    /// AA segments: 9 HvG, then 9 GvH if any.
    pub aa_seg: Option<usize>,
    aa_layout: Option<AaLayout>,
    /// Loci out of the AA position set (never compared).
    pub aa_excluded: u16,
    pub gvh: bool,
    pub recipient_words: usize,
    pub donor_words: usize,
    pub segments: Vec<HlaSegment>,
}

fn set_bit(row: &mut [u32], bit: u32) {
    row[(bit / 32) as usize] |= 1 << (bit % 32);
}

fn public_bits(t: &Typing) -> u32 {
    t.public_epitopes
        .iter()
        .flatten()
        .map(|e| match e {
            PublicEpitope::Bw4 => 1,
            PublicEpitope::Bw6 => 2,
        })
        .fold(0, |a, b| a | b)
}

impl<'a> ScreenPlan<'a> {
    pub fn reducer(&self, level: Level) -> Reducer<'_> {
        Reducer {
            release: self.release,
            settings: &self.settings,
            level,
        }
    }

    pub fn build(
        recipients: &[&Typing],
        donors: &[&Typing],
        release: Option<&'a Release>,
        eplets: Option<&'a EpletTable>,
        aa: Option<&'a AaReference>,
        settings: MatchSettings,
    ) -> ScreenPlan<'a> {
        let gvh = settings.direction != Direction::HostVsGraft;
        let hc = settings.homozygous_count;
        let (level, level_note) = resolve_level(settings.level, settings.equivalence, release);
        let (antigen, _) = resolve_level(LevelRequest::Antigen, settings.equivalence, release);
        let mut wanted: Vec<(Locus, Level, Purpose)> = Locus::ALL
            .iter()
            .map(|&l| (l, level, Purpose::Count))
            .collect();
        if level != antigen {
            for l in [Locus::A, Locus::B, Locus::Drb1] {
                wanted.push((l, antigen, Purpose::Abdr));
            }
        }
        let mut alloc = RowAlloc::default();
        let mut segments = Vec::new();
        let mut layouts = Vec::new();
        let mut levels = Vec::new();
        let mut ignored = Vec::new();
        for (locus, level, purpose) in wanted {
            let reducer = Reducer {
                release,
                settings: &settings,
                level,
            };
            let mut vocab: HashMap<ItemKey, u32> = HashMap::new();
            let mut keys: Vec<ItemKey> = Vec::new();
            let mut slots = [1usize, 1usize];
            for (side, people) in [recipients, donors].into_iter().enumerate() {
                for t in people {
                    if !t.is_typed(locus) {
                        continue;
                    }
                    let alts = reducer.alternatives(t, locus, &mut ignored);
                    if alts.len() <= MAX_SLOTS {
                        slots[side] = slots[side].max(alts.len());
                    }
                    for k in alts.iter().flat_map(|a| a.copies.keys.iter()) {
                        if !vocab.contains_key(k) {
                            vocab.insert(k.clone(), keys.len() as u32);
                            keys.push(k.clone());
                        }
                    }
                }
            }
            if purpose == Purpose::Count {
                levels.push((locus, reported_level(level, keys.iter())));
            }
            let matches: Vec<Vec<u32>> = keys
                .iter()
                .map(|k| {
                    keys.iter()
                        .enumerate()
                        .filter(|(_, o)| k.matches(o))
                        .map(|(j, _)| j as u32)
                        .collect()
                })
                .collect();
            let roles = if hc >= 2 { 3 } else { 1 };
            let words = (keys.len() as u32 * roles).div_ceil(32).max(1);
            let (r_slots, d_slots) = (slots[0], slots[1]);
            let (d_items, r_self) = alloc.take(words * d_slots as u32, words * r_slots as u32);
            let (d_self_not, r_items_not) = if gvh {
                alloc.take(words * d_slots as u32, words * r_slots as u32)
            } else {
                (0, 0)
            };
            // One segment per donor slot × recipient slot, donor-major.
            let mut combos = |d_at: u32, r_at: u32| {
                let at = segments.len();
                for a in 0..d_slots as u32 {
                    for b in 0..r_slots as u32 {
                        segments.push(HlaSegment::single(
                            d_at + a * words,
                            r_at + b * words,
                            words,
                        ));
                    }
                }
                at
            };
            let hvg_seg = combos(d_items, r_self);
            let gvh_seg = gvh.then(|| combos(d_self_not, r_items_not));
            layouts.push(CountLayout {
                locus,
                level,
                purpose,
                vocab,
                matches,
                roles,
                words,
                d_slots,
                r_slots,
                d_items,
                r_self,
                d_self_not,
                r_items_not,
                hvg_seg,
                gvh_seg,
            });
        }

        let public_seg = (settings.public_epitopes == PublicEpitopes::Compare).then(|| {
            let at = segments.len();
            segments.push(HlaSegment::single(alloc.donor, alloc.recipient, 1));
            if gvh {
                segments.push(HlaSegment::single(alloc.donor + 1, alloc.recipient + 1, 1));
            }
            at
        });
        let bw_at = if public_seg.is_some() {
            alloc.take(2, 2)
        } else {
            (0, 0)
        };

        let (eplet_seg, eplet) = match eplets {
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
                // Donor: per locus all + verified (18 blocks), 4 DR and 4 DQ molecule blocks.
                let (d_base, r_base) = alloc.take(26 * e, SELF_SCOPES as u32 * e);
                let at = segments.len();
                let self_block = |l: Locus| r_base + group_of(l) as u32 * e;
                let block = |verified: bool, l: Locus| {
                    d_base + (if verified { 9 } else { 0 } + l.index() as u32) * e
                };
                let molecule = |i: u32| d_base + (18 + i) * e;
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
                debug_assert_eq!(segments.len() - at, eplet_seg::COUNT);
                (
                    Some(at),
                    Some(EpletLayout {
                        words: e,
                        d_base,
                        r_base,
                        interlocus_mask: inter,
                        verified_mask: ver,
                    }),
                )
            }
            None => (None, None),
        };

        let mut aa_excluded = 0u16;
        let (aa_seg, aa_layout) = match aa {
            Some(reference) => {
                for l in Locus::ALL {
                    if reference
                        .positions
                        .as_ref()
                        .is_some_and(|ps| !ps.names_locus(l))
                    {
                        aa_excluded |= 1 << l.index();
                    }
                }
                let layout = aa_layout(reference, recipients, donors, &mut alloc, gvh);
                let at = segments.len();
                for l in Locus::ALL {
                    let g = group_of(l);
                    segments.push(HlaSegment::single(
                        layout.d_items[l.index()],
                        layout.r_self[g],
                        layout.words[g],
                    ));
                }
                if gvh {
                    for l in Locus::ALL {
                        let g = group_of(l);
                        segments.push(HlaSegment::single(
                            layout.d_self_not[g],
                            layout.r_items_not[l.index()],
                            layout.words[g],
                        ));
                    }
                }
                (Some(at), Some(layout))
            }
            None => (None, None),
        };

        ScreenPlan {
            settings,
            release,
            eplets,
            aa,
            layouts,
            levels,
            level_note,
            public_seg,
            bw_at,
            eplet_seg,
            eplet,
            aa_seg,
            aa_layout,
            aa_excluded,
            gvh,
            recipient_words: alloc.recipient.max(1) as usize,
            donor_words: alloc.donor.max(1) as usize,
            segments,
        }
    }

    /// A person's row (recipient or donor encoding) and its decoder facts.
    pub fn encode(&self, t: &Typing, donor: bool) -> (Vec<u32>, PersonCode) {
        let width = if donor {
            self.donor_words
        } else {
            self.recipient_words
        };
        let mut row = vec![0u32; width];
        let mut code = PersonCode {
            typed: typed_mask(t),
            has_public_epitopes: t.public_epitopes.is_some(),
            ..Default::default()
        };
        let hc = self.settings.homozygous_count;
        let mut ignored = Vec::new();
        for (li, layout) in self.layouts.iter().enumerate() {
            if !t.is_typed(layout.locus) {
                continue;
            }
            let alts = self
                .reducer(layout.level)
                .alternatives(t, layout.locus, &mut ignored);
            let slots = if donor {
                layout.d_slots
            } else {
                layout.r_slots
            };
            if alts.len() > slots {
                code.overflow |= 1 << li;
            }
            let w = layout.words as usize;
            for s in 0..slots {
                // Unused slots repeat the first alternative (max/min unchanged).
                let alt = alts
                    .get(s)
                    .filter(|_| alts.len() <= slots)
                    .unwrap_or(&alts[0]);
                let (primary, primary_bits) = if donor {
                    (layout.d_items, layout.item_bits(alt, hc))
                } else {
                    (layout.r_self, layout.self_bits(alt))
                };
                let at = primary as usize + s * w;
                for bit in primary_bits {
                    set_bit(&mut row[at..at + w], bit);
                }
                if self.gvh {
                    let (second, bits) = if donor {
                        (layout.d_self_not, layout.self_bits(alt))
                    } else {
                        (layout.r_items_not, layout.item_bits(alt, hc))
                    };
                    let mut block = vec![0u32; w];
                    for bit in bits {
                        set_bit(&mut block, bit);
                    }
                    let at = second as usize + s * w;
                    for (k, x) in block.into_iter().enumerate() {
                        row[at + k] = !x;
                    }
                }
            }
        }
        if self.public_seg.is_some() {
            let (d, r) = self.bw_at;
            let bits = public_bits(t);
            if donor {
                row[d as usize] = bits;
                row[d as usize + 1] = !bits;
            } else {
                row[r as usize] = bits;
                row[r as usize + 1] = !bits;
            }
        }
        if let (Some(table), Some(layout)) = (self.eplets, &self.eplet) {
            if donor {
                eplet_donor(&mut row, t, table, layout);
            } else {
                eplet_recipient(&mut row, t, table, layout);
            }
        }
        if let (Some(reference), Some(layout)) = (self.aa, &self.aa_layout) {
            for l in Locus::ALL {
                if reference.locus_available(l, [t]).is_err() && !self.aa_excluded_locus(l) {
                    code.aa_missing |= 1 << l.index();
                }
            }
            aa_encode(&mut row, t, reference, layout, donor, self.gvh);
        }
        (row, code)
    }

    fn aa_excluded_locus(&self, l: Locus) -> bool {
        self.aa_excluded & (1 << l.index()) != 0
    }

    /// Full alternatives of a person at a layout (for the host path).
    pub fn alternatives(&self, layout: &CountLayout, t: &Typing) -> Vec<Alternative> {
        let mut ignored = Vec::new();
        self.reducer(layout.level)
            .alternatives(t, layout.locus, &mut ignored)
    }
}

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

fn eplet_recipient(row: &mut [u32], t: &Typing, table: &EpletTable, layout: &EpletLayout) {
    let e = layout.words as usize;
    let base = layout.r_base as usize;
    let mut class_two = vec![0u32; e];
    for locus in Locus::ALL {
        for list in allele_eplets(t, locus, table) {
            let block = base + group_of(locus) * e;
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
            row[block + w] |= class_two[w] & layout.interlocus_mask[w];
        }
    }
}

fn eplet_donor(row: &mut [u32], t: &Typing, table: &EpletTable, layout: &EpletLayout) {
    let e = layout.words as usize;
    let base = layout.d_base as usize;
    for locus in Locus::ALL {
        let lists = allele_eplets(t, locus, table);
        let all = base + locus.index() * e;
        let ver = base + (9 + locus.index()) * e;
        for list in &lists {
            for &id in list {
                set_bit(&mut row[all..all + e], id);
            }
        }
        for w in 0..e {
            row[ver + w] = row[all + w] & layout.verified_mask[w];
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

fn aa_layout(
    reference: &AaReference,
    recipients: &[&Typing],
    donors: &[&Typing],
    alloc: &mut RowAlloc,
    gvh: bool,
) -> AaLayout {
    let mut vocab: Vec<HashMap<(usize, State), u32>> = vec![HashMap::new(); GROUPS.len()];
    let mut ignored = Vec::new();
    for t in recipients.iter().chain(donors) {
        for l in Locus::ALL {
            if !t.is_typed(l) {
                continue;
            }
            let g = group_of(l);
            let states = reference.locus_states(t, l, &mut ignored);
            for (p, &s) in states.iter().enumerate() {
                let mut bits = s & !UNKNOWN_STATE;
                while bits != 0 {
                    let bit = bits & bits.wrapping_neg();
                    bits &= !bit;
                    let n = vocab[g].len() as u32;
                    vocab[g].entry((p, bit)).or_insert(n);
                }
            }
        }
    }
    let words: Vec<u32> = vocab
        .iter()
        .map(|v| (v.len() as u32).div_ceil(32).max(1))
        .collect();
    let mut d_items = [0u32; 9];
    let mut r_self = [0u32; 6];
    let mut d_self_not = [0u32; 6];
    let mut r_items_not = [0u32; 9];
    for l in Locus::ALL {
        d_items[l.index()] = alloc.take(words[group_of(l)], 0).0;
    }
    for (g, w) in words.iter().enumerate() {
        r_self[g] = alloc.take(0, *w).1;
    }
    if gvh {
        for (g, w) in words.iter().enumerate() {
            d_self_not[g] = alloc.take(*w, 0).0;
        }
        for l in Locus::ALL {
            r_items_not[l.index()] = alloc.take(0, words[group_of(l)]).1;
        }
    }
    AaLayout {
        vocab,
        words,
        d_items,
        r_self,
        d_self_not,
        r_items_not,
    }
}

/// A side's item bits at a locus, and self bits of a group, in the AA vocabulary.
fn aa_item_bits(
    reference: &AaReference,
    layout: &AaLayout,
    locus: Locus,
    states: &[State],
) -> Vec<u32> {
    let g = group_of(locus);
    contributed(reference, locus, states)
        .into_iter()
        .filter_map(|k| layout.vocab[g].get(&k).copied())
        .collect()
}

/// The vocabulary entries a group self set covers (all of a position where
/// it is unknown).
fn aa_self_bits(layout: &AaLayout, group: usize, self_states: &[State]) -> Vec<u32> {
    layout.vocab[group]
        .iter()
        .filter(|((p, bit), _)| aa_covers(self_states, *p, *bit))
        .map(|(_, &id)| id)
        .collect()
}

fn aa_encode(
    row: &mut [u32],
    t: &Typing,
    reference: &AaReference,
    layout: &AaLayout,
    donor: bool,
    gvh: bool,
) {
    let mut ignored = Vec::new();
    let write = |row: &mut [u32], at: u32, words: u32, bits: &[u32], complement: bool| {
        let (at, w) = (at as usize, words as usize);
        let mut block = vec![0u32; w];
        for &b in bits {
            set_bit(&mut block, b);
        }
        for (k, x) in block.into_iter().enumerate() {
            row[at + k] = if complement { !x } else { x };
        }
    };
    let selfs: Vec<Vec<State>> = (0..GROUPS.len())
        .map(|g| reference.group_self(t, g, &mut ignored))
        .collect();
    let items = |l: Locus, ignored: &mut Vec<String>| -> Vec<u32> {
        if !t.is_typed(l) {
            return Vec::new();
        }
        let states = reference.locus_states(t, l, ignored);
        aa_item_bits(reference, layout, l, &states)
    };
    // Donor: items per locus, and (GvH) the complement of its self sets;
    // recipient: self sets per group, and (GvH) the complement of its items.
    let (items_at, self_at) = if donor {
        (&layout.d_items, &layout.d_self_not)
    } else {
        (&layout.r_items_not, &layout.r_self)
    };
    if donor || gvh {
        for l in Locus::ALL {
            let bits = items(l, &mut ignored);
            let at = items_at[l.index()];
            write(row, at, layout.words[group_of(l)], &bits, !donor);
        }
    }
    if !donor || gvh {
        for (g, s) in selfs.iter().enumerate() {
            let bits = aa_self_bits(layout, g, s);
            write(row, self_at[g], layout.words[g], &bits, donor);
        }
    }
}
