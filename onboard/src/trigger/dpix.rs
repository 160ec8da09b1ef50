//! DPIX: detector-plane event processing with the active pixel and band tables.
//!
//! For each event, in this order (the first failing test decides the reason counted):
//!
//! 1. **Multiplicity**: multiple events (multiplicity > 1, several pixels hit by one photon
//!    or a particle) are excluded: their energy is split between pixels and their position is
//!    ambiguous, so they would blur the shadowgram.
//! 2. **Status**: a pixel whose status is not `ok` or `noisy` (dead, high threshold, unknown
//!    code) is excluded from the trigger (X24: HTPs are excluded from the trigger processing).
//! 3. **Energy**: E = gain · PHA + offset, evaluated in `f32` exactly as written (no fused
//!    multiply-add), so every platform agrees.
//! 4. **Low threshold**: E below the pixel's low threshold is dropped; for a noisy pixel the
//!    threshold is at least [`NOISY_MIN_KEV`] (X24: heat-pipe noise is ignored in 4–8 keV).
//! 5. **Band**: the elementary band `[low, high)` of the band table containing E; none → dropped.
//!
//! An accepted event carries its pixel, its elementary band, and the pixel's precomputed
//! lookups: zones (bit mask of the CRT zones containing it), sector, and shadowgram weight
//! 1/efficiency (applied where shadowgrams are built, so low-efficiency pixels do not imprint
//! their pattern on the image). All lookups are computed once at table activation
//! ([`Dpix::configure`]).
//!
//! **PHA tables.** For a usable pixel with a finite gain > 0 and a finite offset, E(PHA) =
//! gain · PHA + offset in `f32` is non-decreasing in PHA (an `f32` product by a positive
//! constant and an `f32` sum with a constant are both monotonic under round-to-nearest), so
//! "E < x" holds exactly for the PHA below the lowest PHA where it fails. Configuration finds
//! that PHA (by bisection on the very same `f32` expression) for the threshold and for each
//! band edge, per pixel; per event the decision is then integer compares on one pixel's
//! table: PHA against the threshold, and the number of band edges at or below the PHA (with
//! sorted bands an odd count 2b + 1 means band b, an even one no band). The float decision
//! stays for the cases the tables do not cover (a non-finite calibration, band edges not in
//! order, PHA 65 535), and a test checks both agree for every pixel and every `u16` PHA.

use tables::bands::BandTable;
use tables::crt::Zone;
use tables::pixels::{PIXELS, PLANE_SIDE, PixelEntry, PixelStatus};

use super::PixelSource;

/// Low threshold applied at least to noisy pixels, keV.
pub const NOISY_MIN_KEV: f32 = 8.0;
/// Detector sectors (ELS boards), 25 XRDPIX modules each.
pub const SECTORS: usize = 8;
/// XRDPIX modules (one 32-channel ASIC each).
pub const MODULES: usize = 200;
/// Module height along Y, pixels.
pub const MODULE_Y: usize = 4;
/// Module width along Z, pixels.
pub const MODULE_Z: usize = 8;

/// XRDPIX module of pixel (Y, Z): modules are 4 (Y) × 8 (Z) pixels, numbered
/// `10·(Y/4) + Z/8` (0–199) (`docs/trigger.md`, "Modules and sectors").
pub const fn module_of(y: usize, z: usize) -> usize {
    (y / MODULE_Y) * (PLANE_SIDE / MODULE_Z) + z / MODULE_Z
}

/// Sector of pixel (Y, Z): sectors are 5 × 5 modules = 20 (Y) × 40 (Z) pixels, numbered
/// `2·(Y/20) + Z/40` (0–7).
pub const fn sector_of(y: usize, z: usize) -> usize {
    (y / 20) * 2 + z / 40
}

/// [`sector_of`] of each pixel ID 80·Y + Z (a constant table).
#[allow(clippy::indexing_slicing)] // p < PIXELS, evaluated at compile time
pub static SECTOR_OF_PIXEL: [u8; PIXELS] = {
    let mut t = [0u8; PIXELS];
    let mut p = 0;
    while p < PIXELS {
        t[p] = sector_of(p / PLANE_SIDE, p % PLANE_SIDE) as u8;
        p += 1;
    }
    t
};

/// Band edges per pixel in the PHA tables: low and high of each band.
const EDGES: usize = 2 * tables::MAX_BANDS;

/// How a pixel's events are decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Excluded from the trigger.
    Excluded,
    /// By the PHA tables.
    Table,
    /// By the `f32` energy (a calibration or band table the PHA tables cannot represent).
    Float,
}

/// One pixel's decision table.
#[derive(Clone, Copy, Debug)]
struct PixelLut {
    /// The tables decide the PHA below this: 65 535 for [`Mode::Table`], else 0 (every PHA
    /// goes to [`Dpix::decide_other`]).
    limit: u16,
    /// Lowest PHA whose energy is not below the threshold (65 535 if none below 65 535).
    thr_pha: u16,
    /// Bit mask of the CRT zones containing the pixel.
    zones: u8,
    mode: Mode,
}

impl PixelLut {
    const EXCLUDED: PixelLut = PixelLut { limit: 0, thr_pha: 0, zones: 0, mode: Mode::Excluded };
}

/// Counts of one batch's DPIX decisions, added to the counters at once
/// ([`Dpix::add_counts`]): the same totals as counting each event.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counts {
    /// Indexed by [`Counts::ACCEPTED`] and the [`Reject`] discriminants + 1.
    n: [u64; 5],
}

impl Counts {
    const ACCEPTED: usize = 0;

    /// Counts one decision.
    #[inline]
    pub fn count<T>(&mut self, r: &Result<T, Reject>) {
        let k = match r {
            Ok(_) => Self::ACCEPTED,
            Err(e) => *e as usize + 1,
        };
        if let Some(n) = self.n.get_mut(k) {
            *n += 1;
        }
    }
}

/// An event DPIX accepted, as the trigger's counting needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hit {
    /// Elementary band index.
    pub band: u8,
    /// Bit mask of the CRT zones containing the pixel.
    pub zones: u8,
}

/// Lowest `pha` (0–65 536) for which `!(gain · pha + offset < x)` in `f32`, given that the
/// energy is non-decreasing in `pha` (finite gain > 0, finite offset).
fn lowest_pha_not_below(gain: f32, offset: f32, x: f32) -> u32 {
    let below = |pha: u32| gain * pha as f32 + offset < x;
    // Invariant: below(p) for every p < lo; !below(hi) or hi = 65 536.
    let (mut lo, mut hi) = (0u32, 1u32 << 16);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if below(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// As a `u16` table entry: values ≥ 65 535 become 65 535, exact for every PHA below 65 535.
fn table_pha(p: u32) -> u16 {
    u16::try_from(p).unwrap_or(u16::MAX)
}

/// Why DPIX did not pass an event on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reject {
    /// Multiplicity above 1.
    Multiple,
    /// Pixel excluded by its status.
    Excluded,
    /// Energy below the pixel's low threshold.
    BelowThreshold,
    /// Energy outside every elementary band.
    OutOfBand,
}

/// An event DPIX accepted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Accepted {
    /// Pixel ID, 80·Y + Z.
    pub pixel: u16,
    /// Elementary band index.
    pub band: u8,
    /// Bit mask of the CRT zones containing the pixel.
    pub zones: u8,
    /// Sector of the pixel.
    pub sector: u8,
    /// Energy, keV.
    pub energy_kev: f32,
}

/// Counts of DPIX decisions since configuration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DpixStats {
    /// Events accepted.
    pub accepted: u64,
    /// Multiple events excluded.
    pub multiple: u64,
    /// Events on excluded pixels.
    pub excluded: u64,
    /// Events below threshold.
    pub below_threshold: u64,
    /// Events outside the bands.
    pub out_of_band: u64,
}

/// Per-pixel lookups, built from the active pixel, band and CRT tables.
#[derive(Clone, Debug)]
pub struct Dpix {
    gain: [f32; PIXELS],
    offset: [f32; PIXELS],
    /// Effective low threshold, keV; +∞ for an excluded pixel.
    threshold: [f32; PIXELS],
    /// Shadowgram weight 1/efficiency; 0 for an excluded pixel.
    weight: [f32; PIXELS],
    lut: [PixelLut; PIXELS],
    /// Per pixel, the lowest PHA not below each band's low and high edge (low, high, …;
    /// 65 535 beyond the bands in use).
    pha_edges: [[u16; EDGES]; PIXELS],
    band_low: [f32; tables::MAX_BANDS],
    band_high: [f32; tables::MAX_BANDS],
    bands: usize,
    stats: DpixStats,
}

impl Dpix {
    /// Lookups excluding every pixel (until [`Dpix::configure`]).
    pub const fn new() -> Self {
        Dpix {
            gain: [0.0; PIXELS],
            offset: [0.0; PIXELS],
            threshold: [f32::INFINITY; PIXELS],
            weight: [0.0; PIXELS],
            lut: [PixelLut::EXCLUDED; PIXELS],
            pha_edges: [[u16::MAX; EDGES]; PIXELS],
            band_low: [0.0; tables::MAX_BANDS],
            band_high: [0.0; tables::MAX_BANDS],
            bands: 0,
            stats: DpixStats {
                accepted: 0,
                multiple: 0,
                excluded: 0,
                below_threshold: 0,
                out_of_band: 0,
            },
        }
    }

    /// Rebuilds every lookup from the tables and clears the counters.
    pub fn configure(&mut self, pixels: &dyn PixelSource, bands: &BandTable, zones: &[Zone]) {
        self.stats = DpixStats::default();
        self.bands = bands.bands.len().min(tables::MAX_BANDS);
        for (i, b) in bands.bands.iter().enumerate() {
            if let (Some(l), Some(h)) = (self.band_low.get_mut(i), self.band_high.get_mut(i)) {
                *l = b.low_kev;
                *h = b.high_kev;
            }
        }
        let n_edges = 2 * self.bands;
        for p in 0..PIXELS {
            let e = pixels
                .pixel(p as u16)
                .unwrap_or(PixelEntry { status: PixelStatus::Dead, ..PixelEntry::NOMINAL });
            let usable = e.status.in_trigger() && e.efficiency > 0.0 && e.gain > 0.0;
            let thr = match e.status {
                PixelStatus::Noisy if e.threshold_kev < NOISY_MIN_KEV => NOISY_MIN_KEV,
                _ => e.threshold_kev,
            };
            let (y, z) = ((p / PLANE_SIDE) as u8, (p % PLANE_SIDE) as u8);
            let mut mask = 0u8;
            for (k, zone) in zones.iter().enumerate().take(8) {
                if zone.contains(y, z) {
                    mask |= 1 << k;
                }
            }
            if let Some(v) = self.gain.get_mut(p) {
                *v = e.gain;
            }
            if let Some(v) = self.offset.get_mut(p) {
                *v = e.offset_kev;
            }
            if let Some(v) = self.threshold.get_mut(p) {
                *v = if usable { thr } else { f32::INFINITY };
            }
            if let Some(v) = self.weight.get_mut(p) {
                *v = if usable { 1.0 / e.efficiency } else { 0.0 };
            }
            let (lut, edges) = self.pixel_tables(usable, e.gain, e.offset_kev, thr, n_edges);
            if let Some(v) = self.lut.get_mut(p) {
                *v = PixelLut { zones: mask, ..lut };
            }
            if let Some(v) = self.pha_edges.get_mut(p) {
                *v = edges;
            }
        }
    }

    /// The decision table of one pixel (zones left 0).
    fn pixel_tables(
        &self,
        usable: bool,
        gain: f32,
        offset: f32,
        thr: f32,
        n_edges: usize,
    ) -> (PixelLut, [u16; EDGES]) {
        let mut edges = [u16::MAX; EDGES];
        // Excluded exactly when the float decision says so: threshold +∞.
        if !usable || thr == f32::INFINITY {
            return (PixelLut::EXCLUDED, edges);
        }
        // Monotonic energy: finite gain > 0 (usable), finite offset.
        if !(gain.is_finite() && offset.is_finite()) {
            return (PixelLut { limit: 0, thr_pha: 0, zones: 0, mode: Mode::Float }, edges);
        }
        let lows = self.band_low.iter();
        let highs = self.band_high.iter();
        let kev = lows.zip(highs).flat_map(|(&l, &h)| [l, h]);
        let mut exact = [0u32; EDGES];
        for ((d, x), t) in exact.iter_mut().zip(kev).zip(edges.iter_mut()).take(n_edges) {
            *d = lowest_pha_not_below(gain, offset, x);
            *t = table_pha(*d);
        }
        // Counting the edges at or below the PHA decides like the loop over the bands only
        // if the edges are in order (sorted, non-overlapping bands: what validation asks).
        let sorted =
            exact.get(..n_edges).unwrap_or(&[]).windows(2).all(|w| matches!(w, [a, b] if a <= b));
        let (mode, limit) = if sorted { (Mode::Table, u16::MAX) } else { (Mode::Float, 0) };
        let thr_pha = table_pha(lowest_pha_not_below(gain, offset, thr));
        (PixelLut { limit, thr_pha, zones: 0, mode }, edges)
    }

    /// Shadowgram weight of each pixel: 1/efficiency, 0 for a pixel excluded from the trigger.
    pub fn weights(&self) -> &[f32; PIXELS] {
        &self.weight
    }

    /// The pixels imaged in a band whose low edge is `low_kev`: usable, and not blind over
    /// part of the band because of a raised threshold (a noisy pixel, masked below
    /// [`NOISY_MIN_KEV`], in a band starting below it). Such a pixel kept in the image would
    /// be a hole in the shadowgram (its counts are missing, its weight is not): along the
    /// heat pipes, two columns at each edge of the plane, that hole images as false sources in
    /// the partially coded field. Xie et al. 2024 ignore the noisy pixels' data in that band
    /// instead, which is this.
    pub fn active_for_band(&self, low_kev: f32, out: &mut [bool; PIXELS]) {
        for ((a, &w), &t) in out.iter_mut().zip(&self.weight).zip(&self.threshold) {
            *a = w > 0.0 && !(t >= NOISY_MIN_KEV && t > low_kev);
        }
    }

    /// Whether the pixel is used by the trigger.
    pub fn usable(&self, pixel: usize) -> bool {
        self.weight.get(pixel).is_some_and(|&w| w > 0.0)
    }

    /// Counters since configuration.
    pub fn stats(&self) -> DpixStats {
        self.stats
    }

    /// Adds a batch's decisions (counted with [`Counts::count`]) to the counters.
    pub fn add_counts(&mut self, c: &Counts) {
        let [a, m, x, b, o] = c.n;
        let s = &mut self.stats;
        s.accepted += a;
        s.multiple += m;
        s.excluded += x;
        s.below_threshold += b;
        s.out_of_band += o;
    }

    /// Decides one event of pixel `pixel` (80·Y + Z) like [`Dpix::classify`], without
    /// counting, by the PHA tables: the trigger's per-event path.
    #[inline(always)]
    pub fn decide(&self, pixel: usize, pha: u16, multiplicity: u8) -> Result<Hit, Reject> {
        if multiplicity > 1 {
            return Err(Reject::Multiple);
        }
        let (Some(lut), Some(edges)) = (self.lut.get(pixel), self.pha_edges.get(pixel)) else {
            return Err(Reject::Excluded);
        };
        if pha >= lut.limit {
            return self.decide_other(pixel, pha, multiplicity);
        }
        if pha < lut.thr_pha {
            return Err(Reject::BelowThreshold);
        }
        // Edges at or below the PHA: 2b + 1 inside band b, even between or beyond the bands.
        // Branch-free over eight edges at a time, which the compiler vectorises; the second
        // eight only with more than four bands.
        let (first, second) = edges.split_at(EDGES / 2);
        let mut k: u16 = first.iter().map(|&e| u16::from(e <= pha)).sum();
        if self.bands > EDGES / 4 {
            k += second.iter().map(|&e| u16::from(e <= pha)).sum::<u16>();
        }
        if k & 1 == 1 {
            Ok(Hit { band: (k >> 1) as u8, zones: lut.zones })
        } else {
            Err(Reject::OutOfBand)
        }
    }

    /// Classifies one event (Y and Z already checked below 80 by the stimulus codec).
    #[inline]
    pub fn process(
        &mut self,
        y: u8,
        z: u8,
        pha: u16,
        multiplicity: u8,
    ) -> Result<Accepted, Reject> {
        let r = self.classify(y, z, pha, multiplicity);
        match r {
            Ok(_) => self.stats.accepted += 1,
            Err(Reject::Multiple) => self.stats.multiple += 1,
            Err(Reject::Excluded) => self.stats.excluded += 1,
            Err(Reject::BelowThreshold) => self.stats.below_threshold += 1,
            Err(Reject::OutOfBand) => self.stats.out_of_band += 1,
        }
        r
    }

    /// As [`Dpix::process`], without counting.
    #[inline]
    pub fn classify(&self, y: u8, z: u8, pha: u16, multiplicity: u8) -> Result<Accepted, Reject> {
        let p = usize::from(y) * PLANE_SIDE + usize::from(z);
        let hit = self.decide(p, pha, multiplicity)?;
        let (g, o) =
            (self.gain.get(p).copied().unwrap_or(0.0), self.offset.get(p).copied().unwrap_or(0.0));
        Ok(Accepted {
            pixel: p as u16,
            band: hit.band,
            zones: hit.zones,
            sector: sector_of(usize::from(y), usize::from(z)) as u8,
            energy_kev: g * f32::from(pha) + o,
        })
    }

    /// [`Dpix::decide`] of what the PHA tables do not cover: an excluded pixel, else by the
    /// `f32` energy.
    #[inline(never)]
    fn decide_other(&self, pixel: usize, pha: u16, multiplicity: u8) -> Result<Hit, Reject> {
        if self.lut.get(pixel).is_none_or(|l| l.mode == Mode::Excluded) {
            return Err(Reject::Excluded);
        }
        let y = (pixel / PLANE_SIDE) as u8;
        let z = (pixel % PLANE_SIDE) as u8;
        self.classify_float(y, z, pha, multiplicity).map(|a| Hit { band: a.band, zones: a.zones })
    }

    /// The decision by the `f32` energy, as specified (the reference of the PHA tables).
    fn classify_float(&self, y: u8, z: u8, pha: u16, multiplicity: u8) -> Result<Accepted, Reject> {
        if multiplicity > 1 {
            return Err(Reject::Multiple);
        }
        let (y, z) = (usize::from(y), usize::from(z));
        let p = y * PLANE_SIDE + z;
        let thr = *self.threshold.get(p).ok_or(Reject::Excluded)?;
        if thr == f32::INFINITY {
            return Err(Reject::Excluded);
        }
        let (g, o) =
            (self.gain.get(p).copied().unwrap_or(0.0), self.offset.get(p).copied().unwrap_or(0.0));
        let e = g * f32::from(pha) + o;
        if e < thr {
            return Err(Reject::BelowThreshold);
        }
        let lows = self.band_low.get(..self.bands).unwrap_or(&[]);
        let highs = self.band_high.get(..self.bands).unwrap_or(&[]);
        for (b, (&lo, &hi)) in lows.iter().zip(highs).enumerate() {
            if e < lo {
                break;
            }
            if e < hi {
                return Ok(Accepted {
                    pixel: p as u16,
                    band: b as u8,
                    zones: self.lut.get(p).map_or(0, |l| l.zones),
                    sector: sector_of(y, z) as u8,
                    energy_kev: e,
                });
            }
        }
        Err(Reject::OutOfBand)
    }
}

impl Default for Dpix {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::boxed::Box;
    use tables::bands::Band;
    use tables::pixels::PixelTable;

    fn bands() -> BandTable {
        let mut b = BandTable::default();
        for (lo, hi) in [(5.0, 8.0), (8.0, 20.0), (20.0, 50.0), (60.0, 120.0)] {
            b.bands.push(Band { low_kev: lo, high_kev: hi }).unwrap();
        }
        b
    }

    fn dpix(table: &PixelTable) -> Box<Dpix> {
        let mut d = Box::new(Dpix::new());
        let zones = [
            Zone { y_min: 0, y_max: 79, z_min: 0, z_max: 79 },
            Zone { y_min: 0, y_max: 39, z_min: 0, z_max: 39 },
        ];
        d.configure(table, &bands(), &zones);
        d
    }

    #[test]
    fn band_assignment_follows_the_pixel_calibration() {
        let mut t = Box::new(PixelTable::default());
        // Pixel 0: nominal 0.145 keV/ch + 3.0 keV. Pixel 1: gain 0.2, offset -1.
        t.entries[1] = PixelEntry { gain: 0.2, offset_kev: -1.0, ..PixelEntry::NOMINAL };
        let mut d = dpix(&t);
        // 0.145 * 20 + 3 = 5.9 keV: band 0.
        assert_eq!(d.process(0, 0, 20, 1).map(|a| a.band), Ok(0));
        // 0.145 * 6 + 3 = 3.87 keV < 4 keV threshold.
        assert_eq!(d.process(0, 0, 6, 1), Err(Reject::BelowThreshold));
        // 0.145 * 8 + 3 = 4.16 keV: above threshold, below the first band.
        assert_eq!(d.process(0, 0, 8, 1), Err(Reject::OutOfBand));
        // Pixel 1: 0.2 * 45 - 1 = 8.0 keV exactly: band 1 (bands are [low, high)).
        assert_eq!(d.process(0, 1, 45, 1).map(|a| a.band), Ok(1));
        // 0.2 * 280 - 1 = 55 keV: in the gap between 50 and 60 keV.
        assert_eq!(d.process(0, 1, 280, 1), Err(Reject::OutOfBand));
        assert_eq!(d.process(0, 1, 400, 1).map(|a| a.band), Ok(3));
        assert_eq!(d.process(0, 0, 200, 2), Err(Reject::Multiple));
        let s = d.stats();
        assert_eq!((s.accepted, s.below_threshold, s.out_of_band, s.multiple), (3, 1, 2, 1));
    }

    #[test]
    fn status_efficiency_and_zones() {
        let mut t = Box::new(PixelTable::default());
        t.entries[2] = PixelEntry { status: PixelStatus::Dead, ..PixelEntry::NOMINAL };
        t.entries[3] = PixelEntry { status: PixelStatus::HighThreshold, ..PixelEntry::NOMINAL };
        t.entries[4] = PixelEntry { status: PixelStatus::Noisy, ..PixelEntry::NOMINAL };
        t.entries[5] = PixelEntry { efficiency: 0.5, ..PixelEntry::NOMINAL };
        let mut d = dpix(&t);
        assert_eq!(d.process(0, 2, 200, 1), Err(Reject::Excluded));
        assert_eq!(d.process(0, 3, 200, 1), Err(Reject::Excluded));
        // Noisy: 0.145 * 20 + 3 = 5.9 keV is below 8 keV; 0.145 * 50 + 3 = 10.25 keV passes.
        assert_eq!(d.process(0, 4, 20, 1), Err(Reject::BelowThreshold));
        assert!(d.process(0, 4, 50, 1).is_ok());
        assert_eq!(d.weights()[5], 2.0);
        assert_eq!(d.weights()[2], 0.0);
        assert_eq!(d.weights()[0], 1.0);
        assert_eq!(d.process(0, 0, 50, 1).unwrap().zones, 0b11);
        let a = d.process(79, 79, 50, 1).unwrap();
        assert_eq!((a.zones, a.sector, a.pixel), (0b01, 7, 6399));
    }

    #[test]
    fn noisy_pixels_leave_the_images_of_bands_starting_below_8_kev() {
        let mut t = Box::new(PixelTable::default());
        t.entries[2] = PixelEntry { status: PixelStatus::Dead, ..PixelEntry::NOMINAL };
        t.entries[4] = PixelEntry { status: PixelStatus::Noisy, ..PixelEntry::NOMINAL };
        t.entries[6] =
            PixelEntry { status: PixelStatus::Noisy, threshold_kev: 9.0, ..PixelEntry::NOMINAL };
        t.entries[7] = PixelEntry { threshold_kev: 8.5, ..PixelEntry::NOMINAL };
        let d = dpix(&t);
        let mut a = [true; PIXELS];
        d.active_for_band(5.0, &mut a);
        assert_eq!(&a[..8], &[true, true, false, true, false, true, false, false]);
        assert_eq!(a.iter().filter(|&&x| x).count(), PIXELS - 4);
        // From 8 keV the noisy pixel counts over the whole band: imaged; not the one from 9.
        d.active_for_band(8.0, &mut a);
        assert_eq!(&a[..8], &[true, true, false, true, true, true, false, false]);
        d.active_for_band(20.0, &mut a);
        assert_eq!(&a[..8], &[true, true, false, true, true, true, true, true]);
        // Every usable pixel is imaged in a band where no threshold is raised.
        for (k, &x) in a.iter().enumerate() {
            assert_eq!(x, d.usable(k), "pixel {k}");
        }
    }

    /// Every pixel × every PHA of `phas`: the PHA tables decide exactly like the `f32`
    /// energy.
    fn assert_tables_match_the_float_decision(d: &Dpix, phas: impl Iterator<Item = u16> + Clone) {
        for p in 0..PIXELS {
            let (y, z) = ((p / PLANE_SIDE) as u8, (p % PLANE_SIDE) as u8);
            for pha in phas.clone() {
                let want = d.classify_float(y, z, pha, 1);
                let got = d.classify(y, z, pha, 1);
                assert_eq!(got, want, "pixel {p} PHA {pha}");
            }
        }
    }

    /// Calibrations of every kind, one per pixel (a fixed pseudo-random draw): nominal,
    /// spread gains and offsets, thresholds on and off the band edges, noisy, dead,
    /// zero-efficiency, extreme and non-finite gains and offsets (the float fallback).
    fn varied_pixels() -> Box<PixelTable> {
        let mut t = Box::new(PixelTable::default());
        let mut r = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            r ^= r << 13;
            r ^= r >> 7;
            r ^= r << 17;
            r
        };
        for e in t.entries.iter_mut() {
            let u = (next() >> 40) as f32 / (1u64 << 24) as f32;
            let k = next() % 40;
            *e = match k {
                0 => PixelEntry { status: PixelStatus::Dead, ..PixelEntry::NOMINAL },
                1 => PixelEntry { status: PixelStatus::Noisy, ..PixelEntry::NOMINAL },
                2 => PixelEntry { efficiency: 0.0, ..PixelEntry::NOMINAL },
                3 => PixelEntry { gain: 1e-6 + u, offset_kev: -50.0 * u, ..PixelEntry::NOMINAL },
                4 => PixelEntry { gain: 1e30, ..PixelEntry::NOMINAL },
                5 => PixelEntry { gain: f32::INFINITY, ..PixelEntry::NOMINAL },
                6 => PixelEntry { offset_kev: f32::NAN, ..PixelEntry::NOMINAL },
                7 => PixelEntry { threshold_kev: f32::NAN, ..PixelEntry::NOMINAL },
                8 => PixelEntry { threshold_kev: f32::INFINITY, ..PixelEntry::NOMINAL },
                9 => PixelEntry {
                    gain: 0.2,
                    offset_kev: -1.0,
                    threshold_kev: 8.0,
                    ..PixelEntry::NOMINAL
                },
                10 => PixelEntry {
                    gain: 0.1,
                    offset_kev: 0.0,
                    threshold_kev: 20.0,
                    ..PixelEntry::NOMINAL
                },
                _ => PixelEntry {
                    status: if k % 7 == 0 { PixelStatus::Noisy } else { PixelStatus::Ok },
                    gain: 0.145 * (0.8 + 0.4 * u),
                    offset_kev: 3.0 + 2.0 * (u - 0.5),
                    threshold_kev: 2.0 + 8.0 * u,
                    efficiency: 0.5 + u,
                },
            };
        }
        t
    }

    #[test]
    fn pha_tables_equal_the_float_decision_for_every_pixel_and_pha() {
        // The default tables, then varied calibrations with the bands of these tests (a gap
        // between 50 and 60 keV) and with eight bands: every u16 PHA. Bands out of order or
        // empty (a table validation refuses them; the float decision takes over) on PHAs
        // around the codec's range and the top one.
        let set = tables::defaults::default_set();
        let mut d = Box::new(Dpix::new());
        d.configure(&*set.pixels, &set.bands, &set.crt.zones);
        assert_tables_match_the_float_decision(&d, 0..=u16::MAX);
        let varied = varied_pixels();
        let mut eight = BandTable::default();
        for k in 0..8 {
            let lo = 4.0 + 15.0 * k as f32;
            eight.bands.push(Band { low_kev: lo, high_kev: lo + 15.0 }).unwrap();
        }
        let zones = [Zone { y_min: 10, y_max: 50, z_min: 0, z_max: 39 }];
        for b in [bands(), eight] {
            let mut d = Box::new(Dpix::new());
            d.configure(&*varied, &b, &zones);
            assert_tables_match_the_float_decision(&d, 0..=u16::MAX);
        }
        let mut disordered = BandTable::default();
        for (lo, hi) in [(20.0, 50.0), (5.0, 8.0), (8.0, 8.0), (60.0, 40.0)] {
            disordered.bands.push(Band { low_kev: lo, high_kev: hi }).unwrap();
        }
        let mut d = Box::new(Dpix::new());
        d.configure(&*varied, &disordered, &zones);
        assert_tables_match_the_float_decision(&d, (0..2048).chain(65_530..=u16::MAX));
        // Every mode is exercised.
        let mut d = Box::new(Dpix::new());
        d.configure(&*varied, &bands(), &zones);
        for m in [Mode::Excluded, Mode::Table, Mode::Float] {
            assert!(d.lut.iter().any(|l| l.mode == m), "{m:?}");
        }
    }

    #[test]
    fn batch_counts_equal_per_event_counts() {
        let t = varied_pixels();
        let mut a = dpix(&t);
        let mut b = dpix(&t);
        let mut counts = Counts::default();
        for k in 0..20_000u32 {
            let (y, z) = ((k * 7 % 80) as u8, (k * 13 % 80) as u8);
            let (pha, m) = ((k * 37 % 1100) as u16, (k % 5) as u8);
            let _ = a.process(y, z, pha, m);
            counts.count(&b.decide(usize::from(y) * PLANE_SIDE + usize::from(z), pha, m));
        }
        b.add_counts(&counts);
        assert_eq!(a.stats(), b.stats());
    }

    #[test]
    fn module_and_sector_map() {
        let mut per_module = [0; MODULES];
        let mut modules_per_sector = [[false; MODULES]; SECTORS];
        for y in 0..80 {
            for z in 0..80 {
                per_module[module_of(y, z)] += 1;
                modules_per_sector[sector_of(y, z)][module_of(y, z)] = true;
            }
        }
        assert!(per_module.iter().all(|&n| n == 32));
        for s in modules_per_sector {
            assert_eq!(s.iter().filter(|&&m| m).count(), 25);
        }
        for (p, &s) in SECTOR_OF_PIXEL.iter().enumerate() {
            assert_eq!(usize::from(s), sector_of(p / PLANE_SIDE, p % PLANE_SIDE));
        }
    }
}
