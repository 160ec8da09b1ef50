//! A TC/TM session with a unit over a serial device: FOP-1 sender, TM receiver, verification.
//!
//! [`Session`] owns the [`SerialLink`] and runs, in the caller's thread (no background
//! thread: every wait is a bounded [`Session::pump`]):
//!
//! - **Uplink** ([`uplink`]): each TC becomes a PUS-C packet with the next sequence count,
//!   a type-AD frame whose N(S) FOP-1 assigns, and a CLTU after [`uplink::PREAMBLE_LEN`] idle
//!   octets. FOP-1 (`tc_tm::cop1::fop`, window K = 15) keeps up to K frames outstanding,
//!   retransmits on CLCW request or T1 expiry, and alerts at its limits.
//! - **Downlink** ([`downlink`]): every CADU is archived as received, then decoded; the CLCW of
//!   every valid frame drives FOP-1; ST\[01\] reports drive the [`verify::Tracker`]; every PUS
//!   packet is queued for the caller ([`Session::next_packet`]).
//! - **Recovery** (exactly once): when FOP-1 alerts (lockout, T1 at the transmission limit,
//!   inconsistent CLCW) or the session starts or reconnects, it waits until the line has been
//!   quiet for [`SessionConfig::settle`], takes the FARM-1 state from the next CLCW (built
//!   after the unit processed every octet sent: the settle time must cover the uplink and
//!   downlink queues), counts every in-doubt frame below N(R) as delivered and
//!   queues the others again with their original request IDs, sends Unlock (if locked out) or
//!   Set V(R) = N(R), and resumes. A TC is therefore executed once, or reported failed
//!   ([`Delivery::Failed`]); a frame whose fate the CLCW cannot tell is reported, never resent.
//!
//! # Recovery API (what workflows build on)
//!
//! COP-1 protects the uplink; nothing protects what comes back. The session therefore never
//! guesses from a missing report:
//!
//! - [`Session::wait`] (and its single step [`Session::poll`]) returns a *settled*
//!   [`Verdict`]: `Completed` (by the reports, or `from_history`: the unit said so), `Failed`
//!   (by a failure report, or from the unit's history with stage and code), `NotExecuted`
//!   (the unit's request history covers the TC's transmission and does not hold it, or the
//!   session gave up before sending it: safe to send again), or `InDoubt { waiting_for,
//!   doubt }` ([`Doubt`]: unanswered queries, not in the history any more, still executing).
//!   A TC is reported failed only when the unit says so. [`TcOutcome::is_in_doubt`].
//! - A report is overdue when it is missing [`StageTimeouts::acceptance`] (the *report
//!   timeout*) after FARM-1 acknowledged the TC, after its last report, or after the unit's
//!   last answer; the session then asks the unit with 17,128 (request status, up to 32 IDs,
//!   every overdue TC at once) in a **type-BD frame** outside FOP-1 — read-only and idempotent,
//!   so it is simply resent when its 17,129 answer is lost — and applies the answer
//!   ([`Tracker::on_history`]). A TC FOP-1 has not seen acknowledged within the report timeout
//!   is asked about too (the answer carries a CLCW as well). [`SessionConfig::max_queries`]
//!   unanswered queries in a row, or [`StageTimeouts::completion`] without progress while the
//!   unit says "executing", settle it in doubt.
//! - [`Session::send_bypass`] sends any read-only request that way.
//! - Timeouts ([`SessionConfig`]): T1, transmission limit, window, settle (from the line time
//!   of what was actually written), CLCW timeout, silence timeout (no octet at all: a dead
//!   line, detected in bounded time at any baud rate, [`SessionError::Silent`]), report and
//!   completion timeouts, query budget; each is a `LinkArgs` option with a default derived
//!   from the baud rate and the window.
//!
//! Dumps that re-request only the lost ranges (200,9) and the progress journal of workflows
//! that change the unit are in [`crate::workflow::tables::dump_active`] and
//! [`crate::workflow::journal`].

pub mod downlink;
pub mod uplink;
pub mod verify;

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tc_tm::cop1::clcw::Clcw;
use tc_tm::cop1::fop::{Action, AlertReason, BenchFop, State as FopState};
use tc_tm::mission;
use tc_tm::pus::AckFlags;
use tc_tm::service::Request;
use tc_tm::service::verification::{self, RequestId};
use tc_tm::tc_frame::ControlCommand;

use crate::archive::{self, ArchiveWriter, Durability};
use crate::link::{LinkError, RetryPolicy, SerialLink, Timeouts};

pub use downlink::{Downlink, DownlinkEvent, DownlinkStats, TmPacket};
pub use uplink::{EncodeError, TcEncoder};
pub use verify::{Clocks, Doubt, StageFailure, StageTimeouts, Tracker, Verdict};

/// Most TCs waiting for the FOP-1 window before [`Session::send_raw`] waits itself.
pub const MAX_QUEUED_TCS: usize = 64;
/// Most received packets kept for [`Session::next_packet`]; older ones are dropped (counted).
pub const MAX_KEPT_PACKETS: usize = 65_536;

/// Settings of a session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionConfig {
    /// Serial device path (the twin's pty slave or the spare model's port).
    pub device: PathBuf,
    /// Line rate, baud.
    pub baud: u32,
    /// Link read/write timeouts.
    pub link_timeouts: Timeouts,
    /// TM archive file (appended to), if any.
    pub archive: Option<PathBuf>,
    /// FOP-1 timer T1 (with [`SessionConfig::t1_adaptive`], the value before anything is
    /// outstanding).
    pub t1: Duration,
    /// Derive T1 from what is on the line (the default of [`SessionConfig::new`]): the line
    /// time of the octets still to leave and of the frames outstanding, plus a CLCW's round
    /// trip ([`adaptive_t1`]); a lost frame is sent again as soon as its acknowledgement is
    /// overdue, instead of after a whole window's line time. `false` with `--t1-ms` and in
    /// [`SessionConfig::fast`].
    pub t1_adaptive: bool,
    /// FOP-1 transmission limit.
    pub transmission_limit: u8,
    /// FOP-1 sliding window K (`--window`, 1..=15): on a line that loses many uplink frames
    /// a smaller window wastes fewer go-back-N retransmissions.
    pub window: u8,
    /// Stage timeouts of the verification tracker.
    pub stage_timeouts: StageTimeouts,
    /// How long to wait for a CLCW (any valid frame) before declaring the line unusable: with
    /// [`SessionConfig::clcw_adaptive`] (the default) the *least* wait, after which the verdict
    /// also needs the lost-frame run of [`lost_run_limit`]; otherwise a fixed limit. The unit
    /// sends a frame at least every [`SessionConfig::idle_period`] (ICD §1).
    pub clcw_timeout: Duration,
    /// Derive the "no valid frame" verdict from what the line carries (the default): the line
    /// is declared unusable only when, besides [`SessionConfig::clcw_timeout`], the CADUs
    /// found since the last valid frame are a run of losses that the loss rate seen so far
    /// makes a one-in-a-million event ([`lost_run_limit`]), or no CADU was found at all while
    /// octets arrive (wrong baud rate), or the bound [`SessionConfig::dead_line_bound`] passed.
    /// `false` (set by [`SessionConfig::set_clcw_timeout`], `--clcw-timeout-s`): the fixed
    /// limit of earlier versions.
    pub clcw_adaptive: bool,
    /// The unit's idle-frame period: it sends at least one frame this often (ICD §1: 1 s).
    pub idle_period: Duration,
    /// Quiet time after the last uplink octet before a CLCW is trusted for recovery: at least
    /// the time the unit may take to read what was written plus the age of the oldest CADU
    /// that can still be in the downlink queue.
    pub settle: Duration,
    /// Recoveries in a row without any TC delivered before the session gives up.
    pub max_recoveries: u32,
    /// Status queries (17,128) about one TC before it is reported in doubt
    /// (`--max-queries`).
    pub max_queries: u32,
    /// Raise [`SessionConfig::max_queries`] to the run of lost answers the downlink's loss
    /// rate so far makes a one-in-a-million event ([`lost_run_limit`]: 35 when two CADUs in
    /// three are lost), so a live lossy line does not leave TCs in doubt (the default;
    /// `false` with `--max-queries`).
    pub max_queries_adaptive: bool,
    /// No octet at all from the unit for this long means a dead line (`--silence-timeout-s`,
    /// default the CLCW timeout plus two octet times): detected in bounded time at any baud
    /// rate, whatever else the session waits for.
    pub silence_timeout: Duration,
    /// Randomise TC frames (ICD §1: off by default).
    pub randomise_tc: bool,
    /// Send each AD frame twice in a row when the line loses enough of them
    /// ([`ad_repetitions`]; the default). FARM-1 accepts the first copy that arrives and
    /// discards the other as a duplicate (N(S) in its negative window), so a TC still executes
    /// once; a frame is then lost only when both copies are, and FOP-1's go-back-N (which
    /// resends the whole window after each lost frame and waits for a CLCW to learn of it)
    /// runs far less often. `false`: one copy (`SessionConfig::fast`, QEMU).
    pub repeat_adaptive: bool,
    /// On a lossy line ([`ad_repetitions`] would repeat a frame), while FOP-1 has frames
    /// outstanding and no CADU at all came for [`probe_interval`], ask the unit about the
    /// oldest of them (17,128 in a BD frame, read-only): its answer's frame carries a CLCW.
    /// After a lost AD frame FARM-1 discards the frames behind it and the unit sends nothing
    /// but an idle frame a second, two in three of them lost: FOP-1 learnt of the loss only
    /// from T1 or the report timeout's query, 2–3 s per lost frame. The default; `false` in
    /// `SessionConfig::fast`.
    pub probe_adaptive: bool,
}

impl SessionConfig {
    /// Defaults for `device` at `baud`: T1 adaptive ([`adaptive_t1`]; before anything is
    /// outstanding, a full window of the largest CLTUs at that rate plus 500 ms),
    /// transmission limit 100 (on a lossy line CLCWs are sparse: a frame may wait several
    /// idle-frame periods for its acknowledgement, and the adaptive T1 is short; 100 T1s
    /// cover the dead-line bound); the settle time three CADU
    /// line times plus 250 ms after the last
    /// uplink octet left (the session tracks when its own octets are on the line);
    /// 3 s CLCW timeout; reports expected 1 s plus four CADU line times after FARM-1
    /// acknowledged a TC; 8 status queries; silence after the CLCW timeout plus two octet
    /// times.
    pub fn new(device: impl Into<PathBuf>, baud: u32) -> Self {
        let window = line_time(
            usize::from(mission::FOP_WINDOW) * uplink::line_len(mission::MAX_TC_FRAME_LEN),
            baud,
        );
        let cadu = line_time(mission::CADU_LEN, baud);
        let clcw_timeout = Duration::from_secs(3);
        Self {
            device: device.into(),
            baud,
            link_timeouts: Timeouts { read: Duration::from_secs(1), write: window + window },
            archive: None,
            t1: window + Duration::from_millis(500),
            t1_adaptive: true,
            transmission_limit: 100,
            window: mission::FOP_WINDOW,
            stage_timeouts: StageTimeouts::for_baud(baud),
            clcw_timeout,
            clcw_adaptive: true,
            idle_period: IDLE_PERIOD,
            settle: cadu * 3 + Duration::from_millis(250),
            max_recoveries: 5,
            max_queries: 8,
            max_queries_adaptive: true,
            silence_timeout: clcw_timeout + line_time(2, baud),
            randomise_tc: false,
            repeat_adaptive: true,
            probe_adaptive: true,
        }
    }

    /// Settings for a pseudo-terminal at full speed (no throttle): short T1, settle and
    /// report timeouts.
    pub fn fast(device: impl Into<PathBuf>) -> Self {
        Self {
            t1: Duration::from_millis(300),
            t1_adaptive: false,
            transmission_limit: 20,
            settle: Duration::from_millis(100),
            repeat_adaptive: false,
            probe_adaptive: false,
            stage_timeouts: StageTimeouts {
                acceptance: Duration::from_millis(150),
                completion: Duration::from_secs(30),
            },
            ..Self::new(device, crate::link::DEFAULT_BAUD)
        }
    }

    /// Sets a fixed CLCW timeout (no adaptive verdict) and the silence timeout that follows
    /// from it.
    pub fn set_clcw_timeout(&mut self, t: Duration) {
        self.clcw_timeout = t;
        self.clcw_adaptive = false;
        self.silence_timeout = t + line_time(2, self.baud);
    }

    /// The longest the adaptive verdict waits without a valid frame (while CADUs arrive but
    /// all are damaged) once the session needs one: [`MAX_LOST_RUN`] frame periods (the idle
    /// period, or a CADU's line time when longer) plus the settle time. 63 s at 115 200 Bd,
    /// 75 s at 9 600 Bd. A fixed CLCW timeout is its own bound.
    pub fn dead_line_bound(&self) -> Duration {
        if !self.clcw_adaptive {
            return self.clcw_timeout + self.settle;
        }
        let period = self.idle_period.max(line_time(mission::CADU_LEN, self.baud));
        (period * MAX_LOST_RUN).max(self.clcw_timeout) + self.settle
    }
}

/// The unit's idle-frame period (ICD §1: at least one frame every second).
pub const IDLE_PERIOD: Duration = Duration::from_secs(1);

/// Probability, on a live line, of the run of lost frames that makes the adaptive verdict
/// declare it unusable ([`lost_run_limit`]).
pub const FALSE_DEAD_PROBABILITY: f64 = 1e-6;

/// The largest frame-loss rate the adaptive verdict assumes: a line losing more than this is
/// judged by the run this rate gives ([`MAX_LOST_RUN`]).
pub const MAX_LOSS_RATE: f64 = 0.8;

/// The longest run of lost CADUs the adaptive verdict waits for: ⌈ln 10⁻⁶ / ln 0.8⌉.
pub const MAX_LOST_RUN: u32 = 62;

/// The run of lost CADUs in a row (none valid) after which a line that lost `lost` of the
/// `found` CADUs so far is declared unusable: the smallest n with p̂ⁿ ≤
/// [`FALSE_DEAD_PROBABILITY`], p̂ = (lost + 1) / (found + 2) (the loss rate so far, starting
/// from an even guess), at most [`MAX_LOSS_RATE`]. On a line losing two CADUs in three
/// (`bitflip=1e-5,drop=0.001`) that is 35; at most [`MAX_LOST_RUN`].
pub fn lost_run_limit(lost: u64, found: u64) -> u32 {
    let p = ((lost.min(found) as f64 + 1.0) / (found as f64 + 2.0)).min(MAX_LOSS_RATE);
    let n = (FALSE_DEAD_PROBABILITY.ln() / p.ln()).ceil();
    if n.is_finite() && n >= 1.0 { (n as u32).min(MAX_LOST_RUN) } else { 1 }
}

/// The adaptive T1 ([`SessionConfig::t1_adaptive`]) at `baud` when `pending` of the octets
/// written are still to leave and `outstanding` line octets of frames wait for their
/// acknowledgement: the line time of both plus one largest CLTU (the frame being sent), two
/// CADU line times (the CLCW's frame may wait behind one), the unit's 200 ms flush timeout and
/// 100 ms. 0.58 s for one frame at 115 200 Bd, 1.9 s for a full window.
pub fn adaptive_t1(pending: Duration, outstanding: usize, baud: u32) -> Duration {
    pending
        + line_time(outstanding + uplink::line_len(mission::MAX_TC_FRAME_LEN), baud)
        + line_time(2 * mission::CADU_LEN, baud)
        + Duration::from_millis(300)
}

/// Frame-loss probability of a CLTU above which [`ad_repetitions`] sends each AD frame twice.
pub const REPEAT_ABOVE_LOSS: f64 = 0.02;

/// How many copies of an AD frame of `line_octets` line octets to send in a row on a line
/// whose downlink lost `lost` of the `found` CADUs ([`SessionConfig::repeat_adaptive`]): 2
/// when the uplink, assumed to lose octets as the downlink does, loses such a CLTU with
/// probability above [`REPEAT_ABOVE_LOSS`] (at two CADUs in three lost, a 256-octet load
/// is lost one time in four, twice in a row one time in sixteen), else 1. Until 16 CADUs
/// were found the line is not judged (one copy).
pub fn ad_repetitions(lost: u64, found: u64, line_octets: usize) -> usize {
    if found < 16 || lost == 0 {
        return 1;
    }
    let loss = (lost.min(found) as f64 / found as f64).min(0.95);
    // Survival of one octet, from the survival of a whole CADU.
    let per_octet = (1.0 - loss).ln() / mission::CADU_LEN as f64;
    let frame_loss = 1.0 - (per_octet * line_octets as f64).exp();
    if frame_loss > REPEAT_ABOVE_LOSS { 2 } else { 1 }
}

/// How often [`SessionConfig::probe_adaptive`] asks for a CLCW at `baud`: a CADU's line time,
/// at least 100 ms (the unit packs answers that come faster into one frame, which would share
/// its fate). 100 ms at 115 200 Bd, 1.17 s at 9 600 Bd.
pub fn probe_interval(baud: u32) -> Duration {
    line_time(mission::CADU_LEN, baud).max(Duration::from_millis(100))
}

/// Time `octets` take on an 8N1 line at `baud`.
pub fn line_time(octets: usize, baud: u32) -> Duration {
    let bits = octets as u64 * u64::from(crate::link::BITS_PER_OCTET_8N1);
    Duration::from_nanos(bits.saturating_mul(1_000_000_000) / u64::from(baud.max(1)))
}

/// Why a session operation failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum SessionError {
    /// The serial link failed (names the device and what to check).
    Link(LinkError),
    /// The TM archive could not be opened or written.
    Archive(archive::Error),
    /// The TC could not be encoded.
    Encode(EncodeError),
    /// The application data of a typed request could not be emitted.
    Request(tc_tm::service::Error),
    /// No CLCW (no valid frame) arrived in time.
    NoClcw {
        /// The device.
        device: String,
        /// How long the session waited.
        waited: Duration,
        /// The configured CLCW timeout (`--clcw-timeout-s`); `waited` also covers the time the
        /// last TC frames took on the line.
        timeout: Duration,
        /// CADUs found since the last valid frame, all damaged.
        lost_run: u64,
        /// CADUs found during the session.
        found: u64,
        /// Valid frames among them.
        valid: u64,
    },
    /// Not one octet arrived from the unit for the silence timeout: the line is dead.
    Silent {
        /// The device.
        device: String,
        /// How long nothing arrived.
        waited: Duration,
    },
    /// The recovery procedure failed too often in a row.
    GaveUp {
        /// The device.
        device: String,
        /// The last FOP-1 alert.
        last_alert: Option<AlertReason>,
        /// Recoveries attempted.
        recoveries: u32,
    },
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::Link(e) => e.fmt(f),
            SessionError::Archive(e) => write!(f, "TM archive: {e}"),
            SessionError::Encode(e) => write!(f, "cannot encode the TC: {e}"),
            SessionError::Request(e) => write!(f, "cannot encode the request: {e}"),
            SessionError::NoClcw { device, waited, timeout, lost_run, found, valid } => write!(
                f,
                "no valid telemetry frame from the unit on {device} for {:.1} s (at least \
                 --clcw-timeout-s {}, counted once the TC frames sent were on the line; \
                 {lost_run} CADUs in a row damaged, {valid} of {found} valid in this session) \
                 although octets arrive: the line is too noisy for any frame to pass, or the \
                 baud rate does not match; check the line quality and `--baud`",
                waited.as_secs_f64(),
                timeout.as_secs_f64()
            ),
            SessionError::Silent { device, waited } => write!(
                f,
                "not one octet from the unit on {device} for {:.1} s (a unit sends a frame at \
                 least every second): check that it is powered and running, that the baud rate \
                 matches, and the cabling (TX/RX crossed, ground); for the twin, that \
                 `eic-bench twin` is running and printed this path",
                waited.as_secs_f64()
            ),
            SessionError::GaveUp { device, last_alert, recoveries } => {
                write!(f, "uplink on {device} failed {recoveries} recoveries in a row")?;
                if let Some(a) = last_alert {
                    write!(f, " (last FOP-1 alert: {a})")?;
                }
                f.write_str(
                    ": the unit answers but does not accept TC frames; check the uplink \
                     direction of the cable and the line quality",
                )
            }
        }
    }
}

/// The text of every variant already contains the error it wraps (the link's sentence, the
/// archive's reason), so `source` skips it and goes to that error's own source: a chain
/// printer (`eic-bench`'s `error:` line) then says each thing once.
impl std::error::Error for SessionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SessionError::Link(e) => e.source(),
            SessionError::Archive(e) => e.source(),
            SessionError::Encode(e) => e.source(),
            SessionError::Request(e) => e.source(),
            _ => None,
        }
    }
}

impl From<LinkError> for SessionError {
    fn from(e: LinkError) -> Self {
        SessionError::Link(e)
    }
}

/// Why a TC was not delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryFailure {
    /// The frame was in doubt after a FOP-1 alert and the CLCW could not tell whether FARM-1
    /// accepted it: it was not resent (it may have executed once).
    InDoubt(AlertReason),
    /// The session gave up before the TC was accepted (it did not execute).
    NotSent,
}

impl fmt::Display for DeliveryFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeliveryFailure::InDoubt(a) => write!(
                f,
                "delivery in doubt after FOP-1 alert ({a}); not resent: check the unit's TC \
                 counters before sending it again"
            ),
            DeliveryFailure::NotSent => f.write_str("not delivered: the session gave up"),
        }
    }
}

/// Where a TC is on the uplink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Waiting for the FOP-1 window.
    Queued,
    /// On the line, not yet acknowledged by a CLCW.
    Sent,
    /// FARM-1 accepted the frame (exactly once).
    Delivered,
    /// Not delivered.
    Failed(DeliveryFailure),
}

/// The outcome of a TC: uplink delivery and ST\[01\] verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcOutcome {
    /// The TC's request ID.
    pub request_id: RequestId,
    /// Uplink delivery.
    pub delivery: Delivery,
    /// Verification.
    pub verdict: Verdict,
}

impl TcOutcome {
    /// Whether every requested stage succeeded (by its reports or the unit's history).
    pub fn is_success(&self) -> bool {
        matches!(self.verdict, Verdict::Completed { .. })
    }

    /// Whether the outcome is in doubt (it may have executed once or not at all).
    pub fn is_in_doubt(&self) -> bool {
        matches!(self.verdict, Verdict::InDoubt { .. })
    }
}

/// Counters of a session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// TCs accepted by [`Session::send_raw`].
    pub tcs: u64,
    /// TCs acknowledged by FARM-1.
    pub delivered: u64,
    /// TCs reported failed on the uplink.
    pub delivery_failed: u64,
    /// AD frames transmitted the first time.
    pub frames: u64,
    /// AD frames retransmitted.
    pub retransmissions: u64,
    /// BC frames sent (Unlock, Set V(R)).
    pub bc_frames: u64,
    /// Octets written to the line.
    pub uplink_octets: u64,
    /// CLCWs received.
    pub clcws: u64,
    /// FOP-1 alerts.
    pub alerts: u64,
    /// Recoveries completed (the initial connection included).
    pub recoveries: u64,
    /// In-doubt frames found delivered by the CLCW during recovery.
    pub recovered_delivered: u64,
    /// In-doubt frames queued again during recovery.
    pub requeued: u64,
    /// Received packets dropped because nobody read them.
    pub packets_dropped: u64,
    /// Status queries (17,128) sent to resolve missing reports.
    pub queries: u64,
    /// BD frames sent (the status queries).
    pub bd_frames: u64,
    /// AD frames sent a second time in a row on a lossy line ([`ad_repetitions`]).
    pub repeated: u64,
    /// CLCW probes sent ([`SessionConfig::probe_adaptive`]; also counted in `bd_frames`).
    pub probes: u64,
}

#[derive(Debug, Clone)]
struct Tc {
    id: RequestId,
    ack: AckFlags,
    packet: Vec<u8>,
}

#[derive(Debug)]
struct InFop {
    tc: Tc,
    line: Vec<u8>,
}

#[derive(Debug)]
struct Resync {
    /// Frames in doubt: (N(S), handle), oldest first.
    in_doubt: Vec<(u8, u64)>,
    reason: Option<AlertReason>,
    started: Instant,
}

/// A TC/TM session (see the module documentation).
pub struct Session {
    cfg: SessionConfig,
    link: SerialLink,
    encoder: TcEncoder,
    fop: BenchFop<u64>,
    epoch: Instant,
    next_handle: u64,
    in_fop: HashMap<u64, InFop>,
    queue: VecDeque<Tc>,
    delivery: HashMap<RequestId, Delivery>,
    resync: Option<Resync>,
    recoveries_in_a_row: u32,
    last_alert: Option<AlertReason>,
    last_write: Instant,
    last_clcw: Option<(Clcw, Instant)>,
    downlink: Downlink,
    tracker: Tracker,
    packets: VecDeque<TmPacket>,
    stats: SessionStats,
    events: Vec<DownlinkEvent>,
    read_buf: Vec<u8>,
    /// When the last octet arrived from the unit.
    last_octet: Instant,
    /// CADUs the downlink had found when the last valid frame (CLCW) arrived.
    frames_at_clcw: u64,
    /// When the last octet written will have left on the line (8N1 at the baud rate).
    uplink_done: Instant,
    /// The status query in flight, if any.
    query: Option<Query>,
    /// Status queries sent about each TC.
    queries: HashMap<RequestId, u32>,
    /// When the last CLCW probe or AD frame was written.
    last_ad_or_probe: Instant,
    /// When the downlink last found a CADU (valid or damaged).
    last_cadu: Instant,
}

/// A status query (17,128) in flight.
#[derive(Debug)]
struct Query {
    /// The TCs asked about.
    about: Vec<RequestId>,
    /// When it was queued.
    sent: Instant,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("device", &self.cfg.device)
            .field("fop_state", &self.fop.state())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Opens the device and the archive; the connection (FOP-1 initialisation from the first
    /// CLCW) proceeds in the background of later calls, or explicitly with
    /// [`Session::connect`].
    ///
    /// # Errors
    /// [`SessionError::Link`] (missing, busy, wrong device...), [`SessionError::Archive`].
    pub fn open(cfg: SessionConfig) -> Result<Self, SessionError> {
        let mut link = SerialLink::open(&cfg.device, cfg.baud, cfg.link_timeouts)?;
        // Telemetry queued before this session (a previous run's reports) must not be taken
        // for answers to this one's TCs.
        link.clear_input()?;
        let archive = match &cfg.archive {
            Some(p) => {
                Some(ArchiveWriter::open(p, Durability::Flush).map_err(SessionError::Archive)?.0)
            }
            None => None,
        };
        let mut fop = BenchFop::new(mission::TC_VCID);
        let t1_ms = u64::try_from(cfg.t1.as_millis()).unwrap_or(u64::MAX).max(1);
        // Both parameters were validated above (non-zero); a refusal cannot happen.
        let _ = fop.set_t1_ms(t1_ms);
        let _ = fop.set_transmission_limit(cfg.transmission_limit.max(1));
        let _ = fop.set_window(cfg.window.clamp(1, mission::FOP_WINDOW));
        let now = Instant::now();
        Ok(Self {
            link,
            encoder: {
                // Start the sequence count from the clock so that request IDs of successive
                // sessions (one `tc send` each) differ.
                let mut e = TcEncoder::new();
                let ms = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis())
                    .unwrap_or(0);
                e.set_seq_count((ms & 0x3FFF) as u16);
                e
            },
            fop,
            epoch: now,
            next_handle: 0,
            in_fop: HashMap::new(),
            queue: VecDeque::new(),
            delivery: HashMap::new(),
            resync: Some(Resync { in_doubt: Vec::new(), reason: None, started: now }),
            recoveries_in_a_row: 0,
            last_alert: None,
            last_write: now.checked_sub(cfg.settle).unwrap_or(now),
            last_clcw: None,
            downlink: Downlink::new(archive),
            tracker: Tracker::new(),
            packets: VecDeque::new(),
            stats: SessionStats::default(),
            events: Vec::new(),
            read_buf: vec![0u8; 16 * 1024],
            last_octet: now,
            frames_at_clcw: 0,
            uplink_done: now,
            query: None,
            queries: HashMap::new(),
            last_ad_or_probe: now,
            last_cadu: now,
            cfg,
        })
    }

    /// The settings.
    pub fn config(&self) -> &SessionConfig {
        &self.cfg
    }

    /// The device path.
    pub fn device(&self) -> &str {
        self.link.device()
    }

    /// Counters of the session.
    pub fn stats(&self) -> SessionStats {
        self.stats
    }

    /// Counters of the downlink.
    pub fn downlink_stats(&self) -> DownlinkStats {
        self.downlink.stats()
    }

    /// The verification tracker (counters, verdicts).
    pub fn tracker(&self) -> &Tracker {
        &self.tracker
    }

    /// The TC encoder (sequence count, acknowledgement flags of the next TCs).
    pub fn encoder_mut(&mut self) -> &mut TcEncoder {
        &mut self.encoder
    }

    /// The FOP-1 state.
    pub fn fop_state(&self) -> FopState {
        self.fop.state()
    }

    /// The last CLCW received and when.
    pub fn last_clcw(&self) -> Option<(Clcw, Instant)> {
        self.last_clcw
    }

    /// Whether the AD service is active (connected, no recovery in progress).
    pub fn is_connected(&self) -> bool {
        self.resync.is_none()
            && matches!(
                self.fop.state(),
                FopState::Active | FopState::RetransmitWithoutWait | FopState::RetransmitWithWait
            )
    }

    /// TCs queued or outstanding on the uplink.
    pub fn uplink_backlog(&self) -> usize {
        self.queue.len() + self.in_fop.len() + self.resync.as_ref().map_or(0, |r| r.in_doubt.len())
    }

    /// Waits until the AD service is active.
    ///
    /// # Errors
    /// [`SessionError::NoClcw`] if the unit stays silent, [`SessionError::GaveUp`], link errors.
    pub fn connect(&mut self) -> Result<(), SessionError> {
        while !self.is_connected() {
            self.pump(Instant::now() + Duration::from_millis(50))?;
        }
        Ok(())
    }

    /// Encodes a typed request and queues it (see [`Session::send_raw`]).
    ///
    /// # Errors
    /// [`SessionError::Request`], then as [`Session::send_raw`].
    pub fn send(&mut self, request: &Request<'_>) -> Result<RequestId, SessionError> {
        let mut data = vec![0u8; request.buffer_len()];
        let n = request.emit(&mut data).map_err(SessionError::Request)?;
        data.truncate(n);
        let (service, subtype) = request.service_subtype();
        self.send_raw(service, subtype, &data)
    }

    /// Encodes a TC and queues it for the uplink; returns its request ID at once. When
    /// [`MAX_QUEUED_TCS`] TCs already wait for the window, pumps the link until one leaves.
    ///
    /// # Errors
    /// [`SessionError::Encode`]; while waiting for room, as [`Session::pump`].
    pub fn send_raw(
        &mut self,
        service: u8,
        subtype: u8,
        app_data: &[u8],
    ) -> Result<RequestId, SessionError> {
        while self.queue.len() >= MAX_QUEUED_TCS {
            self.pump(Instant::now() + Duration::from_millis(50))?;
        }
        let (packet, id) =
            self.encoder.packet(service, subtype, app_data).map_err(SessionError::Encode)?;
        self.queue.push_back(Tc { id, ack: self.encoder.ack(), packet });
        self.delivery.insert(id, Delivery::Queued);
        self.stats.tcs += 1;
        self.service()?;
        Ok(id)
    }

    /// Sends a typed request and waits for its outcome.
    ///
    /// # Errors
    /// As [`Session::send`] and [`Session::wait`].
    pub fn send_and_wait(&mut self, request: &Request<'_>) -> Result<TcOutcome, SessionError> {
        let id = self.send(request)?;
        self.wait(id)
    }

    /// The outcome of a TC as of now (delivery and verdict), without asking the unit: a
    /// missing report shows as [`Verdict::TimedOut`] here; [`Session::wait`] resolves it.
    pub fn outcome(&self, id: RequestId) -> TcOutcome {
        let delivery = self.delivery.get(&id).copied().unwrap_or(Delivery::Queued);
        let pending = Verdict::Pending { waiting_for: tc_tm::service::Stage::Acceptance };
        let verdict = match delivery {
            Delivery::Queued => pending,
            // FOP-1 is still delivering it: no stage clock runs yet, but its reports (or the
            // unit's answer) may settle it before the CLCW acknowledges the frame.
            Delivery::Sent => {
                match self.tracker.verdict(&id, Instant::now(), self.cfg.stage_timeouts) {
                    v @ (Verdict::Completed { .. } | Verdict::Failed(_)) => v,
                    _ => pending,
                }
            }
            Delivery::Failed(DeliveryFailure::NotSent) => Verdict::NotExecuted,
            _ => self.tracker.verdict(&id, Instant::now(), self.cfg.stage_timeouts),
        };
        TcOutcome { request_id: id, delivery, verdict }
    }

    /// Pumps the link until the TC's verdict is settled: its reports arrived, or, when one is
    /// missing, the unit answered a status query (17,128 → 17,129, resent up to
    /// [`SessionConfig::max_queries`] times) — completed, failed (with the unit's stage and
    /// code), or never received ([`Verdict::NotExecuted`]) — or, when nothing establishes it,
    /// [`Verdict::InDoubt`]. A TC is never reported failed unless the unit said so.
    ///
    /// # Errors
    /// As [`Session::pump`].
    pub fn wait(&mut self, id: RequestId) -> Result<TcOutcome, SessionError> {
        loop {
            let o = self.poll(id)?;
            if o.verdict.is_settled() {
                return Ok(o);
            }
        }
    }

    /// One step of [`Session::wait`]: asks the unit if the TC's reports are overdue, pumps
    /// the link for up to 20 ms unless the verdict is settled, and returns the outcome. For a
    /// caller that reads packets meanwhile (a dump).
    ///
    /// # Errors
    /// As [`Session::pump`].
    pub fn poll(&mut self, id: RequestId) -> Result<TcOutcome, SessionError> {
        let o = self.outcome(id);
        if o.verdict.is_settled() {
            return Ok(o);
        }
        self.resolve_overdue(id)?;
        let o = self.outcome(id);
        if o.verdict.is_settled() {
            return Ok(o);
        }
        self.pump(Instant::now() + Duration::from_millis(20))?;
        Ok(self.outcome(id))
    }

    /// Whether the reports of `id` are overdue: FARM-1 acknowledged it (or its delivery is in
    /// doubt) and a requested report is missing for the report timeout since then (or since
    /// the unit's last answer).
    fn overdue(&self, id: RequestId, now: Instant) -> bool {
        let o = self.outcome(id);
        match o.verdict {
            Verdict::TimedOut { .. } => true,
            Verdict::Pending { .. } => {
                if !matches!(o.delivery, Delivery::Delivered | Delivery::Failed(_)) {
                    return false;
                }
                let Some(c) = self.tracker.clocks(&id) else { return false };
                now.saturating_duration_since(c.last_sign()) >= self.cfg.stage_timeouts.acceptance
            }
            _ => false,
        }
    }

    /// Asks the unit about `id` (with every other overdue TC) when its reports are overdue, or
    /// when FOP-1 has not seen it acknowledged for the report timeout (the answer carries a
    /// CLCW too); settles it in doubt when the query budget or the completion timeout is spent.
    ///
    /// The query (17,128) goes in a type-BD frame, outside FOP-1: it is read-only and
    /// idempotent, so it is simply sent again when its answer is lost.
    fn resolve_overdue(&mut self, id: RequestId) -> Result<(), SessionError> {
        let now = Instant::now();
        let timeout = self.cfg.stage_timeouts.acceptance;
        if let Some(q) = &self.query {
            if now.saturating_duration_since(q.sent) < timeout {
                return Ok(());
            }
            // Its answer was lost.
            self.query = None;
        }
        let o = self.outcome(id);
        if o.delivery == Delivery::Queued {
            return Ok(());
        }
        if o.delivery == Delivery::Sent {
            let first = self.tracker.first_sent(&id).unwrap_or(now);
            if now.saturating_duration_since(first) < timeout {
                return Ok(());
            }
        } else {
            if !self.overdue(id, now) {
                return Ok(());
            }
            let Some(c) = self.tracker.clocks(&id) else { return Ok(()) };
            if now.saturating_duration_since(c.last_progress())
                >= self.cfg.stage_timeouts.completion
                && c.answered.is_some()
            {
                self.tracker.set_in_doubt(&id, Doubt::StillExecuting);
                return Ok(());
            }
            let asked = self.queries.get(&id).copied().unwrap_or(0);
            if asked >= self.query_budget() {
                self.tracker.set_in_doubt(&id, Doubt::NoAnswer { queries: asked });
                return Ok(());
            }
        }
        // Ask about every overdue TC at once (the one waited for first).
        let budget = self.query_budget();
        let mut about = vec![id];
        let others: Vec<RequestId> = self
            .delivery
            .iter()
            .filter(|(o, d)| {
                **o != id
                    && matches!(
                        d,
                        Delivery::Delivered | Delivery::Failed(DeliveryFailure::InDoubt(_))
                    )
                    && self.queries.get(o).copied().unwrap_or(0) < budget
            })
            .map(|(o, _)| *o)
            .collect();
        for o in others {
            if about.len() >= tc_tm::service::test::MAX_QUERY_IDS {
                break;
            }
            if self.overdue(o, now) {
                about.push(o);
            }
        }
        for a in &about {
            if self.delivery.get(a) != Some(&Delivery::Sent) {
                *self.queries.entry(*a).or_insert(0) += 1;
            }
        }
        let mut items = vec![0u8; about.len() * 4];
        let list =
            tc_tm::service::List::encode_into(&about, &mut items).map_err(SessionError::Request)?;
        let req = Request::Test(tc_tm::service::test::Request::QueryStatus(list));
        self.send_bypass(&req)?;
        self.stats.queries += 1;
        self.query = Some(Query { about, sent: now });
        Ok(())
    }

    /// Sends a read-only request at once in a type-BD frame (no FOP-1, no acknowledgement
    /// flags, no verification): the unit answers with its report.
    ///
    /// # Errors
    /// [`SessionError::Request`], [`SessionError::Encode`], link errors.
    pub fn send_bypass(&mut self, request: &Request<'_>) -> Result<RequestId, SessionError> {
        let mut data = vec![0u8; request.buffer_len()];
        let n = request.emit(&mut data).map_err(SessionError::Request)?;
        data.truncate(n);
        let (service, subtype) = request.service_subtype();
        let ack = self.encoder.ack();
        self.encoder.set_ack(AckFlags::NONE);
        let packet = self.encoder.packet(service, subtype, &data);
        self.encoder.set_ack(ack);
        let (packet, id) = packet.map_err(SessionError::Encode)?;
        let line =
            uplink::bd_line_octets(&packet, self.cfg.randomise_tc).map_err(SessionError::Encode)?;
        self.stats.bd_frames += 1;
        self.write(&line)?;
        Ok(id)
    }

    /// Applies a 17,129 answer received at `now`.
    fn on_status_report(
        &mut self,
        span_ms: u32,
        entries: &[tc_tm::service::test::RequestStatus],
        now: Instant,
    ) {
        let covered_from = now.checked_sub(Duration::from_millis(u64::from(span_ms)));
        for st in entries {
            let still_sent = matches!(self.delivery.get(&st.request_id), Some(Delivery::Sent));
            if still_sent && st.state == tc_tm::service::test::Progress::Unknown {
                // FOP-1 is still delivering it: "not received yet" settles nothing.
                continue;
            }
            let first_sent = self.tracker.first_sent(&st.request_id);
            let covers = match (covered_from, first_sent) {
                (Some(from), Some(sent)) => from < sent,
                _ => false,
            };
            self.tracker.on_history(st, covers, now);
            // An answer: the query budget counts unanswered queries only.
            self.queries.remove(&st.request_id);
        }
        if let Some(q) = &self.query
            && entries.iter().any(|e| q.about.contains(&e.request_id))
        {
            self.query = None;
        }
    }

    /// Forgets a TC's delivery and verification state (long runs).
    pub fn forget(&mut self, id: RequestId) {
        self.delivery.remove(&id);
        self.queries.remove(&id);
        self.tracker.forget(&id);
    }

    /// Pumps until every queued TC left the uplink (delivered or failed), or `timeout`.
    /// Returns whether the uplink is empty.
    ///
    /// # Errors
    /// As [`Session::pump`].
    pub fn flush(&mut self, timeout: Duration) -> Result<bool, SessionError> {
        let deadline = Instant::now() + timeout;
        while self.uplink_backlog() > 0 && Instant::now() < deadline {
            self.pump(deadline.min(Instant::now() + Duration::from_millis(20)))?;
        }
        Ok(self.uplink_backlog() == 0)
    }

    /// The next received packet (oldest first), pumping the link until `deadline` if none is
    /// waiting.
    ///
    /// # Errors
    /// As [`Session::pump`].
    pub fn next_packet(&mut self, deadline: Instant) -> Result<Option<TmPacket>, SessionError> {
        loop {
            if let Some(p) = self.packets.pop_front() {
                return Ok(Some(p));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            self.pump(deadline)?;
        }
    }

    /// Drops received packets nobody will read (e.g. before waiting for a specific report).
    pub fn clear_packets(&mut self) {
        self.packets.clear();
    }

    /// Reads the link until `deadline` or until something arrived, processing every CADU,
    /// CLCW and report, running FOP-1 timers and the recovery procedure, and transmitting
    /// queued TCs.
    ///
    /// # Errors
    /// [`SessionError::Link`] (the device hung up or stalled), [`SessionError::Archive`],
    /// [`SessionError::NoClcw`] when no valid frame arrived for the CLCW timeout while the
    /// session needed one, [`SessionError::GaveUp`].
    pub fn pump(&mut self, deadline: Instant) -> Result<(), SessionError> {
        self.service()?;
        let now = Instant::now();
        let mut until = deadline;
        if let Some(d) = self.fop.deadline_ms() {
            until = until.min(self.epoch + Duration::from_millis(d));
        }
        if let Some(t) = self.probe_due() {
            until = until.min(t);
        }
        let until = until.max(now);
        let mut buf = std::mem::take(&mut self.read_buf);
        let read = self.link.read_deadline(&mut buf, until);
        let result = match read {
            Ok(n) => {
                if n > 0 {
                    self.last_octet = Instant::now();
                }
                self.process_octets(buf.get(..n).unwrap_or(&[]))
            }
            Err(LinkError::NoAnswer { .. }) => Ok(()),
            Err(e) => Err(SessionError::Link(e)),
        };
        self.read_buf = buf;
        result?;
        self.check_silence()?;
        self.service()
    }

    /// Closes and reopens the device (bounded retries), then recovers the uplink: frames in
    /// doubt are classified from fresh CLCWs as after an alert.
    ///
    /// # Errors
    /// [`SessionError::Link`] with [`LinkError::ReopenFailed`].
    pub fn reconnect(&mut self, policy: RetryPolicy) -> Result<(), SessionError> {
        self.link.reopen(policy)?;
        self.downlink.resync();
        let mut actions = Vec::new();
        self.fop.terminate(|a| actions.push(a));
        self.handle_actions(actions)?;
        if self.resync.is_none() {
            self.start_resync(Vec::new(), None);
        }
        Ok(())
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn process_octets(&mut self, octets: &[u8]) -> Result<(), SessionError> {
        let mut events = std::mem::take(&mut self.events);
        events.clear();
        let found_before = self.downlink.stats().frames;
        let pushed = self.downlink.push(octets, &mut events);
        let now = Instant::now();
        if self.downlink.stats().frames != found_before {
            self.last_cadu = now;
        }
        for ev in events.drain(..) {
            match ev {
                DownlinkEvent::Clcw(clcw) if clcw.vcid == mission::TC_VCID => {
                    self.stats.clcws += 1;
                    self.last_clcw = Some((clcw, now));
                    self.frames_at_clcw = self.downlink.stats().frames;
                    self.on_clcw(&clcw, now)?;
                }
                DownlinkEvent::Packet(p) => {
                    if p.service == verification::SERVICE
                        && let Ok(r) = verification::Report::parse(p.subtype, p.source_data())
                    {
                        self.tracker.on_report(&r, now);
                    }
                    if p.service == tc_tm::service::test::SERVICE
                        && let Ok(tc_tm::service::test::Report::Status { span_ms, entries, .. }) =
                            tc_tm::service::test::Report::parse(p.subtype, p.source_data())
                    {
                        let entries: Vec<_> = entries.iter().collect();
                        self.on_status_report(span_ms, &entries, now);
                    }
                    if self.packets.len() >= MAX_KEPT_PACKETS {
                        self.packets.pop_front();
                        self.stats.packets_dropped += 1;
                    }
                    self.packets.push_back(p);
                }
                _ => {}
            }
        }
        self.events = events;
        pushed.map_err(|e| match e {
            downlink::DownlinkError::Archive(a) => SessionError::Archive(a),
        })
    }

    fn on_clcw(&mut self, clcw: &Clcw, now: Instant) -> Result<(), SessionError> {
        if self.resync.is_some() {
            // Trust only a CLCW the unit built after it processed our last octet: one received
            // at least the settle time after the last write (settle covers both queues).
            if now < self.last_write.max(self.uplink_done) + self.cfg.settle {
                return Ok(());
            }
            return self.finish_resync(clcw);
        }
        self.adapt_t1();
        let mut actions = Vec::new();
        self.fop.clcw(clcw, self.now_ms(), |a| actions.push(a));
        self.handle_actions(actions)
    }

    fn finish_resync(&mut self, clcw: &Clcw) -> Result<(), SessionError> {
        let Some(resync) = self.resync.take() else { return Ok(()) };
        let n_r = clcw.report_value;
        if let Some(&(base, _)) = resync.in_doubt.first() {
            let accepted = usize::from(n_r.wrapping_sub(base));
            if accepted > resync.in_doubt.len() {
                // N(R) outside the frames in doubt: FARM-1 cannot tell. Never resend.
                let reason = resync.reason.unwrap_or(AlertReason::Synch);
                for (_, h) in &resync.in_doubt {
                    self.fail_handle(*h, DeliveryFailure::InDoubt(reason));
                }
            } else {
                let mut requeue = Vec::new();
                for (i, (_, h)) in resync.in_doubt.iter().enumerate() {
                    if i < accepted {
                        self.stats.recovered_delivered += 1;
                        self.deliver_handle(*h);
                    } else if let Some(f) = self.in_fop.remove(h) {
                        requeue.push(f.tc);
                    }
                }
                self.stats.requeued += requeue.len() as u64;
                for tc in requeue.into_iter().rev() {
                    self.delivery.insert(tc.id, Delivery::Queued);
                    self.queue.push_front(tc);
                }
            }
        }
        // FOP-1 is in S6 here (initial, or after the alert).
        let mut actions = Vec::new();
        let now_ms = self.now_ms();
        let _ = self.fop.set_v_s(n_r);
        let started = if clcw.lockout {
            self.fop.initiate_with_unlock(now_ms, |a| actions.push(a))
        } else {
            self.fop.initiate_with_set_vr(n_r, now_ms, |a| actions.push(a))
        };
        if started.is_err() {
            self.fop.terminate(|a| actions.push(a));
        }
        self.stats.recoveries += 1;
        self.handle_actions(actions)
    }

    fn start_resync(&mut self, in_doubt: Vec<(u8, u64)>, reason: Option<AlertReason>) {
        self.resync = Some(Resync { in_doubt, reason, started: Instant::now() });
    }

    fn check_silence(&mut self) -> Result<(), SessionError> {
        let now = Instant::now();
        let quiet = now.saturating_duration_since(self.last_octet);
        if quiet >= self.cfg.silence_timeout {
            self.fail_all(DeliveryFailure::NotSent);
            return Err(SessionError::Silent {
                device: self.link.device().to_owned(),
                waited: quiet,
            });
        }
        let waiting_since = match (&self.resync, self.last_clcw) {
            (Some(r), Some((_, t))) => r.started.max(t).max(self.last_write),
            (Some(r), None) => r.started,
            (None, Some((_, t))) if self.fop.outstanding() > 0 => t.max(self.last_write),
            _ => return Ok(()),
        };
        let waiting_since = waiting_since.max(self.uplink_done);
        let waited = now.saturating_duration_since(waiting_since);
        if waited < self.cfg.clcw_timeout + self.cfg.settle {
            return Ok(());
        }
        let st = self.downlink.stats();
        let found = st.frames;
        let valid = st.frames.saturating_sub(st.bad_frames);
        let run = found.saturating_sub(self.frames_at_clcw);
        let limit = lost_run_limit(found.saturating_sub(valid), found);
        let dead = !self.cfg.clcw_adaptive
            // Octets arrive, none of them a CADU: the baud rate does not match, or noise.
            || run == 0
            || run >= u64::from(limit)
            || waited >= self.cfg.dead_line_bound();
        if dead {
            self.fail_all(DeliveryFailure::NotSent);
            return Err(SessionError::NoClcw {
                device: self.link.device().to_owned(),
                waited,
                timeout: self.cfg.clcw_timeout,
                lost_run: run,
                found,
                valid,
            });
        }
        Ok(())
    }

    /// Unanswered status queries about one TC before it is in doubt: the configured number,
    /// raised on a lossy downlink when adaptive ([`SessionConfig::max_queries_adaptive`]).
    fn query_budget(&self) -> u32 {
        if !self.cfg.max_queries_adaptive {
            return self.cfg.max_queries;
        }
        let st = self.downlink.stats();
        let lost = st.bad_frames.min(st.frames);
        if lost == 0 {
            return self.cfg.max_queries;
        }
        self.cfg.max_queries.max(lost_run_limit(lost, st.frames))
    }

    /// Sets FOP-1's T1 from what is on the line now ([`adaptive_t1`]), when adaptive.
    fn adapt_t1(&mut self) {
        if !self.cfg.t1_adaptive {
            return;
        }
        let pending = self.uplink_done.saturating_duration_since(Instant::now());
        let outstanding: usize = self.in_fop.values().map(|f| f.line.len()).sum();
        let t1 = adaptive_t1(pending, outstanding, self.cfg.baud);
        let _ = self.fop.set_t1_ms(u64::try_from(t1.as_millis()).unwrap_or(u64::MAX).max(1));
    }

    /// Runs timers, feeds the FOP-1 window and writes what it asks.
    fn service(&mut self) -> Result<(), SessionError> {
        self.adapt_t1();
        let mut actions = Vec::new();
        self.fop.tick(self.now_ms(), |a| actions.push(a));
        self.handle_actions(actions)?;
        while self.resync.is_none()
            && matches!(self.fop.state(), FopState::Active | FopState::RetransmitWithoutWait)
        {
            let Some(tc) = self.queue.pop_front() else { break };
            let handle = self.next_handle;
            self.adapt_t1();
            let mut actions = Vec::new();
            match self.fop.transmit_ad(handle, self.now_ms(), |a| actions.push(a)) {
                Ok(_) => {
                    self.next_handle += 1;
                    self.in_fop.insert(handle, InFop { tc, line: Vec::new() });
                    self.handle_actions(actions)?;
                }
                Err(_) => {
                    self.queue.push_front(tc);
                    break;
                }
            }
        }
        self.probe()
    }

    /// When the next CLCW probe is due ([`SessionConfig::probe_adaptive`]), if one would be.
    fn probe_due(&self) -> Option<Instant> {
        if !self.cfg.probe_adaptive || self.resync.is_some() || self.fop.outstanding() == 0 {
            return None;
        }
        let dl = self.downlink.stats();
        // Judged as the repetition is, for a CADU-sized frame: a lossy line only.
        if ad_repetitions(dl.bad_frames, dl.frames, mission::CADU_LEN) < 2 {
            return None;
        }
        // Only while the downlink is quiet: CADUs coming (a dump) bring CLCWs soon enough, and
        // an answer's frame would take their place on the line.
        let last = self.last_ad_or_probe.max(self.last_cadu).max(self.uplink_done);
        let last = self.last_clcw.map_or(last, |(_, t)| t.max(last));
        Some(last + probe_interval(self.cfg.baud))
    }

    /// Sends a CLCW probe when due: a status query (17,128, BD frame) about the oldest frame
    /// outstanding. It does not count as a write for the settle time or the dead-line verdict
    /// (a BD frame leaves FARM-1's state as it is, and the verdict must not be put off).
    fn probe(&mut self) -> Result<(), SessionError> {
        let Some(due) = self.probe_due() else { return Ok(()) };
        if Instant::now() < due {
            return Ok(());
        }
        let Some(id) = self.in_fop.iter().min_by_key(|(h, _)| **h).map(|(_, f)| f.tc.id) else {
            return Ok(());
        };
        let mut items = [0u8; 4];
        let list =
            tc_tm::service::List::encode_into(&[id], &mut items).map_err(SessionError::Request)?;
        let req = Request::Test(tc_tm::service::test::Request::QueryStatus(list));
        let (last_write, uplink_done) = (self.last_write, self.uplink_done);
        self.send_bypass(&req)?;
        self.last_write = last_write;
        self.uplink_done = uplink_done;
        self.last_ad_or_probe = Instant::now();
        self.stats.probes += 1;
        Ok(())
    }

    fn handle_actions(&mut self, actions: Vec<Action<u64>>) -> Result<(), SessionError> {
        let mut purged = Vec::new();
        let mut alert = None;
        for a in actions {
            match a {
                Action::TransmitAd { n_s, frame } => {
                    let line = match self.in_fop.get_mut(&frame) {
                        Some(f) => {
                            f.line =
                                uplink::ad_line_octets(&f.tc.packet, n_s, self.cfg.randomise_tc)
                                    .map_err(SessionError::Encode)?;
                            self.tracker.register(f.tc.id, f.tc.ack, Instant::now());
                            self.delivery.insert(f.tc.id, Delivery::Sent);
                            f.line.clone()
                        }
                        None => continue,
                    };
                    self.stats.frames += 1;
                    self.write_ad(&line)?;
                }
                Action::RetransmitAd { frame, .. } => {
                    if let Some(line) = self.in_fop.get(&frame).map(|f| f.line.clone()) {
                        self.stats.retransmissions += 1;
                        self.write_ad(&line)?;
                    }
                }
                Action::TransmitUnlock => self.write_bc(ControlCommand::Unlock)?,
                Action::TransmitSetVr { v_r } => self.write_bc(ControlCommand::SetVr(v_r))?,
                Action::Acknowledged { frame, .. } => {
                    self.recoveries_in_a_row = 0;
                    self.deliver_handle(frame);
                }
                Action::Purged { n_s, frame } => purged.push((n_s, frame)),
                Action::Initialised => {}
                Action::Suspended => alert = Some(AlertReason::T1),
                Action::Alert(reason) => alert = Some(reason),
            }
        }
        if let Some(reason) = alert {
            self.stats.alerts += 1;
            self.last_alert = Some(reason);
            self.recoveries_in_a_row += 1;
            if self.recoveries_in_a_row > self.cfg.max_recoveries {
                for (_, h) in &purged {
                    self.fail_handle(*h, DeliveryFailure::InDoubt(reason));
                }
                self.fail_all(DeliveryFailure::NotSent);
                return Err(SessionError::GaveUp {
                    device: self.link.device().to_owned(),
                    last_alert: Some(reason),
                    recoveries: self.recoveries_in_a_row - 1,
                });
            }
            let mut in_doubt = self.resync.take().map(|r| r.in_doubt).unwrap_or_default();
            in_doubt.extend(purged);
            self.start_resync(in_doubt, Some(reason));
        } else if !purged.is_empty() {
            // Purged without an alert (an initiate directive): in doubt as well.
            let reason = self.last_alert.unwrap_or(AlertReason::Terminate);
            match self.resync.as_mut() {
                Some(r) => r.in_doubt.extend(purged),
                None => self.start_resync(purged, Some(reason)),
            }
        }
        Ok(())
    }

    fn write_bc(&mut self, cmd: ControlCommand) -> Result<(), SessionError> {
        let line =
            uplink::bc_line_octets(cmd, self.cfg.randomise_tc).map_err(SessionError::Encode)?;
        self.stats.bc_frames += 1;
        self.write(&line)
    }

    /// Writes an AD frame's CLTU, twice in a row on a lossy line ([`ad_repetitions`]).
    fn write_ad(&mut self, line: &[u8]) -> Result<(), SessionError> {
        let copies = if self.cfg.repeat_adaptive {
            let dl = self.downlink.stats();
            ad_repetitions(dl.bad_frames, dl.frames, line.len())
        } else {
            1
        };
        for k in 0..copies {
            if k > 0 {
                self.stats.repeated += 1;
            }
            self.write(line)?;
        }
        self.last_ad_or_probe = Instant::now();
        Ok(())
    }

    fn write(&mut self, line: &[u8]) -> Result<(), SessionError> {
        // Drain the downlink first so a slow line never blocks both directions.
        self.link.write_all(line)?;
        self.stats.uplink_octets += line.len() as u64;
        let now = Instant::now();
        self.last_write = now;
        self.uplink_done = self.uplink_done.max(now) + line_time(line.len(), self.cfg.baud);
        Ok(())
    }

    fn deliver_handle(&mut self, handle: u64) {
        if let Some(f) = self.in_fop.remove(&handle) {
            self.stats.delivered += 1;
            self.delivery.insert(f.tc.id, Delivery::Delivered);
            self.tracker.set_delivered(&f.tc.id, Instant::now());
        }
    }

    fn fail_handle(&mut self, handle: u64, why: DeliveryFailure) {
        if let Some(f) = self.in_fop.remove(&handle) {
            self.stats.delivery_failed += 1;
            self.delivery.insert(f.tc.id, Delivery::Failed(why));
            // Only the unit can tell: its report or its history settle it.
            self.tracker.set_delivered(&f.tc.id, Instant::now());
        }
    }

    fn fail_all(&mut self, why: DeliveryFailure) {
        let reason = self.last_alert.unwrap_or(AlertReason::Terminate);
        if let Some(r) = self.resync.as_mut() {
            let doubt = std::mem::take(&mut r.in_doubt);
            for (_, h) in doubt {
                self.fail_handle(h, DeliveryFailure::InDoubt(reason));
            }
        }
        let outstanding: Vec<u64> = self.in_fop.keys().copied().collect();
        for h in outstanding {
            self.fail_handle(h, DeliveryFailure::InDoubt(reason));
        }
        while let Some(tc) = self.queue.pop_front() {
            self.stats.delivery_failed += 1;
            self.delivery.insert(tc.id, Delivery::Failed(why));
        }
    }
}

#[cfg(test)]
mod dead_line_tests {
    use super::*;

    #[test]
    fn the_lost_run_limit_follows_the_loss_rate() {
        // Two CADUs in three lost: 35 in a row happen once in a million.
        assert_eq!(lost_run_limit(2000, 3000), 35);
        // An even first guess, then the cap: 62 at most, however bad the line.
        assert_eq!(lost_run_limit(0, 0), 20);
        assert_eq!(lost_run_limit(1000, 1000), MAX_LOST_RUN);
        // A clean line: a few lost frames in a row already mean something.
        assert!(lost_run_limit(0, 10_000) <= 2);
        // Monotonic in the loss.
        let mut last = 0;
        for lost in (0..=1000).step_by(50) {
            let n = lost_run_limit(lost, 1000);
            assert!(n >= last, "{lost}: {n} < {last}");
            last = n;
        }
    }

    #[test]
    fn the_dead_line_bound_is_62_frame_periods_plus_settle() {
        let fast = SessionConfig::new("/dev/null", 115_200);
        let b = fast.dead_line_bound();
        assert!(b > Duration::from_secs(62) && b < Duration::from_secs(64), "{b:?}");
        let slow = SessionConfig::new("/dev/null", 9_600);
        let b = slow.dead_line_bound();
        assert!(b > Duration::from_secs(70) && b < Duration::from_secs(80), "{b:?}");
        let mut fixed = SessionConfig::new("/dev/null", 115_200);
        fixed.set_clcw_timeout(Duration::from_secs(20));
        assert!(!fixed.clcw_adaptive);
        assert_eq!(fixed.dead_line_bound(), Duration::from_secs(20) + fixed.settle);
    }

    #[test]
    fn ad_frames_are_repeated_on_a_lossy_line_only() {
        let load = uplink::line_len(256 + 40);
        // Two CADUs in three lost (`bitflip=1e-5,drop=0.001`): a 256-octet load twice.
        assert_eq!(ad_repetitions(2000, 3000, load), 2);
        // Issue #9's line (one CADU in ten lost): a largest frame twice, a short TC once.
        assert_eq!(ad_repetitions(100, 1000, uplink::line_len(mission::MAX_TC_FRAME_LEN)), 2);
        assert_eq!(ad_repetitions(100, 1000, 40), 1);
        // A clean line, or too few CADUs to judge: once.
        assert_eq!(ad_repetitions(0, 10_000, load), 1);
        assert_eq!(ad_repetitions(1, 10_000, load), 1);
        assert_eq!(ad_repetitions(10, 15, load), 1);
        // Only a lossy line is probed for CLCWs, at a CADU's line time (at least 100 ms).
        assert_eq!(probe_interval(115_200), Duration::from_millis(100));
        assert!(probe_interval(9_600) > Duration::from_millis(1160), "{:?}", probe_interval(9_600));
        assert!(!SessionConfig::fast("/dev/null").repeat_adaptive);
        assert!(SessionConfig::new("/dev/null", 115_200).probe_adaptive);
    }

    #[test]
    fn the_adaptive_t1_covers_what_is_on_the_line() {
        let one = adaptive_t1(Duration::ZERO, 0, 115_200);
        assert!(one > Duration::from_millis(550) && one < Duration::from_millis(600), "{one:?}");
        let window = 15 * uplink::line_len(mission::MAX_TC_FRAME_LEN);
        let full = adaptive_t1(Duration::ZERO, window, 115_200);
        assert!(full > one + line_time(window, 115_200) - Duration::from_millis(1), "{full:?}");
        // Octets still queued count in full.
        assert_eq!(adaptive_t1(Duration::from_secs(2), 0, 115_200), one + Duration::from_secs(2));
    }
}
