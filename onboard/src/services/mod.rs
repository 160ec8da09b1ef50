//! The PUS services of the unit (ICD §3, `docs/icd/services.md`): acceptance checks, dispatch
//! and request verification (ST\[01\]), and one module per service.
//!
//! Every TC, live or released by the ST\[11\] schedule, goes through [`accept`] and then
//! [`Unit::dispatch`](crate::unit::Unit): acceptance (1,1 / 1,2), start of execution (1,3 /
//! 1,4), progress (1,5 / 1,6, dumps only) and completion (1,7 / 1,8). Success reports follow
//! the TC's acknowledgement flags; failure reports are always sent (ECSS-E-ST-70-41C §6.1.3:
//! the flags request the *successful* verification reports). The stage of a failure is the
//! stage of its failure code.
//!
//! | module | service |
//! |---|---|
//! | [`housekeeping`] | ST\[03\] SID 1 report, periodic generation, interval |
//! | [`event`] | ST\[05\] event reports and per-ID enable |
//! | [`memory`] | ST\[06\] load, dump, check |
//! | [`function`] | ST\[08\] functions, arming of critical functions |
//! | [`schedule`] | ST\[11\] time-tagged TCs |
//! | [`parameter`] | ST\[20\] on-board parameters |
//! | [`table`] | ST\[200\] table management |
//! | [`dump`] | dump jobs shared by ST\[06\] and ST\[200\] |
//!
//! ST\[17\] (are-you-alive) is answered here.

pub mod dump;
pub mod event;
pub mod function;
pub mod housekeeping;
pub mod memory;
pub mod parameter;
pub mod schedule;
pub mod table;

use tc_tm::mission;
use tc_tm::pus::{self, AckFlags, TcRepr};
use tc_tm::service::function::{Function, Mode};
use tc_tm::service::test::Progress;
use tc_tm::service::verification::{self, RequestId};
use tc_tm::service::{self as svc, FailureCode, Report, Request, Stage};
use tc_tm::spp::{self, SeqFlags};

use crate::failure::Failure;
use crate::link::Channel;
use crate::storage::Storage;
use crate::unit::Unit;

/// What the unit knows of a TC to verify it: request ID, flags, and whom to answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verif {
    /// The request ID (first four octets of the TC).
    pub rid: RequestId,
    /// The acknowledgement flags.
    pub ack: AckFlags,
    /// Destination ID of the reports: the TC's source ID.
    pub dest: u16,
    /// Service type of the TC.
    pub service: u8,
    /// Whether the start of execution has been reported (or would have been).
    pub started: bool,
}

/// How a TC's execution ended, when it did not fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Done {
    /// Completed now: the completion report follows.
    Completed,
    /// Goes on (a dump job) or never completes (a reset): no completion report now.
    Deferred,
}

/// The result of executing a TC.
pub type Exec = Result<Done, Failure>;

/// A TC that passed acceptance.
#[derive(Clone, Copy, Debug)]
pub struct Accepted<'a> {
    /// How to verify it.
    pub verif: Verif,
    /// The request.
    pub request: Request<'a>,
}

/// A TC refused at acceptance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rejected {
    /// How to report it: `None` if not even a request ID could be read (no report).
    pub verif: Option<Verif>,
    /// The failure (an acceptance code).
    pub failure: Failure,
}

/// The acceptance checks of `docs/icd/unit.md`, in order, on one TC packet (exactly the
/// packet: a live TC is the whole segment of its frame). `mode` restricts the services the
/// boot software offers.
///
/// # Errors
/// The [`Rejected`] TC with its acceptance failure code.
///
/// # Panics
/// Never.
pub fn accept(packet: &[u8], mode: Mode) -> Result<Accepted<'_>, Rejected> {
    let rid = RequestId::from_packet(packet);
    let octet = |i: usize| packet.get(i).copied().unwrap_or(0);
    let (service, subtype) = (octet(7), octet(8));
    let subject = (u16::from(service) << 8) | u16::from(subtype);
    let dest = if packet.len() > 10 { u16::from_be_bytes([octet(9), octet(10)]) } else { 0 };
    let ack = AckFlags::new_masked(octet(6));
    let verif = rid.map(|rid| Verif { rid, ack, dest, service, started: false });
    let reject = |code: FailureCode, value: u32| Rejected {
        verif,
        failure: Failure::about(code, subject, value),
    };
    let len = packet.len();
    let len32 = u32::try_from(len).unwrap_or(u32::MAX);
    let declared = spp::packet_len(packet).ok_or(reject(FailureCode::BadLength, len32))?;
    if declared != len {
        return Err(reject(FailureCode::BadLength, u32::try_from(declared).unwrap_or(u32::MAX)));
    }
    pus::tc::check_mission_len(len).map_err(|_| reject(FailureCode::PacketTooLong, len32))?;
    if len < pus::tc::MIN_LEN {
        return Err(reject(FailureCode::BadLength, len32));
    }
    let tc = TcRepr::parse_bytes(packet).map_err(|e| {
        let value = match e {
            pus::Error::BadCrc { computed, .. } => u32::from(computed),
            pus::Error::BadPusVersion(v) => u32::from(v),
            pus::Error::Spp(spp::Error::BadVersion(v)) => u32::from(v),
            _ => u32::from(octet(0) >> 3),
        };
        reject(FailureCode::from(e), value)
    })?;
    if tc.apid != mission::APID_UGTS {
        return Err(reject(FailureCode::BadApid, u32::from(tc.apid.value())));
    }
    if tc.seq_flags != SeqFlags::Unsegmented {
        return Err(reject(FailureCode::BadSequenceFlags, u32::from(tc.seq_flags.bits())));
    }
    let request = Request::parse(service, subtype, tc.app_data).map_err(|e| {
        let value = match e {
            svc::Error::BadValue { value, .. } => value,
            svc::Error::BadCount { count, .. } => u32::try_from(count).unwrap_or(u32::MAX),
            svc::Error::Truncated { found, .. } | svc::Error::TrailingData { found, .. } => {
                u32::try_from(found).unwrap_or(u32::MAX)
            }
            _ => 0,
        };
        reject(FailureCode::from(e), value)
    })?;
    if mode == Mode::Boot {
        boot_software_offers(&request).map_err(|code| reject(code, 0))?;
    }
    let verif = verif.ok_or(reject(FailureCode::BadLength, len32))?;
    Ok(Accepted { verif, request })
}

/// The boot software (mode `boot`) offers ST\[06\], ST\[17\] and the functions arm,
/// select-boot-bank and reset (`docs/icd/services.md`, modes).
fn boot_software_offers(request: &Request<'_>) -> Result<(), FailureCode> {
    match request {
        Request::Memory(_) | Request::Test(_) => Ok(()),
        Request::Function(svc::function::Request::Perform(
            Function::Arm(_) | Function::SelectBootBank(_) | Function::Reset,
        )) => Ok(()),
        Request::Function(_) => Err(FailureCode::FunctionUnknown),
        _ => Err(FailureCode::UnknownService),
    }
}

/// Whether `mode` allows `request` (`docs/icd/unit.md`, mode table).
///
/// - `boot`: what the boot software offers (ST\[06\], ST\[17\], the functions arm,
///   select-boot-bank and reset); [`accept`] already refuses the rest.
/// - `maintenance`: everything.
/// - `safe`, `standby`, `observation`: everything but the requests that change the software
///   or the tables in use: ST\[06,2\] memory loads, ST\[200,1/2/3\] table load, validate and
///   activate, and arming `write-running-bank`. Reading (dumps, checks, directory) and
///   aborting a table load stay allowed.
///
/// The unit checks this first at the start of execution and refuses with
/// `not_allowed_in_mode` (value: the current mode).
pub fn mode_allows(mode: Mode, request: &Request<'_>) -> bool {
    match mode {
        Mode::Boot => boot_software_offers(request).is_ok(),
        Mode::Maintenance => true,
        _ => !maintenance_only(request),
    }
}

/// The requests only mode `maintenance` (among the application modes) allows.
fn maintenance_only(request: &Request<'_>) -> bool {
    use svc::function::ArmTarget;
    use svc::table::Request as Table;
    matches!(
        request,
        Request::Memory(svc::memory::Request::Load(_))
            | Request::Table(
                Table::LoadSegment(_) | Table::Validate { .. } | Table::Activate { .. }
            )
            | Request::Function(svc::function::Request::Perform(Function::Arm(
                ArmTarget::WriteRunningBank
            )))
    )
}

/// Index of a service type in the per-service counters ([`crate::unit::Counters::service`]).
pub const SERVICES: [u8; 8] = [3, 5, 6, 8, 11, 17, 20, 200];

impl<S: Storage> Unit<S> {
    /// Runs one TC packet through acceptance and execution, with its ST\[01\] reports.
    /// `segment_ok` is false when the frame's segment header was not "unsegmented".
    /// Returns the acceptance failure, if any.
    pub(crate) fn dispatch(&mut self, packet: &[u8], segment_ok: bool) -> Option<Failure> {
        let accepted = match accept(packet, self.app.mode) {
            Ok(a) if segment_ok => a,
            Ok(a) => {
                let subject = (u16::from(a.verif.service) << 8)
                    | u16::from(packet.get(8).copied().unwrap_or(0));
                let failure = Failure::about(FailureCode::BadSequenceFlags, subject, 0);
                self.rejected(Rejected { verif: Some(a.verif), failure });
                return Some(failure);
            }
            Err(r) => {
                self.rejected(r);
                return Some(r.failure);
            }
        };
        let mut v = accepted.verif;
        self.history.record(v.rid, Progress::Executing, None, self.now.ticks());
        self.count_service(v.service, |c| c.accepted += 1);
        self.counters.tc_accepted += 1;
        self.app.hk_counters.accepted = self.app.hk_counters.accepted.wrapping_add(1);
        if v.ack.acceptance() {
            self.verification(v.dest, verification::Report::AcceptanceSuccess(v.rid));
        }
        let result = self.execute(&mut v, accepted.request);
        self.conclude(&mut v, result);
        if self.app.reset_pending {
            if self.external_restart {
                self.app.reset_pending = false;
                self.restart_request = true;
            } else {
                self.restart();
            }
        }
        None
    }

    fn rejected(&mut self, r: Rejected) {
        self.counters.tc_rejected += 1;
        self.app.hk_counters.rejected = self.app.hk_counters.rejected.wrapping_add(1);
        self.app.hk_counters.last_failure = r.failure.code.value();
        match r.verif {
            Some(v) => {
                let failed = Some((Stage::Acceptance, r.failure.code));
                self.history.record(v.rid, Progress::Failed, failed, self.now.ticks());
                self.count_service(v.service, |c| c.rejected += 1);
                let failure = verification::Failure {
                    request_id: v.rid,
                    code: r.failure.code,
                    data: r.failure.data,
                };
                self.verification(v.dest, verification::Report::AcceptanceFailure(failure));
            }
            None => self.counters.tc_unreported += 1,
        }
    }

    fn execute(&mut self, v: &mut Verif, request: Request<'_>) -> Exec {
        let mode = self.app.mode;
        if !mode_allows(mode, &request) {
            let (service, subtype) = request.service_subtype();
            let subject = (u16::from(service) << 8) | u16::from(subtype);
            let value = u32::from(mode.value());
            return Err(Failure::about(FailureCode::NotAllowedInMode, subject, value));
        }
        match request {
            Request::Housekeeping(r) => self.st03(v, r),
            Request::Event(r) => self.st05(r),
            Request::Memory(r) => self.st06(v, r),
            Request::Function(svc::function::Request::Perform(f)) => self.st08(v, f),
            Request::Schedule(r) => self.st11(v, r),
            Request::Test(svc::test::Request::QueryStatus(ids)) => self.query_status(v, ids),
            Request::Test(_) => {
                self.start(v);
                self.send(Channel::Hk, v.dest, &Report::Test(svc::test::Report::AreYouAlive));
                Ok(Done::Completed)
            }
            Request::Parameter(r) => self.st20(v, r),
            Request::Table(r) => self.st200(v, r),
            // The codec knows no other service; a future one is refused like an unknown one.
            _ => Err(Failure::about(FailureCode::UnknownService, u16::from(v.service) << 8, 0)),
        }
    }

    /// Reports the start of execution (1,3 if requested), once.
    pub(crate) fn start(&mut self, v: &mut Verif) {
        if !v.started {
            v.started = true;
            if v.ack.start() {
                self.verification(v.dest, verification::Report::StartSuccess(v.rid));
            }
        }
    }

    /// Sends the completion (or failure) reports of an execution and counts it.
    pub(crate) fn conclude(&mut self, v: &mut Verif, result: Exec) {
        match result {
            Ok(Done::Completed) => self.completed(v),
            Ok(Done::Deferred) => self.start(v),
            Err(f) => self.failed(v, f, 0),
        }
    }

    /// Reports a successful completion (1,7 if requested) and counts it.
    pub(crate) fn completed(&mut self, v: &mut Verif) {
        self.start(v);
        if v.ack.completion() {
            self.verification(v.dest, verification::Report::CompletionSuccess(v.rid));
        }
        self.history.update(v.rid, Progress::Completed, None);
        self.counters.tc_executed += 1;
        self.app.hk_counters.executed = self.app.hk_counters.executed.wrapping_add(1);
        self.count_service(v.service, |c| c.executed += 1);
    }

    /// Reports a failure at the stage of its code and counts it; `step` is the progress step.
    pub(crate) fn failed(&mut self, v: &mut Verif, f: Failure, step: u16) {
        let failure = verification::Failure { request_id: v.rid, code: f.code, data: f.data };
        let stage = match f.code.stage() {
            Stage::Acceptance => Stage::Start,
            s => s,
        };
        self.history.update(v.rid, Progress::Failed, Some((stage, f.code)));
        let report = match f.code.stage() {
            Stage::Acceptance | Stage::Start => verification::Report::StartFailure(failure),
            Stage::Progress => {
                self.start(v);
                verification::Report::ProgressFailure(verification::ProgressFailure {
                    failure,
                    step,
                })
            }
            Stage::Completion => {
                self.start(v);
                verification::Report::CompletionFailure(failure)
            }
        };
        self.verification(v.dest, report);
        self.counters.tc_failed += 1;
        self.app.hk_counters.failed = self.app.hk_counters.failed.wrapping_add(1);
        self.app.hk_counters.last_failure = f.code.value();
        self.count_service(v.service, |c| c.failed += 1);
    }

    /// 17,128: one 17,129 report of the status of every queried request (VC 0).
    fn query_status(&mut self, v: &mut Verif, ids: svc::List<'_, RequestId>) -> Exec {
        use svc::test::{MAX_QUERY_IDS, REQUEST_STATUS_LEN, RequestStatus};
        self.start(v);
        let mut items = [RequestStatus {
            request_id: RequestId::default(),
            state: Progress::Unknown,
            stage: None,
            code: None,
        }; MAX_QUERY_IDS];
        let mut n = 0;
        for (slot, id) in items.iter_mut().zip(ids.iter()) {
            *slot = self.history.status(id);
            n += 1;
        }
        let now = self.now.ticks();
        let span = crate::link::ticks_to_ms(now.saturating_sub(self.history.covered_since()));
        let mut buf = [0u8; MAX_QUERY_IDS * REQUEST_STATUS_LEN];
        let internal = Failure::internal(0x11);
        let entries = svc::List::encode_into(items.get(..n).ok_or(internal)?, &mut buf)
            .map_err(|_| internal)?;
        let report = svc::test::Report::Status {
            recorded: self.history.recorded(),
            capacity: u16::try_from(crate::limits::HISTORY_LEN).unwrap_or(u16::MAX),
            span_ms: u32::try_from(span).unwrap_or(u32::MAX),
            entries,
        };
        self.send(Channel::Hk, v.dest, &Report::Test(report));
        Ok(Done::Completed)
    }

    /// Queues an ST\[01\] report on VC 0.
    pub(crate) fn verification(&mut self, dest: u16, report: verification::Report) {
        self.send(Channel::Hk, dest, &Report::Verification(report));
    }

    fn count_service(&mut self, service: u8, f: impl FnOnce(&mut crate::unit::ServiceCounters)) {
        let i = SERVICES.iter().position(|&s| s == service).unwrap_or(SERVICES.len());
        if let Some(c) = self.counters.per_service.get_mut(i) {
            f(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tc_tm::spp::{Apid, SeqCount};

    fn tc(service: u8, subtype: u8, data: &[u8], out: &mut [u8]) -> usize {
        TcRepr {
            apid: Apid::new(0x240).unwrap(),
            seq_flags: SeqFlags::Unsegmented,
            seq_count: SeqCount::new(5).unwrap(),
            ack: AckFlags::ALL,
            service,
            subtype,
            source_id: 1,
            app_data: data,
        }
        .emit(out)
        .unwrap()
    }

    fn code(packet: &[u8], mode: Mode) -> FailureCode {
        accept(packet, mode).unwrap_err().failure.code
    }

    #[test]
    fn accepts_a_valid_tc() {
        let mut b = [0u8; 64];
        let n = tc(17, 1, &[], &mut b);
        let a = accept(&b[..n], Mode::Safe).unwrap();
        assert_eq!(a.verif.rid.seq_count().value(), 5);
        assert_eq!(a.verif.dest, 1);
        assert!(matches!(a.request, Request::Test(_)));
    }

    #[test]
    fn checks_in_order() {
        let mut b = [0u8; 64];
        let n = tc(17, 1, &[], &mut b);
        assert_eq!(code(&b[..3], Mode::Safe), FailureCode::BadLength);
        assert!(accept(&b[..3], Mode::Safe).unwrap_err().verif.is_none());
        assert_eq!(code(&b[..n - 1], Mode::Safe), FailureCode::BadLength);
        let mut bad = b;
        bad[n - 1] ^= 1;
        assert_eq!(code(&bad[..n], Mode::Safe), FailureCode::BadPec);
        let n = tc(99, 1, &[], &mut b);
        assert_eq!(code(&b[..n], Mode::Safe), FailureCode::UnknownService);
        let n = tc(17, 9, &[], &mut b);
        assert_eq!(code(&b[..n], Mode::Safe), FailureCode::UnknownSubtype);
        let n = tc(17, 1, &[0], &mut b);
        assert_eq!(code(&b[..n], Mode::Safe), FailureCode::MalformedData);
        let n = tc(8, 1, &[0x09], &mut b);
        assert_eq!(code(&b[..n], Mode::Safe), FailureCode::FunctionUnknown);
        let n = tc(8, 1, &[0x07], &mut b);
        assert_eq!(code(&b[..n], Mode::Boot), FailureCode::FunctionUnknown);
        let n = tc(20, 1, &[1, 0, 1], &mut b);
        assert_eq!(code(&b[..n], Mode::Boot), FailureCode::UnknownService);
        assert!(accept(&b[..n], Mode::Safe).is_ok());
    }

    #[test]
    fn mode_table() {
        use svc::function::{ArmTarget, Request as F};
        use svc::memory::{MemoryId, MemoryLoad, Request as M};
        use svc::table::Request as T;
        let load = Request::Memory(M::Load(MemoryLoad::new(MemoryId::Patch, 0, &[1])));
        let validate = Request::Table(T::Validate { table_id: 6, expected_crc: 0 });
        let abort = Request::Table(T::Abort { table_id: 6 });
        let arm_bank = Request::Function(F::Perform(Function::Arm(ArmTarget::WriteRunningBank)));
        let arm_reset = Request::Function(F::Perform(Function::Arm(ArmTarget::Reset)));
        let to_safe = Request::Function(F::Perform(Function::ChangeMode(Mode::Safe)));
        // (request, boot, safe, standby, observation, maintenance)
        let table = [
            (load, [true, false, false, false, true]),
            (validate, [false, false, false, false, true]),
            (abort, [false, true, true, true, true]),
            (arm_bank, [true, false, false, false, true]),
            (arm_reset, [true; 5]),
            (to_safe, [false, true, true, true, true]),
        ];
        for (request, allowed) in table {
            for (&mode, allowed) in Mode::ALL.iter().zip(allowed) {
                assert_eq!(mode_allows(mode, &request), allowed, "{request:?} in {mode:?}");
            }
        }
    }

    #[test]
    fn acceptance_failure_data_names_the_service() {
        let mut b = [0u8; 64];
        let n = tc(3, 5, &[0], &mut b);
        let r = accept(&b[..n], Mode::Safe).unwrap_err();
        assert_eq!(r.failure.code, FailureCode::BadCount);
        assert_eq!(r.failure.data.subject, 0x0305);
    }
}
