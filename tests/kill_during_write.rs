//! SIGKILL at any moment of a scan never leaves a partial results folder or a
//! mix of old and new files (issue 12, must-show 2). The results folder holds
//! either the previous results, byte for byte, or the new ones, complete; and
//! the next run cleans up whatever hidden temporary folder the killed one left.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rand::{RngExt, SeedableRng};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_graftscan"))
}

fn batch(dir: &Path) -> PathBuf {
    let b = dir.join("batch");
    let out = bin()
        .args([
            "simulate",
            "--snps",
            "80",
            "--transplants",
            "3",
            "--samples-per-transplant",
            "2",
            "--out",
        ])
        .arg(&b)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    b
}

/// The old results come from `--json --overdispersion none`, the new ones
/// from the defaults: every file of the two sets differs, and the old set has
/// two files the new one lacks, so a mix shows.
const OLD: &[&str] = &["--json", "--overdispersion", "none"];
const NEW: &[&str] = &["--force"];

/// A scan into `cwd/out`, named relative to `cwd` so that the command line
/// (which the report and run.json record) is the same wherever it runs.
fn scan(b: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut c = bin();
    c.current_dir(out.parent().unwrap())
        .arg("scan")
        .arg(b)
        .arg("--out")
        .arg(out.file_name().unwrap())
        .args(["--quiet", "--backend", "cpu"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

/// `YYYY-MM-DD HH:MM` (the report's generation time) blanked.
fn without_timestamps(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let shape = b"dddd-dd-dd dd:dd";
    while i < b.len() {
        let stamp = i + shape.len() <= b.len()
            && shape.iter().zip(&b[i..]).all(|(s, c)| match s {
                b'd' => c.is_ascii_digit(),
                other => other == c,
            });
        if stamp {
            out.push_str("<time>");
            i += shape.len();
        } else {
            let ch = text[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// File name → content, run.json reduced to what identifies the run (its
/// timings and command line differ between runs of the same inputs).
fn snapshot(out: &Path) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for e in std::fs::read_dir(out).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(e.path()).unwrap();
        let value = if name == "run.json" {
            let v: serde_json::Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("run.json does not parse ({e}): a partial file"));
            format!("{} {}", v["parameters"]["estimator"], v["counts"])
        } else {
            without_timestamps(&text)
        };
        m.insert(name, value);
    }
    m
}

/// Hidden siblings of `out` (temporary folders of a run).
fn leftovers(out: &Path) -> Vec<String> {
    let name = out.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!(".{name}.")))
        .collect()
}

struct Reference {
    old: BTreeMap<String, String>,
    new: BTreeMap<String, String>,
}

fn references(b: &Path, dir: &Path) -> Reference {
    let o = dir.join("ref-old").join("out");
    let n = dir.join("ref-new").join("out");
    std::fs::create_dir_all(o.parent().unwrap()).unwrap();
    std::fs::create_dir_all(n.parent().unwrap()).unwrap();
    assert!(scan(b, &o, OLD).status().unwrap().success());
    assert!(scan(b, &n, NEW).status().unwrap().success());
    let r = Reference {
        old: snapshot(&o),
        new: snapshot(&n),
    };
    assert!(r.old.contains_key("samples.json") && !r.new.contains_key("samples.json"));
    assert_ne!(
        r.old["samples.csv"], r.new["samples.csv"],
        "old and new results must differ"
    );
    r
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// After a kill: the folder is the old one or the complete new one.
fn assert_whole(out: &Path, r: &Reference, when: &str) -> &'static str {
    if !out.exists() {
        // Only where the file system cannot exchange two folders atomically:
        // then the old results wait beside it, and the next run restores them.
        let l = leftovers(out);
        assert!(
            l.iter().any(|n| n.contains(".graftscan-old-")),
            "{when}: results folder gone and no old folder to restore: {l:?}"
        );
        return "absent, old aside";
    }
    let s = snapshot(out);
    if s == r.old {
        "old"
    } else if s == r.new {
        "new"
    } else {
        panic!(
            "{when}: a partial or mixed results folder: {:?} (old {:?}, new {:?})",
            s.keys().collect::<Vec<_>>(),
            r.old.keys().collect::<Vec<_>>(),
            r.new.keys().collect::<Vec<_>>()
        );
    }
}

/// The next run into the folder cleans every leftover and leaves the new results.
fn assert_next_run_recovers(b: &Path, out: &Path, r: &Reference) -> bool {
    let had = !leftovers(out).is_empty();
    let run = scan(b, out, NEW).output().unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(snapshot(out), r.new);
    assert!(leftovers(out).is_empty(), "{:?}", leftovers(out));
    if had {
        let run_json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
        assert!(
            !run_json["output_recovery"].as_array().unwrap().is_empty(),
            "the recovery is recorded"
        );
    }
    had
}

fn reset(out: &Path, dir: &Path) {
    for l in leftovers(out) {
        let p = out.parent().unwrap().join(l);
        let _ = std::fs::remove_dir_all(&p);
    }
    let _ = std::fs::remove_dir_all(out);
    copy_dir(&dir.join("ref-old").join("out"), out);
}

fn kill_after(mut child: Child, delay: Duration) {
    std::thread::sleep(delay);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn sigkill_at_random_moments_never_leaves_a_partial_or_mixed_results_folder() {
    let dir = tempfile::tempdir().unwrap();
    let b = batch(dir.path());
    let r = references(&b, dir.path());
    let out = dir.path().join("out");
    // How long an uninterrupted replacing run takes.
    reset(&out, dir.path());
    let t = Instant::now();
    assert!(scan(&b, &out, NEW).status().unwrap().success());
    let total = t.elapsed();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(12);
    let mut seen = BTreeMap::new();
    let mut recovered = 0;
    for i in 0..24 {
        reset(&out, dir.path());
        // Half over the whole run, half around its end, where it writes.
        let range = if i % 2 == 0 { 0.0..1.1 } else { 0.85..1.05 };
        let delay = total.mul_f64(rng.random_range(range));
        kill_after(scan(&b, &out, NEW).spawn().unwrap(), delay);
        let state = assert_whole(&out, &r, &format!("kill {i} after {delay:?}"));
        *seen.entry(state).or_insert(0) += 1;
        recovered += usize::from(assert_next_run_recovers(&b, &out, &r));
    }
    eprintln!(
        "random kills over {total:?}: {seen:?}; {recovered} leftovers cleaned by the next run"
    );
}

/// The commit's own windows, held open by the test seam
/// GRAFTSCAN_COMMIT_PAUSE_MS: staging complete but not yet swapped in, and
/// swapped in with the old folder not yet removed.
#[test]
fn sigkill_just_before_and_just_after_the_final_swap() {
    let dir = tempfile::tempdir().unwrap();
    let b = batch(dir.path());
    let r = references(&b, dir.path());
    let out = dir.path().join("out");
    for (window, expect) in [("before the swap", "old"), ("after the swap", "new")] {
        reset(&out, dir.path());
        let mut child = scan(&b, &out, NEW)
            .env("GRAFTSCAN_COMMIT_PAUSE_MS", "1500")
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            assert!(Instant::now() < deadline, "{window}: window never reached");
            let staged = leftovers(&out)
                .iter()
                .any(|n| n.contains(".graftscan-new-"));
            let swapped = out.join("run.json").is_file() && !out.join("samples.json").exists();
            if (window == "before the swap" && staged && !swapped)
                || (window == "after the swap" && swapped)
            {
                // Inside the pause: the files are written and flushed.
                std::thread::sleep(Duration::from_millis(300));
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(assert_whole(&out, &r, window), expect, "{window}");
        assert!(
            !leftovers(&out).is_empty(),
            "{window}: the killed run left its temporary folder"
        );
        assert!(assert_next_run_recovers(&b, &out, &r), "{window}");
    }
}

#[test]
fn sigkill_during_a_first_write_leaves_no_folder_or_a_complete_one() {
    let dir = tempfile::tempdir().unwrap();
    let b = batch(dir.path());
    let r = references(&b, dir.path());
    std::fs::create_dir_all(dir.path().join("fresh")).unwrap();
    let out = dir.path().join("fresh").join("out");
    let t = Instant::now();
    assert!(scan(&b, &out, NEW).status().unwrap().success());
    let total = t.elapsed();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    for i in 0..8 {
        let _ = std::fs::remove_dir_all(&out);
        let delay = total.mul_f64(rng.random_range(0.5..1.1));
        kill_after(scan(&b, &out, NEW).spawn().unwrap(), delay);
        if out.exists() {
            assert_eq!(snapshot(&out), r.new, "kill {i}: a partial new folder");
        }
        let run = scan(&b, &out, NEW).output().unwrap();
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        assert!(
            leftovers(&out).is_empty(),
            "kill {i}: {:?}",
            leftovers(&out)
        );
    }
}
