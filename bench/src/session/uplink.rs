//! Uplink encoding: PUS TC packet → TC transfer frame → CLTU, with the idle preamble.
//!
//! Pure functions and a small sequence-count state; no I/O. The layers are the codec's
//! (`tc_tm::pus::tc`, `tc_tm::tc_frame`, `tc_tm::cltu`); this module only fixes the bench's
//! choices: APID [`mission::APID_UGTS`], source ID [`mission::BENCH_SOURCE_ID`], all four
//! acknowledgement flags by default, virtual channel [`mission::TC_VCID`], MAP
//! [`mission::TC_MAP_ID`], and [`PREAMBLE_LEN`] idle octets before every CLTU.

use std::fmt;

use tc_tm::cltu;
use tc_tm::mission;
use tc_tm::pus::AckFlags;
use tc_tm::pus::tc as pus_tc;
use tc_tm::service::verification::RequestId;
use tc_tm::spp::{Apid, SeqCount, SeqFlags};
use tc_tm::tc_frame::{self, Body, ControlCommand};

/// Idle octets (`0x55`, the CLTU fill pattern) sent before every CLTU.
///
/// The unit's CLTU decoder hunts for `EB 90`; line noise just before a CLTU can form a false
/// start sequence that swallows the real one. A few idle octets let the decoder fall back to
/// hunting before the real start sequence arrives (`docs/bench.md`).
pub const PREAMBLE_LEN: usize = 4;

/// Octets on the line for one TC frame of `frame_len` octets: preamble plus CLTU.
pub const fn line_len(frame_len: usize) -> usize {
    PREAMBLE_LEN + cltu::encoded_len(frame_len)
}

/// Why a TC could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// The application data does not fit one TC packet.
    TooLong {
        /// Octets of application data given.
        len: usize,
        /// The largest accepted.
        max: usize,
    },
    /// The packet layer refused it.
    Pus(tc_tm::pus::Error),
    /// The frame layer refused it.
    Frame(tc_frame::Error),
    /// The CLTU layer refused it.
    Cltu(cltu::Error),
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::TooLong { len, max } => {
                write!(f, "application data of {len} octets exceeds one TC ({max} octets at most)")
            }
            EncodeError::Pus(e) => write!(f, "PUS TC packet: {e}"),
            EncodeError::Frame(e) => write!(f, "TC frame: {e}"),
            EncodeError::Cltu(e) => write!(f, "CLTU: {e}"),
        }
    }
}

impl std::error::Error for EncodeError {}

/// Builds PUS TC packets with consecutive sequence counts.
#[derive(Debug, Clone)]
pub struct TcEncoder {
    apid: Apid,
    source_id: u16,
    ack: AckFlags,
    seq_count: SeqCount,
}

impl Default for TcEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl TcEncoder {
    /// An encoder for the UGTS APID, bench source ID, all acknowledgement flags, count 0.
    pub fn new() -> Self {
        Self {
            apid: mission::APID_UGTS,
            source_id: mission::BENCH_SOURCE_ID,
            ack: AckFlags::ALL,
            seq_count: SeqCount::new_masked(0),
        }
    }

    /// Sets the acknowledgement flags of the next packets.
    pub fn set_ack(&mut self, ack: AckFlags) {
        self.ack = ack;
    }

    /// The acknowledgement flags the next packets carry.
    pub fn ack(&self) -> AckFlags {
        self.ack
    }

    /// Sets the sequence count of the next packet (e.g. to continue a previous session's).
    pub fn set_seq_count(&mut self, count: u16) {
        self.seq_count = SeqCount::new_masked(count);
    }

    /// The sequence count the next packet will carry.
    pub fn seq_count(&self) -> u16 {
        self.seq_count.value()
    }

    /// Encodes one PUS TC packet and advances the sequence count; returns the packet and its
    /// request ID.
    ///
    /// # Errors
    /// [`EncodeError::TooLong`] above [`pus_tc::MAX_APP_DATA_LEN`], [`EncodeError::Pus`].
    pub fn packet(
        &mut self,
        service: u8,
        subtype: u8,
        app_data: &[u8],
    ) -> Result<(Vec<u8>, RequestId), EncodeError> {
        if app_data.len() > pus_tc::MAX_APP_DATA_LEN {
            return Err(EncodeError::TooLong {
                len: app_data.len(),
                max: pus_tc::MAX_APP_DATA_LEN,
            });
        }
        let repr = pus_tc::Repr {
            apid: self.apid,
            seq_flags: SeqFlags::Unsegmented,
            seq_count: self.seq_count,
            ack: self.ack,
            service,
            subtype,
            source_id: self.source_id,
            app_data,
        };
        let mut buf = vec![0u8; repr.buffer_len()];
        let n = repr.emit(&mut buf).map_err(EncodeError::Pus)?;
        buf.truncate(n);
        let id = RequestId::from_packet(&buf).unwrap_or_default();
        self.seq_count = self.seq_count.next();
        Ok((buf, id))
    }
}

/// Encodes a type-AD frame carrying `packet` with sequence number `n_s`, as line octets
/// (preamble + CLTU).
///
/// # Errors
/// [`EncodeError::Frame`] if the packet does not fit a frame, [`EncodeError::Cltu`].
pub fn ad_line_octets(packet: &[u8], n_s: u8, randomise: bool) -> Result<Vec<u8>, EncodeError> {
    frame_line_octets(
        &tc_frame::Repr {
            bypass: false,
            scid: mission::SCID,
            vcid: mission::TC_VCID,
            seq_num: n_s,
            body: Body::Data {
                seq_flags: SeqFlags::Unsegmented,
                map_id: mission::TC_MAP_ID,
                data: packet,
            },
        },
        randomise,
    )
}

/// Encodes a type-BD frame (bypass: no FARM-1 sequence check, no retransmission) carrying
/// `packet`, as line octets. The session sends only idempotent, read-only queries this way.
///
/// # Errors
/// [`EncodeError::Frame`] if the packet does not fit a frame, [`EncodeError::Cltu`].
pub fn bd_line_octets(packet: &[u8], randomise: bool) -> Result<Vec<u8>, EncodeError> {
    frame_line_octets(
        &tc_frame::Repr {
            bypass: true,
            scid: mission::SCID,
            vcid: mission::TC_VCID,
            seq_num: 0,
            body: Body::Data {
                seq_flags: SeqFlags::Unsegmented,
                map_id: mission::TC_MAP_ID,
                data: packet,
            },
        },
        randomise,
    )
}

/// Encodes a type-BC frame with a COP-1 control command, as line octets.
///
/// # Errors
/// [`EncodeError::Frame`], [`EncodeError::Cltu`] (not expected for these fixed frames).
pub fn bc_line_octets(command: ControlCommand, randomise: bool) -> Result<Vec<u8>, EncodeError> {
    frame_line_octets(
        &tc_frame::Repr {
            bypass: true,
            scid: mission::SCID,
            vcid: mission::TC_VCID,
            seq_num: 0,
            body: Body::Control(command),
        },
        randomise,
    )
}

fn frame_line_octets(repr: &tc_frame::Repr<'_>, randomise: bool) -> Result<Vec<u8>, EncodeError> {
    let mut frame = vec![0u8; repr.buffer_len()];
    let n = repr.emit(&mut frame).map_err(EncodeError::Frame)?;
    frame.truncate(n);
    let mut out = vec![cltu::FILL; line_len(n)];
    let body = out.get_mut(PREAMBLE_LEN..).unwrap_or_default();
    let len = cltu::encode(&frame, randomise, body).map_err(EncodeError::Cltu)?;
    out.truncate(PREAMBLE_LEN + len);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_line(line: &[u8]) -> Vec<u8> {
        assert!(line[..PREAMBLE_LEN].iter().all(|&b| b == cltu::FILL));
        let mut out = vec![0u8; cltu::MAX_DECODED_LEN];
        let d = cltu::decode(&line[PREAMBLE_LEN..], false, &mut out).unwrap();
        out.truncate(d.len);
        out
    }

    #[test]
    fn emit_packet_counts_and_request_id() {
        let mut enc = TcEncoder::new();
        let (p0, id0) = enc.packet(17, 1, &[]).unwrap();
        let (_, id1) = enc.packet(17, 1, &[]).unwrap();
        assert_eq!(p0.len(), pus_tc::OVERHEAD_LEN);
        assert_eq!(id0.apid(), mission::APID_UGTS);
        assert_eq!(id0.seq_count().value(), 0);
        assert_eq!(id1.seq_count().value(), 1);
        let repr = pus_tc::Repr::parse_bytes(&p0).unwrap();
        assert_eq!((repr.service, repr.subtype, repr.ack), (17, 1, AckFlags::ALL));
    }

    #[test]
    fn emit_ad_frame_round_trips_through_codec() {
        let mut enc = TcEncoder::new();
        let (p, _) = enc.packet(8, 1, &[1, 2, 3]).unwrap();
        let line = ad_line_octets(&p, 200, false).unwrap();
        assert_eq!(line.len(), line_len(tc_frame::HEADER_LEN + 1 + p.len() + 2));
        let frame = decode_line(&line);
        let r = tc_frame::Repr::parse_bytes(&frame).unwrap();
        assert_eq!((r.bypass, r.scid, r.vcid, r.seq_num), (false, mission::SCID, 0, 200));
        match r.body {
            Body::Data { data, .. } => assert_eq!(data, &p[..]),
            Body::Control(_) => panic!("AD frame expected"),
        }
    }

    #[test]
    fn emit_bc_frames() {
        for cmd in [ControlCommand::Unlock, ControlCommand::SetVr(77)] {
            let frame = decode_line(&bc_line_octets(cmd, false).unwrap());
            let r = tc_frame::Repr::parse_bytes(&frame).unwrap();
            assert!(r.bypass);
            assert_eq!(r.body, Body::Control(cmd));
        }
    }

    #[test]
    fn too_long_app_data_is_refused() {
        let mut enc = TcEncoder::new();
        let big = vec![0u8; pus_tc::MAX_APP_DATA_LEN + 1];
        assert!(matches!(enc.packet(6, 2, &big), Err(EncodeError::TooLong { .. })));
        assert_eq!(enc.seq_count(), 0, "a refused packet does not consume a count");
        let max = vec![0u8; pus_tc::MAX_APP_DATA_LEN];
        let (p, _) = enc.packet(6, 2, &max).unwrap();
        assert!(ad_line_octets(&p, 0, false).is_ok(), "the largest TC fits one frame");
    }
}
