//! CADU synchronisation (CCSDS 131.0-B-5 §9 and §10): ASM search, lock, derandomisation.
//!
//! A CADU is the 4-octet attached sync marker [`crate::mission::ASM`] (`1A CF FC 1D`, never
//! randomised) followed by one AOS frame randomised with the TM pseudo-noise sequence.
//! [`Synchroniser`] is a heap-free streaming decoder: feed it byte chunks of any size with
//! [`Synchroniser::push`], and it calls back with each derandomised 1115-octet frame and the
//! stream offset of its ASM.
//!
//! # Thresholds
//! - **Searching**: the ASM must match exactly (0 of 32 bits wrong) at an octet boundary. The
//!   chance that 32 random bits match is 2⁻³², so garbage rarely gives a false lock; a false
//!   lock costs one frame, which the FECF then rejects.
//! - **Locked**: the next ASM is expected exactly [`CADU_LEN`] octets after the previous one
//!   and is accepted with up to [`LOCKED_MAX_ASM_BIT_ERRORS`] (3) wrong bits of 32.
//! - **Loss of lock**: on the first ASM with more wrong bits than that (no flywheel), lock is
//!   lost, the lock-loss counter is incremented and the search restarts
//!   [`RESYNC_REWIND`] (16) octets *before* the expected marker, over the last octets of the
//!   previous CADU (kept for this) and the rejected block. Octets dropped on the line make the
//!   next ASM arrive early: with up to 16 octets lost in a CADU, only that (damaged) CADU is
//!   lost, and the next one is found where it really starts; octets inserted make it arrive
//!   late, which the search finds anyway. (Restarting after the expected position, as a
//!   plain search would, also loses the CADU that follows any drop.) The rewind is bounded, so
//!   the search never goes back further than 16 octets and the state stays fixed-size.
//!
//! Octets that do not end up inside a delivered CADU are counted as garbage
//! ([`Stats::garbage_octets`]); octets searched again after a rewind are not counted as
//! garbage twice, and those that end up in a second CADU (the last octets of a CADU that lost
//! octets also begin the next one) are counted in [`Stats::overlap_octets`]. The ASM is searched
//! at octet alignment only: the serial link of ICD §1 is octet-framed (8N1), so bit slips
//! cannot occur.
//!
//! # Performance
//! When locked, a whole CADU that lies in the input chunk is checked and derandomised straight
//! from it (one bulk copy and one XOR pass); only CADUs split across two chunks go through the
//! internal staging buffer.

use crate::aos::FRAME_LEN;
use crate::mission::{ASM, CADU_LEN};
use crate::randomizer::tm_apply;

/// The largest number of wrong ASM bits accepted while locked.
pub const LOCKED_MAX_ASM_BIT_ERRORS: u32 = 3;

/// How many octets before the expected ASM the search restarts after a loss of lock: the
/// most octets a CADU may lose on the line without the next CADU being lost as well.
pub const RESYNC_REWIND: usize = 16;

/// Staging buffer: one CADU plus the rewound octets.
const BUF_LEN: usize = CADU_LEN + RESYNC_REWIND;

const ASM_WORD: u32 = u32::from_be_bytes(ASM);
const ASM_LEN: usize = ASM.len();

/// A derandomised frame handed out by the synchroniser.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// The 1115 octets of the AOS frame, derandomised (FECF not yet checked).
    pub bytes: &'a [u8; FRAME_LEN],
    /// Stream offset (octets since the synchroniser was created) of the first ASM octet.
    pub offset: u64,
    /// Wrong bits in this frame's ASM (0 while searching; up to the locked threshold).
    pub asm_bit_errors: u32,
}

/// Counters of the synchroniser since it was created.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Frames delivered.
    pub frames: u64,
    /// Octets not part of a delivered CADU.
    pub garbage_octets: u64,
    /// Times lock was acquired.
    pub locks: u64,
    /// Times lock was lost after a missed ASM.
    pub lock_losses: u64,
    /// ASMs accepted with at least one wrong bit.
    pub asm_corrected: u64,
    /// Octets searched again after a loss of lock that ended up in a second delivered CADU
    /// (the last octets of a CADU that lost octets on the line, which are the first octets
    /// of the next). Every stream octet is accounted once:
    /// `garbage_octets + frames × CADU_LEN + pending_octets = octets pushed + overlap_octets`.
    pub overlap_octets: u64,
}

/// Streaming, heap-free CADU synchroniser (about 2.3 KiB of state).
#[derive(Clone, Debug)]
pub struct Synchroniser {
    /// Staging buffer: while locked, the start of a CADU split across chunks; while
    /// searching, octets still to be searched (after a loss of lock, the rewound octets
    /// first).
    buf: [u8; BUF_LEN],
    fill: usize,
    frame: [u8; FRAME_LEN],
    /// The last [`RESYNC_REWIND`] octets of the last CADU delivered, and how many are valid.
    tail: [u8; RESYNC_REWIND],
    tail_len: usize,
    /// Octets at the front of `buf` already counted in a delivered CADU.
    rewound: usize,
    locked: bool,
    /// Stream offset of `buf[0]` (or of the next input octet when `fill` is 0).
    offset: u64,
    stats: Stats,
}

impl Default for Synchroniser {
    fn default() -> Self {
        Self::new()
    }
}

impl Synchroniser {
    /// A synchroniser in the searching state, at stream offset 0.
    pub const fn new() -> Self {
        Synchroniser {
            buf: [0; BUF_LEN],
            fill: 0,
            frame: [0; FRAME_LEN],
            tail: [0; RESYNC_REWIND],
            tail_len: 0,
            rewound: 0,
            locked: false,
            offset: 0,
            stats: Stats {
                frames: 0,
                garbage_octets: 0,
                locks: 0,
                lock_losses: 0,
                asm_corrected: 0,
                overlap_octets: 0,
            },
        }
    }

    /// Whether the synchroniser is locked on the CADU stream.
    pub const fn is_locked(&self) -> bool {
        self.locked
    }

    /// Counters since creation.
    pub const fn stats(&self) -> Stats {
        self.stats
    }

    /// Octets held back, waiting for the rest of a CADU or of a possible ASM (not counting
    /// octets of a delivered CADU held for a new search after a loss of lock).
    pub const fn pending_octets(&self) -> usize {
        self.fill.saturating_sub(self.rewound)
    }

    /// Drops the lock and any held-back octets (counted as garbage); the counters remain.
    pub fn reset(&mut self) {
        self.discard(self.fill);
        self.locked = false;
        self.tail_len = 0;
    }

    /// Feeds a chunk of the byte stream; calls `on_frame` for every frame found, in order.
    ///
    /// # Panics
    /// Never, whatever the input.
    pub fn push<F: FnMut(Frame<'_>)>(&mut self, mut input: &[u8], mut on_frame: F) {
        loop {
            if self.locked {
                if self.fill == 0 {
                    // Fast path: whole CADUs straight from the input.
                    while let Some((cadu, rest)) = input.split_first_chunk::<CADU_LEN>() {
                        if !self.deliver_from(cadu, &mut on_frame) {
                            break;
                        }
                        input = rest;
                    }
                    if !self.locked {
                        // The CADU at the head of `input` was rejected: search again from a
                        // little before it (the input follows the rewound octets).
                        self.rewind();
                        continue;
                    }
                }
                // Slow path: top up the staging buffer to one CADU.
                let n = self.top_up(&mut input, CADU_LEN);
                if self.fill >= CADU_LEN {
                    let mut cadu = [0u8; CADU_LEN];
                    if let Some(head) = self.buf.get(..CADU_LEN) {
                        cadu.copy_from_slice(head);
                    }
                    if self.deliver_from(&cadu, &mut on_frame) {
                        self.consume(CADU_LEN);
                    } else {
                        self.rewind();
                    }
                    continue;
                }
                if n == 0 || input.is_empty() {
                    return;
                }
            } else {
                self.top_up(&mut input, BUF_LEN);
                // A failed search keeps at most 3 octets, so more input always fits next.
                if !self.search() && input.is_empty() {
                    return;
                }
            }
        }
    }

    /// After a loss of lock: puts the kept tail of the last CADU in front of the staging
    /// buffer, so that the search restarts up to [`RESYNC_REWIND`] octets before the rejected
    /// marker.
    fn rewind(&mut self) {
        let k = self.tail_len.min(BUF_LEN.saturating_sub(self.fill));
        let end = self.fill;
        self.buf.copy_within(0..end, k);
        if let (Some(dst), Some(src)) = (self.buf.get_mut(..k), self.tail.get(RESYNC_REWIND - k..))
        {
            dst.copy_from_slice(src);
        }
        self.fill += k;
        self.rewound = k;
        self.offset = self.offset.saturating_sub(k as u64);
        self.tail_len = 0;
    }

    /// Drops `n` octets of a delivered CADU from the front of the staging buffer.
    fn consume(&mut self, n: usize) {
        let n = n.min(self.fill);
        self.buf.copy_within(n..self.fill, 0);
        self.fill -= n;
        self.rewound = 0;
    }

    /// Copies as much input as fits into the staging buffer, up to `limit` octets in it;
    /// returns the number copied.
    fn top_up(&mut self, input: &mut &[u8], limit: usize) -> usize {
        let room = limit.min(BUF_LEN).saturating_sub(self.fill);
        let n = room.min(input.len());
        let (head, rest) = input.split_at(n);
        if let Some(dst) = self.buf.get_mut(self.fill..self.fill + n) {
            dst.copy_from_slice(head);
            self.fill += n;
            *input = rest;
            n
        } else {
            0
        }
    }

    /// Searches an exact ASM in the staging buffer. On success, moves it to the front and
    /// locks; otherwise keeps the last three octets (a possible ASM prefix).
    fn search(&mut self) -> bool {
        let data = self.buf.get(..self.fill).unwrap_or(&[]);
        let found = data.windows(ASM_LEN).position(|w| w == ASM);
        match found {
            Some(p) => {
                self.discard(p);
                // Rewound octets still in front now begin the new CADU as well.
                self.stats.overlap_octets += self.rewound as u64;
                self.rewound = 0;
                self.locked = true;
                self.stats.locks += 1;
                true
            }
            None => {
                let keep = self.fill.min(ASM_LEN - 1);
                self.discard(self.fill - keep);
                false
            }
        }
    }

    /// Drops `n` octets from the front of the staging buffer as garbage (rewound octets,
    /// already counted in a delivered CADU, are not counted again).
    fn discard(&mut self, n: usize) {
        let n = n.min(self.fill);
        self.buf.copy_within(n..self.fill, 0);
        self.fill -= n;
        let again = n.min(self.rewound);
        self.rewound -= again;
        self.stats.garbage_octets += (n - again) as u64;
        self.offset += n as u64;
    }

    /// Checks the ASM of a CADU and delivers its frame; on a miss, loses lock.
    fn deliver_from<F: FnMut(Frame<'_>)>(
        &mut self,
        cadu: &[u8; CADU_LEN],
        on_frame: &mut F,
    ) -> bool {
        let (asm, body) = cadu.split_at(ASM_LEN);
        let mut word = [0u8; ASM_LEN];
        word.copy_from_slice(asm);
        let errors = (u32::from_be_bytes(word) ^ ASM_WORD).count_ones();
        if errors > LOCKED_MAX_ASM_BIT_ERRORS {
            self.locked = false;
            self.stats.lock_losses += 1;
            return false;
        }
        self.frame.copy_from_slice(body);
        if let Some(t) = cadu.get(CADU_LEN - RESYNC_REWIND..) {
            self.tail.copy_from_slice(t);
            self.tail_len = RESYNC_REWIND;
        }
        tm_apply(&mut self.frame);
        if errors > 0 {
            self.stats.asm_corrected += 1;
        }
        self.stats.frames += 1;
        let offset = self.offset;
        self.offset += CADU_LEN as u64;
        on_frame(Frame { bytes: &self.frame, offset, asm_bit_errors: errors });
        true
    }
}

/// Builds a CADU: the ASM, then `frame` randomised with the TM pseudo-noise sequence.
///
/// # Panics
/// Never.
pub fn encode_cadu(frame: &[u8; FRAME_LEN], out: &mut [u8; CADU_LEN]) {
    let (asm, body) = out.split_at_mut(ASM_LEN);
    asm.copy_from_slice(&ASM);
    body.copy_from_slice(frame);
    tm_apply(body);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn frame(seed: u8) -> [u8; FRAME_LEN] {
        core::array::from_fn(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
    }

    fn cadu(seed: u8) -> [u8; CADU_LEN] {
        let mut c = [0u8; CADU_LEN];
        encode_cadu(&frame(seed), &mut c);
        c
    }

    fn run(stream: &[u8], chunk: usize) -> (Vec<([u8; FRAME_LEN], u64)>, Stats) {
        let mut s = Synchroniser::new();
        let mut out = Vec::new();
        for c in stream.chunks(chunk.max(1)) {
            s.push(c, |f| out.push((*f.bytes, f.offset)));
        }
        (out, s.stats())
    }

    #[test]
    fn cadu_starts_with_asm_and_pn() {
        let c = cadu(0);
        assert_eq!(&c[..4], &[0x1A, 0xCF, 0xFC, 0x1D]);
        let f = frame(0);
        assert_eq!(c[4] ^ f[0], 0xFF);
        assert_eq!(c[5] ^ f[1], 0x48);
    }

    #[test]
    fn locks_and_delivers_in_any_chunking() {
        let mut stream = std::vec![0x00, 0x11, 0x1A, 0xCF];
        for s in 0..3 {
            stream.extend_from_slice(&cadu(s));
        }
        for chunk in [1, 3, 7, 1000, CADU_LEN, 5000] {
            let (frames, stats) = run(&stream, chunk);
            assert_eq!(frames.len(), 3, "chunk {chunk}");
            for (i, (f, off)) in frames.iter().enumerate() {
                assert_eq!(*f, frame(i as u8));
                assert_eq!(*off, 4 + (i * CADU_LEN) as u64);
            }
            assert_eq!(stats.garbage_octets, 4);
            assert_eq!(stats.locks, 1);
        }
    }

    #[test]
    fn tolerates_three_asm_bit_errors_while_locked() {
        let mut stream = Vec::new();
        stream.extend_from_slice(&cadu(0));
        let mut c = cadu(1);
        c[0] ^= 0x01;
        c[2] ^= 0x80;
        c[3] ^= 0x10;
        stream.extend_from_slice(&c);
        let (frames, stats) = run(&stream, 64);
        assert_eq!(frames.len(), 2);
        assert_eq!(stats.asm_corrected, 1);
        assert_eq!(stats.lock_losses, 0);
    }

    #[test]
    fn four_asm_bit_errors_lose_lock_and_reacquire() {
        let mut stream = Vec::new();
        stream.extend_from_slice(&cadu(0));
        let mut c = cadu(1);
        c[0] ^= 0x0F;
        stream.extend_from_slice(&c);
        stream.extend_from_slice(&cadu(2));
        for chunk in [CADU_LEN * 4, 100] {
            let (frames, stats) = run(&stream, chunk);
            assert_eq!(frames.len(), 2);
            assert_eq!(frames[1].0, frame(2));
            assert_eq!(stats.lock_losses, 1);
            assert_eq!(stats.locks, 2);
            assert_eq!(stats.garbage_octets, CADU_LEN as u64);
        }
    }

    /// Five CADUs with `drop` octets removed at `at` (an offset in the stream).
    fn stream_with_drop(at: usize, drop: usize) -> Vec<u8> {
        let mut stream = Vec::new();
        for i in 0..5 {
            stream.extend_from_slice(&cadu(i));
        }
        stream.drain(at..at + drop);
        stream
    }

    fn intact(frames: &[([u8; FRAME_LEN], u64)]) -> Vec<u8> {
        (0..5u8).filter(|&i| frames.iter().any(|(f, _)| *f == frame(i))).collect()
    }

    #[test]
    fn one_octet_dropped_loses_at_most_the_damaged_frame() {
        // Anywhere in the body of CADU 2, in the ASM of CADU 2, or in its last octet.
        for at in [2 * CADU_LEN + 500, 2 * CADU_LEN + 1, 3 * CADU_LEN - 1, 2 * CADU_LEN + 4] {
            for chunk in [1, 7, 100, CADU_LEN, 5000] {
                let (frames, stats) = run(&stream_with_drop(at, 1), chunk);
                assert_eq!(intact(&frames), [0, 1, 3, 4], "drop at {at}, chunk {chunk}");
                assert!(frames.windows(2).all(|w| w[0].1 < w[1].1), "offsets increase");
                assert!(stats.lock_losses <= 1);
            }
        }
    }

    #[test]
    fn drops_up_to_the_rewind_lose_only_the_damaged_frame_and_beyond_it_one_more() {
        for drop in [2, 5, RESYNC_REWIND] {
            let (frames, _) = run(&stream_with_drop(2 * CADU_LEN + 300, drop), 64);
            assert_eq!(intact(&frames), [0, 1, 3, 4], "{drop} octets dropped");
        }
        // More than the rewind: the next CADU is lost too, the one after is found.
        let (frames, _) = run(&stream_with_drop(2 * CADU_LEN + 300, RESYNC_REWIND + 1), 64);
        assert_eq!(intact(&frames), [0, 1, 4]);
    }

    #[test]
    fn inserted_octets_lose_at_most_the_damaged_frame() {
        let mut stream = Vec::new();
        for i in 0..4 {
            stream.extend_from_slice(&cadu(i));
        }
        stream.splice(CADU_LEN + 200..CADU_LEN + 200, [0x55u8; 3]);
        for chunk in [1, 100, 5000] {
            let (frames, _) = run(&stream, chunk);
            let found: Vec<u8> =
                (0..4u8).filter(|&i| frames.iter().any(|(f, _)| *f == frame(i))).collect();
            assert_eq!(found, [0, 2, 3], "chunk {chunk}");
        }
    }

    #[test]
    fn searching_needs_exact_asm() {
        let mut c = cadu(0);
        c[1] ^= 0x01;
        let (frames, _) = run(&c, 50);
        assert!(frames.is_empty());
    }

    #[test]
    fn garbage_only_never_locks() {
        let g: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let (frames, stats) = run(&g, 333);
        assert!(frames.is_empty());
        assert_eq!(stats.garbage_octets + 3, 10_000);
    }
}
