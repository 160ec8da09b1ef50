//! Service-layer parse of arbitrary (service, subtype, data): never panics; what parses
//! re-emits to exactly the input.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tc_tm::service::{Report, Request};

fuzz_target!(|data: &[u8]| {
    let [service, subtype, rest @ ..] = data else { return };
    if let Ok(r) = Request::parse(*service, *subtype, rest) {
        let mut out = vec![0u8; r.buffer_len()];
        let n = r.emit(&mut out).expect("emit into buffer_len");
        assert_eq!(&out[..n], rest);
    }
    if let Ok(r) = Report::parse(*service, *subtype, rest) {
        let mut out = vec![0u8; r.buffer_len()];
        let n = r.emit(&mut out).expect("emit into buffer_len");
        assert_eq!(&out[..n], rest);
    }
});
