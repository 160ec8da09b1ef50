//! TC transfer frames (CCSDS 232.0-B-4) as the ICD profiles them: FECF always present, segment
//! header always present in data frames, at most 1024 octets (`ICD.md` §1).
//!
//! ```text
//!  0                   1                   2                   3         4          5
//! +---+-+-+---+--------------------+------------+-------------------+----------+---------+------+
//! |ver|B|C|spr|       SCID         |    VCID    | frame length − 1  |   N(S)   | data    | FECF |
//! | 2 |1|1| 2 |        10          |     6      |        10         |    8     | field   |  16  |
//! +---+-+-+---+--------------------+------------+-------------------+----------+---------+------+
//! ```
//!
//! - Data frames (control command flag C = 0; type AD if bypass B = 0, type BD if B = 1): the data
//!   field is a segment header (sequence flags 2 bits, MAP ID 6 bits, CCSDS 232.0-B-4 §4.1.3.2.2)
//!   followed by the segment, here one whole PUS packet.
//! - Control frames (type BC: B = 1, C = 1): the data field is a COP-1 control command,
//!   [`ControlCommand::Unlock`] (`00`) or [`ControlCommand::SetVr`] (`82 00 V(R)`),
//!   CCSDS 232.0-B-4 §4.1.3.3. B = 0 with C = 1 is reserved and rejected.
//! - FECF: CRC-16/CCITT-FALSE over the rest of the frame (§4.1.4.2).
//!
//! The parser does *not* check the SCID or VCID against the mission values: the unit does
//! (`mission::SCID`, `mission::TC_VCID`). It accepts trailing octets after the declared frame
//! length, because the CLTU decoder delivers the frame followed by fill.

use core::fmt;

use crate::{crc::crc16, mission, spp::SeqFlags};

/// Byte ranges of the frame header fields.
mod field {
    use core::ops::Range;
    /// Version, bypass, control command, spare, SCID (high two bits).
    pub const FLAGS_SCID_HI: usize = 0;
    /// SCID (low eight bits).
    pub const SCID_LO: usize = 1;
    /// VCID and frame length (high two bits).
    pub const VCID_LEN_HI: usize = 2;
    /// Frame length (low eight bits).
    pub const LEN_LO: usize = 3;
    /// Frame sequence number N(S).
    pub const SEQ: usize = 4;
    /// Start of the frame data field.
    pub const DATA: usize = 5;
    /// Header octets covering the declared length.
    pub const LEN_WORD: Range<usize> = 2..4;
}

/// Length of the frame primary header in octets.
pub const HEADER_LEN: usize = 5;
/// Length of the segment header of data frames.
pub const SEG_HEADER_LEN: usize = 1;
/// Length of the frame error control field.
pub const FECF_LEN: usize = 2;
/// Largest TC frame (CCSDS 232.0-B-4 §4.1.2.7, [`mission::MAX_TC_FRAME_LEN`]).
pub const MAX_LEN: usize = mission::MAX_TC_FRAME_LEN;
/// Smallest frame this profile allows: header, one data-field octet, FECF.
pub const MIN_LEN: usize = HEADER_LEN + 1 + FECF_LEN;
/// Largest segment (packet) a data frame carries: 1016 octets.
pub const MAX_DATA_LEN: usize = MAX_LEN - HEADER_LEN - SEG_HEADER_LEN - FECF_LEN;
/// The only transfer frame version number of TC frames (`00`).
pub const VERSION: u8 = 0;
/// Largest spacecraft identifier (10 bits).
pub const MAX_SCID: u16 = 0x3FF;
/// Largest virtual channel identifier (6 bits).
pub const MAX_VCID: u8 = 0x3F;
/// Largest MAP identifier (6 bits).
pub const MAX_MAP_ID: u8 = 0x3F;

/// Errors of the TC transfer frame layer.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The buffer is shorter than the header or the declared frame, or the declared frame is
    /// shorter than [`MIN_LEN`] (then `found` is the declared length).
    Truncated {
        /// Octets available (or declared).
        found: usize,
        /// Octets needed.
        expected: usize,
    },
    /// The transfer frame version number is not `00`.
    BadVersion(u8),
    /// The FECF does not match the frame.
    BadCrc {
        /// CRC computed over the frame.
        computed: u16,
        /// FECF carried by the frame.
        received: u16,
    },
    /// Bypass flag 0 with control command flag 1: reserved by CCSDS 232.0-B-4 §4.1.2.3.
    ReservedFrameType,
    /// The data field of a control frame is neither Unlock nor Set V(R).
    BadControlCommand {
        /// Length of the data field.
        len: usize,
        /// Its first octet (0 if empty).
        first: u8,
    },
    /// A field value does not fit its width or its allowed range (including non-zero spare
    /// bits).
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
                write!(f, "TC frame truncated: {found} octets, expected {expected}")
            }
            Error::BadVersion(v) => write!(f, "TC frame version {v}, expected 0"),
            Error::BadCrc { computed, received } => {
                write!(f, "TC frame FECF 0x{received:04X} does not match computed 0x{computed:04X}")
            }
            Error::ReservedFrameType => {
                write!(f, "TC frame with bypass 0 and control command 1 (reserved type)")
            }
            Error::BadControlCommand { len, first } => write!(
                f,
                "control frame data field of {len} octets starting 0x{first:02X} is neither \
                 Unlock nor Set V(R)"
            ),
            Error::FieldRange { field, value } => {
                write!(f, "TC frame field {field} out of range: {value}")
            }
            Error::BufferTooSmall { found, expected } => {
                write!(f, "output buffer of {found} octets, TC frame needs {expected}")
            }
        }
    }
}

impl core::error::Error for Error {}

/// COP-1 control commands carried by type-BC frames (CCSDS 232.0-B-4 §4.1.3.3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ControlCommand {
    /// Unlock: one octet `00`; clears the FARM-1 lockout.
    Unlock,
    /// Set V(R): `82 00 V(R)`; sets the FARM-1 receiver frame sequence number.
    SetVr(u8),
}

impl ControlCommand {
    /// Length of the encoded command.
    pub const fn len(self) -> usize {
        match self {
            ControlCommand::Unlock => 1,
            ControlCommand::SetVr(_) => 3,
        }
    }

    /// Always false: a control command has at least one octet (for clippy's `len` convention).
    pub const fn is_empty(self) -> bool {
        false
    }

    /// Decodes a control frame data field (exact length required).
    ///
    /// # Errors
    /// [`Error::BadControlCommand`].
    pub fn parse(data: &[u8]) -> Result<ControlCommand, Error> {
        match *data {
            [0x00] => Ok(ControlCommand::Unlock),
            [0x82, 0x00, vr] => Ok(ControlCommand::SetVr(vr)),
            _ => Err(Error::BadControlCommand {
                len: data.len(),
                first: data.first().copied().unwrap_or(0),
            }),
        }
    }

    /// The encoded command octets (the first [`ControlCommand::len`] are meaningful).
    pub const fn to_bytes(self) -> [u8; 3] {
        match self {
            ControlCommand::Unlock => [0x00, 0, 0],
            ControlCommand::SetVr(vr) => [0x82, 0x00, vr],
        }
    }
}

/// A read/write view of a TC transfer frame.
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

    /// Checks that the buffer holds the header and the whole frame it declares, and that the
    /// declared frame is at least [`MIN_LEN`] octets. Trailing octets (CLTU fill) are allowed.
    ///
    /// # Errors
    /// [`Error::Truncated`].
    pub fn check_len(&self) -> Result<(), Error> {
        let b = self.buffer.as_ref();
        let found = b.len();
        let word = b
            .get(field::LEN_WORD)
            .and_then(|w| w.first_chunk::<2>())
            .ok_or(Error::Truncated { found, expected: HEADER_LEN })?;
        let declared = usize::from(u16::from_be_bytes(*word) & 0x03FF) + 1;
        if declared < MIN_LEN {
            return Err(Error::Truncated { found: declared, expected: MIN_LEN });
        }
        if found < declared {
            return Err(Error::Truncated { found, expected: declared });
        }
        Ok(())
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    // Accessors below index within HEADER_LEN or frame_len, which check_len guarantees.

    #[allow(clippy::indexing_slicing)]
    fn octet(&self, i: usize) -> u8 {
        self.buffer.as_ref()[i]
    }

    /// Transfer frame version number (2 bits).
    pub fn version(&self) -> u8 {
        self.octet(field::FLAGS_SCID_HI) >> 6
    }

    /// Bypass flag (1 = type B, COP-1 acceptance checks bypassed).
    pub fn bypass(&self) -> bool {
        self.octet(field::FLAGS_SCID_HI) & 0x20 != 0
    }

    /// Control command flag (1 = the data field is a control command).
    pub fn control_command_flag(&self) -> bool {
        self.octet(field::FLAGS_SCID_HI) & 0x10 != 0
    }

    /// The two spare bits (should be `00`).
    pub fn spare(&self) -> u8 {
        (self.octet(field::FLAGS_SCID_HI) >> 2) & 0x03
    }

    /// Spacecraft identifier (10 bits).
    pub fn scid(&self) -> u16 {
        (u16::from(self.octet(field::FLAGS_SCID_HI) & 0x03) << 8)
            | u16::from(self.octet(field::SCID_LO))
    }

    /// Virtual channel identifier (6 bits).
    pub fn vcid(&self) -> u8 {
        self.octet(field::VCID_LEN_HI) >> 2
    }

    /// Frame length in octets (the header field plus one).
    pub fn frame_len(&self) -> usize {
        (usize::from(self.octet(field::VCID_LEN_HI) & 0x03) << 8)
            + usize::from(self.octet(field::LEN_LO))
            + 1
    }

    /// Frame sequence number N(S).
    pub fn seq_num(&self) -> u8 {
        self.octet(field::SEQ)
    }

    /// The frame data field (segment header and segment, or control command).
    #[allow(clippy::indexing_slicing)]
    pub fn data_field(&self) -> &[u8] {
        &self.buffer.as_ref()[field::DATA..self.frame_len() - FECF_LEN]
    }

    /// The FECF carried by the frame.
    #[allow(clippy::indexing_slicing)]
    pub fn fecf(&self) -> u16 {
        let end = self.frame_len();
        let b = &self.buffer.as_ref()[end - FECF_LEN..end];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// The whole frame without trailing octets.
    #[allow(clippy::indexing_slicing)]
    pub fn as_bytes(&self) -> &[u8] {
        &self.buffer.as_ref()[..self.frame_len()]
    }

    /// Verifies the FECF.
    ///
    /// # Errors
    /// [`Error::BadCrc`].
    #[allow(clippy::indexing_slicing)]
    pub fn check_fecf(&self) -> Result<(), Error> {
        let end = self.frame_len();
        let computed = crc16(&self.buffer.as_ref()[..end - FECF_LEN]);
        let received = self.fecf();
        if computed != received {
            return Err(Error::BadCrc { computed, received });
        }
        Ok(())
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Writes the whole five-octet header. Values are masked to their widths; callers validate.
    #[allow(clippy::indexing_slicing)]
    pub fn set_header(
        &mut self,
        bypass: bool,
        control_command: bool,
        scid: u16,
        vcid: u8,
        frame_len: usize,
        seq_num: u8,
    ) {
        let len_field = (frame_len.saturating_sub(1) & 0x03FF) as u16;
        let b = self.buffer.as_mut();
        b[field::FLAGS_SCID_HI] = (VERSION << 6)
            | (u8::from(bypass) << 5)
            | (u8::from(control_command) << 4)
            | ((scid >> 8) & 0x03) as u8;
        b[field::SCID_LO] = (scid & 0xFF) as u8;
        b[field::VCID_LEN_HI] = ((vcid & MAX_VCID) << 2) | (len_field >> 8) as u8;
        b[field::LEN_LO] = (len_field & 0xFF) as u8;
        b[field::SEQ] = seq_num;
    }

    /// The mutable frame data field (as declared by the header).
    #[allow(clippy::indexing_slicing)]
    pub fn data_field_mut(&mut self) -> &mut [u8] {
        let end = self.frame_len() - FECF_LEN;
        &mut self.buffer.as_mut()[field::DATA..end]
    }

    /// Computes and writes the FECF over the rest of the frame.
    #[allow(clippy::indexing_slicing)]
    pub fn fill_fecf(&mut self) {
        let end = self.frame_len();
        let crc = crc16(&self.buffer.as_ref()[..end - FECF_LEN]);
        self.buffer.as_mut()[end - FECF_LEN..end].copy_from_slice(&crc.to_be_bytes());
    }
}

/// What a frame carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Body<'a> {
    /// A data frame (type AD or BD): segment header and one segment.
    Data {
        /// Segment header sequence flags (`11` = unsegmented, what this mission sends).
        seq_flags: SeqFlags,
        /// Multiplexer access point identifier (6 bits; [`mission::TC_MAP_ID`]).
        map_id: u8,
        /// The segment: one PUS TC packet.
        data: &'a [u8],
    },
    /// A control frame (type BC) with its COP-1 control command.
    Control(ControlCommand),
}

/// The validated content of a TC transfer frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Repr<'a> {
    /// Bypass flag: false = type A (sequence-controlled, AD), true = type B (BD or BC).
    pub bypass: bool,
    /// Spacecraft identifier (10 bits; not checked by the parser).
    pub scid: u16,
    /// Virtual channel identifier (6 bits).
    pub vcid: u8,
    /// Frame sequence number N(S) (meaningful for type-AD frames).
    pub seq_num: u8,
    /// Data or control command.
    pub body: Body<'a>,
}

impl<'a> Repr<'a> {
    /// Parses and validates a frame, FECF included.
    ///
    /// Checks, in order: length, FECF, version `00`, spare `00`, frame type, and for control
    /// frames the command. The SCID and VCID are returned, not checked.
    ///
    /// # Errors
    /// [`Error::Truncated`], [`Error::BadCrc`], [`Error::BadVersion`], [`Error::FieldRange`]
    /// (spare), [`Error::ReservedFrameType`], [`Error::BadControlCommand`].
    ///
    /// # Panics
    /// Never.
    pub fn parse(frame: &Packet<&'a [u8]>) -> Result<Repr<'a>, Error> {
        frame.check_len()?;
        frame.check_fecf()?;
        Self::parse_fields(frame)
    }

    /// Parses a frame from bytes (see [`Repr::parse`]); octets after the frame are ignored.
    ///
    /// # Errors
    /// As [`Repr::parse`].
    pub fn parse_bytes(bytes: &'a [u8]) -> Result<Repr<'a>, Error> {
        Self::parse(&Packet::new_unchecked(bytes))
    }

    /// Like [`Repr::parse`] but does not verify the FECF (tests and fault analysis only).
    ///
    /// # Errors
    /// As [`Repr::parse`], except [`Error::BadCrc`].
    pub fn parse_without_fecf_check(frame: &Packet<&'a [u8]>) -> Result<Repr<'a>, Error> {
        frame.check_len()?;
        Self::parse_fields(frame)
    }

    fn parse_fields(frame: &Packet<&'a [u8]>) -> Result<Repr<'a>, Error> {
        if frame.version() != VERSION {
            return Err(Error::BadVersion(frame.version()));
        }
        if frame.spare() != 0 {
            return Err(Error::FieldRange { field: "spare", value: u32::from(frame.spare()) });
        }
        let end = frame.frame_len() - FECF_LEN;
        let data_field = frame
            .buffer
            .get(field::DATA..end)
            .ok_or(Error::Truncated { found: frame.buffer.len(), expected: MIN_LEN })?;
        let body = match (frame.bypass(), frame.control_command_flag()) {
            (false, true) => return Err(Error::ReservedFrameType),
            (true, true) => Body::Control(ControlCommand::parse(data_field)?),
            (_, false) => {
                let (&seg, data) = data_field
                    .split_first()
                    .ok_or(Error::Truncated { found: frame.buffer.len(), expected: MIN_LEN })?;
                Body::Data {
                    seq_flags: SeqFlags::from_bits(seg >> 6),
                    map_id: seg & MAX_MAP_ID,
                    data,
                }
            }
        };
        Ok(Repr {
            bypass: frame.bypass(),
            scid: frame.scid(),
            vcid: frame.vcid(),
            seq_num: frame.seq_num(),
            body,
        })
    }

    /// Octets of the emitted frame.
    pub const fn buffer_len(&self) -> usize {
        let field_len = match self.body {
            Body::Data { data, .. } => SEG_HEADER_LEN + data.len(),
            Body::Control(c) => c.len(),
        };
        HEADER_LEN + field_len + FECF_LEN
    }

    /// Writes the whole frame, FECF included, at the start of `buf`; returns its length.
    ///
    /// # Errors
    /// [`Error::FieldRange`] if the SCID, VCID or MAP ID exceed their widths or the frame would
    /// exceed [`MAX_LEN`]; [`Error::ReservedFrameType`] for a control command without the bypass
    /// flag; [`Error::BufferTooSmall`].
    ///
    /// # Panics
    /// Never.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        if self.scid > MAX_SCID {
            return Err(Error::FieldRange { field: "scid", value: u32::from(self.scid) });
        }
        if self.vcid > MAX_VCID {
            return Err(Error::FieldRange { field: "vcid", value: u32::from(self.vcid) });
        }
        let len = self.buffer_len();
        if len > MAX_LEN {
            return Err(Error::FieldRange { field: "frame_len", value: len as u32 });
        }
        let control = match self.body {
            Body::Data { map_id, .. } if map_id > MAX_MAP_ID => {
                return Err(Error::FieldRange { field: "map_id", value: u32::from(map_id) });
            }
            Body::Control(_) if !self.bypass => return Err(Error::ReservedFrameType),
            Body::Data { .. } => false,
            Body::Control(_) => true,
        };
        let found = buf.len();
        let out = buf.get_mut(..len).ok_or(Error::BufferTooSmall { found, expected: len })?;
        let mut p = Packet::new_unchecked(out);
        p.set_header(self.bypass, control, self.scid, self.vcid, len, self.seq_num);
        let df = p.data_field_mut();
        match self.body {
            Body::Data { seq_flags, map_id, data } => {
                if let Some((seg, rest)) = df.split_first_mut() {
                    *seg = (seq_flags.bits() << 6) | map_id;
                    rest.copy_from_slice(data);
                }
            }
            Body::Control(c) => {
                let bytes = c.to_bytes();
                if let Some(src) = bytes.get(..df.len()) {
                    df.copy_from_slice(src);
                }
            }
        }
        p.fill_fecf();
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // SpacePyLibrary UnitTest/testData.py TC_FRAME_02, also in Yamcs BchCltuGeneratorTest.java:
    // BD frame, SCID 0x2F6, VCID 0, 36 octets, N(S) 0, segment header 0x82 (last segment, MAP 2).
    static FRAME_02: [u8; 36] = [
        0x22, 0xF6, 0x00, 0x23, 0x00, 0x82, 0x00, 0x0F, 0x00, 0x1D, 0xFF, 0x00, 0x00, 0x00, 0x00,
        0x0F, 0x00, 0x1E, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x0F, 0x00, 0x1F, 0xFF, 0x00, 0x00, 0x00,
        0x00, 0x0F, 0xAC, 0x8F, 0x00, 0x68,
    ];

    #[test]
    fn parse_published_frame() {
        let r = Repr::parse_bytes(&FRAME_02).unwrap();
        assert!(r.bypass);
        assert_eq!((r.scid, r.vcid, r.seq_num), (0x2F6, 0, 0));
        match r.body {
            Body::Data { seq_flags, map_id, data } => {
                assert_eq!(seq_flags, SeqFlags::Last);
                assert_eq!(map_id, 2);
                assert_eq!(data.len(), 36 - 8);
            }
            Body::Control(_) => panic!("data frame expected"),
        }
        let mut out = [0u8; 36];
        assert_eq!(r.emit(&mut out), Ok(36));
        assert_eq!(out, FRAME_02);
    }

    fn control(cmd: ControlCommand) -> Repr<'static> {
        Repr { bypass: true, scid: mission::SCID, vcid: 0, seq_num: 0, body: Body::Control(cmd) }
    }

    #[test]
    fn emit_unlock_and_set_vr() {
        let mut out = [0u8; 16];
        assert_eq!(control(ControlCommand::Unlock).emit(&mut out), Ok(8));
        assert_eq!(&out[..6], &[0x30, 0x53, 0x00, 0x07, 0x00, 0x00]);
        assert_eq!(Repr::parse_bytes(&out), Ok(control(ControlCommand::Unlock)));
        assert_eq!(control(ControlCommand::SetVr(0x2A)).emit(&mut out), Ok(10));
        assert_eq!(&out[..8], &[0x30, 0x53, 0x00, 0x09, 0x00, 0x82, 0x00, 0x2A]);
        assert_eq!(Repr::parse_bytes(&out[..10]), Ok(control(ControlCommand::SetVr(0x2A))));
    }

    #[test]
    fn truncated_frames() {
        assert_eq!(
            Repr::parse_bytes(&FRAME_02[..35]),
            Err(Error::Truncated { found: 35, expected: 36 })
        );
        assert_eq!(
            Repr::parse_bytes(&FRAME_02[..3]),
            Err(Error::Truncated { found: 3, expected: 5 })
        );
        let mut b = FRAME_02;
        b[3] = 0x05; // declares 6 octets
        assert_eq!(Repr::parse_bytes(&b), Err(Error::Truncated { found: 6, expected: 8 }));
    }

    #[test]
    fn bad_crc_frame() {
        let mut b = FRAME_02;
        b[10] ^= 0x04;
        assert!(matches!(Repr::parse_bytes(&b), Err(Error::BadCrc { received: 0x0068, .. })));
        assert!(Repr::parse_without_fecf_check(&Packet::new_unchecked(&b[..])).is_ok());
    }

    fn refecf(mut b: [u8; 36]) -> [u8; 36] {
        let c = crc16(&b[..34]).to_be_bytes();
        b[34..].copy_from_slice(&c);
        b
    }

    #[test]
    fn bad_version_spare_type() {
        let mut b = FRAME_02;
        b[0] |= 0x40;
        assert_eq!(Repr::parse_bytes(&refecf(b)), Err(Error::BadVersion(1)));
        let mut b = FRAME_02;
        b[0] |= 0x04;
        assert_eq!(
            Repr::parse_bytes(&refecf(b)),
            Err(Error::FieldRange { field: "spare", value: 1 })
        );
        let mut b = FRAME_02;
        b[0] = (b[0] & !0x20) | 0x10; // bypass 0, control 1
        assert_eq!(Repr::parse_bytes(&refecf(b)), Err(Error::ReservedFrameType));
        let mut b = FRAME_02;
        b[0] |= 0x10; // BC with a data field that is not a control command
        assert_eq!(
            Repr::parse_bytes(&refecf(b)),
            Err(Error::BadControlCommand { len: 29, first: 0x82 })
        );
    }

    #[test]
    fn emit_limits() {
        let big = [0u8; MAX_DATA_LEN + 1];
        let r = Repr {
            bypass: false,
            scid: mission::SCID,
            vcid: 0,
            seq_num: 1,
            body: Body::Data { seq_flags: SeqFlags::Unsegmented, map_id: 0, data: &big },
        };
        assert_eq!(
            r.emit(&mut [0u8; 2048]),
            Err(Error::FieldRange { field: "frame_len", value: 1025 })
        );
        let ok = Repr {
            body: Body::Data {
                seq_flags: SeqFlags::Unsegmented,
                map_id: 0,
                data: &big[..MAX_DATA_LEN],
            },
            ..r
        };
        assert_eq!(ok.emit(&mut [0u8; 1024]), Ok(1024));
        assert_eq!(
            Repr { scid: 0x400, ..ok }.emit(&mut [0u8; 1024]),
            Err(Error::FieldRange { field: "scid", value: 0x400 })
        );
        assert_eq!(
            Repr { vcid: 64, ..ok }.emit(&mut [0u8; 1024]),
            Err(Error::FieldRange { field: "vcid", value: 64 })
        );
        assert_eq!(
            Repr { bypass: false, ..control(ControlCommand::Unlock) }.emit(&mut [0u8; 8]),
            Err(Error::ReservedFrameType)
        );
        assert_eq!(
            ok.emit(&mut [0u8; 100]),
            Err(Error::BufferTooSmall { found: 100, expected: 1024 })
        );
    }

    #[test]
    fn max_data_len_is_max_tc_packet() {
        assert_eq!(MAX_DATA_LEN, mission::MAX_TC_PACKET_LEN);
    }
}
