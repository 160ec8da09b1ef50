//! Every capacity of the unit model, in one place.
//!
//! Nothing in the crate allocates: each buffer, table and queue is sized by one of these
//! constants at compile time, so the static memory footprint is known before the unit runs
//! (`docs/memory.md`, "Footprint"). Changing a value here is an interface change when it is
//! visible on the link (memory sizes are what ST\[06\] checks addresses against).

/// Boot EEPROM: 32 KiB. It holds the boot loader and the factory configuration; 32 KiB is a
/// common size of a radiation-tolerant serial EEPROM and leaves room for a two-stage loader.
pub const BOOT_EEPROM_LEN: usize = 32 * 1024;

/// Each application bank (A and B): 256 KiB. The UGTS application (link, PUS services, trigger)
/// builds to well under 128 KiB of code on `thumbv7em-none-eabihf`; a factor two leaves room for
/// growth over the mission without changing the memory map. Must exceed
/// [`crate::image::HEADER_LEN`].
pub const BANK_LEN: usize = 256 * 1024;

/// RAM patch area: 16 KiB. Patches are small code or data fixes loaded by ST\[06,2\] and lost at
/// reset (volatile); 16 KiB is about sixteen maximum-size TCs.
pub const RAM_PATCH_LEN: usize = 16 * 1024;

/// Number of table slots of the table store (each double-buffered). The UGTS needs about six
/// tables (pixel calibration and mask, trigger configuration, energy bands, SAA polygon, known
/// source catalogue, housekeeping configuration); eight leaves two spare slots.
pub const TABLE_SLOTS: usize = 8;

/// Largest table image a slot can hold: 128 KiB. The largest table, the pixel table, is about
/// 6400 pixels × 13–16 octets ≈ 100 KiB plus its header; 128 KiB gives a 25 % margin. Each
/// slot has two buffers of this size. The `tables` crate will publish exact image sizes; a slot
/// may then be configured with a smaller maximum (`table_store::SlotConfig::max_len`).
pub const MAX_TABLE_IMAGE_LEN: usize = 128 * 1024;

/// Largest number of disjoint byte ranges a table load in progress may have received. Segments
/// sent in order merge into one range; out-of-order or repeated segments create gaps until the
/// missing ones arrive. A load that would need more ranges is refused (the operator restarts it
/// in order), which bounds the bookkeeping to a fixed array.
pub const MAX_LOAD_RANGES: usize = 16;

/// Length of one atomic record (boot configuration, table slot directory entry), in octets.
/// Records are written all-or-nothing by every storage backend.
pub const RECORD_LEN: usize = 32;

/// Chunk used when streaming a region through the CRC or a copy, in octets. Bounds the stack
/// used by [`crate::memory`] and [`crate::boot`] for operations on whole banks.
pub const CRC_CHUNK_LEN: usize = 1024;

/// Total octets of persistent and volatile storage held by the flight storage
/// (`storage::FlightStorage`): EEPROM, two banks, RAM patch, two buffers per table slot and the
/// records (each an `Option`, one tag octet). This is the dominant part of the unit's static
/// memory footprint: 2 670 889 octets, measured on the `thumbv7em-none-eabihf` build
/// (`docs/memory.md`, "Footprint").
pub const STORAGE_FOOTPRINT: usize = BOOT_EEPROM_LEN
    + 2 * BANK_LEN
    + RAM_PATCH_LEN
    + 2 * TABLE_SLOTS * MAX_TABLE_IMAGE_LEN
    + (1 + TABLE_SLOTS) * (RECORD_LEN + 1);

// Compile-time checks of the relations between the capacities.
// ST[06] addresses and lengths are 32-bit: every memory must be addressable.
const _: () = assert!(BANK_LEN as u64 <= u32::MAX as u64);
const _: () = assert!(MAX_TABLE_IMAGE_LEN as u64 <= u32::MAX as u64);
// The pixel table (6400 pixels × 16 octets) fits with a 20 % margin.
const _: () = assert!(MAX_TABLE_IMAGE_LEN >= 6400 * 16 * 12 / 10);
// A bank holds at least an image header.
const _: () = assert!(BANK_LEN > crate::image::HEADER_LEN);
// The table store addresses slots with a `u8`.
const _: () = assert!(TABLE_SLOTS <= 256);
// Records hold their 28 octets of content plus a CRC-32.
const _: () = assert!(RECORD_LEN == 32);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flight_storage_footprint_is_the_documented_one() {
        // Arrays of octets and `Option<[u8; N]>` have the same layout on the host and on
        // `thumbv7em-none-eabihf`, where the same figure was measured.
        assert_eq!(core::mem::size_of::<crate::storage::FlightStorage>(), STORAGE_FOOTPRINT);
        assert_eq!(STORAGE_FOOTPRINT, 2_670_889);
    }

    #[test]
    fn flight_geometry_is_made_of_these_limits() {
        let g = crate::storage::Geometry::FLIGHT;
        assert_eq!(
            (g.boot_eeprom_len, g.bank_len, g.ram_patch_len, g.table_slots, g.table_buffer_len),
            (BOOT_EEPROM_LEN, BANK_LEN, RAM_PATCH_LEN, TABLE_SLOTS, MAX_TABLE_IMAGE_LEN)
        );
    }
}
