//! The trigger thresholds the unit runs with at a given time: which table versions were in
//! force (the newest HK report's table slots, else the newest directory report), and what
//! those versions hold when their image was seen in a dump (`table_images`, migration 0002).
//! A version whose image was never seen is reported as unknown, never guessed.
//!
//! Which tables hold trigger thresholds (`docs/tables.md` §4): the CRT table (rate SNR per
//! timescale and trigger band, the image SNR confirming a CRT trigger), the IMT table (SNR per
//! accumulation), the alert table (minimum SNR to send an alert or request a slew); the band
//! table gives the trigger bands their energies. Sector rates (`rate_sectorN`) have no
//! on-board threshold: the unit only reports them.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use tables::TableId;

use super::db;

/// Tables whose contents the trigger page shows, in display order.
pub const TRIGGER_TABLES: [TableId; 4] =
    [TableId::Crt, TableId::Imt, TableId::Alert, TableId::Bands];

/// A table version in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct InForce {
    /// Table ID.
    pub table_id: u8,
    /// Active version.
    pub version: u16,
    /// CRC-32 of the active image.
    pub crc: u32,
    /// Reception time of the report that said so, UTC ns.
    pub seen_ns: i64,
}

/// The active versions of every table at `t_ns`: the table slots of the newest HK report
/// received at or before `t_ns`, completed by the newest directory report at or before it
/// for tables the HK does not list.
///
/// # Errors
/// SQLite errors.
pub fn in_force_at(conn: &Connection, t_ns: i64) -> anyhow::Result<Vec<InForce>> {
    let mut out: Vec<InForce> = Vec::new();
    let hk: Option<(i64, Vec<u8>)> = conn
        .prepare_cached("SELECT rx_ns, data FROM hk WHERE rx_ns <= ?1 ORDER BY rx_ns DESC LIMIT 1")?
        .query_row([t_ns], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    if let Some((rx_ns, hk)) = hk.and_then(|(t, d)| db::decode_hk(&d).map(|hk| (t, hk))) {
        for slot in hk.tables.iter().take(usize::from(hk.table_count)) {
            if TableId::from_u8(slot.table_id).is_some()
                && !out.iter().any(|f| f.table_id == slot.table_id)
            {
                out.push(InForce {
                    table_id: slot.table_id,
                    version: slot.active_version,
                    crc: slot.active_crc,
                    seen_ns: rx_ns,
                });
            }
        }
    }
    let mut st = conn.prepare_cached(
        "SELECT table_id, active_version, active_crc, MAX(rx_ns) FROM table_dirs \
         WHERE rx_ns <= ?1 GROUP BY table_id",
    )?;
    let rows = st.query_map([t_ns], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?, r.get::<_, i64>(3)?))
    })?;
    for row in rows {
        let (id, version, crc, rx_ns) = row?;
        let (Ok(id), Ok(version), Ok(crc)) =
            (u8::try_from(id), u16::try_from(version), u32::try_from(crc))
        else {
            continue;
        };
        if !out.iter().any(|f| f.table_id == id) {
            out.push(InForce { table_id: id, version, crc, seen_ns: rx_ns });
        }
    }
    out.sort_by_key(|f| f.table_id);
    Ok(out)
}

/// The stored image of a table version (seen in a dump), with when it was first received.
///
/// # Errors
/// SQLite errors.
pub fn image(conn: &Connection, f: &InForce) -> anyhow::Result<Option<(Vec<u8>, i64)>> {
    Ok(conn
        .prepare_cached(
            "SELECT image, first_ns FROM table_images WHERE table_id = ?1 AND version = ?2 \
             AND crc = ?3",
        )?
        .query_row(params![f.table_id, f.version, f.crc], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// One table's thresholds as in force.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableThresholds {
    /// Table key (`crt`, `imt`, `alert`, `bands`).
    pub table: String,
    /// Version in force.
    pub version: u16,
    /// Its CRC-32.
    pub crc: u32,
    /// When its image was first received (a dump), UTC ns; `None`: contents unknown.
    pub image_seen_ns: Option<i64>,
    /// `(what, value)` rows, e.g. `("rate SNR, 20 ms, band 0 (5–20 keV)", "6.5 σ")`; empty
    /// when the contents are unknown.
    pub rows: Vec<(String, String)>,
    /// Why the rows are empty (`unknown (version 4 not seen)`), if they are.
    pub unknown: Option<String>,
}

/// The decoded tables of one moment.
#[derive(Debug, Clone, Default)]
pub struct Contents {
    /// CRT table in force, if its image is known.
    pub crt: Option<tables::CrtTable>,
    /// IMT table in force, if known.
    pub imt: Option<tables::ImtTable>,
    /// Alert table in force, if known.
    pub alert: Option<tables::AlertTable>,
    /// Band table in force, if known.
    pub bands: Option<tables::BandTable>,
    /// Versions in force of the trigger tables (whether known or not).
    pub versions: Vec<InForce>,
}

impl Contents {
    /// What is in force at `t_ns`.
    ///
    /// # Errors
    /// SQLite errors (an image that does not decode is reported as unknown).
    pub fn at(conn: &Connection, t_ns: i64) -> anyhow::Result<Contents> {
        Self::of(conn, &in_force_at(conn, t_ns)?)
    }

    /// The contents of the versions `in_force` (from [`in_force_at`]).
    ///
    /// # Errors
    /// SQLite errors (an image that does not decode is reported as unknown).
    pub fn of(conn: &Connection, in_force: &[InForce]) -> anyhow::Result<Contents> {
        let mut c = Contents::default();
        for &f in in_force {
            let Some(id) = TableId::from_u8(f.table_id).filter(|t| TRIGGER_TABLES.contains(t))
            else {
                continue;
            };
            c.versions.push(f);
            let Some((img, _)) = image(conn, &f)? else { continue };
            match id {
                TableId::Crt => c.crt = tables::image::parse(&img).ok(),
                TableId::Imt => c.imt = tables::image::parse(&img).ok(),
                TableId::Alert => c.alert = tables::image::parse(&img).ok(),
                TableId::Bands => c.bands = tables::image::parse(&img).ok(),
                _ => {}
            }
        }
        Ok(c)
    }

    fn version(&self, id: TableId) -> Option<u16> {
        self.versions.iter().find(|f| f.table_id == id as u8).map(|f| f.version)
    }

    /// The SNR an alert of `trigger_type` (`crt`/`imt`, any case) on `timescale_ms` had to
    /// reach, as text: `≥ 6.5 σ (crt v3)`; `unknown (crt version 4 not seen)` when the version
    /// in force was never dumped; `None` when no table version is known at all or no entry of
    /// the table has that timescale.
    pub fn alert_threshold(&self, trigger_type: &str, timescale_ms: i64) -> Option<String> {
        let crt = trigger_type.eq_ignore_ascii_case("crt");
        let id = if crt { TableId::Crt } else { TableId::Imt };
        let v = self.version(id)?;
        let snr = if crt {
            let Some(t) = &self.crt else {
                return Some(format!("unknown ({} version {v} not seen)", id.key()));
            };
            let ts = t.timescales.iter().find(|s| i64::from(s.duration_ms) == timescale_ms)?;
            ts.rate_snr.iter().copied().reduce(f32::min)?
        } else {
            let Some(t) = &self.imt else {
                return Some(format!("unknown ({} version {v} not seen)", id.key()));
            };
            let acc = t.accumulations.iter().find(|a| {
                i64::from(a.cycles).saturating_mul(i64::from(t.cycle_ms)) == timescale_ms
            })?;
            acc.snr
        };
        Some(format!("≥ {} σ ({} v{v})", fmt_f32(snr), id.key()))
    }

    /// Every trigger table in force with its thresholds, or why they are unknown.
    pub fn describe(&self, conn: &Connection) -> anyhow::Result<Vec<TableThresholds>> {
        let mut out = Vec::new();
        for id in TRIGGER_TABLES {
            let Some(f) = self.versions.iter().find(|f| f.table_id == id as u8) else { continue };
            let seen = image(conn, f)?.map(|(_, t)| t);
            let mut rows = Vec::new();
            match id {
                TableId::Crt => {
                    if let Some(t) = &self.crt {
                        for ts in &t.timescales {
                            for (b, snr) in t.bands.iter().zip(&ts.rate_snr) {
                                rows.push((
                                    format!("rate SNR, {} ms, {}", ts.duration_ms, self.band(b)),
                                    format!("{} σ", fmt_f32(*snr)),
                                ));
                            }
                        }
                        rows.push((
                            "image SNR confirming a rate trigger".to_owned(),
                            format!("{} σ", fmt_f32(t.image_snr)),
                        ));
                    }
                }
                TableId::Imt => {
                    if let Some(t) = &self.imt {
                        for a in &t.accumulations {
                            rows.push((
                                format!("image SNR, {} × {} ms accumulation", a.cycles, t.cycle_ms),
                                format!("{} σ", fmt_f32(a.snr)),
                            ));
                        }
                    }
                }
                TableId::Alert => {
                    if let Some(t) = &self.alert {
                        rows.push((
                            "minimum SNR of an alert".to_owned(),
                            format!("{} σ", fmt_f32(t.min_alert_snr)),
                        ));
                        rows.push((
                            "minimum SNR of a slew request".to_owned(),
                            format!("{} σ", fmt_f32(t.min_slew_snr)),
                        ));
                    }
                }
                _ => {
                    if let Some(t) = &self.bands {
                        for (i, b) in t.bands.iter().enumerate() {
                            rows.push((
                                format!("elementary band {i}"),
                                format!("{}–{} keV", fmt_f32(b.low_kev), fmt_f32(b.high_kev)),
                            ));
                        }
                    }
                }
            }
            let known = match id {
                TableId::Crt => self.crt.is_some(),
                TableId::Imt => self.imt.is_some(),
                TableId::Alert => self.alert.is_some(),
                _ => self.bands.is_some(),
            };
            let unknown = (!known).then(|| match seen {
                Some(_) => format!("unknown (version {} does not decode)", f.version),
                None => format!("unknown (version {} not seen)", f.version),
            });
            out.push(TableThresholds {
                table: id.key().to_owned(),
                version: f.version,
                crc: f.crc,
                image_seen_ns: seen.filter(|_| known),
                rows,
                unknown,
            });
        }
        Ok(out)
    }

    fn band(&self, b: &tables::TriggerBand) -> String {
        let range = if b.first == b.last {
            format!("band {}", b.first)
        } else {
            format!("bands {}–{}", b.first, b.last)
        };
        let kev = self.bands.as_ref().and_then(|t| {
            let lo = t.bands.get(usize::from(b.first))?.low_kev;
            let hi = t.bands.get(usize::from(b.last))?.high_kev;
            Some(format!(" ({}–{} keV)", fmt_f32(lo), fmt_f32(hi)))
        });
        format!("{range}{}", kev.unwrap_or_default())
    }
}

fn fmt_f32(v: f32) -> String {
    // The shortest decimal that reads back to the same f32, as the text forms write it.
    format!("{v}")
}
