//! The command line: a derived clap [`Cli`] with one variant per subcommand.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::cmd;

/// ECLAIRs on-board software maintenance and test bench.
///
/// Prepares configuration telecommands, validates software updates on the spare model (or its
/// digital twin) and regression-tests the GRB trigger. Every command that talks to a unit takes
/// a serial device path: the twin's pseudo-terminal or the spare model's port.
#[derive(Debug, Parser)]
#[command(name = "eic-bench", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Commands,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Commands {
    /// Telecommands: encode and decode packets, frames and CLTUs (hex in, hex or JSON out).
    #[command(subcommand)]
    Tc(cmd::tc::TcCmd),
    /// Telemetry: decode recorded CADU or packet streams into JSON lines.
    #[command(subcommand)]
    Tm(cmd::tm::TmCmd),
    /// Configuration tables: validate, show, diff, build images, convert text/FITS forms.
    #[command(subcommand)]
    Tables(cmd::tables::TablesCmd),
}

/// Runs a parsed command line and maps the outcome to an exit code.
///
/// Errors are printed as one line on stderr (`error: ...`), never as a backtrace. Bad input
/// exits with 2, other failures with 1.
pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Commands::Tables(c) => cmd::tables::run(c),
        Commands::Tc(c) => cmd::tc::run(c),
        Commands::Tm(c) => cmd::tm::run(c),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            cmd::exit_code_for(&e)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }
}
