//! ST\[20\] on-board parameters: report (20,1 → 20,2) and set (20,3) the values of the
//! registry `tc_tm::service::parameter::PARAMETERS`.
//!
//! Values are volatile: a reset or power-on restores the defaults. A set checks every item
//! (`parameter::check`: unknown, read-only, out of range) before applying any; each changed
//! value raises `parameter-changed`. `crt_enabled` and `imt_enabled` also switch the trigger
//! at once; `hk_period_ms` restarts the periodic report period.

use tc_tm::service::event::EventId;
use tc_tm::service::parameter::{self as wire, PARAMETERS, ParamEntry, ParamId};
use tc_tm::service::{FailureCode, List, Report};

use super::{Done, Exec, Verif};
use crate::failure::Failure;
use crate::link::Channel;
use crate::storage::Storage;
use crate::unit::Unit;

/// `hk_period_ms`.
pub const HK_PERIOD_MS: ParamId = ParamId(0x0001);
/// `arm_timeout_ms`.
pub const ARM_TIMEOUT_MS: ParamId = ParamId(0x0002);
/// `tm_flush_timeout_ms`.
pub const TM_FLUSH_TIMEOUT_MS: ParamId = ParamId(0x0003);
/// `idle_frame_period_ms`.
pub const IDLE_FRAME_PERIOD_MS: ParamId = ParamId(0x0004);
/// `time_correction_ms`.
pub const TIME_CORRECTION_MS: ParamId = ParamId(0x0005);
/// `crt_enabled`.
pub const CRT_ENABLED: ParamId = ParamId(0x0010);
/// `saa_inhibit`.
pub const SAA_INHIBIT: ParamId = ParamId(0x0012);
/// `alert_min_snr`.
pub const ALERT_MIN_SNR: ParamId = ParamId(0x0020);
/// `imt_enabled`.
pub const IMT_ENABLED: ParamId = ParamId(0x0011);
/// `sw_version` (read-only: the running image's version).
pub const SW_VERSION: ParamId = ParamId(0x0030);

/// Number of parameters of the registry.
pub const PARAM_COUNT: usize = PARAMETERS.len();

/// The current raw values, in registry order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    raw: [u32; PARAM_COUNT],
}

impl Params {
    /// The registry defaults.
    pub fn defaults() -> Self {
        let mut raw = [0u32; PARAM_COUNT];
        for (slot, def) in raw.iter_mut().zip(PARAMETERS) {
            *slot = def.default.raw();
        }
        Params { raw }
    }

    fn index(id: ParamId) -> Option<usize> {
        PARAMETERS.iter().position(|p| p.id == id)
    }

    /// The raw value of `id`, `None` if not in the registry.
    pub fn get(&self, id: ParamId) -> Option<u32> {
        self.raw.get(Self::index(id)?).copied()
    }

    /// Sets the raw value of `id` (no range check: callers check first). Returns the old
    /// value, `None` if the ID is not in the registry.
    pub fn set(&mut self, id: ParamId, raw: u32) -> Option<u32> {
        let slot = self.raw.get_mut(Self::index(id)?)?;
        Some(core::mem::replace(slot, raw))
    }
}

impl<S: Storage> Unit<S> {
    pub(crate) fn st20(&mut self, v: &mut Verif, r: wire::Request<'_>) -> Exec {
        match r {
            wire::Request::Report(ids) => {
                for (i, id) in (0u16..).zip(ids.iter()) {
                    if id.def().is_none() {
                        return Err(unknown(id, i));
                    }
                }
                let mut items = [ParamEntry { id: ParamId(0), raw: 0 }; wire::MAX_PARAMS];
                for (slot, id) in items.iter_mut().zip(ids.iter()) {
                    *slot = ParamEntry { id, raw: self.param_value(id) };
                }
                let mut buf = [0u8; wire::MAX_PARAMS * 6];
                let n = ids.len().min(items.len());
                let list = List::encode_into(items.get(..n).unwrap_or_default(), &mut buf)
                    .map_err(|_| Failure::internal(20))?;
                self.start(v);
                self.send(Channel::Hk, v.dest, &Report::Parameter(wire::Report::Values(list)));
                Ok(Done::Completed)
            }
            wire::Request::Set(entries) => {
                for (i, e) in (0u16..).zip(entries.iter()) {
                    if let Err(code) = wire::check(e.id, e.raw) {
                        return Err(Failure::new(code, e.id.0, i, 0, e.raw));
                    }
                }
                self.start(v);
                for e in entries.iter() {
                    let old = self.app.params.set(e.id, e.raw).unwrap_or(0);
                    if old != e.raw {
                        self.parameter_changed(e.id, old, e.raw);
                    }
                }
                Ok(Done::Completed)
            }
            _ => Err(Failure::about(FailureCode::UnknownSubtype, 20 << 8, 0)),
        }
    }

    /// Applies the side effects of a changed parameter and raises `parameter-changed`.
    pub(crate) fn parameter_changed(&mut self, id: ParamId, old: u32, new: u32) {
        match id {
            CRT_ENABLED => self.app.crt_enabled = new != 0,
            IMT_ENABLED => self.app.imt_enabled = new != 0,
            HK_PERIOD_MS => {
                self.app.hk_next = self.now.ticks().saturating_add(self.hk_period_ticks());
            }
            _ => {}
        }
        let [a, b] = id.0.to_be_bytes();
        let [c, d, e, f] = old.to_be_bytes();
        let [g, h, i, j] = new.to_be_bytes();
        self.raise(EventId::ParameterChanged, &[a, b, c, d, e, f, g, h, i, j]);
    }

    /// The value reported for `id`: the read-only `sw_version` comes from the running image.
    fn param_value(&self, id: ParamId) -> u32 {
        if id == SW_VERSION {
            return self.app.boot.and_then(|b| b.running_image()).map_or(0, |i| i.sw_version.0);
        }
        self.param(id)
    }
}

fn unknown(id: ParamId, index: u16) -> Failure {
    Failure::new(FailureCode::ParameterUnknown, id.0, index, 0, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_set() {
        let mut p = Params::defaults();
        assert_eq!(p.get(HK_PERIOD_MS), Some(1000));
        assert_eq!(p.get(ARM_TIMEOUT_MS), Some(30_000));
        assert_eq!(p.get(ParamId(0x7777)), None);
        assert_eq!(p.set(HK_PERIOD_MS, 2000), Some(1000));
        assert_eq!(p.get(HK_PERIOD_MS), Some(2000));
        assert_eq!(p.set(ParamId(0x7777), 1), None);
    }
}
