//! `replay --on DEVICE`: the stimulus frames over the unit's stimulus link, with the ack/window
//! flow control of `docs/icd/stimulus.md`, and the ST\[201,1\] alerts from its TM link.
//!
//! 1. Connect the TC/TM session (DEVICE `twin` starts the embedded twin, DEVICE `qemu` the
//!    firmware under QEMU, whose stimulus device is then known; any other DEVICE needs
//!    `--stimulus`).
//! 2. With `--tables DIR`, push the tables (the `tables push` workflow: diff, maintenance,
//!    load/validate/activate what differs, verified).
//! 3. Bring the unit to `observation` (ST\[08\] mode changes: safe → standby → observation).
//! 4. A sender thread streams the frames, keeping at most [`stimulus::WINDOW`] packets
//!    unacknowledged (it waits: nothing is dropped), while this thread pumps the session and
//!    collects every 201,1 alert.
//! 5. The last frame is a flush; its acknowledgement ends the stream; alerts are collected
//!    until the TM link has been quiet of alerts for [`QUIET`].
//!
//! A frame lost on a real line is never acknowledged: the sender then stops after
//! [`ACK_TIMEOUT`] and reports the last acknowledgement's counters (malformed frames, sequence
//! gaps), rather than guessing.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tc_tm::service::function::Mode;
use tc_tm::service::text::parse_request;
use tc_tm::service::{MAX_TC_APP_DATA_LEN, Report};
use tc_tm::stimulus::{self, Ack, Body, Deframer, Repr};

use super::encode::Encoder;
use super::{AlertRecord, ReplayError, items};
use crate::cmd::link_args::LinkArgs;
use crate::events::Input;
use crate::link::{LinkError, SerialLink, Timeouts};
use crate::session::Session;

/// How long the sender waits for an acknowledgement to advance before giving up.
pub const ACK_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the TM link must stay free of alerts after the stream's end.
pub const QUIET: Duration = Duration::from_millis(1500);

/// What a replay on a unit did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RemoteOutcome {
    /// The alerts received, in order.
    pub alerts: Vec<AlertRecord>,
    /// Events sent.
    pub events: u64,
    /// Packets sent.
    pub packets: u64,
    /// Octets sent on the stimulus link.
    pub octets: u64,
    /// The last acknowledgement (cumulative counters of the unit's stimulus intake).
    pub last_ack: Option<Ack>,
    /// Seconds spent streaming (first frame to the flush's acknowledgement).
    pub stream_s: f64,
}

/// The stimulus side: a device, the window, the acknowledgements.
struct Sender {
    link: SerialLink,
    deframer: Deframer,
    sent: u64,
    acked: u64,
    last_ack: Option<Ack>,
    octets: u64,
    buf: Vec<u8>,
}

impl Sender {
    fn outstanding(&self) -> u64 {
        self.sent - self.acked
    }

    fn absorb(&mut self, ack: Ack) {
        // The ack names the last packet consumed; packets are numbered from 0 by this replay.
        let acked_seq = (self.acked.wrapping_sub(1) & 0x3FFF) as u16;
        let delta = u64::from(ack.last_seq.wrapping_sub(acked_seq) & 0x3FFF);
        if self.acked == 0 && self.sent > 0 {
            // First ack of the replay: count from the first packet sent (seq 0).
            let d = u64::from(ack.last_seq) + 1;
            if d <= self.sent {
                self.acked = d;
            }
        } else if delta <= self.outstanding() {
            self.acked += delta;
        }
        self.last_ack = Some(ack);
    }

    /// Reads acknowledgements until `deadline`.
    fn read_acks(&mut self, deadline: Instant) -> Result<(), ReplayError> {
        let n = match self.link.read_deadline(&mut self.buf, deadline) {
            Ok(n) => n,
            Err(LinkError::NoAnswer { .. }) => return Ok(()),
            Err(e) => return Err(ReplayError::Link(e.to_string())),
        };
        let mut acks = Vec::new();
        self.deframer.push(self.buf.get(..n).unwrap_or(&[]), &mut |p| {
            if let Ok(Repr { body: Body::Ack(a), .. }) = Repr::parse(p) {
                acks.push(a);
            }
        });
        for a in acks {
            self.absorb(a);
        }
        Ok(())
    }

    /// Waits until at most `limit` packets are unacknowledged.
    fn wait_window(&mut self, limit: u64) -> Result<(), ReplayError> {
        let mut progress_at = Instant::now();
        let mut acked = self.acked;
        while self.outstanding() > limit {
            self.read_acks(Instant::now() + Duration::from_millis(50))?;
            if self.acked != acked {
                acked = self.acked;
                progress_at = Instant::now();
            } else if progress_at.elapsed() > ACK_TIMEOUT {
                return Err(ReplayError::Link(format!(
                    "{}: no acknowledgement for {} s with {} packets outstanding (last ack: \
                     {:?}); is the unit's stimulus link connected, and did frames get lost \
                     (malformed, seq_gaps)?",
                    self.link.device(),
                    ACK_TIMEOUT.as_secs(),
                    self.outstanding(),
                    self.last_ack
                )));
            }
        }
        Ok(())
    }

    fn send(&mut self, frame: &[u8]) -> std::io::Result<()> {
        self.wait_window(stimulus::WINDOW as u64 - 1).map_err(std::io::Error::other)?;
        self.link.write_all(frame).map_err(std::io::Error::other)?;
        self.sent += 1;
        self.octets += frame.len() as u64;
        // Read whatever acknowledgements are already there without waiting.
        self.read_acks(Instant::now()).map_err(std::io::Error::other)
    }
}

fn send_text(s: &mut Session, text: &str) -> Result<(), ReplayError> {
    let mut data = [0u8; MAX_TC_APP_DATA_LEN];
    let (service, subtype, n) =
        parse_request(text, &mut data).map_err(|e| ReplayError::Link(format!("{text}: {e:?}")))?;
    let id = s
        .send_raw(service, subtype, data.get(..n).unwrap_or(&[]))
        .map_err(|e| ReplayError::Link(e.to_string()))?;
    let o = s.wait(id).map_err(|e| ReplayError::Link(e.to_string()))?;
    if o.is_success() {
        Ok(())
    } else {
        Err(ReplayError::Link(format!("`{text}` was not completed: {:?}", o.verdict)))
    }
}

/// The mode changes from `from` to observation (ICD mode diagram).
pub fn path_to_observation(from: Mode) -> Result<Vec<Mode>, ReplayError> {
    Ok(match from {
        Mode::Observation => vec![],
        Mode::Standby => vec![Mode::Observation],
        Mode::Safe => vec![Mode::Standby, Mode::Observation],
        Mode::Maintenance => vec![Mode::Safe, Mode::Standby, Mode::Observation],
        Mode::Boot => {
            return Err(ReplayError::Link(
                "the unit is in boot mode (no application software): load and boot an image \
                 first"
                    .into(),
            ));
        }
    })
}

fn alerts_in(
    s: &mut Session,
    until: Instant,
    out: &mut Vec<AlertRecord>,
) -> Result<bool, ReplayError> {
    let mut got = false;
    while let Some(p) = s.next_packet(until).map_err(|e| ReplayError::Link(e.to_string()))? {
        if let Ok(Report::Trigger(tc_tm::service::trigger::Report::Alert(a))) = p.report() {
            out.push(AlertRecord::new(&a, None));
            got = true;
        }
        if Instant::now() >= until {
            break;
        }
    }
    Ok(got)
}

/// Replays an input on a unit (see the module documentation).
///
/// # Errors
/// Input and tables errors, link failures, refused mode changes, a stimulus link that stops
/// acknowledging.
pub fn run_on(
    input: &Path,
    link: &LinkArgs,
    stimulus_device: Option<&Path>,
    tables: Option<&Path>,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<RemoteOutcome, ReplayError> {
    let mut input = Input::open(input)?;
    let target = match tables {
        Some(d) => Some(super::local::load_tables(Some(d))?),
        None => None,
    };
    let mut conn = link.connect().map_err(|e| ReplayError::Link(format!("{e:#}")))?;
    let stim_path: PathBuf = match (stimulus_device, conn.stimulus_path()) {
        (Some(p), _) => p.to_path_buf(),
        (None, Some(p)) => p.to_path_buf(),
        (None, None) => {
            return Err(ReplayError::Link(
                "give the unit's stimulus device with --stimulus (a running twin prints it as \
                 \"stimulus\")"
                    .into(),
            ));
        }
    };
    if let Some(set) = &target {
        let bar = indicatif::ProgressBar::hidden();
        crate::workflow::tables::push(&mut conn, set, &bar)
            .map_err(|e| ReplayError::Link(format!("tables push: {e}")))?;
    }
    let mode = crate::workflow::tables::read_mode(&mut conn)
        .map_err(|e| ReplayError::Link(format!("reading the mode: {e}")))?;
    for m in path_to_observation(mode)? {
        send_text(&mut conn, &format!("function mode mode={m}"))?;
    }
    conn.clear_packets();

    let baud = if link.is_twin() || link.is_qemu() { crate::link::DEFAULT_BAUD } else { link.baud };
    let stim = SerialLink::open(&stim_path, baud, Timeouts::default())
        .map_err(|e| ReplayError::Link(e.to_string()))?;
    let mut sender = Sender {
        link: stim,
        deframer: Deframer::new(),
        sent: 0,
        acked: 0,
        last_ack: None,
        octets: 0,
        buf: vec![0u8; 4096],
    };
    let mut alerts = Vec::new();
    let started = Instant::now();
    let (stream, enc_counts) = std::thread::scope(|scope| {
        let worker = scope.spawn(|| -> Result<(u64, u64), ReplayError> {
            let mut enc = Encoder::new();
            let mut feed = |frame: &[u8]| sender.send(frame);
            items(&mut input, &mut enc, &mut feed, &mut |_| {}, progress)?;
            sender.wait_window(0)?;
            Ok((enc.events, enc.packets))
        });
        let mut pump_err = None;
        while !worker.is_finished() {
            if let Err(e) =
                alerts_in(&mut conn, Instant::now() + Duration::from_millis(50), &mut alerts)
            {
                pump_err = Some(e);
                break;
            }
        }
        let r = worker.join().map_err(|_| ReplayError::Link("stimulus sender panicked".into()));
        (pump_err.map_or(Ok(()), Err), r.and_then(|x| x))
    });
    stream?;
    let (events, packets) = enc_counts?;
    let stream_s = started.elapsed().as_secs_f64();
    let mut quiet_since = Instant::now();
    while quiet_since.elapsed() < QUIET {
        if alerts_in(&mut conn, Instant::now() + Duration::from_millis(100), &mut alerts)? {
            quiet_since = Instant::now();
        }
    }
    Ok(RemoteOutcome {
        alerts,
        events,
        packets,
        octets: sender.octets,
        last_ack: sender.last_ack,
        stream_s,
    })
}

/// What [`stream_stimulus`] sent.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StimulusOutcome {
    /// Events sent.
    pub events: u64,
    /// Packets sent.
    pub packets: u64,
    /// Octets sent.
    pub octets: u64,
    /// The last acknowledgement (cumulative counters of the unit's stimulus intake).
    pub last_ack: Option<Ack>,
}

/// Streams `input` on the stimulus device alone, with the same encoder and ack window as
/// [`run_on`], but without a TC/TM session: for a unit whose TC/TM link another program holds
/// (the monitor) and which is already in `observation` (outside it, events are acknowledged
/// and ignored). The alerts go out on the TM link, to whoever reads it.
///
/// # Errors
/// Unreadable input; the stimulus device cannot be opened; acknowledgements stop coming.
pub fn stream_stimulus(
    input: &Path,
    stimulus_device: &Path,
    baud: u32,
) -> Result<StimulusOutcome, ReplayError> {
    let mut input = Input::open(input)?;
    let stim = SerialLink::open(stimulus_device, baud, Timeouts::default())
        .map_err(|e| ReplayError::Link(e.to_string()))?;
    let mut sender = Sender {
        link: stim,
        deframer: Deframer::new(),
        sent: 0,
        acked: 0,
        last_ack: None,
        octets: 0,
        buf: vec![0u8; 4096],
    };
    let mut enc = Encoder::new();
    let mut feed = |frame: &[u8]| sender.send(frame);
    items(&mut input, &mut enc, &mut feed, &mut |_| {}, &mut |_| {})?;
    sender.wait_window(0)?;
    Ok(StimulusOutcome {
        events: enc.events,
        packets: enc.packets,
        octets: sender.octets,
        last_ack: sender.last_ack,
    })
}
