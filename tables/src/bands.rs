//! Energy band table (ID `0x02`) and the trigger bands that refer to it.
//!
//! The band table lists up to [`MAX_BANDS`] elementary energy bands, ordered and
//! non-overlapping. The triggers count events per elementary band; a trigger band
//! ([`TriggerBand`]) is a contiguous range of elementary bands, so overlapping trigger bands
//! such as 5–20, 8–50 and 8–120 keV (DOMAIN.md) are sums of the same counters.
//!
//! Payload: count (u8), then per band `low_kev` (f32), `high_kev` (f32).

use crate::image::{self, Error, Reader, Table, Writer};
use crate::problem::{Field, Problem, ProblemKind, check_count, check_range, idx};
use crate::{MAX_BANDS, MAX_TRIGGER_BANDS, TableId};

/// Payload format version.
pub const FORMAT_VERSION: u8 = 1;
/// Largest image of the band table, in octets: header, count, [`MAX_BANDS`] bands of 8
/// octets, CRC.
pub const MAX_IMAGE_LEN: usize = image::HEADER_LEN + 1 + 8 * MAX_BANDS + image::CRC_LEN;
/// Allowed band bounds, keV.
pub const BOUND_KEV: (f64, f64) = (1.0, 300.0);

/// One elementary energy band, `[low_kev, high_kev)`.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
#[cfg_attr(
    feature = "std",
    derive(serde::Serialize, serde::Deserialize),
    serde(deny_unknown_fields)
)]
pub struct Band {
    /// Lower bound, keV.
    pub low_kev: f32,
    /// Upper bound, keV.
    pub high_kev: f32,
}

/// The energy band table.
#[derive(Clone, Debug, PartialEq, Default)]
#[cfg_attr(
    feature = "std",
    derive(serde::Serialize, serde::Deserialize),
    serde(deny_unknown_fields)
)]
pub struct BandTable {
    /// Table content version.
    pub version: u16,
    /// The bands, in increasing energy.
    pub bands: heapless::Vec<Band, MAX_BANDS>,
}

impl BandTable {
    /// Validates: 1 to [`MAX_BANDS`] bands, bounds in [`BOUND_KEV`], each band's lower bound
    /// below its upper bound, each band starting at or above the previous band's upper bound.
    pub fn validate(&self, sink: &mut dyn FnMut(Problem)) {
        let t = TableId::Bands;
        check_count(sink, t, Field::Bands, self.bands.len(), 1, MAX_BANDS);
        let mut prev: Option<&Band> = None;
        for (i, b) in self.bands.iter().enumerate() {
            let e = idx(i);
            let (lo, hi) = BOUND_KEV;
            let ok = check_range(sink, t, e, Field::LowKev, f64::from(b.low_kev), lo, hi)
                & check_range(sink, t, e, Field::HighKev, f64::from(b.high_kev), lo, hi);
            if ok && b.low_kev >= b.high_kev {
                sink(Problem {
                    table: t,
                    entry: e,
                    field: Field::HighKev,
                    kind: ProblemKind::Reversed {
                        low: f64::from(b.low_kev),
                        high: f64::from(b.high_kev),
                    },
                });
            }
            if let Some(p) = prev
                && b.low_kev < p.high_kev
            {
                sink(Problem {
                    table: t,
                    entry: e,
                    field: Field::LowKev,
                    kind: ProblemKind::Overlap { other: idx(i - 1).unwrap_or(0) },
                });
            }
            prev = Some(b);
        }
    }
}

impl Table for BandTable {
    const ID: TableId = TableId::Bands;
    const FORMAT_VERSION: u8 = FORMAT_VERSION;

    fn version(&self) -> u16 {
        self.version
    }

    fn payload_len(&self) -> usize {
        1 + 8 * self.bands.len()
    }

    fn emit_payload(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        w.count(Field::Bands, self.bands.len())?;
        for b in &self.bands {
            w.f32(b.low_kev)?;
            w.f32(b.high_kev)?;
        }
        Ok(())
    }

    fn parse_payload(r: &mut Reader<'_>, version: u16) -> Result<Self, Error> {
        let n = r.count(Field::Bands, MAX_BANDS)?;
        let mut t = BandTable { version, bands: heapless::Vec::new() };
        for _ in 0..n {
            let b = Band { low_kev: r.f32()?, high_kev: r.f32()? };
            t.bands.push(b).map_err(|_| Error::Capacity {
                field: Field::Bands,
                found: n,
                max: MAX_BANDS,
            })?;
        }
        Ok(t)
    }
}

/// A trigger band: the elementary bands `first..=last` of the band table, summed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(
    feature = "std",
    derive(serde::Serialize, serde::Deserialize),
    serde(deny_unknown_fields)
)]
pub struct TriggerBand {
    /// First elementary band (index in the band table).
    pub first: u8,
    /// Last elementary band, inclusive.
    pub last: u8,
}

impl TriggerBand {
    /// The energy range covered, `None` if an index is out of the band table.
    pub fn range_kev(&self, bands: &BandTable) -> Option<(f32, f32)> {
        let lo = bands.bands.get(usize::from(self.first))?;
        let hi = bands.bands.get(usize::from(self.last))?;
        Some((lo.low_kev, hi.high_kev))
    }

    pub(crate) fn emit(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        w.u8(self.first)?;
        w.u8(self.last)
    }

    pub(crate) fn parse(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(TriggerBand { first: r.u8()?, last: r.u8()? })
    }
}

/// Validates trigger bands against a band table: 1 to [`MAX_TRIGGER_BANDS`] of them, each
/// `first <= last`, both indices defined, and the bands in between contiguous.
pub fn validate_trigger_bands(
    table: TableId,
    refs: &[TriggerBand],
    bands: &BandTable,
    sink: &mut dyn FnMut(Problem),
) {
    check_count(sink, table, Field::TriggerBands, refs.len(), 1, MAX_TRIGGER_BANDS);
    let count = u16::try_from(bands.bands.len()).unwrap_or(u16::MAX);
    for (i, tb) in refs.iter().enumerate() {
        let e = idx(i);
        let mut ok = true;
        for (field, index) in [(Field::FirstBand, tb.first), (Field::LastBand, tb.last)] {
            if usize::from(index) >= bands.bands.len() {
                ok = false;
                sink(Problem {
                    table,
                    entry: e,
                    field,
                    kind: ProblemKind::BadReference { index: u16::from(index), count },
                });
            }
        }
        if tb.first > tb.last {
            sink(Problem {
                table,
                entry: e,
                field: Field::LastBand,
                kind: ProblemKind::Reversed { low: f64::from(tb.first), high: f64::from(tb.last) },
            });
        } else if ok {
            let span = bands.bands.get(usize::from(tb.first)..=usize::from(tb.last)).unwrap_or(&[]);
            for (k, pair) in (u16::from(tb.first) + 1..).zip(span.windows(2)) {
                if let [a, b] = pair
                    && a.high_kev != b.low_kev
                {
                    sink(Problem {
                        table,
                        entry: e,
                        field: Field::LastBand,
                        kind: ProblemKind::Gap { at: k },
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::ToString;
    use std::vec::Vec;

    use super::*;

    pub(crate) fn bands(v: &[(f32, f32)]) -> BandTable {
        let mut t = BandTable { version: 1, bands: heapless::Vec::new() };
        for &(low_kev, high_kev) in v {
            t.bands.push(Band { low_kev, high_kev }).unwrap();
        }
        t
    }

    fn problems(t: &BandTable) -> Vec<std::string::String> {
        let mut v = Vec::new();
        t.validate(&mut |p| v.push(p.to_string()));
        v
    }

    #[test]
    fn accepts_ordered_bands() {
        assert!(problems(&bands(&[(5.0, 8.0), (8.0, 20.0), (30.0, 50.0)])).is_empty());
    }

    #[test]
    fn rejects_overlap_and_reversed() {
        let p = problems(&bands(&[(5.0, 20.0), (8.0, 50.0), (60.0, 55.0)]));
        assert_eq!(
            p,
            [
                "energy band table, band 1, field LOW_KEV: overlaps or precedes band 0",
                "energy band table, band 2, field HIGH_KEV: lower bound 60 keV is not below upper bound 55 keV",
            ]
        );
    }

    #[test]
    fn rejects_empty_and_out_of_range() {
        assert_eq!(
            problems(&bands(&[])),
            ["energy band table, field BANDS: 0 entries, expected 1..8"]
        );
        assert_eq!(
            problems(&bands(&[(0.5, 8.0)])),
            ["energy band table, band 0, field LOW_KEV: 0.5 keV is outside 1..300"]
        );
    }

    #[test]
    fn trigger_band_references() {
        let b = bands(&[(5.0, 8.0), (8.0, 20.0), (30.0, 50.0)]);
        let mut v = Vec::new();
        let refs = [
            TriggerBand { first: 0, last: 1 },
            TriggerBand { first: 1, last: 2 },
            TriggerBand { first: 2, last: 1 },
            TriggerBand { first: 0, last: 3 },
        ];
        validate_trigger_bands(TableId::Crt, &refs, &b, &mut |p| v.push(p.to_string()));
        assert_eq!(
            v,
            [
                "CRT table, trigger band 1, field LAST_BAND: energy band 2 does not start where band 1 ends (trigger bands must be contiguous)",
                "CRT table, trigger band 2, field LAST_BAND: lower bound 2 is not below upper bound 1",
                "CRT table, trigger band 3, field LAST_BAND: refers to energy band 3, the band table defines 3 (0..2)",
            ]
        );
        assert_eq!(refs[0].range_kev(&b), Some((5.0, 20.0)));
    }
}
