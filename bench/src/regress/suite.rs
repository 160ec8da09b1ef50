//! The suite file (TOML, `docs/regress.md`) and its expansion into scenario instances.
//!
//! A suite names families of scenarios: simulated bursts over grids of peak flux, duration and
//! direction; hours of pure background; bright catalogue sources; SAA passages; recorded event
//! files. Each family expands, in a fixed order, into [`ScenarioInstance`]s with stable IDs, so
//! every run, shard and merge sees the same list.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Default diffuse background over the whole plane, counts/s (ICD §4: 3–5 × 10³).
pub const DEFAULT_BACKGROUND_CPS: f64 = 4000.0;
/// Default orbit period, s (625 km, ICD §4).
pub const ORBIT_PERIOD_S: f64 = 5760.0;
/// Default orbit inclination, degrees (ICD §4).
pub const ORBIT_INCLINATION_DEG: f64 = 30.0;

/// A suite file as written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    /// Short name, used in reports and JUnit.
    pub name: String,
    /// What the suite is for.
    #[serde(default)]
    pub description: String,
    /// Limits beyond which the candidate regresses.
    #[serde(default)]
    pub tolerances: Tolerances,
    /// How alerts are matched to expected bursts and to each other.
    #[serde(default)]
    pub matching: Matching,
    /// Simulated bursts over grids.
    #[serde(default)]
    pub burst: Vec<BurstFamily>,
    /// Hours of pure background.
    #[serde(default)]
    pub background: Vec<BackgroundFamily>,
    /// Bright catalogue sources in the field of view.
    #[serde(default)]
    pub source: Vec<SourceFamily>,
    /// Orbits through the SAA.
    #[serde(default)]
    pub saa: Vec<SaaFamily>,
    /// Recorded event files (ICD §6).
    #[serde(default)]
    pub recorded: Vec<RecordedScenario>,
    /// Instrument truth directory (relative to the suite file, `docs/simulate.md`): the
    /// simulated scenarios are made with it instead of the baseline tables.
    #[serde(default)]
    pub truth: Option<PathBuf>,
    /// Directory of the suite file, to resolve relative paths (not in the file).
    #[serde(skip)]
    pub dir: PathBuf,
}

/// Limits beyond which the candidate is a regression.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Tolerances {
    /// Largest loss of overall detection efficiency (fraction of expected bursts, 0–1).
    pub max_efficiency_loss: f64,
    /// Largest loss of efficiency in any one peak-flux bin (fraction, 0–1).
    pub max_bin_efficiency_loss: f64,
    /// Largest increase of the false-alert rate, alerts per hour.
    pub max_false_rate_increase_per_hour: f64,
    /// Largest increase of the fraction of localisations outside the flight law's r90.
    pub max_localisation_outside_increase: f64,
    /// Largest increase of the median time from burst onset to first alert, s.
    pub max_latency_increase_s: f64,
}

impl Default for Tolerances {
    fn default() -> Self {
        Tolerances {
            max_efficiency_loss: 0.0,
            max_bin_efficiency_loss: 0.0,
            max_false_rate_increase_per_hour: 0.0,
            max_localisation_outside_increase: 0.05,
            max_latency_increase_s: 10.0,
        }
    }
}

/// How alerts are matched.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Matching {
    /// An alert matches an expected burst within this angle, degrees.
    pub radius_deg: f64,
    /// ... and if it comes no later than this after the burst ends, s.
    pub window_s: f64,
    /// A baseline and a candidate alert are the same alert if of the same trigger type and
    /// this close in time, s (and within `radius_deg`).
    pub same_alert_s: f64,
}

impl Default for Matching {
    fn default() -> Self {
        Matching { radius_deg: 1.0, window_s: 1400.0, same_alert_s: 1.0 }
    }
}

/// A grid of simulated bursts: every combination of flux, duration, direction and seed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BurstFamily {
    /// Family name.
    pub name: String,
    /// Peak photon fluxes, ph/cm²/s in 5–50 keV.
    pub peak_flux: Vec<f64>,
    /// Durations (top-hat width), s.
    pub duration_s: Vec<f64>,
    /// Directions `[y_deg, z_deg]` in the instrument frame (ICD §4).
    pub directions: Vec<[f64; 2]>,
    /// Seeds; each grid point runs once per seed.
    pub seeds: Vec<u64>,
    /// Burst onset after the start of the scenario, s.
    #[serde(default = "default_onset")]
    pub onset_s: f64,
    /// Scenario length, s.
    #[serde(default = "default_burst_length")]
    pub length_s: f64,
    /// Background over the plane, counts/s.
    #[serde(default = "default_background")]
    pub background_cps: f64,
}

/// Hours of pure background.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackgroundFamily {
    /// Family name.
    pub name: String,
    /// Length of each scenario, hours.
    pub hours: f64,
    /// Seeds; one scenario per seed.
    pub seeds: Vec<u64>,
    /// Background over the plane, counts/s.
    #[serde(default = "default_background")]
    pub background_cps: f64,
}

/// A bright, steady catalogue source in the field of view.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceFamily {
    /// Family name.
    pub name: String,
    /// The source's ID in the catalogue table (an alert naming it is not a false alert).
    pub catalog_id: u16,
    /// Photon flux, ph/cm²/s in 5–50 keV.
    pub flux: f64,
    /// Direction `[y_deg, z_deg]`.
    pub direction: [f64; 2],
    /// Length of each scenario, hours.
    pub hours: f64,
    /// Seeds.
    pub seeds: Vec<u64>,
    /// Background over the plane, counts/s.
    #[serde(default = "default_background")]
    pub background_cps: f64,
}

/// Orbits through the South Atlantic Anomaly, with the background rising near it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaaFamily {
    /// Family name.
    pub name: String,
    /// Longitude of the ascending node at the start, degrees (one scenario per value).
    pub start_lon_deg: Vec<f64>,
    /// Length of each scenario, hours.
    pub hours: f64,
    /// Seeds.
    pub seeds: Vec<u64>,
    /// Background far from the SAA, counts/s.
    #[serde(default = "default_background")]
    pub background_cps: f64,
    /// Background factor at the SAA edge (falls off over 10° of latitude/longitude).
    #[serde(default = "default_saa_factor")]
    pub edge_factor: f64,
}

/// A recorded event file (ICD §6: FITS `EVENTS` or CSV) with its known bursts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedScenario {
    /// Scenario name.
    pub name: String,
    /// Event list, relative to the suite file.
    pub events: PathBuf,
    /// Optional context file (attitude/orbit/ticks) completing the triplet, relative to the
    /// suite file; the replay target reads it.
    #[serde(default)]
    pub context: Option<PathBuf>,
    /// Bursts known to be in the file.
    #[serde(default)]
    pub expect: Vec<Expected>,
}

/// A burst known to be present.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    /// Direction, y, degrees.
    pub y_deg: f64,
    /// Direction, z, degrees.
    pub z_deg: f64,
    /// Onset after the start of the file, s.
    pub onset_s: f64,
    /// Duration, s (0 when unknown).
    #[serde(default)]
    pub duration_s: f64,
    /// Peak flux, ph/cm²/s (0 when unknown; then outside the efficiency curve).
    #[serde(default)]
    pub peak_flux: f64,
}

fn default_onset() -> f64 {
    200.0
}
fn default_burst_length() -> f64 {
    600.0
}
fn default_background() -> f64 {
    DEFAULT_BACKGROUND_CPS
}
fn default_saa_factor() -> f64 {
    3.0
}

/// What a scenario instance contains besides background.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ScenarioKind {
    /// One top-hat burst.
    Burst {
        /// Peak flux, ph/cm²/s.
        peak_flux: f64,
        /// Duration, s.
        duration_s: f64,
        /// Onset, s.
        onset_s: f64,
        /// Direction y, degrees.
        y_deg: f64,
        /// Direction z, degrees.
        z_deg: f64,
    },
    /// Background only.
    Background,
    /// A steady catalogue source.
    Source {
        /// Catalogue ID.
        catalog_id: u16,
        /// Flux, ph/cm²/s.
        flux: f64,
        /// Direction y, degrees.
        y_deg: f64,
        /// Direction z, degrees.
        z_deg: f64,
    },
    /// An orbit through the SAA.
    Saa {
        /// Ascending-node longitude at the start, degrees.
        start_lon_deg: f64,
        /// Background factor at the SAA edge.
        edge_factor: f64,
    },
    /// A recorded event file.
    Recorded {
        /// Event list (absolute or relative to the working directory).
        events: PathBuf,
        /// Context file.
        context: Option<PathBuf>,
    },
}

/// One concrete scenario: what a target runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScenarioInstance {
    /// Stable ID, unique in the suite (`family/parameters/seed`).
    pub id: String,
    /// Family name.
    pub family: String,
    /// Seed of the simulation.
    pub seed: u64,
    /// Length, s.
    pub length_s: f64,
    /// Background, counts/s.
    pub background_cps: f64,
    /// Content.
    pub scenario: ScenarioKind,
    /// Bursts that should be detected.
    pub expected: Vec<Expected>,
}

impl ScenarioInstance {
    /// Orbit position (longitude, latitude in degrees) at `t_s`, for SAA scenarios: a circular
    /// orbit of [`ORBIT_INCLINATION_DEG`] and [`ORBIT_PERIOD_S`] under a rotating Earth.
    pub fn orbit_position(start_lon_deg: f64, t_s: f64) -> (f64, f64) {
        let inc = ORBIT_INCLINATION_DEG.to_radians();
        let u = std::f64::consts::TAU * t_s / ORBIT_PERIOD_S;
        let lat = (inc.sin() * u.sin()).asin().to_degrees();
        let lon_orbit = (inc.cos() * u.sin()).atan2(u.cos()).to_degrees();
        let earth = 360.0 * t_s / 86_164.0;
        let lon = (start_lon_deg + lon_orbit - earth + 540.0).rem_euclid(360.0) - 180.0;
        (lon, lat)
    }
}

/// A problem in a suite file.
#[derive(Debug)]
pub struct SuiteError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for SuiteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}

impl std::error::Error for SuiteError {}

impl Suite {
    /// Reads and checks a suite file.
    ///
    /// # Errors
    /// Unreadable file, TOML error (with line and column), or a family that expands to
    /// nothing or to clashing IDs.
    pub fn load(path: &Path) -> Result<Suite, SuiteError> {
        let err = |reason: String| SuiteError { path: path.to_path_buf(), reason };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let mut suite: Suite = toml::from_str(&text).map_err(|e| err(e.to_string()))?;
        suite.dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        suite.check().map_err(err)?;
        Ok(suite)
    }

    /// Parses a suite from text (paths relative to `dir`).
    ///
    /// # Errors
    /// As [`Suite::load`].
    pub fn from_text(text: &str, dir: &Path) -> Result<Suite, String> {
        let mut suite: Suite = toml::from_str(text).map_err(|e| e.to_string())?;
        suite.dir = dir.to_path_buf();
        suite.check()?;
        Ok(suite)
    }

    fn check(&self) -> Result<(), String> {
        let positive = |what: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(format!("{what} must be > 0, got {v}"))
            }
        };
        for b in &self.burst {
            let at = |f: &str| format!("burst family {:?}: {f}", b.name);
            for (what, list) in [("peak_flux", &b.peak_flux), ("duration_s", &b.duration_s)] {
                if list.is_empty() {
                    return Err(at(&format!("{what} is empty")));
                }
                for &v in list {
                    positive(what, v).map_err(|e| at(&e))?;
                }
            }
            if b.directions.is_empty() || b.seeds.is_empty() {
                return Err(at("directions and seeds must not be empty"));
            }
            for d in &b.directions {
                if d.iter().any(|a| !a.is_finite() || a.abs() >= 60.0) {
                    return Err(at(&format!("direction {d:?} outside ±60°")));
                }
            }
            positive("length_s", b.length_s).map_err(|e| at(&e))?;
            if !(b.onset_s >= 0.0 && b.onset_s < b.length_s) {
                return Err(at("onset_s must be in [0, length_s)"));
            }
            positive("background_cps", b.background_cps).map_err(|e| at(&e))?;
        }
        for g in &self.background {
            positive("hours", g.hours).map_err(|e| format!("background {:?}: {e}", g.name))?;
            if g.seeds.is_empty() {
                return Err(format!("background {:?}: seeds is empty", g.name));
            }
        }
        for s in &self.source {
            positive("flux", s.flux).map_err(|e| format!("source {:?}: {e}", s.name))?;
            positive("hours", s.hours).map_err(|e| format!("source {:?}: {e}", s.name))?;
        }
        for s in &self.saa {
            positive("hours", s.hours).map_err(|e| format!("saa {:?}: {e}", s.name))?;
            if s.start_lon_deg.is_empty() || s.seeds.is_empty() {
                return Err(format!("saa {:?}: start_lon_deg and seeds must not be empty", s.name));
            }
        }
        let mut names = BTreeSet::new();
        let all = self.burst.iter().map(|f| &f.name).chain(self.background.iter().map(|f| &f.name));
        let all = all
            .chain(self.source.iter().map(|f| &f.name))
            .chain(self.saa.iter().map(|f| &f.name))
            .chain(self.recorded.iter().map(|f| &f.name));
        for n in all {
            if n.is_empty() || n.contains('/') {
                return Err(format!("family name {n:?} must be non-empty without '/'"));
            }
            if !names.insert(n) {
                return Err(format!("family name {n:?} used twice"));
            }
        }
        if names.is_empty() {
            return Err("the suite has no scenario".into());
        }
        Ok(())
    }

    /// Checks every file the suite names, before anything runs: each `[[recorded]]` event
    /// file opens as an event list (FITS `EVENTS` table or CSV with its columns), and its
    /// `context`, when given, opens as an ICD §6 triplet (or event file) whose attitude and
    /// orbit files read, with the triplet's event file the one `events` names (the replay
    /// reads the context's triplet). The rows are read by the run itself.
    ///
    /// # Errors
    /// The first bad file, with the family and the key that names it and the place in the file.
    pub fn check_files(&self) -> Result<(), String> {
        for r in &self.recorded {
            let at = |key: &str, value: &Path, why: &dyn fmt::Display| {
                format!("[[recorded]] {:?}, {key} = {:?}: {why}", r.name, value.display())
            };
            let events = self.dir.join(&r.events);
            crate::events::EventReader::open(&events).map_err(|e| at("events", &r.events, &e))?;
            if let Some(c) = &r.context {
                let context = self.dir.join(c);
                let input =
                    crate::events::Input::open(&context).map_err(|e| at("context", c, &e))?;
                let same = match (input.files.events.canonicalize(), events.canonicalize()) {
                    (Ok(a), Ok(b)) => a == b,
                    _ => false,
                };
                if !same {
                    return Err(at(
                        "context",
                        c,
                        &format!(
                            "its event file is {}, not the `events` file {}: the replay reads \
                             the context's triplet, so name the same events in both",
                            input.files.events.display(),
                            events.display()
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The instrument truth directory, resolved against the suite's directory.
    pub fn truth_dir(&self) -> Option<PathBuf> {
        self.truth.as_ref().map(|t| self.dir.join(t))
    }

    /// Every scenario instance, in the suite's canonical order (sorted by ID).
    pub fn instances(&self) -> Vec<ScenarioInstance> {
        let mut out = Vec::new();
        for b in &self.burst {
            for &f in &b.peak_flux {
                for &d in &b.duration_s {
                    for dir in &b.directions {
                        for &seed in &b.seeds {
                            let [y, z] = *dir;
                            out.push(ScenarioInstance {
                                id: format!("{}/f={f},d={d},y={y},z={z}/s{seed}", b.name),
                                family: b.name.clone(),
                                seed,
                                length_s: b.length_s,
                                background_cps: b.background_cps,
                                scenario: ScenarioKind::Burst {
                                    peak_flux: f,
                                    duration_s: d,
                                    onset_s: b.onset_s,
                                    y_deg: y,
                                    z_deg: z,
                                },
                                expected: vec![Expected {
                                    y_deg: y,
                                    z_deg: z,
                                    onset_s: b.onset_s,
                                    duration_s: d,
                                    peak_flux: f,
                                }],
                            });
                        }
                    }
                }
            }
        }
        for g in &self.background {
            for &seed in &g.seeds {
                out.push(ScenarioInstance {
                    id: format!("{}/h={}/s{seed}", g.name, g.hours),
                    family: g.name.clone(),
                    seed,
                    length_s: g.hours * 3600.0,
                    background_cps: g.background_cps,
                    scenario: ScenarioKind::Background,
                    expected: Vec::new(),
                });
            }
        }
        for s in &self.source {
            for &seed in &s.seeds {
                let [y, z] = s.direction;
                out.push(ScenarioInstance {
                    id: format!("{}/id={},f={},y={y},z={z}/s{seed}", s.name, s.catalog_id, s.flux),
                    family: s.name.clone(),
                    seed,
                    length_s: s.hours * 3600.0,
                    background_cps: s.background_cps,
                    scenario: ScenarioKind::Source {
                        catalog_id: s.catalog_id,
                        flux: s.flux,
                        y_deg: y,
                        z_deg: z,
                    },
                    expected: Vec::new(),
                });
            }
        }
        for s in &self.saa {
            for &lon in &s.start_lon_deg {
                for &seed in &s.seeds {
                    out.push(ScenarioInstance {
                        id: format!("{}/lon={lon}/s{seed}", s.name),
                        family: s.name.clone(),
                        seed,
                        length_s: s.hours * 3600.0,
                        background_cps: s.background_cps,
                        scenario: ScenarioKind::Saa {
                            start_lon_deg: lon,
                            edge_factor: s.edge_factor,
                        },
                        expected: Vec::new(),
                    });
                }
            }
        }
        for r in &self.recorded {
            out.push(ScenarioInstance {
                id: format!("{}/recorded", r.name),
                family: r.name.clone(),
                seed: 0,
                length_s: 0.0,
                background_cps: 0.0,
                scenario: ScenarioKind::Recorded {
                    events: self.dir.join(&r.events),
                    context: r.context.as_ref().map(|c| self.dir.join(c)),
                },
                expected: r.expect.clone(),
            });
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out.dedup_by(|a, b| a.id == b.id);
        out
    }
}

/// Picks shard `k` of `n` (1-based) from the canonical instance list: every `n`-th instance
/// starting at `k - 1`, so shards are balanced across families and deterministic.
pub fn shard(instances: &[ScenarioInstance], k: usize, n: usize) -> Vec<ScenarioInstance> {
    instances
        .iter()
        .enumerate()
        .filter(|(i, _)| n > 0 && i % n == k.wrapping_sub(1))
        .map(|(_, s)| s.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUITE: &str = r#"
name = "t"
[[burst]]
name = "grid"
peak_flux = [1.0, 2.0]
duration_s = [10.0]
directions = [[0.0, 0.0], [10.0, -5.0]]
seeds = [1, 2]
[[background]]
name = "bkg"
hours = 1.0
seeds = [7]
"#;

    #[test]
    fn expands_grid_in_stable_order() {
        let s = Suite::from_text(SUITE, Path::new(".")).unwrap();
        let i = s.instances();
        assert_eq!(i.len(), 9);
        let ids: Vec<_> = i.iter().map(|x| x.id.clone()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        assert!(ids.contains(&"grid/f=2,d=10,y=10,z=-5/s2".to_string()));
        assert_eq!(i.iter().filter(|x| x.expected.len() == 1).count(), 8);
    }

    #[test]
    fn shards_partition_the_suite() {
        let s = Suite::from_text(SUITE, Path::new(".")).unwrap();
        let all = s.instances();
        let mut ids: Vec<_> = (1..=4).flat_map(|k| shard(&all, k, 4)).map(|x| x.id).collect();
        ids.sort();
        assert_eq!(ids, all.iter().map(|x| x.id.clone()).collect::<Vec<_>>());
    }

    #[test]
    fn rejects_bad_suites() {
        let dup = format!("{SUITE}\n[[background]]\nname = \"bkg\"\nhours = 1.0\nseeds = [1]\n");
        assert!(Suite::from_text(&dup, Path::new(".")).unwrap_err().contains("used twice"));
        let neg = SUITE.replace("[1.0, 2.0]", "[-1.0]");
        assert!(Suite::from_text(&neg, Path::new(".")).unwrap_err().contains("peak_flux"));
        let unknown = SUITE.replace("seeds = [7]", "seeds = [7]\nbogus = 1");
        assert!(Suite::from_text(&unknown, Path::new(".")).unwrap_err().contains("bogus"));
        assert!(
            Suite::from_text("name = \"x\"", Path::new(".")).unwrap_err().contains("no scenario")
        );
    }

    #[test]
    fn orbit_stays_within_inclination() {
        for t in (0..6000).step_by(100) {
            let (lon, lat) = ScenarioInstance::orbit_position(-60.0, f64::from(t));
            assert!(lat.abs() <= 30.0 + 1e-9 && (-180.0..180.0).contains(&lon));
        }
    }
}
