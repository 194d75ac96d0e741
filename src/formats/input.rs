//! Checks every reader makes before parsing a user's file: what is wrong with
//! the path itself (missing, a folder, a symbolic-link loop, unreadable), with
//! its encoding (UTF-16, binary) and with a bgzip file's end (truncation), and
//! the bounds shared by all readers (identifier length, duplicate keys).
//! Without them a folder or a link loop reads as "not found" and UTF-16 as
//! "invalid UTF-8", which sends a technician looking in the wrong place.

use std::collections::HashMap;
use std::hash::Hash;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use chrono::NaiveDate;

use crate::error::{Error, InputError, Result};

/// The longest identifier (sample, transplant, person) accepted. LIMS ids are
/// far shorter; a longer one is a pasted cell, not an id, and would be copied
/// into every output row and the report.
pub const MAX_ID_LEN: usize = 128;

/// What is wrong with `path` as an input file, in words, or `None` when it is
/// a readable regular file (symbolic links followed).
pub fn file_problem(path: &Path) -> Option<String> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Some("is a folder, not a file".into()),
        Ok(_) => match std::fs::File::open(path) {
            Ok(_) => None,
            Err(e) => Some(describe_io(path, &e)),
        },
        Err(e) => Some(describe_io(path, &e)),
    }
}

/// An I/O error on a path in the user's words.
pub fn describe_io(path: &Path, e: &std::io::Error) -> String {
    #[cfg(unix)]
    if e.raw_os_error() == Some(libc::ELOOP) {
        return "symbolic-link loop (the link points back to itself)".into();
    }
    match e.kind() {
        std::io::ErrorKind::NotFound => match std::fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = std::fs::read_link(path)
                    .map(|t| t.display().to_string())
                    .unwrap_or_default();
                format!("broken symbolic link (its target '{target}' does not exist)")
            }
            _ => "file not found".into(),
        },
        std::io::ErrorKind::PermissionDenied => "cannot be read: permission denied".into(),
        std::io::ErrorKind::NotADirectory => {
            "not found (a component of the path is a file, not a folder)".into()
        }
        _ => format!("cannot be read: {e}"),
    }
}

/// The file must exist, be a regular file and be readable.
pub fn check_input_file(path: &Path) -> Result<()> {
    match file_problem(path) {
        None => Ok(()),
        Some(m) => Err(InputError::new(path, m).into()),
    }
}

/// Text files must be UTF-8 (a UTF-8 byte-order mark is fine). Excel's
/// "Unicode text" export is UTF-16; say so rather than "invalid UTF-8".
pub fn check_text_encoding(path: &Path) -> Result<()> {
    let mut head = [0u8; 4096];
    let n = std::fs::File::open(path)
        .and_then(|mut f| read_up_to(&mut f, &mut head))
        .map_err(|e| Error::from(InputError::new(path, describe_io(path, &e))))?;
    match encoding_problem(&head[..n]) {
        None => Ok(()),
        Some(m) => Err(InputError::new(path, m).at_line(1).into()),
    }
}

fn read_up_to(f: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// What is wrong with the first bytes of a text file, if anything.
pub fn encoding_problem(head: &[u8]) -> Option<String> {
    const SAVE: &str = "save it as UTF-8 (in Excel: \"CSV UTF-8\")";
    if head.starts_with(&[0xFF, 0xFE, 0, 0]) || head.starts_with(&[0, 0, 0xFE, 0xFF]) {
        return Some(format!("the file is UTF-32 encoded; {SAVE}"));
    }
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return Some(format!("the file is UTF-16 encoded; {SAVE}"));
    }
    let nuls = head.iter().filter(|&&b| b == 0).count();
    if nuls == 0 {
        return None;
    }
    // UTF-16 without a byte-order mark: ASCII text with every other byte NUL.
    let even = head.iter().step_by(2).filter(|&&b| b == 0).count();
    let odd = head.iter().skip(1).step_by(2).filter(|&&b| b == 0).count();
    if head.len() >= 4 && (even * 4 >= head.len() || odd * 4 >= head.len()) {
        return Some(format!(
            "the file looks UTF-16 encoded (no byte-order mark); {SAVE}"
        ));
    }
    Some("the file holds binary data (NUL bytes), not text".into())
}

/// The 28-byte empty block every complete bgzip file ends with (SAM/BAM
/// specification §4.1.2). Without it the file was cut short, possibly at a
/// block boundary, where the decompressor would otherwise stop silently.
pub const BGZF_EOF: [u8; 28] = [
    0x1f, 0x8b, 0x08, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x06, 0x00, 0x42, 0x43, 0x02, 0x00,
    0x1b, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];

/// A gzip-compressed input must be bgzip (block gzip, with its 'BC' extra
/// field) and end with the bgzip end-of-file block.
pub fn check_bgzf_complete(path: &Path) -> Result<()> {
    let err = |m: String| Error::from(InputError::new(path, m));
    let mut f = std::fs::File::open(path).map_err(|e| err(describe_io(path, &e)))?;
    let mut header = [0u8; 18];
    let n = read_up_to(&mut f, &mut header).map_err(|e| err(describe_io(path, &e)))?;
    // FEXTRA set, XLEN ≥ 6 and the first subfield 'BC' of length 2.
    let bgzf = n == 18 && header[3] & 0x04 != 0 && header[12..14] == *b"BC";
    if !bgzf {
        return Err(err(
            "compressed with gzip, not bgzip (block gzip): recompress with `bgzip`".into(),
        ));
    }
    let len = f.metadata().map_err(|e| err(describe_io(path, &e)))?.len();
    let mut tail = [0u8; 28];
    let complete = len >= 28
        && f.seek(SeekFrom::End(-28)).is_ok()
        && read_up_to(&mut f, &mut tail).is_ok_and(|k| k == 28)
        && tail == BGZF_EOF;
    if !complete {
        return Err(err(
            "truncated: the bgzip end-of-file marker is missing (the file was cut short, \
             e.g. by an interrupted copy); copy or compress it again"
                .into(),
        ));
    }
    Ok(())
}

/// An identifier cell: at most MAX_ID_LEN characters, no control characters.
pub fn check_id(value: &str) -> std::result::Result<(), String> {
    let n = value.chars().count();
    if n > MAX_ID_LEN {
        return Err(format!(
            "id of {n} characters is longer than {MAX_ID_LEN} ('{}…')",
            value.chars().take(24).collect::<String>()
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(format!(
            "id '{}' contains a control character (tab, line break, …)",
            value.escape_debug()
        ));
    }
    Ok(())
}

/// Dates a lab writes: not in the future (one day's grace for time zones and
/// for a sheet written late in the evening), not before the first successful
/// organ transplant (kidney, 23 December 1954: Murray, Merrill & Harrison,
/// JAMA 1956;160:277) — an earlier one is a typo (0205 for 2025).
pub fn check_date(date: NaiveDate) -> std::result::Result<(), String> {
    let earliest = NaiveDate::from_ymd_opt(1954, 12, 23).unwrap_or(NaiveDate::MIN);
    let today = chrono::Local::now().date_naive();
    if date < earliest {
        return Err(format!(
            "{date} is before 1954-12-23 (the first organ transplant)"
        ));
    }
    if let Some(limit) = today.succ_opt()
        && date > limit
    {
        return Err(format!("{date} is in the future (today is {today})"));
    }
    Ok(())
}

/// First line at which each key was seen: the second occurrence of a key is an
/// error naming both lines (a later row must never silently replace an earlier one).
#[derive(Debug)]
pub struct FirstSeen<K> {
    lines: HashMap<K, u64>,
}

impl<K> Default for FirstSeen<K> {
    fn default() -> Self {
        FirstSeen {
            lines: HashMap::new(),
        }
    }
}

impl<K: Eq + Hash> FirstSeen<K> {
    /// `Err(first line)` when the key was seen before.
    pub fn insert(&mut self, key: K, line: u64) -> std::result::Result<(), u64> {
        match self.lines.entry(key) {
            std::collections::hash_map::Entry::Occupied(e) => Err(*e.get()),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(line);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_is_named_with_and_without_a_byte_order_mark() {
        let bom: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("a,b\n".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert!(encoding_problem(&bom).unwrap().contains("UTF-16"));
        let bare: Vec<u8> = "sample_id,x\n"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        assert!(encoding_problem(&bare).unwrap().contains("UTF-16"));
        assert!(encoding_problem(b"\xef\xbb\xbfa,b\n").is_none());
        assert!(
            encoding_problem(b"abc\0defghijklmnopqrstuvwxyz")
                .unwrap()
                .contains("binary")
        );
    }

    #[test]
    fn ids_are_bounded_and_free_of_control_characters() {
        assert!(check_id("TX001-S1").is_ok());
        assert!(check_id(&"x".repeat(MAX_ID_LEN)).is_ok());
        assert!(check_id(&"x".repeat(MAX_ID_LEN + 1)).is_err());
        assert!(check_id("a\tb").is_err());
    }

    #[test]
    fn dates_in_the_future_or_before_1954_are_refused() {
        assert!(check_date(NaiveDate::from_ymd_opt(2025, 1, 6).unwrap()).is_ok());
        assert!(check_date(NaiveDate::from_ymd_opt(2099, 1, 1).unwrap()).is_err());
        assert!(check_date(NaiveDate::from_ymd_opt(205, 1, 1).unwrap()).is_err());
    }

    #[test]
    fn a_second_key_names_the_first_line() {
        let mut seen = FirstSeen::default();
        assert_eq!(seen.insert("a", 2), Ok(()));
        assert_eq!(seen.insert("b", 3), Ok(()));
        assert_eq!(seen.insert("a", 7), Err(2));
    }

    #[test]
    fn a_bgzip_file_cut_at_a_block_boundary_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.gz");
        let mut w = noodles_bgzf::io::Writer::new(Vec::new());
        std::io::Write::write_all(&mut w, b"chrom\tpos\n").unwrap();
        let bytes = w.finish().unwrap();
        std::fs::write(&p, &bytes).unwrap();
        check_bgzf_complete(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() - 28]).unwrap();
        let e = check_bgzf_complete(&p).unwrap_err().to_string();
        assert!(
            e.contains("x.gz") && e.contains("end-of-file marker"),
            "{e}"
        );
    }
}
