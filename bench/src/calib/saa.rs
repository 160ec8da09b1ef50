//! The SAA contour from the particle rate along the orbit (`calib saa`).
//!
//! Method (docs/calib.md, "SAA contour"):
//!
//! 1. [`RateAccumulator`] turns a time-ordered stream of orbit samples and events into
//!    [`RateSample`]s: the counts of the particle band (energy from the previous pixel table)
//!    between two orbit samples, at the mid-point of the two positions.
//! 2. The quiet level is the median rate of all samples (the SAA takes far less than half of
//!    an orbit); a sample is *inside* when its rate exceeds `k ×` the quiet level.
//! 3. On a lon/lat grid ([`SaaOptions::cell_deg`]) each cell holds the exposure-weighted share
//!    of inside samples; cells the orbit did not cross are interpolated from the crossed
//!    cells (normalised convolution at the smallest scale that reaches them: the boundary runs
//!    smoothly from a track's crossing to the next track's), within the latitudes the orbit reaches plus
//!    [`SaaOptions::margin_deg`]: beyond them nothing is known and nothing is claimed.
//! 4. The 0.5 level of that field is traced (marching squares, linear interpolation between
//!    cell centres); the largest loop is the contour.
//! 5. It is simplified to at most [`SaaOptions::max_vertices`] vertices (closing vertex
//!    included) by Visvalingam–Whyatt (least effective area first, in degrees with longitude
//!    scaled by the cosine of latitude), never removing a vertex whose removal would make the
//!    polygon cross itself; then its vertices are moved (coordinate descent) to bring the edge
//!    closer, in least squares, to the *crossings*: the points where the samples change side
//!    and stay there (five samples on each side). The result is checked by the unit's
//!    validator.
//!
//! [`edge_errors`] measures a polygon against a known truth where the data constrain it: at
//! every crossing of either polygon's edge by the orbit track, the distance to the other
//! polygon's edge.

use std::collections::HashMap;

use serde::Serialize;
use tables::saa::{SaaTable, Vertex};

/// The counts of the particle band over one orbit-sample interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct RateSample {
    /// Longitude at the interval's middle, degrees east.
    pub lon_deg: f64,
    /// Latitude at the interval's middle, degrees north.
    pub lat_deg: f64,
    /// Particle-band counts.
    pub counts: u32,
    /// Interval length, s.
    pub exposure_s: f64,
}

/// Options; [`SaaOptions::default`] is what `calib saa` runs with.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SaaOptions {
    /// Inside the SAA: rate above `k ×` the quiet level.
    pub k: f64,
    /// Grid cell, degrees.
    pub cell_deg: f64,
    /// Most vertices of the polygon, closing vertex included (the SAA table's).
    pub max_vertices: usize,
    /// How far beyond the latitudes the orbit reaches the region may extend, degrees.
    pub margin_deg: f64,
}

impl Default for SaaOptions {
    fn default() -> Self {
        SaaOptions { k: 3.0, cell_deg: 0.5, max_vertices: 13, margin_deg: 1.0 }
    }
}

/// The rate map of the report: counts per second per cell (`None`: not crossed).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RateMap {
    /// Cell size, degrees.
    pub cell_deg: f64,
    /// Columns (from −180° east).
    pub cols: usize,
    /// Rows (from −90° north).
    pub rows: usize,
    /// Rate per cell, row-major from the south-west corner.
    pub rate_cps: Vec<Option<f64>>,
}

/// The derived contour.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SaaFit {
    /// Median rate of the particle band, counts/s.
    pub quiet_cps: f64,
    /// `k ×` the quiet level.
    pub threshold_cps: f64,
    /// Samples used.
    pub samples: usize,
    /// Samples above the threshold.
    pub inside_samples: usize,
    /// Inside samples that the new polygon leaves out, and outside ones it takes in.
    pub misclassified: usize,
    /// Latitudes the orbit reached, degrees.
    pub lat_coverage: (f64, f64),
    /// Vertices of the traced contour before simplification.
    pub contour_vertices: usize,
    /// The new polygon (closed), as the SAA table holds it.
    pub polygon: Vec<(f64, f64)>,
    /// The rate map.
    #[serde(skip)]
    pub map: RateMap,
}

impl SaaFit {
    /// The new SAA table, with the version after `previous`'s.
    ///
    /// # Errors
    /// More vertices than the table holds (not possible with a validated fit).
    pub fn table(&self, previous: &SaaTable) -> Result<SaaTable, SaaError> {
        let mut t =
            SaaTable { version: previous.version.wrapping_add(1).max(1), ..SaaTable::default() };
        for &(lon, lat) in &self.polygon {
            t.vertices
                .push(Vertex { lon_deg: lon as f32, lat_deg: lat as f32 })
                .map_err(|_| SaaError::Invalid("more vertices than the table holds".into()))?;
        }
        Ok(t)
    }
}

/// Why no contour could be derived.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum SaaError {
    /// Too few samples or no counts in the band.
    TooLittleData(String),
    /// No sample above the threshold.
    NoRegion {
        /// Quiet level, counts/s.
        quiet_cps: f64,
        /// Highest sample rate, counts/s.
        max_cps: f64,
        /// Threshold, counts/s.
        threshold_cps: f64,
    },
    /// The region reaches the ±180° meridian, which the table cannot hold.
    CrossesAntimeridian,
    /// The polygon does not pass the unit's validator.
    Invalid(String),
}

impl std::fmt::Display for SaaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SaaError::TooLittleData(m) => write!(f, "too little data for an SAA contour: {m}"),
            SaaError::NoRegion { quiet_cps, max_cps, threshold_cps } => write!(
                f,
                "no SAA passage in the data: the particle-band rate never exceeds \
                 {threshold_cps:.1} counts/s (quiet {quiet_cps:.1}, highest {max_cps:.1}); \
                 give orbits that cross the SAA or lower --k"
            ),
            SaaError::CrossesAntimeridian => write!(
                f,
                "the high-rate region reaches the ±180° meridian, which the SAA table cannot \
                 describe (the SAA lies between about −90° and +40°)"
            ),
            SaaError::Invalid(m) => write!(f, "the derived polygon is not a valid SAA table: {m}"),
        }
    }
}

impl std::error::Error for SaaError {}

/// Builds [`RateSample`]s from orbit samples and events in time order.
#[derive(Clone, Debug, Default)]
pub struct RateAccumulator {
    last: Option<(u64, f64, f64)>,
    counts: u32,
    events: Option<(u64, u64)>,
    done: Vec<(u64, u64, RateSample)>,
}

impl RateAccumulator {
    /// A new accumulator.
    pub fn new() -> Self {
        Self::default()
    }

    /// An orbit sample at `tick` (20 µs ticks): closes the interval from the previous one.
    pub fn orbit(&mut self, tick: u64, lon_deg: f64, lat_deg: f64) {
        if let Some((t0, lon0, lat0)) = self.last
            && tick > t0
        {
            let mut dl = lon_deg - lon0;
            if dl > 180.0 {
                dl -= 360.0;
            } else if dl < -180.0 {
                dl += 360.0;
            }
            let mut lon = lon0 + dl / 2.0;
            if lon > 180.0 {
                lon -= 360.0;
            } else if lon < -180.0 {
                lon += 360.0;
            }
            let s = RateSample {
                lon_deg: lon,
                lat_deg: (lat0 + lat_deg) / 2.0,
                counts: self.counts,
                exposure_s: (tick - t0) as f64 * crate::events::TICK_S,
            };
            self.done.push((t0, tick, s));
        }
        self.last = Some((tick, lon_deg, lat_deg));
        self.counts = 0;
    }

    /// An event at `tick`; `in_band`: its energy is in the particle band.
    pub fn event(&mut self, tick: u64, in_band: bool) {
        self.events = Some(match self.events {
            None => (tick, tick),
            Some((a, b)) => (a.min(tick), b.max(tick)),
        });
        if in_band && self.last.is_some() {
            self.counts = self.counts.saturating_add(1);
        }
    }

    /// The samples within the span of the events (intervals wholly before the first event or
    /// after the last one are not exposure: the instrument was not recording).
    pub fn finish(self) -> Vec<RateSample> {
        let Some((first, last)) = self.events else { return Vec::new() };
        self.done.into_iter().filter(|d| d.1 > first && d.0 <= last).map(|d| d.2).collect()
    }
}

/// Derives the contour from rate samples (see the module documentation).
///
/// # Errors
/// [`SaaError`] when the data have no SAA passage, too few samples, or the region cannot be
/// written as an SAA table.
pub fn derive(samples: &[RateSample], opts: &SaaOptions) -> Result<SaaFit, SaaError> {
    let good: Vec<&RateSample> = samples
        .iter()
        .filter(|s| s.exposure_s > 0.0 && s.lon_deg.is_finite() && s.lat_deg.is_finite())
        .collect();
    if good.len() < 100 {
        return Err(SaaError::TooLittleData(format!(
            "{} orbit intervals with events, at least 100 needed",
            good.len()
        )));
    }
    let mut rates: Vec<f64> = good.iter().map(|s| f64::from(s.counts) / s.exposure_s).collect();
    let max_cps = rates.iter().copied().fold(0.0, f64::max);
    rates.sort_by(f64::total_cmp);
    let quiet = rates.get(rates.len() / 2).copied().unwrap_or(0.0);
    if quiet <= 0.0 {
        return Err(SaaError::TooLittleData(
            "no counts in the particle band in most orbit intervals".into(),
        ));
    }
    let threshold = opts.k * quiet;
    let inside = |s: &RateSample| f64::from(s.counts) / s.exposure_s > threshold;
    let inside_samples = good.iter().filter(|s| inside(s)).count();
    if inside_samples == 0 {
        return Err(SaaError::NoRegion { quiet_cps: quiet, max_cps, threshold_cps: threshold });
    }
    let cell = opts.cell_deg.clamp(0.05, 5.0);
    let cols = (360.0 / cell).round() as usize;
    let rows = (180.0 / cell).round() as usize;
    let idx = |lon: f64, lat: f64| {
        let c = (((lon + 180.0) / cell).floor().max(0.0) as usize).min(cols - 1);
        let r = (((lat + 90.0) / cell).floor().max(0.0) as usize).min(rows - 1);
        r * cols + c
    };
    let mut exp_in = vec![0f64; cols * rows];
    let mut exp_all = vec![0f64; cols * rows];
    let mut counts = vec![0f64; cols * rows];
    let (mut lat_lo, mut lat_hi) = (f64::MAX, f64::MIN);
    for s in &good {
        let i = idx(s.lon_deg, s.lat_deg);
        if let (Some(a), Some(b), Some(c)) =
            (exp_all.get_mut(i), exp_in.get_mut(i), counts.get_mut(i))
        {
            *a += s.exposure_s;
            *c += f64::from(s.counts);
            if inside(s) {
                *b += s.exposure_s;
            }
        }
        lat_lo = lat_lo.min(s.lat_deg);
        lat_hi = lat_hi.max(s.lat_deg);
    }
    let map = RateMap {
        cell_deg: cell,
        cols,
        rows,
        rate_cps: exp_all.iter().zip(&counts).map(|(&e, &c)| (e > 0.0).then(|| c / e)).collect(),
    };
    // The field: share of inside exposure, filled from the nearest crossed cell.
    let row_ok = |r: usize| {
        let lat = -90.0 + (r as f64 + 0.5) * cell;
        lat >= lat_lo - opts.margin_deg && lat <= lat_hi + opts.margin_deg
    };
    let mut field: Vec<Option<f64>> =
        exp_all.iter().zip(&exp_in).map(|(&a, &b)| (a > 0.0).then(|| b / a)).collect();
    // Cells the orbit did not cross: normalised convolution (inside exposure / exposure, both
    // blurred) at the smallest scale that reaches crossed cells, so the boundary between two
    // tracks runs smoothly from one track's crossing to the next.
    let mut observed: Vec<f64> = exp_all.iter().filter(|&&e| e > 0.0).copied().collect();
    observed.sort_by(f64::total_cmp);
    let typical = observed.get(observed.len() / 2).copied().unwrap_or(1.0);
    for sigma_deg in [1.0, 2.0, 4.0, 8.0, 16.0] {
        if field.iter().enumerate().all(|(i, f)| f.is_some() || !row_ok(i / cols)) {
            break;
        }
        let w = ((2.0 * sigma_deg / cell).round() as usize).max(1) | 1;
        let num = blur(&exp_in, cols, rows, w);
        let den = blur(&exp_all, cols, rows, w);
        for (i, f) in field.iter_mut().enumerate() {
            if f.is_none()
                && row_ok(i / cols)
                && let (Some(&n), Some(&d)) = (num.get(i), den.get(i))
                && d > 2e-3 * typical
            {
                *f = Some(n / d);
            }
        }
    }
    // Padded lattice of cell centres: (cols + 2) × (rows + 2), border 0.
    let (pc, pr) = (cols + 2, rows + 2);
    let mut lattice = vec![0f64; pc * pr];
    for r in 0..rows {
        if !row_ok(r) {
            continue;
        }
        for c in 0..cols {
            if let (Some(Some(v)), Some(l)) =
                (field.get(r * cols + c), lattice.get_mut((r + 1) * pc + c + 1))
            {
                *l = *v;
            }
        }
    }
    // The region must not touch the first or last column (the ±180° meridian).
    for r in 0..pr {
        let (a, b) = (lattice.get(r * pc + 1), lattice.get(r * pc + pc - 2));
        if a.is_some_and(|&v| v >= 0.5) || b.is_some_and(|&v| v >= 0.5) {
            return Err(SaaError::CrossesAntimeridian);
        }
    }
    let to_deg = |x: f64, y: f64| (-180.0 + (x - 0.5) * cell, -90.0 + (y - 0.5) * cell);
    let loops = march(&lattice, pc, pr, 0.5);
    let best = loops
        .into_iter()
        .map(|l| l.into_iter().map(|(x, y)| to_deg(x, y)).collect::<Vec<_>>())
        .max_by(|a, b| area(a).abs().total_cmp(&area(b).abs()))
        .ok_or_else(|| SaaError::Invalid("no contour".into()))?;
    let contour_vertices = best.len();
    let n = opts.max_vertices.clamp(tables::saa::MIN_VERTICES, tables::MAX_VERTICES) - 1;
    // Where the samples change side and stay there (five on each side, so that a noisy
    // interval makes no crossing): the edge is known there.
    const RUN: usize = 5;
    let flags: Vec<bool> = good.iter().map(|s| inside(s)).collect();
    let near = |a: &RateSample, b: &RateSample| {
        (a.lon_deg - b.lon_deg).abs() < 2.0 && (a.lat_deg - b.lat_deg).abs() < 2.0
    };
    let mut crossings: Vec<(f64, f64)> = Vec::new();
    for i in RUN..good.len().saturating_sub(RUN) {
        let (Some(before), Some(after)) = (flags.get(i + 1 - RUN..=i), flags.get(i + 1..=i + RUN))
        else {
            continue;
        };
        let (Some(a), Some(b)) = (good.get(i), good.get(i + 1)) else { continue };
        let side = before.first().copied().unwrap_or(false);
        if before.iter().all(|&f| f == side)
            && after.iter().all(|&f| f != side)
            && good
                .get(i + 1 - RUN..=i + RUN)
                .is_some_and(|w| w.windows(2).all(|p| near(p[0], p[1])))
        {
            crossings.push(((a.lon_deg + b.lon_deg) / 2.0, (a.lat_deg + b.lat_deg) / 2.0));
        }
    }
    let mut poly = refine(simplify(best, n), &crossings, (lat_lo, lat_hi));
    for p in &mut poly {
        p.0 = (p.0 * 1000.0).round() / 1000.0;
        p.1 = (p.1 * 1000.0).round() / 1000.0;
    }
    if let Some(&first) = poly.first() {
        poly.push(first);
    }
    let table = SaaTable {
        version: 1,
        vertices: poly
            .iter()
            .map(|&(lon, lat)| Vertex { lon_deg: lon as f32, lat_deg: lat as f32 })
            .collect(),
    };
    let mut problems = Vec::new();
    table.validate(&mut |p| problems.push(p.to_string()));
    if !problems.is_empty() {
        return Err(SaaError::Invalid(problems.join("; ")));
    }
    let misclassified = good
        .iter()
        .filter(|s| table.contains(s.lon_deg as f32, s.lat_deg as f32) != inside(s))
        .count();
    Ok(SaaFit {
        quiet_cps: quiet,
        threshold_cps: threshold,
        samples: good.len(),
        inside_samples,
        misclassified,
        lat_coverage: (lat_lo, lat_hi),
        contour_vertices,
        polygon: poly,
        map,
    })
}

/// Box blur of width `w` (odd) along rows then columns, three times (≈ a Gaussian of σ ≈ w/2
/// cells); sums over the grid only (no wrap).
fn blur(v: &[f64], cols: usize, rows: usize, w: usize) -> Vec<f64> {
    let h = w / 2;
    let pass = |src: &[f64], n: usize, stride: usize, lines: usize, step: usize| {
        let mut out = vec![0f64; src.len()];
        let mut line = vec![0f64; n + 1];
        for l in 0..lines {
            let base = l * step;
            line[0] = 0.0;
            for k in 0..n {
                line[k + 1] = line[k] + src.get(base + k * stride).copied().unwrap_or(0.0);
            }
            for k in 0..n {
                let (a, b) = (k.saturating_sub(h), (k + h + 1).min(n));
                if let Some(o) = out.get_mut(base + k * stride) {
                    *o = (line[b] - line[a]) / w as f64;
                }
            }
        }
        out
    };
    let mut a = v.to_vec();
    for _ in 0..3 {
        a = pass(&a, cols, 1, rows, cols);
        a = pass(&a, rows, cols, cols, 1);
    }
    a
}

/// Signed area (shoelace) of an open ring.
fn area(p: &[(f64, f64)]) -> f64 {
    let n = p.len();
    (0..n)
        .map(|i| {
            let (a, b) = (p[i], p[(i + 1) % n]);
            a.0 * b.1 - b.0 * a.1
        })
        .sum::<f64>()
        / 2.0
}

/// Marching squares on a lattice (`w × h`, row-major, values at integer points): the closed
/// loops of `level` in lattice coordinates (x = column, y = row).
fn march(v: &[f64], w: usize, h: usize, level: f64) -> Vec<Vec<(f64, f64)>> {
    let at = |x: usize, y: usize| v.get(y * w + x).copied().unwrap_or(0.0);
    // Edge keys: (x, y, 0) horizontal edge from (x, y) to (x+1, y); (x, y, 1) vertical edge
    // from (x, y) to (x, y+1).
    type Key = (usize, usize, u8);
    let point = |k: Key| -> (f64, f64) {
        let (x, y, d) = k;
        let (a, b) = if d == 0 { (at(x, y), at(x + 1, y)) } else { (at(x, y), at(x, y + 1)) };
        let t = if (b - a).abs() > 1e-12 { ((level - a) / (b - a)).clamp(0.0, 1.0) } else { 0.5 };
        if d == 0 { (x as f64 + t, y as f64) } else { (x as f64, y as f64 + t) }
    };
    let mut adj: HashMap<Key, Vec<Key>> = HashMap::new();
    let mut link = |a: Key, b: Key| {
        adj.entry(a).or_default().push(b);
        adj.entry(b).or_default().push(a);
    };
    for y in 0..h.saturating_sub(1) {
        for x in 0..w.saturating_sub(1) {
            let (v0, v1, v2, v3) = (at(x, y), at(x + 1, y), at(x + 1, y + 1), at(x, y + 1));
            let case = usize::from(v0 >= level)
                | usize::from(v1 >= level) << 1
                | usize::from(v2 >= level) << 2
                | usize::from(v3 >= level) << 3;
            let (bottom, right, top, left) = ((x, y, 0), (x + 1, y, 1), (x, y + 1, 0), (x, y, 1));
            match case {
                0 | 15 => {}
                1 | 14 => link(left, bottom),
                2 | 13 => link(bottom, right),
                3 | 12 => link(left, right),
                4 | 11 => link(right, top),
                6 | 9 => link(bottom, top),
                7 | 8 => link(left, top),
                5 | 10 => {
                    let centre = (v0 + v1 + v2 + v3) / 4.0 >= level;
                    // Case 5: corners 0 and 2 in. Joined through the centre or not.
                    if (case == 5) == centre {
                        link(left, top);
                        link(bottom, right);
                    } else {
                        link(left, bottom);
                        link(right, top);
                    }
                }
                _ => {}
            }
        }
    }
    let mut seen: HashMap<Key, bool> = HashMap::new();
    let mut keys: Vec<Key> = adj.keys().copied().collect();
    keys.sort_unstable();
    let mut loops = Vec::new();
    for start in keys {
        if seen.contains_key(&start) {
            continue;
        }
        let mut ring = vec![point(start)];
        seen.insert(start, true);
        let (mut prev, mut cur) = (start, start);
        loop {
            let next = adj
                .get(&cur)
                .and_then(|n| n.iter().find(|&&k| k != prev && !seen.contains_key(&k)).copied());
            match next {
                Some(k) => {
                    seen.insert(k, true);
                    ring.push(point(k));
                    prev = cur;
                    cur = k;
                }
                None => break,
            }
        }
        if ring.len() >= 3 {
            loops.push(ring);
        }
    }
    loops
}

/// Whether segments `ab` and `cd` meet (touching counts).
fn meet(a: (f64, f64), b: (f64, f64), c: (f64, f64), d: (f64, f64)) -> bool {
    let o = |p: (f64, f64), q: (f64, f64), r: (f64, f64)| {
        (q.0 - p.0) * (r.1 - p.1) - (q.1 - p.1) * (r.0 - p.0)
    };
    let on = |p: (f64, f64), q: (f64, f64), r: (f64, f64)| {
        r.0 >= p.0.min(q.0) && r.0 <= p.0.max(q.0) && r.1 >= p.1.min(q.1) && r.1 <= p.1.max(q.1)
    };
    let (d1, d2, d3, d4) = (o(c, d, a), o(c, d, b), o(a, b, c), o(a, b, d));
    if ((d1 > 0.0 && d2 < 0.0) || (d1 < 0.0 && d2 > 0.0))
        && ((d3 > 0.0 && d4 < 0.0) || (d3 < 0.0 && d4 > 0.0))
    {
        return true;
    }
    (d1 == 0.0 && on(c, d, a))
        || (d2 == 0.0 && on(c, d, b))
        || (d3 == 0.0 && on(a, b, c))
        || (d4 == 0.0 && on(a, b, d))
}

/// Visvalingam–Whyatt down to `n` vertices of an open ring, skipping removals that would make
/// the ring cross itself. Areas in degrees with longitude scaled by cos(latitude).
fn simplify(mut p: Vec<(f64, f64)>, n: usize) -> Vec<(f64, f64)> {
    let tri = |a: (f64, f64), b: (f64, f64), c: (f64, f64)| {
        let k = ((a.1 + b.1 + c.1) / 3.0).to_radians().cos();
        ((b.0 - a.0) * k * (c.1 - a.1) - (c.0 - a.0) * k * (b.1 - a.1)).abs() / 2.0
    };
    while p.len() > n.max(3) {
        let m = p.len();
        let mut order: Vec<(f64, usize)> =
            (0..m).map(|i| (tri(p[(i + m - 1) % m], p[i], p[(i + 1) % m]), i)).collect();
        order.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut removed = false;
        for &(_, i) in &order {
            let (a, c) = ((i + m - 1) % m, (i + 1) % m);
            let (pa, pc) = (p[a], p[c]);
            // The new edge a→c must not meet any edge other than its neighbours.
            let crosses = (0..m).any(|j| {
                let k = (j + 1) % m;
                if j == a || k == a || j == c || k == c || j == i || k == i {
                    return false;
                }
                meet(pa, pc, p[j], p[k])
            });
            if !crosses {
                p.remove(i);
                removed = true;
                break;
            }
        }
        if !removed {
            break;
        }
    }
    p
}

/// Distance from a point to an open ring's edge (degrees, longitude scaled by cos(latitude)).
fn ring_distance(p: &[(f64, f64)], x: f64, y: f64) -> f64 {
    let k = y.to_radians().cos();
    let m = p.len();
    (0..m)
        .map(|i| {
            let (a, b) = (p[i], p[(i + 1) % m]);
            let (ax, ay) = ((a.0 - x) * k, a.1 - y);
            let (dx, dy) = ((b.0 - a.0) * k, b.1 - a.1);
            let l2 = dx * dx + dy * dy;
            let t = if l2 > 0.0 { (-(ax * dx + ay * dy) / l2).clamp(0.0, 1.0) } else { 0.0 };
            (ax + t * dx).hypot(ay + t * dy)
        })
        .fold(f64::MAX, f64::min)
}

/// Whether an open ring is simple (no two non-adjacent edges meet).
fn ring_simple(p: &[(f64, f64)]) -> bool {
    let m = p.len();
    for i in 0..m {
        for j in i + 2..m {
            if i == 0 && j == m - 1 {
                continue;
            }
            if meet(p[i], p[(i + 1) % m], p[j], p[(j + 1) % m]) {
                return false;
            }
        }
    }
    true
}

/// Moves the vertices (coordinate descent, steps from 1° down to 0.02°) to bring the edge
/// closer to the observed crossings (least squares), keeping the ring simple. Vertices outside
/// the latitudes the orbit reaches (`band`) move in longitude only: no data bring them in.
fn refine(mut p: Vec<(f64, f64)>, crossings: &[(f64, f64)], band: (f64, f64)) -> Vec<(f64, f64)> {
    if crossings.is_empty() || p.len() < 3 {
        return p;
    }
    let cost = |p: &[(f64, f64)]| -> f64 {
        crossings.iter().map(|&(x, y)| ring_distance(p, x, y).powi(2)).sum()
    };
    let mut best = cost(&p);
    for step in [1.0, 0.5, 0.25, 0.1, 0.05, 0.02] {
        for _ in 0..8 {
            let mut moved = false;
            for i in 0..p.len() {
                // Outside the band only the longitude may move.
                let outside = p[i].1 < band.0 || p[i].1 > band.1;
                for (dx, dy) in [(step, 0.0), (-step, 0.0), (0.0, step), (0.0, -step)] {
                    if outside && dy != 0.0 {
                        continue;
                    }
                    let old = p[i];
                    p[i] = (old.0 + dx, old.1 + dy);
                    let c = cost(&p);
                    if c < best - 1e-12 && ring_simple(&p) && p[i].0.abs() < 180.0 {
                        best = c;
                        moved = true;
                    } else {
                        p[i] = old;
                    }
                }
            }
            if !moved {
                break;
            }
        }
    }
    p
}

/// Distance, degrees (longitude scaled by cos(latitude)), from a point to a closed polygon's
/// edge.
pub fn distance_to_edge(poly: &SaaTable, lon: f64, lat: f64) -> f64 {
    let k = lat.to_radians().cos();
    poly.vertices
        .windows(2)
        .filter_map(|w| match w {
            [a, b] => {
                let (ax, ay) = ((f64::from(a.lon_deg) - lon) * k, f64::from(a.lat_deg) - lat);
                let (bx, by) = ((f64::from(b.lon_deg) - lon) * k, f64::from(b.lat_deg) - lat);
                let (dx, dy) = (bx - ax, by - ay);
                let l2 = dx * dx + dy * dy;
                let t = if l2 > 0.0 { (-(ax * dx + ay * dy) / l2).clamp(0.0, 1.0) } else { 0.0 };
                Some((ax + t * dx).hypot(ay + t * dy))
            }
            _ => None,
        })
        .fold(f64::MAX, f64::min)
}

/// Edge agreement of two polygons along an orbit track.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct EdgeErrors {
    /// Crossings of either polygon's edge by the track.
    pub crossings: usize,
    /// Largest distance from a crossing to the other polygon's edge, degrees.
    pub max_deg: f64,
    /// Root mean square of those distances, degrees.
    pub rms_deg: f64,
}

/// Where the track (positions in time order) crosses `a`'s edge, the distance to `b`'s edge,
/// and the other way round (see the module documentation). Steps longer than 5° (gaps,
/// the ±180° wrap) are skipped.
pub fn edge_errors(a: &SaaTable, b: &SaaTable, track: &[(f64, f64)]) -> EdgeErrors {
    let mut d = Vec::new();
    for (p, q) in [(a, b), (b, a)] {
        for w in track.windows(2) {
            let [(x0, y0), (x1, y1)] = [w[0], w[1]];
            if (x1 - x0).abs() > 5.0 || (y1 - y0).abs() > 5.0 {
                continue;
            }
            let inside =
                |t: f64| p.contains((x0 + t * (x1 - x0)) as f32, (y0 + t * (y1 - y0)) as f32);
            let (i0, i1) = (inside(0.0), inside(1.0));
            if i0 == i1 {
                continue;
            }
            let (mut lo, mut hi) = (0.0, 1.0);
            for _ in 0..40 {
                let m = (lo + hi) / 2.0;
                if inside(m) == i0 {
                    lo = m;
                } else {
                    hi = m;
                }
            }
            let t = (lo + hi) / 2.0;
            d.push(distance_to_edge(q, x0 + t * (x1 - x0), y0 + t * (y1 - y0)));
        }
    }
    let n = d.len();
    EdgeErrors {
        crossings: n,
        max_deg: d.iter().copied().fold(0.0, f64::max),
        rms_deg: if n > 0 { (d.iter().map(|x| x * x).sum::<f64>() / n as f64).sqrt() } else { 0.0 },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tables::defaults::Rng;

    /// A 30° circular orbit's ground track with Earth rotation, one sample per second.
    fn track(seconds: u64, phase_deg: f64) -> Vec<(f64, f64)> {
        let (inc, period, day) = (30f64.to_radians(), 5790.0, 86_164.0);
        (0..seconds)
            .map(|t| {
                let t = t as f64 + 0.5;
                let u = std::f64::consts::TAU * t / period + phase_deg.to_radians();
                let lat = (inc.sin() * u.sin()).asin();
                let lon_i = (inc.cos() * u.sin()).atan2(u.cos());
                let mut lon = (lon_i - std::f64::consts::TAU * t / day).to_degrees();
                lon = (lon + 180.0).rem_euclid(360.0) - 180.0;
                (lon, lat.to_degrees())
            })
            .collect()
    }

    fn poisson(rng: &mut Rng, lambda: f64) -> u32 {
        (lambda + lambda.sqrt() * rng.normal()).round().max(0.0) as u32
    }

    fn truth() -> SaaTable {
        let v = [
            (-80.0, -22.0),
            (-70.0, -6.0),
            (-50.0, 0.0),
            (-25.0, -4.0),
            (0.0, -10.0),
            (25.0, -18.0),
            (38.0, -28.0),
            (28.0, -40.0),
            (-20.0, -48.0),
            (-60.0, -42.0),
            (-80.0, -22.0),
        ];
        SaaTable {
            version: 1,
            vertices: v.iter().map(|&(lon_deg, lat_deg)| Vertex { lon_deg, lat_deg }).collect(),
        }
    }

    fn samples(
        seed: u64,
        seconds: u64,
        quiet: f64,
        factor: f64,
    ) -> (Vec<RateSample>, Vec<(f64, f64)>) {
        let mut rng = Rng::new(seed);
        let t = truth();
        let tr = track(seconds, 37.0 * seed as f64);
        let s = tr
            .iter()
            .map(|&(lon, lat)| {
                let rate = if t.contains(lon as f32, lat as f32) { quiet * factor } else { quiet };
                RateSample {
                    lon_deg: lon,
                    lat_deg: lat,
                    counts: poisson(&mut rng, rate),
                    exposure_s: 1.0,
                }
            })
            .collect();
        (s, tr)
    }

    /// Ten days of orbits (the tracks fill the map): every crossing within 1° of the truth's
    /// edge, for three seeds.
    #[test]
    fn contour_within_a_degree_of_the_truth() {
        for seed in 1..=3 {
            let (s, tr) = samples(seed, 10 * 86_400, 400.0, 9.0);
            let fit = derive(&s, &SaaOptions::default()).unwrap();
            assert!(fit.polygon.len() <= 13, "{}", fit.polygon.len());
            let new = fit.table(&truth()).unwrap();
            let e = edge_errors(&truth(), &new, &tr);
            assert!(e.crossings > 100, "{e:?}");
            assert!(e.max_deg < 1.0, "seed {seed}: {e:?}");
            eprintln!("seed {seed}, ten days: {e:?}");
            assert!((fit.quiet_cps - 400.0).abs() < 5.0, "{}", fit.quiet_cps);
        }
    }

    #[test]
    fn one_day_gives_a_valid_polygon_on_its_tracks() {
        let (s, tr) = samples(4, 86_400, 400.0, 9.0);
        let fit = derive(&s, &SaaOptions::default()).unwrap();
        let new = fit.table(&truth()).unwrap();
        let mut n = 0;
        new.validate(&mut |_| n += 1);
        assert_eq!(n, 0);
        let e = edge_errors(&truth(), &new, &tr);
        assert!(e.max_deg < 1.0, "{e:?}");
        eprintln!("one day: {e:?}");
    }

    #[test]
    fn no_saa_no_data_and_antimeridian_are_errors() {
        let (s, _) = samples(5, 20_000, 400.0, 1.0);
        assert!(matches!(derive(&s, &SaaOptions::default()), Err(SaaError::NoRegion { .. })));
        assert!(matches!(
            derive(&s[..50], &SaaOptions::default()),
            Err(SaaError::TooLittleData(_))
        ));
        let s: Vec<RateSample> = (0..2000)
            .map(|i| {
                let lon = -180.0 + (i % 360) as f64;
                RateSample {
                    lon_deg: lon,
                    lat_deg: -10.0,
                    counts: if lon.abs() > 170.0 { 4000 } else { 400 },
                    exposure_s: 1.0,
                }
            })
            .collect();
        assert_eq!(derive(&s, &SaaOptions::default()), Err(SaaError::CrossesAntimeridian));
    }

    #[test]
    fn accumulator_bins_between_orbit_samples() {
        let mut a = RateAccumulator::new();
        a.event(10, true); // before any orbit sample: no interval
        a.orbit(20, -10.0, 0.0);
        a.event(30, true);
        a.event(40, false);
        a.orbit(50_020, -9.0, 1.0);
        a.event(50_030, true);
        a.orbit(100_020, 179.5, 2.0);
        a.orbit(150_020, -179.5, 3.0); // no event in it: after the last, not exposure
        let s = a.finish();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].counts, 1);
        assert_eq!((s[0].lon_deg, s[0].lat_deg, s[0].exposure_s), (-9.5, 0.5, 1.0));
        assert_eq!(s[1].counts, 1);
    }
}
