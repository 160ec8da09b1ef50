//! The ST\[06\] memory map: load (write), dump (read) and check (CRC-32) of raw memory.
//!
//! | memory ID | memory | size | access |
//! |---|---|---|---|
//! | `0x01` | boot EEPROM | [`BOOT_EEPROM_LEN`](crate::limits::BOOT_EEPROM_LEN) | read-only |
//! | `0x02` | application bank A | [`BANK_LEN`](crate::limits::BANK_LEN) | read/write, write-protected while running |
//! | `0x03` | application bank B | [`BANK_LEN`](crate::limits::BANK_LEN) | read/write, write-protected while running |
//! | `0x04` | RAM patch | [`RAM_PATCH_LEN`](crate::limits::RAM_PATCH_LEN) | read/write, volatile |
//!
//! The IDs are those of the link (ST\[06\] memory ID, `docs/icd/services.md`): there is one
//! numbering, [`MemoryId::value`] is the octet on the wire.
//!
//! Addresses are octet offsets from the start of the memory. Every access is checked before
//! anything is read or written: the memory ID exists, the length is not zero, `address + len`
//! does not overflow and stays within the memory, the boot EEPROM is never written, and the
//! running bank is written only with [`WriteAccess::allow_running_bank`] (set by the services
//! layer once the critical function was armed by a separate TC, ICD §3). The sizes come from
//! the storage's [`Geometry`](crate::storage::Geometry), so the flight map is the one of
//! [`crate::limits`].
//!
//! Table buffers are not in the memory map: tables go through ST\[200\] and
//! [`crate::table_store`], never through raw memory loads.

use core::fmt;
use core::ops::Range;

use tc_tm::crc::Crc32Digest;

use crate::limits::CRC_CHUNK_LEN;
use crate::storage::{Bank, Region, Storage, StorageError};

/// An ST\[06\] memory ID, numbered as on the link (`docs/icd/services.md`, memory IDs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MemoryId {
    /// `0x01`: the boot EEPROM (read-only).
    BootEeprom,
    /// `0x02`: application bank A.
    BankA,
    /// `0x03`: application bank B.
    BankB,
    /// `0x04`: the RAM patch area.
    RamPatch,
}

impl MemoryId {
    /// Every memory, in ID order.
    pub const ALL: [MemoryId; 4] =
        [MemoryId::BootEeprom, MemoryId::BankA, MemoryId::BankB, MemoryId::RamPatch];

    /// From the wire value: `None` for an unknown ID.
    pub const fn from_u8(value: u8) -> Option<MemoryId> {
        match value {
            0x01 => Some(MemoryId::BootEeprom),
            0x02 => Some(MemoryId::BankA),
            0x03 => Some(MemoryId::BankB),
            0x04 => Some(MemoryId::RamPatch),
            _ => None,
        }
    }

    /// The wire value.
    pub const fn value(self) -> u8 {
        match self {
            MemoryId::BootEeprom => 0x01,
            MemoryId::BankA => 0x02,
            MemoryId::BankB => 0x03,
            MemoryId::RamPatch => 0x04,
        }
    }

    /// The memory ID of a bank.
    pub const fn of_bank(bank: Bank) -> MemoryId {
        match bank {
            Bank::A => MemoryId::BankA,
            Bank::B => MemoryId::BankB,
        }
    }

    /// The bank this memory is, if it is one.
    pub const fn bank(self) -> Option<Bank> {
        match self {
            MemoryId::BankA => Some(Bank::A),
            MemoryId::BankB => Some(Bank::B),
            MemoryId::BootEeprom | MemoryId::RamPatch => None,
        }
    }

    /// The storage region behind this memory.
    pub const fn region(self) -> Region {
        match self {
            MemoryId::BootEeprom => Region::BootEeprom,
            MemoryId::BankA => Region::Bank(Bank::A),
            MemoryId::BankB => Region::Bank(Bank::B),
            MemoryId::RamPatch => Region::RamPatch,
        }
    }
}

impl TryFrom<u8> for MemoryId {
    type Error = MemoryError;

    fn try_from(value: u8) -> Result<Self, MemoryError> {
        MemoryId::from_u8(value).ok_or(MemoryError::UnknownMemoryId(value))
    }
}

impl fmt::Display for MemoryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            MemoryId::BootEeprom => "boot EEPROM",
            MemoryId::BankA => "bank A",
            MemoryId::BankB => "bank B",
            MemoryId::RamPatch => "RAM patch",
        };
        write!(f, "memory {} ({name})", self.value())
    }
}

/// Errors of memory management, for the services layer to map to PUS failure codes.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryError {
    /// No memory has this ID.
    UnknownMemoryId(u8),
    /// A load, dump or check of zero octets.
    ZeroLength(MemoryId),
    /// `address + len` is beyond the end of the memory (or overflows).
    OutOfRange {
        /// The memory.
        memory: MemoryId,
        /// Start address requested.
        address: u32,
        /// Octets requested.
        len: usize,
        /// Size of the memory in octets.
        size: usize,
    },
    /// The memory is read-only (the boot EEPROM).
    ReadOnly(MemoryId),
    /// The bank is the running one and the write was not explicitly allowed (armed).
    RunningBankProtected(Bank),
    /// The storage failed.
    Storage(StorageError),
}

impl fmt::Display for MemoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            MemoryError::UnknownMemoryId(id) => write!(f, "unknown memory ID {id}"),
            MemoryError::ZeroLength(m) => write!(f, "zero-length access to {m}"),
            MemoryError::OutOfRange { memory, address, len, size } => {
                write!(f, "{len} octets at address 0x{address:08X} exceed {memory} ({size} octets)")
            }
            MemoryError::ReadOnly(m) => write!(f, "{m} is read-only"),
            MemoryError::RunningBankProtected(b) => {
                write!(f, "{b} is running and write-protected (arm the write first)")
            }
            MemoryError::Storage(e) => write!(f, "memory storage: {e}"),
        }
    }
}

impl core::error::Error for MemoryError {}

impl From<StorageError> for MemoryError {
    fn from(e: StorageError) -> Self {
        MemoryError::Storage(e)
    }
}

/// What a write may touch, decided by the unit (running bank) and the services layer (arming).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteAccess {
    /// The bank the unit booted from, `None` in safe mode (no bank runs, both are writable).
    pub running_bank: Option<Bank>,
    /// Whether a write to the running bank was armed by a separate TC.
    pub allow_running_bank: bool,
}

/// Size of `memory` in this storage, in octets.
pub fn size<S: Storage + ?Sized>(storage: &S, memory: MemoryId) -> usize {
    storage.geometry().region_len(memory.region()).unwrap_or(0)
}

/// Checks a read of `len` octets at `address` and returns the octet range within the memory.
///
/// # Errors
/// [`MemoryError::ZeroLength`], [`MemoryError::OutOfRange`].
pub fn check_read<S: Storage + ?Sized>(
    storage: &S,
    memory: MemoryId,
    address: u32,
    len: usize,
) -> Result<Range<usize>, MemoryError> {
    if len == 0 {
        return Err(MemoryError::ZeroLength(memory));
    }
    let size = size(storage, memory);
    let out_of_range = MemoryError::OutOfRange { memory, address, len, size };
    let start = usize::try_from(address).map_err(|_| out_of_range)?;
    match start.checked_add(len) {
        Some(end) if end <= size => Ok(start..end),
        _ => Err(out_of_range),
    }
}

/// Checks a write of `len` octets at `address` under `access` and returns the octet range.
///
/// # Errors
/// [`MemoryError::ReadOnly`], [`MemoryError::RunningBankProtected`], then those of
/// [`check_read`].
pub fn check_write<S: Storage + ?Sized>(
    storage: &S,
    memory: MemoryId,
    address: u32,
    len: usize,
    access: WriteAccess,
) -> Result<Range<usize>, MemoryError> {
    if memory == MemoryId::BootEeprom {
        return Err(MemoryError::ReadOnly(memory));
    }
    if let Some(bank) = memory.bank()
        && access.running_bank == Some(bank)
        && !access.allow_running_bank
    {
        return Err(MemoryError::RunningBankProtected(bank));
    }
    check_read(storage, memory, address, len)
}

/// ST\[06,2\]: writes `data` at `address` of `memory`. Nothing is written if a check fails.
///
/// # Errors
/// Those of [`check_write`]; [`MemoryError::Storage`] if the storage fails mid-write (the
/// memory may then hold part of `data`: image CRCs catch that at boot).
pub fn load<S: Storage + ?Sized>(
    storage: &mut S,
    memory: MemoryId,
    address: u32,
    data: &[u8],
    access: WriteAccess,
) -> Result<(), MemoryError> {
    let range = check_write(storage, memory, address, data.len(), access)?;
    storage.write(memory.region(), range.start, data)?;
    Ok(())
}

/// ST\[06,5\]: copies `out.len()` octets from `address` of `memory` into `out`.
///
/// # Errors
/// Those of [`check_read`]; [`MemoryError::Storage`].
pub fn dump<S: Storage + ?Sized>(
    storage: &S,
    memory: MemoryId,
    address: u32,
    out: &mut [u8],
) -> Result<(), MemoryError> {
    let range = check_read(storage, memory, address, out.len())?;
    let src = read_range(storage, memory, range)?;
    out.copy_from_slice(src);
    Ok(())
}

/// ST\[06,9\]: CRC-32/ISO-HDLC of `len` octets from `address` of `memory`.
///
/// # Errors
/// Those of [`check_read`]; [`MemoryError::Storage`].
pub fn check<S: Storage + ?Sized>(
    storage: &S,
    memory: MemoryId,
    address: u32,
    len: u32,
) -> Result<u32, MemoryError> {
    let len = usize::try_from(len).map_err(|_| MemoryError::OutOfRange {
        memory,
        address,
        len: usize::MAX,
        size: size(storage, memory),
    })?;
    let range = check_read(storage, memory, address, len)?;
    let src = read_range(storage, memory, range)?;
    let mut digest = Crc32Digest::new();
    for chunk in src.chunks(CRC_CHUNK_LEN) {
        digest.update(chunk);
    }
    Ok(digest.finalize())
}

fn read_range<S: Storage + ?Sized>(
    storage: &S,
    memory: MemoryId,
    range: Range<usize>,
) -> Result<&[u8], MemoryError> {
    let (address, len) = (u32::try_from(range.start).unwrap_or(u32::MAX), range.len());
    let region = storage.region(memory.region())?;
    let size = region.len();
    region.get(range).ok_or(MemoryError::OutOfRange { memory, address, len, size })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::StaticStorage;
    use std::string::ToString;
    use tc_tm::crc::crc32;

    type Small = StaticStorage<64, 256, 32, 1, { 2 * 16 }>;

    const FREE: WriteAccess = WriteAccess { running_bank: None, allow_running_bank: false };
    const RUN_A: WriteAccess =
        WriteAccess { running_bank: Some(Bank::A), allow_running_bank: false };

    #[test]
    fn ids_round_trip() {
        for m in MemoryId::ALL {
            assert_eq!(MemoryId::from_u8(m.value()), Some(m));
            assert_eq!(MemoryId::try_from(m.value()), Ok(m));
        }
        assert_eq!(MemoryId::try_from(0), Err(MemoryError::UnknownMemoryId(0)));
        assert_eq!(MemoryId::try_from(5), Err(MemoryError::UnknownMemoryId(5)));
        let values = MemoryId::ALL.map(MemoryId::value);
        assert_eq!(values, [1, 2, 3, 4], "the link's numbering (services.md)");
        assert_eq!(MemoryId::from_u8(0xFF), None);
        assert_eq!(MemoryId::of_bank(Bank::B), MemoryId::BankB);
        assert_eq!(MemoryId::BankA.bank(), Some(Bank::A));
        assert_eq!(MemoryId::RamPatch.bank(), None);
    }

    #[test]
    fn sizes_come_from_geometry() {
        let s = Small::new();
        assert_eq!(size(&s, MemoryId::BootEeprom), 64);
        assert_eq!(size(&s, MemoryId::BankA), 256);
        assert_eq!(size(&s, MemoryId::RamPatch), 32);
    }

    #[test]
    fn load_dump_check() {
        let mut s = Small::new();
        load(&mut s, MemoryId::BankB, 10, b"hello", FREE).unwrap();
        let mut out = [0u8; 5];
        dump(&s, MemoryId::BankB, 10, &mut out).unwrap();
        assert_eq!(&out, b"hello");
        assert_eq!(check(&s, MemoryId::BankB, 10, 5).unwrap(), crc32(b"hello"));
        assert_eq!(
            check(&s, MemoryId::BankB, 0, 256).unwrap(),
            crc32(s.region(Region::Bank(Bank::B)).unwrap())
        );
    }

    #[test]
    fn boundaries() {
        let mut s = Small::new();
        // Last octet: fine. One past: refused.
        load(&mut s, MemoryId::RamPatch, 31, &[1], FREE).unwrap();
        assert_eq!(
            load(&mut s, MemoryId::RamPatch, 31, &[1, 2], FREE),
            Err(MemoryError::OutOfRange {
                memory: MemoryId::RamPatch,
                address: 31,
                len: 2,
                size: 32
            })
        );
        assert!(load(&mut s, MemoryId::RamPatch, 32, &[1], FREE).is_err());
        load(&mut s, MemoryId::RamPatch, 0, &[7; 32], FREE).unwrap();
        assert!(check(&s, MemoryId::BankA, 0, 257).is_err());
        assert!(check(&s, MemoryId::BankA, 0, 256).is_ok());
        assert!(check(&s, MemoryId::BankA, 255, 1).is_ok());
    }

    #[test]
    fn overflow_is_out_of_range_not_panic() {
        let mut s = Small::new();
        assert!(matches!(
            check(&s, MemoryId::BankA, u32::MAX, u32::MAX),
            Err(MemoryError::OutOfRange { .. })
        ));
        assert!(matches!(
            load(&mut s, MemoryId::BankA, u32::MAX, &[1], FREE),
            Err(MemoryError::OutOfRange { .. })
        ));
        let mut out = [0u8; 2];
        assert!(matches!(
            dump(&s, MemoryId::BankA, u32::MAX, &mut out),
            Err(MemoryError::OutOfRange { .. })
        ));
    }

    #[test]
    fn zero_length() {
        let mut s = Small::new();
        assert_eq!(
            load(&mut s, MemoryId::BankA, 0, &[], FREE),
            Err(MemoryError::ZeroLength(MemoryId::BankA))
        );
        assert_eq!(check(&s, MemoryId::BankA, 0, 0), Err(MemoryError::ZeroLength(MemoryId::BankA)));
        assert_eq!(
            dump(&s, MemoryId::BankA, 0, &mut []),
            Err(MemoryError::ZeroLength(MemoryId::BankA))
        );
    }

    #[test]
    fn eeprom_is_read_only_but_readable() {
        let mut s = Small::new();
        let access = WriteAccess { running_bank: None, allow_running_bank: true };
        assert_eq!(
            load(&mut s, MemoryId::BootEeprom, 0, &[0], access),
            Err(MemoryError::ReadOnly(MemoryId::BootEeprom))
        );
        assert!(s.region(Region::BootEeprom).unwrap().iter().all(|&b| b == 0xFF));
        let mut out = [0u8; 64];
        dump(&s, MemoryId::BootEeprom, 0, &mut out).unwrap();
    }

    #[test]
    fn running_bank_is_protected_unless_armed() {
        let mut s = Small::new();
        assert_eq!(
            load(&mut s, MemoryId::BankA, 0, &[0], RUN_A),
            Err(MemoryError::RunningBankProtected(Bank::A))
        );
        assert!(s.region(Region::Bank(Bank::A)).unwrap().iter().all(|&b| b == 0xFF));
        // The other bank is free; the armed write passes.
        load(&mut s, MemoryId::BankB, 0, &[0], RUN_A).unwrap();
        let armed = WriteAccess { allow_running_bank: true, ..RUN_A };
        load(&mut s, MemoryId::BankA, 0, &[0x42], armed).unwrap();
        assert_eq!(s.region(Region::Bank(Bank::A)).unwrap()[0], 0x42);
    }

    #[test]
    fn protection_is_checked_before_range() {
        let s = Small::new();
        assert_eq!(
            check_write(&s, MemoryId::BankA, u32::MAX, 0, RUN_A),
            Err(MemoryError::RunningBankProtected(Bank::A))
        );
    }

    #[test]
    fn display_texts() {
        assert_eq!(
            MemoryError::OutOfRange { memory: MemoryId::BankA, address: 0x10, len: 4, size: 8 }
                .to_string(),
            "4 octets at address 0x00000010 exceed memory 2 (bank A) (8 octets)"
        );
        assert_eq!(
            MemoryError::RunningBankProtected(Bank::B).to_string(),
            "bank B is running and write-protected (arm the write first)"
        );
    }

    proptest::proptest! {
        #[test]
        fn accesses_never_panic(id in 0u8..6, address: u32, len in 0u32..600, armed: bool) {
            let mut s = Small::new();
            let Ok(m) = MemoryId::try_from(id) else { return Ok(()) };
            let _ = check(&s, m, address, len);
            let mut out = std::vec![0u8; len as usize];
            let _ = dump(&s, m, address, &mut out);
            let access = WriteAccess { running_bank: Some(Bank::B), allow_running_bank: armed };
            let ok = load(&mut s, m, address, &out, access).is_ok();
            let end = u64::from(address) + u64::from(len);
            let expect = m != MemoryId::BootEeprom
                && (m != MemoryId::BankB || armed)
                && len > 0
                && end <= size(&s, m) as u64;
            proptest::prop_assert_eq!(ok, expect);
        }
    }
}
