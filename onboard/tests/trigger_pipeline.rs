//! The image searches on other threads (`onboard::trigger::pipeline`, what `replay --local` and
//! the benchmarks use) give the alerts of the trigger in line (the unit, the twin), bit for
//! bit and in the same order, with every counter equal; each alert carries the tag of the
//! stimulus piece that made its search due, i.e. the piece during which the in-line trigger
//! issued it.

mod trigger_sim;

use onboard::trigger::geometry::{self, Attitude, SKY_N};
use onboard::trigger::{ActiveTables, AlertReport, Trigger, pipeline};
use trigger_sim::{Framer, Sim, Source, TPS, big_stack};

/// Everything an alert report says, as text and bits (the sky image by a digest of its SNRs).
fn describe(r: &AlertReport<'_>) -> String {
    let mut sky = 0u64;
    for t in (0..SKY_N).step_by(7) {
        for u in (0..SKY_N).step_by(5) {
            sky = sky.rotate_left(5) ^ u64::from(r.sky.snr(t, u).to_bits());
        }
    }
    format!(
        "{:?} {:?} {:?} exposure {:08x} flux {:08x} sky {sky:016x}",
        r.alert,
        r.detection,
        r.peak,
        r.exposure_s.to_bits(),
        r.flux.to_bits()
    )
}

/// 200 s of 5 000 counts/s with the Crab (cleaned by the IMT), four bursts (CRT and IMT
/// alerts), attitude and orbit samples: the stimulus in 1-s pieces.
fn scenario() -> Vec<Vec<u8>> {
    let set = tables::defaults::default_set();
    let att = Attitude::from_pointing(77.0, 26.0, 0.0);
    let (cy, cz) = geometry::from_radec(&att, 83.6331, 22.0145).expect("Crab in front");
    let mut sim = Sim::new(0x919E_0001, set.pixels.clone(), 5000.0);
    sim.add_source(Source {
        y_deg: cy as f32,
        z_deg: cz as f32,
        flux: 1.0,
        start_s: 0.0,
        end_s: 200.0,
        index: 2.1,
    });
    for (k, (y, z, flux, len)) in [
        (3.0, -2.0, 6.0, 1.0),
        (-12.0, 8.0, 1.5, 30.0),
        (20.0, 15.0, 8.0, 2.0),
        (-5.0, -20.0, 0.8, 60.0),
    ]
    .into_iter()
    .enumerate()
    {
        let start = 30.0 + 40.0 * k as f64;
        sim.add_source(Source {
            y_deg: y,
            z_deg: z,
            flux,
            start_s: start,
            end_s: start + len,
            index: 1.5,
        });
    }
    let mut framer = Framer::new();
    framer.attitude(0, att.quaternion());
    let mut pieces = Vec::new();
    let mut t = 0.0;
    while t < 200.0 {
        framer.orbit((t * TPS as f64) as u64, 100.0, 10.0);
        framer.events(&sim.events(t, t + 1.0));
        t += 1.0;
        framer.tick((t * TPS as f64) as u64);
        pieces.push(framer.take());
    }
    pieces
}

fn configured() -> Box<Trigger> {
    let set = tables::defaults::default_set();
    let mut t = Trigger::boxed();
    t.configure(&ActiveTables::from_set(&set)).unwrap();
    t.set_observing(true);
    t
}

#[test]
fn searches_on_other_threads_give_the_in_line_alerts_bit_for_bit() {
    big_stack(|| {
        let pieces = scenario();
        let mut inline = configured();
        let mut expected = Vec::new();
        for (k, p) in pieces.iter().enumerate() {
            inline.receive_stimulus(p, &mut |r| expected.push((k, describe(r))));
        }
        let stats = inline.stats();
        let from = |t: &str| expected.iter().filter(|(_, d)| d.contains(t)).count();
        assert!(from("trigger: Crt") > 0 && from("trigger: Imt") > 0, "{expected:#?}");
        assert!(
            expected.len() >= 3 && stats.catalogue_below > 0 && stats.crt.images > 0,
            "the scenario must exercise CRT and IMT alerts and the catalogue cleaning: {} alerts, {stats:?}",
            expected.len()
        );

        // One search thread, and several: images made at once, alerts still in job order.
        for threads in [1, 2, 3] {
            let mut piped = configured();
            let mut got = Vec::new();
            let mut ack = [0u8; tc_tm::stimulus::MAX_FRAME_LEN];
            pipeline::run_threads(
                &mut piped,
                threads,
                |r, k: &usize| got.push((*k, describe(r))),
                |feed| {
                    for (k, p) in pieces.iter().enumerate() {
                        assert!(feed.receive_stimulus(p, &k));
                        while feed.take_ack(&mut ack) > 0 {}
                    }
                },
            );
            assert_eq!(got, expected, "{threads} search thread(s)");
            assert_eq!(piped.stats(), stats, "{threads} search thread(s)");
            assert_eq!(piped.now_tick(), inline.now_tick());
        }
    });
}
