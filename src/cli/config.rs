use std::path::PathBuf;

use clap::Args;

use crate::error::{Error, Result};
use crate::report::output::{refuse_input_as_output, write_atomic};
use crate::risk::RiskConfig;

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Print the built-in risk rules (TOML) with their sources.
    #[arg(long)]
    pub defaults: bool,
    /// Check a rules file and print it as graftscan reads it.
    #[arg(long, conflicts_with = "defaults")]
    pub check: Option<PathBuf>,
    /// Write to this file (atomically) instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(a: ConfigArgs) -> Result<()> {
    if let Some(out) = &a.out {
        refuse_input_as_output("--out", out, a.check.as_slice())?;
    }
    let cfg = match (&a.check, a.defaults) {
        (Some(p), _) => RiskConfig::load(p)?,
        (None, true) => RiskConfig::default(),
        (None, false) => {
            return Err(Error::Usage(
                "give --defaults (print the built-in rules) or --check FILE".into(),
            ));
        }
    };
    let text = cfg.to_toml()?;
    match &a.out {
        Some(p) => write_atomic(p, text.as_bytes()),
        None => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()) {
                // A closed pipe (`| head`) is not an error.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                Err(e) => Err(Error::Usage(format!(
                    "cannot write to standard output: {e}"
                ))),
                Ok(()) => Ok(()),
            }
        }
    }
}
