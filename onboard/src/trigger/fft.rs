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
//! [`SplitGrid`] holds a grid split into real and imaginary arrays, for transforms vectorised
//! across rows; the imager's correlations use its real-input transform [`forward_2d_real`]
//! (two real rows per complex lane, the half spectrum only), completed by
//! [`fill_conjugate_half`] and inverted by [`inverse_2d_full`] (complex result), or multiplied
//! by [`mul_half_real_part`] and inverted by [`inverse_2d_real`] (real result, two rows per
//! lane): about half the work of the complex transforms, other rounding.
//!
//! Pruned without changing a bit: [`forward_2d_real_pruned`] does not read the rows known to
//! be zero (80 of 256 on each axis) in its first fused passes, the inverses do not compute the
//! outputs beyond `wanted` in their last passes nor transpose the tiles that only hold such
//! outputs, and [`mul_conjugate_half`] completes the half spectrum and multiplies in one sweep.
//! The fused kernels take each row as its own `&mut` slice (no run-time alias checks before the
//! vector loop) and are instantiated for the zero rows and unwanted outputs they may skip; the
//! compiler then drops only what IEEE arithmetic makes exact (loads of `+0.0`, `x − 0`, dead
//! outputs), so the results stay those of the full transforms bit for bit
//! (test `pruned_steps_equal_the_plain_ones_bit_for_bit`).
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

/// The twiddle factors `T[j] = exp(−2πi·j/N)`, j < N/2, shared by every length, stored stage
/// by stage: the `h` factors of a block of `2h` points, `T[k·N/(2h)]` for k < h, are contiguous
/// at `[h − 1, 2h − 1)` (the same values, copied; contiguous so that the butterfly loops
/// vectorise). The last entry is unused.
#[derive(Debug, Clone)]
pub struct Twiddles {
    w: [Complex; N],
}

impl Twiddles {
    /// A zeroed table, for constant initialisation of a `static`; call [`Twiddles::fill`]
    /// before use.
    pub const fn zeroed() -> Self {
        Twiddles { w: [Complex::ZERO; N] }
    }

    /// The filled table.
    pub fn new() -> Self {
        let mut t = Self::zeroed();
        t.fill();
        t
    }

    /// Computes the factors (`libm` in `f64`, then rounded to `f32`).
    pub fn fill(&mut self) {
        let t = |j: usize| {
            let a = -2.0 * core::f64::consts::PI * j as f64 / N as f64;
            Complex::new(libm::cos(a) as f32, libm::sin(a) as f32)
        };
        let mut h = 1;
        while h < N {
            if let Some(stage) = self.w.get_mut(h - 1..2 * h - 1) {
                for (k, w) in stage.iter_mut().enumerate() {
                    *w = t(k * (N / (2 * h)));
                }
            }
            h *= 2;
        }
    }

    /// Whether [`Twiddles::fill`] has run (`T[0] = 1`).
    pub fn is_filled(&self) -> bool {
        self.w.first().is_some_and(|w| w.re == 1.0)
    }

    /// The factors of a block of `2h` points: `exp(−2πi·k/(2h))`, k < h (`h` a power of two
    /// up to N/2; empty otherwise).
    fn block(&self, h: usize) -> &[Complex] {
        self.w.get(h.saturating_sub(1)..(2 * h).saturating_sub(1)).unwrap_or(&[])
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
        match h {
            1 => stage_dif::<1>(x, tw),
            2 => stage_dif::<2>(x, tw),
            4 => stage_dif::<4>(x, tw),
            8 => stage_dif::<8>(x, tw),
            16 => stage_dif::<16>(x, tw),
            _ => {
                for block in x.chunks_exact_mut(2 * h) {
                    let (a, b) = block.split_at_mut(h);
                    for ((a, b), &w) in a.iter_mut().zip(b.iter_mut()).zip(tw.block(h)) {
                        let (p, q) = (*a, *b);
                        *a = p + q;
                        *b = (p - q) * w;
                    }
                }
            }
        }
        h /= 2;
    }
    Ok(())
}

/// The twiddles of a stage of `H` butterflies per block, as an array.
fn block_array<const H: usize>(tw: &Twiddles) -> [Complex; H] {
    let mut w = [Complex::ZERO; H];
    for (d, &s) in w.iter_mut().zip(tw.block(H)) {
        *d = s;
    }
    w
}

/// One decimation-in-frequency stage with a small, fixed block (`H` known at compile time,
/// so the block loop unrolls; the same operations as the general loop).
fn stage_dif<const H: usize>(x: &mut [Complex], tw: &Twiddles) {
    let w = block_array::<H>(tw);
    for block in x.chunks_exact_mut(2 * H) {
        let (a, b) = block.split_at_mut(H);
        for ((a, b), &w) in a.iter_mut().zip(b.iter_mut()).zip(&w) {
            let (p, q) = (*a, *b);
            *a = p + q;
            *b = (p - q) * w;
        }
    }
}

/// One decimation-in-time inverse stage with a small, fixed block (see [`stage_dif`]).
fn stage_dit<const H: usize>(x: &mut [Complex], tw: &Twiddles) {
    let w = block_array::<H>(tw);
    for block in x.chunks_exact_mut(2 * H) {
        let (a, b) = block.split_at_mut(H);
        for ((a, b), &w) in a.iter_mut().zip(b.iter_mut()).zip(&w) {
            let t = *b * w.conj();
            let p = *a;
            *a = p + t;
            *b = p - t;
        }
    }
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
        match h {
            1 => stage_dit::<1>(x, tw),
            2 => stage_dit::<2>(x, tw),
            4 => stage_dit::<4>(x, tw),
            8 => stage_dit::<8>(x, tw),
            16 => stage_dit::<16>(x, tw),
            _ => {
                for block in x.chunks_exact_mut(2 * h) {
                    let (a, b) = block.split_at_mut(h);
                    for ((a, b), &w) in a.iter_mut().zip(b.iter_mut()).zip(tw.block(h)) {
                        let t = *b * w.conj();
                        let p = *a;
                        *a = p + t;
                        *b = p - t;
                    }
                }
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

/// Decimation-in-frequency butterflies of two whole rows with one twiddle (a separate function
/// so that the element loop vectorises).
#[inline(never)]
fn rows_dif(ra: &mut [Complex], rb: &mut [Complex], w: Complex) {
    for (a, b) in ra.iter_mut().zip(rb.iter_mut()) {
        let (p, q) = (*a, *b);
        *a = p + q;
        *b = (p - q) * w;
    }
}

/// Decimation-in-time butterflies of two whole rows with one (conjugated) twiddle.
#[inline(never)]
fn rows_dit(ra: &mut [Complex], rb: &mut [Complex], w: Complex) {
    for (a, b) in ra.iter_mut().zip(rb.iter_mut()) {
        let t = *b * w;
        let p = *a;
        *a = p + t;
        *b = p - t;
    }
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
                rows_dif(ra, rb, w);
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
                rows_dit(ra, rb, w.conj());
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

/// A square `N × N` complex grid in split layout (real parts and imaginary parts in two
/// row-major arrays), for the vectorised 2-D transforms [`forward_2d_t`] and [`inverse_2d_t`].
///
/// Every pass of those transforms combines two whole rows element by element, so each
/// butterfly loop runs over contiguous `f32` lanes of both arrays (four or eight per
/// instruction); the second axis is done the same way after an in-place transpose.
#[derive(Debug, Clone)]
pub struct SplitGrid {
    /// Real parts, `re[row][column]`.
    pub re: [[f32; N]; N],
    /// Imaginary parts, `im[row][column]`.
    pub im: [[f32; N]; N],
}

impl SplitGrid {
    /// A zero grid (`const`: usable in a `static`).
    pub const fn zeroed() -> Self {
        SplitGrid { re: [[0.0; N]; N], im: [[0.0; N]; N] }
    }

    /// Sets every value to zero.
    pub fn clear(&mut self) {
        self.re.as_flattened_mut().fill(0.0);
        self.im.as_flattened_mut().fill(0.0);
    }

    /// Transposes the grid in place (`[r][c] ↔ [c][r]`).
    pub fn transpose(&mut self) {
        transpose(&mut self.re);
        transpose(&mut self.im);
    }

    /// Multiplies point-wise by `k` (complex product, the same operations as [`Complex`]'s `*`).
    pub fn mul_assign(&mut self, k: &SplitGrid) {
        let a = self.re.as_flattened_mut().iter_mut().zip(self.im.as_flattened_mut());
        let b = k.re.as_flattened().iter().zip(k.im.as_flattened());
        for ((ar, ai), (&br, &bi)) in a.zip(b) {
            let (xr, xi) = (*ar, *ai);
            *ar = xr * br - xi * bi;
            *ai = xr * bi + xi * br;
        }
    }
}

/// Side of the tiles [`transpose`] moves.
const TILE: usize = 4;

/// In-place transpose of a square `N × N` array, tile by tile: each pair of mirrored 4 × 4
/// tiles is read into registers and written back crossed.
fn transpose(a: &mut [[f32; N]; N]) {
    transpose_rows(a, N);
}

/// [`transpose`] where only the rows `r < wanted` of the input matter: afterwards
/// `a[c][r]` holds the input's `a[r][c]` for `r < wanted` (every `c`); tiles whose result would
/// only hold rows `≥ wanted` are left as they are.
fn transpose_rows(a: &mut [[f32; N]; N], wanted: usize) {
    for bi in 0..N / TILE {
        if bi * TILE >= wanted {
            break;
        }
        let (upper, lower) = a.split_at_mut((bi + 1) * TILE);
        let Some(rows_i) = upper.get_mut(bi * TILE..) else { continue };
        let x = read_tile(rows_i, bi);
        write_tile_transposed(rows_i, bi, &x);
        for (k, rows_j) in lower.chunks_exact_mut(TILE).enumerate() {
            let bj = bi + 1 + k;
            let x = read_tile(rows_i, bj);
            if bj * TILE < wanted {
                let y = read_tile(rows_j, bi);
                write_tile_transposed(rows_i, bj, &y);
            }
            write_tile_transposed(rows_j, bi, &x);
        }
    }
}

/// The tile in columns `[b·4, b·4 + 4)` of `rows` (4 rows).
#[inline(always)]
fn read_tile(rows: &[[f32; N]], b: usize) -> [[f32; TILE]; TILE] {
    let mut t = [[0.0; TILE]; TILE];
    for (d, r) in t.iter_mut().zip(rows) {
        if let Some(s) = r.get(b * TILE..).and_then(|s| s.first_chunk::<TILE>()) {
            *d = *s;
        }
    }
    t
}

/// Writes the transpose of `t` into columns `[b·4, b·4 + 4)` of `rows` (4 rows), a whole tile
/// row at a time.
#[inline(always)]
fn write_tile_transposed(rows: &mut [[f32; N]], b: usize, t: &[[f32; TILE]; TILE]) {
    let [[a0, a1, a2, a3], [b0, b1, b2, b3], [c0, c1, c2, c3], [d0, d1, d2, d3]] = *t;
    let u = [[a0, b0, c0, d0], [a1, b1, c1, d1], [a2, b2, c2, d2], [a3, b3, c3, d3]];
    for (r, c) in rows.iter_mut().zip(&u) {
        if let Some(d) = r.get_mut(b * TILE..).and_then(|d| d.first_chunk_mut::<TILE>()) {
            *d = *c;
        }
    }
}

/// Which lanes of a row a pass works on: one or two ranges of columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lanes {
    /// First range `[start, end)`.
    pub first: (usize, usize),
    /// Second range `[start, end)` (empty when `start == end`).
    pub second: (usize, usize),
}

impl Lanes {
    /// Every lane.
    pub const ALL: Lanes = Lanes { first: (0, N), second: (0, 0) };

    /// Lanes `[0, n)`.
    pub const fn below(n: usize) -> Lanes {
        Lanes { first: (0, n), second: (0, 0) }
    }
}

/// Four split rows (real, imaginary) of one radix-2² group.
type Quad<'a> = [(&'a mut [f32], &'a mut [f32]); 4];

/// Lanes per step of the butterfly kernels. Each step loads this many lanes of the four rows
/// into locals, computes, and stores them, so no store of a step can feed a load of the same
/// step and the compiler needs no run-time alias checks: one SSE or NEON register per row and
/// part on the host, plain scalar code on the Cortex-M4F. The same operations, lane by lane,
/// whatever the step.
const STEP: usize = 1;

/// `L` lanes of complex values in split layout: real parts, imaginary parts.
type Cv<const L: usize> = [[f32; L]; 2];

/// `a ∘ b` lane by lane.
#[inline(always)]
fn zip_with<const L: usize>(mut a: [f32; L], b: [f32; L], f: impl Fn(f32, f32) -> f32) -> [f32; L] {
    for (x, y) in a.iter_mut().zip(b) {
        *x = f(*x, y);
    }
    a
}

/// `a + b`, lane by lane.
#[inline(always)]
fn cadd<const L: usize>([ar, ai]: Cv<L>, [br, bi]: Cv<L>) -> Cv<L> {
    [zip_with(ar, br, |a, b| a + b), zip_with(ai, bi, |a, b| a + b)]
}

/// `a − b`, lane by lane.
#[inline(always)]
fn csub<const L: usize>([ar, ai]: Cv<L>, [br, bi]: Cv<L>) -> Cv<L> {
    [zip_with(ar, br, |a, b| a - b), zip_with(ai, bi, |a, b| a - b)]
}

/// `d·w`, lane by lane, with the operations of [`Complex`]'s `*`.
#[inline(always)]
fn cmul<const L: usize>([dr, di]: Cv<L>, w: Complex) -> Cv<L> {
    let (mut re, mut im) = (dr, di);
    for ((r, i), (&a, &b)) in re.iter_mut().zip(im.iter_mut()).zip(dr.iter().zip(&di)) {
        *r = a * w.re - b * w.im;
        *i = a * w.im + b * w.re;
    }
    [re, im]
}

/// Two decimation-in-frequency stages fused over four rows `x0..x3` (one load and one store
/// per value instead of two), with the operations of the two separate stages, in their order,
/// for each lane: stage one `(x0, x2)·w1`, `(x1, x3)·w2`, stage two `(x0, x1)·w3`,
/// `(x2, x3)·w3`.
#[inline(always)]
fn dif4<const L: usize>([x0, x1, x2, x3]: [Cv<L>; 4], [w1, w2, w3]: [Complex; 3]) -> [Cv<L>; 4] {
    // Stage one.
    let (s0, s2) = (cadd(x0, x2), cmul(csub(x0, x2), w1));
    let (s1, s3) = (cadd(x1, x3), cmul(csub(x1, x3), w2));
    // Stage two.
    [cadd(s0, s1), cmul(csub(s0, s1), w3), cadd(s2, s3), cmul(csub(s2, s3), w3)]
}

/// Two decimation-in-time stages fused over four rows `x0..x3`, conjugated twiddles given:
/// stage one `(x0, x1)·w1`, `(x2, x3)·w1`, stage two `(x0, x2)·w2`, `(x1, x3)·w3`, each
/// butterfly `t = b·w`, `a ← a + t`, `b ← a − t`, as [`inverse`] makes them.
#[inline(always)]
fn dit4<const L: usize>([x0, x1, x2, x3]: [Cv<L>; 4], [w1, w2, w3]: [Complex; 3]) -> [Cv<L>; 4] {
    // Stage one.
    let t = cmul(x1, w1);
    let (y0, y1) = (cadd(x0, t), csub(x0, t));
    let t = cmul(x3, w1);
    let (y2, y3) = (cadd(x2, t), csub(x2, t));
    // Stage two.
    let t = cmul(y2, w2);
    let (o0, o2) = (cadd(y0, t), csub(y0, t));
    let t = cmul(y3, w3);
    let (o1, o3) = (cadd(y1, t), csub(y1, t));
    [o0, o1, o2, o3]
}

/// Runs a fused radix-2² kernel over the whole `L`-lane chunks of eight rows (`re`, `im` of
/// rows 0 to 3) and returns the lanes left over. Rows whose bit is set in `ZERO` are not read:
/// they are taken as `+0.0` (exactly what they hold, so the result is the same bit for bit;
/// the compiler then drops what it can prove exact, such as `x − 0`, and the loads). Outputs
/// whose bit is clear in `KEEP` are not stored (the compiler drops their arithmetic).
#[inline(always)]
fn quad_steps<const L: usize, const ZERO: u8, const KEEP: u8, const DIT: bool>(
    rows: [&mut [f32]; 8],
    w: [Complex; 3],
) -> [&mut [f32]; 8] {
    let mut chunks: [&mut [[f32; L]]; 8] = Default::default();
    let mut rest: [&mut [f32]; 8] = Default::default();
    for ((c, r), s) in chunks.iter_mut().zip(rest.iter_mut()).zip(rows) {
        (*c, *r) = s.as_chunks_mut::<L>();
    }
    let [r0, i0, r1, i1, r2, i2, r3, i3] = chunks;
    let x0 = r0.iter_mut().zip(i0.iter_mut());
    let x1 = r1.iter_mut().zip(i1.iter_mut());
    let x2 = r2.iter_mut().zip(i2.iter_mut());
    let x3 = r3.iter_mut().zip(i3.iter_mut());
    for (((mut x0, mut x1), mut x2), mut x3) in x0.zip(x1).zip(x2).zip(x3) {
        let load = |k: u8, (r, i): &(&mut [f32; L], &mut [f32; L])| -> Cv<L> {
            if ZERO >> k & 1 == 1 { [[0.0; L]; 2] } else { [**r, **i] }
        };
        let x = [load(0, &x0), load(1, &x1), load(2, &x2), load(3, &x3)];
        let [y0, y1, y2, y3] = if DIT { dit4(x, w) } else { dif4(x, w) };
        let store = |k: u8, (r, i): &mut (&mut [f32; L], &mut [f32; L]), [vr, vi]: Cv<L>| {
            if KEEP >> k & 1 == 1 {
                (**r, **i) = (vr, vi);
            }
        };
        store(0, &mut x0, y0);
        store(1, &mut x1, y1);
        store(2, &mut x2, y2);
        store(3, &mut x3, y3);
    }
    rest
}

/// One fused radix-2² group over the lanes of a [`Quad`] (see [`quad_steps`] for `ZERO` and
/// `KEEP`): whole steps of [`STEP`] lanes, then the lanes left over one by one.
fn quad<const ZERO: u8, const KEEP: u8, const DIT: bool>(quad: Quad<'_>, w: [Complex; 3]) {
    let [(a0r, a0i), (a1r, a1i), (a2r, a2i), (a3r, a3i)] = quad;
    quad_rows::<ZERO, KEEP, DIT>(a0r, a0i, a1r, a1i, a2r, a2i, a3r, a3i, w);
}

/// [`quad`] on eight separate rows: as separate `&mut` arguments the compiler knows that they
/// do not overlap (no run-time alias checks before the vector loop).
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn quad_rows<const ZERO: u8, const KEEP: u8, const DIT: bool>(
    a0r: &mut [f32],
    a0i: &mut [f32],
    a1r: &mut [f32],
    a1i: &mut [f32],
    a2r: &mut [f32],
    a2i: &mut [f32],
    a3r: &mut [f32],
    a3i: &mut [f32],
    w: [Complex; 3],
) {
    let rest = quad_steps::<STEP, ZERO, KEEP, DIT>([a0r, a0i, a1r, a1i, a2r, a2i, a3r, a3i], w);
    quad_steps::<1, ZERO, KEEP, DIT>(rest, w);
}

/// Runs the kernel for a group whose rows `zero` (bit k: row k) hold `+0.0` on entry and whose
/// outputs `keep` (bit k: row k) are wanted. Only the patterns the imager meets have their own
/// kernel; any other is run as the nearest one that assumes less (reading a zero row or storing
/// an unwanted output changes no wanted result).
fn quad_masked(q: Quad<'_>, w: [Complex; 3], dit: bool, zero: u8, keep: u8) {
    let all = dif_unread(zero);
    let keep3 = keep & 0b1000 != 0;
    match (dit, all, keep3) {
        (true, _, true) => quad::<0, 0b1111, true>(q, w),
        (true, _, false) => quad::<0, 0b0111, true>(q, w),
        (false, 0b0111, _) => quad::<0b0111, 0b1111, false>(q, w),
        (false, 0b0110, _) => quad::<0b0110, 0b1111, false>(q, w),
        (false, 0b0011, _) => quad::<0b0011, 0b1111, false>(q, w),
        (false, _, false) => quad::<0, 0b0111, false>(q, w),
        (false, _, true) => quad::<0, 0b1111, false>(q, w),
    }
}

/// The rows of a group (bit k: row k) that [`quad_masked`]'s decimation-in-frequency kernel
/// for the rows `zero` (bit k: row k holds `+0.0`) does not read: the patterns with a kernel
/// of their own.
const fn dif_unread(zero: u8) -> u8 {
    match zero & 0b0111 {
        z @ (0b0111 | 0b0110 | 0b0011) => z,
        _ => 0,
    }
}

/// Stores `+0.0` in the lanes `[lo, hi)` of the rows `zero` marks (`true`) that the first fused
/// pass of a decimation in frequency ([`split_pass`], [`Pass::Dif`] with `Prune { zero, .. }`)
/// would read: afterwards the pass computes what it would with every marked row zero, whatever
/// they held. The others are not written (most are not read; see [`dif_unread`]).
fn zero_read_rows(g: &mut SplitGrid, zero: &[bool; N], (lo, hi): (usize, usize)) {
    // The first pass: groups of rows j + k·N/4, k < 4, for j < N/4.
    const Q: usize = N / 4;
    for j in 0..Q {
        let row = |k: usize| j + k * Q;
        let mut mask = 0u8;
        for k in 0..4 {
            if zero.get(row(k)) == Some(&true) {
                mask |= 1 << k;
            }
        }
        let read = mask & !dif_unread(mask);
        for k in (0..4).filter(|k| read >> k & 1 == 1) {
            if let Some((re, im)) = row_pair(g, row(k)) {
                re.get_mut(lo..hi).unwrap_or(&mut []).fill(0.0);
                im.get_mut(lo..hi).unwrap_or(&mut []).fill(0.0);
            }
        }
    }
}

/// The lanes `[lo, hi)` of four rows of both arrays, if in range.
fn quad_lanes<'a>(
    re: [&'a mut [f32; N]; 4],
    im: [&'a mut [f32; N]; 4],
    (lo, hi): (usize, usize),
) -> Option<Quad<'a>> {
    let [r0, r1, r2, r3] = re;
    let [i0, i1, i2, i3] = im;
    Some([
        (r0.get_mut(lo..hi)?, i0.get_mut(lo..hi)?),
        (r1.get_mut(lo..hi)?, i1.get_mut(lo..hi)?),
        (r2.get_mut(lo..hi)?, i2.get_mut(lo..hi)?),
        (r3.get_mut(lo..hi)?, i3.get_mut(lo..hi)?),
    ])
}

/// Splits a block of `4q` rows into its four quarters' `j`-th rows.
fn quarter_rows(block: &mut [[f32; N]], q: usize, j: usize) -> Option<[&mut [f32; N]; 4]> {
    let (a, rest) = block.split_at_mut(q);
    let (b, rest) = rest.split_at_mut(q);
    let (c, d) = rest.split_at_mut(q);
    Some([a.get_mut(j)?, b.get_mut(j)?, c.get_mut(j)?, d.get_mut(j)?])
}

/// The kind of a [`split_pass`]: the algorithm and the sign of the exponent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// Decimation in frequency, `exp(−…)`: natural order in, bit-reversed out ([`forward`]).
    Dif,
    /// Decimation in frequency with conjugated twiddles, `exp(+…)` unscaled: natural order
    /// in, bit-reversed out.
    DifConj,
    /// Decimation in time with conjugated twiddles, `exp(+…)` unscaled: bit-reversed order
    /// in, natural out ([`inverse`]).
    DitConj,
}

/// What a [`split_pass`] may skip, without changing any wanted result by a bit.
#[derive(Debug, Clone, Copy)]
struct Prune<'a> {
    /// Rows known to hold `+0.0` in every lane on entry (`true`: zero): the first fused pass
    /// of a decimation in frequency does not read them.
    zero: Option<&'a [bool; N]>,
    /// Outputs wanted: rows `< keep` (decimation in time, natural order out) or rows holding
    /// frequencies `< keep` (decimation in frequency, bit-reversed out); the last fused pass
    /// does not compute the others, which keep partial results.
    keep: usize,
}

impl Prune<'_> {
    /// Nothing skipped.
    const NONE: Prune<'static> = Prune { zero: None, keep: N };
}

/// A transform along the first axis (between rows) of a split grid, every group of rows
/// combined over `lanes` (see [`Pass`]). The eight radix-2 stages run as four fused radix-2²
/// passes; each lane sees the operations of [`forward`] (or [`inverse`]) in the same order,
/// so the results are the same bit for bit (see [`Prune`] for what may be skipped).
fn split_pass(g: &mut SplitGrid, tw: &Twiddles, lanes: Lanes, pass: Pass, prune: Prune<'_>) {
    let inverse = pass == Pass::DitConj;
    // Stage pairs: (h, h/2) for the forward, (h, 2h) for the inverse; q = rows per quarter.
    let mut h = if inverse { 1 } else { N / 2 };
    while (1..N).contains(&h) {
        let q = if inverse { h } else { h / 2 };
        let block = 4 * q;
        let next = if inverse { h * 4 } else { h / 4 };
        let (first, last) = (h == if inverse { 1 } else { N / 2 }, !(1..N).contains(&next));
        let re = g.re.chunks_exact_mut(block);
        let im = g.im.chunks_exact_mut(block);
        for (b, (bre, bim)) in re.zip(im).enumerate() {
            for j in 0..q {
                let at = |h: usize, k: usize| tw.block(h).get(k).copied().unwrap_or_default();
                let w = match pass {
                    Pass::DitConj => {
                        [at(h, j).conj(), at(2 * h, j).conj(), at(2 * h, j + h).conj()]
                    }
                    Pass::Dif => [at(h, j), at(h, j + q), at(q, j)],
                    Pass::DifConj => [at(h, j).conj(), at(h, j + q).conj(), at(q, j).conj()],
                };
                let row = |k: usize| b * block + j + k * q;
                let mut zero = 0u8;
                if let (true, false, Some(z)) = (first, inverse, prune.zero) {
                    for k in 0..4 {
                        if z.get(row(k)) == Some(&true) {
                            zero |= 1 << k;
                        }
                    }
                }
                let mut keep = 0b1111u8;
                if last && prune.keep < N {
                    for k in 0..4 {
                        let out = if inverse { row(k) } else { reversed(row(k)) };
                        if out >= prune.keep {
                            keep &= !(1 << k);
                        }
                    }
                }
                let (Some(re4), Some(im4)) = (quarter_rows(bre, q, j), quarter_rows(bim, q, j))
                else {
                    continue;
                };
                let [r0, r1, r2, r3] = re4;
                let [i0, i1, i2, i3] = im4;
                for range in [lanes.first, lanes.second] {
                    if range.0 >= range.1 {
                        continue;
                    }
                    let quad = quad_lanes(
                        [&mut *r0, &mut *r1, &mut *r2, &mut *r3],
                        [&mut *i0, &mut *i1, &mut *i2, &mut *i3],
                        range,
                    );
                    if let Some(quad) = quad {
                        quad_masked(quad, w, inverse, zero, keep);
                    }
                }
            }
        }
        h = next;
    }
}

/// Forward 2-D DFT of `x`, given **transposed** (`g[c][r] = x[r][c]`) with only the rows of `x`
/// in `rows_used` non-zero; the result is left as [`forward_2d`] leaves it (`g[kr][kc]`, both
/// axes bit-reversed), bit for bit: each 1-D transform makes the same operations in the same
/// order, only many at once.
pub fn forward_2d_t(g: &mut SplitGrid, tw: &Twiddles, rows_used: Lanes) {
    split_pass(g, tw, rows_used, Pass::Dif, Prune::NONE);
    g.transpose();
    split_pass(g, tw, Lanes::ALL, Pass::Dif, Prune::NONE);
}

/// Inverse 2-D DFT (unscaled) of a grid as [`forward_2d_t`] leaves it; afterwards `g[c][r] =
/// x[r][c]` (**transposed**) for `r, c < wanted`, equal bit for bit to [`inverse_2d`]'s
/// result there. The other cells hold partial results.
pub fn inverse_2d_t(g: &mut SplitGrid, tw: &Twiddles, wanted: usize) {
    split_pass(g, tw, Lanes::ALL, Pass::DitConj, Prune::NONE);
    g.transpose();
    split_pass(g, tw, Lanes::below(wanted.min(N)), Pass::DitConj, Prune::NONE);
}

/// Columns of the half spectrum of a real input (`kz ∈ [0, N/2]`): the others follow from
/// Hermitian symmetry, `X[−k] = conj(X[k])`.
pub const HALF: usize = N / 2 + 1;

/// First lane of the packed input of [`forward_2d_real`] (lanes `[PACKED, PACKED + pairs)`,
/// clear of the half spectrum's `[0, HALF)`).
pub const PACKED: usize = 136;

/// The most row pairs [`forward_2d_real`] takes.
pub const MAX_PAIRS: usize = N - PACKED;

/// `REVERSED[i]` = `i` with its 8 bits reversed (`reverse_bits(i, 8)`): a table, because
/// some targets (x86) have no bit-reversal instruction and the imager looks rows up per pixel.
// Indexing in a constant: an out-of-range index fails the build, never the program.
#[allow(clippy::indexing_slicing)]
pub const REVERSED: [u8; N] = {
    let mut t = [0u8; N];
    let mut i = 0;
    while i < N {
        t[i] = (i as u8).reverse_bits();
        i += 1;
    }
    t
};

/// `i` with its 8 bits reversed, for `i < N` (0 otherwise).
#[inline(always)]
pub fn reversed(i: usize) -> usize {
    REVERSED.get(i).map_or(0, |&r| r as usize)
}

/// The row holding frequency `−k` when row `p` holds frequency `k`, rows in bit-reversed order.
fn mirror_row(p: usize) -> usize {
    reversed((N - reversed(p)) % N)
}

/// Row `r` of both arrays, if in range.
fn row_pair(g: &mut SplitGrid, r: usize) -> Option<(&mut [f32; N], &mut [f32; N])> {
    Some((g.re.get_mut(r)?, g.im.get_mut(r)?))
}

/// Forward 2-D DFT of a **real** `N × N` input `x`, its rows given in pairs and packed two per
/// complex lane: for pair `l = (ya, yb)`, `g.re[z][PACKED + l] = x[ya][z]` and
/// `g.im[z][PACKED + l] = x[yb][z]`; rows of `x` in no pair are zero (at most [`MAX_PAIRS`]
/// pairs; more are ignored). Nothing else of `g` is read: the pair rows' columns `[0, HALF)`
/// are overwritten by the unpacking before they are read, and the rows in no pair are taken
/// as zero (not read by the first fused pass along `y`, or zeroed first where that pass would
/// read them; the same bits: see [`forward_2d_real_pruned`]).
///
/// One complex transform along `z` serves two rows (their spectra are separated by Hermitian
/// symmetry, `Xa[k] = ½(Z[k] + conj Z[−k])`, `Xb[k] = −½i(Z[k] − conj Z[−k])`), written to rows
/// `ya` and `yb` for `kz < HALF` only; then the transform along `y` runs over those `HALF`
/// lanes. About half the work of a complex transform.
///
/// Afterwards `g[rev(ky)][kz] = X[ky][kz]` for `kz < HALF` (rows bit-reversed, columns in
/// natural order); the other columns hold scratch ([`fill_conjugate_half`] completes them).
pub fn forward_2d_real(g: &mut SplitGrid, tw: &Twiddles, pairs: &[(usize, usize)]) {
    forward_2d_real_pruned(g, tw, pairs, |_| true);
}

/// [`forward_2d_real`] for an input whose columns `z` where `!z_used(z)` are zero: the packed
/// lanes of those rows of `g` are taken as `+0.0` whatever they hold, and
/// are then not read by the first fused pass of the transform along `z`; the rows of `x` in no
/// pair are likewise not read by the first pass along `y`. The result is the same bit for bit
/// (adding or subtracting an exact `+0.0` is what the full transform does there).
pub fn forward_2d_real_pruned(
    g: &mut SplitGrid,
    tw: &Twiddles,
    pairs: &[(usize, usize)],
    z_used: impl Fn(usize) -> bool,
) {
    let pairs = pairs.get(..pairs.len().min(MAX_PAIRS)).unwrap_or(&[]);
    let mut zero = [false; N];
    for (z, v) in zero.iter_mut().enumerate() {
        *v = !z_used(z);
    }
    zero_read_rows(g, &zero, (PACKED, PACKED + pairs.len()));
    split_pass(
        g,
        tw,
        Lanes { first: (PACKED, PACKED + pairs.len()), second: (0, 0) },
        Pass::Dif,
        Prune { zero: Some(&zero), keep: N },
    );
    zero.fill(true);
    for &(ya, yb) in pairs {
        for y in [ya, yb] {
            if let Some(v) = zero.get_mut(y) {
                *v = false;
            }
        }
    }
    unpack_pairs(g, pairs);
    zero_read_rows(g, &zero, (0, HALF));
    split_pass(g, tw, Lanes::below(HALF), Pass::Dif, Prune { zero: Some(&zero), keep: N });
}

/// The `n` packed lanes of row `r`, if in range.
fn packed(a: &[[f32; N]; N], r: usize, n: usize) -> Option<&[f32]> {
    a.get(r)?.get(PACKED..PACKED + n)
}

/// The unpacking step of [`forward_2d_real`], transposing: `Z_l[kz]` sits at row `rev(kz)`,
/// lane `PACKED + l`; `Xa[kz] = ½(Z[kz] + conj Z[−kz])` goes to row `ya`, column `kz`, and
/// `Xb[kz] = −½i(Z[kz] − conj Z[−kz])` to row `yb`. For each `kz` the pairs are computed as
/// contiguous lanes (vectorised), then stored down the column.
fn unpack_pairs(g: &mut SplitGrid, pairs: &[(usize, usize)]) {
    let n = pairs.len().min(MAX_PAIRS);
    let (mut ar, mut ai) = ([0.0f32; MAX_PAIRS], [0.0f32; MAX_PAIRS]);
    let (mut br, mut bi) = ([0.0f32; MAX_PAIRS], [0.0f32; MAX_PAIRS]);
    for kz in 0..HALF {
        let (p, m) = (reversed(kz), reversed((N - kz) % N));
        let (Some(zr), Some(zi), Some(mr), Some(mi)) =
            (packed(&g.re, p, n), packed(&g.im, p, n), packed(&g.re, m, n), packed(&g.im, m, n))
        else {
            continue;
        };
        let xa = ar.iter_mut().zip(ai.iter_mut());
        let xb = br.iter_mut().zip(bi.iter_mut());
        let z = zr.iter().zip(zi).zip(mr.iter().zip(mi));
        for (((ar, ai), (br, bi)), ((&zr, &zi), (&mr, &mi))) in xa.zip(xb).zip(z) {
            (*ar, *ai) = (0.5 * (zr + mr), 0.5 * (zi - mi));
            (*br, *bi) = (0.5 * (zi + mi), 0.5 * (mr - zr));
        }
        let xa = ar.iter().zip(&ai);
        let xb = br.iter().zip(&bi);
        for (&(ya, yb), (a, b)) in pairs.iter().zip(xa.zip(xb)) {
            for (y, (&xr, &xi)) in [(ya, a), (yb, b)] {
                if let Some((re, im)) = row_pair(g, y)
                    && let (Some(dr), Some(di)) = (re.get_mut(kz), im.get_mut(kz))
                {
                    (*dr, *di) = (xr, xi);
                }
            }
        }
    }
}

/// Completes a half spectrum as [`forward_2d_real`] leaves it: columns `[HALF, N)` from
/// Hermitian symmetry, `X[ky][kz] = conj X[−ky][N − kz]`.
pub fn fill_conjugate_half(g: &mut SplitGrid) {
    for p in 0..N {
        let m = mirror_row(p);
        for kz in HALF..N {
            let src = |a: &[[f32; N]; N]| a.get(m).and_then(|r| r.get(N - kz)).copied();
            let (Some(r), Some(i)) = (src(&g.re), src(&g.im)) else { continue };
            if let Some((re, im)) = row_pair(g, p)
                && let (Some(dr), Some(di)) = (re.get_mut(kz), im.get_mut(kz))
            {
                (*dr, *di) = (r, -i);
            }
        }
    }
}

/// [`fill_conjugate_half`] then [`SplitGrid::mul_assign`] by `k`, in one sweep and the same
/// bits: rows are taken in mirrored pairs `(p, −p)`, the upper columns of each built from the
/// other's lower columns (still unmultiplied) straight into the product, then the lower columns
/// multiplied. Every loop runs over contiguous slices (one of them backwards), so it vectorises.
pub fn mul_conjugate_half(g: &mut SplitGrid, k: &SplitGrid) {
    for p in 0..N {
        let m = mirror_row(p);
        if m < p {
            continue;
        }
        let (Some(kp), Some(km)) = (k_rows(k, p), k_rows(k, m)) else { continue };
        if m == p {
            let Some((re, im)) = row_pair(g, p) else { continue };
            let (lo_re, up_re) = re.split_at_mut(HALF);
            let (lo_im, up_im) = im.split_at_mut(HALF);
            conjugate_product((up_re, up_im), (&*lo_re, &*lo_im), kp);
            lower_product((lo_re, lo_im), kp);
            continue;
        }
        let (re_a, re_b) = g.re.split_at_mut(m);
        let (im_a, im_b) = g.im.split_at_mut(m);
        let (Some(rp), Some(ip), Some(rm), Some(im)) =
            (re_a.get_mut(p), im_a.get_mut(p), re_b.first_mut(), im_b.first_mut())
        else {
            continue;
        };
        let (lo_rp, up_rp) = rp.split_at_mut(HALF);
        let (lo_ip, up_ip) = ip.split_at_mut(HALF);
        let (lo_rm, up_rm) = rm.split_at_mut(HALF);
        let (lo_im, up_im) = im.split_at_mut(HALF);
        conjugate_product((up_rp, up_ip), (&*lo_rm, &*lo_im), kp);
        conjugate_product((up_rm, up_im), (&*lo_rp, &*lo_ip), km);
        lower_product((lo_rp, lo_ip), kp);
        lower_product((lo_rm, lo_im), km);
    }
}

/// Row `r` of both arrays of `k`, if in range.
fn k_rows(k: &SplitGrid, r: usize) -> Option<(&[f32; N], &[f32; N])> {
    Some((k.re.get(r)?, k.im.get(r)?))
}

/// `x ← x·k` over the columns `[0, HALF)` of a row (the operations of
/// [`SplitGrid::mul_assign`]).
#[inline(always)]
fn lower_product((xr, xi): (&mut [f32], &mut [f32]), (kr, ki): (&[f32; N], &[f32; N])) {
    let x = xr.iter_mut().zip(xi.iter_mut());
    for ((ar, ai), (&br, &bi)) in x.zip(kr.iter().zip(ki.iter())) {
        let (xr, xi) = (*ar, *ai);
        *ar = xr * br - xi * bi;
        *ai = xr * bi + xi * br;
    }
}

/// `up[kz] ← conj(lo[N − kz])·k[kz]` for the columns `kz ∈ [HALF, N)` of a row (`up` holds
/// them), `lo` the columns `[0, HALF)` of the mirrored row: the value [`fill_conjugate_half`]
/// stores, multiplied as [`SplitGrid::mul_assign`] does.
#[inline(always)]
fn conjugate_product(
    (ur, ui): (&mut [f32], &mut [f32]),
    (lr, li): (&[f32], &[f32]),
    (kr, ki): (&[f32; N], &[f32; N]),
) {
    // Sources N − kz for kz = HALF..N: columns HALF − 2 down to 1.
    let (Some(lr), Some(li), Some(kr), Some(ki)) =
        (lr.get(1..HALF - 1), li.get(1..HALF - 1), kr.get(HALF..), ki.get(HALF..))
    else {
        return;
    };
    // The conjugate, reversed into a buffer first (two simple loops vectorise; one does not).
    let (mut cr, mut ci) = ([0.0f32; N - HALF], [0.0f32; N - HALF]);
    for ((dr, di), (&r, &i)) in cr.iter_mut().zip(ci.iter_mut()).zip(lr.iter().zip(li).rev()) {
        (*dr, *di) = (r, -i);
    }
    let up = ur.iter_mut().zip(ui.iter_mut());
    for (((ar, ai), (&xr, &xi)), (&br, &bi)) in up.zip(cr.iter().zip(&ci)).zip(kr.iter().zip(ki)) {
        *ar = xr * br - xi * bi;
        *ai = xr * bi + xi * br;
    }
}

/// Multiplies a half spectrum (columns `[0, HALF)`, layout of [`forward_2d_real`]) point-wise
/// by the spectrum of the **real part** of the kernel whose full spectrum is `k` (same layout,
/// all columns): `K_re[k] = ½(K[k] + conj K[−k])`. The product is the half spectrum of the
/// (real) correlation with the kernel's real part, for [`inverse_2d_real`].
pub fn mul_half_real_part(g: &mut SplitGrid, k: &SplitGrid) {
    let rows = g.re.iter_mut().zip(g.im.iter_mut()).zip(k.re.iter().zip(&k.im));
    for (p, ((gr, gi), (kr, ki))) in rows.enumerate() {
        let m = mirror_row(p);
        let (Some(mr), Some(mi)) = (k.re.get(m), k.im.get(m)) else { continue };
        // Column 0 pairs with column 0, column kz ≥ 1 with N − kz (walked backwards; two
        // slices of equal length so that the loop vectorises).
        let (Some((gr0, gr)), Some((gi0, gi))) = (
            gr.get_mut(..HALF).and_then(|s| s.split_first_mut()),
            gi.get_mut(..HALF).and_then(|s| s.split_first_mut()),
        ) else {
            continue;
        };
        let (Some(&ar0), Some(&ai0), Some(ar), Some(ai)) =
            (kr.first(), ki.first(), kr.get(1..HALF), ki.get(1..HALF))
        else {
            continue;
        };
        let (Some(&br0), Some(&bi0)) = (mr.first(), mi.first()) else { continue };
        half_product(gr0, gi0, (ar0, ai0), (br0, bi0));
        let (Some(br), Some(bi)) = (mr.get(HALF - 1..), mi.get(HALF - 1..)) else { continue };
        let here = gr.iter_mut().zip(gi.iter_mut()).zip(ar.iter().zip(ai));
        let there = br.iter().rev().zip(bi.iter().rev());
        for (((xr, xi), (&ar, &ai)), (&br, &bi)) in here.zip(there) {
            half_product(xr, xi, (ar, ai), (br, bi));
        }
    }
}

/// `x ← x·½(a + conj b)`: one point of [`mul_half_real_part`].
#[inline(always)]
fn half_product(xr: &mut f32, xi: &mut f32, (ar, ai): (f32, f32), (br, bi): (f32, f32)) {
    let (wr, wi) = (0.5 * (ar + br), 0.5 * (ai - bi));
    let (vr, vi) = (*xr, *xi);
    *xr = vr * wr - vi * wi;
    *xi = vr * wi + vi * wr;
}

/// Inverse 2-D DFT (unscaled) of a full spectrum in the layout of [`forward_2d_real`] after
/// [`fill_conjugate_half`] (rows bit-reversed, columns natural): afterwards
/// `g[rev(u)][y] = x[y][u]` for `y < wanted` and `u < wanted`, complex. The other cells hold
/// partial results (the last stages do not compute them).
pub fn inverse_2d_full(g: &mut SplitGrid, tw: &Twiddles, wanted: usize) {
    let wanted = wanted.min(N);
    split_pass(g, tw, Lanes::ALL, Pass::DitConj, Prune { zero: None, keep: wanted });
    transpose_rows(&mut g.re, wanted);
    transpose_rows(&mut g.im, wanted);
    // Lanes rounded up to whole steps of 4 (the extra lane holds a partial result): cheaper
    // than the scalar remainder.
    let lanes = Lanes::below(wanted.next_multiple_of(4).min(N));
    split_pass(g, tw, lanes, Pass::DifConj, Prune { zero: None, keep: wanted });
}

/// Inverse 2-D DFT (unscaled) of the half spectrum (columns `[0, HALF)`, layout of
/// [`forward_2d_real`]) of a **real** result: afterwards `g.re[rev(u)][y] = x[y][u]` for
/// `y < wanted` and `u < wanted` (`wanted ≤ 2·(N − HALF)`, larger values are clamped). The
/// imaginary parts and other cells hold scratch (the last stages do not compute them).
///
/// The transform along `y` runs over the `HALF` lanes; then rows `y` and `y + P` (P =
/// ⌈wanted/2⌉) are packed as one complex row (`Q_y + i·Q_{y+P}`, the missing half of each
/// from `Q[−k] = conj Q[k]`), so the transform along `u` takes `P` lanes for `wanted` rows.
pub fn inverse_2d_real(g: &mut SplitGrid, tw: &Twiddles, wanted: usize) {
    let wanted = wanted.min(2 * (N - HALF));
    let pairs = wanted.div_ceil(2);
    let first = N - pairs;
    split_pass(g, tw, Lanes::below(HALF), Pass::DitConj, Prune { zero: None, keep: 2 * pairs });
    // Pack, transposing: lane first + l, row kz ← Q_l[kz] + i·Q_{l+P}[kz]. The sources are in
    // columns [0, HALF), the destination in [first, N): disjoint. Each lane is computed as a
    // contiguous row (vectorised), then stored down its column.
    let (mut pr, mut pi) = ([0.0f32; N], [0.0f32; N]);
    for l in 0..pairs {
        let rows = (g.re.get(l), g.im.get(l), g.re.get(l + pairs), g.im.get(l + pairs));
        let (Some(ar), Some(ai), Some(br), Some(bi)) = rows else { continue };
        let (lo_r, hi_r) = pr.split_at_mut(HALF);
        let (lo_i, hi_i) = pi.split_at_mut(HALF);
        // kz < HALF: the column kz itself.
        let src = ar.iter().zip(ai).zip(br.iter().zip(bi));
        for ((dr, di), ((&ar, &ai), (&br, &bi))) in lo_r.iter_mut().zip(lo_i.iter_mut()).zip(src) {
            (*dr, *di) = (ar - bi, ai + br);
        }
        // kz ≥ HALF: the conjugate of column N − kz (HALF − 2 down to 1).
        let src = inner(ar).iter().zip(inner(ai)).zip(inner(br).iter().zip(inner(bi))).rev();
        for ((dr, di), ((&ar, &ai), (&br, &bi))) in hi_r.iter_mut().zip(hi_i.iter_mut()).zip(src) {
            let (ai, bi) = (-ai, -bi);
            (*dr, *di) = (ar - bi, ai + br);
        }
        let lane = first + l;
        for ((rr, ri), (&vr, &vi)) in g.re.iter_mut().zip(g.im.iter_mut()).zip(pr.iter().zip(&pi)) {
            if let (Some(dr), Some(di)) = (rr.get_mut(lane), ri.get_mut(lane)) {
                (*dr, *di) = (vr, vi);
            }
        }
    }
    let lanes = Lanes { first: (first, N), second: (0, 0) };
    split_pass(g, tw, lanes, Pass::DifConj, Prune { zero: None, keep: wanted });
    // Unpack in place: y < P from the real parts, y ≥ P from the imaginary parts (columns
    // [first, N) to [0, wanted): the first copy only writes below P ≤ first).
    for (re, im) in g.re.iter_mut().zip(g.im.iter()) {
        re.copy_within(first..first + pairs, 0);
        if let (Some(d), Some(s)) =
            (re.get_mut(pairs..wanted), im.get(first..first + wanted - pairs))
        {
            d.copy_from_slice(s);
        }
    }
}

/// Columns `[1, HALF − 1)` of a row: those whose conjugates fill columns `[HALF, N)`.
fn inner(a: &[f32; N]) -> &[f32] {
    a.get(1..HALF - 1).unwrap_or(&[])
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

    /// The split, transposed transforms give the per-row transforms' results bit for bit: the
    /// imager's layout (80 used rows at 0 and 177..=255, a complex kernel, 199 rows and columns
    /// wanted).
    #[test]
    fn split_transforms_equal_the_row_transforms_bit_for_bit() {
        let tw = Twiddles::new();
        let mut rng = Rng(21);
        let used = |r: usize| r == 0 || r > N - 80;
        let x: Vec<Complex> = (0..N * N)
            .map(|i| {
                if used(i / N) && used(i % N) {
                    Complex::new(rng.next(), 0.0)
                } else {
                    Complex::ZERO
                }
            })
            .collect();
        let k: Vec<Complex> = (0..N * N).map(|_| Complex::new(rng.next(), rng.next())).collect();
        let mut split = std::boxed::Box::new(SplitGrid::zeroed());
        for (i, v) in x.iter().enumerate() {
            split.re[i % N][i / N] = v.re;
            split.im[i % N][i / N] = v.im;
        }
        let mut kk = std::boxed::Box::new(SplitGrid::zeroed());
        for (i, v) in k.iter().enumerate() {
            kk.re[i / N][i % N] = v.re;
            kk.im[i / N][i % N] = v.im;
        }
        let mut y = x.clone();
        forward_2d(&mut y, N, &tw, used).unwrap();
        let lanes = Lanes { first: (0, 1), second: (N - 79, N) };
        forward_2d_t(&mut split, &tw, lanes);
        for (i, v) in y.iter().enumerate() {
            let (r, c) = (i / N, i % N);
            assert_eq!(
                (v.re.to_bits(), v.im.to_bits()),
                (split.re[r][c].to_bits(), split.im[r][c].to_bits()),
                "forward ({r}, {c})"
            );
        }
        for (a, b) in y.iter_mut().zip(&k) {
            *a = *a * *b;
        }
        split.mul_assign(&kk);
        inverse_2d(&mut y, N, &tw, |r| r < 199).unwrap();
        inverse_2d_t(&mut split, &tw, 199);
        for r in 0..199 {
            for c in 0..199 {
                let v = y[r * N + c];
                assert_eq!(
                    (v.re.to_bits(), v.im.to_bits()),
                    (split.re[c][r].to_bits(), split.im[c][r].to_bits()),
                    "inverse ({r}, {c})"
                );
            }
        }
        let mut t = std::boxed::Box::new(SplitGrid::zeroed());
        t.re[3][200] = 1.0;
        t.im[255][0] = 2.0;
        t.transpose();
        assert_eq!((t.re[200][3], t.im[0][255], t.re[3][200]), (1.0, 2.0, 0.0));
    }

    /// The real-input transforms agree with the complex ones (to rounding: they make other
    /// operations): the imager's layout, 80 used rows and columns, 199 outputs wanted.
    #[test]
    fn real_input_transforms_match_the_complex_ones() {
        let tw = Twiddles::new();
        let mut rng = Rng(33);
        let used = |r: usize| r == 0 || r > N - 80;
        let rows: Vec<usize> = (0..N).filter(|&r| used(r)).collect();
        let x: Vec<f32> =
            (0..N * N).map(|i| if used(i / N) && used(i % N) { rng.next() } else { 0.0 }).collect();
        let k: Vec<Complex> = (0..N * N).map(|_| Complex::new(rng.next(), rng.next())).collect();
        let spectrum = |v: &[Complex]| {
            let mut v = v.to_vec();
            forward_2d(&mut v, N, &tw, |_| true).unwrap();
            v
        };
        let xs = spectrum(&x.iter().map(|&v| Complex::new(v, 0.0)).collect::<Vec<_>>());
        let ks = spectrum(&k);
        let ks_re = spectrum(&k.iter().map(|c| Complex::new(c.re, 0.0)).collect::<Vec<_>>());
        let bits = N.trailing_zeros();
        let close = |a: f32, b: f32, scale: f32| (a - b).abs() <= 2e-5 * scale;

        // Forward: packed input, half spectrum, completed.
        let mut g = std::boxed::Box::new(SplitGrid::zeroed());
        let pairs: Vec<(usize, usize)> = (0..40).map(|l| (rows[l], rows[l + 40])).collect();
        for (l, &(ya, yb)) in pairs.iter().enumerate() {
            for z in 0..N {
                g.re[z][PACKED + l] = x[ya * N + z];
                g.im[z][PACKED + l] = x[yb * N + z];
            }
        }
        forward_2d_real(&mut g, &tw, &pairs);
        fill_conjugate_half(&mut g);
        let scale = xs.iter().map(|c| c.re.abs().max(c.im.abs())).fold(0.0, f32::max);
        for p in 0..N {
            for kz in 0..N {
                let want = xs[p * N + reverse_bits(kz, bits)];
                assert!(close(g.re[p][kz], want.re, scale), "re ({p}, {kz})");
                assert!(close(g.im[p][kz], want.im, scale), "im ({p}, {kz})");
            }
        }
        let half = g.clone();

        // The kernel in the same layout (columns in natural order).
        let mut kk = std::boxed::Box::new(SplitGrid::zeroed());
        for p in 0..N {
            for kz in 0..N {
                let v = ks[p * N + reverse_bits(kz, bits)];
                (kk.re[p][kz], kk.im[p][kz]) = (v.re, v.im);
            }
        }
        let reference = |ks: &[Complex]| {
            let mut y: Vec<Complex> = xs.iter().zip(ks).map(|(a, b)| *a * *b).collect();
            inverse_2d(&mut y, N, &tw, |_| true).unwrap();
            y
        };

        // Full complex inverse.
        let want = reference(&ks);
        let scale = want.iter().map(|c| c.re.abs().max(c.im.abs())).fold(0.0, f32::max);
        g.mul_assign(&kk);
        inverse_2d_full(&mut g, &tw, 199);
        for y in 0..199 {
            for u in 0..199 {
                let (w, r) = (want[y * N + u], reverse_bits(u, bits));
                assert!(close(g.re[r][y], w.re, scale), "full re ({y}, {u})");
                assert!(close(g.im[r][y], w.im, scale), "full im ({y}, {u})");
            }
        }

        // Real output: the correlation with the kernel's real part.
        let want = reference(&ks_re);
        let scale = want.iter().map(|c| c.re.abs()).fold(0.0, f32::max);
        let mut g = half;
        mul_half_real_part(&mut g, &kk);
        inverse_2d_real(&mut g, &tw, 199);
        for y in 0..199 {
            for u in 0..199 {
                let r = reverse_bits(u, bits);
                assert!(close(g.re[r][y], want[y * N + u].re, scale), "real ({y}, {u})");
            }
        }
    }

    /// [`forward_2d_real`] as first written: no pruning, the unpacking one value at a time.
    fn forward_2d_real_reference(g: &mut SplitGrid, tw: &Twiddles, pairs: &[(usize, usize)]) {
        let lanes = Lanes { first: (PACKED, PACKED + pairs.len()), second: (0, 0) };
        split_pass(g, tw, lanes, Pass::Dif, Prune::NONE);
        for kz in 0..HALF {
            let (p, m) = (reversed(kz), reversed((N - kz) % N));
            for (l, &(ya, yb)) in pairs.iter().enumerate() {
                let lane = PACKED + l;
                let (zr, zi, mr, mi) = (g.re[p][lane], g.im[p][lane], g.re[m][lane], g.im[m][lane]);
                (g.re[ya][kz], g.im[ya][kz]) = (0.5 * (zr + mr), 0.5 * (zi - mi));
                (g.re[yb][kz], g.im[yb][kz]) = (0.5 * (zi + mi), 0.5 * (mr - zr));
            }
        }
        split_pass(g, tw, Lanes::below(HALF), Pass::Dif, Prune::NONE);
    }

    /// [`inverse_2d_real`] as first written: no pruning, packing one value at a time.
    fn inverse_2d_real_reference(g: &mut SplitGrid, tw: &Twiddles, wanted: usize) {
        let pairs = wanted.div_ceil(2);
        let first = N - pairs;
        split_pass(g, tw, Lanes::below(HALF), Pass::DitConj, Prune::NONE);
        for l in 0..pairs {
            let (ya, yb) = (l, l + pairs);
            for kz in 0..N {
                let (src, sign) = if kz < HALF { (kz, 1.0) } else { (N - kz, -1.0) };
                let (ar, ai) = (g.re[ya][src], sign * g.im[ya][src]);
                let (br, bi) = (g.re[yb][src], sign * g.im[yb][src]);
                (g.re[kz][first + l], g.im[kz][first + l]) = (ar - bi, ai + br);
            }
        }
        let lanes = Lanes { first: (first, N), second: (0, 0) };
        split_pass(g, tw, lanes, Pass::DifConj, Prune::NONE);
        for r in 0..N {
            for y in 0..pairs {
                g.re[r][y] = g.re[r][first + y];
            }
            for y in pairs..wanted {
                g.re[r][y] = g.im[r][first + y - pairs];
            }
        }
    }

    /// [`forward_2d_real`] reads nothing of the grid but the packed lanes: garbage (NaN)
    /// anywhere else gives the same spectrum bit for bit.
    #[test]
    fn the_real_transform_reads_only_the_packed_data() {
        use std::boxed::Box;
        let tw = Twiddles::new();
        // Pairs that leave groups of the first pass along `y` with rows in no pair that its
        // kernels read (e.g. rows 1, 65, 129, 193): those are zeroed, whatever they held.
        let pairs = [(1usize, 2usize), (3, 200), (64, 255), (0, 129)];
        let lanes = PACKED..PACKED + pairs.len();
        let mut rng = Rng(99);
        let mut g = Box::new(SplitGrid::zeroed());
        for l in 0..pairs.len() {
            for z in 0..N {
                g.re[z][PACKED + l] = rng.next();
                g.im[z][PACKED + l] = rng.next();
            }
        }
        let mut garbage = g.clone();
        for z in 0..N {
            for c in (0..N).filter(|c| !lanes.contains(c)) {
                garbage.re[z][c] = f32::NAN;
                garbage.im[z][c] = -1.0e30;
            }
        }
        forward_2d_real(&mut g, &tw, &pairs);
        forward_2d_real(&mut garbage, &tw, &pairs);
        for r in 0..N {
            for c in 0..HALF {
                assert_eq!(g.re[r][c].to_bits(), garbage.re[r][c].to_bits(), "re ({r}, {c})");
                assert_eq!(g.im[r][c].to_bits(), garbage.im[r][c].to_bits(), "im ({r}, {c})");
            }
        }
    }

    /// The pruned, fused and vectorised steps give the results of the plain ones bit for bit
    /// where the results are wanted: the imager's layout (80 used rows and columns, 199 outputs
    /// per axis), with exact and negative zeros among the used values.
    #[test]
    fn pruned_steps_equal_the_plain_ones_bit_for_bit() {
        use std::boxed::Box;
        let tw = Twiddles::new();
        let used = |r: usize| r == 0 || r > N - 80;
        let rows: Vec<usize> = (0..N).filter(|&r| used(r)).collect();
        let pairs: Vec<(usize, usize)> = (0..40).map(|l| (rows[l], rows[l + 40])).collect();
        let wanted = 199;
        let same = |a: f32, b: f32| a.to_bits() == b.to_bits();
        // The last case holds signed zeros only: every result is a zero whose sign must match.
        for seed in [1u32, 2, 3, 4] {
            let mut rng = Rng(seed * 7919);
            let mut value = || match rng.next() {
                v if v < -0.9 || (seed == 4 && v < 0.0) => -0.0,
                v if v > 0.9 || seed == 4 => 0.0,
                v => v,
            };
            let mut g = Box::new(SplitGrid::zeroed());
            for l in 0..pairs.len() {
                for z in (0..N).filter(|&z| used(z)) {
                    g.re[z][PACKED + l] = value();
                    g.im[z][PACKED + l] = value();
                }
            }
            // Only the packed lanes of the used rows are read: garbage anywhere else changes
            // nothing (the reference below gets zeros there).
            let mut garbage = g.clone();
            for z in 0..N {
                for c in 0..N {
                    if !(used(z) && (PACKED..PACKED + pairs.len()).contains(&c)) {
                        garbage.re[z][c] = f32::NAN;
                        garbage.im[z][c] = -1.0e30;
                    }
                }
            }
            let mut k = Box::new(SplitGrid::zeroed());
            for v in k.re.as_flattened_mut().iter_mut().chain(k.im.as_flattened_mut()) {
                *v = value();
            }

            // Forward: columns [0, HALF) of every row.
            let mut want = g.clone();
            forward_2d_real_reference(&mut want, &tw, &pairs);
            forward_2d_real_pruned(&mut g, &tw, &pairs, used);
            forward_2d_real_pruned(&mut garbage, &tw, &pairs, used);
            for r in 0..N {
                for c in 0..HALF {
                    assert!(same(g.re[r][c], want.re[r][c]), "forward re ({r}, {c})");
                    assert!(same(g.im[r][c], want.im[r][c]), "forward im ({r}, {c})");
                    assert!(same(garbage.re[r][c], want.re[r][c]), "garbage re ({r}, {c})");
                    assert!(same(garbage.im[r][c], want.im[r][c]), "garbage im ({r}, {c})");
                }
            }

            // The completed product: every cell.
            let mut full = g.clone();
            fill_conjugate_half(&mut full);
            full.mul_assign(&k);
            let mut fused = g.clone();
            mul_conjugate_half(&mut fused, &k);
            assert!(
                full.re
                    .as_flattened()
                    .iter()
                    .zip(fused.re.as_flattened())
                    .all(|(a, b)| same(*a, *b))
            );
            assert!(
                full.im
                    .as_flattened()
                    .iter()
                    .zip(fused.im.as_flattened())
                    .all(|(a, b)| same(*a, *b))
            );

            // Inverses: the wanted cells, `[rev(u)][y]` for u, y < wanted.
            let mut plain = full.clone();
            split_pass(&mut plain, &tw, Lanes::ALL, Pass::DitConj, Prune::NONE);
            plain.transpose();
            split_pass(&mut plain, &tw, Lanes::below(wanted), Pass::DifConj, Prune::NONE);
            inverse_2d_full(&mut fused, &tw, wanted);
            let mut real = g.clone();
            mul_half_real_part(&mut real, &k);
            let mut real_plain = real.clone();
            inverse_2d_real(&mut real, &tw, wanted);
            inverse_2d_real_reference(&mut real_plain, &tw, wanted);
            for u in 0..wanted {
                let r = reversed(u);
                for y in 0..wanted {
                    assert!(same(fused.re[r][y], plain.re[r][y]), "full re ({u}, {y})");
                    assert!(same(fused.im[r][y], plain.im[r][y]), "full im ({u}, {y})");
                    assert!(same(real.re[r][y], real_plain.re[r][y]), "real ({u}, {y})");
                }
            }
        }
    }

    #[test]
    fn twiddles_fill() {
        assert!(!Twiddles::zeroed().is_filled());
        let t = Twiddles::new();
        assert!(t.is_filled());
        let quarter = Complex::new(libm::cos(-core::f64::consts::FRAC_PI_2) as f32, -1.0);
        assert_eq!(t.block(N / 2).get(64), Some(&quarter));
        // Every stage holds the same values as the full table, T[k·N/(2h)].
        let full = t.block(N / 2).to_vec();
        let mut h = 1;
        while h < N {
            let stage = t.block(h);
            assert_eq!(stage.len(), h);
            assert!(stage.iter().enumerate().all(|(k, w)| *w == full[k * (N / (2 * h))]));
            h *= 2;
        }
        assert!(t.block(N).is_empty());
    }
}
