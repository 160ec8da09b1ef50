//! `eic-bench tables ...` (being written).

use std::process::ExitCode;

use clap::Subcommand;

/// Table subcommands.
#[derive(Debug, Subcommand)]
pub enum TablesCmd {
    /// Checks a table directory with the same validator the unit runs.
    Validate {
        /// Directory holding the table sources.
        dir: std::path::PathBuf,
    },
}

/// Runs a table subcommand.
///
/// # Errors
/// Any failure, with context.
pub fn run(cmd: TablesCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        TablesCmd::Validate { dir } => {
            anyhow::bail!(super::BadInput(format!("{}: not implemented yet", dir.display())))
        }
    }
}
