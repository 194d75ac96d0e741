//! Consistency checks across a batch's rows that no single reader can make.

use std::collections::HashMap;
use std::path::Path;

use crate::formats::sheet::SampleRow;

/// Draws listed before "and N more" in one warning.
const MAX_LISTED: usize = 10;

/// Blood draws that read the same column of the same count file: two draws
/// cannot yield the same reads, so all but one carry a wrong file or sample
/// name, and their results merely repeat another draw's.
pub fn shared_reads(samples_sheet: &Path, rows: &[SampleRow]) -> Option<String> {
    let mut first: HashMap<(&Path, &str), (&str, u64)> = HashMap::new();
    let mut repeats: Vec<String> = Vec::new();
    let mut count = 0usize;
    for row in rows {
        let key = (row.counts.path.as_path(), row.counts.sample.as_str());
        match first.get(&key) {
            Some((id, line)) => {
                count += 1;
                if repeats.len() < MAX_LISTED {
                    repeats.push(format!(
                        "'{}' (line {}) = '{id}' (line {line})",
                        row.sample_id, row.line
                    ));
                }
            }
            None => {
                first.insert(key, (row.sample_id.as_str(), row.line));
            }
        }
    }
    if count == 0 {
        return None;
    }
    let more = count.saturating_sub(MAX_LISTED);
    Some(format!(
        "{}: {count} blood draw(s) use the same reads (count file and column) as an earlier draw, \
         so their results repeat it: {}{}",
        samples_sheet.display(),
        repeats.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    ))
}
