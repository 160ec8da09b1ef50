//! The crate-level error: one variant per layer, each carrying that layer's reason.

use core::fmt;

/// Any error of the codec, tagged with the layer that raised it.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// CLTU layer.
    Cltu(crate::cltu::Error),
    /// TC transfer frame layer.
    TcFrame(crate::tc_frame::Error),
    /// AOS transfer frame layer.
    Aos(crate::aos::Error),
    /// M_PDU layer.
    Mpdu(crate::mpdu::Error),
    /// Space packet layer.
    Spp(crate::spp::Error),
    /// PUS secondary headers, time and packet error control.
    Pus(crate::pus::Error),
    /// Service application data.
    Service(crate::service::Error),
}

impl Error {
    /// Short name of the layer, for messages such as `"pus: bad CRC ..."`.
    pub const fn layer(&self) -> &'static str {
        match self {
            Error::Cltu(_) => "cltu",
            Error::TcFrame(_) => "tc-frame",
            Error::Aos(_) => "aos",
            Error::Mpdu(_) => "m_pdu",
            Error::Spp(_) => "space-packet",
            Error::Pus(_) => "pus",
            Error::Service(_) => "service",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Cltu(e) => write!(f, "cltu: {e}"),
            Error::TcFrame(e) => write!(f, "tc-frame: {e}"),
            Error::Aos(e) => write!(f, "aos: {e}"),
            Error::Mpdu(e) => write!(f, "m_pdu: {e}"),
            Error::Spp(e) => write!(f, "space-packet: {e}"),
            Error::Pus(e) => write!(f, "pus: {e}"),
            Error::Service(e) => write!(f, "service: {e}"),
        }
    }
}

impl core::error::Error for Error {}

macro_rules! from_layer {
    ($($variant:ident => $ty:ty),* $(,)?) => {
        $(impl From<$ty> for Error {
            fn from(e: $ty) -> Self {
                Error::$variant(e)
            }
        })*
    };
}

from_layer! {
    Cltu => crate::cltu::Error,
    TcFrame => crate::tc_frame::Error,
    Aos => crate::aos::Error,
    Mpdu => crate::mpdu::Error,
    Spp => crate::spp::Error,
    Pus => crate::pus::Error,
    Service => crate::service::Error,
}
