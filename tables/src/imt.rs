//! Image Trigger table (ID `0x04`): base cycle, accumulations and their thresholds, trigger
//! bands, background correction.
//!
//! Payload: `cycle_ms` u32, `bkg_correction` u8 (0 none, 1 quadratic), `bkg_min_cycles` u16,
//! trigger band count u8 + (`first` u8, `last` u8) each, accumulation count u8 + (`cycles`
//! u16, `snr` f32) each.

use crate::bands::{BandTable, TriggerBand, validate_trigger_bands};
use crate::crt::SNR;
use crate::image::{self, Error, Reader, Table, Writer};
use crate::problem::{Field, Problem, ProblemKind, check_count, check_range, idx};
use crate::{MAX_ACCUMULATIONS, MAX_TRIGGER_BANDS, TableId};

/// Payload format version.
pub const FORMAT_VERSION: u8 = 1;
/// Largest image of the IMT table, in octets: header, the 7 fixed octets,
/// [`MAX_TRIGGER_BANDS`] trigger bands, [`MAX_ACCUMULATIONS`] accumulations, CRC.
pub const MAX_IMAGE_LEN: usize = image::HEADER_LEN
    + 7
    + (1 + 2 * MAX_TRIGGER_BANDS)
    + (1 + 6 * MAX_ACCUMULATIONS)
    + image::CRC_LEN;
/// Allowed base cycle, ms.
pub const CYCLE_MS: (u32, u32) = (1_000, 60_000);
/// Allowed number of cycles in an accumulation (and for `bkg_min_cycles`).
pub const CYCLES: (u16, u16) = (1, 256);

/// How the shadowgram background is corrected before deconvolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(
    feature = "std",
    derive(serde::Serialize, serde::Deserialize),
    serde(into = "std::string::String", try_from = "std::string::String")
)]
pub enum BkgCorrection {
    /// No correction.
    #[default]
    None,
    /// 2-D quadratic fit a·y² + b·z² + c·y + d·z + e subtracted.
    Quadratic,
    /// A code this software does not know (the validator rejects it).
    Unknown(u8),
}

impl BkgCorrection {
    /// The octet in the image.
    pub const fn code(self) -> u8 {
        match self {
            BkgCorrection::None => 0,
            BkgCorrection::Quadratic => 1,
            BkgCorrection::Unknown(c) => c,
        }
    }

    /// From the octet in the image.
    pub const fn from_code(c: u8) -> Self {
        match c {
            0 => BkgCorrection::None,
            1 => BkgCorrection::Quadratic,
            c => BkgCorrection::Unknown(c),
        }
    }
}

#[cfg(feature = "std")]
impl From<BkgCorrection> for std::string::String {
    fn from(b: BkgCorrection) -> Self {
        use std::string::ToString;
        match b {
            BkgCorrection::None => "none".into(),
            BkgCorrection::Quadratic => "quadratic".into(),
            BkgCorrection::Unknown(c) => c.to_string(),
        }
    }
}

#[cfg(feature = "std")]
impl TryFrom<std::string::String> for BkgCorrection {
    type Error = std::string::String;
    fn try_from(s: std::string::String) -> Result<Self, Self::Error> {
        match s.as_str() {
            "none" => Ok(BkgCorrection::None),
            "quadratic" => Ok(BkgCorrection::Quadratic),
            other => other.parse::<u8>().map(BkgCorrection::from_code).map_err(|_| {
                std::format!(
                    "unknown background correction {other:?}, expected \"none\" or \"quadratic\""
                )
            }),
        }
    }
}

/// One accumulation: an image summed over `cycles` base cycles, with its threshold.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
#[cfg_attr(
    feature = "std",
    derive(serde::Serialize, serde::Deserialize),
    serde(deny_unknown_fields)
)]
pub struct Accumulation {
    /// Base cycles summed.
    pub cycles: u16,
    /// Image SNR threshold, sigma.
    pub snr: f32,
}

/// The Image Trigger table.
#[derive(Clone, Debug, PartialEq, Default)]
#[cfg_attr(
    feature = "std",
    derive(serde::Serialize, serde::Deserialize),
    serde(deny_unknown_fields)
)]
pub struct ImtTable {
    /// Table content version.
    pub version: u16,
    /// Base imaging cycle, ms.
    pub cycle_ms: u32,
    /// Background correction method.
    pub bkg_correction: BkgCorrection,
    /// Smallest accumulation (cycles) that gets the background correction.
    pub bkg_min_cycles: u16,
    /// Trigger bands.
    pub bands: heapless::Vec<TriggerBand, MAX_TRIGGER_BANDS>,
    /// Accumulations, strictly increasing in cycles.
    pub accumulations: heapless::Vec<Accumulation, MAX_ACCUMULATIONS>,
}

impl ImtTable {
    /// Validates against the band table: cycle in [`CYCLE_MS`]; known background correction;
    /// `bkg_min_cycles` in [`CYCLES`]; trigger bands; 1 to [`MAX_ACCUMULATIONS`]
    /// accumulations, cycles in [`CYCLES`] and strictly increasing, SNR in [`SNR`].
    pub fn validate(&self, bands: &BandTable, sink: &mut dyn FnMut(Problem)) {
        let t = TableId::Imt;
        let (lo, hi) = CYCLE_MS;
        check_range(
            sink,
            t,
            None,
            Field::CycleMs,
            f64::from(self.cycle_ms),
            f64::from(lo),
            f64::from(hi),
        );
        if let BkgCorrection::Unknown(c) = self.bkg_correction {
            sink(Problem {
                table: t,
                entry: None,
                field: Field::BkgCorrection,
                kind: ProblemKind::UnknownCode { value: u32::from(c) },
            });
        }
        let (clo, chi) = (f64::from(CYCLES.0), f64::from(CYCLES.1));
        check_range(sink, t, None, Field::BkgMinCycles, f64::from(self.bkg_min_cycles), clo, chi);
        validate_trigger_bands(t, &self.bands, bands, sink);
        check_count(sink, t, Field::Accumulations, self.accumulations.len(), 1, MAX_ACCUMULATIONS);
        let mut prev: Option<u16> = None;
        for (i, a) in self.accumulations.iter().enumerate() {
            let e = idx(i);
            check_range(sink, t, e, Field::Cycles, f64::from(a.cycles), clo, chi);
            if let Some(p) = prev.filter(|&p| a.cycles <= p) {
                sink(Problem {
                    table: t,
                    entry: e,
                    field: Field::Cycles,
                    kind: ProblemKind::NotIncreasing {
                        previous: f64::from(p),
                        value: f64::from(a.cycles),
                    },
                });
            }
            prev = Some(a.cycles);
            check_range(sink, t, e, Field::Snr, f64::from(a.snr), SNR.0, SNR.1);
        }
    }
}

impl Table for ImtTable {
    const ID: TableId = TableId::Imt;
    const FORMAT_VERSION: u8 = FORMAT_VERSION;

    fn version(&self) -> u16 {
        self.version
    }

    fn payload_len(&self) -> usize {
        7 + 1 + 2 * self.bands.len() + 1 + 6 * self.accumulations.len()
    }

    fn emit_payload(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        w.u32(self.cycle_ms)?;
        w.u8(self.bkg_correction.code())?;
        w.u16(self.bkg_min_cycles)?;
        w.count(Field::TriggerBands, self.bands.len())?;
        for b in &self.bands {
            b.emit(w)?;
        }
        w.count(Field::Accumulations, self.accumulations.len())?;
        for a in &self.accumulations {
            w.u16(a.cycles)?;
            w.f32(a.snr)?;
        }
        Ok(())
    }

    fn parse_payload(r: &mut Reader<'_>, version: u16) -> Result<Self, Error> {
        let mut t = ImtTable {
            version,
            cycle_ms: r.u32()?,
            bkg_correction: BkgCorrection::from_code(r.u8()?),
            bkg_min_cycles: r.u16()?,
            ..ImtTable::default()
        };
        let n = r.count(Field::TriggerBands, MAX_TRIGGER_BANDS)?;
        for _ in 0..n {
            let b = TriggerBand::parse(r)?;
            t.bands.push(b).map_err(|_| Error::Capacity {
                field: Field::TriggerBands,
                found: n,
                max: MAX_TRIGGER_BANDS,
            })?;
        }
        let n = r.count(Field::Accumulations, MAX_ACCUMULATIONS)?;
        for _ in 0..n {
            let a = Accumulation { cycles: r.u16()?, snr: r.f32()? };
            t.accumulations.push(a).map_err(|_| Error::Capacity {
                field: Field::Accumulations,
                found: n,
                max: MAX_ACCUMULATIONS,
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

    fn good() -> (ImtTable, BandTable) {
        let mut b = BandTable::default();
        b.bands.push(Band { low_kev: 5.0, high_kev: 20.0 }).unwrap();
        let mut t = ImtTable {
            version: 1,
            cycle_ms: 20_480,
            bkg_correction: BkgCorrection::Quadratic,
            bkg_min_cycles: 4,
            ..ImtTable::default()
        };
        t.bands.push(TriggerBand { first: 0, last: 0 }).unwrap();
        for c in [1, 2, 4] {
            t.accumulations.push(Accumulation { cycles: c, snr: 6.5 }).unwrap();
        }
        (t, b)
    }

    #[test]
    fn accepts_good_and_roundtrips() {
        let (t, b) = good();
        let mut n = 0;
        t.validate(&b, &mut |_| n += 1);
        assert_eq!(n, 0);
        let mut buf = [0u8; 128];
        let len = image::emit(&t, &mut buf).unwrap();
        assert_eq!(image::parse::<ImtTable>(&buf[..len]).unwrap(), t);
    }

    #[test]
    fn rejects_each_defect() {
        let (mut t, b) = good();
        t.cycle_ms = 999;
        t.bkg_correction = BkgCorrection::Unknown(7);
        t.accumulations[2].cycles = 2;
        t.accumulations[0].snr = f32::INFINITY;
        let mut v: Vec<String> = Vec::new();
        t.validate(&b, &mut |p| v.push(p.to_string()));
        assert_eq!(
            v,
            [
                "IMT table, field CYCLE_MS: 999 ms is outside 1000..60000",
                "IMT table, field BKG_CORRECTION: unknown code 7",
                "IMT table, accumulation 0, field SNR: value is not a finite number",
                "IMT table, accumulation 2, field CYCLES: 2 is not above the previous entry's 2",
            ]
        );
    }
}
