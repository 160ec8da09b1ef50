//! `eic-bench calib gain`: per-pixel gain and offset from the background lines (issue 17 §3).
//!
//! Written on branch `calib-gain`; this file is the skeleton's placeholder so that the module
//! tree and the CLI group exist on `calib` (the command says it is not in this build).
