//! Regression campaigns of the trigger: one suite of scenarios through a baseline and a
//! candidate table set, compared against the suite's tolerances (`docs/regress.md`).
//!
//! - [`suite`]: the suite file (TOML) and its expansion into deterministic scenario instances.
//! - [`target`]: what runs a scenario with a table set and returns alerts ([`Target`]), and the
//!   statistical [`model`] target used where the trigger itself is not needed.
//! - [`run`]: the parallel runner (rayon), shards and their results files.
//! - [`analysis`]: efficiency, false alerts, localisation, latency, alert diff, verdict.
//! - [`param`]: table parameter paths (`imt.accumulations[*].snr`) and sweeps.
//! - [`html`], [`junit`]: the offline HTML page (inline SVG plots) and JUnit XML.

pub mod analysis;
pub mod host;
pub mod html;
pub mod junit;
pub mod model;
pub mod param;
pub mod run;
pub mod suite;
pub mod target;

pub use analysis::Report;
pub use suite::{ScenarioInstance, Suite};
pub use target::{Alert, Target};
