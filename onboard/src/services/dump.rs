//! Dump jobs: a memory dump (ST\[6,5\]) or a table dump (ST\[200,5\]) longer than one report
//! is produced report by report as the VC 2 queue drains, so a dump of any length needs one
//! report's worth of queue. One job at a time (another dump TC gets `busy`).
//!
//! Each report sent is a step: with the progress flag, a 1,5 (step = index of the report
//! just queued, from 0) follows it on VC 0; after the last one, the completion (1,7). A table
//! dump stops with `dump_interrupted` (1,6, value the next offset not dumped) if the buffer
//! it reads changes meanwhile (segment, abort, activation of that table). A reset cancels the
//! job without report.

use tc_tm::service::memory::{self as wire_memory, DumpReport};
use tc_tm::service::table::{self as wire_table, BufferSel, DumpSegment, MAX_DUMP_RANGES};
use tc_tm::service::verification::{self, Progress};
use tc_tm::service::{FailureCode, Report};

use super::Verif;
use crate::failure::{Failure, wire_memory_id};
use crate::limits::{DUMP_CHUNK_LEN, MAX_TM_PACKET_LEN};
use crate::link::Channel;
use crate::memory::{self, MemoryId};
use crate::storage::Storage;
use crate::table_store::Which;
use crate::unit::Unit;

/// What a dump job reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
// One dump job exists at a time, in a static: no heap to box the ranges into (heap-free).
#[allow(clippy::large_enum_variant)]
pub enum DumpSource {
    /// A range of a memory.
    Memory {
        /// The memory.
        memory: MemoryId,
        /// Next address to dump.
        next: u32,
        /// End of the range (exclusive).
        end: u64,
    },
    /// A table buffer.
    Table {
        /// Table ID.
        id: u8,
        /// Which buffer.
        buffer: BufferSel,
        /// Table version in the reports.
        version: u16,
        /// Image length.
        total_len: u32,
        /// Next offset to dump.
        next: u32,
        /// End of the range being dumped (exclusive, ≤ `total_len`).
        end: u32,
        /// The slot's change count when the dump started.
        generation: u32,
        /// The ranges of a 200,9 dump still to do after this one: (offset, end).
        rest: [(u32, u32); MAX_DUMP_RANGES],
        /// Ranges in `rest`.
        rest_len: u8,
        /// Next range of `rest`.
        rest_at: u8,
    },
}

impl DumpSource {
    /// Moves a table dump to its next range, if any; returns whether there was one.
    fn next_range(&mut self) -> bool {
        match self {
            DumpSource::Table { next, end, rest, rest_len, rest_at, .. }
                if *rest_at < *rest_len =>
            {
                let Some(&(o, e)) = rest.get(usize::from(*rest_at)) else { return false };
                *next = o;
                *end = e;
                *rest_at += 1;
                true
            }
            _ => false,
        }
    }
}

/// The fixed part of a table dump job.
#[derive(Clone, Copy, Debug)]
struct TableDump {
    id: u8,
    buffer: BufferSel,
    version: u16,
    total_len: u32,
    end: u32,
    generation: u32,
}

/// A dump in progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DumpJob {
    /// The dump TC.
    pub verif: Verif,
    /// Reports sent so far.
    pub step: u16,
    /// What is dumped.
    pub source: DumpSource,
}

impl<S: Storage> Unit<S> {
    /// Queues the next reports of the dump job while VC 2 has room for a whole report.
    pub(crate) fn feed_dump(&mut self) {
        while let Some(mut job) = self.app.dump {
            if self.downlink.free_octets(Channel::Dump) < MAX_TM_PACKET_LEN {
                return;
            }
            let mut data = [0u8; DUMP_CHUNK_LEN];
            let result = match job.source {
                DumpSource::Memory { memory, next, end } => {
                    self.dump_memory(memory, next, end, &mut data)
                }
                DumpSource::Table {
                    id, buffer, version, total_len, next, end, generation, ..
                } => {
                    let t = TableDump { id, buffer, version, total_len, end, generation };
                    self.dump_table(t, next, &mut data)
                }
            };
            let mut v = job.verif;
            match result {
                Ok((n, more)) => {
                    let n32 = u32::try_from(n).unwrap_or(u32::MAX);
                    match &mut job.source {
                        DumpSource::Memory { next, .. } | DumpSource::Table { next, .. } => {
                            *next = next.saturating_add(n32);
                        }
                    }
                    if v.ack.progress() {
                        let p = Progress { request_id: v.rid, step: job.step };
                        self.verification(v.dest, verification::Report::ProgressSuccess(p));
                    }
                    job.step = job.step.wrapping_add(1);
                    if more || job.source.next_range() {
                        self.app.dump = Some(job);
                    } else {
                        self.app.dump = None;
                        self.completed(&mut v);
                    }
                }
                Err(f) => {
                    self.app.dump = None;
                    self.failed(&mut v, f, job.step);
                }
            }
        }
    }

    /// Queues one 6,6 report from `next`; returns its length and whether more follow.
    fn dump_memory(
        &mut self,
        memory: MemoryId,
        next: u32,
        end: u64,
        data: &mut [u8; DUMP_CHUNK_LEN],
    ) -> Result<(usize, bool), Failure> {
        let left = end.saturating_sub(u64::from(next));
        let n = usize::try_from(left.min(DUMP_CHUNK_LEN as u64)).unwrap_or(0);
        let buf = data.get_mut(..n).ok_or(Failure::internal(0x65))?;
        memory::dump(&self.storage, memory, next, buf).map_err(Failure::from)?;
        let report = wire_memory::Report::Dump(DumpReport {
            memory_id: wire_memory_id(memory),
            address: next,
            data: buf,
        });
        self.send(Channel::Dump, self.dump_dest(), &Report::Memory(report));
        Ok((n, u64::from(next) + (n as u64) < end))
    }

    /// Queues one 200,6 segment from `next`; returns its length and whether more follow.
    fn dump_table(
        &mut self,
        t: TableDump,
        next: u32,
        data: &mut [u8; DUMP_CHUNK_LEN],
    ) -> Result<(usize, bool), Failure> {
        let TableDump { id, buffer, version, total_len, end, generation } = t;
        let interrupted = Failure::about(FailureCode::DumpInterrupted, id.into(), next);
        if self.table_generation(id) != Some(generation) {
            return Err(interrupted);
        }
        let which = match buffer {
            BufferSel::Active => Which::Active,
            BufferSel::Inactive => Which::Inactive,
        };
        let store = self.app.tables.as_ref().ok_or(interrupted)?;
        let want = usize::try_from(end.saturating_sub(next)).unwrap_or(0).min(DUMP_CHUNK_LEN);
        let buf = data.get_mut(..want).ok_or(interrupted)?;
        let n = store.dump(&self.storage, id, which, next, buf).map_err(|_| interrupted)?;
        let seg = data.get(..n).ok_or(interrupted)?;
        if n == 0 {
            return Err(interrupted);
        }
        let report = wire_table::Report::DumpSegment(DumpSegment {
            table_id: id,
            buffer,
            version,
            total_len,
            offset: next,
            data: seg,
        });
        self.send(Channel::Dump, self.dump_dest(), &Report::Table(report));
        let reached = u64::from(next) + n as u64;
        Ok((n, reached < u64::from(end)))
    }

    fn dump_dest(&self) -> u16 {
        self.app.dump.map_or(0, |j| j.verif.dest)
    }
}
