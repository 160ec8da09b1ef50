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

/// Most table slots a storage geometry describes (each double-buffered). The flight unit uses
/// [`UNIT_TABLES`] of them, one per table of the `tables` registry, each sized for its own
/// table ([`FLIGHT_TABLE_BUFFER_LENS`]); the rest is room for tables added later.
pub const TABLE_SLOTS: usize = 8;

/// Largest table image any slot holds: the pixel table's, 108 812 octets
/// (`tables::MAX_IMAGE_LEN`). Each slot's two buffers are sized for its own table
/// ([`table_max_image_len`]), not for this maximum.
pub const MAX_TABLE_IMAGE_LEN: usize = tables::MAX_IMAGE_LEN;

/// Largest number of disjoint byte ranges a table load in progress may have received. Segments
/// sent in order merge into one range; out-of-order or repeated segments create gaps until the
/// missing ones arrive. A load that would need more ranges is refused (the operator restarts it
/// in order), which bounds the bookkeeping to a fixed array.
pub const MAX_LOAD_RANGES: usize = 16;

/// Entries of the request history (`crate::history`): the outcome of the last TCs received,
/// which the bench queries (17,128) when their ST\[01\] reports were lost on the downlink. 128
/// covers four full pipelines of the bench's table loads (32 outstanding) with room to spare;
/// 16 octets each (2 072 octets with the ring's state).
pub const HISTORY_LEN: usize = 128;

/// Length of one atomic record (boot configuration, table slot directory entry), in octets.
/// Records are written all-or-nothing by every storage backend.
pub const RECORD_LEN: usize = 32;

/// Chunk used when streaming a region through the CRC or a copy, in octets. Bounds the stack
/// used by [`crate::memory`] and [`crate::boot`] for operations on whole banks.
pub const CRC_CHUNK_LEN: usize = 1024;

/// Length of each of the two buffers of each flight table slot: slot `i` holds table
/// `tables::TableId::ALL[i]` and is sized for its largest image (pixels 108 812, bands 77,
/// CRT 404, IMT 77, catalogue 8 077, SAA 269, alert 39 octets); slots beyond [`UNIT_TABLES`]
/// are 0.
// Indices stay below the arrays' lengths; in a constant an out-of-range index is a build error.
#[allow(clippy::indexing_slicing)]
pub const FLIGHT_TABLE_BUFFER_LENS: [usize; TABLE_SLOTS] = {
    let mut lens = [0; TABLE_SLOTS];
    let mut i = 0;
    while i < UNIT_TABLES {
        lens[i] = table_max_image_len(tables::TableId::ALL[i]);
        i += 1;
    }
    lens
};

/// Octets of table buffers of the flight storage: two buffers per slot, each of its
/// [`FLIGHT_TABLE_BUFFER_LENS`] entry, 2 × 117 755 = 235 510 octets. The static backend holds
/// them in one arena of this length (`storage::StaticStorage`).
#[allow(clippy::indexing_slicing)] // as above: evaluated at build time
pub const TABLE_ARENA_LEN: usize = {
    let mut sum = 0;
    let mut i = 0;
    while i < TABLE_SLOTS {
        sum += 2 * FLIGHT_TABLE_BUFFER_LENS[i];
        i += 1;
    }
    sum
};

/// Total octets of persistent and volatile storage held by the flight storage
/// (`storage::FlightStorage`): EEPROM, two banks, RAM patch, the table arena, the records
/// (each an `Option`, one tag octet) and the per-slot buffer lengths (`u32` each), rounded up
/// to the 4-octet alignment of those lengths. This is the dominant part of the unit's static
/// memory footprint: 809 244 octets, the same on the host and on `thumbv7em-none-eabihf`
/// (`docs/memory.md`, "Footprint").
pub const STORAGE_FOOTPRINT: usize = (BOOT_EEPROM_LEN
    + 2 * BANK_LEN
    + RAM_PATCH_LEN
    + TABLE_ARENA_LEN
    + (1 + UNIT_TABLES) * (RECORD_LEN + 1)
    + 4 * UNIT_TABLES)
    .next_multiple_of(4);

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

/// Largest image of each table, by table ID: the length of each buffer of its slot
/// (`tables::TableId::max_image_len`).
pub const fn table_max_image_len(id: tables::TableId) -> usize {
    id.max_image_len()
}

// --- The science trigger (`docs/trigger.md`, "Memory") ---

/// Base bin of the Count-Rate Trigger, in 20 µs ticks: 10 ms (`tables::crt::BASE_BIN_MS`).
pub const CRT_BIN_TICKS: u64 = 500;

/// Base bins of count history the CRT keeps per (trigger band, zone or whole plane): the
/// longest timescale the CRT table allows (20.48 s, 2 048 bins) plus one. Saturating `u16`
/// counts, 36 series × 2 049 × 2 = 144 KiB.
pub const CRT_HISTORY_BINS: usize = 2_048 + 1;

/// Base bins per background bin of the CRT background fit: 0.64 s. The fit uses coarse bins so
/// that a 600-s window costs 938 bins of history, not 60 000.
pub const CRT_BKG_BIN_BINS: u64 = 64;

/// Background bins of history kept for the fit: the table's largest window (600 s) plus its
/// largest gap (60 s) plus the longest timescale (20.48 s), in 0.64-s bins, rounded up.
pub const CRT_BKG_HISTORY: usize = 1_072;

/// Events the CRT keeps to image an excess window (pixel and elementary band, 2 octets each,
/// 256 KiB): 20.48 s at 6 400 counts/s, the expected background plus a quarter. A window
/// whose oldest events were overwritten (a 20-s window during a bright burst) is imaged with
/// what remains and counted (`truncated_windows`).
pub const CRT_EVENT_RING: usize = 1 << 17;

/// Base bins per CRT background shadowgram block: the per-pixel counts of the last complete
/// 20.48-s block give the spatial shape of the background subtracted from an excess image.
pub const CRT_SHAPE_BLOCK_BINS: u64 = 2_048;

/// Least spacing of two CRT excess images, in base bins (100 ms): bounds the imaging load
/// during a long burst to 10 images per second of event time.
pub const CRT_IMAGE_SPACING_BINS: u64 = 10;

/// Gap of event time after which a new alert starts a new burst, in ticks (120 s). Within it,
/// alerts continue the current burst with increasing sequence numbers.
pub const BURST_GAP_TICKS: u64 = 120 * 50_000;

/// A further alert of the same burst is issued only if its image SNR exceeds the best so far
/// by this factor (10 %): one burst gives a short sequence of improving alerts, not one alert
/// per image.
pub const ALERT_IMPROVEMENT: f32 = 1.10;

/// Catalogue sources the trigger masks at once when they are below threshold in an image.
pub const MAX_MASKED_SOURCES: usize = 8;

/// Static memory of the whole unit, `Unit<FlightStorage>`, on `thumbv7em-none-eabihf`: the
/// storage ([`STORAGE_FOOTPRINT`]), the science trigger ([`TRIGGER_FOOTPRINT_THUMBV7EM`]) and
/// 39 220 octets of unit state (CLTU decoder 1.1 KiB, TM queues 14 KiB, schedule pool 16 KiB,
/// request history 2 KiB, dump ranges 512 octets,
/// table store, AOS frame buffer, counters). Checked by a compile-time assertion in every build
/// for that target.
pub const UNIT_FOOTPRINT_THUMBV7EM: usize = 4_717_680;

/// Static memory of the science trigger (`onboard::trigger::Trigger`) on
/// `thumbv7em-none-eabihf`: 3.69 MiB, of which the imager 2.15 MiB (two balance slots with the
/// cleaning's model images), the CRT 0.63 MiB (event
/// ring 256 KiB, bin counts 144 KiB, background bins 75 KiB, fits 32 KiB, shapes 25 KiB, the
/// per-bin (band, zone mask) cells 12 KiB, per-series test thresholds 9 KiB), the
/// IMT 0.54 MiB (8 accumulations × 4 bands of `u16` sums, 400 KiB; the cycle being filled per
/// IMT band and per elementary band, 150 KiB), DPIX lookups 338 KiB (of which the per-pixel
/// PHA tables 231 KiB), the search being made ready (`SearchJob`: shadowgram, variance, pixels
/// imaged, 57 KiB) and the searcher's pixel weights and source shadow (50 KiB)
/// (`docs/trigger.md`, "Memory").
/// Checked at compile time.
pub const TRIGGER_FOOTPRINT_THUMBV7EM: usize = 3_869_216;

// Compile-time checks of the relations between the capacities.
// ST[06] addresses and lengths are 32-bit: every memory must be addressable.
const _: () = assert!(BANK_LEN as u64 <= u32::MAX as u64);
const _: () = assert!(MAX_TABLE_IMAGE_LEN as u64 <= u32::MAX as u64);
// The table arena and every buffer length fit the `u32` lengths the static backend stores.
const _: () = assert!(TABLE_ARENA_LEN as u64 <= u32::MAX as u64);
// A bank holds at least an image header.
const _: () = assert!(BANK_LEN > crate::image::HEADER_LEN);
// The table store addresses slots with a `u8`.
const _: () = assert!(TABLE_SLOTS <= 256);
// Records hold their 28 octets of content plus a CRC-32.
const _: () = assert!(RECORD_LEN == 32);
// Every table of the registry has a slot, and every flight slot holds its largest table.
const _: () = assert!(UNIT_TABLES <= TABLE_SLOTS);
#[allow(clippy::indexing_slicing)] // evaluated at build time
const _: () = {
    let mut i = 0;
    while i < UNIT_TABLES {
        assert!(FLIGHT_TABLE_BUFFER_LENS[i] >= tables::TableId::ALL[i].max_image_len());
        assert!(FLIGHT_TABLE_BUFFER_LENS[i] <= MAX_TABLE_IMAGE_LEN);
        i += 1;
    }
};
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
        // Octet arrays, `Option<[u8; N]>` and `u32` arrays have the same layout on the host
        // and on `thumbv7em-none-eabihf`, where the same figure was measured.
        assert_eq!(core::mem::size_of::<crate::storage::FlightStorage>(), STORAGE_FOOTPRINT);
        assert_eq!(STORAGE_FOOTPRINT, 809_244);
    }

    #[test]
    fn flight_slots_are_sized_per_table() {
        assert_eq!(
            FLIGHT_TABLE_BUFFER_LENS,
            [108_812, 77, 404, 77, 8_077, 269, 39, 0],
            "slot i holds tables::TableId::ALL[i]"
        );
        assert_eq!(TABLE_ARENA_LEN, 2 * 117_755);
        assert_eq!(MAX_TABLE_IMAGE_LEN, 108_812);
    }

    #[test]
    fn flight_geometry_is_made_of_these_limits() {
        let g = crate::storage::Geometry::FLIGHT;
        assert_eq!(
            (g.boot_eeprom_len, g.bank_len, g.ram_patch_len, g.table_slots, g.table_buffer_lens),
            (BOOT_EEPROM_LEN, BANK_LEN, RAM_PATCH_LEN, UNIT_TABLES, FLIGHT_TABLE_BUFFER_LENS)
        );
        assert_eq!(g.table_arena_len(), TABLE_ARENA_LEN);
    }
}
