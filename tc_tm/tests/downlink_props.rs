//! Property tests of the downlink chain: AOS frames, CADU sync, M_PDU packer and reassembler.

use proptest::prelude::*;
use tc_tm::aos::{self, FRAME_LEN, FirstHdrPtr, PACKET_ZONE_LEN, VcFrameCount, Vcid};
use tc_tm::mission::CADU_LEN;
use tc_tm::mpdu::{Event, Packer, Reassembler};
use tc_tm::spp;
use tc_tm::sync::{Synchroniser, encode_cadu};

const MAX_PKT: usize = 4096;

fn make_packet(apid: u16, len: usize, seed: u8) -> Vec<u8> {
    let mut p = vec![0u8; len];
    let repr = spp::Repr {
        packet_type: spp::PacketType::Tm,
        sec_hdr_flag: true,
        apid: spp::Apid::new(apid).unwrap(),
        seq_flags: spp::SeqFlags::Unsegmented,
        seq_count: spp::SeqCount::new_masked(u16::from(seed)),
        data_len: len - spp::HEADER_LEN,
    };
    repr.emit(&mut spp::Packet::new_unchecked(&mut p[..])).unwrap();
    for (i, b) in p[spp::HEADER_LEN..].iter_mut().enumerate() {
        *b = seed.wrapping_mul(7).wrapping_add(i as u8);
    }
    p
}

/// Packs `packets`, flushing after those whose flag is set and at the end.
fn pack(packets: &[(Vec<u8>, bool)]) -> Vec<[u8; FRAME_LEN]> {
    let mut packer = Packer::<{ 2 * MAX_PKT }>::new(Vcid::new(0).unwrap());
    let mut frames = Vec::new();
    let mut f = [0u8; FRAME_LEN];
    for (p, flush) in packets {
        packer.push(p).unwrap();
        while packer.next_frame(0x0100_0000, &mut f) {
            frames.push(f);
        }
        if *flush {
            while packer.flush_frame(0x0100_0000, &mut f) {
                frames.push(f);
            }
        }
    }
    while packer.flush_frame(0x0100_0000, &mut f) {
        frames.push(f);
    }
    frames
}

fn cadus(frames: &[[u8; FRAME_LEN]]) -> Vec<[u8; CADU_LEN]> {
    frames
        .iter()
        .map(|f| {
            let mut c = [0u8; CADU_LEN];
            encode_cadu(f, &mut c);
            c
        })
        .collect()
}

/// Sync → FECF → reassembly; returns packets and errors.
fn decode(stream: &[u8], chunk: usize) -> (Vec<Vec<u8>>, Vec<tc_tm::mpdu::Error>, u64) {
    let mut sync = Synchroniser::new();
    let mut reasm = Reassembler::<MAX_PKT>::new(Vcid::new(0).unwrap());
    let (mut packets, mut errors) = (Vec::new(), Vec::new());
    for c in stream.chunks(chunk) {
        sync.push(c, |frame| {
            let Ok(repr) = aos::Repr::parse(&aos::Packet::new_unchecked(&frame.bytes[..])) else {
                return;
            };
            reasm.push_frame(&repr, |e| match e {
                Event::Packet(p) => packets.push(p.to_vec()),
                Event::Idle { .. } => {}
                Event::Error(e) => errors.push(e),
            });
        });
    }
    (packets, errors, sync.stats().garbage_octets)
}

fn packets_strategy() -> impl Strategy<Value = Vec<(Vec<u8>, bool)>> {
    prop::collection::vec((7usize..=MAX_PKT, any::<u8>(), prop::bool::weighted(0.3)), 1..12)
        .prop_map(|v| {
            v.into_iter().map(|(len, seed, flush)| (make_packet(0x240, len, seed), flush)).collect()
        })
}

proptest! {
    #[test]
    fn aos_repr_emit_parse_identity(
        scid in any::<u8>(),
        vcid in 0u8..=63,
        count in 0u32..=0xFF_FFFF,
        replay in any::<bool>(),
        fhp in prop_oneof![
            (0u16..PACKET_ZONE_LEN as u16).prop_map(FirstHdrPtr::At),
            Just(FirstHdrPtr::NoPacketStart),
            Just(FirstHdrPtr::IdleOnly),
        ],
        zone in prop::collection::vec(any::<u8>(), PACKET_ZONE_LEN),
        ocf in any::<u32>(),
    ) {
        let repr = aos::Repr {
            scid,
            vcid: Vcid::new(vcid).unwrap(),
            vc_frame_count: VcFrameCount::new(count).unwrap(),
            replay,
            first_hdr_ptr: fhp,
            packet_zone: &zone,
            ocf,
        };
        let mut buf = [0u8; FRAME_LEN];
        repr.emit(&mut aos::Packet::new_unchecked(&mut buf[..])).unwrap();
        let parsed = aos::Repr::parse(&aos::Packet::new_checked(&buf[..]).unwrap()).unwrap();
        prop_assert_eq!(parsed, repr);
        // Canonical bytes: parse → emit gives the same bytes.
        let mut again = [0u8; FRAME_LEN];
        parsed.emit(&mut aos::Packet::new_unchecked(&mut again[..])).unwrap();
        prop_assert_eq!(&again[..], &buf[..]);
    }

    #[test]
    fn any_single_bit_flip_is_rejected_by_fecf(
        zone in prop::collection::vec(any::<u8>(), PACKET_ZONE_LEN),
        bit in 0usize..FRAME_LEN * 8,
    ) {
        let repr = aos::Repr {
            scid: 0x53,
            vcid: Vcid::new(0).unwrap(),
            vc_frame_count: VcFrameCount::new(1).unwrap(),
            replay: false,
            first_hdr_ptr: FirstHdrPtr::At(0),
            packet_zone: &zone,
            ocf: 0,
        };
        let mut buf = [0u8; FRAME_LEN];
        repr.emit(&mut aos::Packet::new_unchecked(&mut buf[..])).unwrap();
        buf[bit / 8] ^= 0x80 >> (bit % 8);
        prop_assert!(aos::Repr::parse(&aos::Packet::new_checked(&buf[..]).unwrap()).is_err());
    }

    #[test]
    fn aos_parse_of_any_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..1200)) {
        if let Ok(p) = aos::Packet::new_checked(&bytes[..]) {
            let _ = aos::Repr::parse(&p);
            let _ = aos::Repr::parse_without_fecf(&p);
        }
    }

    #[test]
    fn packer_sync_reassembler_round_trip(
        packets in packets_strategy(),
        chunk in prop_oneof![1usize..64, 64usize..5000],
    ) {
        let frames = pack(&packets);
        let stream: Vec<u8> = cadus(&frames).concat();
        let (got, errors, garbage) = decode(&stream, chunk);
        let want: Vec<Vec<u8>> = packets.into_iter().map(|(p, _)| p).collect();
        prop_assert!(errors.is_empty(), "{:?}", errors);
        prop_assert_eq!(got, want);
        prop_assert_eq!(garbage, 0);
    }

    #[test]
    fn garbage_between_cadus_is_skipped(
        packets in packets_strategy(),
        garbage in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..3000), 1..6),
        chunk in 100usize..3000,
    ) {
        let frames = pack(&packets);
        let cs = cadus(&frames);
        let mut stream = Vec::new();
        let mut total_garbage = 0;
        for (i, c) in cs.iter().enumerate() {
            let g = &garbage[i % garbage.len()];
            prop_assume!(!g.windows(4).any(|w| w == tc_tm::mission::ASM));
            stream.extend_from_slice(g);
            total_garbage += g.len();
            stream.extend_from_slice(c);
        }
        let (got, errors, counted) = decode(&stream, chunk);
        let want: Vec<Vec<u8>> = packets.into_iter().map(|(p, _)| p).collect();
        prop_assert!(errors.is_empty(), "{:?}", errors);
        prop_assert_eq!(got, want);
        prop_assert_eq!(counted, total_garbage as u64);
    }

    #[test]
    fn dropped_frame_loses_only_the_packets_it_touched(
        packets in packets_strategy(),
        which in any::<prop::sample::Index>(),
    ) {
        let frames = pack(&packets);
        prop_assume!(frames.len() >= 2);
        let k = which.index(frames.len() - 1);
        // Where every packet (idle ones included) lies in the VC data stream.
        let zones: Vec<u8> = frames
            .iter()
            .flat_map(|f| aos::Packet::new_unchecked(&f[..]).packet_zone().to_vec())
            .collect();
        let mut spans = Vec::new();
        let mut pos = 0;
        while pos + 6 <= zones.len() {
            let len = spp::packet_len(&zones[pos..]).unwrap();
            if pos + len > zones.len() { break; }
            let idle = spp::Packet::new_unchecked(&zones[pos..]).apid() == spp::Apid::IDLE;
            spans.push((pos, len, idle));
            pos += len;
        }
        let (lo, hi) = (k * PACKET_ZONE_LEN, (k + 1) * PACKET_ZONE_LEN);
        let mut want = Vec::new();
        let mut real = packets.iter();
        for (start, len, idle) in spans {
            if idle { continue; }
            let p = &real.next().unwrap().0;
            if start + len <= lo || start >= hi {
                want.push(p.clone());
            }
        }
        let mut kept = frames.clone();
        kept.remove(k);
        let stream: Vec<u8> = cadus(&kept).concat();
        let (got, errors, _) = decode(&stream, 4096);
        // Losing the very first frame cannot be seen as a gap: the reassembler simply
        // synchronises on the first frame it gets.
        let want_errors = if k == 0 {
            vec![]
        } else {
            vec![tc_tm::mpdu::Error::Gap { expected: k as u32, found: k as u32 + 1 }]
        };
        prop_assert_eq!(errors, want_errors);
        prop_assert_eq!(got, want);
    }

    #[test]
    fn sync_on_any_bytes_never_panics(
        bytes in prop::collection::vec(any::<u8>(), 0..6000),
        chunk in 1usize..2000,
        seed_asm in any::<bool>(),
    ) {
        let mut s = Synchroniser::new();
        let mut stream = bytes;
        if seed_asm {
            // Sprinkle ASMs so the locked paths run on garbage too.
            for at in (0..stream.len().saturating_sub(4)).step_by(CADU_LEN / 2) {
                stream[at..at + 4].copy_from_slice(&tc_tm::mission::ASM);
            }
        }
        let mut n = 0;
        for c in stream.chunks(chunk) {
            s.push(c, |_| n += 1);
        }
        let st = s.stats();
        prop_assert_eq!(
            st.garbage_octets + st.frames * CADU_LEN as u64 + s.pending_octets() as u64,
            stream.len() as u64 + st.overlap_octets
        );
    }

    #[test]
    fn reassembler_on_any_frames_never_panics(
        frames in prop::collection::vec(
            (
                any::<u32>(),
                prop_oneof![
                    (0u16..PACKET_ZONE_LEN as u16).prop_map(FirstHdrPtr::At),
                    Just(FirstHdrPtr::NoPacketStart),
                    Just(FirstHdrPtr::IdleOnly),
                ],
                prop::collection::vec(any::<u8>(), PACKET_ZONE_LEN),
            ),
            1..8,
        ),
    ) {
        let mut r = Reassembler::<2048>::new(Vcid::new(0).unwrap());
        for (count, fhp, zone) in &frames {
            let repr = aos::Repr {
                scid: 0x53,
                vcid: Vcid::new(0).unwrap(),
                vc_frame_count: VcFrameCount::new_masked(*count),
                replay: false,
                first_hdr_ptr: *fhp,
                packet_zone: zone,
                ocf: 0,
            };
            r.push_frame(&repr, |e| {
                if let Event::Packet(p) = e {
                    assert_eq!(spp::packet_len(p), Some(p.len()));
                }
            });
        }
    }
}
