//! ST\[03\] housekeeping: the SID 1 report (3,25, layout in `docs/icd/services.md`), its
//! periodic generation (3,5 / 3,6, on at boot, period `hk_period_ms`), one-shot reports
//! (3,27) and the interval (3,31, which sets `hk_period_ms`).
//!
//! Every item of a request is checked before any is applied: an undefined SID gives
//! `sid_unknown` (subject SID, index item), an interval outside the `hk_period_ms` range
//! `parameter_out_of_range` (subject `0x0001`, index item, value the interval).

use tc_tm::service::function::{Bank as WireBank, Mode};
use tc_tm::service::housekeeping::{
    self as wire, HK_TABLE_SLOTS, HkReport, HkTable, HousekeepingReport, Sid,
};
use tc_tm::service::parameter::ParamId;
use tc_tm::service::{FailureCode, Report};

use super::parameter::HK_PERIOD_MS;
use super::{Done, Exec, Verif};
use crate::failure::Failure;
use crate::link::{self, Channel};
use crate::storage::{Bank, Storage};
use crate::unit::Unit;

fn check_sid(sid: Sid, index: u16) -> Result<(), Failure> {
    if sid == Sid::UGTS {
        Ok(())
    } else {
        Err(Failure::new(FailureCode::SidUnknown, sid.0, index, 0, 0))
    }
}

impl<S: Storage> Unit<S> {
    pub(crate) fn st03(&mut self, v: &mut Verif, r: wire::Request<'_>) -> Exec {
        match r {
            wire::Request::EnablePeriodic(sids) | wire::Request::DisablePeriodic(sids) => {
                for (i, sid) in (0u16..).zip(sids.iter()) {
                    check_sid(sid, i)?;
                }
                let enable = matches!(r, wire::Request::EnablePeriodic(_));
                if enable && !self.app.hk_periodic {
                    self.app.hk_next = self.now.ticks().saturating_add(self.hk_period_ticks());
                }
                self.app.hk_periodic = enable;
                Ok(Done::Completed)
            }
            wire::Request::OneShot(sids) => {
                for (i, sid) in (0u16..).zip(sids.iter()) {
                    check_sid(sid, i)?;
                }
                self.start(v);
                for _ in sids.iter() {
                    self.send_hk(v.dest);
                }
                Ok(Done::Completed)
            }
            wire::Request::ModifyInterval(items) => {
                let def = HK_PERIOD_MS.def().ok_or(Failure::internal(3))?;
                for (i, item) in (0u16..).zip(items.iter()) {
                    check_sid(item.sid, i)?;
                    if !def.in_range(item.interval_ms) {
                        return Err(Failure::new(
                            FailureCode::ParameterOutOfRange,
                            HK_PERIOD_MS.0,
                            i,
                            0,
                            item.interval_ms,
                        ));
                    }
                }
                self.start(v);
                for item in items.iter() {
                    let old = self.app.params.set(HK_PERIOD_MS, item.interval_ms).unwrap_or(0);
                    if old != item.interval_ms {
                        self.parameter_changed(ParamId(HK_PERIOD_MS.0), old, item.interval_ms);
                    }
                }
                Ok(Done::Completed)
            }
            _ => Err(Failure::about(FailureCode::UnknownSubtype, 3 << 8, 0)),
        }
    }

    /// Queues one SID 1 report (3,25) for `dest` (0 for the periodic report).
    pub(crate) fn send_hk(&mut self, dest: u16) {
        let hk = self.hk_report();
        let report = Report::Housekeeping(wire::Report::Housekeeping(HousekeepingReport::Ugts(hk)));
        self.send(Channel::Hk, dest, &report);
    }

    /// The SID 1 parameters now.
    pub fn hk_report(&self) -> HkReport {
        let app = &self.app;
        let now = self.now.ticks();
        let boot = app.boot;
        let wire_bank = |b: Bank| match b {
            Bank::A => WireBank::A,
            Bank::B => WireBank::B,
        };
        let (boot_bank, boot_fallback) = match boot.map(|b| b.outcome) {
            Some(crate::boot::BootOutcome::Nominal { bank, .. }) => (wire_bank(bank), false),
            Some(crate::boot::BootOutcome::Fallback { bank, .. }) => (wire_bank(bank), true),
            Some(crate::boot::BootOutcome::NoBootableImage { selected, .. }) => {
                (wire_bank(selected), true)
            }
            None => (WireBank::A, true),
        };
        let image = boot.and_then(|b| b.running_image());
        let mut tables = [HkTable::default(); HK_TABLE_SLOTS];
        let directory = self.table_directory();
        let mut table_count = 0u8;
        for (slot, entry) in tables.iter_mut().zip(directory.iter().flatten()) {
            *slot = HkTable {
                table_id: entry.table_id,
                active_version: entry.active_version,
                active_crc: entry.active_crc,
                inactive_state: entry.inactive_state,
            };
            table_count += 1;
        }
        let trigger_hk = self.trigger.hk();
        let in_saa = trigger_hk.in_saa;
        let (armed, arm_remaining_ms) = match app.armed {
            Some(a) => (Some(a.target), link::ticks_to_ms(a.expires.saturating_sub(now))),
            None => (None, 0),
        };
        HkReport {
            mode: app.mode,
            boot_bank,
            boot_fallback,
            sw_version: image.map_or(0, |i| i.sw_version.0),
            image_crc: image.map_or(0, |i| i.payload_crc),
            tc_accepted: app.hk_counters.accepted,
            tc_rejected: app.hk_counters.rejected,
            tc_executed: app.hk_counters.executed,
            tc_failed: app.hk_counters.failed,
            last_failure: FailureCode::from_value(app.hk_counters.last_failure),
            farm_vr: self.farm.v_r(),
            farm_lockout: self.farm.state() == tc_tm::cop1::farm::State::Lockout,
            farm_lockout_count: app.farm_lockout_count,
            table_count,
            tables,
            crt_enabled: app.crt_enabled,
            imt_enabled: app.imt_enabled,
            saa_inhibited: in_saa && self.param(ParamId(0x0012)) != 0,
            in_saa,
            sector_rates: trigger_hk.sector_rates,
            armed,
            arm_remaining_ms: u32::try_from(arm_remaining_ms).unwrap_or(u32::MAX),
            schedule_enabled: app.schedule.enabled(),
            schedule_entries: u16::try_from(app.schedule.len()).unwrap_or(u16::MAX),
            uptime_s: u32::try_from(now.saturating_sub(app.boot_ticks) >> 16).unwrap_or(u32::MAX),
        }
    }

    /// Whether the trigger runs (observation mode with a trigger enabled).
    pub fn trigger_active(&self) -> bool {
        self.app.mode == Mode::Observation && (self.app.crt_enabled || self.app.imt_enabled)
    }
}
