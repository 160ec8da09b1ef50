//! `eic-bench calib saa EVENTS... --tables DIR -o OUT` (`docs/calib.md`, "SAA contour").

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use serde_json::json;
use tables::TableId;
use tables::saa::SaaTable;
use tables::set::TableSet;

use super::calib::exit_error;
use crate::calib::saa::{RateAccumulator, RateSample, SaaError, SaaFit, SaaOptions, derive};
use crate::calib::{CalibError, load_tables, open_inputs};
use crate::events::Item;

/// Arguments of `calib saa`.
#[derive(Debug, Args)]
pub struct SaaArgs {
    /// ICD §6 triplet directories (events with their SVO-ORB-CNV orbit file), over many
    /// orbits: a day crosses the SAA on about ten of its fifteen orbits.
    #[arg(required = true)]
    pub events: Vec<PathBuf>,
    /// The table directory the unit runs with: its gains place the particle band, its SAA
    /// contour is the one replaced (and its vertex count the limit).
    #[arg(long)]
    pub tables: PathBuf,
    /// Output directory: saa.toml, report.html, report.json (all or nothing).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Inside the SAA: particle-band rate above K × the quiet level (the median).
    #[arg(long, default_value_t = SaaOptions::default().k)]
    pub k: f64,
    /// The particle band, keV: `LOW:HIGH` (above the lines and most of the sky's photons).
    #[arg(long, default_value = "90:150")]
    pub band_kev: String,
    /// Most vertices of the new polygon, closing vertex included (default: the current SAA
    /// table's; at most 32).
    #[arg(long)]
    pub max_vertices: Option<usize>,
    /// Print the summary as one JSON object (report.json's summary) instead of text.
    #[arg(long)]
    pub json: bool,
}

fn check_options(a: &SaaArgs, current: &SaaTable) -> Result<(SaaOptions, (f64, f64)), CalibError> {
    if !(a.k > 1.0 && a.k <= 100.0) {
        return Err(CalibError::Usage(format!("--k {}: expected a number in (1, 100]", a.k)));
    }
    let band = a
        .band_kev
        .split_once(':')
        .and_then(|(l, h)| Some((l.trim().parse::<f64>().ok()?, h.trim().parse::<f64>().ok()?)))
        .filter(|(l, h)| l.is_finite() && h.is_finite() && *l >= 0.0 && l < h)
        .ok_or_else(|| {
            CalibError::Usage(format!(
                "--band-kev {}: expected LOW:HIGH in keV with LOW < HIGH, e.g. 90:150",
                a.band_kev
            ))
        })?;
    let max_vertices = match a.max_vertices {
        Some(n) if (tables::saa::MIN_VERTICES..=tables::MAX_VERTICES).contains(&n) => n,
        Some(n) => {
            return Err(CalibError::Usage(format!(
                "--max-vertices {n}: expected {}..{} (closing vertex included)",
                tables::saa::MIN_VERTICES,
                tables::MAX_VERTICES
            )));
        }
        None => current.vertices.len().clamp(tables::saa::MIN_VERTICES, tables::MAX_VERTICES),
    };
    Ok((SaaOptions { k: a.k, max_vertices, ..SaaOptions::default() }, band))
}

/// Checks that a new SAA table validates and round-trips through the TOML form and the image;
/// returns its TOML.
///
/// # Errors
/// [`CalibError::Invalid`] naming the first problem.
pub fn saa_round_trip(t: &SaaTable) -> Result<String, CalibError> {
    let mut problems = Vec::new();
    t.validate(&mut |p| problems.push(p.to_string()));
    if let Some(p) = problems.first() {
        return Err(CalibError::Invalid(format!("the new SAA table does not validate: {p}")));
    }
    let mut set: TableSet = tables::defaults::default_set();
    set.saa = t.clone();
    let text = set.to_text(TableId::Saa);
    let back: SaaTable = tables::text::from_toml("saa.toml", &text)
        .map_err(|e| CalibError::Invalid(format!("the new SAA table does not read back: {e}")))?;
    let image = set
        .image(TableId::Saa)
        .map_err(|e| CalibError::Invalid(format!("the new SAA table has no image: {e:?}")))?;
    let again: SaaTable = tables::image::parse(&image)
        .map_err(|e| CalibError::Invalid(format!("the new SAA image does not load: {e:?}")))?;
    if back != *t || again != *t {
        return Err(CalibError::Invalid("the new SAA table does not round-trip".into()));
    }
    Ok(text)
}

/// Reads every input into rate samples of the particle band.
fn samples(
    a: &SaaArgs,
    set: &TableSet,
    band: (f64, f64),
) -> Result<(Vec<RateSample>, u64), CalibError> {
    let inputs = open_inputs(&a.events)?;
    if let Some(o) = inputs.iter().find(|o| o.orbit.is_empty()) {
        return Err(CalibError::Refused(format!(
            "{}: no orbit (no SVO-ORB-CNV_*.fits beside the events): the SAA contour needs the \
             spacecraft's position at every second; give the ICD §6 triplet directory (events \
             with their orbit file). `calib pixels` works without an orbit",
            o.path.display()
        )));
    }
    // Per pixel, the PHA range of the band under the current calibration.
    let range: Vec<(u16, u16)> = set
        .pixels
        .entries
        .iter()
        .map(|e| {
            let (g, o) = (f64::from(e.gain), f64::from(e.offset_kev));
            let lo = ((band.0 - o) / g).ceil().clamp(0.0, 1023.0) as u16;
            let hi = ((band.1 - o) / g).floor().clamp(0.0, 1022.0) as u16;
            (lo, hi)
        })
        .collect();
    let total: Option<u64> = inputs.iter().map(|i| i.input.len_hint()).sum();
    let progress = super::calib::progress_bar("calib saa", total, a.json);
    let mut out = Vec::new();
    let mut events = 0u64;
    for mut opened in inputs {
        let mut acc = RateAccumulator::new();
        while let Some(item) =
            opened.input.next_item().map_err(|e| CalibError::Invalid(e.to_string()))?
        {
            match item {
                Item::Orbit(o) => acc.orbit(o.tick, o.lon_deg, o.lat_deg),
                Item::Event(e) => {
                    events += 1;
                    let k = usize::from(e.y) * 80 + usize::from(e.z);
                    let in_band = range.get(k).is_some_and(|&(lo, hi)| e.pha >= lo && e.pha <= hi);
                    acc.event(e.tick, in_band);
                    if events.is_multiple_of(1 << 20) {
                        progress.set_position(events);
                    }
                }
                Item::Attitude(_) => {}
            }
        }
        out.extend(acc.finish());
    }
    progress.finish_and_clear();
    Ok((out, events))
}

fn summary(
    fit: &SaaFit,
    a: &SaaArgs,
    opts: &SaaOptions,
    band: (f64, f64),
    events: u64,
    elapsed_s: f64,
) -> serde_json::Value {
    json!({
        "inputs": a.events,
        "events": events,
        "band_kev": band,
        "k": opts.k,
        "max_vertices": opts.max_vertices,
        "samples": fit.samples,
        "quiet_cps": fit.quiet_cps,
        "threshold_cps": fit.threshold_cps,
        "inside_samples": fit.inside_samples,
        "misclassified": fit.misclassified,
        "lat_coverage_deg": fit.lat_coverage,
        "contour_vertices": fit.contour_vertices,
        "polygon": fit.polygon,
        "elapsed_s": elapsed_s,
    })
}

/// Runs `calib saa`.
///
/// # Errors
/// Bad options or missing files (exit 3), damaged inputs or tables (exit 2), inputs without an
/// orbit or without an SAA passage (exit 1); nothing is written then.
pub fn run(a: &SaaArgs) -> anyhow::Result<ExitCode> {
    go(a).map_err(exit_error)?;
    Ok(ExitCode::SUCCESS)
}

fn go(a: &SaaArgs) -> Result<(), CalibError> {
    let started = Instant::now();
    let set = load_tables(&a.tables)?;
    let (opts, band) = check_options(a, &set.saa)?;
    let (samples, events) = samples(a, &set, band)?;
    let fit = derive(&samples, &opts).map_err(|e| match e {
        SaaError::Invalid(_) => CalibError::Invalid(format!("calib saa: {e}")),
        _ => CalibError::Refused(format!("calib saa: {e}")),
    })?;
    let table = fit.table(&set.saa).map_err(|e| CalibError::Invalid(e.to_string()))?;
    let text = saa_round_trip(&table)?;
    let elapsed = started.elapsed().as_secs_f64();
    let sum = summary(&fit, a, &opts, band, events, elapsed);
    let inputs: Vec<String> = a.events.iter().map(|p| p.display().to_string()).collect();
    let html = crate::calib::gain_html::render_saa(&fit, &set.saa, &inputs, opts.k);
    let previous: Vec<(f32, f32)> =
        set.saa.vertices.iter().map(|v| (v.lon_deg, v.lat_deg)).collect();
    let report = json!({ "summary": sum, "previous_polygon": previous });
    crate::calib::write_products(
        &a.output,
        &[
            ("saa.toml", text.into_bytes()),
            ("report.json", serde_json::to_vec_pretty(&report).unwrap_or_default()),
            ("report.html", html.into_bytes()),
        ],
    )?;
    if a.json {
        println!("{sum}");
        return Ok(());
    }
    println!(
        "{events} events, {} orbit intervals; particle band {}–{} keV: quiet {:.1} counts/s, \
         inside above {:.1} ({} intervals, latitudes {:.1}° to {:.1}° crossed)",
        fit.samples,
        band.0,
        band.1,
        fit.quiet_cps,
        fit.threshold_cps,
        fit.inside_samples,
        fit.lat_coverage.0,
        fit.lat_coverage.1
    );
    println!(
        "  new contour: {} vertices (closing included; traced {}), {} intervals on the wrong side",
        fit.polygon.len(),
        fit.contour_vertices,
        fit.misclassified
    );
    println!(
        "wrote {}/{{saa.toml, report.html, report.json}} in {elapsed:.1} s",
        a.output.display()
    );
    Ok(())
}
