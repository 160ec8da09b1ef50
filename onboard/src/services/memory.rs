//! ST\[06\] memory management over the memory map of [`crate::memory`]: load raw memory with
//! a CRC-32 of the data (6,2), dump (6,5 → 6,6 reports on VC 2, as many as needed), check
//! (6,9 → 6,10).
//!
//! Checks of a load, in order (start failures): memory ID known (`memory_id_invalid`, subject
//! the ID); write allowed (`write_protected` for the boot EEPROM, and for the running bank
//! unless `write-running-bank` is armed; `arm_expired` if that arming expired); address and
//! length within the memory (`address_out_of_range`, value the address); CRC-32 of the data
//! (`data_crc_mismatch`, value the computed CRC). Then the write, a read-back
//! (`memory_verify_failed` at completion) and the `memory-load-complete` event. A dump is
//! refused with `busy` while another dump (memory or table) is in progress.

use tc_tm::service::event::EventId;
use tc_tm::service::function::ArmTarget;
use tc_tm::service::memory::{self as wire, CheckReport};
use tc_tm::service::{FailureCode, Report};

use super::dump::{DumpJob, DumpSource};
use super::{Done, Exec, Verif};
use crate::failure::{Failure, map_memory_id, storage_error_value, wire_memory_id};
use crate::link::Channel;
use crate::memory::{self, MemoryId, WriteAccess};
use crate::storage::Storage;
use crate::unit::Unit;

/// Failure-data subject of critical-operation failures of a running-bank write.
pub const WRITE_RUNNING_BANK_SUBJECT: u16 = 0x0100 + ArmTarget::WriteRunningBank.value() as u16;

fn known(id: wire::MemoryId) -> Result<MemoryId, Failure> {
    map_memory_id(id).ok_or(Failure::about(FailureCode::MemoryIdInvalid, u16::from(id.value()), 0))
}

impl<S: Storage> Unit<S> {
    pub(crate) fn st06(&mut self, v: &mut Verif, r: wire::Request<'_>) -> Exec {
        match r {
            wire::Request::Load(l) => self.memory_load(v, l),
            wire::Request::Dump(d) => {
                let mem = known(d.memory_id)?;
                memory::check_read(&self.storage, mem, d.address, usize::from(d.length))
                    .map_err(Failure::from)?;
                if self.app.dump.is_some() {
                    return Err(Failure::about(
                        FailureCode::Busy,
                        u16::from(d.memory_id.value()),
                        d.address,
                    ));
                }
                self.start(v);
                let end = u64::from(d.address) + u64::from(d.length);
                let source = DumpSource::Memory { memory: mem, next: d.address, end };
                self.app.dump = Some(DumpJob { verif: *v, step: 0, source });
                Ok(Done::Deferred)
            }
            wire::Request::Check(c) => {
                let mem = known(c.memory_id)?;
                let crc = memory::check(&self.storage, mem, c.address, c.length)
                    .map_err(Failure::from)?;
                self.start(v);
                let report = wire::Report::Check(CheckReport {
                    memory_id: wire_memory_id(mem),
                    address: c.address,
                    length: c.length,
                    crc,
                });
                self.send(Channel::Hk, v.dest, &Report::Memory(report));
                Ok(Done::Completed)
            }
            _ => Err(Failure::about(FailureCode::UnknownSubtype, 6 << 8, 0)),
        }
    }

    fn memory_load(&mut self, v: &mut Verif, l: wire::MemoryLoad<'_>) -> Exec {
        let mem = known(l.memory_id)?;
        let subject = u16::from(l.memory_id.value());
        let running_bank = self.app.boot.and_then(|b| b.running_bank());
        let running = mem.bank().is_some() && mem.bank() == running_bank;
        if running {
            match self.check_armed(ArmTarget::WriteRunningBank, WRITE_RUNNING_BANK_SUBJECT) {
                Ok(()) => {}
                Err(f) if f.code == FailureCode::ArmExpired => return Err(f),
                Err(_) => {
                    return Err(Failure::about(FailureCode::WriteProtected, subject, l.address));
                }
            }
        }
        let access = WriteAccess { running_bank, allow_running_bank: running };
        memory::check_write(&self.storage, mem, l.address, l.data.len(), access)
            .map_err(Failure::from)?;
        if !l.crc_matches() {
            let computed = tc_tm::crc::crc32(l.data);
            return Err(Failure::about(FailureCode::DataCrcMismatch, subject, computed));
        }
        if running {
            self.app.armed = None;
        }
        self.start(v);
        memory::load(&mut self.storage, mem, l.address, l.data, access).map_err(|e| match e {
            memory::MemoryError::Storage(s) => Failure::internal(storage_error_value(s)),
            other => Failure::from(other),
        })?;
        let mut back = [0u8; wire::MAX_LOAD_LEN];
        let back = back.get_mut(..l.data.len()).ok_or(Failure::internal(6))?;
        memory::dump(&self.storage, mem, l.address, back).map_err(|_| Failure::internal(6))?;
        if back != l.data {
            return Err(Failure::about(FailureCode::MemoryVerifyFailed, subject, l.address));
        }
        if running {
            self.raise(EventId::CriticalExecuted, &[ArmTarget::WriteRunningBank.value()]);
        }
        let [a, b, c, d] = l.address.to_be_bytes();
        let [e, f] = u16::try_from(l.data.len()).unwrap_or(u16::MAX).to_be_bytes();
        self.raise(EventId::MemoryLoadComplete, &[l.memory_id.value(), a, b, c, d, e, f]);
        Ok(Done::Completed)
    }
}
