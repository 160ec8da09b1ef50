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
#[command(
    name = "eic-bench",
    version,
    about,
    long_about = None,
    propagate_version = true,
    after_help = cmd::exit::help_table()
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Commands,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Commands {
    /// Telecommands: send one to a unit and verify it, list the request syntax, encode and
    /// decode packets, frames and CLTUs (hex in, hex or JSON out).
    #[command(subcommand)]
    Tc(cmd::tc::TcCmd),
    /// Telemetry: listen to a unit live (decoded, archived), decode recorded captures and
    /// archives into JSON lines.
    #[command(subcommand)]
    Tm(cmd::tm::TmCmd),
    /// Configuration tables: validate, show, diff, build images, convert text/FITS forms, and
    /// pull/push them from/to a unit (DEVICE `twin` for the embedded twin).
    #[command(subcommand)]
    Tables(cmd::tables::TablesCmd),
    /// Runs the digital twin: the on-board unit behind two pseudo-terminals (TC/TM and
    /// stimulus). Prints one JSON line with the device paths, then runs until Ctrl-C/SIGTERM.
    ///
    /// Without --state (or EIC_TWIN_STATE) the state is temporary and deleted at exit; DEVICE
    /// `twin` of the other commands keeps its state in ~/.local/state/eic-bench/twin.
    ///
    /// Examples:
    ///   eic-bench twin --state ./twin-state
    ///   eic-bench twin --baud 115200 --print-paths twin.json &
    ///   eic-bench twin --faults bitflip=1e-5,drop=0.001,seed=1 --until-stdin-eof
    #[command(verbatim_doc_comment)]
    Twin(cmd::twin::TwinArgs),
    /// Live housekeeping view with soft/hard limits and alarms (exit 5 if a hard limit was
    /// crossed).
    ///
    /// Examples:
    ///   eic-bench hk twin --limits bench/hk-limits.toml --count 2
    ///   eic-bench hk /dev/ttyUSB0 --json --count 2
    #[command(verbatim_doc_comment)]
    Hk(cmd::hk::HkArgs),
    /// Software images for the application banks: build one from a payload, inspect one with
    /// the unit's own parser.
    #[command(subcommand)]
    Image(cmd::image::ImageCmd),
    /// Computes the minimal TC stack of a workplan against the unit (or a pulled table
    /// directory): loads and validations now, activations time-tagged at each slot's start.
    /// Every slot is validated first; an invalid workplan writes nothing (exit 2).
    ///
    /// Examples:
    ///   eic-bench plan examples/workplans/week49.toml --against tables/defaults -o week49.stack
    ///   eic-bench plan examples/workplans/invalid.toml --against twin -o x.stack   # exit 2
    ///   eic-bench plan examples/workplans/week49.toml --against twin -o week49.stack
    #[command(verbatim_doc_comment)]
    Plan(Box<cmd::plan::PlanArgs>),
    /// TC stacks: re-validate one after review or editing.
    #[command(subcommand)]
    Stack(cmd::stack::StackCmd),
    /// Executes a TC stack with every verification stage checked; time-tagged TCs go into the
    /// unit's schedule (service 11). Writes an evidence report (JSON and HTML).
    ///
    /// Examples:
    ///   eic-bench run twin week49.stack --evidence reports/week49
    ///   eic-bench run /dev/ttyUSB0 week49.stack --json
    #[command(verbatim_doc_comment)]
    Run(Box<cmd::run::RunArgs>),
    /// Loads a software image into a bank and boots it: survey of what the bank holds (an
    /// interrupted update resumes), pipelined loads, on-board checks with resend of bad
    /// chunks, spot dumps, select, reset, confirmation from housekeeping. Evidence report.
    ///
    /// Examples:
    ///   eic-bench update twin ugts-1.1.0.img --bank B
    ///   eic-bench update twin ugts-1.1.0.img --bank B   # the unit runs B now: exit 3
    ///   eic-bench update /dev/ttyUSB0 ugts-1.1.0.img --bank B --evidence reports/upd-1.1.0
    #[command(verbatim_doc_comment)]
    Update(Box<cmd::update::UpdateArgs>),
    /// Boots the other bank (the previous software) in one command, with evidence.
    ///
    /// Example:
    ///   eic-bench rollback twin
    #[command(verbatim_doc_comment)]
    Rollback(Box<cmd::update::RollbackArgs>),
}

/// Parses the process's command line and runs it: the whole of `main`.
///
/// A command line clap refuses exits with [`cmd::exit::Exit::Usage`] (3), `--help` and
/// `--version` with 0.
pub fn main() -> ExitCode {
    match Cli::try_parse() {
        Ok(cli) => run(cli),
        Err(e) => {
            let _ = e.print();
            if e.use_stderr() { cmd::exit::Exit::Usage.exit_code() } else { ExitCode::SUCCESS }
        }
    }
}

/// Runs a parsed command line and maps the outcome to an exit code.
///
/// Errors are printed as one line on stderr (`error: ...`), each message of the chain once,
/// never as a backtrace; the exit code follows the one table of [`cmd::exit::Exit`].
pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Commands::Tables(c) => cmd::tables::run(c),
        Commands::Tc(c) => cmd::tc::run(c),
        Commands::Tm(c) => cmd::tm::run(c),
        Commands::Twin(a) => cmd::twin::run(&a),
        Commands::Hk(a) => cmd::hk::run(&a),
        Commands::Image(c) => cmd::image::run(c),
        Commands::Plan(a) => cmd::plan::run(&a),
        Commands::Stack(c) => cmd::stack::run(c),
        Commands::Run(a) => cmd::run::run(&a),
        Commands::Update(a) => cmd::update::run_update(&a),
        Commands::Rollback(a) => cmd::update::run_rollback(&a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", cmd::exit::message(&e));
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
