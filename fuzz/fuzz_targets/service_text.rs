//! The text request syntax on arbitrary strings: never panics; accepted text yields a request
//! that parses.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tc_tm::service::{Request, text};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = core::str::from_utf8(data) else { return };
    let mut buf = [0u8; 1024];
    if let Ok((service, subtype, n)) = text::parse_request(s, &mut buf) {
        assert!(Request::parse(service, subtype, &buf[..n]).is_ok());
    }
});
