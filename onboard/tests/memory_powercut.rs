//! Power cuts during memory loads and boot-bank changes, with the on-disk storage: whatever
//! write the power is cut at, the re-opened state directory still boots a good image.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use onboard::boot::{self, BootOutcome};
use onboard::image::{self, ImageInfo, SwVersion};
use onboard::memory::{self, MemoryId, WriteAccess};
use onboard::storage::{Bank, Fault, FaultyStorage, Geometry, Region, Storage, StorageError};
use onboard::storage_fs::FsStorage;
use proptest::prelude::*;

const GEOMETRY: Geometry = Geometry::uniform(256, 4096, 256, 1, 64);

/// Octets per ST[06,2] load, as the bench would split an image.
const CHUNK: usize = 700;

fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let d = std::env::temp_dir().join(format!("onboard-{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn image_bytes(version: u8, len: usize) -> Vec<u8> {
    let payload: Vec<u8> =
        (0..len).map(|i| (i as u8).wrapping_mul(version).wrapping_add(version)).collect();
    let mut out = vec![0u8; image::HEADER_LEN + len];
    image::build(&payload, SwVersion::new(1, version, 0, 0), &mut out).unwrap();
    out
}

/// A unit with image v1 in bank A (selected, running) and v2 in bank B.
fn fresh_unit(dir: &PathBuf) -> (ImageInfo, ImageInfo) {
    let (mut s, _) = FsStorage::open(dir, GEOMETRY).unwrap();
    let a = image_bytes(1, 2000);
    let b = image_bytes(2, 1500);
    s.write(Region::Bank(Bank::A), 0, &a).unwrap();
    s.write(Region::Bank(Bank::B), 0, &b).unwrap();
    boot::select_boot_bank(&mut s, Bank::A).unwrap();
    (image::check(&a).unwrap(), image::check(&b).unwrap())
}

/// Loads `img` into `bank` chunk by chunk, checks it, optionally selects it.
fn patch_bank<S: Storage>(
    s: &mut S,
    bank: Bank,
    img: &[u8],
    access: WriteAccess,
    select: bool,
) -> Result<(), String> {
    let id = MemoryId::of_bank(bank);
    for (i, chunk) in img.chunks(CHUNK).enumerate() {
        memory::load(s, id, (i * CHUNK) as u32, chunk, access).map_err(|e| e.to_string())?;
    }
    let crc = memory::check(s, id, 0, img.len() as u32).map_err(|e| e.to_string())?;
    assert_eq!(crc, tc_tm::crc::crc32(img));
    if select {
        boot::select_boot_bank(s, bank).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Runs `scenario` on the unit in `dir` with `fault`; returns whether it completed.
fn run_cut(
    dir: &PathBuf,
    fault: Fault,
    scenario: &dyn Fn(&mut FaultyStorage<FsStorage>) -> Result<(), String>,
) -> bool {
    let (s, _) = FsStorage::open(dir, GEOMETRY).unwrap();
    let mut f = FaultyStorage::new(s, fault);
    let r = scenario(&mut f);
    if let Err(e) = &r {
        assert!(f.is_cut(), "scenario failed without a power cut: {e}");
        assert!(e.contains(&StorageError::PowerCut.to_string()), "{e}");
    }
    r.is_ok()
}

fn writes_of(scenario: &dyn Fn(&mut FaultyStorage<FsStorage>) -> Result<(), String>) -> usize {
    let dir = temp_dir("count");
    fresh_unit(&dir);
    let (s, _) = FsStorage::open(&dir, GEOMETRY).unwrap();
    let mut f = FaultyStorage::new(s, Fault::Never);
    scenario(&mut f).unwrap();
    let n = f.writes();
    std::fs::remove_dir_all(&dir).unwrap();
    n
}

fn upgrade_other_bank(f: &mut FaultyStorage<FsStorage>) -> Result<(), String> {
    let access = WriteAccess { running_bank: Some(Bank::A), allow_running_bank: false };
    patch_bank(f, Bank::B, &image_bytes(3, 3000), access, true)
}

#[test]
fn cut_during_load_of_the_other_bank_at_every_write() {
    let total = writes_of(&upgrade_other_bank);
    assert_eq!(total, 3000usize.div_ceil(CHUNK) + 1, "one write per chunk, one record");
    let new = image::check(&image_bytes(3, 3000)).unwrap();
    for n in 0..=total {
        let dir = temp_dir("other");
        let (a, _) = fresh_unit(&dir);
        let done = run_cut(&dir, Fault::AfterWrites(n), &upgrade_other_bank);
        let (mut s, _) = FsStorage::open(&dir, GEOMETRY).unwrap();
        let report = boot::boot(&mut s).unwrap();
        // The selection is the last write: until it lands, bank A boots as before.
        if n == total {
            assert!(done);
            assert_eq!(report.outcome, BootOutcome::Nominal { bank: Bank::B, image: new });
        } else {
            assert!(!done);
            assert_eq!(
                report.outcome,
                BootOutcome::Nominal { bank: Bank::A, image: a },
                "cut after {n} writes"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

fn patch_running_bank(f: &mut FaultyStorage<FsStorage>) -> Result<(), String> {
    let access = WriteAccess { running_bank: Some(Bank::A), allow_running_bank: true };
    patch_bank(f, Bank::A, &image_bytes(4, 1800), access, false)
}

#[test]
fn cut_during_armed_load_of_the_running_bank_falls_back() {
    let total = writes_of(&patch_running_bank);
    let new = image::check(&image_bytes(4, 1800)).unwrap();
    for n in 0..=total {
        let dir = temp_dir("running");
        let (_, b) = fresh_unit(&dir);
        run_cut(&dir, Fault::AfterWrites(n), &patch_running_bank);
        let (mut s, _) = FsStorage::open(&dir, GEOMETRY).unwrap();
        let report = boot::boot(&mut s).unwrap();
        match report.outcome {
            // No write at all: the old image in A is intact.
            BootOutcome::Nominal { bank: Bank::A, .. } if n == 0 => {}
            BootOutcome::Nominal { bank: Bank::A, image } => {
                assert_eq!(n, total, "a torn image booted after {n} writes");
                assert_eq!(image, new);
            }
            BootOutcome::Fallback { selected: Bank::A, bank: Bank::B, image, .. } => {
                assert!(n > 0 && n < total, "fallback after {n} writes");
                assert_eq!(image, b);
                assert!(report.is_anomalous());
            }
            other => panic!("cut after {n} writes: {other:?}"),
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn unarmed_load_of_the_running_bank_is_refused() {
    let dir = temp_dir("unarmed");
    fresh_unit(&dir);
    let (mut s, _) = FsStorage::open(&dir, GEOMETRY).unwrap();
    let report = boot::boot(&mut s).unwrap();
    let access = WriteAccess { running_bank: report.running_bank(), allow_running_bank: false };
    assert_eq!(
        memory::load(&mut s, MemoryId::BankA, 0, &[0], access),
        Err(memory::MemoryError::RunningBankProtected(Bank::A))
    );
    assert!(boot::check_bank(&s, Bank::A).is_ok());
    std::fs::remove_dir_all(&dir).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Torn writes (the power goes in the middle of a chunk) never leave the unit unbootable.
    #[test]
    fn torn_writes_never_prevent_boot(budget in 0usize..6000, running in any::<bool>()) {
        let dir = temp_dir("torn");
        fresh_unit(&dir);
        let scenario: &dyn Fn(&mut FaultyStorage<FsStorage>) -> Result<(), String> =
            if running { &patch_running_bank } else { &upgrade_other_bank };
        run_cut(&dir, Fault::AfterBytes(budget), scenario);
        let (mut s, _) = FsStorage::open(&dir, GEOMETRY).unwrap();
        let report = boot::boot(&mut s).unwrap();
        prop_assert!(report.running_bank().is_some(), "{report}");
        let bank = report.running_bank().unwrap();
        prop_assert!(boot::check_bank(&s, bank).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
