//! Per-site counting of DNA fragments from the bases that reads show there.
//!
//! cfDNA assays count molecules, not reads: the two mates of one fragment that
//! both cover a site are one observation, and with UMIs, the reads of one
//! original molecule are one observation. The rules, in order:
//!
//! 1. Mates (reads with the same name) at a site are one fragment. Each base
//!    the mates show gathers the Phred qualities of the mates showing it; the
//!    base with the most stands, and its quality is its lead over the
//!    runner-up (Phred scores are −10·log10 error probabilities, so for
//!    independent reads they add for agreement and cancel for disagreement).
//!    A single read keeps its own quality; agreeing mates sum theirs (as
//!    htslib's overlap detection does); disagreeing mates keep the difference,
//!    and a tie leaves the fragment uncounted (neither base is believable, and
//!    picking one would favour whichever mate was read first).
//! 2. The fragment counts when that quality reaches the floor (`--min-baseq`,
//!    as bcftools `-Q`).
//! 3. With a UMI tag, fragments sharing the tag value at a site are one
//!    molecule: its base is the majority of its fragments' bases; a tie
//!    leaves the molecule uncounted. Fragments without the tag count alone.
//!
//! With `reads_not_fragments` every read counts on its own with its own
//! quality: the behaviour of samtools/bcftools with overlap detection off.

use std::collections::HashMap;

/// One read's base at one site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observation {
    /// Hash of the read name: mates share it.
    pub fragment: u64,
    /// Hash of the UMI tag value, when counting by UMI and the read has one.
    pub umi: Option<u64>,
    /// Upper-case base (A, C, G, T, or anything else the read shows).
    pub base: u8,
    pub quality: u8,
}

/// How reads at a site become counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CountingRule {
    /// Every read counts on its own (samtools/bcftools with overlap detection
    /// off, `-x`): for comparison with those tools, not for cfDNA.
    pub reads_not_fragments: bool,
    /// Group fragments by their UMI.
    pub by_umi: bool,
}

/// Counts at one site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct SiteCounts {
    pub ref_count: u32,
    pub alt_count: u32,
    /// Fragments (or molecules) counted with any base, REF and ALT included.
    pub depth: u32,
    /// Fragments whose two mates both showed a base here.
    pub overlapping_mates: u32,
    /// Of those, fragments left uncounted because the mates disagreed at
    /// equal base quality.
    pub discordant_mates_dropped: u32,
    /// Molecules (UMI groups) left uncounted by a tied vote.
    pub umi_ties_dropped: u32,
}

/// The base a fragment's reads stand for, with its quality: the lead of the
/// best-supported base over the runner-up; `None` on a tie.
fn resolve_mates(group: &[Observation]) -> Option<(u8, u32)> {
    let mut support: Vec<(u8, u32)> = Vec::with_capacity(2);
    for o in group {
        match support.iter_mut().find(|(b, _)| *b == o.base) {
            Some((_, q)) => *q += u32::from(o.quality),
            None => support.push((o.base, u32::from(o.quality))),
        }
    }
    support.sort_by_key(|b| std::cmp::Reverse(b.1));
    match support.as_slice() {
        [(b, q)] => Some((*b, *q)),
        [(b, q1), (_, q2), ..] if q1 > q2 => Some((*b, q1 - q2)),
        _ => None,
    }
}

/// Majority base of a molecule's fragments; `None` on a tie for first place.
fn majority_base(bases: &[u8]) -> Option<u8> {
    let mut tally: Vec<(u8, u32)> = Vec::with_capacity(2);
    for &b in bases {
        match tally.iter_mut().find(|(base, _)| *base == b) {
            Some((_, n)) => *n += 1,
            None => tally.push((b, 1)),
        }
    }
    tally.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    match tally.as_slice() {
        [(b, _)] => Some(*b),
        [(b, n1), (_, n2), ..] if n1 > n2 => Some(*b),
        _ => None,
    }
}

/// Count one site. `observations` is every read's base there, whatever its
/// quality, and is reordered.
pub fn count_site(
    observations: &mut [Observation],
    ref_base: u8,
    alt_base: u8,
    min_baseq: u8,
    rule: CountingRule,
) -> SiteCounts {
    let mut out = SiteCounts::default();
    let floor = u32::from(min_baseq);
    // One entry per counted fragment: (umi, base).
    let mut fragments: Vec<(Option<u64>, u8)> = Vec::with_capacity(observations.len());
    if rule.reads_not_fragments {
        fragments.extend(
            observations
                .iter()
                .filter(|o| o.quality >= min_baseq)
                .map(|o| (o.umi, o.base)),
        );
    } else {
        observations.sort_unstable_by_key(|o| o.fragment);
        for group in observations.chunk_by(|a, b| a.fragment == b.fragment) {
            let discordant = group.iter().any(|o| o.base != group[0].base);
            if group.len() > 1 {
                out.overlapping_mates += 1;
            }
            match resolve_mates(group) {
                Some((base, q)) if q >= floor => {
                    let umi = group.iter().find_map(|g| g.umi);
                    fragments.push((umi, base));
                }
                _ if discordant => out.discordant_mates_dropped += 1,
                _ => {}
            }
        }
    }
    let mut tally = |base: u8| {
        out.depth += 1;
        if base == ref_base {
            out.ref_count += 1;
        } else if base == alt_base {
            out.alt_count += 1;
        }
    };
    if rule.by_umi {
        let mut molecules: HashMap<u64, Vec<u8>> = HashMap::new();
        for (umi, base) in fragments {
            match umi {
                Some(u) => molecules.entry(u).or_default().push(base),
                None => tally(base),
            }
        }
        let mut ties = 0;
        for bases in molecules.values() {
            match majority_base(bases) {
                Some(b) => tally(b),
                None => ties += 1,
            }
        }
        out.umi_ties_dropped = ties;
    } else {
        for (_, base) in fragments {
            tally(base);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(fragment: u64, base: u8, quality: u8) -> Observation {
        Observation {
            fragment,
            umi: None,
            base,
            quality,
        }
    }

    const FRAGMENTS: CountingRule = CountingRule {
        reads_not_fragments: false,
        by_umi: false,
    };

    #[test]
    fn overlapping_mates_that_agree_count_once() {
        let mut o = vec![obs(1, b'A', 30), obs(1, b'A', 35), obs(2, b'G', 30)];
        let c = count_site(&mut o, b'A', b'G', 13, FRAGMENTS);
        assert_eq!((c.ref_count, c.alt_count, c.depth), (1, 1, 2));
        assert_eq!(c.overlapping_mates, 1);
    }

    #[test]
    fn disagreeing_mates_keep_the_better_base_when_its_lead_reaches_the_floor() {
        let mut o = vec![obs(7, b'A', 20), obs(7, b'G', 37)];
        let c = count_site(&mut o, b'A', b'G', 13, FRAGMENTS);
        assert_eq!((c.ref_count, c.alt_count, c.depth), (0, 1, 1));
        assert_eq!(c.discordant_mates_dropped, 0);
        // A lead of 10 is below Q13: the fragment is not believable.
        let mut o = vec![obs(7, b'A', 30), obs(7, b'G', 40)];
        let c = count_site(&mut o, b'A', b'G', 13, FRAGMENTS);
        assert_eq!(c.depth, 0);
        assert_eq!(c.discordant_mates_dropped, 1);
    }

    #[test]
    fn disagreeing_mates_at_equal_quality_are_dropped_even_without_a_floor() {
        let mut o = vec![obs(7, b'A', 30), obs(7, b'G', 30), obs(8, b'A', 30)];
        let c = count_site(&mut o, b'A', b'G', 0, FRAGMENTS);
        assert_eq!((c.ref_count, c.alt_count, c.depth), (1, 0, 1));
        assert_eq!(c.discordant_mates_dropped, 1);
    }

    #[test]
    fn agreeing_low_quality_mates_add_up_and_single_low_quality_reads_do_not_count() {
        let mut o = vec![obs(1, b'G', 8), obs(1, b'G', 9), obs(2, b'G', 12)];
        let c = count_site(&mut o, b'A', b'G', 13, FRAGMENTS);
        assert_eq!((c.ref_count, c.alt_count, c.depth), (0, 1, 1));
    }

    #[test]
    fn counting_reads_counts_both_mates() {
        let mut o = vec![obs(1, b'A', 30), obs(1, b'A', 35), obs(2, b'G', 30)];
        let rule = CountingRule {
            reads_not_fragments: true,
            by_umi: false,
        };
        let c = count_site(&mut o, b'A', b'G', 13, rule);
        assert_eq!((c.ref_count, c.alt_count, c.depth), (2, 1, 3));
    }

    #[test]
    fn other_bases_add_depth_but_neither_allele() {
        let mut o = vec![obs(1, b'C', 30), obs(2, b'N', 30), obs(3, b'G', 30)];
        let c = count_site(&mut o, b'A', b'G', 13, FRAGMENTS);
        assert_eq!((c.ref_count, c.alt_count, c.depth), (0, 1, 3));
    }

    #[test]
    fn fragments_sharing_a_umi_count_once_by_majority() {
        let with_umi = |f, u, b| Observation {
            fragment: f,
            umi: Some(u),
            base: b,
            quality: 30,
        };
        let mut o = vec![
            with_umi(1, 100, b'G'),
            with_umi(2, 100, b'G'),
            with_umi(3, 100, b'A'),
            with_umi(4, 200, b'A'),
            with_umi(5, 300, b'A'),
            with_umi(6, 300, b'G'),
            obs(9, b'A', 30),
        ];
        let rule = CountingRule {
            reads_not_fragments: false,
            by_umi: true,
        };
        let c = count_site(&mut o, b'A', b'G', 13, rule);
        // UMI 100 → G (2 of 3); UMI 200 → A; UMI 300 tied → dropped; untagged A.
        assert_eq!((c.ref_count, c.alt_count, c.depth), (2, 1, 3));
        assert_eq!(c.umi_ties_dropped, 1);
    }

    #[test]
    fn three_reads_of_one_name_weigh_their_qualities() {
        // A supplementary-free fragment never has three reads, but a
        // malformed file can: the rule still picks one base or none.
        let mut o = vec![obs(1, b'A', 20), obs(1, b'G', 50), obs(1, b'A', 30)];
        let c = count_site(&mut o, b'A', b'G', 13, FRAGMENTS);
        assert_eq!(c.depth, 0);
        assert_eq!(c.discordant_mates_dropped, 1);
        let mut o = vec![obs(1, b'G', 20), obs(1, b'G', 40), obs(1, b'A', 30)];
        let c = count_site(&mut o, b'A', b'G', 13, FRAGMENTS);
        assert_eq!((c.ref_count, c.alt_count), (0, 1));
    }
}
