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
//! | [`memory`] | the ST\[06\] memory map: load, dump, check, with the write protections |
//! | [`image`] | the software image format (header, CRC-32s), builder and checker |
//! | [`boot`] | boot the selected bank, else fall back to the other, else safe mode |
//! | [`table_store`] | double-buffered tables: load segments, validate, activate atomically |
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
pub mod image;
pub mod limits;
pub mod memory;
pub mod storage;
#[cfg(feature = "std")]
pub mod storage_fs;
pub mod table_store;
