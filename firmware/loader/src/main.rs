//! The boot loader of the UGTS firmware (docs/firmware.md).
//!
//! At every reset: opens the flash-like storage (`onboard::storage_mem`), runs the unit's own
//! boot logic on it (`onboard::boot::boot`: selected bank, image header and CRC, fallback to
//! the other bank), copies the booted bank's payload to the execution region, checks the copy
//! against the image CRC and its vector table, records what it booted in the hand-off area and
//! jumps. The application's unit runs the same boot logic on the same storage at power-on, so
//! it raises the `boot` event, and `fallback-boot` when the loader fell back.
//!
//! With no bootable bank the loader stops (waits for interrupt): the boot software of the real
//! unit, which answers ST\[06\] in mode `boot`, is modelled by the twin only.
#![no_std]
#![no_main]

use board::{APP_BASE, APP_LEN, BootInfo};
use cortex_m_rt::entry;
use onboard::boot;
use onboard::image::HEADER_LEN;
use onboard::storage::{Geometry, Region, Storage};
use onboard::storage_mem::MemStorage;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    halt()
}

fn halt() -> ! {
    loop {
        cortex_m::asm::wfi();
    }
}

/// The execution region as a slice.
fn exec_region() -> &'static mut [u8] {
    // SAFETY: 0x0001_0000..+256 KiB is the board's SSRAM1 above the loader's own 32 KiB; the
    // loader's linker script gives it to no section, and this is the only reference taken.
    unsafe { core::slice::from_raw_parts_mut(APP_BASE as *mut u8, APP_LEN) }
}

#[entry]
fn main() -> ! {
    let handoff = board::handoff_area();
    let Ok((mut storage, _)) = MemStorage::open(board::storage_area(), Geometry::FLIGHT) else {
        halt()
    };
    let Ok(report) = boot::boot(&mut storage) else { halt() };
    let (Some(bank), Some(image)) = (report.running_bank(), report.running_image()) else { halt() };
    let Some(payload) =
        storage.region(Region::Bank(bank)).ok().and_then(|b| b.get(HEADER_LEN..image.image_len()))
    else {
        halt()
    };
    let exec = exec_region();
    let Some(dst) = exec.get_mut(..payload.len()) else { halt() };
    dst.copy_from_slice(payload);
    // The copy is what runs: check it again, and that it starts with a vector table of this
    // board (stack in RAM outside the storage, reset vector a Thumb address inside the copy).
    let copy = exec.get(..payload.len()).unwrap_or_default();
    let word = |i: usize| {
        copy.get(4 * i..4 * i + 4).and_then(|w| w.try_into().ok()).map_or(0, u32::from_le_bytes)
            as usize
    };
    let (sp, reset) = (word(0), word(1));
    let sane = tc_tm::crc::crc32(copy) == image.payload_crc
        && ((0x2000_0000..=board::HANDOFF_BASE).contains(&sp)
            || (board::STORAGE_BASE + board::STORAGE_LEN..=board::PSRAM_END).contains(&sp))
        && reset & 1 == 1
        && (APP_BASE..APP_BASE + copy.len()).contains(&(reset & !1));
    if !sane {
        halt()
    }
    BootInfo {
        bank,
        fallback: matches!(report.outcome, boot::BootOutcome::Fallback { .. }),
        sw_version: image.sw_version.0,
    }
    .store(handoff);
    // SAFETY: the execution region now holds the checked image: its CRC matches the header
    // the boot logic verified, and its vector table points into RAM and into the copy.
    unsafe { board::jump(APP_BASE) }
}
