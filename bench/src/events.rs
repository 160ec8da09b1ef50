//! Detector events and platform context as the ground segment exchanges them (ICD §6), and
//! streaming readers for event files (FITS or CSV) and file triplets.
//!
//! - [`Event`]: one detector event, its time as an integer number of 20 µs ticks since
//!   MJDREF 57754 TT (2017-01-01T00:00:00 TT, the on-board CUC epoch), so that replays compare
//!   exactly; `TIME` in files is `tick × 2e-5` s.
//! - [`AttitudeSample`], [`OrbitSample`]: the platform context the trigger needs (ICD §5).
//! - [`Input::open`]: a file (`*.fits`, `*.fit`, `*.csv`) or a directory holding a triplet
//!   (`ECL-EVT-SEC_*.fits` or `.csv`, optional `SVO-ATT-CNV_*.fits` and `SVO-ORB-CNV_*.fits`);
//!   it yields [`Item`]s in time order (a context sample comes before the events at or after
//!   its time). Events are read a block of rows at a time (bounded memory whatever the file
//!   size) and handed on in runs ([`Input::next_run`]); the attitude and orbit tables are
//!   small (one row per second) and read whole, up to [`MAX_CONTEXT_ROWS`] rows.
//!
//! Every error names the file and the place: `file: HDU 2, row 17, column PHA: ...` for FITS,
//! `file:LINE:COLUMN: ...` for CSV.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Duration of one time tick, seconds (the detector's 20 µs time resolution, ICD §4).
pub const TICK_S: f64 = 20e-6;
/// Ticks per second.
pub const TICKS_PER_S: u64 = 50_000;
/// MJD of the time reference (2017-01-01T00:00:00 TT, ICD §6).
pub const MJDREFI: i64 = 57_754;
/// Pixels per side of the detection plane.
pub const PLANE_SIDE: u8 = 80;
/// Largest PHA channel (10 bits).
pub const MAX_PHA: u16 = 1023;
/// Most events an input may hold (about 55 hours at 5 000 counts/s): a larger file is refused
/// rather than replayed for days.
pub const MAX_EVENTS: u64 = 1_000_000_000;
/// Most rows of an attitude or orbit table (115 days at one row per second).
pub const MAX_CONTEXT_ROWS: usize = 10_000_000;
/// Longest CSV line, octets.
pub const MAX_CSV_LINE: usize = 1024;

/// One detector event (ICD §4, §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Event {
    /// Time: 20 µs ticks since MJDREF 57754 TT.
    pub tick: u64,
    /// Pixel row index, 0–79.
    pub y: u8,
    /// Pixel column index, 0–79.
    pub z: u8,
    /// Pulse height, 0–1023.
    pub pha: u16,
    /// Multiplicity: 1 for a single-pixel event, 2 or more for a multiple.
    pub mult: u8,
}

impl Event {
    /// Time in seconds since MJDREF (the `TIME` column).
    pub fn time_s(&self) -> f64 {
        tick_to_s(self.tick)
    }
}

/// Seconds since MJDREF of a tick.
pub fn tick_to_s(tick: u64) -> f64 {
    tick as f64 * TICK_S
}

/// The tick of a time in seconds since MJDREF (nearest), or `None` if negative or not finite.
pub fn s_to_tick(time_s: f64) -> Option<u64> {
    let t = (time_s * TICKS_PER_S as f64).round();
    (0.0..9.0e15).contains(&t).then_some(t as u64)
}

/// Attitude of the instrument at a time: the unit quaternion that turns instrument-frame
/// vectors (X boresight, Y, Z as ICD §4) into J2000 equatorial vectors.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttitudeSample {
    /// Time: ticks since MJDREF.
    pub tick: u64,
    /// Quaternion, scalar first: `[w, x, y, z]`.
    pub q: [f64; 4],
}

/// Position of the spacecraft at a time.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrbitSample {
    /// Time: ticks since MJDREF.
    pub tick: u64,
    /// Geographic longitude, degrees east, −180..180.
    pub lon_deg: f64,
    /// Geographic latitude, degrees north.
    pub lat_deg: f64,
    /// Altitude above the mean Earth radius, km.
    pub alt_km: f64,
}

/// One item of an input, in time order.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Item {
    /// A detector event.
    Event(Event),
    /// An attitude sample.
    Attitude(AttitudeSample),
    /// An orbit sample.
    Orbit(OrbitSample),
}

impl Item {
    /// The item's time in ticks.
    pub fn tick(&self) -> u64 {
        match self {
            Item::Event(e) => e.tick,
            Item::Attitude(a) => a.tick,
            Item::Orbit(o) => o.tick,
        }
    }
}

/// Where in a file an input error is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// The file as a whole.
    File,
    /// A FITS header keyword.
    Keyword {
        /// HDU number, 1 = primary.
        hdu: usize,
        /// The keyword.
        keyword: String,
    },
    /// A FITS table cell.
    Cell {
        /// HDU number.
        hdu: usize,
        /// Row, from 1.
        row: u64,
        /// Column name.
        column: String,
    },
    /// A CSV position.
    Text {
        /// Line, from 1.
        line: u64,
        /// Column (field number from 1) and its name, if known.
        column: usize,
        /// The column's name, if known.
        name: String,
    },
}

/// An input that cannot be read: the file, the place and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputError {
    /// The file.
    pub path: PathBuf,
    /// Where in it.
    pub place: Place,
    /// What is wrong and, where it helps, what was expected.
    pub message: String,
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = self.path.display();
        match &self.place {
            Place::File => write!(f, "{p}: {}", self.message),
            Place::Keyword { hdu, keyword } => {
                write!(f, "{p}: HDU {hdu}, keyword {keyword}: {}", self.message)
            }
            Place::Cell { hdu, row, column } => {
                write!(f, "{p}: HDU {hdu}, row {row}, column {column}: {}", self.message)
            }
            Place::Text { line, column, name } if name.is_empty() => {
                write!(f, "{p}:{line}:{column}: {}", self.message)
            }
            Place::Text { line, column, name } => {
                write!(f, "{p}:{line}:{column} ({name}): {}", self.message)
            }
        }
    }
}

impl std::error::Error for InputError {}

fn file_err(path: &Path, message: impl Into<String>) -> InputError {
    InputError { path: path.to_path_buf(), place: Place::File, message: message.into() }
}

fn io_err(path: &Path, e: &std::io::Error) -> InputError {
    file_err(path, format!("cannot read: {e}"))
}

// ---------------------------------------------------------------------------------------------
// FITS binary tables, streamed.

/// A column of a binary table.
#[derive(Clone, Debug)]
struct Column {
    name: String,
    offset: usize,
    code: char,
    repeat: usize,
}

/// A FITS binary table read row by row.
struct FitsTable {
    path: PathBuf,
    hdu: usize,
    /// The file at the next row not yet read (rows are read in blocks straight into `ahead`,
    /// through no other buffer).
    reader: File,
    columns: Vec<Column>,
    rows: u64,
    next_row: u64,
    /// Rows read ahead (a whole number of rows, up to [`ROWS_AHEAD`]): one `read` for many
    /// rows instead of one per row.
    ahead: Vec<u8>,
    /// Offset of the current row in `ahead`.
    at: usize,
    /// Octets per row.
    row_len: usize,
}

/// Rows [`FitsTable`] reads at once.
const ROWS_AHEAD: usize = 4096;

fn read_header(
    path: &Path,
    r: &mut BufReader<File>,
    hdu: usize,
) -> Result<Option<Vec<(String, String)>>, InputError> {
    let mut cards = Vec::new();
    let mut card = [0u8; tables::fits::CARD_LEN];
    let mut n = 0usize;
    loop {
        match r.read_exact(&mut card) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                if n == 0 {
                    return Ok(None);
                }
                return Err(InputError {
                    path: path.to_path_buf(),
                    place: Place::Keyword { hdu, keyword: "END".into() },
                    message: "header not terminated by END before the end of the file".into(),
                });
            }
            Err(e) => return Err(io_err(path, &e)),
        }
        n += 1;
        if n > 100_000 {
            return Err(file_err(path, format!("HDU {hdu}: header longer than 100 000 cards")));
        }
        let text = std::str::from_utf8(&card).map_err(|_| InputError {
            path: path.to_path_buf(),
            place: Place::Keyword { hdu, keyword: format!("card {n}") },
            message: "header card is not ASCII: not a FITS file?".into(),
        })?;
        let key = text.get(..8).unwrap_or("").trim_end().to_owned();
        if key == "END" {
            break;
        }
        if text.get(8..10) == Some("= ") {
            cards.push((key, tables::fits::parse_value(text.get(10..).unwrap_or(""))));
        }
    }
    // Skip to the end of the header block.
    let used = (n * tables::fits::CARD_LEN) % tables::fits::BLOCK_LEN;
    if used != 0 {
        let skip = (tables::fits::BLOCK_LEN - used) as i64;
        r.seek_relative(skip).map_err(|e| io_err(path, &e))?;
    }
    Ok(Some(cards))
}

fn kw<'a>(cards: &'a [(String, String)], key: &str) -> Option<&'a str> {
    cards.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn int_kw(
    path: &Path,
    hdu: usize,
    cards: &[(String, String)],
    key: &str,
) -> Result<u64, InputError> {
    let place = || Place::Keyword { hdu, keyword: key.to_owned() };
    let v = kw(cards, key).ok_or_else(|| InputError {
        path: path.to_path_buf(),
        place: place(),
        message: "missing, expected a non-negative integer".into(),
    })?;
    v.parse::<u64>().map_err(|_| InputError {
        path: path.to_path_buf(),
        place: place(),
        message: format!("{v:?} is not a non-negative integer"),
    })
}

fn tform(t: &str) -> Option<(usize, char, usize)> {
    let t = t.trim();
    let digits: String = t.chars().take_while(char::is_ascii_digit).collect();
    let repeat: usize = if digits.is_empty() { 1 } else { digits.parse().ok()? };
    let code = t.chars().nth(digits.len())?;
    let w = match code {
        'L' | 'B' | 'A' => 1,
        'I' => 2,
        'J' | 'E' => 4,
        'K' | 'D' | 'C' | 'P' => 8,
        'M' | 'Q' => 16,
        'X' => return Some((repeat.div_ceil(8), code, repeat)),
        _ => return None,
    };
    Some((repeat.checked_mul(w)?, code, repeat))
}

impl FitsTable {
    /// Opens the first binary table of `path` whose `EXTNAME` is one of `extnames` (or, if none
    /// matches, the first holding every column of `required`).
    fn open(path: &Path, extnames: &[&str], required: &[&str]) -> Result<Self, InputError> {
        let f = File::open(path).map_err(|e| io_err(path, &e))?;
        let mut reader = BufReader::with_capacity(1 << 16, f);
        let mut hdu = 0;
        let mut fallback: Option<(usize, u64)> = None;
        loop {
            hdu += 1;
            let start = reader.stream_position().map_err(|e| io_err(path, &e))?;
            let Some(cards) = read_header(path, &mut reader, hdu)? else {
                if hdu == 1 {
                    return Err(file_err(path, "shorter than one header card: not a FITS file"));
                }
                break;
            };
            let data_start = reader.stream_position().map_err(|e| io_err(path, &e))?;
            if hdu == 1 && kw(&cards, "SIMPLE") != Some("T") {
                return Err(InputError {
                    path: path.to_path_buf(),
                    place: Place::Keyword { hdu, keyword: "SIMPLE".into() },
                    message: "missing or not T: not a FITS file".into(),
                });
            }
            let naxis = int_kw(path, hdu, &cards, "NAXIS")?;
            let bitpix: i64 =
                kw(&cards, "BITPIX").and_then(|v| v.parse().ok()).ok_or_else(|| InputError {
                    path: path.to_path_buf(),
                    place: Place::Keyword { hdu, keyword: "BITPIX".into() },
                    message: "missing or not an integer".into(),
                })?;
            let mut len: u64 = u64::from(naxis > 0);
            for i in 1..=naxis {
                len = len.saturating_mul(int_kw(path, hdu, &cards, &format!("NAXIS{i}"))?);
            }
            let pcount = if kw(&cards, "PCOUNT").is_some() {
                int_kw(path, hdu, &cards, "PCOUNT")?
            } else {
                0
            };
            let data_len = (bitpix.unsigned_abs() / 8).saturating_mul(len.saturating_add(pcount));
            let is_table = kw(&cards, "XTENSION") == Some("BINTABLE");
            let name = kw(&cards, "EXTNAME").unwrap_or("");
            let has_cols = required.iter().all(|c| {
                cards.iter().any(|(k, v)| k.starts_with("TTYPE") && v.eq_ignore_ascii_case(c))
            });
            if is_table && extnames.iter().any(|e| e.eq_ignore_ascii_case(name)) {
                return Self::from_header(path, hdu, cards, reader, data_start);
            }
            if is_table && has_cols && fallback.is_none() {
                fallback = Some((hdu, start));
            }
            let next = data_start.saturating_add(data_len).div_ceil(2880) * 2880;
            let end = reader.get_ref().metadata().map_err(|e| io_err(path, &e))?.len();
            if next > end {
                return Err(InputError {
                    path: path.to_path_buf(),
                    place: Place::Keyword { hdu, keyword: "NAXIS2".into() },
                    message: format!(
                        "data of {data_len} octets runs past the end of the file ({end} octets): \
                         truncated?"
                    ),
                });
            }
            reader.seek(SeekFrom::Start(next)).map_err(|e| io_err(path, &e))?;
            if next == end {
                break;
            }
        }
        if let Some((h, start)) = fallback {
            reader.seek(SeekFrom::Start(start)).map_err(|e| io_err(path, &e))?;
            let cards = read_header(path, &mut reader, h)?.unwrap_or_default();
            let data_start = reader.stream_position().map_err(|e| io_err(path, &e))?;
            return Self::from_header(path, h, cards, reader, data_start);
        }
        Err(file_err(
            path,
            format!(
                "no binary table extension {} with columns {}",
                extnames.join(" or "),
                required.join(", ")
            ),
        ))
    }

    fn from_header(
        path: &Path,
        hdu: usize,
        cards: Vec<(String, String)>,
        mut reader: BufReader<File>,
        data_start: u64,
    ) -> Result<Self, InputError> {
        let tfields = int_kw(path, hdu, &cards, "TFIELDS")?;
        let row_len = int_kw(path, hdu, &cards, "NAXIS1")?;
        let rows = int_kw(path, hdu, &cards, "NAXIS2")?;
        let mut columns = Vec::new();
        let mut offset = 0usize;
        for k in 1..=tfields.min(999) {
            let key = format!("TFORM{k}");
            let t = kw(&cards, &key).ok_or_else(|| InputError {
                path: path.to_path_buf(),
                place: Place::Keyword { hdu, keyword: key.clone() },
                message: "missing".into(),
            })?;
            let (w, code, repeat) = tform(t).ok_or_else(|| InputError {
                path: path.to_path_buf(),
                place: Place::Keyword { hdu, keyword: key.clone() },
                message: format!("unsupported TFORM {t:?}"),
            })?;
            let name = kw(&cards, &format!("TTYPE{k}")).unwrap_or("").to_ascii_uppercase();
            columns.push(Column { name, offset, code, repeat });
            offset = offset.saturating_add(w);
        }
        if offset as u64 != row_len {
            return Err(InputError {
                path: path.to_path_buf(),
                place: Place::Keyword { hdu, keyword: "NAXIS1".into() },
                message: format!("{row_len} octets per row, the columns need {offset}"),
            });
        }
        let end = reader.get_ref().metadata().map_err(|e| io_err(path, &e))?.len();
        let need = row_len.saturating_mul(rows);
        if data_start.saturating_add(need) > end {
            return Err(InputError {
                path: path.to_path_buf(),
                place: Place::Keyword { hdu, keyword: "NAXIS2".into() },
                message: format!(
                    "{rows} rows of {row_len} octets run past the end of the file ({end} \
                     octets): truncated?"
                ),
            });
        }
        // Seeking drops what the header reader had buffered: the file is then at the data.
        reader.seek(SeekFrom::Start(data_start)).map_err(|e| io_err(path, &e))?;
        let row_len = usize::try_from(row_len).map_err(|_| file_err(path, "rows too long"))?;
        Ok(FitsTable {
            path: path.to_path_buf(),
            hdu,
            reader: reader.into_inner(),
            columns,
            rows,
            next_row: 0,
            ahead: Vec::new(),
            at: 0,
            row_len,
        })
    }

    fn column(&self, name: &str, codes: &str, what: &str) -> Result<Option<Column>, InputError> {
        let Some((k, c)) = self.columns.iter().enumerate().find(|(_, c)| c.name == name) else {
            return Ok(None);
        };
        if codes.contains(c.code) {
            Ok(Some(c.clone()))
        } else {
            Err(InputError {
                path: self.path.clone(),
                place: Place::Keyword { hdu: self.hdu, keyword: format!("TFORM{}", k + 1) },
                message: format!("column {name} has TFORM {}, expected {what}", c.code),
            })
        }
    }

    fn required(&self, name: &str, codes: &str, what: &str) -> Result<Column, InputError> {
        self.column(name, codes, what)?.ok_or_else(|| InputError {
            path: self.path.clone(),
            place: Place::Keyword { hdu: self.hdu, keyword: "TTYPEn".into() },
            message: format!("column {name} missing ({what} expected)"),
        })
    }

    /// Reads the next row into the internal buffer; `false` at the end of the table.
    fn advance(&mut self) -> Result<bool, InputError> {
        if self.next_row >= self.rows {
            return Ok(false);
        }
        let next = self.at + self.row_len;
        if self.ahead.is_empty() || next >= self.ahead.len() {
            // Refill with the rows that remain, up to ROWS_AHEAD (the table's end is known,
            // so nothing past it is read).
            let left = self.rows - self.next_row;
            let n = usize::try_from(left).unwrap_or(usize::MAX).min(ROWS_AHEAD);
            self.ahead.resize(n * self.row_len, 0);
            self.reader.read_exact(&mut self.ahead).map_err(|e| io_err(&self.path, &e))?;
            self.at = 0;
        } else {
            self.at = next;
        }
        self.next_row += 1;
        Ok(true)
    }

    /// Reads the next block of rows (the rows that remain, up to [`ROWS_AHEAD`]: the same
    /// reads as [`FitsTable::advance`]) into `ahead`, and counts them read; returns how many
    /// (0 at the end of the table). [`FitsTable::select`] makes one of them the current row.
    fn read_block(&mut self) -> Result<usize, InputError> {
        let left = self.rows.saturating_sub(self.next_row);
        let n = usize::try_from(left).unwrap_or(usize::MAX).min(ROWS_AHEAD);
        if n == 0 {
            return Ok(0);
        }
        self.ahead.resize(n * self.row_len, 0);
        self.reader.read_exact(&mut self.ahead).map_err(|e| io_err(&self.path, &e))?;
        self.at = 0;
        self.next_row += n as u64;
        Ok(n)
    }

    /// Makes row `k` of the block in `ahead` the current one, numbered `row` (from 1) in
    /// errors; returns the number it had.
    fn select(&mut self, k: usize, row: u64) -> u64 {
        self.at = k * self.row_len;
        std::mem::replace(&mut self.next_row, row)
    }

    /// The current row's octets.
    fn row(&self) -> &[u8] {
        self.ahead.get(self.at..self.at + self.row_len).unwrap_or(&[])
    }

    fn cell_err(&self, c: &Column, message: impl Into<String>) -> InputError {
        InputError {
            path: self.path.clone(),
            place: Place::Cell { hdu: self.hdu, row: self.next_row, column: c.name.clone() },
            message: message.into(),
        }
    }

    /// Element `i` of column `c` of the current row, as f64.
    fn value(&self, c: &Column, i: usize) -> f64 {
        let at = |w: usize| {
            let o = c.offset + i * w;
            self.row().get(o..o + w).unwrap_or(&[])
        };
        match c.code {
            'B' | 'L' => at(1).first().map_or(f64::NAN, |&b| f64::from(b)),
            'I' => at(2).try_into().map_or(f64::NAN, |b| f64::from(i16::from_be_bytes(b))),
            'J' => at(4).try_into().map_or(f64::NAN, |b| f64::from(i32::from_be_bytes(b))),
            'K' => at(8).try_into().map_or(f64::NAN, |b| i64::from_be_bytes(b) as f64),
            'E' => at(4).try_into().map_or(f64::NAN, |b| f64::from(f32::from_be_bytes(b))),
            'D' => at(8).try_into().map_or(f64::NAN, f64::from_be_bytes),
            _ => f64::NAN,
        }
    }

    fn int(&self, c: &Column, lo: f64, hi: f64) -> Result<f64, InputError> {
        let v = self.value(c, 0);
        if v.fract() != 0.0 || !(lo..=hi).contains(&v) {
            return Err(self.cell_err(c, format!("{v} is not an integer in {lo}..{hi}")));
        }
        Ok(v)
    }

    fn time(&self, c: &Column) -> Result<u64, InputError> {
        let v = self.value(c, 0);
        s_to_tick(v).ok_or_else(|| {
            self.cell_err(c, format!("{v} is not a time in seconds since MJDREF (≥ 0)"))
        })
    }
}

/// Integer column codes accepted for Y, Z, PHA, MULT.
const INT_CODES: &str = "BIJK";
const INT_WHAT: &str = "B, I, J or K (integer)";
const FLOAT_CODES: &str = "DE";

/// The tick of a `TIME` value, exactly as [`s_to_tick`] gives it, without a call to `round`
/// for times in the usual range: below 2⁵³ ticks `x − trunc(x)` is exact, and rounding half
/// away from zero is `trunc(x) + (fraction ≥ ½)`.
#[inline]
fn tick_of(time_s: f64) -> Option<u64> {
    let x = time_s * TICKS_PER_S as f64;
    if (0.0..8.0e15).contains(&x) {
        // Signed conversions: one instruction each way (the unsigned ones are not on x86-64).
        let i = x as i64;
        Some(i as u64 + u64::from(x - i as f64 >= 0.5))
    } else {
        s_to_tick(time_s)
    }
}

/// Error of an event earlier than the one before it.
fn order_error(path: &Path, place: Place, e: &Event, last_tick: u64) -> InputError {
    InputError {
        path: path.to_path_buf(),
        place,
        message: format!(
            "TIME {:.5} is earlier than the previous event's {:.5}: events must be in time \
             order (sort the file by TIME)",
            e.time_s(),
            tick_to_s(last_tick)
        ),
    }
}

/// Element 0 of an `N`-octet column at `offset` of a row.
#[inline]
fn be<const N: usize>(row: &[u8], offset: usize) -> Option<[u8; N]> {
    row.get(offset..)?.first_chunk::<N>().copied()
}

/// Decodes element 0 of an integer column (`B`, `L`, `I`, `J`, `K`) of every row of a block,
/// −1 where the octets are missing (a value every integer column refuses).
fn int_column(block: &[u8], row_len: usize, c: &Column, out: &mut Vec<i64>) {
    out.clear();
    let rows = block.chunks_exact(row_len);
    let o = c.offset;
    match c.code {
        'B' | 'L' => out.extend(rows.map(|r| r.get(o).map_or(-1, |&b| i64::from(b)))),
        'I' => out.extend(rows.map(|r| be(r, o).map_or(-1, |b| i64::from(i16::from_be_bytes(b))))),
        'J' => out.extend(rows.map(|r| be(r, o).map_or(-1, |b| i64::from(i32::from_be_bytes(b))))),
        'K' => out.extend(rows.map(|r| be(r, o).map_or(-1, i64::from_be_bytes))),
        _ => out.extend(rows.map(|_| -1)),
    }
}

/// Decodes element 0 of a float column (`D`, `E`) of every row of a block, NaN where missing.
fn float_column(block: &[u8], row_len: usize, c: &Column, out: &mut Vec<f64>) {
    out.clear();
    let rows = block.chunks_exact(row_len);
    let o = c.offset;
    match c.code {
        'D' => out.extend(rows.map(|r| be(r, o).map_or(f64::NAN, f64::from_be_bytes))),
        'E' => out
            .extend(rows.map(|r| be(r, o).map_or(f64::NAN, |b| f64::from(f32::from_be_bytes(b))))),
        _ => out.extend(rows.map(|_| f64::NAN)),
    }
}

/// Rows of an event table decoded a block at a time, column by column.
#[derive(Default)]
struct EventColumns {
    time: Vec<f64>,
    y: Vec<i64>,
    z: Vec<i64>,
    pha: Vec<i64>,
    mult: Vec<i64>,
}

struct FitsEvents {
    t: FitsTable,
    time: Column,
    y: Column,
    z: Column,
    pha: Column,
    mult: Option<Column>,
    /// Whether the block decoding applies: every column has element 0 (repeat ≥ 1) and rows
    /// have octets. Otherwise each row goes through [`FitsEvents::row_event`].
    by_block: bool,
    /// Offsets of TIME, Y, Z, PHA and MULT when the table has the layout `simulate` writes
    /// (`D`, `I`, `I`, `I`, optional `B`): rows are then decoded in one pass, row by row.
    simulated: Option<[usize; 4]>,
    mult_at: Option<usize>,
    cols: EventColumns,
}

impl FitsEvents {
    fn open(path: &Path) -> Result<Self, InputError> {
        let t = FitsTable::open(path, &["EVENTS"], &["TIME", "Y", "Z", "PHA"])?;
        if t.rows > MAX_EVENTS {
            return Err(InputError {
                path: path.to_path_buf(),
                place: Place::Keyword { hdu: t.hdu, keyword: "NAXIS2".into() },
                message: format!("{} events, more than the {MAX_EVENTS} a replay accepts", t.rows),
            });
        }
        let time = t.required("TIME", FLOAT_CODES, "D or E (seconds since MJDREF)")?;
        let y = t.required("Y", INT_CODES, INT_WHAT)?;
        let z = t.required("Z", INT_CODES, INT_WHAT)?;
        let pha = t.required("PHA", INT_CODES, INT_WHAT)?;
        let mult = t.column("MULT", "BIJKL", INT_WHAT)?;
        let by_block = t.row_len > 0
            && [&time, &y, &z, &pha].into_iter().chain(mult.as_ref()).all(|c| c.repeat >= 1);
        let one = |c: &Column, code: char| c.code == code && c.repeat == 1;
        let simulated = (by_block
            && one(&time, 'D')
            && one(&y, 'I')
            && one(&z, 'I')
            && one(&pha, 'I')
            && mult.as_ref().is_none_or(|m| one(m, 'B')))
        .then_some([time.offset, y.offset, z.offset, pha.offset]);
        let mult_at = mult.as_ref().map(|m| m.offset);
        Ok(FitsEvents {
            t,
            time,
            y,
            z,
            pha,
            mult,
            by_block,
            simulated,
            mult_at,
            cols: EventColumns::default(),
        })
    }

    /// The current row as an event, or the error of its first bad cell (`TIME`, `Y`, `Z`,
    /// `PHA`, `MULT` in that order).
    fn row_event(&self) -> Result<Event, InputError> {
        let side = f64::from(PLANE_SIDE - 1);
        Ok(Event {
            tick: self.t.time(&self.time)?,
            y: self.t.int(&self.y, 0.0, side)? as u8,
            z: self.t.int(&self.z, 0.0, side)? as u8,
            pha: self.t.int(&self.pha, 0.0, f64::from(MAX_PHA))? as u16,
            mult: match &self.mult {
                Some(c) => self.t.int(c, 1.0, 255.0)? as u8,
                None => 1,
            },
        })
    }

    /// Row `k` of the block (numbered `row` from 1) through [`FitsEvents::row_event`].
    #[cold]
    fn row_event_at(&mut self, k: usize, row: u64) -> Result<Event, InputError> {
        let read = self.t.select(k, row);
        let e = self.row_event();
        self.t.next_row = read;
        e
    }

    /// Reads the next block of rows and appends their events to `out`, checking that each is
    /// no earlier than `last_tick` (then the event's). At the end of the table, appends none.
    ///
    /// # Errors
    /// A bad cell or an event out of time order, located; the events of the rows before it
    /// are in `out`.
    fn fill(&mut self, out: &mut Vec<Event>, last_tick: &mut u64) -> Result<(), InputError> {
        let first_row = self.t.next_row + 1;
        let n = self.t.read_block()?;
        out.reserve(n);
        if !self.by_block {
            for k in 0..n {
                let e = self.row_in_order(k, first_row + k as u64, *last_tick)?;
                *last_tick = e.tick;
                out.push(e);
            }
            return Ok(());
        }
        if let Some(o) = self.simulated {
            return self.fill_simulated(o, n, first_row, out, last_tick);
        }
        let (block, row_len, c) = (&self.t.ahead, self.t.row_len, &mut self.cols);
        float_column(block, row_len, &self.time, &mut c.time);
        int_column(block, row_len, &self.y, &mut c.y);
        int_column(block, row_len, &self.z, &mut c.z);
        int_column(block, row_len, &self.pha, &mut c.pha);
        match &self.mult {
            Some(m) => int_column(block, row_len, m, &mut c.mult),
            None => {
                c.mult.clear();
                c.mult.resize(n, 1);
            }
        }
        let side = i64::from(PLANE_SIDE);
        let mut last = *last_tick;
        let cols = std::mem::take(&mut self.cols);
        let rows = cols.time.iter().zip(&cols.y).zip(&cols.z).zip(&cols.pha).zip(&cols.mult);
        let mut result = Ok(());
        for (k, ((((&time, &y), &z), &pha), &mult)) in rows.enumerate() {
            let ok = (0..side).contains(&y)
                && (0..side).contains(&z)
                && (0..=i64::from(MAX_PHA)).contains(&pha)
                && (1..=255).contains(&mult);
            let e = match tick_of(time) {
                Some(tick) if ok => {
                    Event { tick, y: y as u8, z: z as u8, pha: pha as u16, mult: mult as u8 }
                }
                _ => match self.row_event_at(k, first_row + k as u64) {
                    Ok(e) => e,
                    Err(err) => {
                        result = Err(err);
                        break;
                    }
                },
            };
            if let Err(err) = self.in_order(&e, first_row + k as u64, last) {
                result = Err(err);
                break;
            }
            last = e.tick;
            out.push(e);
        }
        self.cols = cols;
        *last_tick = last;
        result
    }

    /// The event of the block's row `k` (the file's row `row`), not earlier than `last`.
    fn row_in_order(&mut self, k: usize, row: u64, last: u64) -> Result<Event, InputError> {
        let e = self.row_event_at(k, row)?;
        self.in_order(&e, row, last)?;
        Ok(e)
    }

    /// `Ok` when `e` (of the file's row `row`) is not earlier than `last`, the previous
    /// event's tick; else the time-order error naming the cell.
    fn in_order(&self, e: &Event, row: u64, last: u64) -> Result<(), InputError> {
        if e.tick < last {
            let place = Place::Cell { hdu: self.t.hdu, row, column: "TIME".into() };
            return Err(order_error(&self.t.path, place, e, last));
        }
        Ok(())
    }

    /// [`FitsEvents::fill`] for the simulator's layout, once the block is read: each row
    /// decoded in place; a row that fails a check goes through [`FitsEvents::row_event_at`],
    /// which names the error.
    fn fill_simulated(
        &mut self,
        o: [usize; 4],
        n: usize,
        first_row: u64,
        out: &mut Vec<Event>,
        last_tick: &mut u64,
    ) -> Result<(), InputError> {
        let side = i16::from(PLANE_SIDE);
        let max_pha = MAX_PHA as i16;
        let mut k = 0;
        while k < n {
            let mut last = *last_tick;
            for r in self.t.ahead.chunks_exact(self.t.row_len).skip(k) {
                let (Some(t), Some(y), Some(z), Some(p)) =
                    (be::<8>(r, o[0]), be::<2>(r, o[1]), be::<2>(r, o[2]), be::<2>(r, o[3]))
                else {
                    break;
                };
                let mult = match self.mult_at {
                    Some(m) => r.get(m).copied().unwrap_or(0),
                    None => 1,
                };
                let (y, z, pha) =
                    (i16::from_be_bytes(y), i16::from_be_bytes(z), i16::from_be_bytes(p));
                let Some(tick) = tick_of(f64::from_be_bytes(t)) else { break };
                let ok = (0..side).contains(&y)
                    && (0..side).contains(&z)
                    && (0..=max_pha).contains(&pha)
                    && mult >= 1
                    && tick >= last;
                if !ok {
                    break;
                }
                last = tick;
                out.push(Event { tick, y: y as u8, z: z as u8, pha: pha as u16, mult });
                k += 1;
            }
            *last_tick = last;
            if k == n {
                break;
            }
            let e = self.row_in_order(k, first_row + k as u64, *last_tick)?;
            *last_tick = e.tick;
            out.push(e);
            k += 1;
        }
        Ok(())
    }

    /// Whether every row has been read.
    fn exhausted(&self) -> bool {
        self.t.next_row >= self.t.rows
    }
}

// ---------------------------------------------------------------------------------------------
// CSV.

struct CsvEvents {
    path: PathBuf,
    reader: BufReader<File>,
    line_no: u64,
    line: Vec<u8>,
    /// Field index of TIME, Y, Z, PHA, MULT.
    idx: [Option<usize>; 5],
    names: Vec<String>,
    rows: u64,
    /// The end of the file was reached.
    done: bool,
}

const CSV_COLS: [&str; 5] = ["TIME", "Y", "Z", "PHA", "MULT"];

impl CsvEvents {
    fn open(path: &Path) -> Result<Self, InputError> {
        let f = File::open(path).map_err(|e| io_err(path, &e))?;
        let mut c = CsvEvents {
            path: path.to_path_buf(),
            reader: BufReader::with_capacity(1 << 16, f),
            line_no: 0,
            line: Vec::with_capacity(128),
            idx: [None; 5],
            names: Vec::new(),
            rows: 0,
            done: false,
        };
        let header = loop {
            if !c.read_line()? {
                return Err(file_err(
                    path,
                    "empty file: expected a header line TIME,Y,Z,PHA[,MULT]",
                ));
            }
            let l = c.text()?.trim().to_owned();
            if !l.is_empty() && !l.starts_with('#') {
                break l;
            }
        };
        c.names = header.split(',').map(|s| s.trim().to_ascii_uppercase()).collect();
        for (k, want) in CSV_COLS.iter().enumerate() {
            c.idx[k] = c.names.iter().position(|n| n == want);
        }
        if let Some(missing) = CSV_COLS.iter().take(4).zip(c.idx).find(|(_, i)| i.is_none()) {
            return Err(InputError {
                path: path.to_path_buf(),
                place: Place::Text { line: c.line_no, column: 1, name: String::new() },
                message: format!(
                    "header has no column {} (expected TIME,Y,Z,PHA and optionally MULT, any \
                     order)",
                    missing.0
                ),
            });
        }
        Ok(c)
    }

    fn read_line(&mut self) -> Result<bool, InputError> {
        self.line.clear();
        let n = (&mut self.reader)
            .take(MAX_CSV_LINE as u64 + 1)
            .read_until(b'\n', &mut self.line)
            .map_err(|e| io_err(&self.path, &e))?;
        if n == 0 {
            return Ok(false);
        }
        self.line_no += 1;
        if self.line.len() > MAX_CSV_LINE {
            return Err(InputError {
                path: self.path.clone(),
                place: Place::Text { line: self.line_no, column: 1, name: String::new() },
                message: format!("line longer than {MAX_CSV_LINE} octets: not an event CSV?"),
            });
        }
        Ok(true)
    }

    fn text(&self) -> Result<&str, InputError> {
        std::str::from_utf8(&self.line).map_err(|_| InputError {
            path: self.path.clone(),
            place: Place::Text { line: self.line_no, column: 1, name: String::new() },
            message: "not UTF-8 text".into(),
        })
    }

    fn next(&mut self) -> Result<Option<Event>, InputError> {
        loop {
            if !self.read_line()? {
                return Ok(None);
            }
            self.rows += 1;
            let line = self.text()?.trim();
            if line.is_empty() || line.starts_with('#') {
                self.rows -= 1;
                continue;
            }
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            if fields.len() != self.names.len() {
                return Err(InputError {
                    path: self.path.clone(),
                    place: Place::Text { line: self.line_no, column: 1, name: String::new() },
                    message: format!(
                        "{} fields, the header has {}",
                        fields.len(),
                        self.names.len()
                    ),
                });
            }
            if self.rows > MAX_EVENTS {
                return Err(file_err(
                    &self.path,
                    format!("more than the {MAX_EVENTS} events a replay accepts"),
                ));
            }
            let get = |k: usize, lo: f64, hi: f64, int: bool| -> Result<f64, InputError> {
                let i = self.idx.get(k).copied().flatten().unwrap_or(0);
                let s = fields.get(i).copied().unwrap_or("");
                let err = |m: String| InputError {
                    path: self.path.clone(),
                    place: Place::Text {
                        line: self.line_no,
                        column: i + 1,
                        name: CSV_COLS.get(k).copied().unwrap_or("").to_owned(),
                    },
                    message: m,
                };
                let v: f64 = s.parse().map_err(|_| err(format!("{s:?} is not a number")))?;
                if !v.is_finite() || !(lo..=hi).contains(&v) || (int && v.fract() != 0.0) {
                    let kind = if int { "an integer" } else { "a number" };
                    return Err(err(format!("{s} is not {kind} in {lo}..{hi}")));
                }
                Ok(v)
            };
            let side = f64::from(PLANE_SIDE - 1);
            let time = get(0, 0.0, 1.0e11, false)?;
            return Ok(Some(Event {
                tick: s_to_tick(time).unwrap_or(0),
                y: get(1, 0.0, side, true)? as u8,
                z: get(2, 0.0, side, true)? as u8,
                pha: get(3, 0.0, f64::from(MAX_PHA), true)? as u16,
                mult: if self.idx[4].is_some() { get(4, 1.0, 255.0, true)? as u8 } else { 1 },
            }));
        }
    }

    fn place(&self) -> Place {
        Place::Text {
            line: self.line_no,
            column: self.idx[0].unwrap_or(0) + 1,
            name: "TIME".into(),
        }
    }
}

impl CsvEvents {
    /// Reads up to [`ROWS_AHEAD`] more events into `out`, as [`FitsEvents::fill`].
    fn fill(&mut self, out: &mut Vec<Event>, last_tick: &mut u64) -> Result<(), InputError> {
        for _ in 0..ROWS_AHEAD {
            let Some(e) = self.next()? else {
                self.done = true;
                return Ok(());
            };
            if e.tick < *last_tick {
                return Err(order_error(&self.path, self.place(), &e, *last_tick));
            }
            *last_tick = e.tick;
            out.push(e);
        }
        Ok(())
    }
}

enum EventFile {
    Fits(Box<FitsEvents>),
    Csv(Box<CsvEvents>),
}

/// A streaming reader of the events of one file, checking time order.
///
/// Rows are decoded a block at a time (up to 4 096) into a buffer of events; an error is
/// reported after the events of the rows before it, as if rows were read one by one.
pub struct EventReader {
    file: EventFile,
    last_tick: u64,
    /// Events read so far (returned by [`EventReader::next_event`] or taken by [`Input`]).
    pub count: u64,
    /// Decoded events; those before `pos` are taken.
    buf: Vec<Event>,
    pos: usize,
    /// The error of the row after the last event in `buf`, reported when it is reached.
    error: Option<InputError>,
    /// No event after those in `buf`.
    eof: bool,
}

impl std::fmt::Debug for EventReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventReader").field("count", &self.count).finish_non_exhaustive()
    }
}

fn is_csv(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

impl EventReader {
    /// Opens an event file: CSV if its name ends in `.csv`, FITS otherwise.
    ///
    /// # Errors
    /// A missing or unreadable file, a FITS file without an `EVENTS` table (or a table with
    /// `TIME`, `Y`, `Z`, `PHA`), a CSV without those columns in its header.
    pub fn open(path: &Path) -> Result<Self, InputError> {
        let file = if is_csv(path) {
            EventFile::Csv(Box::new(CsvEvents::open(path)?))
        } else {
            EventFile::Fits(Box::new(FitsEvents::open(path)?))
        };
        Ok(EventReader {
            file,
            last_tick: 0,
            count: 0,
            buf: Vec::new(),
            pos: 0,
            error: None,
            eof: false,
        })
    }

    /// Number of events if the file says it up front (FITS `NAXIS2`).
    pub fn len_hint(&self) -> Option<u64> {
        match &self.file {
            EventFile::Fits(f) => Some(f.t.rows),
            EventFile::Csv(_) => None,
        }
    }

    /// The events decoded and not yet taken.
    fn available(&self) -> &[Event] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    /// Takes the first `n` available events.
    fn take(&mut self, n: usize) -> &[Event] {
        let start = self.pos;
        self.pos = (start + n).min(self.buf.len());
        self.count += (self.pos - start) as u64;
        self.buf.get(start..self.pos).unwrap_or(&[])
    }

    /// Decodes the next block after the available events; `false` at the end of the file.
    ///
    /// # Errors
    /// The error of the next row when no event comes before it (else it is kept for later).
    fn refill(&mut self) -> Result<bool, InputError> {
        if let Some(e) = self.error.take() {
            self.eof = true;
            return Err(e);
        }
        if self.eof {
            return Ok(false);
        }
        self.buf.drain(..self.pos);
        self.pos = 0;
        let before = self.buf.len();
        let (r, exhausted) = match &mut self.file {
            EventFile::Fits(f) => (f.fill(&mut self.buf, &mut self.last_tick), f.exhausted()),
            EventFile::Csv(c) => (c.fill(&mut self.buf, &mut self.last_tick), c.done),
        };
        let got = self.buf.len() > before;
        match r {
            Ok(()) => self.eof = !got || exhausted,
            Err(e) if got => self.error = Some(e),
            Err(e) => {
                self.eof = true;
                return Err(e);
            }
        }
        Ok(got)
    }

    /// The next event, `None` at the end.
    ///
    /// # Errors
    /// A value out of range, a malformed row, or an event earlier than the one before it
    /// (inputs must be in time order), located.
    pub fn next_event(&mut self) -> Result<Option<Event>, InputError> {
        if self.available().is_empty() && !self.refill()? {
            return Ok(None);
        }
        Ok(self.take(1).first().copied())
    }
}

/// Reads a whole attitude table (`SVO-ATT-CNV`: `TIME`, `QPARAM` 4D, vector part first).
///
/// # Errors
/// Unreadable, missing columns, more than [`MAX_CONTEXT_ROWS`] rows, a quaternion that is not
/// of unit length, rows out of time order.
pub fn read_attitude(path: &Path) -> Result<Vec<AttitudeSample>, InputError> {
    let mut t = FitsTable::open(path, &["ATTITUDE"], &["TIME", "QPARAM"])?;
    check_rows(&t)?;
    let time = t.required("TIME", FLOAT_CODES, "D (seconds since MJDREF)")?;
    let q = t.required("QPARAM", FLOAT_CODES, "4D (quaternion x, y, z, w)")?;
    if q.repeat != 4 {
        return Err(t.cell_err(&q, format!("{} elements, expected 4", q.repeat)));
    }
    let mut out = Vec::with_capacity(t.rows as usize);
    while t.advance()? {
        let tick = t.time(&time)?;
        let [x, y, z, w] = [0, 1, 2, 3].map(|i| t.value(&q, i));
        let norm = (w * w + x * x + y * y + z * z).sqrt();
        if !(norm - 1.0).abs().lt(&1e-3) {
            return Err(t.cell_err(&q, format!("quaternion of norm {norm}, expected 1")));
        }
        push_ordered(&mut out, AttitudeSample { tick, q: [w, x, y, z].map(|v| v / norm) }, &t)?;
    }
    Ok(out)
}

/// Reads a whole orbit table (`SVO-ORB-CNV`: `TIME`, `LON`, `LAT` in degrees, `ALT` in km).
///
/// # Errors
/// As [`read_attitude`]; latitudes outside ±90°.
pub fn read_orbit(path: &Path) -> Result<Vec<OrbitSample>, InputError> {
    let mut t = FitsTable::open(path, &["ORBIT"], &["TIME", "LON", "LAT", "ALT"])?;
    check_rows(&t)?;
    let time = t.required("TIME", FLOAT_CODES, "D (seconds since MJDREF)")?;
    let lon = t.required("LON", FLOAT_CODES, "D (degrees)")?;
    let lat = t.required("LAT", FLOAT_CODES, "D (degrees)")?;
    let alt = t.required("ALT", FLOAT_CODES, "D (km)")?;
    let mut out = Vec::with_capacity(t.rows as usize);
    while t.advance()? {
        let tick = t.time(&time)?;
        let mut lon_deg = t.value(&lon, 0);
        if !lon_deg.is_finite() {
            return Err(t.cell_err(&lon, format!("{lon_deg} is not a longitude")));
        }
        lon_deg = (lon_deg + 180.0).rem_euclid(360.0) - 180.0;
        let lat_deg = t.value(&lat, 0);
        if !(-90.0..=90.0).contains(&lat_deg) {
            return Err(t.cell_err(&lat, format!("{lat_deg} is not a latitude in -90..90")));
        }
        let alt_km = t.value(&alt, 0);
        if !(0.0..1.0e5).contains(&alt_km) {
            return Err(t.cell_err(&alt, format!("{alt_km} is not an altitude in km")));
        }
        push_ordered(&mut out, OrbitSample { tick, lon_deg, lat_deg, alt_km }, &t)?;
    }
    Ok(out)
}

fn check_rows(t: &FitsTable) -> Result<(), InputError> {
    if t.rows > MAX_CONTEXT_ROWS as u64 {
        return Err(InputError {
            path: t.path.clone(),
            place: Place::Keyword { hdu: t.hdu, keyword: "NAXIS2".into() },
            message: format!("{} rows, more than {MAX_CONTEXT_ROWS}", t.rows),
        });
    }
    Ok(())
}

trait Ticked {
    fn tick(&self) -> u64;
}
impl Ticked for AttitudeSample {
    fn tick(&self) -> u64 {
        self.tick
    }
}
impl Ticked for OrbitSample {
    fn tick(&self) -> u64 {
        self.tick
    }
}

fn push_ordered<T: Ticked>(out: &mut Vec<T>, s: T, t: &FitsTable) -> Result<(), InputError> {
    if out.last().is_some_and(|l| l.tick() > s.tick()) {
        return Err(InputError {
            path: t.path.clone(),
            place: Place::Cell { hdu: t.hdu, row: t.next_row, column: "TIME".into() },
            message: "earlier than the row before: rows must be in time order".into(),
        });
    }
    out.push(s);
    Ok(())
}

/// The files of a triplet directory (ICD §6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Triplet {
    /// `ECL-EVT-SEC_*.fits` (or `.csv`).
    pub events: PathBuf,
    /// `SVO-ATT-CNV_*.fits`, if present.
    pub attitude: Option<PathBuf>,
    /// `SVO-ORB-CNV_*.fits`, if present.
    pub orbit: Option<PathBuf>,
}

impl Triplet {
    /// Finds the triplet in `dir`: exactly one event file (FITS preferred over the CSV of the
    /// same stem), at most one attitude and one orbit file.
    ///
    /// # Errors
    /// No event file, or several candidates for one role.
    pub fn find(dir: &Path) -> Result<Self, InputError> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| io_err(dir, &e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        names.sort();
        let pick = |prefix: &str, csv_ok: bool| -> Result<Option<PathBuf>, InputError> {
            let fits: Vec<&PathBuf> = names
                .iter()
                .filter(|p| {
                    let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    n.starts_with(prefix) && (n.ends_with(".fits") || n.ends_with(".fit"))
                })
                .collect();
            let csv: Vec<&PathBuf> = names
                .iter()
                .filter(|p| {
                    let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    csv_ok && n.starts_with(prefix) && n.ends_with(".csv")
                })
                .collect();
            let set = if fits.is_empty() { csv } else { fits };
            match set.as_slice() {
                [] => Ok(None),
                [one] => Ok(Some((*one).clone())),
                many => Err(file_err(
                    dir,
                    format!(
                        "{} files {prefix}*: give one of them instead of the directory ({})",
                        many.len(),
                        many.iter()
                            .filter_map(|p| p.file_name()?.to_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )),
            }
        };
        let events = pick("ECL-EVT-SEC_", true)?.ok_or_else(|| {
            file_err(dir, "no ECL-EVT-SEC_*.fits or .csv event file in this directory")
        })?;
        Ok(Triplet {
            events,
            attitude: pick("SVO-ATT-CNV_", false)?,
            orbit: pick("SVO-ORB-CNV_", false)?,
        })
    }
}

/// What [`Input::next_run`] gives: a context sample, or events in a row (never none).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Run<'a> {
    /// One item (an attitude or orbit sample; an event for sources that give one at a time).
    Item(Item),
    /// Consecutive events, in time order, before the next context sample.
    Events(&'a [Event]),
    /// The end of the input.
    End,
}

/// A replay input: events streamed from a file, merged in time order with the attitude and
/// orbit samples of a triplet.
#[derive(Debug)]
pub struct Input {
    events: EventReader,
    attitude: std::vec::IntoIter<AttitudeSample>,
    orbit: std::vec::IntoIter<OrbitSample>,
    next_att: Option<AttitudeSample>,
    next_orb: Option<OrbitSample>,
    started: bool,
    /// The files read.
    pub files: Triplet,
}

impl Input {
    /// Opens a file or a triplet directory (see the module documentation).
    ///
    /// # Errors
    /// Those of [`Triplet::find`], [`EventReader::open`], [`read_attitude`], [`read_orbit`].
    pub fn open(path: &Path) -> Result<Self, InputError> {
        let files = if path.is_dir() {
            Triplet::find(path)?
        } else {
            Triplet { events: path.to_path_buf(), attitude: None, orbit: None }
        };
        let events = EventReader::open(&files.events)?;
        let attitude = match &files.attitude {
            Some(p) => read_attitude(p)?,
            None => Vec::new(),
        };
        let orbit = match &files.orbit {
            Some(p) => read_orbit(p)?,
            None => Vec::new(),
        };
        Ok(Input {
            events,
            attitude: attitude.into_iter(),
            orbit: orbit.into_iter(),
            next_att: None,
            next_orb: None,
            started: false,
            files,
        })
    }

    /// Number of events, if known up front.
    pub fn len_hint(&self) -> Option<u64> {
        self.events.len_hint()
    }

    /// Events read so far: those given and the next one, read ahead.
    pub fn events_read(&self) -> u64 {
        self.events.count + u64::from(!self.events.available().is_empty())
    }

    /// Whether the input has attitude samples.
    pub fn has_attitude(&self) -> bool {
        self.files.attitude.is_some()
    }

    /// Whether the input has orbit samples.
    pub fn has_orbit(&self) -> bool {
        self.files.orbit.is_some()
    }

    /// The next item in time order (context samples before events of the same tick).
    ///
    /// # Errors
    /// Those of [`EventReader::next_event`].
    pub fn next_item(&mut self) -> Result<Option<Item>, InputError> {
        Ok(match self.next_run(1)? {
            Run::Item(i) => Some(i),
            Run::Events(e) => e.first().map(|e| Item::Event(*e)),
            Run::End => None,
        })
    }

    /// The next context sample, or up to `max` (at least one) events in a row: the items
    /// [`Input::next_item`] would give one by one, with the same errors after the same items.
    ///
    /// An event is given once the row after it has been read (a bad row stops the input before
    /// the event before it, as [`Input::next_item`] always did).
    ///
    /// # Errors
    /// Those of [`EventReader::next_event`].
    pub fn next_run(&mut self, max: usize) -> Result<Run<'_>, InputError> {
        if !self.started {
            self.started = true;
            if self.events.available().is_empty() {
                self.events.refill()?;
            }
            self.next_att = self.attitude.next();
            self.next_orb = self.orbit.next();
        }
        let te = self.events.available().first().map_or(u64::MAX, |e| e.tick);
        let ta = self.next_att.map_or(u64::MAX, |a| a.tick);
        let to = self.next_orb.map_or(u64::MAX, |o| o.tick);
        if let Some(a) = self.next_att
            && ta <= te
            && ta <= to
        {
            self.next_att = self.attitude.next();
            return Ok(Run::Item(Item::Attitude(a)));
        }
        if let Some(o) = self.next_orb
            && to <= te
        {
            self.next_orb = self.orbit.next();
            return Ok(Run::Item(Item::Orbit(o)));
        }
        // Events strictly before the next context sample.
        let before = match (self.next_att, self.next_orb) {
            (None, None) => None,
            _ => Some(ta.min(to)),
        };
        loop {
            let avail = self.events.available();
            if avail.is_empty() {
                return Ok(Run::End);
            }
            // The last event decoded waits for the row after it, unless there is none.
            let ready = if self.events.eof { avail.len() } else { avail.len() - 1 };
            let n = match before {
                Some(t) => avail.partition_point(|e| e.tick < t),
                None => avail.len(),
            }
            .min(ready)
            .min(max.max(1));
            if n > 0 {
                return Ok(Run::Events(self.events.take(n)));
            }
            self.events.refill()?;
        }
    }
}

impl Iterator for Input {
    type Item = Result<Item, InputError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_item().transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tables::fits::{Value, card, end_header, pad};

    #[test]
    fn tick_of_equals_s_to_tick() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let edges = [
            0.0,
            -0.0,
            -1e-6,
            -1e-5,
            -0.5 / 50_000.0,
            1e-5,
            0.5 / 50_000.0,
            0.49999999999999994 / 50_000.0,
            2.5e-5,
            298_274_469.184_46,
            8.0e15 / 50_000.0,
            1.6e11,
            1.8e11,
            1.0e11,
            f64::NAN,
            f64::INFINITY,
            -f64::INFINITY,
            f64::MAX,
            f64::MIN_POSITIVE,
        ];
        for t in edges {
            assert_eq!(tick_of(t), s_to_tick(t), "{t:e}");
        }
        for _ in 0..1_000_000 {
            let r = next();
            // Any bits, times in seconds over the mission, and halves of ticks.
            for t in [
                f64::from_bits(r),
                (r >> 11) as f64 / (1u64 << 53) as f64 * 2.0e11 - 1.0,
                ((r >> 20) as f64 + 0.5) / 50_000.0,
            ] {
                assert_eq!(tick_of(t), s_to_tick(t), "{t:e}");
            }
        }
    }

    /// A FITS file with one EVENTS binary table: `columns` (TTYPE, TFORM, octets per row) and
    /// rows of octets.
    fn fits(columns: &[(&str, &str, usize)], rows: &[Vec<u8>]) -> Vec<u8> {
        let mut out = Vec::new();
        card(&mut out, "SIMPLE", Value::Logical(true), "");
        card(&mut out, "BITPIX", Value::Int(8), "");
        card(&mut out, "NAXIS", Value::Int(0), "");
        end_header(&mut out);
        let row_len: usize = columns.iter().map(|c| c.2).sum();
        card(&mut out, "XTENSION", Value::Str("BINTABLE"), "");
        card(&mut out, "BITPIX", Value::Int(8), "");
        card(&mut out, "NAXIS", Value::Int(2), "");
        card(&mut out, "NAXIS1", Value::Int(row_len as i64), "");
        card(&mut out, "NAXIS2", Value::Int(rows.len() as i64), "");
        card(&mut out, "PCOUNT", Value::Int(0), "");
        card(&mut out, "GCOUNT", Value::Int(1), "");
        card(&mut out, "TFIELDS", Value::Int(columns.len() as i64), "");
        for (k, (name, form, _)) in columns.iter().enumerate() {
            card(&mut out, &format!("TTYPE{}", k + 1), Value::Str(name), "");
            card(&mut out, &format!("TFORM{}", k + 1), Value::Str(form), "");
        }
        card(&mut out, "EXTNAME", Value::Str("EVENTS"), "");
        end_header(&mut out);
        for r in rows {
            out.extend_from_slice(r);
        }
        pad(&mut out, 0);
        out
    }

    /// The events of a table read row by row with the per-row decoding (the reference), until
    /// the first error.
    fn row_by_row(path: &Path) -> (Vec<Event>, Option<String>) {
        let mut f = FitsEvents::open(path).unwrap();
        let mut out = Vec::new();
        let mut last = 0;
        while f.t.advance().unwrap() {
            match f.row_event() {
                Ok(e) if e.tick < last => {
                    let place =
                        Place::Cell { hdu: f.t.hdu, row: f.t.next_row, column: "TIME".into() };
                    return (out, Some(order_error(path, place, &e, last).to_string()));
                }
                Ok(e) => {
                    last = e.tick;
                    out.push(e);
                }
                Err(e) => return (out, Some(e.to_string())),
            }
        }
        (out, None)
    }

    fn by_reader(path: &Path) -> (Vec<Event>, Option<String>) {
        let mut r = EventReader::open(path).unwrap();
        let mut out = Vec::new();
        loop {
            match r.next_event() {
                Ok(Some(e)) => out.push(e),
                Ok(None) => return (out, None),
                Err(e) => return (out, Some(e.to_string())),
            }
        }
    }

    /// Tables of other layouts than the simulator's (other codes, a vector column, extra
    /// columns, no MULT, a column without elements) decode a block at a time exactly as row
    /// by row, damaged rows included (the same events before the same error).
    #[test]
    fn block_decoding_equals_row_by_row_for_any_layout() {
        type Cell = fn(i64, &mut Vec<u8>);
        let b: Cell = |v, o| o.push(v as u8);
        let i: Cell = |v, o| o.extend_from_slice(&(v as i16).to_be_bytes());
        let j: Cell = |v, o| o.extend_from_slice(&(v as i32).to_be_bytes());
        let k: Cell = |v, o| o.extend_from_slice(&v.to_be_bytes());
        let layouts: [&[(&str, &str, usize, Cell)]; 5] = [
            &[("TIME", "D", 8, k), ("Y", "I", 2, i), ("Z", "I", 2, i), ("PHA", "I", 2, i)],
            &[
                ("Y", "I", 2, i),
                ("TIME", "D", 8, k),
                ("MULT", "B", 1, b),
                ("Z", "I", 2, i),
                ("PHA", "I", 2, i),
            ],
            &[
                ("EXTRA", "3A", 3, b),
                ("time", "1E", 4, j),
                ("Y", "B", 1, b),
                ("Z", "J", 4, j),
                ("PHA", "K", 8, k),
                ("MULT", "L", 1, b),
            ],
            &[
                ("PHA", "J", 4, j),
                ("Z", "2I", 4, i),
                ("Y", "K", 8, k),
                ("TIME", "D", 8, k),
                ("MULT", "I", 2, i),
            ],
            &[("TIME", "D", 8, k), ("Y", "0I", 0, i), ("Z", "I", 2, i), ("PHA", "I", 2, i)],
        ];
        let without_elements = layouts.len() - 1;
        let dir = tempfile::tempdir().unwrap();
        let mut x = 12_345u64;
        let mut next = move || {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            x >> 33
        };
        for (l, layout) in layouts.iter().enumerate() {
            for damage in [None, Some(0), Some(4095), Some(4096), Some(9000), Some(9999)] {
                let mut rows = Vec::new();
                let mut t = 1000.0f64;
                for r in 0..10_000usize {
                    t += (next() % 100) as f64 * 1.3e-5;
                    let mut row = Vec::new();
                    for &(name, form, _, put) in *layout {
                        let bad = damage == Some(r);
                        let v = match name.to_ascii_uppercase().as_str() {
                            "TIME" if bad => 0,
                            "TIME" if form.ends_with('E') => i64::from((t as f32).to_bits()),
                            "TIME" => t.to_bits() as i64,
                            "Y" | "Z" => (next() % 80) as i64 + 80 * i64::from(bad),
                            "PHA" => (next() % 1024) as i64,
                            "MULT" if bad && l == 1 => 0,
                            "MULT" => (next() % 4) as i64 + 1,
                            _ => next() as i64,
                        };
                        let reps = form.trim_end_matches(char::is_alphabetic);
                        for _ in 0..reps.parse::<usize>().unwrap_or(1) {
                            put(v, &mut row);
                        }
                    }
                    rows.push(row);
                }
                let cols: Vec<(&str, &str, usize)> =
                    layout.iter().map(|&(n, f, w, _)| (n, f, w)).collect();
                let path = dir.path().join(format!("e{l}.fits"));
                std::fs::write(&path, fits(&cols, &rows)).unwrap();
                let want = row_by_row(&path);
                let got = by_reader(&path);
                assert_eq!(got.1, want.1, "layout {l}, damage {damage:?}");
                assert_eq!(got.0, want.0, "layout {l}, damage {damage:?}");
                if l != without_elements {
                    assert_eq!(got.1.is_some(), damage.is_some(), "layout {l}: {:?}", got.1);
                    assert_eq!(got.0.len(), damage.unwrap_or(10_000), "layout {l}");
                }
            }
        }
    }
}
