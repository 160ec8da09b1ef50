//! End to end: ST[06] memory load/dump/check and ST[08] functions (arming, boot bank, reset,
//! modes, triggers, counters), with each of their failure codes.

mod unit_harness;

use onboard::storage::{Bank, Region, Storage};
use tc_tm::crc::crc32;
use tc_tm::pus::AckFlags;
use tc_tm::service::event::EventId;
use tc_tm::service::function::{
    self as func, ArmTarget, Bank as WireBank, Function, Mode, TriggerSelect,
};
use tc_tm::service::memory::{self as mem, MemoryCheck, MemoryDump, MemoryId, MemoryLoad};
use tc_tm::service::verification::Report as V;
use tc_tm::service::{FailureCode, Report, Request};
use unit_harness::{Ground, T0, sw_image};

fn load(id: MemoryId, address: u32, data: &[u8]) -> Request<'_> {
    Request::Memory(mem::Request::Load(MemoryLoad::new(id, address, data)))
}

fn dump(id: MemoryId, address: u32, length: u16) -> Request<'static> {
    Request::Memory(mem::Request::Dump(MemoryDump { memory_id: id, address, length }))
}

fn check(id: MemoryId, address: u32, length: u32) -> Request<'static> {
    Request::Memory(mem::Request::Check(MemoryCheck { memory_id: id, address, length }))
}

fn function(f: Function) -> Request<'static> {
    Request::Function(func::Request::Perform(f))
}

#[test]
fn load_check_and_multi_report_dump() {
    let mut g = Ground::new("mem");
    g.maintenance();
    let data: Vec<u8> = (0..900).map(|i| (i * 7) as u8).collect();
    let rid = g.exec(&load(MemoryId::Patch, 0x100, &data));
    g.assert_ok(rid);
    let ev = g.events();
    assert_eq!(ev, [(EventId::MemoryLoadComplete, vec![4, 0, 0, 1, 0, 0x03, 0x84])]);
    assert_eq!(&g.unit.storage().region(Region::RamPatch).unwrap()[0x100..0x100 + 900], &data[..]);

    let rid = g.exec(&check(MemoryId::Patch, 0x100, 900));
    g.assert_ok(rid);
    let Report::Memory(mem::Report::Check(c)) = g.of(6, 10)[0].report() else { panic!() };
    assert_eq!(
        (c.memory_id, c.address, c.length, c.crc),
        (MemoryId::Patch, 0x100, 900, crc32(&data))
    );

    // A 3000-octet dump of bank B: three 6,6 reports on VC 2, progress 1,5 steps 0..2.
    g.take();
    let rid = g.send(&dump(MemoryId::BankB, 0, 3000));
    g.advance(2_000, 100);
    let dumps = g.of(6, 6);
    assert_eq!(dumps.len(), 3);
    assert!(dumps.iter().all(|t| t.vc == 2 && t.apid == 0x242));
    let mut got = Vec::new();
    for t in &dumps {
        let Report::Memory(mem::Report::Dump(d)) = t.report() else { panic!() };
        assert_eq!(d.address as usize, got.len());
        got.extend_from_slice(d.data);
    }
    assert_eq!(got, sw_image(2, 3000)[..3000]);
    let steps: Vec<u16> = g
        .verifications(rid)
        .iter()
        .filter_map(|v| match v {
            V::ProgressSuccess(p) => Some(p.step),
            _ => None,
        })
        .collect();
    assert_eq!(steps, [0, 1, 2]);
    assert_eq!(g.stages(rid), [1, 3, 5, 5, 5, 7]);
}

#[test]
fn memory_failure_codes() {
    let mut g = Ground::new("memfail");
    g.maintenance();
    let rid = g.exec(&load(MemoryId::Unknown(9), 0, &[1]));
    assert_eq!(g.assert_failed(rid, FailureCode::MemoryIdInvalid).data.subject, 9);
    let rid = g.exec(&load(MemoryId::BootEeprom, 0, &[1]));
    g.assert_failed(rid, FailureCode::WriteProtected);
    // The unit runs from bank A: writing it needs arming.
    let rid = g.exec(&load(MemoryId::BankA, 0x40, &[1, 2]));
    let f = g.assert_failed(rid, FailureCode::WriteProtected);
    assert_eq!((f.data.subject, f.data.value), (2, 0x40));
    let rid = g.exec(&load(MemoryId::Patch, 4095, &[1, 2]));
    let f = g.assert_failed(rid, FailureCode::AddressOutOfRange);
    assert_eq!((f.data.subject, f.data.value), (4, 4095));
    let mut l = MemoryLoad::new(MemoryId::Patch, 0, &[1, 2, 3]);
    l.crc ^= 1;
    let rid = g.exec(&Request::Memory(mem::Request::Load(l)));
    assert_eq!(g.assert_failed(rid, FailureCode::DataCrcMismatch).data.value, crc32(&[1, 2, 3]));
    let rid = g.exec(&dump(MemoryId::Patch, 4000, 200));
    g.assert_failed(rid, FailureCode::AddressOutOfRange);
    let rid = g.exec(&check(MemoryId::Unknown(0), 0, 1));
    g.assert_failed(rid, FailureCode::MemoryIdInvalid);
    // A dump while another runs: busy.
    g.take();
    let first = g.send(&dump(MemoryId::BankA, 0, 20_000));
    let rid = g.exec(&dump(MemoryId::Patch, 0, 16));
    g.assert_failed(rid, FailureCode::Busy);
    g.advance(3_000, 50);
    assert_eq!(*g.stages(first).last().unwrap(), 7);
    assert_eq!(g.of(6, 6).len(), 20);
    // Nothing was written by the refused loads.
    assert_eq!(g.unit.storage().region(Region::RamPatch).unwrap()[..3], [0, 0, 0]);
}

#[test]
fn running_bank_write_needs_arming_once() {
    let mut g = Ground::new("armwrite");
    g.maintenance();
    let rid = g.exec(&function(Function::Arm(ArmTarget::WriteRunningBank)));
    g.assert_ok(rid);
    assert!(g.has_event(EventId::CriticalArmed));
    let rid = g.exec(&load(MemoryId::BankA, 0x8000, &[0xAB; 16]));
    g.assert_ok(rid);
    assert_eq!(g.unit.storage().region(Region::Bank(Bank::A)).unwrap()[0x8000], 0xAB);
    // One arming, one write.
    let rid = g.exec(&load(MemoryId::BankA, 0x8000, &[0xCD; 16]));
    g.assert_failed(rid, FailureCode::WriteProtected);
    // Expired arming: arm_expired, subject 0x0100 + target.
    g.exec(&function(Function::Arm(ArmTarget::WriteRunningBank)));
    g.advance(31_000, 1000);
    assert!(g.has_event(EventId::ArmExpired));
    let rid = g.exec(&load(MemoryId::BankA, 0x8000, &[0xCD; 16]));
    let f = g.assert_failed(rid, FailureCode::ArmExpired);
    assert_eq!(f.data.subject, 0x0103);
}

#[test]
fn critical_functions_arm_select_reset() {
    let mut g = Ground::new("critical");
    let rid = g.exec(&function(Function::Reset));
    assert_eq!(g.assert_failed(rid, FailureCode::NotArmed).data.subject, 3);
    // Armed for the other target: refused, arming kept.
    g.exec(&function(Function::Arm(ArmTarget::SelectBootBank)));
    let rid = g.exec(&function(Function::Reset));
    g.assert_failed(rid, FailureCode::NotArmed);
    let rid = g.exec(&function(Function::SelectBootBank(WireBank::B)));
    g.assert_ok(rid);
    assert!(g.has_event(EventId::BootBankSelected));
    assert!(g.has_event(EventId::CriticalExecuted));
    // Expiry.
    g.exec(&function(Function::Arm(ArmTarget::Reset)));
    g.advance(30_500, 500);
    let rid = g.exec(&function(Function::Reset));
    g.assert_failed(rid, FailureCode::ArmExpired);

    // Reset: 1,1 and 1,3 then the application restarts from bank B (selected above).
    g.take();
    g.exec(&function(Function::ClearCounters));
    g.exec(&function(Function::Arm(ArmTarget::Reset)));
    let (v_r, _) = g.unit.farm();
    let rid = g.exec(&function(Function::Reset));
    assert_eq!(g.stages(rid), [1, 3]);
    let ev = g.events();
    let boot = ev.iter().find(|(e, _)| *e == EventId::Boot).unwrap();
    assert_eq!(boot.1, [2, 1, 2, 2, 0], "booted bank B, software 1.2.2.0");
    assert_eq!(g.unit.counters().resets, 1);
    assert_eq!(g.unit.farm().0, v_r + 1, "the link layer survives a TC reset");
    assert_eq!(g.unit.hk_report().tc_accepted, 0);
    // Still answering, with the same FOP-1 sequence.
    let rid = g.exec(&Request::Test(tc_tm::service::test::Request::AreYouAlive));
    g.assert_ok(rid);

    // A bank whose image does not check cannot be selected.
    let mut g = Ground::new("badbank");
    g.maintenance();
    let mut bad = sw_image(2, 3000);
    bad[100] ^= 1;
    g.exec(&function(Function::Arm(ArmTarget::WriteRunningBank)));
    g.exec(&load(MemoryId::BankB, 100, &bad[100..101]));
    g.exec(&function(Function::Arm(ArmTarget::SelectBootBank)));
    let rid = g.exec(&function(Function::SelectBootBank(WireBank::B)));
    let f = g.assert_failed(rid, FailureCode::BankImageInvalid);
    assert_eq!((f.data.subject, f.data.value), (2, 2));
}

#[test]
fn modes_triggers_counters() {
    let mut g = Ground::new("modes");
    let rid = g.exec(&function(Function::ChangeMode(Mode::Observation)));
    let f = g.assert_failed(rid, FailureCode::ModeTransitionRefused);
    assert_eq!(f.data.value, 4);
    for m in [Mode::Standby, Mode::Observation, Mode::Safe, Mode::Maintenance] {
        let rid = g.exec(&function(Function::ChangeMode(m)));
        g.assert_ok(rid);
        assert_eq!(g.unit.mode(), m);
    }
    let rid = g.exec(&function(Function::ChangeMode(Mode::Boot)));
    g.assert_failed(rid, FailureCode::ModeTransitionRefused);

    g.take();
    g.exec(&function(Function::TriggerDisable(TriggerSelect::Crt)));
    assert_eq!(g.events(), [(EventId::TriggerDisabled, vec![1])]);
    let hk = g.unit.hk_report();
    assert!(!hk.crt_enabled && hk.imt_enabled);
    g.exec(&function(Function::TriggerEnable(TriggerSelect::Both)));
    assert!(g.unit.hk_report().crt_enabled);

    assert!(g.unit.hk_report().tc_accepted > 0);
    let rid = g.exec(&function(Function::ClearCounters));
    g.assert_ok(rid);
    let hk = g.unit.hk_report();
    assert_eq!((hk.tc_accepted, hk.tc_rejected, hk.tc_failed, hk.tc_executed), (0, 0, 0, 1));
    assert!(g.has_event(EventId::CountersCleared));
}

#[test]
fn boot_mode_offers_only_the_boot_services() {
    // No image anywhere: the boot software answers ST[06], ST[17] and the critical functions.
    let (s, _) = onboard::storage_fs::FsStorage::open(
        unit_harness::temp_dir("bootmode"),
        unit_harness::GEOMETRY,
    )
    .unwrap();
    let mut g = Ground::power_on(s, T0);
    g.drain();
    assert_eq!(g.unit.mode(), Mode::Boot);
    assert_eq!(g.events(), [(EventId::FallbackBoot, vec![1, 0])]);
    g.take();
    let rid = g.exec(&Request::Test(tc_tm::service::test::Request::AreYouAlive));
    g.assert_ok(rid);
    let rid = g.exec(&function(Function::ChangeMode(Mode::Safe)));
    g.assert_failed(rid, FailureCode::FunctionUnknown);
    let p = g.packet(20, 1, &[1, 0, 1], AckFlags::ALL);
    let rid = g.send_packet(&p);
    g.drain();
    g.assert_failed(rid, FailureCode::UnknownService);
    // Both banks writable in boot mode: load an image, select it, reset into it.
    let img = sw_image(7, 500);
    for (i, chunk) in img.chunks(900).enumerate() {
        let rid = g.exec(&load(MemoryId::BankB, (i * 900) as u32, chunk));
        g.assert_ok(rid);
    }
    g.exec(&function(Function::Arm(ArmTarget::SelectBootBank)));
    let rid = g.exec(&function(Function::SelectBootBank(WireBank::B)));
    g.assert_ok(rid);
    g.exec(&function(Function::Arm(ArmTarget::Reset)));
    g.take();
    g.exec(&function(Function::Reset));
    assert_eq!(g.unit.mode(), Mode::Safe);
    assert!(g.events().iter().any(|(e, aux)| *e == EventId::Boot && aux[0] == 2));
}
