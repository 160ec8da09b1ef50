//! The unit as firmware under QEMU: build it, make its flash, start the emulator.
//!
//! The firmware (`firmware/`, its own workspace, `docs/firmware.md`) is a boot loader and an
//! application for the Cortex-M4F board `mps2-an386`. This module does the host side:
//!
//! - [`build_firmware`]: `cargo build --release` in `firmware/` (the application built as a
//!   given software version, `EIC_FW_VERSION`);
//! - [`app_image`]: the application ELF's loadable octets from its execution address, wrapped
//!   in the `onboard::image` header (version, CRCs): what a bank holds and ST\[06\] uploads;
//! - [`provision_flash`]: the flash-like storage file (`flash.bin`, the board's 16 MiB PSRAM,
//!   `onboard::storage_mem` layout) of a unit from the factory: the image in banks A and B,
//!   bank A selected, the default tables active ([`crate::provision`], the twin's code);
//! - [`QemuUnit::start`]: QEMU with the loader as its kernel, the PSRAM backed by the state
//!   file (so banks, boot selection and tables persist across resets and runs), the time seed,
//!   and both UARTs on pseudo-terminals, parsed from QEMU's `char device redirected to
//!   /dev/pts/N (label serialK)` lines.
//!
//! QEMU is found through `EIC_QEMU`, then `qemu-system-arm` on `PATH`, then the project-local
//! install of `scripts/install-qemu.sh` (`.tools/qemu/bin`).

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use onboard::image::{self, SwVersion};
use onboard::storage::Geometry;
use onboard::storage_mem::{MemStorage, Opened, required_len};

use crate::provision::{Provisioned, provision_with_image};
use crate::twin::{TwinPaths, cuc_now};

/// The DEVICE word that starts the firmware under QEMU for the duration of a command.
pub const QEMU_DEVICE: &str = "qemu";
/// Execution address of the application (`firmware/board`: `APP_BASE`).
pub const APP_BASE: u32 = 0x0001_0000;
/// Size of the board's PSRAM, the flash-like storage (`firmware/board`: `STORAGE_LEN`).
pub const FLASH_LEN: u64 = 16 * 1024 * 1024;
/// Where the firmware reads the time seed (`firmware/board`: `TIME_SEED_ADDR`).
pub const TIME_SEED_ADDR: u32 = 0x203F_FF00;
/// The factory software version of the firmware.
pub const FACTORY_VERSION: &str = "1.0.0";

/// The line rate that paces a session with the firmware under QEMU: the emulated UART takes the
/// uplink one octet per emulator I/O round, about 7–10 kB/s on the shared bench host and less
/// under load, so the session is set up as for a 57 600 Bd line (FOP-1's T1 covers a window of
/// CLTUs at that rate, 3.6 s) rather than for the twin's full speed. With the twin's T1 of
/// 300 ms, FOP-1 retransmitted whole windows faster than the unit could take them.
pub const SESSION_BAUD: u32 = 57_600;

/// Session settings for the firmware under QEMU (see [`SESSION_BAUD`]); acceptance may also
/// wait behind a window of queued CLTUs, hence 15 s instead of 5 s.
pub fn session_config(device: impl Into<PathBuf>) -> crate::session::SessionConfig {
    let mut cfg = crate::session::SessionConfig::new(device, SESSION_BAUD);
    cfg.stage_timeouts.acceptance = Duration::from_secs(15);
    // The emulated UART's rate varies with the host's load: keep the fixed T1 of a whole
    // window at the paced rate rather than the adaptive one a real line allows.
    cfg.t1_adaptive = false;
    cfg.transmission_limit = 20;
    // The session connects while the emulated unit boots (boot loader, image check, tables)
    // at whatever pace the host's load leaves QEMU: on a loaded 2-core host the first frame
    // came after more than the 3 s a real unit's silence allows (CI failed on it). A QEMU
    // that exits closes its pseudo-terminal, which the link reports at once.
    cfg.silence_timeout = cfg.silence_timeout.max(Duration::from_secs(30));
    cfg
}

/// The firmware's source directory: `EIC_FIRMWARE_DIR`, else `firmware/` of this checkout.
pub fn firmware_dir() -> PathBuf {
    std::env::var_os("EIC_FIRMWARE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("firmware"))
}

/// The project-local QEMU folder of `scripts/install-qemu.sh`.
pub fn local_qemu() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/qemu/bin/qemu-system-arm")
}

/// Finds `qemu-system-arm` (see the module documentation).
///
/// # Errors
/// None found: the message names the install script.
pub fn find_qemu() -> anyhow::Result<PathBuf> {
    find_qemu_in(std::env::var_os("EIC_QEMU"), std::env::var_os("PATH"), &local_qemu())
}

fn find_qemu_in(
    env: Option<std::ffi::OsString>,
    path: Option<std::ffi::OsString>,
    local: &Path,
) -> anyhow::Result<PathBuf> {
    if let Some(p) = env.filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    if let Some(path) = path {
        for dir in std::env::split_paths(&path) {
            let p = dir.join("qemu-system-arm");
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    if local.is_file() {
        return Ok(local.to_path_buf());
    }
    bail!(
        "qemu-system-arm not found (EIC_QEMU, PATH, {}): run scripts/install-qemu.sh to install \
         it into the project (.tools/qemu, nothing system-wide), or set EIC_QEMU",
        local.display()
    )
}

/// The two ELF files of a firmware build.
#[derive(Debug, Clone)]
pub struct FirmwareBuild {
    /// The boot loader (QEMU's kernel, linked at 0x0).
    pub loader: PathBuf,
    /// The application (linked at [`APP_BASE`]; a bank holds it as an image).
    pub app: PathBuf,
}

/// Parses `X.Y.Z` or `X.Y.Z+B` into a software version.
///
/// # Errors
/// Anything else, said plainly.
pub fn parse_version(text: &str) -> anyhow::Result<SwVersion> {
    let (main, build) = text.split_once('+').unwrap_or((text, "0"));
    let parts: Vec<&str> = main.split('.').collect();
    let octet = |s: &str| {
        s.parse::<u8>().map_err(|_| anyhow!("version {text:?}: {s:?} is not a number 0..=255"))
    };
    match parts.as_slice() {
        [a, b, c] => Ok(SwVersion::new(octet(a)?, octet(b)?, octet(c)?, octet(build)?)),
        _ => bail!("version {text:?}: expected MAJOR.MINOR.PATCH[+BUILD], e.g. 1.1.0"),
    }
}

/// Builds the firmware (`cargo build --release` in [`firmware_dir`]) with the application as
/// `version`, and copies both ELF files to `target/eic-fw/v<version>/` there, so that builds
/// of several versions stay side by side (only the application is rebuilt between them).
///
/// # Errors
/// Cargo missing or the build failing (its output is shown).
pub fn build_firmware(version: &str) -> anyhow::Result<FirmwareBuild> {
    parse_version(version)?;
    let dir = firmware_dir();
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(&dir).args(["build", "--release", "--quiet"]).env("EIC_FW_VERSION", version);
    // The host build's own settings must not leak into the cross build.
    for var in ["CARGO_TARGET_DIR", "RUSTFLAGS", "CARGO_BUILD_TARGET", "CARGO_ENCODED_RUSTFLAGS"] {
        cmd.env_remove(var);
    }
    let status =
        cmd.status().with_context(|| format!("running cargo build in {}", dir.display()))?;
    if !status.success() {
        bail!("building the firmware in {} failed ({status})", dir.display());
    }
    let built = dir.join("target").join("thumbv7em-none-eabihf").join("release");
    let out = dir.join("target").join("eic-fw").join(format!("v{version}"));
    std::fs::create_dir_all(&out).with_context(|| format!("{}", out.display()))?;
    for name in ["loader", "app"] {
        std::fs::copy(built.join(name), out.join(name)).with_context(|| {
            format!("copying {} to {}", built.join(name).display(), out.display())
        })?;
    }
    Ok(FirmwareBuild { loader: out.join("loader"), app: out.join("app") })
}

/// The loadable octets of a 32-bit little-endian ELF from `base` on: every `PT_LOAD` segment's
/// file content at its physical (load) address, gaps zero-filled.
///
/// # Errors
/// Not an ELF32 ARM file, or a segment below `base` or beyond `max_len`.
pub fn elf_payload(elf: &[u8], base: u32, max_len: usize) -> anyhow::Result<Vec<u8>> {
    let u16_at = |o: usize| elf.get(o..o + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |o: usize| elf.get(o..o + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    if elf.get(..6) != Some(&[0x7F, b'E', b'L', b'F', 1, 1][..]) || u16_at(18) != Some(40) {
        bail!("not a 32-bit little-endian ARM ELF file");
    }
    let phoff = u32_at(28).ok_or_else(|| anyhow!("ELF header truncated"))? as usize;
    let phentsize = u16_at(42).ok_or_else(|| anyhow!("ELF header truncated"))? as usize;
    let phnum = u16_at(44).ok_or_else(|| anyhow!("ELF header truncated"))? as usize;
    let mut out = Vec::new();
    for i in 0..phnum {
        let ph = phoff + i * phentsize;
        let field = |k: usize| u32_at(ph + 4 * k).ok_or_else(|| anyhow!("program header {i}"));
        let (kind, offset, paddr, filesz) = (field(0)?, field(1)?, field(3)?, field(4)?);
        if kind != 1 || filesz == 0 {
            continue;
        }
        let start = paddr
            .checked_sub(base)
            .ok_or_else(|| anyhow!("segment {i} at {paddr:#x} is below {base:#x}"))?
            as usize;
        let end = start + filesz as usize;
        if end > max_len {
            bail!("segment {i} ends at {:#x}, beyond {max_len} octets", base as usize + end);
        }
        let data = elf
            .get(offset as usize..offset as usize + filesz as usize)
            .ok_or_else(|| anyhow!("segment {i} is outside the file"))?;
        if out.len() < end {
            out.resize(end, 0);
        }
        out[start..end].copy_from_slice(data);
    }
    if out.len() < 8 {
        bail!("no loadable segment at {base:#x}");
    }
    Ok(out)
}

/// The application ELF as a bank image of `version`.
///
/// # Errors
/// Unreadable or bad ELF, payload larger than a bank.
pub fn app_image(app_elf: &Path, version: SwVersion) -> anyhow::Result<Vec<u8>> {
    let elf = std::fs::read(app_elf).with_context(|| format!("{}", app_elf.display()))?;
    let max = onboard::limits::BANK_LEN - image::HEADER_LEN;
    let payload =
        elf_payload(&elf, APP_BASE, max).with_context(|| app_elf.display().to_string())?;
    let mut out = vec![0u8; image::HEADER_LEN + payload.len()];
    let n = image::build(&payload, version, &mut out).map_err(|e| anyhow!("{e}"))?;
    out.truncate(n);
    Ok(out)
}

/// Creates the flash file `path` ([`FLASH_LEN`] octets) as a unit from the factory with
/// `image` in both banks, unless it exists. `blank` leaves it erased (no image: the loader
/// stops). Returns what was provisioned, `None` for an existing or blank flash.
///
/// # Errors
/// I/O errors, or a set/image the unit refuses.
pub fn provision_flash(
    path: &Path,
    image: &[u8],
    blank: bool,
) -> anyhow::Result<Option<Provisioned>> {
    if path.exists() {
        let len = std::fs::metadata(path)?.len();
        if len != FLASH_LEN {
            bail!("{}: {len} octets, a flash file has {FLASH_LEN}", path.display());
        }
        return Ok(None);
    }
    let mut area = vec![0u8; required_len(&Geometry::FLIGHT)];
    let done = {
        let (mut storage, how) = MemStorage::open(&mut area, Geometry::FLIGHT)
            .map_err(|e| anyhow!("flash layout: {e}"))?;
        debug_assert_eq!(how, Opened::Formatted);
        if blank {
            None
        } else {
            Some(provision_with_image(&mut storage, &tables::defaults::default_set(), image)?)
        }
    };
    area.resize(FLASH_LEN as usize, 0xFF);
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, &area).with_context(|| format!("{}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("{}", path.display()))?;
    Ok(done)
}

/// Settings of [`QemuUnit::start`].
#[derive(Debug, Clone, Default)]
pub struct QemuConfig {
    /// The firmware to run (built by [`build_firmware`] when `None`).
    pub firmware: Option<FirmwareBuild>,
    /// Leave a created flash erased.
    pub blank: bool,
}

/// The firmware running under QEMU over a state directory (`flash.bin`), locked against a
/// second process. Stopped (QEMU killed) when dropped.
#[derive(Debug)]
pub struct QemuUnit {
    child: Child,
    paths: TwinPaths,
    /// The state directory.
    pub state: PathBuf,
    /// What was provisioned when the flash was created now.
    pub provisioned: Option<Provisioned>,
    /// QEMU's output so far (diagnostics).
    pub log: Arc<Mutex<Vec<String>>>,
    _lock: File,
}

impl QemuUnit {
    /// Builds the firmware if needed, creates and provisions the flash if missing, starts QEMU
    /// and waits for both pseudo-terminals.
    ///
    /// # Errors
    /// No QEMU (names the install script), a build failure, a state in use, QEMU failing to
    /// start (its output is shown).
    pub fn start(state: &Path, cfg: QemuConfig) -> anyhow::Result<Self> {
        let qemu = find_qemu()?;
        let fw = match cfg.firmware {
            Some(f) => f,
            None => build_firmware(FACTORY_VERSION)?,
        };
        std::fs::create_dir_all(state).with_context(|| format!("{}", state.display()))?;
        let lock_path = state.join("LOCK");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("{}", lock_path.display()))?;
        if lock.try_lock().is_err() {
            bail!("{} is in use by another eic-bench process", state.display());
        }
        let flash = state.join("flash.bin");
        let image = app_image(&fw.app, parse_version(FACTORY_VERSION)?)?;
        let provisioned = provision_flash(&flash, &image, cfg.blank)?;
        let seed = cuc_now().ticks();
        let mut child = Command::new(&qemu)
            .args(["-M", "mps2-an386", "-nographic", "-monitor", "none"])
            .args(["-serial", "pty", "-serial", "pty"])
            .arg("-kernel")
            .arg(&fw.loader)
            .arg("-object")
            .arg(format!(
                "memory-backend-file,id=flash,size={FLASH_LEN},mem-path={},share=on",
                flash.display()
            ))
            .args(["-machine", "memory-backend=flash"])
            .arg("-device")
            .arg(format!("loader,addr={TIME_SEED_ADDR:#x},data={seed:#x},data-len=8"))
            .arg("-device")
            .arg(format!("loader,addr={:#x},data={:#x},data-len=8", TIME_SEED_ADDR + 8, !seed))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", qemu.display()))?;
        // QEMU 7.2 prints the pty lines on its standard output, errors on its standard error.
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("no QEMU stdout"))?;
        let stderr = child.stderr.take().ok_or_else(|| anyhow!("no QEMU stderr"))?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        for stream in [Box::new(stdout) as Box<dyn std::io::Read + Send>, Box::new(stderr)] {
            let (log, tx) = (log.clone(), tx.clone());
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = tx.send(line.clone());
                    if let Ok(mut l) = log.lock() {
                        l.push(line);
                    }
                }
            });
        }
        drop(tx);
        let mut serial = [None, None];
        let deadline = Instant::now() + Duration::from_secs(10);
        while serial.iter().any(Option::is_none) {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some((dev, k)) = parse_pty_line(&line)
                        && let Some(slot) = serial.get_mut(k)
                    {
                        *slot = Some(dev);
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let said = log.lock().map(|l| l.join("\n")).unwrap_or_default();
                    bail!("{} did not open its serial ports:\n{said}", qemu.display());
                }
            }
        }
        let [Some(tctm), Some(stimulus)] = serial else { bail!("QEMU serial ports") };
        Ok(QemuUnit {
            child,
            paths: TwinPaths { tctm, stimulus },
            state: state.to_path_buf(),
            provisioned,
            log,
            _lock: lock,
        })
    }

    /// The device paths (UART0: TC/TM, UART1: stimulus).
    pub fn paths(&self) -> &TwinPaths {
        &self.paths
    }

    /// The TC/TM device path.
    pub fn tctm_path(&self) -> &Path {
        &self.paths.tctm
    }

    /// QEMU's process ID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether QEMU still runs.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Stops QEMU (the flash file keeps the state).
    pub fn stop(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for QemuUnit {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `char device redirected to /dev/pts/N (label serialK)` → (path, K).
pub fn parse_pty_line(line: &str) -> Option<(PathBuf, usize)> {
    let rest = line.split("char device redirected to ").nth(1)?;
    let (dev, label) = rest.split_once(" (label serial")?;
    let k = label.trim_end_matches(')').parse().ok()?;
    Some((PathBuf::from(dev.trim()), k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pty_lines_and_versions_parse() {
        assert_eq!(
            parse_pty_line("char device redirected to /dev/pts/7 (label serial1)"),
            Some((PathBuf::from("/dev/pts/7"), 1))
        );
        assert_eq!(parse_pty_line("qemu-system-arm: warning"), None);
        assert_eq!(parse_version("1.1.0").unwrap(), SwVersion::new(1, 1, 0, 0));
        assert_eq!(parse_version("2.0.1+7").unwrap(), SwVersion::new(2, 0, 1, 7));
        assert!(parse_version("1.1").is_err());
        assert!(parse_version("1.x.0").is_err());
    }

    #[test]
    fn a_missing_emulator_names_the_install_script() {
        let dir = tempfile::tempdir().unwrap();
        let none = dir.path().join("nothing");
        let e = find_qemu_in(None, Some(dir.path().into()), &none).unwrap_err().to_string();
        assert!(e.contains("scripts/install-qemu.sh"), "{e}");
        let exe = dir.path().join("qemu-system-arm");
        std::fs::write(&exe, b"").unwrap();
        assert_eq!(find_qemu_in(None, Some(dir.path().into()), &none).unwrap(), exe);
        let env = Some(std::ffi::OsString::from("/opt/q/qemu-system-arm"));
        assert_eq!(find_qemu_in(env, None, &none).unwrap(), Path::new("/opt/q/qemu-system-arm"));
    }

    #[test]
    fn elf_payload_refuses_what_is_not_an_arm_elf() {
        assert!(elf_payload(b"\x7fELF\x02\x01", APP_BASE, 1024).is_err());
        assert!(elf_payload(&[0u8; 64], APP_BASE, 1024).is_err());
    }
}
