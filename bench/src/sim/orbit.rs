//! Orbit, Sun and attitude of a scenario.
//!
//! - **Orbit**: circular, fixed node (no J2 precession), default 625 km, 30°, 96 min
//!   (`docs/simulate.md`). The sub-satellite point comes from the inertial position and the
//!   Greenwich mean sidereal time (IAU 1982 linear term; TT used for UT1, an error of about
//!   0.3° in longitude, well inside the SAA contour's own uncertainty).
//! - **Sun**: the low-precision solar ephemeris of the Astronomical Almanac (about 0.01°),
//!   enough to point "anti-solar".
//! - **Attitude**: fixed, or the anti-Sun direction (plus a declination offset) re-pointed at
//!   fixed intervals, built with [`onboard::trigger::geometry::Attitude::from_pointing`] so
//!   the simulator and the trigger share one convention.

use onboard::trigger::geometry::Attitude as Att;

use super::scenario::{Attitude, Orbit};

/// Mean Earth radius used for the altitude, km.
pub const EARTH_RADIUS_KM: f64 = 6_371.0;
/// MJD of J2000.0 (2000-01-01T12:00:00 TT).
pub const MJD_J2000: f64 = 51_544.5;

/// Days since J2000.0 of a time in seconds since MJDREF 57754 TT.
pub fn days_since_j2000(t_s: f64) -> f64 {
    t_s / 86_400.0 + crate::events::MJDREFI as f64 - MJD_J2000
}

/// Greenwich mean sidereal time, degrees in 0..360.
pub fn gmst_deg(t_s: f64) -> f64 {
    (280.460_618_37 + 360.985_647_366_29 * days_since_j2000(t_s)).rem_euclid(360.0)
}

/// The Sun's right ascension and declination (degrees) at a time.
pub fn sun_radec(t_s: f64) -> (f64, f64) {
    let d = days_since_j2000(t_s);
    let l = (280.460 + 0.985_647_4 * d).to_radians();
    let g = (357.528 + 0.985_600_3 * d).to_radians();
    let lambda = l + 1.915f64.to_radians() * g.sin() + 0.020f64.to_radians() * (2.0 * g).sin();
    let eps = (23.439 - 0.000_000_4 * d).to_radians();
    let ra = (eps.cos() * lambda.sin()).atan2(lambda.cos()).to_degrees().rem_euclid(360.0);
    let dec = (eps.sin() * lambda.sin()).asin().to_degrees();
    (ra, dec)
}

/// Sub-satellite longitude (degrees east, −180..180), latitude (degrees) and altitude (km) at
/// `t_s`, for an orbit that starts at `start_s`.
pub fn position(o: &Orbit, start_s: f64, t_s: f64) -> (f64, f64, f64) {
    let u = (o.phase_deg + 360.0 * (t_s - start_s) / o.period_s).to_radians();
    let (i, node) = (o.inclination_deg.to_radians(), o.raan_deg.to_radians());
    let x = node.cos() * u.cos() - node.sin() * u.sin() * i.cos();
    let y = node.sin() * u.cos() + node.cos() * u.sin() * i.cos();
    let z = u.sin() * i.sin();
    let lat = z.clamp(-1.0, 1.0).asin().to_degrees();
    let lon = (y.atan2(x).to_degrees() - gmst_deg(t_s) + 180.0).rem_euclid(360.0) - 180.0;
    (lon, lat, o.altitude_km)
}

/// The attitude in force at `t_s`.
pub fn attitude(a: &Attitude, start_s: f64, t_s: f64) -> Att {
    match *a {
        Attitude::Fixed { ra_deg, dec_deg, roll_deg } => {
            Att::from_pointing(ra_deg, dec_deg, roll_deg)
        }
        Attitude::AntiSolar { offset_dec_deg, roll_deg, repoint_s } => {
            let since = ((t_s - start_s) / repoint_s).floor().max(0.0) * repoint_s;
            let (ra, dec) = sun_radec(start_s + since);
            let dec = (-dec + offset_dec_deg).clamp(-90.0, 90.0);
            Att::from_pointing((ra + 180.0).rem_euclid(360.0), dec, roll_deg)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sun_at_the_march_equinox_2026() {
        // 2026-03-20T14:46 UTC: the Sun crosses the equator at RA 0.
        let days = super::super::scenario::days_from_civil(2026, 3, 20) - 17_167;
        let t = days as f64 * 86_400.0 + 14.77 * 3600.0 + 69.184;
        let (ra, dec) = sun_radec(t);
        assert!(dec.abs() < 0.05, "{dec}");
        assert!(!(0.1..=359.9).contains(&ra), "{ra}");
    }

    #[test]
    fn orbit_reaches_the_inclination_and_closes() {
        let o = Orbit::default();
        let mut max_lat = 0.0f64;
        for k in 0..5760 {
            let (_, lat, alt) = position(&o, 0.0, f64::from(k));
            max_lat = max_lat.max(lat);
            assert_eq!(alt, 625.0);
        }
        assert!((max_lat - 30.0).abs() < 0.01, "{max_lat}");
        // After one period the satellite is over a point 5760 s of Earth rotation further west.
        let (l0, _, _) = position(&o, 0.0, 0.0);
        let (l1, _, _) = position(&o, 0.0, 5_760.0);
        let drift = (l0 - l1).rem_euclid(360.0);
        assert!((drift - 5_760.0 * 360.985_647 / 86_400.0).abs() < 1e-6, "{drift}");
    }

    #[test]
    fn anti_solar_points_away_from_the_sun() {
        let a = Attitude::default();
        let att = attitude(&a, 3.0e8, 3.0e8 + 10.0);
        let (ra, dec) = att.pointing();
        let (sra, sdec) = sun_radec(3.0e8);
        let sep = onboard::trigger::geometry::angular_distance_deg(ra, dec, sra, sdec);
        assert!((sep - 180.0).abs() < 1e-6, "{sep}");
    }
}
