//! The bench's session layer against the codec-only [`EchoUnit`] behind the twin's real
//! pseudo-terminals: connection, verification, failures, reconnection, faults, exactly-once.

use std::time::{Duration, Instant};

use eic_bench::link::{FaultSpec, LinkError, RetryPolicy};
use eic_bench::session::{Delivery, Session, SessionConfig, SessionError, Verdict};
use eic_bench::twin::{Twin, TwinConfig};
use eic_tests::EchoUnit;
use tc_tm::service::{FailureCode, Stage};

fn twin(unit: EchoUnit, cfg: TwinConfig) -> Twin<EchoUnit> {
    Twin::start(unit, cfg).expect("twin starts")
}

fn session(t: &Twin<EchoUnit>) -> Session {
    let mut s = Session::open(SessionConfig::fast(t.tctm_path())).expect("session opens");
    s.connect().expect("connects");
    s
}

#[test]
fn ping_completes_with_every_stage() {
    let t = twin(EchoUnit::new().with_v_r(200), TwinConfig::default());
    let mut s = session(&t);
    let id = s.send_raw(17, 1, &[]).unwrap();
    let o = s.wait(id).unwrap();
    assert!(o.is_success(), "{o:?}");
    assert_eq!(o.delivery, Delivery::Delivered);
    let Verdict::Completed { round_trip, .. } = o.verdict else { panic!("{o:?}") };
    assert!(round_trip < Duration::from_secs(1));
    // The 17,2 report is among the packets.
    let mut saw_17_2 = false;
    while let Some(p) = s.next_packet(Instant::now()).unwrap() {
        saw_17_2 |= (p.service, p.subtype) == (17, 2);
    }
    assert!(saw_17_2);
    let (unit, _) = t.stop().unwrap();
    assert_eq!(unit.counters.executed, 1);
    assert_eq!(unit.counters.per_request[&id], 1);
}

#[test]
fn acceptance_failure_is_reported_with_its_code() {
    let t = twin(EchoUnit::new(), TwinConfig::default());
    let mut s = session(&t);
    let id = s.send_raw(99, 1, &[]).unwrap();
    let o = s.wait(id).unwrap();
    let Verdict::Failed(f) = o.verdict else { panic!("{o:?}") };
    assert_eq!((f.stage, f.code), (Stage::Acceptance, FailureCode::UnknownService));
    assert_eq!(f.data.subject, 99 << 8 | 1);
    assert_eq!(o.delivery, Delivery::Delivered, "the frame was delivered, the TC refused");
}

#[test]
fn silent_device_is_a_bounded_clear_error() {
    // A pty nobody answers on: the twin's stimulus link drains and never sends frames.
    let t = twin(EchoUnit::new(), TwinConfig::default());
    let mut cfg = SessionConfig::fast(&t.paths().stimulus);
    cfg.clcw_timeout = Duration::from_millis(500);
    let mut s = Session::open(cfg).unwrap();
    let start = Instant::now();
    let e = s.connect().unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(3));
    assert!(matches!(e, SessionError::NoClcw { .. }), "{e}");
    let text = e.to_string();
    assert!(text.contains(&t.paths().stimulus.display().to_string()), "{text}");
    assert!(text.contains("baud"), "{text}");
}

#[test]
fn missing_and_busy_devices_name_the_device() {
    let e = Session::open(SessionConfig::fast("/dev/does-not-exist-eic")).unwrap_err();
    assert!(matches!(e, SessionError::Link(LinkError::NotFound { .. })), "{e}");
    assert!(e.to_string().contains("/dev/does-not-exist-eic"));
    let t = twin(EchoUnit::new(), TwinConfig::default());
    let _first = session(&t);
    let e = Session::open(SessionConfig::fast(t.tctm_path())).unwrap_err();
    assert!(matches!(e, SessionError::Link(LinkError::Busy { .. })), "{e}");
}

#[test]
fn reconnect_keeps_sequence_and_exactly_once() {
    let t = twin(EchoUnit::new(), TwinConfig::default());
    let mut ids = Vec::new();
    for round in 0..3 {
        let mut s = session(&t);
        s.encoder_mut().set_seq_count(round * 100);
        for _ in 0..10 {
            ids.push(s.send_raw(17, 1, &[]).unwrap());
        }
        assert!(s.flush(Duration::from_secs(10)).unwrap());
        for id in &ids[ids.len() - 10..] {
            assert!(s.wait(*id).unwrap().is_success());
        }
        if round == 1 {
            // Reconnect in place as well as by reopening.
            s.reconnect(RetryPolicy::default()).unwrap();
            s.connect().unwrap();
            let id = s.send_raw(17, 1, &[]).unwrap();
            assert!(s.wait(id).unwrap().is_success());
            ids.push(id);
        }
    }
    let (unit, _) = t.stop().unwrap();
    assert_eq!(unit.counters.executed, ids.len() as u64);
    assert!(ids.iter().all(|id| unit.counters.per_request[id] == 1));
}

#[test]
fn stack_of_500_tcs_through_faults_executes_each_once() {
    let spec = FaultSpec::parse("bitflip=1e-5,drop=0.001,seed=7").unwrap();
    let t = twin(EchoUnit::new(), TwinConfig::default().with_faults(&spec));
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("tm.eica");
    let mut cfg = SessionConfig::fast(t.tctm_path());
    cfg.archive = Some(archive.clone());
    // 0.1 % octet drops lose about two CADUs in three (1119 octets each, plus the resync):
    // allow for CLCWs several seconds apart when the unit only sends its 1 s idle frames.
    cfg.t1 = Duration::from_millis(200);
    cfg.transmission_limit = 100;
    cfg.clcw_timeout = Duration::from_secs(20);
    let mut s = Session::open(cfg).unwrap();
    s.connect().unwrap();
    let t0 = Instant::now();
    let ids: Vec<_> = (0..500).map(|_| s.send_raw(17, 1, &[]).unwrap()).collect();
    assert!(s.flush(Duration::from_secs(120)).unwrap(), "{:?}", s.stats());
    eprintln!("flushed after {:?}", t0.elapsed());
    // Let the last reports arrive.
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        s.pump(deadline).unwrap();
    }
    for id in &ids {
        assert_eq!(s.outcome(*id).delivery, Delivery::Delivered, "{id:?} {:?}", s.stats());
    }
    let st = s.stats();
    let tr = s.tracker().stats();
    let dl = s.downlink_stats();
    drop(s);
    let (unit, tw) = t.stop().unwrap();
    assert_eq!(unit.counters.executed, 500, "{st:?}");
    assert!(ids.iter().all(|id| unit.counters.per_request[id] == 1));
    // Faults did happen on both directions and were recovered from.
    assert!(tw.uplink_faults.octets_dropped > 0 && tw.downlink_faults.octets_dropped > 0);
    assert!(st.retransmissions > 0, "{st:?}");
    // No TC completed twice. At 0.1 % octet drops most CADUs are lost (a dropped octet also
    // costs the synchroniser the next CADU), so only some completions come through.
    assert_eq!(tr.unexpected, 0, "{tr:?}");
    assert!(tr.completions > 0, "{tr:?}");
    // Every CADU the receiver found is in the archive, in order, as received.
    let records = eic_bench::archive::read_file(&archive).unwrap().filter(|r| r.is_ok()).count();
    assert_eq!(records as u64, dl.frames);
    assert!(dl.frames > 0 && dl.frames <= tw.cadus_sent);
    eprintln!("500 TCs: session {st:?}\ntracker {tr:?}\ndownlink {dl:?}\ntwin {tw:?}");
}
