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
//! Frames are written into a caller's buffer, numbered with the 14-bit sequence count from 0.

use tc_tm::stimulus::{self, Body, Events, Repr};

use crate::events::{Event, Item};

/// Gap between two items after which a time tick is sent (10 ms, the shortest CRT bin).
pub const GAP_TICKS: u64 = 500;

/// Stream encoder (see the module documentation).
#[derive(Debug)]
pub struct Encoder {
    batch: Vec<stimulus::Event>,
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

/// A frame ready to be sent: its octets and whether it holds events.
pub type FrameSink<'a> = dyn FnMut(&[u8]) -> std::io::Result<()> + 'a;

impl Encoder {
    /// A fresh encoder (sequence count 0).
    pub fn new() -> Self {
        Encoder {
            batch: Vec::with_capacity(stimulus::MAX_EVENTS),
            seq: 0,
            last_tick: None,
            frame: vec![0; stimulus::MAX_FRAME_LEN],
            packets: 0,
            events: 0,
        }
    }

    fn emit(&mut self, body: Body<'_>, out: &mut FrameSink<'_>) -> std::io::Result<()> {
        let repr = Repr { seq_count: self.seq, body };
        let n = repr
            .emit_frame(&mut self.frame)
            .map_err(|e| std::io::Error::other(format!("encoding a stimulus packet: {e}")))?;
        self.seq = (self.seq + 1) & 0x3FFF;
        self.packets += 1;
        out(self.frame.get(..n).unwrap_or(&[]))
    }

    fn close_batch(&mut self, out: &mut FrameSink<'_>) -> std::io::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        self.events += batch.len() as u64;
        let r = self.emit(Body::Events(Events::Slice(&batch)), out);
        self.batch = batch;
        self.batch.clear();
        r
    }

    /// Adds one item (in time order).
    ///
    /// # Errors
    /// Those of `out`.
    pub fn push(&mut self, item: &Item, out: &mut FrameSink<'_>) -> std::io::Result<()> {
        let t = item.tick();
        if let Some(last) = self.last_tick
            && t > last + GAP_TICKS
        {
            self.close_batch(out)?;
            self.emit(Body::TimeTick { tick: t - 1 }, out)?;
        }
        self.last_tick = Some(t);
        match item {
            Item::Event(e) => self.push_event(e, out),
            Item::Attitude(a) => {
                self.close_batch(out)?;
                self.emit(Body::Attitude(stimulus::AttitudeSample { tick: a.tick, q: a.q }), out)
            }
            Item::Orbit(o) => {
                self.close_batch(out)?;
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
        }
    }

    fn push_event(&mut self, e: &Event, out: &mut FrameSink<'_>) -> std::io::Result<()> {
        if let Some(first) = self.batch.first()
            && e.tick - first.tick > u64::from(u32::MAX)
        {
            self.close_batch(out)?;
        }
        self.batch.push(stimulus::Event {
            tick: e.tick,
            y: e.y,
            z: e.z,
            pha: e.pha,
            multiplicity: e.mult.max(1),
        });
        if self.batch.len() == stimulus::MAX_EVENTS {
            self.close_batch(out)?;
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
