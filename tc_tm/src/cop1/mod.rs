//! COP-1, the TC communications operation procedure (CCSDS 232.1-B-2, 232.0-B-4 §4.2).
//!
//! - [`clcw`]: the communications link control word the unit reports in the OCF of every
//!   downlink frame.
//! - [`farm`]: FARM-1, the frame acceptance and reporting mechanism on board (window
//!   W = [`crate::mission::FARM_WINDOW`]).
//! - [`fop`]: FOP-1, the frame operation procedure of the bench (window
//!   K = [`crate::mission::FOP_WINDOW`]).
//!
//! Both machines are pure: no clock, no I/O, no heap. Time is passed in (`now_ms`), frames are
//! described by small input enums or opaque handles, and the machines answer with what to do.

pub mod clcw;
pub mod farm;
pub mod fop;

pub use clcw::Clcw;
