//! Pixel configuration table (ID `0x01`): 6400 entries, one per CdTe pixel, DETNUM = 80·Y + Z.
//!
//! Payload: 6400 records of 17 octets in DETNUM order, no count field:
//!
//! | offset | type | field | unit |
//! |---|---|---|---|
//! | 0 | u8 | status: 0 ok, 1 noisy, 2 dead, 3 high threshold (excluded from the trigger) | |
//! | 1 | f32 | low threshold | keV |
//! | 5 | f32 | gain | keV/channel |
//! | 9 | f32 | offset | keV |
//! | 13 | f32 | relative efficiency | 0–1 |
//!
//! The unit validates an image in place through [`PixelImage`]: entries are decoded one at a
//! time and given to the same [`validate_entry`] the owned [`PixelTable`] uses.

use crate::TableId;
use crate::image::{self, Error, Reader, Table, Writer};
use crate::problem::{Field, Problem, ProblemKind, check_range};

/// Pixels per side of the detection plane.
pub const PLANE_SIDE: usize = 80;
/// Number of pixels (entries).
pub const PIXELS: usize = PLANE_SIDE * PLANE_SIDE;
/// Octets per entry in the image.
pub const ENTRY_LEN: usize = 17;
/// Payload length of the pixel image.
pub const PAYLOAD_LEN: usize = PIXELS * ENTRY_LEN;
/// Length of the whole pixel image.
pub const IMAGE_LEN: usize = image::HEADER_LEN + PAYLOAD_LEN + image::CRC_LEN;
/// Largest image of the pixel table, in octets: its only length, [`IMAGE_LEN`].
pub const MAX_IMAGE_LEN: usize = IMAGE_LEN;
/// Payload format version.
pub const FORMAT_VERSION: u8 = 1;

/// Allowed low threshold, keV.
pub const THRESHOLD_KEV: (f64, f64) = (2.0, 20.0);
/// Allowed gain, keV/channel.
pub const GAIN: (f64, f64) = (0.05, 0.5);
/// Allowed offset, keV.
pub const OFFSET_KEV: (f64, f64) = (-20.0, 20.0);
/// Allowed relative efficiency of a pixel that is not dead.
pub const EFFICIENCY: (f64, f64) = (0.05, 1.0);

/// Status of a pixel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum PixelStatus {
    /// In use.
    #[default]
    Ok,
    /// Noisy: masked below 8 keV by the trigger.
    Noisy,
    /// Dead: never used.
    Dead,
    /// High-threshold pixel: threshold raised against cross-talk, excluded from the trigger.
    HighThreshold,
    /// A code this software does not know (the validator rejects it).
    Unknown(u8),
}

impl PixelStatus {
    /// The octet in the image.
    pub const fn code(self) -> u8 {
        match self {
            PixelStatus::Ok => 0,
            PixelStatus::Noisy => 1,
            PixelStatus::Dead => 2,
            PixelStatus::HighThreshold => 3,
            PixelStatus::Unknown(c) => c,
        }
    }

    /// From the octet in the image.
    pub const fn from_code(c: u8) -> Self {
        match c {
            0 => PixelStatus::Ok,
            1 => PixelStatus::Noisy,
            2 => PixelStatus::Dead,
            3 => PixelStatus::HighThreshold,
            c => PixelStatus::Unknown(c),
        }
    }

    /// The word used in the CSV form (`ok`, `noisy`, `dead`, `high_threshold`); `None` for
    /// unknown codes, which the CSV form writes as the number.
    pub const fn word(self) -> Option<&'static str> {
        match self {
            PixelStatus::Ok => Some("ok"),
            PixelStatus::Noisy => Some("noisy"),
            PixelStatus::Dead => Some("dead"),
            PixelStatus::HighThreshold => Some("high_threshold"),
            PixelStatus::Unknown(_) => None,
        }
    }

    /// From a CSV word or a decimal code.
    pub fn from_word(w: &str) -> Option<Self> {
        match w {
            "ok" => Some(PixelStatus::Ok),
            "noisy" => Some(PixelStatus::Noisy),
            "dead" => Some(PixelStatus::Dead),
            "high_threshold" => Some(PixelStatus::HighThreshold),
            _ => w.parse::<u8>().ok().map(PixelStatus::from_code),
        }
    }

    /// Whether the trigger uses the pixel.
    pub const fn in_trigger(self) -> bool {
        matches!(self, PixelStatus::Ok | PixelStatus::Noisy)
    }
}

/// One pixel's configuration.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PixelEntry {
    /// Status.
    pub status: PixelStatus,
    /// Low threshold, keV.
    pub threshold_kev: f32,
    /// Gain, keV/channel: E = gain · PHA + offset.
    pub gain: f32,
    /// Offset, keV.
    pub offset_kev: f32,
    /// Relative efficiency, 1 for a nominal pixel, below 1 for a low-efficiency pixel.
    pub efficiency: f32,
}

impl PixelEntry {
    /// The nominal entry (DOMAIN.md: 4 keV, 0.145 keV/channel, 3.0 keV, efficiency 1).
    pub const NOMINAL: PixelEntry = PixelEntry {
        status: PixelStatus::Ok,
        threshold_kev: 4.0,
        gain: 0.145,
        offset_kev: 3.0,
        efficiency: 1.0,
    };

    /// Decodes one 17-octet record.
    ///
    /// # Errors
    /// [`Error::Truncated`].
    pub fn parse(r: &mut Reader<'_>) -> Result<PixelEntry, Error> {
        Ok(PixelEntry {
            status: PixelStatus::from_code(r.u8()?),
            threshold_kev: r.f32()?,
            gain: r.f32()?,
            offset_kev: r.f32()?,
            efficiency: r.f32()?,
        })
    }

    /// Encodes one 17-octet record.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`].
    pub fn emit(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        w.u8(self.status.code())?;
        w.f32(self.threshold_kev)?;
        w.f32(self.gain)?;
        w.f32(self.offset_kev)?;
        w.f32(self.efficiency)
    }
}

impl Default for PixelEntry {
    fn default() -> Self {
        PixelEntry::NOMINAL
    }
}

/// The pixel Y (row) of a DETNUM.
pub const fn y_of(detnum: u16) -> u16 {
    detnum / PLANE_SIDE as u16
}

/// The pixel Z (column) of a DETNUM.
pub const fn z_of(detnum: u16) -> u16 {
    detnum % PLANE_SIDE as u16
}

/// The DETNUM of pixel (Y, Z).
pub const fn detnum(y: u16, z: u16) -> u16 {
    y * PLANE_SIDE as u16 + z
}

/// Validates one entry: status known, every value finite and in range
/// ([`THRESHOLD_KEV`], [`GAIN`], [`OFFSET_KEV`], [`EFFICIENCY`]; a dead pixel's efficiency
/// may be 0).
pub fn validate_entry(detnum: u16, e: &PixelEntry, sink: &mut dyn FnMut(Problem)) {
    let t = TableId::Pixels;
    let entry = Some(detnum);
    if let PixelStatus::Unknown(c) = e.status {
        sink(Problem {
            table: t,
            entry,
            field: Field::Status,
            kind: ProblemKind::UnknownCode { value: u32::from(c) },
        });
    }
    let (lo, hi) = THRESHOLD_KEV;
    check_range(sink, t, entry, Field::ThresholdKev, f64::from(e.threshold_kev), lo, hi);
    let (lo, hi) = GAIN;
    check_range(sink, t, entry, Field::Gain, f64::from(e.gain), lo, hi);
    let (lo, hi) = OFFSET_KEV;
    check_range(sink, t, entry, Field::Offset, f64::from(e.offset_kev), lo, hi);
    let (lo, hi) = if e.status == PixelStatus::Dead { (0.0, 1.0) } else { EFFICIENCY };
    check_range(sink, t, entry, Field::Efficiency, f64::from(e.efficiency), lo, hi);
}

/// The owned pixel table (about 128 KiB: `static` on board, boxed on the ground).
#[derive(Clone, Debug, PartialEq)]
pub struct PixelTable {
    /// Table content version.
    pub version: u16,
    /// Entries indexed by DETNUM.
    pub entries: [PixelEntry; PIXELS],
}

impl Default for PixelTable {
    fn default() -> Self {
        PixelTable { version: 0, entries: [PixelEntry::NOMINAL; PIXELS] }
    }
}

impl PixelTable {
    /// The entry of a DETNUM, `None` above 6399.
    pub fn entry(&self, detnum: u16) -> Option<&PixelEntry> {
        self.entries.get(usize::from(detnum))
    }

    /// Validates every entry (see [`validate_entry`]).
    pub fn validate(&self, sink: &mut dyn FnMut(Problem)) {
        for (d, e) in (0u16..).zip(self.entries.iter()) {
            validate_entry(d, e, sink);
        }
    }

    /// Decodes an image into `self` in place (no 128 KiB temporary), after checking it.
    ///
    /// # Errors
    /// Those of [`PixelImage::new_checked`]; `self` is unchanged on error.
    pub fn load_image(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let view = PixelImage::new_checked(bytes)?;
        let mut r = Reader::new(view.image.payload());
        for e in self.entries.iter_mut() {
            *e = PixelEntry::parse(&mut r)?;
        }
        self.version = view.version();
        Ok(())
    }
}

impl Table for PixelTable {
    const ID: TableId = TableId::Pixels;
    const FORMAT_VERSION: u8 = FORMAT_VERSION;

    fn version(&self) -> u16 {
        self.version
    }

    fn payload_len(&self) -> usize {
        PAYLOAD_LEN
    }

    fn emit_payload(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        self.entries.iter().try_for_each(|e| e.emit(w))
    }

    fn parse_payload(r: &mut Reader<'_>, version: u16) -> Result<Self, Error> {
        if r.remaining() != PAYLOAD_LEN {
            return Err(Error::BadLength { found: r.remaining(), expected: PAYLOAD_LEN });
        }
        let mut t = PixelTable { version, ..PixelTable::default() };
        for e in t.entries.iter_mut() {
            *e = PixelEntry::parse(r)?;
        }
        Ok(t)
    }
}

/// A zero-copy view of a pixel table image: what the unit validates in place.
#[derive(Debug, Clone)]
pub struct PixelImage<T: AsRef<[u8]>> {
    image: image::Image<T>,
}

impl<T: AsRef<[u8]>> PixelImage<T> {
    /// Checks the header (table ID, format, payload length) and the CRC.
    ///
    /// # Errors
    /// [`Error::WrongTable`], [`Error::BadFormat`], [`Error::BadLength`], [`Error::Truncated`],
    /// [`Error::BadCrc`].
    ///
    /// # Panics
    /// Never.
    pub fn new_checked(buffer: T) -> Result<PixelImage<T>, Error> {
        let header = image::check::<PixelTable>(buffer.as_ref())?;
        let found = header.payload_len as usize;
        if found != PAYLOAD_LEN {
            return Err(Error::BadLength { found, expected: PAYLOAD_LEN });
        }
        Ok(PixelImage { image: image::Image::new_unchecked(buffer) })
    }

    /// Table content version.
    pub fn version(&self) -> u16 {
        self.image.header().map_or(0, |h| h.table_version)
    }

    /// Decodes the entry of a DETNUM, `None` above 6399.
    pub fn entry(&self, detnum: u16) -> Option<PixelEntry> {
        let start = usize::from(detnum).checked_mul(ENTRY_LEN)?;
        let bytes = self.image.payload().get(start..start.checked_add(ENTRY_LEN)?)?;
        PixelEntry::parse(&mut Reader::new(bytes)).ok()
    }

    /// Iterates over (DETNUM, entry).
    pub fn entries(&self) -> impl Iterator<Item = (u16, PixelEntry)> + '_ {
        self.image
            .payload()
            .chunks_exact(ENTRY_LEN)
            .zip(0u16..)
            .filter_map(|(b, d)| PixelEntry::parse(&mut Reader::new(b)).ok().map(|e| (d, e)))
    }

    /// Validates every entry in place, with the same rules as [`PixelTable::validate`].
    pub fn validate(&self, sink: &mut dyn FnMut(Problem)) {
        for (d, e) in self.entries() {
            validate_entry(d, &e, sink);
        }
    }

    /// The underlying image view.
    pub fn image(&self) -> &image::Image<T> {
        &self.image
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::ToString;
    use std::vec;
    use std::vec::Vec;

    use super::*;

    fn image_of(t: &PixelTable) -> Vec<u8> {
        let mut buf = vec![0u8; IMAGE_LEN];
        assert_eq!(image::emit(t, &mut buf).unwrap(), IMAGE_LEN);
        buf
    }

    #[test]
    fn emit_parse_roundtrip() {
        let mut t = PixelTable { version: 9, ..PixelTable::default() };
        t.entries[1234].gain = 0.15;
        t.entries[6399].status = PixelStatus::Dead;
        let img = image_of(&t);
        let back: PixelTable = image::parse(&img).unwrap();
        assert_eq!(back, t);
        let mut other = PixelTable::default();
        other.load_image(&img).unwrap();
        assert_eq!(other, t);
    }

    #[test]
    fn view_validates_in_place() {
        let mut t = PixelTable::default();
        t.entries[1234].gain = 0.0;
        t.entries[7].status = PixelStatus::Unknown(9);
        t.entries[8].efficiency = f32::NAN;
        let img = image_of(&t);
        let view = PixelImage::new_checked(&img[..]).unwrap();
        assert_eq!(view.entry(1234).unwrap().gain, 0.0);
        assert_eq!(view.entry(6400), None);
        let mut found = Vec::new();
        view.validate(&mut |p| found.push(p));
        let mut owned = Vec::new();
        t.validate(&mut |p| owned.push(p));
        assert_eq!(found, owned);
        assert_eq!(found.len(), 3);
        assert_eq!(
            found[2].to_string(),
            "pixel table, DETNUM 1234 (Y=15, Z=34), field GAIN: 0 keV/channel is outside 0.05..0.5"
        );
        assert_eq!(
            found[0].to_string(),
            "pixel table, DETNUM 7 (Y=0, Z=7), field STATUS: unknown code 9"
        );
    }

    #[test]
    fn dead_pixel_may_have_zero_efficiency() {
        let e = PixelEntry { status: PixelStatus::Dead, efficiency: 0.0, ..PixelEntry::NOMINAL };
        let mut n = 0;
        validate_entry(0, &e, &mut |_| n += 1);
        assert_eq!(n, 0);
        let e = PixelEntry { efficiency: 0.0, ..PixelEntry::NOMINAL };
        validate_entry(0, &e, &mut |_| n += 1);
        assert_eq!(n, 1);
    }

    #[test]
    fn bad_length_rejected() {
        let t = PixelTable::default();
        let mut img = image_of(&t);
        img.truncate(IMAGE_LEN - 1);
        assert!(matches!(PixelImage::new_checked(&img[..]), Err(Error::Truncated { .. })));
    }

    #[test]
    fn status_words() {
        for c in 0..=255u8 {
            let s = PixelStatus::from_code(c);
            assert_eq!(s.code(), c);
            let w = s.word().map_or_else(|| c.to_string(), |w| w.to_string());
            assert_eq!(PixelStatus::from_word(&w), Some(s));
        }
    }
}
