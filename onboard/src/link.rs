//! The unit's end of the serial link (ICD §1): TC frame acceptance in front of FARM-1, and the
//! downlink multiplexer (per-VC M_PDU queues, priorities, flush timeout, idle frames, CADUs).
//!
//! Uplink: the CLTU stream decoder (in [`crate::unit`]) hands each decoded frame to
//! [`accept_frame`], which parses it (FECF checked), keeps only frames of the mission SCID and
//! TC virtual channel 0, runs FARM-1 and returns the segment of an accepted data frame.
//! Nothing below the packet layer produces an ST\[01\] report: rejected frames are counted
//! ([`FrameDiscard`]) and show in the CLCW.
//!
//! Downlink ([`Downlink`]): one M_PDU packer per virtual channel (`limits::TM_QUEUE_*`).
//! [`Downlink::next_cadu`] picks, in this order: a full frame of VC 1 (alerts), of VC 0
//! (housekeeping, events, verification), of VC 2 (dumps); then a partial frame of the same
//! channels in the same order once its oldest octet has waited the flush timeout (or at once
//! after [`Downlink::line_idle`]); then an idle frame on VC 63 if no frame left for the idle
//! period. Every frame carries the current CLCW in its OCF.

use heapless::LinearMap;
use tc_tm::aos::{self, FRAME_LEN, VcFrameCount, Vcid};
use tc_tm::cop1::farm::{Decision, DiscardReason, Farm, FrameInput};
use tc_tm::mission::{self, CADU_LEN};
use tc_tm::mpdu::Packer;
use tc_tm::pus::{Cuc, TmRepr};
use tc_tm::spp::{Apid, SeqCount, SeqFlags};
use tc_tm::tc_frame::{self, Body, ControlCommand};

use crate::limits::{
    MAX_TM_PACKET_LEN, MSG_TYPE_COUNTERS, TM_QUEUE_ALERT_LEN, TM_QUEUE_DUMP_LEN, TM_QUEUE_HK_LEN,
};

/// A downlink channel: a virtual channel and the APID of its packets (ICD §1–2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Channel {
    /// VC 0, APID `0x240`: housekeeping, events, verification, other reports.
    Hk,
    /// VC 1, APID `0x241`: trigger alerts (highest priority).
    Alert,
    /// VC 2, APID `0x242`: memory and table dumps.
    Dump,
}

impl Channel {
    /// The three channels, in priority order (alerts first).
    pub const PRIORITY: [Channel; 3] = [Channel::Alert, Channel::Hk, Channel::Dump];

    /// Index in per-channel arrays (the VC number).
    pub const fn index(self) -> usize {
        match self {
            Channel::Hk => 0,
            Channel::Alert => 1,
            Channel::Dump => 2,
        }
    }

    /// The virtual channel ID.
    pub const fn vcid(self) -> u8 {
        match self {
            Channel::Hk => mission::VC_HK,
            Channel::Alert => mission::VC_ALERT,
            Channel::Dump => mission::VC_DUMP,
        }
    }

    /// The APID of the channel's packets.
    pub const fn apid(self) -> Apid {
        match self {
            Channel::Hk => mission::APID_UGTS,
            Channel::Alert => mission::APID_ALERT,
            Channel::Dump => mission::APID_DUMP,
        }
    }
}

/// Why a decoded TC frame did not deliver a packet (counted, reflected in the CLCW, never
/// reported in ST\[01\]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameDiscard {
    /// The frame layer rejected it (FECF, length, version, spare, frame type, BC command).
    Codec(tc_frame::Error),
    /// Another spacecraft's frame.
    WrongScid(u16),
    /// A virtual channel the unit does not serve.
    WrongVcid(u8),
    /// FARM-1 discarded it (window, lockout, wait).
    Farm(DiscardReason),
    /// A data frame for a MAP other than 0.
    WrongMap(u8),
}

/// What an accepted frame gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameAccepted<'a> {
    /// A data frame (AD or BD): its segment header flags and the segment (one TC packet).
    Data {
        /// Segment header sequence flags (must be `11`, checked at packet acceptance).
        seq_flags: SeqFlags,
        /// Whether it was an AD frame (sequence-controlled).
        sequenced: bool,
        /// The segment.
        segment: &'a [u8],
    },
    /// A BC frame whose directive FARM-1 executed.
    Control(ControlCommand),
}

/// Runs the frame checks and FARM-1 on one decoded CLTU (`data`: frame plus fill octets).
///
/// Order: frame codec (length, FECF, version, spare, type, BC command), SCID, VCID, FARM-1,
/// MAP ID. Frames of another SCID or VCID never reach FARM-1.
///
/// # Errors
/// The [`FrameDiscard`] reason.
pub fn accept_frame<'a>(
    farm: &mut Farm,
    data: &'a [u8],
) -> Result<FrameAccepted<'a>, FrameDiscard> {
    let frame = tc_frame::Repr::parse_bytes(data).map_err(FrameDiscard::Codec)?;
    if frame.scid != mission::SCID {
        return Err(FrameDiscard::WrongScid(frame.scid));
    }
    if frame.vcid != mission::TC_VCID {
        return Err(FrameDiscard::WrongVcid(frame.vcid));
    }
    let input = match (frame.bypass, frame.body) {
        (false, Body::Data { .. }) => FrameInput::Ad { n_s: frame.seq_num },
        (true, Body::Data { .. }) => FrameInput::Bd,
        (_, Body::Control(ControlCommand::Unlock)) => FrameInput::Unlock,
        (_, Body::Control(ControlCommand::SetVr(v))) => FrameInput::SetVr(v),
    };
    match (farm.frame(input, true), frame.body) {
        (Decision::Discard(reason), _) => Err(FrameDiscard::Farm(reason)),
        (Decision::AcceptControl, Body::Control(c)) => Ok(FrameAccepted::Control(c)),
        (Decision::AcceptData, Body::Data { seq_flags, map_id, data }) => {
            if map_id != mission::TC_MAP_ID {
                return Err(FrameDiscard::WrongMap(map_id));
            }
            Ok(FrameAccepted::Data { seq_flags, sequenced: !frame.bypass, segment: data })
        }
        // FARM-1 answers AcceptControl only to BC inputs and AcceptData only to data inputs.
        (Decision::AcceptControl, Body::Data { .. }) | (Decision::AcceptData, Body::Control(_)) => {
            Err(FrameDiscard::Farm(DiscardReason::InvalidBc))
        }
    }
}

/// Converts milliseconds to CUC ticks (2⁻¹⁶ s), rounding down.
pub const fn ms_to_ticks(ms: u64) -> u64 {
    ms.saturating_mul(1 << 16) / 1000
}

/// Converts CUC ticks to milliseconds, rounding down.
pub const fn ticks_to_ms(ticks: u64) -> u64 {
    ticks.saturating_mul(1000) >> 16
}

/// Why a TM packet was not queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueError {
    /// The channel's queue has no room: the packet is lost (and counted).
    Full,
    /// The packet could not be built (source data too long): a software error.
    Build,
}

/// The PUS message type counters: the last counter sent per (service, subtype).
pub type MsgCounters = LinearMap<(u8, u8), u16, MSG_TYPE_COUNTERS>;

/// The downlink multiplexer: three M_PDU packers, the idle channel, TM packet counters.
#[derive(Clone, Debug)]
pub struct Downlink {
    hk: Packer<TM_QUEUE_HK_LEN>,
    alert: Packer<TM_QUEUE_ALERT_LEN>,
    dump: Packer<TM_QUEUE_DUMP_LEN>,
    idle_count: VcFrameCount,
    /// Tick at which the oldest octet of each channel's partial frame was queued.
    pending_since: [Option<u64>; 3],
    last_frame: u64,
    flush_now: bool,
    seq: [SeqCount; 3],
    msg_counters: LinearMap<(u8, u8), u16, MSG_TYPE_COUNTERS>,
    frame: [u8; FRAME_LEN],
}

impl Downlink {
    /// An empty multiplexer; `now` (ticks) starts the idle-frame period.
    pub fn new(now: u64) -> Self {
        Downlink {
            hk: Packer::new(Vcid::new_masked(mission::VC_HK)),
            alert: Packer::new(Vcid::new_masked(mission::VC_ALERT)),
            dump: Packer::new(Vcid::new_masked(mission::VC_DUMP)),
            idle_count: VcFrameCount::new_masked(0),
            pending_since: [None; 3],
            last_frame: now,
            flush_now: false,
            seq: [SeqCount::new_masked(0); 3],
            msg_counters: LinearMap::new(),
            frame: [0; FRAME_LEN],
        }
    }

    /// Octets free in a channel's queue.
    pub fn free_octets(&self, ch: Channel) -> usize {
        match ch {
            Channel::Hk => self.hk.free_octets(),
            Channel::Alert => self.alert.free_octets(),
            Channel::Dump => self.dump.free_octets(),
        }
    }

    /// Whether a channel has packets waiting.
    pub fn has_data(&self, ch: Channel) -> bool {
        match ch {
            Channel::Hk => self.hk.has_data(),
            Channel::Alert => self.alert.has_data(),
            Channel::Dump => self.dump.has_data(),
        }
    }

    /// Whether any channel has packets waiting.
    pub fn has_pending(&self) -> bool {
        Channel::PRIORITY.iter().any(|&ch| self.has_data(ch))
    }

    /// The next VC frame counts (VC 0, 1, 2, idle), the next TM sequence counts and the
    /// message type counters, to carry over a restart ([`crate::handover`]).
    pub fn counts(&self) -> ([VcFrameCount; 4], [SeqCount; 3], &MsgCounters) {
        let vc = [
            self.hk.vc_frame_count(),
            self.alert.vc_frame_count(),
            self.dump.vc_frame_count(),
            self.idle_count,
        ];
        (vc, self.seq, &self.msg_counters)
    }

    /// Sets what [`Downlink::counts`] returned before a restart.
    pub fn restore(
        &mut self,
        vc: [VcFrameCount; 4],
        seq: [SeqCount; 3],
        msg_counters: MsgCounters,
    ) {
        let [hk, alert, dump, idle] = vc;
        self.hk.set_vc_frame_count(hk);
        self.alert.set_vc_frame_count(alert);
        self.dump.set_vc_frame_count(dump);
        self.idle_count = idle;
        self.seq = seq;
        self.msg_counters = msg_counters;
    }

    /// The caller says the line is idle: partial frames go out at the next
    /// [`Downlink::next_cadu`] calls without waiting for the flush timeout.
    pub fn line_idle(&mut self) {
        self.flush_now = true;
    }

    /// Builds a PUS TM packet (sequence count of the channel's APID, message type counter of
    /// `(service, subtype)`) and queues it on `ch`.
    ///
    /// The sequence count advances even when the queue is full, so that the ground sees the
    /// loss as a gap.
    ///
    /// # Errors
    /// [`QueueError::Full`], [`QueueError::Build`].
    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        ch: Channel,
        service: u8,
        subtype: u8,
        dest_id: u16,
        time: Cuc,
        source_data: &[u8],
        now: u64,
    ) -> Result<(), QueueError> {
        let seq = self.seq.get_mut(ch.index()).ok_or(QueueError::Build)?;
        let seq_count = *seq;
        *seq = seq.next();
        let msg_counter = match self.msg_counters.get_mut(&(service, subtype)) {
            Some(c) => {
                *c = c.wrapping_add(1);
                *c
            }
            None => {
                // Table full (more message types than `MSG_TYPE_COUNTERS`): counter 0.
                let _ = self.msg_counters.insert((service, subtype), 0);
                0
            }
        };
        let repr = TmRepr {
            apid: ch.apid(),
            seq_flags: SeqFlags::Unsegmented,
            seq_count,
            time_ref_status: 0,
            service,
            subtype,
            msg_counter,
            dest_id,
            time,
            source_data,
        };
        let mut buf = [0u8; MAX_TM_PACKET_LEN];
        let n = repr.emit(&mut buf).map_err(|_| QueueError::Build)?;
        let packet = buf.get(..n).ok_or(QueueError::Build)?;
        let was_empty = !self.has_data(ch);
        let pushed = match ch {
            Channel::Hk => self.hk.push(packet),
            Channel::Alert => self.alert.push(packet),
            Channel::Dump => self.dump.push(packet),
        };
        pushed.map_err(|_| QueueError::Full)?;
        if was_empty && let Some(p) = self.pending_since.get_mut(ch.index()) {
            *p = Some(now);
        }
        Ok(())
    }

    /// Writes the next CADU into `out` if one is due at `now` (ticks); see the module
    /// documentation for the order. Returns the channel served (`None` for an idle frame)
    /// inside `Some`, or `None` when nothing is due.
    pub fn next_cadu(
        &mut self,
        now: u64,
        clcw: u32,
        flush_ticks: u64,
        idle_ticks: u64,
        out: &mut [u8; CADU_LEN],
    ) -> Option<Option<Channel>> {
        let mut served = None;
        for ch in Channel::PRIORITY {
            if self.full_frame(ch, clcw) {
                served = Some(ch);
                break;
            }
        }
        if served.is_none() {
            for ch in Channel::PRIORITY {
                let since = self.pending_since.get(ch.index()).copied().flatten();
                let due = since.is_some_and(|t| now.saturating_sub(t) >= flush_ticks);
                if (due || self.flush_now) && self.flush(ch, clcw) {
                    served = Some(ch);
                    break;
                }
            }
        }
        match served {
            Some(ch) => {
                if !self.has_data(ch)
                    && let Some(p) = self.pending_since.get_mut(ch.index())
                {
                    *p = None;
                }
            }
            None => {
                self.flush_now = false;
                if now.saturating_sub(self.last_frame) < idle_ticks {
                    return None;
                }
                aos::emit_idle_frame(self.idle_count, clcw, &mut self.frame);
                self.idle_count = self.idle_count.next();
            }
        }
        self.last_frame = now;
        tc_tm::sync::encode_cadu(&self.frame, out);
        Some(served)
    }

    fn full_frame(&mut self, ch: Channel, clcw: u32) -> bool {
        match ch {
            Channel::Hk => self.hk.next_frame(clcw, &mut self.frame),
            Channel::Alert => self.alert.next_frame(clcw, &mut self.frame),
            Channel::Dump => self.dump.next_frame(clcw, &mut self.frame),
        }
    }

    fn flush(&mut self, ch: Channel, clcw: u32) -> bool {
        match ch {
            Channel::Hk => self.hk.flush_frame(clcw, &mut self.frame),
            Channel::Alert => self.alert.flush_frame(clcw, &mut self.frame),
            Channel::Dump => self.dump.flush_frame(clcw, &mut self.frame),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame_of(cadu: &[u8; CADU_LEN]) -> [u8; FRAME_LEN] {
        let mut f = [0u8; FRAME_LEN];
        f.copy_from_slice(&cadu[4..]);
        tc_tm::randomizer::tm_apply(&mut f);
        f
    }

    #[test]
    fn ticks_and_ms() {
        assert_eq!(ms_to_ticks(1000), 65536);
        assert_eq!(ticks_to_ms(65536), 1000);
        assert_eq!(ms_to_ticks(u64::MAX), u64::MAX / 1000);
    }

    #[test]
    fn idle_frame_after_the_idle_period_only() {
        let mut d = Downlink::new(0);
        let mut out = [0u8; CADU_LEN];
        assert_eq!(
            d.next_cadu(ms_to_ticks(999), 0x0100_0000, 100, ms_to_ticks(1000), &mut out),
            None
        );
        assert_eq!(
            d.next_cadu(ms_to_ticks(1000), 0x0100_0000, 100, ms_to_ticks(1000), &mut out),
            Some(None)
        );
        assert_eq!(&out[..4], &mission::ASM);
        let f = frame_of(&out);
        let p = aos::Packet::new_checked(&f[..]).unwrap();
        let r = aos::Repr::parse(&p).unwrap();
        assert_eq!(r.vcid.value(), mission::VC_IDLE);
        assert_eq!(r.ocf, 0x0100_0000);
    }

    #[test]
    fn alerts_before_housekeeping_before_dumps() {
        let mut d = Downlink::new(0);
        let data = [0xAAu8; 1000];
        let t = Cuc::new(5, 0);
        for ch in [Channel::Dump, Channel::Hk, Channel::Alert] {
            d.push(ch, 1, 1, 0, t, &data, 0).unwrap();
            d.push(ch, 1, 1, 0, t, &data, 0).unwrap();
        }
        let mut out = [0u8; CADU_LEN];
        let mut order = std::vec::Vec::new();
        while let Some(ch) = d.next_cadu(0, 0, 1000, 1 << 40, &mut out) {
            order.push(ch);
        }
        // Two packets of 1021 octets make one full zone and a partial one per channel: the full
        // frames go first in priority order; the partial ones wait for the flush timeout.
        assert_eq!(order, [Some(Channel::Alert), Some(Channel::Hk), Some(Channel::Dump)]);
        while let Some(ch) = d.next_cadu(1000, 0, 1000, 1 << 40, &mut out) {
            order.push(ch);
        }
        assert_eq!(order[3..], [Some(Channel::Alert), Some(Channel::Hk), Some(Channel::Dump)]);
        assert_eq!(d.next_cadu(1000, 0, 1000, 1 << 40, &mut out), None);
    }

    #[test]
    fn partial_frame_waits_for_the_flush_timeout() {
        let mut d = Downlink::new(0);
        d.push(Channel::Hk, 17, 2, 1, Cuc::EPOCH, &[], 10).unwrap();
        let mut out = [0u8; CADU_LEN];
        assert_eq!(d.next_cadu(20, 0, 100, 1 << 20, &mut out), None);
        assert_eq!(d.next_cadu(110, 0, 100, 1 << 20, &mut out), Some(Some(Channel::Hk)));
        assert!(!d.has_data(Channel::Hk));
        d.push(Channel::Hk, 17, 2, 1, Cuc::EPOCH, &[], 200).unwrap();
        d.line_idle();
        assert_eq!(d.next_cadu(201, 0, 100, 1 << 20, &mut out), Some(Some(Channel::Hk)));
    }

    #[test]
    fn full_queue_refuses_and_counts_in_the_sequence() {
        let mut d = Downlink::new(0);
        let data = [0u8; 1000];
        let mut pushed = 0;
        while d.push(Channel::Dump, 6, 6, 0, Cuc::EPOCH, &data, 0).is_ok() {
            pushed += 1;
        }
        assert_eq!(pushed, TM_QUEUE_DUMP_LEN / 1021);
        assert_eq!(d.push(Channel::Dump, 6, 6, 0, Cuc::EPOCH, &data, 0), Err(QueueError::Full));
        assert_eq!(d.seq[Channel::Dump.index()].value(), pushed as u16 + 2);
    }
}
