//! PUS TM parse of arbitrary bytes: never panics; what parses re-emits to the same octets.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tc_tm::pus::{TmPacket, TmRepr};

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = TmPacket::new_checked(data) {
        if let Ok(r) = TmRepr::parse(&p) {
            let mut out = vec![0u8; r.buffer_len()];
            let n = r.emit(&mut out).expect("emit into buffer_len");
            assert_eq!(&out[..n], p.as_bytes());
        }
    }
});
