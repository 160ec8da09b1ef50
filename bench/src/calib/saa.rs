//! `eic-bench calib saa`: the SAA contour from the particle rate versus orbit position (issue
//! 17 §4).
//!
//! Written on branch `calib-gain`; this file is the skeleton's placeholder so that the module
//! tree and the CLI group exist on `calib` (the command says it is not in this build).
