//! The twin's end of the link: a raw pseudo-terminal.
//!
//! [`PtyPair::open`] creates a pseudo-terminal, puts its slave side in raw mode (no echo, no
//! line discipline, no CR/LF translation, 8-bit clean: every octet value passes unchanged) and
//! keeps a descriptor of the slave open for its whole life. That kept descriptor is what lets
//! the bench close the slave path and open it again: without it the last close of the slave
//! hangs the line up, the master reads `EIO` and the twin would have to start over with a new
//! device path.
//!
//! The twin reads and writes the master with [`PtyPair::read_timeout`] and
//! [`PtyPair::write_all_timeout`]; both are bounded by their timeout. While no bench is
//! connected, octets the twin writes wait in the slave's input queue (a few kilobytes); when the
//! queue is full the write times out with [`LinkError::WriteStalled`], and the twin may drop the
//! stale octets with [`PtyPair::discard_unread`].

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::sys::termios::{self, ControlFlags, FlushArg, SetArg};

use super::{LinkError, Readiness, millis, wait_ready};

/// Default timeout of the [`Read`]/[`Write`] implementations.
pub const DEFAULT_IO_TIMEOUT: Duration = Duration::from_millis(100);

/// A pseudo-terminal: the master end the twin uses, and the slave path the bench opens.
#[derive(Debug)]
pub struct PtyPair {
    /// Non-blocking master descriptor.
    master: File,
    /// Kept open so the bench closing the slave never hangs the line up. Never read.
    slave_keep: OwnedFd,
    slave_path: PathBuf,
    /// Label used in errors: "pty master of /dev/pts/N".
    label: String,
    io_timeout: Duration,
}

impl PtyPair {
    /// Opens a new pseudo-terminal in raw mode.
    ///
    /// # Errors
    ///
    /// [`LinkError::Io`] when the system has no free pseudo-terminal or refuses the settings.
    pub fn open() -> Result<Self, LinkError> {
        let io_err = |op: &'static str, e: Errno| LinkError::Io {
            device: "pseudo-terminal".to_owned(),
            op,
            kind: io::Error::from(e).kind(),
            detail: e.desc().to_owned(),
        };
        let pty = nix::pty::openpty(None, None).map_err(|e| io_err("openpty", e))?;
        let slave_path = nix::unistd::ttyname(&pty.slave).map_err(|e| io_err("ttyname", e))?;
        for fd in [&pty.slave, &pty.master] {
            let mut t = termios::tcgetattr(fd).map_err(|e| io_err("tcgetattr", e))?;
            termios::cfmakeraw(&mut t);
            t.control_flags |= ControlFlags::CLOCAL | ControlFlags::CREAD;
            termios::tcsetattr(fd, SetArg::TCSANOW, &t).map_err(|e| io_err("tcsetattr", e))?;
        }
        let flags = fcntl(&pty.master, FcntlArg::F_GETFL).map_err(|e| io_err("fcntl", e))?;
        let flags = OFlag::from_bits_retain(flags) | OFlag::O_NONBLOCK;
        fcntl(&pty.master, FcntlArg::F_SETFL(flags)).map_err(|e| io_err("fcntl", e))?;
        let label = format!("pty master of {}", slave_path.display());
        Ok(Self {
            master: File::from(pty.master),
            slave_keep: pty.slave,
            slave_path,
            label,
            io_timeout: DEFAULT_IO_TIMEOUT,
        })
    }

    /// The slave device path the bench opens (e.g. `/dev/pts/3`): print it for the operator.
    pub fn slave_path(&self) -> &Path {
        &self.slave_path
    }

    /// Sets the timeout used by the [`Read`] and [`Write`] implementations.
    pub fn set_io_timeout(&mut self, timeout: Duration) {
        self.io_timeout = timeout;
    }

    /// Reads what the bench sent, waiting at most `timeout`.
    ///
    /// Returns the number of octets read, at least 1, or `Ok(0)` when nothing arrived within
    /// `timeout` (the master never sees end-of-file while the pair lives, so 0 only means
    /// "timed out").
    ///
    /// # Errors
    ///
    /// [`LinkError::Io`] on a system error; [`LinkError::Disconnected`] if the line hung up
    /// (which the kept slave descriptor prevents).
    pub fn read_timeout(&self, buf: &mut [u8], timeout: Duration) -> Result<usize, LinkError> {
        if buf.is_empty() {
            return Ok(0);
        }
        let deadline = Instant::now() + timeout;
        loop {
            match (&self.master).read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(LinkError::from_io(&self.label, "read", &e)),
            }
            match wait_ready(&self.master, false, deadline) {
                Ok(Readiness::Ready) => {}
                Ok(Readiness::TimedOut) => return Ok(0),
                // Only possible if no slave descriptor were open: the kept one prevents it.
                Ok(Readiness::HungUp) => {
                    return Err(LinkError::Disconnected { device: self.label.clone() });
                }
                Err(e) => return Err(LinkError::from_io(&self.label, "poll", &e)),
            }
        }
    }

    /// Writes all of `data` towards the bench, waiting at most `timeout` in total.
    ///
    /// # Errors
    ///
    /// [`LinkError::WriteStalled`] when the slave's input queue stays full until the deadline
    /// (no bench reading); [`LinkError::Io`] on a system error.
    pub fn write_all_timeout(&self, data: &[u8], timeout: Duration) -> Result<(), LinkError> {
        let start = Instant::now();
        let deadline = start + timeout;
        let mut sent = 0usize;
        while let Some(rest) = data.get(sent..).filter(|r| !r.is_empty()) {
            match (&self.master).write(rest) {
                Ok(n) => {
                    sent += n;
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(LinkError::from_io(&self.label, "write", &e)),
            }
            match wait_ready(&self.master, true, deadline) {
                Ok(Readiness::Ready) => {}
                Ok(Readiness::TimedOut | Readiness::HungUp) => {
                    return Err(LinkError::WriteStalled {
                        device: self.label.clone(),
                        waited_ms: millis(start.elapsed()),
                        sent,
                        total: data.len(),
                    });
                }
                Err(e) => return Err(LinkError::from_io(&self.label, "poll", &e)),
            }
        }
        Ok(())
    }

    /// Discards octets written by the twin that no bench has read yet (stale telemetry queued
    /// while the bench was disconnected).
    ///
    /// # Errors
    ///
    /// [`LinkError::Io`] on a system error.
    pub fn discard_unread(&self) -> Result<(), LinkError> {
        termios::tcflush(&self.slave_keep, FlushArg::TCIFLUSH)
            .map_err(|e| LinkError::from_io(&self.label, "tcflush", &io::Error::from(e)))
    }
}

impl fmt::Display for PtyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.slave_path.display())
    }
}

/// Reads with the pair's I/O timeout; a timeout is [`io::ErrorKind::TimedOut`].
impl Read for &PtyPair {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.read_timeout(buf, self.io_timeout)? {
            0 if !buf.is_empty() => Err(io::Error::from(LinkError::NoAnswer {
                device: self.label.clone(),
                waited_ms: millis(self.io_timeout),
                baud: 0,
            })),
            n => Ok(n),
        }
    }
}

/// Writes everything or fails within the pair's I/O timeout.
impl Write for &PtyPair {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all_timeout(buf, self.io_timeout)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for PtyPair {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }
}

impl Write for PtyPair {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::fs::OpenOptions;

    use super::*;

    #[test]
    fn open_gives_a_tty_path() {
        let pty = PtyPair::open().unwrap();
        assert!(pty.slave_path().starts_with("/dev/"), "{}", pty.slave_path().display());
        assert_eq!(pty.to_string(), pty.slave_path().display().to_string());
    }

    #[test]
    fn read_with_nothing_times_out_with_zero() {
        let pty = PtyPair::open().unwrap();
        let t0 = Instant::now();
        let n = pty.read_timeout(&mut [0u8; 8], Duration::from_millis(30)).unwrap();
        assert_eq!(n, 0);
        assert!(t0.elapsed() >= Duration::from_millis(30));
    }

    #[test]
    fn raw_slave_passes_cr_lf_and_no_echo() {
        let pty = PtyPair::open().unwrap();
        let mut slave = OpenOptions::new().read(true).write(true).open(pty.slave_path()).unwrap();
        slave.write_all(b"\r\n\x03\x04\x7f").unwrap();
        let mut buf = [0u8; 16];
        let n = pty.read_timeout(&mut buf, Duration::from_secs(2)).unwrap();
        assert_eq!(&buf[..n], b"\r\n\x03\x04\x7f");
        pty.write_all_timeout(b"\r\x11\x13", Duration::from_secs(2)).unwrap();
        let n = slave.read(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"\r\x11\x13");
        // No echo came back to the master.
        assert_eq!(pty.read_timeout(&mut buf, Duration::from_millis(20)).unwrap(), 0);
    }

    #[test]
    fn stalled_write_times_out_and_discard_unblocks() {
        let pty = PtyPair::open().unwrap();
        let big = vec![0x5Au8; 1 << 20];
        let e = pty.write_all_timeout(&big, Duration::from_millis(50)).unwrap_err();
        match e {
            LinkError::WriteStalled { sent, total, .. } => {
                assert!(sent < total);
            }
            other => panic!("unexpected {other:?}"),
        }
        pty.discard_unread().unwrap();
        pty.write_all_timeout(&[1, 2, 3], Duration::from_millis(500)).unwrap();
    }
}
