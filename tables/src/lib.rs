//! ECLAIRs UGTS configuration tables (being written).
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
