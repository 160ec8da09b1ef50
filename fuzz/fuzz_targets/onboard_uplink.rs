//! The whole unit model under arbitrary uplink: `Unit::receive_uplink` with `tick`,
//! `line_idle` and `next_cadu` interleaved. Never panics, and every CADU it emits decodes:
//! the ASM, then an AOS frame of the mission's SCID whose FECF checks.
//!
//! Input: a sequence of steps `[control, len, len octets]`. `control % 4` selects the step:
//! - 0: the octets as raw uplink (any chunking, line noise, partial CLTUs);
//! - 1: the octets as `[service, subtype, ack, application data…]` of a TC the target wraps
//!   correctly (PUS packet with PEC → AD frame with the next N(S) → CLTU), so that the
//!   fuzzer reaches every service, not only the link's rejections; `control >> 2` splits the
//!   CLTU in two uplink pieces at that octet;
//! - 2: on-board time advances by `(control >> 2) × 50 ms`, then every due CADU is pulled;
//! - 3: the line goes idle, then every due CADU is pulled.
//!
//! The unit boots a valid image from bank A (mode `safe`), so every application service is
//! reachable; a mode change to `maintenance` is one wrapped TC away.
#![no_main]
use libfuzzer_sys::fuzz_target;
use onboard::Unit;
use onboard::image::{self, SwVersion};
use onboard::storage::{Bank, Region, StaticStorage, Storage};
use tc_tm::aos;
use tc_tm::cltu;
use tc_tm::mission::{self, ASM, CADU_LEN};
use tc_tm::pus::{AckFlags, Cuc, TcRepr};
use tc_tm::spp::{SeqCount, SeqFlags};
use tc_tm::tc_frame::{self, Body};

/// Small banks and patch, eight 512-octet table slots: quick to build and to reset per input.
type Small = StaticStorage<256, 8192, 1024, 8, { 2 * 8 * 512 }>;

/// At most this many CADUs per pull (a pull ends when none is due; this bounds a bug).
const MAX_CADUS_PER_PULL: usize = 64;

fuzz_target!(|data: &[u8]| {
    let mut storage = Small::new();
    let mut img = [0u8; 512];
    let n = image::build(b"fuzzed application", SwVersion::new(1, 0, 0, 0), &mut img).unwrap();
    storage.write(Region::Bank(Bank::A), 0, &img[..n]).unwrap();
    let mut now = Cuc::new(1_000, 0);
    let mut unit = Unit::power_on(storage, now);
    let mut vs: u8 = 0;
    let mut seq: u16 = 0;

    let mut input = data;
    while let [control, len, rest @ ..] = input {
        let (chunk, tail) = rest.split_at(usize::from(*len).min(rest.len()));
        input = tail;
        match control % 4 {
            0 => unit.receive_uplink(chunk),
            1 => {
                let Some(cltu) = wrap(chunk, &mut vs, &mut seq) else { continue };
                let (a, b) = cltu.split_at(usize::from(control >> 2).min(cltu.len()));
                unit.receive_uplink(a);
                unit.receive_uplink(b);
            }
            2 => {
                now = now.saturating_add_ticks(i64::from(control >> 2) * 50 * 65_536 / 1_000);
                unit.tick(now);
                pull(&mut unit, now);
            }
            _ => {
                unit.line_idle();
                pull(&mut unit, now);
            }
        }
    }
    unit.line_idle();
    pull(&mut unit, now);
});

/// Wraps `[service, subtype, ack, data…]` into a correct CLTU (AD frame, next N(S)).
fn wrap(chunk: &[u8], vs: &mut u8, seq: &mut u16) -> Option<Vec<u8>> {
    let [service, subtype, ack, app_data @ ..] = chunk else { return None };
    let packet = TcRepr {
        apid: mission::APID_UGTS,
        seq_flags: SeqFlags::Unsegmented,
        seq_count: SeqCount::new_masked(*seq),
        ack: AckFlags::new_masked(*ack),
        service: *service,
        subtype: *subtype,
        source_id: mission::BENCH_SOURCE_ID,
        app_data,
    };
    let mut p = vec![0u8; packet.buffer_len()];
    let n = packet.emit(&mut p).ok()?;
    *seq = (*seq + 1) & 0x3FFF;
    let frame = tc_frame::Repr {
        bypass: false,
        scid: mission::SCID,
        vcid: mission::TC_VCID,
        seq_num: *vs,
        body: Body::Data { seq_flags: SeqFlags::Unsegmented, map_id: 0, data: &p[..n] },
    };
    let mut f = vec![0u8; frame.buffer_len()];
    let n = frame.emit(&mut f).ok()?;
    *vs = vs.wrapping_add(1);
    let mut out = vec![0u8; cltu::encoded_len(n)];
    let n = cltu::encode(&f[..n], false, &mut out).ok()?;
    out.truncate(n);
    Some(out)
}

/// Pulls every due CADU and checks that each one decodes.
fn pull<S: Storage>(unit: &mut Unit<S>, now: Cuc) {
    let mut cadu = [0u8; CADU_LEN];
    for _ in 0..MAX_CADUS_PER_PULL {
        if !unit.next_cadu(now, &mut cadu) {
            return;
        }
        assert_eq!(cadu[..ASM.len()], ASM, "CADU without the ASM");
        let frame = &mut cadu[ASM.len()..];
        tc_tm::randomizer::tm_apply(frame);
        let packet = aos::Packet::new_checked(&frame[..]).expect("CADU of the wrong length");
        let repr = aos::Repr::parse(&packet).expect("CADU whose AOS frame does not decode");
        assert_eq!(repr.scid, mission::SCID as u8, "CADU of another spacecraft");
    }
}
