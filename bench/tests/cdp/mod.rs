//! A minimal Chrome DevTools Protocol client for the browser tests: Debian's `chromium`
//! headless with `--remote-debugging-port=0`, one websocket to the browser, isolated browser
//! contexts (one cookie jar per user), pages driven by `Page.navigate` and
//! `Runtime.evaluate`. Every wait is bounded.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

/// The chromium binary, or a panic that says how to install it.
pub fn chromium() -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths).map(|d| d.join("chromium")).find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!("chromium is required by this test: apt-get install -y chromium (scripts/test does)")
    })
}

/// A headless chromium and the websocket to its browser target.
pub struct Browser {
    child: Child,
    ws: WebSocket<TcpStream>,
    next_id: u64,
    _profile: tempfile::TempDir,
}

/// A page (tab) in its own browser context.
#[derive(Debug, Clone)]
pub struct Page {
    /// The flattened session of the target.
    pub session: String,
}

impl Browser {
    /// Starts chromium and connects.
    pub fn start() -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(chromium())
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                &format!("--user-data-dir={}", profile.path().display()),
                "about:blank",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starts chromium");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // Read stderr to its end (chromium blocks on a full pipe); send the address once.
            let mut lines = BufReader::new(stderr).lines().map_while(Result::ok);
            if let Some(url) =
                lines.find_map(|l| l.strip_prefix("DevTools listening on ").map(str::to_owned))
            {
                let _ = tx.send(url.trim().to_owned());
            }
            lines.for_each(drop);
        });
        let url = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("chromium printed its DevTools address");
        let hostport = url.trim_start_matches("ws://").split('/').next().unwrap().to_owned();
        let stream = TcpStream::connect(&hostport).unwrap();
        // Blocking (bounded) for the handshake; short timeouts afterwards so `call` can poll.
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let (ws, _) = tungstenite::client(url.as_str(), stream).expect("websocket to chromium");
        ws.get_ref().set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        Browser { child, ws, next_id: 1, _profile: profile }
    }

    /// Sends one command (to the browser, or to a page's session) and waits for its answer.
    pub fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        let v = self.call_raw(session, method, params);
        assert!(v.get("error").is_none(), "{method}: {}", v["error"]);
        v["result"].clone()
    }

    /// As [`Browser::call`], the whole answer (with `error` when the command failed).
    pub fn call_raw(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        self.ws.send(Message::text(msg.to_string())).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            assert!(Instant::now() < deadline, "no answer from chromium to {method}");
            match self.ws.read() {
                Ok(Message::Text(t)) => {
                    let v: Value = serde_json::from_str(t.as_str()).unwrap();
                    if v["id"] == json!(id) {
                        return v;
                    }
                }
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => panic!("websocket to chromium: {e}"),
            }
        }
    }

    /// A new page in a new browser context (its own cookies).
    pub fn new_page(&mut self) -> Page {
        let ctx = self.call(None, "Target.createBrowserContext", json!({}));
        let ctx = ctx["browserContextId"].as_str().unwrap().to_owned();
        let t = self.call(
            None,
            "Target.createTarget",
            json!({ "url": "about:blank", "browserContextId": ctx }),
        );
        let target = t["targetId"].as_str().unwrap().to_owned();
        let a = self.call(
            None,
            "Target.attachToTarget",
            json!({ "targetId": target, "flatten": true }),
        );
        Page { session: a["sessionId"].as_str().unwrap().to_owned() }
    }

    /// Evaluates `js` in the page (promises awaited) and returns its value.
    pub fn eval(&mut self, p: &Page, js: &str) -> Value {
        let r = self.call(
            Some(&p.session),
            "Runtime.evaluate",
            json!({ "expression": js, "returnByValue": true, "awaitPromise": true }),
        );
        assert!(r.get("exceptionDetails").is_none(), "{js}: {}", r["exceptionDetails"]);
        r["result"]["value"].clone()
    }

    /// Navigates and waits for the document to be complete.
    pub fn goto(&mut self, p: &Page, url: &str) {
        self.call(Some(&p.session), "Page.navigate", json!({ "url": url }));
        self.wait_for(
            p,
            "document.readyState === 'complete' && location.href !== 'about:blank'",
            Duration::from_secs(15),
        );
    }

    /// Polls `js` (every 50 ms) until it is true; returns how long it took.
    pub fn wait_for(&mut self, p: &Page, js: &str, limit: Duration) -> Duration {
        let t0 = Instant::now();
        loop {
            // A navigation may destroy the context mid-evaluation: treat that as "not yet".
            let r = self.call_raw(
                Some(&p.session),
                "Runtime.evaluate",
                json!({ "expression": format!("!!({js})"), "returnByValue": true }),
            );
            if r["result"]["result"]["value"] == json!(true) {
                return t0.elapsed();
            }
            assert!(t0.elapsed() < limit, "waited {limit:?} for: {js}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Fills the login form and submits it; waits until the page left /login.
    pub fn login(&mut self, p: &Page, base: &str, user: &str, password: &str) {
        self.goto(p, &format!("{base}/login"));
        self.eval(
            p,
            &format!(
                "document.querySelector('input[name=user]').value = {u}; \
                 document.querySelector('input[name=password]').value = {pw}; \
                 document.getElementById('login').submit(); true",
                u = json!(user),
                pw = json!(password)
            ),
        );
        self.wait_for(
            p,
            "location.pathname !== '/login' && document.readyState === 'complete'",
            Duration::from_secs(15),
        );
    }

    /// A PNG screenshot of the page.
    pub fn screenshot(&mut self, p: &Page, path: &std::path::Path) {
        use std::io::Write;
        let r = self.call(Some(&p.session), "Page.captureScreenshot", json!({ "format": "png" }));
        let data = r["data"].as_str().unwrap();
        let bytes = base64_decode(data);
        std::fs::File::create(path).unwrap().write_all(&bytes).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            _ => 63,
        }
    };
    let mut out = Vec::new();
    let bytes: Vec<u8> = s.bytes().filter(|&c| c != b'=').collect();
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= val(c) << (18 - 6 * i);
        }
        out.push((n >> 16) as u8);
        if chunk.len() > 2 {
            out.push((n >> 8) as u8);
        }
        if chunk.len() > 3 {
            out.push(n as u8);
        }
    }
    out
}
