//! PLACEHOLDER: this layer is being written (see docs/architecture.md for its owner).

use core::fmt;

/// Errors of this layer.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The input is shorter than needed.
    Truncated {
        /// Octets available.
        found: usize,
        /// Octets needed.
        expected: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Truncated { found, expected } => {
                write!(f, "truncated: {found} octets, expected {expected}")
            }
        }
    }
}

impl core::error::Error for Error {}
