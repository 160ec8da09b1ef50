//! PUS-C packets: TC and TM secondary headers, packet error control and on-board time
//! (ECSS-E-ST-70-41C §7.4, CCSDS 301.0-B-4 §3.2).
//!
//! - [`tc`]: telecommand packets (primary header + 5-octet secondary header + application data +
//!   PEC), minimum 13 octets.
//! - [`tm`]: telemetry packets (primary header + 13-octet secondary header with the 6-octet CUC
//!   time + source data + PEC), minimum 21 octets.
//! - [`time`]: the CUC 4+2 on-board time, agency epoch 2017-01-01T00:00:00 TT.
//!
//! Every PUS packet of the mission ends with a packet error control field: CRC-16/CCITT-FALSE
//! over all preceding octets, primary header included (ECSS-E-ST-70-41C §7.4.3.1, `ICD.md` §2).
//! [`pec`] computes it and [`check_pec`] verifies it.

use core::fmt;

use crate::spp;

pub mod tc;
pub mod time;
pub mod tm;

pub use tc::{Packet as TcPacket, Repr as TcRepr};
pub use time::Cuc;
pub use tm::{Packet as TmPacket, Repr as TmRepr};

/// The PUS version number of PUS-C (ECSS-E-ST-70-41C §7.4.3.1: `2`), in TC and TM secondary
/// headers alike.
pub const PUS_VERSION: u8 = 2;

/// Length of the packet error control field in octets.
pub const PEC_LEN: usize = 2;

/// Errors of the PUS layer (secondary headers, packet error control, time).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The buffer is shorter than the minimum packet or than the length the header declares.
    Truncated {
        /// Octets available (or declared by the header, when the declaration is the problem).
        found: usize,
        /// Octets needed.
        expected: usize,
    },
    /// The packet error control does not match the packet.
    BadCrc {
        /// CRC computed over the packet.
        computed: u16,
        /// CRC carried in the packet.
        received: u16,
    },
    /// The PUS version in the secondary header is not 2 (PUS-C).
    BadPusVersion(u8),
    /// A TM packet was given to the TC parser, or the reverse.
    WrongPacketType,
    /// The secondary header flag of the primary header is not set.
    NoSecondaryHeader,
    /// The output buffer is too small to emit into.
    BufferTooSmall {
        /// Octets available.
        found: usize,
        /// Octets needed.
        expected: usize,
    },
    /// A field value does not fit its width or its allowed range.
    FieldRange {
        /// Which field.
        field: &'static str,
        /// The offending value.
        value: u32,
    },
    /// The packet is longer than the mission allows (see [`tc::check_mission_len`]).
    TooLong {
        /// Length of the packet in octets.
        len: usize,
        /// Largest length allowed.
        max: usize,
    },
    /// A CUC preamble field (P-field) this codec cannot represent (CCSDS 301.0-B-4 §3.2.2).
    BadPField(u8),
    /// The space packet primary header is invalid.
    Spp(spp::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Truncated { found, expected } => {
                write!(f, "PUS packet truncated: {found} octets, expected {expected}")
            }
            Error::BadCrc { computed, received } => write!(
                f,
                "PUS packet error control 0x{received:04X} does not match computed 0x{computed:04X}"
            ),
            Error::BadPusVersion(v) => write!(f, "PUS version {v}, expected {PUS_VERSION}"),
            Error::WrongPacketType => {
                write!(f, "wrong packet type (TM where TC expected or reverse)")
            }
            Error::NoSecondaryHeader => write!(f, "secondary header flag not set"),
            Error::BufferTooSmall { found, expected } => {
                write!(f, "output buffer of {found} octets, PUS packet needs {expected}")
            }
            Error::FieldRange { field, value } => {
                write!(f, "PUS field {field} out of range: {value}")
            }
            Error::TooLong { len, max } => {
                write!(f, "PUS packet of {len} octets exceeds the mission maximum of {max}")
            }
            Error::BadPField(p) => write!(f, "unsupported CUC P-field 0x{p:02X}"),
            Error::Spp(e) => write!(f, "{e}"),
        }
    }
}

impl core::error::Error for Error {}

impl From<spp::Error> for Error {
    fn from(e: spp::Error) -> Self {
        Error::Spp(e)
    }
}

/// The four acknowledgement flags of a TC secondary header (ECSS-E-ST-70-41C §7.4.3.1,
/// table 7-3 "TC packet secondary header").
///
/// The field is 4 bits wide, the low nibble of the first secondary header octet. ECSS numbers
/// bits from the most significant one, so its "bit 0" is the nibble's MSB:
///
/// | nibble bit (MSB = 3) | ECSS bit | report requested |
/// |---|---|---|
/// | 3 (`0b1000`) | 0 | successful acceptance (ST\[01\] 1,1) |
/// | 2 (`0b0100`) | 1 | successful start of execution (1,3) |
/// | 1 (`0b0010`) | 2 | successful progress of execution (1,5) |
/// | 0 (`0b0001`) | 3 | successful completion of execution (1,7) |
///
/// This is the order `spacepackets` 0.19 uses (`ecss::tc::AckFlags`, acceptance = bit 3), which
/// the cross-check tests confirm byte for byte. Failure reports are always sent, whatever the flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AckFlags(u8);

impl AckFlags {
    /// Acceptance report requested (`0b1000`).
    pub const ACCEPTANCE: AckFlags = AckFlags(0b1000);
    /// Start-of-execution report requested (`0b0100`).
    pub const START: AckFlags = AckFlags(0b0100);
    /// Progress-of-execution reports requested (`0b0010`).
    pub const PROGRESS: AckFlags = AckFlags(0b0010);
    /// Completion-of-execution report requested (`0b0001`).
    pub const COMPLETION: AckFlags = AckFlags(0b0001);
    /// No success report requested.
    pub const NONE: AckFlags = AckFlags(0);
    /// All four success reports requested.
    pub const ALL: AckFlags = AckFlags(0b1111);

    /// Checked constructor from the 4-bit field value: `None` above `0b1111`.
    pub const fn new(bits: u8) -> Option<AckFlags> {
        if bits <= 0x0F { Some(AckFlags(bits)) } else { None }
    }

    /// Constructor that keeps the low four bits.
    pub const fn new_masked(bits: u8) -> AckFlags {
        AckFlags(bits & 0x0F)
    }

    /// The 4-bit field value.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether an acceptance report is requested.
    pub const fn acceptance(self) -> bool {
        self.0 & Self::ACCEPTANCE.0 != 0
    }

    /// Whether a start-of-execution report is requested.
    pub const fn start(self) -> bool {
        self.0 & Self::START.0 != 0
    }

    /// Whether progress-of-execution reports are requested.
    pub const fn progress(self) -> bool {
        self.0 & Self::PROGRESS.0 != 0
    }

    /// Whether a completion-of-execution report is requested.
    pub const fn completion(self) -> bool {
        self.0 & Self::COMPLETION.0 != 0
    }

    /// The union of two flag sets.
    #[must_use]
    pub const fn union(self, other: AckFlags) -> AckFlags {
        AckFlags(self.0 | other.0)
    }

    /// Whether every flag of `other` is also set in `self`.
    pub const fn contains(self, other: AckFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl core::ops::BitOr for AckFlags {
    type Output = AckFlags;
    fn bitor(self, rhs: AckFlags) -> AckFlags {
        self.union(rhs)
    }
}

impl fmt::Display for AckFlags {
    /// Four characters, `A`, `S`, `P`, `C` for a set flag and `-` for a clear one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = |set: bool, ch: char| if set { ch } else { '-' };
        write!(
            f,
            "{}{}{}{}",
            c(self.acceptance(), 'A'),
            c(self.start(), 'S'),
            c(self.progress(), 'P'),
            c(self.completion(), 'C')
        )
    }
}

/// Packet error control of `data`: CRC-16/CCITT-FALSE (ECSS-E-ST-70-41C §7.4.3.1).
///
/// # Panics
/// Never.
#[inline]
pub fn pec(data: &[u8]) -> u16 {
    crate::crc::crc16(data)
}

/// Verifies the packet error control of a whole packet: the last two octets must be the
/// CRC-16/CCITT-FALSE of everything before them.
///
/// # Errors
/// [`Error::Truncated`] if `packet` is shorter than the PEC itself; [`Error::BadCrc`] if the CRC
/// does not match.
///
/// # Panics
/// Never.
#[inline]
pub fn check_pec(packet: &[u8]) -> Result<(), Error> {
    let split = packet
        .len()
        .checked_sub(PEC_LEN)
        .ok_or(Error::Truncated { found: packet.len(), expected: PEC_LEN })?;
    let (body, tail) = packet
        .split_at_checked(split)
        .ok_or(Error::Truncated { found: packet.len(), expected: PEC_LEN })?;
    let received = match tail {
        [a, b] => u16::from_be_bytes([*a, *b]),
        _ => return Err(Error::Truncated { found: packet.len(), expected: PEC_LEN }),
    };
    let computed = pec(body);
    if computed != received {
        return Err(Error::BadCrc { computed, received });
    }
    Ok(())
}

/// Writes the packet error control into the last two octets of `packet`, computed over all the
/// octets before them.
///
/// # Errors
/// [`Error::BufferTooSmall`] if `packet` is shorter than the PEC itself.
///
/// # Panics
/// Never.
#[inline]
pub fn write_pec(packet: &mut [u8]) -> Result<(), Error> {
    let found = packet.len();
    let split =
        found.checked_sub(PEC_LEN).ok_or(Error::BufferTooSmall { found, expected: PEC_LEN })?;
    let (body, tail) = packet
        .split_at_mut_checked(split)
        .ok_or(Error::BufferTooSmall { found, expected: PEC_LEN })?;
    tail.copy_from_slice(&pec(body).to_be_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ack_flags_bit_order() {
        assert_eq!(AckFlags::ACCEPTANCE.bits(), 0b1000);
        assert_eq!(AckFlags::COMPLETION.bits(), 0b0001);
        let f = AckFlags::ACCEPTANCE | AckFlags::COMPLETION;
        assert!(f.acceptance() && f.completion() && !f.start() && !f.progress());
        assert!(AckFlags::ALL.contains(f));
        assert_eq!(AckFlags::new(0x10), None);
        assert_eq!(AckFlags::new_masked(0x1F), AckFlags::ALL);
        assert_eq!(std::format!("{f}"), "A--C");
    }

    #[test]
    fn pec_check_value() {
        assert_eq!(pec(b"123456789"), 0x29B1);
    }

    #[test]
    fn write_then_check_pec() {
        let mut p = *b"123456789\0\0";
        write_pec(&mut p).unwrap();
        assert_eq!(&p[9..], &[0x29, 0xB1]);
        check_pec(&p).unwrap();
        p[0] ^= 1;
        assert!(matches!(check_pec(&p), Err(Error::BadCrc { received: 0x29B1, .. })));
    }

    #[test]
    fn truncated_pec() {
        assert_eq!(check_pec(&[0x12]), Err(Error::Truncated { found: 1, expected: 2 }));
        assert_eq!(write_pec(&mut [0u8]), Err(Error::BufferTooSmall { found: 1, expected: 2 }));
    }

    #[test]
    fn display_names_the_reason() {
        let e = Error::BadCrc { computed: 0x1234, received: 0xABCD };
        assert_eq!(
            std::format!("{e}"),
            "PUS packet error control 0xABCD does not match computed 0x1234"
        );
    }
}
