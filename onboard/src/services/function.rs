//! ST\[08\] function management (8,1): arm, select-boot-bank, reset, trigger enable/disable,
//! mode, clear-counters (`docs/icd/services.md`, function table).
//!
//! **Critical functions.** `select-boot-bank` and `reset` (and a 6,2 load into the running
//! bank, target `write-running-bank`) run only if an `arm` TC for the same target executed
//! less than `arm_timeout_ms` before. One arming allows one execution; a new `arm` replaces
//! the previous one. A critical TC for another target than the armed one is refused with
//! `not_armed` and leaves the arming in place; one that arrives after the expiry gets
//! `arm_expired` (the expiry itself raises `arm-expired`). Failure data: subject = function
//! ID, or `0x0100 + target` for running-bank writes.
//!
//! **Modes.** `safe` from any mode; `standby` from safe or observation; `observation` from
//! standby; `maintenance` from safe; `boot` is never commandable. A refused transition gives
//! `mode_transition_refused` (value: the mode asked); the current mode is accepted and changes
//! nothing.

use tc_tm::service::FailureCode;
use tc_tm::service::event::EventId;
use tc_tm::service::function::{ArmTarget, Bank as WireBank, Function, Mode, TriggerSelect};

use super::parameter::ARM_TIMEOUT_MS;
use super::{Done, Exec, Verif};
use crate::boot;
use crate::failure::Failure;
use crate::link;
use crate::storage::{Bank, Storage};
use crate::unit::{Arming, HkCounters, Unit};

/// Whether `to` may follow `from`.
pub const fn transition_allowed(from: Mode, to: Mode) -> bool {
    matches!(
        (from, to),
        (_, Mode::Safe)
            | (Mode::Safe | Mode::Observation | Mode::Standby, Mode::Standby)
            | (Mode::Standby | Mode::Observation, Mode::Observation)
            | (Mode::Safe | Mode::Maintenance, Mode::Maintenance)
    ) && !matches!(from, Mode::Boot)
}

fn storage_bank(b: WireBank) -> Bank {
    match b {
        WireBank::A => Bank::A,
        WireBank::B => Bank::B,
    }
}

impl<S: Storage> Unit<S> {
    pub(crate) fn st08(&mut self, v: &mut Verif, f: Function) -> Exec {
        let fid = u16::from(f.id().value());
        match f {
            Function::Arm(target) => {
                let timeout_ms = self.param(ARM_TIMEOUT_MS);
                let expires =
                    self.now.ticks().saturating_add(link::ms_to_ticks(u64::from(timeout_ms)));
                self.app.armed = Some(Arming { target, expires });
                self.app.last_expired = None;
                let [a, b, c, d] = timeout_ms.to_be_bytes();
                self.raise(EventId::CriticalArmed, &[target.value(), a, b, c, d]);
                Ok(Done::Completed)
            }
            Function::SelectBootBank(bank) => {
                self.check_armed(ArmTarget::SelectBootBank, fid)?;
                boot::check_bank(&self.storage, storage_bank(bank)).map_err(|_| {
                    Failure::about(FailureCode::BankImageInvalid, fid, u32::from(bank.value()))
                })?;
                self.app.armed = None;
                self.start(v);
                boot::select_boot_bank(&mut self.storage, storage_bank(bank))
                    .map_err(|e| Failure::internal(crate::failure::storage_error_value(e)))?;
                self.raise(EventId::BootBankSelected, &[bank.value()]);
                self.raise(EventId::CriticalExecuted, &[ArmTarget::SelectBootBank.value()]);
                Ok(Done::Completed)
            }
            Function::Reset => {
                self.check_armed(ArmTarget::Reset, fid)?;
                self.app.armed = None;
                self.start(v);
                self.raise(EventId::CriticalExecuted, &[ArmTarget::Reset.value()]);
                self.app.reset_pending = true;
                Ok(Done::Deferred)
            }
            Function::TriggerEnable(which) | Function::TriggerDisable(which) => {
                let on = matches!(f, Function::TriggerEnable(_));
                if matches!(which, TriggerSelect::Crt | TriggerSelect::Both) {
                    self.app.crt_enabled = on;
                }
                if matches!(which, TriggerSelect::Imt | TriggerSelect::Both) {
                    self.app.imt_enabled = on;
                }
                let id = if on { EventId::TriggerEnabled } else { EventId::TriggerDisabled };
                self.raise(id, &[which.value()]);
                Ok(Done::Completed)
            }
            Function::ChangeMode(mode) => {
                let from = self.app.mode;
                if from == mode {
                    return Ok(Done::Completed);
                }
                if !transition_allowed(from, mode) {
                    return Err(Failure::about(
                        FailureCode::ModeTransitionRefused,
                        fid,
                        u32::from(mode.value()),
                    ));
                }
                self.app.mode = mode;
                self.raise(EventId::ModeChanged, &[from.value(), mode.value()]);
                Ok(Done::Completed)
            }
            Function::ClearCounters => {
                self.app.hk_counters = HkCounters::default();
                self.raise(EventId::CountersCleared, &[]);
                Ok(Done::Completed)
            }
        }
    }

    /// Checks that `target` is armed and not expired (the arming is not consumed).
    ///
    /// # Errors
    /// `arm_expired` if the last arming of `target` expired unused, else `not_armed`.
    pub(crate) fn check_armed(&self, target: ArmTarget, subject: u16) -> Result<(), Failure> {
        match self.app.armed {
            Some(a) if a.target == target && self.now.ticks() < a.expires => Ok(()),
            Some(a) if a.target == target => {
                Err(Failure::about(FailureCode::ArmExpired, subject, 0))
            }
            None if self.app.last_expired == Some(target) => {
                Err(Failure::about(FailureCode::ArmExpired, subject, 0))
            }
            _ => Err(Failure::about(FailureCode::NotArmed, subject, 0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_diagram() {
        use Mode::*;
        assert!(transition_allowed(Observation, Safe));
        assert!(transition_allowed(Safe, Standby));
        assert!(transition_allowed(Standby, Observation));
        assert!(!transition_allowed(Safe, Observation));
        assert!(transition_allowed(Safe, Maintenance));
        assert!(!transition_allowed(Standby, Maintenance));
        assert!(!transition_allowed(Safe, Boot));
        assert!(!transition_allowed(Boot, Safe));
    }
}
