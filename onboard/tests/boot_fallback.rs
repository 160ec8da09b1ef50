//! Boot with the flight geometry: nominal boot, fallback with its reason when the selected bank
//! is corrupted, safe mode when both are, on the on-disk storage the twin uses and on the
//! static storage the target uses.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use onboard::boot::{self, BankCheckError, BootOutcome, ConfigSource};
use onboard::image::{self, ImageError, SwVersion};
use onboard::limits::BANK_LEN;
use onboard::storage::{Bank, Geometry, RecordId, Region, StaticStorage, Storage};
use onboard::storage_fs::{FsStorage, Opened};

fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let d = std::env::temp_dir().join(format!("onboard-{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// A full-bank image: payload fills the bank.
fn full_image(version: u8) -> Vec<u8> {
    let payload: Vec<u8> =
        (0..BANK_LEN - image::HEADER_LEN).map(|i| (i % 251) as u8 ^ version).collect();
    let mut out = vec![0u8; BANK_LEN];
    image::build(&payload, SwVersion::new(2, 0, version, 0), &mut out).unwrap();
    out
}

#[test]
fn flight_geometry_on_disk() {
    let dir = temp_dir("boot-flight");
    let (mut s, how) = FsStorage::open(&dir, Geometry::FLIGHT).unwrap();
    assert_eq!(how, Opened::Created);

    // Fresh unit: nothing to boot, safe mode, no panic.
    let r = boot::boot(&mut s).unwrap();
    assert_eq!(r.running_bank(), None);
    assert_eq!(r.config_source, ConfigSource::Default);

    let a = full_image(1);
    let b = full_image(2);
    s.write(Region::Bank(Bank::A), 0, &a).unwrap();
    s.write(Region::Bank(Bank::B), 0, &b).unwrap();
    boot::select_boot_bank(&mut s, Bank::B).unwrap();
    drop(s);

    // Restart: the selection and both images survived.
    let (mut s, how) = FsStorage::open(&dir, Geometry::FLIGHT).unwrap();
    assert_eq!(how, Opened::Reopened);
    let t = Instant::now();
    let r = boot::boot(&mut s).unwrap();
    eprintln!("boot: check of a full {BANK_LEN}-octet selected bank: {:?}", t.elapsed());
    assert_eq!(r.outcome, BootOutcome::Nominal { bank: Bank::B, image: image::check(&b).unwrap() });
    assert_eq!(r.config_source, ConfigSource::Stored);

    // Corrupt the selected bank's last octet: fallback to A, with the reason.
    s.write(Region::Bank(Bank::B), BANK_LEN - 1, &[!b[BANK_LEN - 1]]).unwrap();
    drop(s);
    let (mut s, _) = FsStorage::open(&dir, Geometry::FLIGHT).unwrap();
    let r = boot::boot(&mut s).unwrap();
    match r.outcome {
        BootOutcome::Fallback { selected, reason, bank, image } => {
            assert_eq!((selected, bank), (Bank::B, Bank::A));
            assert_eq!(image.sw_version, SwVersion::new(2, 0, 1, 0));
            assert!(matches!(reason, BankCheckError::Image(ImageError::BadPayloadCrc { .. })));
        }
        other => panic!("expected a fallback, got {other:?}"),
    }
    assert!(r.is_anomalous());
    assert!(r.to_string().contains("fell back to bank A"), "{r}");

    // Corrupt A's header too: no bootable image, both reasons reported.
    s.write(Region::Bank(Bank::A), 3, &[0]).unwrap();
    let r = boot::boot(&mut s).unwrap();
    match r.outcome {
        BootOutcome::NoBootableImage { selected: Bank::B, selected_reason, other_reason } => {
            assert!(matches!(
                selected_reason,
                BankCheckError::Image(ImageError::BadPayloadCrc { .. })
            ));
            assert!(matches!(other_reason, BankCheckError::Image(ImageError::BadMagic(_))));
        }
        other => panic!("expected no bootable image, got {other:?}"),
    }
    assert_eq!(r.running_bank(), None);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn corrupted_boot_record_defaults_to_bank_a() {
    let mut s: Box<StaticStorage<64, 4096, 64, 1, { 2 * 64 }>> = Box::default();
    let mut img = vec![0u8; 1000];
    image::build(&[7; 900], SwVersion(1), &mut img).unwrap();
    s.write(Region::Bank(Bank::A), 0, &img).unwrap();
    s.write(Region::Bank(Bank::B), 0, &img).unwrap();
    boot::select_boot_bank(&mut *s, Bank::B).unwrap();
    let mut rec = s.read_record(RecordId::BootConfig).unwrap().unwrap();
    rec[5] ^= 1;
    s.write_record(RecordId::BootConfig, &rec).unwrap();
    let r = boot::boot(&mut *s).unwrap();
    assert_eq!(r.config_source, ConfigSource::Corrupt);
    assert_eq!(r.running_bank(), Some(Bank::A));
    assert!(r.is_anomalous());
}

#[test]
fn selection_is_one_atomic_record() {
    let mut s: Box<StaticStorage<64, 4096, 64, 1, { 2 * 64 }>> = Box::default();
    for bank in [Bank::B, Bank::A, Bank::B] {
        boot::select_boot_bank(&mut *s, bank).unwrap();
        assert_eq!(boot::read_boot_config(&*s).unwrap().0.selected, bank);
    }
}
