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
    /// Per-pixel gain and offset from the background's fluorescence lines (Cd, Te, Ta, Pb):
    /// a new pixels.csv and a report (HTML, JSON). Stacked-and-scaled template fit; a day of
    /// background (4 × 10⁸ events) calibrates every pixel to ~0.1 % in gain; pixels with too
    /// few counts keep their values and are listed (docs/calib.md). The 120 s that the
    /// `calib pixels` example simulates are far too little: the command says so and writes
    /// nothing (exit 1); simulate a day (`--duration-s 86400`) for a real calibration.
    ///
    /// Examples:
    ///   eic-bench calib gain day --tables examples/workplan-tables -o gain   # exit 1: too little
    ///   eic-bench calib gain day --tables examples/workplan-tables -o gain --json   # exit 1
    #[command(verbatim_doc_comment)]
    Gain(super::calib_gain::GainArgs),
    /// The SAA contour from the particle-band rate versus orbit position over many orbits:
    /// the region above K × the quiet level, simplified to the SAA table's vertex count; a
    /// new saa.toml and a report (rate map with the old and new contours). Needs the orbit
    /// file: give triplet directories, not a lone event file (docs/calib.md).
    ///
    /// Examples:
    ///   eic-bench calib saa day/ECL-EVT-SEC_day.fits --tables tables/defaults -o saa   # exit 1
    ///   eic-bench calib saa day --tables tables/defaults -o saa --band-kev 150:90   # exit 3
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

/// The events progress bar of the `calib` commands, on stderr when it is a terminal and the
/// output is not JSON (`quiet`).
pub fn progress_bar(name: &str, total: Option<u64>, quiet: bool) -> indicatif::ProgressBar {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    use std::io::IsTerminal;
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
    let template =
        format!("{name} [{{bar:32}}] {{human_pos}}/{{human_len}} events, {{per_sec}}, eta {{eta}}");
    let style = ProgressStyle::with_template(&template)
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}
