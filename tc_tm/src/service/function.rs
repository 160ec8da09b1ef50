//! ST\[08\] function management (ECSS-E-ST-70-41C §6.8): 8,1 perform a function.
//!
//! Application data of 8,1: function ID (u8), then the function's arguments:
//!
//! | ID | function | arguments | critical |
//! |---|---|---|---|
//! | `0x01` | arm | target u8 ([`ArmTarget`]) | no |
//! | `0x02` | select boot bank | bank u8 ([`Bank`]) | **yes** |
//! | `0x03` | reset | none | **yes** |
//! | `0x04` | trigger enable | which u8 ([`TriggerSelect`]) | no |
//! | `0x05` | trigger disable | which u8 ([`TriggerSelect`]) | no |
//! | `0x06` | change mode | mode u8 ([`Mode`]) | no |
//! | `0x07` | clear counters | none | no |
//!
//! Critical functions (`ICD.md` §3) are refused with `not_armed` unless an arm TC for the same
//! target was executed less than the arm timeout (parameter `arm_timeout_ms`) before; one arm
//! allows one execution. Arm target [`ArmTarget::WriteRunningBank`] is not a function: it
//! allows the next ST\[06\] 6,2 load into the memory ID of the bank the unit is running from
//! (all other 6,2 loads into that bank are refused with `write_protected`).

use super::Error;
use super::wire::{Reader, emit_with, parse_all};

/// Service type number.
pub const SERVICE: u8 = 8;

wire_enum! {
    /// Function identifiers of 8,1.
    pub enum FunctionId: "function_id" {
        /// Arm a critical function.
        Arm = 0x01, "arm";
        /// Select the bank the unit boots next (critical).
        SelectBootBank = 0x02, "select-boot-bank";
        /// Reset the unit through the boot software (critical).
        Reset = 0x03, "reset";
        /// Enable triggers.
        TriggerEnable = 0x04, "trigger-enable";
        /// Disable triggers.
        TriggerDisable = 0x05, "trigger-disable";
        /// Change the unit mode.
        ChangeMode = 0x06, "mode";
        /// Clear the TC counters of housekeeping.
        ClearCounters = 0x07, "clear-counters";
    }
}

impl FunctionId {
    /// Whether the function must be armed first (`ICD.md` §3).
    pub const fn is_critical(self) -> bool {
        matches!(self, FunctionId::SelectBootBank | FunctionId::Reset)
    }
}

wire_enum! {
    /// What an arm TC arms: the critical operations of `ICD.md` §3.
    pub enum ArmTarget: "arm_target" {
        /// The select-boot-bank function.
        SelectBootBank = 0x01, "select-boot-bank";
        /// The reset function.
        Reset = 0x02, "reset";
        /// One ST\[06\] load into the bank the unit is running from.
        WriteRunningBank = 0x03, "write-running-bank";
    }
}

wire_enum! {
    /// Application image banks.
    pub enum Bank: "bank" {
        /// Application bank A.
        A = 0x01, "A";
        /// Application bank B.
        B = 0x02, "B";
    }
}

impl Bank {
    /// The other bank (the fallback).
    pub const fn other(self) -> Bank {
        match self {
            Bank::A => Bank::B,
            Bank::B => Bank::A,
        }
    }
}

wire_enum! {
    /// Which trigger a trigger enable/disable acts on.
    pub enum TriggerSelect: "trigger" {
        /// Count-Rate Trigger.
        Crt = 0x01, "crt";
        /// Image Trigger.
        Imt = 0x02, "imt";
        /// Both.
        Both = 0x03, "both";
    }
}

wire_enum! {
    /// Unit modes.
    ///
    /// - `boot`: boot software; only ST\[06\], ST\[08\] select-boot-bank/reset and ST\[17\] run.
    ///   Entered at power-on and reset, left for `safe` when an application image boots.
    /// - `safe`: application running, detector off, trigger off; any mode can go to safe.
    /// - `standby`: detector on, acquisition on, trigger off.
    /// - `observation`: acquisition and trigger on; alerts are issued.
    /// - `maintenance`: as safe, plus table loads and arming of running-bank writes; entered
    ///   from safe only.
    pub enum Mode: "mode" {
        /// Boot software.
        Boot = 0x01, "boot";
        /// Safe mode.
        Safe = 0x02, "safe";
        /// Detector on, trigger off.
        Standby = 0x03, "standby";
        /// Nominal science mode.
        Observation = 0x04, "observation";
        /// Maintenance: loads and patches.
        Maintenance = 0x05, "maintenance";
    }
}

/// A function with its arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Function {
    /// Arm a critical operation.
    Arm(ArmTarget),
    /// Boot this bank next time (critical).
    SelectBootBank(Bank),
    /// Reset the unit (critical).
    Reset,
    /// Enable a trigger.
    TriggerEnable(TriggerSelect),
    /// Disable a trigger.
    TriggerDisable(TriggerSelect),
    /// Change mode.
    ChangeMode(Mode),
    /// Clear the TC counters.
    ClearCounters,
}

impl Function {
    /// The function ID.
    pub const fn id(&self) -> FunctionId {
        match self {
            Function::Arm(_) => FunctionId::Arm,
            Function::SelectBootBank(_) => FunctionId::SelectBootBank,
            Function::Reset => FunctionId::Reset,
            Function::TriggerEnable(_) => FunctionId::TriggerEnable,
            Function::TriggerDisable(_) => FunctionId::TriggerDisable,
            Function::ChangeMode(_) => FunctionId::ChangeMode,
            Function::ClearCounters => FunctionId::ClearCounters,
        }
    }

    /// Whether the function must be armed first.
    pub const fn is_critical(&self) -> bool {
        self.id().is_critical()
    }

    /// The arm target a critical function needs, `None` for non-critical ones.
    pub const fn arm_target(&self) -> Option<ArmTarget> {
        match self {
            Function::SelectBootBank(_) => Some(ArmTarget::SelectBootBank),
            Function::Reset => Some(ArmTarget::Reset),
            _ => None,
        }
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(match FunctionId::read(r)? {
            FunctionId::Arm => Function::Arm(ArmTarget::read(r)?),
            FunctionId::SelectBootBank => Function::SelectBootBank(Bank::read(r)?),
            FunctionId::Reset => Function::Reset,
            FunctionId::TriggerEnable => Function::TriggerEnable(TriggerSelect::read(r)?),
            FunctionId::TriggerDisable => Function::TriggerDisable(TriggerSelect::read(r)?),
            FunctionId::ChangeMode => Function::ChangeMode(Mode::read(r)?),
            FunctionId::ClearCounters => Function::ClearCounters,
        })
    }

    fn arg(&self) -> Option<u8> {
        match self {
            Function::Arm(t) => Some(t.value()),
            Function::SelectBootBank(b) => Some(b.value()),
            Function::TriggerEnable(t) | Function::TriggerDisable(t) => Some(t.value()),
            Function::ChangeMode(m) => Some(m.value()),
            Function::Reset | Function::ClearCounters => None,
        }
    }
}

/// ST\[08\] requests.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Request {
    /// 8,1: perform a function.
    Perform(Function),
}

impl Request {
    /// Parses the application data of subtype `subtype`.
    ///
    /// # Errors
    /// [`Error::UnknownSubtype`]; [`Error::BadValue`] with field `function_id` for an undefined
    /// function, or the argument's field; [`Error::Truncated`]; [`Error::TrailingData`].
    pub fn parse(subtype: u8, data: &[u8]) -> Result<Self, Error> {
        match subtype {
            1 => parse_all(data, |r| Function::read(r).map(Request::Perform)),
            _ => Err(Error::UnknownSubtype { service: SERVICE, subtype }),
        }
    }

    /// Subtype number.
    pub fn subtype(&self) -> u8 {
        match self {
            Request::Perform(_) => 1,
        }
    }

    /// Octets of application data.
    pub fn buffer_len(&self) -> usize {
        match self {
            Request::Perform(f) => 1 + usize::from(f.arg().is_some()),
        }
    }

    /// Writes the application data into `out`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`].
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        emit_with(out, self.buffer_len(), |w| match self {
            Request::Perform(f) => {
                w.u8(f.id().value())?;
                match f.arg() {
                    Some(a) => w.u8(a),
                    None => Ok(()),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_known_vectors() {
        let cases: [(&[u8], Function); 7] = [
            (&[0x01, 0x03], Function::Arm(ArmTarget::WriteRunningBank)),
            (&[0x02, 0x02], Function::SelectBootBank(Bank::B)),
            (&[0x03], Function::Reset),
            (&[0x04, 0x01], Function::TriggerEnable(TriggerSelect::Crt)),
            (&[0x05, 0x03], Function::TriggerDisable(TriggerSelect::Both)),
            (&[0x06, 0x04], Function::ChangeMode(Mode::Observation)),
            (&[0x07], Function::ClearCounters),
        ];
        for (bytes, f) in cases {
            let r = Request::parse(1, bytes).unwrap();
            assert_eq!(r, Request::Perform(f));
            let mut out = [0u8; 4];
            let n = r.emit(&mut out).unwrap();
            assert_eq!(&out[..n], bytes);
        }
    }

    #[test]
    fn critical_functions() {
        assert!(Function::Reset.is_critical());
        assert!(Function::SelectBootBank(Bank::A).is_critical());
        assert_eq!(Function::Reset.arm_target(), Some(ArmTarget::Reset));
        assert!(!Function::Arm(ArmTarget::Reset).is_critical());
        assert!(!Function::ClearCounters.is_critical());
    }

    #[test]
    fn bad_values() {
        assert_eq!(
            Request::parse(1, &[0x09]).unwrap_err(),
            Error::BadValue { field: "function_id", value: 9 }
        );
        assert_eq!(
            Request::parse(1, &[0x02, 0x03]).unwrap_err(),
            Error::BadValue { field: "bank", value: 3 }
        );
        assert_eq!(
            Request::parse(1, &[0x01, 0x00]).unwrap_err(),
            Error::BadValue { field: "arm_target", value: 0 }
        );
    }

    #[test]
    fn truncated_and_trailing() {
        assert_eq!(
            Request::parse(1, &[0x02]).unwrap_err(),
            Error::Truncated { found: 1, expected: 2 }
        );
        assert_eq!(Request::parse(1, &[]).unwrap_err(), Error::Truncated { found: 0, expected: 1 });
        assert_eq!(
            Request::parse(1, &[0x03, 0x00]).unwrap_err(),
            Error::TrailingData { found: 2, expected: 1 }
        );
        assert!(matches!(Request::parse(2, &[0x03]), Err(Error::UnknownSubtype { .. })));
    }

    #[test]
    fn names() {
        assert_eq!(Bank::from_name("b"), Some(Bank::B));
        assert_eq!(Mode::from_name("observation"), Some(Mode::Observation));
        assert_eq!(Bank::A.other(), Bank::B);
    }
}
