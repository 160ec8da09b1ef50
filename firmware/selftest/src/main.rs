//! The trigger's self-test on the Cortex-M4F (docs/firmware.md, "Trigger self-test"): the same
//! `onboard::trigger::selfcheck` code the host tests run, its results printed on UART0.
//!
//! 1. `image-crc`: the CRC-32 of the reference images (`selfcheck::reference_image_crc`) — the
//!    host computes the same function and compares (test `firmware_image_crc_equals_the_host_qemu`
//!    in `eic-tests`);
//! 2. `trigger`: the trigger configured from the tables and fed the stimulus of the input blob
//!    the host loaded at `board::SELFTEST_INPUT_BASE` (`selfcheck::replay_blob`): alerts,
//!    digest, events, and the timer cycles spent inside `receive_stimulus` only. Under QEMU
//!    with `-icount shift=0` one instruction advances virtual time by 1 ns, so instructions =
//!    cycles of the 25 MHz timer × 40.
//!
//! The last line is `selftest done`; the binary then waits for interrupts.
#![no_std]
#![no_main]

use core::cell::RefCell;
use core::fmt::Write;

use board::{Clock, Uart};
use cortex_m::interrupt::Mutex;
use cortex_m_rt::entry;
use onboard::trigger::geometry::DET_PIXELS;
use onboard::trigger::imaging::Imager;
use onboard::trigger::{Trigger, selfcheck};

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // Nothing panics by construction (onboard denies it); the host's timeout reports a hang.
    loop {
        cortex_m::asm::wfi();
    }
}

/// UART0 as a text sink (waits for the transmitter).
struct Out(Uart);

impl Write for Out {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for b in s.bytes() {
            while !self.0.try_write(b) {}
        }
        Ok(())
    }
}

/// The imager, the trigger and the image buffers, in `.bss` from their `const` initialisers:
/// never built on the stack (`cortex_m::singleton!` builds its value on the stack first, and the
/// stack left beside 6 MiB of statics in the 10 MiB of RAM cannot hold the 3.7 MiB trigger
/// twice). Borrowed once, inside the one critical section the self-test runs in (it uses no
/// interrupt).
static IMAGER: Mutex<RefCell<Imager>> = Mutex::new(RefCell::new(Imager::new()));
static TRIGGER: Mutex<RefCell<Trigger>> = Mutex::new(RefCell::new(Trigger::new()));
static BUFFERS: Mutex<RefCell<([f32; DET_PIXELS], [bool; DET_PIXELS])>> =
    Mutex::new(RefCell::new(([0.0; DET_PIXELS], [false; DET_PIXELS])));

fn halt() -> ! {
    loop {
        cortex_m::asm::wfi();
    }
}

#[entry]
fn main() -> ! {
    cortex_m::interrupt::free(|cs| {
        let (Ok(mut imager), Ok(mut trigger), Ok(mut buffers)) = (
            IMAGER.borrow(cs).try_borrow_mut(),
            TRIGGER.borrow(cs).try_borrow_mut(),
            BUFFERS.borrow(cs).try_borrow_mut(),
        ) else {
            halt()
        };
        run(&mut imager, &mut trigger, &mut buffers);
    });
    halt()
}

/// The self-test's two steps, their results on UART0.
fn run(
    imager: &mut Imager,
    trigger: &mut Trigger,
    buffers: &mut ([f32; DET_PIXELS], [bool; DET_PIXELS]),
) {
    let mut out = Out(Uart::new(Uart::UART0));
    let mut clock = Clock::start(0);
    let _ = writeln!(out, "selftest start");

    let c0 = clock.cycles();
    match selfcheck::reference_image_crc(imager, &mut buffers.0, &mut buffers.1) {
        Ok(crc) => {
            let _ = writeln!(out, "image-crc {crc:08x} cycles {}", clock.cycles() - c0);
        }
        Err(e) => {
            let _ = writeln!(out, "image-error {e}");
        }
    }

    let blob = board::selftest_input();
    let (mut spent, mut t0) = (0u64, 0u64);
    let r = selfcheck::replay_blob(trigger, blob, 4096, &mut |start| {
        let c = clock.cycles();
        if start {
            t0 = c;
        } else {
            spent += c - t0;
        }
    });
    match r {
        Ok(d) => {
            let _ = writeln!(
                out,
                "trigger alerts {} digest {:08x} events {} end_tick {} cycles {}",
                d.alerts, d.digest, d.events, d.end_tick, spent
            );
        }
        Err(e) => {
            let _ = writeln!(out, "trigger-error {e:?}");
        }
    }
    let _ = writeln!(out, "selftest done");
}
