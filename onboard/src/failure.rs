//! Why a TC failed: an ST\[01\] failure code with its failure data, and the mapping of the
//! unit's own errors (memory map, table store, storage) to the registry of
//! `tc_tm::service::failure`.
//!
//! The stage of a failure (acceptance 1,2, start 1,4, progress 1,6, completion 1,8) is the
//! stage of its code ([`FailureCode::stage`]); `docs/icd/services.md` says what each code puts
//! in the failure data and `docs/icd/unit.md` at which check it is raised. The codec layers'
//! errors (`pus`, `spp`, `tc_frame`, `cltu`, `service`) map to acceptance codes in `tc_tm`
//! itself (`From<_> for FailureCode`).

use core::fmt;

use tc_tm::service::FailureCode;
use tc_tm::service::memory::MemoryId as WireMemoryId;
use tc_tm::service::verification::FailureData;

use crate::memory::{MemoryError, MemoryId};
use crate::storage::StorageError;
use crate::table_store::TableError;

/// A failure code and the failure data that goes with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Failure {
    /// The registry code (its stage selects the ST\[01\] subtype).
    pub code: FailureCode,
    /// What the failure is about.
    pub data: FailureData,
}

impl Failure {
    /// A failure with its four failure-data fields.
    pub const fn new(code: FailureCode, subject: u16, index: u16, field: u16, value: u32) -> Self {
        Failure { code, data: FailureData { subject, index, field, value } }
    }

    /// A failure with only a subject and a value (index and field 0).
    pub const fn about(code: FailureCode, subject: u16, value: u32) -> Self {
        Self::new(code, subject, 0, 0, value)
    }

    /// The same failure with the item index of the request set.
    #[must_use]
    pub const fn at_index(mut self, index: u16) -> Self {
        self.data.index = index;
        self
    }

    /// An internal error (storage failure and the like), with a value for the software team.
    pub const fn internal(value: u32) -> Self {
        Self::about(FailureCode::InternalError, 0, value)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.data;
        write!(
            f,
            "{} [subject 0x{:04X}, index {}, field {}, value 0x{:08X}]",
            self.code, d.subject, d.index, d.field, d.value
        )
    }
}

/// The codec's ST\[06\] memory ID (`docs/icd/services.md`: 1 EEPROM … 4 patch) of a memory of
/// the map. Both types carry the same value; the codec's also passes unknown IDs through.
pub const fn wire_memory_id(memory: MemoryId) -> WireMemoryId {
    match memory {
        MemoryId::BootEeprom => WireMemoryId::BootEeprom,
        MemoryId::BankA => WireMemoryId::BankA,
        MemoryId::BankB => WireMemoryId::BankB,
        MemoryId::RamPatch => WireMemoryId::Patch,
    }
}

/// The memory of the map a wire memory ID names, `None` for an unknown ID.
pub const fn map_memory_id(memory: WireMemoryId) -> Option<MemoryId> {
    match memory {
        WireMemoryId::BootEeprom => Some(MemoryId::BootEeprom),
        WireMemoryId::BankA => Some(MemoryId::BankA),
        WireMemoryId::BankB => Some(MemoryId::BankB),
        WireMemoryId::Patch => Some(MemoryId::RamPatch),
        WireMemoryId::Unknown(_) => None,
    }
}

/// A value identifying a storage error in `internal_error` failure data.
pub const fn storage_error_value(e: StorageError) -> u32 {
    match e {
        StorageError::NoSuchRegion(_) => 1,
        StorageError::NoSuchRecord(_) => 2,
        StorageError::OutOfRange { .. } => 3,
        StorageError::PowerCut => 4,
        StorageError::Io { os_code, .. } => match os_code {
            Some(c) => 0x1000_0000 | (c as u32 & 0x0FFF_FFFF),
            None => 5,
        },
    }
}

/// Memory-map errors (ST\[06\]): subject = wire memory ID, value = address.
impl From<MemoryError> for Failure {
    fn from(e: MemoryError) -> Self {
        let id = |m: MemoryId| u16::from(wire_memory_id(m).value());
        match e {
            MemoryError::UnknownMemoryId(v) => {
                Failure::about(FailureCode::MemoryIdInvalid, u16::from(v), 0)
            }
            MemoryError::ZeroLength(m) => Failure::about(FailureCode::AddressOutOfRange, id(m), 0),
            MemoryError::OutOfRange { memory, address, .. } => {
                Failure::about(FailureCode::AddressOutOfRange, id(memory), address)
            }
            MemoryError::ReadOnly(m) => Failure::about(FailureCode::WriteProtected, id(m), 0),
            MemoryError::RunningBankProtected(b) => {
                Failure::about(FailureCode::WriteProtected, id(MemoryId::of_bank(b)), 0)
            }
            MemoryError::Storage(s) => Failure::internal(storage_error_value(s)),
        }
    }
}

/// Table-store errors (ST\[200\]): subject = table ID, value = offset, length or CRC.
impl From<TableError> for Failure {
    fn from(e: TableError) -> Self {
        use FailureCode as C;
        match e {
            TableError::UnknownTable(id) => Failure::about(C::TableIdInvalid, id.into(), 0),
            TableError::LengthOutOfRange { id, total_len, .. } => {
                Failure::about(C::SegmentOutOfRange, id.into(), total_len)
            }
            TableError::EmptySegment(id) => Failure::about(C::SegmentOutOfRange, id.into(), 0),
            TableError::SegmentOutOfRange { id, offset, .. } => {
                Failure::about(C::SegmentOutOfRange, id.into(), offset)
            }
            TableError::TooFragmented(id) => Failure::about(C::SegmentOutOfRange, id.into(), 0),
            TableError::NoLoad(id) => Failure::about(C::NothingToValidate, id.into(), 0),
            TableError::Incomplete { id, received, .. } => {
                Failure::about(C::TableIncomplete, id.into(), received)
            }
            TableError::CrcMismatch { id, computed, .. } => {
                Failure::about(C::TableCrcMismatch, id.into(), computed)
            }
            TableError::NotValidated { id, .. } => {
                Failure::about(C::NothingToActivate, id.into(), 0)
            }
            TableError::NoActiveTable(id) => Failure::about(C::SegmentOutOfRange, id.into(), 0),
            TableError::OffsetOutOfRange { id, offset, .. } => {
                Failure::about(C::SegmentOutOfRange, id.into(), offset)
            }
            TableError::Storage(s) => Failure::internal(storage_error_value(s)),
            // Configuration errors of the store: the unit's slot table is wrong.
            TableError::DuplicateId(id) => Failure::about(C::InternalError, id.into(), 1),
            TableError::TooManySlots { configured, .. } => {
                Failure::about(C::InternalError, 0, configured as u32)
            }
            TableError::BadMaxLen { id, max_len, .. } => {
                Failure::about(C::InternalError, id.into(), max_len)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Bank;
    use tc_tm::service::Stage;

    #[test]
    fn memory_errors_are_start_failures_about_the_wire_id() {
        let f = Failure::from(MemoryError::RunningBankProtected(Bank::B));
        assert_eq!(f.code, FailureCode::WriteProtected);
        assert_eq!(f.data.subject, 0x03);
        let f = Failure::from(MemoryError::OutOfRange {
            memory: MemoryId::RamPatch,
            address: 0x4000,
            len: 4,
            size: 0x4000,
        });
        assert_eq!(
            (f.code, f.data.subject, f.data.value),
            (FailureCode::AddressOutOfRange, 4, 0x4000)
        );
        assert_eq!(f.code.stage(), Stage::Start);
        assert_eq!(
            Failure::from(MemoryError::UnknownMemoryId(9)).code,
            FailureCode::MemoryIdInvalid
        );
    }

    #[test]
    fn table_errors_map_to_their_stage() {
        let f = Failure::from(TableError::CrcMismatch { id: 3, computed: 7, expected: 8 });
        assert_eq!((f.code, f.data.subject, f.data.value), (FailureCode::TableCrcMismatch, 3, 7));
        assert_eq!(f.code.stage(), Stage::Completion);
        assert_eq!(Failure::from(TableError::UnknownTable(9)).code, FailureCode::TableIdInvalid);
        assert_eq!(
            Failure::from(TableError::Storage(StorageError::PowerCut)).code,
            FailureCode::InternalError
        );
    }

    #[test]
    fn memory_ids_map_both_ways() {
        for m in MemoryId::ALL {
            assert_eq!(map_memory_id(wire_memory_id(m)), Some(m));
            assert_eq!(wire_memory_id(m).value(), m.value(), "one numbering");
        }
        assert_eq!(map_memory_id(WireMemoryId::Unknown(0)), None);
    }
}
