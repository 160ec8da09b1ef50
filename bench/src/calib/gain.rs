//! Per-pixel gain and offset from the background's fluorescence lines (`calib gain`).
//!
//! Method: **stacked and scaled** (docs/calib.md, "Gain and offset").
//!
//! 1. Every pixel's PHA histogram is turned into energy with its current calibration and
//!    all pixels are stacked into one high-statistics spectrum, the *template* (counts per keV
//!    on a 0.05 keV grid, smoothed by a 0.15 keV Gaussian).
//! 2. The known lines ([`Line`]) are located in the template (centroid over a linear
//!    continuum); a linear map `E_true = α·E + β` fitted through them *anchors* the template's
//!    energy scale, so the plane's mean calibration follows the lines, not the previous table.
//! 3. Each pixel's histogram is fitted with the anchored template, scaled: in channel `k`
//!    the expected count is `μ_k = A · g · T(g·k + o) · (1 + b₁·u_k + b₂·(u_k² − ⅓))`, with
//!    the pixel's gain `g` and offset `o`, a normalisation `A` and a smooth correction of the
//!    continuum's shape (`b₁`, `b₂`: the sky's share of the background varies over the plane;
//!    `u_k` runs from −1 to 1 over the fit window), by maximum Poisson likelihood (Fisher scoring, from
//!    the best point of a coarse grid in `g` and `o`). The whole shape of the spectrum (lines,
//!    continuum breaks) takes part, so a pixel with a few hundred counts per line is still
//!    fitted. The uncertainties are the square roots of the inverse Fisher information.
//! 4. Steps 1–3 are repeated with the new calibrations ([`GainOptions::iterations`]) so that the
//!    template sharpens.
//!
//! Pixels that are dead, have fewer than [`GainOptions::min_counts`] counts in the window, do
//! not converge, or whose uncertainty exceeds [`GainOptions::max_gain_err`] /
//! [`GainOptions::max_offset_err_kev`] keep their previous values and are listed with the
//! reason ([`Outcome::Kept`]). Nothing is invented.
//!
//! Everything here is a pure function of the histograms and the previous table.

use rayon::prelude::*;
use serde::Serialize;
use tables::pixels::{self, PIXELS, PixelStatus, PixelTable};

/// PHA channels (10 bits).
pub const CHANNELS: usize = 1024;
/// Energy step of the template, keV.
pub const TEMPLATE_STEP_KEV: f64 = 0.05;
/// Gaussian smoothing of the template, keV (about one channel: it removes the staircase of
/// channels that line up across pixels).
pub const TEMPLATE_SMOOTH_KEV: f64 = 0.15;

/// A background line (or an unresolved blend of lines) used to anchor the energy scale.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Line {
    /// Name (element and transition).
    pub name: String,
    /// Energy, keV (a blend: its intensity-weighted mean).
    pub energy_kev: f64,
    /// The components: energy (keV) and relative intensity.
    pub components: Vec<(f64, f64)>,
}

impl Line {
    /// A line of one or more components (energy keV, relative intensity).
    pub fn new(name: &str, components: &[(f64, f64)]) -> Line {
        let w: f64 = components.iter().map(|c| c.1).sum();
        let e = if w > 0.0 { components.iter().map(|c| c.0 * c.1).sum::<f64>() / w } else { 0.0 };
        Line { name: name.to_owned(), energy_kev: e, components: components.to_vec() }
    }

    /// Spread of the components, keV (0 for a single line).
    pub fn spread_kev(&self) -> f64 {
        let lo = self.components.iter().map(|c| c.0).fold(f64::MAX, f64::min);
        let hi = self.components.iter().map(|c| c.0).fold(f64::MIN, f64::max);
        (hi - lo).max(0.0)
    }
}

/// The fluorescence lines an ECLAIRs background spectrum may show, keV (X-ray Data Booklet,
/// Thompson et al., LBNL 2009, Table 1-2): fitted as nuisances when they fall near an anchoring
/// line.
pub const KNOWN_LINES_KEV: [(&str, f64); 9] = [
    ("Cu Kα1", 8.048),
    ("Cd Kα1", 23.174),
    ("Te Kα1", 27.472),
    ("Ta Kα2", 56.277),
    ("Ta Kα1", 57.532),
    ("Ta Kβ1", 65.223),
    ("Pb Kα2", 72.804),
    ("Pb Kα1", 74.969),
    ("Pb Kβ1", 84.936),
];

/// Options of the calibration; [`GainOptions::default`] is what `calib gain` runs with.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GainOptions {
    /// The lines that anchor the energy scale (at least two must be found in the stack).
    pub lines: Vec<Line>,
    /// Fit window in energy, keV, under the previous calibration: above the low thresholds
    /// and the low-energy noise of noisy pixels, below the last (clamped) channel.
    pub window_kev: (f64, f64),
    /// Fewest counts in the window for a pixel to be fitted.
    pub min_counts: u64,
    /// Largest relative gain uncertainty (1σ) accepted; above, the pixel keeps its value.
    pub max_gain_err: f64,
    /// Largest offset uncertainty (1σ) accepted, keV.
    pub max_offset_err_kev: f64,
    /// Half-width of the coarse search in relative gain around the anchored previous value.
    pub search_gain: f64,
    /// Half-width of the coarse search in offset, keV.
    pub search_offset_kev: f64,
    /// Template → fit rounds.
    pub iterations: usize,
}

impl Default for GainOptions {
    fn default() -> Self {
        GainOptions {
            lines: default_lines(),
            window_kev: (18.0, 140.0),
            min_counts: 2_000,
            max_gain_err: 0.01,
            max_offset_err_kev: 0.4,
            search_gain: 0.06,
            search_offset_kev: 1.5,
            iterations: 4,
        }
    }
}

/// The anchoring lines by default: fluorescence lines of the detector (Cd, Te), the mask (Ta)
/// and the shielding (Pb). Energies from the X-ray Data Booklet (Thompson et al., LBNL 2009,
/// Table 1-2); the Kα1/Kα2 pairs, 1.3 and 2.2 keV apart, are not resolved at 1.2 keV FWHM and
/// are anchored as blends at their intensity-weighted mean (Kα2/Kα1 = 0.54 for Ta, 0.57 for
/// Pb, the ratios of the simulator's truth, `docs/simulate.md`). Isolated Kβ lines are too
/// faint in a day to anchor on and are left to the template fit (they are fitted as nuisances
/// near an anchoring line: [`KNOWN_LINES_KEV`]).
pub fn default_lines() -> Vec<Line> {
    vec![
        Line::new("Cd Kα1", &[(23.174, 1.0)]),
        Line::new("Te Kα1", &[(27.472, 1.0)]),
        Line::new("Ta Kα2+Kα1", &[(56.277, 13.0), (57.532, 24.0)]),
        Line::new("Pb Kα2+Kα1", &[(72.804, 12.0), (74.969, 21.0)]),
    ]
}

/// Per-pixel PHA histograms: 6400 × 1024 counters (26 MB whatever the number of events).
#[derive(Clone, PartialEq)]
pub struct Histograms {
    counts: Vec<u32>,
    events: u64,
}

impl std::fmt::Debug for Histograms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Histograms").field("events", &self.events).finish_non_exhaustive()
    }
}

impl Default for Histograms {
    fn default() -> Self {
        Histograms::new()
    }
}

impl Histograms {
    /// Empty histograms.
    pub fn new() -> Self {
        Histograms { counts: vec![0; PIXELS * CHANNELS], events: 0 }
    }

    /// Counts one event; `false` (nothing counted) for a DETNUM or PHA out of range.
    pub fn add(&mut self, detnum: usize, pha: u16) -> bool {
        let Some(c) = self.counts.get_mut(detnum * CHANNELS + usize::from(pha)) else {
            return false;
        };
        if usize::from(pha) >= CHANNELS || detnum >= PIXELS {
            return false;
        }
        *c = c.saturating_add(1);
        self.events += 1;
        true
    }

    /// Adds `n` counts in one channel (synthetic data, merges).
    pub fn add_n(&mut self, detnum: usize, pha: usize, n: u32) {
        if pha < CHANNELS
            && let Some(c) = self.counts.get_mut(detnum * CHANNELS + pha)
        {
            *c = c.saturating_add(n);
            self.events += u64::from(n);
        }
    }

    /// Events counted.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// One pixel's histogram (empty for a DETNUM out of range).
    pub fn pixel(&self, detnum: usize) -> &[u32] {
        self.counts.get(detnum * CHANNELS..(detnum + 1) * CHANNELS).unwrap_or(&[])
    }
}

/// The stacked spectrum: counts per keV on a regular grid, and its derivative.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Template {
    /// Energy of the first grid point, keV.
    pub e0_kev: f64,
    /// Grid step, keV.
    pub step_kev: f64,
    /// Counts per keV (smoothed).
    pub density: Vec<f64>,
    /// d(density)/dE.
    #[serde(skip)]
    pub slope: Vec<f64>,
    /// Counts per grid step before smoothing.
    #[serde(skip)]
    pub raw: Vec<f64>,
}

impl Template {
    /// Stacks the histograms of `pixels` (DETNUM, gain, offset) into energy; channels 0 and
    /// 1023 (clamped) are left out.
    pub fn build(h: &Histograms, cals: &[(usize, f64, f64)]) -> Template {
        let step = TEMPLATE_STEP_KEV;
        let (mut lo, mut hi) = (f64::MAX, f64::MIN);
        for &(_, g, o) in cals {
            lo = lo.min(o);
            hi = hi.max(o + g * CHANNELS as f64);
        }
        if lo > hi {
            (lo, hi) = (0.0, 1.0);
        }
        let e0 = (lo - 2.0).floor();
        let n = (((hi + 2.0).ceil() - e0) / step).ceil() as usize + 1;
        let mut raw = vec![0f64; n];
        for &(d, g, o) in cals {
            add_pixel(&mut raw, e0, step, h.pixel(d), g, o, 1.0);
        }
        Self::finish(e0, raw)
    }

    /// The template without one pixel's own counts (placed with gain `g`, offset `o`, as when
    /// it was stacked): a pixel is fitted against the others only, or its own noise, copied
    /// into the template, would hold it to its previous calibration.
    pub fn without(&self, hist: &[u32], g: f64, o: f64) -> Template {
        let mut raw = self.raw.clone();
        add_pixel(&mut raw, self.e0_kev, self.step_kev, hist, g, o, -1.0);
        for r in &mut raw {
            *r = r.max(0.0);
        }
        Self::finish(self.e0_kev, raw)
    }

    fn finish(e0: f64, raw: Vec<f64>) -> Template {
        let step = TEMPLATE_STEP_KEV;
        let n = raw.len();
        let density = smooth(&raw, TEMPLATE_SMOOTH_KEV / step);
        let density: Vec<f64> = density.iter().map(|v| v / step).collect();
        let slope = (0..n)
            .map(|i| {
                let a = density.get(i.wrapping_sub(1)).or(density.get(i)).copied().unwrap_or(0.0);
                let b = density.get(i + 1).or(density.get(i)).copied().unwrap_or(0.0);
                let w = if i == 0 || i + 1 == n { step } else { 2.0 * step };
                (b - a) / w
            })
            .collect();
        Template { e0_kev: e0, step_kev: step, density, slope, raw }
    }

    /// Density and its exact derivative at `e`: cubic Hermite interpolation of the grid's
    /// density and slope (continuous value and slope, so that the fit's score is the true
    /// gradient of its likelihood); 0 outside the grid.
    pub fn at(&self, e: f64) -> (f64, f64) {
        let x = (e - self.e0_kev) / self.step_kev;
        if !x.is_finite() || x < 0.0 {
            return (0.0, 0.0);
        }
        let i = x.floor() as usize;
        let t = x - i as f64;
        let h = self.step_kev;
        match (
            self.density.get(i),
            self.density.get(i + 1),
            self.slope.get(i),
            self.slope.get(i + 1),
        ) {
            (Some(&p0), Some(&p1), Some(&m0), Some(&m1)) => {
                let (t2, t3) = (t * t, t * t * t);
                let v = (2.0 * t3 - 3.0 * t2 + 1.0) * p0
                    + (t3 - 2.0 * t2 + t) * h * m0
                    + (-2.0 * t3 + 3.0 * t2) * p1
                    + (t3 - t2) * h * m1;
                let d = ((6.0 * t2 - 6.0 * t) * p0
                    + (3.0 * t2 - 4.0 * t + 1.0) * h * m0
                    + (-6.0 * t2 + 6.0 * t) * p1
                    + (3.0 * t2 - 2.0 * t) * h * m1)
                    / h;
                (v, d)
            }
            _ => (0.0, 0.0),
        }
    }

    /// Locates a line in the stack: least-squares fit, over a window 2.8 keV beyond the line's
    /// components, of a quadratic continuum plus Gaussians of one width: the line's components
    /// (their intensity ratios fixed) and every other [`KNOWN_LINES_KEV`] line in reach (free
    /// intensities), all shifted by one `δ`; `δ` (±3 keV) and the width (0.3–1.2 keV σ) on a
    /// grid, refined. Returns the line's energy plus `δ` and its significance (counts over the
    /// square root of the counts within ±2σ), `None` below 5σ.
    pub fn locate(&self, line: &Line) -> Option<(f64, f64)> {
        let lo = line.components.iter().map(|c| c.0).fold(f64::MAX, f64::min) - 2.8;
        let hi = line.components.iter().map(|c| c.0).fold(f64::MIN, f64::max) + 2.8;
        if lo >= hi {
            return None;
        }
        let xs: Vec<f64> = {
            let n = ((hi - lo) / self.step_kev).floor() as usize;
            (0..n).map(|i| lo + (i as f64 + 0.5) * self.step_kev).collect()
        };
        let ys: Vec<f64> = xs.iter().map(|&x| self.at(x).0).collect();
        let ws: Vec<f64> = ys.iter().map(|&y| 1.0 / y.max(1e-9)).collect();
        let others: Vec<f64> = KNOWN_LINES_KEV
            .iter()
            .map(|k| k.1)
            .filter(|&e| e > lo - 2.0 && e < hi + 2.0)
            .filter(|&e| line.components.iter().all(|c| (c.0 - e).abs() > 1e-3))
            .collect();
        let mid = (lo + hi) / 2.0;
        // Weighted least squares for fixed (δ, σ): returns (SSR, line amplitude).
        let solve = |delta: f64, sigma: f64| -> Option<(f64, f64)> {
            let g = |x: f64, c: f64| {
                (-0.5 * ((x - c - delta) / sigma).powi(2)).exp()
                    / (sigma * std::f64::consts::TAU.sqrt())
            };
            let wsum: f64 = line.components.iter().map(|c| c.1).sum::<f64>().max(1e-12);
            let basis = |x: f64| -> Vec<f64> {
                let mut b = vec![1.0, x - mid, (x - mid).powi(2)];
                b.push(line.components.iter().map(|c| c.1 / wsum * g(x, c.0)).sum());
                b.extend(others.iter().map(|&e| g(x, e)));
                b
            };
            let m = 4 + others.len();
            let mut ata = vec![vec![0.0; m]; m];
            let mut atb = vec![0.0; m];
            for ((&x, &y), &w) in xs.iter().zip(&ys).zip(&ws) {
                let b = basis(x);
                for (i, bi) in b.iter().enumerate() {
                    atb[i] += w * bi * y;
                    for (j, bj) in b.iter().enumerate() {
                        ata[i][j] += w * bi * bj;
                    }
                }
            }
            let c = solve_linear(ata, atb)?;
            let ssr: f64 = xs
                .iter()
                .zip(&ys)
                .zip(&ws)
                .map(|((&x, &y), &w)| {
                    let f: f64 = basis(x).iter().zip(&c).map(|(b, c)| b * c).sum();
                    w * (y - f).powi(2)
                })
                .sum();
            Some((ssr, c.get(3).copied().unwrap_or(0.0)))
        };
        let mut best = (f64::MAX, 0.0, 0.5, 0.0);
        for i in -30..=30 {
            for j in 0..10 {
                let (d, sg) = (f64::from(i) * 0.1, 0.3 + f64::from(j) * 0.1);
                if let Some((ssr, a)) = solve(d, sg)
                    && ssr < best.0
                    && a > 0.0
                {
                    best = (ssr, d, sg, a);
                }
            }
        }
        let (mut step_d, mut step_s) = (0.05, 0.05);
        for _ in 0..12 {
            let (_, d0, s0, _) = best;
            for (dd, ds) in [(step_d, 0.0), (-step_d, 0.0), (0.0, step_s), (0.0, -step_s)] {
                let (d, sg) = (d0 + dd, (s0 + ds).clamp(0.2, 1.5));
                if let Some((ssr, a)) = solve(d, sg)
                    && ssr < best.0
                    && a > 0.0
                {
                    best = (ssr, d, sg, a);
                }
            }
            step_d *= 0.6;
            step_s *= 0.6;
        }
        let (_, delta, sigma, amp) = best;
        let e = line.energy_kev + delta;
        let under: f64 = xs
            .iter()
            .zip(&ys)
            .filter(|(x, _)| (**x - e).abs() < 2.0 * sigma + line.spread_kev() / 2.0)
            .map(|(_, y)| y * self.step_kev)
            .sum();
        let signif = amp / under.max(1.0).sqrt();
        (signif >= 5.0 && delta.abs() < 2.95).then_some((e, signif))
    }
}

/// Solves a small dense linear system (Gaussian elimination with partial pivoting).
fn solve_linear(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for c in 0..n {
        let p = (c..n).max_by(|&x, &y| {
            let ax = a.get(x).and_then(|r| r.get(c)).copied().unwrap_or(0.0).abs();
            let ay = a.get(y).and_then(|r| r.get(c)).copied().unwrap_or(0.0).abs();
            ax.total_cmp(&ay)
        })?;
        a.swap(c, p);
        b.swap(c, p);
        let pivot = a.get(c)?.get(c).copied()?;
        if pivot.abs() < 1e-300 || !pivot.is_finite() {
            return None;
        }
        let row = a.get(c)?.clone();
        let bc = b.get(c).copied()?;
        for r in 0..n {
            if r == c {
                continue;
            }
            let f = a.get(r)?.get(c).copied()? / pivot;
            if f == 0.0 {
                continue;
            }
            if let Some(rr) = a.get_mut(r) {
                for (x, y) in rr.iter_mut().zip(&row) {
                    *x -= f * y;
                }
            }
            if let Some(br) = b.get_mut(r) {
                *br -= f * bc;
            }
        }
    }
    (0..n).map(|i| Some(b.get(i)? / a.get(i)?.get(i)?)).collect()
}

/// Adds (`sign` 1) or removes (−1) a pixel's channels 1–1022, placed with gain `g` and offset
/// `o`, into a grid of counts.
fn add_pixel(raw: &mut [f64], e0: f64, step: f64, hist: &[u32], g: f64, o: f64, sign: f64) {
    for (k, &c) in hist.iter().enumerate().take(CHANNELS - 1).skip(1) {
        if c == 0 {
            continue;
        }
        let a = o + g * (k as f64 - 0.5);
        spread(raw, e0, step, a, a + g, sign * f64::from(c));
    }
}

/// Adds `w` counts spread uniformly over `[a, b)` keV into the grid.
fn spread(raw: &mut [f64], e0: f64, step: f64, a: f64, b: f64, w: f64) {
    if b <= a {
        return;
    }
    let per = w / (b - a);
    let (xa, xb) = ((a - e0) / step, (b - e0) / step);
    let (ia, ib) = (xa.floor().max(0.0) as usize, xb.floor().max(0.0) as usize);
    for i in ia..=ib {
        let lo = (i as f64).max(xa);
        let hi = ((i + 1) as f64).min(xb);
        if hi > lo
            && let Some(r) = raw.get_mut(i)
        {
            *r += per * (hi - lo) * step;
        }
    }
}

/// Gaussian smoothing of `sigma` grid steps (kernel to ±4σ, renormalised at the ends).
fn smooth(raw: &[f64], sigma: f64) -> Vec<f64> {
    let r = (4.0 * sigma).ceil() as usize;
    let kernel: Vec<f64> =
        (0..=2 * r).map(|j| (-0.5 * ((j as f64 - r as f64) / sigma).powi(2)).exp()).collect();
    (0..raw.len())
        .map(|i| {
            let (mut s, mut w) = (0.0, 0.0);
            for (j, k) in kernel.iter().enumerate() {
                if let Some(v) = (i + j).checked_sub(r).and_then(|x| raw.get(x)) {
                    s += v * k;
                    w += k;
                }
            }
            if w > 0.0 { s / w } else { 0.0 }
        })
        .collect()
}

/// Result of one pixel's fit.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct PixelFit {
    /// Gain, keV/channel.
    pub gain: f64,
    /// 1σ uncertainty of the gain, keV/channel.
    pub gain_err: f64,
    /// Offset, keV.
    pub offset_kev: f64,
    /// 1σ uncertainty of the offset, keV.
    pub offset_err_kev: f64,
    /// Poisson deviance per degree of freedom (≈ 1 for a good fit).
    pub deviance_per_dof: f64,
    /// Normalisation `A` of the scaled template.
    pub norm: f64,
    /// Continuum shape correction `(b₁, b₂)`.
    pub shape: (f64, f64),
}

impl PixelFit {
    /// Expected counts in channel `k` of a window `lo..=hi` under this fit.
    pub fn expected(&self, t: &Template, k: usize, lo: usize, hi: usize) -> f64 {
        let th = [self.norm, self.shape.0, self.gain, self.offset_kev, self.shape.1];
        let m = Model { n: &[], lo, t };
        self.norm
            * self.gain
            * t.at(self.gain * k as f64 + self.offset_kev).0
            * Model::tilt(&th, m.u(k, hi))
    }
}

/// What happened to one pixel.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Fitted: the new gain and offset.
    Calibrated(PixelFit),
    /// Not fitted, or fit not good enough: the previous values stay.
    Kept {
        /// Why.
        reason: String,
    },
}

/// One pixel's calibration.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PixelResult {
    /// DETNUM.
    pub detnum: u16,
    /// Counts in the fit window.
    pub counts: u64,
    /// Gain of the previous table.
    pub previous_gain: f64,
    /// Offset of the previous table.
    pub previous_offset_kev: f64,
    /// Fit window, channels (inclusive).
    pub window: (u16, u16),
    /// The outcome.
    pub outcome: Outcome,
}

impl PixelResult {
    /// The fit, if calibrated.
    pub fn fit(&self) -> Option<&PixelFit> {
        match &self.outcome {
            Outcome::Calibrated(f) => Some(f),
            Outcome::Kept { .. } => None,
        }
    }
}

/// A line as found in the final stacked spectrum.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AnchorLine {
    /// The line.
    pub line: Line,
    /// Where the stack put it before anchoring, keV (`None`: not found).
    pub found_kev: Option<f64>,
    /// Significance of the line in the stack, σ.
    pub significance: f64,
}

/// The whole calibration.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GainCalibration {
    /// One result per pixel, DETNUM order.
    pub pixels: Vec<PixelResult>,
    /// The lines in the last round's stack (before its anchoring).
    pub anchors: Vec<AnchorLine>,
    /// The last round's anchoring map `E = alpha·E_stack + beta` (≈ 1, 0 when converged).
    pub anchor_map: (f64, f64),
    /// The final template (calibrated energies).
    pub template: Template,
    /// The options used.
    pub options: GainOptions,
}

impl GainCalibration {
    /// Pixels calibrated.
    pub fn calibrated(&self) -> usize {
        self.pixels.iter().filter(|p| p.fit().is_some()).count()
    }

    /// The previous table with the new gains and offsets (rounded to f32) and the version
    /// after `previous`'s.
    pub fn apply(&self, previous: &PixelTable) -> Box<PixelTable> {
        let mut t = Box::new(previous.clone());
        t.version = previous.version.wrapping_add(1).max(1);
        for p in &self.pixels {
            if let (Some(f), Some(e)) = (p.fit(), t.entries.get_mut(usize::from(p.detnum))) {
                e.gain = f.gain as f32;
                e.offset_kev = f.offset_kev as f32;
            }
        }
        t
    }
}

/// Why no calibration could be made at all.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum GainError {
    /// No pixel has enough counts.
    TooLittleData {
        /// Most counts any pixel has in the window.
        best: u64,
        /// The minimum.
        min: u64,
    },
    /// Fewer than two lines found in the stacked spectrum.
    NoLines {
        /// The lines looked for and where they were found.
        anchors: Vec<AnchorLine>,
    },
}

impl std::fmt::Display for GainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GainError::TooLittleData { best, min } => write!(
                f,
                "too little data: no pixel has {min} counts in the fit window (the best has \
                 {best}); give more event files (a day of background calibrates every pixel)"
            ),
            GainError::NoLines { anchors } => {
                let found: Vec<String> = anchors
                    .iter()
                    .map(|a| match a.found_kev {
                        Some(e) => {
                            format!("{} {} keV at {e:.2} keV", a.line.name, a.line.energy_kev)
                        }
                        None => format!("{} {} keV not found", a.line.name, a.line.energy_kev),
                    })
                    .collect();
                write!(
                    f,
                    "fewer than two calibration lines in the stacked spectrum ({}): the events \
                     are not ECLAIRs background, or the previous gains are far off",
                    found.join(", ")
                )
            }
        }
    }
}

impl std::error::Error for GainError {}

/// Calibrates every pixel (see the module documentation).
///
/// # Errors
/// [`GainError::TooLittleData`] when no pixel can be fitted, [`GainError::NoLines`] when the
/// stack shows fewer than two of the lines.
pub fn calibrate(
    h: &Histograms,
    previous: &PixelTable,
    opts: &GainOptions,
) -> Result<GainCalibration, GainError> {
    // Fixed per-pixel windows (channels) from the previous calibration.
    let mut windows = Vec::with_capacity(PIXELS);
    for (d, e) in previous.entries.iter().enumerate() {
        let (g, o) = (f64::from(e.gain), f64::from(e.offset_kev));
        let lo = ((opts.window_kev.0 - o) / g).ceil().clamp(1.0, (CHANNELS - 2) as f64) as usize;
        let hi = ((opts.window_kev.1 - o) / g).floor().clamp(1.0, (CHANNELS - 2) as f64) as usize;
        let counts: u64 =
            h.pixel(d).get(lo..=hi.max(lo)).map_or(0, |s| s.iter().map(|&c| u64::from(c)).sum());
        windows.push((lo, hi.max(lo), counts));
    }
    let usable: Vec<usize> = (0..PIXELS)
        .filter(|&d| {
            previous.entries.get(d).is_some_and(|e| e.status != PixelStatus::Dead)
                && windows.get(d).is_some_and(|w| w.2 >= opts.min_counts)
        })
        .collect();
    if usable.is_empty() {
        let best = windows.iter().map(|w| w.2).max().unwrap_or(0);
        return Err(GainError::TooLittleData { best, min: opts.min_counts });
    }
    let mut cal: Vec<(f64, f64)> =
        previous.entries.iter().map(|e| (f64::from(e.gain), f64::from(e.offset_kev))).collect();
    let mut fitted: Vec<Option<Result<PixelFit, String>>> = vec![None; PIXELS];
    let mut anchors = Vec::new();
    let mut anchor_map = (1.0, 0.0);
    let mut template = Template::build(h, &[]);
    for round in 0..opts.iterations.max(1) {
        // Stack with the current calibrations (pixels whose last fit failed stay out).
        let stack: Vec<(usize, f64, f64)> = usable
            .iter()
            .filter(|&&d| !matches!(fitted.get(d), Some(Some(Err(_)))))
            .filter_map(|&d| cal.get(d).map(|&(g, o)| (d, g, o)))
            .collect();
        let t = Template::build(h, &stack);
        anchors = opts
            .lines
            .iter()
            .map(|l| {
                let f = t.locate(l);
                AnchorLine {
                    line: l.clone(),
                    found_kev: f.map(|x| x.0),
                    significance: f.map_or(0.0, |x| x.1),
                }
            })
            .collect();
        let pts: Vec<(f64, f64)> =
            anchors.iter().filter_map(|a| a.found_kev.map(|f| (f, a.line.energy_kev))).collect();
        if pts.len() < 2 {
            return Err(GainError::NoLines { anchors });
        }
        anchor_map = line_fit(&pts);
        let (alpha, beta) = anchor_map;
        for &d in &usable {
            if let Some(c) = cal.get_mut(d) {
                *c = (alpha * c.0, alpha * c.1 + beta);
            }
        }
        let stack: Vec<(usize, f64, f64)> =
            stack.iter().filter_map(|&(d, _, _)| cal.get(d).map(|&(g, o)| (d, g, o))).collect();
        template = Template::build(h, &stack);
        let mut in_stack = vec![false; PIXELS];
        for &(d, _, _) in &stack {
            if let Some(x) = in_stack.get_mut(d) {
                *x = true;
            }
        }
        let grid = round == 0;
        let results: Vec<(usize, Result<PixelFit, String>)> = usable
            .par_iter()
            .map(|&d| {
                let (lo, hi, _) = windows.get(d).copied().unwrap_or((1, 1, 0));
                let start = cal.get(d).copied().unwrap_or((0.145, 3.0));
                let own = if in_stack.get(d).copied().unwrap_or(false) {
                    template.without(h.pixel(d), start.0, start.1)
                } else {
                    template.clone()
                };
                (d, fit_pixel(h.pixel(d), lo, hi, &own, start, grid, opts))
            })
            .collect();
        for (d, mut r) in results {
            // A fit that wandered out of the searched box along the gain–offset valley is not
            // trusted: the previous values stay.
            if let (Ok(f), Some(e)) = (&r, previous.entries.get(d)) {
                let (g0, o0) = (f64::from(e.gain), f64::from(e.offset_kev));
                if (f.gain / g0 - 1.0).abs() > opts.search_gain
                    || (f.offset_kev - o0).abs() > opts.search_offset_kev
                {
                    r = Err(format!(
                        "fit outside the searched range (gain {:.5}, offset {:.2} keV against \
                         {g0:.5}, {o0:.2} keV: more than {} % or {} keV away)",
                        f.gain,
                        f.offset_kev,
                        100.0 * opts.search_gain,
                        opts.search_offset_kev
                    ));
                }
            }
            if let (Ok(f), Some(c)) = (&r, cal.get_mut(d)) {
                *c = (f.gain, f.offset_kev);
            }
            if let Some(s) = fitted.get_mut(d) {
                *s = Some(r);
            }
        }
    }
    let pixels = previous
        .entries
        .iter()
        .enumerate()
        .map(|(d, e)| {
            let (lo, hi, counts) = windows.get(d).copied().unwrap_or((0, 0, 0));
            let outcome = if e.status == PixelStatus::Dead {
                Outcome::Kept { reason: "dead".into() }
            } else if counts < opts.min_counts {
                Outcome::Kept {
                    reason: format!(
                        "{counts} counts in {}–{} keV, fewer than {}",
                        opts.window_kev.0, opts.window_kev.1, opts.min_counts
                    ),
                }
            } else {
                match fitted.get(d).cloned().flatten() {
                    Some(Ok(f)) => Outcome::Calibrated(f),
                    Some(Err(reason)) => Outcome::Kept { reason },
                    None => Outcome::Kept { reason: "not fitted".into() },
                }
            };
            PixelResult {
                detnum: d as u16,
                counts,
                previous_gain: f64::from(e.gain),
                previous_offset_kev: f64::from(e.offset_kev),
                window: (lo as u16, hi as u16),
                outcome,
            }
        })
        .collect();
    Ok(GainCalibration { pixels, anchors, anchor_map, template, options: opts.clone() })
}

/// Least-squares line `y = a·x + b` through points (a pure shift when all x are equal).
fn line_fit(p: &[(f64, f64)]) -> (f64, f64) {
    let n = p.len() as f64;
    let (mx, my) = (p.iter().map(|q| q.0).sum::<f64>() / n, p.iter().map(|q| q.1).sum::<f64>() / n);
    let sxx: f64 = p.iter().map(|q| (q.0 - mx).powi(2)).sum();
    let sxy: f64 = p.iter().map(|q| (q.0 - mx) * (q.1 - my)).sum();
    if sxx <= 0.0 {
        return (1.0, my - mx);
    }
    let a = sxy / sxx;
    (a, my - a * mx)
}

/// The Poisson log-likelihood (without the constant) and, optionally, its score and Fisher
/// information in θ = (A, b, g, o).
struct Model<'a> {
    n: &'a [u32],
    lo: usize,
    t: &'a Template,
}

impl Model<'_> {
    fn u(&self, k: usize, hi: usize) -> f64 {
        let span = hi.saturating_sub(self.lo).max(1) as f64;
        2.0 * (k as f64 - self.lo as f64) / span - 1.0
    }

    /// Profile log-likelihood over A with b = 0 (the coarse grid).
    fn profile(&self, g: f64, o: f64) -> f64 {
        let (mut s, mut nt, mut ll) = (0.0, 0.0, 0.0);
        for (i, &c) in self.n.iter().enumerate() {
            let k = (self.lo + i) as f64;
            let m = (g * self.t.at(g * k + o).0).max(1e-12);
            s += m;
            nt += f64::from(c);
            if c > 0 {
                ll += f64::from(c) * m.ln();
            }
        }
        if s <= 0.0 || nt <= 0.0 {
            return f64::MIN;
        }
        ll + nt * (nt / s).ln() - nt
    }

    /// The continuum's shape correction `1 + b1·u + b2·(u² − 1/3)` (kept positive).
    fn tilt(th: &[f64; NP], u: f64) -> f64 {
        (1.0 + th[1] * u + th[4] * (u * u - 1.0 / 3.0)).max(0.05)
    }

    /// Log-likelihood, score and Fisher information at θ.
    #[allow(clippy::indexing_slicing)] // fixed-size parameter arrays, indices below NP
    fn eval(&self, th: &[f64; NP]) -> (f64, [f64; NP], [[f64; NP]; NP]) {
        let (a, g, o) = (th[0], th[2], th[3]);
        let hi = self.lo + self.n.len().saturating_sub(1);
        let mut ll = 0.0;
        let mut score = [0.0; NP];
        let mut info = [[0.0; NP]; NP];
        for (i, &c) in self.n.iter().enumerate() {
            let k = self.lo + i;
            let u = self.u(k, hi);
            let kf = k as f64;
            let (t, dt) = self.t.at(g * kf + o);
            let tilt = Self::tilt(th, u);
            let mu = (a * g * t * tilt).max(1e-12);
            let j = [
                g * t * tilt,
                a * g * t * u,
                a * (t + g * kf * dt) * tilt,
                a * g * dt * tilt,
                a * g * t * (u * u - 1.0 / 3.0),
            ];
            let n = f64::from(c);
            ll += if c > 0 { n * mu.ln() - mu } else { -mu };
            let r = n / mu - 1.0;
            for p in 0..NP {
                score[p] += r * j[p];
                for q in 0..NP {
                    info[p][q] += j[p] * j[q] / mu;
                }
            }
        }
        (ll, score, info)
    }
}

/// Parameters of a pixel's fit: A, b1, g, o, b2.
const NP: usize = 5;

/// Inverts a small symmetric positive matrix (Gauss–Jordan with partial pivoting).
#[allow(clippy::indexing_slicing)] // fixed-size arrays, indices below NP
fn invert(m: &[[f64; NP]; NP]) -> Option<[[f64; NP]; NP]> {
    let mut a = *m;
    let mut inv = [[0.0; NP]; NP];
    for (i, row) in inv.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    for c in 0..NP {
        let p = (c..NP).max_by(|&x, &y| a[x][c].abs().total_cmp(&a[y][c].abs()))?;
        if a[p][c].abs() < 1e-300 || !a[p][c].is_finite() {
            return None;
        }
        a.swap(c, p);
        inv.swap(c, p);
        let d = a[c][c];
        for k in 0..NP {
            a[c][k] /= d;
            inv[c][k] /= d;
        }
        for r in 0..NP {
            if r != c {
                let f = a[r][c];
                for k in 0..NP {
                    a[r][k] -= f * a[c][k];
                    inv[r][k] -= f * inv[c][k];
                }
            }
        }
    }
    Some(inv)
}

/// Fits one pixel's channels `lo..=hi` with the template (see the module documentation).
#[allow(clippy::indexing_slicing)] // fixed-size parameter arrays, indices below NP
fn fit_pixel(
    hist: &[u32],
    lo: usize,
    hi: usize,
    t: &Template,
    start: (f64, f64),
    grid: bool,
    opts: &GainOptions,
) -> Result<PixelFit, String> {
    let n = hist.get(lo..=hi).ok_or("empty window")?;
    let m = Model { n, lo, t };
    let (mut g, mut o) = start;
    if grid {
        let (mut best, mut bg, mut bo) = (f64::MIN, g, o);
        let (gs, os) = (15i32, 5i32);
        for i in -gs..=gs {
            let gi = start.0 * (1.0 + opts.search_gain * f64::from(i) / f64::from(gs));
            for j in -os..=os {
                let oj = start.1 + opts.search_offset_kev * f64::from(j) / f64::from(os);
                let l = m.profile(gi, oj);
                if l > best {
                    (best, bg, bo) = (l, gi, oj);
                }
            }
        }
        (g, o) = (bg, bo);
    }
    let total: f64 = n.iter().map(|&c| f64::from(c)).sum();
    let s: f64 = n
        .iter()
        .enumerate()
        .map(|(i, _)| g * t.at(g * (lo + i) as f64 + o).0)
        .sum::<f64>()
        .max(1e-12);
    let mut th = [total / s, 0.0, g, o, 0.0];
    let (mut ll, mut score, mut info) = m.eval(&th);
    let mut converged = false;
    for _ in 0..100 {
        let inv = invert(&info).ok_or("singular Fisher information")?;
        let mut step = [0.0; NP];
        for p in 0..NP {
            step[p] = (0..NP).map(|q| inv[p][q] * score[q]).sum();
        }
        // Newton decrement: the log-likelihood still to gain, about half of it.
        let decrement: f64 = (0..NP).map(|p| step[p] * score[p]).sum();
        if decrement < 1e-6 {
            converged = true;
            break;
        }
        // Keep steps physical: a gain step of at most 1 %, an offset step of at most 0.3 keV.
        let scale =
            1f64.min(0.01 * th[2] / step[2].abs().max(1e-300)).min(0.3 / step[3].abs().max(1e-300));
        let mut lambda = scale;
        let mut improved = false;
        for _ in 0..30 {
            let mut next = th;
            for p in 0..NP {
                next[p] += lambda * step[p];
            }
            next[1] = next[1].clamp(-0.9, 0.9);
            next[4] = next[4].clamp(-0.9, 0.9);
            if next[0] > 0.0 && next[2] > 0.0 {
                let (l2, s2, i2) = m.eval(&next);
                if l2 > ll {
                    th = next;
                    (ll, score, info) = (l2, s2, i2);
                    improved = true;
                    break;
                }
            }
            lambda *= 0.5;
        }
        if !improved {
            // No step gains: at the optimum within rounding (a log-likelihood of 0.01 below
            // the maximum is 0.14σ away), or stuck.
            converged = decrement < 1e-2;
            break;
        }
    }
    if !converged {
        // Out of iterations: accept when within 0.05 of the maximum (0.3σ).
        let inv = invert(&info).ok_or("singular Fisher information")?;
        let decrement: f64 =
            (0..NP).map(|p| score[p] * (0..NP).map(|q| inv[p][q] * score[q]).sum::<f64>()).sum();
        converged = decrement < 0.05;
    }
    if !converged {
        return Err("fit did not converge".into());
    }
    let cov = invert(&info).ok_or("singular Fisher information")?;
    let (ge, oe) = (cov[2][2].max(0.0).sqrt(), cov[3][3].max(0.0).sqrt());
    let (g, o) = (th[2], th[3]);
    // Deviance per degree of freedom.
    let mut dev = 0.0;
    for (i, &c) in n.iter().enumerate() {
        let k = lo + i;
        let u = m.u(k, hi);
        let mu = (th[0] * g * t.at(g * k as f64 + o).0 * Model::tilt(&th, u)).max(1e-12);
        let c = f64::from(c);
        dev += 2.0 * (if c > 0.0 { c * (c / mu).ln() } else { 0.0 } - (c - mu));
    }
    let dof = (n.len() as f64 - NP as f64).max(1.0);
    let fit = PixelFit {
        gain: g,
        gain_err: ge,
        offset_kev: o,
        offset_err_kev: oe,
        deviance_per_dof: dev / dof,
        norm: th[0],
        shape: (th[1], th[4]),
    };
    if !(ge.is_finite() && oe.is_finite()) {
        return Err("uncertainty not finite".into());
    }
    if ge > opts.max_gain_err * g {
        return Err(format!(
            "gain uncertain: ±{:.2} %, more than {:.2} %",
            100.0 * ge / g,
            100.0 * opts.max_gain_err
        ));
    }
    if oe > opts.max_offset_err_kev {
        return Err(format!(
            "offset uncertain: ±{oe:.2} keV, more than {} keV",
            opts.max_offset_err_kev
        ));
    }
    if !(pixels::GAIN.0..=pixels::GAIN.1).contains(&g)
        || !(pixels::OFFSET_KEV.0..=pixels::OFFSET_KEV.1).contains(&o)
    {
        return Err(format!("fit outside the table's ranges: gain {g:.4}, offset {o:.2} keV"));
    }
    Ok(fit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tables::defaults::Rng;

    /// A background spectrum in energy (counts per keV, arbitrary scale): a broken power law,
    /// a flat particle part and the default lines, smeared by 1.2 keV FWHM.
    fn spectrum(e: f64, cxb_share: f64) -> f64 {
        let sigma = 1.2 / 2.354_820_045;
        let cxb = 1.0 / ((e / 29.0).powf(1.4) + (e / 29.0).powf(2.88));
        let flat = 0.25;
        let line = |c: f64, a: f64| {
            a * (-0.5 * ((e - c) / sigma).powi(2)).exp() / (sigma * (std::f64::consts::TAU).sqrt())
        };
        cxb_share * cxb
            + flat
            + line(23.174, 0.5)
            + line(27.472, 0.4)
            + line(56.277, 0.25)
            + line(57.532, 0.45)
            + line(72.804, 0.2)
            + line(74.969, 0.4)
    }

    fn poisson(rng: &mut Rng, lambda: f64) -> u32 {
        if lambda < 30.0 {
            let l = (-lambda).exp();
            let (mut k, mut p) = (0u32, 1.0);
            loop {
                p *= rng.uniform();
                if p <= l {
                    return k;
                }
                k += 1;
            }
        }
        (lambda + lambda.sqrt() * rng.normal()).round().max(0.0) as u32
    }

    /// Histograms of `pixels` pixels with `counts` expected counts each (4–150 keV), a true
    /// gain/offset per pixel; returns the histograms, the previous table (truth plus an error)
    /// and the truth.
    #[allow(clippy::needless_range_loop)] // d indexes the histograms, the table and the truth
    fn synthetic(
        seed: u64,
        pixels: usize,
        counts: f64,
    ) -> (Histograms, PixelTable, Vec<(f64, f64)>) {
        let mut rng = Rng::new(seed);
        // Cumulative spectrum on a fine grid, 4–150 keV.
        let de = 0.01;
        let grid: Vec<f64> = (0..=14_600).map(|i| 4.0 + i as f64 * de).collect();
        let mut h = Histograms::new();
        let mut prev = PixelTable::default();
        let mut truth = vec![(0.145, 3.0); PIXELS];
        for d in 0..pixels {
            let share = 0.7 + 0.6 * rng.uniform();
            let mut cdf = Vec::with_capacity(grid.len());
            let mut acc = 0.0;
            for &e in &grid {
                acc += spectrum(e, share) * de;
                cdf.push(acc);
            }
            let g = 0.145 * (1.0 + 0.01 * rng.normal());
            let o = 3.0 + 0.05 * rng.normal();
            truth[d] = (g, o);
            // The previous table is off by a drift of ~1.5 % and ~0.3 keV (at most 4.5 % and 0.9 keV).
            let e = &mut prev.entries[d];
            e.gain = (g * (1.0 + 0.015 * rng.normal())) as f32;
            e.offset_kev = (o + 0.3 * rng.normal()) as f32;
            let at = |x: f64| {
                let i = ((x - 4.0) / de).clamp(0.0, (grid.len() - 1) as f64);
                let i0 = i.floor() as usize;
                let f = i - i0 as f64;
                let a = cdf[i0];
                let b = cdf[(i0 + 1).min(cdf.len() - 1)];
                a + f * (b - a)
            };
            let norm = counts / acc;
            for k in 0..CHANNELS {
                let a = o + g * (k as f64 - 0.5);
                let b = o + g * (k as f64 + 0.5);
                let lam = norm * (at(b) - at(a));
                let c = poisson(&mut rng, lam);
                h.add_n(d, k, c);
            }
        }
        for e in prev.entries.iter_mut().skip(pixels) {
            e.status = PixelStatus::Dead;
        }
        (h, prev, truth)
    }

    fn rms(v: impl Iterator<Item = f64>) -> f64 {
        let v: Vec<f64> = v.collect();
        (v.iter().map(|x| x * x).sum::<f64>() / v.len() as f64).sqrt()
    }

    /// One day of background per pixel (~67 000 counts, 5 000 counts/s over 6 400 pixels),
    /// three seeds: gain within 0.5 % and offset within 0.2 keV rms, with honest errors.
    #[test]
    fn a_day_per_pixel_meets_the_accuracy_target() {
        for seed in [1u64, 2, 3] {
            let n = 40;
            let (h, prev, truth) = synthetic(seed, n, 67_000.0);
            let cal = calibrate(&h, &prev, &GainOptions::default()).unwrap();
            assert_eq!(cal.calibrated(), n, "{:?}", cal.pixels.iter().find(|p| p.fit().is_none()));
            let (mut dg, mut dof, mut pg, mut po) = (vec![], vec![], vec![], vec![]);
            for p in cal.pixels.iter().take(n) {
                let f = p.fit().unwrap();
                let (g, o) = truth[usize::from(p.detnum)];
                dg.push(f.gain / g - 1.0);
                dof.push(f.offset_kev - o);
                pg.push((f.gain - g) / f.gain_err);
                po.push((f.offset_kev - o) / f.offset_err_kev);
            }
            let (rg, ro) = (rms(dg.into_iter()), rms(dof.into_iter()));
            let (rpg, rpo) = (rms(pg.into_iter()), rms(po.into_iter()));
            assert!(rg < 0.005, "seed {seed}: gain rms {rg}");
            assert!(ro < 0.2, "seed {seed}: offset rms {ro}");
            // The uncertainties are statistical (Fisher): the scatter is up to about twice them
            // (docs/calib.md, "Uncertainties"); they must not be wildly off either way.
            assert!((0.6..2.5).contains(&rpg), "seed {seed}: gain pull rms {rpg}");
            assert!((0.6..2.5).contains(&rpo), "seed {seed}: offset pull rms {rpo}");
            eprintln!(
                "seed {seed}: gain rms {:.3} %, offset rms {ro:.3} keV, pulls {rpg:.2} {rpo:.2}",
                100.0 * rg
            );
            assert!((cal.anchor_map.0 - 1.0).abs() < 2e-3, "{:?}", cal.anchor_map);
        }
    }

    #[test]
    fn low_counts_keep_their_value_and_are_listed() {
        let (mut h, prev, _) = synthetic(7, 40, 67_000.0);
        // Pixel 40 has only 300 counts: kept, with the reason.
        let (h2, _, _) = synthetic(8, 41, 300.0);
        for k in 0..CHANNELS {
            h.add_n(40, k, h2.pixel(40)[k]);
        }
        let mut prev = prev;
        prev.entries[40].status = PixelStatus::Ok;
        let cal = calibrate(&h, &prev, &GainOptions::default()).unwrap();
        let p = &cal.pixels[40];
        assert!(matches!(&p.outcome, Outcome::Kept { reason } if reason.contains("fewer than")));
        let t = cal.apply(&prev);
        assert_eq!(t.entries[40], prev.entries[40]);
        assert_eq!(t.version, prev.version + 1);
        assert!(matches!(&cal.pixels[41].outcome, Outcome::Kept { reason } if reason == "dead"));
        assert_ne!(t.entries[0].gain, prev.entries[0].gain);
        let mut problems = 0;
        t.validate(&mut |_| problems += 1);
        assert_eq!(problems, 0);
    }

    #[test]
    fn no_data_and_no_lines_are_errors() {
        let h = Histograms::new();
        let prev = PixelTable::default();
        assert!(matches!(
            calibrate(&h, &prev, &GainOptions::default()),
            Err(GainError::TooLittleData { best: 0, .. })
        ));
        // A featureless spectrum: no line to anchor on.
        let mut h = Histograms::new();
        for d in 0..20 {
            for k in 1..1000 {
                h.add_n(d, k, 50);
            }
        }
        let e = calibrate(&h, &prev, &GainOptions::default()).unwrap_err();
        assert!(e.to_string().contains("fewer than two calibration lines"), "{e}");
    }

    #[test]
    fn histogram_bounds() {
        let mut h = Histograms::new();
        assert!(h.add(6399, 1023));
        assert!(!h.add(6400, 0));
        assert!(!h.add(0, 1024));
        assert_eq!(h.events(), 1);
        assert_eq!(h.pixel(6399)[1023], 1);
        assert!(h.pixel(6400).is_empty());
    }
}
