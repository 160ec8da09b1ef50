//! Catalogue: known sources, matched by position, alerting only above their flux threshold.
//!
//! - **Match.** A peak is a catalogue source when its RA/Dec (through the last attitude) lies
//!   within the source's `radius_deg` of the source's position; the nearest such source wins.
//! - **Flux estimate.** For a peak with an estimated S source counts (the image's flux at the
//!   peak, weighted by 1/efficiency, i.e. counts a detector of efficiency 1 would have seen)
//!   over an exposure of T seconds, in the direction (y, z):
//!   F = S / (T · A_eff) photons cm⁻² s⁻¹, with A_eff = Σ over the pixels in use of the lit
//!   fraction of the pixel (`geometry::pixel_illumination`, mask open fraction and coding
//!   included) × 0.16 cm² × cos θ (the pixel's projected area). The CdTe quantum efficiency is
//!   taken as 1 (above 90 % from 5 to 100 keV for 1 mm CdTe).
//! - **Threshold.** The table gives a threshold per elementary band; for a trigger band
//!   (a range of elementary bands) the threshold is their sum, since fluxes in adjacent bands
//!   add. At or above it the detection alerts with the source's ID; below it there is no
//!   alert, and the source's disc is masked from the image before the search for a new
//!   source goes on, so a bright steady source never hides, or poses as, a new one.

use tables::catalog::{CatalogTable, Source};
use tables::pixels::PIXELS;

use super::geometry::{self, Attitude};

/// Area of a pixel's sensitive surface, cm² (4 × 4 mm).
pub const PIXEL_AREA_CM2: f32 = 0.16;

/// A catalogue match.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Match {
    /// Catalogue ID.
    pub id: u16,
    /// Index of the source in the table.
    pub index: usize,
    /// Distance from the source, degrees.
    pub distance_deg: f64,
    /// Threshold for the band, photons cm⁻² s⁻¹.
    pub threshold: f32,
}

/// The catalogue stage.
#[derive(Clone, Debug)]
pub struct Catalog {
    table: CatalogTable,
}

impl Default for Catalog {
    fn default() -> Self {
        Self::new()
    }
}

impl Catalog {
    /// An empty catalogue.
    pub const fn new() -> Self {
        Catalog { table: CatalogTable { version: 0, sources: heapless::Vec::new() } }
    }

    /// Takes the catalogue table.
    pub fn configure(&mut self, table: &CatalogTable) {
        self.table = table.clone();
    }

    /// The sources.
    pub fn sources(&self) -> &[Source] {
        &self.table.sources
    }

    /// The nearest source within its radius of (`ra_deg`, `dec_deg`), with its threshold for
    /// the elementary bands `first..=last`.
    pub fn find(&self, ra_deg: f64, dec_deg: f64, first: u8, last: u8) -> Option<Match> {
        let mut best: Option<Match> = None;
        for (index, s) in self.table.sources.iter().enumerate() {
            let d = geometry::angular_distance_deg(
                ra_deg,
                dec_deg,
                f64::from(s.ra_deg),
                f64::from(s.dec_deg),
            );
            if d <= f64::from(s.radius_deg) && best.is_none_or(|b| d < b.distance_deg) {
                best = Some(Match {
                    id: s.id,
                    index,
                    distance_deg: d,
                    threshold: band_threshold(s, first, last),
                });
            }
        }
        best
    }

    /// The instrument-frame position (y, z degrees) and radius of each source in front of the
    /// detector at attitude `att`.
    pub fn in_view<'a>(
        &'a self,
        att: &'a Attitude,
    ) -> impl Iterator<Item = (u16, f64, f64, f32)> + 'a {
        self.table.sources.iter().filter_map(move |s| {
            let (y, z) = geometry::from_radec(att, f64::from(s.ra_deg), f64::from(s.dec_deg))?;
            Some((s.id, y, z, s.radius_deg))
        })
    }
}

/// A source's threshold over the elementary bands `first..=last` (their sum).
pub fn band_threshold(s: &Source, first: u8, last: u8) -> f32 {
    (usize::from(first)..=usize::from(last)).filter_map(|b| s.flux_threshold.get(b)).sum()
}

/// Effective area towards (`y_deg`, `z_deg`), cm²: lit fraction of each pixel in use
/// (`weights` > 0) × pixel area × cos θ. `scratch` receives the illumination map.
pub fn effective_area_cm2(
    y_deg: f32,
    z_deg: f32,
    weights: &[f32; PIXELS],
    scratch: &mut [f32; PIXELS],
) -> f32 {
    geometry::pixel_illumination(y_deg, z_deg, scratch);
    effective_area_of(y_deg, z_deg, weights, scratch)
}

/// [`effective_area_cm2`] from an illumination map already computed for (`y_deg`, `z_deg`) by
/// `geometry::pixel_illumination`: the same value, bit for bit, without recomputing the shadow.
pub fn effective_area_of(
    y_deg: f32,
    z_deg: f32,
    weights: &[f32; PIXELS],
    illumination: &[f32; PIXELS],
) -> f32 {
    let lit: f32 =
        illumination.iter().zip(weights).filter(|(_, w)| **w > 0.0).map(|(f, _)| *f).sum();
    lit * PIXEL_AREA_CM2 * geometry::off_axis_cosine(y_deg, z_deg)
}

/// Flux estimate, photons cm⁻² s⁻¹: `counts / (exposure · area)`; 0 without exposure or area.
pub fn flux(counts: f32, exposure_s: f32, area_cm2: f32) -> f32 {
    if exposure_s > 0.0 && area_cm2 > 0.0 { counts / (exposure_s * area_cm2) } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::boxed::Box;

    #[test]
    fn matching_picks_the_nearest_source_within_its_radius() {
        let set = tables::defaults::default_set();
        let mut c = Catalog::new();
        c.configure(&set.catalog);
        // The Crab (ID 1) at 83.6331, 22.0145, radius 0.3 deg; thresholds 3.6, 3.0, 1.05, 0.3.
        let m = c.find(83.70, 22.05, 1, 2).unwrap();
        assert_eq!(m.id, 1);
        assert!((m.threshold - 4.05).abs() < 1e-6);
        assert!(m.distance_deg < 0.1);
        assert!(c.find(84.2, 22.0, 0, 0).is_none());
        assert!(c.find(0.0, 0.0, 0, 0).is_none());
    }

    #[test]
    fn flux_estimate_inverts_the_expected_counts() {
        // A source of 1 ph/cm2/s on axis for 10 s: the expected counts are the effective area
        // times 10; the estimate gives back 1.
        let w = Box::new([1.0f32; PIXELS]);
        let mut scratch = Box::new([0f32; PIXELS]);
        let a = effective_area_cm2(0.0, 0.0, &w, &mut scratch);
        // About 40 % of 1024 cm2 on axis.
        assert!((380.0..440.0).contains(&a), "{a}");
        assert!((flux(a * 10.0, 10.0, a) - 1.0).abs() < 1e-6);
        // Off axis, less area.
        let off = effective_area_cm2(30.0, 0.0, &w, &mut scratch);
        assert!(off < 0.7 * a, "{off}");
        assert_eq!(flux(5.0, 0.0, a), 0.0);
    }

    #[test]
    fn sources_in_view_follow_the_attitude() {
        let set = tables::defaults::default_set();
        let mut c = Catalog::new();
        c.configure(&set.catalog);
        let att = Attitude::from_pointing(83.6331, 22.0145, 0.0);
        let crab = c.in_view(&att).find(|s| s.0 == 1).unwrap();
        assert!(crab.1.abs() < 1e-4 && crab.2.abs() < 1e-4, "{crab:?}");
    }
}
