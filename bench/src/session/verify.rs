//! Verification tracker: follows each TC through its ST\[01\] stages, with timeouts.
//!
//! Each TC is registered with its request ID, the acknowledgement flags it asked for and the
//! time it first went on the line. [`Tracker::on_report`] applies every 1,x report;
//! [`Tracker::verdict`] says where a TC stands: still waiting (and for which stage), completed
//! (with its round-trip time), failed (stage, code, failure data), or timed out.
//!
//! When a report is missing, the session asks the unit (17,128 → 17,129, its request history:
//! `docs/icd/services.md`) and applies the answer with [`Tracker::on_history`]: a TC is
//! [`Verdict::Failed`] only when the unit said so (a failure report, or the history), it is
//! [`Verdict::NotExecuted`] only when the unit's history covers its transmission and does not
//! hold it, and otherwise [`Verdict::InDoubt`] with what to check. Stage timeouts count from
//! the moment FARM-1 acknowledged the TC ([`Tracker::set_delivered`]), not from its first
//! transmission: retransmissions are FOP-1's business.
//!
//! A stage that was not requested is not waited for: a TC that asked only for acceptance is
//! done on 1,1. A failure at any stage is final. A report for a request ID that was never
//! registered, or a second report of a final stage, is counted as unexpected (a duplicate
//! completion would mean a TC executed twice).

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

use tc_tm::pus::AckFlags;
use tc_tm::service::verification::{FailureData, Report, RequestId};
use tc_tm::service::{FailureCode, Stage};

/// How long to wait for reports, counted from the moment FARM-1 acknowledged the TC (the
/// first transmission for a tracker used alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageTimeouts {
    /// How long a missing report may trail the TC's acknowledgement (or the unit's last
    /// answer) before the unit is asked (`--report-timeout-s`). The reports of an executed TC
    /// leave in the next frames: the default is 1 s plus four CADU line times.
    pub acceptance: Duration,
    /// How long a TC may execute before it is reported in doubt (`--completion-timeout-s`):
    /// a table validation of the largest table, a memory check of a whole bank.
    pub completion: Duration,
}

impl Default for StageTimeouts {
    /// 5 s to acceptance, 30 s to completion (a tracker used alone; the session derives the
    /// report timeout from the baud rate, [`StageTimeouts::for_baud`]).
    fn default() -> Self {
        Self { acceptance: Duration::from_secs(5), completion: Duration::from_secs(30) }
    }
}

impl StageTimeouts {
    /// The session's defaults at `baud`: reports 300 ms (the unit's 200 ms flush timeout and
    /// 100 ms) plus four CADU line times after the acknowledgement (0.69 s at 115 200 Bd; it
    /// was 1 s plus four, which on a lossy line made every lost report cost a second more),
    /// 30 s of execution.
    pub fn for_baud(baud: u32) -> Self {
        let cadu = super::line_time(tc_tm::mission::CADU_LEN, baud);
        Self {
            acceptance: Duration::from_millis(300) + cadu * 4,
            completion: Duration::from_secs(30),
        }
    }
}

/// Why a TC's outcome is in doubt: what the bench could not establish, and what to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Doubt {
    /// The unit's answers to the status query (17,129) were lost as well, every time.
    NoAnswer {
        /// Queries sent.
        queries: u32,
    },
    /// The unit has no record and its history does not reach back to the TC's transmission
    /// (evicted, or the unit restarted since).
    NotInHistory,
    /// The unit still reports it executing after the completion timeout.
    StillExecuting,
}

impl fmt::Display for Doubt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Doubt::NoAnswer { queries } => write!(
                f,
                "its reports and {queries} status queries to the unit were lost on the downlink"
            ),
            Doubt::NotInHistory => f.write_str(
                "the unit has no record of it, but its request history no longer reaches back                  to when it was sent (evicted, or the unit restarted)",
            ),
            Doubt::StillExecuting => {
                f.write_str("the unit still reports it executing after the completion timeout")
            }
        }
    }
}

/// A failed stage, as the unit reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageFailure {
    /// The stage that failed.
    pub stage: Stage,
    /// The failure code.
    pub code: FailureCode,
    /// What it is about.
    pub data: FailureData,
    /// The progress step, for a progress failure.
    pub step: Option<u16>,
    /// Known from the unit's request history (17,129) because the failure report was lost:
    /// stage and code are the unit's, the failure data is not known.
    pub from_history: bool,
}

impl fmt::Display for StageFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed: {} (0x{:04X})", self.stage, self.code.name(), self.code.value())?;
        if let Some(step) = self.step {
            write!(f, " at step {step}")?;
        }
        if self.from_history {
            return write!(
                f,
                " (from the unit's request history: the failure report with its details was \
                 lost on the downlink): {}",
                self.code.explanation()
            );
        }
        let details = crate::names::failure_details(self.code, self.data);
        if !details.is_empty() {
            write!(f, "; {details}")?;
        }
        write!(f, ": {}", self.code.explanation())
    }
}

/// Where a TC stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Not registered.
    Unknown,
    /// Waiting for a report of `waiting_for`.
    Pending {
        /// The next stage expected.
        waiting_for: Stage,
    },
    /// Every requested stage succeeded.
    Completed {
        /// From first transmission to the last requested stage's report (or the answer).
        round_trip: Duration,
        /// Progress steps reported.
        progress_steps: u32,
        /// Known from the unit's request history (the completion report was lost).
        from_history: bool,
    },
    /// The unit never received it: its request history covers the TC's transmission and does
    /// not hold it, or the session gave up before sending it. Safe to send again.
    NotExecuted,
    /// Neither the reports nor the unit's answers establish what happened: it may have
    /// executed once, or not at all. Never resent automatically.
    InDoubt {
        /// The stage whose report is missing.
        waiting_for: Stage,
        /// What could not be established.
        doubt: Doubt,
    },
    /// A stage failed.
    Failed(StageFailure),
    /// A stage's report did not arrive in time.
    TimedOut {
        /// The stage still missing.
        waiting_for: Stage,
        /// How long it waited.
        waited: Duration,
    },
}

impl Verdict {
    /// Whether the verdict is final (completed, failed, not executed, in doubt, or timed out
    /// for a tracker used alone).
    pub fn is_final(&self) -> bool {
        !matches!(self, Verdict::Pending { .. })
    }

    /// Whether the verdict is settled: final and not a bare timeout (which the session
    /// resolves by asking the unit).
    pub fn is_settled(&self) -> bool {
        self.is_final() && !matches!(self, Verdict::TimedOut { .. })
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Unknown => f.write_str("unknown request"),
            Verdict::Pending { waiting_for } => write!(f, "waiting for {waiting_for}"),
            Verdict::Completed { round_trip, from_history: false, .. } => {
                write!(f, "completed in {:.1} ms", round_trip.as_secs_f64() * 1e3)
            }
            Verdict::Completed { round_trip, from_history: true, .. } => write!(
                f,
                "completed (the unit's request history says so after {:.1} s; its reports were                  lost on the downlink)",
                round_trip.as_secs_f64()
            ),
            Verdict::NotExecuted => f.write_str(
                "not executed: the unit never received it (its request history covers the                  transmission); it is safe to send it again",
            ),
            Verdict::InDoubt { waiting_for, doubt } => write!(
                f,
                "IN DOUBT, no {waiting_for} report: {doubt}. It may have executed once or not                  at all; it was not resent. Check the unit before sending it again: `eic-bench                  tc send DEV test query id=0x…` with this request ID, the TC counters in                  housekeeping (`eic-bench hk DEV`), and the line quality"
            ),
            Verdict::Failed(fail) => fail.fmt(f),
            Verdict::TimedOut { waiting_for, waited } => write!(
                f,
                "no {waiting_for} report after {:.1} s: is the unit executing TCs? (check `eic-bench tm listen`)",
                waited.as_secs_f64()
            ),
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    ack: AckFlags,
    sent: Instant,
    accepted: bool,
    started: bool,
    progress: u32,
    completed_at: Option<Instant>,
    failure: Option<StageFailure>,
    /// When FARM-1 acknowledged it (stage clocks start here).
    delivered: Option<Instant>,
    /// The unit's last answer (17,129) and when it arrived.
    answered: Option<Instant>,
    /// When the last report about it arrived.
    last_report: Option<Instant>,
    from_history: bool,
    resolved: Option<Resolution>,
}

/// A verdict established by the session without a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resolution {
    NotExecuted,
    InDoubt(Doubt),
}

/// The clocks of a tracked TC ([`Tracker::clocks`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clocks {
    /// FARM-1 acknowledged it (or its first transmission).
    pub start: Instant,
    /// The unit's last answer about it.
    pub answered: Option<Instant>,
    /// Its last report.
    pub last_report: Option<Instant>,
}

impl Clocks {
    /// The last sign of the TC: start, report or answer.
    pub fn last_sign(&self) -> Instant {
        let mut t = self.start;
        for x in [self.answered, self.last_report].into_iter().flatten() {
            t = t.max(x);
        }
        t
    }

    /// The last sign of progress: start or report.
    pub fn last_progress(&self) -> Instant {
        self.last_report.map_or(self.start, |r| r.max(self.start))
    }
}

/// Counters of the tracker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrackerStats {
    /// Reports applied to a registered TC.
    pub reports: u64,
    /// Reports for unknown request IDs, or repeating a final stage.
    pub unexpected: u64,
    /// Completion reports (success or failure) received.
    pub completions: u64,
}

/// The verification tracker (see the module documentation).
#[derive(Debug, Default)]
pub struct Tracker {
    entries: HashMap<RequestId, Entry>,
    stats: TrackerStats,
}

impl Tracker {
    /// An empty tracker.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counters.
    pub fn stats(&self) -> TrackerStats {
        self.stats
    }

    /// Registers a TC at its first transmission (a second registration is ignored: a
    /// retransmitted TC keeps its first time).
    pub fn register(&mut self, id: RequestId, ack: AckFlags, sent: Instant) {
        self.entries.entry(id).or_insert(Entry {
            ack,
            sent,
            accepted: false,
            started: false,
            progress: 0,
            completed_at: None,
            failure: None,
            delivered: None,
            answered: None,
            last_report: None,
            from_history: false,
            resolved: None,
        });
    }

    /// Starts the stage clocks of `id` at `at` (FARM-1 acknowledged it, or its delivery is in
    /// doubt and only the unit can tell).
    pub fn set_delivered(&mut self, id: &RequestId, at: Instant) {
        if let Some(e) = self.entries.get_mut(id) {
            e.delivered.get_or_insert(at);
        }
    }

    /// Applies the unit's answer about `id` from its request history (17,129) received at
    /// `now`. `covers_transmission`: the history is complete since before the TC's first
    /// transmission, so an absent ID was never received. Returns whether the TC's verdict is
    /// now settled by the answer.
    pub fn on_history(
        &mut self,
        status: &tc_tm::service::test::RequestStatus,
        covers_transmission: bool,
        now: Instant,
    ) -> bool {
        use tc_tm::service::test::Progress;
        let Some(e) = self.entries.get_mut(&status.request_id) else { return false };
        if e.failure.is_some() || e.resolved.is_some() {
            return true;
        }
        e.answered = Some(now);
        match status.state {
            Progress::Completed => {
                e.accepted = true;
                e.started = true;
                if e.completed_at.is_none() {
                    e.completed_at = Some(now);
                    e.from_history = true;
                }
                true
            }
            Progress::Failed => {
                let (Some(stage), Some(code)) = (status.stage, status.code) else { return false };
                e.failure = Some(StageFailure {
                    stage,
                    code,
                    data: FailureData::default(),
                    step: None,
                    from_history: true,
                });
                true
            }
            Progress::Executing => {
                e.accepted = true;
                false
            }
            Progress::Unknown if covers_transmission => {
                e.resolved = Some(Resolution::NotExecuted);
                true
            }
            _ => {
                e.resolved = Some(Resolution::InDoubt(Doubt::NotInHistory));
                true
            }
        }
    }

    /// Settles `id` as in doubt (the session exhausted its queries, or it still executes after
    /// the completion timeout).
    pub fn set_in_doubt(&mut self, id: &RequestId, doubt: Doubt) {
        if let Some(e) = self.entries.get_mut(id)
            && e.failure.is_none()
            && e.completed_at.is_none()
        {
            e.resolved = Some(Resolution::InDoubt(doubt));
        }
    }

    /// Settles `id` as not executed (never sent).
    pub fn set_not_executed(&mut self, id: &RequestId) {
        if let Some(e) = self.entries.get_mut(id) {
            e.resolved = Some(Resolution::NotExecuted);
        }
    }

    /// When `id` was first transmitted.
    pub fn first_sent(&self, id: &RequestId) -> Option<Instant> {
        self.entries.get(id).map(|e| e.sent)
    }

    /// When the stage clocks of `id` started, and the last sign of it: a report, or the
    /// unit's last answer about it.
    pub fn clocks(&self, id: &RequestId) -> Option<Clocks> {
        self.entries.get(id).map(|e| Clocks {
            start: e.delivered.unwrap_or(e.sent),
            answered: e.answered,
            last_report: e.last_report,
        })
    }

    /// Forgets a TC (after its verdict was used), so the map does not grow without bound.
    pub fn forget(&mut self, id: &RequestId) {
        self.entries.remove(id);
    }

    /// Number of TCs tracked.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no TC is tracked.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Applies one ST\[01\] report received at `now`; returns the request ID it concerned if it
    /// was registered.
    pub fn on_report(&mut self, report: &Report, now: Instant) -> Option<RequestId> {
        let (id, apply): (RequestId, ApplyFn) = match report {
            Report::AcceptanceSuccess(id) => {
                (*id, |e, _, _| !std::mem::replace(&mut e.accepted, true))
            }
            Report::StartSuccess(id) => (*id, |e, _, _| !std::mem::replace(&mut e.started, true)),
            Report::ProgressSuccess(p) => (p.request_id, |e, _, _| {
                e.progress += 1;
                true
            }),
            Report::CompletionSuccess(id) => (*id, |e, _, t| {
                if e.from_history && e.failure.is_none() {
                    // The report the history stood in for arrived after all.
                    e.from_history = false;
                    return true;
                }
                let first = e.completed_at.is_none() && e.failure.is_none();
                e.completed_at.get_or_insert(t);
                first
            }),
            Report::AcceptanceFailure(f) => (f.request_id, |e, r, _| fail(e, r)),
            Report::StartFailure(f) => (f.request_id, |e, r, _| fail(e, r)),
            Report::ProgressFailure(p) => (p.failure.request_id, |e, r, _| fail(e, r)),
            Report::CompletionFailure(f) => (f.request_id, |e, r, _| fail(e, r)),
            _ => return None,
        };
        if matches!(report, Report::CompletionSuccess(_) | Report::CompletionFailure(_)) {
            self.stats.completions += 1;
        }
        let Some(entry) = self.entries.get_mut(&id) else {
            self.stats.unexpected += 1;
            return None;
        };
        entry.last_report = Some(now);
        if apply(entry, report, now) {
            self.stats.reports += 1;
        } else {
            self.stats.unexpected += 1;
        }
        Some(id)
    }

    /// Where the TC `id` stands at `now`.
    pub fn verdict(&self, id: &RequestId, now: Instant, timeouts: StageTimeouts) -> Verdict {
        let Some(e) = self.entries.get(id) else {
            return Verdict::Unknown;
        };
        if let Some(f) = e.failure {
            return Verdict::Failed(f);
        }
        let start = e.delivered.unwrap_or(e.sent);
        // After an answer ("executing") or a report, the report clock restarts there.
        let last = [e.answered, e.last_report].into_iter().flatten().fold(start, Instant::max);
        let waited = now.saturating_duration_since(last);
        let waiting_for = if e.ack.acceptance() && !e.accepted && e.completed_at.is_none() {
            Some((Stage::Acceptance, timeouts.acceptance))
        } else if e.ack.start() && !e.started && e.completed_at.is_none() {
            Some((Stage::Start, timeouts.completion))
        } else if e.ack.completion() && e.completed_at.is_none() {
            Some((Stage::Completion, timeouts.completion))
        } else {
            None
        };
        match (waiting_for, e.resolved) {
            (None, _) => Verdict::Completed {
                round_trip: e.completed_at.unwrap_or(now).saturating_duration_since(e.sent),
                progress_steps: e.progress,
                from_history: e.from_history,
            },
            (Some(_), Some(Resolution::NotExecuted)) => Verdict::NotExecuted,
            (Some((stage, _)), Some(Resolution::InDoubt(doubt))) => {
                Verdict::InDoubt { waiting_for: stage, doubt }
            }
            (Some((stage, limit)), None) if waited >= limit => {
                Verdict::TimedOut { waiting_for: stage, waited }
            }
            (Some((stage, _)), None) => Verdict::Pending { waiting_for: stage },
        }
    }
}

/// How a report changes an entry; returns false when the report was unexpected.
type ApplyFn = fn(&mut Entry, &Report, Instant) -> bool;

fn fail(e: &mut Entry, report: &Report) -> bool {
    let (stage, f, step) = match report {
        Report::AcceptanceFailure(f) => (Stage::Acceptance, f, None),
        Report::StartFailure(f) => (Stage::Start, f, None),
        Report::ProgressFailure(p) => (Stage::Progress, &p.failure, Some(p.step)),
        Report::CompletionFailure(f) => (Stage::Completion, f, None),
        _ => return false,
    };
    let history_only = e.failure.is_some_and(|f| f.from_history);
    if (e.failure.is_some() && !history_only) || e.completed_at.is_some() {
        return false;
    }
    e.failure = Some(StageFailure { stage, code: f.code, data: f.data, step, from_history: false });
    true
}

#[cfg(test)]
mod tests {
    use tc_tm::service::verification::{Failure, Progress};

    use super::*;

    fn id(n: u16) -> RequestId {
        RequestId { packet_id: 0x1A40, seq_ctrl: 0xC000 | n }
    }

    const T: StageTimeouts =
        StageTimeouts { acceptance: Duration::from_secs(1), completion: Duration::from_secs(5) };

    #[test]
    fn stages_in_order_complete() {
        let t0 = Instant::now();
        let mut tr = Tracker::new();
        tr.register(id(1), AckFlags::ALL, t0);
        assert_eq!(tr.verdict(&id(1), t0, T), Verdict::Pending { waiting_for: Stage::Acceptance });
        tr.on_report(&Report::AcceptanceSuccess(id(1)), t0);
        assert_eq!(tr.verdict(&id(1), t0, T), Verdict::Pending { waiting_for: Stage::Start });
        tr.on_report(&Report::StartSuccess(id(1)), t0);
        tr.on_report(&Report::ProgressSuccess(Progress { request_id: id(1), step: 1 }), t0);
        assert_eq!(tr.verdict(&id(1), t0, T), Verdict::Pending { waiting_for: Stage::Completion });
        let t1 = t0 + Duration::from_millis(3);
        tr.on_report(&Report::CompletionSuccess(id(1)), t1);
        assert_eq!(
            tr.verdict(&id(1), t1 + Duration::from_secs(100), T),
            Verdict::Completed {
                round_trip: Duration::from_millis(3),
                progress_steps: 1,
                from_history: false
            }
        );
        assert_eq!(tr.stats(), TrackerStats { reports: 4, unexpected: 0, completions: 1 });
    }

    #[test]
    fn failure_is_final_and_explained() {
        let t0 = Instant::now();
        let mut tr = Tracker::new();
        tr.register(id(2), AckFlags::ALL, t0);
        tr.on_report(&Report::AcceptanceSuccess(id(2)), t0);
        let failure = Failure {
            request_id: id(2),
            code: FailureCode::NotArmed,
            data: FailureData { subject: 1, index: 0, field: 0, value: 0 },
        };
        tr.on_report(&Report::StartFailure(failure), t0);
        tr.on_report(&Report::CompletionSuccess(id(2)), t0);
        let Verdict::Failed(f) = tr.verdict(&id(2), t0, T) else { panic!("failure expected") };
        assert_eq!((f.stage, f.code), (Stage::Start, FailureCode::NotArmed));
        let text = f.to_string();
        assert!(text.contains("not_armed") && text.contains("arm"), "{text}");
        assert_eq!(tr.stats().unexpected, 1, "completion after a failure is unexpected");
    }

    #[test]
    fn missing_stage_times_out() {
        let t0 = Instant::now();
        let mut tr = Tracker::new();
        tr.register(id(3), AckFlags::ALL, t0);
        let later = t0 + Duration::from_secs(2);
        assert!(matches!(
            tr.verdict(&id(3), later, T),
            Verdict::TimedOut { waiting_for: Stage::Acceptance, .. }
        ));
        tr.on_report(&Report::AcceptanceSuccess(id(3)), later);
        assert_eq!(tr.verdict(&id(3), later, T), Verdict::Pending { waiting_for: Stage::Start });
        // The clock restarts at the last report: 5 s after the acceptance, not the sending.
        assert_eq!(
            tr.verdict(&id(3), t0 + Duration::from_secs(6), T),
            Verdict::Pending { waiting_for: Stage::Start }
        );
        assert!(matches!(
            tr.verdict(&id(3), later + Duration::from_secs(5), T),
            Verdict::TimedOut { waiting_for: Stage::Start, .. }
        ));
    }

    #[test]
    fn the_units_answer_settles_a_tc_whose_reports_were_lost() {
        use tc_tm::service::test::{Progress, RequestStatus};
        let t0 = Instant::now();
        let mut tr = Tracker::new();
        let st = |n, state, stage, code| RequestStatus { request_id: id(n), state, stage, code };
        for n in 10..15 {
            tr.register(id(n), AckFlags::ALL, t0);
            tr.set_delivered(&id(n), t0);
        }
        assert!(tr.on_history(&st(10, Progress::Completed, None, None), false, t0));
        assert!(matches!(
            tr.verdict(&id(10), t0, T),
            Verdict::Completed { from_history: true, .. }
        ));
        // The completion report arrives after all: expected, not a double execution.
        tr.on_report(&Report::CompletionSuccess(id(10)), t0);
        assert_eq!(tr.stats().unexpected, 0);
        let failed = st(11, Progress::Failed, Some(Stage::Start), Some(FailureCode::NotArmed));
        assert!(tr.on_history(&failed, false, t0));
        let Verdict::Failed(f) = tr.verdict(&id(11), t0, T) else { panic!() };
        assert!(f.from_history && f.code == FailureCode::NotArmed);
        assert!(f.to_string().contains("request history"), "{f}");
        // Unknown: never received only if the history covers the transmission.
        assert!(tr.on_history(&st(12, Progress::Unknown, None, None), true, t0));
        assert_eq!(tr.verdict(&id(12), t0, T), Verdict::NotExecuted);
        assert!(tr.on_history(&st(13, Progress::Unknown, None, None), false, t0));
        assert!(matches!(
            tr.verdict(&id(13), t0, T),
            Verdict::InDoubt { doubt: Doubt::NotInHistory, .. }
        ));
        // Executing: not settled; in doubt only when the session says so.
        assert!(!tr.on_history(&st(14, Progress::Executing, None, None), true, t0));
        tr.set_in_doubt(&id(14), Doubt::NoAnswer { queries: 8 });
        let v = tr.verdict(&id(14), t0, T);
        assert!(v.to_string().contains("IN DOUBT") && v.is_settled(), "{v}");
    }

    #[test]
    fn unrequested_stages_are_not_awaited() {
        let t0 = Instant::now();
        let mut tr = Tracker::new();
        tr.register(id(4), AckFlags::ACCEPTANCE, t0);
        tr.on_report(&Report::AcceptanceSuccess(id(4)), t0);
        assert!(matches!(tr.verdict(&id(4), t0, T), Verdict::Completed { .. }));
        tr.register(id(5), AckFlags::NONE, t0);
        assert!(matches!(tr.verdict(&id(5), t0, T), Verdict::Completed { .. }));
    }

    #[test]
    fn duplicate_completion_and_unknown_ids_are_unexpected() {
        let t0 = Instant::now();
        let mut tr = Tracker::new();
        tr.register(id(6), AckFlags::COMPLETION, t0);
        assert_eq!(tr.on_report(&Report::CompletionSuccess(id(6)), t0), Some(id(6)));
        tr.on_report(&Report::CompletionSuccess(id(6)), t0);
        assert_eq!(tr.on_report(&Report::CompletionSuccess(id(7)), t0), None);
        assert_eq!(tr.stats().unexpected, 2);
        assert_eq!(tr.stats().completions, 3);
        assert_eq!(tr.verdict(&id(7), t0, T), Verdict::Unknown);
    }
}
