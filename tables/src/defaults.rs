//! The default table set, generated deterministically from a seed (std).
//!
//! - Pixels: nominal calibration (0.145 keV/channel, 3.0 keV, DOMAIN.md) with a seeded
//!   per-pixel spread (gain σ = 1 %, offset σ = 0.05 keV, threshold σ = 0.05 keV around
//!   4 keV); 24 noisy pixels on the two heat-pipe edges (rows 0–1 and 78–79); 6 dead pixels;
//!   40 high-threshold pixels (6–8 keV, excluded from the trigger); 8 % low-efficiency pixels
//!   (efficiency 0.60–0.90).
//! - Bands 5–8, 8–20, 20–50, 50–120 keV; CRT trigger bands 5–20, 8–50, 8–120, 5–50 keV,
//!   timescales 10 ms·2ⁿ (n = 0…11), whole plane + 4 quadrants, quadratic background over
//!   40.96 s, rate SNR 6.5 σ up to 40 ms and 6 σ above, image SNR 6.5 σ.
//! - IMT: cycle 20.48 s, 1…64 cycles by powers of two, 6.5 σ, bands 5–20, 8–50, 8–120 keV,
//!   quadratic background from 4 cycles.
//! - Catalogue: 20 bright X-ray sources at their J2000 positions (GX 340+0 has ID 81 as in
//!   the flight catalogue; other IDs are this project's).
//! - SAA: a 13-vertex contour of the anomaly at about 600 km.
//! - Alert: alert at 6.5 σ, slew at 8 σ, Sun 45°, Moon 10°, Earth limb 20°, at most one slew
//!   per 10 min and 10 per day.

use std::boxed::Box;
#[allow(unused_imports)]
use std::prelude::rust_2024::*;
#[allow(unused_imports)]
use std::{format, vec};

use crate::AlertTable;
use crate::bands::{Band, BandTable, TriggerBand};
use crate::catalog::{CatalogTable, Source};
use crate::crt::{BackgroundFit, CrtTable, Timescale, Zone};
use crate::imt::{Accumulation, BkgCorrection, ImtTable};
use crate::pixels::{PIXELS, PLANE_SIDE, PixelEntry, PixelStatus, PixelTable};
use crate::saa::{SaaTable, Vertex};
use crate::set::TableSet;

/// The seed of the committed default set (`tables/defaults/`).
pub const DEFAULT_SEED: u64 = 0x0EC1_A125;

/// SplitMix64: small, seedable, identical on every platform.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub const fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform integer in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// Standard normal (Box–Muller), clipped to ±3.
    pub fn normal(&mut self) -> f64 {
        let u1 = self.uniform().max(1e-300);
        let u2 = self.uniform();
        ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()).clamp(-3.0, 3.0)
    }
}

/// A random nominal pixel (status ok, efficiency 1) in one of `rows`.
fn pick<'a>(t: &'a mut PixelTable, rng: &mut Rng, rows: &[usize]) -> Option<&'a mut PixelEntry> {
    let nominal = |e: &PixelEntry| e.status == PixelStatus::Ok && e.efficiency == 1.0;
    let d = loop {
        let y = rows.get(rng.below(rows.len() as u64) as usize).copied()?;
        let d = y * PLANE_SIDE + rng.below(PLANE_SIDE as u64) as usize;
        if t.entries.get(d).is_some_and(nominal) {
            break d;
        }
    };
    t.entries.get_mut(d)
}

fn round(v: f64, step: f64) -> f32 {
    ((v / step).round() * step) as f32
}

/// The pixel table of a seed.
pub fn pixels(rng: &mut Rng) -> Box<PixelTable> {
    let mut t = Box::<PixelTable>::default();
    t.version = 1;
    for e in t.entries.iter_mut() {
        *e = PixelEntry {
            status: PixelStatus::Ok,
            threshold_kev: round(4.0 + 0.05 * rng.normal(), 0.01),
            gain: round(0.145 * (1.0 + 0.01 * rng.normal()), 1e-5),
            offset_kev: round(3.0 + 0.05 * rng.normal(), 1e-3),
            efficiency: 1.0,
        };
    }
    let all: std::vec::Vec<usize> = (0..PLANE_SIDE).collect();
    for _ in 0..24 {
        if let Some(e) = pick(&mut t, rng, &[0, 1, 78, 79]) {
            e.status = PixelStatus::Noisy;
        }
    }
    for _ in 0..6 {
        if let Some(e) = pick(&mut t, rng, &all) {
            e.status = PixelStatus::Dead;
            e.efficiency = 0.0;
        }
    }
    for _ in 0..40 {
        let threshold_kev = round(6.0 + 2.0 * rng.uniform(), 0.1);
        if let Some(e) = pick(&mut t, rng, &all) {
            e.status = PixelStatus::HighThreshold;
            e.threshold_kev = threshold_kev;
        }
    }
    for _ in 0..(PIXELS * 8 / 100) {
        let efficiency = round(0.6 + 0.3 * rng.uniform(), 0.01);
        if let Some(e) = pick(&mut t, rng, &all) {
            e.efficiency = efficiency;
        }
    }
    t
}

fn bands() -> BandTable {
    let mut t = BandTable { version: 1, bands: heapless::Vec::new() };
    for (low_kev, high_kev) in [(5.0, 8.0), (8.0, 20.0), (20.0, 50.0), (50.0, 120.0)] {
        let _ = t.bands.push(Band { low_kev, high_kev });
    }
    t
}

fn tb(first: u8, last: u8) -> TriggerBand {
    TriggerBand { first, last }
}

fn crt() -> CrtTable {
    let mut t = CrtTable {
        version: 1,
        image_snr: 6.5,
        background: BackgroundFit { window_ms: 40_960, order: 2, gap_ms: 1_000 },
        ..CrtTable::default()
    };
    for b in [tb(0, 1), tb(1, 2), tb(1, 3), tb(0, 2)] {
        let _ = t.bands.push(b);
    }
    let h = (PLANE_SIDE / 2) as u8;
    let last = (PLANE_SIDE - 1) as u8;
    for z in [
        Zone { y_min: 0, y_max: last, z_min: 0, z_max: last },
        Zone { y_min: 0, y_max: h - 1, z_min: 0, z_max: h - 1 },
        Zone { y_min: 0, y_max: h - 1, z_min: h, z_max: last },
        Zone { y_min: h, y_max: last, z_min: 0, z_max: h - 1 },
        Zone { y_min: h, y_max: last, z_min: h, z_max: last },
    ] {
        let _ = t.zones.push(z);
    }
    for n in 0..12 {
        let duration_ms = 10u32 << n;
        let snr = if duration_ms <= 40 { 6.5 } else { 6.0 };
        let mut ts = Timescale { duration_ms, rate_snr: heapless::Vec::new() };
        for _ in 0..t.bands.len() {
            let _ = ts.rate_snr.push(snr);
        }
        let _ = t.timescales.push(ts);
    }
    t
}

fn imt() -> ImtTable {
    let mut t = ImtTable {
        version: 1,
        cycle_ms: 20_480,
        bkg_correction: BkgCorrection::Quadratic,
        bkg_min_cycles: 4,
        ..ImtTable::default()
    };
    for b in [tb(0, 1), tb(1, 2), tb(1, 3)] {
        let _ = t.bands.push(b);
    }
    for n in 0..7 {
        let _ = t.accumulations.push(Accumulation { cycles: 1 << n, snr: 6.5 });
    }
    t
}

/// Bright X-ray sources: ID, name, RA, Dec (J2000, degrees), typical 2–10 keV flux scale.
const SOURCES: [(u16, &str, f32, f32, f32); 20] = [
    (1, "Crab", 83.6331, 22.0145, 1.0),
    (2, "Sco X-1", 244.9794, -15.6402, 10.0),
    (3, "Cyg X-1", 299.5903, 35.2016, 1.0),
    (4, "Cyg X-3", 308.1074, 40.9577, 0.3),
    (5, "GX 339-4", 255.7057, -48.7897, 0.5),
    (6, "Vela X-1", 135.5286, -40.5547, 0.5),
    (7, "Cen X-3", 170.3133, -60.6230, 0.3),
    (8, "Her X-1", 254.4576, 35.3424, 0.2),
    (9, "GRS 1915+105", 288.7983, 10.9458, 1.0),
    (10, "4U 1700-37", 255.9866, -37.8441, 0.3),
    (11, "GX 5-1", 270.2842, -25.0792, 1.0),
    (12, "GX 17+2", 274.0058, -14.0364, 0.7),
    (13, "Aql X-1", 287.8168, 0.5850, 0.5),
    (14, "4U 1820-30", 275.9186, -30.3611, 0.3),
    (15, "Cir X-1", 230.1708, -57.1669, 0.5),
    (16, "SMC X-1", 19.2714, -73.4433, 0.1),
    (17, "LMC X-4", 83.2065, -66.3704, 0.1),
    (18, "GX 349+2", 256.4354, -36.4231, 0.7),
    (19, "Ser X-1", 279.9896, 5.0358, 0.3),
    (81, "GX 340+0", 251.4488, -45.6111, 0.5),
];

fn catalog() -> CatalogTable {
    let mut t = CatalogTable { version: 1, sources: heapless::Vec::new() };
    for (id, name, ra_deg, dec_deg, scale) in SOURCES {
        let mut s = Source {
            id,
            name: heapless::String::try_from(name).unwrap_or_default(),
            ra_deg,
            dec_deg,
            radius_deg: 0.3,
            flux_threshold: heapless::Vec::new(),
        };
        // Three times a Crab-like spectrum scaled to the source, per band.
        for crab in [1.2f32, 1.0, 0.35, 0.1] {
            let _ = s.flux_threshold.push(round(f64::from(3.0 * crab * scale), 1e-3));
        }
        let _ = t.sources.push(s);
    }
    t
}

/// The SAA contour (approximate, at about 600 km).
const SAA: [(f32, f32); 13] = [
    (-85.0, -25.0),
    (-75.0, -8.0),
    (-55.0, -2.0),
    (-30.0, -5.0),
    (-5.0, -12.0),
    (20.0, -20.0),
    (35.0, -30.0),
    (25.0, -42.0),
    (0.0, -48.0),
    (-30.0, -50.0),
    (-60.0, -45.0),
    (-80.0, -38.0),
    (-85.0, -25.0),
];

fn saa() -> SaaTable {
    let mut t = SaaTable { version: 1, vertices: heapless::Vec::new() };
    for (lon_deg, lat_deg) in SAA {
        let _ = t.vertices.push(Vertex { lon_deg, lat_deg });
    }
    t
}

fn alert() -> AlertTable {
    AlertTable {
        version: 1,
        min_alert_snr: 6.5,
        min_slew_snr: 8.0,
        sun_angle_deg: 45.0,
        moon_angle_deg: 10.0,
        earth_limb_deg: 20.0,
        min_slew_interval_s: 600,
        max_slews_per_day: 10,
        slew_on_catalog: false,
    }
}

/// The table set of a seed (only the pixel table depends on the seed).
pub fn generate(seed: u64) -> TableSet {
    let mut rng = Rng::new(seed);
    TableSet {
        pixels: pixels(&mut rng),
        bands: bands(),
        crt: crt(),
        imt: imt(),
        catalog: catalog(),
        saa: saa(),
        alert: alert(),
    }
}

/// The default set: [`generate`] with [`DEFAULT_SEED`].
pub fn default_set() -> TableSet {
    generate(DEFAULT_SEED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_set_is_valid_and_deterministic() {
        let a = default_set();
        assert_eq!(a.problems(), std::vec![]);
        assert_eq!(a, default_set());
        assert_ne!(a.pixels, generate(1).pixels);
        let count = |s: PixelStatus| a.pixels.entries.iter().filter(|e| e.status == s).count();
        assert_eq!(count(PixelStatus::Noisy), 24);
        assert_eq!(count(PixelStatus::Dead), 6);
        assert_eq!(count(PixelStatus::HighThreshold), 40);
        let leps = a.pixels.entries.iter().filter(|e| e.efficiency < 1.0 && e.efficiency > 0.0);
        assert_eq!(leps.count(), PIXELS * 8 / 100);
    }
}
