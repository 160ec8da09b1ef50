//! Boot logic: which application bank runs.
//!
//! At every reset the unit:
//! 1. loses its volatile state ([`Storage::clear_volatile`]: the RAM patch area);
//! 2. reads the boot configuration record (selected bank). A record that was never written
//!    selects bank A; a corrupted one (bad magic or CRC) also selects bank A and is reported;
//! 3. checks the selected bank's image ([`image::check`]: header, header CRC, payload CRC) and
//!    boots it if it checks;
//! 4. otherwise checks the other bank and boots it as a *fallback*, reporting why the selected
//!    bank was refused (the unit raises a high-severity event);
//! 5. otherwise boots nothing: the unit stays in safe mode, answering TCs so the ground can load
//!    a good image, and reports both reasons.
//!
//! The booted bank is the running bank, write-protected by [`crate::memory`]. Selecting the boot
//! bank ([`select_boot_bank`]) is one atomic record write; it takes effect at the next boot.
//!
//! Boot configuration record ([`RECORD_LEN`] octets, big-endian): magic `BOOT` (4), format 1
//! (1), bank (1: 0 = A, 1 = B), 22 reserved zeros, CRC-32 of octets 0..28 (4).

use core::fmt;

use tc_tm::crc::crc32;

use crate::image::{self, ImageError, ImageInfo};
use crate::limits::RECORD_LEN;
use crate::storage::{Bank, RecordId, Region, Storage, StorageError};

const BOOT_MAGIC: [u8; 4] = *b"BOOT";
const BOOT_FORMAT: u8 = 1;
const CRC_OFFSET: usize = RECORD_LEN - 4;

/// Where the boot configuration came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigSource {
    /// The stored record.
    Stored,
    /// No record was ever written: the default (bank A).
    Default,
    /// The record did not check (magic, format, bank value or CRC): the default (bank A) is
    /// used and the unit should report it.
    Corrupt,
}

/// The boot configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootConfig {
    /// The bank to boot.
    pub selected: Bank,
}

impl Default for BootConfig {
    fn default() -> Self {
        BootConfig { selected: Bank::A }
    }
}

impl BootConfig {
    /// The record encoding.
    pub fn encode(&self) -> [u8; RECORD_LEN] {
        let mut rec = [0u8; RECORD_LEN];
        let (body, crc) = rec.split_at_mut(CRC_OFFSET);
        if let Some(magic) = body.get_mut(..4) {
            magic.copy_from_slice(&BOOT_MAGIC);
        }
        if let Some(fields) = body.get_mut(4..6) {
            fields.copy_from_slice(&[BOOT_FORMAT, self.selected_index()]);
        }
        crc.copy_from_slice(&crc32(body).to_be_bytes());
        rec
    }

    /// Decodes a record, `None` if it does not check.
    pub fn decode(rec: &[u8; RECORD_LEN]) -> Option<BootConfig> {
        let (body, crc) = rec.split_at_checked(CRC_OFFSET)?;
        if crc32(body).to_be_bytes() != crc {
            return None;
        }
        let (head, rest) = body.split_at_checked(6)?;
        if head.get(..4)? != BOOT_MAGIC || *head.get(4)? != BOOT_FORMAT {
            return None;
        }
        if rest.iter().any(|&b| b != 0) {
            return None;
        }
        let selected = match head.get(5)? {
            0 => Bank::A,
            1 => Bank::B,
            _ => return None,
        };
        Some(BootConfig { selected })
    }

    const fn selected_index(&self) -> u8 {
        match self.selected {
            Bank::A => 0,
            Bank::B => 1,
        }
    }
}

/// Reads the boot configuration and says where it came from.
///
/// # Errors
/// [`StorageError`] from the backend.
pub fn read_boot_config<S: Storage + ?Sized>(
    storage: &S,
) -> Result<(BootConfig, ConfigSource), StorageError> {
    Ok(match storage.read_record(RecordId::BootConfig)? {
        None => (BootConfig::default(), ConfigSource::Default),
        Some(rec) => match BootConfig::decode(&rec) {
            Some(c) => (c, ConfigSource::Stored),
            None => (BootConfig::default(), ConfigSource::Corrupt),
        },
    })
}

/// Selects the bank booted at the next reset: one atomic record write. (A critical function:
/// the services layer refuses it unless armed.)
///
/// # Errors
/// [`StorageError`] from the backend; the previous selection then stands.
pub fn select_boot_bank<S: Storage + ?Sized>(
    storage: &mut S,
    bank: Bank,
) -> Result<(), StorageError> {
    storage.write_record(RecordId::BootConfig, &BootConfig { selected: bank }.encode())
}

/// Checks the image in `bank`.
///
/// # Errors
/// [`BankCheckError`]: the image error, or the storage error that prevented reading the bank.
pub fn check_bank<S: Storage + ?Sized>(
    storage: &S,
    bank: Bank,
) -> Result<ImageInfo, BankCheckError> {
    let bytes = storage.region(Region::Bank(bank)).map_err(BankCheckError::Storage)?;
    image::check(bytes).map_err(BankCheckError::Image)
}

/// Why a bank could not be booted.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BankCheckError {
    /// Its image does not check.
    Image(ImageError),
    /// It could not be read.
    Storage(StorageError),
}

impl fmt::Display for BankCheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BankCheckError::Image(e) => write!(f, "{e}"),
            BankCheckError::Storage(e) => write!(f, "{e}"),
        }
    }
}

impl core::error::Error for BankCheckError {}

/// What the boot did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootOutcome {
    /// The selected bank checked and runs.
    Nominal {
        /// The running bank (the selected one).
        bank: Bank,
        /// Its image.
        image: ImageInfo,
    },
    /// The selected bank did not check; the other one did and runs. High-severity event.
    Fallback {
        /// The bank that was selected and refused.
        selected: Bank,
        /// Why it was refused.
        reason: BankCheckError,
        /// The running bank (the other one).
        bank: Bank,
        /// Its image.
        image: ImageInfo,
    },
    /// Neither bank checked: safe mode, no application runs (TCs are still answered).
    NoBootableImage {
        /// The bank that was selected.
        selected: Bank,
        /// Why the selected bank was refused.
        selected_reason: BankCheckError,
        /// Why the other bank was refused.
        other_reason: BankCheckError,
    },
}

/// The result of a boot, which the unit turns into its boot / fallback events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootReport {
    /// The boot configuration used.
    pub config: BootConfig,
    /// Where it came from.
    pub config_source: ConfigSource,
    /// What was booted.
    pub outcome: BootOutcome,
}

impl BootReport {
    /// The running bank, `None` in safe mode.
    pub const fn running_bank(&self) -> Option<Bank> {
        match self.outcome {
            BootOutcome::Nominal { bank, .. } | BootOutcome::Fallback { bank, .. } => Some(bank),
            BootOutcome::NoBootableImage { .. } => None,
        }
    }

    /// The running image, `None` in safe mode.
    pub const fn running_image(&self) -> Option<ImageInfo> {
        match self.outcome {
            BootOutcome::Nominal { image, .. } | BootOutcome::Fallback { image, .. } => Some(image),
            BootOutcome::NoBootableImage { .. } => None,
        }
    }

    /// Whether the unit must raise a high-severity event (fallback, safe mode or corrupted
    /// boot configuration).
    pub const fn is_anomalous(&self) -> bool {
        !matches!(self.outcome, BootOutcome::Nominal { .. })
            || matches!(self.config_source, ConfigSource::Corrupt)
    }
}

impl fmt::Display for BootReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.outcome {
            BootOutcome::Nominal { bank, image } => {
                write!(f, "booted {bank}, software {}", image.sw_version)?;
            }
            BootOutcome::Fallback { selected, reason, bank, image } => write!(
                f,
                "{selected} refused ({reason}); fell back to {bank}, software {}",
                image.sw_version
            )?,
            BootOutcome::NoBootableImage { selected, selected_reason, other_reason } => write!(
                f,
                "no bootable image: {selected} ({selected_reason}), {} ({other_reason}); safe mode",
                selected.other()
            )?,
        }
        if self.config_source == ConfigSource::Corrupt {
            f.write_str("; boot configuration corrupted, default used")?;
        }
        Ok(())
    }
}

/// Boots: clears the volatile state, then runs the logic of the module documentation. Never
/// panics, whatever the storage holds.
///
/// # Errors
/// [`StorageError`] only if the storage cannot clear its volatile state or read the boot
/// record; bank read failures are reported in the [`BootOutcome`] instead.
pub fn boot<S: Storage + ?Sized>(storage: &mut S) -> Result<BootReport, StorageError> {
    storage.clear_volatile()?;
    let (config, config_source) = read_boot_config(storage)?;
    let selected = config.selected;
    let outcome = match check_bank(storage, selected) {
        Ok(image) => BootOutcome::Nominal { bank: selected, image },
        Err(reason) => match check_bank(storage, selected.other()) {
            Ok(image) => BootOutcome::Fallback { selected, reason, bank: selected.other(), image },
            Err(other_reason) => {
                BootOutcome::NoBootableImage { selected, selected_reason: reason, other_reason }
            }
        },
    };
    Ok(BootReport { config, config_source, outcome })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{SwVersion, build};
    use crate::storage::StaticStorage;
    use std::string::ToString;

    type Small = StaticStorage<64, 256, 32, 1, { 2 * 16 }>;

    fn program(s: &mut Small, bank: Bank, version: u8) -> ImageInfo {
        let mut img = [0u8; 100];
        let n = build(&[version; 60], SwVersion::new(1, 0, 0, version), &mut img).unwrap();
        s.write(Region::Bank(bank), 0, &img[..n]).unwrap();
        image::check(&img).unwrap()
    }

    #[test]
    fn record_round_trip() {
        for bank in [Bank::A, Bank::B] {
            let c = BootConfig { selected: bank };
            assert_eq!(BootConfig::decode(&c.encode()), Some(c));
        }
        let enc = BootConfig { selected: Bank::B }.encode();
        assert_eq!(&enc[..6], b"BOOT\x01\x01");
        for bit in 0..RECORD_LEN * 8 {
            let mut bad = enc;
            bad[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(BootConfig::decode(&bad), None, "bit {bit}");
        }
    }

    #[test]
    fn fresh_unit_has_no_bootable_image() {
        let mut s = Small::new();
        let r = boot(&mut s).unwrap();
        assert_eq!(r.config_source, ConfigSource::Default);
        assert_eq!(r.running_bank(), None);
        assert!(r.is_anomalous());
        assert!(matches!(
            r.outcome,
            BootOutcome::NoBootableImage {
                selected: Bank::A,
                selected_reason: BankCheckError::Image(ImageError::BadMagic(0xFFFF_FFFF)),
                ..
            }
        ));
    }

    #[test]
    fn nominal_boot_of_selected_bank() {
        let mut s = Small::new();
        program(&mut s, Bank::A, 1);
        let b = program(&mut s, Bank::B, 2);
        select_boot_bank(&mut s, Bank::B).unwrap();
        let r = boot(&mut s).unwrap();
        assert_eq!(r.outcome, BootOutcome::Nominal { bank: Bank::B, image: b });
        assert_eq!(r.config_source, ConfigSource::Stored);
        assert!(!r.is_anomalous());
        assert_eq!(r.to_string(), "booted bank B, software 1.0.0+2");
    }

    #[test]
    fn corrupted_selected_bank_falls_back() {
        let mut s = Small::new();
        let a = program(&mut s, Bank::A, 1);
        program(&mut s, Bank::B, 2);
        select_boot_bank(&mut s, Bank::B).unwrap();
        s.write(Region::Bank(Bank::B), 40, &[0]).unwrap();
        let r = boot(&mut s).unwrap();
        assert_eq!(r.running_bank(), Some(Bank::A));
        assert_eq!(r.running_image(), Some(a));
        assert!(r.is_anomalous());
        match r.outcome {
            BootOutcome::Fallback { selected: Bank::B, reason, bank: Bank::A, .. } => {
                assert!(matches!(reason, BankCheckError::Image(ImageError::BadPayloadCrc { .. })));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(r.to_string().starts_with("bank B refused (image payload CRC-32"));
    }

    #[test]
    fn corrupted_record_uses_default_and_says_so() {
        let mut s = Small::new();
        program(&mut s, Bank::A, 1);
        s.write_record(RecordId::BootConfig, &[0xAB; RECORD_LEN]).unwrap();
        let r = boot(&mut s).unwrap();
        assert_eq!(r.config_source, ConfigSource::Corrupt);
        assert_eq!(r.running_bank(), Some(Bank::A));
        assert!(r.is_anomalous());
    }

    #[test]
    fn boot_clears_ram_patch() {
        let mut s = Small::new();
        s.write(Region::RamPatch, 0, &[1; 32]).unwrap();
        boot(&mut s).unwrap();
        assert!(s.region(Region::RamPatch).unwrap().iter().all(|&b| b == 0));
    }

    proptest::proptest! {
        #[test]
        fn boot_never_panics(
            a in proptest::collection::vec(proptest::num::u8::ANY, 0..256),
            b in proptest::collection::vec(proptest::num::u8::ANY, 0..256),
            rec in proptest::option::of(proptest::array::uniform32(proptest::num::u8::ANY)),
        ) {
            let mut s = Small::new();
            s.write(Region::Bank(Bank::A), 0, &a).unwrap();
            s.write(Region::Bank(Bank::B), 0, &b).unwrap();
            if let Some(rec) = rec {
                s.write_record(RecordId::BootConfig, &rec).unwrap();
            }
            let r = boot(&mut s).unwrap();
            if let Some(bank) = r.running_bank() {
                proptest::prop_assert!(check_bank(&s, bank).is_ok());
            }
        }
    }
}
