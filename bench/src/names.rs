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
}
