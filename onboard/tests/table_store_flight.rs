//! The table store with the flight geometry on disk: a pixel-table-sized image (6400 × 16
//! octets) loaded in maximum-size TC segments, validated, activated, and found again after a
//! restart.

use std::time::Instant;

use onboard::limits::{FLIGHT_TABLE_BUFFER_LENS, UNIT_TABLES};
use onboard::storage::Geometry;
use onboard::storage_fs::FsStorage;
use onboard::table_store::{BufferState, SlotConfig, TableStore, Which};
use tc_tm::crc::crc32;

/// Octets of table data per ST[200] load segment (a 1016-octet TC minus headers, rounded).
const SEGMENT: usize = 960;

/// One slot per table, each as large as its flight storage slot.
fn config() -> [SlotConfig; UNIT_TABLES] {
    core::array::from_fn(|i| SlotConfig {
        id: i as u8 + 1,
        max_len: FLIGHT_TABLE_BUFFER_LENS[i] as u32,
    })
}

#[test]
fn pixel_table_load_and_restart() {
    let d = std::env::temp_dir().join(format!("onboard-table-flight-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    let (mut s, _) = FsStorage::open(&d, Geometry::FLIGHT).unwrap();
    let mut t = TableStore::open(&s, config()).unwrap();
    let img: Vec<u8> =
        (0..6400 * 16).map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();

    let start = Instant::now();
    for (i, seg) in img.chunks(SEGMENT).enumerate() {
        t.load_segment(&mut s, 1, 7, img.len() as u32, (i * SEGMENT) as u32, seg).unwrap();
    }
    let loaded = start.elapsed();
    assert_eq!(t.entry(1).unwrap().inactive.state, BufferState::Loaded);
    let start = Instant::now();
    t.validate(&s, 1, crc32(&img), &mut |_: &[u8]| Ok::<(), ()>(())).unwrap();
    let validated = start.elapsed();
    let start = Instant::now();
    let active = t.activate(&mut s, 1).unwrap();
    let activated = start.elapsed();
    eprintln!(
        "{} octets in {} segments: load {loaded:?}, validate {validated:?}, activate (fsync + rename) {activated:?}",
        img.len(),
        img.len().div_ceil(SEGMENT)
    );
    drop(s);

    let (s, _) = FsStorage::open(&d, Geometry::FLIGHT).unwrap();
    let t = TableStore::open(&s, config()).unwrap();
    assert_eq!(t.entry(1).unwrap().active, Some(active));
    let mut out = vec![0u8; img.len() + 10];
    assert_eq!(t.dump(&s, 1, Which::Active, 0, &mut out), Ok(img.len()));
    assert_eq!(&out[..img.len()], &img[..]);
    std::fs::remove_dir_all(d).unwrap();
}
