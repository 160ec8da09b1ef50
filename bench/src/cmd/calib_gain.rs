//! `eic-bench calib gain EVENTS... --tables DIR -o OUT` (written on branch `calib-gain`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::exit::Exit;

/// Arguments of `calib gain`.
#[derive(Debug, Args)]
pub struct GainArgs {
    /// Event files or ICD §6 triplet directories.
    #[arg(required = true)]
    pub events: Vec<PathBuf>,
    /// The current table directory.
    #[arg(long)]
    pub tables: PathBuf,
    /// Output directory.
    #[arg(short, long)]
    pub output: PathBuf,
}

/// Runs `calib gain`.
///
/// # Errors
/// Always, in this build: the command comes with branch `calib-gain`.
pub fn run(_a: &GainArgs) -> anyhow::Result<ExitCode> {
    Err(Exit::Failed.error("calib gain is not in this build (branch calib-gain)"))
}
