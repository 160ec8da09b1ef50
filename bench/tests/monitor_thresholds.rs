//! The trigger page shows the on-board thresholds in force (issue #20): a TM archive dropped
//! in the watch directory, as `eic-bench tables pull DEVICE --archive FILE` records one (the
//! unit's HK naming its table versions and CRCs, a directory report, 200,6 dump segments of
//! the tables), then the unit running a CRT version that was never dumped. The monitor
//! (the binary, `--once`) stores the images; the page (served over HTTP by the monitor's web
//! server on that store) shows the thresholds of the version in force with where they come
//! from, each alert against the threshold of its time, and "unknown (version N not seen)"
//! for the version whose contents it does not know. About 1 s.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use eic_bench::hk_limits::LimitSet;
use eic_bench::monitor::synth::{ArchiveSynth, nominal_hk};
use eic_bench::monitor::web::data::{MonitorData, Role, UserRecord};
use eic_bench::monitor::web::store::StoreData;
use eic_bench::monitor::web::{self, WebConfig, auth};
use tables::TableId;
use tc_tm::crc::crc32;
use tc_tm::service::Report;
use tc_tm::service::housekeeping::HkTable;
use tc_tm::service::table::{
    BufferSel, DirectoryEntry, DumpSegment, InactiveState, MAX_DUMP_SEGMENT_LEN,
    Report as TableReport,
};
use tc_tm::service::trigger::{Alert, CucTime, Report as TrigReport, SlewRequest, TriggerType};

const BIN: &str = env!("CARGO_BIN_EXE_eic-bench");
const T0: i64 = 1_796_083_200_000_000_000; // 2026-12-01T00:00:00Z
const S: i64 = 1_000_000_000;

fn request(addr: &str, req: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.write_all(req.as_bytes()).expect("write");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).expect("read");
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, text)
}

fn alert(seq: u16, timescale_ms: u32, snr_centi: u16) -> Alert {
    Alert {
        trigger_type: TriggerType::Crt,
        burst_id: 7,
        seq_num: seq,
        timescale_ms,
        window_start: CucTime { coarse: 100, fine: 0 },
        window_end: CucTime { coarse: 101, fine: 0 },
        energy_min_kev: 5,
        energy_max_kev: 50,
        rate_snr_centi: snr_centi,
        image_snr_centi: 700,
        y_udeg: 0,
        z_udeg: 0,
        ra_udeg: 120_000_000,
        dec_udeg: 30_000_000,
        error_radius_udeg: 100_000,
        catalogue_id: 0,
        slew: SlewRequest::NotRequested,
    }
}

/// HK naming the CRT table at `crt` and the band and alert tables of `set`.
fn hk_with(i: u64, slots: &[(TableId, u16, u32)]) -> tc_tm::service::housekeeping::HkReport {
    let mut hk = nominal_hk(i, i as u32);
    hk.table_count = slots.len() as u8;
    for (slot, &(id, version, crc)) in hk.tables.iter_mut().zip(slots) {
        *slot = HkTable {
            table_id: id as u8,
            active_version: version,
            active_crc: crc,
            inactive_state: InactiveState::Empty,
        };
    }
    hk.crt_enabled = true;
    hk
}

fn write_archive(path: &Path) {
    let mut set = tables::defaults::generate(tables::defaults::DEFAULT_SEED);
    // Distinctive thresholds: 640 ms at 7.25 σ in every trigger band, version 41.
    set.crt.version = 41;
    for ts in set.crt.timescales.iter_mut().filter(|t| t.duration_ms == 640) {
        for snr in ts.rate_snr.iter_mut() {
            *snr = 7.25;
        }
    }
    let crt = set.image(TableId::Crt).unwrap();
    let bands = set.image(TableId::Bands).unwrap();
    let alert_t = set.image(TableId::Alert).unwrap();
    let v = |id: TableId| set.version(id);
    let slots_old = [
        (TableId::Bands, v(TableId::Bands), crc32(&bands)),
        (TableId::Crt, 41, crc32(&crt)),
        (TableId::Alert, v(TableId::Alert), crc32(&alert_t)),
    ];
    // Later the unit runs CRT version 42, never dumped.
    let slots_new = [slots_old[0], (TableId::Crt, 42, 0x1234_5678), slots_old[2]];

    let mut a = ArchiveSynth::new(std::io::BufWriter::new(std::fs::File::create(path).unwrap()));
    let mut t = T0;
    for i in 0..10 {
        a.hk(t, i as f64, &hk_with(i, &slots_old)).unwrap();
        t += S;
    }
    // What `tables pull` receives: the directory, then the dumps (segments out of order).
    let entries: Vec<DirectoryEntry> = slots_old
        .iter()
        .map(|&(id, version, crc)| DirectoryEntry {
            table_id: id as u8,
            active_version: version,
            active_crc: crc,
            ..DirectoryEntry::default()
        })
        .collect();
    let mut items = vec![0u8; entries.len() * 26];
    let list = tc_tm::service::List::encode_into(&entries, &mut items).unwrap();
    a.typed(t, 10.0, &Report::Table(TableReport::Directory(list))).unwrap();
    for (id, img) in [(TableId::Crt, &crt), (TableId::Bands, &bands), (TableId::Alert, &alert_t)] {
        let mut offsets: Vec<usize> = (0..img.len()).step_by(MAX_DUMP_SEGMENT_LEN / 8).collect();
        offsets.reverse();
        for o in offsets {
            let seg = DumpSegment {
                table_id: id as u8,
                buffer: BufferSel::Active,
                version: v(id),
                total_len: img.len() as u32,
                offset: o as u32,
                data: &img[o..(o + MAX_DUMP_SEGMENT_LEN / 8).min(img.len())],
            };
            a.typed(t, 10.0, &Report::Table(TableReport::DumpSegment(seg))).unwrap();
        }
    }
    t += S;
    // An alert on 640 ms under version 41 (threshold 7.25 σ).
    a.typed(t, 11.0, &Report::Trigger(TrigReport::Alert(alert(1, 640, 980)))).unwrap();
    t += S;
    for i in 12..20 {
        a.hk(t, i as f64, &hk_with(i, &slots_new)).unwrap();
        t += S;
    }
    // An alert under version 42, whose contents are unknown.
    a.typed(t, 21.0, &Report::Trigger(TrigReport::Alert(alert(2, 640, 990)))).unwrap();
    a.hk(t + S, 22.0, &hk_with(22, &slots_new)).unwrap();
    a.into_inner().flush().unwrap();
}

#[test]
fn trigger_page_shows_the_thresholds_in_force() {
    let tmp = tempfile::tempdir().unwrap();
    let drop = tmp.path().join("drop");
    std::fs::create_dir_all(&drop).unwrap();
    write_archive(&drop.join("pull-twin.eica"));
    let db = tmp.path().join("m.db");
    let out = Command::new(BIN)
        .args(["monitor", "--once", "--json", "--db"])
        .arg(&db)
        .arg("--watch")
        .arg(&drop)
        .env("XDG_STATE_HOME", tmp.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "monitor: {}", String::from_utf8_lossy(&out.stderr));

    let limits =
        LimitSet::parse(include_str!("../hk-limits.toml"), "bench/hk-limits.toml").unwrap();
    let data = StoreData::open(&db, limits).unwrap();
    let password_hash = auth::hash_password("pw-of-viewer").unwrap();
    data.put_user(&UserRecord { name: "v".into(), role: Role::Viewer, password_hash }).unwrap();
    let cfg = WebConfig { listen: "127.0.0.1:0".parse().unwrap(), ..WebConfig::default() };
    let server = web::start(&cfg, Arc::new(data)).unwrap();
    let addr = server.addr().to_string();
    let (_, page) = request(
        &addr,
        &format!("GET /login HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    );
    let token = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    let body = format!("csrf={token}&next=%2Ftrigger&user=v&password=pw-of-viewer");
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
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie: eic_monitor_session="))
        .and_then(|l| l.split_once(": ").map(|(_, v)| v.split(';').next().unwrap_or("").to_owned()))
        .unwrap();
    let (st, page) = request(
        &addr,
        &format!(
            "GET /trigger HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nCookie: {session}\r\n\r\n"
        ),
    );
    server.stop().unwrap();
    assert_eq!(st, 200, "{page}");

    // Now (the newest HK): CRT version 42 is in force and was never dumped.
    let row = |table: &str| -> Vec<&str> {
        page.split("<tr").filter(|r| r.contains(&format!("data-table=\"{table}\""))).collect()
    };
    let crt = row("crt");
    assert_eq!(crt.len(), 1, "{crt:?}");
    assert!(crt[0].contains("unknown (version 42 not seen)"), "{}", crt[0]);
    assert!(crt[0].contains("crt v42 (CRC 12345678)"), "{}", crt[0]);
    // The band and alert tables in force were dumped: their contents, with where from.
    let bands = row("bands");
    assert!(bands.len() >= 2 && bands[0].contains("elementary band 0"), "{bands:?}");
    assert!(bands[0].contains(", dumped 2026-12-01"), "{}", bands[0]);
    let alert_rows = row("alert");
    assert!(alert_rows.iter().any(|r| r.contains("minimum SNR of an alert")), "{alert_rows:?}");
    // Each alert against the threshold of its time.
    let alerts: Vec<&str> = page.split("<tr data-alert-id=").skip(1).collect();
    assert_eq!(alerts.len(), 2);
    // Newest first: under version 42 (unknown), then under 41 (640 ms at 7.25 σ).
    assert!(alerts[0].contains("unknown (crt version 42 not seen)"), "{}", alerts[0]);
    assert!(alerts[1].contains("≥ 7.25 σ (crt v41)"), "{}", alerts[1]);
    // The sector rates say the limit is the ground's.
    assert!(page.contains("Ground limit"));

    // Version 41's contents are known: the store has them, keyed by version and CRC, and
    // the page shows them for a time when 41 was in force.
    let store = eic_bench::monitor::db::Store::open(&db).unwrap();
    let c = eic_bench::monitor::thresholds::Contents::at(store.conn(), T0 + 5 * S).unwrap();
    let d = c.describe(store.conn()).unwrap();
    let crt41 = d.iter().find(|t| t.table == "crt").unwrap();
    assert_eq!((crt41.version, crt41.unknown.as_deref()), (41, None));
    assert!(
        crt41
            .rows
            .iter()
            .any(|(what, v)| what.starts_with("rate SNR, 640 ms, band") && v == "7.25 σ"),
        "{:?}",
        crt41.rows
    );
    let n: i64 =
        store.conn().query_row("SELECT COUNT(*) FROM table_images", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 3);
}
