//! `eic-bench calib pixels EVENTS... --tables DIR -o OUT` (`docs/calib.md`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use serde_json::json;
use tables::TableId;
use tables::pixels::PixelTable;

use super::calib::exit_error;
use crate::calib::pixels::{PixelAnalysis, PixelCounts, PixelOptions, analyse, slot_toml};
use crate::calib::{CalibError, detector_map_svg, html_escape, load_tables, open_inputs};

/// Arguments of `calib pixels`.
#[derive(Debug, Args)]
pub struct PixelsArgs {
    /// Event files (FITS or CSV, ICD §6) or triplet directories (with their orbit file, the
    /// SAA passages are cut by the tables' contour; without, by the rate filter alone).
    #[arg(required = true)]
    pub events: Vec<PathBuf>,
    /// The table directory the unit runs with (its pixel statuses are the starting point,
    /// its gains place the low band, its SAA contour cuts the orbit).
    #[arg(long)]
    pub tables: PathBuf,
    /// Output directory: pixels.csv, slot.toml, report.html, report.json (all or nothing).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Family-wise false-positive probability of each test over the plane.
    #[arg(long, default_value_t = PixelOptions::default().alpha)]
    pub alpha: f64,
    /// Noisy: significantly above this × the pixel's expected rate.
    #[arg(long, default_value_t = PixelOptions::default().min_ratio)]
    pub min_ratio: f64,
    /// Dead: significantly below this × the pixel's expected rate.
    #[arg(long, default_value_t = PixelOptions::default().dead_fraction)]
    pub dead_fraction: f64,
    /// Upper edge of the low band tested separately, keV.
    #[arg(long, default_value_t = PixelOptions::default().low_kev)]
    pub low_kev: f64,
    /// Print the summary as one JSON object (report.json's summary) instead of text.
    #[arg(long)]
    pub json: bool,
}

fn check_options(a: &PixelsArgs) -> Result<PixelOptions, CalibError> {
    let bad = |what: &str, v: f64, range: &str| {
        CalibError::Usage(format!("--{what} {v}: expected a number in {range}"))
    };
    if !(a.alpha > 0.0 && a.alpha < 1.0) {
        return Err(bad("alpha", a.alpha, "(0, 1)"));
    }
    if !(a.min_ratio > 1.0 && a.min_ratio <= 100.0) {
        return Err(bad("min-ratio", a.min_ratio, "(1, 100]"));
    }
    if !(a.dead_fraction > 0.0 && a.dead_fraction < 1.0) {
        return Err(bad("dead-fraction", a.dead_fraction, "(0, 1)"));
    }
    if !(a.low_kev > 0.0 && a.low_kev <= 150.0) {
        return Err(bad("low-kev", a.low_kev, "(0, 150]"));
    }
    Ok(PixelOptions {
        alpha: a.alpha,
        min_ratio: a.min_ratio,
        dead_fraction: a.dead_fraction,
        low_kev: a.low_kev,
    })
}

/// UTC text of the end of the data (a tick second since MJDREF 57754 TT).
fn utc_of_second(second: u64) -> String {
    let cuc = tc_tm::pus::time::Cuc::new(u32::try_from(second).unwrap_or(u32::MAX), 0);
    let (secs, nanos) = cuc.to_unix_utc();
    crate::workflow::evidence::utc_text(secs, nanos)
}

/// Checks that the new table validates and round-trips through the text form and the image.
fn round_trip(t: &PixelTable) -> Result<String, CalibError> {
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

fn summary(
    a: &PixelAnalysis,
    c: &PixelCounts,
    inputs: &[PathBuf],
    elapsed_s: f64,
) -> serde_json::Value {
    json!({
        "inputs": inputs,
        "events": c.events,
        "good_events": c.good_events,
        "good_s": c.good_s,
        "saa_s": c.saa_s,
        "rate_filtered_s": c.rate_s,
        "without_orbit": c.without_orbit,
        "mean_rate_cps": a.mean_rate_cps,
        "tested": a.tested,
        "noisy": a.noisy,
        "dead": a.dead,
        "recovered": a.recovered,
        "untested": a.untested,
        "options": a.options,
        "z_threshold_rate": a.z_threshold_rate,
        "z_threshold_burst": a.z_threshold_burst,
        "elapsed_s": elapsed_s,
    })
}

fn report_html(a: &PixelAnalysis, sum: &serde_json::Value) -> String {
    let rate: Vec<f64> = a.per_pixel.iter().map(|v| v.rate_cps).collect();
    let ratio: Vec<f64> = a.per_pixel.iter().map(|v| v.rate_cps / v.expected_cps).collect();
    let sig: Vec<f64> = a
        .per_pixel
        .iter()
        .map(|v| if v.z_noisy >= v.z_dead { v.z_noisy } else { -v.z_dead })
        .collect();
    let change: Vec<f64> = a
        .per_pixel
        .iter()
        .map(|v| match (v.before == v.after, v.after) {
            (true, _) => 0.0,
            (false, "noisy") => 1.0,
            (false, "dead") => -1.0,
            _ => -0.5,
        })
        .collect();
    let mean = a.mean_rate_cps.max(1e-9);
    let z = a.z_threshold_rate.max(1.0);
    let mut rows = String::new();
    for v in &a.changes {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.4}</td>\
             <td>{:.4}</td><td>{}</td><td>{:.1}</td><td>{:.1}</td></tr>",
            v.detnum,
            v.detnum / 80,
            v.detnum % 80,
            v.before,
            v.after,
            v.rate_cps,
            v.expected_cps,
            v.max_1s,
            v.z_noisy,
            v.z_dead
        ));
    }
    let pretty = serde_json::to_string_pretty(sum).unwrap_or_default();
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>calib pixels</title>\
         <style>body{{font-family:sans-serif;margin:1.5em}}figure.map{{display:inline-block;\
         margin:0.5em;max-width:330px;vertical-align:top}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:2px 6px;text-align:right}}</style></head><body>\
         <h1>calib pixels</h1><p>{} good seconds, mean rate {:.4} counts/s per pixel; {} new \
         noisy, {} new dead, {} recovered, {} untested (too little good time). Thresholds: \
         z ≥ {:.2} (rates), z ≥ {:.2} (one second), trials included.</p>\
         <h2>Detector maps</h2>{}{}{}{}\
         <h2>Status changes</h2><table><tr><th>DETNUM</th><th>Y</th><th>Z</th><th>before</th>\
         <th>after</th><th>rate</th><th>expected</th><th>max in 1 s</th><th>z excess</th>\
         <th>z deficit</th></tr>{rows}</table><h2>Summary</h2><pre>{}</pre></body></html>",
        a.good_s,
        a.mean_rate_cps,
        a.noisy.len(),
        a.dead.len(),
        a.recovered.len(),
        a.untested.len(),
        a.z_threshold_rate,
        a.z_threshold_burst,
        detector_map_svg("Rate over the good time", &rate, 0.0, 2.0 * mean, "counts/s"),
        detector_map_svg("Rate / expected rate", &ratio, 0.0, 2.0, ""),
        detector_map_svg(
            "Significance: excess (red) or deficit (blue)",
            &sig,
            -2.0 * z,
            2.0 * z,
            "σ"
        ),
        detector_map_svg(
            "Status changes: red noisy, blue dead, light blue recovered",
            &change,
            -1.0,
            1.0,
            ""
        ),
        html_escape(&pretty)
    )
}

/// Runs `calib pixels`.
///
/// # Errors
/// Bad options or missing files (exit 3), damaged inputs or tables (exit 2), no good time
/// (exit 1); nothing is written then.
pub fn run(a: &PixelsArgs) -> anyhow::Result<ExitCode> {
    go(a).map_err(exit_error)?;
    Ok(ExitCode::SUCCESS)
}

fn go(a: &PixelsArgs) -> Result<(), CalibError> {
    let started = Instant::now();
    let opts = check_options(a)?;
    let set = load_tables(&a.tables)?;
    let inputs = open_inputs(&a.events)?;
    let total: Option<u64> = inputs.iter().map(|i| i.input.len_hint()).sum();
    let progress = super::calib::progress_bar("calib pixels", total, a.json);
    let mut counts = PixelCounts::new(&set.pixels, opts.low_kev);
    for input in inputs {
        counts.add_input(input, &set.saa, |n| progress.set_position(n))?;
    }
    progress.finish_and_clear();
    let (analysis, table) = analyse(&counts, &set.pixels, &opts)?;
    let csv = round_trip(&table)?;
    let end = counts.spans.iter().map(|s| s.2 + 1).max().unwrap_or(0);
    let slot = slot_toml(&analysis, &utc_of_second(end));
    let elapsed = started.elapsed().as_secs_f64();
    let sum = summary(&analysis, &counts, &a.events, elapsed);
    let report = json!({
        "summary": sum,
        "changes": analysis.changes,
        "rate_cps": analysis.per_pixel.iter().map(|v| v.rate_cps).collect::<Vec<_>>(),
        "expected_cps": analysis.per_pixel.iter().map(|v| v.expected_cps).collect::<Vec<_>>(),
        "z_excess": analysis.per_pixel.iter().map(|v| v.z_noisy).collect::<Vec<_>>(),
        "z_deficit": analysis.per_pixel.iter().map(|v| v.z_dead).collect::<Vec<_>>(),
    });
    let html = report_html(&analysis, &sum);
    crate::calib::write_products(
        &a.output,
        &[
            ("pixels.csv", csv.into_bytes()),
            ("slot.toml", slot.into_bytes()),
            ("report.json", serde_json::to_vec_pretty(&report).unwrap_or_default()),
            ("report.html", html.into_bytes()),
        ],
    )?;
    if a.json {
        println!("{sum}");
    } else {
        println!(
            "{} events, {} s of good time ({} s in the SAA, {} s cut by the rate filter), mean \
             {:.3} counts/s per pixel",
            counts.events, counts.good_s, counts.saa_s, counts.rate_s, analysis.mean_rate_cps
        );
        for p in &counts.without_orbit {
            println!("  {}: no orbit file: SAA passages cut by the rate filter only", p.display());
        }
        let list = |v: &[u16]| v.iter().map(u16::to_string).collect::<Vec<_>>().join(" ");
        println!("  new noisy  ({}): {}", analysis.noisy.len(), list(&analysis.noisy));
        println!("  new dead   ({}): {}", analysis.dead.len(), list(&analysis.dead));
        println!("  recovered  ({}): {}", analysis.recovered.len(), list(&analysis.recovered));
        if !analysis.untested.is_empty() {
            println!(
                "  untested   ({}): too little good time, statuses kept (report.json lists them)",
                analysis.untested.len()
            );
        }
        println!(
            "wrote {}/{{pixels.csv, slot.toml, report.html, report.json}} in {elapsed:.1} s",
            a.output.display()
        );
    }
    Ok(())
}
