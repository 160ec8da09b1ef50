//! Sources seen through the mask: light curves, spectra and per-pixel shadows.
//!
//! **From photon flux to counts.** A point source of photon flux F (ph cm⁻² s⁻¹ in the
//! simulated band) at projected angles (y, z) gives pixel k an expected rate
//! `F × 0.16 cm² × lit_k(y, z) × cos θ`, where `lit_k` is
//! [`onboard::trigger::geometry::pixel_illumination`] (the fraction of the pixel's 4 × 4 mm
//! sensitive area that sees the source through an open mask element) and θ the off-axis angle
//! ([`onboard::trigger::geometry::off_axis_cosine`]). On axis about 40 % of the 6 400 pixels
//! are lit: an effective area of about 410 cm², so 1 ph cm⁻² s⁻¹ gives about 410 counts/s
//! before pixel efficiency, dead pixels and thresholds (applied per event).

use onboard::trigger::geometry::{self as geo, DET_PIXELS};

use super::rng::Rng;

/// Sensitive area of one pixel, cm² (4 × 4 mm).
pub const PIXEL_AREA_CM2: f64 = 0.16;

/// Fast-rise exponential-decay pulse (Norris et al. 1996): 0 before `t0`, 1 at the peak
/// `t0 + rise`, then `≈ exp(−(t − peak)/decay)`; τ₁ = rise²/decay, τ₂ = decay.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fred {
    /// Onset, seconds since MJDREF.
    pub t0_s: f64,
    /// Onset to peak, s.
    pub rise_s: f64,
    /// Decay e-folding, s.
    pub decay_s: f64,
}

impl Fred {
    /// The pulse at `t_s` (peak 1).
    pub fn at(&self, t_s: f64) -> f64 {
        let dt = t_s - self.t0_s;
        if dt <= 0.0 {
            return 0.0;
        }
        let tau1 = self.rise_s * self.rise_s / self.decay_s;
        let tau2 = self.decay_s;
        let peak = 2.0 * (tau1 / tau2).sqrt();
        (peak - tau1 / dt - dt / tau2).exp()
    }

    /// Time after which the pulse stays below 10⁻⁶ of its peak.
    pub fn end_s(&self) -> f64 {
        self.t0_s + self.rise_s + 14.0 * self.decay_s
    }
}

/// A photon spectrum on `[e_min, e_max]` keV, sampled by inverse CDF.
#[derive(Clone, Debug, PartialEq)]
pub enum Spectrum {
    /// dN/dE ∝ E^−index.
    PowerLaw {
        /// Photon index.
        index: f64,
        /// Band, keV.
        e_min: f64,
        /// Band, keV.
        e_max: f64,
    },
    /// A tabulated inverse CDF: `table[i]` is the energy at quantile i/(n−1).
    Table(Vec<f64>),
}

impl Spectrum {
    /// The cosmic X-ray background photon spectrum (Moretti et al. 2009, as used by the
    /// ECLAIRs team: dN/dE = C / ((E/Eb)^1.40 + (E/Eb)^2.88), Eb = 29 keV), tabulated.
    pub fn cxb(e_min: f64, e_max: f64) -> Self {
        let f = |e: f64| 1.0 / ((e / 29.0).powf(1.40) + (e / 29.0).powf(2.88));
        Self::tabulate(e_min, e_max, f)
    }

    fn tabulate(e_min: f64, e_max: f64, f: impl Fn(f64) -> f64) -> Self {
        const FINE: usize = 4096;
        const OUT: usize = 1025;
        let (l0, l1) = (e_min.ln(), e_max.ln());
        // Cumulative integral on a log grid (dE = E dlnE), trapezoids.
        let mut e = Vec::with_capacity(FINE + 1);
        let mut cum = Vec::with_capacity(FINE + 1);
        let mut acc = 0.0;
        let mut prev = f(e_min) * e_min;
        for i in 0..=FINE {
            let x = (l0 + (l1 - l0) * i as f64 / FINE as f64).exp();
            let y = f(x) * x;
            if i > 0 {
                acc += 0.5 * (y + prev) * (l1 - l0) / FINE as f64;
            }
            prev = y;
            e.push(x);
            cum.push(acc);
        }
        let total = acc.max(f64::MIN_POSITIVE);
        let mut table = Vec::with_capacity(OUT);
        let mut j = 0;
        for k in 0..OUT {
            let q = total * k as f64 / (OUT - 1) as f64;
            while j + 1 < cum.len() && cum[j + 1] < q {
                j += 1;
            }
            let (c0, c1) = (cum[j], cum.get(j + 1).copied().unwrap_or(cum[j]));
            let (e0, e1) = (e[j], e.get(j + 1).copied().unwrap_or(e[j]));
            let w = if c1 > c0 { ((q - c0) / (c1 - c0)).clamp(0.0, 1.0) } else { 0.0 };
            table.push(e0 + w * (e1 - e0));
        }
        Spectrum::Table(table)
    }

    /// One photon energy, keV.
    pub fn sample(&self, rng: &mut Rng) -> f64 {
        let u = rng.uniform();
        match self {
            Spectrum::PowerLaw { index, e_min, e_max } => {
                let g = 1.0 - index;
                if g.abs() < 1e-9 {
                    e_min * (e_max / e_min).powf(u)
                } else {
                    let (a, b) = (e_min.powf(g), e_max.powf(g));
                    (a + u * (b - a)).powf(1.0 / g)
                }
            }
            Spectrum::Table(t) => {
                let x = u * (t.len() - 1) as f64;
                let i = x as usize;
                let w = x - i as f64;
                let a = t.get(i).copied().unwrap_or(0.0);
                let b = t.get(i + 1).copied().unwrap_or(a);
                a + w * (b - a)
            }
        }
    }
}

/// Where photons of a component land: a cumulative distribution over the 6 400 pixels.
#[derive(Clone, Debug, PartialEq)]
pub struct PixelCdf {
    cum: Vec<f64>,
}

impl PixelCdf {
    /// From per-pixel weights (any non-negative scale); `None` if they sum to zero.
    pub fn new(weights: &[f32]) -> Option<Self> {
        let mut acc = 0.0f64;
        let cum: Vec<f64> = weights
            .iter()
            .map(|&w| {
                acc += f64::from(w.max(0.0));
                acc
            })
            .collect();
        (acc > 0.0).then_some(PixelCdf { cum })
    }

    /// Equal weights.
    pub fn uniform() -> Self {
        PixelCdf { cum: (1..=DET_PIXELS).map(|k| k as f64).collect() }
    }

    /// Sum of the weights.
    pub fn total(&self) -> f64 {
        self.cum.last().copied().unwrap_or(0.0)
    }

    /// A pixel index drawn with probability proportional to its weight.
    pub fn sample(&self, rng: &mut Rng) -> usize {
        let x = rng.uniform() * self.total();
        self.cum.partition_point(|&c| c <= x).min(self.cum.len().saturating_sub(1))
    }
}

/// The shadow of a point source at projected angles: pixel distribution and effective area.
#[derive(Clone, Debug, PartialEq)]
pub struct Shadow {
    /// Where the counts land, `None` when nothing is lit (outside the field of view).
    pub cdf: Option<PixelCdf>,
    /// Effective area, cm² (before per-pixel efficiency and thresholds).
    pub area_cm2: f64,
}

impl Shadow {
    /// The shadow of a source at (`y_deg`, `z_deg`).
    pub fn at(y_deg: f64, z_deg: f64) -> Self {
        if y_deg.abs() >= 89.0 || z_deg.abs() >= 89.0 {
            return Shadow { cdf: None, area_cm2: 0.0 };
        }
        let mut lit = [0f32; DET_PIXELS];
        geo::pixel_illumination(y_deg as f32, z_deg as f32, &mut lit);
        let cos = f64::from(geo::off_axis_cosine(y_deg as f32, z_deg as f32));
        let cdf = PixelCdf::new(&lit);
        let area_cm2 = cdf.as_ref().map_or(0.0, |c| c.total() * PIXEL_AREA_CM2 * cos);
        Shadow { cdf, area_cm2 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fred_peaks_at_rise_and_decays() {
        let f = Fred { t0_s: 10.0, rise_s: 0.5, decay_s: 5.0 };
        assert_eq!(f.at(9.0), 0.0);
        assert!((f.at(10.5) - 1.0).abs() < 1e-12);
        assert!(f.at(10.4) < 1.0 && f.at(10.6) < 1.0);
        let r = f.at(40.5) / f.at(35.5);
        assert!((r - (-1.0f64).exp()).abs() < 0.01, "{r}");
        assert!(f.at(f.end_s()) < 1e-6);
    }

    #[test]
    fn spectra_stay_in_band_and_have_the_right_slope() {
        let mut rng = Rng::new(7);
        let pl = Spectrum::PowerLaw { index: 2.0, e_min: 4.0, e_max: 150.0 };
        let cxb = Spectrum::cxb(4.0, 150.0);
        let (mut lo, n) = (0, 20_000);
        for _ in 0..n {
            let e = pl.sample(&mut rng);
            assert!((4.0..=150.0).contains(&e));
            lo += usize::from(e < 8.0);
            let c = cxb.sample(&mut rng);
            assert!((4.0 - 1e-9..=150.0 + 1e-9).contains(&c), "{c}");
        }
        // E^-2 on 4..150: P(E < 8) = (1/4 - 1/8) / (1/4 - 1/150) = 0.5137.
        let p = lo as f64 / n as f64;
        assert!((p - 0.5137).abs() < 0.015, "{p}");
    }

    #[test]
    fn on_axis_area_is_the_open_fraction_of_the_plane() {
        let s = Shadow::at(0.0, 0.0);
        let open = f64::from(geo::MASK_OPEN_FRACTION);
        let plane = 6400.0 * PIXEL_AREA_CM2;
        assert!((s.area_cm2 / plane - open).abs() < 0.05, "{} cm²", s.area_cm2);
        assert_eq!(Shadow::at(60.0, 60.0).area_cm2, 0.0);
    }
}
