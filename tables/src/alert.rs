//! Alert and slew policy (ID `0x07`): when an image peak becomes an alert and when the alert
//! requests a slew of the platform.
//!
//! Payload: `min_alert_snr`, `min_slew_snr`, `sun_angle_deg`, `moon_angle_deg`,
//! `earth_limb_deg` (f32 each), `min_slew_interval_s` u32, `max_slews_per_day` u16,
//! `slew_on_catalog` u8 (0 or 1).

use crate::TableId;
use crate::crt::SNR;
use crate::image::{self, Error, Reader, Table, Writer};
use crate::problem::{Field, Problem, check_range};

/// Payload format version.
pub const FORMAT_VERSION: u8 = 1;
/// Payload length.
pub const PAYLOAD_LEN: usize = 5 * 4 + 4 + 2 + 1;
/// Image length of the alert table (fixed), in octets.
pub const MAX_IMAGE_LEN: usize = image::HEADER_LEN + PAYLOAD_LEN + image::CRC_LEN;
/// Allowed constraint angles, degrees.
pub const ANGLE_DEG: (f64, f64) = (0.0, 180.0);
/// Allowed interval between slew requests, s.
pub const SLEW_INTERVAL_S: (u32, u32) = (0, 86_400);
/// Allowed slew requests per day.
pub const SLEWS_PER_DAY: (u16, u16) = (0, 100);

/// The alert and slew policy.
#[derive(Clone, Debug, PartialEq, Default)]
#[cfg_attr(
    feature = "std",
    derive(serde::Serialize, serde::Deserialize),
    serde(deny_unknown_fields)
)]
pub struct AlertTable {
    /// Table content version.
    pub version: u16,
    /// Smallest image SNR that raises an alert, sigma.
    pub min_alert_snr: f32,
    /// Smallest image SNR that requests a slew, sigma (not below `min_alert_snr`).
    pub min_slew_snr: f32,
    /// Smallest Sun–target angle for a slew, degrees.
    pub sun_angle_deg: f32,
    /// Smallest Moon–target angle for a slew, degrees.
    pub moon_angle_deg: f32,
    /// Smallest angle between the target and the Earth limb, degrees.
    pub earth_limb_deg: f32,
    /// Smallest interval between two slew requests, s.
    pub min_slew_interval_s: u32,
    /// Largest number of slew requests per day.
    pub max_slews_per_day: u16,
    /// Whether a flaring catalogue source above its threshold may request a slew.
    pub slew_on_catalog: bool,
}

impl AlertTable {
    /// Validates: SNRs in [`SNR`], `min_slew_snr` not below `min_alert_snr`; angles in
    /// [`ANGLE_DEG`]; interval in [`SLEW_INTERVAL_S`]; slews per day in [`SLEWS_PER_DAY`].
    pub fn validate(&self, sink: &mut dyn FnMut(Problem)) {
        let t = TableId::Alert;
        let alert_ok = check_range(
            sink,
            t,
            None,
            Field::MinAlertSnr,
            f64::from(self.min_alert_snr),
            SNR.0,
            SNR.1,
        );
        let lo = if alert_ok { f64::from(self.min_alert_snr) } else { SNR.0 };
        check_range(sink, t, None, Field::MinSlewSnr, f64::from(self.min_slew_snr), lo, SNR.1);
        for (f, v) in [
            (Field::SunAngleDeg, self.sun_angle_deg),
            (Field::MoonAngleDeg, self.moon_angle_deg),
            (Field::EarthLimbDeg, self.earth_limb_deg),
        ] {
            check_range(sink, t, None, f, f64::from(v), ANGLE_DEG.0, ANGLE_DEG.1);
        }
        let (lo, hi) = SLEW_INTERVAL_S;
        let v = f64::from(self.min_slew_interval_s);
        check_range(sink, t, None, Field::MinSlewIntervalS, v, f64::from(lo), f64::from(hi));
        let (lo, hi) = SLEWS_PER_DAY;
        let v = f64::from(self.max_slews_per_day);
        check_range(sink, t, None, Field::MaxSlewsPerDay, v, f64::from(lo), f64::from(hi));
    }
}

impl Table for AlertTable {
    const ID: TableId = TableId::Alert;
    const FORMAT_VERSION: u8 = FORMAT_VERSION;

    fn version(&self) -> u16 {
        self.version
    }

    fn payload_len(&self) -> usize {
        PAYLOAD_LEN
    }

    fn emit_payload(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        w.f32(self.min_alert_snr)?;
        w.f32(self.min_slew_snr)?;
        w.f32(self.sun_angle_deg)?;
        w.f32(self.moon_angle_deg)?;
        w.f32(self.earth_limb_deg)?;
        w.u32(self.min_slew_interval_s)?;
        w.u16(self.max_slews_per_day)?;
        w.u8(u8::from(self.slew_on_catalog))
    }

    fn parse_payload(r: &mut Reader<'_>, version: u16) -> Result<Self, Error> {
        Ok(AlertTable {
            version,
            min_alert_snr: r.f32()?,
            min_slew_snr: r.f32()?,
            sun_angle_deg: r.f32()?,
            moon_angle_deg: r.f32()?,
            earth_limb_deg: r.f32()?,
            min_slew_interval_s: r.u32()?,
            max_slews_per_day: r.u16()?,
            slew_on_catalog: match r.u8()? {
                0 => false,
                1 => true,
                _ => return Err(Error::BadValue { field: Field::SlewOnCatalog }),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::{String, ToString};
    use std::vec::Vec;

    use super::*;
    use crate::image;

    fn good() -> AlertTable {
        AlertTable {
            version: 1,
            min_alert_snr: 6.5,
            min_slew_snr: 8.0,
            sun_angle_deg: 45.0,
            moon_angle_deg: 10.0,
            earth_limb_deg: 20.0,
            min_slew_interval_s: 600,
            max_slews_per_day: 10,
            slew_on_catalog: false,
        }
    }

    #[test]
    fn roundtrip_and_accept() {
        let t = good();
        let mut n = 0;
        t.validate(&mut |_| n += 1);
        assert_eq!(n, 0);
        let mut buf = [0u8; 64];
        let len = image::emit(&t, &mut buf).unwrap();
        assert_eq!(len, 12 + PAYLOAD_LEN);
        assert_eq!(image::parse::<AlertTable>(&buf[..len]).unwrap(), t);
    }

    #[test]
    fn rejects_each_defect() {
        let mut t = good();
        t.min_slew_snr = 6.0;
        t.sun_angle_deg = 181.0;
        t.max_slews_per_day = 101;
        let mut v: Vec<String> = Vec::new();
        t.validate(&mut |p| v.push(p.to_string()));
        assert_eq!(
            v,
            [
                "alert table, field MIN_SLEW_SNR: 6 sigma is outside 6.5..50",
                "alert table, field SUN_ANGLE_DEG: 181 deg is outside 0..180",
                "alert table, field MAX_SLEWS_PER_DAY: 101 is outside 0..100",
            ]
        );
    }
}
