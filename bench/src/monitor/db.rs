//! The monitor's store: one SQLite file in WAL mode, the schema of `bench/migrations/`, the
//! ingestion transaction ([`Batch`]) and the queries the web page and the reports read.
//!
//! # Opening
//!
//! [`Store::open`] creates the file if needed, switches it to WAL (readers never block the
//! writer, a crash loses at most the transaction in flight), sets a busy timeout so several
//! connections (the ingestion thread, the web server's handlers, `monitor alarm ack`) can share
//! it, applies the migrations not yet applied (each in its own transaction, recorded in
//! `PRAGMA user_version`), and registers the SQL function `hk_value(data, 'name')` that reads
//! one housekeeping parameter from a stored report.
//!
//! # Time
//!
//! Every `*_ns` column is UTC nanoseconds since 1970 (reception time for telemetry, wall time
//! for human actions); `cuc_s` is the on-board time in seconds since the mission epoch.
//!
//! # Writing
//!
//! Ingestion writes one source (a dropped file, or a stretch of a live session) in one
//! [`Batch`]: a transaction holding the source's provenance row, its rows, the aggregates it
//! moves, and the alarm transitions it causes. [`Batch::commit`] makes all of it durable at
//! once; a crash before that leaves none of it. That is what makes `--watch` idempotent: a
//! file is known by its SHA-256 ([`Store::source_by_hash`]) only once its rows are committed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;
use tc_tm::service::housekeeping::{HkReport, HousekeepingReport, Report as HkMsg};

/// The migrations, in order: `(name, SQL)`. The schema version is the number applied.
pub const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_store", include_str!("../../migrations/0001_store.sql")),
    ("0002_columns_tables", include_str!("../../migrations/0002_columns_tables.sql")),
];

/// Nanoseconds per hour.
pub const HOUR_NS: i64 = 3_600_000_000_000;
/// Nanoseconds per day.
pub const DAY_NS: i64 = 24 * HOUR_NS;

/// Intervals up to this long are answered from raw rows by [`Store::trend`].
pub const RAW_TREND_MAX_NS: i64 = 2 * DAY_NS;
/// Intervals up to this long (and above [`RAW_TREND_MAX_NS`]) from hourly aggregates; longer
/// ones from daily aggregates.
pub const HOURLY_TREND_MAX_NS: i64 = 90 * DAY_NS;

/// The store (one connection). Open one per thread; they share the file.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish_non_exhaustive()
    }
}

/// The SID 1 report of stored HK data (source data of a 3,25 report), if it is one.
pub fn decode_hk(data: &[u8]) -> Option<HkReport> {
    match HkMsg::parse(25, data) {
        Ok(HkMsg::Housekeeping(HousekeepingReport::Ugts(hk))) => Some(hk),
        _ => None,
    }
}

/// Index of parameter `name` in [`HkReport::fields`] order.
pub fn param_index(name: &str) -> Option<usize> {
    HkReport::field_names().position(|n| n == name)
}

/// Value of the parameter at `index` of a report.
pub fn param_value(hk: &HkReport, index: usize) -> Option<f64> {
    hk.fields().nth(index).map(|(_, v)| v)
}

/// One housekeeping sample as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HkSample {
    /// Reception time, UTC ns.
    pub rx_ns: i64,
    /// On-board time, s since the mission epoch.
    pub cuc_s: f64,
    /// Every parameter by name, in report order.
    pub values: Vec<(String, f64)>,
}

/// Which rows a trend was computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Resolution {
    /// Raw samples (possibly decimated into min/mean/max bins).
    Raw,
    /// Hourly aggregates.
    Hourly,
    /// Daily aggregates.
    Daily,
}

/// One point of a trend: a sample, or the aggregate of a bin.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TrendPoint {
    /// Start of the bin (or the sample's time), UTC ns.
    pub t_ns: i64,
    /// Smallest value in the bin.
    pub min: f64,
    /// Mean value.
    pub mean: f64,
    /// Largest value.
    pub max: f64,
    /// Samples in the bin.
    pub n: u64,
}

/// A parameter over an interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trend {
    /// The parameter.
    pub param: String,
    /// Where the points come from.
    pub resolution: Resolution,
    /// Points in time order.
    pub points: Vec<TrendPoint>,
}

/// A source (file or live session) with its provenance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Source {
    /// Row id.
    pub id: i64,
    /// `archive`, `cadu`, `events`, `attitude`, `orbit`, `device`, `unknown`.
    pub kind: String,
    /// File name as dropped, or the DEVICE word.
    pub name: String,
    /// SHA-256 of the file content (hex).
    pub sha256: Option<String>,
    /// File size, octets.
    pub size: Option<i64>,
    /// `ingested`, `quarantined`, `live`, `closed`.
    pub status: String,
    /// Why quarantined, or how a live session ended.
    pub reason: Option<String>,
    /// When ingestion started, UTC ns.
    pub started_ns: i64,
    /// When it finished.
    pub finished_ns: Option<i64>,
    /// Packets decoded.
    pub packets: i64,
    /// HK reports stored.
    pub hk: i64,
    /// Events stored.
    pub events: i64,
    /// Failures stored.
    pub failures: i64,
    /// Alerts stored.
    pub alerts: i64,
    /// Table directory reports stored.
    pub directories: i64,
    /// Damaged records, frames or packets skipped.
    pub damaged: i64,
    /// First reception time of the content.
    pub first_ns: Option<i64>,
    /// Last reception time of the content.
    pub last_ns: Option<i64>,
}

const SOURCE_COLS: &str = "id, kind, name, sha256, size, status, reason, started_ns, finished_ns, \
     packets, hk, events, failures, alerts, directories, damaged, first_ns, last_ns";

fn source_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Source> {
    Ok(Source {
        id: r.get(0)?,
        kind: r.get(1)?,
        name: r.get(2)?,
        sha256: r.get(3)?,
        size: r.get(4)?,
        status: r.get(5)?,
        reason: r.get(6)?,
        started_ns: r.get(7)?,
        finished_ns: r.get(8)?,
        packets: r.get(9)?,
        hk: r.get(10)?,
        events: r.get(11)?,
        failures: r.get(12)?,
        alerts: r.get(13)?,
        directories: r.get(14)?,
        damaged: r.get(15)?,
        first_ns: r.get(16)?,
        last_ns: r.get(17)?,
    })
}

/// A stored trigger alert.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertRow {
    /// Row id.
    pub id: i64,
    /// Reception time, UTC ns.
    pub rx_ns: i64,
    /// On-board time of the report.
    pub cuc_s: f64,
    /// `CRT` or `IMT`.
    pub trigger_type: String,
    /// On-board burst counter.
    pub burst_id: i64,
    /// Alert sequence number within the burst.
    pub seq_num: i64,
    /// Timescale, ms.
    pub timescale_ms: i64,
    /// Rate SNR, σ.
    pub rate_snr: f64,
    /// Image SNR, σ.
    pub image_snr: f64,
    /// Right ascension, degrees.
    pub ra_deg: f64,
    /// Declination, degrees.
    pub dec_deg: f64,
    /// r90 error radius, degrees.
    pub error_deg: f64,
    /// Catalogue ID, 0 if none.
    pub catalogue_id: i64,
    /// The GCN notice, JSON text.
    pub notice: String,
}

/// One table's versions as a directory report gave them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableVersion {
    /// Reception time of the report, UTC ns.
    pub rx_ns: i64,
    /// Table ID.
    pub table_id: i64,
    /// Active version.
    pub active_version: i64,
    /// Active image CRC-32.
    pub active_crc: i64,
    /// Inactive buffer state (wire value).
    pub inactive_state: i64,
    /// Inactive buffer version.
    pub inactive_version: i64,
}

/// Row counts of the main tables.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// HK reports.
    pub hk: i64,
    /// ST\[05\] events.
    pub events: i64,
    /// ST\[01\] failures.
    pub failures: i64,
    /// Trigger alerts.
    pub alerts: i64,
    /// Table directory entries.
    pub table_dirs: i64,
    /// Sources ingested.
    pub ingested: i64,
    /// Sources quarantined.
    pub quarantined: i64,
    /// Event-file summaries.
    pub event_files: i64,
    /// Hourly aggregate rows.
    pub hk_hourly: i64,
    /// Daily aggregate rows.
    pub hk_daily: i64,
    /// Alarms (all states).
    pub alarms: i64,
    /// Alarm transitions.
    pub alarm_transitions: i64,
}

impl Store {
    /// Opens (creating if needed) the store at `path` and brings its schema up to date.
    ///
    /// # Errors
    /// The file cannot be opened or is not a database; a migration fails; the file has a
    /// newer schema than this program knows.
    pub fn open(path: impl AsRef<Path>) -> anyhow::Result<Self> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("{}: cannot create the directory", dir.display()))?;
        }
        let conn = Connection::open(&path)
            .with_context(|| format!("{}: cannot open the monitor database", path.display()))?;
        let mut s = Self { conn, path };
        s.setup().with_context(|| format!("{}: monitor database", s.path.display()))?;
        Ok(s)
    }

    fn setup(&mut self) -> anyhow::Result<()> {
        self.conn.busy_timeout(Duration::from_secs(30))?;
        // Switching a new file to WAL takes an exclusive lock, and SQLite answers "database is
        // locked" at once, without its busy handler, when another connection is switching the
        // same file at that moment (two processes opening a new database together): retry here
        // for as long as the busy timeout would have waited.
        let started = std::time::Instant::now();
        let mode: String = loop {
            match self.conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)) {
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::DatabaseBusy
                        && started.elapsed() < Duration::from_secs(30) =>
                {
                    std::thread::sleep(Duration::from_millis(5));
                }
                other => break other?,
            }
        };
        anyhow::ensure!(mode.eq_ignore_ascii_case("wal"), "cannot switch to WAL (mode {mode})");
        // NORMAL in WAL: a commit is atomic and survives a process crash (kill -9); only a
        // power cut can lose the last commits, never corrupt the file.
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        self.conn.pragma_update(None, "foreign_keys", "ON")?;
        // Reads through the page cache of the OS (no copy per page) and a 32 MiB cache: a
        // day of raw HK is about 15 MB.
        self.conn.pragma_update(None, "mmap_size", 1i64 << 30)?;
        self.conn.pragma_update(None, "cache_size", -32_768)?;
        self.conn.create_scalar_function(
            "hk_value",
            2,
            FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
            |ctx| {
                let data: Vec<u8> = ctx.get(0)?;
                let name: String = ctx.get(1)?;
                Ok(decode_hk(&data).and_then(|hk| hk.field(&name)))
            },
        )?;
        let version: i64 = self.conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let known = MIGRATIONS.len() as i64;
        anyhow::ensure!(
            version <= known,
            "schema version {version} is newer than this eic-bench knows ({known}): use a newer \
             eic-bench"
        );
        if version == known {
            return Ok(());
        }
        // Another process (a monitor starting, `monitor report`, `monitor alarm ack`) may open
        // the same new file at the same moment: take the write lock first, then read the
        // version again, so that each migration is applied exactly once.
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        for (i, (name, sql)) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
            tx.execute_batch(sql).with_context(|| format!("migration {name}"))?;
            if *name == "0002_columns_tables" {
                // The HK rows stored before: their hours transposed as ingestion now does.
                let buckets: Vec<i64> = {
                    let mut st = tx.prepare(
                        "SELECT DISTINCT (rx_ns - (rx_ns % ?1 + ?1) % ?1) FROM hk ORDER BY 1",
                    )?;
                    let rows = st.query_map([HOUR_NS], |r| r.get(0))?;
                    rows.collect::<Result<_, _>>()?
                };
                for b in buckets {
                    rebuild_chunk(&tx, b).with_context(|| format!("migration {name}"))?;
                }
            }
            tx.pragma_update(None, "user_version", i as i64 + 1)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The connection, for queries this API does not cover (read the schema in
    /// `bench/migrations/`; `hk_value(data, 'name')` is registered).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The connection, mutably (transactions).
    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Schema version (number of migrations applied).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn schema_version(&self) -> anyhow::Result<i64> {
        Ok(self.conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// Starts the ingestion of one source: its provenance row and everything it brings, in
    /// one transaction (see [`Batch`]).
    ///
    /// # Errors
    /// SQLite errors, or a file whose hash is already stored.
    pub fn begin(&mut self, source: NewSource<'_>) -> anyhow::Result<Batch<'_>> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO sources (kind, name, sha256, size, status, reason, started_ns) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                source.kind,
                source.name,
                source.sha256,
                source.size,
                source.status,
                source.reason,
                source.started_ns
            ],
        )
        .with_context(|| format!("recording source {}", source.name))?;
        let source_id = tx.last_insert_rowid();
        Ok(Batch::new(tx, source_id))
    }

    /// Continues a live source (a device session) in a new transaction.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn resume(&mut self, source_id: i64) -> anyhow::Result<Batch<'_>> {
        let tx = self.conn.transaction()?;
        Ok(Batch::new(tx, source_id))
    }

    /// The source whose content has this SHA-256, if any was committed.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn source_by_hash(&self, sha256: &str) -> anyhow::Result<Option<Source>> {
        let sql = format!("SELECT {SOURCE_COLS} FROM sources WHERE sha256 = ?1");
        Ok(self.conn.query_row(&sql, [sha256], source_row).optional()?)
    }

    /// The most recent sources, newest first (`limit` rows), optionally of one status.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn sources(&self, status: Option<&str>, limit: u32) -> anyhow::Result<Vec<Source>> {
        let sql = format!(
            "SELECT {SOURCE_COLS} FROM sources WHERE (?1 IS NULL OR status = ?1) \
             ORDER BY id DESC LIMIT ?2"
        );
        let mut st = self.conn.prepare(&sql)?;
        let rows = st.query_map(params![status, limit], source_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The last HK report received (by reception time).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn latest_hk(&self) -> anyhow::Result<Option<HkSample>> {
        let row = self
            .conn
            .query_row("SELECT rx_ns, cuc_s, data FROM hk ORDER BY rx_ns DESC LIMIT 1", [], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, f64>(1)?, r.get::<_, Vec<u8>>(2)?))
            })
            .optional()?;
        Ok(row.and_then(|(rx_ns, cuc_s, data)| {
            let hk = decode_hk(&data)?;
            let values = hk.fields().map(|(n, v)| (n.to_owned(), v)).collect();
            Some(HkSample { rx_ns, cuc_s, values })
        }))
    }

    /// Parameter `param` over `[from_ns, to_ns)`: raw samples for intervals up to
    /// [`RAW_TREND_MAX_NS`], hourly aggregates up to [`HOURLY_TREND_MAX_NS`], daily beyond.
    /// With `max_points`, raw samples are binned into at most that many min/mean/max points.
    /// An interval the raw rows no longer cover (retention) falls back to hourly aggregates.
    ///
    /// # Errors
    /// An unknown parameter name; SQLite errors.
    pub fn trend(
        &self,
        param: &str,
        from_ns: i64,
        to_ns: i64,
        max_points: Option<usize>,
    ) -> anyhow::Result<Trend> {
        let index = param_index(param).with_context(|| {
            format!("unknown housekeeping parameter `{param}` (see `eic-bench hk --json`)")
        })?;
        let span = to_ns.saturating_sub(from_ns);
        let oldest_raw: Option<i64> =
            self.conn.query_row("SELECT MIN(rx_ns) FROM hk", [], |r| r.get(0))?;
        let oldest_agg: Option<i64> = self.conn.query_row(
            "SELECT MIN(bucket_ns) FROM hk_hourly WHERE param = ?1",
            [param],
            |r| r.get(0),
        )?;
        // Raw rows were pruned (retention) where aggregates are older than the oldest raw row.
        let pruned = match (oldest_raw, oldest_agg) {
            (Some(r), Some(a)) => a < r.div_euclid(HOUR_NS) * HOUR_NS,
            (None, Some(_)) => true,
            _ => false,
        };
        let raw_covers = !pruned || oldest_raw.is_some_and(|r| r <= from_ns);
        if span <= RAW_TREND_MAX_NS && raw_covers {
            let mut points = Vec::new();
            // Hour by hour: the hour's column when it has one, else its raw rows (the hour a
            // live source is still filling).
            let mut chunks = self.conn.prepare_cached(
                "SELECT c.bucket_ns, c.n, c.times, v.vals FROM hk_chunks c \
                 JOIN hk_columns v ON v.bucket_ns = c.bucket_ns AND v.param = ?3 \
                 WHERE c.bucket_ns >= ?1 AND c.bucket_ns < ?2 ORDER BY c.bucket_ns",
            )?;
            let mut rows = chunks.query(params![floor_hour(from_ns), to_ns, param])?;
            let mut covered_to = from_ns;
            while let Some(r) = rows.next()? {
                let bucket: i64 = r.get(0)?;
                let n = usize::try_from(r.get::<_, i64>(1)?).unwrap_or(0);
                let times = r.get_ref(2)?.as_blob()?;
                let vals = r.get_ref(3)?.as_blob()?;
                if bucket > covered_to {
                    self.scan_raw(index, covered_to, bucket.min(to_ns), &mut points)?;
                }
                let (Some(vals), true) = (decode_column(vals, n), times.len() == 8 * n) else {
                    // A damaged chunk (never written so): the hour's raw rows answer.
                    self.scan_raw(
                        index,
                        bucket.max(from_ns),
                        (bucket + HOUR_NS).min(to_ns),
                        &mut points,
                    )?;
                    covered_to = bucket + HOUR_NS;
                    continue;
                };
                for (t, v) in times.chunks_exact(8).zip(vals) {
                    let t = i64::from_le_bytes(t.try_into().unwrap_or([0; 8]));
                    if t >= from_ns && t < to_ns {
                        points.push(TrendPoint { t_ns: t, min: v, mean: v, max: v, n: 1 });
                    }
                }
                covered_to = bucket + HOUR_NS;
            }
            if covered_to < to_ns {
                self.scan_raw(index, covered_to, to_ns, &mut points)?;
            }
            if let Some(m) = max_points.filter(|&m| m > 0 && points.len() > m) {
                points = decimate(&points, from_ns, to_ns, m);
            }
            return Ok(Trend { param: param.to_owned(), resolution: Resolution::Raw, points });
        }
        let (table, resolution) = if span <= HOURLY_TREND_MAX_NS {
            ("hk_hourly", Resolution::Hourly)
        } else {
            ("hk_daily", Resolution::Daily)
        };
        let sql = format!(
            "SELECT bucket_ns, min, sum, max, n FROM {table} \
             WHERE param = ?1 AND bucket_ns >= ?2 AND bucket_ns < ?3 ORDER BY bucket_ns"
        );
        let mut st = self.conn.prepare_cached(&sql)?;
        let align = if resolution == Resolution::Hourly { HOUR_NS } else { DAY_NS };
        let rows = st.query_map(params![param, from_ns.div_euclid(align) * align, to_ns], |r| {
            let n: i64 = r.get(4)?;
            let sum: f64 = r.get(2)?;
            Ok(TrendPoint {
                t_ns: r.get(0)?,
                min: r.get(1)?,
                mean: if n > 0 { sum / n as f64 } else { f64::NAN },
                max: r.get(3)?,
                n: n.max(0) as u64,
            })
        })?;
        Ok(Trend { param: param.to_owned(), resolution, points: rows.collect::<Result<_, _>>()? })
    }

    /// Parameter `index` from the raw rows of `[from_ns, to_ns)` (every report decoded),
    /// appended to `points` in time order.
    fn scan_raw(
        &self,
        index: usize,
        from_ns: i64,
        to_ns: i64,
        points: &mut Vec<TrendPoint>,
    ) -> anyhow::Result<()> {
        let mut st = self.conn.prepare_cached(
            "SELECT rx_ns, data FROM hk WHERE rx_ns >= ?1 AND rx_ns < ?2 ORDER BY rx_ns",
        )?;
        let mut rows = st.query(params![from_ns, to_ns])?;
        while let Some(r) = rows.next()? {
            let t: i64 = r.get(0)?;
            let data = r.get_ref(1)?.as_blob()?;
            if let Some(v) = decode_hk(data).and_then(|hk| param_value(&hk, index)) {
                points.push(TrendPoint { t_ns: t, min: v, mean: v, max: v, n: 1 });
            }
        }
        Ok(())
    }

    /// [`Store::trend`]'s raw path without the per-parameter columns: every report of the
    /// interval decoded (what the store did before schema version 2; kept for the benchmark's
    /// before/after comparison and for hours without a column).
    ///
    /// # Errors
    /// An unknown parameter name; SQLite errors.
    pub fn trend_scan(&self, param: &str, from_ns: i64, to_ns: i64) -> anyhow::Result<Trend> {
        let index = param_index(param)
            .with_context(|| format!("unknown housekeeping parameter `{param}`"))?;
        let mut points = Vec::new();
        self.scan_raw(index, from_ns, to_ns, &mut points)?;
        Ok(Trend { param: param.to_owned(), resolution: Resolution::Raw, points })
    }

    /// Trigger alerts received in `[from_ns, to_ns)`, oldest first.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn alerts(&self, from_ns: i64, to_ns: i64) -> anyhow::Result<Vec<AlertRow>> {
        let mut st = self.conn.prepare_cached(
            "SELECT id, rx_ns, cuc_s, trigger_type, burst_id, seq_num, timescale_ms, rate_snr, \
             image_snr, ra_deg, dec_deg, error_deg, catalogue_id, notice FROM alerts \
             WHERE rx_ns >= ?1 AND rx_ns < ?2 ORDER BY rx_ns, id",
        )?;
        let rows = st.query_map(params![from_ns, to_ns], |r| {
            Ok(AlertRow {
                id: r.get(0)?,
                rx_ns: r.get(1)?,
                cuc_s: r.get(2)?,
                trigger_type: r.get(3)?,
                burst_id: r.get(4)?,
                seq_num: r.get(5)?,
                timescale_ms: r.get(6)?,
                rate_snr: r.get(7)?,
                image_snr: r.get(8)?,
                ra_deg: r.get(9)?,
                dec_deg: r.get(10)?,
                error_deg: r.get(11)?,
                catalogue_id: r.get(12)?,
                notice: r.get(13)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Table versions over `[from_ns, to_ns)`: one row per table whenever its active or
    /// inactive version changed (from directory reports), oldest first, preceded by the
    /// versions in force at `from_ns`.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn table_versions(&self, from_ns: i64, to_ns: i64) -> anyhow::Result<Vec<TableVersion>> {
        let mut st = self.conn.prepare_cached(
            "SELECT rx_ns, table_id, active_version, active_crc, inactive_state, \
             inactive_version FROM table_dirs WHERE rx_ns < ?1 ORDER BY rx_ns, rowid",
        )?;
        let rows = st.query_map([to_ns], |r| {
            Ok(TableVersion {
                rx_ns: r.get(0)?,
                table_id: r.get(1)?,
                active_version: r.get(2)?,
                active_crc: r.get(3)?,
                inactive_state: r.get(4)?,
                inactive_version: r.get(5)?,
            })
        })?;
        let mut last: BTreeMap<i64, TableVersion> = BTreeMap::new();
        let mut out = Vec::new();
        for row in rows {
            let row = row?;
            let changed = last.get(&row.table_id).is_none_or(|p| {
                (p.active_version, p.active_crc, p.inactive_version, p.inactive_state)
                    != (
                        row.active_version,
                        row.active_crc,
                        row.inactive_version,
                        row.inactive_state,
                    )
            });
            if changed {
                if row.rx_ns >= from_ns {
                    out.push(row.clone());
                }
                last.insert(row.table_id, row);
            }
        }
        let mut at_start: Vec<TableVersion> =
            last.into_values().filter(|v| v.rx_ns < from_ns).collect();
        at_start.extend(out);
        Ok(at_start)
    }

    /// Row counts of the main tables.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn counts(&self) -> anyhow::Result<Counts> {
        let n =
            |sql: &str| -> anyhow::Result<i64> { Ok(self.conn.query_row(sql, [], |r| r.get(0))?) };
        Ok(Counts {
            hk: n("SELECT COUNT(*) FROM hk")?,
            events: n("SELECT COUNT(*) FROM events")?,
            failures: n("SELECT COUNT(*) FROM failures")?,
            alerts: n("SELECT COUNT(*) FROM alerts")?,
            table_dirs: n("SELECT COUNT(*) FROM table_dirs")?,
            ingested: n("SELECT COUNT(*) FROM sources WHERE status = 'ingested'")?,
            quarantined: n("SELECT COUNT(*) FROM sources WHERE status = 'quarantined'")?,
            event_files: n("SELECT COUNT(*) FROM event_files")?,
            hk_hourly: n("SELECT COUNT(*) FROM hk_hourly")?,
            hk_daily: n("SELECT COUNT(*) FROM hk_daily")?,
            alarms: n("SELECT COUNT(*) FROM alarms")?,
            alarm_transitions: n("SELECT COUNT(*) FROM alarm_transitions")?,
        })
    }

    /// Deletes raw rows (HK, events, failures, table directory rows) received before
    /// `now_ns - keep_days`; aggregates, alerts, alarms and provenance are never dropped.
    /// Returns the number of HK rows deleted.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn retain_raw(&mut self, keep_days: u32, now_ns: i64) -> anyhow::Result<u64> {
        let cut = now_ns.saturating_sub(i64::from(keep_days).saturating_mul(DAY_NS));
        let tx = self.conn.transaction()?;
        let n = tx.execute("DELETE FROM hk WHERE rx_ns < ?1", [cut])?;
        tx.execute(
            "DELETE FROM hk_columns WHERE bucket_ns IN \
             (SELECT bucket_ns FROM hk_chunks WHERE bucket_ns + ?2 <= ?1)",
            params![cut, HOUR_NS],
        )?;
        tx.execute("DELETE FROM hk_chunks WHERE bucket_ns + ?2 <= ?1", params![cut, HOUR_NS])?;
        if n > 0 {
            rebuild_chunk(&tx, floor_hour(cut))?;
        }
        tx.execute("DELETE FROM events WHERE rx_ns < ?1", [cut])?;
        tx.execute("DELETE FROM failures WHERE rx_ns < ?1", [cut])?;
        tx.commit()?;
        Ok(n as u64)
    }

    /// A `meta` value.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn meta(&self, key: &str) -> anyhow::Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    /// Sets a `meta` value.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn set_meta(&self, key: &str, value: &str) -> anyhow::Result<()> {
        set_meta(&self.conn, key, value)
    }
}

/// Reception time of the newest HK report stored.
///
/// # Errors
/// SQLite errors.
pub fn last_hk_ns(conn: &Connection) -> anyhow::Result<Option<i64>> {
    Ok(conn.query_row("SELECT MAX(rx_ns) FROM hk", [], |r| r.get(0))?)
}

/// The newest HK report stored, decoded, with its reception time.
///
/// # Errors
/// SQLite errors.
pub fn last_hk(conn: &Connection) -> anyhow::Result<Option<(i64, HkReport)>> {
    let row = conn
        .query_row("SELECT rx_ns, data FROM hk ORDER BY rx_ns DESC LIMIT 1", [], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
        })
        .optional()?;
    Ok(row.and_then(|(t, d)| decode_hk(&d).map(|hk| (t, hk))))
}

/// Sets a `meta` value on a connection or transaction.
///
/// # Errors
/// SQLite errors.
pub fn set_meta(conn: &Connection, key: &str, value: &str) -> anyhow::Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// Start of the UTC hour holding `t_ns`.
fn floor_hour(t_ns: i64) -> i64 {
    t_ns.div_euclid(HOUR_NS) * HOUR_NS
}

/// Codes one hour's values of a parameter (`hk_columns.vals`). The first octet is the width:
/// 0 every value is the same, an `f64` (8 octets big-endian) follows; 1, 2 or 4 every value is
/// an integer in `0..2^(8·width)`, each follows in that many octets big-endian; 8 each value
/// follows as an `f64`. HK parameters are integers, mostly constant or small: a sector rate
/// takes 2 octets a sample, a constant parameter 9 octets an hour.
pub fn encode_column(values: &[f64]) -> Vec<u8> {
    let first = values.first().copied().unwrap_or(0.0);
    if values.iter().all(|v| v.to_bits() == first.to_bits()) {
        let mut out = vec![0u8];
        out.extend_from_slice(&first.to_be_bytes());
        return out;
    }
    let int_max = values.iter().try_fold(0u32, |m, &v| {
        (v >= 0.0
            && v <= f64::from(u32::MAX)
            && v.fract() == 0.0
            && v.to_bits() != (-0.0f64).to_bits())
        .then(|| m.max(v as u32))
    });
    let width: u8 = match int_max {
        Some(m) if m <= 0xFF => 1,
        Some(m) if m <= 0xFFFF => 2,
        Some(_) => 4,
        None => 8,
    };
    let mut out = Vec::with_capacity(1 + values.len() * usize::from(width));
    out.push(width);
    for &v in values {
        match width {
            1 => out.push(v as u8),
            2 => out.extend_from_slice(&(v as u16).to_be_bytes()),
            4 => out.extend_from_slice(&(v as u32).to_be_bytes()),
            _ => out.extend_from_slice(&v.to_be_bytes()),
        }
    }
    out
}

/// Decodes `n` values coded by [`encode_column`]; `None` when the octets do not hold them.
pub fn decode_column(octets: &[u8], n: usize) -> Option<Vec<f64>> {
    let (&width, rest) = octets.split_first()?;
    if width == 0 {
        let v = f64::from_be_bytes(rest.try_into().ok()?);
        return Some(vec![v; n]);
    }
    let w = usize::from(width);
    if !matches!(w, 1 | 2 | 4 | 8) || rest.len() != w.checked_mul(n)? {
        return None;
    }
    Some(
        rest.chunks_exact(w)
            .map(|c| match c {
                [a] => f64::from(*a),
                [a, b] => f64::from(u16::from_be_bytes([*a, *b])),
                [a, b, c, d] => f64::from(u32::from_be_bytes([*a, *b, *c, *d])),
                _ => f64::from_be_bytes(c.try_into().unwrap_or([0; 8])),
            })
            .collect(),
    )
}

/// Writes again the per-parameter columns of the UTC hour starting at `bucket_ns` from its
/// `hk` rows (none left: the hour's columns are deleted).
///
/// # Errors
/// SQLite errors.
pub fn rebuild_chunk(conn: &Connection, bucket_ns: i64) -> anyhow::Result<()> {
    let mut cols = HourColumns::default();
    {
        let mut st = conn.prepare_cached(
            "SELECT rx_ns, data FROM hk WHERE rx_ns >= ?1 AND rx_ns < ?2 ORDER BY rx_ns, rowid",
        )?;
        let mut rows = st.query(params![bucket_ns, bucket_ns + HOUR_NS])?;
        while let Some(r) = rows.next()? {
            let t: i64 = r.get(0)?;
            if let Some(hk) = decode_hk(r.get_ref(1)?.as_blob()?) {
                cols.push(t, &hk);
            }
        }
    }
    write_chunk(conn, bucket_ns, &cols)
}

/// Replaces the columns of the hour starting at `bucket_ns` with `cols` (none: deleted).
fn write_chunk(conn: &Connection, bucket_ns: i64, cols: &HourColumns) -> anyhow::Result<()> {
    conn.prepare_cached("DELETE FROM hk_columns WHERE bucket_ns = ?1")?.execute([bucket_ns])?;
    conn.prepare_cached("DELETE FROM hk_chunks WHERE bucket_ns = ?1")?.execute([bucket_ns])?;
    if cols.times.is_empty() {
        return Ok(());
    }
    let times: Vec<u8> = cols.times.iter().flat_map(|t| t.to_le_bytes()).collect();
    conn.prepare_cached("INSERT INTO hk_chunks (bucket_ns, n, times) VALUES (?1, ?2, ?3)")?
        .execute(params![bucket_ns, cols.times.len() as i64, times])?;
    let mut st =
        conn.prepare_cached("INSERT INTO hk_columns (param, bucket_ns, vals) VALUES (?1, ?2, ?3)")?;
    for (name, col) in HkReport::field_names().zip(&cols.vals) {
        st.execute(params![name, bucket_ns, encode_column(col)])?;
    }
    Ok(())
}

/// HK rows of one hour transposed: times, and one value vector per parameter.
#[derive(Debug, Default)]
struct HourColumns {
    bucket: Option<i64>,
    times: Vec<i64>,
    vals: Vec<Vec<f64>>,
}

impl HourColumns {
    fn push(&mut self, t: i64, hk: &HkReport) {
        self.times.push(t);
        for (i, (_, v)) in hk.fields().enumerate() {
            if self.vals.len() <= i {
                self.vals.resize_with(i + 1, || vec![f64::NAN; self.times.len() - 1]);
            }
            if let Some(col) = self.vals.get_mut(i) {
                col.push(v);
            }
        }
    }

    fn clear(&mut self) {
        self.times.clear();
        self.vals.iter_mut().for_each(Vec::clear);
    }

    /// Both sets of rows in time order (`self`'s first at equal times: stored earlier).
    fn merge(&self, other: &HourColumns) -> HourColumns {
        let n = self.times.len() + other.times.len();
        let mut out = HourColumns {
            bucket: self.bucket,
            times: Vec::with_capacity(n),
            vals: vec![Vec::with_capacity(n); self.vals.len().max(other.vals.len())],
        };
        let (mut i, mut j) = (0, 0);
        loop {
            let (src, k) = match (self.times.get(i), other.times.get(j)) {
                (Some(a), Some(b)) if a <= b => (self, &mut i),
                (Some(_), Some(_)) | (None, Some(_)) => (other, &mut j),
                (Some(_), None) => (self, &mut i),
                (None, None) => break,
            };
            out.times.push(src.times.get(*k).copied().unwrap_or_default());
            for (o, col) in out.vals.iter_mut().zip(&src.vals) {
                o.push(col.get(*k).copied().unwrap_or(f64::NAN));
            }
            *k += 1;
        }
        out
    }
}

/// The stored columns of the hour starting at `bucket_ns`, if it has them whole.
fn read_chunk(conn: &Connection, bucket_ns: i64) -> anyhow::Result<Option<HourColumns>> {
    let chunk: Option<(i64, Vec<u8>)> = conn
        .prepare_cached("SELECT n, times FROM hk_chunks WHERE bucket_ns = ?1")?
        .query_row([bucket_ns], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((n, times)) = chunk else { return Ok(None) };
    let n = usize::try_from(n).unwrap_or(0);
    if times.len() != 8 * n {
        return Ok(None);
    }
    let names: Vec<&str> = HkReport::field_names().collect();
    let mut vals: Vec<Option<Vec<f64>>> = vec![None; names.len()];
    let mut st = conn.prepare_cached("SELECT param, vals FROM hk_columns WHERE bucket_ns = ?1")?;
    let mut rows = st.query([bucket_ns])?;
    while let Some(r) = rows.next()? {
        let name = r.get_ref(0)?.as_str()?;
        if let Some(slot) = names.iter().position(|n| *n == name).and_then(|i| vals.get_mut(i)) {
            *slot = decode_column(r.get_ref(1)?.as_blob()?, n);
        }
    }
    let Some(vals) = vals.into_iter().collect::<Option<Vec<_>>>() else { return Ok(None) };
    let times =
        times.chunks_exact(8).map(|t| i64::from_le_bytes(t.try_into().unwrap_or([0; 8]))).collect();
    Ok(Some(HourColumns { bucket: Some(bucket_ns), times, vals }))
}

/// Brings the per-parameter columns up to date after a batch that touched the hours
/// `touched` (sorted). Hours the batch alone filled, or filled after another source whose rows
/// are in the hour's column, were written from its memory on the way
/// ([`Batch::flush_columns`]); the others (`dirty`: rows from other sources too) are rebuilt
/// from their rows here. The newest hour of a live source is left open (no column: its rows
/// answer until it is sealed) and the last hour with rows before the first touched one (a
/// live source's previous hour, sealed when the next one starts) is rebuilt when its column
/// is missing or short.
fn seal_hours(
    conn: &Connection,
    touched: &[i64],
    dirty: &[i64],
    finished: bool,
) -> anyhow::Result<()> {
    let Some(&first) = touched.first() else { return Ok(()) };
    let open = touched.last().copied().filter(|_| !finished);
    for &b in dirty.iter().filter(|&&b| Some(b) != open) {
        rebuild_chunk(conn, b)?;
    }
    if let Some(open) = open {
        conn.prepare_cached("DELETE FROM hk_columns WHERE bucket_ns = ?1")?.execute([open])?;
        conn.prepare_cached("DELETE FROM hk_chunks WHERE bucket_ns = ?1")?.execute([open])?;
    }
    let before: Option<i64> = conn
        .prepare_cached("SELECT rx_ns FROM hk WHERE rx_ns < ?1 ORDER BY rx_ns DESC LIMIT 1")?
        .query_row([first], |r| r.get(0))
        .optional()?;
    if let Some(b) = before.map(floor_hour) {
        let chunk: Option<i64> = conn
            .prepare_cached("SELECT n FROM hk_chunks WHERE bucket_ns = ?1")?
            .query_row([b], |r| r.get(0))
            .optional()?;
        if chunk != Some(hour_rows(conn, b)?) {
            rebuild_chunk(conn, b)?;
        }
    }
    Ok(())
}

/// HK rows stored in the hour starting at `bucket_ns`.
fn hour_rows(conn: &Connection, bucket_ns: i64) -> anyhow::Result<i64> {
    Ok(conn
        .prepare_cached("SELECT COUNT(*) FROM hk WHERE rx_ns >= ?1 AND rx_ns < ?2")?
        .query_row(params![bucket_ns, bucket_ns + HOUR_NS], |r| r.get(0))?)
}

fn decimate(points: &[TrendPoint], from_ns: i64, to_ns: i64, bins: usize) -> Vec<TrendPoint> {
    let width = ((to_ns - from_ns) / bins as i64).max(1);
    let mut out: Vec<TrendPoint> = Vec::with_capacity(bins);
    let mut sum = 0.0;
    for p in points {
        let t = from_ns + (p.t_ns - from_ns).div_euclid(width) * width;
        match out.last_mut() {
            Some(b) if b.t_ns == t => {
                b.min = b.min.min(p.min);
                b.max = b.max.max(p.max);
                b.n += 1;
                sum += p.mean;
                b.mean = sum / b.n as f64;
            }
            _ => {
                sum = p.mean;
                out.push(TrendPoint { t_ns: t, ..*p });
            }
        }
    }
    out
}

/// A source about to be ingested.
#[derive(Debug, Clone, Copy)]
pub struct NewSource<'a> {
    /// `archive`, `cadu`, `events`, `attitude`, `orbit`, `device`, `unknown`.
    pub kind: &'a str,
    /// File name or DEVICE word.
    pub name: &'a str,
    /// Content hash (files).
    pub sha256: Option<&'a str>,
    /// Size, octets (files).
    pub size: Option<i64>,
    /// `ingested`, `quarantined` or `live`.
    pub status: &'a str,
    /// Why quarantined.
    pub reason: Option<&'a str>,
    /// Now, UTC ns.
    pub started_ns: i64,
}

/// What a batch stored, for the provenance row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BatchCounts {
    /// Packets decoded.
    pub packets: i64,
    /// HK reports.
    pub hk: i64,
    /// Events.
    pub events: i64,
    /// Failures.
    pub failures: i64,
    /// Alerts.
    pub alerts: i64,
    /// Directory reports.
    pub directories: i64,
    /// Damaged records, frames, packets.
    pub damaged: i64,
    /// First reception time.
    pub first_ns: Option<i64>,
    /// Last reception time.
    pub last_ns: Option<i64>,
}

/// Running min/sum/max/count per (parameter index, bucket) for one batch; the current hour
/// is kept in a flat vector (reports come in time order), others in a map.
#[derive(Debug, Default)]
struct Aggregates {
    hourly: BTreeMap<(usize, i64), (u64, f64, f64, f64)>,
    cur_bucket: Option<i64>,
    cur: Vec<Option<(u64, f64, f64, f64)>>,
}

impl Aggregates {
    fn add_report(&mut self, rx_ns: i64, hk: &HkReport) {
        let bucket = rx_ns.div_euclid(HOUR_NS) * HOUR_NS;
        if self.cur_bucket != Some(bucket) {
            self.flush();
            self.cur_bucket = Some(bucket);
        }
        for (i, (_, v)) in hk.fields().enumerate() {
            if !v.is_finite() {
                continue;
            }
            if self.cur.len() <= i {
                self.cur.resize(i + 1, None);
            }
            let Some(slot) = self.cur.get_mut(i) else { continue };
            let e = slot.get_or_insert((0, v, 0.0, v));
            e.0 += 1;
            e.1 = e.1.min(v);
            e.2 += v;
            e.3 = e.3.max(v);
        }
    }

    fn flush(&mut self) {
        let Some(bucket) = self.cur_bucket.take() else { return };
        for (i, slot) in self.cur.iter_mut().enumerate() {
            let Some((n, min, sum, max)) = slot.take() else { continue };
            let e = self.hourly.entry((i, bucket)).or_insert((0, min, 0.0, max));
            e.0 += n;
            e.1 = e.1.min(min);
            e.2 += sum;
            e.3 = e.3.max(max);
        }
    }
}

/// One ingestion transaction (see the module docs). Dropping it without
/// [`commit`](Batch::commit) rolls everything back.
pub struct Batch<'a> {
    tx: Transaction<'a>,
    source_id: i64,
    counts: BatchCounts,
    agg: Aggregates,
    /// UTC hours of the HK rows added (sorted, for the per-parameter columns).
    hours: Vec<i64>,
    /// The current hour's rows, transposed.
    cols: HourColumns,
    /// Hours whose columns must be rebuilt from the rows at commit (sorted).
    dirty: Vec<i64>,
}

impl<'a> Batch<'a> {
    /// An empty batch of `source_id` in the transaction `tx`.
    fn new(tx: Transaction<'a>, source_id: i64) -> Self {
        Batch {
            tx,
            source_id,
            counts: BatchCounts::default(),
            agg: Aggregates::default(),
            hours: Vec::new(),
            cols: HourColumns::default(),
            dirty: Vec::new(),
        }
    }
}

impl std::fmt::Debug for Batch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("source_id", &self.source_id)
            .field("counts", &self.counts)
            .finish_non_exhaustive()
    }
}

impl Batch<'_> {
    /// The source's row id.
    pub fn source_id(&self) -> i64 {
        self.source_id
    }

    /// The transaction (alarm transitions and other writes that commit with the data).
    pub fn conn(&self) -> &Connection {
        &self.tx
    }

    /// What was stored so far.
    pub fn counts(&self) -> BatchCounts {
        self.counts
    }

    fn seen(&mut self, rx_ns: i64) {
        self.counts.packets += 1;
        self.counts.first_ns = Some(self.counts.first_ns.map_or(rx_ns, |f| f.min(rx_ns)));
        self.counts.last_ns = Some(self.counts.last_ns.map_or(rx_ns, |l| l.max(rx_ns)));
    }

    /// Counts a packet that was not stored (another service, or another SID).
    pub fn count_packet(&mut self, rx_ns: i64) {
        self.seen(rx_ns);
    }

    /// Counts damaged records, frames or packets.
    pub fn count_damaged(&mut self, n: i64) {
        self.counts.damaged += n;
    }

    /// Stores one HK report (the 3,25 source data, SID 1) and adds it to the aggregates.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn add_hk(
        &mut self,
        rx_ns: i64,
        cuc_s: f64,
        data: &[u8],
        hk: &HkReport,
    ) -> anyhow::Result<()> {
        self.seen(rx_ns);
        self.counts.hk += 1;
        self.tx
            .prepare_cached(
                "INSERT INTO hk (rx_ns, cuc_s, source_id, data) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![rx_ns, cuc_s, self.source_id, data])?;
        self.agg.add_report(rx_ns, hk);
        let hour = floor_hour(rx_ns);
        if self.cols.bucket != Some(hour) {
            self.flush_columns()?;
            self.cols.bucket = Some(hour);
        }
        self.cols.push(rx_ns, hk);
        if let Err(at) = self.hours.binary_search(&hour) {
            self.hours.insert(at, hour);
        }
        Ok(())
    }

    /// Writes the columns of the hour being filled from memory when this batch holds every
    /// row of it (the usual case: a file's hours), else marks the hour for a rebuild from its
    /// rows at commit.
    fn flush_columns(&mut self) -> anyhow::Result<()> {
        let Some(b) = self.cols.bucket.take() else { return Ok(()) };
        if self.cols.times.is_empty() {
            return Ok(());
        }
        let n = self.cols.times.len() as i64;
        let rows = hour_rows(&self.tx, b)?;
        let not_dirty = self.dirty.binary_search(&b).is_err();
        if not_dirty && rows == n {
            write_chunk(&self.tx, b, &self.cols)?;
        } else if let Some(old) =
            read_chunk(&self.tx, b)?.filter(|old| not_dirty && old.times.len() as i64 + n == rows)
        {
            // The hour's other rows are in its column (a previous file ending in this hour):
            // merge rather than decode them all again.
            write_chunk(&self.tx, b, &old.merge(&self.cols))?;
        } else if let Err(at) = self.dirty.binary_search(&b) {
            self.dirty.insert(at, b);
        }
        self.cols.clear();
        Ok(())
    }

    /// Stores one ST\[05\] event report.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn add_event(
        &mut self,
        rx_ns: i64,
        cuc_s: f64,
        e: &tc_tm::service::event::EventReport<'_>,
    ) -> anyhow::Result<()> {
        self.seen(rx_ns);
        self.counts.events += 1;
        let mut st = self.tx.prepare_cached(
            "INSERT INTO events (rx_ns, cuc_s, source_id, event_id, name, severity, aux) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        st.execute(params![
            rx_ns,
            cuc_s,
            self.source_id,
            e.id.value(),
            e.id.name(),
            e.severity.value(),
            e.aux
        ])?;
        Ok(())
    }

    /// Stores one ST\[01\] failure report (`subtype` 2, 4, 6 or 8; `step` for 1,6).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn add_failure(
        &mut self,
        rx_ns: i64,
        cuc_s: f64,
        subtype: u8,
        f: &tc_tm::service::verification::Failure,
        step: Option<u16>,
        text: &str,
    ) -> anyhow::Result<()> {
        self.seen(rx_ns);
        self.counts.failures += 1;
        let mut st = self.tx.prepare_cached(
            "INSERT INTO failures (rx_ns, cuc_s, source_id, subtype, tc_apid, tc_seq, code, \
             code_name, step, text) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?;
        st.execute(params![
            rx_ns,
            cuc_s,
            self.source_id,
            subtype,
            f.request_id.apid().value(),
            f.request_id.seq_count().value(),
            f.code.value(),
            f.code.to_string(),
            step,
            text
        ])?;
        Ok(())
    }

    /// Stores one trigger alert with its notice. Returns its row id.
    ///
    /// # Errors
    /// SQLite errors; a notice that does not serialise.
    pub fn add_alert(
        &mut self,
        rx_ns: i64,
        cuc_s: f64,
        a: &tc_tm::service::trigger::Alert,
    ) -> anyhow::Result<i64> {
        self.seen(rx_ns);
        self.counts.alerts += 1;
        let notice = serde_json::to_string(&crate::replay::notice::notice(a))?;
        let mut st = self.tx.prepare_cached(
            "INSERT INTO alerts (rx_ns, cuc_s, source_id, trigger_type, burst_id, seq_num, \
             timescale_ms, rate_snr, image_snr, ra_deg, dec_deg, error_deg, catalogue_id, notice) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )?;
        st.execute(params![
            rx_ns,
            cuc_s,
            self.source_id,
            a.trigger_type.to_string(),
            a.burst_id,
            a.seq_num,
            a.timescale_ms,
            f64::from(a.rate_snr_centi) / 100.0,
            f64::from(a.image_snr_centi) / 100.0,
            a.ra_deg(),
            a.dec_deg(),
            f64::from(a.error_radius_udeg) / 1e6,
            a.catalogue_id,
            notice
        ])?;
        Ok(self.tx.last_insert_rowid())
    }

    /// Stores one table directory report (one row per table).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn add_directory(
        &mut self,
        rx_ns: i64,
        cuc_s: f64,
        entries: impl IntoIterator<Item = tc_tm::service::table::DirectoryEntry>,
    ) -> anyhow::Result<()> {
        self.seen(rx_ns);
        self.counts.directories += 1;
        let mut st = self.tx.prepare_cached(
            "INSERT INTO table_dirs (rx_ns, cuc_s, source_id, table_id, active_version, \
             active_crc, inactive_state, inactive_version) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for e in entries {
            st.execute(params![
                rx_ns,
                cuc_s,
                self.source_id,
                e.table_id,
                e.active_version,
                e.active_crc,
                e.inactive_state.value(),
                e.inactive_version
            ])?;
        }
        Ok(())
    }

    /// Stores a whole table image seen in a dump (its own CRC already checked), keyed by table,
    /// version and the CRC-32 of the whole image (what directory reports and HK give); an image
    /// already known is kept with its first reception.
    ///
    /// # Errors
    /// SQLite errors; an image shorter than its header and CRC.
    pub fn add_table_image(&mut self, rx_ns: i64, image: &[u8]) -> anyhow::Result<()> {
        let header = tables::image::ImageHeader::parse(image)
            .map_err(|e| anyhow::anyhow!("table image: {e}"))?;
        let whole =
            image.get(..header.image_len()).context("table image shorter than its header says")?;
        // The unit's directory and HK give the CRC-32 of the whole image (trailer included).
        let crc = tc_tm::crc::crc32(whole);
        self.tx
            .prepare_cached(
                "INSERT OR IGNORE INTO table_images (table_id, version, crc, image, first_ns, \
                 source_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                header.table as u8,
                header.table_version,
                crc,
                whole,
                rx_ns,
                self.source_id
            ])?;
        Ok(())
    }

    /// Records a boot or software change seen in HK.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn add_boot(
        &mut self,
        rx_ns: i64,
        cuc_s: f64,
        hk: &HkReport,
        why: &str,
    ) -> anyhow::Result<()> {
        self.tx.execute(
            "INSERT INTO boots (rx_ns, cuc_s, source_id, sw_version, boot_bank, fallback, why) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                rx_ns,
                cuc_s,
                self.source_id,
                hk.sw_version,
                hk.boot_bank.value(),
                hk.boot_fallback,
                why
            ],
        )?;
        Ok(())
    }

    /// Records a link state change of a live source.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn add_link_event(&mut self, at_ns: i64, up: bool, detail: &str) -> anyhow::Result<()> {
        self.tx.execute(
            "INSERT INTO link_events (at_ns, source_id, up, detail) VALUES (?1, ?2, ?3, ?4)",
            params![at_ns, self.source_id, up, detail],
        )?;
        Ok(())
    }

    /// Stores the summary of an event file: time span, counts per pixel (80 × 80, index
    /// `y * 80 + z`), counts per (minute, band).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn add_event_file(
        &mut self,
        span_s: Option<(f64, f64)>,
        n_events: u64,
        pixel_counts: &[u32],
        rates: &BTreeMap<(i64, u8), u64>,
    ) -> anyhow::Result<()> {
        let blob: Vec<u8> = pixel_counts.iter().flat_map(|c| c.to_be_bytes()).collect();
        self.tx.execute(
            "INSERT INTO event_files (source_id, t_start_s, t_stop_s, n_events, pixel_counts) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                self.source_id,
                span_s.map(|s| s.0),
                span_s.map(|s| s.1),
                i64::try_from(n_events).unwrap_or(i64::MAX),
                blob
            ],
        )?;
        let mut st = self.tx.prepare_cached(
            "INSERT INTO event_rates (source_id, minute, band, count) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (&(minute, band), &count) in rates {
            st.execute(params![
                self.source_id,
                minute,
                band,
                i64::try_from(count).unwrap_or(i64::MAX)
            ])?;
        }
        Ok(())
    }

    /// Writes the aggregates and the provenance counters, then commits everything at once.
    ///
    /// # Errors
    /// SQLite errors (nothing of the batch is then stored).
    pub fn commit(mut self, finished_ns: Option<i64>) -> anyhow::Result<BatchCounts> {
        let finished = finished_ns.is_some();
        // A live source's newest hour stays open: its columns are written when it is sealed.
        if finished || self.cols.bucket != self.hours.last().copied() {
            self.flush_columns()?;
        }
        let Self { tx, source_id, counts, mut agg, hours, dirty, .. } = self;
        agg.flush();
        seal_hours(&tx, &hours, &dirty, finished)?;
        let names: Vec<&str> = HkReport::field_names().collect();
        {
            let upsert = |table: &str| {
                format!(
                    "INSERT INTO {table} (param, bucket_ns, n, min, sum, max) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (param, bucket_ns) DO UPDATE \
                     SET n = n + excluded.n, min = MIN(min, excluded.min), \
                     sum = sum + excluded.sum, max = MAX(max, excluded.max)"
                )
            };
            let mut hourly = tx.prepare_cached(&upsert("hk_hourly"))?;
            let mut daily = tx.prepare_cached(&upsert("hk_daily"))?;
            let mut days: BTreeMap<(usize, i64), (u64, f64, f64, f64)> = BTreeMap::new();
            for (&(i, bucket), &(n, min, sum, max)) in &agg.hourly {
                let Some(name) = names.get(i) else { continue };
                let n_i = i64::try_from(n).unwrap_or(i64::MAX);
                hourly.execute(params![name, bucket, n_i, min, sum, max])?;
                let d = days
                    .entry((i, bucket.div_euclid(DAY_NS) * DAY_NS))
                    .or_insert((0, min, 0.0, max));
                d.0 += n;
                d.1 = d.1.min(min);
                d.2 += sum;
                d.3 = d.3.max(max);
            }
            for ((i, bucket), (n, min, sum, max)) in days {
                let Some(name) = names.get(i) else { continue };
                let n_i = i64::try_from(n).unwrap_or(i64::MAX);
                daily.execute(params![name, bucket, n_i, min, sum, max])?;
            }
        }
        tx.execute(
            "UPDATE sources SET packets = packets + ?2, hk = hk + ?3, events = events + ?4, \
             failures = failures + ?5, alerts = alerts + ?6, directories = directories + ?7, \
             damaged = damaged + ?8, first_ns = COALESCE(MIN(first_ns, ?9), first_ns, ?9), \
             last_ns = COALESCE(MAX(last_ns, ?10), last_ns, ?10), \
             finished_ns = COALESCE(?11, finished_ns) WHERE id = ?1",
            params![
                source_id,
                counts.packets,
                counts.hk,
                counts.events,
                counts.failures,
                counts.alerts,
                counts.directories,
                counts.damaged,
                counts.first_ns,
                counts.last_ns,
                finished_ns
            ],
        )?;
        tx.commit()?;
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Several connections opening one new file at once (a monitor starting while
    /// `monitor report` or a test reads it) apply each migration once and all succeed.
    #[test]
    fn concurrent_opens_of_a_new_file_migrate_once() {
        for round in 0..40 {
            let dir = tempfile::tempdir().unwrap();
            let db = dir.path().join(format!("race{round}.db"));
            let threads: Vec<_> = (0..6)
                .map(|_| {
                    let db = db.clone();
                    std::thread::spawn(move || Store::open(&db).map(|s| s.schema_version()))
                })
                .collect();
            for t in threads {
                let v = t.join().unwrap().unwrap().unwrap();
                assert_eq!(v, MIGRATIONS.len() as i64);
            }
        }
    }

    fn hk_data(mode_rate: u16) -> (Vec<u8>, HkReport) {
        let mut hk = HkReport::default();
        hk.sector_rates[0] = mode_rate;
        let msg = HkMsg::Housekeeping(HousekeepingReport::Ugts(hk));
        let mut buf = vec![0u8; msg.buffer_len()];
        msg.emit(&mut buf).unwrap();
        (buf, hk)
    }

    fn source(name: &str) -> NewSource<'_> {
        NewSource {
            kind: "archive",
            name,
            sha256: Some(name),
            size: Some(1),
            status: "ingested",
            reason: None,
            started_ns: 0,
        }
    }

    #[test]
    fn migrations_apply_once_and_hk_value_reads_parameters() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        let mut s = Store::open(&path).unwrap();
        assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64);
        let mut b = s.begin(source("a")).unwrap();
        for i in 0..10u16 {
            let (data, hk) = hk_data(100 + i);
            b.add_hk(i64::from(i) * 1_000_000_000, f64::from(i), &data, &hk).unwrap();
        }
        let c = b.commit(Some(5)).unwrap();
        assert_eq!(c.hk, 10);
        drop(s);
        let s = Store::open(&path).unwrap();
        let v: f64 = s
            .conn()
            .query_row("SELECT MAX(hk_value(data, 'rate_sector0')) FROM hk", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, 109.0);
        let src = s.source_by_hash("a").unwrap().unwrap();
        assert_eq!(
            (src.hk, src.packets, src.first_ns, src.last_ns),
            (10, 10, Some(0), Some(9_000_000_000))
        );
        let t = s.trend("rate_sector0", 0, 10_000_000_000, None).unwrap();
        assert_eq!(t.resolution, Resolution::Raw);
        assert_eq!(t.points.len(), 10);
        let t = s.trend("rate_sector0", 0, 10_000_000_000, Some(2)).unwrap();
        assert_eq!(t.points.len(), 2);
        assert_eq!((t.points[0].min, t.points[0].max, t.points[0].n), (100.0, 104.0, 5));
        let t = s.trend("rate_sector0", 0, 3 * DAY_NS, None).unwrap();
        assert_eq!(t.resolution, Resolution::Hourly);
        assert_eq!(t.points.len(), 1);
        assert_eq!((t.points[0].min, t.points[0].mean, t.points[0].max), (100.0, 104.5, 109.0));
        assert!(s.trend("nope", 0, 1, None).is_err());
    }

    #[test]
    fn uncommitted_batch_leaves_nothing_and_aggregates_accumulate() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path().join("m.db")).unwrap();
        {
            let mut b = s.begin(source("x")).unwrap();
            let (data, hk) = hk_data(1);
            b.add_hk(0, 0.0, &data, &hk).unwrap();
        }
        assert_eq!(s.counts().unwrap().hk, 0);
        assert!(s.source_by_hash("x").unwrap().is_none());
        for name in ["p", "q"] {
            let mut b = s.begin(source(name)).unwrap();
            let (data, hk) = hk_data(if name == "p" { 10 } else { 30 });
            b.add_hk(HOUR_NS / 2, 0.0, &data, &hk).unwrap();
            b.commit(None).unwrap();
        }
        let (n, min, sum, max): (i64, f64, f64, f64) = s
            .conn()
            .query_row(
                "SELECT n, min, sum, max FROM hk_daily WHERE param = 'rate_sector0'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!((n, min, sum, max), (2, 10.0, 40.0, 30.0));
        // Retention drops raw rows, never aggregates.
        assert_eq!(s.retain_raw(1, 3 * DAY_NS).unwrap(), 2);
        let c = s.counts().unwrap();
        assert_eq!((c.hk, c.hk_hourly > 0, c.hk_daily > 0), (0, true, true));
        let t = s.trend("rate_sector0", 0, HOUR_NS, None).unwrap();
        assert_eq!(t.resolution, Resolution::Hourly, "raw rows pruned: aggregates answer");
    }

    fn hk_at(s: &mut Store, name: &str, finished: bool, times: &[(i64, u16)]) {
        let mut b = s.begin(NewSource { sha256: None, ..source(name) }).unwrap();
        for &(t, v) in times {
            let (data, hk) = hk_data(v);
            b.add_hk(t, 0.0, &data, &hk).unwrap();
        }
        b.commit(finished.then_some(1)).unwrap();
    }

    fn same_as_raw(s: &Store, from: i64, to: i64) {
        for p in ["rate_sector0", "uptime_s", "mode"] {
            let cols = s.trend(p, from, to, None).unwrap();
            let raw = s.trend_scan(p, from, to).unwrap();
            assert_eq!(cols.resolution, Resolution::Raw);
            assert_eq!(cols.points, raw.points, "{p} over [{from}, {to})");
        }
    }

    fn chunk_hours(s: &Store) -> Vec<(i64, i64)> {
        let mut st = s.conn().prepare("SELECT bucket_ns, n FROM hk_chunks ORDER BY 1").unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
    }

    #[test]
    fn columns_code_every_kind_of_value() {
        for v in [
            vec![5.0; 7],
            vec![0.0, 255.0, 3.0],
            vec![0.0, 65_535.0, 256.0],
            vec![0.0, 4_294_967_295.0, 65_536.0],
            vec![1.5, -2.0, 1e300],
            vec![-0.0, 0.0],
            vec![f64::NAN, 1.0],
        ] {
            let coded = encode_column(&v);
            let back = decode_column(&coded, v.len()).unwrap();
            let bits = |x: &[f64]| x.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&back), bits(&v), "{v:?} coded as {coded:?}");
        }
        assert_eq!(encode_column(&[7.0; 3600]).len(), 9, "a constant hour is one value");
        assert_eq!(encode_column(&[1.0, 300.0]).len(), 1 + 2 * 2);
        assert_eq!(decode_column(&[2, 0, 1, 0], 2), None, "short");
        assert_eq!(decode_column(&[3, 0, 1, 0], 1), None, "unknown width");
        assert_eq!(decode_column(&[], 0), None);
    }

    /// The per-parameter columns give exactly what decoding every raw row gives: files that
    /// overlap in time, a live source's open hour (read raw) sealed when the next hour starts,
    /// retention cutting an hour in two, and a database of schema version 1 migrated.
    #[test]
    fn trends_from_columns_equal_the_raw_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        let mut s = Store::open(&path).unwrap();
        let t0 = 1_796_083_200_000_000_000i64;
        let sec = 1_000_000_000i64;
        // File a: hours 0-2, every 10 s; file b: hour 1 again, 5 s later, other values.
        let a: Vec<(i64, u16)> = (0..1080).map(|i| (t0 + i * 10 * sec, i as u16)).collect();
        let b: Vec<(i64, u16)> =
            (360..720).map(|i| (t0 + i * 10 * sec + 5 * sec, 60_000 - i as u16)).collect();
        hk_at(&mut s, "a", true, &a);
        hk_at(&mut s, "b", true, &b);
        assert_eq!(chunk_hours(&s), vec![(t0, 360), (t0 + HOUR_NS, 720), (t0 + 2 * HOUR_NS, 360)]);
        // Live: three commits in hour 3 (left open), then one in hour 4 (seals hour 3).
        for k in 0..3 {
            let t = t0 + 3 * HOUR_NS + k * 60 * sec;
            hk_at(&mut s, "live", false, &[(t, 7), (t + sec, 300)]);
            assert_eq!(chunk_hours(&s).len(), 3, "the open hour has no column");
            same_as_raw(&s, t0, t0 + 4 * HOUR_NS);
        }
        hk_at(&mut s, "live", false, &[(t0 + 4 * HOUR_NS + sec, 9)]);
        assert_eq!(chunk_hours(&s).last(), Some(&(t0 + 3 * HOUR_NS, 6)));
        for (from, to) in [
            (t0, t0 + 5 * HOUR_NS),
            (t0 + 1234 * sec, t0 + 3 * HOUR_NS + 61 * sec),
            (t0 - DAY_NS, t0 + DAY_NS),
            (t0 + HOUR_NS, t0 + HOUR_NS + 1),
            (t0 + 5 * HOUR_NS, t0 + 6 * HOUR_NS),
        ] {
            same_as_raw(&s, from, to);
        }
        // A file going back and forth between two hours.
        let h = |k: i64, x: i64| t0 + k * HOUR_NS + x * sec;
        hk_at(&mut s, "c", true, &[(h(5, 1), 1), (h(6, 1), 2), (h(5, 2), 3), (h(6, 0), 4)]);
        // (The live hour 4 was sealed as the hour before this file's first.)
        assert_eq!(&chunk_hours(&s)[4..], &[(h(4, 0), 1), (h(5, 0), 2), (h(6, 0), 2)]);
        same_as_raw(&s, t0, t0 + 7 * HOUR_NS);
        let binned = s.trend("rate_sector0", t0, t0 + 5 * HOUR_NS, Some(50)).unwrap();
        assert!(
            binned.points.len() <= 50 && binned.points.iter().map(|p| p.n).sum::<u64>() == 1447
        );
        // Retention cuts hour 1 in two: hour 0 goes, hour 1 is rebuilt from what is left.
        let cut = t0 + HOUR_NS + 1800 * sec;
        s.retain_raw(1, cut + DAY_NS).unwrap();
        assert_eq!(chunk_hours(&s).first(), Some(&(t0 + HOUR_NS, 360)));
        same_as_raw(&s, cut, t0 + 5 * HOUR_NS);
        // A database of schema version 1: its hours are transposed by the migration.
        s.conn()
            .execute_batch(
                "DROP TABLE hk_columns; DROP TABLE hk_chunks; DROP TABLE table_images; \
                 PRAGMA user_version = 1;",
            )
            .unwrap();
        drop(s);
        let s = Store::open(&path).unwrap();
        assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64);
        assert_eq!(chunk_hours(&s).len(), 6, "hours 1-6, the open one included");
        same_as_raw(&s, cut, t0 + 5 * HOUR_NS);
        // Live rows into an hour that has a column: read raw until sealed.
        let mut s = s;
        hk_at(&mut s, "live", false, &[(t0 + 4 * HOUR_NS + 2 * sec, 11)]);
        assert_eq!(chunk_hours(&s).len(), 5);
        same_as_raw(&s, cut, t0 + 5 * HOUR_NS);
    }
}
