//! The trigger targets: each scenario instance becomes a simulator scenario
//! ([`crate::sim`]), simulated once into an ICD §6 triplet with the **baseline** tables (the
//! instrument as it is: same data for both sides), then replayed through the on-board trigger
//! with each table set, in this process ([`crate::replay::local`], [`HostTarget`]) or on a unit
//! through the stimulus link ([`crate::replay::remote`], [`DeviceTarget`]).
//!
//! Mapping from the suite (documented in `docs/regress.md`):
//! - start 2026-03-01T12:00:00Z, fixed attitude RA 0°, Dec 0°, roll 0° (instrument axes along
//!   J2000, so instrument directions are the suite's `[y_deg, z_deg]`);
//! - a burst of `duration_s` is a FRED pulse with rise `duration_s / 10` and decay
//!   `duration_s / 4` (≈ 90 % of the fluence within `duration_s`), peak flux as given;
//! - a catalogue source sits at its catalogue RA/Dec (baseline catalogue), the pointing offset
//!   so that it appears near the suite's direction (small-angle offset, roll 0);
//! - an SAA family's `start_lon_deg` is the orbit's RAAN at the start epoch, the default orbit
//!   otherwise keeps the SAA out of the way (RAAN 0, phase 0 for the others is not used: their
//!   orbit is the simulator's default);
//! - recorded files are replayed as they are.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::suite::{ScenarioInstance, ScenarioKind};
use super::target::{Alert, AlertDetail, Tables, Target, TargetError};
use crate::replay::AlertRecord;
use crate::replay::local::{LocalOptions, run_local_with};
use crate::sim::{Scenario, Simulator};

/// Start of every simulated scenario.
pub const START: &str = "2026-03-01T12:00:00Z";
/// Seconds of one 20 µs tick.
const TICK_S: f64 = 20e-6;

/// The simulator scenario (TOML text) of an instance.
///
/// # Errors
/// Recorded instances (nothing to simulate) and catalogue sources missing from the baseline.
pub fn scenario_toml(s: &ScenarioInstance, baseline: &Tables) -> Result<String, String> {
    let mut t = format!(
        "name = \"regress\"\nseed = {}\nstart = {START}\nduration_s = {}\n\
         [background]\nrate_cps = {}\n",
        s.seed, s.length_s, s.background_cps
    );
    let fixed = |ra: f64, dec: f64| {
        format!("[attitude]\nmode = \"fixed\"\nra_deg = {ra}\ndec_deg = {dec}\nroll_deg = 0.0\n")
    };
    match &s.scenario {
        ScenarioKind::Burst { peak_flux, duration_s, onset_s, y_deg, z_deg } => {
            t += &fixed(0.0, 0.0);
            t += &format!(
                "[[burst]]\nt0_s = {onset_s}\ny_deg = {y_deg}\nz_deg = {z_deg}\n\
                 peak_flux = {peak_flux}\nrise_s = {}\ndecay_s = {}\n",
                duration_s / 10.0,
                duration_s / 4.0
            );
        }
        ScenarioKind::Background => t += &fixed(0.0, 0.0),
        ScenarioKind::Source { catalog_id, flux, y_deg, z_deg } => {
            let src = baseline.set.catalog.by_id(*catalog_id).ok_or_else(|| {
                format!("catalogue ID {catalog_id} is not in the baseline catalogue")
            })?;
            let (ra, dec) = (f64::from(src.ra_deg), f64::from(src.dec_deg));
            t += &fixed((ra - y_deg).rem_euclid(360.0), (dec - z_deg).clamp(-89.0, 89.0));
            t += &format!(
                "[[source]]\nname = \"{}\"\nra_deg = {ra}\ndec_deg = {dec}\nflux = {flux}\n",
                src.name
            );
        }
        ScenarioKind::Saa { start_lon_deg, edge_factor } => {
            t += &fixed(0.0, 0.0);
            t = t.replace("[background]\n", &format!("[background]\nsaa_factor = {edge_factor}\n"));
            t += &format!("[orbit]\nraan_deg = {}\n", start_lon_deg.rem_euclid(360.0));
        }
        ScenarioKind::Recorded { .. } => return Err("recorded: nothing to simulate".into()),
    }
    Ok(t)
}

/// An instance's input on disk: a simulated triplet (kept until both sides ran) or a file.
struct Prepared {
    path: PathBuf,
    start_s: f64,
    _dir: Option<tempfile::TempDir>,
}

/// Simulates (once) or locates the input of an instance.
fn prepare(
    s: &ScenarioInstance,
    baseline: &Tables,
    truth: Option<&Path>,
) -> Result<Prepared, TargetError> {
    let err = |reason: String| TargetError { scenario: s.id.clone(), reason };
    if let ScenarioKind::Recorded { events, context } = &s.scenario {
        let path = context.clone().unwrap_or_else(|| events.clone());
        return Ok(Prepared { path, start_s: 0.0, _dir: None });
    }
    let text = scenario_toml(s, baseline).map_err(err)?;
    let mut sc = Scenario::parse(&text, &s.id).map_err(|e| err(format!("scenario: {e}")))?;
    sc.truth = truth.map(Path::to_path_buf);
    let sim = Simulator::with_tables(&sc, baseline.set.clone())
        .map_err(|e| err(format!("simulator: {e}")))?
        .threads(1);
    let dir = tempfile::tempdir().map_err(|e| err(e.to_string()))?;
    let start_s = sim.start_tick() as f64 * TICK_S;
    let mut sink = crate::sim::DirSink::create(dir.path(), &sc.name, false, sim.start_tick())
        .map_err(|e| err(format!("simulator output: {e}")))?;
    sim.run(&mut sink, |_| {}).map_err(|e| err(format!("simulator: {e}")))?;
    drop(sink);
    Ok(Prepared { path: dir.path().to_path_buf(), start_s, _dir: Some(dir) })
}

/// An alert record as the regression compares it (times from the scenario start).
pub fn alert_of(r: &AlertRecord, start_s: f64) -> Alert {
    Alert {
        trigger: r.trigger_type.to_uppercase(),
        time_s: r.window_s[1] - start_s,
        timescale_ms: (r.timescale_s * 1000.0).round() as u32,
        snr: r.image_snr,
        y_deg: r.y_deg,
        z_deg: r.z_deg,
        r90_arcmin: r.error_radius_deg * 60.0,
        catalog_id: r.catalog_id,
    }
}

/// The sky images of one run's alerts.
type AlertImages = Vec<(Alert, crate::replay::SkyImage)>;

/// The on-board trigger in this process (`replay --local`'s code path).
pub struct HostTarget {
    /// Baseline tables: the simulator's instrument.
    baseline: Tables,
    /// Inputs simulated for the baseline side, reused by the candidate side.
    cache: Mutex<HashMap<String, std::sync::Arc<Prepared>>>,
    /// Sky images of the last run per (scenario, side label), for the report details.
    images: Mutex<HashMap<(String, String), AlertImages>>,
    /// The suite's instrument truth: simulates instead of the baseline tables.
    truth: Option<PathBuf>,
}

impl HostTarget {
    /// A host target simulating with `baseline`.
    pub fn new(baseline: &Tables) -> Self {
        HostTarget {
            baseline: baseline.clone(),
            cache: Mutex::default(),
            images: Mutex::default(),
            truth: None,
        }
    }

    /// Simulates with an instrument truth (`sim::truth`) instead of the baseline tables.
    pub fn with_truth(mut self, truth: Option<PathBuf>) -> Self {
        self.truth = truth;
        self
    }

    fn input(&self, s: &ScenarioInstance) -> Result<std::sync::Arc<Prepared>, TargetError> {
        if let Some(p) = self.cache.lock().ok().and_then(|c| c.get(&s.id).cloned()) {
            return Ok(p);
        }
        let p = std::sync::Arc::new(prepare(s, &self.baseline, self.truth.as_deref())?);
        if let Ok(mut c) = self.cache.lock() {
            c.insert(s.id.clone(), p.clone());
        }
        Ok(p)
    }
}

impl Target for HostTarget {
    fn name(&self) -> String {
        match &self.truth {
            Some(t) => format!(
                "host: the on-board trigger in this process (simulated with the truth {})",
                t.display()
            ),
            None => "host: the on-board trigger in this process (simulated with the baseline \
                     tables)"
                .into(),
        }
    }

    fn run(&self, s: &ScenarioInstance, t: &Tables) -> Result<Vec<Alert>, TargetError> {
        let p = self.input(s)?;
        let out = run_local_with(&p.path, &t.set, LocalOptions { images: true }, |_| {})
            .map_err(|e| TargetError { scenario: s.id.clone(), reason: e.to_string() })?;
        let mut alerts = Vec::new();
        let mut images = Vec::new();
        for r in &out.alerts {
            let a = alert_of(r, p.start_s);
            if let Some(img) = &r.image {
                images.push((a.clone(), img.clone()));
            }
            alerts.push(a);
        }
        if let Ok(mut m) = self.images.lock() {
            m.insert((s.id.clone(), t.label.clone()), images);
        }
        Ok(alerts)
    }

    fn done(&self, s: &ScenarioInstance) {
        if let Ok(mut c) = self.cache.lock() {
            c.remove(&s.id);
        }
        if let Ok(mut m) = self.images.lock() {
            m.retain(|(id, _), _| id != &s.id);
        }
    }

    fn detail(&self, s: &ScenarioInstance, t: &Tables, a: &Alert) -> Option<AlertDetail> {
        let image = self.images.lock().ok().and_then(|m| {
            m.get(&(s.id.clone(), t.label.clone()))
                .and_then(|v| v.iter().find(|(x, _)| x == a).map(|(_, i)| i.clone()))
        });
        let p = self.input(s).ok()?;
        let mut d = light_curve(&p.path, p.start_s, a)?;
        if let Some(img) = image {
            // 4 × 4 max-pooling of the 199 × 199 SNR image (a readable SVG of ~50 × 50).
            let n = img.n;
            let side = n.div_ceil(4);
            let mut sky = vec![f64::MIN; side * side];
            for (k, v) in img.data.iter().enumerate() {
                let (r, c) = (k / n / 4, k % n / 4);
                if let Some(cell) = sky.get_mut(r * side + c) {
                    *cell = cell.max(f64::from(*v));
                }
            }
            d.sky_side = side;
            d.sky_snr = sky;
            d.sky_half_deg = 55.7;
        }
        Some(d)
    }
}

/// Counts over the plane in 80 bins around an alert, read back from the input.
fn light_curve(path: &Path, start_s: f64, a: &Alert) -> Option<AlertDetail> {
    let span = f64::from(a.timescale_ms) / 1000.0;
    let bin_s = (span / 8.0).clamp(0.01, 60.0);
    let lo = (a.time_s - 2.0 * span - 10.0 * bin_s).max(0.0);
    let bins = 80usize;
    let mut counts = vec![0.0; bins];
    let mut input = crate::events::Input::open(path).ok()?;
    while let Ok(Some(item)) = input.next_item() {
        if let crate::events::Item::Event(e) = item {
            let t = e.tick as f64 * TICK_S - start_s - lo;
            if t < 0.0 {
                continue;
            }
            let i = (t / bin_s) as usize;
            if i >= bins {
                break;
            }
            if let Some(c) = counts.get_mut(i) {
                *c += 1.0;
            }
        }
    }
    Some(AlertDetail { bin_s, start_s: lo, counts, ..AlertDetail::default() })
}

/// A unit through the stimulus link (`replay --on`'s code path): the twin or the spare model.
/// Scenarios run one after another (one unit); each runs with the table set pushed first (the
/// table workflow changes nothing when the unit already has it).
pub struct DeviceTarget {
    link: crate::cmd::link_args::LinkArgs,
    stimulus: Option<PathBuf>,
    baseline: Tables,
    cache: Mutex<HashMap<String, std::sync::Arc<Prepared>>>,
    /// Table directories of sets without one (sweep points), written once.
    dirs: Mutex<HashMap<u32, tempfile::TempDir>>,
    /// The suite's instrument truth: simulates instead of the baseline tables.
    truth: Option<PathBuf>,
}

impl DeviceTarget {
    /// A device target on `link` (stimulus device: `stimulus`, else the embedded twin's).
    pub fn new(
        link: crate::cmd::link_args::LinkArgs,
        stimulus: Option<PathBuf>,
        baseline: &Tables,
    ) -> Self {
        DeviceTarget {
            link,
            stimulus,
            baseline: baseline.clone(),
            cache: Mutex::default(),
            dirs: Mutex::default(),
            truth: None,
        }
    }

    /// Simulates with an instrument truth (`sim::truth`) instead of the baseline tables.
    pub fn with_truth(mut self, truth: Option<PathBuf>) -> Self {
        self.truth = truth;
        self
    }

    fn tables_dir(&self, t: &Tables) -> Result<PathBuf, String> {
        if let Some(d) = &t.dir {
            return Ok(d.clone());
        }
        let mut dirs = self.dirs.lock().map_err(|e| e.to_string())?;
        if let Some(d) = dirs.get(&t.digest) {
            return Ok(d.path().to_path_buf());
        }
        let d = tempfile::tempdir().map_err(|e| e.to_string())?;
        t.set.save_dir(d.path()).map_err(|e| e.to_string())?;
        let p = d.path().to_path_buf();
        dirs.insert(t.digest, d);
        Ok(p)
    }
}

impl Target for DeviceTarget {
    fn name(&self) -> String {
        let what = if self.link.is_twin() { "the embedded twin" } else { "a unit" };
        format!(
            "device {} ({what}, through the stimulus link; simulated with {})",
            self.link.device.display(),
            self.truth.as_ref().map_or_else(
                || "the baseline tables".to_owned(),
                |t| format!("the truth {}", t.display())
            )
        )
    }

    fn parallel(&self) -> bool {
        false
    }

    fn run(&self, s: &ScenarioInstance, t: &Tables) -> Result<Vec<Alert>, TargetError> {
        let err = |reason: String| TargetError { scenario: s.id.clone(), reason };
        let p = match self.cache.lock().ok().and_then(|c| c.get(&s.id).cloned()) {
            Some(p) => p,
            None => {
                let p = std::sync::Arc::new(prepare(s, &self.baseline, self.truth.as_deref())?);
                if let Ok(mut c) = self.cache.lock() {
                    c.insert(s.id.clone(), p.clone());
                }
                p
            }
        };
        let dir = self.tables_dir(t).map_err(err)?;
        let out = crate::replay::remote::run_on(
            &p.path,
            &self.link,
            self.stimulus.as_deref(),
            Some(&dir),
            &mut |_| {},
        )
        .map_err(|e| err(e.to_string()))?;
        Ok(out.alerts.iter().map(|r| alert_of(r, p.start_s)).collect())
    }

    fn done(&self, s: &ScenarioInstance) {
        if let Ok(mut c) = self.cache.lock() {
            c.remove(&s.id);
        }
    }
}
