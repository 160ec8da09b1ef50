//! Calibration products from data (issue 17).
//!
//! - [`gain`]: per-pixel gain and offset from the background lines (`calib gain`).
//! - [`saa`]: the SAA contour from the particle rate along the orbit (`calib saa`).

pub mod gain;
pub mod gain_html;
pub mod saa;
