//! Public-API tests of the uplink layers against the vectors of `tests/vectors/uplink-*.hex` and
//! `pus-*.hex` (provenance in `tests/vectors/uplink.md`): published CLTUs, code blocks and TC
//! frames, and malformed inputs derived from them.

use tc_tm::{
    cltu::{self, Event, StreamDecoder},
    mission,
    pus::{self, AckFlags, tc, tm},
    randomizer,
    spp::{SeqCount, SeqFlags},
    tc_frame::{self, Body, ControlCommand},
};

/// Reads a vector file: `#` lines are comments, the rest is hex with any whitespace.
fn vector(text: &str) -> Vec<u8> {
    let hex: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
        .collect();
    hex::decode(hex).expect("vector file is hex")
}

macro_rules! vector {
    ($name:literal) => {
        vector(include_str!(concat!("../../tests/vectors/", $name, ".hex")))
    };
}

/// Feeds `input` to a stream decoder in chunks of `chunk` octets; collects the events.
fn stream(
    dec: &mut StreamDecoder,
    input: &[u8],
    chunk: usize,
) -> Vec<Result<(Vec<u8>, u32), cltu::Error>> {
    let mut out = Vec::new();
    for piece in input.chunks(chunk.max(1)) {
        let mut rest = piece;
        while !rest.is_empty() {
            let p = dec.push(rest);
            rest = &rest[p.consumed..];
            match p.event {
                Some(Event::Frame(f)) => out.push(Ok((f.data.to_vec(), f.corrected_bits))),
                Some(Event::Error(e)) => out.push(Err(e)),
                None => {}
            }
        }
    }
    out
}

#[test]
fn published_bch_code_blocks() {
    let v = vector!("uplink-bch-blocks");
    assert_eq!(v.len(), 32);
    for block in v.chunks(8) {
        let info: [u8; 7] = block[..7].try_into().unwrap();
        assert_eq!(cltu::parity_octet(&info), block[7], "block {block:02X?}");
    }
}

#[test]
fn published_cltus_encode_exactly() {
    for (frame, expected) in [
        (vector!("uplink-frame-01"), vector!("uplink-cltu-01")),
        (vector!("uplink-frame-02"), vector!("uplink-cltu-02")),
    ] {
        let mut out = [0u8; cltu::MAX_LEN];
        let n = cltu::encode(&frame, false, &mut out).unwrap();
        assert_eq!(n, cltu::encoded_len(frame.len()));
        assert_eq!(&out[..n], &expected[..]);
    }
}

#[test]
fn published_cltus_decode_to_their_frames() {
    for (frame, c) in [
        (vector!("uplink-frame-01"), vector!("uplink-cltu-01")),
        (vector!("uplink-frame-02"), vector!("uplink-cltu-02")),
    ] {
        let mut out = [0u8; cltu::MAX_DECODED_LEN];
        let d = cltu::decode(&c, false, &mut out).unwrap();
        assert_eq!(d.corrected_bits, 0);
        assert_eq!(&out[..frame.len()], &frame[..]);
        assert!(out[frame.len()..d.len].iter().all(|&b| b == cltu::FILL));
        // The frame layer finds the frame in the decoded octets, fill included.
        let r = tc_frame::Repr::parse_bytes(&out[..d.len]).unwrap();
        assert_eq!(r.scid, 0x2F6);
        for chunk in [1, 3, 8, 1000] {
            let ev = stream(&mut StreamDecoder::new(false), &c, chunk);
            assert_eq!(ev, [Ok((out[..d.len].to_vec(), 0))], "chunk {chunk}");
        }
    }
}

#[test]
fn published_frames_parse_and_re_emit() {
    for f in [vector!("uplink-frame-01"), vector!("uplink-frame-02")] {
        let r = tc_frame::Repr::parse_bytes(&f).unwrap();
        assert!(r.bypass);
        assert!(matches!(r.body, Body::Data { map_id: 2, .. }));
        let mut out = vec![0u8; r.buffer_len()];
        assert_eq!(r.emit(&mut out), Ok(f.len()));
        assert_eq!(out, f);
    }
}

#[test]
fn malformed_frames() {
    assert!(matches!(
        tc_frame::Repr::parse_bytes(&vector!("uplink-bad-fecf")),
        Err(tc_frame::Error::BadCrc { received: 0x0068, .. })
    ));
    assert_eq!(
        tc_frame::Repr::parse_bytes(&vector!("uplink-bad-truncated-frame")),
        Err(tc_frame::Error::Truncated { found: 35, expected: 36 })
    );
}

#[test]
fn malformed_cltus() {
    let mut out = [0u8; cltu::MAX_DECODED_LEN];
    let double = vector!("uplink-bad-cltu-double-error");
    assert_eq!(
        cltu::decode(&double, false, &mut out),
        Err(cltu::Error::Uncorrectable { block: 1 })
    );
    assert_eq!(
        stream(&mut StreamDecoder::new(false), &double, 5),
        [Err(cltu::Error::Uncorrectable { block: 1 })]
    );
    assert_eq!(
        cltu::decode(&vector!("uplink-bad-cltu-no-tail"), false, &mut out),
        Err(cltu::Error::MissingTail)
    );
    let bad_start = vector!("uplink-bad-cltu-start");
    assert_eq!(
        cltu::decode(&bad_start, false, &mut out),
        Err(cltu::Error::BadStartSequence(0xEB91))
    );
    // The stream decoder never finds a start: no event at all.
    assert_eq!(stream(&mut StreamDecoder::new(false), &bad_start, 7), []);
}

#[test]
fn malformed_pus_packets() {
    assert!(matches!(
        tc::Repr::parse_bytes(&vector!("pus-bad-tc-crc")),
        Err(pus::Error::BadCrc { received: 0x3186, .. })
    ));
    assert_eq!(
        tc::Repr::parse_bytes(&vector!("pus-bad-tc-truncated")),
        Err(pus::Error::Truncated { found: 12, expected: 13 })
    );
    assert_eq!(
        tc::Repr::parse_bytes(&vector!("pus-bad-tc-version")),
        Err(pus::Error::BadPusVersion(1))
    );
    assert_eq!(
        tm::Repr::parse_bytes(&vector!("pus-bad-tm-version")),
        Err(pus::Error::BadPusVersion(1))
    );
    assert_eq!(
        tm::Repr::parse_bytes(&vector!("pus-bad-tm-short")),
        Err(pus::Error::Truncated { found: 20, expected: 21 })
    );
    // A TM given to the TC parser and the reverse.
    assert_eq!(tc::Repr::parse_bytes(&vector!("pus-tm-hk")), Err(pus::Error::WrongPacketType));
    assert!(tm::Repr::parse_bytes(&vector!("pus-tc-ping")).is_err());
}

#[test]
fn randomisation_is_applied_to_the_frame_before_bch() {
    let frame = vector!("uplink-frame-02");
    let mut c = [0u8; cltu::MAX_LEN];
    let n = cltu::encode(&frame, true, &mut c).unwrap();
    // Information octets of the first block = frame XOR the published TC sequence FF 39 9E 5A 68.
    let published = [0xFF, 0x39, 0x9E, 0x5A, 0x68];
    for i in 0..5 {
        assert_eq!(c[2 + i], frame[i] ^ published[i]);
    }
    // Fill is not randomised; every block's check octet is computed on the randomised octets.
    let blocks = &c[2..n - 8];
    for b in blocks.chunks(8) {
        assert_eq!(cltu::parity_octet(b[..7].try_into().unwrap()), b[7]);
    }
    assert_eq!(&blocks[blocks.len() - 8..blocks.len() - 1][1..], &[0x55; 6]);
    assert_eq!(randomizer::TC_PN[..5], published);
    // Decoding with derandomisation gives the frame back.
    let mut out = [0u8; cltu::MAX_DECODED_LEN];
    let d = cltu::decode(&c[..n], true, &mut out).unwrap();
    assert_eq!(&out[..36], &frame[..]);
    assert_eq!(d.len, 42);
}

/// The whole uplink: PUS TC → TC frame → randomised CLTU → stream decoder → frame → PUS TC.
#[test]
fn full_uplink_chain() {
    let app = [0xA5u8; 40];
    let pkt = tc::Repr {
        apid: mission::APID_UGTS,
        seq_flags: SeqFlags::Unsegmented,
        seq_count: SeqCount::new(42).unwrap(),
        ack: AckFlags::ALL,
        service: 8,
        subtype: 1,
        source_id: mission::BENCH_SOURCE_ID,
        app_data: &app,
    };
    let mut pbuf = [0u8; 64];
    let plen = pkt.emit(&mut pbuf).unwrap();
    tc::check_mission_len(plen).unwrap();
    let frame = tc_frame::Repr {
        bypass: false,
        scid: mission::SCID,
        vcid: mission::TC_VCID,
        seq_num: 9,
        body: Body::Data {
            seq_flags: SeqFlags::Unsegmented,
            map_id: mission::TC_MAP_ID,
            data: &pbuf[..plen],
        },
    };
    let mut fbuf = [0u8; tc_frame::MAX_LEN];
    let flen = frame.emit(&mut fbuf).unwrap();
    let mut c = [0u8; cltu::MAX_LEN];
    let clen = cltu::encode(&fbuf[..flen], true, &mut c).unwrap();
    // Two CLTUs back to back, with idle octets and one bit error in the second.
    let mut link = vec![0x55u8; 5];
    link.extend_from_slice(&c[..clen]);
    link.extend_from_slice(&[0x55; 3]);
    link.extend_from_slice(&c[..clen]);
    let flip = link.len() - clen + 20;
    link[flip] ^= 0x10;
    let events = stream(&mut StreamDecoder::new(true), &link, 13);
    assert_eq!(events.len(), 2);
    for (i, ev) in events.iter().enumerate() {
        let (data, corrected) = ev.as_ref().unwrap();
        assert_eq!(*corrected, i as u32);
        let f = tc_frame::Repr::parse_bytes(data).unwrap();
        assert_eq!(f.scid, mission::SCID);
        let Body::Data { data: seg, .. } = f.body else { panic!("data frame expected") };
        assert_eq!(tc::Repr::parse_bytes(seg), Ok(pkt));
    }
}

#[test]
fn control_frames_through_a_cltu() {
    for cmd in [ControlCommand::Unlock, ControlCommand::SetVr(200)] {
        let f = tc_frame::Repr {
            bypass: true,
            scid: mission::SCID,
            vcid: 0,
            seq_num: 0,
            body: Body::Control(cmd),
        };
        let mut fb = [0u8; 16];
        let n = f.emit(&mut fb).unwrap();
        let mut c = [0u8; 64];
        let cl = cltu::encode(&fb[..n], false, &mut c).unwrap();
        let mut out = [0u8; 64];
        let d = cltu::decode(&c[..cl], false, &mut out).unwrap();
        assert_eq!(tc_frame::Repr::parse_bytes(&out[..d.len]), Ok(f));
    }
}
