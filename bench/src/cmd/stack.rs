//! `eic-bench stack check STACK`: re-validates a (possibly hand-edited) TC stack (logic in
//! [`crate::workflow::stack`]).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use serde_json::json;

use crate::workflow::evidence::unix_now;
use crate::workflow::stack::{Stack, check};

/// Stack subcommands.
#[derive(Debug, Subcommand)]
pub enum StackCmd {
    /// Re-validates a stack: every request parses and equals its encoded form; time-tagged
    /// releases are UTC times in order that fit the unit's schedule; a simulation of the unit
    /// finds every table load complete with the CRC its validation names, validation before
    /// activation, no second load before the first is activated, loads and activations in
    /// maintenance. Exit 2 if any error (warnings do not fail).
    ///
    /// Examples:
    ///   eic-bench stack check week49.stack
    ///   eic-bench stack check week49.stack --json | jq '.findings[]'
    #[command(verbatim_doc_comment)]
    Check {
        /// The stack file.
        stack: PathBuf,
        /// Print `{valid, tcs, findings: [{tc, error, message}]}`.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `stack` subcommand.
///
/// # Errors
/// An unreadable or malformed file (exit 2).
pub fn run(c: StackCmd) -> anyhow::Result<ExitCode> {
    match c {
        StackCmd::Check { stack, json } => {
            let s = Stack::load(&stack)?;
            let findings = check(&s, unix_now().0);
            let errors = findings.iter().filter(|f| f.error).count();
            if json {
                println!(
                    "{}",
                    json!({"stack": stack.display().to_string(), "valid": errors == 0,
                    "tcs": s.tc.len(), "findings": findings})
                );
            } else {
                for f in &findings {
                    let at = if f.tc == 0 { "stack".to_owned() } else { format!("TC {}", f.tc) };
                    println!("{}: {at}: {}", if f.error { "error" } else { "warning" }, f.message);
                }
                println!(
                    "{}: {} ({} time-tagged), {}, {}",
                    stack.display(),
                    super::count(s.tc.len(), "TC"),
                    s.tc.iter().filter(|t| !t.is_now()).count(),
                    super::count(errors, "error"),
                    super::count(findings.len() - errors, "warning")
                );
            }
            Ok(if errors == 0 { ExitCode::SUCCESS } else { ExitCode::from(2) })
        }
    }
}
