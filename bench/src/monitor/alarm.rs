//! Alarms: evaluation of limits, staleness, event and alert rules, and the alarm state
//! machine, in the manner of Yamcs and ISA-18.2.
//!
//! # States
//!
//! An alarm is identified by its `key` (`hk:<param>`, `stale`, `event:<name>`, `alert`) and
//! has two flags, *active* (the condition holds) and *acknowledged*:
//!
//! | active | acked | shown as | next |
//! |---|---|---|---|
//! | yes | no | `raised` | ack → `acknowledged`; condition ends → `cleared` (awaiting ack) |
//! | yes | yes | `acknowledged` | condition ends → closed |
//! | no | no | `cleared` | ack → closed |
//! | no | yes | `closed` | history only; the next occurrence opens a new alarm |
//!
//! A raised alarm may also be *shelved* (hidden until a time, with a reason); when the time is
//! up ([`expire_shelves`]) it comes back if it is not closed. The condition coming back while an
//! alarm is open re-raises the same alarm (`reraised`, occurrences + 1); a worse level escalates
//! it (`escalated`). Event and alert alarms are *latched*: active until acknowledged.
//!
//! Every transition is a row of `alarm_transitions` with its time and author (`monitor` for the
//! evaluator, the user's name for an acknowledgement or a shelve).
//!
//! # Evaluation
//!
//! [`Evaluator`] holds the persistence and hysteresis counters (saved in `alarm_eval` within
//! the same transaction as the samples they follow, so a crash and re-ingestion gives the same
//! alarms). A sample beyond a limit counts towards `persistence`; the alarm is raised on the
//! N-th consecutive one. Once raised, it clears when the value is back inside the limits moved
//! inwards by `hysteresis`.

use std::collections::BTreeMap;

use anyhow::Context;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use tc_tm::service::housekeeping::HkReport;

use crate::hk_limits::{LimitSet, Severity};

/// Author of automatic transitions.
pub const MONITOR: &str = "monitor";

/// An alarm as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alarm {
    /// Row id.
    pub id: i64,
    /// `hk:<param>`, `stale`, `event:<name>`, `alert`.
    pub key: String,
    /// 1 warning, 2 critical (the worst reached).
    pub severity: u8,
    /// What happened, readable.
    pub message: String,
    /// Value that raised or last escalated it.
    pub value: Option<f64>,
    /// The condition holds.
    pub active: bool,
    /// Acknowledged.
    pub acked: bool,
    /// By whom.
    pub acked_by: Option<String>,
    /// When, UTC ns.
    pub acked_ns: Option<i64>,
    /// The acknowledgement's comment.
    pub ack_comment: Option<String>,
    /// Hidden until this time, UTC ns.
    pub shelved_until_ns: Option<i64>,
    /// Why shelved.
    pub shelve_reason: Option<String>,
    /// When raised, UTC ns.
    pub raised_ns: i64,
    /// When the condition last ended.
    pub cleared_ns: Option<i64>,
    /// Last change.
    pub updated_ns: i64,
    /// Times the condition occurred while this alarm was open.
    pub occurrences: i64,
    /// Cleared and acknowledged.
    pub closed: bool,
}

impl Alarm {
    /// `raised`, `acknowledged`, `cleared`, `shelved` or `closed` (see the module docs).
    pub fn state(&self, now_ns: i64) -> &'static str {
        if self.closed {
            "closed"
        } else if self.shelved_until_ns.is_some_and(|t| t > now_ns) {
            "shelved"
        } else if !self.active {
            "cleared"
        } else if self.acked {
            "acknowledged"
        } else {
            "raised"
        }
    }

    /// `warning` or `critical`.
    pub fn severity_name(&self) -> &'static str {
        Severity::of_level(self.severity).unwrap_or(Severity::Warning).name()
    }
}

/// One transition of an alarm.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transition {
    /// Alarm id.
    pub alarm_id: i64,
    /// When, UTC ns.
    pub at_ns: i64,
    /// `raised`, `escalated`, `reraised`, `acknowledged`, `cleared`, `shelved`, `unshelved`,
    /// `closed`.
    pub kind: String,
    /// `monitor` or the user.
    pub author: String,
    /// Comment (acknowledge) or reason (shelve).
    pub comment: Option<String>,
    /// Value, for raises.
    pub value: Option<f64>,
}

const ALARM_COLS: &str = "id, key, severity, message, value, active, acked, acked_by, acked_ns, \
     ack_comment, shelved_until_ns, shelve_reason, raised_ns, cleared_ns, updated_ns, \
     occurrences, closed";

fn alarm_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Alarm> {
    Ok(Alarm {
        id: r.get(0)?,
        key: r.get(1)?,
        severity: r.get(2)?,
        message: r.get(3)?,
        value: r.get(4)?,
        active: r.get(5)?,
        acked: r.get(6)?,
        acked_by: r.get(7)?,
        acked_ns: r.get(8)?,
        ack_comment: r.get(9)?,
        shelved_until_ns: r.get(10)?,
        shelve_reason: r.get(11)?,
        raised_ns: r.get(12)?,
        cleared_ns: r.get(13)?,
        updated_ns: r.get(14)?,
        occurrences: r.get(15)?,
        closed: r.get(16)?,
    })
}

/// Which alarms to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// Not closed (raised, acknowledged, cleared awaiting ack, shelved).
    Open,
    /// Every alarm raised in `[from, to)`.
    Raised {
        /// From, UTC ns.
        from_ns: i64,
        /// To, UTC ns.
        to_ns: i64,
    },
    /// The most recent `n`, any state.
    Recent(u32),
}

/// Lists alarms, newest first.
///
/// # Errors
/// SQLite errors.
pub fn list(conn: &Connection, filter: Filter) -> anyhow::Result<Vec<Alarm>> {
    let (cond, a, b) = match filter {
        Filter::Open => ("closed = 0", 0, 0),
        Filter::Raised { from_ns, to_ns } => ("raised_ns >= ?1 AND raised_ns < ?2", from_ns, to_ns),
        Filter::Recent(n) => ("1", 0, i64::from(n)),
    };
    let limit = if matches!(filter, Filter::Recent(_)) { "LIMIT ?2" } else { "" };
    let sql = format!(
        "SELECT {ALARM_COLS} FROM alarms WHERE {cond} AND ?1 = ?1 AND ?2 = ?2 \
         ORDER BY raised_ns DESC, id DESC {limit}"
    );
    let mut st = conn.prepare_cached(&sql)?;
    let rows = st.query_map(params![a, b], alarm_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One alarm.
///
/// # Errors
/// SQLite errors.
pub fn get(conn: &Connection, id: i64) -> anyhow::Result<Option<Alarm>> {
    let sql = format!("SELECT {ALARM_COLS} FROM alarms WHERE id = ?1");
    Ok(conn.query_row(&sql, [id], alarm_row).optional()?)
}

/// The transitions of an alarm, oldest first.
///
/// # Errors
/// SQLite errors.
pub fn transitions(conn: &Connection, alarm_id: i64) -> anyhow::Result<Vec<Transition>> {
    let mut st = conn.prepare_cached(
        "SELECT alarm_id, at_ns, kind, author, comment, value FROM alarm_transitions \
         WHERE alarm_id = ?1 ORDER BY at_ns, id",
    )?;
    let rows = st.query_map([alarm_id], |r| {
        Ok(Transition {
            alarm_id: r.get(0)?,
            at_ns: r.get(1)?,
            kind: r.get(2)?,
            author: r.get(3)?,
            comment: r.get(4)?,
            value: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn transition(
    conn: &Connection,
    alarm_id: i64,
    at_ns: i64,
    kind: &str,
    author: &str,
    comment: Option<&str>,
    value: Option<f64>,
) -> anyhow::Result<()> {
    conn.prepare_cached(
        "INSERT INTO alarm_transitions (alarm_id, at_ns, kind, author, comment, value) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![alarm_id, at_ns, kind, author, comment, value])?;
    Ok(())
}

/// Why a human action on an alarm was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// No alarm has this id.
    NoSuchAlarm(i64),
    /// The alarm is closed (or already acknowledged, for an acknowledgement).
    NotApplicable {
        /// The alarm.
        id: i64,
        /// Its state.
        state: &'static str,
        /// The action refused.
        action: &'static str,
    },
    /// An empty author, comment or reason.
    Missing(&'static str),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::NoSuchAlarm(id) => write!(f, "no alarm {id} (`eic-bench monitor alarm list`)"),
            Refused::NotApplicable { id, state, action } => {
                write!(f, "alarm {id} is {state}: it cannot be {action}")
            }
            Refused::Missing(what) => write!(f, "a {what} is required"),
        }
    }
}

impl std::error::Error for Refused {}

/// Acknowledges alarm `id` (by `who`, with `comment`); closes it if its condition has ended
/// (or if it is latched). Returns the alarm after the change.
///
/// # Errors
/// [`Refused`] (no such alarm, already acknowledged or closed, empty author); SQLite errors.
pub fn acknowledge(
    conn: &mut Connection,
    id: i64,
    who: &str,
    comment: &str,
    now_ns: i64,
) -> anyhow::Result<Alarm> {
    if who.trim().is_empty() {
        return Err(Refused::Missing("user name").into());
    }
    let tx = conn.transaction()?;
    let a = get(&tx, id)?.ok_or(Refused::NoSuchAlarm(id))?;
    if a.closed || a.acked {
        let state = if a.closed { "closed" } else { "already acknowledged" };
        return Err(Refused::NotApplicable { id, state, action: "acknowledged" }.into());
    }
    let latched = is_latched(&a.key);
    let close = !a.active || latched;
    tx.execute(
        "UPDATE alarms SET acked = 1, acked_by = ?2, acked_ns = ?3, ack_comment = ?4, \
         updated_ns = ?3, closed = ?5, active = CASE WHEN ?6 THEN 0 ELSE active END, \
         cleared_ns = CASE WHEN ?6 THEN ?3 ELSE cleared_ns END WHERE id = ?1",
        params![id, who, now_ns, comment, close, latched],
    )?;
    transition(&tx, id, now_ns, "acknowledged", who, Some(comment), None)?;
    if close {
        transition(&tx, id, now_ns, "closed", who, None, None)?;
    }
    tx.commit()?;
    get(conn, id)?.context("the alarm vanished")
}

/// Shelves alarm `id` until `until_ns` (by `who`, with `reason`).
///
/// # Errors
/// [`Refused`] (no such alarm, closed, empty reason); SQLite errors.
pub fn shelve(
    conn: &mut Connection,
    id: i64,
    who: &str,
    reason: &str,
    until_ns: i64,
    now_ns: i64,
) -> anyhow::Result<Alarm> {
    if who.trim().is_empty() {
        return Err(Refused::Missing("user name").into());
    }
    if reason.trim().is_empty() {
        return Err(Refused::Missing("reason").into());
    }
    let tx = conn.transaction()?;
    let a = get(&tx, id)?.ok_or(Refused::NoSuchAlarm(id))?;
    if a.closed {
        return Err(Refused::NotApplicable { id, state: "closed", action: "shelved" }.into());
    }
    tx.execute(
        "UPDATE alarms SET shelved_until_ns = ?2, shelve_reason = ?3, updated_ns = ?4 WHERE id = ?1",
        params![id, until_ns, reason, now_ns],
    )?;
    transition(&tx, id, now_ns, "shelved", who, Some(reason), None)?;
    tx.commit()?;
    get(conn, id)?.context("the alarm vanished")
}

/// Brings back every shelved alarm whose time is up (`unshelved`, by `monitor`). Returns the
/// alarms that came back.
///
/// # Errors
/// SQLite errors.
pub fn expire_shelves(conn: &mut Connection, now_ns: i64) -> anyhow::Result<Vec<i64>> {
    let tx = conn.transaction()?;
    let ids: Vec<i64> = {
        let mut st = tx.prepare(
            "SELECT id FROM alarms WHERE shelved_until_ns IS NOT NULL AND shelved_until_ns <= ?1",
        )?;
        let rows = st.query_map([now_ns], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    for &id in &ids {
        tx.execute(
            "UPDATE alarms SET shelved_until_ns = NULL, updated_ns = ?2 WHERE id = ?1",
            params![id, now_ns],
        )?;
        transition(&tx, id, now_ns, "unshelved", MONITOR, None, None)?;
    }
    tx.commit()?;
    Ok(ids)
}

fn is_latched(key: &str) -> bool {
    key.starts_with("event:") || key == "alert"
}

/// What the evaluator did: alarms raised, escalated, re-raised or cleared (for `--on-alarm`
/// and the web page's live updates). Emitted only once the batch commits.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// The alarm.
    pub alarm_id: i64,
    /// `raised`, `escalated`, `reraised`, `cleared`, `closed`.
    pub kind: String,
}

/// A limited parameter, prepared once.
#[derive(Debug, Clone)]
struct Param {
    index: usize,
    name: String,
    key: String,
    limits: crate::hk_limits::Limits,
    hysteresis: crate::hk_limits::Limits,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct EvalState {
    level: u8,
    streak: u32,
    want: u8,
}

/// The alarm evaluator (see the module docs). One per writer; load it with
/// [`Evaluator::load`] and [`Evaluator::save`] it in each batch before the commit.
#[derive(Debug, Clone)]
pub struct Evaluator {
    limits: LimitSet,
    /// Parameter index → name and limits, for listed parameters.
    params: Vec<Param>,
    state: BTreeMap<String, EvalState>,
    dirty: bool,
    last_hk_ns: Option<i64>,
    /// Changes since the last [`Evaluator::take_changes`].
    changes: Vec<Change>,
}

impl Evaluator {
    /// An evaluator for `limits`, with the counters saved in the store.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn load(conn: &Connection, limits: LimitSet) -> anyhow::Result<Self> {
        let params = HkReport::field_names()
            .enumerate()
            .filter_map(|(index, n)| {
                let l = limits.get(n)?;
                Some(Param {
                    index,
                    name: n.to_owned(),
                    key: format!("hk:{n}"),
                    limits: l.clone(),
                    hysteresis: l.with_hysteresis(),
                })
            })
            .collect();
        let mut state = BTreeMap::new();
        let mut st = conn.prepare("SELECT key, level, streak, want FROM alarm_eval")?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                EvalState { level: r.get(1)?, streak: r.get(2)?, want: r.get(3)? },
            ))
        })?;
        for row in rows {
            let (k, s) = row?;
            state.insert(k, s);
        }
        let last_hk_ns = crate::monitor::db::last_hk_ns(conn)?;
        Ok(Self { limits, params, state, dirty: false, last_hk_ns, changes: Vec::new() })
    }

    /// The limits in force.
    pub fn limits(&self) -> &LimitSet {
        &self.limits
    }

    /// Reception time of the last HK report seen.
    pub fn last_hk_ns(&self) -> Option<i64> {
        self.last_hk_ns
    }

    /// Saves the counters (call within the batch, before its commit).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn save(&mut self, conn: &Connection) -> anyhow::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let mut st = conn.prepare_cached(
            "INSERT INTO alarm_eval (key, level, streak, want) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (key) DO UPDATE SET level = excluded.level, streak = excluded.streak, \
             want = excluded.want",
        )?;
        for (k, s) in &self.state {
            st.execute(params![k, s.level, s.streak, s.want])?;
        }
        self.dirty = false;
        Ok(())
    }

    /// Forgets unsaved counters (after a rolled-back batch): reloads them from the store.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn reload(&mut self, conn: &Connection) -> anyhow::Result<()> {
        *self = Self::load(conn, self.limits.clone())?;
        Ok(())
    }

    /// The changes since the last call (call after the batch committed).
    pub fn take_changes(&mut self) -> Vec<Change> {
        std::mem::take(&mut self.changes)
    }

    /// Evaluates one HK report received at `rx_ns`: staleness (a gap longer than
    /// `stale_after_s` since the previous report raises and clears `stale`), then every listed
    /// parameter.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn on_hk(&mut self, conn: &Connection, rx_ns: i64, hk: &HkReport) -> anyhow::Result<()> {
        if let (Some(stale_s), Some(prev)) =
            (self.limits.alarm_rules().stale_after_s, self.last_hk_ns)
        {
            let limit_ns = (stale_s * 1e9) as i64;
            if rx_ns.saturating_sub(prev) > limit_ns {
                self.raise_stale(conn, prev.saturating_add(limit_ns), rx_ns - prev)?;
            }
        }
        self.last_hk_ns = Some(self.last_hk_ns.map_or(rx_ns, |p| p.max(rx_ns)));
        if self.state.get("stale").is_some_and(|s| s.level > 0) {
            self.set_level(conn, "stale", 0, rx_ns, None, "housekeeping received again")?;
        }
        let mut values = [0f64; 64];
        for (slot, (_, v)) in values.iter_mut().zip(hk.fields()) {
            *slot = v;
        }
        for k in 0..self.params.len() {
            let Some(p) = self.params.get(k) else { continue };
            let Some(&value) = values.get(p.index) else { continue };
            let st = self.state.get(p.key.as_str()).copied().unwrap_or_default();
            let raw = p.limits.check(value).severity();
            let want = if raw >= st.level {
                raw
            } else {
                raw.max(p.hysteresis.check(value).severity().min(st.level))
            };
            if want == st.level && st.streak == 0 {
                continue; // the usual case: nothing changes
            }
            let p = p.clone();
            let key = p.key.clone();
            if want > st.level {
                let streak = if st.want == want || st.streak == 0 { st.streak + 1 } else { 1 };
                let s = EvalState { level: st.level, streak, want };
                if streak >= p.limits.persistence {
                    self.state.insert(key.clone(), EvalState { streak: 0, want: 0, ..s });
                    let unit = p.limits.unit.as_deref().unwrap_or("");
                    let msg = format!("{} = {value} {unit}: {}", p.name, p.limits.check(value));
                    self.set_level(conn, &key, want, rx_ns, Some(value), msg.trim())?;
                } else {
                    self.state.insert(key, s);
                }
                self.dirty = true;
            } else {
                if st.streak != 0 || want < st.level {
                    self.state
                        .insert(key.clone(), EvalState { level: st.level, streak: 0, want: 0 });
                    self.dirty = true;
                }
                if want < st.level && want == 0 {
                    let msg = format!("{} = {value}: back within limits", p.name);
                    self.set_level(conn, &key, 0, rx_ns, Some(value), &msg)?;
                } else if want < st.level {
                    // A lower but still alarming level: the alarm stays at its worst severity.
                    self.state.insert(key, EvalState { level: want, streak: 0, want: 0 });
                }
            }
        }
        Ok(())
    }

    /// Checks staleness against the wall clock (live sources): no HK for longer than
    /// `stale_after_s` before `now_ns` raises `stale`. `since_ns` is when the watch started
    /// (a monitor that never received HK goes stale after the same time).
    ///
    /// # Errors
    /// SQLite errors.
    pub fn on_tick(&mut self, conn: &Connection, now_ns: i64, since_ns: i64) -> anyhow::Result<()> {
        let Some(stale_s) = self.limits.alarm_rules().stale_after_s else { return Ok(()) };
        let limit_ns = (stale_s * 1e9) as i64;
        let last = self.last_hk_ns.unwrap_or(since_ns).max(since_ns);
        if now_ns.saturating_sub(last) > limit_ns
            && self.state.get("stale").is_none_or(|s| s.level == 0)
        {
            self.raise_stale(conn, now_ns, now_ns - last)?;
            // Stays raised until HK comes back.
            self.state.insert(
                "stale".to_owned(),
                EvalState { level: self.stale_level(), streak: 0, want: 0 },
            );
            self.dirty = true;
        }
        Ok(())
    }

    fn stale_level(&self) -> u8 {
        self.limits.alarm_rules().stale_severity.unwrap_or(Severity::Critical).level()
    }

    fn raise_stale(&mut self, conn: &Connection, at_ns: i64, gap_ns: i64) -> anyhow::Result<()> {
        let level = self.stale_level();
        let msg = format!("no housekeeping for {:.1} s", gap_ns as f64 / 1e9);
        self.set_level(conn, "stale", level, at_ns, Some(gap_ns as f64 / 1e9), &msg)
    }

    /// Evaluates an ST\[05\] event against the event rules.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn on_event(
        &mut self,
        conn: &Connection,
        rx_ns: i64,
        e: &tc_tm::service::event::EventReport<'_>,
    ) -> anyhow::Result<()> {
        let id = e.id.value();
        let Some(rule) = self.limits.alarm_rules().events.iter().find(|r| r.id == id).copied()
        else {
            return Ok(());
        };
        let name =
            if e.id.name() == "unknown" { format!("0x{id:04X}") } else { e.id.name().to_owned() };
        let msg = format!("event {name} (0x{id:04X}), aux {}", hex::encode(e.aux));
        self.latch(conn, &format!("event:{name}"), rule.severity.level(), rx_ns, None, &msg)
    }

    /// Evaluates a trigger alert against the alert rule.
    ///
    /// # Errors
    /// SQLite errors.
    pub fn on_alert(
        &mut self,
        conn: &Connection,
        rx_ns: i64,
        a: &tc_tm::service::trigger::Alert,
    ) -> anyhow::Result<()> {
        let Some(rule) = self.limits.alarm_rules().alert else { return Ok(()) };
        let snr = f64::from(a.image_snr_centi) / 100.0;
        if snr < rule.min_image_snr {
            return Ok(());
        }
        let msg = format!(
            "{} alert burst {} #{}: {} ms, image SNR {snr:.2}, RA {:.3} Dec {:.3}",
            a.trigger_type,
            a.burst_id,
            a.seq_num,
            a.timescale_ms,
            a.ra_deg(),
            a.dec_deg()
        );
        self.latch(conn, "alert", rule.severity.level(), rx_ns, Some(snr), &msg)
    }

    fn latch(
        &mut self,
        conn: &Connection,
        key: &str,
        level: u8,
        at_ns: i64,
        value: Option<f64>,
        msg: &str,
    ) -> anyhow::Result<()> {
        self.apply(conn, key, level, at_ns, value, msg)
    }

    /// Moves the alarm of `key` to `level` (0 clears it), recording transitions.
    fn set_level(
        &mut self,
        conn: &Connection,
        key: &str,
        level: u8,
        at_ns: i64,
        value: Option<f64>,
        msg: &str,
    ) -> anyhow::Result<()> {
        let st = self.state.entry(key.to_owned()).or_default();
        st.level = level;
        self.dirty = true;
        self.apply(conn, key, level, at_ns, value, msg)
    }

    fn apply(
        &mut self,
        conn: &Connection,
        key: &str,
        level: u8,
        at_ns: i64,
        value: Option<f64>,
        msg: &str,
    ) -> anyhow::Result<()> {
        let sql = format!(
            "SELECT {ALARM_COLS} FROM alarms WHERE key = ?1 AND closed = 0 ORDER BY id DESC LIMIT 1"
        );
        let open = conn.query_row(&sql, [key], alarm_row).optional()?;
        let mut change =
            |id: i64, kind: &str| self.changes.push(Change { alarm_id: id, kind: kind.to_owned() });
        match (open, level) {
            (None, 0) => {}
            (None, level) => {
                conn.execute(
                    "INSERT INTO alarms (key, severity, message, value, active, raised_ns, updated_ns) \
                     VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5)",
                    params![key, level, msg, value, at_ns],
                )?;
                let id = conn.last_insert_rowid();
                transition(conn, id, at_ns, "raised", MONITOR, Some(msg), value)?;
                change(id, "raised");
            }
            (Some(a), 0) => {
                if a.active {
                    let close = a.acked;
                    conn.execute(
                        "UPDATE alarms SET active = 0, cleared_ns = ?2, updated_ns = ?2, closed = ?3 \
                         WHERE id = ?1",
                        params![a.id, at_ns, close],
                    )?;
                    transition(conn, a.id, at_ns, "cleared", MONITOR, Some(msg), value)?;
                    change(a.id, "cleared");
                    if close {
                        transition(conn, a.id, at_ns, "closed", MONITOR, None, None)?;
                    }
                }
            }
            (Some(a), level) => {
                let kind = if !a.active {
                    "reraised"
                } else if level > a.severity {
                    "escalated"
                } else if is_latched(key) {
                    "reraised"
                } else {
                    return Ok(());
                };
                conn.execute(
                    "UPDATE alarms SET active = 1, severity = MAX(severity, ?2), message = ?3, \
                     value = ?4, updated_ns = ?5, occurrences = occurrences + ?6 WHERE id = ?1",
                    params![a.id, level, msg, value, at_ns, i64::from(kind == "reraised")],
                )?;
                transition(conn, a.id, at_ns, kind, MONITOR, Some(msg), value)?;
                change(a.id, kind);
            }
        }
        Ok(())
    }
}

/// Runs `--on-alarm CMD` (through `sh -c`) with the alarm as one JSON object on stdin, in the
/// background; a failure is reported on stderr and never stops the monitor.
pub fn notify_command(cmd: &str, alarm: &Alarm, change: &str, now_ns: i64) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut v = serde_json::to_value(alarm).unwrap_or_default();
    v["change"] = serde_json::json!(change);
    v["state"] = serde_json::json!(alarm.state(now_ns));
    v["severity_name"] = serde_json::json!(alarm.severity_name());
    let line = v.to_string();
    let cmd = cmd.to_owned();
    std::thread::spawn(move || {
        let child = Command::new("sh")
            .arg("-c")
            .arg(&cmd)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn();
        match child {
            Ok(mut c) => {
                if let Some(mut stdin) = c.stdin.take() {
                    let _ = writeln!(stdin, "{line}");
                }
                match c.wait() {
                    Ok(s) if s.success() => {}
                    Ok(s) => eprintln!("warning: --on-alarm `{cmd}` exited with {s}"),
                    Err(e) => eprintln!("warning: --on-alarm `{cmd}`: {e}"),
                }
            }
            Err(e) => eprintln!("warning: --on-alarm `{cmd}` could not start: {e}"),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::db::{NewSource, Store};

    const LIMITS: &str = "[rate_sector0]\nsoft_high = 1000\nhard_high = 5000\npersistence = 2\n\
        hysteresis = 100\n[alarms]\nstale_after_s = 5\n[[alarms.event]]\nid = \"fallback-boot\"\n\
        severity = \"critical\"\n";

    fn hk(rate: u16) -> HkReport {
        let mut h = HkReport::default();
        h.sector_rates[0] = rate;
        h
    }

    /// Feeds rates at 1 s steps (from `t0` s) in one committed batch; returns the changes.
    fn feed(s: &mut Store, ev: &mut Evaluator, t0: i64, rates: &[u16]) -> Vec<String> {
        let b = s
            .begin(NewSource {
                kind: "device",
                name: "t",
                sha256: None,
                size: None,
                status: "live",
                reason: None,
                started_ns: 0,
            })
            .unwrap();
        for (i, r) in rates.iter().enumerate() {
            ev.on_hk(b.conn(), (t0 + i as i64) * 1_000_000_000, &hk(*r)).unwrap();
        }
        ev.save(b.conn()).unwrap();
        b.commit(None).unwrap();
        ev.take_changes().into_iter().map(|c| c.kind).collect()
    }

    #[test]
    fn persistence_hysteresis_ack_and_close() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path().join("a.db")).unwrap();
        let limits = LimitSet::parse(LIMITS, "t").unwrap();
        let mut ev = Evaluator::load(s.conn(), limits.clone()).unwrap();
        // One sample beyond is not enough (persistence 2).
        assert!(feed(&mut s, &mut ev, 0, &[500, 1500, 500]).is_empty());
        // Two in a row raise a warning; a hard value escalates.
        assert_eq!(feed(&mut s, &mut ev, 3, &[1500, 1500]), ["raised"]);
        assert_eq!(feed(&mut s, &mut ev, 5, &[6000, 6000]), ["escalated"]);
        // Back under the soft limit but inside the hysteresis band: still active.
        assert!(feed(&mut s, &mut ev, 7, &[950]).is_empty());
        let open = list(s.conn(), Filter::Open).unwrap();
        assert_eq!(open.len(), 1);
        let a = &open[0];
        assert_eq!(
            (a.key.as_str(), a.severity, a.active, a.state(0)),
            ("hk:rate_sector0", 2, true, "raised")
        );
        // A new connection (a restart) keeps the counters: acknowledge, then clear → closed.
        let mut ev = Evaluator::load(s.conn(), limits.clone()).unwrap();
        let acked = acknowledge(s.conn_mut(), a.id, "alice", "looking", 8_500_000_000).unwrap();
        assert_eq!(acked.state(8_500_000_000), "acknowledged");
        assert!(acknowledge(s.conn_mut(), a.id, "bob", "", 9).is_err(), "acked twice");
        assert_eq!(feed(&mut s, &mut ev, 9, &[800]), ["cleared"]);
        let a = get(s.conn(), a.id).unwrap().unwrap();
        assert!(a.closed);
        let kinds: Vec<_> =
            transitions(s.conn(), a.id).unwrap().into_iter().map(|t| (t.kind, t.author)).collect();
        let k = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        assert_eq!(
            kinds,
            [
                k("raised", MONITOR),
                k("escalated", MONITOR),
                k("acknowledged", "alice"),
                k("cleared", MONITOR),
                k("closed", MONITOR)
            ]
        );
        // The next excursion opens a new alarm.
        assert_eq!(feed(&mut s, &mut ev, 10, &[1500, 1500]), ["raised"]);
        assert_eq!(list(s.conn(), Filter::Open).unwrap().len(), 1);
        assert_ne!(list(s.conn(), Filter::Open).unwrap()[0].id, a.id);
    }

    #[test]
    fn staleness_shelving_and_latched_events() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path().join("a.db")).unwrap();
        let limits = LimitSet::parse(LIMITS, "t").unwrap();
        let mut ev = Evaluator::load(s.conn(), limits).unwrap();
        assert!(feed(&mut s, &mut ev, 0, &[500]).is_empty());
        // A 20 s gap in the data: raised at 5 s after the last report, cleared by the next.
        assert_eq!(feed(&mut s, &mut ev, 20, &[500]), ["raised", "cleared"]);
        let stale = list(s.conn(), Filter::Open).unwrap();
        assert_eq!(
            (stale[0].key.as_str(), stale[0].raised_ns, stale[0].state(0)),
            ("stale", 5_000_000_000, "cleared")
        );
        // Live: the wall clock.
        {
            let tx = s.conn_mut().transaction().unwrap();
            ev.on_tick(&tx, 30_000_000_000, 0).unwrap();
            ev.save(&tx).unwrap();
            tx.commit().unwrap();
        }
        assert_eq!(ev.take_changes().len(), 1, "re-raised by the clock");
        // Shelve, then expiry brings it back.
        let id = stale[0].id;
        assert!(shelve(s.conn_mut(), id, "bob", "", 100, 31).is_err(), "a reason is required");
        let a = shelve(s.conn_mut(), id, "bob", "ground station pass", 40_000_000_000, 31).unwrap();
        assert_eq!(a.state(35_000_000_000), "shelved");
        assert!(expire_shelves(s.conn_mut(), 39_000_000_000).unwrap().is_empty());
        assert_eq!(expire_shelves(s.conn_mut(), 41_000_000_000).unwrap(), [id]);
        assert_eq!(get(s.conn(), id).unwrap().unwrap().state(41_000_000_000), "raised");
        // Events: a rule raises a latched alarm, closed by its acknowledgement.
        let aux = [1u8, 0];
        let e = tc_tm::service::event::EventReport::new(
            tc_tm::service::event::EventId::FallbackBoot,
            &aux,
        );
        let other =
            tc_tm::service::event::EventReport::new(tc_tm::service::event::EventId::SaaEntry, &[]);
        {
            let tx = s.conn_mut().transaction().unwrap();
            ev.on_event(&tx, 50, &e).unwrap();
            ev.on_event(&tx, 51, &other).unwrap();
            ev.on_event(&tx, 52, &e).unwrap();
            tx.commit().unwrap();
        }
        assert_eq!(
            ev.take_changes().into_iter().map(|c| c.kind).collect::<Vec<_>>(),
            ["raised", "reraised"]
        );
        let a = list(s.conn(), Filter::Open)
            .unwrap()
            .into_iter()
            .find(|a| a.key == "event:fallback-boot")
            .unwrap();
        assert_eq!((a.severity, a.occurrences), (2, 2));
        let a = acknowledge(s.conn_mut(), a.id, "carol", "known: bank A CRC", 60).unwrap();
        assert!(a.closed && !a.active);
    }
}
