//! Panel file: `chrom pos ref alt af` (population ALT allele frequency per SNP).

use std::collections::HashMap;
use std::path::Path;

use crate::error::{InputError, Result};
use crate::formats::site::{ChromInterner, SiteKey};
use crate::formats::tsv::{open_tsv, parse_u64, row_error};

pub fn read_panel(path: &Path) -> Result<HashMap<SiteKey, f64>> {
    if !path.exists() {
        return Err(InputError::new(path, "panel file not found").into());
    }
    let mut table = open_tsv(path, false)?;
    let cols = table.require(path, &["chrom", "pos", "ref", "alt", "af"])?;
    let mut chroms = ChromInterner::default();
    let mut out = HashMap::new();
    for result in table.reader.records() {
        let record = result.map_err(|e| {
            InputError::new(path, format!("malformed row: {e}"))
                .at_line(e.position().map(|p| p.line()).unwrap_or(0))
        })?;
        let pos = parse_u64(path, &record, cols[1], "pos")?;
        let Some(site) = SiteKey::new(
            chroms.get(record.get(cols[0]).unwrap_or("")),
            pos,
            record.get(cols[2]).unwrap_or(""),
            record.get(cols[3]).unwrap_or(""),
        ) else {
            continue;
        };
        let raw = record.get(cols[4]).unwrap_or("");
        let af: f64 = raw
            .parse()
            .ok()
            .filter(|x: &f64| (0.0..=1.0).contains(x))
            .ok_or_else(|| {
                row_error(
                    path,
                    &record,
                    "af",
                    format!("'{raw}' is not a frequency in [0, 1]"),
                )
            })?;
        out.insert(site, af);
    }
    Ok(out)
}
