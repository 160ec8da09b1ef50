//! Factory provisioning of a fresh twin state: a unit that works out of the box.
//!
//! A freshly created state directory is erased: no software image, so the unit would stay in
//! `boot` mode where most services do not exist. [`provision`] makes it what a unit leaving
//! the factory is:
//!
//! - the **software image** [`FACTORY_SW_VERSION`] (1.0.0+0): an `onboard::image` of
//!   [`FACTORY_PAYLOAD_LEN`] deterministic octets ([`factory_payload`]), written to **bank A
//!   and bank B** (so a fallback or a `select-boot-bank` to B also boots);
//! - the **boot configuration**: bank A selected;
//! - the **default table set** (`tables::defaults::default_set()`), loaded, validated and
//!   activated in every slot through the unit's own table store
//!   (`onboard::services::table::open_store`, the same code ST\[200\] runs, with the same
//!   validator `check_image`), bands first.
//!
//! It writes the storage directly, before the unit is powered on, as the factory programs the
//! memories; the unit then boots bank A into `safe` mode with every table active. The twin
//! provisions a state directory only when it creates it (`FsStorage::open` returned
//! `Opened::Created`) and not with `--blank`; an existing state is never touched.

use std::fmt;

use onboard::boot;
use onboard::image::{self, ImageError, SwVersion};
use onboard::services::table::{Reject, check_image, open_store};
use onboard::storage::{Bank, Region, Storage, StorageError};
use onboard::table_store::{TableError, ValidateError};
use tables::TableId;
use tables::set::TableSet;

/// Software version of the factory image.
pub const FACTORY_SW_VERSION: SwVersion = SwVersion::new(1, 0, 0, 0);
/// Payload length of the factory image, octets.
pub const FACTORY_PAYLOAD_LEN: usize = 16 * 1024;

/// The tables in load order: the energy bands first (the CRT, IMT and catalogue are validated
/// against them), then the others in ID order.
pub const LOAD_ORDER: [TableId; 7] = [
    TableId::Bands,
    TableId::Crt,
    TableId::Imt,
    TableId::Catalog,
    TableId::Pixels,
    TableId::Saa,
    TableId::Alert,
];

/// The factory image payload: [`FACTORY_PAYLOAD_LEN`] octets of a fixed xorshift sequence
/// (the same on every machine, so two twins hold the same image).
pub fn factory_payload() -> Vec<u8> {
    let mut x: u32 = 0x1ACF_FC1D;
    (0..FACTORY_PAYLOAD_LEN)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x.to_be_bytes()[0]
        })
        .collect()
}

/// The complete factory image (header + payload).
///
/// # Errors
/// Never in practice: [`ImageError::BufferTooSmall`] cannot happen with the buffer sized here.
pub fn factory_image() -> Result<Vec<u8>, ImageError> {
    let payload = factory_payload();
    let mut out = vec![0u8; image::HEADER_LEN + payload.len()];
    let n = image::build(&payload, FACTORY_SW_VERSION, &mut out)?;
    out.truncate(n);
    Ok(out)
}

/// What [`provision`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provisioned {
    /// Software version in both banks.
    pub sw_version: SwVersion,
    /// Image length in each bank, octets.
    pub image_len: usize,
    /// Tables activated: (table, version, image length, CRC-32), in load order.
    pub tables: Vec<(TableId, u16, usize, u32)>,
}

/// Why provisioning failed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ProvisionError {
    /// The storage refused a write.
    Storage(StorageError),
    /// The software image could not be built.
    Image(ImageError),
    /// The storage has too few table slots for the unit's tables.
    NoTableStore,
    /// The table store refused a step for a table.
    Table {
        /// The table.
        table: TableId,
        /// What the store said.
        error: TableError,
    },
    /// The unit's validator refused a table of the set.
    Rejected {
        /// The table.
        table: TableId,
        /// The reason.
        reason: Reject,
    },
    /// A table of the set cannot be encoded.
    Encode {
        /// The table.
        table: TableId,
        /// The encoder error.
        error: tables::image::Error,
    },
}

impl fmt::Display for ProvisionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProvisionError::Storage(e) => write!(f, "provisioning the twin state: {e}"),
            ProvisionError::Image(e) => write!(f, "building the factory image: {e}"),
            ProvisionError::NoTableStore => {
                f.write_str("provisioning the twin state: the storage has too few table slots")
            }
            ProvisionError::Table { table, error } => {
                write!(f, "provisioning the {} table: {error:?}", table.name())
            }
            ProvisionError::Rejected { table, reason } => {
                write!(f, "the unit's validator refuses the {} table: {reason:?}", table.name())
            }
            ProvisionError::Encode { table, error } => {
                write!(f, "encoding the {} table: {error}", table.name())
            }
        }
    }
}

impl std::error::Error for ProvisionError {}

impl From<StorageError> for ProvisionError {
    fn from(e: StorageError) -> Self {
        ProvisionError::Storage(e)
    }
}

/// Writes the factory image into both banks, selects bank A and activates every table of
/// `set` (see the module documentation). Call it on an erased storage, before
/// `Unit::power_on`.
///
/// # Errors
/// [`ProvisionError`]: a storage failure, or a set the unit's validator refuses.
pub fn provision<S: Storage>(
    storage: &mut S,
    set: &TableSet,
) -> Result<Provisioned, ProvisionError> {
    let img = factory_image().map_err(ProvisionError::Image)?;
    provision_with_image(storage, set, &img)
}

/// As [`provision`], with `img` (a checked `onboard::image`) in both banks instead of the
/// factory image: the firmware's state holds the real application binary
/// ([`crate::qemu`]).
///
/// # Errors
/// [`ProvisionError::Image`] if `img` does not check, else as [`provision`].
pub fn provision_with_image<S: Storage>(
    storage: &mut S,
    set: &TableSet,
    img: &[u8],
) -> Result<Provisioned, ProvisionError> {
    let info = image::check(img).map_err(ProvisionError::Image)?;
    for bank in [Bank::A, Bank::B] {
        storage.write(Region::Bank(bank), 0, img)?;
    }
    boot::select_boot_bank(storage, Bank::A)?;

    let mut store = open_store(storage).ok_or(ProvisionError::NoTableStore)?;
    let mut done = Vec::new();
    for table in LOAD_ORDER {
        let bytes = set.image(table).map_err(|error| ProvisionError::Encode { table, error })?;
        let version = set.version(table);
        let id = table as u8;
        let len = u32::try_from(bytes.len())
            .map_err(|_| ProvisionError::Table { table, error: TableError::EmptySegment(id) })?;
        let crc = tc_tm::crc::crc32(&bytes);
        store
            .load_segment(storage, id, u32::from(version), len, 0, &bytes)
            .map_err(|error| ProvisionError::Table { table, error })?;
        let bands = &set.bands;
        store
            .validate(storage, id, crc, &mut |image: &[u8]| {
                check_image(image, id, Some(version), bands)
            })
            .map_err(|e| match e {
                ValidateError::Store(error) => ProvisionError::Table { table, error },
                ValidateError::Rejected(reason) => ProvisionError::Rejected { table, reason },
            })?;
        store.activate(storage, id).map_err(|error| ProvisionError::Table { table, error })?;
        done.push((table, version, bytes.len(), crc));
    }
    Ok(Provisioned { sw_version: info.sw_version, image_len: img.len(), tables: done })
}

#[cfg(test)]
mod tests {
    use onboard::storage::Geometry;
    use onboard::storage_fs::FsStorage;

    use super::*;

    fn fresh() -> (tempfile::TempDir, FsStorage) {
        let dir = tempfile::tempdir().unwrap();
        let (s, _) = FsStorage::open(dir.path(), Geometry::FLIGHT).unwrap();
        (dir, s)
    }

    #[test]
    fn factory_image_checks_and_is_deterministic() {
        let a = factory_image().unwrap();
        assert_eq!(a, factory_image().unwrap());
        let info = image::check(&a).unwrap();
        assert_eq!(info.sw_version, FACTORY_SW_VERSION);
        assert_eq!(a.len(), image::HEADER_LEN + FACTORY_PAYLOAD_LEN);
        // Not a trivial payload.
        let p = factory_payload();
        assert!(p.iter().filter(|&&b| b == p[0]).count() < FACTORY_PAYLOAD_LEN / 16);
    }

    #[test]
    fn provisioned_storage_boots_bank_a_with_every_table_active() {
        let (_dir, mut storage) = fresh();
        let set = tables::defaults::default_set();
        let p = provision(&mut storage, &set).unwrap();
        assert_eq!(p.tables.len(), 7);
        let report = boot::boot(&mut storage).unwrap();
        assert_eq!(report.running_bank(), Some(Bank::A));
        assert!(!report.is_anomalous());
        assert!(boot::check_bank(&storage, Bank::B).is_ok());
        let store = open_store(&storage).unwrap();
        for (table, version, len, crc) in p.tables {
            let (image, active) = store.active_image(&storage, table as u8).unwrap();
            assert_eq!(image, set.image(table).unwrap().as_slice());
            assert_eq!(
                (active.version, active.len as usize, active.crc32),
                (u32::from(version), len, crc)
            );
        }
    }

    #[test]
    fn an_invalid_set_is_refused_by_the_unit_validator() {
        let (_dir, mut storage) = fresh();
        let mut set = tables::defaults::default_set();
        set.alert.min_alert_snr = 1000.0;
        let e = provision(&mut storage, &set).unwrap_err();
        assert!(matches!(e, ProvisionError::Rejected { table: TableId::Alert, .. }), "{e}");
    }
}
