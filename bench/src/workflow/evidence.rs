//! Evidence reports of the workflows that change a unit (`run`, `update`, `rollback`): every
//! step and every TC with its octets, times and outcome (failure code explained), as JSON for
//! scripts and as one self-contained HTML page for reviewers.
//!
//! [`Recorder`] sends TCs in the request syntax over a [`Session`] and records them; the
//! workflows add steps ([`Evidence::step`]) and free-form sections (`before`, `after`,
//! `schedule`).

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use serde::Serialize;
use tc_tm::pus::AckFlags;
use tc_tm::service::MAX_TC_APP_DATA_LEN;
use tc_tm::service::text::parse_request;
use tc_tm::service::verification::RequestId;

use crate::cmd::exit::Exit;
use crate::session::{Delivery, Session, TcOutcome, Verdict};

/// UTC as `YYYY-MM-DDTHH:MM:SS.mmmZ` from Unix seconds and nanoseconds.
pub fn utc_text(secs: i64, nanos: u32) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        nanos / 1_000_000
    )
}

/// The current UTC time as text ([`utc_text`]).
pub fn utc_now() -> String {
    let (s, n) = unix_now();
    utc_text(s, n)
}

/// The current Unix time (seconds, nanoseconds).
pub fn unix_now() -> (i64, u32) {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    (i64::try_from(d.as_secs()).unwrap_or(i64::MAX), d.subsec_nanos())
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// (year, month, day) → days since 1970-01-01.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z` (UTC) into Unix seconds.
///
/// # Errors
/// A message saying what is expected.
pub fn parse_utc(s: &str) -> Result<i64, String> {
    let bad = || format!("{s:?} is not a UTC time like 2026-12-01T10:00:00Z");
    let t = s.trim();
    let t = t.strip_suffix('Z').or_else(|| t.strip_suffix("+00:00")).ok_or_else(bad)?;
    let (date, time) = t.split_once(['T', ' ']).ok_or_else(bad)?;
    let mut dp = date.split('-');
    let (Some(y), Some(mo), Some(d), None) = (dp.next(), dp.next(), dp.next(), dp.next()) else {
        return Err(bad());
    };
    let time = time.split_once('.').map_or(time, |(a, _)| a);
    let mut tp = time.split(':');
    let (Some(h), Some(mi), Some(sec), None) = (tp.next(), tp.next(), tp.next(), tp.next()) else {
        return Err(bad());
    };
    let num = |v: &str| v.parse::<u32>().map_err(|_| bad());
    let (y, mo, d, h, mi, sec) = (num(y)?, num(mo)?, num(d)?, num(h)?, num(mi)?, num(sec)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return Err(bad());
    }
    Ok(days_from_civil(i64::from(y), mo, d) * 86_400
        + i64::from(h) * 3600
        + i64::from(mi) * 60
        + i64::from(sec))
}

/// One TC as sent and verified.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TcRecord {
    /// Position in the run (0-based).
    pub index: usize,
    /// The request in the readable syntax.
    pub text: String,
    /// Why it was sent.
    pub purpose: String,
    /// Service type and subtype.
    pub service: u8,
    /// Subtype.
    pub subtype: u8,
    /// Application data, hex.
    pub app_data: String,
    /// Request ID (packet ID and sequence control), hex.
    pub request_id: String,
    /// When it was queued, UTC.
    pub sent_utc: String,
    /// When its last awaited report arrived (or the wait ended), UTC.
    pub done_utc: String,
    /// From first transmission to the last requested stage's report, ms (completed TCs).
    pub round_trip_ms: Option<f64>,
    /// `completed`, `failed`, `timed out` or `not delivered`.
    pub outcome: String,
    /// The stage that failed or timed out.
    pub stage: Option<String>,
    /// Failure code name and value.
    pub failure_code: Option<String>,
    /// The whole failure, explained (code meaning and operator action, subject, data).
    pub failure: Option<String>,
}

impl TcRecord {
    /// Whether every awaited stage succeeded.
    pub fn ok(&self) -> bool {
        self.outcome == "completed"
    }
}

/// One step of a workflow.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StepRecord {
    /// Short name (`survey`, `load`, `check`, `reset`, ...).
    pub name: String,
    /// When it started, UTC.
    pub started_utc: String,
    /// How long it took, s.
    pub duration_s: f64,
    /// Whether it succeeded.
    pub ok: bool,
    /// One sentence saying what happened.
    pub detail: String,
    /// Figures and data of the step.
    pub data: serde_json::Value,
}

/// A whole evidence report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Evidence {
    /// `run`, `update` or `rollback`.
    pub kind: String,
    /// What was run (stack file, image file and bank, ...).
    pub subject: String,
    /// The device.
    pub device: String,
    /// Start, UTC.
    pub started_utc: String,
    /// End, UTC.
    pub finished_utc: String,
    /// Whether the workflow succeeded.
    pub ok: bool,
    /// One sentence: the outcome, or the error.
    pub outcome: String,
    /// The steps in order.
    pub steps: Vec<StepRecord>,
    /// Every TC in order.
    pub tcs: Vec<TcRecord>,
    /// Free-form sections (`before`, `after`, `schedule`, ...), in order.
    pub sections: Vec<(String, serde_json::Value)>,
}

impl Evidence {
    /// An empty report started now.
    pub fn new(kind: &str, subject: &str, device: &str) -> Self {
        Evidence {
            kind: kind.to_owned(),
            subject: subject.to_owned(),
            device: device.to_owned(),
            started_utc: utc_now(),
            finished_utc: String::new(),
            ok: false,
            outcome: String::new(),
            steps: Vec::new(),
            tcs: Vec::new(),
            sections: Vec::new(),
        }
    }

    /// Closes the report with its outcome.
    pub fn finish(&mut self, ok: bool, outcome: impl Into<String>) {
        self.ok = ok;
        self.outcome = outcome.into();
        self.finished_utc = utc_now();
    }

    /// Adds a step.
    pub fn step(
        &mut self,
        name: &str,
        started: (String, Instant),
        ok: bool,
        detail: impl Into<String>,
        data: serde_json::Value,
    ) {
        self.steps.push(StepRecord {
            name: name.to_owned(),
            started_utc: started.0,
            duration_s: started.1.elapsed().as_secs_f64(),
            ok,
            detail: detail.into(),
            data,
        });
    }

    /// Adds a free-form section.
    pub fn section(&mut self, name: &str, value: serde_json::Value) {
        self.sections.push((name.to_owned(), value));
    }

    /// The report as JSON.
    pub fn json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let Some(obj) = v.as_object_mut() {
            let sections: serde_json::Map<String, serde_json::Value> =
                self.sections.iter().cloned().collect();
            obj.insert("sections".to_owned(), serde_json::Value::Object(sections));
        }
        v
    }

    /// Writes `PATH.json` and `PATH.html` (PATH without extension, or with `.json`/`.html`,
    /// which is replaced). Returns both paths.
    ///
    /// # Errors
    /// File errors.
    pub fn write(&self, path: &Path) -> anyhow::Result<(std::path::PathBuf, std::path::PathBuf)> {
        let (json, html) = evidence_paths(path);
        if let Some(dir) = json.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let text = serde_json::to_string_pretty(&self.json())?;
        std::fs::write(&json, text).with_context(|| format!("writing {}", json.display()))?;
        std::fs::write(&html, self.html())
            .with_context(|| format!("writing {}", html.display()))?;
        Ok((json, html))
    }

    /// Checks, before any work, that [`Evidence::write`] can write at `path`: creates its
    /// directory, and refuses a directory or an unwritable place where the files go.
    ///
    /// # Errors
    /// The directory cannot be created, or `path.json`/`path.html` is a directory.
    pub fn check_output(path: &Path) -> anyhow::Result<()> {
        let (json, html) = evidence_paths(path);
        let usage = |m: String| crate::cmd::exit::Exit::Usage.error(m);
        if let Some(dir) = json.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                usage(format!(
                    "--evidence {}: cannot create the directory {}: {e}",
                    path.display(),
                    dir.display()
                ))
            })?;
        }
        for f in [json, html] {
            if f.is_dir() {
                return Err(usage(format!(
                    "--evidence {}: {} is a directory; give a file name without extension \
                     (PATH.json and PATH.html are written)",
                    path.display(),
                    f.display()
                )));
            }
        }
        Ok(())
    }

    /// The report as one self-contained HTML page (no script, no external resource) that
    /// fits a 1 280-pixel screen: a summary with the failures first, then the steps, every TC
    /// (long octet strings folded: first octets, length and CRC-32, the whole in a
    /// `<details>`), and the sections.
    pub fn html(&self) -> String {
        let mut h = String::new();
        let title = format!("eic-bench {} evidence: {}", self.kind, self.subject);
        let _ = write!(
            h,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width\"><title>{}</title>\
             <style>{STYLE}</style></head><body>\n<h1>{}</h1>\n",
            esc(&title),
            esc(&title)
        );
        let verdict = if self.ok {
            "<span class=\"ok\">OK</span>"
        } else {
            "<span class=\"bad\">FAILED</span>"
        };
        let completed = self.tcs.iter().filter(|t| t.ok()).count();
        let _ = writeln!(
            h,
            "<table class=\"head\"><tr><th>device</th><td>{}</td></tr>\
             <tr><th>started (UTC)</th><td>{}</td></tr>\
             <tr><th>finished (UTC)</th><td>{}</td></tr><tr><th>result</th><td>{} {}</td></tr>\
             <tr><th>TCs</th><td>{} ({} verified)</td></tr></table>",
            esc(&self.device),
            esc(&self.started_utc),
            esc(&self.finished_utc),
            verdict,
            esc(&self.outcome),
            self.tcs.len(),
            completed
        );
        // Summary: failures first (steps, then TCs, linked to their rows), then the counts.
        h.push_str("<h2 id=\"summary\">Summary</h2>\n");
        let failed_steps: Vec<&StepRecord> = self.steps.iter().filter(|s| !s.ok).collect();
        let failed_tcs: Vec<&TcRecord> = self.tcs.iter().filter(|t| !t.ok()).collect();
        if failed_steps.is_empty() && failed_tcs.is_empty() {
            h.push_str(
                "<p class=\"ok\">No failure: every step succeeded, every TC completed.</p>\n",
            );
        } else {
            let _ = writeln!(h, "<h3 class=\"bad\">Failures</h3>\n<ul class=\"failures\">");
            for s in &failed_steps {
                let _ = writeln!(
                    h,
                    "<li class=\"failure\">step <b>{}</b>: {}</li>",
                    esc(&s.name),
                    esc(&s.detail)
                );
            }
            for t in &failed_tcs {
                let _ = writeln!(
                    h,
                    "<li class=\"failure\"><a href=\"#tc-{}\">TC {}</a> <code>{}</code>: \
                     <span class=\"bad\">{}</span>{}{} {}</li>",
                    t.index,
                    t.index,
                    fold_html(&t.text),
                    esc(&t.outcome),
                    t.stage.as_deref().map(|s| format!(" at {}", esc(s))).unwrap_or_default(),
                    t.failure_code.as_deref().map(|c| format!(" ({})", esc(c))).unwrap_or_default(),
                    esc(t.failure.as_deref().unwrap_or(""))
                );
            }
            h.push_str("</ul>\n");
        }
        let mut outcomes: Vec<(&str, usize)> = Vec::new();
        for t in &self.tcs {
            match outcomes.iter_mut().find(|(o, _)| *o == t.outcome) {
                Some((_, n)) => *n += 1,
                None => outcomes.push((&t.outcome, 1)),
            }
        }
        let counts: Vec<String> = outcomes.iter().map(|(o, n)| format!("{n} {}", esc(o))).collect();
        let _ = writeln!(
            h,
            "<p>{} ({}); {} of {}.</p>",
            crate::cmd::count(self.tcs.len(), "TC"),
            if counts.is_empty() { "none sent".to_owned() } else { counts.join(", ") },
            crate::cmd::count(self.steps.len() - failed_steps.len(), "step"),
            self.steps.len()
        );

        h.push_str(
            "\n<h2>Steps</h2>\n<table class=\"steps\"><colgroup><col style=\"width:7em\">\
             <col style=\"width:12em\"><col style=\"width:4em\"><col style=\"width:4em\"><col>\
             <col style=\"width:35%\"></colgroup>\n<tr><th>step</th><th>started (UTC)</th>\
             <th>s</th><th></th><th>what happened</th><th>data</th></tr>\n",
        );
        for s in &self.steps {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{:.2}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&s.name),
                esc(&s.started_utc),
                s.duration_s,
                if s.ok {
                    "<span class=\"ok\">ok</span>"
                } else {
                    "<span class=\"bad\">failed</span>"
                },
                esc(&s.detail),
                fold_long(&s.data.to_string(), 240)
            );
        }
        h.push_str(
            "</table>\n<h2>Telecommands</h2>\n<table class=\"tcs\"><colgroup>\
             <col style=\"width:3em\"><col style=\"width:26%\"><col style=\"width:17%\">\
             <col style=\"width:3.5em\"><col style=\"width:11.5em\"><col style=\"width:4em\">\
             <col><col style=\"width:17%\"></colgroup>\n<tr><th>#</th><th>request</th><th>purpose</th>\
             <th>ST</th><th>sent / done (UTC)</th><th>ms</th><th>outcome</th>\
             <th>application data</th></tr>\n",
        );
        for t in &self.tcs {
            let outcome = if t.ok() {
                "<span class=\"ok\">completed</span>".to_owned()
            } else {
                format!(
                    "<span class=\"bad\">{}</span><br>{}",
                    esc(&t.outcome),
                    esc(t.failure.as_deref().unwrap_or(""))
                )
            };
            let _ = writeln!(
                h,
                "<tr class=\"tc{}\" id=\"tc-{}\"><td>{}</td><td><code>{}</code></td><td>{}</td>\
                 <td>{},{}</td><td>{}<br>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                if t.ok() { "" } else { " failed" },
                t.index,
                t.index,
                fold_request_html(&t.text),
                fold_words_html(&t.purpose, 160, "whole purpose"),
                t.service,
                t.subtype,
                esc(&t.sent_utc),
                esc(&t.done_utc),
                t.round_trip_ms.map_or(String::new(), |m| format!("{m:.1}")),
                outcome,
                fold_hex_html(&t.app_data)
            );
        }
        h.push_str("</table>\n");
        for (name, value) in &self.sections {
            let pretty = serde_json::to_string_pretty(value).unwrap_or_default();
            let _ = writeln!(h, "<h2>{}</h2>\n<pre>{}</pre>", esc(name), esc(&pretty));
        }
        h.push_str("</body></html>\n");
        h
    }
}

/// The evidence page's style: at most 1 240 px wide, fixed table layouts that wrap long
/// words instead of widening the page.
const STYLE: &str = "body{font-family:sans-serif;margin:1em auto;padding:0 1em;max-width:1240px;}\
table{border-collapse:collapse;margin-bottom:1em;}table.steps,table.tcs{width:100%;\
table-layout:fixed;}td,th{border:1px solid #aaa;padding:2px 5px;vertical-align:top;\
font-size:88%;overflow-wrap:anywhere;text-align:left;}code,pre{font-size:90%;}\
.ok{color:#060;}.bad{color:#b00;font-weight:bold;}tr.failed{background:#fff0f0;}\
pre{background:#f4f4f4;padding:6px;overflow-x:auto;white-space:pre;}\
.hex{font-family:monospace;overflow-wrap:anywhere;}details>summary{cursor:pointer;\
color:#446;font-size:90%;}details .hex{display:block;max-height:12em;overflow-y:auto;\
background:#f4f4f4;}ul.failures li{margin-bottom:.3em;}";

/// `PATH.json` and `PATH.html` for `--evidence PATH`: a `.json` or `.html` ending is replaced,
/// anything else kept whole (`reports/update-1.1.0` gives `reports/update-1.1.0.json`).
pub fn evidence_paths(path: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let base = match path.extension().and_then(|e| e.to_str()) {
        Some("json" | "html") => path.with_extension(""),
        _ => path.to_path_buf(),
    };
    let with = |ext: &str| {
        let mut name = base.as_os_str().to_owned();
        name.push(".");
        name.push(ext);
        std::path::PathBuf::from(name)
    };
    (with("json"), with("html"))
}

/// Hex strings up to this many characters are shown whole; longer ones are folded.
pub const FOLD_HEX_CHARS: usize = 64;
/// Octets shown at the head of a folded hex string.
pub const FOLD_HEAD_OCTETS: usize = 16;

/// A long octet string in short: its first octets (hex), its length and its CRC-32.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folded {
    /// The first [`FOLD_HEAD_OCTETS`] octets, hex as written.
    pub head: String,
    /// Octets in all.
    pub octets: usize,
    /// CRC-32 (ISO-HDLC, `tc_tm::crc::crc32`) of the octets.
    pub crc32: u32,
}

impl Folded {
    /// Folds `hex` (an even number of hex digits, optionally `0x`-prefixed) longer than
    /// [`FOLD_HEX_CHARS`]; `None` for a short string or one that is not hex.
    pub fn of(hex: &str) -> Option<Folded> {
        let digits = hex.strip_prefix("0x").or_else(|| hex.strip_prefix("0X")).unwrap_or(hex);
        if digits.len() <= FOLD_HEX_CHARS
            || !digits.len().is_multiple_of(2)
            || !digits.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return None;
        }
        let octets: Vec<u8> = digits
            .as_bytes()
            .chunks(2)
            .filter_map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
            .collect();
        Some(Folded {
            head: digits.get(..2 * FOLD_HEAD_OCTETS).unwrap_or(digits).to_owned(),
            octets: octets.len(),
            crc32: tc_tm::crc::crc32(&octets),
        })
    }

    /// `0A0B…  [1234 octets, CRC-32 0x89ABCDEF]`.
    pub fn text(&self) -> String {
        format!("{}… [{} octets, CRC-32 0x{:08X}]", self.head, self.octets, self.crc32)
    }
}

/// A request (or any text) with every long hex value (`data=…`, or a whole hex word) folded
/// ([`Folded::text`]), for a terminal.
pub fn fold_text(text: &str) -> String {
    map_words(text, str::to_owned, |value| Folded::of(value).map(|f| f.text()))
}

/// Rebuilds `text` word by word (words split at whitespace, a `key=` prefix kept apart):
/// `fold` replaces a value when it gives `Some`, everything else goes through `plain`.
fn map_words(
    text: &str,
    plain: impl Fn(&str) -> String,
    fold: impl Fn(&str) -> Option<String>,
) -> String {
    let mut out = String::with_capacity(text.len().min(512));
    let mut rest = text;
    while !rest.is_empty() {
        let ws = rest.len() - rest.trim_start().len();
        out.push_str(&plain(rest.get(..ws).unwrap_or("")));
        rest = rest.get(ws..).unwrap_or("");
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let word = rest.get(..end).unwrap_or("");
        rest = rest.get(end..).unwrap_or("");
        let (prefix, value) = match word.find('=') {
            Some(i) => (word.get(..=i).unwrap_or(""), word.get(i + 1..).unwrap_or("")),
            None => ("", word),
        };
        match fold(value) {
            Some(v) => {
                out.push_str(&plain(prefix));
                out.push_str(&v);
            }
            None => out.push_str(&plain(word)),
        }
    }
    out
}

/// A hex string as HTML, folded when long: the head, the length and CRC-32, and the whole
/// in a `<details>` (class `octets`).
pub fn fold_hex_html(hex: &str) -> String {
    match Folded::of(hex) {
        None => format!("<span class=\"hex\">{}</span>", esc(hex)),
        Some(f) => format!(
            "<span class=\"hex\">{}…</span> <span class=\"fold\">{} octets, CRC-32 0x{:08X}\
             </span><details class=\"octets\"><summary>all {} octets</summary>\
             <span class=\"hex\">{}</span></details>",
            esc(&f.head),
            f.octets,
            f.crc32,
            f.octets,
            esc(hex)
        ),
    }
}

/// A request as HTML with its long hex values folded ([`fold_hex_html`]).
pub fn fold_html(text: &str) -> String {
    map_words(text, esc, |value| Folded::of(value).map(|_| fold_hex_html(value)))
}

/// Requests whose folded text is longer than this many characters show their first words
/// and the whole in a `<details>` (a schedule insert carries dozens of TCs).
pub const FOLD_REQUEST_CHARS: usize = 240;

/// A request as HTML: long hex values folded ([`fold_html`]), and a long request (over
/// [`FOLD_REQUEST_CHARS`] once folded) cut after its first words, whole in a `<details>`.
pub fn fold_request_html(text: &str) -> String {
    fold_words_html(text, FOLD_REQUEST_CHARS, "whole request")
}

/// Text as HTML with long hex values folded, cut after its first words when longer than
/// `limit` characters once folded, the whole in a `<details>` whose summary says `what`.
fn fold_words_html(text: &str, limit: usize, what: &str) -> String {
    let folded_len = fold_text(text).chars().count();
    if folded_len <= limit {
        return fold_html(text);
    }
    // Whole words only, so that a hex value is never cut (its CRC is of the whole).
    let mut end = 0;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            if fold_text(text.get(..i).unwrap_or("")).chars().count() > limit / 2 {
                break;
            }
            end = i;
        }
    }
    format!(
        "{}… <details class=\"request\"><summary>{what} ({} characters)</summary>{}\
         </details>",
        fold_html(text.get(..end).unwrap_or("")),
        text.chars().count(),
        fold_html(text)
    )
}

fn abbreviate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_owned();
    }
    let head: String = s.chars().take(n).collect();
    format!("{head}… ({} characters)", s.chars().count())
}

/// Long text (over `n` characters) as its first `n` characters and the whole in a
/// `<details>`; short text escaped as is.
fn fold_long(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return format!("<code>{}</code>", esc(s));
    }
    let head: String = s.chars().take(n).collect();
    format!(
        "<code>{}…</code><details><summary>all {} characters</summary><code>{}</code></details>",
        esc(&head),
        s.chars().count(),
        esc(s)
    )
}

/// Escapes text for HTML (the one escaper of the reports: [`crate::regress::junit::xml_escape`]).
pub fn esc(s: &str) -> String {
    crate::regress::junit::xml_escape(s)
}

/// A TC encoded from its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedTc {
    /// Service type.
    pub service: u8,
    /// Subtype.
    pub subtype: u8,
    /// Application data.
    pub data: Vec<u8>,
}

/// Encodes a request in the text syntax.
///
/// # Errors
/// The parser's message with the column.
pub fn encode(text: &str) -> Result<EncodedTc, String> {
    let mut data = vec![0u8; MAX_TC_APP_DATA_LEN];
    let (service, subtype, n) =
        parse_request(text, &mut data).map_err(|e| format!("{text:?}: {e}"))?;
    data.truncate(n);
    Ok(EncodedTc { service, subtype, data })
}

/// A TC sent, waiting for its outcome.
#[derive(Debug, Clone)]
pub struct Sent {
    /// Request ID.
    pub id: RequestId,
    /// The record, completed by [`Recorder::settle`].
    pub record: TcRecord,
}

/// Where and under which name a workflow journals its progress
/// ([`crate::workflow::journal`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalSpec {
    /// Journal directory.
    pub dir: std::path::PathBuf,
    /// The unit's key.
    pub key: String,
    /// The workflow (`run`, `update`, `rollback`).
    pub workflow: String,
    /// The device as given.
    pub device: String,
}

/// Sends TCs and records them into an [`Evidence`]; with a [`JournalSpec`], also journals the
/// steps that change the unit so that an interrupted run is recovered at the next contact.
#[derive(Debug)]
pub struct Recorder {
    /// The report being written.
    pub evidence: Evidence,
    spec: Option<JournalSpec>,
    journal: Option<crate::workflow::journal::Journal>,
}

impl Recorder {
    /// A recorder writing into `evidence`.
    pub fn new(evidence: Evidence) -> Self {
        Recorder { evidence, spec: None, journal: None }
    }

    /// Journals the run where `spec` says, from [`Recorder::begin_journal`] on.
    pub fn with_journal(mut self, spec: JournalSpec) -> Self {
        self.spec = Some(spec);
        self
    }

    /// Opens the journal (once the unit's mode before any change is known); no-op without a
    /// [`JournalSpec`] or when already open.
    ///
    /// # Errors
    /// The journal cannot be written (nothing has been changed yet: the run stops).
    pub fn begin_journal(
        &mut self,
        mode_before: tc_tm::service::function::Mode,
    ) -> anyhow::Result<()> {
        let (Some(spec), None) = (&self.spec, &self.journal) else { return Ok(()) };
        let j = crate::workflow::journal::Journal::begin(
            &spec.dir,
            &spec.key,
            &spec.workflow,
            &spec.device,
            mode_before.name(),
        )
        .map_err(|e| {
            Exit::Usage.error(format!("cannot start the journal in {}: {e}", spec.dir.display()))
        })?;
        self.journal = Some(j);
        Ok(())
    }

    /// Records a step as done, on disk before the workflow goes on (no-op without a journal).
    ///
    /// # Errors
    /// The journal cannot be written: the workflow must stop changing the unit.
    pub fn journal(&mut self, what: &str, detail: &str) -> anyhow::Result<()> {
        if let Some(j) = self.journal.as_mut() {
            j.step(what, detail).map_err(|e| {
                Exit::Usage.error(format!("cannot write the journal (stopping): {e}"))
            })?;
        }
        Ok(())
    }

    /// Ends the journal: removed when the unit's state is known (`state_known`), else kept
    /// for the next contact to recover.
    pub fn end_journal(&mut self, state_known: bool) {
        if let Some(j) = self.journal.take()
            && state_known
        {
            let _ = j.finish();
        }
    }

    /// Queues an encoded TC (with `ack` flags if given) and returns its handle.
    ///
    /// # Errors
    /// Session errors.
    pub fn send(
        &mut self,
        s: &mut Session,
        text: &str,
        tc: &EncodedTc,
        purpose: &str,
        ack: Option<AckFlags>,
    ) -> anyhow::Result<Sent> {
        let saved = s.encoder_mut().ack();
        if let Some(a) = ack {
            s.encoder_mut().set_ack(a);
        }
        let sent_utc = utc_now();
        let r = s.send_raw(tc.service, tc.subtype, &tc.data);
        s.encoder_mut().set_ack(saved);
        let id = r?;
        let record = TcRecord {
            index: 0,
            text: text.to_owned(),
            purpose: purpose.to_owned(),
            service: tc.service,
            subtype: tc.subtype,
            app_data: hex::encode_upper(&tc.data),
            request_id: format!("{:04X}:{:04X}", id.packet_id, id.seq_ctrl),
            sent_utc,
            done_utc: String::new(),
            round_trip_ms: None,
            outcome: "pending".to_owned(),
            stage: None,
            failure_code: None,
            failure: None,
        };
        Ok(Sent { id, record })
    }

    /// Waits for a sent TC's outcome, records it and returns it.
    ///
    /// # Errors
    /// Session errors (the TC is recorded as not verified first).
    pub fn settle(&mut self, s: &mut Session, sent: Sent) -> anyhow::Result<(TcOutcome, TcRecord)> {
        let Sent { id, mut record } = sent;
        let waited = s.wait(id);
        record.done_utc = utc_now();
        record.index = self.evidence.tcs.len();
        let o = match waited {
            Ok(o) => o,
            Err(e) => {
                record.outcome = "not verified".to_owned();
                record.failure = Some(format!("session failed while waiting: {e}"));
                self.evidence.tcs.push(record);
                return Err(e.into());
            }
        };
        fill(&mut record, &o);
        s.forget(id);
        self.evidence.tcs.push(record.clone());
        Ok((o, record))
    }

    /// Sends a TC given as text, waits for it and records it. Returns the outcome; a failure
    /// of the TC is not an error here (see [`Recorder::run_ok`]).
    ///
    /// # Errors
    /// A text that does not parse, session errors.
    pub fn run(
        &mut self,
        s: &mut Session,
        text: &str,
        purpose: &str,
        ack: Option<AckFlags>,
    ) -> anyhow::Result<(TcOutcome, TcRecord)> {
        let tc = encode(text).map_err(anyhow::Error::msg)?;
        let sent = self.send(s, text, &tc, purpose, ack)?;
        self.settle(s, sent)
    }

    /// As [`Recorder::run`], and fails unless every awaited stage succeeded.
    ///
    /// # Errors
    /// As [`Recorder::run`]; a refused or unverified TC with its explained failure.
    pub fn run_ok(&mut self, s: &mut Session, text: &str, purpose: &str) -> anyhow::Result<()> {
        let (_, r) = self.run(s, text, purpose, None)?;
        ensure_ok(&r)
    }
}

/// Fails with the record's explained failure unless it completed.
///
/// # Errors
/// The TC's failure: [`Exit::Failed`] when the unit refused it, [`Exit::Unreachable`] when it
/// was not delivered or a report never came.
pub fn ensure_ok(r: &TcRecord) -> anyhow::Result<()> {
    if r.ok() {
        return Ok(());
    }
    let message = format!(
        "`{}` ({}): {}: {}",
        abbreviate(&r.text, 80),
        r.purpose,
        r.outcome,
        r.failure.as_deref().unwrap_or("no detail")
    );
    // The unit refused it: not carried out (1); no answer or not delivered: unreachable (4).
    let exit = if r.outcome == "failed" { Exit::Failed } else { Exit::Unreachable };
    Err(exit.error(message))
}

fn fill(record: &mut TcRecord, o: &TcOutcome) {
    match (o.delivery, o.verdict) {
        (Delivery::Failed(f), _) => {
            record.outcome = "not delivered".to_owned();
            record.failure = Some(f.to_string());
        }
        (_, Verdict::Completed { round_trip, .. }) => {
            record.outcome = "completed".to_owned();
            record.round_trip_ms = Some(round_trip.as_secs_f64() * 1e3);
        }
        (_, Verdict::Failed(f)) => {
            record.outcome = "failed".to_owned();
            record.stage = Some(f.stage.to_string());
            record.failure_code = Some(format!("{} (0x{:04X})", f.code.name(), f.code.value()));
            record.failure = Some(f.to_string());
        }
        (_, v @ Verdict::TimedOut { waiting_for, .. }) => {
            record.outcome = "timed out".to_owned();
            record.stage = Some(waiting_for.to_string());
            record.failure = Some(v.to_string());
        }
        (_, v) => {
            record.outcome = "not verified".to_owned();
            record.failure = Some(v.to_string());
        }
    }
}

/// A started step: its UTC start text and instant, for [`Evidence::step`].
pub fn started() -> (String, Instant) {
    (utc_now(), Instant::now())
}

/// Formats a duration in seconds with one decimal.
pub fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_round_trip() {
        assert_eq!(utc_text(0, 0), "1970-01-01T00:00:00.000Z");
        let t = parse_utc("2026-11-30T04:05:06Z").unwrap();
        assert_eq!(utc_text(t, 5_000_000), "2026-11-30T04:05:06.005Z");
        assert_eq!(
            parse_utc("2024-02-29T23:59:59.5Z").unwrap() + 1,
            parse_utc("2024-03-01T00:00:00Z").unwrap()
        );
        assert!(parse_utc("2026-13-01T00:00:00Z").is_err());
        assert!(parse_utc("2026-11-30 04:05").is_err());
        assert!(parse_utc("2026-11-30T04:05:06").is_err(), "UTC must be explicit");
    }

    #[test]
    fn html_escapes_and_is_self_contained() {
        let mut e = Evidence::new("run", "<stack>", "/dev/x");
        e.section("before", serde_json::json!({"a": "<b>"}));
        e.finish(true, "done & dusted");
        let h = e.html();
        assert!(h.contains("&lt;stack&gt;") && h.contains("done &amp; dusted"));
        assert!(!h.contains("<script") && !h.contains("http"));
        assert!(e.json()["sections"]["before"]["a"] == "<b>");
    }

    #[test]
    fn long_octet_strings_are_folded_with_length_and_crc() {
        let hex: String = (0..200u32).map(|i| format!("{:02X}", i % 256)).collect();
        let octets: Vec<u8> = (0..200u32).map(|i| (i % 256) as u8).collect();
        let f = Folded::of(&hex).unwrap();
        assert_eq!(f.octets, 200);
        assert_eq!(f.crc32, tc_tm::crc::crc32(&octets));
        assert_eq!(f.head, hex[..32]);
        // Short, odd-length or non-hex strings stay whole.
        assert!(Folded::of(&hex[..64]).is_none());
        assert!(Folded::of(&hex[..99]).is_none());
        assert!(Folded::of(&format!("{}zz", &hex[..98])).is_none());
        let req = format!("table load id=1 version=2 total=200 offset=0 data={hex}");
        let t = fold_text(&req);
        assert_eq!(
            t,
            format!(
                "table load id=1 version=2 total=200 offset=0 data={}… [200 octets, CRC-32 0x{:08X}]",
                &hex[..32],
                f.crc32
            )
        );
        assert_eq!(fold_text("test  are-you-alive"), "test  are-you-alive");
        // HTML: escaped text, the head and the whole octets in a <details>.
        let h = fold_html(&format!("a<b data={hex}"));
        assert!(h.starts_with("a&lt;b data=<span class=\"hex\">"), "{h}");
        assert!(h.contains("200 octets, CRC-32") && h.contains("<details class=\"octets\">"));
        assert!(h.contains(&hex), "the whole string is in the page");
    }

    #[test]
    fn evidence_paths_keep_dotted_names() {
        let p = |s: &str| {
            let (j, h) = evidence_paths(Path::new(s));
            (j.display().to_string(), h.display().to_string())
        };
        assert_eq!(p("reports/update-1.1.0").0, "reports/update-1.1.0.json");
        assert_eq!(p("reports/week49").1, "reports/week49.html");
        assert_eq!(p("ev.json"), ("ev.json".into(), "ev.html".into()));
        assert_eq!(p("ev.html").0, "ev.json");
    }

    #[test]
    fn html_puts_failures_first() {
        let mut e = Evidence::new("run", "s", "twin");
        let tc = |index: usize, outcome: &str| TcRecord {
            index,
            text: format!("test are-you-alive {index}"),
            purpose: "p".into(),
            service: 17,
            subtype: 1,
            app_data: String::new(),
            request_id: String::new(),
            sent_utc: String::new(),
            done_utc: String::new(),
            round_trip_ms: None,
            outcome: outcome.into(),
            stage: (outcome != "completed").then(|| "completion".into()),
            failure_code: None,
            failure: (outcome != "completed").then(|| "why it failed".into()),
        };
        e.tcs = vec![tc(0, "completed"), tc(1, "failed"), tc(2, "completed")];
        e.finish(false, "TC 1 failed");
        let h = e.html();
        let summary = h.find("id=\"summary\"").unwrap();
        let failure = h.find("<li class=\"failure\"><a href=\"#tc-1\">").unwrap();
        let table = h.find("<h2>Telecommands</h2>").unwrap();
        assert!(summary < failure && failure < table, "failures summarised before the tables");
        assert!(h.contains("3 TCs (2 completed, 1 failed)"), "{h}");
        assert!(h.contains("id=\"tc-0\"") && h.contains("id=\"tc-2\""));
    }

    #[test]
    fn encode_reads_the_text_syntax() {
        let tc = encode("test are-you-alive").unwrap();
        assert_eq!((tc.service, tc.subtype), (17, 1));
        assert!(encode("test what").is_err());
    }
}
