//! The ECLAIRs on-board trigger: coded-mask geometry, imaging, count-rate and image triggers.

pub mod fft;
pub mod geometry;
pub mod imaging;
