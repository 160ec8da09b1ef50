//! The state and alarm report of an interval (`eic-bench monitor report`, and the daily report
//! a running monitor writes by itself): JSON for scripts and one offline HTML page (inline CSS
//! and SVG plots drawn with plotters, no script, no network).
//!
//! Contents: per housekeeping parameter its extremes (with their times), mean, sample count
//! and limit crossings (a sample sequence entering a soft or hard band); software versions and
//! boots; table changes; link outages (live link down, and HK gaps longer than the staleness
//! limit, 10 s without one); events and failures by name; trigger alerts; and every alarm with
//! a transition in the interval, with its whole timeline.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use plotters::prelude::*;
use rusqlite::params;
use serde::Serialize;
use tc_tm::service::housekeeping::HkReport;

use super::alarm::{self, Alarm, Transition};
use super::db::{AlertRow, Store, TableVersion, decode_hk};
use crate::hk_limits::LimitSet;
use crate::regress::junit::xml_escape;

/// HK gap that counts as an outage when the limits file sets no `stale_after_s`, s.
pub const DEFAULT_GAP_S: f64 = 10.0;
/// Points per parameter plot.
const PLOT_POINTS: usize = 400;

/// One parameter over the interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParamSummary {
    /// Name.
    pub name: String,
    /// Unit (from the limits file).
    pub unit: Option<String>,
    /// Samples.
    pub n: u64,
    /// Smallest value and its reception time (UTC text).
    pub min: f64,
    /// When the smallest value was received.
    pub min_at: String,
    /// Largest value.
    pub max: f64,
    /// When the largest value was received.
    pub max_at: String,
    /// Mean.
    pub mean: f64,
    /// Times the value entered a soft band (from nominal).
    pub soft_crossings: u64,
    /// Times the value entered a hard band.
    pub hard_crossings: u64,
    /// Samples beyond a limit.
    pub samples_beyond: u64,
}

/// A boot or software change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Boot {
    /// When, UTC text.
    pub at: String,
    /// Software version (as in HK).
    pub sw_version: i64,
    /// Boot bank (wire value).
    pub boot_bank: i64,
    /// Fallback boot.
    pub fallback: bool,
    /// Why it was recorded.
    pub why: String,
}

/// A link outage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outage {
    /// From, UTC text.
    pub from: String,
    /// To, UTC text (or `open`).
    pub to: String,
    /// Length, s.
    pub duration_s: f64,
    /// `link down` or `no housekeeping`.
    pub kind: String,
    /// Detail.
    pub detail: String,
}

/// An alarm with its timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlarmTimeline {
    /// The alarm.
    pub alarm: Alarm,
    /// Its state at the end of the interval.
    pub state: String,
    /// Every transition.
    pub transitions: Vec<Transition>,
}

/// The report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonitorReport {
    /// From, UTC text.
    pub from: String,
    /// To, UTC text.
    pub to: String,
    /// From, UTC ns.
    pub from_ns: i64,
    /// To, UTC ns.
    pub to_ns: i64,
    /// When written.
    pub generated: String,
    /// HK reports in the interval.
    pub hk_reports: u64,
    /// Per parameter.
    pub params: Vec<ParamSummary>,
    /// Boots and software changes.
    pub boots: Vec<Boot>,
    /// Table versions in force at the start, then every change.
    pub tables: Vec<TableVersion>,
    /// Link outages.
    pub outages: Vec<Outage>,
    /// Events by name.
    pub events: BTreeMap<String, u64>,
    /// Failures by code name.
    pub failures: BTreeMap<String, u64>,
    /// Trigger alerts.
    pub alerts: Vec<AlertRow>,
    /// Alarms with a transition in the interval.
    pub alarms: Vec<AlarmTimeline>,
}

/// UTC text of a time in ns.
pub fn utc(ns: i64) -> String {
    crate::workflow::evidence::utc_text(
        ns.div_euclid(1_000_000_000),
        ns.rem_euclid(1_000_000_000) as u32,
    )
}

#[derive(Clone, Copy)]
struct Acc {
    n: u64,
    min: f64,
    min_at: i64,
    max: f64,
    max_at: i64,
    sum: f64,
    last_sev: u8,
    soft: u64,
    hard: u64,
    beyond: u64,
}

/// Builds the report of `[from_ns, to_ns)`.
///
/// # Errors
/// SQLite errors.
pub fn build(
    store: &Store,
    limits: &LimitSet,
    from_ns: i64,
    to_ns: i64,
) -> anyhow::Result<MonitorReport> {
    let conn = store.conn();
    let names: Vec<&'static str> = HkReport::field_names().collect();
    let mut acc: Vec<Option<Acc>> = vec![None; names.len()];
    let gap_ns = (limits.alarm_rules().stale_after_s.unwrap_or(DEFAULT_GAP_S) * 1e9) as i64;
    let mut outages = Vec::new();
    let mut hk_reports = 0u64;
    {
        let mut st = conn.prepare(
            "SELECT rx_ns, data FROM hk WHERE rx_ns >= ?1 AND rx_ns < ?2 ORDER BY rx_ns",
        )?;
        let mut rows = st.query(params![from_ns, to_ns])?;
        let mut prev: Option<i64> = None;
        while let Some(r) = rows.next()? {
            let t: i64 = r.get(0)?;
            let Some(hk) = decode_hk(r.get_ref(1)?.as_blob()?) else { continue };
            hk_reports += 1;
            if let Some(p) = prev
                && t - p > gap_ns
            {
                outages.push(Outage {
                    from: utc(p),
                    to: utc(t),
                    duration_s: (t - p) as f64 / 1e9,
                    kind: "no housekeeping".into(),
                    detail: format!("gap longer than {:.0} s", gap_ns as f64 / 1e9),
                });
            }
            prev = Some(t);
            for (i, (name, v)) in hk.fields().enumerate() {
                let Some(slot) = acc.get_mut(i) else { continue };
                let sev = limits.check(name, v).severity();
                let a = slot.get_or_insert(Acc {
                    n: 0,
                    min: v,
                    min_at: t,
                    max: v,
                    max_at: t,
                    sum: 0.0,
                    last_sev: 0,
                    soft: 0,
                    hard: 0,
                    beyond: 0,
                });
                a.n += 1;
                a.sum += v;
                if v < a.min {
                    a.min = v;
                    a.min_at = t;
                }
                if v > a.max {
                    a.max = v;
                    a.max_at = t;
                }
                if sev > 0 {
                    a.beyond += 1;
                }
                if sev > a.last_sev {
                    if sev >= 2 {
                        a.hard += 1;
                    } else {
                        a.soft += 1;
                    }
                }
                a.last_sev = sev;
            }
        }
    }
    let params: Vec<ParamSummary> = names
        .iter()
        .zip(&acc)
        .filter_map(|(name, a)| {
            let a = (*a)?;
            Some(ParamSummary {
                name: (*name).to_owned(),
                unit: limits.get(name).and_then(|l| l.unit.clone()),
                n: a.n,
                min: a.min,
                min_at: utc(a.min_at),
                max: a.max,
                max_at: utc(a.max_at),
                mean: a.sum / a.n.max(1) as f64,
                soft_crossings: a.soft,
                hard_crossings: a.hard,
                samples_beyond: a.beyond,
            })
        })
        .collect();
    let boots = {
        let mut st = conn.prepare(
            "SELECT rx_ns, sw_version, boot_bank, fallback, why FROM boots \
             WHERE rx_ns >= ?1 AND rx_ns < ?2 ORDER BY rx_ns",
        )?;
        let rows = st.query_map(params![from_ns, to_ns], |r| {
            Ok(Boot {
                at: utc(r.get(0)?),
                sw_version: r.get(1)?,
                boot_bank: r.get(2)?,
                fallback: r.get(3)?,
                why: r.get(4)?,
            })
        })?;
        rows.collect::<Result<Vec<_>, _>>()?
    };
    {
        let mut st = conn.prepare(
            "SELECT at_ns, up, detail, source_id FROM link_events WHERE at_ns < ?2 \
             ORDER BY source_id, at_ns",
        )?;
        let rows = st.query_map(params![from_ns, to_ns], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, bool>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?;
        let mut down: Option<(i64, String)> = None;
        for row in rows {
            let (t, up, detail, _) = row?;
            match (up, &down) {
                (false, None) => down = Some((t, detail)),
                (true, Some((d, why))) => {
                    if t >= from_ns {
                        outages.push(Outage {
                            from: utc(*d),
                            to: utc(t),
                            duration_s: (t - d) as f64 / 1e9,
                            kind: "link down".into(),
                            detail: why.clone(),
                        });
                    }
                    down = None;
                }
                _ => {}
            }
        }
        if let Some((d, why)) = down {
            outages.push(Outage {
                from: utc(d),
                to: "open".into(),
                duration_s: (to_ns - d) as f64 / 1e9,
                kind: "link down".into(),
                detail: why,
            });
        }
    }
    let count_by = |sql: &str| -> anyhow::Result<BTreeMap<String, u64>> {
        let mut st = conn.prepare(sql)?;
        let rows = st.query_map(params![from_ns, to_ns], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })?;
        let mut m = BTreeMap::new();
        for row in rows {
            let (k, n) = row?;
            m.insert(k, n.max(0) as u64);
        }
        Ok(m)
    };
    let events = count_by(
        "SELECT name, COUNT(*) FROM events WHERE rx_ns >= ?1 AND rx_ns < ?2 GROUP BY name",
    )?;
    let failures = count_by(
        "SELECT code_name, COUNT(*) FROM failures WHERE rx_ns >= ?1 AND rx_ns < ?2 GROUP BY code_name",
    )?;
    let alarm_ids: Vec<i64> = {
        let mut st = conn.prepare(
            "SELECT DISTINCT alarm_id FROM alarm_transitions WHERE at_ns >= ?1 AND at_ns < ?2 ORDER BY alarm_id",
        )?;
        let rows = st.query_map(params![from_ns, to_ns], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    let mut alarms = Vec::new();
    for id in alarm_ids {
        let Some(a) = alarm::get(conn, id)? else { continue };
        let transitions = alarm::transitions(conn, id)?;
        alarms.push(AlarmTimeline { state: a.state(to_ns).to_owned(), alarm: a, transitions });
    }
    Ok(MonitorReport {
        from: utc(from_ns),
        to: utc(to_ns),
        from_ns,
        to_ns,
        generated: crate::workflow::evidence::utc_now(),
        hk_reports,
        params,
        boots,
        tables: store.table_versions(from_ns, to_ns)?,
        outages,
        events,
        failures,
        alerts: store.alerts(from_ns, to_ns)?,
        alarms,
    })
}

fn perr<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow::anyhow!("plot: {e:?}")
}

fn plot_param(
    store: &Store,
    limits: &LimitSet,
    r: &MonitorReport,
    name: &str,
) -> anyhow::Result<String> {
    let trend = store.trend(name, r.from_ns, r.to_ns, Some(PLOT_POINTS))?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, 220)).into_drawing_area();
        root.fill(&WHITE).map_err(perr)?;
        let l = limits.get(name);
        let lims: Vec<f64> = l
            .map(|l| {
                [l.soft_low, l.soft_high, l.hard_low, l.hard_high].into_iter().flatten().collect()
            })
            .unwrap_or_default();
        let (mut lo, mut hi) = (f64::MAX, f64::MIN);
        for p in &trend.points {
            lo = lo.min(p.min);
            hi = hi.max(p.max);
        }
        for v in &lims {
            if lo <= hi && (*v >= lo - (hi - lo) && *v <= hi + (hi - lo)) {
                lo = lo.min(*v);
                hi = hi.max(*v);
            }
        }
        if lo > hi {
            (lo, hi) = (0.0, 1.0);
        }
        let pad = ((hi - lo) * 0.08).max(0.5);
        let x0 = (r.from_ns as f64) / 3.6e12;
        let x1 = (r.to_ns as f64) / 3.6e12;
        let mut chart = ChartBuilder::on(&root)
            .caption(format!("{name} ({:?})", trend.resolution).to_lowercase(), ("sans-serif", 14))
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(56)
            .build_cartesian_2d(0f64..(x1 - x0).max(1e-6), (lo - pad)..(hi + pad))
            .map_err(perr)?;
        chart
            .configure_mesh()
            .x_desc("hours from the start")
            .light_line_style(RGBColor(0xee, 0xee, 0xee))
            .draw()
            .map_err(perr)?;
        let xs = |t: i64| t as f64 / 3.6e12 - x0;
        let blue = RGBColor(0x1f, 0x77, 0xb4);
        chart
            .draw_series(trend.points.iter().map(|p| {
                PathElement::new(vec![(xs(p.t_ns), p.min), (xs(p.t_ns), p.max)], blue.mix(0.35))
            }))
            .map_err(perr)?;
        chart
            .draw_series(LineSeries::new(trend.points.iter().map(|p| (xs(p.t_ns), p.mean)), blue))
            .map_err(perr)?;
        if let Some(l) = l {
            for (v, c) in [
                (l.soft_low, RGBColor(0xe0, 0xa0, 0x00)),
                (l.soft_high, RGBColor(0xe0, 0xa0, 0x00)),
                (l.hard_low, RGBColor(0xd6, 0x27, 0x28)),
                (l.hard_high, RGBColor(0xd6, 0x27, 0x28)),
            ] {
                if let Some(v) = v.filter(|v| *v >= lo - pad && *v <= hi + pad) {
                    chart
                        .draw_series(LineSeries::new(
                            vec![(0.0, v), (x1 - x0, v)],
                            c.stroke_width(1),
                        ))
                        .map_err(perr)?;
                }
            }
        }
        root.present().map_err(perr)?;
    }
    Ok(svg)
}

const STYLE: &str = "body{font-family:sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em}\
td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;font-size:90%}th{background:#f3f3f3}\
.warn{background:#fff3c4}.crit{background:#ffd6d6}figure{margin:.5em 0}h2{border-bottom:1px solid #ddd}";

/// The report as one offline HTML page.
///
/// # Errors
/// A plot failed to draw; SQLite errors.
pub fn html(store: &Store, limits: &LimitSet, r: &MonitorReport) -> anyhow::Result<String> {
    let x = |s: &str| xml_escape(s);
    let mut o = String::new();
    let _ = writeln!(o, "<h1>Monitor report {} — {}</h1>", x(&r.from), x(&r.to));
    let open = r.alarms.iter().filter(|a| a.state != "closed").count();
    let _ = writeln!(
        o,
        "<p>{} HK reports, {} alarms ({} not closed at the end), {} trigger alerts, {} boots or \
         software changes, {} outages. Written {}.</p>",
        r.hk_reports,
        r.alarms.len(),
        open,
        r.alerts.len(),
        r.boots.len(),
        r.outages.len(),
        x(&r.generated)
    );
    o.push_str("<h2 id=\"state\">State report</h2>\n<h3>Housekeeping: extremes and limit crossings</h3>\n<table><tr><th>parameter</th><th>unit</th><th>n</th><th>min</th><th>at</th><th>mean</th><th>max</th><th>at</th><th>soft crossings</th><th>hard crossings</th><th>samples beyond</th></tr>\n");
    for p in &r.params {
        let cls = if p.hard_crossings > 0 {
            " class=\"crit\""
        } else if p.soft_crossings > 0 {
            " class=\"warn\""
        } else {
            ""
        };
        let _ = writeln!(
            o,
            "<tr{cls}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.3}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            x(&p.name),
            x(p.unit.as_deref().unwrap_or("")),
            p.n,
            p.min,
            x(&p.min_at),
            p.mean,
            p.max,
            x(&p.max_at),
            p.soft_crossings,
            p.hard_crossings,
            p.samples_beyond
        );
    }
    o.push_str("</table>\n<h3>Trends of the limited parameters</h3>\n");
    for name in limits.names() {
        if r.params.iter().any(|p| p.name == name) {
            let svg = plot_param(store, limits, r, name)?;
            let _ = writeln!(o, "<figure class=\"plot\" id=\"plot-{}\">{svg}</figure>", x(name));
        }
    }
    o.push_str("<h3>Software versions and boots</h3>\n<table><tr><th>time</th><th>version</th><th>bank</th><th>fallback</th><th>why</th></tr>\n");
    for b in &r.boots {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            x(&b.at),
            crate::names::version_text(u32::try_from(b.sw_version).unwrap_or(0)),
            b.boot_bank,
            b.fallback,
            x(&b.why)
        );
    }
    o.push_str("</table>\n<h3>Tables (in force at the start, then changes)</h3>\n<table><tr><th>time</th><th>table</th><th>active version</th><th>active CRC</th><th>inactive version</th><th>inactive state</th></tr>\n");
    for t in &r.tables {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>0x{:08X}</td><td>{}</td><td>{}</td></tr>",
            x(&utc(t.rx_ns)),
            t.table_id,
            t.active_version,
            t.active_crc,
            t.inactive_version,
            t.inactive_state
        );
    }
    o.push_str("</table>\n<h3>Link outages</h3>\n<table><tr><th>from</th><th>to</th><th>s</th><th>kind</th><th>detail</th></tr>\n");
    for g in &r.outages {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{:.1}</td><td>{}</td><td>{}</td></tr>",
            x(&g.from),
            x(&g.to),
            g.duration_s,
            x(&g.kind),
            x(&g.detail)
        );
    }
    o.push_str(
        "</table>\n<h3>Events and failures</h3>\n<table><tr><th>event</th><th>count</th></tr>\n",
    );
    for (k, n) in &r.events {
        let _ = writeln!(o, "<tr><td>{}</td><td>{n}</td></tr>", x(k));
    }
    o.push_str("</table>\n<table><tr><th>failure</th><th>count</th></tr>\n");
    for (k, n) in &r.failures {
        let _ = writeln!(o, "<tr><td>{}</td><td>{n}</td></tr>", x(k));
    }
    o.push_str("</table>\n<h3>Trigger alerts</h3>\n<table><tr><th>received</th><th>type</th><th>burst</th><th>timescale ms</th><th>image SNR</th><th>RA</th><th>Dec</th><th>r90 °</th><th>catalogue</th></tr>\n");
    for a in &r.alerts {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{} #{}</td><td>{}</td><td>{:.2}</td><td>{:.3}</td><td>{:.3}</td><td>{:.3}</td><td>{}</td></tr>",
            x(&utc(a.rx_ns)),
            x(&a.trigger_type),
            a.burst_id,
            a.seq_num,
            a.timescale_ms,
            a.image_snr,
            a.ra_deg,
            a.dec_deg,
            a.error_deg,
            a.catalogue_id
        );
    }
    o.push_str("</table>\n<h2 id=\"alarms\">Alarm report</h2>\n");
    for t in &r.alarms {
        let a = &t.alarm;
        let cls = if a.severity >= 2 { "crit" } else { "warn" };
        let _ = writeln!(
            o,
            "<h3 class=\"{cls}\">Alarm {} — {} ({}, {})</h3><p>{}</p>\n<table><tr><th>time</th><th>transition</th><th>by</th><th>comment</th><th>value</th></tr>",
            a.id,
            x(&a.key),
            a.severity_name(),
            x(&t.state),
            x(&a.message)
        );
        for tr in &t.transitions {
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                x(&utc(tr.at_ns)),
                x(&tr.kind),
                x(&tr.author),
                x(tr.comment.as_deref().unwrap_or("")),
                tr.value.map(|v| v.to_string()).unwrap_or_default()
            );
        }
        o.push_str("</table>\n");
    }
    Ok(format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>eic-bench monitor report {}</title><style>{STYLE}</style></head><body>\n{o}</body></html>\n",
        x(&r.from)
    ))
}

/// Builds the report and writes `DIR/report.json` and `DIR/report.html`.
///
/// # Errors
/// SQLite errors; the directory or files cannot be written.
pub fn write(
    store: &Store,
    limits: &LimitSet,
    from_ns: i64,
    to_ns: i64,
    dir: &Path,
) -> anyhow::Result<MonitorReport> {
    let r = build(store, limits, from_ns, to_ns)?;
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let page = html(store, limits, &r)?;
    let json = serde_json::to_string_pretty(&r)?;
    for (name, text) in [("report.json", json), ("report.html", page)] {
        let p = dir.join(name);
        std::fs::write(&p, text).with_context(|| format!("{}: cannot write", p.display()))?;
    }
    Ok(r)
}
