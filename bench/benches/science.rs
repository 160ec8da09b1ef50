//! Science throughput of the bench: `cargo bench -p eic-bench --bench science`.
//!
//! - the simulator (events generated and written as the FITS triplet, one thread and all);
//! - reading an event file and encoding the stimulus frames (the replay's own overhead);
//! - `replay --local` of background at 5 000 counts/s with every trigger on (the on-board
//!   trigger in process): events/s and the factor over real time.
//!
//! Medians of 3 samples over `SECONDS` of simulated sky (120 s; `--bench` runs 600 s). CPU
//! time is reported beside the wall time: the machine is shared, and the wall clock counts
//! other people's builds.

use std::time::Instant;

use eic_bench::events::Input;
use eic_bench::replay::encode::Encoder;
use eic_bench::replay::{LocalOptions, run_local_with};
use eic_bench::sim::{DirSink, Scenario, Simulator};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// CPU seconds of this process so far (user + system), from /proc/self/stat.
fn cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields 14 and 15 (utime, stime) are at 11 and 12 after the command name; 100 Hz.
    (ticks(11) + ticks(12)) / 100.0
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let seconds = if full { 600 } else { 120 };
    let dir = tempfile::tempdir().expect("temp dir");
    let sc = Scenario::parse(
        &format!(
            "name = \"bench\"\nseed = 1\nstart = 2026-03-01T00:00:00Z\nduration_s = {seconds}\n\
             [attitude]\nmode = \"fixed\"\nra_deg = 10\ndec_deg = 10\n"
        ),
        "bench.toml",
    )
    .expect("scenario");
    println!(
        "eic-bench science benchmarks: {seconds} s of background at 5 000 counts/s, median of 3"
    );

    let mut events = 0;
    for threads in [1, 0] {
        let mut wall = Vec::new();
        let mut cpu = Vec::new();
        for _ in 0..3 {
            let mut sim = Simulator::new(&sc).expect("simulator");
            if threads > 0 {
                sim = sim.threads(threads);
            }
            let mut sink =
                DirSink::create(dir.path(), "bench", false, sim.start_tick()).expect("sink");
            let (t, c) = (Instant::now(), cpu_s());
            events = sim.run(&mut sink, |_| {}).expect("simulate").events;
            wall.push(t.elapsed().as_secs_f64());
            cpu.push(cpu_s() - c);
        }
        let (w, c) = (median(wall), median(cpu));
        println!(
            "{:<52} {:>10.0} events/s wall ({:.0} per CPU-s)",
            format!(
                "simulate to FITS triplet, {} thread(s)",
                if threads == 0 { "all".to_owned() } else { threads.to_string() }
            ),
            events as f64 / w,
            events as f64 / c.max(1e-9)
        );
    }

    let mut wall = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let mut input = Input::open(dir.path()).expect("input");
        let mut enc = Encoder::new();
        let mut octets = 0u64;
        let mut feed = |f: &[u8]| {
            octets += f.len() as u64;
            Ok(())
        };
        eic_bench::replay::items(&mut input, &mut enc, &mut feed, &mut |_| {}, &mut |_| {})
            .expect("encode");
        std::hint::black_box(octets);
        wall.push(t.elapsed().as_secs_f64());
    }
    let w = median(wall);
    println!(
        "{:<52} {:>10.0} events/s",
        "read FITS triplet + encode stimulus frames",
        events as f64 / w
    );

    let set = tables::defaults::default_set();
    let mut wall = Vec::new();
    let mut cpu = Vec::new();
    let mut alerts = 0;
    for _ in 0..3 {
        let (t, c) = (Instant::now(), cpu_s());
        let out =
            run_local_with(dir.path(), &set, LocalOptions::default(), |_| {}).expect("replay");
        alerts = out.alerts.len();
        wall.push(t.elapsed().as_secs_f64());
        cpu.push(cpu_s() - c);
    }
    let (w, c) = (median(wall), median(cpu));
    println!(
        "{:<52} {:>10.0} events/s wall = {:.0}x real time ({:.0}x per CPU-s); {alerts} alerts",
        "replay --local, CRT + IMT on",
        events as f64 / w,
        f64::from(seconds) / w,
        f64::from(seconds) / c.max(1e-9)
    );
    println!(
        "{:<52} {:>10.1} s (at the CPU-time rate)",
        "  an orbit (5 760 s) would take",
        5760.0 / (f64::from(seconds) / c.max(1e-9))
    );
}
