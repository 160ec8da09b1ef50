//! `eic-bench update DEVICE IMAGE --bank (A|B)` and `eic-bench rollback DEVICE`: load a
//! software image into a bank and boot it, or boot the other bank (logic in
//! [`crate::workflow::update`]). Both write an evidence report (JSON and HTML).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use tc_tm::service::function::Bank;

use super::link_args::LinkArgs;
use crate::workflow::evidence::{Evidence, JournalSpec, Recorder};
use crate::workflow::update::{self as wf, UpdateOptions};

/// A bank on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BankArg {
    /// Bank A.
    #[value(name = "A")]
    A,
    /// Bank B.
    #[value(name = "B")]
    B,
}

impl From<BankArg> for Bank {
    fn from(b: BankArg) -> Bank {
        match b {
            BankArg::A => Bank::A,
            BankArg::B => Bank::B,
        }
    }
}

/// Arguments of `update`.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// How to reach the unit.
    #[command(flatten)]
    pub link: LinkArgs,
    /// The software image (`eic-bench image build`); checked with the unit's parser before
    /// anything is sent.
    pub image: PathBuf,
    /// The bank to load: the one the unit does NOT run from.
    #[arg(long, value_enum, ignore_case = true)]
    pub bank: BankArg,
    /// Load and check only: do not select the bank nor reset.
    #[arg(long)]
    pub no_switch: bool,
    /// A stack of acceptance TCs to run once the new software runs (`eic-bench run` semantics).
    #[arg(long)]
    pub acceptance: Option<PathBuf>,
    /// Evidence report path (writes PATH.json and PATH.html).
    #[arg(long, default_value = "update-evidence")]
    pub evidence: PathBuf,
    /// Print the outcome as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `rollback`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// How to reach the unit.
    #[command(flatten)]
    pub link: LinkArgs,
    /// Evidence report path (writes PATH.json and PATH.html).
    #[arg(long, default_value = "rollback-evidence")]
    pub evidence: PathBuf,
    /// Print the outcome as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// A progress bar on stderr with rate and time left (hidden when not a terminal or JSON).
pub fn progress(json: bool, what: &str) -> ProgressBar {
    if json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{prefix} {msg:<16} [{bar:32}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_prefix(what.to_owned());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

fn finish(
    rec: &mut Recorder,
    result: &anyhow::Result<String>,
    path: &std::path::Path,
    json_out: bool,
    extra: serde_json::Value,
) -> anyhow::Result<()> {
    match result {
        Ok(msg) => rec.evidence.finish(true, msg.clone()),
        Err(e) => rec.evidence.finish(false, format!("{e:#}")),
    }
    let (j, h) = rec.evidence.write(path)?;
    if json_out {
        let mut v = json!({
            "ok": result.is_ok(),
            "outcome": rec.evidence.outcome,
            "evidence_json": j.display().to_string(),
            "evidence_html": h.display().to_string(),
            "tcs": rec.evidence.tcs.len(),
        });
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        println!("{v}");
    } else {
        for s in &rec.evidence.steps {
            eprintln!("{:<11} {} {}", s.name, if s.ok { "ok    " } else { "FAILED" }, s.detail);
        }
        eprintln!("evidence: {} and {}", j.display(), h.display());
    }
    Ok(())
}

/// Runs `update`.
///
/// # Errors
/// A bad image (exit 2, nothing sent), the running bank (exit 2), link and unit failures
/// (exit 1, the evidence written first).
pub fn run_update(a: &UpdateArgs) -> anyhow::Result<ExitCode> {
    // Refuse a bad image before anything is sent.
    let (image, info) = super::image::load_checked(&a.image)?;
    // ... and every other input: the acceptance stack (checked as `stack check` does) and the
    // place of the evidence.
    let acceptance = match &a.acceptance {
        Some(p) => {
            let st = crate::workflow::stack::Stack::load(p)?;
            super::run::refuse_unchecked(p, &st)?;
            Some(st)
        }
        None => None,
    };
    Evidence::check_output(&a.evidence)?;
    let mut s = a.link.connect()?;
    let device = a.link.device.display().to_string();
    let recovered = super::tables_unit::recover_interrupted(&a.link, &mut s)?;
    let subject = format!("{} ({}) into bank {:?}", a.image.display(), info.sw_version, a.bank);
    let (dir, key) = a.link.journal();
    let spec = JournalSpec { dir, key, workflow: "update".into(), device: device.clone() };
    let mut rec = Recorder::new(Evidence::new("update", &subject, &device)).with_journal(spec);
    if let Some(r) = &recovered {
        rec.evidence.section("recovered", json!(r.to_string()));
    }
    rec.evidence.section(
        "image",
        json!({"file": a.image.display().to_string(), "version": info.sw_version.to_string(),
               "image_len": image.len(), "payload_crc32": format!("0x{:08X}", info.payload_crc),
               "image_crc32": format!("0x{:08X}", tc_tm::crc::crc32(&image))}),
    );
    let bar = progress(a.json, "update");
    let opts = UpdateOptions { bank: a.bank.into(), switch: !a.no_switch };
    let mut figures = None;
    let result = wf::update(&mut s, &mut rec, &image, &info, opts, &bar).and_then(|f| {
        figures = Some(f);
        if let (Some(st), true) = (&acceptance, opts.switch) {
            crate::workflow::run::execute(&mut s, &mut rec, st, &Default::default())?;
        }
        Ok(if opts.switch {
            format!("bank {:?} loaded and running {}", a.bank, info.sw_version)
        } else {
            format!("bank {:?} loaded and checked ({}); not switched", a.bank, info.sw_version)
        })
    });
    bar.finish_and_clear();
    rec.end_journal(super::run::state_known(&result));
    let extra = figures.map_or(json!({}), |f| {
        json!({"image_len": f.image_len, "chunks": f.chunks,
               "chunks_already_on_board": f.chunks_already_on_board, "octets_sent": f.octets_sent,
               "chunks_resent": f.chunks_resent, "load_s": f.load_time.as_secs_f64(),
               "total_s": f.total_time.as_secs_f64()})
    });
    finish(&mut rec, &result, &a.evidence, a.json, extra)?;
    result.map(|m| {
        if !a.json {
            eprintln!("{m}");
        }
        ExitCode::SUCCESS
    })
}

/// Runs `rollback`.
///
/// # Errors
/// Link and unit failures (exit 1, the evidence written first).
pub fn run_rollback(a: &RollbackArgs) -> anyhow::Result<ExitCode> {
    Evidence::check_output(&a.evidence)?;
    let mut s = a.link.connect()?;
    let device = a.link.device.display().to_string();
    let recovered = super::tables_unit::recover_interrupted(&a.link, &mut s)?;
    let (dir, key) = a.link.journal();
    let spec = JournalSpec { dir, key, workflow: "rollback".into(), device: device.clone() };
    let mut rec =
        Recorder::new(Evidence::new("rollback", "boot the other bank", &device)).with_journal(spec);
    if let Some(r) = &recovered {
        rec.evidence.section("recovered", json!(r.to_string()));
    }
    let result = wf::rollback(&mut s, &mut rec).map(|hk| {
        format!(
            "running {} from bank {}",
            wf::version_text(hk.sw_version),
            wf::bank_name(hk.boot_bank)
        )
    });
    rec.end_journal(super::run::state_known(&result));
    finish(&mut rec, &result, &a.evidence, a.json, json!({}))?;
    result.map(|m| {
        if !a.json {
            eprintln!("{m}");
        }
        ExitCode::SUCCESS
    })
}
