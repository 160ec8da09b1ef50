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
