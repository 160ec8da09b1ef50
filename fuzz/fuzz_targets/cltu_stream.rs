//! The streaming CLTU decoder fed arbitrary bytes in arbitrary chunks: never panics, always
//! makes progress.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tc_tm::cltu::{self, StreamDecoder};

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, body)) = data.split_first() else { return };
    let chunk = usize::from(ctl % 64) + 1;
    let mut dec = StreamDecoder::new(ctl & 0x80 != 0);
    for piece in body.chunks(chunk) {
        let mut rest = piece;
        while !rest.is_empty() {
            let p = dec.push(rest);
            assert!(p.consumed > 0 || p.event.is_some(), "no progress");
            rest = &rest[p.consumed..];
        }
    }
    let mut out = [0u8; cltu::MAX_DECODED_LEN];
    let _ = cltu::decode(body, false, &mut out);
});
