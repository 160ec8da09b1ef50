//! ECLAIRs UGTS configuration tables: one definition for the unit and the ground.
//!
//! The same types, the same binary image codec and the same validator run on board
//! (`#![no_std]`, no heap) and on the ground (`std` feature), so "valid on the ground" means
//! "accepted on board". `docs/tables.md` documents every layout, unit, limit and rule.
//!
//! | ID | table | owned form | module |
//! |---|---|---|---|
//! | `0x01` | pixel configuration (6400 entries) | [`PixelTable`] (+ zero-copy [`PixelImage`]) | [`pixels`] |
//! | `0x02` | energy bands | [`BandTable`] | [`bands`] |
//! | `0x03` | Count-Rate Trigger | [`CrtTable`] | [`crt`] |
//! | `0x04` | Image Trigger | [`ImtTable`] | [`imt`] |
//! | `0x05` | known-source catalogue | [`CatalogTable`] | [`catalog`] |
//! | `0x06` | SAA contour | [`SaaTable`] | [`saa`] |
//! | `0x07` | alert and slew policy | [`AlertTable`] | [`alert`] |
//!
//! Every image is `header (8) + payload + CRC-32 (4)` ([`image`]). The unit's table store
//! handles any table through [`ImageHeader::parse`] and [`Image::check_crc`], then runs
//! [`validate_image`], which validates in place: the 6400-entry pixel table is read entry by
//! entry from the image, never materialised. Validators report every problem to a sink
//! (`&mut dyn FnMut(Problem)`), so nothing allocates.
//!
//! With `std`: text forms (TOML, CSV), the CALDB FITS form of the pixel calibration, table
//! sets with their directory layout, the seeded default set and diffs.
//!
//! # Panic contract
//! Decoding (`image::parse`, `Image::new_checked`, [`PixelImage::new_checked`]) and
//! validation of any byte string return `Ok`/`Err` or report problems, and never panic.
//!
//! # Example
//! ```
//! use tables::{BandTable, Band, image};
//! let mut bands = BandTable::default();
//! bands.version = 3;
//! bands.bands.push(Band { low_kev: 5.0, high_kev: 20.0 }).unwrap();
//! let mut buf = [0u8; 64];
//! let len = image::emit(&bands, &mut buf).unwrap();
//! let back: BandTable = image::parse(&buf[..len]).unwrap();
//! assert_eq!(back, bands);
//! let mut problems = 0;
//! back.validate(&mut |_| problems += 1);
//! assert_eq!(problems, 0);
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)
)]

#[cfg(any(test, feature = "std"))]
extern crate std;

pub mod alert;
pub mod bands;
pub mod catalog;
pub mod crt;
pub mod image;
pub mod imt;
pub mod pixels;
pub mod problem;
pub mod saa;

#[cfg(feature = "std")]
pub mod defaults;
#[cfg(feature = "std")]
pub mod diff;
#[cfg(feature = "std")]
pub mod fits;
#[cfg(feature = "std")]
pub mod set;
#[cfg(feature = "std")]
pub mod text;

pub use alert::AlertTable;
pub use bands::{Band, BandTable, TriggerBand};
pub use catalog::{CatalogTable, Source};
pub use crt::{BackgroundFit, CrtTable, Timescale, Zone};
pub use image::{Image, ImageHeader, Table};
pub use imt::{Accumulation, BkgCorrection, ImtTable};
pub use pixels::{PixelEntry, PixelImage, PixelStatus, PixelTable};
pub use problem::{CompactProblem, Field, Problem, ProblemKind, ProblemList};
pub use saa::{SaaTable, Vertex};

/// Most energy bands in the band table.
pub const MAX_BANDS: usize = 8;
/// Most trigger bands (ranges of energy bands) in the CRT and IMT tables.
pub const MAX_TRIGGER_BANDS: usize = 4;
/// Most CRT timescales.
pub const MAX_TIMESCALES: usize = 16;
/// Most CRT detector zones.
pub const MAX_ZONES: usize = 8;
/// Most IMT accumulations.
pub const MAX_ACCUMULATIONS: usize = 8;
/// Most catalogue sources.
pub const MAX_SOURCES: usize = 128;
/// Longest catalogue source name, in octets.
pub const NAME_LEN: usize = 16;
/// Most SAA polygon vertices, the closing vertex included.
pub const MAX_VERTICES: usize = 32;
/// Largest image of any table (the pixel table's).
pub const MAX_IMAGE_LEN: usize = pixels::IMAGE_LEN;

/// The table registry: stable one-octet IDs (`docs/tables.md` §1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum TableId {
    /// Pixel configuration.
    Pixels = 0x01,
    /// Energy bands.
    Bands = 0x02,
    /// Count-Rate Trigger configuration.
    Crt = 0x03,
    /// Image Trigger configuration.
    Imt = 0x04,
    /// Known-source catalogue.
    Catalog = 0x05,
    /// South Atlantic Anomaly contour.
    Saa = 0x06,
    /// Alert and slew policy.
    Alert = 0x07,
}

impl TableId {
    /// Every table, in ID order.
    pub const ALL: [TableId; 7] = [
        TableId::Pixels,
        TableId::Bands,
        TableId::Crt,
        TableId::Imt,
        TableId::Catalog,
        TableId::Saa,
        TableId::Alert,
    ];

    /// The table for an ID octet.
    pub const fn from_u8(v: u8) -> Option<TableId> {
        match v {
            0x01 => Some(TableId::Pixels),
            0x02 => Some(TableId::Bands),
            0x03 => Some(TableId::Crt),
            0x04 => Some(TableId::Imt),
            0x05 => Some(TableId::Catalog),
            0x06 => Some(TableId::Saa),
            0x07 => Some(TableId::Alert),
            _ => None,
        }
    }

    /// Name used in messages ("pixel table, ...").
    pub const fn name(self) -> &'static str {
        match self {
            TableId::Pixels => "pixel",
            TableId::Bands => "energy band",
            TableId::Crt => "CRT",
            TableId::Imt => "IMT",
            TableId::Catalog => "catalogue",
            TableId::Saa => "SAA",
            TableId::Alert => "alert",
        }
    }

    /// Short key used on the command line and as the text file stem.
    pub const fn key(self) -> &'static str {
        match self {
            TableId::Pixels => "pixels",
            TableId::Bands => "bands",
            TableId::Crt => "crt",
            TableId::Imt => "imt",
            TableId::Catalog => "catalog",
            TableId::Saa => "saa",
            TableId::Alert => "alert",
        }
    }

    /// Largest image of this table, in octets (header, payload with every list at its
    /// maximum, CRC): what a table slot on board must hold.
    pub const fn max_image_len(self) -> usize {
        match self {
            TableId::Pixels => pixels::MAX_IMAGE_LEN,
            TableId::Bands => bands::MAX_IMAGE_LEN,
            TableId::Crt => crt::MAX_IMAGE_LEN,
            TableId::Imt => imt::MAX_IMAGE_LEN,
            TableId::Catalog => catalog::MAX_IMAGE_LEN,
            TableId::Saa => saa::MAX_IMAGE_LEN,
            TableId::Alert => alert::MAX_IMAGE_LEN,
        }
    }

    /// The table for a [`TableId::key`].
    pub fn from_key(key: &str) -> Option<TableId> {
        TableId::ALL.into_iter().find(|t| t.key() == key)
    }
}

impl core::fmt::Display for TableId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.key())
    }
}

/// Checks an image of any table and validates it in place, without allocating.
///
/// This is what the unit runs on VALIDATE: the header and CRC-32 are checked, the payload is
/// decoded (the pixel table entry by entry from the image, the small tables into their owned
/// form on the stack, at most a few kilobytes for the catalogue) and every problem goes to
/// `sink`. `bands` is the energy band table the CRT, IMT and catalogue tables refer to (the
/// one loaded alongside, or the active one). Runs in time linear in the image length.
///
/// # Errors
/// Any [`image::Error`]: such an image cannot be validated at all.
///
/// # Panics
/// Never.
pub fn validate_image(
    bytes: &[u8],
    bands: &BandTable,
    sink: &mut dyn FnMut(Problem),
) -> Result<ImageHeader, image::Error> {
    let header = ImageHeader::parse(bytes)?;
    match header.table {
        TableId::Pixels => PixelImage::new_checked(bytes)?.validate(sink),
        TableId::Bands => image::parse::<BandTable>(bytes)?.validate(sink),
        TableId::Crt => image::parse::<CrtTable>(bytes)?.validate(bands, sink),
        TableId::Imt => image::parse::<ImtTable>(bytes)?.validate(bands, sink),
        TableId::Catalog => image::parse::<CatalogTable>(bytes)?.validate(bands, sink),
        TableId::Saa => image::parse::<SaaTable>(bytes)?.validate(sink),
        TableId::Alert => image::parse::<AlertTable>(bytes)?.validate(sink),
    }
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_ids_roundtrip() {
        for t in TableId::ALL {
            assert_eq!(TableId::from_u8(t as u8), Some(t));
            assert_eq!(TableId::from_key(t.key()), Some(t));
        }
        assert_eq!(TableId::from_u8(0), None);
        assert_eq!(TableId::from_u8(8), None);
    }
}
