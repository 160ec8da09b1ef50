//! FITS form of the pixel calibration (std), CALDB style of `AUX-ECL-PIX-CAL` (ICD §6).
//!
//! A minimal writer and reader of FITS binary tables (FITS 4.0 standard): 2880-octet blocks,
//! 80-character header cards, `BINTABLE` extension with big-endian rows. The calibration file
//! has an empty primary HDU and one extension `PIX_CAL` with 6400 rows of `DETNUM` (`I`,
//! int16), `GAIN` (`E`, float32, keV/channel) and `OFFSET` (`E`, float32, keV): 10 octets per
//! row, 74 880 octets in all (1 primary header block, 2 extension header blocks, 23 data
//! blocks), the size of the real file.
//!
//! The reader accepts any binary table holding those three columns, with `TFORM` `B`, `I`,
//! `J` or `K` for `DETNUM` and `E` or `D` for the others, in any column order.

#[allow(unused_imports)]
use std::prelude::rust_2024::*;
#[allow(unused_imports)]
use std::{format, vec};

use crate::pixels::{PIXELS, PixelTable};
use crate::text::{Location, TextError};

/// FITS block length.
pub const BLOCK_LEN: usize = 2880;
/// Header card length.
pub const CARD_LEN: usize = 80;
/// Octets of one calibration row.
pub const ROW_LEN: usize = 10;
/// Length of the calibration file written by [`write_calibration`].
pub const CALIBRATION_FILE_LEN: usize = 74_880;
/// Extension name of the calibration table.
pub const EXTNAME: &str = "PIX_CAL";

/// One row of the calibration table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CalRow {
    /// Pixel ID, 80·Y + Z.
    pub detnum: u16,
    /// Gain, keV/channel.
    pub gain: f32,
    /// Offset, keV.
    pub offset_kev: f32,
}

/// The value of a header card (FITS 4.0 §4.2), written in fixed format.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    /// Character string (quotes doubled).
    Str(&'a str),
    /// Logical `T`/`F`.
    Logical(bool),
    /// Integer.
    Int(i64),
    /// Real floating point (shortest representation that reads back exactly).
    Float(f64),
}

fn float_text(v: f64) -> String {
    let plain = format!("{v:?}");
    if plain.len() <= 20 && !plain.contains('e') {
        return plain;
    }
    // Exponent form, FITS style: `1.5E-05`.
    let e = format!("{v:E}");
    if e.contains('.') { e } else { e.replacen('E', ".0E", 1) }
}

/// Appends one header card `KEY     = value / comment` (80 characters, padded).
pub fn card(out: &mut Vec<u8>, key: &str, value: Value<'_>, comment: &str) {
    let v = match value {
        Value::Str(s) => format!("{:<20}", format!("'{:<8}'", s.replace('\'', "''"))),
        Value::Logical(b) => format!("{:>20}", if b { "T" } else { "F" }),
        Value::Int(i) => format!("{i:>20}"),
        Value::Float(f) => format!("{:>20}", float_text(f)),
    };
    let mut c = format!("{key:<8}= {v}");
    if !comment.is_empty() {
        c.push_str(" / ");
        c.push_str(comment);
    }
    push_card(out, &c);
}

/// Appends a card of free text (`COMMENT ...`, `HISTORY ...`, `END`), cut or padded to 80
/// printable ASCII characters.
pub fn push_card(out: &mut Vec<u8>, text: &str) {
    let mut c: Vec<u8> = text.bytes().filter(|b| (0x20..0x7F).contains(b)).take(CARD_LEN).collect();
    c.resize(CARD_LEN, b' ');
    out.extend_from_slice(&c);
}

/// Ends a header: the `END` card, then spaces to the end of the 2880-octet block.
pub fn end_header(out: &mut Vec<u8>) {
    push_card(out, "END");
    pad(out, b' ');
}

/// Pads `out` with `fill` to a whole number of 2880-octet blocks.
pub fn pad(out: &mut Vec<u8>, fill: u8) {
    let rem = out.len() % BLOCK_LEN;
    if rem != 0 {
        out.resize(out.len() + BLOCK_LEN - rem, fill);
    }
}

/// Writes the calibration FITS file of a pixel table (deterministic: no date keyword).
pub fn write_calibration(t: &PixelTable) -> Vec<u8> {
    let mut out = Vec::with_capacity(CALIBRATION_FILE_LEN);
    card(&mut out, "SIMPLE", Value::Logical(true), "conforms to FITS standard");
    card(&mut out, "BITPIX", Value::Int(8), "array data type");
    card(&mut out, "NAXIS", Value::Int(0), "no primary array");
    card(&mut out, "EXTEND", Value::Logical(true), "extensions follow");
    card(&mut out, "TELESCOP", Value::Str("SVOM"), "mission");
    card(&mut out, "INSTRUME", Value::Str("ECLAIRs"), "instrument");
    card(&mut out, "CREATOR", Value::Str("eic-bench tables"), "software that wrote the file");
    end_header(&mut out);

    let rows = PIXELS as i64;
    card(&mut out, "XTENSION", Value::Str("BINTABLE"), "binary table extension");
    card(&mut out, "BITPIX", Value::Int(8), "8-bit bytes");
    card(&mut out, "NAXIS", Value::Int(2), "2-dimensional binary table");
    card(&mut out, "NAXIS1", Value::Int(ROW_LEN as i64), "octets per row");
    card(&mut out, "NAXIS2", Value::Int(rows), "rows: one per pixel");
    card(&mut out, "PCOUNT", Value::Int(0), "no heap");
    card(&mut out, "GCOUNT", Value::Int(1), "one group");
    card(&mut out, "TFIELDS", Value::Int(3), "columns per row");
    card(&mut out, "TTYPE1", Value::Str("DETNUM"), "pixel ID = 80*Y + Z");
    card(&mut out, "TFORM1", Value::Str("I"), "int16");
    card(&mut out, "TLMIN1", Value::Int(0), "smallest DETNUM");
    card(&mut out, "TLMAX1", Value::Int(rows - 1), "largest DETNUM");
    card(&mut out, "TTYPE2", Value::Str("GAIN"), "E = GAIN * PHA + OFFSET");
    card(&mut out, "TFORM2", Value::Str("E"), "float32");
    card(&mut out, "TUNIT2", Value::Str("keV/chan"), "keV per PHA channel");
    card(&mut out, "TTYPE3", Value::Str("OFFSET"), "energy at PHA 0");
    card(&mut out, "TFORM3", Value::Str("E"), "float32");
    card(&mut out, "TUNIT3", Value::Str("keV"), "");
    card(&mut out, "EXTNAME", Value::Str(EXTNAME), "pixel calibration");
    card(&mut out, "TELESCOP", Value::Str("SVOM"), "mission");
    card(&mut out, "INSTRUME", Value::Str("ECLAIRs"), "instrument");
    card(&mut out, "DETNAM", Value::Str("DPIX"), "detection plane");
    card(&mut out, "FILTER", Value::Str("NONE"), "");
    card(&mut out, "HDUCLASS", Value::Str("OGIP"), "format conforms to OGIP standards");
    card(&mut out, "HDUCLAS1", Value::Str("CALDB"), "calibration database file");
    card(&mut out, "CCLS0001", Value::Str("BCF"), "basic calibration file");
    card(&mut out, "CDTP0001", Value::Str("DATA"), "calibration data");
    card(&mut out, "CCNM0001", Value::Str("PIX_CAL"), "calibration dataset name");
    card(&mut out, "CBD10001", Value::Str("PHA(0-1023)"), "validity boundary");
    card(&mut out, "CVSD0001", Value::Str("2017-01-01"), "validity start date (TT)");
    card(&mut out, "CVST0001", Value::Str("00:00:00"), "validity start time");
    card(&mut out, "CDES0001", Value::Str("ECLAIRs pixel gain and offset"), "description");
    card(&mut out, "TABLEVER", Value::Int(i64::from(t.version)), "pixel table version");
    card(&mut out, "CREATOR", Value::Str("eic-bench tables"), "software that wrote the file");
    push_card(&mut out, "COMMENT AUX-ECL-PIX-CAL style pixel calibration of the ECLAIRs detection");
    push_card(&mut out, "COMMENT plane (80 x 80 CdTe pixels). Row k holds DETNUM k = 80*Y + Z.");
    push_card(
        &mut out,
        "COMMENT Energy of an event: E [keV] = GAIN [keV/chan] * PHA + OFFSET [keV].",
    );
    push_card(&mut out, "COMMENT Status, thresholds and efficiencies are in the pixel table CSV");
    push_card(&mut out, "COMMENT (eic-bench tables convert), not in this file.");
    end_header(&mut out);

    for (d, e) in (0u16..).zip(t.entries.iter()) {
        out.extend_from_slice(&d.to_be_bytes());
        out.extend_from_slice(&e.gain.to_bits().to_be_bytes());
        out.extend_from_slice(&e.offset_kev.to_bits().to_be_bytes());
    }
    pad(&mut out, 0);
    out
}

/// One parsed HDU: its cards and the position of its data.
struct Hdu {
    cards: Vec<(String, String)>,
    data_start: usize,
}

impl Hdu {
    fn value(&self, key: &str) -> Option<&str> {
        self.cards.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// The value of a card's value field (after `= `): a string without its quotes (doubled
/// quotes undone, trailing spaces dropped), else the text before any `/` comment, trimmed.
pub fn parse_value(raw: &str) -> String {
    let raw = raw.trim_start();
    if let Some(rest) = raw.strip_prefix('\'') {
        let mut s = String::new();
        let mut chars = rest.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    s.push('\'');
                } else {
                    break;
                }
            } else {
                s.push(c);
            }
        }
        s.trim_end().to_string()
    } else {
        raw.split('/').next().unwrap_or("").trim().to_string()
    }
}

fn err(path: &str, hdu: usize, row: usize, column: &str, message: impl Into<String>) -> TextError {
    TextError {
        path: path.to_string(),
        location: Location::Fits { hdu, row, column: column.to_string() },
        message: message.into(),
    }
}

fn int_kw(path: &str, n: usize, h: &Hdu, key: &str) -> Result<i64, TextError> {
    let v = h.value(key).ok_or_else(|| err(path, n, 0, key, "missing, expected an integer"))?;
    v.parse::<i64>().map_err(|_| err(path, n, 0, key, format!("{v:?} is not an integer")))
}

fn size(path: &str, n: usize, v: i64, key: &str) -> Result<usize, TextError> {
    usize::try_from(v).map_err(|_| err(path, n, 0, key, format!("{v} is negative")))
}

/// Splits a file into HDUs (checks block structure and data sizes).
fn parse_hdus(path: &str, bytes: &[u8]) -> Result<Vec<Hdu>, TextError> {
    let mut hdus = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let n = hdus.len() + 1;
        let mut cards = Vec::new();
        let mut ended = false;
        while let Some(c) = bytes.get(pos..pos + CARD_LEN) {
            pos += CARD_LEN;
            let text = std::str::from_utf8(c)
                .map_err(|_| err(path, n, 0, "header", "card is not ASCII"))?;
            let key = text.get(..8).unwrap_or("").trim_end().to_string();
            if key == "END" {
                ended = true;
                break;
            }
            if text.get(8..10) == Some("= ") {
                cards.push((key, parse_value(text.get(10..).unwrap_or(""))));
            }
        }
        if !ended {
            return Err(err(
                path,
                n,
                0,
                "END",
                "header not terminated by END before the end of file",
            ));
        }
        pos = pos.div_ceil(BLOCK_LEN) * BLOCK_LEN;
        let mut hdu = Hdu { cards, data_start: pos };
        let naxis = size(path, n, int_kw(path, n, &hdu, "NAXIS")?, "NAXIS")?;
        let bitpix = int_kw(path, n, &hdu, "BITPIX")?;
        let mut len: usize = if naxis == 0 { 0 } else { 1 };
        for i in 1..=naxis {
            let k = format!("NAXIS{i}");
            len = len.saturating_mul(size(path, n, int_kw(path, n, &hdu, &k)?, &k)?);
        }
        let pcount =
            if hdu.value("PCOUNT").is_some() { int_kw(path, n, &hdu, "PCOUNT")? } else { 0 };
        let gcount =
            if hdu.value("GCOUNT").is_some() { int_kw(path, n, &hdu, "GCOUNT")? } else { 1 };
        let bytes_per = size(path, n, bitpix.abs() / 8, "BITPIX")?;
        let data_len = bytes_per
            .saturating_mul(size(path, n, gcount, "GCOUNT")?)
            .saturating_mul(len.saturating_add(size(path, n, pcount, "PCOUNT")?));
        if pos.saturating_add(data_len) > bytes.len() {
            return Err(err(
                path,
                n,
                0,
                "NAXIS2",
                format!(
                    "data of {data_len} octets runs past the end of the file ({} octets)",
                    bytes.len()
                ),
            ));
        }
        hdu.data_start = pos;
        pos = pos.saturating_add(data_len).div_ceil(BLOCK_LEN) * BLOCK_LEN;
        hdus.push(hdu);
    }
    if hdus.is_empty() {
        return Err(TextError::file(path, "empty file, expected a FITS file"));
    }
    Ok(hdus)
}

#[derive(Clone, Copy)]
struct Col {
    offset: usize,
    code: char,
}

fn tform_width(tform: &str) -> Option<(usize, char)> {
    let t = tform.trim();
    let digits: String = t.chars().take_while(char::is_ascii_digit).collect();
    let repeat: usize = if digits.is_empty() { 1 } else { digits.parse().ok()? };
    let code = t.chars().nth(digits.len())?;
    let w = match code {
        'L' | 'B' | 'A' => 1,
        'I' => 2,
        'J' | 'E' => 4,
        'K' | 'D' | 'C' | 'P' => 8,
        'M' | 'Q' => 16,
        'X' => return Some((repeat.div_ceil(8), code)),
        _ => return None,
    };
    Some((repeat * w, code))
}

/// Reads the calibration rows of a FITS file: the first binary table with `DETNUM`, `GAIN`
/// and `OFFSET`, each DETNUM 0..6399 exactly once; rows are returned in DETNUM order.
///
/// # Errors
/// A [`TextError`] naming the HDU and the keyword, or the row and column, and what was
/// expected.
pub fn read_calibration(path: &str, bytes: &[u8]) -> Result<Vec<CalRow>, TextError> {
    let hdus = parse_hdus(path, bytes)?;
    let found = hdus.iter().enumerate().find(|(_, h)| {
        h.value("XTENSION") == Some("BINTABLE")
            && ["DETNUM", "GAIN", "OFFSET"]
                .iter()
                .all(|c| h.cards.iter().any(|(k, v)| k.starts_with("TTYPE") && v == c))
    });
    let (i, h) = found.ok_or_else(|| {
        TextError::file(path, "no BINTABLE extension with columns DETNUM, GAIN and OFFSET")
    })?;
    let n = i + 1;
    let tfields = size(path, n, int_kw(path, n, h, "TFIELDS")?, "TFIELDS")?;
    let naxis1 = size(path, n, int_kw(path, n, h, "NAXIS1")?, "NAXIS1")?;
    let naxis2 = size(path, n, int_kw(path, n, h, "NAXIS2")?, "NAXIS2")?;
    let mut cols: Vec<(String, Col)> = Vec::new();
    let mut offset = 0;
    for k in 1..=tfields {
        let key = format!("TFORM{k}");
        let tform = h.value(&key).ok_or_else(|| err(path, n, 0, &key, "missing"))?;
        let (w, code) = tform_width(tform)
            .ok_or_else(|| err(path, n, 0, &key, format!("unsupported TFORM {tform:?}")))?;
        let name = h.value(&format!("TTYPE{k}")).unwrap_or("").to_string();
        cols.push((name, Col { offset, code }));
        offset += w;
    }
    if offset != naxis1 {
        return Err(err(
            path,
            n,
            0,
            "NAXIS1",
            format!("{naxis1} octets per row, columns need {offset}"),
        ));
    }
    let col = |name: &str, allowed: &str, expected: &str| -> Result<Col, TextError> {
        let (k, (_, c)) = cols
            .iter()
            .enumerate()
            .find(|(_, (c, _))| c == name)
            .ok_or_else(|| err(path, n, 0, name, "column missing"))?;
        if allowed.contains(c.code) {
            Ok(*c)
        } else {
            Err(err(
                path,
                n,
                0,
                &format!("TFORM{}", k + 1),
                format!("column {name} has TFORM {}, expected {expected}", c.code),
            ))
        }
    };
    let cd = col("DETNUM", "BIJK", "B, I, J or K (integer)")?;
    let cg = col("GAIN", "ED", "E or D (float)")?;
    let co = col("OFFSET", "ED", "E or D (float)")?;
    let data = bytes.get(h.data_start..).unwrap_or(&[]);
    let read = |row: &[u8], c: Col| -> f64 {
        let at = |w: usize| row.get(c.offset..c.offset + w).unwrap_or(&[]);
        match c.code {
            'B' => at(1).first().map_or(0.0, |&b| f64::from(b)),
            'I' => at(2).try_into().map_or(0.0, |b| f64::from(i16::from_be_bytes(b))),
            'J' => at(4).try_into().map_or(0.0, |b| f64::from(i32::from_be_bytes(b))),
            'K' => at(8).try_into().map_or(0.0, |b| i64::from_be_bytes(b) as f64),
            'E' => at(4).try_into().map_or(0.0, |b| f64::from(f32::from_be_bytes(b))),
            _ => at(8).try_into().map_or(0.0, f64::from_be_bytes),
        }
    };
    let mut out: Vec<Option<(usize, CalRow)>> = vec![None; PIXELS];
    for r in 0..naxis2 {
        let row = data.get(r * naxis1..(r + 1) * naxis1).unwrap_or(&[]);
        let d = read(row, cd);
        if !(0.0..PIXELS as f64).contains(&d) {
            return Err(err(path, n, r + 1, "DETNUM", format!("{d} is not in 0..6399")));
        }
        let detnum = d as u16;
        // Narrowing a D column to f32 is the table's precision.
        let cal = CalRow { detnum, gain: read(row, cg) as f32, offset_kev: read(row, co) as f32 };
        match out.get_mut(usize::from(detnum)) {
            Some(Some((first, _))) => {
                return Err(err(
                    path,
                    n,
                    r + 1,
                    "DETNUM",
                    format!("DETNUM {detnum} already in row {first}"),
                ));
            }
            Some(slot) => *slot = Some((r + 1, cal)),
            None => {}
        }
    }
    if let Some(missing) = out.iter().position(Option::is_none) {
        return Err(err(
            path,
            n,
            0,
            "NAXIS2",
            format!("{naxis2} rows, DETNUM {missing} missing (6400 expected)"),
        ));
    }
    Ok(out.into_iter().flatten().map(|(_, c)| c).collect())
}

/// Replaces the gain and offset of every pixel by those of a calibration file.
///
/// # Errors
/// Those of [`read_calibration`]; `t` is unchanged on error.
pub fn apply_calibration(path: &str, bytes: &[u8], t: &mut PixelTable) -> Result<(), TextError> {
    let rows = read_calibration(path, bytes)?;
    for r in rows {
        if let Some(e) = t.entries.get_mut(usize::from(r.detnum)) {
            e.gain = r.gain;
            e.offset_kev = r.offset_kev;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_roundtrip() {
        let mut t = Box::<PixelTable>::default();
        t.entries[42].gain = 0.1501;
        t.entries[6399].offset_kev = -1.25;
        let f = write_calibration(&t);
        assert_eq!(f.len(), CALIBRATION_FILE_LEN);
        assert_eq!(&f[..30], b"SIMPLE  =                    T");
        assert_eq!(&f[BLOCK_LEN..BLOCK_LEN + 20], b"XTENSION= 'BINTABLE'");
        let rows = read_calibration("c.fits", &f).unwrap();
        assert_eq!(rows.len(), PIXELS);
        assert_eq!(rows[42], CalRow { detnum: 42, gain: 0.1501, offset_kev: 3.0 });
        let mut back = Box::<PixelTable>::default();
        back.entries[0].gain = 0.3;
        apply_calibration("c.fits", &f, &mut back).unwrap();
        assert_eq!(back.entries, t.entries);
    }

    #[test]
    fn errors_name_row_and_column() {
        let t = PixelTable::default();
        let mut f = write_calibration(&t);
        let data = 3 * BLOCK_LEN;
        f[data + 10..data + 12].copy_from_slice(&0u16.to_be_bytes()); // row 2 DETNUM 0
        let e = read_calibration("c.fits", &f).unwrap_err();
        assert_eq!(e.to_string(), "c.fits: HDU 2, row 2, column DETNUM: DETNUM 0 already in row 1");
        let e = read_calibration("c.fits", &f[..BLOCK_LEN * 4]).unwrap_err();
        assert!(
            e.to_string().starts_with("c.fits: HDU 2, keyword NAXIS2: data of 64000 octets"),
            "{e}"
        );
        let e = read_calibration("x.fits", b"").unwrap_err();
        assert_eq!(e.to_string(), "x.fits: empty file, expected a FITS file");
    }
}
