//! Table image decode and in-place validation of arbitrary bytes: never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tables::BandTable;

fuzz_target!(|data: &[u8]| {
    let bands = BandTable::default();
    let mut problems = 0usize;
    let _ = tables::validate_image(data, &bands, &mut |_| problems += 1);
});
