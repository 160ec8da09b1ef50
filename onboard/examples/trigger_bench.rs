//! Speed of the whole trigger on background: `cargo run --release -p onboard --example
//! trigger_bench [seconds] [runs] [search threads]` (0 search threads: the in-line
//! mode only, e.g. under callgrind).
//!
//! Default tables, every trigger on (CRT: 12 timescales × 4 bands × 5 zones; IMT: 3 bands × 7
//! accumulations), 5 000 counts/s of background with the Crab in the field below its
//! threshold (so the IMT images also clean a catalogue source), attitude and orbit samples.
//! The stimulus frames are built first; the timed part is `Trigger::receive_stimulus` on
//! them: deframing, CRC, parsing, DPIX, CRT, IMT, imaging, catalogue. Prints the median over
//! the runs of the event time processed per second of wall time (×real time) and the cost per
//! event, twice: with the image searches in line (one thread: the unit, the twin) and on
//! other threads (`onboard::trigger::pipeline`, one per core: `replay --local`; the alerts and
//! counters of the two are checked equal). On Linux it also prints the in-line ratio on the thread's CPU
//! time, which a loaded host does not inflate.

#[path = "../tests/trigger_sim/mod.rs"]
mod trigger_sim;

use std::time::Instant;

use onboard::trigger::geometry::{self, Attitude};
use onboard::trigger::{ActiveTables, Trigger, pipeline};
use trigger_sim::{Framer, Sim, Source, TPS};

/// CPU time this thread has run, in seconds (Linux `/proc/thread-self/schedstat`; `None`
/// elsewhere): on a loaded host it measures the work where wall time measures the queue.
fn thread_cpu_s() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(ns * 1e-9)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(300.0);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    let threads: usize =
        args.next().and_then(|a| a.parse().ok()).unwrap_or_else(pipeline::default_search_threads);
    let set = tables::defaults::default_set();
    let att = Attitude::from_pointing(77.0, 26.0, 0.0);
    let (y, z) = geometry::from_radec(&att, 83.6331, 22.0145).expect("Crab in front");
    let mut sim = Sim::new(7, set.pixels.clone(), 5000.0);
    let crab = std::env::var("NO_CRAB").is_err();
    if crab {
        sim.add_source(Source {
            y_deg: y as f32,
            z_deg: z as f32,
            flux: 1.0,
            start_s: 0.0,
            end_s: seconds,
            index: 2.1,
        });
    }
    let mut framer = Framer::new();
    framer.attitude(0, att.quaternion());
    let mut events = 0usize;
    let mut t = 0.0;
    while t < seconds {
        let evs = sim.events(t, t + 1.0);
        events += evs.len();
        framer.orbit((t * TPS as f64) as u64, 100.0, 10.0);
        framer.events(&evs);
        t += 1.0;
        framer.tick((t * TPS as f64) as u64);
    }
    let bytes = framer.take();
    println!(
        "trigger_bench: {seconds} s of event time, {events} events ({:.0}/s), {:.1} MB of stimulus",
        events as f64 / seconds,
        bytes.len() as f64 / 1e6
    );
    // Each run twice: the searches in line (one thread, as on the unit and the twin), then on
    // other threads (`onboard::trigger::pipeline`, one per core, as in `replay --local`): the
    // same alerts and counters (checked here), the wall time of every core.
    let mut ratios = [Vec::new(), Vec::new()];
    let mut cpu_ratios = Vec::new();
    for run in 0..runs {
        let mut first: Option<(u32, onboard::trigger::TriggerStats)> = None;
        let modes = if threads == 0 { 1 } else { 2 };
        for (mode, name) in
            ["in line", "searches on other threads"].into_iter().enumerate().take(modes)
        {
            let mut trigger = Trigger::boxed();
            trigger.configure(&ActiveTables::from_set(&set)).expect("default tables");
            trigger.set_observing(true);
            let mut alerts = 0u32;
            let cpu0 = thread_cpu_s();
            let start = Instant::now();
            if mode == 0 {
                for chunk in bytes.chunks(4096) {
                    trigger.receive_stimulus(chunk, &mut |_| alerts += 1);
                }
            } else {
                pipeline::run_threads(
                    &mut trigger,
                    threads,
                    |_, _: &()| alerts += 1,
                    |feed| {
                        for chunk in bytes.chunks(4096) {
                            feed.receive_stimulus(chunk, &());
                        }
                    },
                );
            }
            let wall = start.elapsed().as_secs_f64();
            let cpu = match (cpu0, thread_cpu_s()) {
                (Some(a), Some(b)) => {
                    if mode == 0 {
                        cpu_ratios.push(seconds / (b - a));
                    }
                    let what = if mode == 0 { "CPU time" } else { "the event thread's CPU time" };
                    format!(", {:.0}x real time on {what} ({:.3} s)", seconds / (b - a), b - a)
                }
                _ => String::new(),
            };
            let s = trigger.stats();
            match &first {
                None => first = Some((alerts, s)),
                Some(f) => assert_eq!(*f, (alerts, s), "the two modes must agree"),
            }
            let ratio = seconds / wall;
            println!(
                "run {run}, {name}: {wall:.3} s wall, {ratio:.0}x real time{cpu}, {:.0} ns/event; CRT tests {} images {}, IMT images {}, catalogue cleanings {}, alerts {alerts}",
                wall * 1e9 / events as f64,
                s.crt.tests,
                s.crt.images,
                s.imt.images,
                s.catalogue_below
            );
            ratios[mode].push(ratio);
        }
    }
    for r in &mut ratios {
        r.sort_by(f64::total_cmp);
    }
    println!("median in line: {:.0}x real time", ratios[0][ratios[0].len() / 2]);
    if !cpu_ratios.is_empty() {
        cpu_ratios.sort_by(f64::total_cmp);
        println!("median in line on CPU time: {:.0}x real time", cpu_ratios[cpu_ratios.len() / 2]);
    }
    if threads > 0 {
        println!(
            "median with the searches on {} other thread(s): {:.0}x real time (target >= 3000x)",
            threads,
            ratios[1][ratios[1].len() / 2]
        );
    }
}
