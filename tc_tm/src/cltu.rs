//! Communications link transmission units: BCH(63,56) coding of TC frames (CCSDS 231.0-B-4).
//!
//! ```text
//! +-------+------------------+------------------+-----+------------------------------+-------------------------+
//! | EB 90 | 7 info + 1 check | 7 info + 1 check | ... | last 7 info (fill 0x55) + 1  | C5 C5 C5 C5 C5 C5 C5 79 |
//! +-------+------------------+------------------+-----+------------------------------+-------------------------+
//!  start     code block 0       code block 1                                            tail sequence
//! ```
//!
//! Code block (§3.3): 56 information bits, then 7 parity bits of g(x) = x⁷+x⁶+x²+1 (shift register
//! initialised to zero), complemented, then one filler bit `0`. The last block is completed with
//! `0x55` fill. The optional TC randomiser ([`crate::randomizer::TC_PN`], §6) is applied to the
//! frame octets *before* BCH encoding (fill is not randomised); the decoders derandomise every
//! decoded octet, fill included, so the fill they return is not `0x55` when randomised.
//!
//! Encoding ([`encode`]) and syndrome computation use one 256-entry table (one lookup per octet).
//!
//! # Decoding rules (both decoders; see also `docs/icd/uplink.md`)
//! - A CLTU starts on the exact octets `EB 90` (byte-aligned: the link is an 8N1 serial line).
//! - Each following group of 8 octets is a code block, examined in this order:
//!   1. If it is within one bit (of 64) of the tail sequence, it is the tail: the CLTU ends and its
//!      decoded octets are delivered. Every real code block is at least 3 bits away from the tail
//!      (the tail is uncorrectable as a codeword and its filler bit is `1`), so a code block with a
//!      single error is never mistaken for the tail, and a tail with a single error still ends the
//!      CLTU.
//!   2. Otherwise the syndrome is computed. A zero syndrome with a zero filler bit is a clean
//!      block. A zero syndrome with a filler bit `1`, or a non-zero syndrome that matches a single
//!      error with a zero filler bit, is corrected (one bit counted in `corrected_bits`).
//!      Anything else (two or more errors, which the distance-4 code always detects) is
//!      uncorrectable: the CLTU is abandoned and [`Error::Uncorrectable`] reported.
//! - A CLTU with no code block before its tail is reported as [`Error::Empty`]; one with more code
//!   blocks than a 1024-octet frame needs ([`MAX_BLOCKS`]) as [`Error::TooLong`].

use core::fmt;

use crate::{mission, randomizer};

/// Start sequence (§3.2).
pub const START_SEQ: [u8; 2] = [0xEB, 0x90];
/// Tail sequence (§3.4).
pub const TAIL_SEQ: [u8; 8] = [0xC5, 0xC5, 0xC5, 0xC5, 0xC5, 0xC5, 0xC5, 0x79];
/// Fill octet completing the last code block (§3.3.4).
pub const FILL: u8 = 0x55;
/// Information octets per code block.
pub const INFO_LEN: usize = 7;
/// Octets per code block (information + parity/filler).
pub const BLOCK_LEN: usize = 8;
/// Most code blocks a CLTU carries: enough for a [`mission::MAX_TC_FRAME_LEN`] frame (147).
pub const MAX_BLOCKS: usize = mission::MAX_TC_FRAME_LEN.div_ceil(INFO_LEN);
/// Most decoded octets a CLTU yields: the longest frame plus up to 6 fill octets (1029).
pub const MAX_DECODED_LEN: usize = MAX_BLOCKS * INFO_LEN;
/// Longest CLTU: start, [`MAX_BLOCKS`] code blocks, tail (1186 octets).
pub const MAX_LEN: usize = encoded_len(mission::MAX_TC_FRAME_LEN);

/// Generator x⁷+x⁶+x²+1 without its x⁷ term, aligned to the top 7 bits of an octet.
const POLY: u8 = 0x45 << 1;

/// Errors of the CLTU layer.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The input ends before a complete start sequence or code block.
    Truncated {
        /// Octets available.
        found: usize,
        /// Octets needed.
        expected: usize,
    },
    /// The input does not begin with `EB 90`.
    BadStartSequence(u16),
    /// The input ends after whole code blocks but without a tail sequence.
    MissingTail,
    /// A code block has more errors than can be corrected; the CLTU is abandoned.
    Uncorrectable {
        /// Index of the offending code block (0 = first after the start sequence).
        block: usize,
    },
    /// More code blocks than the longest frame needs.
    TooLong {
        /// Largest number of code blocks accepted.
        max_blocks: usize,
    },
    /// No frame octets: an empty frame to encode, or a CLTU whose tail follows its start.
    Empty,
    /// Octets follow the tail sequence (one-shot decoder only).
    TrailingData {
        /// Number of octets after the tail.
        len: usize,
    },
    /// The frame to encode is longer than [`mission::MAX_TC_FRAME_LEN`].
    FrameTooLong {
        /// Its length.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// The output buffer is too small.
    BufferTooSmall {
        /// Octets available.
        found: usize,
        /// Octets needed.
        expected: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Truncated { found, expected } => {
                write!(f, "CLTU truncated: {found} octets, expected {expected}")
            }
            Error::BadStartSequence(s) => {
                write!(f, "CLTU start sequence 0x{s:04X}, expected 0xEB90")
            }
            Error::MissingTail => write!(f, "CLTU ends without a tail sequence"),
            Error::Uncorrectable { block } => {
                write!(f, "CLTU code block {block} uncorrectable (two or more bit errors)")
            }
            Error::TooLong { max_blocks } => {
                write!(f, "CLTU longer than {max_blocks} code blocks")
            }
            Error::Empty => write!(f, "CLTU without frame octets"),
            Error::TrailingData { len } => write!(f, "{len} octets after the CLTU tail sequence"),
            Error::FrameTooLong { len, max } => {
                write!(f, "frame of {len} octets exceeds the {max}-octet maximum")
            }
            Error::BufferTooSmall { found, expected } => {
                write!(f, "output buffer of {found} octets, CLTU needs {expected}")
            }
        }
    }
}

impl core::error::Error for Error {}

/// Byte-wise BCH shift register table: `TABLE[r ^ b]` is the register after shifting octet `b`
/// into register `r` (remainder in the top seven bits).
static TABLE: [u8; 256] = bch_table();

#[allow(clippy::indexing_slicing)] // compile-time only; an out-of-range index is a build error
const fn bch_table() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let mut r = i as u8;
        let mut k = 0;
        while k < 8 {
            r = if r & 0x80 != 0 { (r << 1) ^ POLY } else { r << 1 };
            k += 1;
        }
        t[i] = r;
        i += 1;
    }
    t
}

/// Shift register after the seven information octets, starting from zero.
#[inline]
fn register(info: &[u8; INFO_LEN]) -> u8 {
    info.iter().fold(0u8, |r, &b| {
        // `r ^ b` is a u8, so the index is always in 0..256.
        TABLE.get(usize::from(r ^ b)).copied().unwrap_or(0)
    })
}

/// The eighth octet of a code block: complemented parity in the top seven bits, filler `0`.
#[inline]
pub fn parity_octet(info: &[u8; INFO_LEN]) -> u8 {
    !register(info) & 0xFE
}

/// Marker for "no single error has this syndrome" in [`SYNDROMES`].
const UNCORRECTABLE: u8 = 0xFF;

/// Error position for each 7-bit syndrome: 0..56 an information bit (octet `p / 8`, mask
/// `0x80 >> p % 8`), 56..63 a parity bit, [`UNCORRECTABLE`] otherwise.
static SYNDROMES: [u8; 128] = syndrome_table();

#[allow(clippy::indexing_slicing)] // compile-time only
const fn syndrome_table() -> [u8; 128] {
    let table = bch_table();
    let mut s = [UNCORRECTABLE; 128];
    // Information bits: syndrome = register of the error pattern alone (the code is linear and
    // the complement cancels in the comparison).
    let mut p = 0;
    while p < INFO_LEN * 8 {
        let mut r = 0u8;
        let mut i = 0;
        while i < INFO_LEN {
            let b = if i == p / 8 { 0x80u8 >> (p % 8) } else { 0 };
            r = table[(r ^ b) as usize];
            i += 1;
        }
        s[(r >> 1) as usize] = p as u8;
        p += 1;
    }
    // Parity bits: the error shows directly in the syndrome.
    let mut k = 0;
    while k < 7 {
        s[(0x40u8 >> k) as usize] = (INFO_LEN * 8 + k) as u8;
        k += 1;
    }
    s
}

/// What one 8-octet group decodes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Block {
    /// A code block, corrected if needed.
    Data { info: [u8; INFO_LEN], corrected: u8 },
    /// The tail sequence, with 0 or 1 bit flipped.
    Tail { corrected: u8 },
    /// Two or more errors.
    Uncorrectable,
}

#[inline]
fn decode_block(b: &[u8; BLOCK_LEN]) -> Block {
    let tail_distance = (u64::from_be_bytes(*b) ^ u64::from_be_bytes(TAIL_SEQ)).count_ones();
    if tail_distance <= 1 {
        return Block::Tail { corrected: tail_distance as u8 };
    }
    let [i0, i1, i2, i3, i4, i5, i6, check] = *b;
    let mut info = [i0, i1, i2, i3, i4, i5, i6];
    let diff = parity_octet(&info) ^ check;
    let syndrome = diff >> 1;
    let filler = diff & 1;
    if syndrome == 0 {
        return Block::Data { info, corrected: filler };
    }
    if filler != 0 {
        // One error in the filler and at least one in the codeword.
        return Block::Uncorrectable;
    }
    match SYNDROMES.get(usize::from(syndrome)).copied() {
        Some(p) if usize::from(p) < INFO_LEN * 8 => {
            let p = usize::from(p);
            if let Some(o) = info.get_mut(p / 8) {
                *o ^= 0x80 >> (p % 8);
            }
            Block::Data { info, corrected: 1 }
        }
        Some(p) if p != UNCORRECTABLE => Block::Data { info, corrected: 1 },
        _ => Block::Uncorrectable,
    }
}

/// Length of the CLTU that carries a frame of `frame_len` octets: 2 + 8·⌈n/7⌉ + 8.
pub const fn encoded_len(frame_len: usize) -> usize {
    START_SEQ.len() + frame_len.div_ceil(INFO_LEN) * BLOCK_LEN + TAIL_SEQ.len()
}

/// Encodes a TC frame into a CLTU at the start of `out`; returns the CLTU length.
///
/// With `randomise`, the frame octets are XORed with the TC randomiser sequence before BCH
/// encoding (the frame itself is not modified).
///
/// # Errors
/// [`Error::Empty`] for an empty frame; [`Error::FrameTooLong`] above
/// [`mission::MAX_TC_FRAME_LEN`]; [`Error::BufferTooSmall`] if `out` is shorter than
/// [`encoded_len`].
///
/// # Panics
/// Never.
pub fn encode(frame: &[u8], randomise: bool, out: &mut [u8]) -> Result<usize, Error> {
    if frame.is_empty() {
        return Err(Error::Empty);
    }
    if frame.len() > mission::MAX_TC_FRAME_LEN {
        return Err(Error::FrameTooLong { len: frame.len(), max: mission::MAX_TC_FRAME_LEN });
    }
    let len = encoded_len(frame.len());
    let found = out.len();
    let too_small = Error::BufferTooSmall { found, expected: len };
    let out = out.get_mut(..len).ok_or(too_small)?;
    let (start, rest) = out.split_first_chunk_mut::<2>().ok_or(too_small)?;
    *start = START_SEQ;
    let (blocks, tail) = rest.split_last_chunk_mut::<8>().ok_or(too_small)?;
    *tail = TAIL_SEQ;
    let mut pn = randomizer::TC_PN.iter().cycle();
    for (chunk, block) in frame.chunks(INFO_LEN).zip(blocks.chunks_exact_mut(BLOCK_LEN)) {
        let mut info = [FILL; INFO_LEN];
        for (d, &s) in info.iter_mut().zip(chunk) {
            *d = if randomise { s ^ pn.next().copied().unwrap_or(0) } else { s };
        }
        if let Some((head, check)) = block.split_first_chunk_mut::<INFO_LEN>() {
            *head = info;
            if let Some(c) = check.first_mut() {
                *c = parity_octet(&info);
            }
        }
    }
    Ok(len)
}

/// Result of decoding one CLTU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// Decoded octets written: the frame followed by up to 6 fill octets (derandomised like the
    /// frame when randomisation is on).
    pub len: usize,
    /// Bits corrected: one per corrected code block or filler bit, plus one if the tail had a
    /// flipped bit.
    pub corrected_bits: u32,
}

/// Decodes one complete CLTU (start sequence through tail, nothing after) into `out`.
///
/// # Errors
/// [`Error::Truncated`], [`Error::BadStartSequence`], [`Error::MissingTail`],
/// [`Error::Uncorrectable`], [`Error::TooLong`], [`Error::Empty`], [`Error::TrailingData`],
/// [`Error::BufferTooSmall`] if `out` cannot hold the decoded octets.
///
/// # Panics
/// Never.
pub fn decode(cltu: &[u8], randomised: bool, out: &mut [u8]) -> Result<Decoded, Error> {
    let (start, mut rest) = cltu
        .split_first_chunk::<2>()
        .ok_or(Error::Truncated { found: cltu.len(), expected: START_SEQ.len() })?;
    if *start != START_SEQ {
        return Err(Error::BadStartSequence(u16::from_be_bytes(*start)));
    }
    let mut len = 0usize;
    let mut corrected_bits = 0u32;
    let mut index = 0usize;
    loop {
        let Some((block, after)) = rest.split_first_chunk::<BLOCK_LEN>() else {
            if rest.is_empty() {
                return Err(Error::MissingTail);
            }
            return Err(Error::Truncated {
                found: cltu.len(),
                expected: cltu.len() - rest.len() + BLOCK_LEN,
            });
        };
        rest = after;
        match decode_block(block) {
            Block::Tail { corrected } => {
                if !rest.is_empty() {
                    return Err(Error::TrailingData { len: rest.len() });
                }
                if len == 0 {
                    return Err(Error::Empty);
                }
                corrected_bits += u32::from(corrected);
                break;
            }
            Block::Uncorrectable => return Err(Error::Uncorrectable { block: index }),
            Block::Data { info, corrected } => {
                if index == MAX_BLOCKS {
                    return Err(Error::TooLong { max_blocks: MAX_BLOCKS });
                }
                let end = len + INFO_LEN;
                let found = out.len();
                let dst =
                    out.get_mut(len..end).ok_or(Error::BufferTooSmall { found, expected: end })?;
                dst.copy_from_slice(&info);
                len = end;
                corrected_bits += u32::from(corrected);
                index += 1;
            }
        }
    }
    if randomised && let Some(d) = out.get_mut(..len) {
        randomizer::tc_apply(d);
    }
    Ok(Decoded { len, corrected_bits })
}

/// Where the streaming decoder is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Looking for `EB 90`; `true` if the previous octet was `EB`.
    Hunt { prev_eb: bool },
    /// Inside a CLTU, assembling code blocks.
    Blocks,
}

/// What a byte did to the streaming decoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Nothing,
    Frame { len: usize, corrected_bits: u32 },
    Error(Error),
}

/// One decoded frame handed out by [`StreamDecoder::push`], borrowed from the decoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'d> {
    /// Decoded octets: the frame followed by up to 6 fill octets (derandomised if configured).
    pub data: &'d [u8],
    /// Bits corrected in this CLTU (see [`Decoded::corrected_bits`]).
    pub corrected_bits: u32,
}

/// An outcome of [`StreamDecoder::push`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event<'d> {
    /// A CLTU ended on its tail sequence.
    Frame(Frame<'d>),
    /// A CLTU was abandoned ([`Error::Uncorrectable`], [`Error::TooLong`] or [`Error::Empty`]);
    /// the decoder is hunting again.
    Error(Error),
}

/// The result of one [`StreamDecoder::push`] call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Push<'d> {
    /// Octets of the input consumed; feed the rest in the next call.
    pub consumed: usize,
    /// The event that stopped consumption, if any (otherwise all input was consumed).
    pub event: Option<Event<'d>>,
}

/// Heap-free streaming CLTU decoder for a byte stream (serial line).
///
/// Holds one code block being assembled and a buffer for the longest frame
/// ([`MAX_DECODED_LEN`] octets), about 1.1 KiB in all. Feed it chunks of any size with
/// [`StreamDecoder::push`]; it hunts for the start sequence (skipping garbage), decodes code
/// blocks as they complete and stops at each event. After an uncorrectable block it also hunts
/// inside that block's eight octets, so a CLTU that interrupted a previous one is not lost.
/// Constant work per octet (one table lookup per octet, one syndrome lookup per block).
///
/// ```
/// use tc_tm::cltu::{self, Event, StreamDecoder};
/// let mut cltu = [0u8; cltu::MAX_LEN];
/// let n = cltu::encode(&[1, 2, 3, 4, 5, 6, 7, 8], false, &mut cltu).unwrap();
/// let mut dec = StreamDecoder::new(false);
/// let mut input = &cltu[..n];
/// while !input.is_empty() {
///     let push = dec.push(input);
///     input = &input[push.consumed..];
///     if let Some(Event::Frame(f)) = push.event {
///         assert_eq!(&f.data[..8], &[1, 2, 3, 4, 5, 6, 7, 8]);
///     }
/// }
/// ```
#[derive(Clone, Debug)]
pub struct StreamDecoder {
    randomised: bool,
    state: State,
    block: [u8; BLOCK_LEN],
    block_fill: usize,
    frame: [u8; MAX_DECODED_LEN],
    frame_len: usize,
    blocks: usize,
    corrected_bits: u32,
}

impl StreamDecoder {
    /// A decoder in the hunting state; `randomised` selects derandomisation of decoded frames.
    pub const fn new(randomised: bool) -> StreamDecoder {
        StreamDecoder {
            randomised,
            state: State::Hunt { prev_eb: false },
            block: [0; BLOCK_LEN],
            block_fill: 0,
            frame: [0; MAX_DECODED_LEN],
            frame_len: 0,
            blocks: 0,
            corrected_bits: 0,
        }
    }

    /// Drops any CLTU in progress and hunts for a start sequence again.
    pub fn reset(&mut self) {
        self.state = State::Hunt { prev_eb: false };
        self.block_fill = 0;
        self.frame_len = 0;
        self.blocks = 0;
        self.corrected_bits = 0;
    }

    /// Whether the decoder is inside a CLTU (start sequence seen, tail not yet).
    pub fn in_cltu(&self) -> bool {
        self.state == State::Blocks
    }

    /// Consumes octets of `input` until an event or the end of the input.
    ///
    /// # Panics
    /// Never.
    pub fn push(&mut self, input: &[u8]) -> Push<'_> {
        for (i, &byte) in input.iter().enumerate() {
            match self.step(byte) {
                Step::Nothing => {}
                Step::Frame { len, corrected_bits } => {
                    let data = self.frame.get(..len).unwrap_or(&[]);
                    return Push {
                        consumed: i + 1,
                        event: Some(Event::Frame(Frame { data, corrected_bits })),
                    };
                }
                Step::Error(e) => return Push { consumed: i + 1, event: Some(Event::Error(e)) },
            }
        }
        Push { consumed: input.len(), event: None }
    }

    fn step(&mut self, byte: u8) -> Step {
        match self.state {
            State::Hunt { prev_eb } => {
                if prev_eb && byte == START_SEQ[1] {
                    self.state = State::Blocks;
                    self.block_fill = 0;
                    self.frame_len = 0;
                    self.blocks = 0;
                    self.corrected_bits = 0;
                } else {
                    self.state = State::Hunt { prev_eb: byte == START_SEQ[0] };
                }
                Step::Nothing
            }
            State::Blocks => {
                if let Some(slot) = self.block.get_mut(self.block_fill) {
                    *slot = byte;
                }
                self.block_fill += 1;
                if self.block_fill < BLOCK_LEN {
                    return Step::Nothing;
                }
                self.block_fill = 0;
                self.end_of_block()
            }
        }
    }

    fn end_of_block(&mut self) -> Step {
        match decode_block(&self.block) {
            Block::Tail { corrected } => {
                self.state = State::Hunt { prev_eb: false };
                if self.blocks == 0 {
                    return Step::Error(Error::Empty);
                }
                let len = self.frame_len;
                if self.randomised
                    && let Some(d) = self.frame.get_mut(..len)
                {
                    randomizer::tc_apply(d);
                }
                Step::Frame { len, corrected_bits: self.corrected_bits + u32::from(corrected) }
            }
            Block::Data { info, corrected } => {
                let end = self.frame_len + INFO_LEN;
                match self.frame.get_mut(self.frame_len..end) {
                    Some(dst) => {
                        dst.copy_from_slice(&info);
                        self.frame_len = end;
                        self.blocks += 1;
                        self.corrected_bits += u32::from(corrected);
                        Step::Nothing
                    }
                    None => {
                        self.state = State::Hunt { prev_eb: false };
                        self.frame_len = 0;
                        Step::Error(Error::TooLong { max_blocks: MAX_BLOCKS })
                    }
                }
            }
            Block::Uncorrectable => {
                let bad = self.block;
                let index = self.blocks;
                self.state = State::Hunt { prev_eb: false };
                self.frame_len = 0;
                // A new CLTU may have started inside the rejected octets. At most 6 octets can
                // follow a start sequence found here, fewer than a block, so no event can occur.
                for b in bad {
                    let _ = self.step(b);
                }
                Step::Error(Error::Uncorrectable { block: index })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    // Yamcs BchCltuGeneratorTest.testBch / BchEncoderTest (published code blocks).
    static PUBLISHED_BLOCKS: [[u8; 8]; 4] = [
        [0x22, 0xF6, 0x00, 0xFF, 0x00, 0x42, 0x1A, 0x12],
        [0x8C, 0xC0, 0x0E, 0x01, 0x0D, 0x19, 0x06, 0x5A],
        [0x30, 0x1B, 0x00, 0x09, 0x00, 0x82, 0x00, 0x54],
        [0x10, 0xE4, 0xC1, 0x55, 0x55, 0x55, 0x55, 0x3E],
    ];

    #[test]
    fn published_code_blocks() {
        for b in PUBLISHED_BLOCKS {
            let info: [u8; 7] = b[..7].try_into().unwrap();
            assert_eq!(parity_octet(&info), b[7], "block {b:02X?}");
            assert_eq!(decode_block(&b), Block::Data { info, corrected: 0 });
        }
    }

    #[test]
    fn syndromes_of_single_errors_are_distinct() {
        let used: Vec<_> = SYNDROMES.iter().filter(|&&p| p != UNCORRECTABLE).collect();
        assert_eq!(used.len(), 63);
        assert_eq!(SYNDROMES[0], UNCORRECTABLE);
    }

    #[test]
    fn tail_is_uncorrectable_as_a_code_block() {
        let info: [u8; 7] = TAIL_SEQ[..7].try_into().unwrap();
        let diff = parity_octet(&info) ^ TAIL_SEQ[7];
        assert_ne!(diff >> 1, 0);
        assert!(diff & 1 == 1 || SYNDROMES[usize::from(diff >> 1)] == UNCORRECTABLE);
        assert_eq!(decode_block(&TAIL_SEQ), Block::Tail { corrected: 0 });
    }

    #[test]
    fn every_single_error_is_corrected_and_every_double_rejected() {
        let block = PUBLISHED_BLOCKS[1];
        let info: [u8; 7] = block[..7].try_into().unwrap();
        for i in 0..64 {
            let mut b = block;
            b[i / 8] ^= 0x80 >> (i % 8);
            assert_eq!(decode_block(&b), Block::Data { info, corrected: 1 }, "bit {i}");
            for j in (i + 1)..64 {
                let mut b2 = b;
                b2[j / 8] ^= 0x80 >> (j % 8);
                assert_eq!(decode_block(&b2), Block::Uncorrectable, "bits {i},{j}");
            }
        }
    }

    #[test]
    fn encoded_lengths() {
        assert_eq!(encoded_len(1), 18);
        assert_eq!(encoded_len(7), 18);
        assert_eq!(encoded_len(8), 26);
        assert_eq!(MAX_BLOCKS, 147);
        assert_eq!(MAX_LEN, 2 + 147 * 8 + 8);
    }

    #[test]
    fn encode_errors() {
        assert_eq!(encode(&[], false, &mut [0; 32]), Err(Error::Empty));
        assert_eq!(
            encode(&[0; 1025], false, &mut [0; 2048]),
            Err(Error::FrameTooLong { len: 1025, max: 1024 })
        );
        assert_eq!(
            encode(&[0; 8], false, &mut [0; 25]),
            Err(Error::BufferTooSmall { found: 25, expected: 26 })
        );
    }

    #[test]
    fn decode_errors() {
        let mut out = [0u8; MAX_DECODED_LEN];
        assert_eq!(
            decode(&[0xEB], false, &mut out),
            Err(Error::Truncated { found: 1, expected: 2 })
        );
        assert_eq!(decode(&[0xEB, 0x91], false, &mut out), Err(Error::BadStartSequence(0xEB91)));
        assert_eq!(decode(&[0xEB, 0x90], false, &mut out), Err(Error::MissingTail));
        let mut c = [0u8; 18];
        encode(&[1; 7], false, &mut c).unwrap();
        assert_eq!(
            decode(&c[..12], false, &mut out),
            Err(Error::Truncated { found: 12, expected: 18 })
        );
        let mut empty = [0u8; 10];
        empty[..2].copy_from_slice(&START_SEQ);
        empty[2..].copy_from_slice(&TAIL_SEQ);
        assert_eq!(decode(&empty, false, &mut out), Err(Error::Empty));
        let mut trailing = [0u8; 19];
        trailing[..18].copy_from_slice(&c);
        assert_eq!(decode(&trailing, false, &mut out), Err(Error::TrailingData { len: 1 }));
        assert_eq!(
            decode(&c, false, &mut out[..6]),
            Err(Error::BufferTooSmall { found: 6, expected: 7 })
        );
        c[3] ^= 0x03;
        assert_eq!(decode(&c, false, &mut out), Err(Error::Uncorrectable { block: 0 }));
    }

    #[test]
    fn stream_hunts_through_garbage_and_recovers_after_bad_block() {
        let mut a = [0u8; 26];
        encode(&[9; 8], false, &mut a).unwrap();
        let mut b = [0u8; 18];
        encode(&[7; 3], false, &mut b).unwrap();
        // garbage, a CLTU cut after its first block with a new CLTU right behind it
        let mut s = Vec::new();
        s.extend_from_slice(&[0x00, 0xEB, 0x12, 0x90]);
        s.extend_from_slice(&a[..10]);
        s.extend_from_slice(&b);
        let mut dec = StreamDecoder::new(false);
        let mut input = &s[..];
        let mut events = Vec::new();
        while !input.is_empty() {
            let p = dec.push(input);
            input = &input[p.consumed..];
            match p.event {
                Some(Event::Frame(f)) => events.push(Ok(f.data.to_vec())),
                Some(Event::Error(e)) => events.push(Err(e)),
                None => {}
            }
        }
        assert_eq!(
            events,
            [
                Err(Error::Uncorrectable { block: 1 }),
                Ok([7, 7, 7, 0x55, 0x55, 0x55, 0x55].to_vec())
            ]
        );
    }

    #[test]
    fn stream_rejects_too_many_blocks() {
        let mut dec = StreamDecoder::new(false);
        let p = dec.push(&START_SEQ);
        assert_eq!(p.event, None);
        let block = PUBLISHED_BLOCKS[0];
        for _ in 0..MAX_BLOCKS {
            assert_eq!(dec.push(&block).event, None);
        }
        assert_eq!(
            dec.push(&block).event,
            Some(Event::Error(Error::TooLong { max_blocks: MAX_BLOCKS }))
        );
        assert!(!dec.in_cltu());
    }
}
