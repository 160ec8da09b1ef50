//! Cyclic redundancy checks used on the link and in stored images.
//!
//! - CRC-16/CCITT-FALSE (poly `0x1021`, init `0xFFFF`, no reflection, no final XOR, check value
//!   `0x29B1`): the PUS packet error control (ECSS-E-ST-70-41C §7.4.3.1), the TC frame FECF
//!   (CCSDS 232.0-B-4 §4.1.4.2) and the AOS frame FECF (CCSDS 732.0-B-4 §4.1.6).
//! - CRC-32/ISO-HDLC (the zlib/PNG CRC, check value `0xCBF43926`): table images, software images
//!   and the ST\[06\] memory check (project choice, `docs/icd/services.md`).
//!
//! Both use 16-way slicing tables computed at compile time (8 KiB and 16 KiB of flash), which is
//! what makes the PUS decode rate in the README possible.
//!
//! Note the trap recorded in `STANDARDS.md`: cFE uses CRC-16/ARC (check value `0xBB3D`), which is
//! *not* this CRC.

use crc::{CRC_16_IBM_3740, CRC_32_ISO_HDLC, Crc, Table};

/// The CRC-16/CCITT-FALSE engine (catalogued as CRC-16/IBM-3740).
pub const CRC16_CCITT_FALSE: Crc<u16, Table<16>> = Crc::<u16, Table<16>>::new(&CRC_16_IBM_3740);

/// The CRC-32/ISO-HDLC engine.
pub const CRC32_ISO_HDLC: Crc<u32, Table<16>> = Crc::<u32, Table<16>>::new(&CRC_32_ISO_HDLC);

/// Check value of CRC-16/CCITT-FALSE over the ASCII bytes `123456789`.
pub const CRC16_CHECK: u16 = 0x29B1;

/// Check value of CRC-32/ISO-HDLC over the ASCII bytes `123456789`.
pub const CRC32_CHECK: u32 = 0xCBF4_3926;

/// CRC-16/CCITT-FALSE of `data`.
///
/// # Panics
/// Never.
#[inline]
pub fn crc16(data: &[u8]) -> u16 {
    CRC16_CCITT_FALSE.checksum(data)
}

/// CRC-32/ISO-HDLC of `data`.
///
/// # Panics
/// Never.
#[inline]
pub fn crc32(data: &[u8]) -> u32 {
    CRC32_ISO_HDLC.checksum(data)
}

/// Incremental CRC-32/ISO-HDLC, for images that arrive in segments.
pub struct Crc32Digest(crc::Digest<'static, u32, Table<16>>);

impl Crc32Digest {
    /// Starts a new digest.
    pub fn new() -> Self {
        Self(CRC32_ISO_HDLC.digest())
    }

    /// Feeds more bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// Returns the CRC of everything fed so far.
    pub fn finalize(self) -> u32 {
        self.0.finalize()
    }
}

impl Default for Crc32Digest {
    fn default() -> Self {
        Self::new()
    }
}

/// Incremental CRC-16/CCITT-FALSE, for data checked across several buffers.
pub struct Crc16Digest(crc::Digest<'static, u16, Table<16>>);

impl Crc16Digest {
    /// Starts a new digest.
    pub fn new() -> Self {
        Self(CRC16_CCITT_FALSE.digest())
    }

    /// Feeds more bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// Returns the CRC of everything fed so far.
    pub fn finalize(self) -> u16 {
        self.0.finalize()
    }
}

impl Default for Crc16Digest {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc16_check_value() {
        assert_eq!(crc16(b"123456789"), CRC16_CHECK);
    }

    #[test]
    fn crc16_is_not_crc16_arc() {
        // cFE's CRC-16/ARC gives 0xBB3D on the same input: make sure we are not that one.
        assert_ne!(crc16(b"123456789"), 0xBB3D);
    }

    #[test]
    fn crc16_of_message_with_its_crc_is_zero() {
        let mut msg = *b"ECLAIRs\0\0";
        let c = crc16(&msg[..7]);
        msg[7..].copy_from_slice(&c.to_be_bytes());
        assert_eq!(crc16(&msg), 0);
    }

    #[test]
    fn crc32_check_value() {
        assert_eq!(crc32(b"123456789"), CRC32_CHECK);
    }

    #[test]
    fn digests_match_one_shot() {
        let mut d = Crc32Digest::new();
        d.update(b"1234");
        d.update(b"56789");
        assert_eq!(d.finalize(), CRC32_CHECK);
        let mut d = Crc16Digest::new();
        d.update(b"12345");
        d.update(b"6789");
        assert_eq!(d.finalize(), CRC16_CHECK);
    }
}
