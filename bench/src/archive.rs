//! The TM archive: every received CADU, time-stamped, appended before it is decoded.
//!
//! # File format (version 1)
//!
//! A file is a plain sequence of records, no file header. Each record, big-endian:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | sync marker `45 49 43 52` (`"EICR"`) |
//! | 4 | 1 | format version, `0x01` |
//! | 5 | 1 | kind: `0x01` CADU, `0x02` raw link octets, `0x03` note (UTF-8 text) |
//! | 6 | 1 | source: `0x00` TC/TM link, `0x01` stimulus link (others free) |
//! | 7 | 1 | reserved, `0x00` |
//! | 8 | 8 | receive time, UTC nanoseconds since 1970-01-01 (signed) |
//! | 16 | 4 | length N of the octets, at most [`MAX_OCTETS`] |
//! | 20 | N | the octets, exactly as received |
//! | 20 + N | 4 | CRC-32/ISO-HDLC of bytes 0 .. 20 + N |
//!
//! # Writing
//!
//! [`ArchiveWriter`] opens the file with `O_APPEND` and never seeks, rewrites or truncates it.
//! Each record goes out in one `write` and is flushed before `append` returns
//! ([`Durability::Sync`] adds an `fsync` per record).
//!
//! # Reading, damage and resuming
//!
//! [`ArchiveReader`] yields every intact record in order. Damage never hides the records
//! around it:
//! - a record that fails its checks (sync, version, length, CRC) is reported once as
//!   [`Error::Damaged`] with its offset and the number of octets skipped, and reading resumes at
//!   the next sync marker that starts an intact record;
//! - an incomplete record at the end of the file (a crash mid-write) is reported as
//!   [`Error::TornTail`].
//!
//! Appending after a torn tail is safe: [`ArchiveWriter::open`] scans the file, and when it
//! finds damage it first appends a note record saying where the damage is, then the new
//! records. The torn bytes stay in place (the file is never rewritten); a later reader reports
//! them as [`Error::Damaged`], resynchronises on the note and reads everything after it.
//!
//! # Replay
//!
//! Records carry their receive time; [`replay_delay`] and [`ReplayClock`] turn those times
//! into waits so a replay reproduces the original pacing, at any speed.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tc_tm::crc::crc32;

/// Sync marker that starts every record: `"EICR"`.
pub const SYNC: [u8; 4] = *b"EICR";
/// Format version written by this code.
pub const VERSION: u8 = 0x01;
/// Record header length (sync to length field included).
pub const HEADER_LEN: usize = 20;
/// Record trailer length (the CRC-32).
pub const TRAILER_LEN: usize = 4;
/// Largest octet payload of one record (1 MiB); a longer length field is damage.
pub const MAX_OCTETS: usize = 1 << 20;

/// Source code of the TC/TM link.
pub const SOURCE_TCTM: u8 = 0x00;
/// Source code of the stimulus link.
pub const SOURCE_STIMULUS: u8 = 0x01;

/// What a record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// One CADU (ASM + AOS frame), as received.
    Cadu,
    /// Raw link octets, not framed.
    Raw,
    /// A UTF-8 note (e.g. where appending resumed after damage).
    Note,
    /// A kind this version does not know; kept as is.
    Unknown(u8),
}

impl RecordKind {
    /// The kind's code in the file.
    pub fn code(self) -> u8 {
        match self {
            Self::Cadu => 0x01,
            Self::Raw => 0x02,
            Self::Note => 0x03,
            Self::Unknown(c) => c,
        }
    }

    /// The kind of a code.
    pub fn from_code(code: u8) -> Self {
        match code {
            0x01 => Self::Cadu,
            0x02 => Self::Raw,
            0x03 => Self::Note,
            c => Self::Unknown(c),
        }
    }
}

/// One archived record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Offset of the record's first octet in the file.
    pub offset: u64,
    /// What it holds.
    pub kind: RecordKind,
    /// Which link it came from ([`SOURCE_TCTM`], [`SOURCE_STIMULUS`], ...).
    pub source: u8,
    /// Receive time, UTC nanoseconds since 1970-01-01.
    pub time_ns: i64,
    /// The octets as received.
    pub octets: Vec<u8>,
}

impl Record {
    /// Length of the record in the file.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + self.octets.len() + TRAILER_LEN
    }
}

/// Why a stretch of the file is unreadable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Damage {
    /// No sync marker where a record should start.
    BadSync,
    /// A format version this code does not read.
    BadVersion {
        /// The version found.
        found: u8,
    },
    /// A length field larger than [`MAX_OCTETS`].
    TooLong {
        /// The length found.
        len: u32,
    },
    /// The record's CRC-32 does not match.
    BadCrc {
        /// CRC computed over the record.
        computed: u32,
        /// CRC stored in the record.
        received: u32,
    },
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadSync => f.write_str("no sync marker"),
            Self::BadVersion { found } => write!(f, "unknown format version {found}"),
            Self::TooLong { len } => write!(f, "length {len} over the {MAX_OCTETS}-octet maximum"),
            Self::BadCrc { computed, received } => {
                write!(f, "bad CRC-32 (computed {computed:#010x}, stored {received:#010x})")
            }
        }
    }
}

/// An archive error.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// `skipped` octets from `offset` are unreadable; reading resumed after them.
    Damaged {
        /// Offset of the first unreadable octet.
        offset: u64,
        /// Number of octets skipped.
        skipped: u64,
        /// What was wrong at `offset`.
        reason: Damage,
    },
    /// The file ends inside a record (a crash mid-write): `len` octets from `offset`.
    TornTail {
        /// Offset of the incomplete record.
        offset: u64,
        /// Octets present.
        len: u64,
    },
    /// A record to append is longer than [`MAX_OCTETS`].
    TooLong {
        /// The length asked for.
        len: usize,
    },
    /// A system error.
    Io {
        /// What was being done, with the path or offset.
        context: String,
        /// The system error class.
        kind: io::ErrorKind,
        /// The system's message.
        detail: String,
    },
}

impl Error {
    fn io(context: String, e: &io::Error) -> Self {
        Self::Io { context, kind: e.kind(), detail: e.to_string() }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Damaged { offset, skipped, reason } => write!(
                f,
                "archive damaged at offset {offset}: {reason}; skipped {skipped} octets and \
                 resumed at the next intact record"
            ),
            Self::TornTail { offset, len } => write!(
                f,
                "archive ends inside a record at offset {offset} ({len} octets): torn by a crash \
                 mid-write; every record before it is intact"
            ),
            Self::TooLong { len } => {
                write!(f, "record of {len} octets exceeds the {MAX_OCTETS}-octet maximum")
            }
            Self::Io { context, detail, .. } => write!(f, "{context}: {detail}"),
        }
    }
}

impl std::error::Error for Error {}

/// Encodes one record into `out` (cleared first).
///
/// # Errors
///
/// [`Error::TooLong`] when `octets` exceeds [`MAX_OCTETS`].
pub fn encode_record(
    kind: RecordKind,
    source: u8,
    time_ns: i64,
    octets: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    let len = u32::try_from(octets.len())
        .ok()
        .filter(|_| octets.len() <= MAX_OCTETS)
        .ok_or(Error::TooLong { len: octets.len() })?;
    out.clear();
    out.reserve(HEADER_LEN + octets.len() + TRAILER_LEN);
    out.extend_from_slice(&SYNC);
    out.extend_from_slice(&[VERSION, kind.code(), source, 0x00]);
    out.extend_from_slice(&time_ns.to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(octets);
    let crc = crc32(out);
    out.extend_from_slice(&crc.to_be_bytes());
    Ok(())
}

/// Current UTC time in nanoseconds since 1970-01-01 (0 if the clock is before 1970).
pub fn now_utc_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_nanos()).ok())
        .unwrap_or(0)
}

/// How hard [`ArchiveWriter::append`] pushes each record to storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// One `write` per record: in the operating system when `append` returns; survives the
    /// bench crashing, not a power cut.
    #[default]
    Flush,
    /// Also `fsync` each record: survives a power cut, costs a disk round trip per record.
    Sync,
}

/// What [`ArchiveWriter::open`] found in an existing file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OpenReport {
    /// Intact records already in the file.
    pub records: u64,
    /// File length when opened.
    pub len: u64,
    /// Damage found in the file (torn tail included), in file order.
    pub damage: Vec<Error>,
}

/// Appends records to an archive file; never rewrites or truncates it.
#[derive(Debug)]
pub struct ArchiveWriter {
    file: File,
    path: PathBuf,
    durability: Durability,
    scratch: Vec<u8>,
    appended: u64,
}

impl ArchiveWriter {
    /// Opens `path` for appending, creating it if needed, after scanning what it holds.
    ///
    /// If the scan finds damage (typically a tail torn by a crash), a [`RecordKind::Note`]
    /// record describing it is appended first, so new records start on a clean boundary and
    /// the archive itself says where appending resumed.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the file cannot be opened, read or written.
    pub fn open(
        path: impl AsRef<Path>,
        durability: Durability,
    ) -> Result<(Self, OpenReport), Error> {
        let path = path.as_ref().to_path_buf();
        let ctx = |what: &str| format!("{what} archive {}", path.display());
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .read(true)
            .open(&path)
            .map_err(|e| Error::io(ctx("open"), &e))?;
        let mut report = OpenReport::default();
        let scan = File::open(&path).map_err(|e| Error::io(ctx("open"), &e))?;
        for item in ArchiveReader::new(io::BufReader::with_capacity(1 << 16, scan)) {
            match item {
                Ok(_) => report.records += 1,
                Err(e @ Error::Io { .. }) => return Err(e),
                Err(e) => report.damage.push(e),
            }
        }
        report.len = file.metadata().map_err(|e| Error::io(ctx("stat"), &e))?.len();
        let mut writer = Self { file, path, durability, scratch: Vec::new(), appended: 0 };
        if let Some(first) = report.damage.first() {
            let note = format!(
                "appending resumed at offset {} after damage: {first} ({} damaged stretch(es))",
                report.len,
                report.damage.len()
            );
            writer.append_at(now_utc_ns(), RecordKind::Note, SOURCE_TCTM, note.as_bytes())?;
        }
        Ok((writer, report))
    }

    /// The archive's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records appended through this writer (notes included).
    pub fn appended(&self) -> u64 {
        self.appended
    }

    /// Appends `octets`, time-stamped now.
    ///
    /// # Errors
    ///
    /// As [`append_at`](Self::append_at).
    pub fn append(&mut self, kind: RecordKind, source: u8, octets: &[u8]) -> Result<(), Error> {
        self.append_at(now_utc_ns(), kind, source, octets)
    }

    /// Appends `octets` with the given receive time, in one write, then flushes (and syncs
    /// with [`Durability::Sync`]).
    ///
    /// # Errors
    ///
    /// [`Error::TooLong`], or [`Error::Io`] if the write fails (the file may then end with a
    /// torn record, which readers report and skip).
    pub fn append_at(
        &mut self,
        time_ns: i64,
        kind: RecordKind,
        source: u8,
        octets: &[u8],
    ) -> Result<(), Error> {
        let mut rec = std::mem::take(&mut self.scratch);
        let result = encode_record(kind, source, time_ns, octets, &mut rec).and_then(|()| {
            let ctx = || format!("append to archive {}", self.path.display());
            self.file.write_all(&rec).map_err(|e| Error::io(ctx(), &e))?;
            self.file.flush().map_err(|e| Error::io(ctx(), &e))?;
            if self.durability == Durability::Sync {
                self.file.sync_data().map_err(|e| Error::io(ctx(), &e))?;
            }
            Ok(())
        });
        self.scratch = rec;
        if result.is_ok() {
            self.appended += 1;
        }
        result
    }
}

/// What a look at the octets at the read position found.
enum Peek {
    /// An intact record of this total length.
    Record(usize),
    /// A valid beginning of a record cut by the end of the input.
    Incomplete,
    /// Not a record.
    Bad(Damage),
}

/// Reads records from any byte source, reporting damage and carrying on.
///
/// Memory use is bounded by the largest record ([`MAX_OCTETS`]) plus a read buffer.
#[derive(Debug)]
pub struct ArchiveReader<R> {
    src: R,
    buf: Vec<u8>,
    pos: usize,
    /// File offset of `buf[pos]`.
    offset: u64,
    eof: bool,
    done: bool,
}

impl<R: Read> ArchiveReader<R> {
    /// A reader over `src`, starting at offset 0.
    pub fn new(src: R) -> Self {
        Self { src, buf: Vec::new(), pos: 0, offset: 0, eof: false, done: false }
    }

    /// Offset of the next octet to read.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    fn avail(&self) -> &[u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    fn consume(&mut self, n: usize) {
        let n = n.min(self.buf.len().saturating_sub(self.pos));
        self.pos += n;
        self.offset += n as u64;
    }

    /// Reads until `n` octets are available or the input ends.
    fn fill_to(&mut self, n: usize) -> io::Result<()> {
        while self.avail().len() < n && !self.eof {
            if self.pos > 0 {
                self.buf.drain(..self.pos);
                self.pos = 0;
            }
            let old = self.buf.len();
            let want = (n - old).max(1 << 16);
            self.buf.resize(old + want, 0);
            let got = loop {
                match self.src.read(self.buf.get_mut(old..).unwrap_or(&mut [])) {
                    Ok(g) => break Ok(g),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => break Err(e),
                }
            };
            match got {
                Ok(g) => {
                    self.buf.truncate(old + g);
                    self.eof = g == 0;
                }
                Err(e) => {
                    self.buf.truncate(old);
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Looks at the octets at the read position without consuming them.
    fn peek(&mut self) -> io::Result<Peek> {
        self.fill_to(HEADER_LEN)?;
        let head = self.avail();
        let sync_part = head.len().min(SYNC.len());
        if head.get(..sync_part) != SYNC.get(..sync_part) {
            return Ok(Peek::Bad(Damage::BadSync));
        }
        if let Some(&version) = head.get(4)
            && version != VERSION
        {
            return Ok(Peek::Bad(Damage::BadVersion { found: version }));
        }
        let Some(len_field) = head.get(16..20).and_then(|b| <[u8; 4]>::try_from(b).ok()) else {
            return Ok(Peek::Incomplete);
        };
        let len = u32::from_be_bytes(len_field);
        let octets = usize::try_from(len).unwrap_or(usize::MAX);
        if octets > MAX_OCTETS {
            return Ok(Peek::Bad(Damage::TooLong { len }));
        }
        let total = HEADER_LEN + octets + TRAILER_LEN;
        self.fill_to(total)?;
        let rec = self.avail();
        let Some((body, trailer)) = rec.get(..total).and_then(|r| r.split_at_checked(total - 4))
        else {
            return Ok(Peek::Incomplete);
        };
        let received = trailer.try_into().map(u32::from_be_bytes).unwrap_or(0);
        let computed = crc32(body);
        if computed == received {
            Ok(Peek::Record(total))
        } else {
            Ok(Peek::Bad(Damage::BadCrc { computed, received }))
        }
    }

    /// Decodes the intact record of `total` octets at the read position and consumes it.
    fn take_record(&mut self, total: usize) -> Record {
        let rec = self.avail();
        let field = |r: std::ops::Range<usize>| rec.get(r).unwrap_or(&[]);
        let time = field(8..16).try_into().map(i64::from_be_bytes).unwrap_or(0);
        let record = Record {
            offset: self.offset,
            kind: RecordKind::from_code(rec.get(5).copied().unwrap_or(0)),
            source: rec.get(6).copied().unwrap_or(0),
            time_ns: time,
            octets: field(HEADER_LEN..total.saturating_sub(TRAILER_LEN)).to_vec(),
        };
        self.consume(total);
        record
    }

    /// Skips from a damaged record to the next intact record (or the end, or a torn tail).
    fn resync(&mut self, reason: Damage) -> io::Result<Error> {
        let start = self.offset;
        self.consume(1);
        loop {
            self.fill_to(SYNC.len())?;
            let found = self.avail().windows(SYNC.len()).position(|w| w == SYNC);
            match found {
                Some(i) => {
                    self.consume(i);
                    match self.peek()? {
                        Peek::Record(_) | Peek::Incomplete => break,
                        Peek::Bad(_) => self.consume(1),
                    }
                }
                None if self.eof => {
                    // A sync prefix may still sit at the very end: leave it for a torn tail.
                    let keep = (1..SYNC.len())
                        .rev()
                        .find(|&k| self.avail().ends_with(SYNC.get(..k).unwrap_or(&[])))
                        .unwrap_or(0);
                    let skip = self.avail().len() - keep;
                    self.consume(skip);
                    break;
                }
                None => {
                    let skip = self.avail().len().saturating_sub(SYNC.len() - 1);
                    self.consume(skip);
                    // Force a read even if fewer than SYNC.len() octets remain buffered.
                    let want = self.avail().len() + 1;
                    self.fill_to(want)?;
                }
            }
        }
        Ok(Error::Damaged { offset: start, skipped: self.offset - start, reason })
    }

    fn next_item(&mut self) -> io::Result<Option<Result<Record, Error>>> {
        match self.peek()? {
            Peek::Record(total) => Ok(Some(Ok(self.take_record(total)))),
            Peek::Incomplete if self.avail().is_empty() => Ok(None),
            Peek::Incomplete => {
                let err = Error::TornTail { offset: self.offset, len: self.avail().len() as u64 };
                let rest = self.avail().len();
                self.consume(rest);
                self.done = true;
                Ok(Some(Err(err)))
            }
            Peek::Bad(reason) => Ok(Some(Err(self.resync(reason)?))),
        }
    }
}

impl<R: Read> Iterator for ArchiveReader<R> {
    type Item = Result<Record, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_item() {
            Ok(Some(item)) => Some(item),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(Error::io(format!("read archive at offset {}", self.offset), &e)))
            }
        }
    }
}

/// Opens an archive file for reading.
///
/// # Errors
///
/// [`Error::Io`] if the file cannot be opened.
pub fn read_file(path: impl AsRef<Path>) -> Result<ArchiveReader<io::BufReader<File>>, Error> {
    let path = path.as_ref();
    let file =
        File::open(path).map_err(|e| Error::io(format!("open archive {}", path.display()), &e))?;
    Ok(ArchiveReader::new(io::BufReader::with_capacity(1 << 16, file)))
}

/// How long after the first record a record is due in a replay at `speed` times real time
/// (`speed` 2.0 = twice as fast). Records older than the first, a zero, negative or
/// non-finite speed all give zero (as fast as possible).
pub fn replay_delay(first_ns: i64, time_ns: i64, speed: f64) -> Duration {
    if !(speed.is_finite() && speed > 0.0) {
        return Duration::ZERO;
    }
    let gap = time_ns.saturating_sub(first_ns);
    if gap <= 0 {
        return Duration::ZERO;
    }
    let ns = gap as f64 / speed;
    if ns >= u64::MAX as f64 { Duration::MAX } else { Duration::from_nanos(ns as u64) }
}

/// Paces a replay: [`wait_for`](Self::wait_for) sleeps until a record is due.
#[derive(Debug, Clone)]
pub struct ReplayClock {
    speed: f64,
    start: Option<(Instant, i64)>,
}

impl ReplayClock {
    /// A clock replaying at `speed` times real time (see [`replay_delay`]).
    pub fn new(speed: f64) -> Self {
        Self { speed, start: None }
    }

    /// Sleeps until the record received at `time_ns` is due; the first call defines time zero.
    pub fn wait_for(&mut self, time_ns: i64) {
        let (t0, first) = *self.start.get_or_insert((Instant::now(), time_ns));
        let due = t0.checked_add(replay_delay(first, time_ns, self.speed));
        if let Some(wait) = due.map(|d| d.saturating_duration_since(Instant::now())) {
            std::thread::sleep(wait);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_layout() {
        let mut out = Vec::new();
        encode_record(
            RecordKind::Cadu,
            SOURCE_TCTM,
            0x0102_0304_0506_0708,
            &[0xAA, 0xBB],
            &mut out,
        )
        .unwrap();
        assert_eq!(&out[..4], b"EICR");
        assert_eq!(&out[4..8], &[0x01, 0x01, 0x00, 0x00]);
        assert_eq!(&out[8..16], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(&out[16..20], &[0, 0, 0, 2]);
        assert_eq!(&out[20..22], &[0xAA, 0xBB]);
        assert_eq!(u32::from_be_bytes(out[22..26].try_into().unwrap()), crc32(&out[..22]));
    }

    #[test]
    fn too_long_is_refused() {
        let big = vec![0u8; MAX_OCTETS + 1];
        let e = encode_record(RecordKind::Raw, 0, 0, &big, &mut Vec::new()).unwrap_err();
        assert_eq!(e, Error::TooLong { len: MAX_OCTETS + 1 });
    }

    #[test]
    fn kind_codes_round_trip() {
        for c in 0..=255u8 {
            assert_eq!(RecordKind::from_code(c).code(), c);
        }
    }

    #[test]
    fn replay_delay_scales() {
        assert_eq!(replay_delay(0, 1_000_000_000, 1.0), Duration::from_secs(1));
        assert_eq!(replay_delay(0, 1_000_000_000, 4.0), Duration::from_millis(250));
        assert_eq!(replay_delay(10, 5, 1.0), Duration::ZERO);
        assert_eq!(replay_delay(0, 5, 0.0), Duration::ZERO);
        assert_eq!(replay_delay(0, 5, f64::NAN), Duration::ZERO);
        assert_eq!(replay_delay(i64::MIN, i64::MAX, 1e-300), Duration::MAX);
    }
}
