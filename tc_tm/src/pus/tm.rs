//! PUS-C telemetry packets (ECSS-E-ST-70-41C §7.4.3.2 and §7.4.4).
//!
//! ```text
//!  0      6        7         8         9         11       13       19            n-2    n
//! +------+---------+---------+---------+---------+--------+--------+-------------+------+
//! | SPP  |ver|tref | service | subtype | msg cnt | dest   | CUC    | source data | PEC  |
//! | hdr  | 4 | 4   |    8    |    8    |   16    |  16    | 4+2    | 0 .. n-21   |  16  |
//! +------+---------+---------+---------+---------+--------+--------+-------------+------+
//! ```
//!
//! The time field is the six T-field octets of [`Cuc`] (P-field implicit, `ICD.md` §2), so the
//! secondary header is 7 + 6 = 13 octets and the smallest TM packet 21 octets; a 37-octet packet
//! carries 16 octets of source data.
//!
//! [`Repr::parse`] is on the ground's hot path (every downlinked packet): it does one length
//! check, one CRC pass (the slicing-by-16 CRC of [`crate::crc`]) and reads the header fields from
//! one fixed-size array, without re-validating the same bounds.

use super::{Error, PEC_LEN, PUS_VERSION, check_pec, pec, time::Cuc};
use crate::spp::{self, Apid, PacketType, SeqCount, SeqFlags};

/// Byte ranges of the fields of a TM packet.
mod field {
    use core::ops::Range;
    /// PUS version (4 bits) and spacecraft time reference status (4 bits).
    pub const VERSION_TREF: usize = 6;
    /// Service type.
    pub const SERVICE: usize = 7;
    /// Message subtype.
    pub const SUBTYPE: usize = 8;
    /// Message type counter.
    pub const MSG_COUNTER: Range<usize> = 9..11;
    /// Destination ID.
    pub const DEST: Range<usize> = 11..13;
    /// CUC time, T-field only.
    pub const TIME: Range<usize> = 13..19;
    /// First octet of the source data.
    pub const SOURCE_DATA: usize = 19;
}

/// Length of the TM secondary header in octets (7 + 6-octet time).
pub const SEC_HEADER_LEN: usize = 7 + super::time::LEN;
/// Octets of a TM packet that are not source data: primary header, secondary header, PEC.
pub const OVERHEAD_LEN: usize = spp::HEADER_LEN + SEC_HEADER_LEN + PEC_LEN;
/// Smallest PUS-C TM packet of this mission (no source data): 21 octets.
pub const MIN_LEN: usize = OVERHEAD_LEN;
/// Length of the fixed part read by the parser: primary and secondary headers.
const HEADERS_LEN: usize = field::SOURCE_DATA;

/// A read/write view of a PUS-C TM packet.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it; accessors may panic until [`Packet::check_len`] passed.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps a buffer and checks its length (see [`Packet::check_len`]).
    ///
    /// # Errors
    /// [`Error::Truncated`].
    pub fn new_checked(buffer: T) -> Result<Packet<T>, Error> {
        let p = Packet::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks that the buffer holds the whole packet its primary header declares and that the
    /// declared packet is at least [`MIN_LEN`] octets. Trailing octets are allowed.
    ///
    /// # Errors
    /// [`Error::Truncated`] (with `found` the declared length if the declaration is below 21).
    pub fn check_len(&self) -> Result<(), Error> {
        total_len_checked(self.buffer.as_ref()).map(|_| ())
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The primary header as a space packet view.
    pub fn spp(&self) -> spp::Packet<&[u8]> {
        spp::Packet::new_unchecked(self.buffer.as_ref())
    }

    /// Total packet length, headers and PEC included.
    pub fn total_len(&self) -> usize {
        self.spp().total_len()
    }

    // Accessors below index within MIN_LEN or total_len, which check_len guarantees.

    /// PUS version (4 bits).
    #[allow(clippy::indexing_slicing)]
    pub fn pus_version(&self) -> u8 {
        self.buffer.as_ref()[field::VERSION_TREF] >> 4
    }

    /// Spacecraft time reference status (4 bits).
    #[allow(clippy::indexing_slicing)]
    pub fn time_ref_status(&self) -> u8 {
        self.buffer.as_ref()[field::VERSION_TREF] & 0x0F
    }

    /// Service type.
    #[allow(clippy::indexing_slicing)]
    pub fn service(&self) -> u8 {
        self.buffer.as_ref()[field::SERVICE]
    }

    /// Message subtype.
    #[allow(clippy::indexing_slicing)]
    pub fn subtype(&self) -> u8 {
        self.buffer.as_ref()[field::SUBTYPE]
    }

    /// Message type counter.
    #[allow(clippy::indexing_slicing)]
    pub fn msg_counter(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::MSG_COUNTER];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// Destination ID.
    #[allow(clippy::indexing_slicing)]
    pub fn dest_id(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::DEST];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// On-board time of the packet.
    #[allow(clippy::indexing_slicing)]
    pub fn time(&self) -> Cuc {
        let b = &self.buffer.as_ref()[field::TIME];
        Cuc::from_bytes([b[0], b[1], b[2], b[3], b[4], b[5]])
    }

    /// Source data (between the secondary header and the PEC).
    #[allow(clippy::indexing_slicing)]
    pub fn source_data(&self) -> &[u8] {
        &self.buffer.as_ref()[field::SOURCE_DATA..self.total_len() - PEC_LEN]
    }

    /// The packet error control carried by the packet.
    #[allow(clippy::indexing_slicing)]
    pub fn pec(&self) -> u16 {
        let end = self.total_len();
        let b = &self.buffer.as_ref()[end - PEC_LEN..end];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// The whole packet without trailing octets.
    #[allow(clippy::indexing_slicing)]
    pub fn as_bytes(&self) -> &[u8] {
        &self.buffer.as_ref()[..self.total_len()]
    }

    /// Verifies the packet error control.
    ///
    /// # Errors
    /// [`Error::BadCrc`].
    pub fn check_pec(&self) -> Result<(), Error> {
        check_pec(self.as_bytes())
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the PUS version and the time reference status (both masked to 4 bits).
    #[allow(clippy::indexing_slicing)]
    pub fn set_version_time_ref(&mut self, version: u8, time_ref_status: u8) {
        self.buffer.as_mut()[field::VERSION_TREF] = (version << 4) | (time_ref_status & 0x0F);
    }

    /// Sets the service type.
    #[allow(clippy::indexing_slicing)]
    pub fn set_service(&mut self, service: u8) {
        self.buffer.as_mut()[field::SERVICE] = service;
    }

    /// Sets the message subtype.
    #[allow(clippy::indexing_slicing)]
    pub fn set_subtype(&mut self, subtype: u8) {
        self.buffer.as_mut()[field::SUBTYPE] = subtype;
    }

    /// Sets the message type counter.
    #[allow(clippy::indexing_slicing)]
    pub fn set_msg_counter(&mut self, counter: u16) {
        self.buffer.as_mut()[field::MSG_COUNTER].copy_from_slice(&counter.to_be_bytes());
    }

    /// Sets the destination ID.
    #[allow(clippy::indexing_slicing)]
    pub fn set_dest_id(&mut self, dest_id: u16) {
        self.buffer.as_mut()[field::DEST].copy_from_slice(&dest_id.to_be_bytes());
    }

    /// Sets the time.
    #[allow(clippy::indexing_slicing)]
    pub fn set_time(&mut self, time: Cuc) {
        self.buffer.as_mut()[field::TIME].copy_from_slice(&time.to_bytes());
    }

    /// Mutable source data (as declared by the primary header length).
    #[allow(clippy::indexing_slicing)]
    pub fn source_data_mut(&mut self) -> &mut [u8] {
        let end = self.total_len() - PEC_LEN;
        &mut self.buffer.as_mut()[field::SOURCE_DATA..end]
    }

    /// Computes and writes the packet error control over the rest of the packet.
    #[allow(clippy::indexing_slicing)]
    pub fn fill_pec(&mut self) {
        let end = self.total_len();
        let crc = pec(&self.buffer.as_ref()[..end - PEC_LEN]);
        self.buffer.as_mut()[end - PEC_LEN..end].copy_from_slice(&crc.to_be_bytes());
    }
}

/// The declared total length of the TM packet at the start of `bytes`, checked against the
/// buffer and the minimum.
#[inline]
fn total_len_checked(bytes: &[u8]) -> Result<usize, Error> {
    let found = bytes.len();
    let total = spp::packet_len(bytes).ok_or(Error::Truncated { found, expected: MIN_LEN })?;
    if total < MIN_LEN {
        return Err(Error::Truncated { found: total, expected: MIN_LEN });
    }
    if found < total {
        return Err(Error::Truncated { found, expected: total });
    }
    Ok(total)
}

/// The validated content of a PUS-C TM packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Repr<'a> {
    /// Application process identifier.
    pub apid: Apid,
    /// Sequence flags (PUS TM packets are unsegmented, `11`).
    pub seq_flags: SeqFlags,
    /// Sequence count.
    pub seq_count: SeqCount,
    /// Spacecraft time reference status (4 bits, 0 ..= 15).
    pub time_ref_status: u8,
    /// Service type.
    pub service: u8,
    /// Message subtype.
    pub subtype: u8,
    /// Message type counter.
    pub msg_counter: u16,
    /// Destination ID.
    pub dest_id: u16,
    /// On-board time.
    pub time: Cuc,
    /// Source data.
    pub source_data: &'a [u8],
}

impl<'a> Repr<'a> {
    /// Parses and validates a TM packet, PEC included.
    ///
    /// Checks, in order: length, PEC, space packet version, packet type TM, secondary header
    /// flag, PUS version 2. Octets after the declared packet are ignored.
    ///
    /// # Errors
    /// [`Error::Truncated`], [`Error::BadCrc`], [`Error::Spp`] (`BadVersion`),
    /// [`Error::WrongPacketType`], [`Error::NoSecondaryHeader`], [`Error::BadPusVersion`].
    ///
    /// # Panics
    /// Never.
    #[inline]
    pub fn parse(packet: &Packet<&'a [u8]>) -> Result<Repr<'a>, Error> {
        Self::parse_inner(packet.buffer, true)
    }

    /// Parses a whole packet from bytes, PEC included (see [`Repr::parse`]).
    ///
    /// # Errors
    /// As [`Repr::parse`].
    #[inline]
    pub fn parse_bytes(bytes: &'a [u8]) -> Result<Repr<'a>, Error> {
        Self::parse_inner(bytes, true)
    }

    /// Like [`Repr::parse`] but does not verify the PEC (for tests and fault analysis only).
    ///
    /// # Errors
    /// As [`Repr::parse`], except [`Error::BadCrc`].
    pub fn parse_without_crc_check(packet: &Packet<&'a [u8]>) -> Result<Repr<'a>, Error> {
        Self::parse_inner(packet.buffer, false)
    }

    #[inline]
    fn parse_inner(bytes: &'a [u8], check_crc: bool) -> Result<Repr<'a>, Error> {
        let total = total_len_checked(bytes)?;
        // total >= MIN_LEN > HEADERS_LEN + PEC_LEN, and total <= bytes.len(): these cannot fail.
        let truncated = Error::Truncated { found: bytes.len(), expected: MIN_LEN };
        let packet = bytes.get(..total).ok_or(truncated)?;
        let (rest, crc) = packet.split_last_chunk::<PEC_LEN>().ok_or(truncated)?;
        let (h, source_data) = rest.split_first_chunk::<HEADERS_LEN>().ok_or(truncated)?;
        if check_crc {
            let computed = pec(rest);
            let received = u16::from_be_bytes(*crc);
            if computed != received {
                return Err(Error::BadCrc { computed, received });
            }
        }
        let [
            id0,
            id1,
            sq0,
            sq1,
            _,
            _,
            vt,
            service,
            subtype,
            mc0,
            mc1,
            d0,
            d1,
            t0,
            t1,
            t2,
            t3,
            t4,
            t5,
        ] = *h;
        let id = u16::from_be_bytes([id0, id1]);
        let version = (id >> 13) as u8;
        if version != spp::VERSION {
            return Err(Error::Spp(spp::Error::BadVersion(version)));
        }
        if id & 0x1000 != 0 {
            return Err(Error::WrongPacketType);
        }
        if id & 0x0800 == 0 {
            return Err(Error::NoSecondaryHeader);
        }
        if vt >> 4 != PUS_VERSION {
            return Err(Error::BadPusVersion(vt >> 4));
        }
        let seq = u16::from_be_bytes([sq0, sq1]);
        Ok(Repr {
            apid: Apid::new_masked(id),
            seq_flags: SeqFlags::from_bits((seq >> 14) as u8),
            seq_count: SeqCount::new_masked(seq),
            time_ref_status: vt & 0x0F,
            service,
            subtype,
            msg_counter: u16::from_be_bytes([mc0, mc1]),
            dest_id: u16::from_be_bytes([d0, d1]),
            time: Cuc::from_bytes([t0, t1, t2, t3, t4, t5]),
            source_data,
        })
    }

    /// Octets of the emitted packet: 21 + source data.
    pub const fn buffer_len(&self) -> usize {
        OVERHEAD_LEN + self.source_data.len()
    }

    /// Writes the whole packet at the start of `buf` and returns its length.
    ///
    /// # Errors
    /// [`Error::FieldRange`] if `time_ref_status` exceeds 4 bits or the packet would exceed the
    /// 65 542 octets a space packet can declare; [`Error::BufferTooSmall`] if `buf` is shorter
    /// than [`Repr::buffer_len`].
    ///
    /// # Panics
    /// Never.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        if self.time_ref_status > 0x0F {
            return Err(Error::FieldRange {
                field: "time_ref_status",
                value: u32::from(self.time_ref_status),
            });
        }
        let len = self.buffer_len();
        if len > spp::MAX_PACKET_LEN {
            return Err(Error::FieldRange {
                field: "source_data",
                value: self.source_data.len() as u32,
            });
        }
        let found = buf.len();
        let out = buf.get_mut(..len).ok_or(Error::BufferTooSmall { found, expected: len })?;
        let sp = spp::Repr {
            packet_type: PacketType::Tm,
            sec_hdr_flag: true,
            apid: self.apid,
            seq_flags: self.seq_flags,
            seq_count: self.seq_count,
            data_len: len - spp::HEADER_LEN,
        };
        sp.emit(&mut spp::Packet::new_unchecked(&mut *out))?;
        let mut p = Packet::new_unchecked(out);
        p.set_version_time_ref(PUS_VERSION, self.time_ref_status);
        p.set_service(self.service);
        p.set_subtype(self.subtype);
        p.set_msg_counter(self.msg_counter);
        p.set_dest_id(self.dest_id);
        p.set_time(self.time);
        p.source_data_mut().copy_from_slice(self.source_data);
        p.fill_pec();
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mission;

    fn hk_repr(data: &[u8]) -> Repr<'_> {
        Repr {
            apid: mission::APID_UGTS,
            seq_flags: SeqFlags::Unsegmented,
            seq_count: SeqCount::new(0x1234).unwrap(),
            time_ref_status: 0,
            service: 3,
            subtype: 25,
            msg_counter: 7,
            dest_id: mission::BENCH_SOURCE_ID,
            time: Cuc::new(0x0102_0304, 0x8000),
            source_data: data,
        }
    }

    // TM(3,25) with 16 octets of source data: 37 octets. Header octets written from the field
    // layout of ECSS-E-ST-70-41C table 7-4; the PEC is appended by the test.
    static HK_HEAD: [u8; 19] = [
        0x0A, 0x40, 0xD2, 0x34, 0x00, 0x1E, 0x20, 0x03, 0x19, 0x00, 0x07, 0x00, 0x01, 0x01, 0x02,
        0x03, 0x04, 0x80, 0x00,
    ];

    fn hk_bytes() -> [u8; 37] {
        let mut b = [0u8; 37];
        b[..19].copy_from_slice(&HK_HEAD);
        for (i, x) in b[19..35].iter_mut().enumerate() {
            *x = i as u8;
        }
        let c = pec(&b[..35]).to_be_bytes();
        b[35..].copy_from_slice(&c);
        b
    }

    #[test]
    fn parse_hk() {
        let b = hk_bytes();
        let data: [u8; 16] = core::array::from_fn(|i| i as u8);
        let r = Repr::parse_bytes(&b).unwrap();
        assert_eq!(r, hk_repr(&data));
        assert_eq!(r.source_data.len(), 16);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.time(), Cuc::new(0x0102_0304, 0x8000));
        assert_eq!(p.msg_counter(), 7);
        assert_eq!(p.source_data(), &data);
    }

    #[test]
    fn emit_hk() {
        let data: [u8; 16] = core::array::from_fn(|i| i as u8);
        let mut out = [0u8; 37];
        assert_eq!(hk_repr(&data).emit(&mut out), Ok(37));
        assert_eq!(out, hk_bytes());
    }

    #[test]
    fn truncated_tm() {
        let b = hk_bytes();
        assert_eq!(Repr::parse_bytes(&b[..36]), Err(Error::Truncated { found: 36, expected: 37 }));
        assert_eq!(Repr::parse_bytes(&b[..5]), Err(Error::Truncated { found: 5, expected: 21 }));
        let mut short = b;
        short[5] = 13; // declares 20 octets
        assert_eq!(Repr::parse_bytes(&short), Err(Error::Truncated { found: 20, expected: 21 }));
    }

    #[test]
    fn bad_crc_tm() {
        let mut b = hk_bytes();
        b[20] ^= 0x80;
        assert!(matches!(Repr::parse_bytes(&b), Err(Error::BadCrc { .. })));
        assert!(Repr::parse_without_crc_check(&Packet::new_unchecked(&b[..])).is_ok());
    }

    #[test]
    fn bad_fields_tm() {
        let fix = |mut b: [u8; 37]| {
            let c = pec(&b[..35]).to_be_bytes();
            b[35..].copy_from_slice(&c);
            b
        };
        let mut b = hk_bytes();
        b[6] = 0x10;
        assert_eq!(Repr::parse_bytes(&fix(b)), Err(Error::BadPusVersion(1)));
        let mut b = hk_bytes();
        b[0] |= 0x10;
        assert_eq!(Repr::parse_bytes(&fix(b)), Err(Error::WrongPacketType));
        let mut b = hk_bytes();
        b[0] &= !0x08;
        assert_eq!(Repr::parse_bytes(&fix(b)), Err(Error::NoSecondaryHeader));
        let mut b = hk_bytes();
        b[0] |= 0xE0;
        assert_eq!(Repr::parse_bytes(&fix(b)), Err(Error::Spp(spp::Error::BadVersion(7))));
    }

    #[test]
    fn emit_rejects_wide_time_ref_status() {
        let r = Repr { time_ref_status: 16, ..hk_repr(&[]) };
        assert_eq!(
            r.emit(&mut [0u8; 21]),
            Err(Error::FieldRange { field: "time_ref_status", value: 16 })
        );
        assert_eq!(
            hk_repr(&[]).emit(&mut [0u8; 20]),
            Err(Error::BufferTooSmall { found: 20, expected: 21 })
        );
    }
}
