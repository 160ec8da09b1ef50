//! `eic-bench run DEVICE STACK`: executes a TC stack with every ST\[01\] stage verified and
//! writes the evidence report (logic in [`crate::workflow::run`]).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde_json::json;

use super::link_args::LinkArgs;
use crate::workflow::evidence::{Evidence, JournalSpec, Recorder};
use crate::workflow::run::{RunOptions, execute, wait_released};
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
    /// After the run, wait until every TC it time-tagged has been released on the unit's
    /// clock and confirm each one's execution (its completion report 1,7, or the unit's
    /// request history when that report is lost), then read the table directory again: the
    /// evidence then holds what the slots did. A progress line names the next release.
    /// Instead of a fixed `sleep` before checking the unit: it ends when the last slot has
    /// happened. A slot hours away means waiting hours (the twin or the unit must keep
    /// running).
    #[arg(long)]
    pub wait: bool,
    /// With --wait: give up this many seconds after the last release is due on the unit's
    /// clock (exit 4: not confirmed).
    #[arg(long, default_value_t = 30, requires = "wait")]
    pub wait_grace_s: u64,
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
    let waited = match &result {
        Ok(sum) if a.wait => {
            let bar = super::update::progress(a.json, "wait");
            bar.set_length(sum.timed.len() as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{prefix} {spinner} {msg} ({elapsed})")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            let grace = std::time::Duration::from_secs(a.wait_grace_s);
            let w = wait_released(&mut s, &mut rec, &stack, sum, grace, &mut |m| {
                bar.set_message(m.to_owned());
            });
            bar.finish_and_clear();
            Some(w)
        }
        _ => None,
    };
    match (&result, &waited) {
        (Err(e), _) | (Ok(_), Some(Err(e))) => rec.evidence.finish(false, format!("{e:#}")),
        (Ok(sum), Some(Ok(n))) => rec.evidence.finish(
            true,
            format!(
                "{} TCs sent and verified, {} time-tagged on the unit, {n} of them executed at \
                 their release",
                sum.sent_now, sum.time_tagged
            ),
        ),
        (Ok(sum), None) => rec.evidence.finish(
            true,
            format!(
                "{} TCs sent and verified, {} time-tagged on the unit",
                sum.sent_now, sum.time_tagged
            ),
        ),
    }
    let (j, h) = rec.evidence.write(&a.evidence)?;
    if a.json {
        let ok = result.is_ok() && waited.as_ref().is_none_or(Result::is_ok);
        let v = json!({"ok": ok, "outcome": rec.evidence.outcome,
            "waited": waited.as_ref().map(|w| w.as_ref().map_or(0, |n| *n)),
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
    result?;
    if let Some(w) = waited {
        w?;
    }
    Ok(ExitCode::SUCCESS)
}
