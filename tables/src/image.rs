//! The binary image shared by every table: header, payload, CRC-32 (`docs/tables.md` §2).
//!
//! ```text
//!  0        1        2        4                8                  8+len       12+len
//! +--------+--------+--------+----------------+------------------+-----------+
//! |table ID| format | table  | payload length |     payload      |  CRC-32   |
//! |  (u8)  |  (u8)  |version |     (u32)      |  (len octets)    | (u32)     |
//! +--------+--------+--------+----------------+------------------+-----------+
//! ```
//!
//! All integers and floats are big-endian; floats are IEEE 754 binary32. The CRC is
//! CRC-32/ISO-HDLC ([`tc_tm::crc::crc32`]) over the header and the payload.
//!
//! [`Image`] is the zero-copy view (`new_unchecked`, `check_len`, `new_checked`),
//! [`ImageHeader`] the validated header. The unit's table store uses these two alone, for any
//! table; [`Table`] adds the per-table payload codec, and [`emit`] / [`parse`] the whole image.

use core::fmt;

use tc_tm::crc::crc32;

use crate::TableId;
use crate::problem::Field;

/// Length of the image header in octets.
pub const HEADER_LEN: usize = 8;
/// Length of the CRC-32 trailer in octets.
pub const CRC_LEN: usize = 4;

/// Errors of the image codec.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The buffer is shorter than the header or than the length the header declares.
    Truncated {
        /// Octets available.
        found: usize,
        /// Octets needed.
        expected: usize,
    },
    /// The output buffer is too small to emit into.
    BufferTooSmall {
        /// Octets available.
        found: usize,
        /// Octets needed.
        expected: usize,
    },
    /// The table ID octet names no table of the registry.
    UnknownTable(u8),
    /// The image is of another table than the one being decoded.
    WrongTable {
        /// Table ID found in the header.
        found: u8,
        /// Table ID expected.
        expected: u8,
    },
    /// The payload format version is not the one this software reads.
    BadFormat {
        /// Format version found.
        found: u8,
        /// Format version supported.
        expected: u8,
    },
    /// The payload length does not match its content.
    BadLength {
        /// Payload octets declared.
        found: usize,
        /// Payload octets the content needs.
        expected: usize,
    },
    /// The CRC-32 trailer does not match the header and payload.
    BadCrc {
        /// CRC computed over header and payload.
        computed: u32,
        /// CRC read from the trailer.
        received: u32,
    },
    /// An entry count exceeds the table's capacity.
    Capacity {
        /// The counted field.
        field: Field,
        /// Count found.
        found: usize,
        /// Capacity.
        max: usize,
    },
    /// A field holds octets that cannot be represented (e.g. a name that is not UTF-8).
    BadValue {
        /// The field.
        field: Field,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Truncated { found, expected } => {
                write!(f, "table image truncated: {found} octets, expected {expected}")
            }
            Error::BufferTooSmall { found, expected } => {
                write!(f, "output buffer of {found} octets, table image needs {expected}")
            }
            Error::UnknownTable(id) => write!(f, "unknown table ID 0x{id:02X}"),
            Error::WrongTable { found, expected } => {
                write!(f, "image of table 0x{found:02X}, expected table 0x{expected:02X}")
            }
            Error::BadFormat { found, expected } => {
                write!(f, "table image format version {found}, expected {expected}")
            }
            Error::BadLength { found, expected } => {
                write!(f, "table payload of {found} octets, its content needs {expected}")
            }
            Error::BadCrc { computed, received } => write!(
                f,
                "table image CRC-32 mismatch: computed 0x{computed:08X}, received 0x{received:08X}"
            ),
            Error::Capacity { field, found, max } => {
                write!(f, "{found} {} entries, capacity is {max}", field.name())
            }
            Error::BadValue { field } => write!(f, "field {} cannot be represented", field.name()),
        }
    }
}

impl core::error::Error for Error {}

/// The validated image header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ImageHeader {
    /// Which table.
    pub table: TableId,
    /// Payload format version (changes when the layout changes).
    pub format_version: u8,
    /// Table content version, chosen by the ground.
    pub table_version: u16,
    /// Payload length in octets.
    pub payload_len: u32,
}

impl ImageHeader {
    /// Parses the first [`HEADER_LEN`] octets of `bytes` (trailing octets are ignored).
    ///
    /// # Errors
    /// [`Error::Truncated`] if fewer than [`HEADER_LEN`] octets; [`Error::UnknownTable`].
    ///
    /// # Panics
    /// Never.
    pub fn parse(bytes: &[u8]) -> Result<ImageHeader, Error> {
        let (head, _) = bytes
            .split_at_checked(HEADER_LEN)
            .ok_or(Error::Truncated { found: bytes.len(), expected: HEADER_LEN })?;
        let mut r = Reader::new(head);
        let id = r.u8()?;
        let table = TableId::from_u8(id).ok_or(Error::UnknownTable(id))?;
        Ok(ImageHeader {
            table,
            format_version: r.u8()?,
            table_version: r.u16()?,
            payload_len: r.u32()?,
        })
    }

    /// Octets of the whole image: header, payload and CRC.
    pub fn image_len(&self) -> usize {
        (self.payload_len as usize).saturating_add(HEADER_LEN + CRC_LEN)
    }

    /// Writes the header into the first [`HEADER_LEN`] octets of `buf`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`].
    pub fn emit(&self, buf: &mut [u8]) -> Result<(), Error> {
        let found = buf.len();
        let head = buf
            .get_mut(..HEADER_LEN)
            .ok_or(Error::BufferTooSmall { found, expected: HEADER_LEN })?;
        let mut w = Writer::new(head);
        w.u8(self.table as u8)?;
        w.u8(self.format_version)?;
        w.u16(self.table_version)?;
        w.u32(self.payload_len)?;
        Ok(())
    }
}

/// A zero-copy view of a table image of any table.
#[derive(Debug, Clone)]
pub struct Image<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Image<T> {
    /// Wraps a buffer without checking it; accessors return defaults until
    /// [`Image::check_len`] passed.
    pub const fn new_unchecked(buffer: T) -> Image<T> {
        Image { buffer }
    }

    /// Wraps a buffer, checks its length against the header and checks the CRC.
    ///
    /// # Errors
    /// [`Error::Truncated`], [`Error::UnknownTable`], [`Error::BadCrc`].
    pub fn new_checked(buffer: T) -> Result<Image<T>, Error> {
        let image = Self::new_unchecked(buffer);
        image.check_len()?;
        image.check_crc()?;
        Ok(image)
    }

    /// Checks that the buffer holds the header, the declared payload and the CRC. Trailing
    /// octets are allowed (an image may sit in a larger buffer).
    ///
    /// # Errors
    /// [`Error::Truncated`], [`Error::UnknownTable`].
    pub fn check_len(&self) -> Result<(), Error> {
        let header = ImageHeader::parse(self.buffer.as_ref())?;
        let found = self.buffer.as_ref().len();
        let expected = header.image_len();
        if found < expected {
            return Err(Error::Truncated { found, expected });
        }
        Ok(())
    }

    /// Checks the CRC-32 trailer.
    ///
    /// # Errors
    /// [`Error::BadCrc`], or the errors of [`Image::check_len`].
    pub fn check_crc(&self) -> Result<(), Error> {
        self.check_len()?;
        let computed = self.crc_computed();
        let received = self.crc_received();
        if computed != received {
            return Err(Error::BadCrc { computed, received });
        }
        Ok(())
    }

    /// The header (`None` if the view was not checked and the header is unreadable).
    pub fn header(&self) -> Option<ImageHeader> {
        ImageHeader::parse(self.buffer.as_ref()).ok()
    }

    fn covered(&self) -> &[u8] {
        let end = self.header().map_or(0, |h| h.image_len().saturating_sub(CRC_LEN));
        self.buffer.as_ref().get(..end).unwrap_or(&[])
    }

    /// The payload octets (empty if the view is short).
    pub fn payload(&self) -> &[u8] {
        self.covered().get(HEADER_LEN..).unwrap_or(&[])
    }

    /// CRC-32 computed over header and payload.
    pub fn crc_computed(&self) -> u32 {
        crc32(self.covered())
    }

    /// CRC-32 read from the trailer (0 if the view is short).
    pub fn crc_received(&self) -> u32 {
        let start = self.covered().len();
        self.buffer
            .as_ref()
            .get(start..start.saturating_add(CRC_LEN))
            .and_then(|b| b.try_into().ok())
            .map_or(0, u32::from_be_bytes)
    }

    /// The whole image, header through CRC, without trailing octets.
    pub fn as_bytes(&self) -> &[u8] {
        let end = self.header().map_or(0, |h| h.image_len());
        self.buffer.as_ref().get(..end).unwrap_or(&[])
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

/// A table with a binary image: its ID, payload format and payload codec.
pub trait Table: Sized {
    /// The table's registry ID.
    const ID: TableId;
    /// The payload format version this code reads and writes.
    const FORMAT_VERSION: u8;

    /// The table's content version (goes into the image header).
    fn version(&self) -> u16;

    /// Payload length in octets.
    fn payload_len(&self) -> usize;

    /// Writes the payload.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] if the writer has fewer than [`Table::payload_len`] octets.
    fn emit_payload(&self, w: &mut Writer<'_>) -> Result<(), Error>;

    /// Reads a payload written by [`Table::emit_payload`]; `version` comes from the header.
    ///
    /// # Errors
    /// [`Error::Truncated`], [`Error::Capacity`], [`Error::BadValue`].
    fn parse_payload(r: &mut Reader<'_>, version: u16) -> Result<Self, Error>;

    /// Octets of the whole image.
    fn image_len(&self) -> usize {
        HEADER_LEN + self.payload_len() + CRC_LEN
    }
}

/// Emits the image of `table` into `buf` and returns its length.
///
/// # Errors
/// [`Error::BufferTooSmall`] if `buf` is shorter than [`Table::image_len`].
///
/// # Panics
/// Never.
pub fn emit<T: Table>(table: &T, buf: &mut [u8]) -> Result<usize, Error> {
    let len = table.image_len();
    let found = buf.len();
    let out = buf.get_mut(..len).ok_or(Error::BufferTooSmall { found, expected: len })?;
    let payload_len = u32::try_from(table.payload_len())
        .map_err(|_| Error::BufferTooSmall { found, expected: len })?;
    ImageHeader {
        table: T::ID,
        format_version: T::FORMAT_VERSION,
        table_version: table.version(),
        payload_len,
    }
    .emit(out)?;
    let (covered, trailer) = out.split_at_mut(len - CRC_LEN);
    let payload = covered.get_mut(HEADER_LEN..).unwrap_or(&mut []);
    let declared = payload.len();
    let mut w = Writer::new(payload);
    table.emit_payload(&mut w)?;
    if w.position() != declared {
        return Err(Error::BadLength { found: declared, expected: w.position() });
    }
    trailer.copy_from_slice(&crc32(covered).to_be_bytes());
    Ok(len)
}

/// Checks an image's header against table `T` and its CRC, and returns the header.
///
/// # Errors
/// [`Error::WrongTable`], [`Error::BadFormat`] and the errors of [`Image::new_checked`].
pub fn check<T: Table>(bytes: &[u8]) -> Result<ImageHeader, Error> {
    let header = ImageHeader::parse(bytes)?;
    if header.table != T::ID {
        return Err(Error::WrongTable { found: header.table as u8, expected: T::ID as u8 });
    }
    if header.format_version != T::FORMAT_VERSION {
        return Err(Error::BadFormat { found: header.format_version, expected: T::FORMAT_VERSION });
    }
    Image::new_checked(bytes)?;
    Ok(header)
}

/// Parses and checks a whole image of table `T` (trailing octets after the CRC are ignored).
///
/// # Errors
/// The errors of [`check`], then of [`Table::parse_payload`]; [`Error::BadLength`] if the
/// payload has octets left over.
///
/// # Panics
/// Never.
pub fn parse<T: Table>(bytes: &[u8]) -> Result<T, Error> {
    let header = check::<T>(bytes)?;
    let image = Image::new_unchecked(bytes);
    let payload = image.payload();
    let mut r = Reader::new(payload);
    let table = T::parse_payload(&mut r, header.table_version)?;
    if r.remaining() != 0 {
        return Err(Error::BadLength { found: payload.len(), expected: r.position() });
    }
    Ok(table)
}

/// A big-endian cursor over payload octets that never reads past the end.
#[derive(Debug)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Starts reading at the first octet.
    pub const fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }

    /// Octets consumed so far.
    pub const fn position(&self) -> usize {
        self.pos
    }

    /// Octets left.
    pub const fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    /// Takes the next `n` octets.
    ///
    /// # Errors
    /// [`Error::Truncated`].
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let end = self.pos.saturating_add(n);
        let out = self
            .bytes
            .get(self.pos..end)
            .ok_or(Error::Truncated { found: self.bytes.len(), expected: end })?;
        self.pos = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let b = self.take(N)?;
        b.try_into().map_err(|_| Error::Truncated { found: b.len(), expected: N })
    }

    /// Reads one octet.
    ///
    /// # Errors
    /// [`Error::Truncated`].
    pub fn u8(&mut self) -> Result<u8, Error> {
        Ok(u8::from_be_bytes(self.array()?))
    }

    /// Reads a big-endian `u16`.
    ///
    /// # Errors
    /// [`Error::Truncated`].
    pub fn u16(&mut self) -> Result<u16, Error> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    /// Reads a big-endian `u32`.
    ///
    /// # Errors
    /// [`Error::Truncated`].
    pub fn u32(&mut self) -> Result<u32, Error> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    /// Reads a big-endian IEEE 754 binary32.
    ///
    /// # Errors
    /// [`Error::Truncated`].
    pub fn f32(&mut self) -> Result<f32, Error> {
        Ok(f32::from_be_bytes(self.array()?))
    }

    /// Reads a one-octet entry count and checks it against a capacity.
    ///
    /// # Errors
    /// [`Error::Truncated`], [`Error::Capacity`].
    pub fn count(&mut self, field: Field, max: usize) -> Result<usize, Error> {
        let found = usize::from(self.u8()?);
        if found > max {
            return Err(Error::Capacity { field, found, max });
        }
        Ok(found)
    }
}

/// A big-endian cursor that writes payload octets and never writes past the end.
#[derive(Debug)]
pub struct Writer<'a> {
    bytes: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    /// Starts writing at the first octet.
    pub fn new(bytes: &'a mut [u8]) -> Self {
        Writer { bytes, pos: 0 }
    }

    /// Octets written so far.
    pub const fn position(&self) -> usize {
        self.pos
    }

    /// Writes octets.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`].
    pub fn put(&mut self, data: &[u8]) -> Result<(), Error> {
        let end = self.pos.saturating_add(data.len());
        let found = self.bytes.len();
        self.bytes
            .get_mut(self.pos..end)
            .ok_or(Error::BufferTooSmall { found, expected: end })?
            .copy_from_slice(data);
        self.pos = end;
        Ok(())
    }

    /// Writes one octet.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`].
    pub fn u8(&mut self, v: u8) -> Result<(), Error> {
        self.put(&[v])
    }

    /// Writes a big-endian `u16`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`].
    pub fn u16(&mut self, v: u16) -> Result<(), Error> {
        self.put(&v.to_be_bytes())
    }

    /// Writes a big-endian `u32`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`].
    pub fn u32(&mut self, v: u32) -> Result<(), Error> {
        self.put(&v.to_be_bytes())
    }

    /// Writes a big-endian IEEE 754 binary32 (bit pattern kept, NaN payloads included).
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`].
    pub fn f32(&mut self, v: f32) -> Result<(), Error> {
        self.put(&v.to_bits().to_be_bytes())
    }

    /// Writes a one-octet entry count (capacities are all below 256).
    ///
    /// # Errors
    /// [`Error::Capacity`] above 255, [`Error::BufferTooSmall`].
    pub fn count(&mut self, field: Field, n: usize) -> Result<(), Error> {
        let v = u8::try_from(n).map_err(|_| Error::Capacity { field, found: n, max: 255 })?;
        self.u8(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static HEADER: [u8; 8] = [0x02, 0x01, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00];

    #[test]
    fn parse_header() {
        let h = ImageHeader::parse(&HEADER).unwrap();
        assert_eq!(h.table, TableId::Bands);
        assert_eq!(h.format_version, 1);
        assert_eq!(h.table_version, 7);
        assert_eq!(h.payload_len, 0);
        assert_eq!(h.image_len(), 12);
        let mut out = [0u8; 8];
        h.emit(&mut out).unwrap();
        assert_eq!(out, HEADER);
    }

    #[test]
    fn truncated_header() {
        assert_eq!(
            ImageHeader::parse(&HEADER[..5]),
            Err(Error::Truncated { found: 5, expected: 8 })
        );
    }

    #[test]
    fn unknown_table() {
        let mut h = HEADER;
        h[0] = 0x7E;
        assert_eq!(ImageHeader::parse(&h), Err(Error::UnknownTable(0x7E)));
    }

    #[test]
    fn bad_crc_detected() {
        let mut img = [0u8; 12];
        img[..8].copy_from_slice(&HEADER);
        let crc = crc32(&HEADER);
        img[8..].copy_from_slice(&crc.to_be_bytes());
        assert!(Image::new_checked(&img[..]).is_ok());
        img[11] ^= 1;
        assert_eq!(
            Image::new_checked(&img[..]).unwrap_err(),
            Error::BadCrc { computed: crc, received: crc ^ 1 }
        );
    }

    #[test]
    fn unchecked_view_is_total() {
        let v = Image::new_unchecked(&[0x02u8, 1, 0][..]);
        assert_eq!(v.payload(), &[] as &[u8]);
        assert_eq!(v.crc_received(), 0);
        assert_eq!(v.as_bytes(), &[] as &[u8]);
    }

    #[test]
    fn reader_never_reads_past_end() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u16().unwrap(), 0x0102);
        assert_eq!(r.u16(), Err(Error::Truncated { found: 3, expected: 4 }));
        assert_eq!(r.u8().unwrap(), 3);
        assert_eq!(r.remaining(), 0);
    }
}
