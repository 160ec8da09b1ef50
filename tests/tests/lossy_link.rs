//! Every workflow on a lossy link (issue #9): the twin's own fault injection on both
//! directions, over real pseudo-terminals. A TC is reported failed only when the unit says so;
//! a lost report is resolved by asking the unit (17,128 → 17,129); a dump re-requests only the
//! ranges it lost (200,9); a push completes and reads back equal.

use std::time::{Duration, Instant};

use eic_bench::link::FaultSpec;
use eic_bench::session::{Session, SessionConfig, Verdict};
use eic_bench::twin::{TwinConfig, UnitTwin};
use tc_tm::service::MAX_TC_APP_DATA_LEN;
use tc_tm::service::text::parse_request;

/// The session settings of these tests: the fast twin's, with FOP-1 tuned for a line where
/// CLCWs are sparse (as `unit_twin`'s 500-TC fault test).
pub fn lossy_cfg(t: &UnitTwin) -> SessionConfig {
    let mut cfg = SessionConfig::fast(t.tctm_path());
    cfg.t1 = Duration::from_millis(200);
    cfg.transmission_limit = 100;
    cfg.set_clcw_timeout(Duration::from_secs(20));
    cfg.max_queries = 30;
    cfg
}

pub fn twin(dir: &std::path::Path, faults: &str) -> UnitTwin {
    let spec = FaultSpec::parse(faults).unwrap();
    UnitTwin::start(dir, false, TwinConfig::default().with_faults(&spec)).unwrap()
}

/// `LOSSY_N` overrides the count (for a quick look).
fn n_tcs(default: usize) -> usize {
    std::env::var("LOSSY_N").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Sends `n` TCs in batches of `batch` (1: one at a time, as `tc send` does: each waited for
/// before the next) and checks each verdict against the unit's counters: none failed (the unit
/// refuses none of them), every completed one executed, and executions = completed + (in doubt
/// that executed).
fn tcs_reported_as_the_unit_counts(faults: &str, n: usize, batch: usize) -> (usize, usize, usize) {
    let (c, x, d, _) = tcs_reported_as_the_unit_counts_with(faults, n, batch, |c| c);
    (c, x, d)
}

/// [`tcs_reported_as_the_unit_counts`] with the session settings changed by `cfg`; also
/// returns the session's counters.
fn tcs_reported_as_the_unit_counts_with(
    faults: &str,
    n: usize,
    batch: usize,
    cfg: impl FnOnce(SessionConfig) -> SessionConfig,
) -> (usize, usize, usize, eic_bench::session::SessionStats) {
    let dir = tempfile::tempdir().unwrap();
    let t = twin(dir.path(), faults);
    let mut s = Session::open(cfg(lossy_cfg(&t))).unwrap();
    s.connect().unwrap();
    let (mut completed, mut not_executed, mut in_doubt) = (0, 0, 0);
    let start = Instant::now();
    let mut data = [0u8; MAX_TC_APP_DATA_LEN];
    let (service, subtype, len) = parse_request("event enable id=saa-entry", &mut data).unwrap();
    let mut sent = 0;
    while sent < n {
        if std::env::var_os("LOSSY_TRACE").is_some() {
            eprintln!("{sent}: {:.1} s {:?}", start.elapsed().as_secs_f64(), s.stats());
        }
        let k = batch.min(n - sent);
        let ids: Vec<_> =
            (0..k).map(|_| s.send_raw(service, subtype, &data[..len]).unwrap()).collect();
        sent += k;
        for id in ids {
            let o = s.wait(id).unwrap();
            match o.verdict {
                Verdict::Completed { .. } => completed += 1,
                Verdict::NotExecuted => not_executed += 1,
                Verdict::InDoubt { .. } => in_doubt += 1,
                v => panic!("a TC the unit executes or never received was reported {v:?}"),
            }
            s.forget(id);
        }
    }
    let stats = s.stats();
    drop(s);
    let (c, tw) = t.stop().unwrap();
    let executed = c.service(5).unwrap().executed as usize;
    eprintln!(
        "{faults}: {n} TCs (batches of {batch}) in {:.1} s: completed {completed}, not executed \
         {not_executed}, in doubt {in_doubt}; unit executed {executed}; {} queries; downlink \
         octets dropped {}",
        start.elapsed().as_secs_f64(),
        stats.queries,
        tw.downlink_faults.octets_dropped
    );
    assert_eq!(c.service(5).unwrap().failed, 0);
    assert!(executed >= completed, "a TC reported completed did not execute");
    assert!(executed <= completed + in_doubt, "an executed TC was reported not executed");
    assert_eq!(completed + not_executed + in_doubt, n);
    (completed, not_executed, in_doubt, stats)
}

#[test]
fn two_hundred_tcs_each_reported_as_the_unit_counts_them() {
    for seed in [3, 8] {
        let (completed, _, in_doubt) = tcs_reported_as_the_unit_counts(
            &format!("bitflip=1e-5,drop=0.001,seed={seed}"),
            n_tcs(200),
            25,
        );
        assert_eq!(in_doubt, 0, "at this rate every lost report is resolved by asking the unit");
        assert!(completed >= n_tcs(200) - 5, "{completed}");
    }
}

#[test]
fn tcs_one_at_a_time_each_reported_as_the_unit_counts_them() {
    let (completed, _, in_doubt) =
        tcs_reported_as_the_unit_counts("bitflip=1e-5,drop=0.001,seed=5", n_tcs(20), 1);
    assert_eq!(in_doubt, 0);
    assert!(completed >= n_tcs(20) - 1);
}

/// Every AD frame sent twice in a row and CLCW probes while FOP-1 waits (what
/// `SessionConfig::new` does on a lossy line, issue #16): FARM-1 discards the second copy as
/// a duplicate, so each TC executes once — none in doubt, executed = completed.
#[test]
fn tcs_whose_frames_are_sent_twice_each_execute_once() {
    let n = n_tcs(60);
    let (completed, _, in_doubt, stats) =
        tcs_reported_as_the_unit_counts_with("bitflip=1e-5,drop=0.001,seed=9", n, 20, |mut c| {
            c.repeat_adaptive = true;
            c.probe_adaptive = true;
            c
        });
    eprintln!("{} frames repeated, {} probes", stats.repeated, stats.probes);
    assert!(stats.repeated > 0, "the line lost frames: they were to be sent twice");
    assert_eq!(in_doubt, 0);
    assert!(completed >= n - 2, "{completed}");
}

/// A target set that differs from the factory one in the pixel table (the largest: 110 load
/// TCs), the CRT and the bands (so the safe order matters).
fn changed_set() -> tables::set::TableSet {
    let mut target = tables::defaults::default_set();
    target.pixels.version += 1;
    target.crt.version += 1;
    target.crt.image_snr = 7.0;
    target.bands.version += 1;
    target
}

fn pull_and_push(faults: &str) {
    use eic_bench::workflow::tables as wf;
    let dir = tempfile::tempdir().unwrap();
    let t = twin(dir.path(), faults);
    let mut s = Session::open(lossy_cfg(&t)).unwrap();
    s.connect().unwrap();
    let bar = indicatif::ProgressBar::hidden();
    let start = Instant::now();
    // Pull: every active table, CRC-checked against the directory, decoded.
    let unit = wf::pull(&mut s, &bar).unwrap_or_else(|e| panic!("{faults}: pull: {e}"));
    let factory = tables::defaults::default_set();
    assert_eq!(unit.set().unwrap(), factory, "the pull equals the factory set");
    let pulled = start.elapsed();
    // Push: loads, validations, activations verified; the final pull must equal the target.
    let target = changed_set();
    let (plan, report) =
        wf::push(&mut s, &target, &bar).unwrap_or_else(|e| panic!("{faults}: push: {e}"));
    let report = report.expect("the sets differ");
    assert_eq!(report.after.set().unwrap(), target);
    assert_eq!(plan.tables.len(), 3);
    let stats = s.stats();
    drop(s);
    let (c, tw) = t.stop().unwrap();
    eprintln!(
        "{faults}: pull {:.1} s, push (incl. both pulls) {:.1} s; {} queries, {} \
         retransmissions; downlink octets dropped {}; unit TCs failed {}",
        pulled.as_secs_f64(),
        (start.elapsed() - pulled).as_secs_f64(),
        stats.queries,
        stats.retransmissions,
        tw.downlink_faults.octets_dropped,
        c.tc_failed
    );
}

#[test]
fn pull_and_push_complete_and_read_back_equal_on_a_lossy_link() {
    // The first case (the pixel dump stopped at 87 308 of 108 812 octets), then the
    // rate of the must-show tests.
    for faults in ["bitflip=1e-6,drop=0.0001,seed=3", "bitflip=1e-5,drop=0.001,seed=3"] {
        pull_and_push(faults);
    }
}

#[test]
#[ignore = "seed sweep at 1e-5/0.001, ~3 min each in debug: cargo test -p eic-tests --test e2e -- --ignored seed_sweep"]
fn seed_sweep_pull_and_push_on_a_lossy_link() {
    for seed in [4, 5, 6] {
        pull_and_push(&format!("bitflip=1e-5,drop=0.001,seed={seed}"));
    }
}

#[test]
fn a_dead_line_is_detected_in_bounded_time_at_any_baud_rate() {
    use eic_bench::session::SessionError;
    // A pseudo-terminal nobody writes to: the line is silent. Before, the wait grew with the
    // settle time (a full FOP-1 window at the baud rate): 75 s at 2 400 Bd, never at 1 Bd.
    for baud in [115_200, 2_400, 1_200, 50] {
        let pty = eic_bench::link::PtyPair::open().unwrap();
        let mut cfg = SessionConfig::new(pty.slave_path(), baud);
        cfg.set_clcw_timeout(Duration::from_millis(100));
        let bound = cfg.silence_timeout;
        assert!(bound <= Duration::from_millis(100) + Duration::from_millis(400), "{bound:?}");
        let start = Instant::now();
        let mut s = Session::open(cfg).unwrap();
        let e = s.connect().unwrap_err();
        let took = start.elapsed();
        assert!(matches!(e, SessionError::Silent { .. }), "{baud} Bd: {e}");
        assert!(took < bound + Duration::from_millis(500), "{baud} Bd: {took:?}");
        assert!(e.to_string().contains("not one octet"), "{e}");
    }
}

#[test]
fn on_a_line_that_loses_almost_everything_tcs_stop_with_an_honest_report() {
    // bitflip=1e-4, drop=0.01: a CADU (1 119 octets) survives with probability ~1e-5. No TC
    // may be reported completed or failed unless the unit said so; what the bench cannot
    // establish is in doubt or a link error naming what to check.
    let dir = tempfile::tempdir().unwrap();
    let t = twin(dir.path(), "bitflip=1e-4,drop=0.01,seed=3");
    let mut cfg = lossy_cfg(&t);
    cfg.set_clcw_timeout(Duration::from_secs(3));
    cfg.max_queries = 4;
    let start = Instant::now();
    let outcome = Session::open(cfg).and_then(|mut s| {
        s.connect()?;
        let mut data = [0u8; MAX_TC_APP_DATA_LEN];
        let (sv, st, n) = parse_request("event enable id=saa-entry", &mut data).unwrap();
        let id = s.send_raw(sv, st, &data[..n])?;
        s.wait(id)
    });
    let took = start.elapsed();
    let (c, _) = t.stop().unwrap();
    match outcome {
        Ok(o) => match o.verdict {
            Verdict::Completed { .. } => assert_eq!(c.service(5).unwrap().executed, 1),
            Verdict::InDoubt { .. } | Verdict::NotExecuted => {
                assert!(o.verdict.to_string().len() > 40)
            }
            v => panic!("{v:?}"),
        },
        Err(e) => {
            let m = e.to_string();
            assert!(m.contains("line quality") || m.contains("noisy"), "{m}");
            assert!(!m.contains("powered"), "octets arrive: not a power or cabling problem: {m}");
        }
    }
    assert!(took < Duration::from_secs(60), "{took:?}");
}

#[test]
fn a_push_whose_unit_hangs_up_mid_activation_is_reported_once_and_recovered_at_the_next_contact() {
    use eic_bench::workflow::journal::{Journal, Pending};
    use eic_bench::workflow::tables as wf;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let jdir = dir.path().join("journal");
    let t = UnitTwin::start(&state, false, TwinConfig::default()).unwrap();
    let mut s = Session::open(SessionConfig::fast(t.tctm_path())).unwrap();
    s.connect().unwrap();
    let bar = indicatif::ProgressBar::hidden();
    let target = changed_set();
    let (_, plan) = wf::prepare(&mut s, &target, &bar).unwrap();
    let mut j = Journal::begin(&jdir, "unit", "tables push", "twin", plan.mode.name()).unwrap();
    let path = j.path().to_path_buf();
    // The unit goes away as soon as the first activation is on record (its twin is stopped:
    // the pseudo-terminal hangs up).
    let killer = std::thread::spawn(move || {
        loop {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            if text.contains("\"activated\"") {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        t.stop().unwrap();
    });
    let e = wf::execute_journaled(&mut s, &plan, &target, &bar, Some(&mut j)).unwrap_err();
    killer.join().unwrap();
    drop(s);
    let msg = e.to_string();
    assert!(!e.state_known(), "{msg}");
    assert!(msg.contains("could not be read back"), "{msg}");
    let first_line = msg.lines().next().unwrap().to_owned();
    assert_eq!(msg.matches(&first_line).count(), 1, "the link error is said once: {msg}");
    drop(j);

    // Next contact: the journal is found; the unit restarted (safe mode); its tables are read
    // back: the activations the bench saw, and whatever else the unit did, as it holds them.
    let t = UnitTwin::start(&state, false, TwinConfig::default()).unwrap();
    let mut s = Session::open(SessionConfig::fast(t.tctm_path())).unwrap();
    s.connect().unwrap();
    let p = Pending::find(&jdir, "unit").unwrap().expect("journal kept");
    let activated = p.with("activated");
    assert!(!activated.is_empty());
    let r = wf::recover(&mut s, p).unwrap();
    let text = r.to_string();
    assert!(text.contains("interrupted `tables push`") && text.contains("read back"), "{text}");
    let unit = wf::pull(&mut s, &bar).unwrap();
    for key in activated {
        let table = tables::TableId::ALL.iter().copied().find(|t| t.key() == key).unwrap();
        assert_eq!(unit.images[&table], target.image(table).unwrap(), "{key} is the new image");
    }
    assert!(Pending::find(&jdir, "unit").unwrap().is_none());
    // And a re-push completes.
    let (_, report) = wf::push(&mut s, &target, &bar).unwrap();
    if let Some(r) = report {
        assert_eq!(r.after.set().unwrap(), target);
    }
    drop(s);
    t.stop().unwrap();
}
