//! Arbitrary octets on the stimulus link through the deframer, the packet parser and a
//! configured, observing trigger (default tables): never panics, and the intake accounts for
//! every packet (consumed = accepted + refused) and every octet.
//!
//! Input: any octets; they are fed in pieces of 1–256 octets (the first octet of each piece
//! gives its length) so that frames are split at every position.
#![no_main]
use std::sync::{Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;
use onboard::trigger::{ActiveTables, Trigger};

fn trigger() -> &'static Mutex<Box<Trigger>> {
    static T: OnceLock<Mutex<Box<Trigger>>> = OnceLock::new();
    T.get_or_init(|| Mutex::new(Trigger::boxed()))
}

fuzz_target!(|data: &[u8]| {
    let set = tables::defaults::default_set();
    let mut t = trigger().lock().unwrap();
    // A fresh intake and trigger state per input: configure restarts the stages; the intake
    // keeps its time, so time-order refusals are exercised too.
    t.configure(&ActiveTables::from_set(&set)).unwrap();
    t.set_observing(true);
    let before = t.stats().intake;
    let mut rest = data;
    while let Some((&n, tail)) = rest.split_first() {
        let (piece, more) = tail.split_at((usize::from(n) + 1).min(tail.len()));
        t.receive_stimulus(piece, &mut |_| {});
        rest = more;
    }
    let s = t.stats().intake;
    assert_eq!(s.consumed, s.accepted + s.refused);
    assert!(s.octets >= before.octets);
    let mut ack = [0u8; tc_tm::stimulus::MAX_FRAME_LEN];
    let _ = t.take_ack(&mut ack);
});
