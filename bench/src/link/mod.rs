//! The byte-moving link between the bench and a UGTS unit (spare model or twin).
//!
//! ICD §1: a byte stream, 8N1, 115 200 Bd on hardware. The twin sits behind a pseudo-terminal,
//! which has no baud rate, so the rate is emulated in software.
//!
//! - [`serial`]: [`SerialLink`], the bench end: exclusive open of a device path (real port or
//!   pty slave), deadline-bounded reads and writes, bounded reconnection.
//! - [`pty`]: [`PtyPair`], the twin end: a raw pseudo-terminal whose slave path the bench opens,
//!   which survives the bench disconnecting and reconnecting.
//! - [`throttle`]: [`Pacer`] (deterministic token bucket, 10 bit times per octet) and the
//!   [`ThrottledWriter`] / [`ThrottledReader`] wrappers that pace real I/O with it.
//! - [`faults`]: [`FaultSpec`] (`bitflip=1e-5,drop=0.001,...`) and the seeded
//!   [`FaultInjector`] the twin uses to corrupt the link on purpose in tests.
//!
//! Every failure is a [`LinkError`] that names the device and says what to check; every wait is
//! bounded by a timeout. Nothing here panics on what arrives on the wire.

use std::fmt;
use std::io;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};

pub mod faults;
pub mod pty;
pub mod serial;
pub mod throttle;

pub use faults::{FaultCounters, FaultInjector, FaultSpec, FaultSpecError, FrameFate};
pub use pty::PtyPair;
pub use serial::{RetryPolicy, SerialLink, Timeouts};
pub use throttle::{Pacer, ThrottleError, ThrottledReader, ThrottledWriter};

/// Default line rate on hardware, in baud (ICD §1).
pub const DEFAULT_BAUD: u32 = 115_200;

/// Bit times per octet on an 8N1 line: start bit, 8 data bits, stop bit.
pub const BITS_PER_OCTET_8N1: u32 = 10;

/// A link failure, naming the device and what to check.
///
/// The [`Display`](fmt::Display) text is meant for the operator as is: one line, the device
/// path, the likely cause and the next thing to try.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkError {
    /// The device path does not exist.
    NotFound {
        /// The device path.
        device: String,
    },
    /// Another process (or another handle of this one) holds the device.
    Busy {
        /// The device path.
        device: String,
    },
    /// The user may not open the device.
    PermissionDenied {
        /// The device path.
        device: String,
    },
    /// The path exists but is not a terminal device.
    NotATty {
        /// The device path.
        device: String,
    },
    /// The device refused the line settings (for instance an unsupported baud rate).
    BadSettings {
        /// The device path.
        device: String,
        /// The requested baud rate.
        baud: u32,
        /// What the system said.
        detail: String,
    },
    /// Nothing arrived before the deadline.
    NoAnswer {
        /// The device path.
        device: String,
        /// How long the read waited, in milliseconds.
        waited_ms: u64,
        /// The configured baud rate (0 when the link has none, e.g. a pty master).
        baud: u32,
    },
    /// The peer did not take the octets before the deadline (it is not reading).
    WriteStalled {
        /// The device path.
        device: String,
        /// How long the write waited, in milliseconds.
        waited_ms: u64,
        /// Octets written before the deadline.
        sent: usize,
        /// Octets the caller asked to write.
        total: usize,
    },
    /// The line hung up: the twin exited or the adapter was unplugged.
    Disconnected {
        /// The device path.
        device: String,
    },
    /// The link was closed (after a failed [`SerialLink::reopen`]).
    Closed {
        /// The device path.
        device: String,
    },
    /// Reconnection gave up after a bounded number of attempts.
    ReopenFailed {
        /// The device path.
        device: String,
        /// Attempts made.
        attempts: u32,
        /// The error of the last attempt.
        last: Box<LinkError>,
    },
    /// Any other system error.
    Io {
        /// The device path.
        device: String,
        /// The operation that failed (`"open"`, `"read"`, `"poll"`, ...).
        op: &'static str,
        /// The system error class.
        kind: io::ErrorKind,
        /// The system's message.
        detail: String,
    },
}

impl LinkError {
    /// The device path the error is about.
    pub fn device(&self) -> &str {
        match self {
            Self::NotFound { device }
            | Self::Busy { device }
            | Self::PermissionDenied { device }
            | Self::NotATty { device }
            | Self::BadSettings { device, .. }
            | Self::NoAnswer { device, .. }
            | Self::WriteStalled { device, .. }
            | Self::Disconnected { device }
            | Self::Closed { device }
            | Self::ReopenFailed { device, .. }
            | Self::Io { device, .. } => device,
        }
    }

    /// Whether retrying later may succeed (the device may appear, be released or come back).
    ///
    /// Permission, not-a-tty and bad-settings errors will not heal by waiting.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::NotFound { .. }
            | Self::Busy { .. }
            | Self::NoAnswer { .. }
            | Self::WriteStalled { .. }
            | Self::Disconnected { .. }
            | Self::Io { .. } => true,
            Self::PermissionDenied { .. }
            | Self::NotATty { .. }
            | Self::BadSettings { .. }
            | Self::Closed { .. }
            | Self::ReopenFailed { .. } => false,
        }
    }

    /// The [`io::ErrorKind`] this error maps to when it crosses an `std::io` interface.
    pub fn io_kind(&self) -> io::ErrorKind {
        match self {
            Self::NotFound { .. } => io::ErrorKind::NotFound,
            Self::Busy { .. } => io::ErrorKind::ResourceBusy,
            Self::PermissionDenied { .. } => io::ErrorKind::PermissionDenied,
            Self::NotATty { .. } | Self::BadSettings { .. } => io::ErrorKind::InvalidInput,
            Self::NoAnswer { .. } | Self::WriteStalled { .. } => io::ErrorKind::TimedOut,
            Self::Disconnected { .. } | Self::Closed { .. } => io::ErrorKind::BrokenPipe,
            Self::ReopenFailed { last, .. } => last.io_kind(),
            Self::Io { kind, .. } => *kind,
        }
    }

    /// Maps a system error of `op` on `device` to the most specific variant.
    pub(crate) fn from_io(device: &str, op: &'static str, e: &io::Error) -> Self {
        let device = device.to_owned();
        match e.raw_os_error().map(Errno::from_raw) {
            Some(Errno::ENOENT | Errno::ENXIO | Errno::ENODEV) => Self::NotFound { device },
            Some(Errno::EBUSY | Errno::EWOULDBLOCK) if op == "open" => Self::Busy { device },
            Some(Errno::EACCES | Errno::EPERM) => Self::PermissionDenied { device },
            Some(Errno::ENOTTY) => Self::NotATty { device },
            Some(Errno::EIO) if op != "open" => Self::Disconnected { device },
            _ => Self::Io { device, op, kind: e.kind(), detail: e.to_string() },
        }
    }
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound { device } => write!(
                f,
                "serial device {device} not found: is the twin running (`eic-bench twin` prints \
                 its device paths)? For the spare model, check the USB-serial adapter is plugged \
                 in and the cable connected (`ls /dev/serial/by-id/`)"
            ),
            Self::Busy { device } => write!(
                f,
                "serial device {device} is busy: another process holds it (find it with \
                 `fuser -v {device}` or `lsof {device}`) and close it first"
            ),
            Self::PermissionDenied { device } => write!(
                f,
                "permission denied on {device}: add your user to the `dialout` group \
                 (`sudo usermod -aG dialout $USER`, then log in again) or check the device's \
                 permissions (`ls -l {device}`)"
            ),
            Self::NotATty { device } => write!(
                f,
                "{device} is not a serial device (not a tty): check the path; the twin prints \
                 its device paths when it starts"
            ),
            Self::BadSettings { device, baud, detail } => write!(
                f,
                "{device} refused the line settings (8N1, {baud} Bd): {detail}; use a standard \
                 rate such as 115200"
            ),
            Self::NoAnswer { device, waited_ms, baud } => {
                write!(f, "no answer from {device} within {waited_ms} ms: check the unit is ")?;
                if *baud == 0 {
                    write!(f, "powered and running and the bench is connected")
                } else {
                    write!(
                        f,
                        "powered and running, the baud rate ({baud} Bd) matches the unit's, and \
                         the cabling (TX/RX not swapped, ground connected)"
                    )
                }
            }
            Self::WriteStalled { device, waited_ms, sent, total } => write!(
                f,
                "could not send to {device} within {waited_ms} ms ({sent} of {total} octets \
                 sent): the peer is not reading; check it is running and flow control is off"
            ),
            Self::Disconnected { device } => write!(
                f,
                "{device} hung up: the twin exited or the adapter was unplugged; restart it and \
                 reconnect"
            ),
            Self::Closed { device } => {
                write!(f, "{device} is closed after a failed reconnection; open it again")
            }
            Self::ReopenFailed { device, attempts, last } => {
                write!(f, "could not reconnect to {device} after {attempts} attempts: {last}")
            }
            Self::Io { device, op, detail, .. } => write!(f, "{op} on {device} failed: {detail}"),
        }
    }
}

impl std::error::Error for LinkError {}

impl From<LinkError> for io::Error {
    fn from(e: LinkError) -> Self {
        io::Error::new(e.io_kind(), e)
    }
}

/// What [`wait_ready`] saw on a descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Readiness {
    /// The requested event is ready.
    Ready,
    /// The deadline passed first.
    TimedOut,
    /// The line hung up or the descriptor is invalid.
    HungUp,
}

/// Waits until `fd` is readable (`write == false`) or writable, or `deadline` passes.
///
/// Retries on `EINTR` with the remaining time, so the total wait never exceeds the deadline
/// by more than one millisecond of rounding.
pub(crate) fn wait_ready<F: AsFd>(fd: &F, write: bool, deadline: Instant) -> io::Result<Readiness> {
    let wanted = if write { PollFlags::POLLOUT } else { PollFlags::POLLIN };
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        // Round up to whole milliseconds so a sub-millisecond remainder still waits.
        let ms = remaining.as_micros().div_ceil(1000);
        let timeout = PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(fd.as_fd(), wanted)];
        match nix::poll::poll(&mut fds, timeout) {
            Ok(0) => {
                if remaining.is_zero() || Instant::now() >= deadline {
                    return Ok(Readiness::TimedOut);
                }
            }
            Ok(_) => {
                let revents = fds.first().and_then(PollFd::revents).unwrap_or(PollFlags::empty());
                if revents.intersects(wanted) {
                    return Ok(Readiness::Ready);
                }
                if revents.intersects(PollFlags::POLLHUP | PollFlags::POLLERR | PollFlags::POLLNVAL)
                {
                    return Ok(Readiness::HungUp);
                }
            }
            Err(Errno::EINTR) => {}
            Err(e) => return Err(io::Error::from(e)),
        }
    }
}

/// Milliseconds in `d`, saturating.
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_device_and_hint() {
        let e = LinkError::NotFound { device: "/dev/ttyUSB7".into() };
        let s = e.to_string();
        assert!(s.contains("/dev/ttyUSB7") && s.contains("eic-bench twin"), "{s}");
        let e = LinkError::Busy { device: "/dev/pts/9".into() };
        assert!(e.to_string().contains("fuser -v /dev/pts/9"));
        let e = LinkError::PermissionDenied { device: "/dev/ttyS0".into() };
        assert!(e.to_string().contains("dialout"));
        let e = LinkError::NoAnswer { device: "/dev/ttyS0".into(), waited_ms: 200, baud: 115_200 };
        let s = e.to_string();
        assert!(s.contains("200 ms") && s.contains("115200 Bd") && s.contains("cabling"), "{s}");
    }

    #[test]
    fn from_io_maps_errno() {
        let dev = "/dev/x";
        let e = io::Error::from_raw_os_error(Errno::ENOENT as i32);
        assert_eq!(LinkError::from_io(dev, "open", &e), LinkError::NotFound { device: dev.into() });
        let e = io::Error::from_raw_os_error(Errno::EBUSY as i32);
        assert_eq!(LinkError::from_io(dev, "open", &e), LinkError::Busy { device: dev.into() });
        let e = io::Error::from_raw_os_error(Errno::EACCES as i32);
        assert!(matches!(LinkError::from_io(dev, "open", &e), LinkError::PermissionDenied { .. }));
        let e = io::Error::from_raw_os_error(Errno::EIO as i32);
        assert!(matches!(LinkError::from_io(dev, "read", &e), LinkError::Disconnected { .. }));
        assert!(matches!(LinkError::from_io(dev, "open", &e), LinkError::Io { .. }));
    }

    #[test]
    fn transient_classification_and_io_kind() {
        let d = || "/dev/x".to_owned();
        assert!(LinkError::NotFound { device: d() }.is_transient());
        assert!(!LinkError::PermissionDenied { device: d() }.is_transient());
        let e = LinkError::NoAnswer { device: d(), waited_ms: 1, baud: 0 };
        assert_eq!(io::Error::from(e).kind(), io::ErrorKind::TimedOut);
    }
}
