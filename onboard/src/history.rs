//! The request history: how far the unit got with each of the last TCs it received.
//!
//! The bench cannot see a TC's ST\[01\] reports when the downlink loses them; it asks instead
//! (17,128 → 17,129, `docs/icd/services.md`). Every TC that reaches the packet layer is
//! recorded here at acceptance (accepted or refused), and its entry is updated when it
//! completes or fails. The ring holds [`HISTORY_LEN`] entries; the oldest is evicted first.
//! The history is complete since `covered_since`: power-on while nothing was evicted, then the
//! record time of the last evicted entry.

use tc_tm::service::test::{Progress, RequestStatus};
use tc_tm::service::verification::RequestId;
use tc_tm::service::{FailureCode, Stage};

use crate::limits::HISTORY_LEN;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    rid: RequestId,
    state: Progress,
    /// The failed stage, if any (kept as the enum: one octet).
    stage: Option<Stage>,
    /// The failure code's value (0: none), two octets rather than the enum's four.
    code: u16,
    at: u64,
}

const EMPTY: Entry = Entry {
    rid: RequestId { packet_id: 0, seq_ctrl: 0 },
    state: Progress::Unknown,
    stage: None,
    code: 0,
    at: 0,
};

/// The ring of the last [`HISTORY_LEN`] TCs (see the module documentation).
#[derive(Clone, Debug)]
pub struct History {
    entries: [Entry; HISTORY_LEN],
    /// Index of the next entry to write.
    next: usize,
    /// Entries recorded since power-on (wraps).
    recorded: u32,
    /// Entries held (≤ [`HISTORY_LEN`]).
    held: usize,
    /// Ticks since which every TC received is held.
    covered_since: u64,
}

impl History {
    /// An empty history complete since `now` (ticks).
    pub const fn new(now: u64) -> Self {
        History { entries: [EMPTY; HISTORY_LEN], next: 0, recorded: 0, held: 0, covered_since: now }
    }

    /// Records a TC received at `now` (ticks) with its first state.
    pub fn record(
        &mut self,
        rid: RequestId,
        state: Progress,
        failed: Option<(Stage, FailureCode)>,
        now: u64,
    ) {
        if self.held == HISTORY_LEN {
            if let Some(old) = self.entries.get(self.next) {
                self.covered_since = self.covered_since.max(old.at);
            }
        } else {
            self.held += 1;
        }
        if let Some(e) = self.entries.get_mut(self.next) {
            *e = Entry {
                rid,
                state,
                stage: failed.map(|f| f.0),
                code: failed.map_or(0, |f| f.1.value()),
                at: now,
            };
        }
        self.next = (self.next + 1) % HISTORY_LEN;
        self.recorded = self.recorded.wrapping_add(1);
    }

    /// Updates the newest entry of `rid` (completion or failure).
    pub fn update(
        &mut self,
        rid: RequestId,
        state: Progress,
        failed: Option<(Stage, FailureCode)>,
    ) {
        if let Some(i) = self.newest(rid)
            && let Some(e) = self.entries.get_mut(i)
        {
            e.state = state;
            e.stage = failed.map(|f| f.0);
            e.code = failed.map_or(0, |f| f.1.value());
        }
    }

    fn newest(&self, rid: RequestId) -> Option<usize> {
        (1..=self.held)
            .map(|k| (self.next + HISTORY_LEN - k) % HISTORY_LEN)
            .find(|&i| self.entries.get(i).is_some_and(|e| e.rid == rid))
    }

    /// The status of `rid` as the history holds it ([`Progress::Unknown`] if absent).
    pub fn status(&self, rid: RequestId) -> RequestStatus {
        match self.newest(rid).and_then(|i| self.entries.get(i)) {
            Some(e) => RequestStatus {
                request_id: rid,
                state: e.state,
                stage: e.stage,
                code: (e.code != 0).then(|| FailureCode::from_value(e.code)),
            },
            None => {
                RequestStatus { request_id: rid, state: Progress::Unknown, stage: None, code: None }
            }
        }
    }

    /// Entries recorded since power-on (wraps at 2³²).
    pub fn recorded(&self) -> u32 {
        self.recorded
    }

    /// Ticks since which every TC received is held.
    pub fn covered_since(&self) -> u64 {
        self.covered_since
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rid(n: u16) -> RequestId {
        RequestId { packet_id: 0x1A40, seq_ctrl: 0xC000 | n }
    }

    #[test]
    fn records_updates_and_evicts_oldest_first() {
        let mut h = History::new(5);
        h.record(rid(1), Progress::Executing, None, 10);
        h.record(rid(2), Progress::Failed, Some((Stage::Acceptance, FailureCode::BadApid)), 11);
        h.update(rid(1), Progress::Completed, None);
        assert_eq!(h.status(rid(1)).state, Progress::Completed);
        let s2 = h.status(rid(2));
        assert_eq!(
            (s2.state, s2.stage, s2.code),
            (Progress::Failed, Some(Stage::Acceptance), Some(FailureCode::BadApid))
        );
        assert_eq!(h.status(rid(3)).state, Progress::Unknown);
        assert_eq!((h.recorded(), h.covered_since()), (2, 5));
        for k in 0..HISTORY_LEN as u16 {
            h.record(rid(100 + k), Progress::Executing, None, 20 + u64::from(k));
        }
        assert_eq!(h.status(rid(1)).state, Progress::Unknown, "evicted");
        assert_eq!(h.status(rid(2)).state, Progress::Unknown, "evicted");
        assert_eq!(h.covered_since(), 11, "complete since the last evicted entry");
        assert_eq!(h.status(rid(100)).state, Progress::Executing);
    }

    #[test]
    fn a_repeated_id_reads_the_newest_entry() {
        let mut h = History::new(0);
        h.record(rid(7), Progress::Failed, Some((Stage::Start, FailureCode::NotArmed)), 1);
        h.record(rid(7), Progress::Executing, None, 2);
        h.update(rid(7), Progress::Completed, None);
        assert_eq!(h.status(rid(7)).state, Progress::Completed);
    }
}
