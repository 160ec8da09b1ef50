//! A software update end to end, on the twin and on the firmware under QEMU ([`Target`]):
//! the application built as 1.1.0 and wrapped in the unit's image header is uploaded to the
//! inactive bank by ST\[06\] loads, checked by ST\[06,9\], selected and booted (arm,
//! select-boot-bank, arm, reset); the boot event and housekeeping report 1.1.0. On the
//! firmware the reset really goes through the boot loader, which starts the new binary.
//! Then the other bank is selected and damaged: the next reset falls back to the bank that
//! runs, with the high-severity `fallback-boot` event.

use std::time::{Duration, Instant};

use eic_bench::qemu::{app_image, parse_version};
use eic_bench::session::{Delivery, Session, TcOutcome, TmPacket, Verdict};
use eic_tests::{Target, TargetUnit, firmware_version};
use tc_tm::pus::AckFlags;
use tc_tm::service::event::{EventId, Report as EventMsg};
use tc_tm::service::memory::Report as MemMsg;
use tc_tm::service::parameter::Report as ParamMsg;
use tc_tm::service::text::parse_request;
use tc_tm::service::{MAX_TC_APP_DATA_LEN, Report};

fn send(s: &mut Session, text: &str) -> tc_tm::service::verification::RequestId {
    let mut data = [0u8; MAX_TC_APP_DATA_LEN];
    let (service, subtype, len) = parse_request(text, &mut data).unwrap();
    s.send_raw(service, subtype, &data[..len]).unwrap()
}

fn ok(s: &mut Session, text: &str) -> Vec<TmPacket> {
    s.clear_packets();
    let id = send(s, text);
    let o = s.wait(id).unwrap();
    assert_completed(text, &o);
    collect(s, Duration::from_millis(150))
}

fn assert_completed(text: &str, o: &TcOutcome) {
    assert_eq!(o.delivery, Delivery::Delivered, "{text}: {o:?}");
    assert!(matches!(o.verdict, Verdict::Completed { .. }), "{text}: {:?}", o.verdict);
}

fn collect(s: &mut Session, d: Duration) -> Vec<TmPacket> {
    let deadline = Instant::now() + d;
    let mut v = Vec::new();
    while let Some(p) = s.next_packet(deadline).unwrap() {
        v.push(p);
    }
    v
}

fn events(p: &[TmPacket]) -> Vec<(EventId, Vec<u8>)> {
    p.iter()
        .filter_map(|p| match p.report() {
            Ok(Report::Event(EventMsg::Event(e))) => Some((e.id, e.aux.to_vec())),
            _ => None,
        })
        .collect()
}

fn sw_version(s: &mut Session) -> u32 {
    let p = ok(s, "param get id=sw_version");
    p.iter()
        .find_map(|p| match p.report() {
            Ok(Report::Parameter(ParamMsg::Values(list))) => {
                list.iter().find(|e| e.id.0 == 0x0030).map(|e| e.raw)
            }
            _ => None,
        })
        .expect("20,2 report")
}

/// Resets (armed) and returns the packets up to the boot event.
fn reset(s: &mut Session) -> Vec<TmPacket> {
    ok(s, "function arm target=reset");
    let ack = s.encoder_mut().ack();
    s.encoder_mut().set_ack(AckFlags::new(0b1100).unwrap());
    s.clear_packets();
    let id = send(s, "function reset");
    let o = s.wait(id).unwrap();
    s.encoder_mut().set_ack(ack);
    assert_completed("function reset", &o);
    let mut p = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && !events(&p).iter().any(|(e, _)| *e == EventId::Boot) {
        p.extend(collect(s, Duration::from_millis(100)));
    }
    p
}

/// Uploads `image` to bank B with pipelined ST[06,2] loads and returns its CRC-32 as the unit
/// computed it (ST[06,9]).
fn upload(s: &mut Session, mem: &str, image: &[u8]) -> u32 {
    const CHUNK: usize = 960;
    let ids: Vec<_> = image
        .chunks(CHUNK)
        .enumerate()
        .map(|(i, c)| {
            let text =
                format!("memory load mem={mem} addr=0x{:X} data={}", i * CHUNK, hex::encode(c));
            (text.clone(), send(s, &text))
        })
        .collect();
    for (text, id) in ids {
        let o = s.wait(id).unwrap();
        if !matches!(o.verdict, Verdict::Completed { .. }) {
            let before = s.stats().clcws;
            let p = collect(s, Duration::from_secs(3));
            eprintln!(
                "session: {:?}; then {} CLCWs and {} packets in 3 s",
                s.stats(),
                s.stats().clcws - before,
                p.len()
            );
        }
        assert_completed(&text[..40], &o);
    }
    let p = ok(s, &format!("memory check mem={mem} addr=0x0 len={}", image.len()));
    p.iter()
        .find_map(|p| match p.report() {
            Ok(Report::Memory(MemMsg::Check(c))) => Some(c.crc),
            _ => None,
        })
        .expect("6,10 report")
}

fn software_update(target: Target) {
    let fw = firmware_version("1.1.0");
    let image = app_image(&fw.app, parse_version("1.1.0").unwrap()).unwrap();
    let mut u = TargetUnit::start(target);
    let mut s = Session::open(u.session_config()).unwrap();
    s.connect().unwrap();
    assert_eq!(sw_version(&mut s), 0x0100_0000, "the factory 1.0.0 runs from bank A");

    // Upload to the inactive bank B in maintenance, check it.
    ok(&mut s, "function mode mode=maintenance");
    let started = Instant::now();
    let crc = upload(&mut s, "bank-b", &image);
    let took = started.elapsed();
    assert_eq!(crc, tc_tm::crc::crc32(&image), "bank B holds the image");
    eprintln!("{target:?}: {} octets uploaded and checked in {took:.2?}", image.len());
    ok(&mut s, "function mode mode=safe");

    // Select B and reset: the loader boots the new binary.
    ok(&mut s, "function arm target=select-boot-bank");
    ok(&mut s, "function select-boot-bank bank=B");
    let p = reset(&mut s);
    let ev = events(&p);
    let boot = ev.iter().find(|(e, _)| *e == EventId::Boot).expect("boot event");
    assert_eq!(boot.1, [0x02, 1, 1, 0, 0], "bank B, software 1.1.0+0: {ev:?}");
    assert!(!ev.iter().any(|(e, _)| *e == EventId::FallbackBoot), "{ev:?}");
    assert_eq!(sw_version(&mut s), 0x0101_0000, "housekeeping reports 1.1.0");

    // Select A (its 1.0.0 image checks), then damage it: the next boot falls back to B.
    ok(&mut s, "function arm target=select-boot-bank");
    ok(&mut s, "function select-boot-bank bank=A");
    ok(&mut s, "function mode mode=maintenance");
    ok(&mut s, "memory load mem=bank-a addr=0x400 data=DEADBEEF");
    ok(&mut s, "function mode mode=safe");
    let p = reset(&mut s);
    let ev = events(&p);
    let fallback = ev.iter().find(|(e, _)| *e == EventId::FallbackBoot).expect("fallback event");
    assert_eq!(fallback.1, [0x01, 0x02], "bank A selected, bank B booted: {ev:?}");
    let boot = ev.iter().find(|(e, _)| *e == EventId::Boot).expect("boot event");
    assert_eq!(boot.1, [0x02, 1, 1, 0, 0], "{ev:?}");
    assert_eq!(sw_version(&mut s), 0x0101_0000, "1.1.0 still runs");

    drop(s);
    if let Some(c) = u.power_off() {
        assert_eq!(c.tc_rejected, 0, "{c:?}");
    }
}

#[test]
fn software_update_boots_the_new_image_and_falls_back_from_a_damaged_one_on_the_twin() {
    software_update(Target::Twin);
}

#[test]
#[ignore = "needs QEMU (scripts/install-qemu.sh) and the firmware build; scripts/test runs it"]
fn software_update_boots_the_new_binary_and_falls_back_from_a_damaged_one_under_qemu() {
    software_update(Target::Qemu);
}
