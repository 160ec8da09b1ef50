//! `eic-bench`: the ECLAIRs on-board software maintenance and test bench.
//!
//! `main` only parses the command line and hands over to [`eic_bench::cli::run`], which maps
//! every error to a one-line message and an exit code (2 for bad input).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    eic_bench::cli::run(eic_bench::cli::Cli::parse())
}
