//! Atomic output. A command that writes a folder (scan, simulate, hla screen)
//! renders every file in memory ([`OutputSet`]), writes them all into a
//! temporary sibling folder, flushes it, and only then puts the whole folder
//! in place ([`ResultsFolder`]): a crash at any moment leaves either the old
//! results intact or the new ones complete, never a mix and never a part.
//!
//! Replacing an existing folder (`--force`) swaps old and new in one atomic
//! `renameat2(RENAME_EXCHANGE)` on Linux; where the file system cannot
//! exchange, the old folder is renamed aside, the new one renamed in and the
//! old one removed. A run killed inside either sequence leaves a hidden
//! `.NAME.graftscan-new-PID` or `.NAME.graftscan-old-PID` beside the results;
//! the next run into the same folder finds it, restores or removes it, and
//! says so.
//!
//! Inputs are read-only: `--out` may not be, contain or lie inside an input
//! folder or file. Everything that can make the commit fail (an `--out` that
//! is a file, an unwritable parent, an existing folder without `--force`) is
//! checked before any computation, in the user's words.

use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};
use crate::formats::input::describe_io;
use crate::hla::release::Release;

/// Test seam for tests/kill_during_write.rs: milliseconds to sleep before and
/// after the final swap, so that a test can kill the process inside it.
const PAUSE_ENV: &str = "GRAFTSCAN_COMMIT_PAUSE_MS";

/// Marks the hidden siblings a run writes beside its results folder.
const TAG: &str = "graftscan";

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
}

/// Files and folders a command reads: the results folder must stay clear of
/// them.
#[derive(Debug, Default, Clone)]
pub struct InputPaths {
    /// Folders whose whole content is input (a batch folder, the sheets'
    /// folder, an IPD-IMGT/HLA release).
    pub folders: Vec<PathBuf>,
    pub files: Vec<PathBuf>,
}

impl InputPaths {
    pub fn folder(&mut self, p: &Path) {
        self.folders.push(p.to_path_buf());
    }

    pub fn file(&mut self, p: &Path) {
        self.files.push(p.to_path_buf());
    }

    /// The files of optional flags.
    pub fn files<'a>(&mut self, paths: impl IntoIterator<Item = Option<&'a PathBuf>>) {
        self.files.extend(paths.into_iter().flatten().cloned());
    }

    /// The HLA references given by flag: a Wiebe thresholds file (when the
    /// spec is a path) and the IPD-IMGT/HLA release folder (or the one
    /// GRAFTSCAN_HLA_DB names).
    pub fn hla_references(&mut self, wiebe_thresholds: Option<&str>, hla_db: Option<&Path>) {
        if let Some(spec) = wiebe_thresholds {
            self.file(Path::new(spec));
        }
        if let Some(dir) = Release::locate(hla_db) {
            self.folder(&dir);
        }
    }
}

/// The results folder of one run, resolved and checked before any work.
#[derive(Debug)]
pub struct ResultsFolder {
    /// As the user wrote it, for messages.
    shown: PathBuf,
    /// Absolute, symbolic links resolved in the part that exists.
    dest: PathBuf,
    parent: PathBuf,
    name: OsString,
    flag: &'static str,
    /// What the recovery of an earlier, interrupted run did.
    notes: Vec<String>,
}

fn usage(m: String) -> Error {
    Error::Usage(m)
}

impl ResultsFolder {
    /// Resolve `out` and check, before any work, that the results can be
    /// committed there: not an input, not a file, an existing folder only with
    /// `force` (and only one holding nothing but `known` outputs), a writable
    /// parent. Leftovers of an interrupted earlier run are restored or removed.
    /// `flag` names the option in messages (`--out`).
    pub fn prepare(
        out: &Path,
        flag: &'static str,
        force: bool,
        known: &[&str],
        inputs: &InputPaths,
    ) -> Result<ResultsFolder> {
        let shown = out.to_path_buf();
        let dest = resolve(out).map_err(|m| usage(format!("{flag} {}: {m}", out.display())))?;
        let (Some(parent), Some(name)) = (dest.parent(), dest.file_name()) else {
            return Err(usage(format!(
                "{flag} {}: the root folder cannot be a results folder",
                out.display()
            )));
        };
        let mut folder = ResultsFolder {
            shown,
            parent: parent.to_path_buf(),
            name: name.to_os_string(),
            dest: dest.clone(),
            flag,
            notes: Vec::new(),
        };
        folder.refuse_inputs(inputs)?;
        folder.recover_leftovers()?;
        folder.check_destination(force, known)?;
        folder.check_writable()?;
        Ok(folder)
    }

    /// The resolved destination.
    pub fn path(&self) -> &Path {
        &self.dest
    }

    /// What was done about an earlier interrupted run, for run.json and stderr.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    fn say(&self) -> String {
        format!("{} {}", self.flag, self.shown.display())
    }

    /// `--out` may not be, contain or lie inside an input folder or file
    /// (symbolic links resolved). Call again once more inputs are known (the
    /// files a sheet refers to).
    pub fn refuse_inputs(&self, inputs: &InputPaths) -> Result<()> {
        let refuse = |what: &str, p: &Path| {
            Err(usage(format!(
                "{} {what} '{}': inputs are never written to; choose a results folder outside every input",
                self.say(),
                p.display()
            )))
        };
        for (p, is_folder) in inputs
            .folders
            .iter()
            .map(|p| (p, true))
            .chain(inputs.files.iter().map(|p| (p, false)))
        {
            // An input that cannot be resolved does not exist: it cannot be
            // overwritten, and its reader will name it.
            let Ok(real) = fs::canonicalize(p) else {
                continue;
            };
            let kind = if is_folder { "folder" } else { "file" };
            if real == self.dest {
                return refuse(&format!("is the input {kind}"), p);
            }
            if real.starts_with(&self.dest) {
                return refuse(&format!("contains the input {kind}"), p);
            }
            if self.dest.starts_with(&real) {
                return refuse(&format!("lies inside the input {kind}"), p);
            }
        }
        Ok(())
    }

    fn sibling(&self, kind: &str, pid: u32) -> PathBuf {
        let mut n = OsString::from(".");
        n.push(&self.name);
        n.push(format!(".{TAG}-{kind}-{pid}"));
        self.parent.join(n)
    }

    /// Hidden siblings left by a run that was killed while committing.
    fn recover_leftovers(&mut self) -> Result<()> {
        let Ok(entries) = fs::read_dir(&self.parent) else {
            return Ok(());
        };
        let prefix = format!(".{}.{TAG}-", self.name.to_string_lossy());
        let mut found: Vec<(String, u32, PathBuf)> = Vec::new();
        for e in entries.flatten() {
            let file_name = e.file_name().to_string_lossy().into_owned();
            let Some(rest) = file_name.strip_prefix(&prefix) else {
                continue;
            };
            let Some((kind, pid)) = rest.split_once('-') else {
                continue;
            };
            let Ok(pid) = pid.parse::<u32>() else {
                continue;
            };
            if matches!(kind, "new" | "old" | "probe")
                && (pid == std::process::id() || !process_alive(pid))
            {
                found.push((kind.to_string(), pid, e.path()));
            }
        }
        found.sort();
        let dest_exists = fs::symlink_metadata(&self.dest).is_ok();
        // An "old" folder with no results in place: the run was killed between
        // moving the old results aside and moving the new ones in. The old
        // ones are complete; put them back.
        let mut restored = dest_exists;
        for (kind, pid, path) in &found {
            let what = if kind == "old" && !restored {
                fs::rename(path, &self.dest).map_err(|e| {
                    usage(format!(
                        "{}: cannot restore the previous results from '{}' left by interrupted run {pid}: {}",
                        self.say(),
                        path.display(),
                        describe_io(path, &e)
                    ))
                })?;
                restored = true;
                "restored the previous results, which an interrupted run had moved aside"
            } else {
                remove_any(path).map_err(|e| {
                    usage(format!(
                        "{}: cannot remove '{}' left by interrupted run {pid}: {}",
                        self.say(),
                        path.display(),
                        describe_io(path, &e)
                    ))
                })?;
                "removed a temporary folder left by an interrupted run"
            };
            self.notes
                .push(format!("{what} (process {pid}): {}", path.display()));
        }
        Ok(())
    }

    fn check_destination(&self, force: bool, known: &[&str]) -> Result<()> {
        let meta = match fs::metadata(&self.dest) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                return Err(usage(format!(
                    "{}: {}",
                    self.say(),
                    describe_io(&self.dest, &e)
                )));
            }
        };
        if !meta.is_dir() {
            return Err(usage(format!(
                "{}: is a file, not a folder; give the name of a results folder",
                self.say()
            )));
        }
        let entries: Vec<String> = fs::read_dir(&self.dest)
            .map_err(|e| usage(format!("{}: {}", self.say(), describe_io(&self.dest, &e))))?
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        if entries.is_empty() {
            return Ok(());
        }
        if !force {
            return Err(usage(format!(
                "{}: the folder already exists; pass --force to replace it whole \
                 (the old results stay until the new ones are complete), or choose another folder",
                self.say()
            )));
        }
        // A probe of check_writable left by a run killed within microseconds
        // of creating it is ours, not the user's.
        let probe = format!(".{TAG}-probe-");
        let mut foreign: Vec<&String> = entries
            .iter()
            .filter(|n| !known.contains(&n.as_str()) && !n.starts_with(&probe))
            .collect();
        foreign.sort();
        if let Some(first) = foreign.first() {
            return Err(usage(format!(
                "{}: the folder holds '{first}'{}, which graftscan does not write; \
                 it is not replaced even with --force (choose another folder)",
                self.say(),
                if foreign.len() > 1 {
                    format!(" and {} more", foreign.len() - 1)
                } else {
                    String::new()
                }
            )));
        }
        Ok(())
    }

    /// A folder can be created beside the results (and, when they are
    /// replaced, inside the old ones, whose files are removed).
    fn check_writable(&self) -> Result<()> {
        let mut base = self.parent.as_path();
        while fs::symlink_metadata(base).is_err() {
            match base.parent() {
                Some(p) => base = p,
                None => break,
            }
        }
        match fs::metadata(base) {
            Ok(m) if !m.is_dir() => {
                return Err(usage(format!(
                    "{}: '{}' is a file, not a folder",
                    self.say(),
                    base.display()
                )));
            }
            Err(e) => {
                return Err(usage(format!(
                    "{}: '{}': {}",
                    self.say(),
                    base.display(),
                    describe_io(base, &e)
                )));
            }
            Ok(_) => {}
        }
        let probe = base.join(
            self.sibling("probe", std::process::id())
                .file_name()
                .unwrap_or_default(),
        );
        fs::create_dir(&probe)
            .and_then(|()| fs::remove_dir(&probe))
            .map_err(|e| self.cannot_write_in(base, &e))?;
        // Inside the old results only ask: a probe folder there, left by a
        // kill between its creation and removal, would sit in the results.
        if fs::metadata(&self.dest).is_ok_and(|m| m.is_dir()) {
            may_write_in(&self.dest).map_err(|e| self.cannot_write_in(&self.dest, &e))?;
        }
        Ok(())
    }

    fn cannot_write_in(&self, folder: &Path, e: &std::io::Error) -> Error {
        usage(format!(
            "{}: cannot write in '{}': {}",
            self.say(),
            folder.display(),
            describe_write(e)
        ))
    }

    /// Write every file of `set` into a temporary sibling folder, flush it, and
    /// put it in place of the results folder as one unit.
    pub fn commit(&self, set: OutputSet) -> Result<Vec<PathBuf>> {
        let pid = std::process::id();
        let staging = self.sibling("new", pid);
        fs::create_dir_all(&self.parent).map_err(|e| self.io_error(&self.parent, &e))?;
        if fs::symlink_metadata(&staging).is_ok() {
            remove_any(&staging).map_err(|e| self.io_error(&self.dest, &e))?;
        }
        fs::create_dir(&staging).map_err(|e| self.io_error(&self.parent, &e))?;
        let written = match self.fill(&staging, &set) {
            Ok(w) => w,
            Err(e) => {
                let _ = fs::remove_dir_all(&staging);
                return Err(e);
            }
        };
        pause();
        let swapped = match fs::symlink_metadata(&self.dest) {
            Err(_) => fs::rename(&staging, &self.dest).map(|()| None),
            Ok(_) => self.replace(&staging, pid).map(Some),
        };
        let old = match swapped {
            Ok(old) => old,
            Err(e) => {
                let _ = fs::remove_dir_all(&staging);
                return Err(self.io_error(&self.dest, &e));
            }
        };
        sync_dir(&self.parent);
        pause();
        if let Some(old) = old {
            // The new results are complete and in place; an old folder that
            // cannot be removed now is removed by the next run.
            let _ = fs::remove_dir_all(&old);
        }
        Ok(written)
    }

    /// Replace the existing folder by `staging`; returns where the old one is.
    fn replace(&self, staging: &Path, pid: u32) -> std::io::Result<PathBuf> {
        match exchange(staging, &self.dest) {
            Ok(()) => Ok(staging.to_path_buf()),
            Err(e) if exchange_unsupported(&e) => {
                let aside = self.sibling("old", pid);
                fs::rename(&self.dest, &aside)?;
                pause();
                if let Err(e) = fs::rename(staging, &self.dest) {
                    let _ = fs::rename(&aside, &self.dest);
                    return Err(e);
                }
                Ok(aside)
            }
            Err(e) => Err(e),
        }
    }

    fn fill(&self, staging: &Path, set: &OutputSet) -> Result<Vec<PathBuf>> {
        let mut written = Vec::new();
        let mut folders = vec![staging.to_path_buf()];
        for (name, bytes) in &set.files {
            let rel = Path::new(name);
            let path = staging.join(rel);
            let shown = self.dest.join(rel);
            let result = (|| {
                if let Some(p) = path.parent()
                    && p != staging
                {
                    fs::create_dir_all(p)?;
                    folders.push(p.to_path_buf());
                }
                let mut f = fs::File::create(&path)?;
                f.write_all(bytes)?;
                f.sync_all()
            })();
            result.map_err(|e| self.io_error(&shown, &e))?;
            written.push(shown);
        }
        folders.dedup();
        for f in folders {
            sync_dir(&f);
        }
        Ok(written)
    }

    fn io_error(&self, path: &Path, e: &std::io::Error) -> Error {
        usage(format!(
            "{}: cannot write '{}': {}",
            self.say(),
            path.display(),
            describe_write(e)
        ))
    }
}

/// Absolute path with symbolic links resolved in its existing part; a
/// non-existing tail may not contain `..`.
fn resolve(out: &Path) -> std::result::Result<PathBuf, String> {
    let abs = if out.is_absolute() {
        out.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| format!("cannot read the current folder: {e}"))?
            .join(out)
    };
    let components: Vec<Component> = abs.components().collect();
    let mut existing = PathBuf::new();
    let mut i = 0;
    while i < components.len() {
        let next = existing.join(components[i]);
        if fs::symlink_metadata(&next).is_err() {
            break;
        }
        existing = next;
        i += 1;
    }
    let mut real = fs::canonicalize(&existing).map_err(|e| describe_io(&existing, &e))?;
    for c in &components[i..] {
        match c {
            Component::Normal(name) => real.push(name),
            _ => return Err("a folder that does not exist yet may not contain '..'".into()),
        }
    }
    Ok(real)
}

/// A failed write or folder creation in the user's words.
fn describe_write(e: &std::io::Error) -> String {
    #[cfg(unix)]
    if e.raw_os_error() == Some(libc::EROFS) {
        return "read-only file system".into();
    }
    #[cfg(unix)]
    if e.raw_os_error() == Some(libc::ENOSPC) {
        return "no space left on the device".into();
    }
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => "not writable (permission denied)".into(),
        std::io::ErrorKind::NotFound => "no folder can be created there".into(),
        _ => e.to_string(),
    }
}

fn remove_any(path: &Path) -> std::io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

fn sync_dir(dir: &Path) {
    if let Ok(f) = fs::File::open(dir) {
        let _ = f.sync_all();
    }
}

fn pause() {
    if let Some(ms) = std::env::var(PAUSE_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

#[cfg(unix)]
fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill with signal 0 only checks that the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(not(unix))]
fn process_alive(_pid: u32) -> bool {
    false
}

/// Whether this process may create and remove entries in `dir`, asked
/// without writing there (access(2); EROFS on a read-only file system).
#[cfg(unix)]
fn may_write_in(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    // SAFETY: `c` is a NUL-terminated path that outlives the call.
    if unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(unix))]
fn may_write_in(dir: &Path) -> std::io::Result<()> {
    if fs::metadata(dir)?.permissions().readonly() {
        Err(std::io::Error::from(std::io::ErrorKind::PermissionDenied))
    } else {
        Ok(())
    }
}

/// Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE).
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let ca = std::ffi::CString::new(a.as_os_str().as_bytes())?;
    let cb = std::ffi::CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: both paths are NUL-terminated C strings that outlive the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

fn exchange_unsupported(e: &std::io::Error) -> bool {
    #[cfg(target_os = "linux")]
    if matches!(
        e.raw_os_error(),
        Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP)
    ) {
        return true;
    }
    e.kind() == std::io::ErrorKind::Unsupported
}

/// Refuse a single output file that is one of the inputs (symbolic links
/// resolved), before any work.
pub fn refuse_input_as_output(flag: &str, out: &Path, inputs: &[PathBuf]) -> Result<()> {
    let Ok(real_out) = resolve(out) else {
        return Ok(());
    };
    for p in inputs {
        if fs::canonicalize(p).is_ok_and(|r| r == real_out) {
            return Err(usage(format!(
                "{flag} {} is the input file '{}': inputs are never written to",
                out.display(),
                p.display()
            )));
        }
    }
    if fs::metadata(&real_out).is_ok_and(|m| m.is_dir()) {
        return Err(usage(format!(
            "{flag} {}: is a folder; give a file name",
            out.display()
        )));
    }
    Ok(())
}

/// Write one file atomically: a temporary name in the same folder, flushed,
/// then renamed into place. Errors name `path`, never the temporary name.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default();
    if fs::metadata(path).is_ok_and(|m| m.is_dir()) {
        return Err(usage(format!(
            "{}: is a folder; give a file name",
            path.display()
        )));
    }
    let mut tmp_name = OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{TAG}-new-{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let result = (|| {
        fs::create_dir_all(dir)?;
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(usage(format!(
            "cannot write '{}': {}",
            path.display(),
            describe_write(&e)
        )));
    }
    sync_dir(dir);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(tag: &str) -> OutputSet {
        let mut s = OutputSet::default();
        s.add("a.csv", format!("a {tag}").into_bytes());
        s.add("sub/b.csv", format!("b {tag}").into_bytes());
        s
    }

    const KNOWN: &[&str] = &["a.csv", "sub", "c.csv"];

    #[test]
    fn a_new_folder_appears_whole_and_nothing_else_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("r");
        let f =
            ResultsFolder::prepare(&out, "--out", false, KNOWN, &InputPaths::default()).unwrap();
        assert!(!out.exists(), "prepare creates nothing");
        f.commit(set("1")).unwrap();
        assert_eq!(fs::read_to_string(out.join("sub/b.csv")).unwrap(), "b 1");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert_eq!(names.len(), 1, "no temporary sibling remains");
    }

    #[test]
    fn an_existing_folder_needs_force_and_is_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("r");
        fs::create_dir(&out).unwrap();
        fs::write(out.join("c.csv"), "old only").unwrap();
        fs::write(out.join("a.csv"), "a old").unwrap();
        let e = ResultsFolder::prepare(&out, "--out", false, KNOWN, &InputPaths::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("--force"), "{e}");
        let f = ResultsFolder::prepare(&out, "--out", true, KNOWN, &InputPaths::default()).unwrap();
        f.commit(set("2")).unwrap();
        assert_eq!(fs::read_to_string(out.join("a.csv")).unwrap(), "a 2");
        assert!(
            !out.join("c.csv").exists(),
            "no old file survives beside the new"
        );
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_folder_with_foreign_files_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("r");
        fs::create_dir(&out).unwrap();
        fs::write(out.join("thesis.docx"), "precious").unwrap();
        let e = ResultsFolder::prepare(&out, "--out", true, KNOWN, &InputPaths::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("thesis.docx"), "{e}");
    }

    #[test]
    fn out_overlapping_an_input_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let batch = dir.path().join("batch");
        fs::create_dir(&batch).unwrap();
        fs::write(batch.join("samples.csv"), "x").unwrap();
        let mut inputs = InputPaths::default();
        inputs.folder(&batch);
        inputs.file(&batch.join("samples.csv"));
        for (out, what) in [
            (batch.clone(), "is the input folder"),
            (batch.join("results"), "lies inside the input folder"),
            (dir.path().to_path_buf(), "contains the input folder"),
            (batch.join("samples.csv"), "is the input folder"),
        ] {
            let e = ResultsFolder::prepare(&out, "--out", true, KNOWN, &inputs)
                .unwrap_err()
                .to_string();
            assert!(
                e.contains(what) || e.contains("lies inside"),
                "{out:?}: {e}"
            );
        }
        // Through a symbolic link too.
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&batch, &link).unwrap();
        let e = ResultsFolder::prepare(&link, "--out", true, KNOWN, &inputs)
            .unwrap_err()
            .to_string();
        assert!(e.contains("is the input folder"), "{e}");
    }

    #[test]
    fn out_that_is_a_file_or_under_a_file_is_refused_before_work() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        fs::write(&file, "x").unwrap();
        let e = ResultsFolder::prepare(&file, "--out", true, KNOWN, &InputPaths::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("is a file"), "{e}");
        let e = ResultsFolder::prepare(
            &file.join("sub"),
            "--out",
            true,
            KNOWN,
            &InputPaths::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("is a file, not a folder"), "{e}");
        assert!(!e.contains(TAG), "no internal name in the message: {e}");
    }

    #[test]
    fn leftovers_of_a_killed_run_are_restored_or_removed() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("r");
        // Killed between "old aside" and "new in": only the aside folder.
        let dead = 999_999_999u32; // above pid_max: never a live process
        let aside = dir.path().join(format!(".r.{TAG}-old-{dead}"));
        let staged = dir.path().join(format!(".r.{TAG}-new-{dead}"));
        fs::create_dir(&aside).unwrap();
        fs::write(aside.join("a.csv"), "a old").unwrap();
        fs::create_dir(&staged).unwrap();
        fs::write(staged.join("a.csv"), "a half").unwrap();
        let f = ResultsFolder::prepare(&out, "--out", true, KNOWN, &InputPaths::default()).unwrap();
        assert_eq!(fs::read_to_string(out.join("a.csv")).unwrap(), "a old");
        assert!(!aside.exists() && !staged.exists());
        assert_eq!(f.notes().len(), 2, "{:?}", f.notes());
    }
}
