//! Table workflows versus downlink/uplink fault rate (a bench binary printing medians, not a
//! timed test): `cargo bench -p eic-bench --bench lossy_tables [-- RUNS]`.
//!
//! For each rate R in clean, 1e-6, 1e-5, 1e-4 the twin (embedded, full speed, real
//! pseudo-terminals, real unit) injects `bitflip=R,drop=100·R` on both directions (the
//! issue's pairs: a dropped octet is a hundred times likelier than a flipped bit on the EGSE
//! line), and the bench times `tables pull` (the whole set, 110 343 octets) and `tables push`
//! (pixels, CRT and bands changed: 113 TCs; read back included). RUNS seeds per rate
//! (default 3; the lossiest rates take minutes). A run that stops is counted as failed, with
//! its message, and its time to stop.

use std::time::{Duration, Instant};

use eic_bench::link::FaultSpec;
use eic_bench::session::{Session, SessionConfig};
use eic_bench::twin::{TwinConfig, UnitTwin};
use eic_bench::workflow::tables as wf;

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    Some(v[v.len() / 2])
}

fn one(faults: &str) -> (Result<f64, String>, Result<f64, String>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = FaultSpec::parse(faults).expect("spec");
    let t =
        UnitTwin::start(dir.path(), false, TwinConfig::default().with_faults(&spec)).expect("twin");
    let mut cfg = SessionConfig::fast(t.tctm_path());
    cfg.t1 = Duration::from_millis(200);
    cfg.transmission_limit = 100;
    cfg.set_clcw_timeout(Duration::from_secs(20));
    cfg.max_queries = 30;
    let bar = indicatif::ProgressBar::hidden();
    let mut s = match Session::open(cfg).and_then(|mut s| s.connect().map(|()| s)) {
        Ok(s) => s,
        Err(e) => return (Err(e.to_string()), Err("not started".into())),
    };
    let start = Instant::now();
    let pull =
        wf::pull(&mut s, &bar).map(|_| start.elapsed().as_secs_f64()).map_err(|e| e.to_string());
    let mut target = tables::defaults::default_set();
    target.pixels.version += 1;
    target.crt.version += 1;
    target.crt.image_snr = 7.0;
    target.bands.version += 1;
    let start = Instant::now();
    let push = match wf::push(&mut s, &target, &bar) {
        Ok(_) => Ok(start.elapsed().as_secs_f64()),
        Err(e) => Err(format!("{e} (after {:.1} s)", start.elapsed().as_secs_f64())),
    };
    drop(s);
    let _ = t.stop();
    (pull, push)
}

fn main() {
    let runs: u64 = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(3);
    println!("rate       | pull median (s) | push median (s) | failed runs");
    for rate in [None, Some(1e-6), Some(1e-5), Some(1e-4)] {
        let (mut pulls, mut pushes, mut failed) = (Vec::new(), Vec::new(), Vec::new());
        for seed in 1..=runs {
            let faults = match rate {
                None => "none".to_owned(),
                Some(r) => format!("bitflip={r:e},drop={:e},seed={seed}", r * 100.0),
            };
            let (pull, push) = one(&faults);
            match pull {
                Ok(t) => pulls.push(t),
                Err(e) => failed.push(format!("pull {faults}: {e}")),
            }
            match push {
                Ok(t) => pushes.push(t),
                Err(e) => failed.push(format!("push {faults}: {e}")),
            }
        }
        let f = |m: Option<f64>| m.map_or("—".to_owned(), |v| format!("{v:.2}"));
        let name = rate.map_or("clean".to_owned(), |r| format!("{r:e}"));
        println!(
            "{name:<10} | {:>15} | {:>15} | {}",
            f(median(pulls)),
            f(median(pushes)),
            failed.len()
        );
        for e in failed {
            println!("    {}", e.lines().next().unwrap_or(""));
        }
    }
}
