//! `eic-bench replay INPUT (--local | --on DEVICE)`: event files through the on-board trigger
//! (`docs/replay.md`).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use super::BadInput;
use super::exit::Exit;
use super::link_args::LinkArgs;
use crate::replay::{self, AlertRecord, ReplayError};

/// Arguments of `replay`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["local", "on"])))]
pub struct ReplayArgs {
    /// An event file (FITS `EVENTS` table or CSV with columns TIME, Y, Z, PHA and optionally
    /// MULT) or a directory with the triplet ECL-EVT-SEC_*, SVO-ATT-CNV_*, SVO-ORB-CNV_*
    /// (what `simulate` writes).
    pub input: PathBuf,
    /// Run the on-board trigger in this process (same code and same stimulus packets as on
    /// the unit).
    #[arg(long)]
    pub local: bool,
    /// Stream the stimulus to a unit: the word `twin` (embedded twin) or `qemu` (the firmware
    /// under QEMU), or the TC/TM device of a running twin or of the spare model (give its
    /// stimulus device with --stimulus).
    #[arg(long, value_name = "DEVICE")]
    pub on: Option<PathBuf>,
    /// Stimulus device of the unit: required with a real device or a running twin (its
    /// `stimulus` path, printed by `eic-bench twin`); that of the unit `twin` or `qemu` starts
    /// by default.
    #[arg(long, value_name = "DEVICE")]
    pub stimulus: Option<PathBuf>,
    /// Table directory: the trigger's tables (local) or tables pushed to the unit first
    /// (--on); the default set otherwise.
    #[arg(long, value_name = "DIR")]
    pub tables: Option<PathBuf>,
    /// One JSON object per alert and line (ICD §6: `notice` valid against the GCN SVOM
    /// trigger schema, plus y_deg, z_deg, rate_snr, timescale_s, catalog_id, burst_id,
    /// seq_num, ...).
    #[arg(long)]
    pub json: bool,
    /// Write each alert's sky image as FITS into this directory (local replays).
    #[arg(long, value_name = "DIR")]
    pub images: Option<PathBuf>,
    /// Link options for --on (baud, archive, timeouts, twin state).
    #[command(flatten)]
    pub link: LinkOpts,
}

/// The link options of `replay --on` (the DEVICE comes from `--on`).
#[derive(Debug, Clone, Args)]
pub struct LinkOpts {
    /// Line rate in baud (8N1) of both links. Ignored for the embedded twin.
    #[arg(long, default_value_t = crate::link::DEFAULT_BAUD, env = "EIC_BAUD")]
    pub baud: u32,
    /// Append every received CADU to this archive file.
    #[arg(long, env = "EIC_ARCHIVE")]
    pub archive: Option<PathBuf>,
    /// State directory of the embedded twin.
    #[arg(long, env = "EIC_TWIN_STATE")]
    pub twin_state: Option<PathBuf>,
}

impl LinkOpts {
    /// The shared link arguments for a device.
    pub fn link_args(&self, device: &Path) -> LinkArgs {
        LinkArgs {
            baud: self.baud,
            archive: self.archive.clone(),
            twin_state: self.twin_state.clone(),
            ..LinkArgs::with_defaults(device.to_path_buf())
        }
    }
}

fn progress_bar(total: Option<u64>, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "replay [{bar:32}] {human_pos}/{human_len} events, {per_sec}, eta {eta}",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// The exit status of a replay error (`cmd::exit`): unreadable files are usage errors (3),
/// malformed inputs and refused tables invalid data (2), the link unreachable (4).
fn replay_err(e: ReplayError) -> anyhow::Error {
    let exit = match &e {
        ReplayError::Input(i) if i.place == crate::events::Place::File => Exit::Usage,
        ReplayError::Input(_) | ReplayError::Tables(_) | ReplayError::Config(_) => Exit::Invalid,
        ReplayError::Io(_) => Exit::Usage,
        ReplayError::Link(_) => Exit::Unreachable,
    };
    exit.error(e.to_string())
}

fn print_alert(r: &AlertRecord, json: bool) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        let line = serde_json::to_string(&r.without_image()).map_err(std::io::Error::other)?;
        writeln!(out, "{line}")
    } else {
        writeln!(out, "{}", r.line())
    }
}

/// Runs `replay`.
///
/// # Errors
/// Bad input or tables (exit 2), link failures.
pub fn run(a: &ReplayArgs) -> anyhow::Result<ExitCode> {
    let hint = crate::events::Input::open(&a.input).map_err(|e| replay_err(e.into()))?;
    if let Some(dir) = &a.images {
        // Checked before the replay, not after it.
        std::fs::create_dir_all(dir).map_err(|e| {
            Exit::Usage.error(format!("--images {}: cannot create it: {e}", dir.display()))
        })?;
    }
    let bar = progress_bar(hint.len_hint(), false);
    drop(hint);
    let started = Instant::now();
    let (alerts, summary) = if a.local {
        let set = replay::local::load_tables(a.tables.as_deref()).map_err(replay_err)?;
        let opts = replay::LocalOptions { images: a.images.is_some() };
        let out = replay::run_local_with(&a.input, &set, opts, |n| bar.set_position(n))
            .map_err(replay_err)?;
        if let Some(dir) = &a.images {
            for (r, q) in out.alerts.iter().zip(&out.attitudes) {
                if let Some(img) = &r.image {
                    replay::image::write_image(dir, r, img, *q)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
                }
            }
        }
        let s = json!({
            "events": out.events,
            "packets": out.packets,
            "octets": out.octets,
            "alerts": out.alerts.len(),
            "events_ignored": out.stats.events_ignored,
            "refused": out.stats.intake.refused,
        });
        (out.alerts, s)
    } else {
        let Some(device) = &a.on else {
            anyhow::bail!(BadInput("give --local or --on DEVICE".into()));
        };
        if a.images.is_some() {
            eprintln!("note: --images needs --local (alerts from a unit carry no image)");
        }
        let link = a.link.link_args(device);
        if a.stimulus.is_none() && !link.is_twin() && !link.is_qemu() {
            return Err(Exit::Usage.error(format!(
                "--on {}: give the unit's stimulus device with --stimulus (a running twin \
                 prints it as \"stimulus\"); only the words twin and qemu know their own",
                device.display()
            )));
        }
        let out = replay::remote::run_on(
            &a.input,
            &a.link.link_args(device),
            a.stimulus.as_deref(),
            a.tables.as_deref(),
            &mut |n| bar.set_position(n),
        )
        .map_err(replay_err)?;
        let s = json!({
            "events": out.events,
            "packets": out.packets,
            "octets": out.octets,
            "alerts": out.alerts.len(),
            "ack": format!("{:?}", out.last_ack),
            "stream_s": out.stream_s,
            "stream_events_per_s": out.events as f64 / out.stream_s.max(1e-9),
        });
        (out.alerts, s)
    };
    bar.finish_and_clear();
    for r in &alerts {
        print_alert(r, a.json)?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let events = summary["events"].as_u64().unwrap_or(0);
    eprintln!(
        "replay: {events} events, {} alerts in {elapsed:.2} s ({:.0} events/s); {summary}",
        alerts.len(),
        events as f64 / elapsed.max(1e-9)
    );
    Ok(ExitCode::SUCCESS)
}
