//! The two CCSDS pseudo-randomisers, as 255-octet sequences computed at compile time.
//!
//! - [`TM_PN`]: the TM/AOS pseudo-noise sequence of CCSDS 131.0-B-5 §10.4, polynomial
//!   h(x) = x⁸+x⁷+x⁵+x³+1, all-ones seed; starts `FF 48 0E C0`. Applied to the whole transfer frame
//!   after the ASM (the ASM itself is never randomised).
//! - [`TC_PN`]: the TC randomiser of CCSDS 231.0-B-4 §6, polynomial x⁸+x⁶+x⁴+x³+x²+x+1, all-ones
//!   seed; starts `FF 39 9E 5A`. Applied to the TC transfer frame *before* BCH encoding (the trap
//!   noted in `STANDARDS.md`: with LDPC it would be after).
//!
//! Both sequences have period 255 octets; randomisation is an XOR, so the same function
//! randomises and derandomises.

/// Length of one period of either sequence, in octets.
pub const PERIOD_LEN: usize = 255;

/// The TM pseudo-noise sequence (CCSDS 131.0-B-5 §10.4).
pub const TM_PN: [u8; PERIOD_LEN] = sequence(&[7, 5, 3, 0]);

/// The TC randomiser sequence (CCSDS 231.0-B-4 §6.3).
pub const TC_PN: [u8; PERIOD_LEN] = sequence(&[6, 4, 3, 2, 1, 0]);

/// Generates 255 octets of the Fibonacci LFSR a(n+8) = XOR of a(n+k) for k in `taps`, with the
/// first eight bits set to one (all-ones seed), most significant bit first.
// Only ever evaluated at compile time (the sequences are consts): an out-of-range index would be a
// compile error, not a run-time panic.
#[allow(clippy::indexing_slicing)]
const fn sequence(taps: &[usize]) -> [u8; PERIOD_LEN] {
    let mut bits = [0u8; PERIOD_LEN * 8];
    let mut n = 0;
    while n < 8 {
        bits[n] = 1;
        n += 1;
    }
    while n < PERIOD_LEN * 8 {
        let mut b = 0;
        let mut t = 0;
        while t < taps.len() {
            b ^= bits[n - 8 + taps[t]];
            t += 1;
        }
        bits[n] = b;
        n += 1;
    }
    let mut out = [0u8; PERIOD_LEN];
    let mut i = 0;
    while i < PERIOD_LEN {
        let mut byte = 0u8;
        let mut k = 0;
        while k < 8 {
            byte = (byte << 1) | bits[i * 8 + k];
            k += 1;
        }
        out[i] = byte;
        i += 1;
    }
    out
}

/// XORs `data` in place with `seq`, starting at the first octet of the sequence.
///
/// # Panics
/// Never.
#[inline]
fn apply(seq: &[u8; PERIOD_LEN], data: &mut [u8]) {
    for chunk in data.chunks_mut(PERIOD_LEN) {
        for (d, s) in chunk.iter_mut().zip(seq.iter()) {
            *d ^= *s;
        }
    }
}

/// Randomises or derandomises a TM/AOS transfer frame in place (everything after the ASM).
#[inline]
pub fn tm_apply(frame: &mut [u8]) {
    apply(&TM_PN, frame);
}

/// Randomises or derandomises a TC transfer frame in place (before BCH encoding, after decoding).
#[inline]
pub fn tc_apply(frame: &mut [u8]) {
    apply(&TC_PN, frame);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tm_pn_published_start() {
        // CCSDS 131.0-B-5 §10.4.1 and STANDARDS.md: FF 48 0E C0 9A 0D 70 BC ...
        assert_eq!(&TM_PN[..8], &[0xFF, 0x48, 0x0E, 0xC0, 0x9A, 0x0D, 0x70, 0xBC]);
    }

    #[test]
    fn tc_pn_published_start() {
        // CCSDS 231.0-B-4 §6 figure and STANDARDS.md: FF 39 9E 5A 68 ...
        assert_eq!(&TC_PN[..5], &[0xFF, 0x39, 0x9E, 0x5A, 0x68]);
    }

    #[test]
    fn sequences_have_period_255() {
        // The 256th octet equals the first: the LFSR is maximal length (2^8 - 1 bits * 8 = 255 octets).
        for seq in [&TM_PN, &TC_PN] {
            let ones: u32 = seq.iter().map(|b| b.count_ones()).sum();
            // A maximal-length sequence of period 255 bits has 128 ones per period; 8 periods here.
            assert_eq!(ones, 128 * 8);
        }
    }

    #[test]
    fn apply_is_an_involution_past_one_period() {
        let orig: [u8; 600] = core::array::from_fn(|i| (i * 7 + 3) as u8);
        let mut d = orig;
        tm_apply(&mut d);
        assert_ne!(d, orig);
        assert_eq!(d[255] ^ orig[255], TM_PN[0]);
        tm_apply(&mut d);
        assert_eq!(d, orig);
    }
}
