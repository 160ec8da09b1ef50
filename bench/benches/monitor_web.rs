//! The monitor's web page on a month of data: `cargo bench -p eic-bench --bench monitor_web`.
//!
//! A simulated month of 1 Hz HK (2 592 000 reports, stored through the ingestion's `Batch`,
//! one batch per hour, so the hourly and daily aggregates are those of a real run), 300 trigger
//! alerts and 40 alarms; the page served by the monitor's web server over that store
//! (`StoreData`, as `eic-bench monitor` serves it); one logged-in session over HTTP/1.1 on
//! loopback. Timed per request, from the request's first octet to the response's last, medians
//! of 15: the overview page, the alarms page, the trigger page, a day's trend of one parameter
//! (binned to the page's 1500 points), the month's trend (hourly aggregates), and the live
//! update (the overview's fragment).
//!
//! Without `--bench` (as `cargo test --benches` runs it) the month is 100 times smaller.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Instant;

use eic_bench::hk_limits::LimitSet;
use eic_bench::monitor::db::{DAY_NS, HOUR_NS, NewSource, Store};
use eic_bench::monitor::synth::nominal_hk;
use eic_bench::monitor::web::data::{MonitorData, Role, UserRecord};
use eic_bench::monitor::web::store::StoreData;
use eic_bench::monitor::web::{self, WebConfig, auth};
use tc_tm::service::housekeeping::{HousekeepingReport, Report as HkMsg};

const T0: i64 = 1_796_083_200_000_000_000; // 2026-12-01T00:00:00Z

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn request(addr: &str, req: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.write_all(req.as_bytes()).expect("write");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).expect("read");
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, text)
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let scale: i64 = if quick { 100 } else { 1 };
    let tmp = tempfile::tempdir().expect("temp dir");
    let db = tmp.path().join("month.db");
    let days = 30;
    let per_hour = 3600 / scale;
    let step = HOUR_NS / per_hour;
    let t = Instant::now();
    {
        let mut store = Store::open(&db).expect("db");
        for h in 0..days * 24 {
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
            }
            b.commit(None).expect("commit");
        }
        let c = store.conn();
        for i in 0..300i64 {
            c.execute(
                "INSERT INTO alerts (rx_ns, cuc_s, source_id, trigger_type, burst_id, seq_num, \
                 timescale_ms, rate_snr, image_snr, ra_deg, dec_deg, error_deg, catalogue_id, notice) \
                 VALUES (?1, 0, 1, 'crt', ?2, 1, 1280, 9.5, 11.0, ?3, ?4, 0.1, 0, '{}')",
                rusqlite::params![T0 + i * (days * DAY_NS / 300), i, (i * 37 % 360) as f64, (i * 13 % 150) as f64 - 75.0],
            )
            .expect("alert");
        }
        for i in 0..40i64 {
            c.execute(
                "INSERT INTO alarms (key, severity, message, value, active, raised_ns, updated_ns, closed) \
                 VALUES (?1, 1, 'rate above soft high', 2500, ?2, ?3, ?3, ?4)",
                rusqlite::params![format!("hk:rate_sector{}", i % 8), i % 2, T0 + i * HOUR_NS, i < 30],
            )
            .expect("alarm");
        }
        c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").expect("checkpoint");
    }
    println!(
        "eic-bench monitor web page benchmarks ({} HK reports over {days} days, built in {:.0} s)",
        days * 24 * per_hour,
        t.elapsed().as_secs_f64()
    );

    let limits =
        LimitSet::parse(include_str!("../hk-limits.toml"), "bench/hk-limits.toml").expect("limits");
    let data = StoreData::open(&db, limits).expect("store");
    let password_hash = auth::hash_password("bench-password").expect("hash");
    data.put_user(&UserRecord { name: "bench".into(), role: Role::Operator, password_hash })
        .expect("user");
    let cfg = WebConfig { listen: "127.0.0.1:0".parse().expect("addr"), ..WebConfig::default() };
    let server = web::start(&cfg, Arc::new(data)).expect("server");
    let addr = server.addr().to_string();

    // Log in once (login form token, then the session cookie).
    let (_, page) = request(
        &addr,
        &format!("GET /login HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    );
    let token = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("token")
        .to_owned();
    let body = format!("csrf={token}&next=%2F&user=bench&password=bench-password");
    let (st, resp) = request(
        &addr,
        &format!(
            "POST /login HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nCookie: {}={token}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            web::LOGIN_COOKIE,
            body.len()
        ),
    );
    assert_eq!(st, 303, "login: {resp}");
    let session = resp
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .starts_with("set-cookie: eic_monitor_session=")
                .then(|| l.to_owned())
        })
        .and_then(|l| l.split_once(": ").map(|(_, v)| v.split(';').next().unwrap_or("").to_owned()))
        .expect("session cookie");

    let day_from = "2026-12-11T00:00:00Z";
    let day_to = "2026-12-12T00:00:00Z";
    let pages = [
        ("the overview page (every HK parameter, alarm counts)", "/".to_owned()),
        ("the overview's live update (fragment)", "/?fragment=1".to_owned()),
        ("the alarms page (40 alarms)", "/alarms".to_owned()),
        ("the trigger page (300 alerts, sky map, per day, tables)", "/trigger".to_owned()),
        (
            "a day's trend of one parameter (binned to 1500 points)",
            format!("/trends?param=rate_sector3&from={day_from}&to={day_to}"),
        ),
        (
            "the month's trend (hourly aggregates)",
            "/trends?param=rate_sector3&from=2026-12-01T00:00:00Z&to=2026-12-31T00:00:00Z"
                .to_owned(),
        ),
    ];
    for (what, path) in pages {
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nCookie: {session}\r\n\r\n"
        );
        let (st, resp) = request(&addr, &req);
        assert_eq!(st, 200, "{path}: {}", resp.get(..300).unwrap_or(&resp));
        let ms: Vec<f64> = (0..15)
            .map(|_| {
                let t = Instant::now();
                let (st, resp) = request(&addr, &req);
                assert_eq!(st, 200);
                std::hint::black_box(resp.len());
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        println!("{what:<62} {:>8.1} ms  ({} kB)", median(ms), resp.len() / 1000);
    }
    server.stop().expect("stop");
}
