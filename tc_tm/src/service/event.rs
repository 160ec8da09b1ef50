//! ST\[05\] event reporting (ECSS-E-ST-70-41C §6.5) and the registry of event IDs.
//!
//! | subtype | dir | application data (big-endian) |
//! |---|---|---|
//! | 5,1 / 5,2 / 5,3 / 5,4 informative / low / medium / high severity | TM | event ID u16, auxiliary data (0..=[`MAX_AUX_LEN`] octets, layout per event) |
//! | 5,5 enable event IDs | TC | N u8 (1..=[`MAX_EVENT_IDS`]), N × event ID u16 |
//! | 5,6 disable event IDs | TC | N u8, N × event ID u16 |
//!
//! Each known event has a fixed severity; a report of a known event under another severity
//! subtype is rejected. Unknown event IDs pass through with the severity of their subtype.

use core::fmt;

use super::Error;
use super::wire::{Item, List, Writer, be16, emit_with, parse_all};

/// Service type number.
pub const SERVICE: u8 = 5;
/// Largest auxiliary data of an event report.
pub const MAX_AUX_LEN: usize = 32;
/// Largest number of event IDs in one enable/disable request.
pub const MAX_EVENT_IDS: usize = 16;

wire_enum! {
    /// Event severity; the report subtype is the wire value.
    pub enum Severity: "severity" {
        /// 5,1: informative, normal progress.
        Informative = 0x01, "informative";
        /// 5,2: low severity anomaly or notable operation.
        Low = 0x02, "low";
        /// 5,3: medium severity: an operation failed, the unit carries on.
        Medium = 0x03, "medium";
        /// 5,4: high severity: on-board autonomy acted (e.g. fallback boot).
        High = 0x04, "high";
    }
}

macro_rules! event_ids {
    ($(
        $(#[$doc:meta])*
        $variant:ident = $value:literal, $name:literal, $sev:ident, $aux:literal;
    )*) => {
        /// Event identifiers, each with a fixed severity.
        #[non_exhaustive]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum EventId {
            $($(#[$doc])* $variant,)*
            /// An event this software does not know, passed through.
            Unknown(u16),
        }

        impl EventId {
            /// Every known event, in registry order.
            pub const ALL: &'static [EventId] = &[$(EventId::$variant),*];

            /// Wire value.
            pub const fn value(self) -> u16 {
                match self {
                    $(EventId::$variant => $value,)*
                    EventId::Unknown(v) => v,
                }
            }

            /// From a wire value; unknown values become [`EventId::Unknown`].
            pub const fn from_value(value: u16) -> Self {
                match value {
                    $($value => EventId::$variant,)*
                    other => EventId::Unknown(other),
                }
            }

            /// Text name (`unknown` for unknown IDs).
            pub const fn name(self) -> &'static str {
                match self {
                    $(EventId::$variant => $name,)*
                    EventId::Unknown(_) => "unknown",
                }
            }

            /// From a text name (ASCII case-insensitive).
            pub fn from_name(name: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|e| e.name().eq_ignore_ascii_case(name))
            }

            /// The fixed severity; `None` for unknown IDs.
            pub const fn severity(self) -> Option<Severity> {
                match self {
                    $(EventId::$variant => Some(Severity::$sev),)*
                    EventId::Unknown(_) => None,
                }
            }

            /// Layout of the auxiliary data, as documented in the ICD.
            pub const fn aux_layout(self) -> &'static str {
                match self {
                    $(EventId::$variant => $aux,)*
                    EventId::Unknown(_) => "raw",
                }
            }
        }
    };
}

event_ids! {
    /// An application image booted.
    Boot = 0x0001, "boot", Informative, "bank u8, software version u32";
    /// The selected bank failed its image check; the other bank was booted.
    FallbackBoot = 0x0002, "fallback-boot", High, "selected bank u8, booted bank u8";
    /// Mode changed.
    ModeChanged = 0x0003, "mode-changed", Informative, "old mode u8, new mode u8";
    /// Boot bank selected for the next boot.
    BootBankSelected = 0x0004, "boot-bank-selected", Low, "bank u8";
    /// A table was activated.
    TableActivated = 0x0010, "table-activated", Informative,
        "table ID u8, version u16, CRC-32 u32";
    /// A table load was aborted (by TC or by a conflicting segment).
    TableLoadAborted = 0x0011, "table-load-aborted", Low, "table ID u8, octets received u32";
    /// A table failed validation.
    TableValidationFailed = 0x0012, "table-validation-failed", Medium,
        "table ID u8, failure code u16, entry u16, field u16";
    /// A memory load completed and was verified.
    MemoryLoadComplete = 0x0020, "memory-load-complete", Informative,
        "memory ID u8, address u32, length u16";
    /// A trigger was enabled.
    TriggerEnabled = 0x0030, "trigger-enabled", Informative, "trigger u8 (1 CRT, 2 IMT, 3 both)";
    /// A trigger was disabled.
    TriggerDisabled = 0x0031, "trigger-disabled", Low, "trigger u8";
    /// The spacecraft entered the SAA; triggers inhibited if `saa_inhibit`.
    SaaEntry = 0x0032, "saa-entry", Informative, "none";
    /// The spacecraft left the SAA.
    SaaExit = 0x0033, "saa-exit", Informative, "none";
    /// A trigger alert was issued.
    AlertIssued = 0x0034, "alert-issued", Informative,
        "burst ID u32, sequence number u16, trigger type u8";
    /// FARM-1 entered lockout; the bench must send Unlock.
    FarmLockout = 0x0040, "farm-lockout", Medium, "V(R) u8";
    /// A critical operation was armed.
    CriticalArmed = 0x0050, "critical-armed", Low, "arm target u8, timeout ms u32";
    /// An arming expired unused.
    ArmExpired = 0x0051, "arm-expired", Low, "arm target u8";
    /// A critical operation was executed.
    CriticalExecuted = 0x0052, "critical-executed", Medium, "arm target u8";
    /// The scheduler released a time-tagged TC.
    ScheduleReleased = 0x0060, "schedule-released", Informative, "request ID 4 octets";
    /// A released time-tagged TC was rejected.
    ScheduleReleaseFailed = 0x0061, "schedule-release-failed", Medium,
        "request ID 4 octets, failure code u16";
    /// An on-board parameter changed.
    ParameterChanged = 0x0070, "parameter-changed", Informative,
        "parameter ID u16, old value u32, new value u32";
    /// TC counters cleared.
    CountersCleared = 0x0080, "counters-cleared", Informative, "none";
    /// Telemetry was lost because a queue overflowed.
    TmOverflow = 0x0090, "tm-overflow", Medium, "virtual channel u8, packets lost u16";
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventId::Unknown(v) => write!(f, "0x{v:04X}"),
            e => f.write_str(e.name()),
        }
    }
}

impl Item for EventId {
    const LEN: usize = 2;
    const FIELD: &'static str = "event_ids";
    fn decode(data: &[u8]) -> Result<Self, Error> {
        be16(data, 0).map(EventId::from_value)
    }
    fn encode(&self, out: &mut [u8]) -> Result<(), Error> {
        Writer::new(out).u16(self.value())
    }
}

/// ST\[05\] requests.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request<'a> {
    /// 5,5: enable the report generation of event IDs.
    Enable(List<'a, EventId>),
    /// 5,6: disable the report generation of event IDs.
    Disable(List<'a, EventId>),
}

impl<'a> Request<'a> {
    /// Parses the application data of subtype `subtype`.
    ///
    /// # Errors
    /// [`Error::UnknownSubtype`], [`Error::Truncated`], [`Error::TrailingData`],
    /// [`Error::BadCount`] for N = 0 or above [`MAX_EVENT_IDS`].
    pub fn parse(subtype: u8, data: &'a [u8]) -> Result<Self, Error> {
        parse_all(data, |r| {
            Ok(match subtype {
                5 => Request::Enable(List::read(r, 1, MAX_EVENT_IDS)?),
                6 => Request::Disable(List::read(r, 1, MAX_EVENT_IDS)?),
                _ => return Err(Error::UnknownSubtype { service: SERVICE, subtype }),
            })
        })
    }

    /// Subtype number.
    pub fn subtype(&self) -> u8 {
        match self {
            Request::Enable(_) => 5,
            Request::Disable(_) => 6,
        }
    }

    /// The event IDs.
    pub fn ids(&self) -> &List<'a, EventId> {
        match self {
            Request::Enable(l) | Request::Disable(l) => l,
        }
    }

    /// Octets of application data.
    pub fn buffer_len(&self) -> usize {
        self.ids().wire_len()
    }

    /// Writes the application data into `out`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`]; [`Error::BadCount`] as in [`Request::parse`].
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        emit_with(out, self.buffer_len(), |w| self.ids().write(w, 1, MAX_EVENT_IDS))
    }
}

/// An event report (5,1 … 5,4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EventReport<'a> {
    /// Severity (the subtype). For known events it must equal [`EventId::severity`].
    pub severity: Severity,
    /// The event.
    pub id: EventId,
    /// Auxiliary data (layout per [`EventId::aux_layout`]).
    pub aux: &'a [u8],
}

impl<'a> EventReport<'a> {
    /// A report of a known event with its registry severity (informative for unknown IDs).
    pub fn new(id: EventId, aux: &'a [u8]) -> Self {
        EventReport { severity: id.severity().unwrap_or(Severity::Informative), id, aux }
    }

    fn check(&self) -> Result<(), Error> {
        super::wire::check_count("aux_data", self.aux.len(), 0, MAX_AUX_LEN)?;
        match self.id.severity() {
            Some(s) if s != self.severity => {
                Err(Error::BadValue { field: "severity", value: u32::from(self.severity.value()) })
            }
            _ => Ok(()),
        }
    }
}

/// ST\[05\] reports.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Report<'a> {
    /// 5,1 … 5,4: an event.
    Event(EventReport<'a>),
}

impl<'a> Report<'a> {
    /// Parses the source data of subtype `subtype`.
    ///
    /// # Errors
    /// [`Error::UnknownSubtype`], [`Error::Truncated`]; [`Error::BadCount`] for auxiliary
    /// data above [`MAX_AUX_LEN`]; [`Error::BadValue`] with field `severity` for a known event
    /// under the wrong severity.
    pub fn parse(subtype: u8, data: &'a [u8]) -> Result<Self, Error> {
        let severity = match subtype {
            1..=4 => Severity::from_value(subtype),
            _ => None,
        }
        .ok_or(Error::UnknownSubtype { service: SERVICE, subtype })?;
        parse_all(data, |r| {
            let id = EventId::from_value(r.u16()?);
            let e = EventReport { severity, id, aux: r.rest() };
            e.check()?;
            Ok(Report::Event(e))
        })
    }

    /// Subtype number (the severity).
    pub fn subtype(&self) -> u8 {
        match self {
            Report::Event(e) => e.severity.value(),
        }
    }

    /// Octets of source data.
    pub fn buffer_len(&self) -> usize {
        match self {
            Report::Event(e) => 2 + e.aux.len(),
        }
    }

    /// Writes the source data into `out`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`]; the errors of [`Report::parse`] for a report that breaks
    /// its constraints.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        let Report::Event(e) = self;
        e.check()?;
        emit_with(out, self.buffer_len(), |w| {
            w.u16(e.id.value())?;
            w.bytes(e.aux)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_consistent() {
        for (i, a) in EventId::ALL.iter().enumerate() {
            assert_eq!(EventId::from_value(a.value()), *a);
            assert_eq!(EventId::from_name(a.name()), Some(*a));
            assert!(a.severity().is_some());
            for b in &EventId::ALL[i + 1..] {
                assert_ne!(a.value(), b.value());
                assert_ne!(a.name(), b.name());
            }
        }
        assert_eq!(EventId::FallbackBoot.severity(), Some(Severity::High));
    }

    #[test]
    fn parse_event_reports() {
        let r = Report::parse(4, &[0x00, 0x02, 0x01, 0x02]).unwrap();
        assert_eq!(
            r,
            Report::Event(EventReport {
                severity: Severity::High,
                id: EventId::FallbackBoot,
                aux: &[1, 2]
            })
        );
        let mut out = [0u8; 4];
        assert_eq!(r.emit(&mut out).unwrap(), 4);
        assert_eq!(out, [0x00, 0x02, 0x01, 0x02]);
        // Known event under the wrong severity.
        assert_eq!(
            Report::parse(1, &[0x00, 0x02]).unwrap_err(),
            Error::BadValue { field: "severity", value: 1 }
        );
        // Unknown event passes through with any severity.
        let u = Report::parse(3, &[0xAB, 0xCD]).unwrap();
        assert_eq!(
            u,
            Report::Event(EventReport {
                severity: Severity::Medium,
                id: EventId::Unknown(0xABCD),
                aux: &[]
            })
        );
        assert_eq!(
            Report::parse(1, &[0x00]).unwrap_err(),
            Error::Truncated { found: 1, expected: 2 }
        );
        assert!(matches!(Report::parse(5, &[0, 1]), Err(Error::UnknownSubtype { .. })));
        let long = [0u8; 2 + MAX_AUX_LEN + 1];
        assert!(matches!(Report::parse(1, &long), Err(Error::BadCount { .. })));
    }

    #[test]
    fn parse_enable_disable() {
        let r = Request::parse(6, &[2, 0x00, 0x32, 0x12, 0x34]).unwrap();
        assert_eq!(r.subtype(), 6);
        assert_eq!(
            r.ids().iter().collect::<std::vec::Vec<_>>(),
            [EventId::SaaEntry, EventId::Unknown(0x1234)]
        );
        assert!(matches!(Request::parse(5, &[0]), Err(Error::BadCount { .. })));
        assert!(matches!(Request::parse(5, &[17]), Err(Error::BadCount { count: 17, .. })));
        assert_eq!(
            Request::parse(5, &[1, 0]).unwrap_err(),
            Error::Truncated { found: 2, expected: 3 }
        );
    }
}
