//! Seeded link fault injection for the twin (`eic-bench twin --faults SPEC`).
//!
//! # Spec syntax
//!
//! A comma-separated list of `key=value` items, each key at most once, in any order:
//!
//! | key | value | meaning |
//! |---|---|---|
//! | `bitflip` | probability in \[0, 1\] | each delivered bit is inverted with this probability |
//! | `drop` | probability in \[0, 1\] | each octet is lost with this probability |
//! | `garbage` | `P:LEN`, P in \[0, 1\], LEN in 1..=4096 | before each octet, a burst of LEN random octets is inserted with probability P (`garbage=P` means LEN 16) |
//! | `frame-drop` | probability in \[0, 1\] | each whole frame ([`FaultInjector::apply_frame`]) is lost with this probability |
//! | `seed` | unsigned 64-bit integer, decimal or `0x` hex | PRNG seed (default 0) |
//!
//! Example: `bitflip=1e-5,drop=0.001,garbage=1e-4:16,frame-drop=0.01,seed=42`. The empty string
//! and `none` mean no faults. Probabilities accept any float syntax (`0.001`, `1e-3`).
//!
//! # Determinism and cost
//!
//! The same spec (seed included) applied to the same octet stream gives the same output,
//! however the stream is cut into chunks: all state (PRNG and the distances to the next events)
//! carries over between calls. Events are placed by drawing geometric skip distances, so the
//! cost is one bulk copy per clean span plus a few operations per event, not a random draw per
//! bit: at `bitflip=1e-5` the injector runs at memory-copy speed.
//!
//! Order per input octet: a garbage burst may be inserted before it, then it may be dropped,
//! then (if delivered) each of its bits may flip. Garbage octets are not flipped further.

use std::fmt;

/// Length of a garbage burst when the spec gives none.
pub const DEFAULT_GARBAGE_LEN: u16 = 16;

/// Longest garbage burst a spec may ask for.
pub const MAX_GARBAGE_LEN: u16 = 4096;

/// Distance meaning "never" (probability 0).
const NEVER: u64 = u64::MAX;

/// The syntax reminder appended to every spec error.
const EXPECTED: &str = "expected comma-separated key=value items among bitflip=P, drop=P, \
                        garbage=P[:LEN], frame-drop=P, seed=N (P a probability in [0, 1], LEN \
                        in 1..=4096), e.g. `bitflip=1e-5,drop=0.001,garbage=1e-4:16,seed=42`";

/// Which link faults to inject, and the seed.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FaultSpec {
    /// Probability that a delivered bit is inverted.
    pub bitflip: f64,
    /// Probability that an octet is lost.
    pub drop: f64,
    /// Probability that a garbage burst is inserted before an octet.
    pub garbage: f64,
    /// Length of each garbage burst, in octets.
    pub garbage_len: u16,
    /// Probability that a whole frame is lost.
    pub frame_drop: f64,
    /// PRNG seed.
    pub seed: u64,
}

impl FaultSpec {
    /// No faults at all.
    pub fn none() -> Self {
        Self { garbage_len: DEFAULT_GARBAGE_LEN, ..Self::default() }
    }

    /// Whether this spec injects nothing.
    pub fn is_none(&self) -> bool {
        self.bitflip == 0.0 && self.drop == 0.0 && self.garbage == 0.0 && self.frame_drop == 0.0
    }

    /// Parses the syntax described in the [module docs](self).
    ///
    /// # Errors
    ///
    /// A [`FaultSpecError`] naming the offending item and repeating the expected syntax.
    pub fn parse(spec: &str) -> Result<Self, FaultSpecError> {
        let mut out = Self::none();
        let trimmed = spec.trim();
        if trimmed.is_empty() || trimmed == "none" {
            return Ok(out);
        }
        let mut seen: Vec<&str> = Vec::new();
        for item in trimmed.split(',') {
            let item = item.trim();
            let err = |kind| FaultSpecError { item: item.to_owned(), kind };
            let Some((key, value)) = item.split_once('=') else {
                return Err(err(FaultSpecErrorKind::NotKeyValue));
            };
            let (key, value) = (key.trim(), value.trim());
            if seen.contains(&key) {
                return Err(err(FaultSpecErrorKind::Duplicate));
            }
            match key {
                "bitflip" => out.bitflip = probability(value).map_err(err)?,
                "drop" => out.drop = probability(value).map_err(err)?,
                "frame-drop" => out.frame_drop = probability(value).map_err(err)?,
                "garbage" => {
                    let (p, len) = match value.split_once(':') {
                        Some((p, len)) => (p, Some(len.trim())),
                        None => (value, None),
                    };
                    out.garbage = probability(p.trim()).map_err(err)?;
                    if let Some(len) = len {
                        out.garbage_len = len
                            .parse::<u16>()
                            .ok()
                            .filter(|l| (1..=MAX_GARBAGE_LEN).contains(l))
                            .ok_or_else(|| err(FaultSpecErrorKind::BadBurstLength))?;
                    }
                }
                "seed" => {
                    let parsed = match value.strip_prefix("0x").or_else(|| value.strip_prefix("0X"))
                    {
                        Some(hex) => u64::from_str_radix(hex, 16),
                        None => value.parse::<u64>(),
                    };
                    out.seed = parsed.map_err(|_| err(FaultSpecErrorKind::BadSeed))?;
                }
                _ => return Err(err(FaultSpecErrorKind::UnknownKey)),
            }
            seen.push(key);
        }
        Ok(out)
    }
}

/// Parses a probability in [0, 1].
fn probability(value: &str) -> Result<f64, FaultSpecErrorKind> {
    let p: f64 = value.parse().map_err(|_| FaultSpecErrorKind::BadProbability)?;
    if p.is_finite() && (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err(FaultSpecErrorKind::BadProbability)
    }
}

impl std::str::FromStr for FaultSpec {
    type Err = FaultSpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// The canonical spec text; it parses back to the same spec.
impl fmt::Display for FaultSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bitflip={:e},drop={:e},garbage={:e}:{},frame-drop={:e},seed={}",
            self.bitflip, self.drop, self.garbage, self.garbage_len, self.frame_drop, self.seed
        )
    }
}

/// What is wrong with one spec item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultSpecErrorKind {
    /// The item is not `key=value`.
    NotKeyValue,
    /// The key is not one of the known keys.
    UnknownKey,
    /// The key appears twice.
    Duplicate,
    /// The value is not a probability in [0, 1].
    BadProbability,
    /// The garbage burst length is not in 1..=4096.
    BadBurstLength,
    /// The seed is not an unsigned 64-bit integer.
    BadSeed,
}

/// A rejected fault spec: the item and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultSpecError {
    /// The offending item, as written.
    pub item: String,
    /// What is wrong with it.
    pub kind: FaultSpecErrorKind,
}

impl fmt::Display for FaultSpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            FaultSpecErrorKind::NotKeyValue => "is not key=value",
            FaultSpecErrorKind::UnknownKey => "has an unknown key",
            FaultSpecErrorKind::Duplicate => "repeats a key",
            FaultSpecErrorKind::BadProbability => "is not a probability in [0, 1]",
            FaultSpecErrorKind::BadBurstLength => "has a burst length outside 1..=4096",
            FaultSpecErrorKind::BadSeed => "has a seed that is not an unsigned 64-bit integer",
        };
        write!(f, "bad fault spec item `{}`: it {what}; {EXPECTED}", self.item)
    }
}

impl std::error::Error for FaultSpecError {}

/// What the injector did so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FaultCounters {
    /// Octets given to the injector (frames dropped whole included).
    pub octets_in: u64,
    /// Octets it passed on (garbage included).
    pub octets_out: u64,
    /// Bits inverted.
    pub bits_flipped: u64,
    /// Octets dropped one by one.
    pub octets_dropped: u64,
    /// Garbage bursts inserted.
    pub garbage_bursts: u64,
    /// Garbage octets inserted.
    pub garbage_octets: u64,
    /// Frames given to [`FaultInjector::apply_frame`].
    pub frames_in: u64,
    /// Frames dropped whole.
    pub frames_dropped: u64,
}

/// What happened to a frame given to [`FaultInjector::apply_frame`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameFate {
    /// The frame went out (possibly with octet-level faults).
    Delivered,
    /// The frame was dropped whole; nothing was written.
    Dropped,
}

/// xoshiro256** seeded through splitmix64: small, fast, and reproducible everywhere.
#[derive(Debug, Clone)]
struct Rng([u64; 4]);

impl Rng {
    fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Self([next(), next(), next(), next()])
    }

    fn next_u64(&mut self) -> u64 {
        let [s0, s1, s2, s3] = &mut self.0;
        let result = s1.wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = *s1 << 17;
        *s2 ^= *s0;
        *s3 ^= *s1;
        *s1 ^= *s2;
        *s0 ^= *s3;
        *s2 ^= t;
        *s3 = s3.rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// Applies a [`FaultSpec`] to a byte stream, deterministically for its seed.
#[derive(Debug, Clone)]
pub struct FaultInjector {
    spec: FaultSpec,
    rng: Rng,
    /// ln(1 - p) of bitflip, drop, garbage (0 when p is 0).
    ln_q: [f64; 3],
    /// Delivered bits to pass before the next flipped bit.
    next_flip: u64,
    /// Octets to pass before the next dropped octet.
    next_drop: u64,
    /// Octets to pass before the octet that gets a garbage burst in front.
    next_garbage: u64,
    counters: FaultCounters,
}

impl FaultInjector {
    /// An injector for `spec`, seeded with `spec.seed`.
    pub fn new(spec: FaultSpec) -> Self {
        let ln_q = [spec.bitflip, spec.drop, spec.garbage].map(|p| (-p).ln_1p());
        let mut inj = Self {
            spec,
            rng: Rng::new(spec.seed),
            ln_q,
            next_flip: NEVER,
            next_drop: NEVER,
            next_garbage: NEVER,
            counters: FaultCounters::default(),
        };
        inj.next_flip = inj.skip(0);
        inj.next_drop = inj.skip(1);
        inj.next_garbage = inj.skip(2);
        inj
    }

    /// The spec in force.
    pub fn spec(&self) -> &FaultSpec {
        &self.spec
    }

    /// What the injector did so far.
    pub fn counters(&self) -> FaultCounters {
        self.counters
    }

    /// Number of trials before the next success of Bernoulli process `which` (geometric).
    fn skip(&mut self, which: usize) -> u64 {
        let ln_q = self.ln_q.get(which).copied().unwrap_or(0.0);
        if ln_q == 0.0 {
            return NEVER; // p == 0
        }
        if ln_q == f64::NEG_INFINITY {
            return 0; // p == 1
        }
        // U in (0, 1]: ln(U) is finite and <= 0.
        let u = 1.0 - self.rng.unit();
        let k = (u.ln() / ln_q).floor();
        if k >= 1.8e19 { NEVER } else { k as u64 }
    }

    /// Applies the octet-level faults (garbage, drop, bit flips) to `input`, appending the
    /// result to `out`.
    pub fn apply(&mut self, input: &[u8], out: &mut Vec<u8>) {
        out.reserve(input.len());
        let mut rest = input;
        while !rest.is_empty() {
            let clean = self.next_garbage.min(self.next_drop).min(self.next_flip / 8);
            let span = usize::try_from(clean).unwrap_or(usize::MAX).min(rest.len());
            let Some((clean, tail)) = rest.split_at_checked(span) else { break };
            out.extend_from_slice(clean);
            let span64 = span as u64;
            self.next_garbage = self.next_garbage.saturating_sub(span64);
            self.next_drop = self.next_drop.saturating_sub(span64);
            self.next_flip = self.next_flip.saturating_sub(span64.saturating_mul(8));
            self.counters.octets_in += span64;
            self.counters.octets_out += span64;

            let Some((&octet, tail)) = tail.split_first() else { break };
            rest = tail;
            self.counters.octets_in += 1;
            if self.next_garbage == 0 {
                self.insert_garbage(out);
                self.next_garbage = self.skip(2).saturating_add(1);
            }
            self.next_garbage = self.next_garbage.saturating_sub(1);
            if self.next_drop == 0 {
                self.counters.octets_dropped += 1;
                self.next_drop = self.skip(1);
                continue;
            }
            self.next_drop = self.next_drop.saturating_sub(1);
            let mut octet = octet;
            while self.next_flip < 8 {
                octet ^= 0x80 >> self.next_flip;
                self.counters.bits_flipped += 1;
                self.next_flip = self.next_flip.saturating_add(1).saturating_add(self.skip(0));
            }
            self.next_flip = self.next_flip.saturating_sub(8);
            out.push(octet);
            self.counters.octets_out += 1;
        }
    }

    /// Treats `frame` as one frame: drops it whole with the `frame-drop` probability, else
    /// applies the octet-level faults and appends the result to `out`.
    pub fn apply_frame(&mut self, frame: &[u8], out: &mut Vec<u8>) -> FrameFate {
        self.counters.frames_in += 1;
        if self.spec.frame_drop > 0.0 && self.rng.unit() < self.spec.frame_drop {
            self.counters.frames_dropped += 1;
            self.counters.octets_in += frame.len() as u64;
            return FrameFate::Dropped;
        }
        self.apply(frame, out);
        FrameFate::Delivered
    }

    fn insert_garbage(&mut self, out: &mut Vec<u8>) {
        let len = usize::from(self.spec.garbage_len);
        let mut left = len;
        while left > 0 {
            let word = self.rng.next_u64().to_le_bytes();
            let take = left.min(word.len());
            out.extend_from_slice(word.get(..take).unwrap_or(&word));
            left -= take;
        }
        self.counters.garbage_bursts += 1;
        self.counters.garbage_octets += len as u64;
        self.counters.octets_out += len as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_full_example() {
        let s = FaultSpec::parse("bitflip=1e-5,drop=0.001,garbage=1e-4:16,frame-drop=0.01,seed=42")
            .unwrap();
        assert_eq!(
            s,
            FaultSpec {
                bitflip: 1e-5,
                drop: 0.001,
                garbage: 1e-4,
                garbage_len: 16,
                frame_drop: 0.01,
                seed: 42
            }
        );
        assert_eq!(FaultSpec::parse(&s.to_string()).unwrap(), s);
    }

    #[test]
    fn parse_defaults_spaces_and_hex_seed() {
        let s = FaultSpec::parse(" drop = 0.5 , garbage=0.25, seed=0x2A ").unwrap();
        assert_eq!(s.garbage_len, DEFAULT_GARBAGE_LEN);
        assert_eq!(s.seed, 42);
        assert_eq!(s.bitflip, 0.0);
        assert!(FaultSpec::parse("").unwrap().is_none());
        assert!(FaultSpec::parse("none").unwrap().is_none());
    }

    #[test]
    fn identity_when_no_faults() {
        let mut inj = FaultInjector::new(FaultSpec::none());
        let data: Vec<u8> = (0..=255).collect();
        let mut out = Vec::new();
        inj.apply(&data, &mut out);
        assert_eq!(out, data);
        assert_eq!(inj.counters().octets_out, 256);
    }

    #[test]
    fn certain_faults() {
        let all = |spec: &str, input: &[u8]| {
            let mut inj = FaultInjector::new(FaultSpec::parse(spec).unwrap());
            let mut out = Vec::new();
            inj.apply(input, &mut out);
            (out, inj.counters())
        };
        let (out, c) = all("bitflip=1", &[0x00, 0xFF, 0x5A]);
        assert_eq!(out, [0xFF, 0x00, 0xA5]);
        assert_eq!(c.bits_flipped, 24);
        let (out, c) = all("drop=1", &[1, 2, 3]);
        assert!(out.is_empty());
        assert_eq!(c.octets_dropped, 3);
        let (out, c) = all("garbage=1:3", &[7, 8]);
        assert_eq!(out.len(), 8);
        assert_eq!((out[3], out[7]), (7, 8));
        assert_eq!((c.garbage_bursts, c.garbage_octets), (2, 6));
        let mut inj = FaultInjector::new(FaultSpec::parse("frame-drop=1").unwrap());
        let mut out = Vec::new();
        assert_eq!(inj.apply_frame(&[1, 2, 3], &mut out), FrameFate::Dropped);
        assert!(out.is_empty());
    }
}
