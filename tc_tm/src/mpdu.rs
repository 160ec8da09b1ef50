//! Multiplexing protocol data units (CCSDS 732.0-B-4 §4.1.4): space packets across AOS frames.
//!
//! - [`Packer`] (on board, one per virtual channel) queues whole space packets in a fixed ring
//!   of `N` octets and cuts the queue into consecutive packet zones, setting the first header
//!   pointer of each frame. [`Packer::flush_frame`] pads a partial frame with an idle packet
//!   (APID `0x7FF`). When fewer than 7 octets are left (the smallest space packet), the idle
//!   packet is 7 octets long and spills into the next frame; that frame's first header pointer
//!   skips the spilled tail.
//! - [`Reassembler`] (ground, one per virtual channel) cuts packets out of validated frames,
//!   follows packets across frames in a buffer of `N` octets (the largest packet accepted),
//!   detects gaps in the 24-bit VC frame count, drops only the packet a gap damaged and
//!   resynchronises on the next first header pointer. It hands out every result through a
//!   callback ([`Event`]) and never allocates: packets that lie wholly in one frame are passed
//!   straight out of that frame.
//!
//! Idle packets (APID `0x7FF`) are never delivered as packets; the reassembler reports them as
//! [`Event::Idle`] so a caller can count them, and ignores frames whose first header pointer
//! says "idle data only".

use core::fmt;

use crate::aos::{self, FRAME_LEN, FirstHdrPtr, PACKET_ZONE_LEN, VcFrameCount, Vcid};
use crate::mission;
use crate::spp::{self, Apid, HEADER_LEN};

/// The smallest space packet: a header and one data octet.
pub const MIN_PACKET_LEN: usize = HEADER_LEN + 1;
/// Data octet of the idle packets the packer writes.
pub const IDLE_FILL: u8 = 0x55;

/// Errors of the M_PDU layer.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The input is shorter than needed (a packet shorter than 7 octets).
    Truncated {
        /// Octets available.
        found: usize,
        /// Octets needed.
        expected: usize,
    },
    /// The packer's queue has no room for this packet; nothing was queued.
    Full {
        /// Octets the packet needs.
        needed: usize,
        /// Octets free in the queue.
        free: usize,
    },
    /// A pushed packet's length field does not match the slice given.
    BadPacketLength {
        /// Length the header declares.
        declared: usize,
        /// Length of the slice.
        found: usize,
    },
    /// A packet header with a version other than `000`.
    BadPacketVersion(u8),
    /// A packet longer than the reassembly buffer (an impossible length for this channel).
    PacketTooLong {
        /// Length the header declares.
        len: usize,
        /// The buffer capacity.
        max: usize,
    },
    /// Frames are missing: the VC frame count jumped.
    Gap {
        /// Count expected.
        expected: u32,
        /// Count found.
        found: u32,
    },
    /// The first header pointer disagrees with where the packet in progress ends.
    BoundaryMismatch {
        /// Zone offset where the packet in progress ends (may lie beyond the zone).
        expected: usize,
        /// First header pointer field of the frame.
        found: u16,
    },
    /// A frame of another virtual channel was given to this reassembler; it was ignored.
    WrongVcid {
        /// This reassembler's VCID.
        expected: u8,
        /// The frame's VCID.
        found: u8,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Truncated { found, expected } => {
                write!(f, "packet truncated: {found} octets, expected at least {expected}")
            }
            Error::Full { needed, free } => {
                write!(f, "packer full: packet needs {needed} octets, {free} free")
            }
            Error::BadPacketLength { declared, found } => {
                write!(f, "packet header declares {declared} octets, {found} given")
            }
            Error::BadPacketVersion(v) => write!(f, "packet version {v}, expected 0"),
            Error::PacketTooLong { len, max } => {
                write!(f, "packet of {len} octets exceeds the {max}-octet reassembly buffer")
            }
            Error::Gap { expected, found } => {
                write!(f, "VC frame count gap: expected {expected}, found {found}")
            }
            Error::BoundaryMismatch { expected, found } => write!(
                f,
                "first header pointer 0x{found:03X} but the packet in progress ends at {expected}"
            ),
            Error::WrongVcid { expected, found } => {
                write!(f, "frame of VC {found} given to the reassembler of VC {expected}")
            }
        }
    }
}

impl core::error::Error for Error {}

/// Total length of the packet whose header starts `bytes`, after checking its version and that
/// it fits `max`.
fn checked_packet_len(bytes: &[u8], max: usize) -> Result<Option<usize>, Error> {
    let Some(len) = spp::packet_len(bytes) else { return Ok(None) };
    let version = bytes.first().map_or(0, |b| b >> 5);
    if version != spp::VERSION {
        return Err(Error::BadPacketVersion(version));
    }
    if len > max {
        return Err(Error::PacketTooLong { len, max });
    }
    Ok(Some(len))
}

fn is_idle(header: &[u8]) -> bool {
    match header {
        [a, b, ..] => u16::from_be_bytes([*a, *b]) & Apid::MAX == Apid::IDLE.value(),
        _ => false,
    }
}

/// On-board M_PDU packer for one virtual channel, with a queue of `N` octets.
///
/// Memory: `N` + about 40 octets. [`Packer::push`] and frame production run in time
/// proportional to the octets copied plus the number of packet boundaries crossed.
#[derive(Clone, Debug)]
pub struct Packer<const N: usize> {
    scid: u8,
    vcid: Vcid,
    count: VcFrameCount,
    ring: [u8; N],
    head: usize,
    len: usize,
    /// Octets of the packet at the ring head still to send, once its start has been sent.
    head_remaining: usize,
    idle: [u8; MIN_PACKET_LEN],
    /// Octets of the spilled idle packet (the end of `idle`) still to send.
    idle_tail: usize,
    idle_seq: spp::SeqCount,
}

impl<const N: usize> Packer<N> {
    /// A packer for `vcid` of the mission spacecraft, first frame count 0.
    pub const fn new(vcid: Vcid) -> Self {
        const { assert!(N >= MIN_PACKET_LEN, "a packer must hold at least one packet") };
        Packer {
            scid: mission::SCID as u8,
            vcid,
            count: VcFrameCount::new_masked(0),
            ring: [0; N],
            head: 0,
            len: 0,
            head_remaining: 0,
            idle: [0; MIN_PACKET_LEN],
            idle_tail: 0,
            idle_seq: spp::SeqCount::new_masked(0),
        }
    }

    /// The virtual channel.
    pub const fn vcid(&self) -> Vcid {
        self.vcid
    }

    /// The count the next frame will carry.
    pub const fn vc_frame_count(&self) -> VcFrameCount {
        self.count
    }

    /// Sets the count the next frame will carry.
    pub fn set_vc_frame_count(&mut self, count: VcFrameCount) {
        self.count = count;
    }

    /// Octets waiting to be framed (packets not yet sent plus a spilled idle tail).
    pub const fn queued_octets(&self) -> usize {
        self.len + self.idle_tail
    }

    /// Octets of queue still free.
    pub const fn free_octets(&self) -> usize {
        N - self.len
    }

    /// Whether a real packet (not idle fill) is waiting.
    pub const fn has_data(&self) -> bool {
        self.len > 0
    }

    /// Queues one whole space packet.
    ///
    /// # Errors
    /// [`Error::Truncated`] below 7 octets, [`Error::BadPacketLength`] if the header's length
    /// field does not match the slice, [`Error::BadPacketVersion`], and [`Error::Full`] if the
    /// queue lacks room; nothing is queued on error.
    ///
    /// # Panics
    /// Never.
    pub fn push(&mut self, packet: &[u8]) -> Result<(), Error> {
        let found = packet.len();
        if found < MIN_PACKET_LEN {
            return Err(Error::Truncated { found, expected: MIN_PACKET_LEN });
        }
        let declared = checked_packet_len(packet, usize::MAX)?.unwrap_or(0);
        if declared != found {
            return Err(Error::BadPacketLength { declared, found });
        }
        let free = self.free_octets();
        if found > free {
            return Err(Error::Full { needed: found, free });
        }
        let at = self.wrap(self.head + self.len);
        self.ring_write(at, packet);
        self.len += found;
        Ok(())
    }

    /// Produces the next frame only if a whole packet zone is queued; returns whether `out`
    /// was written.
    ///
    /// # Panics
    /// Never.
    pub fn next_frame(&mut self, ocf: u32, out: &mut [u8; FRAME_LEN]) -> bool {
        if self.queued_octets() < PACKET_ZONE_LEN {
            return false;
        }
        self.build(ocf, out, false);
        true
    }

    /// Produces the next frame if any packet is queued, padding a partial zone with an idle
    /// packet; returns whether `out` was written. Call it until it returns `false` to drain
    /// the queue (the flush timeout of ICD §1).
    ///
    /// # Panics
    /// Never.
    pub fn flush_frame(&mut self, ocf: u32, out: &mut [u8; FRAME_LEN]) -> bool {
        if !self.has_data() {
            return false;
        }
        self.build(ocf, out, true);
        true
    }

    fn build(&mut self, ocf: u32, out: &mut [u8; FRAME_LEN], pad: bool) {
        let mut first: Option<usize> = None;
        let mut pos = 0;
        {
            let mut frame = aos::Packet::new_unchecked(&mut out[..]);
            let zone = frame.packet_zone_mut();
            // 1. The tail of an idle packet spilled from the previous frame.
            let tail_start = MIN_PACKET_LEN - self.idle_tail;
            if let (Some(src), Some(dst)) =
                (self.idle.get(tail_start..), zone.get_mut(..self.idle_tail))
            {
                dst.copy_from_slice(src);
                pos = self.idle_tail;
                self.idle_tail = 0;
            }
            // 2. Queued packets.
            let take = self.len.min(PACKET_ZONE_LEN - pos);
            if take > self.head_remaining {
                first = Some(pos + self.head_remaining);
            }
            if let Some(dst) = zone.get_mut(pos..pos + take) {
                ring_read(&self.ring, self.head, dst);
            }
            self.consume(take);
            pos += take;
            // 3. Idle padding.
            if pad && pos < PACKET_ZONE_LEN {
                let room = PACKET_ZONE_LEN - pos;
                first.get_or_insert(pos);
                let idle_len = room.max(MIN_PACKET_LEN);
                let mut header = [0u8; HEADER_LEN];
                let repr = spp::Repr {
                    packet_type: spp::PacketType::Tm,
                    sec_hdr_flag: false,
                    apid: Apid::IDLE,
                    seq_flags: spp::SeqFlags::Unsegmented,
                    seq_count: self.idle_seq,
                    data_len: idle_len - HEADER_LEN,
                };
                self.idle_seq = self.idle_seq.next();
                let mut hp = spp::Packet::new_unchecked(&mut header[..]);
                hp.set_id(repr.packet_type, repr.sec_hdr_flag, repr.apid);
                hp.set_seq(repr.seq_flags, repr.seq_count);
                hp.set_data_len_field((repr.data_len - 1) as u16);
                if room >= MIN_PACKET_LEN {
                    if let Some((h, d)) =
                        zone.get_mut(pos..).and_then(|z| z.split_at_mut_checked(HEADER_LEN))
                    {
                        h.copy_from_slice(&header);
                        d.fill(IDLE_FILL);
                    }
                } else {
                    self.idle = [IDLE_FILL; MIN_PACKET_LEN];
                    if let Some(h) = self.idle.get_mut(..HEADER_LEN) {
                        h.copy_from_slice(&header);
                    }
                    if let (Some(dst), Some(src)) = (zone.get_mut(pos..), self.idle.get(..room)) {
                        dst.copy_from_slice(src);
                    }
                    self.idle_tail = MIN_PACKET_LEN - room;
                }
            }
        }
        let fhp = match first {
            Some(p) => FirstHdrPtr::At(p as u16),
            None => FirstHdrPtr::NoPacketStart,
        };
        let mut frame = aos::Packet::new_unchecked(&mut out[..]);
        frame.set_id(self.scid, self.vcid);
        frame.set_vc_frame_count(self.count);
        frame.set_signalling(false);
        frame.set_first_hdr_ptr(fhp);
        frame.set_ocf(ocf);
        frame.fill_fecf();
        self.count = self.count.next();
    }

    /// Removes `n` sent octets from the queue, tracking where the packet in progress ends.
    fn consume(&mut self, n: usize) {
        let mut left = n;
        let k = self.head_remaining.min(left);
        self.advance(k);
        self.head_remaining -= k;
        left -= k;
        while left > 0 {
            let mut header = [0u8; HEADER_LEN];
            ring_read(&self.ring, self.head, &mut header);
            // Only whole packets are queued, so the header is there; fall back to "rest".
            let plen = spp::packet_len(&header).unwrap_or(left);
            if plen <= left {
                self.advance(plen);
                left -= plen;
            } else {
                self.advance(left);
                self.head_remaining = plen - left;
                left = 0;
            }
        }
    }

    fn advance(&mut self, k: usize) {
        self.head = self.wrap(self.head + k);
        self.len -= k;
    }

    const fn wrap(&self, i: usize) -> usize {
        if i >= N { i - N } else { i }
    }

    fn ring_write(&mut self, at: usize, data: &[u8]) {
        let first = (N - at).min(data.len());
        let (a, b) = data.split_at(first);
        if let Some(d) = self.ring.get_mut(at..at + first) {
            d.copy_from_slice(a);
        }
        if let Some(d) = self.ring.get_mut(..b.len()) {
            d.copy_from_slice(b);
        }
    }
}

/// Copies `out.len()` octets of `ring` starting at `at`, wrapping at the end.
fn ring_read(ring: &[u8], at: usize, out: &mut [u8]) {
    let first = ring.len().saturating_sub(at).min(out.len());
    let (a, b) = out.split_at_mut(first);
    if let Some(s) = ring.get(at..at + first) {
        a.copy_from_slice(s);
    }
    if let Some(s) = ring.get(..b.len()) {
        b.copy_from_slice(s);
    }
}

/// What the reassembler hands out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// A whole space packet (header through its last octet; the PEC is not checked here).
    Packet(&'a [u8]),
    /// An idle packet of this many octets was skipped.
    Idle {
        /// Its length.
        len: usize,
    },
    /// Something was wrong; the reassembler has already recovered (see [`Error`]).
    Error(Error),
}

/// Counters of a reassembler.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Frames processed.
    pub frames: u64,
    /// Packets delivered.
    pub packets: u64,
    /// Idle packets skipped.
    pub idle_packets: u64,
    /// Gaps in the VC frame count.
    pub gaps: u64,
    /// Frames lost, as the gaps in the count say.
    pub frames_lost: u64,
    /// Octets dropped: partial packets damaged by a gap or an error, and data skipped while
    /// resynchronising.
    pub dropped_octets: u64,
    /// Errors reported (gaps included).
    pub errors: u64,
}

/// Ground M_PDU reassembler for one virtual channel, following packets of up to `N` octets.
#[derive(Clone, Debug)]
pub struct Reassembler<const N: usize> {
    vcid: Vcid,
    expected: Option<VcFrameCount>,
    buf: [u8; N],
    fill: usize,
    in_sync: bool,
    stats: Stats,
}

impl<const N: usize> Reassembler<N> {
    /// A reassembler for `vcid`, not yet synchronised.
    pub const fn new(vcid: Vcid) -> Self {
        const { assert!(N >= MIN_PACKET_LEN, "a reassembler must hold at least one packet") };
        Reassembler {
            vcid,
            expected: None,
            buf: [0; N],
            fill: 0,
            in_sync: false,
            stats: Stats {
                frames: 0,
                packets: 0,
                idle_packets: 0,
                gaps: 0,
                frames_lost: 0,
                dropped_octets: 0,
                errors: 0,
            },
        }
    }

    /// Counters since creation.
    pub const fn stats(&self) -> Stats {
        self.stats
    }

    /// Octets of a packet in progress held in the buffer.
    pub const fn pending_octets(&self) -> usize {
        self.fill
    }

    /// Processes one validated frame (see [`aos::Repr::parse`]) and reports every packet,
    /// idle packet and error through `on_event`, in stream order.
    ///
    /// # Panics
    /// Never.
    pub fn push_frame<F: FnMut(Event<'_>)>(&mut self, frame: &aos::Repr<'_>, mut on_event: F) {
        if frame.vcid != self.vcid {
            self.error(
                Error::WrongVcid { expected: self.vcid.value(), found: frame.vcid.value() },
                &mut on_event,
            );
            return;
        }
        self.stats.frames += 1;
        if let Some(expected) = self.expected
            && expected != frame.vc_frame_count
        {
            self.stats.gaps += 1;
            self.stats.frames_lost += u64::from(expected.distance_to(frame.vc_frame_count));
            self.error(
                Error::Gap { expected: expected.value(), found: frame.vc_frame_count.value() },
                &mut on_event,
            );
            self.desync();
        }
        self.expected = Some(frame.vc_frame_count.next());
        let zone = frame.packet_zone;
        let fhp = frame.first_hdr_ptr;

        let start = match (self.in_sync, fhp) {
            (_, FirstHdrPtr::IdleOnly) => {
                if self.fill > 0 && !self.partial_is_idle() {
                    let expected = self.partial_end().unwrap_or(0);
                    self.error(
                        Error::BoundaryMismatch { expected, found: fhp.bits() },
                        &mut on_event,
                    );
                }
                self.desync();
                return;
            }
            (false, FirstHdrPtr::NoPacketStart) => {
                self.stats.dropped_octets += zone.len() as u64;
                return;
            }
            (false, FirstHdrPtr::At(p)) => {
                self.stats.dropped_octets += u64::from(p);
                usize::from(p)
            }
            (true, _) => match self.continue_partial(zone, fhp, &mut on_event) {
                Some(p) => p,
                None => return,
            },
        };
        self.in_sync = true;
        self.walk(zone, start, &mut on_event);
    }

    /// Continues the packet in progress into `zone`. Returns where the first new packet starts,
    /// or `None` if nothing more is to be done with this zone.
    fn continue_partial<F: FnMut(Event<'_>)>(
        &mut self,
        zone: &[u8],
        fhp: FirstHdrPtr,
        on_event: &mut F,
    ) -> Option<usize> {
        let limit = match fhp {
            FirstHdrPtr::At(p) => usize::from(p),
            _ => zone.len(),
        };
        if self.fill == 0 {
            // At a packet boundary: a packet must start at offset 0.
            if limit == 0 && matches!(fhp, FirstHdrPtr::At(_)) {
                return Some(0);
            }
            self.error(Error::BoundaryMismatch { expected: 0, found: fhp.bits() }, on_event);
            self.desync();
            return self.resync_at(fhp, zone.len());
        }
        // Complete the header of the packet in progress.
        let mut used = 0;
        if self.fill < HEADER_LEN {
            let need = HEADER_LEN - self.fill;
            if need > limit {
                let expected = need;
                self.error(Error::BoundaryMismatch { expected, found: fhp.bits() }, on_event);
                self.desync();
                return self.resync_at(fhp, zone.len());
            }
            self.append(zone.get(..need).unwrap_or(&[]));
            used = need;
        }
        let header = self.buf.get(..self.fill).unwrap_or(&[]);
        let checked = checked_packet_len(header, N)
            .and_then(|t| t.ok_or(Error::Truncated { found: self.fill, expected: HEADER_LEN }));
        let total = match checked {
            Ok(t) => t,
            Err(e) => {
                self.error(e, on_event);
                self.desync();
                return self.resync_at(fhp, zone.len());
            }
        };
        let end = used + (total - self.fill);
        let consistent = match fhp {
            FirstHdrPtr::At(p) => end == usize::from(p),
            _ => end >= zone.len(),
        };
        if !consistent {
            self.error(Error::BoundaryMismatch { expected: end, found: fhp.bits() }, on_event);
            self.desync();
            return self.resync_at(fhp, zone.len());
        }
        let upto = end.min(zone.len());
        self.append(zone.get(used..upto).unwrap_or(&[]));
        if self.fill == total {
            self.deliver_buffered(on_event);
        }
        match fhp {
            FirstHdrPtr::At(p) => Some(usize::from(p)),
            _ => None,
        }
    }

    /// After a desynchronisation inside a frame, where to resume in that frame.
    fn resync_at(&mut self, fhp: FirstHdrPtr, zone_len: usize) -> Option<usize> {
        match fhp {
            FirstHdrPtr::At(p) => {
                self.stats.dropped_octets += u64::from(p);
                Some(usize::from(p))
            }
            _ => {
                self.stats.dropped_octets += zone_len as u64;
                None
            }
        }
    }

    /// Cuts the packets starting at `pos` out of `zone`; keeps a trailing partial packet.
    fn walk<F: FnMut(Event<'_>)>(&mut self, zone: &[u8], mut pos: usize, on_event: &mut F) {
        while let Some(rest) = zone.get(pos..).filter(|r| !r.is_empty()) {
            match checked_packet_len(rest, N) {
                Ok(Some(len)) => {
                    if let Some(packet) = rest.get(..len) {
                        self.deliver(packet, on_event);
                        pos += len;
                        continue;
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    self.stats.dropped_octets += rest.len() as u64;
                    self.error(e, on_event);
                    self.desync();
                    return;
                }
            }
            // The packet continues in the next frame.
            self.fill = 0;
            self.append(rest);
            return;
        }
    }

    fn append(&mut self, data: &[u8]) {
        if let Some(dst) = self.buf.get_mut(self.fill..self.fill + data.len()) {
            dst.copy_from_slice(data);
            self.fill += data.len();
        }
    }

    fn partial_end(&self) -> Option<usize> {
        spp::packet_len(self.buf.get(..self.fill)?).map(|t| t.saturating_sub(self.fill))
    }

    fn partial_is_idle(&self) -> bool {
        self.fill >= 2 && is_idle(&self.buf)
    }

    fn deliver_buffered<F: FnMut(Event<'_>)>(&mut self, on_event: &mut F) {
        let fill = self.fill;
        self.fill = 0;
        let Some(packet) = self.buf.get(..fill) else { return };
        if is_idle(packet) {
            self.stats.idle_packets += 1;
            on_event(Event::Idle { len: fill });
        } else {
            self.stats.packets += 1;
            on_event(Event::Packet(packet));
        }
    }

    fn deliver<F: FnMut(Event<'_>)>(&mut self, packet: &[u8], on_event: &mut F) {
        if is_idle(packet) {
            self.stats.idle_packets += 1;
            on_event(Event::Idle { len: packet.len() });
        } else {
            self.stats.packets += 1;
            on_event(Event::Packet(packet));
        }
    }

    fn error<F: FnMut(Event<'_>)>(&mut self, e: Error, on_event: &mut F) {
        self.stats.errors += 1;
        on_event(Event::Error(e));
    }

    /// Drops the packet in progress and waits for the next first header pointer.
    fn desync(&mut self) {
        if !self.partial_is_idle() {
            self.stats.dropped_octets += self.fill as u64;
        }
        self.fill = 0;
        self.in_sync = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn packet(apid: u16, len: usize, seed: u8) -> Vec<u8> {
        let mut p = std::vec![0u8; len];
        let repr = spp::Repr {
            packet_type: spp::PacketType::Tm,
            sec_hdr_flag: true,
            apid: Apid::new(apid).unwrap(),
            seq_flags: spp::SeqFlags::Unsegmented,
            seq_count: spp::SeqCount::new(u16::from(seed)).unwrap(),
            data_len: len - HEADER_LEN,
        };
        repr.emit(&mut spp::Packet::new_unchecked(&mut p[..])).unwrap();
        for (i, b) in p[HEADER_LEN..].iter_mut().enumerate() {
            *b = seed.wrapping_add(i as u8);
        }
        p
    }

    fn frames_of(packer: &mut Packer<8192>, flush: bool) -> Vec<[u8; FRAME_LEN]> {
        let mut out = Vec::new();
        let mut f = [0u8; FRAME_LEN];
        while packer.next_frame(0, &mut f) {
            out.push(f);
        }
        if flush {
            while packer.flush_frame(0, &mut f) {
                out.push(f);
            }
        }
        out
    }

    fn reassemble(frames: &[[u8; FRAME_LEN]]) -> (Vec<Vec<u8>>, Vec<Error>, usize) {
        let mut r = Reassembler::<8192>::new(Vcid::new(0).unwrap());
        let (mut pk, mut er, mut idle) = (Vec::new(), Vec::new(), 0);
        for f in frames {
            let repr = aos::Repr::parse(&aos::Packet::new_checked(&f[..]).unwrap()).unwrap();
            r.push_frame(&repr, |e| match e {
                Event::Packet(p) => pk.push(p.to_vec()),
                Event::Idle { .. } => idle += 1,
                Event::Error(e) => er.push(e),
            });
        }
        (pk, er, idle)
    }

    fn fhp(f: &[u8; FRAME_LEN]) -> FirstHdrPtr {
        aos::Packet::new_unchecked(&f[..]).first_hdr_ptr()
    }

    #[test]
    fn push_rejects_bad_packets() {
        let mut p = Packer::<64>::new(Vcid::new(0).unwrap());
        assert_eq!(p.push(&[0; 6]), Err(Error::Truncated { found: 6, expected: 7 }));
        let mut pk = packet(0x240, 20, 1);
        assert_eq!(p.push(&pk[..19]), Err(Error::BadPacketLength { declared: 20, found: 19 }));
        pk[0] |= 0x20;
        assert_eq!(p.push(&pk), Err(Error::BadPacketVersion(1)));
        p.push(&packet(0x240, 60, 1)).unwrap();
        assert_eq!(p.push(&packet(0x240, 7, 1)), Err(Error::Full { needed: 7, free: 4 }));
    }

    #[test]
    fn packet_spanning_three_frames() {
        let mut p = Packer::<8192>::new(Vcid::new(0).unwrap());
        let a = packet(0x240, 100, 1);
        let b = packet(0x242, 2500, 2);
        let c = packet(0x241, 50, 3);
        for x in [&a, &b, &c] {
            p.push(x).unwrap();
        }
        let frames = frames_of(&mut p, true);
        assert_eq!(frames.len(), 3);
        assert_eq!(fhp(&frames[0]), FirstHdrPtr::At(0));
        assert_eq!(fhp(&frames[1]), FirstHdrPtr::NoPacketStart);
        // b ends at 100 + 2500 - 2 * 1101 = 398 in frame 2, where c starts.
        assert_eq!(fhp(&frames[2]), FirstHdrPtr::At(398));
        let (pk, er, idle) = reassemble(&frames);
        assert_eq!(pk, std::vec![a, b, c]);
        assert!(er.is_empty());
        assert_eq!(idle, 1);
    }

    #[test]
    fn idle_spill_when_fewer_than_seven_octets_remain() {
        for room in 1..7 {
            let mut p = Packer::<8192>::new(Vcid::new(0).unwrap());
            let a = packet(0x240, PACKET_ZONE_LEN - room, 1);
            p.push(&a).unwrap();
            let mut frames = frames_of(&mut p, true);
            assert_eq!(frames.len(), 1);
            assert_eq!(p.queued_octets(), 7 - room, "idle tail pending");
            let b = packet(0x240, 30, 2);
            p.push(&b).unwrap();
            frames.extend(frames_of(&mut p, true));
            assert_eq!(fhp(&frames[1]), FirstHdrPtr::At((7 - room) as u16));
            let (pk, er, idle) = reassemble(&frames);
            assert_eq!(pk, std::vec![a, b], "room {room}");
            assert!(er.is_empty());
            assert_eq!(idle, 2);
        }
    }

    #[test]
    fn gap_drops_only_the_damaged_packet() {
        let mut p = Packer::<8192>::new(Vcid::new(0).unwrap());
        let pk: Vec<_> = (0..12).map(|i| packet(0x240, 300, i)).collect();
        for x in &pk {
            p.push(x).unwrap();
        }
        let frames = frames_of(&mut p, true);
        assert_eq!(frames.len(), 4);
        let kept = [frames[0], frames[2], frames[3]];
        let (got, er, _) = reassemble(&kept);
        assert_eq!(er, std::vec![Error::Gap { expected: 1, found: 2 }]);
        // Frame 1 holds octets 1101..2202: packets 3..=7 touch it (3 starts at 900).
        let mut expect: Vec<Vec<u8>> = pk[..3].to_vec();
        expect.extend_from_slice(&pk[8..]);
        assert_eq!(got, expect);
    }

    #[test]
    fn impossible_length_resyncs_on_next_frame() {
        let mut p = Packer::<8192>::new(Vcid::new(0).unwrap());
        let a = packet(0x240, 3000, 1);
        let b = packet(0x240, 40, 2);
        p.push(&a).unwrap();
        p.push(&b).unwrap();
        let frames = frames_of(&mut p, true);
        let mut r = Reassembler::<1024>::new(Vcid::new(0).unwrap());
        let mut got = Vec::new();
        for f in &frames {
            let repr = aos::Repr::parse(&aos::Packet::new_checked(&f[..]).unwrap()).unwrap();
            r.push_frame(&repr, |e| got.push(std::format!("{e:?}")));
        }
        assert!(got[0].contains("PacketTooLong"), "{got:?}");
        assert!(got.iter().any(|g| g.contains("Packet([")), "b is delivered: {got:?}");
    }

    #[test]
    fn wrong_vcid_is_reported() {
        let mut p = Packer::<8192>::new(Vcid::new(1).unwrap());
        p.push(&packet(0x241, 10, 0)).unwrap();
        let frames = frames_of(&mut p, true);
        let (pk, er, _) = reassemble(&frames);
        assert!(pk.is_empty());
        assert_eq!(er, std::vec![Error::WrongVcid { expected: 0, found: 1 }]);
    }
}
