//! FARM-1, the frame acceptance and reporting mechanism of the unit (CCSDS 232.1-B-2 §6).
//!
//! The machine is decoupled from the TC frame codec: the caller parses a frame (FECF checked)
//! and hands over a [`FrameInput`] plus whether a buffer is free for an AD frame's data; FARM-1
//! answers with a [`Decision`]. The CLCW for the next downlink frame comes from
//! [`Farm::clcw`].
//!
//! Window (W = [`mission::FARM_WINDOW`] = 30, §6.1.8): positive window width PW = W/2 and
//! negative window width NW = W/2, all modulo 256:
//! - N(S) = V(R): accept (or Wait if no buffer);
//! - V(R) < N(S) ≤ V(R) + PW − 1: positive window, discard and ask for retransmission;
//! - V(R) − NW ≤ N(S) < V(R): negative window, discard (a duplicate);
//! - anything else: lockout.
//!
//! States (§6.2): S1 Open, S2 Wait, S3 Lockout. The state table of §6.3 (events E1–E10) is
//! implemented in [`Farm::frame`] and [`Farm::buffer_released`]; in S2 an AD frame with
//! N(S) = V(R) is discarded until the unit calls [`Farm::buffer_released`] (E10).

use core::fmt;

use crate::cop1::clcw::{COP_1, Clcw};
use crate::mission;

/// FARM-1 state (CCSDS 232.1-B-2 §6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// S1: accepting AD frames.
    Open,
    /// S2: no buffer for AD data; retransmission requested.
    Wait,
    /// S3: a frame fell outside both windows; only BC Unlock leaves this state.
    Lockout,
}

/// What the TC frame layer hands to FARM-1 for a frame of this virtual channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrameInput {
    /// Type-AD frame (sequence-controlled data) with its sequence number N(S).
    Ad {
        /// Frame sequence number.
        n_s: u8,
    },
    /// Type-BD frame (expedited data).
    Bd,
    /// Type-BC frame carrying the Unlock directive.
    Unlock,
    /// Type-BC frame carrying Set V(R) to the given value.
    SetVr(u8),
    /// Type-BC frame whose control command is not recognised.
    InvalidBc,
}

/// Why FARM-1 discarded a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DiscardReason {
    /// N(S) = V(R) but no buffer is free (entered or stayed in Wait).
    Wait,
    /// N(S) in the positive window: a frame is missing before it; retransmit flag set.
    PositiveWindow,
    /// N(S) in the negative window: already accepted (a duplicate).
    NegativeWindow,
    /// N(S) outside both windows: lockout entered.
    EnteredLockout,
    /// In lockout, every AD frame is discarded.
    Lockout,
    /// A BC frame with an unrecognised control command.
    InvalidBc,
}

impl fmt::Display for DiscardReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DiscardReason::Wait => "no buffer (wait)",
            DiscardReason::PositiveWindow => "N(S) in positive window (frame missing)",
            DiscardReason::NegativeWindow => "N(S) in negative window (duplicate)",
            DiscardReason::EnteredLockout => "N(S) outside the window: lockout",
            DiscardReason::Lockout => "in lockout",
            DiscardReason::InvalidBc => "invalid BC control command",
        })
    }
}

/// FARM-1's answer to a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Pass the frame's data field up (AD or BD).
    AcceptData,
    /// The control command was executed (Unlock or Set V(R)).
    AcceptControl,
    /// Drop the frame.
    Discard(DiscardReason),
}

/// FARM-1 state machine for one virtual channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Farm {
    state: State,
    v_r: u8,
    retransmit: bool,
    farm_b_counter: u8,
    vcid: u8,
    window: u8,
}

impl Farm {
    /// FARM-1 for `vcid` in S1 Open with V(R) = 0 and W = [`mission::FARM_WINDOW`].
    pub const fn new(vcid: u8) -> Self {
        Self::with_window(vcid, mission::FARM_WINDOW)
    }

    /// FARM-1 with another window width W (even, 2..=254; other values are clamped to that).
    pub const fn with_window(vcid: u8, window: u8) -> Self {
        let w = if window < 2 {
            2
        } else if window > 254 {
            254
        } else {
            window & !1
        };
        Farm { state: State::Open, v_r: 0, retransmit: false, farm_b_counter: 0, vcid, window: w }
    }

    /// Current state.
    pub const fn state(&self) -> State {
        self.state
    }

    /// Receiver frame sequence number V(R): the next N(S) expected.
    pub const fn v_r(&self) -> u8 {
        self.v_r
    }

    /// The CLCW reporting this FARM-1's state.
    pub const fn clcw(&self) -> Clcw {
        Clcw {
            control_word_type: false,
            version: 0,
            status: 0,
            cop_in_effect: COP_1,
            vcid: self.vcid & 0x3F,
            no_rf_avail: false,
            no_bit_lock: false,
            lockout: matches!(self.state, State::Lockout),
            wait: matches!(self.state, State::Wait),
            retransmit: self.retransmit,
            farm_b_counter: self.farm_b_counter & 0b11,
            report_value: self.v_r,
        }
    }

    /// Processes one valid frame (E1–E9 of §6.3). `buffer_available` tells whether the unit
    /// can take an AD frame's data now.
    ///
    /// # Panics
    /// Never.
    pub fn frame(&mut self, input: FrameInput, buffer_available: bool) -> Decision {
        match input {
            FrameInput::Ad { n_s } => self.ad(n_s, buffer_available),
            FrameInput::Bd => {
                self.count_b();
                Decision::AcceptData
            }
            FrameInput::Unlock => {
                self.count_b();
                self.retransmit = false;
                self.state = State::Open;
                Decision::AcceptControl
            }
            FrameInput::SetVr(v) => {
                self.count_b();
                if self.state != State::Lockout {
                    self.retransmit = false;
                    self.v_r = v;
                    self.state = State::Open;
                }
                Decision::AcceptControl
            }
            FrameInput::InvalidBc => Decision::Discard(DiscardReason::InvalidBc),
        }
    }

    /// E10: the unit has a buffer again; leaves Wait (the wait flag clears in Lockout too).
    pub fn buffer_released(&mut self) {
        if self.state == State::Wait {
            self.state = State::Open;
        }
    }

    fn count_b(&mut self) {
        self.farm_b_counter = self.farm_b_counter.wrapping_add(1) & 0b11;
    }

    fn ad(&mut self, n_s: u8, buffer_available: bool) -> Decision {
        if self.state == State::Lockout {
            return Decision::Discard(DiscardReason::Lockout);
        }
        let pw = self.window / 2;
        let nw = self.window / 2;
        let ahead = n_s.wrapping_sub(self.v_r);
        let behind = self.v_r.wrapping_sub(n_s);
        if ahead == 0 {
            if buffer_available && self.state == State::Open {
                self.v_r = self.v_r.wrapping_add(1);
                self.retransmit = false;
                Decision::AcceptData
            } else {
                self.retransmit = true;
                self.state = State::Wait;
                Decision::Discard(DiscardReason::Wait)
            }
        } else if ahead < pw {
            self.retransmit = true;
            Decision::Discard(DiscardReason::PositiveWindow)
        } else if behind <= nw {
            Decision::Discard(DiscardReason::NegativeWindow)
        } else {
            self.state = State::Lockout;
            Decision::Discard(DiscardReason::EnteredLockout)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_sequence_frames_are_accepted() {
        let mut f = Farm::new(0);
        for n in 0..=255u8 {
            assert_eq!(f.frame(FrameInput::Ad { n_s: n }, true), Decision::AcceptData);
        }
        assert_eq!(f.v_r(), 0);
        assert_eq!(f.clcw().report_value, 0);
    }

    #[test]
    fn positive_window_sets_retransmit_until_next_accept() {
        let mut f = Farm::new(0);
        assert_eq!(
            f.frame(FrameInput::Ad { n_s: 14 }, true),
            Decision::Discard(DiscardReason::PositiveWindow)
        );
        assert!(f.clcw().retransmit);
        assert_eq!(f.frame(FrameInput::Ad { n_s: 0 }, true), Decision::AcceptData);
        assert!(!f.clcw().retransmit);
    }

    #[test]
    fn negative_window_discards_duplicates() {
        let mut f = Farm::new(0);
        f.frame(FrameInput::Ad { n_s: 0 }, true);
        assert_eq!(
            f.frame(FrameInput::Ad { n_s: 0 }, true),
            Decision::Discard(DiscardReason::NegativeWindow)
        );
        // V(R) = 1, NW = 15: N(S) = 1 - 15 = 242 is still in the negative window.
        assert_eq!(
            f.frame(FrameInput::Ad { n_s: 242 }, true),
            Decision::Discard(DiscardReason::NegativeWindow)
        );
        assert_eq!(f.state(), State::Open);
    }

    #[test]
    fn outside_window_locks_out_until_unlock() {
        let mut f = Farm::new(0);
        // V(R) = 0: 15 is beyond PW - 1 = 14, 240 beyond NW = 15.
        for n in [15u8, 240] {
            let mut g = f;
            assert_eq!(
                g.frame(FrameInput::Ad { n_s: n }, true),
                Decision::Discard(DiscardReason::EnteredLockout)
            );
        }
        f.frame(FrameInput::Ad { n_s: 100 }, true);
        assert_eq!(f.state(), State::Lockout);
        assert!(f.clcw().lockout);
        assert_eq!(
            f.frame(FrameInput::Ad { n_s: 0 }, true),
            Decision::Discard(DiscardReason::Lockout)
        );
        // Set V(R) does not leave lockout.
        assert_eq!(f.frame(FrameInput::SetVr(9), true), Decision::AcceptControl);
        assert_eq!((f.state(), f.v_r()), (State::Lockout, 0));
        assert_eq!(f.frame(FrameInput::Unlock, true), Decision::AcceptControl);
        assert_eq!(f.state(), State::Open);
        assert_eq!(f.clcw().farm_b_counter, 2);
    }

    #[test]
    fn wait_until_buffer_released() {
        let mut f = Farm::new(0);
        assert_eq!(
            f.frame(FrameInput::Ad { n_s: 0 }, false),
            Decision::Discard(DiscardReason::Wait)
        );
        assert!(f.clcw().wait && f.clcw().retransmit);
        assert_eq!(
            f.frame(FrameInput::Ad { n_s: 0 }, true),
            Decision::Discard(DiscardReason::Wait)
        );
        f.buffer_released();
        assert_eq!(f.frame(FrameInput::Ad { n_s: 0 }, true), Decision::AcceptData);
        assert!(!f.clcw().wait && !f.clcw().retransmit);
    }

    #[test]
    fn set_vr_and_bd() {
        let mut f = Farm::new(3);
        assert_eq!(f.frame(FrameInput::SetVr(200), true), Decision::AcceptControl);
        assert_eq!(f.v_r(), 200);
        assert_eq!(f.frame(FrameInput::Bd, false), Decision::AcceptData);
        assert_eq!(
            f.frame(FrameInput::InvalidBc, true),
            Decision::Discard(DiscardReason::InvalidBc)
        );
        let c = f.clcw();
        assert_eq!((c.vcid, c.report_value, c.farm_b_counter), (3, 200, 2));
    }
}
