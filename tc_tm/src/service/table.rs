//! ST\[200\] table management (mission-specific service, `ICD.md` §3).
//!
//! Tables are double-buffered: segments are loaded into the inactive buffer, which is then
//! validated against an expected CRC-32 (and by the table's own validator) and activated
//! atomically. Table IDs are raw octets here: the `tables` crate owns the registry.
//!
//! | subtype | dir | application data (big-endian) |
//! |---|---|---|
//! | 200,1 load segment | TC | table ID u8, version u16, total length u32, offset u32, segment length u16, data |
//! | 200,2 validate | TC | table ID u8, expected CRC-32 u32 |
//! | 200,3 activate | TC | table ID u8 |
//! | 200,4 abort load | TC | table ID u8 |
//! | 200,5 dump | TC | table ID u8, buffer u8 ([`BufferSel`]) |
//! | 200,9 dump ranges | TC | table ID u8, buffer u8, N u8 (1..=[`MAX_DUMP_RANGES`]), N × ([`DumpRange`]: offset u32, length u32 ≥ 1) |
//! | 200,6 dump segment | TM | table ID u8, buffer u8, version u16, total length u32, offset u32, segment length u16, data |
//! | 200,7 report directory | TC | none |
//! | 200,8 directory | TM | N u8 (0..=[`MAX_DIRECTORY_ENTRIES`]), N × [`DirectoryEntry`] (26 octets) |
//!
//! A segment must hold 1 octet at least and lie inside the image: `offset + length <=
//! total length`. A dump of ranges (200,9) re-requests parts of an image, e.g. the segments a
//! lossy downlink lost: the unit refuses a range outside the buffer (`segment_out_of_range`),
//! and dumps the ranges in the order given, each from its offset. A dump
//! is split into as many 200,6 reports as needed, each at most
//! [`MAX_DUMP_SEGMENT_LEN`] octets of data.

use super::wire::{Item, List, Reader, Writer, emit_with, parse_all};
use super::{Error, MAX_TC_APP_DATA_LEN};

/// Service type number.
pub const SERVICE: u8 = 200;
/// Octets of a load segment's header fields before the data.
pub const LOAD_HEADER_LEN: usize = 1 + 2 + 4 + 4 + 2;
/// Largest data field of a 200,1 load segment (one maximal TC).
pub const MAX_LOAD_SEGMENT_LEN: usize = MAX_TC_APP_DATA_LEN - LOAD_HEADER_LEN;
/// Largest data field of a 200,6 dump segment.
pub const MAX_DUMP_SEGMENT_LEN: usize = 1024;
/// Most ranges in one 200,9 request.
pub const MAX_DUMP_RANGES: usize = 64;
/// Largest number of entries in a directory report.
pub const MAX_DIRECTORY_ENTRIES: usize = 32;

wire_enum! {
    /// Which buffer of a double-buffered table.
    pub enum BufferSel: "buffer" {
        /// The table in use.
        Active = 0x01, "active";
        /// The load buffer.
        Inactive = 0x02, "inactive";
    }
}

wire_enum! {
    /// State of a table's inactive (load) buffer.
    #[derive(Default)]
    pub enum InactiveState: "inactive_state" {
        /// Nothing loaded.
        #[default]
        Empty = 0x00, "empty";
        /// Segments arriving, image incomplete.
        Loading = 0x01, "loading";
        /// Every octet of the image received, not validated yet.
        Loaded = 0x02, "loaded";
        /// Validated: CRC and content checked, ready to activate.
        Validated = 0x03, "validated";
        /// Validation failed; the buffer must be reloaded.
        Invalid = 0x04, "invalid";
    }
}

/// A 200,1 load segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LoadSegment<'a> {
    /// Table ID.
    pub table_id: u8,
    /// Version of the image being loaded.
    pub version: u16,
    /// Length of the whole image in octets.
    pub total_len: u32,
    /// Offset of this segment in the image.
    pub offset: u32,
    /// Segment data (1 ..= [`MAX_LOAD_SEGMENT_LEN`] octets).
    pub data: &'a [u8],
}

/// A 200,6 dump segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DumpSegment<'a> {
    /// Table ID.
    pub table_id: u8,
    /// Which buffer was dumped.
    pub buffer: BufferSel,
    /// Version of the dumped image.
    pub version: u16,
    /// Length of the whole image in octets.
    pub total_len: u32,
    /// Offset of this segment in the image.
    pub offset: u32,
    /// Segment data (1 ..= [`MAX_DUMP_SEGMENT_LEN`] octets).
    pub data: &'a [u8],
}

/// Checks that a segment is non-empty, not too long and inside its image.
fn check_segment(total_len: u32, offset: u32, len: usize, max: usize) -> Result<(), Error> {
    super::wire::check_count("segment_length", len, 1, max)?;
    let end = u32::try_from(len).ok().and_then(|l| offset.checked_add(l));
    match end {
        Some(end) if end <= total_len => Ok(()),
        _ => Err(Error::BadValue { field: "segment_offset", value: offset }),
    }
}

/// One range of a 200,9 dump (8 octets): at least one octet, its end representable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct DumpRange {
    /// First octet.
    pub offset: u32,
    /// Octets (at least 1).
    pub length: u32,
}

impl DumpRange {
    /// The end of the range (exclusive).
    pub fn end(&self) -> u64 {
        u64::from(self.offset) + u64::from(self.length)
    }
}

impl Item for DumpRange {
    const LEN: usize = 8;
    const FIELD: &'static str = "dump_ranges";

    fn decode(data: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(data);
        let d = DumpRange { offset: r.u32()?, length: r.u32()? };
        r.finish()?;
        if d.length == 0 {
            return Err(Error::BadCount { field: "dump_length", count: 0, max: u32::MAX as usize });
        }
        if d.offset.checked_add(d.length).is_none() {
            return Err(Error::BadValue { field: "segment_offset", value: d.offset });
        }
        Ok(d)
    }

    fn encode(&self, out: &mut [u8]) -> Result<(), Error> {
        let mut w = Writer::new(out);
        w.u32(self.offset)?;
        w.u32(self.length)
    }
}

/// One table in a directory report (26 octets).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct DirectoryEntry {
    /// Table ID.
    pub table_id: u8,
    /// Version of the active table.
    pub active_version: u16,
    /// CRC-32 of the active image.
    pub active_crc: u32,
    /// Length of the active image in octets.
    pub active_len: u32,
    /// State of the inactive buffer.
    pub inactive_state: InactiveState,
    /// Version being loaded or loaded (0 if empty).
    pub inactive_version: u16,
    /// CRC-32 of the inactive image (computed when loaded, 0 before).
    pub inactive_crc: u32,
    /// Declared length of the inactive image (0 if empty).
    pub inactive_len: u32,
    /// Octets received so far.
    pub inactive_received: u32,
}

impl Item for DirectoryEntry {
    const LEN: usize = 26;
    const FIELD: &'static str = "directory_entries";

    fn decode(data: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(data);
        let e = DirectoryEntry {
            table_id: r.u8()?,
            active_version: r.u16()?,
            active_crc: r.u32()?,
            active_len: r.u32()?,
            inactive_state: InactiveState::read(&mut r)?,
            inactive_version: r.u16()?,
            inactive_crc: r.u32()?,
            inactive_len: r.u32()?,
            inactive_received: r.u32()?,
        };
        r.finish()?;
        Ok(e)
    }

    fn encode(&self, out: &mut [u8]) -> Result<(), Error> {
        let mut w = Writer::new(out);
        w.u8(self.table_id)?;
        w.u16(self.active_version)?;
        w.u32(self.active_crc)?;
        w.u32(self.active_len)?;
        w.u8(self.inactive_state.value())?;
        w.u16(self.inactive_version)?;
        w.u32(self.inactive_crc)?;
        w.u32(self.inactive_len)?;
        w.u32(self.inactive_received)
    }
}

/// ST\[200\] requests.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request<'a> {
    /// 200,1: load a segment into the inactive buffer.
    LoadSegment(LoadSegment<'a>),
    /// 200,2: validate the inactive buffer against an expected CRC-32.
    Validate {
        /// Table ID.
        table_id: u8,
        /// CRC-32/ISO-HDLC the whole image must have.
        expected_crc: u32,
    },
    /// 200,3: activate the validated inactive buffer.
    Activate {
        /// Table ID.
        table_id: u8,
    },
    /// 200,4: abort a load, emptying the inactive buffer.
    Abort {
        /// Table ID.
        table_id: u8,
    },
    /// 200,5: dump a buffer as 200,6 reports.
    Dump {
        /// Table ID.
        table_id: u8,
        /// Which buffer.
        buffer: BufferSel,
    },
    /// 200,7: report the directory as a 200,8 report.
    ReportDirectory,
    /// 200,9: dump ranges of a buffer as 200,6 reports, in the order given.
    DumpRanges {
        /// Table ID.
        table_id: u8,
        /// Which buffer.
        buffer: BufferSel,
        /// The ranges (1 ..= [`MAX_DUMP_RANGES`]).
        ranges: List<'a, DumpRange>,
    },
}

impl<'a> Request<'a> {
    /// Parses the application data of subtype `subtype`.
    ///
    /// # Errors
    /// [`Error::UnknownSubtype`], [`Error::Truncated`], [`Error::TrailingData`];
    /// [`Error::BadCount`] for an empty or too long segment, [`Error::BadValue`] for a segment
    /// outside its image or an undefined buffer.
    pub fn parse(subtype: u8, data: &'a [u8]) -> Result<Self, Error> {
        parse_all(data, |r| {
            Ok(match subtype {
                1 => {
                    let table_id = r.u8()?;
                    let version = r.u16()?;
                    let total_len = r.u32()?;
                    let offset = r.u32()?;
                    let len = usize::from(r.u16()?);
                    check_segment(total_len, offset, len, MAX_LOAD_SEGMENT_LEN)?;
                    let data = r.take(len)?;
                    Request::LoadSegment(LoadSegment { table_id, version, total_len, offset, data })
                }
                2 => Request::Validate { table_id: r.u8()?, expected_crc: r.u32()? },
                3 => Request::Activate { table_id: r.u8()? },
                4 => Request::Abort { table_id: r.u8()? },
                5 => Request::Dump { table_id: r.u8()?, buffer: BufferSel::read(r)? },
                7 => Request::ReportDirectory,
                9 => Request::DumpRanges {
                    table_id: r.u8()?,
                    buffer: BufferSel::read(r)?,
                    ranges: List::read(r, 1, MAX_DUMP_RANGES)?,
                },
                _ => return Err(Error::UnknownSubtype { service: SERVICE, subtype }),
            })
        })
    }

    /// Subtype number.
    pub fn subtype(&self) -> u8 {
        match self {
            Request::LoadSegment(_) => 1,
            Request::Validate { .. } => 2,
            Request::Activate { .. } => 3,
            Request::Abort { .. } => 4,
            Request::Dump { .. } => 5,
            Request::ReportDirectory => 7,
            Request::DumpRanges { .. } => 9,
        }
    }

    /// Octets of application data.
    pub fn buffer_len(&self) -> usize {
        match self {
            Request::LoadSegment(s) => LOAD_HEADER_LEN + s.data.len(),
            Request::Validate { .. } => 5,
            Request::Activate { .. } | Request::Abort { .. } => 1,
            Request::Dump { .. } => 2,
            Request::ReportDirectory => 0,
            Request::DumpRanges { ranges, .. } => 2 + ranges.wire_len(),
        }
    }

    /// Writes the application data into `out`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`]; the segment errors of [`Request::parse`].
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        if let Request::LoadSegment(s) = self {
            check_segment(s.total_len, s.offset, s.data.len(), MAX_LOAD_SEGMENT_LEN)?;
        }
        emit_with(out, self.buffer_len(), |w| match *self {
            Request::LoadSegment(s) => {
                w.u8(s.table_id)?;
                w.u16(s.version)?;
                w.u32(s.total_len)?;
                w.u32(s.offset)?;
                w.u16(s.data.len() as u16)?;
                w.bytes(s.data)
            }
            Request::Validate { table_id, expected_crc } => {
                w.u8(table_id)?;
                w.u32(expected_crc)
            }
            Request::Activate { table_id } | Request::Abort { table_id } => w.u8(table_id),
            Request::Dump { table_id, buffer } => {
                w.u8(table_id)?;
                w.u8(buffer.value())
            }
            Request::ReportDirectory => Ok(()),
            Request::DumpRanges { table_id, buffer, ranges } => {
                w.u8(table_id)?;
                w.u8(buffer.value())?;
                ranges.write(w, 1, MAX_DUMP_RANGES)
            }
        })
    }
}

/// ST\[200\] reports.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Report<'a> {
    /// 200,6: one segment of a table dump.
    DumpSegment(DumpSegment<'a>),
    /// 200,8: the table directory.
    Directory(List<'a, DirectoryEntry>),
}

impl<'a> Report<'a> {
    /// Parses the source data of subtype `subtype`.
    ///
    /// # Errors
    /// As [`Request::parse`]; [`Error::BadCount`] above [`MAX_DIRECTORY_ENTRIES`].
    pub fn parse(subtype: u8, data: &'a [u8]) -> Result<Self, Error> {
        parse_all(data, |r| {
            Ok(match subtype {
                6 => {
                    let table_id = r.u8()?;
                    let buffer = BufferSel::read(r)?;
                    let version = r.u16()?;
                    let total_len = r.u32()?;
                    let offset = r.u32()?;
                    let len = usize::from(r.u16()?);
                    check_segment(total_len, offset, len, MAX_DUMP_SEGMENT_LEN)?;
                    let data = r.take(len)?;
                    Report::DumpSegment(DumpSegment {
                        table_id,
                        buffer,
                        version,
                        total_len,
                        offset,
                        data,
                    })
                }
                8 => Report::Directory(List::read(r, 0, MAX_DIRECTORY_ENTRIES)?),
                _ => return Err(Error::UnknownSubtype { service: SERVICE, subtype }),
            })
        })
    }

    /// Subtype number.
    pub fn subtype(&self) -> u8 {
        match self {
            Report::DumpSegment(_) => 6,
            Report::Directory(_) => 8,
        }
    }

    /// Octets of source data.
    pub fn buffer_len(&self) -> usize {
        match self {
            Report::DumpSegment(s) => LOAD_HEADER_LEN + 1 + s.data.len(),
            Report::Directory(l) => l.wire_len(),
        }
    }

    /// Writes the source data into `out`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`]; the count and segment errors of [`Report::parse`].
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        if let Report::DumpSegment(s) = self {
            check_segment(s.total_len, s.offset, s.data.len(), MAX_DUMP_SEGMENT_LEN)?;
        }
        emit_with(out, self.buffer_len(), |w| match self {
            Report::DumpSegment(s) => {
                w.u8(s.table_id)?;
                w.u8(s.buffer.value())?;
                w.u16(s.version)?;
                w.u32(s.total_len)?;
                w.u32(s.offset)?;
                w.u16(s.data.len() as u16)?;
                w.bytes(s.data)
            }
            Report::Directory(l) => l.write(w, 0, MAX_DIRECTORY_ENTRIES),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static LOAD: [u8; 16] = [
        0x03, // table 3
        0x00, 0x02, // version 2
        0x00, 0x00, 0x01, 0x00, // total 256
        0x00, 0x00, 0x00, 0xFD, // offset 253
        0x00, 0x03, // 3 octets
        0xAA, 0xBB, 0xCC,
    ];

    #[test]
    fn parse_load_segment() {
        let r = Request::parse(1, &LOAD).unwrap();
        assert_eq!(
            r,
            Request::LoadSegment(LoadSegment {
                table_id: 3,
                version: 2,
                total_len: 256,
                offset: 253,
                data: &[0xAA, 0xBB, 0xCC]
            })
        );
        let mut out = [0u8; 16];
        assert_eq!(r.emit(&mut out).unwrap(), 16);
        assert_eq!(out, LOAD);
    }

    #[test]
    fn segment_outside_image_rejected() {
        let mut b = LOAD;
        b[10] = 0xFE; // 254 + 3 > 256
        assert_eq!(
            Request::parse(1, &b).unwrap_err(),
            Error::BadValue { field: "segment_offset", value: 254 }
        );
        let mut b = LOAD;
        b[12] = 0; // zero-length segment
        assert!(matches!(Request::parse(1, &b[..13]), Err(Error::BadCount { count: 0, .. })));
        assert_eq!(
            Request::parse(1, &LOAD[..15]).unwrap_err(),
            Error::Truncated { found: 15, expected: 16 }
        );
    }

    #[test]
    fn parse_small_requests() {
        assert_eq!(
            Request::parse(2, &[3, 0xDE, 0xAD, 0xBE, 0xEF]).unwrap(),
            Request::Validate { table_id: 3, expected_crc: 0xDEAD_BEEF }
        );
        assert_eq!(Request::parse(3, &[3]).unwrap(), Request::Activate { table_id: 3 });
        assert_eq!(Request::parse(4, &[3]).unwrap(), Request::Abort { table_id: 3 });
        assert_eq!(
            Request::parse(5, &[3, 2]).unwrap(),
            Request::Dump { table_id: 3, buffer: BufferSel::Inactive }
        );
        assert_eq!(
            Request::parse(5, &[3, 0]).unwrap_err(),
            Error::BadValue { field: "buffer", value: 0 }
        );
        assert_eq!(Request::parse(7, &[]).unwrap(), Request::ReportDirectory);
        let range = [3, 1, 1, 0, 0, 0x03, 0xDE, 0, 0, 0x07, 0xC6];
        let r = Request::parse(9, &range).unwrap();
        let Request::DumpRanges { table_id: 3, buffer: BufferSel::Active, ranges } = r else {
            panic!("{r:?}")
        };
        assert_eq!(
            ranges.iter().collect::<std::vec::Vec<_>>(),
            [DumpRange { offset: 990, length: 1990 }]
        );
        let mut out = [0u8; 11];
        assert_eq!(r.emit(&mut out).unwrap(), 11);
        assert_eq!(out, range);
        assert!(matches!(Request::parse(9, &[3, 1, 0]), Err(Error::BadCount { .. })));
        assert!(matches!(
            Request::parse(9, &[3, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(Error::BadCount { .. })
        ));
        assert!(matches!(
            Request::parse(9, &[3, 1, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 2]),
            Err(Error::BadValue { .. })
        ));
        assert!(matches!(Request::parse(6, &[]), Err(Error::UnknownSubtype { .. })));
        assert!(matches!(Request::parse(3, &[3, 0]), Err(Error::TrailingData { .. })));
    }

    #[test]
    fn directory_round_trip() {
        let e = DirectoryEntry {
            table_id: 1,
            active_version: 7,
            active_crc: 0x1122_3344,
            active_len: 512,
            inactive_state: InactiveState::Loading,
            inactive_version: 8,
            inactive_crc: 0,
            inactive_len: 512,
            inactive_received: 256,
        };
        let mut items = [0u8; 26];
        let list = List::encode_into(&[e], &mut items).unwrap();
        let rep = Report::Directory(list);
        let mut out = [0u8; 27];
        assert_eq!(rep.emit(&mut out).unwrap(), 27);
        assert_eq!(out[0], 1);
        assert_eq!(&out[1..4], &[0x01, 0x00, 0x07]);
        assert_eq!(out[12], 0x01);
        let back = Report::parse(8, &out).unwrap();
        assert_eq!(back, rep);
        let Report::Directory(l) = back else { panic!() };
        assert_eq!(l.iter().next().unwrap().inactive_state, InactiveState::Loading);
        let mut bad = out;
        bad[12] = 9;
        assert_eq!(
            Report::parse(8, &bad).unwrap_err(),
            Error::BadValue { field: "inactive_state", value: 9 }
        );
        assert_eq!(
            Report::parse(8, &[0]).unwrap(),
            Report::Directory(List::from_bytes(&[]).unwrap())
        );
        assert!(matches!(Report::parse(8, &[33]), Err(Error::BadCount { count: 33, .. })));
    }

    #[test]
    fn dump_segment_round_trip() {
        let s = DumpSegment {
            table_id: 2,
            buffer: BufferSel::Active,
            version: 1,
            total_len: 4,
            offset: 0,
            data: &[1, 2, 3, 4],
        };
        let mut out = [0u8; 18];
        assert_eq!(Report::DumpSegment(s).emit(&mut out).unwrap(), 18);
        assert_eq!(&out[..4], &[2, 1, 0, 1]);
        assert_eq!(Report::parse(6, &out).unwrap(), Report::DumpSegment(s));
    }
}
