//! The reviewer's page: one self-contained HTML file (inline SVG drawn with plotters, inline
//! CSS, no script, no network) with the verdict, the checks, the efficiency curves, the
//! false-alert rates, the localisation scatter against the flight law, the latency, every
//! changed alert with its light curve and sky image, and the sweep's trade-off curve.
//!
//! Every plot is a `<figure class="plot" id="plot-...">` holding one `<svg>`; [`plot_ids`]
//! lists the IDs a report must contain, so a test can check them in a browser's DOM.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use plotters::prelude::*;
use serde::{Deserialize, Serialize};

use super::analysis::{Change, ChangeKind, Report};
use super::junit::xml_escape;
use super::target::{AlertDetail, r90_law_arcmin};

/// Most changed alerts drawn with a light curve and sky image (burst alerts first).
pub const MAX_DETAILED_CHANGES: usize = 20;

/// Light curves and sky images of changed alerts, by scenario ID then change order within the
/// scenario (`None` where the target gives none).
pub type Details = BTreeMap<String, Vec<Option<AlertDetail>>>;

/// One point of a sweep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    /// Parameter value.
    pub value: f64,
    /// The report of the candidate with this value against the baseline.
    pub report: Report,
}

type Res<T> = Result<T, String>;

fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("plot: {e:?}")
}

const BASE: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
const CAND: RGBColor = RGBColor(0xd6, 0x27, 0x28);
const LAW: RGBColor = RGBColor(0x2c, 0xa0, 0x2c);

/// Axis numbers without float noise (`0.3`, not `0.30000000000000004`).
fn num(v: &f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" { "0".into() } else { s.to_string() }
}

const LIGHT: RGBColor = RGBColor(0xee, 0xee, 0xee);

fn log_range(values: impl Iterator<Item = f64>, floor: f64) -> std::ops::Range<f64> {
    let (mut lo, mut hi) = (f64::MAX, f64::MIN);
    for v in values.filter(|v| v.is_finite() && *v > 0.0) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo > hi {
        return floor..floor * 100.0;
    }
    (lo / 1.5).max(floor)..(hi * 1.5).max(lo * 2.0)
}

fn lin_range(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (mut lo, mut hi) = (f64::MAX, f64::MIN);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo > hi {
        return 0.0..1.0;
    }
    let pad = ((hi - lo) * 0.08).max(1e-3);
    (lo - pad)..(hi + pad)
}

/// Efficiency versus peak flux, both sides.
fn plot_efficiency(r: &Report) -> Res<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, 380)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let x = log_range(r.efficiency.iter().map(|b| b.peak_flux), 1e-3);
        let mut chart = ChartBuilder::on(&root)
            .caption("Detection efficiency versus peak flux", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(x.log_scale(), 0f64..1.05f64)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("peak flux, ph/cm²/s (5–50 keV)")
            .x_label_formatter(&num)
            .light_line_style(LIGHT)
            .y_desc("efficiency")
            .draw()
            .map_err(err)?;
        for (label, color, pick) in [("baseline", BASE, 0usize), ("candidate", CAND, 1usize)] {
            let pts: Vec<(f64, f64)> = r
                .efficiency
                .iter()
                .map(|b| {
                    (
                        b.peak_flux,
                        if pick == 0 { b.baseline_efficiency } else { b.candidate_efficiency },
                    )
                })
                .collect();
            chart
                .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
                .map_err(err)?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
            chart
                .draw_series(pts.into_iter().map(|p| Circle::new(p, 3, color.filled())))
                .map_err(err)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// False alerts per hour per family, both sides, as paired bars.
fn plot_false_rate(r: &Report) -> Res<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, 380)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let n = r.families.len().max(1);
        let top = r
            .families
            .iter()
            .flat_map(|f| [f.baseline.false_rate_per_hour, f.candidate.false_rate_per_hour])
            .fold(0.0f64, f64::max)
            .max(0.1)
            * 1.2;
        let names: Vec<String> = r.families.iter().map(|f| f.family.clone()).collect();
        let mut chart = ChartBuilder::on(&root)
            .caption("False alerts per hour, per family", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d((0..n - 1).into_segmented(), 0f64..top)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_labels(n)
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => {
                    names.get(*i).cloned().unwrap_or_default()
                }
                SegmentValue::Last => String::new(),
            })
            .disable_x_mesh()
            .light_line_style(LIGHT)
            .y_desc("false alerts / h")
            .draw()
            .map_err(err)?;
        for (k, (label, color)) in [("baseline", BASE), ("candidate", CAND)].into_iter().enumerate()
        {
            let bars: Vec<_> = r
                .families
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    let v = if k == 0 {
                        f.baseline.false_rate_per_hour
                    } else {
                        f.candidate.false_rate_per_hour
                    };
                    let mut bar = Rectangle::new(
                        [(SegmentValue::Exact(i), 0.0), (SegmentValue::Exact(i + 1), v)],
                        color.filled(),
                    );
                    // Side by side in the family's segment (about 560 px over n segments).
                    let half = (560 / n as u32) / 2;
                    let (l, rgt) = if k == 0 { (8, half + 1) } else { (half + 1, 8) };
                    bar.set_margin(0, 0, l, rgt);
                    bar
                })
                .collect();
            chart.draw_series(bars).map_err(err)?.label(label).legend(move |(x, y)| {
                Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
            });
        }
        chart
            .configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// Localisation error versus SNR, both sides, with the flight law.
fn plot_localisation(r: &Report) -> Res<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let x = log_range(r.localisations.iter().map(|l| l.snr).chain([6.0, 30.0]), 1.0);
        let y = log_range(
            r.localisations.iter().map(|l| l.error_arcmin.max(0.1)).chain([r90_law_arcmin(x.end)]),
            0.05,
        );
        let mut chart = ChartBuilder::on(&root)
            .caption("Localisation error versus SNR (flight law r90)", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(55)
            .build_cartesian_2d(x.clone().log_scale(), y.log_scale())
            .map_err(err)?;
        chart.configure_mesh().x_desc("image SNR").y_desc("error, arcmin").draw().map_err(err)?;
        let law: Vec<(f64, f64)> = (0..=60)
            .map(|i| {
                let s = x.start * (x.end / x.start).powf(f64::from(i) / 60.0);
                (s, r90_law_arcmin(s))
            })
            .collect();
        chart
            .draw_series(LineSeries::new(law, LAW.stroke_width(2)))
            .map_err(err)?
            .label("r90 = √((77′/SNR)² + (2′)²)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], LAW));
        for (label, color) in [("baseline", BASE), ("candidate", CAND)] {
            let pts: Vec<(f64, f64)> = r
                .localisations
                .iter()
                .filter(|l| l.side == label)
                .map(|l| (l.snr, l.error_arcmin.max(0.1)))
                .collect();
            let filled = label == "baseline";
            chart
                .draw_series(pts.into_iter().map(move |p| {
                    if filled {
                        Circle::new(p, 3, color.filled())
                    } else {
                        Circle::new(p, 4, color.stroke_width(1))
                    }
                }))
                .map_err(err)?
                .label(label)
                .legend(move |(x, y)| Circle::new((x + 10, y), 3, color.filled()));
        }
        chart
            .configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// Time from onset to the first matching alert versus SNR.
fn plot_latency(r: &Report) -> Res<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, 380)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let x = log_range(r.localisations.iter().map(|l| l.snr).chain([6.0, 30.0]), 1.0);
        let y = lin_range(r.localisations.iter().map(|l| l.latency_s).chain([0.0]));
        let mut chart = ChartBuilder::on(&root)
            .caption("Time from burst onset to first alert", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(55)
            .build_cartesian_2d(x.log_scale(), y)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("image SNR")
            .y_desc("latency, s")
            .x_label_formatter(&num)
            .light_line_style(LIGHT)
            .draw()
            .map_err(err)?;
        for (label, color) in [("baseline", BASE), ("candidate", CAND)] {
            let pts: Vec<(f64, f64)> = r
                .localisations
                .iter()
                .filter(|l| l.side == label)
                .map(|l| (l.snr, l.latency_s))
                .collect();
            chart
                .draw_series(pts.into_iter().map(move |p| Circle::new(p, 3, color.filled())))
                .map_err(err)?
                .label(label)
                .legend(move |(x, y)| Circle::new((x + 10, y), 3, color.filled()));
        }
        chart
            .configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .draw()
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// The light curve around a changed alert, the alert's time marked.
fn plot_light_curve(d: &AlertDetail, alert_time: f64, title: &str) -> Res<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (460, 260)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let end = d.start_s + d.bin_s * d.counts.len() as f64;
        let top = d.counts.iter().copied().fold(1.0f64, f64::max) * 1.1;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 14))
            .margin(8)
            .x_label_area_size(30)
            .y_label_area_size(50)
            .build_cartesian_2d(d.start_s..end.max(d.start_s + 1e-3), 0f64..top)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("time, s")
            .y_desc(format!("counts / {:.2} s", d.bin_s))
            .draw()
            .map_err(err)?;
        let steps: Vec<(f64, f64)> = d
            .counts
            .iter()
            .enumerate()
            .flat_map(|(i, &c)| {
                let t = d.start_s + i as f64 * d.bin_s;
                [(t, c), (t + d.bin_s, c)]
            })
            .collect();
        chart.draw_series(LineSeries::new(steps, BLACK)).map_err(err)?;
        chart
            .draw_series(LineSeries::new(
                vec![(alert_time, 0.0), (alert_time, top)],
                CAND.stroke_width(2),
            ))
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// The sky SNR image around a changed alert, the alert's position marked.
fn plot_sky(d: &AlertDetail, pos: (f64, f64), title: &str) -> Res<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (300, 300)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let h = d.sky_half_deg.max(1.0);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 14))
            .margin(8)
            .x_label_area_size(30)
            .y_label_area_size(35)
            .build_cartesian_2d(-h..h, -h..h)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("z, deg")
            .y_desc("y, deg")
            .draw()
            .map_err(err)?;
        let n = d.sky_side.max(1);
        let pix = 2.0 * h / n as f64;
        let max = d.sky_snr.iter().copied().fold(1.0f64, f64::max);
        chart
            .draw_series(d.sky_snr.iter().enumerate().map(|(k, &v)| {
                let (row, col) = (k / n, k % n);
                let (y0, z0) = (-h + row as f64 * pix, -h + col as f64 * pix);
                let t = ((v + 3.0) / (max + 3.0)).clamp(0.0, 1.0);
                let c = RGBColor(
                    (255.0 * t) as u8,
                    (255.0 * t * t) as u8,
                    (80.0 + 120.0 * (1.0 - t)) as u8,
                );
                Rectangle::new([(z0, y0), (z0 + pix, y0 + pix)], c.filled())
            }))
            .map_err(err)?;
        chart.draw_series([Circle::new((pos.1, pos.0), 6, WHITE.stroke_width(2))]).map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// The sweep's trade-off: candidate efficiency against false alerts per hour, one point per
/// value.
fn plot_tradeoff(param: &str, points: &[SweepPoint]) -> Res<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let pts: Vec<(f64, f64, f64)> = points
            .iter()
            .map(|p| {
                let c = &p.report.overall.candidate;
                (c.false_rate_per_hour, c.efficiency, p.value)
            })
            .collect();
        let x = lin_range(pts.iter().map(|p| p.0).chain([0.0]));
        let y = lin_range(pts.iter().map(|p| p.1));
        let mut chart = ChartBuilder::on(&root)
            .caption(format!("Trade-off over {param}"), ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(55)
            .build_cartesian_2d(x, y)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("false alerts per hour")
            .y_desc("detection efficiency")
            .draw()
            .map_err(err)?;
        chart
            .draw_series(LineSeries::new(pts.iter().map(|p| (p.0, p.1)), CAND.stroke_width(2)))
            .map_err(err)?;
        chart
            .draw_series(pts.iter().map(|p| {
                EmptyElement::at((p.0, p.1))
                    + Circle::new((0, 0), 4, CAND.filled())
                    + Text::new(format!("{}", p.2), (6, -12), ("sans-serif", 12))
            }))
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// Changes drawn in detail, in order: burst alerts first, then by scenario; at most
/// [`MAX_DETAILED_CHANGES`]. Returns (index in `report.changes`, ordinal within its scenario).
pub fn detailed_changes(r: &Report) -> Vec<(usize, usize)> {
    let mut ordinal = BTreeMap::<&str, usize>::new();
    let mut all: Vec<(bool, usize, usize)> = r
        .changes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let o = ordinal.entry(c.scenario.as_str()).or_default();
            let k = *o;
            *o += 1;
            (!c.burst, i, k)
        })
        .collect();
    all.sort();
    all.into_iter().take(MAX_DETAILED_CHANGES).map(|(_, i, k)| (i, k)).collect()
}

/// The IDs of every plot [`render`] draws for `r` (and the trade-off plot for a sweep).
pub fn plot_ids(r: &Report, details: &Details, sweep: bool) -> Vec<String> {
    let mut ids: Vec<String> =
        ["plot-efficiency", "plot-false-rate", "plot-localisation", "plot-latency"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    if sweep {
        ids.insert(0, "plot-tradeoff".into());
    }
    for (i, k) in detailed_changes(r) {
        let has = r
            .changes
            .get(i)
            .and_then(|c| details.get(&c.scenario))
            .and_then(|v| v.get(k))
            .is_some_and(Option::is_some);
        if has {
            ids.push(format!("plot-change-{i}-lc"));
            ids.push(format!("plot-change-{i}-sky"));
        }
    }
    ids
}

fn figure(out: &mut String, id: &str, svg: &str) {
    let _ = writeln!(out, "<figure class=\"plot\" id=\"{id}\">{svg}</figure>");
}

fn fmt_alert(a: Option<&super::target::Alert>) -> String {
    a.map_or_else(
        || "—".into(),
        |a| {
            format!(
                "{} t={:.2}s {}ms SNR {:.2} (y {:.2}°, z {:.2}°) r90 {:.1}′{}",
                a.trigger,
                a.time_s,
                a.timescale_ms,
                a.snr,
                a.y_deg,
                a.z_deg,
                a.r90_arcmin,
                a.catalog_id.map(|c| format!(" cat {c}")).unwrap_or_default()
            )
        },
    )
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em;max-width:1300px;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:3px 8px;\
font-size:13px;text-align:left}th{background:#eee}.fail{color:#b00;font-weight:bold}\
.ok{color:#080}.plots{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0}\
.verdict{font-size:22px;padding:8px;border:2px solid}";

fn body(out: &mut String, r: &Report, details: &Details) -> Res<()> {
    let v = &r.verdict;
    let (cls, word) = if v.regression { ("fail", "REGRESSION") } else { ("ok", "no regression") };
    let _ = writeln!(out, "<p class=\"verdict {cls}\">Verdict: {word}</p>");
    let _ = writeln!(
        out,
        "<p>Target: <b>{}</b>. Baseline <code>{}</code> ({}), candidate <code>{}</code> ({}). \
         {} scenarios, {} alert changes.</p>",
        xml_escape(&r.target),
        xml_escape(&r.baseline.dir.clone().unwrap_or_default()),
        r.baseline.digest,
        xml_escape(&r.candidate.dir.clone().unwrap_or_default()),
        r.candidate.digest,
        r.overall.scenarios,
        r.changes.len()
    );
    out.push_str(
        "<h2>Checks</h2><table><tr><th>check</th><th>baseline</th><th>candidate</th>\
                  <th>degradation</th><th>limit</th><th></th></tr>\n",
    );
    for c in &v.checks {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{:.4}</td><td>{:.4}</td><td>{:+.4}</td><td>{:.4}</td>\
             <td class=\"{}\">{}</td></tr>",
            xml_escape(&c.name),
            c.baseline,
            c.candidate,
            c.degradation,
            c.limit,
            if c.passed { "ok" } else { "fail" },
            if c.passed { "ok" } else { "FAIL" }
        );
    }
    out.push_str("</table>\n");
    for e in &v.errors {
        let _ = writeln!(out, "<p class=\"fail\">error: {}</p>", xml_escape(e));
    }
    for (title, list) in [("Lost bursts", &v.lost_bursts), ("Gained bursts", &v.gained_bursts)] {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(out, "<h2>{title} ({})</h2><ul>", list.len());
        for b in list {
            let _ = writeln!(
                out,
                "<li><code>{}</code> (y {}°, z {}°, onset {} s, {} ph/cm²/s)</li>",
                xml_escape(&b.scenario),
                b.burst.y_deg,
                b.burst.z_deg,
                b.burst.onset_s,
                b.burst.peak_flux
            );
        }
        out.push_str("</ul>\n");
    }
    out.push_str("<h2>Plots</h2><div class=\"plots\">\n");
    figure(out, "plot-efficiency", &plot_efficiency(r)?);
    figure(out, "plot-false-rate", &plot_false_rate(r)?);
    figure(out, "plot-localisation", &plot_localisation(r)?);
    figure(out, "plot-latency", &plot_latency(r)?);
    out.push_str(
        "</div>\n<h2>Families</h2><table><tr><th>family</th><th>scenarios</th>\
                  <th>efficiency</th><th>false alerts / h</th><th>catalogue alerts</th>\
                  <th>outside r90</th><th>median latency, s</th></tr>\n",
    );
    for f in r.families.iter().chain([&r.overall]) {
        let lat = |x: Option<f64>| x.map_or("—".into(), |v| format!("{v:.1}"));
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{:.3} → {:.3}</td><td>{:.3} → {:.3}</td><td>{} → {}</td>\
             <td>{:.3} → {:.3}</td><td>{} → {}</td></tr>",
            xml_escape(&f.family),
            f.scenarios,
            f.baseline.efficiency,
            f.candidate.efficiency,
            f.baseline.false_rate_per_hour,
            f.candidate.false_rate_per_hour,
            f.baseline.catalog_alerts,
            f.candidate.catalog_alerts,
            f.baseline.outside_r90,
            f.candidate.outside_r90,
            lat(f.baseline.median_latency_s),
            lat(f.candidate.median_latency_s)
        );
    }
    out.push_str("</table>\n");
    let _ = writeln!(out, "<h2>Changed alerts ({})</h2>", r.changes.len());
    out.push_str(
        "<table><tr><th>#</th><th>scenario</th><th>what</th><th>burst</th>\
                  <th>baseline</th><th>candidate</th></tr>\n",
    );
    for (i, c) in r.changes.iter().enumerate() {
        let kind = match c.kind {
            ChangeKind::Appeared => "appeared",
            ChangeKind::Disappeared => "disappeared",
            ChangeKind::Changed => "changed",
        };
        let _ = writeln!(
            out,
            "<tr><td><a href=\"#change-{i}\">{i}</a></td><td><code>{}</code></td><td>{kind}</td>\
             <td>{}</td><td>{}</td><td>{}</td></tr>",
            xml_escape(&c.scenario),
            if c.burst { "yes" } else { "no" },
            xml_escape(&fmt_alert(c.baseline.as_ref())),
            xml_escape(&fmt_alert(c.candidate.as_ref()))
        );
    }
    out.push_str("</table>\n");
    for (i, k) in detailed_changes(r) {
        let Some(c) = r.changes.get(i) else { continue };
        let Some(Some(d)) = details.get(&c.scenario).and_then(|v| v.get(k)) else { continue };
        let a = alert_of(c);
        let Some(a) = a else { continue };
        let _ = writeln!(
            out,
            "<h3 id=\"change-{i}\">Change {i}: <code>{}</code></h3><div class=\"plots\">",
            xml_escape(&c.scenario)
        );
        figure(out, &format!("plot-change-{i}-lc"), &plot_light_curve(d, a.time_s, "light curve")?);
        figure(
            out,
            &format!("plot-change-{i}-sky"),
            &plot_sky(d, (a.y_deg, a.z_deg), "sky SNR image")?,
        );
        out.push_str("</div>\n");
    }
    Ok(())
}

/// The alert a change is about (the candidate's when both exist).
pub fn alert_of(c: &Change) -> Option<&super::target::Alert> {
    c.candidate.as_ref().or(c.baseline.as_ref())
}

fn page(title: &str, content: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n{content}</body></html>\n",
        xml_escape(title)
    )
}

/// The page of one campaign.
///
/// # Errors
/// A plot failed to draw.
pub fn render(r: &Report, details: &Details) -> Res<String> {
    let mut out = String::new();
    let _ = writeln!(out, "<h1>Regression campaign: {}</h1>", xml_escape(&r.suite));
    body(&mut out, r, details)?;
    Ok(page(&format!("eic-bench regress: {}", r.suite), &out))
}

/// The page of a sweep: the trade-off curve and table, then the campaign of every point.
///
/// # Errors
/// A plot failed to draw.
pub fn render_sweep(param: &str, points: &[SweepPoint], details: &[Details]) -> Res<String> {
    let mut out = String::new();
    let suite = points.first().map(|p| p.report.suite.clone()).unwrap_or_default();
    let _ = writeln!(
        out,
        "<h1>Sweep of <code>{}</code>: {}</h1>",
        xml_escape(param),
        xml_escape(&suite)
    );
    out.push_str("<div class=\"plots\">\n");
    figure(&mut out, "plot-tradeoff", &plot_tradeoff(param, points)?);
    out.push_str(
        "</div><table><tr><th>value</th><th>efficiency</th><th>false alerts / h</th>\
                  <th>outside r90</th><th>lost bursts</th><th>verdict</th></tr>\n",
    );
    for p in points {
        let c = &p.report.overall.candidate;
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{:.3}</td><td>{:.3}</td><td>{:.3}</td><td>{}</td><td class=\"{}\">{}</td></tr>",
            p.value,
            c.efficiency,
            c.false_rate_per_hour,
            c.outside_r90,
            p.report.verdict.lost_bursts.len(),
            if p.report.verdict.regression { "fail" } else { "ok" },
            if p.report.verdict.regression { "REGRESSION" } else { "ok" }
        );
    }
    out.push_str("</table>\n");
    // The point closest to the baseline's behaviour is drawn in full: the first non-regressing
    // one, else the first.
    let shown = points.iter().position(|p| !p.report.verdict.regression).unwrap_or(0);
    if let Some(p) = points.get(shown) {
        let _ = writeln!(out, "<h2>Campaign at {} = {}</h2>", xml_escape(param), p.value);
        let empty = Details::new();
        body(&mut out, &p.report, details.get(shown).unwrap_or(&empty))?;
    }
    Ok(page(&format!("eic-bench regress sweep: {suite}"), &out))
}
