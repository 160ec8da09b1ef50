//! Table workflows over a session: pull the unit's active tables, push a table directory.
//!
//! **Pull** ([`pull`]): ST\[200\] report directory (200,7 → 200,8), then a dump of every
//! active table (200,5 → 200,6 segments, reassembled by offset, every octet covered once at
//! least), each image checked against the directory (length, version, CRC-32) and decoded with
//! the `tables` crate.
//!
//! **Push** ([`prepare`] then [`execute`], or [`push`]): the target set is validated locally
//! with the unit's own validator, the unit is pulled, the tables whose image differs (octet for
//! octet, so a version change alone counts) are planned in the safe order of
//! `docs/icd/unit.md` — every load and validation first, bands before the CRT, IMT and
//! catalogue that are validated against them, then every activation, bands first — and the
//! plan is executed with each ST\[01\] completion verified:
//!
//! 1. read the mode (3,27 one-shot of SID 1) and enter `maintenance` (through `safe` from
//!    `standby` or `observation`): table loads are a maintenance activity;
//! 2. per table: 200,1 segments of [`MAX_LOAD_SEGMENT_LEN`] octets (the largest that fits one
//!    TC), pipelined through the FOP-1 window; 200,2 validate with the image's CRC-32;
//! 3. per table: 200,3 activate;
//! 4. return to the mode the unit was in (`safe`, then `standby`, then `observation` as needed);
//! 5. read back: the directory, whose CRC-32, length and version of every active table must
//!    be the target's (the unit's CRC-32 over the stored image, recomputed at activation);
//!    a table that differs is dumped to show what the unit holds.
//!
//! On any refusal, the loads not yet activated are aborted (200,4), the mode is restored, and
//! [`WorkflowError::PushFailed`] names the table, the TC and the unit's reason (failure code
//! explained; for `table_invalid`, the entry and field of the validator's first problem).

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use indicatif::ProgressBar;
use tables::diff::{self, TableDiff};
use tables::set::TableSet;
use tables::{CompactProblem, Problem, TableId};
use tc_tm::crc::crc32;
use tc_tm::service::function::Mode;
use tc_tm::service::housekeeping::{HousekeepingReport, Report as HkMsg};
use tc_tm::service::table::{
    self as st200, BufferSel, DirectoryEntry, LoadSegment, MAX_LOAD_SEGMENT_LEN,
};
use tc_tm::service::text::parse_request;
use tc_tm::service::verification::RequestId;
use tc_tm::service::{FailureCode, MAX_TC_APP_DATA_LEN, Report, Request, Stage};

use super::journal::{self, Journal};
use crate::provision::LOAD_ORDER;
use crate::session::{Delivery, Session, SessionError, StageFailure, TcOutcome, Verdict};

/// Most load TCs outstanding at once (beyond the FOP-1 window they wait in the session queue).
const PIPELINE: usize = 32;

/// How long a report answering a TC may trail its completion report.
const REPORT_GRACE: Duration = Duration::from_millis(500);

/// Why a table workflow failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum WorkflowError {
    /// The session failed (link, silent unit, recovery gave up).
    Session(SessionError),
    /// The unit is in boot mode: no application software runs, ST\[200\] does not exist.
    BootMode,
    /// The unit refused a TC.
    Refused {
        /// The TC, in the readable syntax.
        tc: String,
        /// The failed stage, code and failure data.
        failure: StageFailure,
    },
    /// A TC was not verified: delivery failed or a stage timed out.
    NotVerified {
        /// The TC, in the readable syntax.
        tc: String,
        /// Its outcome.
        outcome: TcOutcome,
    },
    /// An expected report did not arrive.
    MissingReport {
        /// What was expected.
        what: &'static str,
    },
    /// A table has no active image on the unit.
    NoActiveTable(TableId),
    /// A dump ended before every octet of the image arrived.
    DumpIncomplete {
        /// The table.
        table: TableId,
        /// Octets received.
        received: usize,
        /// Image length.
        total: usize,
        /// Requests made (the first and the re-requests of lost ranges).
        rounds: u32,
    },
    /// A dumped image does not have the CRC-32 the directory announces.
    DumpCrc {
        /// The table.
        table: TableId,
        /// CRC of the octets received.
        computed: u32,
        /// CRC in the directory.
        expected: u32,
    },
    /// A dumped image cannot be decoded.
    Decode {
        /// The table.
        table: TableId,
        /// The decoder's reason.
        error: tables::image::Error,
    },
    /// The target set has problems (the unit would refuse it).
    Invalid(Vec<Problem>),
    /// A table of the target set cannot be encoded.
    Encode {
        /// The table.
        table: TableId,
        /// The encoder's reason.
        error: tables::image::Error,
    },
    /// A push step failed; what was done and undone.
    PushFailed {
        /// The table concerned, if the step was about one.
        table: Option<TableId>,
        /// Why.
        cause: Box<WorkflowError>,
        /// Tables whose activation was verified before the failure.
        activated: Vec<TableId>,
        /// Tables whose load was aborted.
        aborted: Vec<TableId>,
        /// The mode restored, if it was (or never left).
        mode_restored: Option<Mode>,
        /// What the unit holds of the planned tables, read back after the failure (`None`
        /// when it could not be read).
        holds: Option<Vec<Holds>>,
        /// Why undoing or reading back failed (the journal is kept for the next contact).
        undo_error: Option<String>,
    },
    /// The progress journal could not be written: the push stopped before changing more.
    Journal(std::io::Error),
    /// After the push, the unit's tables differ from the target.
    NotEqual(Vec<TableId>),
}

fn keys(t: &[TableId]) -> String {
    let v: Vec<&str> = t.iter().map(|t| t.key()).collect();
    if v.is_empty() { "none".to_owned() } else { v.join(", ") }
}

impl fmt::Display for WorkflowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkflowError::Session(e) => e.fmt(f),
            WorkflowError::BootMode => f.write_str(
                "the unit is in boot mode (no application software runs), so table management \
                 (ST[200]) does not exist: boot a valid software image first (a fresh twin is \
                 provisioned with one unless started with --blank)",
            ),
            WorkflowError::Refused { tc, failure } => {
                write!(f, "the unit refused `{tc}`: {failure}")?;
                if failure.code == FailureCode::TableInvalid {
                    let d = failure.data;
                    let mut compact = [0u8; 5];
                    compact[0] = u8::try_from(d.subject).unwrap_or(0);
                    compact[1..3].copy_from_slice(&d.index.to_be_bytes());
                    compact[3] = u8::try_from(d.field).unwrap_or(0);
                    compact[4] = u8::try_from(d.value).unwrap_or(0);
                    if let Some(p) = CompactProblem::from_bytes(&compact) {
                        let entry =
                            p.entry.map_or("the table".to_owned(), |e| format!("entry {e}"));
                        write!(
                            f,
                            " (validator: {} table, {entry}, field {}, problem kind 0x{:02X}; \
                             run `eic-bench tables validate` on the directory for the full \
                             message)",
                            p.table.name(),
                            p.field.name(),
                            p.kind_code
                        )?;
                    }
                }
                Ok(())
            }
            WorkflowError::NotVerified { tc, outcome } => match (outcome.delivery, outcome.verdict)
            {
                (Delivery::Failed(why), Verdict::Pending { .. } | Verdict::TimedOut { .. }) => {
                    write!(f, "`{tc}` was not delivered: {why}")
                }
                _ => write!(f, "`{tc}`: {}", outcome.verdict),
            },
            WorkflowError::MissingReport { what } => write!(
                f,
                "the {what} did not arrive although it was asked for {REPORT_TRIES} times: the \
                 downlink loses too much; check the line quality (`eic-bench tm listen`) and \
                 retry"
            ),
            WorkflowError::NoActiveTable(t) => write!(
                f,
                "the {} table has no active image on the unit: push a complete table directory \
                 first",
                t.name()
            ),
            WorkflowError::DumpIncomplete { table, received, total, rounds } => write!(
                f,
                "the dump of the {} table has {received} of {total} octets after {rounds} \
                 requests (the lost ranges were asked for again each time): the downlink loses \
                 too much; check the line quality (`eic-bench tm listen` shows the frames \
                 received) and retry",
                table.name()
            ),
            WorkflowError::DumpCrc { table, computed, expected } => write!(
                f,
                "the dump of the {} table has CRC-32 0x{computed:08X}, the directory says \
                 0x{expected:08X}: the downlink corrupted it; retry",
                table.name()
            ),
            WorkflowError::Decode { table, error } => {
                write!(f, "the unit's {} table cannot be decoded: {error}", table.name())
            }
            WorkflowError::Invalid(problems) => {
                write!(
                    f,
                    "the table directory has {}, the unit would refuse it",
                    crate::cmd::count(problems.len(), "problem")
                )?;
                for p in problems.iter().take(10) {
                    write!(f, "\n  {p}")?;
                }
                if problems.len() > 10 {
                    write!(f, "\n  ... (`eic-bench tables validate DIR` lists them all)")?;
                }
                Ok(())
            }
            WorkflowError::Encode { table, error } => {
                write!(f, "cannot encode the {} table: {error}", table.name())
            }
            WorkflowError::PushFailed {
                table,
                cause,
                activated,
                aborted,
                mode_restored,
                holds,
                undo_error,
            } => {
                match table {
                    Some(t) => write!(f, "push failed at the {} table: {cause}", t.name())?,
                    None => write!(f, "push failed: {cause}")?,
                }
                write!(
                    f,
                    "\n  activations verified before the failure: {}\n  loads aborted (active \
                     tables unchanged): {}",
                    keys(activated),
                    keys(aborted)
                )?;
                match mode_restored {
                    Some(m) => write!(f, "\n  mode: {m} (as before the push)")?,
                    None => {
                        f.write_str("\n  mode: NOT restored (the unit may be in maintenance)")?
                    }
                }
                match holds {
                    Some(h) => {
                        f.write_str("\n  the unit holds (read back after the failure):")?;
                        for x in h {
                            write!(
                                f,
                                "\n    {}: version {} CRC-32 0x{:08X} — {}",
                                x.table.key(),
                                x.version,
                                x.crc,
                                if x.is_target { "the NEW image" } else { "the old image" }
                            )?;
                        }
                    }
                    None => f.write_str(
                        "\n  the unit's tables could not be read back: the next `tables push` or \
                         `tables pull` on this unit reports the interrupted push, restores the \
                         mode and reads them back (journal kept)",
                    )?,
                }
                if let Some(e) = undo_error {
                    write!(f, "\n  undoing stopped at: {e}")?;
                }
                Ok(())
            }
            WorkflowError::Journal(e) => write!(
                f,
                "the push journal could not be written ({e}): stopped before changing more; \
                 check the journal directory (--journal-dir) and its disk"
            ),
            WorkflowError::NotEqual(t) => write!(
                f,
                "after the push the unit's tables still differ from the directory: {}; pull \
                 them (`eic-bench tables pull`) and compare",
                keys(t)
            ),
        }
    }
}

impl WorkflowError {
    /// Whether the unit's state is known after this error (nothing changed, or a failed push
    /// undone and read back): the push's journal can be finished. Otherwise it is kept and the
    /// next contact recovers it.
    pub fn state_known(&self) -> bool {
        match self {
            WorkflowError::PushFailed { undo_error, holds, .. } => {
                undo_error.is_none() && holds.is_some()
            }
            WorkflowError::NotEqual(_) => true,
            WorkflowError::Session(_) | WorkflowError::Journal(_) => false,
            _ => true,
        }
    }
}

/// The text of every variant already contains the error it wraps (a session error, the cause
/// of a failed push), so `source` skips it and goes to that error's own source: a chain
/// printer then says each thing once.
impl std::error::Error for WorkflowError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WorkflowError::Session(e) => std::error::Error::source(e),
            WorkflowError::PushFailed { cause, .. } => cause.source(),
            WorkflowError::Journal(e) => Some(e),
            _ => None,
        }
    }
}

impl From<SessionError> for WorkflowError {
    fn from(e: SessionError) -> Self {
        WorkflowError::Session(e)
    }
}

/// One TC of a plan, ready to send, with its readable form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedTc {
    /// What it is for.
    pub step: Step,
    /// The request in the readable syntax (`tc_tm::service::text`).
    pub text: String,
    /// Service type.
    pub service: u8,
    /// Subtype.
    pub subtype: u8,
    /// Application data.
    pub data: Vec<u8>,
}

/// The role of a planned TC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A mode change (entering maintenance or returning).
    Mode(Mode),
    /// A 200,1 segment.
    Load {
        /// The table.
        table: TableId,
        /// Octets in the segment.
        len: usize,
    },
    /// 200,2.
    Validate(TableId),
    /// 200,3.
    Activate(TableId),
}

impl PlannedTc {
    fn from_request(step: Step, r: &Request<'_>) -> Result<Self, WorkflowError> {
        let mut data = vec![0u8; r.buffer_len()];
        let n = r.emit(&mut data).map_err(|e| WorkflowError::Session(SessionError::Request(e)))?;
        data.truncate(n);
        let (service, subtype) = r.service_subtype();
        Ok(PlannedTc { step, text: r.to_string(), service, subtype, data })
    }

    fn mode(m: Mode) -> Result<Self, WorkflowError> {
        let text = format!("function mode mode={m}");
        let mut data = [0u8; MAX_TC_APP_DATA_LEN];
        let (service, subtype, n) = parse_request(&text, &mut data).map_err(|_| {
            WorkflowError::Session(SessionError::Request(tc_tm::service::Error::BadValue {
                field: "mode",
                value: u32::from(m.value()),
            }))
        })?;
        Ok(PlannedTc {
            step: Step::Mode(m),
            text,
            service,
            subtype,
            data: data.get(..n).unwrap_or(&[]).to_vec(),
        })
    }
}

/// The unit's table state as pulled.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitTables {
    /// The directory (200,8), in the unit's order.
    pub directory: Vec<DirectoryEntry>,
    /// The active image of every table that has one, CRC-checked.
    pub images: BTreeMap<TableId, Vec<u8>>,
}

impl UnitTables {
    /// The directory entry of a table.
    pub fn entry(&self, t: TableId) -> Option<&DirectoryEntry> {
        self.directory.iter().find(|e| e.table_id == t as u8)
    }

    /// Decodes the complete set.
    ///
    /// # Errors
    /// [`WorkflowError::NoActiveTable`] for the first table without an active image,
    /// [`WorkflowError::Decode`].
    pub fn set(&self) -> Result<TableSet, WorkflowError> {
        let mut refs = Vec::new();
        for t in TableId::ALL {
            let img = self.images.get(&t).ok_or(WorkflowError::NoActiveTable(t))?;
            if let Err(error) = tables::ImageHeader::parse(img).and_then(|h| {
                if h.table == t {
                    Ok(h)
                } else {
                    Err(tables::image::Error::WrongTable {
                        expected: t as u8,
                        found: h.table as u8,
                    })
                }
            }) {
                return Err(WorkflowError::Decode { table: t, error });
            }
            refs.push(img.as_slice());
        }
        TableSet::from_images(&refs).map_err(|error| {
            let table = match error {
                tables::image::Error::UnknownTable(id) => TableId::from_u8(id),
                _ => None,
            };
            WorkflowError::Decode { table: table.unwrap_or(TableId::Pixels), error }
        })
    }
}

fn check(tc: &str, o: TcOutcome) -> Result<TcOutcome, WorkflowError> {
    match o.verdict {
        Verdict::Completed { .. } => Ok(o),
        Verdict::Failed(f)
            if f.stage == Stage::Acceptance && f.code == FailureCode::UnknownService =>
        {
            Err(WorkflowError::BootMode)
        }
        Verdict::Failed(failure) => Err(WorkflowError::Refused { tc: tc.to_owned(), failure }),
        _ => Err(WorkflowError::NotVerified { tc: tc.to_owned(), outcome: o }),
    }
}

/// Times a TC the unit never received is sent again before the workflow gives up.
const RESENDS: u32 = 5;

/// Sends a planned TC and waits for its settled outcome; a TC the unit confirms it never
/// received ([`Verdict::NotExecuted`]) is sent again, up to [`RESENDS`] times. Nothing else is
/// ever resent: an in-doubt TC stops the workflow.
fn send_verified(s: &mut Session, tc: &PlannedTc) -> Result<TcOutcome, WorkflowError> {
    let mut tries = 0;
    loop {
        let id = s.send_raw(tc.service, tc.subtype, &tc.data)?;
        let o = s.wait(id)?;
        s.forget(id);
        if o.verdict == Verdict::NotExecuted && tries < RESENDS {
            tries += 1;
            continue;
        }
        return check(&tc.text, o);
    }
}

fn send_text(s: &mut Session, text: &str) -> Result<RequestId, WorkflowError> {
    let mut data = [0u8; MAX_TC_APP_DATA_LEN];
    let (service, subtype, n) = parse_request(text, &mut data)
        .map_err(|_| WorkflowError::MissingReport { what: "request syntax (internal)" })?;
    Ok(s.send_raw(service, subtype, data.get(..n).unwrap_or(&[]))?)
}

/// Reads the unit's mode from a one-shot SID 1 housekeeping report.
///
/// # Errors
/// [`WorkflowError::BootMode`] (the boot software has no ST\[03\]), session errors,
/// [`WorkflowError::MissingReport`].
pub fn read_mode(s: &mut Session) -> Result<Mode, WorkflowError> {
    ask_report(s, "hk one-shot sid=1", "housekeeping report (3,25)", |r| match r {
        Report::Housekeeping(HkMsg::Housekeeping(HousekeepingReport::Ugts(hk))) => Some(hk.mode),
        _ => None,
    })
}

/// Times a read-only request is made again when its report is lost on the downlink.
pub const REPORT_TRIES: u32 = 30;

/// Sends the read-only request `text` and returns what `pick` takes from its report; the
/// request is made again (it changes nothing) when the report is lost, up to
/// [`REPORT_TRIES`] times.
fn ask_report<T>(
    s: &mut Session,
    text: &str,
    what: &'static str,
    mut pick: impl FnMut(Report<'_>) -> Option<T>,
) -> Result<T, WorkflowError> {
    // A report answering the TC trails its completion by a CADU or two.
    let grace =
        REPORT_GRACE + crate::session::line_time(3 * tc_tm::mission::CADU_LEN, s.config().baud);
    // Packets from before the request are not its answer; a report answering an earlier try
    // (late, or after its TC was settled) is as good as the one asked for now.
    s.clear_packets();
    for _ in 0..REPORT_TRIES {
        let id = send_text(s, text)?;
        // The report is taken as soon as it arrives, while the TC's verdict is still being
        // settled (on a lossy downlink the completion report is often the one lost, and
        // settling it costs status queries); once settled, the report has the grace time.
        let mut settled: Option<Instant> = None;
        let found = loop {
            let mut found = None;
            while let Some(p) = s.next_packet(Instant::now())? {
                if let Some(v) = p.report().ok().and_then(&mut pick) {
                    found = Some(v);
                    break;
                }
            }
            if found.is_some() {
                break found;
            }
            if let Some(t) = settled {
                match s.next_packet(t + grace)? {
                    Some(p) => {
                        if let Some(v) = p.report().ok().and_then(&mut pick) {
                            break Some(v);
                        }
                    }
                    None => break None,
                }
                continue;
            }
            let o = s.poll(id)?;
            match o.verdict {
                Verdict::Completed { .. } | Verdict::NotExecuted | Verdict::InDoubt { .. } => {
                    settled = Some(Instant::now());
                }
                v if v.is_settled() => {
                    s.forget(id);
                    check(text, o)?;
                    settled = Some(Instant::now());
                }
                _ => {}
            }
        };
        s.forget(id);
        if let Some(v) = found {
            return Ok(v);
        }
    }
    Err(WorkflowError::MissingReport { what })
}

/// Reads the table directory (200,7 → 200,8).
///
/// # Errors
/// [`WorkflowError::BootMode`], session errors, [`WorkflowError::MissingReport`].
pub fn read_directory(s: &mut Session) -> Result<Vec<DirectoryEntry>, WorkflowError> {
    ask_report(s, "table directory", "table directory (200,8)", |r| match r {
        Report::Table(st200::Report::Directory(list)) => Some(list.iter().collect()),
        _ => None,
    })
}

/// How long dump segments may trail the request's completion report at `baud`: three CADU
/// line times (VC 2 leaves after VC 0) plus the unit's 200 ms flush timeout.
pub fn segment_grace(baud: u32) -> Duration {
    crate::session::line_time(3 * tc_tm::mission::CADU_LEN, baud) + Duration::from_millis(200)
}

/// Most octets one dump request asks for when it repeats pieces ([`dump_copies`]): 16 KiB,
/// 1.4 s of downlink at 115 200 Bd.
pub const COPIES_BUDGET: usize = 16 * 1024;
/// Most copies of a piece in one dump request.
pub const MAX_COPIES: usize = 8;

/// Octets a dump segment packet (200,6) adds to its data: primary and secondary headers,
/// the segment's fields and the PEC (about).
pub const SEGMENT_OVERHEAD: usize = 32;

/// How many times one dump request asks for each of `octets` missing octets, on a downlink
/// that lost `lost` of the `found` CADUs so far: enough copies that a piece is lost by all
/// with probability ≤ 5 % at that loss rate (one copy on a clean line, 8 when two CADUs in
/// three are lost), at most [`MAX_COPIES`] and [`COPIES_BUDGET`] octets in all. A pass
/// shorter than a frame has its copies packed into the same frames, which share their fate:
/// it is repeated until its copies fill as many frames as a longer pass would have copies
/// (a small table, or the last piece of a large one, used to cost a round trip per try:
/// seconds each on a lossy line; issue #16); the caller caps that at
/// [`st200::MAX_DUMP_RANGES`] ranges.
pub fn dump_copies(lost: u64, found: u64, octets: usize) -> usize {
    if found == 0 || lost == 0 || octets == 0 {
        return 1;
    }
    let loss = (lost.min(found) as f64 / found as f64).min(0.9);
    let n = (0.05f64.ln() / loss.ln()).ceil();
    let n = if n.is_finite() && n >= 1.0 { n as usize } else { 1 };
    let budget = (COPIES_BUDGET / octets).max(1);
    if octets < tc_tm::mission::AOS_FRAME_LEN {
        let frames = n.min(MAX_COPIES);
        return (frames * tc_tm::mission::AOS_FRAME_LEN)
            .div_ceil(octets + SEGMENT_OVERHEAD)
            .max(1)
            .min(budget);
    }
    n.min(MAX_COPIES).min(budget)
}

/// Dump requests in a row that bring no new octet before the pull reports the dump
/// incomplete (the retry budget: a dump goes on as long as each few requests bring something).
pub const DUMP_STALLS: u32 = 30;
/// Gaps between lost ranges shorter than this are asked for with them (one range is cheaper
/// than two on the uplink).
pub const RANGE_MERGE_GAP: usize = 64;
/// Re-requested ranges are cut into pieces of at most this many octets: a shorter 200,6
/// packet spans fewer transfer frames, so it survives a lossy downlink more often.
pub const REREQUEST_PIECE: usize = 512;

/// The ranges not received yet, as (offset, length), merged across gaps shorter than
/// [`RANGE_MERGE_GAP`], cut into pieces of at most [`REREQUEST_PIECE`] octets.
pub fn missing_ranges(have: &[bool]) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < have.len() {
        if have.get(i).copied().unwrap_or(true) {
            i += 1;
            continue;
        }
        let start = i;
        while i < have.len() && !have.get(i).copied().unwrap_or(true) {
            i += 1;
        }
        match out.last_mut() {
            Some((o, n)) if start - (*o + *n) < RANGE_MERGE_GAP => *n = i - *o,
            _ => out.push((start, i - start)),
        }
    }
    out.into_iter()
        .flat_map(|(o, n)| {
            (0..n.div_ceil(REREQUEST_PIECE)).map(move |k| {
                let at = k * REREQUEST_PIECE;
                (o + at, REREQUEST_PIECE.min(n - at))
            })
        })
        .collect()
}

/// Where the segments of a dump go.
struct Placed<'a> {
    table: TableId,
    entry: &'a DirectoryEntry,
    image: &'a mut Vec<u8>,
    have: &'a mut Vec<bool>,
    received: &'a mut usize,
    progress: &'a ProgressBar,
    /// When the last new octet was placed.
    last_new: Option<Instant>,
}

impl Placed<'_> {
    /// Places every dump segment received until `until` (at least those already queued), and
    /// returns as soon as the image is complete: waiting on would only delay the next table
    /// (before, every table of a pull on the firmware under QEMU waited the whole 15 s grace).
    fn place(&mut self, s: &mut Session, until: Instant) -> Result<(), WorkflowError> {
        while *self.received < self.have.len()
            && let Some(p) = s.next_packet(until)?
        {
            let Ok(Report::Table(st200::Report::DumpSegment(seg))) = p.report() else {
                continue;
            };
            if seg.table_id != self.table as u8
                || seg.buffer != BufferSel::Active
                || seg.total_len != self.entry.active_len
                || seg.version != self.entry.active_version
            {
                continue;
            }
            let Ok(off) = usize::try_from(seg.offset) else { continue };
            let end = off.saturating_add(seg.data.len());
            if let (Some(dst), Some(flags)) =
                (self.image.get_mut(off..end), self.have.get_mut(off..end))
            {
                dst.copy_from_slice(seg.data);
                let mut new = 0u64;
                for f in flags.iter_mut().filter(|f| !**f) {
                    *f = true;
                    new += 1;
                }
                *self.received += new as usize;
                self.progress.inc(new);
                if new > 0 {
                    self.last_new = Some(Instant::now());
                }
            }
        }
        Ok(())
    }
}

/// Dumps the active image of the table of `entry` and checks it against the entry.
///
/// The first request (200,5) asks for the whole image; the segments are placed by offset as
/// they come. Whatever the downlink lost is asked for again, and only that: 200,9 with up to
/// [`st200::MAX_DUMP_RANGES`] missing ranges per request, until every octet arrived or
/// [`DUMP_STALLS`] requests in a row brought nothing new. Each request's completion is verified as any TC's
/// (a lost report is resolved by asking the unit); a dump is read-only, so a request that was
/// not executed or is in doubt is simply made again.
///
/// # Errors
/// [`WorkflowError::NoActiveTable`], [`WorkflowError::DumpIncomplete`] (retry budget spent),
/// [`WorkflowError::DumpCrc`], refusals and session errors.
pub fn dump_active(
    s: &mut Session,
    table: TableId,
    entry: &DirectoryEntry,
    progress: &ProgressBar,
) -> Result<Vec<u8>, WorkflowError> {
    let total = usize::try_from(entry.active_len).unwrap_or(usize::MAX);
    if total == 0 {
        return Err(WorkflowError::NoActiveTable(table));
    }
    if total > tables::MAX_IMAGE_LEN {
        return Err(WorkflowError::DumpIncomplete { table, received: 0, total, rounds: 0 });
    }
    s.clear_packets();
    let mut image = vec![0u8; total];
    let mut have = vec![false; total];
    let mut received = 0usize;
    let mut rounds = 0u32;
    let mut stalls = 0u32;
    // Segments trail the completion report (VC 2 after VC 0) by a CADU or two and the unit's
    // flush timeout; waiting the whole report timeout cost every round of a lossy dump a second.
    let grace = segment_grace(s.config().baud).min(s.config().stage_timeouts.acceptance);
    while received < total {
        if stalls >= DUMP_STALLS {
            return Err(WorkflowError::DumpIncomplete { table, received, total, rounds });
        }
        rounds += 1;
        let before = received;
        let missing = missing_ranges(&have);
        let first: Vec<st200::DumpRange> = missing
            .iter()
            .take(st200::MAX_DUMP_RANGES)
            .map(|&(o, n)| st200::DumpRange {
                offset: u32::try_from(o).unwrap_or(u32::MAX),
                length: u32::try_from(n).unwrap_or(u32::MAX),
            })
            .collect();
        // On a lossy downlink, ask for each missing piece several times in one request (the
        // copies spaced a whole pass apart): one round then brings what several would.
        let dl = s.downlink_stats();
        let asked: usize = missing.iter().take(st200::MAX_DUMP_RANGES).map(|&(_, n)| n).sum();
        let copies = dump_copies(dl.bad_frames, dl.frames, asked)
            .min(st200::MAX_DUMP_RANGES / first.len().max(1))
            .max(1);
        let ranges: Vec<st200::DumpRange> =
            (0..copies).flat_map(|_| first.iter().copied()).collect();
        let mut items = vec![0u8; ranges.len() * 8];
        let whole = missing.len() > st200::MAX_DUMP_RANGES || copies == 1;
        let req = if received == 0 && rounds == 1 && whole {
            Request::Table(st200::Request::Dump {
                table_id: table as u8,
                buffer: BufferSel::Active,
            })
        } else {
            let list = tc_tm::service::List::encode_into(&ranges, &mut items)
                .map_err(|e| WorkflowError::Session(SessionError::Request(e)))?;
            Request::Table(st200::Request::DumpRanges {
                table_id: table as u8,
                buffer: BufferSel::Active,
                ranges: list,
            })
        };
        let text = req.to_string();
        let id = s.send(&req)?;
        let mut acc = Placed {
            table,
            entry,
            image: &mut image,
            have: &mut have,
            received: &mut received,
            progress,
            last_new: None,
        };
        // The round ends with the request's verdict, or, once FARM-1 acknowledged it, when
        // its segments have stopped coming for the grace time (or none came): the unit's dump
        // job has ended (its queue drains at line rate) and waiting for a lost completion
        // report, which costs status queries, would only delay the next request. A request
        // sent while the job still runs is refused `busy`, which costs one round; a refusal
        // for any other reason is seen when a round ends with its verdict.
        let mut acknowledged: Option<Instant> = None;
        let o = loop {
            let o = s.poll(id)?;
            acc.place(s, Instant::now())?;
            if o.verdict.is_settled() {
                break Some(o);
            }
            if *acc.received >= total {
                break None;
            }
            if acknowledged.is_none() && o.delivery == Delivery::Delivered {
                acknowledged = Some(Instant::now());
            }
            if let Some(ack) = acknowledged {
                let quiet_since = acc.last_new.map_or(ack, |t| t.max(ack));
                if quiet_since.elapsed() >= grace {
                    break None;
                }
            }
        };
        if o.is_some() && *acc.received < total {
            acc.place(s, Instant::now() + grace)?;
        }
        s.forget(id);
        stalls = if received > before { 0 } else { stalls + 1 };
        let Some(o) = o else { continue };
        match o.verdict {
            Verdict::Failed(f)
                if matches!(f.code, FailureCode::Busy | FailureCode::DumpInterrupted) =>
            {
                // A previous request still runs, or the buffer moved: ask again.
            }
            Verdict::Failed(_) => check(&text, o).map(|_| ())?,
            // Completed, not executed or in doubt: a dump is read-only, ask again for what
            // is missing.
            _ => {}
        }
    }
    let computed = crc32(&image);
    if computed != entry.active_crc {
        return Err(WorkflowError::DumpCrc { table, computed, expected: entry.active_crc });
    }
    Ok(image)
}

/// Pulls the directory and every active table.
///
/// # Errors
/// As [`read_directory`] and [`dump_active`].
pub fn pull(s: &mut Session, progress: &ProgressBar) -> Result<UnitTables, WorkflowError> {
    let directory = read_directory(s)?;
    let total: u64 = directory.iter().map(|e| u64::from(e.active_len)).sum();
    progress.set_length(total);
    progress.set_position(0);
    let mut images = BTreeMap::new();
    for e in &directory {
        let Some(t) = TableId::from_u8(e.table_id) else { continue };
        if e.active_len == 0 {
            continue;
        }
        progress.set_message(format!("dumping {}", t.key()));
        images.insert(t, dump_active(s, t, e, progress)?);
    }
    progress.finish_and_clear();
    Ok(UnitTables { directory, images })
}

/// Pulls the directory and dumps the active tables whose entry differs from `target`'s image
/// (CRC-32, length or version); a table whose entry shows the target's image is taken as that
/// image without a dump (the CRC-32 is the unit's own over the stored image, as the read-back
/// after a push trusts). What a push needs to plan and show its diff: on a lossy
/// downlink each small table's dump cost seconds (issue #16).
///
/// # Errors
/// As [`pull`]; [`WorkflowError::Encode`].
pub fn pull_differing(
    s: &mut Session,
    target: &TableSet,
    progress: &ProgressBar,
) -> Result<UnitTables, WorkflowError> {
    let directory = read_directory(s)?;
    let mut same = BTreeMap::new();
    let mut total = 0u64;
    for e in &directory {
        let Some(t) = TableId::from_u8(e.table_id) else { continue };
        let want = target.image(t).map_err(|error| WorkflowError::Encode { table: t, error })?;
        if e.active_len > 0 && holds_image(e, &want, target.version(t)) {
            same.insert(t, want);
        } else {
            total += u64::from(e.active_len);
        }
    }
    progress.set_length(total);
    progress.set_position(0);
    let mut images = BTreeMap::new();
    for e in &directory {
        let Some(t) = TableId::from_u8(e.table_id) else { continue };
        if e.active_len == 0 {
            continue;
        }
        if let Some(img) = same.remove(&t) {
            images.insert(t, img);
            continue;
        }
        progress.set_message(format!("dumping {}", t.key()));
        images.insert(t, dump_active(s, t, e, progress)?);
    }
    progress.finish_and_clear();
    Ok(UnitTables { directory, images })
}

/// What a push will do.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The unit's mode before the push.
    pub mode: Mode,
    /// Tables to load, in load order.
    pub tables: Vec<TableId>,
    /// Tables without an active image on the unit (among [`Plan::tables`]).
    pub missing: Vec<TableId>,
    /// Field differences (empty when the unit's set is incomplete).
    pub diffs: Vec<TableDiff>,
    /// Every TC, in order.
    pub tcs: Vec<PlannedTc>,
    /// Octets of table images to load.
    pub octets: u64,
}

impl Plan {
    /// Whether the unit already holds the target.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }

    /// The diff in text (per table and entry), with the tables missing on the unit.
    pub fn diff_text(&self) -> String {
        let mut out = diff::to_text(&self.diffs);
        for t in &self.missing {
            out.push_str(&format!("{}: no active table on the unit; will be loaded\n", t.key()));
        }
        let shown: Vec<TableId> = self.diffs.iter().map(|d| d.table).collect();
        for t in &self.tables {
            if !shown.contains(t) && !self.missing.contains(t) {
                out.push_str(&format!(
                    "{}: same values, different image (version or encoding); will be loaded\n",
                    t.key()
                ));
            }
        }
        out
    }
}

/// The mode changes from `from` into maintenance.
fn enter_maintenance(from: Mode) -> Result<Vec<Mode>, WorkflowError> {
    Ok(match from {
        Mode::Maintenance => vec![],
        Mode::Safe => vec![Mode::Maintenance],
        Mode::Standby | Mode::Observation => vec![Mode::Safe, Mode::Maintenance],
        Mode::Boot => return Err(WorkflowError::BootMode),
    })
}

/// The mode changes from maintenance back to `to`.
fn leave_maintenance(to: Mode) -> Vec<Mode> {
    match to {
        Mode::Maintenance | Mode::Boot => vec![],
        Mode::Safe => vec![Mode::Safe],
        Mode::Standby => vec![Mode::Safe, Mode::Standby],
        Mode::Observation => vec![Mode::Safe, Mode::Standby, Mode::Observation],
    }
}

/// Plans a push of `target` onto a unit holding `unit` in `mode`.
///
/// # Errors
/// [`WorkflowError::Invalid`] if the target set has problems, [`WorkflowError::Encode`],
/// [`WorkflowError::BootMode`].
pub fn plan(unit: &UnitTables, target: &TableSet, mode: Mode) -> Result<Plan, WorkflowError> {
    plan_with_segments(unit, target, mode, MAX_LOAD_SEGMENT_LEN)
}

/// The load segment length for a line whose downlink lost `lost` of the `found` CADUs: the
/// largest power of two (at least 64, at most [`MAX_LOAD_SEGMENT_LEN`]) whose TC frame gets
/// through with probability ≥ 0.7 when the uplink loses octets as the downlink does. On a
/// line losing two CADUs in three a 1 000-octet load gets through one time in four, and
/// FOP-1's go-back-N resends the window after each loss; 256-octet loads get through seven
/// times in ten. A clean line keeps the largest segments.
pub fn segment_len_for(lost: u64, found: u64) -> usize {
    if found == 0 || lost == 0 {
        return MAX_LOAD_SEGMENT_LEN;
    }
    let loss = (lost.min(found) as f64 / found as f64).min(0.95);
    // ln of one octet's survival; a CLTU is about 1.15 × (segment + 40 octets of headers).
    let per_octet = (1.0 - loss).ln() / tc_tm::mission::CADU_LEN as f64;
    let len = 0.7f64.ln() / per_octet / 1.15 - 40.0;
    if !len.is_finite() || len >= MAX_LOAD_SEGMENT_LEN as f64 {
        return MAX_LOAD_SEGMENT_LEN;
    }
    let mut seg = 64usize;
    while seg * 2 <= MAX_LOAD_SEGMENT_LEN && (seg * 2) as f64 <= len {
        seg *= 2;
    }
    seg
}

/// [`plan`] with load segments of at most `segment_len` octets ([`segment_len_for`]).
///
/// # Errors
/// As [`plan`].
pub fn plan_with_segments(
    unit: &UnitTables,
    target: &TableSet,
    mode: Mode,
    segment_len: usize,
) -> Result<Plan, WorkflowError> {
    let segment_len = segment_len.clamp(1, MAX_LOAD_SEGMENT_LEN);
    let problems = target.problems();
    if !problems.is_empty() {
        return Err(WorkflowError::Invalid(problems));
    }
    let mut tables = Vec::new();
    let mut missing = Vec::new();
    let mut images = BTreeMap::new();
    for t in LOAD_ORDER {
        let img = target.image(t).map_err(|error| WorkflowError::Encode { table: t, error })?;
        match unit.images.get(&t) {
            Some(have) if *have == img => {}
            Some(_) => tables.push(t),
            None => {
                tables.push(t);
                missing.push(t);
            }
        }
        images.insert(t, img);
    }
    let diffs = match unit.set() {
        Ok(u) => diff::diff(&u, target),
        Err(_) => Vec::new(),
    };
    let mut tcs = Vec::new();
    let mut octets = 0u64;
    if !tables.is_empty() {
        for m in enter_maintenance(mode)? {
            tcs.push(PlannedTc::mode(m)?);
        }
        for &t in &tables {
            let img = images.get(&t).map(Vec::as_slice).unwrap_or(&[]);
            let total_len = u32::try_from(img.len()).unwrap_or(u32::MAX);
            let version = target.version(t);
            for (i, chunk) in img.chunks(segment_len).enumerate() {
                let offset = u32::try_from(i * segment_len).unwrap_or(u32::MAX);
                let seg =
                    LoadSegment { table_id: t as u8, version, total_len, offset, data: chunk };
                tcs.push(PlannedTc::from_request(
                    Step::Load { table: t, len: chunk.len() },
                    &Request::Table(st200::Request::LoadSegment(seg)),
                )?);
            }
            octets += img.len() as u64;
            let validate = st200::Request::Validate { table_id: t as u8, expected_crc: crc32(img) };
            tcs.push(PlannedTc::from_request(Step::Validate(t), &Request::Table(validate))?);
        }
        for &t in &tables {
            let activate = st200::Request::Activate { table_id: t as u8 };
            tcs.push(PlannedTc::from_request(Step::Activate(t), &Request::Table(activate))?);
        }
        for m in leave_maintenance(mode) {
            tcs.push(PlannedTc::mode(m)?);
        }
    }
    Ok(Plan { mode, tables, missing, diffs, tcs, octets })
}

/// Pulls the unit, reads its mode and plans the push of `target` (nothing is changed).
///
/// # Errors
/// As [`pull`], [`read_mode`] and [`plan`].
pub fn prepare(
    s: &mut Session,
    target: &TableSet,
    progress: &ProgressBar,
) -> Result<(UnitTables, Plan), WorkflowError> {
    let problems = target.problems();
    if !problems.is_empty() {
        return Err(WorkflowError::Invalid(problems));
    }
    let mode = read_mode(s)?;
    let unit = pull_differing(s, target, progress)?;
    // The pull measured the line: shorter loads where it loses frames.
    let dl = s.downlink_stats();
    let p = plan_with_segments(&unit, target, mode, segment_len_for(dl.bad_frames, dl.frames))?;
    Ok((unit, p))
}

/// What a push did.
#[derive(Debug, Clone, PartialEq)]
pub struct PushReport {
    /// Tables loaded and activated, in load order.
    pub tables: Vec<TableId>,
    /// TCs sent and verified.
    pub tcs: usize,
    /// Image octets loaded.
    pub octets: u64,
    /// Wall time of the execution (the final pull included).
    pub duration: Duration,
    /// The unit's tables after the push (pulled again).
    pub after: UnitTables,
}

/// Executes a plan (see the module documentation), then pulls again and checks that the unit
/// holds `target`. Without a journal; see [`execute_journaled`].
///
/// # Errors
/// As [`execute_journaled`].
pub fn execute(
    s: &mut Session,
    plan: &Plan,
    target: &TableSet,
    progress: &ProgressBar,
) -> Result<PushReport, WorkflowError> {
    execute_journaled(s, plan, target, progress, None)
}

/// Whether the directory entry `e` shows the active image `want` at `version`: same CRC-32,
/// length and version. The unit computes that CRC-32 over the stored active buffer (at
/// activation, after the validation (200,2) checked the CRC-32 the bench sent, and again at
/// every power-on), so it is an on-board check of the content, as `update` checks its banks.
fn holds_image(e: &DirectoryEntry, want: &[u8], version: u16) -> bool {
    e.active_crc == crc32(want)
        && e.active_len as usize == want.len()
        && e.active_version == version
}

/// Reads the unit back after a push: the directory, whose CRC-32, length and version of
/// every active table must be the target's ([`holds_image`]: the unit's own CRC-32 over the
/// stored active image). A table whose entry differs is dumped, to show what it holds.
/// Dumping every table pushed again cost a push on a lossy line as much as its first pull
/// (issue #16: the pixel table, 55–75 s at two CADUs in three lost).
fn verify_after_push(s: &mut Session, target: &TableSet) -> Result<UnitTables, WorkflowError> {
    let directory = read_directory(s)?;
    let mut images = BTreeMap::new();
    for e in &directory {
        let Some(t) = TableId::from_u8(e.table_id) else { continue };
        if e.active_len == 0 {
            continue;
        }
        let want = target.image(t).map_err(|error| WorkflowError::Encode { table: t, error })?;
        if holds_image(e, &want, target.version(t)) {
            images.insert(t, want);
        } else {
            images.insert(t, dump_active(s, t, e, &ProgressBar::hidden())?);
        }
    }
    Ok(UnitTables { directory, images })
}

/// What the unit holds of one table, read back from its directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holds {
    /// The table.
    pub table: TableId,
    /// Active version.
    pub version: u16,
    /// Active CRC-32.
    pub crc: u32,
    /// Whether the active image is the push's target (same CRC-32 and length).
    pub is_target: bool,
}

fn read_back(
    s: &mut Session,
    tables: &[TableId],
    target: &TableSet,
) -> Result<Vec<Holds>, WorkflowError> {
    let dir = read_directory(s)?;
    let mut out = Vec::new();
    for &t in tables {
        let want = target.image(t).map_err(|error| WorkflowError::Encode { table: t, error })?;
        if let Some(e) = dir.iter().find(|e| e.table_id == t as u8) {
            out.push(Holds {
                table: t,
                version: e.active_version,
                crc: e.active_crc,
                is_target: e.active_crc == crc32(&want) && e.active_len as usize == want.len(),
            });
        }
    }
    Ok(out)
}

fn note(journal: &mut Option<&mut Journal>, what: &str, detail: &str) -> Result<(), WorkflowError> {
    match journal {
        Some(j) => j.step(what, detail).map_err(WorkflowError::Journal),
        None => Ok(()),
    }
}

/// Executes a plan (see the module documentation), recording each step done in `journal`
/// (entering a mode, starting a table's load, its validation, its activation) before going on,
/// then pulls again and checks that the unit holds `target`. On failure, the loads not
/// activated are aborted, the mode is restored and the unit's tables are read back; the journal
/// is finished only if all of that succeeded (otherwise the next contact recovers it:
/// [`recover`]).
///
/// # Errors
/// [`WorkflowError::PushFailed`] (loads aborted, mode restored, what the unit holds read back),
/// [`WorkflowError::NotEqual`], [`WorkflowError::Journal`].
pub fn execute_journaled(
    s: &mut Session,
    plan: &Plan,
    target: &TableSet,
    progress: &ProgressBar,
    mut journal: Option<&mut Journal>,
) -> Result<PushReport, WorkflowError> {
    let start = Instant::now();
    progress.set_length(plan.octets);
    progress.set_position(0);
    let mut loading: Vec<TableId> = Vec::new();
    let mut activated: Vec<TableId> = Vec::new();
    let mut in_maintenance = plan.mode == Mode::Maintenance;
    let mut pending: std::collections::VecDeque<(RequestId, usize)> = Default::default();
    let mut result: Result<(), (Option<TableId>, WorkflowError)> = Ok(());

    // Waits for the oldest outstanding load and accounts its octets.
    let settle_one = |s: &mut Session,
                      pending: &mut std::collections::VecDeque<(RequestId, usize)>|
     -> Result<(), (Option<TableId>, WorkflowError)> {
        let Some((id, i)) = pending.pop_front() else { return Ok(()) };
        let tc = plan.tcs.get(i);
        let table = tc.and_then(|t| match t.step {
            Step::Load { table, .. } => Some(table),
            _ => None,
        });
        let text = tc.map_or("", |t| t.text.as_str());
        let o = s.wait(id).map_err(|e| (table, e.into()))?;
        s.forget(id);
        match (o.verdict, tc) {
            // The unit never received it: a load segment is sent again.
            (Verdict::NotExecuted, Some(tc)) => {
                send_verified(s, tc).map_err(|e| (table, e))?;
            }
            _ => {
                check(text, o).map_err(|e| (table, e))?;
            }
        }
        if let Some(PlannedTc { step: Step::Load { len, .. }, .. }) = tc {
            progress.inc(*len as u64);
        }
        Ok(())
    };

    for (i, tc) in plan.tcs.iter().enumerate() {
        let table = match tc.step {
            Step::Load { table, .. } | Step::Validate(table) | Step::Activate(table) => Some(table),
            Step::Mode(_) => None,
        };
        if let Step::Load { table, .. } = tc.step {
            if !loading.contains(&table) {
                if let Err(e) = note(&mut journal, "loading", table.key()) {
                    result = Err((Some(table), e));
                    break;
                }
                loading.push(table);
                progress.set_message(format!("loading {}", table.key()));
            }
            match s.send_raw(tc.service, tc.subtype, &tc.data) {
                Ok(id) => pending.push_back((id, i)),
                Err(e) => {
                    result = Err((Some(table), e.into()));
                    break;
                }
            }
            if pending.len() >= PIPELINE
                && let Err(e) = settle_one(s, &mut pending)
            {
                result = Err(e);
                break;
            }
            continue;
        }
        while !pending.is_empty() {
            if let Err(e) = settle_one(s, &mut pending) {
                result = Err(e);
                break;
            }
        }
        if result.is_err() {
            break;
        }
        if let Step::Mode(m) = tc.step
            && m == Mode::Safe
            && in_maintenance
        {
            // Leaving maintenance: the loads are done.
            in_maintenance = false;
        }
        if let Step::Mode(Mode::Maintenance) = tc.step {
            // From here on the unit may be in maintenance, even if the report is lost.
            in_maintenance = true;
        }
        let r = send_verified(s, tc);
        if let Err(e) = r {
            result = Err((table, e));
            break;
        }
        let step = match tc.step {
            Step::Mode(m) => Some(("mode", m.name())),
            Step::Validate(t) => Some(("validated", t.key())),
            Step::Activate(t) => {
                activated.push(t);
                loading.retain(|x| *x != t);
                Some(("activated", t.key()))
            }
            Step::Load { .. } => None,
        };
        if let Some((what, detail)) = step
            && let Err(e) = note(&mut journal, what, detail)
        {
            result = Err((table, e));
            break;
        }
    }
    if result.is_ok() {
        while !pending.is_empty() {
            if let Err(e) = settle_one(s, &mut pending) {
                result = Err(e);
                break;
            }
        }
    }
    if let Err((table, cause)) = result {
        progress.abandon();
        // Undo what can be undone: abort the loads not activated, restore the mode, then read
        // back what the unit holds. A link that failed fails each of these at once: stop at
        // the first such error rather than repeat it.
        let mut aborted = Vec::new();
        let mut undo_error: Option<WorkflowError> = None;
        for t in &loading {
            let abort = st200::Request::Abort { table_id: *t as u8 };
            match PlannedTc::from_request(Step::Validate(*t), &Request::Table(abort))
                .and_then(|tc| send_verified(s, &tc))
            {
                Ok(_) => {
                    aborted.push(*t);
                    let _ = note(&mut journal, "aborted", t.key());
                }
                Err(e @ WorkflowError::Session(_)) => {
                    undo_error = Some(e);
                    break;
                }
                Err(_) => {}
            }
        }
        let mut mode_restored = !in_maintenance;
        if in_maintenance && undo_error.is_none() {
            let mut ok = true;
            for m in leave_maintenance(plan.mode) {
                match PlannedTc::mode(m).and_then(|tc| send_verified(s, &tc)) {
                    Ok(_) => {}
                    Err(e) => {
                        ok = false;
                        undo_error = Some(e);
                        break;
                    }
                }
            }
            mode_restored = ok;
        }
        let holds = if undo_error.is_none() {
            match read_back(s, &plan.tables, target) {
                Ok(h) => Some(h),
                Err(e) => {
                    undo_error = Some(e);
                    None
                }
            }
        } else {
            None
        };
        // The journal stays when the unit's state could not be established: the next contact
        // recovers and reports it.
        if undo_error.is_none()
            && let Some(j) = journal.take()
        {
            let _ = j.step("failed", &cause.to_string());
        }
        // (The caller finishes the journal when `undo_error` is `None`: see
        // [`WorkflowError::state_known`].)
        return Err(WorkflowError::PushFailed {
            table,
            cause: Box::new(cause),
            activated,
            aborted,
            mode_restored: mode_restored.then_some(plan.mode),
            holds,
            undo_error: undo_error.map(|e| e.to_string()),
        });
    }
    progress.finish_and_clear();
    let after = verify_after_push(s, target)?;
    let mut differ = Vec::new();
    for t in TableId::ALL {
        let want = target.image(t).map_err(|error| WorkflowError::Encode { table: t, error })?;
        if after.images.get(&t) != Some(&want) {
            differ.push(t);
        }
    }
    if !differ.is_empty() {
        return Err(WorkflowError::NotEqual(differ));
    }
    Ok(PushReport {
        tables: plan.tables.clone(),
        tcs: plan.tcs.len(),
        octets: plan.octets,
        duration: start.elapsed(),
        after,
    })
}

/// What [`recover`] found and did about an interrupted run.
#[derive(Debug, Clone, PartialEq)]
pub struct Recovery {
    /// The interrupted run.
    pub header: journal::Header,
    /// Its last step done.
    pub last: Option<journal::Step>,
    /// The unit's mode at this contact.
    pub mode_found: Mode,
    /// The mode changes made to restore the mode before the run.
    pub mode_restored: Vec<Mode>,
    /// Loads started and not activated, aborted now.
    pub aborted: Vec<TableId>,
    /// The unit's directory, read back.
    pub directory: Vec<DirectoryEntry>,
}

impl fmt::Display for Recovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = &self.header;
        write!(
            f,
            "an interrupted `{}` on {} (started {} s after 1970, pid {}) was found",
            h.workflow, h.device, h.started_unix_s, h.pid
        )?;
        match &self.last {
            Some(s) => write!(f, "; its last step done: {} {}", s.what, s.detail)?,
            None => f.write_str("; it had changed nothing yet")?,
        }
        write!(f, "\n  mode found: {}", self.mode_found)?;
        if self.mode_restored.is_empty() {
            write!(f, " (as before the run)")?;
        } else {
            let m: Vec<&str> = self.mode_restored.iter().map(|m| m.name()).collect();
            write!(f, "; restored to {} ({})", h.mode_before, m.join(" -> "))?;
        }
        write!(f, "\n  loads aborted (never activated): {}", keys(&self.aborted))?;
        f.write_str("\n  the unit holds (read back):")?;
        for e in &self.directory {
            let name = TableId::from_u8(e.table_id).map_or("?", |t| t.key());
            write!(
                f,
                "\n    {name}: version {} CRC-32 0x{:08X} ({} octets)",
                e.active_version, e.active_crc, e.active_len
            )?;
        }
        Ok(())
    }
}

/// Recovers an interrupted run found at this contact: aborts the loads it started and did not
/// activate (200,4), restores the mode it found the unit in, reads the unit's tables back, and
/// clears the journal.
///
/// # Errors
/// Session and verification errors (the journal is kept: the next contact tries again).
pub fn recover(s: &mut Session, pending: journal::Pending) -> Result<Recovery, WorkflowError> {
    let mode_found = read_mode(s)?;
    let before = Mode::from_name(&pending.header.mode_before).unwrap_or(Mode::Safe);
    // `scheduled`: a `run` put the activation in the unit's time-based schedule; the load it
    // will activate must stay.
    let mut activated = pending.with("activated");
    activated.extend(pending.with("scheduled"));
    let mut aborted = Vec::new();
    for key in pending.with("loading") {
        if activated.contains(&key) {
            continue;
        }
        let Some(t) = TableId::ALL.iter().copied().find(|t| t.key() == key) else { continue };
        let abort = st200::Request::Abort { table_id: t as u8 };
        send_verified(s, &PlannedTc::from_request(Step::Validate(t), &Request::Table(abort))?)?;
        aborted.push(t);
    }
    let mut mode_restored = Vec::new();
    if mode_found == Mode::Maintenance && before != Mode::Maintenance {
        for m in leave_maintenance(before) {
            send_verified(s, &PlannedTc::mode(m)?)?;
            mode_restored.push(m);
        }
    }
    let directory = read_directory(s)?;
    let header = pending.header.clone();
    let last = pending.last().cloned();
    pending.clear().map_err(WorkflowError::Journal)?;
    Ok(Recovery { header, last, mode_found, mode_restored, aborted, directory })
}

/// Prepares and executes a push without asking (what `tables push --yes` does).
///
/// # Errors
/// As [`prepare`] and [`execute`].
pub fn push(
    s: &mut Session,
    target: &TableSet,
    progress: &ProgressBar,
) -> Result<(Plan, Option<PushReport>), WorkflowError> {
    let (_, p) = prepare(s, target, progress)?;
    if p.is_empty() {
        return Ok((p, None));
    }
    let r = execute(s, &p, target, progress)?;
    Ok((p, Some(r)))
}

#[cfg(test)]
mod tests {

    #[test]
    fn load_segments_shrink_on_a_lossy_line_only() {
        use super::{MAX_LOAD_SEGMENT_LEN, segment_len_for};
        assert_eq!(segment_len_for(0, 0), MAX_LOAD_SEGMENT_LEN);
        assert_eq!(segment_len_for(0, 5000), MAX_LOAD_SEGMENT_LEN);
        // 1e-6 / 1e-4: one CADU in ten lost, the largest segments still pass.
        assert_eq!(segment_len_for(100, 1000), MAX_LOAD_SEGMENT_LEN);
        // Two CADUs in three lost.
        assert_eq!(segment_len_for(2000, 3000), 256);
        // Almost everything lost: the smallest.
        assert_eq!(segment_len_for(999, 1000), 64);
    }

    #[test]
    fn dump_copies_follow_the_loss_rate_and_the_frame_size() {
        use super::{COPIES_BUDGET, MAX_COPIES, dump_copies};
        // A clean line: one copy.
        assert_eq!(dump_copies(0, 1000, 8192), 1);
        assert_eq!(dump_copies(0, 0, 8192), 1);
        // Two CADUs in three lost: 8 copies of a pass of several frames.
        assert_eq!(dump_copies(2000, 3000, 2048), MAX_COPIES);
        // Within the octet budget.
        assert_eq!(dump_copies(2000, 3000, COPIES_BUDGET / 2), 2);
        // A pass shorter than a frame: copies enough to fill 8 frames, not 8 copies in one.
        let frame = tc_tm::mission::AOS_FRAME_LEN;
        let k = dump_copies(2000, 3000, 512);
        assert!(k * (512 + super::SEGMENT_OVERHEAD) >= 8 * frame, "{k}");
        assert!(k * 512 <= COPIES_BUDGET, "{k}");
        // Issue #9's line (one in ten lost): a short pass fills two frames.
        let k = dump_copies(100, 1000, 40);
        assert_eq!(k, (2 * frame).div_ceil(40 + super::SEGMENT_OVERHEAD), "{k}");
        // A clean line: once, however short.
        assert_eq!(dump_copies(0, 1000, 40), 1);
    }
    use super::*;

    fn unit_with(set: &TableSet) -> UnitTables {
        let images: BTreeMap<TableId, Vec<u8>> =
            TableId::ALL.iter().map(|&t| (t, set.image(t).unwrap())).collect();
        let directory = images
            .iter()
            .map(|(t, img)| DirectoryEntry {
                table_id: *t as u8,
                active_version: set.version(*t),
                active_crc: crc32(img),
                active_len: img.len() as u32,
                ..DirectoryEntry::default()
            })
            .collect();
        UnitTables { directory, images }
    }

    #[test]
    fn equal_sets_plan_nothing() {
        let set = tables::defaults::default_set();
        let p = plan(&unit_with(&set), &set, Mode::Observation).unwrap();
        assert!(p.is_empty() && p.tcs.is_empty() && p.diffs.is_empty());
    }

    #[test]
    fn bands_and_a_dependent_load_in_the_safe_order_through_maintenance() {
        let set = tables::defaults::default_set();
        let mut target = set.clone();
        target.bands.version += 1;
        target.crt.version += 1;
        target.crt.image_snr = 7.0;
        let p = plan(&unit_with(&set), &target, Mode::Observation).unwrap();
        assert_eq!(p.tables, vec![TableId::Bands, TableId::Crt]);
        let steps: Vec<Step> = p.tcs.iter().map(|t| t.step).collect();
        let pos = |s: Step| steps.iter().position(|x| *x == s).unwrap();
        assert_eq!(steps[..2], [Step::Mode(Mode::Safe), Step::Mode(Mode::Maintenance)]);
        assert!(pos(Step::Validate(TableId::Bands)) < pos(Step::Validate(TableId::Crt)));
        assert!(pos(Step::Validate(TableId::Crt)) < pos(Step::Activate(TableId::Bands)));
        assert!(pos(Step::Activate(TableId::Bands)) < pos(Step::Activate(TableId::Crt)));
        assert_eq!(
            steps[steps.len() - 3..],
            [Step::Mode(Mode::Safe), Step::Mode(Mode::Standby), Step::Mode(Mode::Observation)]
        );
        assert_eq!(
            p.octets as usize,
            target.image(TableId::Bands).unwrap().len() + target.image(TableId::Crt).unwrap().len()
        );
        // Every TC's text reads back to the same octets.
        for tc in &p.tcs {
            let mut data = [0u8; MAX_TC_APP_DATA_LEN];
            let (sv, st, n) = parse_request(&tc.text, &mut data).unwrap();
            assert_eq!(
                (sv, st, &data[..n]),
                (tc.service, tc.subtype, tc.data.as_slice()),
                "{}",
                tc.text
            );
        }
        assert!(p.diff_text().contains("IMAGE_SNR"), "{}", p.diff_text());
    }

    #[test]
    fn pixel_table_is_cut_into_the_largest_segments_that_fit_a_tc() {
        let set = tables::defaults::default_set();
        let mut target = set.clone();
        target.pixels.version += 1;
        let p = plan(&unit_with(&set), &target, Mode::Maintenance).unwrap();
        let loads: Vec<usize> = p
            .tcs
            .iter()
            .filter_map(|t| match t.step {
                Step::Load { len, .. } => Some(len),
                _ => None,
            })
            .collect();
        let total = target.image(TableId::Pixels).unwrap().len();
        assert_eq!(loads.len(), total.div_ceil(MAX_LOAD_SEGMENT_LEN));
        assert!(loads[..loads.len() - 1].iter().all(|&l| l == MAX_LOAD_SEGMENT_LEN));
        assert_eq!(loads.iter().sum::<usize>(), total);
        assert!(p.tcs.iter().all(|t| !matches!(t.step, Step::Mode(_))), "already in maintenance");
        assert!(p.diff_text().contains("same values, different image") || !p.diffs.is_empty());
    }

    #[test]
    fn an_invalid_target_is_refused_before_anything_is_sent() {
        let set = tables::defaults::default_set();
        let mut target = set.clone();
        target.alert.min_alert_snr = 1000.0;
        match plan(&unit_with(&set), &target, Mode::Safe) {
            Err(WorkflowError::Invalid(p)) => assert!(!p.is_empty()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn boot_mode_cannot_be_pushed_to() {
        let set = tables::defaults::default_set();
        let mut target = set.clone();
        target.alert.version += 1;
        assert!(matches!(
            plan(&unit_with(&set), &target, Mode::Boot),
            Err(WorkflowError::BootMode)
        ));
    }
}
