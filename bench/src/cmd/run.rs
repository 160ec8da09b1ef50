//! `eic-bench run DEVICE STACK`: executes a TC stack with every ST\[01\] stage verified and
//! writes the evidence report (logic in [`crate::workflow::run`]).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde_json::json;

use super::link_args::LinkArgs;
use crate::workflow::evidence::{Evidence, JournalSpec, Recorder};
use crate::workflow::run::{RunOptions, execute};
use crate::workflow::stack::{Stack, check};

/// Arguments of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// How to reach the unit.
    #[command(flatten)]
    pub link: LinkArgs,
    /// The stack (from `eic-bench plan`, possibly edited; checked again before anything is
    /// sent).
    pub stack: PathBuf,
    /// Evidence report path (writes PATH.json and PATH.html).
    #[arg(long, default_value = "run-evidence")]
    pub evidence: PathBuf,
    /// A time-tagged TC due within this many seconds of the unit's clock is sent at once.
    #[arg(long, default_value_t = 5)]
    pub margin_s: i64,
    /// Print the outcome as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Whether the unit's state is known after a workflow's outcome: its journal can go. A
/// failure of the link leaves it unknown: the journal stays for the next contact to recover.
pub fn state_known<T>(r: &anyhow::Result<T>) -> bool {
    match r {
        Ok(_) => true,
        Err(e) => !e.chain().any(|c| c.is::<crate::session::SessionError>()),
    }
}

/// Refuses a stack with errors (exit 2, the file and each TC named), before any contact.
///
/// # Errors
/// A [`BadInput`](super::BadInput) listing the errors of [`check`].
pub fn refuse_unchecked(path: &std::path::Path, stack: &Stack) -> anyhow::Result<()> {
    let errors: Vec<String> = check(stack, crate::workflow::evidence::unix_now().0)
        .into_iter()
        .filter(|f| f.error)
        .map(|f| if f.tc == 0 { f.message } else { format!("TC {}: {}", f.tc, f.message) })
        .collect();
    if errors.is_empty() {
        return Ok(());
    }
    Err(super::BadInput(format!(
        "{}: the stack does not check (nothing was sent; `eic-bench stack check` lists the \
         findings):\n  {}",
        path.display(),
        errors.join("\n  ")
    ))
    .into())
}

/// Runs `run`.
///
/// # Errors
/// A stack that does not load or check (exit 2, nothing sent), link and unit failures (exit 1,
/// the evidence written first).
pub fn run(a: &RunArgs) -> anyhow::Result<ExitCode> {
    // Every input is checked before the unit is contacted: the stack as `stack check` does
    // (its errors do not depend on the time) and the place of the evidence.
    let stack = Stack::load(&a.stack)?;
    refuse_unchecked(&a.stack, &stack)?;
    Evidence::check_output(&a.evidence)?;
    let mut s = a.link.connect()?;
    let device = a.link.device.display().to_string();
    let recovered = super::tables_unit::recover_interrupted(&a.link, &mut s)?;
    let (dir, key) = a.link.journal();
    let spec = JournalSpec { dir, key, workflow: "run".into(), device: device.clone() };
    let mut rec = Recorder::new(Evidence::new("run", &a.stack.display().to_string(), &device))
        .with_journal(spec);
    if let Some(r) = &recovered {
        rec.evidence.section("recovered", json!(r.to_string()));
    }
    let result = execute(&mut s, &mut rec, &stack, &RunOptions { margin_s: a.margin_s });
    rec.end_journal(state_known(&result));
    match &result {
        Ok(sum) => rec.evidence.finish(
            true,
            format!(
                "{} TCs sent and verified, {} time-tagged on the unit",
                sum.sent_now, sum.time_tagged
            ),
        ),
        Err(e) => rec.evidence.finish(false, format!("{e:#}")),
    }
    let (j, h) = rec.evidence.write(&a.evidence)?;
    if a.json {
        let v = json!({"ok": result.is_ok(), "outcome": rec.evidence.outcome,
            "sent_now": result.as_ref().map_or(0, |s| s.sent_now),
            "time_tagged": result.as_ref().map_or(0, |s| s.time_tagged),
            "tcs": rec.evidence.tcs.len(),
            "evidence_json": j.display().to_string(), "evidence_html": h.display().to_string()});
        println!("{v}");
    } else {
        for st in &rec.evidence.steps {
            eprintln!("{:<8} {} {}", st.name, if st.ok { "ok    " } else { "FAILED" }, st.detail);
        }
        eprintln!("evidence: {} and {}", j.display(), h.display());
    }
    result.map(|_| ExitCode::SUCCESS)
}
