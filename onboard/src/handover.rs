//! The link layer's state across an application restart through a boot loader.
//!
//! In the model the TC decoder and TM encoder are the unit's hardware: an ST\[08\] `reset`
//! restarts the application and leaves the link as it is (`docs/icd/unit.md`, "Reset and
//! power"). The twin does that inside one process. The firmware restarts for real: it jumps
//! back to its boot loader, which may start another binary (the bank just selected). What the
//! bench relies on must then cross the restart, and this module is that crossing:
//!
//! 1. the firmware sets [`Unit::set_external_restart`]; a `reset` TC then leaves its reports
//!    queued and raises [`Unit::restart_requested`] instead of restarting in place;
//! 2. the firmware sends every queued CADU ([`Unit::tm_pending`]), then encodes
//!    [`Unit::link_handover`] into memory the loader leaves alone, and jumps to the loader;
//! 3. the next binary decodes it ([`LinkHandover::decode`]: magic, format, CRC) and calls
//!    [`Unit::resume`]: the boot logic runs and queues its event, FARM-1's V(R), the VC frame
//!    counts, the TM sequence counts and the message type counters go on where they were, so
//!    the bench's FOP-1 carries on without Set V(R) and the ground sees no gap.
//!
//! The TM queues are empty at that point (sent before the jump) and the CLTU decoder starts
//! hunting, as after any CLTU tail. The [`crate::Counters`] count since power-on and restart.

use heapless::LinearMap;
use tc_tm::aos::VcFrameCount;
use tc_tm::pus::Cuc;
use tc_tm::spp::SeqCount;

use crate::limits::MSG_TYPE_COUNTERS;
use crate::storage::Storage;
use crate::unit::Unit;

/// Encoded length of a [`LinkHandover`], octets.
pub const HANDOVER_LEN: usize = 4 + 2 + 1 + 4 * 4 + 3 * 2 + 8 + 1 + 4 * MSG_TYPE_COUNTERS + 4;
/// Magic of an encoded handover: `LNKH`.
pub const MAGIC: u32 = 0x4C4E_4B48;
const FORMAT: u16 = 1;

/// The link state carried over a restart (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkHandover {
    /// FARM-1's V(R).
    pub v_r: u8,
    /// Next VC frame count of VC 0, 1, 2 and of the idle channel (VC 63).
    pub vc_counts: [u32; 4],
    /// Next TM source sequence count of each channel's APID.
    pub seq_counts: [u16; 3],
    /// On-board time at the hand-over, CUC ticks (2^-16 s).
    pub now_ticks: u64,
    /// PUS message type counters: `(service, subtype, last counter)`.
    pub msg_counters: heapless::Vec<(u8, u8, u16), MSG_TYPE_COUNTERS>,
}

impl LinkHandover {
    /// The encoded form: big-endian fields, then a CRC-32 over all the octets before it.
    pub fn encode(&self) -> [u8; HANDOVER_LEN] {
        let mut out = [0u8; HANDOVER_LEN];
        let mut w = Writer { out: &mut out, at: 0 };
        w.put(&MAGIC.to_be_bytes());
        w.put(&FORMAT.to_be_bytes());
        w.put(&[self.v_r]);
        for c in self.vc_counts {
            w.put(&c.to_be_bytes());
        }
        for s in self.seq_counts {
            w.put(&s.to_be_bytes());
        }
        w.put(&self.now_ticks.to_be_bytes());
        w.put(&[self.msg_counters.len() as u8]);
        for &(service, subtype, counter) in &self.msg_counters {
            w.put(&[service, subtype]);
            w.put(&counter.to_be_bytes());
        }
        let crc = tc_tm::crc::crc32(out.get(..HANDOVER_LEN - 4).unwrap_or_default());
        if let Some(dst) = out.get_mut(HANDOVER_LEN - 4..) {
            dst.copy_from_slice(&crc.to_be_bytes());
        }
        out
    }

    /// Decodes a hand-over; `None` unless magic, format and CRC hold (e.g. after a power-on,
    /// when the memory holds anything).
    pub fn decode(bytes: &[u8]) -> Option<LinkHandover> {
        let bytes = bytes.get(..HANDOVER_LEN)?;
        let (body, crc) = bytes.split_at(HANDOVER_LEN - 4);
        if tc_tm::crc::crc32(body).to_be_bytes() != crc {
            return None;
        }
        let mut r = Reader { bytes: body, at: 0 };
        if r.u32()? != MAGIC || r.u16()? != FORMAT {
            return None;
        }
        let v_r = r.u8()?;
        let vc_counts = [r.u32()?, r.u32()?, r.u32()?, r.u32()?];
        let seq_counts = [r.u16()?, r.u16()?, r.u16()?];
        let now_ticks = (u64::from(r.u32()?) << 32) | u64::from(r.u32()?);
        let n = usize::from(r.u8()?);
        let mut msg_counters = heapless::Vec::new();
        for _ in 0..n.min(MSG_TYPE_COUNTERS) {
            let entry = (r.u8()?, r.u8()?, r.u16()?);
            msg_counters.push(entry).ok()?;
        }
        Some(LinkHandover { v_r, vc_counts, seq_counts, now_ticks, msg_counters })
    }
}

struct Writer<'a> {
    out: &'a mut [u8],
    at: usize,
}

impl Writer<'_> {
    fn put(&mut self, data: &[u8]) {
        if let Some(dst) = self.out.get_mut(self.at..self.at + data.len()) {
            dst.copy_from_slice(data);
        }
        self.at += data.len();
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let v = self.bytes.get(self.at..self.at + N)?.try_into().ok()?;
        self.at += N;
        Some(v)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|[b]| b)
    }
    fn u16(&mut self) -> Option<u16> {
        self.take().map(u16::from_be_bytes)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_be_bytes)
    }
}

impl<S: Storage> Unit<S> {
    /// A target that restarts through its boot loader sets this: an ST\[08\] `reset` then
    /// raises [`Unit::restart_requested`] instead of restarting the application in place.
    pub fn set_external_restart(&mut self, on: bool) {
        self.external_restart = on;
    }

    /// Whether a `reset` TC asked for a restart the target must carry out (only with
    /// [`Unit::set_external_restart`]). The unit executes no further TC meanwhile.
    pub fn restart_requested(&self) -> bool {
        self.restart_request
    }

    /// Whether TM waits in a queue (to send before a restart).
    pub fn tm_pending(&self) -> bool {
        self.downlink.has_pending()
    }

    /// The link state to carry over a restart.
    pub fn link_handover(&self) -> LinkHandover {
        let (vc_counts, seq_counts, counters) = self.downlink.counts();
        let mut msg_counters = heapless::Vec::new();
        for (&(service, subtype), &c) in counters.iter() {
            let _ = msg_counters.push((service, subtype, c));
        }
        LinkHandover {
            v_r: self.farm.v_r(),
            vc_counts: vc_counts.map(VcFrameCount::value),
            seq_counts: seq_counts.map(SeqCount::value),
            now_ticks: self.now.ticks(),
            msg_counters,
        }
    }

    /// Powers on after a restart through the boot loader: as [`Unit::power_on`] (boot logic,
    /// boot event), with the link state of `handover` restored.
    pub fn resume(storage: S, now: Cuc, handover: &LinkHandover) -> Self {
        // The link first, so that the boot event already carries the next counts.
        let mut unit = Unit::fresh(storage, now);
        unit.farm.frame(tc_tm::cop1::farm::FrameInput::SetVr(handover.v_r), true);
        let mut counters = LinearMap::new();
        for &(service, subtype, c) in &handover.msg_counters {
            let _ = counters.insert((service, subtype), c);
        }
        unit.downlink.restore(
            handover.vc_counts.map(VcFrameCount::new_masked),
            handover.seq_counts.map(SeqCount::new_masked),
            counters,
        );
        unit.counters.resets = 1;
        unit.boot_application();
        unit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_and_decodes_and_refuses_damage() {
        let mut msg_counters = heapless::Vec::new();
        msg_counters.push((1, 1, 7)).unwrap();
        msg_counters.push((5, 1, 300)).unwrap();
        let h = LinkHandover {
            v_r: 42,
            vc_counts: [1, 2, 0xFF_FFFF, 4],
            seq_counts: [10, 0x3FFF, 0],
            now_ticks: 0x1234_5678_9ABC,
            msg_counters,
        };
        let bytes = h.encode();
        assert_eq!(LinkHandover::decode(&bytes), Some(h));
        for i in 0..HANDOVER_LEN {
            let mut bad = bytes;
            bad[i] ^= 0x10;
            assert_eq!(LinkHandover::decode(&bad), None, "flip at {i}");
        }
        assert_eq!(LinkHandover::decode(&[0u8; HANDOVER_LEN]), None);
        assert_eq!(LinkHandover::decode(&bytes[..10]), None);
    }
}
