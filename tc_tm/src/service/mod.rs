//! PUS service messages: the application data of every TC and TM of `ICD.md` §3, typed.
//!
//! This layer sits above [`crate::pus`]: it sees only `(service, subtype, application data)`
//! and never reads a header. Every message has a documented big-endian octet layout
//! (`docs/icd/services.md` is the reference; each module repeats its own part).
//!
//! - [`Request`] is every TC, [`Report`] every TM. Both have `parse(service, subtype, data)`
//!   (rejecting truncation, trailing octets, values the ICD does not define and impossible
//!   counts), `service_subtype`, `buffer_len` and `emit`.
//! - Variable data is borrowed: octet strings are `&'a [u8]`, repeated items are zero-copy
//!   [`List`]s or [`schedule::TimeTaggedList`]s, validated at parse so iteration cannot fail.
//! - [`failure`] is the one registry of ST\[01\] failure codes of the project.
//! - [`text`] is the readable request syntax of the bench (`memory dump mem=bank-a addr=0x100
//!   len=64`); `Display` on [`Request`] prints it, [`text::parse_request`] reads it.
//!
//! # Panics
//! No function of this module panics: `parse` of any input returns `Ok` or `Err`, and `emit`
//! returns [`Error::BufferTooSmall`] rather than writing past the end.
//!
//! # Example
//! ```
//! use tc_tm::service::{Request, memory};
//! let req = Request::Memory(memory::Request::Dump(memory::MemoryDump {
//!     memory_id: memory::MemoryId::BankA,
//!     address: 0x100,
//!     length: 64,
//! }));
//! let mut buf = [0u8; 16];
//! let len = req.emit(&mut buf).unwrap();
//! assert_eq!(&buf[..len], &[0x02, 0x00, 0x00, 0x01, 0x00, 0x00, 0x40]);
//! let (service, subtype) = req.service_subtype();
//! assert_eq!(Request::parse(service, subtype, &buf[..len]).unwrap(), req);
//! ```

use core::fmt;

#[macro_use]
mod macros;

pub mod event;
pub mod failure;
pub mod function;
pub mod housekeeping;
pub mod memory;
pub mod parameter;
pub mod schedule;
pub mod table;
pub mod test;
pub mod text;
pub mod trigger;
pub mod verification;
mod wire;

pub use failure::{FailureCode, Stage};
pub use wire::{Item, List, ListIter};

/// Largest TC application data field: the largest TC packet less its primary header (6), PUS-C
/// secondary header (5) and packet error control (2).
pub const MAX_TC_APP_DATA_LEN: usize = crate::mission::MAX_TC_PACKET_LEN - 6 - 5 - 2;

/// Errors of the service layer: why application data was rejected.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The data is shorter than the layout needs.
    Truncated {
        /// Octets available.
        found: usize,
        /// Octets needed.
        expected: usize,
    },
    /// The data is longer than the layout: octets are left over.
    TrailingData {
        /// Octets available.
        found: usize,
        /// Octets the message uses.
        expected: usize,
    },
    /// The service type is not one of `ICD.md` §3 (or has no message in this direction).
    UnknownService(u8),
    /// The subtype is not defined for this service and direction.
    UnknownSubtype {
        /// Service type.
        service: u8,
        /// Subtype.
        subtype: u8,
    },
    /// A field holds a value the ICD does not define.
    BadValue {
        /// Which field.
        field: &'static str,
        /// The offending value.
        value: u32,
    },
    /// A count or length is impossible: zero where items are required, or above the maximum.
    BadCount {
        /// Which count.
        field: &'static str,
        /// The count found.
        count: usize,
        /// The largest count allowed.
        max: usize,
    },
    /// The output buffer is too small to emit into.
    BufferTooSmall {
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
                write!(f, "application data truncated: {found} octets, expected {expected}")
            }
            Error::TrailingData { found, expected } => {
                write!(f, "application data too long: {found} octets, message uses {expected}")
            }
            Error::UnknownService(s) => write!(f, "unknown service type {s}"),
            Error::UnknownSubtype { service, subtype } => {
                write!(f, "unknown subtype {subtype} of service {service}")
            }
            Error::BadValue { field, value } => {
                write!(f, "field {field} holds undefined value {value} (0x{value:X})")
            }
            Error::BadCount { field, count, max } => {
                write!(f, "impossible count of {field}: {count} (allowed 1..={max})")
            }
            Error::BufferTooSmall { found, expected } => {
                write!(f, "output buffer of {found} octets, message needs {expected}")
            }
        }
    }
}

impl core::error::Error for Error {}

/// Generates the top-level enum over per-service message enums, with dispatch.
macro_rules! service_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $what:literal {
            $($(#[$vmeta:meta])* $variant:ident($module:ident :: $ty:ty)),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[non_exhaustive]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name<'a> {
            $($(#[$vmeta])* $variant($ty),)*
        }

        impl<'a> $name<'a> {
            #[doc = concat!("Parses the application data of a ", $what, ".")]
            ///
            /// # Errors
            /// [`Error::UnknownService`], [`Error::UnknownSubtype`], or the message's own
            /// error (truncated, trailing octets, undefined value, impossible count).
            ///
            /// # Panics
            /// Never.
            pub fn parse(service: u8, subtype: u8, data: &'a [u8]) -> Result<Self, Error> {
                match service {
                    $($module::SERVICE => Ok($name::$variant(<$ty>::parse(subtype, data)?)),)*
                    _ => Err(Error::UnknownService(service)),
                }
            }

            /// Service type and subtype of the message.
            pub fn service_subtype(&self) -> (u8, u8) {
                match self {
                    $($name::$variant(m) => ($module::SERVICE, m.subtype()),)*
                }
            }

            /// Octets of application data [`Self::emit`] writes.
            pub fn buffer_len(&self) -> usize {
                match self {
                    $($name::$variant(m) => m.buffer_len(),)*
                }
            }

            /// Writes the application data into `out` and returns its length.
            ///
            /// # Errors
            /// [`Error::BufferTooSmall`] if `out` is shorter than [`Self::buffer_len`]; the
            /// errors `parse` would return if the message breaks its own constraints (counts,
            /// lengths), so that whatever is emitted parses back.
            ///
            /// # Panics
            /// Never.
            pub fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
                match self {
                    $($name::$variant(m) => m.emit(out),)*
                }
            }
        }
    };
}

service_enum! {
    /// Every telecommand of `ICD.md` §3, typed: what the bench sends and the unit executes.
    Request, "telecommand" {
        /// ST\[03\] housekeeping.
        Housekeeping(housekeeping::housekeeping::Request<'a>),
        /// ST\[05\] event reporting control.
        Event(event::event::Request<'a>),
        /// ST\[06\] memory management.
        Memory(memory::memory::Request<'a>),
        /// ST\[08\] function management.
        Function(function::function::Request),
        /// ST\[11\] time-based scheduling.
        Schedule(schedule::schedule::Request<'a>),
        /// ST\[17\] test.
        Test(test::test::Request<'a>),
        /// ST\[20\] on-board parameters.
        Parameter(parameter::parameter::Request<'a>),
        /// ST\[200\] table management.
        Table(table::table::Request<'a>),
    }
}

service_enum! {
    /// Every telemetry report of `ICD.md` §3, typed: what the unit sends and the bench decodes.
    Report, "telemetry report" {
        /// ST\[01\] request verification.
        Verification(verification::verification::Report),
        /// ST\[03\] housekeeping report.
        Housekeeping(housekeeping::housekeeping::Report<'a>),
        /// ST\[05\] event report.
        Event(event::event::Report<'a>),
        /// ST\[06\] memory dump and check reports.
        Memory(memory::memory::Report<'a>),
        /// ST\[11\] schedule summary report.
        Schedule(schedule::schedule::Report<'a>),
        /// ST\[17\] test report.
        Test(test::test::Report<'a>),
        /// ST\[20\] parameter value report.
        Parameter(parameter::parameter::Report<'a>),
        /// ST\[200\] table dump segments and directory.
        Table(table::table::Report<'a>),
        /// ST\[201\] trigger alert.
        Trigger(trigger::trigger::Report),
    }
}
