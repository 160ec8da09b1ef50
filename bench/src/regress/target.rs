//! What runs a scenario with a table set: the [`Target`] trait, the alerts it returns, and
//! loaded table sets.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tables::TableId;
use tables::set::TableSet;

use super::suite::ScenarioInstance;

/// One alert of the trigger, reduced to what a regression compares (the fields of the alert
/// JSON lines of ICD §6 that matter here).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// `CRT` or `IMT`.
    pub trigger: String,
    /// Time of the alert after the start of the scenario, s.
    pub time_s: f64,
    /// Timescale (CRT) or accumulation (IMT) length, ms.
    pub timescale_ms: u32,
    /// Image SNR, sigma.
    pub snr: f64,
    /// Direction y, degrees (instrument frame, ICD §4).
    pub y_deg: f64,
    /// Direction z, degrees.
    pub z_deg: f64,
    /// 90 % error radius reported, arcmin.
    pub r90_arcmin: f64,
    /// Catalogue ID when the alert names a known source.
    pub catalog_id: Option<u16>,
}

/// A light curve and sky image around an alert, for the report's changed alerts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertDetail {
    /// Bin width, s.
    pub bin_s: f64,
    /// Start of the first bin after the start of the scenario, s.
    pub start_s: f64,
    /// Counts per bin over the plane.
    pub counts: Vec<f64>,
    /// Side of the square sky image (pixels), 0 when none.
    pub sky_side: usize,
    /// Sky SNR image, row-major (`y` rows, `z` columns), over ±`sky_half_deg`.
    pub sky_snr: Vec<f64>,
    /// Half-width of the sky image, degrees.
    pub sky_half_deg: f64,
}

/// A target failed to run a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetError {
    /// The scenario.
    pub scenario: String,
    /// Why.
    pub reason: String,
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "scenario {}: {}", self.scenario, self.reason)
    }
}

impl std::error::Error for TargetError {}

/// A table set loaded from its directory, with the digest that identifies it in reports.
#[derive(Clone, Debug)]
pub struct Tables {
    /// Label in reports (`baseline`, `candidate`, or a sweep value).
    pub label: String,
    /// Directory it was loaded from (for targets that push files), if any.
    pub dir: Option<PathBuf>,
    /// The tables.
    pub set: TableSet,
    /// CRC-32 over every table image in ID order: two sets with the same digest are the same.
    pub digest: u32,
}

impl Tables {
    /// Loads and validates a table set directory.
    ///
    /// # Errors
    /// Unreadable or invalid tables (every problem listed).
    pub fn load(label: &str, dir: &Path) -> Result<Tables, String> {
        let set = TableSet::load_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut t = Tables::from_set(label, set).map_err(|e| format!("{}: {e}", dir.display()))?;
        t.dir = Some(dir.to_path_buf());
        Ok(t)
    }

    /// Wraps a table set (validated) without a directory.
    ///
    /// # Errors
    /// The set does not validate (every problem listed).
    pub fn from_set(label: &str, set: TableSet) -> Result<Tables, String> {
        let problems = set.problems();
        if !problems.is_empty() {
            let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
            return Err(format!("{label} tables invalid: {}", list.join("; ")));
        }
        let mut all = Vec::new();
        for id in TableId::ALL {
            all.extend(set.image(id).map_err(|e| format!("{label} tables: {e}"))?);
        }
        Ok(Tables { label: label.into(), dir: None, set, digest: tc_tm::crc::crc32(&all) })
    }
}

/// Runs scenarios through a trigger configured with a table set.
pub trait Target: Sync {
    /// What ran, for the report (`model`, `local`, `device /dev/pts/3 (twin)`).
    fn name(&self) -> String;

    /// Whether scenarios may run concurrently (false for a unit on a serial link).
    fn parallel(&self) -> bool {
        true
    }

    /// Makes `tables` active before its scenarios run (a unit: the table push workflow).
    ///
    /// # Errors
    /// The tables could not be loaded.
    fn prepare(&self, _tables: &Tables) -> Result<(), TargetError> {
        Ok(())
    }

    /// Runs one scenario and returns its alerts in time order.
    ///
    /// # Errors
    /// The scenario cannot run on this target (reason given).
    fn run(&self, scenario: &ScenarioInstance, tables: &Tables) -> Result<Vec<Alert>, TargetError>;

    /// Called when both table sets have run `scenario` and its details were taken (a target
    /// may drop what it kept for it, e.g. simulated inputs).
    fn done(&self, _scenario: &ScenarioInstance) {}

    /// Light curve and sky image around an alert, when the target can produce them.
    fn detail(
        &self,
        _scenario: &ScenarioInstance,
        _tables: &Tables,
        _alert: &Alert,
    ) -> Option<AlertDetail> {
        None
    }
}

/// Angular distance between two instrument-frame directions given as projected angles, in
/// degrees.
pub fn separation_deg(y1: f64, z1: f64, y2: f64, z2: f64) -> f64 {
    let v = |y: f64, z: f64| {
        let (ty, tz) = (y.to_radians().tan(), z.to_radians().tan());
        let n = (1.0 + ty * ty + tz * tz).sqrt();
        [1.0 / n, ty / n, tz / n]
    };
    let (a, b) = (v(y1, z1), v(y2, z2));
    let dot = (a[0] * b[0] + a[1] * b[1] + a[2] * b[2]).clamp(-1.0, 1.0);
    dot.acos().to_degrees()
}

/// The flight localisation law (ICD §4): r90 = √((77′/SNR)² + (2′)²), arcmin.
pub fn r90_law_arcmin(snr: f64) -> f64 {
    let s = snr.max(1e-6);
    ((77.0 / s).powi(2) + 4.0).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separation_on_axis_is_the_angle() {
        assert!((separation_deg(0.0, 0.0, 10.0, 0.0) - 10.0).abs() < 1e-9);
        assert!((separation_deg(5.0, 5.0, 5.0, 5.0)).abs() < 1e-6);
    }

    #[test]
    fn law_matches_icd() {
        assert!((r90_law_arcmin(7.0) - (121.0f64 + 4.0).sqrt()).abs() < 1e-9);
        assert!((r90_law_arcmin(1e6) - 2.0).abs() < 1e-3);
    }

    #[test]
    fn digest_tells_sets_apart() {
        let a = Tables::from_set("a", tables::defaults::default_set()).unwrap();
        let mut s = tables::defaults::default_set();
        s.imt.accumulations[0].snr = 7.0;
        let b = Tables::from_set("b", s).unwrap();
        assert_ne!(a.digest, b.digest);
    }
}
