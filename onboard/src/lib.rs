//! A no_std, heap-free model of the ECLAIRs UGTS (being written).
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
