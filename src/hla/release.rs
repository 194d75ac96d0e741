//! Reader for a user-supplied IPD-IMGT/HLA release directory (`--hla-db DIR`
//! or `GRAFTSCAN_HLA_DB`). graftscan ships no IPD data: the database is CC BY-ND
//! and derived tables may not be redistributed, so everything here is read at
//! run time from the user's copy, and its release is recorded in every output.
//!
//! Files: `wmda/rel_dna_ser.txt` (6 fields, or 7 from release 3.64.0 with the
//! HATS assignment), `wmda/rel_ser_ser.txt`, `Allelelist.txt`, `release_version.txt`.
//!
//! Cite with any use: Barker DJ et al., Nucleic Acids Res 2023;51:D948-D955;
//! Robinson J et al., HLA 2024;103:e15549; Robinson J et al., Tissue Antigens
//! 2000;55:280-287.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::error::{Error, InputError, Result};
use crate::hla::nomenclature::{AlleleName, Antigen, Gene, Locus, parse_allele};

/// Environment variable naming the release directory when `--hla-db` is absent.
pub const HLA_DB_ENV: &str = "GRAFTSCAN_HLA_DB";

/// One line of rel_dna_ser.txt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerologyRecord {
    pub allele: AlleleName,
    /// USA: unambiguous antigen.
    pub unambiguous: Vec<u16>,
    /// PSA: possible antigens.
    pub possible: Vec<u16>,
    /// ASA: assumed antigen.
    pub assumed: Vec<u16>,
    /// EAE: expert-assigned exceptions (kept, not used for assignment).
    pub expert: Vec<u16>,
    /// HATS assignment (7th field, releases 3.64.0+).
    pub hats: Option<String>,
    /// `0` in the USA field, or an `N` suffix.
    pub null: bool,
}

/// Allele groups of identical antigen-recognition domain: P (protein,
/// `hla_nom_p.txt`) and G (nucleotide, `hla_nom_g.txt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupKind {
    P,
    G,
}

/// Which rel_dna_ser column an antigen assignment came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SerologySource {
    Unambiguous,
    Possible,
    Assumed,
    /// No antigen is assigned (`?` or empty): compare this locus at allele level.
    None,
    Null,
}

/// The split antigen(s) of a typed allele. Policy: the unambiguous antigen
/// (USA) of the matching expressed alleles; if none, the possible antigens
/// (PSA, `0` dropped); if none, the assumed antigen (ASA). Several antigens mean
/// the assignment is ambiguous; a donor allele then matches if the recipient
/// has any of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Serology {
    pub antigens: Vec<Antigen>,
    pub source: SerologySource,
}

/// Parse one data line of rel_dna_ser.txt (6 or 7 `;`-separated fields).
pub fn parse_rel_dna_ser_line(line: &str) -> std::result::Result<Option<SerologyRecord>, String> {
    let fields: Vec<&str> = line.trim_end_matches(['\r', '\n']).split(';').collect();
    if fields.len() != 6 && fields.len() != 7 {
        return Err(format!(
            "expected 6 fields (LOCUS*;ALLELE;USA;PSA;ASA;EAE) or 7 (with HATS), found {}",
            fields.len()
        ));
    }
    let gene_text = fields[0].trim_end_matches('*');
    let Some(gene) = Gene::parse(gene_text) else {
        // Loci graftscan does not match (DRB6, MICA, ...) are skipped.
        return Ok(None);
    };
    let allele = parse_allele(&format!("{}*{}", gene.name(), fields[1]))
        .map_err(|e| format!("allele: {e}"))?;
    let numbers = |text: &str, what: &str| -> std::result::Result<(Vec<u16>, bool), String> {
        let mut out = Vec::new();
        let mut zero = false;
        for part in text
            .split('/')
            .map(str::trim)
            .filter(|p| !p.is_empty() && *p != "?")
        {
            let n: u16 = part
                .parse()
                .map_err(|_| format!("{what} '{part}' is not an antigen number"))?;
            if n == 0 {
                zero = true;
            } else {
                out.push(n);
            }
        }
        Ok((out, zero))
    };
    let (unambiguous, usa_null) = numbers(fields[2], "USA")?;
    let (possible, _) = numbers(fields[3], "PSA")?;
    let (assumed, _) = numbers(fields[4], "ASA")?;
    let (expert, _) = numbers(fields[5], "EAE")?;
    let hats = fields
        .get(6)
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty());
    let null = usa_null || allele.is_null();
    Ok(Some(SerologyRecord {
        allele,
        unambiguous,
        possible,
        assumed,
        expert,
        hats,
        null,
    }))
}

/// The antigen locus for a serologic number of a gene (`DRB4` 53 → DRB345).
fn antigen_locus(gene: Gene) -> Option<Locus> {
    match gene {
        Gene::Dqa1 | Gene::Dpa1 | Gene::Dpb1 => None,
        g => Some(g.locus()),
    }
}

/// The locus of an antigen as named in rel_ser_ser.txt (`Cw`, `DR`, `DQ`).
fn ser_ser_locus(prefix: &str, number: u16) -> Option<Locus> {
    match prefix {
        "A" => Some(Locus::A),
        "B" => Some(Locus::B),
        "Cw" | "C" => Some(Locus::C),
        "DR" if matches!(number, 51..=53) => Some(Locus::Drb345),
        "DR" => Some(Locus::Drb1),
        "DQ" => Some(Locus::Dqb1),
        _ => None,
    }
}

#[derive(Debug, Clone)]
pub struct Release {
    pub dir: PathBuf,
    /// e.g. "3.58.0", from release_version.txt.
    pub version: String,
    records: Vec<SerologyRecord>,
    /// `A*02:01` (and every other prefix, and full names) → record indices.
    by_prefix: HashMap<String, Vec<usize>>,
    /// Every known allele name and its prefixes (Allelelist.txt when present).
    known: HashSet<String>,
    /// split → broad (SPLITS column of rel_ser_ser.txt).
    split_parent: HashMap<Antigen, Antigen>,
    /// associated antigen → the antigen it is associated with (A2403 → A24).
    associated_parent: HashMap<Antigen, Antigen>,
    /// A short null name (`DRB4*01:03N`) → the full null names it may mean.
    null_names: HashMap<String, Vec<String>>,
    /// Every antigen the release knows of.
    antigens: HashSet<Antigen>,
    /// Full allele name → P group / G group (own 2- or 3-field name when the
    /// file lists the allele without a group); empty if the file is absent.
    p_groups: HashMap<String, String>,
    g_groups: HashMap<String, String>,
}

/// Read wmda/hla_nom_p.txt or hla_nom_g.txt (`LOCUS*;allele/allele/...;GROUP`).
fn read_groups(path: &Path, kind: GroupKind) -> Result<HashMap<String, String>> {
    let mut out = HashMap::new();
    if !path.is_file() {
        return Ok(out);
    }
    let text = read_text(path)?;
    for (i, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.trim_end().split(';').collect();
        if fields.len() != 3 {
            return Err(InputError::new(
                path,
                format!(
                    "expected 3 fields (LOCUS*;ALLELES;GROUP), found {}",
                    fields.len()
                ),
            )
            .at_line(i as u64 + 1)
            .into());
        }
        let gene_text = fields[0].trim_end_matches('*');
        let Some(gene) = Gene::parse(gene_text) else {
            continue;
        };
        for allele in fields[1].split('/').filter(|a| !a.is_empty()) {
            let name = format!("{}*{allele}", gene.name());
            let group = if fields[2].is_empty() {
                let parsed = parse_allele(&name)
                    .map_err(|e| Error::from(InputError::new(path, e.0).at_line(i as u64 + 1)))?;
                let n = match kind {
                    GroupKind::P => 2,
                    GroupKind::G => 3,
                };
                let mut own = format!(
                    "{}*{}",
                    gene.name(),
                    parsed.fields[..n.min(parsed.fields.len())].join(":")
                );
                if let Some(e) = parsed.expression {
                    own.push(e.letter());
                }
                own
            } else {
                format!("{}*{}", gene.name(), fields[2])
            };
            out.insert(name, group);
        }
    }
    Ok(out)
}

fn prefixes(a: &AlleleName) -> Vec<String> {
    let mut out = Vec::new();
    for n in 1..=a.fields.len() {
        out.push(format!("{}*{}", a.gene.name(), a.fields[..n].join(":")));
    }
    out.push(a.to_string());
    out
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::io(path, e))
}

fn header_version(text: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix("# version:"))
        .map(|v| {
            v.trim()
                .trim_start_matches("IPD-IMGT/HLA")
                .trim()
                .to_string()
        })
        .filter(|v| !v.is_empty())
}

impl Release {
    /// `--hla-db` if given, else `GRAFTSCAN_HLA_DB`, else `None`.
    pub fn locate(flag: Option<&Path>) -> Option<PathBuf> {
        flag.map(Path::to_path_buf).or_else(|| {
            std::env::var_os(HLA_DB_ENV)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
    }

    pub fn load(dir: &Path) -> Result<Release> {
        if !dir.is_dir() {
            return Err(InputError::new(
                dir,
                "IPD-IMGT/HLA release directory not found (give --hla-db DIR or set GRAFTSCAN_HLA_DB)",
            )
            .into());
        }
        let dna_ser_path = dir.join("wmda").join("rel_dna_ser.txt");
        if !dna_ser_path.is_file() {
            return Err(InputError::new(
                &dna_ser_path,
                "missing: an IPD-IMGT/HLA release directory must contain wmda/rel_dna_ser.txt",
            )
            .into());
        }
        let dna_ser = read_text(&dna_ser_path)?;
        let mut records = Vec::new();
        for (i, line) in dna_ser.lines().enumerate() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            match parse_rel_dna_ser_line(line) {
                Ok(Some(r)) => records.push(r),
                Ok(None) => {}
                Err(msg) => {
                    return Err(InputError::new(&dna_ser_path, msg)
                        .at_line(i as u64 + 1)
                        .into());
                }
            }
        }
        let mut by_prefix: HashMap<String, Vec<usize>> = HashMap::new();
        let mut antigens = HashSet::new();
        for (i, r) in records.iter().enumerate() {
            for p in prefixes(&r.allele) {
                by_prefix.entry(p).or_default().push(i);
            }
            if let Some(locus) = antigen_locus(r.allele.gene) {
                for n in r.unambiguous.iter().chain(&r.possible).chain(&r.assumed) {
                    antigens.insert(Antigen::new(locus, *n));
                }
            }
        }

        let allelelist_path = dir.join("Allelelist.txt");
        let mut known = HashSet::new();
        let mut null_names: HashMap<String, Vec<String>> = HashMap::new();
        let mut add_null = |a: &AlleleName| {
            if a.is_null() {
                for n in 1..a.fields.len() {
                    let short = format!("{}*{}N", a.gene.name(), a.fields[..n].join(":"));
                    null_names.entry(short).or_default().push(a.to_string());
                }
            }
        };
        if allelelist_path.is_file() {
            let text = read_text(&allelelist_path)?;
            for (i, line) in text.lines().enumerate() {
                if line.starts_with('#') || line.starts_with("AlleleID") || line.trim().is_empty() {
                    continue;
                }
                let Some((_, name)) = line.split_once(',') else {
                    return Err(
                        InputError::new(&allelelist_path, "expected AlleleID,Allele")
                            .at_line(i as u64 + 1)
                            .into(),
                    );
                };
                let name = name.trim();
                let gene = name.split('*').next().unwrap_or("");
                if Gene::parse(gene).is_none() {
                    continue;
                }
                let allele = parse_allele(name).map_err(|e| {
                    Error::from(InputError::new(&allelelist_path, e.0).at_line(i as u64 + 1))
                })?;
                known.extend(prefixes(&allele));
                add_null(&allele);
            }
        } else {
            known.extend(by_prefix.keys().cloned());
            for r in &records {
                add_null(&r.allele);
            }
        }
        for names in null_names.values_mut() {
            names.sort();
            names.dedup();
        }

        let ser_ser_path = dir.join("wmda").join("rel_ser_ser.txt");
        let mut split_parent = HashMap::new();
        let mut associated_parent = HashMap::new();
        if ser_ser_path.is_file() {
            let text = read_text(&ser_ser_path)?;
            for (i, line) in text.lines().enumerate() {
                if line.starts_with('#') || line.trim().is_empty() {
                    continue;
                }
                let fields: Vec<&str> = line.trim_end().split(';').collect();
                if fields.len() != 4 {
                    return Err(InputError::new(
                        &ser_ser_path,
                        format!(
                            "expected 4 fields (LOCUS;ANTIGEN;SPLITS;ASSOCIATED), found {}",
                            fields.len()
                        ),
                    )
                    .at_line(i as u64 + 1)
                    .into());
                }
                let bad = |what: &str, v: &str| {
                    Error::from(
                        InputError::new(&ser_ser_path, format!("{what} '{v}' is not a number"))
                            .at_line(i as u64 + 1),
                    )
                };
                let n: u16 = fields[1]
                    .trim()
                    .parse()
                    .map_err(|_| bad("antigen", fields[1]))?;
                let Some(locus) = ser_ser_locus(fields[0].trim(), n) else {
                    continue; // Dw and other cellular specificities.
                };
                let broad = Antigen::new(locus, n);
                antigens.insert(broad);
                for (list, parent) in [
                    (fields[2], &mut split_parent),
                    (fields[3], &mut associated_parent),
                ] {
                    for part in list.split('/').map(str::trim).filter(|p| !p.is_empty()) {
                        let m: u16 = part.parse().map_err(|_| bad("split", part))?;
                        let child_locus = ser_ser_locus(fields[0].trim(), m).unwrap_or(locus);
                        let child = Antigen::new(child_locus, m);
                        antigens.insert(child);
                        parent.insert(child, broad);
                    }
                }
            }
        }

        let version_path = dir.join("release_version.txt");
        let version = if version_path.is_file() {
            let text = read_text(&version_path)?;
            header_version(&text).or_else(|| {
                text.lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(str::to_string)
            })
        } else {
            None
        }
        .or_else(|| header_version(&dna_ser))
        .unwrap_or_else(|| "unknown".to_string());

        let p_groups = read_groups(&dir.join("wmda").join("hla_nom_p.txt"), GroupKind::P)?;
        let g_groups = read_groups(&dir.join("wmda").join("hla_nom_g.txt"), GroupKind::G)?;
        Ok(Release {
            dir: dir.to_path_buf(),
            version,
            records,
            by_prefix,
            known,
            split_parent,
            associated_parent,
            null_names,
            antigens,
            p_groups,
            g_groups,
        })
    }

    /// The citation to print with any output that used the release.
    pub fn citation(&self) -> String {
        format!(
            "IPD-IMGT/HLA release {} (Barker et al., Nucleic Acids Res 2023;51:D948; Robinson et al., HLA 2024;103:e15549)",
            self.version
        )
    }

    /// Is this allele name (any resolution) in the release?
    pub fn contains(&self, a: &AlleleName) -> bool {
        let key = if a.any_in_group {
            format!("{}*{}", a.gene.name(), a.fields.join(":"))
        } else {
            a.to_string()
        };
        self.known.contains(&key)
    }

    /// Error text for an allele absent from the release.
    pub fn require(&self, a: &AlleleName) -> std::result::Result<(), String> {
        if self.contains(a) {
            Ok(())
        } else {
            Err(format!(
                "allele {a} is not in IPD-IMGT/HLA release {} ({})",
                self.version,
                self.dir.display()
            ))
        }
    }

    /// Known to the release, or one of the DPw1–DPw6 specificities (which no
    /// release file lists).
    pub fn knows_antigen(&self, a: &Antigen) -> bool {
        self.antigens.contains(a) || a.is_dp_specificity()
    }

    /// The full names of the null alleles a short null name (`DRB4*01:03N`,
    /// not itself a name in the release) may mean; empty when none.
    pub fn null_candidates(&self, a: &AlleleName) -> &[String] {
        if !a.is_null() || a.any_in_group {
            return &[];
        }
        self.null_names
            .get(&a.to_string())
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The release's alignments folder (`alignments/<GENE>_prot.txt`).
    pub fn alignments_dir(&self) -> PathBuf {
        self.dir.join("alignments")
    }

    pub fn records(&self) -> &[SerologyRecord] {
        &self.records
    }

    /// The split antigen(s) of a typed allele, per the policy on [`Serology`].
    pub fn serology(&self, a: &AlleleName) -> Serology {
        let Some(locus) = antigen_locus(a.gene) else {
            return Serology {
                antigens: Vec::new(),
                source: if a.is_null() {
                    SerologySource::Null
                } else {
                    SerologySource::None
                },
            };
        };
        let key = if a.any_in_group {
            format!("{}*{}", a.gene.name(), a.fields.join(":"))
        } else if a.expression.is_some() && self.by_prefix.contains_key(&a.to_string()) {
            a.to_string()
        } else {
            format!("{}*{}", a.gene.name(), a.fields.join(":"))
        };
        let indices = self.by_prefix.get(&key).map(Vec::as_slice).unwrap_or(&[]);
        let candidates: Vec<&SerologyRecord> = indices.iter().map(|&i| &self.records[i]).collect();
        if a.is_null() || (!candidates.is_empty() && candidates.iter().all(|r| r.null)) {
            return Serology {
                antigens: Vec::new(),
                source: SerologySource::Null,
            };
        }
        let expressed: Vec<&&SerologyRecord> = candidates.iter().filter(|r| !r.null).collect();
        let pick = |f: fn(&SerologyRecord) -> &Vec<u16>| -> Vec<Antigen> {
            let mut v: Vec<Antigen> = expressed
                .iter()
                .flat_map(|r| f(r).iter().map(|&n| Antigen::new(locus, n)))
                .collect();
            v.sort();
            v.dedup();
            v
        };
        for (f, source) in [
            (
                (|r: &SerologyRecord| &r.unambiguous) as fn(&SerologyRecord) -> &Vec<u16>,
                SerologySource::Unambiguous,
            ),
            (|r: &SerologyRecord| &r.possible, SerologySource::Possible),
            (|r: &SerologyRecord| &r.assumed, SerologySource::Assumed),
        ] {
            let v = pick(f);
            if !v.is_empty() {
                return Serology {
                    antigens: v,
                    source,
                };
            }
        }
        Serology {
            antigens: Vec::new(),
            source: SerologySource::None,
        }
    }

    /// Does the release carry the P (or G) group file?
    pub fn has_groups(&self, kind: GroupKind) -> bool {
        match kind {
            GroupKind::P => !self.p_groups.is_empty(),
            GroupKind::G => !self.g_groups.is_empty(),
        }
    }

    /// The P or G group(s) of a typed allele: of the matching expressed alleles
    /// (all, for a typed null). Several groups mean the typing is ambiguous at
    /// this level.
    pub fn groups(&self, a: &AlleleName, kind: GroupKind) -> Vec<String> {
        let map = match kind {
            GroupKind::P => &self.p_groups,
            GroupKind::G => &self.g_groups,
        };
        let key = if a.any_in_group {
            format!("{}*{}", a.gene.name(), a.fields.join(":"))
        } else if a.expression.is_some() && self.by_prefix.contains_key(&a.to_string()) {
            a.to_string()
        } else {
            format!("{}*{}", a.gene.name(), a.fields.join(":"))
        };
        let indices = self.by_prefix.get(&key).map(Vec::as_slice).unwrap_or(&[]);
        let want_null = a.is_null();
        let mut v: Vec<String> = indices
            .iter()
            .map(|&i| &self.records[i])
            .filter(|r| r.allele.is_null() == want_null)
            .filter_map(|r| map.get(&r.allele.to_string()).cloned())
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// The antigen an associated antigen belongs to (A2403 → A24, DR1403 →
    /// DR14), or the antigen itself.
    pub fn associated_parent(&self, a: Antigen) -> Antigen {
        self.associated_parent.get(&a).copied().unwrap_or(a)
    }

    /// The broad antigen of a split (A23 → A9), or the antigen itself. An
    /// associated antigen is not a split: map it with
    /// [`Release::associated_parent`] first when that is wanted.
    pub fn broad_of_split(&self, a: Antigen) -> Antigen {
        self.split_parent.get(&a).copied().unwrap_or(a)
    }

    /// Split and associated relations followed to the top (A203 → A2,
    /// DR1403 → DR14 → DR6).
    pub fn broad(&self, a: Antigen) -> Antigen {
        let mut cur = a;
        for _ in 0..8 {
            let next = self.broad_of_split(self.associated_parent(cur));
            if next == cur {
                break;
            }
            cur = next;
        }
        cur
    }

    /// Direct splits and associated antigens of a broad antigen.
    pub fn splits(&self, broad: Antigen) -> Vec<Antigen> {
        let mut v: Vec<Antigen> = self
            .split_parent
            .iter()
            .chain(&self.associated_parent)
            .filter(|(_, p)| **p == broad)
            .map(|(c, _)| *c)
            .collect();
        v.sort();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_and_seven_field_lines_parse() {
        let six = parse_rel_dna_ser_line("B*;15:01:01:01;62;;;")
            .unwrap()
            .unwrap();
        assert_eq!(six.unambiguous, vec![62]);
        assert_eq!(six.hats, None);
        // Synthetic 7-field line (release 3.64.0+ adds the HATS assignment).
        let seven = parse_rel_dna_ser_line("A*;99:01:01:01;;0/2;;;2")
            .unwrap()
            .unwrap();
        assert_eq!(seven.possible, vec![2]);
        assert_eq!(seven.hats.as_deref(), Some("2"));
        assert!(!seven.null);
        let null = parse_rel_dna_ser_line("A*;01:01:01:02N;0;;;")
            .unwrap()
            .unwrap();
        assert!(null.null);
        assert!(parse_rel_dna_ser_line("A*;01:01;1;;").is_err());
        assert!(parse_rel_dna_ser_line("MICA*;001;;;;").unwrap().is_none());
    }

    #[test]
    fn a_synthetic_seven_field_release_directory_loads() {
        // Invented alleles in the 3.64.0+ layout (HATS in the 7th field).
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("wmda")).unwrap();
        std::fs::write(
            dir.path().join("wmda/rel_dna_ser.txt"),
            "# version: IPD-IMGT/HLA 3.64.0\nA*;90:01:01:01;92;;;;92\nA*;90:02;;;93;;93\nA*;90:03N;0;;;;\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("wmda/rel_ser_ser.txt"), "A;91;92/93;\n").unwrap();
        std::fs::write(
            dir.path().join("Allelelist.txt"),
            "# x\nAlleleID,Allele\nHLA90001,A*90:01:01:01\nHLA90002,A*90:02\nHLA90003,A*90:03N\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("release_version.txt"),
            "# file: release_version.txt\n# version: IPD-IMGT/HLA 3.64.0\n",
        )
        .unwrap();
        let r = Release::load(dir.path()).unwrap();
        assert_eq!(r.version, "3.64.0");
        assert_eq!(r.records().len(), 3);
        assert_eq!(r.records()[0].hats.as_deref(), Some("92"));
        let s = r.serology(&parse_allele("A*90:02").unwrap());
        assert_eq!(
            (s.antigens[0].number, s.source),
            (93, SerologySource::Assumed)
        );
        assert_eq!(
            r.broad(Antigen::new(Locus::A, 92)),
            Antigen::new(Locus::A, 91)
        );
        assert!(r.contains(&parse_allele("A*90:01").unwrap()));
        assert!(!r.contains(&parse_allele("A*90:04").unwrap()));
        assert_eq!(
            r.serology(&parse_allele("A*90:03N").unwrap()).source,
            SerologySource::Null
        );
    }
}
