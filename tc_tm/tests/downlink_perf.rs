//! Throughput of the CADU decode chain: sync + derandomise + FECF + M_PDU + PEC, one core.
//! Run with `cargo test --release -p tc_tm --test downlink_perf -- --ignored --nocapture`.

use std::time::Instant;

use tc_tm::aos::{self, FRAME_LEN, Vcid};
use tc_tm::crc::crc16;
use tc_tm::mission::CADU_LEN;
use tc_tm::mpdu::{Event, Packer, Reassembler};
use tc_tm::spp;
use tc_tm::sync::{Synchroniser, encode_cadu};

fn packet(len: usize, seed: u8) -> Vec<u8> {
    let mut p = vec![seed; len];
    let repr = spp::Repr {
        packet_type: spp::PacketType::Tm,
        sec_hdr_flag: true,
        apid: spp::Apid::new(0x242).unwrap(),
        seq_flags: spp::SeqFlags::Unsegmented,
        seq_count: spp::SeqCount::new_masked(u16::from(seed)),
        data_len: len - spp::HEADER_LEN,
    };
    repr.emit(&mut spp::Packet::new_unchecked(&mut p[..])).unwrap();
    let c = crc16(&p[..len - 2]);
    p[len - 2..].copy_from_slice(&c.to_be_bytes());
    p
}

#[test]
#[ignore = "measurement; run in release"]
fn cadu_decode_throughput() {
    // ~64 MiB of CADUs carrying packets of mixed sizes.
    let mut packer = Packer::<16384>::new(Vcid::new(2).unwrap());
    let mut stream = Vec::with_capacity(64 << 20);
    let mut f = [0u8; FRAME_LEN];
    let mut c = [0u8; CADU_LEN];
    let sizes = [64usize, 300, 1024, 4000, 17];
    let mut i = 0;
    while stream.len() < (64 << 20) {
        packer.push(&packet(sizes[i % sizes.len()], i as u8)).unwrap();
        i += 1;
        while packer.next_frame(0, &mut f) {
            encode_cadu(&f, &mut c);
            stream.extend_from_slice(&c);
        }
    }
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        let mut sync = Synchroniser::new();
        let mut reasm = Reassembler::<8192>::new(Vcid::new(2).unwrap());
        let (mut good, mut bad) = (0u64, 0u64);
        for chunk in stream.chunks(65536) {
            sync.push(chunk, |frame| {
                let Ok(repr) = aos::Repr::parse(&aos::Packet::new_unchecked(&frame.bytes[..]))
                else {
                    bad += 1;
                    return;
                };
                reasm.push_frame(&repr, |e| {
                    if let Event::Packet(p) = e {
                        if crc16(p) == 0 { good += 1 } else { bad += 1 }
                    }
                });
            });
        }
        let s = t.elapsed().as_secs_f64();
        best = best.min(s);
        assert_eq!(bad, 0);
        assert!(good > 0);
    }
    let mbps = stream.len() as f64 / best / 1e6;
    println!("CADU decode: {} octets in {:.3} s best of 5 = {:.0} MB/s", stream.len(), best, mbps);
}
