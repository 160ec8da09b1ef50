//! End to end through CLTUs and CADUs: ST[01] verification and every acceptance failure code,
//! ST[17], ST[03], ST[05], ST[20].

mod unit_harness;

use tc_tm::mission;
use tc_tm::pus::AckFlags;
use tc_tm::service::event::EventId;
use tc_tm::service::function::{Function, Mode};
use tc_tm::service::housekeeping::{self as hk, HousekeepingReport, Sid, SidInterval};
use tc_tm::service::parameter::{self as param, ParamEntry, ParamId};
use tc_tm::service::verification::Report as V;
use tc_tm::service::{FailureCode, List, Report, Request, event, test};
use unit_harness::{Ground, fix_pec, raw_tc};

fn alive() -> Request<'static> {
    Request::Test(test::Request::AreYouAlive)
}

#[test]
fn are_you_alive_with_every_verification_stage() {
    let mut g = Ground::new("alive");
    let rid = g.exec(&alive());
    g.assert_ok(rid);
    let reports: Vec<_> = g.of(17, 2);
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].dest, mission::BENCH_SOURCE_ID);
    assert_eq!(reports[0].apid, mission::APID_UGTS.value());
    assert_eq!(reports[0].vc, mission::VC_HK);
    // Reports come in ECSS order: acceptance, start, the report, completion.
    let order: Vec<(u8, u8)> = g.tm.iter().map(|t| (t.service, t.subtype)).collect();
    assert_eq!(order, [(1, 1), (1, 3), (17, 2), (1, 7)]);
    let c = g.unit.counters();
    assert_eq!((c.tc_accepted, c.tc_executed), (1, 1));
    assert_eq!(c.service(17).unwrap().executed, 1);
}

#[test]
fn ack_flags_select_success_reports_only() {
    let mut g = Ground::new("ack");
    let rid = g.send_ack(&alive(), AckFlags::NONE);
    g.drain();
    assert!(g.stages(rid).is_empty());
    assert_eq!(g.of(17, 2).len(), 1);
    let rid = g.send_ack(&alive(), AckFlags::COMPLETION);
    g.drain();
    assert_eq!(g.stages(rid), [7]);
    // Failures are reported whatever the flags (ECSS-E-ST-70-41C §6.1.3).
    let mut b = [0u8; 2];
    let req = Request::Parameter(param::Request::Report(
        List::encode_into(&[ParamId(0x7777)], &mut b).unwrap(),
    ));
    let rid = g.send_ack(&req, AckFlags::NONE);
    g.drain();
    assert_eq!(g.stages(rid), [4]);
    let p = g.packet(99, 1, &[], AckFlags::NONE);
    let rid = g.send_packet(&p);
    g.drain();
    assert_eq!(g.stages(rid), [2]);
}

/// Sends `packet` and returns the acceptance failure reported.
fn rejected(
    g: &mut Ground<onboard::storage_fs::FsStorage>,
    packet: &[u8],
    code: FailureCode,
) -> u32 {
    g.take();
    let rid = g.send_packet(packet);
    g.drain();
    let f = g.assert_failed(rid, code);
    assert_eq!(g.stages(rid), [2], "a rejected TC gets its 1,2 only");
    f.data.value
}

#[test]
fn every_acceptance_failure_code() {
    let mut g = Ground::new("acceptance");
    let ok = g.packet(17, 1, &[], AckFlags::ALL);

    let mut p = ok.clone();
    *p.last_mut().unwrap() ^= 0xFF;
    rejected(&mut g, &p, FailureCode::BadPec);

    // Packet length field disagreeing with the frame's segment.
    let mut p = ok.clone();
    p.push(0);
    assert_eq!(rejected(&mut g, &p, FailureCode::BadLength), ok.len() as u32);

    let mut p = ok.clone();
    p[0] |= 0x20; // version 1
    fix_pec(&mut p);
    assert_eq!(rejected(&mut g, &p, FailureCode::BadPacketVersion), 1);

    let mut p = ok.clone();
    p[0] &= !0x10; // TM type
    fix_pec(&mut p);
    rejected(&mut g, &p, FailureCode::BadPacketType);

    let mut p = ok.clone();
    p[0] &= !0x08; // no secondary header
    fix_pec(&mut p);
    rejected(&mut g, &p, FailureCode::BadPacketType);

    let p = raw_tc(0x241, 3, 17, 1, &[]);
    assert_eq!(rejected(&mut g, &p, FailureCode::BadApid), 0x241);

    let mut p = ok.clone();
    p[6] = 0x1F; // PUS version 1
    fix_pec(&mut p);
    assert_eq!(rejected(&mut g, &p, FailureCode::BadPusVersion), 1);

    let p = raw_tc(0x240, 1, 17, 1, &[]);
    rejected(&mut g, &p, FailureCode::BadSequenceFlags);

    let p = g.packet(42, 1, &[], AckFlags::ALL);
    rejected(&mut g, &p, FailureCode::UnknownService);
    let p = g.packet(17, 3, &[], AckFlags::ALL);
    rejected(&mut g, &p, FailureCode::UnknownSubtype);
    let p = g.packet(17, 1, &[0], AckFlags::ALL);
    rejected(&mut g, &p, FailureCode::MalformedData);
    let p = g.packet(8, 1, &[0x06, 0x09], AckFlags::ALL); // mode 9
    assert_eq!(rejected(&mut g, &p, FailureCode::BadEnumValue), 9);
    let p = g.packet(3, 5, &[0], AckFlags::ALL);
    rejected(&mut g, &p, FailureCode::BadCount);
    let p = g.packet(8, 1, &[0x44], AckFlags::ALL);
    rejected(&mut g, &p, FailureCode::FunctionUnknown);

    // The failure data of an acceptance failure names the service and subtype.
    let p = g.packet(3, 5, &[0], AckFlags::ALL);
    g.take();
    let rid = g.send_packet(&p);
    g.drain();
    assert_eq!(g.assert_failed(rid, FailureCode::BadCount).data.subject, 0x0305);

    // A frame can carry at most 1016 octets of packet: `packet_too_long` is the check of a
    // packet that claims more (the codec's limit), seen by the acceptance function directly.
    let big = vec![0u8; 1017];
    let mut p = g.packet(17, 1, &big[..1004], AckFlags::ALL);
    assert_eq!(p.len(), 1017);
    fix_pec(&mut p);
    let r = onboard::services::accept(&p, Mode::Safe).unwrap_err();
    assert_eq!(r.failure.code, FailureCode::PacketTooLong);

    let c = g.unit.counters();
    assert_eq!(c.tc_rejected, 15);
    assert_eq!(c.tc_accepted, 0);
    let hk = g.unit.hk_report();
    assert_eq!(hk.tc_rejected, 15);
    assert_eq!(hk.last_failure, FailureCode::BadCount);
}

#[test]
fn packet_shorter_than_a_request_id_is_counted_not_reported() {
    let mut g = Ground::new("short");
    let f = g.frame(&[0x18, 0x40, 0xC0], false);
    g.send_frame(&f);
    g.drain();
    assert!(g.tm.iter().all(|t| t.service != 1));
    assert_eq!(g.unit.counters().tc_unreported, 1);
}

fn sids<'a>(s: &[Sid], buf: &'a mut [u8]) -> List<'a, Sid> {
    List::encode_into(s, buf).unwrap()
}

#[test]
fn housekeeping_periodic_one_shot_interval() {
    let mut g = Ground::new("hk");
    // Reports at 1, 2 and 3 s, each flushed 200 ms later (`tm_flush_timeout_ms`).
    g.advance(3_300, 100);
    let periodic: Vec<_> = g.of(3, 25).into_iter().cloned().collect();
    assert_eq!(periodic.len(), 3, "one report per second by default");
    assert!(periodic.iter().all(|t| t.dest == 0));
    let Report::Housekeeping(hk::Report::Housekeeping(HousekeepingReport::Ugts(r))) =
        periodic[2].report()
    else {
        panic!()
    };
    assert_eq!(r.mode, Mode::Safe);
    assert_eq!(r.sw_version, 0x0102_0100);
    assert_eq!(r.table_count, 7);
    assert_eq!(r.tables[0].table_id, 1);
    assert!(r.schedule_enabled);
    assert_eq!(r.uptime_s, 3);

    // Interval 500 ms.
    let mut b = [0u8; 6];
    let items =
        List::encode_into(&[SidInterval { sid: Sid::UGTS, interval_ms: 500 }], &mut b).unwrap();
    let rid = g.exec(&Request::Housekeeping(hk::Request::ModifyInterval(items)));
    g.assert_ok(rid);
    g.take();
    g.advance(2_300, 50);
    assert_eq!(g.of(3, 25).len(), 4);

    // Disable: none; one-shot still answers, to the requester.
    let mut b = [0u8; 2];
    let rid =
        g.exec(&Request::Housekeeping(hk::Request::DisablePeriodic(sids(&[Sid::UGTS], &mut b))));
    g.assert_ok(rid);
    g.take();
    g.advance(2_000, 100);
    assert!(g.of(3, 25).is_empty());
    let rid = g.exec(&Request::Housekeeping(hk::Request::OneShot(sids(&[Sid::UGTS], &mut b))));
    g.assert_ok(rid);
    assert_eq!(g.of(3, 25).len(), 1);
    assert_eq!(g.of(3, 25)[0].dest, 1);

    // Failures: unknown SID (index of the item), interval out of range.
    let mut b = [0u8; 4];
    let rid = g.exec(&Request::Housekeeping(hk::Request::EnablePeriodic(sids(
        &[Sid::UGTS, Sid(7)],
        &mut b,
    ))));
    let f = g.assert_failed(rid, FailureCode::SidUnknown);
    assert_eq!((f.data.subject, f.data.index), (7, 1));
    let mut b = [0u8; 6];
    let items =
        List::encode_into(&[SidInterval { sid: Sid::UGTS, interval_ms: 10 }], &mut b).unwrap();
    let rid = g.exec(&Request::Housekeeping(hk::Request::ModifyInterval(items)));
    let f = g.assert_failed(rid, FailureCode::ParameterOutOfRange);
    assert_eq!((f.data.subject, f.data.value), (0x0001, 10));
    // Periodic still off: the failed enable changed nothing.
    g.take();
    g.advance(1_500, 100);
    assert!(g.of(3, 25).is_empty());
}

#[test]
fn events_enable_disable() {
    let mut g = Ground::new("events");
    let mut b = [0u8; 2];
    let ids = List::encode_into(&[EventId::ModeChanged], &mut b).unwrap();
    let rid = g.exec(&Request::Event(event::Request::Disable(ids)));
    g.assert_ok(rid);
    let rid = g.exec(&Request::Function(tc_tm::service::function::Request::Perform(
        Function::ChangeMode(Mode::Standby),
    )));
    g.assert_ok(rid);
    assert!(!g.has_event(EventId::ModeChanged));
    let rid = g.exec(&Request::Event(event::Request::Enable(ids)));
    g.assert_ok(rid);
    g.exec(&Request::Function(tc_tm::service::function::Request::Perform(Function::ChangeMode(
        Mode::Safe,
    ))));
    let ev: Vec<_> = g.events().into_iter().filter(|(e, _)| *e == EventId::ModeChanged).collect();
    assert_eq!(ev, [(EventId::ModeChanged, vec![0x03, 0x02])]);
    let t = g.tm.iter().find(|t| t.service == 5).unwrap();
    assert_eq!(t.subtype, 1, "informative severity");

    let mut b = [0u8; 4];
    let ids = List::encode_into(&[EventId::Boot, EventId::Unknown(0x0999)], &mut b).unwrap();
    let rid = g.exec(&Request::Event(event::Request::Disable(ids)));
    let f = g.assert_failed(rid, FailureCode::EventIdUnknown);
    assert_eq!((f.data.subject, f.data.index), (0x0999, 1));
    assert!(g.unit.event_enabled(EventId::Boot), "nothing applied");
}

#[test]
fn parameters_report_and_set() {
    let mut g = Ground::new("params");
    let mut b = [0u8; 6];
    let ids =
        List::encode_into(&[ParamId(0x0001), ParamId(0x0030), ParamId(0x0020)], &mut b).unwrap();
    let rid = g.exec(&Request::Parameter(param::Request::Report(ids)));
    g.assert_ok(rid);
    let t = g.of(20, 2)[0].clone();
    let Report::Parameter(param::Report::Values(values)) = t.report() else { panic!() };
    let values: Vec<_> = values.iter().map(|e| (e.id.0, e.raw)).collect();
    assert_eq!(values, [(1, 1000), (0x30, 0x0102_0100), (0x20, 6.5f32.to_bits())]);

    let mut b = [0u8; 12];
    let set = [
        ParamEntry { id: ParamId(0x0002), raw: 5000 },
        ParamEntry { id: ParamId(0x0020), raw: 7.5f32.to_bits() },
    ];
    let rid =
        g.exec(&Request::Parameter(param::Request::Set(List::encode_into(&set, &mut b).unwrap())));
    g.assert_ok(rid);
    let changed: Vec<_> =
        g.events().into_iter().filter(|(e, _)| *e == EventId::ParameterChanged).collect();
    assert_eq!(changed.len(), 2);
    assert_eq!(changed[0].1, [0, 2, 0, 0, 0x75, 0x30, 0, 0, 0x13, 0x88]);

    for (entry, code) in [
        (ParamEntry { id: ParamId(0x0999), raw: 1 }, FailureCode::ParameterUnknown),
        (ParamEntry { id: ParamId(0x0030), raw: 1 }, FailureCode::ParameterReadOnly),
        (ParamEntry { id: ParamId(0x0001), raw: 99 }, FailureCode::ParameterOutOfRange),
        (ParamEntry { id: ParamId(0x0010), raw: 2 }, FailureCode::ParameterOutOfRange),
    ] {
        let mut b = [0u8; 12];
        let items = [ParamEntry { id: ParamId(0x0003), raw: 50 }, entry];
        let rid = g.exec(&Request::Parameter(param::Request::Set(
            List::encode_into(&items, &mut b).unwrap(),
        )));
        let f = g.assert_failed(rid, code);
        assert_eq!((f.data.subject, f.data.index, f.data.value), (entry.id.0, 1, entry.raw));
    }
    // None applied: the first item of each failed set is not in force.
    let mut b = [0u8; 2];
    let ids = List::encode_into(&[ParamId(0x0003)], &mut b).unwrap();
    g.take();
    g.exec(&Request::Parameter(param::Request::Report(ids)));
    let Report::Parameter(param::Report::Values(v)) = g.of(20, 2)[0].report() else { panic!() };
    assert_eq!(v.iter().next().unwrap().raw, 200);
    let mut b = [0u8; 2];
    let ids = List::encode_into(&[ParamId(0x0999)], &mut b).unwrap();
    let rid = g.exec(&Request::Parameter(param::Request::Report(ids)));
    g.assert_failed(rid, FailureCode::ParameterUnknown);
}

#[test]
fn verification_reports_carry_the_request_id() {
    let mut g = Ground::new("rid");
    let rid = g.exec(&alive());
    let v = g.verifications(rid);
    assert!(matches!(v[0], V::AcceptanceSuccess(r) if r == rid));
    assert_eq!(rid.apid(), mission::APID_UGTS);
}
