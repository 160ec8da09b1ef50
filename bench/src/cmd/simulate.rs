//! `eic-bench simulate SCENARIO -o DIR`: the seeded event simulator (`docs/simulate.md`).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use super::BadInput;
use super::exit::Exit;
use crate::sim::{self, Scenario, SimError};

/// Arguments of `simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Scenario file (TOML; see docs/simulate.md and examples/scenarios/).
    pub scenario: PathBuf,
    /// Output directory (created if needed): ECL-EVT-SEC_NAME.fits, SVO-ATT-CNV_NAME.fits,
    /// SVO-ORB-CNV_NAME.fits (NAME: the scenario's name).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Also write the events as CSV (ECL-EVT-SEC_NAME.csv, same columns).
    #[arg(long)]
    pub csv: bool,
    /// Replace the scenario's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Replace the scenario's duration, seconds.
    #[arg(long)]
    pub duration_s: Option<f64>,
    /// Generating threads (default: all cores); the output does not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
}

fn progress_bar(blocks: u64, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(blocks), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "simulate [{bar:32}] {pos}/{len} s simulated, {per_sec}, eta {eta}",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Runs `simulate`.
///
/// # Errors
/// Bad scenario or tables (exit 2), files that cannot be written.
pub fn run(a: &SimulateArgs) -> anyhow::Result<ExitCode> {
    let mut sc = Scenario::load(&a.scenario).map_err(|e| {
        // An unreadable file is a usage error (3), a bad scenario invalid input (2).
        if e.message.starts_with("cannot read") {
            Exit::Usage.error(e.to_string())
        } else {
            BadInput(e.to_string()).into()
        }
    })?;
    if let Some(s) = a.seed {
        sc.seed = s;
    }
    if let Some(d) = a.duration_s {
        sc.duration_s = d;
    }
    sc.check().map_err(|e| BadInput(format!("{}: {e}", a.scenario.display())))?;
    let bad = |e: SimError| -> anyhow::Error {
        match e {
            SimError::Io(e) => Exit::Usage.error(e.to_string()),
            e => BadInput(format!("{}: {e}", a.scenario.display())).into(),
        }
    };
    let mut sim = sim::Simulator::new(&sc).map_err(bad)?;
    if let Some(t) = a.threads {
        sim = sim.threads(t);
    }
    let bar = progress_bar(sim.blocks(), a.json);
    let started = Instant::now();
    let mut sink = sim::DirSink::create(&a.output, &sc.name, a.csv, sim.start_tick())
        .map_err(|e| anyhow::anyhow!("{}: {e}", a.output.display()))?;
    let summary = sim.run(&mut sink, |done| bar.set_position(done)).map_err(bad)?;
    bar.finish_and_clear();
    let elapsed = started.elapsed().as_secs_f64();
    let out = sink.outputs().cloned().ok_or_else(|| anyhow::anyhow!("no output written"))?;
    if a.json {
        println!(
            "{}",
            json!({
                "scenario": a.scenario,
                "seed": sc.seed,
                "summary": summary,
                "files": out,
                "elapsed_s": elapsed,
            })
        );
    } else {
        println!(
            "{} events over {} s ({} s in the SAA) in {:.1} s ({:.0} events/s):",
            summary.events,
            summary.duration_s,
            summary.saa_s,
            elapsed,
            summary.events as f64 / elapsed.max(1e-9)
        );
        for (what, n) in &summary.arrivals {
            println!("  {what:<12} {n} arrivals");
        }
        for p in [Some(&out.events), Some(&out.attitude), Some(&out.orbit), out.csv.as_ref()]
            .into_iter()
            .flatten()
        {
            println!("  wrote {}", p.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
