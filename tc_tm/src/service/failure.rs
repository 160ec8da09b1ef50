//! The one registry of ST\[01\] failure codes of the project (`ICD.md` §3).
//!
//! Every rejected or failed TC is reported with one of these codes in a 1,2 / 1,4 / 1,6 / 1,8
//! report. Values are grouped by the verification stage that reports them:
//! `0x01xx` acceptance, `0x02xx` start of execution, `0x03xx` progress, `0x04xx` completion.
//! Values are stable: never renumber, only add. Codes the software does not know pass through
//! as [`FailureCode::Unknown`].
//!
//! `From` conversions map the codec's errors to codes (always acceptance codes: whatever the
//! codec rejects is rejected at acceptance): [`crate::spp::Error`] and
//! [`crate::service::Error`] here; the other layers' mappings are added beside their errors.

use core::fmt;

use super::Error;

/// The ST\[01\] verification stage that reports a failure code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Acceptance (1,2): the TC was not understood or not allowed.
    Acceptance,
    /// Start of execution (1,4): preconditions were not met; nothing was changed.
    Start,
    /// Progress of execution (1,6): a step of a long operation failed.
    Progress,
    /// Completion of execution (1,8): the operation ran and its result is a failure.
    Completion,
}

impl Stage {
    /// Subtype of the failure report of this stage.
    pub const fn failure_subtype(self) -> u8 {
        match self {
            Stage::Acceptance => 2,
            Stage::Start => 4,
            Stage::Progress => 6,
            Stage::Completion => 8,
        }
    }

    /// Lower-case name.
    pub const fn name(self) -> &'static str {
        match self {
            Stage::Acceptance => "acceptance",
            Stage::Start => "start",
            Stage::Progress => "progress",
            Stage::Completion => "completion",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

macro_rules! failure_codes {
    ($(
        $(#[$doc:meta])*
        $variant:ident = $value:literal, $name:literal, $stage:ident, $text:literal;
    )*) => {
        /// A failure code of ST\[01\] reports: stable `u16` value, name, stage and operator advice.
        #[non_exhaustive]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum FailureCode {
            $($(#[$doc])* $variant,)*
            /// A code this software does not know, passed through.
            Unknown(u16),
        }

        impl FailureCode {
            /// Every known code, in registry order.
            pub const ALL: &'static [FailureCode] = &[$(FailureCode::$variant),*];

            /// The value carried in ST\[01\] failure reports.
            pub const fn value(self) -> u16 {
                match self {
                    $(FailureCode::$variant => $value,)*
                    FailureCode::Unknown(v) => v,
                }
            }

            /// The code of a value; unknown values become [`FailureCode::Unknown`].
            pub const fn from_value(value: u16) -> Self {
                match value {
                    $($value => FailureCode::$variant,)*
                    other => FailureCode::Unknown(other),
                }
            }

            /// Stable identifier (snake case), as printed by the bench and used in the ICD.
            pub const fn name(self) -> &'static str {
                match self {
                    $(FailureCode::$variant => $name,)*
                    FailureCode::Unknown(_) => "unknown",
                }
            }

            /// One line for the operator: what happened and what to do.
            pub const fn explanation(self) -> &'static str {
                match self {
                    $(FailureCode::$variant => $text,)*
                    FailureCode::Unknown(_) => {
                        "code not in this software's registry: check the unit's software version"
                    }
                }
            }

            /// The verification stage that reports this code ([`Stage::Completion`] for
            /// unknown codes, the most conservative reading).
            pub const fn stage(self) -> Stage {
                match self {
                    $(FailureCode::$variant => Stage::$stage,)*
                    FailureCode::Unknown(_) => Stage::Completion,
                }
            }
        }
    };
}

failure_codes! {
    // --- acceptance (0x01xx) ---
    /// Packet error control (CRC-16) does not match.
    BadPec = 0x0101, "bad_pec", Acceptance,
        "packet CRC-16 mismatch: the TC was corrupted on the link; send it again";
    /// Packet length inconsistent with the frame or the header.
    BadLength = 0x0102, "bad_length", Acceptance,
        "packet length inconsistent with its frame or header: check the TC encoder";
    /// Packet version number is not 0.
    BadPacketVersion = 0x0103, "bad_packet_version", Acceptance,
        "space packet version is not 0: check the TC encoder";
    /// Not a TC, or no secondary header.
    BadPacketType = 0x0104, "bad_packet_type", Acceptance,
        "packet is not a TC with a secondary header: check the TC encoder";
    /// APID is not the UGTS application.
    BadApid = 0x0105, "bad_apid", Acceptance,
        "APID is not the UGTS application (0x240): check the TC destination";
    /// Secondary header PUS version is not 2.
    BadPusVersion = 0x0106, "bad_pus_version", Acceptance,
        "secondary header PUS version is not 2 (PUS-C): use a PUS-C encoder";
    /// Segmented packets are not accepted.
    BadSequenceFlags = 0x0107, "bad_sequence_flags", Acceptance,
        "packet sequence flags are not 'unsegmented': send whole packets";
    /// Service type not implemented.
    UnknownService = 0x0108, "unknown_service", Acceptance,
        "service type not implemented by the unit: see the ICD service table";
    /// Subtype not implemented for the service.
    UnknownSubtype = 0x0109, "unknown_subtype", Acceptance,
        "subtype not implemented for this service: see the ICD service table";
    /// Application data too short or too long.
    MalformedData = 0x010A, "malformed_data", Acceptance,
        "application data too short or too long for its layout: check the encoder and the ICD";
    /// A field holds a value the ICD does not define.
    BadEnumValue = 0x010B, "bad_enum_value", Acceptance,
        "a field holds a value the ICD does not define: failure data names the value";
    /// A count is zero or above the per-request maximum.
    BadCount = 0x010C, "bad_count", Acceptance,
        "item count is zero or above the per-request maximum: split the request";
    /// Packet longer than the largest TC.
    PacketTooLong = 0x010D, "packet_too_long", Acceptance,
        "TC packet longer than the maximum (1016 octets): split the request";
    /// Function ID not defined.
    FunctionUnknown = 0x010E, "function_unknown", Acceptance,
        "function ID not defined: see the ICD function table";
    // --- start of execution (0x02xx) ---
    /// Memory ID not defined or not accessible by this operation.
    MemoryIdInvalid = 0x0201, "memory_id_invalid", Start,
        "memory ID unknown or not allowed for this operation: use eeprom, bank-a, bank-b or patch";
    /// Address or length outside the memory area.
    AddressOutOfRange = 0x0202, "address_out_of_range", Start,
        "address range outside the memory area: check address and length against the memory map";
    /// Memory area is write-protected.
    WriteProtected = 0x0203, "write_protected", Start,
        "memory area is write-protected (boot EEPROM, or running bank without arming)";
    /// CRC of the loaded data does not match the CRC in the TC.
    DataCrcMismatch = 0x0204, "data_crc_mismatch", Start,
        "CRC-32 of the load data does not match the TC's CRC: regenerate the load";
    /// Critical function not armed.
    NotArmed = 0x0205, "not_armed", Start,
        "critical function refused: send 'function arm' for it first";
    /// The arming expired before the critical TC arrived.
    ArmExpired = 0x0206, "arm_expired", Start,
        "arming expired before the critical TC arrived: arm again and send it promptly";
    /// Table ID not in the registry.
    TableIdInvalid = 0x0207, "table_id_invalid", Start,
        "table ID not in the on-board registry: check the table directory";
    /// Segment offset/length outside the declared image.
    SegmentOutOfRange = 0x0208, "segment_out_of_range", Start,
        "segment outside the table image or inconsistent with the load in progress: restart the load";
    /// Segment of another version or length than the load in progress.
    TableLoadConflict = 0x0209, "table_load_conflict", Start,
        "another load of this table is in progress with a different version or length: abort it first";
    /// Nothing loaded to validate.
    NothingToValidate = 0x020A, "nothing_to_validate", Start,
        "inactive buffer is empty or incomplete: load the whole table before validating";
    /// Inactive buffer not validated.
    NothingToActivate = 0x020B, "nothing_to_activate", Start,
        "inactive buffer not validated: validate the table before activating it";
    /// Parameter ID not in the registry.
    ParameterUnknown = 0x020C, "parameter_unknown", Start,
        "parameter ID not in the on-board registry: check the parameter list";
    /// Parameter value outside its range.
    ParameterOutOfRange = 0x020D, "parameter_out_of_range", Start,
        "parameter value outside its range: failure data gives ID and value, see the registry";
    /// Parameter is read-only.
    ParameterReadOnly = 0x020E, "parameter_read_only", Start,
        "parameter is read-only";
    /// Time-based schedule full.
    ScheduleFull = 0x020F, "schedule_full", Start,
        "time-based schedule full: wait for releases or reset the schedule";
    /// Release time already passed.
    ReleaseTimeInPast = 0x0210, "release_time_in_past", Start,
        "release time already passed: re-plan with a later time";
    /// Time-tagged TC fails acceptance.
    ScheduledTcInvalid = 0x0211, "scheduled_tc_invalid", Start,
        "an embedded time-tagged TC fails acceptance: failure data gives its index";
    /// Housekeeping SID not defined.
    SidUnknown = 0x0212, "sid_unknown", Start,
        "housekeeping structure ID not defined (only SID 1 exists)";
    /// Event ID not defined.
    EventIdUnknown = 0x0213, "event_id_unknown", Start,
        "event ID not defined: see the ICD event table";
    /// Mode transition not allowed from the current mode.
    ModeTransitionRefused = 0x0214, "mode_transition_refused", Start,
        "mode transition not allowed from the current mode: see the ICD mode diagram";
    /// Selected bank image header or CRC-32 does not check.
    BankImageInvalid = 0x0215, "bank_image_invalid", Start,
        "selected bank's image header or CRC-32 does not check: reload the bank first";
    /// Operation not allowed in the current state.
    Busy = 0x0216, "busy", Start,
        "another operation of the same kind is in progress: wait for its completion report";
    /// The request exists but the current mode does not allow it.
    NotAllowedInMode = 0x0217, "not_allowed_in_mode", Start,
        "request not allowed in the current mode (failure data value): see the ICD mode table, change mode first";
    // --- progress (0x03xx) ---
    /// A multi-report dump stopped.
    DumpInterrupted = 0x0301, "dump_interrupted", Progress,
        "dump interrupted (telemetry queue full): request the remaining range again";
    // --- completion (0x04xx) ---
    /// Read-back after write differs.
    MemoryVerifyFailed = 0x0401, "memory_verify_failed", Completion,
        "memory read back differs from the data written: check the memory area, retry once";
    /// Table image CRC-32 differs from the expected one.
    TableCrcMismatch = 0x0402, "table_crc_mismatch", Completion,
        "table image CRC-32 differs from the expected CRC: reload the table";
    /// Table content rejected by the validator.
    TableInvalid = 0x0403, "table_invalid", Completion,
        "table content rejected by the validator: failure data gives table, entry and field";
    /// Table image incomplete.
    TableIncomplete = 0x0404, "table_incomplete", Completion,
        "table image incomplete: load the missing segments, then validate";
    /// Internal error.
    InternalError = 0x04FF, "internal_error", Completion,
        "unexpected internal error: report it to the software team with the TM archive";
}

impl fmt::Display for FailureCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (0x{:04X}, {}): {}",
            self.name(),
            self.value(),
            self.stage(),
            self.explanation()
        )
    }
}

impl From<u16> for FailureCode {
    fn from(value: u16) -> Self {
        FailureCode::from_value(value)
    }
}

impl From<FailureCode> for u16 {
    fn from(code: FailureCode) -> Self {
        code.value()
    }
}

impl From<crate::spp::Error> for FailureCode {
    fn from(e: crate::spp::Error) -> Self {
        use crate::spp::Error as E;
        match e {
            E::Truncated { .. } => FailureCode::BadLength,
            E::BadVersion(_) => FailureCode::BadPacketVersion,
            E::FieldRange { .. } => FailureCode::BadLength,
            E::BufferTooSmall { .. } => FailureCode::InternalError,
        }
    }
}

impl From<Error> for FailureCode {
    fn from(e: Error) -> Self {
        match e {
            Error::Truncated { .. } | Error::TrailingData { .. } => FailureCode::MalformedData,
            Error::UnknownService(_) => FailureCode::UnknownService,
            Error::UnknownSubtype { .. } => FailureCode::UnknownSubtype,
            Error::BadValue { field, .. } => match field {
                "function_id" => FailureCode::FunctionUnknown,
                _ => FailureCode::BadEnumValue,
            },
            Error::BadCount { .. } => FailureCode::BadCount,
            Error::BufferTooSmall { .. } => FailureCode::InternalError,
        }
    }
}

/// Packet-level rejections of an uplinked TC (the PUS layer parses after the frame layer).
///
/// `Truncated`, `TooLong` and `FieldRange` are length problems; the packet type and secondary
/// header flag are both "not a TC with a secondary header".
impl From<crate::pus::Error> for FailureCode {
    fn from(e: crate::pus::Error) -> Self {
        use crate::pus::Error as E;
        match e {
            E::Truncated { .. } | E::FieldRange { .. } => FailureCode::BadLength,
            E::BadCrc { .. } => FailureCode::BadPec,
            E::BadPusVersion(_) => FailureCode::BadPusVersion,
            E::WrongPacketType | E::NoSecondaryHeader => FailureCode::BadPacketType,
            E::TooLong { .. } => FailureCode::PacketTooLong,
            E::Spp(s) => FailureCode::from(s),
            E::BufferTooSmall { .. } | E::BadPField(_) => FailureCode::InternalError,
        }
    }
}

/// TC frame rejections. The unit never sends an ST\[01\] report for a frame that did not
/// become a packet (`docs/icd/unit.md`); this mapping names the closest acceptance code for
/// logs and for the bench's own pre-send checks.
impl From<crate::tc_frame::Error> for FailureCode {
    fn from(e: crate::tc_frame::Error) -> Self {
        use crate::tc_frame::Error as E;
        match e {
            E::BadCrc { .. } => FailureCode::BadPec,
            E::Truncated { .. } | E::FieldRange { .. } => FailureCode::BadLength,
            E::BadVersion(_) | E::ReservedFrameType | E::BadControlCommand { .. } => {
                FailureCode::BadPacketType
            }
            E::BufferTooSmall { .. } => FailureCode::InternalError,
        }
    }
}

/// CLTU rejections (as for frames: never reported in ST\[01\], named for logs).
impl From<crate::cltu::Error> for FailureCode {
    fn from(e: crate::cltu::Error) -> Self {
        use crate::cltu::Error as E;
        match e {
            E::Uncorrectable { .. } | E::BadStartSequence(_) => FailureCode::BadPec,
            E::TooLong { .. } | E::FrameTooLong { .. } => FailureCode::PacketTooLong,
            E::Truncated { .. } | E::MissingTail | E::Empty | E::TrailingData { .. } => {
                FailureCode::BadLength
            }
            E::BufferTooSmall { .. } => FailureCode::InternalError,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_unique_and_round_trip() {
        for (i, a) in FailureCode::ALL.iter().enumerate() {
            assert_eq!(FailureCode::from_value(a.value()), *a);
            for b in &FailureCode::ALL[i + 1..] {
                assert_ne!(a.value(), b.value(), "{a:?} and {b:?}");
                assert_ne!(a.name(), b.name());
            }
        }
    }

    #[test]
    fn value_prefix_matches_stage() {
        for c in FailureCode::ALL {
            let expected = match c.stage() {
                Stage::Acceptance => 0x01,
                Stage::Start => 0x02,
                Stage::Progress => 0x03,
                Stage::Completion => 0x04,
            };
            assert_eq!(c.value() >> 8, expected, "{c:?}");
        }
    }

    #[test]
    fn unknown_passes_through() {
        assert_eq!(FailureCode::from_value(0xBEEF), FailureCode::Unknown(0xBEEF));
        assert_eq!(FailureCode::Unknown(0xBEEF).value(), 0xBEEF);
    }

    #[test]
    fn display_names_value_and_advice() {
        let s = std::format!("{}", FailureCode::NotArmed);
        assert_eq!(
            s,
            "not_armed (0x0205, start): critical function refused: send 'function arm' for it first"
        );
    }

    #[test]
    fn codec_errors_map_to_acceptance_codes() {
        let errors = [
            Error::Truncated { found: 0, expected: 1 },
            Error::TrailingData { found: 2, expected: 1 },
            Error::UnknownService(4),
            Error::UnknownSubtype { service: 3, subtype: 1 },
            Error::BadValue { field: "function_id", value: 9 },
            Error::BadValue { field: "scheduled_tc", value: 0 },
            Error::BadValue { field: "mode", value: 9 },
            Error::BadCount { field: "sids", count: 0, max: 8 },
        ];
        for e in errors {
            assert_eq!(FailureCode::from(e).stage(), Stage::Acceptance, "{e}");
        }
        for e in [
            crate::spp::Error::Truncated { found: 0, expected: 6 },
            crate::spp::Error::BadVersion(1),
        ] {
            assert_eq!(FailureCode::from(e).stage(), Stage::Acceptance, "{e}");
        }
    }

    #[test]
    fn link_layer_errors_map_to_acceptance_codes() {
        use crate::pus::Error as P;
        assert_eq!(FailureCode::from(P::BadCrc { computed: 1, received: 2 }), FailureCode::BadPec);
        assert_eq!(FailureCode::from(P::BadPusVersion(1)), FailureCode::BadPusVersion);
        assert_eq!(FailureCode::from(P::WrongPacketType), FailureCode::BadPacketType);
        assert_eq!(FailureCode::from(P::NoSecondaryHeader), FailureCode::BadPacketType);
        assert_eq!(
            FailureCode::from(P::TooLong { len: 2000, max: 1016 }),
            FailureCode::PacketTooLong
        );
        assert_eq!(
            FailureCode::from(P::Spp(crate::spp::Error::BadVersion(1))),
            FailureCode::BadPacketVersion
        );
        assert_eq!(
            FailureCode::from(P::Truncated { found: 3, expected: 13 }),
            FailureCode::BadLength
        );
        let frame = crate::tc_frame::Error::BadCrc { computed: 1, received: 2 };
        assert_eq!(FailureCode::from(frame), FailureCode::BadPec);
        let cltu = crate::cltu::Error::Uncorrectable { block: 0 };
        assert_eq!(FailureCode::from(cltu).stage(), Stage::Acceptance);
    }

    #[test]
    fn error_mappings() {
        assert_eq!(
            FailureCode::from(crate::spp::Error::BadVersion(1)),
            FailureCode::BadPacketVersion
        );
        assert_eq!(
            FailureCode::from(Error::BadValue { field: "function_id", value: 9 }),
            FailureCode::FunctionUnknown
        );
        assert_eq!(
            FailureCode::from(Error::Truncated { found: 1, expected: 2 }),
            FailureCode::MalformedData
        );
        assert_eq!(FailureCode::from(Error::UnknownService(4)), FailureCode::UnknownService);
    }
}
