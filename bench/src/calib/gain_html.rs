//! Offline HTML reports of `calib gain` and `calib saa`: one self-contained page each (inline
//! SVG, inline CSS, no script, no network), in the style of the regression report.
//!
//! Line plots are drawn with plotters; detector and rate maps are written as compact SVG
//! rectangles directly (one `<rect>` per pixel or cell).

use std::fmt::Write as _;

use plotters::prelude::*;
use tables::pixels::{PLANE_SIDE, PixelTable};
use tables::saa::SaaTable;

use super::gain::{GainCalibration, Outcome, PixelResult};
use super::saa::SaaFit;
use crate::regress::junit::xml_escape;

/// Pixels whose spectrum and fit the gain report draws.
pub const SAMPLE_PIXELS: usize = 8;

type Res<T> = Result<T, String>;

fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("plot: {e:?}")
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em;max-width:1300px;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:3px 8px;\
font-size:13px;text-align:left}th{background:#eee}.plots{display:flex;flex-wrap:wrap;gap:12px}\
figure{margin:0}figcaption{font-size:13px;text-align:center}";

/// The page around a body.
pub fn page(title: &str, content: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n{content}</body></html>\n",
        xml_escape(title)
    )
}

fn figure(out: &mut String, id: &str, svg: &str, caption: &str) {
    let _ = writeln!(
        out,
        "<figure class=\"plot\" id=\"{id}\">{svg}<figcaption>{}</figcaption></figure>",
        xml_escape(caption)
    );
}

/// Blue (low) → white (mid) → red (high) for `t` in 0..1.
fn diverging(t: f64) -> (u8, u8, u8) {
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.5 };
    if t < 0.5 {
        let f = t / 0.5;
        ((40.0 + 215.0 * f) as u8, (90.0 + 165.0 * f) as u8, 255)
    } else {
        let f = (t - 0.5) / 0.5;
        (255, (255.0 - 190.0 * f) as u8, (255.0 - 215.0 * f) as u8)
    }
}

/// An 80 × 80 detector map (Y up, Z right): values mapped linearly from `range` onto the
/// diverging scale; `None` grey.
fn detector_map(values: &[Option<f64>], range: (f64, f64), unit: &str) -> String {
    let (cell, pad) = (4usize, 40usize);
    let side = PLANE_SIDE * cell;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" \
         shape-rendering=\"crispEdges\">",
        side + 2 * pad + 60,
        side + 2 * pad
    );
    for (d, v) in values.iter().enumerate().take(PLANE_SIDE * PLANE_SIDE) {
        let (y, z) = (d / PLANE_SIDE, d % PLANE_SIDE);
        let (r, g, b) = match v {
            Some(v) => diverging((v - range.0) / (range.1 - range.0)),
            None => (150, 150, 150),
        };
        let _ = write!(
            s,
            "<rect x=\"{}\" y=\"{}\" width=\"{cell}\" height=\"{cell}\" fill=\"#{r:02x}{g:02x}{b:02x}\"/>",
            pad + z * cell,
            pad + (PLANE_SIDE - 1 - y) * cell
        );
    }
    let _ = write!(
        s,
        "<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">Z →</text>\
         <text x=\"12\" y=\"{}\" font-size=\"12\">Y ↑</text>",
        pad + side / 2,
        side + pad + 25,
        pad + side / 2
    );
    // Colour bar.
    let x = side + pad + 15;
    for i in 0..50 {
        let (r, g, b) = diverging(1.0 - i as f64 / 49.0);
        let _ = write!(
            s,
            "<rect x=\"{x}\" y=\"{}\" width=\"12\" height=\"{}\" fill=\"#{r:02x}{g:02x}{b:02x}\"/>",
            pad + i * side / 50,
            side / 50 + 1
        );
    }
    let _ = write!(
        s,
        "<text x=\"{x}\" y=\"{}\" font-size=\"11\">{:.4} {unit}</text>\
         <text x=\"{x}\" y=\"{}\" font-size=\"11\">{:.4}</text></svg>",
        pad - 6,
        range.1,
        side + pad + 14,
        range.0
    );
    s
}

/// A symmetric range around `centre` covering the 1st–99th percentiles.
fn robust_range(values: &[Option<f64>], centre: Option<f64>) -> (f64, f64) {
    let mut v: Vec<f64> = values.iter().flatten().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return (0.0, 1.0);
    }
    v.sort_by(f64::total_cmp);
    let q = |p: f64| v.get(((v.len() - 1) as f64 * p) as usize).copied().unwrap_or(0.0);
    let (lo, hi) = (q(0.01), q(0.99));
    match centre {
        Some(c) => {
            let h = (c - lo).abs().max((hi - c).abs()).max(1e-6);
            (c - h, c + h)
        }
        None if hi > lo => (lo, hi),
        None => (lo - 1e-6, hi + 1e-6),
    }
}

/// The stacked spectrum with the lines marked.
fn plot_stack(cal: &GainCalibration) -> Res<String> {
    let t = &cal.template;
    let pts: Vec<(f64, f64)> = t
        .density
        .iter()
        .enumerate()
        .map(|(i, &d)| (t.e0_kev + i as f64 * t.step_kev, d))
        .filter(|&(e, d)| (4.0..=160.0).contains(&e) && d > 0.0)
        .collect();
    let top = pts.iter().map(|p| p.1).fold(0.0, f64::max);
    let pts: Vec<(f64, f64)> = pts.into_iter().filter(|p| p.1 >= top * 1e-4).collect();
    let (lo, hi) = pts.iter().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
    let (lo, hi) = if lo < hi { ((lo / 1.5).max(hi * 1e-4), hi * 1.5) } else { (1.0, 10.0) };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, 360)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("Stacked spectrum, all calibrated pixels", ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(60)
            .build_cartesian_2d(4f64..160f64, (lo..hi).log_scale())
            .map_err(err)?;
        chart.configure_mesh().x_desc("energy, keV").y_desc("counts / keV").draw().map_err(err)?;
        chart.draw_series(LineSeries::new(pts, BLUE.stroke_width(1))).map_err(err)?;
        for a in &cal.anchors {
            let e = a.line.energy_kev;
            chart
                .draw_series(LineSeries::new(vec![(e, lo), (e, hi)], RED.stroke_width(1)))
                .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// One pixel's histogram (in energy with the new calibration) and the fitted model.
fn plot_pixel(cal: &GainCalibration, hist: &[u32], p: &PixelResult) -> Res<String> {
    let (lo, hi) = (usize::from(p.window.0), usize::from(p.window.1));
    let (g, o) = match p.fit() {
        Some(f) => (f.gain, f.offset_kev),
        None => (p.previous_gain, p.previous_offset_kev),
    };
    let data: Vec<(f64, f64)> = (lo..=hi)
        .map(|k| (g * k as f64 + o, f64::from(hist.get(k).copied().unwrap_or(0))))
        .collect();
    let model: Vec<(f64, f64)> = match p.fit() {
        Some(f) => {
            (lo..=hi).map(|k| (g * k as f64 + o, f.expected(&cal.template, k, lo, hi))).collect()
        }
        None => Vec::new(),
    };
    let ymax = data.iter().chain(&model).map(|p| p.1).fold(1.0, f64::max) * 1.1;
    let (x0, x1) = (g * lo as f64 + o, g * hi as f64 + o);
    let title = match p.fit() {
        Some(f) => format!(
            "DETNUM {}: gain {:.5}±{:.5}, offset {:.3}±{:.3} keV",
            p.detnum, f.gain, f.gain_err, f.offset_kev, f.offset_err_kev
        ),
        None => format!("DETNUM {}: kept", p.detnum),
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (420, 280)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 13))
            .margin(8)
            .x_label_area_size(30)
            .y_label_area_size(45)
            .build_cartesian_2d(x0..x1, 0f64..ymax)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc("energy, keV (new calibration)")
            .y_desc("counts / channel")
            .draw()
            .map_err(err)?;
        chart
            .draw_series(
                data.into_iter().map(|p| Circle::new(p, 1, RGBColor(0x44, 0x44, 0x44).filled())),
            )
            .map_err(err)?;
        if !model.is_empty() {
            chart.draw_series(LineSeries::new(model, RED.stroke_width(2))).map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// DETNUMs whose spectra are drawn: evenly spread over the calibrated pixels, plus the one
/// whose gain moved most.
pub fn sample_pixels(cal: &GainCalibration) -> Vec<u16> {
    let fitted: Vec<&PixelResult> = cal.pixels.iter().filter(|p| p.fit().is_some()).collect();
    let mut out: Vec<u16> = Vec::new();
    if let Some(most) = fitted.iter().max_by(|a, b| {
        let da = a.fit().map_or(0.0, |f| (f.gain / a.previous_gain - 1.0).abs());
        let db = b.fit().map_or(0.0, |f| (f.gain / b.previous_gain - 1.0).abs());
        da.total_cmp(&db)
    }) {
        out.push(most.detnum);
    }
    let n = SAMPLE_PIXELS.saturating_sub(1).max(1);
    for i in 0..n {
        if let Some(p) = fitted.get(i * fitted.len() / n)
            && !out.contains(&p.detnum)
        {
            out.push(p.detnum);
        }
    }
    out
}

/// The gain report page. `hist` gives a pixel's histogram (for the sample spectra).
///
/// # Errors
/// A plot failed to draw.
pub fn render_gain<'a>(
    cal: &GainCalibration,
    previous: &PixelTable,
    inputs: &[String],
    events: u64,
    hist: impl Fn(u16) -> &'a [u32],
) -> Res<String> {
    let mut out = String::new();
    let _ = writeln!(out, "<h1>Pixel gain and offset calibration</h1>");
    let kept: Vec<&PixelResult> = cal.pixels.iter().filter(|p| p.fit().is_none()).collect();
    let _ = writeln!(
        out,
        "<p>{} events from {}. <b>{}</b> pixels calibrated, <b>{}</b> kept their previous \
         values (listed below). Method: stacked-and-scaled template fit, anchored on the \
         background lines (docs/calib.md). Previous table version {}.</p>",
        events,
        inputs
            .iter()
            .map(|s| format!("<code>{}</code>", xml_escape(s)))
            .collect::<Vec<_>>()
            .join(", "),
        cal.calibrated(),
        kept.len(),
        previous.version
    );
    let fitted: Vec<_> = cal.pixels.iter().filter_map(|p| p.fit().map(|f| (p, f))).collect();
    if !fitted.is_empty() {
        let n = fitted.len() as f64;
        let rms_dg =
            (fitted.iter().map(|(p, f)| (f.gain / p.previous_gain - 1.0).powi(2)).sum::<f64>() / n)
                .sqrt();
        let rms_do = (fitted
            .iter()
            .map(|(p, f)| (f.offset_kev - p.previous_offset_kev).powi(2))
            .sum::<f64>()
            / n)
            .sqrt();
        let mut ge: Vec<f64> = fitted.iter().map(|(_, f)| f.gain_err / f.gain).collect();
        let mut oe: Vec<f64> = fitted.iter().map(|(_, f)| f.offset_err_kev).collect();
        ge.sort_by(f64::total_cmp);
        oe.sort_by(f64::total_cmp);
        let med = |v: &[f64]| v.get(v.len() / 2).copied().unwrap_or(0.0);
        let _ = writeln!(
            out,
            "<table><tr><th>change against the previous table (rms)</th><td>gain {:.3} %, offset {:.3} keV</td></tr>\
             <tr><th>median uncertainty (1σ)</th><td>gain {:.3} %, offset {:.3} keV</td></tr>\
             <tr><th>anchoring of the last round</th><td>E = {:.5} · E<sub>stack</sub> + {:.4} keV</td></tr></table>",
            100.0 * rms_dg,
            rms_do,
            100.0 * med(&ge),
            med(&oe),
            cal.anchor_map.0,
            cal.anchor_map.1
        );
    }
    out.push_str("<h2>Lines</h2><table><tr><th>line</th><th>energy, keV</th><th>found in the stack, keV</th><th>significance, σ</th></tr>\n");
    for a in &cal.anchors {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{:.2}</td><td>{}</td><td>{:.0}</td></tr>",
            xml_escape(&a.line.name),
            a.line.energy_kev,
            a.found_kev.map_or("not found".into(), |e| format!("{e:.3}")),
            a.significance
        );
    }
    out.push_str("</table>\n<div class=\"plots\">\n");
    figure(&mut out, "plot-stack", &plot_stack(cal)?, "the stacked spectrum and the lines (red)");
    out.push_str("</div>\n<h2>Maps</h2><div class=\"plots\">\n");
    let gain: Vec<Option<f64>> = cal.pixels.iter().map(|p| p.fit().map(|f| f.gain)).collect();
    let offset: Vec<Option<f64>> =
        cal.pixels.iter().map(|p| p.fit().map(|f| f.offset_kev)).collect();
    let dgain: Vec<Option<f64>> = cal
        .pixels
        .iter()
        .map(|p| p.fit().map(|f| 100.0 * (f.gain / p.previous_gain - 1.0)))
        .collect();
    let doff: Vec<Option<f64>> =
        cal.pixels.iter().map(|p| p.fit().map(|f| f.offset_kev - p.previous_offset_kev)).collect();
    figure(
        &mut out,
        "map-gain",
        &detector_map(&gain, robust_range(&gain, None), "keV/ch"),
        "gain (grey: kept)",
    );
    figure(
        &mut out,
        "map-offset",
        &detector_map(&offset, robust_range(&offset, None), "keV"),
        "offset",
    );
    figure(
        &mut out,
        "map-gain-residual",
        &detector_map(&dgain, robust_range(&dgain, Some(0.0)), "%"),
        "gain: new / previous − 1",
    );
    figure(
        &mut out,
        "map-offset-residual",
        &detector_map(&doff, robust_range(&doff, Some(0.0)), "keV"),
        "offset: new − previous",
    );
    out.push_str("</div>\n<h2>Spectra and fits of a sample of pixels</h2><div class=\"plots\">\n");
    for d in sample_pixels(cal) {
        if let Some(p) = cal.pixels.get(usize::from(d)) {
            figure(
                &mut out,
                &format!("spectrum-{d}"),
                &plot_pixel(cal, hist(d), p)?,
                "data (dots), fit (red)",
            );
        }
    }
    out.push_str("</div>\n<h2>Pixels that kept their previous values</h2>\n");
    if kept.is_empty() {
        out.push_str("<p>None.</p>\n");
    } else {
        out.push_str(
            "<table><tr><th>DETNUM</th><th>Y</th><th>Z</th><th>counts</th><th>reason</th></tr>\n",
        );
        for p in kept.iter().take(500) {
            if let Outcome::Kept { reason } = &p.outcome {
                let _ = writeln!(
                    out,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    p.detnum,
                    tables::pixels::y_of(p.detnum),
                    tables::pixels::z_of(p.detnum),
                    p.counts,
                    xml_escape(reason)
                );
            }
        }
        out.push_str("</table>\n");
        if kept.len() > 500 {
            let _ =
                writeln!(out, "<p>… and {} more (all in the JSON report).</p>", kept.len() - 500);
        }
    }
    Ok(page("eic-bench calib gain", &out))
}

/// The SAA map: the rate (relative to the quiet level, log scale) on 2° cells, the previous
/// contour (blue) and the new one (red).
fn saa_map(fit: &SaaFit, old: &SaaTable) -> String {
    let m = &fit.map;
    let agg = ((2.0 / m.cell_deg).round() as usize).max(1);
    let (lon0, lon1, lat0, lat1) = (-180.0, 180.0, -60.0, 60.0);
    let scale = 3.0; // pixels per degree
    let pad = 40.0;
    let (w, h) = ((lon1 - lon0) * scale, (lat1 - lat0) * scale);
    let x = |lon: f64| pad + (lon - lon0) * scale;
    let y = |lat: f64| pad + (lat1 - lat) * scale;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" shape-rendering=\"crispEdges\">\
         <rect x=\"{pad}\" y=\"{pad}\" width=\"{w}\" height=\"{h}\" fill=\"#ddd\"/>",
        w + 2.0 * pad,
        h + 2.0 * pad + 20.0
    );
    let quiet = fit.quiet_cps.max(1e-9);
    for r in (0..m.rows).step_by(agg) {
        for c in (0..m.cols).step_by(agg) {
            let (mut n, mut k) = (0.0, 0usize);
            for rr in r..(r + agg).min(m.rows) {
                for cc in c..(c + agg).min(m.cols) {
                    if let Some(Some(v)) = m.rate_cps.get(rr * m.cols + cc) {
                        n += v;
                        k += 1;
                    }
                }
            }
            if k == 0 {
                continue;
            }
            let lat = -90.0 + r as f64 * m.cell_deg;
            let lon = -180.0 + c as f64 * m.cell_deg;
            let span = agg as f64 * m.cell_deg;
            if lat + span <= lat0 || lat >= lat1 {
                continue;
            }
            // log10(rate / quiet) from −0.3 to 1.3 onto the scale.
            let t = ((n / k as f64 / quiet).max(1e-3).log10() + 0.3) / 1.6;
            let (rr, gg, bb) = diverging(t);
            let _ = write!(
                s,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#{rr:02x}{gg:02x}{bb:02x}\"/>",
                x(lon),
                y(lat + span),
                span * scale,
                span * scale
            );
        }
    }
    let path = |pts: &[(f64, f64)], colour: &str, dash: &str| {
        let d: Vec<String> =
            pts.iter().map(|&(lon, lat)| format!("{:.1},{:.1}", x(lon), y(lat))).collect();
        format!(
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" {dash}/>",
            d.join(" ")
        )
    };
    let old_pts: Vec<(f64, f64)> =
        old.vertices.iter().map(|v| (f64::from(v.lon_deg), f64::from(v.lat_deg))).collect();
    s.push_str(&path(&old_pts, "#1f77b4", "stroke-dasharray=\"6,3\""));
    s.push_str(&path(&fit.polygon, "#d62728", ""));
    for lon in (-180..=180).step_by(60) {
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\">{lon}°</text>",
            x(f64::from(lon)),
            pad + h + 14.0
        );
    }
    for lat in (-60..=60).step_by(30) {
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\">{lat}°</text>",
            pad - 4.0,
            y(f64::from(lat)) + 4.0
        );
    }
    let _ = write!(
        s,
        "<text x=\"{pad}\" y=\"{:.1}\" font-size=\"12\">rate / quiet level, log scale: blue 0.5, white 1–3, red ≥ 20; \
         grey: not crossed. Dashed blue: previous contour; red: new contour.</text></svg>",
        pad + h + 34.0
    );
    s
}

/// The SAA report page.
pub fn render_saa(fit: &SaaFit, old: &SaaTable, inputs: &[String], k: f64) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "<h1>SAA contour from the particle rate</h1>");
    let _ = writeln!(
        out,
        "<p>Inputs: {}.</p><table>\
         <tr><th>orbit intervals</th><td>{}</td></tr>\
         <tr><th>quiet level (median rate)</th><td>{:.1} counts/s</td></tr>\
         <tr><th>threshold (k = {k})</th><td>{:.1} counts/s</td></tr>\
         <tr><th>intervals above it</th><td>{} ({:.1} %)</td></tr>\
         <tr><th>latitudes crossed</th><td>{:.2}° to {:.2}°</td></tr>\
         <tr><th>traced contour</th><td>{} vertices, simplified to {} (closing vertex included)</td></tr>\
         <tr><th>intervals on the wrong side of the new polygon</th><td>{}</td></tr></table>",
        inputs
            .iter()
            .map(|s| format!("<code>{}</code>", xml_escape(s)))
            .collect::<Vec<_>>()
            .join(", "),
        fit.samples,
        fit.quiet_cps,
        fit.threshold_cps,
        fit.inside_samples,
        100.0 * fit.inside_samples as f64 / fit.samples.max(1) as f64,
        fit.lat_coverage.0,
        fit.lat_coverage.1,
        fit.contour_vertices,
        fit.polygon.len(),
        fit.misclassified
    );
    out.push_str("<div class=\"plots\">\n");
    figure(&mut out, "map-saa", &saa_map(fit, old), "particle-band rate along the orbit");
    out.push_str("</div>\n<h2>Vertices</h2><table><tr><th>#</th><th>previous lon, lat (°)</th><th>new lon, lat (°)</th></tr>\n");
    let n = old.vertices.len().max(fit.polygon.len());
    for i in 0..n {
        let a =
            old.vertices.get(i).map_or(String::new(), |v| format!("{}, {}", v.lon_deg, v.lat_deg));
        let b = fit.polygon.get(i).map_or(String::new(), |v| format!("{}, {}", v.0, v.1));
        let _ = writeln!(out, "<tr><td>{i}</td><td>{a}</td><td>{b}</td></tr>");
    }
    out.push_str(
        "</table>\n<p>The region is known only where the orbit goes: beyond the latitudes crossed \
                  (plus a margin) the new contour claims nothing (docs/calib.md).</p>\n",
    );
    page("eic-bench calib saa", &out)
}
