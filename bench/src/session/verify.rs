//! Verification tracker: follows each TC through its ST\[01\] stages, with timeouts.
//!
//! Each TC is registered with its request ID, the acknowledgement flags it asked for and the
//! time it first went on the line. [`Tracker::on_report`] applies every 1,x report;
//! [`Tracker::verdict`] says where a TC stands: still waiting (and for which stage), completed
//! (with its round-trip time), failed (stage, code, failure data), or timed out.
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

/// How long to wait for each stage, counted from the TC's first transmission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageTimeouts {
    /// Until the acceptance report (1,1 / 1,2).
    pub acceptance: Duration,
    /// Until the completion report (1,7 / 1,8), or the last requested stage.
    pub completion: Duration,
}

impl Default for StageTimeouts {
    /// 5 s to acceptance, 30 s to completion (a table validation of the largest table, a
    /// memory check of a whole bank, with room for retransmissions on a noisy line).
    fn default() -> Self {
        Self { acceptance: Duration::from_secs(5), completion: Duration::from_secs(30) }
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
}

impl fmt::Display for StageFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed: {} (0x{:04X})", self.stage, self.code.name(), self.code.value())?;
        if let Some(step) = self.step {
            write!(f, " at step {step}")?;
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
        /// From first transmission to the last requested stage's report.
        round_trip: Duration,
        /// Progress steps reported.
        progress_steps: u32,
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
    /// Whether the verdict is final (completed, failed or timed out).
    pub fn is_final(&self) -> bool {
        !matches!(self, Verdict::Pending { .. })
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Unknown => f.write_str("unknown request"),
            Verdict::Pending { waiting_for } => write!(f, "waiting for {waiting_for}"),
            Verdict::Completed { round_trip, .. } => {
                write!(f, "completed in {:.1} ms", round_trip.as_secs_f64() * 1e3)
            }
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
        });
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
        let waited = now.saturating_duration_since(e.sent);
        let waiting_for = if e.ack.acceptance() && !e.accepted && e.completed_at.is_none() {
            Some((Stage::Acceptance, timeouts.acceptance))
        } else if e.ack.start() && !e.started && e.completed_at.is_none() {
            Some((Stage::Start, timeouts.completion))
        } else if e.ack.completion() && e.completed_at.is_none() {
            Some((Stage::Completion, timeouts.completion))
        } else {
            None
        };
        match waiting_for {
            Some((stage, limit)) if waited >= limit => {
                Verdict::TimedOut { waiting_for: stage, waited }
            }
            Some((stage, _)) => Verdict::Pending { waiting_for: stage },
            None => Verdict::Completed {
                round_trip: e.completed_at.unwrap_or(now).saturating_duration_since(e.sent),
                progress_steps: e.progress,
            },
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
    if e.failure.is_some() || e.completed_at.is_some() {
        return false;
    }
    e.failure = Some(StageFailure { stage, code: f.code, data: f.data, step });
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
            Verdict::Completed { round_trip: Duration::from_millis(3), progress_steps: 1 }
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
        assert!(matches!(
            tr.verdict(&id(3), t0 + Duration::from_secs(6), T),
            Verdict::TimedOut { waiting_for: Stage::Start, .. }
        ));
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
