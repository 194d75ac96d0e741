//! Shared test helpers.
#![allow(dead_code)]

use std::path::PathBuf;

/// The shared real-data folder beside the checkout. Outside CI a missing folder
/// skips the test with a printed reason; with CI=true it is a failure.
pub fn shared_data(sub: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(sub);
    if p.is_dir() {
        return Some(p);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but {} is missing", p.display());
    }
    eprintln!(
        "skipping: {} not found (tests read ../shared beside the checkout)",
        p.display()
    );
    None
}
