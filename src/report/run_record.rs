//! run.json: what was run, on what, with which parameters, by which backend,
//! and how long it took: enough to reproduce and audit any number reported.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

pub fn input_digests(files: &[PathBuf]) -> Result<Vec<serde_json::Value>> {
    files
        .iter()
        .map(|p| {
            Ok(serde_json::json!({
                "path": p.display().to_string(),
                "sha256": sha256_file(p)?,
            }))
        })
        .collect()
}
