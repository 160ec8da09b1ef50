//! ST\[17\] test (ECSS-E-ST-70-41C §6.17): are-you-alive, and the mission-specific request
//! status query the bench uses to resolve a TC whose verification reports were lost.
//!
//! | subtype | direction | application data |
//! |---|---|---|
//! | 17,1 are-you-alive | TC | none |
//! | 17,2 are-you-alive report | TM | none |
//! | 17,128 query request status | TC | N u8 (1..=[`MAX_QUERY_IDS`]), N × request ID (4) |
//! | 17,129 request status report | TM | recorded u32, capacity u16, span ms u32, N u8, N × [`RequestStatus`] (8) |
//!
//! The unit keeps the outcome of the last `capacity` TCs it received on the link (request ID,
//! how far it got, the failure code and stage of a failure) in a ring, and answers 17,128 with
//! one [`RequestStatus`] per queried ID, in the order asked. `recorded` counts the TCs recorded
//! since the unit started; `span` is how far back the history is complete (milliseconds before
//! the report: since power-on while nothing was evicted, else since the last evicted entry was
//! recorded). A TC first sent within that span and absent from the history never reached the
//! unit's packet layer. `docs/icd/services.md` has the details.

use super::Error;
use super::verification::{REQUEST_ID_LEN, RequestId};
use super::wire::{Item, List, Reader, Writer, emit_with, parse_all};
use super::{FailureCode, Stage};

/// Service type number.
pub const SERVICE: u8 = 17;
/// Most request IDs in one 17,128 query.
pub const MAX_QUERY_IDS: usize = 32;
/// Octets of one [`RequestStatus`].
pub const REQUEST_STATUS_LEN: usize = 8;

impl Item for RequestId {
    const LEN: usize = REQUEST_ID_LEN;
    const FIELD: &'static str = "request_ids";

    fn decode(data: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(data);
        let id = RequestId { packet_id: r.u16()?, seq_ctrl: r.u16()? };
        r.finish()?;
        Ok(id)
    }

    fn encode(&self, out: &mut [u8]) -> Result<(), Error> {
        let mut w = Writer::new(out);
        w.u16(self.packet_id)?;
        w.u16(self.seq_ctrl)
    }
}

wire_enum! {
    /// How far the unit got with a TC, as its request history says.
    pub enum Progress: "request_state" {
        /// The unit has no record of this request ID.
        Unknown = 0x00, "unknown";
        /// Accepted and started, not concluded yet (a dump in progress, a reset).
        Executing = 0x01, "executing";
        /// Completed successfully (whether or not 1,7 was requested).
        Completed = 0x02, "completed";
        /// Failed at [`RequestStatus::stage`] with [`RequestStatus::code`].
        Failed = 0x03, "failed";
    }
}

/// One entry of a 17,129 report (8 octets): request ID, state, stage u8 (1 acceptance, 2
/// start, 3 progress, 4 completion; 0 unless failed), failure code u16 (0 unless failed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RequestStatus {
    /// The request ID asked about.
    pub request_id: RequestId,
    /// How far the unit got.
    pub state: Progress,
    /// The failed stage (failed only).
    pub stage: Option<Stage>,
    /// The failure code (failed only).
    pub code: Option<FailureCode>,
}

fn stage_value(s: Option<Stage>) -> u8 {
    match s {
        None => 0,
        Some(Stage::Acceptance) => 1,
        Some(Stage::Start) => 2,
        Some(Stage::Progress) => 3,
        Some(Stage::Completion) => 4,
    }
}

impl Item for RequestStatus {
    const LEN: usize = REQUEST_STATUS_LEN;
    const FIELD: &'static str = "request_status";

    fn decode(data: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(data);
        let request_id = RequestId { packet_id: r.u16()?, seq_ctrl: r.u16()? };
        let state = Progress::read(&mut r)?;
        let stage = match r.u8()? {
            0 => None,
            1 => Some(Stage::Acceptance),
            2 => Some(Stage::Start),
            3 => Some(Stage::Progress),
            4 => Some(Stage::Completion),
            v => return Err(Error::BadValue { field: "failed_stage", value: u32::from(v) }),
        };
        let code = match r.u16()? {
            0 => None,
            v => Some(FailureCode::from_value(v)),
        };
        r.finish()?;
        let failed = state == Progress::Failed;
        if failed != (stage.is_some() && code.is_some()) {
            return Err(Error::BadValue {
                field: "failed_stage",
                value: u32::from(stage_value(stage)),
            });
        }
        Ok(RequestStatus { request_id, state, stage, code })
    }

    fn encode(&self, out: &mut [u8]) -> Result<(), Error> {
        let mut w = Writer::new(out);
        w.u16(self.request_id.packet_id)?;
        w.u16(self.request_id.seq_ctrl)?;
        w.u8(self.state.value())?;
        w.u8(stage_value(self.stage))?;
        w.u16(self.code.map_or(0, |c| c.value()))
    }
}

/// ST\[17\] requests.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request<'a> {
    /// 17,1: are-you-alive connection test.
    AreYouAlive,
    /// 17,128: report the status of these requests (17,129).
    QueryStatus(List<'a, RequestId>),
}

impl<'a> Request<'a> {
    /// Parses the application data of subtype `subtype`.
    ///
    /// # Errors
    /// [`Error::UnknownSubtype`]; [`Error::TrailingData`] if any octet follows 17,1;
    /// [`Error::BadCount`] for a query of no ID or more than [`MAX_QUERY_IDS`].
    pub fn parse(subtype: u8, data: &'a [u8]) -> Result<Self, Error> {
        match subtype {
            1 => empty(data).map(|()| Request::AreYouAlive),
            128 => parse_all(data, |r| Ok(Request::QueryStatus(List::read(r, 1, MAX_QUERY_IDS)?))),
            _ => Err(Error::UnknownSubtype { service: SERVICE, subtype }),
        }
    }

    /// Subtype number.
    pub fn subtype(&self) -> u8 {
        match self {
            Request::AreYouAlive => 1,
            Request::QueryStatus(_) => 128,
        }
    }

    /// Octets of application data.
    pub fn buffer_len(&self) -> usize {
        match self {
            Request::AreYouAlive => 0,
            Request::QueryStatus(l) => l.wire_len(),
        }
    }

    /// Writes the application data into `out`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`]; [`Error::BadCount`] as [`Request::parse`].
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        emit_with(out, self.buffer_len(), |w| match self {
            Request::AreYouAlive => Ok(()),
            Request::QueryStatus(l) => l.write(w, 1, MAX_QUERY_IDS),
        })
    }
}

/// ST\[17\] reports.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Report<'a> {
    /// 17,2: the unit is alive.
    AreYouAlive,
    /// 17,129: the status of the queried requests.
    Status {
        /// TCs recorded in the history since the unit started (wraps at 2³²).
        recorded: u32,
        /// Entries the history holds at most.
        capacity: u16,
        /// Milliseconds before this report since which every TC received is in the history
        /// (saturates at `u32::MAX`).
        span_ms: u32,
        /// One entry per queried ID, in the order of the query.
        entries: List<'a, RequestStatus>,
    },
}

impl<'a> Report<'a> {
    /// Parses the source data of subtype `subtype`.
    ///
    /// # Errors
    /// [`Error::UnknownSubtype`]; [`Error::TrailingData`] if any octet follows 17,2; the
    /// entry errors for 17,129.
    pub fn parse(subtype: u8, data: &'a [u8]) -> Result<Self, Error> {
        match subtype {
            2 => empty(data).map(|()| Report::AreYouAlive),
            129 => parse_all(data, |r| {
                Ok(Report::Status {
                    recorded: r.u32()?,
                    capacity: r.u16()?,
                    span_ms: r.u32()?,
                    entries: List::read(r, 1, MAX_QUERY_IDS)?,
                })
            }),
            _ => Err(Error::UnknownSubtype { service: SERVICE, subtype }),
        }
    }

    /// Subtype number.
    pub fn subtype(&self) -> u8 {
        match self {
            Report::AreYouAlive => 2,
            Report::Status { .. } => 129,
        }
    }

    /// Octets of source data.
    pub fn buffer_len(&self) -> usize {
        match self {
            Report::AreYouAlive => 0,
            Report::Status { entries, .. } => 10 + entries.wire_len(),
        }
    }

    /// Writes the source data into `out`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`]; [`Error::BadCount`] as [`Report::parse`].
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        emit_with(out, self.buffer_len(), |w| match self {
            Report::AreYouAlive => Ok(()),
            Report::Status { recorded, capacity, span_ms, entries } => {
                w.u32(*recorded)?;
                w.u16(*capacity)?;
                w.u32(*span_ms)?;
                entries.write(w, 1, MAX_QUERY_IDS)
            }
        })
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
    fn query_and_status_round_trip() {
        let ids = [
            RequestId { packet_id: 0x1A40, seq_ctrl: 0xC001 },
            RequestId { packet_id: 0x1A40, seq_ctrl: 0xC002 },
        ];
        let mut items = [0u8; 8];
        let q = Request::QueryStatus(List::encode_into(&ids, &mut items).unwrap());
        let mut out = [0u8; 9];
        assert_eq!(q.emit(&mut out).unwrap(), 9);
        assert_eq!(out, [2, 0x1A, 0x40, 0xC0, 0x01, 0x1A, 0x40, 0xC0, 0x02]);
        assert_eq!(Request::parse(128, &out).unwrap(), q);
        assert!(matches!(Request::parse(128, &[0]), Err(Error::BadCount { .. })));
        assert!(matches!(Request::parse(128, &out[..8]), Err(Error::Truncated { .. })));

        let st = [
            RequestStatus {
                request_id: ids[0],
                state: Progress::Completed,
                stage: None,
                code: None,
            },
            RequestStatus {
                request_id: ids[1],
                state: Progress::Failed,
                stage: Some(Stage::Start),
                code: Some(FailureCode::NotArmed),
            },
        ];
        let mut items = [0u8; 16];
        let rep = Report::Status {
            recorded: 7,
            capacity: 128,
            span_ms: 0x0102_0304,
            entries: List::encode_into(&st, &mut items).unwrap(),
        };
        let mut out = [0u8; 27];
        assert_eq!(rep.emit(&mut out).unwrap(), 27);
        assert_eq!(&out[..11], &[0, 0, 0, 7, 0, 128, 1, 2, 3, 4, 2]);
        assert_eq!(&out[19..27], &[0x1A, 0x40, 0xC0, 0x02, 3, 2, 0x02, 0x05]);
        assert_eq!(Report::parse(129, &out).unwrap(), rep);
        // A failed state needs a stage and a code, and only a failed one has them.
        let mut bad = out;
        bad[15] = 1; // executing, stage and code zero: fine
        assert!(Report::parse(129, &bad).is_ok());
        bad[23] = 2; // second entry "completed" with a stage
        assert!(matches!(Report::parse(129, &bad), Err(Error::BadValue { .. })));
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
