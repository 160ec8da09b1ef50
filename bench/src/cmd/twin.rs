//! `eic-bench twin`: the on-board unit behind pseudo-terminals.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc;

use anyhow::Context;
use clap::Args;
use nix::sys::signal::{SigSet, Signal};
use onboard::unit::Unit;
use serde_json::json;

use super::exit::Exit;
use crate::link::FaultSpec;
use crate::twin::{State, StateError, Twin, TwinClock, TwinConfig, open_state};

/// Arguments of `twin`.
#[derive(Debug, Args)]
pub struct TwinArgs {
    /// State directory (memory banks, boot selection, tables), created if needed and kept
    /// across runs. Without it (and without EIC_TWIN_STATE) the twin runs on a temporary
    /// state deleted at exit, unlike DEVICE `twin` of the other commands, whose state persists
    /// in ~/.local/state/eic-bench/twin: give that path (or set EIC_TWIN_STATE for both) to
    /// run this twin on the same state. A state created now is provisioned as a unit from the
    /// factory: software 1.0.0 in banks A and B, bank A selected, the default table set active
    /// (the unit boots into safe mode).
    #[arg(long, visible_alias = "twin-state", env = "EIC_TWIN_STATE")]
    pub state: Option<PathBuf>,
    /// Start a created state erased instead (no software image: the unit stays in boot mode,
    /// where only memory management (6), test (17) and the boot functions (8) exist).
    #[arg(long)]
    pub blank: bool,
    /// Emulate this line rate (both directions); full speed when absent.
    #[arg(long)]
    pub baud: Option<u32>,
    /// Seeded link faults on both directions, e.g. `bitflip=1e-5,drop=0.001,seed=42`
    /// (keys: bitflip, drop, `garbage=P[:LEN]`, frame-drop, seed).
    #[arg(long)]
    pub faults: Option<String>,
    /// Also write the JSON line with the device paths to this file (written before the line
    /// is printed, so it exists once the line is seen).
    #[arg(long)]
    pub print_paths: Option<PathBuf>,
    /// Run in the background: return once the twin runs and its paths are printed (and
    /// written to --print-paths), leaving it running; stop it with `kill PID` (the `pid` of
    /// the JSON line). Its messages go to the log file named on standard error.
    #[arg(long, conflicts_with = "until_stdin_eof")]
    pub detach: bool,
    /// Stop at end of standard input as well as on SIGINT/SIGTERM (for scripts and tests
    /// that hold a pipe to the twin).
    #[arg(long)]
    pub until_stdin_eof: bool,
    /// Run the unit's clock this many seconds ahead of the wall clock (negative: behind). The
    /// unit time-stamps its telemetry and releases time-tagged TCs on this clock, so a twin
    /// started with 3600 lives an hour ahead (the bench plans against the unit's own time).
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true, conflicts_with = "clock_start")]
    pub clock_offset_s: f64,
    /// Start the unit's clock at this UTC time (e.g. 2027-01-04T09:59:30Z): the same as the
    /// offset from now to it. To watch a workplan's slots happen on the twin.
    #[arg(long)]
    pub clock_start: Option<String>,
}

/// A state directory in use, with the option of this command that picks another one; other
/// state errors unchanged.
pub fn busy_hint(e: StateError, option: &str) -> anyhow::Error {
    match e {
        StateError::Busy { .. } => Exit::Usage.error(format!("{e} ({option})")),
        e => e.into(),
    }
}

/// `--detach`: starts this command again without `--detach` in its own process group, its
/// standard error in a log file, and returns once it printed its JSON line (the paths exist
/// and --print-paths is written), printing that line.
fn detach() -> anyhow::Result<ExitCode> {
    use std::io::BufRead as _;
    use std::os::unix::process::CommandExt as _;
    let exe = std::env::current_exe().context("finding this program to start the twin")?;
    let args: Vec<std::ffi::OsString> =
        std::env::args_os().skip(1).filter(|a| a != "--detach").collect();
    let log = tempfile::Builder::new()
        .prefix("eic-twin-")
        .suffix(".log")
        .tempfile()
        .context("creating the detached twin's log file")?;
    let (file, log_path) = log.keep().context("keeping the detached twin's log file")?;
    let mut child = std::process::Command::new(exe)
        .args(&args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(file)
        .process_group(0)
        .spawn()
        .context("starting the twin in the background")?;
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        std::io::BufReader::new(out).read_line(&mut line).context("reading the twin's paths")?;
    }
    if serde_json::from_str::<serde_json::Value>(&line).is_err() {
        let _ = child.kill();
        let status = child.wait().ok().and_then(|s| s.code()).unwrap_or(-1);
        let said = std::fs::read_to_string(&log_path).unwrap_or_default();
        let _ = std::fs::remove_file(&log_path);
        // The twin's own error and exit code (its usage errors are 3, like the others).
        let exit = match status {
            3 => Exit::Usage,
            2 => Exit::Invalid,
            _ => Exit::Failed,
        };
        return Err(exit.error(format!(
            "the twin did not start (exit {status}): {}",
            said.trim().trim_start_matches("error: ")
        )));
    }
    print!("{line}");
    eprintln!(
        "twin running in the background (pid {}): stop it with `kill {}`; its messages go to {}",
        child.id(),
        child.id(),
        log_path.display()
    );
    Ok(ExitCode::SUCCESS)
}

enum Stop {
    Signal(Signal),
    StdinEof,
}

/// Runs the twin until SIGINT/SIGTERM (or end of stdin with `--until-stdin-eof`).
///
/// # Errors
/// Bad fault spec or baud, state directory in use, pty failures (exit 3).
pub fn run(a: &TwinArgs) -> anyhow::Result<ExitCode> {
    let faults = match &a.faults {
        Some(f) => FaultSpec::parse(f).map_err(|e| Exit::Usage.error(format!("--faults: {e}")))?,
        None => FaultSpec::none(),
    };
    if a.baud == Some(0) {
        return Err(Exit::Usage.error("--baud 0: give a positive rate, or omit it for full speed"));
    }
    if a.detach {
        return detach();
    }
    // Block the stop signals in every thread (the twin's inherit the mask); one thread waits.
    let mut signals = SigSet::empty();
    signals.add(Signal::SIGINT);
    signals.add(Signal::SIGTERM);
    signals.thread_block().context("blocking SIGINT/SIGTERM")?;

    let temp;
    let state_dir = match &a.state {
        Some(d) => d.clone(),
        None => {
            temp = tempfile::Builder::new().prefix("eic-twin-").tempdir()?;
            temp.path().to_path_buf()
        }
    };
    let State { storage, info, lock } =
        open_state(&state_dir, a.blank).map_err(|e| busy_hint(e, "--state DIR"))?;
    let provisioned = info.provisioned.is_some();
    let clock_offset_ms = match &a.clock_start {
        Some(t) => {
            let start = crate::workflow::evidence::parse_utc(t)
                .map_err(|e| Exit::Usage.error(format!("--clock-start: {e}")))?;
            let (now, ns) = crate::workflow::evidence::unix_now();
            (start - now) * 1000 - i64::from(ns / 1_000_000)
        }
        None => (a.clock_offset_s * 1000.0).round() as i64,
    };
    let unit = Unit::power_on(storage, TwinClock::new(clock_offset_ms).now());
    let mode = unit.mode();
    let cfg =
        TwinConfig { baud: a.baud, clock_offset_ms, ..TwinConfig::default() }.with_faults(&faults);
    let twin = Twin::start(unit, cfg)?;
    let line = json!({
        "tctm": twin.paths().tctm,
        "stimulus": twin.paths().stimulus,
        "state": state_dir,
        "created": info.created,
        "provisioned": provisioned,
        "mode": mode.to_string(),
        "baud": a.baud,
        "temporary": a.state.is_none(),
        "faults": (!faults.is_none()).then(|| faults.to_string()),
        "pid": std::process::id(),
        "clock_offset_s": clock_offset_ms as f64 / 1000.0,
    })
    .to_string();
    // The file first: whoever saw the line (a --detach parent) finds the file complete.
    if let Some(p) = &a.print_paths {
        std::fs::write(p, format!("{line}\n")).with_context(|| format!("{}", p.display()))?;
    }
    println!("{line}");
    eprintln!(
        "twin running ({mode} mode{}): TC/TM on {}, stimulus on {}; state in {}{}. Stop with \
         Ctrl-C{}.",
        if provisioned { ", state provisioned from the factory defaults" } else { "" },
        twin.paths().tctm.display(),
        twin.paths().stimulus.display(),
        state_dir.display(),
        if a.state.is_none() { " (temporary, deleted at exit: --state DIR keeps it)" } else { "" },
        if a.until_stdin_eof { " or end of input" } else { "" }
    );

    let (tx, rx) = mpsc::channel();
    {
        let tx = tx.clone();
        std::thread::spawn(move || {
            if let Ok(sig) = signals.wait() {
                let _ = tx.send(Stop::Signal(sig));
            }
        });
    }
    if a.until_stdin_eof {
        std::thread::spawn(move || {
            let mut sink = [0u8; 256];
            let mut stdin = std::io::stdin();
            while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
            let _ = tx.send(Stop::StdinEof);
        });
    }
    let why = rx.recv().ok();
    let (unit, stats) = twin.stop()?;
    drop(unit.power_off());
    drop(lock);
    eprintln!(
        "twin stopped ({}): {} uplink octets, {} CADUs sent, {} discarded (no reader)",
        match why {
            Some(Stop::Signal(s)) => s.as_str().to_owned(),
            Some(Stop::StdinEof) => "end of input".to_owned(),
            None => "stop".to_owned(),
        },
        stats.uplink_octets,
        stats.cadus_sent,
        stats.cadus_discarded
    );
    Ok(ExitCode::SUCCESS)
}
