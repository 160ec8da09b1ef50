//! Heap-free CCSDS / PUS-C codec for the ECLAIRs UGTS link (`ICD.md` §1–3).
//!
//! The same code runs on board (`#![no_std]`, no `alloc`, `thumbv7em-none-eabihf`) and on the
//! ground. Layers, bottom up:
//!
//! | direction | layers |
//! |---|---|
//! | uplink   | [`cltu`] (BCH(63,56), TC randomiser) → [`tc_frame`] (+ segment header, FECF) → [`spp`] → [`pus::tc`] → [`service`] |
//! | downlink | [`sync`] (ASM search) → [`randomizer`] → [`aos`] (+ OCF, FECF) → [`mpdu`] → [`spp`] → [`pus::tm`] → [`service`] |
//! | control  | [`cop1`]: CLCW, FARM-1 (unit), FOP-1 (ground), pure state machines with time passed in |
//!
//! Every layer is a zero-copy `Packet` view (`new_checked` validates lengths once) plus a
//! validated `Repr` with `parse`, `buffer_len` and `emit`. Parsing checks CRCs by default.
//!
//! # Panic contract
//! After `Packet::new_checked` (or `check_len`) succeeded, no accessor of that view panics.
//! Parsing untrusted input must go through `new_checked`; `parse` of any byte string returns
//! `Ok` or `Err`, never panics. `emit` into a buffer of at least `buffer_len()` octets never
//! panics. These promises are tested by property tests and fuzz targets.
//!
//! # Example
//! ```
//! use tc_tm::spp::{Apid, Packet, PacketType, Repr, SeqCount, SeqFlags};
//! let repr = Repr {
//!     packet_type: PacketType::Tc,
//!     sec_hdr_flag: true,
//!     apid: Apid::new(0x240).unwrap(),
//!     seq_flags: SeqFlags::Unsegmented,
//!     seq_count: SeqCount::new(7).unwrap(),
//!     data_len: 4,
//! };
//! let mut buf = [0u8; 10];
//! repr.emit(&mut Packet::new_unchecked(&mut buf[..])).unwrap();
//! let parsed = Repr::parse(&Packet::new_checked(&buf[..]).unwrap()).unwrap();
//! assert_eq!(parsed, repr);
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)
)]

#[cfg(test)]
extern crate std;

pub mod aos;
pub mod cltu;
pub mod cop1;
pub mod crc;
mod error;
pub mod mission;
pub mod mpdu;
pub mod pus;
pub mod randomizer;
pub mod service;
pub mod spp;
pub mod stimulus;
pub mod sync;
pub mod tc_frame;

pub use error::Error;
