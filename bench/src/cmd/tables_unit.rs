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
use super::exit::Exit;
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
    /// table files in it are replaced) [default: pulled/DEVICE-YYYYMMDDTHHMMSSZ, a new
    /// directory per pull, ignored by git].
    #[arg(long, short)]
    pub output: Option<PathBuf>,
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
    /// nothing. Long octet strings are folded (first octets, length, CRC-32); --verbose or
    /// --json gives them whole.
    #[arg(long)]
    pub dry_run: bool,
    /// With --dry-run: print every TC's octets whole instead of folded.
    #[arg(long, short)]
    pub verbose: bool,
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

/// The unit's table directory: the active image of each table, and the state of its second
/// (inactive) buffer, where a load goes before it is validated and activated.
fn print_summary(unit: &UnitTables) {
    println!(
        "{:<8} {:>4} {:>7} {:>10} {:>8}  inactive buffer",
        "table", "id", "version", "crc32", "octets"
    );
    for e in &unit.directory {
        let key = TableId::from_u8(e.table_id).map_or("unknown", |t| t.key());
        println!(
            "{key:<8} 0x{:02X} {:>7} 0x{:08X} {:>8}  {}",
            e.table_id, e.active_version, e.active_crc, e.active_len, e.inactive_state
        );
    }
    eprintln!(
        "(version, crc32, octets: the active image; inactive buffer: where a load waits for \
         validation and activation, `empty` when none is pending)"
    );
}

/// Runs `tables pull`.
///
/// # Errors
/// Link, session and dump failures (exit 4); a unit without a complete set (exit 1, saying
/// which table is missing); see [`Exit`].
pub fn pull(a: &PullArgs) -> anyhow::Result<ExitCode> {
    let start = Instant::now();
    let mut s = a.link.connect()?;
    recover_interrupted(&a.link, &mut s)?;
    let bar = progress(a.json, "pull");
    let unit = wf::pull(&mut s, &bar).map_err(workflow_err)?;
    let set = unit.set().map_err(workflow_err)?;
    let output = a.output.clone().unwrap_or_else(|| default_pull_dir(&a.link.device));
    set.save_dir(&output).with_context(|| format!("writing {}", output.display()))?;
    if a.json {
        let v = json!({
            "device": a.link.device.display().to_string(),
            "dir": output.display().to_string(),
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
            output.display(),
            start.elapsed().as_secs_f64()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `pulled/<device name>-<UTC time>`: where `tables pull` writes without `-o`.
pub fn default_pull_dir(device: &Path) -> PathBuf {
    let name = device.file_name().map_or("unit".into(), |n| n.to_string_lossy().into_owned());
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    PathBuf::from("pulled").join(format!("{name}-{}", utc_stamp(secs)))
}

/// `YYYYMMDDTHHMMSSZ` of a Unix time (proleptic Gregorian calendar, UTC).
fn utc_stamp(unix_s: u64) -> String {
    let (days, rem) = (unix_s / 86_400, unix_s % 86_400);
    // Days since 1970-01-01 to a civil date (H. Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

fn confirm(plan: &Plan, device: &Path) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Err(Exit::Usage.error(
            "refusing to change the unit without confirmation: standard input is not a \
             terminal. Review the changes with --dry-run, then run again with --yes",
        ));
    }
    let keys: Vec<&str> = plan.tables.iter().map(|t| t.key()).collect();
    eprint!(
        "Load, validate and activate {} on {} ({} TCs, {} octets; the unit goes from {} to \
         maintenance mode for the loads and back to {} after)? [y/N] ",
        keys.join(", "),
        device.display(),
        plan.tcs.len(),
        plan.octets,
        plan.mode,
        plan.mode
    );
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

/// Runs `tables push`.
///
/// # Errors
/// A missing directory (exit 3), an invalid one (exit 2), no confirmation possible (exit 3),
/// unit refusals (exit 1, naming the table and the reason), link and session failures (exit
/// 4); see [`Exit`].
pub fn push(a: &PushArgs) -> anyhow::Result<ExitCode> {
    let start = Instant::now();
    if !a.dir.is_dir() {
        return Err(super::tables::missing_dir(&a.dir));
    }
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
            // (the mode is in the TCs: `function mode mode=maintenance` ... and back)
            let v = json!({"device": device, "dir": dir, "dry_run": true, "changed": changed,
                "tcs": tcs, "octets": plan.octets, "diff": tables::diff::to_json(&plan.diffs)});
            println!("{v}");
        } else {
            println!(
                "# {} TCs would be sent (nothing was sent); the unit would go from {} to \
                 maintenance mode for the loads and back to {} after:",
                plan.tcs.len(),
                plan.mode,
                plan.mode
            );
            for tc in &plan.tcs {
                if a.verbose {
                    println!("{}", tc.text);
                } else {
                    println!("{}", crate::workflow::evidence::fold_text(&tc.text));
                }
            }
            if !a.verbose {
                println!("# (long octet strings folded: --verbose or --json prints them whole)");
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !a.yes && !confirm(&plan, &a.link.device)? {
        eprintln!("not confirmed: nothing was sent");
        return Ok(Exit::Failed.into());
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
            "pushed {} ({} TCs, {} octets) to {device} in {:.1} s, in maintenance mode, then \
             back to {} mode; pulled again: the unit holds {dir}",
            changed.join(", "),
            report.tcs,
            report.octets,
            start.elapsed().as_secs_f64(),
            plan.mode
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_stamps() {
        assert_eq!(utc_stamp(0), "19700101T000000Z");
        assert_eq!(utc_stamp(951_782_400), "20000229T000000Z");
        assert_eq!(utc_stamp(1_798_687_662), "20261231T032742Z");
        let d = default_pull_dir(Path::new("/dev/ttyUSB0"));
        assert!(d.to_string_lossy().starts_with("pulled/ttyUSB0-"), "{}", d.display());
    }
}
