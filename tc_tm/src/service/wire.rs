//! Octet cursors and repeated-item lists shared by every service (private building blocks).
//!
//! [`Reader`] and [`Writer`] never index past the end: every access goes through `get` or
//! `split_at_checked` and reports the exact number of octets that were missing.

use core::fmt;
use core::marker::PhantomData;

use super::Error;

/// A read cursor over application data.
#[derive(Clone, Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) const fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Octets left to read.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        let expected = self.pos.saturating_add(n);
        let (head, _) =
            rest.split_at_checked(n).ok_or(Error::Truncated { found: self.buf.len(), expected })?;
        self.pos = expected;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, Error> {
        Ok(u8::from_be_bytes(self.array()?))
    }

    pub(crate) fn u16(&mut self) -> Result<u16, Error> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, Error> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn i32(&mut self) -> Result<i32, Error> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    /// A boolean octet: 0 or 1, anything else is rejected.
    pub(crate) fn bool(&mut self, field: &'static str) -> Result<bool, Error> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(Error::BadValue { field, value: u32::from(v) }),
        }
    }

    /// Everything not read yet.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        self.pos = self.buf.len();
        rest
    }

    /// Checks that every octet was consumed.
    pub(crate) fn finish(self) -> Result<(), Error> {
        if self.pos < self.buf.len() {
            return Err(Error::TrailingData { found: self.buf.len(), expected: self.pos });
        }
        Ok(())
    }
}

/// Runs `f` over `data` and rejects trailing octets.
pub(crate) fn parse_all<'a, T>(
    data: &'a [u8],
    f: impl FnOnce(&mut Reader<'a>) -> Result<T, Error>,
) -> Result<T, Error> {
    let mut r = Reader::new(data);
    let value = f(&mut r)?;
    r.finish()?;
    Ok(value)
}

/// A write cursor into an output buffer.
#[derive(Debug)]
pub(crate) struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        Writer { buf, pos: 0 }
    }

    /// Octets written so far.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Reserves `n` octets and returns them for the caller to fill.
    pub(crate) fn reserve(&mut self, n: usize) -> Result<&mut [u8], Error> {
        let found = self.buf.len();
        let expected = self.pos.saturating_add(n);
        let dst = self
            .buf
            .get_mut(self.pos..expected)
            .ok_or(Error::BufferTooSmall { found, expected })?;
        self.pos = expected;
        Ok(dst)
    }

    pub(crate) fn bytes(&mut self, data: &[u8]) -> Result<(), Error> {
        self.reserve(data.len())?.copy_from_slice(data);
        Ok(())
    }

    pub(crate) fn u8(&mut self, v: u8) -> Result<(), Error> {
        self.bytes(&[v])
    }

    pub(crate) fn u16(&mut self, v: u16) -> Result<(), Error> {
        self.bytes(&v.to_be_bytes())
    }

    pub(crate) fn u32(&mut self, v: u32) -> Result<(), Error> {
        self.bytes(&v.to_be_bytes())
    }

    pub(crate) fn i32(&mut self, v: i32) -> Result<(), Error> {
        self.bytes(&v.to_be_bytes())
    }

    pub(crate) fn bool(&mut self, v: bool) -> Result<(), Error> {
        self.u8(u8::from(v))
    }

    /// Overwrites one octet already written (used to patch counts).
    pub(crate) fn patch_u8(&mut self, at: usize, v: u8) -> Result<(), Error> {
        let found = self.buf.len();
        let slot = self.buf.get_mut(at).ok_or(Error::BufferTooSmall { found, expected: at + 1 })?;
        *slot = v;
        Ok(())
    }

    /// Overwrites two octets already written (used to patch lengths).
    pub(crate) fn patch_u16(&mut self, at: usize, v: u16) -> Result<(), Error> {
        let found = self.buf.len();
        let end = at.saturating_add(2);
        self.buf
            .get_mut(at..end)
            .ok_or(Error::BufferTooSmall { found, expected: end })?
            .copy_from_slice(&v.to_be_bytes());
        Ok(())
    }

    /// The octets written, from `from` to the cursor.
    pub(crate) fn written(&self, from: usize) -> &[u8] {
        self.buf.get(from..self.pos).unwrap_or_default()
    }
}

/// Checks the output length, runs `f`, and returns the number of octets written.
pub(crate) fn emit_with(
    out: &mut [u8],
    len: usize,
    f: impl FnOnce(&mut Writer<'_>) -> Result<(), Error>,
) -> Result<usize, Error> {
    if out.len() < len {
        return Err(Error::BufferTooSmall { found: out.len(), expected: len });
    }
    let mut w = Writer::new(out);
    f(&mut w)?;
    Ok(w.pos())
}

/// Rejects a count outside `min..=max`.
pub(crate) fn check_count(
    field: &'static str,
    count: usize,
    min: usize,
    max: usize,
) -> Result<(), Error> {
    if count < min || count > max {
        return Err(Error::BadCount { field, count, max });
    }
    Ok(())
}

/// A fixed-size item repeated in a list (`N × item` after an octet `N`).
///
/// `decode` validates: a list checks every item at parse, so iteration cannot fail.
pub trait Item: Copy + fmt::Debug {
    /// Encoded size in octets.
    const LEN: usize;
    /// Name of the list in error messages.
    const FIELD: &'static str;

    /// Decodes one item from exactly [`Item::LEN`] octets.
    ///
    /// # Errors
    /// [`Error::BadValue`] for a value the ICD does not define; [`Error::Truncated`] if fewer
    /// than [`Item::LEN`] octets are given.
    fn decode(data: &[u8]) -> Result<Self, Error>;

    /// Encodes the item into the first [`Item::LEN`] octets of `out`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] if `out` is shorter than [`Item::LEN`].
    fn encode(&self, out: &mut [u8]) -> Result<(), Error>;
}

/// A validated, zero-copy list of `N` fixed-size items (`N` is one octet on the wire).
#[derive(Clone, Copy)]
pub struct List<'a, T: Item> {
    bytes: &'a [u8],
    _item: PhantomData<T>,
}

impl<'a, T: Item> List<'a, T> {
    /// Wraps the encoded items (without the count octet), checking every item.
    ///
    /// # Errors
    /// [`Error::BadCount`] if the length is not a multiple of the item size or holds more than
    /// 255 items; the item's own error otherwise.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self, Error> {
        if T::LEN == 0 || !bytes.len().is_multiple_of(T::LEN) || bytes.len() / T::LEN > 255 {
            return Err(Error::BadCount { field: T::FIELD, count: bytes.len(), max: 255 });
        }
        for chunk in bytes.chunks_exact(T::LEN) {
            T::decode(chunk)?;
        }
        Ok(List { bytes, _item: PhantomData })
    }

    /// Encodes `items` into `out` and returns the list viewing them.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] if `out` is shorter than the items; [`Error::BadCount`] above
    /// 255 items.
    pub fn encode_into(items: &[T], out: &'a mut [u8]) -> Result<Self, Error> {
        let len = items.len().saturating_mul(T::LEN);
        if items.len() > 255 {
            return Err(Error::BadCount { field: T::FIELD, count: items.len(), max: 255 });
        }
        let found = out.len();
        let dst = out.get_mut(..len).ok_or(Error::BufferTooSmall { found, expected: len })?;
        for (item, chunk) in items.iter().zip(dst.chunks_exact_mut(T::LEN)) {
            item.encode(chunk)?;
        }
        let shared: &'a [u8] = out;
        Self::from_bytes(shared.get(..len).unwrap_or_default())
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.bytes.len() / T::LEN
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The encoded items, without the count octet.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Iterates over the items (validated at construction, so iteration cannot fail).
    pub fn iter(&self) -> ListIter<'a, T> {
        ListIter { chunks: self.bytes.chunks_exact(T::LEN), _item: PhantomData }
    }

    /// Octets on the wire: count octet plus items.
    pub(crate) fn wire_len(&self) -> usize {
        1 + self.bytes.len()
    }

    /// Reads `N` and `N` items, rejecting `N` outside `min..=max`.
    pub(crate) fn read(r: &mut Reader<'a>, min: usize, max: usize) -> Result<Self, Error> {
        let n = usize::from(r.u8()?);
        check_count(T::FIELD, n, min, max)?;
        let bytes = r.take(n.saturating_mul(T::LEN))?;
        Self::from_bytes(bytes)
    }

    /// Writes `N` and the items, rejecting `N` outside `min..=max`.
    pub(crate) fn write(&self, w: &mut Writer<'_>, min: usize, max: usize) -> Result<(), Error> {
        check_count(T::FIELD, self.len(), min, max)?;
        w.u8(self.len() as u8)?;
        w.bytes(self.bytes)
    }
}

impl<T: Item> PartialEq for List<'_, T> {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl<T: Item> Eq for List<'_, T> {}

impl<T: Item> fmt::Debug for List<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a, T: Item> IntoIterator for &List<'a, T> {
    type Item = T;
    type IntoIter = ListIter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Iterator over a [`List`].
#[derive(Clone, Debug)]
pub struct ListIter<'a, T: Item> {
    chunks: core::slice::ChunksExact<'a, u8>,
    _item: PhantomData<T>,
}

impl<T: Item> Iterator for ListIter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        // Every chunk was decoded successfully when the list was built.
        T::decode(self.chunks.next()?).ok()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.chunks.size_hint()
    }
}

/// Reads a big-endian `u16` at `at` of an item already known to be long enough.
pub(crate) fn be16(data: &[u8], at: usize) -> Result<u16, Error> {
    let mut r = Reader::new(data);
    r.take(at)?;
    r.u16()
}

/// Reads a big-endian `u32` at `at` of an item already known to be long enough.
pub(crate) fn be32(data: &[u8], at: usize) -> Result<u32, Error> {
    let mut r = Reader::new(data);
    r.take(at)?;
    r.u32()
}

/// Formats octets as upper-case hex without separators.
pub(crate) struct Hex<'a>(pub(crate) &'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq)]
    struct Id(u16);
    impl Item for Id {
        const LEN: usize = 2;
        const FIELD: &'static str = "id";
        fn decode(data: &[u8]) -> Result<Self, Error> {
            be16(data, 0).map(Id)
        }
        fn encode(&self, out: &mut [u8]) -> Result<(), Error> {
            Writer::new(out).u16(self.0)
        }
    }

    #[test]
    fn reader_reports_missing_octets() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u16().unwrap(), 0x0102);
        assert_eq!(r.u16().unwrap_err(), Error::Truncated { found: 3, expected: 4 });
    }

    #[test]
    fn reader_rejects_trailing() {
        let r = parse_all(&[1, 2, 3], |r| r.u16());
        assert_eq!(r.unwrap_err(), Error::TrailingData { found: 3, expected: 2 });
    }

    #[test]
    fn writer_reports_short_buffer() {
        let mut buf = [0u8; 3];
        let mut w = Writer::new(&mut buf);
        w.u16(1).unwrap();
        assert_eq!(w.u16(2).unwrap_err(), Error::BufferTooSmall { found: 3, expected: 4 });
    }

    #[test]
    fn list_round_trip() {
        let mut buf = [0u8; 8];
        let list = List::encode_into(&[Id(1), Id(0xABCD)], &mut buf).unwrap();
        assert_eq!(list.as_bytes(), &[0, 1, 0xAB, 0xCD]);
        assert_eq!(list.iter().collect::<std::vec::Vec<_>>(), [Id(1), Id(0xABCD)]);
        assert!(List::<Id>::from_bytes(&[0, 1, 2]).is_err());
    }

    #[test]
    fn list_read_checks_count() {
        let mut r = Reader::new(&[0]);
        assert_eq!(
            List::<Id>::read(&mut r, 1, 4).unwrap_err(),
            Error::BadCount { field: "id", count: 0, max: 4 }
        );
        let mut r = Reader::new(&[5, 0, 0]);
        assert!(matches!(List::<Id>::read(&mut r, 1, 4), Err(Error::BadCount { count: 5, .. })));
        let mut r = Reader::new(&[2, 0, 0]);
        assert_eq!(
            List::<Id>::read(&mut r, 1, 4).unwrap_err(),
            Error::Truncated { found: 3, expected: 5 }
        );
    }
}
