//! Arguments shared by every command that talks to a unit over a serial device, and the
//! `twin` pseudo-device.
//!
//! Wherever a DEVICE is taken, the word `twin` starts an embedded twin for the duration of the
//! command: the on-board unit behind a real pseudo-terminal pair, opened by path exactly as a
//! serial device (same session code), over the state directory of `--twin-state` (default
//! `$XDG_STATE_HOME/eic-bench/twin`, else `~/.local/state/eic-bench/twin`, else
//! `./.eic-twin`), provisioned from the factory when created. The state persists across
//! commands, so `tables push twin DIR` followed by `tables pull twin -o OUT` sees the pushed
//! tables. Two commands cannot use the same state at once (the second is told so).
//!
//! The word `qemu` does the same with the unit as firmware under QEMU (`docs/firmware.md`):
//! the firmware is built if needed and the emulator started over the flash file of
//! `--qemu-state` (default `$XDG_STATE_HOME/eic-bench/spare`, beside the twin's), provisioned
//! from the factory when created; QEMU stops when the command ends.

use std::ops::{Deref, DerefMut};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::session::{Session, SessionConfig};
use crate::twin::{TwinConfig, UnitTwin};

/// The DEVICE word that starts an embedded twin.
pub const TWIN_DEVICE: &str = "twin";

/// How to reach the unit.
#[derive(Debug, Clone, Args)]
pub struct LinkArgs {
    /// Serial device: the spare model's port (e.g. /dev/ttyUSB0, /dev/serial/by-id/...), a
    /// running twin's TC/TM path (printed by `eic-bench twin`), the word `twin` for an
    /// embedded twin that lives as long as this command (state in --twin-state), or the word
    /// `qemu` for the unit as firmware under QEMU, likewise (state in --qemu-state).
    pub device: PathBuf,
    /// Line rate in baud (8N1). Ignored for the embedded twin, which runs at full speed.
    #[arg(long, default_value_t = crate::link::DEFAULT_BAUD, env = "EIC_BAUD")]
    pub baud: u32,
    /// Append every received CADU, time-stamped, to this archive file before decoding it.
    #[arg(long, env = "EIC_ARCHIVE")]
    pub archive: Option<PathBuf>,
    /// FOP-1 timer T1 in milliseconds (default: a full window of the largest CLTUs at the
    /// baud rate plus 500 ms; 300 for the embedded twin).
    #[arg(long)]
    pub t1_ms: Option<u64>,
    /// Seconds without any telemetry frame before the unit is declared silent.
    #[arg(long, default_value_t = 3.0)]
    pub clcw_timeout_s: f64,
    /// State directory of the embedded twin (DEVICE `twin`): banks, boot selection, tables;
    /// created and provisioned from the factory (software 1.0.0, default tables) if missing.
    #[arg(long, env = "EIC_TWIN_STATE")]
    pub twin_state: Option<PathBuf>,
    /// State directory of the firmware under QEMU (DEVICE `qemu`): its flash file, created and
    /// provisioned from the factory (firmware 1.0.0, default tables) if missing.
    #[arg(long, env = "EIC_QEMU_STATE")]
    pub qemu_state: Option<PathBuf>,
}

/// The default state directory of the embedded twin.
pub fn default_twin_state() -> PathBuf {
    let xdg = std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()).map(PathBuf::from);
    let home = std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(|h| PathBuf::from(h).join(".local").join("state"));
    match xdg.or(home) {
        Some(base) => base.join("eic-bench").join("twin"),
        None => PathBuf::from(".eic-twin"),
    }
}

/// A connected session, with the embedded twin behind it when DEVICE is `twin` (stopped, and
/// its state flushed and unlocked, when this is dropped).
pub struct Connection {
    session: Session,
    twin: Option<UnitTwin>,
    qemu: Option<crate::qemu::QemuUnit>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("session", &self.session)
            .field("twin", &self.twin.as_ref().map(|t| t.state.dir.clone()))
            .field("qemu", &self.qemu.as_ref().map(|q| q.state.clone()))
            .finish()
    }
}

impl Connection {
    /// The embedded twin, if DEVICE was `twin`.
    pub fn twin(&self) -> Option<&UnitTwin> {
        self.twin.as_ref()
    }
}

impl Deref for Connection {
    type Target = Session;
    fn deref(&self) -> &Session {
        &self.session
    }
}

impl DerefMut for Connection {
    fn deref_mut(&mut self) -> &mut Session {
        &mut self.session
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // Stop QEMU (the flash file keeps the state).
        if let Some(q) = self.qemu.take() {
            q.stop();
        }
        // Stop the twin and power its unit off (the session closes the device afterwards).
        if let Some(t) = self.twin.take()
            && let Err(e) = t.stop()
        {
            eprintln!("warning: the embedded twin stopped with an error: {e}");
        }
    }
}

impl LinkArgs {
    /// Whether DEVICE is the embedded twin.
    pub fn is_twin(&self) -> bool {
        self.device.as_os_str() == TWIN_DEVICE
    }

    /// Whether DEVICE is the firmware under QEMU.
    pub fn is_qemu(&self) -> bool {
        self.device.as_os_str() == crate::qemu::QEMU_DEVICE
    }

    /// The session settings these arguments give for `device`.
    pub fn config_for(&self, device: PathBuf, twin: bool) -> SessionConfig {
        let mut cfg =
            if twin { SessionConfig::fast(device) } else { SessionConfig::new(device, self.baud) };
        cfg.archive.clone_from(&self.archive);
        if let Some(ms) = self.t1_ms {
            cfg.t1 = Duration::from_millis(ms.max(1));
        }
        cfg.clcw_timeout = Duration::from_secs_f64(self.clcw_timeout_s.clamp(0.1, 3600.0));
        cfg
    }

    /// The session settings these arguments give (DEVICE taken as a path).
    pub fn config(&self) -> SessionConfig {
        self.config_for(self.device.clone(), false)
    }

    /// Opens the device (starting the embedded twin for `twin`) and waits for the unit (FOP-1
    /// initialised from its CLCW).
    ///
    /// # Errors
    /// A missing, busy or wrong device, or a silent unit, with the device named and what to
    /// check; for `twin`, a state directory in use or damaged.
    pub fn connect(&self) -> anyhow::Result<Connection> {
        if self.is_qemu() {
            let dir = self
                .qemu_state
                .clone()
                .unwrap_or_else(|| default_twin_state().with_file_name("spare"));
            let q = crate::qemu::QemuUnit::start(&dir, crate::qemu::QemuConfig::default())?;
            if q.provisioned.is_some() {
                eprintln!(
                    "qemu: created {} and provisioned its flash from the factory (firmware \
                     1.0.0, default tables)",
                    dir.display()
                );
            }
            // The emulated UART takes about 10 kB/s: paced settings, not the twin's full speed.
            let mut cfg = crate::qemu::session_config(q.tctm_path());
            cfg.archive.clone_from(&self.archive);
            cfg.clcw_timeout = Duration::from_secs_f64(self.clcw_timeout_s.clamp(0.1, 3600.0));
            if let Some(ms) = self.t1_ms {
                cfg.t1 = Duration::from_millis(ms.max(1));
            }
            let mut session = Session::open(cfg)?;
            session.connect()?;
            return Ok(Connection { session, twin: None, qemu: Some(q) });
        }
        let (twin, cfg) = if self.is_twin() {
            let dir = self.twin_state.clone().unwrap_or_else(default_twin_state);
            let t = UnitTwin::start(&dir, false, TwinConfig::default())?;
            if t.state.provisioned.is_some() {
                eprintln!(
                    "twin: created {} and provisioned it from the factory (software 1.0.0, \
                     default tables)",
                    dir.display()
                );
            }
            let cfg = self.config_for(t.tctm_path().to_path_buf(), true);
            (Some(t), cfg)
        } else {
            (None, self.config())
        };
        let mut session = Session::open(cfg)?;
        session.connect()?;
        Ok(Connection { session, twin, qemu: None })
    }
}
