//! `eic-bench calib gain EVENTS... --tables DIR -o OUT` (`docs/calib.md`, "Gain and offset").

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use serde_json::json;
use tables::TableId;
use tables::pixels::PixelTable;

use super::calib::exit_error;
use crate::calib::gain::{GainCalibration, GainError, GainOptions, Histograms, Outcome, calibrate};
use crate::calib::{CalibError, load_tables, open_inputs};
use crate::events::Item;

/// Arguments of `calib gain`.
#[derive(Debug, Args)]
pub struct GainArgs {
    /// Event files (FITS or CSV, ICD §6) or triplet directories. Single events (MULT = 1) of
    /// all of them are used, SAA passages included (their lines help).
    #[arg(required = true)]
    pub events: Vec<PathBuf>,
    /// The table directory the unit runs with: its gains and offsets are the starting point
    /// and stay for the pixels that cannot be calibrated.
    #[arg(long)]
    pub tables: PathBuf,
    /// Output directory: pixels.csv, report.html, report.json (all or nothing).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Fewest counts in the fit window (18–140 keV) for a pixel to be fitted.
    #[arg(long, default_value_t = GainOptions::default().min_counts)]
    pub min_counts: u64,
    /// Largest relative gain uncertainty (1σ) accepted; above, the pixel keeps its value.
    #[arg(long, default_value_t = GainOptions::default().max_gain_err)]
    pub max_gain_err: f64,
    /// Largest offset uncertainty (1σ, keV) accepted.
    #[arg(long, default_value_t = GainOptions::default().max_offset_err_kev)]
    pub max_offset_err_kev: f64,
    /// Print the summary as one JSON object (report.json's summary) instead of text.
    #[arg(long)]
    pub json: bool,
}

fn check_options(a: &GainArgs) -> Result<GainOptions, CalibError> {
    let bad = |what: &str, v: f64, range: &str| {
        CalibError::Usage(format!("--{what} {v}: expected a number in {range}"))
    };
    if a.min_counts < 100 {
        return Err(bad("min-counts", a.min_counts as f64, "[100, ∞)"));
    }
    if !(a.max_gain_err > 0.0 && a.max_gain_err <= 0.1) {
        return Err(bad("max-gain-err", a.max_gain_err, "(0, 0.1]"));
    }
    if !(a.max_offset_err_kev > 0.0 && a.max_offset_err_kev <= 5.0) {
        return Err(bad("max-offset-err-kev", a.max_offset_err_kev, "(0, 5]"));
    }
    Ok(GainOptions {
        min_counts: a.min_counts,
        max_gain_err: a.max_gain_err,
        max_offset_err_kev: a.max_offset_err_kev,
        ..GainOptions::default()
    })
}

/// Checks that a new pixel table validates and round-trips through the CSV form and the image;
/// returns its CSV.
///
/// # Errors
/// [`CalibError::Invalid`] naming the first problem.
pub fn pixels_round_trip(t: &PixelTable) -> Result<String, CalibError> {
    let mut problems = Vec::new();
    t.validate(&mut |p| problems.push(p.to_string()));
    if let Some(p) = problems.first() {
        return Err(CalibError::Invalid(format!("the new pixel table does not validate: {p}")));
    }
    let csv = tables::text::pixels_to_csv(t);
    let back = tables::text::pixels_from_csv("pixels.csv", &csv)
        .map_err(|e| CalibError::Invalid(format!("the new pixel table does not read back: {e}")))?;
    let mut set = tables::defaults::default_set();
    set.pixels = back;
    let image = set
        .image(TableId::Pixels)
        .map_err(|e| CalibError::Invalid(format!("the new pixel table has no image: {e:?}")))?;
    let mut again = Box::<PixelTable>::default();
    again
        .load_image(&image)
        .map_err(|e| CalibError::Invalid(format!("the new pixel image does not load: {e:?}")))?;
    if *again != *t {
        return Err(CalibError::Invalid("the new pixel table does not round-trip".into()));
    }
    Ok(csv)
}

/// Reads every input into per-pixel histograms of single events.
fn histograms(a: &GainArgs) -> Result<(Histograms, u64), CalibError> {
    let inputs = open_inputs(&a.events)?;
    let total: Option<u64> = inputs.iter().map(|i| i.input.len_hint()).sum();
    let progress = super::calib::progress_bar("calib gain", total, a.json);
    let mut h = Histograms::new();
    let mut events = 0u64;
    for mut opened in inputs {
        while let Some(item) =
            opened.input.next_item().map_err(|e| CalibError::Invalid(e.to_string()))?
        {
            let Item::Event(e) = item else { continue };
            events += 1;
            if e.mult == 1 {
                h.add(usize::from(e.y) * 80 + usize::from(e.z), e.pha);
            }
            if events.is_multiple_of(1 << 20) {
                progress.set_position(events);
            }
        }
    }
    progress.finish_and_clear();
    Ok((h, events))
}

fn summary(
    cal: &GainCalibration,
    a: &GainArgs,
    events: u64,
    singles: u64,
    elapsed_s: f64,
) -> serde_json::Value {
    let fitted: Vec<_> = cal.pixels.iter().filter_map(|p| p.fit().map(|f| (p, f))).collect();
    let n = fitted.len().max(1) as f64;
    let rms =
        |f: &dyn Fn(&(&crate::calib::gain::PixelResult, &crate::calib::gain::PixelFit)) -> f64| {
            (fitted.iter().map(|x| f(x).powi(2)).sum::<f64>() / n).sqrt()
        };
    let kept: Vec<u16> =
        cal.pixels.iter().filter(|p| p.fit().is_none()).map(|p| p.detnum).collect();
    json!({
        "inputs": a.events,
        "events": events,
        "single_events": singles,
        "calibrated": cal.calibrated(),
        "kept": kept.len(),
        "kept_pixels": kept,
        "rms_gain_change": rms(&|(p, f)| f.gain / p.previous_gain - 1.0),
        "rms_offset_change_kev": rms(&|(p, f)| f.offset_kev - p.previous_offset_kev),
        "rms_gain_err": rms(&|(_, f)| f.gain_err / f.gain),
        "rms_offset_err_kev": rms(&|(_, f)| f.offset_err_kev),
        "anchor_map": cal.anchor_map,
        "anchors": cal.anchors,
        "options": cal.options,
        "elapsed_s": elapsed_s,
    })
}

/// Runs `calib gain`.
///
/// # Errors
/// Bad options or missing files (exit 3), damaged inputs or tables (exit 2), data that cannot
/// give a calibration (too little, no lines: exit 1); nothing is written then.
pub fn run(a: &GainArgs) -> anyhow::Result<ExitCode> {
    go(a).map_err(exit_error)?;
    Ok(ExitCode::SUCCESS)
}

fn go(a: &GainArgs) -> Result<(), CalibError> {
    let started = Instant::now();
    let opts = check_options(a)?;
    let set = load_tables(&a.tables)?;
    let (h, events) = histograms(a)?;
    // Too little data or no lines: the inputs cannot give a calibration (exit 1).
    let cal = calibrate(&h, &set.pixels, &opts)
        .map_err(|e: GainError| CalibError::Refused(format!("calib gain: {e}")))?;
    let table = cal.apply(&set.pixels);
    let csv = pixels_round_trip(&table)?;
    let elapsed = started.elapsed().as_secs_f64();
    let sum = summary(&cal, a, events, h.events(), elapsed);
    let inputs: Vec<String> = a.events.iter().map(|p| p.display().to_string()).collect();
    let html = crate::calib::gain_html::render_gain(&cal, &set.pixels, &inputs, events, |d| {
        h.pixel(usize::from(d))
    })
    .map_err(CalibError::Invalid)?;
    let report = json!({ "summary": sum, "pixels": cal.pixels });
    crate::calib::write_products(
        &a.output,
        &[
            ("pixels.csv", csv.into_bytes()),
            ("report.json", serde_json::to_vec_pretty(&report).unwrap_or_default()),
            ("report.html", html.into_bytes()),
        ],
    )?;
    if a.json {
        println!("{sum}");
        return Ok(());
    }
    let fitted: Vec<_> = cal.pixels.iter().filter_map(|p| p.fit()).collect();
    let med = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    };
    println!(
        "{events} events ({} single), {} pixels calibrated, median uncertainty gain {:.3} %, \
         offset {:.3} keV",
        h.events(),
        cal.calibrated(),
        100.0 * med(fitted.iter().map(|f| f.gain_err / f.gain).collect()),
        med(fitted.iter().map(|f| f.offset_err_kev).collect()),
    );
    for l in &cal.anchors {
        println!(
            "  line {:<11} {:7.3} keV: {}",
            l.line.name,
            l.line.energy_kev,
            l.found_kev.map_or("not found".into(), |e| format!(
                "at {e:.3} keV in the stack, {:.0}σ",
                l.significance
            ))
        );
    }
    let kept: Vec<_> = cal
        .pixels
        .iter()
        .filter_map(|p| match &p.outcome {
            Outcome::Kept { reason } => Some((p.detnum, reason)),
            Outcome::Calibrated(_) => None,
        })
        .collect();
    println!("  kept their previous values ({}):", kept.len());
    for (d, r) in kept.iter().take(12) {
        println!("    DETNUM {d}: {r}");
    }
    if kept.len() > 12 {
        println!("    … and {} more (report.json lists them all)", kept.len() - 12);
    }
    println!(
        "wrote {}/{{pixels.csv, report.html, report.json}} in {elapsed:.1} s",
        a.output.display()
    );
    Ok(())
}
