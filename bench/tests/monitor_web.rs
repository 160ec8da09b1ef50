//! `eic-bench monitor`'s web page in a real browser (Debian's `chromium`, headless, driven over
//! the DevTools protocol: `cdp/`), on a live twin:
//!
//! - a request without a session goes to the login page; the login form logs in;
//! - a burst replayed through the twin's stimulus link pushes the sector rates out of their
//!   limits: the alarm appears on the open alarms page within 2 s of the HK report that raised
//!   it, without a reload (server-sent events);
//! - an operator acknowledges it with a comment; a viewer's acknowledge is refused (403); a
//!   request without the CSRF token is refused (403);
//! - the burst's alert is on the trigger page, with its position on the sky map;
//! - nothing is loaded from anywhere but the monitor;
//! - failed logins are rate-limited (429).
//!
//! Needs `chromium` (`scripts/test` installs it); missing, the test fails and says so.

mod cdp;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_eic-bench");

/// A bright burst 40 s into 50 s of background, still bright at the end of the stream (so
/// the sector rates of the last second stay high in HK), pointing fixed near RA 150°, Dec 20°.
const SCENARIO: &str = r#"
name = "bright"
seed = 7
start = 2026-12-01T12:00:00Z
duration_s = 50

[attitude]
mode = "fixed"
ra_deg = 150.0
dec_deg = 20.0

[[burst]]
t0_s = 40.0
y_deg = 4.0
z_deg = -2.0
peak_flux = 60.0
rise_s = 0.5
decay_s = 40.0
index = 1.5
"#;

struct Proc {
    child: Child,
    log: Arc<Mutex<String>>,
}

impl Proc {
    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn bench(dir: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(dir).env_remove("EIC_TWIN_STATE").env("XDG_STATE_HOME", dir.join("state"));
    c
}

fn run_ok(c: &mut Command, stdin: &str) -> String {
    let mut child =
        c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{c:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Starts a long-running process whose stderr is collected (stdin kept open).
fn spawn(c: &mut Command) -> Proc {
    let mut child =
        c.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let log = Arc::new(Mutex::new(String::new()));
    let log2 = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            log2.lock().unwrap().push_str(&format!("{line}\n"));
        }
    });
    Proc { child, log }
}

/// Waits (bounded) for a line of the process's stderr containing `needle`.
fn wait_line(p: &Proc, needle: &str, limit: Duration) -> String {
    let t0 = Instant::now();
    loop {
        if let Some(l) = p.log().lines().find(|l| l.contains(needle)) {
            return l.to_owned();
        }
        assert!(t0.elapsed() < limit, "never said {needle:?}:\n{}", p.log());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One HTTP/1.1 request over a fresh connection: (status, headers, body).
fn http(addr: &str, request: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_owned())
}

fn get(addr: &str, path: &str) -> (u16, String, String) {
    http(addr, &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"))
}

fn post(addr: &str, path: &str, cookie: &str, body: &str) -> (u16, String, String) {
    http(
        addr,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nCookie: {cookie}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
}

#[test]
fn monitor_page_in_a_real_browser_on_a_live_twin() {
    let t0 = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("bright.toml"), SCENARIO).unwrap();
    run_ok(bench(dir).args(["simulate", "bright.toml", "-o", "sim"]), "");

    // A running twin, put in observation before the monitor takes its TC/TM link.
    let twin = spawn(bench(dir).args(["twin", "--print-paths", "twin.json", "--until-stdin-eof"]));
    let deadline = Instant::now() + Duration::from_secs(30);
    let paths: Value = loop {
        if let Some(v) = std::fs::read_to_string(dir.join("twin.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
        {
            break v;
        }
        assert!(Instant::now() < deadline, "the twin wrote no twin.json:\n{}", twin.log());
        std::thread::sleep(Duration::from_millis(50));
    };
    let tctm = paths["tctm"].as_str().unwrap().to_owned();
    let stimulus = PathBuf::from(paths["stimulus"].as_str().unwrap());
    for mode in ["standby", "observation"] {
        run_ok(
            bench(dir).args(["tc", "send", &tctm, "function", "mode", &format!("mode={mode}")]),
            "",
        );
    }

    // Users, then the monitor on the twin with its page on a free port.
    let db = dir.join("monitor.db");
    let db_s = db.to_str().unwrap();
    run_ok(
        bench(dir).args(["monitor", "user", "add", "olga", "--role", "operator", "--db", db_s]),
        "op-secret-1\nop-secret-1\n",
    );
    run_ok(
        bench(dir).args(["monitor", "user", "add", "vic", "--role", "viewer", "--db", db_s]),
        "vi-secret-1\nvi-secret-1\n",
    );
    // A drop directory with a damaged archive in it (for the files page).
    std::fs::create_dir_all(dir.join("drop")).unwrap();
    std::fs::write(dir.join("drop/junk.eica"), b"EICA? not an archive at all").unwrap();
    let monitor = spawn(bench(dir).args([
        "monitor",
        "--db",
        db_s,
        "--device",
        &tctm,
        "--watch",
        "drop",
        "--listen",
        "127.0.0.1:0",
    ]));
    let line = wait_line(&monitor, "web page on http://", Duration::from_secs(30));
    let base = line.split("web page on ").nth(1).unwrap().trim().trim_end_matches('/').to_owned();
    let addr = base.trim_start_matches("http://").to_owned();

    // Without a session: to the login page (pages and state-changing requests alike).
    let (st, head, _) = get(&addr, "/alarms");
    assert_eq!(st, 303, "{head}");
    assert!(head.contains("location: /login?next=/alarms"), "{head}");
    let (st, head, _) = post(&addr, "/alarms/1/ack", "", "comment=x");
    assert_eq!(st, 303);
    assert!(head.contains("location: /login"), "{head}");

    let mut b = cdp::Browser::start();
    let op = b.new_page();
    b.goto(&op, &format!("{base}/"));
    assert_eq!(
        b.eval(&op, "location.pathname"),
        "/login",
        "a page without a session shows the login page"
    );
    b.login(&op, &base, "olga", "op-secret-1");
    assert_eq!(b.eval(&op, "location.pathname"), "/");
    b.goto(&op, &format!("{base}/alarms"));
    // Live updates connected; mark the page (a reload would lose the marks).
    b.wait_for(&op, "document.body.dataset.stamp !== undefined", Duration::from_secs(10));
    b.eval(
        &op,
        "window.__marker = 'no-reload'; window.__seen = {}; \
         const seen = () => document.querySelectorAll('tr[data-alarm-subject]').forEach(r => { \
           const k = r.dataset.alarmSubject; \
           if (!(k in window.__seen)) window.__seen[k] = { at: Date.now(), raised: Number(r.dataset.raisedMs), id: r.dataset.alarmId, state: r.dataset.alarmState }; }); \
         seen(); new MutationObserver(seen).observe(document.getElementById('live'), { childList: true, subtree: true }); true",
    );
    assert!(
        !b.eval(&op, "Object.keys(window.__seen).some(k => k.startsWith('rate_sector'))")
            .as_bool()
            .unwrap(),
        "no sector-rate alarm before the burst"
    );
    let vi = b.new_page();
    b.login(&vi, &base, "vic", "vi-secret-1");
    b.goto(&vi, &format!("{base}/alarms"));

    // The burst through the stimulus link (the monitor holds the TC/TM link and reads the TM).
    let sent = eic_bench::replay::remote::stream_stimulus(
        &dir.join("sim"),
        &stimulus,
        eic_bench::link::DEFAULT_BAUD,
    )
    .unwrap_or_else(|e| panic!("streaming the burst: {e}\n{}", monitor.log()));
    assert!(sent.events > 100_000, "{sent:?}");

    b.wait_for(
        &op,
        "Object.keys(window.__seen).some(k => k.startsWith('rate_sector'))",
        Duration::from_secs(20),
    );
    let seen = b.eval(
        &op,
        "Object.entries(window.__seen).filter(([k]) => k.startsWith('rate_sector')).map(([k, v]) => Object.assign({ key: k }, v))",
    );
    let first = &seen[0];
    let lag_ms = first["at"].as_f64().unwrap() - first["raised"].as_f64().unwrap();
    assert!(lag_ms <= 2000.0, "alarm shown {lag_ms} ms after its HK report: {seen}");
    assert_eq!(b.eval(&op, "window.__marker"), "no-reload", "the page was reloaded");
    let id = first["id"].as_str().unwrap().to_owned();

    // The operator acknowledges it with a comment.
    b.eval(
        &op,
        &format!(
            "const f = document.querySelector('tr[data-alarm-id=\"{id}\"] form.ack'); \
             f.querySelector('input[name=comment]').value = 'burst replay, expected'; f.submit(); true"
        ),
    );
    b.wait_for(
        &op,
        &format!("document.querySelector('tr[data-alarm-id=\"{id}\"]')?.dataset.alarmState === 'acknowledged'"),
        Duration::from_secs(10),
    );
    let note =
        b.eval(&op, &format!("document.querySelector('tr[data-alarm-id=\"{id}\"]').textContent"));
    assert!(
        note.as_str().unwrap().contains("acknowledged by olga: burst replay, expected"),
        "{note}"
    );

    // A viewer's acknowledge is refused (with the viewer's own valid CSRF token).
    let r = b.eval(
        &vi,
        &format!(
            "fetch('/alarms/{id}/ack', {{ method: 'POST', headers: {{ 'X-CSRF-Token': document.body.dataset.csrf }}, \
             body: new URLSearchParams({{ comment: 'me too' }}) }}).then(async r => [r.status, await r.text()])"
        ),
    );
    assert_eq!(r[0], 403, "{r}");
    assert!(r[1].as_str().unwrap().contains("needs the operator role"), "{r}");
    // The operator's request without the CSRF token is refused, and changes nothing.
    let r = b.eval(
        &op,
        &format!(
            "fetch('/alarms/{id}/shelve', {{ method: 'POST', body: new URLSearchParams({{ reason: 'x', minutes: '5' }}) }}) \
             .then(async r => [r.status, await r.text()])"
        ),
    );
    assert_eq!(r[0], 403, "{r}");
    assert!(r[1].as_str().unwrap().contains("CSRF"), "{r}");
    b.goto(&op, &format!("{base}/alarms"));
    assert_eq!(
        b.eval(
            &op,
            &format!("document.querySelector('tr[data-alarm-id=\"{id}\"]').dataset.alarmState")
        ),
        "acknowledged",
        "the refused shelve changed nothing"
    );

    // The burst's alert on the trigger page, on the sky map near the simulated position.
    b.goto(&op, &format!("{base}/trigger"));
    b.wait_for(&op, "document.querySelector('#skymap circle.alert')", Duration::from_secs(15));
    let pos = b.eval(
        &op,
        "Array.from(document.querySelectorAll('#skymap circle.alert')).map(c => [Number(c.dataset.ra), Number(c.dataset.dec)])",
    );
    let (ra, dec) = (pos[0][0].as_f64().unwrap(), pos[0][1].as_f64().unwrap());
    assert!((ra - 150.0).abs() < 10.0 && (dec - 20.0).abs() < 10.0, "alert at {pos}");
    assert!(
        b.eval(&op, "document.querySelectorAll('#alerts tr[data-alert-id]').length")
            .as_u64()
            .unwrap()
            >= 1
    );

    // Going from page to page does not use up the browser's few connections per server (each
    // page's event stream is closed when it is hidden, back/forward cache included).
    for i in 0..12 {
        let page = ["", "alarms", "trigger", "files"][i % 4];
        b.goto(&op, &format!("{base}/{page}"));
        b.wait_for(&op, "document.body.dataset.stamp !== undefined", Duration::from_secs(10));
    }

    // Trends: raw samples of any parameter; a click on the plot zooms in around that time.
    b.goto(&op, &format!("{base}/trends?param=rate_sector0"));
    let n = b.eval(&op, "Number(document.getElementById('trend').dataset.points)");
    assert!(n.as_u64().unwrap() >= 1, "{n}");
    assert_eq!(b.eval(&op, "document.getElementById('resolution').textContent"), "raw samples");
    b.eval(
        &op,
        "const t = document.getElementById('trend'), r = t.getBoundingClientRect(); \
         t.dispatchEvent(new MouseEvent('click', { bubbles: true, clientX: r.left + r.width * 0.9, clientY: r.top + r.height / 2 })); true",
    );
    b.wait_for(
        &op,
        "location.search.includes('from=') && document.getElementById('trend')",
        Duration::from_secs(10),
    );

    // Files: the damaged archive is quarantined, with the reason.
    b.goto(&op, &format!("{base}/files"));
    b.wait_for(
        &op,
        "Array.from(document.querySelectorAll('tr')).some(r => r.textContent.includes('junk.eica') && r.textContent.includes('quarantined'))",
        Duration::from_secs(15),
    );

    // EIC_MONITOR_SCREENSHOTS=DIR keeps a picture of each page (to look at them).
    if let Some(shots) = std::env::var_os("EIC_MONITOR_SCREENSHOTS") {
        let shots = PathBuf::from(shots);
        std::fs::create_dir_all(&shots).unwrap();
        b.call(Some(&op.session), "Emulation.setDeviceMetricsOverride", serde_json::json!({ "width": 1280, "height": 1400, "deviceScaleFactor": 1, "mobile": false }));
        for page in ["trigger", "alarms", "", "trends?param=rate_sector0", "files"] {
            eprintln!("screenshot of /{page}");
            b.goto(&op, &format!("{base}/{page}"));
            let name = if page.is_empty() { "overview" } else { page.split('?').next().unwrap() };
            b.screenshot(&op, &shots.join(format!("{name}.png")));
        }
    }
    // Everything the pages loaded came from the monitor.
    let foreign = b.eval(
        &op,
        &format!("performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith({:?}))", base),
    );
    assert_eq!(foreign, serde_json::json!([]), "assets from elsewhere");
    drop(b);

    // Failed logins are rate-limited per address (after the browser's logins, which succeeded).
    let (_, head, body) = get(&addr, "/login");
    let token =
        body.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let cookie = format!("eic_monitor_login={token}");
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let (st, _, _) = post(
            &addr,
            "/login",
            &cookie,
            &format!("csrf={token}&next=%2F&user=olga&password=wrong"),
        );
        statuses.push(st);
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429], "{head}");
    // Even the right password is refused while limited.
    let (st, _, _) = post(
        &addr,
        "/login",
        &cookie,
        &format!("csrf={token}&next=%2F&user=olga&password=op-secret-1"),
    );
    assert_eq!(st, 429);
    // A login without the form's CSRF token is refused.
    let (st, _, _) = post(&addr, "/login", "", "next=%2F&user=vic&password=vi-secret-1");
    assert_eq!(st, 403);
    drop(monitor);
    drop(twin);
    eprintln!(
        "monitor web browser test: alarm on the page {lag_ms} ms after its HK report; alert at RA {ra:.2}, Dec {dec:.2}; {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}
