//! A small deterministic event generator for the trigger's science tests (the bench's
//! simulator is separate): Poisson background and point sources cast through the mask with
//! `geometry::pixel_illumination`, PHA from each pixel's calibration, seeded PRNG.
#![allow(dead_code, missing_docs)]

use onboard::trigger::geometry::{self, DET_PIXELS};
use tables::pixels::{PixelEntry, PixelTable};
use tc_tm::stimulus::{
    AttitudeSample, Body, Event, Events, MAX_EVENTS, MAX_FRAME_LEN, OrbitSample, Repr,
};

/// Ticks per second.
pub const TPS: u64 = 50_000;

/// SplitMix64.
#[derive(Clone, Debug)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in (0, 1].
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }
    /// Exponential with mean `mean`.
    pub fn exp(&mut self, mean: f64) -> f64 {
        -mean * self.uniform().ln()
    }
    /// Power law dN/dE ∝ E^-index on [lo, hi] (index != 1).
    pub fn power_law(&mut self, index: f64, lo: f64, hi: f64) -> f64 {
        let a = 1.0 - index;
        let u = self.uniform();
        (lo.powf(a) + u * (hi.powf(a) - lo.powf(a))).powf(1.0 / a)
    }
}

/// A pixel sampler: cumulative weights over the 6400 pixels.
#[derive(Clone)]
pub struct PixelSampler {
    cdf: Vec<f64>,
}

impl PixelSampler {
    pub fn new(weights: &[f64]) -> Self {
        let mut acc = 0.0;
        let cdf = weights
            .iter()
            .map(|w| {
                acc += w;
                acc
            })
            .collect();
        PixelSampler { cdf }
    }
    pub fn total(&self) -> f64 {
        *self.cdf.last().unwrap()
    }
    pub fn sample(&self, rng: &mut Rng) -> usize {
        let x = rng.uniform() * self.total();
        self.cdf.partition_point(|&c| c < x).min(DET_PIXELS - 1)
    }
}

/// A point source: direction, photon flux (ph/cm²/s over the whole spectrum), time interval,
/// spectrum.
#[derive(Clone, Debug)]
pub struct Source {
    pub y_deg: f32,
    pub z_deg: f32,
    pub flux: f64,
    pub start_s: f64,
    pub end_s: f64,
    pub index: f64,
}

/// Expected counts per pixel of a source of 1 ph/cm²/s for 1 s: illumination × 0.16 cm² ×
/// cos θ × efficiency (dead pixels see nothing).
pub fn pixel_response(y: f32, z: f32, pixels: &PixelTable) -> Vec<f64> {
    let mut lit = Box::new([0f32; DET_PIXELS]);
    geometry::pixel_illumination(y, z, &mut lit);
    let cos = f64::from(geometry::off_axis_cosine(y, z));
    lit.iter()
        .zip(&pixels.entries)
        .map(|(&f, e)| {
            let eff = if e.status == tables::pixels::PixelStatus::Dead {
                0.0
            } else {
                f64::from(e.efficiency)
            };
            f64::from(f) * 0.16 * cos * eff
        })
        .collect()
}

/// PHA of an energy on a pixel (inverse calibration, rounded, clamped to 10 bits).
pub fn pha(e_kev: f64, p: &PixelEntry) -> u16 {
    let ch = ((e_kev - f64::from(p.offset_kev)) / f64::from(p.gain)).round();
    ch.clamp(0.0, 1023.0) as u16
}

/// The generator: background rate over the plane plus sources; produces time-ordered events.
pub struct Sim {
    pub rng: Rng,
    pub pixels: Box<PixelTable>,
    bkg: PixelSampler,
    pub bkg_rate: f64,
    sources: Vec<(Source, PixelSampler)>,
}

impl Sim {
    pub fn new(seed: u64, pixels: Box<PixelTable>, bkg_rate: f64) -> Self {
        let w: Vec<f64> = pixels
            .entries
            .iter()
            .map(|e| {
                if e.status == tables::pixels::PixelStatus::Dead {
                    0.0
                } else {
                    f64::from(e.efficiency)
                }
            })
            .collect();
        Sim { rng: Rng(seed), bkg: PixelSampler::new(&w), pixels, bkg_rate, sources: Vec::new() }
    }

    pub fn add_source(&mut self, s: Source) {
        let resp = pixel_response(s.y_deg, s.z_deg, &self.pixels);
        self.sources.push((s, PixelSampler::new(&resp)));
    }

    /// Expected source counts on the plane (all pixels, all energies) of source `i`.
    pub fn source_counts(&self, i: usize) -> f64 {
        let (s, p) = &self.sources[i];
        s.flux * (s.end_s - s.start_s) * p.total()
    }

    fn event(&mut self, tick: u64, pixel: usize, e_kev: f64) -> Event {
        let entry = self.pixels.entries[pixel];
        Event {
            tick,
            y: (pixel / 80) as u8,
            z: (pixel % 80) as u8,
            pha: pha(e_kev, &entry),
            multiplicity: if self.rng.uniform() < 0.03 { 2 } else { 1 },
        }
    }

    /// Events in [t0, t1) seconds, time-ordered.
    pub fn events(&mut self, t0: f64, t1: f64) -> Vec<Event> {
        let mut out = Vec::new();
        // Background: Poisson process over the plane, spectrum E^-1.6 from 4 to 150 keV.
        let mut t = t0 + self.rng.exp(1.0 / self.bkg_rate);
        while t < t1 {
            let p = self.bkg.sample(&mut self.rng);
            let e = self.rng.power_law(1.6, 4.0, 150.0);
            let ev = self.event((t * TPS as f64) as u64, p, e);
            out.push(ev);
            t += self.rng.exp(1.0 / self.bkg_rate);
        }
        for i in 0..self.sources.len() {
            let (s, sampler) = self.sources[i].clone();
            let a = t0.max(s.start_s);
            let b = t1.min(s.end_s);
            if b <= a {
                continue;
            }
            let rate = s.flux * sampler.total();
            let mut t = a + self.rng.exp(1.0 / rate);
            while t < b {
                let p = sampler.sample(&mut self.rng);
                let e = self.rng.power_law(s.index, 5.0, 150.0);
                let ev = self.event((t * TPS as f64) as u64, p, e);
                out.push(ev);
                t += self.rng.exp(1.0 / rate);
            }
        }
        out.sort_by_key(|e| e.tick);
        out
    }
}

/// Builds stimulus frames: numbered packets, full event batches.
pub struct Framer {
    pub seq: u16,
    buf: Vec<u8>,
}

impl Framer {
    pub fn new() -> Self {
        Framer { seq: 0, buf: Vec::new() }
    }

    fn push(&mut self, body: Body<'_>) {
        let mut f = [0u8; MAX_FRAME_LEN];
        let n = Repr { seq_count: self.seq, body }.emit_frame(&mut f).unwrap();
        self.seq = (self.seq + 1) & 0x3FFF;
        self.buf.extend_from_slice(&f[..n]);
    }

    pub fn events(&mut self, events: &[Event]) {
        for chunk in events.chunks(MAX_EVENTS) {
            self.push(Body::Events(Events::Slice(chunk)));
        }
    }

    pub fn attitude(&mut self, tick: u64, q: [f64; 4]) {
        self.push(Body::Attitude(AttitudeSample { tick, q }));
    }

    pub fn orbit(&mut self, tick: u64, lon_deg: f32, lat_deg: f32) {
        self.push(Body::Orbit(OrbitSample { tick, lon_deg, lat_deg, alt_km: 625.0 }));
    }

    pub fn tick(&mut self, tick: u64) {
        self.push(Body::TimeTick { tick });
    }

    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }
}

/// A recorded alert.
#[derive(Clone, Debug, PartialEq)]
pub struct Got {
    pub alert: tc_tm::service::trigger::Alert,
    pub y_deg: f32,
    pub z_deg: f32,
}

/// Runs `f` on a thread with a 256 MiB stack (debug builds build big values on the stack).
pub fn big_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new().stack_size(256 << 20).spawn(f).unwrap().join().unwrap()
}
