//! `run`: executes a TC stack on a unit with every ST\[01\] stage verified, and records the
//! evidence.
//!
//! 1. **before**: housekeeping (mode, schedule, the unit's on-board time from the report's time
//!    stamp) and the table directory (200,7: versions, CRCs).
//! 2. **check**: the stack is re-validated ([`super::stack::check`]) against the unit's time;
//!    any error refuses the run before anything is sent.
//! 3. **execute**, in file order: a `now` TC — or a time-tagged TC whose release is already
//!    within [`RunOptions::margin_s`] of the unit's time when its turn comes (the time read
//!    at the start plus the time elapsed since) — is sent and verified (consecutive
//!    loads pipelined through the FOP-1 window); consecutive time-tagged TCs are embedded, in
//!    file order, into ST\[11\] 11,4 inserts (as many per insert as fit: 16 items, 1003
//!    octets), each encoded with the session's own sequence counter so their request IDs are
//!    unique. The first failure stops the run unless that TC says `on_failure = "continue"`.
//! 4. **after**: the schedule read back (11,17 → 11,13 summary: release time and request ID
//!    of every entry; each TC inserted must be there), housekeeping (`schedule_enabled`,
//!    `schedule_entries`), the list of time-tagged TCs with release time (UTC and CUC),
//!    request ID and slot, and the table directory after.
//! 5. **wait** (`run --wait`, [`wait_released`]): until every TC time-tagged by the run has
//!    been released on the unit's clock and its execution confirmed — its ST\[01\]
//!    completion report, or, when that is missed, the unit's request history (17,128 →
//!    17,129) — then the table directory again.

use std::time::{Duration, Instant};

use serde_json::json;
use tables::TableId;
use tc_tm::pus::time::Cuc;
use tc_tm::service::MAX_TC_APP_DATA_LEN;
use tc_tm::service::table::DirectoryEntry;
use tc_tm::service::verification::RequestId;

use super::evidence::{Recorder, Sent, TcRecord, encode, ensure_ok, started, utc_text};
use super::stack::{Stack, check};
use super::update::{hk_json, read_hk_at};
use crate::session::Session;

/// Settings of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOptions {
    /// A time-tagged TC due within this many seconds of the unit's time is sent at once (an
    /// insert with a past release time is refused by the unit).
    pub margin_s: i64,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { margin_s: 5 }
    }
}

/// A TC the run time-tagged on the unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimedTc {
    /// Its number in the stack (1-based).
    pub tc: usize,
    /// Its request ID (the embedded packet's).
    pub request_id: RequestId,
    /// Release time, Unix seconds UTC on the unit's clock.
    pub release_unix: i64,
    /// Release time as the stack gives it.
    pub release_utc: String,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSummary {
    /// TCs sent at once and verified.
    pub sent_now: usize,
    /// TCs time-tagged on the unit.
    pub time_tagged: usize,
    /// 11,4 inserts sent.
    pub inserts: usize,
    /// TCs that failed (with `on_failure = "continue"`).
    pub failed_continued: usize,
    /// The TCs inserted into the unit's schedule, in stack order.
    pub timed: Vec<TimedTc>,
    /// How far the unit's clock was ahead of this machine's at the start, in milliseconds.
    pub unit_ahead_ms: i64,
}

/// The table directory as JSON (versions, CRCs, inactive buffers).
pub fn directory_json(dir: &[DirectoryEntry]) -> serde_json::Value {
    json!(
        dir.iter()
            .map(|e| json!({
                "table": TableId::from_u8(e.table_id).map_or("unknown", |t| t.key()),
                "id": e.table_id,
                "active_version": e.active_version,
                "active_crc32": format!("0x{:08X}", e.active_crc),
                "active_len": e.active_len,
                "inactive_state": e.inactive_state.to_string(),
                "inactive_version": e.inactive_version,
            }))
            .collect::<Vec<_>>()
    )
}

/// Reads the unit's time-based schedule (11,17 → 11,13): (release UTC text, CUC text,
/// request ID hex) per entry, in release order.
///
/// # Errors
/// A refused request, session errors, no report.
pub fn read_schedule(
    s: &mut Session,
    rec: &mut Recorder,
) -> anyhow::Result<Vec<(String, String, String)>> {
    use tc_tm::service::Report;
    use tc_tm::service::schedule::Report as SchedMsg;
    s.clear_packets();
    let (_, r) = rec.run(s, "schedule summary", "read the schedule back (11,13)", None)?;
    ensure_ok(&r)?;
    let deadline = Instant::now() + Duration::from_millis(1500);
    while let Some(p) = s.next_packet(deadline)? {
        if let Ok(Report::Schedule(SchedMsg::Summary(list))) = p.report() {
            return Ok(list
                .iter()
                .map(|e| {
                    let cuc = Cuc::new(e.release.coarse, e.release.fine);
                    let (u, ns) = cuc.to_unix_utc();
                    (
                        utc_text(u, ns),
                        e.release.to_string(),
                        format!("{:04X}:{:04X}", e.request_id.packet_id, e.request_id.seq_ctrl),
                    )
                })
                .collect());
        }
    }
    anyhow::bail!("no schedule summary report (11,13) after `schedule summary`")
}

/// Unix seconds → CUC (on-board time).
pub fn cuc_of_unix(secs: i64) -> Option<Cuc> {
    Cuc::from_unix_utc(secs, 0)
}

struct Timed {
    index: usize,
    id: RequestId,
    release_unix: i64,
    release: Cuc,
    release_utc: String,
    packet: Vec<u8>,
    request_id: String,
}

fn flush_inserts(
    s: &mut Session,
    rec: &mut Recorder,
    stack: &Stack,
    batch: &mut Vec<Timed>,
    table: &mut Vec<serde_json::Value>,
    sum: &mut RunSummary,
) -> anyhow::Result<()> {
    while !batch.is_empty() {
        // As many items as fit one 11,4: N octet + per item 6 octets of time + the packet.
        let mut take = 0;
        let mut len = 1;
        for t in batch.iter() {
            if take == 16 || len + 6 + t.packet.len() > MAX_TC_APP_DATA_LEN {
                break;
            }
            len += 6 + t.packet.len();
            take += 1;
        }
        if take == 0 {
            anyhow::bail!("a time-tagged TC is too long to embed in a schedule insert");
        }
        let items: Vec<Timed> = batch.drain(..take).collect();
        let mut text = String::from("schedule insert");
        let mut what = Vec::new();
        for t in &items {
            let ticks = t.release.ticks();
            text.push_str(&format!(
                " at={}:{} tc={}",
                ticks >> 16,
                ticks & 0xFFFF,
                hex::encode_upper(&t.packet)
            ));
            if let Some(tc) = stack.tc.get(t.index) {
                what.push(format!(
                    "#{} {} @ {}",
                    t.index + 1,
                    abbreviate(&tc.request),
                    t.release_utc
                ));
            }
        }
        let purpose = format!("time-tag {} TCs: {}", items.len(), what.join("; "));
        let (_, r) = rec.run(s, &text, &purpose, None)?;
        let stops = items
            .iter()
            .any(|t| stack.tc.get(t.index).is_none_or(|tc| tc.on_failure != "continue"));
        if !r.ok() {
            if stops {
                ensure_ok(&r)?;
            }
            sum.failed_continued += 1;
            continue;
        }
        sum.inserts += 1;
        sum.time_tagged += items.len();
        for t in &items {
            sum.timed.push(TimedTc {
                tc: t.index + 1,
                request_id: t.id,
                release_unix: t.release_unix,
                release_utc: t.release_utc.clone(),
            });
        }
        for t in &items {
            // A load whose activation is now in the schedule must not be aborted by a
            // recovery.
            if let Some(tc) = stack.tc.get(t.index)
                && let Some(id) = tc.request.strip_prefix("table activate id=")
                && let Ok(id) = id.trim().parse::<u8>()
                && let Some(table) = TableId::from_u8(id)
            {
                rec.journal("scheduled", table.key())?;
            }
        }
        for t in &items {
            let tc = stack.tc.get(t.index);
            table.push(json!({
                "tc": t.index + 1,
                "release_utc": t.release_utc,
                "release_cuc": format!("{}:{}", t.release.ticks() >> 16, t.release.ticks() & 0xFFFF),
                "request": tc.map(|x| x.request.clone()),
                "purpose": tc.map(|x| x.purpose.clone()),
                "slot": tc.map(|x| x.slot.clone()),
                "request_id": t.request_id,
                "packet_len": t.packet.len(),
            }));
        }
    }
    Ok(())
}

fn abbreviate(s: &str) -> String {
    if s.chars().count() <= 70 {
        s.to_owned()
    } else {
        let h: String = s.chars().take(70).collect();
        format!("{h}…")
    }
}

/// The table key of a ST\[200\] TC's application data (hex, table ID first).
fn table_key(app_data_hex: &str) -> Option<&'static str> {
    let id = u8::from_str_radix(app_data_hex.get(..2)?, 16).ok()?;
    TableId::from_u8(id).map(|t| t.key())
}

fn is_load(service: u8, subtype: u8) -> bool {
    matches!((service, subtype), (200, 1) | (6, 2))
}

/// Runs a stack (see the module documentation). Every step and TC goes into `rec.evidence`.
///
/// # Errors
/// A stack that does not check (nothing sent, [`crate::cmd::BadInput`]), the first failed TC
/// not marked `continue`, session errors.
pub fn execute(
    s: &mut Session,
    rec: &mut Recorder,
    stack: &Stack,
    opts: &RunOptions,
) -> anyhow::Result<RunSummary> {
    let st = started();
    let (hk, unit_time) = read_hk_at(s, rec, "before: mode, schedule and the unit's time")?;
    let unit_time_read = Instant::now();
    let dir_before = super::tables::read_directory(s)?;
    rec.evidence.section(
        "before",
        json!({"housekeeping": hk_json(&hk), "tables": directory_json(&dir_before)}),
    );
    let (unit_unix, unit_ns) = unit_time.to_unix_utc();
    let (here_unix, here_ns) = super::evidence::unix_now();
    let unit_ahead_ms =
        (unit_unix - here_unix) * 1000 + (i64::from(unit_ns) - i64::from(here_ns)) / 1_000_000;
    rec.evidence.step(
        "before",
        st,
        true,
        format!(
            "unit in {} at on-board time {} ({} time-tagged TCs waiting)",
            hk.mode,
            utc_text(unit_unix, unit_ns),
            hk.schedule_entries
        ),
        json!({"unit_time_utc": utc_text(unit_unix, unit_ns)}),
    );

    let st = started();
    let findings = check(stack, unit_unix);
    let errors: Vec<String> = findings
        .iter()
        .filter(|f| f.error)
        .map(|f| if f.tc == 0 { f.message.clone() } else { format!("TC {}: {}", f.tc, f.message) })
        .collect();
    rec.evidence.step(
        "check",
        st,
        errors.is_empty(),
        if errors.is_empty() {
            format!(
                "{} check ({})",
                crate::cmd::count(stack.tc.len(), "TC"),
                crate::cmd::count(findings.len(), "warning")
            )
        } else {
            format!("{}: nothing sent", crate::cmd::count(errors.len(), "error"))
        },
        json!(findings),
    );
    if !errors.is_empty() {
        anyhow::bail!(crate::cmd::BadInput(format!(
            "the stack does not check (nothing was sent):\n  {}",
            errors.join("\n  ")
        )));
    }

    let st = started();
    rec.begin_journal(hk.mode)?;
    let mut sum = RunSummary { unit_ahead_ms, ..RunSummary::default() };
    let mut journaled_loads: Vec<u8> = Vec::new();
    let mut batch: Vec<Timed> = Vec::new();
    let mut table = Vec::new();
    let mut pending: std::collections::VecDeque<(Sent, usize)> = Default::default();
    let mut failure: Option<anyhow::Error> = None;

    let settle = |s: &mut Session,
                  rec: &mut Recorder,
                  (sent, i): (Sent, usize),
                  sum: &mut RunSummary|
     -> anyhow::Result<TcRecord> {
        let (_, r) = rec.settle(s, sent)?;
        if r.ok() {
            sum.sent_now += 1;
            // Journal what changed the unit (an interrupted run is recovered from it).
            match (r.service, r.subtype) {
                (200, 3) => {
                    if let Some(t) = table_key(&r.app_data) {
                        rec.journal("activated", t)?;
                    }
                }
                (8, 1) => {
                    if let Some(m) = r.text.strip_prefix("function mode mode=") {
                        rec.journal("mode", m.trim())?;
                    }
                }
                _ => {}
            }
        } else if stack.tc.get(i).is_some_and(|t| t.on_failure == "continue") {
            sum.failed_continued += 1;
        } else {
            ensure_ok(&r).map_err(|e| e.context(format!("TC {} of the stack", i + 1)))?;
        }
        Ok(r)
    };
    // Settles the oldest pending TCs until at most `keep` remain; the first failure stops.
    let settle_until = |s: &mut Session,
                        rec: &mut Recorder,
                        pending: &mut std::collections::VecDeque<(Sent, usize)>,
                        sum: &mut RunSummary,
                        keep: usize|
     -> anyhow::Result<()> {
        while pending.len() > keep {
            if let Some(p) = pending.pop_front() {
                settle(s, rec, p, sum)?;
            }
        }
        Ok(())
    };

    for (i, tc) in stack.tc.iter().enumerate() {
        let release = tc.release_unix().map_err(anyhow::Error::msg)?;
        if release.is_some() {
            // The loads before it verified first (they can take longer than the margin), so
            // that the decision below reads the unit's clock as it is when this TC goes.
            if let Err(err) = settle_until(s, rec, &mut pending, &mut sum, 0) {
                failure = Some(err);
                break;
            }
        }
        // On the unit's clock as it is now: an insert whose release has passed is refused.
        let unit_now = unit_unix + i64::try_from(unit_time_read.elapsed().as_secs()).unwrap_or(0);
        let at_once = release.is_none_or(|r| r <= unit_now + opts.margin_s);
        let e = encode(&tc.request).map_err(anyhow::Error::msg)?;
        if at_once {
            if let Err(err) = flush_inserts(s, rec, stack, &mut batch, &mut table, &mut sum) {
                failure = Some(err);
                break;
            }
            let purpose = if release.is_some() {
                format!("{} (release {} already due: sent at once)", tc.purpose, tc.release)
            } else {
                tc.purpose.clone()
            };
            if !is_load(e.service, e.subtype)
                && let Err(err) = settle_until(s, rec, &mut pending, &mut sum, 0)
            {
                failure = Some(err);
                break;
            }
            if (e.service, e.subtype) == (200, 1)
                && let Some(&id) = e.data.first()
                && !journaled_loads.contains(&id)
            {
                // On disk before the first segment changes the inactive buffer.
                let key = TableId::from_u8(id).map_or("unknown", |t| t.key());
                if let Err(err) = rec.journal("loading", key) {
                    failure = Some(err);
                    break;
                }
                journaled_loads.push(id);
            }
            match rec.send(s, &tc.request, &e, &purpose, None) {
                Ok(sent) => pending.push_back((sent, i)),
                Err(err) => {
                    failure = Some(err);
                    break;
                }
            }
            let limit = if is_load(e.service, e.subtype) { super::update::PIPELINE } else { 1 };
            if let Err(err) = settle_until(s, rec, &mut pending, &mut sum, limit.saturating_sub(1))
            {
                failure = Some(err);
                break;
            }
        } else {
            if let Err(err) = settle_until(s, rec, &mut pending, &mut sum, 0) {
                failure = Some(err);
                break;
            }
            let r = release.unwrap_or_default();
            let Some(cuc) = cuc_of_unix(r) else {
                failure = Some(anyhow::anyhow!(
                    "TC {}: release {} not representable on board",
                    i + 1,
                    tc.release
                ));
                break;
            };
            let (packet, id) = s.encoder_mut().packet(e.service, e.subtype, &e.data)?;
            batch.push(Timed {
                index: i,
                id,
                release_unix: r,
                release: cuc,
                release_utc: tc.release.clone(),
                packet,
                request_id: format!("{:04X}:{:04X}", id.packet_id, id.seq_ctrl),
            });
        }
    }
    if failure.is_none()
        && let Err(err) = settle_until(s, rec, &mut pending, &mut sum, 0)
    {
        failure = Some(err);
    }
    if failure.is_none()
        && let Err(err) = flush_inserts(s, rec, stack, &mut batch, &mut table, &mut sum)
    {
        failure = Some(err);
    }
    rec.evidence.step(
        "execute",
        st,
        failure.is_none(),
        match &failure {
            None => format!(
                "{} TCs sent and verified, {} time-tagged in {} inserts, {} failed and continued",
                sum.sent_now, sum.time_tagged, sum.inserts, sum.failed_continued
            ),
            Some(e) => format!("stopped: {e:#}"),
        },
        json!({"sent_now": sum.sent_now, "time_tagged": sum.time_tagged, "inserts": sum.inserts}),
    );

    // After: read back whatever happened, also after a failure.
    let st = started();
    std::thread::sleep(Duration::from_millis(50));
    let after = read_hk_at(s, rec, "after: schedule read back").map(|(h, _)| h);
    let dir_after = super::tables::read_directory(s);
    let summary = read_schedule(s, rec);
    let inserted_ids: Vec<String> =
        table.iter().filter_map(|t| t["request_id"].as_str().map(str::to_owned)).collect();
    let mut sched = json!({"inserted": table});
    let mut missing = Vec::new();
    match &summary {
        Ok(list) => {
            sched["read_back"] = json!(list
                .iter()
                .map(|(utc, cuc, id)| json!({"release_utc": utc, "release_cuc": cuc, "request_id": id}))
                .collect::<Vec<_>>());
            missing = inserted_ids
                .iter()
                .filter(|id| !list.iter().any(|(_, _, x)| x == *id))
                .cloned()
                .collect();
        }
        Err(e) => sched["read_back_error"] = json!(format!("{e:#}")),
    }
    if let Ok(h) = &after {
        sched["unit_schedule_enabled"] = json!(h.schedule_enabled);
        sched["unit_schedule_entries"] = json!(h.schedule_entries);
    }
    rec.evidence.section("schedule", sched);
    let mut after_json = json!({});
    if let Ok(h) = &after {
        after_json["housekeeping"] = hk_json(h);
    }
    if let Ok(d) = &dir_after {
        after_json["tables"] = directory_json(d);
    }
    rec.evidence.section("after", after_json);
    let waiting = summary.as_ref().map(Vec::len).unwrap_or_default();
    let ok = after.is_ok() && dir_after.is_ok() && summary.is_ok() && missing.is_empty();
    rec.evidence.step(
        "after",
        st,
        ok,
        if missing.is_empty() {
            format!(
                "the unit's schedule holds {waiting} time-tagged TCs, every one inserted ({} before)",
                hk.schedule_entries
            )
        } else {
            format!("inserted TCs missing from the unit's schedule: {}", missing.join(", "))
        },
        json!({"waiting": waiting}),
    );
    if failure.is_none() && !missing.is_empty() {
        failure = Some(anyhow::anyhow!(
            "{} time-tagged TCs are not in the unit's schedule read back",
            missing.len()
        ));
    }
    match failure {
        Some(e) => Err(e),
        None => {
            after?;
            dir_after?;
            summary?;
            Ok(sum)
        }
    }
}

/// What became of a time-tagged TC after its release.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Released {
    /// Not released yet, or released without a word from the unit so far.
    Waiting,
    /// Completed (the on-board time of its 1,7 when that report arrived).
    Completed(Option<String>),
    /// Failed: the stage and code.
    Failed(String),
}

/// How long after a release the unit is asked about a TC whose completion report has not
/// arrived (a report lost on a noisy line), and how often.
const ASK_AFTER: Duration = Duration::from_secs(1);

/// Waits until every TC that [`execute`] time-tagged (`sum.timed`) has been released on the
/// unit's clock and its execution confirmed: its ST\[01\] completion (or failure) report, or,
/// for a TC due for a second whose report did not arrive, the unit's request history
/// (17,128 → 17,129). `progress` receives one line about what is awaited, several times a
/// second. Then reads the table directory again. Records a `wait` step and the sections
/// `released` (each TC's outcome) and `after wait` (the directory) in `rec.evidence`.
///
/// Gives up `grace` after the last release is due on the unit's clock.
///
/// # Errors
/// A released TC that failed (unless the stack says `on_failure = "continue"` for it); TCs not
/// confirmed within `grace` ([`Exit::Unreachable`](crate::cmd::exit::Exit), in doubt); session
/// errors.
pub fn wait_released(
    s: &mut Session,
    rec: &mut Recorder,
    stack: &Stack,
    sum: &RunSummary,
    grace: Duration,
    progress: &mut dyn FnMut(&str),
) -> anyhow::Result<usize> {
    use std::collections::HashMap;
    use tc_tm::service::test::{self as st17, Progress};
    use tc_tm::service::verification::{self as st01, Report as V};

    let st = started();
    let unit_now = || {
        let (secs, ns) = super::evidence::unix_now();
        let ms = secs * 1000 + i64::from(ns) / 1_000_000 + sum.unit_ahead_ms;
        ms as f64 / 1000.0
    };
    let Some(last) = sum.timed.iter().map(|t| t.release_unix).max() else {
        rec.evidence.step("wait", st, true, "no time-tagged TC to wait for", json!({}));
        return Ok(0);
    };
    let to_last = Duration::from_secs_f64((last as f64 - unit_now()).max(0.0));
    let give_up = Instant::now() + to_last + grace;
    let mut state: HashMap<RequestId, Released> =
        sum.timed.iter().map(|t| (t.request_id, Released::Waiting)).collect();
    let mut asked: Option<Instant> = None;
    loop {
        let waiting: Vec<&TimedTc> = sum
            .timed
            .iter()
            .filter(|t| state.get(&t.request_id) == Some(&Released::Waiting))
            .collect();
        if waiting.is_empty() || Instant::now() >= give_up {
            break;
        }
        let now_u = unit_now();
        if let Some(next) = waiting.iter().map(|t| t.release_unix).min() {
            let when = if next as f64 > now_u {
                format!("in {:.0} s", next as f64 - now_u)
            } else {
                "due".to_owned()
            };
            progress(&format!(
                "{} of {} time-tagged TCs executed; next release {} on the unit's clock ({when})",
                sum.timed.len() - waiting.len(),
                sum.timed.len(),
                utc_text(next, 0)
            ));
        }
        let due: Vec<RequestId> = waiting
            .iter()
            .filter(|t| t.release_unix as f64 + ASK_AFTER.as_secs_f64() <= now_u)
            .map(|t| t.request_id)
            .take(st17::MAX_QUERY_IDS)
            .collect();
        if !due.is_empty() && asked.is_none_or(|a| a.elapsed() >= ASK_AFTER) {
            let mut items = vec![0u8; due.len() * 4];
            let list = tc_tm::service::List::encode_into(&due, &mut items)
                .map_err(|e| anyhow::anyhow!("status query: {e:?}"))?;
            s.send_bypass(&tc_tm::service::Request::Test(st17::Request::QueryStatus(list)))?;
            asked = Some(Instant::now());
        }
        let until = Instant::now() + Duration::from_millis(250);
        while let Some(p) = s.next_packet(until)? {
            if p.service == st01::SERVICE
                && let Ok(r) = V::parse(p.subtype, p.source_data())
            {
                let (id, outcome) = match r {
                    V::CompletionSuccess(id) => {
                        let (u, ns) = p.time.to_unix_utc();
                        (id, Released::Completed(Some(utc_text(u, ns))))
                    }
                    V::AcceptanceFailure(f) | V::StartFailure(f) | V::CompletionFailure(f) => {
                        (f.request_id, Released::Failed(format!("{}", f.code)))
                    }
                    V::ProgressFailure(pf) => {
                        (pf.failure.request_id, Released::Failed(format!("{}", pf.failure.code)))
                    }
                    _ => continue,
                };
                if let Some(e) = state.get_mut(&id)
                    && *e == Released::Waiting
                {
                    *e = outcome;
                }
            } else if p.service == st17::SERVICE
                && let Ok(st17::Report::Status { entries, .. }) =
                    st17::Report::parse(p.subtype, p.source_data())
            {
                for e in entries.iter() {
                    let outcome = match e.state {
                        Progress::Completed => Released::Completed(None),
                        Progress::Failed => Released::Failed(format!(
                            "{} at {}",
                            e.code.map_or("unknown code".to_owned(), |c| c.to_string()),
                            e.stage.map_or("unknown stage".to_owned(), |x| format!("{x:?}"))
                        )),
                        _ => continue,
                    };
                    if let Some(x) = state.get_mut(&e.request_id)
                        && *x == Released::Waiting
                    {
                        *x = outcome;
                    }
                }
            }
        }
    }

    let mut list = Vec::new();
    let (mut done, mut continued, mut failed, mut unknown) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for t in &sum.timed {
        let r = state.get(&t.request_id).cloned().unwrap_or(Released::Waiting);
        let id = format!("{:04X}:{:04X}", t.request_id.packet_id, t.request_id.seq_ctrl);
        let request =
            stack.tc.get(t.tc.saturating_sub(1)).map(|x| x.request.clone()).unwrap_or_default();
        let (outcome, executed) = match &r {
            Released::Completed(at) => ("completed".to_owned(), at.clone()),
            Released::Failed(why) => (format!("failed: {why}"), None),
            Released::Waiting => ("not confirmed".to_owned(), None),
        };
        list.push(json!({"tc": t.tc, "request": request, "release_utc": t.release_utc,
            "request_id": id, "outcome": outcome, "completed_onboard_utc": executed}));
        let line = format!("TC {} ({}, release {})", t.tc, abbreviate(&request), t.release_utc);
        match r {
            Released::Completed(_) => done.push(line),
            Released::Failed(why) => {
                if stack.tc.get(t.tc.saturating_sub(1)).is_some_and(|x| x.on_failure == "continue")
                {
                    continued.push(line);
                } else {
                    failed.push(format!("{line}: {why}"));
                }
            }
            Released::Waiting => unknown.push(line),
        }
    }
    rec.evidence.section("released", json!(list));
    let dir = super::tables::read_directory(s);
    if let Ok(d) = &dir {
        rec.evidence.section("after wait", json!({"tables": directory_json(d)}));
    }
    let ok = failed.is_empty() && unknown.is_empty() && dir.is_ok();
    let detail = if failed.is_empty() && unknown.is_empty() && continued.is_empty() {
        format!(
            "{} time-tagged TCs released and executed on the unit's clock (the last due {})",
            sum.timed.len(),
            utc_text(last, 0)
        )
    } else {
        format!(
            "{} executed, {} failed and continued, {} failed, {} not confirmed",
            done.len(),
            continued.len(),
            failed.len(),
            unknown.len()
        )
    };
    let data = json!({"executed": done.len(), "failed_continued": continued.len()});
    rec.evidence.step("wait", st, ok, detail, data);
    if !failed.is_empty() {
        anyhow::bail!(
            "time-tagged TCs failed when the unit released them:\n  {}",
            failed.join("\n  ")
        );
    }
    if !unknown.is_empty() {
        return Err(crate::cmd::exit::Exit::Unreachable.error(format!(
            "{} time-tagged TCs not confirmed executed {} s after their release (no completion \
             report, no answer to the status query): {}; read the unit's schedule with \
             `eic-bench tc send DEVICE schedule summary` and its tables with `eic-bench tables \
             pull`",
            unknown.len(),
            grace.as_secs(),
            unknown.join("; ")
        )));
    }
    dir?;
    Ok(done.len())
}
