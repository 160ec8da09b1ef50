//! One module per subcommand. Each exposes its clap arguments and a `run` returning
//! `anyhow::Result<ExitCode>`; [`exit`] is the exit-code table they all follow.

use std::process::ExitCode;

pub mod exit;
pub mod hk;
pub mod image;
pub mod instrument;
pub mod link_args;
pub mod monitor;
pub mod plan;
pub mod regress;
pub mod replay;
pub mod run;
pub mod simulate;
pub mod spare;
pub mod stack;
pub mod tables;
pub mod tables_unit;
pub mod tc;
pub mod tc_requests;
pub mod tc_send;
pub mod tm;
pub mod tm_listen;
pub mod twin;
pub mod update;

/// Marks an error as caused by damaged or invalid input data ([`exit::Exit::Invalid`], exit
/// code 2). For another code, use [`exit::Exit::error`].
#[derive(Debug)]
pub struct BadInput(pub String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

/// Exit code for an error ([`exit::Exit::of`]).
pub fn exit_code_for(e: &anyhow::Error) -> ExitCode {
    exit::Exit::of(e).exit_code()
}
