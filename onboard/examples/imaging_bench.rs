//! Time per image of the trigger's coded-mask imager (`onboard::trigger::imaging`).
//!
//! Run with `cargo run -p onboard --release --example imaging_bench`. Prints the median (and
//! the fastest and slowest) of repeated runs of each step: an image with the active set
//! unchanged (two FFT correlations), an image after the active set changed (three), an image
//! with the quadratic background fit, and the peak search.

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

    let mut d = Vec::new();
    imager.image(&Shadowgram::poisson(&counts, &active), &plain).unwrap();
    for _ in 0..runs {
        let t = Instant::now();
        let sky = imager.image(&Shadowgram::poisson(&counts, &active), &plain).unwrap();
        std::hint::black_box(sky.signal(99, 99));
        d.push(t.elapsed());
    }
    report("image (active set unchanged)", d);

    let mut d = Vec::new();
    for i in 0..runs {
        let w = if i % 2 == 0 { &other } else { &active };
        let t = Instant::now();
        let sky = imager.image(&Shadowgram::poisson(&counts, w), &plain).unwrap();
        std::hint::black_box(sky.signal(99, 99));
        d.push(t.elapsed());
    }
    report("image (active set changed)", d);

    let mut d = Vec::new();
    imager.image(&Shadowgram::poisson(&counts, &active), &fitted).unwrap();
    for _ in 0..runs {
        let t = Instant::now();
        let sky = imager.image(&Shadowgram::poisson(&counts, &active), &fitted).unwrap();
        std::hint::black_box(sky.signal(99, 99));
        d.push(t.elapsed());
    }
    report("image with quadratic background fit", d);

    let sky = imager.image(&Shadowgram::poisson(&counts, &active), &plain).unwrap();
    let mut d = Vec::new();
    let mut peak = None;
    for _ in 0..runs {
        let t = Instant::now();
        peak = sky.find_peak(&PeakOptions::default());
        d.push(t.elapsed());
    }
    report("peak search", d);
    if let Some(p) = peak {
        println!(
            "peak: SNR {:.1} at ({:.2}°, {:.2}°), true (7.00°, -12.00°)",
            p.snr, p.y_deg, p.z_deg
        );
    }
}
