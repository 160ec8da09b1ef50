//! The mps2-an386 board (Cortex-M4F) as the UGTS firmware sees it: memory map, CMSDK UARTs,
//! the flash-like storage area, the loader → application hand-off, on-board time.
//!
//! ```text
//! 0x0000_0000  32 KiB   loader ("boot EEPROM"): vector table + code, from QEMU -kernel
//! 0x0001_0000  256 KiB  application execution region: the loader copies the booted bank's
//!                       payload here (the image format: onboard::image)
//! 0x2000_0000  4 MiB-4K RAM of the loader (.bss, stack)
//! 0x203F_F000  4 KiB    hand-off (never zeroed by either binary): boot info, link hand-over,
//!                       time seed written by the host (QEMU -device loader)
//! 0x2100_0000  1 MiB    PSRAM: the flash-like storage (onboard::storage_mem layout); the whole
//!                       PSRAM is backed by a file on the host, so it survives resets and runs
//! 0x2110_0000  15 MiB   PSRAM: RAM of the application (.data, .bss with the Unit and its
//!                       2.7 MiB trigger, stack from the top: the Unit is built on the stack
//!                       before it moves into its static)
//! 0x4000_4000           UART0: TC/TM link      0x4000_5000  UART1: stimulus link
//! ```
//!
//! `unsafe` is confined to this crate's MMIO accessors, the two raw memory areas (storage,
//! hand-off) and the jump to a loaded binary, each with its `SAFETY` argument.
#![no_std]
#![deny(missing_docs)]

use core::sync::atomic::{AtomicU32, Ordering};

use onboard::handover::{HANDOVER_LEN, LinkHandover};
use onboard::storage::Bank;

/// Processor clock of the board (QEMU mps2 `sysclk`), Hz.
pub const SYSCLK_HZ: u32 = 25_000_000;
/// Base of the application execution region.
pub const APP_BASE: usize = 0x0001_0000;
/// Length of the application execution region (a bank's payload at most).
pub const APP_LEN: usize = 256 * 1024;
/// Base of the hand-off area.
pub const HANDOFF_BASE: usize = 0x203F_F000;
/// Base of the flash-like storage (PSRAM).
pub const STORAGE_BASE: usize = 0x2100_0000;
/// End of the PSRAM (exclusive): the application's initial stack pointer.
pub const PSRAM_END: usize = 0x2200_0000;
/// Length of the flash-like storage (the flight layout needs 809 622 octets).
pub const STORAGE_LEN: usize = 1024 * 1024;
/// Offset in the hand-off area of the boot information the loader writes.
pub const BOOT_INFO_OFFSET: usize = 0;
/// Offset in the hand-off area of the link hand-over.
pub const HANDOVER_OFFSET: usize = 64;
/// Offset in the hand-off area of the time seed: on-board time (CUC ticks, little-endian u64)
/// at power-on, then its complement; written by the host at QEMU start.
pub const TIME_SEED_OFFSET: usize = 0xF00;
/// Address of the time seed (what the host passes to `-device loader,addr=`).
pub const TIME_SEED_ADDR: usize = HANDOFF_BASE + TIME_SEED_OFFSET;
const HANDOFF_LEN: usize = 4096;
const _: () = assert!(HANDOVER_OFFSET + HANDOVER_LEN <= TIME_SEED_OFFSET);

/// A CMSDK APB UART (its register accessors also serve the CMSDK timer).
pub struct Uart {
    base: usize,
}

const DATA: usize = 0x0;
const STATE: usize = 0x4;
const CTRL: usize = 0x8;
const BAUDDIV: usize = 0x10;
const TX_FULL: u32 = 1;
const RX_FULL: u32 = 2;

impl Uart {
    /// UART0, the TC/TM link.
    pub const UART0: usize = 0x4000_4000;
    /// UART1, the stimulus link.
    pub const UART1: usize = 0x4000_5000;

    /// Enables the UART at `base` (one of [`Uart::UART0`], [`Uart::UART1`]): TX and RX on.
    pub fn new(base: usize) -> Uart {
        let uart = Uart { base };
        // 25 MHz / 217 ≈ 115 200 Bd (QEMU does not pace the line; it needs a divisor ≥ 16).
        uart.write_reg(BAUDDIV, 217);
        uart.write_reg(CTRL, 0b11);
        uart
    }

    fn read_reg(&self, offset: usize) -> u32 {
        let addr = (self.base + offset) as *const u32;
        // SAFETY: `base` is one of the two CMSDK UART blocks of the board (the constructor is
        // only given the constants above) and `offset` one of its 32-bit registers: an aligned
        // MMIO address that is always mapped; a volatile read has no other effect than the
        // device's own (reading DATA takes the received octet).
        unsafe { core::ptr::read_volatile(addr) }
    }

    fn write_reg(&self, offset: usize, value: u32) {
        let addr = (self.base + offset) as *mut u32;
        // SAFETY: as in `read_reg`: an aligned, always mapped register of the UART or timer block,
        // which no Rust object aliases.
        unsafe { core::ptr::write_volatile(addr, value) }
    }

    /// The received octet, if one is waiting.
    pub fn try_read(&self) -> Option<u8> {
        if self.read_reg(STATE) & RX_FULL != 0 { Some(self.read_reg(DATA) as u8) } else { None }
    }

    /// Sends `octet` unless the transmitter is busy; returns whether it was taken.
    pub fn try_write(&self, octet: u8) -> bool {
        if self.read_reg(STATE) & TX_FULL != 0 {
            return false;
        }
        self.write_reg(DATA, u32::from(octet));
        true
    }

    /// Whether the transmitter still holds an octet.
    pub fn tx_busy(&self) -> bool {
        self.read_reg(STATE) & TX_FULL != 0
    }
}

/// The flash-like storage area (PSRAM).
///
/// Call it once per binary: the slice is the only reference to that memory.
pub fn storage_area() -> &'static mut [u8] {
    static TAKEN: AtomicU32 = AtomicU32::new(0);
    if TAKEN.swap(1, Ordering::AcqRel) != 0 {
        // A second call would alias the first slice: stop here (a software error).
        loop {
            cortex_m::asm::wfi();
        }
    }
    // SAFETY: 0x2100_0000..+1 MiB is the start of the board's PSRAM, always mapped RAM that
    // neither linker script gives to any section (the application's RAM starts above it), so no other Rust object lives there; `TAKEN` makes
    // this the only reference for the life of the binary. Every bit pattern is a valid `u8`.
    unsafe { core::slice::from_raw_parts_mut(STORAGE_BASE as *mut u8, STORAGE_LEN) }
}

/// Start of the self-test's input area (`firmware/selftest`): the host writes the input blob
/// there with QEMU's `-device loader` before the start.
pub const SELFTEST_INPUT_BASE: usize = STORAGE_BASE;
/// Length of the self-test's input area: 6 MiB (the self-test's RAM starts above it).
pub const SELFTEST_INPUT_LEN: usize = 6 * 1024 * 1024;

/// The self-test's input area, read-only. Only for the self-test binary, which never calls
/// [`storage_area`] (the two overlap).
pub fn selftest_input() -> &'static [u8] {
    // SAFETY: 0x2100_0000..+6 MiB is PSRAM, always mapped RAM; the self-test's linker script
    // starts its RAM region above it, so no Rust object lives there, and the self-test never
    // takes the storage area, so nothing writes it while this shared slice lives. Every bit
    // pattern is a valid `u8`.
    unsafe { core::slice::from_raw_parts(SELFTEST_INPUT_BASE as *const u8, SELFTEST_INPUT_LEN) }
}

/// The hand-off area (see the module documentation). Call it once per binary.
pub fn handoff_area() -> &'static mut [u8; HANDOFF_LEN] {
    static TAKEN: AtomicU32 = AtomicU32::new(0);
    if TAKEN.swap(1, Ordering::AcqRel) != 0 {
        loop {
            cortex_m::asm::wfi();
        }
    }
    // SAFETY: the last 4 KiB of the SSRAM2/3 RAM, which both linker scripts leave out of their
    // RAM region (no section, no stack there); `TAKEN` makes this the only reference; every
    // bit pattern is a valid `u8` array; the address is aligned.
    unsafe { &mut *(HANDOFF_BASE as *mut [u8; HANDOFF_LEN]) }
}

/// What the loader booted, for the application (a fallback raises its event there).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootInfo {
    /// The bank the loader started.
    pub bank: Bank,
    /// Whether it was a fallback (the selected bank was refused).
    pub fallback: bool,
    /// Software version in the image header.
    pub sw_version: u32,
}

const BOOT_INFO_MAGIC: u32 = 0x424F_4F54; // "BOOT"

impl BootInfo {
    /// Writes it into the hand-off area.
    pub fn store(&self, area: &mut [u8; HANDOFF_LEN]) {
        let bank = match self.bank {
            Bank::A => 0,
            Bank::B => 1,
        };
        let [m0, m1, m2, m3] = BOOT_INFO_MAGIC.to_be_bytes();
        let [v0, v1, v2, v3] = self.sw_version.to_be_bytes();
        let body = [m0, m1, m2, m3, bank, u8::from(self.fallback), 0, 0, v0, v1, v2, v3];
        let [c0, c1, c2, c3] = tc_tm::crc::crc32(&body).to_be_bytes();
        let rec =
            [m0, m1, m2, m3, bank, u8::from(self.fallback), 0, 0, v0, v1, v2, v3, c0, c1, c2, c3];
        if let Some(dst) = area.get_mut(BOOT_INFO_OFFSET..BOOT_INFO_OFFSET + 16) {
            dst.copy_from_slice(&rec);
        }
    }

    /// Reads and clears it (`None` if the loader left none: started otherwise).
    pub fn take(area: &mut [u8; HANDOFF_LEN]) -> Option<BootInfo> {
        let rec = area.get_mut(BOOT_INFO_OFFSET..BOOT_INFO_OFFSET + 16)?;
        let (body, crc) = rec.split_at(12);
        let ok = tc_tm::crc::crc32(body).to_be_bytes() == crc
            && body.get(..4) == Some(&BOOT_INFO_MAGIC.to_be_bytes()[..]);
        let info = BootInfo {
            bank: if body.get(4) == Some(&1) { Bank::B } else { Bank::A },
            fallback: body.get(5) == Some(&1),
            sw_version: u32::from_be_bytes(body.get(8..12)?.try_into().ok()?),
        };
        rec.fill(0);
        ok.then_some(info)
    }
}

/// Stores the link hand-over before a restart through the loader.
pub fn store_handover(area: &mut [u8; HANDOFF_LEN], handover: &LinkHandover) {
    if let Some(dst) = area.get_mut(HANDOVER_OFFSET..HANDOVER_OFFSET + HANDOVER_LEN) {
        dst.copy_from_slice(&handover.encode());
    }
}

/// Takes the link hand-over a previous binary left (and clears it), if any.
pub fn take_handover(area: &mut [u8; HANDOFF_LEN]) -> Option<LinkHandover> {
    let raw = area.get_mut(HANDOVER_OFFSET..HANDOVER_OFFSET + HANDOVER_LEN)?;
    let h = LinkHandover::decode(raw);
    raw.fill(0);
    h
}

/// The time seed the host wrote at QEMU start (CUC ticks), if valid.
pub fn time_seed(area: &[u8; HANDOFF_LEN]) -> Option<u64> {
    let raw = area.get(TIME_SEED_OFFSET..TIME_SEED_OFFSET + 16)?;
    let t = u64::from_le_bytes(raw.get(..8)?.try_into().ok()?);
    let check = u64::from_le_bytes(raw.get(8..)?.try_into().ok()?);
    (t != 0 && check == !t).then_some(t)
}

/// CMSDK APB timer 0: a 32-bit down-counter at the processor clock.
const TIMER0: usize = 0x4000_0000;
const TIMER_CTRL: usize = 0x0;
const TIMER_VALUE: usize = 0x4;
const TIMER_RELOAD: usize = 0x8;

/// On-board time: a base (CUC ticks) plus the time counted by the board's timer 0 since this
/// binary started it, read from the counter itself (so time stays right however late the
/// emulator delivers interrupts) and widened to 64 bits. The 32-bit counter wraps every
/// 171 s at 25 MHz: call [`Clock::now`] or [`Clock::millis`] more often than that (the main
/// loop does, thousands of times a second).
pub struct Clock {
    base: u64,
    last: u32,
    cycles: u64,
}

impl Clock {
    /// Starts timer 0 free-running and a clock reading `base` ticks now.
    pub fn start(base: u64) -> Clock {
        let timer = Uart { base: TIMER0 };
        timer.write_reg(TIMER_CTRL, 0);
        timer.write_reg(TIMER_RELOAD, u32::MAX);
        timer.write_reg(TIMER_VALUE, u32::MAX);
        timer.write_reg(TIMER_CTRL, 1);
        Clock { base, last: u32::MAX, cycles: 0 }
    }

    fn update(&mut self) -> u64 {
        let value = Uart { base: TIMER0 }.read_reg(TIMER_VALUE);
        // A down-counter reloading at u32::MAX: the elapsed count is the wrapping difference.
        self.cycles += u64::from(self.last.wrapping_sub(value));
        self.last = value;
        self.cycles
    }

    /// On-board time now, CUC ticks (2^-16 s).
    pub fn now(&mut self) -> u64 {
        let cycles = self.update();
        self.base.saturating_add(((u128::from(cycles) << 16) / u128::from(SYSCLK_HZ)) as u64)
    }

    /// Timer cycles (25 MHz) since [`Clock::start`].
    pub fn cycles(&mut self) -> u64 {
        self.update()
    }

    /// Milliseconds since [`Clock::start`].
    pub fn millis(&mut self) -> u64 {
        self.update() / u64::from(SYSCLK_HZ / 1000)
    }
}

/// Starts a binary loaded at `base` (its vector table): SysTick stopped, VTOR, main stack
/// pointer, reset vector.
///
/// # Safety
/// `base` must hold a complete, checked vector table and program, which then owns the machine.
pub unsafe fn jump(base: usize) -> ! {
    // SAFETY: the caller guarantees the vector table. SysTick is stopped so that no exception
    // of the old binary fires under the new vector table before the new binary sets it up;
    // VTOR is relocated to the table its exceptions need; `bootload` loads its stack pointer
    // and reset vector from a non-null, aligned address.
    unsafe {
        (*cortex_m::peripheral::SYST::PTR).csr.write(0);
        (*cortex_m::peripheral::SCB::PTR).vtor.write(base as u32);
        cortex_m::asm::bootload(base as *const u32)
    }
}

/// Restarts through the loader: a system reset request (SYSRESETREQ). The board resets its
/// processor and peripherals; RAM, the hand-off area and the storage keep their content.
pub fn restart() -> ! {
    cortex_m::peripheral::SCB::sys_reset()
}
