//! AOS transfer frames (CCSDS 732.0-B-4) in the fixed ECLAIRs profile (ICD §1).
//!
//! Every frame is exactly [`FRAME_LEN`] = 1115 octets: a 6-octet primary header, no frame
//! header error control, no insert zone, an M_PDU data field (2-octet M_PDU header + packet
//! zone), a 4-octet operational control field carrying the CLCW, and a 2-octet frame error
//! control field (CRC-16/CCITT-FALSE over everything before it).
//!
//! ```text
//!  octet 0        1          2  3  4      5           6  7        8 .. 1108     1109..1112 1113..1114
//! +---+----------+------+  +---------+  +-+-+--+----+ +-----+----+ +-----------+ +--------+ +------+
//! |ver|  SCID(8) |VCID 6|  | VC frame|  |R|U|sp|cyc | |spare| FHP| |packet zone| |  OCF   | | FECF |
//! |01 |          |      |  | count 24|  | | |  |    | |  5  | 11 | |  1101 oct | | (CLCW) | |      |
//! +---+----------+------+  +---------+  +-+-+--+----+ +-----+----+ +-----------+ +--------+ +------+
//! ```
//!
//! R = replay flag, U = VC frame count usage flag (always 0 here: the 24-bit count is used
//! alone, so the count cycle is 0), FHP = first header pointer (CCSDS 732.0-B-4 §4.1.4.2.3).
//! [`Repr::parse`] rejects a frame whose signalling field or M_PDU spare bits are not the
//! profile's (so that parse → emit gives back the same bytes).

use core::fmt;

use crate::crc::crc16;
use crate::mission;

/// Byte ranges of the frame fields.
mod field {
    use core::ops::Range;
    /// Version (2 bits), SCID (8), VCID (6).
    pub const ID: Range<usize> = 0..2;
    /// Virtual channel frame count, 24 bits.
    pub const VC_COUNT: Range<usize> = 2..5;
    /// Signalling field.
    pub const SIGNAL: usize = 5;
    /// M_PDU header: 5 spare bits + 11-bit first header pointer.
    pub const MPDU_HDR: Range<usize> = 6..8;
    /// Packet zone.
    pub const PACKET_ZONE: Range<usize> = 8..1109;
    /// Operational control field (CLCW).
    pub const OCF: Range<usize> = 1109..1113;
    /// Frame error control field.
    pub const FECF: Range<usize> = 1113..1115;
}

/// Total frame length in octets (ICD §1).
pub const FRAME_LEN: usize = mission::AOS_FRAME_LEN;
/// Transfer frame primary header length.
pub const HEADER_LEN: usize = 6;
/// M_PDU header length.
pub const MPDU_HEADER_LEN: usize = 2;
/// Operational control field length.
pub const OCF_LEN: usize = 4;
/// Frame error control field length.
pub const FECF_LEN: usize = 2;
/// Packet zone length: what is left for packets in every frame (1101 octets).
pub const PACKET_ZONE_LEN: usize = FRAME_LEN - HEADER_LEN - MPDU_HEADER_LEN - OCF_LEN - FECF_LEN;
/// The transfer frame version number of AOS frames (`01`, CCSDS 732.0-B-4 §4.1.2.2.2).
pub const VERSION: u8 = 0b01;
/// First header pointer value: no packet starts in this frame's packet zone.
pub const FHP_NO_PACKET_START: u16 = 0x7FF;
/// First header pointer value: the packet zone holds idle data only.
pub const FHP_IDLE_ONLY: u16 = 0x7FE;

const SIGNAL_REPLAY: u8 = 0x80;

/// Errors of the AOS frame layer.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The input is shorter than needed.
    Truncated {
        /// Octets available.
        found: usize,
        /// Octets needed.
        expected: usize,
    },
    /// The buffer is longer than the fixed frame length.
    TooLong {
        /// Octets available.
        found: usize,
        /// The fixed frame length.
        expected: usize,
    },
    /// The version field is not `01`.
    BadVersion(u8),
    /// The frame error control field does not match the frame.
    BadFecf {
        /// CRC computed over the frame.
        computed: u16,
        /// CRC carried by the frame.
        received: u16,
    },
    /// A reserved field holds a value the profile does not use.
    Reserved {
        /// Which field.
        field: &'static str,
        /// The offending value.
        value: u8,
    },
    /// The first header pointer points beyond the packet zone.
    BadFirstHdrPtr(u16),
    /// A value does not fit its field (emit side).
    FieldRange {
        /// Which field.
        field: &'static str,
        /// The offending value.
        value: u32,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Truncated { found, expected } => {
                write!(f, "AOS frame truncated: {found} octets, expected {expected}")
            }
            Error::TooLong { found, expected } => {
                write!(f, "AOS frame of {found} octets, expected {expected}")
            }
            Error::BadVersion(v) => write!(f, "AOS frame version {v}, expected 1"),
            Error::BadFecf { computed, received } => {
                write!(f, "AOS FECF 0x{received:04X}, computed 0x{computed:04X}")
            }
            Error::Reserved { field, value } => {
                write!(f, "AOS reserved field {field} holds 0x{value:02X}")
            }
            Error::BadFirstHdrPtr(p) => {
                write!(f, "AOS first header pointer 0x{p:03X} beyond the packet zone")
            }
            Error::FieldRange { field, value } => {
                write!(f, "AOS field {field} out of range: {value}")
            }
        }
    }
}

impl core::error::Error for Error {}

/// Virtual channel identifier, 6 bits (CCSDS 732.0-B-4 §4.1.2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Vcid(u8);

impl Vcid {
    /// Largest VCID.
    pub const MAX: u8 = 0x3F;
    /// The idle virtual channel (63).
    pub const IDLE: Vcid = Vcid(mission::VC_IDLE);

    /// Checked constructor: `None` above [`Vcid::MAX`].
    pub const fn new(value: u8) -> Option<Self> {
        if value <= Self::MAX { Some(Vcid(value)) } else { None }
    }

    /// Constructor for constants: masks to 6 bits.
    pub const fn new_masked(value: u8) -> Self {
        Vcid(value & Self::MAX)
    }

    /// The numeric value.
    pub const fn value(self) -> u8 {
        self.0
    }
}

/// Virtual channel frame count, 24 bits, wrapping (CCSDS 732.0-B-4 §4.1.2.4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VcFrameCount(u32);

impl VcFrameCount {
    /// Largest count.
    pub const MAX: u32 = 0x00FF_FFFF;

    /// Checked constructor: `None` above [`VcFrameCount::MAX`].
    pub const fn new(value: u32) -> Option<Self> {
        if value <= Self::MAX { Some(VcFrameCount(value)) } else { None }
    }

    /// Constructor that masks to 24 bits.
    pub const fn new_masked(value: u32) -> Self {
        VcFrameCount(value & Self::MAX)
    }

    /// The numeric value.
    pub const fn value(self) -> u32 {
        self.0
    }

    /// The following count, wrapping from `0xFFFFFF` to 0.
    pub const fn next(self) -> Self {
        VcFrameCount(self.0.wrapping_add(1) & Self::MAX)
    }

    /// Number of frames between `self` (expected) and `found`, modulo 2²⁴: 0 if equal.
    pub const fn distance_to(self, found: VcFrameCount) -> u32 {
        found.0.wrapping_sub(self.0) & Self::MAX
    }
}

/// The first header pointer of the M_PDU header (CCSDS 732.0-B-4 §4.1.4.2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FirstHdrPtr {
    /// The first packet header starts at this offset of the packet zone.
    At(u16),
    /// `0x7FF`: no packet starts in this frame (continuation of a longer packet).
    NoPacketStart,
    /// `0x7FE`: the packet zone holds idle data only.
    IdleOnly,
}

impl FirstHdrPtr {
    /// From the 11-bit field value (higher bits ignored).
    pub const fn from_bits(bits: u16) -> Self {
        match bits & 0x7FF {
            FHP_NO_PACKET_START => FirstHdrPtr::NoPacketStart,
            FHP_IDLE_ONLY => FirstHdrPtr::IdleOnly,
            n => FirstHdrPtr::At(n),
        }
    }

    /// The 11-bit field value.
    pub const fn bits(self) -> u16 {
        match self {
            FirstHdrPtr::At(n) => n,
            FirstHdrPtr::NoPacketStart => FHP_NO_PACKET_START,
            FirstHdrPtr::IdleOnly => FHP_IDLE_ONLY,
        }
    }
}

/// A read/write view of an AOS transfer frame.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it; accessors may panic until [`Packet::check_len`] passed.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps a buffer and checks that it is exactly one frame long.
    ///
    /// # Errors
    /// [`Error::Truncated`] or [`Error::TooLong`].
    pub fn new_checked(buffer: T) -> Result<Packet<T>, Error> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer is exactly [`FRAME_LEN`] octets long.
    ///
    /// # Errors
    /// [`Error::Truncated`] if shorter, [`Error::TooLong`] if longer.
    pub fn check_len(&self) -> Result<(), Error> {
        let found = self.buffer.as_ref().len();
        match found.cmp(&FRAME_LEN) {
            core::cmp::Ordering::Less => Err(Error::Truncated { found, expected: FRAME_LEN }),
            core::cmp::Ordering::Greater => Err(Error::TooLong { found, expected: FRAME_LEN }),
            core::cmp::Ordering::Equal => Ok(()),
        }
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    // Accessors below index within FRAME_LEN, which check_len guarantees.
    #[allow(clippy::indexing_slicing)]
    fn id_word(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::ID];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// Transfer frame version number (2 bits).
    pub fn version(&self) -> u8 {
        (self.id_word() >> 14) as u8
    }

    /// Spacecraft identifier (8 bits).
    pub fn scid(&self) -> u8 {
        (self.id_word() >> 6) as u8
    }

    /// Virtual channel identifier.
    pub fn vcid(&self) -> Vcid {
        Vcid::new_masked(self.id_word() as u8)
    }

    /// Virtual channel frame count.
    #[allow(clippy::indexing_slicing)]
    pub fn vc_frame_count(&self) -> VcFrameCount {
        let b = &self.buffer.as_ref()[field::VC_COUNT];
        VcFrameCount::new_masked(u32::from_be_bytes([0, b[0], b[1], b[2]]))
    }

    /// The whole signalling field octet.
    #[allow(clippy::indexing_slicing)]
    pub fn signalling(&self) -> u8 {
        self.buffer.as_ref()[field::SIGNAL]
    }

    /// Replay flag.
    pub fn replay(&self) -> bool {
        self.signalling() & SIGNAL_REPLAY != 0
    }

    #[allow(clippy::indexing_slicing)]
    fn mpdu_word(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::MPDU_HDR];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// The five spare bits of the M_PDU header.
    pub fn mpdu_spare(&self) -> u8 {
        (self.mpdu_word() >> 11) as u8
    }

    /// First header pointer.
    pub fn first_hdr_ptr(&self) -> FirstHdrPtr {
        FirstHdrPtr::from_bits(self.mpdu_word())
    }

    /// The packet zone.
    #[allow(clippy::indexing_slicing)]
    pub fn packet_zone(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PACKET_ZONE]
    }

    /// Operational control field (the CLCW as a 32-bit word).
    #[allow(clippy::indexing_slicing)]
    pub fn ocf(&self) -> u32 {
        let b = &self.buffer.as_ref()[field::OCF];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    /// Frame error control field as carried.
    #[allow(clippy::indexing_slicing)]
    pub fn fecf(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::FECF];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// CRC-16/CCITT-FALSE of everything before the FECF.
    #[allow(clippy::indexing_slicing)]
    pub fn compute_fecf(&self) -> u16 {
        crc16(&self.buffer.as_ref()[..field::FECF.start])
    }

    /// Checks the FECF.
    ///
    /// # Errors
    /// [`Error::BadFecf`].
    pub fn verify_fecf(&self) -> Result<(), Error> {
        let computed = self.compute_fecf();
        let received = self.fecf();
        if computed == received { Ok(()) } else { Err(Error::BadFecf { computed, received }) }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The packet zone, borrowed for the buffer's lifetime (not the view's).
    #[allow(clippy::indexing_slicing)]
    pub fn packet_zone_ref(&self) -> &'a [u8] {
        let data: &'a [u8] = self.buffer.as_ref();
        &data[field::PACKET_ZONE]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Writes version `01`, the SCID and the VCID.
    #[allow(clippy::indexing_slicing)]
    pub fn set_id(&mut self, scid: u8, vcid: Vcid) {
        let w = (u16::from(VERSION) << 14) | (u16::from(scid) << 6) | u16::from(vcid.value());
        self.buffer.as_mut()[field::ID].copy_from_slice(&w.to_be_bytes());
    }

    /// Writes the virtual channel frame count.
    #[allow(clippy::indexing_slicing)]
    pub fn set_vc_frame_count(&mut self, count: VcFrameCount) {
        let b = count.value().to_be_bytes();
        self.buffer.as_mut()[field::VC_COUNT].copy_from_slice(&b[1..]);
    }

    /// Writes the signalling field: replay flag, usage flag 0, spare 0, count cycle 0.
    #[allow(clippy::indexing_slicing)]
    pub fn set_signalling(&mut self, replay: bool) {
        self.buffer.as_mut()[field::SIGNAL] = if replay { SIGNAL_REPLAY } else { 0 };
    }

    /// Writes the M_PDU header (spare bits 0).
    #[allow(clippy::indexing_slicing)]
    pub fn set_first_hdr_ptr(&mut self, fhp: FirstHdrPtr) {
        self.buffer.as_mut()[field::MPDU_HDR].copy_from_slice(&(fhp.bits() & 0x7FF).to_be_bytes());
    }

    /// The mutable packet zone.
    #[allow(clippy::indexing_slicing)]
    pub fn packet_zone_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PACKET_ZONE]
    }

    /// Writes the operational control field.
    #[allow(clippy::indexing_slicing)]
    pub fn set_ocf(&mut self, ocf: u32) {
        self.buffer.as_mut()[field::OCF].copy_from_slice(&ocf.to_be_bytes());
    }

    /// Computes and writes the FECF; call last.
    #[allow(clippy::indexing_slicing)]
    pub fn fill_fecf(&mut self) {
        let c = self.compute_fecf();
        self.buffer.as_mut()[field::FECF].copy_from_slice(&c.to_be_bytes());
    }
}

/// The validated content of an AOS frame of the ECLAIRs profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repr<'a> {
    /// Spacecraft identifier (8 bits; the mission's is [`mission::SCID`]).
    pub scid: u8,
    /// Virtual channel.
    pub vcid: Vcid,
    /// Virtual channel frame count.
    pub vc_frame_count: VcFrameCount,
    /// Replay flag.
    pub replay: bool,
    /// First header pointer of the M_PDU header.
    pub first_hdr_ptr: FirstHdrPtr,
    /// The packet zone, exactly [`PACKET_ZONE_LEN`] octets.
    pub packet_zone: &'a [u8],
    /// Operational control field (the CLCW word).
    pub ocf: u32,
}

impl<'a> Repr<'a> {
    /// Parses a frame view and checks its FECF.
    ///
    /// # Errors
    /// [`Error::Truncated`]/[`Error::TooLong`] on a wrong length, [`Error::BadFecf`],
    /// [`Error::BadVersion`], [`Error::Reserved`] if the signalling field or the M_PDU spare
    /// bits are not the profile's, [`Error::BadFirstHdrPtr`] beyond the packet zone.
    ///
    /// # Panics
    /// Never.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&'a T>) -> Result<Repr<'a>, Error> {
        packet.check_len()?;
        packet.verify_fecf()?;
        Self::parse_without_fecf(packet)
    }

    /// Parses a frame view without checking its FECF (for diagnostics of damaged frames).
    ///
    /// # Errors
    /// As [`Repr::parse`], without [`Error::BadFecf`].
    ///
    /// # Panics
    /// Never.
    pub fn parse_without_fecf<T: AsRef<[u8]> + ?Sized>(
        packet: &Packet<&'a T>,
    ) -> Result<Repr<'a>, Error> {
        packet.check_len()?;
        if packet.version() != VERSION {
            return Err(Error::BadVersion(packet.version()));
        }
        let signalling = packet.signalling();
        if signalling & !SIGNAL_REPLAY != 0 {
            return Err(Error::Reserved { field: "signalling", value: signalling });
        }
        if packet.mpdu_spare() != 0 {
            return Err(Error::Reserved { field: "m_pdu spare", value: packet.mpdu_spare() });
        }
        let first_hdr_ptr = packet.first_hdr_ptr();
        if let FirstHdrPtr::At(p) = first_hdr_ptr
            && usize::from(p) >= PACKET_ZONE_LEN
        {
            return Err(Error::BadFirstHdrPtr(p));
        }
        Ok(Repr {
            scid: packet.scid(),
            vcid: packet.vcid(),
            vc_frame_count: packet.vc_frame_count(),
            replay: packet.replay(),
            first_hdr_ptr,
            packet_zone: packet.packet_zone_ref(),
            ocf: packet.ocf(),
        })
    }

    /// Octets needed to emit the frame: always [`FRAME_LEN`].
    pub const fn buffer_len(&self) -> usize {
        FRAME_LEN
    }

    /// Writes the whole frame, FECF included.
    ///
    /// # Errors
    /// [`Error::Truncated`]/[`Error::TooLong`] if the buffer is not one frame long;
    /// [`Error::FieldRange`] if the packet zone is not [`PACKET_ZONE_LEN`] octets or the first
    /// header pointer points beyond it.
    ///
    /// # Panics
    /// Never.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) -> Result<(), Error> {
        packet.check_len()?;
        if self.packet_zone.len() != PACKET_ZONE_LEN {
            return Err(Error::FieldRange {
                field: "packet_zone",
                value: self.packet_zone.len() as u32,
            });
        }
        if let FirstHdrPtr::At(p) = self.first_hdr_ptr
            && usize::from(p) >= PACKET_ZONE_LEN
        {
            return Err(Error::FieldRange { field: "first_hdr_ptr", value: u32::from(p) });
        }
        packet.set_id(self.scid, self.vcid);
        packet.set_vc_frame_count(self.vc_frame_count);
        packet.set_signalling(self.replay);
        packet.set_first_hdr_ptr(self.first_hdr_ptr);
        packet.packet_zone_mut().copy_from_slice(self.packet_zone);
        packet.set_ocf(self.ocf);
        packet.fill_fecf();
        Ok(())
    }
}

/// Writes an idle frame (VC 63, first header pointer "idle only", zone filled with `0x55`)
/// carrying `ocf`: what the unit sends when nothing else is due, so the CLCW stays fresh.
///
/// # Panics
/// Never.
pub fn emit_idle_frame(count: VcFrameCount, ocf: u32, out: &mut [u8; FRAME_LEN]) {
    let mut p = Packet::new_unchecked(&mut out[..]);
    p.set_id(mission::SCID as u8, Vcid::IDLE);
    p.set_vc_frame_count(count);
    p.set_signalling(false);
    p.set_first_hdr_ptr(FirstHdrPtr::IdleOnly);
    p.packet_zone_mut().fill(0x55);
    p.set_ocf(ocf);
    p.fill_fecf();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> [u8; FRAME_LEN] {
        let zone: [u8; PACKET_ZONE_LEN] = core::array::from_fn(|i| i as u8);
        let repr = Repr {
            scid: 0x53,
            vcid: Vcid::new(2).unwrap(),
            vc_frame_count: VcFrameCount::new(0x01_02_03).unwrap(),
            replay: false,
            first_hdr_ptr: FirstHdrPtr::At(0x10),
            packet_zone: &zone,
            ocf: 0x0100_0005,
        };
        let mut buf = [0u8; FRAME_LEN];
        repr.emit(&mut Packet::new_unchecked(&mut buf[..])).unwrap();
        buf
    }

    #[test]
    fn emit_header_bytes() {
        let b = sample();
        // 01 01010011 000010 = 0x54C2
        assert_eq!(&b[..8], &[0x54, 0xC2, 0x01, 0x02, 0x03, 0x00, 0x00, 0x10]);
        assert_eq!(&b[1109..1113], &[0x01, 0x00, 0x00, 0x05]);
        assert_eq!(crc16(&b), 0, "CRC over frame and its FECF is zero");
    }

    #[test]
    fn parse_emitted() {
        let b = sample();
        let r = Repr::parse(&Packet::new_checked(&b[..]).unwrap()).unwrap();
        assert_eq!(r.scid, 0x53);
        assert_eq!(r.vcid.value(), 2);
        assert_eq!(r.vc_frame_count.value(), 0x010203);
        assert_eq!(r.first_hdr_ptr, FirstHdrPtr::At(0x10));
        assert_eq!(r.packet_zone.len(), PACKET_ZONE_LEN);
        assert_eq!(r.ocf, 0x0100_0005);
    }

    #[test]
    fn truncated_frame() {
        let b = sample();
        assert_eq!(
            Packet::new_checked(&b[..1114]).unwrap_err(),
            Error::Truncated { found: 1114, expected: FRAME_LEN }
        );
    }

    #[test]
    fn bad_crc_frame() {
        let mut b = sample();
        b[500] ^= 0x01;
        assert!(matches!(
            Repr::parse(&Packet::new_checked(&b[..]).unwrap()),
            Err(Error::BadFecf { .. })
        ));
        // The named variant skips the check.
        assert!(Repr::parse_without_fecf(&Packet::new_checked(&b[..]).unwrap()).is_ok());
    }

    #[test]
    fn bad_version_frame() {
        let mut b = sample();
        b[0] = (b[0] & 0x3F) | 0x80;
        Packet::new_unchecked(&mut b[..]).fill_fecf();
        assert_eq!(
            Repr::parse(&Packet::new_checked(&b[..]).unwrap()).unwrap_err(),
            Error::BadVersion(2)
        );
    }

    #[test]
    fn bad_first_hdr_ptr() {
        let mut b = sample();
        Packet::new_unchecked(&mut b[..]).set_first_hdr_ptr(FirstHdrPtr::At(1101));
        Packet::new_unchecked(&mut b[..]).fill_fecf();
        assert_eq!(
            Repr::parse(&Packet::new_checked(&b[..]).unwrap()).unwrap_err(),
            Error::BadFirstHdrPtr(1101)
        );
    }

    #[test]
    fn frame_count_wraps() {
        let c = VcFrameCount::new(VcFrameCount::MAX).unwrap();
        assert_eq!(c.next().value(), 0);
        assert_eq!(c.distance_to(VcFrameCount::new(1).unwrap()), 2);
    }

    #[test]
    fn idle_frame_parses() {
        let mut b = [0u8; FRAME_LEN];
        emit_idle_frame(VcFrameCount::new(9).unwrap(), 7, &mut b);
        let r = Repr::parse(&Packet::new_checked(&b[..]).unwrap()).unwrap();
        assert_eq!(r.vcid, Vcid::IDLE);
        assert_eq!(r.first_hdr_ptr, FirstHdrPtr::IdleOnly);
    }
}
