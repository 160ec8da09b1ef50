//! ST\[06\] memory management (ECSS-E-ST-70-41C §6.6): raw load, dump, check.
//!
//! | subtype | dir | application data (big-endian) |
//! |---|---|---|
//! | 6,2 load raw memory | TC | memory ID u8, address u32, length u16 (1..=[`MAX_LOAD_LEN`]), data, CRC-32 u32 of the data |
//! | 6,5 dump raw memory | TC | memory ID u8, address u32, length u16 (≥ 1) |
//! | 6,6 dump report | TM | memory ID u8, address u32, length u16 (1..=[`MAX_DUMP_LEN`]), data |
//! | 6,9 check raw memory | TC | memory ID u8, address u32, length u32 (≥ 1) |
//! | 6,10 check report | TM | memory ID u8, address u32, length u32, CRC-32 u32 |
//!
//! The load CRC and the check CRC are both CRC-32/ISO-HDLC ([`crate::crc::crc32`]), the CRC of
//! software and table images, so a check report compares directly with the image on ground.
//! The load CRC is carried, not checked, by `parse`: the unit checks it at start of execution
//! ([`MemoryLoad::crc_matches`]) and reports `data_crc_mismatch`. Address ranges must not
//! wrap past 2³²; a dump longer than [`MAX_DUMP_LEN`] is answered by several 6,6 reports.

use core::fmt;

use super::wire::{Reader, emit_with, parse_all};
use super::{Error, MAX_TC_APP_DATA_LEN};

/// Service type number.
pub const SERVICE: u8 = 6;
/// Largest data field of a 6,2 load (one maximal TC less 11 octets of fields).
pub const MAX_LOAD_LEN: usize = MAX_TC_APP_DATA_LEN - 11;
/// Largest data field of a 6,6 dump report.
pub const MAX_DUMP_LEN: usize = 1024;

/// Memory identifiers (`ICD.md` §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MemoryId {
    /// Boot EEPROM (read-only): `0x01`.
    BootEeprom,
    /// Application image bank A: `0x02`.
    BankA,
    /// Application image bank B: `0x03`.
    BankB,
    /// RAM patch area: `0x04`.
    Patch,
    /// Any other value, passed through (the unit answers `memory_id_invalid`).
    Unknown(u8),
}

impl MemoryId {
    /// Every known memory.
    pub const ALL: &'static [MemoryId] =
        &[MemoryId::BootEeprom, MemoryId::BankA, MemoryId::BankB, MemoryId::Patch];

    /// Wire value.
    pub const fn value(self) -> u8 {
        match self {
            MemoryId::BootEeprom => 0x01,
            MemoryId::BankA => 0x02,
            MemoryId::BankB => 0x03,
            MemoryId::Patch => 0x04,
            MemoryId::Unknown(v) => v,
        }
    }

    /// From a wire value.
    pub const fn from_value(v: u8) -> Self {
        match v {
            0x01 => MemoryId::BootEeprom,
            0x02 => MemoryId::BankA,
            0x03 => MemoryId::BankB,
            0x04 => MemoryId::Patch,
            other => MemoryId::Unknown(other),
        }
    }

    /// Text name (`unknown` for unknown IDs).
    pub const fn name(self) -> &'static str {
        match self {
            MemoryId::BootEeprom => "eeprom",
            MemoryId::BankA => "bank-a",
            MemoryId::BankB => "bank-b",
            MemoryId::Patch => "patch",
            MemoryId::Unknown(_) => "unknown",
        }
    }

    /// From a text name (ASCII case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|m| m.name().eq_ignore_ascii_case(name))
    }

    /// Whether the memory can never be written (boot EEPROM).
    pub const fn is_read_only(self) -> bool {
        matches!(self, MemoryId::BootEeprom)
    }
}

impl fmt::Display for MemoryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemoryId::Unknown(v) => write!(f, "0x{v:02X}"),
            m => f.write_str(m.name()),
        }
    }
}

/// Rejects empty ranges and ranges that wrap past 2³².
fn check_range(address: u32, length: u64) -> Result<(), Error> {
    if length == 0 || u64::from(address) + length > 1 << 32 {
        return Err(Error::BadValue { field: "length", value: length as u32 });
    }
    Ok(())
}

/// A 6,2 raw memory load.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemoryLoad<'a> {
    /// Target memory.
    pub memory_id: MemoryId,
    /// Start address.
    pub address: u32,
    /// Data to write (1 ..= [`MAX_LOAD_LEN`] octets).
    pub data: &'a [u8],
    /// CRC-32/ISO-HDLC of `data`, as sent.
    pub crc: u32,
}

impl<'a> MemoryLoad<'a> {
    /// A load with its CRC computed.
    pub fn new(memory_id: MemoryId, address: u32, data: &'a [u8]) -> Self {
        MemoryLoad { memory_id, address, data, crc: crate::crc::crc32(data) }
    }

    /// Whether the carried CRC is the CRC of the data.
    pub fn crc_matches(&self) -> bool {
        crate::crc::crc32(self.data) == self.crc
    }

    fn check(&self) -> Result<(), Error> {
        super::wire::check_count("load_length", self.data.len(), 1, MAX_LOAD_LEN)?;
        check_range(self.address, self.data.len() as u64)
    }
}

/// A 6,5 dump request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemoryDump {
    /// Memory to read.
    pub memory_id: MemoryId,
    /// Start address.
    pub address: u32,
    /// Octets to dump (≥ 1).
    pub length: u16,
}

/// A 6,9 check request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemoryCheck {
    /// Memory to read.
    pub memory_id: MemoryId,
    /// Start address.
    pub address: u32,
    /// Octets to check (≥ 1).
    pub length: u32,
}

/// ST\[06\] requests.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Request<'a> {
    /// 6,2: load raw memory.
    Load(MemoryLoad<'a>),
    /// 6,5: dump raw memory.
    Dump(MemoryDump),
    /// 6,9: check raw memory.
    Check(MemoryCheck),
}

fn read_head(r: &mut Reader<'_>) -> Result<(MemoryId, u32), Error> {
    Ok((MemoryId::from_value(r.u8()?), r.u32()?))
}

impl<'a> Request<'a> {
    /// Parses the application data of subtype `subtype`.
    ///
    /// # Errors
    /// [`Error::UnknownSubtype`], [`Error::Truncated`], [`Error::TrailingData`];
    /// [`Error::BadCount`] for a load of 0 or more than [`MAX_LOAD_LEN`] octets;
    /// [`Error::BadValue`] (field `length`) for an empty range or one that wraps past 2³².
    pub fn parse(subtype: u8, data: &'a [u8]) -> Result<Self, Error> {
        parse_all(data, |r| {
            Ok(match subtype {
                2 => {
                    let (memory_id, address) = read_head(r)?;
                    let len = usize::from(r.u16()?);
                    super::wire::check_count("load_length", len, 1, MAX_LOAD_LEN)?;
                    let load = MemoryLoad { memory_id, address, data: r.take(len)?, crc: r.u32()? };
                    load.check()?;
                    Request::Load(load)
                }
                5 => {
                    let (memory_id, address) = read_head(r)?;
                    let length = r.u16()?;
                    check_range(address, u64::from(length))?;
                    Request::Dump(MemoryDump { memory_id, address, length })
                }
                9 => {
                    let (memory_id, address) = read_head(r)?;
                    let length = r.u32()?;
                    check_range(address, u64::from(length))?;
                    Request::Check(MemoryCheck { memory_id, address, length })
                }
                _ => return Err(Error::UnknownSubtype { service: SERVICE, subtype }),
            })
        })
    }

    /// Subtype number.
    pub fn subtype(&self) -> u8 {
        match self {
            Request::Load(_) => 2,
            Request::Dump(_) => 5,
            Request::Check(_) => 9,
        }
    }

    /// Octets of application data.
    pub fn buffer_len(&self) -> usize {
        match self {
            Request::Load(l) => 11 + l.data.len(),
            Request::Dump(_) => 7,
            Request::Check(_) => 9,
        }
    }

    /// Writes the application data into `out`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`]; the length and range errors of [`Request::parse`].
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        match self {
            Request::Load(l) => l.check()?,
            Request::Dump(d) => check_range(d.address, u64::from(d.length))?,
            Request::Check(c) => check_range(c.address, u64::from(c.length))?,
        }
        emit_with(out, self.buffer_len(), |w| match self {
            Request::Load(l) => {
                w.u8(l.memory_id.value())?;
                w.u32(l.address)?;
                w.u16(l.data.len() as u16)?;
                w.bytes(l.data)?;
                w.u32(l.crc)
            }
            Request::Dump(d) => {
                w.u8(d.memory_id.value())?;
                w.u32(d.address)?;
                w.u16(d.length)
            }
            Request::Check(c) => {
                w.u8(c.memory_id.value())?;
                w.u32(c.address)?;
                w.u32(c.length)
            }
        })
    }
}

/// A 6,6 dump report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DumpReport<'a> {
    /// Memory read.
    pub memory_id: MemoryId,
    /// Address of the first octet.
    pub address: u32,
    /// The octets (1 ..= [`MAX_DUMP_LEN`]).
    pub data: &'a [u8],
}

impl DumpReport<'_> {
    fn check(&self) -> Result<(), Error> {
        super::wire::check_count("dump_length", self.data.len(), 1, MAX_DUMP_LEN)?;
        check_range(self.address, self.data.len() as u64)
    }
}

/// A 6,10 check report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CheckReport {
    /// Memory read.
    pub memory_id: MemoryId,
    /// Start address.
    pub address: u32,
    /// Octets checked.
    pub length: u32,
    /// CRC-32/ISO-HDLC of the range.
    pub crc: u32,
}

/// ST\[06\] reports.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Report<'a> {
    /// 6,6: dumped memory.
    Dump(DumpReport<'a>),
    /// 6,10: CRC of a memory range.
    Check(CheckReport),
}

impl<'a> Report<'a> {
    /// Parses the source data of subtype `subtype`.
    ///
    /// # Errors
    /// As [`Request::parse`]; [`Error::BadCount`] for dump data of 0 or more than
    /// [`MAX_DUMP_LEN`] octets.
    pub fn parse(subtype: u8, data: &'a [u8]) -> Result<Self, Error> {
        parse_all(data, |r| {
            Ok(match subtype {
                6 => {
                    let (memory_id, address) = read_head(r)?;
                    let len = usize::from(r.u16()?);
                    super::wire::check_count("dump_length", len, 1, MAX_DUMP_LEN)?;
                    let d = DumpReport { memory_id, address, data: r.take(len)? };
                    d.check()?;
                    Report::Dump(d)
                }
                10 => {
                    let (memory_id, address) = read_head(r)?;
                    let length = r.u32()?;
                    check_range(address, u64::from(length))?;
                    Report::Check(CheckReport { memory_id, address, length, crc: r.u32()? })
                }
                _ => return Err(Error::UnknownSubtype { service: SERVICE, subtype }),
            })
        })
    }

    /// Subtype number.
    pub fn subtype(&self) -> u8 {
        match self {
            Report::Dump(_) => 6,
            Report::Check(_) => 10,
        }
    }

    /// Octets of source data.
    pub fn buffer_len(&self) -> usize {
        match self {
            Report::Dump(d) => 7 + d.data.len(),
            Report::Check(_) => 13,
        }
    }

    /// Writes the source data into `out`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`]; the length and range errors of [`Report::parse`].
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        match self {
            Report::Dump(d) => d.check()?,
            Report::Check(c) => check_range(c.address, u64::from(c.length))?,
        }
        emit_with(out, self.buffer_len(), |w| match self {
            Report::Dump(d) => {
                w.u8(d.memory_id.value())?;
                w.u32(d.address)?;
                w.u16(d.data.len() as u16)?;
                w.bytes(d.data)
            }
            Report::Check(c) => {
                w.u8(c.memory_id.value())?;
                w.u32(c.address)?;
                w.u32(c.length)?;
                w.u32(c.crc)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Load DE AD BE EF at 0x0000_0010 of the patch area; CRC-32 of DEADBEEF is 0x7C9CA35A.
    static LOAD: [u8; 15] =
        [0x04, 0x00, 0x00, 0x00, 0x10, 0x00, 0x04, 0xDE, 0xAD, 0xBE, 0xEF, 0x7C, 0x9C, 0xA3, 0x5A];

    #[test]
    fn parse_load_vector() {
        let r = Request::parse(2, &LOAD).unwrap();
        let Request::Load(l) = r else { panic!() };
        assert_eq!(l.memory_id, MemoryId::Patch);
        assert_eq!(l.address, 0x10);
        assert_eq!(l.data, &[0xDE, 0xAD, 0xBE, 0xEF]);
        assert!(l.crc_matches());
        assert_eq!(l, MemoryLoad::new(MemoryId::Patch, 0x10, &[0xDE, 0xAD, 0xBE, 0xEF]));
        let mut out = [0u8; 15];
        assert_eq!(r.emit(&mut out).unwrap(), 15);
        assert_eq!(out, LOAD);
    }

    #[test]
    fn bad_crc_is_carried_not_rejected() {
        let mut b = LOAD;
        b[14] ^= 1;
        let Request::Load(l) = Request::parse(2, &b).unwrap() else { panic!() };
        assert!(!l.crc_matches());
    }

    #[test]
    fn malformed_loads() {
        assert_eq!(
            Request::parse(2, &LOAD[..14]).unwrap_err(),
            Error::Truncated { found: 14, expected: 15 }
        );
        let mut b = [0u8; 16];
        b[..15].copy_from_slice(&LOAD);
        assert!(matches!(Request::parse(2, &b), Err(Error::TrailingData { .. })));
        let zero = [0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert!(matches!(Request::parse(2, &zero), Err(Error::BadCount { count: 0, .. })));
        let wrap = [0x04, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x02, 1, 2, 0, 0, 0, 0];
        assert_eq!(
            Request::parse(2, &wrap).unwrap_err(),
            Error::BadValue { field: "length", value: 2 }
        );
    }

    #[test]
    fn dump_and_check() {
        let d = Request::parse(5, &[0x02, 0, 0, 1, 0, 0, 0x40]).unwrap();
        assert_eq!(
            d,
            Request::Dump(MemoryDump { memory_id: MemoryId::BankA, address: 0x100, length: 64 })
        );
        assert!(matches!(
            Request::parse(5, &[0x02, 0, 0, 1, 0, 0, 0]),
            Err(Error::BadValue { .. })
        ));
        let c = Request::parse(9, &[0x09, 0, 0, 0, 0, 0, 1, 0, 0]).unwrap();
        assert_eq!(
            c,
            Request::Check(MemoryCheck {
                memory_id: MemoryId::Unknown(9),
                address: 0,
                length: 0x10000
            })
        );
        // The largest range ending exactly at 2^32 is fine.
        assert!(Request::parse(9, &[0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 1]).is_ok());
        assert!(Request::parse(9, &[0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 2]).is_err());
    }

    #[test]
    fn reports() {
        let rep = Report::Check(CheckReport {
            memory_id: MemoryId::BankB,
            address: 4,
            length: 8,
            crc: 0xCBF4_3926,
        });
        let mut out = [0u8; 13];
        rep.emit(&mut out).unwrap();
        assert_eq!(out, [0x03, 0, 0, 0, 4, 0, 0, 0, 8, 0xCB, 0xF4, 0x39, 0x26]);
        assert_eq!(Report::parse(10, &out).unwrap(), rep);
        let d = Report::parse(6, &[0x01, 0, 0, 0, 0, 0, 2, 0xAA, 0xBB]).unwrap();
        assert_eq!(
            d,
            Report::Dump(DumpReport {
                memory_id: MemoryId::BootEeprom,
                address: 0,
                data: &[0xAA, 0xBB]
            })
        );
        assert!(matches!(
            Report::parse(6, &[0x01, 0, 0, 0, 0, 0x04, 0x01]),
            Err(Error::BadCount { .. })
        ));
    }

    #[test]
    fn memory_names() {
        for m in MemoryId::ALL {
            assert_eq!(MemoryId::from_name(m.name()), Some(*m));
            assert_eq!(MemoryId::from_value(m.value()), *m);
        }
        assert!(MemoryId::BootEeprom.is_read_only());
    }
}
