//! ECLAIRs coded-mask geometry: detector, mask pattern, sky pixels, directions and attitude.
//!
//! Everything here follows the reference ICD §4 (`/work/shared/ICD.md`, mirrored in
//! `docs/trigger.md`, section "Geometry and mask"):
//!
//! - **Instrument frame**: X along the boresight (detector → mask), Y and Z along the detector's
//!   Y and Z indices, right-handed (X × Y = Z).
//! - **Detector**: [`DET_N`] × [`DET_N`] pixels at pitch [`PITCH_MM`]; pixel (Y, Z) has its
//!   centre at ((Y − 39.5)·4.5 mm, (Z − 39.5)·4.5 mm) and its ID is `80·Y + Z`.
//! - **Mask**: [`MASK_N`] × [`MASK_N`] elements of [`MASK_ELEMENT_MM`] in the plane
//!   X = [`MASK_HEIGHT_MM`]; element (i, j) has its centre at ((i − 22.5)·11.4 mm,
//!   (j − 22.5)·11.4 mm), i along Y, j along Z. [`MASK`]`[i][j]` is 1 when open. Outside the
//!   46 × 46 elements the mask support frame and the lateral shield are **opaque**.
//! - **Directions**: a sky direction with unit vector (x, y, z) in the instrument frame is
//!   reported as two projected angles `y_deg = atan(y/x)` and `z_deg = atan(z/x)`. A photon from
//!   that direction landing on detector point (Yd, Zd) crossed the mask plane at
//!   (Yd + 460·y/x, Zd + 460·z/x).
//! - **Sky pixels**: the sky image is [`SKY_N`] × [`SKY_N`]; sky pixel (sy, sz) is the direction
//!   whose mask shadow is shifted by (sy − 99, sz − 99) detector pitches:
//!   `tan(y_deg) · 460 mm = (sy − 99) · 4.5 mm`. Sub-pixel positions are `f32`.
//! - **Attitude**: a unit quaternion, scalar first, that rotates instrument-frame vectors into
//!   J2000 ([`Attitude`]).
//!
//! Floats: geometry and imaging in `f32` (sky pixels, angles in the instrument frame), attitude
//! and RA/Dec in `f64` (sub-arcsecond round trips); every transcendental function is `libm`, so
//! host, twin and firmware agree bit for bit.

/// Detector pixels along Y and along Z (ICD §4).
pub const DET_N: usize = 80;
/// Detector pixels in all (pixel ID = `80·Y + Z`).
pub const DET_PIXELS: usize = DET_N * DET_N;
/// Detector pixel pitch, mm.
pub const PITCH_MM: f32 = 4.5;
/// Side of a pixel's sensitive CdTe area, mm (centred in its pitch cell).
pub const PIXEL_SIZE_MM: f32 = 4.0;
/// Mask elements along Y and along Z.
pub const MASK_N: usize = 46;
/// Mask elements in all.
pub const MASK_ELEMENTS: usize = MASK_N * MASK_N;
/// Side of a mask element, mm.
pub const MASK_ELEMENT_MM: f32 = 11.4;
/// Height of the mask plane above the detector plane, mm.
pub const MASK_HEIGHT_MM: f32 = 460.0;
/// Open elements of [`MASK`]: round(0.40 · 2116).
pub const MASK_OPEN: usize = 846;
/// Open fraction of the mask, `MASK_OPEN / MASK_ELEMENTS` (0.3998).
pub const MASK_OPEN_FRACTION: f32 = MASK_OPEN as f32 / MASK_ELEMENTS as f32;
/// Half the mask's side, mm (23 elements).
pub const MASK_HALF_MM: f32 = 0.5 * MASK_N as f32 * MASK_ELEMENT_MM;
/// Sky image side, pixels: 80 + 120 − 1 (the mask rebinned to [`REBIN_N`] detector pitches).
pub const SKY_N: usize = DET_N + REBIN_N - 1;
/// Sky pixel index of the boresight, along both axes.
pub const SKY_CENTRE: usize = (SKY_N - 1) / 2;
/// Cells of the mask rebinned to the detector pitch, along each axis (cell `c` spans
/// `[(c − 60)·4.5, (c − 59)·4.5)` mm; cells 1..=118 overlap the mask, 0 and 119 are frame).
pub const REBIN_N: usize = 120;
/// Angular size of the on-axis sky pixel, degrees: atan(4.5 / 460).
pub const SKY_PIXEL_DEG: f32 = 0.560_484_3;
/// Half-angle of the fully coded field of view, degrees: atan((524.4 − 360) / 2 / 460).
pub const FULLY_CODED_HALF_DEG: f32 = 10.131_569;
/// Half-angle of the total (zero-response) field of view, degrees: atan((524.4 + 360) / 2 / 460).
pub const FIELD_HALF_DEG: f32 = 43.869_727;

/// Seed of the xorshift32 generator that draws [`MASK`] (see [`mask_pattern`]).
///
/// Chosen among seeds 1..=3000 as the one whose balanced aperiodic autocorrelation has the
/// lowest largest sidelobe (search program described in `docs/trigger.md`).
pub const MASK_SEED: u32 = 1004;

/// The mask pattern: `MASK[i][j]` is 1 when element (i, j) is open, i along Y, j along Z.
///
/// Drawn by [`mask_pattern`]`(`[`MASK_SEED`]`)` at compile time: exactly [`MASK_OPEN`] open
/// elements. Its balanced aperiodic autocorrelation (open = 1, closed = −846/1270) has a peak
/// of 846 and a largest sidelobe of 42.58 over all 91 × 91 − 1 shifts (ratio 19.9); the
/// unit test `mask_autocorrelation_sidelobes` re-measures it.
pub const MASK: [[u8; MASK_N]; MASK_N] = mask_pattern(MASK_SEED);

/// One step of Marsaglia's xorshift32 generator (shifts 13, 17, 5).
pub const fn xorshift32(mut x: u32) -> u32 {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    x
}

/// Draws a mask pattern with [`MASK_OPEN`] open elements from a xorshift32 seed.
///
/// Procedure (deterministic, reproducible in any language): the element list `idx[k] = k`
/// (k = 46·i + j) is partially shuffled by Fisher–Yates: for k = 0, 1, …, 845 the generator
/// steps once (`x = xorshift32(x)`, starting from `x = seed`), `r = k + x mod (2116 − k)`,
/// `idx[k]` and `idx[r]` swap, and element `idx[k]` opens. A zero seed would never move the
/// generator: it gives the first 846 elements in order.
// Const evaluation only (the one caller is the `MASK` constant): an index out of range would be
// a compile error, never a run-time panic. All indices are below their array's length by the
// loop bounds.
#[allow(clippy::indexing_slicing)]
pub const fn mask_pattern(seed: u32) -> [[u8; MASK_N]; MASK_N] {
    let mut idx = [0u16; MASK_ELEMENTS];
    let mut k = 0;
    while k < MASK_ELEMENTS {
        idx[k] = k as u16;
        k += 1;
    }
    let mut mask = [[0u8; MASK_N]; MASK_N];
    let mut x = seed;
    let mut k = 0;
    while k < MASK_OPEN {
        x = xorshift32(x);
        let r = k + (x as usize % (MASK_ELEMENTS - k));
        let t = idx[k];
        idx[k] = idx[r];
        idx[r] = t;
        let c = idx[k] as usize;
        mask[c / MASK_N][c % MASK_N] = 1;
        k += 1;
    }
    mask
}

/// Whether the mask lets light through at a point of the mask plane (mm, instrument Y and Z).
///
/// Element (i, j) covers `[(i − 23)·11.4, (i − 22)·11.4) × [(j − 23)·11.4, (j − 22)·11.4)` mm
/// (half-open). Points outside the 46 × 46 elements are on the opaque support frame: `false`.
pub fn mask_open_at(y_mm: f32, z_mm: f32) -> bool {
    match (mask_index(y_mm), mask_index(z_mm)) {
        (Some(i), Some(j)) => mask_element(i, j),
        _ => false,
    }
}

/// Whether mask element (i, j) is open; `false` outside the mask.
pub fn mask_element(i: usize, j: usize) -> bool {
    MASK.get(i).and_then(|row| row.get(j)).is_some_and(|&e| e == 1)
}

/// Element index along one axis of a mask-plane coordinate, if on the mask.
fn mask_index(mm: f32) -> Option<usize> {
    let u = libm::floorf(mm / MASK_ELEMENT_MM + 0.5 * MASK_N as f32);
    if (0.0..MASK_N as f32).contains(&u) { Some(u as usize) } else { None }
}

/// Centre of detector pixel (Y, Z) in the detector plane, mm.
pub fn pixel_centre_mm(y: usize, z: usize) -> (f32, f32) {
    (det_coord_mm(y), det_coord_mm(z))
}

/// Centre of detector pixel index `k` along one axis, mm: (k − 39.5)·4.5.
fn det_coord_mm(k: usize) -> f32 {
    (k as f32 - 0.5 * (DET_N as f32 - 1.0)) * PITCH_MM
}

/// Centre of mask element (i, j) in the mask plane, mm.
pub fn mask_element_centre_mm(i: usize, j: usize) -> (f32, f32) {
    let c = |k: usize| (k as f32 - 0.5 * (MASK_N as f32 - 1.0)) * MASK_ELEMENT_MM;
    (c(i), c(j))
}

/// Projected angle (degrees) of a shadow shift of `shift_mm` in the mask plane.
fn shift_to_deg(shift_mm: f32) -> f32 {
    libm::atanf(shift_mm / MASK_HEIGHT_MM).to_degrees()
}

/// Shadow shift in the mask plane (mm) of a projected angle in degrees: 460·tan(angle).
fn deg_to_shift(deg: f32) -> f32 {
    MASK_HEIGHT_MM * libm::tanf(deg.to_radians())
}

/// Projected angles (`y_deg`, `z_deg`) of a sub-pixel sky position (sky pixel units, 0..199).
pub fn sky_to_angles(sky_y: f32, sky_z: f32) -> (f32, f32) {
    let c = SKY_CENTRE as f32;
    (shift_to_deg((sky_y - c) * PITCH_MM), shift_to_deg((sky_z - c) * PITCH_MM))
}

/// Sub-pixel sky position (sky pixel units) of projected angles in degrees.
///
/// Defined for |angle| < 90°; directions outside the field of view give positions outside
/// `0..199`.
pub fn angles_to_sky(y_deg: f32, z_deg: f32) -> (f32, f32) {
    let c = SKY_CENTRE as f32;
    (c + deg_to_shift(y_deg) / PITCH_MM, c + deg_to_shift(z_deg) / PITCH_MM)
}

/// Unit vector (instrument frame) of projected angles in degrees.
pub fn angles_to_unit(y_deg: f64, z_deg: f64) -> [f64; 3] {
    let ty = libm::tan(y_deg.to_radians());
    let tz = libm::tan(z_deg.to_radians());
    let x = 1.0 / libm::sqrt(1.0 + ty * ty + tz * tz);
    [x, ty * x, tz * x]
}

/// Projected angles in degrees of an instrument-frame vector; `None` unless it points above the
/// detector plane (x > 0).
pub fn unit_to_angles(v: [f64; 3]) -> Option<(f64, f64)> {
    let [x, y, z] = v;
    if x > 0.0 {
        Some((libm::atan2(y, x).to_degrees(), libm::atan2(z, x).to_degrees()))
    } else {
        None
    }
}

/// Cosine of the angle between a direction (projected angles, degrees) and the boresight: the
/// factor by which a pixel's projected area, hence its photon rate, falls off axis.
pub fn off_axis_cosine(y_deg: f32, z_deg: f32) -> f32 {
    let ty = libm::tanf(y_deg.to_radians());
    let tz = libm::tanf(z_deg.to_radians());
    1.0 / libm::sqrtf(1.0 + ty * ty + tz * tz)
}

/// Length of the overlap of the intervals `[a0, a1)` and `[b0, b1)`.
fn overlap(a0: f32, a1: f32, b0: f32, b1: f32) -> f32 {
    let lo = if a0 > b0 { a0 } else { b0 };
    let hi = if a1 < b1 { a1 } else { b1 };
    if hi > lo { hi - lo } else { 0.0 }
}

/// Open area of the mask inside the rectangle `[y0, y1) × [z0, z1)` of the mask plane, mm².
///
/// Exact for any rectangle: the sum over the elements it overlaps of the overlap areas of the
/// open ones (the frame outside the elements is opaque).
pub fn mask_open_area(y0: f32, y1: f32, z0: f32, z1: f32) -> f32 {
    let first = |a: f32| {
        let u = libm::floorf(a / MASK_ELEMENT_MM + 0.5 * MASK_N as f32);
        if u < 0.0 { 0 } else { u as usize }
    };
    let edge = |k: usize| (k as f32 - 0.5 * MASK_N as f32) * MASK_ELEMENT_MM;
    let mut area = 0.0f32;
    let mut i = first(y0);
    while i < MASK_N && edge(i) < y1 {
        let oy = overlap(y0, y1, edge(i), edge(i + 1));
        if oy > 0.0 {
            let mut j = first(z0);
            while j < MASK_N && edge(j) < z1 {
                if mask_element(i, j) {
                    area += oy * overlap(z0, z1, edge(j), edge(j + 1));
                }
                j += 1;
            }
        }
        i += 1;
    }
    area
}

/// Fraction of each pixel's sensitive area lit by a point source at (`y_deg`, `z_deg`).
///
/// `out[80·Y + Z]` is the fraction (0..=1) of the [`PIXEL_SIZE_MM`]-wide sensitive area of
/// pixel (Y, Z) whose line of sight towards the source crosses an open mask element: the
/// pixel's square moved by `460·tan` in the mask plane, intersected with the open elements.
/// Mask thickness and the detector's depth are ignored. A simulator multiplies it by the
/// source's photon fluence × pixel area × [`off_axis_cosine`] to get expected counts.
pub fn pixel_illumination(y_deg: f32, z_deg: f32, out: &mut [f32; DET_PIXELS]) {
    let sy = deg_to_shift(y_deg);
    let sz = deg_to_shift(z_deg);
    let h = 0.5 * PIXEL_SIZE_MM;
    let norm = 1.0 / (PIXEL_SIZE_MM * PIXEL_SIZE_MM);
    for (k, o) in out.iter_mut().enumerate() {
        let (yc, zc) = pixel_centre_mm(k / DET_N, k % DET_N);
        let (y, z) = (yc + sy, zc + sz);
        *o = mask_open_area(y - h, y + h, z - h, z + h) * norm;
    }
}

/// Spacecraft attitude: the unit quaternion (scalar first) rotating instrument-frame vectors
/// into J2000, `v_J2000 = q · v_inst · q*`.
///
/// The boresight (+X) therefore points at `rotate([1, 0, 0])`. [`Attitude::from_pointing`]
/// builds it from the boresight's RA/Dec and a roll angle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Attitude {
    /// Quaternion (w, x, y, z), normalised.
    q: [f64; 4],
}

impl Attitude {
    /// The identity attitude: instrument axes along J2000 axes (boresight at RA 0, Dec 0).
    pub const IDENTITY: Attitude = Attitude { q: [1.0, 0.0, 0.0, 0.0] };

    /// An attitude from a quaternion (w, x, y, z), normalised; `None` if its norm is zero or not
    /// finite.
    pub fn new(q: [f64; 4]) -> Option<Self> {
        let n = libm::sqrt(q.iter().map(|c| c * c).sum::<f64>());
        if n > 0.0 && n.is_finite() {
            Some(Attitude { q: [q[0] / n, q[1] / n, q[2] / n, q[3] / n] })
        } else {
            None
        }
    }

    /// The attitude whose boresight points at (`ra_deg`, `dec_deg`) with roll `roll_deg`.
    ///
    /// Roll 0: the instrument +Z axis lies in the plane of the boresight and the celestial
    /// north pole, on the north side, and +Y = Z × X points towards increasing RA. A positive
    /// roll turns Y and Z about +X (right-handed). At the poles, roll 0 takes +Z towards
    /// RA = `ra_deg` + 180° (north pole) or `ra_deg` (south pole).
    pub fn from_pointing(ra_deg: f64, dec_deg: f64, roll_deg: f64) -> Self {
        let (sa, ca) = (libm::sin(ra_deg.to_radians()), libm::cos(ra_deg.to_radians()));
        let (sd, cd) = (libm::sin(dec_deg.to_radians()), libm::cos(dec_deg.to_radians()));
        let (sr, cr) = (libm::sin(roll_deg.to_radians()), libm::cos(roll_deg.to_radians()));
        let x = [cd * ca, cd * sa, sd];
        let east = [-sa, ca, 0.0];
        let north = [-sd * ca, -sd * sa, cd];
        // Roll turns (Y, Z) = (east, north) about X.
        let y = [
            cr * east[0] + sr * north[0],
            cr * east[1] + sr * north[1],
            cr * east[2] + sr * north[2],
        ];
        let z = [
            cr * north[0] - sr * east[0],
            cr * north[1] - sr * east[1],
            cr * north[2] - sr * east[2],
        ];
        Self::from_axes(x, y, z)
    }

    /// The attitude whose rotation matrix has the instrument axes X, Y, Z (J2000 unit vectors)
    /// as columns (Shepperd's method: the largest of the four candidates avoids cancellation).
    fn from_axes(x: [f64; 3], y: [f64; 3], z: [f64; 3]) -> Self {
        // m[r][c]: row r, column c; columns are the images of the instrument axes.
        let m = [[x[0], y[0], z[0]], [x[1], y[1], z[1]], [x[2], y[2], z[2]]];
        let tr = m[0][0] + m[1][1] + m[2][2];
        let q = if tr >= m[0][0] && tr >= m[1][1] && tr >= m[2][2] {
            let s = 2.0 * libm::sqrt(1.0 + tr);
            [0.25 * s, (m[2][1] - m[1][2]) / s, (m[0][2] - m[2][0]) / s, (m[1][0] - m[0][1]) / s]
        } else if m[0][0] >= m[1][1] && m[0][0] >= m[2][2] {
            let s = 2.0 * libm::sqrt(1.0 + m[0][0] - m[1][1] - m[2][2]);
            [(m[2][1] - m[1][2]) / s, 0.25 * s, (m[0][1] + m[1][0]) / s, (m[0][2] + m[2][0]) / s]
        } else if m[1][1] >= m[2][2] {
            let s = 2.0 * libm::sqrt(1.0 + m[1][1] - m[0][0] - m[2][2]);
            [(m[0][2] - m[2][0]) / s, (m[0][1] + m[1][0]) / s, 0.25 * s, (m[1][2] + m[2][1]) / s]
        } else {
            let s = 2.0 * libm::sqrt(1.0 + m[2][2] - m[0][0] - m[1][1]);
            [(m[1][0] - m[0][1]) / s, (m[0][2] + m[2][0]) / s, (m[1][2] + m[2][1]) / s, 0.25 * s]
        };
        Self::new(q).unwrap_or(Self::IDENTITY)
    }

    /// The quaternion (w, x, y, z).
    pub fn quaternion(&self) -> [f64; 4] {
        self.q
    }

    /// Rotates an instrument-frame vector into J2000.
    pub fn rotate(&self, v: [f64; 3]) -> [f64; 3] {
        rotate(self.q, v)
    }

    /// Rotates a J2000 vector into the instrument frame (the inverse rotation).
    pub fn unrotate(&self, v: [f64; 3]) -> [f64; 3] {
        let [w, x, y, z] = self.q;
        rotate([w, -x, -y, -z], v)
    }

    /// RA and Dec (degrees) of the boresight.
    pub fn pointing(&self) -> (f64, f64) {
        vector_to_radec(self.rotate([1.0, 0.0, 0.0]))
    }
}

/// `q · v · q*` for a unit quaternion q, expanded (t = 2 q⃗ × v, v' = v + w t + q⃗ × t).
fn rotate(q: [f64; 4], v: [f64; 3]) -> [f64; 3] {
    let [w, qx, qy, qz] = q;
    let t = [
        2.0 * (qy * v[2] - qz * v[1]),
        2.0 * (qz * v[0] - qx * v[2]),
        2.0 * (qx * v[1] - qy * v[0]),
    ];
    [
        v[0] + w * t[0] + (qy * t[2] - qz * t[1]),
        v[1] + w * t[1] + (qz * t[0] - qx * t[2]),
        v[2] + w * t[2] + (qx * t[1] - qy * t[0]),
    ]
}

/// RA in [0, 360) and Dec in [−90, 90] (degrees) of a J2000 vector (any length > 0).
pub fn vector_to_radec(v: [f64; 3]) -> (f64, f64) {
    let [x, y, z] = v;
    let mut ra = libm::atan2(y, x).to_degrees();
    if ra < 0.0 {
        ra += 360.0;
    }
    if ra >= 360.0 {
        ra -= 360.0;
    }
    let dec = libm::atan2(z, libm::sqrt(x * x + y * y)).to_degrees();
    (ra, dec)
}

/// J2000 unit vector of RA and Dec in degrees.
pub fn radec_to_vector(ra_deg: f64, dec_deg: f64) -> [f64; 3] {
    let (sa, ca) = (libm::sin(ra_deg.to_radians()), libm::cos(ra_deg.to_radians()));
    let (sd, cd) = (libm::sin(dec_deg.to_radians()), libm::cos(dec_deg.to_radians()));
    [cd * ca, cd * sa, sd]
}

/// RA and Dec (J2000, degrees) of the instrument-frame direction (`y_deg`, `z_deg`).
pub fn to_radec(att: &Attitude, y_deg: f64, z_deg: f64) -> (f64, f64) {
    vector_to_radec(att.rotate(angles_to_unit(y_deg, z_deg)))
}

/// Instrument-frame projected angles (`y_deg`, `z_deg`) of a J2000 position; `None` when the
/// position is behind the detector plane (at or beyond 90° from the boresight).
pub fn from_radec(att: &Attitude, ra_deg: f64, dec_deg: f64) -> Option<(f64, f64)> {
    unit_to_angles(att.unrotate(radec_to_vector(ra_deg, dec_deg)))
}

/// Angular distance between two positions (degrees), by the haversine formula (accurate at
/// small separations, where the catalogue match and error circles work).
pub fn angular_distance_deg(ra1: f64, dec1: f64, ra2: f64, dec2: f64) -> f64 {
    let (d1, d2) = (dec1.to_radians(), dec2.to_radians());
    let sd = libm::sin(0.5 * (d2 - d1));
    let sa = libm::sin(0.5 * (ra2 - ra1).to_radians());
    let h = sd * sd + libm::cos(d1) * libm::cos(d2) * sa * sa;
    let h = if h > 1.0 { 1.0 } else { h };
    2.0 * libm::asin(libm::sqrt(h)).to_degrees()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_has_846_open_elements() {
        let open: usize = MASK.iter().flatten().map(|&e| e as usize).sum();
        assert_eq!(open, MASK_OPEN);
        assert!(MASK.iter().flatten().all(|&e| e <= 1));
        assert_eq!(MASK_OPEN, (0.4f64 * MASK_ELEMENTS as f64).round() as usize);
    }

    #[test]
    fn mask_pattern_depends_on_seed() {
        assert_ne!(mask_pattern(1), MASK);
        assert_eq!(mask_pattern(MASK_SEED), MASK);
    }

    /// Balanced aperiodic autocorrelation: peak 846, largest sidelobe as documented on `MASK`.
    #[test]
    fn mask_autocorrelation_sidelobes() {
        let g_closed = -(MASK_OPEN as f64) / ((MASK_ELEMENTS - MASK_OPEN) as f64);
        let n = MASK_N as i32;
        let mut peak = 0.0;
        let mut worst = 0.0f64;
        for u in -(n - 1)..n {
            for v in -(n - 1)..n {
                let mut s = 0.0;
                for i in 0.max(-u)..n.min(n - u) {
                    for j in 0.max(-v)..n.min(n - v) {
                        if MASK[i as usize][j as usize] == 1 {
                            let o = MASK[(i + u) as usize][(j + v) as usize] == 1;
                            s += if o { 1.0 } else { g_closed };
                        }
                    }
                }
                if u == 0 && v == 0 {
                    peak = s;
                } else {
                    worst = worst.max(s.abs());
                }
            }
        }
        assert_eq!(peak, 846.0);
        assert!((worst - 42.58).abs() < 0.01, "largest sidelobe {worst}");
    }

    #[test]
    fn mask_open_at_follows_elements_and_frame() {
        for (i, row) in MASK.iter().enumerate() {
            for (j, &e) in row.iter().enumerate() {
                let (y, z) = mask_element_centre_mm(i, j);
                assert_eq!(mask_open_at(y, z), e == 1, "element ({i}, {j})");
                // Just inside the element's corners.
                assert_eq!(mask_open_at(y - 5.69, z + 5.69), e == 1);
            }
        }
        assert!(!mask_open_at(MASK_HALF_MM + 0.01, 0.0));
        assert!(!mask_open_at(0.0, -MASK_HALF_MM - 0.01));
        assert!(!mask_open_at(1.0e6, 1.0e6));
        assert!(!mask_open_at(f32::NAN, 0.0));
    }

    #[test]
    fn pixel_and_element_centres() {
        assert_eq!(pixel_centre_mm(0, 79), (-177.75, 177.75));
        assert_eq!(pixel_centre_mm(40, 39), (2.25, -2.25));
        assert_eq!(mask_element_centre_mm(0, 45), (-256.5, 256.5));
        assert!((MASK_HALF_MM - 262.2).abs() < 1e-4);
    }

    #[test]
    fn sky_pixel_angles() {
        assert_eq!(sky_to_angles(99.0, 99.0), (0.0, 0.0));
        let (y, z) = sky_to_angles(100.0, 98.0);
        assert!((y - SKY_PIXEL_DEG).abs() < 1e-5 && (z + SKY_PIXEL_DEG).abs() < 1e-5);
        for &(a, b) in &[(0.0f32, 0.0f32), (11.0, -7.5), (-35.0, 25.0), (43.0, 43.0)] {
            let (sy, sz) = angles_to_sky(a, b);
            let (a2, b2) = sky_to_angles(sy, sz);
            assert!((a - a2).abs() < 1e-4 && (b - b2).abs() < 1e-4, "{a} {b} -> {a2} {b2}");
        }
        // The field edge: a shift of 99 pitches.
        let (edge, _) = sky_to_angles(198.0, 99.0);
        assert!((edge - 44.08).abs() < 0.01, "{edge}");
        let half_fc = libm::atanf((MASK_HALF_MM - 180.0) / MASK_HEIGHT_MM).to_degrees();
        assert!((half_fc - FULLY_CODED_HALF_DEG).abs() < 1e-4);
        let half = libm::atanf((MASK_HALF_MM + 180.0) / MASK_HEIGHT_MM).to_degrees();
        assert!((half - FIELD_HALF_DEG).abs() < 1e-4);
    }

    #[test]
    fn unit_vector_round_trip() {
        for &(a, b) in &[(0.0, 0.0), (10.0, -20.0), (-44.0, 30.0)] {
            let v = angles_to_unit(a, b);
            assert!((v.iter().map(|c| c * c).sum::<f64>() - 1.0).abs() < 1e-12);
            let (a2, b2) = unit_to_angles(v).unwrap();
            assert!((a - a2).abs() < 1e-9 && (b - b2).abs() < 1e-9);
        }
        assert_eq!(unit_to_angles([-1.0, 0.0, 0.0]), None);
        assert_eq!(unit_to_angles([0.0, 1.0, 0.0]), None);
    }

    #[test]
    fn identity_attitude_points_boresight_at_origin() {
        let (ra, dec) = to_radec(&Attitude::IDENTITY, 0.0, 0.0);
        assert!(ra.abs() < 1e-12 && dec.abs() < 1e-12);
        // +Y towards RA 90°, +Z towards the north pole.
        let (ra, dec) = to_radec(&Attitude::IDENTITY, 30.0, 0.0);
        assert!((ra - 30.0).abs() < 1e-9 && dec.abs() < 1e-9);
        let (_, dec) = to_radec(&Attitude::IDENTITY, 0.0, 30.0);
        assert!((dec - 30.0).abs() < 1e-9);
    }

    #[test]
    fn pointing_maps_boresight_and_axes() {
        for &(ra, dec, roll) in &[(83.63, 22.01, 0.0), (250.0, -45.0, 37.0), (10.0, 89.0, -120.0)] {
            let att = Attitude::from_pointing(ra, dec, roll);
            let q = att.quaternion();
            assert!((q.iter().map(|c| c * c).sum::<f64>() - 1.0).abs() < 1e-12);
            let (ra2, dec2) = to_radec(&att, 0.0, 0.0);
            assert!(angular_distance_deg(ra, dec, ra2, dec2) < 1e-9, "{ra2} {dec2}");
            assert_eq!(att.pointing(), (ra2, dec2));
            // Roll 0: +Z on the north side of the boresight.
            if roll == 0.0 {
                let (_, dec_z) = to_radec(&att, 0.0, 5.0);
                assert!((dec_z - (dec + 5.0)).abs() < 1e-9, "{dec_z}");
            }
        }
    }

    #[test]
    fn radec_round_trip() {
        let att = Attitude::new([0.3, -0.5, 0.7, 0.2]).unwrap();
        for &(y, z) in &[(0.0, 0.0), (11.0, -11.0), (-25.0, 35.0), (43.5, 43.5), (-60.0, 5.0)] {
            let (ra, dec) = to_radec(&att, y, z);
            assert!((0.0..360.0).contains(&ra) && (-90.0..=90.0).contains(&dec));
            let (y2, z2) = from_radec(&att, ra, dec).unwrap();
            assert!((y - y2).abs() < 1e-9 && (z - z2).abs() < 1e-9, "{y} {z} -> {y2} {z2}");
        }
        // The anti-boresight is behind the detector.
        let (ra, dec) = att.pointing();
        assert_eq!(from_radec(&att, ra + 180.0, -dec), None);
        assert_eq!(Attitude::new([0.0; 4]), None);
        assert_eq!(Attitude::new([f64::NAN, 0.0, 0.0, 0.0]), None);
    }

    #[test]
    fn angular_distance_small_and_large() {
        assert!((angular_distance_deg(0.0, 0.0, 90.0, 0.0) - 90.0).abs() < 1e-9);
        assert!((angular_distance_deg(10.0, 89.0, 190.0, 89.0) - 2.0).abs() < 1e-9);
        let d = angular_distance_deg(100.0, 20.0, 100.0, 20.0 + 1.0 / 3600.0);
        assert!((d * 3600.0 - 1.0).abs() < 1e-6);
    }

    #[test]
    fn illumination_on_axis_matches_mask() {
        let mut out = [0.0f32; DET_PIXELS];
        pixel_illumination(0.0, 0.0, &mut out);
        // Mean over the detector near the open fraction; every value a fraction.
        assert!(out.iter().all(|&f| (0.0..=1.0 + 1e-6).contains(&f)));
        // A pixel whose square lies inside one element is fully lit or dark.
        for (k, &f) in out.iter().enumerate() {
            let (y, z) = pixel_centre_mm(k / DET_N, k % DET_N);
            let h = 0.5 * PIXEL_SIZE_MM;
            let same = mask_index(y - h) == mask_index(y + h - 1e-3)
                && mask_index(z - h) == mask_index(z + h - 1e-3);
            if same {
                let lit = mask_open_at(y, z);
                assert_eq!(f, if lit { 1.0 } else { 0.0 }, "pixel {k}");
            }
        }
        // Far outside the field: nothing lit.
        pixel_illumination(60.0, 0.0, &mut out);
        assert!(out.iter().all(|&f| f == 0.0));
    }

    /// The exact open area equals a fine numerical integration of `mask_open_at`.
    #[test]
    fn open_area_matches_sampling() {
        for &(y0, z0, w) in
            &[(-3.0f32, 7.0f32, 4.0f32), (250.0, -262.0, 20.0), (-100.0, 50.0, 30.0)]
        {
            let area = mask_open_area(y0, y0 + w, z0, z0 + w);
            let n = 400;
            let mut hits = 0;
            for a in 0..n {
                for b in 0..n {
                    let y = y0 + (a as f32 + 0.5) * w / n as f32;
                    let z = z0 + (b as f32 + 0.5) * w / n as f32;
                    hits += mask_open_at(y, z) as u32;
                }
            }
            let sampled = hits as f32 * w * w / (n * n) as f32;
            assert!((area - sampled).abs() < 0.01 * w * w, "{area} vs {sampled}");
        }
    }
}
