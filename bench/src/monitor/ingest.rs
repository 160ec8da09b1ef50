//! Ingestion: drop-directory files and live devices into the store, with alarms evaluated on
//! the way.
//!
//! # Drop directory (`--watch DIR`)
//!
//! Every regular file directly in `DIR` is taken in name order, except names starting with
//! `.` or ending in `.part` or `.tmp` (write there, then rename: a file is taken whole). In a
//! continuous watch a file is taken once its size and time have not changed for the settle
//! time. Each file is:
//! 1. hashed (SHA-256); a hash the store already knows was ingested (or quarantined) before
//!    a restart: only step 4 remains;
//! 2. classified by content and name ([`Kind`]): a TM archive (`EICR` records), a CADU capture
//!    (starts with the ASM, whole CADUs), an ICD §6 event file (`ECL-EVT-SEC_*.fits|.csv`),
//!    attitude (`SVO-ATT-CNV_*`) or orbit (`SVO-ORB-CNV_*`) file; anything else is quarantined;
//! 3. ingested in one transaction ([`super::db::Batch`]): rows, aggregates, alarm transitions
//!    and provenance commit together, or not at all. A damaged file (archive record damage or
//!    torn tail, octets outside CADUs or a cut CADU in a capture, an event-file error, a file
//!    above the size limit) stores nothing but its provenance row with the reason;
//! 4. moved to `DIR/ingested/` or to `DIR/quarantine/` with `NAME.why` beside it (the reason,
//!    one line). A name already taken there gets the hash's first 12 hex digits appended.
//!
//! A kill at any moment leaves the file in `DIR` (taken again at restart: either its rows are
//! not committed and it is ingested, or they are and it is only moved) or already moved.
//!
//! # Live (`--device DEVICE`)
//!
//! [`Ingestor::run_device`] connects like every command (`twin`, `qemu`, a port), commits what
//! it receives about once a second under one `device` source per connection, records link
//! up/down events, and reconnects after a line loss with a growing delay (1 s to 30 s).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tc_tm::mission::ASM;
use tc_tm::pus::tm as pus_tm;
use tc_tm::service::Report;
use tc_tm::service::housekeeping::{HkReport, HousekeepingReport, Report as HkMsg};
use tc_tm::service::verification::Report as VerReport;

use super::alarm::{self, Change, Evaluator};
use super::db::{Batch, NewSource, Store};
use crate::archive::{self, ArchiveReader, RecordKind};
use crate::downlink::{Decoder, Event as DlEvent};
use crate::hk_limits::LimitSet;

/// Default largest file taken from a drop directory: 4 GiB (a larger one is quarantined).
pub const DEFAULT_MAX_FILE_BYTES: u64 = 4 << 30;
/// Energy bands of event-file summaries: PHA channel ranges `[lo, hi)`.
pub const PHA_BANDS: [(u16, u16); 4] = [(0, 256), (256, 512), (512, 768), (768, 1024)];

/// What kind of file a dropped file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// TM archive (`EICR` records).
    Archive,
    /// Raw CADU capture.
    Cadu,
    /// ICD §6 event file.
    Events,
    /// ICD §6 attitude file.
    Attitude,
    /// ICD §6 orbit file.
    Orbit,
    /// None of these.
    Unknown,
}

impl Kind {
    /// The `sources.kind` word.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Archive => "archive",
            Kind::Cadu => "cadu",
            Kind::Events => "events",
            Kind::Attitude => "attitude",
            Kind::Orbit => "orbit",
            Kind::Unknown => "unknown",
        }
    }
}

/// Something that changed in the store, for live pages (sent after the commit).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Update {
    /// New HK stored; the newest reception time.
    Hk {
        /// Reception time of the newest HK report, UTC ns.
        rx_ns: i64,
    },
    /// An alarm changed (raised, escalated, re-raised, cleared, closed, unshelved).
    Alarm(Change),
    /// A trigger alert was stored.
    Alert {
        /// Its row id.
        id: i64,
    },
    /// A file was ingested or quarantined.
    Source {
        /// Its row id.
        id: i64,
        /// `ingested` or `quarantined`.
        status: String,
    },
    /// The live link went up or down.
    Link {
        /// Whether it is up.
        up: bool,
        /// The DEVICE word.
        device: String,
    },
}

/// Receives [`Update`]s (e.g. the web server's server-sent events).
pub type Listener = Arc<dyn Fn(&Update) + Send + Sync>;

/// The result of one dropped file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileOutcome {
    /// The file name.
    pub name: String,
    /// Its kind.
    pub kind: Kind,
    /// `ingested` or `quarantined`.
    pub status: String,
    /// Why quarantined.
    pub reason: Option<String>,
    /// Whether the store knew it already (a restart after a crash).
    pub known: bool,
    /// HK reports stored from it.
    pub hk: i64,
    /// Where it went.
    pub moved_to: PathBuf,
}

/// The ingestion engine: one store connection, the alarm evaluator, the listeners.
pub struct Ingestor {
    store: Store,
    eval: Evaluator,
    listener: Option<Listener>,
    on_alarm: Option<String>,
    /// Largest file taken from a drop directory.
    pub max_file_bytes: u64,
    prev_hk: Option<(i64, HkReport)>,
    /// Live table dumps being reassembled (a file's are its own).
    dumps: Dumps,
}

impl std::fmt::Debug for Ingestor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingestor").field("store", &self.store).finish_non_exhaustive()
    }
}

/// Why a file is quarantined.
#[derive(Debug)]
struct Quarantine(String);

impl Ingestor {
    /// An ingestor writing into `store`, alarming with `limits`.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn new(store: Store, limits: LimitSet) -> anyhow::Result<Self> {
        let eval = Evaluator::load(store.conn(), limits)?;
        let prev_hk = super::db::last_hk(store.conn())?;
        Ok(Self {
            store,
            eval,
            listener: None,
            on_alarm: None,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            prev_hk,
            dumps: Dumps::default(),
        })
    }

    /// Sends every [`Update`] to `listener` (after each commit).
    pub fn set_listener(&mut self, listener: Listener) {
        self.listener = Some(listener);
    }

    /// Runs `cmd` (through `sh -c`) with the alarm as JSON on stdin whenever an alarm is
    /// raised, escalated or re-raised.
    pub fn set_on_alarm(&mut self, cmd: Option<String>) {
        self.on_alarm = cmd;
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The store, mutably.
    pub fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    fn emit(&self, u: &Update) {
        if let Some(l) = &self.listener {
            l(u);
        }
    }

    /// After a commit: alarm updates, `--on-alarm`.
    fn committed(&mut self) -> anyhow::Result<()> {
        let changes = self.eval.take_changes();
        let now = archive::now_utc_ns();
        for c in changes {
            if let Some(cmd) = &self.on_alarm
                && matches!(c.kind.as_str(), "raised" | "escalated" | "reraised")
                && let Some(a) = alarm::get(self.store.conn(), c.alarm_id)?
            {
                alarm::notify_command(cmd, &a, &c.kind, now);
            }
            self.emit(&Update::Alarm(c));
        }
        Ok(())
    }

    /// After a rollback: forget what the evaluator and the boot tracker saw.
    fn rolled_back(&mut self) -> anyhow::Result<()> {
        self.eval.reload(self.store.conn())?;
        self.prev_hk = super::db::last_hk(self.store.conn())?;
        Ok(())
    }

    /// Periodic work of a running monitor: staleness against the wall clock when it watches a
    /// live unit (`live_since_ns`: when it started), shelves whose time is up.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn tick(&mut self, now_ns: i64, live_since_ns: Option<i64>) -> anyhow::Result<()> {
        if let Some(since_ns) = live_since_ns {
            let tx = self.store.conn_mut().transaction()?;
            self.eval.on_tick(&tx, now_ns, since_ns)?;
            self.eval.save(&tx)?;
            tx.commit()?;
        }
        self.committed()?;
        for id in alarm::expire_shelves(self.store.conn_mut(), now_ns)? {
            self.emit(&Update::Alarm(Change { alarm_id: id, kind: "unshelved".to_owned() }));
        }
        Ok(())
    }

    /// Takes every ready file of `dir` once (see the module docs); files younger than
    /// `settle` are left for later.
    ///
    /// # Errors
    /// The directory cannot be read or its subdirectories created; SQLite errors. A bad file
    /// is never an error: it is quarantined.
    pub fn process_dir(
        &mut self,
        dir: &Path,
        settle: Duration,
    ) -> anyhow::Result<Vec<FileOutcome>> {
        let ingested = dir.join("ingested");
        let quarantine = dir.join("quarantine");
        for d in [&ingested, &quarantine] {
            fs::create_dir_all(d).with_context(|| format!("{}: cannot create", d.display()))?;
        }
        let mut names: Vec<PathBuf> = fs::read_dir(dir)
            .with_context(|| format!("{}: cannot read the drop directory", dir.display()))?
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.path())
            .filter(|p| {
                let n = p.file_name().and_then(|n| n.to_str()).unwrap_or(".");
                !(n.starts_with('.') || n.ends_with(".part") || n.ends_with(".tmp"))
            })
            .collect();
        names.sort();
        let mut out = Vec::new();
        let now = SystemTime::now();
        for path in names {
            if !settle.is_zero()
                && let Ok(m) = fs::metadata(&path).and_then(|m| m.modified())
                && now.duration_since(m).unwrap_or_default() < settle
            {
                continue;
            }
            out.push(self.take_file(&path, &ingested, &quarantine)?);
        }
        Ok(out)
    }

    fn take_file(
        &mut self,
        path: &Path,
        ingested: &Path,
        quarantine: &Path,
    ) -> anyhow::Result<FileOutcome> {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?").to_owned();
        let (sha, size) = match hash_file(path) {
            Ok(h) => h,
            Err(e) => {
                // Unreadable: quarantine without a hash (nothing to be idempotent on).
                let reason = format!("cannot read: {e}");
                let id = self.record_quarantine(Kind::Unknown, &name, None, None, &reason)?;
                let moved_to = move_to(path, quarantine, &name, "unreadable", Some(&reason))?;
                self.emit(&Update::Source { id, status: "quarantined".to_owned() });
                return Ok(FileOutcome {
                    name,
                    kind: Kind::Unknown,
                    status: "quarantined".into(),
                    reason: Some(reason),
                    known: false,
                    hk: 0,
                    moved_to,
                });
            }
        };
        if let Some(src) = self.store.source_by_hash(&sha)? {
            let q = src.status == "quarantined";
            let dest = if q { quarantine } else { ingested };
            let moved_to =
                move_to(path, dest, &name, &sha, if q { src.reason.as_deref() } else { None })?;
            return Ok(FileOutcome {
                name,
                kind: kind_of_name(&src.kind),
                status: src.status,
                reason: src.reason,
                known: true,
                hk: src.hk,
                moved_to,
            });
        }
        let kind = classify(path, size);
        let result = if size > self.max_file_bytes {
            Err(Quarantine(format!(
                "{size} octets: larger than the limit of {} octets (--max-file-mb)",
                self.max_file_bytes
            )))
        } else {
            self.ingest_file(path, kind, &name, &sha, size)?
        };
        match result {
            Ok(hk) => {
                let moved_to = move_to(path, ingested, &name, &sha, None)?;
                Ok(FileOutcome {
                    name,
                    kind,
                    status: "ingested".into(),
                    reason: None,
                    known: false,
                    hk,
                    moved_to,
                })
            }
            Err(Quarantine(reason)) => {
                let id = self.record_quarantine(kind, &name, Some(&sha), Some(size), &reason)?;
                let moved_to = move_to(path, quarantine, &name, &sha, Some(&reason))?;
                self.emit(&Update::Source { id, status: "quarantined".to_owned() });
                Ok(FileOutcome {
                    name,
                    kind,
                    status: "quarantined".into(),
                    reason: Some(reason),
                    known: false,
                    hk: 0,
                    moved_to,
                })
            }
        }
    }

    fn record_quarantine(
        &mut self,
        kind: Kind,
        name: &str,
        sha: Option<&str>,
        size: Option<u64>,
        reason: &str,
    ) -> anyhow::Result<i64> {
        let now = archive::now_utc_ns();
        let b = self.store.begin(NewSource {
            kind: kind.name(),
            name,
            sha256: sha,
            size: size.map(|s| i64::try_from(s).unwrap_or(i64::MAX)),
            status: "quarantined",
            reason: Some(reason),
            started_ns: now,
        })?;
        let id = b.source_id();
        b.commit(Some(now))?;
        Ok(id)
    }

    /// Ingests one file in one transaction; a damaged file rolls back and is quarantined.
    fn ingest_file(
        &mut self,
        path: &Path,
        kind: Kind,
        name: &str,
        sha: &str,
        size: u64,
    ) -> anyhow::Result<Result<i64, Quarantine>> {
        let r = self.ingest_file_inner(path, kind, name, sha, size);
        match r {
            Ok(Ok((hk, id, alerts, last_hk))) => {
                self.committed()?;
                if let Some(rx_ns) = last_hk {
                    self.emit(&Update::Hk { rx_ns });
                }
                for a in alerts {
                    self.emit(&Update::Alert { id: a });
                }
                self.emit(&Update::Source { id, status: "ingested".to_owned() });
                Ok(Ok(hk))
            }
            Ok(Err(quarantine)) => {
                self.rolled_back()?;
                Ok(Err(quarantine))
            }
            Err(e) => {
                // A store error (disk full, ...) is not the file's fault: the file stays in
                // place and is taken again at the next scan.
                let _ = self.rolled_back();
                Err(e.context(format!("{name}: not ingested, left in place")))
            }
        }
    }

    #[allow(clippy::type_complexity)]
    fn ingest_file_inner(
        &mut self,
        path: &Path,
        kind: Kind,
        name: &str,
        sha: &str,
        size: u64,
    ) -> anyhow::Result<Result<(i64, i64, Vec<i64>, Option<i64>), Quarantine>> {
        let now = archive::now_utc_ns();
        let Self { store, eval, prev_hk, .. } = self;
        let mut batch = store.begin(NewSource {
            kind: kind.name(),
            name,
            sha256: Some(sha),
            size: Some(i64::try_from(size).unwrap_or(i64::MAX)),
            status: "ingested",
            reason: None,
            started_ns: now,
        })?;
        // A file's dumps are reassembled from its own segments only.
        let mut dumps = Dumps::default();
        let mut sink =
            PacketSink { eval, prev_hk, dumps: &mut dumps, alerts: Vec::new(), last_hk: None };
        let verdict = match kind {
            Kind::Archive => ingest_archive(path, &mut batch, &mut sink)?,
            Kind::Cadu => ingest_cadus(path, &mut batch, &mut sink, now)?,
            Kind::Events => ingest_events(path, &mut batch)?,
            Kind::Attitude | Kind::Orbit => ingest_context(path, kind)?,
            Kind::Unknown => Err(Quarantine(
                "not a TM archive (EICR records), a CADU capture (whole CADUs from an ASM) or an \
                 ICD §6 file (ECL-EVT-SEC_*, SVO-ATT-CNV_*, SVO-ORB-CNV_* .fits/.csv)"
                    .to_owned(),
            )),
        };
        if let Err(q) = verdict {
            return Ok(Err(q));
        }
        let alerts = std::mem::take(&mut sink.alerts);
        let last_hk = sink.last_hk;
        sink.eval.save(batch.conn())?;
        let id = batch.source_id();
        let counts = batch.commit(Some(archive::now_utc_ns()))?;
        Ok(Ok((counts.hk, id, alerts, last_hk)))
    }

    /// Ingests a live device until `stop` is set, reconnecting after line losses.
    ///
    /// # Errors
    /// SQLite errors (a lost link is not an error: it is recorded and retried).
    pub fn run_device(
        &mut self,
        device: &str,
        stop: &AtomicBool,
        mut on_tick: impl FnMut(&mut Self) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let mut backoff = Duration::from_secs(1);
        while !stop.load(Ordering::Relaxed) {
            let link = super::link_args_for(device);
            let conn = link.and_then(|l| l.connect());
            let mut conn = match conn {
                Ok(c) => c,
                Err(e) => {
                    eprintln!(
                        "monitor: {device}: cannot connect ({e:#}); retrying in {} s",
                        backoff.as_secs()
                    );
                    sleep_unless(stop, backoff, &mut || on_tick(self))?;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                    continue;
                }
            };
            backoff = Duration::from_secs(1);
            let now = archive::now_utc_ns();
            let source_id = {
                let mut b = self.store.begin(NewSource {
                    kind: "device",
                    name: device,
                    sha256: None,
                    size: None,
                    status: "live",
                    reason: None,
                    started_ns: now,
                })?;
                b.add_link_event(now, true, "connected")?;
                let id = b.source_id();
                b.commit(None)?;
                id
            };
            self.emit(&Update::Link { up: true, device: device.to_owned() });
            eprintln!("monitor: {device}: connected");
            let why = loop {
                if stop.load(Ordering::Relaxed) {
                    break "stopped".to_owned();
                }
                let until = Instant::now() + Duration::from_millis(1000);
                let mut got = Vec::new();
                let mut err = None;
                while Instant::now() < until {
                    match conn.next_packet(until) {
                        Ok(Some(p)) => got.push(p),
                        Ok(None) => {}
                        Err(e) => {
                            err = Some(format!("{e}"));
                            break;
                        }
                    }
                }
                self.store_live(source_id, &got)?;
                on_tick(self)?;
                if let Some(e) = err {
                    break e;
                }
            };
            let now = archive::now_utc_ns();
            let mut b = self.store.resume(source_id)?;
            b.add_link_event(now, false, &why)?;
            b.conn().execute(
                "UPDATE sources SET status = 'closed', reason = ?2 WHERE id = ?1",
                rusqlite::params![source_id, why],
            )?;
            b.commit(Some(now))?;
            self.emit(&Update::Link { up: false, device: device.to_owned() });
            drop(conn);
            if !stop.load(Ordering::Relaxed) {
                eprintln!("monitor: {device}: link lost ({why}); reconnecting");
                sleep_unless(stop, backoff, &mut || on_tick(self))?;
            }
        }
        Ok(())
    }

    /// Stores packets received live under `source_id`, in one transaction.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn store_live(
        &mut self,
        source_id: i64,
        packets: &[crate::session::downlink::TmPacket],
    ) -> anyhow::Result<()> {
        if packets.is_empty() {
            return Ok(());
        }
        let Self { store, eval, prev_hk, dumps, .. } = self;
        let mut batch = store.resume(source_id)?;
        let mut sink = PacketSink { eval, prev_hk, dumps, alerts: Vec::new(), last_hk: None };
        for p in packets {
            sink.packet(&mut batch, p.received_utc_ns, &p.bytes)?;
        }
        let alerts = std::mem::take(&mut sink.alerts);
        let last_hk = sink.last_hk;
        sink.eval.save(batch.conn())?;
        batch.commit(None)?;
        self.committed()?;
        if let Some(rx_ns) = last_hk {
            self.emit(&Update::Hk { rx_ns });
        }
        for a in alerts {
            self.emit(&Update::Alert { id: a });
        }
        Ok(())
    }
}

fn sleep_unless(
    stop: &AtomicBool,
    d: Duration,
    tick: &mut dyn FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let end = Instant::now() + d;
    while Instant::now() < end && !stop.load(Ordering::Relaxed) {
        std::thread::sleep(
            Duration::from_millis(100).min(end.saturating_duration_since(Instant::now())),
        );
        tick()?;
    }
    Ok(())
}

/// Routes decoded packets into a batch and the evaluator.
struct PacketSink<'e> {
    eval: &'e mut Evaluator,
    prev_hk: &'e mut Option<(i64, HkReport)>,
    dumps: &'e mut Dumps,
    alerts: Vec<i64>,
    last_hk: Option<i64>,
}

impl PacketSink<'_> {
    /// One TM packet (PEC checked here); returns whether it parsed.
    fn packet(&mut self, batch: &mut Batch<'_>, rx_ns: i64, octets: &[u8]) -> anyhow::Result<bool> {
        let Ok(tm) = pus_tm::Repr::parse_bytes(octets) else {
            batch.count_damaged(1);
            return Ok(false);
        };
        let cuc_s = tm.time.as_secs_f64();
        match Report::parse(tm.service, tm.subtype, tm.source_data) {
            Ok(Report::Housekeeping(HkMsg::Housekeeping(HousekeepingReport::Ugts(hk)))) => {
                batch.add_hk(rx_ns, cuc_s, tm.source_data, &hk)?;
                if let Some((_, prev)) = self.prev_hk.as_ref() {
                    let why = if hk.uptime_s < prev.uptime_s {
                        Some(format!(
                            "boot: uptime fell from {} s to {} s",
                            prev.uptime_s, hk.uptime_s
                        ))
                    } else if (hk.sw_version, hk.boot_bank) != (prev.sw_version, prev.boot_bank) {
                        Some("software version or boot bank changed".to_owned())
                    } else {
                        None
                    };
                    if let Some(why) = why {
                        batch.add_boot(rx_ns, cuc_s, &hk, &why)?;
                    }
                } else {
                    batch.add_boot(rx_ns, cuc_s, &hk, "first housekeeping seen")?;
                }
                *self.prev_hk = Some((rx_ns, hk));
                self.eval.on_hk(batch.conn(), rx_ns, &hk)?;
                self.last_hk = Some(self.last_hk.map_or(rx_ns, |t| t.max(rx_ns)));
            }
            Ok(Report::Event(tc_tm::service::event::Report::Event(e))) => {
                batch.add_event(rx_ns, cuc_s, &e)?;
                self.eval.on_event(batch.conn(), rx_ns, &e)?;
            }
            Ok(Report::Verification(v)) => {
                let text = crate::report::Rendered::of(tm.service, tm.subtype, tm.source_data).text;
                match v {
                    VerReport::AcceptanceFailure(f) => {
                        batch.add_failure(rx_ns, cuc_s, 2, &f, None, &text)?
                    }
                    VerReport::StartFailure(f) => {
                        batch.add_failure(rx_ns, cuc_s, 4, &f, None, &text)?
                    }
                    VerReport::ProgressFailure(p) => {
                        batch.add_failure(rx_ns, cuc_s, 6, &p.failure, Some(p.step), &text)?;
                    }
                    VerReport::CompletionFailure(f) => {
                        batch.add_failure(rx_ns, cuc_s, 8, &f, None, &text)?
                    }
                    _ => batch.count_packet(rx_ns),
                }
            }
            Ok(Report::Trigger(tc_tm::service::trigger::Report::Alert(a))) => {
                let id = batch.add_alert(rx_ns, cuc_s, &a)?;
                self.alerts.push(id);
                self.eval.on_alert(batch.conn(), rx_ns, &a)?;
            }
            Ok(Report::Table(tc_tm::service::table::Report::Directory(list))) => {
                batch.add_directory(rx_ns, cuc_s, list.iter())?;
            }
            Ok(Report::Table(tc_tm::service::table::Report::DumpSegment(seg))) => {
                batch.count_packet(rx_ns);
                if let Some(image) = self.dumps.add(&seg) {
                    batch.add_table_image(rx_ns, &image)?;
                }
            }
            Ok(_) => batch.count_packet(rx_ns),
            Err(_) => {
                batch.count_damaged(1);
            }
        }
        Ok(true)
    }
}

/// Table dumps being reassembled from their 200,6 segments, until every octet of an image is
/// there and its CRC checks (then it is stored: [`super::db::Batch::add_table_image`]).
/// Bounded: at most [`Dumps::MAX_PENDING`] images at once (the oldest is dropped), each at
/// most [`tables::MAX_IMAGE_LEN`] octets.
#[derive(Debug, Default)]
pub struct Dumps {
    pending: Vec<PendingDump>,
    next_age: u64,
}

#[derive(Debug)]
struct PendingDump {
    key: (u8, u8, u16, u32),
    image: Vec<u8>,
    have: Vec<bool>,
    missing: usize,
    age: u64,
}

impl Dumps {
    /// Images reassembled at once.
    pub const MAX_PENDING: usize = 8;

    /// Adds a segment; returns the image it completes, when its CRC checks.
    pub fn add(&mut self, seg: &tc_tm::service::table::DumpSegment<'_>) -> Option<Vec<u8>> {
        let total = usize::try_from(seg.total_len).ok()?;
        if total == 0 || total > tables::MAX_IMAGE_LEN {
            return None;
        }
        let key = (seg.table_id, seg.buffer.value(), seg.version, seg.total_len);
        self.next_age += 1;
        let age = self.next_age;
        let at = match self.pending.iter().position(|p| p.key == key) {
            Some(at) => at,
            None => {
                if self.pending.len() >= Self::MAX_PENDING {
                    let oldest = self.pending.iter().enumerate().min_by_key(|(_, p)| p.age)?.0;
                    self.pending.swap_remove(oldest);
                }
                self.pending.push(PendingDump {
                    key,
                    image: vec![0; total],
                    have: vec![false; total],
                    missing: total,
                    age,
                });
                self.pending.len() - 1
            }
        };
        let p = self.pending.get_mut(at)?;
        p.age = age;
        let start = usize::try_from(seg.offset).ok()?;
        let end = start.checked_add(seg.data.len())?;
        let (dst, have) = (p.image.get_mut(start..end)?, p.have.get_mut(start..end)?);
        dst.copy_from_slice(seg.data);
        for h in have.iter_mut().filter(|h| !**h) {
            *h = true;
            p.missing -= 1;
        }
        if p.missing > 0 {
            return None;
        }
        let done = self.pending.swap_remove(at);
        let image = tables::image::Image::new_checked(done.image.as_slice()).ok()?;
        let header = image.header()?;
        (header.table as u8 == seg.table_id && header.table_version == seg.version)
            .then_some(done.image)
    }
}

fn kind_of_name(s: &str) -> Kind {
    match s {
        "archive" => Kind::Archive,
        "cadu" => Kind::Cadu,
        "events" => Kind::Events,
        "attitude" => Kind::Attitude,
        "orbit" => Kind::Orbit,
        _ => Kind::Unknown,
    }
}

/// SHA-256 (hex) and size of a file, read in 64 KiB chunks.
///
/// # Errors
/// I/O errors.
pub fn hash_file(path: &Path) -> io::Result<(String, u64)> {
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        h.update(buf.get(..n).unwrap_or_default());
    }
    Ok((hex::encode(h.finalize()), size))
}

/// The kind of a file, from its first octets and its name.
pub fn classify(path: &Path, size: u64) -> Kind {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let lower = name.to_ascii_lowercase();
    let ext_ok = [".fits", ".fit", ".csv"].iter().any(|e| lower.ends_with(e));
    if ext_ok && name.starts_with("ECL-EVT-SEC") {
        return Kind::Events;
    }
    if ext_ok && name.starts_with("SVO-ATT-CNV") {
        return Kind::Attitude;
    }
    if ext_ok && name.starts_with("SVO-ORB-CNV") {
        return Kind::Orbit;
    }
    let mut head = [0u8; 4];
    let ok = File::open(path).and_then(|mut f| f.read_exact(&mut head)).is_ok();
    if ok && head == archive::SYNC {
        Kind::Archive
    } else if ok && head == ASM && size > 0 {
        Kind::Cadu
    } else {
        Kind::Unknown
    }
}

/// Moves `path` into `dir` (as `name`, or `name.<hash12>` if taken), writing `NAME.why` first
/// when a reason is given.
fn move_to(
    path: &Path,
    dir: &Path,
    name: &str,
    sha: &str,
    why: Option<&str>,
) -> anyhow::Result<PathBuf> {
    let mut dest = dir.join(name);
    if dest.exists() {
        let tag: String = sha.chars().take(12).collect();
        dest = dir.join(format!("{name}.{tag}"));
    }
    if let Some(why) = why {
        let mut w = dest.clone().into_os_string();
        w.push(".why");
        fs::write(&w, format!("{}\n", why.replace('\n', " ")))
            .with_context(|| format!("{}: cannot write", Path::new(&w).display()))?;
    }
    fs::rename(path, &dest)
        .with_context(|| format!("cannot move {} to {}", path.display(), dest.display()))?;
    Ok(dest)
}

fn ingest_archive(
    path: &Path,
    batch: &mut Batch<'_>,
    sink: &mut PacketSink<'_>,
) -> anyhow::Result<Result<(), Quarantine>> {
    let f = File::open(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let records = ArchiveReader::new(io::BufReader::with_capacity(1 << 16, f));
    let mut decoder = Decoder::new();
    let mut cadus = 0u64;
    let mut pending: Vec<(i64, Vec<u8>)> = Vec::new();
    let mut frame_errors = 0i64;
    for r in records {
        let r = match r {
            Ok(r) => r,
            Err(e) => return Ok(Err(Quarantine(format!("damaged TM archive: {e}")))),
        };
        if r.kind != RecordKind::Cadu || r.source != archive::SOURCE_TCTM {
            continue;
        }
        cadus += 1;
        let t = r.time_ns;
        decoder.push(&r.octets, |ev| match ev {
            DlEvent::Packet { octets, .. } => pending.push((t, octets.to_vec())),
            DlEvent::Error { .. } => frame_errors += 1,
            DlEvent::Frame { .. } => {}
        });
        for (t, p) in pending.drain(..) {
            sink.packet(batch, t, &p)?;
        }
    }
    if cadus == 0 {
        return Ok(Err(Quarantine("TM archive without any CADU record".to_owned())));
    }
    // Frame errors inside intact records were on the link, not in the file: counted.
    batch.count_damaged(frame_errors);
    Ok(Ok(()))
}

fn ingest_cadus(
    path: &Path,
    batch: &mut Batch<'_>,
    sink: &mut PacketSink<'_>,
    rx_ns: i64,
) -> anyhow::Result<Result<(), Quarantine>> {
    let mut f = File::open(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    // A capture has no time of its own: its file time stands for every packet's reception.
    let t = fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|m| m.duration_since(SystemTime::UNIX_EPOCH).ok())
        .and_then(|d| i64::try_from(d.as_nanos()).ok())
        .unwrap_or(rx_ns);
    let mut decoder = Decoder::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut pending: Vec<Vec<u8>> = Vec::new();
    let mut first_error: Option<String> = None;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        decoder.push(buf.get(..n).unwrap_or_default(), |ev| match ev {
            DlEvent::Packet { octets, .. } => pending.push(octets.to_vec()),
            DlEvent::Error { offset, error, .. } => {
                if first_error.is_none() {
                    first_error = Some(format!("CADU at offset {offset}: {error}"));
                }
            }
            DlEvent::Frame { .. } => {}
        });
        for p in pending.drain(..) {
            sink.packet(batch, t, &p)?;
        }
    }
    let s = decoder.summary();
    let tail = decoder.pending_octets();
    if s.garbage_octets > 0 || tail > 0 || s.bad_frames > 0 {
        let mut why = format!(
            "damaged CADU capture: {} frames, {} bad, {} octets outside CADUs, {} octets cut at the end",
            s.frames, s.bad_frames, s.garbage_octets, tail
        );
        if let Some(e) = first_error {
            why.push_str(&format!("; first error: {e}"));
        }
        return Ok(Err(Quarantine(why)));
    }
    if s.frames == 0 {
        return Ok(Err(Quarantine("CADU capture without any CADU".to_owned())));
    }
    Ok(Ok(()))
}

fn ingest_events(path: &Path, batch: &mut Batch<'_>) -> anyhow::Result<Result<(), Quarantine>> {
    let mut reader = match crate::events::EventReader::open(path) {
        Ok(r) => r,
        Err(e) => return Ok(Err(Quarantine(format!("event file: {e}")))),
    };
    let side = usize::from(crate::events::PLANE_SIDE);
    let mut pixels = vec![0u32; side * side];
    let mut rates: BTreeMap<(i64, u8), u64> = BTreeMap::new();
    let mut n = 0u64;
    let mut span: Option<(f64, f64)> = None;
    loop {
        let e = match reader.next_event() {
            Ok(Some(e)) => e,
            Ok(None) => break,
            Err(e) => return Ok(Err(Quarantine(format!("event file: {e}")))),
        };
        n += 1;
        let t = e.time_s();
        span = Some(span.map_or((t, t), |(a, b)| (a.min(t), b.max(t))));
        if let Some(c) = pixels.get_mut(usize::from(e.y) * side + usize::from(e.z)) {
            *c = c.saturating_add(1);
        }
        let band = PHA_BANDS.iter().position(|&(lo, hi)| (lo..hi).contains(&e.pha)).unwrap_or(0);
        let minute = (e.tick / (crate::events::TICKS_PER_S * 60)) as i64;
        *rates.entry((minute, band as u8)).or_default() += 1;
    }
    if n == 0 {
        return Ok(Err(Quarantine("event file without any event".to_owned())));
    }
    batch.add_event_file(span, n, &pixels, &rates)?;
    Ok(Ok(()))
}

fn ingest_context(path: &Path, kind: Kind) -> anyhow::Result<Result<(), Quarantine>> {
    let r = if kind == Kind::Attitude {
        crate::events::read_attitude(path).map(|v| v.len())
    } else {
        crate::events::read_orbit(path).map(|v| v.len())
    };
    Ok(match r {
        Ok(0) => Err(Quarantine(format!("{} file without any row", kind.name()))),
        Ok(_) => Ok(()),
        Err(e) => Err(Quarantine(format!("{} file: {e}", kind.name()))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tables::TableId;
    use tc_tm::service::table::{BufferSel, DumpSegment};

    fn seg(image: &[u8], version: u16, offset: usize, len: usize) -> DumpSegment<'_> {
        DumpSegment {
            table_id: TableId::Crt as u8,
            buffer: BufferSel::Active,
            version,
            total_len: image.len() as u32,
            offset: offset as u32,
            data: &image[offset..(offset + len).min(image.len())],
        }
    }

    /// Segments in any order, repeated, interleaved with another dump, complete an image once
    /// every octet is there; a damaged image (CRC) is never given; pending dumps are bounded.
    #[test]
    fn dumps_reassemble_checked_images_only() {
        let set = tables::defaults::generate(tables::defaults::DEFAULT_SEED);
        let crt = set.image(TableId::Crt).unwrap();
        let v = set.version(TableId::Crt);
        let mut d = Dumps::default();
        let n = crt.len();
        assert!(d.add(&seg(&crt, v, 100, 50)).is_none());
        assert!(d.add(&seg(&crt, v, 0, 120)).is_none());
        let mut bad = crt.clone();
        bad[20] ^= 1;
        assert!(d.add(&seg(&bad, v, 0, n)).is_none(), "a damaged image is not stored");
        // The damaged image was dropped: a new dump of the same key starts from nothing.
        assert!(d.add(&seg(&crt, v, 150, n)).is_none(), "0..150 missing");
        assert!(d.add(&seg(&crt, v, 0, 100)).is_none(), "100..150 missing");
        let got = d.add(&seg(&crt, v, 90, 60));
        assert_eq!(got.as_deref(), Some(crt.as_slice()));
        assert!(d.pending.is_empty());
        for k in 0..20u16 {
            assert!(d.add(&seg(&crt, k, 0, 10)).is_none());
        }
        assert_eq!(d.pending.len(), Dumps::MAX_PENDING);
        let huge = DumpSegment { total_len: u32::MAX, ..seg(&crt, v, 0, 10) };
        assert!(d.add(&huge).is_none());
        assert_eq!(d.pending.len(), Dumps::MAX_PENDING);
    }
}
