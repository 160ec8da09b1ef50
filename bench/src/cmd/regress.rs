//! `eic-bench regress`: a regression campaign of the trigger (logic in [`crate::regress`],
//! suite format and reports in `docs/regress.md`).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

use super::BadInput;
use super::exit::Exit;
use super::link_args::LinkArgs;
use crate::regress::host::{DeviceTarget, HostTarget};
use crate::regress::html::{self, Details, SweepPoint};
use crate::regress::junit::{self, RunMeta};
use crate::regress::model::ModelTarget;
use crate::regress::param::Sweep;
use crate::regress::run::{self, ShardFile};
use crate::regress::suite::Suite;
use crate::regress::target::{Tables, Target};

/// Exit status of a campaign whose candidate regresses beyond the suite's tolerances: the
/// table's "a limit was crossed" (`Exit::Alarm`, 5), as `hk` for a hard limit.
pub const EXIT_REGRESSION: Exit = Exit::Alarm;

/// Arguments of `regress`: a campaign, or `regress merge`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct RegressArgs {
    /// `merge`: combine shard results (otherwise a campaign runs).
    #[command(subcommand)]
    pub cmd: Option<RegressCmd>,
    /// The campaign.
    #[command(flatten)]
    pub run: RunArgs,
}

/// The subcommands of `regress`.
#[derive(Debug, Subcommand)]
pub enum RegressCmd {
    /// Combines the results files of every shard of one campaign into the report a single run
    /// gives (same report.json byte for byte), then writes the HTML page and JUnit XML.
    ///
    /// Example:
    ///   eic-bench regress merge sh/shard-*.json -o merged   # a regression: exit 5
    #[command(verbatim_doc_comment)]
    Merge(MergeArgs),
}

/// What runs the scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TargetKind {
    /// The on-board trigger in this process: each scenario simulated once (baseline tables as
    /// the instrument), its events replayed through `onboard::trigger` with each table set.
    Local,
    /// A seeded statistical model of the trigger's sensitivity (not the on-board code): for
    /// trying suites and tolerances in seconds.
    Model,
}

/// Arguments of a campaign.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The suite file (TOML, docs/regress.md).
    #[arg(required = true)]
    pub suite: Option<PathBuf>,
    /// The current table set directory (as `tables` writes it).
    #[arg(long, required = true)]
    pub baseline: Option<PathBuf>,
    /// The table set directory to judge (default: the baseline, e.g. for a sweep).
    #[arg(long)]
    pub candidate: Option<PathBuf>,
    /// Sweep one table parameter of the candidate: PATH=FROM:TO:STEP or PATH=V1,V2,...
    /// (paths as `imt.accumulations[*].snr`, `crt.image_snr`,
    /// `crt.timescales[*].rate_snr[0]`, `alert.min_alert_snr`; docs/regress.md).
    #[arg(long, value_name = "PARAM=FROM:TO:STEP")]
    pub sweep: Option<String>,
    /// What runs the scenarios (ignored with --on).
    #[arg(long, value_enum, default_value = "local")]
    pub target: TargetKind,
    /// Run the suite on a unit through the stimulus link (`twin`, `qemu`, a running twin's or
    /// the spare model's TC/TM device with --stimulus), loading each table set with the table push workflow
    /// first.
    #[arg(long, value_name = "DEVICE")]
    pub on: Option<PathBuf>,
    /// Stimulus device of the unit for --on (default: that of the unit the word `twin` or
    /// `qemu` starts).
    #[arg(long, value_name = "DEVICE")]
    pub stimulus: Option<PathBuf>,
    /// State directory of the embedded twin (--on twin).
    #[arg(long, env = "EIC_TWIN_STATE")]
    pub twin_state: Option<PathBuf>,
    /// Line rate of --on, baud.
    #[arg(long, default_value_t = crate::link::DEFAULT_BAUD, env = "EIC_BAUD")]
    pub baud: u32,
    /// Run only shard K of N (1-based) and write its results file `shard-K-of-N.json`; combine
    /// the shards with `regress merge`.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Output directory (created): report.json, report.html, junit.xml, results.json,
    /// timing.json (or the shard's results file).
    #[arg(long, short, default_value = "regress-out")]
    pub output: PathBuf,
    /// Worker threads (default: one per core).
    #[arg(long, short)]
    pub jobs: Option<usize>,
    /// Print the summary as one JSON object instead of text (no progress bar).
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `regress merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shard results files (`shard-K-of-N.json`), every K once.
    #[arg(required = true)]
    pub shards: Vec<PathBuf>,
    /// Output directory (created).
    #[arg(long, short, default_value = "regress-out")]
    pub output: PathBuf,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Runs `regress`.
///
/// # Errors
/// Bad suite, tables, sweep or shard (exit 2); a failure writing outputs or running a target
/// (exit 1). A regression is not an error: it exits with [`EXIT_REGRESSION`].
pub fn run(a: RegressArgs) -> anyhow::Result<ExitCode> {
    match a.cmd {
        Some(RegressCmd::Merge(m)) => merge(&m),
        None => campaign(&a.run),
    }
}

fn progress(quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "regress [{bar:36}] {pos}/{len} scenario runs  {elapsed} elapsed, eta {eta}",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

fn parse_shard(s: &str) -> Result<(usize, usize), BadInput> {
    let bad = || BadInput(format!("--shard {s:?}: expected K/N with 1 <= K <= N, e.g. 2/8"));
    let (k, n) = s.split_once('/').ok_or_else(bad)?;
    let (k, n): (usize, usize) = (k.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
    if k == 0 || k > n { Err(bad()) } else { Ok((k, n)) }
}

fn make_target(
    a: &RunArgs,
    baseline: &Tables,
    truth: Option<PathBuf>,
) -> anyhow::Result<Box<dyn Target>> {
    if let Some(dev) = &a.on {
        let link = LinkArgs {
            baud: a.baud,
            twin_state: a.twin_state.clone(),
            ..LinkArgs::with_defaults(dev.clone())
        };
        return Ok(Box::new(
            DeviceTarget::new(link, a.stimulus.clone(), baseline).with_truth(truth),
        ));
    }
    match a.target {
        TargetKind::Model => Ok(Box::new(ModelTarget)),
        TargetKind::Local => Ok(Box::new(HostTarget::new(baseline).with_truth(truth))),
    }
}

fn write(dir: &Path, name: &str, text: &str) -> anyhow::Result<PathBuf> {
    let p = dir.join(name);
    std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))?;
    Ok(p)
}

fn to_json<T: serde::Serialize>(v: &T) -> anyhow::Result<String> {
    let mut s = serde_json::to_string_pretty(v)?;
    s.push('\n');
    Ok(s)
}

/// Writes report.json, report.html and junit.xml; returns the exit code of the verdict.
fn write_report(
    out: &Path,
    report: &crate::regress::Report,
    details: &Details,
    meta: &RunMeta,
    as_json: bool,
) -> anyhow::Result<ExitCode> {
    write(out, "report.json", &to_json(report)?)?;
    let page = html::render(report, details).map_err(anyhow::Error::msg)?;
    write(out, "report.html", &page)?;
    write(out, "junit.xml", &junit::render(report, meta))?;
    if as_json {
        println!(
            "{}",
            json!({
                "regression": report.verdict.regression,
                "checks": report.verdict.checks,
                "lost_bursts": report.verdict.lost_bursts.iter().map(|b| &b.scenario).collect::<Vec<_>>(),
                "changes": report.changes.len(),
                "output": out.display().to_string(),
            })
        );
    } else {
        print!("{}", report.summary_text());
        println!("report: {}", out.join("report.html").display());
    }
    Ok(if report.verdict.regression || !report.verdict.errors.is_empty() {
        EXIT_REGRESSION.into()
    } else {
        ExitCode::SUCCESS
    })
}

fn campaign(a: &RunArgs) -> anyhow::Result<ExitCode> {
    let start = Instant::now();
    let (Some(suite_path), Some(base_dir)) = (&a.suite, &a.baseline) else {
        return Err(BadInput("a campaign needs SUITE and --baseline".into()).into());
    };
    // Every input is checked before anything runs (exit 2, the file and the key named): the
    // suite and the files it names, both table sets, the shard and the sweep with each of its
    // values applied and validated.
    let suite = Suite::load(suite_path).map_err(|e| BadInput(e.to_string()))?;
    suite.check_files().map_err(|e| BadInput(format!("{}: {e}", suite_path.display())))?;
    if a.on.is_none()
        && a.target == TargetKind::Model
        && let Some(r) = suite.recorded.first()
    {
        return Err(BadInput(format!(
            "{}: [[recorded]] {:?}: a recorded event file needs the trigger itself; \
             --target model only simulates: run with --target local or --on DEVICE",
            suite_path.display(),
            r.name
        ))
        .into());
    }
    let baseline =
        Tables::load("baseline", base_dir).map_err(|e| BadInput(format!("--baseline: {e}")))?;
    let cand_dir = a.candidate.as_ref().unwrap_or(base_dir);
    let candidate =
        Tables::load("candidate", cand_dir).map_err(|e| BadInput(format!("--candidate: {e}")))?;
    let shard = a.shard.as_deref().map(parse_shard).transpose()?;
    let sweep: Option<Sweep> = a
        .sweep
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(|e| BadInput(format!("--sweep: {e}")))?;
    if sweep.is_some() && shard.is_some() {
        return Err(BadInput("--sweep runs whole suites; it does not take --shard".into()).into());
    }
    if let Some(t) = suite.truth_dir()
        && !t.is_dir()
    {
        return Err(BadInput(format!(
            "{}: truth = {:?}: {} is not a directory",
            suite_path.display(),
            suite.truth.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
            t.display()
        ))
        .into());
    }
    let sweep = match sweep {
        Some(sw) => Some((sweep_sets(&sw, &candidate)?, sw)),
        None => None,
    };
    if let Some(dev) = &a.on {
        let known = [super::link_args::TWIN_DEVICE, crate::qemu::QEMU_DEVICE];
        if a.stimulus.is_none() && !known.iter().any(|w| dev.as_os_str() == *w) {
            return Err(Exit::Usage.error(format!(
                "--on {}: give the unit's stimulus device with --stimulus (a running twin \
                 prints it as \"stimulus\"); only the words twin and qemu know their own",
                dev.display()
            )));
        }
    }
    let target = make_target(a, &baseline, suite.truth_dir())?;
    let workers =
        a.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let pool = rayon::ThreadPoolBuilder::new().num_threads(workers.max(1)).build()?;
    std::fs::create_dir_all(&a.output)
        .with_context(|| format!("creating {}", a.output.display()))?;
    let bar = progress(a.json);

    if let Some((sets, sw)) = sweep {
        return pool
            .install(|| run_sweep(a, &suite, &baseline, &sw, sets, target.as_ref(), &bar, start));
    }
    let (k, n) = shard.unwrap_or((1, 1));
    let file = pool
        .install(|| run::run_shard(target.as_ref(), &suite, (k, n), &baseline, &candidate, &bar));
    let elapsed = start.elapsed().as_secs_f64();
    let timing = json!({
        "elapsed_s": elapsed,
        "workers": workers,
        "shard": [k, n],
        "scenarios": file.results.len() + file.errors.len(),
        "target": file.target,
    });
    if shard.is_some() {
        let name = format!("shard-{k}-of-{n}.json");
        let p = write(&a.output, &name, &to_json(&file)?)?;
        write(&a.output, &format!("timing-{k}-of-{n}.json"), &to_json(&timing)?)?;
        if !a.json {
            println!(
                "shard {k}/{n}: {} scenarios in {elapsed:.1} s -> {}",
                file.results.len() + file.errors.len(),
                p.display()
            );
        } else {
            println!(
                "{}",
                json!({ "shard": [k, n], "results": p.display().to_string(), "errors": file.errors })
            );
        }
        return Ok(if file.errors.is_empty() { ExitCode::SUCCESS } else { Exit::Failed.into() });
    }
    write(&a.output, "results.json", &to_json(&file)?)?;
    write(&a.output, "timing.json", &to_json(&timing)?)?;
    let report = file.report();
    write_report(&a.output, &report, &file.details, &RunMeta::now(elapsed), a.json)
}

/// The candidate table set at every value of a sweep, each validated (before anything runs).
fn sweep_sets(sw: &Sweep, candidate: &Tables) -> Result<Vec<(f64, Tables)>, BadInput> {
    let mut sets = Vec::new();
    for &v in &sw.values {
        let bad = |e: String| BadInput(format!("--sweep {}={v}: {e}", sw.path));
        let mut set = candidate.set.clone();
        sw.path.set(&mut set, v).map_err(bad)?;
        let mut t = Tables::from_set(&format!("{}={v}", sw.path), set).map_err(bad)?;
        t.dir = candidate.dir.clone();
        sets.push((v, t));
    }
    Ok(sets)
}

#[allow(clippy::too_many_arguments)]
fn run_sweep(
    a: &RunArgs,
    suite: &Suite,
    baseline: &Tables,
    sw: &Sweep,
    sets: Vec<(f64, Tables)>,
    target: &dyn Target,
    bar: &ProgressBar,
    start: Instant,
) -> anyhow::Result<ExitCode> {
    let mut points = Vec::new();
    let mut details = Vec::new();
    let instances = suite.instances();
    for (i, (v, t)) in sets.iter().enumerate() {
        bar.set_message(format!("point {}/{}", i + 1, sets.len()));
        let (results, errors, d) = run::run_pair(target, suite, &instances, baseline, t, bar);
        let file = ShardFile {
            format: run::SHARD_FORMAT.into(),
            suite: suite.clone(),
            instances_digest: run::instances_digest(&instances),
            instances_total: instances.len(),
            shard: [1, 1],
            target: target.name(),
            baseline: run::set_info(baseline),
            candidate: run::set_info(t),
            results,
            errors,
            details: Details::new(),
        };
        points.push(SweepPoint { value: *v, report: file.report() });
        details.push(d);
        bar.reset();
    }
    let param = sw.path.to_string();
    let doc = json!({ "param": param, "points": points });
    write(&a.output, "sweep.json", &to_json(&doc)?)?;
    let page = html::render_sweep(&param, &points, &details).map_err(anyhow::Error::msg)?;
    write(&a.output, "report.html", &page)?;
    let elapsed = start.elapsed().as_secs_f64();
    write(
        &a.output,
        "timing.json",
        &to_json(&json!({ "elapsed_s": elapsed, "points": points.len() }))?,
    )?;
    if a.json {
        let rows: Vec<_> = points
            .iter()
            .map(|p| {
                let c = &p.report.overall.candidate;
                json!({ "value": p.value, "efficiency": c.efficiency,
                        "false_rate_per_hour": c.false_rate_per_hour,
                        "outside_r90": c.outside_r90, "regression": p.report.verdict.regression })
            })
            .collect();
        println!("{}", json!({ "param": param, "points": rows }));
    } else {
        println!("sweep of {param} ({} points, {elapsed:.1} s):", points.len());
        println!(
            "{:>10} {:>10} {:>14} {:>11} {:>6}  verdict",
            "value", "efficiency", "false alerts/h", "outside r90", "lost"
        );
        for p in &points {
            let c = &p.report.overall.candidate;
            println!(
                "{:>10} {:>10.3} {:>14.3} {:>11.3} {:>6}  {}",
                p.value,
                c.efficiency,
                c.false_rate_per_hour,
                c.outside_r90,
                p.report.verdict.lost_bursts.len(),
                if p.report.verdict.regression { "REGRESSION" } else { "ok" }
            );
        }
        println!("report: {}", a.output.join("report.html").display());
    }
    Ok(ExitCode::SUCCESS)
}

fn merge(m: &MergeArgs) -> anyhow::Result<ExitCode> {
    let mut shards = Vec::new();
    for p in &m.shards {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
        let f: ShardFile = serde_json::from_str(&text)
            .map_err(|e| BadInput(format!("{}: not a shard results file: {e}", p.display())))?;
        shards.push(f);
    }
    let report = run::merge(&shards).map_err(BadInput)?;
    let mut details = Details::new();
    for s in &shards {
        details.extend(s.details.clone());
    }
    std::fs::create_dir_all(&m.output)
        .with_context(|| format!("creating {}", m.output.display()))?;
    write_report(&m.output, &report, &details, &RunMeta::now(0.0), m.json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_syntax() {
        assert_eq!(parse_shard("2/8").unwrap(), (2, 8));
        assert!(parse_shard("0/8").is_err());
        assert!(parse_shard("9/8").is_err());
        assert!(parse_shard("x").is_err());
    }
}
