//! Background: the diffuse sky (cosmic X-ray background) through the mask, and a flat
//! particle component.
//!
//! **CXB shadowgram.** The expected CXB counts of pixel k are proportional to
//! `∫ lit_k(Ω) cos θ dΩ` over the sky, `lit_k` being
//! [`onboard::trigger::geometry::pixel_illumination`]. The integral is a sum over an N × N grid
//! of directions uniform in the tangent plane (a = tan y, b = tan z, |a|, |b| ≤ tan 44°), each
//! weighted by `cos θ dΩ = da db / (1 + a² + b²)²`. N = `background.cxb_grid` (default 48,
//! about 1.9° steps on axis, finer than a mask element's 1.4° only off axis; the pattern
//! left by the finite grid is below 2 % per pixel). The map is shaped by the integral and
//! scaled to the configured rate (the CXB's own normalisation, Moretti et al. 2009 × 1024 cm²
//! × 40 % × ~1 sr, gives 3 000–5 000 counts/s: `DOMAIN.md` §1). Earth occultation is not
//! modelled.
//!
//! The partial sums are kept per grid row and added in row order, so the map is the same bits
//! whatever the number of threads that computed it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use onboard::trigger::geometry::{self as geo, DET_PIXELS};

/// Default grid size of the CXB integral (directions per axis).
pub const DEFAULT_CXB_GRID: usize = 48;

fn cache() -> &'static Mutex<HashMap<usize, Arc<Vec<f32>>>> {
    static CACHE: OnceLock<Mutex<HashMap<usize, Arc<Vec<f32>>>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The CXB shadowgram for a grid of `n` × `n` directions: per-pixel weights (arbitrary scale),
/// computed once per process and size.
pub fn cxb_map(n: usize) -> Arc<Vec<f32>> {
    let n = n.clamp(2, 512);
    if let Some(m) = cache().lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&n) {
        return m.clone();
    }
    let map = Arc::new(compute(n));
    cache().lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(n, map.clone());
    map
}

fn row_sum(n: usize, i: usize) -> Vec<f64> {
    let t_max = f64::from(geo::FIELD_HALF_DEG).to_radians().tan();
    let step = 2.0 * t_max / n as f64;
    let a = -t_max + (i as f64 + 0.5) * step;
    let mut lit = [0f32; DET_PIXELS];
    let mut acc = vec![0f64; DET_PIXELS];
    for j in 0..n {
        let b = -t_max + (j as f64 + 0.5) * step;
        let r2 = 1.0 + a * a + b * b;
        let w = step * step / (r2 * r2);
        geo::pixel_illumination(
            a.atan().to_degrees() as f32,
            b.atan().to_degrees() as f32,
            &mut lit,
        );
        for (s, &l) in acc.iter_mut().zip(lit.iter()) {
            *s += w * f64::from(l);
        }
    }
    acc
}

fn compute(n: usize) -> Vec<f32> {
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get()).min(n);
    let mut rows: Vec<Option<Vec<f64>>> = vec![None; n];
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    (t..n).step_by(threads).map(|i| (i, row_sum(n, i))).collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            // A panicking worker would be a bug in the geometry; its rows stay empty (zero).
            if let Ok(done) = h.join() {
                for (i, r) in done {
                    if let Some(slot) = rows.get_mut(i) {
                        *slot = Some(r);
                    }
                }
            }
        }
    });
    let mut total = vec![0f64; DET_PIXELS];
    for r in rows.into_iter().flatten() {
        for (t, v) in total.iter_mut().zip(r) {
            *t += v;
        }
    }
    total.into_iter().map(|v| v as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cxb_map_is_brighter_in_the_centre_and_symmetric_in_shape() {
        let m = cxb_map(12);
        assert_eq!(m.len(), DET_PIXELS);
        let centre = f64::from(m[40 * 80 + 40]);
        let corner = f64::from(m[0]);
        assert!(centre > corner, "{centre} {corner}");
        assert!(m.iter().all(|&v| v > 0.0));
        // Same bits on a second call (cached) and from a fresh computation.
        assert_eq!(*cxb_map(12), compute(12));
    }
}
