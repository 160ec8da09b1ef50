//! Downlink decoding: byte stream → CADUs (archived first) → AOS frames → CLCW and packets.
//!
//! [`Downlink::push`] takes octets as they come off the line. Every CADU the synchroniser
//! finds is appended to the archive **as received** (the exact line octets, before any
//! check), and only then decoded by the shared [`crate::downlink::Decoder`] (the same one
//! `eic-bench tm decode` replays archives with): frame FECF, CLCW from the OCF of every valid
//! frame (idle frames included), M_PDU reassembly per virtual channel; then the PUS TM header
//! and PEC of every packet.

use std::fmt;

use tc_tm::aos;
use tc_tm::cop1::clcw::Clcw;
use tc_tm::mission::{self, CADU_LEN};
use tc_tm::pus::time::Cuc;
use tc_tm::pus::tm as pus_tm;
use tc_tm::service::Report;
use tc_tm::sync::Synchroniser;

use crate::archive::{self, ArchiveWriter, RecordKind};
use crate::downlink::{Decoder, Event, Summary};

/// A received PUS TM packet with its header decoded (PEC checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TmPacket {
    /// Virtual channel it came on.
    pub vcid: u8,
    /// Application process ID.
    pub apid: u16,
    /// Packet sequence count.
    pub seq_count: u16,
    /// Service type.
    pub service: u8,
    /// Message subtype.
    pub subtype: u8,
    /// Message type counter.
    pub msg_counter: u16,
    /// On-board time.
    pub time: Cuc,
    /// Receive time, UTC ns since 1970 (as archived).
    pub received_utc_ns: i64,
    /// The whole packet.
    pub bytes: Vec<u8>,
}

impl TmPacket {
    /// The source data (application data of the report).
    pub fn source_data(&self) -> &[u8] {
        pus_tm::Repr::parse_bytes(&self.bytes).map(|r| r.source_data).unwrap_or(&[])
    }

    /// Decodes the source data into a typed report.
    ///
    /// # Errors
    /// The service layer's reason when the data does not match the report's layout.
    pub fn report(&self) -> Result<Report<'_>, tc_tm::service::Error> {
        Report::parse(self.service, self.subtype, self.source_data())
    }
}

/// What the downlink produced from a chunk of octets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownlinkEvent {
    /// A CLCW from the OCF of a frame whose FECF checked.
    Clcw(Clcw),
    /// A TM packet whose PEC checked.
    Packet(TmPacket),
    /// A damaged frame or packet, or a gap (tagged with its layer).
    Error {
        /// Stream offset of the CADU concerned.
        offset: u64,
        /// Virtual channel, when known.
        vcid: Option<u8>,
        /// What went wrong.
        error: tc_tm::Error,
    },
}

/// Counters of the downlink since it was created (those of the shared decoder, plus the
/// packets the PUS TM layer rejected).
pub type DownlinkStats = Summary;

/// Why the downlink stopped.
#[derive(Debug)]
pub enum DownlinkError {
    /// The archive could not be written: the bench never decodes what it did not archive.
    Archive(archive::Error),
}

impl fmt::Display for DownlinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DownlinkError::Archive(e) => write!(f, "TM archive: {e}"),
        }
    }
}

impl std::error::Error for DownlinkError {}

/// The ground end of the downlink (see the module documentation).
pub struct Downlink {
    sync: Box<Synchroniser>,
    /// Raw octets a CADU may still be extracted from, and the stream offset of `raw[0]`.
    raw: Vec<u8>,
    raw_base: u64,
    decoder: Box<Decoder>,
    archive: Option<ArchiveWriter>,
    /// CADUs found during the current push: receive time, ASM offset, octets as received.
    found: Vec<(i64, u64, Box<[u8; CADU_LEN]>)>,
}

impl fmt::Debug for Downlink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Downlink").field("stats", &self.stats()).finish_non_exhaustive()
    }
}

impl Downlink {
    /// A downlink that archives every CADU into `archive` (if any) before decoding it.
    pub fn new(archive: Option<ArchiveWriter>) -> Self {
        Self {
            sync: Box::new(Synchroniser::new()),
            raw: Vec::new(),
            raw_base: 0,
            decoder: Box::new(Decoder::new()),
            archive,
            found: Vec::new(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> DownlinkStats {
        let mut s = self.decoder.summary();
        let st = self.sync.stats();
        s.octets = self.raw_base + self.raw.len() as u64;
        s.garbage_octets = st.garbage_octets;
        s.lock_losses = st.lock_losses;
        s
    }

    /// The archive, if any.
    pub fn archive(&self) -> Option<&ArchiveWriter> {
        self.archive.as_ref()
    }

    /// Drops a partial CADU (after a reconnection the stream restarts); packets in progress
    /// are dropped by the reassemblers at the next frame-count gap.
    pub fn resync(&mut self) {
        self.sync.reset();
        self.raw_base += self.raw.len() as u64;
        self.raw.clear();
    }

    /// Processes octets from the line; appends what they produced to `events`.
    ///
    /// # Errors
    /// [`DownlinkError::Archive`] if a CADU could not be archived (nothing after it is decoded).
    pub fn push(
        &mut self,
        octets: &[u8],
        events: &mut Vec<DownlinkEvent>,
    ) -> Result<(), DownlinkError> {
        let now = archive::now_utc_ns();
        self.raw.extend_from_slice(octets);
        let (raw, raw_base, found) = (&self.raw, self.raw_base, &mut self.found);
        self.sync.push(octets, |frame| {
            let start = usize::try_from(frame.offset.saturating_sub(raw_base)).unwrap_or(0);
            let mut cadu = Box::new([0u8; CADU_LEN]);
            match raw.get(start..start + CADU_LEN) {
                Some(src) => cadu.copy_from_slice(src),
                // Not reachable (the synchroniser delivers only octets it was given); keep the
                // frame rather than nothing.
                None => tc_tm::sync::encode_cadu(frame.bytes, &mut cadu),
            }
            found.push((now, frame.offset, cadu));
        });
        // Keep only what a later CADU could still start in.
        let keep = self.sync.pending_octets().max(CADU_LEN).min(self.raw.len());
        let drop = self.raw.len() - keep;
        self.raw.drain(..drop);
        self.raw_base += drop as u64;

        let found = std::mem::take(&mut self.found);
        for (t, offset, cadu) in found {
            if let Some(a) = self.archive.as_mut() {
                a.append_at(t, RecordKind::Cadu, archive::SOURCE_TCTM, &cadu[..])
                    .map_err(DownlinkError::Archive)?;
            }
            let mut frame = [0u8; aos::FRAME_LEN];
            frame.copy_from_slice(cadu.get(mission::ASM.len()..).unwrap_or(&[0; aos::FRAME_LEN]));
            tc_tm::randomizer::tm_apply(&mut frame);
            let decoder = &mut self.decoder;
            let mut bad_packets = 0u32;
            decoder.push_frame(offset, &frame, |ev| match ev {
                Event::Frame { ocf, .. } => {
                    let clcw = Clcw::from_u32(ocf);
                    if clcw.is_cop1_clcw() {
                        events.push(DownlinkEvent::Clcw(clcw));
                    }
                }
                Event::Packet { vcid, offset, octets, .. } => {
                    match pus_tm::Repr::parse_bytes(octets) {
                        Ok(r) => events.push(DownlinkEvent::Packet(TmPacket {
                            vcid,
                            apid: r.apid.value(),
                            seq_count: r.seq_count.value(),
                            service: r.service,
                            subtype: r.subtype,
                            msg_counter: r.msg_counter,
                            time: r.time,
                            received_utc_ns: t,
                            bytes: octets.to_vec(),
                        })),
                        Err(e) => {
                            bad_packets += 1;
                            events.push(DownlinkEvent::Error {
                                offset,
                                vcid: Some(vcid),
                                error: e.into(),
                            });
                        }
                    }
                }
                Event::Error { offset, vcid, error } => {
                    events.push(DownlinkEvent::Error { offset, vcid, error });
                }
            });
            for _ in 0..bad_packets {
                self.decoder.count_packet_errors(1);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use tc_tm::mpdu::Packer;
    use tc_tm::pus::tm::Repr as TmRepr;
    use tc_tm::spp::{Apid, SeqCount, SeqFlags};

    use super::*;

    fn tm_packet(service: u8, subtype: u8, data: &[u8], count: u16) -> Vec<u8> {
        let r = TmRepr {
            apid: Apid::new_masked(0x240),
            seq_flags: SeqFlags::Unsegmented,
            seq_count: SeqCount::new_masked(count),
            time_ref_status: 0,
            service,
            subtype,
            msg_counter: count,
            dest_id: 1,
            time: Cuc::new(100, 0),
            source_data: data,
        };
        let mut b = vec![0u8; r.buffer_len()];
        let n = r.emit(&mut b).unwrap();
        b.truncate(n);
        b
    }

    fn cadus(packets: &[Vec<u8>], ocf: u32) -> Vec<u8> {
        let mut p = Packer::<8192>::new(aos::Vcid::new_masked(0));
        for pk in packets {
            p.push(pk).unwrap();
        }
        let mut out = Vec::new();
        let mut frame = [0u8; aos::FRAME_LEN];
        while p.flush_frame(ocf, &mut frame) {
            let mut cadu = [0u8; CADU_LEN];
            tc_tm::sync::encode_cadu(&frame, &mut cadu);
            out.extend_from_slice(&cadu);
        }
        out
    }

    #[test]
    fn packets_and_clcw_in_any_chunking() {
        let packets: Vec<_> = (0..40).map(|i| tm_packet(17, 2, &[i as u8; 60], i)).collect();
        let clcw = Clcw { cop_in_effect: 1, report_value: 9, ..Clcw::default() };
        let stream = cadus(&packets, clcw.to_u32());
        for chunk in [1usize, 7, 1000, 5000] {
            let mut d = Downlink::new(None);
            let mut ev = Vec::new();
            let mut noisy = vec![0x00, 0x1A, 0xCF];
            noisy.extend_from_slice(&stream);
            for c in noisy.chunks(chunk) {
                d.push(c, &mut ev).unwrap();
            }
            let got: Vec<_> = ev
                .iter()
                .filter_map(|e| match e {
                    DownlinkEvent::Packet(p) => Some(p.bytes.clone()),
                    _ => None,
                })
                .collect();
            assert_eq!(got, packets, "chunk {chunk}");
            assert!(ev.contains(&DownlinkEvent::Clcw(clcw)));
            assert_eq!(d.stats().frames, (stream.len() / CADU_LEN) as u64);
        }
    }

    #[test]
    fn damaged_frame_is_reported_and_archived_as_received() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tm.eica");
        let (w, _) = ArchiveWriter::open(&path, archive::Durability::Flush).unwrap();
        let mut d = Downlink::new(Some(w));
        let mut stream = cadus(&[tm_packet(3, 25, &[1; 10], 0)], 0x0100_0000);
        stream[100] ^= 0x10;
        let mut ev = Vec::new();
        d.push(&stream, &mut ev).unwrap();
        assert!(matches!(
            ev.as_slice(),
            [DownlinkEvent::Error { error: tc_tm::Error::Aos(aos::Error::BadFecf { .. }), .. }]
        ));
        drop(d);
        let records: Vec<_> = archive::read_file(&path).unwrap().collect();
        assert_eq!(records.len(), 1);
        let rec = records.into_iter().next().unwrap().unwrap();
        assert_eq!(rec.octets, stream, "the archive holds the octets as received");
    }
}
