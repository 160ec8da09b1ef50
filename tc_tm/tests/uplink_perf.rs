//! Throughput measurements of the uplink and PUS codecs (ignored by default; meaningless in debug).
//!
//! ```text
//! cargo test --release -p tc_tm --test uplink_perf -- --ignored --nocapture
//! ```
//!
//! Prints PUS TM parse rate (ours and `spacepackets` 0.19 `PusTmReader`, both CRC-checked),
//! PUS TC parse rate, and CLTU encode / decode / stream-decode throughput. The assertions are
//! the acceptance targets: ≥ 10 M TM packets/s and ≥ 1.2 × spacepackets. The criterion
//! benchmarks in `benches/codec.rs` are the reference; this is the quick check.

use std::{hint::black_box, time::Instant};

use spacepackets::ecss::tm::PusTmReader;
use tc_tm::{
    cltu::{self, StreamDecoder},
    mission,
    pus::{AckFlags, Cuc, tc, tm},
    spp::{SeqCount, SeqFlags},
};

fn rate<F: FnMut() -> usize>(what: &str, unit: &str, per_iter: f64, iters: usize, mut f: F) -> f64 {
    // Warm up, then take the best of 5 runs (shared machine).
    for _ in 0..iters / 10 {
        black_box(f());
    }
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        for _ in 0..iters {
            black_box(f());
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    let r = per_iter * iters as f64 / best;
    println!("{what:<44} {r:>10.2} {unit}");
    r
}

fn tm_packets() -> Vec<Vec<u8>> {
    (0..64u16)
        .map(|i| {
            let data: Vec<u8> = (0..16).map(|k| (k as u16 * 31 + i) as u8).collect();
            let r = tm::Repr {
                apid: mission::APID_UGTS,
                seq_flags: SeqFlags::Unsegmented,
                seq_count: SeqCount::new_masked(i),
                time_ref_status: 0,
                service: 3,
                subtype: 25,
                msg_counter: i,
                dest_id: 1,
                time: Cuc::new(u32::from(i), 0),
                source_data: &data,
            };
            let mut b = vec![0u8; r.buffer_len()];
            r.emit(&mut b).unwrap();
            assert_eq!(b.len(), 37);
            b
        })
        .collect()
}

#[test]
#[ignore = "performance measurement: run in release with --ignored --nocapture"]
fn measure_uplink_and_pus() {
    let pkts = tm_packets();
    let n = pkts.len() as f64;
    let ours = rate("PUS TM parse, 37 octets (ours)", "M pkt/s", n / 1e6, 200_000, || {
        pkts.iter().map(|p| tm::Repr::parse_bytes(black_box(p)).unwrap().source_data.len()).sum()
    });
    let theirs =
        rate("PUS TM parse, 37 octets (spacepackets 0.19)", "M pkt/s", n / 1e6, 200_000, || {
            pkts.iter()
                .map(|p| PusTmReader::new(black_box(p), 6).unwrap().source_data().len())
                .sum()
        });
    println!("{:<44} {:>10.2} x", "ours / spacepackets", ours / theirs);

    let app = [0x5Au8; 32];
    let tc_repr = tc::Repr {
        apid: mission::APID_UGTS,
        seq_flags: SeqFlags::Unsegmented,
        seq_count: SeqCount::new(1).unwrap(),
        ack: AckFlags::ALL,
        service: 8,
        subtype: 1,
        source_id: 1,
        app_data: &app,
    };
    let mut tcb = [0u8; 45];
    tc_repr.emit(&mut tcb).unwrap();
    rate("PUS TC parse, 45 octets", "M pkt/s", 1e-6, 5_000_000, || {
        tc::Repr::parse_bytes(black_box(&tcb)).unwrap().app_data.len()
    });

    let frame: Vec<u8> = (0..1024u32).map(|i| (i * 7 + 3) as u8).collect();
    let mut c = vec![0u8; cltu::MAX_LEN];
    let mb = frame.len() as f64 / 1e6;
    rate("CLTU encode, 1024-octet frame", "MB/s", mb, 20_000, || {
        cltu::encode(black_box(&frame), false, &mut c).unwrap()
    });
    rate("CLTU encode, randomised", "MB/s", mb, 20_000, || {
        cltu::encode(black_box(&frame), true, &mut c).unwrap()
    });
    let clen = cltu::encode(&frame, true, &mut c).unwrap();
    let mut out = [0u8; cltu::MAX_DECODED_LEN];
    rate("CLTU decode (one-shot), randomised", "MB/s", mb, 20_000, || {
        cltu::decode(black_box(&c[..clen]), true, &mut out).unwrap().len
    });
    let mut dec = StreamDecoder::new(true);
    rate("CLTU stream decode, 64-octet chunks", "MB/s", mb, 20_000, || {
        let mut got = 0;
        for piece in black_box(&c[..clen]).chunks(64) {
            let mut rest = piece;
            while !rest.is_empty() {
                let p = dec.push(rest);
                rest = &rest[p.consumed..];
                if p.event.is_some() {
                    got += 1;
                }
            }
        }
        got
    });

    assert!(ours >= 10.0, "PUS TM parse below 10 M packets/s: {ours:.2}");
    assert!(ours >= 1.2 * theirs, "PUS TM parse below 1.2x spacepackets: {:.2}", ours / theirs);
}
