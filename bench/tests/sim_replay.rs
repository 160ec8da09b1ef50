//! The simulator and the trigger agree on the sky: a catalogue source placed by RA/Dec under a
//! fixed attitude, flaring, is alerted with its catalogue ID at its RA/Dec (the simulator
//! casts it through the mask with the trigger's own geometry and attitude convention).

use eic_bench::replay::{LocalOptions, run_local_with};
use eic_bench::sim::{Scenario, simulate_to_dir};

const CRAB_FLARE: &str = r#"
name = "crab"
seed = 81
start = 2026-06-15T06:00:00Z
duration_s = 150
[background]
rate_cps = 2000
[attitude]
mode = "fixed"
ra_deg = 89.0
dec_deg = 19.0
roll_deg = 30.0
[[source]]
name = "Crab"
ra_deg = 83.6331
dec_deg = 22.0145
flux = 2.0
index = 2.1
[[source.flare]]
t0_s = 70.0
peak_factor = 11.0
rise_s = 3.0
decay_s = 40.0
"#;

#[test]
fn a_flaring_catalogue_source_is_named_at_its_position() {
    let sc = Scenario::parse(CRAB_FLARE, "crab.toml").unwrap();
    let dir = tempfile::tempdir().unwrap();
    simulate_to_dir(&sc, dir.path(), false, |_| {}).unwrap();
    let set = tables::defaults::default_set();
    let out = run_local_with(dir.path(), &set, LocalOptions::default(), |_| {}).unwrap();
    assert!(!out.alerts.is_empty(), "the flare triggers: {:?}", out.stats);
    for a in &out.alerts {
        assert_eq!(a.catalog_id, Some(1), "{}", a.line());
        let sep = onboard::trigger::geometry::angular_distance_deg(
            a.notice.ra,
            a.notice.dec,
            83.6331,
            22.0145,
        );
        assert!(sep < a.error_radius_deg.max(0.1), "{} is {sep}° from the Crab", a.line());
        assert!(a.window_s[1] > out.alerts[0].window_s[0]);
    }
}

/// 45 s (one whole 20.48-s IMT cycle) of a steady new source over background: the IMT alerts.
const BRIGHT: &str = r#"
name = "bright"
seed = 5
start = 2026-06-15T06:00:00Z
duration_s = 45
[background]
rate_cps = 1000
[attitude]
mode = "fixed"
ra_deg = 89.0
dec_deg = 19.0
roll_deg = 30.0
[[source]]
name = "new"
ra_deg = 95.0
dec_deg = 15.0
flux = 1.0
index = 2.0
"#;

/// `replay --local` reads and encodes on one thread, runs the trigger's event side on another
/// and its image searches on others (`onboard::trigger::pipeline`), and the Python package's
/// replay reads on the caller's thread with the searches on others: the alerts, attitudes and
/// counters of both equal those of the frames fed one by one to the trigger in line.
#[test]
fn threaded_replay_equals_the_frames_fed_one_by_one() {
    use eic_bench::replay::encode::Encoder;
    use eic_bench::replay::local::trigger_for;
    use eic_bench::replay::{AlertRecord, items};

    let sc = Scenario::parse(BRIGHT, "bright.toml").unwrap();
    let dir = tempfile::tempdir().unwrap();
    simulate_to_dir(&sc, dir.path(), false, |_| {}).unwrap();
    let set = tables::defaults::default_set();
    let threaded = run_local_with(dir.path(), &set, LocalOptions::default(), |_| {}).unwrap();

    let mut input = eic_bench::events::Input::open(dir.path()).unwrap();
    let mut trigger = trigger_for(&set).unwrap();
    let mut enc = Encoder::new();
    let (mut alerts, mut attitudes) = (Vec::new(), Vec::new());
    let mut ack = vec![0u8; tc_tm::stimulus::MAX_FRAME_LEN];
    let att = std::cell::Cell::new(onboard::trigger::geometry::Attitude::IDENTITY.quaternion());
    let mut feed = |frame: &[u8]| -> std::io::Result<()> {
        let current = att.get();
        trigger.receive_stimulus(frame, &mut |r| {
            alerts.push(AlertRecord::new(&r.alert, None));
            attitudes.push(current);
        });
        while trigger.take_ack(&mut ack) > 0 {}
        Ok(())
    };
    let mut on_item = |item: &eic_bench::events::Item| {
        if let eic_bench::events::Item::Attitude(a) = item {
            att.set(a.q);
        }
    };
    items(&mut input, &mut enc, &mut feed, &mut on_item, &mut |_| {}).unwrap();
    assert!(!alerts.is_empty(), "the source alerts: {:?}", trigger.stats());
    assert_eq!(threaded.alerts, alerts);
    assert_eq!(threaded.attitudes, attitudes);
    assert_eq!(threaded.stats, trigger.stats());
    assert_eq!((threaded.events, threaded.packets), (enc.events, enc.packets));
    let mut input = eic_bench::events::Input::open(dir.path()).unwrap();
    let source =
        eic_bench::replay::run_local_source(&mut input, &set, LocalOptions::default(), |_| {})
            .unwrap();
    assert_eq!(source.alerts, alerts);
    assert_eq!(source.attitudes, attitudes);
    assert_eq!(source.stats, trigger.stats());
}
