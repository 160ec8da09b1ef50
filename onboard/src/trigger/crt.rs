//! CRT: the Count-Rate Trigger, per the active CRT table.
//!
//! ```text
//! accepted event ─► bin being filled: counts per (trigger band, zone) ─┐ every 10 ms of event time
//!       │                                                              ▼
//!       │                     bin counts ring (2 049 bins) ─► running sums N per timescale: O(1)
//!       │                     0.64-s background bins ─► running moment sums ─► polynomial fit
//!       │                                                              ▼
//!       │                      rate SNR = (N − B)/√B per (timescale, band, zone) ≥ rate_snr?
//!       ▼                                                              ▼ best candidate
//! event ring (pixel, band) ──────────────► shadowgram of the window − scaled background ─► image
//! ```
//!
//! - **Series.** Counts are kept per (trigger band, zone) — a trigger band is a range of
//!   elementary bands, so one event increments every trigger band containing its band, in
//!   every zone containing its pixel — plus one hidden whole-plane series per trigger band,
//!   which scales the background of excess images.
//! - **Windows.** A timescale of L base bins is tested on the window of the last L bins, every
//!   `max(1, L/4)` bins (consecutive windows overlap by three quarters), from the moment L bins
//!   and the background window have been seen.
//! - **Background.** Counts are also summed into 0.64-s background bins
//!   ([`CRT_BKG_BIN_BINS`]). The background of a test of timescale L at bin k is the
//!   least-squares polynomial of the table's order fitted to the `window_ms` (whole background
//!   bins, at least order + 2) that end before `k + 1 − L − gap`: the tested window and the gap
//!   before it are excluded, and each timescale extrapolates only over its own gap and window
//!   (one fit per timescale). The fit's moment sums Σn, Σn·j, Σn·j² slide by one bin in
//!   O(1) with exact integer updates, and the normal matrix depends only on the window length,
//!   so its inverse is computed once at configuration: a fit is nine multiplications, a test
//!   is the polynomial's integral over the tested window. Tests with fewer than
//!   [`MIN_BKG_COUNTS`] expected counts are skipped (the Gaussian SNR means nothing there).
//! - **Test.** The rate SNR is (N − B)/√(B + σ_B²) against the table's `rate_snr`, where
//!   σ_B² = σ²·gᵀM⁻¹g is the variance of the fitted prediction (g: integrals of the basis over
//!   the window, σ²: Poisson variance of a background bin): the (N − B)/√B of the issue when
//!   the window is short, but extrapolating a quadratic 20 s ahead over a 20-s window carries
//!   an error of several √B that the plain formula would read as excesses. At small counts the
//!   Poisson tail is far heavier than the Gaussian one (B = 1: N ≥ 7 passes 6 σ one time in
//!   10⁴), so a test also needs the Anscombe significance 2(√(N + 3/8) − √(B + 3/8)) to pass the
//!   same threshold; the two agree for large counts. Without this, 10-ms windows of a quadrant
//!   raise about one false excess per second of background, each costing an image.
//! - **Candidates.** Of the tests passing `rate_snr` at a bin, the one with the highest rate
//!   SNR is imaged, if no excess was imaged in the last [`CRT_IMAGE_SPACING_BINS`] bins and
//!   its timescale (L bins) was not imaged in the last max(L/2, 10) bins: a long excess is
//!   imaged on half-overlapping windows of each timescale, not at every bin.
//! - **Excess image.** [`Crt::excess_shadowgram`] sums, for the candidate's trigger band, the
//!   events of its window from the event ring ([`CRT_EVENT_RING`] entries of pixel and band),
//!   minus the expected background B_plane (whole-plane series) spread over the pixels like
//!   the counts of the last complete 20.48-s block ([`CRT_SHAPE_BLOCK_BINS`]), each pixel
//!   weighted by 1/efficiency.

use libm::sqrt;
use tables::crt::CrtTable;
use tables::pixels::PIXELS;
use tables::{MAX_BANDS, MAX_TIMESCALES, MAX_TRIGGER_BANDS, MAX_ZONES};

use super::dpix::Accepted;
use crate::limits::{
    CRT_BIN_TICKS, CRT_BKG_BIN_BINS, CRT_BKG_HISTORY, CRT_EVENT_RING, CRT_HISTORY_BINS,
    CRT_IMAGE_SPACING_BINS, CRT_SHAPE_BLOCK_BINS,
};

/// Series per trigger band: the zones and the hidden whole plane.
const ZONE_SLOTS: usize = MAX_ZONES + 1;
/// (Elementary band, zone mask) cells counted per event: 256 zone masks per band.
const CELLS: usize = MAX_BANDS * 256;
const _: () = assert!(CELLS <= u16::MAX as usize, "cell indices are u16");
/// Count series: (trigger band, zone or whole plane).
pub const SERIES: usize = MAX_TRIGGER_BANDS * ZONE_SLOTS;
const _: () = assert!(SERIES <= 64 && MAX_ZONES <= 8, "series masks are u64, zone masks u8");
/// Least expected background counts for a rate test.
pub const MIN_BKG_COUNTS: f64 = 1.0;

/// One series' rate test before the square roots: whether it is tested (B ≥
/// [`MIN_BKG_COUNTS`]) and whether it needs the square roots (N > B and `(N − B)² ≥ reject·V`),
/// for the fit coefficients, σ² and rejection factor `[c0, c1, c2, σ², reject]`, the basis
/// integrals `g`, `q` and the window count `n`.
// Negated comparisons on purpose: a NaN background is tested and goes on to the square
// roots exactly as in the test written series by series.
#[allow(clippy::neg_cmp_op_on_partial_ord)]
#[inline(always)]
fn lane_test(g: [f64; 3], q: f64, [c0, c1, c2, sigma2, reject]: [f64; 5], n: u32) -> (bool, bool) {
    let b = c0 * g[0] + c1 * g[1] + c2 * g[2];
    let nf = f64::from(n);
    let d = nf - b;
    let v = b + sigma2 * q;
    let test = !(b < MIN_BKG_COUNTS);
    (test, test & !(nf <= b) & !(d * d < reject * v))
}

/// A rate excess worth imaging.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Candidate {
    /// Index of the timescale in the CRT table.
    pub timescale: usize,
    /// Window length, base bins.
    pub bins: u64,
    /// Index of the trigger band in the CRT table.
    pub band: usize,
    /// Index of the zone in the CRT table.
    pub zone: usize,
    /// First base bin of the window (absolute index since the epoch).
    pub first_bin: u64,
    /// Last base bin of the window, inclusive.
    pub last_bin: u64,
    /// Counts in the window (trigger band, zone).
    pub counts: u32,
    /// Expected background counts.
    pub background: f64,
    /// Rate SNR, σ.
    pub rate_snr: f32,
}

impl Candidate {
    /// Window start, ticks.
    pub fn start_tick(&self) -> u64 {
        self.first_bin * CRT_BIN_TICKS
    }

    /// Window end (exclusive), ticks.
    pub fn end_tick(&self) -> u64 {
        (self.last_bin + 1).saturating_mul(CRT_BIN_TICKS)
    }
}

/// Counters of the CRT.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CrtStats {
    /// Base bins closed.
    pub bins: u64,
    /// Rate tests made.
    pub tests: u64,
    /// Rate tests passing their threshold.
    pub excesses: u64,
    /// Excess windows imaged.
    pub images: u64,
    /// Excess images whose window had lost events from the ring.
    pub truncated_windows: u64,
}

/// The Count-Rate Trigger state (fixed memory, about 1 MiB: see `docs/trigger.md`).
#[derive(Clone, Debug)]
pub struct Crt {
    // --- configuration ---
    n_bands: usize,
    n_zones: usize,
    /// First and last elementary band of each trigger band.
    tb_range: [(u8, u8); MAX_TRIGGER_BANDS],
    ts_bins: [u64; MAX_TIMESCALES],
    ts_snr: [[f32; MAX_TRIGGER_BANDS]; MAX_TIMESCALES],
    /// Per timescale and series: the rate threshold (0 for a series not tested), and
    /// thr²·(1 − 10⁻⁶) for the exact early rejection of [`Crt::test`] (−1: none).
    series_thr: [[f64; SERIES]; MAX_TIMESCALES],
    series_reject: [[f64; SERIES]; MAX_TIMESCALES],
    /// Series tested (the zone series of the bands in use, the first ones): n_bands·n_zones.
    lanes: usize,
    n_ts: usize,
    longest: u64,
    gap_bins: u64,
    /// Background window, background bins.
    window: usize,
    order: usize,
    /// Inverse normal matrix of the fit.
    inv: [[f64; 3]; 3],
    /// Series in use: trigger bands × (zones + whole plane), numbered densely (see
    /// [`Crt::series`]): the zone series first, `t·n_zones + z`, then the whole planes.
    n_series: usize,
    // --- state ---
    /// Absolute index of the bin being filled; `None` before the first event or tick.
    bin: Option<u64>,
    /// First bin fully seen.
    first_bin: u64,
    current: [u32; SERIES],
    /// Events of the bin being filled per (elementary band, zone mask) cell, index
    /// `band·256 + zones`: counted per event, spread over the series once per bin.
    cells: [u32; CELLS],
    /// The cells of `cells` not zero, in the order they were first hit, and how many.
    touched: [u16; CELLS],
    n_touched: u16,
    /// Counts of each bin (saturating), ring indexed by bin.
    bins: [[u16; SERIES]; CRT_HISTORY_BINS],
    /// Running sums of the last L bins, per timescale.
    window_sums: [[u32; SERIES]; MAX_TIMESCALES],
    /// The background bin being filled.
    coarse: [u32; SERIES],
    /// Event ring position at the start of each bin.
    bin_start: [u64; CRT_HISTORY_BINS],
    /// Background bins (saturating), ring indexed by background bin.
    bkg_bins: [[u16; SERIES]; CRT_BKG_HISTORY],
    /// Last background bin entered into the fit window, and how many are in it.
    /// One background fit per timescale, each ending before its own windows.
    fits: [Fit; MAX_TIMESCALES],
    events: [u16; CRT_EVENT_RING],
    events_in: u64,
    shape_now: [u16; PIXELS],
    shape: [u16; PIXELS],
    shape_sum: u64,
    shape_block: u64,
    last_image_bin: Option<u64>,
    /// Last bin imaged per timescale.
    last_image_ts: [Option<u64>; MAX_TIMESCALES],
    stats: CrtStats,
}

/// A sliding background fit: moment sums Σn, Σn·j, Σn·j² of the background bins in its
/// window (j = 0 the oldest) and the fitted coefficients, per series.
#[derive(Clone, Copy, Debug)]
struct Fit {
    /// Last background bin in the window.
    last: Option<u64>,
    /// Background bins in the window (up to the window length).
    filled: usize,
    moments: [[i64; 3]; SERIES],
    /// Coefficients of order 0, 1, 2, each over the series (a row per order: the tests
    /// evaluate every series at once).
    coef: [[f64; SERIES]; 3],
    /// Poisson variance of a background bin (its mean count, Σn / window), set with `coef`.
    sigma2: [f64; SERIES],
}

impl Fit {
    const EMPTY: Fit = Fit {
        last: None,
        filled: 0,
        moments: [[0; 3]; SERIES],
        coef: [[0.0; SERIES]; 3],
        sigma2: [0.0; SERIES],
    };
}

/// Solves the normal equations' inverse for polynomial order `order` over `j = 0..n`.
// Fixed 3 × 6 arrays indexed below `order + 1 <= 3` and `r + c <= 4 < 5`.
#[allow(clippy::indexing_slicing, clippy::needless_range_loop, clippy::manual_memcpy)]
fn normal_inverse(n: usize, order: usize) -> [[f64; 3]; 3] {
    let m = order + 1;
    let mut p = [0f64; 5];
    for j in 0..n {
        let x = j as f64;
        let mut v = 1.0;
        for s in &mut p {
            *s += v;
            v *= x;
        }
    }
    // Augmented [M | I], Gauss-Jordan with partial pivoting (m <= 3).
    let mut a = [[0f64; 6]; 3];
    for r in 0..m {
        for c in 0..m {
            a[r][c] = p[r + c];
        }
        a[r][3 + r] = 1.0;
    }
    for c in 0..m {
        let mut piv = c;
        for r in c + 1..m {
            if a[r][c].abs() > a[piv][c].abs() {
                piv = r;
            }
        }
        a.swap(c, piv);
        let d = a[c][c];
        if d == 0.0 {
            return [[0.0; 3]; 3];
        }
        for v in &mut a[c] {
            *v /= d;
        }
        for r in 0..m {
            if r != c {
                let f = a[r][c];
                let row = a[c];
                for (v, w) in a[r].iter_mut().zip(row) {
                    *v -= f * w;
                }
            }
        }
    }
    let mut inv = [[0f64; 3]; 3];
    for r in 0..m {
        for c in 0..m {
            inv[r][c] = a[r][3 + c];
        }
    }
    inv
}

#[allow(clippy::indexing_slicing)] // every index below is reduced modulo its array's length
impl Crt {
    /// An unconfigured CRT (tests nothing).
    pub const fn new() -> Self {
        Crt {
            n_bands: 0,
            n_zones: 0,
            tb_range: [(0, 0); MAX_TRIGGER_BANDS],
            ts_bins: [0; MAX_TIMESCALES],
            ts_snr: [[0.0; MAX_TRIGGER_BANDS]; MAX_TIMESCALES],
            series_thr: [[0.0; SERIES]; MAX_TIMESCALES],
            series_reject: [[-1.0; SERIES]; MAX_TIMESCALES],
            lanes: 0,
            n_ts: 0,
            longest: 0,
            gap_bins: 0,
            window: 0,
            order: 0,
            inv: [[0.0; 3]; 3],
            n_series: 0,
            bin: None,
            first_bin: 0,
            current: [0; SERIES],
            cells: [0; CELLS],
            touched: [0; CELLS],
            n_touched: 0,
            bins: [[0; SERIES]; CRT_HISTORY_BINS],
            window_sums: [[0; SERIES]; MAX_TIMESCALES],
            coarse: [0; SERIES],
            bin_start: [0; CRT_HISTORY_BINS],
            bkg_bins: [[0; SERIES]; CRT_BKG_HISTORY],
            fits: [Fit::EMPTY; MAX_TIMESCALES],
            events: [0; CRT_EVENT_RING],
            events_in: 0,
            shape_now: [0; PIXELS],
            shape: [0; PIXELS],
            shape_sum: 0,
            shape_block: 0,
            last_image_bin: None,
            last_image_ts: [None; MAX_TIMESCALES],
            stats: CrtStats { bins: 0, tests: 0, excesses: 0, images: 0, truncated_windows: 0 },
        }
    }

    /// Takes the CRT table (already validated against the band table) and restarts.
    pub fn configure(&mut self, table: &CrtTable) {
        self.n_bands = table.bands.len().min(MAX_TRIGGER_BANDS);
        self.n_zones = table.zones.len().min(MAX_ZONES);
        for (t, tb) in table.bands.iter().enumerate().take(MAX_TRIGGER_BANDS) {
            self.tb_range[t] = (tb.first, tb.last);
        }
        self.n_series = self.n_bands * (self.n_zones + 1);
        self.n_ts = table.timescales.len().min(MAX_TIMESCALES);
        self.longest = 1;
        for (i, ts) in table.timescales.iter().enumerate().take(MAX_TIMESCALES) {
            let bins = u64::from(ts.duration_ms / 10).clamp(1, (CRT_HISTORY_BINS - 1) as u64);
            self.ts_bins[i] = bins;
            self.longest = self.longest.max(bins);
            for (t, s) in ts.rate_snr.iter().enumerate().take(MAX_TRIGGER_BANDS) {
                self.ts_snr[i][t] = *s;
            }
        }
        self.lanes = self.n_bands * self.n_zones;
        self.series_thr = [[0.0; SERIES]; MAX_TIMESCALES];
        self.series_reject = [[-1.0; SERIES]; MAX_TIMESCALES];
        for t in 0..self.n_bands {
            for z in 0..self.n_zones {
                let s = t * self.n_zones + z;
                for i in 0..self.n_ts {
                    let thr = f64::from(self.ts_snr[i][t]);
                    self.series_thr[i][s] = thr;
                    // Exact early rejection: with d = N − B > 0 and v = B + σ_B² ≥ 1, a test
                    // passes only if d/√v ≥ thr. If d² < thr²·v·(1 − 10⁻⁶), then d/√v is
                    // below thr by more than 10⁻⁷ relative, far beyond the few rounding errors
                    // (~10⁻¹⁵) of the SNR as computed: that test fails, no square root needed.
                    if thr > 0.0 && thr.is_finite() {
                        self.series_reject[i][s] = thr * thr * (1.0 - 1e-6);
                    }
                }
            }
        }
        self.gap_bins = u64::from(table.background.gap_ms / 10);
        self.order = usize::from(table.background.order.min(2));
        let coarse_ms = 10 * CRT_BKG_BIN_BINS as u32;
        let max_window =
            CRT_BKG_HISTORY - 2 - ((self.longest + self.gap_bins) / CRT_BKG_BIN_BINS) as usize;
        self.window =
            ((table.background.window_ms / coarse_ms) as usize).max(self.order + 2).min(max_window);
        self.inv = normal_inverse(self.window, self.order);
        self.reset();
    }

    /// Forgets all history (after the SAA, when disabled): the CRT re-arms once the
    /// background window and the longest timescale have been seen again.
    pub fn reset(&mut self) {
        self.bin = None;
        self.current = [0; SERIES];
        self.cells = [0; CELLS];
        self.n_touched = 0;
        self.bins = [[0; SERIES]; CRT_HISTORY_BINS];
        self.window_sums = [[0; SERIES]; MAX_TIMESCALES];
        self.coarse = [0; SERIES];
        self.fits = [Fit::EMPTY; MAX_TIMESCALES];
        self.shape_now = [0; PIXELS];
        self.shape_sum = 0;
        self.last_image_bin = None;
        self.last_image_ts = [None; MAX_TIMESCALES];
    }

    /// Counters.
    pub fn stats(&self) -> CrtStats {
        self.stats
    }

    /// First tick at which [`Crt::advance`] has a bin to close (0 before the first call).
    pub fn next_boundary(&self) -> u64 {
        self.bin.map_or(0, |b| (b + 1).saturating_mul(CRT_BIN_TICKS))
    }

    /// Event time that must be seen before the CRT tests anything, ticks.
    pub fn arming_ticks(&self) -> u64 {
        (self.longest + self.gap_bins + (self.window as u64 + 2) * CRT_BKG_BIN_BINS) * CRT_BIN_TICKS
    }

    /// Index of the series of trigger band `tb`, zone `zone` (or [`MAX_ZONES`]: the whole
    /// plane): dense, so that the tested series are the first `n_bands·n_zones`.
    fn series(&self, tb: usize, zone: usize) -> usize {
        if zone >= MAX_ZONES { self.n_bands * self.n_zones + tb } else { tb * self.n_zones + zone }
    }

    /// Counts one accepted event (its bin already current: see [`Crt::advance`]).
    #[inline]
    pub fn add(&mut self, e: &Accepted) {
        self.count(e.pixel, e.band, e.zones);
    }

    /// [`Crt::add`] of an event of pixel `pixel` (below [`PIXELS`]), elementary band `band`,
    /// zone mask `zones`.
    #[inline]
    pub fn count(&mut self, pixel: u16, band: u8, zones: u8) {
        if self.bin.is_none() {
            return;
        }
        // Counted in its (band, zones) cell; the cell's series (its zones and the whole
        // plane of every trigger band containing its band) get the cell's count when the bin
        // closes (`spread_cells`): the same sums, one increment per event.
        let cell = (usize::from(band) % MAX_BANDS) * 256 + usize::from(zones);
        if let Some(c) = self.cells.get_mut(cell) {
            if *c == 0
                && let Some(t) = self.touched.get_mut(usize::from(self.n_touched))
            {
                *t = cell as u16;
                self.n_touched += 1;
            }
            *c += 1;
        }
        self.events[(self.events_in % CRT_EVENT_RING as u64) as usize] =
            (pixel & 0x1FFF) | (u16::from(band) << 13);
        self.events_in += 1;
        if let Some(n) = self.shape_now.get_mut(usize::from(pixel)) {
            *n = n.saturating_add(1);
        }
    }

    /// Brings the CRT to event time `tick`, closing every bin that ended before it; `on_bin`
    /// is called after each closed bin with the best candidate of that bin, if any (the caller
    /// images it and decides). Bins are closed in order, so the same events give the same
    /// candidates however they are batched.
    pub fn advance(&mut self, tick: u64, on_candidate: &mut dyn FnMut(&Self, Candidate)) {
        let target = tick / CRT_BIN_TICKS;
        let Some(mut bin) = self.bin else {
            self.bin = Some(target);
            // The first bin may be partial: the first complete one is the next.
            self.first_bin = target + 1;
            self.bin_start[(target % CRT_HISTORY_BINS as u64) as usize] = self.events_in;
            return;
        };
        while bin < target {
            let best = self.close_bin(bin);
            bin += 1;
            self.bin = Some(bin);
            self.bin_start[(bin % CRT_HISTORY_BINS as u64) as usize] = self.events_in;
            if let Some(c) = best {
                self.last_image_bin = Some(c.last_bin);
                self.last_image_ts[c.timescale % MAX_TIMESCALES] = Some(c.last_bin);
                self.stats.images += 1;
                on_candidate(self, c);
            }
            // A long empty stretch: nothing can be tested across it until the history and
            // the background are rebuilt, so jump instead of closing every empty bin.
            if target - bin
                > self.longest + self.gap_bins + (self.window as u64 + 2) * CRT_BKG_BIN_BINS
            {
                self.reset();
                self.bin = Some(target);
                self.first_bin = target + 1;
                self.bin_start[(target % CRT_HISTORY_BINS as u64) as usize] = self.events_in;
                return;
            }
        }
    }

    /// Adds the bin's per-cell counts to its series counts and clears the cells: first per
    /// elementary band into its zones and the whole plane (one add per zone of the cell's
    /// mask), then each trigger band adds the rows of its elementary bands (a row add per
    /// band, not a series walk per cell). The same integer sums.
    fn spread_cells(&mut self) {
        let mut per_band = [[0u32; ZONE_SLOTS]; MAX_BANDS];
        let mut bands_hit = 0u16;
        let n = usize::from(self.n_touched);
        for &cell in self.touched.iter().take(n) {
            let cell = usize::from(cell);
            let Some(c) = self.cells.get_mut(cell) else { continue };
            let count = core::mem::take(c);
            let band = (cell / 256) % MAX_BANDS;
            let mut zones = cell % 256;
            let row = &mut per_band[band];
            bands_hit |= 1 << band;
            row[MAX_ZONES] = row[MAX_ZONES].wrapping_add(count);
            while zones != 0 {
                let z = zones.trailing_zeros() as usize % ZONE_SLOTS;
                zones &= zones - 1;
                row[z] = row[z].wrapping_add(count);
            }
        }
        self.n_touched = 0;
        if bands_hit == 0 {
            return;
        }
        let mut per_tb = [[0u32; ZONE_SLOTS]; MAX_TRIGGER_BANDS];
        for (tb, &(first, last)) in per_tb.iter_mut().zip(&self.tb_range).take(self.n_bands) {
            let (first, last) = (usize::from(first), usize::from(last));
            for (b, row) in per_band.iter().enumerate().take(last + 1).skip(first) {
                if bands_hit & (1 << b) != 0 {
                    for (c, &v) in tb.iter_mut().zip(row) {
                        *c = c.wrapping_add(v);
                    }
                }
            }
        }
        let (nz, planes) = (self.n_zones, self.n_bands * self.n_zones);
        for (t, row) in per_tb.iter().enumerate().take(self.n_bands) {
            for (z, &v) in row.iter().enumerate().take(nz) {
                if let Some(c) = self.current.get_mut(t * nz + z) {
                    *c = c.wrapping_add(v);
                }
            }
            if let Some(c) = self.current.get_mut(planes + t) {
                *c = c.wrapping_add(row[MAX_ZONES]);
            }
        }
    }

    fn close_bin(&mut self, k: u64) -> Option<Candidate> {
        self.stats.bins += 1;
        self.spread_cells();
        let slot = (k % CRT_HISTORY_BINS as u64) as usize;
        // Running window sums: the bin entering, the bin L back leaving (zero before the
        // first bin: `reset` clears the ring). Over every series slot, not only the used
        // ones: whole rows, so that the loops vectorise (an unused slot only ever adds
        // zeros; no test reads it).
        let ns = self.n_series.min(SERIES);
        let entering = self.current.map(|n| n.min(u32::from(u16::MAX)));
        let entering = &entering[..ns];
        for i in 0..self.n_ts {
            let l = self.ts_bins[i];
            let w = &mut self.window_sums[i][..ns];
            match k.checked_sub(l) {
                Some(b) => {
                    let out = &self.bins[(b % CRT_HISTORY_BINS as u64) as usize];
                    for ((w, &n), &o) in w.iter_mut().zip(entering).zip(out) {
                        *w = w.wrapping_add(n).wrapping_sub(u32::from(o));
                    }
                }
                None => {
                    for (w, &n) in w.iter_mut().zip(entering) {
                        *w = w.wrapping_add(n);
                    }
                }
            }
        }
        let row = self.bins[slot][..ns].iter_mut().zip(self.coarse[..ns].iter_mut());
        for ((b, c), &n) in row.zip(&self.current[..ns]) {
            *b = n.min(u32::from(u16::MAX)) as u16;
            *c = c.saturating_add(n);
        }
        self.current = [0; SERIES];
        if k < self.first_bin {
            return None;
        }
        // Shape block.
        if (k + 1).is_multiple_of(CRT_SHAPE_BLOCK_BINS) {
            if k + 1 >= self.first_bin + CRT_SHAPE_BLOCK_BINS {
                self.shape = self.shape_now;
                self.shape_sum = self.shape.iter().map(|&v| u64::from(v)).sum();
                self.shape_block = k / CRT_SHAPE_BLOCK_BINS;
            }
            self.shape_now = [0; PIXELS];
        }
        // Background bin complete?
        if (k + 1).is_multiple_of(CRT_BKG_BIN_BINS) {
            if k + 1 >= self.first_bin + CRT_BKG_BIN_BINS {
                let c = k / CRT_BKG_BIN_BINS;
                let cs = (c % CRT_BKG_HISTORY as u64) as usize;
                for s in 0..self.n_series {
                    self.bkg_bins[cs][s] = u16::try_from(self.coarse[s]).unwrap_or(u16::MAX);
                }
            }
            self.coarse = [0; SERIES];
        }
        self.slide_fit(k);
        self.test(k)
    }

    /// Moves each timescale's fit window so that it ends before `k + 1 − L − gap`.
    fn slide_fit(&mut self, k: u64) {
        for i in 0..self.n_ts {
            let l = self.ts_bins[i];
            let Some(edge) = (k + 1).checked_sub(l + self.gap_bins) else { continue };
            // Last background bin wholly before `edge`.
            let Some(want) = (edge / CRT_BKG_BIN_BINS).checked_sub(1) else { continue };
            // Only background bins seen whole can enter.
            if want * CRT_BKG_BIN_BINS < self.first_bin {
                continue;
            }
            let fit = &mut self.fits[i];
            let next = fit.last.map_or(want, |l| l + 1);
            if next > want {
                continue;
            }
            let w = self.window as i64;
            for c in next..=want {
                let cs = (c % CRT_BKG_HISTORY as u64) as usize;
                if fit.filled < self.window {
                    let j = fit.filled as i64;
                    for s in 0..self.n_series {
                        let n = i64::from(self.bkg_bins[cs][s]);
                        let m = &mut fit.moments[s];
                        m[0] += n;
                        m[1] += n * j;
                        m[2] += n * j * j;
                    }
                    fit.filled += 1;
                } else {
                    let leaving = ((c - self.window as u64) % CRT_BKG_HISTORY as u64) as usize;
                    for s in 0..self.n_series {
                        let out = i64::from(self.bkg_bins[leaving][s]);
                        let n = i64::from(self.bkg_bins[cs][s]);
                        let m = &mut fit.moments[s];
                        // Remove the oldest (j = 0), shift the origin by one bin, add at w − 1.
                        let s0 = m[0] - out;
                        let s1 = m[1] - s0;
                        let s2 = m[2] - 2 * m[1] + s0;
                        m[0] = s0 + n;
                        m[1] = s1 + n * (w - 1);
                        m[2] = s2 + n * (w - 1) * (w - 1);
                    }
                }
            }
            fit.last = Some(want);
            if fit.filled == self.window {
                let m = self.order + 1;
                for s in 0..self.n_series {
                    let mom = fit.moments[s];
                    let mut c = [0f64; 3];
                    for (r, cr) in c.iter_mut().enumerate().take(m) {
                        for (q, mq) in mom.iter().enumerate().take(m) {
                            *cr += self.inv[r][q] * *mq as f64;
                        }
                    }
                    for (row, v) in fit.coef.iter_mut().zip(c) {
                        row[s] = v;
                    }
                    fit.sigma2[s] = mom[0].max(0) as f64 / self.window as f64;
                }
            }
        }
    }

    /// Expected background counts of series `s` over base bins `first..=last`, from the fit of
    /// timescale `i`.
    fn background(&self, i: usize, s: usize, first: u64, last: u64) -> Option<f64> {
        self.background_and_variance(i, s, first, last).map(|(b, _)| b)
    }

    /// Integrals g of the fit basis of timescale `i` over base bins `first..=last` and
    /// q = gᵀM⁻¹g; `None` until that fit is complete.
    fn window_basis(&self, i: usize, first: u64, last: u64) -> Option<([f64; 3], f64)> {
        let fit = self.fits.get(i)?;
        let fit_last = fit.last?;
        if fit.filled < self.window {
            return None;
        }
        let origin = (fit_last + 1 - self.window as u64) * CRT_BKG_BIN_BINS;
        let to_u = |b: u64| (b as f64 - origin as f64) / CRT_BKG_BIN_BINS as f64 - 0.5;
        let (u0, u1) = (to_u(first), to_u(last + 1));
        let m = self.order + 1;
        let mut g = [u1 - u0, (u1 * u1 - u0 * u0) / 2.0, (u1 * u1 * u1 - u0 * u0 * u0) / 3.0];
        for v in g.iter_mut().skip(m) {
            *v = 0.0;
        }
        let mut q = 0.0;
        for (&gr, inv) in g.iter().zip(&self.inv).take(m) {
            for (&gk, &ik) in g.iter().zip(inv).take(m) {
                q += gr * ik * gk;
            }
        }
        Some((g, q.max(0.0)))
    }

    /// Expected background counts of series `s` (fit of timescale `i`) given the window's
    /// basis integrals, and the variance of that prediction: σ²·q with σ² the Poisson variance
    /// of a background bin (its mean count).
    fn predict(&self, i: usize, s: usize, g: &[f64; 3], q: f64) -> (f64, f64) {
        let fit = &self.fits[i % MAX_TIMESCALES];
        let s = s % SERIES;
        let b = fit.coef[0][s] * g[0] + fit.coef[1][s] * g[1] + fit.coef[2][s] * g[2];
        (b, fit.sigma2[s % SERIES] * q)
    }

    /// Expected background counts of series `s` over base bins `first..=last` from the fit of
    /// timescale `i`, and the variance of that prediction.
    fn background_and_variance(
        &self,
        i: usize,
        s: usize,
        first: u64,
        last: u64,
    ) -> Option<(f64, f64)> {
        let (g, q) = self.window_basis(i, first, last)?;
        Some(self.predict(i, s, &g, q))
    }

    fn test(&mut self, k: u64) -> Option<Candidate> {
        #[cfg(test)]
        let reference = self.test_reference(k);
        let mut best: Option<Candidate> = None;
        let spacing_ok = self.last_image_bin.is_none_or(|l| k >= l + CRT_IMAGE_SPACING_BINS);
        let (mut tests, mut excesses) = (0u64, 0u64);
        for i in 0..self.n_ts.min(MAX_TIMESCALES) {
            let l = self.ts_bins[i];
            let step = (l / 4).max(1);
            if !(k + 1).is_multiple_of(step) || k + 1 < self.first_bin + l {
                continue;
            }
            let first = k + 1 - l;
            let ts_ok =
                self.last_image_ts[i].is_none_or(|b| k >= b + (l / 2).max(CRT_IMAGE_SPACING_BINS));
            let Some((g, q)) = self.window_basis(i, first, k) else { continue };
            // Every tested series in one branch-free pass (a reduction, vectorised): the
            // background B, whether the series is tested (B ≥ MIN_BKG_COUNTS) and whether its
            // test needs the square roots (N > B, not rejected early). Only when some series
            // does (rarely), a second pass with the same operations marks which, as bit `s`
            // of `hot`; then only those, in series order (trigger band, then zone).
            let fit = &self.fits[i];
            let lanes = self.lanes.min(SERIES);
            let lane_data = || {
                fit.coef[0][..lanes]
                    .iter()
                    .zip(&fit.coef[1][..lanes])
                    .zip(&fit.coef[2][..lanes])
                    .zip(&fit.sigma2[..lanes])
                    .zip(&self.window_sums[i][..lanes])
                    .zip(&self.series_reject[i][..lanes])
                    .map(|(((((&c0, &c1), &c2), &sigma2), &n), &reject)| {
                        lane_test(g, q, [c0, c1, c2, sigma2, reject], n)
                    })
            };
            let (mut counted, mut any) = (0u32, false);
            for (test, h) in lane_data() {
                counted += u32::from(test);
                any |= h;
            }
            tests += u64::from(counted);
            if !any {
                continue;
            }
            let mut hot = 0u64;
            for (s, (_, h)) in lane_data().enumerate() {
                hot |= u64::from(h) << (s % SERIES);
            }
            while hot != 0 {
                let s = hot.trailing_zeros() as usize;
                hot &= hot - 1;
                let (t, z) = (s / self.n_zones, s % self.n_zones);
                let thr = self.series_thr[i][s];
                let (b, var_b) = self.predict(i, s, &g, q);
                let n = self.window_sums[i][s];
                let nf = f64::from(n);
                let snr = (nf - b) / sqrt(b + var_b);
                if snr < thr {
                    continue;
                }
                // Both the Gaussian SNR and the Anscombe (variance-stabilised Poisson)
                // significance must pass: small-count windows do not pass on Poisson tails.
                let anscombe = 2.0 * (sqrt(nf + 0.375) - sqrt(b + 0.375));
                if anscombe >= thr {
                    excesses += 1;
                    if spacing_ok && ts_ok && best.is_none_or(|c| snr as f32 > c.rate_snr) {
                        best = Some(Candidate {
                            timescale: i,
                            bins: l,
                            band: t,
                            zone: z,
                            first_bin: first,
                            last_bin: k,
                            counts: n,
                            background: b,
                            rate_snr: snr as f32,
                        });
                    }
                }
            }
        }
        #[cfg(test)]
        assert_eq!((best, tests, excesses), reference, "bin {k}");
        self.stats.tests += tests;
        self.stats.excesses += excesses;
        best
    }

    /// [`Crt::test`] as first written, series by series, with every square root: the
    /// reference the unit tests hold the vectorised pass and its early rejection to (best
    /// candidate, tests, excesses).
    #[cfg(test)]
    fn test_reference(&self, k: u64) -> (Option<Candidate>, u64, u64) {
        let (mut tests, mut excesses) = (0u64, 0u64);
        let mut best: Option<Candidate> = None;
        let spacing_ok = self.last_image_bin.is_none_or(|l| k >= l + CRT_IMAGE_SPACING_BINS);
        for i in 0..self.n_ts {
            let l = self.ts_bins[i];
            let step = (l / 4).max(1);
            if !(k + 1).is_multiple_of(step) || k + 1 < self.first_bin + l {
                continue;
            }
            let first = k + 1 - l;
            let ts_ok =
                self.last_image_ts[i].is_none_or(|b| k >= b + (l / 2).max(CRT_IMAGE_SPACING_BINS));
            let Some((g, q)) = self.window_basis(i, first, k) else { continue };
            for t in 0..self.n_bands {
                let thr = f64::from(self.ts_snr[i][t]);
                for z in 0..self.n_zones {
                    let s = self.series(t, z);
                    let (b, var_b) = self.predict(i, s, &g, q);
                    if b < MIN_BKG_COUNTS {
                        continue;
                    }
                    tests += 1;
                    let n = self.window_sums[i][s];
                    if f64::from(n) <= b {
                        continue;
                    }
                    let snr = (f64::from(n) - b) / sqrt(b + var_b);
                    let anscombe = 2.0 * (sqrt(f64::from(n) + 0.375) - sqrt(b + 0.375));
                    if snr >= thr && anscombe >= thr {
                        excesses += 1;
                        if spacing_ok && ts_ok && best.is_none_or(|c| snr as f32 > c.rate_snr) {
                            best = Some(Candidate {
                                timescale: i,
                                bins: l,
                                band: t,
                                zone: z,
                                first_bin: first,
                                last_bin: k,
                                counts: n,
                                background: b,
                                rate_snr: snr as f32,
                            });
                        }
                    }
                }
            }
        }
        (best, tests, excesses)
    }

    /// Fills the excess shadowgram of a candidate: per pixel p, with n_p the events of the
    /// window in the candidate's trigger band and b_p = k·shape_p the expected background
    /// (whole-plane B spread like the last block, k = B / Σ shape), `counts` = w_p·(n_p − b_p)
    /// and `variance` = w_p²·(n_p + k·b_p), w_p the pixel weight (1/efficiency, 0 excluded).
    /// Returns the number of events used and whether the window had lost events from the ring.
    pub fn excess_shadowgram(
        &self,
        c: &Candidate,
        weights: &[f32; PIXELS],
        counts: &mut [f32; PIXELS],
        variance: &mut [f32; PIXELS],
    ) -> (u32, bool) {
        counts.fill(0.0);
        let (lo, hi) = self.tb_range[c.band % MAX_TRIGGER_BANDS];
        let start = self.bin_start[(c.first_bin % CRT_HISTORY_BINS as u64) as usize];
        let end = self.bin_start[((c.last_bin + 1) % CRT_HISTORY_BINS as u64) as usize];
        let oldest = self.events_in.saturating_sub(CRT_EVENT_RING as u64);
        let truncated = start < oldest;
        let mut used = 0u32;
        for pos in start.max(oldest)..end {
            let v = self.events[(pos % CRT_EVENT_RING as u64) as usize];
            let band = (v >> 13) as u8;
            if band >= lo && band <= hi {
                counts[usize::from(v & 0x1FFF) % PIXELS] += 1.0;
                used += 1;
            }
        }
        let plane = self.series(c.band % MAX_TRIGGER_BANDS, MAX_ZONES);
        let b_plane =
            self.background(c.timescale, plane, c.first_bin, c.last_bin).unwrap_or(0.0).max(0.0);
        let k = if self.shape_sum > 0 { b_plane / self.shape_sum as f64 } else { 0.0 };
        for (((o, v), &w), &sh) in
            counts.iter_mut().zip(variance.iter_mut()).zip(weights).zip(&self.shape)
        {
            let b = k * f64::from(sh);
            let n = f64::from(*o);
            *o = w * (n - b) as f32;
            *v = w * w * (n + k * b) as f32;
        }
        (used, truncated)
    }

    /// Counts an excess image whose window had lost events (see [`Crt::excess_shadowgram`]).
    pub fn count_truncated(&mut self) {
        self.stats.truncated_windows += 1;
    }

    /// Energy range of a trigger band as elementary band indices.
    pub fn band_range(&self, band: usize) -> (u8, u8) {
        self.tb_range[band % MAX_TRIGGER_BANDS]
    }
}

impl Default for Crt {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::boxed::Box;
    use tables::bands::TriggerBand;
    use tables::crt::{BackgroundFit, Timescale, Zone};

    fn table(order: u8) -> CrtTable {
        let mut t = CrtTable { image_snr: 6.5, ..CrtTable::default() };
        t.background = BackgroundFit { window_ms: 6400, order, gap_ms: 100 };
        t.bands.push(TriggerBand { first: 0, last: 0 }).unwrap();
        t.zones.push(Zone { y_min: 0, y_max: 79, z_min: 0, z_max: 79 }).unwrap();
        for ms in [10, 100, 1000] {
            let mut ts = Timescale { duration_ms: ms, ..Timescale::default() };
            ts.rate_snr.push(6.0).unwrap();
            t.timescales.push(ts).unwrap();
        }
        t
    }

    fn event() -> Accepted {
        Accepted { pixel: 100, band: 0, zones: 1, sector: 0, energy_kev: 10.0 }
    }

    /// Feeds `rate(bin)` events in each base bin up to `bins`, returns the candidates.
    fn run(crt: &mut Crt, bins: u64, rate: &dyn Fn(u64) -> u32) -> std::vec::Vec<Candidate> {
        let mut got = std::vec::Vec::new();
        for k in 0..bins {
            crt.advance(k * CRT_BIN_TICKS, &mut |_, c| got.push(c));
            for _ in 0..rate(k) {
                crt.add(&event());
            }
        }
        got
    }

    #[test]
    fn normal_inverse_solves_a_known_fit() {
        super::super::big_stack(|| {
            // Fit of n(j) = 3 + 2j - 0.5 j² over 10 bins, exactly.
            let inv = normal_inverse(10, 2);
            let mut m = [0f64; 3];
            for j in 0..10 {
                let x = j as f64;
                let n = 3.0 + 2.0 * x - 0.5 * x * x;
                m[0] += n;
                m[1] += n * x;
                m[2] += n * x * x;
            }
            let c: std::vec::Vec<f64> =
                (0..3).map(|r| (0..3).map(|q| inv[r][q] * m[q]).sum()).collect();
            assert!(
                (c[0] - 3.0).abs() < 1e-9 && (c[1] - 2.0).abs() < 1e-9 && (c[2] + 0.5).abs() < 1e-9
            );
        });
    }

    #[test]
    fn sliding_moments_equal_a_direct_fit() {
        super::super::big_stack(|| {
            let mut crt = Box::new(Crt::new());
            crt.configure(&table(2));
            // A linearly rising rate: 10 + k/100 events per base bin, no excess.
            let got = run(&mut crt, 3000, &|k| 10 + (k / 100) as u32);
            assert!(got.is_empty(), "{got:?}");
            assert!(crt.stats().tests > 100);
            // The background of a 1-s window at the end matches the counts given (extrapolation of
            // a line by a quadratic fit is exact up to the staircase of integer rates).
            let k = 2999;
            let b = crt.background(2, crt.series(0, 0), k - 99, k).unwrap();
            let truth: u64 = (k - 99..=k).map(|k| 10 + k / 100).sum();
            assert!((b - truth as f64).abs() < 0.02 * truth as f64, "{b} vs {truth}");
        });
    }

    #[test]
    fn an_excess_is_found_on_its_timescale_and_not_before_arming() {
        super::super::big_stack(|| {
            for order in 0..=2 {
                let mut crt = Box::new(Crt::new());
                crt.configure(&table(order));
                let arm = crt.arming_ticks() / CRT_BIN_TICKS;
                // A step of +60 counts per bin for 10 bins at bin 2000: a 100-ms excess.
                let got = run(&mut crt, 2100, &|k| if (2000..2010).contains(&k) { 70 } else { 10 });
                assert!(arm < 2000);
                assert!(!got.is_empty(), "order {order}");
                let c = got[0];
                assert!(c.first_bin >= 2000 - 10 && c.last_bin <= 2010, "{c:?}");
                assert!(c.rate_snr > 6.0);
                // Spacing: no two images within 10 bins.
                for w in got.windows(2) {
                    assert!(w[1].last_bin >= w[0].last_bin + CRT_IMAGE_SPACING_BINS);
                }
            }
        });
    }

    #[test]
    fn several_bands_and_zones_count_in_their_series_and_test_like_the_reference() {
        super::super::big_stack(|| {
            // Two trigger bands (elementary 0, and 0–1), three zones; events in every zone
            // mask; an excess in zone 2 of elementary band 1 only. Every bin's tests are
            // checked against `test_reference` (in `test`).
            let mut t = table(1);
            t.bands.push(TriggerBand { first: 0, last: 1 }).unwrap();
            t.zones.push(Zone { y_min: 0, y_max: 39, z_min: 0, z_max: 79 }).unwrap();
            t.zones.push(Zone { y_min: 40, y_max: 79, z_min: 0, z_max: 79 }).unwrap();
            for ts in t.timescales.iter_mut() {
                ts.rate_snr.push(6.0).unwrap();
            }
            let mut crt = Box::new(Crt::new());
            crt.configure(&t);
            let mut got = std::vec::Vec::new();
            let mut rng = 1u64;
            for k in 0..3000u64 {
                crt.advance(k * CRT_BIN_TICKS, &mut |_, c| got.push(c));
                let burst = (2500..2510).contains(&k);
                for j in 0..(if burst { 90 } else { 30 }) {
                    rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    let band = if burst && j >= 30 { 1 } else { (rng >> 40) as u8 % 2 };
                    let zones = if burst && j >= 30 {
                        0b101
                    } else {
                        [0b011, 0b101, 0b001][(rng >> 50) as usize % 3]
                    };
                    crt.count((rng >> 20) as u16 % PIXELS as u16, band, zones);
                }
            }
            assert!(crt.stats().tests > 10_000);
            let c = got.iter().find(|c| c.first_bin >= 2490).expect("the excess");
            assert_eq!((c.band, c.zone), (1, 2), "{c:?}");
            // The whole-plane series of band 1 holds every event of elementary bands 0 and 1.
            let plane = crt.series(1, MAX_ZONES);
            assert_eq!(plane, 2 * 3 + 1);
            assert!(crt.window_sums[0][plane] >= 30, "{:?}", crt.window_sums[0]);
        });
    }

    #[test]
    fn excess_shadowgram_subtracts_the_scaled_background() {
        super::super::big_stack(|| {
            let mut crt = Box::new(Crt::new());
            crt.configure(&table(0));
            let mut weights = [1.0f32; PIXELS];
            weights[7] = 0.0;
            let got = run(&mut crt, 4200, &|k| if k == 4150 { 200 } else { 10 });
            let c = *got.iter().find(|c| c.bins == 1).unwrap();
            let mut sg = Box::new([0f32; PIXELS]);
            let mut var = Box::new([0f32; PIXELS]);
            let (used, truncated) = crt.excess_shadowgram(&c, &weights, &mut sg, &mut var);
            assert!(var[100] >= 200.0);
            assert_eq!((used, truncated), (200, false));
            // All events on pixel 100; the background of 10 counts sits on pixel 100 too (the
            // shape block saw only that pixel).
            assert!((sg[100] - 190.0).abs() < 1.0, "{}", sg[100]);
            assert_eq!(sg[7], 0.0);
        });
    }
}
