//! Arguments shared by every command that talks to a unit over a serial device.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::session::{Session, SessionConfig};

/// How to reach the unit.
#[derive(Debug, Clone, Args)]
pub struct LinkArgs {
    /// Serial device: the twin's TC/TM path (printed by `eic-bench twin`) or the spare model's
    /// port (e.g. /dev/ttyUSB0, /dev/serial/by-id/...).
    pub device: PathBuf,
    /// Line rate in baud (8N1).
    #[arg(long, default_value_t = crate::link::DEFAULT_BAUD, env = "EIC_BAUD")]
    pub baud: u32,
    /// Append every received CADU, time-stamped, to this archive file before decoding it.
    #[arg(long, env = "EIC_ARCHIVE")]
    pub archive: Option<PathBuf>,
    /// FOP-1 timer T1 in milliseconds (default: a full window of the largest CLTUs at the
    /// baud rate plus 500 ms). A twin at full speed works with 300.
    #[arg(long)]
    pub t1_ms: Option<u64>,
    /// Seconds without any telemetry frame before the unit is declared silent.
    #[arg(long, default_value_t = 3.0)]
    pub clcw_timeout_s: f64,
}

impl LinkArgs {
    /// The session settings these arguments give.
    pub fn config(&self) -> SessionConfig {
        let mut cfg = SessionConfig::new(&self.device, self.baud);
        cfg.archive.clone_from(&self.archive);
        if let Some(ms) = self.t1_ms {
            cfg.t1 = Duration::from_millis(ms.max(1));
        }
        cfg.clcw_timeout = Duration::from_secs_f64(self.clcw_timeout_s.clamp(0.1, 3600.0));
        cfg
    }

    /// Opens the device and waits for the unit (FOP-1 initialised from its CLCW).
    ///
    /// # Errors
    /// A missing, busy or wrong device, or a silent unit, with the device named and what to
    /// check.
    pub fn connect(&self) -> anyhow::Result<Session> {
        let mut s = Session::open(self.config())?;
        s.connect()?;
        Ok(s)
    }
}
