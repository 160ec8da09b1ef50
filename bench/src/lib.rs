//! The ECLAIRs bench library behind the `eic-bench` binary.
//!
//! - [`cli`]: the clap command line (one definition per flag, help generated from it).
//! - [`cmd`]: one module per subcommand.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod archive;
pub mod cli;
pub mod cmd;
pub mod hk_limits;
pub mod link;
