//! `replay --local`: the on-board trigger ([`onboard::trigger::Trigger`]) in this process, fed
//! with the stimulus frames the link would carry.

use std::path::Path;

use onboard::trigger::geometry::{Attitude, SKY_N};
use onboard::trigger::{ActiveTables, AlertReport, Trigger, TriggerStats, pipeline};
use tables::set::TableSet;

use super::encode::Encoder;
use super::{AlertRecord, ItemSource, ReplayError, SkyImage, items};
use crate::events::Input;

/// Options of a local replay.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LocalOptions {
    /// Keep each alert's sky image in its record.
    pub images: bool,
}

/// What a local replay did besides its alerts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LocalOutcome {
    /// The alerts, in the order the trigger raised them.
    pub alerts: Vec<AlertRecord>,
    /// Events read from the input.
    pub events: u64,
    /// Stimulus packets fed.
    pub packets: u64,
    /// Stimulus octets fed.
    pub octets: u64,
    /// The trigger's counters at the end.
    pub stats: TriggerStats,
    /// The attitude in force at each alert (for image WCS), index-aligned with `alerts`.
    pub attitudes: Vec<[f64; 4]>,
}

/// The tables of a replay: a directory, else the default set (what a fresh twin runs).
///
/// # Errors
/// [`ReplayError::Tables`] when the directory does not load.
pub fn load_tables(dir: Option<&Path>) -> Result<TableSet, ReplayError> {
    match dir {
        Some(d) => TableSet::load_dir(d).map_err(ReplayError::Tables),
        None => Ok(tables::defaults::default_set()),
    }
}

/// A configured, observing trigger with both triggers enabled.
///
/// # Errors
/// [`ReplayError::Config`] when the trigger refuses the tables.
pub fn trigger_for(set: &TableSet) -> Result<Box<Trigger>, ReplayError> {
    let mut t = Trigger::boxed();
    t.configure(&ActiveTables::from_set(set)).map_err(|e| ReplayError::Config(e.to_string()))?;
    t.set_enabled(true, true);
    t.set_observing(true);
    Ok(t)
}

fn image_of(r: &AlertReport<'_>) -> SkyImage {
    let mut data = Vec::with_capacity(SKY_N * SKY_N);
    for t in 0..SKY_N {
        for u in 0..SKY_N {
            data.push(r.sky.snr(t, u));
        }
    }
    SkyImage { n: SKY_N, data }
}

/// Frames encoded ahead by the reader thread, sent together: their octets back to back and,
/// per frame, its end offset and the attitude in force when it was encoded.
/// The sink of a replay's searches: each alert recorded (its image when asked) with the
/// attitude of the frame that made its search due.
fn recorder<'a>(
    opts: LocalOptions,
    alerts: &'a mut Vec<AlertRecord>,
    attitudes: &'a mut Vec<[f64; 4]>,
) -> impl FnMut(&AlertReport<'_>, &[f64; 4]) + Send + 'a {
    move |r, current| {
        let image = opts.images.then(|| image_of(r));
        alerts.push(AlertRecord::new(&r.alert, image));
        attitudes.push(*current);
    }
}

#[derive(Default)]
struct Batch {
    octets: Vec<u8>,
    frames: Vec<(usize, [f64; 4])>,
    progress: Option<u64>,
}

/// Frames per [`Batch`] and batches in flight between the reader and the trigger.
const BATCH_FRAMES: usize = 64;
const BATCHES_AHEAD: usize = 16;

/// Replays an input (file or triplet directory) through the trigger in this process.
///
/// Threads: one reads the input and encodes the stimulus frames, this one feeds them to the
/// trigger's event side, frame by frame and in order, each with the attitude that was in force
/// when it was encoded, and the trigger's image searches run on their own threads
/// (`onboard::trigger::pipeline`, one per core), exactly as a single thread would: the alerts
/// and counters do not depend on it (tests `threaded_replay_equals_the_frames_fed_one_by_one`
/// here, `searches_on_other_threads_give_the_in_line_alerts_bit_for_bit` in `onboard`).
///
/// # Errors
/// Input, tables and trigger configuration errors.
pub fn run_local_with(
    input: &Path,
    set: &TableSet,
    opts: LocalOptions,
    progress: impl FnMut(u64),
) -> Result<LocalOutcome, ReplayError> {
    let mut input = Input::open(input).map_err(ReplayError::Input)?;
    run_local_threaded(&mut input, set, opts, progress)
}

/// The threaded replay of [`run_local_with`]: one thread reads and encodes, this one feeds the
/// trigger, the searches run on theirs (the source must be `Send`).
fn run_local_threaded(
    input: &mut (dyn ItemSource + Send),
    set: &TableSet,
    opts: LocalOptions,
    mut progress: impl FnMut(u64),
) -> Result<LocalOutcome, ReplayError> {
    let mut trigger = trigger_for(set)?;
    let mut enc = Encoder::new();
    let mut out = LocalOutcome::default();
    let mut ack = vec![0u8; tc_tm::stimulus::MAX_FRAME_LEN];
    let mut octets = 0u64;
    let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(BATCHES_AHEAD);
    std::thread::scope(|scope| -> Result<(), ReplayError> {
        let (input, enc) = (&mut *input, &mut enc);
        let reader = scope.spawn(move || -> Result<(), ReplayError> {
            let batch = std::cell::RefCell::new(Batch::default());
            let att = std::cell::Cell::new(Attitude::IDENTITY.quaternion());
            let send = |b: &std::cell::RefCell<Batch>| -> std::io::Result<()> {
                let full = std::mem::take(&mut *b.borrow_mut());
                tx.send(full).map_err(|_| std::io::Error::other("the trigger thread stopped"))
            };
            let mut feed = |frame: &[u8]| -> std::io::Result<()> {
                let n = {
                    let mut b = batch.borrow_mut();
                    b.octets.extend_from_slice(frame);
                    let end = b.octets.len();
                    b.frames.push((end, att.get()));
                    b.frames.len()
                };
                if n >= BATCH_FRAMES { send(&batch) } else { Ok(()) }
            };
            let mut on_item = |item: &crate::events::Item| {
                if let crate::events::Item::Attitude(a) = item {
                    att.set(a.q);
                }
            };
            let mut on_progress = |n: u64| batch.borrow_mut().progress = Some(n);
            items(input, enc, &mut feed, &mut on_item, &mut on_progress)?;
            send(&batch).map_err(ReplayError::Io)
        });
        // The image searches on their own threads (`onboard::trigger::pipeline`): the same
        // alerts, in the same order, as the trigger in line; each with the attitude of the
        // frame that made its search due.
        let sink = recorder(opts, &mut out.alerts, &mut out.attitudes);
        pipeline::run(&mut trigger, sink, |feed| {
            for b in rx {
                let mut start = 0;
                for &(end, current) in &b.frames {
                    let frame = b.octets.get(start..end).unwrap_or_default();
                    start = end;
                    octets += frame.len() as u64;
                    feed.receive_stimulus(frame, &current);
                    while feed.take_ack(&mut ack) > 0 {}
                }
                if let Some(n) = b.progress {
                    progress(n);
                }
            }
        });
        match reader.join() {
            Ok(r) => r,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })?;
    out.events = enc.events;
    out.packets = enc.packets;
    out.octets = octets;
    out.stats = trigger.stats();
    Ok(out)
}

/// Replays an input through the trigger in this process with the tables of `tables` (default
/// set when `None`) and returns its alerts, sky images included.
///
/// # Errors
/// As [`run_local_with`].
pub fn run_local(input: &Path, tables: Option<&Path>) -> Result<Vec<AlertRecord>, ReplayError> {
    let set = load_tables(tables)?;
    Ok(run_local_with(input, &set, LocalOptions { images: true }, |_| {})?.alerts)
}

/// Replays the items of any [`ItemSource`] (a file, or arrays in memory) through the trigger in
/// this process, reading on the caller's thread: the Python package's sources check for Ctrl-C,
/// which Python delivers to its main thread only (the image searches still run on their own
/// threads). The same frames in the same order as [`run_local_with`]'s threads, so the same
/// alerts (test
/// `threaded_replay_equals_the_frames_fed_one_by_one`).
///
/// # Errors
/// Those of the source, and trigger configuration errors.
pub fn run_local_source(
    input: &mut dyn ItemSource,
    set: &TableSet,
    opts: LocalOptions,
    mut progress: impl FnMut(u64),
) -> Result<LocalOutcome, ReplayError> {
    let mut trigger = trigger_for(set)?;
    let mut enc = Encoder::new();
    let mut out = LocalOutcome::default();
    let attitude = Attitude::IDENTITY.quaternion();
    let mut ack = vec![0u8; tc_tm::stimulus::MAX_FRAME_LEN];
    let mut octets = 0u64;
    let sink = recorder(opts, &mut out.alerts, &mut out.attitudes);
    pipeline::run(&mut trigger, sink, |feed| {
        let att = std::cell::Cell::new(attitude);
        let mut feed_frame = |frame: &[u8]| -> std::io::Result<()> {
            octets += frame.len() as u64;
            feed.receive_stimulus(frame, &att.get());
            while feed.take_ack(&mut ack) > 0 {}
            Ok(())
        };
        let mut on_item = |item: &crate::events::Item| {
            if let crate::events::Item::Attitude(a) = item {
                att.set(a.q);
            }
        };
        items(input, &mut enc, &mut feed_frame, &mut on_item, &mut progress)
    })?;
    out.events = enc.events;
    out.packets = enc.packets;
    out.octets = octets;
    out.stats = trigger.stats();
    Ok(out)
}
