//! Differences between two table sets (std), per table and per entry, as text or JSON.
//!
//! Each table is flattened into `(entry, field, value)` rows in table order (values printed
//! as in the text forms); rows are matched by entry and field. Catalogue sources are matched
//! by ID, everything else by index.

#[allow(unused_imports)]
use std::prelude::rust_2024::*;
#[allow(unused_imports)]
use std::{format, vec};

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::set::TableSet;
use crate::{Field, TableId, pixels};

/// One changed value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// Entry label (`DETNUM 12 (Y=0, Z=12)`, `band 1`, `source id 81`; empty for the table).
    pub entry: String,
    /// Field name, as in [`Field::name`].
    pub field: &'static str,
    /// Value in the first set, `None` if the entry is added.
    pub old: Option<String>,
    /// Value in the second set, `None` if the entry is removed.
    pub new: Option<String>,
}

/// The differences of one table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableDiff {
    /// The table.
    pub table: TableId,
    /// Version in the first set.
    pub old_version: u16,
    /// Version in the second set.
    pub new_version: u16,
    /// Changed values, in table order.
    pub changes: Vec<Change>,
}

type Row = (String, &'static str, String);

fn push(rows: &mut Vec<Row>, entry: impl Into<String>, f: Field, v: impl ToString) {
    rows.push((entry.into(), f.name(), v.to_string()));
}

fn trigger_bands(rows: &mut Vec<Row>, bands: &[crate::TriggerBand]) {
    for (i, b) in bands.iter().enumerate() {
        push(rows, format!("trigger band {i}"), Field::FirstBand, b.first);
        push(rows, format!("trigger band {i}"), Field::LastBand, b.last);
    }
}

fn list<T: ToString>(v: &[T]) -> String {
    let items: Vec<String> = v.iter().map(ToString::to_string).collect();
    format!("[{}]", items.join(", "))
}

/// The `(entry, field, value)` rows of one table.
pub fn flatten(set: &TableSet, id: TableId) -> Vec<(String, &'static str, String)> {
    let mut r = Vec::new();
    match id {
        TableId::Pixels => {
            for (d, e) in (0u16..).zip(set.pixels.entries.iter()) {
                let label = format!("DETNUM {d} (Y={}, Z={})", pixels::y_of(d), pixels::z_of(d));
                let status =
                    e.status.word().map_or_else(|| e.status.code().to_string(), str::to_string);
                push(&mut r, label.clone(), Field::Status, status);
                push(&mut r, label.clone(), Field::ThresholdKev, e.threshold_kev);
                push(&mut r, label.clone(), Field::Gain, e.gain);
                push(&mut r, label.clone(), Field::Offset, e.offset_kev);
                push(&mut r, label, Field::Efficiency, e.efficiency);
            }
        }
        TableId::Bands => {
            for (i, b) in set.bands.bands.iter().enumerate() {
                push(&mut r, format!("band {i}"), Field::LowKev, b.low_kev);
                push(&mut r, format!("band {i}"), Field::HighKev, b.high_kev);
            }
        }
        TableId::Crt => {
            let c = &set.crt;
            push(&mut r, "", Field::ImageSnr, c.image_snr);
            push(&mut r, "", Field::BkgWindowMs, c.background.window_ms);
            push(&mut r, "", Field::BkgOrder, c.background.order);
            push(&mut r, "", Field::BkgGapMs, c.background.gap_ms);
            trigger_bands(&mut r, &c.bands);
            for (i, z) in c.zones.iter().enumerate() {
                let l = format!("zone {i}");
                push(&mut r, l.clone(), Field::YMin, z.y_min);
                push(&mut r, l.clone(), Field::YMax, z.y_max);
                push(&mut r, l.clone(), Field::ZMin, z.z_min);
                push(&mut r, l, Field::ZMax, z.z_max);
            }
            for (i, t) in c.timescales.iter().enumerate() {
                push(&mut r, format!("timescale {i}"), Field::DurationMs, t.duration_ms);
                // The duration in the label: "the 10 ms threshold" is how people name it.
                let l = format!("timescale {i} ({} ms)", t.duration_ms);
                push(&mut r, l, Field::RateSnr, list(&t.rate_snr));
            }
        }
        TableId::Imt => {
            let m = &set.imt;
            push(&mut r, "", Field::CycleMs, m.cycle_ms);
            push(&mut r, "", Field::BkgCorrection, String::from(m.bkg_correction));
            push(&mut r, "", Field::BkgMinCycles, m.bkg_min_cycles);
            trigger_bands(&mut r, &m.bands);
            for (i, a) in m.accumulations.iter().enumerate() {
                push(&mut r, format!("accumulation {i}"), Field::Cycles, a.cycles);
                push(&mut r, format!("accumulation {i}"), Field::Snr, a.snr);
            }
        }
        TableId::Catalog => {
            for s in &set.catalog.sources {
                let l = format!("source id {}", s.id);
                push(&mut r, l.clone(), Field::Name, s.name.as_str());
                push(&mut r, l.clone(), Field::RaDeg, s.ra_deg);
                push(&mut r, l.clone(), Field::DecDeg, s.dec_deg);
                push(&mut r, l.clone(), Field::RadiusDeg, s.radius_deg);
                push(&mut r, l, Field::FluxThreshold, list(&s.flux_threshold));
            }
        }
        TableId::Saa => {
            for (i, v) in set.saa.vertices.iter().enumerate() {
                push(&mut r, format!("vertex {i}"), Field::LonDeg, v.lon_deg);
                push(&mut r, format!("vertex {i}"), Field::LatDeg, v.lat_deg);
            }
        }
        TableId::Alert => {
            let a = &set.alert;
            push(&mut r, "", Field::MinAlertSnr, a.min_alert_snr);
            push(&mut r, "", Field::MinSlewSnr, a.min_slew_snr);
            push(&mut r, "", Field::SunAngleDeg, a.sun_angle_deg);
            push(&mut r, "", Field::MoonAngleDeg, a.moon_angle_deg);
            push(&mut r, "", Field::EarthLimbDeg, a.earth_limb_deg);
            push(&mut r, "", Field::MinSlewIntervalS, a.min_slew_interval_s);
            push(&mut r, "", Field::MaxSlewsPerDay, a.max_slews_per_day);
            push(&mut r, "", Field::SlewOnCatalog, a.slew_on_catalog);
        }
    }
    r
}

/// The differences of one table (`None` when versions and contents are equal).
pub fn diff_table(a: &TableSet, b: &TableSet, id: TableId) -> Option<TableDiff> {
    let ra = flatten(a, id);
    let rb = flatten(b, id);
    let index: HashMap<(&str, &str), &str> =
        rb.iter().map(|(e, f, v)| ((e.as_str(), *f), v.as_str())).collect();
    let in_a: HashMap<(&str, &str), ()> =
        ra.iter().map(|(e, f, _)| ((e.as_str(), *f), ())).collect();
    let mut changes = Vec::new();
    for (e, f, v) in &ra {
        match index.get(&(e.as_str(), *f)) {
            Some(w) if *w == v.as_str() => {}
            other => changes.push(Change {
                entry: e.clone(),
                field: f,
                old: Some(v.clone()),
                new: other.map(|w| (*w).to_string()),
            }),
        }
    }
    for (e, f, v) in &rb {
        if !in_a.contains_key(&(e.as_str(), *f)) {
            changes.push(Change { entry: e.clone(), field: f, old: None, new: Some(v.clone()) });
        }
    }
    let (old_version, new_version) = (a.version(id), b.version(id));
    if changes.is_empty() && old_version == new_version {
        return None;
    }
    Some(TableDiff { table: id, old_version, new_version, changes })
}

/// The differences of every table that differs.
pub fn diff(a: &TableSet, b: &TableSet) -> Vec<TableDiff> {
    TableId::ALL.iter().filter_map(|&id| diff_table(a, b, id)).collect()
}

/// Human-readable form: one heading per table, one line per change.
pub fn to_text(diffs: &[TableDiff]) -> String {
    let mut out = String::new();
    if diffs.is_empty() {
        out.push_str("no differences\n");
    }
    for d in diffs {
        let n = d.changes.len();
        let _ = writeln!(
            out,
            "{} table: version {} -> {}, {n} change{}",
            d.table.name(),
            d.old_version,
            d.new_version,
            if n == 1 { "" } else { "s" }
        );
        for c in &d.changes {
            let at = if c.entry.is_empty() { String::new() } else { format!("{}, ", c.entry) };
            let _ = match (&c.old, &c.new) {
                (Some(o), Some(n)) => writeln!(out, "  {at}{}: {o} -> {n}", c.field),
                (Some(o), None) => writeln!(out, "  {at}{}: {o} (removed)", c.field),
                (None, Some(n)) => writeln!(out, "  {at}{}: {n} (added)", c.field),
                (None, None) => Ok(()),
            };
        }
    }
    out
}

/// JSON form: `{"tables": [{"table", "id", "old_version", "new_version", "changes":
/// [{"entry", "field", "old", "new"}]}]}` (`old`/`new` null when added/removed).
pub fn to_json(diffs: &[TableDiff]) -> serde_json::Value {
    let tables: Vec<serde_json::Value> = diffs
        .iter()
        .map(|d| {
            let changes: Vec<serde_json::Value> = d
                .changes
                .iter()
                .map(|c| {
                    serde_json::json!({
                        "entry": c.entry, "field": c.field, "old": c.old, "new": c.new,
                    })
                })
                .collect();
            serde_json::json!({
                "table": d.table.key(),
                "id": d.table as u8,
                "old_version": d.old_version,
                "new_version": d.new_version,
                "changes": changes,
            })
        })
        .collect();
    serde_json::json!({ "tables": tables })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::defaults::default_set;

    #[test]
    fn identical_sets_have_no_diff() {
        let a = default_set();
        assert!(diff(&a, &a).is_empty());
        assert_eq!(to_text(&[]), "no differences\n");
    }

    #[test]
    fn reports_each_change() {
        let a = default_set();
        let mut b = a.clone();
        b.pixels.version = 2;
        b.pixels.entries[12].gain = 0.2;
        b.catalog.sources.pop();
        b.alert.min_slew_snr = 9.0;
        let d = diff(&a, &b);
        assert_eq!(d.len(), 3);
        let text = to_text(&d);
        let old_gain = a.pixels.entries[12].gain;
        assert!(text.contains(&format!("pixel table: version 1 -> 2, 1 change\n  DETNUM 12 (Y=0, Z=12), GAIN: {old_gain} -> 0.2\n")), "{text}");
        assert!(text.contains("  source id 81, NAME: GX 340+0 (removed)\n"), "{text}");
        assert!(
            text.contains("alert table: version 1 -> 1, 1 change\n  MIN_SLEW_SNR: 8 -> 9\n"),
            "{text}"
        );
        let j = to_json(&d);
        assert_eq!(j["tables"][0]["table"], "pixels");
        assert_eq!(j["tables"][0]["changes"][0]["new"], "0.2");
        assert_eq!(j["tables"][1]["changes"][0]["new"], serde_json::Value::Null);
    }
}
