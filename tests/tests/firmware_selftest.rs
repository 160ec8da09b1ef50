//! The trigger on the Cortex-M4F build against the host (docs/firmware.md, "Trigger
//! self-test"; docs/trigger.md, "Speed"): `firmware/selftest` runs the same
//! `onboard::trigger::selfcheck` code under QEMU and prints its results on UART0.
//!
//! - `firmware_image_crc_equals_the_host_qemu` (CI, `scripts/test`: `-- --ignored qemu`): the
//!   reference images' CRC-32 from the firmware equals the host's — the FFT imager computes the
//!   same bits on both targets.
//! - `firmware_trigger_cost_per_second_of_data` (not in CI: minutes of emulation): the
//!   trigger fed `EIC_SELFTEST_SECONDS` (default 120) of background at 5 000 counts/s with the
//!   Crab in the field (the `trigger_bench` stimulus), with `-icount shift=0` so that the
//!   firmware's timer counts instructions; alerts and counters must digest to the host's, and
//!   the instructions per second of data are printed beside the flight budget (5 000 counts/s
//!   in real time on a 100 MHz core).
//!
//! ```sh
//! cargo test -p eic-tests --test e2e -- --ignored qemu
//! cargo test --release -p eic-tests --test e2e -- --ignored --nocapture firmware_trigger_cost
//! ```

#[path = "../../onboard/tests/trigger_sim/mod.rs"]
mod trigger_sim;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use onboard::trigger::geometry::{self, Attitude, DET_PIXELS};
use onboard::trigger::imaging::Imager;
use onboard::trigger::{Trigger, selfcheck};
use trigger_sim::{Framer, Sim, Source, TPS};

/// The self-test binary, built with the rest of the firmware.
fn selftest_elf() -> PathBuf {
    let _ = eic_tests::firmware();
    eic_bench::qemu::firmware_dir().join("target/thumbv7em-none-eabihf/release/selftest")
}

/// Runs the self-test under QEMU (instruction counting on), with `blob` loaded at the input
/// area if given; returns UART0's lines up to `selftest done`.
fn run_selftest(blob: Option<&Path>, timeout: Duration) -> Vec<String> {
    let qemu = eic_bench::qemu::find_qemu().expect("qemu-system-arm");
    let mut cmd = Command::new(qemu);
    cmd.args(["-machine", "mps2-an386", "-cpu", "cortex-m4", "-nographic", "-monitor", "none"])
        .args(["-serial", "stdio", "-icount", "shift=0,align=off,sleep=off", "-kernel"])
        .arg(selftest_elf());
    if let Some(b) = blob {
        cmd.arg("-device").arg(format!("loader,file={},addr=0x21000000,force-raw=on", b.display()));
    }
    let mut child =
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let start = Instant::now();
    let mut lines = Vec::new();
    while let Some(left) = timeout.checked_sub(start.elapsed()) {
        match rx.recv_timeout(left) {
            Ok(l) => {
                let done = l.trim() == "selftest done";
                lines.push(l.trim().to_string());
                if done {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        lines.iter().any(|l| l == "selftest done"),
        "the self-test did not finish within {timeout:?}: {lines:?}"
    );
    lines
}

/// The value after `key` in the line starting with `prefix`.
fn field<'a>(lines: &'a [String], prefix: &str, key: &str) -> &'a str {
    let line = lines.iter().find(|l| l.starts_with(prefix)).unwrap_or_else(|| {
        panic!("no `{prefix}` line in {lines:?}");
    });
    let mut words = line.split_whitespace();
    while let Some(w) = words.next() {
        if w == key {
            return words.next().unwrap();
        }
    }
    panic!("no `{key}` in `{line}`");
}

#[test]
#[ignore = "builds the firmware and needs QEMU: cargo test -p eic-tests --test e2e -- --ignored qemu (scripts/test)"]
fn firmware_image_crc_equals_the_host_qemu() {
    let mut imager = Imager::boxed();
    let mut counts = Box::new([0f32; DET_PIXELS]);
    let mut active = Box::new([false; DET_PIXELS]);
    let host = selfcheck::reference_image_crc(&mut imager, &mut counts, &mut active).unwrap();
    let lines = run_selftest(None, Duration::from_secs(300));
    let fw = field(&lines, "image-crc", "image-crc");
    assert_eq!(fw, format!("{host:08x}"), "firmware vs host image CRC: {lines:?}");
    let cycles: u64 = field(&lines, "image-crc", "cycles").parse().unwrap();
    println!("reference images (2) on the firmware: {} M instructions", cycles * 40 / 1_000_000);
}

/// The `trigger_bench` stimulus: `seconds` of background at 5 000 counts/s, the Crab in the
/// field, attitude and orbit samples; returns the blob and the event count.
fn bench_blob(seconds: f64) -> (Vec<u8>, usize) {
    let set = tables::defaults::default_set();
    let att = Attitude::from_pointing(77.0, 26.0, 0.0);
    let (y, z) = geometry::from_radec(&att, 83.6331, 22.0145).expect("Crab in front");
    let mut sim = Sim::new(7, set.pixels.clone(), 5000.0);
    sim.add_source(Source {
        y_deg: y as f32,
        z_deg: z as f32,
        flux: 1.0,
        start_s: 0.0,
        end_s: seconds,
        index: 2.1,
    });
    let mut framer = Framer::new();
    framer.attitude(0, att.quaternion());
    let (mut t, mut events) = (0.0, 0);
    while t < seconds {
        let evs = sim.events(t, t + 1.0);
        events += evs.len();
        framer.orbit((t * TPS as f64) as u64, 100.0, 10.0);
        framer.events(&evs);
        t += 1.0;
        framer.tick((t * TPS as f64) as u64);
    }
    let stimulus = framer.take();
    let mut blob = selfcheck::BLOB_MAGIC.to_vec();
    for id in selfcheck::BLOB_TABLES {
        let image = set.image(id).unwrap();
        blob.extend_from_slice(&(image.len() as u32).to_le_bytes());
        blob.extend_from_slice(&image);
    }
    blob.extend_from_slice(&(stimulus.len() as u32).to_le_bytes());
    blob.extend_from_slice(&stimulus);
    (blob, events)
}

#[test]
#[ignore = "minutes of emulation: cargo test --release -p eic-tests --test e2e -- --ignored --nocapture firmware_trigger_cost"]
fn firmware_trigger_cost_per_second_of_data() {
    let seconds: f64 =
        std::env::var("EIC_SELFTEST_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(120.0);
    let (blob, events) = bench_blob(seconds);
    assert!(blob.len() <= 6 << 20, "the input area holds 6 MiB: {} octets", blob.len());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("blob.bin");
    std::fs::write(&path, &blob).unwrap();
    let mut trigger = Trigger::boxed();
    let host = selfcheck::replay_blob(&mut trigger, &blob, 4096, &mut |_| {}).unwrap();
    let lines = run_selftest(Some(&path), Duration::from_secs(1800));
    let fw_digest = field(&lines, "trigger", "digest");
    let fw_alerts: u32 = field(&lines, "trigger", "alerts").parse().unwrap();
    let fw_events: u64 = field(&lines, "trigger", "events").parse().unwrap();
    assert_eq!(fw_events, events as u64);
    assert_eq!(
        (fw_alerts, fw_digest),
        (host.alerts, format!("{:08x}", host.digest).as_str()),
        "alerts and counters, firmware vs host: {lines:?}"
    );
    let cycles: u64 = field(&lines, "trigger", "cycles").parse().unwrap();
    let instructions = cycles * 40;
    let per_s = instructions as f64 / seconds;
    println!(
        "firmware trigger: {seconds} s of data, {events} events ({:.0}/s), {} alerts; {:.1} M \
         instructions per second of data, {:.0} per event; budget 100 M cycles/s (100 MHz): \
         {:.1} % at one cycle per instruction",
        events as f64 / seconds,
        host.alerts,
        per_s / 1e6,
        instructions as f64 / events as f64,
        per_s / 1e6
    );
    assert!(per_s < 100e6, "the trigger needs {per_s:.3e} instructions per second of data");
}
