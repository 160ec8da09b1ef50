//! Persistent (and volatile) state of the unit behind one trait.
//!
//! The unit keeps three kinds of state:
//! - **byte regions**: boot EEPROM, application banks A and B, the RAM patch area (volatile:
//!   cleared by [`Storage::clear_volatile`] at every reset) and two buffers per table slot.
//!   Region writes are *not* atomic: a power cut may leave any prefix of a write applied.
//! - **records**: small fixed-size blobs ([`RECORD_LEN`] octets) for the boot configuration and
//!   the table directory. A record write is all-or-nothing: after a power cut the record holds
//!   either the old or the new content, never a mix. Every state change that must be atomic
//!   (selecting the boot bank, switching a table's active buffer) is exactly one record write.
//! - **ordering**: a backend makes every region write issued before a record write durable
//!   before the record write itself (the "commit" of a table activation therefore never points
//!   at data that could still be lost).
//!
//! Backends: [`StaticStorage`] (arrays in a struct the firmware places in a `static`, also used
//! by host tests), `storage_fs::FsStorage` (feature `std`: a state directory on disk, for the
//! twin) and [`FaultyStorage`], a wrapper that simulates a power cut after a number of writes or
//! octets.

use core::fmt;

use crate::limits::{
    BANK_LEN, BOOT_EEPROM_LEN, FLIGHT_TABLE_BUFFER_LENS, RAM_PATCH_LEN, RECORD_LEN,
    TABLE_ARENA_LEN, TABLE_SLOTS, UNIT_TABLES,
};

/// One of the two application banks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Bank {
    /// Bank A (ST\[06\] memory ID `0x02`; boot bank `0x01` in ST\[08\] and events). The
    /// default boot bank.
    A,
    /// Bank B (ST\[06\] memory ID `0x03`; boot bank `0x02`).
    B,
}

impl Bank {
    /// The other bank.
    pub const fn other(self) -> Bank {
        match self {
            Bank::A => Bank::B,
            Bank::B => Bank::A,
        }
    }
}

impl fmt::Display for Bank {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bank::A => f.write_str("bank A"),
            Bank::B => f.write_str("bank B"),
        }
    }
}

/// One of the two buffers of a table slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Buffer {
    /// Buffer 0 (the first loaded into a fresh slot).
    Zero,
    /// Buffer 1.
    One,
}

impl Buffer {
    /// The other buffer.
    pub const fn other(self) -> Buffer {
        match self {
            Buffer::Zero => Buffer::One,
            Buffer::One => Buffer::Zero,
        }
    }

    /// The buffer index, 0 or 1.
    pub const fn index(self) -> u8 {
        match self {
            Buffer::Zero => 0,
            Buffer::One => 1,
        }
    }

    /// From an index: `None` above 1.
    pub const fn from_index(index: u8) -> Option<Buffer> {
        match index {
            0 => Some(Buffer::Zero),
            1 => Some(Buffer::One),
            _ => None,
        }
    }
}

/// A byte region of the storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Region {
    /// The boot EEPROM (read-only for ST\[06\]; the storage itself lets the factory program it).
    BootEeprom,
    /// An application bank.
    Bank(Bank),
    /// The RAM patch area (volatile).
    RamPatch,
    /// One buffer of a table slot.
    Table {
        /// Slot index, `0..Geometry::table_slots`.
        slot: u8,
        /// Which of the two buffers.
        buffer: Buffer,
    },
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Region::BootEeprom => f.write_str("boot EEPROM"),
            Region::Bank(b) => write!(f, "{b}"),
            Region::RamPatch => f.write_str("RAM patch"),
            Region::Table { slot, buffer } => {
                write!(f, "table slot {slot} buffer {}", buffer.index())
            }
        }
    }
}

/// An atomic record of the storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecordId {
    /// The boot configuration (selected bank).
    BootConfig,
    /// The directory entry of a table slot (which buffer is active, its version, length, CRC).
    TableSlot(u8),
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            RecordId::BootConfig => f.write_str("boot configuration record"),
            RecordId::TableSlot(s) => write!(f, "table slot {s} record"),
        }
    }
}

/// The sizes of a storage. [`Geometry::FLIGHT`] is the unit's; tests use smaller ones.
///
/// Table slots are sized one by one: slot `s` has two buffers of `table_buffer_lens[s]` octets
/// each, so each slot is as large as its own table needs. Entries at and beyond `table_slots`
/// are not part of the geometry (the constructors set them to 0; [`Geometry::normalized`]
/// does for a geometry built field by field).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Geometry {
    /// Boot EEPROM length in octets.
    pub boot_eeprom_len: usize,
    /// Length of each application bank in octets.
    pub bank_len: usize,
    /// RAM patch length in octets.
    pub ram_patch_len: usize,
    /// Number of table slots, at most [`TABLE_SLOTS`].
    pub table_slots: usize,
    /// Length of each of the two buffers of every table slot, in octets.
    pub table_buffer_lens: [usize; TABLE_SLOTS],
}

impl Geometry {
    /// The flight geometry, from [`crate::limits`]: one slot per table of the registry, each
    /// sized for its table ([`FLIGHT_TABLE_BUFFER_LENS`]).
    pub const FLIGHT: Geometry = Geometry {
        boot_eeprom_len: BOOT_EEPROM_LEN,
        bank_len: BANK_LEN,
        ram_patch_len: RAM_PATCH_LEN,
        table_slots: UNIT_TABLES,
        table_buffer_lens: FLIGHT_TABLE_BUFFER_LENS,
    };

    /// A geometry whose `table_slots` slots (at most [`TABLE_SLOTS`]: more are cut) all have
    /// buffers of `table_buffer_len` octets.
    // `i < table_slots ≤ TABLE_SLOTS`, the array's length (no `get` in a `const fn`).
    #[allow(clippy::indexing_slicing)]
    pub const fn uniform(
        boot_eeprom_len: usize,
        bank_len: usize,
        ram_patch_len: usize,
        table_slots: usize,
        table_buffer_len: usize,
    ) -> Geometry {
        let table_slots = if table_slots < TABLE_SLOTS { table_slots } else { TABLE_SLOTS };
        let mut table_buffer_lens = [0; TABLE_SLOTS];
        let mut i = 0;
        while i < table_slots {
            table_buffer_lens[i] = table_buffer_len;
            i += 1;
        }
        Geometry { boot_eeprom_len, bank_len, ram_patch_len, table_slots, table_buffer_lens }
    }

    /// The same geometry with `table_slots` at most [`TABLE_SLOTS`] and the buffer lengths of
    /// absent slots set to 0, so that equal storages compare equal.
    #[must_use]
    #[allow(clippy::indexing_slicing)] // `i < TABLE_SLOTS`, the array's length
    pub const fn normalized(mut self) -> Geometry {
        if self.table_slots > TABLE_SLOTS {
            self.table_slots = TABLE_SLOTS;
        }
        let mut i = self.table_slots;
        while i < TABLE_SLOTS {
            self.table_buffer_lens[i] = 0;
            i += 1;
        }
        self
    }

    /// Length of each buffer of table slot `slot`, or `None` if the slot does not exist.
    pub fn table_buffer_len(&self, slot: usize) -> Option<usize> {
        self.table_buffer_lens.get(..self.table_slots)?.get(slot).copied()
    }

    /// Octets of all table buffers: two per slot.
    pub fn table_arena_len(&self) -> usize {
        let lens = self.table_buffer_lens.iter().take(self.table_slots);
        lens.fold(0usize, |sum, &len| sum.saturating_add(len.saturating_mul(2)))
    }

    /// Length of `region`, or `None` if the region does not exist (table slot out of range).
    pub fn region_len(&self, region: Region) -> Option<usize> {
        match region {
            Region::BootEeprom => Some(self.boot_eeprom_len),
            Region::Bank(_) => Some(self.bank_len),
            Region::RamPatch => Some(self.ram_patch_len),
            Region::Table { slot, .. } => self.table_buffer_len(slot as usize),
        }
    }

    /// Whether `record` exists in this geometry.
    pub const fn has_record(&self, record: RecordId) -> bool {
        match record {
            RecordId::BootConfig => true,
            RecordId::TableSlot(slot) => (slot as usize) < self.table_slots,
        }
    }
}

/// Errors of a storage backend.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageError {
    /// The region does not exist in this storage (table slot beyond the geometry).
    NoSuchRegion(Region),
    /// The record does not exist in this storage.
    NoSuchRecord(RecordId),
    /// A write would go past the end of the region.
    OutOfRange {
        /// The region.
        region: Region,
        /// First octet written.
        offset: usize,
        /// Octets to write.
        len: usize,
        /// Region length.
        capacity: usize,
    },
    /// The (simulated) power was cut: the write was not, or only partly, done, and no further
    /// write succeeds until the storage is re-opened.
    PowerCut,
    /// The host file system refused an operation (on-disk backend only).
    Io {
        /// What was being done (`"write region"`, `"write record"`, `"sync"`).
        op: &'static str,
        /// The operating-system error code, if there was one.
        os_code: Option<i32>,
    },
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            StorageError::NoSuchRegion(r) => write!(f, "no such storage region: {r}"),
            StorageError::NoSuchRecord(r) => write!(f, "no such storage record: {r}"),
            StorageError::OutOfRange { region, offset, len, capacity } => write!(
                f,
                "write of {len} octets at offset {offset} exceeds {region} ({capacity} octets)"
            ),
            StorageError::PowerCut => f.write_str("power cut during a storage write"),
            StorageError::Io { op, os_code: Some(code) } => {
                write!(f, "storage I/O error during {op} (OS error {code})")
            }
            StorageError::Io { op, os_code: None } => write!(f, "storage I/O error during {op}"),
        }
    }
}

impl core::error::Error for StorageError {}

/// The persistent state of the unit. See the module documentation for the atomicity contract
/// every implementation must honour.
pub trait Storage {
    /// The sizes of this storage.
    fn geometry(&self) -> Geometry;

    /// The whole content of `region` (exactly `geometry().region_len(region)` octets).
    ///
    /// # Errors
    /// [`StorageError::NoSuchRegion`].
    fn region(&self, region: Region) -> Result<&[u8], StorageError>;

    /// Writes `data` at `offset` in `region`. Not atomic: a power cut may leave a prefix
    /// written.
    ///
    /// # Errors
    /// [`StorageError::NoSuchRegion`], [`StorageError::OutOfRange`] (nothing written),
    /// [`StorageError::PowerCut`], [`StorageError::Io`].
    fn write(&mut self, region: Region, offset: usize, data: &[u8]) -> Result<(), StorageError>;

    /// The content of `record`, or `None` if it was never written.
    ///
    /// # Errors
    /// [`StorageError::NoSuchRecord`].
    fn read_record(&self, record: RecordId) -> Result<Option<[u8; RECORD_LEN]>, StorageError>;

    /// Replaces the content of `record`, all-or-nothing, after making every earlier region
    /// write durable.
    ///
    /// # Errors
    /// [`StorageError::NoSuchRecord`], [`StorageError::PowerCut`] (record unchanged),
    /// [`StorageError::Io`] (record unchanged).
    fn write_record(
        &mut self,
        record: RecordId,
        data: &[u8; RECORD_LEN],
    ) -> Result<(), StorageError>;

    /// Loses the volatile state (the RAM patch area is zeroed), as a reset or power cycle does.
    ///
    /// # Errors
    /// [`StorageError::PowerCut`], [`StorageError::Io`].
    fn clear_volatile(&mut self) -> Result<(), StorageError>;
}

/// Checks a region write against the geometry, returning the octet range to write.
///
/// # Errors
/// [`StorageError::NoSuchRegion`] or [`StorageError::OutOfRange`].
pub fn checked_range(
    geometry: &Geometry,
    region: Region,
    offset: usize,
    len: usize,
) -> Result<core::ops::Range<usize>, StorageError> {
    let capacity = geometry.region_len(region).ok_or(StorageError::NoSuchRegion(region))?;
    match offset.checked_add(len) {
        Some(end) if end <= capacity => Ok(offset..end),
        _ => Err(StorageError::OutOfRange { region, offset, len, capacity }),
    }
}

/// Static-memory storage: every region is an array owned by the struct, sized by const
/// generics, so the firmware can hold it in a `static` (see [`FlightStorage`]) and no heap is
/// used. Records are plain copies, atomic because the model writes them in one step.
///
/// The table buffers share one arena of `TABLES` octets: slot `s` has two buffers of
/// `lens[s]` octets, buffer 0 then buffer 1, after the buffers of slots `0..s`. [`Self::new`]
/// gives every slot the same length (`TABLES / (2 × SLOTS)`);
/// [`Self::with_table_buffer_lens`] sizes each slot for its own table, as [`FlightStorage`]
/// does. `SLOTS` is at most [`TABLE_SLOTS`] (checked at compile time).
///
/// Non-volatile regions start erased (`0xFF`, like flash); the RAM patch starts zeroed.
#[derive(Clone, Debug)]
pub struct StaticStorage<
    const EEPROM: usize,
    const BANK: usize,
    const RAM: usize,
    const SLOTS: usize,
    const TABLES: usize,
> {
    eeprom: [u8; EEPROM],
    bank_a: [u8; BANK],
    bank_b: [u8; BANK],
    ram: [u8; RAM],
    /// Length of each buffer of each slot (`u32`: the same layout on every target).
    table_lens: [u32; SLOTS],
    tables: [u8; TABLES],
    boot_record: Option<[u8; RECORD_LEN]>,
    table_records: [Option<[u8; RECORD_LEN]>; SLOTS],
}

impl<
    const EEPROM: usize,
    const BANK: usize,
    const RAM: usize,
    const SLOTS: usize,
    const TABLES: usize,
> StaticStorage<EEPROM, BANK, RAM, SLOTS, TABLES>
{
    /// A fresh storage whose slots share the arena equally: each buffer is
    /// `TABLES / (2 × SLOTS)` octets. Erased non-volatile regions, no records. `const`, so it
    /// can initialise a `static`.
    pub const fn new() -> Self {
        let per_buffer = if SLOTS == 0 { 0 } else { TABLES / (2 * SLOTS) };
        Self::with_table_buffer_lens([per_buffer; SLOTS])
    }

    /// A fresh storage whose slot `s` has two buffers of `lens[s]` octets. Slots are laid out
    /// in order in the arena; a slot that does not fit what is left of it gets what is left
    /// (possibly 0): [`Storage::geometry`] gives the lengths in effect. `const`, so it can
    /// initialise a `static`.
    // `i < SLOTS`, the length of both arrays indexed (iterators are not available in a
    // `const fn`).
    #[allow(clippy::indexing_slicing)]
    pub const fn with_table_buffer_lens(lens: [usize; SLOTS]) -> Self {
        const { assert!(SLOTS <= TABLE_SLOTS, "more table slots than limits::TABLE_SLOTS") };
        let mut table_lens = [0u32; SLOTS];
        let mut left = TABLES;
        let mut i = 0;
        while i < SLOTS {
            let want = if lens[i] > u32::MAX as usize { u32::MAX as usize } else { lens[i] };
            let len = if want <= left / 2 { want } else { left / 2 };
            table_lens[i] = len as u32;
            left -= 2 * len;
            i += 1;
        }
        Self {
            eeprom: [0xFF; EEPROM],
            bank_a: [0xFF; BANK],
            bank_b: [0xFF; BANK],
            ram: [0; RAM],
            table_lens,
            tables: [0xFF; TABLES],
            boot_record: None,
            table_records: [None; SLOTS],
        }
    }

    /// The arena range of a table buffer, `None` if the slot does not exist.
    fn table_range(&self, slot: u8, buffer: Buffer) -> Option<core::ops::Range<usize>> {
        let slot = usize::from(slot);
        let len = *self.table_lens.get(slot)? as usize;
        let before: usize = self.table_lens.get(..slot)?.iter().map(|&l| 2 * l as usize).sum();
        let start = before + len * usize::from(buffer.index());
        Some(start..start + len)
    }

    fn region_mut(&mut self, region: Region) -> Result<&mut [u8], StorageError> {
        Ok(match region {
            Region::BootEeprom => &mut self.eeprom[..],
            Region::Bank(Bank::A) => &mut self.bank_a[..],
            Region::Bank(Bank::B) => &mut self.bank_b[..],
            Region::RamPatch => &mut self.ram[..],
            Region::Table { slot, buffer } => self
                .table_range(slot, buffer)
                .and_then(|r| self.tables.get_mut(r))
                .ok_or(StorageError::NoSuchRegion(region))?,
        })
    }
}

impl<
    const EEPROM: usize,
    const BANK: usize,
    const RAM: usize,
    const SLOTS: usize,
    const TABLES: usize,
> Default for StaticStorage<EEPROM, BANK, RAM, SLOTS, TABLES>
{
    fn default() -> Self {
        Self::new()
    }
}

impl<
    const EEPROM: usize,
    const BANK: usize,
    const RAM: usize,
    const SLOTS: usize,
    const TABLES: usize,
> Storage for StaticStorage<EEPROM, BANK, RAM, SLOTS, TABLES>
{
    fn geometry(&self) -> Geometry {
        let mut g = Geometry::uniform(EEPROM, BANK, RAM, SLOTS, 0);
        for (dst, &len) in g.table_buffer_lens.iter_mut().zip(&self.table_lens) {
            *dst = len as usize;
        }
        g
    }

    fn region(&self, region: Region) -> Result<&[u8], StorageError> {
        Ok(match region {
            Region::BootEeprom => &self.eeprom[..],
            Region::Bank(Bank::A) => &self.bank_a[..],
            Region::Bank(Bank::B) => &self.bank_b[..],
            Region::RamPatch => &self.ram[..],
            Region::Table { slot, buffer } => self
                .table_range(slot, buffer)
                .and_then(|r| self.tables.get(r))
                .ok_or(StorageError::NoSuchRegion(region))?,
        })
    }

    fn write(&mut self, region: Region, offset: usize, data: &[u8]) -> Result<(), StorageError> {
        let range = checked_range(&self.geometry(), region, offset, data.len())?;
        let target = self.region_mut(region)?.get_mut(range).ok_or(StorageError::OutOfRange {
            region,
            offset,
            len: data.len(),
            capacity: 0,
        })?;
        target.copy_from_slice(data);
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
        let slot = match record {
            RecordId::BootConfig => &mut self.boot_record,
            RecordId::TableSlot(slot) => self
                .table_records
                .get_mut(usize::from(slot))
                .ok_or(StorageError::NoSuchRecord(record))?,
        };
        *slot = Some(*data);
        Ok(())
    }

    fn clear_volatile(&mut self) -> Result<(), StorageError> {
        self.ram.fill(0);
        Ok(())
    }
}

/// The static storage with the flight sizes of [`crate::limits`].
pub type FlightStatic =
    StaticStorage<BOOT_EEPROM_LEN, BANK_LEN, RAM_PATCH_LEN, UNIT_TABLES, TABLE_ARENA_LEN>;

/// The storage of the flight unit: [`Geometry::FLIGHT`], each table slot sized for its own
/// table. It is large ([`crate::limits::STORAGE_FOOTPRINT`] octets): put it in a `static`,
/// never on the stack.
#[derive(Clone, Debug)]
pub struct FlightStorage(FlightStatic);

impl FlightStorage {
    /// A fresh flight storage: erased non-volatile regions, no records. `const`, so it can
    /// initialise a `static`.
    #[allow(clippy::indexing_slicing)] // `i < UNIT_TABLES`, within both arrays
    pub const fn new() -> Self {
        let mut lens = [0; UNIT_TABLES];
        let mut i = 0;
        while i < UNIT_TABLES {
            lens[i] = FLIGHT_TABLE_BUFFER_LENS[i];
            i += 1;
        }
        FlightStorage(StaticStorage::with_table_buffer_lens(lens))
    }
}

impl Default for FlightStorage {
    fn default() -> Self {
        Self::new()
    }
}

impl Storage for FlightStorage {
    fn geometry(&self) -> Geometry {
        self.0.geometry()
    }

    fn region(&self, region: Region) -> Result<&[u8], StorageError> {
        self.0.region(region)
    }

    fn write(&mut self, region: Region, offset: usize, data: &[u8]) -> Result<(), StorageError> {
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
        self.0.write_record(record, data)
    }

    fn clear_volatile(&mut self) -> Result<(), StorageError> {
        self.0.clear_volatile()
    }
}

/// When [`FaultyStorage`] cuts the power.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Never: the wrapper only counts.
    Never,
    /// After this many successful writes (region writes, record writes and volatile clears
    /// each count one). The next write does nothing and fails.
    AfterWrites(usize),
    /// After this many region octets. The region write that crosses the budget writes only
    /// the octets that fit (a torn write), then fails; a record write needs [`RECORD_LEN`]
    /// octets of budget and is otherwise not done at all (records are atomic).
    AfterBytes(usize),
}

/// A storage wrapper that simulates a power cut, for tests. Once the cut happened every write
/// fails with [`StorageError::PowerCut`] and changes nothing; reads still work. Recover the
/// backend with [`FaultyStorage::into_inner`] and re-open it as the rebooted unit would.
#[derive(Debug)]
pub struct FaultyStorage<S> {
    inner: S,
    fault: Fault,
    writes: usize,
    bytes: usize,
    cut: bool,
}

impl<S: Storage> FaultyStorage<S> {
    /// Wraps `inner`.
    pub const fn new(inner: S, fault: Fault) -> Self {
        Self { inner, fault, writes: 0, bytes: 0, cut: false }
    }

    /// Whether the power was cut.
    pub const fn is_cut(&self) -> bool {
        self.cut
    }

    /// Successful writes so far (see [`Fault::AfterWrites`]).
    pub const fn writes(&self) -> usize {
        self.writes
    }

    /// Region and record octets successfully written so far.
    pub const fn bytes(&self) -> usize {
        self.bytes
    }

    /// The wrapped storage.
    pub const fn inner(&self) -> &S {
        &self.inner
    }

    /// Gives the wrapped storage back.
    pub fn into_inner(self) -> S {
        self.inner
    }

    /// Decides how many of the `len` octets of the next write are applied before the power
    /// goes (all of them if it does not), and records the cut.
    ///
    /// # Errors
    /// [`StorageError::PowerCut`] if the power is already off.
    fn admit(&mut self, len: usize, atomic: bool) -> Result<usize, StorageError> {
        if self.cut {
            return Err(StorageError::PowerCut);
        }
        let (allowed, cut) = match self.fault {
            Fault::Never => (len, false),
            Fault::AfterWrites(n) if self.writes >= n => (0, true),
            Fault::AfterWrites(_) => (len, false),
            Fault::AfterBytes(n) => {
                let left = n.saturating_sub(self.bytes);
                if left >= len {
                    (len, false)
                } else if atomic {
                    (0, true)
                } else {
                    (left, true)
                }
            }
        };
        self.cut = cut;
        Ok(allowed)
    }
}

impl<S: Storage> Storage for FaultyStorage<S> {
    fn geometry(&self) -> Geometry {
        self.inner.geometry()
    }

    fn region(&self, region: Region) -> Result<&[u8], StorageError> {
        self.inner.region(region)
    }

    fn write(&mut self, region: Region, offset: usize, data: &[u8]) -> Result<(), StorageError> {
        // Reject malformed writes before the budget is spent, as a real device would.
        checked_range(&self.inner.geometry(), region, offset, data.len())?;
        let allowed = self.admit(data.len(), false)?;
        let head = data.get(..allowed).unwrap_or_default();
        if !head.is_empty() {
            self.inner.write(region, offset, head)?;
        }
        self.bytes = self.bytes.saturating_add(head.len());
        if self.cut {
            return Err(StorageError::PowerCut);
        }
        self.writes = self.writes.saturating_add(1);
        Ok(())
    }

    fn read_record(&self, record: RecordId) -> Result<Option<[u8; RECORD_LEN]>, StorageError> {
        self.inner.read_record(record)
    }

    fn write_record(
        &mut self,
        record: RecordId,
        data: &[u8; RECORD_LEN],
    ) -> Result<(), StorageError> {
        if !self.inner.geometry().has_record(record) {
            return Err(StorageError::NoSuchRecord(record));
        }
        self.admit(RECORD_LEN, true)?;
        if self.cut {
            return Err(StorageError::PowerCut);
        }
        self.inner.write_record(record, data)?;
        self.bytes = self.bytes.saturating_add(RECORD_LEN);
        self.writes = self.writes.saturating_add(1);
        Ok(())
    }

    fn clear_volatile(&mut self) -> Result<(), StorageError> {
        self.admit(0, true)?;
        if self.cut {
            return Err(StorageError::PowerCut);
        }
        self.inner.clear_volatile()?;
        self.writes = self.writes.saturating_add(1);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;
    use std::vec;

    type Small = StaticStorage<64, 128, 32, 2, { 2 * 2 * 48 }>;

    #[test]
    fn fresh_storage_is_erased() {
        let s = Small::new();
        assert!(s.region(Region::Bank(Bank::A)).unwrap().iter().all(|&b| b == 0xFF));
        assert!(s.region(Region::RamPatch).unwrap().iter().all(|&b| b == 0));
        assert_eq!(s.region(Region::BootEeprom).unwrap().len(), 64);
        assert_eq!(s.read_record(RecordId::BootConfig).unwrap(), None);
        assert_eq!(s.read_record(RecordId::TableSlot(1)).unwrap(), None);
    }

    #[test]
    fn region_lengths_match_geometry() {
        let s = Small::new();
        let g = s.geometry();
        for r in [
            Region::BootEeprom,
            Region::Bank(Bank::A),
            Region::Bank(Bank::B),
            Region::RamPatch,
            Region::Table { slot: 1, buffer: Buffer::One },
        ] {
            assert_eq!(Some(s.region(r).unwrap().len()), g.region_len(r));
        }
    }

    #[test]
    fn uniform_arena_is_shared_equally() {
        let g = Small::new().geometry();
        assert_eq!((g.table_slots, g.table_buffer_lens[..3].to_vec()), (2, vec![48, 48, 0]));
        assert_eq!(g, Geometry::uniform(64, 128, 32, 2, 48));
        assert_eq!(g.table_arena_len(), 4 * 48);
    }

    #[test]
    fn slots_are_sized_one_by_one_in_one_arena() {
        let mut s = StaticStorage::<4, 4, 4, 3, 20>::with_table_buffer_lens([5, 1, 4]);
        let g = s.geometry();
        assert_eq!(&g.table_buffer_lens[..4], &[5, 1, 4, 0]);
        assert_eq!(g.table_arena_len(), 20);
        // Fill every buffer with its own tag: no buffer overlaps another.
        for slot in 0..3u8 {
            for buffer in [Buffer::Zero, Buffer::One] {
                let r = Region::Table { slot, buffer };
                let len = g.region_len(r).unwrap();
                s.write(r, 0, &vec![slot * 2 + buffer.index(); len]).unwrap();
            }
        }
        for slot in 0..3u8 {
            for buffer in [Buffer::Zero, Buffer::One] {
                let r = Region::Table { slot, buffer };
                let data = s.region(r).unwrap();
                assert_eq!(data.len(), g.region_len(r).unwrap());
                assert!(data.iter().all(|&b| b == slot * 2 + buffer.index()), "{r}");
            }
        }
        let r = Region::Table { slot: 1, buffer: Buffer::One };
        assert_eq!(
            s.write(r, 0, &[0, 0]),
            Err(StorageError::OutOfRange { region: r, offset: 0, len: 2, capacity: 1 })
        );
    }

    #[test]
    fn slots_that_do_not_fit_the_arena_are_cut() {
        let s = StaticStorage::<4, 4, 4, 3, 20>::with_table_buffer_lens([6, 3, 4]);
        assert_eq!(&s.geometry().table_buffer_lens[..3], &[6, 3, 1]);
        let s = StaticStorage::<4, 4, 4, 3, 20>::with_table_buffer_lens([6, 4, 4]);
        assert_eq!(&s.geometry().table_buffer_lens[..3], &[6, 4, 0]);
        let r = Region::Table { slot: 2, buffer: Buffer::One };
        assert_eq!(s.region(r).unwrap(), &[] as &[u8]);
    }

    #[test]
    fn flight_storage_has_the_flight_geometry() {
        // Const-constructed, as the firmware does: never on the stack.
        static FLIGHT: FlightStorage = FlightStorage::new();
        let s = &FLIGHT;
        assert_eq!(s.geometry(), Geometry::FLIGHT);
        for (slot, id) in tables::TableId::ALL.into_iter().enumerate() {
            let r = Region::Table { slot: slot as u8, buffer: Buffer::One };
            assert_eq!(s.region(r).unwrap().len(), id.max_image_len(), "{id}");
        }
    }

    #[test]
    fn normalized_geometries_compare_equal() {
        let mut g = Geometry::uniform(1, 2, 3, 2, 10);
        g.table_buffer_lens[5] = 99;
        assert_ne!(g, Geometry::uniform(1, 2, 3, 2, 10));
        assert_eq!(g.normalized(), Geometry::uniform(1, 2, 3, 2, 10));
        assert_eq!(g.table_buffer_len(5), None);
        assert_eq!(Geometry::uniform(1, 2, 3, 99, 10).table_slots, TABLE_SLOTS);
    }

    #[test]
    fn write_and_read_back() {
        let mut s = Small::new();
        s.write(Region::Bank(Bank::B), 126, &[1, 2]).unwrap();
        assert_eq!(&s.region(Region::Bank(Bank::B)).unwrap()[126..], &[1, 2]);
        assert!(s.region(Region::Bank(Bank::A)).unwrap().iter().all(|&b| b == 0xFF));
    }

    #[test]
    fn write_past_end_is_refused_and_changes_nothing() {
        let mut s = Small::new();
        let region = Region::Bank(Bank::A);
        assert_eq!(
            s.write(region, 127, &[0, 0]),
            Err(StorageError::OutOfRange { region, offset: 127, len: 2, capacity: 128 })
        );
        assert_eq!(
            s.write(region, usize::MAX, &[0]),
            Err(StorageError::OutOfRange { region, offset: usize::MAX, len: 1, capacity: 128 })
        );
        assert!(s.region(region).unwrap().iter().all(|&b| b == 0xFF));
    }

    #[test]
    fn missing_table_slot() {
        let mut s = Small::new();
        let r = Region::Table { slot: 2, buffer: Buffer::Zero };
        assert_eq!(s.region(r), Err(StorageError::NoSuchRegion(r)));
        assert_eq!(s.write(r, 0, &[1]), Err(StorageError::NoSuchRegion(r)));
        let rec = RecordId::TableSlot(2);
        assert_eq!(s.read_record(rec), Err(StorageError::NoSuchRecord(rec)));
        assert_eq!(s.write_record(rec, &[0; RECORD_LEN]), Err(StorageError::NoSuchRecord(rec)));
    }

    #[test]
    fn records_round_trip_and_volatile_clears() {
        let mut s = Small::new();
        s.write_record(RecordId::TableSlot(1), &[7; RECORD_LEN]).unwrap();
        assert_eq!(s.read_record(RecordId::TableSlot(1)).unwrap(), Some([7; RECORD_LEN]));
        s.write(Region::RamPatch, 0, &[9; 32]).unwrap();
        s.clear_volatile().unwrap();
        assert!(s.region(Region::RamPatch).unwrap().iter().all(|&b| b == 0));
    }

    #[test]
    fn fault_after_writes_stops_everything() {
        let mut f = FaultyStorage::new(Small::new(), Fault::AfterWrites(2));
        f.write(Region::Bank(Bank::A), 0, &[1]).unwrap();
        f.write_record(RecordId::BootConfig, &[1; RECORD_LEN]).unwrap();
        assert_eq!(f.write(Region::Bank(Bank::A), 1, &[2]), Err(StorageError::PowerCut));
        assert!(f.is_cut());
        assert_eq!(
            f.write_record(RecordId::BootConfig, &[2; RECORD_LEN]),
            Err(StorageError::PowerCut)
        );
        assert_eq!(f.clear_volatile(), Err(StorageError::PowerCut));
        assert_eq!(f.writes(), 2);
        let s = f.into_inner();
        assert_eq!(&s.region(Region::Bank(Bank::A)).unwrap()[..2], &[1, 0xFF]);
        assert_eq!(s.read_record(RecordId::BootConfig).unwrap(), Some([1; RECORD_LEN]));
    }

    #[test]
    fn fault_after_bytes_tears_region_writes_but_not_records() {
        let mut f = FaultyStorage::new(Small::new(), Fault::AfterBytes(5));
        f.write(Region::Bank(Bank::A), 0, &[1, 2, 3]).unwrap();
        assert_eq!(f.write(Region::Bank(Bank::A), 3, &[4, 5, 6]), Err(StorageError::PowerCut));
        let s = f.into_inner();
        assert_eq!(&s.region(Region::Bank(Bank::A)).unwrap()[..6], &[1, 2, 3, 4, 5, 0xFF]);

        let mut f = FaultyStorage::new(Small::new(), Fault::AfterBytes(RECORD_LEN - 1));
        assert_eq!(
            f.write_record(RecordId::BootConfig, &[3; RECORD_LEN]),
            Err(StorageError::PowerCut)
        );
        assert_eq!(f.inner().read_record(RecordId::BootConfig).unwrap(), None);
    }

    #[test]
    fn fault_wrapper_reports_range_errors_without_spending_budget() {
        let mut f = FaultyStorage::new(Small::new(), Fault::AfterWrites(1));
        assert!(matches!(
            f.write(Region::Bank(Bank::A), 200, &[1]),
            Err(StorageError::OutOfRange { .. })
        ));
        assert!(!f.is_cut());
        f.write(Region::Bank(Bank::A), 0, &[1]).unwrap();
    }

    #[test]
    fn never_fault_counts() {
        let mut f = FaultyStorage::new(Small::new(), Fault::Never);
        f.write(Region::RamPatch, 0, &[1; 10]).unwrap();
        f.write_record(RecordId::BootConfig, &[0; RECORD_LEN]).unwrap();
        assert_eq!((f.writes(), f.bytes()), (2, 10 + RECORD_LEN));
    }

    #[test]
    fn display_texts() {
        let e =
            StorageError::OutOfRange { region: Region::RamPatch, offset: 3, len: 4, capacity: 5 };
        assert_eq!(e.to_string(), "write of 4 octets at offset 3 exceeds RAM patch (5 octets)");
        assert_eq!(
            StorageError::Io { op: "sync", os_code: Some(5) }.to_string(),
            "storage I/O error during sync (OS error 5)"
        );
    }
}
