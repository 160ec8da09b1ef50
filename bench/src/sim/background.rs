//! Background: the diffuse sky (cosmic X-ray background) through the mask, and a flat
//! particle component.
//!
//! **CXB shadowgram.** The expected CXB counts at detector point d are proportional to the
//! projected solid angle of the open mask seen from d, `∫ cos θ dΩ` over the open elements:
//! with the mask at height h, `cos θ dΩ = h² dA / (h² + |m − d|²)²` over mask-plane points m,
//! whose integral over a rectangle has the closed form of the differential-area-to-rectangle
//! view factor, `G(X, Y) = ½ [X/√(1+X²) atan(Y/√(1+X²)) + Y/√(1+Y²) atan(X/√(1+Y²))]` at the
//! corners (X, Y in units of h, signed sum over the four corners). The map is that sum over
//! every open element of [`onboard::trigger::geometry::MASK`] (the frame around the elements is
//! opaque), evaluated at each pixel centre: exact for the geometry of ICD §4 (mask thickness
//! and detector depth ignored, as in `pixel_illumination`), and smooth: no point-like residue
//! of a discretised sky. The map only shapes the distribution; the rate is the configured one
//! (the CXB's own normalisation, Moretti et al. 2009 × 1024 cm² × 40 % × ~1 sr, gives
//! 3 000–5 000 counts/s: `DOMAIN.md` §1). Earth occultation is not modelled.
//!
//! Each pixel is computed alone, so the map is the same bits whatever the number of threads.

use std::sync::OnceLock;

use onboard::trigger::geometry::{self as geo, DET_N, DET_PIXELS, MASK_N};

/// `G(X, Y)`: projected solid angle of the rectangle [0, X] × [0, Y] (units of h) seen from
/// the point under its corner, signed.
fn g(x: f64, y: f64) -> f64 {
    let (rx, ry) = ((1.0 + x * x).sqrt(), (1.0 + y * y).sqrt());
    0.5 * (x / rx * (y / rx).atan() + y / ry * (x / ry).atan())
}

fn pixel_value(k: usize) -> f64 {
    let h = f64::from(geo::MASK_HEIGHT_MM);
    let (yc, zc) = geo::pixel_centre_mm(k / DET_N, k % DET_N);
    let edge = |i: usize| (i as f64 - 0.5 * MASK_N as f64) * f64::from(geo::MASK_ELEMENT_MM);
    // G at every corner of the element grid, relative to the pixel centre.
    let mut corner = vec![0f64; (MASK_N + 1) * (MASK_N + 1)];
    for i in 0..=MASK_N {
        let x = (edge(i) - f64::from(yc)) / h;
        for j in 0..=MASK_N {
            corner[i * (MASK_N + 1) + j] = g(x, (edge(j) - f64::from(zc)) / h);
        }
    }
    let at = |i: usize, j: usize| corner[i * (MASK_N + 1) + j];
    let mut sum = 0.0;
    for i in 0..MASK_N {
        for j in 0..MASK_N {
            if geo::mask_element(i, j) {
                sum += at(i + 1, j + 1) - at(i, j + 1) - at(i + 1, j) + at(i, j);
            }
        }
    }
    sum
}

/// The CXB shadowgram: per-pixel weights (projected solid angle of the open mask, sr),
/// computed once per process.
pub fn cxb_map() -> &'static [f32] {
    static MAP: OnceLock<Vec<f32>> = OnceLock::new();
    MAP.get_or_init(compute)
}

fn compute() -> Vec<f32> {
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get()).min(DET_PIXELS);
    let mut map = vec![0f32; DET_PIXELS];
    std::thread::scope(|s| {
        let chunk = DET_PIXELS.div_ceil(threads);
        for (n, part) in map.chunks_mut(chunk).enumerate() {
            s.spawn(move || {
                for (o, v) in part.iter_mut().enumerate() {
                    *v = pixel_value(n * chunk + o) as f32;
                }
            });
        }
    });
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_factor_of_a_whole_plane_is_pi() {
        // Projected solid angle of the infinite plane above a point: π.
        let big = 1e9;
        let v = g(big, big) - g(-big, big) - g(big, -big) + g(-big, -big);
        assert!((v - std::f64::consts::PI).abs() < 1e-6, "{v}");
    }

    #[test]
    fn cxb_map_matches_a_brute_force_sum_of_point_shadows() {
        let m = cxb_map();
        assert_eq!(m.len(), DET_PIXELS);
        assert!(m.iter().all(|&v| v > 0.0));
        // Centre pixels see more of the mask than corner pixels.
        assert!(m[40 * 80 + 40] > m[0]);
        // Brute force for one pixel: the open area seen through a fine grid of directions.
        let k = 17 * 80 + 52;
        let (yc, zc) = geo::pixel_centre_mm(17, 52);
        let h = f64::from(geo::MASK_HEIGHT_MM);
        let (n, lim) = (600, 0.98f64);
        let step = 2.0 * lim / n as f64;
        let mut sum = 0.0;
        for a in 0..n {
            let x = -lim + (a as f64 + 0.5) * step;
            for b in 0..n {
                let y = -lim + (b as f64 + 0.5) * step;
                let r2 = 1.0 + x * x + y * y;
                let (my, mz) = (f64::from(yc) + h * x, f64::from(zc) + h * y);
                if geo::mask_open_at(my as f32, mz as f32) {
                    sum += step * step / (r2 * r2);
                }
            }
        }
        let exact = f64::from(m[k]);
        assert!((sum - exact).abs() / exact < 0.01, "{sum} vs {exact}");
        // Same bits when computed again.
        assert_eq!(m, &compute()[..]);
    }
}
