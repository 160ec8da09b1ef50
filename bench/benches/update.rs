//! Software update over the line rate: `cargo bench -p eic-bench --bench update`.
//!
//! On the twin throttled to 115 200 Bd both ways (the spare model's line):
//! 1. a full update of a 256 KiB image into bank B (survey, loads, checks, spot dumps, select,
//!    reset, confirmation): wall time, and goodput (image octets / load time and / total time);
//! 2. the same update cut at 50 % (the twin stopped as the progress passes half the image, then
//!    started again on the same state), then resumed: octets sent again and the resume's time.
//!
//! Without `--bench` (as `cargo test --benches` runs it) a 32 KiB image at full speed only
//! checks that the benchmark works.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eic_bench::session::{Session, SessionConfig};
use eic_bench::twin::{TwinConfig, UnitTwin};
use eic_bench::workflow::evidence::{Evidence, Recorder};
use eic_bench::workflow::update::{self as upd, UpdateOptions};
use indicatif::ProgressBar;
use onboard::image::SwVersion;
use tc_tm::service::function::Bank;

fn session(t: &UnitTwin, baud: Option<u32>) -> Session {
    let cfg = match baud {
        Some(b) => SessionConfig::new(t.tctm_path(), b),
        None => SessionConfig::fast(t.tctm_path()),
    };
    let mut s = Session::open(cfg).expect("session");
    s.connect().expect("connect");
    s
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (baud, len) = if full { (Some(115_200), 256 * 1024 - 32) } else { (None, 32 * 1024) };
    let cfg = TwinConfig { baud, ..TwinConfig::default() };
    let payload: Vec<u8> =
        (0..len as u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
    let img =
        eic_bench::cmd::image::build_image(&payload, SwVersion::new(1, 2, 0, 0)).expect("image");
    let info = eic_bench::cmd::image::inspect(&img).expect("valid");
    let opts = UpdateOptions { bank: Bank::B, switch: true };
    println!(
        "software update of a {} KiB image into bank B, twin at {}",
        img.len() / 1024,
        baud.map_or(
            "full speed (quick check; run with cargo bench for 115 200 Bd)".to_owned(),
            |b| format!("{b} Bd")
        )
    );

    // 1. Full update.
    let dir = tempfile::tempdir().expect("dir");
    let t = UnitTwin::start(dir.path(), false, cfg.clone()).expect("twin");
    let mut s = session(&t, baud);
    let mut rec = Recorder::new(Evidence::new("update", "bench", "twin"));
    let t0 = Instant::now();
    let f =
        upd::update(&mut s, &mut rec, &img, &info, opts, &ProgressBar::hidden()).expect("update");
    let total = t0.elapsed();
    println!(
        "full update: {:.1} s in all, load {:.1} s; goodput {:.0} octets/s over the load, {:.0} octets/s end to end; {} TCs",
        total.as_secs_f64(),
        f.load_time.as_secs_f64(),
        f.octets_sent as f64 / f.load_time.as_secs_f64(),
        img.len() as f64 / total.as_secs_f64(),
        rec.evidence.tcs.len()
    );
    if let Some(b) = baud {
        // The largest 6,2 load per CLTU-coded frame, 10 bits per octet on the line.
        let seg = upd::SEGMENT_LEN;
        let packet = tc_tm::pus::tc::OVERHEAD_LEN + 1 + 4 + 2 + seg + 4;
        let frame = tc_tm::tc_frame::HEADER_LEN
            + tc_tm::tc_frame::SEG_HEADER_LEN
            + packet
            + tc_tm::tc_frame::FECF_LEN;
        let cltu = tc_tm::cltu::encoded_len(frame);
        let max = f64::from(b) / 10.0 * seg as f64 / cltu as f64;
        println!(
            "  maximum for {seg}-octet loads in {cltu}-octet CLTUs at {b} Bd: {max:.0} octets/s; load at {:.0} % of it",
            100.0 * f.octets_sent as f64 / f.load_time.as_secs_f64() / max
        );
    }
    drop(s);
    t.stop().expect("stop");

    // 2. Cut at 50 %, then resume.
    let dir = tempfile::tempdir().expect("dir");
    let twin =
        Arc::new(Mutex::new(Some(UnitTwin::start(dir.path(), false, cfg.clone()).expect("twin"))));
    let bar = ProgressBar::hidden();
    let mut s = {
        let g = twin.lock().expect("lock");
        session(g.as_ref().expect("twin"), baud)
    };
    let watcher = {
        let (bar, twin) = (bar.clone(), twin.clone());
        std::thread::spawn(move || {
            loop {
                if bar.length().is_some_and(|l| l > 0 && bar.position() * 2 >= l) {
                    if let Some(t) = twin.lock().expect("lock").take() {
                        let _ = t.stop();
                    }
                    return;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };
    let mut rec = Recorder::new(Evidence::new("update", "bench", "twin"));
    let cut = upd::update(&mut s, &mut rec, &img, &info, opts, &bar);
    watcher.join().expect("watcher");
    assert!(cut.is_err(), "the cut update must fail");
    drop(s);
    let t = UnitTwin::start(dir.path(), false, cfg).expect("twin again");
    let mut s = session(&t, baud);
    let mut rec = Recorder::new(Evidence::new("update", "bench", "twin"));
    let t0 = Instant::now();
    let f =
        upd::update(&mut s, &mut rec, &img, &info, opts, &ProgressBar::hidden()).expect("resume");
    let resume = t0.elapsed();
    println!(
        "resume after a cut at 50 %: {}/{} chunks already on board, {} octets sent again ({:.0} % of the image), {:.1} s (vs {:.1} s for the whole update)",
        f.chunks_already_on_board,
        f.chunks,
        f.octets_sent,
        100.0 * f.octets_sent as f64 / img.len() as f64,
        resume.as_secs_f64(),
        total.as_secs_f64()
    );
    drop(s);
    t.stop().expect("stop");
}
