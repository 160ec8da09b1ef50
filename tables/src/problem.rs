//! Validation problems: what the validator reports, without allocating.
//!
//! The validator of every table reports each defect it finds to a sink
//! (`&mut dyn FnMut(Problem)`), so the unit can count, keep the first few
//! ([`ProblemList`]) or send them in ST\[01\] failure data ([`Problem::to_bytes`], 5 octets)
//! while the ground prints them all. A [`Problem`] names the table, the entry and the field;
//! its `Display` is the message shown to the operator, e.g.
//! `pixel table, DETNUM 1234 (Y=15, Z=34), field GAIN: 0 keV/channel is outside 0.05..0.5`.

use core::fmt;

use crate::TableId;
use crate::pixels::PLANE_SIDE;

/// What an entry index counts, which decides how it is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// Table-level field: no entry.
    None,
    /// A pixel (`DETNUM`).
    Pixel,
    /// An energy band.
    Band,
    /// A trigger band (a range of energy bands).
    TriggerBand,
    /// A CRT timescale.
    Timescale,
    /// A (timescale, trigger band) pair: entry = timescale × [`crate::MAX_TRIGGER_BANDS`] + band.
    TimescaleBand,
    /// A CRT detector zone.
    Zone,
    /// An IMT accumulation.
    Accumulation,
    /// A catalogue source (index in the table).
    Source,
    /// A (source, band) pair: entry = source × [`crate::MAX_BANDS`] + band.
    SourceBand,
    /// A polygon vertex.
    Vertex,
    /// A polygon edge (from vertex i to vertex i + 1).
    Edge,
}

macro_rules! fields {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal, $name:literal, $unit:literal, $kind:ident; )*) => {
        /// A field of a table, with a stable one-octet code (`docs/tables.md` §3).
        #[non_exhaustive]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum Field {
            $( $(#[$doc])* $variant = $code, )*
        }

        impl Field {
            /// Every field, in code order.
            pub const ALL: &'static [Field] = &[$(Field::$variant),*];

            /// The field's name as printed and as used in the text forms' columns.
            pub const fn name(self) -> &'static str {
                match self { $(Field::$variant => $name,)* }
            }

            /// The field's unit (empty when dimensionless).
            pub const fn unit(self) -> &'static str {
                match self { $(Field::$variant => $unit,)* }
            }

            /// What the entry index of a problem on this field counts.
            pub const fn entry_kind(self) -> EntryKind {
                match self { $(Field::$variant => EntryKind::$kind,)* }
            }

            /// The field for a code, if any.
            pub const fn from_code(code: u8) -> Option<Field> {
                match code { $($code => Some(Field::$variant),)* _ => None }
            }
        }
    };
}

fields! {
    /// Pixel status code.
    Status = 0x01, "STATUS", "", Pixel;
    /// Pixel low threshold.
    ThresholdKev = 0x02, "THRESHOLD_KEV", "keV", Pixel;
    /// Pixel gain.
    Gain = 0x03, "GAIN", "keV/channel", Pixel;
    /// Pixel offset.
    Offset = 0x04, "OFFSET", "keV", Pixel;
    /// Pixel relative efficiency.
    Efficiency = 0x05, "EFFICIENCY", "", Pixel;
    /// Number of energy bands.
    Bands = 0x10, "BANDS", "", None;
    /// Lower bound of an energy band.
    LowKev = 0x11, "LOW_KEV", "keV", Band;
    /// Upper bound of an energy band.
    HighKev = 0x12, "HIGH_KEV", "keV", Band;
    /// Number of trigger bands.
    TriggerBands = 0x18, "TRIGGER_BANDS", "", None;
    /// First energy band of a trigger band.
    FirstBand = 0x19, "FIRST_BAND", "", TriggerBand;
    /// Last energy band of a trigger band.
    LastBand = 0x1A, "LAST_BAND", "", TriggerBand;
    /// Number of CRT timescales.
    Timescales = 0x20, "TIMESCALES", "", None;
    /// Duration of a CRT timescale.
    DurationMs = 0x21, "DURATION_MS", "ms", Timescale;
    /// Rate SNR threshold of a (timescale, trigger band).
    RateSnr = 0x22, "RATE_SNR", "sigma", TimescaleBand;
    /// Number of rate SNR thresholds of a timescale.
    RateSnrCount = 0x23, "RATE_SNR_COUNT", "", Timescale;
    /// Number of detector zones.
    Zones = 0x24, "ZONES", "", None;
    /// First Y row of a zone.
    YMin = 0x25, "Y_MIN", "", Zone;
    /// Last Y row of a zone.
    YMax = 0x26, "Y_MAX", "", Zone;
    /// First Z column of a zone.
    ZMin = 0x27, "Z_MIN", "", Zone;
    /// Last Z column of a zone.
    ZMax = 0x28, "Z_MAX", "", Zone;
    /// Length of the background-fit history.
    BkgWindowMs = 0x29, "BKG_WINDOW_MS", "ms", None;
    /// Order of the background polynomial.
    BkgOrder = 0x2A, "BKG_ORDER", "", None;
    /// Gap between the fit history and the tested interval.
    BkgGapMs = 0x2B, "BKG_GAP_MS", "ms", None;
    /// CRT image SNR threshold.
    ImageSnr = 0x2C, "IMAGE_SNR", "sigma", None;
    /// IMT base cycle.
    CycleMs = 0x30, "CYCLE_MS", "ms", None;
    /// Number of IMT accumulations.
    Accumulations = 0x31, "ACCUMULATIONS", "", None;
    /// Cycles summed by an accumulation.
    Cycles = 0x32, "CYCLES", "", Accumulation;
    /// Image SNR threshold of an accumulation.
    Snr = 0x33, "SNR", "sigma", Accumulation;
    /// Background correction method.
    BkgCorrection = 0x34, "BKG_CORRECTION", "", None;
    /// Smallest accumulation (in cycles) that gets the background correction.
    BkgMinCycles = 0x35, "BKG_MIN_CYCLES", "", None;
    /// Number of catalogue sources.
    Sources = 0x40, "SOURCES", "", None;
    /// Catalogue source ID.
    SourceId = 0x41, "ID", "", Source;
    /// Catalogue source name.
    Name = 0x42, "NAME", "", Source;
    /// Right ascension (J2000).
    RaDeg = 0x43, "RA_DEG", "deg", Source;
    /// Declination (J2000).
    DecDeg = 0x44, "DEC_DEG", "deg", Source;
    /// Matching radius.
    RadiusDeg = 0x45, "RADIUS_DEG", "deg", Source;
    /// Flux threshold of a (source, band).
    FluxThreshold = 0x46, "FLUX_THRESHOLD", "ph/cm2/s", SourceBand;
    /// Number of flux thresholds of a source.
    FluxThresholdCount = 0x47, "FLUX_THRESHOLD_COUNT", "", Source;
    /// Number of SAA polygon vertices.
    Vertices = 0x50, "VERTICES", "", None;
    /// Longitude of a vertex.
    LonDeg = 0x51, "LON_DEG", "deg", Vertex;
    /// Latitude of a vertex.
    LatDeg = 0x52, "LAT_DEG", "deg", Vertex;
    /// A polygon edge.
    Edge = 0x53, "EDGE", "", Edge;
    /// Smallest image SNR that raises an alert.
    MinAlertSnr = 0x60, "MIN_ALERT_SNR", "sigma", None;
    /// Smallest image SNR that requests a slew.
    MinSlewSnr = 0x61, "MIN_SLEW_SNR", "sigma", None;
    /// Smallest Sun angle of a slew target.
    SunAngleDeg = 0x62, "SUN_ANGLE_DEG", "deg", None;
    /// Smallest Moon angle of a slew target.
    MoonAngleDeg = 0x63, "MOON_ANGLE_DEG", "deg", None;
    /// Smallest angle between a slew target and the Earth limb.
    EarthLimbDeg = 0x64, "EARTH_LIMB_DEG", "deg", None;
    /// Smallest interval between two slew requests.
    MinSlewIntervalS = 0x65, "MIN_SLEW_INTERVAL_S", "s", None;
    /// Largest number of slew requests per day.
    MaxSlewsPerDay = 0x66, "MAX_SLEWS_PER_DAY", "", None;
    /// Whether a flaring catalogue source may get a slew.
    SlewOnCatalog = 0x67, "SLEW_ON_CATALOG", "", None;
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What is wrong with a field. Codes (`docs/tables.md` §3) are stable.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ProblemKind {
    /// The value lies outside an inclusive range.
    OutOfRange {
        /// The value.
        value: f64,
        /// Smallest allowed.
        min: f64,
        /// Largest allowed.
        max: f64,
    },
    /// The value is NaN or infinite.
    NotFinite,
    /// An enumerated field holds an unknown code.
    UnknownCode {
        /// The code.
        value: u32,
    },
    /// The number of entries is outside the allowed range.
    Count {
        /// Entries found.
        found: u16,
        /// Fewest allowed.
        min: u16,
        /// Most allowed.
        max: u16,
    },
    /// The value is not above the previous entry's (entries must increase strictly).
    NotIncreasing {
        /// The previous entry's value.
        previous: f64,
        /// This entry's value.
        value: f64,
    },
    /// A lower bound is not below its upper bound.
    Reversed {
        /// Lower bound.
        low: f64,
        /// Upper bound.
        high: f64,
    },
    /// The entry overlaps or precedes another entry (same entry kind).
    Overlap {
        /// The other entry.
        other: u16,
    },
    /// A band range skips a gap: band `at` does not start where band `at − 1` ends.
    Gap {
        /// The band that does not continue its predecessor.
        at: u16,
    },
    /// The value repeats another entry's.
    Duplicate {
        /// The other entry.
        other: u16,
    },
    /// A list has the wrong number of values.
    Mismatch {
        /// Values found.
        found: u16,
        /// Values expected.
        expected: u16,
    },
    /// A reference to an energy band that does not exist.
    BadReference {
        /// Band index referred to.
        index: u16,
        /// Bands defined.
        count: u16,
    },
    /// The polygon's last vertex is not its first.
    NotClosed,
    /// The polygon edge crosses another edge.
    SelfIntersecting {
        /// The other edge.
        other: u16,
    },
    /// A name is empty or not printable ASCII.
    InvalidText,
    /// The value is not a multiple of a step.
    NotMultiple {
        /// The value.
        value: u32,
        /// The step.
        step: u32,
    },
}

impl ProblemKind {
    /// The kind's one-octet code.
    pub const fn code(&self) -> u8 {
        match self {
            ProblemKind::OutOfRange { .. } => 0x01,
            ProblemKind::NotFinite => 0x02,
            ProblemKind::UnknownCode { .. } => 0x03,
            ProblemKind::Count { .. } => 0x04,
            ProblemKind::NotIncreasing { .. } => 0x05,
            ProblemKind::Reversed { .. } => 0x06,
            ProblemKind::Overlap { .. } => 0x07,
            ProblemKind::Gap { .. } => 0x08,
            ProblemKind::Duplicate { .. } => 0x09,
            ProblemKind::Mismatch { .. } => 0x0A,
            ProblemKind::BadReference { .. } => 0x0B,
            ProblemKind::NotClosed => 0x0C,
            ProblemKind::SelfIntersecting { .. } => 0x0D,
            ProblemKind::InvalidText => 0x0E,
            ProblemKind::NotMultiple { .. } => 0x0F,
        }
    }
}

/// One defect found by a validator.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Problem {
    /// The table.
    pub table: TableId,
    /// The entry (pixel DETNUM, band index, ...), `None` for table-level fields.
    pub entry: Option<u16>,
    /// The field.
    pub field: Field,
    /// What is wrong.
    pub kind: ProblemKind,
}

/// Length of [`Problem::to_bytes`].
pub const COMPACT_LEN: usize = 5;

/// Entry value of the compact form meaning "no entry".
pub const NO_ENTRY: u16 = 0xFFFF;

impl Problem {
    /// The compact form for ST\[01\] failure data: table ID, entry (big-endian, `0xFFFF` for
    /// none), field code, kind code.
    pub fn to_bytes(&self) -> [u8; COMPACT_LEN] {
        let [hi, lo] = self.entry.unwrap_or(NO_ENTRY).to_be_bytes();
        [self.table as u8, hi, lo, self.field as u8, self.kind.code()]
    }
}

/// The decoded compact form of a problem (values are not carried).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompactProblem {
    /// The table.
    pub table: TableId,
    /// The entry, `None` for table-level fields.
    pub entry: Option<u16>,
    /// The field.
    pub field: Field,
    /// The [`ProblemKind::code`].
    pub kind_code: u8,
}

impl CompactProblem {
    /// Decodes [`Problem::to_bytes`]; `None` if short or a code is unknown.
    pub fn from_bytes(bytes: &[u8]) -> Option<CompactProblem> {
        let b: &[u8; COMPACT_LEN] = bytes.get(..COMPACT_LEN)?.try_into().ok()?;
        let [t, hi, lo, fc, kc] = *b;
        let entry = u16::from_be_bytes([hi, lo]);
        Some(CompactProblem {
            table: TableId::from_u8(t)?,
            entry: if entry == NO_ENTRY { None } else { Some(entry) },
            field: Field::from_code(fc)?,
            kind_code: kc,
        })
    }
}

/// Prints a number the way it was written: integers without a fraction, others as the
/// shortest `f32` that reads back (every non-integer value in a table is an `f32`).
struct Num(f64);

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        if v > -1e15 && v < 1e15 && (v as i64) as f64 == v {
            write!(f, "{}", v as i64)
        } else {
            write!(f, "{}", v as f32)
        }
    }
}

struct Unit(&'static str);

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() { Ok(()) } else { write!(f, " {}", self.0) }
    }
}

fn write_entry(f: &mut fmt::Formatter<'_>, kind: EntryKind, e: u16) -> fmt::Result {
    let tb = crate::MAX_TRIGGER_BANDS as u16;
    let nb = crate::MAX_BANDS as u16;
    match kind {
        EntryKind::None => write!(f, "entry {e}"),
        EntryKind::Pixel => {
            let side = PLANE_SIDE as u16;
            write!(f, "DETNUM {e} (Y={}, Z={})", e / side, e % side)
        }
        EntryKind::Band => write!(f, "band {e}"),
        EntryKind::TriggerBand => write!(f, "trigger band {e}"),
        EntryKind::Timescale => write!(f, "timescale {e}"),
        EntryKind::TimescaleBand => write!(f, "timescale {}, trigger band {}", e / tb, e % tb),
        EntryKind::Zone => write!(f, "zone {e}"),
        EntryKind::Accumulation => write!(f, "accumulation {e}"),
        EntryKind::Source => write!(f, "source {e}"),
        EntryKind::SourceBand => write!(f, "source {}, band {}", e / nb, e % nb),
        EntryKind::Vertex => write!(f, "vertex {e}"),
        EntryKind::Edge => write!(f, "edge {e}"),
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ek = self.field.entry_kind();
        write!(f, "{} table, ", self.table.name())?;
        if let Some(e) = self.entry {
            write_entry(f, ek, e)?;
            f.write_str(", ")?;
        }
        write!(f, "field {}: ", self.field.name())?;
        let unit = Unit(self.field.unit());
        match self.kind {
            ProblemKind::OutOfRange { value, min, max } => {
                write!(f, "{}{unit} is outside {}..{}", Num(value), Num(min), Num(max))
            }
            ProblemKind::NotFinite => f.write_str("value is not a finite number"),
            ProblemKind::UnknownCode { value } => write!(f, "unknown code {value}"),
            ProblemKind::Count { found, min, max } => {
                write!(f, "{found} entries, expected {min}..{max}")
            }
            ProblemKind::NotIncreasing { previous, value } => write!(
                f,
                "{}{unit} is not above the previous entry's {}{unit}",
                Num(value),
                Num(previous)
            ),
            ProblemKind::Reversed { low, high } => {
                write!(
                    f,
                    "lower bound {}{unit} is not below upper bound {}{unit}",
                    Num(low),
                    Num(high)
                )
            }
            ProblemKind::Overlap { other } => {
                f.write_str("overlaps or precedes ")?;
                write_entry(f, ek, other)
            }
            ProblemKind::Gap { at } => write!(
                f,
                "energy band {at} does not start where band {} ends (trigger bands must be contiguous)",
                at.saturating_sub(1)
            ),
            ProblemKind::Duplicate { other } => {
                f.write_str("same value as ")?;
                write_entry(f, ek, other)
            }
            ProblemKind::Mismatch { found, expected } => {
                write!(f, "{found} values, expected {expected} (one per band)")
            }
            ProblemKind::BadReference { index, count } => write!(
                f,
                "refers to energy band {index}, the band table defines {count} (0..{})",
                count.saturating_sub(1)
            ),
            ProblemKind::NotClosed => {
                f.write_str("polygon is not closed: the last vertex must repeat the first")
            }
            ProblemKind::SelfIntersecting { other } => write!(f, "crosses edge {other}"),
            ProblemKind::InvalidText => {
                write!(f, "must be 1 to {} printable ASCII characters", crate::NAME_LEN)
            }
            ProblemKind::NotMultiple { value, step } => {
                write!(f, "{value}{unit} is not a multiple of {step}{unit}")
            }
        }
    }
}

/// A fixed-capacity collector: keeps the first `N` problems and counts all of them.
#[derive(Debug, Clone, Default)]
pub struct ProblemList<const N: usize> {
    kept: heapless::Vec<Problem, N>,
    total: usize,
}

impl<const N: usize> ProblemList<N> {
    /// An empty list.
    pub const fn new() -> Self {
        ProblemList { kept: heapless::Vec::new(), total: 0 }
    }

    /// Records a problem (kept if there is room, always counted).
    pub fn push(&mut self, p: Problem) {
        self.total = self.total.saturating_add(1);
        // A full list drops the problem on purpose: it is still counted.
        let _ = self.kept.push(p);
    }

    /// The problems kept, in the order found.
    pub fn kept(&self) -> &[Problem] {
        &self.kept
    }

    /// How many problems were reported in total.
    pub const fn total(&self) -> usize {
        self.total
    }

    /// True when no problem was reported.
    pub const fn is_empty(&self) -> bool {
        self.total == 0
    }
}

/// Reports `value` as [`ProblemKind::NotFinite`] or [`ProblemKind::OutOfRange`] outside
/// `min..=max`; returns true when the value is acceptable.
pub(crate) fn check_range(
    sink: &mut dyn FnMut(Problem),
    table: TableId,
    entry: Option<u16>,
    field: Field,
    value: f64,
    min: f64,
    max: f64,
) -> bool {
    let kind = if !value.is_finite() {
        ProblemKind::NotFinite
    } else if value < min || value > max {
        ProblemKind::OutOfRange { value, min, max }
    } else {
        return true;
    };
    sink(Problem { table, entry, field, kind });
    false
}

/// Reports a count outside `min..=max` as [`ProblemKind::Count`].
pub(crate) fn check_count(
    sink: &mut dyn FnMut(Problem),
    table: TableId,
    field: Field,
    found: usize,
    min: usize,
    max: usize,
) {
    if found < min || found > max {
        let c = |v: usize| u16::try_from(v).unwrap_or(u16::MAX);
        sink(Problem {
            table,
            entry: None,
            field,
            kind: ProblemKind::Count { found: c(found), min: c(min), max: c(max) },
        });
    }
}

/// An entry index as the `u16` of [`Problem::entry`] (every capacity is far below 65 535).
pub(crate) fn idx(i: usize) -> Option<u16> {
    Some(u16::try_from(i).unwrap_or(u16::MAX))
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::ToString;

    use super::*;

    #[test]
    fn display_pixel_gain() {
        let p = Problem {
            table: TableId::Pixels,
            entry: Some(1234),
            field: Field::Gain,
            kind: ProblemKind::OutOfRange { value: 0.0, min: 0.05f32 as f64, max: 0.5 },
        };
        assert_eq!(
            p.to_string(),
            "pixel table, DETNUM 1234 (Y=15, Z=34), field GAIN: 0 keV/channel is outside 0.05..0.5"
        );
    }

    #[test]
    fn compact_roundtrip() {
        let p = Problem {
            table: TableId::Saa,
            entry: None,
            field: Field::Vertices,
            kind: ProblemKind::NotClosed,
        };
        let b = p.to_bytes();
        assert_eq!(b, [0x06, 0xFF, 0xFF, 0x50, 0x0C]);
        let c = CompactProblem::from_bytes(&b).unwrap();
        assert_eq!(c.table, TableId::Saa);
        assert_eq!(c.entry, None);
        assert_eq!(c.field, Field::Vertices);
        assert_eq!(c.kind_code, 0x0C);
        assert_eq!(CompactProblem::from_bytes(&b[..4]), None);
    }

    #[test]
    fn field_codes_are_unique() {
        for (i, a) in Field::ALL.iter().enumerate() {
            assert_eq!(Field::from_code(*a as u8), Some(*a));
            for b in &Field::ALL[i + 1..] {
                assert_ne!(*a as u8, *b as u8);
                assert_ne!(a.name(), b.name());
            }
        }
    }

    #[test]
    fn list_keeps_first_and_counts_all() {
        let mut l = ProblemList::<2>::new();
        for e in 0..5 {
            l.push(Problem {
                table: TableId::Bands,
                entry: Some(e),
                field: Field::LowKev,
                kind: ProblemKind::NotFinite,
            });
        }
        assert_eq!(l.total(), 5);
        assert_eq!(l.kept().len(), 2);
        assert_eq!(l.kept()[1].entry, Some(1));
    }
}
