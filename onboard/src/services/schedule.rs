//! ST\[11\] time-based scheduling: time-tagged TCs stored as raw packets and released on
//! on-board time through the same acceptance and dispatch as live TCs.
//!
//! - 11,4 insert: every item is checked before any is stored, in order: release time after
//!   the current on-board time (`release_time_in_past`, value the coarse time), the embedded
//!   TC passes the full acceptance checks (`scheduled_tc_invalid`, value its acceptance
//!   failure code; a nested ST\[11\] TC is refused with `unknown_service`), room
//!   (`schedule_full`: [`MAX_SCHEDULED_TCS`] entries, [`SCHEDULE_POOL_LEN`] octets). Failure
//!   data subject `0x0B04`, index the item.
//! - Release: when enabled, every entry whose release time is at or before the on-board time
//!   goes, earliest first (ties in insertion order), at each [`crate::unit::Unit::tick`]. Each
//!   release raises `schedule-released`; a TC refused at acceptance then raises
//!   `schedule-release-failed` besides its 1,2.
//! - 11,17 summary report: one 11,13 report listing every entry waiting (release time and
//!   request ID), in release order (ties in insertion order).
//! - 11,1 / 11,2 enable / disable release (entries stay; overdue ones go at enable); 11,3
//!   reset deletes every entry and leaves the enable state as it is. Enabled at boot. The
//!   schedule is volatile (cleared by a reset).

use heapless::Vec;
use tc_tm::mission::MAX_TC_PACKET_LEN;
use tc_tm::pus::Cuc;
use tc_tm::service::event::EventId;
use tc_tm::service::schedule as wire;
use tc_tm::service::verification::RequestId;
use tc_tm::service::{FailureCode, Report, Request};

use super::{Done, Exec, Verif, accept};
use crate::failure::Failure;
use crate::limits::{MAX_SCHEDULED_TCS, SCHEDULE_POOL_LEN};
use crate::link::Channel;
use crate::storage::Storage;
use crate::unit::Unit;
use tc_tm::service::List;

/// Failure-data subject of schedule failures (`11 << 8 | 4`).
pub const INSERT_SUBJECT: u16 = 0x0B04;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    release: u64,
    seq: u32,
    start: usize,
    len: usize,
}

/// The time-tagged TCs waiting, packets back to back in a fixed pool.
#[derive(Clone, Debug)]
pub struct Schedule {
    enabled: bool,
    entries: Vec<Entry, MAX_SCHEDULED_TCS>,
    pool: [u8; SCHEDULE_POOL_LEN],
    used: usize,
    next_seq: u32,
}

impl Schedule {
    /// An empty, enabled schedule (`const` so that a unit can sit in a `static`).
    pub const EMPTY: Schedule = Schedule {
        enabled: true,
        entries: Vec::new(),
        pool: [0; SCHEDULE_POOL_LEN],
        used: 0,
        next_seq: 0,
    };

    /// An empty, enabled schedule.
    pub const fn new() -> Self {
        Self::EMPTY
    }

    /// Deletes every entry and enables release (the boot state).
    pub fn clear(&mut self) {
        self.entries.clear();
        self.used = 0;
        self.next_seq = 0;
        self.enabled = true;
    }

    /// Whether release is enabled.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Entries waiting.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no entry waits.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `count` more packets of `octets` octets in all fit.
    pub fn has_room(&self, count: usize, octets: usize) -> bool {
        self.entries.len().saturating_add(count) <= MAX_SCHEDULED_TCS
            && self.used.saturating_add(octets) <= SCHEDULE_POOL_LEN
    }

    /// Stores `packet` for release at `release` (ticks). Returns `false` (nothing stored)
    /// without room.
    pub fn insert(&mut self, release: u64, packet: &[u8]) -> bool {
        if !self.has_room(1, packet.len()) {
            return false;
        }
        let start = self.used;
        let Some(dst) = self.pool.get_mut(start..start + packet.len()) else { return false };
        dst.copy_from_slice(packet);
        let entry = Entry { release, seq: self.next_seq, start, len: packet.len() };
        if self.entries.push(entry).is_err() {
            return false;
        }
        self.used += packet.len();
        self.next_seq = self.next_seq.wrapping_add(1);
        true
    }

    /// Writes every entry waiting into `out`, in release order (ties in insertion order), as
    /// release time and request ID; returns how many.
    pub fn summary(&self, out: &mut [wire::ScheduledEntry]) -> usize {
        let mut order: Vec<(u64, u32, usize), MAX_SCHEDULED_TCS> = Vec::new();
        for (i, e) in self.entries.iter().enumerate() {
            let _ = order.push((e.release, e.seq, i));
        }
        order.sort_unstable();
        let mut n = 0;
        for ((release, _, i), dst) in order.iter().zip(out.iter_mut()) {
            let Some(e) = self.entries.get(*i) else { continue };
            let packet = self.pool.get(e.start..e.start + e.len).unwrap_or_default();
            let coarse = u32::try_from(release >> 16).unwrap_or(u32::MAX);
            *dst = wire::ScheduledEntry {
                release: wire::ReleaseTime { coarse, fine: (release & 0xFFFF) as u16 },
                request_id: RequestId::from_packet(packet).unwrap_or_default(),
            };
            n += 1;
        }
        n
    }

    /// The entry to release first at `now`, if release is enabled and one is due.
    fn due(&self, now: u64) -> Option<usize> {
        if !self.enabled {
            return None;
        }
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.release <= now)
            .min_by_key(|(_, e)| (e.release, e.seq))
            .map(|(i, _)| i)
    }

    /// Removes entry `i`, copying its packet into `out`; returns the packet length.
    fn take(&mut self, i: usize, out: &mut [u8]) -> Option<usize> {
        let e = *self.entries.get(i)?;
        let end = e.start.checked_add(e.len)?;
        out.get_mut(..e.len)?.copy_from_slice(self.pool.get(e.start..end)?);
        self.pool.copy_within(end..self.used, e.start);
        self.used -= e.len;
        self.entries.remove(i);
        for other in self.entries.iter_mut().filter(|o| o.start > e.start) {
            other.start -= e.len;
        }
        Some(e.len)
    }
}

impl Default for Schedule {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: Storage> Unit<S> {
    pub(crate) fn st11(&mut self, v: &mut Verif, r: wire::Request<'_>) -> Exec {
        match r {
            wire::Request::SummaryReport => {
                let mut items = [wire::ScheduledEntry::default(); MAX_SCHEDULED_TCS];
                let n = self.app.schedule.summary(&mut items);
                let mut buf = [0u8; MAX_SCHEDULED_TCS * 10];
                let list = List::encode_into(items.get(..n).unwrap_or_default(), &mut buf)
                    .map_err(|_| Failure::internal(11))?;
                self.start(v);
                self.send(Channel::Hk, v.dest, &Report::Schedule(wire::Report::Summary(list)));
                return Ok(Done::Completed);
            }
            wire::Request::Enable => self.app.schedule.enabled = true,
            wire::Request::Disable => self.app.schedule.enabled = false,
            wire::Request::Reset => {
                let enabled = self.app.schedule.enabled;
                self.app.schedule.clear();
                self.app.schedule.enabled = enabled;
            }
            wire::Request::Insert(list) => {
                let now = self.now.ticks();
                let mut octets = 0usize;
                for (i, item) in (0u16..).zip(list.iter()) {
                    let fail = |code: FailureCode, value: u32| {
                        Failure::new(code, INSERT_SUBJECT, i, 0, value)
                    };
                    let release = Cuc::new(item.release.coarse, item.release.fine).ticks();
                    if release <= now {
                        return Err(fail(FailureCode::ReleaseTimeInPast, item.release.coarse));
                    }
                    match accept(item.packet, self.app.mode) {
                        Err(rej) => {
                            let code = u32::from(rej.failure.code.value());
                            return Err(fail(FailureCode::ScheduledTcInvalid, code));
                        }
                        Ok(a) if matches!(a.request, Request::Schedule(_)) => {
                            let code = u32::from(FailureCode::UnknownService.value());
                            return Err(fail(FailureCode::ScheduledTcInvalid, code));
                        }
                        Ok(_) => {}
                    }
                    octets = octets.saturating_add(item.packet.len());
                    if !self.app.schedule.has_room(usize::from(i) + 1, octets) {
                        return Err(fail(FailureCode::ScheduleFull, 0));
                    }
                }
                for item in list.iter() {
                    let release = Cuc::new(item.release.coarse, item.release.fine).ticks();
                    if !self.app.schedule.insert(release, item.packet) {
                        return Err(Failure::internal(11));
                    }
                }
            }
            _ => return Err(Failure::about(FailureCode::UnknownSubtype, 11 << 8, 0)),
        }
        Ok(Done::Completed)
    }

    /// Releases every due time-tagged TC, earliest first.
    pub(crate) fn release_due(&mut self) {
        let mut packet = [0u8; MAX_TC_PACKET_LEN];
        for _ in 0..MAX_SCHEDULED_TCS {
            let Some(i) = self.app.schedule.due(self.now.ticks()) else { return };
            let Some(n) = self.app.schedule.take(i, &mut packet) else { return };
            let tc = packet.get(..n).unwrap_or_default();
            let rid = RequestId::from_packet(tc).unwrap_or_default();
            let [a, b] = rid.packet_id.to_be_bytes();
            let [c, d] = rid.seq_ctrl.to_be_bytes();
            self.counters.schedule_released += 1;
            self.raise(EventId::ScheduleReleased, &[a, b, c, d]);
            if let Some(f) = self.dispatch(tc, true) {
                let [e, g] = f.code.value().to_be_bytes();
                self.raise(EventId::ScheduleReleaseFailed, &[a, b, c, d, e, g]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::boxed::Box;

    #[test]
    fn releases_in_time_then_insertion_order_and_compacts() {
        let mut s = Box::new(Schedule::new());
        assert!(s.insert(30, &[3; 20]));
        assert!(s.insert(10, &[1; 15]));
        assert!(s.insert(10, &[2; 13]));
        assert_eq!(s.due(9), None);
        let mut out = [0u8; 64];
        let i = s.due(30).unwrap();
        assert_eq!(s.take(i, &mut out), Some(15));
        assert_eq!(out[0], 1);
        let i = s.due(30).unwrap();
        assert_eq!(s.take(i, &mut out), Some(13));
        assert_eq!(out[..13], [2; 13]);
        let i = s.due(30).unwrap();
        assert_eq!(s.take(i, &mut out), Some(20));
        assert_eq!(out[..20], [3; 20]);
        assert!(s.is_empty());
        assert_eq!(s.used, 0);
    }

    #[test]
    fn refuses_beyond_capacity() {
        let mut s = Box::new(Schedule::new());
        for _ in 0..SCHEDULE_POOL_LEN / 1000 {
            assert!(s.insert(1, &[0; 1000]));
        }
        assert!(!s.insert(1, &[0; 1000]));
        s.clear();
        for _ in 0..MAX_SCHEDULED_TCS {
            assert!(s.insert(1, &[0; 13]));
        }
        assert!(!s.insert(1, &[0; 13]));
        s.enabled = false;
        assert_eq!(s.due(5), None);
    }
}
