//! [`MonitorData`] over the monitor's SQLite store ([`crate::monitor::db::Store`]): the
//! page's queries, alarm actions through [`crate::monitor::alarm`], and the `users` table.
//!
//! Two connections of its own (WAL lets them read beside the ingesting writer): one answers
//! the pages, one only polls `PRAGMA data_version` for the live updates (that number changes
//! when *another* connection commits, so the page's own writes are counted separately).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::{OptionalExtension, params};

use super::data::{
    AlarmLists, AlarmView, AlertView, FileView, Gauge, MonitorData, Overview, ParamNow, Resolution,
    Role, TableVersions, TrendPoint, TriggerView, UserRecord,
};
use crate::hk_limits::{LimitSet, Limits};
use crate::monitor::alarm::{self, Alarm, Filter};
use crate::monitor::db::{self, DAY_NS, Store};
use crate::monitor::thresholds::{self, Contents};

/// Alerts the trigger page lists (newest first); the sky map shows the same.
pub const MAX_ALERTS: usize = 500;
/// Recently closed alarms the alarms page lists.
pub const RECENT_ALARMS: u32 = 50;
/// Files the files page lists.
pub const MAX_FILES: u32 = 500;

const NS_PER_MS: i64 = 1_000_000;

/// Table versions in force: `(table ID, version, CRC)` each.
type VersionsKey = Vec<(u8, u16, u32)>;

/// The monitor's store as the web page sees it.
pub struct StoreData {
    main: Mutex<Store>,
    stamp: Mutex<Store>,
    own_writes: AtomicU64,
    limits: LimitSet,
}

impl std::fmt::Debug for StoreData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreData").finish_non_exhaustive()
    }
}

impl StoreData {
    /// Opens two connections to the database at `path`; `limits` colour the parameters.
    ///
    /// # Errors
    /// The database cannot be opened.
    pub fn open(path: &std::path::Path, limits: LimitSet) -> anyhow::Result<StoreData> {
        Ok(StoreData {
            main: Mutex::new(Store::open(path)?),
            stamp: Mutex::new(Store::open(path)?),
            own_writes: AtomicU64::new(0),
            limits,
        })
    }

    fn with<T>(&self, f: impl FnOnce(&mut Store) -> anyhow::Result<T>) -> anyhow::Result<T> {
        let mut s = self.main.lock().map_err(|_| anyhow::anyhow!("store connection poisoned"))?;
        f(&mut s)
    }

    fn wrote(&self) {
        self.own_writes.fetch_add(1, Ordering::Relaxed);
    }
}

fn limits_text(l: &Limits) -> String {
    let mut parts = Vec::new();
    let num = |v: f64| {
        if v.fract() == 0.0 { format!("{v:.0}") } else { format!("{v}") }
    };
    match (l.soft_low, l.soft_high) {
        (Some(a), Some(b)) => parts.push(format!("soft {} … {}", num(a), num(b))),
        (Some(a), None) => parts.push(format!("soft ≥ {}", num(a))),
        (None, Some(b)) => parts.push(format!("soft ≤ {}", num(b))),
        (None, None) => {}
    }
    match (l.hard_low, l.hard_high) {
        (Some(a), Some(b)) => parts.push(format!("hard {} … {}", num(a), num(b))),
        (Some(a), None) => parts.push(format!("hard ≥ {}", num(a))),
        (None, Some(b)) => parts.push(format!("hard ≤ {}", num(b))),
        (None, None) => {}
    }
    parts.join(", ")
}

fn ms(ns: i64) -> i64 {
    ns.div_euclid(NS_PER_MS)
}

fn subject(key: &str) -> String {
    if let Some(p) = key.strip_prefix("hk:") { p.to_owned() } else { key.to_owned() }
}

fn view(a: &Alarm, now_ns: i64) -> AlarmView {
    let state = a.state(now_ns);
    let last_note = match (&a.acked_by, &a.shelve_reason, state) {
        (_, Some(r), "shelved") => Some(format!("shelved: {r}")),
        (Some(by), _, _) => Some(format!(
            "acknowledged by {by}{}",
            a.ack_comment
                .as_deref()
                .filter(|c| !c.is_empty())
                .map_or(String::new(), |c| format!(": {c}"))
        )),
        _ => None,
    };
    AlarmView {
        id: a.id,
        subject: subject(&a.key),
        severity: a.severity_name().to_owned(),
        state: state.to_owned(),
        message: a.message.clone(),
        raised_ms: ms(a.raised_ns),
        last_note,
        shelved_until_ms: a.shelved_until_ns.filter(|&t| t > now_ns).map(ms),
    }
}

fn now_ns() -> i64 {
    crate::archive::now_utc_ns()
}

impl MonitorData for StoreData {
    fn change_stamp(&self) -> anyhow::Result<u64> {
        let s = self.stamp.lock().map_err(|_| anyhow::anyhow!("store connection poisoned"))?;
        let v: i64 = s.conn().query_row("PRAGMA data_version", [], |r| r.get(0))?;
        Ok((v as u64).wrapping_add(self.own_writes.load(Ordering::Relaxed) << 32))
    }

    fn overview(&self) -> anyhow::Result<Overview> {
        self.with(|s| {
            let now = now_ns();
            let mut o = Overview::default();
            if let Some(hk) = s.latest_hk()? {
                let get = |n: &str| hk.values.iter().find(|(k, _)| k == n).map(|(_, v)| *v);
                o.mode = get("mode").map(|v| crate::names::mode_name(v as u8));
                o.software = match (get("sw_version"), get("boot_bank")) {
                    (Some(v), Some(b)) => Some(format!(
                        "{} (bank {})",
                        crate::names::version_text(v as u32),
                        crate::names::bank_name(b as u8)
                    )),
                    _ => None,
                };
                o.last_hk_ms = Some(ms(hk.rx_ns));
                for (name, value) in &hk.values {
                    let lim = self.limits.get(name);
                    o.params.push(ParamNow {
                        name: name.clone(),
                        value: *value,
                        unit: lim.and_then(|l| l.unit.clone()),
                        severity: self.limits.check(name, *value).severity(),
                        limits: lim.map(limits_text).unwrap_or_default(),
                    });
                }
            }
            let link: Option<(String, bool, String, i64)> = s
                .conn()
                .query_row(
                    "SELECT s.name, e.up, e.detail, e.at_ns FROM link_events e \
                     JOIN sources s ON s.id = e.source_id ORDER BY e.at_ns DESC, e.rowid DESC LIMIT 1",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()?;
            let live: i64 = s.conn().query_row(
                "SELECT COUNT(*) FROM sources WHERE kind = 'device' AND status = 'live'",
                [],
                |r| r.get(0),
            )?;
            o.link = match link {
                Some((dev, true, _, at)) if live > 0 => {
                    format!("up ({dev}, since {})", super::pages::utc_ms(ms(at)))
                }
                Some((dev, _, detail, at)) => format!(
                    "down ({dev}: {detail}, since {})",
                    super::pages::utc_ms(ms(at))
                ),
                None => "no live source (files only)".to_owned(),
            };
            let mut counts: Vec<(String, u64)> = Vec::new();
            for a in alarm::list(s.conn(), Filter::Open)? {
                if matches!(a.state(now), "shelved" | "closed") {
                    continue;
                }
                let sev = a.severity_name().to_owned();
                match counts.iter_mut().find(|(k, _)| *k == sev) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((sev, 1)),
                }
            }
            counts.sort_by(|a, b| b.0.cmp(&a.0));
            o.open_alarms = counts;
            Ok(o)
        })
    }

    fn alarms(&self) -> anyhow::Result<AlarmLists> {
        self.with(|s| {
            let now = now_ns();
            let mut l = AlarmLists::default();
            for a in alarm::list(s.conn(), Filter::Open)? {
                let v = view(&a, now);
                if v.state == "shelved" {
                    l.shelved.push(v);
                } else {
                    l.open.push(v);
                }
            }
            for a in alarm::list(s.conn(), Filter::Recent(RECENT_ALARMS))? {
                if a.closed {
                    l.recent.push(view(&a, now));
                }
            }
            Ok(l)
        })
    }

    fn acknowledge(&self, id: i64, user: &str, comment: &str) -> anyhow::Result<()> {
        self.with(|s| alarm::acknowledge(s.conn_mut(), id, user, comment, now_ns()))?;
        self.wrote();
        Ok(())
    }

    fn shelve(&self, id: i64, user: &str, reason: &str, until_ms: i64) -> anyhow::Result<()> {
        self.with(|s| {
            alarm::shelve(
                s.conn_mut(),
                id,
                user,
                reason,
                until_ms.saturating_mul(NS_PER_MS),
                now_ns(),
            )
        })?;
        self.wrote();
        Ok(())
    }

    fn parameters(&self) -> anyhow::Result<Vec<String>> {
        let mut v: Vec<String> =
            tc_tm::service::housekeeping::HkReport::field_names().map(str::to_owned).collect();
        v.sort();
        Ok(v)
    }

    fn trend(
        &self,
        param: &str,
        from_ms: i64,
        to_ms: i64,
        max_points: usize,
    ) -> anyhow::Result<(Resolution, Vec<TrendPoint>)> {
        self.with(|s| {
            let t = s.trend(
                param,
                from_ms.saturating_mul(NS_PER_MS),
                to_ms.saturating_mul(NS_PER_MS),
                Some(max_points),
            )?;
            let res = match t.resolution {
                db::Resolution::Raw => Resolution::Raw,
                db::Resolution::Hourly => Resolution::Hourly,
                db::Resolution::Daily => Resolution::Daily,
            };
            let pts = t
                .points
                .iter()
                .map(|p| TrendPoint {
                    t_ms: ms(p.t_ns),
                    min: p.min,
                    mean: p.mean,
                    max: p.max,
                    count: p.n,
                })
                .collect();
            Ok((res, pts))
        })
    }

    fn time_span(&self) -> anyhow::Result<Option<(i64, i64)>> {
        self.with(|s| {
            // One aggregate per query: SQLite answers a lone MIN or MAX from the index, but
            // `SELECT MIN(x), MAX(x)` scans the table (2.6 M rows a month: 110 ms).
            let one = |sql: &str| -> anyhow::Result<Option<i64>> {
                Ok(s.conn().query_row(sql, [], |r| r.get(0))?)
            };
            let (first, last) =
                (one("SELECT MIN(rx_ns) FROM hk")?, one("SELECT MAX(rx_ns) FROM hk")?);
            let (agg_first, agg_last) = (
                one("SELECT MIN(bucket_ns) FROM hk_daily")?,
                one("SELECT MAX(bucket_ns) FROM hk_daily")?,
            );
            let lo = [first, agg_first].into_iter().flatten().min();
            let hi = last.or(agg_last.map(|d| d + DAY_NS));
            Ok(lo.zip(hi).map(|(a, b)| (ms(a), ms(b))))
        })
    }

    fn trigger(&self) -> anyhow::Result<TriggerView> {
        self.with(|s| {
            let mut t = TriggerView::default();
            let mut st = s.conn().prepare_cached(
                "SELECT id, rx_ns, trigger_type, timescale_ms, rate_snr, image_snr, ra_deg, dec_deg, \
                 catalogue_id FROM alerts ORDER BY rx_ns DESC, id DESC LIMIT ?1",
            )?;
            let rows = st.query_map([MAX_ALERTS as i64], |r| {
                let rate: f64 = r.get(4)?;
                let image: f64 = r.get(5)?;
                let cat: i64 = r.get(8)?;
                let ra: f64 = r.get(6)?;
                let dec: f64 = r.get(7)?;
                let located = ra.is_finite() && dec.is_finite() && (ra != 0.0 || dec != 0.0 || image > 0.0);
                Ok(AlertView {
                    id: r.get(0)?,
                    t_ms: ms(r.get(1)?),
                    kind: r.get(2)?,
                    timescale_ms: r.get::<_, i64>(3)? as f64,
                    snr: rate.max(image),
                    ra_deg: located.then_some(ra),
                    dec_deg: located.then_some(dec),
                    catalog_id: u32::try_from(cat).ok().filter(|&c| c != 0),
                    threshold: None,
                })
            })?;
            t.alerts = rows.collect::<Result<_, _>>()?;
            // Each alert against the thresholds in force when it was received.
            // (Tables change rarely: contents are decoded once per set of versions.)
            let mut seen: Vec<(VersionsKey, Contents)> = Vec::new();
            for a in &mut t.alerts {
                let at = a.t_ms.saturating_mul(NS_PER_MS).saturating_add(NS_PER_MS - 1);
                let versions = thresholds::in_force_at(s.conn(), at)?;
                let key: VersionsKey =
                    versions.iter().map(|f| (f.table_id, f.version, f.crc)).collect();
                let c = match seen.iter().position(|(k, _)| *k == key) {
                    Some(i) => seen.get(i).map(|(_, c)| c),
                    None => {
                        seen.push((key, Contents::of(s.conn(), &versions)?));
                        seen.last().map(|(_, c)| c)
                    }
                };
                a.threshold = c.and_then(|c| c.alert_threshold(&a.kind, a.timescale_ms as i64));
            }
            if let Some(now) = db::last_hk_ns(s.conn())?.or(s
                .conn()
                .query_row("SELECT MAX(rx_ns) FROM table_dirs", [], |r| r.get::<_, Option<i64>>(0))?)
            {
                let c = Contents::at(s.conn(), now)?;
                t.thresholds = c.describe(s.conn())?;
                t.thresholds_at_ms = Some(ms(now));
            }
            let mut st = s.conn().prepare_cached(
                "SELECT rx_ns / ?1 * ?1 AS day, COUNT(*) FROM alerts GROUP BY day ORDER BY day",
            )?;
            let rows = st.query_map([DAY_NS], |r| Ok((ms(r.get(0)?), r.get::<_, i64>(1)?.max(0) as u64)))?;
            t.alerts_per_day = rows.collect::<Result<_, _>>()?;
            if let Some(hk) = s.latest_hk()? {
                for (name, value) in &hk.values {
                    let wanted = name.starts_with("rate_sector")
                        || matches!(name.as_str(), "crt_enabled" | "imt_enabled" | "saa_inhibited" | "in_saa");
                    if wanted {
                        t.gauges.push(Gauge {
                            name: name.clone(),
                            value: *value,
                            threshold: self.limits.get(name).and_then(|l| l.soft_high),
                        });
                    }
                }
            }
            let by_type: Vec<(String, i64)> = {
                let mut st = s.conn().prepare_cached(
                    "SELECT trigger_type, COUNT(*) FROM alerts GROUP BY trigger_type ORDER BY trigger_type",
                )?;
                let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                rows.collect::<Result<_, _>>()?
            };
            for (k, n) in by_type {
                t.gauges.push(Gauge { name: format!("{k} alerts (all time)"), value: n as f64, threshold: None });
            }
            let mut last: Vec<(String, u32)> = Vec::new();
            for v in s.table_versions(i64::MIN, i64::MAX)? {
                let name = crate::names::table_key(v.table_id as u8);
                let ver = u32::try_from(v.active_version).unwrap_or(0);
                match last.iter_mut().find(|(n, _)| *n == name) {
                    Some(e) => e.1 = ver,
                    None => last.push((name, ver)),
                }
                let tms = ms(v.rx_ns);
                match t.tables.last_mut() {
                    Some(row) if row.t_ms == tms => row.versions = last.clone(),
                    _ => t.tables.push(TableVersions { t_ms: tms, versions: last.clone() }),
                }
            }
            Ok(t)
        })
    }

    fn files(&self) -> anyhow::Result<Vec<FileView>> {
        self.with(|s| {
            Ok(s.sources(None, MAX_FILES)?
                .into_iter()
                .filter(|f| f.kind != "device")
                .map(|f| {
                    let detail = match (&f.reason, f.status.as_str()) {
                        (Some(r), "quarantined") => r.clone(),
                        _ => format!(
                            "{} packets: {} HK, {} events, {} failures, {} alerts, {} directories{}",
                            f.packets,
                            f.hk,
                            f.events,
                            f.failures,
                            f.alerts,
                            f.directories,
                            if f.damaged > 0 { format!("; {} damaged skipped", f.damaged) } else { String::new() }
                        ),
                    };
                    FileView {
                        name: f.name,
                        outcome: f.status,
                        t_ms: ms(f.finished_ns.unwrap_or(f.started_ns)),
                        detail,
                        sha256: f.sha256,
                    }
                })
                .collect())
        })
    }

    fn user(&self, name: &str) -> anyhow::Result<Option<UserRecord>> {
        self.with(|s| {
            let r: Option<(String, String, String)> = s
                .conn()
                .query_row(
                    "SELECT name, role, password_hash FROM users WHERE name = ?1 AND disabled = 0",
                    [name],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            Ok(r.and_then(|(name, role, password_hash)| {
                Role::parse(&role).map(|role| UserRecord { name, role, password_hash })
            }))
        })
    }

    fn users(&self) -> anyhow::Result<Vec<UserRecord>> {
        self.with(|s| {
            let mut st = s.conn().prepare(
                "SELECT name, role, password_hash FROM users WHERE disabled = 0 ORDER BY name",
            )?;
            let rows = st.query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?))
            })?;
            let mut out = Vec::new();
            for r in rows {
                let (name, role, password_hash) = r?;
                if let Some(role) = Role::parse(&role) {
                    out.push(UserRecord { name, role, password_hash });
                }
            }
            Ok(out)
        })
    }

    fn put_user(&self, u: &UserRecord) -> anyhow::Result<()> {
        self.with(|s| {
            s.conn().execute(
                "INSERT INTO users (name, role, password_hash, created_ns) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (name) DO UPDATE SET role = ?2, password_hash = ?3, disabled = 0",
                params![u.name, u.role.as_str(), u.password_hash, now_ns()],
            )?;
            Ok(())
        })?;
        self.wrote();
        Ok(())
    }

    fn delete_user(&self, name: &str) -> anyhow::Result<bool> {
        let n =
            self.with(|s| Ok(s.conn().execute("DELETE FROM users WHERE name = ?1", [name])?))?;
        self.wrote();
        Ok(n > 0)
    }
}
