//! Malformed, inconsistent and hostile inputs, table-driven (issue 12,
//! must-show 1). Every case breaks one thing in a copy of a small valid batch
//! and checks the failure contract: exit code 2, graftscan's own message
//! naming the file (or the option), the line and the field where the defect
//! has one, no panic, nothing at all created under --out, and every input
//! file byte-identical afterwards (checksums of the whole case folder).
//!
//! Cases whose defect sits on no line (a truncated bgzip file, a link loop,
//! an --out problem) name the file or option only; the table says which.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use graftscan::formats::read_allele_table;
use graftscan::report::run_record::sha256_file;

fn graftscan(args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_graftscan"))
        .args(args)
        .output()
        .expect("graftscan runs")
}

/// A case folder: `batch/` (the scan's batch folder), `aux/` (risk rules and
/// error table passed by flag), and `out` (the results folder, absent).
struct Case {
    root: PathBuf,
}

impl Case {
    fn batch(&self) -> PathBuf {
        self.root.join("batch")
    }
    fn b(&self, rel: &str) -> PathBuf {
        self.batch().join(rel)
    }
    fn aux(&self, rel: &str) -> PathBuf {
        self.root.join("aux").join(rel)
    }
    fn out(&self) -> PathBuf {
        self.root.join("out")
    }
    /// Replace the first `from` by `to` in a batch file.
    fn edit(&self, rel: &str, from: &str, to: &str) {
        edit(&self.root.join(rel), from, to);
    }
    fn write(&self, rel: &str, text: &str) {
        let p = self.root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    fn append(&self, rel: &str, text: &str) {
        let p = self.root.join(rel);
        let mut t = std::fs::read_to_string(&p).unwrap();
        t.push_str(text);
        std::fs::write(p, t).unwrap();
    }
    /// Default arguments: the batch, rules and error table, CPU.
    fn args(&self) -> Vec<String> {
        vec![
            "scan".into(),
            self.batch().display().to_string(),
            "--config".into(),
            self.aux("rules.toml").display().to_string(),
            "--error-table".into(),
            self.aux("errors.tsv").display().to_string(),
            "--backend".into(),
            "cpu".into(),
            "--quiet".into(),
        ]
    }
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "'{from}' not in {}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// Path → SHA-256 of every file under `root` (links not followed; a link is
/// recorded by its target).
fn checksums(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let ft = e.file_type().unwrap();
            if ft.is_symlink() {
                let target = std::fs::read_link(&p).unwrap();
                out.insert(p, format!("link:{}", target.display()));
            } else if ft.is_dir() {
                out.insert(p.clone(), "dir".into());
                stack.push(p);
            } else {
                out.insert(p.clone(), sha256_file(&p).unwrap());
            }
        }
    }
    out
}

/// The valid template batch, built once: the simulated batch (VCF genotypes
/// and bgzipped count VCFs), plus a transplant read from TSV files with its
/// HLA typings in typings.csv, limits.csv, risk rules and an error table.
fn template() -> &'static Path {
    static T: OnceLock<tempfile::TempDir> = OnceLock::new();
    T.get_or_init(|| {
        let t = tempfile::tempdir().unwrap();
        let batch = t.path().join("batch");
        let out = graftscan(&[
            "simulate".into(),
            "--out".into(),
            batch.display().to_string(),
            "--snps".into(),
            "60".into(),
            "--transplants".into(),
            "2".into(),
            "--samples-per-transplant".into(),
            "2".into(),
        ]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        // TSV files for a third transplant, from the first one's VCFs.
        let counts = read_allele_table(&batch.join("counts/TX001.counts.vcf.gz")).unwrap();
        let mut c = String::from("chrom\tpos\tref\talt\tref_count\talt_count\n");
        for (i, s) in counts.sites.iter().enumerate() {
            let [r, a] = counts.depth(i, 0).unwrap();
            writeln!(c, "{}\t{}\t{}\t{}\t{r}\t{a}", s.chrom, s.pos, s.ref_base as char, s.alt_base as char).unwrap();
        }
        let g = read_allele_table(&batch.join("genotypes/TX001.vcf")).unwrap();
        let tsv = |col: usize| {
            let mut t = String::from("chrom\tpos\tref\talt\tgenotype\n");
            for (i, s) in g.sites.iter().enumerate() {
                let gt = g.genotype(i, col).map(|x| x.to_string()).unwrap_or(".".into());
                writeln!(t, "{}\t{}\t{}\t{}\t{gt}", s.chrom, s.pos, s.ref_base as char, s.alt_base as char).unwrap();
            }
            t
        };
        std::fs::create_dir_all(batch.join("tsv")).unwrap();
        std::fs::write(batch.join("tsv/c3.tsv"), c).unwrap();
        std::fs::write(batch.join("tsv/r3.tsv"), tsv(0)).unwrap();
        std::fs::write(batch.join("tsv/d3.tsv"), tsv(1)).unwrap();
        let tp = batch.join("transplants.csv");
        let text = std::fs::read_to_string(&tp).unwrap();
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        lines[0].push_str(",recipient_id,donor_id");
        for l in lines.iter_mut().skip(1) {
            l.push_str(",,");
        }
        lines.push("TX003,heart,2025-03-01,unrelated,tsv/r3.tsv,,tsv/d3.tsv,,,,R3,D3".into());
        std::fs::write(&tp, lines.join("\n") + "\n").unwrap();
        let sp = batch.join("samples.csv");
        let mut s = std::fs::read_to_string(&sp).unwrap();
        s.push_str("TX003-S1,TX003,2025-06-01,tsv/c3.tsv,,10.5,ng_per_ml\n");
        std::fs::write(&sp, s).unwrap();
        std::fs::write(
            batch.join("typings.csv"),
            "person_id,gl_string\nR3,A*02:01+A*03:01^B*07:02+B*08:01^DRB1*15:01+DRB1*04:01\n\
             D3,A*24:02+A*02:01^B*44:02+B*08:01^DRB1*15:01+DRB1*07:01\n",
        )
        .unwrap();
        std::fs::write(
            batch.join("limits.csv"),
            "relationship,mode,replicates,limit_of_blank_pct,limit_of_detection_pct\n\
             unrelated,two_genome,120,0.01566,0.04108\n\
             full_sibling,two_genome,120,0.01855,0.05848\n",
        )
        .unwrap();
        let aux = t.path().join("aux");
        std::fs::create_dir_all(&aux).unwrap();
        let rules = graftscan(&["config".into(), "--defaults".into()]);
        std::fs::write(aux.join("rules.toml"), rules.stdout).unwrap();
        let mut e = String::from(
            "chrom\tpos\tref\talt\talt_reads_at_hom_ref\tdepth_at_hom_ref\tref_reads_at_hom_alt\tdepth_at_hom_alt\n",
        );
        for s in counts.sites.iter().take(5) {
            writeln!(e, "{}\t{}\t{}\t{}\t2\t900\t1\t800", s.chrom, s.pos, s.ref_base as char, s.alt_base as char).unwrap();
        }
        std::fs::write(aux.join("errors.tsv"), e).unwrap();
        t
    })
    .path()
}

fn fresh_case() -> (tempfile::TempDir, Case) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("case");
    copy_tree(template(), &root);
    (dir, Case { root })
}

/// Line `n` (1-based) of a file.
fn line_of(path: &Path, n: usize) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .nth(n - 1)
        .unwrap()
        .to_string()
}

fn utf16le(text: &str) -> Vec<u8> {
    [0xFF, 0xFE]
        .into_iter()
        .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
        .collect()
}

/// Set up one case; return the arguments to run (default: `c.args()`, out
/// appended unless the case sets `--out` itself) and the --out folder.
type Setup = fn(&Case) -> Option<Vec<String>>;

/// One bad input: what it breaks, how, and the words the error must contain.
struct Bad {
    name: &'static str,
    setup: Setup,
    expect: &'static [&'static str],
}

fn with_out(c: &Case, out: &Path, extra: &[&str]) -> Option<Vec<String>> {
    let mut a = c.args();
    a.push("--out".into());
    a.push(out.display().to_string());
    a.extend(extra.iter().map(|s| s.to_string()));
    Some(a)
}

fn extra(c: &Case, extra: &[&str]) -> Option<Vec<String>> {
    with_out(c, &c.out(), extra)
}

fn rules_set(c: &Case, key: &str, value: &str) {
    let p = c.aux("rules.toml");
    let text = std::fs::read_to_string(&p).unwrap();
    let mut done = false;
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            if !done && l.split('=').next().is_some_and(|k| k.trim() == key) {
                done = true;
                format!("{key} = {value}")
            } else {
                l.to_string()
            }
        })
        .collect();
    assert!(done, "{key} not in rules.toml");
    std::fs::write(p, lines.join("\n") + "\n").unwrap();
}

fn count_vcf_bytes(c: &Case) -> Vec<u8> {
    std::fs::read(c.b("counts/TX001.counts.vcf.gz")).unwrap()
}

/// The plain text of TX001's count VCF, written as `counts/plain.vcf` and
/// referenced by draw TX001-S1 (line 2 of samples.csv).
fn plain_count_vcf(c: &Case) -> String {
    let bytes = count_vcf_bytes(c);
    let mut text = String::new();
    std::io::Read::read_to_string(&mut noodles_bgzf::io::Reader::new(&bytes[..]), &mut text)
        .unwrap();
    c.edit(
        "batch/samples.csv",
        "counts/TX001.counts.vcf.gz,TX001-S1",
        "counts/plain.vcf,TX001-S1",
    );
    text
}

const CASES: &[Bad] = &[
    // ── 1. --out and the inputs: never written to ────────────────────────
    Bad {
        name: "out is the batch folder",
        setup: |c| with_out(c, &c.batch(), &[]),
        expect: &["--out", "is the input folder"],
    },
    Bad {
        name: "out is the batch folder with --force",
        setup: |c| with_out(c, &c.batch(), &["--force"]),
        expect: &["--out", "is the input folder"],
    },
    Bad {
        name: "out inside the batch folder",
        setup: |c| with_out(c, &c.b("results"), &[]),
        expect: &["--out", "lies inside the input folder"],
    },
    Bad {
        name: "out contains the batch folder",
        setup: |c| with_out(c, &c.root, &["--force"]),
        expect: &["--out", "contains the input folder"],
    },
    Bad {
        name: "out is a sheet",
        setup: |c| with_out(c, &c.b("samples.csv"), &["--force"]),
        expect: &["--out", "input"],
    },
    Bad {
        name: "out is a link to the batch folder",
        setup: |c| {
            let l = c.root.join("link");
            std::os::unix::fs::symlink(c.batch(), &l).unwrap();
            with_out(c, &l, &["--force"])
        },
        expect: &["--out", "is the input folder"],
    },
    Bad {
        name: "out is the counts folder",
        setup: |c| with_out(c, &c.b("counts"), &["--force"]),
        expect: &["--out", "input folder"],
    },
    Bad {
        name: "out is the rules file",
        setup: |c| with_out(c, &c.aux("rules.toml"), &["--force"]),
        expect: &["--out", "is the input file", "rules.toml"],
    },
    Bad {
        name: "out contains the rules and error table",
        setup: |c| with_out(c, &c.root.join("aux"), &["--force"]),
        expect: &["--out", "contains the input file"],
    },
    Bad {
        name: "out contains a count file outside the batch",
        setup: |c| {
            let ext = c.root.join("ext");
            std::fs::create_dir_all(&ext).unwrap();
            std::fs::rename(c.b("tsv/c3.tsv"), ext.join("c3.tsv")).unwrap();
            c.edit(
                "batch/samples.csv",
                "tsv/c3.tsv",
                &ext.join("c3.tsv").display().to_string(),
            );
            with_out(c, &ext, &["--force"])
        },
        expect: &["--out", "c3.tsv"],
    },
    Bad {
        name: "out exists without --force",
        setup: |c| {
            c.write("out/samples.csv", "old results");
            extra(c, &[])
        },
        expect: &["--out", "already exists", "--force"],
    },
    Bad {
        name: "out holds a foreign file, even with --force",
        setup: |c| {
            c.write("out/samples.csv", "old");
            c.write("out/notes.docx", "mine");
            extra(c, &["--force"])
        },
        expect: &["--out", "notes.docx", "does not write"],
    },
    Bad {
        name: "out is a file",
        setup: |c| {
            c.write("out", "a file");
            extra(c, &["--force"])
        },
        expect: &["--out", "is a file, not a folder"],
    },
    Bad {
        name: "out lies under a file",
        setup: |c| {
            c.write("afile", "x");
            with_out(c, &c.root.join("afile/results"), &[])
        },
        expect: &["--out", "is a file, not a folder", "afile"],
    },
    Bad {
        name: "out in a read-only file system",
        setup: |c| with_out(c, Path::new("/sys/graftscan-results-test"), &[]),
        expect: &["--out", "/sys", "not writable"],
    },
    Bad {
        name: "out where no folder can be made",
        setup: |c| with_out(c, Path::new("/proc/graftscan-results-test"), &[]),
        expect: &["--out", "/proc", "cannot write"],
    },
    Bad {
        name: "out with .. below a missing folder",
        setup: |c| with_out(c, &c.root.join("new/../out2"), &[]),
        expect: &["--out", "'..'"],
    },
    // ── 2. numbers that used to hang the trend plot ──────────────────────
    Bad {
        name: "total_cfdna 1e307",
        setup: |c| {
            c.edit("batch/samples.csv", ",13.2,", ",1e307,");
            extra(c, &[])
        },
        expect: &["samples.csv", "line 2", "field 'total_cfdna'"],
    },
    Bad {
        name: "copies_per_ml inf",
        setup: |c| {
            rules_set(c, "copies_per_ml", "inf");
            extra(c, &[])
        },
        expect: &[
            "rules.toml",
            "field 'quantity_threshold[1].copies_per_ml'",
            "finite",
        ],
    },
    Bad {
        name: "copies_per_ml nan",
        setup: |c| {
            rules_set(c, "copies_per_ml", "nan");
            extra(c, &[])
        },
        expect: &["rules.toml", "quantity_threshold[1].copies_per_ml"],
    },
    Bad {
        name: "total_cfdna inf",
        setup: |c| {
            c.edit("batch/samples.csv", ",13.2,", ",inf,");
            extra(c, &[])
        },
        expect: &["samples.csv", "line 2", "field 'total_cfdna'"],
    },
    Bad {
        name: "total_cfdna NaN",
        setup: |c| {
            c.edit("batch/samples.csv", ",13.2,", ",NaN,");
            extra(c, &[])
        },
        expect: &["samples.csv", "line 2", "field 'total_cfdna'"],
    },
    // ── 3. bgzip cut short ───────────────────────────────────────────────
    Bad {
        name: "count VCF cut at a block boundary",
        setup: |c| {
            let b = count_vcf_bytes(c);
            std::fs::write(c.b("counts/TX001.counts.vcf.gz"), &b[..b.len() - 28]).unwrap();
            extra(c, &[])
        },
        expect: &["TX001.counts.vcf.gz", "end-of-file marker"],
    },
    Bad {
        name: "count VCF cut mid-block",
        setup: |c| {
            let b = count_vcf_bytes(c);
            std::fs::write(c.b("counts/TX001.counts.vcf.gz"), &b[..b.len() / 2]).unwrap();
            extra(c, &[])
        },
        expect: &["TX001.counts.vcf.gz", "truncated"],
    },
    Bad {
        name: "count VCF compressed with plain gzip",
        setup: |c| {
            // A gzip member without the BC extra field (RFC 1952, stored block).
            let mut g = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255, 1, 5, 0, 0xfa, 0xff];
            g.extend_from_slice(b"hello");
            g.extend_from_slice(&[0; 8]);
            std::fs::write(c.b("counts/TX001.counts.vcf.gz"), g).unwrap();
            extra(c, &[])
        },
        expect: &["TX001.counts.vcf.gz", "not bgzip"],
    },
    Bad {
        name: "genotype file bgzipped and cut",
        setup: |c| {
            let text = std::fs::read(c.b("genotypes/TX002.vcf")).unwrap();
            let mut w = noodles_bgzf::io::Writer::new(Vec::new());
            std::io::Write::write_all(&mut w, &text).unwrap();
            let b = w.finish().unwrap();
            std::fs::write(c.b("genotypes/TX002.vcf.gz"), &b[..b.len() - 28]).unwrap();
            let t = std::fs::read_to_string(c.b("transplants.csv"))
                .unwrap()
                .replace("genotypes/TX002.vcf", "genotypes/TX002.vcf.gz");
            c.write("batch/transplants.csv", &t);
            extra(c, &[])
        },
        expect: &["TX002.vcf.gz", "end-of-file marker"],
    },
    // ── 4. duplicates: refused with both lines ───────────────────────────
    Bad {
        name: "count TSV site twice",
        setup: |c| {
            let l = line_of(&c.b("tsv/c3.tsv"), 2);
            c.append("batch/tsv/c3.tsv", &format!("{l}\n"));
            extra(c, &[])
        },
        expect: &["c3.tsv", "line 62", "field 'pos'", "first at line 2"],
    },
    Bad {
        name: "count TSV site twice with other counts",
        setup: |c| {
            let l = line_of(&c.b("tsv/c3.tsv"), 3);
            let f: Vec<&str> = l.split('\t').collect();
            c.append(
                "batch/tsv/c3.tsv",
                &format!("{}\t{}\t{}\t{}\t1\t999\n", f[0], f[1], f[2], f[3]),
            );
            extra(c, &[])
        },
        expect: &["c3.tsv", "line 62", "field 'pos'", "first at line 3"],
    },
    Bad {
        name: "count TSV position twice with another ALT",
        setup: |c| {
            let l = line_of(&c.b("tsv/c3.tsv"), 4);
            let f: Vec<&str> = l.split('\t').collect();
            let alt = if f[3] == "A" || f[2] == "A" {
                if f[2] == "C" || f[3] == "C" { "G" } else { "C" }
            } else {
                "A"
            };
            c.append(
                "batch/tsv/c3.tsv",
                &format!("{}\t{}\t{}\t{alt}\t5\t5\n", f[0], f[1], f[2]),
            );
            extra(c, &[])
        },
        expect: &["c3.tsv", "line 62", "first at line 4"],
    },
    Bad {
        name: "genotype TSV site twice",
        setup: |c| {
            let l = line_of(&c.b("tsv/r3.tsv"), 5);
            c.append("batch/tsv/r3.tsv", &format!("{l}\n"));
            extra(c, &[])
        },
        expect: &["r3.tsv", "line 62", "field 'pos'", "first at line 5"],
    },
    Bad {
        name: "genotype TSV site twice, other genotype",
        setup: |c| {
            let l = line_of(&c.b("tsv/d3.tsv"), 2);
            let f: Vec<&str> = l.split('\t').collect();
            c.append(
                "batch/tsv/d3.tsv",
                &format!(
                    "{}\t{}\t{}\t{}\t{}\n",
                    f[0],
                    f[1],
                    f[2],
                    f[3],
                    if f[4] == "2" { "0" } else { "2" }
                ),
            );
            extra(c, &[])
        },
        expect: &["d3.tsv", "line 62", "first at line 2"],
    },
    Bad {
        name: "genotype VCF record twice",
        setup: |c| {
            let p = c.b("genotypes/TX002.vcf");
            let text = std::fs::read_to_string(&p).unwrap();
            let first = text.lines().position(|l| !l.starts_with('#')).unwrap();
            let rec = text.lines().nth(first).unwrap().to_string();
            std::fs::write(&p, format!("{text}{rec}\n")).unwrap();
            extra(c, &[])
        },
        expect: &["TX002.vcf", "field 'POS'", "listed twice"],
    },
    Bad {
        name: "count VCF record twice",
        setup: |c| {
            let t = plain_count_vcf(c);
            let rec = t.lines().find(|l| !l.starts_with('#')).unwrap().to_string();
            c.write("batch/counts/plain.vcf", &format!("{t}{rec}\n"));
            extra(c, &[])
        },
        expect: &["plain.vcf", "field 'POS'", "listed twice"],
    },
    Bad {
        name: "typings person twice",
        setup: |c| {
            c.append("batch/typings.csv", "R3,A*01:01+A*03:01\n");
            extra(c, &[])
        },
        expect: &[
            "typings.csv",
            "line 4",
            "field 'person_id'",
            "first at line 2",
        ],
    },
    Bad {
        name: "bead row twice",
        setup: |c| {
            c.append("batch/antibodies.csv", "TX002,2025-02-22,A24,100,1000\n");
            extra(c, &[])
        },
        expect: &[
            "antibodies.csv",
            "line 5",
            "field 'specificity'",
            "repeats line 3",
        ],
    },
    Bad {
        name: "limits row twice",
        setup: |c| {
            c.append("batch/limits.csv", "unrelated,two_genome,60,0.02,0.05\n");
            extra(c, &[])
        },
        expect: &[
            "limits.csv",
            "line 4",
            "field 'relationship'",
            "repeats line 2",
        ],
    },
    Bad {
        name: "limits rows of one kappa",
        setup: |c| {
            c.append(
                "batch/limits.csv",
                "half_sibling,two_genome,60,0.02,0.05\ngrandparent,two_genome,60,0.03,0.06\n",
            );
            extra(c, &[])
        },
        expect: &["limits.csv", "line 5", "repeats line 4"],
    },
    Bad {
        name: "error table site twice",
        setup: |c| {
            let l = line_of(&c.aux("errors.tsv"), 2);
            c.append("aux/errors.tsv", &format!("{l}\n"));
            extra(c, &[])
        },
        expect: &["errors.tsv", "line 7", "field 'pos'", "first at line 2"],
    },
    Bad {
        name: "transplant id twice",
        setup: |c| {
            c.edit("batch/transplants.csv", "TX002,kidney", "TX001,kidney");
            extra(c, &[])
        },
        expect: &[
            "transplants.csv",
            "line 3",
            "field 'transplant_id'",
            "first at line 2",
        ],
    },
    Bad {
        name: "sample id twice",
        setup: |c| {
            c.edit("batch/samples.csv", "TX001-S2,", "TX001-S1,");
            extra(c, &[])
        },
        expect: &[
            "samples.csv",
            "line 3",
            "field 'sample_id'",
            "first at line 2",
        ],
    },
    Bad {
        name: "risk rule for one organ twice",
        setup: |c| {
            c.append("aux/rules.toml", "\n[[quantity_threshold]]\norgan = \"kidney\"\ncopies_per_ml = 50.0\nsource = \"again\"\n");
            extra(c, &[])
        },
        expect: &[
            "rules.toml",
            "field 'quantity_threshold[2].organ'",
            "second quantity_threshold",
        ],
    },
    // ── 6. impossible values ─────────────────────────────────────────────
    Bad {
        name: "error rate near 1",
        setup: |c| {
            c.append("aux/errors.tsv", "chr22\t100\tA\tG\t990\t1000\t0\t800\n");
            extra(c, &[])
        },
        expect: &[
            "errors.tsv",
            "line 7",
            "field 'alt_reads_at_hom_ref'",
            "not below 0.5",
        ],
    },
    Bad {
        name: "error rate one half, other direction",
        setup: |c| {
            c.append("aux/errors.tsv", "chr22\t100\tA\tG\t0\t1000\t500\t1000\n");
            extra(c, &[])
        },
        expect: &["errors.tsv", "line 7", "field 'ref_reads_at_hom_alt'"],
    },
    Bad {
        name: "pooled error rate above one half",
        setup: |c| {
            c.write("aux/errors.tsv", "chrom\tpos\tref\talt\talt_reads_at_hom_ref\tdepth_at_hom_ref\tref_reads_at_hom_alt\tdepth_at_hom_alt\nchr1\t5\tA\tG\t90\t100\t80\t100\n");
            extra(c, &[])
        },
        expect: &["errors.tsv", "pooled error rate"],
    },
    Bad {
        name: "limit of blank above detection",
        setup: |c| {
            c.edit("batch/limits.csv", "0.01566,0.04108", "0.09,0.04108");
            extra(c, &[])
        },
        expect: &[
            "limits.csv",
            "line 2",
            "field 'limit_of_detection_pct'",
            "LoD ≥ LoB",
        ],
    },
    Bad {
        name: "limit of blank 150%",
        setup: |c| {
            c.edit("batch/limits.csv", "0.01566,", "150,");
            extra(c, &[])
        },
        expect: &["limits.csv", "line 2", "field 'limit_of_blank_pct'"],
    },
    Bad {
        name: "limit of blank negative",
        setup: |c| {
            c.edit("batch/limits.csv", "0.01566,", "-0.1,");
            extra(c, &[])
        },
        expect: &["limits.csv", "line 2", "field 'limit_of_blank_pct'"],
    },
    Bad {
        name: "limit of detection NaN",
        setup: |c| {
            c.edit("batch/limits.csv", ",0.04108", ",NaN");
            extra(c, &[])
        },
        expect: &["limits.csv", "line 2", "field 'limit_of_detection_pct'"],
    },
    Bad {
        name: "limit of detection inf",
        setup: |c| {
            c.edit("batch/limits.csv", ",0.04108", ",inf");
            extra(c, &[])
        },
        expect: &["limits.csv", "line 2", "field 'limit_of_detection_pct'"],
    },
    Bad {
        name: "limits unknown mode",
        setup: |c| {
            c.edit("batch/limits.csv", "two_genome", "three_genome");
            extra(c, &[])
        },
        expect: &["limits.csv", "line 2", "field 'mode'"],
    },
    Bad {
        name: "limits unknown relationship",
        setup: |c| {
            c.edit("batch/limits.csv", "unrelated,", "stranger,");
            extra(c, &[])
        },
        expect: &["limits.csv", "line 2", "field 'relationship'"],
    },
    Bad {
        name: "analytical CV NaN",
        setup: |c| {
            rules_set(c, "analytical_cv_pct", "nan");
            extra(c, &[])
        },
        expect: &["rules.toml", "field 'rcv.analytical_cv_pct'"],
    },
    Bad {
        name: "within-person CV negative",
        setup: |c| {
            rules_set(c, "within_person_cv_pct", "-3.0");
            extra(c, &[])
        },
        expect: &["rules.toml", "field 'rcv.within_person_cv_pct'"],
    },
    Bad {
        name: "rcv z zero",
        setup: |c| {
            rules_set(c, "z", "0.0");
            extra(c, &[])
        },
        expect: &["rules.toml", "field 'rcv.z'"],
    },
    Bad {
        name: "rcv z inf",
        setup: |c| {
            rules_set(c, "z", "inf");
            extra(c, &[])
        },
        expect: &["rules.toml", "field 'rcv.z'"],
    },
    Bad {
        name: "negative early window",
        setup: |c| {
            rules_set(c, "early_window_days", "-5");
            extra(c, &[])
        },
        expect: &["rules.toml", "field 'early_window_days'"],
    },
    Bad {
        name: "early window of 300 years",
        setup: |c| {
            rules_set(c, "early_window_days", "99999");
            extra(c, &[])
        },
        expect: &["rules.toml", "field 'early_window_days'"],
    },
    Bad {
        name: "genome equivalents per ng zero",
        setup: |c| {
            rules_set(c, "genome_equivalents_per_ng", "0.0");
            extra(c, &[])
        },
        expect: &["rules.toml", "field 'genome_equivalents_per_ng'"],
    },
    Bad {
        name: "genome equivalents per ng inf",
        setup: |c| {
            rules_set(c, "genome_equivalents_per_ng", "inf");
            extra(c, &[])
        },
        expect: &["rules.toml", "field 'genome_equivalents_per_ng'"],
    },
    Bad {
        name: "genome equivalents per ng NaN",
        setup: |c| {
            rules_set(c, "genome_equivalents_per_ng", "nan");
            extra(c, &[])
        },
        expect: &["rules.toml", "field 'genome_equivalents_per_ng'"],
    },
    Bad {
        name: "fraction threshold 0%",
        setup: |c| {
            rules_set(c, "percent", "0.0");
            extra(c, &[])
        },
        expect: &["rules.toml", "field 'fraction_threshold[1].percent'"],
    },
    Bad {
        name: "fraction threshold 150%",
        setup: |c| {
            rules_set(c, "percent", "150.0");
            extra(c, &[])
        },
        expect: &["rules.toml", "field 'fraction_threshold[1].percent'"],
    },
    Bad {
        name: "fraction threshold NaN",
        setup: |c| {
            rules_set(c, "percent", "nan");
            extra(c, &[])
        },
        expect: &["rules.toml", "field 'fraction_threshold[1].percent'"],
    },
    Bad {
        name: "threshold after day -7",
        setup: |c| {
            rules_set(c, "after_day", "-7");
            extra(c, &[])
        },
        expect: &["rules.toml", "field 'fraction_threshold[1].after_day'"],
    },
    Bad {
        name: "marked elevation multiple below 1",
        setup: |c| {
            rules_set(c, "marked_elevation_multiple", "0.5");
            extra(c, &[])
        },
        expect: &["rules.toml", "field 'levels.marked_elevation_multiple'"],
    },
    Bad {
        name: "moderate score zero",
        setup: |c| {
            rules_set(c, "moderate_score", "0");
            extra(c, &[])
        },
        expect: &["rules.toml", "field 'levels.moderate_score'"],
    },
    Bad {
        name: "copies per mL negative",
        setup: |c| {
            rules_set(c, "copies_per_ml", "-5.0");
            extra(c, &[])
        },
        expect: &["rules.toml", "quantity_threshold[1].copies_per_ml"],
    },
    Bad {
        name: "copies per mL zero",
        setup: |c| {
            rules_set(c, "copies_per_ml", "0.0");
            extra(c, &[])
        },
        expect: &["rules.toml", "quantity_threshold[1].copies_per_ml"],
    },
    Bad {
        name: "draw dated 2099",
        setup: |c| {
            c.edit("batch/samples.csv", "2026-01-06", "2099-01-06");
            extra(c, &[])
        },
        expect: &["samples.csv", "line 3", "field 'collected'", "future"],
    },
    Bad {
        name: "transplant dated 2099",
        setup: |c| {
            c.edit("batch/transplants.csv", "2025-01-23", "2099-01-23");
            extra(c, &[])
        },
        expect: &[
            "transplants.csv",
            "line 3",
            "field 'transplant_date'",
            "future",
        ],
    },
    Bad {
        name: "draw before the transplant",
        setup: |c| {
            c.edit("batch/samples.csv", "2025-07-05", "2024-12-01");
            extra(c, &[])
        },
        expect: &[
            "samples.csv",
            "line 2",
            "field 'collected'",
            "before the transplant date",
        ],
    },
    Bad {
        name: "draw dated year 205",
        setup: |c| {
            c.edit("batch/samples.csv", "2025-07-05", "0205-07-05");
            extra(c, &[])
        },
        expect: &["samples.csv", "line 2", "field 'collected'"],
    },
    Bad {
        name: "transplant dated 1900",
        setup: |c| {
            c.edit("batch/transplants.csv", "2025-01-06", "1900-01-06");
            extra(c, &[])
        },
        expect: &[
            "transplants.csv",
            "line 2",
            "field 'transplant_date'",
            "1954",
        ],
    },
    Bad {
        name: "serum dated 2099",
        setup: |c| {
            c.edit("batch/antibodies.csv", "2025-02-05", "2099-02-05");
            extra(c, &[])
        },
        expect: &["antibodies.csv", "line 2", "field 'serum_date'", "future"],
    },
    Bad {
        name: "total 1e200 ng/mL",
        setup: |c| {
            c.edit("batch/samples.csv", ",13.2,", ",1e200,");
            extra(c, &[])
        },
        expect: &[
            "samples.csv",
            "line 2",
            "field 'total_cfdna'",
            "above 10000",
        ],
    },
    Bad {
        name: "total 20 µg/mL written in ng",
        setup: |c| {
            c.edit("batch/samples.csv", ",13.2,", ",20000,");
            extra(c, &[])
        },
        expect: &["samples.csv", "line 2", "field 'total_cfdna'"],
    },
    Bad {
        name: "total 1e9 genome equivalents/mL",
        setup: |c| {
            c.edit("batch/samples.csv", ",13.2,ng_per_ml", ",1e9,ge_per_ml");
            extra(c, &[])
        },
        expect: &["samples.csv", "line 2", "field 'total_cfdna'"],
    },
    Bad {
        name: "total negative",
        setup: |c| {
            c.edit("batch/samples.csv", ",13.2,", ",-4,");
            extra(c, &[])
        },
        expect: &["samples.csv", "line 2", "field 'total_cfdna'"],
    },
    Bad {
        name: "total unit mg/mL",
        setup: |c| {
            c.edit("batch/samples.csv", ",13.2,ng_per_ml", ",13.2,mg_per_ml");
            extra(c, &[])
        },
        expect: &["samples.csv", "line 2", "field 'total_cfdna_unit'"],
    },
    Bad {
        name: "transplant id of 1 MB",
        setup: |c| {
            let id = "T".repeat(1 << 20);
            let t = std::fs::read_to_string(c.b("transplants.csv"))
                .unwrap()
                .replacen("TX003,heart", &format!("{id},heart"), 1);
            c.write("batch/transplants.csv", &t);
            extra(c, &[])
        },
        expect: &[
            "transplants.csv",
            "line 4",
            "field 'transplant_id'",
            "longer than 128",
        ],
    },
    Bad {
        name: "sample id of 200 characters",
        setup: |c| {
            let id = "S".repeat(200);
            c.edit("batch/samples.csv", "TX002-S2,", &format!("{id},"));
            extra(c, &[])
        },
        expect: &[
            "samples.csv",
            "line 5",
            "field 'sample_id'",
            "longer than 128",
        ],
    },
    Bad {
        name: "recipient id of 200 characters",
        setup: |c| {
            let id = "R".repeat(200);
            c.edit("batch/transplants.csv", ",R3,", &format!(",{id},"));
            extra(c, &[])
        },
        expect: &["transplants.csv", "line 4", "field 'recipient_id'"],
    },
    Bad {
        name: "person id of 200 characters",
        setup: |c| {
            let id = "P".repeat(200);
            c.append("batch/typings.csv", &format!("{id},A*01:01+A*02:01\n"));
            extra(c, &[])
        },
        expect: &["typings.csv", "line 4", "field 'person_id'"],
    },
    Bad {
        name: "bead owner of 200 characters",
        setup: |c| {
            let id = "B".repeat(200);
            c.append(
                "batch/antibodies.csv",
                &format!("{id},2025-02-05,A2,100,1000\n"),
            );
            extra(c, &[])
        },
        expect: &["antibodies.csv", "line 5", "field 'transplant_id'"],
    },
    Bad {
        name: "sample id with a line break",
        setup: |c| {
            c.edit("batch/samples.csv", "TX002-S2,", "\"TX002\nS2\",");
            extra(c, &[])
        },
        expect: &["samples.csv", "field 'sample_id'", "control character"],
    },
    Bad {
        name: "MFI 1e9",
        setup: |c| {
            c.edit("batch/antibodies.csv", ",103,", ",1e9,");
            extra(c, &[])
        },
        expect: &["antibodies.csv", "line 2", "field 'mfi'"],
    },
    Bad {
        name: "MFI NaN",
        setup: |c| {
            c.edit("batch/antibodies.csv", ",103,", ",NaN,");
            extra(c, &[])
        },
        expect: &["antibodies.csv", "line 2", "field 'mfi'"],
    },
    Bad {
        name: "bead cut-off zero",
        setup: |c| {
            c.edit("batch/antibodies.csv", ",103,1000", ",103,0");
            extra(c, &[])
        },
        expect: &["antibodies.csv", "line 2", "field 'cutoff'"],
    },
    Bad {
        name: "bead cut-off negative",
        setup: |c| {
            c.edit("batch/antibodies.csv", ",103,1000", ",103,-5");
            extra(c, &[])
        },
        expect: &["antibodies.csv", "line 2", "field 'cutoff'"],
    },
    Bad {
        name: "--mfi-cutoff inf",
        setup: |c| extra(c, &["--mfi-cutoff", "inf"]),
        expect: &["--mfi-cutoff"],
    },
    Bad {
        name: "--mfi-cutoff zero",
        setup: |c| extra(c, &["--mfi-cutoff", "0"]),
        expect: &["--mfi-cutoff"],
    },
    Bad {
        name: "--grid-points ten million",
        setup: |c| extra(c, &["--grid-points", "10000000"]),
        expect: &["--grid-points"],
    },
    Bad {
        name: "--bootstrap a hundred million",
        setup: |c| extra(c, &["--bootstrap", "100000000"]),
        expect: &["--bootstrap"],
    },
    Bad {
        name: "--threads zero",
        setup: |c| extra(c, &["--threads", "0"]),
        expect: &["--threads"],
    },
    Bad {
        name: "--detection-alpha 1.5",
        setup: |c| extra(c, &["--detection-alpha", "1.5"]),
        expect: &["--detection-alpha"],
    },
    Bad {
        name: "count VCF INFO/AF 1.5",
        setup: |c| {
            let t = plain_count_vcf(c).replacen(
                "##FORMAT",
                "##INFO=<ID=AF,Number=A,Type=Float,Description=\"f\">\n##FORMAT",
                1,
            );
            let mut lines: Vec<String> = t.lines().map(String::from).collect();
            let i = lines.iter().position(|l| !l.starts_with('#')).unwrap();
            let mut f: Vec<String> = lines[i].split('\t').map(String::from).collect();
            f[7] = "AF=1.5".into();
            lines[i] = f.join("\t");
            c.write("batch/counts/plain.vcf", &(lines.join("\n") + "\n"));
            extra(c, &[])
        },
        expect: &["plain.vcf", "field 'INFO/AF'"],
    },
    Bad {
        name: "count VCF INFO/AF NaN",
        setup: |c| {
            let t = plain_count_vcf(c).replacen(
                "##FORMAT",
                "##INFO=<ID=AF,Number=A,Type=Float,Description=\"f\">\n##FORMAT",
                1,
            );
            let mut lines: Vec<String> = t.lines().map(String::from).collect();
            let i = lines.iter().position(|l| !l.starts_with('#')).unwrap() + 3;
            let mut f: Vec<String> = lines[i].split('\t').map(String::from).collect();
            f[7] = "AF=NaN".into();
            lines[i] = f.join("\t");
            c.write("batch/counts/plain.vcf", &(lines.join("\n") + "\n"));
            extra(c, &[])
        },
        expect: &["plain.vcf", "field 'INFO/AF'"],
    },
    Bad {
        name: "count TSV position 0",
        setup: |c| {
            let l = line_of(&c.b("tsv/c3.tsv"), 2);
            let f: Vec<&str> = l.split('\t').collect();
            c.edit(
                "batch/tsv/c3.tsv",
                &l,
                &format!("{}\t0\t{}", f[0], f[2..].join("\t")),
            );
            extra(c, &[])
        },
        expect: &["c3.tsv", "line 2", "field 'pos'", "1-based"],
    },
    Bad {
        name: "count TSV position 3e9",
        setup: |c| {
            let l = line_of(&c.b("tsv/c3.tsv"), 2);
            let f: Vec<&str> = l.split('\t').collect();
            c.edit(
                "batch/tsv/c3.tsv",
                &l,
                &format!("{}\t3000000000\t{}", f[0], f[2..].join("\t")),
            );
            extra(c, &[])
        },
        expect: &["c3.tsv", "line 2", "field 'pos'"],
    },
    Bad {
        name: "count TSV negative count",
        setup: |c| {
            let l = line_of(&c.b("tsv/c3.tsv"), 3);
            let f: Vec<&str> = l.split('\t').collect();
            c.edit(
                "batch/tsv/c3.tsv",
                &l,
                &format!("{}\t-5\t{}", f[..4].join("\t"), f[5]),
            );
            extra(c, &[])
        },
        expect: &["c3.tsv", "line 3", "field 'ref_count'"],
    },
    Bad {
        name: "count TSV count above 2^32",
        setup: |c| {
            let l = line_of(&c.b("tsv/c3.tsv"), 3);
            let f: Vec<&str> = l.split('\t').collect();
            c.edit(
                "batch/tsv/c3.tsv",
                &l,
                &format!("{}\t{}\t99999999999", f[..4].join("\t"), f[4]),
            );
            extra(c, &[])
        },
        expect: &["c3.tsv", "line 3", "field 'alt_count'", "too large"],
    },
    Bad {
        name: "count TSV fractional count",
        setup: |c| {
            let l = line_of(&c.b("tsv/c3.tsv"), 4);
            let f: Vec<&str> = l.split('\t').collect();
            c.edit(
                "batch/tsv/c3.tsv",
                &l,
                &format!("{}\t{}\t2.5", f[..4].join("\t"), f[4]),
            );
            extra(c, &[])
        },
        expect: &["c3.tsv", "line 4", "field 'alt_count'"],
    },
    Bad {
        name: "count TSV ALT above depth",
        setup: |c| {
            let t = std::fs::read_to_string(c.b("tsv/c3.tsv")).unwrap();
            let mut lines: Vec<String> = t.lines().map(String::from).collect();
            lines[0].push_str("\tdepth");
            for l in lines.iter_mut().skip(1) {
                l.push_str("\t100000");
            }
            lines[2] = format!("{}\t5", lines[2].rsplit_once('\t').unwrap().0);
            c.write("batch/tsv/c3.tsv", &(lines.join("\n") + "\n"));
            extra(c, &[])
        },
        expect: &["c3.tsv", "line 3", "exceeds depth"],
    },
    Bad {
        name: "genotype TSV genotype 3",
        setup: |c| {
            let l = line_of(&c.b("tsv/r3.tsv"), 6);
            let (head, _) = l.rsplit_once('\t').unwrap();
            c.edit("batch/tsv/r3.tsv", &l, &format!("{head}\t3"));
            extra(c, &[])
        },
        expect: &["r3.tsv", "line 6", "field 'genotype'"],
    },
    Bad {
        name: "genotype file given as counts",
        setup: |c| {
            c.edit("batch/samples.csv", "tsv/c3.tsv", "tsv/r3.tsv");
            extra(c, &[])
        },
        expect: &["r3.tsv", "not a count file"],
    },
    Bad {
        name: "count file given as genotypes",
        setup: |c| {
            c.edit("batch/transplants.csv", "tsv/r3.tsv", "tsv/c3.tsv");
            extra(c, &[])
        },
        expect: &["c3.tsv", "no genotypes"],
    },
    // ── 8. messages that used to mislead ─────────────────────────────────
    Bad {
        name: "counts path is a folder",
        setup: |c| {
            c.edit("batch/samples.csv", "tsv/c3.tsv", "tsv");
            extra(c, &[])
        },
        expect: &["samples.csv", "line 6", "field 'counts'", "is a folder"],
    },
    Bad {
        name: "counts path is a link loop",
        setup: |c| {
            std::os::unix::fs::symlink("loop.tsv", c.b("tsv/loop.tsv")).unwrap();
            c.edit("batch/samples.csv", "tsv/c3.tsv", "tsv/loop.tsv");
            extra(c, &[])
        },
        expect: &[
            "samples.csv",
            "line 6",
            "field 'counts'",
            "symbolic-link loop",
        ],
    },
    Bad {
        name: "counts path is a broken link",
        setup: |c| {
            std::os::unix::fs::symlink("gone.tsv", c.b("tsv/broken.tsv")).unwrap();
            c.edit("batch/samples.csv", "tsv/c3.tsv", "tsv/broken.tsv");
            extra(c, &[])
        },
        expect: &[
            "samples.csv",
            "line 6",
            "field 'counts'",
            "broken symbolic link",
        ],
    },
    Bad {
        name: "genotype path is a link loop",
        setup: |c| {
            std::os::unix::fs::symlink("g.tsv", c.b("tsv/g.tsv")).unwrap();
            c.edit("batch/transplants.csv", "tsv/d3.tsv", "tsv/g.tsv");
            extra(c, &[])
        },
        expect: &[
            "transplants.csv",
            "line 4",
            "field 'donor_genotypes'",
            "symbolic-link loop",
        ],
    },
    Bad {
        name: "samples sheet in UTF-16 with BOM",
        setup: |c| {
            let t = std::fs::read_to_string(c.b("samples.csv")).unwrap();
            std::fs::write(c.b("samples.csv"), utf16le(&t)).unwrap();
            extra(c, &[])
        },
        expect: &["samples.csv", "line 1", "UTF-16"],
    },
    Bad {
        name: "transplants sheet in UTF-16 big-endian",
        setup: |c| {
            let t = std::fs::read_to_string(c.b("transplants.csv")).unwrap();
            let b: Vec<u8> = [0xFE, 0xFF]
                .into_iter()
                .chain(t.encode_utf16().flat_map(u16::to_be_bytes))
                .collect();
            std::fs::write(c.b("transplants.csv"), b).unwrap();
            extra(c, &[])
        },
        expect: &["transplants.csv", "line 1", "UTF-16"],
    },
    Bad {
        name: "samples sheet in UTF-16 without BOM",
        setup: |c| {
            let t = std::fs::read_to_string(c.b("samples.csv")).unwrap();
            let b: Vec<u8> = t.encode_utf16().flat_map(u16::to_le_bytes).collect();
            std::fs::write(c.b("samples.csv"), b).unwrap();
            extra(c, &[])
        },
        expect: &["samples.csv", "UTF-16"],
    },
    Bad {
        name: "count TSV in UTF-16",
        setup: |c| {
            let t = std::fs::read_to_string(c.b("tsv/c3.tsv")).unwrap();
            std::fs::write(c.b("tsv/c3.tsv"), utf16le(&t)).unwrap();
            extra(c, &[])
        },
        expect: &["c3.tsv", "UTF-16"],
    },
    Bad {
        name: "genotype VCF in UTF-16",
        setup: |c| {
            let t = std::fs::read_to_string(c.b("genotypes/TX002.vcf")).unwrap();
            std::fs::write(c.b("genotypes/TX002.vcf"), utf16le(&t)).unwrap();
            extra(c, &[])
        },
        expect: &["TX002.vcf", "UTF-16"],
    },
    Bad {
        name: "typings in UTF-16",
        setup: |c| {
            let t = std::fs::read_to_string(c.b("typings.csv")).unwrap();
            std::fs::write(c.b("typings.csv"), utf16le(&t)).unwrap();
            extra(c, &[])
        },
        expect: &["typings.csv", "UTF-16"],
    },
    Bad {
        name: "antibodies in UTF-16",
        setup: |c| {
            let t = std::fs::read_to_string(c.b("antibodies.csv")).unwrap();
            std::fs::write(c.b("antibodies.csv"), utf16le(&t)).unwrap();
            extra(c, &[])
        },
        expect: &["antibodies.csv", "UTF-16"],
    },
    Bad {
        name: "limits in UTF-16",
        setup: |c| {
            let t = std::fs::read_to_string(c.b("limits.csv")).unwrap();
            std::fs::write(c.b("limits.csv"), utf16le(&t)).unwrap();
            extra(c, &[])
        },
        expect: &["limits.csv", "UTF-16"],
    },
    Bad {
        name: "risk rules in UTF-16",
        setup: |c| {
            let t = std::fs::read_to_string(c.aux("rules.toml")).unwrap();
            std::fs::write(c.aux("rules.toml"), utf16le(&t)).unwrap();
            extra(c, &[])
        },
        expect: &["rules.toml", "UTF-16"],
    },
    Bad {
        name: "error table in UTF-16",
        setup: |c| {
            let t = std::fs::read_to_string(c.aux("errors.tsv")).unwrap();
            std::fs::write(c.aux("errors.tsv"), utf16le(&t)).unwrap();
            extra(c, &[])
        },
        expect: &["errors.tsv", "UTF-16"],
    },
    Bad {
        name: "samples sheet with binary data",
        setup: |c| {
            let mut b = std::fs::read(c.b("samples.csv")).unwrap();
            b.extend_from_slice(&[0, 1, 2, 0, 0, 7]);
            std::fs::write(c.b("samples.csv"), b).unwrap();
            extra(c, &[])
        },
        expect: &["samples.csv", "binary"],
    },
    Bad {
        name: "risk rules path is a folder",
        setup: |c| {
            let mut a = c.args();
            a[3] = c.root.join("aux").display().to_string();
            a.push("--out".into());
            a.push(c.out().display().to_string());
            Some(a)
        },
        expect: &["aux", "is a folder"],
    },
    Bad {
        name: "error table path is a folder",
        setup: |c| {
            let mut a = c.args();
            a[5] = c.root.join("aux").display().to_string();
            a.push("--out".into());
            a.push(c.out().display().to_string());
            Some(a)
        },
        expect: &["aux", "is a folder"],
    },
    Bad {
        name: "error table missing",
        setup: |c| {
            std::fs::remove_file(c.aux("errors.tsv")).unwrap();
            extra(c, &[])
        },
        expect: &["errors.tsv", "not found"],
    },
    Bad {
        name: "error table names the ALT direction",
        setup: |c| {
            c.append("aux/errors.tsv", "chr22\t100\tA\tG\t0\t1000\t900\t800\n");
            extra(c, &[])
        },
        expect: &[
            "errors.tsv",
            "line 7",
            "field 'ref_reads_at_hom_alt'",
            "exceed depth_at_hom_alt",
        ],
    },
    Bad {
        name: "error table names the REF direction",
        setup: |c| {
            c.append("aux/errors.tsv", "chr22\t100\tA\tG\t901\t900\t0\t800\n");
            extra(c, &[])
        },
        expect: &[
            "errors.tsv",
            "line 7",
            "field 'alt_reads_at_hom_ref'",
            "exceed depth_at_hom_ref",
        ],
    },
    Bad {
        name: "risk rules with an unknown key, at its line",
        setup: |c| {
            c.edit("aux/rules.toml", "\nz =", "\nzed = 1.0\nz =");
            extra(c, &[])
        },
        expect: &["rules.toml", "zed", "line "],
    },
    Bad {
        name: "risk rules with a text for a number, at its line",
        setup: |c| {
            rules_set(c, "percent", "\"high\"");
            extra(c, &[])
        },
        expect: &["rules.toml", "line "],
    },
    Bad {
        name: "risk rules with a syntax error, at its line",
        setup: |c| {
            c.append("aux/rules.toml", "\n[levels\n");
            extra(c, &[])
        },
        expect: &["rules.toml", "line "],
    },
    Bad {
        name: "validation error carries its TOML line",
        setup: |c| {
            rules_set(c, "z", "-1.0");
            extra(c, &[])
        },
        expect: &["rules.toml", "field 'rcv.z'", "line "],
    },
    Bad {
        name: "transplants sheet given as a folder",
        setup: |c| {
            Some(vec![
                "scan".into(),
                "--transplants".into(),
                c.b("tsv").display().to_string(),
                "--samples".into(),
                c.b("samples.csv").display().to_string(),
                "--out".into(),
                c.out().display().to_string(),
                "-q".into(),
                "--backend".into(),
                "cpu".into(),
            ])
        },
        expect: &["tsv", "is a folder"],
    },
    Bad {
        name: "--limits a link loop",
        setup: |c| {
            std::os::unix::fs::symlink("l.csv", c.aux("l.csv")).unwrap();
            extra(c, &["--limits", &c.aux("l.csv").display().to_string()])
        },
        expect: &["l.csv", "symbolic-link loop"],
    },
    // ── other malformed inputs ───────────────────────────────────────────
    Bad {
        name: "ragged sheet row",
        setup: |c| {
            c.edit(
                "batch/transplants.csv",
                "TX002,kidney,",
                "TX002,kidney,extra,",
            );
            extra(c, &[])
        },
        expect: &["transplants.csv", "line 3"],
    },
    Bad {
        name: "sheet without the counts column",
        setup: |c| {
            c.edit("batch/samples.csv", ",counts,", ",count_file,");
            extra(c, &[])
        },
        expect: &["samples.csv", "line 1", "missing column 'counts'"],
    },
    Bad {
        name: "unknown organ",
        setup: |c| {
            c.edit("batch/transplants.csv", ",kidney,", ",kidnee,");
            extra(c, &[])
        },
        expect: &["transplants.csv", "line 2", "field 'organ'", "kidnee"],
    },
    Bad {
        name: "unknown relationship",
        setup: |c| {
            c.edit("batch/transplants.csv", ",unrelated,", ",neighbour,");
            extra(c, &[])
        },
        expect: &["transplants.csv", "line 2", "field 'relationship'"],
    },
    Bad {
        name: "empty sample id",
        setup: |c| {
            c.edit("batch/samples.csv", "TX002-S1,", ",");
            extra(c, &[])
        },
        expect: &["samples.csv", "line 4", "field 'sample_id'", "empty"],
    },
    Bad {
        name: "date in another format",
        setup: |c| {
            c.edit("batch/samples.csv", "2025-07-05", "05/07/2025");
            extra(c, &[])
        },
        expect: &["samples.csv", "line 2", "field 'collected'", "not a date"],
    },
    Bad {
        name: "draw of an unknown transplant",
        setup: |c| {
            c.edit("batch/samples.csv", "TX002-S1,TX002,", "TX002-S1,TX999,");
            extra(c, &[])
        },
        expect: &["samples.csv", "line 4", "field 'transplant_id'", "TX999"],
    },
    Bad {
        name: "missing genotype file",
        setup: |c| {
            std::fs::remove_file(c.b("genotypes/TX002.vcf")).unwrap();
            extra(c, &[])
        },
        expect: &[
            "transplants.csv",
            "line 3",
            "field 'recipient_genotypes'",
            "not found",
        ],
    },
    Bad {
        name: "unknown count column",
        setup: |c| {
            c.edit(
                "batch/samples.csv",
                "TX001.counts.vcf.gz,TX001-S1",
                "TX001.counts.vcf.gz,NOPE",
            );
            extra(c, &[])
        },
        expect: &["samples.csv", "line 2", "field 'counts_sample'", "NOPE"],
    },
    Bad {
        name: "VCF record with a malformed position",
        setup: |c| {
            let p = c.b("genotypes/TX002.vcf");
            let text = std::fs::read_to_string(&p).unwrap();
            let mut lines: Vec<String> = text.lines().map(String::from).collect();
            let i = lines.iter().position(|l| !l.starts_with('#')).unwrap();
            let mut f: Vec<String> = lines[i].split('\t').map(String::from).collect();
            f[1] = "12x".into();
            lines[i] = f.join("\t");
            std::fs::write(&p, lines.join("\n") + "\n").unwrap();
            extra(c, &[])
        },
        expect: &["TX002.vcf", "line "],
    },
    Bad {
        name: "count VCF with a negative depth",
        setup: |c| {
            let t = plain_count_vcf(c);
            let mut lines: Vec<String> = t.lines().map(String::from).collect();
            let i = lines.iter().position(|l| !l.starts_with('#')).unwrap();
            let mut f: Vec<String> = lines[i].split('\t').map(String::from).collect();
            let fmt: Vec<&str> = f[8].split(':').collect();
            let ad = fmt.iter().position(|k| *k == "AD").unwrap();
            let mut v: Vec<String> = f[9].split(':').map(String::from).collect();
            v[ad] = "-3,5".into();
            f[9] = v.join(":");
            lines[i] = f.join("\t");
            c.write("batch/counts/plain.vcf", &(lines.join("\n") + "\n"));
            extra(c, &[])
        },
        expect: &["plain.vcf", "field 'FORMAT/AD'"],
    },
    Bad {
        name: "typing with a malformed allele",
        setup: |c| {
            c.edit("batch/typings.csv", "B*44:02", "B*4x:02");
            extra(c, &[])
        },
        expect: &["typings.csv", "line 3", "field 'gl_string'"],
    },
    Bad {
        name: "typing with three copies at a locus",
        setup: |c| {
            c.edit(
                "batch/typings.csv",
                "A*24:02+A*02:01",
                "A*24:02+A*02:01+A*03:01",
            );
            extra(c, &[])
        },
        expect: &["typings.csv", "line 3", "field 'gl_string'"],
    },
    Bad {
        name: "bead with an ambiguous specificity",
        setup: |c| {
            c.edit("batch/antibodies.csv", ",A80,103", ",A*24:02/A*01:01,103");
            extra(c, &[])
        },
        expect: &[
            "antibodies.csv",
            "line 2",
            "field 'specificity'",
            "alternatives",
        ],
    },
    Bad {
        name: "bead with a malformed specificity",
        setup: |c| {
            c.edit("batch/antibodies.csv", ",A80,103", ",A*80:XY,103");
            extra(c, &[])
        },
        expect: &["antibodies.csv", "line 2", "field 'specificity'"],
    },
    Bad {
        name: "recipient id missing from typings",
        setup: |c| {
            c.edit("batch/transplants.csv", ",R3,", ",R9,");
            extra(c, &[])
        },
        expect: &["transplants.csv", "line 4", "field 'recipient_id'", "R9"],
    },
    Bad {
        name: "recipient HLA without donor HLA",
        setup: |c| {
            c.edit(
                "batch/transplants.csv",
                "tsv/d3.tsv,,,,R3",
                "tsv/d3.tsv,,A2 A3,,R3",
            );
            extra(c, &[])
        },
        expect: &["transplants.csv", "line 4", "field 'donor_hla'"],
    },
    Bad {
        name: "panel frequency 1.5",
        setup: |c| {
            let l = line_of(&c.b("panel.tsv"), 3);
            let (head, _) = l.rsplit_once('\t').unwrap();
            c.edit("batch/panel.tsv", &l, &format!("{head}\t1.5"));
            extra(c, &[])
        },
        expect: &["panel.tsv", "line 3", "field 'af'"],
    },
    Bad {
        name: "header-only samples sheet",
        setup: |c| {
            let h = line_of(&c.b("samples.csv"), 1);
            c.write("batch/samples.csv", &format!("{h}\n"));
            extra(c, &[])
        },
        expect: &["samples.csv", "no samples"],
    },
    Bad {
        name: "empty transplants sheet",
        setup: |c| {
            c.write("batch/transplants.csv", "");
            extra(c, &[])
        },
        expect: &["transplants.csv"],
    },
    Bad {
        name: "eplet table missing",
        setup: |c| extra(c, &["--eplets", "/nonexistent/eplets.csv"]),
        expect: &["eplets.csv"],
    },
    Bad {
        name: "count TSV without the pos column",
        setup: |c| {
            c.edit("batch/tsv/c3.tsv", "chrom\tpos", "chrom\tposition");
            extra(c, &[])
        },
        expect: &["c3.tsv", "line 1", "missing column 'pos'"],
    },
    Bad {
        name: "count TSV ragged row",
        setup: |c| {
            let l = line_of(&c.b("tsv/c3.tsv"), 7);
            c.edit("batch/tsv/c3.tsv", &l, &format!("{l}\textra"));
            extra(c, &[])
        },
        expect: &["c3.tsv", "line 7"],
    },
    Bad {
        name: "limits file without a column",
        setup: |c| {
            c.edit("batch/limits.csv", ",limit_of_blank_pct", ",lob");
            extra(c, &[])
        },
        expect: &[
            "limits.csv",
            "line 1",
            "missing column 'limit_of_blank_pct'",
        ],
    },
    Bad {
        name: "error table without a column",
        setup: |c| {
            c.edit("aux/errors.tsv", "\tdepth_at_hom_alt", "\tdepth");
            extra(c, &[])
        },
        expect: &["errors.tsv", "line 1", "missing column 'depth_at_hom_alt'"],
    },
    Bad {
        name: "error table count not a number",
        setup: |c| {
            let l = line_of(&c.aux("errors.tsv"), 3);
            let f: Vec<&str> = l.split('\t').collect();
            c.edit(
                "aux/errors.tsv",
                &l,
                &format!("{}\tmany\t{}", f[..5].join("\t"), f[6..].join("\t")),
            );
            extra(c, &[])
        },
        expect: &["errors.tsv", "line 3", "field 'depth_at_hom_ref'"],
    },
    Bad {
        name: "typings without person_id",
        setup: |c| {
            c.edit("batch/typings.csv", "person_id,", "person,");
            extra(c, &[])
        },
        expect: &["typings.csv", "line 1", "person_id"],
    },
    Bad {
        name: "antibodies without mfi",
        setup: |c| {
            c.edit("batch/antibodies.csv", ",mfi,", ",intensity,");
            extra(c, &[])
        },
        expect: &["antibodies.csv", "line 1", "missing column 'mfi'"],
    },
    Bad {
        name: "second donor without recipient genotypes",
        setup: |c| {
            let t = std::fs::read_to_string(c.b("transplants.csv")).unwrap();
            let mut lines: Vec<String> = t.lines().map(String::from).collect();
            lines[0].push_str(",relationship2");
            lines[1].push(',');
            lines[2].push(',');
            lines[3] = "TX003,heart,2025-03-01,unrelated,,,tsv/d3.tsv,,,,R3,D3,full_sibling".into();
            c.write("batch/transplants.csv", &(lines.join("\n") + "\n"));
            extra(c, &[])
        },
        expect: &["transplants.csv", "line 4", "field 'donor2_genotypes'"],
    },
];

/// Runs one case in its own folder and returns what went wrong, if anything.
fn check(case: &Bad) -> Option<String> {
    let (_keep, c) = fresh_case();
    let args = (case.setup)(&c).unwrap_or_else(|| extra(&c, &[]).unwrap());
    let out_flag = args
        .iter()
        .position(|a| a == "--out")
        .map(|i| PathBuf::from(&args[i + 1]));
    let out_existed = out_flag
        .as_ref()
        .is_some_and(|o| std::fs::symlink_metadata(o).is_ok());
    let before = checksums(&c.root);
    let run = graftscan(&args);
    let stderr = String::from_utf8_lossy(&run.stderr).to_string();
    // BAD_INPUT_SHOW=1 prints every case's message (to review their wording).
    if std::env::var_os("BAD_INPUT_SHOW").is_some() {
        eprintln!("[{}] {}", case.name, stderr.trim());
    }
    let mut problems = Vec::new();
    if run.status.code() != Some(2) {
        problems.push(format!("exit {:?}", run.status.code()));
    }
    if stderr.contains("panicked") || !stderr.starts_with("graftscan: error: ") {
        problems.push("not graftscan's own one-line error".into());
    }
    for e in case.expect {
        if !stderr.contains(e) {
            problems.push(format!("message lacks {e:?}"));
        }
    }
    if let Some(o) = &out_flag
        && !out_existed
        && std::fs::symlink_metadata(o).is_ok()
    {
        problems.push(format!("{} was created", o.display()));
    }
    let after = checksums(&c.root);
    if before != after {
        let changed: Vec<String> = before
            .keys()
            .chain(after.keys())
            .filter(|k| before.get(*k) != after.get(*k))
            .map(|k| k.display().to_string())
            .collect();
        problems.push(format!("inputs changed: {changed:?}"));
    }
    (!problems.is_empty()).then(|| {
        format!(
            "{}: {} — stderr: {}",
            case.name,
            problems.join("; "),
            stderr.trim()
        )
    })
}

#[test]
fn every_malformed_or_inconsistent_input_is_refused_cleanly() {
    assert!(CASES.len() >= 120, "{} cases", CASES.len());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(case) = CASES.get(i) else { break };
                    if let Some(f) = check(case) {
                        failures.lock().unwrap().push(f);
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

#[test]
fn the_unbroken_batch_scans_without_warnings_about_its_inputs() {
    let (_keep, c) = fresh_case();
    let before = checksums(&c.root);
    let run = graftscan(&extra(&c, &[]).unwrap());
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let run_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(c.out().join("run.json")).unwrap()).unwrap();
    let warnings = run_json["warnings"].to_string();
    for w in ["match no", "typed person", "same reads"] {
        assert!(!warnings.contains(w), "{warnings}");
    }
    // Each of the five genotype and count files parsed once.
    assert_eq!(run_json["counts"]["genotype_and_count_files_parsed"], 7);
    let mut after = checksums(&c.root);
    after.retain(|k, _| !k.starts_with(c.out()));
    assert_eq!(before, after, "inputs unchanged by a successful scan");
}

/// Rows that match nothing are not an error (a LIMS export holds other
/// patients' sera) but a warning in run.json and the report.
#[test]
fn unmatched_beads_unused_typings_and_shared_reads_reach_run_json_and_the_report() {
    let (_keep, c) = fresh_case();
    c.append("batch/antibodies.csv", "TX0O1,2025-02-05,A2,9000,1000\n");
    c.append("batch/typings.csv", "R4,A*01:01+A*02:01\n");
    c.append(
        "batch/samples.csv",
        "TX003-S2,TX003,2025-07-01,tsv/c3.tsv,,10.5,ng_per_ml\n",
    );
    let run = graftscan(&extra(&c, &[]).unwrap());
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let run_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(c.out().join("run.json")).unwrap()).unwrap();
    let warnings = run_json["warnings"].to_string();
    let report = std::fs::read_to_string(c.out().join("report.html")).unwrap();
    for w in [
        "'TX0O1' (line 5)",
        "match no HLA-typed transplant",
        "'R4' (line 4)",
        "'TX003-S2' (line 7) = 'TX003-S1' (line 6)",
    ] {
        assert!(warnings.contains(w), "run.json lacks {w}: {warnings}");
        assert!(
            report.contains(&w.replace('\'', "&#39;")),
            "report lacks {w}"
        );
    }
}

#[test]
fn identical_twin_donor_is_refused_with_a_clear_message() {
    let (_keep, c) = fresh_case();
    let t = std::fs::read_to_string(c.b("transplants.csv")).unwrap();
    c.write(
        "batch/transplants.csv",
        &t.replace(",unrelated,", ",identical_twin,"),
    );
    let run = graftscan(&extra(&c, &[]).unwrap());
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let samples = std::fs::read_to_string(c.out().join("samples.csv")).unwrap();
    let twin_rows: Vec<&str> = samples
        .lines()
        .filter(|l| l.contains("identical-twin"))
        .collect();
    assert!(!twin_rows.is_empty(), "{samples}");
    for row in twin_rows {
        assert!(
            row.contains("FAIL")
                && row.contains("not_identifiable")
                && row.contains("not identifiable")
        );
    }
}

/// A QC-FAIL draw with nothing to estimate from prints empty fields, not a
/// measured-looking 0.0000% and 0.0 copies/mL.
#[test]
fn a_draw_with_no_informative_snp_has_empty_fraction_and_copies() {
    let (_keep, c) = fresh_case();
    // TX003-S1 reads sites none of which is genotyped.
    let mut shifted = String::from("chrom\tpos\tref\talt\tref_count\talt_count\n");
    for l in std::fs::read_to_string(c.b("tsv/c3.tsv"))
        .unwrap()
        .lines()
        .skip(1)
    {
        let f: Vec<&str> = l.split('\t').collect();
        let pos: u64 = f[1].parse().unwrap();
        writeln!(shifted, "{}\t{}\t{}", f[0], pos + 1, f[2..].join("\t")).unwrap();
    }
    c.write("batch/tsv/c3.tsv", &shifted);
    let run = graftscan(&extra(&c, &["--json"]).unwrap());
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let mut r = csv::Reader::from_path(c.out().join("samples.csv")).unwrap();
    let h = r.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let row = r
        .records()
        .map(|x| x.unwrap())
        .find(|x| &x[0] == "TX003-S1")
        .unwrap();
    assert_eq!(&row[col("qc")], "FAIL");
    assert!(
        row[col("qc_reasons")].contains("no SNP"),
        "{:?}",
        &row[col("qc_reasons")]
    );
    for empty in [
        "donor_fraction_pct",
        "ci_low_pct",
        "ci_high_pct",
        "detected",
        "dd_cfdna_cp_per_ml",
    ] {
        assert_eq!(&row[col(empty)], "", "{empty}");
    }
    assert_eq!(&row[col("snps_used")], "0");
    let json = std::fs::read_to_string(c.out().join("samples.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let s = v["samples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["result"]["sample_id"] == "TX003-S1")
        .unwrap();
    assert!(s["result"]["estimate"].is_null() && s["result"]["dd_cfdna_cp_per_ml"].is_null());
}
