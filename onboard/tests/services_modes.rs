//! End to end: what each mode allows (`docs/icd/unit.md`, mode table). Every request of the
//! table is sent in every application mode; a request the mode does not allow is accepted
//! (1,1) then refused at start (1,4) with `not_allowed_in_mode`, subject `service << 8 |
//! subtype`, value the mode, and changes nothing; every other request gets past the mode
//! check (it may still fail for its own reasons, never for the mode).

mod unit_harness;

use onboard::storage::{Region, Storage};
use tc_tm::crc::crc32;
use tc_tm::pus::AckFlags;
use tc_tm::service::event::EventId;
use tc_tm::service::function::{self as func, ArmTarget, Function, Mode, TriggerSelect};
use tc_tm::service::memory::{self as mem, MemoryCheck, MemoryDump, MemoryId, MemoryLoad};
use tc_tm::service::schedule::{self as sched, ReleaseTime, TimeTagged, TimeTaggedList};
use tc_tm::service::table::{self as table, BufferSel, InactiveState, LoadSegment};
use tc_tm::service::{FailureCode, Request};
use unit_harness::{Ground, mode_request};

const SAA: u8 = tables::TableId::Saa as u8;
const APPLICATION_MODES: [Mode; 4] =
    [Mode::Safe, Mode::Standby, Mode::Observation, Mode::Maintenance];

fn function(f: Function) -> Request<'static> {
    Request::Function(func::Request::Perform(f))
}

fn patch_load(data: &[u8]) -> Request<'_> {
    Request::Memory(mem::Request::Load(MemoryLoad::new(MemoryId::Patch, 0x10, data)))
}

fn saa_segment(img: &[u8]) -> Request<'_> {
    Request::Table(table::Request::LoadSegment(LoadSegment {
        table_id: SAA,
        version: 9,
        total_len: img.len() as u32,
        offset: 0,
        data: img,
    }))
}

/// Takes the unit from `safe` to `mode` along the mode diagram.
fn enter(g: &mut Ground<onboard::storage_fs::FsStorage>, mode: Mode) {
    match mode {
        Mode::Safe => {}
        Mode::Standby => g.set_mode(Mode::Standby),
        Mode::Observation => {
            g.set_mode(Mode::Standby);
            g.set_mode(Mode::Observation);
        }
        Mode::Maintenance => g.set_mode(Mode::Maintenance),
        other => panic!("not an application mode: {other:?}"),
    }
}

/// The SAA image of the default set, whose table fits one segment.
fn saa_image() -> Vec<u8> {
    let mut set = tables::defaults::default_set();
    set.saa.version = 9;
    set.image(tables::TableId::Saa).unwrap()
}

/// Asserts that `req` is refused for the mode: 1,1 then 1,4 `not_allowed_in_mode`.
fn assert_refused(g: &mut Ground<onboard::storage_fs::FsStorage>, req: &Request<'_>) {
    let mode = g.unit.mode();
    let rid = g.exec(req);
    let (service, subtype) = req.service_subtype();
    let (stage, f) = g.failure(rid).unwrap_or_else(|| panic!("{req:?} allowed in {mode:?}"));
    assert_eq!((stage, f.code), (4, FailureCode::NotAllowedInMode), "{req:?} in {mode:?}");
    assert_eq!(g.stages(rid), [1, 4]);
    assert_eq!(f.data.subject, (u16::from(service) << 8) | u16::from(subtype));
    assert_eq!((f.data.index, f.data.field), (0, 0));
    assert_eq!(f.data.value, u32::from(mode.value()));
    assert_eq!(g.unit.mode(), mode, "a refusal changes no mode");
}

/// Asserts that `req` got past the mode check (whatever its own outcome).
fn assert_allowed(g: &mut Ground<onboard::storage_fs::FsStorage>, req: &Request<'_>) {
    let mode = g.unit.mode();
    let rid = g.exec(req);
    if let Some((_, f)) = g.failure(rid) {
        assert_ne!(f.code, FailureCode::NotAllowedInMode, "{req:?} refused in {mode:?}");
    }
}

#[test]
fn loads_and_running_bank_arming_only_in_maintenance() {
    let img = saa_image();
    let crc = crc32(&img);
    for mode in [Mode::Safe, Mode::Standby, Mode::Observation] {
        let mut g = Ground::new("modes-refused");
        enter(&mut g, mode);
        let patch_before = g.unit.storage().region(Region::RamPatch).unwrap().to_vec();
        assert_refused(&mut g, &patch_load(&[1, 2, 3]));
        assert_refused(&mut g, &saa_segment(&img));
        let validate = table::Request::Validate { table_id: SAA, expected_crc: crc };
        assert_refused(&mut g, &Request::Table(validate));
        assert_refused(&mut g, &Request::Table(table::Request::Activate { table_id: SAA }));
        assert_refused(&mut g, &function(Function::Arm(ArmTarget::WriteRunningBank)));

        // Nothing changed: patch area, table directory, arming.
        assert_eq!(g.unit.storage().region(Region::RamPatch).unwrap(), &patch_before[..]);
        g.take();
        let rid = g.exec(&Request::Table(table::Request::ReportDirectory));
        g.assert_ok(rid);
        let dir = directory_entries(&g);
        let saa = dir.iter().find(|e| e.table_id == SAA).unwrap();
        assert_eq!(saa.inactive_state, InactiveState::Empty, "{mode:?}");
        assert_eq!(g.unit.hk_report().armed, None);
        assert!(!g.has_event(EventId::CriticalArmed));
    }
}

#[test]
fn maintenance_allows_loads_and_running_bank_arming() {
    let img = saa_image();
    let mut g = Ground::new("modes-maint");
    g.maintenance();
    let rid = g.exec(&patch_load(&[1, 2, 3]));
    g.assert_ok(rid);
    assert_eq!(g.unit.storage().region(Region::RamPatch).unwrap()[0x10..0x13], [1, 2, 3]);
    let rid = g.exec(&saa_segment(&img));
    g.assert_ok(rid);
    let validate = table::Request::Validate { table_id: SAA, expected_crc: crc32(&img) };
    let rid = g.exec(&Request::Table(validate));
    g.assert_ok(rid);
    let rid = g.exec(&Request::Table(table::Request::Activate { table_id: SAA }));
    g.assert_ok(rid);
    assert!(g.has_event(EventId::TableActivated));
    let rid = g.exec(&function(Function::Arm(ArmTarget::WriteRunningBank)));
    g.assert_ok(rid);
    assert_eq!(g.unit.hk_report().armed, Some(ArmTarget::WriteRunningBank));
    // The armed write of the running bank (A) goes through.
    let l = MemoryLoad::new(MemoryId::BankA, 0x8000, &[0xAB; 4]);
    let rid = g.exec(&Request::Memory(mem::Request::Load(l)));
    g.assert_ok(rid);
}

#[test]
fn every_mode_allows_reading_aborting_and_the_other_services() {
    for mode in APPLICATION_MODES {
        let mut g = Ground::new("modes-allowed");
        enter(&mut g, mode);
        let dump = MemoryDump { memory_id: MemoryId::Patch, address: 0, length: 16 };
        assert_allowed(&mut g, &Request::Memory(mem::Request::Dump(dump)));
        g.advance(500, 100);
        let check = MemoryCheck { memory_id: MemoryId::BankA, address: 0, length: 64 };
        assert_allowed(&mut g, &Request::Memory(mem::Request::Check(check)));
        assert_allowed(&mut g, &Request::Table(table::Request::Abort { table_id: SAA }));
        let dump = table::Request::Dump { table_id: SAA, buffer: BufferSel::Active };
        assert_allowed(&mut g, &Request::Table(dump));
        g.advance(500, 100);
        assert_allowed(&mut g, &Request::Table(table::Request::ReportDirectory));
        assert_allowed(&mut g, &Request::Test(tc_tm::service::test::Request::AreYouAlive));
        assert_allowed(&mut g, &Request::Schedule(sched::Request::Disable));
        assert_allowed(&mut g, &Request::Schedule(sched::Request::Enable));
        assert_allowed(&mut g, &function(Function::ClearCounters));
        assert_allowed(&mut g, &function(Function::TriggerDisable(TriggerSelect::Both)));
        assert_allowed(&mut g, &function(Function::TriggerEnable(TriggerSelect::Crt)));
        assert_allowed(&mut g, &function(Function::Arm(ArmTarget::Reset)));
        assert_allowed(&mut g, &function(Function::Arm(ArmTarget::SelectBootBank)));
        let raw = g.packet(3, 27, &[1, 0, 1], AckFlags::ALL);
        let rid = g.send_packet(&raw);
        g.drain();
        g.assert_ok(rid);
        let raw = g.packet(20, 1, &[1, 0, 1], AckFlags::ALL);
        let rid = g.send_packet(&raw);
        g.drain();
        g.assert_ok(rid);
        assert_eq!(g.unit.mode(), mode);
    }
}

#[test]
fn a_time_tagged_load_is_checked_against_the_mode_at_release() {
    let mut g = Ground::new("modes-sched");
    g.maintenance();
    let now = g.now.coarse;
    let l = MemoryLoad::new(MemoryId::Patch, 0, &[7; 4]);
    let packet = g.request_packet(&Request::Memory(mem::Request::Load(l)), AckFlags::ALL);
    let mut buf = [0u8; 128];
    let items = [TimeTagged { release: ReleaseTime { coarse: now + 2, fine: 0 }, packet: &packet }];
    let list = TimeTaggedList::encode_into(&items, &mut buf).unwrap();
    let rid = g.exec(&Request::Schedule(sched::Request::Insert(list)));
    g.assert_ok(rid);
    // Back to safe before the release: the load is accepted, then refused at start.
    g.exec(&mode_request(Mode::Safe));
    g.advance(3_000, 100);
    let rid = tc_tm::service::verification::RequestId::from_packet(&packet).unwrap();
    let f = g.assert_failed(rid, FailureCode::NotAllowedInMode);
    assert_eq!((f.data.subject, f.data.value), (0x0602, u32::from(Mode::Safe.value())));
    assert_eq!(g.unit.storage().region(Region::RamPatch).unwrap()[..4], [0; 4]);
}

/// The entries of the last 200,8 report.
fn directory_entries(g: &Ground<onboard::storage_fs::FsStorage>) -> Vec<table::DirectoryEntry> {
    let t = g.of(200, 8)[0].clone();
    let tc_tm::service::Report::Table(table::Report::Directory(l)) = t.report() else {
        panic!("not a directory")
    };
    l.iter().collect()
}
