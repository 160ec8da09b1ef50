//! The model target: a seeded statistical model of the trigger's sensitivity, **not the
//! trigger**. It turns a scenario into expected counts (effective area × coding fraction ×
//! live pixels, background over the plane), draws fluctuations from the scenario's seed, and
//! applies the thresholds of the table set the way the CRT and IMT do (rate SNR per timescale
//! then image SNR; image SNR per accumulation; minimum alert SNR; SAA inhibit; catalogue).
//!
//! It exists so campaigns, reports, shards and sweeps can be exercised in seconds and without
//! the on-board code: every decision depends on the tables, and baseline and candidate see the
//! same random draws (common random numbers), so a difference between them comes from the
//! tables alone. Recorded event files need the real trigger (`local` or `--on DEVICE`).

use tables::defaults::Rng;

use super::suite::{ScenarioInstance, ScenarioKind};
use super::target::{Alert, AlertDetail, Tables, Target, TargetError, r90_law_arcmin};

/// On-axis effective area in the 5–50 keV band, cm² (mask 40 % open over 1024 cm²).
pub const AREA_CM2: f64 = 400.0;
/// Image SNR obtained per unit of ideal (counting) SNR: the coded-mask imaging penalty.
pub const IMAGE_EFFICIENCY: f64 = 0.6;
/// Independent sky pixels searched per image (199 × 199, ICD §4).
pub const SKY_PIXELS: f64 = 39_601.0;
/// Mask half-width minus detector half-width (fully coded below), mm.
const FULLY_CODED_MM: f64 = 82.0;
/// Mask half-width plus detector half-width (not coded beyond), mm.
const NOT_CODED_MM: f64 = 442.0;
/// Mask height above the detector, mm.
const MASK_HEIGHT_MM: f64 = 460.0;
/// Step of the SAA inhibit check along the orbit, s.
const SAA_STEP_S: f64 = 10.0;

/// The model target (stateless).
#[derive(Debug, Default, Clone, Copy)]
pub struct ModelTarget;

/// Fraction of the detector coded by the mask in one projected angle.
fn coded_1d(angle_deg: f64) -> f64 {
    let d = MASK_HEIGHT_MM * angle_deg.to_radians().tan().abs();
    ((NOT_CODED_MM - d) / (NOT_CODED_MM - FULLY_CODED_MM)).clamp(0.0, 1.0)
}

/// Coding fraction of a direction (product over both axes).
pub fn coding_fraction(y_deg: f64, z_deg: f64) -> f64 {
    coded_1d(y_deg) * coded_1d(z_deg)
}

/// Live fraction of the plane from the pixel table: the summed efficiency of pixels in use.
pub fn live_fraction(t: &Tables) -> f64 {
    let e = &t.set.pixels.entries;
    let live: f64 = e
        .iter()
        .filter(|p| p.status.in_trigger())
        .map(|p| f64::from(p.efficiency.clamp(0.0, 1.0)))
        .sum();
    live / e.len().max(1) as f64
}

/// Upper tail of the standard normal, Q(x) = P(N > x) (Abramowitz–Stegun 7.1.26 on erfc).
pub fn normal_tail(x: f64) -> f64 {
    if x < 0.0 {
        return 1.0 - normal_tail(-x);
    }
    let z = x / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    0.5 * poly * (-z * z).exp()
}

/// Seeded draws for one scenario: the same stream for every table set.
struct Draws(Rng);

impl Draws {
    fn new(s: &ScenarioInstance, stream: u64) -> Self {
        let id = u64::from(tc_tm::crc::crc32(s.id.as_bytes()));
        Draws(Rng::new(s.seed ^ (id << 20) ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15)))
    }
    fn uniform(&mut self) -> f64 {
        self.0.uniform()
    }
    /// Standard normal (Box–Muller, unclipped: the tails matter here).
    fn normal(&mut self) -> f64 {
        let u1 = self.0.uniform().max(1e-300);
        let u2 = self.0.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
    /// Poisson count of mean `lambda` by inversion of one uniform (monotone in `lambda`).
    fn poisson(&mut self, lambda: f64) -> usize {
        let u = self.0.uniform();
        let (mut k, mut p) = (0usize, (-lambda).exp());
        let mut cdf = p;
        while u > cdf && k < 10_000 {
            k += 1;
            p *= lambda / k as f64;
            cdf += p;
        }
        k
    }
}

/// Rates of one scenario under a table set.
struct Rates {
    /// Source counts/s on the plane while the burst or source shines.
    source_cps: f64,
    /// Background counts/s on the plane.
    background_cps: f64,
}

fn rates(s: &ScenarioInstance, t: &Tables) -> Rates {
    let live = live_fraction(t);
    let (flux, y, z) = match s.scenario {
        ScenarioKind::Burst { peak_flux, y_deg, z_deg, .. } => (peak_flux, y_deg, z_deg),
        ScenarioKind::Source { flux, y_deg, z_deg, .. } => (flux, y_deg, z_deg),
        _ => (0.0, 0.0, 0.0),
    };
    Rates {
        source_cps: flux * AREA_CM2 * coding_fraction(y, z) * live,
        background_cps: s.background_cps * live,
    }
}

/// Image SNR of `n_s` source counts over `n_b` background counts.
fn image_snr(n_s: f64, n_b: f64) -> f64 {
    if n_s + n_b <= 0.0 { 0.0 } else { IMAGE_EFFICIENCY * n_s / (n_s + n_b).sqrt() }
}

/// Times (s) at which the trigger is inhibited, sampled every [`SAA_STEP_S`].
fn saa_inhibit(s: &ScenarioInstance, t: &Tables) -> Vec<bool> {
    let ScenarioKind::Saa { start_lon_deg, .. } = s.scenario else { return Vec::new() };
    let n = (s.length_s / SAA_STEP_S).ceil() as usize + 1;
    (0..n)
        .map(|i| {
            let (lon, lat) = ScenarioInstance::orbit_position(start_lon_deg, i as f64 * SAA_STEP_S);
            t.set.saa.contains(lon as f32, lat as f32)
        })
        .collect()
}

fn inhibited(mask: &[bool], time_s: f64) -> bool {
    mask.get((time_s / SAA_STEP_S).floor().max(0.0) as usize).copied().unwrap_or(false)
}

/// Offsets the true direction by a draw from the law's error distribution.
fn localise(d: &mut Draws, y: f64, z: f64, snr: f64) -> (f64, f64, f64) {
    let r90 = r90_law_arcmin(snr);
    let sigma = r90 / (2.0 * 10f64.ln()).sqrt();
    let r = sigma * (-2.0 * d.uniform().max(1e-300).ln()).sqrt() / 60.0;
    let phi = std::f64::consts::TAU * d.uniform();
    (y + r * phi.cos(), z + r * phi.sin(), r90)
}

/// The first CRT alert on a top-hat excess of `rate` counts/s from `onset` for `dur` s.
fn crt_alert(
    d: &mut Draws,
    t: &Tables,
    r: &Rates,
    onset: f64,
    dur: f64,
    dir: (f64, f64),
) -> Option<Alert> {
    let min_alert = f64::from(t.set.alert.min_alert_snr);
    let image_thr = f64::from(t.set.crt.image_snr).max(min_alert);
    let mut best: Option<Alert> = None;
    // One pair of draws per timescale slot, whatever the table says, so that table sets of
    // different lengths still share draws slot by slot.
    for slot in 0..tables::MAX_TIMESCALES {
        let (g_rate, g_img) = (d.normal(), d.normal());
        let Some(ts) = t.set.crt.timescales.get(slot) else { continue };
        let Some(&rate_thr) = ts.rate_snr.first() else { continue };
        let span = f64::from(ts.duration_ms) / 1000.0;
        let n_s = r.source_cps * dur.min(span);
        let n_b = r.background_cps * span;
        let rate_snr = n_s / n_b.max(1e-9).sqrt() + g_rate;
        if rate_snr < f64::from(rate_thr) {
            continue;
        }
        let snr = image_snr(n_s, n_b) + g_img;
        if snr < image_thr {
            continue;
        }
        let time_s = onset + dur.min(span);
        if best.as_ref().is_none_or(|b| time_s < b.time_s) {
            best = Some(Alert {
                trigger: "CRT".into(),
                time_s,
                timescale_ms: ts.duration_ms,
                snr,
                y_deg: dir.0,
                z_deg: dir.1,
                r90_arcmin: 0.0,
                catalog_id: None,
            });
        }
    }
    best
}

/// The first IMT alert: images over each accumulation ending at every cycle boundary.
fn imt_alert(
    d: &mut Draws,
    t: &Tables,
    r: &Rates,
    onset: f64,
    dur: f64,
    length: f64,
    dir: (f64, f64),
) -> Option<Alert> {
    let cycle = f64::from(t.set.imt.cycle_ms.max(1)) / 1000.0;
    let min_alert = f64::from(t.set.alert.min_alert_snr);
    let mut best: Option<Alert> = None;
    // Draws are indexed by (slot, window) on a fixed 20.48 s grid of at most 256 windows.
    let mut noise = vec![[0.0f64; 256]; tables::MAX_ACCUMULATIONS];
    for row in &mut noise {
        for g in row.iter_mut() {
            *g = d.normal();
        }
    }
    for (slot, acc) in t.set.imt.accumulations.iter().enumerate() {
        let span = cycle * f64::from(acc.cycles);
        let thr = f64::from(acc.snr).max(min_alert);
        let first = (onset / cycle).floor() as usize + 1;
        let last = (((onset + dur + span) / cycle).ceil() as usize).max(first);
        for (w, end_idx) in (first..=last).enumerate().take(256) {
            let end = end_idx as f64 * cycle;
            if end > length || end - span < 0.0 {
                continue;
            }
            let overlap = (end.min(onset + dur) - (end - span).max(onset)).max(0.0);
            let n_s = r.source_cps * overlap;
            let n_b = r.background_cps * span;
            let g = noise.get(slot).and_then(|row| row.get(w)).copied().unwrap_or(0.0);
            let snr = image_snr(n_s, n_b) + g;
            if snr >= thr {
                if best.as_ref().is_none_or(|b| end < b.time_s) {
                    best = Some(Alert {
                        trigger: "IMT".into(),
                        time_s: end,
                        timescale_ms: (span * 1000.0).round() as u32,
                        snr,
                        y_deg: dir.0,
                        z_deg: dir.1,
                        r90_arcmin: 0.0,
                        catalog_id: None,
                    });
                }
                break;
            }
        }
    }
    best
}

/// False alerts from background fluctuations over `length` s: Poisson counts whose means come
/// from the thresholds, with times, directions and SNRs from the scenario's seed.
fn false_alerts(d: &mut Draws, t: &Tables, length: f64) -> Vec<Alert> {
    let min_alert = f64::from(t.set.alert.min_alert_snr);
    let mut out = Vec::new();
    let mut emit = |d: &mut Draws, trigger: &str, mean: f64, thr: f64, span_ms: u32| {
        let n = d.poisson(mean);
        for _ in 0..n {
            let time_s = d.uniform() * length;
            let y = (d.uniform() - 0.5) * 80.0;
            let z = (d.uniform() - 0.5) * 80.0;
            let snr = thr - d.uniform().max(1e-300).ln() / thr;
            out.push(Alert {
                trigger: trigger.into(),
                time_s,
                timescale_ms: span_ms,
                snr,
                y_deg: y,
                z_deg: z,
                r90_arcmin: 0.0,
                catalog_id: None,
            });
        }
    };
    let image_thr = f64::from(t.set.crt.image_snr).max(min_alert);
    for slot in 0..tables::MAX_TIMESCALES {
        let mut sub = Draws(Rng::new(d.0.next_u64()));
        let Some(ts) = t.set.crt.timescales.get(slot) else { continue };
        let Some(&rate_thr) = ts.rate_snr.first() else { continue };
        let span = f64::from(ts.duration_ms) / 1000.0;
        let mean = length / span
            * normal_tail(f64::from(rate_thr))
            * (SKY_PIXELS * normal_tail(image_thr)).min(1.0);
        emit(&mut sub, "CRT", mean, image_thr, ts.duration_ms);
    }
    let cycle = f64::from(t.set.imt.cycle_ms.max(1)) / 1000.0;
    for slot in 0..tables::MAX_ACCUMULATIONS {
        let mut sub = Draws(Rng::new(d.0.next_u64()));
        let Some(acc) = t.set.imt.accumulations.get(slot) else { continue };
        let span = cycle * f64::from(acc.cycles);
        let thr = f64::from(acc.snr).max(min_alert);
        let mean = length / span * SKY_PIXELS * normal_tail(thr);
        emit(&mut sub, "IMT", mean, thr, (span * 1000.0).round() as u32);
    }
    out
}

impl Target for ModelTarget {
    fn name(&self) -> String {
        "model (statistical model of the trigger, not the on-board code)".into()
    }

    fn run(&self, s: &ScenarioInstance, t: &Tables) -> Result<Vec<Alert>, TargetError> {
        let r = rates(s, t);
        let mut alerts = Vec::new();
        match &s.scenario {
            ScenarioKind::Burst { duration_s, onset_s, y_deg, z_deg, .. } => {
                let mut d = Draws::new(s, 1);
                let c = crt_alert(&mut d, t, &r, *onset_s, *duration_s, (*y_deg, *z_deg));
                let mut d = Draws::new(s, 2);
                let i =
                    imt_alert(&mut d, t, &r, *onset_s, *duration_s, s.length_s, (*y_deg, *z_deg));
                alerts.extend(c);
                alerts.extend(i);
            }
            ScenarioKind::Source { catalog_id, flux, y_deg, z_deg } => {
                let mut d = Draws::new(s, 2);
                let i = imt_alert(&mut d, t, &r, 0.0, s.length_s, s.length_s, (*y_deg, *z_deg));
                if let Some(mut a) = i {
                    match t.set.catalog.by_id(*catalog_id) {
                        // A known source alerts only above its flux threshold, and says so.
                        Some(src) => {
                            let thr = src.flux_threshold.first().copied().unwrap_or(f32::MAX);
                            if *flux > f64::from(thr) {
                                a.catalog_id = Some(*catalog_id);
                                alerts.push(a);
                            }
                        }
                        // Not in the catalogue: a new source for the trigger.
                        None => alerts.push(a),
                    }
                }
            }
            ScenarioKind::Background | ScenarioKind::Saa { .. } => {}
            ScenarioKind::Recorded { events, .. } => {
                return Err(TargetError {
                    scenario: s.id.clone(),
                    reason: format!(
                        "recorded event file {} needs the trigger itself: run with --target local \
                         or --on DEVICE",
                        events.display()
                    ),
                });
            }
        }
        let mut d = Draws::new(s, 3);
        alerts.extend(false_alerts(&mut d, t, s.length_s));
        let mask = saa_inhibit(s, t);
        alerts.retain(|a| !inhibited(&mask, a.time_s));
        let mut d = Draws::new(s, 4);
        for a in &mut alerts {
            let (y, z, r90) = localise(&mut d, a.y_deg, a.z_deg, a.snr);
            (a.y_deg, a.z_deg, a.r90_arcmin) = (y, z, r90);
        }
        alerts.sort_by(|a, b| a.time_s.total_cmp(&b.time_s).then(a.trigger.cmp(&b.trigger)));
        Ok(alerts)
    }

    fn detail(&self, s: &ScenarioInstance, t: &Tables, a: &Alert) -> Option<AlertDetail> {
        let r = rates(s, t);
        let (onset, dur) = match s.scenario {
            ScenarioKind::Burst { onset_s, duration_s, .. } => (onset_s, duration_s),
            ScenarioKind::Source { .. } => (0.0, s.length_s),
            _ => (0.0, 0.0),
        };
        let span = f64::from(a.timescale_ms) / 1000.0;
        let bin_s = (span / 8.0).clamp(0.01, 60.0);
        let start_s = (a.time_s - 2.0 * span - 10.0 * bin_s).max(0.0);
        let bins = 80usize;
        let mut d = Draws::new(s, 5);
        let counts = (0..bins)
            .map(|i| {
                let lo = start_s + i as f64 * bin_s;
                let overlap = ((lo + bin_s).min(onset + dur) - lo.max(onset)).max(0.0);
                let mean = r.background_cps * bin_s + r.source_cps * overlap;
                (mean + mean.sqrt() * d.normal()).max(0.0).round()
            })
            .collect();
        let side = 24usize;
        let half = 45.0;
        let pix = 2.0 * half / side as f64;
        let psf = 0.8 * pix;
        let sky_snr = (0..side * side)
            .map(|k| {
                let y = -half + (k / side) as f64 * pix + pix / 2.0;
                let z = -half + (k % side) as f64 * pix + pix / 2.0;
                let r2 = (y - a.y_deg).powi(2) + (z - a.z_deg).powi(2);
                d.normal() + a.snr * (-r2 / (2.0 * psf * psf)).exp()
            })
            .collect();
        Some(AlertDetail { bin_s, start_s, counts, sky_side: side, sky_snr, sky_half_deg: half })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regress::suite::{Expected, ScenarioKind};

    fn burst(flux: f64, dur: f64, seed: u64) -> ScenarioInstance {
        ScenarioInstance {
            id: format!("b/f={flux}/s{seed}"),
            family: "b".into(),
            seed,
            length_s: 600.0,
            background_cps: 4000.0,
            scenario: ScenarioKind::Burst {
                peak_flux: flux,
                duration_s: dur,
                onset_s: 200.0,
                y_deg: 0.0,
                z_deg: 0.0,
            },
            expected: vec![Expected {
                y_deg: 0.0,
                z_deg: 0.0,
                onset_s: 200.0,
                duration_s: dur,
                peak_flux: flux,
            }],
        }
    }

    fn defaults() -> Tables {
        Tables::from_set("b", tables::defaults::default_set()).unwrap()
    }

    #[test]
    fn tail_matches_known_values() {
        assert!((normal_tail(0.0) - 0.5).abs() < 1e-6);
        assert!((normal_tail(3.0) / 1.349_898e-3 - 1.0).abs() < 1e-3);
        assert!((normal_tail(6.5) / 4.016e-11 - 1.0).abs() < 0.02);
    }

    #[test]
    fn coding_falls_off_the_axis() {
        assert_eq!(coding_fraction(0.0, 0.0), 1.0);
        assert!(coding_fraction(30.0, 0.0) < 0.7);
        assert_eq!(coding_fraction(50.0, 0.0), 0.0);
    }

    #[test]
    fn bright_bursts_are_seen_faint_ones_not() {
        let t = defaults();
        let m = ModelTarget;
        let bright = m.run(&burst(20.0, 10.0, 1), &t).unwrap();
        assert!(bright.iter().any(|a| (a.y_deg.abs() < 1.0) && a.time_s >= 200.0));
        let faint = m.run(&burst(0.01, 10.0, 1), &t).unwrap();
        assert!(
            faint.iter().all(|a| !(a.time_s >= 200.0 && a.time_s < 230.0 && a.y_deg.abs() < 1.0))
        );
    }

    #[test]
    fn deterministic_and_threshold_dependent() {
        let t = defaults();
        let m = ModelTarget;
        let s = burst(0.6, 10.0, 3);
        assert_eq!(m.run(&s, &t).unwrap(), m.run(&s, &t).unwrap());
        // A threshold raised enough loses every burst alert of a moderate burst.
        let mut set = tables::defaults::default_set();
        for a in &mut set.imt.accumulations {
            a.snr = 30.0;
        }
        set.crt.image_snr = 30.0;
        let high = Tables::from_set("c", set).unwrap();
        let n_base =
            (1..20).filter(|&k| !m.run(&burst(1.0, 10.0, k), &t).unwrap().is_empty()).count();
        let n_high =
            (1..20).filter(|&k| !m.run(&burst(1.0, 10.0, k), &high).unwrap().is_empty()).count();
        assert!(n_high < n_base, "{n_high} vs {n_base}");
    }

    #[test]
    fn lower_thresholds_give_more_false_alerts() {
        let m = ModelTarget;
        let bkg = ScenarioInstance {
            id: "bkg/s1".into(),
            family: "bkg".into(),
            seed: 1,
            length_s: 24.0 * 3600.0,
            background_cps: 4000.0,
            scenario: ScenarioKind::Background,
            expected: vec![],
        };
        let mut set = tables::defaults::default_set();
        for a in &mut set.imt.accumulations {
            a.snr = 5.0;
        }
        set.alert.min_alert_snr = 5.0;
        let low = Tables::from_set("low", set).unwrap();
        let n_low = m.run(&bkg, &low).unwrap().len();
        let n_def = m.run(&bkg, &defaults()).unwrap().len();
        assert!(n_low > n_def, "{n_low} vs {n_def}");
    }
}
