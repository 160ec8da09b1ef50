//! `eic_bench._native`: the bench library (`eic_bench`, `tables`, `tc_tm`, `onboard`) as a
//! Python extension module. No second implementation: every function here converts arguments,
//! calls the library the `eic-bench` CLI calls, and converts the result (numpy arrays for
//! events and images, dicts with the fields of the CLI's `--json` output for records).
//!
//! The typed, documented API is the pure-Python package `eic_bench` beside this crate
//! (`eic_bench/__init__.py`, `eic_bench/_native.pyi`); see `docs/python.md`.
#![forbid(unsafe_code)]

use pyo3::prelude::*;

mod arrays;
mod conv;
mod errors;
mod regress;
mod replay;
mod sim;
mod tables;
mod tc;
mod tm;

/// The extension module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    tm::register(m)?;
    tc::register(m)?;
    tables::register(m)?;
    sim::register(m)?;
    replay::register(m)?;
    regress::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
