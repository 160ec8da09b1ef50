//! Multi-step workflows over a [`crate::session::Session`], as a library so that tests call
//! them directly as well as through the command line.
//!
//! - [`tables`]: pull the unit's tables, push a table directory (ST\[200\]).

pub mod evidence;
pub mod journal;
pub mod plan;
pub mod run;
pub mod stack;
pub mod tables;
pub mod update;
