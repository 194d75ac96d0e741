//! `graftscan merge`: the results of scans of shards of one batch (each shard
//! a subset of its transplants, with all their draws) combined into one results
//! folder, as one scan of the whole batch would have written it.
//!
//! Every per-transplant result depends only on the transplant's own rows, the
//! panel and the settings, so the merged samples.csv, transplants.csv and
//! hla.csv are the shards' rows in the batch sheets' order, byte for byte. Two
//! things are batch-level in a scan and therefore per shard here: allele
//! frequencies estimated from the batch's genotypes (used only when there is
//! no panel and no INFO/AF) and the bootstrap seeds' order; `merge` refuses
//! shards whose run.json says either was in play, rather than merging results
//! that differ from an unsharded scan.
//!
//! report.html is assembled from the shards' reports: the first shard's
//! header, an overview recounted over all transplants and re-sorted as the
//! report sorts it (risk level, then transplant id), and every transplant's
//! section, with anchors renumbered to the batch sheet's order.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use clap::Args;

use crate::error::{Error, InputError, Result};
use crate::formats::sheet::CsvTable;
use crate::report::OutputSet;
use crate::report::html::{INPUT_WARNINGS_HEADING, input_warnings_html};
use crate::report::output::{InputPaths, ResultsFolder};
use crate::scan::DISCLAIMER;

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Shard result folders (each written by `graftscan scan`).
    #[arg(required = true)]
    pub shards: Vec<PathBuf>,
    /// The whole batch's folder (its transplants.csv and samples.csv give the order).
    #[arg(long)]
    pub batch: PathBuf,
    /// Output folder (written as one unit: it appears only when complete).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing merged results folder whole.
    #[arg(long)]
    pub force: bool,
    #[arg(long, short)]
    pub quiet: bool,
}

/// Ids of a sheet's rows in order, from its first column named `column`.
fn sheet_order(path: &Path, column: &str) -> Result<HashMap<String, usize>> {
    let table = CsvTable::read(path, None)?;
    let col = table.require(column)?;
    let mut order = HashMap::new();
    for (line, record) in &table.rows {
        let id = record.get(col).unwrap_or("").to_string();
        if order.insert(id.clone(), order.len()).is_some() {
            return Err(InputError::new(path, format!("duplicate {column} '{id}'"))
                .at_line(*line)
                .in_field(column)
                .into());
        }
    }
    Ok(order)
}

/// A results CSV split into its header line and raw rows (bytes kept as
/// written, so the merge reproduces them exactly), with the key column.
struct RawCsv {
    header: Vec<u8>,
    rows: Vec<(String, u64, Vec<u8>)>,
}

fn read_raw_csv(path: &Path, key: &str) -> Result<RawCsv> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(bytes.as_slice());
    let headers = reader
        .headers()
        .map_err(|e| InputError::new(path, format!("cannot read the header: {e}")).at_line(1))?
        .clone();
    let col = headers.iter().position(|h| h == key).ok_or_else(|| {
        Error::from(InputError::new(path, format!("missing column '{key}'")).at_line(1))
    })?;
    let mut starts: Vec<(String, u64, usize)> = Vec::new();
    for result in reader.records() {
        let record = result.map_err(|e| {
            InputError::new(path, format!("malformed row: {e}"))
                .at_line(e.position().map(|p| p.line()).unwrap_or(0))
        })?;
        let pos = record.position().map(|p| (p.line(), p.byte() as usize));
        let (line, byte) = pos.unwrap_or((0, bytes.len()));
        starts.push((record.get(col).unwrap_or("").to_string(), line, byte));
    }
    let header_end = starts.first().map_or(bytes.len(), |s| s.2);
    let mut rows = Vec::with_capacity(starts.len());
    for (i, (id, line, start)) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map_or(bytes.len(), |s| s.2);
        rows.push((id.clone(), *line, bytes[*start..end].to_vec()));
    }
    Ok(RawCsv {
        header: bytes[..header_end].to_vec(),
        rows,
    })
}

/// One merged CSV: rows ordered by `order[key]`, shard order within a key.
fn merge_csv(
    shards: &[PathBuf],
    name: &str,
    key: &str,
    order: &HashMap<String, usize>,
    unique: bool,
) -> Result<Option<Vec<u8>>> {
    let mut header: Option<(PathBuf, Vec<u8>)> = None;
    let mut rows: Vec<(usize, usize, Vec<u8>)> = Vec::new();
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    for shard in shards {
        let path = shard.join(name);
        if !path.is_file() {
            continue;
        }
        let csv = read_raw_csv(&path, key)?;
        match &header {
            Some((first, h)) if *h != csv.header => {
                return Err(InputError::new(
                    &path,
                    format!(
                        "header differs from {}: shards of one merge must come from the same graftscan and options",
                        first.display()
                    ),
                )
                .at_line(1)
                .into());
            }
            Some(_) => {}
            None => header = Some((path.clone(), csv.header.clone())),
        }
        for (id, line, raw) in csv.rows {
            let Some(&rank) = order.get(&id) else {
                return Err(InputError::new(
                    &path,
                    format!("{key} '{id}' is not in the batch sheet"),
                )
                .at_line(line)
                .in_field(key)
                .into());
            };
            if unique && let Some(other) = seen.insert(id.clone(), path.clone()) {
                return Err(InputError::new(
                    &path,
                    format!(
                        "{key} '{id}' is also in {}: a transplant belongs to one shard",
                        other.display()
                    ),
                )
                .at_line(line)
                .in_field(key)
                .into());
            }
            rows.push((rank, rows.len(), raw));
        }
    }
    let Some((_, header)) = header else {
        return Ok(None);
    };
    rows.sort_by_key(|r| (r.0, r.1));
    let mut out = header;
    for (_, _, raw) in rows {
        out.extend_from_slice(&raw);
    }
    Ok(Some(out))
}

/// The parts of one shard's report.
struct ReportParts {
    head: String,
    /// (transplant id as linked, row html with the local anchor).
    rows: Vec<(String, String)>,
    /// (local anchor index, section html).
    sections: Vec<(usize, String)>,
    footer: String,
}

const OVERVIEW: &str = "<h2>Batch overview</h2>";
const SECTION: &str = "<section class=\"transplant\" id=\"t-";

fn split_report(path: &Path) -> Result<ReportParts> {
    let html = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let malformed = || Error::from(InputError::new(path, "not a graftscan report.html"));
    let ov = html.find(OVERVIEW).ok_or_else(malformed)?;
    let tbody = ov + html[ov..].find("<tbody>").ok_or_else(malformed)? + "<tbody>".len();
    let tbody_end = tbody
        + html[tbody..]
            .find("</tbody></table>")
            .ok_or_else(malformed)?;
    let mut rows = Vec::new();
    for row in html[tbody..tbody_end].split_inclusive("</tr>") {
        let link = row.find("<a href=\"#t-").ok_or_else(malformed)?;
        let text_start = link + row[link..].find('>').ok_or_else(malformed)? + 1;
        let text_end = text_start + row[text_start..].find("</a>").ok_or_else(malformed)?;
        rows.push((row[text_start..text_end].to_string(), row.to_string()));
    }
    let mut sections = Vec::new();
    let mut at = tbody_end;
    let mut footer_start = at + "</tbody></table>".len();
    while let Some(rel) = html[at..].find(SECTION) {
        let start = at + rel;
        let end =
            start + html[start..].find("</section>").ok_or_else(malformed)? + "</section>".len();
        let digits = &html[start + SECTION.len()..];
        let n: usize = digits[..digits.find('"').ok_or_else(malformed)?]
            .parse()
            .map_err(|_| malformed())?;
        sections.push((n, html[start..end].to_string()));
        at = end;
        footer_start = end;
    }
    Ok(ReportParts {
        head: html[..ov].to_string(),
        rows,
        sections,
        footer: html[footer_start..].to_string(),
    })
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Column values of a merged CSV, by column name.
fn column_values(bytes: &[u8], column: &str) -> Result<Vec<(String, String)>> {
    let mut reader = csv::Reader::from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| Error::Usage(format!("merged table: {e}")))?
        .clone();
    let col = headers
        .iter()
        .position(|h| h == column)
        .ok_or_else(|| Error::Usage(format!("merged table lacks column '{column}'")))?;
    let mut out = Vec::new();
    for r in reader.records() {
        let r = r.map_err(|e| Error::Usage(format!("merged table: {e}")))?;
        out.push((
            r.get(0).unwrap_or("").to_string(),
            r.get(col).unwrap_or("").to_string(),
        ));
    }
    Ok(out)
}

fn merge_reports(
    shards: &[PathBuf],
    transplant_order: &HashMap<String, usize>,
    transplants_csv: &[u8],
    samples_csv: &[u8],
    input_warnings: &[String],
) -> Result<Vec<u8>> {
    let levels: HashMap<String, String> = column_values(transplants_csv, "risk_level")?
        .into_iter()
        .collect();
    let qc = column_values(samples_csv, "qc")?;
    // The report's overview order: risk level (as RiskLevel orders it), then id.
    let rank = |level: &str| match level {
        "high" => 0,
        "moderate" => 1,
        "low" => 2,
        _ => 3,
    };
    let mut head = None;
    let mut footer = None;
    let mut entries: Vec<(usize, String, String, String)> = Vec::new();
    for shard in shards {
        let parts = split_report(&shard.join("report.html"))?;
        let mut by_anchor: HashMap<usize, String> = parts.sections.into_iter().collect();
        for (linked_id, row) in parts.rows {
            let id = transplant_order
                .keys()
                .find(|k| escape_html(k) == linked_id)
                .cloned()
                .ok_or_else(|| {
                    Error::from(InputError::new(
                        &shard.join("report.html"),
                        format!("transplant '{linked_id}' is not in the batch sheet"),
                    ))
                })?;
            let global = transplant_order[&id];
            let local_anchor = row
                .split("href=\"#t-")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .and_then(|s| s.parse::<usize>().ok())
                .ok_or_else(|| {
                    Error::from(InputError::new(
                        &shard.join("report.html"),
                        "not a graftscan report.html",
                    ))
                })?;
            let section = by_anchor.remove(&local_anchor).unwrap_or_default();
            let row = row.replace(
                &format!("href=\"#t-{local_anchor}\""),
                &format!("href=\"#t-{global}\""),
            );
            let section = section.replacen(
                &format!("{SECTION}{local_anchor}\""),
                &format!("{SECTION}{global}\""),
                1,
            );
            entries.push((
                rank(levels.get(&id).map_or("", String::as_str)),
                id,
                row,
                section,
            ));
        }
        head.get_or_insert(parts.head);
        footer.get_or_insert(parts.footer);
    }
    entries.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    let count_level = |n: usize| entries.iter().filter(|e| e.0 == n).count();
    let count_qc = |v: &str| qc.iter().filter(|(_, q)| q == v).count();
    // The first shard's head, with the input warnings of every shard.
    let mut html = head.unwrap_or_default();
    if let Some(at) = html.find(INPUT_WARNINGS_HEADING) {
        let end = at + html[at..].find("</ul>").map_or(0, |e| e + "</ul>".len());
        html.replace_range(at..end.max(at), "");
    }
    html.push_str(&input_warnings_html(input_warnings));
    html.push_str(&format!(
        "{OVERVIEW}<p>{} transplants, {} blood draws: {} high, {} moderate, {} low, {} not assessable. \
         QC: {} PASS, {} REVIEW, {} FAIL.</p>",
        entries.len(),
        qc.len(),
        count_level(0),
        count_level(1),
        count_level(2),
        count_level(3),
        count_qc("PASS"),
        count_qc("REVIEW"),
        count_qc("FAIL"),
    ));
    html.push_str(
        "<table><thead><tr><th>level</th><th>transplant</th><th>organ</th><th>relationship</th>\
         <th>draws</th><th>latest draw</th><th>dd-cfDNA % [95% CI]</th><th>QC</th><th>why</th></tr></thead><tbody>",
    );
    for e in &entries {
        html.push_str(&e.2);
    }
    html.push_str("</tbody></table>");
    for e in &entries {
        html.push_str(&e.3);
    }
    let footer = footer.unwrap_or_default().replacen(
        "<footer><h3>Provenance</h3><ul>",
        &format!(
            "<footer><h3>Provenance</h3><ul><li>merged by graftscan merge from {} shard results; the lines below are the first shard's</li>",
            shards.len()
        ),
        1,
    );
    html.push_str(&footer);
    Ok(html.into_bytes())
}

fn read_json(path: &Path) -> Result<serde_json::Value> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| InputError::new(path, format!("not JSON: {e}")).into())
}

/// Everything `merge` writes.
const MERGED_OUTPUTS: &[&str] = &[
    "samples.csv",
    "transplants.csv",
    "hla.csv",
    "report.html",
    "run.json",
];

pub fn run(a: MergeArgs) -> Result<()> {
    // Before any work: the merged folder can be written and is none of the inputs.
    let mut inputs = InputPaths::default();
    inputs.folder(&a.batch);
    for shard in &a.shards {
        inputs.folder(shard);
    }
    let folder = ResultsFolder::prepare(&a.out, "--out", a.force, MERGED_OUTPUTS, &inputs)?;
    let transplant_order = sheet_order(&a.batch.join("transplants.csv"), "transplant_id")?;
    let sample_order = sheet_order(&a.batch.join("samples.csv"), "sample_id")?;
    let mut runs = Vec::new();
    for shard in &a.shards {
        let run = read_json(&shard.join("run.json"))?;
        let path = shard.join("run.json");
        let panel = &run["allele_frequencies"]["panel"];
        let panel_misses_sites = panel["counted_sites_covered"]
            .as_u64()
            .zip(panel["counted_sites"].as_u64())
            .is_some_and(|(covered, counted)| covered < counted);
        if run["allele_frequencies"]["kind"] == "batch_genotypes" || panel_misses_sites {
            return Err(InputError::new(
                &path,
                "allele frequencies were estimated from this shard's genotypes (no panel, or SNPs the panel does not cover), so results depend on the sharding: give the batch a panel (panel.tsv) covering every SNP before sharding",
            )
            .into());
        }
        if run["parameters"]["estimator"]["bootstrap_replicates"]
            .as_u64()
            .is_some_and(|b| b > 0)
        {
            return Err(InputError::new(
                &path,
                "bootstrap intervals depend on a sample's place in the batch: scan shards without --bootstrap",
            )
            .into());
        }
        runs.push(serde_json::json!({"shard": shard, "run": run}));
    }
    let samples = merge_csv(&a.shards, "samples.csv", "sample_id", &sample_order, true)?
        .ok_or_else(|| Error::Usage("no shard folder holds samples.csv".into()))?;
    let transplants = merge_csv(
        &a.shards,
        "transplants.csv",
        "transplant_id",
        &transplant_order,
        true,
    )?
    .ok_or_else(|| Error::Usage("no shard folder holds transplants.csv".into()))?;
    let merged_ids: Vec<String> = column_values(&transplants, "transplant_id")?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    if merged_ids.len() != transplant_order.len() {
        let mut missing: Vec<&String> = transplant_order
            .keys()
            .filter(|k| !merged_ids.contains(k))
            .collect();
        missing.sort();
        return Err(Error::Usage(format!(
            "the shards lack {} of the batch's transplants ({}): was a shard left out?",
            missing.len(),
            missing
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let hla = merge_csv(
        &a.shards,
        "hla.csv",
        "transplant_id",
        &transplant_order,
        false,
    )?;
    let mut warnings: Vec<String> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let mut input_warnings: Vec<String> = Vec::new();
    for r in &runs {
        for (list, key) in [
            (&mut warnings, "warnings"),
            (&mut notes, "notes"),
            (&mut input_warnings, "input_warnings"),
        ] {
            for w in r["run"][key].as_array().into_iter().flatten() {
                if let Some(s) = w.as_str()
                    && !list.iter().any(|x| x == s)
                {
                    list.push(s.to_string());
                }
            }
        }
    }
    let report = merge_reports(
        &a.shards,
        &transplant_order,
        &transplants,
        &samples,
        &input_warnings,
    )?;
    let run_json = serde_json::json!({
        "tool": "graftscan",
        "version": env!("CARGO_PKG_VERSION"),
        "command_line": std::env::args().collect::<Vec<_>>(),
        "disclaimer": DISCLAIMER,
        "merged_from": runs,
        "warnings": warnings,
        "input_warnings": input_warnings,
        "notes": notes,
        "counts": {
            "transplants": merged_ids.len(),
            "samples": column_values(&samples, "sample_id")?.len(),
            "shards": a.shards.len(),
        },
    });
    let mut set = OutputSet::default();
    set.add("samples.csv", samples);
    set.add("transplants.csv", transplants);
    if let Some(h) = hla {
        set.add("hla.csv", h);
    }
    set.add("report.html", report);
    set.add(
        "run.json",
        serde_json::to_vec_pretty(&run_json)
            .map_err(|e| Error::Usage(format!("cannot render run.json: {e}")))?,
    );
    let written = folder.commit(set)?;
    for n in folder.notes() {
        eprintln!("graftscan: {n}");
    }
    if !a.quiet {
        eprintln!(
            "graftscan merge: {} transplants from {} shards → {} files in {}",
            merged_ids.len(),
            a.shards.len(),
            written.len(),
            a.out.display()
        );
    }
    Ok(())
}
