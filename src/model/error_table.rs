//! Per-site, per-direction sequencing error rates learned from samples of known
//! genotype (pure runs, blanks): REF→ALT from reads of ALT at homozygous-REF
//! calls, ALT→REF from reads of REF at homozygous-ALT calls (cfdna-model.md §4).
//! Real panels differ from site to site by an order of magnitude; a single
//! symmetric rate reads the noisy sites as donor signal when the donor's
//! genotype is marginalised.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::error::{InputError, Result};
use crate::formats::AlleleTable;
use crate::formats::input::{FirstSeen, check_input_file};
use crate::formats::site::{ChromInterner, SiteKey};
use crate::formats::tsv::{duplicate_site_error, open_tsv, parse_position, parse_u64, row_error};

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SiteErrorCounts {
    /// ALT reads and depth at homozygous-REF calls.
    pub ref_to_alt: (u64, u64),
    /// REF reads and depth at homozygous-ALT calls.
    pub alt_to_ref: (u64, u64),
}

#[derive(Debug, Clone, Default)]
pub struct ErrorTable {
    pub sites: HashMap<SiteKey, SiteErrorCounts>,
    /// Rate used for a direction with too little depth at a site.
    pub fallback: Option<f64>,
}

/// A direction needs this many reads before its own rate is trusted.
pub const MIN_DEPTH: u64 = 500;

/// Error rates at or above one half are not errors: at ε = ½ a read says
/// nothing about the allele it came from, above it REF and ALT swap meaning;
/// `simulate --error-rate` refuses the same range.
pub const MAX_ERROR_RATE: f64 = 0.5;

/// A site-direction's rate from k error reads in n (a half read each way keeps
/// it off 0 and 1).
fn site_rate(k: u64, n: u64) -> f64 {
    ((k as f64 + 0.5) / (n as f64 + 1.0)).max(1e-6)
}

impl ErrorTable {
    /// Add every column of `table` that has both genotypes (GT) and depths (AD).
    pub fn learn_from(&mut self, table: &AlleleTable, column: usize) {
        for (i, site) in table.sites.iter().enumerate() {
            let (Some(g), Some([r, a])) = (table.genotype(i, column), table.depth(i, column))
            else {
                continue;
            };
            let e = self.sites.entry(site.clone()).or_default();
            match g {
                0 => {
                    e.ref_to_alt.0 += u64::from(a);
                    e.ref_to_alt.1 += u64::from(r + a);
                }
                2 => {
                    e.alt_to_ref.0 += u64::from(r);
                    e.alt_to_ref.1 += u64::from(r + a);
                }
                _ => {}
            }
        }
    }

    /// Pooled rate over all sites and both directions (for directions a site
    /// has too few reads in).
    pub fn pooled_rate(&self) -> Option<f64> {
        let (k, n) = self.sites.values().fold((0u64, 0u64), |acc, c| {
            (
                acc.0 + c.ref_to_alt.0 + c.alt_to_ref.0,
                acc.1 + c.ref_to_alt.1 + c.alt_to_ref.1,
            )
        });
        (n > 0).then(|| (k as f64 + 0.5) / (n as f64 + 1.0))
    }

    /// (REF→ALT, ALT→REF) for a site; a direction with fewer than MIN_DEPTH
    /// reads takes the pooled rate. None when the site is not in the table.
    pub fn rates(&self, site: &SiteKey) -> Option<[f64; 2]> {
        let c = self.sites.get(site)?;
        let fallback = self.fallback.or_else(|| self.pooled_rate())?;
        let rate = |(k, n): (u64, u64)| {
            if n >= MIN_DEPTH {
                site_rate(k, n)
            } else {
                fallback
            }
        };
        Some([rate(c.ref_to_alt), rate(c.alt_to_ref)])
    }

    pub fn to_tsv(&self) -> String {
        let mut keys: Vec<&SiteKey> = self.sites.keys().collect();
        keys.sort();
        let mut out = String::from(
            "chrom\tpos\tref\talt\talt_reads_at_hom_ref\tdepth_at_hom_ref\tref_reads_at_hom_alt\tdepth_at_hom_alt\n",
        );
        for k in keys {
            let c = &self.sites[k];
            let _ = writeln!(
                out,
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                k.chrom,
                k.pos,
                k.ref_base as char,
                k.alt_base as char,
                c.ref_to_alt.0,
                c.ref_to_alt.1,
                c.alt_to_ref.0,
                c.alt_to_ref.1
            );
        }
        out
    }

    pub fn read(path: &Path) -> Result<ErrorTable> {
        check_input_file(path)?;
        const COLUMNS: [&str; 8] = [
            "chrom",
            "pos",
            "ref",
            "alt",
            "alt_reads_at_hom_ref",
            "depth_at_hom_ref",
            "ref_reads_at_hom_alt",
            "depth_at_hom_alt",
        ];
        let mut t = open_tsv(path, false)?;
        let cols = t.require(path, &COLUMNS)?;
        let mut chroms = ChromInterner::default();
        let mut sites = HashMap::new();
        let mut seen = FirstSeen::default();
        for rec in t.reader.records() {
            let rec = rec.map_err(|e| {
                InputError::new(path, format!("malformed row: {e}"))
                    .at_line(e.position().map(|p| p.line()).unwrap_or(0))
            })?;
            let pos = parse_position(path, &rec, cols[1])?;
            let Some(site) = SiteKey::new(
                chroms.get(rec.get(cols[0]).unwrap_or("")),
                pos,
                rec.get(cols[2]).unwrap_or(""),
                rec.get(cols[3]).unwrap_or(""),
            ) else {
                continue;
            };
            let line = rec.position().map(|p| p.line()).unwrap_or(0).max(2);
            if let Err(first) = seen.insert(site.clone(), line) {
                return Err(duplicate_site_error(path, &rec, &site, first));
            }
            let v: Vec<u64> = (4..8)
                .map(|i| parse_u64(path, &rec, cols[i], COLUMNS[i]))
                .collect::<Result<_>>()?;
            // Each direction: reads (column 4 or 6) within its depth (5 or 7), and
            // a rate that can be a sequencing error: at 0.5 or above the
            // "homozygous" call itself is wrong, and such a rate would turn every
            // read into donor signal or none.
            for (reads, depth) in [(4, 5), (6, 7)] {
                let (k, n) = (v[reads - 4], v[depth - 4]);
                if k > n {
                    return Err(row_error(
                        path,
                        &rec,
                        COLUMNS[reads],
                        format!("{k} reads exceed {} {n}", COLUMNS[depth]),
                    ));
                }
                if n >= MIN_DEPTH && site_rate(k, n) >= MAX_ERROR_RATE {
                    return Err(row_error(
                        path,
                        &rec,
                        COLUMNS[reads],
                        format!(
                            "error rate {k}/{n} = {:.3} is not below {MAX_ERROR_RATE} (a wrong genotype call, not a sequencing error)",
                            k as f64 / n as f64
                        ),
                    ));
                }
            }
            sites.insert(
                site,
                SiteErrorCounts {
                    ref_to_alt: (v[0], v[1]),
                    alt_to_ref: (v[2], v[3]),
                },
            );
        }
        let table = ErrorTable {
            sites,
            fallback: None,
        };
        if let Some(p) = table.pooled_rate()
            && p >= MAX_ERROR_RATE
        {
            return Err(InputError::new(
                path,
                format!(
                    "pooled error rate {p:.3} over all sites is not below {MAX_ERROR_RATE}: not an error table of pure samples"
                ),
            )
            .into());
        }
        Ok(table)
    }
}
