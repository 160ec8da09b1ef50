//! A complete table set (std) and its directory layout.
//!
//! | file | table |
//! |---|---|
//! | `pixels.csv` | [`PixelTable`] |
//! | `bands.toml` | [`BandTable`] |
//! | `crt.toml` | [`CrtTable`] |
//! | `imt.toml` | [`ImtTable`] |
//! | `catalog.toml` | [`CatalogTable`] |
//! | `saa.toml` | [`SaaTable`] |
//! | `alert.toml` | [`AlertTable`] |
//!
//! Each file carries its table version (`version = N` in TOML, `# version = N` in CSV).

use std::boxed::Box;
use std::path::Path;
#[allow(unused_imports)]
use std::prelude::rust_2024::*;
use std::string::{String, ToString};
use std::vec::Vec;
#[allow(unused_imports)]
use std::{format, vec};

use crate::image::{self, Table};
use crate::text::{self, TextError};
use crate::{
    AlertTable, BandTable, CatalogTable, CrtTable, ImtTable, PixelTable, Problem, SaaTable, TableId,
};

/// Every table of the instrument.
#[derive(Clone, Debug, PartialEq)]
pub struct TableSet {
    /// Pixel configuration.
    pub pixels: Box<PixelTable>,
    /// Energy bands.
    pub bands: BandTable,
    /// Count-Rate Trigger.
    pub crt: CrtTable,
    /// Image Trigger.
    pub imt: ImtTable,
    /// Known-source catalogue.
    pub catalog: CatalogTable,
    /// SAA contour.
    pub saa: SaaTable,
    /// Alert and slew policy.
    pub alert: AlertTable,
}

/// The file name of a table in a set directory.
pub const fn file_name(id: TableId) -> &'static str {
    match id {
        TableId::Pixels => "pixels.csv",
        TableId::Bands => "bands.toml",
        TableId::Crt => "crt.toml",
        TableId::Imt => "imt.toml",
        TableId::Catalog => "catalog.toml",
        TableId::Saa => "saa.toml",
        TableId::Alert => "alert.toml",
    }
}

fn comment(id: TableId) -> &'static str {
    match id {
        TableId::Pixels => "",
        TableId::Bands => {
            "ECLAIRs energy band table (ID 0x02), see docs/tables.md.\n\
             Elementary bands [low_kev, high_kev), ordered and non-overlapping, at most 8."
        }
        TableId::Crt => {
            "ECLAIRs Count-Rate Trigger table (ID 0x03), see docs/tables.md.\n\
             bands: trigger bands, ranges first..=last of elementary bands of bands.toml.\n\
             timescales: durations in ms (multiples of 10 ms), one rate_snr per trigger band.\n\
             zones: detector rectangles, pixel indices inclusive. SNRs in sigma."
        }
        TableId::Imt => {
            "ECLAIRs Image Trigger table (ID 0x04), see docs/tables.md.\n\
             cycle_ms: base imaging cycle; accumulations: images over `cycles` cycles with\n\
             their SNR threshold; bkg_correction: none | quadratic, applied from bkg_min_cycles."
        }
        TableId::Catalog => {
            "ECLAIRs known-source catalogue (ID 0x05), see docs/tables.md.\n\
             RA/Dec J2000 in degrees, radius_deg: matching radius, flux_threshold in ph/cm2/s\n\
             per elementary band of bands.toml. IDs are this project's, not the flight IDs."
        }
        TableId::Saa => {
            "ECLAIRs South Atlantic Anomaly contour (ID 0x06), see docs/tables.md.\n\
             Closed polygon (last vertex = first) in geographic lon/lat degrees, no self-crossing."
        }
        TableId::Alert => {
            "ECLAIRs alert and slew policy (ID 0x07), see docs/tables.md.\n\
             SNRs in sigma, angles in degrees, interval in seconds."
        }
    }
}

impl TableSet {
    /// The table version of a table.
    pub fn version(&self, id: TableId) -> u16 {
        match id {
            TableId::Pixels => self.pixels.version,
            TableId::Bands => self.bands.version,
            TableId::Crt => self.crt.version,
            TableId::Imt => self.imt.version,
            TableId::Catalog => self.catalog.version,
            TableId::Saa => self.saa.version,
            TableId::Alert => self.alert.version,
        }
    }

    /// Runs every table's validator (the CRT, IMT and catalogue against this set's bands).
    pub fn validate(&self, sink: &mut dyn FnMut(Problem)) {
        for id in TableId::ALL {
            self.validate_table(id, sink);
        }
    }

    /// Runs one table's validator.
    pub fn validate_table(&self, id: TableId, sink: &mut dyn FnMut(Problem)) {
        match id {
            TableId::Pixels => self.pixels.validate(sink),
            TableId::Bands => self.bands.validate(sink),
            TableId::Crt => self.crt.validate(&self.bands, sink),
            TableId::Imt => self.imt.validate(&self.bands, sink),
            TableId::Catalog => self.catalog.validate(&self.bands, sink),
            TableId::Saa => self.saa.validate(sink),
            TableId::Alert => self.alert.validate(sink),
        }
    }

    /// Every problem, in table order.
    pub fn problems(&self) -> Vec<Problem> {
        let mut v = Vec::new();
        self.validate(&mut |p| v.push(p));
        v
    }

    /// The binary image of one table.
    ///
    /// # Errors
    /// [`image::Error::Capacity`] if a list exceeds 255 entries (impossible with these types).
    pub fn image(&self, id: TableId) -> Result<Vec<u8>, image::Error> {
        fn go<T: Table>(t: &T) -> Result<Vec<u8>, image::Error> {
            let mut buf = std::vec![0u8; t.image_len()];
            image::emit(t, &mut buf)?;
            Ok(buf)
        }
        match id {
            TableId::Pixels => go(&*self.pixels),
            TableId::Bands => go(&self.bands),
            TableId::Crt => go(&self.crt),
            TableId::Imt => go(&self.imt),
            TableId::Catalog => go(&self.catalog),
            TableId::Saa => go(&self.saa),
            TableId::Alert => go(&self.alert),
        }
    }

    /// Decodes a set from one image per table, in any order.
    ///
    /// # Errors
    /// Any [`image::Error`]; [`image::Error::UnknownTable`] naming a missing table's ID.
    pub fn from_images(images: &[&[u8]]) -> Result<TableSet, image::Error> {
        let find = |id: TableId| -> Result<&[u8], image::Error> {
            images
                .iter()
                .copied()
                .find(|b| image::ImageHeader::parse(b).is_ok_and(|h| h.table == id))
                .ok_or(image::Error::UnknownTable(id as u8))
        };
        let mut pixels = Box::<PixelTable>::default();
        pixels.load_image(find(TableId::Pixels)?)?;
        Ok(TableSet {
            pixels,
            bands: image::parse(find(TableId::Bands)?)?,
            crt: image::parse(find(TableId::Crt)?)?,
            imt: image::parse(find(TableId::Imt)?)?,
            catalog: image::parse(find(TableId::Catalog)?)?,
            saa: image::parse(find(TableId::Saa)?)?,
            alert: image::parse(find(TableId::Alert)?)?,
        })
    }

    /// The text form of one table (CSV for pixels, TOML otherwise).
    pub fn to_text(&self, id: TableId) -> String {
        let c = comment(id);
        match id {
            TableId::Pixels => text::pixels_to_csv(&self.pixels),
            TableId::Bands => text::to_toml(c, &self.bands),
            TableId::Crt => text::to_toml(c, &self.crt),
            TableId::Imt => text::to_toml(c, &self.imt),
            TableId::Catalog => text::to_toml(c, &self.catalog),
            TableId::Saa => text::to_toml(c, &self.saa),
            TableId::Alert => text::to_toml(c, &self.alert),
        }
    }

    /// Reads a set from its text forms; `read` gives a file's path and content by name.
    ///
    /// # Errors
    /// The first [`TextError`].
    pub fn from_texts(
        mut read: impl FnMut(&str) -> Result<(String, String), TextError>,
    ) -> Result<TableSet, TextError> {
        let (p, s) = read(file_name(TableId::Pixels))?;
        let pixels = text::pixels_from_csv(&p, &s)?;
        let mut toml = |id: TableId| read(file_name(id));
        let (p, s) = toml(TableId::Bands)?;
        let bands = text::from_toml(&p, &s)?;
        let (p, s) = toml(TableId::Crt)?;
        let crt = text::from_toml(&p, &s)?;
        let (p, s) = toml(TableId::Imt)?;
        let imt = text::from_toml(&p, &s)?;
        let (p, s) = toml(TableId::Catalog)?;
        let catalog = text::from_toml(&p, &s)?;
        let (p, s) = toml(TableId::Saa)?;
        let saa = text::from_toml(&p, &s)?;
        let (p, s) = toml(TableId::Alert)?;
        let alert = text::from_toml(&p, &s)?;
        Ok(TableSet { pixels, bands, crt, imt, catalog, saa, alert })
    }

    /// Loads a set directory.
    ///
    /// # Errors
    /// A [`TextError`] naming the file (missing or unreadable) or the line and column.
    pub fn load_dir(dir: &Path) -> Result<TableSet, TextError> {
        TableSet::from_texts(|name| {
            let path = dir.join(name);
            let shown = path.display().to_string();
            read_text_bounded(&path, MAX_TEXT_FILE_LEN)
                .map(|s| (shown.clone(), s))
                .map_err(|e| TextError::file(&shown, std::format!("cannot read: {e}")))
        })
    }

    /// Writes the set's text forms into `dir` (created if needed).
    ///
    /// (Reading is bounded: [`MAX_TEXT_FILE_LEN`].)
    ///
    /// # Errors
    /// Any I/O error.
    pub fn save_dir(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        for id in TableId::ALL {
            std::fs::write(dir.join(file_name(id)), self.to_text(id))?;
        }
        Ok(())
    }
}

/// Largest table text file read (16 MiB; the pixel table's text is about 2 MiB): a file of
/// endless length (a link to `/dev/zero`) is refused instead of read until memory runs out.
#[cfg(feature = "std")]
pub const MAX_TEXT_FILE_LEN: u64 = 16 << 20;

/// Reads a UTF-8 file of at most `max` octets.
///
/// # Errors
/// I/O errors; [`std::io::ErrorKind::FileTooLarge`] beyond `max` (saying so).
#[cfg(feature = "std")]
pub fn read_text_bounded(path: &Path, max: u64) -> std::io::Result<std::string::String> {
    use std::io::Read;
    let f = std::fs::File::open(path)?;
    let mut s = std::string::String::new();
    f.take(max.saturating_add(1)).read_to_string(&mut s)?;
    if s.len() as u64 > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            std::format!("larger than {max} octets: not a table file"),
        ));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::defaults;

    #[test]
    fn images_roundtrip() {
        let set = defaults::default_set();
        let images: Vec<Vec<u8>> = TableId::ALL.iter().map(|&id| set.image(id).unwrap()).collect();
        let refs: Vec<&[u8]> = images.iter().map(Vec::as_slice).collect();
        assert_eq!(TableSet::from_images(&refs).unwrap(), set);
        for (id, img) in TableId::ALL.iter().zip(&images) {
            let mut n = 0;
            let h = crate::validate_image(img, &set.bands, &mut |_| n += 1).unwrap();
            assert_eq!(h.table, *id);
            assert_eq!(n, 0);
        }
    }
}
