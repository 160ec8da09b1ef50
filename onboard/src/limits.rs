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

// --- The unit: link, queues, services (`docs/icd/unit.md`) ---

/// Downlink queue of virtual channel 0 (housekeeping, events, verification), in octets:
/// about seven AOS packet zones, i.e. 200 verification reports or 50 housekeeping reports.
/// A report that does not fit is lost and counted (`tm-overflow` event).
pub const TM_QUEUE_HK_LEN: usize = 8 * 1024;

/// Downlink queue of virtual channel 1 (trigger alerts), in octets: 25 alerts.
pub const TM_QUEUE_ALERT_LEN: usize = 2 * 1024;

/// Downlink queue of virtual channel 2 (memory and table dumps), in octets: about three dump
/// reports of 1024 data octets. Dumps are produced as this queue drains, so a dump of any
/// length needs no more room.
pub const TM_QUEUE_DUMP_LEN: usize = 4 * 1024;

/// Largest TM source data the unit emits, in octets: a table dump segment of 1024 data octets
/// plus its 14-octet header (ST\[200,6\]); a memory dump report (ST\[6,6\]) needs 1031.
pub const MAX_TM_SOURCE_DATA_LEN: usize = 14 + 1024;

/// Largest TM packet the unit emits: 21 octets of headers and PEC plus the source data.
pub const MAX_TM_PACKET_LEN: usize = 21 + MAX_TM_SOURCE_DATA_LEN;

/// Data octets per dump report (ST\[6,6\] and ST\[200,6\]); the codec's maximum.
pub const DUMP_CHUNK_LEN: usize = 1024;

/// Time-tagged TCs the ST\[11\] schedule holds at most.
pub const MAX_SCHEDULED_TCS: usize = 64;

/// Octets of time-tagged TC packets the schedule holds at most (packets are stored whole,
/// back to back): sixteen maximum-size TCs, or the 64 entries at 256 octets each.
pub const SCHEDULE_POOL_LEN: usize = 16 * 1024;

/// Distinct (service, subtype) message types with their own PUS message type counter.
pub const MSG_TYPE_COUNTERS: usize = 32;

/// Table slots the unit configures: one per table of the `tables` registry.
pub const UNIT_TABLES: usize = tables::TableId::ALL.len();

/// Largest image of the energy band table: header 8, count, 8 octets per band, CRC 4.
pub const BANDS_MAX_IMAGE_LEN: usize = 8 + 1 + 8 * tables::MAX_BANDS + 4;
/// Largest image of the Count-Rate Trigger table (`docs/tables.md` §4.3).
pub const CRT_MAX_IMAGE_LEN: usize = 8
    + 13
    + (1 + 2 * tables::MAX_TRIGGER_BANDS)
    + (1 + 4 * tables::MAX_ZONES)
    + (1 + tables::MAX_TIMESCALES * (5 + 4 * tables::MAX_TRIGGER_BANDS))
    + 4;
/// Largest image of the Image Trigger table (`docs/tables.md` §4.4).
pub const IMT_MAX_IMAGE_LEN: usize =
    8 + 7 + (1 + 2 * tables::MAX_TRIGGER_BANDS) + (1 + 6 * tables::MAX_ACCUMULATIONS) + 4;
/// Largest image of the known-source catalogue (`docs/tables.md` §4.5).
pub const CATALOG_MAX_IMAGE_LEN: usize =
    8 + 1 + tables::MAX_SOURCES * (2 + tables::NAME_LEN + 12 + 1 + 4 * tables::MAX_BANDS) + 4;
/// Largest image of the SAA contour (`docs/tables.md` §4.6).
pub const SAA_MAX_IMAGE_LEN: usize = 8 + 1 + 8 * tables::MAX_VERTICES + 4;
/// Image of the alert policy table (fixed, `docs/tables.md` §4.7).
pub const ALERT_MAX_IMAGE_LEN: usize = 8 + 27 + 4;

/// Largest image of each table, by table ID: the maximum length of its slot.
pub const fn table_max_image_len(id: tables::TableId) -> usize {
    match id {
        tables::TableId::Pixels => tables::MAX_IMAGE_LEN,
        tables::TableId::Bands => BANDS_MAX_IMAGE_LEN,
        tables::TableId::Crt => CRT_MAX_IMAGE_LEN,
        tables::TableId::Imt => IMT_MAX_IMAGE_LEN,
        tables::TableId::Catalog => CATALOG_MAX_IMAGE_LEN,
        tables::TableId::Saa => SAA_MAX_IMAGE_LEN,
        tables::TableId::Alert => ALERT_MAX_IMAGE_LEN,
    }
}

/// Static memory of the whole unit, `Unit<FlightStorage>`, on `thumbv7em-none-eabihf`: the
/// storage ([`STORAGE_FOOTPRINT`]) plus 36 599 octets of unit state (CLTU decoder 1.1 KiB,
/// TM queues 14 KiB, schedule pool 16 KiB, table store, AOS frame buffer, counters). Checked
/// by a compile-time assertion in every build for that target.
pub const UNIT_FOOTPRINT_THUMBV7EM: usize = 2_707_488;

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
// Every table of the registry has a slot, and every slot can hold its largest table.
const _: () = assert!(UNIT_TABLES <= TABLE_SLOTS);
const _: () = assert!(tables::MAX_IMAGE_LEN <= MAX_TABLE_IMAGE_LEN);
// A dump report and the largest TM packet fit the M_PDU queues and one AOS packet zone.
const _: () = assert!(MAX_TM_PACKET_LEN <= tc_tm::aos::PACKET_ZONE_LEN);
const _: () = assert!(MAX_TM_PACKET_LEN <= TM_QUEUE_DUMP_LEN);
const _: () = assert!(MAX_TM_PACKET_LEN <= TM_QUEUE_HK_LEN);
// The schedule pool holds at least one maximum-size TC.
const _: () = assert!(SCHEDULE_POOL_LEN >= tc_tm::mission::MAX_TC_PACKET_LEN);

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
