//! The digital twin: a unit model behind pseudo-terminals, at the real framing and (optionally)
//! the real line rate, with seeded link faults.
//!
//! [`Twin::start`] opens two [`PtyPair`]s — the TC/TM link and the EGSE stimulus link of
//! ICD §5 — and runs three threads until [`Twin::stop`]:
//!
//! - **uplink**: reads what the bench writes on the TC/TM pty, paces it to the line rate
//!   (`baud`), applies the uplink faults and hands the octets to [`Model::receive_uplink`];
//! - **downlink**: advances the model's time from the wall clock ([`Model::tick`], UTC → CUC
//!   TT), takes every CADU that is due ([`Model::next_cadu`]), applies the downlink faults
//!   (frame drops, then bit flips, octet drops and garbage) and writes it, paced. When no bench
//!   reads, the pty queue fills; the twin then discards the stale telemetry
//!   ([`PtyPair::discard_unread`]) as a real unit's UART would lose it, and carries on;
//! - **stimulus**: passes what arrives on the stimulus pty to [`Model::receive_stimulus`]
//!   (the science injection of ICD §5 comes with a later issue; the unit refuses and counts).
//!
//! After octets arrived, 1 ms of silence on the uplink calls [`Model::line_idle`], so the
//! reports of a TC leave at once instead of after the unit's flush timeout.
//!
//! [`UnitTwin`] runs the on-board unit (`onboard::unit::Unit`) over a state directory
//! ([`open_state`]: locked against other processes; a state created now is provisioned as a
//! unit from the factory by [`crate::provision`] unless blank).
//!
//! Both ptys keep their slave open, so the bench can disconnect and reconnect at will. The
//! model is shared behind a mutex ([`Twin::with_model`]) so tests can read its counters while it
//! runs; [`Twin::stop`] joins the threads and gives it back (to power it off and persist it).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tc_tm::mission::CADU_LEN;
use tc_tm::pus::time::Cuc;

use onboard::storage::Geometry;
use onboard::storage_fs::{FsError, FsStorage, Opened};

use crate::link::{FaultCounters, FaultInjector, FaultSpec, FrameFate, LinkError, Pacer, PtyPair};
use crate::provision::{ProvisionError, Provisioned, provision};

/// What the twin needs of a unit model (the `onboard` unit implements it).
pub trait Model: Send + 'static {
    /// Octets received on the uplink, in any chunking.
    fn receive_uplink(&mut self, octets: &[u8]);
    /// Advances on-board time.
    fn tick(&mut self, now: Cuc);
    /// Writes the next CADU into `out` if one is due; returns whether it did.
    fn next_cadu(&mut self, now: Cuc, out: &mut [u8; CADU_LEN]) -> bool;
    /// The uplink went quiet: partially filled frames may go at once.
    fn line_idle(&mut self) {}
    /// Octets received on the stimulus link (ICD §5).
    fn receive_stimulus(&mut self, octets: &[u8]) {
        let _ = octets;
    }
}

impl<S: onboard::storage::Storage + Send + 'static> Model for onboard::unit::Unit<S> {
    fn receive_uplink(&mut self, octets: &[u8]) {
        onboard::unit::Unit::receive_uplink(self, octets);
    }
    fn tick(&mut self, now: Cuc) {
        onboard::unit::Unit::tick(self, now);
    }
    fn next_cadu(&mut self, now: Cuc, out: &mut [u8; CADU_LEN]) -> bool {
        onboard::unit::Unit::next_cadu(self, now, out)
    }
    fn line_idle(&mut self) {
        onboard::unit::Unit::line_idle(self);
    }
    fn receive_stimulus(&mut self, octets: &[u8]) {
        onboard::unit::Unit::receive_stimulus(self, octets);
    }
}

/// Settings of a twin.
#[derive(Debug, Clone, PartialEq)]
pub struct TwinConfig {
    /// Line rate to emulate in both directions, or `None` for full speed.
    pub baud: Option<u32>,
    /// Faults on the uplink (what the model receives).
    pub uplink_faults: FaultSpec,
    /// Faults on the downlink (what the bench receives).
    pub downlink_faults: FaultSpec,
    /// Offset of the unit's clock from the wall clock at start, ms (`twin --clock-offset-s`):
    /// a twin started with +3600 s lives one hour ahead, so time-tagged TCs due in an hour are
    /// released now. [`Twin::clock`] moves it while the twin runs.
    pub clock_offset_ms: i64,
}

impl Default for TwinConfig {
    fn default() -> Self {
        Self {
            baud: None,
            uplink_faults: FaultSpec::none(),
            downlink_faults: FaultSpec::none(),
            clock_offset_ms: 0,
        }
    }
}

impl TwinConfig {
    /// The same fault spec on both directions; the downlink's seed is derived from the uplink's
    /// (`seed ^ 0x5A5A...`) so the two streams are independent but reproducible. `frame-drop`
    /// acts on the downlink only (the uplink is a byte stream to the twin).
    pub fn with_faults(mut self, spec: &FaultSpec) -> Self {
        self.uplink_faults = *spec;
        let mut down = *spec;
        down.seed ^= 0x5A5A_5A5A_5A5A_5A5A;
        self.downlink_faults = down;
        self
    }
}

/// Counters of a running twin.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TwinStats {
    /// Octets read from the bench on the TC/TM link.
    pub uplink_octets: u64,
    /// Uplink fault counters.
    pub uplink_faults: FaultCounters,
    /// CADUs the model produced.
    pub cadus: u64,
    /// CADUs written to the pty (after frame drops).
    pub cadus_sent: u64,
    /// CADUs discarded because no bench was reading.
    pub cadus_discarded: u64,
    /// Downlink fault counters.
    pub downlink_faults: FaultCounters,
    /// Octets drained from the stimulus link.
    pub stimulus_octets: u64,
}

/// The device paths of a running twin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwinPaths {
    /// TC/TM link (pty slave) the bench opens.
    pub tctm: PathBuf,
    /// Stimulus link (pty slave).
    pub stimulus: PathBuf,
}

/// A running twin (see the module documentation).
pub struct Twin<M: Model> {
    /// `None` only after [`Twin::stop`] took it back.
    model: Option<Arc<Mutex<M>>>,
    stats: Arc<Mutex<TwinStats>>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    paths: TwinPaths,
    failure: Arc<Mutex<Option<LinkError>>>,
    clock: TwinClock,
}

impl<M: Model> std::fmt::Debug for Twin<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Twin").field("paths", &self.paths).finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking twin thread must not take the others down with it: use the data as is.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// On-board time now: the wall clock (UTC) as CUC (TT since 2017-01-01).
pub fn cuc_now() -> Cuc {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    Cuc::from_unix_utc(secs, d.subsec_nanos()).unwrap_or(Cuc::EPOCH)
}

/// The twin's clock: the wall clock plus an offset that tests and the `twin` command can move
/// (shared by the threads of one twin).
#[derive(Debug, Clone, Default)]
pub struct TwinClock(Arc<AtomicI64>);

impl TwinClock {
    /// A clock `offset_ms` ahead of the wall clock (negative: behind).
    pub fn new(offset_ms: i64) -> Self {
        TwinClock(Arc::new(AtomicI64::new(offset_ms)))
    }

    /// The offset from the wall clock, ms.
    pub fn offset_ms(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }

    /// Moves the clock forward by `ms` (backward if negative): on-board time jumps, and every
    /// time-tagged TC now due is released at the next tick.
    pub fn advance_ms(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::Relaxed);
    }

    /// On-board time now: wall clock plus offset, as CUC.
    pub fn now(&self) -> Cuc {
        let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let ms = i128::try_from(d.as_millis()).unwrap_or(0) + i128::from(self.offset_ms());
        let secs = i64::try_from(ms.div_euclid(1000)).unwrap_or(i64::MAX);
        let nanos = u32::try_from(ms.rem_euclid(1000) * 1_000_000).unwrap_or(0)
            + d.subsec_nanos() % 1_000_000;
        Cuc::from_unix_utc(secs, nanos).unwrap_or(Cuc::EPOCH)
    }
}

/// Polling period of the threads (the latency of a stop request).
const POLL: Duration = Duration::from_millis(20);
/// How long a CADU may wait for the bench to read before the twin discards stale telemetry.
const WRITE_STALL: Duration = Duration::from_millis(200);

impl<M: Model> Twin<M> {
    /// Opens the ptys and starts the threads.
    ///
    /// # Errors
    /// [`LinkError::Io`] when no pseudo-terminal can be opened, [`LinkError::BadSettings`] for
    /// a zero baud rate.
    pub fn start(model: M, cfg: TwinConfig) -> Result<Self, LinkError> {
        if cfg.baud == Some(0) {
            return Err(LinkError::BadSettings {
                device: "twin".to_owned(),
                baud: 0,
                detail: "0 Bd: give a positive rate or no --baud for full speed".to_owned(),
            });
        }
        let tctm = Arc::new(PtyPair::open()?);
        let stim = PtyPair::open()?;
        let paths = TwinPaths {
            tctm: tctm.slave_path().to_path_buf(),
            stimulus: stim.slave_path().to_path_buf(),
        };
        let model = Arc::new(Mutex::new(model));
        let stats = Arc::new(Mutex::new(TwinStats::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let failure = Arc::new(Mutex::new(None));
        let (wake_tx, wake_rx) = mpsc::channel::<()>();
        let clock = TwinClock::new(cfg.clock_offset_ms);

        let up = {
            let (pty, model, stats, stop) =
                (tctm.clone(), model.clone(), stats.clone(), stop.clone());
            let faults = FaultInjector::new(cfg.uplink_faults);
            let baud = cfg.baud;
            spawn_link_thread("twin-uplink", &failure, move || {
                uplink(&pty, &model, &stats, &stop, faults, baud, &wake_tx)
            })?
        };
        let down = {
            let (pty, model, stats, stop) = (tctm, model.clone(), stats.clone(), stop.clone());
            let faults = FaultInjector::new(cfg.downlink_faults);
            let baud = cfg.baud;
            let clock = clock.clone();
            spawn_link_thread("twin-downlink", &failure, move || {
                downlink(&pty, &model, &stats, &stop, faults, baud, &wake_rx, &clock)
            })?
        };
        let stim_thread = {
            let (stats, stop, model) = (stats.clone(), stop.clone(), model.clone());
            std::thread::Builder::new()
                .name("twin-stimulus".into())
                .spawn(move || {
                    let mut buf = [0u8; 4096];
                    while !stop.load(Ordering::Relaxed) {
                        if let Ok(n) = stim.read_timeout(&mut buf, POLL)
                            && n > 0
                        {
                            lock(&model).receive_stimulus(buf.get(..n).unwrap_or(&[]));
                            lock(&stats).stimulus_octets += n as u64;
                        }
                    }
                })
                .map_err(|e| thread_err(&e))?
        };
        let threads = vec![up, down, stim_thread];
        Ok(Self { model: Some(model), stats, stop, threads, paths, failure, clock })
    }

    /// The unit's clock ([`TwinClock::advance_ms`] moves on-board time while the twin runs).
    pub fn clock(&self) -> TwinClock {
        self.clock.clone()
    }

    /// The device paths.
    pub fn paths(&self) -> &TwinPaths {
        &self.paths
    }

    /// The TC/TM device path the bench opens.
    pub fn tctm_path(&self) -> &Path {
        &self.paths.tctm
    }

    /// Runs `f` on the model while the twin runs (keep it short: the twin waits meanwhile).
    pub fn with_model<R>(&self, f: impl FnOnce(&mut M) -> R) -> Option<R> {
        self.model.as_ref().map(|m| f(&mut lock(m)))
    }

    /// Counters so far.
    pub fn stats(&self) -> TwinStats {
        *lock(&self.stats)
    }

    /// The error that stopped a twin thread, if any.
    pub fn failure(&self) -> Option<LinkError> {
        lock(&self.failure).clone()
    }

    /// Stops the threads (within ~20 ms) and gives the model back with the final counters.
    ///
    /// # Errors
    /// The error that stopped a twin thread early, if any (the model is lost then only if a
    /// thread still holds it, which joining rules out).
    pub fn stop(mut self) -> Result<(M, TwinStats), LinkError> {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        if let Some(e) = lock(&self.failure).take() {
            return Err(e);
        }
        let stats = *lock(&self.stats);
        // The threads are joined: this is the last reference.
        match self.model.take().map(Arc::try_unwrap) {
            Some(Ok(m)) => Ok((m.into_inner().unwrap_or_else(PoisonError::into_inner), stats)),
            _ => Err(LinkError::Io {
                device: self.paths.tctm.display().to_string(),
                op: "stop",
                kind: std::io::ErrorKind::Other,
                detail: "the model is still shared by a twin thread".to_owned(),
            }),
        }
    }
}

impl<M: Model> Drop for Twin<M> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// The unit the twin runs: the on-board model over an on-disk state directory.
pub type TwinUnit = onboard::unit::Unit<FsStorage>;

/// How a state directory was found by [`open_state`].
#[derive(Debug)]
pub struct StateInfo {
    /// The state directory.
    pub dir: PathBuf,
    /// Whether it was created now (erased), rather than re-opened.
    pub created: bool,
    /// What factory provisioning wrote, if it ran (a created state without `blank`).
    pub provisioned: Option<Provisioned>,
}

/// Why a twin state could not be opened.
#[derive(Debug)]
#[non_exhaustive]
pub enum StateError {
    /// Another process uses this state directory.
    Busy {
        /// The state directory.
        dir: PathBuf,
        /// The process holding it, as its lock file says (absent for an older bench).
        holder: Option<u32>,
    },
    /// The lock file could not be created.
    Lock {
        /// The lock file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The directory is damaged, foreign or unreadable.
    Fs(FsError),
    /// Factory provisioning failed.
    Provision(ProvisionError),
}

impl std::fmt::Display for StateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateError::Busy { dir, holder } => {
                write!(f, "twin state {} is in use by another eic-bench process", dir.display())?;
                if let Some(pid) = holder {
                    write!(f, " (pid {pid})")?;
                }
                f.write_str(": stop it, or use another state directory")
            }
            StateError::Lock { path, source } => {
                write!(f, "cannot create the lock file {}: {source}", path.display())
            }
            StateError::Fs(e) => write!(
                f,
                "{e} (give an empty or missing directory to start a fresh twin, or remove this \
                 one)"
            ),
            StateError::Provision(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for StateError {}

/// A locked, opened twin state: the storage plus the lock that keeps other processes out
/// while it lives (an advisory lock on `<dir>.lock`, next to the directory).
#[derive(Debug)]
pub struct State {
    /// The storage, to power a unit on.
    pub storage: FsStorage,
    /// How it was found.
    pub info: StateInfo,
    /// Keep it while the storage is in use.
    pub lock: StateLock,
}

/// The advisory lock of a state directory, `<dir>.lock` holding the holder's process ID:
/// released, and the file removed, when dropped.
///
/// The lock is an `flock`, which the system releases when its holder dies: a lock file left by
/// a process that was killed is stale by construction and is taken over. Removing the file on
/// exit cannot let two processes in: a process that locked a file which was removed meanwhile
/// sees that the path no longer names its file and locks again ([`StateLock::acquire`]).
#[derive(Debug)]
pub struct StateLock {
    file: std::fs::File,
    path: PathBuf,
}

impl StateLock {
    /// Locks `<dir>.lock`, creating it (and its parent directory) if needed.
    ///
    /// # Errors
    /// [`StateError::Busy`] when a living process holds it, [`StateError::Lock`] when the file
    /// cannot be created or locked.
    pub fn acquire(dir: &Path) -> Result<Self, StateError> {
        use std::io::{Read as _, Seek as _, Write as _};
        use std::os::unix::fs::MetadataExt as _;

        let mut path = dir.as_os_str().to_owned();
        path.push(".lock");
        let path = PathBuf::from(path);
        let err = |source| StateError::Lock { path: path.clone(), source };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(err)?;
        }
        // A few rounds at most: each retry means another process removed the file between our
        // open and our lock, which happens only when it exits.
        for _ in 0..16 {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .read(true)
                .write(true)
                .open(&path)
                .map_err(err)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => {
                    let mut text = String::new();
                    let _ = file.read_to_string(&mut text);
                    let holder = text.trim().parse().ok();
                    return Err(StateError::Busy { dir: dir.to_path_buf(), holder });
                }
                Err(std::fs::TryLockError::Error(source)) => return Err(err(source)),
            }
            let same = match (file.metadata(), std::fs::metadata(&path)) {
                (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
                _ => false,
            };
            if !same {
                continue; // removed by its previous holder on exit: lock the new one
            }
            file.set_len(0).map_err(err)?;
            file.rewind().map_err(err)?;
            writeln!(file, "{}", std::process::id()).map_err(err)?;
            return Ok(StateLock { file, path });
        }
        Err(err(std::io::Error::other("the lock file keeps being replaced")))
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for StateLock {
    fn drop(&mut self) {
        // Remove the file while still holding the lock (see the type's docs), then unlock.
        let _ = std::fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}

/// Opens the state directory `dir` (created if missing or empty), locks it against other
/// processes, and provisions a created state as a unit from the factory
/// ([`crate::provision`]: software image 1.0.0 in banks A and B, bank A selected, the default
/// table set active), unless `blank`.
///
/// # Errors
/// [`StateError`]: in use, damaged, or provisioning failed.
pub fn open_state(dir: &Path, blank: bool) -> Result<State, StateError> {
    let lock = StateLock::acquire(dir)?;
    let (mut storage, opened) = FsStorage::open(dir, Geometry::FLIGHT).map_err(StateError::Fs)?;
    let created = opened == Opened::Created;
    let provisioned = if created && !blank {
        Some(
            provision(&mut storage, &tables::defaults::default_set())
                .map_err(StateError::Provision)?,
        )
    } else {
        None
    };
    let info = StateInfo { dir: dir.to_path_buf(), created, provisioned };
    Ok(State { storage, info, lock })
}

/// A twin running the on-board unit over a locked state directory (see [`open_state`]).
#[derive(Debug)]
pub struct UnitTwin {
    /// The running twin (declared first: it stops before the lock is released).
    pub twin: Twin<TwinUnit>,
    /// How the state was found.
    pub state: StateInfo,
    lock: StateLock,
}

impl UnitTwin {
    /// Opens the state (see [`open_state`]), powers the unit on at the current time and starts
    /// the twin.
    ///
    /// # Errors
    /// [`UnitTwinError::State`], or [`UnitTwinError::Link`] when the pseudo-terminals cannot
    /// be opened.
    pub fn start(dir: &Path, blank: bool, cfg: TwinConfig) -> Result<Self, UnitTwinError> {
        let State { storage, info, lock } = open_state(dir, blank)?;
        let unit =
            onboard::unit::Unit::power_on(storage, TwinClock::new(cfg.clock_offset_ms).now());
        let twin = Twin::start(unit, cfg)?;
        Ok(UnitTwin { twin, state: info, lock })
    }

    /// The TC/TM device path.
    pub fn tctm_path(&self) -> &Path {
        self.twin.tctm_path()
    }

    /// Stops the twin and powers the unit off (the storage is flushed and closed), then
    /// releases the state lock. Returns the final counters of the unit and the twin.
    ///
    /// # Errors
    /// The error that stopped a twin thread.
    pub fn stop(self) -> Result<(onboard::Counters, TwinStats), LinkError> {
        let UnitTwin { twin, lock, .. } = self;
        let (unit, stats) = twin.stop()?;
        let counters = *unit.counters();
        drop(unit.power_off());
        drop(lock);
        Ok((counters, stats))
    }
}

/// Why a [`UnitTwin`] did not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum UnitTwinError {
    /// The state directory.
    State(StateError),
    /// The pseudo-terminals or threads.
    Link(LinkError),
}

impl std::fmt::Display for UnitTwinError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UnitTwinError::State(e) => e.fmt(f),
            UnitTwinError::Link(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for UnitTwinError {}

impl From<StateError> for UnitTwinError {
    fn from(e: StateError) -> Self {
        UnitTwinError::State(e)
    }
}

impl From<LinkError> for UnitTwinError {
    fn from(e: LinkError) -> Self {
        UnitTwinError::Link(e)
    }
}

/// Starts a named link thread whose error, if any, is kept in `failure` for `stop` to return.
fn spawn_link_thread(
    name: &str,
    failure: &Arc<Mutex<Option<LinkError>>>,
    body: impl FnOnce() -> Result<(), LinkError> + Send + 'static,
) -> Result<std::thread::JoinHandle<()>, LinkError> {
    let failure = failure.clone();
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            if let Err(e) = body() {
                *lock(&failure) = Some(e);
            }
        })
        .map_err(|e| thread_err(&e))
}

fn thread_err(e: &std::io::Error) -> LinkError {
    LinkError::Io { device: "twin".to_owned(), op: "spawn", kind: e.kind(), detail: e.to_string() }
}

fn now_ns(origin: Instant) -> u64 {
    u64::try_from(origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

fn pace(pacer: &mut Option<Pacer>, origin: Instant, octets: usize) {
    if let Some(p) = pacer.as_mut() {
        let wait = p.admit(now_ns(origin), octets);
        if wait > 0 {
            std::thread::sleep(Duration::from_nanos(wait));
        }
    }
}

fn uplink<M: Model>(
    pty: &PtyPair,
    model: &Mutex<M>,
    stats: &Mutex<TwinStats>,
    stop: &AtomicBool,
    mut faults: FaultInjector,
    baud: Option<u32>,
    wake: &mpsc::Sender<()>,
) -> Result<(), LinkError> {
    let origin = Instant::now();
    // One UART FIFO of burst; small reads when paced so delivery follows the line rate.
    let mut pacer = baud.and_then(|b| Pacer::new(b, 16, 0).ok());
    let mut buf = vec![0u8; if pacer.is_some() { 16 } else { 4096 }];
    let mut out = Vec::with_capacity(8192);
    let mut busy = false;
    while !stop.load(Ordering::Relaxed) {
        // After octets arrived, a 1 ms silence means the line went idle: the unit may send its
        // partial frames at once (the reports of the TC just received).
        let timeout = if busy { Duration::from_millis(1) } else { POLL };
        let n = pty.read_timeout(&mut buf, timeout)?;
        if n == 0 {
            if std::mem::take(&mut busy) {
                lock(model).line_idle();
                let _ = wake.send(());
            }
            continue;
        }
        busy = true;
        pace(&mut pacer, origin, n);
        out.clear();
        faults.apply(buf.get(..n).unwrap_or(&[]), &mut out);
        lock(model).receive_uplink(&out);
        {
            let mut s = lock(stats);
            s.uplink_octets += n as u64;
            s.uplink_faults = faults.counters();
        }
        let _ = wake.send(());
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)] // the thread's whole context, passed once
fn downlink<M: Model>(
    pty: &PtyPair,
    model: &Mutex<M>,
    stats: &Mutex<TwinStats>,
    stop: &AtomicBool,
    mut faults: FaultInjector,
    baud: Option<u32>,
    wake: &mpsc::Receiver<()>,
    clock: &TwinClock,
) -> Result<(), LinkError> {
    let origin = Instant::now();
    let mut pacer = baud.and_then(|b| Pacer::new(b, 16, 0).ok());
    let mut cadu = [0u8; CADU_LEN];
    let mut out = Vec::with_capacity(2 * CADU_LEN);
    while !stop.load(Ordering::Relaxed) {
        // Wake at once after an uplink delivery, else every millisecond for time-driven frames.
        match wake.recv_timeout(Duration::from_millis(1)) {
            Ok(()) => while wake.try_recv().is_ok() {},
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        loop {
            let now = clock.now();
            let due = {
                let mut m = lock(model);
                m.tick(now);
                m.next_cadu(now, &mut cadu)
            };
            if !due {
                break;
            }
            out.clear();
            let fate = faults.apply_frame(&cadu, &mut out);
            {
                let mut s = lock(stats);
                s.cadus += 1;
                s.downlink_faults = faults.counters();
            }
            if fate == FrameFate::Dropped {
                continue;
            }
            pace(&mut pacer, origin, out.len());
            match pty.write_all_timeout(&out, WRITE_STALL) {
                Ok(()) => lock(stats).cadus_sent += 1,
                Err(LinkError::WriteStalled { .. }) => {
                    pty.discard_unread()?;
                    lock(stats).cadus_discarded += 1;
                }
                Err(e) => return Err(e),
            }
            if stop.load(Ordering::Relaxed) {
                break;
            }
        }
    }
    Ok(())
}
