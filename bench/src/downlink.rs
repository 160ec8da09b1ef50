//! The ground downlink pipeline: CADU octets → sync → derandomised AOS frame → FECF → per-VC
//! M_PDU reassembly → space packets, with every problem reported, located and counted.
//!
//! One decoder serves `eic-bench tm decode` (files) and the live receiver (serial link), so a
//! replay of an archive decodes exactly as the live stream did.

use tc_tm::aos;
use tc_tm::mission::{VC_ALERT, VC_DUMP, VC_HK, VC_IDLE};
use tc_tm::mpdu::{self, Reassembler};
use tc_tm::sync::Synchroniser;

/// Largest space packet the reassemblers accept (the CCSDS maximum).
pub const MAX_PACKET_LEN: usize = tc_tm::spp::MAX_PACKET_LEN;

/// Virtual channels that carry packets (ICD §1).
const PACKET_VCS: [u8; 3] = [VC_HK, VC_ALERT, VC_DUMP];

/// What the decoder found.
#[derive(Debug)]
pub enum Event<'a> {
    /// A complete space packet (its PEC not yet checked).
    Packet {
        /// Virtual channel it came on.
        vcid: u8,
        /// VC frame count of the frame where it ended.
        frame_count: u32,
        /// Stream offset of the CADU (ASM) where it ended.
        offset: u64,
        /// The packet octets.
        octets: &'a [u8],
    },
    /// A frame passed its FECF; emitted before its packets (carries the CLCW).
    Frame {
        /// Virtual channel.
        vcid: u8,
        /// VC frame count.
        frame_count: u32,
        /// Stream offset of the ASM.
        offset: u64,
        /// The operational control field (the CLCW).
        ocf: u32,
    },
    /// A damaged frame or packet, or a gap.
    Error {
        /// Stream offset of the CADU concerned.
        offset: u64,
        /// Virtual channel, when the frame header could be trusted.
        vcid: Option<u8>,
        /// What went wrong, tagged with its layer.
        error: tc_tm::Error,
    },
}

/// Counters for the summary line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Input octets consumed.
    pub octets: u64,
    /// CADUs found by the synchroniser.
    pub frames: u64,
    /// Frames rejected (FECF, header, unknown VC).
    pub bad_frames: u64,
    /// Idle frames (VC 63).
    pub idle_frames: u64,
    /// Packets delivered by the reassemblers.
    pub packets: u64,
    /// Errors reported (bad frames, reassembly errors including gaps, bad packets).
    pub errors: u64,
    /// VC frame-count gaps.
    pub gaps: u64,
    /// Octets outside any CADU.
    pub garbage_octets: u64,
    /// Times the synchroniser lost lock.
    pub lock_losses: u64,
    /// Octets at the end of the input that do not make a whole CADU or packet (a cut stream).
    pub trailing_octets: u64,
}

impl Summary {
    /// Whether anything in the input was damaged: an error, octets outside any CADU, or a cut
    /// tail (`tm decode` exits 2 then).
    pub fn damaged(&self) -> bool {
        self.errors > 0 || self.garbage_octets > 0 || self.trailing_octets > 0
    }
}

/// The streaming CADU decoder.
pub struct Decoder {
    sync: Synchroniser,
    reassemblers: Vec<Reassembler<MAX_PACKET_LEN>>,
    summary: Summary,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    /// A decoder waiting for its first ASM.
    pub fn new() -> Self {
        let reassemblers =
            PACKET_VCS.iter().map(|&vc| Reassembler::new(aos::Vcid::new_masked(vc))).collect();
        Self { sync: Synchroniser::new(), reassemblers, summary: Summary::default() }
    }

    /// Feeds octets in any chunking; calls `on_event` for every frame, packet and error.
    pub fn push(&mut self, chunk: &[u8], mut on_event: impl FnMut(Event<'_>)) {
        let Self { sync, reassemblers, summary } = self;
        summary.octets += chunk.len() as u64;
        sync.push(chunk, |frame| {
            decode_frame(reassemblers, summary, frame.offset, frame.bytes, &mut on_event);
        });
        let st = sync.stats();
        summary.garbage_octets = st.garbage_octets;
        summary.lock_losses = st.lock_losses;
    }

    /// Decodes one derandomised frame that the caller synchronised itself (the live receiver
    /// archives each CADU before decoding it); `offset` is its ASM's stream offset.
    pub fn push_frame(
        &mut self,
        offset: u64,
        frame: &[u8; aos::FRAME_LEN],
        mut on_event: impl FnMut(Event<'_>),
    ) {
        let Self { reassemblers, summary, .. } = self;
        decode_frame(reassemblers, summary, offset, frame, &mut on_event);
    }

    /// Counters so far.
    pub fn summary(&self) -> Summary {
        self.summary
    }

    /// Octets pushed after the last complete CADU, not decoded yet.
    pub fn pending_octets(&self) -> usize {
        self.sync.pending_octets()
    }

    /// Counts packet-level errors found by the caller (e.g. bad PECs) in the summary.
    pub fn count_packet_errors(&mut self, n: u64) {
        self.summary.errors += n;
    }
}

/// Decodes one frame: FECF and header, then the packets of its virtual channel.
fn decode_frame(
    reassemblers: &mut [Reassembler<MAX_PACKET_LEN>],
    summary: &mut Summary,
    offset: u64,
    bytes: &[u8; aos::FRAME_LEN],
    on_event: &mut impl FnMut(Event<'_>),
) {
    summary.frames += 1;
    let repr = match aos::Packet::new_checked(&bytes[..]).and_then(|p| aos::Repr::parse(&p)) {
        Ok(r) => r,
        Err(e) => {
            summary.bad_frames += 1;
            summary.errors += 1;
            on_event(Event::Error { offset, vcid: None, error: e.into() });
            return;
        }
    };
    let vcid = repr.vcid.value();
    let frame_count = repr.vc_frame_count.value();
    on_event(Event::Frame { vcid, frame_count, offset, ocf: repr.ocf });
    if vcid == VC_IDLE {
        summary.idle_frames += 1;
        return;
    }
    let Some(idx) = PACKET_VCS.iter().position(|&v| v == vcid) else {
        summary.bad_frames += 1;
        summary.errors += 1;
        let error = aos::Error::FieldRange { field: "vcid", value: u32::from(vcid) };
        on_event(Event::Error { offset, vcid: Some(vcid), error: error.into() });
        return;
    };
    let Some(reasm) = reassemblers.get_mut(idx) else { return };
    reasm.push_frame(&repr, |ev| match ev {
        mpdu::Event::Packet(octets) => {
            summary.packets += 1;
            on_event(Event::Packet { vcid, frame_count, offset, octets });
        }
        mpdu::Event::Idle { .. } => {}
        mpdu::Event::Error(e) => {
            summary.errors += 1;
            if matches!(e, mpdu::Error::Gap { .. }) {
                summary.gaps += 1;
            }
            on_event(Event::Error { offset, vcid: Some(vcid), error: e.into() });
        }
    });
}

#[cfg(test)]
mod tests {
    use tc_tm::mpdu::Packer;
    use tc_tm::pus::{Cuc, TmRepr};
    use tc_tm::spp::{SeqCount, SeqFlags};
    use tc_tm::sync::encode_cadu;

    use super::*;

    fn tm(seq: u16, len: usize) -> Vec<u8> {
        let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let r = TmRepr {
            apid: tc_tm::mission::APID_UGTS,
            seq_flags: SeqFlags::Unsegmented,
            seq_count: SeqCount::new_masked(seq),
            time_ref_status: 0,
            service: 3,
            subtype: 25,
            msg_counter: seq,
            dest_id: 1,
            time: Cuc { coarse: 100, fine: 0 },
            source_data: &data,
        };
        let mut buf = vec![0u8; r.buffer_len()];
        r.emit(&mut buf).unwrap();
        buf
    }

    fn cadus(packets: &[Vec<u8>]) -> Vec<u8> {
        let mut packer = Packer::<8192>::new(aos::Vcid::new_masked(VC_HK));
        let mut out = Vec::new();
        let mut frame = [0u8; aos::FRAME_LEN];
        let mut cadu = [0u8; tc_tm::mission::CADU_LEN];
        for p in packets {
            packer.push(p).unwrap();
            while packer.next_frame(0, &mut frame) {
                encode_cadu(&frame, &mut cadu);
                out.extend_from_slice(&cadu);
            }
        }
        if packer.flush_frame(0, &mut frame) {
            encode_cadu(&frame, &mut cadu);
            out.extend_from_slice(&cadu);
        }
        out
    }

    #[test]
    fn decodes_packets_across_frames_in_any_chunking() {
        let packets: Vec<Vec<u8>> = (0..50).map(|i| tm(i, 100 + usize::from(i) * 37)).collect();
        let stream = cadus(&packets);
        for chunk in [1usize, 7, 1119, 5000] {
            let mut d = Decoder::new();
            let mut got = Vec::new();
            for c in stream.chunks(chunk) {
                d.push(c, |e| {
                    if let Event::Packet { octets, .. } = e {
                        got.push(octets.to_vec());
                    }
                });
            }
            assert_eq!(got, packets, "chunk {chunk}");
            assert_eq!(d.summary().errors, 0);
        }
    }

    #[test]
    fn damaged_frame_is_reported_and_counted() {
        let packets: Vec<Vec<u8>> = (0..20).map(|i| tm(i, 300)).collect();
        let mut stream = cadus(&packets);
        stream[1119 + 500] ^= 0x10; // second CADU's frame body
        let mut d = Decoder::new();
        let mut errors = 0;
        let mut got = 0;
        d.push(&stream, |e| match e {
            Event::Error { .. } => errors += 1,
            Event::Packet { .. } => got += 1,
            Event::Frame { .. } => {}
        });
        let s = d.summary();
        assert_eq!(s.bad_frames, 1);
        assert!(errors >= 2, "bad FECF then the gap it leaves");
        assert_eq!(s.gaps, 1);
        assert!(got < packets.len() && got > 0);
    }
}
