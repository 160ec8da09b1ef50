//! Stimulus intake: the stimulus byte stream → frames → packets → items for the trigger, with
//! the counters and the acknowledgements of the flow control (`docs/icd/stimulus.md`).
//!
//! - Frames are found by [`tc_tm::stimulus::Deframer`] (sync marker, header, CRC, resync).
//! - A packet is **refused** whole (counted, acknowledged, content unused) when it does not
//!   parse (unknown kind, bad length, field out of range, events out of order), when it comes
//!   from the unit's side (an ack), or when its earliest time is before the latest time already
//!   consumed (time order across packets of every kind).
//! - A sequence count other than the previous + 1 counts a gap (packets lost on the line); the
//!   packet itself is consumed normally.
//! - After any packet consumed an acknowledgement is pending; it carries the last sequence
//!   count consumed and the cumulative counters. [`Intake::take_ack`] writes it as a frame.

use tc_tm::stimulus::{self, Ack, Body, Deframer, Repr};

/// Why a packet was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// It does not parse.
    Malformed(stimulus::Error),
    /// It is an acknowledgement (unit → bench kind) sent to the unit.
    WrongDirection,
    /// Its earliest time is before time already consumed.
    TimeOrder {
        /// Earliest time in the packet, ticks.
        tick: u64,
        /// Latest time consumed, ticks.
        now: u64,
    },
}

/// Counters of the intake since power-on (or [`Intake::new`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IntakeStats {
    /// Octets received.
    pub octets: u64,
    /// Octets skipped by the resynchronisation.
    pub skipped_octets: u64,
    /// Frames found broken (header or CRC).
    pub malformed: u32,
    /// Packets consumed (accepted + refused).
    pub consumed: u32,
    /// Packets accepted.
    pub accepted: u32,
    /// Packets refused.
    pub refused: u32,
    /// Packets refused for time order (included in `refused`).
    pub time_order: u32,
    /// Sequence count gaps.
    pub seq_gaps: u32,
    /// Events received in accepted packets.
    pub events: u64,
    /// The last refusal, if any.
    pub last_refusal: Option<Refusal>,
}

/// The stimulus intake.
#[derive(Clone, Debug)]
pub struct Intake {
    deframer: Deframer,
    last_seq: Option<u16>,
    now: u64,
    stats: IntakeStats,
    ack_pending: bool,
    events_ignored: u32,
}

impl Default for Intake {
    fn default() -> Self {
        Self::new()
    }
}

impl Intake {
    /// Nothing received yet; time 0.
    pub const fn new() -> Self {
        Intake {
            deframer: Deframer::new(),
            last_seq: None,
            now: 0,
            stats: IntakeStats {
                octets: 0,
                skipped_octets: 0,
                malformed: 0,
                consumed: 0,
                accepted: 0,
                refused: 0,
                time_order: 0,
                seq_gaps: 0,
                events: 0,
                last_refusal: None,
            },
            ack_pending: false,
            events_ignored: 0,
        }
    }

    /// Counters.
    pub fn stats(&self) -> IntakeStats {
        let d = self.deframer.stats();
        IntakeStats {
            octets: d.octets_in,
            skipped_octets: d.skipped_octets,
            malformed: d.malformed,
            ..self.stats
        }
    }

    /// Latest event time consumed, ticks.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Sets the count of events the trigger did not use (reported in the acks).
    pub fn set_events_ignored(&mut self, n: u32) {
        self.ack_pending |= n != self.events_ignored && self.stats.consumed > 0;
        self.events_ignored = n;
    }

    /// Feeds stimulus octets; every accepted packet's body goes to `on_body`, in order.
    pub fn push(&mut self, octets: &[u8], on_body: &mut dyn FnMut(&Body<'_>)) {
        let Intake { deframer, .. } = self;
        let mut me = Consumer {
            last_seq: &mut self.last_seq,
            now: &mut self.now,
            stats: &mut self.stats,
            ack: &mut self.ack_pending,
        };
        // The deframer has checked each packet's CRC: parsing does not compute it again.
        deframer.push(octets, &mut |packet| {
            let _ = me.consume(packet, true, on_body);
        });
    }

    /// Consumes one packet (primary header through CRC, no sync marker): the path of a host
    /// replay that has packets rather than a byte stream. Same checks and counters as
    /// [`Intake::push`].
    pub fn push_packet(
        &mut self,
        packet: &[u8],
        on_body: &mut dyn FnMut(&Body<'_>),
    ) -> Result<(), Refusal> {
        let mut me = Consumer {
            last_seq: &mut self.last_seq,
            now: &mut self.now,
            stats: &mut self.stats,
            ack: &mut self.ack_pending,
        };
        me.consume(packet, false, on_body)
    }

    /// Whether an acknowledgement is waiting.
    pub fn ack_pending(&self) -> bool {
        self.ack_pending
    }

    /// The acknowledgement now.
    pub fn ack(&self) -> Ack {
        let s = self.stats();
        Ack {
            last_seq: self.last_seq.unwrap_or(0),
            consumed: s.consumed,
            refused: s.refused,
            malformed: s.malformed,
            seq_gaps: s.seq_gaps,
            events_ignored: self.events_ignored,
        }
    }

    /// Writes the pending acknowledgement as a frame into `out` (at least
    /// [`stimulus::MAX_FRAME_LEN`] octets is always enough); 0 if none is pending or `out` is
    /// too small (it stays pending).
    pub fn take_ack(&mut self, out: &mut [u8]) -> usize {
        if !self.ack_pending {
            return 0;
        }
        let seq = self.stats.consumed as u16 & 0x3FFF;
        match (Repr { seq_count: seq, body: Body::Ack(self.ack()) }).emit_frame(out) {
            Ok(n) => {
                self.ack_pending = false;
                n
            }
            Err(_) => 0,
        }
    }
}

struct Consumer<'a> {
    last_seq: &'a mut Option<u16>,
    now: &'a mut u64,
    stats: &'a mut IntakeStats,
    ack: &'a mut bool,
}

impl Consumer<'_> {
    /// `deframed`: the packet comes from the deframer, which checked its CRC.
    fn consume(
        &mut self,
        packet: &[u8],
        deframed: bool,
        on_body: &mut dyn FnMut(&Body<'_>),
    ) -> Result<(), Refusal> {
        let result = self.check(packet, deframed);
        self.stats.consumed += 1;
        *self.ack = true;
        match result {
            Ok(repr) => {
                if let Some(t) = repr.body.last_tick() {
                    *self.now = (*self.now).max(t);
                }
                if let Body::Events(e) = &repr.body {
                    self.stats.events += e.len() as u64;
                }
                self.stats.accepted += 1;
                on_body(&repr.body);
                Ok(())
            }
            Err(r) => {
                self.stats.refused += 1;
                if matches!(r, Refusal::TimeOrder { .. }) {
                    self.stats.time_order += 1;
                }
                self.stats.last_refusal = Some(r);
                Err(r)
            }
        }
    }

    fn check<'p>(&mut self, packet: &'p [u8], deframed: bool) -> Result<Repr<'p>, Refusal> {
        let parsed = if deframed { Repr::parse_deframed(packet) } else { Repr::parse(packet) };
        let repr = parsed.map_err(Refusal::Malformed)?;
        // Sequence: counted on every well-formed packet, refused or not.
        if let Some(prev) = *self.last_seq
            && repr.seq_count != (prev + 1) & 0x3FFF
        {
            self.stats.seq_gaps += 1;
        }
        *self.last_seq = Some(repr.seq_count);
        if matches!(repr.body, Body::Ack(_)) {
            return Err(Refusal::WrongDirection);
        }
        let first = repr.body.first_tick().unwrap_or(*self.now);
        if first < *self.now {
            return Err(Refusal::TimeOrder { tick: first, now: *self.now });
        }
        Ok(repr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;
    use tc_tm::stimulus::{Event, Events, MAX_FRAME_LEN};

    fn frame(seq: u16, body: Body<'_>) -> Vec<u8> {
        let mut b = [0u8; MAX_FRAME_LEN];
        let n = Repr { seq_count: seq, body }.emit_frame(&mut b).unwrap();
        b[..n].to_vec()
    }

    #[test]
    fn refusals_are_counted_and_acknowledged() {
        let mut i = Intake::new();
        let ev = [Event { tick: 100, y: 1, z: 1, pha: 100, multiplicity: 1 }];
        let mut stream = frame(0, Body::Events(Events::Slice(&ev)));
        stream.extend(frame(1, Body::TimeTick { tick: 50 })); // before 100: refused
        stream.extend(frame(3, Body::TimeTick { tick: 200 })); // gap (2 missing)
        let mut bad = frame(4, Body::TimeTick { tick: 300 });
        bad[12] ^= 1; // CRC broken: malformed, never consumed
        stream.extend(bad);
        stream.extend(frame(5, Body::Ack(Ack::default()))); // wrong direction
        let mut bodies = 0;
        i.push(&stream, &mut |_| bodies += 1);
        let s = i.stats();
        assert_eq!(bodies, 2);
        assert_eq!((s.consumed, s.accepted, s.refused, s.time_order), (4, 2, 2, 1));
        assert_eq!(s.malformed, 1);
        assert_eq!(s.seq_gaps, 2, "1 -> 3, 3 -> 5");
        assert_eq!(s.events, 1);
        assert_eq!(i.now(), 200);
        let mut out = [0u8; MAX_FRAME_LEN];
        let n = i.take_ack(&mut out);
        assert!(n > 0);
        assert_eq!(i.take_ack(&mut out), 0, "taken");
        let Body::Ack(a) = Repr::parse(&out[4..n]).unwrap().body else { panic!() };
        assert_eq!((a.last_seq, a.consumed, a.refused, a.malformed, a.seq_gaps), (5, 4, 2, 1, 2));
    }

    proptest! {
        #[test]
        fn arbitrary_octets_never_panic_and_every_packet_is_accounted(bytes in proptest::collection::vec(any::<u8>(), 0..4000), ticks in proptest::collection::vec(0u64..1000, 0..6)) {
            let mut i = Intake::new();
            let mut stream = bytes.clone();
            for (k, t) in ticks.iter().enumerate() {
                stream.extend(frame(k as u16, Body::TimeTick { tick: *t }));
            }
            let mut bodies = 0u32;
            i.push(&stream, &mut |_| bodies += 1);
            let s = i.stats();
            prop_assert_eq!(s.consumed, s.accepted + s.refused);
            prop_assert_eq!(s.accepted, bodies);
            prop_assert_eq!(s.octets as usize, stream.len());
        }
    }
}
