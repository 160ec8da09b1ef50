//! The values `ICD.md` fixes for this mission, in one place so the unit and the bench cannot
//! drift. Anything here is contractual (ICD §1–2); the project's own choices live in
//! `docs/icd.md` and beside the code that implements them.

use crate::spp::Apid;

/// Spacecraft identifier used in TC frames (10 bits) and AOS frames (8 bits): `0x053`.
pub const SCID: u16 = 0x053;

/// APID of the UGTS application: TCs, housekeeping, events, verification.
pub const APID_UGTS: Apid = Apid::new_masked(0x240);
/// APID of trigger alerts.
pub const APID_ALERT: Apid = Apid::new_masked(0x241);
/// APID of dumps (memory, tables) and science products.
pub const APID_DUMP: Apid = Apid::new_masked(0x242);
/// APID of the EGSE science stimulus (ICD §5).
pub const APID_STIMULUS: Apid = Apid::new_masked(0x250);
/// APID of idle packets.
pub const APID_IDLE: Apid = Apid::IDLE;

/// PUS source ID of the bench in TC secondary headers, and destination ID of its TM.
pub const BENCH_SOURCE_ID: u16 = 0x0001;

/// Virtual channel of housekeeping, events and verification.
pub const VC_HK: u8 = 0;
/// Virtual channel of trigger alerts (highest priority).
pub const VC_ALERT: u8 = 1;
/// Virtual channel of dumps and science products.
pub const VC_DUMP: u8 = 2;
/// Virtual channel of idle frames.
pub const VC_IDLE: u8 = 63;

/// TC virtual channel used by the bench.
pub const TC_VCID: u8 = 0;
/// TC MAP identifier in the segment header.
pub const TC_MAP_ID: u8 = 0;

/// Fixed AOS transfer frame length in octets (ICD §1).
pub const AOS_FRAME_LEN: usize = 1115;
/// Attached sync marker preceding every AOS frame (not randomised).
pub const ASM: [u8; 4] = [0x1A, 0xCF, 0xFC, 0x1D];
/// A CADU: ASM plus one frame.
pub const CADU_LEN: usize = ASM.len() + AOS_FRAME_LEN;

/// Largest TC transfer frame in octets (CCSDS 232.0-B-4 and ICD §1).
pub const MAX_TC_FRAME_LEN: usize = 1024;
/// Octets of a maximal TC frame left for the frame data field (segment header + packet) once
/// the 5-octet header and the 2-octet FECF are taken: the ICD's "1017".
pub const MAX_TC_FRAME_DATA_LEN: usize = MAX_TC_FRAME_LEN - 5 - 2;
/// Largest TC packet in octets. ICD §2 says 1017, but with the segment header ICD §1 makes
/// mandatory a 1017-octet packet would need a 1025-octet frame, which the 10-bit frame length
/// field cannot express: the largest packet that fits is 1016 (see `docs/icd.md`, "Deviations").
pub const MAX_TC_PACKET_LEN: usize = MAX_TC_FRAME_DATA_LEN - 1;

/// FARM-1 sliding window width W on board (CCSDS 232.1-B-2 §6.1.8.2).
pub const FARM_WINDOW: u8 = 30;
/// FOP-1 sliding window K on the ground.
pub const FOP_WINDOW: u8 = 15;

/// CUC preamble field for 4 coarse + 2 fine octets, agency-defined epoch (CCSDS 301.0-B-4 §3.2.2).
pub const CUC_PFIELD: u8 = 0x2E;
/// Modified Julian Date of the agency epoch, 2017-01-01T00:00:00 TT (SVOM `MJDREF`).
pub const EPOCH_MJD: u32 = 57_754;
