//! Reference computations that every target runs with the same code and must finish with the
//! same bits: the host tests compute them, the firmware's self-test (`firmware/selftest`, run
//! under QEMU by `eic-tests`' `firmware_image_crc_equals_the_host_qemu`) reports them, and the
//! two are compared. A difference means the one-trigger rule is broken (a float operation that
//! rounds differently, a contraction into a fused multiply-add, an uninitialised value).
//!
//! [`reference_image_crc`] images a fixed shadowgram — a point source at (5°, −3°) over a
//! background with deterministic integer "noise" and 3 % dead pixels — twice (no background
//! treatment, then the quadratic fit), and returns the CRC-32 of every sky pixel's signal and
//! variance bits and of the peaks found.
//!
//! [`replay_blob`] configures a [`Trigger`] from table images and feeds it a stimulus stream,
//! both taken from one input blob ([`BLOB_MAGIC`]; the firmware's self-test gets it from the
//! host in memory), and returns the alerts' and the counters' digest: the same on every target
//! (test `firmware_trigger_equals_the_host_qemu`).

use core::fmt::Write as _;

use tables::TableId;
use tables::image as timage;
use tc_tm::crc::Crc32Digest;

use super::geometry::{self, DET_PIXELS, SKY_N, xorshift32};
use super::imaging::{Background, ImageError, ImageOptions, Imager, PeakOptions, Shadowgram};
use super::{ActiveTables, Trigger};

/// First octets of a self-test input blob. Layout (lengths `u32` little-endian): the magic;
/// for each table of [`BLOB_TABLES`] in order, its length and its image; the stimulus length
/// and the stimulus octets (frames, as on the stimulus link).
pub const BLOB_MAGIC: [u8; 4] = *b"EICS";

/// The tables of a blob, in order.
pub const BLOB_TABLES: [TableId; 7] = [
    TableId::Pixels,
    TableId::Bands,
    TableId::Crt,
    TableId::Imt,
    TableId::Catalog,
    TableId::Saa,
    TableId::Alert,
];

/// A `core::fmt::Write` feeding a CRC-32 (digests of `Debug` output, no allocation).
pub struct CrcWriter(pub Crc32Digest);

impl core::fmt::Write for CrcWriter {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0.update(s.as_bytes());
        Ok(())
    }
}

/// What [`replay_blob`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayDigest {
    /// Alerts issued.
    pub alerts: u32,
    /// CRC-32 of every alert's `Debug` form, its peak's SNR bits, then the final counters'
    /// `Debug` form.
    pub digest: u32,
    /// Events received.
    pub events: u64,
    /// Event time reached at the end, ticks since the epoch.
    pub end_tick: u64,
}

/// Why a blob was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobError {
    /// No magic, or a length beyond the end, at this offset.
    Layout {
        /// Octet offset.
        at: usize,
    },
    /// A table image does not parse.
    Table(TableId),
    /// The trigger refused the tables.
    Refused,
}

/// Splits `len(u32 LE) ‖ octets` at `at`.
fn take(blob: &[u8], at: usize) -> Result<(&[u8], usize), BlobError> {
    let len =
        blob.get(at..at + 4).and_then(|b| b.first_chunk::<4>()).map(|b| u32::from_le_bytes(*b));
    let len = len.ok_or(BlobError::Layout { at })? as usize;
    let body = blob.get(at + 4..at + 4 + len).ok_or(BlobError::Layout { at })?;
    Ok((body, at + 4 + len))
}

/// Configures `trigger` from the blob's tables (observing, every trigger on), feeds it the
/// stimulus in `chunk`-octet pieces and digests the result. `timer(true)` is called before
/// each piece and `timer(false)` after it (the firmware measures the trigger's time there).
///
/// # Errors
/// [`BlobError`] on a malformed blob or tables the trigger refuses.
pub fn replay_blob(
    trigger: &mut Trigger,
    blob: &[u8],
    chunk: usize,
    timer: &mut dyn FnMut(bool),
) -> Result<ReplayDigest, BlobError> {
    if blob.get(..4) != Some(&BLOB_MAGIC[..]) {
        return Err(BlobError::Layout { at: 0 });
    }
    let mut at = 4;
    let mut images: [&[u8]; 7] = [&[]; 7];
    for slot in images.iter_mut() {
        let (body, next) = take(blob, at)?;
        *slot = body;
        at = next;
    }
    let (stimulus, _) = take(blob, at)?;
    let [pixels, bands, crt, imt, catalog, saa, alert] = images;
    let pixels = tables::pixels::PixelImage::new_checked(pixels)
        .map_err(|_| BlobError::Table(TableId::Pixels))?;
    let bands =
        timage::parse::<tables::BandTable>(bands).map_err(|_| BlobError::Table(TableId::Bands))?;
    let crt = timage::parse::<tables::CrtTable>(crt).map_err(|_| BlobError::Table(TableId::Crt))?;
    let imt = timage::parse::<tables::ImtTable>(imt).map_err(|_| BlobError::Table(TableId::Imt))?;
    let catalog = timage::parse::<tables::CatalogTable>(catalog)
        .map_err(|_| BlobError::Table(TableId::Catalog))?;
    let saa = timage::parse::<tables::SaaTable>(saa).map_err(|_| BlobError::Table(TableId::Saa))?;
    let alert =
        timage::parse::<tables::AlertTable>(alert).map_err(|_| BlobError::Table(TableId::Alert))?;
    let active = ActiveTables {
        pixels: &pixels,
        bands: &bands,
        crt: &crt,
        imt: &imt,
        catalog: &catalog,
        saa: &saa,
        alert: &alert,
    };
    trigger.configure(&active).map_err(|_| BlobError::Refused)?;
    trigger.set_observing(true);
    trigger.set_enabled(true, true);
    let mut w = CrcWriter(Crc32Digest::new());
    let mut alerts = 0u32;
    for piece in stimulus.chunks(chunk.max(1)) {
        timer(true);
        trigger.receive_stimulus(piece, &mut |r| {
            alerts += 1;
            let _ = write!(w, "{:?}", r.alert);
            w.0.update(&r.peak.snr.to_bits().to_le_bytes());
        });
        timer(false);
    }
    let stats = trigger.stats();
    let _ = write!(w, "{stats:?}");
    Ok(ReplayDigest {
        alerts,
        digest: w.0.finalize(),
        events: stats.intake.events,
        end_tick: trigger.now_tick(),
    })
}

/// [`reference_image_crc`] on every target since the real-input FFT (issue #18): a change
/// of the imager's floating-point operations changes it, and must then change it on the
/// firmware alike (`firmware_image_crc_equals_the_host_qemu`) before this value is updated.
pub const REFERENCE_IMAGE_CRC: u32 = 0xdff2_a709;

/// Fills the reference shadowgram: counts (exact small integers in `f32`) and active pixels.
pub fn reference_shadowgram(counts: &mut [f32; DET_PIXELS], active: &mut [bool; DET_PIXELS]) {
    geometry::pixel_illumination(5.0, -3.0, counts);
    let mut x = 0x1234_5678u32;
    for (c, a) in counts.iter_mut().zip(active.iter_mut()) {
        x = xorshift32(x);
        // Source: 40 counts on a fully lit pixel (rounded down to an integer count); background
        // 13 ± 6 counts; one pixel in 32 dead.
        let source = libm::floorf(40.0 * *c);
        *c = source + 13.0 + (x % 13) as f32 - 6.0;
        *a = !(x >> 8).is_multiple_of(32);
    }
}

/// Images the reference shadowgram with `imager` (both background options) and returns the
/// CRC-32 of the results: per image, every sky pixel's signal and variance bits (row by row),
/// then the peak's SNR and sub-pixel position bits.
///
/// # Errors
/// An [`ImageError`] from the imager (none for the reference shadowgram).
pub fn reference_image_crc(
    imager: &mut Imager,
    counts: &mut [f32; DET_PIXELS],
    active: &mut [bool; DET_PIXELS],
) -> Result<u32, ImageError> {
    reference_shadowgram(counts, active);
    let mut digest = Crc32Digest::new();
    for background in [Background::None, Background::Quadratic] {
        let shadow = Shadowgram::poisson(counts, active);
        let sky = imager.image(&shadow, &ImageOptions { background })?;
        for t in 0..SKY_N {
            for u in 0..SKY_N {
                digest.update(&sky.signal(t, u).to_bits().to_le_bytes());
                digest.update(&sky.variance(t, u).to_bits().to_le_bytes());
            }
        }
        if let Some(p) = sky.find_peak(&PeakOptions::default()) {
            for v in [p.snr, p.sky_y, p.sky_z, p.counts] {
                digest.update(&v.to_bits().to_le_bytes());
            }
        }
    }
    Ok(digest.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::boxed::Box;

    /// The reference image on this host; the firmware must report the same CRC (the QEMU test
    /// compares the two). The peak is the source.
    #[test]
    fn reference_image_is_stable_and_finds_the_source() {
        let mut imager = Imager::boxed();
        let mut counts = Box::new([0f32; DET_PIXELS]);
        let mut active = Box::new([false; DET_PIXELS]);
        let a = reference_image_crc(&mut imager, &mut counts, &mut active).unwrap();
        let b = reference_image_crc(&mut imager, &mut counts, &mut active).unwrap();
        assert_eq!(a, b, "the same image twice");
        std::eprintln!("reference image CRC {a:08x}");
        assert_eq!(a, REFERENCE_IMAGE_CRC, "the reference images changed: {a:08x}");
        let shadow = Shadowgram::poisson(&counts, &active);
        let sky = imager.image(&shadow, &ImageOptions::default()).unwrap();
        let p = sky.find_peak(&PeakOptions::default()).unwrap();
        assert!((p.y_deg - 5.0).abs() < 0.3 && (p.z_deg + 3.0).abs() < 0.3, "{p:?}");
        assert!(active.iter().filter(|a| !**a).count() > 100);
    }
}
