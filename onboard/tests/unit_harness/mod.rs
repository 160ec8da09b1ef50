//! A minimal ground for the unit's end-to-end tests: encodes TCs with `tc_tm` (PUS packet →
//! AD frame → CLTU), feeds the octets to the unit, pulls CADUs, derandomises and checks every
//! AOS frame, reassembles the packets per VC and decodes the TM. Nothing of the unit's own
//! code is used on this side except its public API.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use onboard::image::{self, SwVersion};
use onboard::storage::{Bank, Geometry, Region, Storage};
use onboard::storage_fs::FsStorage;
use onboard::unit::Unit;
use tc_tm::aos::{self, Vcid};
use tc_tm::cltu;
use tc_tm::cop1::Clcw;
use tc_tm::mission::{self, CADU_LEN};
use tc_tm::mpdu::{Event, Reassembler};
use tc_tm::pus::{AckFlags, Cuc, TcRepr, TmRepr};
use tc_tm::service::event::{EventId, EventReport};
use tc_tm::service::function::Mode;
use tc_tm::service::verification::{self, RequestId};
use tc_tm::service::{FailureCode, Report, Request};
use tc_tm::spp::{Apid, SeqCount, SeqFlags};
use tc_tm::tc_frame::{self, Body, ControlCommand};

/// Geometry of the test storage: flight table slots, smaller banks.
pub const GEOMETRY: Geometry = Geometry {
    boot_eeprom_len: 4096,
    bank_len: 64 * 1024,
    ram_patch_len: 4096,
    ..Geometry::FLIGHT
};

/// Start of on-board time in the tests.
pub const T0: Cuc = Cuc::new(1_000, 0);

pub fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let d = std::env::temp_dir().join(format!("onboard-unit-{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// A software image for bank tests.
pub fn sw_image(version: u8, payload_len: usize) -> Vec<u8> {
    let payload: Vec<u8> = (0..payload_len).map(|i| (i % 253) as u8 ^ version).collect();
    let mut out = vec![0u8; payload_len + image::HEADER_LEN];
    let n = image::build(&payload, SwVersion::new(1, 2, version, 0), &mut out).unwrap();
    out.truncate(n);
    out
}

/// A fresh on-disk storage with image version 1 in bank A and 2 in bank B.
pub fn storage(tag: &str) -> FsStorage {
    let (mut s, _) = FsStorage::open(temp_dir(tag), GEOMETRY).unwrap();
    s.write(Region::Bank(Bank::A), 0, &sw_image(1, 4000)).unwrap();
    s.write(Region::Bank(Bank::B), 0, &sw_image(2, 3000)).unwrap();
    s
}

/// One decoded TM packet.
#[derive(Clone, Debug, PartialEq)]
pub struct Tm {
    pub vc: u8,
    pub apid: u16,
    pub seq: u16,
    pub service: u8,
    pub subtype: u8,
    pub msg_counter: u16,
    pub dest: u16,
    pub time: Cuc,
    pub data: Vec<u8>,
}

impl Tm {
    pub fn report(&self) -> Report<'_> {
        Report::parse(self.service, self.subtype, &self.data)
            .unwrap_or_else(|e| panic!("{}/{}: {e}", self.service, self.subtype))
    }

    pub fn verification(&self) -> Option<verification::Report> {
        match self.report() {
            Report::Verification(v) => Some(v),
            _ => None,
        }
    }

    pub fn event(&self) -> Option<(EventId, Vec<u8>)> {
        match self.report() {
            Report::Event(tc_tm::service::event::Report::Event(EventReport {
                id, aux, ..
            })) => Some((id, aux.to_vec())),
            _ => None,
        }
    }
}

/// The ground: a unit, the TC encoder state and the TM decoder.
pub struct Ground<S: Storage> {
    pub unit: Unit<S>,
    pub now: Cuc,
    /// Next N(S) of AD frames.
    pub vs: u8,
    /// Next TC sequence count.
    pub seq: u16,
    pub tm: Vec<Tm>,
    pub cadus: Vec<Vec<u8>>,
    pub idle_frames: usize,
    pub clcw: Option<Clcw>,
    pub keep_cadus: bool,
    /// TM decoded at power-on by [`Ground::new`] (boot event).
    pub boot_tm: Vec<Tm>,
    reasm: [Reassembler<2048>; 3],
}

impl Ground<FsStorage> {
    /// A unit with images in both banks, powered on and its boot TM drained.
    pub fn new(tag: &str) -> Self {
        let mut g = Ground::power_on(storage(tag), T0);
        g.drain();
        g.boot_tm = g.take();
        g
    }
}

impl<S: Storage> Ground<S> {
    pub fn power_on(storage: S, now: Cuc) -> Self {
        Ground {
            unit: Unit::power_on(storage, now),
            now,
            vs: 0,
            seq: 0,
            tm: Vec::new(),
            cadus: Vec::new(),
            idle_frames: 0,
            clcw: None,
            keep_cadus: false,
            boot_tm: Vec::new(),
            reasm: [
                Reassembler::new(Vcid::new_masked(0)),
                Reassembler::new(Vcid::new_masked(1)),
                Reassembler::new(Vcid::new_masked(2)),
            ],
        }
    }

    /// Commands `mode` (ST[8,1] mode), checks that the unit took it and drops the TM so far.
    pub fn set_mode(&mut self, mode: Mode) {
        let rid = self.exec(&mode_request(mode));
        self.assert_ok(rid);
        assert_eq!(self.unit.mode(), mode);
        self.take();
    }

    /// Goes to mode `maintenance` (from `safe`), where table and memory loads are allowed.
    pub fn maintenance(&mut self) {
        self.set_mode(Mode::Maintenance);
    }

    /// A PUS TC packet with the next sequence count.
    pub fn packet(&mut self, service: u8, subtype: u8, data: &[u8], ack: AckFlags) -> Vec<u8> {
        let repr = TcRepr {
            apid: mission::APID_UGTS,
            seq_flags: SeqFlags::Unsegmented,
            seq_count: SeqCount::new_masked(self.seq),
            ack,
            service,
            subtype,
            source_id: mission::BENCH_SOURCE_ID,
            app_data: data,
        };
        self.seq = (self.seq + 1) & 0x3FFF;
        let mut buf = vec![0u8; repr.buffer_len()];
        repr.emit(&mut buf).unwrap();
        buf
    }

    /// The packet of a typed request.
    pub fn request_packet(&mut self, req: &Request<'_>, ack: AckFlags) -> Vec<u8> {
        let mut data = vec![0u8; req.buffer_len()];
        let n = req.emit(&mut data).unwrap();
        let (s, t) = req.service_subtype();
        self.packet(s, t, &data[..n], ack)
    }

    /// A TC frame around `segment` (AD with the next N(S) unless `bypass`).
    pub fn frame(&mut self, segment: &[u8], bypass: bool) -> Vec<u8> {
        let repr = tc_frame::Repr {
            bypass,
            scid: mission::SCID,
            vcid: mission::TC_VCID,
            seq_num: if bypass { 0 } else { self.vs },
            body: Body::Data { seq_flags: SeqFlags::Unsegmented, map_id: 0, data: segment },
        };
        if !bypass {
            self.vs = self.vs.wrapping_add(1);
        }
        let mut buf = vec![0u8; repr.buffer_len()];
        repr.emit(&mut buf).unwrap();
        buf
    }

    pub fn control_frame(&self, c: ControlCommand) -> Vec<u8> {
        let repr = tc_frame::Repr {
            bypass: true,
            scid: mission::SCID,
            vcid: mission::TC_VCID,
            seq_num: 0,
            body: Body::Control(c),
        };
        let mut buf = vec![0u8; repr.buffer_len()];
        repr.emit(&mut buf).unwrap();
        buf
    }

    pub fn cltu(frame: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; cltu::encoded_len(frame.len())];
        let n = cltu::encode(frame, false, &mut out).unwrap();
        out.truncate(n);
        out
    }

    /// Sends a frame as one CLTU.
    pub fn send_frame(&mut self, frame: &[u8]) {
        let c = Self::cltu(frame);
        self.unit.receive_uplink(&c);
    }

    /// Sends a packet in an AD frame; returns its request ID.
    pub fn send_packet(&mut self, packet: &[u8]) -> RequestId {
        let f = self.frame(packet, false);
        self.send_frame(&f);
        RequestId::from_packet(packet).unwrap()
    }

    /// Sends a request with every acknowledgement flag set.
    pub fn send(&mut self, req: &Request<'_>) -> RequestId {
        self.send_ack(req, AckFlags::ALL)
    }

    pub fn send_ack(&mut self, req: &Request<'_>, ack: AckFlags) -> RequestId {
        let p = self.request_packet(req, ack);
        self.send_packet(&p)
    }

    /// Sends a request and drains the downlink.
    pub fn exec(&mut self, req: &Request<'_>) -> RequestId {
        let rid = self.send(req);
        self.drain();
        rid
    }

    /// Pulls every CADU due now, after telling the unit the line is idle.
    pub fn drain(&mut self) {
        self.unit.line_idle();
        let mut out = [0u8; CADU_LEN];
        while self.unit.next_cadu(self.now, &mut out) {
            self.cadu(&out);
        }
    }

    /// Advances on-board time by `ms` in steps of `step_ms`, pulling due CADUs at each step.
    pub fn advance(&mut self, ms: u64, step_ms: u64) {
        let end = self.now.ticks() + ms * 65536 / 1000;
        let step = (step_ms * 65536 / 1000).max(1);
        let mut out = [0u8; CADU_LEN];
        while self.now.ticks() < end {
            let t = (self.now.ticks() + step).min(end);
            self.now = Cuc::from_ticks(t).unwrap();
            self.unit.tick(self.now);
            while self.unit.next_cadu(self.now, &mut out) {
                self.cadu(&out);
            }
        }
    }

    pub fn cadu(&mut self, cadu: &[u8; CADU_LEN]) {
        if self.keep_cadus {
            self.cadus.push(cadu.to_vec());
        }
        assert_eq!(&cadu[..4], &mission::ASM);
        let mut frame = cadu[4..].to_vec();
        tc_tm::randomizer::tm_apply(&mut frame);
        let p = aos::Packet::new_checked(&frame[..]).unwrap();
        let r = aos::Repr::parse(&p).expect("every CADU carries a valid AOS frame");
        let clcw = Clcw::from_u32(r.ocf);
        assert!(clcw.is_cop1_clcw());
        self.clcw = Some(clcw);
        let vc = r.vcid.value();
        if vc == mission::VC_IDLE {
            self.idle_frames += 1;
            return;
        }
        let tm = &mut self.tm;
        self.reasm[usize::from(vc)].push_frame(&r, |e| match e {
            Event::Packet(bytes) => {
                let t = TmRepr::parse_bytes(bytes).expect("TM packet with a valid PEC");
                tm.push(Tm {
                    vc,
                    apid: t.apid.value(),
                    seq: t.seq_count.value(),
                    service: t.service,
                    subtype: t.subtype,
                    msg_counter: t.msg_counter,
                    dest: t.dest_id,
                    time: t.time,
                    data: t.source_data.to_vec(),
                });
            }
            Event::Idle { .. } => {}
            Event::Error(e) => panic!("VC {vc}: {e}"),
        });
    }

    /// Takes the TM decoded so far.
    pub fn take(&mut self) -> Vec<Tm> {
        std::mem::take(&mut self.tm)
    }

    /// The ST[01] reports about `rid` among the TM decoded so far.
    pub fn verifications(&self, rid: RequestId) -> Vec<verification::Report> {
        self.tm.iter().filter_map(Tm::verification).filter(|v| request_id(v) == rid).collect()
    }

    /// Subtypes of the ST[01] reports about `rid`.
    pub fn stages(&self, rid: RequestId) -> Vec<u8> {
        self.verifications(rid).iter().map(|v| v.subtype()).collect()
    }

    /// The failure reported about `rid` (code, failure data), if any.
    pub fn failure(&self, rid: RequestId) -> Option<(u8, verification::Failure)> {
        self.verifications(rid).into_iter().find_map(|v| match v {
            verification::Report::AcceptanceFailure(f)
            | verification::Report::StartFailure(f)
            | verification::Report::CompletionFailure(f) => Some((v.subtype(), f)),
            verification::Report::ProgressFailure(p) => Some((6, p.failure)),
            _ => None,
        })
    }

    /// Asserts that `rid` failed with `code` at the stage of the code; returns the failure.
    pub fn assert_failed(&self, rid: RequestId, code: FailureCode) -> verification::Failure {
        let (subtype, f) = self
            .failure(rid)
            .unwrap_or_else(|| panic!("no failure for {rid:?}: {:?}", self.stages(rid)));
        assert_eq!(f.code, code, "{f:?}");
        assert_eq!(subtype, code.stage().failure_subtype(), "{f:?}");
        f
    }

    /// Asserts the full success sequence 1,1 1,3 1,7 for `rid`.
    pub fn assert_ok(&self, rid: RequestId) {
        assert_eq!(self.stages(rid), [1, 3, 7], "{:?}", self.failure(rid));
    }

    /// Events decoded so far.
    pub fn events(&self) -> Vec<(EventId, Vec<u8>)> {
        self.tm.iter().filter_map(Tm::event).collect()
    }

    pub fn has_event(&self, id: EventId) -> bool {
        self.events().iter().any(|(e, _)| *e == id)
    }

    /// TM of a service/subtype decoded so far.
    pub fn of(&self, service: u8, subtype: u8) -> Vec<&Tm> {
        self.tm.iter().filter(|t| t.service == service && t.subtype == subtype).collect()
    }
}

/// The ST[8,1] request that changes the mode.
pub fn mode_request(mode: Mode) -> Request<'static> {
    let f = tc_tm::service::function::Function::ChangeMode(mode);
    Request::Function(tc_tm::service::function::Request::Perform(f))
}

pub fn request_id(v: &verification::Report) -> RequestId {
    use verification::Report as R;
    match *v {
        R::AcceptanceSuccess(r) | R::StartSuccess(r) | R::CompletionSuccess(r) => r,
        R::AcceptanceFailure(f) | R::StartFailure(f) | R::CompletionFailure(f) => f.request_id,
        R::ProgressSuccess(p) => p.request_id,
        R::ProgressFailure(p) => p.failure.request_id,
        _ => RequestId::default(),
    }
}

/// A TC packet with arbitrary header fields (for acceptance-failure tests), PEC recomputed.
pub fn raw_tc(apid: u16, seq_flags: u8, service: u8, subtype: u8, data: &[u8]) -> Vec<u8> {
    let repr = TcRepr {
        apid: Apid::new_masked(apid),
        seq_flags: SeqFlags::from_bits(seq_flags),
        seq_count: SeqCount::new_masked(0x123),
        ack: AckFlags::ALL,
        service,
        subtype,
        source_id: mission::BENCH_SOURCE_ID,
        app_data: data,
    };
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(&mut buf).unwrap();
    buf
}

/// Recomputes the PEC of a packet edited in place.
pub fn fix_pec(packet: &mut [u8]) {
    tc_tm::pus::write_pec(packet).unwrap();
}
