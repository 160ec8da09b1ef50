//! The ST[06] memory map with the flight sizes, through the public API.

use std::path::PathBuf;

use onboard::limits::{BANK_LEN, BOOT_EEPROM_LEN, RAM_PATCH_LEN};
use onboard::memory::{self, MemoryError, MemoryId, WriteAccess};
use onboard::storage::{Bank, Geometry, Storage};
use onboard::storage_fs::FsStorage;
use tc_tm::crc::crc32;

fn state(tag: &str) -> (FsStorage, PathBuf) {
    let d = std::env::temp_dir().join(format!("onboard-memory-map-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    (FsStorage::open(&d, Geometry::FLIGHT).unwrap().0, d)
}

#[test]
fn ids_and_sizes_match_the_icd() {
    let (s, d) = state("ids");
    let expected = [
        (1, MemoryId::BootEeprom, BOOT_EEPROM_LEN),
        (2, MemoryId::BankA, BANK_LEN),
        (3, MemoryId::BankB, BANK_LEN),
        (4, MemoryId::RamPatch, RAM_PATCH_LEN),
    ];
    for (wire, id, len) in expected {
        assert_eq!(MemoryId::try_from(wire), Ok(id));
        assert_eq!(id.value(), wire);
        assert_eq!(memory::size(&s, id), len);
    }
    assert_eq!(MemoryId::try_from(0), Err(MemoryError::UnknownMemoryId(0)));
    for wire in 5..=u8::MAX {
        assert_eq!(MemoryId::try_from(wire), Err(MemoryError::UnknownMemoryId(wire)));
    }
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn load_dump_check_at_the_edges() {
    let (mut s, d) = state("edges");
    let access = WriteAccess { running_bank: Some(Bank::A), allow_running_bank: false };
    let last = (BANK_LEN - 4) as u32;
    memory::load(&mut s, MemoryId::BankB, last, b"edge", access).unwrap();
    let mut out = [0u8; 4];
    memory::dump(&s, MemoryId::BankB, last, &mut out).unwrap();
    assert_eq!(&out, b"edge");
    assert_eq!(memory::check(&s, MemoryId::BankB, last, 4), Ok(crc32(b"edge")));
    assert!(matches!(
        memory::load(&mut s, MemoryId::BankB, last + 1, b"edge", access),
        Err(MemoryError::OutOfRange { size: BANK_LEN, .. })
    ));
    assert!(matches!(
        memory::check(&s, MemoryId::RamPatch, 0, RAM_PATCH_LEN as u32 + 1),
        Err(MemoryError::OutOfRange { .. })
    ));
    assert_eq!(
        memory::load(&mut s, MemoryId::BankA, 0, b"x", access),
        Err(MemoryError::RunningBankProtected(Bank::A))
    );
    assert_eq!(
        memory::load(&mut s, MemoryId::BootEeprom, 0, b"x", WriteAccess::default()),
        Err(MemoryError::ReadOnly(MemoryId::BootEeprom))
    );
    // The RAM patch is volatile: lost at the next boot.
    memory::load(&mut s, MemoryId::RamPatch, 0, b"patch", access).unwrap();
    onboard::boot::boot(&mut s).unwrap();
    let mut out = [0u8; 5];
    memory::dump(&s, MemoryId::RamPatch, 0, &mut out).unwrap();
    assert_eq!(out, [0; 5]);
    // A whole-bank check.
    let bank = s.region(MemoryId::BankB.region()).unwrap().to_vec();
    assert_eq!(memory::check(&s, MemoryId::BankB, 0, BANK_LEN as u32), Ok(crc32(&bank)));
    std::fs::remove_dir_all(d).unwrap();
}
