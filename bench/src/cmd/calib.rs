//! `eic-bench calib`: calibration products from data (`docs/calib.md`). One module per
//! subcommand: [`super::calib_pixels`], [`super::calib_gain`], [`super::calib_saa`].

use std::process::ExitCode;

use clap::Subcommand;

use super::exit::Exit;
use crate::calib::CalibError;

/// The calibration subcommands.
#[derive(Debug, Subcommand)]
pub enum CalibCmd {
    /// Noisy, dead and recovered pixels from per-pixel count rates over the good time: a new
    /// pixels.csv, a workplan slot (pixels.noisy/dead/ok) and a report (HTML, JSON).
    ///
    /// Examples:
    ///   eic-bench simulate examples/calib/day.toml -o day --duration-s 120
    ///   eic-bench calib pixels day --tables examples/workplan-tables -o calib-pixels
    ///   eic-bench calib pixels day --tables examples/workplan-tables -o calib-pixels --json
    #[command(verbatim_doc_comment)]
    Pixels(super::calib_pixels::PixelsArgs),
    /// Per-pixel gain and offset from the background's fluorescence lines: a new pixels.csv
    /// and a report.
    #[command(verbatim_doc_comment)]
    Gain(super::calib_gain::GainArgs),
    /// The SAA contour from the particle rate versus orbit position: a new saa.toml and a
    /// report.
    #[command(verbatim_doc_comment)]
    Saa(super::calib_saa::SaaArgs),
}

/// Runs a `calib` subcommand.
///
/// # Errors
/// Those of the subcommand.
pub fn run(c: CalibCmd) -> anyhow::Result<ExitCode> {
    match c {
        CalibCmd::Pixels(a) => super::calib_pixels::run(&a),
        CalibCmd::Gain(a) => super::calib_gain::run(&a),
        CalibCmd::Saa(a) => super::calib_saa::run(&a),
    }
}

/// A calibration error as the exit-code table wants it (3 usage, 2 bad data, 1 refused).
pub fn exit_error(e: CalibError) -> anyhow::Error {
    match e {
        CalibError::Usage(m) => Exit::Usage.error(m),
        CalibError::Invalid(m) => super::BadInput(m).into(),
        CalibError::Refused(m) => Exit::Failed.error(m),
    }
}
