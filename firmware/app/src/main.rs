//! The UGTS application firmware (docs/firmware.md): the on-board unit
//! (`onboard::unit::Unit`) on the board's UARTs.
//!
//! - UART0 octets → [`Unit::receive_uplink`]; [`Unit::next_cadu`] → UART0, without ever
//!   blocking on a busy transmitter (a bench that does not read only delays TM, which the
//!   unit's queues count as lost when they overflow);
//! - UART1 octets → [`Unit::receive_stimulus`], [`Unit::stimulus_output`] → UART1 (the
//!   trigger's acknowledgements);
//! - on-board time from the board's timer 0 counter, started from the link hand-over after a restart, else
//!   from the time seed the host wrote, else from the CUC epoch;
//! - the storage is the flash-like PSRAM area (`onboard::storage_mem`);
//! - 1 ms of silence after uplink octets calls [`Unit::line_idle`], as the twin does;
//! - an ST\[08\] `reset` is carried out for real: queued TM is sent, the link state is left in
//!   the hand-off area (`onboard::handover`) and the board resets into the loader, which boots
//!   the selected bank (a new binary after a software update).
#![no_std]
#![no_main]

use board::{BootInfo, Clock, Uart};
use cortex_m_rt::entry;
use onboard::Unit;
use onboard::storage::Geometry;
use onboard::storage_mem::MemStorage;
use tc_tm::mission::CADU_LEN;
use tc_tm::pus::Cuc;

/// The version this binary was built as (`EIC_FW_VERSION`, default 1.0.0), kept in the binary
/// so that two versions are two different binaries; the image header carries the same value.
#[used]
#[unsafe(no_mangle)]
static FIRMWARE_VERSION: [u8; 16] = version_field();

// `i` stays below both lengths; in a constant an out-of-range index is a build error.
#[allow(clippy::indexing_slicing)]
const fn version_field() -> [u8; 16] {
    let v = match option_env!("EIC_FW_VERSION") {
        Some(v) => v.as_bytes(),
        None => b"1.0.0",
    };
    let mut out = [0u8; 16];
    let mut i = 0;
    while i < v.len() && i < 16 {
        out[i] = v[i];
        i += 1;
    }
    out
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // Nothing panics by construction (onboard denies it); should it happen, restart through
    // the loader rather than hang: the unit comes back with its boot event.
    board::restart()
}

/// Uplink octets read before they are handed to the unit in one call.
const RX_BATCH: usize = 256;
/// Polls without a new octet before a batch is handed over.
const RX_SPIN: u32 = 64;

#[entry]
fn main() -> ! {
    let handoff = board::handoff_area();
    let _booted: Option<BootInfo> = BootInfo::take(handoff);
    let handover = board::take_handover(handoff);
    let base = handover.as_ref().map(|h| h.now_ticks).or_else(|| board::time_seed(handoff));
    let mut clock = Clock::start(base.unwrap_or(0));
    let Ok((storage, _)) = MemStorage::open(board::storage_area(), Geometry::FLIGHT) else {
        board::restart()
    };
    let now = |clock: &mut Clock| Cuc::from_ticks(clock.now()).unwrap_or(Cuc::EPOCH);
    let t0 = now(&mut clock);
    let unit = match &handover {
        Some(h) => Unit::resume(storage, t0, h),
        None => Unit::power_on(storage, t0),
    };
    // The unit lives in a static (.bss), so that the linker's figures show its RAM.
    let Some(unit) = cortex_m::singleton!(: Unit<MemStorage<'static>> = unit) else {
        board::restart()
    };
    unit.set_external_restart(true);

    let tctm = Uart::new(Uart::UART0);
    let stim = Uart::new(Uart::UART1);
    let mut cadu = [0u8; CADU_LEN];
    let mut sent = CADU_LEN;
    let mut rx = [0u8; RX_BATCH];
    let mut stim_out = [0u8; tc_tm::stimulus::MAX_FRAME_LEN];
    let (mut stim_len, mut stim_sent) = (0usize, 0usize);
    let mut last_rx: Option<u64> = None;
    loop {
        // Uplink: gather what arrives back to back, then hand it over.
        let mut n = 0;
        let mut spin = 0;
        while n < RX_BATCH && spin < RX_SPIN && !unit.restart_requested() {
            match tctm.try_read() {
                Some(b) => {
                    if let Some(slot) = rx.get_mut(n) {
                        *slot = b;
                    }
                    n += 1;
                    spin = 0;
                }
                None if n == 0 => break,
                None => spin += 1,
            }
        }
        if n > 0 {
            unit.receive_uplink(rx.get(..n).unwrap_or_default());
            last_rx = Some(clock.millis());
        }
        // Stimulus link.
        let mut stim_buf = [0u8; 64];
        let mut m = 0;
        while let Some(slot) = stim_buf.get_mut(m) {
            let Some(b) = stim.try_read() else { break };
            *slot = b;
            m += 1;
        }
        if m > 0 {
            unit.receive_stimulus(stim_buf.get(..m).unwrap_or_default());
        }
        // The trigger's acknowledgements go back on the stimulus link, never blocking.
        if stim_sent == stim_len {
            stim_len = unit.stimulus_output(&mut stim_out);
            stim_sent = 0;
        }
        while let Some(&b) = stim_out.get(stim_sent).filter(|_| stim_sent < stim_len) {
            if !stim.try_write(b) {
                break;
            }
            stim_sent += 1;
        }
        // 1 ms of uplink silence: partial TM frames may leave at once.
        let ms = clock.millis();
        if last_rx.is_some_and(|t| ms.saturating_sub(t) >= 1) || unit.restart_requested() {
            unit.line_idle();
            last_rx = None;
        }
        // Downlink: one CADU at a time, as fast as the transmitter takes it.
        if sent == CADU_LEN && unit.next_cadu(now(&mut clock), &mut cadu) {
            sent = 0;
        }
        while let Some(&b) = cadu.get(sent) {
            if !tctm.try_write(b) {
                break;
            }
            sent += 1;
        }
        // A reset TC: once its reports are out, restart through the loader.
        if unit.restart_requested() && !unit.tm_pending() && sent == CADU_LEN && !tctm.tx_busy() {
            let mut h = unit.link_handover();
            h.now_ticks = clock.now();
            board::store_handover(handoff, &h);
            board::restart();
        }
    }
}
