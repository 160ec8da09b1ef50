//! On-disk storage for the twin (feature `std`): a state directory that survives restarts.
//!
//! Layout of the state directory:
//!
//! | file | content |
//! |---|---|
//! | `STATE` | marker: format line and the geometry, written last at creation |
//! | `boot_eeprom.bin`, `bank_a.bin`, `bank_b.bin` | non-volatile regions, exactly their size |
//! | `table_SS_B.bin` | buffer `B` (0/1) of table slot `SS`, exactly the slot's buffer size |
//! | `boot.rec`, `table_SS.rec` | records, exactly [`RECORD_LEN`] octets, absent until written |
//!
//! The RAM patch area is kept in memory only: it is lost when the process stops, like RAM.
//!
//! Region writes go to the file in place (not atomic, as on flash) and are cached in memory;
//! reads are served from the cache. A record write is atomic: every region file written since
//! the last record is first flushed (`fsync`), then the record goes to `name.tmp`, which is
//! flushed and renamed over `name`, and the directory is flushed. A crash leaves either the old
//! or the new record; a stray `.tmp` is removed at the next open.
//!
//! [`FsStorage::open`] creates a fresh, erased state when the directory is missing or empty
//! (or holds only the files of a creation that was interrupted before the marker), re-opens an
//! existing one otherwise, and reports a damaged directory (wrong geometry, missing or
//! mis-sized file, foreign content) as an [`FsError`] without touching it.

use std::boxed::Box;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::string::{String, ToString};
use std::vec::Vec;
use std::{format, vec};

use crate::limits::{RECORD_LEN, TABLE_SLOTS};
use crate::storage::{Bank, Geometry, RecordId, Region, Storage, StorageError, checked_range};

/// Name of the marker file.
pub const MARKER: &str = "STATE";
const MARKER_HEADER: &str = "eclairs-ugts-state 2";
/// The marker of format 1 (one buffer length for every table slot), read to report the
/// geometry of an old state directory.
const MARKER_HEADER_V1: &str = "eclairs-ugts-state 1";
const TMP_SUFFIX: &str = ".tmp";

/// Errors opening a state directory.
#[non_exhaustive]
#[derive(Debug)]
pub enum FsError {
    /// The file system refused an operation.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// The error.
        source: io::Error,
    },
    /// The directory is not empty and holds no state marker: refusing to use it.
    NotAStateDir(PathBuf),
    /// The marker cannot be parsed.
    BadMarker(PathBuf),
    /// The state was created with another geometry.
    GeometryMismatch {
        /// The state directory.
        path: PathBuf,
        /// Geometry in the marker (boxed: a geometry lists every slot's length).
        found: Box<Geometry>,
        /// Geometry asked for.
        expected: Box<Geometry>,
    },
    /// A region file is missing.
    MissingFile(PathBuf),
    /// A region or record file has the wrong size.
    WrongSize {
        /// The file.
        path: PathBuf,
        /// Its size.
        found: u64,
        /// The size it must have.
        expected: u64,
    },
}

impl fmt::Display for FsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FsError::Io { path, op, source } => {
                write!(f, "cannot {op} {}: {source}", path.display())
            }
            FsError::NotAStateDir(p) => write!(
                f,
                "{} is not empty and holds no {MARKER} marker: not a unit state directory",
                p.display()
            ),
            FsError::BadMarker(p) => write!(f, "unreadable state marker {}", p.display()),
            FsError::GeometryMismatch { path, found, expected } => write!(
                f,
                "state directory {} has geometry {found:?}, expected {expected:?}",
                path.display()
            ),
            FsError::MissingFile(p) => write!(f, "state file {} is missing", p.display()),
            FsError::WrongSize { path, found, expected } => {
                write!(f, "state file {} has {found} octets, expected {expected}", path.display())
            }
        }
    }
}

/// The text of [`FsError::Io`] already ends with the system's reason, so it is not exposed
/// again as a source (a chain printer would say it twice).
impl std::error::Error for FsError {}

fn io_err<'p>(path: &'p Path, op: &'static str) -> impl FnOnce(io::Error) -> FsError + 'p {
    move |source| FsError::Io { path: path.to_path_buf(), op, source }
}

fn storage_io(op: &'static str) -> impl FnOnce(io::Error) -> StorageError {
    move |e| StorageError::Io { op, os_code: e.raw_os_error() }
}

/// One region backed by a file.
#[derive(Debug)]
struct RegionFile {
    file: File,
    data: Vec<u8>,
    dirty: bool,
}

/// Whether [`FsStorage::open`] created the state or found it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opened {
    /// A fresh, erased state was created.
    Created,
    /// An existing state was re-opened.
    Reopened,
}

/// The on-disk storage. See the module documentation.
#[derive(Debug)]
pub struct FsStorage {
    dir: PathBuf,
    geometry: Geometry,
    /// Boot EEPROM, bank A, bank B, then table slot `s` buffer `b` at `3 + 2 s + b`.
    regions: Vec<RegionFile>,
    ram: Vec<u8>,
    boot_record: Option<[u8; RECORD_LEN]>,
    table_records: Vec<Option<[u8; RECORD_LEN]>>,
}

fn region_names(geometry: &Geometry) -> Vec<(String, usize)> {
    let mut names = vec![
        (String::from("boot_eeprom.bin"), geometry.boot_eeprom_len),
        (String::from("bank_a.bin"), geometry.bank_len),
        (String::from("bank_b.bin"), geometry.bank_len),
    ];
    for slot in 0..geometry.table_slots {
        let len = geometry.table_buffer_len(slot).unwrap_or(0);
        for buffer in 0..2 {
            names.push((format!("table_{slot:02}_{buffer}.bin"), len));
        }
    }
    names
}

fn record_name(record: RecordId) -> String {
    match record {
        RecordId::BootConfig => String::from("boot.rec"),
        RecordId::TableSlot(slot) => format!("table_{slot:02}.rec"),
    }
}

fn marker_text(g: &Geometry) -> String {
    let lens: Vec<String> =
        (0..g.table_slots).map(|i| g.table_buffer_len(i).unwrap_or(0).to_string()).collect();
    format!(
        "{MARKER_HEADER}\nboot_eeprom_len {}\nbank_len {}\nram_patch_len {}\ntable_slots {}\ntable_buffer_lens {}\n",
        g.boot_eeprom_len,
        g.bank_len,
        g.ram_patch_len,
        g.table_slots,
        lens.join(" ")
    )
}

/// The geometry a marker describes (format 2, or format 1 with one length for every slot).
fn parse_marker(text: &str) -> Option<Geometry> {
    let mut lines = text.lines();
    let v1 = match lines.next()? {
        MARKER_HEADER => false,
        MARKER_HEADER_V1 => true,
        _ => return None,
    };
    let mut field = |name: &str| -> Option<&str> {
        let (key, value) = lines.next()?.split_once(' ')?;
        (key == name).then_some(value)
    };
    let number = |v: &str| v.parse::<usize>().ok();
    let boot_eeprom_len = number(field("boot_eeprom_len")?)?;
    let bank_len = number(field("bank_len")?)?;
    let ram_patch_len = number(field("ram_patch_len")?)?;
    let table_slots = number(field("table_slots")?)?;
    if table_slots > TABLE_SLOTS {
        return None;
    }
    if v1 {
        let len = number(field("table_buffer_len")?)?;
        return Some(Geometry::uniform(boot_eeprom_len, bank_len, ram_patch_len, table_slots, len));
    }
    let mut g = Geometry::uniform(boot_eeprom_len, bank_len, ram_patch_len, table_slots, 0);
    let mut lens = field("table_buffer_lens")?.split(' ').filter(|v| !v.is_empty());
    for dst in g.table_buffer_lens.iter_mut().take(table_slots) {
        *dst = number(lens.next()?)?;
    }
    lens.next().is_none().then_some(g)
}

/// Writes `data` to `dir/name` atomically: temporary file, flush, rename. The caller flushes
/// the directory ([`sync_dir`]) to make the rename durable.
fn write_and_rename(dir: &Path, name: &str, data: &[u8]) -> io::Result<()> {
    let tmp = dir.join(format!("{name}{TMP_SUFFIX}"));
    {
        let mut f = File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, dir.join(name))
}

/// Flushes a directory, which is how a rename is made durable on POSIX. A platform that
/// cannot open a directory as a file gives no such handle; the rename is then as durable as
/// that platform makes it.
fn sync_dir(dir: &Path) -> io::Result<()> {
    match File::open(dir) {
        Ok(d) => d.sync_all(),
        Err(_) => Ok(()),
    }
}

impl FsStorage {
    /// Opens the state directory `dir` with `geometry`, creating a fresh erased state if the
    /// directory is missing or empty.
    ///
    /// # Errors
    /// [`FsError`]: the directory is damaged, foreign, of another geometry, or unreadable.
    pub fn open(dir: impl AsRef<Path>, geometry: Geometry) -> Result<(FsStorage, Opened), FsError> {
        let geometry = geometry.normalized();
        let dir = dir.as_ref().to_path_buf();
        fs::create_dir_all(&dir).map_err(io_err(&dir, "create directory"))?;
        let marker = dir.join(MARKER);
        if marker.exists() {
            Self::reopen(dir, geometry).map(|s| (s, Opened::Reopened))
        } else {
            Self::check_creatable(&dir, &geometry)?;
            Self::create(dir, geometry).map(|s| (s, Opened::Created))
        }
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A directory without marker may be (re)initialised only if it holds nothing but files
    /// this backend writes (an interrupted creation).
    fn check_creatable(dir: &Path, geometry: &Geometry) -> Result<(), FsError> {
        let names = region_names(geometry);
        for entry in fs::read_dir(dir).map_err(io_err(dir, "list"))? {
            let entry = entry.map_err(io_err(dir, "list"))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let base = name.strip_suffix(TMP_SUFFIX).unwrap_or(&name);
            if !names.iter().any(|(n, _)| n == base) && base != MARKER {
                return Err(FsError::NotAStateDir(dir.to_path_buf()));
            }
        }
        Ok(())
    }

    fn create(dir: PathBuf, geometry: Geometry) -> Result<FsStorage, FsError> {
        let mut regions = Vec::new();
        for (name, len) in region_names(&geometry) {
            let path = dir.join(&name);
            let data = vec![0xFF; len];
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&path)
                .map_err(io_err(&path, "create"))?;
            file.write_all(&data).map_err(io_err(&path, "write"))?;
            file.sync_all().map_err(io_err(&path, "flush"))?;
            regions.push(RegionFile { file, data, dirty: false });
        }
        let marker = dir.join(MARKER);
        write_and_rename(&dir, MARKER, marker_text(&geometry).as_bytes())
            .and_then(|()| sync_dir(&dir))
            .map_err(io_err(&marker, "write"))?;
        Ok(FsStorage {
            dir,
            geometry,
            regions,
            ram: vec![0; geometry.ram_patch_len],
            boot_record: None,
            table_records: vec![None; geometry.table_slots],
        })
    }

    fn reopen(dir: PathBuf, geometry: Geometry) -> Result<FsStorage, FsError> {
        let marker = dir.join(MARKER);
        let text = fs::read_to_string(&marker).map_err(io_err(&marker, "read"))?;
        let found = parse_marker(&text).ok_or_else(|| FsError::BadMarker(marker.clone()))?;
        if found != geometry {
            return Err(FsError::GeometryMismatch {
                path: dir,
                found: Box::new(found),
                expected: Box::new(geometry),
            });
        }
        // Leftovers of a record write cut before its rename.
        for entry in fs::read_dir(&dir).map_err(io_err(&dir, "list"))? {
            let entry = entry.map_err(io_err(&dir, "list"))?;
            if entry.file_name().to_string_lossy().ends_with(TMP_SUFFIX) {
                let p = entry.path();
                fs::remove_file(&p).map_err(io_err(&p, "remove"))?;
            }
        }
        let mut regions = Vec::new();
        for (name, len) in region_names(&geometry) {
            let path = dir.join(&name);
            if !path.exists() {
                return Err(FsError::MissingFile(path));
            }
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .map_err(io_err(&path, "open"))?;
            let size = file.metadata().map_err(io_err(&path, "stat"))?.len();
            if size != len as u64 {
                return Err(FsError::WrongSize { path, found: size, expected: len as u64 });
            }
            let mut data = Vec::with_capacity(len);
            file.read_to_end(&mut data).map_err(io_err(&path, "read"))?;
            regions.push(RegionFile { file, data, dirty: false });
        }
        let read_rec = |record: RecordId| -> Result<Option<[u8; RECORD_LEN]>, FsError> {
            let path = dir.join(record_name(record));
            match fs::read(&path) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(io_err(&path, "read")(e)),
                Ok(bytes) => {
                    <[u8; RECORD_LEN]>::try_from(bytes.as_slice()).map(Some).map_err(|_| {
                        FsError::WrongSize {
                            path: path.clone(),
                            found: bytes.len() as u64,
                            expected: RECORD_LEN as u64,
                        }
                    })
                }
            }
        };
        let boot_record = read_rec(RecordId::BootConfig)?;
        let mut table_records = Vec::with_capacity(geometry.table_slots);
        for slot in (0..=u8::MAX).take(geometry.table_slots) {
            table_records.push(read_rec(RecordId::TableSlot(slot))?);
        }
        Ok(FsStorage {
            dir,
            geometry,
            regions,
            ram: vec![0; geometry.ram_patch_len],
            boot_record,
            table_records,
        })
    }

    fn region_index(&self, region: Region) -> Option<usize> {
        match region {
            Region::BootEeprom => Some(0),
            Region::Bank(Bank::A) => Some(1),
            Region::Bank(Bank::B) => Some(2),
            Region::RamPatch => None,
            Region::Table { slot, buffer } => {
                let slot = usize::from(slot);
                (slot < self.geometry.table_slots)
                    .then(|| 3 + 2 * slot + usize::from(buffer.index()))
            }
        }
    }

    fn record_slot(&mut self, record: RecordId) -> Option<&mut Option<[u8; RECORD_LEN]>> {
        match record {
            RecordId::BootConfig => Some(&mut self.boot_record),
            RecordId::TableSlot(slot) => self.table_records.get_mut(usize::from(slot)),
        }
    }
}

impl Storage for FsStorage {
    fn geometry(&self) -> Geometry {
        self.geometry
    }

    fn region(&self, region: Region) -> Result<&[u8], StorageError> {
        if region == Region::RamPatch {
            return Ok(&self.ram);
        }
        self.region_index(region)
            .and_then(|i| self.regions.get(i))
            .map(|r| r.data.as_slice())
            .ok_or(StorageError::NoSuchRegion(region))
    }

    fn write(&mut self, region: Region, offset: usize, data: &[u8]) -> Result<(), StorageError> {
        let range = checked_range(&self.geometry, region, offset, data.len())?;
        let out_of_range =
            StorageError::OutOfRange { region, offset, len: data.len(), capacity: 0 };
        if region == Region::RamPatch {
            self.ram.get_mut(range).ok_or(out_of_range)?.copy_from_slice(data);
            return Ok(());
        }
        let index = self.region_index(region).ok_or(StorageError::NoSuchRegion(region))?;
        let r = self.regions.get_mut(index).ok_or(StorageError::NoSuchRegion(region))?;
        // Mark dirty first: a failed write may still have reached the file.
        r.dirty = true;
        r.file.seek(SeekFrom::Start(offset as u64)).map_err(storage_io("seek region"))?;
        r.file.write_all(data).map_err(storage_io("write region"))?;
        r.data.get_mut(range).ok_or(out_of_range)?.copy_from_slice(data);
        Ok(())
    }

    fn read_record(&self, record: RecordId) -> Result<Option<[u8; RECORD_LEN]>, StorageError> {
        match record {
            RecordId::BootConfig => Ok(self.boot_record),
            RecordId::TableSlot(slot) => self
                .table_records
                .get(usize::from(slot))
                .copied()
                .ok_or(StorageError::NoSuchRecord(record)),
        }
    }

    fn write_record(
        &mut self,
        record: RecordId,
        data: &[u8; RECORD_LEN],
    ) -> Result<(), StorageError> {
        if !self.geometry.has_record(record) {
            return Err(StorageError::NoSuchRecord(record));
        }
        // Ordering: the data a record may point at is durable before the record.
        for r in self.regions.iter_mut().filter(|r| r.dirty) {
            r.file.sync_data().map_err(storage_io("flush region"))?;
            r.dirty = false;
        }
        write_and_rename(&self.dir, &record_name(record), data)
            .map_err(storage_io("write record"))?;
        // The new record is visible from here on, even if the directory flush fails.
        let slot = self.record_slot(record).ok_or(StorageError::NoSuchRecord(record))?;
        *slot = Some(*data);
        sync_dir(&self.dir).map_err(storage_io("flush directory"))
    }

    fn clear_volatile(&mut self) -> Result<(), StorageError> {
        self.ram.fill(0);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Buffer;
    use std::string::ToString;

    const SMALL: Geometry = Geometry::uniform(16, 64, 8, 2, 32);

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "onboard-fs-{name}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn marker_round_trip() {
        assert_eq!(parse_marker(&marker_text(&SMALL)), Some(SMALL));
        assert_eq!(parse_marker(&marker_text(&Geometry::FLIGHT)), Some(Geometry::FLIGHT));
        assert_eq!(parse_marker("garbage"), None);
        assert_eq!(parse_marker(MARKER_HEADER), None);
        let few = marker_text(&SMALL).replace("32 32", "32");
        assert_eq!(parse_marker(&few), None, "one length per slot");
        let many = marker_text(&SMALL).replace("32 32", "32 32 32");
        assert_eq!(parse_marker(&many), None);
    }

    #[test]
    fn per_slot_files_have_their_slot_size() {
        let d = temp_dir("per-slot");
        let mut g = SMALL;
        g.table_buffer_lens[1] = 7;
        let (mut s, _) = FsStorage::open(&d, g).unwrap();
        let r = Region::Table { slot: 1, buffer: Buffer::One };
        assert_eq!(s.region(r).unwrap().len(), 7);
        assert!(matches!(s.write(r, 4, &[0; 4]), Err(StorageError::OutOfRange { .. })));
        assert_eq!(fs::metadata(d.join("table_01_1.bin")).unwrap().len(), 7);
        assert_eq!(fs::metadata(d.join("table_00_1.bin")).unwrap().len(), 32);
        drop(s);
        assert_eq!(FsStorage::open(&d, g).unwrap().1, Opened::Reopened);
        assert!(matches!(FsStorage::open(&d, SMALL), Err(FsError::GeometryMismatch { .. })));
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn old_format_directory_reports_its_geometry() {
        let d = temp_dir("v1");
        fs::create_dir_all(&d).unwrap();
        let v1 = "eclairs-ugts-state 1\nboot_eeprom_len 16\nbank_len 64\nram_patch_len 8\n\
                  table_slots 2\ntable_buffer_len 32\n";
        fs::write(d.join(MARKER), v1).unwrap();
        let e = FsStorage::open(&d, Geometry::FLIGHT).unwrap_err();
        match e {
            FsError::GeometryMismatch { found, .. } => assert_eq!(*found, SMALL),
            e => panic!("{e}"),
        }
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn create_write_reopen() {
        let d = temp_dir("reopen");
        let (mut s, how) = FsStorage::open(&d, SMALL).unwrap();
        assert_eq!(how, Opened::Created);
        assert!(s.region(Region::Bank(Bank::A)).unwrap().iter().all(|&b| b == 0xFF));
        s.write(Region::Bank(Bank::B), 60, &[1, 2, 3, 4]).unwrap();
        s.write(Region::Table { slot: 1, buffer: Buffer::One }, 0, b"tbl").unwrap();
        s.write(Region::RamPatch, 0, &[5; 8]).unwrap();
        s.write_record(RecordId::TableSlot(1), &[9; RECORD_LEN]).unwrap();
        assert!(matches!(
            s.write(Region::Bank(Bank::B), 61, &[0; 4]),
            Err(StorageError::OutOfRange { .. })
        ));
        drop(s);
        let (s, how) = FsStorage::open(&d, SMALL).unwrap();
        assert_eq!(how, Opened::Reopened);
        assert_eq!(&s.region(Region::Bank(Bank::B)).unwrap()[60..], &[1, 2, 3, 4]);
        assert_eq!(&s.region(Region::Table { slot: 1, buffer: Buffer::One }).unwrap()[..3], b"tbl");
        assert_eq!(s.region(Region::RamPatch).unwrap(), &[0; 8], "RAM is volatile");
        assert_eq!(s.read_record(RecordId::TableSlot(1)).unwrap(), Some([9; RECORD_LEN]));
        assert_eq!(s.read_record(RecordId::BootConfig).unwrap(), None);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn damaged_directories_are_errors() {
        let d = temp_dir("damaged");
        FsStorage::open(&d, SMALL).unwrap();
        let other = Geometry { bank_len: 128, ..SMALL };
        assert!(matches!(FsStorage::open(&d, other), Err(FsError::GeometryMismatch { .. })));

        fs::write(d.join("bank_a.bin"), [0u8; 3]).unwrap();
        let e = FsStorage::open(&d, SMALL).unwrap_err();
        assert!(matches!(e, FsError::WrongSize { found: 3, expected: 64, .. }), "{e}");

        fs::remove_file(d.join("bank_a.bin")).unwrap();
        assert!(matches!(FsStorage::open(&d, SMALL), Err(FsError::MissingFile(_))));

        fs::write(d.join("bank_a.bin"), [0u8; 64]).unwrap();
        fs::write(d.join("boot.rec"), [0u8; 5]).unwrap();
        assert!(matches!(FsStorage::open(&d, SMALL), Err(FsError::WrongSize { found: 5, .. })));

        fs::write(d.join(MARKER), "not a marker").unwrap();
        assert!(matches!(FsStorage::open(&d, SMALL), Err(FsError::BadMarker(_))));
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn foreign_directory_is_refused() {
        let d = temp_dir("foreign");
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join("thesis.tex"), "precious").unwrap();
        let e = FsStorage::open(&d, SMALL).unwrap_err();
        assert!(matches!(e, FsError::NotAStateDir(_)));
        assert!(e.to_string().contains("not a unit state directory"));
        assert_eq!(fs::read_to_string(d.join("thesis.tex")).unwrap(), "precious");
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn interrupted_creation_is_redone() {
        let d = temp_dir("interrupted");
        fs::create_dir_all(&d).unwrap();
        fs::write(d.join("bank_a.bin"), [1u8; 10]).unwrap();
        fs::write(d.join("STATE.tmp"), "half").unwrap();
        let (s, how) = FsStorage::open(&d, SMALL).unwrap();
        assert_eq!(how, Opened::Created);
        assert_eq!(s.region(Region::Bank(Bank::A)).unwrap().len(), 64);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn stray_temporary_record_is_ignored() {
        let d = temp_dir("stray");
        let (mut s, _) = FsStorage::open(&d, SMALL).unwrap();
        s.write_record(RecordId::BootConfig, &[1; RECORD_LEN]).unwrap();
        drop(s);
        fs::write(d.join("boot.rec.tmp"), [2u8; 7]).unwrap();
        let (s, _) = FsStorage::open(&d, SMALL).unwrap();
        assert_eq!(s.read_record(RecordId::BootConfig).unwrap(), Some([1; RECORD_LEN]));
        assert!(!d.join("boot.rec.tmp").exists());
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn missing_slots() {
        let d = temp_dir("slots");
        let (mut s, _) = FsStorage::open(&d, SMALL).unwrap();
        let r = Region::Table { slot: 2, buffer: Buffer::Zero };
        assert_eq!(s.region(r), Err(StorageError::NoSuchRegion(r)));
        assert_eq!(s.write(r, 0, &[1]), Err(StorageError::NoSuchRegion(r)));
        assert_eq!(
            s.write_record(RecordId::TableSlot(2), &[0; RECORD_LEN]),
            Err(StorageError::NoSuchRecord(RecordId::TableSlot(2)))
        );
        fs::remove_dir_all(&d).unwrap();
    }
}
