//! Hexadecimal input and output for the scripting commands.
//!
//! Input is forgiving about layout (whitespace, newlines, `0x` prefixes, `:` or `-` separators
//! between octets, as copied from dumps) and strict about content: an odd digit count or a
//! non-hex character is an error that names the offending column.

use std::fmt;

/// Why a hex string was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HexError {
    /// A character that is neither a hex digit nor an accepted separator.
    BadChar {
        /// The character.
        ch: char,
        /// 1-based column in the input.
        column: usize,
    },
    /// An odd number of hex digits: the last octet is incomplete.
    OddDigits {
        /// How many digits were found.
        digits: usize,
    },
    /// No digits at all.
    Empty,
}

impl fmt::Display for HexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HexError::BadChar { ch, column } => write!(
                f,
                "hex input: unexpected character {ch:?} at column {column}; expected hex digits \
                 (0-9, a-f), optionally separated by spaces, ':' or '-'"
            ),
            HexError::OddDigits { digits } => write!(
                f,
                "hex input: {digits} hex digits is an odd count; expected two digits per octet"
            ),
            HexError::Empty => {
                write!(f, "hex input: no octets; expected hex digits such as 1A40C0")
            }
        }
    }
}

impl std::error::Error for HexError {}

/// Parses hex text into octets.
///
/// # Errors
/// [`HexError`] naming the column of the first bad character, or an odd digit count.
pub fn parse(text: &str) -> Result<Vec<u8>, HexError> {
    let mut out = Vec::with_capacity(text.len() / 2);
    let mut high: Option<u8> = None;
    let mut digits = 0usize;
    let mut chars = text.char_indices().peekable();
    let mut column = 0usize;
    while let Some((_, ch)) = chars.next() {
        column += 1;
        if ch == '0' && high.is_none() && matches!(chars.peek(), Some((_, 'x' | 'X'))) {
            // A "0x" prefix before an octet: skip the 'x'.
            chars.next();
            column += 1;
            continue;
        }
        let v = match ch {
            '0'..='9' => ch as u8 - b'0',
            'a'..='f' => ch as u8 - b'a' + 10,
            'A'..='F' => ch as u8 - b'A' + 10,
            c if c.is_whitespace() || c == ':' || c == '-' || c == ',' => {
                continue;
            }
            _ => return Err(HexError::BadChar { ch, column }),
        };
        digits += 1;
        match high.take() {
            None => high = Some(v),
            Some(h) => out.push((h << 4) | v),
        }
    }
    if high.is_some() {
        return Err(HexError::OddDigits { digits });
    }
    if out.is_empty() {
        return Err(HexError::Empty);
    }
    Ok(out)
}

/// Formats octets as upper-case hex without separators.
pub fn format(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02X}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_plain_and_separated() {
        assert_eq!(parse("1A40c0").unwrap(), vec![0x1A, 0x40, 0xC0]);
        assert_eq!(parse("1a 40\nC0").unwrap(), vec![0x1A, 0x40, 0xC0]);
        assert_eq!(parse("1a:40:c0").unwrap(), vec![0x1A, 0x40, 0xC0]);
        assert_eq!(parse("0x1A40 0xC0").unwrap(), vec![0x1A, 0x40, 0xC0]);
    }

    #[test]
    fn odd_digits_rejected() {
        assert_eq!(parse("1A4").unwrap_err(), HexError::OddDigits { digits: 3 });
    }

    #[test]
    fn bad_char_column() {
        assert_eq!(parse("1A 4g").unwrap_err(), HexError::BadChar { ch: 'g', column: 5 });
        assert!(parse("zz").unwrap_err().to_string().contains("column 1"));
    }

    #[test]
    fn empty_rejected() {
        assert_eq!(parse("  ").unwrap_err(), HexError::Empty);
    }

    #[test]
    fn format_round_trips() {
        let b = vec![0x00, 0xFF, 0x1A];
        assert_eq!(format(&b), "00FF1A");
        assert_eq!(parse(&format(&b)).unwrap(), b);
    }
}
