//! PUS-C telecommand packets (ECSS-E-ST-70-41C §7.4.3.1 and §7.4.4).
//!
//! ```text
//!  0      6        7         8         9      11                 n-2    n
//! +------+---------+---------+---------+--------+------------------+------+
//! | SPP  |ver|ack  | service | subtype | source | application data | PEC  |
//! | hdr  | 4 | 4   |    8    |    8    |   16   |  0 .. n-13       |  16  |
//! +------+---------+---------+---------+--------+------------------+------+
//! ```
//!
//! [`Packet`] is a view over a whole packet (primary header to PEC); [`Repr`] the validated
//! content. [`Repr::parse`] checks the PEC; [`Repr::parse_without_crc_check`] is the named way to
//! skip it. The mission's maximum TC length is a separate check, [`check_mission_len`], applied by
//! the unit and the bench but not by the generic parser.

use super::{AckFlags, Error, PEC_LEN, PUS_VERSION, check_pec, pec};
use crate::{
    mission,
    spp::{self, Apid, PacketType, SeqCount, SeqFlags},
};

/// Byte ranges of the fields of a TC packet.
mod field {
    use core::ops::Range;
    /// PUS version (4 bits) and acknowledgement flags (4 bits).
    pub const VERSION_ACK: usize = 6;
    /// Service type.
    pub const SERVICE: usize = 7;
    /// Message subtype.
    pub const SUBTYPE: usize = 8;
    /// Source ID.
    pub const SOURCE: Range<usize> = 9..11;
    /// First octet of the application data.
    pub const APP_DATA: usize = 11;
}

/// Length of the TC secondary header in octets.
pub const SEC_HEADER_LEN: usize = 5;
/// Octets of a TC packet that are not application data: primary header, secondary header, PEC.
pub const OVERHEAD_LEN: usize = spp::HEADER_LEN + SEC_HEADER_LEN + PEC_LEN;
/// Smallest PUS-C TC packet (no application data): 13 octets.
pub const MIN_LEN: usize = OVERHEAD_LEN;
/// Largest application data a TC of this mission carries
/// ([`mission::MAX_TC_PACKET_LEN`] − 13 = 1003 octets).
pub const MAX_APP_DATA_LEN: usize = mission::MAX_TC_PACKET_LEN - OVERHEAD_LEN;

/// Checks a TC packet length against the mission maximum [`mission::MAX_TC_PACKET_LEN`]
/// (1016 octets: one packet per TC frame, see `docs/icd/uplink.md`).
///
/// The generic parser accepts any length a space packet can declare; the unit calls this on
/// every TC it accepts and the bench before it sends one.
///
/// # Errors
/// [`Error::TooLong`].
pub const fn check_mission_len(len: usize) -> Result<(), Error> {
    if len > mission::MAX_TC_PACKET_LEN {
        return Err(Error::TooLong { len, max: mission::MAX_TC_PACKET_LEN });
    }
    Ok(())
}

/// A read/write view of a PUS-C TC packet.
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
    /// declared packet is at least [`MIN_LEN`] octets. Trailing octets beyond
    /// [`Packet::total_len`] are allowed.
    ///
    /// # Errors
    /// [`Error::Truncated`] with `found` the buffer length, or, if the header declares a packet
    /// shorter than 13 octets, `found` the declared length.
    pub fn check_len(&self) -> Result<(), Error> {
        let found = self.buffer.as_ref().len();
        let total = spp::packet_len(self.buffer.as_ref())
            .ok_or(Error::Truncated { found, expected: MIN_LEN })?;
        if total < MIN_LEN {
            return Err(Error::Truncated { found: total, expected: MIN_LEN });
        }
        if found < total {
            return Err(Error::Truncated { found, expected: total });
        }
        Ok(())
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

    /// Application process identifier.
    pub fn apid(&self) -> Apid {
        self.spp().apid()
    }

    /// Sequence flags.
    pub fn seq_flags(&self) -> SeqFlags {
        self.spp().seq_flags()
    }

    /// Sequence count.
    pub fn seq_count(&self) -> SeqCount {
        self.spp().seq_count()
    }

    // Accessors below index within MIN_LEN or total_len, which check_len guarantees.

    /// PUS version (4 bits).
    #[allow(clippy::indexing_slicing)]
    pub fn pus_version(&self) -> u8 {
        self.buffer.as_ref()[field::VERSION_ACK] >> 4
    }

    /// Acknowledgement flags.
    #[allow(clippy::indexing_slicing)]
    pub fn ack(&self) -> AckFlags {
        AckFlags::new_masked(self.buffer.as_ref()[field::VERSION_ACK])
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

    /// Source ID.
    #[allow(clippy::indexing_slicing)]
    pub fn source_id(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::SOURCE];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// Application data (between the secondary header and the PEC).
    #[allow(clippy::indexing_slicing)]
    pub fn app_data(&self) -> &[u8] {
        &self.buffer.as_ref()[field::APP_DATA..self.total_len() - PEC_LEN]
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
    /// Sets the PUS version and acknowledgement flags.
    #[allow(clippy::indexing_slicing)]
    pub fn set_version_ack(&mut self, version: u8, ack: AckFlags) {
        self.buffer.as_mut()[field::VERSION_ACK] = (version << 4) | ack.bits();
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

    /// Sets the source ID.
    #[allow(clippy::indexing_slicing)]
    pub fn set_source_id(&mut self, source_id: u16) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(&source_id.to_be_bytes());
    }

    /// Mutable application data (as declared by the primary header length).
    #[allow(clippy::indexing_slicing)]
    pub fn app_data_mut(&mut self) -> &mut [u8] {
        let end = self.total_len() - PEC_LEN;
        &mut self.buffer.as_mut()[field::APP_DATA..end]
    }

    /// Computes and writes the packet error control over the rest of the packet.
    #[allow(clippy::indexing_slicing)]
    pub fn fill_pec(&mut self) {
        let end = self.total_len();
        let crc = pec(&self.buffer.as_ref()[..end - PEC_LEN]);
        self.buffer.as_mut()[end - PEC_LEN..end].copy_from_slice(&crc.to_be_bytes());
    }
}

/// The validated content of a PUS-C TC packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Repr<'a> {
    /// Application process identifier.
    pub apid: Apid,
    /// Sequence flags (PUS TCs are unsegmented, `11`).
    pub seq_flags: SeqFlags,
    /// Sequence count.
    pub seq_count: SeqCount,
    /// Acknowledgement flags.
    pub ack: AckFlags,
    /// Service type (ECSS-E-ST-70-41C §8).
    pub service: u8,
    /// Message subtype.
    pub subtype: u8,
    /// Source ID (the bench is [`mission::BENCH_SOURCE_ID`]).
    pub source_id: u16,
    /// Application data.
    pub app_data: &'a [u8],
}

impl<'a> Repr<'a> {
    /// Parses and validates a checked view, PEC included.
    ///
    /// Checks, in order: length ([`Packet::check_len`]), PEC (a packet with a bad CRC is
    /// reported as such, whatever else is wrong in it), space packet version, packet type TC,
    /// secondary header flag, PUS version 2.
    ///
    /// # Errors
    /// [`Error::Truncated`], [`Error::BadCrc`], [`Error::Spp`] (`BadVersion`),
    /// [`Error::WrongPacketType`], [`Error::NoSecondaryHeader`], [`Error::BadPusVersion`].
    ///
    /// # Panics
    /// Never.
    pub fn parse(packet: &Packet<&'a [u8]>) -> Result<Repr<'a>, Error> {
        packet.check_len()?;
        packet.check_pec()?;
        Self::parse_fields(packet)
    }

    /// Parses a whole packet from bytes, PEC included (see [`Repr::parse`]).
    ///
    /// # Errors
    /// As [`Repr::parse`].
    pub fn parse_bytes(bytes: &'a [u8]) -> Result<Repr<'a>, Error> {
        Self::parse(&Packet::new_unchecked(bytes))
    }

    /// Like [`Repr::parse`] but does not verify the PEC. For tests and fault injection only:
    /// an uplinked TC must always go through [`Repr::parse`].
    ///
    /// # Errors
    /// As [`Repr::parse`], except [`Error::BadCrc`].
    pub fn parse_without_crc_check(packet: &Packet<&'a [u8]>) -> Result<Repr<'a>, Error> {
        packet.check_len()?;
        Self::parse_fields(packet)
    }

    fn parse_fields(packet: &Packet<&'a [u8]>) -> Result<Repr<'a>, Error> {
        let sp = packet.spp();
        if sp.version() != spp::VERSION {
            return Err(Error::Spp(spp::Error::BadVersion(sp.version())));
        }
        if sp.packet_type() != PacketType::Tc {
            return Err(Error::WrongPacketType);
        }
        if !sp.sec_hdr_flag() {
            return Err(Error::NoSecondaryHeader);
        }
        if packet.pus_version() != PUS_VERSION {
            return Err(Error::BadPusVersion(packet.pus_version()));
        }
        let end = packet.total_len() - PEC_LEN;
        let app_data = packet
            .buffer
            .get(field::APP_DATA..end)
            .ok_or(Error::Truncated { found: packet.buffer.len(), expected: MIN_LEN })?;
        Ok(Repr {
            apid: sp.apid(),
            seq_flags: sp.seq_flags(),
            seq_count: sp.seq_count(),
            ack: packet.ack(),
            service: packet.service(),
            subtype: packet.subtype(),
            source_id: packet.source_id(),
            app_data,
        })
    }

    /// Octets of the emitted packet: 13 + application data.
    pub const fn buffer_len(&self) -> usize {
        OVERHEAD_LEN + self.app_data.len()
    }

    /// Writes the whole packet (primary header, secondary header, application data, PEC) at the
    /// start of `buf` and returns its length.
    ///
    /// # Errors
    /// [`Error::FieldRange`] if the packet would exceed the 65 542 octets a space packet can
    /// declare; [`Error::BufferTooSmall`] if `buf` is shorter than [`Repr::buffer_len`].
    ///
    /// # Panics
    /// Never.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        let len = self.buffer_len();
        if len > spp::MAX_PACKET_LEN {
            return Err(Error::FieldRange { field: "app_data", value: self.app_data.len() as u32 });
        }
        let found = buf.len();
        let out = buf.get_mut(..len).ok_or(Error::BufferTooSmall { found, expected: len })?;
        let sp = spp::Repr {
            packet_type: PacketType::Tc,
            sec_hdr_flag: true,
            apid: self.apid,
            seq_flags: self.seq_flags,
            seq_count: self.seq_count,
            data_len: len - spp::HEADER_LEN,
        };
        sp.emit(&mut spp::Packet::new_unchecked(&mut *out))?;
        let mut p = Packet::new_unchecked(out);
        p.set_version_ack(PUS_VERSION, self.ack);
        p.set_service(self.service);
        p.set_subtype(self.subtype);
        p.set_source_id(self.source_id);
        p.app_data_mut().copy_from_slice(self.app_data);
        p.fill_pec();
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // TC(17,1) are-you-alive from the bench to the UGTS: APID 0x240, unsegmented, count 1,
    // ack A--C, no application data. Written by spacepackets 0.19 (tests/vectors/pus-tc-ping.hex).
    static PING: [u8; 13] =
        [0x1A, 0x40, 0xC0, 0x01, 0x00, 0x06, 0x29, 0x11, 0x01, 0x00, 0x01, 0x31, 0x86];

    fn ping() -> [u8; 13] {
        PING
    }

    fn ping_repr() -> Repr<'static> {
        Repr {
            apid: mission::APID_UGTS,
            seq_flags: SeqFlags::Unsegmented,
            seq_count: SeqCount::new(1).unwrap(),
            ack: AckFlags::ACCEPTANCE | AckFlags::COMPLETION,
            service: 17,
            subtype: 1,
            source_id: mission::BENCH_SOURCE_ID,
            app_data: &[],
        }
    }

    #[test]
    fn parse_ping() {
        let b = ping();
        assert_eq!(Repr::parse_bytes(&b), Ok(ping_repr()));
    }

    #[test]
    fn emit_ping() {
        let mut out = [0u8; 20];
        assert_eq!(ping_repr().emit(&mut out), Ok(13));
        assert_eq!(&out[..13], &ping());
    }

    #[test]
    fn emit_with_app_data() {
        let r = Repr { app_data: &[1, 2, 3], ..ping_repr() };
        let mut out = [0u8; 16];
        assert_eq!(r.emit(&mut out), Ok(16));
        assert_eq!(&out[4..6], &[0x00, 0x09]);
        assert_eq!(&out[11..14], &[1, 2, 3]);
        assert_eq!(Repr::parse_bytes(&out), Ok(r));
    }

    #[test]
    fn emit_buffer_too_small() {
        assert_eq!(
            ping_repr().emit(&mut [0u8; 12]),
            Err(Error::BufferTooSmall { found: 12, expected: 13 })
        );
    }

    #[test]
    fn truncated_tc() {
        let b = ping();
        assert_eq!(Repr::parse_bytes(&b[..12]), Err(Error::Truncated { found: 12, expected: 13 }));
        assert_eq!(Repr::parse_bytes(&b[..3]), Err(Error::Truncated { found: 3, expected: 13 }));
        // A header that declares only 7 octets is too short for PUS.
        let mut short = b;
        short[5] = 0;
        assert_eq!(Repr::parse_bytes(&short), Err(Error::Truncated { found: 7, expected: 13 }));
    }

    #[test]
    fn bad_crc_tc() {
        let mut b = ping();
        b[8] ^= 0x01;
        assert!(matches!(Repr::parse_bytes(&b), Err(Error::BadCrc { .. })));
        let r = Repr::parse_without_crc_check(&Packet::new_unchecked(&b[..])).unwrap();
        assert_eq!(r.subtype, 0);
    }

    fn with_pec(mut b: [u8; 13]) -> [u8; 13] {
        let c = pec(&b[..11]).to_be_bytes();
        b[11..].copy_from_slice(&c);
        b
    }

    #[test]
    fn bad_versions_and_type() {
        let mut b = ping();
        b[6] = 0x19; // PUS version 1 (PUS-A)
        assert_eq!(Repr::parse_bytes(&with_pec(b)), Err(Error::BadPusVersion(1)));
        let mut b = ping();
        b[0] |= 0x20; // space packet version 1
        assert_eq!(Repr::parse_bytes(&with_pec(b)), Err(Error::Spp(spp::Error::BadVersion(1))));
        let mut b = ping();
        b[0] &= !0x10; // TM
        assert_eq!(Repr::parse_bytes(&with_pec(b)), Err(Error::WrongPacketType));
        let mut b = ping();
        b[0] &= !0x08; // no secondary header
        assert_eq!(Repr::parse_bytes(&with_pec(b)), Err(Error::NoSecondaryHeader));
    }

    #[test]
    fn trailing_octets_are_not_part_of_the_packet() {
        let mut b = [0xEEu8; 20];
        b[..13].copy_from_slice(&ping());
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.as_bytes().len(), 13);
        assert_eq!(Repr::parse(&p), Ok(ping_repr()));
    }

    #[test]
    fn mission_length_limit() {
        assert_eq!(check_mission_len(1016), Ok(()));
        assert_eq!(check_mission_len(1017), Err(Error::TooLong { len: 1017, max: 1016 }));
        assert_eq!(MAX_APP_DATA_LEN, 1003);
    }
}
