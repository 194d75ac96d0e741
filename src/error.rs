//! Errors that reach the user. Every input problem names the file, and where it
//! can, the line and the field, so a technician can fix the sheet without a debugger.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where in a user-supplied file a problem was found.
#[derive(Debug, Clone)]
pub struct InputError {
    pub path: PathBuf,
    pub line: Option<u64>,
    pub field: Option<String>,
    pub message: String,
}

impl InputError {
    pub fn new(path: &Path, message: impl Into<String>) -> Self {
        InputError {
            path: path.to_path_buf(),
            line: None,
            field: None,
            message: message.into(),
        }
    }

    pub fn at_line(mut self, line: u64) -> Self {
        self.line = Some(line);
        self
    }

    pub fn in_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ", field '{field}'")?;
        }
        write!(f, ": {}", self.message)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Input(InputError),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A request that cannot be honoured as given (conflicting flags, bad values).
    #[error("{0}")]
    Usage(String),
    /// GPU backend failures: no adapter, validation, out of memory, device loss.
    #[error("GPU backend: {0}")]
    Gpu(String),
}

impl From<InputError> for Error {
    fn from(e: InputError) -> Self {
        Error::Input(e)
    }
}

impl Error {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// Process exit code: 2 for every error (ripgrep's convention: 1 is reserved
    /// for soft outcomes).
    pub fn exit_code(&self) -> i32 {
        2
    }
}

pub type Result<T> = std::result::Result<T, Error>;
