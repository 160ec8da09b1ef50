//! The communications link control word (CCSDS 232.0-B-4 §4.2).
//!
//! ```text
//! bit 31  30-29  28-26   25-24  23-18  17-16  15    14     13   12   11     10-9   8     7-0
//!    type version status  COP   VCID   spare NoRF NoBitLk Lock Wait Retx FARM-B spare  N(R)
//! ```

/// COP in effect: COP-1 (`01`).
pub const COP_1: u8 = 0b01;

/// Bits of the CLCW word that are spare (always written 0).
pub const SPARE_MASK: u32 = 0x0003_0100;

/// A communications link control word, every field separately.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Clcw {
    /// Control word type: `false` (0) for a CLCW.
    pub control_word_type: bool,
    /// CLCW version number (2 bits, `00`).
    pub version: u8,
    /// Status field (3 bits, mission specific; 0 here).
    pub status: u8,
    /// COP in effect (2 bits, [`COP_1`]).
    pub cop_in_effect: u8,
    /// Virtual channel of the report (6 bits).
    pub vcid: u8,
    /// No RF available flag.
    pub no_rf_avail: bool,
    /// No bit lock flag.
    pub no_bit_lock: bool,
    /// Lockout flag.
    pub lockout: bool,
    /// Wait flag.
    pub wait: bool,
    /// Retransmit flag.
    pub retransmit: bool,
    /// FARM-B counter, two least significant bits.
    pub farm_b_counter: u8,
    /// Report value N(R): the next expected frame sequence number V(R).
    pub report_value: u8,
}

impl Clcw {
    /// The 32-bit word (fields masked to their widths, spare bits 0).
    pub const fn to_u32(&self) -> u32 {
        ((self.control_word_type as u32) << 31)
            | (((self.version & 0b11) as u32) << 29)
            | (((self.status & 0b111) as u32) << 26)
            | (((self.cop_in_effect & 0b11) as u32) << 24)
            | (((self.vcid & 0x3F) as u32) << 18)
            | ((self.no_rf_avail as u32) << 15)
            | ((self.no_bit_lock as u32) << 14)
            | ((self.lockout as u32) << 13)
            | ((self.wait as u32) << 12)
            | ((self.retransmit as u32) << 11)
            | (((self.farm_b_counter & 0b11) as u32) << 9)
            | self.report_value as u32
    }

    /// Splits a 32-bit word into fields (spare bits ignored). Total: any word gives a value;
    /// use [`Clcw::is_cop1_clcw`] to check it is a COP-1 CLCW.
    pub const fn from_u32(w: u32) -> Clcw {
        Clcw {
            control_word_type: w & (1 << 31) != 0,
            version: ((w >> 29) & 0b11) as u8,
            status: ((w >> 26) & 0b111) as u8,
            cop_in_effect: ((w >> 24) & 0b11) as u8,
            vcid: ((w >> 18) & 0x3F) as u8,
            no_rf_avail: w & (1 << 15) != 0,
            no_bit_lock: w & (1 << 14) != 0,
            lockout: w & (1 << 13) != 0,
            wait: w & (1 << 12) != 0,
            retransmit: w & (1 << 11) != 0,
            farm_b_counter: ((w >> 9) & 0b11) as u8,
            report_value: w as u8,
        }
    }

    /// Whether this is a version-1 CLCW reporting COP-1 (type 0, version 0, COP `01`).
    pub const fn is_cop1_clcw(&self) -> bool {
        !self.control_word_type && self.version == 0 && self.cop_in_effect == COP_1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // ccsds_tmtc_py tests/test_clcw.py (a port of dariolucia/ccsds): status 3, COP-1, VCID 5,
    // NoRF 1, NoBitLock 0, Lockout 1, Wait 0, Retransmit 1, FARM-B 2, report 0x42; its octet 0
    // is 0x0D. The other octets follow from the field layout of 232.0-B-4 §4.2.
    const PUBLISHED: u32 = 0x0D14_AC42;

    #[test]
    fn parse_published_clcw() {
        let c = Clcw::from_u32(PUBLISHED);
        assert!(c.is_cop1_clcw());
        assert_eq!((c.status, c.vcid, c.farm_b_counter, c.report_value), (3, 5, 2, 0x42));
        assert!(c.no_rf_avail && !c.no_bit_lock && c.lockout && !c.wait && c.retransmit);
        assert_eq!(c.to_u32(), PUBLISHED);
    }

    #[test]
    fn spare_bits_are_dropped() {
        assert_eq!(Clcw::from_u32(SPARE_MASK).to_u32(), 0);
    }

    #[test]
    fn type_1_word_is_not_a_clcw() {
        assert!(!Clcw::from_u32(0x8100_0000).is_cop1_clcw());
    }
}
