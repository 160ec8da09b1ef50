//! The ECLAIRs bench library behind the `eic-bench` binary (being written).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
