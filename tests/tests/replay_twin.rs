//! `replay --on twin` gives exactly the alerts of `replay --local`: the same simulated burst,
//! encoded once into stimulus frames, goes through the trigger in this process and through
//! the unit in the twin over real pseudo-terminals (stimulus link with its ack window, alerts
//! on the TM link). Nothing is lost on the stimulus link: the unit consumed every packet and
//! counted every event sent.
//!
//! The same on the unit as firmware under QEMU (`#[ignore]`d: needs the emulator and the
//! firmware build; `cargo test -p eic-tests --test e2e -- --ignored qemu`, which scripts/test
//! runs): DEVICE `qemu` carries its stimulus link (the firmware's second UART) as `twin` does,
//! and the firmware's trigger gives exactly the `--local` alerts for the burst.

use eic_bench::cmd::link_args::LinkArgs;
use eic_bench::replay::remote::run_on;
use eic_bench::replay::{LocalOptions, run_local_with};
use eic_bench::sim::{Scenario, simulate_to_dir};
use eic_bench::twin::{TwinConfig, UnitTwin};

const SCENARIO: &str = r#"
name = "e2e"
seed = 77
start = 2026-03-01T12:00:00Z
duration_s = 70
[background]
rate_cps = 2000
[attitude]
mode = "fixed"
ra_deg = 150.0
dec_deg = 20.0
[[burst]]
t0_s = 50.0
y_deg = 5.0
z_deg = -3.0
peak_flux = 5.0
rise_s = 0.5
decay_s = 5.0
"#;

#[test]
fn replay_on_the_twin_gives_the_local_alerts_and_loses_nothing() {
    let data = tempfile::tempdir().unwrap();
    let sc = Scenario::parse(SCENARIO, "e2e.toml").unwrap();
    simulate_to_dir(&sc, data.path(), false, |_| {}).unwrap();

    let set = tables::defaults::default_set();
    let local = run_local_with(data.path(), &set, LocalOptions::default(), |_| {}).unwrap();
    assert!(!local.alerts.is_empty(), "the burst triggers: {:?}", local.stats);

    let state = tempfile::tempdir().unwrap();
    let twin = UnitTwin::start(&state.path().join("twin"), false, TwinConfig::default()).unwrap();
    let link =
        LinkArgs { t1_ms: Some(300), ..LinkArgs::with_defaults(twin.tctm_path().to_path_buf()) };
    let stim = twin.twin.paths().stimulus.clone();
    let remote = run_on(data.path(), &link, Some(&stim), None, &mut |_| {}).unwrap();

    assert_eq!(remote.alerts, local.alerts, "same alerts over the link as in process");
    assert_eq!((remote.events, remote.packets), (local.events, local.packets));
    let ack = remote.last_ack.unwrap();
    assert_eq!(u64::from(ack.consumed), remote.packets, "{ack:?}");
    assert_eq!((ack.refused, ack.malformed, ack.seq_gaps), (0, 0, 0), "{ack:?}");

    let (intake, counters) =
        twin.twin.with_model(|u| (u.trigger().stats().intake, *u.counters())).unwrap();
    assert_eq!(intake.events, remote.events, "every event sent reached the trigger");
    assert_eq!(u64::from(intake.accepted), remote.packets);
    assert_eq!(counters.stimulus_octets, remote.octets);
    assert_eq!(counters.alerts as usize, remote.alerts.len());
    twin.stop().unwrap();
}

#[test]
#[ignore = "needs QEMU (scripts/install-qemu.sh) and the firmware build; scripts/test runs it"]
fn replay_on_the_firmware_under_qemu_gives_the_local_alerts() {
    let data = tempfile::tempdir().unwrap();
    let sc = Scenario::parse(SCENARIO, "e2e.toml").unwrap();
    simulate_to_dir(&sc, data.path(), false, |_| {}).unwrap();
    let set = tables::defaults::default_set();
    let local = run_local_with(data.path(), &set, LocalOptions::default(), |_| {}).unwrap();
    assert!(!local.alerts.is_empty(), "the burst triggers: {:?}", local.stats);

    // DEVICE `qemu`, no --stimulus: the connection names the firmware's stimulus UART.
    let state = tempfile::tempdir().unwrap();
    let link = LinkArgs {
        qemu_state: Some(state.path().join("spare")),
        ..LinkArgs::with_defaults("qemu".into())
    };
    let remote = run_on(data.path(), &link, None, None, &mut |_| {}).unwrap();
    let lines =
        |a: &[eic_bench::replay::AlertRecord]| a.iter().map(|r| r.line()).collect::<Vec<_>>();
    assert_eq!(lines(&remote.alerts), lines(&local.alerts), "the same alert lines as --local");
    assert_eq!(remote.alerts, local.alerts, "the same alerts, field for field");
    assert_eq!((remote.events, remote.packets), (local.events, local.packets));
    let ack = remote.last_ack.unwrap();
    assert_eq!(u64::from(ack.consumed), remote.packets, "{ack:?}");
    assert_eq!((ack.refused, ack.malformed, ack.seq_gaps), (0, 0, 0), "{ack:?}");
}
