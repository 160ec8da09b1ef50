//! Power cuts during table loads and activations, with the on-disk storage: whatever write the
//! power is cut at, the re-opened store has intact active tables (old or new, never a mix), an
//! Empty inactive buffer, and accepts a new load.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use onboard::storage::{Fault, FaultyStorage, Geometry, Storage};
use onboard::storage_fs::FsStorage;
use onboard::table_store::{ActiveTable, BufferState, SlotConfig, TableStore, ValidateError};
use proptest::prelude::*;
use tc_tm::crc::crc32;

/// Two slots sized for their tables, as the flight geometry is.
const GEOMETRY: Geometry = {
    let mut g = Geometry::uniform(16, 64, 16, 2, 2048);
    g.table_buffer_lens[1] = 300;
    g
};
const CONFIG: [SlotConfig; 2] =
    [SlotConfig { id: 0x10, max_len: 2048 }, SlotConfig { id: 0x20, max_len: 300 }];
const SEGMENT: usize = 128;

fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let d = std::env::temp_dir().join(format!("onboard-{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn table(id: u8, version: u32, len: usize) -> Vec<u8> {
    (0..len).map(|i| (i as u32 ^ version.wrapping_mul(31) ^ u32::from(id)) as u8).collect()
}

/// A structural check standing in for the `tables` crate's validator: the first octet is the
/// table ID.
fn validator(id: u8) -> impl FnMut(&[u8]) -> Result<(), &'static str> {
    move |img: &[u8]| if img.first() == Some(&id) { Ok(()) } else { Err("wrong table ID") }
}

fn image(id: u8, version: u32, len: usize) -> Vec<u8> {
    let mut t = table(id, version, len);
    t[0] = id;
    t
}

/// Loads, validates and activates; segments go out of order (odd ones first) and one is sent
/// twice, as a retrying ground would.
fn install<S: Storage>(
    t: &mut TableStore<2>,
    s: &mut S,
    id: u8,
    version: u32,
    img: &[u8],
) -> Result<ActiveTable, String> {
    let total = img.len() as u32;
    let chunks: Vec<(usize, &[u8])> = img.chunks(SEGMENT).enumerate().collect();
    let order =
        chunks.iter().skip(1).step_by(2).chain(chunks.iter().step_by(2)).chain(chunks.first());
    for (i, c) in order {
        t.load_segment(s, id, version, total, (i * SEGMENT) as u32, c)
            .map_err(|e| e.to_string())?;
    }
    t.validate(s, id, crc32(img), &mut validator(id)).map_err(|e| e.to_string())?;
    t.activate(s, id).map_err(|e| e.to_string())
}

struct Unit {
    dir: PathBuf,
    old: [ActiveTable; 2],
}

fn fresh_unit() -> Unit {
    let dir = temp_dir("tables");
    let (mut s, _) = FsStorage::open(&dir, GEOMETRY).unwrap();
    let mut t = TableStore::open(&s, CONFIG).unwrap();
    let a = install(&mut t, &mut s, 0x10, 1, &image(0x10, 1, 1500)).unwrap();
    let b = install(&mut t, &mut s, 0x20, 1, &image(0x20, 1, 200)).unwrap();
    Unit { dir, old: [a, b] }
}

/// The scenario cut by the power: a new version of both tables, then a load left incomplete.
fn scenario(s: &mut FaultyStorage<FsStorage>) -> Result<(), String> {
    let mut t = TableStore::open(s.inner(), CONFIG).map_err(|e| e.to_string())?;
    install(&mut t, s, 0x10, 2, &image(0x10, 2, 1900))?;
    install(&mut t, s, 0x20, 2, &image(0x20, 2, 300))?;
    t.load_segment(s, 0x10, 3, 1000, 0, &[0x10; 100]).map_err(|e| e.to_string())?;
    Ok(())
}

fn new_tables() -> [ActiveTable; 2] {
    let a = image(0x10, 2, 1900);
    let b = image(0x20, 2, 300);
    [
        ActiveTable {
            buffer: onboard::storage::Buffer::One,
            version: 2,
            len: 1900,
            crc32: crc32(&a),
        },
        ActiveTable {
            buffer: onboard::storage::Buffer::One,
            version: 2,
            len: 300,
            crc32: crc32(&b),
        },
    ]
}

/// Re-opens after the cut and checks every invariant; returns the active tables.
fn check_after_cut(unit: &Unit, cut_at: &str) -> [ActiveTable; 2] {
    let (mut s, _) = FsStorage::open(&unit.dir, GEOMETRY).unwrap();
    let mut t = TableStore::open(&s, CONFIG).unwrap();
    let new = new_tables();
    let mut actives = [unit.old[0]; 2];
    for (i, e) in t.directory().into_iter().enumerate() {
        assert_eq!(e.fault, None, "{cut_at}");
        assert_eq!(e.inactive.state, BufferState::Empty, "{cut_at}: load progress is volatile");
        let a = e.active.unwrap_or_else(|| panic!("{cut_at}: table {} lost", e.id));
        assert!(a == unit.old[i] || a == new[i], "{cut_at}: table {} is {a:?}", e.id);
        let (img, _) = t.active_image(&s, e.id).unwrap();
        assert_eq!(crc32(img), a.crc32, "{cut_at}: active image of {} damaged", e.id);
        actives[i] = a;
    }
    // Table 0x20 is activated after 0x10: it can only be new if 0x10 is.
    assert!(actives[1] == unit.old[1] || actives[0] == new[0], "{cut_at}: order");
    // The store is usable: a full new load goes through.
    let img = image(0x20, 9, 250);
    let a = install(&mut t, &mut s, 0x20, 9, &img).unwrap();
    assert_eq!(a.version, 9);
    assert_eq!(TableStore::open(&s, CONFIG).unwrap().entry(0x20).unwrap().active, Some(a));
    actives
}

fn total_writes() -> usize {
    let unit = fresh_unit();
    let (s, _) = FsStorage::open(&unit.dir, GEOMETRY).unwrap();
    let mut f = FaultyStorage::new(s, Fault::Never);
    scenario(&mut f).unwrap();
    std::fs::remove_dir_all(&unit.dir).unwrap();
    f.writes()
}

#[test]
fn cut_at_every_write() {
    let total = total_writes();
    // 15 + 1 segments of table 0x10 (one repeated), its record, 3 + 1 of 0x20, its record, 1.
    assert_eq!(total, 1900usize.div_ceil(SEGMENT) + 1 + 1 + 300usize.div_ceil(SEGMENT) + 1 + 1 + 1);
    let mut seen_old = false;
    let mut seen_new = false;
    for n in 0..=total {
        let unit = fresh_unit();
        let (s, _) = FsStorage::open(&unit.dir, GEOMETRY).unwrap();
        let mut f = FaultyStorage::new(s, Fault::AfterWrites(n));
        let done = scenario(&mut f).is_ok();
        assert_eq!(done, n >= total, "cut after {n} writes");
        drop(f);
        let actives = check_after_cut(&unit, &format!("cut after {n} writes"));
        seen_old |= actives == unit.old;
        seen_new |= actives == new_tables();
        std::fs::remove_dir_all(&unit.dir).unwrap();
    }
    assert!(seen_old && seen_new, "both outcomes exercised");
}

#[test]
fn refused_load_keeps_active_across_restart() {
    let unit = fresh_unit();
    let (mut s, _) = FsStorage::open(&unit.dir, GEOMETRY).unwrap();
    let mut t = TableStore::open(&s, CONFIG).unwrap();
    let bad = image(0x20, 5, 100);
    t.load_segment(&mut s, 0x20, 5, 100, 0, &bad).unwrap();
    assert!(matches!(
        t.validate(&s, 0x20, crc32(&bad) ^ 1, &mut validator(0x20)),
        Err(ValidateError::Store(_))
    ));
    assert_eq!(
        t.validate(&s, 0x20, crc32(&bad), &mut validator(0x21)),
        Err(ValidateError::Rejected("wrong table ID"))
    );
    drop(s);
    let (s, _) = FsStorage::open(&unit.dir, GEOMETRY).unwrap();
    let t = TableStore::open(&s, CONFIG).unwrap();
    assert_eq!(t.entry(0x20).unwrap().active, Some(unit.old[1]));
    std::fs::remove_dir_all(&unit.dir).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Torn buffer writes at any octet: same invariants.
    #[test]
    fn cut_at_random_octets(budget in 0usize..2600) {
        let unit = fresh_unit();
        let (s, _) = FsStorage::open(&unit.dir, GEOMETRY).unwrap();
        let mut f = FaultyStorage::new(s, Fault::AfterBytes(budget));
        let _ = scenario(&mut f);
        drop(f);
        check_after_cut(&unit, &format!("cut after {budget} octets"));
        std::fs::remove_dir_all(&unit.dir).unwrap();
    }
}
