//! The scenario file of `eic-bench simulate` (TOML, `docs/simulate.md`).
//!
//! Every section but the top-level `seed`, `start` and `duration_s` has defaults, so the
//! smallest scenario is three lines (an hour of background at 5 000 counts/s seen from the
//! default orbit and anti-solar attitude). Unknown keys are refused with their line and
//! column, as are out-of-range values.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A whole scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Name, used in the output file names (`ECL-EVT-SEC_<name>.fits`); default `sim`.
    #[serde(default = "default_name")]
    pub name: String,
    /// Seed of every random draw: same scenario and seed, same output bytes.
    pub seed: u64,
    /// Start time, UTC (a TOML date-time, e.g. `2026-03-01T12:00:00Z`).
    pub start: toml::value::Datetime,
    /// Duration, seconds (> 0, at most 10 days).
    pub duration_s: f64,
    /// Table directory whose pixel gain/offset/threshold/status and SAA contour the simulator
    /// uses (relative to the scenario file); the default table set when absent.
    #[serde(default)]
    pub tables: Option<PathBuf>,
    /// Instrument truth directory (relative to the scenario file): the detector as it really
    /// is, which makes the events instead of `tables` (pixels, SAA contour) and adds noise,
    /// drift and background lines (`sim::truth`). The on-board tables stay the user's.
    #[serde(default)]
    pub truth: Option<PathBuf>,
    /// Detector response.
    #[serde(default)]
    pub detector: Detector,
    /// Background.
    #[serde(default)]
    pub background: Background,
    /// Orbit.
    #[serde(default)]
    pub orbit: Orbit,
    /// Attitude.
    #[serde(default)]
    pub attitude: Attitude,
    /// Gamma-ray bursts (`[[burst]]`).
    #[serde(default, rename = "burst")]
    pub bursts: Vec<Burst>,
    /// Persistent sources (`[[source]]`), optionally flaring.
    #[serde(default, rename = "source")]
    pub sources: Vec<Source>,
}

fn default_name() -> String {
    "sim".to_owned()
}

/// Detector response.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Detector {
    /// Lowest photon energy simulated, keV (fluxes are given in `[e_min_kev, e_max_kev]`).
    pub e_min_kev: f64,
    /// Highest photon energy simulated, keV.
    pub e_max_kev: f64,
    /// Energy resolution, FWHM in keV (Gaussian), before the PHA conversion.
    pub fwhm_kev: f64,
    /// Fraction of events flagged multiple (`MULT` = 2).
    pub multiple_fraction: f64,
}

impl Default for Detector {
    fn default() -> Self {
        Detector { e_min_kev: 4.0, e_max_kev: 150.0, fwhm_kev: 1.2, multiple_fraction: 0.02 }
    }
}

/// Background: diffuse sky (CXB through the mask) and a flat particle component.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Background {
    /// Total background rate over the plane outside the SAA, counts/s (photons reaching the
    /// detector in `[e_min_kev, e_max_kev]`, before thresholds and dead pixels).
    pub rate_cps: f64,
    /// Fraction of it from the diffuse sky (CXB); the rest is the particle component.
    pub cxb_fraction: f64,
    /// Photon index of the particle component (dN/dE ∝ E^−index; 0 = flat).
    pub particle_index: f64,
    /// Factor on the particle rate inside the SAA contour (the trigger must be inhibited
    /// there); 1 = no change.
    pub saa_factor: f64,
}

impl Default for Background {
    fn default() -> Self {
        Background { rate_cps: 5_000.0, cxb_fraction: 0.75, particle_index: 0.0, saa_factor: 10.0 }
    }
}

/// A circular orbit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Orbit {
    /// Altitude, km.
    pub altitude_km: f64,
    /// Inclination, degrees.
    pub inclination_deg: f64,
    /// Period, seconds.
    pub period_s: f64,
    /// Right ascension of the ascending node at the start, degrees.
    pub raan_deg: f64,
    /// Argument of latitude at the start (0 = ascending node), degrees.
    pub phase_deg: f64,
    /// Interval between attitude and orbit samples (files and stimulus packets), seconds.
    pub sample_s: f64,
}

impl Default for Orbit {
    fn default() -> Self {
        Orbit {
            altitude_km: 625.0,
            inclination_deg: 30.0,
            period_s: 5_760.0,
            raan_deg: 0.0,
            phase_deg: 0.0,
            sample_s: 1.0,
        }
    }
}

/// How the instrument points.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, tag = "mode", rename_all = "kebab-case")]
pub enum Attitude {
    /// A fixed pointing.
    Fixed {
        /// Boresight right ascension, degrees.
        ra_deg: f64,
        /// Boresight declination, degrees.
        dec_deg: f64,
        /// Roll, degrees (angle from celestial north to the instrument +Z axis, east of north).
        #[serde(default)]
        roll_deg: f64,
    },
    /// Roughly anti-solar: the boresight follows the anti-Sun direction (which moves ~1°/day)
    /// offset by `offset_dec_deg` in declination, re-pointed every `repoint_s`.
    AntiSolar {
        /// Declination offset from the anti-Sun direction, degrees.
        #[serde(default)]
        offset_dec_deg: f64,
        /// Roll, degrees.
        #[serde(default)]
        roll_deg: f64,
        /// Re-pointing interval, seconds.
        #[serde(default = "default_repoint")]
        repoint_s: f64,
    },
}

fn default_repoint() -> f64 {
    600.0
}

impl Default for Attitude {
    fn default() -> Self {
        Attitude::AntiSolar { offset_dec_deg: 0.0, roll_deg: 0.0, repoint_s: default_repoint() }
    }
}

/// A direction: in the instrument frame (`y_deg`, `z_deg`, ICD §4) or on the sky (J2000).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Direction {
    /// Projected angles in the instrument frame.
    Instrument {
        /// atan(y/x), degrees.
        y_deg: f64,
        /// atan(z/x), degrees.
        z_deg: f64,
    },
    /// Sky position.
    Sky {
        /// Right ascension, degrees.
        ra_deg: f64,
        /// Declination, degrees.
        dec_deg: f64,
    },
}

/// A gamma-ray burst: a fast-rise exponential-decay pulse (Norris et al. 1996 shape).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Burst {
    /// Onset, seconds after the scenario start.
    pub t0_s: f64,
    /// Direction in the instrument frame, degrees (give `y_deg` and `z_deg`, or `ra_deg` and
    /// `dec_deg`).
    #[serde(default)]
    pub y_deg: Option<f64>,
    /// See `y_deg`.
    #[serde(default)]
    pub z_deg: Option<f64>,
    /// Direction on the sky (J2000), degrees.
    #[serde(default)]
    pub ra_deg: Option<f64>,
    /// See `ra_deg`.
    #[serde(default)]
    pub dec_deg: Option<f64>,
    /// Peak photon flux in `[e_min_kev, e_max_kev]`, ph cm⁻² s⁻¹.
    pub peak_flux: f64,
    /// Onset to peak, seconds.
    #[serde(default = "default_rise")]
    pub rise_s: f64,
    /// e-folding time of the decay, seconds.
    #[serde(default = "default_decay")]
    pub decay_s: f64,
    /// Photon index of the spectrum (dN/dE ∝ E^−index).
    #[serde(default = "default_burst_index")]
    pub index: f64,
}

fn direction(
    y: Option<f64>,
    z: Option<f64>,
    ra: Option<f64>,
    dec: Option<f64>,
) -> Result<Direction, String> {
    match (y, z, ra, dec) {
        (Some(y_deg), Some(z_deg), None, None) => Ok(Direction::Instrument { y_deg, z_deg }),
        (None, None, Some(ra_deg), Some(dec_deg)) => Ok(Direction::Sky { ra_deg, dec_deg }),
        _ => Err("give the direction as y_deg and z_deg (instrument frame) or as ra_deg and \
                  dec_deg (J2000), not both"
            .to_owned()),
    }
}

impl Burst {
    /// The burst's direction.
    ///
    /// # Errors
    /// Neither or both of (`y_deg`, `z_deg`) and (`ra_deg`, `dec_deg`) given.
    pub fn direction(&self) -> Result<Direction, String> {
        direction(self.y_deg, self.z_deg, self.ra_deg, self.dec_deg)
    }
}

impl Source {
    /// The source's direction.
    ///
    /// # Errors
    /// As [`Burst::direction`].
    pub fn direction(&self) -> Result<Direction, String> {
        direction(self.y_deg, self.z_deg, self.ra_deg, self.dec_deg)
    }
}

fn default_rise() -> f64 {
    0.5
}
fn default_decay() -> f64 {
    5.0
}
fn default_burst_index() -> f64 {
    1.5
}
fn default_source_index() -> f64 {
    2.1
}

/// A persistent source (e.g. a catalogue source such as the Crab).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Name, for the summary.
    #[serde(default)]
    pub name: String,
    /// Direction in the instrument frame, degrees (give `y_deg` and `z_deg`, or `ra_deg` and
    /// `dec_deg`).
    #[serde(default)]
    pub y_deg: Option<f64>,
    /// See `y_deg`.
    #[serde(default)]
    pub z_deg: Option<f64>,
    /// Direction on the sky (J2000), degrees.
    #[serde(default)]
    pub ra_deg: Option<f64>,
    /// See `ra_deg`.
    #[serde(default)]
    pub dec_deg: Option<f64>,
    /// Quiescent photon flux in `[e_min_kev, e_max_kev]`, ph cm⁻² s⁻¹.
    pub flux: f64,
    /// Photon index.
    #[serde(default = "default_source_index")]
    pub index: f64,
    /// Flares (`[[source.flare]]`): the flux is multiplied by 1 + the sum of their pulses.
    #[serde(default, rename = "flare")]
    pub flares: Vec<Flare>,
}

/// A flare of a persistent source: a FRED pulse of the flux factor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flare {
    /// Onset, seconds after the scenario start.
    pub t0_s: f64,
    /// Flux at the peak as a multiple of the quiescent flux, minus one (e.g. 9 = ten times).
    pub peak_factor: f64,
    /// Onset to peak, seconds.
    #[serde(default = "default_rise")]
    pub rise_s: f64,
    /// e-folding time of the decay, seconds.
    #[serde(default = "default_decay")]
    pub decay_s: f64,
}

/// A scenario that cannot be used: where and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    /// The file (or `<scenario>`).
    pub origin: String,
    /// Line and column from 1, when known.
    pub at: Option<(usize, usize)>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.at {
            Some((l, c)) => write!(f, "{}:{l}:{c}: {}", self.origin, self.message),
            None => write!(f, "{}: {}", self.origin, self.message),
        }
    }
}

impl std::error::Error for ScenarioError {}

/// Longest scenario, seconds (10 days).
pub const MAX_DURATION_S: f64 = 864_000.0;

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

impl Scenario {
    /// Parses and checks scenario text; `origin` names it in errors.
    ///
    /// # Errors
    /// TOML syntax, unknown keys, wrong types (with line and column), and values out of range.
    pub fn parse(text: &str, origin: &str) -> Result<Self, ScenarioError> {
        let s: Scenario = toml::from_str(text).map_err(|e| ScenarioError {
            origin: origin.to_owned(),
            at: e.span().map(|s| line_col(text, s.start)),
            message: e.message().trim().to_owned(),
        })?;
        s.check().map_err(|message| ScenarioError {
            origin: origin.to_owned(),
            at: None,
            message,
        })?;
        Ok(s)
    }

    /// Reads a scenario file; a relative `tables` path is made relative to the file.
    ///
    /// # Errors
    /// Unreadable file, or those of [`Scenario::parse`].
    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
            origin: origin.clone(),
            at: None,
            message: format!("cannot read the scenario: {e}"),
        })?;
        let mut s = Self::parse(&text, &origin)?;
        if let Some(t) = s.tables.as_mut()
            && t.is_relative()
        {
            *t = path.parent().unwrap_or(Path::new(".")).join(&*t);
        }
        if let Some(t) = s.truth.as_mut()
            && t.is_relative()
        {
            *t = path.parent().unwrap_or(Path::new(".")).join(&*t);
        }
        Ok(s)
    }

    /// The start time as seconds since MJDREF 57754 TT.
    ///
    /// # Errors
    /// A date-time without a date or time, a local time without an offset, or a date before
    /// 2017.
    pub fn start_s(&self) -> Result<f64, String> {
        datetime_to_mjdref_s(&self.start)
    }

    /// Checks value ranges.
    ///
    /// # Errors
    /// The first value out of range, named by section and key.
    pub fn check(&self) -> Result<(), String> {
        let finite_in = |what: &str, v: f64, lo: f64, hi: f64| -> Result<(), String> {
            if v.is_finite() && v >= lo && v <= hi {
                Ok(())
            } else {
                Err(format!("{what} = {v}: expected a number in {lo}..={hi}"))
            }
        };
        let positive = |what: &str, v: f64, hi: f64| -> Result<(), String> {
            if v.is_finite() && v > 0.0 && v <= hi {
                Ok(())
            } else {
                Err(format!("{what} = {v}: expected a number > 0 and <= {hi}"))
            }
        };
        if self.name.is_empty()
            || !self.name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(format!(
                "name = {:?}: use letters, digits, '-', '_' or '.' (it names the files)",
                self.name
            ));
        }
        positive("duration_s", self.duration_s, MAX_DURATION_S)?;
        self.start_s()?;
        let d = &self.detector;
        finite_in("detector.e_min_kev", d.e_min_kev, 1.0, 300.0)?;
        finite_in("detector.e_max_kev", d.e_max_kev, d.e_min_kev + 1.0, 1000.0)?;
        finite_in("detector.fwhm_kev", d.fwhm_kev, 0.0, 20.0)?;
        finite_in("detector.multiple_fraction", d.multiple_fraction, 0.0, 1.0)?;
        let b = &self.background;
        finite_in("background.rate_cps", b.rate_cps, 0.0, 1.0e6)?;
        finite_in("background.cxb_fraction", b.cxb_fraction, 0.0, 1.0)?;
        finite_in("background.particle_index", b.particle_index, -5.0, 5.0)?;
        finite_in("background.saa_factor", b.saa_factor, 0.0, 1000.0)?;
        let o = &self.orbit;
        finite_in("orbit.altitude_km", o.altitude_km, 100.0, 100_000.0)?;
        finite_in("orbit.inclination_deg", o.inclination_deg, 0.0, 180.0)?;
        positive("orbit.period_s", o.period_s, 1.0e6)?;
        finite_in("orbit.raan_deg", o.raan_deg, -360.0, 360.0)?;
        finite_in("orbit.phase_deg", o.phase_deg, -360.0, 360.0)?;
        finite_in("orbit.sample_s", o.sample_s, 0.01, 3600.0)?;
        match &self.attitude {
            Attitude::Fixed { ra_deg, dec_deg, roll_deg } => {
                finite_in("attitude.ra_deg", *ra_deg, -360.0, 360.0)?;
                finite_in("attitude.dec_deg", *dec_deg, -90.0, 90.0)?;
                finite_in("attitude.roll_deg", *roll_deg, -360.0, 360.0)?;
            }
            Attitude::AntiSolar { offset_dec_deg, roll_deg, repoint_s } => {
                finite_in("attitude.offset_dec_deg", *offset_dec_deg, -90.0, 90.0)?;
                finite_in("attitude.roll_deg", *roll_deg, -360.0, 360.0)?;
                positive("attitude.repoint_s", *repoint_s, MAX_DURATION_S)?;
            }
        }
        let dir = |what: &str, d: Result<Direction, String>| -> Result<(), String> {
            match d.map_err(|e| format!("{what}: {e}"))? {
                Direction::Instrument { y_deg, z_deg } => {
                    finite_in(&format!("{what}.y_deg"), y_deg, -89.0, 89.0)?;
                    finite_in(&format!("{what}.z_deg"), z_deg, -89.0, 89.0)
                }
                Direction::Sky { ra_deg, dec_deg } => {
                    finite_in(&format!("{what}.ra_deg"), ra_deg, -360.0, 360.0)?;
                    finite_in(&format!("{what}.dec_deg"), dec_deg, -90.0, 90.0)
                }
            }
        };
        for (i, b) in self.bursts.iter().enumerate() {
            let w = format!("burst[{i}]");
            finite_in(&format!("{w}.t0_s"), b.t0_s, -MAX_DURATION_S, MAX_DURATION_S)?;
            dir(&w, b.direction())?;
            finite_in(&format!("{w}.peak_flux"), b.peak_flux, 0.0, 1.0e5)?;
            positive(&format!("{w}.rise_s"), b.rise_s, 1.0e4)?;
            positive(&format!("{w}.decay_s"), b.decay_s, 1.0e5)?;
            finite_in(&format!("{w}.index"), b.index, -3.0, 5.0)?;
        }
        for (i, s) in self.sources.iter().enumerate() {
            let w = format!("source[{i}]");
            dir(&w, s.direction())?;
            finite_in(&format!("{w}.flux"), s.flux, 0.0, 1.0e4)?;
            finite_in(&format!("{w}.index"), s.index, -3.0, 5.0)?;
            for (j, f) in s.flares.iter().enumerate() {
                let w = format!("{w}.flare[{j}]");
                finite_in(&format!("{w}.t0_s"), f.t0_s, -MAX_DURATION_S, MAX_DURATION_S)?;
                finite_in(&format!("{w}.peak_factor"), f.peak_factor, 0.0, 1.0e5)?;
                positive(&format!("{w}.rise_s"), f.rise_s, 1.0e4)?;
                positive(&format!("{w}.decay_s"), f.decay_s, 1.0e5)?;
            }
        }
        Ok(())
    }
}

/// Days from 1970-01-01 to a civil date (proleptic Gregorian).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of a day count from 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A TOML date-time (UTC, or with an offset) as seconds since MJDREF 57754 TT.
///
/// # Errors
/// Missing date or time, a local date-time without an offset, a date before 2017.
pub fn datetime_to_mjdref_s(dt: &toml::value::Datetime) -> Result<f64, String> {
    let date = dt.date.ok_or("start: a date is needed (e.g. 2026-03-01T12:00:00Z)")?;
    let time = dt.time.ok_or("start: a time is needed (e.g. 2026-03-01T12:00:00Z)")?;
    let offset_min: i64 = match dt.offset {
        Some(toml::value::Offset::Z) => 0,
        Some(toml::value::Offset::Custom { minutes }) => i64::from(minutes),
        None => return Err("start: give the time zone, e.g. 2026-03-01T12:00:00Z (UTC)".into()),
    };
    let days = days_from_civil(i64::from(date.year), u32::from(date.month), u32::from(date.day));
    let secs = days * 86_400
        + i64::from(time.hour) * 3600
        + i64::from(time.minute) * 60
        + i64::from(time.second.unwrap_or(0))
        - offset_min * 60;
    let nanos = time.nanosecond.unwrap_or(0);
    // TT − UTC = 32.184 s + the leap seconds (TAI − UTC) in force, from the codec's table; the
    // CUC fine field is only 2⁻¹⁶ s, so the exact offset is rebuilt from its integer part.
    let cuc = tc_tm::pus::time::Cuc::from_unix_utc(secs, 0)
        .ok_or("start: before 2017-01-01 (the mission time origin)")?;
    let since = (secs - tc_tm::pus::time::UNIX_2017) as f64;
    let leap = (cuc.as_secs_f64() - since - 32.184).round();
    Ok(since + leap + 32.184 + f64::from(nanos) * 1e-9)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "seed = 1\nstart = 2026-03-01T12:00:00Z\nduration_s = 60\n";

    #[test]
    fn minimal_scenario_takes_the_defaults() {
        let s = Scenario::parse(MINIMAL, "s.toml").unwrap();
        assert_eq!(s.background.rate_cps, 5_000.0);
        assert_eq!(s.orbit.period_s, 5_760.0);
        assert!(matches!(s.attitude, Attitude::AntiSolar { .. }));
        // 2026-03-01T12:00:00 UTC: 3346 days + 12 h after 2017-01-01, plus TT − UTC (69.184 s).
        let t = s.start_s().unwrap();
        let want = 3346.0 * 86_400.0 + 43_200.0 + 69.184;
        assert!((t - want).abs() < 1e-6, "{t} {want}");
    }

    #[test]
    fn directions_and_errors_are_located() {
        let text = format!(
            "{MINIMAL}[[burst]]\nt0_s = 10\ny_deg = 5\nz_deg = -3\npeak_flux = 2\n\
             [[source]]\nname = \"Crab\"\nra_deg = 83.63\ndec_deg = 22.01\nflux = 0.3\n"
        );
        let s = Scenario::parse(&text, "s.toml").unwrap();
        assert_eq!(s.bursts[0].direction(), Ok(Direction::Instrument { y_deg: 5.0, z_deg: -3.0 }));
        assert_eq!(s.sources[0].direction(), Ok(Direction::Sky { ra_deg: 83.63, dec_deg: 22.01 }));
        let e = Scenario::parse(
            &format!("{MINIMAL}[[burst]]\nt0_s = 1\ny_deg = 1\npeak_flux = 1\n"),
            "s",
        )
        .unwrap_err();
        assert!(e.to_string().contains("burst[0]: give the direction"), "{e}");
        let e = Scenario::parse(&format!("{MINIMAL}colour = 3\n"), "s.toml").unwrap_err();
        assert_eq!(e.at.map(|a| a.0), Some(4), "{e}");
        let e = Scenario::parse(&format!("{MINIMAL}[background]\nrate_cps = -1\n"), "s.toml")
            .unwrap_err();
        assert!(e.to_string().contains("background.rate_cps = -1"), "{e}");
        let e = Scenario::parse("seed = 1\nstart = 2026-03-01T12:00:00\nduration_s = 1\n", "s")
            .unwrap_err();
        assert!(e.to_string().contains("time zone"), "{e}");
    }

    #[test]
    fn civil_dates_round_trip() {
        for d in [-1000, 0, 17_167, 20_000, 60_000] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
        assert_eq!(days_from_civil(2017, 1, 1), 17_167);
    }
}
