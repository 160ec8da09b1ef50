//! COP-1 properties: CLCW round trip, and FOP-1 + FARM-1 over a lossy simulated link.

use std::collections::VecDeque;

use proptest::prelude::*;
use tc_tm::cop1::Clcw;
use tc_tm::cop1::farm::{Decision, Farm, FrameInput};
use tc_tm::cop1::fop::{Action, BenchFop, State};

/// A small deterministic generator (xorshift64*), so each case is reproducible from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// True with probability `permille` / 1000.
    fn chance(&mut self, permille: u64) -> bool {
        self.next() % 1000 < permille
    }
}

#[derive(Clone, Copy, Debug)]
struct Channel {
    drop: u64,
    dup: u64,
    corrupt: u64,
    clcw_drop: u64,
    no_buffer: u64,
}

#[derive(Debug)]
struct Outcome {
    delivered: Vec<u32>,
    acknowledged: Vec<u32>,
    alerted: bool,
    finished: bool,
}

const UPLINK_DELAY_MS: u64 = 3;
const DOWNLINK_PERIOD_MS: u64 = 10;
const DOWNLINK_DELAY_MS: u64 = 4;

/// Runs FOP-1 (ground) against FARM-1 (unit) until `n` frames are acknowledged, FOP-1
/// alerts, or 200 simulated seconds pass.
fn simulate(seed: u64, ch: Channel, n: u32) -> Outcome {
    let mut rng = Rng(seed | 1);
    let mut fop = BenchFop::<u32>::new(0);
    fop.set_t1_ms(100).unwrap();
    fop.set_transmission_limit(20).unwrap();
    let mut farm = Farm::new(0);
    // Frames in flight: (arrival time, what the unit sees, the frame handle for AD).
    let mut uplink: VecDeque<(u64, FrameInput, u32)> = VecDeque::new();
    let mut downlink: VecDeque<(u64, Clcw)> = VecDeque::new();
    let mut out =
        Outcome { delivered: vec![], acknowledged: vec![], alerted: false, finished: false };
    let mut actions = Vec::new();
    let mut next = 0u32;
    let mut buffer_busy_until = 0u64;

    fop.initiate_with_set_vr(0, 0, |a| actions.push(a)).unwrap();
    for now in 0..200_000u64 {
        fop.tick(now, |a| actions.push(a));
        if next < n
            && matches!(fop.state(), State::Active | State::RetransmitWithoutWait)
            && fop.transmit_ad(next, now, |a| actions.push(a)).is_ok()
        {
            next += 1;
        }
        // Uplink arrivals.
        while uplink.front().is_some_and(|&(t, _, _)| t <= now) {
            let (_, input, handle) = uplink.pop_front().unwrap();
            if now >= buffer_busy_until && buffer_busy_until != 0 {
                farm.buffer_released();
                buffer_busy_until = 0;
            }
            let available = buffer_busy_until == 0 && !rng.chance(ch.no_buffer);
            if !available && buffer_busy_until == 0 && matches!(input, FrameInput::Ad { .. }) {
                buffer_busy_until = now + 1 + rng.next() % 50;
            }
            if farm.frame(input, available) == Decision::AcceptData {
                out.delivered.push(handle);
            }
        }
        if buffer_busy_until != 0 && now >= buffer_busy_until {
            farm.buffer_released();
            buffer_busy_until = 0;
        }
        // Downlink: a frame (and CLCW) every period.
        if now % DOWNLINK_PERIOD_MS == 0 && !rng.chance(ch.clcw_drop) {
            downlink.push_back((now + DOWNLINK_DELAY_MS, farm.clcw()));
        }
        while downlink.front().is_some_and(|&(t, _)| t <= now) {
            let (_, clcw) = downlink.pop_front().unwrap();
            fop.clcw(&clcw, now, |a| actions.push(a));
        }
        // Carry out FOP-1's actions over the lossy uplink.
        for a in actions.drain(..) {
            let (input, handle) = match a {
                Action::TransmitAd { n_s, frame } | Action::RetransmitAd { n_s, frame } => {
                    (FrameInput::Ad { n_s }, frame)
                }
                Action::TransmitUnlock => (FrameInput::Unlock, u32::MAX),
                Action::TransmitSetVr { v_r } => (FrameInput::SetVr(v_r), u32::MAX),
                Action::Acknowledged { frame, .. } => {
                    out.acknowledged.push(frame);
                    continue;
                }
                Action::Alert(_) => {
                    out.alerted = true;
                    continue;
                }
                _ => continue,
            };
            // A corrupted frame fails its FECF (or BCH) and never reaches FARM-1: a drop.
            if rng.chance(ch.drop) || rng.chance(ch.corrupt) {
                continue;
            }
            uplink.push_back((now + UPLINK_DELAY_MS, input, handle));
            if rng.chance(ch.dup) {
                uplink.push_back((now + UPLINK_DELAY_MS, input, handle));
            }
        }
        if out.alerted {
            break;
        }
        if out.acknowledged.len() == n as usize {
            out.finished = true;
            break;
        }
    }
    out
}

#[test]
fn perfect_link_delivers_everything() {
    let ch = Channel { drop: 0, dup: 0, corrupt: 0, clcw_drop: 0, no_buffer: 0 };
    let o = simulate(1, ch, 300);
    assert!(o.finished && !o.alerted);
    assert_eq!(o.delivered, (0..300).collect::<Vec<_>>());
}

#[test]
fn lossy_link_still_delivers_everything() {
    let ch = Channel { drop: 150, dup: 100, corrupt: 50, clcw_drop: 200, no_buffer: 20 };
    let o = simulate(42, ch, 200);
    assert!(o.finished, "{o:?}");
    assert_eq!(o.delivered, (0..200).collect::<Vec<_>>());
}

#[test]
fn dead_uplink_ends_in_an_alert_not_a_stall() {
    let ch = Channel { drop: 1000, dup: 0, corrupt: 0, clcw_drop: 0, no_buffer: 0 };
    let o = simulate(7, ch, 10);
    assert!(o.alerted && !o.finished && o.delivered.is_empty(), "{o:?}");
}

proptest! {
    #[test]
    fn clcw_fields_round_trip(
        status in 0u8..8, cop in 0u8..4, vcid in 0u8..64, flags in 0u8..32,
        farm_b in 0u8..4, n_r in any::<u8>(), word in any::<u32>(),
    ) {
        let c = Clcw {
            control_word_type: false,
            version: 0,
            status,
            cop_in_effect: cop,
            vcid,
            no_rf_avail: flags & 1 != 0,
            no_bit_lock: flags & 2 != 0,
            lockout: flags & 4 != 0,
            wait: flags & 8 != 0,
            retransmit: flags & 16 != 0,
            farm_b_counter: farm_b,
            report_value: n_r,
        };
        prop_assert_eq!(Clcw::from_u32(c.to_u32()), c);
        prop_assert_eq!(Clcw::from_u32(word).to_u32(), word & !tc_tm::cop1::clcw::SPARE_MASK);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn fop_farm_exactly_once_in_order_or_alert(
        seed in any::<u64>(),
        drop in 0u64..400,
        dup in 0u64..300,
        corrupt in 0u64..200,
        clcw_drop in 0u64..500,
        no_buffer in 0u64..100,
        n in 1u32..120,
    ) {
        let ch = Channel { drop, dup, corrupt, clcw_drop, no_buffer };
        let o = simulate(seed, ch, n);
        // Exactly once, in order: what FARM-1 accepted is 0, 1, 2, ... without repeats.
        let expect: Vec<u32> = (0..o.delivered.len() as u32).collect();
        prop_assert_eq!(&o.delivered, &expect);
        // FOP-1 only acknowledges what was delivered, in order.
        prop_assert!(o.acknowledged.len() <= o.delivered.len());
        prop_assert_eq!(&o.acknowledged[..], &o.delivered[..o.acknowledged.len()]);
        // Either everything arrived, or FOP-1 said it failed: never a silent stall.
        prop_assert!(o.finished || o.alerted, "stalled: {:?}", o);
        if o.finished {
            prop_assert_eq!(o.delivered.len(), n as usize);
        }
    }
}
