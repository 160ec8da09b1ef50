//! The software image format of the application banks.
//!
//! An image is a 32-octet header followed by the payload (the application), big-endian:
//!
//! ```text
//! offset  len  field
//!      0    4  magic "UGTS" (0x55 0x47 0x54 0x53)
//!      4    2  format version (1)
//!      6    2  reserved, 0
//!      8    4  software version (major.minor.patch.build, one octet each)
//!     12    4  payload length in octets
//!     16    4  payload CRC-32/ISO-HDLC
//!     20    8  reserved, 0
//!     28    4  header CRC-32/ISO-HDLC over octets 0..28
//! ```
//!
//! The header CRC rejects a torn or corrupted header before its length field is trusted; the
//! payload CRC then covers the whole application. [`check`] accepts any byte string (a bank
//! content read from storage) and never panics. [`build`] writes an image into a buffer.
//! The same layout is described in `docs/memory.md`.

use core::fmt;

use tc_tm::crc::{Crc32Digest, crc32};

/// Byte ranges of the header fields.
mod field {
    use core::ops::Range;
    pub const MAGIC: Range<usize> = 0..4;
    pub const FORMAT: Range<usize> = 4..6;
    pub const RESERVED_0: Range<usize> = 6..8;
    pub const SW_VERSION: Range<usize> = 8..12;
    pub const PAYLOAD_LEN: Range<usize> = 12..16;
    pub const PAYLOAD_CRC: Range<usize> = 16..20;
    pub const RESERVED_1: Range<usize> = 20..28;
    pub const HEADER_CRC: Range<usize> = 28..32;
}

/// Header length in octets.
pub const HEADER_LEN: usize = 32;
/// The magic number, ASCII `UGTS`.
pub const MAGIC: u32 = 0x5547_5453;
/// The only image format version defined.
pub const FORMAT_VERSION: u16 = 1;

/// Errors of the image layer.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageError {
    /// The buffer is shorter than the header, or than the header plus the declared payload.
    Truncated {
        /// Octets available.
        found: usize,
        /// Octets needed.
        expected: usize,
    },
    /// The magic number is wrong (e.g. an erased bank reads `0xFFFFFFFF`).
    BadMagic(u32),
    /// The header CRC does not match: the header is corrupted.
    BadHeaderCrc {
        /// CRC computed over the header.
        computed: u32,
        /// CRC stored in the header.
        received: u32,
    },
    /// The format version is not one this unit knows.
    UnsupportedFormat(u16),
    /// A reserved field is not zero.
    ReservedNotZero,
    /// The payload CRC does not match: the payload is corrupted or incomplete.
    BadPayloadCrc {
        /// CRC computed over the payload.
        computed: u32,
        /// CRC stored in the header.
        received: u32,
    },
    /// The output buffer is too small to build into, or the payload too long for the format.
    BufferTooSmall {
        /// Octets available.
        found: usize,
        /// Octets needed.
        expected: usize,
    },
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ImageError::Truncated { found, expected } => {
                write!(f, "image truncated: {found} octets, expected {expected}")
            }
            ImageError::BadMagic(m) => write!(f, "image magic 0x{m:08X}, expected 0x{MAGIC:08X}"),
            ImageError::BadHeaderCrc { computed, received } => write!(
                f,
                "image header CRC-32 0x{computed:08X} does not match stored 0x{received:08X}"
            ),
            ImageError::UnsupportedFormat(v) => {
                write!(f, "image format version {v}, expected {FORMAT_VERSION}")
            }
            ImageError::ReservedNotZero => f.write_str("image header reserved field not zero"),
            ImageError::BadPayloadCrc { computed, received } => write!(
                f,
                "image payload CRC-32 0x{computed:08X} does not match stored 0x{received:08X}"
            ),
            ImageError::BufferTooSmall { found, expected } => {
                write!(f, "image buffer of {found} octets, {expected} needed")
            }
        }
    }
}

impl core::error::Error for ImageError {}

/// A software version, one octet each for major, minor, patch and build.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SwVersion(pub u32);

impl SwVersion {
    /// From its four parts.
    pub const fn new(major: u8, minor: u8, patch: u8, build: u8) -> Self {
        SwVersion(u32::from_be_bytes([major, minor, patch, build]))
    }
}

impl fmt::Display for SwVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = self.0.to_be_bytes();
        write!(f, "{a}.{b}.{c}+{d}")
    }
}

/// A read/write view of an image header.
#[derive(Debug, Clone)]
pub struct Header<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Header<T> {
    /// Wraps a buffer without checking it; accessors may panic until [`Header::check_len`]
    /// passed.
    pub const fn new_unchecked(buffer: T) -> Header<T> {
        Header { buffer }
    }

    /// Wraps a buffer and checks that it holds a header.
    ///
    /// # Errors
    /// [`ImageError::Truncated`].
    pub fn new_checked(buffer: T) -> Result<Header<T>, ImageError> {
        let h = Self::new_unchecked(buffer);
        h.check_len()?;
        Ok(h)
    }

    /// Checks that the buffer holds at least [`HEADER_LEN`] octets.
    ///
    /// # Errors
    /// [`ImageError::Truncated`].
    pub fn check_len(&self) -> Result<(), ImageError> {
        let found = self.buffer.as_ref().len();
        if found < HEADER_LEN {
            return Err(ImageError::Truncated { found, expected: HEADER_LEN });
        }
        Ok(())
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    // Accessors index within HEADER_LEN, which check_len guarantees.
    #[allow(clippy::indexing_slicing)]
    fn u32_at(&self, range: core::ops::Range<usize>) -> u32 {
        let b = &self.buffer.as_ref()[range];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    #[allow(clippy::indexing_slicing)]
    fn u16_at(&self, range: core::ops::Range<usize>) -> u16 {
        let b = &self.buffer.as_ref()[range];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// Magic number.
    pub fn magic(&self) -> u32 {
        self.u32_at(field::MAGIC)
    }

    /// Format version.
    pub fn format_version(&self) -> u16 {
        self.u16_at(field::FORMAT)
    }

    /// Software version.
    pub fn sw_version(&self) -> SwVersion {
        SwVersion(self.u32_at(field::SW_VERSION))
    }

    /// Payload length in octets.
    pub fn payload_len(&self) -> u32 {
        self.u32_at(field::PAYLOAD_LEN)
    }

    /// Payload CRC-32.
    pub fn payload_crc(&self) -> u32 {
        self.u32_at(field::PAYLOAD_CRC)
    }

    /// Header CRC-32 as stored.
    pub fn header_crc(&self) -> u32 {
        self.u32_at(field::HEADER_CRC)
    }

    /// Whether both reserved fields are zero.
    #[allow(clippy::indexing_slicing)]
    pub fn reserved_is_zero(&self) -> bool {
        let b = self.buffer.as_ref();
        b[field::RESERVED_0].iter().chain(&b[field::RESERVED_1]).all(|&x| x == 0)
    }

    /// CRC-32 computed over the header octets it covers.
    #[allow(clippy::indexing_slicing)]
    pub fn computed_header_crc(&self) -> u32 {
        crc32(&self.buffer.as_ref()[..field::HEADER_CRC.start])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Header<T> {
    #[allow(clippy::indexing_slicing)]
    fn set_u32(&mut self, range: core::ops::Range<usize>, v: u32) {
        self.buffer.as_mut()[range].copy_from_slice(&v.to_be_bytes());
    }

    /// Writes every field, reserved zeros and the header CRC. The buffer must have passed
    /// [`Header::check_len`].
    #[allow(clippy::indexing_slicing)]
    pub fn fill(&mut self, info: &ImageInfo) {
        self.set_u32(field::MAGIC, MAGIC);
        self.buffer.as_mut()[field::FORMAT].copy_from_slice(&FORMAT_VERSION.to_be_bytes());
        self.buffer.as_mut()[field::RESERVED_0].fill(0);
        self.set_u32(field::SW_VERSION, info.sw_version.0);
        self.set_u32(field::PAYLOAD_LEN, info.payload_len);
        self.set_u32(field::PAYLOAD_CRC, info.payload_crc);
        self.buffer.as_mut()[field::RESERVED_1].fill(0);
        let crc = self.computed_header_crc();
        self.set_u32(field::HEADER_CRC, crc);
    }
}

/// What a valid image header says, once checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ImageInfo {
    /// Software version.
    pub sw_version: SwVersion,
    /// Payload length in octets.
    pub payload_len: u32,
    /// Payload CRC-32.
    pub payload_crc: u32,
}

impl ImageInfo {
    /// Total image length, header included.
    pub const fn image_len(&self) -> usize {
        HEADER_LEN + self.payload_len as usize
    }
}

/// Checks a header alone (magic, header CRC, format, reserved fields), without the payload.
///
/// # Errors
/// [`ImageError::Truncated`], [`ImageError::BadMagic`], [`ImageError::BadHeaderCrc`],
/// [`ImageError::UnsupportedFormat`], [`ImageError::ReservedNotZero`].
pub fn parse_header(bytes: &[u8]) -> Result<ImageInfo, ImageError> {
    let h = Header::new_checked(bytes)?;
    if h.magic() != MAGIC {
        return Err(ImageError::BadMagic(h.magic()));
    }
    let computed = h.computed_header_crc();
    if computed != h.header_crc() {
        return Err(ImageError::BadHeaderCrc { computed, received: h.header_crc() });
    }
    if h.format_version() != FORMAT_VERSION {
        return Err(ImageError::UnsupportedFormat(h.format_version()));
    }
    if !h.reserved_is_zero() {
        return Err(ImageError::ReservedNotZero);
    }
    Ok(ImageInfo {
        sw_version: h.sw_version(),
        payload_len: h.payload_len(),
        payload_crc: h.payload_crc(),
    })
}

/// Checks a whole image at the start of `bank` (trailing octets after the image are ignored:
/// a bank is larger than its image). Never panics, whatever the bytes.
///
/// # Errors
/// Those of [`parse_header`], then [`ImageError::Truncated`] if the declared payload does not
/// fit in `bank`, [`ImageError::BadPayloadCrc`] if it does not check.
pub fn check(bank: &[u8]) -> Result<ImageInfo, ImageError> {
    let info = parse_header(bank)?;
    let found = bank.len();
    let expected = usize::try_from(info.payload_len)
        .ok()
        .and_then(|n| n.checked_add(HEADER_LEN))
        .ok_or(ImageError::Truncated { found, expected: usize::MAX })?;
    let payload =
        bank.get(HEADER_LEN..expected).ok_or(ImageError::Truncated { found, expected })?;
    let mut digest = Crc32Digest::new();
    // Streamed in chunks so a large bank does not hold the CRC engine for one long call.
    for chunk in payload.chunks(crate::limits::CRC_CHUNK_LEN) {
        digest.update(chunk);
    }
    let computed = digest.finalize();
    if computed != info.payload_crc {
        return Err(ImageError::BadPayloadCrc { computed, received: info.payload_crc });
    }
    Ok(info)
}

/// Builds an image of `payload` with `sw_version` into `out`, returning its length
/// (`HEADER_LEN + payload.len()`). Octets of `out` after the image are left untouched.
///
/// # Errors
/// [`ImageError::BufferTooSmall`] if `out` is too short or the payload longer than `u32::MAX`.
pub fn build(payload: &[u8], sw_version: SwVersion, out: &mut [u8]) -> Result<usize, ImageError> {
    let found = out.len();
    let expected = payload.len().saturating_add(HEADER_LEN);
    let payload_len =
        u32::try_from(payload.len()).map_err(|_| ImageError::BufferTooSmall { found, expected })?;
    let (head, rest) = out
        .split_at_mut_checked(HEADER_LEN)
        .ok_or(ImageError::BufferTooSmall { found, expected })?;
    let body =
        rest.get_mut(..payload.len()).ok_or(ImageError::BufferTooSmall { found, expected })?;
    body.copy_from_slice(payload);
    let info = ImageInfo { sw_version, payload_len, payload_crc: crc32(payload) };
    Header::new_unchecked(head).fill(&info);
    Ok(expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    fn image(payload: &[u8]) -> std::vec::Vec<u8> {
        let mut out = std::vec![0u8; HEADER_LEN + payload.len() + 8];
        let n = build(payload, SwVersion::new(1, 2, 3, 4), &mut out).unwrap();
        assert_eq!(n, HEADER_LEN + payload.len());
        out
    }

    #[test]
    fn build_known_header() {
        let img = image(b"123456789");
        assert_eq!(&img[0..4], b"UGTS");
        assert_eq!(&img[4..8], &[0, 1, 0, 0]);
        assert_eq!(&img[8..12], &[1, 2, 3, 4]);
        assert_eq!(&img[12..16], &[0, 0, 0, 9]);
        assert_eq!(&img[16..20], &0xCBF4_3926u32.to_be_bytes());
        assert_eq!(&img[20..28], &[0; 8]);
        assert_eq!(img[28..32], crc32(&img[..28]).to_be_bytes());
        assert_eq!(&img[32..41], b"123456789");
    }

    #[test]
    fn check_round_trip() {
        let img = image(b"application code");
        let info = check(&img).unwrap();
        assert_eq!(info.sw_version, SwVersion::new(1, 2, 3, 4));
        assert_eq!(info.payload_len, 16);
        assert_eq!(info.image_len(), 48);
        assert_eq!(info.sw_version.to_string(), "1.2.3+4");
    }

    #[test]
    fn empty_payload_is_valid() {
        let img = image(b"");
        assert_eq!(check(&img).unwrap().payload_len, 0);
    }

    #[test]
    fn erased_bank_has_bad_magic() {
        assert_eq!(check(&[0xFF; 64]), Err(ImageError::BadMagic(0xFFFF_FFFF)));
    }

    #[test]
    fn truncated_header() {
        let img = image(b"x");
        assert_eq!(check(&img[..31]), Err(ImageError::Truncated { found: 31, expected: 32 }));
        assert_eq!(check(&[]), Err(ImageError::Truncated { found: 0, expected: 32 }));
    }

    #[test]
    fn truncated_payload() {
        let img = image(b"abcdef");
        assert_eq!(check(&img[..37]), Err(ImageError::Truncated { found: 37, expected: 38 }));
    }

    #[test]
    fn huge_declared_length_is_truncated_not_panic() {
        let mut img = image(b"abc");
        img[12..16].copy_from_slice(&u32::MAX.to_be_bytes());
        let crc = crc32(&img[..28]);
        img[28..32].copy_from_slice(&crc.to_be_bytes());
        assert!(matches!(check(&img), Err(ImageError::Truncated { .. })));
    }

    #[test]
    fn every_header_bit_flip_is_caught() {
        let img = image(b"payload");
        for bit in 0..HEADER_LEN * 8 {
            let mut bad = img.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(check(&bad).is_err(), "bit {bit} not caught");
        }
    }

    #[test]
    fn payload_corruption_is_caught() {
        let mut img = image(b"payload");
        img[HEADER_LEN + 3] ^= 0x10;
        assert!(matches!(check(&img), Err(ImageError::BadPayloadCrc { .. })));
    }

    #[test]
    fn other_format_and_reserved() {
        let mut img = image(b"p");
        img[5] = 2;
        let crc = crc32(&img[..28]);
        img[28..32].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(check(&img), Err(ImageError::UnsupportedFormat(2)));
        img[5] = 1;
        img[21] = 1;
        let crc = crc32(&img[..28]);
        img[28..32].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(check(&img), Err(ImageError::ReservedNotZero));
    }

    #[test]
    fn build_into_short_buffer() {
        let mut out = [0u8; 35];
        assert_eq!(
            build(b"abcd", SwVersion(0), &mut out),
            Err(ImageError::BufferTooSmall { found: 35, expected: 36 })
        );
        let mut out = [0u8; 10];
        assert!(build(b"", SwVersion(0), &mut out).is_err());
    }

    #[test]
    fn header_view_accessors() {
        let img = image(b"xyz");
        let h = Header::new_checked(&img[..]).unwrap();
        assert_eq!(h.magic(), MAGIC);
        assert_eq!(h.format_version(), FORMAT_VERSION);
        assert_eq!(h.payload_len(), 3);
        assert_eq!(h.payload_crc(), crc32(b"xyz"));
        assert_eq!(h.header_crc(), h.computed_header_crc());
        assert!(h.reserved_is_zero());
    }

    #[test]
    fn display_texts() {
        assert_eq!(
            ImageError::BadMagic(0).to_string(),
            "image magic 0x00000000, expected 0x55475453"
        );
    }

    proptest::proptest! {
        #[test]
        fn check_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let _ = check(&bytes);
        }

        #[test]
        fn check_never_panics_on_valid_header_with_any_tail(
            payload in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
            cut in 0usize..100,
            flip in proptest::option::of(0usize..800),
        ) {
            let mut img = image(&payload);
            if let Some(bit) = flip {
                let i = (bit / 8) % img.len();
                img[i] ^= 1 << (bit % 8);
            }
            let cut = cut.min(img.len());
            let _ = check(&img[..cut]);
        }

        #[test]
        fn build_then_check(payload in proptest::collection::vec(proptest::num::u8::ANY, 0..300), v: u32) {
            let mut out = std::vec![0u8; HEADER_LEN + payload.len()];
            build(&payload, SwVersion(v), &mut out).unwrap();
            let info = check(&out).unwrap();
            proptest::prop_assert_eq!(info.sw_version, SwVersion(v));
            proptest::prop_assert_eq!(info.payload_len as usize, payload.len());
        }
    }
}
