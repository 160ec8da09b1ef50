//! `eic-bench tables pull DEVICE -o DIR` and `eic-bench tables push DEVICE DIR`: the unit's
//! tables to and from a table directory, over the session (logic in
//! [`crate::workflow::tables`]).

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use tables::TableId;
use tables::set::TableSet;

use super::BadInput;
use super::link_args::LinkArgs;
use crate::workflow::journal::{Journal, Pending};
use crate::workflow::tables::{self as wf, Plan, UnitTables, WorkflowError};

/// Arguments of `tables pull`.
#[derive(Debug, Args)]
pub struct PullArgs {
    /// How to reach the unit.
    #[command(flatten)]
    pub link: LinkArgs,
    /// Directory to write the tables to, in their text form (created if needed; the seven
    /// table files in it are replaced).
    #[arg(long, short)]
    pub output: PathBuf,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `tables push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// How to reach the unit.
    #[command(flatten)]
    pub link: LinkArgs,
    /// The table directory to make active on the unit.
    pub dir: PathBuf,
    /// Do not ask for confirmation (required when standard input is not a terminal).
    #[arg(long, short)]
    pub yes: bool,
    /// Print the diff and the TCs that would be sent, in the readable syntax, and change
    /// nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the outcome as one JSON object (the diff included).
    #[arg(long)]
    pub json: bool,
}

fn progress(json: bool, what: &str) -> ProgressBar {
    if json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{prefix} {msg:<18} [{bar:32}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_prefix(what.to_owned());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// At contact: an interrupted run on this unit (its journal left behind) is recovered and
/// reported on standard error (mode restored, loads aborted, tables read back).
///
/// # Errors
/// The recovery's session or journal errors.
pub fn recover_interrupted(
    link: &super::link_args::LinkArgs,
    s: &mut crate::session::Session,
) -> anyhow::Result<Option<wf::Recovery>> {
    let (dir, key) = link.journal();
    let Some(p) = Pending::find(&dir, &key)? else { return Ok(None) };
    let r = wf::recover(s, p).map_err(workflow_err)?;
    eprintln!("warning: {r}");
    Ok(Some(r))
}

fn workflow_err(e: WorkflowError) -> anyhow::Error {
    match e {
        WorkflowError::Invalid(_) => BadInput(e.to_string()).into(),
        e => e.into(),
    }
}

fn summary(unit: &UnitTables) -> Vec<serde_json::Value> {
    unit.directory
        .iter()
        .map(|e| {
            let key = TableId::from_u8(e.table_id).map_or("unknown", |t| t.key());
            json!({
                "table": key,
                "id": e.table_id,
                "version": e.active_version,
                "crc32": format!("0x{:08X}", e.active_crc),
                "size": e.active_len,
                "inactive_state": e.inactive_state.to_string(),
            })
        })
        .collect()
}

fn print_summary(unit: &UnitTables) {
    println!(
        "{:<8} {:>4} {:>7} {:>10} {:>8}  inactive",
        "table", "id", "version", "crc32", "octets"
    );
    for e in &unit.directory {
        let key = TableId::from_u8(e.table_id).map_or("unknown", |t| t.key());
        println!(
            "{key:<8} 0x{:02X} {:>7} 0x{:08X} {:>8}  {}",
            e.table_id, e.active_version, e.active_crc, e.active_len, e.inactive_state
        );
    }
}

/// Runs `tables pull`.
///
/// # Errors
/// Link, session and dump failures (exit 1); a unit without a complete set (exit 1, saying
/// which table is missing).
pub fn pull(a: &PullArgs) -> anyhow::Result<ExitCode> {
    let start = Instant::now();
    let mut s = a.link.connect()?;
    recover_interrupted(&a.link, &mut s)?;
    let bar = progress(a.json, "pull");
    let unit = wf::pull(&mut s, &bar).map_err(workflow_err)?;
    let set = unit.set().map_err(workflow_err)?;
    set.save_dir(&a.output).with_context(|| format!("writing {}", a.output.display()))?;
    if a.json {
        let v = json!({
            "device": a.link.device.display().to_string(),
            "dir": a.output.display().to_string(),
            "tables": summary(&unit),
            "duration_s": start.elapsed().as_secs_f64(),
        });
        println!("{v}");
    } else {
        print_summary(&unit);
        eprintln!(
            "pulled {} tables ({} octets) from {} into {} in {:.1} s",
            unit.images.len(),
            unit.images.values().map(Vec::len).sum::<usize>(),
            a.link.device.display(),
            a.output.display(),
            start.elapsed().as_secs_f64()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn confirm(plan: &Plan, device: &Path) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        anyhow::bail!(BadInput(
            "refusing to change the unit without confirmation: standard input is not a \
             terminal. Review the changes with --dry-run, then run again with --yes"
                .to_owned()
        ));
    }
    let keys: Vec<&str> = plan.tables.iter().map(|t| t.key()).collect();
    eprint!(
        "Load, validate and activate {} on {} ({} TCs, {} octets)? [y/N] ",
        keys.join(", "),
        device.display(),
        plan.tcs.len(),
        plan.octets
    );
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

/// Runs `tables push`.
///
/// # Errors
/// An unreadable or invalid directory (exit 2), no confirmation possible (exit 2), link,
/// session or unit refusals (exit 1, naming the table and the reason).
pub fn push(a: &PushArgs) -> anyhow::Result<ExitCode> {
    let start = Instant::now();
    let target = TableSet::load_dir(&a.dir).map_err(|e| BadInput(e.to_string()))?;
    let problems = target.problems();
    if !problems.is_empty() {
        return Err(workflow_err(WorkflowError::Invalid(problems)));
    }
    let mut s = a.link.connect()?;
    let recovered = recover_interrupted(&a.link, &mut s)?;
    let bar = progress(a.json, "pull");
    let (_, plan) = wf::prepare(&mut s, &target, &bar).map_err(workflow_err)?;
    let device = a.link.device.display().to_string();
    let dir = a.dir.display().to_string();
    let changed: Vec<&str> = plan.tables.iter().map(|t| t.key()).collect();

    if plan.is_empty() {
        if a.json {
            let v = json!({"device": device, "dir": dir, "dry_run": a.dry_run, "changed": [],
                "tcs": 0, "octets": 0, "verified": true, "diff": tables::diff::to_json(&[])});
            println!("{v}");
        } else {
            eprintln!("the unit already holds {dir}: nothing to push");
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !a.json {
        print!("{}", plan.diff_text());
    }
    if a.dry_run {
        if a.json {
            let tcs: Vec<&str> = plan.tcs.iter().map(|t| t.text.as_str()).collect();
            let v = json!({"device": device, "dir": dir, "dry_run": true, "changed": changed,
                "tcs": tcs, "octets": plan.octets, "diff": tables::diff::to_json(&plan.diffs)});
            println!("{v}");
        } else {
            println!("# {} TCs would be sent (nothing was sent):", plan.tcs.len());
            for tc in &plan.tcs {
                println!("{}", tc.text);
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !a.yes && !confirm(&plan, &a.link.device)? {
        eprintln!("not confirmed: nothing was sent");
        return Ok(ExitCode::FAILURE);
    }
    let bar = progress(a.json, "push");
    let (jdir, key) = a.link.journal();
    let mut journal = Journal::begin(&jdir, &key, "tables push", &device, plan.mode.name())
        .map_err(|e| anyhow::anyhow!("cannot start the push journal in {}: {e}", jdir.display()))?;
    let report = match wf::execute_journaled(&mut s, &plan, &target, &bar, Some(&mut journal)) {
        Ok(r) => {
            let _ = journal.finish();
            r
        }
        Err(e) => {
            if e.state_known() {
                let _ = journal.finish();
            }
            return Err(workflow_err(e));
        }
    };
    if a.json {
        let v = json!({
            "device": device,
            "dir": dir,
            "dry_run": false,
            "changed": changed,
            "tcs": report.tcs,
            "octets": report.octets,
            "verified": true,
            "diff": tables::diff::to_json(&plan.diffs),
            "after": summary(&report.after),
            "recovered": recovered.as_ref().map(|r| r.to_string()),
            "duration_s": start.elapsed().as_secs_f64(),
        });
        println!("{v}");
    } else {
        print_summary(&report.after);
        eprintln!(
            "pushed {} ({} TCs, {} octets) to {device} in {:.1} s; pulled again: the unit holds \
             {dir}",
            changed.join(", "),
            report.tcs,
            report.octets,
            start.elapsed().as_secs_f64()
        );
    }
    Ok(ExitCode::SUCCESS)
}
