//! `eic-bench monitor --watch DIR`: kill -9 at random moments during ingestion (20 times)
//! loses and duplicates nothing; 100 damaged, truncated, random and oversized files are all
//! quarantined with a reason, in bounded memory.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use eic_bench::monitor::db::Store;
use eic_bench::monitor::synth::{ArchiveSynth, nominal_hk};
use tc_tm::service::Report;
use tc_tm::service::event::{EventId, EventReport, Report as EvMsg};

const BIN: &str = env!("CARGO_BIN_EXE_eic-bench");
const T0: i64 = 1_796_083_200_000_000_000; // 2026-12-01T00:00:00Z

/// An archive of `n` HK reports at 1 Hz from `start_s` (seconds after T0), with an event
/// every 50 reports and, if `excursion`, sector 0 at 3000 counts/s for 5 reports.
fn archive(path: &Path, start_s: i64, n: u64, excursion: bool) {
    let mut s = ArchiveSynth::new(Vec::new());
    for i in 0..n {
        let t = T0 + (start_s + i as i64) * 1_000_000_000;
        let mut hk = nominal_hk(i, (start_s as u64 + i) as u32 + 100);
        if excursion && (10..15).contains(&i) {
            hk.sector_rates[0] = 3000;
        }
        s.hk(t, (start_s + i as i64) as f64, &hk).unwrap();
        if i % 50 == 25 {
            let aux = [];
            let e = Report::Event(EvMsg::Event(EventReport::new(EventId::SaaEntry, &aux)));
            s.typed(t, (start_s + i as i64) as f64, &e).unwrap();
        }
    }
    fs::write(path, s.into_inner()).unwrap();
}

fn monitor(db: &Path, dir: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(["monitor", "--once", "--db"]).arg(db).arg("--watch").arg(dir).args(extra);
    c.stdout(Stdio::null()).stderr(Stdio::piped());
    c
}

fn left_in(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_file()).collect()
}

fn files_in(dir: &Path) -> usize {
    fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| !e.path().to_string_lossy().ends_with(".why"))
                .count()
        })
        .unwrap_or(0)
}

/// Counts a clean ingestion and a crashed one must agree on.
fn tally(db: &Path) -> (i64, i64, i64, i64, i64, i64) {
    let s = Store::open(db).unwrap();
    let c = s.counts().unwrap();
    let sum: i64 =
        s.conn().query_row("SELECT COALESCE(SUM(hk), 0) FROM sources", [], |r| r.get(0)).unwrap();
    let agg: i64 = s
        .conn()
        .query_row("SELECT SUM(n) FROM hk_daily WHERE param = 'uptime_s'", [], |r| r.get(0))
        .unwrap();
    (c.hk, c.events, c.ingested, c.quarantined, sum, agg)
}

/// Kill cycles; each drops [`PER_CYCLE`] new archives before the monitor starts.
const CYCLES: usize = 20;
const PER_CYCLE: usize = 2;
const HK_PER_FILE: u64 = 120;

/// The files of cycle `c` (0-based; cycle 0 also drops a file that is not telemetry).
fn drop_files(dir: &Path, c: usize) {
    for k in c * PER_CYCLE..(c + 1) * PER_CYCLE {
        let start = 1000 + k as i64 * 200;
        archive(&dir.join(format!("tm-{k:03}.eica")), start, HK_PER_FILE, false);
    }
    if c == 0 {
        fs::write(dir.join("junk.bin"), b"not telemetry at all").unwrap();
    }
}

#[test]
fn kill_9_during_ingestion_loses_and_duplicates_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    // A reference: clean ingestion.
    let clean_dir = tmp.path().join("clean");
    fs::create_dir_all(&clean_dir).unwrap();
    archive(&clean_dir.join("tm-alarm.eica"), 0, 60, true);
    for c in 0..CYCLES {
        drop_files(&clean_dir, c);
    }
    let clean_db = tmp.path().join("clean.db");
    let t = Instant::now();
    let st = monitor(&clean_db, &clean_dir, &[]).status().unwrap();
    let clean_time = t.elapsed();
    assert_eq!(st.code(), Some(2), "a quarantined file: exit 2");
    let clean = tally(&clean_db);
    let files = (CYCLES * PER_CYCLE) as i64;
    assert_eq!(clean.0, 60 + files * HK_PER_FILE as i64);
    assert_eq!((clean.2, clean.3), (1 + files, 1));
    assert_eq!(clean.4, clean.0);
    assert_eq!(clean.5, clean.0, "aggregates count every report once");

    // The crashed run: first an alarm, acknowledged by an operator.
    let dir = tmp.path().join("drop");
    fs::create_dir_all(&dir).unwrap();
    archive(&dir.join("tm-alarm.eica"), 0, 60, true);
    let db = tmp.path().join("m.db");
    assert_eq!(monitor(&db, &dir, &[]).status().unwrap().code(), Some(0));
    let alarm_id: i64 = {
        let s = Store::open(&db).unwrap();
        s.conn()
            .query_row("SELECT id FROM alarms WHERE key = 'hk:rate_sector0'", [], |r| r.get(0))
            .unwrap()
    };
    let out = Command::new(BIN)
        .args([
            "monitor",
            "alarm",
            "ack",
            &alarm_id.to_string(),
            "--by",
            "alice",
            "--comment",
            "test burst",
        ])
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // 20 kills at random moments of a run over fresh files (seeded: the moments are
    // printed), each within the time a clean run takes for one cycle's files.
    let span_us = (clean_time.as_micros() as u64 / CYCLES as u64).max(20_000) + 10_000;
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut moments = Vec::new();
    let mut interrupted = 0;
    for c in 0..CYCLES {
        drop_files(&dir, c);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let at = Duration::from_micros(x % span_us);
        moments.push(at.as_millis());
        let mut child = monitor(&db, &dir, &[]).stderr(Stdio::null()).spawn().unwrap();
        std::thread::sleep(at);
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        interrupted += usize::from(!left_in(&dir).is_empty());
    }
    assert!(interrupted >= CYCLES / 2, "most kills must land before the end: {interrupted}");
    eprintln!("clean run {clean_time:?}; kills at ms {moments:?}, {interrupted} left files behind");
    let st = monitor(&db, &dir, &[]).output().unwrap();
    assert!(matches!(st.status.code(), Some(0 | 2)), "{}", String::from_utf8_lossy(&st.stderr));
    let crashed = tally(&db);
    assert_eq!(crashed, clean, "(hk, events, ingested, quarantined, hk by source, aggregated)");
    assert!(left_in(&dir).is_empty(), "files left in the drop directory: {:?}", left_in(&dir));
    assert_eq!(files_in(&dir.join("ingested")), 1 + CYCLES * PER_CYCLE);
    assert_eq!(files_in(&dir.join("quarantine")), 1);
    let s = Store::open(&db).unwrap();
    let (acked, by): (bool, String) = s
        .conn()
        .query_row("SELECT acked, acked_by FROM alarms WHERE id = ?1", [alarm_id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert!(acked && by == "alice", "the acknowledgement survived");
    let dup: i64 = s
        .conn()
        .query_row(
            "SELECT COUNT(*) FROM (SELECT rx_ns FROM hk GROUP BY rx_ns HAVING COUNT(*) > 1)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(dup, 0, "no duplicated HK row");
}

#[test]
fn damaged_random_and_oversized_files_are_quarantined_with_a_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("drop");
    fs::create_dir_all(&dir).unwrap();
    let good = tmp.path().join("good.eica");
    archive(&good, 0, 40, false);
    let good = fs::read(&good).unwrap();
    let mut x: u64 = 12345;
    let mut rnd = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut n = 0;
    let mut put = |name: String, data: &[u8]| {
        fs::write(dir.join(name), data).unwrap();
        n += 1;
    };
    for k in 0..25 {
        // Truncated archives (torn tail).
        let mut cut = 30 + (rnd() as usize % (good.len() - 40));
        let record = eic_bench::archive::HEADER_LEN
            + tc_tm::mission::CADU_LEN
            + eic_bench::archive::TRAILER_LEN;
        if cut.is_multiple_of(record) {
            cut += 1; // a cut on a record boundary leaves an intact, shorter archive
        }
        put(format!("trunc-{k:02}.eica"), &good[..cut]);
    }
    for k in 0..25 {
        // Bit flips inside a record (CRC).
        let mut d = good.clone();
        let at = 24 + (rnd() as usize % (d.len() - 30));
        d[at] ^= 1 << (rnd() % 8);
        put(format!("flip-{k:02}.eica"), &d);
    }
    for k in 0..20 {
        // Random octets, some with an archive's or a CADU's first octets.
        let len = 1 + rnd() as usize % 5000;
        let mut d: Vec<u8> = (0..len).map(|_| rnd() as u8).collect();
        let head: &[u8] = match k % 4 {
            0 => b"EICR",
            1 => &[0x1A, 0xCF, 0xFC, 0x1D],
            _ => b"",
        };
        d.splice(0..0, head.iter().copied());
        put(format!("random-{k:02}.dat"), &d);
    }
    for k in 0..10 {
        // Event, attitude and orbit files that are not.
        let name = ["ECL-EVT-SEC_bad{k}.csv", "SVO-ATT-CNV_bad{k}.fits", "ECL-EVT-SEC_bad{k}.fits"]
            [k % 3]
            .replace("{k}", &k.to_string());
        let body = if k % 2 == 0 {
            format!("TIME,Y,Z,PHA\n1.0,99,{k},x\n")
        } else {
            format!("SIMPLE  = {k}")
        };
        put(name, body.as_bytes());
    }
    put("empty.eica".to_owned(), b"");
    for k in 0..9u8 {
        put(format!("tiny-{k}.eica"), &[k; 3]);
    }
    for k in 0..10 {
        // Oversized: above --max-file-mb 1 (a valid archive padded with records beyond 1 MiB,
        // and a large random file).
        let mut d = good.clone();
        while d.len() <= (1 << 20) + k * 1000 {
            d.extend_from_slice(&good);
        }
        d.push(k as u8); // each file distinct (identical contents are one source)
        if k % 2 == 1 {
            d = (0..d.len()).map(|_| rnd() as u8).collect();
        }
        put(format!("big-{k}.eica"), &d);
    }

    assert_eq!(n, 100);
    let db = tmp.path().join("m.db");
    let out = monitor(&db, &dir, &["--max-file-mb", "1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let usage =
        nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN).unwrap();
    let max_rss_mb = usage.max_rss() / 1024;
    eprintln!("peak RSS of the monitor processes: {max_rss_mb} MB");
    assert!(max_rss_mb < 200, "memory bounded: {max_rss_mb} MB");
    assert!(left_in(&dir).is_empty());
    let ingested: Vec<_> =
        fs::read_dir(dir.join("ingested")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(ingested.is_empty(), "{ingested:?}");
    let q = dir.join("quarantine");
    assert_eq!(files_in(&q), 100);
    for e in fs::read_dir(&q).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|e| e == "why") {
            continue;
        }
        let mut why = p.clone().into_os_string();
        why.push(".why");
        let text = fs::read_to_string(&why).unwrap_or_else(|_| panic!("{}: no .why", p.display()));
        assert!(text.trim().len() > 10, "{}: {text}", p.display());
    }
    let s = Store::open(&db).unwrap();
    let c = s.counts().unwrap();
    assert_eq!((c.hk, c.quarantined, c.ingested), (0, 100, 0));
    let reasons: Vec<String> = {
        let mut st =
            s.conn().prepare("SELECT reason FROM sources WHERE name LIKE 'big-%'").unwrap();
        st.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    assert!(reasons.iter().all(|r| r.contains("larger than the limit")), "{reasons:?}");
}

#[test]
fn live_from_the_twin_until_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("live.db");
    let child = Command::new(BIN)
        .args(["monitor", "--device", "twin", "--no-web", "--db"])
        .arg(&db)
        .env("EIC_TWIN_STATE", tmp.path().join("twin"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut hk = 0;
    while Instant::now() < deadline && hk < 3 {
        std::thread::sleep(Duration::from_millis(300));
        if let Ok(s) = Store::open(&db) {
            hk = s.counts().map(|c| c.hk).unwrap_or(0);
        }
    }
    let st = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(st.success());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(hk >= 3, "HK stored live: {hk}; {err}");
    let s = Store::open(&db).unwrap();
    let src = s.sources(None, 10).unwrap();
    assert_eq!(src.len(), 1, "{src:?}");
    assert_eq!((src[0].kind.as_str(), src[0].status.as_str()), ("device", "closed"));
    assert_eq!(src[0].hk, s.counts().unwrap().hk, "provenance counts every report");
    let ups: Vec<(bool, String)> = {
        let mut st = s.conn().prepare("SELECT up, detail FROM link_events ORDER BY at_ns").unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
    };
    assert_eq!(ups, [(true, "connected".to_owned()), (false, "stopped".to_owned())]);
    // Every parameter of the newest report is there, with the twin's software version.
    let latest = s.latest_hk().unwrap().unwrap();
    assert_eq!(latest.values.len(), tc_tm::service::housekeeping::HkReport::field_names().count());
    let v = latest.values.iter().find(|(n, _)| n == "sw_version").unwrap().1;
    assert_eq!(v, f64::from(0x0100_0000u32), "software 1.0.0");
}

#[test]
fn report_shows_extremes_crossings_gaps_and_the_alarm_timeline() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("drop");
    fs::create_dir_all(&dir).unwrap();
    // 60 s with an excursion of sector 0 to 3000 counts/s, then 60 s more after a 30 s gap.
    archive(&dir.join("a.eica"), 0, 60, true);
    archive(&dir.join("b.eica"), 90, 60, false);
    let db = tmp.path().join("m.db");
    assert_eq!(monitor(&db, &dir, &[]).status().unwrap().code(), Some(0));
    let id: i64 = Store::open(&db)
        .unwrap()
        .conn()
        .query_row("SELECT id FROM alarms WHERE key = 'hk:rate_sector0'", [], |r| r.get(0))
        .unwrap();
    let ack = Command::new(BIN)
        .args(["monitor", "alarm", "ack", &id.to_string(), "--by", "bob", "--comment", "seen"])
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    assert!(ack.status.success(), "{}", String::from_utf8_lossy(&ack.stderr));
    let out = tmp.path().join("rep");
    let st = Command::new(BIN)
        .args([
            "monitor",
            "report",
            "--from",
            "2026-12-01T00:00:00Z",
            "--to",
            "2026-12-02T00:00:00Z",
        ])
        .arg("--db")
        .arg(&db)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    let r: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(r["hk_reports"], 120);
    let p = r["params"].as_array().unwrap().iter().find(|p| p["name"] == "rate_sector0").unwrap();
    assert_eq!(p["max"], 3000.0);
    assert_eq!(p["max_at"], "2026-12-01T00:00:10.000Z");
    assert_eq!((p["soft_crossings"].as_u64(), p["samples_beyond"].as_u64()), (Some(1), Some(5)));
    let gaps: Vec<_> = r["outages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["duration_s"].as_f64().unwrap())
        .collect();
    assert_eq!(gaps, [31.0], "the 30 s hole between the files");
    let alarms = r["alarms"].as_array().unwrap();
    let hk = alarms.iter().find(|a| a["alarm"]["key"] == "hk:rate_sector0").unwrap();
    let kinds: Vec<_> =
        hk["transitions"].as_array().unwrap().iter().map(|t| t["kind"].as_str().unwrap()).collect();
    // Raised after 3 samples (persistence), cleared once back under 2000 - 100, then acknowledged.
    assert_eq!(kinds, ["raised", "cleared", "acknowledged", "closed"]);
    assert_eq!(hk["transitions"][0]["at_ns"], T0 + 12_000_000_000i64);
    assert!(alarms.iter().any(|a| a["alarm"]["key"] == "stale"), "the gap raised `stale`");
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("id=\"plot-rate_sector0\"") && html.contains("<svg"));
    assert!(html.contains("Alarm report") && html.contains("bob"));
    assert!(
        !html.contains("<script") && !html.contains("src=\"http") && !html.contains("href=\"http"),
        "offline page"
    );
}

/// Starts `eic-bench twin` on `state`, waits for its paths file, returns the child and its
/// TC/TM device. The caller stops and waits for it (`stop`, or kill and wait).
#[allow(clippy::zombie_processes)]
fn start_twin(state: &Path, paths: &Path) -> (std::process::Child, PathBuf) {
    let _ = fs::remove_file(paths);
    let child = Command::new(BIN)
        .args(["twin", "--state"])
        .arg(state)
        .arg("--print-paths")
        .arg(paths)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(text) = fs::read_to_string(paths)
            && let Ok(v) = serde_json::from_str::<serde_json::Value>(&text)
            && let Some(p) = v["tctm"].as_str()
        {
            return (child, PathBuf::from(p));
        }
        if Instant::now() >= deadline {
            let (code, err) = stop(child);
            panic!("the twin wrote no paths file (exit {code:?}): {err}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until `done` holds on the store, for at most `secs`.
fn wait_store<T>(db: &Path, secs: u64, mut done: impl FnMut(&Store) -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Ok(s) = Store::open(db)
            && let Some(v) = done(&s)
        {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn link_events(s: &Store) -> Vec<(bool, String)> {
    let mut st = s.conn().prepare("SELECT up, detail FROM link_events ORDER BY at_ns").unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
}

/// Stops a child (SIGTERM, then SIGKILL after 10 s) and returns its exit code and stderr.
fn stop(mut c: std::process::Child) -> (Option<i32>, String) {
    let _ = Command::new("kill").args(["-TERM", &c.id().to_string()]).status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = c.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = c.kill();
    let out = c.wait_with_output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The unit goes away (its process killed: the line is lost) and comes back under the same
/// device name (a stable name, as udev gives a USB serial adapter): the monitor records the
/// loss, reconnects by itself and stores the new unit's HK, with default options.
#[test]
fn live_line_loss_then_reconnection_by_itself() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("live.db");
    let state = tmp.path().join("twin");
    let device = tmp.path().join("ugts");
    let (first, pts) = start_twin(&state, &tmp.path().join("paths1.json"));
    std::os::unix::fs::symlink(&pts, &device).unwrap();
    let mon = Command::new(BIN)
        .args(["monitor", "--no-web", "--db"])
        .arg(&db)
        .arg("--device")
        .arg(&device)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut units = vec![first];
    let fail = |units: Vec<std::process::Child>, mon, what: &str| -> ! {
        for u in units {
            stop(u);
        }
        let (code, err) = stop(mon);
        panic!("{what}; monitor exit {code:?}, stderr:\n{err}");
    };
    let Some(hk_before) =
        wait_store(&db, 60, |s| s.counts().ok().map(|c| c.hk).filter(|&n| n >= 2))
    else {
        fail(units, mon, "no HK from the first unit")
    };
    // The unit disappears at once (kill -9): the line is lost mid-stream.
    let mut first = units.remove(0);
    first.kill().unwrap();
    first.wait().unwrap();
    if wait_store(&db, 30, |s| link_events(s).iter().any(|(up, _)| !up).then_some(())).is_none() {
        fail(units, mon, "the line loss was not recorded");
    }
    let (second, pts) = start_twin(&state, &tmp.path().join("paths2.json"));
    units.push(second);
    fs::remove_file(&device).unwrap();
    std::os::unix::fs::symlink(&pts, &device).unwrap();
    let hk_lost = Store::open(&db).unwrap().counts().unwrap().hk;
    assert!(hk_lost >= hk_before);
    if wait_store(&db, 90, |s| s.counts().ok().map(|c| c.hk).filter(|&n| n >= hk_lost + 2))
        .is_none()
    {
        fail(units, mon, "no HK after the unit came back");
    }
    let (code, err) = stop(mon);
    for u in units {
        stop(u);
    }
    assert_eq!(code, Some(0), "{err}");
    let s = Store::open(&db).unwrap();
    let ev = link_events(&s);
    let ups: Vec<bool> = ev.iter().map(|e| e.0).collect();
    assert_eq!(ups, [true, false, true, false], "{ev:?}\n{err}");
    assert_eq!(ev[3].1, "stopped", "{ev:?}");
    assert_ne!(ev[1].1, "stopped", "the loss is recorded with its cause: {ev:?}");
    let src = s.sources(None, 10).unwrap();
    assert_eq!(src.iter().filter(|x| x.kind == "device").count(), 2, "{src:?}");
    assert!(err.contains("reconnecting"), "{err}");
}
