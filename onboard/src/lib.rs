//! A `no_std`, heap-free model of the ECLAIRs UGTS (management and trigger unit).
//!
//! The same code runs in a host process (the "twin", behind a pseudo-terminal) and on
//! `thumbv7em-none-eabihf`. Nothing allocates: every capacity is a named constant in
//! [`limits`], so the static memory footprint is fixed at build time.
//!
//! | module | role |
//! |---|---|
//! | [`limits`] | every capacity (memory sizes, table slots, record length) |
//! | [`storage`] | the [`Storage`](storage::Storage) trait: byte regions and atomic records; static-memory backend, power-cut injector |
//! | `storage_fs` | (feature `std`) the on-disk backend: a state directory, records written atomically |
//! | [`storage_mem`] | the flat memory-area backend the firmware keeps in its flash-like memory (the host builds the same area as a file) |
//! | [`memory`] | the ST\[06\] memory map: load, dump, check, with the write protections |
//! | [`image`] | the software image format (header, CRC-32s), builder and checker |
//! | [`boot`] | boot the selected bank, else fall back to the other, else safe mode |
//! | [`table_store`] | double-buffered tables: load segments, validate, activate atomically |
//! | [`unit`](mod@unit) | the [`Unit`]: CLTU octets in, CADUs out, on-board time injected |
//! | [`link`] | TC frame checks and FARM-1; downlink VC queues, priorities, flush, idle frames |
//! | [`services`] | acceptance checks, ST\[01\] verification, one module per PUS service |
//! | [`failure`] | failure codes and data of the unit's own errors |
//! | [`handover`] | the link state a restart through the firmware's boot loader carries over |
//! | [`trigger`] | the science trigger: mask geometry, FFT imaging, count-rate and image triggers |
//!
//! The unit is the twin's core: it behaves on its serial link like the spare model
//! (`docs/icd/unit.md`), with every capacity fixed in [`limits`]; `Unit<FlightStorage>` takes
//! [`limits::UNIT_FOOTPRINT_THUMBV7EM`] octets on the flight target.
//!
//! # Example
//! ```
//! use onboard::{boot, image, memory, table_store::{SlotConfig, TableStore}};
//! use onboard::storage::{Bank, StaticStorage};
//!
//! // A small storage for the example; the firmware uses `storage::FlightStorage` in a static.
//! let mut storage = Box::new(StaticStorage::<64, 4096, 256, 2, { 2 * 2 * 512 }>::new());
//! let mut img = [0u8; 1024];
//! let n = image::build(b"application", image::SwVersion::new(1, 0, 0, 0), &mut img).unwrap();
//! let access = memory::WriteAccess { running_bank: None, allow_running_bank: false };
//! memory::load(&mut *storage, memory::MemoryId::BankA, 0, &img[..n], access).unwrap();
//!
//! let report = boot::boot(&mut *storage).unwrap();
//! assert_eq!(report.running_bank(), Some(Bank::A));
//!
//! let mut tables = TableStore::open(&*storage, [SlotConfig { id: 1, max_len: 512 }]).unwrap();
//! let table = b"gain/offset table";
//! tables.load_segment(&mut *storage, 1, 1, table.len() as u32, 0, table).unwrap();
//! let crc = tc_tm::crc::crc32(table);
//! tables.validate(&*storage, 1, crc, &mut |_img: &[u8]| Ok::<(), ()>(())).unwrap();
//! assert_eq!(tables.activate(&mut *storage, 1).unwrap().crc32, crc);
//! ```
//!
//! Driving the unit: CLTU octets in, CADUs out.
//! ```
//! use onboard::Unit;
//! use onboard::storage::StaticStorage;
//! use tc_tm::mission::CADU_LEN;
//! use tc_tm::pus::Cuc;
//!
//! // EEPROM, bank and RAM sizes, then 8 table slots sharing an arena: two 512-octet buffers
//! // each. The firmware uses `storage::FlightStorage`, each slot sized for its table.
//! type Small = StaticStorage<64, 4096, 256, 8, { 2 * 8 * 512 }>;
//! let mut unit = Unit::power_on(Small::new(), Cuc::new(10, 0));
//! unit.receive_uplink(&[0x55, 0xEB, 0x90]); // line noise and the start of a CLTU
//! let mut cadu = [0u8; CADU_LEN];
//! unit.line_idle();
//! assert!(unit.next_cadu(Cuc::new(10, 0), &mut cadu)); // the boot event (no image: fallback)
//! assert_eq!(&cadu[..4], &tc_tm::mission::ASM);
//! assert_eq!(unit.counters().tc_accepted, 0);
//! ```
//!
//! # Invariants
//! - Untrusted input (TC fields, stored bytes) never panics: every access is checked.
//! - A power cut at any point leaves the active tables and a bootable image intact: the only
//!   state changes that matter are single atomic record writes (`docs/memory.md`).
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)
)]

#[cfg(any(test, feature = "std"))]
extern crate std;

pub mod boot;
pub mod failure;
pub mod handover;
pub mod image;
pub mod limits;
pub mod link;
pub mod memory;
pub mod services;
pub mod storage;
#[cfg(feature = "std")]
pub mod storage_fs;
pub mod storage_mem;
pub mod table_store;
pub mod trigger;
pub mod unit;

pub use unit::{Counters, ServiceCounters, Unit};
