//! The ECLAIRs bench library behind the `eic-bench` binary.
//!
//! - [`cli`]: the clap command line (one definition per flag, help generated from it).
//! - [`cmd`]: one module per subcommand.
//! - [`link`]: serial link, pseudo-terminals, throttle, fault injection.
//! - [`archive`]: the append-only TM archive.
//! - [`hk_limits`]: housekeeping soft/hard limits.
//! - [`session`]: a TC/TM session over a serial device (FOP-1 sender, TM receiver,
//!   verification tracker).
//! - [`twin`]: the digital twin, a unit model behind pseudo-terminals.
//! - [`provision`]: factory provisioning of a fresh twin state (image, boot bank, tables).
//! - [`workflow`]: multi-step workflows (tables pull/push).
//! - [`regress`]: regression campaigns of the trigger (suites, targets, reports, shards).
//! - [`events`]: detector events and platform context (ICD §6) and their file readers.
//! - [`sim`]: the seeded event simulator behind `eic-bench simulate`.
//! - [`replay`]: event files through the on-board trigger, locally or over the stimulus link.
//! - [`hexio`]: hex input/output for the scripting commands.
//! - [`report`]: every TM report as a readable line and as structured JSON, one file per
//!   service.
//! - [`monitor`]: the round-the-clock monitor: SQLite store, ingestion, alarms, reports.
//! - [`names`]: registry names of the numbers telemetry carries (shared by session and report).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod archive;
pub mod cli;
pub mod cmd;
pub mod downlink;
pub mod events;
pub mod hexio;
pub mod hk_limits;
pub mod link;
pub mod locate;
pub mod monitor;
pub mod names;
pub mod provision;
pub mod qemu;
pub mod regress;
pub mod replay;
pub mod report;
pub mod session;
pub mod sim;
pub mod twin;
pub mod workflow;
