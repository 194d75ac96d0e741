//! The fuzzing harness in CI, for a bounded time (issue 12): every input of
//! the kept corpus (fuzz/corpus/<target>/) and every crash a fuzzer ever
//! found (fuzz/regressions/<target>/) is replayed through the same entry
//! points as the cargo-fuzz targets, then a fixed number of deterministic
//! mutations of them. A panic fails the test; so does a run that does not
//! finish (a hang), detected by a watchdog. Long fuzzing runs use cargo fuzz
//! (see fuzz/README.md).

#[path = "../fuzz/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use rand::{RngExt, SeedableRng};

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut out = Vec::new();
    for kind in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(kind).join(target)) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        files.sort();
        for f in files {
            let bytes = std::fs::read(&f).unwrap();
            out.push((f, bytes));
        }
    }
    out
}

/// Values that break parsers: extremes, specials, separators, dates.
const TOKENS: &[&str] = &[
    "inf",
    "-inf",
    "nan",
    "NaN",
    "1e308",
    "1e-320",
    "-1",
    "0",
    "4294967296",
    "18446744073709551616",
    "\"",
    "\n",
    "\r\n",
    "\t",
    ",",
    "#",
    "##",
    "\u{feff}",
    "..",
    "/",
    "chr1",
    "0/1",
    "1|1",
    "./.",
    "2099-01-01",
    "0000-00-00",
    "*",
    ":",
    "~",
    "^",
    "+",
    "|",
    "XX",
    "A*02:01",
    "\0",
];

/// One deterministic mutation: flip, overwrite, delete, duplicate or insert.
fn mutate(rng: &mut rand_chacha::ChaCha8Rng, input: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    let rounds = rng.random_range(1..4);
    for _ in 0..rounds {
        let len = v.len();
        match rng.random_range(0..5) {
            0 if len > 0 => {
                let i = rng.random_range(0..len);
                v[i] ^= 1 << rng.random_range(0..8);
            }
            1 if len > 0 => {
                let i = rng.random_range(0..len);
                v[i] = *b"0123456789,\t\n-.e\"#/: \0"
                    .get(rng.random_range(0..23))
                    .unwrap_or(&b'x');
            }
            2 if len > 1 => {
                let a = rng.random_range(0..len);
                let b = (a + rng.random_range(1..64)).min(len);
                v.drain(a..b);
            }
            3 if len > 1 => {
                let a = rng.random_range(0..len);
                let b = (a + rng.random_range(1..256)).min(len);
                let copy = v[a..b].to_vec();
                let at = rng.random_range(0..=v.len());
                v.splice(at..at, copy);
            }
            _ => {
                let t = TOKENS[rng.random_range(0..TOKENS.len())].as_bytes();
                let at = rng.random_range(0..=v.len());
                v.splice(at..at, t.iter().copied());
            }
        }
    }
    v
}

/// Run `work` on its own thread; a panic or a run longer than `limit` fails.
fn watched(what: String, limit: Duration, work: impl FnOnce() + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
        let _ = tx.send(result.is_ok());
    });
    match rx.recv_timeout(limit) {
        Ok(true) => {}
        Ok(false) => panic!("{what}: panicked (see above)"),
        Err(_) => panic!("{what}: did not finish within {limit:?} (a hang)"),
    }
}

#[test]
fn every_kept_fuzz_input_and_past_crash_runs_without_panic_or_hang() {
    let mut total = 0;
    for &(name, entry) in harness::TARGETS {
        let cases = inputs(name);
        assert!(!cases.is_empty(), "fuzz/corpus/{name} is empty");
        total += cases.len();
        watched(
            format!("target {name}"),
            Duration::from_secs(300),
            move || {
                for (path, bytes) in cases {
                    let r = std::panic::catch_unwind(|| entry(&bytes));
                    assert!(r.is_ok(), "{} panics", path.display());
                }
            },
        );
    }
    eprintln!("replayed {total} corpus and regression inputs");
}

/// Mutations per corpus input and target, and at most this many runs of the
/// (slow) whole-scan target: the test stays within a minute on 2 cores.
const MUTATIONS_PER_INPUT: usize = 12;
const MAX_RUNS_PER_TARGET: usize = 1500;
const MAX_SCAN_RUNS: usize = 300;

#[test]
fn bounded_mutation_fuzzing_of_every_parser_and_the_scan_finds_nothing() {
    let mut runs = 0;
    for (k, &(name, entry)) in harness::TARGETS.iter().enumerate() {
        let cases = inputs(name);
        let cap = if name == "scan" {
            MAX_SCAN_RUNS
        } else {
            MAX_RUNS_PER_TARGET
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x5eed + k as u64);
        let mut mutants = Vec::new();
        'outer: for _ in 0..MUTATIONS_PER_INPUT {
            for (_, bytes) in &cases {
                if mutants.len() >= cap {
                    break 'outer;
                }
                mutants.push(mutate(&mut rng, bytes));
            }
        }
        runs += mutants.len();
        watched(
            format!("mutations of {name}"),
            Duration::from_secs(300),
            move || {
                for (i, m) in mutants.iter().enumerate() {
                    let r = std::panic::catch_unwind(|| entry(m));
                    if r.is_err() {
                        let keep = std::env::temp_dir().join(format!("graftscan-fuzz-{name}-{i}"));
                        let _ = std::fs::write(&keep, m);
                        panic!(
                            "mutation {i} of {name} panics; input saved to {} (add it to fuzz/regressions/{name}/)",
                            keep.display()
                        );
                    }
                }
            },
        );
    }
    eprintln!("{runs} mutated inputs ran without panic or hang");
}
