//! The UGTS unit: serial octets in, CADUs out, with on-board time injected.
//!
//! ```text
//! receive_uplink ─► CLTU decoder ─► TC frame + FARM-1 ─► acceptance ─► ST[xx] service
//!                       (link)          (link)          (services)        │ reports
//! next_cadu ◄─ CADU ◄─ AOS frame + CLCW ◄─ VC queues (alerts, HK, dumps) ◄─┘
//! tick ─► periodic HK, ST[11] releases, arming expiry, flush timeout
//! ```
//!
//! [`Unit`] is generic over its [`Storage`] and owns it; everything else it holds is fixed
//! size (capacities in [`crate::limits`]). Nothing reads a clock: on-board time comes in with
//! [`Unit::power_on`], [`Unit::tick`] and [`Unit::next_cadu`], and TCs arriving with
//! [`Unit::receive_uplink`] execute at the last time given, so a run is reproducible octet for
//! octet. `docs/icd/unit.md` is the reference for the behaviour on the link.
//!
//! **Link layer and application.** The CLTU decoder, FARM-1, the downlink queues and VC frame
//! counts model the unit's hardware TC decoder and TM encoder: a TC `reset` (ST\[8\]) restarts
//! the application (services, counters, schedule, parameters, arming, table loads, boot logic)
//! but not the link, so reports already queued still go out and the bench's FOP-1 stays in
//! step. [`Unit::power_on`] starts everything afresh.

use tc_tm::cltu::{self, StreamDecoder};
use tc_tm::cop1::farm::{DiscardReason, Farm, State};
use tc_tm::mission::{self, CADU_LEN};
use tc_tm::pus::Cuc;
use tc_tm::service::Report;
use tc_tm::service::event::{EventId, EventReport};
use tc_tm::service::function::{ArmTarget, Bank as WireBank, Mode};
use tc_tm::service::parameter::ParamId;

use crate::boot::{self, BootOutcome, BootReport};
use crate::limits::{MAX_TM_SOURCE_DATA_LEN, UNIT_TABLES};
use crate::link::{self, Channel, Downlink, FrameAccepted, FrameDiscard, QueueError};
use crate::services::SERVICES;
use crate::services::dump::DumpJob;
use crate::services::parameter::{self, Params};
use crate::services::schedule::Schedule;
use crate::services::table::{self as table_service, TableMeta};
use crate::storage::{Bank, Storage};
use crate::table_store::TableStore;
use crate::trigger::{ActiveTables, Trigger};

/// TC counts of one service since power-on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServiceCounters {
    /// TCs accepted.
    pub accepted: u32,
    /// TCs rejected at acceptance (with a readable request ID).
    pub rejected: u32,
    /// TCs completed successfully.
    pub executed: u32,
    /// TCs failed at start, progress or completion.
    pub failed: u32,
}

/// Counters since power-on, for tests and the twin. The housekeeping counters (SID 1) are
/// separate: 16-bit, cleared by `clear-counters` and by a reset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Uplink octets received.
    pub uplink_octets: u64,
    /// CLTUs decoded (tail reached).
    pub cltus: u32,
    /// CLTUs abandoned (uncorrectable block, too long, empty).
    pub cltu_errors: u32,
    /// Bits corrected by the BCH decoder.
    pub corrected_bits: u32,
    /// Frames rejected by the frame layer (FECF, length, version, type, BC command).
    pub frames_invalid: u32,
    /// Frames of another spacecraft.
    pub frames_wrong_scid: u32,
    /// Frames of another virtual channel.
    pub frames_wrong_vcid: u32,
    /// Data frames of another MAP.
    pub frames_wrong_map: u32,
    /// Frames discarded by FARM-1.
    pub farm_discarded: u32,
    /// Times FARM-1 entered lockout.
    pub farm_lockouts: u32,
    /// BC frames executed (Unlock, Set V(R)).
    pub control_frames: u32,
    /// TC packets delivered by frames.
    pub packets: u32,
    /// TCs accepted.
    pub tc_accepted: u32,
    /// TCs rejected at acceptance, reported with a 1,2.
    pub tc_rejected: u32,
    /// TCs rejected without a report (fewer than 4 octets: no request ID).
    pub tc_unreported: u32,
    /// TCs completed successfully.
    pub tc_executed: u32,
    /// TCs failed at start, progress or completion.
    pub tc_failed: u32,
    /// Per service, in the order of [`crate::services::SERVICES`], then every other service.
    pub per_service: [ServiceCounters; SERVICES.len() + 1],
    /// Time-tagged TCs released by the schedule.
    pub schedule_released: u32,
    /// TM packets queued, per channel (VC 0, 1, 2).
    pub tm_packets: [u32; 3],
    /// TM packets lost because their queue was full, per channel.
    pub tm_lost: [u32; 3],
    /// CADUs sent (idle frames included).
    pub cadus: u32,
    /// Idle frames sent.
    pub idle_frames: u32,
    /// Application restarts by TC.
    pub resets: u32,
    /// Frames dropped while a restart through the boot loader was pending
    /// ([`crate::handover`]).
    pub frames_dropped_restarting: u32,
    /// Stimulus octets received.
    pub stimulus_octets: u64,
    /// Stimulus packets accepted by the trigger's intake.
    pub stimulus_accepted: u32,
    /// Stimulus packets refused (well framed but malformed, out of time order, wrong kind).
    pub stimulus_rejected: u32,
    /// Stimulus frames found broken (header or CRC) and skipped.
    pub stimulus_malformed: u32,
    /// Detector events received while the trigger did not use them (mode other than
    /// observation, trigger disabled, SAA, tables missing) or DPIX rejected them.
    pub stimulus_events_ignored: u64,
    /// Trigger alerts issued (ST\[201,1\] queued or lost).
    pub alerts: u32,
}

impl Counters {
    /// The counters of one service type (`None` for a service the unit does not have).
    pub fn service(&self, service: u8) -> Option<&ServiceCounters> {
        let i = SERVICES.iter().position(|&s| s == service)?;
        self.per_service.get(i)
    }
}

/// The housekeeping counters of SID 1 (16-bit, wrapping).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct HkCounters {
    pub accepted: u16,
    pub rejected: u16,
    pub executed: u16,
    pub failed: u16,
    pub last_failure: u16,
}

/// An armed critical operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Arming {
    pub target: ArmTarget,
    /// Tick at which the arming expires.
    pub expires: u64,
}

/// The application state: volatile, rebuilt by a reset.
#[derive(Clone, Debug)]
pub(crate) struct App {
    pub boot: Option<BootReport>,
    pub boot_ticks: u64,
    pub mode: Mode,
    pub params: Params,
    pub hk_periodic: bool,
    pub hk_next: u64,
    pub events_disabled: u32,
    pub armed: Option<Arming>,
    /// The target of the last arming that expired unused (cleared by the next arm).
    pub last_expired: Option<ArmTarget>,
    pub crt_enabled: bool,
    pub imt_enabled: bool,
    pub schedule: Schedule,
    pub dump: Option<DumpJob>,
    pub hk_counters: HkCounters,
    pub farm_lockout_count: u16,
    pub tables: Option<TableStore<UNIT_TABLES>>,
    pub table_meta: [TableMeta; UNIT_TABLES],
    pub reset_pending: bool,
    /// Packets lost per channel since the last `tm-overflow` event.
    pub tm_lost: [u16; 3],
}

impl App {
    fn new() -> Self {
        let mut app = App { schedule: Schedule::new(), ..App::blank() };
        app.reset();
        app
    }

    /// Every field at its boot value, except the schedule (cleared in place by `reset`).
    fn blank() -> Self {
        App {
            boot: None,
            boot_ticks: 0,
            mode: Mode::Boot,
            params: Params::defaults(),
            hk_periodic: true,
            hk_next: 0,
            events_disabled: 0,
            armed: None,
            last_expired: None,
            crt_enabled: true,
            imt_enabled: true,
            schedule: Schedule::EMPTY,
            dump: None,
            hk_counters: HkCounters::default(),
            farm_lockout_count: 0,
            tables: None,
            table_meta: [TableMeta::default(); UNIT_TABLES],
            reset_pending: false,
            tm_lost: [0; 3],
        }
    }

    /// Back to the boot values in place (the schedule pool is not moved), keeping the count
    /// of lost TM not yet reported.
    fn reset(&mut self) {
        self.boot = None;
        self.boot_ticks = 0;
        self.mode = Mode::Boot;
        self.params = Params::defaults();
        self.hk_periodic = true;
        self.hk_next = 0;
        self.events_disabled = 0;
        self.armed = None;
        self.last_expired = None;
        self.crt_enabled = true;
        self.imt_enabled = true;
        self.schedule.clear();
        self.dump = None;
        self.hk_counters = HkCounters::default();
        self.farm_lockout_count = 0;
        self.tables = None;
        self.table_meta = [TableMeta::default(); UNIT_TABLES];
        self.reset_pending = false;
    }
}

/// Where the unit keeps its trigger: inline on the target (the unit is a `static`, its size
/// is the footprint checked below), on the heap in host builds (a 2.6 MiB value would not fit
/// the stack of a test thread).
#[cfg(feature = "std")]
type TriggerCell = std::boxed::Box<Trigger>;
#[cfg(not(feature = "std"))]
type TriggerCell = Trigger;

#[cfg(feature = "std")]
fn new_trigger() -> TriggerCell {
    Trigger::boxed()
}
#[cfg(not(feature = "std"))]
fn new_trigger() -> TriggerCell {
    Trigger::new()
}

/// Most alerts one call of [`Unit::receive_stimulus`] queues; more are counted as lost VC1
/// packets (the alert policy issues a few per burst, so this is never reached in practice).
const MAX_ALERTS_PER_CALL: usize = 16;

/// The UGTS model: owns its storage; heap-free; the big buffers are inside.
#[derive(Debug)]
pub struct Unit<S: Storage> {
    pub(crate) storage: S,
    pub(crate) now: Cuc,
    pub(crate) decoder: StreamDecoder,
    pub(crate) farm: Farm,
    pub(crate) downlink: Downlink,
    pub(crate) counters: Counters,
    pub(crate) app: App,
    /// A `reset` TC is carried out by the target ([`crate::handover`]).
    pub(crate) external_restart: bool,
    /// A `reset` TC waits for the target to restart.
    pub(crate) restart_request: bool,
    /// The request history (kept across a software reset, like the counters).
    pub(crate) history: crate::history::History,
    /// The science trigger, fed by the stimulus link (`docs/trigger.md`).
    pub(crate) trigger: TriggerCell,
}

impl<S: Storage> Unit<S> {
    /// Power-on: runs the boot logic on `storage`, queues the boot (or fallback-boot) event.
    ///
    /// The unit comes up in mode `safe` when an application image booted, in mode `boot`
    /// (boot software: ST\[06\], ST\[17\], arm, select-boot-bank, reset) when none did.
    pub fn power_on(storage: S, now: Cuc) -> Self {
        let mut unit = Self::fresh(storage, now);
        unit.boot_application();
        unit
    }

    /// The unit before its boot logic ran: the link afresh, the application blank.
    pub(crate) fn fresh(storage: S, now: Cuc) -> Self {
        Unit {
            storage,
            now,
            decoder: StreamDecoder::new(false),
            farm: Farm::new(mission::TC_VCID),
            downlink: Downlink::new(now.ticks()),
            counters: Counters::default(),
            app: App::new(),
            trigger: new_trigger(),
            external_restart: false,
            restart_request: false,
            history: crate::history::History::new(now.ticks()),
        }
    }

    /// Feeds uplink octets as they arrive on the serial line (any chunking). Each complete TC
    /// executes at once, at the last on-board time given.
    pub fn receive_uplink(&mut self, octets: &[u8]) {
        self.counters.uplink_octets =
            self.counters.uplink_octets.saturating_add(octets.len() as u64);
        let mut input = octets;
        let mut frame = [0u8; cltu::MAX_DECODED_LEN];
        while !input.is_empty() {
            let push = self.decoder.push(input);
            input = input.get(push.consumed..).unwrap_or_default();
            match push.event {
                Some(cltu::Event::Frame(f)) => {
                    self.counters.cltus += 1;
                    self.counters.corrected_bits =
                        self.counters.corrected_bits.saturating_add(f.corrected_bits);
                    let n = f.data.len().min(frame.len());
                    if let (Some(dst), Some(src)) = (frame.get_mut(..n), f.data.get(..n)) {
                        dst.copy_from_slice(src);
                    }
                    self.frame_received(frame.get(..n).unwrap_or_default());
                }
                Some(cltu::Event::Error(_)) => self.counters.cltu_errors += 1,
                None => {}
            }
        }
    }

    /// Octets received on the EGSE stimulus link (`docs/icd/stimulus.md`), any chunking.
    ///
    /// The trigger's intake finds the frames, checks and consumes the packets and keeps their
    /// acknowledgement ready for [`Unit::stimulus_output`]. Events feed the trigger only in
    /// mode observation with a trigger enabled and outside an inhibiting SAA; otherwise they
    /// are consumed, acknowledged, counted ([`Counters::stimulus_events_ignored`]) and
    /// ignored. Each alert is queued as ST\[201,1\] on VC 1 and raises `alert-issued`.
    pub fn receive_stimulus(&mut self, octets: &[u8]) {
        self.counters.stimulus_octets =
            self.counters.stimulus_octets.saturating_add(octets.len() as u64);
        self.sync_trigger();
        let mut alerts: heapless::Vec<tc_tm::service::trigger::Alert, MAX_ALERTS_PER_CALL> =
            heapless::Vec::new();
        let mut lost = 0u32;
        self.trigger.receive_stimulus(octets, &mut |r| {
            if alerts.push(r.alert).is_err() {
                lost += 1;
            }
        });
        for a in alerts {
            self.issue_alert(a);
        }
        if lost > 0 {
            self.counters.alerts += lost;
            let i = Channel::Alert.index();
            if let Some(c) = self.counters.tm_lost.get_mut(i) {
                *c += lost;
            }
            if let Some(c) = self.app.tm_lost.get_mut(i) {
                *c = c.saturating_add(u16::try_from(lost).unwrap_or(u16::MAX));
            }
        }
        let s = self.trigger.stats();
        self.counters.stimulus_accepted = s.intake.accepted;
        self.counters.stimulus_rejected = s.intake.refused;
        self.counters.stimulus_malformed = s.intake.malformed;
        self.counters.stimulus_events_ignored = s.events_ignored;
    }

    /// Octets the unit sends back on the stimulus link: the pending acknowledgement frame, if
    /// any (`out` of at least `tc_tm::stimulus::MAX_FRAME_LEN` octets); 0 when none is due.
    pub fn stimulus_output(&mut self, out: &mut [u8]) -> usize {
        self.trigger.take_ack(out)
    }

    /// The trigger (statistics, housekeeping; read-only).
    pub fn trigger(&self) -> &Trigger {
        &self.trigger
    }

    /// Queues one alert: ST\[201,1\] on VC 1, then the `alert-issued` event.
    fn issue_alert(&mut self, a: tc_tm::service::trigger::Alert) {
        self.counters.alerts += 1;
        let report = Report::Trigger(tc_tm::service::trigger::Report::Alert(a));
        self.send(Channel::Alert, 0, &report);
        let [b0, b1, b2, b3] = a.burst_id.to_be_bytes();
        let [s0, s1] = a.seq_num.to_be_bytes();
        self.raise(EventId::AlertIssued, &[b0, b1, b2, b3, s0, s1, a.trigger_type.value()]);
    }

    /// Gives the trigger the unit's mode, enables and parameters (before each stimulus input).
    fn sync_trigger(&mut self) {
        let observing = self.app.mode == Mode::Observation;
        let (crt, imt) = (self.app.crt_enabled, self.app.imt_enabled);
        let inhibit = self.param(parameter::SAA_INHIBIT) != 0;
        let min_snr = f32::from_bits(self.param(parameter::ALERT_MIN_SNR));
        let t = &mut self.trigger;
        t.set_observing(observing);
        t.set_enabled(crt, imt);
        t.set_saa_inhibit(inhibit);
        if min_snr.is_finite() {
            t.set_alert_min_snr(min_snr);
        }
    }

    /// Configures the trigger from the active tables (at boot and after each activation).
    /// Returns whether the trigger took them; without a complete valid set the trigger stays
    /// as it was (unconfigured at boot: events ignored and counted).
    pub(crate) fn configure_trigger(&mut self) -> bool {
        use tables::TableId;
        use tables::image as timage;
        let Some(store) = self.app.tables.as_ref() else { return false };
        let storage = &self.storage;
        let image = |id: TableId| store.active_image(storage, id as u8).ok().map(|(b, _)| b);
        let Some(pixels) =
            image(TableId::Pixels).and_then(|b| tables::pixels::PixelImage::new_checked(b).ok())
        else {
            return false;
        };
        let (Some(bands), Some(crt), Some(imt), Some(catalog), Some(saa), Some(alert)) = (
            image(TableId::Bands).and_then(|b| timage::parse::<tables::BandTable>(b).ok()),
            image(TableId::Crt).and_then(|b| timage::parse::<tables::CrtTable>(b).ok()),
            image(TableId::Imt).and_then(|b| timage::parse::<tables::ImtTable>(b).ok()),
            image(TableId::Catalog).and_then(|b| timage::parse::<tables::CatalogTable>(b).ok()),
            image(TableId::Saa).and_then(|b| timage::parse::<tables::SaaTable>(b).ok()),
            image(TableId::Alert).and_then(|b| timage::parse::<tables::AlertTable>(b).ok()),
        ) else {
            return false;
        };
        let active = ActiveTables {
            pixels: &pixels,
            bands: &bands,
            crt: &crt,
            imt: &imt,
            catalog: &catalog,
            saa: &saa,
            alert: &alert,
        };
        self.trigger.configure(&active).is_ok()
    }

    /// Advances on-board time: periodic HK, schedule releases, arm expiry (the TM flush
    /// timeout is checked by [`Unit::next_cadu`]). Time never goes back: an earlier `now` is
    /// taken as the current time.
    pub fn tick(&mut self, now: Cuc) {
        self.set_time(now);
        self.run_timers();
    }

    /// Next CADU (ASM + randomised 1115-octet AOS frame) if one is due, else `false`.
    ///
    /// Alerts first, then housekeeping/events/verification, then dumps; a partially filled
    /// frame goes out once its oldest packet waited `tm_flush_timeout_ms` (or at once after
    /// [`Unit::line_idle`]); an idle frame (VC 63) when no frame left for
    /// `idle_frame_period_ms`, so the CLCW stays fresh. Also advances time like
    /// [`Unit::tick`], and feeds dump jobs as their queue drains.
    pub fn next_cadu(&mut self, now: Cuc, out: &mut [u8; CADU_LEN]) -> bool {
        self.tick(now);
        self.feed_dump();
        let clcw = self.farm.clcw().to_u32();
        let flush = link::ms_to_ticks(u64::from(self.param(parameter::TM_FLUSH_TIMEOUT_MS)));
        let idle = link::ms_to_ticks(u64::from(self.param(parameter::IDLE_FRAME_PERIOD_MS)));
        match self.downlink.next_cadu(self.now.ticks(), clcw, flush, idle, out) {
            Some(served) => {
                self.counters.cadus += 1;
                if served.is_none() {
                    self.counters.idle_frames += 1;
                }
                self.report_overflow();
                true
            }
            None => false,
        }
    }

    /// The caller says the line is idle: partially filled frames are sent by the next
    /// [`Unit::next_cadu`] calls without waiting for the flush timeout.
    pub fn line_idle(&mut self) {
        self.downlink.line_idle();
    }

    /// The storage back (power-off), e.g. to power on again after a simulated power cut.
    pub fn power_off(self) -> S {
        self.storage
    }

    /// Counters the tests and the twin read (TCs accepted/rejected/executed per service...).
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The storage, read-only (e.g. to compare a bank with the image loaded).
    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// The current mode.
    pub fn mode(&self) -> Mode {
        self.app.mode
    }

    /// What the last boot did (`None` if the storage failed while booting).
    pub fn boot_report(&self) -> Option<BootReport> {
        self.app.boot
    }

    /// The last on-board time given.
    pub fn now(&self) -> Cuc {
        self.now
    }

    /// FARM-1's V(R) and whether it is in lockout (as the CLCW shows them).
    pub fn farm(&self) -> (u8, bool) {
        (self.farm.v_r(), self.farm.state() == State::Lockout)
    }

    fn set_time(&mut self, now: Cuc) {
        if now.ticks() > self.now.ticks() {
            self.now = now;
        }
    }

    fn frame_received(&mut self, data: &[u8]) {
        if self.restart_request {
            // The application is going down: no frame is taken (FOP-1 sends it again later).
            self.counters.frames_dropped_restarting += 1;
            return;
        }
        let lockout_before = self.farm.state() == State::Lockout;
        match link::accept_frame(&mut self.farm, data) {
            Ok(FrameAccepted::Data { seq_flags, segment, .. }) => {
                self.counters.packets += 1;
                let segment_ok = seq_flags == tc_tm::spp::SeqFlags::Unsegmented;
                let mut packet = [0u8; tc_tm::mission::MAX_TC_PACKET_LEN + 8];
                let n = segment.len().min(packet.len());
                if let (Some(dst), Some(src)) = (packet.get_mut(..n), segment.get(..n)) {
                    dst.copy_from_slice(src);
                }
                self.dispatch(packet.get(..n).unwrap_or_default(), segment_ok);
            }
            Ok(FrameAccepted::Control(_)) => self.counters.control_frames += 1,
            Err(FrameDiscard::Codec(_)) => self.counters.frames_invalid += 1,
            Err(FrameDiscard::WrongScid(_)) => self.counters.frames_wrong_scid += 1,
            Err(FrameDiscard::WrongVcid(_)) => self.counters.frames_wrong_vcid += 1,
            Err(FrameDiscard::WrongMap(_)) => self.counters.frames_wrong_map += 1,
            Err(FrameDiscard::Farm(reason)) => {
                self.counters.farm_discarded += 1;
                if reason == DiscardReason::EnteredLockout && !lockout_before {
                    self.counters.farm_lockouts += 1;
                    self.app.farm_lockout_count = self.app.farm_lockout_count.wrapping_add(1);
                    self.raise(EventId::FarmLockout, &[self.farm.v_r()]);
                }
            }
        }
    }

    /// Restarts the application (TC reset): volatile state cleared, boot logic run again,
    /// boot event queued. The link layer is untouched.
    pub(crate) fn restart(&mut self) {
        self.counters.resets += 1;
        self.boot_application();
    }

    pub(crate) fn boot_application(&mut self) {
        self.app.reset();
        let now = self.now.ticks();
        self.app.boot_ticks = now;
        self.app.hk_next = now.saturating_add(self.hk_period_ticks());
        self.app.tables = table_service::open_store(&self.storage);
        let report = boot::boot(&mut self.storage).ok();
        self.app.boot = report;
        self.app.mode = match report.and_then(|r| r.running_bank()) {
            Some(_) => Mode::Safe,
            None => Mode::Boot,
        };
        self.app.crt_enabled = self.param(parameter::CRT_ENABLED) != 0;
        self.app.imt_enabled = self.param(parameter::IMT_ENABLED) != 0;
        self.configure_trigger();
        let wire = |b: Bank| match b {
            Bank::A => WireBank::A.value(),
            Bank::B => WireBank::B.value(),
        };
        match report.map(|r| r.outcome) {
            Some(BootOutcome::Nominal { bank, image }) => {
                let [a, b, c, d] = image.sw_version.0.to_be_bytes();
                self.raise(EventId::Boot, &[wire(bank), a, b, c, d]);
            }
            Some(BootOutcome::Fallback { selected, bank, image, .. }) => {
                self.raise(EventId::FallbackBoot, &[wire(selected), wire(bank)]);
                let [a, b, c, d] = image.sw_version.0.to_be_bytes();
                self.raise(EventId::Boot, &[wire(bank), a, b, c, d]);
            }
            Some(BootOutcome::NoBootableImage { selected, .. }) => {
                self.raise(EventId::FallbackBoot, &[wire(selected), 0]);
            }
            None => self.raise(EventId::FallbackBoot, &[0, 0]),
        }
    }

    /// Time-driven work: arming expiry, schedule releases, periodic housekeeping.
    fn run_timers(&mut self) {
        let now = self.now.ticks();
        if let Some(a) = self.app.armed
            && now >= a.expires
        {
            self.app.armed = None;
            self.app.last_expired = Some(a.target);
            self.raise(EventId::ArmExpired, &[a.target.value()]);
        }
        self.release_due();
        if self.app.hk_periodic && now >= self.app.hk_next {
            self.send_hk(0);
            let period = self.hk_period_ticks().max(1);
            let next = self.app.hk_next.saturating_add(period);
            self.app.hk_next = if next <= now { now.saturating_add(period) } else { next };
        }
    }

    pub(crate) fn hk_period_ticks(&self) -> u64 {
        link::ms_to_ticks(u64::from(self.param(parameter::HK_PERIOD_MS)))
    }

    /// The raw value of an on-board parameter (0 for an unknown ID).
    pub(crate) fn param(&self, id: ParamId) -> u32 {
        self.app.params.get(id).unwrap_or(0)
    }

    /// The time stamped in TM: on-board time plus `time_correction_ms`.
    fn tm_time(&self) -> Cuc {
        let correction = self.param(parameter::TIME_CORRECTION_MS) as i32;
        let ticks = (i64::from(correction) * (1 << 16)) / 1000;
        self.now.saturating_add_ticks(ticks)
    }

    /// Queues a report on `ch`; a full queue loses it and counts the loss (reported by a
    /// `tm-overflow` event once there is room). Returns whether it was queued.
    pub(crate) fn send(&mut self, ch: Channel, dest: u16, report: &Report<'_>) -> bool {
        let mut data = [0u8; MAX_TM_SOURCE_DATA_LEN];
        let (service, subtype) = report.service_subtype();
        let result = match report.emit(&mut data) {
            Ok(n) => self.downlink.push(
                ch,
                service,
                subtype,
                dest,
                self.tm_time(),
                data.get(..n).unwrap_or_default(),
                self.now.ticks(),
            ),
            Err(_) => Err(QueueError::Build),
        };
        let i = ch.index();
        match result {
            Ok(()) => {
                if let Some(c) = self.counters.tm_packets.get_mut(i) {
                    *c += 1;
                }
                true
            }
            Err(_) => {
                if let Some(c) = self.counters.tm_lost.get_mut(i) {
                    *c += 1;
                }
                if let Some(c) = self.app.tm_lost.get_mut(i) {
                    *c = c.saturating_add(1);
                }
                false
            }
        }
    }

    /// Raises an event (ST\[5\] report on VC 0) unless its ID is disabled.
    pub(crate) fn raise(&mut self, id: EventId, aux: &[u8]) {
        if self.event_enabled(id) {
            let report =
                Report::Event(tc_tm::service::event::Report::Event(EventReport::new(id, aux)));
            self.send(Channel::Hk, 0, &report);
        }
    }

    /// Reports lost TM (one `tm-overflow` event per channel) once VC 0 has room again.
    fn report_overflow(&mut self) {
        for ch in [Channel::Hk, Channel::Alert, Channel::Dump] {
            let lost = self.app.tm_lost.get(ch.index()).copied().unwrap_or(0);
            if lost > 0 && self.downlink.free_octets(Channel::Hk) >= 2 * 64 {
                if let Some(c) = self.app.tm_lost.get_mut(ch.index()) {
                    *c = 0;
                }
                let [hi, lo] = lost.to_be_bytes();
                self.raise(EventId::TmOverflow, &[ch.vcid(), hi, lo]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::StaticStorage;

    type Tiny = StaticStorage<64, 4096, 256, 8, { 2 * 8 * 256 }>;

    #[test]
    fn powers_on_in_boot_mode_without_an_image() {
        let unit = Unit::power_on(Tiny::new(), Cuc::new(100, 0));
        assert_eq!(unit.mode(), Mode::Boot);
        assert!(unit.downlink.has_data(Channel::Hk), "fallback-boot event queued");
        assert_eq!(unit.counters().tm_packets[0], 1);
    }

    #[test]
    fn time_never_goes_back() {
        let mut unit = Unit::power_on(Tiny::new(), Cuc::new(100, 0));
        unit.tick(Cuc::new(50, 0));
        assert_eq!(unit.now(), Cuc::new(100, 0));
    }

    #[test]
    fn footprint_on_the_host() {
        let unit = core::mem::size_of::<Unit<crate::storage::FlightStorage>>();
        let storage = core::mem::size_of::<crate::storage::FlightStorage>();
        std::eprintln!("Unit<FlightStorage>: {unit} octets, of which storage {storage}");
        // 64-bit host: a little above the thumbv7em figure (wider pointers and usizes); the
        // host keeps the trigger on the heap.
        let trigger = crate::trigger::TRIGGER_SIZE;
        assert!(unit + trigger >= crate::limits::UNIT_FOOTPRINT_THUMBV7EM);
        assert!(unit - storage < 40 * 1024, "the unit's own state stays under 40 KiB");
    }

    #[test]
    fn stimulus_outside_observation_is_consumed_acknowledged_and_ignored() {
        use tc_tm::stimulus::{Body, Event, Events, MAX_FRAME_LEN, Repr};
        let mut unit = Unit::power_on(Tiny::new(), Cuc::EPOCH);
        unit.receive_stimulus(&[1, 2, 3]);
        assert_eq!(unit.counters().stimulus_rejected, 0, "line noise is not a packet");
        let ev = [Event { tick: 5, y: 1, z: 2, pha: 300, multiplicity: 1 }; 3];
        let mut f = [0u8; MAX_FRAME_LEN];
        let n = Repr { seq_count: 0, body: Body::Events(Events::Slice(&ev)) }
            .emit_frame(&mut f)
            .unwrap();
        unit.receive_stimulus(&f[..n]);
        let c = unit.counters();
        assert_eq!(
            (c.stimulus_accepted, c.stimulus_events_ignored, c.stimulus_octets),
            (1, 3, 3 + n as u64)
        );
        let mut out = [0u8; MAX_FRAME_LEN];
        let k = unit.stimulus_output(&mut out);
        let Body::Ack(a) = Repr::parse(&out[4..k]).unwrap().body else { panic!() };
        assert_eq!((a.consumed, a.events_ignored), (1, 3));
        assert_eq!(unit.stimulus_output(&mut out), 0);
    }
}
// The static memory footprint recorded in `limits` is the one of this build when it targets
// the flight processor (`cargo build -p onboard --target thumbv7em-none-eabihf`, in CI).
#[cfg(all(target_arch = "arm", target_pointer_width = "32"))]
const _: () = assert!(
    core::mem::size_of::<Unit<crate::storage::FlightStorage>>()
        == crate::limits::UNIT_FOOTPRINT_THUMBV7EM
);
#[cfg(all(target_arch = "arm", target_pointer_width = "32"))]
const _: () = assert!(crate::trigger::TRIGGER_SIZE == crate::limits::TRIGGER_FOOTPRINT_THUMBV7EM);
