//! The instrument centre's monitor (`eic-bench monitor`, `docs/monitor.md`).
//!
//! - [`web`]: the web page, its users and sessions.

pub mod web;
