//! A storage laid out in one flat memory area: the firmware's flash-like storage.
//!
//! The firmware keeps its persistent state in a memory area that survives a reset (under QEMU:
//! the board's PSRAM, backed by a file, `docs/firmware.md`). The host builds and reads the
//! same area as a file (factory provisioning, inspection), so the layout lives here, safe and
//! testable, and both sides use this one implementation of [`Storage`] over a `&mut [u8]`.
//!
//! ```text
//! offset  len                 content
//! 0       32                  header: magic "EICF", format 1, reserved, geometry (EEPROM,
//!                             bank, RAM patch, slots, arena lengths), CRC-32 over 0..28
//! 32      EEPROM              boot EEPROM
//! ...     bank × 2            bank A, bank B
//! ...     RAM patch           volatile: zeroed by `clear_volatile`
//! ...     table arena         slot 0 buffer 0, slot 0 buffer 1, slot 1 buffer 0, ...
//! ...     (1 + slots) × 2 × 40  records, two copies each: sequence (u32 BE), content (32),
//!                             CRC-32 over the 36 octets before it
//! ```
//!
//! **Records** are written all-or-nothing without relying on the memory: a write goes to the
//! copy that does not hold the current content, with the next sequence number, and the CRC
//! last; a read takes the valid copy with the higher sequence. A write torn by a reset leaves a
//! copy whose CRC fails, and the other copy (the old content) wins.
//!
//! **Opening** ([`MemStorage::open`]) checks the header: a valid header of the same geometry
//! keeps the content ([`Opened::Existing`]); anything else (first power-on: random or erased
//! memory, or another geometry) formats the area — non-volatile regions erased to `0xFF`, the
//! RAM patch zeroed, no records — and writes the header last ([`Opened::Formatted`]).
//!
//! **Ordering.** Region writes and record writes go to the same memory in program order, so
//! every region write is in place before the record that commits it.

use crate::limits::{RECORD_LEN, TABLE_SLOTS};
use crate::storage::{Bank, Buffer, Geometry, RecordId, Region, Storage, StorageError};

/// Header length, octets.
pub const HEADER_LEN: usize = 32;
/// Magic at offset 0 of the area: `EICF`.
pub const MAGIC: u32 = 0x4549_4346;
/// Format of the layout.
pub const FORMAT: u16 = 1;
/// Octets of one record copy: sequence, content, CRC.
pub const RECORD_COPY_LEN: usize = 4 + RECORD_LEN + 4;

/// Whether [`MemStorage::open`] kept or formatted the area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opened {
    /// A valid header of this geometry: the content was kept.
    Existing,
    /// No valid header (first power-on, or another geometry): the area was formatted.
    Formatted,
}

/// Why an area cannot hold a storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemError {
    /// The area is shorter than the layout of the geometry needs.
    TooSmall {
        /// Octets needed ([`required_len`]).
        needed: usize,
        /// Octets given.
        given: usize,
    },
}

impl core::fmt::Display for MemError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            MemError::TooSmall { needed, given } => {
                write!(f, "storage area of {given} octets, the geometry needs {needed}")
            }
        }
    }
}

impl core::error::Error for MemError {}

/// Octets the layout of `geometry` takes.
pub fn required_len(geometry: &Geometry) -> usize {
    let g = geometry.normalized();
    records_offset(&g) + (1 + g.table_slots) * 2 * RECORD_COPY_LEN
}

fn records_offset(g: &Geometry) -> usize {
    arena_offset(g) + g.table_arena_len()
}

fn arena_offset(g: &Geometry) -> usize {
    HEADER_LEN + g.boot_eeprom_len + 2 * g.bank_len + g.ram_patch_len
}

/// The header of `geometry`.
pub fn header(geometry: &Geometry) -> [u8; HEADER_LEN] {
    let g = geometry.normalized();
    let mut h = [0u8; HEADER_LEN];
    let words: [u32; 5] = [
        g.boot_eeprom_len as u32,
        g.bank_len as u32,
        g.ram_patch_len as u32,
        g.table_slots as u32,
        g.table_arena_len() as u32,
    ];
    let mut out = [0u8; 28];
    let mut fields = out.iter_mut();
    for b in MAGIC.to_be_bytes().iter().chain(&FORMAT.to_be_bytes()).chain(&[0, 0]) {
        if let Some(o) = fields.next() {
            *o = *b;
        }
    }
    for w in words {
        for b in w.to_be_bytes() {
            if let Some(o) = fields.next() {
                *o = b;
            }
        }
    }
    // The per-slot lengths are summed in the arena length; the slot count and the arena pin the
    // flight geometry well enough to refuse a stale layout (the CRC covers the rest).
    if let Some(dst) = h.get_mut(..28) {
        dst.copy_from_slice(&out);
    }
    if let Some(dst) = h.get_mut(28..) {
        dst.copy_from_slice(&tc_tm::crc::crc32(&out).to_be_bytes());
    }
    h
}

/// A [`Storage`] over a flat memory area (see the module documentation).
#[derive(Debug)]
pub struct MemStorage<'a> {
    area: &'a mut [u8],
    geometry: Geometry,
}

impl<'a> MemStorage<'a> {
    /// Opens `area` with `geometry`, formatting it unless it holds a valid header of the same
    /// geometry.
    ///
    /// # Errors
    /// [`MemError::TooSmall`]; nothing is written then.
    pub fn open(area: &'a mut [u8], geometry: Geometry) -> Result<(Self, Opened), MemError> {
        let geometry = geometry.normalized();
        let needed = required_len(&geometry);
        if area.len() < needed {
            return Err(MemError::TooSmall { needed, given: area.len() });
        }
        let h = header(&geometry);
        let s = MemStorage { area, geometry };
        if s.area.get(..HEADER_LEN) == Some(&h[..]) {
            return Ok((s, Opened::Existing));
        }
        // Header first invalidated, then the content, then the header: a reset while
        // formatting formats again at the next open.
        if let Some(head) = s.area.get_mut(..HEADER_LEN) {
            head.fill(0);
        }
        if let Some(body) = s.area.get_mut(HEADER_LEN..needed) {
            body.fill(0xFF);
        }
        if let Some(ram) = s.range(Region::RamPatch).and_then(|r| s.area.get_mut(r)) {
            ram.fill(0);
        }
        if let Some(head) = s.area.get_mut(..HEADER_LEN) {
            head.copy_from_slice(&h);
        }
        Ok((s, Opened::Formatted))
    }

    /// The whole area (header, regions, records), e.g. to save it to a file.
    pub fn area(&self) -> &[u8] {
        self.area
    }

    fn range(&self, region: Region) -> Option<core::ops::Range<usize>> {
        let g = &self.geometry;
        let bank_a = HEADER_LEN + g.boot_eeprom_len;
        let (start, len) = match region {
            Region::BootEeprom => (HEADER_LEN, g.boot_eeprom_len),
            Region::Bank(Bank::A) => (bank_a, g.bank_len),
            Region::Bank(Bank::B) => (bank_a + g.bank_len, g.bank_len),
            Region::RamPatch => (bank_a + 2 * g.bank_len, g.ram_patch_len),
            Region::Table { slot, buffer } => {
                let slot = usize::from(slot);
                let len = g.table_buffer_len(slot)?;
                let before: usize = g.table_buffer_lens.get(..slot)?.iter().map(|&l| 2 * l).sum();
                let own = if buffer == Buffer::One { len } else { 0 };
                (arena_offset(g) + before + own, len)
            }
        };
        Some(start..start + len)
    }

    /// Offset of copy `copy` (0 or 1) of `record`.
    fn record_offset(&self, record: RecordId, copy: usize) -> Option<usize> {
        let index = match record {
            RecordId::BootConfig => 0,
            RecordId::TableSlot(s) if usize::from(s) < self.geometry.table_slots => {
                1 + usize::from(s)
            }
            RecordId::TableSlot(_) => return None,
        };
        Some(records_offset(&self.geometry) + (2 * index + copy) * RECORD_COPY_LEN)
    }

    /// Copy `copy` of `record`: `(sequence, content)` if its CRC holds.
    fn record_copy(&self, record: RecordId, copy: usize) -> Option<(u32, [u8; RECORD_LEN])> {
        let at = self.record_offset(record, copy)?;
        let raw = self.area.get(at..at + RECORD_COPY_LEN)?;
        let (body, crc) = raw.split_at(4 + RECORD_LEN);
        if tc_tm::crc::crc32(body).to_be_bytes() != crc {
            return None;
        }
        let (seq, content) = body.split_at(4);
        let seq = u32::from_be_bytes(seq.try_into().ok()?);
        Some((seq, content.try_into().ok()?))
    }

    /// The valid copy with the higher sequence: `(copy index, sequence, content)`.
    fn current(&self, record: RecordId) -> Option<(usize, u32, [u8; RECORD_LEN])> {
        let a = self.record_copy(record, 0).map(|(s, c)| (0, s, c));
        let b = self.record_copy(record, 1).map(|(s, c)| (1, s, c));
        match (a, b) {
            (Some(a), Some(b)) => Some(if b.1 > a.1 { b } else { a }),
            (a, b) => a.or(b),
        }
    }
}

impl Storage for MemStorage<'_> {
    fn geometry(&self) -> Geometry {
        self.geometry
    }

    fn region(&self, region: Region) -> Result<&[u8], StorageError> {
        self.range(region).and_then(|r| self.area.get(r)).ok_or(StorageError::NoSuchRegion(region))
    }

    fn write(&mut self, region: Region, offset: usize, data: &[u8]) -> Result<(), StorageError> {
        let within = crate::storage::checked_range(&self.geometry, region, offset, data.len())?;
        let base = self.range(region).ok_or(StorageError::NoSuchRegion(region))?.start;
        let target = self
            .area
            .get_mut(base + within.start..base + within.end)
            .ok_or(StorageError::NoSuchRegion(region))?;
        target.copy_from_slice(data);
        Ok(())
    }

    fn read_record(&self, record: RecordId) -> Result<Option<[u8; RECORD_LEN]>, StorageError> {
        if !self.geometry.has_record(record) {
            return Err(StorageError::NoSuchRecord(record));
        }
        Ok(self.current(record).map(|(_, _, content)| content))
    }

    fn write_record(
        &mut self,
        record: RecordId,
        data: &[u8; RECORD_LEN],
    ) -> Result<(), StorageError> {
        if !self.geometry.has_record(record) {
            return Err(StorageError::NoSuchRecord(record));
        }
        let (copy, seq) = match self.current(record) {
            Some((copy, seq, _)) => (1 - copy, seq.wrapping_add(1)),
            None => (0, 0),
        };
        let at = self.record_offset(record, copy).ok_or(StorageError::NoSuchRecord(record))?;
        let mut raw = [0u8; RECORD_COPY_LEN];
        let (body, crc) = raw.split_at_mut(4 + RECORD_LEN);
        let (s, content) = body.split_at_mut(4);
        s.copy_from_slice(&seq.to_be_bytes());
        content.copy_from_slice(data);
        crc.copy_from_slice(&tc_tm::crc::crc32(body).to_be_bytes());
        let target = self
            .area
            .get_mut(at..at + RECORD_COPY_LEN)
            .ok_or(StorageError::NoSuchRecord(record))?;
        // Invalidate the CRC first, then the content, then the CRC: torn anywhere, this copy
        // fails its check and the other one (the old content) stands.
        if let Some(c) = target.get_mut(4 + RECORD_LEN..) {
            c.fill(0);
        }
        if let (Some(dst), Some(src)) =
            (target.get_mut(..4 + RECORD_LEN), raw.get(..4 + RECORD_LEN))
        {
            dst.copy_from_slice(src);
        }
        if let (Some(dst), Some(src)) =
            (target.get_mut(4 + RECORD_LEN..), raw.get(4 + RECORD_LEN..))
        {
            dst.copy_from_slice(src);
        }
        Ok(())
    }

    fn clear_volatile(&mut self) -> Result<(), StorageError> {
        if let Some(ram) = self.range(Region::RamPatch).and_then(|r| self.area.get_mut(r)) {
            ram.fill(0);
        }
        Ok(())
    }
}

// The layout addresses at most `TABLE_SLOTS` slots (the geometry is normalised).
const _: () = assert!(TABLE_SLOTS < 255);

#[cfg(test)]
// `drop(s)` ends the storage's borrow of the area: the power-off before re-opening it.
#[allow(clippy::drop_non_drop)]
mod tests {
    use std::vec;

    use super::*;
    use crate::boot;
    use crate::image;

    fn small() -> Geometry {
        Geometry::uniform(64, 4096, 256, 3, 512)
    }

    #[test]
    fn fresh_area_is_formatted_then_kept() {
        let g = small();
        let mut area = vec![0x5Au8; required_len(&g)];
        let (mut s, how) = MemStorage::open(&mut area, g).unwrap();
        assert_eq!(how, Opened::Formatted);
        assert!(s.region(Region::Bank(Bank::A)).unwrap().iter().all(|&b| b == 0xFF));
        assert!(s.region(Region::RamPatch).unwrap().iter().all(|&b| b == 0));
        assert_eq!(s.read_record(RecordId::BootConfig).unwrap(), None);
        s.write(Region::Table { slot: 2, buffer: Buffer::One }, 500, &[1, 2, 3, 4]).ok();
        s.write(Region::Table { slot: 2, buffer: Buffer::One }, 508, &[7, 7, 7, 7]).unwrap();
        s.write(Region::RamPatch, 0, &[9]).unwrap();
        s.write_record(RecordId::TableSlot(1), &[3; RECORD_LEN]).unwrap();
        drop(s);
        let (s, how) = MemStorage::open(&mut area, g).unwrap();
        assert_eq!(how, Opened::Existing);
        let buf = s.region(Region::Table { slot: 2, buffer: Buffer::One }).unwrap();
        assert_eq!(buf.len(), 512);
        assert_eq!(&buf[508..], &[7, 7, 7, 7]);
        assert_eq!(s.read_record(RecordId::TableSlot(1)).unwrap(), Some([3; RECORD_LEN]));
        assert_eq!(s.region(Region::RamPatch).unwrap()[0], 9, "volatile only at boot");
    }

    #[test]
    fn out_of_range_and_unknown_are_refused() {
        let g = small();
        let mut area = vec![0u8; required_len(&g)];
        let (mut s, _) = MemStorage::open(&mut area, g).unwrap();
        assert!(matches!(
            s.write(Region::Bank(Bank::B), 4095, &[1, 2]),
            Err(StorageError::OutOfRange { .. })
        ));
        assert_eq!(
            s.write(Region::Table { slot: 3, buffer: Buffer::Zero }, 0, &[1]),
            Err(StorageError::NoSuchRegion(Region::Table { slot: 3, buffer: Buffer::Zero }))
        );
        assert!(s.read_record(RecordId::TableSlot(3)).is_err());
        let mut short = vec![0u8; 100];
        assert!(matches!(MemStorage::open(&mut short, g), Err(MemError::TooSmall { .. })));
    }

    #[test]
    fn another_geometry_or_a_damaged_header_formats() {
        let g = small();
        let mut area = vec![0u8; required_len(&g) + 4096];
        let (mut s, _) = MemStorage::open(&mut area, g).unwrap();
        s.write(Region::Bank(Bank::A), 0, &[1]).unwrap();
        drop(s);
        area[5] ^= 1;
        let (s, how) = MemStorage::open(&mut area, g).unwrap();
        assert_eq!(how, Opened::Formatted);
        assert_eq!(s.region(Region::Bank(Bank::A)).unwrap()[0], 0xFF);
        drop(s);
        let other = Geometry::uniform(64, 4096, 256, 3, 1024);
        assert_eq!(MemStorage::open(&mut area, other).unwrap().1, Opened::Formatted);
    }

    #[test]
    fn a_torn_record_write_keeps_the_old_content() {
        let g = small();
        let mut area = vec![0u8; required_len(&g)];
        let (mut s, _) = MemStorage::open(&mut area, g).unwrap();
        for i in 0..5u8 {
            s.write_record(RecordId::BootConfig, &[i; RECORD_LEN]).unwrap();
            assert_eq!(s.read_record(RecordId::BootConfig).unwrap(), Some([i; RECORD_LEN]));
        }
        // The next write goes to the copy not holding [4; 32]; tear it after every octet.
        let current = s.current(RecordId::BootConfig).unwrap().0;
        let at = s.record_offset(RecordId::BootConfig, 1 - current).unwrap();
        drop(s);
        for cut in 0..RECORD_COPY_LEN {
            let mut copy = area.clone();
            {
                let (mut s, _) = MemStorage::open(&mut copy, g).unwrap();
                s.write_record(RecordId::BootConfig, &[9; RECORD_LEN]).unwrap();
            }
            // A reset after `cut` octets of the new copy: the rest is still the old copy.
            let mut torn = area.clone();
            torn[at + RECORD_COPY_LEN - 4..at + RECORD_COPY_LEN].fill(0);
            torn[at..at + cut].copy_from_slice(&copy[at..at + cut]);
            let (s, _) = MemStorage::open(&mut torn, g).unwrap();
            let got = s.read_record(RecordId::BootConfig).unwrap().unwrap();
            assert_eq!(got, [4; RECORD_LEN], "cut after {cut} octets");
        }
    }

    #[test]
    fn flight_geometry_boots_an_image() {
        let g = Geometry::FLIGHT;
        let mut area = vec![0u8; required_len(&g)];
        let (mut s, _) = MemStorage::open(&mut area, g).unwrap();
        let mut img = vec![0u8; 2048];
        let n = image::build(&[0xA5; 1000], image::SwVersion::new(1, 2, 3, 0), &mut img).unwrap();
        s.write(Region::Bank(Bank::B), 0, &img[..n]).unwrap();
        boot::select_boot_bank(&mut s, Bank::B).unwrap();
        let report = boot::boot(&mut s).unwrap();
        assert_eq!(report.running_bank(), Some(Bank::B));
        assert_eq!(required_len(&g), 32 + 32768 + 2 * 262_144 + 16_384 + 235_510 + 8 * 2 * 40);
    }
}
