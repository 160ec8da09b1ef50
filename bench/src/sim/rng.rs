//! Random numbers of the simulator: SplitMix64 ([`tables::defaults::Rng`], identical on every
//! platform), one independent stream per simulated second so that the output does not depend
//! on how many threads generate it.

pub use tables::defaults::Rng;

/// The generator of stream `index` (a simulated second) of a seed.
pub fn stream(seed: u64, index: u64) -> Rng {
    // Two SplitMix64 steps over (seed, index) decorrelate neighbouring streams.
    let mut mix = Rng::new(seed ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03));
    let s = mix.next_u64() ^ index.rotate_left(32);
    Rng::new(Rng::new(s).next_u64())
}

/// An exponential deviate of mean 1.
pub fn exponential(rng: &mut Rng) -> f64 {
    -(1.0 - rng.uniform()).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_differ_and_repeat() {
        let a: Vec<u64> = (0..4).map(|i| stream(1, i).next_u64()).collect();
        let b: Vec<u64> = (0..4).map(|i| stream(1, i).next_u64()).collect();
        assert_eq!(a, b);
        assert!(a.windows(2).all(|w| w[0] != w[1]));
        assert_ne!(stream(2, 0).next_u64(), a[0]);
        let mut r = stream(3, 3);
        let mean = (0..100_000).map(|_| exponential(&mut r)).sum::<f64>() / 1e5;
        assert!((mean - 1.0).abs() < 0.02, "{mean}");
    }
}
