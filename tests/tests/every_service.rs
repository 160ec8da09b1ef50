//! Every service of the unit end to end on a provisioned unit (software 1.0.0 in both banks,
//! default tables active, safe mode), over a real pseudo-terminal and the bench session with
//! every ST\[01\] stage observed; one unit and one session for the whole test, reconnected in
//! the middle. ST\[200\] goes through the pull/push workflow. The same test runs against the
//! twin and against the firmware under QEMU ([`Target`]).

use std::time::{Duration, Instant};

use eic_bench::link::RetryPolicy;
use eic_bench::session::{Delivery, Session, TcEncoder, TcOutcome, TmPacket, Verdict};
use eic_bench::twin::cuc_now;
use eic_bench::workflow::tables as wf;
use eic_tests::{Target, TargetUnit};
use indicatif::ProgressBar;
use tables::TableId;
use tc_tm::pus::AckFlags;
use tc_tm::service::event::{EventId, Report as EventMsg};
use tc_tm::service::function::Mode;
use tc_tm::service::memory::Report as MemMsg;
use tc_tm::service::parameter::Report as ParamMsg;
use tc_tm::service::text::parse_request;
use tc_tm::service::{FailureCode, MAX_TC_APP_DATA_LEN, Report, Stage};

/// Sends a TC and waits for its verdict; returns it with every packet received meanwhile
/// (and for 120 ms after, for trailing reports).
fn tc(s: &mut Session, text: &str) -> (TcOutcome, Vec<TmPacket>) {
    let mut data = [0u8; MAX_TC_APP_DATA_LEN];
    let (service, subtype, len) = parse_request(text, &mut data).unwrap();
    s.clear_packets();
    let id = s.send_raw(service, subtype, &data[..len]).unwrap();
    let o = s.wait(id).unwrap();
    assert_eq!(o.delivery, Delivery::Delivered, "{text}: {o:?}");
    (o, collect(s, Duration::from_millis(120)))
}

fn collect(s: &mut Session, d: Duration) -> Vec<TmPacket> {
    let deadline = Instant::now() + d;
    let mut v = Vec::new();
    while let Some(p) = s.next_packet(deadline).unwrap() {
        v.push(p);
    }
    v
}

fn ok(s: &mut Session, text: &str) -> Vec<TmPacket> {
    let (o, p) = tc(s, text);
    assert!(matches!(o.verdict, Verdict::Completed { .. }), "{text}: {:?}", o.verdict);
    p
}

fn fails(s: &mut Session, text: &str, stage: Stage, code: FailureCode) {
    let (o, _) = tc(s, text);
    match o.verdict {
        Verdict::Failed(f) => assert_eq!((f.stage, f.code), (stage, code), "{text}: {f}"),
        v => panic!("{text}: failure expected, got {v:?}"),
    }
}

fn has(p: &[TmPacket], service: u8, subtype: u8) -> bool {
    p.iter().any(|p| (p.service, p.subtype) == (service, subtype))
}

fn events(p: &[TmPacket]) -> Vec<(EventId, Vec<u8>)> {
    p.iter()
        .filter_map(|p| match p.report() {
            Ok(Report::Event(EventMsg::Event(e))) => Some((e.id, e.aux.to_vec())),
            _ => None,
        })
        .collect()
}

fn hk_count(p: &[TmPacket]) -> usize {
    p.iter().filter(|p| (p.service, p.subtype) == (3, 25)).count()
}

fn param(p: &[TmPacket], id: u16) -> Option<u32> {
    p.iter().find_map(|p| match p.report() {
        Ok(Report::Parameter(ParamMsg::Values(list))) => {
            list.iter().find(|e| e.id.0 == id).map(|e| e.raw)
        }
        _ => None,
    })
}

#[test]
fn every_service_end_to_end_on_the_provisioned_twin() {
    every_service(Target::Twin);
}

#[test]
#[ignore = "needs QEMU (scripts/install-qemu.sh) and the firmware build; scripts/test runs it"]
fn every_service_end_to_end_on_the_firmware_under_qemu() {
    every_service(Target::Qemu);
}

fn every_service(target: Target) {
    let mut u = TargetUnit::start(target);
    let mut s = Session::open(u.session_config()).unwrap();
    s.connect().unwrap();
    assert_eq!(wf::read_mode(&mut s).unwrap(), Mode::Safe, "the factory image booted");

    // ST[17].
    assert!(has(&ok(&mut s, "test are-you-alive"), 17, 2));

    // ST[03]: one-shot, disable/enable periodic, interval.
    assert_eq!(hk_count(&ok(&mut s, "hk one-shot sid=1")), 1);
    ok(&mut s, "hk disable sid=1");
    assert_eq!(hk_count(&collect(&mut s, Duration::from_millis(1500))), 0, "periodic off");
    ok(&mut s, "hk interval 1=300");
    ok(&mut s, "hk enable sid=1");
    let n = hk_count(&collect(&mut s, Duration::from_millis(1500)));
    assert!((3..=7).contains(&n), "{n} reports in 1.5 s at 300 ms");
    fails(&mut s, "hk interval 1=100000", Stage::Start, FailureCode::ParameterOutOfRange);
    fails(&mut s, "hk one-shot sid=9", Stage::Start, FailureCode::SidUnknown);
    ok(&mut s, "hk interval 1=1000");

    // ST[05]: a disabled event is not reported, an enabled one is.
    ok(&mut s, "event disable id=critical-armed");
    let p = ok(&mut s, "function arm target=reset");
    assert!(!events(&p).iter().any(|(e, _)| *e == EventId::CriticalArmed));
    ok(&mut s, "event enable id=critical-armed");
    let p = ok(&mut s, "function arm target=reset");
    assert!(events(&p).iter().any(|(e, _)| *e == EventId::CriticalArmed));
    fails(&mut s, "event enable id=0x7777", Stage::Start, FailureCode::EventIdUnknown);

    // ST[06]: loads only in maintenance; load, dump, check; the running bank is protected.
    let load = "memory load mem=patch addr=0x10 data=DEADBEEF";
    fails(&mut s, load, Stage::Start, FailureCode::NotAllowedInMode);
    ok(&mut s, "function mode mode=maintenance");
    ok(&mut s, load);
    let p = ok(&mut s, "memory dump mem=patch addr=0x10 len=4");
    assert!(p.iter().any(|p| (p.service, p.subtype) == (6, 6)
        && p.source_data().windows(4).any(|w| w == [0xDE, 0xAD, 0xBE, 0xEF])));
    let p = ok(&mut s, "memory check mem=patch addr=0x10 len=4");
    let crc = p.iter().find_map(|p| match p.report() {
        Ok(Report::Memory(MemMsg::Check(c))) => Some(c.crc),
        _ => None,
    });
    assert!(crc.is_some(), "6,10 report");
    fails(
        &mut s,
        "memory load mem=bank-a addr=0x0 data=00",
        Stage::Start,
        FailureCode::WriteProtected,
    );
    ok(&mut s, "function mode mode=safe");

    // ST[20]: report and set; read-only refused.
    let p = ok(&mut s, "param get id=sw_version,arm_timeout_ms");
    assert_eq!(param(&p, 0x0030), Some(0x0100_0000), "software 1.0.0+0 runs");
    assert_eq!(param(&p, 0x0002), Some(30_000));
    ok(&mut s, "param set arm_timeout_ms=20000");
    assert_eq!(param(&ok(&mut s, "param get id=arm_timeout_ms"), 0x0002), Some(20_000));
    fails(&mut s, "param set sw_version=2", Stage::Start, FailureCode::ParameterReadOnly);

    // ST[08]: modes, counters, triggers.
    ok(&mut s, "function mode mode=standby");
    assert_eq!(wf::read_mode(&mut s).unwrap(), Mode::Standby);
    fails(
        &mut s,
        "function mode mode=maintenance",
        Stage::Start,
        FailureCode::ModeTransitionRefused,
    );
    ok(&mut s, "function mode mode=safe");
    ok(&mut s, "function trigger-disable which=both");
    ok(&mut s, "function trigger-enable which=crt");
    let p = ok(&mut s, "function clear-counters");
    assert!(events(&p).iter().any(|(e, _)| *e == EventId::CountersCleared));

    // Reconnect in the middle of the session: the same session carries on.
    s.reconnect(RetryPolicy::default()).unwrap();
    s.connect().unwrap();
    assert!(has(&ok(&mut s, "test are-you-alive"), 17, 2));

    // ST[11]: a time-tagged 17,1 inserted, released 2 s later with its own 17,2.
    let mut enc = TcEncoder::new();
    enc.set_seq_count(0x1234);
    let (packet, _) = enc.packet(17, 1, &[]).unwrap();
    let at = cuc_now().coarse + 2;
    ok(&mut s, "schedule enable");
    ok(&mut s, &format!("schedule insert at={at}:0 tc={}", hex::encode_upper(&packet)));
    let p = collect(&mut s, Duration::from_millis(3500));
    assert!(events(&p).iter().any(|(e, _)| *e == EventId::ScheduleReleased), "released");
    assert!(has(&p, 17, 2), "the released TC executed");
    let past = format!("schedule insert at=1000:0 tc={}", hex::encode_upper(&packet));
    fails(&mut s, &past, Stage::Start, FailureCode::ReleaseTimeInPast);

    // ST[200]: pull, push a changed alert table, pull again.
    let bar = ProgressBar::hidden();
    let before = wf::pull(&mut s, &bar).unwrap();
    assert_eq!(before.set().unwrap(), tables::defaults::default_set());
    let mut target = tables::defaults::default_set();
    target.alert.version = 3;
    target.alert.max_slews_per_day = 12;
    let (plan, report) = wf::push(&mut s, &target, &bar).unwrap();
    assert_eq!(plan.tables, vec![TableId::Alert]);
    let report = report.unwrap();
    assert_eq!(report.after.set().unwrap(), target);
    assert_eq!(report.after.entry(TableId::Alert).unwrap().active_version, 3);
    assert_eq!(wf::read_mode(&mut s).unwrap(), Mode::Safe, "mode restored after the push");

    // A refusal: the validation CRC is corrupted in the plan; the load is aborted, the active
    // table and the mode stay as they were, and the error says which table and why.
    let mut next = target.clone();
    next.alert.version = 4;
    let (unit, mut plan) = wf::prepare(&mut s, &next, &bar).unwrap();
    assert_eq!(unit.set().unwrap(), target);
    let v = plan.tcs.iter_mut().find(|t| t.step == wf::Step::Validate(TableId::Alert)).unwrap();
    v.data[1] ^= 0xFF;
    match wf::execute(&mut s, &plan, &next, &bar) {
        Err(e) => {
            let msg = e.to_string();
            let wf::WorkflowError::PushFailed {
                table,
                cause,
                activated,
                aborted,
                mode_restored,
                holds,
                undo_error,
            } = e
            else {
                panic!("push failure expected: {msg}")
            };
            assert_eq!(table, Some(TableId::Alert));
            assert!(activated.is_empty());
            assert_eq!(aborted, [TableId::Alert]);
            assert_eq!(mode_restored, Some(Mode::Safe));
            assert!(undo_error.is_none(), "{undo_error:?}");
            // Read back, not assumed: the alert table is still the old image.
            let holds = holds.expect("read back");
            assert_eq!(holds.len(), 1);
            assert_eq!((holds[0].table, holds[0].is_target), (TableId::Alert, false));
            assert!(msg.contains("the old image") && msg.contains("mode: safe"), "{msg}");
            match *cause {
                wf::WorkflowError::Refused { failure, .. } => {
                    assert_eq!(failure.code, FailureCode::TableCrcMismatch)
                }
                other => panic!("{other}"),
            }
            assert!(msg.contains("alert") && msg.contains("table_crc_mismatch"), "{msg}");
        }
        Ok(r) => panic!("push failure expected: {r:?}"),
    }
    assert_eq!(wf::pull(&mut s, &bar).unwrap().set().unwrap(), target, "active unchanged");
    assert_eq!(wf::read_mode(&mut s).unwrap(), Mode::Safe, "mode restored after the failure");

    // ST[08] critical: select bank B, reset; the boot event names bank B.
    ok(&mut s, "function arm target=select-boot-bank");
    ok(&mut s, "function select-boot-bank bank=B");
    ok(&mut s, "function arm target=reset");
    // A reset sends 1,1 and 1,3, then the boot event: no completion report to wait for.
    let ack = s.encoder_mut().ack();
    s.encoder_mut().set_ack(AckFlags::new(0b1100).unwrap());
    let (o, mut p) = tc(&mut s, "function reset");
    s.encoder_mut().set_ack(ack);
    assert!(matches!(o.verdict, Verdict::Completed { .. }), "{o:?}");
    p.extend(collect(&mut s, Duration::from_millis(700)));
    let boot = events(&p).into_iter().find(|(e, _)| *e == EventId::Boot).expect("boot event");
    assert_eq!(boot.1[0], 0x02, "booted bank B (ST[08] bank B = 0x02): {boot:?}");
    assert_eq!(wf::read_mode(&mut s).unwrap(), Mode::Safe);
    // The tables survived the reset.
    assert_eq!(wf::pull(&mut s, &bar).unwrap().set().unwrap(), target);

    drop(s);
    if let Some(c) = u.power_off() {
        assert_eq!(c.tc_rejected, 0, "{c:?}");
    }
}
