//! Codec throughput, against a peer in the same run: `cargo bench -p tc_tm`.
//!
//! Prints the median of several samples (these machines are shared and noisy) for:
//! - PUS TM decode with PEC check, 37-octet packets (16 data octets, CUC 4+2), for `tc_tm` and
//!   for `spacepackets`' `PusTmReader`, side by side with the ratio;
//! - the CADU stream decode chain: ASM sync + derandomise + FECF + M_PDU reassembly + PEC, one core;
//! - CLTU encode and decode (one-shot and streaming), in MB of TC frame per second.
//!
//! Targets (issue 2): ≥ 10 M packets/s and ≥ 1.2 × spacepackets; CADU decode ≥ 300 MB/s.
//! A custom harness rather than criterion: the figures we need are medians and a ratio in one
//! table, and nothing here is a pass/fail assertion.

use std::hint::black_box;
use std::time::Instant;

use spacepackets::ecss::tm::PusTmReader;
use tc_tm::aos::{self, FRAME_LEN, Vcid};
use tc_tm::cltu::{self, StreamDecoder};
use tc_tm::mission::{self, CADU_LEN};
use tc_tm::mpdu::{Event, Packer, Reassembler};
use tc_tm::pus::{Cuc, tm};
use tc_tm::spp::{SeqCount, SeqFlags};
use tc_tm::sync::{Synchroniser, encode_cadu};

const SAMPLES: usize = 11;

/// Runs `f` (which processes `units` units per call) `iters` times per sample; returns the
/// median rate in units per second.
fn median_rate(units: f64, iters: usize, mut f: impl FnMut() -> usize) -> f64 {
    for _ in 0..iters.div_ceil(10) {
        black_box(f());
    }
    let mut rates: Vec<f64> = (0..SAMPLES)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..iters {
                black_box(f());
            }
            units * iters as f64 / t.elapsed().as_secs_f64()
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    rates[SAMPLES / 2]
}

fn tm_packets() -> Vec<Vec<u8>> {
    (0..64u16)
        .map(|i| {
            let data: Vec<u8> = (0..16).map(|k| (k * 31 + i) as u8).collect();
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
            r.emit(&mut b).expect("37-octet buffer");
            assert_eq!(b.len(), 37);
            b
        })
        .collect()
}

fn cadu_stream(len: usize) -> Vec<u8> {
    let mut packer = Packer::<16384>::new(Vcid::new_masked(mission::VC_DUMP));
    let mut stream = Vec::with_capacity(len + CADU_LEN);
    let (mut f, mut c) = ([0u8; FRAME_LEN], [0u8; CADU_LEN]);
    let sizes = [37usize, 64, 300, 1024, 4000];
    let mut i = 0u16;
    while stream.len() < len {
        let data = vec![i as u8; sizes[usize::from(i) % sizes.len()] - tm::OVERHEAD_LEN];
        let r = tm::Repr {
            apid: mission::APID_DUMP,
            seq_flags: SeqFlags::Unsegmented,
            seq_count: SeqCount::new_masked(i),
            time_ref_status: 0,
            service: 6,
            subtype: 6,
            msg_counter: i,
            dest_id: 1,
            time: Cuc::new(u32::from(i), 0),
            source_data: &data,
        };
        let mut p = vec![0u8; r.buffer_len()];
        r.emit(&mut p).expect("sized buffer");
        packer.push(&p).expect("packer drained every packet");
        i = i.wrapping_add(1);
        while packer.next_frame(0, &mut f) {
            encode_cadu(&f, &mut c);
            stream.extend_from_slice(&c);
        }
    }
    stream
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` runs us too: keep that quick.
    let quick = !std::env::args().any(|a| a == "--bench");
    let scale = if quick { 100 } else { 1 };
    println!("tc_tm codec benchmarks (median of {SAMPLES} samples)");

    let pkts = tm_packets();
    let n = pkts.len() as f64;
    let ours = median_rate(n, 100_000 / scale, || {
        pkts.iter()
            .map(|p| tm::Repr::parse_bytes(black_box(p)).map_or(0, |r| r.source_data.len()))
            .sum()
    });
    let theirs = median_rate(n, 100_000 / scale, || {
        pkts.iter()
            .map(|p| PusTmReader::new(black_box(p), 6).map_or(0, |r| r.source_data().len()))
            .sum()
    });
    println!("{:<58} {:>9.2} M packets/s", "PUS TM decode + PEC, 37 octets: tc_tm", ours / 1e6);
    println!(
        "{:<58} {:>9.2} M packets/s",
        "PUS TM decode + PEC, 37 octets: spacepackets 0.19",
        theirs / 1e6
    );
    println!("{:<58} {:>9.2} x", "ratio tc_tm / spacepackets", ours / theirs);

    let stream = cadu_stream(if quick { 1 << 20 } else { 16 << 20 });
    let cadu_rate = median_rate(stream.len() as f64, 1, || {
        let mut sync = Synchroniser::new();
        let mut reasm = Reassembler::<8192>::new(Vcid::new_masked(mission::VC_DUMP));
        let mut good = 0usize;
        for chunk in stream.chunks(65536) {
            sync.push(chunk, |frame| {
                let Ok(repr) = aos::Repr::parse(&aos::Packet::new_unchecked(&frame.bytes[..]))
                else {
                    return;
                };
                reasm.push_frame(&repr, |e| {
                    if let Event::Packet(p) = e {
                        good += usize::from(tm::Repr::parse_bytes(p).is_ok());
                    }
                });
            });
        }
        good
    });
    println!(
        "{:<58} {:>9.0} MB/s",
        "CADU decode (sync+derandomise+FECF+M_PDU+PEC)",
        cadu_rate / 1e6
    );

    let frame: Vec<u8> = (0..1024u32).map(|i| (i * 7 + 3) as u8).collect();
    let mut c = vec![0u8; cltu::MAX_LEN];
    let mb = frame.len() as f64;
    let enc = median_rate(mb, 10_000 / scale, || {
        cltu::encode(black_box(&frame), false, &mut c).unwrap_or(0)
    });
    println!("{:<58} {:>9.0} MB/s", "CLTU encode, 1024-octet frame", enc / 1e6);
    let clen = cltu::encode(&frame, false, &mut c).expect("max frame fits");
    let mut out = [0u8; cltu::MAX_DECODED_LEN];
    let dec = median_rate(mb, 10_000 / scale, || {
        cltu::decode(black_box(&c[..clen]), false, &mut out).map_or(0, |d| d.len)
    });
    println!("{:<58} {:>9.0} MB/s", "CLTU decode, one-shot", dec / 1e6);
    let mut sdec = StreamDecoder::new(false);
    let sd = median_rate(mb, 10_000 / scale, || {
        let mut got = 0;
        let mut rest = black_box(&c[..clen]);
        while !rest.is_empty() {
            let p = sdec.push(rest);
            rest = rest.get(p.consumed..).unwrap_or_default();
            got += usize::from(p.event.is_some());
        }
        got
    });
    println!("{:<58} {:>9.0} MB/s", "CLTU decode, streaming (whole CLTU per push)", sd / 1e6);
}
