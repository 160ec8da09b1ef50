//! Text forms (std): TOML for the small tables, CSV for the pixel table.
//!
//! Every reader error names the file, the line and the column, and says what was expected
//! ([`TextError`]). Values are written as the shortest decimal that reads back to the same
//! `f32`, so text → image → text keeps every value.

use std::fmt;
use std::fmt::Write as _;
#[allow(unused_imports)]
use std::prelude::rust_2024::*;
use std::string::{String, ToString};
use std::vec::Vec;
#[allow(unused_imports)]
use std::{format, vec};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::pixels::{self, PIXELS, PLANE_SIDE, PixelEntry, PixelStatus, PixelTable};

/// Where in a file an error is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// The file as a whole (missing, unreadable, incomplete).
    File,
    /// A text position, both 1-based.
    Text {
        /// Line.
        line: usize,
        /// Column (characters).
        column: usize,
    },
    /// A FITS table cell (row 1-based, as FITS counts).
    Fits {
        /// HDU number, 1 for the primary HDU.
        hdu: usize,
        /// Row, 1-based; 0 for the header.
        row: usize,
        /// Column name or header keyword.
        column: String,
    },
}

/// An error reading a text or FITS form: file, location, what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextError {
    /// The file (as given).
    pub path: String,
    /// Where.
    pub location: Location,
    /// What is wrong and what was expected.
    pub message: String,
}

impl TextError {
    /// An error at a text position.
    pub fn at(path: &str, line: usize, column: usize, message: impl Into<String>) -> Self {
        TextError {
            path: path.to_string(),
            location: Location::Text { line, column },
            message: message.into(),
        }
    }

    /// An error about the whole file.
    pub fn file(path: &str, message: impl Into<String>) -> Self {
        TextError { path: path.to_string(), location: Location::File, message: message.into() }
    }
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Location::File => write!(f, "{}: {}", self.path, self.message),
            Location::Text { line, column } => {
                write!(f, "{}:{line}:{column}: {}", self.path, self.message)
            }
            Location::Fits { hdu, row, column } => {
                if *row == 0 {
                    write!(f, "{}: HDU {hdu}, keyword {column}: {}", self.path, self.message)
                } else {
                    write!(
                        f,
                        "{}: HDU {hdu}, row {row}, column {column}: {}",
                        self.path, self.message
                    )
                }
            }
        }
    }
}

impl std::error::Error for TextError {}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Reads a small table from TOML.
///
/// # Errors
/// A [`TextError`] at the offending line and column.
pub fn from_toml<T: DeserializeOwned>(path: &str, text: &str) -> Result<T, TextError> {
    toml::from_str(text).map_err(|e| {
        let (line, column) = e.span().map_or((1, 1), |s| line_col(text, s.start));
        TextError::at(path, line, column, e.message().trim().to_string())
    })
}

/// Replaces every float by the shortest decimal of its `f32` (all table floats are `f32`).
fn shorten_floats(v: &mut toml::Value) {
    match v {
        toml::Value::Float(f) => {
            let short = (*f as f32).to_string();
            if let Ok(g) = short.parse::<f64>() {
                *f = g;
            }
        }
        toml::Value::Array(a) => a.iter_mut().for_each(shorten_floats),
        toml::Value::Table(t) => t.iter_mut().for_each(|(_, v)| shorten_floats(v)),
        _ => {}
    }
}

/// Writes a small table as TOML, after a comment header.
///
/// # Panics
/// Never: the table types serialise to TOML tables.
pub fn to_toml<T: Serialize>(comment: &str, table: &T) -> String {
    let mut out = String::new();
    for l in comment.lines() {
        let _ = writeln!(out, "# {l}");
    }
    let mut value = toml::Value::try_from(table).unwrap_or(toml::Value::Table(toml::Table::new()));
    shorten_floats(&mut value);
    out.push_str(&toml::to_string(&value).unwrap_or_default());
    out
}

/// The CSV header line of the pixel table.
pub const CSV_HEADER: &str = "DETNUM,Y,Z,STATUS,THRESHOLD_KEV,GAIN,OFFSET,EFFICIENCY";

/// Writes the pixel table as CSV: comment lines, `# version = N`, the header, 6400 rows.
pub fn pixels_to_csv(t: &PixelTable) -> String {
    let mut out = String::with_capacity(PIXELS * 40);
    out.push_str(
        "# ECLAIRs pixel configuration table (ID 0x01), one row per pixel, DETNUM = 80*Y + Z.\n",
    );
    out.push_str(
        "# STATUS: ok | noisy | dead | high_threshold; THRESHOLD_KEV and OFFSET in keV,\n",
    );
    out.push_str("# GAIN in keV/channel (E = GAIN * PHA + OFFSET), EFFICIENCY relative (0-1).\n");
    let _ = writeln!(out, "# version = {}", t.version);
    out.push_str(CSV_HEADER);
    out.push('\n');
    for (d, e) in (0u16..).zip(t.entries.iter()) {
        let status = e.status.word().map_or_else(|| e.status.code().to_string(), str::to_string);
        let _ = writeln!(
            out,
            "{d},{},{},{status},{},{},{},{}",
            pixels::y_of(d),
            pixels::z_of(d),
            e.threshold_kev,
            e.gain,
            e.offset_kev,
            e.efficiency
        );
    }
    out
}

fn parse_num<T: std::str::FromStr>(
    path: &str,
    line: usize,
    col: usize,
    field: &str,
    s: &str,
    expected: &str,
) -> Result<T, TextError> {
    s.trim()
        .parse::<T>()
        .map_err(|_| TextError::at(path, line, col, format!("{field}: {s:?} is not {expected}")))
}

/// Reads the pixel table CSV written by [`pixels_to_csv`]. Rows may come in any order; each
/// DETNUM must appear exactly once and agree with its Y and Z.
///
/// # Errors
/// A [`TextError`] at the offending line and column.
pub fn pixels_from_csv(path: &str, text: &str) -> Result<Box<PixelTable>, TextError> {
    let mut t = Box::<PixelTable>::default();
    let mut version: Option<u16> = None;
    let mut seen: Vec<usize> = vec![0; PIXELS];
    let mut header_seen = false;
    let mut last_line = 0;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        last_line = line;
        let l = raw.trim_end_matches('\r');
        if l.trim().is_empty() {
            continue;
        }
        if let Some(c) = l.strip_prefix('#') {
            if let Some(v) = c.trim().strip_prefix("version") {
                let v = v
                    .trim_start()
                    .strip_prefix('=')
                    .ok_or_else(|| TextError::at(path, line, 1, "expected `# version = N`"))?;
                if version.is_some() {
                    return Err(TextError::at(path, line, 1, "version given twice"));
                }
                version = Some(parse_num(path, line, 1, "version", v, "an integer 0..65535")?);
            }
            continue;
        }
        if !header_seen {
            if l.trim() != CSV_HEADER {
                return Err(TextError::at(
                    path,
                    line,
                    1,
                    format!("expected the header line `{CSV_HEADER}`"),
                ));
            }
            header_seen = true;
            continue;
        }
        let mut cells: Vec<(usize, &str)> = Vec::with_capacity(8);
        let mut col = 1;
        for c in l.split(',') {
            cells.push((col, c));
            col += c.chars().count() + 1;
        }
        if cells.len() != 8 {
            return Err(TextError::at(
                path,
                line,
                1,
                format!("{} columns, expected 8 ({CSV_HEADER})", cells.len()),
            ));
        }
        let cell = |k: usize| cells.get(k).copied().unwrap_or((1, ""));
        let (c0, s0) = cell(0);
        let detnum: u16 = parse_num(path, line, c0, "DETNUM", s0, "an integer 0..6399")?;
        if usize::from(detnum) >= PIXELS {
            return Err(TextError::at(
                path,
                line,
                c0,
                format!("DETNUM {detnum} is not in 0..6399"),
            ));
        }
        let (cy, sy) = cell(1);
        let y: u16 = parse_num(path, line, cy, "Y", sy, "an integer 0..79")?;
        if y != pixels::y_of(detnum) {
            return Err(TextError::at(
                path,
                line,
                cy,
                format!(
                    "Y={y} does not match DETNUM {detnum}, expected Y={}",
                    pixels::y_of(detnum)
                ),
            ));
        }
        let (cz, sz) = cell(2);
        let z: u16 = parse_num(path, line, cz, "Z", sz, "an integer 0..79")?;
        if z != pixels::z_of(detnum) {
            return Err(TextError::at(
                path,
                line,
                cz,
                format!(
                    "Z={z} does not match DETNUM {detnum}, expected Z={}",
                    pixels::z_of(detnum)
                ),
            ));
        }
        let (cs, ss) = cell(3);
        let status = PixelStatus::from_word(ss.trim()).ok_or_else(|| {
            TextError::at(
                path,
                line,
                cs,
                format!("STATUS {ss:?} is not ok, noisy, dead, high_threshold or a code 0..255"),
            )
        })?;
        let f = |k: usize, name: &str| -> Result<f32, TextError> {
            let (c, s) = cell(k);
            parse_num(path, line, c, name, s, "a number")
        };
        let e = PixelEntry {
            status,
            threshold_kev: f(4, "THRESHOLD_KEV")?,
            gain: f(5, "GAIN")?,
            offset_kev: f(6, "OFFSET")?,
            efficiency: f(7, "EFFICIENCY")?,
        };
        let d = usize::from(detnum);
        if let Some(&first) = seen.get(d).filter(|&&s| s != 0) {
            return Err(TextError::at(
                path,
                line,
                c0,
                format!("DETNUM {detnum} already given on line {first}"),
            ));
        }
        if let (Some(s), Some(slot)) = (seen.get_mut(d), t.entries.get_mut(d)) {
            *s = line;
            *slot = e;
        }
    }
    if !header_seen {
        return Err(TextError::at(
            path,
            last_line.max(1),
            1,
            format!("expected the header line `{CSV_HEADER}`"),
        ));
    }
    if let Some(missing) = seen.iter().position(|&s| s == 0) {
        let count = seen.iter().filter(|&&s| s == 0).count();
        return Err(TextError::at(
            path,
            last_line + 1,
            1,
            format!(
                "DETNUM {missing} (Y={}, Z={}) missing ({count} of {PIXELS} rows missing)",
                missing / PLANE_SIDE,
                missing % PLANE_SIDE
            ),
        ));
    }
    t.version = version.ok_or_else(|| TextError::file(path, "no `# version = N` line"))?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bands::BandTable;

    #[test]
    fn csv_roundtrip() {
        let mut t = Box::<PixelTable>::default();
        t.version = 5;
        t.entries[17].gain = 0.1234567;
        t.entries[18].status = PixelStatus::Unknown(42);
        t.entries[19].efficiency = f32::NAN;
        let text = pixels_to_csv(&t);
        let back = pixels_from_csv("p.csv", &text).unwrap();
        assert_eq!(back.version, 5);
        assert_eq!(back.entries[17], t.entries[17]);
        assert_eq!(back.entries[18].status, PixelStatus::Unknown(42));
        assert!(back.entries[19].efficiency.is_nan());
    }

    #[test]
    fn csv_errors_point_at_the_cell() {
        let t = PixelTable::default();
        let text = pixels_to_csv(&t).replacen("\n0,0,0,ok,4,0.145", "\n0,0,0,ok,4,abc", 1);
        let e = pixels_from_csv("p.csv", &text).unwrap_err();
        assert_eq!(e.to_string(), "p.csv:6:12: GAIN: \"abc\" is not a number");
        let text = pixels_to_csv(&t).replacen("\n1,0,1,", "\n1,0,2,", 1);
        let e = pixels_from_csv("p.csv", &text).unwrap_err();
        assert_eq!(e.to_string(), "p.csv:7:5: Z=2 does not match DETNUM 1, expected Z=1");
        let text = pixels_to_csv(&t).replacen("\n1,0,1,", "\n0,0,0,", 1);
        let e = pixels_from_csv("p.csv", &text).unwrap_err();
        assert_eq!(e.to_string(), "p.csv:7:1: DETNUM 0 already given on line 6");
        let text: String = pixels_to_csv(&t).lines().take(100).map(|l| format!("{l}\n")).collect();
        let e = pixels_from_csv("p.csv", &text).unwrap_err();
        assert_eq!(
            e.to_string(),
            "p.csv:101:1: DETNUM 95 (Y=1, Z=15) missing (6305 of 6400 rows missing)"
        );
        let e = pixels_from_csv("p.csv", "# version = 1\nDETNUM,Y\n").unwrap_err();
        assert_eq!(e.to_string(), format!("p.csv:2:1: expected the header line `{CSV_HEADER}`"));
    }

    #[test]
    fn toml_errors_point_at_line_and_column() {
        let e = from_toml::<BandTable>(
            "b.toml",
            "version = 1\n[[bands]]\nlow_kev = \"x\"\nhigh_kev = 2.0\n",
        )
        .unwrap_err();
        assert_eq!(e.path, "b.toml");
        assert_eq!(e.location, Location::Text { line: 3, column: 11 });
        assert!(e.message.contains("expected"), "{}", e.message);
        let e =
            from_toml::<BandTable>("b.toml", "version = 1\nbogus = 3\nbands = []\n").unwrap_err();
        assert_eq!(e.location, Location::Text { line: 2, column: 1 });
        assert!(e.message.contains("unknown field `bogus`"), "{}", e.message);
    }

    #[test]
    fn toml_floats_are_short() {
        let mut b = BandTable { version: 2, ..BandTable::default() };
        b.bands.push(crate::Band { low_kev: 0.145, high_kev: 8.0 }).unwrap();
        let s = to_toml("bands", &b);
        assert!(s.contains("low_kev = 0.145\n"), "{s}");
        assert_eq!(from_toml::<BandTable>("b", &s).unwrap(), b);
    }
}
