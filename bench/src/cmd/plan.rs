//! `eic-bench plan WORKPLAN --against (DEVICE | DIR) -o STACK`: the minimal TC stack of a
//! workplan (logic in [`crate::workflow::plan`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use indicatif::ProgressBar;
use serde_json::json;
use tables::set::TableSet;
use tc_tm::service::Report;
use tc_tm::service::function::Mode;
use tc_tm::service::parameter::{self, Report as ParamMsg};

use super::BadInput;
use super::exit::Exit;
use super::link_args::LinkArgs;
use crate::session::Session;
use crate::workflow::evidence::{Evidence, Recorder, unix_now};
use crate::workflow::plan::{LoadedWorkplan, UnitState, plan};
use crate::workflow::tables as wft;
use crate::workflow::update::read_hk_at;

/// Arguments of `plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The workplan (TOML, `docs/workplan.md`).
    pub workplan: PathBuf,
    /// What the unit holds: a table directory (from `tables pull`), or a device (pulled now;
    /// also gives the unit's mode, clock, inactive buffers and parameter values).
    #[arg(long)]
    pub against: PathBuf,
    /// The stack file to write.
    #[arg(long, short)]
    pub output: PathBuf,
    /// With --against DIR: the unit's mode (default safe).
    #[arg(long, default_value = "safe")]
    pub mode: String,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Line rate when --against is a serial device.
    #[arg(long, default_value_t = crate::link::DEFAULT_BAUD, env = "EIC_BAUD")]
    pub baud: u32,
    /// State directory of the embedded twin (--against twin).
    #[arg(long, env = "EIC_TWIN_STATE")]
    pub twin_state: Option<PathBuf>,
}

/// Reads the raw values of `names` (20,1 → 20,2).
///
/// # Errors
/// Session errors, a refused request.
pub fn read_params(s: &mut Session, names: &[String]) -> anyhow::Result<BTreeMap<String, u32>> {
    let mut out = BTreeMap::new();
    if names.is_empty() {
        return Ok(out);
    }
    let mut rec = Recorder::new(Evidence::new("plan", "", ""));
    s.clear_packets();
    let (_, r) =
        rec.run(s, &format!("param get id={}", names.join(",")), "read parameters", None)?;
    crate::workflow::evidence::ensure_ok(&r)?;
    let deadline = Instant::now() + std::time::Duration::from_millis(1500);
    while let Some(p) = s.next_packet(deadline)? {
        if let Ok(Report::Parameter(ParamMsg::Values(list))) = p.report() {
            for e in list.iter() {
                if let Some(d) = e.id.def() {
                    out.insert(d.name.to_owned(), e.raw);
                }
            }
            break;
        }
    }
    let _ = parameter::by_name;
    Ok(out)
}

/// Reads what `plan` compares against from a connected unit.
///
/// # Errors
/// Session and pull failures.
pub fn unit_state(s: &mut Session, names: &[String]) -> anyhow::Result<UnitState> {
    let mut rec = Recorder::new(Evidence::new("plan", "", ""));
    let (hk, time) = read_hk_at(s, &mut rec, "mode and clock")?;
    let pulled = wft::pull(s, &ProgressBar::hidden())?;
    let set = pulled.set()?;
    let params = read_params(s, names)?;
    Ok(UnitState {
        set,
        directory: pulled.directory,
        mode: hk.mode,
        now_unix: time.to_unix_utc().0,
        params,
    })
}

fn is_dir(p: &Path) -> bool {
    p.is_dir()
}

/// Runs `plan`.
///
/// # Errors
/// An invalid workplan (exit 2, nothing written), link failures (exit 1).
pub fn run(a: &PlanArgs) -> anyhow::Result<ExitCode> {
    let wp = LoadedWorkplan::load(&a.workplan).map_err(|e| {
        if e.is_unreadable() { Exit::Usage.error(e.0) } else { BadInput(e.0).into() }
    })?;
    // Every slot is validated before the unit is even contacted.
    crate::workflow::plan::configurations(&wp).map_err(|e| {
        BadInput(format!("{}: workplan refused, nothing written: {}", a.workplan.display(), e.0))
    })?;
    // ... and so is every other input: the mode of --against DIR and the stack's directory.
    let mode = Mode::from_name(&a.mode).ok_or_else(|| {
        Exit::Usage
            .error(format!("--mode {:?}: use safe, standby, observation or maintenance", a.mode))
    })?;
    if let Some(dir) = a.output.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        return Err(Exit::Usage.error(format!(
            "-o {}: the directory {} does not exist: create it, or write the stack elsewhere",
            a.output.display(),
            dir.display()
        )));
    }
    if a.output.is_dir() {
        return Err(Exit::Usage.error(format!(
            "-o {}: is a directory; give the stack's file name (e.g. week49.stack)",
            a.output.display()
        )));
    }
    let unit = if is_dir(&a.against) {
        let set =
            TableSet::load_dir(&a.against).map_err(|e| BadInput(format!("--against: {e}")))?;
        UnitState { set, directory: vec![], mode, now_unix: unix_now().0, params: BTreeMap::new() }
    } else {
        let link = LinkArgs {
            baud: a.baud,
            twin_state: a.twin_state.clone(),
            ..LinkArgs::with_defaults(a.against.clone())
        };
        let mut s = link.connect()?;
        // An interrupted run left this unit half-changed: recover before planning against it.
        super::tables_unit::recover_interrupted(&link, &mut s)?;
        unit_state(&mut s, &wp.param_names())?
    };
    let against = a.against.display().to_string();
    let (stack, sum) = plan(&wp, &unit, &against)
        .map_err(|e| BadInput(format!("workplan refused, nothing written: {}", e.0)))?;
    stack.save(&a.output)?;
    let timed = stack.tc.iter().filter(|t| !t.is_now()).count();
    if a.json {
        let v = json!({
            "workplan": a.workplan.display().to_string(),
            "against": against,
            "stack": a.output.display().to_string(),
            "tcs": stack.tc.len(),
            "now": stack.tc.len() - timed,
            "time_tagged": timed,
            "now_slot": sum.now_slot,
            "superseded": sum.superseded,
            "points": sum.changes.iter().zip(&sum.params).map(|((n, t, _), (_, p))| json!({
                "slot": n, "tables": t.iter().map(|x| x.key()).collect::<Vec<_>>(), "params": p})).collect::<Vec<_>>(),
        });
        println!("{v}");
    } else {
        if !sum.superseded.is_empty() {
            println!("past slots superseded by a later past slot: {}", sum.superseded.join(", "));
        }
        for ((name, tables, diff), (_, params)) in sum.changes.iter().zip(&sum.params) {
            let keys: Vec<&str> = tables.iter().map(|t| t.key()).collect();
            let now = sum.now_slot.as_deref() == Some(name.as_str());
            println!(
                "slot {name}{}: tables {}; parameters {}",
                if now { " (due now)" } else { "" },
                if keys.is_empty() { "unchanged".to_owned() } else { keys.join(", ") },
                if params.is_empty() { "unchanged".to_owned() } else { params.join(" ") }
            );
            for l in diff.lines() {
                println!("    {l}");
            }
        }
        if stack.tc.is_empty() {
            eprintln!(
                "the unit already holds every slot's configuration: empty stack written to {}",
                a.output.display()
            );
        } else {
            eprintln!(
                "{} TCs written to {} ({} now, {timed} time-tagged); review it, then `eic-bench stack check` and `eic-bench run`",
                stack.tc.len(),
                a.output.display(),
                stack.tc.len() - timed
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
