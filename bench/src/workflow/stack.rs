//! TC stacks: the reviewable file `plan` writes, a human may edit, `stack check` re-validates
//! and `run` executes (format in `docs/workplan.md`).
//!
//! A stack is a TOML file: a header and one `[[tc]]` block per TC, in execution order.
//!
//! ```toml
//! format = "eic-bench stack 1"
//! workplan = "examples/workplans/week49.toml"
//! against = "twin"
//! unit_mode = "safe"
//!
//! [[tc]]
//! release = "now"                      # or a UTC time: time-tagged with ST[11] 11,4
//! slot = "noisy-pixels"
//! purpose = "load pixels v3 (segment 1/110)"
//! changes = []
//! request = "table load id=1 version=3 total=108812 offset=0 data=…"
//! encoded = "200,1:0100030001A90C…"     # service,subtype:application data (hex)
//! on_failure = "stop"                  # or "continue"
//! ```
//!
//! [`check`] re-validates a stack as a reviewer may have left it: every request parses and
//! equals its encoded form; time-tagged releases are valid UTC, in non-decreasing order, and
//! fit the unit's schedule (64 entries, 16 KiB); and a simulation of the unit in execution
//! order finds every table load complete with the CRC its validation names, validations
//! before activations, no second load into a buffer whose validated table has not been
//! activated yet, and every load or activation in `maintenance` mode.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use tc_tm::crc::crc32;
use tc_tm::service::function::Mode;

use super::evidence::{encode, parse_utc};

/// The format line of a stack file.
pub const FORMAT: &str = "eic-bench stack 1";
/// Most time-tagged TCs the unit holds (`onboard::limits::MAX_SCHEDULED_TCS`).
pub const SCHEDULE_ENTRIES: usize = onboard::limits::MAX_SCHEDULED_TCS;
/// Octets of time-tagged packets the unit holds (`onboard::limits::SCHEDULE_POOL_LEN`).
pub const SCHEDULE_POOL: usize = onboard::limits::SCHEDULE_POOL_LEN;
/// Octets a TC packet adds to its application data (primary header 6, PUS-C secondary
/// header 5, packet error control 2).
pub const PACKET_OVERHEAD: usize = 13;

/// One TC of a stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StackTc {
    /// `now`, or the UTC release time (time-tagged).
    pub release: String,
    /// The workplan slot it serves (empty for housekeeping of the stack itself).
    #[serde(default)]
    pub slot: String,
    /// Why it is there.
    pub purpose: String,
    /// The table entries or parameters it changes (readable lines).
    #[serde(default)]
    pub changes: Vec<String>,
    /// The request in the syntax of `docs/icd/services.md`.
    pub request: String,
    /// `service,subtype:HEX` application data, as the request encodes.
    pub encoded: String,
    /// `stop` (default) or `continue` when this TC fails.
    #[serde(default = "stop")]
    pub on_failure: String,
}

fn stop() -> String {
    "stop".to_owned()
}

impl StackTc {
    /// Whether this TC is sent at once (not time-tagged).
    pub fn is_now(&self) -> bool {
        self.release.eq_ignore_ascii_case("now")
    }

    /// The release time as Unix seconds (`None` for `now`).
    ///
    /// # Errors
    /// A release that is neither `now` nor a UTC time.
    pub fn release_unix(&self) -> Result<Option<i64>, String> {
        if self.is_now() { Ok(None) } else { parse_utc(&self.release).map(Some) }
    }
}

/// A whole stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stack {
    /// [`FORMAT`].
    pub format: String,
    /// The workplan it was planned from.
    #[serde(default)]
    pub workplan: String,
    /// What it was planned against (device or directory).
    #[serde(default)]
    pub against: String,
    /// When it was planned, UTC.
    #[serde(default)]
    pub planned_utc: String,
    /// The unit's mode when planned (the simulation of [`check`] starts there).
    #[serde(default = "safe")]
    pub unit_mode: String,
    /// The TCs, in execution order.
    #[serde(default)]
    pub tc: Vec<StackTc>,
}

fn safe() -> String {
    "safe".to_owned()
}

/// Formats the encoded form of a TC.
pub fn encoded_text(service: u8, subtype: u8, data: &[u8]) -> String {
    format!("{service},{subtype}:{}", hex::encode_upper(data))
}

impl Stack {
    /// An empty stack.
    pub fn new(workplan: &str, against: &str, unit_mode: Mode) -> Self {
        Stack {
            format: FORMAT.to_owned(),
            workplan: workplan.to_owned(),
            against: against.to_owned(),
            planned_utc: super::evidence::utc_now(),
            unit_mode: unit_mode.to_string(),
            tc: Vec::new(),
        }
    }

    /// Appends a TC given as text (encoded here).
    ///
    /// # Errors
    /// A request that does not parse.
    pub fn push(
        &mut self,
        release: &str,
        slot: &str,
        purpose: impl Into<String>,
        changes: Vec<String>,
        request: String,
    ) -> Result<(), String> {
        let e = encode(&request)?;
        self.tc.push(StackTc {
            release: release.to_owned(),
            slot: slot.to_owned(),
            purpose: purpose.into(),
            changes,
            encoded: encoded_text(e.service, e.subtype, &e.data),
            request,
            on_failure: stop(),
        });
        Ok(())
    }

    /// Reads a stack file.
    ///
    /// # Errors
    /// Unreadable file; TOML errors with line and column.
    pub fn load(path: &Path) -> anyhow::Result<Stack> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let s: Stack = toml::from_str(&text).map_err(|e| {
            crate::cmd::BadInput(format!("{}: not a stack file: {e}", path.display()))
        })?;
        if s.format != FORMAT {
            anyhow::bail!(crate::cmd::BadInput(format!(
                "{}: format {:?}, expected {FORMAT:?}",
                path.display(),
                s.format
            )));
        }
        Ok(s)
    }

    /// The stack as TOML text, with a comment header saying how to review it.
    ///
    /// # Errors
    /// Serialisation errors (not expected).
    pub fn to_text(&self) -> anyhow::Result<String> {
        let body = toml::to_string(self).context("writing the stack")?;
        Ok(format!(
            "# TC stack written by `eic-bench plan`. Review it, reorder or delete [[tc]] blocks,\n\
             # set on_failure = \"continue\" where a failure must not stop the run, then:\n\
             #   eic-bench stack check STACK   (re-validates everything)\n\
             #   eic-bench run DEVICE STACK    (executes, writes the evidence report)\n\
             # release = \"now\": sent at once; a UTC time: time-tagged (ST[11] 11,4).\n\
             # {} TCs: {} now, {} time-tagged.\n\n{body}",
            self.tc.len(),
            self.tc.iter().filter(|t| t.is_now()).count(),
            self.tc.iter().filter(|t| !t.is_now()).count(),
        ))
    }

    /// Writes the stack file.
    ///
    /// # Errors
    /// File errors.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        std::fs::write(path, self.to_text()?).with_context(|| format!("writing {}", path.display()))
    }
}

/// One finding of [`check`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// 1-based TC number in the file (0: the stack as a whole).
    pub tc: usize,
    /// Whether it prevents running the stack.
    pub error: bool,
    /// What is wrong.
    pub message: String,
}

#[derive(Debug, Clone, Default)]
struct Load {
    version: u16,
    total: usize,
    data: Vec<u8>,
    have: Vec<bool>,
    validated: bool,
}

fn field<'a>(req: &'a str, key: &str) -> Option<&'a str> {
    req.split_whitespace().find_map(|w| w.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
}

fn num(v: &str) -> Option<u64> {
    match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => v.parse().ok(),
    }
}

fn mode_allowed(from: Mode, to: Mode) -> bool {
    match to {
        Mode::Safe => from != Mode::Boot,
        Mode::Standby => matches!(from, Mode::Safe | Mode::Observation | Mode::Standby),
        Mode::Observation => matches!(from, Mode::Standby | Mode::Observation),
        Mode::Maintenance => matches!(from, Mode::Safe | Mode::Maintenance),
        _ => false,
    }
}

/// Re-validates a stack (see the module documentation). `now_unix` is the current time, for
/// the warning about releases already past.
pub fn check(stack: &Stack, now_unix: i64) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut err = |tc: usize, m: String| out.push(Finding { tc, error: true, message: m });
    let mut warnings = Vec::new();
    // 1. Syntax and encoded form; releases.
    let mut decoded: Vec<Option<(u8, u8, Vec<u8>)>> = Vec::new();
    let mut last_release: Option<i64> = None;
    let (mut timed, mut timed_octets) = (0usize, 0usize);
    for (i, t) in stack.tc.iter().enumerate() {
        let n = i + 1;
        if t.on_failure != "stop" && t.on_failure != "continue" {
            err(n, format!("on_failure {:?}: use \"stop\" or \"continue\"", t.on_failure));
        }
        let e = match encode(&t.request) {
            Ok(e) => e,
            Err(m) => {
                err(n, format!("request does not parse: {m}"));
                decoded.push(None);
                continue;
            }
        };
        let enc = encoded_text(e.service, e.subtype, &e.data);
        if !enc.eq_ignore_ascii_case(t.encoded.trim()) {
            err(
                n,
                format!(
                    "encoded form differs from the request (the request encodes to {})",
                    abbreviate(&enc)
                ),
            );
        }
        match t.release_unix() {
            Err(m) => err(n, format!("release: {m} (or \"now\")")),
            Ok(None) => {}
            Ok(Some(r)) => {
                if e.service == 11 {
                    err(n, "a time-based schedule TC cannot itself be time-tagged".to_owned());
                }
                if let Some(p) = last_release
                    && r < p
                {
                    err(
                        n,
                        format!(
                            "release {} is earlier than the TC before it: time-tagged TCs are released in time order, so the file order would not be the execution order",
                            t.release
                        ),
                    );
                }
                last_release = Some(r);
                if r <= now_unix {
                    warnings.push(Finding {
                        tc: n,
                        error: false,
                        message: format!("release {} is past: `run` sends it at once", t.release),
                    });
                }
                timed += 1;
                timed_octets += e.data.len() + PACKET_OVERHEAD;
                if 1 + 6 + e.data.len() + PACKET_OVERHEAD > tc_tm::service::MAX_TC_APP_DATA_LEN {
                    err(
                        n,
                        format!(
                            "{} octets of application data: too long to embed in a schedule insert (at most {})",
                            e.data.len(),
                            tc_tm::service::MAX_TC_APP_DATA_LEN - 7 - PACKET_OVERHEAD
                        ),
                    );
                }
            }
        }
        decoded.push(Some((e.service, e.subtype, e.data)));
    }
    if timed > SCHEDULE_ENTRIES || timed_octets > SCHEDULE_POOL {
        err(
            0,
            format!(
                "{timed} time-tagged TCs of {timed_octets} octets: the unit's schedule holds {SCHEDULE_ENTRIES} TCs and {SCHEDULE_POOL} octets"
            ),
        );
    }
    // 2. Simulation in execution order: `now` TCs in file order, then time-tagged ones by
    //    release (stable).
    let mut order: Vec<usize> =
        (0..stack.tc.len()).filter(|&i| stack.tc.get(i).is_some_and(StackTc::is_now)).collect();
    let mut later: Vec<(i64, usize)> = stack
        .tc
        .iter()
        .enumerate()
        .filter_map(|(i, t)| t.release_unix().ok().flatten().map(|r| (r, i)))
        .collect();
    later.sort_by_key(|&(r, i)| (r, i));
    order.extend(later.into_iter().map(|(_, i)| i));
    let mut mode = Mode::from_name(&stack.unit_mode).unwrap_or(Mode::Safe);
    let mut loads: BTreeMap<u8, Load> = BTreeMap::new();
    for i in order {
        let n = i + 1;
        let (Some(t), Some(Some((sv, st, _)))) = (stack.tc.get(i), decoded.get(i)) else {
            continue;
        };
        let r = t.request.as_str();
        let table = field(r, "id").and_then(num).and_then(|v| u8::try_from(v).ok());
        let need_maint = |mode: Mode, what: &str, err: &mut dyn FnMut(usize, String)| {
            if mode != Mode::Maintenance {
                err(
                    n,
                    format!(
                        "{what} in mode {mode}: only maintenance allows it (put `function mode mode=maintenance` before it)"
                    ),
                );
            }
        };
        match (*sv, *st) {
            (8, 1) if r.contains(" mode ") || r.starts_with("function mode") => {
                if let Some(m) = field(r, "mode").and_then(Mode::from_name) {
                    if !mode_allowed(mode, m) {
                        err(
                            n,
                            format!(
                                "mode {mode} → {m} is refused by the unit (safe from any mode; maintenance and standby from safe; observation from standby)"
                            ),
                        );
                    }
                    mode = m;
                }
            }
            (8, 1) if r.contains("reset") && !r.contains("target") => mode = Mode::Safe,
            (6, 2) => need_maint(mode, "memory load", &mut err),
            (200, 1) => {
                need_maint(mode, "table load", &mut err);
                let (Some(id), Some(version), Some(total), Some(offset), Some(data)) = (
                    table,
                    field(r, "version").and_then(num),
                    field(r, "total").and_then(num),
                    field(r, "offset").and_then(num),
                    field(r, "data").and_then(|d| hex::decode(d).ok()),
                ) else {
                    continue;
                };
                let (version, total, offset) = (version as u16, total as usize, offset as usize);
                if total > tables::MAX_IMAGE_LEN {
                    err(
                        n,
                        format!(
                            "table {id}: total length {total} exceeds the largest table image ({} octets)",
                            tables::MAX_IMAGE_LEN
                        ),
                    );
                    continue;
                }
                let l = loads.entry(id).or_default();
                if l.validated && (l.version != version || l.total != total) {
                    err(
                        n,
                        format!(
                            "table {id}: a load of version {version} into the inactive buffer that holds validated version {} not yet activated: activate it first (or abort it)",
                            l.version
                        ),
                    );
                }
                if l.version != version || l.total != total || l.validated {
                    *l = Load {
                        version,
                        total,
                        data: vec![0; total],
                        have: vec![false; total],
                        validated: false,
                    };
                }
                if let (Some(d), Some(h)) = (
                    l.data.get_mut(offset..offset + data.len()),
                    l.have.get_mut(offset..offset + data.len()),
                ) {
                    d.copy_from_slice(&data);
                    h.fill(true);
                } else {
                    err(
                        n,
                        format!(
                            "table {id}: segment at {offset} (+{}) outside the {total}-octet image",
                            data.len()
                        ),
                    );
                }
            }
            (200, 2) => {
                need_maint(mode, "table validation", &mut err);
                let (Some(id), Some(crc)) = (table, field(r, "crc").and_then(num)) else {
                    continue;
                };
                match loads.get_mut(&id) {
                    None => err(
                        n,
                        format!("table {id}: validation with no load before it in the stack"),
                    ),
                    Some(l) => {
                        let missing = l.have.iter().filter(|h| !**h).count();
                        if missing > 0 {
                            err(
                                n,
                                format!(
                                    "table {id} version {}: {missing} of {} octets never loaded (a load TC was deleted?)",
                                    l.version, l.total
                                ),
                            );
                        } else if u64::from(crc32(&l.data)) != crc {
                            err(
                                n,
                                format!(
                                    "table {id}: the loaded image has CRC-32 0x{:08X}, the validation expects 0x{crc:08X}",
                                    crc32(&l.data)
                                ),
                            );
                        } else {
                            l.validated = true;
                        }
                    }
                }
            }
            (200, 3) => {
                need_maint(mode, "table activation", &mut err);
                let Some(id) = table else { continue };
                match loads.get(&id) {
                    Some(l) if l.validated => {
                        loads.remove(&id);
                    }
                    Some(_) => err(n, format!("table {id}: activation before its validation")),
                    None => err(
                        n,
                        format!(
                            "table {id}: activation with no validated load before it in the stack"
                        ),
                    ),
                }
            }
            (200, 4) => {
                if let Some(id) = table {
                    loads.remove(&id);
                }
            }
            _ => {}
        }
    }
    for (id, l) in &loads {
        if l.validated {
            warnings.push(Finding {
                tc: 0,
                error: false,
                message: format!(
                    "table {id} version {} is validated but never activated by this stack",
                    l.version
                ),
            });
        }
    }
    out.extend(warnings);
    out
}

fn abbreviate(s: &str) -> String {
    if s.len() <= 60 { s.to_owned() } else { format!("{}…", &s[..60.min(s.len())]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table_stack() -> Stack {
        let mut s = Stack::new("w.toml", "dir", Mode::Safe);
        let img = [1u8, 2, 3, 4, 5, 6];
        s.push("now", "a", "maintenance", vec![], "function mode mode=maintenance".into()).unwrap();
        s.push(
            "now",
            "a",
            "load",
            vec![],
            "table load id=7 version=2 total=6 offset=0 data=010203".into(),
        )
        .unwrap();
        s.push(
            "now",
            "a",
            "load",
            vec![],
            "table load id=7 version=2 total=6 offset=3 data=040506".into(),
        )
        .unwrap();
        s.push(
            "now",
            "a",
            "validate",
            vec![],
            format!("table validate id=7 crc=0x{:08X}", crc32(&img)),
        )
        .unwrap();
        s.push("now", "a", "safe", vec![], "function mode mode=safe".into()).unwrap();
        s.push("2030-01-01T00:00:00Z", "a", "m", vec![], "function mode mode=maintenance".into())
            .unwrap();
        s.push(
            "2030-01-01T00:00:00Z",
            "a",
            "activate",
            vec!["x".into()],
            "table activate id=7".into(),
        )
        .unwrap();
        s.push("2030-01-01T00:00:00Z", "a", "safe", vec![], "function mode mode=safe".into())
            .unwrap();
        s
    }

    fn errors(s: &Stack) -> Vec<String> {
        check(s, 0)
            .into_iter()
            .filter(|f| f.error)
            .map(|f| format!("{}: {}", f.tc, f.message))
            .collect()
    }

    #[test]
    fn a_planned_stack_checks_and_round_trips() {
        let s = table_stack();
        assert!(errors(&s).is_empty(), "{:?}", errors(&s));
        let text = s.to_text().unwrap();
        let back: Stack = toml::from_str(&text).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn deleting_a_segment_or_editing_a_request_is_caught() {
        let mut s = table_stack();
        s.tc.remove(2);
        assert!(errors(&s).iter().any(|e| e.contains("never loaded")), "{:?}", errors(&s));
        let mut s = table_stack();
        s.tc[1].request = s.tc[1].request.replace("010203", "010209");
        assert!(
            errors(&s).iter().any(|e| e.starts_with("2: encoded form differs")),
            "{:?}",
            errors(&s)
        );
    }

    #[test]
    fn order_and_mode_constraints() {
        let mut s = table_stack();
        s.tc.swap(3, 2); // validate before the last segment
        assert!(errors(&s).iter().any(|e| e.contains("never loaded")));
        let mut s = table_stack();
        s.tc.remove(5); // activation at the slot without entering maintenance
        assert!(
            errors(&s).iter().any(|e| e.contains("activation in mode safe")),
            "{:?}",
            errors(&s)
        );
        let mut s = table_stack();
        s.tc[7].release = "2029-01-01T00:00:00Z".into();
        assert!(errors(&s).iter().any(|e| e.contains("earlier than the TC before")));
        let mut s = table_stack();
        s.tc[6].release = "tomorrow".into();
        assert!(errors(&s).iter().any(|e| e.contains("release")));
    }

    #[test]
    fn a_second_load_before_the_activation_is_refused() {
        let mut s = table_stack();
        let extra = s.tc[1].clone();
        let mut extra = extra;
        extra.request = "table load id=7 version=3 total=6 offset=0 data=010203".into();
        let e = encode(&extra.request).unwrap();
        extra.encoded = encoded_text(e.service, e.subtype, &e.data);
        s.tc.insert(4, extra);
        assert!(errors(&s).iter().any(|e| e.contains("not yet activated")), "{:?}", errors(&s));
    }
}
