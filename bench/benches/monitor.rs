//! The monitor's store: `cargo bench -p eic-bench --bench monitor`.
//!
//! - ingestion rate from TM archives: `eic-bench monitor --once --watch DIR` (the release
//!   binary, shipped limits and alarms) over archives of 1 Hz HK, one CADU per report as the
//!   unit sends them; HK reports per second and the process's peak RSS, median of 3 runs;
//! - a simulated month of 1 Hz HK (2 592 000 reports, stored through the same `Batch` as
//!   ingestion, one batch per hour): database size per month and per report;
//! - on that month: a day's trend of one parameter (raw samples from the per-parameter columns,
//!   and binned to 1000 points; then by decoding every raw row as before schema version 2, in
//!   the same run), the month's trend (hourly aggregates), the newest HK (the overview's
//!   query); medians of 7.
//!
//! `MONITOR_BENCH_BASELINE=/path/to/old/eic-bench` also times that binary's ingestion on the
//! same archives, interleaved with this one's (a before/after under the same load).
//!
//! Without `--bench` (as `cargo test --benches` runs it) everything is 100 times smaller.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use eic_bench::monitor::db::{DAY_NS, HOUR_NS, NewSource, Store};
use eic_bench::monitor::synth::{ArchiveSynth, nominal_hk};
use tc_tm::service::housekeeping::{HousekeepingReport, Report as HkMsg};

const BIN: &str = env!("CARGO_BIN_EXE_eic-bench");
const T0: i64 = 1_796_083_200_000_000_000; // 2026-12-01T00:00:00Z

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn write_archives(dir: &Path, files: u64, per_file: u64) {
    std::fs::create_dir_all(dir).expect("dir");
    for f in 0..files {
        let mut s = ArchiveSynth::new(std::io::BufWriter::new(
            std::fs::File::create(dir.join(format!("tm-{f:04}.eica"))).expect("create"),
        ));
        for i in 0..per_file {
            let k = f * per_file + i;
            let t = T0 + k as i64 * 1_000_000_000;
            s.hk(t, k as f64, &nominal_hk(k, k as u32)).expect("hk");
        }
        drop(s.into_inner());
    }
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let scale = if quick { 100 } else { 1 };
    let tmp = tempfile::tempdir().expect("temp dir");
    println!("eic-bench monitor benchmarks");

    // Ingestion from archives, through the binary (and, with MONITOR_BENCH_BASELINE=PATH, an
    // older eic-bench binary on the same files, run after each run of this one).
    let (files, per_file) = (20u64, 10_000 / scale);
    let n = files * per_file;
    let mut rates = Vec::new();
    let mut rss = Vec::new();
    let baseline = std::env::var_os("MONITOR_BENCH_BASELINE");
    let mut base_rates = Vec::new();
    for run in 0..3 {
        let dir = tmp.path().join(format!("drop-{run}"));
        if let Some(old) = &baseline {
            let copy = tmp.path().join(format!("drop-base-{run}"));
            write_archives(&copy, files, per_file);
            let db = tmp.path().join(format!("ingest-base-{run}.db"));
            let t = Instant::now();
            let st = Command::new(old)
                .args(["monitor", "--once", "--db"])
                .arg(&db)
                .arg("--watch")
                .arg(&copy)
                .stdout(std::process::Stdio::null())
                .status()
                .expect("run the baseline eic-bench");
            assert!(st.success(), "baseline monitor --once failed: {st}");
            base_rates.push(n as f64 / t.elapsed().as_secs_f64());
            let _ = std::fs::remove_dir_all(&copy);
        }
        write_archives(&dir, files, per_file);
        let db = tmp.path().join(format!("ingest-{run}.db"));
        let t = Instant::now();
        let st = Command::new(BIN)
            .args(["monitor", "--once", "--db"])
            .arg(&db)
            .arg("--watch")
            .arg(&dir)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("run eic-bench");
        let secs = t.elapsed().as_secs_f64();
        assert!(st.success(), "monitor --once failed: {st}");
        rates.push(n as f64 / secs);
        let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
            .expect("getrusage");
        rss.push(usage.max_rss() as f64 / 1024.0);
        let _ = std::fs::remove_dir_all(&dir);
    }
    println!(
        "{:<58} {:>10.0} HK/s",
        format!("ingestion from archives ({n} HK in {files} files, binary)"),
        median(rates)
    );
    if !base_rates.is_empty() {
        println!(
            "{:<58} {:>10.0} HK/s",
            "  the same with the baseline binary (MONITOR_BENCH_BASELINE)",
            median(base_rates)
        );
    }
    println!("{:<58} {:>10.1} MB", "peak RSS of the monitor while ingesting", median(rss));

    // A simulated month.
    let db = tmp.path().join("month.db");
    let days = 30 / if quick { 10 } else { 1 };
    let per_hour = 3600 / scale as i64;
    let step = HOUR_NS / per_hour;
    let t = Instant::now();
    let mut total = 0u64;
    {
        let mut store = Store::open(&db).expect("db");
        for h in 0..i64::from(days) * 24 {
            let mut b = store
                .begin(NewSource {
                    kind: "archive",
                    name: "month",
                    sha256: None,
                    size: None,
                    status: "ingested",
                    reason: None,
                    started_ns: 0,
                })
                .expect("batch");
            for i in 0..per_hour {
                let k = (h * per_hour + i) as u64;
                let hk = nominal_hk(k, k as u32);
                let msg = HkMsg::Housekeeping(HousekeepingReport::Ugts(hk));
                let mut data = vec![0u8; msg.buffer_len()];
                msg.emit(&mut data).expect("emit");
                b.add_hk(T0 + h * HOUR_NS + i * step, k as f64, &data, &hk).expect("hk");
                total += 1;
            }
            b.commit(None).expect("commit");
        }
        store.conn().execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").expect("checkpoint");
    }
    let secs = t.elapsed().as_secs_f64();
    let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0) as f64;
    let per_month = size * 30.0 / f64::from(days) * scale as f64;
    println!(
        "{:<58} {:>10.0} HK/s",
        format!("store a month of 1 Hz HK ({total} reports, {days} d)"),
        total as f64 / secs
    );
    println!(
        "{:<58} {:>10.0} MB ({:.0} B/report)",
        "database size per month of 1 Hz HK (raw + aggregates)",
        per_month / 1e6,
        size / total as f64
    );

    let store = Store::open(&db).expect("db");
    let day = T0 + 10 * DAY_NS / if quick { 10 } else { 1 };
    let time = |f: &dyn Fn() -> usize| {
        let v: Vec<f64> = (0..7)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(f());
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        median(v)
    };
    let raw =
        time(&|| store.trend("rate_sector3", day, day + DAY_NS, None).expect("trend").points.len());
    println!("{:<58} {:>10.1} ms", "a day's trend of one parameter (raw rows)", raw);
    let binned = time(&|| {
        store.trend("rate_sector3", day, day + DAY_NS, Some(1000)).expect("trend").points.len()
    });
    println!("{:<58} {:>10.1} ms", "a day's trend, binned to 1000 points", binned);
    let scan =
        time(&|| store.trend_scan("rate_sector3", day, day + DAY_NS).expect("scan").points.len());
    println!("{:<58} {:>10.1} ms", "  the same by decoding every raw row (before schema 2)", scan);
    assert_eq!(
        store.trend("rate_sector3", day, day + DAY_NS, None).expect("trend").points,
        store.trend_scan("rate_sector3", day, day + DAY_NS).expect("scan").points,
        "the columns give the raw rows' samples"
    );
    let month = time(&|| {
        store
            .trend("rate_sector3", T0, T0 + i64::from(days) * DAY_NS, None)
            .expect("trend")
            .points
            .len()
    });
    println!("{:<58} {:>10.1} ms", "the month's trend (hourly aggregates)", month);
    let latest = time(&|| store.latest_hk().expect("latest").map_or(0, |s| s.values.len()));
    println!("{:<58} {:>10.2} ms", "newest HK report, every parameter", latest);

    // That month as schema version 1 left it, opened by this version: migration 0002
    // transposes every hour.
    store
        .conn()
        .execute_batch(
            "DROP TABLE hk_columns; DROP TABLE hk_chunks; DROP TABLE table_images; \
             PRAGMA user_version = 1;",
        )
        .expect("back to schema 1");
    drop(store);
    let t = Instant::now();
    let store = Store::open(&db).expect("migrate");
    println!(
        "{:<58} {:>10.1} s",
        "migrating that month from schema 1 (columns of every hour)",
        t.elapsed().as_secs_f64()
    );
    assert_eq!(
        store.trend("rate_sector3", day, day + DAY_NS, None).expect("trend").points,
        store.trend_scan("rate_sector3", day, day + DAY_NS).expect("scan").points,
    );
}
