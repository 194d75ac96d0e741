//! In-silico mixtures of real reads: two people's pure sequencing runs (allele
//! depths at the same panel sites) thinned binomially and summed, so that the
//! mixture carries every property of real reads — reference bias and its
//! site-to-site variation, PCR duplicates, capture dropouts, errors — and the
//! donor fraction is exact: at each site the donor's reads are kept with
//! probability f·T/n_donor and the recipient's with (1 − f)·T/n_recipient, so
//! the expected donor share of the reads is f at every site (T, the site's
//! target depth, is as deep as both runs allow, up to a cap).

use std::collections::HashMap;

use rand::Rng;
use rand_distr::{Binomial, Distribution};

use crate::formats::SiteKey;

/// (REF, ALT) read depths of one person's pure run at each site.
pub type PureRun = HashMap<SiteKey, [u32; 2]>;

fn thin(rng: &mut impl Rng, n: u32, p: f64) -> u32 {
    if n == 0 || p <= 0.0 {
        return 0;
    }
    if p >= 1.0 {
        return n;
    }
    Binomial::new(u64::from(n), p)
        .map(|b| b.sample(rng) as u32)
        .unwrap_or(0)
}

/// The mixture of `donor` into `recipient` at donor fraction `f` over the sites
/// both runs cover, in the order of `sites`; `max_depth` caps each site's
/// target depth. Sites missing from either run, or with no reads, are skipped.
pub fn mix_pure_runs(
    rng: &mut impl Rng,
    sites: &[SiteKey],
    donor: &PureRun,
    recipient: &PureRun,
    f: f64,
    max_depth: f64,
) -> Vec<(SiteKey, [u32; 2])> {
    let mut out = Vec::with_capacity(sites.len());
    for site in sites {
        let (Some(d), Some(r)) = (donor.get(site), recipient.get(site)) else {
            continue;
        };
        let (nd, nr) = (f64::from(d[0] + d[1]), f64::from(r[0] + r[1]));
        if nd == 0.0 || nr == 0.0 {
            continue;
        }
        // As deep as the runs allow: neither run may need more reads than it has.
        let mut target = (nr / (1.0 - f)).min(max_depth);
        if f > 0.0 {
            target = target.min(nd / f);
        }
        let (pd, pr) = (f * target / nd, (1.0 - f) * target / nr);
        let reads = [
            thin(rng, d[0], pd) + thin(rng, r[0], pr),
            thin(rng, d[1], pd) + thin(rng, r[1], pr),
        ];
        out.push((site.clone(), reads));
    }
    out
}
