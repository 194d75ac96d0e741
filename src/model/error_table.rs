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
use crate::formats::site::{ChromInterner, SiteKey};
use crate::formats::tsv::{open_tsv, parse_u64, row_error};

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
                ((k as f64 + 0.5) / (n as f64 + 1.0)).max(1e-6)
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
        if !path.is_file() {
            return Err(InputError::new(path, "error table not found").into());
        }
        let mut t = open_tsv(path, false)?;
        let cols = t.require(
            path,
            &[
                "chrom",
                "pos",
                "ref",
                "alt",
                "alt_reads_at_hom_ref",
                "depth_at_hom_ref",
                "ref_reads_at_hom_alt",
                "depth_at_hom_alt",
            ],
        )?;
        let mut chroms = ChromInterner::default();
        let mut sites = HashMap::new();
        for rec in t.reader.records() {
            let rec = rec.map_err(|e| {
                InputError::new(path, format!("malformed row: {e}"))
                    .at_line(e.position().map(|p| p.line()).unwrap_or(0))
            })?;
            let pos = parse_u64(path, &rec, cols[1], "pos")?;
            let Some(site) = SiteKey::new(
                chroms.get(rec.get(cols[0]).unwrap_or("")),
                pos,
                rec.get(cols[2]).unwrap_or(""),
                rec.get(cols[3]).unwrap_or(""),
            ) else {
                continue;
            };
            let v: Vec<u64> = (4..8)
                .map(|i| {
                    parse_u64(
                        path,
                        &rec,
                        cols[i],
                        [
                            "",
                            "",
                            "",
                            "",
                            "alt_reads_at_hom_ref",
                            "depth_at_hom_ref",
                            "ref_reads_at_hom_alt",
                            "depth_at_hom_alt",
                        ][i],
                    )
                })
                .collect::<Result<_>>()?;
            if v[0] > v[1] || v[2] > v[3] {
                return Err(row_error(
                    path,
                    &rec,
                    "depth_at_hom_ref",
                    "reads exceed depth".into(),
                ));
            }
            sites.insert(
                site,
                SiteErrorCounts {
                    ref_to_alt: (v[0], v[1]),
                    alt_to_ref: (v[2], v[3]),
                },
            );
        }
        Ok(ErrorTable {
            sites,
            fallback: None,
        })
    }
}
