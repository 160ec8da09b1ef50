//! An alert's sky image as a FITS file (`replay --images DIR`).
//!
//! Primary HDU, `BITPIX = -32`, `NAXIS1 = NAXIS2 = 199`: the SNR of each sky pixel. FITS axis
//! 1 runs along the sky pixel index u (instrument Z), axis 2 along t (instrument Y), so pixel
//! (i, j) in FITS terms is sky pixel (t = j − 1, u = i − 1).
//!
//! The trigger's sky pixels are uniform in the tangents of the projected angles
//! (`tan y_deg`, `tan z_deg` step 4.5/460): a gnomonic (TAN) projection centred on the
//! boresight. So the celestial WCS is exact: `CTYPE1/2 = 'RA---TAN'/'DEC--TAN'`, `CRVAL` the
//! boresight RA/Dec at the alert, `CRPIX` = 100 (the centre, sky pixel 99), and a `CD` matrix
//! obtained by projecting the directions one sky pixel away along t and u onto the tangent
//! plane at the boresight (attitude and roll included). An alternate WCS `A` gives the
//! instrument frame linearly in the tangent plane: `CTYPE1A = 'ZTAN'`, `CTYPE2A = 'YTAN'`,
//! degrees × (180/π) of the tangents (so `atan` of the value in radians is `z_deg`/`y_deg`).

use std::path::Path;

use onboard::trigger::geometry::{self as geo, Attitude, SKY_CENTRE, SKY_N};
use tables::fits::{Value, card, end_header, pad, push_card};

use super::{AlertRecord, SkyImage};

/// Standard coordinates (ξ, η) in degrees of (ra, dec) on the tangent plane at (ra0, dec0).
fn gnomonic(ra0: f64, dec0: f64, ra: f64, dec: f64) -> (f64, f64) {
    let (a0, d0, a, d) = (ra0.to_radians(), dec0.to_radians(), ra.to_radians(), dec.to_radians());
    let cosc = d0.sin() * d.sin() + d0.cos() * d.cos() * (a - a0).cos();
    let xi = d.cos() * (a - a0).sin() / cosc;
    let eta = (d0.cos() * d.sin() - d0.sin() * d.cos() * (a - a0).cos()) / cosc;
    (xi.to_degrees(), eta.to_degrees())
}

/// The FITS file of an alert's image, with the attitude (quaternion) in force at the alert.
pub fn fits_image(rec: &AlertRecord, img: &SkyImage, q: [f64; 4]) -> Vec<u8> {
    let att = Attitude::new(q).unwrap_or(Attitude::IDENTITY);
    let (ra0, dec0) = att.pointing();
    let c = SKY_CENTRE as f32;
    let dir = |t: f32, u: f32| {
        let (y, z) = geo::sky_to_angles(t, u);
        geo::to_radec(&att, f64::from(y), f64::from(z))
    };
    let (ra_u, dec_u) = dir(c, c + 1.0);
    let (ra_t, dec_t) = dir(c + 1.0, c);
    let (xu, yu) = gnomonic(ra0, dec0, ra_u, dec_u);
    let (xt, yt) = gnomonic(ra0, dec0, ra_t, dec_t);
    let step_deg = (f64::from(geo::PITCH_MM) / f64::from(geo::MASK_HEIGHT_MM)).to_degrees();
    let crpix = (SKY_CENTRE + 1) as i64;

    let mut h = Vec::with_capacity(3 * 2880 + img.n * img.n * 4);
    card(&mut h, "SIMPLE", Value::Logical(true), "conforms to FITS standard");
    card(&mut h, "BITPIX", Value::Int(-32), "IEEE single precision");
    card(&mut h, "NAXIS", Value::Int(2), "sky image");
    card(&mut h, "NAXIS1", Value::Int(img.n as i64), "along instrument Z (sky index u)");
    card(&mut h, "NAXIS2", Value::Int(img.n as i64), "along instrument Y (sky index t)");
    card(&mut h, "BUNIT", Value::Str("sigma"), "signal-to-noise ratio per sky pixel");
    card(&mut h, "TELESCOP", Value::Str("SVOM"), "mission");
    card(&mut h, "INSTRUME", Value::Str("ECLAIRs"), "instrument");
    card(&mut h, "MJDREFI", Value::Int(crate::events::MJDREFI), "MJD of the time origin");
    card(&mut h, "TIMESYS", Value::Str("TT"), "time system");
    card(&mut h, "TSTART", Value::Float(rec.window_s[0]), "window start, s since MJDREF");
    card(&mut h, "TSTOP", Value::Float(rec.window_s[1]), "window end, s since MJDREF");
    card(&mut h, "RADESYS", Value::Str("ICRS"), "");
    card(&mut h, "EQUINOX", Value::Float(2000.0), "");
    card(&mut h, "CTYPE1", Value::Str("RA---TAN"), "gnomonic, centred on the boresight");
    card(&mut h, "CTYPE2", Value::Str("DEC--TAN"), "");
    card(&mut h, "CUNIT1", Value::Str("deg"), "");
    card(&mut h, "CUNIT2", Value::Str("deg"), "");
    card(&mut h, "CRPIX1", Value::Int(crpix), "boresight");
    card(&mut h, "CRPIX2", Value::Int(crpix), "boresight");
    card(&mut h, "CRVAL1", Value::Float(ra0), "boresight RA, deg");
    card(&mut h, "CRVAL2", Value::Float(dec0), "boresight Dec, deg");
    card(&mut h, "CD1_1", Value::Float(xu), "");
    card(&mut h, "CD1_2", Value::Float(xt), "");
    card(&mut h, "CD2_1", Value::Float(yu), "");
    card(&mut h, "CD2_2", Value::Float(yt), "");
    card(&mut h, "WCSNAMEA", Value::Str("INSTRUMENT"), "tangents of z_deg, y_deg");
    card(&mut h, "CTYPE1A", Value::Str("ZTAN"), "(180/pi) tan(z_deg)");
    card(&mut h, "CTYPE2A", Value::Str("YTAN"), "(180/pi) tan(y_deg)");
    card(&mut h, "CRPIX1A", Value::Int(crpix), "");
    card(&mut h, "CRPIX2A", Value::Int(crpix), "");
    card(&mut h, "CRVAL1A", Value::Float(0.0), "");
    card(&mut h, "CRVAL2A", Value::Float(0.0), "");
    card(&mut h, "CDELT1A", Value::Float(step_deg), "");
    card(&mut h, "CDELT2A", Value::Float(step_deg), "");
    card(&mut h, "BURSTID", Value::Str(&rec.burst_id), "burst ID");
    card(&mut h, "SEQNUM", Value::Int(i64::from(rec.seq_num)), "alert sequence number");
    card(&mut h, "TRIGTYPE", Value::Str(&rec.trigger_type.to_uppercase()), "CRT or IMT");
    card(&mut h, "TIMESCAL", Value::Float(rec.timescale_s), "s");
    card(&mut h, "EMIN", Value::Int(i64::from(rec.energy_kev[0])), "keV");
    card(&mut h, "EMAX", Value::Int(i64::from(rec.energy_kev[1])), "keV");
    card(&mut h, "IMG_SNR", Value::Float(rec.image_snr), "peak SNR");
    card(&mut h, "Y_DEG", Value::Float(rec.y_deg), "source projected angle y");
    card(&mut h, "Z_DEG", Value::Float(rec.z_deg), "source projected angle z");
    card(&mut h, "RA_OBJ", Value::Float(rec.notice.ra), "source RA, deg");
    card(&mut h, "DEC_OBJ", Value::Float(rec.notice.dec), "source Dec, deg");
    card(&mut h, "ERR_RAD", Value::Float(rec.error_radius_deg), "r90, deg");
    card(&mut h, "CREATOR", Value::Str("eic-bench replay"), "");
    push_card(&mut h, "COMMENT Sky image of an ECLAIRs trigger alert: SNR per sky pixel.");
    end_header(&mut h);
    for v in &img.data {
        h.extend_from_slice(&v.to_be_bytes());
    }
    pad(&mut h, 0);
    debug_assert_eq!(img.n, SKY_N);
    h
}

/// Writes `DIR/<burst_id>_<seq>_<type>.fits`.
///
/// # Errors
/// The file cannot be written.
pub fn write_image(
    dir: &Path,
    rec: &AlertRecord,
    img: &SkyImage,
    q: [f64; 4],
) -> std::io::Result<std::path::PathBuf> {
    std::fs::create_dir_all(dir)?;
    let p = dir.join(format!("{}_{:03}_{}.fits", rec.burst_id, rec.seq_num, rec.trigger_type));
    std::fs::write(&p, fits_image(rec, img, q))?;
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cd_matrix_maps_pixels_to_their_directions() {
        let rec = AlertRecord::new(&super::super::notice::tests::sample_alert(), None);
        let img = SkyImage { n: SKY_N, data: vec![0.0; SKY_N * SKY_N] };
        let att = Attitude::from_pointing(120.0, 30.0, 25.0);
        let f = fits_image(&rec, &img, att.quaternion());
        assert_eq!(f.len() % 2880, 0);
        // A pixel 20 sky pixels off along t and 10 along u: the TAN WCS gives its RA/Dec.
        let (y, z) = geo::sky_to_angles(SKY_CENTRE as f32 + 20.0, SKY_CENTRE as f32 + 10.0);
        let (ra, dec) = geo::to_radec(&att, f64::from(y), f64::from(z));
        let (xi, eta) = gnomonic(120.0, 30.0, ra, dec);
        let (ra_u, dec_u) = {
            let (y, z) = geo::sky_to_angles(SKY_CENTRE as f32, SKY_CENTRE as f32 + 1.0);
            geo::to_radec(&att, f64::from(y), f64::from(z))
        };
        let (ra_t, dec_t) = {
            let (y, z) = geo::sky_to_angles(SKY_CENTRE as f32 + 1.0, SKY_CENTRE as f32);
            geo::to_radec(&att, f64::from(y), f64::from(z))
        };
        let (xu, yu) = gnomonic(120.0, 30.0, ra_u, dec_u);
        let (xt, yt) = gnomonic(120.0, 30.0, ra_t, dec_t);
        assert!((10.0 * xu + 20.0 * xt - xi).abs() < 1e-3, "{xi}");
        assert!((10.0 * yu + 20.0 * yt - eta).abs() < 1e-3, "{eta}");
    }
}
