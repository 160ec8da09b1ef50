//! Property tests of the uplink and PUS layers: Repr → emit → parse identity, canonical bytes →
//! parse → emit identity, no panic on arbitrary input (every parser and the streaming CLTU
//! decoder), BCH single-error correction and double-error rejection, and CRC rejection of any
//! single flipped bit in PUS packets and TC frames.

use proptest::{prelude::*, sample::Index};
use tc_tm::{
    cltu::{self, Event, StreamDecoder},
    pus::{AckFlags, Cuc, tc, time, tm},
    spp::{Apid, SeqCount, SeqFlags},
    tc_frame::{self, Body, ControlCommand},
};

fn seq_flags() -> impl Strategy<Value = SeqFlags> {
    (0u8..4).prop_map(SeqFlags::from_bits)
}

fn cuc() -> impl Strategy<Value = Cuc> {
    (any::<u32>(), any::<u16>()).prop_map(|(c, f)| Cuc::new(c, f))
}

prop_compose! {
    fn tc_parts()(apid in 0u16..=0x7FF, flags in seq_flags(), count in 0u16..=0x3FFF,
                  ack in 0u8..16, service: u8, subtype: u8, source: u16,
                  data in proptest::collection::vec(any::<u8>(), 0..200))
        -> ((u16, SeqFlags, u16, u8, u8, u8, u16), Vec<u8>) {
        ((apid, flags, count, ack, service, subtype, source), data)
    }
}

fn tc_repr(p: (u16, SeqFlags, u16, u8, u8, u8, u16), data: &[u8]) -> tc::Repr<'_> {
    let (apid, seq_flags, count, ack, service, subtype, source_id) = p;
    tc::Repr {
        apid: Apid::new(apid).unwrap(),
        seq_flags,
        seq_count: SeqCount::new(count).unwrap(),
        ack: AckFlags::new(ack).unwrap(),
        service,
        subtype,
        source_id,
        app_data: data,
    }
}

prop_compose! {
    fn tm_parts()(apid in 0u16..=0x7FF, flags in seq_flags(), count in 0u16..=0x3FFF,
                  tref in 0u8..16, service: u8, subtype: u8, counter: u16, dest: u16, time in cuc(),
                  data in proptest::collection::vec(any::<u8>(), 0..200))
        -> ((u16, SeqFlags, u16, u8, u8, u8, u16, u16, Cuc), Vec<u8>) {
        ((apid, flags, count, tref, service, subtype, counter, dest, time), data)
    }
}

#[allow(clippy::type_complexity)]
fn tm_repr(p: (u16, SeqFlags, u16, u8, u8, u8, u16, u16, Cuc), data: &[u8]) -> tm::Repr<'_> {
    let (apid, seq_flags, count, time_ref_status, service, subtype, msg_counter, dest_id, time) = p;
    tm::Repr {
        apid: Apid::new(apid).unwrap(),
        seq_flags,
        seq_count: SeqCount::new(count).unwrap(),
        time_ref_status,
        service,
        subtype,
        msg_counter,
        dest_id,
        time,
        source_data: data,
    }
}

// Frame header fields and a body selector: `None` = data frame, `Some(c)` = control frame.
prop_compose! {
    fn frame_parts()(bypass: bool, scid in 0u16..=0x3FF, vcid in 0u8..=0x3F, seq_num: u8,
                     flags in seq_flags(), map_id in 0u8..=0x3F,
                     control in prop_oneof![Just(None), Just(Some(ControlCommand::Unlock)),
                                            any::<u8>().prop_map(|v| Some(ControlCommand::SetVr(v)))],
                     data in proptest::collection::vec(any::<u8>(), 0..=tc_frame::MAX_DATA_LEN))
        -> ((bool, u16, u8, u8, SeqFlags, u8, Option<ControlCommand>), Vec<u8>) {
        ((bypass, scid, vcid, seq_num, flags, map_id, control), data)
    }
}

fn frame_repr(
    p: (bool, u16, u8, u8, SeqFlags, u8, Option<ControlCommand>),
    data: &[u8],
) -> tc_frame::Repr<'_> {
    let (bypass, scid, vcid, seq_num, seq_flags, map_id, control) = p;
    let (bypass, body) = match control {
        Some(c) => (true, Body::Control(c)),
        None => (bypass, Body::Data { seq_flags, map_id, data }),
    };
    tc_frame::Repr { bypass, scid, vcid, seq_num, body }
}

fn emit<E: core::fmt::Debug>(len: usize, f: impl Fn(&mut [u8]) -> Result<usize, E>) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    assert_eq!(f(&mut buf).unwrap(), len);
    buf
}

fn flip(bytes: &mut [u8], bit: usize) {
    bytes[bit / 8] ^= 0x80 >> (bit % 8);
}

/// Feeds `input` in the given chunk sizes (cycled); returns the events.
fn stream(
    dec: &mut StreamDecoder,
    input: &[u8],
    chunks: &[usize],
) -> Vec<Result<(Vec<u8>, u32), cltu::Error>> {
    let mut out = Vec::new();
    let mut rest = input;
    let mut sizes = chunks.iter().cycle();
    while !rest.is_empty() {
        let n = sizes.next().copied().unwrap_or(1).clamp(1, rest.len());
        let (mut piece, after) = rest.split_at(n);
        rest = after;
        while !piece.is_empty() {
            let p = dec.push(piece);
            assert!(p.consumed >= 1 && p.consumed <= piece.len());
            piece = &piece[p.consumed..];
            match p.event {
                Some(Event::Frame(f)) => out.push(Ok((f.data.to_vec(), f.corrected_bits))),
                Some(Event::Error(e)) => out.push(Err(e)),
                None => assert!(piece.is_empty()),
            }
        }
    }
    out
}

/// The decoded octets a CLTU of `frame` yields: the frame and fill, derandomised like it.
fn expected_decoded(frame: &[u8], randomise: bool) -> Vec<u8> {
    let mut v = frame.to_vec();
    if randomise {
        tc_tm::randomizer::tc_apply(&mut v);
    }
    v.resize(frame.len().div_ceil(7) * 7, cltu::FILL);
    if randomise {
        tc_tm::randomizer::tc_apply(&mut v);
    }
    v
}

proptest! {
    // ---- PUS TC ----
    #[test]
    fn pus_tc_round_trip((p, data) in tc_parts()) {
        let r = tc_repr(p, &data);
        let bytes = emit(r.buffer_len(), |b| r.emit(b));
        let parsed = tc::Repr::parse_bytes(&bytes).unwrap();
        prop_assert_eq!(parsed, r);
        prop_assert_eq!(emit(parsed.buffer_len(), |b| parsed.emit(b)), bytes);
    }

    #[test]
    fn pus_tc_single_bit_flip_rejected((p, data) in tc_parts(), bit: Index) {
        let r = tc_repr(p, &data);
        let mut bytes = emit(r.buffer_len(), |b| r.emit(b));
        let i = bit.index(bytes.len() * 8);
        flip(&mut bytes, i);
        prop_assert!(tc::Repr::parse_bytes(&bytes).is_err());
    }

    #[test]
    fn pus_tc_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = tc::Repr::parse_bytes(&bytes);
        // Whatever parses without the CRC check re-emits to the same octets (PEC apart).
        if let Ok(r) = tc::Repr::parse_without_crc_check(&tc::Packet::new_unchecked(&bytes[..])) {
            let out = emit(r.buffer_len(), |b| r.emit(b));
            prop_assert_eq!(&out[..out.len() - 2], &bytes[..out.len() - 2]);
        }
        if let Ok(p) = tc::Packet::new_checked(&bytes[..]) {
            let _ = (p.ack(), p.service(), p.subtype(), p.source_id(), p.app_data(), p.pec());
        }
    }

    // ---- PUS TM ----
    #[test]
    fn pus_tm_round_trip((p, data) in tm_parts()) {
        let r = tm_repr(p, &data);
        let bytes = emit(r.buffer_len(), |b| r.emit(b));
        let parsed = tm::Repr::parse_bytes(&bytes).unwrap();
        prop_assert_eq!(parsed, r);
        prop_assert_eq!(emit(parsed.buffer_len(), |b| parsed.emit(b)), bytes);
    }

    #[test]
    fn pus_tm_single_bit_flip_rejected((p, data) in tm_parts(), bit: Index) {
        let r = tm_repr(p, &data);
        let mut bytes = emit(r.buffer_len(), |b| r.emit(b));
        let i = bit.index(bytes.len() * 8);
        flip(&mut bytes, i);
        prop_assert!(tm::Repr::parse_bytes(&bytes).is_err());
    }

    #[test]
    fn pus_tm_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = tm::Repr::parse_bytes(&bytes);
        if let Ok(r) = tm::Repr::parse_without_crc_check(&tm::Packet::new_unchecked(&bytes[..])) {
            let out = emit(r.buffer_len(), |b| r.emit(b));
            prop_assert_eq!(&out[..out.len() - 2], &bytes[..out.len() - 2]);
        }
        if let Ok(p) = tm::Packet::new_checked(&bytes[..]) {
            let _ = (p.time(), p.msg_counter(), p.dest_id(), p.source_data(), p.pec());
        }
    }

    // ---- CUC time ----
    #[test]
    fn cuc_bytes_round_trip(c in cuc()) {
        let mut b = [0u8; 7];
        prop_assert_eq!(c.emit(&mut b), Ok(6));
        prop_assert_eq!(Cuc::parse(&b), Ok(c));
        prop_assert_eq!(c.emit_with_pfield(&mut b), Ok(7));
        prop_assert_eq!(Cuc::parse_with_pfield(&b), Ok((c, 7)));
    }

    #[test]
    fn cuc_conversions_round_trip(c in cuc()) {
        prop_assert_eq!(Cuc::from_secs_f64(c.as_secs_f64()), Some(c));
        let (s, ns) = c.to_secs_nanos();
        prop_assert!(ns < 1_000_000_000);
        prop_assert_eq!(Cuc::from_secs_nanos(s, ns), Some(c));
        prop_assert_eq!(Cuc::from_ticks(c.ticks()), Some(c));
        // MJD as f64 keeps about 1 µs at these magnitudes: within one tick.
        let back = Cuc::from_mjd_tt(c.to_mjd_tt()).unwrap();
        prop_assert!(back.ticks_since(c).abs() <= 1);
    }

    #[test]
    fn cuc_unix_round_trip(c in cuc()) {
        // Outside the 2016-12-31T23:59:60 leap second, where Unix time repeats a second.
        prop_assume!(!(68..=69).contains(&c.coarse));
        let (s, ns) = c.to_unix_utc();
        prop_assert_eq!(Cuc::from_unix_utc(s, ns), Some(c));
    }

    #[test]
    fn cuc_arbitrary_input(bytes in proptest::collection::vec(any::<u8>(), 0..10), x: f64, s: i64, ns: u32) {
        let _ = Cuc::parse(&bytes);
        let _ = Cuc::parse_with_pfield(&bytes);
        let _ = Cuc::from_secs_f64(x);
        let _ = Cuc::from_mjd_tt(x);
        let _ = Cuc::from_secs_nanos(s, ns);
        let _ = Cuc::from_unix_utc(s, ns);
        if let Some(first) = bytes.first() {
            let _ = time::PField::parse(*first);
        }
    }

    // ---- TC frames ----
    #[test]
    fn tc_frame_round_trip((p, data) in frame_parts()) {
        let r = frame_repr(p, &data);
        let bytes = emit(r.buffer_len(), |b| r.emit(b));
        let parsed = tc_frame::Repr::parse_bytes(&bytes).unwrap();
        prop_assert_eq!(parsed, r);
        prop_assert_eq!(emit(parsed.buffer_len(), |b| parsed.emit(b)), bytes);
    }

    #[test]
    fn tc_frame_single_bit_flip_rejected((p, data) in frame_parts(), bit: Index) {
        let r = frame_repr(p, &data);
        let mut bytes = emit(r.buffer_len(), |b| r.emit(b));
        let i = bit.index(bytes.len() * 8);
        flip(&mut bytes, i);
        prop_assert!(tc_frame::Repr::parse_bytes(&bytes).is_err());
    }

    #[test]
    fn tc_frame_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = tc_frame::Repr::parse_bytes(&bytes);
        if let Ok(r) = tc_frame::Repr::parse_without_fecf_check(&tc_frame::Packet::new_unchecked(&bytes[..])) {
            let out = emit(r.buffer_len(), |b| r.emit(b));
            prop_assert_eq!(&out[..out.len() - 2], &bytes[..out.len() - 2]);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    // ---- CLTU ----
    #[test]
    fn cltu_round_trip(frame in proptest::collection::vec(any::<u8>(), 1..=1024), randomise: bool,
                       chunks in proptest::collection::vec(1usize..300, 1..5)) {
        let mut c = vec![0u8; cltu::encoded_len(frame.len())];
        let n = cltu::encode(&frame, randomise, &mut c).unwrap();
        prop_assert_eq!(n, c.len());
        let mut out = [0u8; cltu::MAX_DECODED_LEN];
        let d = cltu::decode(&c, randomise, &mut out).unwrap();
        prop_assert_eq!(d.corrected_bits, 0);
        prop_assert_eq!(&out[..frame.len()], &frame[..]);
        prop_assert_eq!(&out[..d.len], &expected_decoded(&frame, randomise)[..]);
        let ev = stream(&mut StreamDecoder::new(randomise), &c, &chunks);
        prop_assert_eq!(ev, vec![Ok((out[..d.len].to_vec(), 0))]);
    }

    #[test]
    fn cltu_single_bit_flip_corrected(frame in proptest::collection::vec(any::<u8>(), 1..=300),
                                      randomise: bool, bit: Index) {
        let mut c = vec![0u8; cltu::encoded_len(frame.len())];
        cltu::encode(&frame, randomise, &mut c).unwrap();
        // Anywhere in the code blocks or the tail.
        let bits = (c.len() - 2) * 8;
        flip(&mut c[2..], bit.index(bits));
        let mut out = [0u8; cltu::MAX_DECODED_LEN];
        let d = cltu::decode(&c, randomise, &mut out).unwrap();
        prop_assert_eq!(d.corrected_bits, 1);
        prop_assert_eq!(&out[..frame.len()], &frame[..]);
        let ev = stream(&mut StreamDecoder::new(randomise), &c, &[7]);
        prop_assert_eq!(ev, vec![Ok((out[..d.len].to_vec(), 1))]);
    }

    #[test]
    fn cltu_double_bit_flip_in_a_block_rejected(frame in proptest::collection::vec(any::<u8>(), 1..=300),
                                                block: Index, a in 0usize..64, b in 0usize..64) {
        prop_assume!(a != b);
        let mut c = vec![0u8; cltu::encoded_len(frame.len())];
        cltu::encode(&frame, false, &mut c).unwrap();
        let k = block.index(frame.len().div_ceil(7));
        let start = 2 + 8 * k;
        flip(&mut c[start..start + 8], a);
        flip(&mut c[start..start + 8], b);
        let mut out = [0u8; cltu::MAX_DECODED_LEN];
        prop_assert_eq!(cltu::decode(&c, false, &mut out), Err(cltu::Error::Uncorrectable { block: k }));
        // The rest of an abandoned CLTU is hunted through like any garbage (random frame octets
        // may hold `EB 90` and cause further errors): the first event is the rejection and the
        // frame is never delivered.
        let ev = stream(&mut StreamDecoder::new(false), &c, &[3, 11]);
        prop_assert_eq!(ev.first(), Some(&Err(cltu::Error::Uncorrectable { block: k })));
        let whole = expected_decoded(&frame, false);
        prop_assert!(ev.iter().all(|e| e.as_ref().map_or(true, |(d, _)| *d != whole)));
    }

    /// Several CLTUs separated by idle octets without `EB`, fed in random chunks: every frame
    /// comes out, in order.
    #[test]
    fn cltu_stream_of_several(frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..200), 1..5),
                              gaps in proptest::collection::vec(proptest::collection::vec(any::<u8>().prop_filter("no EB", |b| *b != 0xEB), 0..20), 5),
                              chunks in proptest::collection::vec(1usize..64, 1..6), randomise: bool) {
        let mut link = Vec::new();
        let mut expected = Vec::new();
        for (f, gap) in frames.iter().zip(&gaps) {
            link.extend_from_slice(gap);
            let mut c = vec![0u8; cltu::encoded_len(f.len())];
            cltu::encode(f, randomise, &mut c).unwrap();
            link.extend_from_slice(&c);
            expected.push(Ok((expected_decoded(f, randomise), 0)));
        }
        prop_assert_eq!(stream(&mut StreamDecoder::new(randomise), &link, &chunks), expected);
    }

    #[test]
    fn cltu_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400),
                            chunks in proptest::collection::vec(1usize..50, 1..6), randomise: bool) {
        let mut out = [0u8; cltu::MAX_DECODED_LEN];
        let _ = cltu::decode(&bytes, randomise, &mut out);
        let mut small = [0u8; 5];
        let _ = cltu::decode(&bytes, randomise, &mut small);
        let mut dec = StreamDecoder::new(randomise);
        for (data, _) in stream(&mut dec, &bytes, &chunks).into_iter().flatten() {
            prop_assert!(data.len() <= cltu::MAX_DECODED_LEN && data.len() % 7 == 0);
        }
        // Streams that start with a start sequence and carry random blocks.
        let mut s = cltu::START_SEQ.to_vec();
        s.extend_from_slice(&bytes);
        let _ = stream(&mut dec, &s, &chunks);
    }
}
