//! Software baud-rate emulation for 8N1 lines (10 bit times per octet).
//!
//! A pseudo-terminal moves octets as fast as the processes do; the twin emulates the unit's
//! serial line with a [`Pacer`], a token bucket whose clock is passed in by the caller (so its
//! tests are exact and need no sleeping), and the [`ThrottledWriter`] / [`ThrottledReader`]
//! wrappers that apply it to real I/O with the monotonic clock.
//!
//! The bucket is kept in exact integer units (bit·nanoseconds: one bit at `baud` Bd costs
//! 10⁹ units and `baud` units accrue per nanosecond), so long runs do not drift. Its capacity,
//! the burst, models the UART's FIFO: up to `burst_octets` may leave at once after an idle
//! period; any longer stream leaves at exactly `baud / 10` octets per second.

use std::fmt;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use super::BITS_PER_OCTET_8N1;

const NS_PER_S: u128 = 1_000_000_000;

/// A pacer configuration error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ThrottleError {
    /// The baud rate must be at least 1.
    ZeroBaud,
    /// The burst must be at least one octet.
    ZeroBurst,
}

impl fmt::Display for ThrottleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ZeroBaud => f.write_str("baud rate must be at least 1 Bd"),
            Self::ZeroBurst => f.write_str("burst must be at least 1 octet"),
        }
    }
}

impl std::error::Error for ThrottleError {}

/// A token bucket pacing octets to an 8N1 line rate. Time is given by the caller, in
/// nanoseconds on any monotonic scale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pacer {
    baud: u32,
    burst_octets: u32,
    /// Capacity in bit·ns.
    capacity: u128,
    /// Current credit in bit·ns; negative is debt that the caller must wait out.
    level: i128,
    last_ns: u64,
}

impl Pacer {
    /// A pacer for `baud` Bd that lets `burst_octets` leave at once after idling; the bucket
    /// starts full at time `now_ns`.
    ///
    /// # Errors
    ///
    /// [`ThrottleError::ZeroBaud`], [`ThrottleError::ZeroBurst`].
    pub fn new(baud: u32, burst_octets: u32, now_ns: u64) -> Result<Self, ThrottleError> {
        if baud == 0 {
            return Err(ThrottleError::ZeroBaud);
        }
        if burst_octets == 0 {
            return Err(ThrottleError::ZeroBurst);
        }
        let capacity = u128::from(burst_octets) * u128::from(BITS_PER_OCTET_8N1) * NS_PER_S;
        let level = i128::try_from(capacity).unwrap_or(i128::MAX);
        Ok(Self { baud, burst_octets, capacity, level, last_ns: now_ns })
    }

    /// The line rate in baud.
    pub fn baud(&self) -> u32 {
        self.baud
    }

    /// The burst size in octets.
    pub fn burst_octets(&self) -> u32 {
        self.burst_octets
    }

    /// Time one octet takes on the line, in nanoseconds (rounded up).
    pub fn octet_time_ns(&self) -> u64 {
        self.line_time_ns(1)
    }

    /// Time `octets` take on the line, in nanoseconds (rounded up, saturating).
    pub fn line_time_ns(&self, octets: u64) -> u64 {
        let units = u128::from(octets) * u128::from(BITS_PER_OCTET_8N1) * NS_PER_S;
        u64::try_from(units.div_ceil(u128::from(self.baud))).unwrap_or(u64::MAX)
    }

    /// Books `octets` for sending at `now_ns` and returns how long to wait, in nanoseconds,
    /// before they may go (0 when the bucket holds enough credit).
    ///
    /// The booking is made even when the caller does not wait, so a caller that sends early
    /// only delays the octets after. A `now_ns` earlier than a previous call counts as no time
    /// passed.
    pub fn admit(&mut self, now_ns: u64, octets: usize) -> u64 {
        let elapsed = now_ns.saturating_sub(self.last_ns);
        self.last_ns = self.last_ns.max(now_ns);
        let refill = u128::from(elapsed) * u128::from(self.baud);
        let cap = i128::try_from(self.capacity).unwrap_or(i128::MAX);
        let refill = i128::try_from(refill).unwrap_or(i128::MAX);
        self.level = self.level.saturating_add(refill).min(cap);
        let octets = u128::try_from(octets).unwrap_or(u128::MAX);
        let cost = octets.saturating_mul(u128::from(BITS_PER_OCTET_8N1) * NS_PER_S);
        self.level = self.level.saturating_sub(i128::try_from(cost).unwrap_or(i128::MAX));
        if self.level >= 0 {
            0
        } else {
            let debt = self.level.unsigned_abs();
            u64::try_from(debt.div_ceil(u128::from(self.baud))).unwrap_or(u64::MAX)
        }
    }
}

/// Nanoseconds since `origin`, saturating.
fn ns_since(origin: Instant) -> u64 {
    u64::try_from(origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// A writer that paces the octets it passes on to the line rate of its [`Pacer`].
///
/// Each `write` sends at most one burst, after sleeping as long as the pacer says, so a large
/// `write_all` leaves at exactly the line rate.
#[derive(Debug)]
pub struct ThrottledWriter<W> {
    inner: W,
    pacer: Pacer,
    origin: Instant,
}

impl<W: Write> ThrottledWriter<W> {
    /// Paces `inner` to `baud` Bd with a burst of `burst_octets`.
    ///
    /// # Errors
    ///
    /// As [`Pacer::new`].
    pub fn new(inner: W, baud: u32, burst_octets: u32) -> Result<Self, ThrottleError> {
        Ok(Self { inner, pacer: Pacer::new(baud, burst_octets, 0)?, origin: Instant::now() })
    }

    /// The wrapped writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// The wrapped writer, mutably.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Unwraps the writer.
    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> Write for ThrottledWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let burst = usize::try_from(self.pacer.burst_octets()).unwrap_or(usize::MAX);
        let chunk = buf.get(..burst.min(buf.len())).unwrap_or(buf);
        if chunk.is_empty() {
            return Ok(0);
        }
        let wait = self.pacer.admit(ns_since(self.origin), chunk.len());
        if wait > 0 {
            std::thread::sleep(Duration::from_nanos(wait));
        }
        self.inner.write_all(chunk)?;
        Ok(chunk.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that delivers what it reads no faster than the line rate of its [`Pacer`]
/// (the uplink direction of an emulated line).
#[derive(Debug)]
pub struct ThrottledReader<R> {
    inner: R,
    pacer: Pacer,
    origin: Instant,
}

impl<R: Read> ThrottledReader<R> {
    /// Paces `inner` to `baud` Bd with a burst of `burst_octets`.
    ///
    /// # Errors
    ///
    /// As [`Pacer::new`].
    pub fn new(inner: R, baud: u32, burst_octets: u32) -> Result<Self, ThrottleError> {
        Ok(Self { inner, pacer: Pacer::new(baud, burst_octets, 0)?, origin: Instant::now() })
    }

    /// Unwraps the reader.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read> Read for ThrottledReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let burst = usize::try_from(self.pacer.burst_octets()).unwrap_or(usize::MAX);
        let len = burst.min(buf.len());
        let Some(chunk) = buf.get_mut(..len) else { return Ok(0) };
        let n = self.inner.read(chunk)?;
        let wait = self.pacer.admit(ns_since(self.origin), n);
        if wait > 0 {
            std::thread::sleep(Duration::from_nanos(wait));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octet_time_is_ten_bit_times() {
        let p = Pacer::new(115_200, 1, 0).unwrap();
        // 10 / 115200 s = 86 805.55... ns, rounded up.
        assert_eq!(p.octet_time_ns(), 86_806);
        assert_eq!(p.line_time_ns(1119), 97_135_417); // one CADU
        assert_eq!(Pacer::new(10, 1, 0).unwrap().octet_time_ns(), 1_000_000_000);
    }

    #[test]
    fn burst_is_free_then_line_rate() {
        // 1000 Bd: 100 octets/s, 10 ms per octet.
        let mut p = Pacer::new(1000, 4, 0).unwrap();
        assert_eq!(p.admit(0, 4), 0);
        assert_eq!(p.admit(0, 1), 10_000_000);
        // Waiting out the debt clears it exactly.
        assert_eq!(p.admit(10_000_000, 0), 0);
        assert_eq!(p.admit(10_000_000, 2), 20_000_000);
    }

    #[test]
    fn long_stream_leaves_at_exact_rate() {
        // Send 1 octet at a time, always waiting what the pacer says: after the burst, the
        // simulated clock advances by exactly one octet time per octet.
        let mut p = Pacer::new(9600, 16, 0).unwrap();
        let mut now = 0u64;
        for _ in 0..10_016 {
            now += p.admit(now, 1);
        }
        let expected = p.line_time_ns(10_000);
        assert!(now.abs_diff(expected) <= 1, "{now} vs {expected}");
    }

    #[test]
    fn idle_refills_up_to_the_burst_only() {
        let mut p = Pacer::new(1000, 3, 0).unwrap();
        assert_eq!(p.admit(0, 3), 0);
        // A long idle period refills 3 octets, not more.
        assert_eq!(p.admit(1_000_000_000_000, 3), 0);
        assert_eq!(p.admit(1_000_000_000_000, 1), 10_000_000);
    }

    #[test]
    fn time_going_backwards_counts_as_none() {
        let mut p = Pacer::new(1000, 1, 1_000).unwrap();
        assert_eq!(p.admit(1_000, 1), 0);
        assert_eq!(p.admit(0, 1), 10_000_000);
    }

    #[test]
    fn bad_configs_are_refused() {
        assert_eq!(Pacer::new(0, 1, 0), Err(ThrottleError::ZeroBaud));
        assert_eq!(Pacer::new(1, 0, 0), Err(ThrottleError::ZeroBurst));
    }

    #[test]
    fn huge_requests_saturate_instead_of_overflowing() {
        let mut p = Pacer::new(1, 1, u64::MAX).unwrap();
        assert_eq!(p.admit(u64::MAX, usize::MAX), u64::MAX);
        assert_eq!(p.line_time_ns(u64::MAX), u64::MAX);
    }

    #[test]
    fn throttled_reader_passes_data_unchanged() {
        let data: Vec<u8> = (0..=255).collect();
        let mut r = ThrottledReader::new(&data[..], 10_000_000, 64).unwrap();
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out, data);
    }
}
