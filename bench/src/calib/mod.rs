//! Calibration products from data (`docs/calib.md`): `eic-bench calib pixels` ([`pixels`]:
//! noisy, dead and recovered pixels), `calib gain` ([`gain`]: per-pixel gain and offset from
//! the background lines) and `calib saa` ([`saa`]: the SAA contour from the particle rate).
//! Each reads event files (or ICD §6 triplet directories) and the current table directory and
//! writes a candidate table, a report (offline HTML and JSON) and, for pixels, a workplan slot.
//!
//! Shared here: opening the inputs with their checks ([`open_inputs`]: one clear error per bad
//! file, nothing written), the table directory ([`load_tables`]), the good-time filter
//! ([`SecondFilter`]: outside the SAA of the tables from the orbit file, outside bursts by a
//! rate filter robust to single noisy pixels), Poisson tails ([`stats`]), detector maps as
//! inline SVG ([`detector_map_svg`]) and the all-or-nothing writer of products
//! ([`write_products`]).
//!
//! # The instrument truth the calibrations are measured against (`sim::truth`)
//!
//! A scenario with `truth = "DIR"` is simulated with the detector of DIR, not with its tables:
//!
//! - types: [`crate::sim::Truth`] (loaded with `Truth::load(dir, &base_tables, start_s)`),
//!   its spec [`crate::sim::truth::TruthSpec`] (`truth.toml`), [`crate::sim::truth::Line`],
//!   [`crate::sim::truth::default_lines`]. `Simulator::truth()` gives the loaded truth.
//! - DIR holds `pixels.csv` (the real status, threshold, gain, offset, efficiency at the
//!   epoch; default the scenario's tables), `saa.toml` (the real SAA contour; default the
//!   tables') and `truth.toml` (`epoch`, `dead = [..]`, `[spread]` per-pixel scatter of gain
//!   and offset, `[drift]` per-day gain/offset drift, `[low_efficiency]`, `[[noisy]]` with
//!   `rate_cps` and an optional `telegraph = { on_s, off_s, burst_rate_cps }`, `[[region]]`
//!   noisy rectangles, `default_lines`, `[[line]]`).
//! - the answer key: `Truth::pixels_at(t_s)` is the real pixel table at a time (drifted gain
//!   and offset), `Truth::noise_rates()` the mean extra rate of every noisy pixel,
//!   `Truth::dead_pixels()`, `Truth::saa` the real contour.
//! - lines in PHA: a line photon of energy E in pixel k at time t gets E + N(0, fwhm/2.355),
//!   is kept with the pixel's efficiency, dropped under its threshold, and lands at
//!   `PHA = round((E' − offset_k(t)) / gain_k(t))` clamped to 0–1023, exactly as sky photons;
//!   lines are uniform over the plane and scale with the particles inside the truth's SAA.
//! - noise: events `threshold + Exp(e_scale_kev)` keV (no efficiency, MULT 1) at the pixel's
//!   steady rate, plus the telegraph bursts.

pub mod gain;
pub mod gain_html;
pub mod pixels;
pub mod saa;
pub mod stats;

use std::io::Read;
use std::path::{Path, PathBuf};

use tables::saa::SaaTable;
use tables::set::TableSet;

use crate::events::{Input, OrbitSample, TICKS_PER_S};

/// Why a calibration did not produce its products (nothing is written).
#[derive(Debug)]
#[non_exhaustive]
pub enum CalibError {
    /// A file is missing or unreadable, or the command cannot run as given (exit 3).
    Usage(String),
    /// Damaged or invalid input data: event files, tables (exit 2).
    Invalid(String),
    /// The inputs are valid but cannot give this product (e.g. no orbit for `calib saa`,
    /// exit 1), with the reason.
    Refused(String),
}

impl std::fmt::Display for CalibError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CalibError::Usage(m) | CalibError::Invalid(m) | CalibError::Refused(m) => {
                f.write_str(m)
            }
        }
    }
}

impl std::error::Error for CalibError {}

/// Reads a table directory and checks it with the unit's validators.
///
/// # Errors
/// [`CalibError::Usage`] for a missing directory or file, [`CalibError::Invalid`] for a table
/// that does not parse or validate (the first problems named).
pub fn load_tables(dir: &Path) -> Result<TableSet, CalibError> {
    if !dir.is_dir() {
        return Err(CalibError::Usage(format!(
            "--tables {}: not a directory (give the table directory the unit runs with, e.g. \
             from `eic-bench tables pull`)",
            dir.display()
        )));
    }
    let set = TableSet::load_dir(dir).map_err(|e| {
        if e.message.starts_with("cannot read") {
            CalibError::Usage(e.to_string())
        } else {
            CalibError::Invalid(e.to_string())
        }
    })?;
    let problems = set.problems();
    if let Some(first) = problems.first() {
        return Err(CalibError::Invalid(format!(
            "--tables {}: {} problems, first: {first}",
            dir.display(),
            problems.len()
        )));
    }
    Ok(set)
}

/// The `INSTRUME` card of a FITS file's first headers, if any (`None` for CSV or no card).
fn fits_instrument(path: &Path) -> Result<Option<String>, CalibError> {
    let mut f = std::fs::File::open(path)
        .map_err(|e| CalibError::Usage(format!("{}: cannot open: {e}", path.display())))?;
    let mut head = vec![0u8; 2880 * 8];
    let mut n = 0;
    while n < head.len() {
        match f.read(head.get_mut(n..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) => return Err(CalibError::Usage(format!("{}: {e}", path.display()))),
        }
    }
    if !head.starts_with(b"SIMPLE  =") {
        return Ok(None);
    }
    for card in head.get(..n).unwrap_or_default().chunks(80) {
        if card.starts_with(b"INSTRUME=") {
            let text = String::from_utf8_lossy(card.get(9..).unwrap_or_default()).to_string();
            let v = text.split('/').next().unwrap_or("").trim().trim_matches('\'').trim();
            return Ok(Some(v.to_owned()));
        }
    }
    Ok(None)
}

/// One opened input: the reader and its files.
#[derive(Debug)]
pub struct Opened {
    /// The path as given.
    pub path: PathBuf,
    /// The reader (events merged with attitude and orbit in time order).
    pub input: Input,
    /// The orbit samples (empty without an orbit file).
    pub orbit: Vec<OrbitSample>,
}

/// Opens every input (event file or triplet directory), checking that each exists, is an
/// ECLAIRs file (`INSTRUME = 'ECLAIRs'` when the card is present) and reads.
///
/// # Errors
/// [`CalibError::Usage`] for no input or a missing file, [`CalibError::Invalid`] for another
/// instrument or an unreadable format (the file and place named).
pub fn open_inputs(paths: &[PathBuf]) -> Result<Vec<Opened>, CalibError> {
    if paths.is_empty() {
        return Err(CalibError::Usage("no EVENTS given".into()));
    }
    let mut out = Vec::with_capacity(paths.len());
    for p in paths {
        if !p.exists() {
            return Err(CalibError::Usage(format!("{}: no such file or directory", p.display())));
        }
        let input = Input::open(p).map_err(|e| CalibError::Invalid(e.to_string()))?;
        if let Some(inst) = fits_instrument(&input.files.events)?
            && !inst.eq_ignore_ascii_case("ECLAIRs")
        {
            return Err(CalibError::Invalid(format!(
                "{}: INSTRUME = '{inst}': not an ECLAIRs event file",
                input.files.events.display()
            )));
        }
        let orbit = match &input.files.orbit {
            Some(o) => {
                crate::events::read_orbit(o).map_err(|e| CalibError::Invalid(e.to_string()))?
            }
            None => Vec::new(),
        };
        out.push(Opened { path: p.clone(), input, orbit });
    }
    Ok(out)
}

/// Counts per pixel above which a pixel's counts in one second are capped in the rate filter
/// (so that a noisy pixel does not look like a burst).
pub const FILTER_PIXEL_CAP: u32 = 4;
/// Seconds of good time the rate filter's quiet level is the median of.
pub const FILTER_WINDOW_S: usize = 300;
/// Excess over the quiet level, in Poisson σ, above which a second is a burst (bad time).
pub const FILTER_SIGMA: f64 = 5.0;

/// Why a second is not good time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BadTime {
    /// Inside the tables' SAA contour (orbit file).
    Saa,
    /// Rate above the quiet level (a burst, a flare, the edge of the SAA).
    Rate,
}

/// The good-time filter: one decision per whole second of event time.
///
/// Feed each second's capped total ([`SecondFilter::judge`]) in time order; it answers
/// whether the second is good. A second is bad when the orbit (nearest sample) lies inside
/// the SAA contour, or when its capped total exceeds the median of the last
/// [`FILTER_WINDOW_S`] good seconds by [`FILTER_SIGMA`] Poisson σ. The first seconds of a
/// file, before 30 good seconds are known, are judged against the median of those seen.
#[derive(Clone, Debug)]
pub struct SecondFilter {
    saa: Option<SaaTable>,
    contour: Option<SaaTable>,
    orbit: Vec<OrbitSample>,
    recent: std::collections::VecDeque<u32>,
    /// Seconds judged good.
    pub good_s: u64,
    /// Seconds in the SAA.
    pub saa_s: u64,
    /// Seconds over the rate threshold.
    pub rate_s: u64,
}

impl SecondFilter {
    /// A filter with the tables' SAA contour and the input's orbit samples (empty: the rate
    /// filter alone).
    pub fn new(saa: &SaaTable, orbit: Vec<OrbitSample>) -> Self {
        SecondFilter {
            saa: (!orbit.is_empty()).then(|| saa.clone()),
            contour: Some(saa.clone()),
            orbit,
            recent: std::collections::VecDeque::with_capacity(FILTER_WINDOW_S),
            good_s: 0,
            saa_s: 0,
            rate_s: 0,
        }
    }

    /// Adds an orbit sample later than the others (streaming inputs): the SAA test starts
    /// with the first sample.
    pub fn push_orbit(&mut self, o: OrbitSample) {
        if self.saa.is_none() {
            self.saa = self.contour.clone();
        }
        self.orbit.push(o);
    }

    /// Whether the orbit at `second` (ticks / [`TICKS_PER_S`]) is inside the SAA contour.
    pub fn in_saa(&self, second: u64) -> bool {
        let Some(saa) = &self.saa else { return false };
        let tick = second * TICKS_PER_S + TICKS_PER_S / 2;
        let i = self.orbit.partition_point(|o| o.tick < tick);
        let near = match (i.checked_sub(1).and_then(|j| self.orbit.get(j)), self.orbit.get(i)) {
            (Some(a), Some(b)) => {
                if tick - a.tick <= b.tick - tick {
                    a
                } else {
                    b
                }
            }
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => return false,
        };
        saa.contains(near.lon_deg as f32, near.lat_deg as f32)
    }

    /// Judges one second from its capped total (sum over pixels of min(count, cap)).
    ///
    /// # Errors
    /// The reason it is bad time.
    pub fn judge(&mut self, second: u64, capped_total: u32) -> Result<(), BadTime> {
        if self.in_saa(second) {
            self.saa_s += 1;
            return Err(BadTime::Saa);
        }
        if self.recent.len() >= 10 {
            let mut v: Vec<u32> = self.recent.iter().copied().collect();
            let mid = v.len() / 2;
            let (_, m, _) = v.select_nth_unstable(mid);
            let m = f64::from(*m);
            if f64::from(capped_total) > m + FILTER_SIGMA * m.max(1.0).sqrt() {
                self.rate_s += 1;
                return Err(BadTime::Rate);
            }
        }
        if self.recent.len() == FILTER_WINDOW_S {
            self.recent.pop_front();
        }
        self.recent.push_back(capped_total);
        self.good_s += 1;
        Ok(())
    }
}

/// Writes products into `out` all or nothing: every file is written to a temporary name in
/// `out` first, then renamed; on any error the temporaries are removed and nothing is left.
///
/// # Errors
/// [`CalibError::Usage`] when `out` cannot be created or written.
pub fn write_products(out: &Path, files: &[(&str, Vec<u8>)]) -> Result<(), CalibError> {
    let err = |e: std::io::Error| CalibError::Usage(format!("{}: {e}", out.display()));
    std::fs::create_dir_all(out).map_err(err)?;
    let mut temps = Vec::new();
    for (name, bytes) in files {
        let tmp = out.join(format!(".{name}.partial"));
        if let Err(e) = std::fs::write(&tmp, bytes) {
            for t in temps.iter().chain(std::iter::once(&tmp)) {
                let _ = std::fs::remove_file(t);
            }
            return Err(err(e));
        }
        temps.push(tmp);
    }
    for ((name, _), tmp) in files.iter().zip(&temps) {
        std::fs::rename(tmp, out.join(name)).map_err(err)?;
    }
    Ok(())
}

/// Escapes text for HTML.
pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A detector map (80 × 80, DETNUM = 80·Y + Z, Y down the rows, Z across) as inline SVG:
/// one cell per pixel coloured on a blue–white–red scale from `lo` to `hi` (NaN: grey), with
/// a title and the scale's ends. `values` shorter than 6400 leaves the rest grey.
pub fn detector_map_svg(title: &str, values: &[f64], lo: f64, hi: f64, unit: &str) -> String {
    use std::fmt::Write as _;
    let cell = 4;
    let side = 80 * cell;
    let mut s = String::with_capacity(6400 * 60);
    let _ = write!(
        s,
        "<figure class=\"map\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{side}\" \
         height=\"{side}\" viewBox=\"0 0 {side} {side}\" shape-rendering=\"crispEdges\">"
    );
    for k in 0..6400usize {
        let v = values.get(k).copied().unwrap_or(f64::NAN);
        let colour = if v.is_finite() {
            let x = ((v - lo) / (hi - lo).max(1e-300)).clamp(0.0, 1.0);
            let (r, g, b) = if x < 0.5 {
                let t = x / 0.5;
                ((255.0 * t) as u8, (255.0 * t) as u8, 255u8)
            } else {
                let t = (x - 0.5) / 0.5;
                (255u8, (255.0 * (1.0 - t)) as u8, (255.0 * (1.0 - t)) as u8)
            };
            format!("#{r:02x}{g:02x}{b:02x}")
        } else {
            "#999".to_owned()
        };
        let (y, z) = (k / 80, k % 80);
        let _ = write!(
            s,
            "<rect x=\"{}\" y=\"{}\" width=\"{cell}\" height=\"{cell}\" fill=\"{colour}\"/>",
            z * cell,
            y * cell
        );
    }
    let _ = write!(
        s,
        "</svg><figcaption>{} — scale {lo:.3} (blue) to {hi:.3} (red) {}; grey: no value; \
         rows Y 0–79 top to bottom, columns Z 0–79 left to right</figcaption></figure>",
        html_escape(title),
        html_escape(unit)
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_rejects_saa_and_rate_and_keeps_quiet_seconds() {
        let saa = tables::defaults::default_set().saa;
        // Orbit: second 100 over South America (inside the default contour), the rest at 0, 0.
        let orbit: Vec<OrbitSample> = (0..200u64)
            .map(|s| OrbitSample {
                tick: s * TICKS_PER_S,
                lon_deg: if s == 100 { -50.0 } else { 0.0 },
                lat_deg: if s == 100 { -25.0 } else { 0.0 },
                alt_km: 625.0,
            })
            .collect();
        let mut f = SecondFilter::new(&saa, orbit);
        for s in 0..100 {
            assert_eq!(f.judge(s, 5000 + (s as u32 % 7) * 10), Ok(()));
        }
        assert_eq!(f.judge(100, 5000), Err(BadTime::Saa));
        assert_eq!(f.judge(101, 5000 + 400), Err(BadTime::Rate));
        assert_eq!(f.judge(102, 5000 + 100), Ok(()));
        assert_eq!((f.good_s, f.saa_s, f.rate_s), (101, 1, 1));
    }

    #[test]
    fn products_are_written_whole_or_not_at_all() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        write_products(&out, &[("a.txt", b"a".to_vec()), ("b.txt", b"b".to_vec())]).unwrap();
        assert_eq!(std::fs::read(out.join("b.txt")).unwrap(), b"b");
        let names: Vec<_> = std::fs::read_dir(&out).unwrap().collect();
        assert_eq!(names.len(), 2);
        let svg = detector_map_svg("rate <x>", &[1.0; 6400], 0.0, 2.0, "counts/s");
        assert_eq!(svg.matches("<rect").count(), 6400);
        assert!(svg.contains("rate &lt;x&gt;"));
    }
}
