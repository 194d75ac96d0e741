//! Atomic output: every file is rendered in memory first, then each is written
//! to a temporary name in the output folder, flushed, and renamed into place. A
//! failure before the commit leaves no output at all; a failure during it leaves
//! no half-written file.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

#[derive(Debug, Default)]
pub struct OutputSet {
    files: Vec<(String, Vec<u8>)>,
}

impl OutputSet {
    pub fn add(&mut self, name: &str, bytes: Vec<u8>) {
        self.files.push((name.to_string(), bytes));
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.files.iter().map(|(n, _)| n.as_str())
    }

    /// Write every file: first all to temporary names beside their destinations,
    /// then rename each into place.
    pub fn commit(self, dir: &Path) -> Result<Vec<PathBuf>> {
        let pid = std::process::id();
        let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
        let cleanup = |staged: &[(PathBuf, PathBuf)]| {
            for (t, _) in staged {
                let _ = fs::remove_file(t);
            }
        };
        for (name, bytes) in &self.files {
            let dest = dir.join(name);
            let parent = dest.parent().unwrap_or(dir).to_path_buf();
            let file_name = dest
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("output")
                .to_string();
            let tmp = parent.join(format!(".{file_name}.tmp-{pid}"));
            let result = (|| {
                fs::create_dir_all(&parent)?;
                let mut f = fs::File::create(&tmp)?;
                f.write_all(bytes)?;
                f.sync_all()
            })();
            if let Err(e) = result {
                cleanup(&staged);
                let _ = fs::remove_file(&tmp);
                return Err(Error::io(&tmp, e));
            }
            staged.push((tmp, dest));
        }
        let mut written = Vec::new();
        for (tmp, dest) in &staged {
            if let Err(e) = fs::rename(tmp, dest) {
                cleanup(&staged);
                return Err(Error::io(dest, e));
            }
            written.push(dest.clone());
        }
        Ok(written)
    }
}

/// Write one file atomically (temporary name in the same folder, then rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("output");
    let mut set = OutputSet::default();
    set.add(name, bytes.to_vec());
    set.commit(dir).map(|_| ())
}
