//! The double-buffered table store (ST\[200\] table management).
//!
//! The store has `N` slots, each configured with a table ID ([`SlotConfig`]) and owning two
//! buffers in the [`Storage`]. At any time one buffer may hold the *active* table (the one the
//! unit uses) and the other receives a new load:
//!
//! ```text
//!            load_segment            (complete)           validate             activate
//!   Empty ─────────────────► Loading ──────────► Loaded ───────────► Validated ────────► Active
//!     ▲      (new version /    │ ▲  load_segment   │ ▲  CRC or validator  │   (one record write;
//!     │       length restarts) └─┘                 │ └─── refused ────────┘    the old active
//!     └──────────────────────── abort / reset ─────┴──────────────────────┘    buffer → Empty)
//! ```
//!
//! - **Loading** ([`TableStore::load_segment`]): segments carry the table version and the total
//!   image length. The first segment of a load (or one whose version or total length differs
//!   from the load in progress) starts a new load into the inactive buffer, discarding the
//!   previous one. Segments may arrive in any order; a repeated or overlapping segment
//!   overwrites the octets it covers (the last write wins: the CRC check at validation decides).
//!   The store tracks the received octet ranges (at most
//!   [`MAX_LOAD_RANGES`] disjoint ranges); the load is complete
//!   when they cover `0..total_len`. A segment that does not fit `total_len`, an empty segment,
//!   or a `total_len` of 0 or above the slot's maximum is refused without touching the buffer.
//!   A storage failure during a segment write abandons the load.
//! - **Validation** ([`TableStore::validate`]): the load must be complete; the CRC-32 of the
//!   received image must equal the one the ground sent; then the caller's validator (the
//!   `tables` crate's, the same one the ground uses) must accept the image.
//! - **Activation** ([`TableStore::activate`]): only a validated buffer; the CRC is checked once
//!   more, then one atomic record write (the slot's directory record: active buffer, version,
//!   length, CRC) switches the active table.
//!
//! **Persistence.** Only the directory records persist: the active table is exactly what its
//! record says. Load progress (ranges, Validated state) is volatile: after a reset the inactive
//! buffer is Empty and the load must be sent again. Loads write only the inactive buffer, which
//! no record points at, so an interrupted or refused load never changes the active table. At
//! [`TableStore::open`] each active table's CRC is checked against its record; a mismatch (or
//! a corrupted record) drops that active table and is reported as a [`SlotFault`].
//!
//! Directory record ([`RECORD_LEN`] octets, big-endian): magic `TBLE` (4), format 1 (1), table
//! ID (1), active buffer (1), reserved 0 (1), version (4), image length (4), image CRC-32 (4),
//! 8 reserved zeros, CRC-32 of octets 0..28 (4).

use core::fmt;

use heapless::Vec;
use tc_tm::crc::{Crc32Digest, crc32};

use crate::limits::{CRC_CHUNK_LEN, MAX_LOAD_RANGES, RECORD_LEN};
use crate::storage::{Buffer, RecordId, Region, Storage, StorageError};

const RECORD_MAGIC: [u8; 4] = *b"TBLE";
const RECORD_FORMAT: u8 = 1;
const CRC_OFFSET: usize = RECORD_LEN - 4;

/// The configuration of one slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotConfig {
    /// The table ID the slot holds.
    pub id: u8,
    /// The largest image the slot accepts, in octets (at most the storage's table buffer
    /// length).
    pub max_len: u32,
}

/// State of a table buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BufferState {
    /// Nothing loaded.
    Empty,
    /// Some segments received, not all.
    Loading,
    /// Every octet received, not validated.
    Loaded,
    /// Complete, CRC and content checked; can be activated.
    Validated,
    /// The active table.
    Active,
}

impl fmt::Display for BufferState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BufferState::Empty => "empty",
            BufferState::Loading => "loading",
            BufferState::Loaded => "loaded",
            BufferState::Validated => "validated",
            BufferState::Active => "active",
        })
    }
}

/// Which buffer of a slot to dump.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    /// The active table.
    Active,
    /// The buffer being loaded (any state but Empty).
    Inactive,
}

/// The active table of a slot, as its directory record says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ActiveTable {
    /// The buffer holding it.
    pub buffer: Buffer,
    /// Table version.
    pub version: u32,
    /// Image length in octets.
    pub len: u32,
    /// CRC-32/ISO-HDLC of the image.
    pub crc32: u32,
}

/// The load in progress in the inactive buffer of a slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LoadInfo {
    /// The inactive buffer.
    pub buffer: Buffer,
    /// Its state (never [`BufferState::Active`]).
    pub state: BufferState,
    /// Version being loaded (0 when Empty).
    pub version: u32,
    /// Total image length announced (0 when Empty).
    pub total_len: u32,
    /// Distinct octets received so far.
    pub received: u32,
}

/// An anomaly found when the store was opened; the slot then has no active table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SlotFault {
    /// The directory record does not check (magic, format, CRC, buffer index).
    CorruptRecord,
    /// The record belongs to another table ID (the slot configuration changed).
    ForeignRecord {
        /// The table ID in the record.
        found: u8,
    },
    /// The recorded length exceeds the slot's maximum.
    RecordTooLong {
        /// Length in the record.
        len: u32,
    },
    /// The active buffer's content does not match the recorded CRC.
    ActiveCrcMismatch {
        /// CRC of the buffer.
        computed: u32,
        /// CRC in the record.
        expected: u32,
    },
}

/// One slot as the directory report shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DirEntry {
    /// Table ID.
    pub id: u8,
    /// Largest image accepted.
    pub max_len: u32,
    /// The active table, if any.
    pub active: Option<ActiveTable>,
    /// The inactive buffer.
    pub inactive: LoadInfo,
    /// An anomaly found at open, if any.
    pub fault: Option<SlotFault>,
}

/// Errors of the table store, for the services layer to map to PUS failure codes.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableError {
    /// No slot holds this table ID.
    UnknownTable(u8),
    /// The announced total length is 0 or above the slot's maximum.
    LengthOutOfRange {
        /// Table ID.
        id: u8,
        /// Announced length.
        total_len: u32,
        /// The slot's maximum.
        max_len: u32,
    },
    /// A segment with no data.
    EmptySegment(u8),
    /// The segment does not fit in `0..total_len`.
    SegmentOutOfRange {
        /// Table ID.
        id: u8,
        /// Segment offset.
        offset: u32,
        /// Segment length.
        len: usize,
        /// Announced total length.
        total_len: u32,
    },
    /// The segment would leave more gaps than the store tracks: send the load in order.
    TooFragmented(u8),
    /// Nothing is being loaded in this slot.
    NoLoad(u8),
    /// Validation of a load that is not complete.
    Incomplete {
        /// Table ID.
        id: u8,
        /// Distinct octets received.
        received: u32,
        /// Announced total length.
        total_len: u32,
    },
    /// The image CRC-32 is not the expected one.
    CrcMismatch {
        /// Table ID.
        id: u8,
        /// CRC of the received image.
        computed: u32,
        /// CRC expected.
        expected: u32,
    },
    /// Activation of a buffer that is not validated.
    NotValidated {
        /// Table ID.
        id: u8,
        /// The buffer's state.
        state: BufferState,
    },
    /// The slot has no active table.
    NoActiveTable(u8),
    /// A dump offset at or beyond the end of the image.
    OffsetOutOfRange {
        /// Table ID.
        id: u8,
        /// Offset requested.
        offset: u32,
        /// Image length.
        len: u32,
    },
    /// Two slots are configured with the same table ID.
    DuplicateId(u8),
    /// More slots configured than the storage has.
    TooManySlots {
        /// Slots configured.
        configured: usize,
        /// Slots in the storage.
        available: usize,
    },
    /// A slot's maximum length is 0 or exceeds the buffers of its storage slot.
    BadMaxLen {
        /// Table ID.
        id: u8,
        /// Configured maximum.
        max_len: u32,
        /// Length of the buffers of the slot in the storage.
        buffer_len: usize,
    },
    /// The storage failed.
    Storage(StorageError),
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TableError::UnknownTable(id) => write!(f, "unknown table ID {id}"),
            TableError::LengthOutOfRange { id, total_len, max_len } => {
                write!(f, "table {id}: length {total_len} octets outside 1..={max_len}")
            }
            TableError::EmptySegment(id) => write!(f, "table {id}: empty segment"),
            TableError::SegmentOutOfRange { id, offset, len, total_len } => write!(
                f,
                "table {id}: segment of {len} octets at offset {offset} exceeds length {total_len}"
            ),
            TableError::TooFragmented(id) => {
                write!(f, "table {id}: too many gaps in the load, send segments in order")
            }
            TableError::NoLoad(id) => write!(f, "table {id}: nothing loaded"),
            TableError::Incomplete { id, received, total_len } => {
                write!(f, "table {id}: load incomplete, {received} of {total_len} octets")
            }
            TableError::CrcMismatch { id, computed, expected } => {
                write!(f, "table {id}: image CRC-32 0x{computed:08X}, expected 0x{expected:08X}")
            }
            TableError::NotValidated { id, state } => {
                write!(f, "table {id}: buffer is {state}, not validated")
            }
            TableError::NoActiveTable(id) => write!(f, "table {id}: no active table"),
            TableError::OffsetOutOfRange { id, offset, len } => {
                write!(f, "table {id}: offset {offset} beyond image of {len} octets")
            }
            TableError::DuplicateId(id) => write!(f, "table ID {id} configured twice"),
            TableError::TooManySlots { configured, available } => {
                write!(f, "{configured} table slots configured, storage has {available}")
            }
            TableError::BadMaxLen { id, max_len, buffer_len } => {
                write!(f, "table {id}: maximum length {max_len} outside 1..={buffer_len}")
            }
            TableError::Storage(e) => write!(f, "table storage: {e}"),
        }
    }
}

impl core::error::Error for TableError {}

impl From<StorageError> for TableError {
    fn from(e: StorageError) -> Self {
        TableError::Storage(e)
    }
}

/// Errors of [`TableStore::validate`]: the store's own checks, or the caller's validator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValidateError<V> {
    /// A store check failed (incomplete load, CRC, storage).
    Store(TableError),
    /// The validator rejected the image.
    Rejected(V),
}

impl<V: fmt::Display> fmt::Display for ValidateError<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValidateError::Store(e) => write!(f, "{e}"),
            ValidateError::Rejected(v) => write!(f, "table rejected by validator: {v}"),
        }
    }
}

impl<V: fmt::Debug + fmt::Display> core::error::Error for ValidateError<V> {}

impl<V> From<TableError> for ValidateError<V> {
    fn from(e: TableError) -> Self {
        ValidateError::Store(e)
    }
}

type Ranges = Vec<(u32, u32), MAX_LOAD_RANGES>;

/// A load in progress (volatile).
#[derive(Clone, Debug)]
struct Load {
    state: BufferState,
    version: u32,
    total_len: u32,
    /// Received octets: sorted, disjoint, non-adjacent half-open ranges.
    ranges: Ranges,
    /// CRC-32 of the image when it was validated (meaningful in Validated only).
    crc32: u32,
}

impl Load {
    const EMPTY: Load =
        Load { state: BufferState::Empty, version: 0, total_len: 0, ranges: Vec::new(), crc32: 0 };

    fn received(&self) -> u32 {
        self.ranges.iter().map(|&(a, b)| b.saturating_sub(a)).fold(0, u32::saturating_add)
    }

    fn is_complete(&self) -> bool {
        self.ranges.as_slice() == [(0, self.total_len)]
    }
}

/// Merges `[start, end)` into `ranges`; `None` if the result needs more than the capacity.
fn merge(ranges: &Ranges, start: u32, end: u32) -> Option<Ranges> {
    let mut out = Ranges::new();
    let (mut s, mut e) = (start, end);
    let mut placed = false;
    for &(a, b) in ranges {
        if b < s {
            out.push((a, b)).ok()?;
        } else if a > e {
            if !placed {
                out.push((s, e)).ok()?;
                placed = true;
            }
            out.push((a, b)).ok()?;
        } else {
            s = s.min(a);
            e = e.max(b);
        }
    }
    if !placed {
        out.push((s, e)).ok()?;
    }
    Some(out)
}

#[derive(Clone, Debug)]
struct Slot {
    config: SlotConfig,
    active: Option<ActiveTable>,
    load: Load,
    fault: Option<SlotFault>,
}

impl Slot {
    fn inactive_buffer(&self) -> Buffer {
        self.active.map_or(Buffer::Zero, |a| a.buffer.other())
    }

    fn load_info(&self) -> LoadInfo {
        LoadInfo {
            buffer: self.inactive_buffer(),
            state: self.load.state,
            version: self.load.version,
            total_len: self.load.total_len,
            received: self.load.received(),
        }
    }

    fn entry(&self) -> DirEntry {
        DirEntry {
            id: self.config.id,
            max_len: self.config.max_len,
            active: self.active,
            inactive: self.load_info(),
            fault: self.fault,
        }
    }
}

/// Encodes a directory record.
fn encode_record(id: u8, active: &ActiveTable) -> [u8; RECORD_LEN] {
    let mut rec = [0u8; RECORD_LEN];
    let (body, crc) = rec.split_at_mut(CRC_OFFSET);
    let fields = [
        &RECORD_MAGIC[..],
        &[RECORD_FORMAT, id, active.buffer.index(), 0],
        &active.version.to_be_bytes(),
        &active.len.to_be_bytes(),
        &active.crc32.to_be_bytes(),
    ];
    let mut at = 0;
    for f in fields {
        if let Some(dst) = body.get_mut(at..at + f.len()) {
            dst.copy_from_slice(f);
        }
        at += f.len();
    }
    crc.copy_from_slice(&crc32(body).to_be_bytes());
    rec
}

/// Decodes a directory record into (table ID, active table); `None` if it does not check.
fn decode_record(rec: &[u8; RECORD_LEN]) -> Option<(u8, ActiveTable)> {
    let (body, crc) = rec.split_at_checked(CRC_OFFSET)?;
    if crc32(body).to_be_bytes() != crc {
        return None;
    }
    let be32 = |at: usize| -> Option<u32> {
        Some(u32::from_be_bytes(body.get(at..at + 4)?.try_into().ok()?))
    };
    if body.get(..4)? != RECORD_MAGIC || *body.get(4)? != RECORD_FORMAT || *body.get(7)? != 0 {
        return None;
    }
    if body.get(20..)?.iter().any(|&b| b != 0) {
        return None;
    }
    let id = *body.get(5)?;
    let buffer = Buffer::from_index(*body.get(6)?)?;
    Some((id, ActiveTable { buffer, version: be32(8)?, len: be32(12)?, crc32: be32(16)? }))
}

/// CRC-32 of the first `len` octets of a table buffer.
fn buffer_crc<S: Storage + ?Sized>(
    storage: &S,
    region: Region,
    len: u32,
) -> Result<Option<u32>, StorageError> {
    let bytes = storage.region(region)?;
    let Some(image) = usize::try_from(len).ok().and_then(|n| bytes.get(..n)) else {
        return Ok(None);
    };
    let mut digest = Crc32Digest::new();
    for chunk in image.chunks(CRC_CHUNK_LEN) {
        digest.update(chunk);
    }
    Ok(Some(digest.finalize()))
}

/// The double-buffered table store of `N` slots. It holds only the volatile bookkeeping; the
/// buffers and records live in the [`Storage`] passed to each operation (always the same one).
#[derive(Clone, Debug)]
pub struct TableStore<const N: usize> {
    slots: [Slot; N],
}

impl<const N: usize> TableStore<N> {
    /// Opens the store over `storage` with one slot per entry of `config` (slot `i` uses the
    /// storage's table slot `i`), reading and checking every directory record.
    ///
    /// # Errors
    /// [`TableError::TooManySlots`], [`TableError::DuplicateId`], [`TableError::BadMaxLen`] for a
    /// bad configuration; [`TableError::Storage`]. Damaged records are not errors: they are
    /// reported per slot as [`SlotFault`]s.
    pub fn open<S: Storage + ?Sized>(
        storage: &S,
        config: [SlotConfig; N],
    ) -> Result<Self, TableError> {
        let geometry = storage.geometry();
        let available = geometry.table_slots.min(usize::from(u8::MAX) + 1);
        if N > available {
            return Err(TableError::TooManySlots { configured: N, available });
        }
        for (i, c) in config.iter().enumerate() {
            if config.iter().skip(i + 1).any(|d| d.id == c.id) {
                return Err(TableError::DuplicateId(c.id));
            }
            let buffer_len = geometry.table_buffer_len(i).unwrap_or(0);
            let fits = usize::try_from(c.max_len).is_ok_and(|n| n <= buffer_len);
            if c.max_len == 0 || !fits {
                return Err(TableError::BadMaxLen { id: c.id, max_len: c.max_len, buffer_len });
            }
        }
        let mut slots =
            config.map(|config| Slot { config, active: None, load: Load::EMPTY, fault: None });
        for (index, slot) in (0u8..=u8::MAX).zip(slots.iter_mut()) {
            let Some(rec) = storage.read_record(RecordId::TableSlot(index))? else {
                continue;
            };
            let Some((id, active)) = decode_record(&rec) else {
                slot.fault = Some(SlotFault::CorruptRecord);
                continue;
            };
            if id != slot.config.id {
                slot.fault = Some(SlotFault::ForeignRecord { found: id });
                continue;
            }
            if active.len == 0 || active.len > slot.config.max_len {
                slot.fault = Some(SlotFault::RecordTooLong { len: active.len });
                continue;
            }
            let region = Region::Table { slot: index, buffer: active.buffer };
            match buffer_crc(storage, region, active.len)? {
                Some(c) if c == active.crc32 => slot.active = Some(active),
                computed => {
                    slot.fault = Some(SlotFault::ActiveCrcMismatch {
                        computed: computed.unwrap_or(0),
                        expected: active.crc32,
                    });
                }
            }
        }
        Ok(TableStore { slots })
    }

    fn slot(&self, id: u8) -> Result<(u8, &Slot), TableError> {
        (0u8..=u8::MAX)
            .zip(self.slots.iter())
            .find(|(_, s)| s.config.id == id)
            .ok_or(TableError::UnknownTable(id))
    }

    fn slot_mut(&mut self, id: u8) -> Result<(u8, &mut Slot), TableError> {
        (0u8..=u8::MAX)
            .zip(self.slots.iter_mut())
            .find(|(_, s)| s.config.id == id)
            .ok_or(TableError::UnknownTable(id))
    }

    /// Writes one segment of version `version` of table `id` (image of `total_len` octets) at
    /// `offset` into the inactive buffer. See the module documentation for restart, order and
    /// duplicate semantics.
    ///
    /// # Errors
    /// [`TableError::UnknownTable`], [`TableError::LengthOutOfRange`],
    /// [`TableError::EmptySegment`], [`TableError::SegmentOutOfRange`],
    /// [`TableError::TooFragmented`] (the load is unchanged), [`TableError::Storage`] (the load
    /// is abandoned).
    pub fn load_segment<S: Storage + ?Sized>(
        &mut self,
        storage: &mut S,
        id: u8,
        version: u32,
        total_len: u32,
        offset: u32,
        data: &[u8],
    ) -> Result<LoadInfo, TableError> {
        let (index, slot) = self.slot_mut(id)?;
        let max_len = slot.config.max_len;
        if total_len == 0 || total_len > max_len {
            return Err(TableError::LengthOutOfRange { id, total_len, max_len });
        }
        if data.is_empty() {
            return Err(TableError::EmptySegment(id));
        }
        let out_of_range = TableError::SegmentOutOfRange { id, offset, len: data.len(), total_len };
        let end = u32::try_from(data.len())
            .ok()
            .and_then(|n| offset.checked_add(n))
            .filter(|&end| end <= total_len)
            .ok_or(out_of_range)?;
        let restart = slot.load.state == BufferState::Empty
            || slot.load.version != version
            || slot.load.total_len != total_len;
        let base = if restart { Ranges::new() } else { slot.load.ranges.clone() };
        let ranges = merge(&base, offset, end).ok_or(TableError::TooFragmented(id))?;
        let region = Region::Table { slot: index, buffer: slot.inactive_buffer() };
        // From here the buffer changes: a failure leaves it undefined, so the load is dropped.
        slot.load = Load::EMPTY;
        let start = usize::try_from(offset).map_err(|_| out_of_range)?;
        storage.write(region, start, data)?;
        slot.load = Load { state: BufferState::Loading, version, total_len, ranges, crc32: 0 };
        if slot.load.is_complete() {
            slot.load.state = BufferState::Loaded;
        }
        Ok(slot.load_info())
    }

    /// Validates the complete load of table `id`: CRC-32 of the image against
    /// `expected_crc32`, then `validator` on the image. On success the buffer is Validated.
    ///
    /// # Errors
    /// [`ValidateError::Store`] with [`TableError::UnknownTable`], [`TableError::NoLoad`],
    /// [`TableError::Incomplete`], [`TableError::CrcMismatch`] or [`TableError::Storage`];
    /// [`ValidateError::Rejected`] with the validator's error. The buffer then stays Loaded.
    pub fn validate<S: Storage + ?Sized, V>(
        &mut self,
        storage: &S,
        id: u8,
        expected_crc32: u32,
        validator: &mut dyn FnMut(&[u8]) -> Result<(), V>,
    ) -> Result<(), ValidateError<V>> {
        let (index, slot) = self.slot_mut(id)?;
        let load = &mut slot.load;
        match load.state {
            BufferState::Empty | BufferState::Active => return Err(TableError::NoLoad(id).into()),
            BufferState::Loading => {
                return Err(TableError::Incomplete {
                    id,
                    received: load.received(),
                    total_len: load.total_len,
                }
                .into());
            }
            BufferState::Loaded | BufferState::Validated => {}
        }
        load.state = BufferState::Loaded;
        let buffer = slot.active.map_or(Buffer::Zero, |a| a.buffer.other());
        let region = Region::Table { slot: index, buffer };
        let bytes = storage.region(region).map_err(TableError::Storage)?;
        let image = usize::try_from(load.total_len)
            .ok()
            .and_then(|n| bytes.get(..n))
            .ok_or(TableError::NoLoad(id))?;
        let computed = crc32(image);
        if computed != expected_crc32 {
            return Err(TableError::CrcMismatch { id, computed, expected: expected_crc32 }.into());
        }
        validator(image).map_err(ValidateError::Rejected)?;
        load.state = BufferState::Validated;
        load.crc32 = computed;
        Ok(())
    }

    /// Makes the validated buffer of table `id` the active table, with one atomic record
    /// write. The previous active buffer becomes the (Empty) inactive buffer.
    ///
    /// # Errors
    /// [`TableError::UnknownTable`], [`TableError::NotValidated`], [`TableError::CrcMismatch`]
    /// (the buffer changed since validation; it goes back to Loaded), [`TableError::Storage`]
    /// (the record was not written: the active table is unchanged).
    pub fn activate<S: Storage + ?Sized>(
        &mut self,
        storage: &mut S,
        id: u8,
    ) -> Result<ActiveTable, TableError> {
        let (index, slot) = self.slot_mut(id)?;
        if slot.load.state != BufferState::Validated {
            return Err(TableError::NotValidated { id, state: slot.load.state });
        }
        let buffer = slot.inactive_buffer();
        let region = Region::Table { slot: index, buffer };
        let len = slot.load.total_len;
        let computed = buffer_crc(storage, region, len)?.ok_or(TableError::NoLoad(id))?;
        // Nothing may have changed the buffer since validation: check again before commit.
        let expected = slot.load.crc32;
        if computed != expected {
            slot.load.state = BufferState::Loaded;
            return Err(TableError::CrcMismatch { id, computed, expected });
        }
        let active = ActiveTable { buffer, version: slot.load.version, len, crc32: computed };
        let record = RecordId::TableSlot(index);
        if let Err(e) = storage.write_record(record, &encode_record(id, &active)) {
            // A backend may fail after the record became visible (e.g. the directory flush after
            // the rename): follow what it holds now, so that the next load never writes into a
            // buffer a record points at.
            if let Ok(Some(rec)) = storage.read_record(record)
                && decode_record(&rec) == Some((id, active))
            {
                slot.active = Some(active);
                slot.fault = None;
                slot.load = Load::EMPTY;
            }
            return Err(e.into());
        }
        slot.active = Some(active);
        slot.fault = None;
        slot.load = Load::EMPTY;
        Ok(active)
    }

    /// Abandons the load of table `id`; the inactive buffer becomes Empty. The active table is
    /// untouched. Returns the state the load was in.
    ///
    /// # Errors
    /// [`TableError::UnknownTable`].
    pub fn abort(&mut self, id: u8) -> Result<BufferState, TableError> {
        let (_, slot) = self.slot_mut(id)?;
        let previous = slot.load.state;
        slot.load = Load::EMPTY;
        Ok(previous)
    }

    /// Copies octets of table `id` starting at `offset` into `out`, from the active table or
    /// from the buffer being loaded (its announced length). Returns the number of octets
    /// copied: `out.len()`, or fewer at the end of the image.
    ///
    /// # Errors
    /// [`TableError::UnknownTable`], [`TableError::NoActiveTable`], [`TableError::NoLoad`],
    /// [`TableError::OffsetOutOfRange`], [`TableError::Storage`].
    pub fn dump<S: Storage + ?Sized>(
        &self,
        storage: &S,
        id: u8,
        which: Which,
        offset: u32,
        out: &mut [u8],
    ) -> Result<usize, TableError> {
        let (index, slot) = self.slot(id)?;
        let (buffer, len) = match which {
            Which::Active => {
                let a = slot.active.ok_or(TableError::NoActiveTable(id))?;
                (a.buffer, a.len)
            }
            Which::Inactive => {
                if slot.load.state == BufferState::Empty {
                    return Err(TableError::NoLoad(id));
                }
                (slot.inactive_buffer(), slot.load.total_len)
            }
        };
        let bytes = storage.region(Region::Table { slot: index, buffer })?;
        let image = usize::try_from(len)
            .ok()
            .and_then(|n| bytes.get(..n))
            .ok_or(TableError::OffsetOutOfRange { id, offset, len })?;
        let tail = usize::try_from(offset)
            .ok()
            .and_then(|o| image.get(o..))
            .filter(|t| !t.is_empty())
            .ok_or(TableError::OffsetOutOfRange { id, offset, len })?;
        let n = tail.len().min(out.len());
        if let (Some(dst), Some(src)) = (out.get_mut(..n), tail.get(..n)) {
            dst.copy_from_slice(src);
        }
        Ok(n)
    }

    /// The active image of table `id`, for the unit to decode, with its directory entry.
    ///
    /// # Errors
    /// [`TableError::UnknownTable`], [`TableError::NoActiveTable`], [`TableError::Storage`].
    pub fn active_image<'s, S: Storage + ?Sized>(
        &self,
        storage: &'s S,
        id: u8,
    ) -> Result<(&'s [u8], ActiveTable), TableError> {
        let (index, slot) = self.slot(id)?;
        let a = slot.active.ok_or(TableError::NoActiveTable(id))?;
        let bytes = storage.region(Region::Table { slot: index, buffer: a.buffer })?;
        let image = usize::try_from(a.len)
            .ok()
            .and_then(|n| bytes.get(..n))
            .ok_or(TableError::NoActiveTable(id))?;
        Ok((image, a))
    }

    /// The directory entry of table `id`.
    ///
    /// # Errors
    /// [`TableError::UnknownTable`].
    pub fn entry(&self, id: u8) -> Result<DirEntry, TableError> {
        Ok(self.slot(id)?.1.entry())
    }

    /// The directory: one entry per slot, in configuration order.
    pub fn directory(&self) -> [DirEntry; N] {
        self.slots.each_ref().map(Slot::entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{Fault, FaultyStorage, StaticStorage};
    use std::string::ToString;

    type Small = StaticStorage<8, 8, 8, 3, { 2 * 3 * 64 }>;
    const CONFIG: [SlotConfig; 2] =
        [SlotConfig { id: 7, max_len: 64 }, SlotConfig { id: 9, max_len: 10 }];

    fn accept(_: &[u8]) -> Result<(), &'static str> {
        Ok(())
    }

    fn open(s: &Small) -> TableStore<2> {
        TableStore::open(s, CONFIG).unwrap()
    }

    fn install(
        t: &mut TableStore<2>,
        s: &mut Small,
        id: u8,
        version: u32,
        image: &[u8],
    ) -> ActiveTable {
        let len = image.len() as u32;
        for (i, chunk) in image.chunks(5).enumerate() {
            t.load_segment(s, id, version, len, (i * 5) as u32, chunk).unwrap();
        }
        t.validate(s, id, crc32(image), &mut accept).unwrap();
        t.activate(s, id).unwrap()
    }

    #[test]
    fn merge_ranges() {
        let r = Ranges::new();
        let r = merge(&r, 10, 20).unwrap();
        let r = merge(&r, 30, 40).unwrap();
        assert_eq!(r.as_slice(), [(10, 20), (30, 40)]);
        let r = merge(&r, 0, 5).unwrap();
        assert_eq!(r.as_slice(), [(0, 5), (10, 20), (30, 40)]);
        let r = merge(&r, 5, 10).unwrap();
        assert_eq!(r.as_slice(), [(0, 20), (30, 40)]);
        let r = merge(&r, 15, 35).unwrap();
        assert_eq!(r.as_slice(), [(0, 40)]);
        let r = merge(&r, 2, 3).unwrap();
        assert_eq!(r.as_slice(), [(0, 40)]);
    }

    #[test]
    fn too_many_gaps() {
        let mut r = Ranges::new();
        for i in 0..MAX_LOAD_RANGES as u32 {
            r = merge(&r, i * 10, i * 10 + 1).unwrap();
        }
        assert!(merge(&r, 1000, 1001).is_none());
        assert!(merge(&r, 1, 10).is_some());
    }

    #[test]
    fn record_round_trip_and_bit_flips() {
        let a =
            ActiveTable { buffer: Buffer::One, version: 0x0102_0304, len: 99, crc32: 0xDEAD_BEEF };
        let rec = encode_record(42, &a);
        assert_eq!(&rec[..8], b"TBLE\x01\x2A\x01\x00");
        assert_eq!(decode_record(&rec), Some((42, a)));
        for bit in 0..RECORD_LEN * 8 {
            let mut bad = rec;
            bad[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(decode_record(&bad), None, "bit {bit}");
        }
    }

    #[test]
    fn full_cycle_in_order() {
        let mut s = Small::new();
        let mut t = open(&s);
        let image: std::vec::Vec<u8> = (0..23).collect();
        let a = install(&mut t, &mut s, 7, 3, &image);
        assert_eq!(
            a,
            ActiveTable { buffer: Buffer::Zero, version: 3, len: 23, crc32: crc32(&image) }
        );
        let e = t.entry(7).unwrap();
        assert_eq!(e.active, Some(a));
        assert_eq!(e.inactive.state, BufferState::Empty);
        assert_eq!(e.inactive.buffer, Buffer::One);
        let (img, _) = t.active_image(&s, 7).unwrap();
        assert_eq!(img, &image[..]);
        // The second load goes to the other buffer.
        let b = install(&mut t, &mut s, 7, 4, &image[..10]);
        assert_eq!(b.buffer, Buffer::One);
        // Survives a re-open.
        let t2 = open(&s);
        assert_eq!(t2.entry(7).unwrap().active, Some(b));
        assert_eq!(t2.entry(9).unwrap().active, None);
    }

    #[test]
    fn out_of_order_and_duplicates() {
        let mut s = Small::new();
        let mut t = open(&s);
        let image = *b"0123456789abcdef";
        let info = t.load_segment(&mut s, 7, 1, 16, 8, &image[8..]).unwrap();
        assert_eq!((info.state, info.received), (BufferState::Loading, 8));
        let info = t.load_segment(&mut s, 7, 1, 16, 8, &image[8..12]).unwrap();
        assert_eq!(info.received, 8);
        assert_eq!(
            t.validate(&s, 7, crc32(&image), &mut accept),
            Err(ValidateError::Store(TableError::Incomplete { id: 7, received: 8, total_len: 16 }))
        );
        let info = t.load_segment(&mut s, 7, 1, 16, 0, &image[..9]).unwrap();
        assert_eq!((info.state, info.received), (BufferState::Loaded, 16));
        t.validate(&s, 7, crc32(&image), &mut accept).unwrap();
        assert_eq!(t.entry(7).unwrap().inactive.state, BufferState::Validated);
        // A segment after validation requires validating again.
        t.load_segment(&mut s, 7, 1, 16, 0, &image[..1]).unwrap();
        assert_eq!(
            t.activate(&mut s, 7),
            Err(TableError::NotValidated { id: 7, state: BufferState::Loaded })
        );
    }

    #[test]
    fn new_version_restarts() {
        let mut s = Small::new();
        let mut t = open(&s);
        t.load_segment(&mut s, 7, 1, 16, 0, &[1; 8]).unwrap();
        let info = t.load_segment(&mut s, 7, 2, 16, 8, &[2; 8]).unwrap();
        assert_eq!((info.version, info.received, info.state), (2, 8, BufferState::Loading));
        let info = t.load_segment(&mut s, 7, 2, 12, 0, &[3; 4]).unwrap();
        assert_eq!((info.total_len, info.received), (12, 4));
    }

    #[test]
    fn refused_segments_change_nothing() {
        let mut s = Small::new();
        let mut t = open(&s);
        t.load_segment(&mut s, 7, 1, 16, 0, &[1; 4]).unwrap();
        let before = t.entry(7).unwrap();
        assert_eq!(t.load_segment(&mut s, 8, 1, 16, 0, &[1]), Err(TableError::UnknownTable(8)));
        assert_eq!(
            t.load_segment(&mut s, 9, 1, 11, 0, &[1]),
            Err(TableError::LengthOutOfRange { id: 9, total_len: 11, max_len: 10 })
        );
        assert!(t.load_segment(&mut s, 7, 1, 0, 0, &[1]).is_err());
        assert_eq!(t.load_segment(&mut s, 7, 1, 16, 0, &[]), Err(TableError::EmptySegment(7)));
        assert_eq!(
            t.load_segment(&mut s, 7, 1, 16, 15, &[1, 2]),
            Err(TableError::SegmentOutOfRange { id: 7, offset: 15, len: 2, total_len: 16 })
        );
        assert!(t.load_segment(&mut s, 7, 1, 16, u32::MAX, &[1]).is_err());
        // A different version that is refused does not restart the load either.
        assert!(t.load_segment(&mut s, 7, 2, 16, 16, &[1]).is_err());
        assert_eq!(t.entry(7).unwrap(), before);
        assert_eq!(
            &s.region(Region::Table { slot: 0, buffer: Buffer::Zero }).unwrap()[4..8],
            &[0xFF; 4]
        );
    }

    #[test]
    fn validation_failures_keep_active() {
        let mut s = Small::new();
        let mut t = open(&s);
        let a = install(&mut t, &mut s, 9, 1, b"good");
        t.load_segment(&mut s, 9, 2, 3, 0, b"bad").unwrap();
        assert_eq!(
            t.validate(&s, 9, 0x1234, &mut accept),
            Err(ValidateError::Store(TableError::CrcMismatch {
                id: 9,
                computed: crc32(b"bad"),
                expected: 0x1234
            }))
        );
        assert_eq!(
            t.validate(&s, 9, crc32(b"bad"), &mut |_: &[u8]| Err("range")),
            Err(ValidateError::Rejected("range"))
        );
        assert_eq!(t.entry(9).unwrap().inactive.state, BufferState::Loaded);
        assert!(matches!(t.activate(&mut s, 9), Err(TableError::NotValidated { .. })));
        assert_eq!(t.entry(9).unwrap().active, Some(a));
        assert_eq!(t.abort(9), Ok(BufferState::Loaded));
        assert_eq!(t.entry(9).unwrap().inactive.state, BufferState::Empty);
        assert_eq!(
            t.validate(&s, 9, 0, &mut accept),
            Err(ValidateError::Store(TableError::NoLoad(9)))
        );
        assert_eq!(open(&s).entry(9).unwrap().active, Some(a));
    }

    #[test]
    fn validator_sees_exactly_the_image() {
        let mut s = Small::new();
        let mut t = open(&s);
        t.load_segment(&mut s, 7, 1, 5, 0, b"hello").unwrap();
        let mut seen = std::vec::Vec::new();
        t.validate(&s, 7, crc32(b"hello"), &mut |img: &[u8]| {
            seen.extend_from_slice(img);
            Ok::<(), ()>(())
        })
        .unwrap();
        assert_eq!(seen, b"hello");
    }

    #[test]
    fn failed_activation_record_keeps_active() {
        let mut s = Small::new();
        let mut t = open(&s);
        let a = install(&mut t, &mut s, 7, 1, b"first");
        t.load_segment(&mut s, 7, 2, 6, 0, b"second").unwrap();
        t.validate(&s, 7, crc32(b"second"), &mut accept).unwrap();
        let mut f = FaultyStorage::new(s, Fault::AfterWrites(0));
        assert_eq!(t.activate(&mut f, 7), Err(TableError::Storage(StorageError::PowerCut)));
        assert_eq!(t.entry(7).unwrap().active, Some(a));
        let s = f.into_inner();
        assert_eq!(open(&s).entry(7).unwrap().active, Some(a));
    }

    /// A backend whose record write becomes visible and then reports an I/O error.
    struct ApplyThenFail(Small);

    impl Storage for ApplyThenFail {
        fn geometry(&self) -> crate::storage::Geometry {
            self.0.geometry()
        }
        fn region(&self, region: Region) -> Result<&[u8], StorageError> {
            self.0.region(region)
        }
        fn write(
            &mut self,
            region: Region,
            offset: usize,
            data: &[u8],
        ) -> Result<(), StorageError> {
            self.0.write(region, offset, data)
        }
        fn read_record(&self, record: RecordId) -> Result<Option<[u8; RECORD_LEN]>, StorageError> {
            self.0.read_record(record)
        }
        fn write_record(
            &mut self,
            record: RecordId,
            data: &[u8; RECORD_LEN],
        ) -> Result<(), StorageError> {
            self.0.write_record(record, data)?;
            Err(StorageError::Io { op: "flush directory", os_code: Some(5) })
        }
        fn clear_volatile(&mut self) -> Result<(), StorageError> {
            self.0.clear_volatile()
        }
    }

    #[test]
    fn activation_follows_a_record_applied_before_an_error() {
        let mut s = Small::new();
        let mut t = open(&s);
        let first = install(&mut t, &mut s, 7, 1, b"first");
        t.load_segment(&mut s, 7, 2, 6, 0, b"second").unwrap();
        t.validate(&s, 7, crc32(b"second"), &mut accept).unwrap();
        let mut f = ApplyThenFail(s);
        assert!(matches!(t.activate(&mut f, 7), Err(TableError::Storage(StorageError::Io { .. }))));
        let e = t.entry(7).unwrap();
        let active = e.active.unwrap();
        assert_eq!((active.version, active.buffer), (2, first.buffer.other()));
        // The next load goes to the buffer of the *old* table, never the new active one.
        assert_eq!(e.inactive.buffer, first.buffer);
        assert_eq!(open(&f.0).entry(7).unwrap().active, Some(active));
    }

    #[test]
    fn dump_active_and_inactive() {
        let mut s = Small::new();
        let mut t = open(&s);
        assert_eq!(t.dump(&s, 7, Which::Active, 0, &mut [0; 4]), Err(TableError::NoActiveTable(7)));
        assert_eq!(t.dump(&s, 7, Which::Inactive, 0, &mut [0; 4]), Err(TableError::NoLoad(7)));
        install(&mut t, &mut s, 7, 1, b"abcdefgh");
        t.load_segment(&mut s, 7, 2, 4, 0, b"wx").unwrap();
        let mut out = [0u8; 5];
        assert_eq!(t.dump(&s, 7, Which::Active, 0, &mut out), Ok(5));
        assert_eq!(&out, b"abcde");
        assert_eq!(t.dump(&s, 7, Which::Active, 6, &mut out), Ok(2));
        assert_eq!(&out[..2], b"gh");
        assert_eq!(
            t.dump(&s, 7, Which::Active, 8, &mut out),
            Err(TableError::OffsetOutOfRange { id: 7, offset: 8, len: 8 })
        );
        assert!(t.dump(&s, 7, Which::Active, u32::MAX, &mut out).is_err());
        assert_eq!(t.dump(&s, 7, Which::Inactive, 0, &mut out), Ok(4));
        assert_eq!(&out[..2], b"wx");
    }

    #[test]
    fn open_reports_damage() {
        let mut s = Small::new();
        let mut t = open(&s);
        install(&mut t, &mut s, 7, 1, b"table seven");
        install(&mut t, &mut s, 9, 1, b"nine");
        // Corrupt table 7's active buffer and table 9's record.
        s.write(Region::Table { slot: 0, buffer: Buffer::Zero }, 0, b"T").unwrap();
        s.write_record(RecordId::TableSlot(1), &[0; RECORD_LEN]).unwrap();
        let t = open(&s);
        let e7 = t.entry(7).unwrap();
        assert_eq!(e7.active, None);
        assert!(matches!(e7.fault, Some(SlotFault::ActiveCrcMismatch { .. })));
        assert_eq!(t.entry(9).unwrap().fault, Some(SlotFault::CorruptRecord));
        // Slot configured with another ID: the record is foreign.
        let t = TableStore::open(&s, [SlotConfig { id: 1, max_len: 64 }]).unwrap();
        let _ = t;
        let mut s2 = Small::new();
        let mut t2 = open(&s2);
        install(&mut t2, &mut s2, 7, 1, b"x");
        let t3 = TableStore::open(&s2, [SlotConfig { id: 1, max_len: 64 }]).unwrap();
        assert_eq!(t3.entry(1).unwrap().fault, Some(SlotFault::ForeignRecord { found: 7 }));
    }

    #[test]
    fn bad_configurations() {
        let s = Small::new();
        assert_eq!(
            TableStore::open(
                &s,
                [SlotConfig { id: 1, max_len: 4 }, SlotConfig { id: 1, max_len: 4 }]
            )
            .err(),
            Some(TableError::DuplicateId(1))
        );
        assert_eq!(
            TableStore::open(&s, [SlotConfig { id: 1, max_len: 65 }]).err(),
            Some(TableError::BadMaxLen { id: 1, max_len: 65, buffer_len: 64 })
        );
        assert!(TableStore::open(&s, [SlotConfig { id: 1, max_len: 0 }]).is_err());
        let four = [1, 2, 3, 4].map(|id| SlotConfig { id, max_len: 4 });
        assert_eq!(
            TableStore::open(&s, four).err(),
            Some(TableError::TooManySlots { configured: 4, available: 3 })
        );
    }

    #[test]
    fn directory_lists_slots_in_order() {
        let s = Small::new();
        let t = open(&s);
        let d = t.directory();
        assert_eq!(d.map(|e| e.id), [7, 9]);
        assert!(d.iter().all(|e| e.active.is_none() && e.inactive.state == BufferState::Empty));
    }

    #[test]
    fn display_texts() {
        assert_eq!(
            TableError::Incomplete { id: 3, received: 5, total_len: 9 }.to_string(),
            "table 3: load incomplete, 5 of 9 octets"
        );
        assert_eq!(
            ValidateError::<&str>::Rejected("gain out of range").to_string(),
            "table rejected by validator: gain out of range"
        );
    }

    #[derive(Clone, Debug)]
    enum Op {
        Segment { id: u8, version: u32, total_len: u32, offset: u32, data: std::vec::Vec<u8> },
        Validate { id: u8, crc: Option<u32>, accept: bool },
        Activate(u8),
        Abort(u8),
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        let id = prop_oneof![Just(7u8), Just(9u8), any::<u8>()];
        prop_oneof![
            4 => (id.clone(), 0u32..3, 0u32..70, 0u32..70, proptest::collection::vec(any::<u8>(), 0..20))
                .prop_map(|(id, version, total_len, offset, data)| Op::Segment { id, version, total_len, offset, data }),
            1 => (id.clone(), proptest::option::of(any::<u32>()), any::<bool>())
                .prop_map(|(id, crc, accept)| Op::Validate { id, crc, accept }),
            1 => id.clone().prop_map(Op::Activate),
            1 => id.prop_map(Op::Abort),
        ]
    }

    proptest::proptest! {
        /// Any operation sequence never panics, and the active tables always match their CRC.
        #[test]
        fn arbitrary_sequences_keep_invariants(ops in proptest::collection::vec(op(), 0..40)) {
            let mut s = Small::new();
            let mut t = open(&s);
            for op in ops {
                match op {
                    Op::Segment { id, version, total_len, offset, data } => {
                        let _ = t.load_segment(&mut s, id, version, total_len, offset, &data);
                    }
                    Op::Validate { id, crc, accept } => {
                        // `None`: send the right CRC, as a correct ground would.
                        let crc = match crc {
                            Some(c) => c,
                            None => t.dump(&s, id, Which::Inactive, 0, &mut [0u8; 64]).ok()
                                .and_then(|n| {
                                    let mut b = [0u8; 64];
                                    t.dump(&s, id, Which::Inactive, 0, &mut b).ok()?;
                                    Some(crc32(&b[..n]))
                                })
                                .unwrap_or(0),
                        };
                        let _ = t.validate(&s, id, crc, &mut |_: &[u8]| if accept { Ok(()) } else { Err(()) });
                    }
                    Op::Activate(id) => { let _ = t.activate(&mut s, id); }
                    Op::Abort(id) => { let _ = t.abort(id); }
                }
                for e in t.directory() {
                    proptest::prop_assert!(e.inactive.received <= e.inactive.total_len);
                    if let Some(a) = e.active {
                        let (img, _) = t.active_image(&s, e.id).unwrap();
                        proptest::prop_assert_eq!(crc32(img), a.crc32);
                        proptest::prop_assert_ne!(a.buffer, e.inactive.buffer);
                    }
                }
            }
            let reopened = open(&s);
            proptest::prop_assert_eq!(reopened.directory().map(|e| e.active), t.directory().map(|e| e.active));
        }
    }
}
