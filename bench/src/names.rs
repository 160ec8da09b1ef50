//! Registry names of the numbers telemetry carries: banks, modes, tables, memories, arm
//! targets, software versions, and what an ST\[01\] failure's subject designates.
//!
//! Shared by the session layer (a refused TC's message) and the report renderer
//! ([`crate::report`]), so that a thing is named the same way wherever it is printed. Anything a
//! registry does not know is shown by its number in hex, never dropped.

use onboard::image::SwVersion;
use tables::TableId;
use tc_tm::service::event::EventId;
use tc_tm::service::function::{ArmTarget, Bank, FunctionId, Mode};
use tc_tm::service::memory::MemoryId;
use tc_tm::service::parameter::ParamId;
use tc_tm::service::verification::FailureData;
use tc_tm::service::{FailureCode, Stage};

/// A name from an enumeration, or the raw value in hex (`0x09`) if undefined.
pub fn enum_name(name: Option<&'static str>, value: u8) -> String {
    name.map_or_else(|| format!("0x{value:02X}"), str::to_owned)
}

/// A boot bank: `A`, `B`, or the number in hex.
pub fn bank_name(v: u8) -> String {
    enum_name(Bank::from_value(v).map(Bank::name), v)
}

/// An operating mode: `safe`, `maintenance`, ..., or the number in hex.
pub fn mode_name(v: u8) -> String {
    enum_name(Mode::from_value(v).map(Mode::name), v)
}

/// A table by its key (`crt`, `pixels`, ...), or the number in hex.
pub fn table_key(v: u8) -> String {
    enum_name(TableId::from_u8(v).map(TableId::key), v)
}

/// A critical function's arm target (`reset`, ...), or the number in hex.
pub fn arm_target_name(v: u8) -> String {
    enum_name(ArmTarget::from_value(v).map(ArmTarget::name), v)
}

/// A memory ID (`bank-a`, `patch`, ...), or the number in hex.
pub fn memory_name(v: u8) -> String {
    enum_name(
        Some(MemoryId::from_value(v)).filter(|m| MemoryId::ALL.contains(m)).map(|m| m.name()),
        v,
    )
}

/// A software version as `major.minor.patch+build` (the image header's layout,
/// `docs/memory.md`).
pub fn version_text(v: u32) -> String {
    SwVersion(v).to_string()
}

/// What the failure data's subject names, per failure code (`docs/icd/services.md`), e.g.
/// `table crt`, `memory bank-a`, `parameter sw_version`; `None` when the code gives the subject
/// no meaning.
pub fn failure_subject(code: FailureCode, subject: u16) -> Option<String> {
    use FailureCode as C;
    let [hi, lo] = subject.to_be_bytes();
    let tc = || format!("TC {hi},{lo}");
    let function = || match subject {
        0x0100..=0x01FF => format!("arm target {}", arm_target_name(lo)),
        _ => {
            format!("function {}", enum_name(FunctionId::from_value(lo).map(FunctionId::name), lo))
        }
    };
    let low_byte = |f: fn(u8) -> String| (hi == 0).then(|| f(lo));
    match code {
        C::FunctionUnknown | C::ModeTransitionRefused | C::BankImageInvalid => {
            (hi == 0).then(function)
        }
        C::NotArmed | C::ArmExpired => Some(function()),
        C::NotAllowedInMode => Some(tc()),
        C::MemoryIdInvalid
        | C::AddressOutOfRange
        | C::WriteProtected
        | C::DataCrcMismatch
        | C::MemoryVerifyFailed => low_byte(memory_name).map(|m| format!("memory {m}")),
        C::TableIdInvalid
        | C::SegmentOutOfRange
        | C::TableLoadConflict
        | C::NothingToValidate
        | C::NothingToActivate
        | C::TableCrcMismatch
        | C::TableInvalid
        | C::TableIncomplete => low_byte(table_key).map(|t| format!("table {t}")),
        C::ParameterUnknown | C::ParameterOutOfRange | C::ParameterReadOnly => {
            Some(format!("parameter {}", ParamId(subject)))
        }
        C::ScheduleFull | C::ReleaseTimeInPast | C::ScheduledTcInvalid => Some(tc()),
        C::SidUnknown => Some(format!("SID {subject}")),
        C::EventIdUnknown => Some(format!("event {}", EventId::from_value(subject))),
        c if c.stage() == Stage::Acceptance && !matches!(c, FailureCode::Unknown(_)) => Some(tc()),
        _ => None,
    }
}

/// A parameter value as the operator reads it: `1000 ms`, `true`, `6.5 sigma`,
/// `1.0.0+0 (0x01000000)` for the software version, the raw value in hex when the ID is
/// unknown or the value is not one of its type.
pub fn param_value_text(id: ParamId, raw: u32) -> String {
    let Some(def) = id.def() else { return format!("0x{raw:08X} (unknown parameter)") };
    if id == onboard::services::parameter::SW_VERSION {
        return format!("{} (0x{raw:08X})", version_text(raw));
    }
    match def.decode(raw) {
        Some(v) if def.unit.is_empty() => v.to_string(),
        Some(v) => format!("{v} {}", def.unit),
        None => format!("0x{raw:08X} (not a {} value)", def.ty.name()),
    }
}

/// The failure data of an ST\[01\] failure, reduced to what the unit puts in it for this code
/// (the per-family table of `docs/icd/services.md`), each field named for what it is:
/// `table crt, entry 7, field 2, value 300`, `memory bank-a, address 0x00000100`,
/// `parameter hk_period_ms, item 0, value 50 ms`, `TC 8,1, mode safe`. Fields the code leaves
/// unused are not shown; a code this software does not know shows every non-zero field.
pub fn failure_details(code: FailureCode, data: FailureData) -> String {
    use FailureCode as C;
    let FailureData { subject, index, field, value } = data;
    let mut parts: Vec<String> = Vec::new();
    parts.extend(failure_subject(code, subject));
    let hex32 = |v: u32| format!("0x{v:08X}");
    let mode = |v: u32| u8::try_from(v).map_or_else(|_| hex32(v), mode_name);
    match code {
        c if c.stage() == Stage::Acceptance && !matches!(c, C::Unknown(_)) => match c {
            C::FunctionUnknown => {}
            C::BadPec => parts.push(format!("computed PEC 0x{value:04X}")),
            _ if value != 0 => parts.push(format!("value {value} (0x{value:X})")),
            _ => {}
        },
        C::MemoryIdInvalid | C::AddressOutOfRange | C::WriteProtected | C::MemoryVerifyFailed => {
            parts.push(format!("address {}", hex32(value)))
        }
        C::DataCrcMismatch => parts.push(format!("computed CRC-32 {}", hex32(value))),
        C::NotArmed | C::ArmExpired => {}
        C::TableIdInvalid
        | C::SegmentOutOfRange
        | C::TableLoadConflict
        | C::NothingToValidate
        | C::NothingToActivate
        | C::TableCrcMismatch
        | C::TableInvalid
        | C::TableIncomplete => {
            if index != 0 || field != 0 {
                parts.push(format!("entry {index}"));
                parts.push(format!("field {field}"));
            }
            match code {
                C::TableCrcMismatch => parts.push(format!("computed CRC-32 {}", hex32(value))),
                C::SegmentOutOfRange | C::TableIncomplete => parts.push(format!("offset {value}")),
                _ if value != 0 => parts.push(format!("value {value}")),
                _ => {}
            }
        }
        C::ParameterUnknown | C::ParameterOutOfRange | C::ParameterReadOnly => {
            parts.push(format!("item {index}"));
            if code != C::ParameterUnknown {
                parts.push(format!("value {}", param_value_text(ParamId(subject), value)));
            }
        }
        C::ScheduleFull => parts.push(format!("item {index}")),
        C::ReleaseTimeInPast => {
            parts.push(format!("item {index}"));
            parts.push(format!("release time {value} s"));
        }
        C::ScheduledTcInvalid => {
            parts.push(format!("item {index}"));
            let inner =
                u16::try_from(value).map_or(FailureCode::Unknown(0), FailureCode::from_value);
            parts.push(format!("embedded TC refused: {}", inner.name()));
        }
        C::ModeTransitionRefused => parts.push(format!("to mode {}", mode(value))),
        C::BankImageInvalid => {
            let bank = u8::try_from(value).map_or_else(|_| hex32(value), bank_name);
            parts.push(format!("bank {bank}"));
        }
        C::NotAllowedInMode => parts.push(format!("in mode {}", mode(value))),
        C::SidUnknown | C::EventIdUnknown => parts.push(format!("item {index}")),
        C::DumpInterrupted => {
            parts.push(format!("subject 0x{subject:04X}"));
            parts.push(format!("step {index}"));
            parts.push(format!("next address or offset {}", hex32(value)));
        }
        _ => {
            if failure_subject(code, subject).is_none() && subject != 0 {
                parts.push(format!("subject 0x{subject:04X}"));
            }
            for (name, v) in [("index", u32::from(index)), ("field", u32::from(field))] {
                if v != 0 {
                    parts.push(format!("{name} {v}"));
                }
            }
            if value != 0 {
                parts.push(format!("value {value} (0x{value:X})"));
            }
        }
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_per_code_family() {
        assert_eq!(failure_subject(FailureCode::WriteProtected, 2).unwrap(), "memory bank-a");
        assert_eq!(
            failure_subject(FailureCode::ParameterReadOnly, 0x30).unwrap(),
            "parameter sw_version"
        );
        assert_eq!(failure_subject(FailureCode::NotArmed, 3).unwrap(), "function reset");
        assert_eq!(
            failure_subject(FailureCode::NotArmed, 0x0103).unwrap(),
            "arm target write-running-bank"
        );
        assert_eq!(failure_subject(FailureCode::EventIdUnknown, 0x99).unwrap(), "event 0x0099");
    }

    fn d(subject: u16, index: u16, field: u16, value: u32) -> FailureData {
        FailureData { subject, index, field, value }
    }

    #[test]
    fn failure_details_show_only_what_the_code_fills() {
        use FailureCode as C;
        assert_eq!(failure_details(C::NotArmed, d(3, 0, 0, 0)), "function reset");
        assert_eq!(
            failure_details(C::TableInvalid, d(3, 7, 2, 300)),
            "table crt, entry 7, field 2, value 300"
        );
        assert_eq!(failure_details(C::NothingToActivate, d(4, 0, 0, 0)), "table imt");
        assert_eq!(
            failure_details(C::WriteProtected, d(2, 0, 0, 0x100)),
            "memory bank-a, address 0x00000100"
        );
        assert_eq!(
            failure_details(C::ParameterOutOfRange, d(1, 0, 0, 50)),
            "parameter hk_period_ms, item 0, value 50 ms"
        );
        assert_eq!(
            failure_details(C::NotAllowedInMode, d(0xC801, 0, 0, 2)),
            "TC 200,1, in mode safe"
        );
        assert_eq!(failure_details(C::BadEnumValue, d(0x1403, 0, 0, 9)), "TC 20,3, value 9 (0x9)");
        assert_eq!(failure_details(C::Busy, d(0, 0, 0, 0)), "");
        assert_eq!(
            failure_details(C::Unknown(0x0999), d(0x1403, 1, 0, 0)),
            "subject 0x1403, index 1"
        );
    }
}
