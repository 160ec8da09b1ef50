//! Inline SVG plots of the pages: a trend (line of means, min–max band for aggregates), the
//! sky map of alerts (Hammer–Aitoff projection of RA/Dec, RA increasing to the left as on the
//! sky) and the alerts-per-day bars. Colours come from classes styled by `monitor.css`, so the
//! page's content-security policy needs no inline style.

use std::fmt::Write as _;

use super::data::{AlertView, TrendPoint};
use super::pages::utc_ms;
use crate::workflow::evidence::esc;

const W: f64 = 900.0;
const H: f64 = 300.0;
const PAD_L: f64 = 70.0;
const PAD_R: f64 = 10.0;
const PAD_T: f64 = 10.0;
const PAD_B: f64 = 40.0;

/// A trend plot of `param` over `[from_ms, to_ms]`.
pub fn trend(param: &str, from_ms: i64, to_ms: i64, pts: &[TrendPoint]) -> String {
    let mut s = format!(
        "<svg class=\"plot\" id=\"trend\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{p} trend\" \
data-points=\"{}\" data-param=\"{p}\" data-from-ms=\"{from_ms}\" data-to-ms=\"{to_ms}\" \
data-x0=\"{PAD_L}\" data-x1=\"{}\"><title>click to zoom in ×4 around a time</title>",
        pts.len(),
        W - PAD_R,
        p = esc(param),
    );
    let finite: Vec<&TrendPoint> = pts
        .iter()
        .filter(|p| p.min.is_finite() && p.max.is_finite() && p.mean.is_finite())
        .collect();
    let (mut lo, mut hi) = finite
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| (lo.min(p.min), hi.max(p.max)));
    if !lo.is_finite() {
        lo = 0.0;
        hi = 1.0;
    }
    if hi - lo < 1e-12 {
        lo -= 0.5;
        hi += 0.5;
    }
    let span_t = (to_ms - from_ms).max(1) as f64;
    let x = |t: i64| PAD_L + (t - from_ms) as f64 / span_t * (W - PAD_L - PAD_R);
    let y = |v: f64| PAD_T + (hi - v) / (hi - lo) * (H - PAD_T - PAD_B);
    let _ = write!(
        s,
        "<rect class=\"frame\" x=\"{PAD_L}\" y=\"{PAD_T}\" width=\"{}\" height=\"{}\"/>",
        W - PAD_L - PAD_R,
        H - PAD_T - PAD_B
    );
    for i in 0..=4 {
        let v = lo + (hi - lo) * f64::from(i) / 4.0;
        let _ = write!(
            s,
            "<line class=\"grid\" x1=\"{PAD_L}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\
<text class=\"tick\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            W - PAD_R,
            PAD_L - 4.0,
            y(v) + 4.0,
            short(v),
            y = y(v)
        );
    }
    for (i, anchor) in [(0, "start"), (1, "end")] {
        let t = if i == 0 { from_ms } else { to_ms };
        let _ = write!(
            s,
            "<text class=\"tick\" x=\"{:.1}\" y=\"{}\" text-anchor=\"{anchor}\">{}</text>",
            x(t),
            H - 12.0,
            utc_ms(t)
        );
    }
    let aggregated = finite.iter().any(|p| p.count > 1 || p.min != p.max);
    if aggregated && !finite.is_empty() {
        let mut band = String::new();
        for p in &finite {
            let _ = write!(band, "{:.1},{:.1} ", x(p.t_ms), y(p.max));
        }
        for p in finite.iter().rev() {
            let _ = write!(band, "{:.1},{:.1} ", x(p.t_ms), y(p.min));
        }
        let _ = write!(s, "<polygon class=\"band\" points=\"{}\"/>", band.trim_end());
    }
    if !finite.is_empty() {
        let mut line = String::new();
        for p in &finite {
            let _ = write!(line, "{:.1},{:.1} ", x(p.t_ms), y(p.mean));
        }
        let _ = write!(s, "<polyline class=\"line\" points=\"{}\"/>", line.trim_end());
        if !aggregated && finite.len() <= 300 {
            for p in &finite {
                let _ = write!(
                    s,
                    "<circle class=\"dot\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"2\"/>",
                    x(p.t_ms),
                    y(p.mean)
                );
            }
        }
    } else {
        let _ = write!(
            s,
            "<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">no samples in this interval</text>",
            W / 2.0,
            H / 2.0
        );
    }
    s.push_str("</svg>");
    s
}

fn short(v: f64) -> String {
    if v.abs() >= 1e5 || (v != 0.0 && v.abs() < 1e-2) {
        format!("{v:.2e}")
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// Hammer–Aitoff projection of (RA, Dec) in degrees to (x, y) in `[-2√2, 2√2] × [-√2, √2]`,
/// with RA = 180° at the centre and RA increasing to the left.
pub fn hammer(ra_deg: f64, dec_deg: f64) -> (f64, f64) {
    let mut l = (180.0 - ra_deg.rem_euclid(360.0)).to_radians(); // east to the left
    if l > std::f64::consts::PI {
        l -= 2.0 * std::f64::consts::PI;
    }
    let b = dec_deg.clamp(-90.0, 90.0).to_radians();
    let d = (1.0 + b.cos() * (l / 2.0).cos()).sqrt();
    let x = 2.0 * std::f64::consts::SQRT_2 * b.cos() * (l / 2.0).sin() / d;
    let y = std::f64::consts::SQRT_2 * b.sin() / d;
    (x, y)
}

/// The sky map of alerts with a position (one circle each, titled with its text).
pub fn sky_map(alerts: &[AlertView]) -> String {
    const SW: f64 = 600.0;
    const SH: f64 = 300.0;
    let k = (SW / 2.0 - 10.0) / (2.0 * std::f64::consts::SQRT_2);
    let px = |(x, y): (f64, f64)| (SW / 2.0 + x * k, SH / 2.0 - y * k);
    let mut s = format!(
        "<svg class=\"sky\" id=\"skymap\" viewBox=\"0 0 {SW} {SH}\" role=\"img\" aria-label=\"alerts on the sky (RA/Dec, Hammer–Aitoff)\">"
    );
    let mut outline = String::new();
    for i in 0..=72 {
        let dec = -90.0 + 180.0 * f64::from(i) / 72.0;
        let (x, y) = px(hammer(1e-6, dec));
        let _ = write!(outline, "{x:.1},{y:.1} ");
    }
    for i in (0..=72).rev() {
        let dec = -90.0 + 180.0 * f64::from(i) / 72.0;
        let (x, y) = px(hammer(359.999_999, dec));
        let _ = write!(outline, "{x:.1},{y:.1} ");
    }
    let _ = write!(s, "<polygon class=\"sky-bg\" points=\"{}\"/>", outline.trim_end());
    for dec in [-60.0, -30.0, 0.0, 30.0, 60.0] {
        let mut l = String::new();
        for i in 0..=72 {
            let ra = 360.0 * f64::from(i) / 72.0;
            let (x, y) = px(hammer(ra.clamp(1e-6, 359.999_999), dec));
            let _ = write!(l, "{x:.1},{y:.1} ");
        }
        let _ = write!(s, "<polyline class=\"grid\" points=\"{}\"/>", l.trim_end());
    }
    for ra in [60.0, 120.0, 180.0, 240.0, 300.0] {
        let mut l = String::new();
        for i in 0..=36 {
            let dec = -90.0 + 180.0 * f64::from(i) / 36.0;
            let (x, y) = px(hammer(ra, dec));
            let _ = write!(l, "{x:.1},{y:.1} ");
        }
        let _ = write!(s, "<polyline class=\"grid\" points=\"{}\"/>", l.trim_end());
        let (x, y) = px(hammer(ra, 0.0));
        let _ = write!(
            s,
            "<text class=\"tick\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{ra:.0}°</text>",
            y + 12.0
        );
    }
    for a in alerts {
        let (Some(ra), Some(dec)) = (a.ra_deg, a.dec_deg) else { continue };
        if !ra.is_finite() || !dec.is_finite() {
            continue;
        }
        let (x, y) = px(hammer(ra, dec));
        let _ = write!(
            s,
            "<circle class=\"alert\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"5\" data-alert-id=\"{id}\" data-ra=\"{ra:.4}\" \
data-dec=\"{dec:.4}\"><title>{kind} SNR {snr:.1} at RA {ra:.3}°, Dec {dec:+.3}° ({t})</title></circle>",
            id = a.id,
            kind = esc(&a.kind),
            snr = a.snr,
            t = utc_ms(a.t_ms)
        );
    }
    s.push_str("</svg>");
    s
}

/// Bars of alerts per UTC day.
pub fn per_day(days: &[(i64, u64)]) -> String {
    let mut s = format!(
        "<svg class=\"plot\" id=\"per-day\" viewBox=\"0 0 {W} 160\" role=\"img\" aria-label=\"alerts per day\">"
    );
    let Some(first) = days.first().map(|d| d.0) else {
        s.push_str("<text class=\"tick\" x=\"450\" y=\"80\" text-anchor=\"middle\">no alert yet</text></svg>");
        return s;
    };
    let last = days.last().map_or(first, |d| d.0);
    let n_days = ((last - first) / 86_400_000 + 1).max(1) as f64;
    let max = days.iter().map(|d| d.1).max().unwrap_or(1).max(1) as f64;
    let bw = ((W - PAD_L - PAD_R) / n_days).min(24.0);
    for (t, n) in days {
        let i = ((t - first) / 86_400_000) as f64;
        let h = *n as f64 / max * 110.0;
        let _ = write!(
            s,
            "<rect class=\"bar\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\"><title>{}: {n}</title></rect>",
            PAD_L + i * bw,
            120.0 - h,
            (bw - 1.0).max(1.0),
            utc_ms(*t).get(..10).unwrap_or_default()
        );
    }
    let _ = write!(
        s,
        "<text class=\"tick\" x=\"{PAD_L}\" y=\"140\">{}</text><text class=\"tick\" x=\"{}\" y=\"140\" text-anchor=\"end\">{}</text>\
<text class=\"tick\" x=\"{}\" y=\"14\" text-anchor=\"end\">{max:.0}/day</text></svg>",
        utc_ms(first).get(..10).unwrap_or_default(),
        W - PAD_R,
        utc_ms(last).get(..10).unwrap_or_default(),
        PAD_L - 4.0
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hammer_centre_and_edges() {
        let (x, y) = hammer(180.0, 0.0);
        assert!(x.abs() < 1e-12 && y.abs() < 1e-12);
        let (_, y) = hammer(0.0, 90.0);
        assert!((y - std::f64::consts::SQRT_2).abs() < 1e-9);
        // RA increases to the left.
        assert!(hammer(200.0, 0.0).0 < hammer(160.0, 0.0).0);
    }

    #[test]
    fn sky_map_places_each_located_alert() {
        let a = |id, ra, dec| AlertView {
            id,
            t_ms: 0,
            kind: "IMT".into(),
            timescale_ms: 1000.0,
            snr: 9.0,
            ra_deg: ra,
            dec_deg: dec,
            catalog_id: None,
            threshold: None,
        };
        let svg = sky_map(&[a(1, Some(83.6), Some(22.0)), a(2, None, None)]);
        assert!(svg.contains("data-alert-id=\"1\""));
        assert!(!svg.contains("data-alert-id=\"2\""));
    }
}
