//! Host pipelining (feature `std`): the image searches on other threads than the events.
//!
//! ```text
//! caller's thread:  stimulus ─► Front (intake, DPIX, CRT, IMT) ─► (n, SearchJob, tag) ─┐ bounded queue
//! search thread 1:  Searcher::run_with (imaging, peak, catalogue) ◄───────────────────┤
//! search thread 2:  Searcher::run_with                            ◄───────────────────┘
//!                        │ a detection: wait until jobs 0…n−1 are done, then
//!                        └─► the trigger's alert policy (Alerts) ─► sink(report, tag)
//! ```
//!
//! The event side and the searches share nothing but the jobs: a job carries its shadowgram,
//! its active pixels and its attitude. A search's image, peak and catalogue cleaning depend on
//! its job only (the imager's caches never change a result: `imaging.rs`), so searches run at
//! once on several threads, each with its own imager; the one stateful step, the alert policy,
//! takes the detections in job order (a search that reaches it waits until every earlier job
//! is done). The alerts are therefore those of [`Trigger::receive_stimulus`] in line, bit for
//! bit and in the same order, and so are the counters; only *when* the sink sees an alert
//! changes. The unit and the twin search in line; `replay --local` and the benchmarks use this
//! to keep every core busy.

use std::boxed::Box;
use std::collections::BTreeSet;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, mpsc};
use std::vec::Vec;

use tc_tm::service::trigger::Alert;

use super::alert::{Alerts, Detection};
use super::{AlertGate, AlertReport, Front, SearchJob, Searcher, Trigger};

/// Jobs queued between the event side and the search threads at most (each ~57 KB): the event
/// side waits beyond that, so memory stays bounded when the searches are the slower side.
pub const QUEUE_JOBS: usize = 8;

/// Search threads by default: one per core the system offers (the event side shares them).
pub fn default_search_threads() -> usize {
    if let Some(n) = std::env::var("EIC_SEARCH_THREADS").ok().and_then(|v| v.parse().ok()) {
        return n;
    }
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The event side during [`run`]: feed it stimulus with a tag; the alerts of the searches it
/// makes reach the sink with that tag.
pub struct Feed<'a, T> {
    front: Front<'a>,
    jobs: mpsc::SyncSender<(u64, Box<SearchJob>, T)>,
    spare: mpsc::Receiver<Box<SearchJob>>,
    next: u64,
    stopped: bool,
}

impl<T: Clone> Feed<'_, T> {
    /// [`Trigger::receive_stimulus`]: the searches due are queued for the search threads with
    /// `tag` (the caller's context when they became due, e.g. the frame's attitude).
    ///
    /// Returns `false` once the search threads have stopped (one panicked: [`run`] re-raises
    /// its panic when it returns); the stimulus is still consumed, the searches are lost.
    pub fn receive_stimulus(&mut self, octets: &[u8], tag: &T) -> bool {
        let Feed { front, jobs, spare, next, stopped } = self;
        front.receive_stimulus(octets, &mut |job| {
            if *stopped {
                return;
            }
            let mut buf = spare.try_recv().unwrap_or_else(|_| Box::new(SearchJob::new()));
            buf.as_mut().clone_from(job);
            if jobs.send((*next, buf, tag.clone())).is_err() {
                *stopped = true;
            }
            *next += 1;
        });
        !*stopped
    }

    /// [`Trigger::take_ack`].
    pub fn take_ack(&mut self, out: &mut [u8]) -> usize {
        self.front.take_ack(out)
    }

    /// [`Trigger::now_tick`].
    pub fn now_tick(&self) -> u64 {
        self.front.now_tick()
    }
}

/// Which jobs are done: the alert policy's turn goes to job n once jobs 0…n−1 are.
#[derive(Default)]
struct Order {
    state: Mutex<(u64, BTreeSet<u64>)>,
    changed: Condvar,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking search thread poisons nothing that matters here: its panic is re-raised.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Order {
    fn wait_turn(&self, job: u64) {
        let mut s = lock(&self.state);
        while s.0 < job {
            s = self.changed.wait(s).unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn done(&self, job: u64) {
        let mut s = lock(&self.state);
        let (first_open, done) = &mut *s;
        done.insert(job);
        while done.remove(first_open) {
            *first_open += 1;
        }
        self.changed.notify_all();
    }
}

/// Marks a job done when dropped, also when its search panics (later jobs then go on).
struct Finish<'a>(&'a Order, u64);

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        self.0.done(self.1);
    }
}

/// The alert policy as job `job` sees it: taken, in job order, at the first question.
struct TurnGate<'a> {
    job: u64,
    order: &'a Order,
    alerts: &'a Mutex<&'a mut Alerts>,
    held: Option<MutexGuard<'a, &'a mut Alerts>>,
}

impl TurnGate<'_> {
    fn policy(&mut self) -> &mut Alerts {
        let held = match self.held.take() {
            Some(h) => h,
            None => {
                self.order.wait_turn(self.job);
                lock(self.alerts)
            }
        };
        self.held.insert(held)
    }
}

impl AlertGate for TurnGate<'_> {
    fn would_issue(&mut self, image_snr: f32, y_deg: f32, z_deg: f32, start_tick: u64) -> bool {
        self.policy().would_issue(image_snr, y_deg, z_deg, start_tick)
    }

    fn decide(&mut self, detection: &Detection) -> Option<Alert> {
        self.policy().decide(detection)
    }
}

/// [`run_threads`] with [`default_search_threads`].
///
/// # Panics
/// See [`run_threads`].
pub fn run<T, R>(
    trigger: &mut Trigger,
    sink: impl FnMut(&AlertReport<'_>, &T) + Send,
    body: impl FnOnce(&mut Feed<'_, T>) -> R,
) -> R
where
    T: Clone + Send,
{
    run_threads(trigger, default_search_threads(), sink, body)
}

/// Runs `body` with the trigger's event side on this thread and its searches on `threads`
/// other threads (at least one); `sink` receives every alert, in order, with the tag of the
/// stimulus that made it due. Returns when `body` has returned and every queued search is
/// done: [`Trigger::stats`] is then complete.
///
/// # Panics
/// If a search thread cannot be spawned, and with a search thread's panic if one panicked.
#[allow(clippy::expect_used)]
pub fn run_threads<T, R>(
    trigger: &mut Trigger,
    threads: usize,
    sink: impl FnMut(&AlertReport<'_>, &T) + Send,
    body: impl FnOnce(&mut Feed<'_, T>) -> R,
) -> R
where
    T: Clone + Send,
{
    let (front, searcher) = trigger.split();
    let mut helpers: Vec<Box<Searcher>> =
        (0..threads.max(1)).map(|_| searcher.boxed_like()).collect();
    let (jobs, queue) = mpsc::sync_channel::<(u64, Box<SearchJob>, T)>(QUEUE_JOBS);
    // Shared by the search threads; dropped with the last of them, so that the event side
    // learns (a failed send) when they have all stopped.
    let queue = Arc::new(Mutex::new(queue));
    let (spare_tx, spare) = mpsc::channel::<Box<SearchJob>>();
    let order = Order::default();
    let sink = Mutex::new(sink);
    let out = {
        let alerts = Mutex::new(searcher.alerts_mut());
        std::thread::scope(|scope| {
            let mut workers = Vec::new();
            for helper in helpers.iter_mut() {
                let (queue, spare_tx) = (Arc::clone(&queue), spare_tx.clone());
                let (order, alerts, sink) = (&order, &alerts, &sink);
                let worker = std::thread::Builder::new()
                    .name("trigger-search".into())
                    .spawn_scoped(scope, move || {
                        loop {
                            let next = lock(&queue).recv();
                            let Ok((n, mut job, tag)) = next else { break };
                            let _finish = Finish(order, n);
                            let mut gate = TurnGate { job: n, order, alerts, held: None };
                            // Called only after `gate.decide`: in job order.
                            let mut report = |r: &AlertReport<'_>| (*lock(sink))(r, &tag);
                            helper.run_with(&mut job, &mut gate, &mut report);
                            drop(gate);
                            // The buffer goes back to the event side (gone if it has finished).
                            let _ = spare_tx.send(job);
                        }
                    })
                    .expect("spawn a trigger search thread");
                workers.push(worker);
            }
            drop(queue);
            let mut feed = Feed { front, jobs, spare, next: 0, stopped: false };
            let out = body(&mut feed);
            drop(feed);
            for w in workers {
                if let Err(panic) = w.join() {
                    std::panic::resume_unwind(panic);
                }
            }
            out
        })
    };
    for h in &helpers {
        searcher.add_counters(h);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trigger::{ActiveTables, big_stack};

    #[test]
    fn a_panicking_body_is_re_raised_and_the_trigger_stays_usable() {
        big_stack(|| {
            let set = tables::defaults::default_set();
            let mut t = Trigger::boxed();
            t.configure(&ActiveTables::from_set(&set)).unwrap();
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                run_threads(&mut t, 2, |_, _: &()| {}, |feed| panic!("body {}", feed.now_tick()));
            }));
            assert!(r.is_err());
            assert_eq!(t.stats().intake.accepted, 0);
        });
    }

    #[test]
    fn turns_go_in_job_order_whatever_order_jobs_finish_in() {
        let order = Order::default();
        let log = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for job in (0..6u64).rev() {
                let (order, log) = (&order, &log);
                s.spawn(move || {
                    let _finish = Finish(order, job);
                    if job % 2 == 1 {
                        order.wait_turn(job);
                        lock(log).push(job);
                    }
                });
            }
        });
        assert_eq!(*lock(&log), [1, 3, 5]);
        assert_eq!(lock(&order.state).0, 6);
    }
}
