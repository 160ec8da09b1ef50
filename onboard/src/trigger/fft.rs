//! Radix-2 complex FFT in `f32`, one- and two-dimensional, in place, heap-free.
//!
//! Built for correlations, where the order of the spectrum does not matter as long as both
//! factors share it, so no bit-reversal pass is ever made:
//! - [`forward`] is decimation in frequency (Gentleman–Sande): natural order in, **bit-reversed**
//!   order out;
//! - [`inverse`] is decimation in time (Cooley–Tukey) with conjugate twiddles: bit-reversed order
//!   in, natural order out, **unscaled** (the result is `n` times the input of [`forward`]).
//!
//! [`bit_reverse`] puts a spectrum in natural order when one is wanted (tests, displays).
//! [`forward_2d`] and [`inverse_2d`] transform a row-major square grid (rows, then columns;
//! columns, then rows), skipping rows known to be zero on the way in and rows not wanted on the
//! way out: the imager's shadowgram fills 80 of 256 rows and its sky image needs 199.
//!
//! Any power-of-two length up to [`N`] works with the one [`Twiddles`] table of size [`N`].
//! Determinism: twiddles come from `libm` (`f64`, rounded once to `f32`); butterflies use plain
//! `*`, `+` and `-` (Rust never contracts them into fused multiply-adds), in a fixed order, so
//! every target computes the same bits.

use core::ops::{Add, Mul, Sub};

/// The largest transform length, and the side of the imager's square grid.
pub const N: usize = 256;

/// A complex number in `f32`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Complex {
    /// Real part.
    pub re: f32,
    /// Imaginary part.
    pub im: f32,
}

impl Complex {
    /// Zero.
    pub const ZERO: Complex = Complex { re: 0.0, im: 0.0 };

    /// `re + i·im`.
    pub const fn new(re: f32, im: f32) -> Self {
        Complex { re, im }
    }

    /// The complex conjugate.
    pub const fn conj(self) -> Self {
        Complex { re: self.re, im: -self.im }
    }

    /// Multiplied by a real factor.
    pub fn scale(self, k: f32) -> Self {
        Complex { re: self.re * k, im: self.im * k }
    }
}

impl Add for Complex {
    type Output = Complex;
    fn add(self, o: Complex) -> Complex {
        Complex { re: self.re + o.re, im: self.im + o.im }
    }
}

impl Sub for Complex {
    type Output = Complex;
    fn sub(self, o: Complex) -> Complex {
        Complex { re: self.re - o.re, im: self.im - o.im }
    }
}

impl Mul for Complex {
    type Output = Complex;
    fn mul(self, o: Complex) -> Complex {
        Complex { re: self.re * o.re - self.im * o.im, im: self.re * o.im + self.im * o.re }
    }
}

/// Why a transform was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The length is not a power of two between 1 and [`N`], or the grid is not `n × n`.
    BadLength {
        /// The length (or grid side) given.
        len: usize,
    },
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::BadLength { len } => {
                write!(f, "FFT length {len} is not a power of two between 1 and {N}")
            }
        }
    }
}

/// The twiddle factors `T[j] = exp(−2πi·j/N)`, j < N/2, shared by every length.
#[derive(Debug, Clone)]
pub struct Twiddles {
    w: [Complex; N / 2],
}

impl Twiddles {
    /// A zeroed table, for constant initialisation of a `static`; call [`Twiddles::fill`]
    /// before use.
    pub const fn zeroed() -> Self {
        Twiddles { w: [Complex::ZERO; N / 2] }
    }

    /// The filled table.
    pub fn new() -> Self {
        let mut t = Self::zeroed();
        t.fill();
        t
    }

    /// Computes the factors (`libm` in `f64`, then rounded to `f32`).
    pub fn fill(&mut self) {
        for (j, w) in self.w.iter_mut().enumerate() {
            let a = -2.0 * core::f64::consts::PI * j as f64 / N as f64;
            *w = Complex::new(libm::cos(a) as f32, libm::sin(a) as f32);
        }
    }

    /// Whether [`Twiddles::fill`] has run (`T[0] = 1`).
    pub fn is_filled(&self) -> bool {
        self.w.first().is_some_and(|w| w.re == 1.0)
    }

    /// The factors of a block of `2h` points: `exp(−2πi·k/(2h))`, k < h.
    fn block(&self, h: usize) -> impl Iterator<Item = &Complex> {
        self.w.iter().step_by(N / (2 * h))
    }
}

impl Default for Twiddles {
    fn default() -> Self {
        Self::new()
    }
}

/// Checks that `len` is a power of two in `1..=N`.
fn check(len: usize) -> Result<(), Error> {
    if len.is_power_of_two() && len <= N { Ok(()) } else { Err(Error::BadLength { len }) }
}

/// Forward DFT in place, `X[k] = Σ x[n]·exp(−2πi·kn/len)`: natural order in, bit-reversed
/// order out.
///
/// # Errors
/// [`Error::BadLength`] unless the length is a power of two up to [`N`].
pub fn forward(x: &mut [Complex], tw: &Twiddles) -> Result<(), Error> {
    check(x.len())?;
    let mut h = x.len() / 2;
    while h >= 1 {
        for block in x.chunks_exact_mut(2 * h) {
            let (a, b) = block.split_at_mut(h);
            for ((a, b), &w) in a.iter_mut().zip(b.iter_mut()).zip(tw.block(h)) {
                let (p, q) = (*a, *b);
                *a = p + q;
                *b = (p - q) * w;
            }
        }
        h /= 2;
    }
    Ok(())
}

/// Inverse DFT in place, unscaled, `x[n] = Σ X[k]·exp(+2πi·kn/len)`: bit-reversed order in,
/// natural order out. `inverse(forward(x)) = len · x`.
///
/// # Errors
/// [`Error::BadLength`] unless the length is a power of two up to [`N`].
pub fn inverse(x: &mut [Complex], tw: &Twiddles) -> Result<(), Error> {
    check(x.len())?;
    let mut h = 1;
    while h < x.len() {
        for block in x.chunks_exact_mut(2 * h) {
            let (a, b) = block.split_at_mut(h);
            for ((a, b), &w) in a.iter_mut().zip(b.iter_mut()).zip(tw.block(h)) {
                let t = *b * w.conj();
                let p = *a;
                *a = p + t;
                *b = p - t;
            }
        }
        h *= 2;
    }
    Ok(())
}

/// Index `i` with its lowest `bits` bits reversed.
pub fn reverse_bits(i: usize, bits: u32) -> usize {
    if bits == 0 { 0 } else { i.reverse_bits() >> (usize::BITS - bits) }
}

/// Permutes a slice between natural and bit-reversed order (the permutation is its own
/// inverse).
///
/// # Errors
/// [`Error::BadLength`] unless the length is a power of two up to [`N`].
pub fn bit_reverse<T>(x: &mut [T]) -> Result<(), Error> {
    check(x.len())?;
    let bits = x.len().trailing_zeros();
    for i in 0..x.len() {
        let j = reverse_bits(i, bits);
        if j > i {
            // Both below the length: `reverse_bits` of an index below 2^bits stays below it.
            x.swap(i, j);
        }
    }
    Ok(())
}

/// Checks a square grid of side `n` and returns it.
fn check_grid(data: &[Complex], n: usize) -> Result<(), Error> {
    check(n)?;
    if data.len() == n * n { Ok(()) } else { Err(Error::BadLength { len: data.len() }) }
}

/// One decimation-in-frequency pass along columns: every column of the row-major `n × n` grid
/// transformed at once, row pairs combined element-wise (contiguous, vectorisable).
fn columns_forward(data: &mut [Complex], n: usize, tw: &Twiddles) {
    let mut h = n / 2;
    while h >= 1 {
        for block in data.chunks_exact_mut(2 * h * n) {
            let (top, bottom) = block.split_at_mut(h * n);
            let rows = top.chunks_exact_mut(n).zip(bottom.chunks_exact_mut(n));
            for ((ra, rb), &w) in rows.zip(tw.block(h)) {
                for (a, b) in ra.iter_mut().zip(rb.iter_mut()) {
                    let (p, q) = (*a, *b);
                    *a = p + q;
                    *b = (p - q) * w;
                }
            }
        }
        h /= 2;
    }
}

/// One decimation-in-time inverse pass along columns (see [`columns_forward`]).
fn columns_inverse(data: &mut [Complex], n: usize, tw: &Twiddles) {
    let mut h = 1;
    while h < n {
        for block in data.chunks_exact_mut(2 * h * n) {
            let (top, bottom) = block.split_at_mut(h * n);
            let rows = top.chunks_exact_mut(n).zip(bottom.chunks_exact_mut(n));
            for ((ra, rb), &w) in rows.zip(tw.block(h)) {
                let w = w.conj();
                for (a, b) in ra.iter_mut().zip(rb.iter_mut()) {
                    let t = *b * w;
                    let p = *a;
                    *a = p + t;
                    *b = p - t;
                }
            }
        }
        h *= 2;
    }
}

/// Forward 2-D DFT of a row-major `n × n` grid: rows (only those where `row_used(r)`; the others
/// must be zero), then columns. Both axes come out in bit-reversed order.
///
/// # Errors
/// [`Error::BadLength`] unless `n` is a power of two up to [`N`] and `data.len() == n²`.
pub fn forward_2d(
    data: &mut [Complex],
    n: usize,
    tw: &Twiddles,
    row_used: impl Fn(usize) -> bool,
) -> Result<(), Error> {
    check_grid(data, n)?;
    for (r, row) in data.chunks_exact_mut(n).enumerate() {
        if row_used(r) {
            forward(row, tw)?;
        }
    }
    columns_forward(data, n, tw);
    Ok(())
}

/// Inverse 2-D DFT (unscaled: `n²` times) of a grid in the order [`forward_2d`] leaves it:
/// columns, then rows (only those where `row_wanted(r)`; the others are left half-done).
///
/// # Errors
/// [`Error::BadLength`] unless `n` is a power of two up to [`N`] and `data.len() == n²`.
pub fn inverse_2d(
    data: &mut [Complex],
    n: usize,
    tw: &Twiddles,
    row_wanted: impl Fn(usize) -> bool,
) -> Result<(), Error> {
    check_grid(data, n)?;
    columns_inverse(data, n, tw);
    for (r, row) in data.chunks_exact_mut(n).enumerate() {
        if row_wanted(r) {
            inverse(row, tw)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;
    use std::vec::Vec;

    /// A deterministic pseudo-random generator for test data (xorshift32 to [-1, 1)).
    struct Rng(u32);
    impl Rng {
        fn next(&mut self) -> f32 {
            self.0 = crate::trigger::geometry::xorshift32(self.0);
            (self.0 >> 8) as f32 / (1u32 << 23) as f32 - 1.0
        }
    }

    fn naive_dft(x: &[Complex], sign: f64) -> Vec<Complex> {
        let n = x.len();
        (0..n)
            .map(|k| {
                let mut re = 0.0f64;
                let mut im = 0.0f64;
                for (j, v) in x.iter().enumerate() {
                    let a = sign * 2.0 * std::f64::consts::PI * ((k * j) % n) as f64 / n as f64;
                    re += v.re as f64 * a.cos() - v.im as f64 * a.sin();
                    im += v.re as f64 * a.sin() + v.im as f64 * a.cos();
                }
                Complex::new(re as f32, im as f32)
            })
            .collect()
    }

    fn random(n: usize, rng: &mut Rng) -> Vec<Complex> {
        (0..n).map(|_| Complex::new(rng.next(), rng.next())).collect()
    }

    #[test]
    fn forward_matches_naive_dft() {
        let tw = Twiddles::new();
        let mut rng = Rng(7);
        for n in [1usize, 2, 4, 8, 32, 256] {
            let x = random(n, &mut rng);
            let mut y = x.clone();
            forward(&mut y, &tw).unwrap();
            bit_reverse(&mut y).unwrap();
            let want = naive_dft(&x, -1.0);
            for (a, b) in y.iter().zip(&want) {
                let tol = 1e-5 * n as f32;
                assert!((a.re - b.re).abs() < tol && (a.im - b.im).abs() < tol, "n={n}");
            }
        }
    }

    #[test]
    fn inverse_undoes_forward() {
        let tw = Twiddles::new();
        let mut rng = Rng(99);
        for n in [2usize, 16, 256] {
            let x = random(n, &mut rng);
            let mut y = x.clone();
            forward(&mut y, &tw).unwrap();
            inverse(&mut y, &tw).unwrap();
            for (a, b) in y.iter().zip(&x) {
                let a = a.scale(1.0 / n as f32);
                assert!((a.re - b.re).abs() < 1e-5 && (a.im - b.im).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn inverse_is_the_conjugate_transform() {
        let tw = Twiddles::new();
        let x = random(64, &mut Rng(3));
        let mut y = x.clone();
        bit_reverse(&mut y).unwrap();
        inverse(&mut y, &tw).unwrap();
        let want = naive_dft(&x, 1.0);
        for (a, b) in y.iter().zip(&want) {
            assert!((a.re - b.re).abs() < 1e-4 && (a.im - b.im).abs() < 1e-4);
        }
    }

    #[test]
    fn bad_lengths_refused() {
        let tw = Twiddles::new();
        let mut x = [Complex::ZERO; 12];
        assert_eq!(forward(&mut x, &tw), Err(Error::BadLength { len: 12 }));
        assert_eq!(inverse(&mut x[..0], &tw), Err(Error::BadLength { len: 0 }));
        let mut big = std::vec![Complex::ZERO; 512];
        assert_eq!(forward(&mut big, &tw), Err(Error::BadLength { len: 512 }));
        assert!(forward_2d(&mut x, 4, &tw, |_| true).is_err());
        assert!(Error::BadLength { len: 12 }.to_string().contains("12"));
    }

    #[test]
    fn two_d_round_trip_with_pruned_rows() {
        let tw = Twiddles::new();
        let n = 32;
        let mut rng = Rng(5);
        let used = |r: usize| r < 10 || r == 31;
        let x: Vec<Complex> = (0..n * n)
            .map(|i| if used(i / n) { Complex::new(rng.next(), rng.next()) } else { Complex::ZERO })
            .collect();
        let mut y = x.clone();
        forward_2d(&mut y, n, &tw, used).unwrap();
        inverse_2d(&mut y, n, &tw, |r| r < 20).unwrap();
        for (i, (a, b)) in y.iter().zip(&x).enumerate().take(20 * n) {
            let a = a.scale(1.0 / (n * n) as f32);
            assert!((a.re - b.re).abs() < 1e-5 && (a.im - b.im).abs() < 1e-5, "{i}");
        }
    }

    /// Circular 2-D correlation through the transforms equals the direct sum: an 8 × 8 image
    /// correlated with a 5 × 5 kernel on a 16 × 16 grid (the imager's layout: the image flipped,
    /// the product taken point-wise in bit-reversed order).
    #[test]
    fn fft_correlation_matches_direct() {
        let tw = Twiddles::new();
        let n = 16;
        let mut rng = Rng(11);
        for _ in 0..3 {
            let d: Vec<f32> = (0..64).map(|_| rng.next()).collect();
            let g: Vec<f32> = (0..25).map(|_| rng.next()).collect();
            let mut a = std::vec![Complex::ZERO; n * n];
            let mut b = std::vec![Complex::ZERO; n * n];
            for y in 0..8 {
                for z in 0..8 {
                    a[((n - y) % n) * n + (n - z) % n].re = d[y * 8 + z];
                }
            }
            for y in 0..5 {
                for z in 0..5 {
                    b[y * n + z].re = g[y * 5 + z];
                }
            }
            forward_2d(&mut a, n, &tw, |_| true).unwrap();
            forward_2d(&mut b, n, &tw, |_| true).unwrap();
            for (p, q) in a.iter_mut().zip(&b) {
                *p = *p * *q;
            }
            inverse_2d(&mut a, n, &tw, |_| true).unwrap();
            // r(m) = Σ_y d(y) g(y + m), lags m in [-7, 4] (wrapped mod 16).
            for my in -7i32..5 {
                for mz in -7i32..5 {
                    let mut want = 0.0f32;
                    for y in 0..8i32 {
                        for z in 0..8i32 {
                            let (gy, gz) = (y + my, z + mz);
                            if (0..5).contains(&gy) && (0..5).contains(&gz) {
                                want += d[(y * 8 + z) as usize] * g[(gy * 5 + gz) as usize];
                            }
                        }
                    }
                    let pos = (my.rem_euclid(16) * 16 + mz.rem_euclid(16)) as usize;
                    let got = a[pos].re / (n * n) as f32;
                    assert!((got - want).abs() < 1e-4, "lag ({my},{mz}): {got} vs {want}");
                    assert!(a[pos].im.abs() / ((n * n) as f32) < 1e-4);
                }
            }
        }
    }

    #[test]
    fn twiddles_fill() {
        assert!(!Twiddles::zeroed().is_filled());
        let t = Twiddles::new();
        assert!(t.is_filled());
        assert_eq!(t.w[64], Complex::new(libm::cos(-core::f64::consts::FRAC_PI_2) as f32, -1.0));
    }
}
