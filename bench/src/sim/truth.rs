//! The instrument truth: the detector as it really is, which the simulator uses to make events
//! while the on-board tables of a replay or campaign stay whatever the user gives
//! (`docs/simulate.md`, "Instrument truth").
//!
//! A scenario names it with `truth = "DIR"`. The directory holds, all optional:
//!
//! | file | content |
//! |---|---|
//! | `pixels.csv` | the real per-pixel status, low threshold, gain, offset and efficiency at the truth's epoch, in the pixel table's CSV form (`tables::text`); default: the scenario's tables |
//! | `saa.toml` | the real SAA contour (the SAA table's TOML form); default: the scenario's tables |
//! | `truth.toml` | what a table cannot say: scatter, drift, noise, low-efficiency pixels, lines ([`TruthSpec`]) |
//!
//! What the simulator does with it: dead pixels (the `pixels.csv` status or the `dead` list)
//! record nothing; a photon is kept with the pixel's efficiency, times the low-energy factor of
//! a low-efficiency pixel under its energy (Xie et al. 2024); the pixel's gain and offset at
//! the event's time (epoch value plus the linear drift) convert the energy to PHA; noisy
//! pixels and noisy regions add events just above the pixel's threshold (energy = threshold +
//! an exponential of `e_scale_kev`), steadily or as a telegraph process; the background's
//! fluorescence lines ([`default_lines`]) add a uniform component, scaled like the particles
//! inside the truth's SAA contour.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tables::pixels::{self, PIXELS, PixelEntry, PixelStatus, PixelTable};
use tables::saa::SaaTable;
use tables::set::TableSet;

use super::rng::{Rng, exponential};
use crate::events::{TICKS_PER_S, s_to_tick, tick_to_s};

/// Longest the telegraph schedules may get over a scenario (intervals, all pixels together).
pub const MAX_TELEGRAPH_INTERVALS: usize = 10_000_000;

/// A fluorescence line of the background.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Line {
    /// Name, e.g. `"Ta Ka1"`.
    pub name: String,
    /// Energy, keV.
    pub energy_kev: f64,
    /// Counts/s over the whole plane reaching the detector outside the SAA (before efficiency,
    /// thresholds and dead pixels); × `background.saa_factor` inside the truth's SAA.
    pub rate_cps: f64,
}

/// The default background lines of a truth (energies: X-ray Data Booklet, Thompson et al.,
/// LBNL 2009, Table 1-2; materials and rates: this project's assumption, `docs/simulate.md`).
/// 150 counts/s in all, 3 % of the nominal background.
pub fn default_lines() -> Vec<Line> {
    let l = |name: &str, energy_kev: f64, rate_cps: f64| Line {
        name: name.to_owned(),
        energy_kev,
        rate_cps,
    };
    vec![
        l("Cu Ka1", 8.048, 10.0),
        l("Cd Ka1", 23.174, 28.0),
        l("Te Ka1", 27.472, 22.0),
        l("Ta Ka2", 56.277, 13.0),
        l("Ta Ka1", 57.532, 24.0),
        l("Ta Kb1", 65.223, 8.0),
        l("Pb Ka2", 72.804, 12.0),
        l("Pb Ka1", 74.969, 21.0),
        l("Pb Kb1", 84.936, 12.0),
    ]
}

fn yes() -> bool {
    true
}

/// `truth.toml`: what a truth adds to its pixel table and SAA contour. Every section is
/// optional; unknown keys are refused.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TruthSpec {
    /// Reference time of the drift (UTC); default: the scenario's start.
    #[serde(default)]
    pub epoch: Option<toml::value::Datetime>,
    /// Pixels that are really dead (besides those `pixels.csv` says are), DETNUMs.
    #[serde(default)]
    pub dead: Vec<u16>,
    /// Per-pixel scatter of gain and offset drawn on top of `pixels.csv`.
    #[serde(default)]
    pub spread: Option<Spread>,
    /// Slow drift of gain and offset.
    #[serde(default)]
    pub drift: Option<Drift>,
    /// Low-efficiency pixels (one production batch, Xie et al. 2024).
    #[serde(default)]
    pub low_efficiency: Option<LowEfficiency>,
    /// Noisy pixels (`[[noisy]]`).
    #[serde(default)]
    pub noisy: Vec<Noisy>,
    /// Noisy regions (`[[region]]`), e.g. along the heat pipes.
    #[serde(default, rename = "region")]
    pub regions: Vec<Region>,
    /// Whether the background carries [`default_lines`] (default true).
    #[serde(default = "yes")]
    pub default_lines: bool,
    /// More lines (`[[line]]`).
    #[serde(default, rename = "line")]
    pub lines: Vec<Line>,
}

/// Per-pixel scatter: gain × (1 + `gain_rms` · N), offset + `offset_rms_kev` · N (N standard
/// normal clipped at ±3, seeded).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spread {
    /// Seed of the draws.
    pub seed: u64,
    /// Relative rms of the gain.
    #[serde(default)]
    pub gain_rms: f64,
    /// Rms of the offset, keV.
    #[serde(default)]
    pub offset_rms_kev: f64,
}

/// Linear drift per day: pixel k's gain is `gain_k × (1 + g_k · days)` and its offset
/// `offset_k + o_k · days`, days since the epoch, with `g_k` drawn around `gain_per_day` with
/// `gain_per_day_rms` and `o_k` likewise.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Drift {
    /// Seed of the per-pixel draws.
    pub seed: u64,
    /// Mean relative gain change per day.
    #[serde(default)]
    pub gain_per_day: f64,
    /// Its rms over pixels.
    #[serde(default)]
    pub gain_per_day_rms: f64,
    /// Mean offset change per day, keV.
    #[serde(default)]
    pub offset_kev_per_day: f64,
    /// Its rms over pixels, keV.
    #[serde(default)]
    pub offset_kev_per_day_rms: f64,
}

/// Low-efficiency pixels: below `below_kev` their efficiency is multiplied by `factor`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LowEfficiency {
    /// DETNUMs.
    #[serde(default)]
    pub pixels: Vec<u16>,
    /// Or a fraction of the plane's XRDPIX modules (8 × 4 pixels), drawn with `seed`: the
    /// batch of Xie et al. is spread over modules.
    #[serde(default)]
    pub module_fraction: f64,
    /// Seed of the module draw.
    #[serde(default)]
    pub seed: u64,
    /// Energy under which the loss applies, keV (Xie et al.: 8 keV).
    #[serde(default = "default_below")]
    pub below_kev: f64,
    /// Efficiency factor under it.
    pub factor: f64,
}

fn default_below() -> f64 {
    8.0
}

fn default_scale() -> f64 {
    1.0
}

/// Noisy pixels: an extra rate of events just above the threshold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Noisy {
    /// DETNUMs.
    pub pixels: Vec<u16>,
    /// Steady extra rate per pixel, counts/s.
    #[serde(default)]
    pub rate_cps: f64,
    /// Energy scale above the threshold, keV (exponential).
    #[serde(default = "default_scale")]
    pub e_scale_kev: f64,
    /// Bursts of noise: a two-state (telegraph) process per pixel.
    #[serde(default)]
    pub telegraph: Option<Telegraph>,
}

/// A telegraph process: exponential periods off (mean `off_s`) and on (mean `on_s`), an extra
/// `burst_rate_cps` while on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Telegraph {
    /// Mean length of a burst, s (≥ 0.1).
    pub on_s: f64,
    /// Mean time between bursts, s (≥ 1).
    pub off_s: f64,
    /// Extra rate while on, counts/s per pixel.
    pub burst_rate_cps: f64,
}

impl Telegraph {
    /// Mean extra rate, counts/s.
    pub fn mean_rate_cps(&self) -> f64 {
        self.burst_rate_cps * self.on_s / (self.on_s + self.off_s)
    }
}

/// A noisy rectangle of pixels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Region {
    /// Name, e.g. `"heat-pipe-west"`.
    #[serde(default)]
    pub name: String,
    /// Rows Y, inclusive range `[first, last]`.
    pub y: [u8; 2],
    /// Columns Z, inclusive range `[first, last]`.
    pub z: [u8; 2],
    /// Extra rate per pixel, counts/s.
    pub rate_cps: f64,
    /// Energy scale above the threshold, keV.
    #[serde(default = "default_scale")]
    pub e_scale_kev: f64,
}

/// A steady noise source on one pixel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PixelNoise {
    /// DETNUM.
    pub pixel: u16,
    /// Extra rate, counts/s.
    pub rate_cps: f64,
    /// Energy scale above the threshold, keV.
    pub e_scale_kev: f64,
}

/// The loaded truth (see the module documentation).
#[derive(Clone, Debug)]
pub struct Truth {
    /// Where it was loaded from.
    pub dir: PathBuf,
    /// The pixels at the epoch (after the spread and the `dead` list).
    pub pixels: Box<PixelTable>,
    /// The real SAA contour.
    pub saa: SaaTable,
    /// The spec (`truth.toml`).
    pub spec: TruthSpec,
    /// Epoch of the drift, seconds since MJDREF (TT).
    pub epoch_s: f64,
    /// Relative gain change per day, per pixel.
    pub gain_per_day: Vec<f64>,
    /// Offset change per day, keV, per pixel.
    pub offset_kev_per_day: Vec<f64>,
    /// Efficiency factor under [`Truth::low_below_kev`], per pixel (1 for most).
    pub low_factor: Vec<f64>,
    /// See [`Truth::low_factor`].
    pub low_below_kev: f64,
    /// Steady noise, one entry per (pixel, source): noisy pixels and regions.
    pub steady: Vec<PixelNoise>,
    /// Telegraph pixels: (DETNUM, burst rate, energy scale, the process).
    pub telegraph: Vec<(u16, f64, f64, Telegraph)>,
    /// The background lines.
    pub lines: Vec<Line>,
}

fn dt_err(e: String) -> String {
    format!("truth.toml: epoch: {e}")
}

impl Truth {
    /// Loads a truth directory over `base` (the scenario's tables: the pixels and SAA contour
    /// the directory does not give). `start_s` is the scenario start (the default epoch).
    ///
    /// # Errors
    /// Unreadable or invalid files, with the file, line and field.
    pub fn load(dir: &Path, base: &TableSet, start_s: f64) -> Result<Truth, String> {
        if !dir.is_dir() {
            return Err(format!("truth {}: not a directory", dir.display()));
        }
        let read = |name: &str| -> Result<Option<(String, String)>, String> {
            let p = dir.join(name);
            if !p.exists() {
                return Ok(None);
            }
            let text = tables::set::read_text_bounded(&p, 16 << 20)
                .map_err(|e| format!("{}: {e}", p.display()))?;
            Ok(Some((p.display().to_string(), text)))
        };
        let mut px = match read("pixels.csv")? {
            Some((p, t)) => tables::text::pixels_from_csv(&p, &t).map_err(|e| e.to_string())?,
            None => base.pixels.clone(),
        };
        let saa = match read("saa.toml")? {
            Some((p, t)) => {
                let s: SaaTable = tables::text::from_toml(&p, &t).map_err(|e| e.to_string())?;
                let mut problems = Vec::new();
                s.validate(&mut |pr| problems.push(pr.to_string()));
                if let Some(first) = problems.first() {
                    return Err(format!("{p}: {first}"));
                }
                s
            }
            None => base.saa.clone(),
        };
        let spec: TruthSpec = match read("truth.toml")? {
            Some((p, t)) => tables::text::from_toml(&p, &t).map_err(|e| e.to_string())?,
            None => TruthSpec::default_with_lines(),
        };
        let origin = dir.join("truth.toml").display().to_string();
        spec.check().map_err(|e| format!("{origin}: {e}"))?;
        let epoch_s = match &spec.epoch {
            Some(d) => super::scenario::datetime_to_mjdref_s(d).map_err(dt_err)?,
            None => start_s,
        };
        if let Some(s) = &spec.spread {
            let mut rng = Rng::new(s.seed ^ 0x5350_5245_4144);
            for e in px.entries.iter_mut() {
                let (a, b) = (rng.normal(), rng.normal());
                let g = f64::from(e.gain) * (1.0 + s.gain_rms * a);
                let o = f64::from(e.offset_kev) + s.offset_rms_kev * b;
                e.gain = g.clamp(pixels::GAIN.0, pixels::GAIN.1) as f32;
                e.offset_kev = o.clamp(pixels::OFFSET_KEV.0, pixels::OFFSET_KEV.1) as f32;
            }
        }
        for &d in &spec.dead {
            if let Some(e) = px.entries.get_mut(usize::from(d)) {
                e.status = PixelStatus::Dead;
            }
        }
        let mut gain_per_day = vec![0.0; PIXELS];
        let mut offset_kev_per_day = vec![0.0; PIXELS];
        if let Some(d) = &spec.drift {
            let mut rng = Rng::new(d.seed ^ 0x0044_5249_4654);
            for (g, o) in gain_per_day.iter_mut().zip(offset_kev_per_day.iter_mut()) {
                let (a, b) = (rng.normal(), rng.normal());
                *g = d.gain_per_day + d.gain_per_day_rms * a;
                *o = d.offset_kev_per_day + d.offset_kev_per_day_rms * b;
            }
        }
        let mut low_factor = vec![1.0; PIXELS];
        let mut low_below_kev = 0.0;
        if let Some(l) = &spec.low_efficiency {
            low_below_kev = l.below_kev;
            for &p in &l.pixels {
                if let Some(f) = low_factor.get_mut(usize::from(p)) {
                    *f = l.factor;
                }
            }
            if l.module_fraction > 0.0 {
                // 200 XRDPIX modules of 8 (Y) × 4 (Z) pixels.
                let mut rng = Rng::new(l.seed ^ 0x004C_4550);
                for m in 0..200usize {
                    if rng.uniform() < l.module_fraction {
                        let (my, mz) = (m / 20 * 8, m % 20 * 4);
                        for y in my..my + 8 {
                            for z in mz..mz + 4 {
                                if let Some(f) = low_factor.get_mut(y * 80 + z) {
                                    *f = l.factor;
                                }
                            }
                        }
                    }
                }
            }
        }
        let mut steady = Vec::new();
        let mut telegraph = Vec::new();
        for n in &spec.noisy {
            for &p in &n.pixels {
                if n.rate_cps > 0.0 {
                    steady.push(PixelNoise {
                        pixel: p,
                        rate_cps: n.rate_cps,
                        e_scale_kev: n.e_scale_kev,
                    });
                }
                if let Some(t) = &n.telegraph {
                    telegraph.push((p, t.burst_rate_cps, n.e_scale_kev, t.clone()));
                }
            }
        }
        for r in &spec.regions {
            for y in r.y[0]..=r.y[1] {
                for z in r.z[0]..=r.z[1] {
                    steady.push(PixelNoise {
                        pixel: pixels::detnum(u16::from(y), u16::from(z)),
                        rate_cps: r.rate_cps,
                        e_scale_kev: r.e_scale_kev,
                    });
                }
            }
        }
        let mut lines = if spec.default_lines { default_lines() } else { Vec::new() };
        lines.extend(spec.lines.iter().cloned());
        Ok(Truth {
            dir: dir.to_path_buf(),
            pixels: px,
            saa,
            spec,
            epoch_s,
            gain_per_day,
            offset_kev_per_day,
            low_factor,
            low_below_kev,
            steady,
            telegraph,
            lines,
        })
    }

    /// Days since the epoch at `t_s` (seconds since MJDREF).
    pub fn days(&self, t_s: f64) -> f64 {
        (t_s - self.epoch_s) / 86_400.0
    }

    /// Pixel `k`'s real entry at `t_s`: the epoch entry with the drifted gain and offset.
    pub fn entry_at(&self, k: usize, t_s: f64) -> Option<PixelEntry> {
        let mut e = *self.pixels.entries.get(k)?;
        let days = self.days(t_s);
        let g = self.gain_per_day.get(k).copied().unwrap_or(0.0);
        let o = self.offset_kev_per_day.get(k).copied().unwrap_or(0.0);
        e.gain = (f64::from(e.gain) * (1.0 + g * days)) as f32;
        e.offset_kev = (f64::from(e.offset_kev) + o * days) as f32;
        Some(e)
    }

    /// The real pixel table at `t_s` (what a perfect calibration would give): drifted gains
    /// and offsets, clamped to the table's ranges; statuses as the truth's `pixels.csv` and
    /// `dead` list (noise does not change them).
    pub fn pixels_at(&self, t_s: f64) -> Box<PixelTable> {
        let mut t = self.pixels.clone();
        for (k, e) in t.entries.iter_mut().enumerate() {
            if let Some(x) = self.entry_at(k, t_s) {
                e.gain = x.gain.clamp(pixels::GAIN.0 as f32, pixels::GAIN.1 as f32);
                e.offset_kev =
                    x.offset_kev.clamp(pixels::OFFSET_KEV.0 as f32, pixels::OFFSET_KEV.1 as f32);
            }
        }
        t
    }

    /// The mean extra noise rate of every noisy pixel (steady, regions and telegraph
    /// together), counts/s, sorted by DETNUM; dead pixels left out (they record nothing).
    pub fn noise_rates(&self) -> Vec<(u16, f64)> {
        let mut r = vec![0.0f64; PIXELS];
        for n in &self.steady {
            if let Some(v) = r.get_mut(usize::from(n.pixel)) {
                *v += n.rate_cps;
            }
        }
        for (p, _, _, t) in &self.telegraph {
            if let Some(v) = r.get_mut(usize::from(*p)) {
                *v += t.mean_rate_cps();
            }
        }
        (0u16..)
            .zip(r)
            .filter(|(p, v)| {
                *v > 0.0
                    && self
                        .pixels
                        .entries
                        .get(usize::from(*p))
                        .is_some_and(|e| e.status != PixelStatus::Dead)
            })
            .collect()
    }

    /// The pixels that record nothing (DETNUMs).
    pub fn dead_pixels(&self) -> Vec<u16> {
        (0u16..)
            .zip(self.pixels.entries.iter())
            .filter(|(_, e)| e.status == PixelStatus::Dead)
            .map(|(d, _)| d)
            .collect()
    }

    /// Total line rate outside the SAA, counts/s.
    pub fn line_rate_cps(&self) -> f64 {
        self.lines.iter().map(|l| l.rate_cps).sum()
    }

    /// The telegraph schedules over `[start_tick, stop_tick)`: per entry of
    /// [`Truth::telegraph`], the on-intervals in ticks. Deterministic in `seed`.
    ///
    /// # Errors
    /// More than [`MAX_TELEGRAPH_INTERVALS`] intervals in all.
    pub fn telegraph_schedules(
        &self,
        seed: u64,
        start_tick: u64,
        stop_tick: u64,
    ) -> Result<Vec<Vec<(u64, u64)>>, String> {
        let mut total = 0usize;
        let mut out = Vec::with_capacity(self.telegraph.len());
        for (i, (p, _, _, t)) in self.telegraph.iter().enumerate() {
            let mut rng =
                super::rng::stream(seed ^ 0x5445_4C45_4752_4150, (i as u64) << 16 | u64::from(*p));
            let mut on = rng.uniform() < t.on_s / (t.on_s + t.off_s);
            let mut tick = start_tick;
            let mut v = Vec::new();
            while tick < stop_tick {
                let mean = if on { t.on_s } else { t.off_s };
                let len = ((exponential(&mut rng) * mean * TICKS_PER_S as f64) as u64).max(1);
                let end = tick.saturating_add(len).min(stop_tick);
                if on {
                    v.push((tick, end));
                    total += 1;
                    if total > MAX_TELEGRAPH_INTERVALS {
                        return Err(format!(
                            "truth: the telegraph noise needs more than {MAX_TELEGRAPH_INTERVALS} \
                             bursts over this scenario: use longer on_s/off_s or fewer pixels"
                        ));
                    }
                }
                tick = end;
                on = !on;
            }
            out.push(v);
        }
        Ok(out)
    }
}

impl TruthSpec {
    /// The spec of a truth directory without `truth.toml`: no noise, no drift, default lines.
    pub fn default_with_lines() -> Self {
        TruthSpec { default_lines: true, ..TruthSpec::default() }
    }

    /// Checks ranges.
    ///
    /// # Errors
    /// The first value out of range, named.
    pub fn check(&self) -> Result<(), String> {
        let num = |what: &str, v: f64, lo: f64, hi: f64| -> Result<(), String> {
            if v.is_finite() && v >= lo && v <= hi {
                Ok(())
            } else {
                Err(format!("{what} = {v}: expected a number in {lo}..={hi}"))
            }
        };
        let pix = |what: &str, ps: &[u16]| -> Result<(), String> {
            match ps.iter().find(|&&p| usize::from(p) >= PIXELS) {
                Some(p) => Err(format!("{what}: DETNUM {p} is not in 0..{}", PIXELS - 1)),
                None => Ok(()),
            }
        };
        pix("dead", &self.dead)?;
        if let Some(s) = &self.spread {
            num("spread.gain_rms", s.gain_rms, 0.0, 0.2)?;
            num("spread.offset_rms_kev", s.offset_rms_kev, 0.0, 5.0)?;
        }
        if let Some(d) = &self.drift {
            num("drift.gain_per_day", d.gain_per_day, -0.05, 0.05)?;
            num("drift.gain_per_day_rms", d.gain_per_day_rms, 0.0, 0.05)?;
            num("drift.offset_kev_per_day", d.offset_kev_per_day, -2.0, 2.0)?;
            num("drift.offset_kev_per_day_rms", d.offset_kev_per_day_rms, 0.0, 2.0)?;
        }
        if let Some(l) = &self.low_efficiency {
            pix("low_efficiency.pixels", &l.pixels)?;
            num("low_efficiency.module_fraction", l.module_fraction, 0.0, 1.0)?;
            num("low_efficiency.below_kev", l.below_kev, 0.0, 150.0)?;
            num("low_efficiency.factor", l.factor, 0.0, 1.0)?;
        }
        for (i, n) in self.noisy.iter().enumerate() {
            let w = format!("noisy[{i}]");
            pix(&format!("{w}.pixels"), &n.pixels)?;
            num(&format!("{w}.rate_cps"), n.rate_cps, 0.0, 1.0e4)?;
            num(&format!("{w}.e_scale_kev"), n.e_scale_kev, 0.01, 100.0)?;
            if let Some(t) = &n.telegraph {
                num(&format!("{w}.telegraph.on_s"), t.on_s, 0.1, 1.0e6)?;
                num(&format!("{w}.telegraph.off_s"), t.off_s, 1.0, 1.0e7)?;
                num(&format!("{w}.telegraph.burst_rate_cps"), t.burst_rate_cps, 0.0, 1.0e5)?;
            }
        }
        for (i, r) in self.regions.iter().enumerate() {
            let w = format!("region[{i}]");
            if r.y[0] > r.y[1] || r.y[1] >= 80 || r.z[0] > r.z[1] || r.z[1] >= 80 {
                return Err(format!(
                    "{w}: y = {:?}, z = {:?}: expected [first, last] with first <= last <= 79",
                    r.y, r.z
                ));
            }
            num(&format!("{w}.rate_cps"), r.rate_cps, 0.0, 1.0e4)?;
            num(&format!("{w}.e_scale_kev"), r.e_scale_kev, 0.01, 100.0)?;
        }
        for (i, l) in self.lines.iter().enumerate() {
            num(&format!("line[{i}].energy_kev"), l.energy_kev, 1.0, 1000.0)?;
            num(&format!("line[{i}].rate_cps"), l.rate_cps, 0.0, 1.0e6)?;
        }
        Ok(())
    }
}

/// The steady noise as one component: total rate and a cumulative table over its entries.
#[derive(Clone, Debug, Default)]
pub(crate) struct NoisePlan {
    pub(crate) steady_total: f64,
    pub(crate) steady_cum: Vec<f64>,
    pub(crate) schedules: Vec<Vec<(u64, u64)>>,
}

impl NoisePlan {
    pub(crate) fn new(truth: &Truth, seed: u64, start: u64, stop: u64) -> Result<Self, String> {
        let mut cum = Vec::with_capacity(truth.steady.len());
        let mut total = 0.0;
        for n in &truth.steady {
            total += n.rate_cps;
            cum.push(total);
        }
        Ok(NoisePlan {
            steady_total: total,
            steady_cum: cum,
            schedules: truth.telegraph_schedules(seed, start, stop)?,
        })
    }
}

/// Noise events of one block `[first, end)`: (tick, DETNUM, energy keV), unsorted.
pub(crate) fn noise_block(
    truth: &Truth,
    plan: &NoisePlan,
    rng: &mut Rng,
    first: u64,
    end: u64,
    out: &mut Vec<(u64, u16, f64)>,
) {
    fn gaps(rng: &mut Rng, a: u64, b: u64, rate: f64, each: &mut dyn FnMut(&mut Rng, u64)) {
        if rate <= 0.0 || b <= a {
            return;
        }
        let len_s = tick_to_s(b - a);
        let mut t = 0.0;
        loop {
            t += exponential(rng) / rate;
            if t >= len_s {
                break;
            }
            let tick = a + ((t * TICKS_PER_S as f64) as u64).min(b - a - 1);
            each(rng, tick);
        }
    }
    let steady = &truth.steady;
    gaps(rng, first, end, plan.steady_total, &mut |rng, tick| {
        let x = rng.uniform() * plan.steady_total;
        let i = plan.steady_cum.partition_point(|&c| c <= x).min(steady.len().saturating_sub(1));
        if let Some(n) = steady.get(i) {
            let e = exponential(rng) * n.e_scale_kev;
            out.push((tick, n.pixel, e));
        }
    });
    for ((p, rate, scale, _), sched) in truth.telegraph.iter().zip(&plan.schedules) {
        let from = sched.partition_point(|&(_, e)| e <= first);
        for &(a, b) in sched.iter().skip(from) {
            if a >= end {
                break;
            }
            gaps(rng, a.max(first), b.min(end), *rate, &mut |rng, tick| {
                let e = exponential(rng) * scale;
                out.push((tick, *p, e));
            });
        }
    }
}

/// Seconds since MJDREF of a tick, for the drift (re-exported for the simulator).
pub(crate) fn tick_s(tick: u64) -> f64 {
    tick_to_s(tick)
}

/// The tick of a time, saturating (for tests and callers that build schedules).
pub fn tick_of(t_s: f64) -> u64 {
    s_to_tick(t_s).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (n, t) in files {
            std::fs::write(d.path().join(n), t).unwrap();
        }
        d
    }

    #[test]
    fn spec_loads_spreads_drifts_and_lists_noise() {
        let d = dir_with(&[(
            "truth.toml",
            "dead = [5]\n[spread]\nseed = 1\ngain_rms = 0.02\noffset_rms_kev = 0.3\n\
             [drift]\nseed = 2\ngain_per_day = 0.01\n\
             [[noisy]]\npixels = [10, 11]\nrate_cps = 2.0\n\
             [[noisy]]\npixels = [12]\ntelegraph = { on_s = 10, off_s = 90, burst_rate_cps = 50 }\n\
             [[region]]\nname = \"hp\"\ny = [0, 79]\nz = [0, 0]\nrate_cps = 0.1\n",
        )]);
        let base = tables::defaults::default_set();
        let t = Truth::load(d.path(), &base, 1000.0).unwrap();
        assert_eq!(t.dead_pixels().iter().filter(|&&p| p == 5).count(), 1);
        assert_ne!(t.pixels.entries[100].gain, base.pixels.entries[100].gain);
        // Drift: +1 % per day.
        let g0 = f64::from(t.entry_at(100, 1000.0).unwrap().gain);
        let g1 = f64::from(t.entry_at(100, 1000.0 + 86_400.0).unwrap().gain);
        assert!((g1 / g0 - 1.01).abs() < 1e-6, "{g0} {g1}");
        let noise = t.noise_rates();
        assert!(noise.contains(&(11, 2.0)));
        assert!(noise.iter().any(|&(p, r)| p == 12 && (r - 5.0).abs() < 1e-9));
        // Region column 0: pixel 80 (Y=1, Z=0) gets 0.1 counts/s; pixel 0 too.
        assert!(noise.contains(&(80, 0.1)));
        assert_eq!(t.lines.len(), default_lines().len());
        assert!((t.line_rate_cps() - 150.0).abs() < 1e-9);
        // Telegraph: on about 10 % of the time.
        let s = t.telegraph_schedules(7, 0, 100_000 * TICKS_PER_S).unwrap();
        let on: u64 = s[0].iter().map(|(a, b)| b - a).sum();
        let frac = on as f64 / (100_000 * TICKS_PER_S) as f64;
        assert!((frac - 0.1).abs() < 0.02, "{frac}");
    }

    #[test]
    fn bad_specs_are_named() {
        let base = tables::defaults::default_set();
        for (text, want) in [
            ("dead = [6400]\n", "dead: DETNUM 6400"),
            ("[[noisy]]\npixels = [1]\nrate_cps = -1\n", "noisy[0].rate_cps = -1"),
            ("colour = 1\n", "unknown field"),
            ("[[region]]\ny = [5, 2]\nz = [0, 0]\nrate_cps = 1\n", "region[0]"),
        ] {
            let d = dir_with(&[("truth.toml", text)]);
            let e = Truth::load(d.path(), &base, 0.0).unwrap_err();
            assert!(e.contains(want), "{text}: {e}");
        }
        let e = Truth::load(Path::new("/nonexistent/truth"), &base, 0.0).unwrap_err();
        assert!(e.contains("not a directory"), "{e}");
    }
}
