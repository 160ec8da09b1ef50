//! `eic-bench`: the ECLAIRs on-board software maintenance and test bench.
//!
//! `main` hands over to [`eic_bench::cli::main`], which parses the command line, runs it and
//! maps every error to a one-line message and the exit code of the one table
//! (`eic_bench::cmd::exit::Exit`).

use std::process::ExitCode;

fn main() -> ExitCode {
    eic_bench::cli::main()
}
