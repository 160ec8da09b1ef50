//! Items → stimulus frames (`docs/icd/stimulus.md`): the one encoding `replay --local` and
//! `replay --on DEVICE` both use, so that the trigger sees the same packets either way.
//!
//! - Events go in batches of up to [`stimulus::MAX_EVENTS`] (128); a batch closes when it is
//!   full, before an attitude or orbit sample, before a gap of more than [`GAP_TICKS`] (then a
//!   time tick at the last tick before the next item tells the unit that time went on), and
//!   when its time offsets would overflow 32 bits.
//! - Attitude and orbit samples each make one packet.
//! - [`Encoder::finish`] closes the last batch and sends a flush at the end tick.
//!
//! Frames are numbered with the 14-bit sequence count from 0. An event batch is written in
//! place, event by event ([`stimulus::EventFrame`]): the records go straight into the frame
//! that `out` receives.

use tc_tm::stimulus::{self, Body, EventFrame, Repr};

use crate::events::{Event, Item};

/// Gap between two items after which a time tick is sent (10 ms, the shortest CRT bin).
pub const GAP_TICKS: u64 = 500;

/// Stream encoder (see the module documentation).
#[derive(Debug)]
pub struct Encoder {
    batch: Box<EventFrame>,
    seq: u16,
    last_tick: Option<u64>,
    frame: Vec<u8>,
    /// Packets emitted.
    pub packets: u64,
    /// Events emitted.
    pub events: u64,
}

impl Default for Encoder {
    fn default() -> Self {
        Self::new()
    }
}

fn encode_err(e: stimulus::Error) -> std::io::Error {
    std::io::Error::other(format!("encoding a stimulus packet: {e}"))
}

/// A frame ready to be sent: its octets and whether it holds events.
pub type FrameSink<'a> = dyn FnMut(&[u8]) -> std::io::Result<()> + 'a;

impl Encoder {
    /// A fresh encoder (sequence count 0).
    pub fn new() -> Self {
        Encoder {
            batch: Box::new(EventFrame::new()),
            seq: 0,
            last_tick: None,
            frame: vec![0; stimulus::MAX_FRAME_LEN],
            packets: 0,
            events: 0,
        }
    }

    fn emit(&mut self, body: Body<'_>, out: &mut FrameSink<'_>) -> std::io::Result<()> {
        let repr = Repr { seq_count: self.seq, body };
        let n = repr.emit_frame(&mut self.frame).map_err(encode_err)?;
        self.seq = (self.seq + 1) & 0x3FFF;
        self.packets += 1;
        out(self.frame.get(..n).unwrap_or(&[]))
    }

    fn close_batch(&mut self, out: &mut FrameSink<'_>) -> std::io::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        self.events += self.batch.len() as u64;
        let frame = self.batch.finish(self.seq).map_err(encode_err)?;
        self.seq = (self.seq + 1) & 0x3FFF;
        self.packets += 1;
        out(frame)
    }

    /// Adds one item (in time order).
    ///
    /// # Errors
    /// Those of `out`.
    pub fn push(&mut self, item: &Item, out: &mut FrameSink<'_>) -> std::io::Result<()> {
        let t = match item {
            Item::Event(e) => return self.push_events(std::slice::from_ref(e), out),
            Item::Attitude(a) => a.tick,
            Item::Orbit(o) => o.tick,
        };
        self.gap_before(t, out)?;
        self.close_batch(out)?;
        match item {
            Item::Attitude(a) => {
                self.emit(Body::Attitude(stimulus::AttitudeSample { tick: a.tick, q: a.q }), out)
            }
            Item::Orbit(o) => {
                let lon = if o.lon_deg < -180.0 { o.lon_deg + 360.0 } else { o.lon_deg };
                self.emit(
                    Body::Orbit(stimulus::OrbitSample {
                        tick: o.tick,
                        lon_deg: lon as f32,
                        lat_deg: o.lat_deg as f32,
                        alt_km: o.alt_km as f32,
                    }),
                    out,
                )
            }
            Item::Event(_) => Ok(()),
        }
    }

    /// Before an item at `t`: after a gap, closes the batch and sends a time tick at `t − 1`.
    #[inline]
    fn gap_before(&mut self, t: u64, out: &mut FrameSink<'_>) -> std::io::Result<()> {
        if let Some(last) = self.last_tick
            && t > last.wrapping_add(GAP_TICKS)
        {
            self.close_batch(out)?;
            self.emit(Body::TimeTick { tick: t.wrapping_sub(1) }, out)?;
        }
        self.last_tick = Some(t);
        Ok(())
    }

    /// Adds events (in time order), as [`Encoder::push`] of each in turn: each goes straight
    /// into the batch's frame, a run at a time (the events up to the next gap, time overflow
    /// or full batch).
    ///
    /// # Errors
    /// Those of `out`.
    pub fn push_events(
        &mut self,
        events: &[Event],
        out: &mut FrameSink<'_>,
    ) -> std::io::Result<()> {
        let mut rest = events;
        while let Some(first) = rest.first() {
            self.gap_before(first.tick, out)?;
            if self
                .batch
                .base_tick()
                .is_some_and(|base| first.tick.wrapping_sub(base) > u64::from(u32::MAX))
            {
                self.close_batch(out)?;
            }
            let base = self.batch.base_tick().unwrap_or(first.tick);
            let room = stimulus::MAX_EVENTS - self.batch.len().min(stimulus::MAX_EVENTS);
            // The first event is in; the next ones while no gap, overflow or full batch.
            let mut last = first.tick;
            let mut n = 1;
            for e in rest.iter().take(room).skip(1) {
                if e.tick > last.wrapping_add(GAP_TICKS)
                    || e.tick.wrapping_sub(base) > u64::from(u32::MAX)
                {
                    break;
                }
                last = e.tick;
                n += 1;
            }
            let (run, after) = rest.split_at(n.min(rest.len()));
            self.batch.extend(run.iter().map(|e| stimulus::Event {
                tick: e.tick,
                y: e.y,
                z: e.z,
                pha: e.pha,
                multiplicity: e.mult.max(1),
            }));
            self.last_tick = Some(last);
            if self.batch.len() >= stimulus::MAX_EVENTS {
                self.close_batch(out)?;
            }
            rest = after;
        }
        Ok(())
    }

    /// Closes the last batch and sends a flush at `end_tick` (at least the last item's tick).
    ///
    /// # Errors
    /// Those of `out`.
    pub fn finish(&mut self, end_tick: u64, out: &mut FrameSink<'_>) -> std::io::Result<()> {
        self.close_batch(out)?;
        let tick = end_tick.max(self.last_tick.unwrap_or(0));
        self.last_tick = Some(tick);
        self.emit(Body::Flush { tick }, out)
    }

    /// Sends a flush at the last tick seen (a poll for an acknowledgement), closing the batch.
    ///
    /// # Errors
    /// Those of `out`.
    pub fn flush_now(&mut self, out: &mut FrameSink<'_>) -> std::io::Result<()> {
        let t = self.last_tick.unwrap_or(0);
        self.finish(t, out)
    }

    /// Sequence count of the next packet.
    pub fn next_seq(&self) -> u16 {
        self.seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_close_on_size_context_and_gaps() {
        let mut enc = Encoder::new();
        let mut frames: Vec<Vec<u8>> = Vec::new();
        let mut out = |f: &[u8]| {
            frames.push(f.to_vec());
            Ok(())
        };
        for i in 0..130u64 {
            let e = Event { tick: 1000 + i, y: 1, z: 2, pha: 100, mult: 1 };
            enc.push(&Item::Event(e), &mut out).unwrap();
        }
        let a = crate::events::AttitudeSample { tick: 1200, q: [1.0, 0.0, 0.0, 0.0] };
        enc.push(&Item::Attitude(a), &mut out).unwrap();
        let e = Event { tick: 5000, y: 1, z: 2, pha: 100, mult: 1 };
        enc.push(&Item::Event(e), &mut out).unwrap();
        enc.finish(6000, &mut out).unwrap();
        let mut kinds = Vec::new();
        let mut de = stimulus::Deframer::new();
        for f in &frames {
            de.push(f, &mut |p| {
                let r = Repr::parse(p).unwrap();
                kinds.push((r.seq_count, r.body.kind(), r.body.last_tick()));
            });
        }
        use stimulus::Kind as K;
        assert_eq!(
            kinds,
            vec![
                (0, K::Events, Some(1127)),
                (1, K::Events, Some(1129)),
                (2, K::Attitude, Some(1200)),
                (3, K::TimeTick, Some(4999)),
                (4, K::Events, Some(5000)),
                (5, K::Flush, Some(6000)),
            ]
        );
        assert_eq!(enc.events, 131);
    }
}
