//! FOP-1, the frame operation procedure of the bench (CCSDS 232.1-B-2 §5).
//!
//! [`Fop`] is generic over an opaque frame handle `H` (an index into the caller's store, a
//! sequence number…): the caller keeps the frame bytes, FOP-1 keeps the handles of the frames
//! not yet acknowledged (at most the window K) and tells the caller what to do through
//! [`Action`]s passed to a callback. It is pure and deterministic: time is passed in as
//! `now_ms`, and nothing happens between calls.
//!
//! Modelling choices (documented in `docs/icd/downlink.md`):
//! - The lower layer is taken as always ready: a transmission or a retransmission of the whole
//!   sent queue is emitted at once as actions (no "ready" handshake, no Wait_Queue). A new
//!   frame is accepted in S1 and S2 only, while fewer than K frames are outstanding.
//! - T1 restarts on every transmission and on every acknowledgement that leaves frames
//!   outstanding; it is cancelled when the sent queue empties.
//! - The transmission count is reset to 1 when frames are acknowledged and incremented on each
//!   retransmission (AD or BC); when it has reached the transmission limit, the next timer
//!   expiry alerts (timeout type [`TimeoutType::Alert`]) or suspends
//!   ([`TimeoutType::Suspend`]), and a CLCW asking for retransmission alerts with
//!   [`AlertReason::Limit`].
//! - CLCWs of other virtual channels are ignored; a word that is not a COP-1 CLCW alerts.

use core::fmt;

use heapless::Deque;

use crate::cop1::clcw::Clcw;
use crate::mission;

/// Default T1 initial value, in milliseconds (project choice for the serial link).
pub const DEFAULT_T1_MS: u64 = 2_000;
/// Default transmission limit.
pub const DEFAULT_TRANSMISSION_LIMIT: u8 = 5;

/// FOP-1 state (CCSDS 232.1-B-2 §5.1.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// S1: active.
    Active,
    /// S2: retransmitting, FARM-1 not waiting.
    RetransmitWithoutWait,
    /// S3: retransmission requested but FARM-1 waits for a buffer.
    RetransmitWithWait,
    /// S4: initialising, waiting for a CLCW that confirms V(S).
    InitialisingWithoutBc,
    /// S5: initialising with a BC frame (Unlock or Set V(R)) outstanding.
    InitialisingWithBc,
    /// S6: initial (AD service not active, possibly suspended).
    Initial,
}

/// What happens when T1 expires with the transmission limit reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimeoutType {
    /// Type 0: alert and terminate the AD service.
    Alert,
    /// Type 1: suspend the AD service (resume with [`Fop::resume`]).
    Suspend,
}

/// Why FOP-1 gave up (the alert codes of §5.1.10).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AlertReason {
    /// The transmission limit was reached while the CLCW asked for retransmission.
    Limit,
    /// T1 expired with the transmission limit reached.
    T1,
    /// The CLCW reports lockout.
    Lockout,
    /// The CLCW flags are inconsistent with the frames sent.
    Synch,
    /// The CLCW's N(R) acknowledges frames never sent.
    NnR,
    /// The OCF word is not a COP-1 CLCW.
    Clcw,
    /// The operator terminated the AD service.
    Terminate,
}

impl fmt::Display for AlertReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AlertReason::Limit => "transmission limit reached",
            AlertReason::T1 => "timer T1 expired at the transmission limit",
            AlertReason::Lockout => "FARM-1 in lockout",
            AlertReason::Synch => "CLCW inconsistent with FOP-1 state",
            AlertReason::NnR => "CLCW N(R) outside the sent window",
            AlertReason::Clcw => "not a COP-1 CLCW",
            AlertReason::Terminate => "AD service terminated",
        })
    }
}

/// What FOP-1 asks its caller to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action<H> {
    /// Send this AD frame for the first time, with sequence number `n_s`.
    TransmitAd {
        /// Frame sequence number to put in the frame.
        n_s: u8,
        /// The caller's handle.
        frame: H,
    },
    /// Send this AD frame again.
    RetransmitAd {
        /// Its sequence number.
        n_s: u8,
        /// The caller's handle.
        frame: H,
    },
    /// Send a BC frame with the Unlock directive.
    TransmitUnlock,
    /// Send a BC frame with Set V(R).
    TransmitSetVr {
        /// The value.
        v_r: u8,
    },
    /// FARM-1 accepted this frame; the caller may release it.
    Acknowledged {
        /// Its sequence number.
        n_s: u8,
        /// The caller's handle.
        frame: H,
    },
    /// The frame was removed from the sent queue unacknowledged (alert or re-initialisation);
    /// it may or may not have been accepted.
    Purged {
        /// Its sequence number.
        n_s: u8,
        /// The caller's handle.
        frame: H,
    },
    /// The AD service is active (an initiate directive completed).
    Initialised,
    /// The AD service was suspended (timeout type 1); the sent queue is kept.
    Suspended,
    /// The AD service stopped; the state is now S6 Initial.
    Alert(AlertReason),
}

/// Why FOP-1 refused a request or directive.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// The request is not allowed in this state.
    NotAllowed(State),
    /// K frames are already outstanding.
    WindowFull,
    /// A parameter is out of range.
    BadParameter {
        /// Which parameter.
        name: &'static str,
        /// The value given.
        value: u64,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::NotAllowed(s) => write!(f, "not allowed in FOP-1 state {s:?}"),
            Error::WindowFull => f.write_str("FOP-1 window full"),
            Error::BadParameter { name, value } => {
                write!(f, "FOP-1 parameter {name} out of range: {value}")
            }
        }
    }
}

impl core::error::Error for Error {}

/// FOP-1 for one virtual channel, holding up to `Q` outstanding frame handles.
#[derive(Clone, Debug)]
pub struct Fop<H: Copy, const Q: usize> {
    state: State,
    suspend_state: Option<State>,
    vcid: u8,
    v_s: u8,
    nn_r: u8,
    sent: Deque<(u8, H), Q>,
    tx_count: u8,
    tx_limit: u8,
    timeout_type: TimeoutType,
    t1_ms: u64,
    deadline_ms: Option<u64>,
    window: u8,
    bc: Option<Action<H>>,
}

/// FOP-1 with the bench's window K = [`mission::FOP_WINDOW`].
pub type BenchFop<H> = Fop<H, { mission::FOP_WINDOW as usize }>;

impl<H: Copy, const Q: usize> Fop<H, Q> {
    /// FOP-1 in S6 Initial, V(S) = 0, K = min(Q, 255), T1 = [`DEFAULT_T1_MS`], limit
    /// [`DEFAULT_TRANSMISSION_LIMIT`], timeout type [`TimeoutType::Alert`].
    pub const fn new(vcid: u8) -> Self {
        const { assert!(Q >= 1, "FOP-1 needs room for one frame") };
        Fop {
            state: State::Initial,
            suspend_state: None,
            vcid,
            v_s: 0,
            nn_r: 0,
            sent: Deque::new(),
            tx_count: 0,
            tx_limit: DEFAULT_TRANSMISSION_LIMIT,
            timeout_type: TimeoutType::Alert,
            t1_ms: DEFAULT_T1_MS,
            deadline_ms: None,
            window: if Q > 255 { 255 } else { Q as u8 },
            bc: None,
        }
    }

    /// Current state.
    pub const fn state(&self) -> State {
        self.state
    }

    /// State the AD service was suspended in, if it is suspended.
    pub const fn suspend_state(&self) -> Option<State> {
        self.suspend_state
    }

    /// Transmitter frame sequence number V(S): N(S) of the next new frame.
    pub const fn v_s(&self) -> u8 {
        self.v_s
    }

    /// Expected acknowledgement NN(R): N(S) of the oldest unacknowledged frame.
    pub const fn nn_r(&self) -> u8 {
        self.nn_r
    }

    /// Frames sent and not yet acknowledged.
    pub fn outstanding(&self) -> usize {
        self.sent.len()
    }

    /// When T1 expires, if running.
    pub const fn deadline_ms(&self) -> Option<u64> {
        self.deadline_ms
    }

    /// Sets T1 (at least 1 ms).
    ///
    /// # Errors
    /// [`Error::BadParameter`] for 0.
    pub fn set_t1_ms(&mut self, t1_ms: u64) -> Result<(), Error> {
        if t1_ms == 0 {
            return Err(Error::BadParameter { name: "t1_ms", value: 0 });
        }
        self.t1_ms = t1_ms;
        Ok(())
    }

    /// Sets the transmission limit (at least 1).
    ///
    /// # Errors
    /// [`Error::BadParameter`] for 0.
    pub fn set_transmission_limit(&mut self, limit: u8) -> Result<(), Error> {
        if limit == 0 {
            return Err(Error::BadParameter { name: "transmission_limit", value: 0 });
        }
        self.tx_limit = limit;
        Ok(())
    }

    /// Sets the timeout type.
    pub fn set_timeout_type(&mut self, t: TimeoutType) {
        self.timeout_type = t;
    }

    /// Sets the sliding window K (1..=Q, and below half the sequence space).
    ///
    /// # Errors
    /// [`Error::BadParameter`] out of range.
    pub fn set_window(&mut self, k: u8) -> Result<(), Error> {
        if k == 0 || usize::from(k) > Q || k > 127 {
            return Err(Error::BadParameter { name: "window", value: u64::from(k) });
        }
        self.window = k;
        Ok(())
    }

    /// Directive "Initiate AD service without CLCW check": S6 → S1.
    ///
    /// # Errors
    /// [`Error::NotAllowed`] outside S6.
    pub fn initiate_without_clcw_check<F: FnMut(Action<H>)>(
        &mut self,
        mut out: F,
    ) -> Result<(), Error> {
        self.require_initial()?;
        self.purge(&mut out);
        self.state = State::Active;
        out(Action::Initialised);
        Ok(())
    }

    /// Directive "Initiate AD service with CLCW check": S6 → S4, then S1 when a CLCW with
    /// N(R) = V(S) and no flags arrives before T1 expires.
    ///
    /// # Errors
    /// [`Error::NotAllowed`] outside S6.
    pub fn initiate_with_clcw_check<F: FnMut(Action<H>)>(
        &mut self,
        now_ms: u64,
        mut out: F,
    ) -> Result<(), Error> {
        self.require_initial()?;
        self.purge(&mut out);
        self.state = State::InitialisingWithoutBc;
        self.tx_count = 1;
        self.start_timer(now_ms);
        Ok(())
    }

    /// Directive "Initiate AD service with Unlock": sends BC Unlock, S6 → S5.
    ///
    /// # Errors
    /// [`Error::NotAllowed`] outside S6.
    pub fn initiate_with_unlock<F: FnMut(Action<H>)>(
        &mut self,
        now_ms: u64,
        mut out: F,
    ) -> Result<(), Error> {
        self.require_initial()?;
        self.purge(&mut out);
        self.start_bc(Action::TransmitUnlock, now_ms, &mut out);
        Ok(())
    }

    /// Directive "Initiate AD service with Set V(R)": V(S) = NN(R) = `v_r`, sends BC Set V(R),
    /// S6 → S5.
    ///
    /// # Errors
    /// [`Error::NotAllowed`] outside S6.
    pub fn initiate_with_set_vr<F: FnMut(Action<H>)>(
        &mut self,
        v_r: u8,
        now_ms: u64,
        mut out: F,
    ) -> Result<(), Error> {
        self.require_initial()?;
        self.purge(&mut out);
        self.v_s = v_r;
        self.nn_r = v_r;
        self.start_bc(Action::TransmitSetVr { v_r }, now_ms, &mut out);
        Ok(())
    }

    /// Directive "Terminate AD service": alert, purge, S6 (allowed in every state).
    pub fn terminate<F: FnMut(Action<H>)>(&mut self, mut out: F) {
        self.alert(AlertReason::Terminate, &mut out);
    }

    /// Directive "Resume AD service": back to the state the service was suspended in, T1
    /// restarted.
    ///
    /// # Errors
    /// [`Error::NotAllowed`] unless suspended.
    pub fn resume(&mut self, now_ms: u64) -> Result<(), Error> {
        match self.suspend_state.take() {
            Some(s) if self.state == State::Initial => {
                self.state = s;
                self.start_timer(now_ms);
                Ok(())
            }
            other => {
                self.suspend_state = other;
                Err(Error::NotAllowed(self.state))
            }
        }
    }

    /// Directive "Set V(S)": V(S) = NN(R) = `v_s`, in S6 and not suspended.
    ///
    /// # Errors
    /// [`Error::NotAllowed`] otherwise.
    pub fn set_v_s(&mut self, v_s: u8) -> Result<(), Error> {
        if self.state != State::Initial || self.suspend_state.is_some() {
            return Err(Error::NotAllowed(self.state));
        }
        self.v_s = v_s;
        self.nn_r = v_s;
        Ok(())
    }

    /// Request to transmit a new AD frame; returns its N(S) (the caller writes it in the frame
    /// when it gets [`Action::TransmitAd`]).
    ///
    /// # Errors
    /// [`Error::NotAllowed`] outside S1/S2, [`Error::WindowFull`] with K frames outstanding.
    pub fn transmit_ad<F: FnMut(Action<H>)>(
        &mut self,
        frame: H,
        now_ms: u64,
        mut out: F,
    ) -> Result<u8, Error> {
        if !matches!(self.state, State::Active | State::RetransmitWithoutWait) {
            return Err(Error::NotAllowed(self.state));
        }
        if self.sent.len() >= usize::from(self.window) {
            return Err(Error::WindowFull);
        }
        let n_s = self.v_s;
        if self.sent.push_back((n_s, frame)).is_err() {
            return Err(Error::WindowFull);
        }
        if self.sent.len() == 1 {
            self.tx_count = 1;
        }
        self.v_s = self.v_s.wrapping_add(1);
        out(Action::TransmitAd { n_s, frame });
        self.start_timer(now_ms);
        Ok(n_s)
    }

    /// Processes a CLCW from the downlink (§5.2, CLCW events).
    ///
    /// # Panics
    /// Never.
    pub fn clcw<F: FnMut(Action<H>)>(&mut self, clcw: &Clcw, now_ms: u64, mut out: F) {
        if self.state == State::Initial {
            return;
        }
        if !clcw.is_cop1_clcw() {
            self.alert(AlertReason::Clcw, &mut out);
            return;
        }
        if clcw.vcid != self.vcid {
            return;
        }
        let n_r = clcw.report_value;
        let flags_clear = !clcw.lockout && !clcw.retransmit && !clcw.wait;
        match self.state {
            State::Initial => return,
            State::InitialisingWithoutBc | State::InitialisingWithBc => {
                if flags_clear && n_r == self.v_s {
                    self.cancel_timer();
                    self.bc = None;
                    self.state = State::Active;
                    out(Action::Initialised);
                } else if clcw.lockout && self.state == State::InitialisingWithoutBc {
                    self.alert(AlertReason::Lockout, &mut out);
                }
                return;
            }
            _ => {}
        }
        if clcw.lockout {
            self.alert(AlertReason::Lockout, &mut out);
            return;
        }
        let outstanding = self.v_s.wrapping_sub(self.nn_r);
        let acked = n_r.wrapping_sub(self.nn_r);
        if acked > outstanding {
            self.alert(AlertReason::NnR, &mut out);
            return;
        }
        if acked > 0 {
            for _ in 0..acked {
                if let Some((n_s, frame)) = self.sent.pop_front() {
                    out(Action::Acknowledged { n_s, frame });
                }
            }
            self.nn_r = n_r;
            self.tx_count = 1;
            if self.sent.is_empty() {
                self.cancel_timer();
            } else {
                self.start_timer(now_ms);
            }
        }
        match (clcw.retransmit, clcw.wait) {
            (false, false) => self.state = State::Active,
            (false, true) => self.alert(AlertReason::Synch, &mut out),
            (true, _) if n_r == self.v_s => self.alert(AlertReason::Synch, &mut out),
            (true, true) => self.state = State::RetransmitWithWait,
            (true, false) => {
                if self.tx_count >= self.tx_limit {
                    self.alert(AlertReason::Limit, &mut out);
                } else if acked > 0 || self.state != State::RetransmitWithoutWait {
                    self.retransmit_all(now_ms, &mut out);
                }
            }
        }
    }

    /// Advances time: handles a T1 expiry at `now_ms`.
    ///
    /// # Panics
    /// Never.
    pub fn tick<F: FnMut(Action<H>)>(&mut self, now_ms: u64, mut out: F) {
        match self.deadline_ms {
            Some(d) if now_ms >= d => {}
            _ => return,
        }
        if self.tx_count >= self.tx_limit {
            match self.timeout_type {
                TimeoutType::Alert => self.alert(AlertReason::T1, &mut out),
                TimeoutType::Suspend => {
                    self.suspend_state = Some(self.state);
                    self.state = State::Initial;
                    self.cancel_timer();
                    out(Action::Suspended);
                }
            }
            return;
        }
        match self.state {
            State::Active | State::RetransmitWithoutWait => self.retransmit_all(now_ms, &mut out),
            State::InitialisingWithBc => {
                self.tx_count = self.tx_count.saturating_add(1);
                if let Some(bc) = self.bc {
                    out(bc);
                }
                self.start_timer(now_ms);
            }
            State::RetransmitWithWait | State::InitialisingWithoutBc => {
                self.tx_count = self.tx_count.saturating_add(1);
                self.start_timer(now_ms);
            }
            State::Initial => self.cancel_timer(),
        }
    }

    fn retransmit_all<F: FnMut(Action<H>)>(&mut self, now_ms: u64, out: &mut F) {
        self.tx_count = self.tx_count.saturating_add(1);
        for &(n_s, frame) in self.sent.iter() {
            out(Action::RetransmitAd { n_s, frame });
        }
        self.state = State::RetransmitWithoutWait;
        if self.sent.is_empty() {
            self.cancel_timer();
        } else {
            self.start_timer(now_ms);
        }
    }

    fn start_bc<F: FnMut(Action<H>)>(&mut self, bc: Action<H>, now_ms: u64, out: &mut F) {
        self.bc = Some(bc);
        self.state = State::InitialisingWithBc;
        self.tx_count = 1;
        out(bc);
        self.start_timer(now_ms);
    }

    fn require_initial(&self) -> Result<(), Error> {
        if self.state == State::Initial { Ok(()) } else { Err(Error::NotAllowed(self.state)) }
    }

    fn purge<F: FnMut(Action<H>)>(&mut self, out: &mut F) {
        while let Some((n_s, frame)) = self.sent.pop_front() {
            out(Action::Purged { n_s, frame });
        }
        self.nn_r = self.v_s;
        self.suspend_state = None;
    }

    fn alert<F: FnMut(Action<H>)>(&mut self, reason: AlertReason, out: &mut F) {
        self.purge(out);
        self.cancel_timer();
        self.bc = None;
        self.state = State::Initial;
        out(Action::Alert(reason));
    }

    fn start_timer(&mut self, now_ms: u64) {
        self.deadline_ms = Some(now_ms.saturating_add(self.t1_ms));
    }

    fn cancel_timer(&mut self) {
        self.deadline_ms = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cop1::farm::{Farm, FrameInput};
    use std::vec::Vec;

    fn collect<H: Copy>(v: &mut Vec<Action<H>>) -> impl FnMut(Action<H>) + '_ {
        move |a| v.push(a)
    }

    #[test]
    fn send_and_acknowledge() {
        let mut fop = BenchFop::<u32>::new(0);
        let mut farm = Farm::new(0);
        let mut acts = Vec::new();
        fop.initiate_without_clcw_check(collect(&mut acts)).unwrap();
        for i in 0..3 {
            assert_eq!(fop.transmit_ad(100 + i, 0, collect(&mut acts)).unwrap(), i as u8);
            farm.frame(FrameInput::Ad { n_s: i as u8 }, true);
        }
        acts.clear();
        fop.clcw(&farm.clcw(), 10, collect(&mut acts));
        assert_eq!(
            acts,
            std::vec![
                Action::Acknowledged { n_s: 0, frame: 100 },
                Action::Acknowledged { n_s: 1, frame: 101 },
                Action::Acknowledged { n_s: 2, frame: 102 },
            ]
        );
        assert_eq!(fop.deadline_ms(), None);
    }

    #[test]
    fn window_full() {
        let mut fop = BenchFop::<u8>::new(0);
        fop.initiate_without_clcw_check(|_| {}).unwrap();
        for i in 0..15 {
            fop.transmit_ad(i, 0, |_| {}).unwrap();
        }
        assert_eq!(fop.transmit_ad(15, 0, |_| {}), Err(Error::WindowFull));
    }

    #[test]
    fn lost_frame_is_retransmitted_on_clcw() {
        let mut fop = BenchFop::<u8>::new(0);
        let mut farm = Farm::new(0);
        fop.initiate_without_clcw_check(|_| {}).unwrap();
        fop.transmit_ad(0, 0, |_| {}).unwrap();
        fop.transmit_ad(1, 0, |_| {}).unwrap();
        farm.frame(FrameInput::Ad { n_s: 1 }, true); // frame 0 lost
        let mut acts = Vec::new();
        fop.clcw(&farm.clcw(), 5, collect(&mut acts));
        assert_eq!(
            acts,
            std::vec![
                Action::RetransmitAd { n_s: 0, frame: 0 },
                Action::RetransmitAd { n_s: 1, frame: 1 }
            ]
        );
        assert_eq!(fop.state(), State::RetransmitWithoutWait);
        // The same CLCW again does not trigger another burst.
        acts.clear();
        fop.clcw(&farm.clcw(), 6, collect(&mut acts));
        assert!(acts.is_empty());
    }

    #[test]
    fn timer_expiry_retransmits_then_alerts_at_limit() {
        let mut fop = BenchFop::<u8>::new(0);
        fop.set_transmission_limit(2).unwrap();
        fop.set_t1_ms(100).unwrap();
        fop.initiate_without_clcw_check(|_| {}).unwrap();
        fop.transmit_ad(7, 0, |_| {}).unwrap();
        let mut acts = Vec::new();
        fop.tick(99, collect(&mut acts));
        assert!(acts.is_empty());
        fop.tick(100, collect(&mut acts));
        assert_eq!(acts, std::vec![Action::RetransmitAd { n_s: 0, frame: 7 }]);
        acts.clear();
        fop.tick(200, collect(&mut acts));
        assert_eq!(
            acts,
            std::vec![Action::Purged { n_s: 0, frame: 7 }, Action::Alert(AlertReason::T1)]
        );
        assert_eq!(fop.state(), State::Initial);
    }

    #[test]
    fn suspend_and_resume() {
        let mut fop = BenchFop::<u8>::new(0);
        fop.set_transmission_limit(1).unwrap();
        fop.set_timeout_type(TimeoutType::Suspend);
        fop.initiate_without_clcw_check(|_| {}).unwrap();
        fop.transmit_ad(1, 0, |_| {}).unwrap();
        let mut acts = Vec::new();
        fop.tick(DEFAULT_T1_MS, collect(&mut acts));
        assert_eq!(acts, std::vec![Action::Suspended]);
        assert_eq!(fop.suspend_state(), Some(State::Active));
        assert_eq!(fop.outstanding(), 1);
        fop.resume(5000).unwrap();
        assert_eq!(fop.state(), State::Active);
        assert_eq!(fop.deadline_ms(), Some(5000 + DEFAULT_T1_MS));
    }

    #[test]
    fn lockout_alerts_and_unlock_recovers() {
        let mut fop = BenchFop::<u8>::new(0);
        let mut farm = Farm::new(0);
        farm.frame(FrameInput::Ad { n_s: 100 }, true);
        fop.initiate_without_clcw_check(|_| {}).unwrap();
        let mut acts = Vec::new();
        fop.clcw(&farm.clcw(), 0, collect(&mut acts));
        assert_eq!(acts, std::vec![Action::Alert(AlertReason::Lockout)]);
        acts.clear();
        fop.initiate_with_unlock(0, collect(&mut acts)).unwrap();
        assert_eq!(acts, std::vec![Action::TransmitUnlock]);
        // A stale CLCW still showing lockout is ignored while the Unlock is outstanding.
        fop.clcw(&farm.clcw(), 1, |_| {});
        assert_eq!(fop.state(), State::InitialisingWithBc);
        farm.frame(FrameInput::Unlock, true);
        acts.clear();
        fop.clcw(&farm.clcw(), 2, collect(&mut acts));
        assert_eq!(acts, std::vec![Action::Initialised]);
    }

    #[test]
    fn set_vr_initialisation() {
        let mut fop = BenchFop::<u8>::new(0);
        let mut farm = Farm::new(0);
        let mut acts = Vec::new();
        fop.initiate_with_set_vr(42, 0, collect(&mut acts)).unwrap();
        assert_eq!(acts, std::vec![Action::TransmitSetVr { v_r: 42 }]);
        fop.clcw(&farm.clcw(), 1, |_| {});
        assert_eq!(fop.state(), State::InitialisingWithBc);
        farm.frame(FrameInput::SetVr(42), true);
        fop.clcw(&farm.clcw(), 2, |_| {});
        assert_eq!(fop.state(), State::Active);
        assert_eq!(fop.transmit_ad(0, 3, |_| {}), Ok(42));
    }

    #[test]
    fn bad_n_r_and_bad_clcw_alert() {
        let mut fop = BenchFop::<u8>::new(0);
        fop.initiate_without_clcw_check(|_| {}).unwrap();
        fop.transmit_ad(0, 0, |_| {}).unwrap();
        let mut c = Farm::new(0).clcw();
        c.report_value = 5;
        let mut acts = Vec::new();
        fop.clcw(&c, 0, collect(&mut acts));
        assert_eq!(acts.last(), Some(&Action::Alert(AlertReason::NnR)));
        fop.initiate_without_clcw_check(|_| {}).unwrap();
        acts.clear();
        fop.clcw(&Clcw::from_u32(0x8000_0000), 0, collect(&mut acts));
        assert_eq!(acts, std::vec![Action::Alert(AlertReason::Clcw)]);
    }

    #[test]
    fn directives_in_wrong_state_are_refused() {
        let mut fop = BenchFop::<u8>::new(0);
        assert_eq!(fop.transmit_ad(0, 0, |_| {}), Err(Error::NotAllowed(State::Initial)));
        fop.initiate_without_clcw_check(|_| {}).unwrap();
        assert_eq!(fop.set_v_s(3), Err(Error::NotAllowed(State::Active)));
        assert_eq!(fop.resume(0), Err(Error::NotAllowed(State::Active)));
        assert!(fop.initiate_with_unlock(0, |_| {}).is_err());
    }
}
