//! The bench against the real on-board unit (`onboard::unit::Unit`) in the twin, over real
//! pseudo-terminals: every kind of TC with its verification, reconnection, exactly-once under
//! faults, persistence of the state directory.

use std::time::{Duration, Instant};

use eic_bench::link::{FaultSpec, RetryPolicy};
use eic_bench::session::{Delivery, Session, SessionConfig, Verdict};
use eic_bench::twin::{TwinConfig, UnitTwin};
use tc_tm::service::text::parse_request;
use tc_tm::service::{FailureCode, MAX_TC_APP_DATA_LEN, Stage};

/// A twin over `dir`: provisioned from the factory when created, or blank (boot mode).
fn start(dir: &std::path::Path, blank: bool, cfg: TwinConfig) -> UnitTwin {
    UnitTwin::start(dir, blank, cfg).unwrap()
}

fn send(s: &mut Session, text: &str) -> eic_bench::session::TcOutcome {
    let mut data = [0u8; MAX_TC_APP_DATA_LEN];
    let (service, subtype, len) = parse_request(text, &mut data).unwrap();
    let id = s.send_raw(service, subtype, &data[..len]).unwrap();
    s.wait(id).unwrap()
}

fn failed(o: &eic_bench::session::TcOutcome) -> (Stage, FailureCode) {
    match o.verdict {
        Verdict::Failed(f) => (f.stage, f.code),
        v => panic!("failure expected, got {v:?}"),
    }
}

#[test]
fn blank_unit_in_boot_mode_verifies_what_exists_and_refuses_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let t = start(dir.path(), true, TwinConfig::default());
    let mut s = Session::open(SessionConfig::fast(t.tctm_path())).unwrap();
    s.connect().unwrap();

    // Success through every stage, with its own report.
    assert!(send(&mut s, "test are-you-alive").is_success());
    // Memory services exist in boot mode.
    assert!(send(&mut s, "memory check mem=bank-a addr=0x0 len=1024").is_success());
    assert!(send(&mut s, "memory dump mem=bank-b addr=0x0 len=64").is_success());
    assert!(send(&mut s, "memory load mem=patch addr=0x0 data=DEADBEEF").is_success());
    // Start failure: critical function not armed; then armed, it runs.
    let o = send(&mut s, "function select-boot-bank bank=B");
    assert_eq!(failed(&o), (Stage::Start, FailureCode::NotArmed));
    assert_eq!(o.delivery, Delivery::Delivered);
    assert!(send(&mut s, "function arm target=select-boot-bank").is_success());
    let o = send(&mut s, "function select-boot-bank bank=B");
    // The unit may refuse bank B because it holds no valid image: either way a verdict.
    assert!(o.verdict.is_final(), "{o:?}");
    // Acceptance failure: the boot software has no ST[20].
    let o = send(&mut s, "param get id=hk_period_ms");
    assert_eq!(failed(&o).0, Stage::Acceptance);
    // Write to the read-only EEPROM.
    let o = send(&mut s, "memory load mem=eeprom addr=0x0 data=00");
    assert_eq!(failed(&o), (Stage::Start, FailureCode::WriteProtected));

    // The dump and check reports arrived as packets.
    let mut seen = std::collections::BTreeSet::new();
    while let Some(p) = s.next_packet(Instant::now()).unwrap() {
        seen.insert((p.service, p.subtype));
    }
    for st in [(17, 2), (6, 6), (6, 10), (1, 1), (1, 4), (1, 2), (1, 7)] {
        assert!(seen.contains(&st), "{st:?} missing from {seen:?}");
    }
    drop(s);
    let c = t.twin.with_model(|u| *u.counters()).unwrap();
    assert_eq!(c.tc_rejected, 1);
    assert!(c.tc_accepted >= 8);
}

#[test]
fn round_trip_is_milliseconds_and_reconnect_works() {
    let dir = tempfile::tempdir().unwrap();
    let t = start(dir.path(), false, TwinConfig::default());
    let mut rt = Vec::new();
    for _ in 0..3 {
        let mut s = Session::open(SessionConfig::fast(t.tctm_path())).unwrap();
        s.connect().unwrap();
        for _ in 0..5 {
            let o = send(&mut s, "test are-you-alive");
            let Verdict::Completed { round_trip, .. } = o.verdict else { panic!("{o:?}") };
            rt.push(round_trip);
        }
        s.reconnect(RetryPolicy::default()).unwrap();
        s.connect().unwrap();
        assert!(send(&mut s, "test are-you-alive").is_success());
    }
    rt.sort();
    // Generous bound for a debug build on a loaded machine; the benchmark measures release.
    assert!(rt[rt.len() / 2] < Duration::from_millis(200), "{rt:?}");
    let c = t.twin.with_model(|u| *u.counters()).unwrap();
    assert_eq!(c.service(17).unwrap().executed, 18);
}

#[test]
fn stack_of_500_tcs_through_faults_executes_each_once_on_the_unit() {
    let dir = tempfile::tempdir().unwrap();
    let spec = FaultSpec::parse("bitflip=1e-5,drop=0.001,seed=11").unwrap();
    let t = start(dir.path(), false, TwinConfig::default().with_faults(&spec));
    let adir = tempfile::tempdir().unwrap();
    let archive = adir.path().join("tm.eica");
    let mut cfg = SessionConfig::fast(t.tctm_path());
    cfg.archive = Some(archive.clone());
    cfg.t1 = Duration::from_millis(200);
    cfg.transmission_limit = 100;
    cfg.clcw_timeout = Duration::from_secs(20);
    let mut s = Session::open(cfg).unwrap();
    s.connect().unwrap();
    let ids: Vec<_> = (0..500).map(|_| s.send_raw(17, 1, &[]).unwrap()).collect();
    assert!(s.flush(Duration::from_secs(240)).unwrap(), "{:?}", s.stats());
    for id in &ids {
        assert_eq!(s.outcome(*id).delivery, Delivery::Delivered);
    }
    let deadline = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < deadline {
        s.pump(deadline).unwrap();
    }
    let (tr, dl) = (s.tracker().stats(), s.downlink_stats());
    drop(s);
    let (c, tw) = t.stop().unwrap();
    assert_eq!(c.service(17).unwrap().executed, 500, "{c:?}");
    assert_eq!(c.tc_accepted, 500);
    assert_eq!(tr.unexpected, 0, "no TC completed twice: {tr:?}");
    assert!(tw.uplink_faults.octets_dropped > 0 && tw.downlink_faults.octets_dropped > 0);
    let records = eic_bench::archive::read_file(&archive).unwrap().filter(|r| r.is_ok()).count();
    assert_eq!(records as u64, dl.frames, "every CADU found is archived");
}

#[test]
fn state_directory_persists_across_twin_runs() {
    let dir = tempfile::tempdir().unwrap();
    {
        let t = start(dir.path(), false, TwinConfig::default());
        let mut s = Session::open(SessionConfig::fast(t.tctm_path())).unwrap();
        s.connect().unwrap();
        // Memory loads are a maintenance activity.
        assert!(send(&mut s, "function mode mode=maintenance").is_success());
        assert!(send(&mut s, "memory load mem=bank-b addr=0x10 data=CAFEF00D").is_success());
        drop(s);
        t.stop().unwrap();
    }
    let t = start(dir.path(), false, TwinConfig::default());
    let mut s = Session::open(SessionConfig::fast(t.tctm_path())).unwrap();
    s.connect().unwrap();
    s.clear_packets();
    assert!(send(&mut s, "memory dump mem=bank-b addr=0x10 len=4").is_success());
    let mut found = false;
    while let Some(p) = s.next_packet(Instant::now() + Duration::from_millis(300)).unwrap() {
        if (p.service, p.subtype) == (6, 6) {
            found = p.source_data().windows(4).any(|w| w == [0xCA, 0xFE, 0xF0, 0x0D]);
        }
    }
    assert!(found, "bank B kept what was loaded before the restart");
}
