//! Property tests of the uplink: arbitrary octets never panic the unit and change nothing but
//! link counters; arbitrary TCs (valid frames around random PUS packets) are each either
//! accepted or rejected with an ST[01] 1,2 report, whatever the chunking.

mod unit_harness;

use onboard::storage::{Bank, Region, StaticStorage, Storage};
use proptest::prelude::*;
use tc_tm::pus::{AckFlags, Cuc};
use tc_tm::service::verification::Report as V;
use unit_harness::{Ground, request_id, sw_image};

type Small = StaticStorage<64, 8192, 256, 8, { 2 * 8 * 512 }>;

fn small() -> Small {
    let mut s = Small::new();
    s.write(Region::Bank(Bank::A), 0, &sw_image(1, 1000)).unwrap();
    s
}

/// What may only change through an accepted TC.
fn state(g: &Ground<Small>) -> impl PartialEq + std::fmt::Debug + use<> {
    let mut hk = g.unit.hk_report();
    hk.uptime_s = 0;
    hk.farm_vr = 0;
    hk.farm_lockout = false;
    hk.farm_lockout_count = 0;
    let s = g.unit.storage();
    let crc = |r| tc_tm::crc::crc32(s.region(r).unwrap());
    (
        hk,
        g.unit.mode(),
        crc(Region::Bank(Bank::A)),
        crc(Region::Bank(Bank::B)),
        crc(Region::RamPatch),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_octets_never_panic_nor_change_state(
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..8),
        with_start in any::<bool>(),
    ) {
        let mut g = Ground::power_on(small(), Cuc::new(10, 0));
        g.drain();
        let before = state(&g);
        for (i, c) in chunks.iter().enumerate() {
            if with_start && i % 2 == 0 {
                // Start sequences make the decoder assemble code blocks from noise.
                g.unit.receive_uplink(&[0xEB, 0x90]);
            }
            g.unit.receive_uplink(c);
        }
        g.advance(1_200, 300);
        let c = *g.unit.counters();
        prop_assert_eq!(c.tc_accepted, 0);
        prop_assert_eq!(state(&g), before);
        prop_assert!(g.tm.iter().all(|t| t.service != 1 || t.subtype == 2));
    }

    #[test]
    fn every_delivered_tc_is_accepted_or_rejected_with_a_report(
        tcs in proptest::collection::vec(
            (
                prop_oneof![Just(3u8), Just(5), Just(6), Just(8), Just(11), Just(17), Just(20), Just(200), any::<u8>()],
                0u8..40,
                proptest::collection::vec(any::<u8>(), 0..24),
                0u8..16,
            ),
            1..12,
        ),
        split in 1usize..64,
    ) {
        let mut g = Ground::power_on(small(), Cuc::new(10, 0));
        g.drain();
        g.take();
        let mut stream = Vec::new();
        let mut rids = Vec::new();
        for (service, subtype, data, ack) in &tcs {
            let p = g.packet(*service, *subtype, data, AckFlags::new_masked(*ack));
            rids.push((tc_tm::service::verification::RequestId::from_packet(&p).unwrap(), *ack));
            let f = g.frame(&p, false);
            stream.extend_from_slice(&[0x55; 2]);
            stream.extend(Ground::<Small>::cltu(&f));
        }
        for c in stream.chunks(split) {
            g.unit.receive_uplink(c);
        }
        g.advance(500, 100);
        g.drain();
        let c = *g.unit.counters();
        prop_assert_eq!(c.packets as usize, tcs.len());
        prop_assert_eq!((c.tc_accepted + c.tc_rejected) as usize, tcs.len());
        let failures = g.tm.iter().filter_map(|t| t.verification()).filter(|v| matches!(v, V::AcceptanceFailure(_))).count();
        prop_assert_eq!(failures, c.tc_rejected as usize);
        for (rid, ack) in rids {
            let stages: Vec<_> = g.tm.iter().filter_map(|t| t.verification()).filter(|v| request_id(v) == rid).map(|v| v.subtype()).collect();
            let rejected = stages.first() == Some(&2);
            let accepted = stages.first() == Some(&1) || ack & 0b1000 == 0;
            prop_assert!(rejected || accepted, "{:?} {:?}", rid, stages);
            if rejected {
                prop_assert_eq!(stages.len(), 1);
            }
        }
    }
}
