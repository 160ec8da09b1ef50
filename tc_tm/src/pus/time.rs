//! On-board time: CCSDS unsegmented time code (CUC), 4 coarse + 2 fine octets, agency epoch
//! 2017-01-01T00:00:00 TT (CCSDS 301.0-B-4 §3.2, `ICD.md` §2, SVOM `MJDREF` 57754).
//!
//! In the TM secondary header the P-field is implicit (`0x2E`, [`mission::CUC_PFIELD`]): the time
//! field is just the six T-field octets ([`Cuc::parse`], [`Cuc::emit`]). Where a P-field travels
//! with the time (file headers, ST\[11\] requests of other missions) use
//! [`Cuc::parse_with_pfield`] and [`Cuc::emit_with_pfield`].
//!
//! The fine time unit is 2⁻¹⁶ s (15.258 789 µs). The time scale is TT, so no leap second ever
//! enters a CUC value; [`Cuc::to_unix_utc`] and [`Cuc::from_unix_utc`] go through
//! TT = TAI + 32.184 s and the TAI − UTC table [`LEAP_SECONDS`].
//!
//! Every conversion is checked: out-of-range input gives `None`, never a panic or a wrap.
//!
//! [`mission::CUC_PFIELD`]: crate::mission::CUC_PFIELD

use core::fmt;

use super::Error;
use crate::mission;

/// Length of the T-field (4 coarse + 2 fine octets).
pub const LEN: usize = 6;

/// Fine-time ticks per second (2¹⁶).
pub const TICKS_PER_SEC: u64 = 1 << 16;

/// Largest tick count a [`Cuc`] holds (2⁴⁸ − 1).
pub const MAX_TICKS: u64 = (1 << 48) - 1;

/// Unix time (UTC seconds since 1970-01-01, leap seconds not counted) of 2017-01-01T00:00:00 UTC.
/// It is also the "calendar seconds" of 2017-01-01T00:00:00 in any uniform scale, which is how
/// the TT epoch is placed.
pub const UNIX_2017: i64 = 1_483_228_800;

/// TT − TAI, in nanoseconds (32.184 s, exact by definition).
pub const TT_MINUS_TAI_NS: i128 = 32_184_000_000;

/// TAI − UTC since a given UTC instant: `(unix_seconds_utc, tai_minus_utc_seconds)`, sorted.
///
/// Only the entries that can matter for a CUC value are kept (the epoch is 2016-12-31T23:58:51.816
/// UTC, before the leap second of 2016-12-31T23:59:60). To add a leap second announced by IERS
/// Bulletin C, append one row.
pub const LEAP_SECONDS: &[(i64, i64)] = &[
    (1_435_708_800, 36), // 2015-07-01T00:00:00 UTC
    (1_483_228_800, 37), // 2017-01-01T00:00:00 UTC
];

const NS_PER_SEC: i128 = 1_000_000_000;

/// A CUC 4+2 time: seconds and 2⁻¹⁶ s since 2017-01-01T00:00:00 TT.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cuc {
    /// Whole seconds since the epoch.
    pub coarse: u32,
    /// Fraction of a second in units of 2⁻¹⁶ s.
    pub fine: u16,
}

/// The decoded CUC preamble field (CCSDS 301.0-B-4 §3.2.2), first octet only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PField {
    /// Octets of coarse time (1 ..= 4).
    pub coarse_len: usize,
    /// Octets of fine time (0 ..= 3).
    pub fine_len: usize,
}

impl PField {
    /// Decodes a one-octet P-field with the agency-defined epoch (time code ID `010`).
    ///
    /// # Errors
    /// [`Error::BadPField`] if the extension bit is set, or the epoch is not the agency epoch.
    pub const fn parse(octet: u8) -> Result<PField, Error> {
        // bit 7: extension flag; bits 6-4: time code ID; 3-2: coarse octets - 1; 1-0: fine octets.
        if octet & 0x80 != 0 || (octet >> 4) & 0x07 != 0b010 {
            return Err(Error::BadPField(octet));
        }
        Ok(PField {
            coarse_len: ((octet >> 2) & 0x03) as usize + 1,
            fine_len: (octet & 0x03) as usize,
        })
    }
}

impl Cuc {
    /// The epoch itself.
    pub const EPOCH: Cuc = Cuc { coarse: 0, fine: 0 };
    /// The largest representable time (about 136 years after the epoch).
    pub const MAX: Cuc = Cuc { coarse: u32::MAX, fine: u16::MAX };

    /// Builds a time from seconds and fine ticks.
    pub const fn new(coarse: u32, fine: u16) -> Cuc {
        Cuc { coarse, fine }
    }

    /// Total ticks of 2⁻¹⁶ s since the epoch (48 bits).
    pub const fn ticks(self) -> u64 {
        ((self.coarse as u64) << 16) | self.fine as u64
    }

    /// From ticks of 2⁻¹⁶ s since the epoch: `None` above [`MAX_TICKS`].
    pub const fn from_ticks(ticks: u64) -> Option<Cuc> {
        if ticks > MAX_TICKS {
            return None;
        }
        Some(Cuc { coarse: (ticks >> 16) as u32, fine: (ticks & 0xFFFF) as u16 })
    }

    /// Adds a signed number of ticks: `None` if the result leaves the representable range.
    pub const fn checked_add_ticks(self, delta: i64) -> Option<Cuc> {
        match self.ticks().checked_add_signed(delta) {
            Some(t) => Cuc::from_ticks(t),
            None => None,
        }
    }

    /// Adds a signed number of ticks, clamping to [`Cuc::EPOCH`] and [`Cuc::MAX`].
    pub const fn saturating_add_ticks(self, delta: i64) -> Cuc {
        match self.checked_add_ticks(delta) {
            Some(c) => c,
            None if delta < 0 => Cuc::EPOCH,
            None => Cuc::MAX,
        }
    }

    /// Signed difference `self − earlier` in ticks (always representable: both are 48-bit).
    pub const fn ticks_since(self, earlier: Cuc) -> i64 {
        self.ticks() as i64 - earlier.ticks() as i64
    }

    /// Decodes the six T-field octets (no P-field), as found in the TM secondary header.
    ///
    /// # Errors
    /// [`Error::Truncated`] if fewer than six octets are given. Extra octets are ignored.
    pub fn parse(bytes: &[u8]) -> Result<Cuc, Error> {
        match bytes.first_chunk::<LEN>() {
            Some(b) => Ok(Cuc::from_bytes(*b)),
            None => Err(Error::Truncated { found: bytes.len(), expected: LEN }),
        }
    }

    /// Decodes the six T-field octets.
    pub const fn from_bytes(b: [u8; LEN]) -> Cuc {
        Cuc {
            coarse: u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            fine: u16::from_be_bytes([b[4], b[5]]),
        }
    }

    /// The six T-field octets, big-endian.
    pub const fn to_bytes(self) -> [u8; LEN] {
        let c = self.coarse.to_be_bytes();
        let f = self.fine.to_be_bytes();
        [c[0], c[1], c[2], c[3], f[0], f[1]]
    }

    /// Writes the six T-field octets at the start of `buf` and returns 6.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] if `buf` is shorter than six octets.
    pub fn emit(self, buf: &mut [u8]) -> Result<usize, Error> {
        let found = buf.len();
        let out =
            buf.first_chunk_mut::<LEN>().ok_or(Error::BufferTooSmall { found, expected: LEN })?;
        *out = self.to_bytes();
        Ok(LEN)
    }

    /// Decodes a P-field and the T-field it describes; returns the time and the octets used.
    ///
    /// Any agency-epoch code with up to 4 coarse and up to 2 fine octets is accepted (it fits
    /// 4+2 without loss): coarse octets are the low-order ones, fine octets the high-order ones.
    ///
    /// # Errors
    /// [`Error::BadPField`] for another epoch, an extension octet or 3 fine octets;
    /// [`Error::Truncated`] if the T-field is short.
    pub fn parse_with_pfield(bytes: &[u8]) -> Result<(Cuc, usize), Error> {
        let (&p, rest) = bytes.split_first().ok_or(Error::Truncated { found: 0, expected: 1 })?;
        let pf = PField::parse(p)?;
        if pf.fine_len > 2 {
            return Err(Error::BadPField(p));
        }
        let t_len = pf.coarse_len + pf.fine_len;
        let (coarse_b, fine_b) = rest
            .get(..t_len)
            .and_then(|t| t.split_at_checked(pf.coarse_len))
            .ok_or(Error::Truncated { found: bytes.len(), expected: 1 + t_len })?;
        let coarse = coarse_b.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
        let fine = fine_b
            .iter()
            .enumerate()
            .fold(0u16, |acc, (i, &b)| acc | (u16::from(b) << (8 - 8 * i as u32)));
        Ok((Cuc { coarse, fine }, 1 + t_len))
    }

    /// Writes the P-field `0x2E` followed by the six T-field octets; returns 7.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] if `buf` is shorter than seven octets.
    pub fn emit_with_pfield(self, buf: &mut [u8]) -> Result<usize, Error> {
        let found = buf.len();
        let out = buf
            .first_chunk_mut::<{ LEN + 1 }>()
            .ok_or(Error::BufferTooSmall { found, expected: LEN + 1 })?;
        let t = self.to_bytes();
        *out = [mission::CUC_PFIELD, t[0], t[1], t[2], t[3], t[4], t[5]];
        Ok(LEN + 1)
    }

    /// Seconds since the epoch as a float (exact: 48 significant bits fit an `f64`).
    pub fn as_secs_f64(self) -> f64 {
        self.ticks() as f64 / TICKS_PER_SEC as f64
    }

    /// From seconds since the epoch, rounded to the nearest tick (halves away from zero).
    /// `None` for NaN, negative values, or values that round above [`Cuc::MAX`].
    pub fn from_secs_f64(secs: f64) -> Option<Cuc> {
        // Scaling by a power of two is exact; the comparison also rejects NaN.
        let x = secs * TICKS_PER_SEC as f64;
        if !(x >= 0.0 && x < (MAX_TICKS as f64) + 0.5) {
            return None;
        }
        // x < 2^48, so the truncation is exact and x - t is the exact fractional part.
        let t = x as u64;
        let t = if x - t as f64 >= 0.5 { t.checked_add(1)? } else { t };
        Cuc::from_ticks(t)
    }

    /// Seconds and nanoseconds since the epoch; nanoseconds rounded to nearest (never 10⁹).
    pub const fn to_secs_nanos(self) -> (i64, u32) {
        // fine * 1e9 / 2^16 rounded; the largest value is 999_984_741, so no carry.
        let ns = (self.fine as u64 * 1_000_000_000 + (TICKS_PER_SEC / 2)) >> 16;
        (self.coarse as i64, ns as u32)
    }

    /// From seconds and nanoseconds since the epoch, rounded to the nearest tick.
    /// `None` if `nanos` ≥ 10⁹, `secs` is negative, or the result exceeds [`Cuc::MAX`].
    pub const fn from_secs_nanos(secs: i64, nanos: u32) -> Option<Cuc> {
        if nanos >= 1_000_000_000 || secs < 0 || secs > u32::MAX as i64 {
            return None;
        }
        let fine = (nanos as u64 * TICKS_PER_SEC + 500_000_000) / 1_000_000_000;
        // fine ≤ 65536: a carry into the coarse field is possible.
        let ticks = ((secs as u64) << 16) + fine;
        Cuc::from_ticks(ticks)
    }

    /// Modified Julian Date in TT.
    pub fn to_mjd_tt(self) -> f64 {
        f64::from(mission::EPOCH_MJD) + self.as_secs_f64() / 86_400.0
    }

    /// From a Modified Julian Date in TT, rounded to the nearest tick; `None` before the epoch,
    /// after [`Cuc::MAX`], or for NaN.
    pub fn from_mjd_tt(mjd: f64) -> Option<Cuc> {
        Cuc::from_secs_f64((mjd - f64::from(mission::EPOCH_MJD)) * 86_400.0)
    }

    /// Nanoseconds since the epoch.
    const fn total_ns(self) -> i128 {
        let (s, ns) = self.to_secs_nanos();
        s as i128 * NS_PER_SEC + ns as i128
    }

    /// UTC as Unix time `(seconds, nanoseconds)` (seconds since 1970-01-01T00:00:00 UTC without
    /// leap seconds), via TT = TAI + 32.184 s and [`LEAP_SECONDS`]. Nanoseconds are rounded.
    ///
    /// During an inserted leap second (23:59:60) Unix time repeats the following second, as Unix
    /// time always does.
    pub fn to_unix_utc(self) -> (i64, u32) {
        // TT, then TAI, in calendar nanoseconds of a uniform scale placed so that
        // 2017-01-01T00:00:00 reads UNIX_2017.
        let tai_ns = i128::from(UNIX_2017) * NS_PER_SEC + self.total_ns() - TT_MINUS_TAI_NS;
        let offset = LEAP_SECONDS
            .iter()
            .rev()
            .find(|&&(start, off)| i128::from(start + off) * NS_PER_SEC <= tai_ns)
            .map_or(0, |&(_, off)| off);
        let utc_ns = tai_ns - i128::from(offset) * NS_PER_SEC;
        // utc_ns is positive (≥ 2016), so truncating division is floor division.
        ((utc_ns / NS_PER_SEC) as i64, (utc_ns % NS_PER_SEC) as u32)
    }

    /// From UTC as Unix time `(seconds, nanoseconds)`, rounded to the nearest tick.
    /// `None` if `nanos` ≥ 10⁹ or the instant is outside the CUC range.
    pub fn from_unix_utc(secs: i64, nanos: u32) -> Option<Cuc> {
        if nanos >= 1_000_000_000 {
            return None;
        }
        let offset =
            LEAP_SECONDS.iter().rev().find(|&&(start, _)| start <= secs).map_or(0, |&(_, off)| off);
        let utc_ns = i128::from(secs) * NS_PER_SEC + i128::from(nanos);
        let tt_ns = utc_ns + i128::from(offset) * NS_PER_SEC + TT_MINUS_TAI_NS
            - i128::from(UNIX_2017) * NS_PER_SEC;
        if tt_ns < 0 {
            return None;
        }
        let s = i64::try_from(tt_ns / NS_PER_SEC).ok()?;
        Cuc::from_secs_nanos(s, (tt_ns % NS_PER_SEC) as u32)
    }
}

impl fmt::Display for Cuc {
    /// `coarse.fine` with the fine part as a fraction of a second to 6 decimals, e.g.
    /// `123.500000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let micros = (u64::from(self.fine) * 1_000_000 + TICKS_PER_SEC / 2) >> 16;
        if micros >= 1_000_000 {
            write!(f, "{}.999999", self.coarse)
        } else {
            write!(f, "{}.{:06}", self.coarse, micros)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_emit_t_field() {
        let b = [0x00, 0x00, 0x01, 0x02, 0x80, 0x00];
        let c = Cuc::parse(&b).unwrap();
        assert_eq!(c, Cuc::new(0x0102, 0x8000));
        assert_eq!(c.as_secs_f64(), 258.5);
        let mut out = [0u8; 6];
        assert_eq!(c.emit(&mut out), Ok(6));
        assert_eq!(out, b);
    }

    #[test]
    fn truncated_t_field() {
        assert_eq!(Cuc::parse(&[0; 5]), Err(Error::Truncated { found: 5, expected: 6 }));
        assert_eq!(
            Cuc::EPOCH.emit(&mut [0; 5]),
            Err(Error::BufferTooSmall { found: 5, expected: 6 })
        );
    }

    #[test]
    fn pfield_0x2e_round_trip() {
        let c = Cuc::new(0xDEAD_BEEF, 0x1234);
        let mut out = [0u8; 7];
        assert_eq!(c.emit_with_pfield(&mut out), Ok(7));
        assert_eq!(out, [0x2E, 0xDE, 0xAD, 0xBE, 0xEF, 0x12, 0x34]);
        assert_eq!(Cuc::parse_with_pfield(&out), Ok((c, 7)));
    }

    #[test]
    fn pfield_shorter_codes_widen() {
        // 0x25: agency epoch, 2 coarse octets, 1 fine octet.
        assert_eq!(PField::parse(0x25), Ok(PField { coarse_len: 2, fine_len: 1 }));
        assert_eq!(
            Cuc::parse_with_pfield(&[0x25, 0x01, 0x02, 0x80]),
            Ok((Cuc::new(0x0102, 0x8000), 4))
        );
    }

    #[test]
    fn bad_pfields() {
        // 1958 epoch (0x1E), extension bit (0xAE), 3 fine octets (0x2F).
        for p in [0x1E, 0xAE, 0x2F] {
            assert_eq!(Cuc::parse_with_pfield(&[p, 0, 0, 0, 0, 0, 0, 0]), Err(Error::BadPField(p)));
        }
        assert_eq!(Cuc::parse_with_pfield(&[]), Err(Error::Truncated { found: 0, expected: 1 }));
        assert_eq!(
            Cuc::parse_with_pfield(&[0x2E, 0, 0]),
            Err(Error::Truncated { found: 3, expected: 7 })
        );
    }

    #[test]
    fn secs_f64_rounding() {
        let tick = 1.0 / 65536.0;
        assert_eq!(Cuc::from_secs_f64(1.0 + 0.49 * tick), Some(Cuc::new(1, 0)));
        assert_eq!(Cuc::from_secs_f64(1.0 + 0.5 * tick), Some(Cuc::new(1, 1)));
        assert_eq!(Cuc::from_secs_f64(1.0 - 0.4 * tick), Some(Cuc::new(1, 0)));
        assert_eq!(Cuc::from_secs_f64(f64::NAN), None);
        assert_eq!(Cuc::from_secs_f64(-0.1), None);
        assert_eq!(Cuc::from_secs_f64(4_294_967_296.0), None);
        assert_eq!(Cuc::from_secs_f64(Cuc::MAX.as_secs_f64()), Some(Cuc::MAX));
    }

    #[test]
    fn secs_nanos_carry() {
        assert_eq!(Cuc::from_secs_nanos(5, 999_999_999), Some(Cuc::new(6, 0)));
        assert_eq!(Cuc::from_secs_nanos(5, 500_000_000), Some(Cuc::new(5, 0x8000)));
        assert_eq!(Cuc::from_secs_nanos(i64::from(u32::MAX), 999_999_999), None);
        assert_eq!(Cuc::from_secs_nanos(-1, 0), None);
        assert_eq!(Cuc::from_secs_nanos(0, 1_000_000_000), None);
        assert_eq!(Cuc::new(7, 0x8000).to_secs_nanos(), (7, 500_000_000));
        assert_eq!(Cuc::MAX.to_secs_nanos(), (i64::from(u32::MAX), 999_984_741));
    }

    #[test]
    fn mjd_of_epoch() {
        assert_eq!(Cuc::EPOCH.to_mjd_tt(), 57_754.0);
        assert_eq!(Cuc::from_mjd_tt(57_755.5), Some(Cuc::new(129_600, 0)));
        assert_eq!(Cuc::from_mjd_tt(57_753.0), None);
    }

    #[test]
    fn unix_utc_of_epoch() {
        // 2017-01-01T00:00:00 TT = 2016-12-31T23:59:27.816 TAI = 23:58:51.816 UTC (TAI-UTC 36 s).
        assert_eq!(Cuc::EPOCH.to_unix_utc(), (UNIX_2017 - 69, 816_000_000));
        assert_eq!(Cuc::from_unix_utc(UNIX_2017 - 69, 816_000_000), Some(Cuc::EPOCH));
        // 2017-01-01T00:00:00 UTC = TT epoch + 69.184 s; 0.184 s = 12058.6 ticks -> 12059.
        let c = Cuc::from_unix_utc(UNIX_2017, 0).unwrap();
        assert_eq!(c, Cuc::new(69, 12_059));
        let (s, ns) = c.to_unix_utc();
        assert_eq!(s, UNIX_2017);
        assert!(ns < 15_259, "within one tick: {ns}");
        assert_eq!(Cuc::from_unix_utc(UNIX_2017 - 70, 0), None);
        assert_eq!(Cuc::from_unix_utc(UNIX_2017, 1_000_000_000), None);
    }

    #[test]
    fn checked_arithmetic() {
        assert_eq!(Cuc::new(1, 0).checked_add_ticks(-65536), Some(Cuc::EPOCH));
        assert_eq!(Cuc::new(1, 0).checked_add_ticks(-65537), None);
        assert_eq!(Cuc::MAX.checked_add_ticks(1), None);
        assert_eq!(Cuc::MAX.saturating_add_ticks(i64::MAX), Cuc::MAX);
        assert_eq!(Cuc::EPOCH.saturating_add_ticks(i64::MIN), Cuc::EPOCH);
        assert_eq!(Cuc::new(2, 0).ticks_since(Cuc::new(1, 0x8000)), 0x8000);
    }

    #[test]
    fn display() {
        assert_eq!(std::format!("{}", Cuc::new(12, 0x8000)), "12.500000");
        assert_eq!(std::format!("{}", Cuc::new(0, 0xFFFF)), "0.999985");
    }
}
