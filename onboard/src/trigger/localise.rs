//! Fine localisation of a detected peak, below the sky-pixel scale.
//!
//! The sky image's pixels are 0.56° (33.6′) wide and the peak search refines to a fraction of
//! a pixel by interpolation. Before an alert is issued, the position is refined against the
//! exact geometry instead: for a trial direction d, the shadow m_p(d) of a point source
//! (`geometry::pixel_illumination`, the lit fraction of each pixel) gives the balanced
//! decoding weights g_p = m_p − β(1 − m_p), β = Σ m_p / Σ (1 − m_p) over the pixels in use (so
//! a flat shadowgram decodes to 0), and the score SNR(d) = Σ D_p g_p / √(Σ V_p g_p²) with D and
//! V the shadowgram and its variance. The score is maximised by a pattern search on a grid
//! of directions that halves its step from a third of a sky pixel to 1/24 of one (1.4′),
//! [`ROUNDS`] rounds of the 3 × 3 neighbourhood. About 30 shadows are computed per alert,
//! a few milliseconds; it is only done for detections the alert policy will issue.

use tables::pixels::PIXELS;

use super::geometry::{self, SKY_PIXEL_DEG};

/// Rounds of the pattern search.
pub const ROUNDS: usize = 4;

/// Score of a trial direction (see the module documentation); 0 when undefined.
pub fn score(
    y_deg: f32,
    z_deg: f32,
    counts: &[f32; PIXELS],
    variance: &[f32; PIXELS],
    active: &[bool; PIXELS],
    shadow: &mut [f32; PIXELS],
) -> f32 {
    geometry::pixel_illumination(y_deg, z_deg, shadow);
    let (mut lit, mut dark) = (0f64, 0f64);
    for (&m, &a) in shadow.iter().zip(active) {
        if a {
            lit += f64::from(m);
            dark += 1.0 - f64::from(m);
        }
    }
    if lit <= 0.0 || dark <= 0.0 {
        return 0.0;
    }
    let beta = lit / dark;
    let (mut s, mut v) = (0f64, 0f64);
    for (((&m, &a), &d), &var) in shadow.iter().zip(active).zip(counts).zip(variance) {
        if a {
            let g = f64::from(m) - beta * (1.0 - f64::from(m));
            s += f64::from(d) * g;
            v += f64::from(var) * g * g;
        }
    }
    if v > 0.0 { (s / libm::sqrt(v)) as f32 } else { 0.0 }
}

/// Refines (`y_deg`, `z_deg`) by maximising [`score`]; returns the refined direction and its
/// score.
pub fn refine(
    y_deg: f32,
    z_deg: f32,
    counts: &[f32; PIXELS],
    variance: &[f32; PIXELS],
    active: &[bool; PIXELS],
    shadow: &mut [f32; PIXELS],
) -> (f32, f32, f32) {
    let mut best = (y_deg, z_deg, score(y_deg, z_deg, counts, variance, active, shadow));
    let mut step = SKY_PIXEL_DEG / 3.0;
    for _ in 0..ROUNDS {
        let (cy, cz) = (best.0, best.1);
        for dy in [-1.0f32, 0.0, 1.0] {
            for dz in [-1.0f32, 0.0, 1.0] {
                if dy == 0.0 && dz == 0.0 {
                    continue;
                }
                let (y, z) = (cy + dy * step, cz + dz * step);
                let s = score(y, z, counts, variance, active, shadow);
                if s > best.2 {
                    best = (y, z, s);
                }
            }
        }
        step *= 0.5;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::boxed::Box;

    #[test]
    fn refinement_finds_a_source_between_sky_pixels() {
        super::super::big_stack(|| {
            let (y0, z0) = (7.23f32, -12.61f32);
            let mut shadow = Box::new([0f32; PIXELS]);
            geometry::pixel_illumination(y0, z0, &mut shadow);
            let counts: Box<[f32; PIXELS]> = Box::new(shadow.map(|m| 30.0 * m + 20.0));
            let active = Box::new([true; PIXELS]);
            // Start a third of a sky pixel away, as the peak search may.
            let (y, z, s) = refine(y0 + 0.2, z0 - 0.15, &counts, &counts, &active, &mut shadow);
            assert!((y - y0).abs() < 0.03 && (z - z0).abs() < 0.03, "{y} {z}");
            assert!(s > 10.0);
        });
    }
}
