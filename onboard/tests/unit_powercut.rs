//! Power cuts through the unit, on the on-disk storage: TCs in, the power cut at every write
//! of a table load (and at octet budgets inside a running-bank load), then a power-on from
//! the state directory. The active table stays the old or the new one, CRC-checked; the unit
//! always boots a checked image, and a corrupted selected bank falls back to the other one
//! with the event in the CADUs.

mod unit_harness;

use std::path::Path;

use onboard::storage::{Bank, Fault, FaultyStorage, Region, Storage};
use onboard::storage_fs::FsStorage;
use tables::TableId;
use tc_tm::crc::crc32;
use tc_tm::pus::AckFlags;
use tc_tm::service::event::EventId;
use tc_tm::service::function::{self as func, ArmTarget, Function, Mode};
use tc_tm::service::memory::{self as mem, MemoryId, MemoryLoad};
use tc_tm::service::table::{self as table, InactiveState, LoadSegment};
use tc_tm::service::{Report, Request};
use unit_harness::{GEOMETRY, Ground, T0, mode_request, storage, sw_image, temp_dir};

fn saa(version: u16) -> Vec<u8> {
    let mut set = tables::defaults::default_set();
    set.saa.version = version;
    set.image(TableId::Saa).unwrap()
}

const SAA: u8 = TableId::Saa as u8;
const SAA_SLOT: usize = 5;
const SEGMENT: usize = 40;

/// The TCs of a whole SAA table load: segments, validate, activate.
fn load_tcs<S: Storage>(g: &mut Ground<S>, img: &[u8], version: u16) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (i, chunk) in img.chunks(SEGMENT).enumerate() {
        let r = Request::Table(table::Request::LoadSegment(LoadSegment {
            table_id: SAA,
            version,
            total_len: img.len() as u32,
            offset: (i * SEGMENT) as u32,
            data: chunk,
        }));
        out.push(g.request_packet(&r, AckFlags::ALL));
    }
    let r = Request::Table(table::Request::Validate { table_id: SAA, expected_crc: crc32(img) });
    out.push(g.request_packet(&r, AckFlags::ALL));
    out.push(g.request_packet(
        &Request::Table(table::Request::Activate { table_id: SAA }),
        AckFlags::ALL,
    ));
    out
}

fn reopen(dir: &Path) -> FsStorage {
    FsStorage::open(dir, GEOMETRY).unwrap().0
}

fn directory<S: Storage>(g: &mut Ground<S>) -> Vec<table::DirectoryEntry> {
    g.take();
    g.send(&Request::Table(table::Request::ReportDirectory));
    g.drain();
    let t = g.of(200, 8)[0].clone();
    let Report::Table(table::Report::Directory(l)) = t.report() else { panic!() };
    l.iter().collect()
}

#[test]
fn table_load_cut_at_every_write_keeps_a_checked_active_table() {
    let v1 = saa(1);
    let v2 = saa(2);
    // Catalogue v1 active on disk.
    let s = storage("cut-table");
    let dir = s.dir().to_path_buf();
    let mut g = Ground::power_on(s, T0);
    g.maintenance();
    let tcs = load_tcs(&mut g, &v1, 1);
    for tc in &tcs {
        g.send_packet(tc);
    }
    g.drain();
    assert_eq!(directory(&mut g)[SAA_SLOT].active_crc, crc32(&v1));
    drop(g);

    let mut cut_anywhere = 0;
    for writes in 0.. {
        let faulty = FaultyStorage::new(reopen(&dir), Fault::AfterWrites(writes));
        let mut g = Ground::power_on(faulty, T0);
        // Not asserted: a cut at the very first write leaves the unit in mode `boot`.
        g.send(&mode_request(Mode::Maintenance));
        let tcs = load_tcs(&mut g, &v2, 2);
        for tc in &tcs {
            g.send_packet(tc);
        }
        g.drain();
        let cut = g.unit.storage().is_cut();
        let faulty = g.unit.power_off();
        let mut g = Ground::power_on(faulty.into_inner(), T0);
        g.drain();
        let dir_now = directory(&mut g);
        let e = dir_now[SAA_SLOT];
        assert!(e.active_crc == crc32(&v1) || e.active_crc == crc32(&v2), "cut after {writes}");
        assert_eq!(e.inactive_state, InactiveState::Empty);
        assert_eq!(g.unit.mode(), Mode::Safe, "boots a checked image");
        if !cut {
            assert_eq!(e.active_crc, crc32(&v2));
            break;
        }
        cut_anywhere += 1;
        // Back to v1 for the next round when the cut came after the activation.
        if e.active_crc == crc32(&v2) {
            g.maintenance();
            let tcs = load_tcs(&mut g, &v1, 3);
            for tc in &tcs {
                g.send_packet(tc);
            }
            g.drain();
            assert_eq!(directory(&mut g)[SAA_SLOT].active_crc, crc32(&v1));
        }
    }
    assert!(cut_anywhere >= 4, "the scenario has several writes ({cut_anywhere})");
}

#[test]
fn running_bank_load_cut_inside_a_write_falls_back_with_the_event() {
    let new_image = sw_image(9, 2500);
    let mut fallbacks = 0;
    for budget in [0, 1, 700, 1500, 2499, 2531] {
        let s = storage("cut-bank");
        let dir = s.dir().to_path_buf();
        let mut g = Ground::power_on(FaultyStorage::new(s, Fault::AfterBytes(budget)), T0);
        g.drain();
        g.maintenance();
        g.send(&Request::Function(func::Request::Perform(Function::Arm(
            ArmTarget::WriteRunningBank,
        ))));
        let mut armed = false;
        for (i, chunk) in new_image.chunks(900).enumerate() {
            if !armed {
                armed = true;
            } else {
                g.send(&Request::Function(func::Request::Perform(Function::Arm(
                    ArmTarget::WriteRunningBank,
                ))));
            }
            let l = MemoryLoad::new(MemoryId::BankA, (i * 900) as u32, chunk);
            g.send(&Request::Memory(mem::Request::Load(l)));
        }
        g.drain();
        drop(g);
        // Power on from the directory: bank A holds a torn mix unless the budget sufficed.
        let mut g = Ground::power_on(reopen(&dir), T0);
        g.drain();
        let ev = g.events();
        let a = g.unit.storage().region(Region::Bank(Bank::A)).unwrap();
        // Old image untouched, new image complete, or torn: only a torn bank fails its check.
        if onboard::image::check(a).is_ok() {
            assert!(ev.iter().any(|(e, aux)| *e == EventId::Boot && aux[0] == 1));
        } else {
            assert!(ev.contains(&(EventId::FallbackBoot, vec![1, 2])), "budget {budget}: {ev:?}");
            assert!(ev.iter().any(|(e, aux)| *e == EventId::Boot && aux[0] == 2));
            assert!(g.unit.hk_report().boot_fallback);
            fallbacks += 1;
        }
        assert_eq!(g.unit.mode(), Mode::Safe);
        let _ = std::fs::remove_dir_all(dir);
    }
    assert!(fallbacks >= 3, "torn writes seen: {fallbacks}");
}

#[test]
fn corrupted_selected_bank_falls_back_at_power_on() {
    let mut s = storage("fallback");
    s.write(Region::Bank(Bank::A), 200, &[0xEE]).unwrap();
    let mut g = Ground::power_on(s, T0);
    g.drain();
    let ev = g.events();
    assert_eq!(ev[0], (EventId::FallbackBoot, vec![1, 2]));
    assert_eq!(ev[1].0, EventId::Boot);
    let t = g.tm.iter().find(|t| t.service == 5).unwrap();
    assert_eq!(t.subtype, 4, "high severity");
    let hk = g.unit.hk_report();
    assert!(hk.boot_fallback);
    assert_eq!(hk.boot_bank, tc_tm::service::function::Bank::B);
}

#[test]
fn fresh_state_directory_boots_the_boot_software() {
    let (s, _) = FsStorage::open(temp_dir("fresh"), GEOMETRY).unwrap();
    let mut g = Ground::power_on(s, T0);
    g.drain();
    assert_eq!(g.unit.mode(), Mode::Boot);
    assert!(g.has_event(EventId::FallbackBoot));
}
