//! `eic-bench calib pixels`: noisy, dead and recovered pixels from per-pixel count rates over
//! the good time (`docs/calib.md`).
//!
//! **Counting** ([`PixelCounts::add_input`], streaming, bounded memory): events are counted
//! per pixel and per whole second; at the end of each second the [`super::SecondFilter`]
//! judges it (outside the tables' SAA contour from the orbit file, not a burst by the capped
//! rate filter) and only good seconds are added to the totals: all events, events under
//! [`PixelOptions::low_kev`] (by the table's gain and offset: where the noise of Xie et al.
//! 2024 lives) and each pixel's largest count in one good second (bursty pixels).
//!
//! **Expected rate** of pixel k: the median rate of the reference pixels (status `ok` in the
//! tables, at least one count) in the [`WINDOW`] × [`WINDOW`] square around it (clipped at the
//! plane's edges) — model-free, it follows the smooth CXB shadowgram and is not moved by a
//! few noisy pixels or a low-efficiency module. In the low band: that expected rate × the
//! median over the plane of the reference pixels' low/all ratio.
//!
//! **Tests** (α family-wise, Bonferroni over the pixels and tests tried):
//! - noisy: counts significantly above `min_ratio` × expected, in the whole band or the low
//!   band: P(X ≥ n | min_ratio·μ) < α / (2 N);
//! - bursty: the largest count in one good second significantly above `min_ratio` × the
//!   expected rate of one second: P(X ≥ max | λ) < α / (N · seconds);
//! - dead: counts significantly below `dead_fraction` × expected:
//!   P(X ≤ n | dead_fraction·μ) < α / N. A pixel where even 0 counts could not reach that
//!   (too little good time) is *untested*: its status is kept and it is listed.
//!
//! **Statuses**: dead → `dead`; noisy or bursty → `noisy`; neither, tested → `ok` (a `noisy`
//! or `dead` pixel of the tables that passes is *recovered*); `high_threshold` pixels are kept
//! as they are (their rate is low by design; they are outside the trigger).

use std::path::{Path, PathBuf};

use serde::Serialize;
use tables::pixels::{PIXELS, PixelStatus, PixelTable};

use super::stats::{ln_cdf, ln_sf, z_of_ln_p};
use super::{CalibError, FILTER_PIXEL_CAP, Opened, SecondFilter};
use crate::events::{Event, Item, OrbitSample, TICKS_PER_S};

/// Side of the square over which a pixel's expected rate is the median, pixels.
pub const WINDOW: usize = 15;

/// Options of the tests (defaults: the product's).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PixelOptions {
    /// Family-wise false-positive probability of each test over the plane.
    pub alpha: f64,
    /// A pixel is noisy when significantly above this × its expected rate.
    pub min_ratio: f64,
    /// A pixel is dead when significantly below this × its expected rate.
    pub dead_fraction: f64,
    /// Upper edge of the low band, keV (the table's gain and offset give the channel).
    pub low_kev: f64,
}

impl Default for PixelOptions {
    fn default() -> Self {
        PixelOptions { alpha: 0.01, min_ratio: 1.5, dead_fraction: 0.1, low_kev: 8.0 }
    }
}

/// What the streaming pass accumulated.
#[derive(Clone, Debug, Serialize)]
pub struct PixelCounts {
    /// Counts per pixel over the good time.
    pub counts: Vec<u64>,
    /// Counts under the low-band edge per pixel over the good time.
    pub low: Vec<u64>,
    /// Largest count of each pixel in one good second.
    pub max_1s: Vec<u32>,
    /// Good seconds.
    pub good_s: u64,
    /// Seconds inside the SAA contour (orbit).
    pub saa_s: u64,
    /// Seconds rejected by the rate filter.
    pub rate_s: u64,
    /// Events read.
    pub events: u64,
    /// Events in good seconds.
    pub good_events: u64,
    /// Inputs without an orbit file (their SAA passages are caught by the rate filter only).
    pub without_orbit: Vec<PathBuf>,
    /// First and last second of each input (ticks / 50 000).
    pub spans: Vec<(PathBuf, u64, u64)>,
    #[serde(skip)]
    low_max_pha: Vec<u16>,
}

struct Second {
    index: u64,
    counts: Vec<u32>,
    low: Vec<u32>,
    touched: Vec<u16>,
    events: u64,
}

impl PixelCounts {
    /// Empty counts for a pixel table (its gains and offsets place the low-band edge).
    pub fn new(table: &PixelTable, low_kev: f64) -> Self {
        let low_max_pha = table
            .entries
            .iter()
            .map(|e| {
                let ch = (low_kev - f64::from(e.offset_kev)) / f64::from(e.gain);
                ch.floor().clamp(-1.0, 1023.0) as i32
            })
            .map(|c| if c < 0 { u16::MAX } else { c as u16 })
            .collect();
        PixelCounts {
            counts: vec![0; PIXELS],
            low: vec![0; PIXELS],
            max_1s: vec![0; PIXELS],
            good_s: 0,
            saa_s: 0,
            rate_s: 0,
            events: 0,
            good_events: 0,
            without_orbit: Vec::new(),
            spans: Vec::new(),
            low_max_pha,
        }
    }

    fn close(&mut self, s: &mut Second, filter: &mut SecondFilter) {
        let capped: u32 = s
            .touched
            .iter()
            .map(|&k| s.counts.get(usize::from(k)).copied().unwrap_or(0).min(FILTER_PIXEL_CAP))
            .sum();
        let good = filter.judge(s.index, capped).is_ok();
        for &k in &s.touched {
            let k = usize::from(k);
            let (Some(c), Some(l)) = (s.counts.get_mut(k), s.low.get_mut(k)) else { continue };
            if good
                && let (Some(t), Some(tl), Some(m)) =
                    (self.counts.get_mut(k), self.low.get_mut(k), self.max_1s.get_mut(k))
            {
                *t += u64::from(*c);
                *tl += u64::from(*l);
                *m = (*m).max(*c);
            }
            *c = 0;
            *l = 0;
        }
        if good {
            self.good_events += s.events;
        }
        s.touched.clear();
        s.events = 0;
    }

    /// Starts counting one input (its own good-time filter over `saa` and its orbit).
    pub fn begin(&self, saa: &tables::saa::SaaTable, orbit: Vec<OrbitSample>) -> CountRun {
        CountRun {
            with_orbit: !orbit.is_empty(),
            filter: SecondFilter::new(saa, orbit),
            s: Second {
                index: u64::MAX,
                counts: vec![0; PIXELS],
                low: vec![0; PIXELS],
                touched: Vec::with_capacity(8192),
                events: 0,
            },
            first: None,
            n: 0,
        }
    }

    /// Streams one input into the counts, with its own good-time filter over `saa`.
    /// `progress` gets the number of events read so far.
    ///
    /// # Errors
    /// [`CalibError::Invalid`] for an unreadable row (file and place named), or inputs that
    /// cover the same time.
    pub fn add_input(
        &mut self,
        mut input: Opened,
        saa: &tables::saa::SaaTable,
        mut progress: impl FnMut(u64),
    ) -> Result<(), CalibError> {
        let mut run = self.begin(saa, std::mem::take(&mut input.orbit));
        let done = self.events;
        while let Some(item) =
            input.input.next_item().map_err(|e| CalibError::Invalid(e.to_string()))?
        {
            let Item::Event(e) = item else { continue };
            run.event(self, &e);
            if run.n.is_multiple_of(1 << 20) {
                progress(done + run.n);
            }
        }
        progress(done + run.n);
        run.finish(self, &input.path)
    }
}

/// The counting of one input in progress ([`PixelCounts::begin`]): feed its events in time
/// order ([`CountRun::event`]), then [`CountRun::finish`].
pub struct CountRun {
    filter: SecondFilter,
    s: Second,
    first: Option<u64>,
    n: u64,
    with_orbit: bool,
}

impl CountRun {
    /// Adds an orbit sample later than those given (streaming from the simulator).
    pub fn orbit(&mut self, o: OrbitSample) {
        self.with_orbit = true;
        self.filter.push_orbit(o);
    }

    /// Counts one event (time order).
    pub fn event(&mut self, c: &mut PixelCounts, e: &Event) {
        let sec = e.tick / TICKS_PER_S;
        if sec != self.s.index {
            if self.s.index != u64::MAX {
                c.close(&mut self.s, &mut self.filter);
            }
            self.s.index = sec;
            self.first.get_or_insert(sec);
        }
        let k = usize::from(e.y) * 80 + usize::from(e.z);
        let s = &mut self.s;
        if let (Some(n), Some(l)) = (s.counts.get_mut(k), s.low.get_mut(k)) {
            if *n == 0 {
                s.touched.push(k as u16);
            }
            *n += 1;
            if e.pha <= c.low_max_pha.get(k).copied().unwrap_or(0) {
                *l += 1;
            }
        }
        s.events += 1;
        self.n += 1;
    }

    /// Ends the input: its last second judged, its time span checked against the others.
    ///
    /// # Errors
    /// [`CalibError::Invalid`] when it covers the time of an input already counted.
    pub fn finish(mut self, c: &mut PixelCounts, path: &Path) -> Result<(), CalibError> {
        if self.s.index != u64::MAX {
            c.close(&mut self.s, &mut self.filter);
        }
        if !self.with_orbit {
            c.without_orbit.push(path.to_path_buf());
        }
        c.events += self.n;
        c.good_s += self.filter.good_s;
        c.saa_s += self.filter.saa_s;
        c.rate_s += self.filter.rate_s;
        if let Some(f) = self.first {
            let last = self.s.index;
            if let Some(o) = c.spans.iter().find(|(_, a, b)| f <= *b && last >= *a) {
                return Err(CalibError::Invalid(format!(
                    "{} and {} cover the same time (seconds {}..{} and {f}..{last}): give each \
                     observation once",
                    o.0.display(),
                    path.display(),
                    o.1,
                    o.2,
                )));
            }
            c.spans.push((path.to_path_buf(), f, last));
        }
        Ok(())
    }
}

/// The verdict on one pixel.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct PixelVerdict {
    /// DETNUM.
    pub detnum: u16,
    /// Status in the tables given.
    pub before: &'static str,
    /// Status in the new table.
    pub after: &'static str,
    /// Rate over the good time, counts/s.
    pub rate_cps: f64,
    /// Expected rate, counts/s.
    pub expected_cps: f64,
    /// Low-band rate, counts/s.
    pub low_cps: f64,
    /// Expected low-band rate, counts/s.
    pub expected_low_cps: f64,
    /// Largest count in one good second.
    pub max_1s: u32,
    /// Significance (normal deviate) of the largest excess test (all, low, bursty), before
    /// the trials correction.
    pub z_noisy: f64,
    /// Significance of the deficit (dead test).
    pub z_dead: f64,
}

/// The whole result.
#[derive(Clone, Debug, Serialize)]
pub struct PixelAnalysis {
    /// Options used.
    pub options: PixelOptions,
    /// Good time, s.
    pub good_s: u64,
    /// Pixels tested.
    pub tested: usize,
    /// Threshold of the rate tests, as a normal deviate (trials included).
    pub z_threshold_rate: f64,
    /// Threshold of the bursty test, as a normal deviate (trials included).
    pub z_threshold_burst: f64,
    /// Mean rate of the reference pixels, counts/s.
    pub mean_rate_cps: f64,
    /// New noisy pixels (were not noisy).
    pub noisy: Vec<u16>,
    /// New dead pixels (were not dead).
    pub dead: Vec<u16>,
    /// Pixels back to `ok`.
    pub recovered: Vec<u16>,
    /// Pixels whose status could not be decided (too little good time): kept as they were.
    pub untested: Vec<u16>,
    /// Every pixel whose status changes.
    pub changes: Vec<PixelVerdict>,
    /// Per pixel (DETNUM order): rate, expected rate, and the signed significance (excess
    /// positive, deficit negative).
    #[serde(skip)]
    pub per_pixel: Vec<PixelVerdict>,
}

fn word(s: PixelStatus) -> &'static str {
    s.word().unwrap_or("unknown")
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mid = v.len() / 2;
    let (_, m, _) = v.select_nth_unstable_by(mid, f64::total_cmp);
    Some(*m)
}

/// Local medians of `rate` over the reference pixels in the window around each pixel.
fn local_median(rate: &[f64], reference: &[bool]) -> Vec<f64> {
    let h = WINDOW / 2;
    let mut out = vec![f64::NAN; PIXELS];
    let mut buf = Vec::with_capacity(WINDOW * WINDOW);
    for (k, o) in out.iter_mut().enumerate() {
        let (y, z) = (k / 80, k % 80);
        buf.clear();
        for yy in y.saturating_sub(h)..(y + h + 1).min(80) {
            for zz in z.saturating_sub(h)..(z + h + 1).min(80) {
                let j = yy * 80 + zz;
                if j != k && reference.get(j).copied().unwrap_or(false) {
                    buf.push(rate.get(j).copied().unwrap_or(0.0));
                }
            }
        }
        if let Some(m) = median(&mut buf) {
            *o = m;
        }
    }
    out
}

/// Decides every pixel's status from the counts and the current table.
///
/// # Errors
/// [`CalibError::Refused`] when there is no good time at all or no reference pixel.
pub fn analyse(
    c: &PixelCounts,
    table: &PixelTable,
    o: &PixelOptions,
) -> Result<(PixelAnalysis, Box<PixelTable>), CalibError> {
    if c.good_s == 0 {
        return Err(CalibError::Refused(format!(
            "no good time in the input ({} events, {} s in the SAA, {} s rejected by the rate \
             filter): nothing can be measured",
            c.events, c.saa_s, c.rate_s
        )));
    }
    let t = c.good_s as f64;
    let rate: Vec<f64> = c.counts.iter().map(|&n| n as f64 / t).collect();
    let low: Vec<f64> = c.low.iter().map(|&n| n as f64 / t).collect();
    let reference: Vec<bool> = table
        .entries
        .iter()
        .zip(&c.counts)
        .map(|(e, &n)| e.status == PixelStatus::Ok && n > 0)
        .collect();
    let refs: Vec<f64> =
        rate.iter().zip(&reference).filter(|(_, r)| **r).map(|(v, _)| *v).collect();
    if refs.is_empty() {
        return Err(CalibError::Refused(
            "no pixel of status ok counted anything over the good time: no reference rate".into(),
        ));
    }
    let mean_rate_cps = refs.iter().sum::<f64>() / refs.len() as f64;
    let exp_all = local_median(&rate, &reference);
    // The low band's expectation: the pixel's expected rate × the plane's median low/all
    // ratio (a local median of the low band would follow a cluster of low-efficiency modules).
    let mut ratios: Vec<f64> = rate
        .iter()
        .zip(&low)
        .zip(&reference)
        .filter(|((a, _), r)| **r && **a > 0.0)
        .map(|((a, l), _)| l / a)
        .collect();
    let low_ratio = median(&mut ratios).unwrap_or(0.0);
    let exp_low: Vec<f64> = exp_all.iter().map(|e| e * low_ratio).collect();
    let tested: Vec<usize> = (0..PIXELS)
        .filter(|&k| table.entries.get(k).is_some_and(|e| e.status != PixelStatus::HighThreshold))
        .collect();
    let n = tested.len().max(1) as f64;
    let ln_rate = (o.alpha / (2.0 * n)).ln();
    let ln_burst = (o.alpha / (n * t)).ln();
    let ln_dead = (o.alpha / n).ln();
    let mut new = Box::new(table.clone());
    let mut a = PixelAnalysis {
        options: o.clone(),
        good_s: c.good_s,
        tested: tested.len(),
        z_threshold_rate: z_of_ln_p(ln_rate),
        z_threshold_burst: z_of_ln_p(ln_burst),
        mean_rate_cps,
        noisy: Vec::new(),
        dead: Vec::new(),
        recovered: Vec::new(),
        untested: Vec::new(),
        changes: Vec::new(),
        per_pixel: Vec::with_capacity(PIXELS),
    };
    for k in 0..PIXELS {
        let Some(entry) = table.entries.get(k) else { continue };
        let before = entry.status;
        let n_all = c.counts.get(k).copied().unwrap_or(0);
        let n_low = c.low.get(k).copied().unwrap_or(0);
        let max = c.max_1s.get(k).copied().unwrap_or(0);
        let ea = exp_all.get(k).copied().unwrap_or(f64::NAN);
        let el = exp_low.get(k).copied().unwrap_or(f64::NAN);
        let mut v = PixelVerdict {
            detnum: k as u16,
            before: word(before),
            after: word(before),
            rate_cps: rate.get(k).copied().unwrap_or(0.0),
            expected_cps: ea,
            low_cps: low.get(k).copied().unwrap_or(0.0),
            expected_low_cps: el,
            max_1s: max,
            z_noisy: 0.0,
            z_dead: 0.0,
        };
        if before != PixelStatus::HighThreshold && ea.is_finite() && ea > 0.0 {
            let mu = ea * t;
            let p_all = ln_sf(n_all, o.min_ratio * mu);
            let p_low =
                if el.is_finite() && el > 0.0 { ln_sf(n_low, o.min_ratio * el * t) } else { 0.0 };
            let p_burst = ln_sf(u64::from(max), o.min_ratio * ea);
            let p_dead = ln_cdf(n_all, o.dead_fraction * mu);
            v.z_noisy = z_of_ln_p(p_all.min(p_low)).max(z_of_ln_p(p_burst));
            v.z_dead = z_of_ln_p(p_dead);
            let noisy = p_all < ln_rate || p_low < ln_rate || p_burst < ln_burst;
            let dead = p_dead < ln_dead;
            let decidable = -o.dead_fraction * mu < ln_dead;
            let after = if dead {
                PixelStatus::Dead
            } else if noisy {
                PixelStatus::Noisy
            } else if decidable {
                PixelStatus::Ok
            } else {
                a.untested.push(k as u16);
                before
            };
            if after != before {
                match after {
                    PixelStatus::Dead => a.dead.push(k as u16),
                    PixelStatus::Noisy => a.noisy.push(k as u16),
                    _ => a.recovered.push(k as u16),
                }
                if let Some(e) = new.entries.get_mut(k) {
                    e.status = after;
                }
                v.after = word(after);
                a.changes.push(v);
            }
        } else if before != PixelStatus::HighThreshold {
            a.untested.push(k as u16);
        }
        a.per_pixel.push(v);
    }
    if !a.changes.is_empty() {
        new.version = table.version.wrapping_add(1).max(1);
    }
    Ok((a, new))
}

/// The workplan slot of the changes (TOML, `docs/workplan.md`), ready to paste.
pub fn slot_toml(a: &PixelAnalysis, start_utc: &str) -> String {
    let list = |v: &[u16]| v.iter().map(u16::to_string).collect::<Vec<_>>().join(", ");
    let mut s = String::new();
    s.push_str("# eic-bench calib pixels: paste into a workplan (docs/workplan.md).\n");
    s.push_str(&format!(
        "# {} new noisy, {} new dead, {} recovered over {} s of good time.\n",
        a.noisy.len(),
        a.dead.len(),
        a.recovered.len(),
        a.good_s
    ));
    s.push_str("[[slot]]\nname = \"calib-pixels\"\n");
    s.push_str(&format!("start = {start_utc}   # end of the data: due at once\n"));
    s.push_str(&format!("pixels.noisy = [{}]\n", list(&a.noisy)));
    s.push_str(&format!("pixels.dead = [{}]\n", list(&a.dead)));
    s.push_str(&format!("pixels.ok = [{}]\n", list(&a.recovered)));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nominal() -> Box<PixelTable> {
        let mut t = Box::<PixelTable>::default();
        t.version = 3;
        t
    }

    fn counts_with(rate: f64, good_s: u64, f: impl Fn(usize) -> f64) -> PixelCounts {
        let mut c = PixelCounts::new(&nominal(), 8.0);
        let mut rng = tables::defaults::Rng::new(3);
        for k in 0..PIXELS {
            let mu = rate * f(k) * good_s as f64;
            // Normal approximation of a Poisson count (large μ).
            let n = (mu + mu.sqrt() * rng.normal()).round().max(0.0);
            c.counts[k] = n as u64;
            c.low[k] = (n * 0.4).round() as u64;
            c.max_1s[k] = (rate * f(k) * 6.0).ceil() as u32;
        }
        c.good_s = good_s;
        c
    }

    #[test]
    fn noisy_dead_and_recovered_are_found_and_nothing_else() {
        let mut table = nominal();
        let ok = |k: usize| table.entries[k].status == PixelStatus::Ok;
        let noisy: Vec<usize> = (100..6400).step_by(397).filter(|&k| ok(k)).take(10).collect();
        let dead: Vec<usize> = (150..6400).step_by(601).filter(|&k| ok(k)).take(5).collect();
        let healed = (200..6400).step_by(701).find(|&k| ok(k)).unwrap();
        table.entries[healed].status = PixelStatus::Noisy;
        let c = counts_with(0.8, 3600, |k| {
            if noisy.contains(&k) {
                3.0
            } else if dead.contains(&k) {
                0.0
            } else {
                1.0 + 0.2 * ((k / 80) as f64 / 80.0)
            }
        });
        let (a, new) = analyse(&c, &table, &PixelOptions::default()).unwrap();
        let want_noisy: Vec<u16> = noisy.iter().map(|&k| k as u16).collect();
        let want_dead: Vec<u16> = dead.iter().map(|&k| k as u16).collect();
        assert_eq!(a.noisy, want_noisy);
        assert_eq!(a.dead, want_dead);
        assert_eq!(a.recovered, vec![healed as u16]);
        assert!(a.untested.is_empty());
        assert_eq!(new.version, table.version + 1);
        assert_eq!(new.entries[noisy[0]].status, PixelStatus::Noisy);
        let mut problems = Vec::new();
        new.validate(&mut |p| problems.push(p));
        assert!(problems.is_empty(), "{problems:?}");
        let slot = slot_toml(&a, "2026-03-01T12:00:00Z");
        assert!(slot.contains(&format!("pixels.ok = [{healed}]")), "{slot}");
    }

    #[test]
    fn too_little_time_leaves_statuses_and_lists_the_pixels() {
        let table = nominal();
        let c = counts_with(0.8, 5, |_| 1.0);
        let (a, new) = analyse(&c, &table, &PixelOptions::default()).unwrap();
        assert!(a.noisy.is_empty() && a.dead.is_empty());
        assert!(a.untested.len() > 6000, "{}", a.untested.len());
        assert_eq!(new.version, table.version);
        let mut none = counts_with(0.8, 5, |_| 1.0);
        none.good_s = 0;
        assert!(matches!(
            analyse(&none, &table, &PixelOptions::default()),
            Err(CalibError::Refused(_))
        ));
    }
}
