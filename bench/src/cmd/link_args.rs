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
use crate::twin::{TwinConfig, UnitTwin, UnitTwinError};

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
    /// A fixed FOP-1 timer T1 in milliseconds (default: adaptive, the line time of what is
    /// outstanding and still to leave plus a CLCW's round trip, 0.58 s for one frame at
    /// 115 200 Bd; 300 fixed for the embedded twin).
    #[arg(long)]
    pub t1_ms: Option<u64>,
    /// A fixed limit: seconds without any valid telemetry frame (while octets arrive) before
    /// the line is declared unusable. Default: derived from the line (at least 3 s, and then
    /// only once the CADUs lost in a row since the last valid one are a one-in-a-million
    /// run at the loss rate seen so far, or none was found at all; at most 62 frame periods:
    /// docs/bench.md), so a live but lossy line is never declared dead. Without any octet at
    /// all the line is dead after 3 s plus two octet times (--silence-timeout-s).
    #[arg(long)]
    pub clcw_timeout_s: Option<f64>,
    /// Seconds without one octet from the unit before the line is declared dead (default: the
    /// CLCW timeout plus two octet times at the baud rate).
    #[arg(long)]
    pub silence_timeout_s: Option<f64>,
    /// Seconds a missing verification report may trail FARM-1's acknowledgement of a TC before the
    /// unit is asked (17,128 request status) instead (default: 0.3 s plus four CADU line times,
    /// 0.69 s at 115 200 Bd; 0.15 for the embedded twin).
    #[arg(long)]
    pub report_timeout_s: Option<f64>,
    /// Seconds a TC may execute, with no report, before its outcome is reported in doubt
    /// (default 30).
    #[arg(long)]
    pub completion_timeout_s: Option<f64>,
    /// A fixed number of status queries about one TC left unanswered before its outcome is
    /// reported in doubt (default: 8, raised on a lossy downlink to the run of lost answers
    /// its loss rate makes a one-in-a-million event, e.g. 35 when two CADUs in three are lost).
    #[arg(long)]
    pub max_queries: Option<u32>,
    /// FOP-1 sliding window K, 1..=15 (default 15).
    #[arg(long)]
    pub window: Option<u8>,
    /// FOP-1 transmission limit: transmissions of a frame before recovery (default 100 with
    /// the adaptive T1, 20 for the embedded twin).
    #[arg(long)]
    pub transmission_limit: Option<u8>,
    /// Milliseconds the uplink must have been quiet before a CLCW is trusted for recovery
    /// (default: three CADU line times plus 250 ms after the last uplink octet left).
    #[arg(long)]
    pub settle_ms: Option<u64>,
    /// Directory of the progress journals of workflows that change the unit (an interrupted
    /// push is found there at the next contact). Default `$XDG_STATE_HOME/eic-bench/journal`.
    #[arg(long, env = "EIC_JOURNAL_DIR")]
    pub journal_dir: Option<PathBuf>,
    /// State directory of the embedded twin (DEVICE `twin`): banks, boot selection, tables;
    /// created and provisioned from the factory (software 1.0.0, default tables) if missing,
    /// kept across commands [default: ~/.local/state/eic-bench/twin, or
    /// $XDG_STATE_HOME/eic-bench/twin]. `eic-bench twin --state` takes the same directory.
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

    /// The stimulus device of the unit this connection started (DEVICE `twin`: the twin's
    /// stimulus pseudo-terminal; DEVICE `qemu`: the firmware's second UART), `None` for a
    /// unit on a device path (then `--stimulus` names it).
    pub fn stimulus_path(&self) -> Option<&std::path::Path> {
        match (&self.twin, &self.qemu) {
            (Some(t), _) => Some(t.twin.paths().stimulus.as_path()),
            (None, Some(q)) => Some(q.paths().stimulus.as_path()),
            (None, None) => None,
        }
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
    /// A device with every link option at its default, for commands that reach a unit on
    /// behalf of another option (`plan --against`, `replay --on`); set the fields they do take
    /// with struct update syntax so a new link option needs no change there.
    pub fn with_defaults(device: PathBuf) -> Self {
        LinkArgs {
            device,
            baud: crate::link::DEFAULT_BAUD,
            archive: None,
            t1_ms: None,
            clcw_timeout_s: None,
            silence_timeout_s: None,
            report_timeout_s: None,
            completion_timeout_s: None,
            max_queries: None,
            window: None,
            transmission_limit: None,
            settle_ms: None,
            journal_dir: None,
            twin_state: None,
            qemu_state: None,
        }
    }

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
            cfg.t1_adaptive = false;
        }
        if let Some(v) = self.clcw_timeout_s {
            cfg.set_clcw_timeout(Duration::from_secs_f64(v.clamp(0.1, 3600.0)));
        }
        let secs = |v: f64| Duration::from_secs_f64(v.clamp(0.001, 86_400.0));
        if let Some(v) = self.silence_timeout_s {
            cfg.silence_timeout = secs(v);
        }
        if let Some(v) = self.report_timeout_s {
            cfg.stage_timeouts.acceptance = secs(v);
        }
        if let Some(v) = self.completion_timeout_s {
            cfg.stage_timeouts.completion = secs(v);
        }
        if let Some(v) = self.max_queries {
            cfg.max_queries = v.max(1);
            cfg.max_queries_adaptive = false;
        }
        if let Some(v) = self.window {
            cfg.window = v.clamp(1, tc_tm::mission::FOP_WINDOW);
        }
        if let Some(v) = self.transmission_limit {
            cfg.transmission_limit = v.max(1);
        }
        if let Some(v) = self.settle_ms {
            cfg.settle = Duration::from_millis(v);
        }
        cfg
    }

    /// The journal directory and this unit's key in it: the twin's state directory for the
    /// embedded twin, the device path otherwise.
    pub fn journal(&self) -> (PathBuf, String) {
        let dir = self.journal_dir.clone().unwrap_or_else(crate::workflow::journal::default_dir);
        let key = if self.is_twin() {
            let state = self.twin_state.clone().unwrap_or_else(default_twin_state);
            format!("twin-{}", crate::workflow::journal::key_for(&state.display().to_string()))
        } else {
            crate::workflow::journal::key_for(&self.device.display().to_string())
        };
        (dir, key)
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
            if let Some(v) = self.clcw_timeout_s {
                cfg.set_clcw_timeout(Duration::from_secs_f64(v.clamp(0.1, 3600.0)));
            }
            if let Some(ms) = self.t1_ms {
                cfg.t1 = Duration::from_millis(ms.max(1));
                cfg.t1_adaptive = false;
            }
            let mut session = Session::open(cfg)?;
            session.connect()?;
            return Ok(Connection { session, twin: None, qemu: Some(q) });
        }
        let (twin, cfg) = if self.is_twin() {
            let dir = self.twin_state.clone().unwrap_or_else(default_twin_state);
            let t = UnitTwin::start(&dir, false, TwinConfig::default()).map_err(|e| match e {
                UnitTwinError::State(e) => {
                    super::twin::busy_hint(e, "--twin-state DIR, or EIC_TWIN_STATE")
                }
                e => e.into(),
            })?;
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

#[cfg(test)]
mod defaults_tests {
    use clap::Parser;

    use super::LinkArgs;

    #[derive(Parser)]
    struct Line {
        #[command(flatten)]
        link: LinkArgs,
    }

    #[test]
    fn with_defaults_is_what_the_command_line_gives() {
        // Only meaningful without the EIC_* variables that set link options.
        if std::env::vars().any(|(k, _)| k.starts_with("EIC_")) {
            return;
        }
        let parsed = Line::try_parse_from(["eic-bench", "/dev/ttyUSB0"]).unwrap().link;
        let built = LinkArgs::with_defaults("/dev/ttyUSB0".into());
        assert_eq!(format!("{parsed:?}"), format!("{built:?}"));
    }
}
