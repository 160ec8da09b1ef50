//! Property tests of the service layer: emit/parse identities, canonical bytes, no panics on
//! arbitrary input, and the text syntax round trip.

use proptest::prelude::*;
use tc_tm::service::event::{EventId, EventReport, Severity};
use tc_tm::service::function::{ArmTarget, Bank, Function, Mode, TriggerSelect};
use tc_tm::service::housekeeping::{HkReport, HkTable, HousekeepingReport, Sid, SidInterval};
use tc_tm::service::memory::{
    CheckReport, DumpReport, MemoryCheck, MemoryDump, MemoryId, MemoryLoad,
};
use tc_tm::service::parameter::{ParamEntry, ParamId};
use tc_tm::service::schedule::{ReleaseTime, TimeTagged, TimeTaggedList};
use tc_tm::service::table::{BufferSel, DirectoryEntry, DumpSegment, InactiveState, LoadSegment};
use tc_tm::service::text::parse_request;
use tc_tm::service::trigger::{Alert, CucTime, SlewRequest, TriggerType};
use tc_tm::service::verification::{Failure, FailureData, Progress, ProgressFailure, RequestId};
use tc_tm::service::{
    FailureCode, List, Report, Request, event, function, housekeeping, memory, parameter, schedule,
    table, test, trigger, verification,
};

// ---------------------------------------------------------------- owned request specs

#[derive(Clone, Debug)]
enum ReqSpec {
    HkSids(u8, Vec<u16>),
    HkInterval(Vec<(u16, u32)>),
    Event(u8, Vec<u16>),
    MemLoad(u8, u32, Vec<u8>, Option<u32>),
    MemDump(u8, u32, u16),
    MemCheck(u8, u32, u32),
    Function(Function),
    Schedule(u8),
    Insert(Vec<(u32, u16, Vec<u8>)>),
    Test,
    ParamGet(Vec<u16>),
    ParamSet(Vec<(u16, u32)>),
    TableLoad(u8, u16, u32, u32, Vec<u8>),
    TableValidate(u8, u32),
    TableActivate(u8),
    TableAbort(u8),
    TableDump(u8, bool),
    TableDirectory,
}

/// Clamps `addr` so that `addr + len` does not pass 2^32.
fn clamp_addr(addr: u32, len: u64) -> u32 {
    let max = (1u64 << 32) - len;
    u64::from(addr).min(max) as u32
}

fn function_strategy() -> impl Strategy<Value = Function> {
    prop_oneof![
        prop::sample::select(ArmTarget::ALL).prop_map(Function::Arm),
        prop::sample::select(Bank::ALL).prop_map(Function::SelectBootBank),
        Just(Function::Reset),
        prop::sample::select(TriggerSelect::ALL).prop_map(Function::TriggerEnable),
        prop::sample::select(TriggerSelect::ALL).prop_map(Function::TriggerDisable),
        prop::sample::select(Mode::ALL).prop_map(Function::ChangeMode),
        Just(Function::ClearCounters),
    ]
}

/// A parameter ID: mostly registry IDs, sometimes unknown ones.
fn param_id() -> impl Strategy<Value = u16> {
    prop_oneof![
        3 => prop::sample::select(parameter::PARAMETERS.iter().map(|p| p.id.0).collect::<Vec<_>>()),
        1 => any::<u16>(),
    ]
}

/// A raw value: sometimes a valid typed value of the parameter, sometimes anything.
fn param_entry() -> impl Strategy<Value = (u16, u32)> {
    (param_id(), any::<u32>(), any::<f32>(), any::<i32>(), any::<bool>(), 0u8..4).prop_map(
        |(id, raw, f, i, b, pick)| {
            let raw = match (ParamId(id).def().map(|d| d.ty), pick) {
                (Some(parameter::ParamType::F32), 0 | 1) => f.to_bits(),
                (Some(parameter::ParamType::I32), 0 | 1) => i as u32,
                (Some(parameter::ParamType::Bool), 0 | 1) => u32::from(b),
                _ => raw,
            };
            (id, raw)
        },
    )
}

fn mem_id() -> impl Strategy<Value = u8> {
    prop_oneof![3 => 1u8..=4, 1 => any::<u8>()]
}

fn req_strategy() -> impl Strategy<Value = ReqSpec> {
    prop_oneof![
        (prop::sample::select(vec![5u8, 6, 27]), prop::collection::vec(any::<u16>(), 1..=8))
            .prop_map(|(s, v)| ReqSpec::HkSids(s, v)),
        prop::collection::vec((any::<u16>(), 1u32..), 1..=8).prop_map(ReqSpec::HkInterval),
        (
            prop::sample::select(vec![5u8, 6]),
            prop::collection::vec(prop_oneof![0u16..0x100, any::<u16>()], 1..=16)
        )
            .prop_map(|(s, v)| ReqSpec::Event(s, v)),
        (mem_id(), any::<u32>(), prop::collection::vec(any::<u8>(), 1..64), any::<Option<u32>>())
            .prop_map(|(m, a, d, c)| {
                let a = clamp_addr(a, d.len() as u64);
                ReqSpec::MemLoad(m, a, d, c)
            }),
        (mem_id(), any::<u32>(), 1u16..).prop_map(|(m, a, l)| ReqSpec::MemDump(
            m,
            clamp_addr(a, u64::from(l)),
            l
        )),
        (mem_id(), any::<u32>(), 1u32..).prop_map(|(m, a, l)| ReqSpec::MemCheck(
            m,
            clamp_addr(a, u64::from(l)),
            l
        )),
        function_strategy().prop_map(ReqSpec::Function),
        (1u8..=3).prop_map(ReqSpec::Schedule),
        prop::collection::vec(
            (any::<u32>(), any::<u16>(), prop::collection::vec(any::<u8>(), 0..24)),
            1..=16
        )
        .prop_map(ReqSpec::Insert),
        Just(ReqSpec::Test),
        prop::collection::vec(param_id(), 1..=32).prop_map(ReqSpec::ParamGet),
        prop::collection::vec(param_entry(), 1..=32).prop_map(ReqSpec::ParamSet),
        (
            any::<u8>(),
            any::<u16>(),
            any::<u32>(),
            any::<u32>(),
            prop::collection::vec(any::<u8>(), 1..64)
        )
            .prop_map(|(id, v, a, b, d)| {
                let len = d.len() as u32;
                let offset = a % (u32::MAX - len);
                let total = (offset + len).max(b);
                ReqSpec::TableLoad(id, v, total, offset, d)
            }),
        (any::<u8>(), any::<u32>()).prop_map(|(i, c)| ReqSpec::TableValidate(i, c)),
        any::<u8>().prop_map(ReqSpec::TableActivate),
        any::<u8>().prop_map(ReqSpec::TableAbort),
        (any::<u8>(), any::<bool>()).prop_map(|(i, b)| ReqSpec::TableDump(i, b)),
        Just(ReqSpec::TableDirectory),
    ]
}

/// A minimal PUS-C TC packet with `payload` as application data (PEC octets arbitrary).
fn tc_packet(payload: &[u8]) -> Vec<u8> {
    let data_len = 5 + payload.len() + 2;
    let mut p = vec![0x1A, 0x40, 0xC0, 0x01];
    p.extend_from_slice(&((data_len - 1) as u16).to_be_bytes());
    p.extend_from_slice(&[0x2F, 0x11, 0x01, 0x00, 0x01]);
    p.extend_from_slice(payload);
    p.extend_from_slice(&[0xAB, 0xCD]);
    p
}

/// Builds the typed request of `spec` (lists encoded into local buffers) and hands it to `f`.
fn with_request<R>(spec: &ReqSpec, f: impl FnOnce(Request<'_>) -> R) -> R {
    let mut buf = vec![0u8; 4096];
    let packets: Vec<Vec<u8>>;
    let req = match spec {
        ReqSpec::HkSids(s, v) => {
            let items: Vec<Sid> = v.iter().map(|&x| Sid(x)).collect();
            let l = List::encode_into(&items, &mut buf).unwrap();
            Request::Housekeeping(match s {
                5 => housekeeping::Request::EnablePeriodic(l),
                6 => housekeeping::Request::DisablePeriodic(l),
                _ => housekeeping::Request::OneShot(l),
            })
        }
        ReqSpec::HkInterval(v) => {
            let items: Vec<SidInterval> =
                v.iter().map(|&(s, i)| SidInterval { sid: Sid(s), interval_ms: i }).collect();
            Request::Housekeeping(housekeeping::Request::ModifyInterval(
                List::encode_into(&items, &mut buf).unwrap(),
            ))
        }
        ReqSpec::Event(s, v) => {
            let items: Vec<EventId> = v.iter().map(|&x| EventId::from_value(x)).collect();
            let l = List::encode_into(&items, &mut buf).unwrap();
            Request::Event(if *s == 5 {
                event::Request::Enable(l)
            } else {
                event::Request::Disable(l)
            })
        }
        ReqSpec::MemLoad(m, a, d, c) => {
            let mut load = MemoryLoad::new(MemoryId::from_value(*m), *a, d);
            if let Some(c) = c {
                load.crc = *c;
            }
            Request::Memory(memory::Request::Load(load))
        }
        ReqSpec::MemDump(m, a, l) => Request::Memory(memory::Request::Dump(MemoryDump {
            memory_id: MemoryId::from_value(*m),
            address: *a,
            length: *l,
        })),
        ReqSpec::MemCheck(m, a, l) => Request::Memory(memory::Request::Check(MemoryCheck {
            memory_id: MemoryId::from_value(*m),
            address: *a,
            length: *l,
        })),
        ReqSpec::Function(func) => Request::Function(function::Request::Perform(*func)),
        ReqSpec::Schedule(s) => Request::Schedule(match s {
            1 => schedule::Request::Enable,
            2 => schedule::Request::Disable,
            _ => schedule::Request::Reset,
        }),
        ReqSpec::Insert(items) => {
            packets = items.iter().map(|(_, _, p)| tc_packet(p)).collect();
            let tagged: Vec<TimeTagged<'_>> = items
                .iter()
                .zip(&packets)
                .map(|((c, f, _), p)| TimeTagged {
                    release: ReleaseTime { coarse: *c, fine: *f },
                    packet: p,
                })
                .collect();
            Request::Schedule(schedule::Request::Insert(
                TimeTaggedList::encode_into(&tagged, &mut buf).unwrap(),
            ))
        }
        ReqSpec::Test => Request::Test(test::Request::AreYouAlive),
        ReqSpec::ParamGet(v) => {
            let items: Vec<ParamId> = v.iter().map(|&x| ParamId(x)).collect();
            Request::Parameter(parameter::Request::Report(
                List::encode_into(&items, &mut buf).unwrap(),
            ))
        }
        ReqSpec::ParamSet(v) => {
            let items: Vec<ParamEntry> =
                v.iter().map(|&(id, raw)| ParamEntry { id: ParamId(id), raw }).collect();
            Request::Parameter(parameter::Request::Set(
                List::encode_into(&items, &mut buf).unwrap(),
            ))
        }
        ReqSpec::TableLoad(id, v, total, offset, d) => {
            Request::Table(table::Request::LoadSegment(LoadSegment {
                table_id: *id,
                version: *v,
                total_len: *total,
                offset: *offset,
                data: d,
            }))
        }
        ReqSpec::TableValidate(i, c) => {
            Request::Table(table::Request::Validate { table_id: *i, expected_crc: *c })
        }
        ReqSpec::TableActivate(i) => Request::Table(table::Request::Activate { table_id: *i }),
        ReqSpec::TableAbort(i) => Request::Table(table::Request::Abort { table_id: *i }),
        ReqSpec::TableDump(i, b) => Request::Table(table::Request::Dump {
            table_id: *i,
            buffer: if *b { BufferSel::Active } else { BufferSel::Inactive },
        }),
        ReqSpec::TableDirectory => Request::Table(table::Request::ReportDirectory),
    };
    f(req)
}

// ---------------------------------------------------------------- owned report specs

#[derive(Clone, Debug)]
enum RepSpec {
    Verification(verification::Report),
    Hk(HkReport),
    HkOther(u16, Vec<u8>),
    Event(u8, u16, Vec<u8>),
    MemDump(u8, u32, Vec<u8>),
    MemCheck(CheckReport),
    Test,
    Params(Vec<(u16, u32)>),
    TableDump(u8, bool, u16, u32, u32, Vec<u8>),
    Directory(Vec<DirectoryEntry>),
    Alert(Alert),
}

fn verification_strategy() -> impl Strategy<Value = verification::Report> {
    (1u8..=8, any::<(u16, u16)>(), any::<u16>(), any::<(u16, u16, u16, u32)>(), any::<u16>())
        .prop_map(|(sub, (p, s), code, (a, b, c, d), step)| {
            let request_id = RequestId { packet_id: p, seq_ctrl: s };
            let failure = Failure {
                request_id,
                code: FailureCode::from_value(code),
                data: FailureData { subject: a, index: b, field: c, value: d },
            };
            match sub {
                1 => verification::Report::AcceptanceSuccess(request_id),
                2 => verification::Report::AcceptanceFailure(failure),
                3 => verification::Report::StartSuccess(request_id),
                4 => verification::Report::StartFailure(failure),
                5 => verification::Report::ProgressSuccess(Progress { request_id, step }),
                6 => verification::Report::ProgressFailure(ProgressFailure { failure, step }),
                7 => verification::Report::CompletionSuccess(request_id),
                _ => verification::Report::CompletionFailure(failure),
            }
        })
}

fn hk_strategy() -> impl Strategy<Value = HkReport> {
    let a = (
        prop::sample::select(Mode::ALL),
        prop::sample::select(Bank::ALL),
        any::<bool>(),
        any::<(u32, u32)>(),
        any::<(u16, u16, u16, u16)>(),
        any::<u16>(),
        any::<(u8, bool, u16)>(),
    );
    let b = (
        0u8..=8,
        prop::collection::vec(
            (any::<u8>(), any::<u16>(), any::<u32>(), prop::sample::select(InactiveState::ALL)),
            8,
        ),
        any::<(bool, bool, bool, bool)>(),
        any::<[u16; 8]>(),
        prop::option::of(prop::sample::select(ArmTarget::ALL)),
        any::<u32>(),
        any::<(bool, u16, u32)>(),
    );
    (a, b).prop_map(|(a, b)| {
        let mut tables = [HkTable::default(); 8];
        for (t, (id, v, c, s)) in tables.iter_mut().zip(b.1) {
            *t = HkTable { table_id: id, active_version: v, active_crc: c, inactive_state: s };
        }
        HkReport {
            mode: a.0,
            boot_bank: a.1,
            boot_fallback: a.2,
            sw_version: a.3.0,
            image_crc: a.3.1,
            tc_accepted: a.4.0,
            tc_rejected: a.4.1,
            tc_executed: a.4.2,
            tc_failed: a.4.3,
            last_failure: FailureCode::from_value(a.5),
            farm_vr: a.6.0,
            farm_lockout: a.6.1,
            farm_lockout_count: a.6.2,
            table_count: b.0,
            tables,
            crt_enabled: b.2.0,
            imt_enabled: b.2.1,
            saa_inhibited: b.2.2,
            in_saa: b.2.3,
            sector_rates: b.3,
            armed: b.4,
            arm_remaining_ms: b.5,
            schedule_enabled: b.6.0,
            schedule_entries: b.6.1,
            uptime_s: b.6.2,
        }
    })
}

fn directory_entry() -> impl Strategy<Value = DirectoryEntry> {
    (
        any::<(u8, u16, u32, u32)>(),
        prop::sample::select(InactiveState::ALL),
        any::<(u16, u32, u32, u32)>(),
    )
        .prop_map(|((id, av, ac, al), st, (iv, ic, il, ir))| DirectoryEntry {
            table_id: id,
            active_version: av,
            active_crc: ac,
            active_len: al,
            inactive_state: st,
            inactive_version: iv,
            inactive_crc: ic,
            inactive_len: il,
            inactive_received: ir,
        })
}

fn alert_strategy() -> impl Strategy<Value = Alert> {
    (
        (prop::sample::select(TriggerType::ALL), any::<u32>(), any::<u16>(), any::<u32>()),
        (any::<(u32, u16)>(), any::<(u32, u16)>()),
        (any::<u16>(), 1u16.., any::<u16>(), any::<u16>()),
        (
            -89_999_999i32..90_000_000,
            -89_999_999i32..90_000_000,
            0u32..360_000_000,
            -90_000_000i32..=90_000_000,
        ),
        (any::<u32>(), any::<u16>(), prop::sample::select(SlewRequest::ALL)),
    )
        .prop_map(|(a, (s, e), (lo, width, rs, is), (y, z, ra, dec), (r90, cat, slew))| {
            let (s, e) = if s <= e { (s, e) } else { (e, s) };
            Alert {
                trigger_type: a.0,
                burst_id: a.1,
                seq_num: a.2,
                timescale_ms: a.3,
                window_start: CucTime { coarse: s.0, fine: s.1 },
                window_end: CucTime { coarse: e.0, fine: e.1 },
                energy_min_kev: lo.min(u16::MAX - 1),
                energy_max_kev: lo
                    .min(u16::MAX - 1)
                    .saturating_add(width)
                    .max(lo.min(u16::MAX - 1) + 1),
                rate_snr_centi: rs,
                image_snr_centi: is,
                y_udeg: y,
                z_udeg: z,
                ra_udeg: ra,
                dec_udeg: dec,
                error_radius_udeg: r90,
                catalogue_id: cat,
                slew,
            }
        })
}

fn rep_strategy() -> impl Strategy<Value = RepSpec> {
    prop_oneof![
        verification_strategy().prop_map(RepSpec::Verification),
        hk_strategy().prop_map(RepSpec::Hk),
        (2u16.., prop::collection::vec(any::<u8>(), 0..64))
            .prop_map(|(s, d)| RepSpec::HkOther(s, d)),
        (
            1u8..=4,
            prop_oneof![0u16..0x100, any::<u16>()],
            prop::collection::vec(any::<u8>(), 0..=32)
        )
            .prop_map(|(sev, id, aux)| {
                let sev = EventId::from_value(id).severity().map_or(sev, |s| s.value());
                RepSpec::Event(sev, id, aux)
            }),
        (mem_id(), any::<u32>(), prop::collection::vec(any::<u8>(), 1..128))
            .prop_map(|(m, a, d)| RepSpec::MemDump(m, clamp_addr(a, d.len() as u64), d)),
        (mem_id(), any::<u32>(), 1u32.., any::<u32>()).prop_map(|(m, a, l, c)| {
            RepSpec::MemCheck(CheckReport {
                memory_id: MemoryId::from_value(m),
                address: clamp_addr(a, u64::from(l)),
                length: l,
                crc: c,
            })
        }),
        Just(RepSpec::Test),
        prop::collection::vec(param_entry(), 1..=32).prop_map(RepSpec::Params),
        (
            any::<u8>(),
            any::<bool>(),
            any::<u16>(),
            any::<u32>(),
            any::<u32>(),
            prop::collection::vec(any::<u8>(), 1..128)
        )
            .prop_map(|(id, b, v, a, t, d)| {
                let len = d.len() as u32;
                let offset = a % (u32::MAX - len);
                RepSpec::TableDump(id, b, v, (offset + len).max(t), offset, d)
            }),
        prop::collection::vec(directory_entry(), 0..=32).prop_map(RepSpec::Directory),
        alert_strategy().prop_map(RepSpec::Alert),
    ]
}

fn with_report<R>(spec: &RepSpec, f: impl FnOnce(Report<'_>) -> R) -> R {
    let mut buf = vec![0u8; 4096];
    let rep =
        match spec {
            RepSpec::Verification(v) => Report::Verification(*v),
            RepSpec::Hk(hk) => Report::Housekeeping(housekeeping::Report::Housekeeping(
                HousekeepingReport::Ugts(*hk),
            )),
            RepSpec::HkOther(s, d) => Report::Housekeeping(housekeeping::Report::Housekeeping(
                HousekeepingReport::Other { sid: Sid(*s), data: d },
            )),
            RepSpec::Event(sev, id, aux) => Report::Event(event::Report::Event(EventReport {
                severity: Severity::from_value(*sev).unwrap(),
                id: EventId::from_value(*id),
                aux,
            })),
            RepSpec::MemDump(m, a, d) => Report::Memory(memory::Report::Dump(DumpReport {
                memory_id: MemoryId::from_value(*m),
                address: *a,
                data: d,
            })),
            RepSpec::MemCheck(c) => Report::Memory(memory::Report::Check(*c)),
            RepSpec::Test => Report::Test(test::Report::AreYouAlive),
            RepSpec::Params(v) => {
                let items: Vec<ParamEntry> =
                    v.iter().map(|&(id, raw)| ParamEntry { id: ParamId(id), raw }).collect();
                Report::Parameter(parameter::Report::Values(
                    List::encode_into(&items, &mut buf).unwrap(),
                ))
            }
            RepSpec::TableDump(id, b, v, t, o, d) => {
                Report::Table(table::Report::DumpSegment(DumpSegment {
                    table_id: *id,
                    buffer: if *b { BufferSel::Active } else { BufferSel::Inactive },
                    version: *v,
                    total_len: *t,
                    offset: *o,
                    data: d,
                }))
            }
            RepSpec::Directory(v) => {
                Report::Table(table::Report::Directory(List::encode_into(v, &mut buf).unwrap()))
            }
            RepSpec::Alert(a) => Report::Trigger(trigger::Report::Alert(*a)),
        };
    f(rep)
}

/// Service/subtype pairs that exist, plus some that do not.
fn service_subtype() -> impl Strategy<Value = (u8, u8)> {
    prop_oneof![
        4 => prop::sample::select(vec![
            (1u8, 1u8), (1, 2), (1, 3), (1, 4), (1, 5), (1, 6), (1, 7), (1, 8),
            (3, 5), (3, 6), (3, 25), (3, 27), (3, 31), (5, 1), (5, 2), (5, 3), (5, 4), (5, 5),
            (5, 6), (6, 2), (6, 5), (6, 6), (6, 9), (6, 10), (8, 1), (11, 1), (11, 2), (11, 3),
            (11, 4), (17, 1), (17, 2), (20, 1), (20, 2), (20, 3), (200, 1), (200, 2), (200, 3),
            (200, 4), (200, 5), (200, 6), (200, 7), (200, 8), (201, 1),
        ]),
        1 => any::<(u8, u8)>(),
    ]
}

proptest! {
    #[test]
    fn request_emit_parse_identity(spec in req_strategy()) {
        with_request(&spec, |req| {
            let mut out = vec![0u8; req.buffer_len()];
            let n = req.emit(&mut out).unwrap();
            prop_assert_eq!(n, out.len());
            let (s, t) = req.service_subtype();
            let back = Request::parse(s, t, &out).unwrap();
            prop_assert_eq!(back, req);
            // canonical bytes -> parse -> emit == bytes
            let mut again = vec![0u8; back.buffer_len()];
            back.emit(&mut again).unwrap();
            prop_assert_eq!(again, out);
            Ok(())
        })?;
    }

    #[test]
    fn report_emit_parse_identity(spec in rep_strategy()) {
        with_report(&spec, |rep| {
            let mut out = vec![0u8; rep.buffer_len()];
            let n = rep.emit(&mut out).unwrap();
            prop_assert_eq!(n, out.len());
            let (s, t) = rep.service_subtype();
            let back = Report::parse(s, t, &out).unwrap();
            prop_assert_eq!(back, rep);
            let mut again = vec![0u8; back.buffer_len()];
            back.emit(&mut again).unwrap();
            prop_assert_eq!(again, out);
            Ok(())
        })?;
    }

    #[test]
    fn emit_into_short_buffer_is_an_error(spec in req_strategy(), cut in 1usize..8) {
        with_request(&spec, |req| {
            let len = req.buffer_len();
            if len > 0 {
                let mut out = vec![0u8; len.saturating_sub(cut)];
                prop_assert!(req.emit(&mut out).is_err());
            }
            Ok(())
        })?;
    }

    #[test]
    fn parse_arbitrary_never_panics_and_is_canonical(
        (s, t) in service_subtype(),
        data in prop::collection::vec(any::<u8>(), 0..160),
    ) {
        if let Ok(req) = Request::parse(s, t, &data) {
            prop_assert_eq!(req.service_subtype(), (s, t));
            let mut out = vec![0u8; req.buffer_len()];
            req.emit(&mut out).unwrap();
            prop_assert_eq!(&out, &data);
        }
        if let Ok(rep) = Report::parse(s, t, &data) {
            prop_assert_eq!(rep.service_subtype(), (s, t));
            let mut out = vec![0u8; rep.buffer_len()];
            rep.emit(&mut out).unwrap();
            prop_assert_eq!(&out, &data);
        }
    }

    #[test]
    fn text_round_trip(spec in req_strategy()) {
        with_request(&spec, |req| {
            let text = req.to_string();
            let mut buf = vec![0u8; 4096];
            let (s, t, n) = parse_request(&text, &mut buf)
                .map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
            let back = Request::parse(s, t, &buf[..n]).unwrap();
            prop_assert_eq!(back, req);
            prop_assert_eq!(back.to_string(), text);
            Ok(())
        })?;
    }

    #[test]
    fn parse_arbitrary_text_never_panics(text in ".{0,80}") {
        let mut buf = [0u8; 256];
        let _ = parse_request(&text, &mut buf);
    }

    #[test]
    fn parse_near_miss_text_never_panics(
        words in prop::collection::vec(prop::sample::select(vec![
            "memory", "load", "dump", "mem=", "bank-a", "addr=", "0x", "0xFFFFFFFF", "len=",
            "data=", "AB", "A", "crc=", "hk", "interval", "1=", "sid=", ",", "1", "param", "set",
            "hk_period_ms=", "alert_min_snr=", "1e9", "-0.0", "NaN", "table", "load", "id=",
            "version=", "total=", "offset=", "schedule", "insert", "at=", ":", "tc=",
            "1A40C00100062F110100011234", "function", "arm", "target=", "é", " ", "  ",
            "event", "enable", "boot", "99999999999999999999",
        ]), 0..14),
    ) {
        let text: String = words.concat();
        let mut buf = [0u8; 128];
        if let Ok((s, t, n)) = parse_request(&text, &mut buf) {
            prop_assert!(Request::parse(s, t, &buf[..n]).is_ok());
        }
        let spaced = words.join(" ");
        if let Ok((s, t, n)) = parse_request(&spaced, &mut buf) {
            prop_assert!(Request::parse(s, t, &buf[..n]).is_ok());
        }
    }
}
