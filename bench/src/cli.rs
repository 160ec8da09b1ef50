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
    /// Configuration tables: validate, show, diff, build images, convert text/FITS forms, and
    /// pull/push them from/to a unit (DEVICE `twin` for the embedded twin).
    #[command(subcommand)]
    Tables(cmd::tables::TablesCmd),
    /// Runs the digital twin: the on-board unit behind two pseudo-terminals (TC/TM and
    /// stimulus). Prints one JSON line with the device paths, then runs until Ctrl-C/SIGTERM.
    ///
    /// Examples:
    ///   eic-bench twin --state ./twin-state
    ///   eic-bench twin --baud 115200 --print-paths twin.json &
    ///   eic-bench twin --faults bitflip=1e-5,drop=0.001,seed=1 --until-stdin-eof
    #[command(verbatim_doc_comment)]
    Twin(cmd::twin::TwinArgs),
    /// Runs the unit as firmware under QEMU (Cortex-M4F board mps2-an386): builds it, starts
    /// the emulator with both UARTs on pseudo-terminals, prints one JSON line with the device
    /// paths (as `twin` does), then runs until Ctrl-C/SIGTERM. Needs qemu-system-arm: on PATH,
    /// in EIC_QEMU, or installed into the project by scripts/install-qemu.sh.
    ///
    /// Examples:
    ///   eic-bench spare --qemu --state ./spare-state
    ///   eic-bench spare --qemu --print-paths spare.json &
    #[command(verbatim_doc_comment)]
    Spare(cmd::spare::SpareArgs),
    /// Live housekeeping view with soft/hard limits and alarms (exit 3 if a hard limit was
    /// crossed).
    ///
    /// Examples:
    ///   eic-bench hk /dev/pts/3 --limits bench/hk-limits.toml
    ///   eic-bench hk /dev/ttyUSB0 --json --count 10
    #[command(verbatim_doc_comment)]
    Hk(cmd::hk::HkArgs),
    /// Software images for the application banks: build one from a payload, inspect one with
    /// the unit's own parser.
    #[command(subcommand)]
    Image(cmd::image::ImageCmd),
    /// The instrument geometry and coded-mask pattern the trigger images with (ICD §4, §6),
    /// for independent simulators: sizes, distances, frame conventions and the 46 x 46 mask.
    ///
    /// Examples:
    ///   eic-bench instrument
    ///   eic-bench instrument --json > instrument.json
    #[command(verbatim_doc_comment)]
    Instrument(cmd::instrument::InstrumentArgs),
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
        Commands::Twin(a) => cmd::twin::run(&a),
        Commands::Spare(a) => cmd::spare::run(&a),
        Commands::Hk(a) => cmd::hk::run(&a),
        Commands::Image(c) => cmd::image::run(c),
        Commands::Instrument(a) => cmd::instrument::run(&a),
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
