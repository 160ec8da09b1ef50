//! Published and malformed downlink vectors of `tests/vectors/downlink-*.hex` (provenance in
//! `tests/vectors/downlink.md`).

use tc_tm::aos::{self, FirstHdrPtr};
use tc_tm::cop1::Clcw;
use tc_tm::sync::Synchroniser;

fn load(text: &str) -> Vec<u8> {
    let hex: String = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
        .collect();
    hex::decode(hex).unwrap()
}

#[test]
fn parse_ccsds_rs_header_vector() {
    let b = load(include_str!("../../tests/vectors/downlink-aos-ccsds-rs.hex"));
    let r = aos::Repr::parse(&aos::Packet::new_checked(&b[..]).unwrap()).unwrap();
    // ccsds-rs asserts scid 157 and vcid 16 for this header.
    assert_eq!((r.scid, r.vcid.value()), (157, 16));
    assert_eq!(r.vc_frame_count.value(), 0x96_30BC);
    assert!(r.replay);
    assert_eq!(r.first_hdr_ptr, FirstHdrPtr::NoPacketStart);
}

#[test]
fn bad_signalling_vector_is_rejected() {
    let b = load(include_str!("../../tests/vectors/downlink-aos-bad-signalling.hex"));
    let p = aos::Packet::new_checked(&b[..]).unwrap();
    // ccsds-rs: version 1, scid 85, vcid 33, counter 123456, count cycle 5.
    assert_eq!((p.version(), p.scid(), p.vcid().value()), (1, 85, 33));
    assert_eq!(p.vc_frame_count().value(), 123_456);
    assert_eq!(
        aos::Repr::parse(&p).unwrap_err(),
        aos::Error::Reserved { field: "signalling", value: 0x05 }
    );
}

#[test]
fn bad_fecf_vector_is_rejected() {
    let b = load(include_str!("../../tests/vectors/downlink-aos-bad-fecf.hex"));
    let p = aos::Packet::new_checked(&b[..]).unwrap();
    assert!(matches!(aos::Repr::parse(&p), Err(aos::Error::BadFecf { .. })));
    assert!(aos::Repr::parse_without_fecf(&p).is_ok());
}

#[test]
fn truncated_vector_is_rejected() {
    let b = load(include_str!("../../tests/vectors/downlink-aos-ccsds-rs.hex"));
    assert_eq!(
        aos::Packet::new_checked(&b[..100]).unwrap_err(),
        aos::Error::Truncated { found: 100, expected: 1115 }
    );
}

#[test]
fn clcw_vector() {
    let b = load(include_str!("../../tests/vectors/downlink-clcw.hex"));
    let c = Clcw::from_u32(u32::from_be_bytes(b[..4].try_into().unwrap()));
    assert!(c.is_cop1_clcw());
    assert_eq!((c.status, c.vcid, c.report_value, c.farm_b_counter), (3, 5, 0x42, 2));
    assert!(c.no_rf_avail && c.lockout && c.retransmit && !c.wait && !c.no_bit_lock);
}

#[test]
fn cadu_of_zero_frame_derandomises_to_zeros() {
    let b = load(include_str!("../../tests/vectors/downlink-cadu-zero-frame.hex"));
    assert_eq!(&b[4..8], &[0xFF, 0x48, 0x0E, 0xC0]);
    let mut s = Synchroniser::new();
    let mut n = 0;
    s.push(&b, |f| {
        assert!(f.bytes.iter().all(|&x| x == 0));
        assert_eq!(f.offset, 0);
        n += 1;
    });
    assert_eq!(n, 1);
}
