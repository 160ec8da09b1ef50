//! The trigger inside the unit: tables from the active store, stimulus in, ST[201,1] on VC 1
//! with `alert-issued`, acks back, HK sector rates and mode gating.

mod trigger_sim;
mod unit_harness;

use onboard::services::table::open_store;
use tc_tm::service::Report;
use tc_tm::service::event::EventId;
use tc_tm::service::function::Mode;
use tc_tm::service::trigger::{self, TriggerType};
use tc_tm::stimulus::{Body, MAX_FRAME_LEN, Repr};
use trigger_sim::{Framer, Sim, Source, TPS, big_stack};
use unit_harness::{Ground, T0, storage};

/// A unit whose table store holds the default set, active.
fn provisioned(tag: &str) -> Ground<onboard::storage_fs::FsStorage> {
    let set = tables::defaults::default_set();
    let mut st = storage(tag);
    let mut store = open_store(&st).expect("flight table slots");
    for id in tables::TableId::ALL {
        let image = set.image(id).unwrap();
        let n = id as u8;
        store.load_segment(&mut st, n, 1, image.len() as u32, 0, &image).unwrap();
        store.validate(&st, n, tc_tm::crc::crc32(&image), &mut |_| Ok::<(), ()>(())).unwrap();
        store.activate(&mut st, n).unwrap();
    }
    let mut g = Ground::power_on(st, T0);
    g.drain();
    g.take();
    g
}

/// 70 s of background at 5 000 counts/s and a 1-s burst of 3 000 counts at (6°, −4°) from
/// t = 66 s, in 1-s stimulus chunks; returns the acks read back.
fn feed(g: &mut Ground<onboard::storage_fs::FsStorage>) -> Vec<tc_tm::stimulus::Ack> {
    let set = tables::defaults::default_set();
    let mut sim = Sim::new(99, set.pixels.clone(), 5000.0);
    let flux = 3000.0 / trigger_sim::pixel_response(6.0, -4.0, &set.pixels).iter().sum::<f64>();
    sim.add_source(Source {
        y_deg: 6.0,
        z_deg: -4.0,
        flux,
        start_s: 66.0,
        end_s: 67.0,
        index: 1.5,
    });
    let mut framer = Framer::new();
    let mut acks = Vec::new();
    let mut out = [0u8; MAX_FRAME_LEN];
    for s in 0..70 {
        let t = f64::from(s);
        framer.events(&sim.events(t, t + 1.0));
        framer.tick(((t + 1.0) * TPS as f64) as u64);
        g.unit.receive_stimulus(&framer.take());
        let n = g.unit.stimulus_output(&mut out);
        if n > 0 {
            let Body::Ack(a) = Repr::parse(&out[4..n]).unwrap().body else { panic!("not an ack") };
            acks.push(a);
        }
    }
    acks
}

#[test]
fn observation_mode_alerts_on_vc1_with_alert_issued_and_live_hk() {
    big_stack(|| {
        let mut g = provisioned("trigger_unit_obs");
        assert!(g.unit.trigger().configured(), "tables taken from the active store at boot");
        g.set_mode(Mode::Standby);
        g.set_mode(Mode::Observation);
        let acks = feed(&mut g);
        assert_eq!(acks.len(), 70, "one ack per input with packets");
        let last = acks.last().unwrap();
        assert_eq!((last.refused, last.malformed, last.seq_gaps), (0, 0, 0));
        let hk = g.unit.hk_report();
        assert!(hk.sector_rates.iter().all(|&r| (300..1200).contains(&r)), "{:?}", hk.sector_rates);
        assert!(!hk.in_saa && !hk.saa_inhibited);
        g.drain();
        let tm = g.take();
        let alerts: Vec<trigger::Alert> = tm
            .iter()
            .filter(|t| (t.service, t.subtype) == (201, 1))
            .map(|t| {
                assert_eq!((t.vc, t.apid), (1, 0x241), "alerts on VC 1");
                match t.report() {
                    Report::Trigger(trigger::Report::Alert(a)) => a,
                    r => panic!("{r:?}"),
                }
            })
            .collect();
        assert!(!alerts.is_empty(), "the burst alerts");
        let a = alerts[0];
        assert_eq!((a.trigger_type, a.burst_id, a.seq_num), (TriggerType::Crt, 1, 1));
        assert!((a.y_deg() - 6.0).abs() < 0.3 && (a.z_deg() + 4.0).abs() < 0.3, "{a:?}");
        assert!(a.window_start.coarse >= 64 && a.window_end.coarse <= 69, "{a:?}");
        let issued: Vec<_> = tm
            .iter()
            .filter_map(|t| t.event())
            .filter(|(id, _)| *id == EventId::AlertIssued)
            .collect();
        assert_eq!(issued.len(), alerts.len());
        assert_eq!(issued[0].1, vec![0, 0, 0, 1, 0, 1, 1]);
        assert_eq!(g.unit.counters().alerts as usize, alerts.len());
    });
}

#[test]
fn outside_observation_events_are_acknowledged_and_ignored() {
    big_stack(|| {
        let mut g = provisioned("trigger_unit_safe");
        assert_eq!(g.unit.mode(), Mode::Safe);
        let acks = feed(&mut g);
        let last = acks.last().unwrap();
        assert!(last.events_ignored > 300_000, "{last:?}");
        assert_eq!(u64::from(last.events_ignored), g.unit.counters().stimulus_events_ignored);
        g.drain();
        assert!(g.take().iter().all(|t| t.service != 201));
        assert_eq!(g.unit.counters().alerts, 0);
    });
}
