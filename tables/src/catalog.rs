//! Known-source catalogue (ID `0x05`): sources whose flares must not raise a new-source alert
//! unless above their flux threshold.
//!
//! Payload: count u8, then per source: `id` u16, `name` 16 octets (ASCII, NUL-padded),
//! `ra_deg` f32, `dec_deg` f32, `radius_deg` f32, threshold count u8, `flux_threshold` f32
//! each (one per energy band of the band table, ph cm⁻² s⁻¹).

use crate::bands::BandTable;
use crate::image::{self, Error, Reader, Table, Writer};
use crate::problem::{Field, Problem, ProblemKind, check_range, idx};
use crate::{MAX_BANDS, MAX_SOURCES, NAME_LEN, TableId};

/// Payload format version.
pub const FORMAT_VERSION: u8 = 1;
/// Largest image of the catalogue, in octets: header, count, [`MAX_SOURCES`] sources each with
/// a threshold per energy band ([`MAX_BANDS`]), CRC.
pub const MAX_IMAGE_LEN: usize =
    image::HEADER_LEN + 1 + MAX_SOURCES * (FIXED_LEN + 4 * MAX_BANDS) + image::CRC_LEN;
/// Allowed matching radius, degrees.
pub const RADIUS_DEG: (f64, f64) = (0.01, 10.0);
/// Allowed flux threshold, ph cm⁻² s⁻¹.
pub const FLUX: (f64, f64) = (1e-4, 1e3);
/// Octets of one source record without its thresholds.
const FIXED_LEN: usize = 2 + NAME_LEN + 12 + 1;

/// One catalogue source.
#[derive(Clone, Debug, PartialEq, Default)]
#[cfg_attr(
    feature = "std",
    derive(serde::Serialize, serde::Deserialize),
    serde(deny_unknown_fields)
)]
pub struct Source {
    /// Catalogue ID (1..65535, unique), reported in alerts.
    pub id: u16,
    /// Name, 1 to 16 printable ASCII characters.
    pub name: heapless::String<NAME_LEN>,
    /// Right ascension J2000, degrees.
    pub ra_deg: f32,
    /// Declination J2000, degrees.
    pub dec_deg: f32,
    /// Matching radius, degrees.
    pub radius_deg: f32,
    /// Flux threshold per energy band, ph cm⁻² s⁻¹.
    pub flux_threshold: heapless::Vec<f32, MAX_BANDS>,
}

/// The catalogue table.
#[derive(Clone, Debug, PartialEq, Default)]
#[cfg_attr(
    feature = "std",
    derive(serde::Serialize, serde::Deserialize),
    serde(deny_unknown_fields)
)]
pub struct CatalogTable {
    /// Table content version.
    pub version: u16,
    /// The sources.
    pub sources: heapless::Vec<Source, MAX_SOURCES>,
}

fn printable(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| (0x20..0x7F).contains(&b))
}

impl CatalogTable {
    /// The source with catalogue ID `id`.
    pub fn by_id(&self, id: u16) -> Option<&Source> {
        self.sources.iter().find(|s| s.id == id)
    }

    /// Validates against the band table: IDs non-zero and unique; names printable ASCII;
    /// RA in 0..360, Dec in −90..90; radius in [`RADIUS_DEG`]; one flux threshold per
    /// energy band, each in [`FLUX`]. Quadratic in the number of sources (ID uniqueness).
    pub fn validate(&self, bands: &BandTable, sink: &mut dyn FnMut(Problem)) {
        let t = TableId::Catalog;
        for (i, s) in self.sources.iter().enumerate() {
            let e = idx(i);
            if s.id == 0 {
                sink(Problem {
                    table: t,
                    entry: e,
                    field: Field::SourceId,
                    kind: ProblemKind::OutOfRange { value: 0.0, min: 1.0, max: 65_535.0 },
                });
            }
            if let Some(j) = self.sources.iter().take(i).position(|o| o.id == s.id) {
                sink(Problem {
                    table: t,
                    entry: e,
                    field: Field::SourceId,
                    kind: ProblemKind::Duplicate { other: idx(j).unwrap_or(0) },
                });
            }
            if !printable(&s.name) {
                sink(Problem {
                    table: t,
                    entry: e,
                    field: Field::Name,
                    kind: ProblemKind::InvalidText,
                });
            }
            check_range(sink, t, e, Field::RaDeg, f64::from(s.ra_deg), 0.0, 360.0);
            check_range(sink, t, e, Field::DecDeg, f64::from(s.dec_deg), -90.0, 90.0);
            let (lo, hi) = RADIUS_DEG;
            check_range(sink, t, e, Field::RadiusDeg, f64::from(s.radius_deg), lo, hi);
            if s.flux_threshold.len() != bands.bands.len() {
                sink(Problem {
                    table: t,
                    entry: e,
                    field: Field::FluxThresholdCount,
                    kind: ProblemKind::Mismatch {
                        found: s.flux_threshold.len() as u16,
                        expected: bands.bands.len() as u16,
                    },
                });
            }
            for (k, &f) in s.flux_threshold.iter().enumerate() {
                let ek = idx(i * MAX_BANDS + k);
                check_range(sink, t, ek, Field::FluxThreshold, f64::from(f), FLUX.0, FLUX.1);
            }
        }
    }
}

impl Table for CatalogTable {
    const ID: TableId = TableId::Catalog;
    const FORMAT_VERSION: u8 = FORMAT_VERSION;

    fn version(&self) -> u16 {
        self.version
    }

    fn payload_len(&self) -> usize {
        1 + self.sources.iter().map(|s| FIXED_LEN + 4 * s.flux_threshold.len()).sum::<usize>()
    }

    fn emit_payload(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        w.count(Field::Sources, self.sources.len())?;
        for s in &self.sources {
            w.u16(s.id)?;
            let mut name = [0u8; NAME_LEN];
            for (d, b) in name.iter_mut().zip(s.name.bytes()) {
                *d = b;
            }
            w.put(&name)?;
            w.f32(s.ra_deg)?;
            w.f32(s.dec_deg)?;
            w.f32(s.radius_deg)?;
            w.count(Field::FluxThresholdCount, s.flux_threshold.len())?;
            for &f in &s.flux_threshold {
                w.f32(f)?;
            }
        }
        Ok(())
    }

    fn parse_payload(r: &mut Reader<'_>, version: u16) -> Result<Self, Error> {
        let n = r.count(Field::Sources, MAX_SOURCES)?;
        let mut t = CatalogTable { version, sources: heapless::Vec::new() };
        for _ in 0..n {
            let id = r.u16()?;
            let raw = r.take(NAME_LEN)?;
            let len = raw.iter().position(|&b| b == 0).unwrap_or(NAME_LEN);
            let text = raw
                .get(..len)
                .and_then(|b| core::str::from_utf8(b).ok())
                .ok_or(Error::BadValue { field: Field::Name })?;
            let mut name = heapless::String::new();
            name.push_str(text).map_err(|_| Error::BadValue { field: Field::Name })?;
            let mut s = Source {
                id,
                name,
                ra_deg: r.f32()?,
                dec_deg: r.f32()?,
                radius_deg: r.f32()?,
                flux_threshold: heapless::Vec::new(),
            };
            let m = r.count(Field::FluxThresholdCount, MAX_BANDS)?;
            for _ in 0..m {
                let f = r.f32()?;
                s.flux_threshold.push(f).map_err(|_| Error::Capacity {
                    field: Field::FluxThresholdCount,
                    found: m,
                    max: MAX_BANDS,
                })?;
            }
            t.sources.push(s).map_err(|_| Error::Capacity {
                field: Field::Sources,
                found: n,
                max: MAX_SOURCES,
            })?;
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

    fn crab() -> Source {
        let mut s = Source {
            id: 1,
            name: heapless::String::try_from("Crab").unwrap(),
            ra_deg: 83.633,
            dec_deg: 22.0145,
            radius_deg: 0.2,
            flux_threshold: heapless::Vec::new(),
        };
        s.flux_threshold.push(3.0).unwrap();
        s
    }

    fn bands() -> BandTable {
        let mut b = BandTable::default();
        b.bands.push(Band { low_kev: 5.0, high_kev: 20.0 }).unwrap();
        b
    }

    #[test]
    fn roundtrip_and_accept() {
        let mut t = CatalogTable { version: 4, sources: heapless::Vec::new() };
        t.sources.push(crab()).unwrap();
        let mut long = crab();
        long.id = 81;
        long.name = heapless::String::try_from("0123456789ABCDEF").unwrap();
        t.sources.push(long).unwrap();
        let mut v = Vec::new();
        t.validate(&bands(), &mut |p| v.push(p));
        assert!(v.is_empty(), "{v:?}");
        let mut buf = [0u8; 256];
        let n = image::emit(&t, &mut buf).unwrap();
        assert_eq!(image::parse::<CatalogTable>(&buf[..n]).unwrap(), t);
        assert_eq!(t.by_id(81).unwrap().name.as_str(), "0123456789ABCDEF");
    }

    #[test]
    fn rejects_each_defect() {
        let mut t = CatalogTable::default();
        t.sources.push(crab()).unwrap();
        let mut b = crab();
        b.name.clear();
        b.ra_deg = 400.0;
        b.dec_deg = -91.0;
        b.radius_deg = 0.0;
        b.flux_threshold.push(0.0).unwrap();
        t.sources.push(b).unwrap();
        let mut v: Vec<String> = Vec::new();
        t.validate(&bands(), &mut |p| v.push(p.to_string()));
        assert_eq!(
            v,
            [
                "catalogue table, source 1, field ID: same value as source 0",
                "catalogue table, source 1, field NAME: must be 1 to 16 printable ASCII characters",
                "catalogue table, source 1, field RA_DEG: 400 deg is outside 0..360",
                "catalogue table, source 1, field DEC_DEG: -91 deg is outside -90..90",
                "catalogue table, source 1, field RADIUS_DEG: 0 deg is outside 0.01..10",
                "catalogue table, source 1, field FLUX_THRESHOLD_COUNT: 2 values, expected 1 (one per band)",
                "catalogue table, source 1, band 1, field FLUX_THRESHOLD: 0 ph/cm2/s is outside 0.0001..1000",
            ]
        );
    }

    #[test]
    fn non_utf8_name_is_a_decode_error() {
        let mut t = CatalogTable::default();
        t.sources.push(crab()).unwrap();
        let mut buf = [0u8; 128];
        let n = image::emit(&t, &mut buf).unwrap();
        buf[1 + 8 + 2] = 0xFF;
        let crc = tc_tm::crc::crc32(&buf[..n - 4]);
        buf[n - 4..n].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(
            image::parse::<CatalogTable>(&buf[..n]),
            Err(Error::BadValue { field: Field::Name })
        );
    }
}
