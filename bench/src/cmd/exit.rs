//! The one exit-code table of `eic-bench`, the same for every command, and the one place that
//! maps an error to its code ([`Exit::of`]) and prints it ([`message`]).
//!
//! | code | [`Exit`] | meaning |
//! |---|---|---|
//! | 0 | `Ok` | done; for decoders and validators, everything was intact and valid |
//! | 1 | `Failed` | the request was not carried out: the unit refused it or a TC failed (ST\[01\] failure), the tables still differ after a push, the operator declined |
//! | 2 | `Invalid` | the input data is damaged or invalid: a wrong CRC/PEC, damaged frames, tables that fail validation, a request that does not parse |
//! | 3 | `Usage` | the command cannot run as given: a wrong option, a missing or unreadable file, an environment problem (twin state in use, permissions) |
//! | 4 | `Unreachable` | the unit cannot be reached or stopped answering: no device, no telemetry, TCs not accepted, reports that never came |
//! | 5 | `Alarm` | `hk`: a housekeeping hard limit was crossed |
//!
//! A command adopts it in two ways: it returns `Ok(Exit::X.into())` for an outcome that is not an
//! error (a refused TC whose report it already printed), and it returns errors as usual; their
//! code is found by [`Exit::of`] from the error types in the chain (link, session, twin state,
//! workflow, text and hex errors). When no type says it, the command marks the error with
//! [`Exit::error`] (or [`super::BadInput`], which is [`Exit::Invalid`]).

use std::fmt;
use std::process::ExitCode;

use crate::link::LinkError;
use crate::session::SessionError;
use crate::twin::{StateError, UnitTwinError};
use crate::workflow::tables::WorkflowError;

/// The exit status of every `eic-bench` command (see the module docs for the table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Exit {
    /// 0: done; everything intact and valid.
    Ok,
    /// 1: the request was not carried out (the unit refused it, a TC failed, the operator
    /// declined); also any failure no other code describes.
    Failed,
    /// 2: the input data is damaged or invalid.
    Invalid,
    /// 3: the command cannot run as given (usage, a missing or unreadable file, environment).
    Usage,
    /// 4: the unit cannot be reached or stopped answering.
    Unreachable,
    /// 5: a housekeeping hard limit was crossed.
    Alarm,
}

impl Exit {
    /// Every exit status, in code order.
    pub const ALL: [Exit; 6] =
        [Exit::Ok, Exit::Failed, Exit::Invalid, Exit::Usage, Exit::Unreachable, Exit::Alarm];

    /// The process exit code.
    pub const fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Failed => 1,
            Exit::Invalid => 2,
            Exit::Usage => 3,
            Exit::Unreachable => 4,
            Exit::Alarm => 5,
        }
    }

    /// The process exit code as [`ExitCode`].
    pub fn exit_code(self) -> ExitCode {
        ExitCode::from(self.code())
    }

    /// What the code means, as the top-level `--help` and `docs/operator.md` say it.
    pub const fn meaning(self) -> &'static str {
        match self {
            Exit::Ok => "done; decoders and validators: all input intact and valid",
            Exit::Failed => {
                "not carried out: the unit refused it, a TC failed, the operator declined"
            }
            Exit::Invalid => {
                "damaged or invalid input data (CRC/PEC, frames, tables, request text)"
            }
            Exit::Usage => {
                "cannot run as given: wrong option, missing/unreadable file, environment"
            }
            Exit::Unreachable => "unit unreachable: no device, no telemetry, no answer to a TC",
            Exit::Alarm => "hk: a housekeeping hard limit was crossed",
        }
    }

    /// An error carrying this exit status, with `message` as its text.
    pub fn error(self, message: impl Into<String>) -> anyhow::Error {
        anyhow::Error::new(Failure { exit: self, message: message.into() })
    }

    /// The exit status of an error: the first error in its chain (outermost first) that tells,
    /// [`Exit::Failed`] when none does.
    pub fn of(e: &anyhow::Error) -> Exit {
        e.chain().find_map(of_one).unwrap_or(Exit::Failed)
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        e.exit_code()
    }
}

/// An error whose exit status the command chose (see [`Exit::error`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The exit status.
    pub exit: Exit,
    /// What went wrong and what to do.
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// The exit status one error in a chain gives, if its type tells.
fn of_one(e: &(dyn std::error::Error + 'static)) -> Option<Exit> {
    if let Some(f) = e.downcast_ref::<Failure>() {
        return Some(f.exit);
    }
    if let Some(l) = e.downcast_ref::<crate::hk_limits::LimitsError>() {
        // Line 0: the file could not be read at all (missing, permissions).
        return Some(if l.line == 0 { Exit::Usage } else { Exit::Invalid });
    }
    if e.is::<super::BadInput>()
        || e.is::<crate::hexio::HexError>()
        || e.is::<tables::text::TextError>()
    {
        return Some(Exit::Invalid);
    }
    if e.is::<crate::link::faults::FaultSpecError>() {
        return Some(Exit::Usage);
    }
    if let Some(l) = e.downcast_ref::<LinkError>() {
        return Some(link(l));
    }
    if let Some(s) = e.downcast_ref::<SessionError>() {
        return session(s);
    }
    if let Some(w) = e.downcast_ref::<WorkflowError>() {
        return workflow(w);
    }
    // The embedded twin could not start: its state directory or its pseudo-terminals.
    if e.is::<StateError>() || e.is::<UnitTwinError>() || e.is::<onboard::storage_fs::FsError>() {
        return Some(Exit::Usage);
    }
    if e.is::<std::io::Error>() || e.is::<crate::archive::Error>() {
        return Some(Exit::Usage);
    }
    None
}

fn link(e: &LinkError) -> Exit {
    match e {
        LinkError::PermissionDenied { .. } | LinkError::BadSettings { .. } => Exit::Usage,
        _ => Exit::Unreachable,
    }
}

fn session(e: &SessionError) -> Option<Exit> {
    Some(match e {
        SessionError::Link(l) => link(l),
        SessionError::Archive(_) => Exit::Usage,
        SessionError::Encode(_) | SessionError::Request(_) => Exit::Invalid,
        // No valid frame, no octet, the uplink gave up: the unit does not answer.
        _ => Exit::Unreachable,
    })
}

fn workflow(e: &WorkflowError) -> Option<Exit> {
    Some(match e {
        WorkflowError::Session(s) => return session(s),
        // The cause decides (a refusal, the link).
        WorkflowError::PushFailed { cause, .. } => return workflow(cause),
        WorkflowError::Invalid(_) | WorkflowError::Encode { .. } | WorkflowError::Decode { .. } => {
            Exit::Invalid
        }
        WorkflowError::NotVerified { .. }
        | WorkflowError::MissingReport { .. }
        | WorkflowError::DumpIncomplete { .. }
        | WorkflowError::DumpCrc { .. } => Exit::Unreachable,
        _ => Exit::Failed,
    })
}

/// The error as the operator reads it: each message of the chain once, outermost (context)
/// first, causes after it, joined by `: `. A cause whose text its context already contains
/// (an error type that prints its source) is not repeated.
pub fn message(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if text.is_empty() || out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// The exit-code table as the top-level `--help` shows it.
pub fn help_table() -> String {
    let mut s = String::from("Exit codes (the same for every command):\n");
    for e in Exit::ALL {
        s.push_str(&format!("  {}  {}\n", e.code(), e.meaning()));
    }
    s.push_str("\nConsole conventions (units, number formats, names): docs/operator.md");
    s
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use anyhow::Context as _;

    use super::*;

    #[test]
    fn codes_are_distinct_and_in_order() {
        for (i, e) in Exit::ALL.iter().enumerate() {
            assert_eq!(usize::from(e.code()), i);
            assert!(!e.meaning().is_empty());
        }
    }

    fn limits(line: usize) -> crate::hk_limits::LimitsError {
        crate::hk_limits::LimitsError {
            origin: "l.toml".into(),
            line,
            column: 0,
            message: "x".into(),
        }
    }

    #[test]
    fn errors_map_to_their_code() {
        let dev = || "/dev/ttyUSB0".to_owned();
        let cases: Vec<(anyhow::Error, Exit)> = vec![
            (Exit::Usage.error("x"), Exit::Usage),
            (super::super::BadInput("x".into()).into(), Exit::Invalid),
            (LinkError::NotFound { device: dev() }.into(), Exit::Unreachable),
            (SessionError::Link(LinkError::NotFound { device: dev() }).into(), Exit::Unreachable),
            (LinkError::PermissionDenied { device: dev() }.into(), Exit::Usage),
            (
                SessionError::NoClcw {
                    device: dev(),
                    waited: Duration::from_secs(3),
                    timeout: Duration::from_secs(3),
                    lost_run: 0,
                    found: 0,
                    valid: 0,
                }
                .into(),
                Exit::Unreachable,
            ),
            (StateError::Busy { dir: "/tmp/x".into(), holder: Some(1) }.into(), Exit::Usage),
            (std::io::Error::new(std::io::ErrorKind::NotFound, "gone").into(), Exit::Usage),
            (WorkflowError::Invalid(vec![]).into(), Exit::Invalid),
            (limits(0).into(), Exit::Usage),
            (limits(3).into(), Exit::Invalid),
            (WorkflowError::BootMode.into(), Exit::Failed),
            (anyhow::anyhow!("something else"), Exit::Failed),
        ];
        for (e, want) in cases {
            assert_eq!(Exit::of(&e), want, "{e:#}");
        }
        // A context above keeps the cause's code.
        let e = anyhow::Error::from(LinkError::NotFound { device: dev() }).context("connecting");
        assert_eq!(Exit::of(&e), Exit::Unreachable);
    }

    #[test]
    fn chain_printed_once_context_first() {
        let e = anyhow::Error::from(SessionError::Link(LinkError::NotFound {
            device: "/dev/ttyUSB0".into(),
        }));
        let m = message(&e);
        assert_eq!(m.matches("not found").count(), 1, "{m}");
        let e = Result::<(), _>::Err(std::io::Error::other("disk full"))
            .context("writing out/crt.toml")
            .unwrap_err();
        assert_eq!(message(&e), "writing out/crt.toml: disk full");
    }

    #[test]
    fn help_lists_every_code() {
        let h = help_table();
        for e in Exit::ALL {
            assert!(h.contains(&format!("  {}  {}", e.code(), e.meaning())));
        }
    }
}
