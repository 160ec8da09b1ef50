//! Count-Rate Trigger table (ID `0x03`): timescales, trigger bands, detector zones, background
//! fit, rate SNR threshold per (timescale, trigger band), image SNR threshold.
//!
//! Payload: `image_snr` f32; background `window_ms` u32, `order` u8, `gap_ms` u32; trigger
//! band count u8 + (`first` u8, `last` u8) each; zone count u8 + (`y_min`, `y_max`, `z_min`,
//! `z_max` u8) each; timescale count u8 + (`duration_ms` u32, threshold count u8,
//! `rate_snr` f32 each) each.

use crate::bands::{BandTable, TriggerBand, validate_trigger_bands};
use crate::image::{self, Error, Reader, Table, Writer};
use crate::pixels::PLANE_SIDE;
use crate::problem::{Field, Problem, ProblemKind, check_count, check_range, idx};
use crate::{MAX_TIMESCALES, MAX_TRIGGER_BANDS, MAX_ZONES, TableId};

/// Payload format version.
pub const FORMAT_VERSION: u8 = 1;
/// Largest image of the CRT table, in octets: header, the 13 fixed octets, every list at its
/// maximum ([`MAX_TRIGGER_BANDS`], [`MAX_ZONES`], [`MAX_TIMESCALES`] each with a threshold per
/// trigger band), CRC.
pub const MAX_IMAGE_LEN: usize = image::HEADER_LEN
    + 13
    + (1 + 2 * MAX_TRIGGER_BANDS)
    + (1 + 4 * MAX_ZONES)
    + (1 + MAX_TIMESCALES * (5 + 4 * MAX_TRIGGER_BANDS))
    + image::CRC_LEN;
/// The CRT base bin: every timescale is a multiple of it, ms.
pub const BASE_BIN_MS: u32 = 10;
/// Allowed timescale durations, ms.
pub const DURATION_MS: (u32, u32) = (10, 20_480);
/// Allowed SNR thresholds (rate and image), sigma.
pub const SNR: (f64, f64) = (3.0, 50.0);
/// Allowed background-fit history, ms.
pub const BKG_WINDOW_MS: (u32, u32) = (1_000, 600_000);
/// Allowed background polynomial order (0 constant, 1 linear, 2 quadratic).
pub const BKG_ORDER: (u8, u8) = (0, 2);
/// Allowed gap between the fit history and the tested interval, ms.
pub const BKG_GAP_MS: (u32, u32) = (0, 60_000);

/// One timescale and its rate SNR thresholds, one per trigger band.
#[derive(Clone, Debug, PartialEq, Default)]
#[cfg_attr(
    feature = "std",
    derive(serde::Serialize, serde::Deserialize),
    serde(deny_unknown_fields)
)]
pub struct Timescale {
    /// Duration, ms (a multiple of [`BASE_BIN_MS`]).
    pub duration_ms: u32,
    /// Rate SNR threshold per trigger band, sigma.
    pub rate_snr: heapless::Vec<f32, MAX_TRIGGER_BANDS>,
}

/// A rectangular detector zone, pixel indices inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(
    feature = "std",
    derive(serde::Serialize, serde::Deserialize),
    serde(deny_unknown_fields)
)]
pub struct Zone {
    /// First row.
    pub y_min: u8,
    /// Last row.
    pub y_max: u8,
    /// First column.
    pub z_min: u8,
    /// Last column.
    pub z_max: u8,
}

impl Zone {
    /// Whether pixel (Y, Z) lies in the zone.
    pub const fn contains(&self, y: u8, z: u8) -> bool {
        y >= self.y_min && y <= self.y_max && z >= self.z_min && z <= self.z_max
    }
}

/// Background estimate: a polynomial fit over the recent count-rate history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(
    feature = "std",
    derive(serde::Serialize, serde::Deserialize),
    serde(deny_unknown_fields)
)]
pub struct BackgroundFit {
    /// Length of the history fitted, ms.
    pub window_ms: u32,
    /// Polynomial order.
    pub order: u8,
    /// History left out just before the tested interval, ms.
    pub gap_ms: u32,
}

/// The Count-Rate Trigger table.
#[derive(Clone, Debug, PartialEq, Default)]
#[cfg_attr(
    feature = "std",
    derive(serde::Serialize, serde::Deserialize),
    serde(deny_unknown_fields)
)]
pub struct CrtTable {
    /// Table content version.
    pub version: u16,
    /// Image SNR threshold for an excess to become an alert, sigma.
    pub image_snr: f32,
    /// Background fit settings.
    pub background: BackgroundFit,
    /// Trigger bands.
    pub bands: heapless::Vec<TriggerBand, MAX_TRIGGER_BANDS>,
    /// Detector zones.
    pub zones: heapless::Vec<Zone, MAX_ZONES>,
    /// Timescales, strictly increasing.
    pub timescales: heapless::Vec<Timescale, MAX_TIMESCALES>,
}

fn check_u32(
    sink: &mut dyn FnMut(Problem),
    t: TableId,
    e: Option<u16>,
    f: Field,
    v: u32,
    (lo, hi): (u32, u32),
) -> bool {
    check_range(sink, t, e, f, f64::from(v), f64::from(lo), f64::from(hi))
}

impl CrtTable {
    /// Validates against the band table: trigger bands (see
    /// [`crate::bands::validate_trigger_bands`]); 1 to [`MAX_ZONES`] zones within the plane,
    /// minimum not above maximum; 1 to [`MAX_TIMESCALES`] timescales in [`DURATION_MS`],
    /// multiples of [`BASE_BIN_MS`], strictly increasing, each with one rate SNR per trigger
    /// band in [`SNR`]; image SNR in [`SNR`]; background settings in their ranges.
    pub fn validate(&self, bands: &BandTable, sink: &mut dyn FnMut(Problem)) {
        let t = TableId::Crt;
        check_range(sink, t, None, Field::ImageSnr, f64::from(self.image_snr), SNR.0, SNR.1);
        let bg = &self.background;
        check_u32(sink, t, None, Field::BkgWindowMs, bg.window_ms, BKG_WINDOW_MS);
        check_u32(sink, t, None, Field::BkgOrder, u32::from(bg.order), (0, u32::from(BKG_ORDER.1)));
        check_u32(sink, t, None, Field::BkgGapMs, bg.gap_ms, BKG_GAP_MS);
        validate_trigger_bands(t, &self.bands, bands, sink);
        validate_zones(t, &self.zones, sink);
        check_count(sink, t, Field::Timescales, self.timescales.len(), 1, MAX_TIMESCALES);
        let mut prev: Option<u32> = None;
        for (i, ts) in self.timescales.iter().enumerate() {
            let e = idx(i);
            if check_u32(sink, t, e, Field::DurationMs, ts.duration_ms, DURATION_MS)
                && ts.duration_ms % BASE_BIN_MS != 0
            {
                sink(Problem {
                    table: t,
                    entry: e,
                    field: Field::DurationMs,
                    kind: ProblemKind::NotMultiple { value: ts.duration_ms, step: BASE_BIN_MS },
                });
            }
            if let Some(p) = prev.filter(|&p| ts.duration_ms <= p) {
                sink(Problem {
                    table: t,
                    entry: e,
                    field: Field::DurationMs,
                    kind: ProblemKind::NotIncreasing {
                        previous: f64::from(p),
                        value: f64::from(ts.duration_ms),
                    },
                });
            }
            prev = Some(ts.duration_ms);
            if ts.rate_snr.len() != self.bands.len() {
                sink(Problem {
                    table: t,
                    entry: e,
                    field: Field::RateSnrCount,
                    kind: ProblemKind::Mismatch {
                        found: ts.rate_snr.len() as u16,
                        expected: self.bands.len() as u16,
                    },
                });
            }
            for (j, &snr) in ts.rate_snr.iter().enumerate() {
                let ej = idx(i * MAX_TRIGGER_BANDS + j);
                check_range(sink, t, ej, Field::RateSnr, f64::from(snr), SNR.0, SNR.1);
            }
        }
    }
}

/// Validates detector zones: count 1..=[`MAX_ZONES`], indices below 80, min not above max.
pub(crate) fn validate_zones(t: TableId, zones: &[Zone], sink: &mut dyn FnMut(Problem)) {
    check_count(sink, t, Field::Zones, zones.len(), 1, MAX_ZONES);
    let last = PLANE_SIDE as u32 - 1;
    for (i, z) in zones.iter().enumerate() {
        let e = idx(i);
        let mut ok = true;
        for (f, v) in [
            (Field::YMin, z.y_min),
            (Field::YMax, z.y_max),
            (Field::ZMin, z.z_min),
            (Field::ZMax, z.z_max),
        ] {
            ok &= check_u32(sink, t, e, f, u32::from(v), (0, last));
        }
        for (f, lo, hi) in [(Field::YMax, z.y_min, z.y_max), (Field::ZMax, z.z_min, z.z_max)] {
            if ok && lo > hi {
                sink(Problem {
                    table: t,
                    entry: e,
                    field: f,
                    kind: ProblemKind::Reversed { low: f64::from(lo), high: f64::from(hi) },
                });
            }
        }
    }
}

fn cap(field: Field, found: usize, max: usize) -> Error {
    Error::Capacity { field, found, max }
}

impl Table for CrtTable {
    const ID: TableId = TableId::Crt;
    const FORMAT_VERSION: u8 = FORMAT_VERSION;

    fn version(&self) -> u16 {
        self.version
    }

    fn payload_len(&self) -> usize {
        4 + 9
            + 1
            + 2 * self.bands.len()
            + 1
            + 4 * self.zones.len()
            + 1
            + self.timescales.iter().map(|t| 5 + 4 * t.rate_snr.len()).sum::<usize>()
    }

    fn emit_payload(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        w.f32(self.image_snr)?;
        w.u32(self.background.window_ms)?;
        w.u8(self.background.order)?;
        w.u32(self.background.gap_ms)?;
        w.count(Field::TriggerBands, self.bands.len())?;
        for b in &self.bands {
            b.emit(w)?;
        }
        w.count(Field::Zones, self.zones.len())?;
        for z in &self.zones {
            w.put(&[z.y_min, z.y_max, z.z_min, z.z_max])?;
        }
        w.count(Field::Timescales, self.timescales.len())?;
        for ts in &self.timescales {
            w.u32(ts.duration_ms)?;
            w.count(Field::RateSnrCount, ts.rate_snr.len())?;
            for &s in &ts.rate_snr {
                w.f32(s)?;
            }
        }
        Ok(())
    }

    fn parse_payload(r: &mut Reader<'_>, version: u16) -> Result<Self, Error> {
        let mut t = CrtTable {
            version,
            image_snr: r.f32()?,
            background: BackgroundFit { window_ms: r.u32()?, order: r.u8()?, gap_ms: r.u32()? },
            ..CrtTable::default()
        };
        let n = r.count(Field::TriggerBands, MAX_TRIGGER_BANDS)?;
        for _ in 0..n {
            let b = TriggerBand::parse(r)?;
            t.bands.push(b).map_err(|_| cap(Field::TriggerBands, n, MAX_TRIGGER_BANDS))?;
        }
        let n = r.count(Field::Zones, MAX_ZONES)?;
        for _ in 0..n {
            let z = Zone { y_min: r.u8()?, y_max: r.u8()?, z_min: r.u8()?, z_max: r.u8()? };
            t.zones.push(z).map_err(|_| cap(Field::Zones, n, MAX_ZONES))?;
        }
        let n = r.count(Field::Timescales, MAX_TIMESCALES)?;
        for _ in 0..n {
            let mut ts = Timescale { duration_ms: r.u32()?, rate_snr: heapless::Vec::new() };
            let m = r.count(Field::RateSnrCount, MAX_TRIGGER_BANDS)?;
            for _ in 0..m {
                let s = r.f32()?;
                ts.rate_snr.push(s).map_err(|_| cap(Field::RateSnrCount, m, MAX_TRIGGER_BANDS))?;
            }
            t.timescales.push(ts).map_err(|_| cap(Field::Timescales, n, MAX_TIMESCALES))?;
        }
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::{String, ToString};
    use std::vec::Vec;

    use super::*;
    use crate::bands::Band;
    use crate::image;

    fn bands() -> BandTable {
        let mut b = BandTable::default();
        for (l, h) in [(5.0, 8.0), (8.0, 20.0), (20.0, 120.0)] {
            b.bands.push(Band { low_kev: l, high_kev: h }).unwrap();
        }
        b
    }

    fn good() -> CrtTable {
        let mut t = CrtTable {
            version: 2,
            image_snr: 6.5,
            background: BackgroundFit { window_ms: 30_000, order: 2, gap_ms: 0 },
            ..CrtTable::default()
        };
        t.bands.push(TriggerBand { first: 0, last: 1 }).unwrap();
        t.bands.push(TriggerBand { first: 1, last: 2 }).unwrap();
        t.zones.push(Zone { y_min: 0, y_max: 79, z_min: 0, z_max: 79 }).unwrap();
        for d in [10, 20, 40] {
            let mut ts = Timescale { duration_ms: d, rate_snr: heapless::Vec::new() };
            ts.rate_snr.extend_from_slice(&[6.0, 6.5]).unwrap();
            t.timescales.push(ts).unwrap();
        }
        t
    }

    fn problems(t: &CrtTable) -> Vec<String> {
        let mut v = Vec::new();
        t.validate(&bands(), &mut |p| v.push(p.to_string()));
        v
    }

    #[test]
    fn accepts_good_and_roundtrips() {
        let t = good();
        assert!(problems(&t).is_empty());
        let mut buf = [0u8; 256];
        let n = image::emit(&t, &mut buf).unwrap();
        assert_eq!(image::parse::<CrtTable>(&buf[..n]).unwrap(), t);
    }

    #[test]
    fn rejects_each_defect() {
        let mut t = good();
        t.timescales[1].duration_ms = 15;
        t.timescales[2].duration_ms = 10;
        t.timescales[0].rate_snr.pop();
        t.timescales[2].rate_snr[1] = 2.0;
        t.zones[0].y_min = 80;
        t.zones.push(Zone { y_min: 10, y_max: 5, z_min: 0, z_max: 0 }).unwrap();
        t.background.order = 3;
        assert_eq!(
            problems(&t),
            [
                "CRT table, field BKG_ORDER: 3 is outside 0..2",
                "CRT table, zone 0, field Y_MIN: 80 is outside 0..79",
                "CRT table, zone 1, field Y_MAX: lower bound 10 is not below upper bound 5",
                "CRT table, timescale 0, field RATE_SNR_COUNT: 1 values, expected 2 (one per band)",
                "CRT table, timescale 1, field DURATION_MS: 15 ms is not a multiple of 10 ms",
                "CRT table, timescale 2, field DURATION_MS: 10 ms is not above the previous entry's 15 ms",
                "CRT table, timescale 2, trigger band 1, field RATE_SNR: 2 sigma is outside 3..50",
            ]
        );
    }
}
