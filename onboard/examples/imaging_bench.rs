//! Time per image of the trigger's coded-mask imager (`onboard::trigger::imaging`).
//!
//! Run with `cargo run -p onboard --release --example imaging_bench`. Prints the median (and
//! the fastest and slowest) of repeated runs of each step: an image whose variance differs
//! from the counts and from the last image's (two FFT correlations), an image of raw counts
//! (`V = N`: one correlation serves both), an image after the active set changed to one not
//! kept (three, or two for raw counts), images alternating between two active sets (their
//! balances kept: two), an image with the quadratic background fit of the same counts as the
//! last (the variance map is reused: one), and the peak search.

use std::time::{Duration, Instant};

use onboard::trigger::geometry::{self, DET_PIXELS};
use onboard::trigger::imaging::{Background, ImageOptions, Imager, PeakOptions, Shadowgram};

fn stats(mut d: Vec<Duration>) -> (f64, f64, f64) {
    d.sort();
    let ms = |x: Duration| x.as_secs_f64() * 1e3;
    (ms(d[d.len() / 2]), ms(d[0]), ms(d[d.len() - 1]))
}

fn report(name: &str, d: Vec<Duration>) {
    let n = d.len();
    let (med, min, max) = stats(d);
    println!("{name:<44} median {med:7.2} ms  (min {min:.2}, max {max:.2}, {n} runs)");
}

fn main() {
    let t0 = Instant::now();
    let mut imager = Imager::boxed();
    println!(
        "Imager: {} octets; construction and kernel: {:.1} ms",
        onboard::trigger::imaging::IMAGER_SIZE,
        t0.elapsed().as_secs_f64() * 1e3
    );

    let mut lit = [0.0f32; DET_PIXELS];
    geometry::pixel_illumination(7.0, -12.0, &mut lit);
    let mut x = 12345u32;
    let counts: [f32; DET_PIXELS] = core::array::from_fn(|k| {
        x = geometry::xorshift32(x);
        (3.0 * lit[k] + 40.0 + (x % 13) as f32 - 6.0).max(0.0)
    });
    let active = [true; DET_PIXELS];
    let mut other = active;
    other[1234] = false;
    let plain = ImageOptions::default();
    let fitted = ImageOptions { background: Background::Quadratic };
    let runs = 25;

    // Variances that differ from the counts and alternate between two maps: nothing reused.
    let var_a: [f32; DET_PIXELS] = core::array::from_fn(|k| counts[k] + 1.0);
    let var_b: [f32; DET_PIXELS] = core::array::from_fn(|k| counts[k] + 2.0);
    let mut d = Vec::new();
    for i in 0..runs {
        let variance = if i % 2 == 0 { &var_a } else { &var_b };
        let sh = Shadowgram { counts: &counts, variance, active: &active };
        let t = Instant::now();
        let sky = imager.image(&sh, &plain).unwrap();
        std::hint::black_box(sky.signal(99, 99));
        d.push(t.elapsed());
    }
    report("image (two correlations, nothing reused)", d);

    let mut d = Vec::new();
    imager.image(&Shadowgram::poisson(&counts, &active), &plain).unwrap();
    for _ in 0..runs {
        let t = Instant::now();
        let sky = imager.image(&Shadowgram::poisson(&counts, &active), &plain).unwrap();
        std::hint::black_box(sky.signal(99, 99));
        d.push(t.elapsed());
    }
    report("image of raw counts (one correlation)", d);

    // Three active sets in turn: none is among the two whose balances the imager keeps.
    let mut third = active;
    third[4321] = false;
    let mut d = Vec::new();
    for i in 0..runs {
        let w = [&other, &third, &active][i % 3];
        let t = Instant::now();
        let sky = imager.image(&Shadowgram::poisson(&counts, w), &plain).unwrap();
        std::hint::black_box(sky.signal(99, 99));
        d.push(t.elapsed());
    }
    report("image (active set changed)", d);

    // Two active sets in turn (the IMT's bands): both balances kept.
    let mut d = Vec::new();
    for i in 0..runs {
        let w = if i % 2 == 0 { &other } else { &active };
        let t = Instant::now();
        let sky = imager.image(&Shadowgram::poisson(&counts, w), &plain).unwrap();
        std::hint::black_box(sky.signal(99, 99));
        d.push(t.elapsed());
    }
    report("image (two active sets in turn)", d);

    let mut d = Vec::new();
    imager.image(&Shadowgram::poisson(&counts, &active), &fitted).unwrap();
    for _ in 0..runs {
        let t = Instant::now();
        let sky = imager.image(&Shadowgram::poisson(&counts, &active), &fitted).unwrap();
        std::hint::black_box(sky.signal(99, 99));
        d.push(t.elapsed());
    }
    report("image with quadratic fit, variance reused", d);

    let sky = imager.image(&Shadowgram::poisson(&counts, &active), &plain).unwrap();
    let mut d = Vec::new();
    let mut peak = None;
    for _ in 0..runs {
        let t = Instant::now();
        peak = sky.find_peak(&PeakOptions::default());
        d.push(t.elapsed());
    }
    report("peak search", d);
    if let Some(p) = &peak {
        println!(
            "peak: SNR {:.1} at ({:.2}°, {:.2}°), true (7.00°, -12.00°)",
            p.snr, p.y_deg, p.z_deg
        );
    }

    localisation(&mut imager);
}

/// Deterministic uniform in (0, 1].
fn uniform(x: &mut u32) -> f64 {
    *x = geometry::xorshift32(*x);
    (f64::from(*x) + 1.0) / 4_294_967_296.0
}

/// Deterministic Poisson sample: Knuth's product of uniforms below mean 30, else the normal
/// approximation (Box–Muller), rounded.
fn poisson(mean: f32, x: &mut u32) -> f32 {
    let m = f64::from(mean);
    if m < 30.0 {
        let limit = (-m).exp();
        let mut k = 0u32;
        let mut p = uniform(x);
        while p > limit {
            k += 1;
            p *= uniform(x);
        }
        k as f32
    } else {
        let g = (-2.0 * uniform(x).ln()).sqrt() * (2.0 * std::f64::consts::PI * uniform(x)).cos();
        (m + g * m.sqrt()).round().max(0.0) as f32
    }
}

/// Localisation error with Poisson noise against the flight law r90 = √((77′/SNR)² + (2′)²):
/// 13 background counts per pixel (about 4000 counts/s over 20.48 s), sources at fixed
/// directions in the fully and partially coded field.
fn localisation(imager: &mut Imager) {
    println!("localisation with Poisson noise (13 background counts/pixel, 60 trials per row):");
    println!("  source counts/lit pixel   mean SNR   r90 measured   r90 flight law   detected");
    let active = [true; DET_PIXELS];
    let dirs =
        [(0.0f32, 0.0f32), (4.2, -7.9), (-9.5, 3.3), (15.0, 12.0), (-22.0, -5.0), (2.0, 28.0)];
    let mut x = 2024u32;
    for &src in &[0.35f32, 0.5, 1.0, 2.0, 5.0] {
        let mut errs = Vec::new();
        let mut snr_sum = 0.0f64;
        let trials = 60;
        for k in 0..trials {
            let (y, z) = dirs[k % dirs.len()];
            let mut lit = [0.0f32; DET_PIXELS];
            geometry::pixel_illumination(y, z, &mut lit);
            let counts: [f32; DET_PIXELS] =
                core::array::from_fn(|i| poisson(src * lit[i] + 13.0, &mut x));
            let sky = imager
                .image(&Shadowgram::poisson(&counts, &active), &ImageOptions::default())
                .unwrap();
            let Some(p) = sky.find_peak(&PeakOptions::default()) else { continue };
            let a = geometry::angles_to_unit(f64::from(y), f64::from(z));
            let b = geometry::angles_to_unit(f64::from(p.y_deg), f64::from(p.z_deg));
            let dot: f64 = a.iter().zip(&b).map(|(a, b)| a * b).sum();
            let err_arcmin = dot.clamp(-1.0, 1.0).acos().to_degrees() * 60.0;
            if err_arcmin < 60.0 {
                errs.push(err_arcmin);
                snr_sum += f64::from(p.snr);
            }
        }
        let n = errs.len();
        errs.sort_by(f64::total_cmp);
        let r90 = errs.get((n * 9 / 10).min(n.saturating_sub(1))).copied().unwrap_or(f64::NAN);
        let snr = snr_sum / n.max(1) as f64;
        let law = ((77.0 / snr).powi(2) + 4.0).sqrt();
        println!("  {src:>23.2}   {snr:8.1}   {r90:10.1}'   {law:12.1}'   {n:>5}/{trials}");
    }
}
