//! Cross-check: a CADU stream made by our packer, AOS framing, randomiser and ASM is decoded
//! by the independent `ccsds` crate (bmflynn/ccsds-rs 0.1.0-beta.25: its `Synchronizer`,
//! `DefaultDerandomizer` and `decode_framed_packets`), which must give back the same packets.
//! The `ccsds` crate does not check an AOS FECF; our OCF + FECF are passed to it as the
//! 6-octet frame trailer.

use std::io::Cursor;

use ccsds::framing::{DefaultDerandomizer, Synchronizer, decode_framed_packets, decode_frames};
use proptest::prelude::*;
use tc_tm::aos::{FECF_LEN, FRAME_LEN, OCF_LEN, Vcid};
use tc_tm::mission::{AOS_FRAME_LEN, CADU_LEN};
use tc_tm::mpdu::Packer;
use tc_tm::spp;
use tc_tm::sync::encode_cadu;

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
        *b = seed.wrapping_add((i * 13) as u8);
    }
    p
}

fn stream_of(packets: &[(Vec<u8>, bool)]) -> Vec<u8> {
    let mut packer = Packer::<16384>::new(Vcid::new(2).unwrap());
    let mut stream = Vec::new();
    let mut f = [0u8; FRAME_LEN];
    let mut c = [0u8; CADU_LEN];
    let mut emit = |f: &[u8; FRAME_LEN], stream: &mut Vec<u8>| {
        encode_cadu(f, &mut c);
        stream.extend_from_slice(&c);
    };
    for (p, flush) in packets {
        packer.push(p).unwrap();
        while packer.next_frame(0x0100_0000, &mut f) {
            emit(&f, &mut stream);
        }
        if *flush {
            while packer.flush_frame(0x0100_0000, &mut f) {
                emit(&f, &mut stream);
            }
        }
    }
    while packer.flush_frame(0x0100_0000, &mut f) {
        emit(&f, &mut stream);
    }
    stream
}

fn decode_with_ccsds(stream: Vec<u8>) -> Vec<Vec<u8>> {
    let blocks: Vec<Vec<u8>> = Synchronizer::new(Cursor::new(stream), AOS_FRAME_LEN)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let frames = decode_frames(blocks.into_iter(), None, Some(Box::new(DefaultDerandomizer)))
        .map(Result::unwrap);
    decode_framed_packets(frames, 0, OCF_LEN + FECF_LEN)
        .filter(|p| p.packet.header.apid != 0x7FF)
        .map(|p| {
            assert_eq!(p.vcid, 2);
            assert_eq!(p.scid, 0x53);
            p.packet.data
        })
        .collect()
}

#[test]
fn ccsds_crate_decodes_our_stream() {
    let packets: Vec<(Vec<u8>, bool)> =
        [(30, false), (2000, false), (1095, true), (7, true), (4096, false), (12, true)]
            .iter()
            .enumerate()
            .map(|(i, &(len, flush))| (make_packet(0x240 + (i as u16 % 3), len, i as u8), flush))
            .collect();
    let got = decode_with_ccsds(stream_of(&packets));
    let want: Vec<Vec<u8>> = packets.into_iter().map(|(p, _)| p).collect();
    assert_eq!(got, want);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn ccsds_crate_agrees_on_arbitrary_streams(
        spec in prop::collection::vec((7usize..=4096, prop::bool::weighted(0.3)), 1..10),
    ) {
        let packets: Vec<(Vec<u8>, bool)> = spec
            .iter()
            .enumerate()
            .map(|(i, &(len, flush))| (make_packet(0x242, len, i as u8), flush))
            .collect();
        let got = decode_with_ccsds(stream_of(&packets));
        let want: Vec<Vec<u8>> = packets.into_iter().map(|(p, _)| p).collect();
        prop_assert_eq!(got, want);
    }
}
