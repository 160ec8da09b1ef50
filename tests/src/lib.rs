//! Helpers shared by the end-to-end tests.
//!
//! [`EchoUnit`] is a **test model** of the unit's link layer built from the codec alone (CLTU
//! stream decoder, FARM-1, PUS TC parse, M_PDU packer, CADU encoding). It answers every
//! accepted TC with ST\[01\] acceptance, start and completion reports (17,1 also with 17,2),
//! rejects unknown services at acceptance, and counts executions per request ID. It lets the
//! bench's session layer be tested over real pseudo-terminals independently of the on-board
//! `Unit`; the end-to-end tests against the real unit use `onboard::unit::Unit`.

use std::collections::HashMap;

use eic_bench::twin::Model;
use tc_tm::aos::{self, VcFrameCount};
use tc_tm::cltu::{Event, StreamDecoder};
use tc_tm::cop1::farm::{Decision, Farm, FrameInput};
use tc_tm::mission::{self, CADU_LEN};
use tc_tm::mpdu::Packer;
use tc_tm::pus::tc as pus_tc;
use tc_tm::pus::time::Cuc;
use tc_tm::pus::tm as pus_tm;
use tc_tm::service::FailureCode;
use tc_tm::service::verification::{Failure, FailureData, Report, RequestId};
use tc_tm::spp::{SeqCount, SeqFlags};
use tc_tm::tc_frame::{self, Body, ControlCommand};

/// Counters of the echo unit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EchoCounters {
    /// CLTUs decoded into frames.
    pub frames: u64,
    /// AD/BD frames whose data FARM-1 accepted.
    pub accepted_frames: u64,
    /// Frames FARM-1 discarded.
    pub discarded_frames: u64,
    /// BC frames executed.
    pub control_frames: u64,
    /// TCs executed (acceptance succeeded).
    pub executed: u64,
    /// TCs rejected at acceptance.
    pub rejected: u64,
    /// Executions per request ID.
    pub per_request: HashMap<RequestId, u32>,
}

/// A codec-only unit model for link tests (see the crate documentation).
pub struct EchoUnit {
    cltu: Box<StreamDecoder>,
    farm: Farm,
    packer: Box<Packer<65536>>,
    idle_count: VcFrameCount,
    tm_count: SeqCount,
    msg_counter: u16,
    now: Cuc,
    last_frame: Option<Cuc>,
    clcw_changed: bool,
    /// Counters.
    pub counters: EchoCounters,
}

impl Default for EchoUnit {
    fn default() -> Self {
        Self::new()
    }
}

impl EchoUnit {
    /// A unit with FARM-1 at V(R) = 0.
    pub fn new() -> Self {
        Self {
            cltu: Box::new(StreamDecoder::new(false)),
            farm: Farm::with_window(mission::TC_VCID, mission::FARM_WINDOW),
            packer: Box::new(Packer::new(aos::Vcid::new_masked(mission::VC_HK))),
            idle_count: VcFrameCount::new_masked(0),
            tm_count: SeqCount::new_masked(0),
            msg_counter: 0,
            now: Cuc::EPOCH,
            last_frame: None,
            clcw_changed: false,
            counters: EchoCounters::default(),
        }
    }

    /// Starts FARM-1 at another V(R) (as a unit that ran before).
    pub fn with_v_r(mut self, v_r: u8) -> Self {
        self.farm.frame(FrameInput::SetVr(v_r), true);
        self
    }

    fn report(&mut self, service: u8, subtype: u8, data: &[u8]) {
        let r = pus_tm::Repr {
            apid: mission::APID_UGTS,
            seq_flags: SeqFlags::Unsegmented,
            seq_count: self.tm_count,
            time_ref_status: 0,
            service,
            subtype,
            msg_counter: self.msg_counter,
            dest_id: mission::BENCH_SOURCE_ID,
            time: self.now,
            source_data: data,
        };
        self.tm_count = self.tm_count.next();
        self.msg_counter = self.msg_counter.wrapping_add(1);
        let mut buf = vec![0u8; r.buffer_len()];
        if let Ok(n) = r.emit(&mut buf) {
            let _ = self.packer.push(&buf[..n]);
        }
    }

    fn verification(&mut self, report: &Report) {
        let mut data = [0u8; 32];
        if let Ok(n) = tc_tm::service::Report::Verification(*report).emit(&mut data) {
            self.report(1, report.subtype(), &data[..n]);
        }
    }

    fn execute(&mut self, packet: &[u8]) {
        let Some(id) = RequestId::from_packet(packet) else { return };
        let tc = match pus_tc::Repr::parse_bytes(packet) {
            Ok(tc) => tc,
            Err(_) => {
                self.counters.rejected += 1;
                self.verification(&Report::AcceptanceFailure(Failure {
                    request_id: id,
                    code: FailureCode::BadPec,
                    data: FailureData::default(),
                }));
                return;
            }
        };
        if tc_tm::service::Request::parse(tc.service, tc.subtype, tc.app_data).is_err() {
            self.counters.rejected += 1;
            self.verification(&Report::AcceptanceFailure(Failure {
                request_id: id,
                code: FailureCode::UnknownService,
                data: FailureData {
                    subject: u16::from(tc.service) << 8 | u16::from(tc.subtype),
                    ..FailureData::default()
                },
            }));
            return;
        }
        self.counters.executed += 1;
        *self.counters.per_request.entry(id).or_default() += 1;
        if tc.ack.acceptance() {
            self.verification(&Report::AcceptanceSuccess(id));
        }
        if tc.ack.start() {
            self.verification(&Report::StartSuccess(id));
        }
        if (tc.service, tc.subtype) == (17, 1) {
            self.report(17, 2, &[]);
        }
        if tc.ack.completion() {
            self.verification(&Report::CompletionSuccess(id));
        }
    }

    fn frame(&mut self, frame: &[u8]) {
        self.counters.frames += 1;
        let Ok(f) = tc_frame::Repr::parse_bytes(frame) else { return };
        if f.scid != mission::SCID || f.vcid != mission::TC_VCID {
            return;
        }
        let input = match (f.bypass, f.body) {
            (false, Body::Data { .. }) => FrameInput::Ad { n_s: f.seq_num },
            (true, Body::Data { .. }) => FrameInput::Bd,
            (_, Body::Control(ControlCommand::Unlock)) => FrameInput::Unlock,
            (_, Body::Control(ControlCommand::SetVr(v))) => FrameInput::SetVr(v),
        };
        let before = self.farm.clcw();
        match self.farm.frame(input, true) {
            Decision::AcceptData => {
                self.counters.accepted_frames += 1;
                if let Body::Data { data, .. } = f.body {
                    let len = tc_tm::spp::packet_len(data).unwrap_or(data.len()).min(data.len());
                    let packet = data[..len].to_vec();
                    self.execute(&packet);
                }
            }
            Decision::AcceptControl => self.counters.control_frames += 1,
            Decision::Discard(_) => self.counters.discarded_frames += 1,
        }
        // Report the CLCW promptly after every frame (the ICD's "short timeout").
        let _ = before;
        self.clcw_changed = true;
    }
}

impl Model for EchoUnit {
    fn receive_uplink(&mut self, mut octets: &[u8]) {
        while !octets.is_empty() {
            let push = self.cltu.push(octets);
            octets = &octets[push.consumed..];
            if let Some(Event::Frame(f)) = push.event {
                let frame = f.data.to_vec();
                self.frame(&frame);
            }
        }
    }

    fn tick(&mut self, now: Cuc) {
        self.now = now;
    }

    fn next_cadu(&mut self, now: Cuc, out: &mut [u8; CADU_LEN]) -> bool {
        self.now = now;
        let ocf = self.farm.clcw().to_u32();
        let mut frame = [0u8; aos::FRAME_LEN];
        let idle_due = self.last_frame.is_none_or(|t| now.ticks_since(t) >= 1 << 16);
        let built = if self.packer.flush_frame(ocf, &mut frame) {
            true
        } else if idle_due || self.clcw_changed {
            aos::emit_idle_frame(self.idle_count, ocf, &mut frame);
            self.idle_count = self.idle_count.next();
            true
        } else {
            false
        };
        if built {
            self.clcw_changed = false;
            self.last_frame = Some(now);
            tc_tm::sync::encode_cadu(&frame, out);
        }
        built
    }
}

/// Where an end-to-end test runs the on-board unit: the same tests run against both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The twin: `onboard::Unit` in this process behind a pseudo-terminal.
    Twin,
    /// The firmware on QEMU mps2-an386 (`docs/firmware.md`): the same `onboard::Unit` built
    /// for the Cortex-M4F, booted by its loader, behind QEMU's UART pseudo-terminal.
    Qemu,
}

/// A running unit of either [`Target`] over a fresh, factory-provisioned state.
pub struct TargetUnit {
    /// Which one.
    pub target: Target,
    twin: Option<eic_bench::twin::UnitTwin>,
    qemu: Option<eic_bench::qemu::QemuUnit>,
    dir: tempfile::TempDir,
}

/// The firmware at the factory version, built once per test process.
pub fn firmware() -> eic_bench::qemu::FirmwareBuild {
    firmware_version(eic_bench::qemu::FACTORY_VERSION)
}

/// The firmware with the application built as `version`, built once per version and process.
pub fn firmware_version(version: &str) -> eic_bench::qemu::FirmwareBuild {
    static BUILDS: std::sync::Mutex<Vec<(String, eic_bench::qemu::FirmwareBuild)>> =
        std::sync::Mutex::new(Vec::new());
    let mut builds = BUILDS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, b)) = builds.iter().find(|(v, _)| v == version) {
        return b.clone();
    }
    let b = eic_bench::qemu::build_firmware(version)
        .unwrap_or_else(|e| panic!("building the firmware {version}: {e:#}"));
    builds.push((version.to_owned(), b.clone()));
    b
}

impl TargetUnit {
    /// Starts a unit of `target` over a new provisioned state. Panics (with what to do) if it
    /// cannot: a missing QEMU names `scripts/install-qemu.sh`.
    pub fn start(target: Target) -> TargetUnit {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut unit = TargetUnit { target, twin: None, qemu: None, dir };
        unit.power_on();
        unit
    }

    /// Starts the unit again over the same state (after [`TargetUnit::power_off`]).
    pub fn power_on(&mut self) {
        let state = self.dir.path().join("state");
        match self.target {
            Target::Twin => {
                let cfg = eic_bench::twin::TwinConfig::default();
                let t = eic_bench::twin::UnitTwin::start(&state, false, cfg)
                    .unwrap_or_else(|e| panic!("starting the twin: {e}"));
                self.twin = Some(t);
            }
            Target::Qemu => {
                let cfg = eic_bench::qemu::QemuConfig { firmware: Some(firmware()), blank: false };
                let q = eic_bench::qemu::QemuUnit::start(&state, cfg)
                    .unwrap_or_else(|e| panic!("starting the firmware under QEMU: {e:#}"));
                self.qemu = Some(q);
            }
        }
    }

    /// Stops the unit (the state persists). Returns the unit's counters for the twin (the
    /// firmware's stay on the board).
    pub fn power_off(&mut self) -> Option<onboard::Counters> {
        if let Some(q) = self.qemu.take() {
            q.stop();
        }
        self.twin.take().map(|t| t.stop().expect("twin stopped cleanly").0)
    }

    /// The TC/TM device path.
    pub fn tctm_path(&self) -> &std::path::Path {
        match (&self.twin, &self.qemu) {
            (Some(t), _) => t.tctm_path(),
            (_, Some(q)) => q.tctm_path(),
            _ => panic!("the unit is powered off"),
        }
    }

    /// Session settings for this unit: [`eic_bench::session::SessionConfig::fast`] for the
    /// twin, [`eic_bench::qemu::session_config`] for the firmware (paced as the emulated UART
    /// takes the uplink, about 10 kB/s).
    pub fn session_config(&self) -> eic_bench::session::SessionConfig {
        let mut cfg = match self.target {
            Target::Twin => eic_bench::session::SessionConfig::fast(self.tctm_path()),
            Target::Qemu => eic_bench::qemu::session_config(self.tctm_path()),
        };
        if let Some(ms) = std::env::var("EIC_TEST_T1_MS").ok().and_then(|v| v.parse().ok()) {
            cfg.t1 = std::time::Duration::from_millis(ms);
        }
        cfg
    }

    /// The state directory.
    pub fn state_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("state")
    }
}
