//! The bench's end of the link: a serial device opened exclusively, with bounded waits.
//!
//! [`SerialLink::open`] works the same on a real port (`/dev/ttyUSB0`) and on the twin's
//! pseudo-terminal slave (`/dev/pts/N`). It checks the path first so that each way of failing
//! gets its own [`LinkError`] with a hint (missing, busy, permission, not a tty), then opens the
//! device twice over:
//!
//! - a [`serialport::TTYPort`] that takes the exclusive lock (`TIOCEXCL` plus an exclusive
//!   `flock`, so a second bench on the same path gets [`LinkError::Busy`]) and sets the line:
//!   raw, 8N1, no flow control, the baud rate;
//! - a non-blocking descriptor of the same device for the data, so that every read and write is
//!   bounded by a deadline ([`poll`](nix::poll::poll) then a non-blocking call): a unit that
//!   stops reading can never block the bench in `write`.
//!
//! [`SerialLink::reopen`] closes both and opens again with bounded retries and exponential
//! backoff (the twin restarting, a USB adapter re-enumerating).

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

use nix::fcntl::OFlag;
use serialport::{ClearBuffer, DataBits, FlowControl, Parity, SerialPort, StopBits, TTYPort};

use super::{LinkError, Readiness, millis, wait_ready};

/// Timeouts of a [`SerialLink`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// How long [`SerialLink::read`] waits for the first octet.
    pub read: Duration,
    /// How long [`SerialLink::write_all`] may take in total.
    pub write: Duration,
}

impl Default for Timeouts {
    /// 1 s to read, 2 s to write (a 1119-octet CADU takes 97 ms at 115 200 Bd).
    fn default() -> Self {
        Self { read: Duration::from_secs(1), write: Duration::from_secs(2) }
    }
}

/// How [`SerialLink::reopen`] retries: at most `attempts` opens, waiting `initial_backoff`
/// after the first failure and doubling up to `max_backoff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Maximum number of open attempts (at least one is always made).
    pub attempts: u32,
    /// Wait after the first failed attempt.
    pub initial_backoff: Duration,
    /// Upper bound of any single wait.
    pub max_backoff: Duration,
}

impl RetryPolicy {
    /// Upper bound of the total time spent waiting between attempts.
    pub fn max_total_wait(&self) -> Duration {
        let mut total = Duration::ZERO;
        let mut wait = self.initial_backoff;
        for _ in 1..self.attempts.max(1) {
            total = total.saturating_add(wait.min(self.max_backoff));
            wait = wait.saturating_mul(2);
        }
        total
    }
}

impl Default for RetryPolicy {
    /// 8 attempts, 50 ms doubling to 1 s (about 3.4 s of waiting at most).
    fn default() -> Self {
        Self {
            attempts: 8,
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(1),
        }
    }
}

/// The two handles of an open device.
#[derive(Debug)]
struct Open {
    /// Holds the exclusive lock and the line settings; not used for data.
    port: TTYPort,
    /// Non-blocking descriptor used for all data transfer.
    data: File,
}

/// A serial link to the unit: a real port or the twin's pseudo-terminal.
#[derive(Debug)]
pub struct SerialLink {
    device: String,
    baud: u32,
    timeouts: Timeouts,
    open: Option<Open>,
}

impl SerialLink {
    /// Opens `path` exclusively at `baud` (8N1, raw, no flow control).
    ///
    /// On a pseudo-terminal the baud rate is accepted and has no effect; use a
    /// [`ThrottledWriter`](super::ThrottledWriter) to emulate it.
    ///
    /// # Errors
    ///
    /// [`LinkError::NotFound`], [`LinkError::Busy`], [`LinkError::PermissionDenied`],
    /// [`LinkError::NotATty`], [`LinkError::BadSettings`] (including `baud == 0`), or
    /// [`LinkError::Io`]; each names the device and what to check.
    pub fn open(path: impl AsRef<Path>, baud: u32, timeouts: Timeouts) -> Result<Self, LinkError> {
        let device = path.as_ref().display().to_string();
        let open = open_device(&device, baud, timeouts)?;
        Ok(Self { device, baud, timeouts, open: Some(open) })
    }

    /// The device path, as given to [`open`](Self::open).
    pub fn device(&self) -> &str {
        &self.device
    }

    /// The configured baud rate.
    pub fn baud(&self) -> u32 {
        self.baud
    }

    /// The configured timeouts.
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// Changes the timeouts used by later calls.
    pub fn set_timeouts(&mut self, timeouts: Timeouts) {
        self.timeouts = timeouts;
    }

    /// Whether the link is open (false only after a failed [`reopen`](Self::reopen)).
    pub fn is_open(&self) -> bool {
        self.open.is_some()
    }

    /// Reads at least one octet, waiting at most the read timeout.
    ///
    /// # Errors
    ///
    /// [`LinkError::NoAnswer`] when nothing arrives in time, [`LinkError::Disconnected`] when
    /// the line hangs up, [`LinkError::Closed`] or [`LinkError::Io`].
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize, LinkError> {
        let deadline = Instant::now() + self.timeouts.read;
        self.read_deadline(buf, deadline)
    }

    /// Reads at least one octet (if `buf` is not empty), waiting until `deadline` at most.
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read).
    pub fn read_deadline(&mut self, buf: &mut [u8], deadline: Instant) -> Result<usize, LinkError> {
        let start = Instant::now();
        let open =
            self.open.as_ref().ok_or_else(|| LinkError::Closed { device: self.device.clone() })?;
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match (&open.data).read(buf) {
                Ok(0) => return Err(LinkError::Disconnected { device: self.device.clone() }),
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(LinkError::from_io(&self.device, "read", &e)),
            }
            match wait_ready(&open.data, false, deadline) {
                Ok(Readiness::Ready) => {}
                Ok(Readiness::TimedOut) => {
                    return Err(LinkError::NoAnswer {
                        device: self.device.clone(),
                        waited_ms: millis(start.elapsed()),
                        baud: self.baud,
                    });
                }
                Ok(Readiness::HungUp) => {
                    return Err(LinkError::Disconnected { device: self.device.clone() });
                }
                Err(e) => return Err(LinkError::from_io(&self.device, "poll", &e)),
            }
        }
    }

    /// Fills `buf` completely, waiting until `deadline` at most.
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read); on [`LinkError::NoAnswer`] the octets already read are lost
    /// to the caller, so use it for fixed-size exchanges only.
    pub fn read_exact_deadline(
        &mut self,
        buf: &mut [u8],
        deadline: Instant,
    ) -> Result<(), LinkError> {
        let mut filled = 0usize;
        while let Some(rest) = buf.get_mut(filled..).filter(|r| !r.is_empty()) {
            filled += self.read_deadline(rest, deadline)?;
        }
        Ok(())
    }

    /// Writes all of `data`, taking at most the write timeout.
    ///
    /// # Errors
    ///
    /// [`LinkError::WriteStalled`] when the unit does not take the octets in time,
    /// [`LinkError::Disconnected`], [`LinkError::Closed`] or [`LinkError::Io`].
    pub fn write_all(&mut self, data: &[u8]) -> Result<(), LinkError> {
        let start = Instant::now();
        let deadline = start + self.timeouts.write;
        let open =
            self.open.as_ref().ok_or_else(|| LinkError::Closed { device: self.device.clone() })?;
        let mut sent = 0usize;
        while let Some(rest) = data.get(sent..).filter(|r| !r.is_empty()) {
            match (&open.data).write(rest) {
                Ok(n) => {
                    sent += n;
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(LinkError::from_io(&self.device, "write", &e)),
            }
            match wait_ready(&open.data, true, deadline) {
                Ok(Readiness::Ready) => {}
                Ok(Readiness::TimedOut) => {
                    return Err(LinkError::WriteStalled {
                        device: self.device.clone(),
                        waited_ms: millis(start.elapsed()),
                        sent,
                        total: data.len(),
                    });
                }
                Ok(Readiness::HungUp) => {
                    return Err(LinkError::Disconnected { device: self.device.clone() });
                }
                Err(e) => return Err(LinkError::from_io(&self.device, "poll", &e)),
            }
        }
        Ok(())
    }

    /// Discards octets received but not read yet.
    ///
    /// # Errors
    ///
    /// [`LinkError::Closed`] or [`LinkError::Io`].
    pub fn clear_input(&mut self) -> Result<(), LinkError> {
        let open =
            self.open.as_ref().ok_or_else(|| LinkError::Closed { device: self.device.clone() })?;
        open.port.clear(ClearBuffer::Input).map_err(|e| LinkError::Io {
            device: self.device.clone(),
            op: "tcflush",
            kind: io::ErrorKind::Other,
            detail: e.to_string(),
        })
    }

    /// Closes the device and opens it again, with bounded retries and backoff.
    ///
    /// Transient failures (not found, busy, hung up, other system errors) are retried up to
    /// `policy.attempts` times; permission, not-a-tty and settings errors stop at once. The
    /// total wait is bounded by [`RetryPolicy::max_total_wait`]. Returns the number of attempts
    /// it took. After a failure the link stays closed ([`LinkError::Closed`] from then on) until
    /// a later `reopen` succeeds.
    ///
    /// # Errors
    ///
    /// [`LinkError::ReopenFailed`] carrying the last attempt's error.
    pub fn reopen(&mut self, policy: RetryPolicy) -> Result<u32, LinkError> {
        // Close first: our own lock would otherwise make the device busy.
        self.open = None;
        let attempts = policy.attempts.max(1);
        let mut wait = policy.initial_backoff;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            match open_device(&self.device, self.baud, self.timeouts) {
                Ok(open) => {
                    self.open = Some(open);
                    return Ok(attempt);
                }
                Err(e) if e.is_transient() && attempt < attempts => {
                    std::thread::sleep(wait.min(policy.max_backoff));
                    wait = wait.saturating_mul(2);
                }
                Err(e) => {
                    return Err(LinkError::ReopenFailed {
                        device: self.device.clone(),
                        attempts: attempt,
                        last: Box::new(e),
                    });
                }
            }
        }
    }
}

/// Reads with the read timeout; a timeout is [`io::ErrorKind::TimedOut`].
impl Read for SerialLink {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(SerialLink::read(self, buf)?)
    }
}

/// Writes everything or fails within the write timeout.
impl Write for SerialLink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Opens both handles of `device`, classifying every failure.
fn open_device(device: &str, baud: u32, timeouts: Timeouts) -> Result<Open, LinkError> {
    if baud == 0 {
        // B0 means "hang up" to a real tty: never send it.
        return Err(LinkError::BadSettings {
            device: device.to_owned(),
            baud,
            detail: "0 Bd hangs the line up".to_owned(),
        });
    }
    let meta = std::fs::metadata(device).map_err(|e| LinkError::from_io(device, "open", &e))?;
    if !meta.file_type().is_char_device() {
        return Err(LinkError::NotATty { device: device.to_owned() });
    }
    // The data descriptor first: once the port below sets TIOCEXCL, a non-root open would fail.
    let data = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags((OFlag::O_NOCTTY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC).bits())
        .open(device)
        .map_err(|e| LinkError::from_io(device, "open", &e))?;
    if !nix::unistd::isatty(&data).unwrap_or(false) {
        return Err(LinkError::NotATty { device: device.to_owned() });
    }
    let port = serialport::new(device, baud)
        .data_bits(DataBits::Eight)
        .parity(Parity::None)
        .stop_bits(StopBits::One)
        .flow_control(FlowControl::None)
        .timeout(timeouts.read)
        .open_native()
        .map_err(|e| classify_serialport(device, baud, &e))?;
    if !port.exclusive() {
        return Err(LinkError::Busy { device: device.to_owned() });
    }
    Ok(Open { port, data })
}

/// Maps a `serialport` open error.
fn classify_serialport(device: &str, baud: u32, e: &serialport::Error) -> LinkError {
    let device = device.to_owned();
    match e.kind() {
        // serialport reports a held lock (TIOCEXCL, flock) as NoDevice.
        serialport::ErrorKind::NoDevice => LinkError::Busy { device },
        serialport::ErrorKind::InvalidInput => {
            LinkError::BadSettings { device, baud, detail: e.description.clone() }
        }
        serialport::ErrorKind::Io(io::ErrorKind::NotFound) => LinkError::NotFound { device },
        serialport::ErrorKind::Io(io::ErrorKind::PermissionDenied) => {
            LinkError::PermissionDenied { device }
        }
        serialport::ErrorKind::Io(kind) => {
            LinkError::Io { device, op: "open", kind, detail: e.description.clone() }
        }
        _ => LinkError::Io {
            device,
            op: "open",
            kind: io::ErrorKind::Other,
            detail: e.description.clone(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_policy_total_wait_is_bounded() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.max_total_wait(),
            Duration::from_millis(50 + 100 + 200 + 400 + 800 + 1000 + 1000)
        );
        let one = RetryPolicy { attempts: 1, ..p };
        assert_eq!(one.max_total_wait(), Duration::ZERO);
    }

    #[test]
    fn baud_zero_is_refused() {
        let e = SerialLink::open("/dev/null", 0, Timeouts::default()).unwrap_err();
        assert!(matches!(e, LinkError::BadSettings { baud: 0, .. }), "{e:?}");
    }

    #[test]
    fn regular_file_and_dev_null_are_not_ttys() {
        let e = SerialLink::open("/dev/null", 9600, Timeouts::default()).unwrap_err();
        assert!(matches!(e, LinkError::NotATty { .. }), "{e:?}");
        let e = SerialLink::open("Cargo.toml", 9600, Timeouts::default()).unwrap_err();
        assert!(matches!(e, LinkError::NotATty { .. }), "{e:?}");
    }
}
