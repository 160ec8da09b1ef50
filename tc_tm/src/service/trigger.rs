//! ST\[201\] science trigger (mission-specific service): 201,1 trigger alert.
//!
//! Application data of 201,1 ([`Alert`], 54 octets, big-endian):
//!
//! | offset | field | type | unit / range |
//! |---|---|---|---|
//! | 0 | trigger type | u8 | 1 CRT, 2 IMT |
//! | 1 | burst ID | u32 | on-board burst counter |
//! | 5 | sequence number | u16 | alert number within the burst |
//! | 7 | timescale | u32 | ms |
//! | 11 | window start | CUC u32 + u16 | on-board time |
//! | 17 | window end | CUC u32 + u16 | ≥ start |
//! | 23 | energy band low | u16 | keV |
//! | 25 | energy band high | u16 | keV, > low |
//! | 27 | rate SNR | u16 | 0.01 σ (0 for IMT) |
//! | 29 | image SNR | u16 | 0.01 σ |
//! | 31 | `y_deg` | i32 | µdeg, instrument frame (`ICD.md` §4), \|y\| < 90° |
//! | 35 | `z_deg` | i32 | µdeg, \|z\| < 90° |
//! | 39 | RA | u32 | µdeg, < 360° |
//! | 43 | Dec | i32 | µdeg, \|Dec\| ≤ 90° |
//! | 47 | error radius (r90) | u32 | µdeg |
//! | 51 | catalogue ID | u16 | 0 = not a catalogue source |
//! | 53 | slew request | u8 | 0 not requested, 1 requested |
//!
//! Angles are scaled integers (micro-degrees) rather than floats so that a report compares
//! and round-trips exactly; 1 µdeg is 3.6 mas, far below any error radius.

use super::Error;
use super::wire::{Reader, emit_with, parse_all};

/// Service type number.
pub const SERVICE: u8 = 201;
/// Octets of an alert.
pub const ALERT_LEN: usize = 54;
/// Micro-degrees per degree.
pub const UDEG_PER_DEG: f64 = 1e6;

wire_enum! {
    /// Which trigger raised the alert.
    pub enum TriggerType: "trigger_type" {
        /// Count-Rate Trigger.
        Crt = 0x01, "crt";
        /// Image Trigger.
        Imt = 0x02, "imt";
    }
}

wire_enum! {
    /// Whether the unit asks the platform to slew.
    pub enum SlewRequest: "slew_request" {
        /// No slew requested.
        NotRequested = 0x00, "not-requested";
        /// Slew requested.
        Requested = 0x01, "requested";
    }
}

/// On-board CUC time (4 + 2 octets, `ICD.md` §2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CucTime {
    /// Seconds since 2017-01-01T00:00:00 TT.
    pub coarse: u32,
    /// Units of 2⁻¹⁶ s.
    pub fine: u16,
}

impl CucTime {
    /// Seconds since the epoch.
    pub fn seconds(self) -> f64 {
        f64::from(self.coarse) + f64::from(self.fine) / 65_536.0
    }
}

/// A trigger alert (201,1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Alert {
    /// CRT or IMT.
    pub trigger_type: TriggerType,
    /// Burst identifier.
    pub burst_id: u32,
    /// Alert sequence number within the burst.
    pub seq_num: u16,
    /// Timescale of the excess, ms.
    pub timescale_ms: u32,
    /// Start of the time window.
    pub window_start: CucTime,
    /// End of the time window (≥ start).
    pub window_end: CucTime,
    /// Lower energy bound, keV.
    pub energy_min_kev: u16,
    /// Upper energy bound, keV (> lower).
    pub energy_max_kev: u16,
    /// Rate SNR, 0.01 σ.
    pub rate_snr_centi: u16,
    /// Image SNR, 0.01 σ.
    pub image_snr_centi: u16,
    /// Projected angle `y_deg` = atan(y/x), µdeg.
    pub y_udeg: i32,
    /// Projected angle `z_deg` = atan(z/x), µdeg.
    pub z_udeg: i32,
    /// Right ascension, µdeg.
    pub ra_udeg: u32,
    /// Declination, µdeg.
    pub dec_udeg: i32,
    /// Error radius (r90), µdeg.
    pub error_radius_udeg: u32,
    /// On-board catalogue ID, 0 if none.
    pub catalogue_id: u16,
    /// Slew request.
    pub slew: SlewRequest,
}

const MAX_PROJECTED_UDEG: i32 = 90_000_000;

impl Alert {
    /// `y_deg` in degrees.
    pub fn y_deg(&self) -> f64 {
        f64::from(self.y_udeg) / UDEG_PER_DEG
    }

    /// `z_deg` in degrees.
    pub fn z_deg(&self) -> f64 {
        f64::from(self.z_udeg) / UDEG_PER_DEG
    }

    /// Right ascension in degrees.
    pub fn ra_deg(&self) -> f64 {
        f64::from(self.ra_udeg) / UDEG_PER_DEG
    }

    /// Declination in degrees.
    pub fn dec_deg(&self) -> f64 {
        f64::from(self.dec_udeg) / UDEG_PER_DEG
    }

    /// Error radius in degrees.
    pub fn error_radius_deg(&self) -> f64 {
        f64::from(self.error_radius_udeg) / UDEG_PER_DEG
    }

    /// Image SNR in σ.
    pub fn image_snr(&self) -> f64 {
        f64::from(self.image_snr_centi) / 100.0
    }

    /// Rate SNR in σ.
    pub fn rate_snr(&self) -> f64 {
        f64::from(self.rate_snr_centi) / 100.0
    }

    fn check(&self) -> Result<(), Error> {
        let bad = |field, value: u32| Err(Error::BadValue { field, value });
        if self.window_end < self.window_start {
            return bad("window_end", self.window_end.coarse);
        }
        if self.energy_max_kev <= self.energy_min_kev {
            return bad("energy_max_kev", u32::from(self.energy_max_kev));
        }
        if self.y_udeg.unsigned_abs() >= MAX_PROJECTED_UDEG as u32 {
            return bad("y_udeg", self.y_udeg as u32);
        }
        if self.z_udeg.unsigned_abs() >= MAX_PROJECTED_UDEG as u32 {
            return bad("z_udeg", self.z_udeg as u32);
        }
        if self.ra_udeg >= 360_000_000 {
            return bad("ra_udeg", self.ra_udeg);
        }
        if self.dec_udeg.unsigned_abs() > 90_000_000 {
            return bad("dec_udeg", self.dec_udeg as u32);
        }
        Ok(())
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        let a = Alert {
            trigger_type: TriggerType::read(r)?,
            burst_id: r.u32()?,
            seq_num: r.u16()?,
            timescale_ms: r.u32()?,
            window_start: CucTime { coarse: r.u32()?, fine: r.u16()? },
            window_end: CucTime { coarse: r.u32()?, fine: r.u16()? },
            energy_min_kev: r.u16()?,
            energy_max_kev: r.u16()?,
            rate_snr_centi: r.u16()?,
            image_snr_centi: r.u16()?,
            y_udeg: r.i32()?,
            z_udeg: r.i32()?,
            ra_udeg: r.u32()?,
            dec_udeg: r.i32()?,
            error_radius_udeg: r.u32()?,
            catalogue_id: r.u16()?,
            slew: SlewRequest::read(r)?,
        };
        a.check()?;
        Ok(a)
    }
}

/// ST\[201\] reports.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Report {
    /// 201,1: trigger alert.
    Alert(Alert),
}

impl Report {
    /// Parses the source data of subtype `subtype`.
    ///
    /// # Errors
    /// [`Error::UnknownSubtype`], [`Error::Truncated`], [`Error::TrailingData`];
    /// [`Error::BadValue`] for an undefined trigger type or slew request, a window ending
    /// before it starts, an empty energy band, or an angle out of range.
    pub fn parse(subtype: u8, data: &[u8]) -> Result<Self, Error> {
        match subtype {
            1 => parse_all(data, |r| Alert::read(r).map(Report::Alert)),
            _ => Err(Error::UnknownSubtype { service: SERVICE, subtype }),
        }
    }

    /// Subtype number.
    pub fn subtype(&self) -> u8 {
        1
    }

    /// Octets of source data.
    pub fn buffer_len(&self) -> usize {
        ALERT_LEN
    }

    /// Writes the source data into `out`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`]; the value errors of [`Report::parse`].
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        let Report::Alert(a) = self;
        a.check()?;
        emit_with(out, ALERT_LEN, |w| {
            w.u8(a.trigger_type.value())?;
            w.u32(a.burst_id)?;
            w.u16(a.seq_num)?;
            w.u32(a.timescale_ms)?;
            w.u32(a.window_start.coarse)?;
            w.u16(a.window_start.fine)?;
            w.u32(a.window_end.coarse)?;
            w.u16(a.window_end.fine)?;
            w.u16(a.energy_min_kev)?;
            w.u16(a.energy_max_kev)?;
            w.u16(a.rate_snr_centi)?;
            w.u16(a.image_snr_centi)?;
            w.i32(a.y_udeg)?;
            w.i32(a.z_udeg)?;
            w.u32(a.ra_udeg)?;
            w.i32(a.dec_udeg)?;
            w.u32(a.error_radius_udeg)?;
            w.u16(a.catalogue_id)?;
            w.u8(a.slew.value())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static ALERT: [u8; ALERT_LEN] = [
        0x01, // CRT
        0x00, 0x00, 0x00, 0x2A, // burst 42
        0x00, 0x03, // seq 3
        0x00, 0x00, 0x27, 0xD8, // 10 200 ms
        0x00, 0x00, 0x03, 0xE8, 0x80, 0x00, // start 1000.5 s
        0x00, 0x00, 0x03, 0xF2, 0x99, 0x9A, // end 1010.6 s
        0x00, 0x08, 0x00, 0x78, // 8-120 keV
        0x03, 0x20, // rate SNR 8.00
        0x04, 0xB0, // image SNR 12.00
        0xFF, 0x0B, 0xDC, 0x00, // y -16.0 deg
        0x00, 0x4C, 0x4B, 0x40, // z 5.0 deg
        0x0A, 0xBA, 0x95, 0x00, // RA 180.0 deg
        0xFD, 0x7F, 0x21, 0x80, // Dec -42.0 deg
        0x00, 0x02, 0x8B, 0x0A, // r90 0.166666 deg
        0x00, 0x00, // no catalogue source
        0x01, // slew requested
    ];

    #[test]
    fn parse_known_alert() {
        let Report::Alert(a) = Report::parse(1, &ALERT).unwrap();
        assert_eq!(a.trigger_type, TriggerType::Crt);
        assert_eq!(a.burst_id, 42);
        assert_eq!(a.seq_num, 3);
        assert_eq!(a.timescale_ms, 10_200);
        assert_eq!(a.window_start.seconds(), 1000.5);
        assert_eq!(a.energy_min_kev, 8);
        assert_eq!(a.energy_max_kev, 120);
        assert_eq!(a.rate_snr(), 8.0);
        assert_eq!(a.image_snr(), 12.0);
        assert_eq!(a.y_udeg, -16_000_000);
        assert_eq!(a.z_deg(), 5.0);
        assert_eq!(a.ra_deg(), 180.0);
        assert_eq!(a.dec_deg(), -42.0);
        assert_eq!(a.error_radius_udeg, 166_666);
        assert_eq!(a.slew, SlewRequest::Requested);
        let mut out = [0u8; ALERT_LEN];
        assert_eq!(Report::Alert(a).emit(&mut out).unwrap(), ALERT_LEN);
        assert_eq!(out, ALERT);
    }

    #[test]
    fn malformed_alerts() {
        assert_eq!(
            Report::parse(1, &ALERT[..53]).unwrap_err(),
            Error::Truncated { found: 53, expected: 54 }
        );
        let mut b = ALERT;
        b[0] = 3;
        assert_eq!(
            Report::parse(1, &b).unwrap_err(),
            Error::BadValue { field: "trigger_type", value: 3 }
        );
        let mut b = ALERT;
        b[53] = 2;
        assert!(matches!(Report::parse(1, &b), Err(Error::BadValue { field: "slew_request", .. })));
        let mut b = ALERT;
        b[25] = 0; // upper bound 8 keV == lower
        b[26] = 8;
        assert!(matches!(
            Report::parse(1, &b),
            Err(Error::BadValue { field: "energy_max_kev", .. })
        ));
        let mut b = ALERT;
        b[20] = 0x00; // end before start
        assert!(matches!(Report::parse(1, &b), Err(Error::BadValue { field: "window_end", .. })));
        let mut b = ALERT;
        b[39] = 0x20; // RA beyond 360 deg
        assert!(matches!(Report::parse(1, &b), Err(Error::BadValue { field: "ra_udeg", .. })));
        assert!(matches!(Report::parse(2, &ALERT), Err(Error::UnknownSubtype { .. })));
    }
}
