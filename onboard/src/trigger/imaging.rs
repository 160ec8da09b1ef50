//! Coded-mask imaging: shadowgram → sky image, variance and SNR maps, peak search.
//!
//! # How to call it
//! ```
//! use onboard::trigger::geometry::{self, DET_PIXELS};
//! use onboard::trigger::imaging::{ImageOptions, Imager, PeakOptions, Shadowgram};
//!
//! // 1.46 MiB: on the firmware it lives in a `static` (`Imager::new()` is a `const fn`); on a
//! // host, `Imager::boxed()` (feature `std`) builds it on the heap without a large stack copy.
//! let mut imager = Imager::boxed();
//! // A source at (5°, −3°) over a flat background: expected counts per pixel.
//! let mut lit = [0.0f32; DET_PIXELS];
//! geometry::pixel_illumination(5.0, -3.0, &mut lit);
//! let counts: Vec<f32> = lit.iter().map(|f| 20.0 * f + 50.0).collect();
//! let counts: &[f32; DET_PIXELS] = counts.as_slice().try_into().unwrap();
//! let active = [true; DET_PIXELS];
//! // Poisson counts: the variance of each pixel is its count.
//! let sky = imager.image(&Shadowgram::poisson(counts, &active), &ImageOptions::default())?;
//! let peak = sky.find_peak(&PeakOptions::default()).unwrap();
//! assert!((peak.y_deg - 5.0).abs() < 0.1 && (peak.z_deg + 3.0).abs() < 0.1);
//! assert!(peak.snr > 30.0);
//! # Ok::<(), onboard::trigger::imaging::ImageError>(())
//! ```
//! For the count-rate trigger, pass the excess `N − k·B` as `counts` and `N + k²·B` as
//! `variance` ([`Shadowgram`]): the variance map then stays right. For long image-trigger
//! exposures, [`ImageOptions::background`] = [`Background::Quadratic`] subtracts a fitted 2-D
//! quadratic first.
//!
//! # Method (details in `docs/trigger.md`, section "Imaging")
//! The mask is rebinned once to the detector pitch: 120 × 120 cells `G⁺` (open area fraction of
//! each 4.5 mm cell; the frame is closed) and the coded support `κ` (1 on cells 1..=118, which
//! overlap the mask). For sky pixel `s`, detector pixel Y sees cell `c = Y + s − 79` (per axis).
//! The decoding array is balanced **per sky pixel**: `G_s = G⁺ − b(s)·G⁻`, `G⁻ = κ − G⁺`, with
//! `b(s) = Σ_Y W·G⁺ / Σ_Y W·G⁻` over the active pixels W, so that a flat shadowgram gives
//! exactly 0 everywhere, in the partially coded field too. Then
//! - signal `S(s) = Σ W·D·G_s = (1 + b)·D⋆G⁺ − b·D⋆κ`,
//! - variance `V_S(s) = Σ W·V·G_s² = (1 + b)²·V⋆G⁺² − 2b(1 + b)·V⋆G⁺ + b²·V⋆κ`,
//! - `SNR = S / √V_S`.
//!
//! `⋆G⁺` and `⋆G⁺²` come from one 256 × 256 FFT correlation with the complex kernel
//! `G⁺ + i·G⁺²`; `⋆κ` is a box sum from a summed-area table. Per image: two FFT correlations
//! (variance, then signal); one more when the set of active pixels changes (for `b`).
//!
//! # Memory
//! Everything is inside [`Imager`]: [`IMAGER_SIZE`] octets (1.46 MiB), no heap, no large stack
//! frame.

use super::fft::{self, Lanes, N, SplitGrid, Twiddles};
use super::geometry::{
    DET_N, DET_PIXELS, MASK_HEIGHT_MM, PITCH_MM, REBIN_N, SKY_CENTRE, SKY_N, mask_open_area,
    sky_to_angles,
};

/// Grid position of kernel cell 0: the kernel sits at `c + 79`, so that the correlation for sky
/// pixel `t` lands at grid position `t` (no wrap-around inside the sky image).
const KERNEL_OFFSET: usize = DET_N - 1;
/// First and last rebinned cells overlapping the mask (the coded support `κ`).
const CODED_FIRST: usize = 1;
const CODED_LAST: usize = REBIN_N - 2;
/// Least open (and closed) area, in pixels, a sky pixel must see to be imaged.
const MIN_SEEN_AREA: f32 = 1.0;

/// Largest magnitude of a pixel's signal or variance: far above any real count (the whole
/// detector collects ~10⁷ counts in the longest image-trigger exposure), low enough that no
/// sum in the imager overflows `f32`.
pub const MAX_PIXEL_VALUE: f32 = 1.0e12;

/// Size of an [`Imager`] in octets (the same on every target: `f32`, `f64` and `bool` arrays).
pub const IMAGER_SIZE: usize = core::mem::size_of::<Imager>();
const _: () = assert!(IMAGER_SIZE <= 2560 * 1024, "the imager must stay within 2.5 MiB");

/// Active sets whose balance the imager keeps: the trigger's bands use at most two (noisy
/// pixels are left out of the images of bands starting below their threshold), so switching
/// bands does not cost a correlation.
const BALANCE_SLOTS: usize = 2;

/// A shadowgram to image: per-pixel signal, its variance and the active-pixel mask.
///
/// Index `80·Y + Z`. The signal is already efficiency-corrected; it may be negative (an excess
/// minus a scaled background). Inactive pixels are ignored whatever their values.
#[derive(Debug, Clone, Copy)]
pub struct Shadowgram<'a> {
    /// Signal per pixel (counts, or counts divided by efficiency, or an excess).
    pub counts: &'a [f32; DET_PIXELS],
    /// Variance of each pixel's signal (≥ 0): the counts for raw Poisson counts, `N/ε²` for
    /// efficiency-corrected counts, `N + k²·B` for an excess `N − k·B`.
    pub variance: &'a [f32; DET_PIXELS],
    /// Pixels that take part (dead, excluded and noisy pixels are `false`).
    pub active: &'a [bool; DET_PIXELS],
}

impl<'a> Shadowgram<'a> {
    /// A shadowgram of raw Poisson counts: each pixel's variance is its count.
    pub fn poisson(counts: &'a [f32; DET_PIXELS], active: &'a [bool; DET_PIXELS]) -> Self {
        Shadowgram { counts, variance: counts, active }
    }
}

/// Background treatment of the shadowgram before deconvolution.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Background {
    /// None (short timescales, or the caller already subtracted a background shadowgram).
    #[default]
    None,
    /// Fit `a·y² + b·z² + c·y + d·z + e` over the active pixels and subtract it ([`Quadratic`]).
    Quadratic,
}

/// Options of [`Imager::image`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImageOptions {
    /// Background treatment.
    pub background: Background,
}

/// Why an image was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImageError {
    /// A pixel's signal or variance is NaN or infinite.
    NonFinite {
        /// Pixel ID (`80·Y + Z`).
        pixel: usize,
    },
    /// A pixel's signal or variance exceeds [`MAX_PIXEL_VALUE`] in magnitude.
    TooLarge {
        /// Pixel ID (`80·Y + Z`).
        pixel: usize,
    },
    /// A pixel's variance is negative.
    NegativeVariance {
        /// Pixel ID (`80·Y + Z`).
        pixel: usize,
    },
    /// No pixel is active.
    NoActivePixels,
    /// [`Imager::subtract_model`] without an image to subtract from.
    NoImage,
    /// The quadratic background fit is singular (too few active pixels, or all on one line).
    BackgroundFitSingular,
}

impl core::fmt::Display for ImageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ImageError::NonFinite { pixel } => write!(
                f,
                "pixel {pixel} (Y {}, Z {}) has a non-finite signal or variance",
                pixel / DET_N,
                pixel % DET_N
            ),
            ImageError::NegativeVariance { pixel } => write!(
                f,
                "pixel {pixel} (Y {}, Z {}) has a negative variance",
                pixel / DET_N,
                pixel % DET_N
            ),
            ImageError::TooLarge { pixel } => write!(
                f,
                "pixel {pixel} (Y {}, Z {}) has a signal or variance beyond {MAX_PIXEL_VALUE:e}",
                pixel / DET_N,
                pixel % DET_N
            ),
            ImageError::NoActivePixels => f.write_str("no active pixel to image"),
            ImageError::NoImage => f.write_str("no image to subtract a model from"),
            ImageError::BackgroundFitSingular => {
                f.write_str("quadratic background fit is singular: too few active pixels")
            }
        }
    }
}

/// A 2-D quadratic over the detector, `a·y² + b·z² + c·y + d·z + e`, with `y = Y − 39.5` and
/// `z = Z − 39.5` in pixels from the detector centre.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quadratic {
    /// Coefficients `[a, b, c, d, e]`.
    pub coef: [f64; 5],
}

impl Quadratic {
    /// The basis `[y², z², y, z, 1]` at pixel (Y, Z).
    fn basis(y_px: usize, z_px: usize) -> [f64; 5] {
        let c = 0.5 * (DET_N as f64 - 1.0);
        let (y, z) = (y_px as f64 - c, z_px as f64 - c);
        [y * y, z * z, y, z, 1.0]
    }

    /// The value at pixel (Y, Z).
    pub fn eval(&self, y_px: usize, z_px: usize) -> f64 {
        let p = Self::basis(y_px, z_px);
        p.iter().zip(&self.coef).map(|(p, c)| p * c).sum()
    }

    /// Least-squares fit (unweighted) of `values` over the active pixels.
    ///
    /// Normal equations accumulated in `f64` in pixel order, solved by Gaussian elimination with
    /// partial pivoting: deterministic. `None` when singular (fewer than 5 active pixels in
    /// general position).
    pub fn fit(values: &[f32; DET_PIXELS], active: &[bool; DET_PIXELS]) -> Option<Self> {
        // The normal matrix is symmetric: only its upper triangle (`p_r·p_c`, r ≤ c) and the
        // right-hand side (`p_r·v`) are summed, then mirrored. `p_c·p_r` is `p_r·p_c` bit
        // for bit, summed over the same pixels in the same order: the same matrix.
        let mut sums = [0.0f64; NORMAL_SUMS];
        for (k, (&v, _)) in values.iter().zip(active).enumerate().filter(|(_, (_, a))| **a) {
            let p = Self::basis(k / DET_N, k % DET_N);
            let x = [p[0], p[1], p[2], p[3], p[4], v as f64];
            for (sum, &(r, c)) in sums.iter_mut().zip(&NORMAL_CELLS) {
                let at = |i: usize| x.get(i).copied().unwrap_or(0.0);
                *sum += at(r) * at(c);
            }
        }
        let mut m = [[0.0f64; 6]; 5];
        for (&sum, &(r, c)) in sums.iter().zip(&NORMAL_CELLS) {
            for (i, j) in [(r, c), (c, r)] {
                if let Some(cell) = m.get_mut(i).and_then(|row| row.get_mut(j)) {
                    *cell = sum;
                }
            }
        }
        solve5(&mut m).map(|coef| Quadratic { coef })
    }
}

/// Sums of the normal equations of [`Quadratic::fit`]: the upper triangle of the 5 × 5 matrix
/// and the right-hand side.
const NORMAL_SUMS: usize = 15 + 5;

/// The (row, column) of each of the [`NORMAL_SUMS`] sums: `(r, c)`, `r ≤ c < 5`, then `(r, 5)`
/// (column 5 of the augmented matrix: the right-hand side).
// Indexing in a constant: an out-of-range index fails the build, never the program.
#[allow(clippy::indexing_slicing)]
const NORMAL_CELLS: [(usize, usize); NORMAL_SUMS] = {
    let mut cells = [(0, 0); NORMAL_SUMS];
    let (mut n, mut r) = (0, 0);
    while r < 5 {
        let mut c = r;
        while c < 6 {
            cells[n] = (r, c);
            n += 1;
            c += 1;
        }
        r += 1;
    }
    assert!(n == NORMAL_SUMS);
    cells
};

/// Solves the 5 × 5 system in `m` (augmented with the right-hand side as column 5).
fn solve5(m: &mut [[f64; 6]; 5]) -> Option<[f64; 5]> {
    let scale =
        m.iter().enumerate().map(|(i, r)| r.get(i).map_or(0.0, |v| v.abs())).fold(0.0, f64::max);
    if scale <= 0.0 {
        return None;
    }
    for col in 0..5 {
        // Partial pivoting: the largest |m[r][col]| at or below the diagonal.
        let mut best = col;
        for r in col..5 {
            if cell(m, r, col).abs() > cell(m, best, col).abs() {
                best = r;
            }
        }
        if cell(m, best, col).abs() <= 1e-12 * scale {
            return None;
        }
        m.swap(col, best);
        let pivot_row = *m.get(col)?;
        let pivot = cell(m, col, col);
        for r in 0..5 {
            if r != col {
                let f = cell(m, r, col) / pivot;
                if let Some(row) = m.get_mut(r) {
                    for (x, &p) in row.iter_mut().zip(&pivot_row) {
                        *x -= f * p;
                    }
                }
            }
        }
    }
    let mut out = [0.0; 5];
    for (i, o) in out.iter_mut().enumerate() {
        *o = cell(m, i, 5) / cell(m, i, i);
    }
    Some(out)
}

/// `m[r][c]`, 0 out of range.
fn cell(m: &[[f64; 6]; 5], r: usize, c: usize) -> f64 {
    m.get(r).and_then(|row| row.get(c)).copied().unwrap_or(0.0)
}

/// A circular region of the sky left out of the peak search (a known source, the Earth).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Exclusion {
    /// Centre, projected angle along Y (degrees).
    pub y_deg: f32,
    /// Centre, projected angle along Z (degrees).
    pub z_deg: f32,
    /// Angular radius (degrees, true angle on the sky).
    pub radius_deg: f32,
}

/// Options of the peak search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PeakOptions<'a> {
    /// Sky pixels left out along each edge of the image.
    pub border: usize,
    /// Least fraction of the active pixels that must see the mask from a sky pixel for it to be
    /// searched (0.05 by default: the far partially coded field is left out).
    pub min_coded_fraction: f32,
    /// Regions left out.
    pub exclude: &'a [Exclusion],
}

impl Default for PeakOptions<'_> {
    fn default() -> Self {
        PeakOptions { border: 0, min_coded_fraction: 0.05, exclude: &[] }
    }
}

/// The brightest point of a sky image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Peak {
    /// Signal-to-noise ratio of the peak pixel.
    pub snr: f32,
    /// Integer sky pixel of the maximum, along Y.
    pub pixel_y: usize,
    /// Integer sky pixel of the maximum, along Z.
    pub pixel_z: usize,
    /// Refined sub-pixel position along Y (sky pixel units).
    pub sky_y: f32,
    /// Refined sub-pixel position along Z (sky pixel units).
    pub sky_z: f32,
    /// Projected angle along Y of the refined position (degrees).
    pub y_deg: f32,
    /// Projected angle along Z of the refined position (degrees).
    pub z_deg: f32,
    /// Decoded signal `S` of the peak pixel.
    pub signal: f32,
    /// Its variance.
    pub variance: f32,
    /// Estimated source counts on the active detector (same units as the shadowgram), from the
    /// peak pixel: low by up to ~5 % when the source falls between sky pixels.
    pub counts: f32,
    /// Fraction of the active pixels that see the mask from the peak direction.
    pub coded_fraction: f32,
}

/// The balance `b(s)` for one active set, and what it was computed from.
#[derive(Debug)]
struct Balance {
    /// `b(s)` per sky pixel; negative: not imaged.
    b: [[f32; SKY_N]; SKY_N],
    /// The active set.
    active: [bool; DET_PIXELS],
    /// Summed-area table of `active` (exact: integers below 2²⁴).
    active_sat: [[f32; DET_N + 1]; DET_N + 1],
    /// Number of active pixels.
    active_count: f32,
    /// `b` matches `active`.
    ready: bool,
    /// Incremented each time the slot is computed for another active set; never 0 once
    /// computed (0 marks the keys below as unset).
    generation: u32,
    /// The imager's call count when the slot was last used (least recently used is replaced).
    last_used: u64,
    /// Signal image of the last model given to [`Imager::subtract_model`] with this active
    /// set (a catalogue source's shadow, cleaned from image after image).
    model: [[f32; SKY_N]; SKY_N],
    /// The model (inactive pixels 0) `model` was computed from.
    model_in: [f32; DET_PIXELS],
    /// The generation and background option `model` was computed with, if it matches
    /// `model_in` (generation 0: none). Keys are plain values, not `Option`s, so that an
    /// unused imager is all zero octets (`.bss` on the firmware, not a flash image).
    model_key: (u32, Background),
}

impl Balance {
    const fn new() -> Self {
        Balance {
            b: [[0.0; SKY_N]; SKY_N],
            active: [false; DET_PIXELS],
            active_sat: [[0.0; DET_N + 1]; DET_N + 1],
            active_count: 0.0,
            ready: false,
            generation: 0,
            last_used: 0,
            model: [[0.0; SKY_N]; SKY_N],
            model_in: [0.0; DET_PIXELS],
            model_key: (0, Background::None),
        }
    }
}

/// What a cached map was computed with: the balance slot and its generation (0: nothing), and
/// the background option.
type MapKey = (usize, u32, Background);

/// The key of nothing computed.
const NO_KEY: MapKey = (0, 0, Background::None);

/// Imaging state: kernels, scratch and the last image, all inline (see [`IMAGER_SIZE`]).
///
/// Not `Clone` on purpose: it is 1.95 MiB.
#[derive(Debug)]
pub struct Imager {
    /// Twiddle factors.
    tw: Twiddles,
    /// Work grid (split real and imaginary parts). After a correlation: sky pixel (t, u) in
    /// `[rev(u)][t]` (u bit-reversed).
    grid: SplitGrid,
    /// Spectrum of the kernel `G⁺ + i·G⁺²` (placed at `c + 79`), scaled by 1/N²: rows
    /// bit-reversed, columns in natural order (the layout of [`fft::forward_2d_real`]).
    kernel: SplitGrid,
    /// Rebinned mask `G⁺`: open area fraction of each 4.5 mm cell.
    open: [[f32; REBIN_N]; REBIN_N],
    /// Balances of the last active sets imaged; `slots[cur]` is the current one.
    slots: [Balance; BALANCE_SLOTS],
    /// The current balance slot.
    cur: usize,
    /// Calls to [`Imager::image`] so far (the slots' clock).
    calls: u64,
    /// Signal of the last image.
    signal: [[f32; SKY_N]; SKY_N],
    /// Variance of the last image.
    variance: [[f32; SKY_N]; SKY_N],
    /// Summed-area table scratch for the variance and the signal.
    sat: [[f64; DET_N + 1]; DET_N + 1],
    /// Kernel computed.
    ready: bool,
    /// `signal` and `variance` hold an image.
    has_image: bool,
    /// The per-pixel variance (inactive pixels 0) the `variance` map was computed from: a
    /// later image with the same active set and bit-identical variance (the catalogue-cleaning
    /// pass changes only the counts) reuses the map instead of correlating again.
    variance_in: [f32; DET_PIXELS],
    /// What `variance` was computed with, if it matches `variance_in`.
    variance_key: MapKey,
}

impl Default for Imager {
    fn default() -> Self {
        Self::new()
    }
}

/// Detector rows (or columns) `[lo, hi)` whose cells for sky index `t` lie in the coded support.
const fn coded_range_of(t: usize) -> (usize, usize) {
    // Cell c = Y + t − 79 ∈ [1, 118]  ⇔  Y ∈ [80 − t, 197 − t].
    let lo = (CODED_FIRST + KERNEL_OFFSET).saturating_sub(t);
    let lo = if lo < DET_N { lo } else { DET_N };
    let hi = (CODED_LAST + KERNEL_OFFSET + 1).saturating_sub(t);
    let hi = if hi < DET_N { hi } else { DET_N };
    (lo, if hi > lo { hi } else { lo })
}

/// [`coded_range_of`] per sky index `t < SKY_N`: the maps look it up per pixel.
// Indexing in a constant: an out-of-range index fails the build, never the program.
#[allow(clippy::indexing_slicing)]
const CODED_RANGES: [(usize, usize); SKY_N] = {
    let mut r = [(0, 0); SKY_N];
    let mut t = 0;
    while t < SKY_N {
        r[t] = coded_range_of(t);
        t += 1;
    }
    r
};

/// [`coded_range_of`]`(t)`, from the table for `t < SKY_N`.
#[inline(always)]
fn coded_range(t: usize) -> (usize, usize) {
    CODED_RANGES.get(t).copied().unwrap_or_else(|| coded_range_of(t))
}

/// Sum over detector rows `[y0, y1)` and columns `[z0, z1)` from a summed-area table.
fn box_sum<T: Copy + Into<f64>>(
    sat: &[[T; DET_N + 1]; DET_N + 1],
    (y0, y1): (usize, usize),
    (z0, z1): (usize, usize),
) -> f64 {
    let at = |y: usize, z: usize| -> f64 {
        sat.get(y).and_then(|r| r.get(z)).map_or(0.0, |&v| v.into())
    };
    at(y1, z1) - at(y0, z1) - at(y1, z0) + at(y0, z0)
}

/// The coded ranges along a sky axis in three runs: `(LO_0 − u, DET_N)` for `u ≤ LO_0`, then
/// `(0, DET_N)` for `u ≤ HI_0 − DET_N`, then `(0, HI_0 − u)` (checked against the table below).
const LO_0: usize = CODED_FIRST + KERNEL_OFFSET;
/// See [`LO_0`].
const HI_0: usize = CODED_LAST + KERNEL_OFFSET + 1;
// Indexing in a constant: an out-of-range index fails the build, never the program.
#[allow(clippy::indexing_slicing)]
const _: () = {
    assert!(LO_0 <= DET_N && LO_0 < HI_0 - DET_N && HI_0 + 1 == SKY_N);
    let mut u = 0;
    while u < SKY_N {
        let lo = LO_0.saturating_sub(u);
        let hi = if u <= HI_0 - DET_N { DET_N } else { HI_0 - u };
        assert!(CODED_RANGES[u].0 == lo && CODED_RANGES[u].1 == hi, "the coded ranges' runs");
        u += 1;
    }
};

/// The box sums of sky row `t`: `out[u]` = [`box_sum`] over the coded ranges of (t, u), the
/// same operations in the same order, over the three runs of the ranges ([`LO_0`]) as
/// contiguous (reversed) slices of the two rows of `sat`.
fn box_row<T: Copy + Into<f64>>(
    sat: &[[T; DET_N + 1]; DET_N + 1],
    t: usize,
    out: &mut [f64; SKY_N],
) {
    let (y0, y1) = coded_range(t);
    let runs = out
        .split_at_mut_checked(LO_0 + 1)
        .and_then(|(head, rest)| Some((head, rest.split_at_mut_checked(HI_0 - DET_N - LO_0)?)));
    let (Some(r0), Some(r1), Some((head, (mid, tail)))) = (sat.get(y0), sat.get(y1), runs) else {
        // Never taken (the coded ranges lie within the table); as `box_sum` would.
        for (k, &rz) in out.iter_mut().zip(&CODED_RANGES) {
            *k = box_sum(sat, (y0, y1), rz);
        }
        return;
    };
    let at = |r: &[T; DET_N + 1], z: usize| -> f64 { r.get(z).map_or(0.0, |&v| v.into()) };
    fn cols<T>(r: &[T; DET_N + 1], n: usize) -> core::iter::Rev<core::slice::Iter<'_, T>> {
        r.get(..n).unwrap_or(&[]).iter().rev()
    }
    // Each pixel: at(y1, z1) − at(y0, z1) − at(y1, z0) + at(y0, z0), left to right.
    let (full, first) = (at(r1, DET_N) - at(r0, DET_N), (at(r1, 0), at(r0, 0)));
    for (k, (&a, &b)) in head.iter_mut().zip(cols(r1, LO_0 + 1).zip(cols(r0, LO_0 + 1))) {
        *k = full - a.into() + b.into();
    }
    mid.fill(full - first.0 + first.1);
    let tails = cols(r1, DET_N).zip(cols(r0, DET_N));
    for (k, (&a, &b)) in tail.iter_mut().zip(tails) {
        *k = a.into() - b.into() - first.0 + first.1;
    }
}

/// The box sums of sky rows in turn ([`box_row`]), remade only when the row's coded range
/// changes: the sky rows whose coded detector rows are all 80 share one (39 rows of 199).
struct BoxRows {
    /// The coded range `out` was made for (none yet: `(1, 0)`, never a coded range).
    range: (usize, usize),
    /// The box sums.
    out: [f64; SKY_N],
}

impl BoxRows {
    fn new() -> Self {
        BoxRows { range: (1, 0), out: [0.0; SKY_N] }
    }

    /// The box sums of sky row `t` from `sat` (the same table at every call).
    #[inline(always)]
    fn row<T: Copy + Into<f64>>(
        &mut self,
        sat: &[[T; DET_N + 1]; DET_N + 1],
        t: usize,
    ) -> &[f64; SKY_N] {
        let range = coded_range(t);
        if range != self.range {
            box_row(sat, t, &mut self.out);
            self.range = range;
        }
        &self.out
    }
}

/// Fills a summed-area table: `sat[y][z] = Σ_{Y<y, Z<z} value(Y, Z)`.
fn fill_sat<T>(sat: &mut [[T; DET_N + 1]; DET_N + 1], value: impl Fn(usize) -> T)
where
    T: Copy + Default + core::ops::Add<Output = T> + core::ops::Sub<Output = T>,
{
    let (first, rest) = sat.split_at_mut(1);
    let Some(first) = first.first_mut() else { return };
    first.iter_mut().for_each(|v| *v = T::default());
    let mut prev: &[T; DET_N + 1] = first;
    for (y, row) in rest.iter_mut().enumerate() {
        let mut run = T::default();
        if let Some(r0) = row.first_mut() {
            *r0 = T::default();
        }
        for (z, (cell, &above)) in row.iter_mut().zip(prev.iter()).enumerate().skip(1) {
            run = run + value(y * DET_N + z - 1);
            *cell = above + run;
        }
        prev = row;
    }
}

/// The detector row of grid row `r` after the flip (`r = (N − Y) % N`); `DET_N` and above: none.
const fn flipped(r: usize) -> usize {
    (N - r) % N
}

/// Grid rows holding detector data (0 and 177..=255, i.e. Y = 0, 79, 78, …, 1), paired for
/// [`fft::forward_2d_real`]: pair `l` is the `l`-th and the `(l + 40)`-th of them.
// Indexing in a constant: an out-of-range index fails the build, never the program.
#[allow(clippy::indexing_slicing)]
const DETECTOR_PAIRS: [(usize, usize); DET_N / 2] = {
    let mut p = [(0, 0); DET_N / 2];
    let mut l = 0;
    while l < DET_N / 2 {
        p[l] = (data_row(l), data_row(l + DET_N / 2));
        l += 1;
    }
    p
};

/// The first pixel (`80·Y`) of the detector rows Y of each pair of [`DETECTOR_PAIRS`]:
/// `(80·flipped(ra), 80·flipped(rb))`.
// Indexing in a constant: an out-of-range index fails the build, never the program.
#[allow(clippy::indexing_slicing)]
const DETECTOR_PAIR_PIXELS: [(usize, usize); DET_N / 2] = {
    let mut p = [(0, 0); DET_N / 2];
    let mut l = 0;
    while l < DET_N / 2 {
        let (ra, rb) = DETECTOR_PAIRS[l];
        p[l] = (flipped(ra) * DET_N, flipped(rb) * DET_N);
        l += 1;
    }
    p
};

// The grid rows holding data along `z` (packed lanes) are those of the pairs along `y` (half
// spectrum columns), as [`load_flipped`] assumes.
// Indexing in a constant: an out-of-range index fails the build, never the program.
#[allow(clippy::indexing_slicing)]
const _: () = {
    let mut r = 0;
    while r < N {
        let mut in_pair = false;
        let mut l = 0;
        while l < DET_N / 2 {
            in_pair |= DETECTOR_PAIRS[l].0 == r || DETECTOR_PAIRS[l].1 == r;
            l += 1;
        }
        assert!(in_pair == (flipped(r) < DET_N), "data rows are pair rows");
        r += 1;
    }
};

/// The `k`-th grid row holding detector data: 0, then `N + 1 − DET_N`, … (`k < DET_N`).
const fn data_row(k: usize) -> usize {
    if k == 0 { 0 } else { N - DET_N + k }
}

/// The detector pixel `(Y, Z)` stored at its flipped grid position `((N − Y) % N, (N − Z) % N)`,
/// so that the point-wise spectrum product is a correlation with the kernel; rows packed in
/// pairs and transposed, as [`fft::forward_2d_real`] takes them: pair `l` = grid rows `(ra,
/// rb)` in lane `PACKED + l`, `re[zr][PACKED + l]` = row `ra`, `im[zr][PACKED + l]` = row `rb`.
fn load_flipped(grid: &mut SplitGrid, value: impl Fn(usize) -> f32) {
    // Only the packed lanes of the rows with data are written: the transform reads nothing
    // else of the grid (the rows without data, `!z_used`, are taken as zero).
    for (zr, (re, im)) in grid.re.iter_mut().zip(grid.im.iter_mut()).enumerate() {
        let z = flipped(zr);
        if z >= DET_N {
            continue;
        }
        let lanes = re.iter_mut().zip(im.iter_mut()).skip(fft::PACKED);
        for ((dr, di), &(ya, yb)) in lanes.zip(&DETECTOR_PAIR_PIXELS) {
            *dr = value(ya + z);
            *di = value(yb + z);
        }
    }
}

/// Sky rows per block of [`transpose_block`]: a block reads 16 consecutive `f32` of each grid
/// row it visits, a whole 64-octet cache line (two when the grid is not so aligned).
const T_BLOCK: usize = 16;

/// Sky rows `t0..t0 + rows.len()` of a grid as the correlations leave it: `rows[i][u] =
/// grid[rev(u)][t0 + i]` (0 out of range).
///
/// The grid rows `rev(u)` lie 1 KiB apart: read pixel by pixel along one sky row, each read
/// misses the cache (they share a few cache sets); a block of [`T_BLOCK`] sky rows at a time,
/// each cache line read is used whole, and the per-pixel combinations then run over the block's
/// contiguous rows while they are in the cache.
#[inline(always)]
fn transpose_block(grid: &[[f32; N]; N], t0: usize, rows: &mut [[f32; SKY_N]]) {
    const ZERO: [f32; T_BLOCK] = [0.0; T_BLOCK];
    let h = rows.len();
    if let Ok(block) = <&mut [[f32; SKY_N]; T_BLOCK]>::try_from(&mut *rows) {
        // A whole block: fixed lengths, unrolled by the compiler.
        for (u, &r) in SKY_ROWS.iter().enumerate() {
            let src = grid.get(r as usize).and_then(|g| g.get(t0..t0 + T_BLOCK));
            let src: &[f32; T_BLOCK] = src.and_then(|s| s.try_into().ok()).unwrap_or(&ZERO);
            for (row, &v) in block.iter_mut().zip(src) {
                if let Some(x) = row.get_mut(u) {
                    *x = v;
                }
            }
        }
        return;
    }
    for (u, &r) in SKY_ROWS.iter().enumerate() {
        let src = grid.get(r as usize).and_then(|g| g.get(t0..t0 + h)).unwrap_or(&[]);
        for (i, row) in rows.iter_mut().enumerate() {
            if let Some(x) = row.get_mut(u) {
                *x = src.get(i).copied().unwrap_or(0.0);
            }
        }
    }
}

/// Grid row holding sky column `u` after a correlation (bit-reversed order), per `u < SKY_N`.
// Indexing in a constant: an out-of-range index fails the build, never the program.
#[allow(clippy::indexing_slicing)]
const SKY_ROWS: [u8; SKY_N] = {
    let mut r = [0u8; SKY_N];
    let mut u = 0;
    while u < SKY_N {
        r[u] = fft::REVERSED[u];
        u += 1;
    }
    r
};

impl Imager {
    /// An imager with nothing computed yet (`const`: put it in a `static` on the firmware). The
    /// kernel is computed by [`Imager::init`], or by the first [`Imager::image`].
    pub const fn new() -> Self {
        Imager {
            tw: Twiddles::zeroed(),
            grid: SplitGrid::zeroed(),
            kernel: SplitGrid::zeroed(),
            open: [[0.0; REBIN_N]; REBIN_N],
            slots: [const { Balance::new() }; BALANCE_SLOTS],
            cur: 0,
            calls: 0,
            signal: [[0.0; SKY_N]; SKY_N],
            variance: [[0.0; SKY_N]; SKY_N],
            sat: [[0.0; DET_N + 1]; DET_N + 1],
            ready: false,
            has_image: false,
            variance_in: [0.0; DET_PIXELS],
            variance_key: NO_KEY,
        }
    }

    /// A boxed, initialised imager for host code (feature `std`).
    ///
    /// `Box::new(Imager::new())` builds the 1.46 MiB value on the stack first in debug builds,
    /// which overflows a 2 MiB test thread; this builds it on a helper thread with a large
    /// stack and hands the box back (only the pointer moves).
    ///
    /// # Panics
    /// If the helper thread cannot be spawned (out of memory or threads).
    #[cfg(feature = "std")]
    #[allow(clippy::expect_used)]
    pub fn boxed() -> std::boxed::Box<Imager> {
        std::thread::Builder::new()
            .name("imager-init".into())
            .stack_size(4 * IMAGER_SIZE)
            .spawn(|| {
                let mut im = std::boxed::Box::new(Imager::new());
                im.init();
                im
            })
            .expect("spawn the imager construction thread")
            .join()
            .expect("imager construction thread")
    }

    /// Computes the twiddles, the rebinned mask and the kernel spectrum (about one FFT
    /// correlation's time). Idempotent.
    pub fn init(&mut self) {
        if self.ready {
            return;
        }
        self.tw.fill();
        let cell = |c: usize| (c as f32 - 0.5 * REBIN_N as f32) * PITCH_MM;
        for (cy, row) in self.open.iter_mut().enumerate() {
            for (cz, g) in row.iter_mut().enumerate() {
                let a = mask_open_area(cell(cy), cell(cy + 1), cell(cz), cell(cz + 1));
                *g = a / (PITCH_MM * PITCH_MM);
            }
        }
        let k = &mut self.kernel;
        k.clear();
        // Loaded transposed (`[column][row]`), as `forward_2d_t` takes it.
        for (cy, open) in self.open.iter().enumerate() {
            for (cz, &g) in open.iter().enumerate() {
                let (r, c) = (cy + KERNEL_OFFSET, cz + KERNEL_OFFSET);
                if let (Some(re), Some(im)) = (
                    k.re.get_mut(c).and_then(|x| x.get_mut(r)),
                    k.im.get_mut(c).and_then(|x| x.get_mut(r)),
                ) {
                    (*re, *im) = (g, g * g);
                }
            }
        }
        let used = Lanes { first: (KERNEL_OFFSET, KERNEL_OFFSET + REBIN_N), second: (0, 0) };
        fft::forward_2d_t(k, &self.tw, used);
        // Columns in natural order, as `forward_2d_real` leaves the data's spectrum.
        for row in k.re.iter_mut().chain(k.im.iter_mut()) {
            let _ = fft::bit_reverse(row);
        }
        let scale = 1.0 / (N * N) as f32;
        k.re.as_flattened_mut().iter_mut().for_each(|c| *c *= scale);
        k.im.as_flattened_mut().iter_mut().for_each(|c| *c *= scale);
        self.ready = true;
        for slot in &mut self.slots {
            slot.ready = false;
            slot.model_key = (0, Background::None);
        }
        self.variance_key = NO_KEY;
        self.has_image = false;
    }

    /// The rebinned mask `G⁺`: open area fraction of cell (cy, cz), each 4.5 mm cell spanning
    /// `[(c − 60)·4.5, (c − 59)·4.5)` mm in the mask plane (0 before [`Imager::init`]).
    pub fn rebinned_mask(&self) -> &[[f32; REBIN_N]; REBIN_N] {
        &self.open
    }

    /// Makes the balance slot of `active` current, computing it in the least recently used
    /// slot when no slot holds it (one correlation).
    fn select_balance(&mut self, active: &[bool; DET_PIXELS]) {
        self.calls += 1;
        let held = self.slots.iter().position(|s| s.ready && s.active == *active);
        let cur = match held {
            Some(i) => i,
            None => {
                let lru = (0..BALANCE_SLOTS)
                    .min_by_key(|&i| self.slots.get(i).map_or(0, |s| s.last_used))
                    .unwrap_or(0);
                self.cur = lru;
                self.update_balance(active);
                lru
            }
        };
        self.cur = cur;
        if let Some(slot) = self.slots.get_mut(cur) {
            slot.last_used = self.calls;
        }
    }

    /// The current balance slot.
    fn balance(&self) -> &Balance {
        slot_of(&self.slots, self.cur)
    }

    /// The key of maps computed now with `background`.
    fn key(&self, background: Background) -> MapKey {
        (self.cur, self.balance().generation, background)
    }

    /// Recomputes the balance `b(s)` for a new active set, in slot `cur`.
    fn update_balance(&mut self, active: &[bool; DET_PIXELS]) {
        let Some(slot) = self.slots.get_mut(self.cur) else { return };
        slot.ready = false;
        slot.generation = slot.generation.wrapping_add(1).max(1);
        slot.active = *active;
        slot.active_count = active.iter().filter(|&&a| a).count() as f32;
        fill_sat(&mut slot.active_sat, |k| if active.get(k) == Some(&true) { 1.0f32 } else { 0.0 });
        load_flipped(&mut self.grid, |k| if active.get(k) == Some(&true) { 1.0 } else { 0.0 });
        // The complex correlation, as for raw counts (whose `D⋆G⁺` comes from it): a flat
        // shadowgram then decodes to zero within rounding that cancels (the real-output one
        // leaves residuals of ~0.01σ there). Only when the active set changes.
        correlate(&mut self.grid, &self.tw, &self.kernel);
        let mut boxes = BoxRows::new();
        for (n, brows) in slot.b.chunks_mut(T_BLOCK).enumerate() {
            let t0 = n * T_BLOCK;
            // The open area seen into the balance map, then combined in place.
            transpose_block(&self.grid.re, t0, brows);
            for (i, brow) in brows.iter_mut().enumerate() {
                let boxes = boxes.row(&slot.active_sat, t0 + i);
                for (b, &seen) in brow.iter_mut().zip(boxes) {
                    let (open, seen) = (*b, seen as f32);
                    let closed = seen - open;
                    *b = if open >= MIN_SEEN_AREA && closed >= MIN_SEEN_AREA {
                        open / closed
                    } else {
                        -1.0
                    };
                }
            }
        }
        slot.ready = true;
    }

    /// Images a shadowgram; the result stays in the imager until the next call.
    ///
    /// Runs at most two FFT correlations (three when the active set is not one of the last
    /// two active sets imaged, and the kernel's on the very first call): one when the
    /// variance is bit-identical to the last image's (same active set) or to the counts (no
    /// background fit). The image is the same, bit for bit, whichever correlations were
    /// reused.
    ///
    /// # Errors
    /// [`ImageError`] when an active pixel's signal or variance is not finite, a variance is
    /// negative, no pixel is active, or the background fit is singular. The previous image is
    /// then gone.
    pub fn image(
        &mut self,
        shadow: &Shadowgram<'_>,
        opts: &ImageOptions,
    ) -> Result<SkyImage<'_>, ImageError> {
        self.has_image = false;
        self.init();
        check(shadow)?;
        let fit = fit(shadow.counts, shadow.active, opts.background)?;
        self.select_balance(shadow.active);
        let active = shadow.active;

        // Variance: V⋆G⁺ (re), V⋆G⁺² (im), V⋆κ (box sums). Skipped when the same variance was
        // imaged last with this active set (bit for bit: the map would come out identical).
        let variance = shadow.variance;
        let key = self.key(Background::None);
        let same_variance = key.1 != 0
            && self.variance_key == key
            && holds_picked(&self.variance_in, active, variance);
        // The signal's data⋆G⁺ equals the variance's when the signal input is bit-identical
        // (raw counts without a background fit: `V = N`); then the grid already holds it.
        let signal_is_variance = fit.is_none() && same_picked(active, shadow.counts, variance);
        if !same_variance || signal_is_variance {
            self.variance_key = NO_KEY;
            store_picked(&mut self.variance_in, active, variance);
            // The picked variance, read back from `variance_in` (the same values).
            let picked = &self.variance_in;
            let value = |k: usize| picked.get(k).copied().unwrap_or(0.0);
            fill_sat(&mut self.sat, |k| value(k) as f64);
            load_flipped(&mut self.grid, value);
            correlate(&mut self.grid, &self.tw, &self.kernel);
            // The signal map is scratch, or (raw counts) the signal map from the same pass.
            let maps = (&mut self.variance, &mut self.signal);
            let balance = &slot_of(&self.slots, self.cur).b;
            if signal_is_variance {
                variance_map::<true>(&self.grid, balance, &self.sat, maps.0, maps.1);
            } else {
                variance_map::<false>(&self.grid, balance, &self.sat, maps.0, maps.1);
            }
            self.variance_key = key;
        }

        // Signal: D⋆G⁺ (re), D⋆κ (box sums), the background fit subtracted first.
        // (Raw counts: the signal map was made above, from the variance's correlation.)
        let value = |k: usize| fitted(active, shadow.counts, fit.as_ref(), k);
        if !signal_is_variance {
            fill_sat(&mut self.sat, |k| value(k) as f64);
            load_flipped(&mut self.grid, value);
            correlate_open(&mut self.grid, &self.tw, &self.kernel);
            signal_map(&self.grid, &slot_of(&self.slots, self.cur).b, &self.sat, &mut self.signal);
        }
        self.has_image = true;
        Ok(SkyImage { im: self })
    }

    /// Subtracts `k` times the image of `model` from the last image: the image of the last
    /// shadowgram minus `k·model` (over the active pixels), up to rounding, without imaging
    /// it again. The catalogue cleaning subtracts a source's shadow so from image after image:
    /// the model's image is kept and made again (one correlation) only when the model, the
    /// active set or the background option changes. `opts` must be the last image's.
    ///
    /// The result depends only on the last image, `model` and `k`, never on what was cached.
    ///
    /// # Errors
    /// [`ImageError::NoImage`] without a last image; [`ImageError::NonFinite`] or
    /// [`ImageError::TooLarge`] for a model pixel (or `k`: pixel 0) that is not finite or
    /// exceeds [`MAX_PIXEL_VALUE`]; [`ImageError::BackgroundFitSingular`]. The last image is
    /// then gone.
    pub fn subtract_model(
        &mut self,
        model: &[f32; DET_PIXELS],
        k: f32,
        opts: &ImageOptions,
    ) -> Result<SkyImage<'_>, ImageError> {
        if !core::mem::replace(&mut self.has_image, false) {
            return Err(ImageError::NoImage);
        }
        if !k.is_finite() {
            return Err(ImageError::NonFinite { pixel: 0 });
        }
        let Imager { grid, tw, kernel, slots, cur, sat, signal, .. } = self;
        let Some(slot) = slots.get_mut(*cur) else { return Err(ImageError::NoImage) };
        let key = (slot.generation, opts.background);
        let Balance { b, active, model: map, model_in, model_key, .. } = slot;
        Shadowgram { counts: model, variance: model, active }.check()?;
        let same = key.0 != 0 && *model_key == key && holds_picked(model_in, active, model);
        if !same {
            *model_key = (0, Background::None);
            let fit = fit(model, active, opts.background)?;
            store_picked(model_in, active, model);
            let value = |p: usize| fitted(active, model, fit.as_ref(), p);
            fill_sat(sat, |p| value(p) as f64);
            load_flipped(grid, value);
            correlate_open(grid, tw, kernel);
            signal_map(grid, b, sat, map);
            *model_key = key;
        }
        if k != 0.0 {
            for (s, &m) in signal.as_flattened_mut().iter_mut().zip(map.as_flattened()) {
                *s -= k * m;
            }
        }
        self.has_image = true;
        Ok(SkyImage { im: self })
    }

    /// The last image, if the last [`Imager::image`] succeeded.
    pub fn sky(&self) -> Option<SkyImage<'_>> {
        if self.has_image { Some(SkyImage { im: self }) } else { None }
    }

    /// Source counts on the active detector and coded fraction for sky pixel (t, u), by direct
    /// sums over the detector: `counts = S · Σ W·G⁺ / Σ W·G⁺·G_s`.
    fn source_counts(&self, t: usize, u: usize, signal: f32) -> f32 {
        let slot = self.balance();
        let b = slot.b.get(t).and_then(|r| r.get(u)).copied().unwrap_or(-1.0);
        if b < 0.0 {
            return 0.0;
        }
        let (mut open_sum, mut norm) = (0.0f64, 0.0f64);
        let (ry, rz) = (coded_range(t), coded_range(u));
        // The coded cells of each detector row as slices (always whole: the coded ranges lie
        // within the mask), summed in the same order.
        let cells = (rz.0 + u).checked_sub(KERNEL_OFFSET).map_or(0..0, |c| c..c + rz.1 - rz.0);
        for y in ry.0..ry.1 {
            let Some(orow) = self.open.get(y + t - KERNEL_OFFSET) else { continue };
            let active = slot.active.get(y * DET_N + rz.0..y * DET_N + rz.1).unwrap_or(&[]);
            for (&a, &g) in active.iter().zip(orow.get(cells.clone()).unwrap_or(&[])) {
                if a {
                    let g = g as f64;
                    open_sum += g;
                    norm += g * (g - b as f64 * (1.0 - g));
                }
            }
        }
        if norm > 0.0 { (signal as f64 * open_sum / norm) as f32 } else { 0.0 }
    }
}

impl Shadowgram<'_> {
    /// The checks [`Imager::image`] makes on its input.
    ///
    /// # Errors
    /// As [`Imager::image`], but for the background fit.
    pub fn check(&self) -> Result<(), ImageError> {
        check(self)
    }
}

/// Balance slot `cur` (< [`BALANCE_SLOTS`] always; the fallback is never taken).
fn slot_of(slots: &[Balance; BALANCE_SLOTS], cur: usize) -> &Balance {
    let [first, ..] = slots;
    slots.get(cur).unwrap_or(first)
}

/// The checks of [`Imager::image`] on its input.
///
/// A branch-free pass over blocks of pixels (vectorised) accepts the usual input: every
/// active pixel's `|c| ≤ MAX_PIXEL_VALUE` and `0 ≤ v ≤ MAX_PIXEL_VALUE` (false for NaN and
/// infinities), and some pixel active. Otherwise the pixel-by-pixel checks below name the
/// first offending pixel and its error, as before.
fn check(shadow: &Shadowgram<'_>) -> Result<(), ImageError> {
    let mut bad = false;
    let mut any = false;
    let blocks = shadow
        .counts
        .chunks_exact(CMP_BLOCK)
        .zip(shadow.variance.chunks_exact(CMP_BLOCK))
        .zip(shadow.active.chunks_exact(CMP_BLOCK));
    for ((c, v), a) in blocks {
        let (mut out, mut on) = (false, false);
        for ((&c, &v), &a) in c.iter().zip(v).zip(a) {
            let ok = (c.abs() <= MAX_PIXEL_VALUE) & (0.0..=MAX_PIXEL_VALUE).contains(&v);
            out |= a & !ok;
            on |= a;
        }
        bad |= out;
        any |= on;
    }
    if !bad && any {
        return Ok(());
    }
    check_each(shadow)
}

/// [`check`] pixel by pixel: the first offending pixel's error.
fn check_each(shadow: &Shadowgram<'_>) -> Result<(), ImageError> {
    for (pixel, ((&c, &v), _)) in shadow
        .counts
        .iter()
        .zip(shadow.variance)
        .zip(shadow.active)
        .enumerate()
        .filter(|(_, (_, a))| **a)
    {
        if !c.is_finite() || !v.is_finite() {
            return Err(ImageError::NonFinite { pixel });
        }
        if c.abs() > MAX_PIXEL_VALUE || v > MAX_PIXEL_VALUE {
            return Err(ImageError::TooLarge { pixel });
        }
        if v < 0.0 {
            return Err(ImageError::NegativeVariance { pixel });
        }
    }
    if !shadow.active.iter().any(|&a| a) {
        return Err(ImageError::NoActivePixels);
    }
    Ok(())
}

/// The background fit `background` asks for, over the active pixels.
fn fit(
    counts: &[f32; DET_PIXELS],
    active: &[bool; DET_PIXELS],
    background: Background,
) -> Result<Option<Quadratic>, ImageError> {
    match background {
        Background::None => Ok(None),
        Background::Quadratic => {
            Quadratic::fit(counts, active).map(Some).ok_or(ImageError::BackgroundFitSingular)
        }
    }
}

/// Pixels per block of the branch-free passes over a shadowgram ([`check`], [`holds_picked`]):
/// a whole number of blocks per detector.
const CMP_BLOCK: usize = 64;
const _: () = assert!(DET_PIXELS.is_multiple_of(CMP_BLOCK));

/// The bits of [`pick`]: `v`'s if active, those of `0.0` otherwise, branch-free.
#[inline(always)]
fn picked_bits(active: bool, v: f32) -> u32 {
    v.to_bits() & 0u32.wrapping_sub(u32::from(active))
}

/// Whether `stored[k]` is [`pick`]`(active, values, k)` bit for bit for every pixel `k`:
/// branch-free within blocks of [`CMP_BLOCK`] pixels (vectorised), stopping after the first
/// block that differs.
fn holds_picked(
    stored: &[f32; DET_PIXELS],
    active: &[bool; DET_PIXELS],
    values: &[f32; DET_PIXELS],
) -> bool {
    let blocks = stored
        .chunks_exact(CMP_BLOCK)
        .zip(active.chunks_exact(CMP_BLOCK))
        .zip(values.chunks_exact(CMP_BLOCK));
    blocks.into_iter().all(|((s, a), v)| {
        let mut diff = 0u32;
        for ((s, &a), &v) in s.iter().zip(a).zip(v) {
            diff |= s.to_bits() ^ picked_bits(a, v);
        }
        diff == 0
    })
}

/// Whether [`pick`]`(active, x, k)` and [`pick`]`(active, y, k)` have the same bits for every
/// pixel `k` (branch-free within blocks, as [`holds_picked`]).
fn same_picked(active: &[bool; DET_PIXELS], x: &[f32; DET_PIXELS], y: &[f32; DET_PIXELS]) -> bool {
    let blocks = x
        .chunks_exact(CMP_BLOCK)
        .zip(y.chunks_exact(CMP_BLOCK))
        .zip(active.chunks_exact(CMP_BLOCK));
    blocks.into_iter().all(|((x, y), a)| {
        let mut diff = 0u32;
        for ((&x, &y), &a) in x.iter().zip(y).zip(a) {
            diff |= picked_bits(a, x) ^ picked_bits(a, y);
        }
        diff == 0
    })
}

/// Stores [`pick`]`(active, values, k)` in `out[k]` for every pixel (branch-free).
fn store_picked(
    out: &mut [f32; DET_PIXELS],
    active: &[bool; DET_PIXELS],
    values: &[f32; DET_PIXELS],
) {
    for ((o, &a), &v) in out.iter_mut().zip(active).zip(values) {
        *o = f32::from_bits(picked_bits(a, v));
    }
}

/// Pixel `k` of `values` if active, 0 otherwise.
#[inline(always)]
fn pick(active: &[bool; DET_PIXELS], values: &[f32; DET_PIXELS], k: usize) -> f32 {
    match (active.get(k), values.get(k)) {
        (Some(true), Some(&v)) => v,
        _ => 0.0,
    }
}

/// Pixel `k` of `values` minus the background fit if active, 0 otherwise.
#[inline(always)]
fn fitted(
    active: &[bool; DET_PIXELS],
    values: &[f32; DET_PIXELS],
    fit: Option<&Quadratic>,
    k: usize,
) -> f32 {
    let v = pick(active, values, k);
    match fit {
        Some(q) if active.get(k) == Some(&true) => (v as f64 - q.eval(k / DET_N, k % DET_N)) as f32,
        _ => v,
    }
}

/// Correlates the grid (detector data loaded flipped) with the kernel: afterwards grid
/// position `[rev(u)][t]`, t, u < 199, holds `data⋆G⁺ + i·data⋆G⁺²` for sky pixel (t, u)
/// (as the last pass leaves it; the maps read it a block at a time, see [`transpose_block`]).
fn correlate(g: &mut SplitGrid, tw: &Twiddles, kernel: &SplitGrid) {
    fft::forward_2d_real_pruned(g, tw, &DETECTOR_PAIRS, |z| flipped(z) < DET_N);
    fft::mul_conjugate_half(g, kernel);
    fft::inverse_2d_full(g, tw, SKY_N);
}

/// [`correlate`] for `data⋆G⁺` alone (real parts at `[rev(u)][t]`; the imaginary parts are
/// scratch): a real-output transform, about half the work.
fn correlate_open(g: &mut SplitGrid, tw: &Twiddles, kernel: &SplitGrid) {
    fft::forward_2d_real_pruned(g, tw, &DETECTOR_PAIRS, |z| flipped(z) < DET_N);
    fft::mul_half_real_part(g, kernel);
    fft::inverse_2d_real(g, tw, SKY_N);
}

/// The variance map from a [`correlate`]d variance (`V⋆G⁺` in `re`, `V⋆G⁺²` in `im`) and its
/// summed-area table (`V⋆κ`): `(1 + b)²·V⋆G⁺² − 2b(1 + b)·V⋆G⁺ + b²·V⋆κ`, 0 where not imaged.
/// `scratch` (a sky map) is overwritten; with `SIGNAL` (the signal is the variance: raw
/// counts), it receives [`signal_map`] of the same grid and table, the same operations on the
/// same values, from the same pass (one transpose and one box sum per pixel, not two).
fn variance_map<const SIGNAL: bool>(
    grid: &SplitGrid,
    balance: &[[f32; SKY_N]; SKY_N],
    sat: &[[f64; DET_N + 1]; DET_N + 1],
    out: &mut [[f32; SKY_N]; SKY_N],
    scratch: &mut [[f32; SKY_N]; SKY_N],
) {
    let mut boxes = BoxRows::new();
    let blocks =
        out.chunks_mut(T_BLOCK).zip(scratch.chunks_mut(T_BLOCK)).zip(balance.chunks(T_BLOCK));
    for (n, ((vrows, irows), brows)) in blocks.enumerate() {
        let t0 = n * T_BLOCK;
        // `V⋆G⁺` into the map, `V⋆G⁺²` into the scratch, then combined in place.
        transpose_block(&grid.re, t0, vrows);
        transpose_block(&grid.im, t0, irows);
        let rows = vrows.iter_mut().zip(irows.iter_mut()).zip(brows);
        for (i, ((vrow, irow), brow)) in rows.enumerate() {
            let cells = vrow.iter_mut().zip(brow).zip(irow.iter_mut()).zip(boxes.row(sat, t0 + i));
            for (((v, &b), gim), &vk) in cells {
                let (b, vp, vpp) = (b as f64, *v as f64, *gim as f64);
                let var = (1.0 + b) * (1.0 + b) * vpp - 2.0 * b * (1.0 + b) * vp + b * b * vk;
                let var = if var > 0.0 { var as f32 } else { 0.0 };
                *v = if b < 0.0 { 0.0 } else { var };
                if SIGNAL {
                    // As `signal_map`: `D⋆G⁺` is `V⋆G⁺` and `D⋆κ` is `V⋆κ`.
                    let sig = ((1.0 + b) * vp - b * vk) as f32;
                    *gim = if b < 0.0 { 0.0 } else { sig };
                }
            }
        }
    }
}

/// The signal map from a correlated signal (`D⋆G⁺` in `re`) and its summed-area table
/// (`D⋆κ`): `(1 + b)·D⋆G⁺ − b·D⋆κ`, 0 where not imaged.
fn signal_map(
    grid: &SplitGrid,
    balance: &[[f32; SKY_N]; SKY_N],
    sat: &[[f64; DET_N + 1]; DET_N + 1],
    out: &mut [[f32; SKY_N]; SKY_N],
) {
    let mut boxes = BoxRows::new();
    for (n, (srows, brows)) in out.chunks_mut(T_BLOCK).zip(balance.chunks(T_BLOCK)).enumerate() {
        let t0 = n * T_BLOCK;
        // `D⋆G⁺` into the map, then combined in place.
        transpose_block(&grid.re, t0, srows);
        for (i, (srow, brow)) in srows.iter_mut().zip(brows).enumerate() {
            for ((s, &b), &dk) in srow.iter_mut().zip(brow).zip(boxes.row(sat, t0 + i)) {
                let v = ((1.0 + b as f64) * *s as f64 - b as f64 * dk) as f32;
                *s = if b < 0.0 { 0.0 } else { v };
            }
        }
    }
}

/// A sky image: a view of the imager's last result, valid until the next [`Imager::image`].
///
/// Sky pixel (t, u), `t, u < 199`, is the direction [`sky_to_angles`]`(t, u)`. Out-of-range
/// pixels and pixels that see too little of the mask read as 0.
#[derive(Debug, Clone, Copy)]
pub struct SkyImage<'a> {
    im: &'a Imager,
}

impl SkyImage<'_> {
    /// Decoded signal `S` of sky pixel (t, u) (balanced correlation, shadowgram units).
    pub fn signal(&self, t: usize, u: usize) -> f32 {
        if t >= SKY_N || u >= SKY_N {
            return 0.0;
        }
        self.im.signal.get(t).and_then(|r| r.get(u)).copied().unwrap_or(0.0)
    }

    /// Row `t` of the signal (zeros out of range).
    fn signal_row(&self, t: usize) -> &[f32; SKY_N] {
        self.im.signal.get(t).unwrap_or(&[0.0; SKY_N])
    }

    /// Row `t` of the variance (zeros out of range).
    fn variance_row(&self, t: usize) -> &[f32; SKY_N] {
        self.im.variance.get(t).unwrap_or(&[0.0; SKY_N])
    }

    /// Variance of the signal of sky pixel (t, u).
    pub fn variance(&self, t: usize, u: usize) -> f32 {
        if t >= SKY_N {
            return 0.0;
        }
        self.im.variance.get(t).and_then(|r| r.get(u)).copied().unwrap_or(0.0)
    }

    /// Signal-to-noise ratio of sky pixel (t, u); 0 where the variance is 0.
    pub fn snr(&self, t: usize, u: usize) -> f32 {
        let v = self.variance(t, u);
        if v > 0.0 { self.signal(t, u) / libm::sqrtf(v) } else { 0.0 }
    }

    /// Fraction of the active pixels that see the mask's coded area from sky pixel (t, u).
    pub fn coded_fraction(&self, t: usize, u: usize) -> f32 {
        let slot = self.im.balance();
        if t >= SKY_N || u >= SKY_N || slot.active_count <= 0.0 {
            return 0.0;
        }
        box_sum(&slot.active_sat, coded_range(t), coded_range(u)) as f32 / slot.active_count
    }

    /// Estimated source counts on the active detector for a source at sky pixel (t, u).
    pub fn counts(&self, t: usize, u: usize) -> f32 {
        self.im.source_counts(t, u, self.signal(t, u))
    }

    /// The highest-SNR sky pixel (see [`find_peak`]).
    pub fn find_peak(&self, opts: &PeakOptions<'_>) -> Option<Peak> {
        find_peak(self, opts)
    }
}

/// Unit vector of sky pixel (t, u) (exact: tan of the projected angles is linear in t, u).
fn sky_unit(t: usize, u: usize) -> [f32; 3] {
    let k = PITCH_MM / MASK_HEIGHT_MM;
    let ty = (t as f32 - SKY_CENTRE as f32) * k;
    let tz = (u as f32 - SKY_CENTRE as f32) * k;
    let x = 1.0 / libm::sqrtf(1.0 + ty * ty + tz * tz);
    [x, ty * x, tz * x]
}

/// Sub-pixel offset of a peak from three samples along one axis, assuming a locally
/// triangular peak (the coded-mask point-spread function is one): `0.5·(f₊ − f₋) / (f₀ −
/// min(f₋, f₊))`, within ±0.5.
fn refine(fm: f32, f0: f32, fp: f32) -> f32 {
    let low = if fm < fp { fm } else { fp };
    let den = f0 - low;
    if den <= 0.0 {
        return 0.0;
    }
    let d = 0.5 * (fp - fm) / den;
    d.clamp(-0.5, 0.5)
}

/// The least best SNR at which [`find_peak`] filters rows with [`row_may_beat`] (below it the
/// squares there could lose their precision).
const ROW_FILTER_MIN_SNR: f32 = 1.0e-3;

/// Whether any pixel `u` in `cols` of a row may have an SNR `s/√v` above `best`
/// (> [`ROW_FILTER_MIN_SNR`]): `false` only when none has. The test `s > 0 ∧ s² > (1 −
/// 10⁻⁴)·best²·v` holds for every pixel whose computed SNR exceeds `best` (the rounding of
/// `s/√v` is 10³ times smaller than the margin); pixels with `s > 0` and a variance too small
/// for the squares to be exact (below 10⁻²⁰, zero included: such a pixel is skipped by the
/// exact pass, its row only scanned), or whose squares overflow, always pass. A pixel with
/// `s ≤ 0` cannot beat a positive `best`.
fn row_may_beat(
    signal: &[f32; SKY_N],
    variance: &[f32; SKY_N],
    cols: core::ops::Range<usize>,
    best: f32,
) -> bool {
    let k = best * best * (1.0 - 1.0e-4);
    let (Some(s), Some(v)) = (signal.get(cols.clone()), variance.get(cols)) else {
        return true;
    };
    let mut hit = false;
    for (&s, &v) in s.iter().zip(v) {
        hit |= (s > 0.0) & ((v < 1.0e-20) | (s * s > k * v));
    }
    hit
}

/// The highest-SNR sky pixel outside the border and the exclusions, where at least
/// `min_coded_fraction` of the active pixels see the mask, refined to sub-pixel accuracy.
///
/// `None` when no pixel qualifies. Time: one pass over the 199 × 199 pixels; an exclusion is
/// tested only for pixels that would beat the best so far.
pub fn find_peak(sky: &SkyImage<'_>, opts: &PeakOptions<'_>) -> Option<Peak> {
    let excl_cos = |e: &Exclusion| libm::cosf(e.radius_deg.to_radians());
    let excluded = |t: usize, u: usize| {
        let p = sky_unit(t, u);
        opts.exclude.iter().any(|e| {
            let ty = libm::tanf(e.y_deg.to_radians());
            let tz = libm::tanf(e.z_deg.to_radians());
            let x = 1.0 / libm::sqrtf(1.0 + ty * ty + tz * tz);
            p[0] * x + p[1] * ty * x + p[2] * tz * x >= excl_cos(e)
        })
    };
    let last = SKY_N.saturating_sub(opts.border);
    let mut best: Option<(f32, usize, usize)> = None;
    for t in opts.border..last {
        // Most rows hold no pixel that beats the best so far: a branch-free pass over the row
        // (no square root, vectorised) rules them out before the exact pass below, which
        // alone chooses, so the same pixel is chosen.
        if let Some((b, _, _)) = best
            && b > ROW_FILTER_MIN_SNR
            && !row_may_beat(sky.signal_row(t), sky.variance_row(t), opts.border..last, b)
        {
            continue;
        }
        for u in opts.border..last {
            let v = sky.variance(t, u);
            if v <= 0.0 {
                continue;
            }
            // A signal ≤ 0 has an SNR ≤ 0: it cannot beat a best SNR ≥ 0 (skipped before the
            // square root; the same pixels are chosen).
            let signal = sky.signal(t, u);
            if signal <= 0.0 && best.is_some_and(|(s, _, _)| s >= 0.0) {
                continue;
            }
            let snr = signal / libm::sqrtf(v);
            if !snr.is_finite() || best.is_some_and(|(s, _, _)| snr <= s) {
                continue;
            }
            if sky.coded_fraction(t, u) < opts.min_coded_fraction || excluded(t, u) {
                continue;
            }
            best = Some((snr, t, u));
        }
    }
    let (snr, t, u) = best?;
    let at = |a: Option<usize>, b: Option<usize>| match (a, b) {
        (Some(a), Some(b)) if sky.variance(a, b) > 0.0 => sky.snr(a, b),
        _ => snr,
    };
    let dy = refine(at(t.checked_sub(1), Some(u)), snr, at(Some(t + 1), Some(u)));
    let dz = refine(at(Some(t), u.checked_sub(1)), snr, at(Some(t), Some(u + 1)));
    let (sky_y, sky_z) = (t as f32 + dy, u as f32 + dz);
    let (y_deg, z_deg) = sky_to_angles(sky_y, sky_z);
    Some(Peak {
        snr,
        pixel_y: t,
        pixel_z: u,
        sky_y,
        sky_z,
        y_deg,
        z_deg,
        signal: sky.signal(t, u),
        variance: sky.variance(t, u),
        counts: sky.counts(t, u),
        coded_fraction: sky.coded_fraction(t, u),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trigger::geometry::{self, MASK_HALF_MM, angles_to_sky, pixel_illumination};
    use std::boxed::Box;
    use std::vec::Vec;

    /// Deterministic test data: xorshift32 to [-1, 1).
    struct Rng(u32);
    impl Rng {
        fn next(&mut self) -> f32 {
            self.0 = geometry::xorshift32(self.0);
            (self.0 >> 8) as f32 / (1u32 << 23) as f32 - 1.0
        }
    }

    fn imager() -> Box<Imager> {
        Imager::boxed()
    }

    /// Expected counts: a point source of `src` counts per fully lit pixel plus a flat `bkg`.
    fn point_source(y_deg: f32, z_deg: f32, src: f32, bkg: f32) -> [f32; DET_PIXELS] {
        let mut lit = [0.0f32; DET_PIXELS];
        pixel_illumination(y_deg, z_deg, &mut lit);
        lit.map(|f| src * f + bkg)
    }

    /// Direct (slow) decoding of one sky pixel, from the definitions.
    fn direct(
        im: &Imager,
        d: &[f32; DET_PIXELS],
        w: &[bool; DET_PIXELS],
        t: usize,
        u: usize,
    ) -> (f64, f64) {
        let kappa = |c: isize| (CODED_FIRST as isize..=CODED_LAST as isize).contains(&c);
        let (mut ap, mut am) = (0.0f64, 0.0f64);
        let g_at = |y: usize, z: usize| -> Option<f64> {
            let cy = y as isize + t as isize - 79;
            let cz = z as isize + u as isize - 79;
            if kappa(cy) && kappa(cz) {
                Some(im.open[cy as usize][cz as usize] as f64)
            } else {
                None
            }
        };
        for y in 0..DET_N {
            for z in 0..DET_N {
                if let (true, Some(g)) = (w[y * DET_N + z], g_at(y, z)) {
                    ap += g;
                    am += 1.0 - g;
                }
            }
        }
        let b = ap / am;
        let (mut s, mut v) = (0.0f64, 0.0f64);
        for y in 0..DET_N {
            for z in 0..DET_N {
                if let (true, Some(g)) = (w[y * DET_N + z], g_at(y, z)) {
                    let gs = g - b * (1.0 - g);
                    s += d[y * DET_N + z] as f64 * gs;
                    v += d[y * DET_N + z] as f64 * gs * gs;
                }
            }
        }
        (s, v)
    }

    /// The coded-range table, the box-sum rows and the block transposition are the per-pixel
    /// lookups they replace, bit for bit.
    #[test]
    fn map_rows_equal_the_per_pixel_lookups() {
        for t in 0..SKY_N + 3 {
            assert_eq!(coded_range(t), coded_range_of(t));
        }
        let (mut sat, mut sat32) = (
            Box::new([[0.0f64; DET_N + 1]; DET_N + 1]),
            Box::new([[0.0f32; DET_N + 1]; DET_N + 1]),
        );
        let mut rng = Rng(0x5eed);
        let values: Vec<f64> = (0..DET_PIXELS).map(|_| rng.next() as f64 * 1.0e3 + 0.1).collect();
        fill_sat(&mut sat, |k| values[k]);
        fill_sat(&mut sat32, |k| (k % 3 != 0) as u8 as f32);
        let mut row = [0.0f64; SKY_N];
        for t in 0..SKY_N {
            box_row(&sat, t, &mut row);
            for (u, k) in row.iter().enumerate() {
                assert_eq!(
                    k.to_bits(),
                    box_sum(&sat, coded_range_of(t), coded_range_of(u)).to_bits()
                );
            }
            box_row(&sat32, t, &mut row);
            for (u, k) in row.iter().enumerate() {
                assert_eq!(
                    k.to_bits(),
                    box_sum(&sat32, coded_range_of(t), coded_range_of(u)).to_bits()
                );
            }
        }
        let mut grid = Box::new(SplitGrid::zeroed());
        for v in grid.re.iter_mut().flatten() {
            *v = rng.next();
        }
        let mut map = Box::new([[0.0f32; SKY_N]; SKY_N]);
        for (n, rows) in map.chunks_mut(T_BLOCK).enumerate() {
            transpose_block(&grid.re, n * T_BLOCK, rows);
        }
        for (t, row) in map.iter().enumerate() {
            for (u, v) in row.iter().enumerate() {
                assert_eq!(v.to_bits(), grid.re[fft::reversed(u)][t].to_bits(), "({t}, {u})");
            }
        }
    }

    #[test]
    fn fft_decoding_matches_direct_sums() {
        let mut im = imager();
        let mut rng = Rng(21);
        let d: [f32; DET_PIXELS] = core::array::from_fn(|_| 50.0 + 40.0 * rng.next());
        let mut w = [true; DET_PIXELS];
        for k in (0..DET_PIXELS).step_by(37) {
            w[k] = false;
        }
        let sky = im.image(&Shadowgram::poisson(&d, &w), &ImageOptions::default()).unwrap();
        for &(t, u) in &[(99, 99), (80, 118), (10, 150), (190, 5), (60, 130), (118, 80)] {
            let (s, v) = direct(sky.im, &d, &w, t, u);
            let (gs, gv) = (sky.signal(t, u) as f64, sky.variance(t, u) as f64);
            assert!((gs - s).abs() < 1e-3 * v.sqrt() + 0.05, "S({t},{u}) {gs} vs {s}");
            assert!((gv - v).abs() < 1e-4 * v + 0.05, "V({t},{u}) {gv} vs {v}");
        }
    }

    #[test]
    fn rebinned_mask_conserves_open_area() {
        let im = imager();
        let total: f64 = im.rebinned_mask().iter().flatten().map(|&g| g as f64).sum();
        let want = geometry::MASK_OPEN as f64 * 11.4 * 11.4 / (4.5 * 4.5);
        assert!((total - want).abs() < 1e-3 * want, "{total} vs {want}");
        // Cells 0 and 119 lie outside the mask.
        assert!(im.open[0].iter().chain(&im.open[119]).all(|&g| g == 0.0));
        assert!(im.open.iter().all(|r| r[0] == 0.0 && r[119] == 0.0));
        assert!(im.open.iter().flatten().all(|&g| (0.0..=1.0 + 1e-6).contains(&g)));
        // Cells 1 and 118 hold the 1.2 mm slivers of the mask's edge elements.
        let edge = (MASK_HALF_MM - 58.0 * 4.5) / 4.5;
        let max1 = im.open[1].iter().fold(0.0f32, |a, &g| a.max(g));
        assert!((max1 - edge).abs() < 1e-5, "{max1} vs {edge}");
    }

    fn locate(im: &mut Imager, y: f32, z: f32, src: f32, bkg: f32) -> Peak {
        let d = point_source(y, z, src, bkg);
        let w = [true; DET_PIXELS];
        let sky = im.image(&Shadowgram::poisson(&d, &w), &ImageOptions::default()).unwrap();
        sky.find_peak(&PeakOptions::default()).unwrap()
    }

    #[test]
    fn point_sources_land_on_their_direction() {
        let mut im = imager();
        let mut worst = 0.0f32;
        for &(y, z) in &[
            (0.0f32, 0.0f32),
            (0.3, -0.2),
            (11.0, 0.0),
            (-7.7, 10.9),
            (25.0, -3.0),
            (-12.0, 25.0),
            (35.0, 0.0),
            (-30.0, -28.0),
        ] {
            let p = locate(&mut im, y, z, 10.0, 20.0);
            let (ty, tz) = angles_to_sky(y, z);
            let err = libm::hypotf(p.sky_y - ty, p.sky_z - tz);
            worst = worst.max(err);
            assert!(err < 0.1, "({y}, {z}): peak at ({}, {}) vs ({ty}, {tz})", p.sky_y, p.sky_z);
            assert!(p.snr > 10.0, "({y}, {z}) snr {}", p.snr);
        }
        std::eprintln!("worst localisation error: {worst} sky pixels");
    }

    /// Dead pixels (one in ten at random, plus two noisy rows along a heat pipe) change
    /// neither the flat-field zero nor the localisation, in the fully and partially coded field.
    #[test]
    fn dead_pixels_keep_images_clean() {
        let mut im = imager();
        let mut rng = Rng(4242);
        let mut w: [bool; DET_PIXELS] = core::array::from_fn(|_| rng.next() > -0.8);
        w[..2 * DET_N].iter_mut().for_each(|a| *a = false);
        for &(y, z) in &[(1.5f32, -2.5f32), (-18.0, 9.0), (30.0, -20.0)] {
            let mut d = point_source(y, z, 10.0, 20.0);
            // Dead pixels read 0 (and are inactive).
            d.iter_mut().zip(&w).for_each(|(v, &a)| *v = if a { *v } else { 0.0 });
            let sky = im.image(&Shadowgram::poisson(&d, &w), &ImageOptions::default()).unwrap();
            let p = sky.find_peak(&PeakOptions::default()).unwrap();
            let (ty, tz) = angles_to_sky(y, z);
            let err = libm::hypotf(p.sky_y - ty, p.sky_z - tz);
            assert!(err < 0.1, "({y}, {z}): ({}, {}) vs ({ty}, {tz})", p.sky_y, p.sky_z);
        }
        let flat: [f32; DET_PIXELS] = core::array::from_fn(|k| if w[k] { 50.0 } else { 0.0 });
        let sky = im.image(&Shadowgram::poisson(&flat, &w), &ImageOptions::default()).unwrap();
        let worst = (0..SKY_N)
            .flat_map(|t| (0..SKY_N).map(move |u| (t, u)))
            .map(|(t, u)| sky.snr(t, u).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 0.01, "flat field with dead pixels: |SNR| up to {worst}");
    }

    #[test]
    fn source_counts_are_recovered() {
        let mut im = imager();
        for &(y, z) in &[(0.0f32, 0.0f32), (5.0, -8.0), (-20.0, 30.0)] {
            let p = locate(&mut im, y, z, 10.0, 20.0);
            let mut lit = [0.0f32; DET_PIXELS];
            pixel_illumination(y, z, &mut lit);
            let want: f32 = lit.iter().map(|f| 10.0 * f).sum();
            std::eprintln!("counts ({y}, {z}): {} vs {want}", p.counts);
            assert!((p.counts - want).abs() < 0.1 * want, "({y},{z}) {} vs {want}", p.counts);
        }
    }

    #[test]
    fn flat_shadowgram_images_to_zero() {
        let mut im = imager();
        let d = [100.0f32; DET_PIXELS];
        let mut w = [true; DET_PIXELS];
        w[..400].iter_mut().for_each(|a| *a = false);
        let sky = im.image(&Shadowgram::poisson(&d, &w), &ImageOptions::default()).unwrap();
        let mut max_snr = 0.0f32;
        for t in 0..SKY_N {
            for u in 0..SKY_N {
                if sky.coded_fraction(t, u) >= PeakOptions::default().min_coded_fraction {
                    assert!(sky.variance(t, u) > 0.0, "variance at ({t},{u})");
                }
                max_snr = max_snr.max(sky.snr(t, u).abs());
            }
        }
        assert!(max_snr < 0.01, "flat image peaks at SNR {max_snr}");
    }

    /// Deterministic Poisson-like noise (normal approximation; means ≫ 1).
    fn noisy(mean: &[f32; DET_PIXELS], seed: u32) -> [f32; DET_PIXELS] {
        let mut rng = Rng(seed);
        mean.map(|m| {
            let (a, b) = ((rng.next() + 1.0) * 0.5, (rng.next() + 1.0) * 0.5);
            let g = (-2.0 * (a.max(1e-7) as f64).ln()).sqrt()
                * (2.0 * std::f64::consts::PI * b as f64).cos();
            (m as f64 + g * (m as f64).sqrt()).round().max(0.0) as f32
        })
    }

    /// With noise, the SNR map of an empty sky has unit spread and no high peak: the variance
    /// map is calibrated.
    #[test]
    fn noise_only_snr_is_calibrated() {
        let mut im = imager();
        let d = noisy(&[200.0; DET_PIXELS], 77);
        let w = [true; DET_PIXELS];
        let sky = im.image(&Shadowgram::poisson(&d, &w), &ImageOptions::default()).unwrap();
        let (mut n, mut s2) = (0usize, 0.0f64);
        for t in 80..=118 {
            for u in 80..=118 {
                let s = sky.snr(t, u) as f64;
                n += 1;
                s2 += s * s;
            }
        }
        let rms = (s2 / n as f64).sqrt();
        assert!((0.8..1.2).contains(&rms), "SNR rms {rms}");
        let p = sky.find_peak(&PeakOptions::default()).unwrap();
        assert!(p.snr < 5.5, "noise peak at SNR {}", p.snr);
    }

    /// With noise at SNR ≈ 16 the errors follow the flight law r90 = √((77′/SNR)² + (2′)²)
    /// ≈ 5.2′ (the example `imaging_bench` measures 5.4′ over 60 trials).
    #[test]
    fn noisy_sources_are_localised_like_flight() {
        let mut im = imager();
        let w = [true; DET_PIXELS];
        let mut errs = Vec::new();
        for (k, &(y, z)) in
            [(0.0f32, 0.0f32), (4.2, -7.9), (-9.5, 3.3), (15.0, 12.0), (-22.0, -5.0), (2.0, 28.0)]
                .iter()
                .enumerate()
        {
            let d = noisy(&point_source(y, z, 2.0, 13.0), 1000 + k as u32);
            let sky = im.image(&Shadowgram::poisson(&d, &w), &ImageOptions::default()).unwrap();
            let p = sky.find_peak(&PeakOptions::default()).unwrap();
            assert!(p.snr > 10.0, "({y}, {z}): SNR {}", p.snr);
            let a = geometry::angles_to_unit(y as f64, z as f64);
            let b = geometry::angles_to_unit(p.y_deg as f64, p.z_deg as f64);
            let dot: f64 = a.iter().zip(&b).map(|(a, b)| a * b).sum();
            errs.push(dot.min(1.0).acos().to_degrees() * 60.0);
        }
        let worst = errs.iter().fold(0.0f64, |a, &e| a.max(e));
        std::eprintln!("localisation errors (arcmin): {errs:?}");
        assert!(worst < 10.0, "errors (arcmin) {errs:?}");
    }

    #[test]
    fn snr_scales_with_square_root_of_counts() {
        let mut im = imager();
        let a = locate(&mut im, 3.0, 4.0, 2.0, 10.0);
        let b = locate(&mut im, 3.0, 4.0, 8.0, 40.0);
        assert!((b.snr / a.snr - 2.0).abs() < 0.01, "{} / {}", b.snr, a.snr);
        assert_eq!((a.pixel_y, a.pixel_z), (b.pixel_y, b.pixel_z));
    }

    #[test]
    fn excess_with_its_variance() {
        // CRT style: an interval with a source, minus a scaled background estimate.
        let mut im = imager();
        let bkg = [30.0f32; DET_PIXELS];
        let on = point_source(-4.0, 6.0, 3.0, 30.0);
        // The background shadowgram was accumulated over twice the interval: scale k = 0.5.
        let long = bkg.map(|b| 2.0 * b);
        let k = 0.5f32;
        let excess: [f32; DET_PIXELS] = core::array::from_fn(|i| on[i] - k * long[i]);
        let var: [f32; DET_PIXELS] = core::array::from_fn(|i| on[i] + k * k * long[i]);
        let w = [true; DET_PIXELS];
        let sh = Shadowgram { counts: &excess, variance: &var, active: &w };
        let sky = im.image(&sh, &ImageOptions::default()).unwrap();
        let p = sky.find_peak(&PeakOptions::default()).unwrap();
        let (ty, tz) = angles_to_sky(-4.0, 6.0);
        assert!(libm::hypotf(p.sky_y - ty, p.sky_z - tz) < 0.25);
        // Larger variance than the Poisson image of `on` alone: lower SNR.
        let plain = locate(&mut im, -4.0, 6.0, 3.0, 30.0);
        assert!(p.snr < plain.snr && p.snr > 0.5 * plain.snr, "{} vs {}", p.snr, plain.snr);
    }

    #[test]
    fn exclusions_and_border_are_honoured() {
        let mut im = imager();
        let d: [f32; DET_PIXELS] = {
            let a = point_source(2.0, 2.0, 10.0, 20.0);
            let b = point_source(-15.0, 8.0, 5.0, 0.0);
            core::array::from_fn(|i| a[i] + b[i])
        };
        let w = [true; DET_PIXELS];
        let sky = im.image(&Shadowgram::poisson(&d, &w), &ImageOptions::default()).unwrap();
        let p = sky.find_peak(&PeakOptions::default()).unwrap();
        assert!((p.y_deg - 2.0).abs() < 0.15 && (p.z_deg - 2.0).abs() < 0.15);
        let ex = [Exclusion { y_deg: 2.0, z_deg: 2.0, radius_deg: 2.0 }];
        let opts = PeakOptions { exclude: &ex, ..PeakOptions::default() };
        let q = sky.find_peak(&opts).unwrap();
        assert!((q.y_deg + 15.0).abs() < 0.15 && (q.z_deg - 8.0).abs() < 0.15, "{q:?}");
        let opts = PeakOptions { border: 100, ..PeakOptions::default() };
        assert_eq!(sky.find_peak(&opts), None);
        let opts = PeakOptions { min_coded_fraction: 1.1, ..PeakOptions::default() };
        assert_eq!(sky.find_peak(&opts), None);
    }

    #[test]
    fn quadratic_fit_recovers_coefficients() {
        let coef = [0.013, -0.007, 0.25, -0.4, 120.0];
        let q = Quadratic { coef };
        let values: [f32; DET_PIXELS] =
            core::array::from_fn(|k| q.eval(k / DET_N, k % DET_N) as f32);
        let mut active = [true; DET_PIXELS];
        for k in (0..DET_PIXELS).step_by(7) {
            active[k] = false;
        }
        let fit = Quadratic::fit(&values, &active).unwrap();
        for (a, b) in fit.coef.iter().zip(&coef) {
            assert!((a - b).abs() < 1e-6 * (1.0 + b.abs()), "{:?} vs {coef:?}", fit.coef);
        }
        // Too few pixels, or all on one row: singular.
        let mut few = [false; DET_PIXELS];
        few[..80].iter_mut().for_each(|a| *a = true);
        assert_eq!(Quadratic::fit(&values, &few), None);
        assert_eq!(Quadratic::fit(&values, &[false; DET_PIXELS]), None);
    }

    #[test]
    fn background_fit_removes_a_gradient() {
        let mut im = imager();
        let src = point_source(6.0, -9.0, 4.0, 0.0);
        let q = Quadratic { coef: [0.02, 0.01, 1.5, -1.0, 200.0] };
        let d: [f32; DET_PIXELS] =
            core::array::from_fn(|k| src[k] + q.eval(k / DET_N, k % DET_N) as f32);
        let w = [true; DET_PIXELS];
        let fitted = ImageOptions { background: Background::Quadratic };
        let sky = im.image(&Shadowgram::poisson(&d, &w), &fitted).unwrap();
        let p = sky.find_peak(&PeakOptions::default()).unwrap();
        assert!((p.y_deg - 6.0).abs() < 0.15 && (p.z_deg + 9.0).abs() < 0.15, "{p:?}");
        // Without the fit the gradient leaves structure: the source's SNR is no higher.
        let sky = im.image(&Shadowgram::poisson(&d, &w), &ImageOptions::default()).unwrap();
        let (t, u) = (p.pixel_y, p.pixel_z);
        assert!(sky.snr(t, u) <= p.snr + 1e-3);
    }

    #[test]
    fn bad_input_is_refused() {
        let mut im = imager();
        let mut d = [1.0f32; DET_PIXELS];
        let w = [true; DET_PIXELS];
        d[81] = f32::NAN;
        let e = im.image(&Shadowgram::poisson(&d, &w), &ImageOptions::default()).unwrap_err();
        assert_eq!(e, ImageError::NonFinite { pixel: 81 });
        assert!(std::format!("{e}").contains("Y 1, Z 1"));
        assert!(im.sky().is_none());
        let mut inactive = w;
        inactive[81] = false;
        assert!(im.image(&Shadowgram::poisson(&d, &inactive), &ImageOptions::default()).is_ok());
        assert!(im.sky().is_some());
        d[81] = 1.0;
        let mut v = d;
        v[5] = -1.0;
        let sh = Shadowgram { counts: &d, variance: &v, active: &w };
        assert_eq!(
            im.image(&sh, &ImageOptions::default()).unwrap_err(),
            ImageError::NegativeVariance { pixel: 5 }
        );
        d[7] = 2.0e12;
        assert_eq!(
            im.image(&Shadowgram::poisson(&d, &w), &ImageOptions::default()).unwrap_err(),
            ImageError::TooLarge { pixel: 7 }
        );
        // The largest values accepted image without overflow.
        d[7] = -MAX_PIXEL_VALUE;
        v = [MAX_PIXEL_VALUE; DET_PIXELS];
        let sh = Shadowgram { counts: &d, variance: &v, active: &w };
        let sky = im.image(&sh, &ImageOptions::default()).unwrap();
        assert!((0..SKY_N).all(|t| (0..SKY_N).all(|u| sky.snr(t, u).is_finite())));
        let none = [false; DET_PIXELS];
        assert_eq!(
            im.image(&Shadowgram::poisson(&d, &none), &ImageOptions::default()).unwrap_err(),
            ImageError::NoActivePixels
        );
    }

    /// Every signal, variance and SNR value, bit for bit.
    fn image_bits(im: &mut Imager, sh: &Shadowgram<'_>, opts: &ImageOptions) -> Vec<[u32; 3]> {
        sky_bits(&im.image(sh, opts).unwrap())
    }

    #[test]
    fn reused_correlations_give_the_same_image_bit_for_bit() {
        // Counts = variance (one correlation serves both), then the same variance with other
        // counts (the variance map is reused, like the catalogue-cleaning pass), then a fit.
        let d = noisy(&point_source(1.0, 1.0, 3.0, 50.0), 5);
        let mut d2 = d;
        d2.iter_mut().step_by(7).for_each(|x| *x -= 0.25);
        let mut w = [true; DET_PIXELS];
        w[123] = false;
        let plain = ImageOptions::default();
        let quad = ImageOptions { background: Background::Quadratic };
        let cases: [(&[f32; DET_PIXELS], &ImageOptions); 5] =
            [(&d, &plain), (&d2, &plain), (&d2, &quad), (&d, &quad), (&d, &plain)];
        let mut warm = imager();
        for (counts, opts) in cases {
            let sh = Shadowgram { counts, variance: &d, active: &w };
            let reused = image_bits(&mut warm, &sh, opts);
            let fresh = image_bits(&mut imager(), &sh, opts);
            assert!(reused == fresh);
        }
    }

    #[test]
    fn imaging_is_deterministic_and_independent_of_history() {
        let d = noisy(&point_source(1.0, 1.0, 3.0, 50.0), 5);
        let w = [true; DET_PIXELS];
        let mut a = imager();
        let first: Vec<f32> = {
            let s = a.image(&Shadowgram::poisson(&d, &w), &ImageOptions::default()).unwrap();
            (0..SKY_N)
                .flat_map(|t| (0..SKY_N).map(move |u| (t, u)))
                .map(|(t, u)| s.snr(t, u))
                .collect()
        };
        // Another imager that imaged something else first, with another active set.
        let mut b = imager();
        let mut w2 = w;
        w2[10] = false;
        b.image(&Shadowgram::poisson(&[7.0; DET_PIXELS], &w2), &ImageOptions::default()).unwrap();
        let s = b.image(&Shadowgram::poisson(&d, &w), &ImageOptions::default()).unwrap();
        let second: Vec<f32> = (0..SKY_N)
            .flat_map(|t| (0..SKY_N).map(move |u| (t, u)))
            .map(|(t, u)| s.snr(t, u))
            .collect();
        assert!(first.iter().zip(&second).all(|(x, y)| x.to_bits() == y.to_bits()));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(6))]
        /// Any accepted shadowgram (signs, scales, active sets) images to finite values, and
        /// the peak, if any, is finite and inside the image.
        #[test]
        fn any_shadowgram_images_to_finite_values(
            seed in 1u32..u32::MAX,
            scale in -12i32..12,
            dead in 0.0f32..1.0,
        ) {
            let mut rng = Rng(seed);
            let k = 10f32.powi(scale);
            let d: [f32; DET_PIXELS] = core::array::from_fn(|_| k * rng.next());
            let v: [f32; DET_PIXELS] = core::array::from_fn(|_| k.abs() * (rng.next() + 1.0));
            let w: [bool; DET_PIXELS] = core::array::from_fn(|_| (rng.next() + 1.0) * 0.5 >= dead);
            let mut im = imager();
            let sh = Shadowgram { counts: &d, variance: &v, active: &w };
            match im.image(&sh, &ImageOptions { background: Background::Quadratic }) {
                Ok(sky) => {
                    for t in (0..SKY_N).step_by(7) {
                        for u in (0..SKY_N).step_by(5) {
                            proptest::prop_assert!(sky.snr(t, u).is_finite());
                            proptest::prop_assert!(sky.variance(t, u) >= 0.0);
                        }
                    }
                    if let Some(p) = sky.find_peak(&PeakOptions::default()) {
                        proptest::prop_assert!(p.snr.is_finite() && p.y_deg.is_finite());
                        proptest::prop_assert!((0.0..SKY_N as f32).contains(&p.sky_y));
                    }
                }
                Err(e) => proptest::prop_assert!(matches!(
                    e,
                    ImageError::NoActivePixels | ImageError::BackgroundFitSingular
                )),
            }
        }
    }

    /// Every pixel's signal, variance and SNR bits of a sky image.
    fn sky_bits(s: &SkyImage<'_>) -> Vec<[u32; 3]> {
        (0..SKY_N)
            .flat_map(|t| (0..SKY_N).map(move |u| (t, u)))
            .map(|(t, u)| {
                [s.signal(t, u).to_bits(), s.variance(t, u).to_bits(), s.snr(t, u).to_bits()]
            })
            .collect()
    }

    #[test]
    fn balance_slots_give_the_images_of_a_fresh_imager() {
        // Three active sets in turn (one more than the slots), each image compared with a
        // new imager's: the same bits whichever slot was reused or replaced.
        let d = noisy(&point_source(-4.0, 2.0, 3.0, 40.0), 9);
        let mut sets = [[true; DET_PIXELS]; 3];
        sets[1][100..180].fill(false);
        sets[2][3000..3300].fill(false);
        let mut im = imager();
        let opts = ImageOptions::default();
        for &i in &[0, 1, 0, 1, 2, 0, 2, 1, 1, 0] {
            let sh = Shadowgram::poisson(&d, &sets[i]);
            let seen = sky_bits(&im.image(&sh, &opts).unwrap());
            let fresh = sky_bits(&imager().image(&sh, &opts).unwrap());
            assert!(seen == fresh, "active set {i}: the image depends on the imager's history");
        }
    }

    #[test]
    fn subtracting_a_model_equals_imaging_the_cleaned_counts() {
        let (y, z) = (6.0, -3.0);
        let mut model = [0f32; DET_PIXELS];
        geometry::pixel_illumination(y, z, &mut model);
        let d = noisy(&point_source(y, z, 4.0, 30.0), 3);
        let v = d.map(|c| 0.81 * c);
        let mut active = [true; DET_PIXELS];
        active[4000..4100].fill(false);
        for background in [Background::None, Background::Quadratic] {
            let opts = ImageOptions { background };
            let k = 3.5f32;
            let cleaned: Vec<f32> = d.iter().zip(&model).map(|(c, f)| c - k * f).collect();
            let cleaned: &[f32; DET_PIXELS] = cleaned.as_slice().try_into().unwrap();
            let mut direct = imager();
            let want = sky_bits(
                &direct
                    .image(&Shadowgram { counts: cleaned, variance: &v, active: &active }, &opts)
                    .unwrap(),
            );
            let mut im = imager();
            let sh = Shadowgram { counts: &d, variance: &v, active: &active };
            im.image(&sh, &opts).unwrap();
            let got = sky_bits(&im.subtract_model(&model, k, &opts).unwrap());
            // Linear up to rounding: within 1e-4 of the largest signal; the variance unchanged.
            let scale = want.iter().map(|p| f32::from_bits(p[0]).abs()).fold(0.0, f32::max);
            for (g, w) in got.iter().zip(&want) {
                let (gs, ws) = (f32::from_bits(g[0]), f32::from_bits(w[0]));
                assert!((gs - ws).abs() <= 1e-4 * scale, "{background:?}: {gs} against {ws}");
                assert_eq!(g[1], w[1]);
            }
            // The cached model's result equals a fresh imager's, bit for bit, and again.
            im.image(&sh, &opts).unwrap();
            let again = sky_bits(&im.subtract_model(&model, k, &opts).unwrap());
            assert!(again == got, "{background:?}: the cached model changed the result");
            // Another active set in between (another balance slot) changes nothing either.
            let mut other = active;
            other[10] = false;
            im.image(&Shadowgram { counts: &d, variance: &v, active: &other }, &opts).unwrap();
            im.subtract_model(&model, 1.0, &opts).unwrap();
            im.image(&sh, &opts).unwrap();
            let third = sky_bits(&im.subtract_model(&model, k, &opts).unwrap());
            assert!(third == got, "{background:?}: another slot's model leaked in");
        }
    }

    #[test]
    fn subtracting_a_model_refuses_bad_input() {
        let mut im = imager();
        let model = [0.5f32; DET_PIXELS];
        let opts = ImageOptions::default();
        assert_eq!(im.subtract_model(&model, 1.0, &opts).err(), Some(ImageError::NoImage));
        let d = [10.0f32; DET_PIXELS];
        let active = [true; DET_PIXELS];
        im.image(&Shadowgram::poisson(&d, &active), &opts).unwrap();
        let r = im.subtract_model(&model, f32::NAN, &opts).err();
        assert_eq!(r, Some(ImageError::NonFinite { pixel: 0 }));
        // The image is gone after a refusal.
        assert!(im.sky().is_none());
        im.image(&Shadowgram::poisson(&d, &active), &opts).unwrap();
        let mut bad = model;
        bad[77] = f32::INFINITY;
        assert_eq!(
            im.subtract_model(&bad, 1.0, &opts).err(),
            Some(ImageError::NonFinite { pixel: 77 })
        );
        // k = 0 leaves the image as it was, bit for bit.
        let before = sky_bits(&im.image(&Shadowgram::poisson(&d, &active), &opts).unwrap());
        let after = sky_bits(&im.subtract_model(&model, 0.0, &opts).unwrap());
        assert!(before == after);
    }

    /// [`find_peak`] without the row filter: the exhaustive scan it must agree with.
    fn peak_exhaustive(sky: &SkyImage<'_>, opts: &PeakOptions<'_>) -> Option<(usize, usize)> {
        let last = SKY_N.saturating_sub(opts.border);
        let mut best: Option<(f32, usize, usize)> = None;
        for t in opts.border..last {
            for u in opts.border..last {
                let v = sky.variance(t, u);
                if v <= 0.0 {
                    continue;
                }
                let snr = sky.signal(t, u) / libm::sqrtf(v);
                if !snr.is_finite() || best.is_some_and(|(s, _, _)| snr <= s) {
                    continue;
                }
                if sky.coded_fraction(t, u) < opts.min_coded_fraction {
                    continue;
                }
                let p = sky_unit(t, u);
                let out = opts.exclude.iter().any(|e| {
                    let ty = libm::tanf(e.y_deg.to_radians());
                    let tz = libm::tanf(e.z_deg.to_radians());
                    let x = 1.0 / libm::sqrtf(1.0 + ty * ty + tz * tz);
                    p[0] * x + p[1] * ty * x + p[2] * tz * x
                        >= libm::cosf(e.radius_deg.to_radians())
                });
                if !out {
                    best = Some((snr, t, u));
                }
            }
        }
        best.map(|(_, t, u)| (t, u))
    }

    #[test]
    fn the_row_filter_finds_the_exhaustive_scans_peak() {
        let mut im = imager();
        let active = [true; DET_PIXELS];
        for seed in 0..12u32 {
            // Noise only, a faint source, a bright one excluded: the peak anywhere.
            let y = (seed as f32 * 3.7) % 40.0 - 20.0;
            let src = [0.0, 1.5, 20.0][(seed % 3) as usize];
            let d = noisy(&point_source(y, -y / 2.0, src, 25.0), seed + 100);
            let sky =
                im.image(&Shadowgram::poisson(&d, &active), &ImageOptions::default()).unwrap();
            let exclude = [Exclusion { y_deg: y, z_deg: -y / 2.0, radius_deg: 1.0 }];
            for ex in [&exclude[..0], &exclude[..]] {
                let opts = PeakOptions { exclude: ex, ..PeakOptions::default() };
                let got = sky.find_peak(&opts).map(|p| (p.pixel_y, p.pixel_z));
                assert_eq!(got, peak_exhaustive(&sky, &opts), "seed {seed}");
            }
        }
    }

    #[test]
    fn fit_from_the_upper_triangle_equals_the_full_normal_matrix_bit_for_bit() {
        // The normal equations accumulated cell by cell over the whole 5 × 6 matrix, as first
        // written: the same coefficients, bit for bit.
        let full = |values: &[f32; DET_PIXELS], active: &[bool; DET_PIXELS]| {
            let mut m = [[0.0f64; 6]; 5];
            for (k, (&v, _)) in values.iter().zip(active).enumerate().filter(|(_, (_, a))| **a) {
                let p = Quadratic::basis(k / DET_N, k % DET_N);
                for (row, &pi) in m.iter_mut().zip(&p) {
                    for (cell, &pj) in row.iter_mut().zip(p.iter().chain(&[v as f64])) {
                        *cell += pi * pj;
                    }
                }
            }
            solve5(&mut m).map(|coef| Quadratic { coef })
        };
        for seed in 1..6u32 {
            let mut rng = Rng(seed);
            let scale = 10f32.powi(seed as i32 * 3 - 9);
            let values: [f32; DET_PIXELS] = core::array::from_fn(|_| scale * (rng.next() + 2.0));
            let active: [bool; DET_PIXELS] = core::array::from_fn(|_| rng.next() > -0.6);
            let (got, want) = (Quadratic::fit(&values, &active), full(&values, &active));
            let bits = |q: Option<Quadratic>| q.map(|q| q.coef.map(f64::to_bits));
            assert_eq!(bits(got), bits(want), "seed {seed}");
            assert!(got.is_some());
        }
        let few = [false; DET_PIXELS];
        assert_eq!(Quadratic::fit(&[1.0; DET_PIXELS], &few), full(&[1.0; DET_PIXELS], &few));
    }

    #[test]
    fn branch_free_passes_agree_with_the_pixel_by_pixel_definitions() {
        // Special values in active and inactive pixels, at block edges and inside blocks.
        let specials = [
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            -0.0,
            0.0,
            -1.0,
            2.0e12,
            -2.0e12,
            MAX_PIXEL_VALUE,
            -MAX_PIXEL_VALUE,
            1.0e-30,
        ];
        let mut rng = Rng(99);
        let base: [f32; DET_PIXELS] = core::array::from_fn(|_| 10.0 + rng.next());
        let mut active = [true; DET_PIXELS];
        active[63] = false;
        active[64] = false;
        active[5000] = false;
        assert!(check(&Shadowgram::poisson(&base, &active)).is_ok());
        for (n, &x) in specials.iter().enumerate() {
            for pixel in [0, 63, 64, 1000, 5000, DET_PIXELS - 1] {
                for on_counts in [true, false] {
                    let (mut c, mut v) = (base, base);
                    if on_counts {
                        c[pixel] = x
                    } else {
                        v[pixel] = x
                    }
                    let sh = Shadowgram { counts: &c, variance: &v, active: &active };
                    assert_eq!(check(&sh), check_each(&sh), "{x} at {pixel}");
                    // A second bad pixel later: the first is named.
                    c[pixel + 1 - pixel / (DET_PIXELS - 1)] = f32::NAN;
                    let sh = Shadowgram { counts: &c, variance: &v, active: &active };
                    assert_eq!(check(&sh), check_each(&sh), "{x} at {pixel}, then NaN");
                }
                // The comparisons: one pixel changed (or the same bits), active or not.
                let mut y = base;
                y[pixel] = x;
                let mut stored = [0.0f32; DET_PIXELS];
                store_picked(&mut stored, &active, &base);
                let want_stored: [f32; DET_PIXELS] =
                    core::array::from_fn(|k| pick(&active, &base, k));
                assert!(stored.iter().zip(&want_stored).all(|(a, b)| a.to_bits() == b.to_bits()));
                let want = (0..DET_PIXELS)
                    .all(|k| pick(&active, &base, k).to_bits() == pick(&active, &y, k).to_bits());
                assert_eq!(holds_picked(&stored, &active, &y), want, "{n}: {x} at {pixel}");
                assert_eq!(same_picked(&active, &base, &y), want, "{n}: {x} at {pixel}");
            }
        }
        let none = [false; DET_PIXELS];
        let sh = Shadowgram::poisson(&base, &none);
        assert_eq!(check(&sh), Err(ImageError::NoActivePixels));
        // Inactive pixels compare as +0.0, whatever they hold.
        let mut y = base;
        y[63] = f32::NAN;
        assert!(same_picked(&active, &base, &y));
        assert!(!same_picked(&[true; DET_PIXELS], &base, &y));
    }

    #[test]
    fn imager_size_is_as_documented() {
        assert_eq!(IMAGER_SIZE, 2_253_320);
        std::eprintln!("Imager: {IMAGER_SIZE} octets");
    }
}
