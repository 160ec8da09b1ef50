//! `eic-bench spare --qemu`: the unit as firmware on an emulated Cortex-M4F, behind the
//! pseudo-terminals of QEMU's UARTs (docs/firmware.md).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use nix::sys::signal::{SigSet, Signal};
use serde_json::json;

use super::BadInput;
use crate::qemu::{QemuConfig, QemuUnit, build_firmware};

/// Arguments of `spare`.
#[derive(Debug, Args)]
pub struct SpareArgs {
    /// Run the firmware under QEMU (mps2-an386). The only spare available on this bench yet;
    /// required, so that a later real spare model is a different flag.
    #[arg(long)]
    pub qemu: bool,
    /// State directory (flash.bin: the board's flash-like memory with the banks, the boot
    /// selection and the tables), created if needed and kept across runs; a temporary
    /// directory, deleted at exit, when absent. A flash created now is provisioned from the
    /// factory: the firmware 1.0.0 in banks A and B, bank A selected, default tables active.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Start a created flash erased (no image: the loader finds nothing to boot and waits).
    #[arg(long)]
    pub blank: bool,
    /// Build the application as this software version (the image header carries it too).
    #[arg(long = "sw-version", value_name = "X.Y.Z", default_value = crate::qemu::FACTORY_VERSION)]
    pub sw_version: String,
    /// Also write the JSON line with the device paths to this file.
    #[arg(long)]
    pub print_paths: Option<PathBuf>,
}

/// Builds the firmware, starts QEMU, prints the device paths, waits for SIGINT/SIGTERM.
///
/// # Errors
/// No `--qemu` (exit 2), no emulator (names scripts/install-qemu.sh), build or start failures.
pub fn run(a: &SpareArgs) -> anyhow::Result<ExitCode> {
    if !a.qemu {
        anyhow::bail!(BadInput(
            "spare: give --qemu (the firmware under QEMU); a real spare model is reached by \
             its serial port, e.g. `eic-bench tc send /dev/ttyUSB0 ...`"
                .into()
        ));
    }
    let mut signals = SigSet::empty();
    signals.add(Signal::SIGINT);
    signals.add(Signal::SIGTERM);
    signals.thread_block().context("blocking SIGINT/SIGTERM")?;
    let temp;
    let state = match &a.state {
        Some(d) => d.clone(),
        None => {
            temp = tempfile::Builder::new().prefix("eic-spare-").tempdir()?;
            temp.path().to_path_buf()
        }
    };
    eprintln!("spare: building the firmware (cargo build --release in firmware/)");
    let fw = build_firmware(&a.sw_version)?;
    let unit = QemuUnit::start(&state, QemuConfig { firmware: Some(fw), blank: a.blank })?;
    let line = json!({
        "tctm": unit.paths().tctm,
        "stimulus": unit.paths().stimulus,
        "state": state,
        "created": unit.provisioned.is_some(),
        "provisioned": unit.provisioned.is_some(),
        "emulator": "qemu-system-arm mps2-an386",
        "pid": unit.pid(),
    })
    .to_string();
    println!("{line}");
    if let Some(p) = &a.print_paths {
        std::fs::write(p, format!("{line}\n")).with_context(|| format!("{}", p.display()))?;
    }
    eprintln!(
        "spare running under QEMU (pid {}): TC/TM on {}, stimulus on {}; flash in {}. Stop \
         with Ctrl-C.",
        unit.pid(),
        unit.paths().tctm.display(),
        unit.paths().stimulus.display(),
        state.join("flash.bin").display()
    );
    let sig = signals.wait().ok();
    unit.stop();
    eprintln!("spare stopped ({})", sig.map_or("stop", |s| s.as_str()));
    Ok(ExitCode::SUCCESS)
}
