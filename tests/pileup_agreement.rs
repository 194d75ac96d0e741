//! `graftscan pileup` against `bcftools mpileup -a AD` on real public BAMs
//! (tests/data/pileup/PROVENANCE.md): Debian's samtools-test (1000 Genomes
//! reads, Illumina paired 100 bp, with overlapping mates) and
//! python-pysam-tests (samtools' ex1: Illumina GA paired 35 bp). `.ci/run`
//! installs the packages and the tools; without them a developer machine skips
//! with the reason printed, and CI (CI=true) fails.
//!
//! Matched settings: bcftools without BAQ (-B), -Q 13 -q 0, no depth cap,
//! orphan reads kept (-A), supplementary reads skipped like graftscan, and
//! its quality tweaks (--max-BQ, --delta-BQ) out of reach.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const SAMTOOLS_TEST: &str = "/usr/share/samtools/test/mpileup";
const PYSAM_TEST: &str = "/usr/share/doc/python-pysam/tests/pysam_data";

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The real data and tools, or `None` (skip) outside CI.
fn prerequisites(test: &str) -> Option<()> {
    let mut missing = Vec::new();
    for tool in ["samtools", "bcftools"] {
        if Command::new(tool).arg("--version").output().is_err() {
            missing.push(tool.to_string());
        }
    }
    for f in [
        format!("{SAMTOOLS_TEST}/mpileup.1.bam"),
        format!("{PYSAM_TEST}/ex1.sam.gz"),
    ] {
        if !Path::new(&f).is_file() {
            missing.push(f);
        }
    }
    if missing.is_empty() {
        return Some(());
    }
    let why = format!(
        "{test}: missing {} (apt-get install samtools bcftools samtools-test python-pysam-tests)",
        missing.join(", ")
    );
    if in_ci() {
        panic!("{why}");
    }
    eprintln!("skipping {why}");
    None
}

fn sh(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().expect("cannot start command");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn graftscan() -> Command {
    Command::new(env!("CARGO_BIN_EXE_graftscan"))
}

struct Dataset {
    name: &'static str,
    bam: PathBuf,
    fasta: PathBuf,
}

/// Copies (and for ex1, converts) the real files into `dir`, sorted and indexed.
fn datasets(dir: &Path) -> Vec<Dataset> {
    let mut out = Vec::new();
    let ref17 = dir.join("mpileup.ref.fa");
    std::fs::copy(format!("{SAMTOOLS_TEST}/mpileup.ref.fa"), &ref17).unwrap();
    sh(Command::new("samtools").arg("faidx").arg(&ref17));
    for (i, name) in [
        (1, "1000G-HG00100"),
        (2, "1000G-HG00101"),
        (3, "1000G-HG00102"),
    ] {
        let bam = dir.join(format!("mpileup.{i}.bam"));
        std::fs::copy(format!("{SAMTOOLS_TEST}/mpileup.{i}.bam"), &bam).unwrap();
        sh(Command::new("samtools").arg("index").arg(&bam));
        out.push(Dataset {
            name,
            bam,
            fasta: ref17.clone(),
        });
    }
    let ex1_fa = dir.join("ex1.fa");
    std::fs::copy(format!("{PYSAM_TEST}/ex1.fa"), &ex1_fa).unwrap();
    sh(Command::new("samtools").arg("faidx").arg(&ex1_fa));
    // ex1.sam.gz has no @SQ lines: take them from the FASTA index.
    let unsorted = dir.join("ex1.unsorted.bam");
    sh(Command::new("samtools")
        .args(["view", "-b", "-t"])
        .arg(dir.join("ex1.fa.fai"))
        .arg("-o")
        .arg(&unsorted)
        .arg(format!("{PYSAM_TEST}/ex1.sam.gz")));
    let ex1 = dir.join("ex1.bam");
    sh(Command::new("samtools")
        .args(["sort", "-o"])
        .arg(&ex1)
        .arg(&unsorted));
    sh(Command::new("samtools").arg("index").arg(&ex1));
    out.push(Dataset {
        name: "samtools-ex1",
        bam: ex1,
        fasta: ex1_fa,
    });
    out
}

type Key = (String, u64);

fn bcftools(bam: &Path, fasta: &Path, targets: Option<&Path>, extra: &[&str]) -> Vec<u8> {
    let mut mp = Command::new("bcftools");
    mp.args([
        "mpileup", "-a", "AD", "-B", "-Q", "13", "-q", "0", "-d", "1000000",
    ])
    .args([
        "-A",
        "-I",
        "--ignore-RG",
        "--max-BQ",
        "255",
        "--delta-BQ",
        "255",
    ])
    .args(["--ns", "UNMAP,SECONDARY,QCFAIL,DUP,SUPPLEMENTARY"])
    .args(extra)
    .arg("-f")
    .arg(fasta);
    if let Some(t) = targets {
        mp.arg("-T").arg(t);
    }
    let vcf = sh(mp.arg("-Ou").arg(bam));
    let mut q = Command::new("bcftools")
        .args(["query", "-f", "%CHROM\t%POS\t%REF\t%ALT\t[%AD]\n", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        q.stdin.take().unwrap().write_all(&vcf).unwrap();
    }
    let out = q.wait_with_output().unwrap();
    assert!(out.status.success());
    out.stdout
}

/// Panel: every covered position with an A/C/G/T reference base; ALT the
/// first ALT bcftools saw there, else the transition partner of REF.
fn write_panel(dataset: &Dataset, dir: &Path) -> (PathBuf, PathBuf, HashMap<Key, (u8, u8)>) {
    let all = bcftools(&dataset.bam, &dataset.fasta, None, &[]);
    let transition = |b: u8| match b {
        b'A' => b'G',
        b'G' => b'A',
        b'C' => b'T',
        _ => b'C',
    };
    let mut panel = String::from("chrom\tpos\tref\talt\taf\n");
    let mut targets = String::new();
    let mut sites = HashMap::new();
    for line in String::from_utf8(all).unwrap().lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let r = f[2].as_bytes();
        if r.len() != 1 || !b"ACGT".contains(&r[0]) {
            continue;
        }
        let alt = f[3]
            .split(',')
            .map(str::as_bytes)
            .find(|a| a.len() == 1 && b"ACGT".contains(&a[0]) && a[0] != r[0])
            .map_or(transition(r[0]), |a| a[0]);
        panel.push_str(&format!(
            "{}\t{}\t{}\t{}\t0.5\n",
            f[0], f[1], r[0] as char, alt as char
        ));
        targets.push_str(&format!("{}\t{}\n", f[0], f[1]));
        sites.insert((f[0].to_string(), f[1].parse().unwrap()), (r[0], alt));
    }
    let p = dir.join(format!("{}.panel.tsv", dataset.name));
    let t = dir.join(format!("{}.targets.tsv", dataset.name));
    std::fs::write(&p, panel).unwrap();
    std::fs::write(&t, targets).unwrap();
    (p, t, sites)
}

/// (ref, alt) at each panel site from bcftools query output; absent = (0, 0).
fn parse_bcftools(out: &[u8], sites: &HashMap<Key, (u8, u8)>) -> HashMap<Key, (u32, u32)> {
    let mut m = HashMap::new();
    for line in String::from_utf8_lossy(out).lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let key = (f[0].to_string(), f[1].parse().unwrap());
        let Some(&(r, a)) = sites.get(&key) else {
            continue;
        };
        let alts: Vec<&str> = f[3].split(',').collect();
        let ad: Vec<u32> = f[4].split(',').map(|v| v.parse().unwrap()).collect();
        let ref_n = if f[2].as_bytes() == [r] { ad[0] } else { 0 };
        let alt_n = alts
            .iter()
            .position(|x| x.as_bytes() == [a])
            .map_or(0, |i| ad[i + 1]);
        m.insert(key, (ref_n, alt_n));
    }
    m
}

/// graftscan's TSV: (ref, alt, overlapping_mates, discordant_mates_dropped) per site.
fn parse_graftscan(path: &Path) -> HashMap<Key, (u32, u32, u32, u32)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |n: &str| header.iter().position(|h| *h == n);
    let overlap = col("overlapping_mates");
    let discordant = col("discordant_mates_dropped");
    lines
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let n = |i: usize| f[i].parse::<u32>().unwrap();
            (
                (f[0].to_string(), f[1].parse().unwrap()),
                (n(4), n(5), overlap.map_or(0, n), discordant.map_or(0, n)),
            )
        })
        .collect()
}

fn run_pileup(bam: &Path, panel: &Path, out: &Path, extra: &[&str]) {
    sh(graftscan()
        .args(["pileup", "--quiet", "--detail", "--bam"])
        .arg(bam)
        .arg("--panel")
        .arg(panel)
        .arg("--out")
        .arg(out)
        .args(extra));
}

#[test]
fn pileup_counts_equal_bcftools_mpileup_on_real_bams_and_differences_are_overlapping_mates() {
    if prerequisites("pileup agreement").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut overlap_sites_seen = 0;
    for ds in datasets(dir.path()) {
        let (panel, targets, sites) = write_panel(&ds, dir.path());
        assert!(
            sites.len() > 1000,
            "{}: only {} sites",
            ds.name,
            sites.len()
        );
        let frag = dir.path().join(format!("{}.fragments.tsv", ds.name));
        let reads = dir.path().join(format!("{}.reads.tsv", ds.name));
        run_pileup(&ds.bam, &panel, &frag, &[]);
        run_pileup(&ds.bam, &panel, &reads, &["--count-reads"]);
        let g = parse_graftscan(&frag);
        let g_reads = parse_graftscan(&reads);
        let b = parse_bcftools(&bcftools(&ds.bam, &ds.fasta, Some(&targets), &[]), &sites);
        let b_x = parse_bcftools(
            &bcftools(&ds.bam, &ds.fasta, Some(&targets), &["-x"]),
            &sites,
        );
        let mut equal_default = 0;
        let mut equal_reads = 0;
        let mut differ_from_x = 0;
        for key in sites.keys() {
            let (gr, ga, overlapping, discordant) = g[key];
            let (rr, ra, _, _) = g_reads[key];
            let bd = b.get(key).copied().unwrap_or((0, 0));
            let bx = b_x.get(key).copied().unwrap_or((0, 0));
            if (gr, ga) == bd {
                equal_default += 1;
            } else {
                // htslib resolves overlapping mates too and sums agreeing
                // qualities as graftscan does, but keeps a disagreeing pair's
                // better base at 0.8·Q where graftscan needs a lead of Q13:
                // only a site with a dropped discordant pair may differ.
                assert!(
                    discordant > 0,
                    "{} {key:?}: graftscan ({gr}, {ga}) vs bcftools {bd:?} without a discordant pair",
                    ds.name
                );
            }
            if (rr, ra) == bx {
                equal_reads += 1;
            }
            if (gr, ga) != bx {
                differ_from_x += 1;
                // Overlap detection off counts both mates: the difference
                // comes from overlapping fragments, at most one per fragment.
                let excess = i64::from(rr + ra) - i64::from(gr + ga);
                assert!(
                    overlapping > 0 && excess.unsigned_abs() <= u64::from(overlapping),
                    "{} {key:?}: fragments ({gr}, {ga}) vs bcftools -x {bx:?}, {overlapping} overlapping",
                    ds.name
                );
            }
        }
        let n = sites.len();
        eprintln!(
            "{}: {n} sites; fragments = bcftools (overlap detection on) at {equal_default} ({:.3}%); \
             --count-reads = bcftools -x at {equal_reads} ({:.3}%); fragments ≠ bcftools -x at {differ_from_x} sites, all with overlapping mates",
            ds.name,
            100.0 * equal_default as f64 / n as f64,
            100.0 * equal_reads as f64 / n as f64,
        );
        assert!(equal_default as f64 >= 0.999 * n as f64, "{}", ds.name);
        assert_eq!(
            equal_reads, n,
            "{}: reads mode must equal bcftools -x",
            ds.name
        );
        overlap_sites_seen += differ_from_x;
    }
    assert!(
        overlap_sites_seen > 100,
        "the paired-end data must exercise overlapping mates ({overlap_sites_seen} sites)"
    );
}

#[test]
fn cram_counts_equal_bam_counts_with_the_reference_and_fail_clearly_without() {
    if prerequisites("pileup CRAM").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ds = datasets(dir.path()).remove(0);
    let (panel, _, _) = write_panel(&ds, dir.path());
    let cram = dir.path().join("mpileup.1.cram");
    sh(Command::new("samtools")
        .args(["view", "-C", "-T"])
        .arg(&ds.fasta)
        .arg("-o")
        .arg(&cram)
        .arg(&ds.bam));
    sh(Command::new("samtools").arg("index").arg(&cram));
    let from_bam = dir.path().join("bam.tsv");
    let from_cram = dir.path().join("cram.tsv");
    run_pileup(&ds.bam, &panel, &from_bam, &[]);
    let reference = ds.fasta.to_str().unwrap();
    run_pileup(&cram, &panel, &from_cram, &["--reference", reference]);
    assert_eq!(
        std::fs::read(&from_bam).unwrap(),
        std::fs::read(&from_cram).unwrap()
    );
    let out = graftscan()
        .args(["pileup", "--bam"])
        .arg(&cram)
        .arg("--panel")
        .arg(&panel)
        .arg("--out")
        .arg(dir.path().join("none.tsv"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--reference"), "{err}");
    assert!(!dir.path().join("none.tsv").exists());
}

/// Must-show: a scan whose samples.csv points at BAM/CRAM files gives the
/// same samples.csv as the scan of the count TSVs `graftscan pileup` wrote.
#[test]
fn scan_from_bams_equals_scan_from_the_counts_pileup_wrote() {
    if prerequisites("scan from BAMs").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sets = datasets(dir.path());
    let (panel, _, _) = write_panel(&sets[0], dir.path());
    let cram = dir.path().join("mpileup.3.cram");
    sh(Command::new("samtools")
        .args(["view", "-C", "-T"])
        .arg(&sets[0].fasta)
        .arg("-o")
        .arg(&cram)
        .arg(&sets[2].bam));
    sh(Command::new("samtools").arg("index").arg(&cram));
    let reference = sets[0].fasta.to_str().unwrap().to_string();
    // Recipient genotypes for TX2 from HG00100's own counts.
    let g1 = dir.path().join("hg00100.tsv");
    run_pileup(&sets[0].bam, &panel, &g1, &[]);
    let mut geno = String::from("chrom\tpos\tref\talt\tgenotype\n");
    for line in std::fs::read_to_string(&g1).unwrap().lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let (r, a): (u32, u32) = (f[4].parse().unwrap(), f[5].parse().unwrap());
        if r + a >= 4 {
            let gt = if a == 0 {
                0
            } else if r == 0 {
                2
            } else {
                1
            };
            geno.push_str(&format!("{}\t{}\t{}\t{}\t{gt}\n", f[0], f[1], f[2], f[3]));
        }
    }
    let batch = |name: &str, counts: [&Path; 3]| -> PathBuf {
        let d = dir.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::copy(&panel, d.join("panel.tsv")).unwrap();
        std::fs::write(d.join("recipient.tsv"), &geno).unwrap();
        std::fs::write(
            d.join("transplants.csv"),
            "transplant_id,organ,transplant_date,relationship,recipient_genotypes\n\
             TX1,kidney,2025-01-01,unrelated,\n\
             TX2,kidney,2025-01-01,unrelated,recipient.tsv\n",
        )
        .unwrap();
        let mut s = String::from("sample_id,transplant_id,collected,counts\n");
        for (i, (c, tx)) in counts.iter().zip(["TX1", "TX2", "TX2"]).enumerate() {
            s.push_str(&format!("S{i},{tx},2025-02-0{},{}\n", i + 1, c.display()));
        }
        std::fs::write(d.join("samples.csv"), s).unwrap();
        d
    };
    let from_reads = batch("reads", [&sets[1].bam, &sets[0].bam, &cram]);
    let mut tsvs = Vec::new();
    for (i, src) in [&sets[1].bam, &sets[0].bam, &cram].into_iter().enumerate() {
        let t = dir.path().join(format!("counts{i}.tsv"));
        run_pileup(src, &panel, &t, &["--reference", &reference]);
        tsvs.push(t);
    }
    let from_counts = batch("counts", [&tsvs[0], &tsvs[1], &tsvs[2]]);
    let scan = |d: &Path| -> Vec<u8> {
        // Results beside the batch folder: graftscan never writes into an input folder.
        let out = d.with_extension("out");
        sh(graftscan()
            .arg("scan")
            .arg(d)
            .args([
                "--quiet",
                "--backend",
                "cpu",
                "--reference",
                &reference,
                "--out",
            ])
            .arg(&out));
        std::fs::read(out.join("samples.csv")).unwrap()
    };
    let a = scan(&from_reads);
    let b = scan(&from_counts);
    assert!(String::from_utf8_lossy(&a).lines().count() == 4);
    assert_eq!(String::from_utf8_lossy(&a), String::from_utf8_lossy(&b));
}

/// Read filters, fragment and UMI counting, contig naming, end to end on a
/// small BAM written by samtools (every case with a known answer).
#[test]
fn pileup_filters_reads_counts_fragments_and_umis_and_maps_contig_names() {
    if Command::new("samtools").arg("--version").output().is_err() {
        if in_ci() {
            panic!("samtools missing (apt-get install samtools)");
        }
        eprintln!("skipping: samtools missing");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Site 1:100 A>G; every read is 10M; '?' is Q30, '&' is Q5.
    let read = |name: &str,
                flag: u32,
                pos: u32,
                mapq: u32,
                base_at: usize,
                base: char,
                q: char,
                tags: &str| {
        let mut seq: Vec<char> = "AAAAAAAAAA".chars().collect();
        let mut qual: Vec<char> = "??????????".chars().collect();
        seq[base_at] = base;
        qual[base_at] = q;
        let seq: String = seq.into_iter().collect();
        let qual: String = qual.into_iter().collect();
        format!("{name}\t{flag}\t1\t{pos}\t{mapq}\t10M\t*\t0\t0\t{seq}\t{qual}\tRG:Z:a{tags}\n")
    };
    let mut sam =
        String::from("@HD\tVN:1.6\tSO:coordinate\n@SQ\tSN:1\tLN:1000\n@RG\tID:a\tSM:P1\n");
    sam += &read("r2", 0, 91, 60, 9, 'A', '?', ""); // ref
    sam += &read("r1", 99, 95, 60, 5, 'G', '?', ""); // alt, mate 1 …
    sam += &read("r3", 1024, 95, 60, 5, 'G', '?', ""); // duplicate
    sam += &read("r4", 256, 95, 60, 5, 'G', '?', ""); // secondary
    sam += &read("r5", 2048, 95, 60, 5, 'G', '?', ""); // supplementary
    sam += &read("r6", 512, 95, 60, 5, 'G', '?', ""); // QC fail
    sam += &read("r7", 0, 95, 5, 5, 'G', '?', ""); // MAPQ 5
    sam += &read("r8", 0, 95, 60, 5, 'G', '&', ""); // base Q5
    sam += &read("r1", 147, 98, 60, 2, 'G', '?', ""); // … mate 2, overlapping
    sam += &read("r9", 0, 99, 60, 1, 'G', '?', "\tRX:Z:ACGT");
    sam += &read("r10", 0, 100, 60, 0, 'G', '?', "\tRX:Z:ACGT");
    let sam_path = dir.path().join("cases.sam");
    std::fs::write(&sam_path, sam).unwrap();
    let bam = dir.path().join("cases.bam");
    sh(Command::new("samtools")
        .args(["sort", "-o"])
        .arg(&bam)
        .arg(&sam_path));
    sh(Command::new("samtools").arg("index").arg(&bam));
    let panel = dir.path().join("panel.tsv");
    std::fs::write(
        &panel,
        "chrom\tpos\tref\talt\taf\nchr1\t100\tA\tG\t0.5\nchrY\t50\tA\tG\t0.5\n",
    )
    .unwrap();
    let count = |extra: &[&str]| -> (String, String) {
        let out = dir.path().join("out.tsv");
        let mapq = if extra.contains(&"--min-mapq") {
            &[][..]
        } else {
            &["--min-mapq", "10"][..]
        };
        let o = graftscan()
            .arg("pileup")
            .args(mapq)
            .arg("--bam")
            .arg(&bam)
            .arg("--panel")
            .arg(&panel)
            .arg("--out")
            .arg(&out)
            .args(extra)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        (
            std::fs::read_to_string(&out).unwrap(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (tsv, stderr) = count(&[]);
    // ref: r2; alt: r1 (one fragment), r9, r10.
    assert!(tsv.contains("chr1\t100\tA\tG\t1\t3\t4\n"), "{tsv}");
    assert!(tsv.contains("chrY\t50\tA\tG\t0\t0\t0\n"), "{tsv}");
    assert!(stderr.contains("sample 'P1'"), "{stderr}");
    assert!(
        stderr.contains("panel contig chr1 is 1 in the file"),
        "{stderr}"
    );
    assert!(stderr.contains("1 panel sites on contig chrY"), "{stderr}");
    let (tsv, _) = count(&["--umi-tag", "RX"]);
    assert!(tsv.contains("chr1\t100\tA\tG\t1\t2\t3\n"), "{tsv}");
    let (tsv, _) = count(&["--keep-duplicates"]);
    assert!(tsv.contains("chr1\t100\tA\tG\t1\t4\t5\n"), "{tsv}");
    let (tsv, _) = count(&["--count-reads"]);
    assert!(tsv.contains("chr1\t100\tA\tG\t1\t4\t5\n"), "{tsv}");
    let (tsv, _) = count(&["--min-mapq", "0"]);
    assert!(tsv.contains("chr1\t100\tA\tG\t1\t4\t5\n"), "{tsv}");
    let (tsv, _) = count(&["--min-baseq", "5"]);
    assert!(tsv.contains("chr1\t100\tA\tG\t1\t4\t5\n"), "{tsv}");
    // No index: said, exit 2, nothing written.
    std::fs::remove_file(dir.path().join("cases.bam.bai")).unwrap();
    let out = dir.path().join("none.tsv");
    let o = graftscan()
        .args(["pileup", "--bam"])
        .arg(&bam)
        .arg("--panel")
        .arg(&panel)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("samtools index"));
    assert!(!out.exists());
}
