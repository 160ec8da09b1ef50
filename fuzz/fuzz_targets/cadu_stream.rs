//! Arbitrary bytes through the whole downlink chain (sync, AOS parse, M_PDU reassembly, PUS TM
//! parse): never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tc_tm::aos::{self, Vcid};
use tc_tm::mpdu::{Event, Reassembler};
use tc_tm::pus::TmRepr;
use tc_tm::sync::Synchroniser;

fuzz_target!(|data: &[u8]| {
    let mut sync = Synchroniser::new();
    let mut reasm = Reassembler::<4096>::new(Vcid::new_masked(0));
    for piece in data.chunks(997) {
        sync.push(piece, |frame| {
            let Ok(repr) =
                aos::Repr::parse_without_fecf(&aos::Packet::new_unchecked(&frame.bytes[..]))
            else {
                return;
            };
            if repr.vcid.value() != 0 {
                return;
            }
            reasm.push_frame(&repr, |e| {
                if let Event::Packet(p) = e {
                    let _ = TmRepr::parse_bytes(p);
                }
            });
        });
    }
});
