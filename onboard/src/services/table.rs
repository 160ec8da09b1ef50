//! ST\[200\] table management over [`crate::table_store`] and the `tables` crate: segmented
//! loads into the inactive buffer (200,1), validate (200,2), activate (200,3), abort (200,4),
//! dump (200,5 → 200,6 on VC 2), directory (200,7 → 200,8).
//!
//! One slot per table of the registry (`tables::TableId::ALL`, slot `i` = `ALL[i]`), each
//! sized for its table's largest image ([`crate::limits::table_max_image_len`]).
//!
//! Rules (`docs/icd/unit.md` has the failure-code table):
//! - A segment of another version or total length than the load in progress is refused
//!   (`table_load_conflict`, value the version sent): abort first.
//! - Validate: `nothing_to_validate` if the inactive buffer is empty; `table_incomplete` (value
//!   octets received) if segments are missing; `table_crc_mismatch` (value the computed
//!   CRC-32); then the image itself: its header must name this table, carry the version of
//!   the load and declare the loaded length, and the `tables` validator must find no problem,
//!   else `table_invalid` with the first problem in compact form (index = entry or `0xFFFF`,
//!   field = field code, value = problem kind code; for an image that cannot be decoded,
//!   field = the field concerned or 0 and value `0x100` + decode error number). Both raise
//!   `table-validation-failed`; the buffer shows `invalid` until the next segment or abort.
//! - Band dependencies: the CRT, IMT and catalogue validators take a band table. A load is
//!   validated against the band table that will be active: a validated (not yet active)
//!   band table if one waits, else the active one. Activating a CRT, IMT or catalogue checks
//!   it again against the active band table; activating a band table checks every dependent
//!   table that will then be in use (its validated waiting load if any, else its active
//!   image). A failed check refuses the activation with `table_invalid`, subject the
//!   offending table. So a band change that invalidates others goes: load and validate the
//!   new bands and the new dependents, activate the bands, then the dependents.

use tables::bands::BandTable;
use tables::image::{self as timage, ImageHeader};
use tables::{Problem, TableId};
use tc_tm::service::event::EventId;
use tc_tm::service::table::{self as wire, BufferSel, DirectoryEntry, InactiveState};
use tc_tm::service::{FailureCode, List, Report};

use super::dump::{DumpJob, DumpSource};
use super::{Done, Exec, Verif};
use crate::failure::Failure;
use crate::limits::{UNIT_TABLES, table_max_image_len};
use crate::link::Channel;
use crate::storage::{Geometry, Storage};
use crate::table_store::{BufferState, SlotConfig, TableError, TableStore, ValidateError, Which};
use crate::unit::Unit;

/// Volatile per-slot state the store does not keep.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TableMeta {
    /// The last validation of the inactive buffer failed.
    pub invalid: bool,
    /// CRC-32 of the validated inactive image.
    pub validated_crc: u32,
    /// Changes of the slot's buffers (segment, abort, activation), for dump jobs.
    pub generation: u32,
}

/// Why an image was rejected by validation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Reject {
    /// The image cannot be decoded.
    Decode(timage::Error),
    /// The header disagrees with the load: `0x201` version, `0x202` length, `0x203` table.
    Header(u32),
    /// The validator's first problem.
    Problem(Problem),
}

impl Reject {
    /// The `table_invalid` failure data of this rejection (subject `id`).
    pub fn failure(self, id: u8) -> Failure {
        const NONE: u16 = 0xFFFF;
        let subject = u16::from(id);
        let code = FailureCode::TableInvalid;
        match self {
            Reject::Problem(p) => {
                let [_, hi, lo, field, kind] = p.to_bytes();
                Failure::new(code, subject, u16::from_be_bytes([hi, lo]), field.into(), kind.into())
            }
            Reject::Header(v) => Failure::new(code, subject, NONE, 0, v),
            Reject::Decode(e) => {
                let (n, field) = match e {
                    timage::Error::Truncated { .. } => (1, 0),
                    timage::Error::BufferTooSmall { .. } => (2, 0),
                    timage::Error::UnknownTable(_) => (3, 0),
                    timage::Error::WrongTable { .. } => (4, 0),
                    timage::Error::BadFormat { .. } => (5, 0),
                    timage::Error::BadLength { .. } => (6, 0),
                    timage::Error::BadCrc { .. } => (7, 0),
                    timage::Error::Capacity { field, .. } => (8, field as u16),
                    timage::Error::BadValue { field } => (9, field as u16),
                    _ => (0xFF, 0),
                };
                Failure::new(code, subject, NONE, field, 0x100 + n)
            }
        }
    }
}

/// The slot configuration of the unit over a storage of `geometry`: slot `i` holds table
/// `TableId::ALL[i]`, up to its largest image or the slot's buffer length if that is smaller.
pub fn slot_config(geometry: &Geometry) -> [SlotConfig; UNIT_TABLES] {
    let mut slot = 0;
    TableId::ALL.map(|id| {
        let buffer_len = geometry.table_buffer_len(slot).unwrap_or(0);
        slot += 1;
        SlotConfig {
            id: id as u8,
            max_len: u32::try_from(table_max_image_len(id).min(buffer_len)).unwrap_or(u32::MAX),
        }
    })
}

/// Opens the table store over `storage`; `None` if the storage has too few table slots, or
/// one of them has no room.
pub fn open_store<S: Storage>(storage: &S) -> Option<TableStore<UNIT_TABLES>> {
    TableStore::open(storage, slot_config(&storage.geometry())).ok()
}

/// Checks `image` of table `id` (the image a load of `version` delivered) with the `tables`
/// validator against `bands`.
///
/// # Errors
/// The first [`Reject`].
pub fn check_image(
    image: &[u8],
    id: u8,
    version: Option<u16>,
    bands: &BandTable,
) -> Result<(), Reject> {
    let header = ImageHeader::parse(image).map_err(Reject::Decode)?;
    if header.table as u8 != id {
        return Err(Reject::Header(0x203));
    }
    if version.is_some_and(|v| v != header.table_version) {
        return Err(Reject::Header(0x201));
    }
    if header.image_len() != image.len() {
        return Err(Reject::Header(0x202));
    }
    let mut first = None;
    tables::validate_image(image, bands, &mut |p| {
        if first.is_none() {
            first = Some(p);
        }
    })
    .map_err(Reject::Decode)?;
    first.map_or(Ok(()), |p| Err(Reject::Problem(p)))
}

const BANDS: u8 = TableId::Bands as u8;
const DEPENDENTS: [u8; 3] = [TableId::Crt as u8, TableId::Imt as u8, TableId::Catalog as u8];

impl<S: Storage> Unit<S> {
    pub(crate) fn st200(&mut self, v: &mut Verif, r: wire::Request<'_>) -> Exec {
        let id = match r {
            wire::Request::LoadSegment(s) => s.table_id,
            wire::Request::Validate { table_id, .. }
            | wire::Request::Activate { table_id }
            | wire::Request::Abort { table_id }
            | wire::Request::Dump { table_id, .. } => table_id,
            wire::Request::ReportDirectory => return self.report_directory(v),
            _ => return Err(Failure::about(FailureCode::UnknownSubtype, 200 << 8, 0)),
        };
        let unknown = Failure::about(FailureCode::TableIdInvalid, id.into(), 0);
        let entry = self.app.tables.as_ref().ok_or(unknown)?.entry(id).map_err(Failure::from)?;
        let slot = TableId::ALL.iter().position(|&t| t as u8 == id).ok_or(unknown)?;
        match r {
            wire::Request::LoadSegment(s) => {
                let loading = !matches!(entry.inactive.state, BufferState::Empty);
                let same = entry.inactive.version == u32::from(s.version)
                    && entry.inactive.total_len == s.total_len;
                if loading && !same {
                    return Err(Failure::about(
                        FailureCode::TableLoadConflict,
                        id.into(),
                        u32::from(s.version),
                    ));
                }
                let store = self.app.tables.as_mut().ok_or(unknown)?;
                let result = store.load_segment(
                    &mut self.storage,
                    id,
                    u32::from(s.version),
                    s.total_len,
                    s.offset,
                    s.data,
                );
                self.touch(slot);
                result.map_err(Failure::from)?;
                Ok(Done::Completed)
            }
            wire::Request::Validate { expected_crc, .. } => {
                self.validate(v, id, slot, expected_crc)
            }
            wire::Request::Activate { .. } => self.activate(v, id, slot, entry.inactive.state),
            wire::Request::Abort { .. } => {
                let store = self.app.tables.as_mut().ok_or(unknown)?;
                let previous = store.abort(id).map_err(Failure::from)?;
                self.touch(slot);
                if previous != BufferState::Empty {
                    let [a, b, c, d] = entry.inactive.received.to_be_bytes();
                    self.raise(EventId::TableLoadAborted, &[id, a, b, c, d]);
                }
                Ok(Done::Completed)
            }
            wire::Request::Dump { buffer, .. } => {
                let nothing = Failure::about(FailureCode::SegmentOutOfRange, id.into(), 0);
                let (version, total_len) = match buffer {
                    BufferSel::Active => {
                        let a = entry.active.ok_or(nothing)?;
                        (a.version, a.len)
                    }
                    BufferSel::Inactive => {
                        if entry.inactive.state == BufferState::Empty {
                            return Err(nothing);
                        }
                        (entry.inactive.version, entry.inactive.total_len)
                    }
                };
                if self.app.dump.is_some() {
                    return Err(Failure::about(FailureCode::Busy, id.into(), 0));
                }
                self.start(v);
                let generation = self.table_generation(id).unwrap_or(0);
                let source = DumpSource::Table {
                    id,
                    buffer,
                    version: u16::try_from(version).unwrap_or(u16::MAX),
                    total_len,
                    next: 0,
                    generation,
                };
                self.app.dump = Some(DumpJob { verif: *v, step: 0, source });
                Ok(Done::Deferred)
            }
            _ => Err(Failure::about(FailureCode::UnknownSubtype, 200 << 8, 0)),
        }
    }

    fn validate(&mut self, v: &mut Verif, id: u8, slot: usize, expected_crc: u32) -> Exec {
        let subject = u16::from(id);
        let entry = self.entry(id)?;
        match entry.inactive.state {
            BufferState::Empty | BufferState::Active => {
                return Err(Failure::about(FailureCode::NothingToValidate, subject, 0));
            }
            BufferState::Loading => {
                return Err(Failure::about(
                    FailureCode::TableIncomplete,
                    subject,
                    entry.inactive.received,
                ));
            }
            BufferState::Loaded | BufferState::Validated => {}
        }
        self.start(v);
        let bands =
            if DEPENDENTS.contains(&id) { self.upcoming_bands() } else { BandTable::default() };
        let version = u16::try_from(entry.inactive.version).ok();
        let store = self.app.tables.as_mut().ok_or(Failure::internal(200))?;
        let result = store.validate(&self.storage, id, expected_crc, &mut |image: &[u8]| {
            check_image(image, id, version, &bands)
        });
        let meta = self.app.table_meta.get_mut(slot).ok_or(Failure::internal(200))?;
        let failure = match result {
            Ok(()) => {
                meta.invalid = false;
                meta.validated_crc = expected_crc;
                return Ok(Done::Completed);
            }
            Err(ValidateError::Rejected(r)) => r.failure(id),
            Err(ValidateError::Store(e)) => Failure::from(e),
        };
        meta.invalid = true;
        let [a, b] = failure.code.value().to_be_bytes();
        let [c, d] = failure.data.index.to_be_bytes();
        let [e, f] = failure.data.field.to_be_bytes();
        self.raise(EventId::TableValidationFailed, &[id, a, b, c, d, e, f]);
        Err(failure)
    }

    fn activate(&mut self, v: &mut Verif, id: u8, slot: usize, state: BufferState) -> Exec {
        if state != BufferState::Validated {
            let value = match state {
                BufferState::Empty => 0,
                BufferState::Loading => 1,
                BufferState::Loaded => 2,
                BufferState::Validated => 3,
                BufferState::Active => 5,
            };
            return Err(Failure::about(FailureCode::NothingToActivate, id.into(), value));
        }
        self.check_dependencies(id)?;
        self.start(v);
        let store = self.app.tables.as_mut().ok_or(Failure::internal(200))?;
        let result = store.activate(&mut self.storage, id);
        self.touch(slot);
        let active = result.map_err(|e| match e {
            TableError::Storage(s) => Failure::internal(crate::failure::storage_error_value(s)),
            other => Failure::from(other),
        })?;
        if let Some(meta) = self.app.table_meta.get_mut(slot) {
            meta.invalid = false;
            meta.validated_crc = 0;
        }
        let [a, b] = u16::try_from(active.version).unwrap_or(u16::MAX).to_be_bytes();
        let [c, d, e, f] = active.crc32.to_be_bytes();
        self.raise(EventId::TableActivated, &[id, a, b, c, d, e, f]);
        // Every table of the registry drives the trigger: it takes the new set at once.
        self.configure_trigger();
        Ok(Done::Completed)
    }

    /// The band-table rules of the module documentation, for the activation of `id`.
    fn check_dependencies(&self, id: u8) -> Result<(), Failure> {
        let Some(store) = self.app.tables.as_ref() else { return Ok(()) };
        let mut buf = [0u8; tables::bands::MAX_IMAGE_LEN];
        if DEPENDENTS.contains(&id) {
            let bands = self.active_bands();
            let image = self.inactive_image(id)?;
            return check_image(image, id, None, &bands).map_err(|r| r.failure(id));
        }
        if id != BANDS {
            return Ok(());
        }
        let n = store
            .dump(&self.storage, BANDS, Which::Inactive, 0, &mut buf)
            .map_err(Failure::from)?;
        let new_bands = timage::parse::<BandTable>(buf.get(..n).unwrap_or_default())
            .map_err(|e| Reject::Decode(e).failure(BANDS))?;
        for dep in DEPENDENTS {
            let Ok(entry) = store.entry(dep) else { continue };
            let image = if entry.inactive.state == BufferState::Validated {
                self.inactive_image(dep)?
            } else {
                match store.active_image(&self.storage, dep) {
                    Ok((image, _)) => image,
                    Err(_) => continue,
                }
            };
            check_image(image, dep, None, &new_bands).map_err(|r| r.failure(dep))?;
        }
        Ok(())
    }

    /// The loaded image of the inactive buffer of `id` (its announced length).
    fn inactive_image(&self, id: u8) -> Result<&[u8], Failure> {
        let store = self.app.tables.as_ref().ok_or(Failure::internal(200))?;
        let entry = store.entry(id).map_err(Failure::from)?;
        let slot =
            TableId::ALL.iter().position(|&t| t as u8 == id).ok_or(Failure::internal(200))?;
        let region = crate::storage::Region::Table {
            slot: u8::try_from(slot).unwrap_or(u8::MAX),
            buffer: entry.inactive.buffer,
        };
        let bytes = self.storage.region(region).map_err(|_| Failure::internal(200))?;
        let len = usize::try_from(entry.inactive.total_len).unwrap_or(usize::MAX);
        bytes.get(..len).ok_or(Failure::internal(200))
    }

    /// The active band table (an empty one if none is active or it does not decode).
    fn active_bands(&self) -> BandTable {
        self.app
            .tables
            .as_ref()
            .and_then(|s| s.active_image(&self.storage, BANDS).ok())
            .and_then(|(image, _)| timage::parse::<BandTable>(image).ok())
            .unwrap_or_default()
    }

    /// The band table that will be active: a validated waiting load, else the active one.
    fn upcoming_bands(&self) -> BandTable {
        let validated = self
            .app
            .tables
            .as_ref()
            .and_then(|s| s.entry(BANDS).ok())
            .is_some_and(|e| e.inactive.state == BufferState::Validated);
        if validated
            && let Ok(image) = self.inactive_image(BANDS)
            && let Ok(bands) = timage::parse::<BandTable>(image)
        {
            return bands;
        }
        self.active_bands()
    }

    fn entry(&self, id: u8) -> Result<crate::table_store::DirEntry, Failure> {
        let unknown = Failure::about(FailureCode::TableIdInvalid, id.into(), 0);
        self.app.tables.as_ref().ok_or(unknown)?.entry(id).map_err(Failure::from)
    }

    /// Records a change of a slot's buffers (interrupts a dump of it).
    fn touch(&mut self, slot: usize) {
        if let Some(meta) = self.app.table_meta.get_mut(slot) {
            meta.generation = meta.generation.wrapping_add(1);
            meta.invalid = false;
        }
    }

    /// The change count of table `id`'s slot.
    pub(crate) fn table_generation(&self, id: u8) -> Option<u32> {
        let slot = TableId::ALL.iter().position(|&t| t as u8 == id)?;
        self.app.table_meta.get(slot).map(|m| m.generation)
    }

    fn report_directory(&mut self, v: &mut Verif) -> Exec {
        let entries = self.table_directory();
        let mut items = [DirectoryEntry::default(); UNIT_TABLES];
        let mut n = 0;
        for (dst, e) in items.iter_mut().zip(entries.iter().flatten()) {
            *dst = *e;
            n += 1;
        }
        let mut buf = [0u8; UNIT_TABLES * 26];
        let list = List::encode_into(items.get(..n).unwrap_or_default(), &mut buf)
            .map_err(|_| Failure::internal(200))?;
        self.start(v);
        self.send(Channel::Hk, v.dest, &Report::Table(wire::Report::Directory(list)));
        Ok(Done::Completed)
    }

    /// The table directory as ST\[200,8\] and housekeeping show it, one entry per slot.
    pub fn table_directory(&self) -> [Option<DirectoryEntry>; UNIT_TABLES] {
        let mut out = [None; UNIT_TABLES];
        let Some(store) = self.app.tables.as_ref() else { return out };
        for ((dst, e), meta) in out.iter_mut().zip(store.directory()).zip(&self.app.table_meta) {
            let (active_version, active_crc, active_len) =
                e.active.map_or((0, 0, 0), |a| (a.version, a.crc32, a.len));
            let inactive_state = match e.inactive.state {
                BufferState::Empty | BufferState::Active => InactiveState::Empty,
                BufferState::Loading => InactiveState::Loading,
                BufferState::Loaded if meta.invalid => InactiveState::Invalid,
                BufferState::Loaded => InactiveState::Loaded,
                BufferState::Validated => InactiveState::Validated,
            };
            let validated = e.inactive.state == BufferState::Validated;
            *dst = Some(DirectoryEntry {
                table_id: e.id,
                active_version: u16::try_from(active_version).unwrap_or(u16::MAX),
                active_crc,
                active_len,
                inactive_state,
                inactive_version: u16::try_from(e.inactive.version).unwrap_or(u16::MAX),
                inactive_crc: if validated { meta.validated_crc } else { 0 },
                inactive_len: e.inactive.total_len,
                inactive_received: e.inactive.received,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_sized_per_table() {
        let config = slot_config(&Geometry::FLIGHT);
        assert_eq!(config[0].max_len as usize, tables::MAX_IMAGE_LEN);
        assert_eq!(config[1].max_len as usize, tables::bands::MAX_IMAGE_LEN);
        for (c, id) in config.iter().zip(TableId::ALL) {
            assert_eq!((c.id, c.max_len as usize), (id as u8, id.max_image_len()));
        }
        let small = slot_config(&Geometry::uniform(1, 1, 1, 8, 100));
        assert!(small.iter().all(|c| c.max_len <= 100));
        let missing = slot_config(&Geometry::uniform(1, 1, 1, 3, 100));
        assert_eq!(missing[3].max_len, 0, "no slot: refused by the store");
    }

    #[test]
    fn default_images_fit_their_slots() {
        let set = tables::defaults::default_set();
        for id in TableId::ALL {
            let image = set.image(id).unwrap();
            assert!(image.len() <= table_max_image_len(id), "{id}: {}", image.len());
            check_image(&image, id as u8, None, &set.bands).unwrap();
        }
    }

    #[test]
    fn problem_failure_data_is_the_compact_form() {
        let mut bands = tables::defaults::default_set().bands.clone();
        bands.bands.clear();
        let mut buf = [0u8; tables::bands::MAX_IMAGE_LEN];
        let n = timage::emit(&bands, &mut buf).unwrap();
        let r = check_image(&buf[..n], BANDS, None, &BandTable::default()).unwrap_err();
        let f = r.failure(BANDS);
        assert_eq!(f.code, FailureCode::TableInvalid);
        assert_eq!(f.data.subject, 2);
        let Reject::Problem(p) = r else { panic!("{r:?}") };
        let b = p.to_bytes();
        assert_eq!(f.data.field, u16::from(b[3]));
        assert_eq!(f.data.value, u32::from(b[4]));
    }
}
