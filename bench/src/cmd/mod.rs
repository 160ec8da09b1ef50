//! One module per subcommand. Each exposes its clap arguments and a `run` returning
//! `anyhow::Result<ExitCode>`.

use std::process::ExitCode;

pub mod hk;
pub mod image;
pub mod instrument;
pub mod link_args;
pub mod spare;
pub mod tables;
pub mod tables_unit;
pub mod tc;
pub mod tc_send;
pub mod tm;
pub mod tm_listen;
pub mod twin;

/// Marks an error as caused by bad input (exit code 2), as opposed to a failure (exit code 1).
#[derive(Debug)]
pub struct BadInput(pub String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

/// Exit code for an error: 2 when any cause in the chain is [`BadInput`], else 1.
pub fn exit_code_for(e: &anyhow::Error) -> ExitCode {
    if e.chain().any(|c| c.is::<BadInput>()) { ExitCode::from(2) } else { ExitCode::from(1) }
}
