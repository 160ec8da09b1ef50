//! ST\[01\] request verification (ECSS-E-ST-70-41C §6.1), PUS-C request ID.
//!
//! Layouts (big-endian):
//!
//! | subtype | application data | octets |
//! |---|---|---|
//! | 1,1 / 1,3 / 1,7 acceptance / start / completion success | request ID | 4 |
//! | 1,2 / 1,4 / 1,8 acceptance / start / completion failure | request ID, failure code u16, failure data | 16 |
//! | 1,5 progress success | request ID, step u16 | 6 |
//! | 1,6 progress failure | request ID, step u16, failure code u16, failure data | 18 |
//!
//! The request ID is the first four octets of the TC's primary header: packet ID (version,
//! type, secondary header flag, APID) and packet sequence control (flags, count).
//! The failure data ([`FailureData`], 10 octets) says what failed: `subject` (table ID,
//! memory ID, parameter ID, function ID, SID, event ID, or `service << 8 | subtype`), `index`
//! (table entry, item position in the request, segment), `field` (field number within the
//! entry) and `value` (the offending value: address, received CRC, parameter value ...).
//! `docs/icd/services.md` lists what each failure code puts there.

use super::Error;
use super::failure::FailureCode;
use super::wire::{Reader, Writer, emit_with, parse_all};
use crate::spp::{Apid, SeqCount};

/// Service type number.
pub const SERVICE: u8 = 1;
/// Octets of a request ID.
pub const REQUEST_ID_LEN: usize = 4;
/// Octets of failure data.
pub const FAILURE_DATA_LEN: usize = 10;

/// PUS-C request ID: packet ID and packet sequence control of the TC being verified.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RequestId {
    /// Packet version (3 bits), type, secondary header flag, APID (11 bits).
    pub packet_id: u16,
    /// Sequence flags (2 bits) and sequence count (14 bits).
    pub seq_ctrl: u16,
}

impl RequestId {
    /// The request ID of a TC packet, from its first four octets; `None` if shorter.
    pub fn from_packet(packet: &[u8]) -> Option<Self> {
        let mut r = Reader::new(packet);
        Some(RequestId { packet_id: r.u16().ok()?, seq_ctrl: r.u16().ok()? })
    }

    /// APID of the verified TC.
    pub fn apid(&self) -> Apid {
        Apid::new_masked(self.packet_id)
    }

    /// Sequence count of the verified TC.
    pub fn seq_count(&self) -> SeqCount {
        SeqCount::new_masked(self.seq_ctrl)
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(RequestId { packet_id: r.u16()?, seq_ctrl: r.u16()? })
    }

    fn write(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        w.u16(self.packet_id)?;
        w.u16(self.seq_ctrl)
    }
}

/// What a failure is about (meaning per failure code in `docs/icd/services.md`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FailureData {
    /// The object: table ID, memory ID, parameter ID, function ID, SID, event ID, or
    /// `service << 8 | subtype` for acceptance failures.
    pub subject: u16,
    /// Position: table entry, item index in the request, segment number (0 if unused).
    pub index: u16,
    /// Field number within the entry or item (0 if unused).
    pub field: u16,
    /// The offending value: address, length, received CRC, parameter value (0 if unused).
    pub value: u32,
}

impl FailureData {
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(FailureData { subject: r.u16()?, index: r.u16()?, field: r.u16()?, value: r.u32()? })
    }

    fn write(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        w.u16(self.subject)?;
        w.u16(self.index)?;
        w.u16(self.field)?;
        w.u32(self.value)
    }
}

/// A failed verification stage (1,2 / 1,4 / 1,8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Failure {
    /// The TC that failed.
    pub request_id: RequestId,
    /// Why.
    pub code: FailureCode,
    /// What about.
    pub data: FailureData,
}

impl Failure {
    fn read(r: &mut Reader<'_>) -> Result<Self, Error> {
        let request_id = RequestId::read(r)?;
        let code = FailureCode::from_value(r.u16()?);
        Ok(Failure { request_id, code, data: FailureData::read(r)? })
    }

    fn write(&self, w: &mut Writer<'_>) -> Result<(), Error> {
        self.request_id.write(w)?;
        w.u16(self.code.value())?;
        self.data.write(w)
    }
}

/// A progress step (1,5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Progress {
    /// The TC in progress.
    pub request_id: RequestId,
    /// Step number (e.g. the index of the dump report just sent).
    pub step: u16,
}

/// A failed progress step (1,6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProgressFailure {
    /// The TC, failure code and data.
    pub failure: Failure,
    /// Step number that failed.
    pub step: u16,
}

/// ST\[01\] reports.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Report {
    /// 1,1: acceptance success.
    AcceptanceSuccess(RequestId),
    /// 1,2: acceptance failure.
    AcceptanceFailure(Failure),
    /// 1,3: start of execution success.
    StartSuccess(RequestId),
    /// 1,4: start of execution failure.
    StartFailure(Failure),
    /// 1,5: progress of execution success.
    ProgressSuccess(Progress),
    /// 1,6: progress of execution failure.
    ProgressFailure(ProgressFailure),
    /// 1,7: completion of execution success.
    CompletionSuccess(RequestId),
    /// 1,8: completion of execution failure.
    CompletionFailure(Failure),
}

impl Report {
    /// Parses the source data of subtype `subtype`.
    ///
    /// # Errors
    /// [`Error::UnknownSubtype`], [`Error::Truncated`], [`Error::TrailingData`].
    pub fn parse(subtype: u8, data: &[u8]) -> Result<Self, Error> {
        parse_all(data, |r| {
            Ok(match subtype {
                1 => Report::AcceptanceSuccess(RequestId::read(r)?),
                2 => Report::AcceptanceFailure(Failure::read(r)?),
                3 => Report::StartSuccess(RequestId::read(r)?),
                4 => Report::StartFailure(Failure::read(r)?),
                5 => Report::ProgressSuccess(Progress {
                    request_id: RequestId::read(r)?,
                    step: r.u16()?,
                }),
                6 => {
                    let request_id = RequestId::read(r)?;
                    let step = r.u16()?;
                    let code = FailureCode::from_value(r.u16()?);
                    let data = FailureData::read(r)?;
                    Report::ProgressFailure(ProgressFailure {
                        failure: Failure { request_id, code, data },
                        step,
                    })
                }
                7 => Report::CompletionSuccess(RequestId::read(r)?),
                8 => Report::CompletionFailure(Failure::read(r)?),
                _ => return Err(Error::UnknownSubtype { service: SERVICE, subtype }),
            })
        })
    }

    /// Subtype number.
    pub fn subtype(&self) -> u8 {
        match self {
            Report::AcceptanceSuccess(_) => 1,
            Report::AcceptanceFailure(_) => 2,
            Report::StartSuccess(_) => 3,
            Report::StartFailure(_) => 4,
            Report::ProgressSuccess(_) => 5,
            Report::ProgressFailure(_) => 6,
            Report::CompletionSuccess(_) => 7,
            Report::CompletionFailure(_) => 8,
        }
    }

    /// The verified TC.
    pub fn request_id(&self) -> RequestId {
        match self {
            Report::AcceptanceSuccess(id)
            | Report::StartSuccess(id)
            | Report::CompletionSuccess(id) => *id,
            Report::AcceptanceFailure(f)
            | Report::StartFailure(f)
            | Report::CompletionFailure(f) => f.request_id,
            Report::ProgressSuccess(p) => p.request_id,
            Report::ProgressFailure(p) => p.failure.request_id,
        }
    }

    /// The failure, if this is a failure report.
    pub fn failure(&self) -> Option<&Failure> {
        match self {
            Report::AcceptanceFailure(f)
            | Report::StartFailure(f)
            | Report::CompletionFailure(f) => Some(f),
            Report::ProgressFailure(p) => Some(&p.failure),
            _ => None,
        }
    }

    /// Octets of source data.
    pub fn buffer_len(&self) -> usize {
        match self {
            Report::AcceptanceSuccess(_)
            | Report::StartSuccess(_)
            | Report::CompletionSuccess(_) => REQUEST_ID_LEN,
            Report::AcceptanceFailure(_)
            | Report::StartFailure(_)
            | Report::CompletionFailure(_) => REQUEST_ID_LEN + 2 + FAILURE_DATA_LEN,
            Report::ProgressSuccess(_) => REQUEST_ID_LEN + 2,
            Report::ProgressFailure(_) => REQUEST_ID_LEN + 4 + FAILURE_DATA_LEN,
        }
    }

    /// Writes the source data into `out`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`].
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        emit_with(out, self.buffer_len(), |w| match self {
            Report::AcceptanceSuccess(id)
            | Report::StartSuccess(id)
            | Report::CompletionSuccess(id) => id.write(w),
            Report::AcceptanceFailure(f)
            | Report::StartFailure(f)
            | Report::CompletionFailure(f) => f.write(w),
            Report::ProgressSuccess(p) => {
                p.request_id.write(w)?;
                w.u16(p.step)
            }
            Report::ProgressFailure(p) => {
                p.failure.request_id.write(w)?;
                w.u16(p.step)?;
                w.u16(p.failure.code.value())?;
                p.failure.data.write(w)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: RequestId = RequestId { packet_id: 0x1A40, seq_ctrl: 0xC005 };

    static START_FAIL: [u8; 16] = [
        0x1A, 0x40, 0xC0, 0x05, // request ID
        0x04, 0x03, // failure code 0x0403 table invalid
        0x00, 0x03, 0x00, 0x07, 0x00, 0x02, 0x00, 0x00, 0x01,
        0x2C, // table 3, entry 7, field 2, 300
    ];

    #[test]
    fn parse_failure_vector() {
        let r = Report::parse(4, &START_FAIL).unwrap();
        let f = r.failure().unwrap();
        assert_eq!(f.request_id, ID);
        assert_eq!(f.request_id.apid().value(), 0x240);
        assert_eq!(f.request_id.seq_count().value(), 5);
        assert_eq!(f.code, FailureCode::TableInvalid);
        assert_eq!(f.data, FailureData { subject: 3, index: 7, field: 2, value: 300 });
        let mut out = [0u8; 16];
        assert_eq!(r.emit(&mut out).unwrap(), 16);
        assert_eq!(out, START_FAIL);
    }

    #[test]
    fn parse_success_and_progress() {
        assert_eq!(Report::parse(1, &START_FAIL[..4]).unwrap(), Report::AcceptanceSuccess(ID));
        let p = Report::parse(5, &[0x1A, 0x40, 0xC0, 0x05, 0x00, 0x09]).unwrap();
        assert_eq!(p, Report::ProgressSuccess(Progress { request_id: ID, step: 9 }));
        let mut v = [0u8; 18];
        v[..6].copy_from_slice(&[0x1A, 0x40, 0xC0, 0x05, 0x00, 0x02]);
        v[6..].copy_from_slice(&START_FAIL[4..]);
        let pf = Report::parse(6, &v).unwrap();
        assert_eq!(pf.request_id(), ID);
        assert_eq!(pf.failure().unwrap().data.index, 7);
        let mut out = [0u8; 18];
        pf.emit(&mut out).unwrap();
        assert_eq!(out, v);
    }

    #[test]
    fn truncated_and_trailing() {
        assert_eq!(
            Report::parse(2, &START_FAIL[..15]).unwrap_err(),
            Error::Truncated { found: 15, expected: 16 }
        );
        assert_eq!(
            Report::parse(7, &START_FAIL[..5]).unwrap_err(),
            Error::TrailingData { found: 5, expected: 4 }
        );
        assert!(matches!(Report::parse(9, &[]), Err(Error::UnknownSubtype { .. })));
    }

    #[test]
    fn request_id_from_packet() {
        assert_eq!(RequestId::from_packet(&[0x1A, 0x40, 0xC0, 0x05, 0, 0]), Some(ID));
        assert_eq!(RequestId::from_packet(&[0x1A]), None);
    }

    #[test]
    fn emit_short_buffer() {
        let mut out = [0u8; 3];
        assert_eq!(
            Report::CompletionSuccess(ID).emit(&mut out).unwrap_err(),
            Error::BufferTooSmall { found: 3, expected: 4 }
        );
    }
}
