//! The event simulator behind `eic-bench simulate` (`docs/simulate.md`).
//!
//! A [`Scenario`] (TOML) describes the sky, the background, the orbit and the attitude;
//! [`simulate`] turns it into detector events and platform context, in time order, into any
//! [`EventSink`] ([`DirSink`] writes the ICD §6 file triplet). The output depends on the
//! scenario and its seed only: every simulated second draws from its own random stream
//! ([`rng::stream`]), so the bytes are the same whatever the number of threads.
//!
//! Modules by concern: [`scenario`] (the file), [`sky`] (light curves, spectra, shadows through
//! the mask), [`background`] (CXB shadowgram, particles), [`orbit`] (orbit, Sun, attitude),
//! [`writer`] (sinks and files), [`rng`] (random streams).
//!
//! Per event, the detector response uses the pixel table of the scenario's tables (default
//! set when none): dead pixels record nothing, a pixel keeps a photon with its relative
//! efficiency, the energy is smeared by the resolution (`detector.fwhm_kev`), events under the
//! pixel's low threshold are lost, and `PHA = round((E − offset) / gain)` clamped to 0–1023.
//! Inside the SAA contour of the tables the particle rate is multiplied by
//! `background.saa_factor`. A scenario with `truth = "DIR"` uses the [`truth`] instead (real
//! pixels and SAA contour, drift, noise, background lines).

pub mod background;
pub mod orbit;
pub mod rng;
pub mod scenario;
pub mod sky;
pub mod truth;
pub mod writer;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

pub use scenario::Scenario;
pub use truth::Truth;
pub use writer::{DirSink, EventSink, Outputs, VecSink};

use onboard::trigger::geometry::{Attitude, from_radec};
use tables::pixels::PixelStatus;
use tables::set::TableSet;

use crate::events::{AttitudeSample, Event, OrbitSample, TICKS_PER_S, s_to_tick, tick_to_s};
use rng::Rng;
use scenario::Direction;
use sky::{Fred, PixelCdf, Shadow, Spectrum};

/// Ticks per generated block (one simulated second, one random stream).
const BLOCK_TICKS: u64 = TICKS_PER_S;
/// Ticks per rate bin (1 ms): light curves are evaluated at each bin's middle.
const BIN_TICKS: u64 = 50;

/// Why a simulation stopped.
#[derive(Debug)]
#[non_exhaustive]
pub enum SimError {
    /// The scenario is not usable.
    Scenario(String),
    /// The tables directory could not be read.
    Tables(tables::text::TextError),
    /// The sink failed (disk full, ...).
    Io(std::io::Error),
    /// The instrument truth directory is not usable.
    Truth(String),
}

impl std::fmt::Display for SimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SimError::Scenario(m) => write!(f, "scenario: {m}"),
            SimError::Tables(e) => write!(f, "scenario tables: {e}"),
            SimError::Io(e) => write!(f, "writing the simulation output: {e}"),
            SimError::Truth(m) => write!(f, "scenario truth: {m}"),
        }
    }
}

impl std::error::Error for SimError {}

impl From<std::io::Error> for SimError {
    fn from(e: std::io::Error) -> Self {
        SimError::Io(e)
    }
}

/// What a simulation produced.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Summary {
    /// Events written.
    pub events: u64,
    /// Photons/particles that reached the detector per component, before the detector
    /// response: `cxb`, `particle`, then `burst[i]`, then `source[i]`.
    pub arrivals: Vec<(String, u64)>,
    /// Simulated seconds.
    pub duration_s: f64,
    /// First tick (scenario start), ticks since MJDREF.
    pub start_tick: u64,
    /// End tick (exclusive).
    pub stop_tick: u64,
    /// Seconds spent inside the SAA contour (whole seconds, by their middle).
    pub saa_s: u64,
}

/// A point component: burst or persistent source.
#[derive(Clone, Debug)]
struct Point {
    direction: Direction,
    /// Flux at the light curve's value 1 (bursts: peak flux; sources: quiescent flux).
    flux: f64,
    /// Bursts: the pulse; sources: none (constant) plus flares.
    pulse: Option<Fred>,
    flares: Vec<(Fred, f64)>,
    spectrum: Spectrum,
    /// Ticks during which the component may emit.
    active: (u64, u64),
}

impl Point {
    fn light(&self, t_s: f64) -> f64 {
        match &self.pulse {
            Some(p) => p.at(t_s),
            None => 1.0 + self.flares.iter().map(|(f, k)| k * f.at(t_s)).sum::<f64>(),
        }
    }
}

/// A prepared simulation (see the module documentation).
pub struct Simulator {
    sc: Scenario,
    tables: TableSet,
    start_s: f64,
    start_tick: u64,
    stop_tick: u64,
    cxb_cdf: PixelCdf,
    cxb_spectrum: Spectrum,
    particle_spectrum: Spectrum,
    uniform: PixelCdf,
    points: Vec<Point>,
    /// Shadows per (point, attitude epoch).
    shadows: HashMap<(usize, u64), Arc<Shadow>>,
    threads: usize,
    /// The instrument truth, when the scenario names one.
    truth: Option<Arc<Truth>>,
    noise: truth::NoisePlan,
    /// Cumulative line rates (truth only).
    line_cum: Vec<f64>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("name", &self.sc.name)
            .field("start_tick", &self.start_tick)
            .field("stop_tick", &self.stop_tick)
            .finish_non_exhaustive()
    }
}

/// Everything one block needs, shared read-only by the generating threads.
struct BlockPlan {
    index: u64,
    first: u64,
    end: u64,
    saa: bool,
    /// Shadow of each point (None = not in view during this block).
    shadows: Vec<Option<Arc<Shadow>>>,
}

impl Simulator {
    /// Prepares a scenario with its tables (the scenario's `tables` directory, else the
    /// default set).
    ///
    /// # Errors
    /// [`SimError::Scenario`] for values out of range, [`SimError::Tables`] for a tables
    /// directory that does not load.
    pub fn new(sc: &Scenario) -> Result<Self, SimError> {
        let tables = match &sc.tables {
            Some(dir) => TableSet::load_dir(dir).map_err(SimError::Tables)?,
            None => tables::defaults::default_set(),
        };
        Self::with_tables(sc, tables)
    }

    /// Prepares a scenario with the given tables (its `tables` key is ignored).
    ///
    /// # Errors
    /// [`SimError::Scenario`] for values out of range.
    pub fn with_tables(sc: &Scenario, tables: TableSet) -> Result<Self, SimError> {
        sc.check().map_err(SimError::Scenario)?;
        let start_s = sc.start_s().map_err(SimError::Scenario)?;
        let start_tick = s_to_tick(start_s).ok_or_else(|| SimError::Scenario("start".into()))?;
        let stop_tick = start_tick + (sc.duration_s * TICKS_PER_S as f64).round() as u64;
        let d = &sc.detector;
        let cxb_cdf = PixelCdf::new(background::cxb_map()).unwrap_or_else(PixelCdf::uniform);
        let mut points = Vec::new();
        let window = |t0: f64, end: f64| {
            let a = s_to_tick(start_s + t0).unwrap_or(0);
            let b = s_to_tick(start_s + end).unwrap_or(u64::MAX);
            (a, b)
        };
        for b in &sc.bursts {
            let pulse = Fred { t0_s: start_s + b.t0_s, rise_s: b.rise_s, decay_s: b.decay_s };
            points.push(Point {
                direction: b.direction().map_err(SimError::Scenario)?,
                flux: b.peak_flux,
                pulse: Some(pulse),
                flares: Vec::new(),
                spectrum: Spectrum::PowerLaw {
                    index: b.index,
                    e_min: d.e_min_kev,
                    e_max: d.e_max_kev,
                },
                active: window(b.t0_s, pulse.end_s() - start_s),
            });
        }
        for s in &sc.sources {
            points.push(Point {
                direction: s.direction().map_err(SimError::Scenario)?,
                flux: s.flux,
                pulse: None,
                flares: s
                    .flares
                    .iter()
                    .map(|f| {
                        (
                            Fred { t0_s: start_s + f.t0_s, rise_s: f.rise_s, decay_s: f.decay_s },
                            f.peak_factor,
                        )
                    })
                    .collect(),
                spectrum: Spectrum::PowerLaw {
                    index: s.index,
                    e_min: d.e_min_kev,
                    e_max: d.e_max_kev,
                },
                active: (0, u64::MAX),
            });
        }
        let truth = match &sc.truth {
            Some(dir) => {
                Some(Arc::new(Truth::load(dir, &tables, start_s).map_err(SimError::Truth)?))
            }
            None => None,
        };
        let noise = match &truth {
            Some(t) => {
                truth::NoisePlan::new(t, sc.seed, start_tick, stop_tick).map_err(SimError::Truth)?
            }
            None => truth::NoisePlan::default(),
        };
        let line_cum = truth
            .as_ref()
            .map(|t| {
                t.lines
                    .iter()
                    .scan(0.0, |c, l| {
                        *c += l.rate_cps;
                        Some(*c)
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Simulator {
            sc: sc.clone(),
            truth,
            noise,
            line_cum,
            tables,
            start_s,
            start_tick,
            stop_tick,
            cxb_cdf,
            cxb_spectrum: Spectrum::cxb(d.e_min_kev, d.e_max_kev),
            particle_spectrum: Spectrum::PowerLaw {
                index: sc.background.particle_index,
                e_min: d.e_min_kev,
                e_max: d.e_max_kev,
            },
            uniform: PixelCdf::uniform(),
            points,
            shadows: HashMap::new(),
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        })
    }

    /// The SAA contour that makes the particles: the truth's, else the tables'.
    fn saa(&self) -> &tables::saa::SaaTable {
        self.truth.as_ref().map_or(&self.tables.saa, |t| &t.saa)
    }

    /// The instrument truth, when the scenario names one.
    pub fn truth(&self) -> Option<&Truth> {
        self.truth.as_deref()
    }

    /// Sets the number of generating threads (the output does not depend on it).
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = n.max(1);
        self
    }

    /// First tick of the scenario.
    pub fn start_tick(&self) -> u64 {
        self.start_tick
    }

    /// End tick (exclusive).
    pub fn stop_tick(&self) -> u64 {
        self.stop_tick
    }

    /// Number of one-second blocks.
    pub fn blocks(&self) -> u64 {
        (self.stop_tick - self.start_tick).div_ceil(BLOCK_TICKS)
    }

    fn epoch(&self, t_s: f64) -> u64 {
        match self.sc.attitude {
            scenario::Attitude::Fixed { .. } => 0,
            scenario::Attitude::AntiSolar { repoint_s, .. } => {
                ((t_s - self.start_s) / repoint_s).floor().max(0.0) as u64
            }
        }
    }

    fn attitude_at(&self, t_s: f64) -> Attitude {
        orbit::attitude(&self.sc.attitude, self.start_s, t_s)
    }

    fn plan(&mut self, index: u64) -> BlockPlan {
        let first = self.start_tick + index * BLOCK_TICKS;
        let end = (first + BLOCK_TICKS).min(self.stop_tick);
        let t0 = tick_to_s(first);
        let mid = tick_to_s((first + end) / 2);
        let (lon, lat, _) = orbit::position(&self.sc.orbit, self.start_s, mid);
        let saa = self.saa().contains(lon as f32, lat as f32);
        let epoch = self.epoch(t0);
        let att = self.attitude_at(t0);
        let mut shadows = Vec::with_capacity(self.points.len());
        for (i, p) in self.points.iter().enumerate() {
            if p.active.1 < first || p.active.0 >= end {
                shadows.push(None);
                continue;
            }
            let key = match p.direction {
                Direction::Instrument { .. } => (i, u64::MAX),
                Direction::Sky { .. } => (i, epoch),
            };
            let s = self
                .shadows
                .entry(key)
                .or_insert_with(|| {
                    let yz = match p.direction {
                        Direction::Instrument { y_deg, z_deg } => Some((y_deg, z_deg)),
                        Direction::Sky { ra_deg, dec_deg } => from_radec(&att, ra_deg, dec_deg),
                    };
                    Arc::new(
                        yz.map_or(Shadow { cdf: None, area_cm2: 0.0 }, |(y, z)| Shadow::at(y, z)),
                    )
                })
                .clone();
            shadows.push((s.area_cm2 > 0.0).then_some(s));
        }
        BlockPlan { index, first, end, saa, shadows }
    }

    /// Generates one block: its events in time order, and the arrivals per component.
    fn block(&self, plan: &BlockPlan) -> (Vec<Event>, Vec<u64>) {
        let mut rng = rng::stream(self.sc.seed, plan.index);
        let bkg = &self.sc.background;
        let cxb = bkg.rate_cps * bkg.cxb_fraction;
        let particle =
            bkg.rate_cps * (1.0 - bkg.cxb_fraction) * if plan.saa { bkg.saa_factor } else { 1.0 };
        let lines = self.line_cum.last().copied().unwrap_or(0.0);
        let n = 2 + self.points.len() + usize::from(!self.line_cum.is_empty());
        let mut arrivals = vec![0u64; n + usize::from(self.truth.is_some())];
        let mut rates = vec![0f64; n];
        rates[0] = cxb;
        rates[1] = particle;
        if let Some(r) = rates.get_mut(2 + self.points.len()) {
            let factor = if plan.saa { bkg.saa_factor } else { 1.0 };
            *r = lines * factor;
        }
        let mut events = Vec::with_capacity((1.2 * (cxb + particle)) as usize + 16);
        let mut bin = plan.first;
        while bin < plan.end {
            let bin_end = (bin + BIN_TICKS).min(plan.end);
            let mid_s = tick_to_s(bin) + 0.5 * tick_to_s(bin_end - bin);
            for (i, (p, s)) in self.points.iter().zip(&plan.shadows).enumerate() {
                rates[2 + i] = match s {
                    Some(s) if p.active.0 < bin_end && p.active.1 >= bin => {
                        p.flux * p.light(mid_s) * s.area_cm2
                    }
                    _ => 0.0,
                };
            }
            let total: f64 = rates.iter().sum();
            if total > 0.0 {
                let len_s = tick_to_s(bin_end - bin);
                let mut t = 0.0;
                loop {
                    t += rng::exponential(&mut rng) / total;
                    if t >= len_s {
                        break;
                    }
                    let tick = bin + ((t * TICKS_PER_S as f64) as u64).min(bin_end - bin - 1);
                    let mut x = rng.uniform() * total;
                    let mut c = n - 1;
                    for (k, r) in rates.iter().enumerate() {
                        if x < *r {
                            c = k;
                            break;
                        }
                        x -= r;
                    }
                    arrivals[c] += 1;
                    if c == 2 + self.points.len() {
                        // A background line: uniform over the plane.
                        let pixel = self.uniform.sample(&mut rng);
                        let x = rng.uniform() * lines;
                        let i = self.line_cum.partition_point(|&v| v <= x);
                        let energy = self
                            .truth
                            .as_ref()
                            .and_then(|t| t.lines.get(i).or(t.lines.last()))
                            .map_or(0.0, |l| l.energy_kev);
                        if let Some(e) = self.detect(&mut rng, tick, pixel, energy) {
                            events.push(e);
                        }
                        continue;
                    }
                    let (cdf, spectrum) = match c {
                        0 => (Some(&self.cxb_cdf), &self.cxb_spectrum),
                        1 => (Some(&self.uniform), &self.particle_spectrum),
                        k => {
                            let s = plan.shadows.get(k - 2).and_then(|s| s.as_ref());
                            let p = &self.points[k - 2];
                            (s.and_then(|s| s.cdf.as_ref()), &p.spectrum)
                        }
                    };
                    let Some(cdf) = cdf else { continue };
                    let pixel = cdf.sample(&mut rng);
                    let energy = spectrum.sample(&mut rng);
                    if let Some(e) = self.detect(&mut rng, tick, pixel, energy) {
                        events.push(e);
                    }
                }
            }
            bin = bin_end;
        }
        if let Some(t) = &self.truth {
            // Noise from its own stream: adding noise does not move the photons.
            let mut rng = rng::stream(self.sc.seed ^ 0x4E4F_4953_455F_5452, plan.index);
            let mut noise = Vec::new();
            truth::noise_block(t, &self.noise, &mut rng, plan.first, plan.end, &mut noise);
            if let Some(a) = arrivals.last_mut() {
                *a = noise.len() as u64;
            }
            for (tick, pixel, e_kev) in noise {
                if let Some(e) = self.noise_event(t, tick, pixel, e_kev) {
                    events.push(e);
                }
            }
            events.sort_by_key(|e| e.tick);
        }
        (events, arrivals)
    }

    /// A noise event: `e_above_kev` above pixel `pixel`'s threshold, no efficiency.
    fn noise_event(&self, t: &Truth, tick: u64, pixel: u16, e_above_kev: f64) -> Option<Event> {
        let p = t.entry_at(usize::from(pixel), truth::tick_s(tick))?;
        if p.status == PixelStatus::Dead {
            return None;
        }
        let e = f64::from(p.threshold_kev) + e_above_kev;
        let pha = ((e - f64::from(p.offset_kev)) / f64::from(p.gain)).round().clamp(0.0, 1023.0);
        Some(Event { tick, y: (pixel / 80) as u8, z: (pixel % 80) as u8, pha: pha as u16, mult: 1 })
    }

    /// The detector response to one photon (see the module documentation).
    fn detect(&self, rng: &mut Rng, tick: u64, pixel: usize, energy_kev: f64) -> Option<Event> {
        let d = &self.sc.detector;
        let (p, low) = match &self.truth {
            Some(t) => (
                t.entry_at(pixel, truth::tick_s(tick))?,
                (t.low_below_kev, t.low_factor.get(pixel).copied().unwrap_or(1.0)),
            ),
            None => (*self.tables.pixels.entries.get(pixel)?, (0.0, 1.0)),
        };
        // Draw every variate whatever the outcome, so one pixel's status does not shift the
        // random stream of the events after it.
        let smear = rng.normal() * d.fwhm_kev / 2.354_820_045;
        let keep = rng.uniform();
        let multiple = rng.uniform() < d.multiple_fraction;
        let e = energy_kev + smear;
        let efficiency = f64::from(p.efficiency) * if e < low.0 { low.1 } else { 1.0 };
        if p.status == PixelStatus::Dead || keep >= efficiency {
            return None;
        }
        if e < f64::from(p.threshold_kev) {
            return None;
        }
        let pha = ((e - f64::from(p.offset_kev)) / f64::from(p.gain)).round().clamp(0.0, 1023.0);
        Some(Event {
            tick,
            y: (pixel / 80) as u8,
            z: (pixel % 80) as u8,
            pha: pha as u16,
            mult: if multiple { 2 } else { 1 },
        })
    }

    fn sample_ticks(&self) -> u64 {
        ((self.sc.orbit.sample_s * TICKS_PER_S as f64).round() as u64).max(1)
    }

    fn context(&self, tick: u64) -> (AttitudeSample, OrbitSample) {
        let t = tick_to_s(tick);
        let q = self.attitude_at(t).quaternion();
        let (lon_deg, lat_deg, alt_km) = orbit::position(&self.sc.orbit, self.start_s, t);
        (AttitudeSample { tick, q }, OrbitSample { tick, lon_deg, lat_deg, alt_km })
    }

    /// Runs the whole scenario into `sink`, calling `progress(seconds_done)` after each batch
    /// of blocks.
    ///
    /// # Errors
    /// [`SimError::Io`] when the sink fails.
    pub fn run(
        mut self,
        sink: &mut impl EventSink,
        mut progress: impl FnMut(u64),
    ) -> Result<Summary, SimError> {
        let blocks = self.blocks();
        let threads = self.threads;
        let batch = (threads * 4) as u64;
        let step = self.sample_ticks();
        let mut next_sample = self.start_tick;
        let mut summary = Summary {
            arrivals: std::iter::once("cxb".to_owned())
                .chain(std::iter::once("particle".to_owned()))
                .chain((0..self.sc.bursts.len()).map(|i| format!("burst[{i}]")))
                .chain((0..self.sc.sources.len()).map(|i| format!("source[{i}]")))
                .chain(self.truth.iter().filter(|t| !t.lines.is_empty()).map(|_| "lines".into()))
                .chain(self.truth.iter().map(|_| "noise".to_owned()))
                .map(|n| (n, 0))
                .collect(),
            duration_s: self.sc.duration_s,
            start_tick: self.start_tick,
            stop_tick: self.stop_tick,
            ..Summary::default()
        };
        let mut first = 0u64;
        while first < blocks {
            let last = (first + batch).min(blocks);
            let plans: Vec<BlockPlan> = (first..last).map(|i| self.plan(i)).collect();
            summary.saa_s += plans.iter().filter(|p| p.saa).count() as u64;
            let results = self.generate(&plans, threads);
            for (plan, (events, arrivals)) in plans.iter().zip(results) {
                for (s, a) in summary.arrivals.iter_mut().zip(arrivals) {
                    s.1 += a;
                }
                for e in &events {
                    while next_sample <= e.tick && next_sample < self.stop_tick {
                        let (a, o) = self.context(next_sample);
                        sink.attitude(&a)?;
                        sink.orbit(&o)?;
                        next_sample += step;
                    }
                    sink.event(e)?;
                }
                summary.events += events.len() as u64;
                while next_sample < plan.end {
                    let (a, o) = self.context(next_sample);
                    sink.attitude(&a)?;
                    sink.orbit(&o)?;
                    next_sample += step;
                }
            }
            progress(last);
            first = last;
        }
        sink.finish(self.stop_tick)?;
        Ok(summary)
    }

    fn generate(&self, plans: &[BlockPlan], threads: usize) -> Vec<(Vec<Event>, Vec<u64>)> {
        if threads <= 1 || plans.len() <= 1 {
            return plans.iter().map(|p| self.block(p)).collect();
        }
        let mut out: Vec<Option<(Vec<Event>, Vec<u64>)>> = vec![None; plans.len()];
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads.min(plans.len()))
                .map(|t| {
                    s.spawn(move || {
                        plans
                            .iter()
                            .enumerate()
                            .skip(t)
                            .step_by(threads)
                            .map(|(i, p)| (i, self.block(p)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            for h in handles {
                match h.join() {
                    Ok(done) => {
                        for (i, r) in done {
                            out[i] = Some(r);
                        }
                    }
                    Err(e) => std::panic::resume_unwind(e),
                }
            }
        });
        out.into_iter().map(Option::unwrap_or_default).collect()
    }
}

/// Simulates a scenario (its tables: the `tables` directory, else the default set) into a
/// sink.
///
/// # Errors
/// Those of [`Simulator::new`] and [`Simulator::run`].
pub fn simulate(sc: &Scenario, sink: &mut impl EventSink) -> Result<Summary, SimError> {
    Simulator::new(sc)?.run(sink, |_| {})
}

/// Simulates a scenario into the file triplet of ICD §6 in `dir` (plus the CSV if `csv`).
///
/// # Errors
/// Those of [`simulate`], and files that cannot be created.
pub fn simulate_to_dir(
    sc: &Scenario,
    dir: &Path,
    csv: bool,
    progress: impl FnMut(u64),
) -> Result<(Summary, Outputs), SimError> {
    let sim = Simulator::new(sc)?;
    let mut sink = DirSink::create(dir, &sc.name, csv, sim.start_tick())?;
    let summary = sim.run(&mut sink, progress)?;
    let out =
        sink.outputs().cloned().ok_or_else(|| SimError::Io(std::io::Error::other("no output")))?;
    Ok((summary, out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Item;

    fn scenario(extra: &str) -> Scenario {
        let text = format!(
            "seed = 5\nstart = 2026-03-01T12:00:00Z\nduration_s = 3\n[background]\n\
             rate_cps = 2000\n{extra}"
        );
        Scenario::parse(&text, "t.toml").unwrap()
    }

    #[test]
    fn same_output_whatever_the_threads() {
        let sc = scenario("[[burst]]\nt0_s = 0.5\ny_deg = 3\nz_deg = 4\npeak_flux = 5\n");
        let mut a = VecSink::default();
        let mut b = VecSink::default();
        let sa = Simulator::new(&sc).unwrap().threads(1).run(&mut a, |_| {}).unwrap();
        let sb = Simulator::new(&sc).unwrap().threads(3).run(&mut b, |_| {}).unwrap();
        assert_eq!(a, b);
        assert_eq!(sa, sb);
        // Background ~2000/s for 3 s and a burst of ~2000 counts/s peak.
        assert!(sa.events > 5_000, "{sa:?}");
        assert!(sa.arrivals[2].1 > 1_000, "{sa:?}");
        // Time order, context first, samples every second.
        let ticks: Vec<u64> = a.items.iter().map(Item::tick).collect();
        assert!(ticks.windows(2).all(|w| w[0] <= w[1]));
        assert!(matches!(a.items[0], Item::Attitude(_)));
        let atts = a.items.iter().filter(|i| matches!(i, Item::Attitude(_))).count();
        assert_eq!(atts, 3);
        assert_eq!(a.stop_tick, Some(sa.stop_tick));
    }

    #[test]
    fn burst_counts_land_in_its_shadow_and_energies_in_range() {
        let sc = scenario(
            "[[burst]]\nt0_s = 0\ny_deg = 0\nz_deg = 0\npeak_flux = 20\nrise_s = 0.1\n\
             decay_s = 100\n",
        );
        let mut sink = VecSink::default();
        let s = simulate(&sc, &mut sink).unwrap();
        let mut lit = [0f32; 6400];
        onboard::trigger::geometry::pixel_illumination(0.0, 0.0, &mut lit);
        let (mut in_lit, mut n) = (0u64, 0u64);
        for i in &sink.items {
            if let Item::Event(e) = i {
                n += 1;
                in_lit += u64::from(lit[usize::from(e.y) * 80 + usize::from(e.z)] > 0.5);
                assert!(e.pha <= 1023 && e.y < 80 && e.z < 80);
            }
        }
        // ~8 000 counts/s of burst against 2 000 of background, most on lit pixels.
        assert!(s.arrivals[2].1 > 15_000, "{s:?}");
        assert!(in_lit as f64 > 0.6 * n as f64, "{in_lit} of {n}");
    }

    #[test]
    fn a_truth_makes_noise_lines_and_dead_pixels() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("truth.toml"),
            "dead = [300]\n[[noisy]]\npixels = [77]\nrate_cps = 200\n\
             [[noisy]]\npixels = [78]\ntelegraph = { on_s = 0.5, off_s = 1, burst_rate_cps = 600 }\n\
             [[line]]\nname = \"test\"\nenergy_kev = 100\nrate_cps = 3000\n",
        )
        .unwrap();
        let mut sc = scenario("");
        sc.truth = Some(dir.path().to_path_buf());
        let mut sink = VecSink::default();
        let s = simulate(&sc, &mut sink).unwrap();
        let names: Vec<&str> = s.arrivals.iter().map(|a| a.0.as_str()).collect();
        assert_eq!(names, ["cxb", "particle", "lines", "noise"]);
        let mut per_pixel = vec![0u64; 6400];
        let mut at_line = 0u64;
        let mut low_pha_77 = 0u64;
        for i in &sink.items {
            if let Item::Event(e) = i {
                let k = usize::from(e.y) * 80 + usize::from(e.z);
                per_pixel[k] += 1;
                // 100 keV at the nominal 0.145 keV/ch, 3 keV offset: channel 669 ± 4σ.
                at_line += u64::from((650..=690).contains(&e.pha));
                if k == 77 && e.pha < 60 {
                    low_pha_77 += 1;
                }
            }
        }
        assert_eq!(per_pixel[300], 0, "a dead pixel records nothing");
        // 200 counts/s for 3 s above the ~1 background count of a pixel, all just above
        // threshold (4 keV + ~1 keV: channels ~7-30).
        assert!(per_pixel[77] > 450 && low_pha_77 > 450, "{} {low_pha_77}", per_pixel[77]);
        // Telegraph: on a third of the time at 600 counts/s.
        assert!(per_pixel[78] > 100, "{}", per_pixel[78]);
        assert!(at_line > 7_000, "{at_line}");
        // Without the truth: no line, noise only from the background.
        let mut plain = VecSink::default();
        let p = simulate(&scenario(""), &mut plain).unwrap();
        assert_eq!(p.arrivals.len(), 2);
        assert_eq!(p.stop_tick, s.stop_tick);
    }

    #[test]
    fn seeds_change_the_output() {
        let mut a = VecSink::default();
        let mut b = VecSink::default();
        simulate(&scenario(""), &mut a).unwrap();
        let mut sc = scenario("");
        sc.seed = 6;
        simulate(&sc, &mut b).unwrap();
        assert_ne!(a, b);
    }
}
