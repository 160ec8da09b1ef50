//! ST\[11\] time-based scheduling (ECSS-E-ST-70-41C §6.11).
//!
//! | subtype | dir | application data (big-endian) |
//! |---|---|---|
//! | 11,1 enable release | TC | none |
//! | 11,2 disable release | TC | none |
//! | 11,3 reset (delete all) | TC | none |
//! | 11,4 insert | TC | N u8 (1..=[`MAX_INSERT`]), N × (release time: coarse u32 + fine u16, TC packet) |
//! | 11,17 summary-report all | TC | none |
//! | 11,13 summary report | TM | N u8 (0..=[`MAX_SUMMARY_ENTRIES`]), N × (release time: coarse u32 + fine u16, request ID: packet ID u16 + sequence control u16), in release order |
//!
//! Release times are on-board CUC time (4 + 2 octets, `ICD.md` §2, P-field implicit). Each
//! embedded TC is a whole space packet, PEC included; its length comes from its own primary
//! header ([`crate::spp::packet_len`]). At parse an embedded packet must be version 0, a TC
//! with a secondary header, and between [`MIN_TC_LEN`] and
//! [`crate::mission::MAX_TC_PACKET_LEN`] octets; its PUS content is checked by the unit when it
//! is inserted (failure `scheduled_tc_invalid` with the item index).

use core::fmt;

use super::Error;
use super::verification::RequestId;
use super::wire::{Item, List, Reader, Writer, check_count, emit_with, parse_all};
use crate::mission::MAX_TC_PACKET_LEN;
use crate::spp;

/// Service type number.
pub const SERVICE: u8 = 11;
/// Largest number of time-tagged TCs in one 11,4 request.
pub const MAX_INSERT: usize = 16;
/// Smallest PUS-C TC packet: primary header 6, secondary header 5, PEC 2.
pub const MIN_TC_LEN: usize = 13;
/// Octets of a release time.
pub const RELEASE_TIME_LEN: usize = 6;
/// Most entries in an 11,13 summary report (the unit's schedule capacity).
pub const MAX_SUMMARY_ENTRIES: usize = 64;

/// One entry of an 11,13 summary report: when a time-tagged TC goes and which one it is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ScheduledEntry {
    /// Release time.
    pub release: ReleaseTime,
    /// The request ID of the time-tagged TC (its first four octets).
    pub request_id: RequestId,
}

impl Item for ScheduledEntry {
    const LEN: usize = 10;
    const FIELD: &'static str = "scheduled_entries";

    fn decode(data: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(data);
        let e = ScheduledEntry {
            release: ReleaseTime { coarse: r.u32()?, fine: r.u16()? },
            request_id: RequestId { packet_id: r.u16()?, seq_ctrl: r.u16()? },
        };
        r.finish()?;
        Ok(e)
    }

    fn encode(&self, out: &mut [u8]) -> Result<(), Error> {
        let mut w = Writer::new(out);
        w.u32(self.release.coarse)?;
        w.u16(self.release.fine)?;
        w.u16(self.request_id.packet_id)?;
        w.u16(self.request_id.seq_ctrl)
    }
}

/// ST\[11\] reports.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Report<'a> {
    /// 11,13: the time-tagged TCs waiting, in release order.
    Summary(List<'a, ScheduledEntry>),
}

impl<'a> Report<'a> {
    /// Parses the source data of subtype `subtype`.
    ///
    /// # Errors
    /// [`Error::UnknownSubtype`], [`Error::Truncated`], [`Error::TrailingData`];
    /// [`Error::BadCount`] above [`MAX_SUMMARY_ENTRIES`].
    pub fn parse(subtype: u8, data: &'a [u8]) -> Result<Self, Error> {
        parse_all(data, |r| match subtype {
            13 => Ok(Report::Summary(List::read(r, 0, MAX_SUMMARY_ENTRIES)?)),
            _ => Err(Error::UnknownSubtype { service: SERVICE, subtype }),
        })
    }

    /// Subtype number.
    pub fn subtype(&self) -> u8 {
        match self {
            Report::Summary(_) => 13,
        }
    }

    /// Octets of source data.
    pub fn buffer_len(&self) -> usize {
        match self {
            Report::Summary(l) => l.wire_len(),
        }
    }

    /// Writes the source data into `out`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`]; [`Error::BadCount`] above [`MAX_SUMMARY_ENTRIES`].
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        emit_with(out, self.buffer_len(), |w| match self {
            Report::Summary(l) => l.write(w, 0, MAX_SUMMARY_ENTRIES),
        })
    }
}

/// On-board release time: CUC coarse seconds and fine (1/65 536 s) since the mission epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReleaseTime {
    /// Seconds since 2017-01-01T00:00:00 TT.
    pub coarse: u32,
    /// Fraction of a second, units of 2⁻¹⁶ s.
    pub fine: u16,
}

impl fmt::Display for ReleaseTime {
    /// `coarse:fine`, the text syntax.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.coarse, self.fine)
    }
}

/// One time-tagged TC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimeTagged<'a> {
    /// When to release it.
    pub release: ReleaseTime,
    /// The whole TC packet.
    pub packet: &'a [u8],
}

/// Reads one item, checking the embedded packet.
fn read_item<'a>(r: &mut Reader<'a>) -> Result<TimeTagged<'a>, Error> {
    let release = ReleaseTime { coarse: r.u32()?, fine: r.u16()? };
    let mut peek = r.clone();
    let header = peek.take(spp::HEADER_LEN)?;
    let len = spp::packet_len(header).unwrap_or(0);
    if !(MIN_TC_LEN..=MAX_TC_PACKET_LEN).contains(&len) {
        return Err(Error::BadValue { field: "scheduled_tc_length", value: len as u32 });
    }
    let packet = r.take(len)?;
    let view = spp::Packet::new_unchecked(packet);
    let ok = view.version() == spp::VERSION
        && view.packet_type() == spp::PacketType::Tc
        && view.sec_hdr_flag();
    if !ok {
        let id = Reader::new(packet).u16().unwrap_or(0);
        return Err(Error::BadValue { field: "scheduled_tc", value: u32::from(id) });
    }
    Ok(TimeTagged { release, packet })
}

/// A validated, zero-copy list of time-tagged TCs.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeTaggedList<'a> {
    count: u8,
    bytes: &'a [u8],
}

impl<'a> TimeTaggedList<'a> {
    /// Wraps encoded items (without the count octet), checking every one.
    ///
    /// # Errors
    /// The item errors of [`Request::parse`]; [`Error::BadCount`] above 255 items.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes);
        let mut count = 0usize;
        while r.remaining() > 0 {
            read_item(&mut r)?;
            count += 1;
        }
        check_count("time_tagged_tcs", count, 0, 255)?;
        Ok(TimeTaggedList { count: count as u8, bytes })
    }

    /// Encodes `items` into `out` and returns the list viewing them.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`]; the item errors of [`Request::parse`].
    pub fn encode_into(items: &[TimeTagged<'_>], out: &'a mut [u8]) -> Result<Self, Error> {
        let mut w = Writer::new(out);
        for item in items {
            w.u32(item.release.coarse)?;
            w.u16(item.release.fine)?;
            w.bytes(item.packet)?;
        }
        let len = w.pos();
        let shared: &'a [u8] = out;
        Self::from_bytes(shared.get(..len).unwrap_or_default())
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        usize::from(self.count)
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The encoded items without the count octet.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Iterates over the items (checked at construction, so iteration cannot fail).
    pub fn iter(&self) -> TimeTaggedIter<'a> {
        TimeTaggedIter { reader: Reader::new(self.bytes) }
    }
}

impl fmt::Debug for TimeTaggedList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for &TimeTaggedList<'a> {
    type Item = TimeTagged<'a>;
    type IntoIter = TimeTaggedIter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Iterator over a [`TimeTaggedList`].
#[derive(Clone, Debug)]
pub struct TimeTaggedIter<'a> {
    reader: Reader<'a>,
}

impl<'a> Iterator for TimeTaggedIter<'a> {
    type Item = TimeTagged<'a>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.reader.remaining() == 0 {
            return None;
        }
        // Every item was read successfully when the list was built.
        read_item(&mut self.reader).ok()
    }
}

/// ST\[11\] requests.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Request<'a> {
    /// 11,1: enable the release of time-tagged TCs.
    Enable,
    /// 11,2: disable the release.
    Disable,
    /// 11,3: reset the schedule (delete every entry).
    Reset,
    /// 11,4: insert time-tagged TCs.
    Insert(TimeTaggedList<'a>),
    /// 11,17: report a summary of every time-tagged TC waiting (answered by 11,13).
    SummaryReport,
}

impl<'a> Request<'a> {
    /// Parses the application data of subtype `subtype`.
    ///
    /// # Errors
    /// [`Error::UnknownSubtype`], [`Error::Truncated`], [`Error::TrailingData`];
    /// [`Error::BadCount`] for N = 0 or above [`MAX_INSERT`]; [`Error::BadValue`] with field
    /// `scheduled_tc_length` or `scheduled_tc` for an embedded packet that is not a TC.
    pub fn parse(subtype: u8, data: &'a [u8]) -> Result<Self, Error> {
        match subtype {
            1 => super::test::empty(data).map(|()| Request::Enable),
            2 => super::test::empty(data).map(|()| Request::Disable),
            3 => super::test::empty(data).map(|()| Request::Reset),
            17 => super::test::empty(data).map(|()| Request::SummaryReport),
            4 => parse_all(data, |r| {
                let n = usize::from(r.u8()?);
                check_count("time_tagged_tcs", n, 1, MAX_INSERT)?;
                let start = r.clone();
                let mut consumed = 0usize;
                for _ in 0..n {
                    let before = r.remaining();
                    read_item(r)?;
                    consumed += before - r.remaining();
                }
                let bytes = start.clone().take(consumed)?;
                Ok(Request::Insert(TimeTaggedList { count: n as u8, bytes }))
            }),
            _ => Err(Error::UnknownSubtype { service: SERVICE, subtype }),
        }
    }

    /// Subtype number.
    pub fn subtype(&self) -> u8 {
        match self {
            Request::Enable => 1,
            Request::Disable => 2,
            Request::Reset => 3,
            Request::Insert(_) => 4,
            Request::SummaryReport => 17,
        }
    }

    /// Octets of application data.
    pub fn buffer_len(&self) -> usize {
        match self {
            Request::Insert(l) => 1 + l.bytes.len(),
            _ => 0,
        }
    }

    /// Writes the application data into `out`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`]; [`Error::BadCount`] as in [`Request::parse`].
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        emit_with(out, self.buffer_len(), |w| match self {
            Request::Insert(l) => {
                check_count("time_tagged_tcs", l.len(), 1, MAX_INSERT)?;
                w.u8(l.count)?;
                w.bytes(l.bytes)
            }
            _ => Ok(()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A 13-octet TC: APID 0x240, count 1, PUS-C 17,1 from source 1, PEC (not checked here).
    static TC: [u8; 13] =
        [0x1A, 0x40, 0xC0, 0x01, 0x00, 0x06, 0x2F, 0x11, 0x01, 0x00, 0x01, 0x12, 0x34];

    fn insert_bytes() -> std::vec::Vec<u8> {
        let mut v = std::vec![2u8];
        for coarse in [100u32, 200] {
            v.extend_from_slice(&coarse.to_be_bytes());
            v.extend_from_slice(&0x8000u16.to_be_bytes());
            v.extend_from_slice(&TC);
        }
        v
    }

    #[test]
    fn parse_insert() {
        let v = insert_bytes();
        let r = Request::parse(4, &v).unwrap();
        let Request::Insert(l) = r else { panic!() };
        assert_eq!(l.len(), 2);
        let items: std::vec::Vec<_> = l.iter().collect();
        assert_eq!(items[0].release, ReleaseTime { coarse: 100, fine: 0x8000 });
        assert_eq!(items[1].release.coarse, 200);
        assert_eq!(items[1].packet, &TC);
        let mut out = std::vec![0u8; v.len()];
        assert_eq!(r.emit(&mut out).unwrap(), v.len());
        assert_eq!(out, v);
        let mut buf = [0u8; 64];
        let again = TimeTaggedList::encode_into(&items, &mut buf).unwrap();
        assert_eq!(again, l);
    }

    #[test]
    fn malformed_insert() {
        let v = insert_bytes();
        assert_eq!(
            Request::parse(4, &v[..v.len() - 1]).unwrap_err(),
            Error::Truncated { found: v.len() - 1, expected: v.len() }
        );
        let mut t = v.clone();
        t.push(0);
        assert!(matches!(Request::parse(4, &t), Err(Error::TrailingData { .. })));
        let mut n = v.clone();
        n[0] = 3;
        assert!(matches!(Request::parse(4, &n), Err(Error::Truncated { .. })));
        n[0] = 0;
        assert!(matches!(Request::parse(4, &n), Err(Error::BadCount { count: 0, .. })));
        n[0] = 17;
        assert!(matches!(Request::parse(4, &n), Err(Error::BadCount { count: 17, .. })));
        let mut tm = v.clone();
        tm[7] = 0x0A; // TM packet embedded
        assert_eq!(
            Request::parse(4, &tm).unwrap_err(),
            Error::BadValue { field: "scheduled_tc", value: 0x0A40 }
        );
        let mut short = v.clone();
        short[12] = 0x04; // declared 11 octets
        assert_eq!(
            Request::parse(4, &short).unwrap_err(),
            Error::BadValue { field: "scheduled_tc_length", value: 11 }
        );
    }

    #[test]
    fn simple_requests() {
        assert_eq!(Request::parse(1, &[]).unwrap(), Request::Enable);
        assert_eq!(Request::parse(2, &[]).unwrap(), Request::Disable);
        assert_eq!(Request::parse(3, &[]).unwrap(), Request::Reset);
        assert!(Request::parse(3, &[0]).is_err());
        assert!(matches!(Request::parse(5, &[]), Err(Error::UnknownSubtype { .. })));
    }

    #[test]
    fn summary_request_and_report_round_trip() {
        assert_eq!(Request::parse(17, &[]), Ok(Request::SummaryReport));
        assert!(Request::parse(17, &[0]).is_err());
        let items = [
            ScheduledEntry {
                release: ReleaseTime { coarse: 100, fine: 7 },
                request_id: RequestId { packet_id: 0x1A40, seq_ctrl: 0xC005 },
            },
            ScheduledEntry::default(),
        ];
        let mut buf = [0u8; 20];
        let list = List::encode_into(&items, &mut buf).unwrap();
        let report = Report::Summary(list);
        let mut out = [0u8; 21];
        assert_eq!(report.emit(&mut out), Ok(21));
        assert_eq!(out[0], 2);
        assert_eq!(&out[1..11], &[0, 0, 0, 100, 0, 7, 0x1A, 0x40, 0xC0, 0x05]);
        let back = Report::parse(13, &out).unwrap();
        assert_eq!(back, report);
        let Report::Summary(l) = back;
        assert_eq!(l.iter().collect::<std::vec::Vec<_>>(), items);
        assert!(Report::parse(13, &out[..20]).is_err());
        assert_eq!(Report::parse(13, &[0]).map(|r| r.buffer_len()), Ok(1));
        assert!(Report::parse(12, &[0]).is_err());
    }
}
