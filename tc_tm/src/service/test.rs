//! ST\[17\] test (ECSS-E-ST-70-41C §6.17): are-you-alive.
//!
//! | subtype | direction | application data |
//! |---|---|---|
//! | 17,1 are-you-alive | TC | none |
//! | 17,2 are-you-alive report | TM | none |

use super::Error;

/// Service type number.
pub const SERVICE: u8 = 17;

/// ST\[17\] requests.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// 17,1: are-you-alive connection test.
    AreYouAlive,
}

impl Request {
    /// Parses the application data of subtype `subtype`.
    ///
    /// # Errors
    /// [`Error::UnknownSubtype`]; [`Error::TrailingData`] if any octet is present.
    pub fn parse(subtype: u8, data: &[u8]) -> Result<Self, Error> {
        match subtype {
            1 => empty(data).map(|()| Request::AreYouAlive),
            _ => Err(Error::UnknownSubtype { service: SERVICE, subtype }),
        }
    }

    /// Subtype number.
    pub fn subtype(&self) -> u8 {
        match self {
            Request::AreYouAlive => 1,
        }
    }

    /// Octets of application data: none.
    pub fn buffer_len(&self) -> usize {
        0
    }

    /// Writes nothing and returns 0.
    ///
    /// # Errors
    /// Never.
    pub fn emit(&self, _out: &mut [u8]) -> Result<usize, Error> {
        Ok(0)
    }
}

/// ST\[17\] reports.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Report {
    /// 17,2: the unit is alive.
    AreYouAlive,
}

impl Report {
    /// Parses the application data of subtype `subtype`.
    ///
    /// # Errors
    /// [`Error::UnknownSubtype`]; [`Error::TrailingData`] if any octet is present.
    pub fn parse(subtype: u8, data: &[u8]) -> Result<Self, Error> {
        match subtype {
            2 => empty(data).map(|()| Report::AreYouAlive),
            _ => Err(Error::UnknownSubtype { service: SERVICE, subtype }),
        }
    }

    /// Subtype number.
    pub fn subtype(&self) -> u8 {
        match self {
            Report::AreYouAlive => 2,
        }
    }

    /// Octets of source data: none.
    pub fn buffer_len(&self) -> usize {
        0
    }

    /// Writes nothing and returns 0.
    ///
    /// # Errors
    /// Never.
    pub fn emit(&self, _out: &mut [u8]) -> Result<usize, Error> {
        Ok(0)
    }
}

/// Accepts only empty application data.
pub(crate) fn empty(data: &[u8]) -> Result<(), Error> {
    if data.is_empty() {
        Ok(())
    } else {
        Err(Error::TrailingData { found: data.len(), expected: 0 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_are_you_alive() {
        assert_eq!(Request::parse(1, &[]).unwrap(), Request::AreYouAlive);
        assert_eq!(Report::parse(2, &[]).unwrap(), Report::AreYouAlive);
    }

    #[test]
    fn trailing_octet_rejected() {
        assert_eq!(
            Request::parse(1, &[0]).unwrap_err(),
            Error::TrailingData { found: 1, expected: 0 }
        );
    }

    #[test]
    fn unknown_subtype() {
        assert_eq!(
            Request::parse(2, &[]).unwrap_err(),
            Error::UnknownSubtype { service: 17, subtype: 2 }
        );
        assert!(Report::parse(1, &[]).is_err());
    }
}
