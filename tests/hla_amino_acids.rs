//! Amino-acid mismatches of class II pairs against an independent reading of
//! the IPD-IMGT/HLA 3.58.0 protein alignments in ../shared, written here and
//! sharing no code with graftscan's reader: each block's residue columns are
//! concatenated per allele, position 1 is the reference residue after the
//! signal peptide (the residues left of the last `|` of the first block), and
//! numbering walks the concatenated reference. Pairs include insertions
//! (DQB1*05:03), deletions (DQA1*02:01, DRB1*01:91Q), unknown residues
//! (partly sequenced alleles) and the pooled DR group (DRB1 with DRB3/4/5).
//! Missing files: with CI=true the tests fail, otherwise they print why and skip.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use graftscan::hla::amino_acids::{aa_mismatch, load_for};
use graftscan::hla::mismatch::Direction;
use graftscan::hla::nomenclature::Locus;
use graftscan::hla::release::Release;
use graftscan::hla::typing::Typing;

/// One alignment file read the simple way: mature positions (labels) and,
/// per allele, the residue at each ('*' unknown, '.' gap).
struct Independent {
    labels: Vec<String>,
    residues: HashMap<String, Vec<char>>,
}

fn independent(path: &Path) -> Independent {
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut reference = String::new();
    let mut rows: HashMap<String, String> = HashMap::new();
    let mut signal = None;
    for (b, _) in lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with(" Prot"))
    {
        let bars: Vec<usize> = lines[b + 1]
            .char_indices()
            .filter(|(_, c)| *c == '|')
            .map(|(i, _)| i)
            .collect();
        let block: Vec<&str> = lines[b + 2..]
            .iter()
            .take_while(|l| !l.trim().is_empty() && !l.starts_with(" Prot"))
            .copied()
            .collect();
        let reference_row: Vec<char> = block[0].chars().collect();
        let columns: Vec<usize> = (bars[0]..reference_row.len())
            .filter(|&k| reference_row[k] != ' ')
            .collect();
        if signal.is_none() {
            // The first block's last label is position 1.
            assert!(lines[b].trim_end().ends_with(" 1"), "{}", lines[b]);
            signal = Some(
                columns
                    .iter()
                    .filter(|&&k| k < *bars.last().unwrap())
                    .count(),
            );
        }
        let before = reference.len();
        reference.extend(columns.iter().map(|&k| reference_row[k]));
        for row in &block {
            let chars: Vec<char> = row.chars().collect();
            let name = row.split_whitespace().next().unwrap().to_string();
            let seq = rows.entry(name).or_default();
            while seq.len() < before {
                seq.push(' ');
            }
            seq.extend(
                columns
                    .iter()
                    .map(|&k| chars.get(k).copied().unwrap_or(' ')),
            );
        }
    }
    let reference: Vec<char> = reference.chars().collect();
    let start = signal.unwrap();
    let mut labels = Vec::new();
    let (mut number, mut insertion) = (0, 0u8);
    for &c in &reference[start..] {
        if c == '.' {
            insertion += 1;
            labels.push(format!("{number}{}", (b'a' + insertion - 1) as char));
        } else {
            number += 1;
            insertion = 0;
            labels.push(number.to_string());
        }
    }
    let residues = rows
        .into_iter()
        .map(|(name, seq)| {
            let seq: Vec<char> = seq.chars().collect();
            let mut stopped = false;
            let decoded = (start..reference.len())
                .map(|i| {
                    let c = seq.get(i).copied().unwrap_or(' ');
                    if c == 'X' {
                        stopped = true;
                    }
                    match c {
                        _ if stopped => '*',
                        '-' => reference[i],
                        ' ' => '*',
                        c => c,
                    }
                })
                .collect();
            (name, decoded)
        })
        .collect();
    Independent { labels, residues }
}

/// The residue of `allele` at `label` ('.' where its file has no such column).
fn residue(files: &HashMap<String, Independent>, allele: &str, label: &str) -> char {
    let gene = allele.split('*').next().unwrap();
    let f = &files[gene];
    match f.labels.iter().position(|l| l == label) {
        Some(i) => f.residues[allele][i],
        None => '.',
    }
}

/// `label:R` for every residue of `from` (alleles of one locus) that no
/// allele of `against` (the other side's locus group) carries; unknowns are
/// never counted, on either side.
fn expected(
    files: &HashMap<String, Independent>,
    from: &[&str],
    against: &[&str],
) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for a in from {
        let gene = a.split('*').next().unwrap();
        let f = &files[gene];
        for (i, label) in f.labels.iter().enumerate() {
            let r = f.residues[*a][i];
            if r == '*' || r == '.' {
                continue;
            }
            let others: Vec<char> = against.iter().map(|b| residue(files, b, label)).collect();
            if others.iter().any(|&o| o == '*' || o == r) {
                continue;
            }
            out.insert(format!("{label}:{r}"));
        }
    }
    out
}

fn locus_of(allele: &str) -> Locus {
    graftscan::hla::nomenclature::parse_allele(allele)
        .unwrap()
        .gene
        .locus()
}

fn group(locus: Locus) -> Vec<Locus> {
    match locus {
        Locus::Drb1 | Locus::Drb345 => vec![Locus::Drb1, Locus::Drb345],
        l => vec![l],
    }
}

#[test]
fn class_two_amino_acid_mismatches_match_an_independent_reading_of_the_alignments() {
    let Some(dir) = common::shared_data("ipd-imgt-hla/3.58.0") else {
        return;
    };
    let release = Release::load(&dir).unwrap();
    let files: HashMap<String, Independent> = [
        "DRB1", "DRB3", "DRB4", "DRB5", "DQA1", "DQB1", "DPA1", "DPB1",
    ]
    .iter()
    .map(|g| {
        (
            g.to_string(),
            independent(&dir.join(format!("alignments/{g}_prot.txt"))),
        )
    })
    .collect();
    // (recipient alleles, donor alleles); every name is a full row of its file.
    let pairs: [(&[&str], &[&str]); 12] = [
        (
            &["DRB1*01:01:01:01", "DRB1*15:01:01:01"],
            &["DRB1*03:01:01:01", "DRB1*04:01:01:01"],
        ),
        (
            &["DRB1*04:01:01:01"],
            &["DRB1*04:04:01:01", "DRB1*11:01:01:01"],
        ),
        // DR pools DRB1 and DRB3/4/5 (one numbering: the DRB1*01:01:01:01 reference).
        (
            &["DRB1*15:01:01:01", "DRB5*01:01:01:01"],
            &["DRB1*07:01:01:01", "DRB4*01:01:01:01"],
        ),
        (
            &["DRB1*13:01:01:01", "DRB3*02:02:01:01"],
            &["DRB1*03:01:01:01", "DRB3*01:01:02:01"],
        ),
        // Unknown residues: partly sequenced alleles on either side.
        (
            &["DRB1*01:01:03", "DRB1*07:01:01:01"],
            &["DRB1*15:01:01:01", "DRB1*11:01:01:01"],
        ),
        (
            &["DRB1*07:01:01:01", "DRB4*01:01:01:01"],
            &["DRB1*07:01:01:01", "DRB4*01:01:02"],
        ),
        // Deletions ('.' where the reference has a residue).
        (&["DRB1*01:01:01:01"], &["DRB1*01:91Q", "DRB1*15:01:01:01"]),
        (
            &["DQA1*01:01:01:01", "DQA1*05:01:01:01"],
            &["DQA1*02:01:01:01", "DQA1*03:01:01:01"],
        ),
        // Insertions (residues where the reference has '.').
        (
            &["DQB1*05:01:01:01", "DQB1*06:02:01:01"],
            &["DQB1*05:03:01:01", "DQB1*03:01:01:01"],
        ),
        (
            &["DQB1*05:03:01:01", "DQB1*05:01:02"],
            &["DQB1*05:01:01:01", "DQB1*06:03:01:01"],
        ),
        (
            &["DPA1*01:03:01:01", "DPB1*04:01:01:01", "DPB1*02:01:02:01"],
            &["DPA1*02:01:01:01", "DPB1*01:01:01:01", "DPB1*13:01:01:01"],
        ),
        (
            &["DPB1*01:01:04", "DPB1*03:01:01:01"],
            &["DPB1*02:01:10", "DPB1*04:01:01:01"],
        ),
    ];
    let gl = |alleles: &[&str]| {
        let mut by_locus: Vec<(Locus, Vec<&str>)> = Vec::new();
        for a in alleles {
            let l = locus_of(a);
            match by_locus.iter_mut().find(|(x, _)| *x == l) {
                Some((_, v)) => v.push(a),
                None => by_locus.push((l, vec![a])),
            }
        }
        by_locus
            .iter()
            .map(|(_, v)| v.join("+"))
            .collect::<Vec<_>>()
            .join("^")
    };
    let typings: Vec<(Typing, Typing)> = pairs
        .iter()
        .map(|(r, d)| {
            let mut rt = Typing::parse_gl(&gl(r)).unwrap();
            let mut dt = Typing::parse_gl(&gl(d)).unwrap();
            rt.check_against(&release).unwrap();
            dt.check_against(&release).unwrap();
            (rt, dt)
        })
        .collect();
    let reference = load_for(
        Some(&release),
        typings.iter().flat_map(|(r, d)| [r, d]),
        None,
    )
    .unwrap();
    let mut checked = 0;
    let mut total = 0;
    for ((r_alleles, d_alleles), (rt, dt)) in pairs.iter().zip(&typings) {
        // Each full name must be a row of its own (no longer name extends it).
        for a in r_alleles.iter().chain(d_alleles.iter()) {
            let gene = a.split('*').next().unwrap();
            let f = &files[gene];
            assert!(f.residues.contains_key(*a), "{a} not in {gene}_prot.txt");
            assert!(
                !f.residues.keys().any(|k| k.starts_with(&format!("{a}:"))),
                "{a} is not a full name"
            );
        }
        for (direction, from, against) in [
            (Direction::HostVsGraft, d_alleles, r_alleles),
            (Direction::GraftVsHost, r_alleles, d_alleles),
        ] {
            let got = aa_mismatch(rt, dt, &reference, direction);
            let from_loci: BTreeSet<Locus> = from.iter().map(|a| locus_of(a)).collect();
            for locus in from_loci {
                let mine: Vec<&str> = from
                    .iter()
                    .filter(|a| locus_of(a) == locus)
                    .copied()
                    .collect();
                let theirs: Vec<&str> = against
                    .iter()
                    .filter(|a| group(locus).contains(&locus_of(a)))
                    .copied()
                    .collect();
                let want = expected(&files, &mine, &theirs);
                let l = got
                    .locus(locus)
                    .unwrap_or_else(|| panic!("{locus} not compared: {:?}", got.not_compared));
                let have: BTreeSet<String> = l.counts.items.iter().cloned().collect();
                assert_eq!(
                    have, want,
                    "{direction:?} {locus}: recipient {r_alleles:?}, donor {d_alleles:?}"
                );
                assert_eq!(l.counts.count as usize, want.len());
                checked += 1;
                total += want.len();
            }
        }
    }
    eprintln!("{checked} locus comparisons, {total} mismatched residues, all equal");
    assert!(checked >= 20 && total > 100, "{checked} / {total}");
}

#[test]
fn a_release_without_alignments_refuses_amino_acid_mismatch_clearly() {
    let Some(dir) = common::shared_data("ipd-imgt-hla/3.58.0") else {
        return;
    };
    // A release folder with the WMDA files but no alignments/ folder.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("wmda")).unwrap();
    for f in [
        "wmda/rel_dna_ser.txt",
        "wmda/rel_ser_ser.txt",
        "release_version.txt",
    ] {
        std::fs::copy(dir.join(f), tmp.path().join(f)).unwrap();
    }
    let release = Release::load(tmp.path()).unwrap();
    let t = Typing::parse_gl("DRB1*15:01+DRB1*04:01").unwrap();
    let e = load_for(Some(&release), [&t], None)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("alignments") && e.contains("not found"), "{e}");
    let e = load_for(None, [&t], None).err().unwrap().to_string();
    assert!(e.contains("--hla-db"), "{e}");
}

#[test]
fn loci_without_an_alignment_file_are_not_compared_and_say_why() {
    let Some(dir) = common::shared_data("ipd-imgt-hla/3.58.0") else {
        return;
    };
    let release = Release::load(&dir).unwrap();
    // ../shared holds class II alignments only.
    let r = Typing::parse_gl("A*02:01+A*01:01^DRB1*15:01+DRB1*04:01").unwrap();
    let d = Typing::parse_gl("A*03:01+A*01:01^DRB1*03:01+DRB1*04:01").unwrap();
    let reference = load_for(Some(&release), [&r, &d], None).unwrap();
    assert_eq!(reference.missing.len(), 1);
    let m = aa_mismatch(&r, &d, &reference, Direction::HostVsGraft);
    let (_, why) = m.not_compared.iter().find(|(l, _)| *l == Locus::A).unwrap();
    assert!(why.contains("A_prot.txt"), "{why}");
    assert!(m.locus(Locus::Drb1).unwrap().counts.count > 0);
}
