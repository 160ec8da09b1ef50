//! CCSDS space packets: the primary header (CCSDS 133.0-B-2 §4.1.3).
//!
//! This module is the pattern every layer of the crate follows (smoltcp's `Packet` + `Repr`):
//! - [`Packet`] is a zero-copy view over any `AsRef<[u8]>`. [`Packet::new_checked`] validates the
//!   buffer length once; after that, no accessor panics.
//! - [`Repr`] is the validated, owned representation: [`Repr::parse`] checks what the view does
//!   not (version, length consistency), [`Repr::emit`] writes a header into a view of at least
//!   [`Repr::buffer_len`] octets.
//!
//! ```text
//!  0               1               2               3               4               5
//! +-----+-+-+-----------------------+---+---------------------------+-------------------------------+
//! | ver |T|S|         APID          |SF |     sequence count        |  packet data length (len - 1) |
//! +-----+-+-+-----------------------+---+---------------------------+-------------------------------+
//! ```

use core::fmt;

/// Byte ranges of the primary header fields.
mod field {
    use core::ops::Range;
    /// Version (3 bits), type (1), secondary header flag (1), APID (11).
    pub const ID: Range<usize> = 0..2;
    /// Sequence flags (2 bits), sequence count (14).
    pub const SEQ: Range<usize> = 2..4;
    /// Packet data length: number of octets in the data field minus one.
    pub const LEN: Range<usize> = 4..6;
}

/// Length of the primary header in octets.
pub const HEADER_LEN: usize = 6;
/// Largest possible space packet: header plus 65 536 data octets.
pub const MAX_PACKET_LEN: usize = HEADER_LEN + 65_536;
/// The only packet version number defined (CCSDS 133.0-B-2 §4.1.3.2: `000`).
pub const VERSION: u8 = 0;

/// Errors of the space packet layer.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The buffer is shorter than the header or than the length the header declares.
    Truncated {
        /// Octets available.
        found: usize,
        /// Octets needed.
        expected: usize,
    },
    /// The version field is not `000`.
    BadVersion(u8),
    /// A field value does not fit its width (e.g. an APID above `0x7FF`).
    FieldRange {
        /// Which field.
        field: &'static str,
        /// The offending value.
        value: u32,
    },
    /// The output buffer is too small to emit into.
    BufferTooSmall {
        /// Octets available.
        found: usize,
        /// Octets needed.
        expected: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Truncated { found, expected } => {
                write!(f, "space packet truncated: {found} octets, expected {expected}")
            }
            Error::BadVersion(v) => write!(f, "space packet version {v}, expected 0"),
            Error::FieldRange { field, value } => {
                write!(f, "space packet field {field} out of range: {value}")
            }
            Error::BufferTooSmall { found, expected } => {
                write!(f, "output buffer of {found} octets, space packet needs {expected}")
            }
        }
    }
}

impl core::error::Error for Error {}

/// Application process identifier, 11 bits (CCSDS 133.0-B-2 §4.1.3.3.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Apid(u16);

impl Apid {
    /// Largest APID value.
    pub const MAX: u16 = 0x7FF;
    /// The idle packet APID, all ones (`0x7FF`, not 1023: a trap seen in real code).
    pub const IDLE: Apid = Apid(0x7FF);

    /// Checked constructor: `None` above [`Apid::MAX`].
    pub const fn new(value: u16) -> Option<Self> {
        if value <= Self::MAX { Some(Apid(value)) } else { None }
    }

    /// Constructor for constants: masks to 11 bits.
    pub const fn new_masked(value: u16) -> Self {
        Apid(value & Self::MAX)
    }

    /// The numeric value.
    pub const fn value(self) -> u16 {
        self.0
    }
}

impl fmt::Display for Apid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:03X}", self.0)
    }
}

/// Packet sequence count (or packet name), 14 bits, wrapping (CCSDS 133.0-B-2 §4.1.3.4.3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeqCount(u16);

impl SeqCount {
    /// Largest sequence count.
    pub const MAX: u16 = 0x3FFF;

    /// Checked constructor: `None` above [`SeqCount::MAX`].
    pub const fn new(value: u16) -> Option<Self> {
        if value <= Self::MAX { Some(SeqCount(value)) } else { None }
    }

    /// Constructor that masks to 14 bits.
    pub const fn new_masked(value: u16) -> Self {
        SeqCount(value & Self::MAX)
    }

    /// The numeric value.
    pub const fn value(self) -> u16 {
        self.0
    }

    /// The following count, wrapping from `0x3FFF` to 0.
    pub const fn next(self) -> Self {
        SeqCount((self.0 + 1) & Self::MAX)
    }
}

/// Packet type (CCSDS 133.0-B-2 §4.1.3.3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// Telemetry (0).
    Tm,
    /// Telecommand (1).
    Tc,
}

/// Sequence flags (CCSDS 133.0-B-2 §4.1.3.4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SeqFlags {
    /// `00`: continuation segment.
    Continuation,
    /// `01`: first segment.
    First,
    /// `10`: last segment.
    Last,
    /// `11`: unsegmented user data (what PUS uses).
    Unsegmented,
}

impl SeqFlags {
    /// From the two-bit field value.
    pub const fn from_bits(bits: u8) -> Self {
        match bits & 0b11 {
            0b00 => SeqFlags::Continuation,
            0b01 => SeqFlags::First,
            0b10 => SeqFlags::Last,
            _ => SeqFlags::Unsegmented,
        }
    }

    /// The two-bit field value.
    pub const fn bits(self) -> u8 {
        match self {
            SeqFlags::Continuation => 0b00,
            SeqFlags::First => 0b01,
            SeqFlags::Last => 0b10,
            SeqFlags::Unsegmented => 0b11,
        }
    }
}

/// Total packet length (header included) declared by the first [`HEADER_LEN`] octets of
/// `header`, or `None` if fewer than six octets are given. Used by the M_PDU reassembler to cut
/// packets out of a frame stream without parsing anything else.
#[inline]
pub fn packet_len(header: &[u8]) -> Option<usize> {
    let len: [u8; 2] = header.get(field::LEN)?.try_into().ok()?;
    Some(HEADER_LEN + usize::from(u16::from_be_bytes(len)) + 1)
}

/// A read/write view of a space packet.
#[derive(Debug, Clone)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it; accessors may panic until [`Packet::check_len`] passed.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps a buffer and checks that it holds the whole packet its header declares.
    ///
    /// # Errors
    /// [`Error::Truncated`] if it does not.
    pub fn new_checked(buffer: T) -> Result<Packet<T>, Error> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer holds the header and the declared data field. Trailing octets
    /// beyond [`Packet::total_len`] are allowed (packets are cut out of larger buffers).
    ///
    /// # Errors
    /// [`Error::Truncated`].
    pub fn check_len(&self) -> Result<(), Error> {
        let found = self.buffer.as_ref().len();
        let expected = packet_len(self.buffer.as_ref())
            .ok_or(Error::Truncated { found, expected: HEADER_LEN })?;
        if found < expected {
            return Err(Error::Truncated { found, expected });
        }
        Ok(())
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    // Field accessors below index within HEADER_LEN, which check_len guarantees.
    #[allow(clippy::indexing_slicing)]
    fn id_word(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::ID];
        u16::from_be_bytes([b[0], b[1]])
    }

    #[allow(clippy::indexing_slicing)]
    fn seq_word(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::SEQ];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// Packet version number (3 bits).
    pub fn version(&self) -> u8 {
        (self.id_word() >> 13) as u8
    }

    /// Packet type.
    pub fn packet_type(&self) -> PacketType {
        if self.id_word() & 0x1000 != 0 { PacketType::Tc } else { PacketType::Tm }
    }

    /// Secondary header flag.
    pub fn sec_hdr_flag(&self) -> bool {
        self.id_word() & 0x0800 != 0
    }

    /// Application process identifier.
    pub fn apid(&self) -> Apid {
        Apid::new_masked(self.id_word())
    }

    /// Sequence flags.
    pub fn seq_flags(&self) -> SeqFlags {
        SeqFlags::from_bits((self.seq_word() >> 14) as u8)
    }

    /// Sequence count.
    pub fn seq_count(&self) -> SeqCount {
        SeqCount::new_masked(self.seq_word())
    }

    /// Packet data length field (data field octets minus one).
    #[allow(clippy::indexing_slicing)]
    pub fn data_len_field(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::LEN];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// Total packet length in octets, header included.
    pub fn total_len(&self) -> usize {
        HEADER_LEN + usize::from(self.data_len_field()) + 1
    }

    /// The packet data field (secondary header, user data, error control).
    #[allow(clippy::indexing_slicing)]
    pub fn data_field(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..self.total_len()]
    }

    /// The whole packet, header through error control, without trailing octets.
    #[allow(clippy::indexing_slicing)]
    pub fn as_bytes(&self) -> &[u8] {
        &self.buffer.as_ref()[..self.total_len()]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    #[allow(clippy::indexing_slicing)]
    fn set_id_word(&mut self, v: u16) {
        self.buffer.as_mut()[field::ID].copy_from_slice(&v.to_be_bytes());
    }

    #[allow(clippy::indexing_slicing)]
    fn set_seq_word(&mut self, v: u16) {
        self.buffer.as_mut()[field::SEQ].copy_from_slice(&v.to_be_bytes());
    }

    /// Sets version, type, secondary header flag and APID at once.
    pub fn set_id(&mut self, packet_type: PacketType, sec_hdr_flag: bool, apid: Apid) {
        let t = match packet_type {
            PacketType::Tm => 0,
            PacketType::Tc => 0x1000,
        };
        let s = if sec_hdr_flag { 0x0800 } else { 0 };
        self.set_id_word((u16::from(VERSION) << 13) | t | s | apid.value());
    }

    /// Sets sequence flags and count.
    pub fn set_seq(&mut self, flags: SeqFlags, count: SeqCount) {
        self.set_seq_word((u16::from(flags.bits()) << 14) | count.value());
    }

    /// Sets the packet data length field (data field octets minus one).
    #[allow(clippy::indexing_slicing)]
    pub fn set_data_len_field(&mut self, v: u16) {
        self.buffer.as_mut()[field::LEN].copy_from_slice(&v.to_be_bytes());
    }

    /// The mutable data field (as declared by the length field).
    #[allow(clippy::indexing_slicing)]
    pub fn data_field_mut(&mut self) -> &mut [u8] {
        let end = self.total_len();
        &mut self.buffer.as_mut()[HEADER_LEN..end]
    }
}

/// The validated content of a space packet primary header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Repr {
    /// TM or TC.
    pub packet_type: PacketType,
    /// Whether a secondary header follows (always true for PUS).
    pub sec_hdr_flag: bool,
    /// Application process identifier.
    pub apid: Apid,
    /// Sequence flags.
    pub seq_flags: SeqFlags,
    /// Sequence count.
    pub seq_count: SeqCount,
    /// Number of octets in the data field (1 ..= 65 536).
    pub data_len: usize,
}

impl Repr {
    /// Parses a checked packet view.
    ///
    /// # Errors
    /// [`Error::BadVersion`] if the version is not `000`; [`Error::Truncated`] if the view was
    /// not checked and is short.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr, Error> {
        packet.check_len()?;
        if packet.version() != VERSION {
            return Err(Error::BadVersion(packet.version()));
        }
        Ok(Repr {
            packet_type: packet.packet_type(),
            sec_hdr_flag: packet.sec_hdr_flag(),
            apid: packet.apid(),
            seq_flags: packet.seq_flags(),
            seq_count: packet.seq_count(),
            data_len: packet.total_len() - HEADER_LEN,
        })
    }

    /// Octets needed to hold the packet.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.data_len
    }

    /// Writes the primary header into `packet` (the data field is left as it is).
    ///
    /// # Errors
    /// [`Error::FieldRange`] if `data_len` is 0 or above 65 536; [`Error::BufferTooSmall`] if the
    /// buffer is shorter than [`Repr::buffer_len`].
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) -> Result<(), Error> {
        if self.data_len == 0 || self.data_len > 65_536 {
            return Err(Error::FieldRange { field: "data_len", value: self.data_len as u32 });
        }
        let found = packet.buffer.as_ref().len();
        if found < self.buffer_len() {
            return Err(Error::BufferTooSmall { found, expected: self.buffer_len() });
        }
        packet.set_id(self.packet_type, self.sec_hdr_flag, self.apid);
        packet.set_seq(self.seq_flags, self.seq_count);
        packet.set_data_len_field((self.data_len - 1) as u16);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A TC with APID 0x240, unsegmented, count 5, 3 data octets.
    static PACKET_BYTES: [u8; 9] = [0x1A, 0x40, 0xC0, 0x05, 0x00, 0x02, 0xAA, 0xBB, 0xCC];

    #[test]
    fn parse_known_header() {
        let p = Packet::new_checked(&PACKET_BYTES[..]).unwrap();
        let r = Repr::parse(&p).unwrap();
        assert_eq!(r.packet_type, PacketType::Tc);
        assert!(r.sec_hdr_flag);
        assert_eq!(r.apid.value(), 0x240);
        assert_eq!(r.seq_flags, SeqFlags::Unsegmented);
        assert_eq!(r.seq_count.value(), 5);
        assert_eq!(r.data_len, 3);
        assert_eq!(p.data_field(), &[0xAA, 0xBB, 0xCC]);
    }

    #[test]
    fn emit_known_header() {
        let r = Repr {
            packet_type: PacketType::Tc,
            sec_hdr_flag: true,
            apid: Apid::new(0x240).unwrap(),
            seq_flags: SeqFlags::Unsegmented,
            seq_count: SeqCount::new(5).unwrap(),
            data_len: 3,
        };
        let mut buf = [0u8; 9];
        buf[6..].copy_from_slice(&[0xAA, 0xBB, 0xCC]);
        r.emit(&mut Packet::new_unchecked(&mut buf[..])).unwrap();
        assert_eq!(buf, PACKET_BYTES);
    }

    #[test]
    fn truncated_header() {
        assert_eq!(
            Packet::new_checked(&PACKET_BYTES[..5]).unwrap_err(),
            Error::Truncated { found: 5, expected: HEADER_LEN }
        );
    }

    #[test]
    fn truncated_data() {
        assert_eq!(
            Packet::new_checked(&PACKET_BYTES[..8]).unwrap_err(),
            Error::Truncated { found: 8, expected: 9 }
        );
    }

    #[test]
    fn bad_version() {
        let mut b = PACKET_BYTES;
        b[0] |= 0x20;
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(Repr::parse(&p).unwrap_err(), Error::BadVersion(1));
    }

    #[test]
    fn idle_apid_is_all_ones() {
        assert_eq!(Apid::IDLE.value(), 2047);
        assert!(Apid::new(0x800).is_none());
    }

    #[test]
    fn seq_count_wraps() {
        assert_eq!(SeqCount::new(0x3FFF).unwrap().next().value(), 0);
    }
}
