//! Every TM report as one readable line ([`text`]) and as structured JSON ([`json()`]).
//!
//! This is what `tc send` and `tm listen` print. Names come from the registries of the codec
//! (failure codes, event IDs, parameters, memory IDs, modes) and of the `tables` crate (table
//! keys); values are decoded per their documented layout (`docs/icd/services.md`): event
//! auxiliary data per event, parameter values per the parameter's type, the software version
//! as `major.minor.patch+build` (the image header's layout, `docs/memory.md`).
//!
//! Both functions accept any report [`Report::parse`] returns and never panic. Anything a
//! registry does not know is shown by its number (`0x0099`), and auxiliary data that does not
//! follow its event's layout is shown in hex with a note, never dropped.
//!
//! ```
//! use tc_tm::service::Report;
//! let r = Report::parse(20, 2, &[1, 0x00, 0x01, 0x00, 0x00, 0x03, 0xE8]).unwrap();
//! assert_eq!(eic_bench::report_text::text(&r), "20,2 hk_period_ms = 1000 ms");
//! assert_eq!(eic_bench::report_text::json(&r)["parameters"][0]["value"], 1000);
//! ```

use std::fmt::Write as _;

use onboard::image::SwVersion;
use onboard::services::parameter::SW_VERSION;
use serde_json::{Map, Value, json};
use tables::TableId;
use tc_tm::service::event::{self, EventId};
use tc_tm::service::function::{ArmTarget, Bank, FunctionId, Mode, TriggerSelect};
use tc_tm::service::housekeeping::{self, HkReport, HousekeepingReport};
use tc_tm::service::memory::{self, MemoryId};
use tc_tm::service::parameter::{self, ParamEntry, ParamId, Value as ParamValue};
use tc_tm::service::table::{self, DirectoryEntry, DumpSegment};
use tc_tm::service::trigger::{self, Alert};
use tc_tm::service::verification::{self, Failure, FailureData, RequestId};
use tc_tm::service::{FailureCode, Report, Stage, test};

/// Octets of data shown in hex on a text line before it is cut (`…`).
pub const TEXT_HEX_OCTETS: usize = 16;

/// The report as one line of text, starting with `service,subtype`.
///
/// Examples: `20,2 sw_version = 1.0.0+0 (0x01000000)`,
/// `1,4 start failure [1A40:C005] not_armed (0x0205): critical function refused: ...`.
///
/// # Panics
/// Never.
pub fn text(report: &Report<'_>) -> String {
    let (service, subtype) = report.service_subtype();
    let body = match report {
        Report::Verification(r) => verification_text(r),
        Report::Housekeeping(r) => housekeeping_text(r),
        Report::Event(r) => event_text(r),
        Report::Memory(r) => memory_text(r),
        Report::Schedule(r) => schedule_text(r),
        Report::Test(r) => test_text(r),
        Report::Parameter(r) => parameter_text(r),
        Report::Table(r) => table_text(r),
        Report::Trigger(r) => trigger_text(r),
        _ => None,
    };
    let body = body.unwrap_or_else(|| {
        format!("report not known to this bench version: {}", hex_cut(&source_data(report)))
    });
    format!("{service},{subtype} {body}")
}

/// The report as a JSON object: `service`, `subtype`, `type` (what the report is, snake
/// case), then the report's fields by name (numbers as numbers, registry names as strings).
///
/// # Panics
/// Never.
pub fn json(report: &Report<'_>) -> Value {
    let (service, subtype) = report.service_subtype();
    let body = match report {
        Report::Verification(r) => verification_json(r),
        Report::Housekeeping(r) => housekeeping_json(r),
        Report::Event(r) => event_json(r),
        Report::Memory(r) => memory_json(r),
        Report::Schedule(r) => schedule_json(r),
        Report::Test(r) => test_json(r),
        Report::Parameter(r) => parameter_json(r),
        Report::Table(r) => table_json(r),
        Report::Trigger(r) => trigger_json(r),
        _ => None,
    };
    let body = body
        .unwrap_or_else(|| Body::new("unknown").with("data", hexio_format(&source_data(report))));
    let mut out = Map::new();
    out.insert("service".into(), service.into());
    out.insert("subtype".into(), subtype.into());
    out.insert("type".into(), body.kind.into());
    out.extend(body.fields);
    Value::Object(out)
}

/// A JSON body under construction: the report type and its fields in order.
struct Body {
    kind: &'static str,
    fields: Map<String, Value>,
}

impl Body {
    fn new(kind: &'static str) -> Self {
        Body { kind, fields: Map::new() }
    }

    fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.fields.insert(key.to_owned(), value.into());
        self
    }
}

// --- shared formatting ------------------------------------------------------------------------

/// The report's source data, re-encoded (for reports this bench has no form for).
fn source_data(report: &Report<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; report.buffer_len()];
    let len = report.emit(&mut buf).unwrap_or(0);
    buf.truncate(len);
    buf
}

fn hexio_format(bytes: &[u8]) -> String {
    crate::hexio::format(bytes)
}

/// Upper-case hex of the first [`TEXT_HEX_OCTETS`] octets, with `…` and the length if cut.
fn hex_cut(bytes: &[u8]) -> String {
    match bytes.get(..TEXT_HEX_OCTETS) {
        Some(head) if bytes.len() > TEXT_HEX_OCTETS => {
            format!("{}… ({} octets)", hexio_format(head), bytes.len())
        }
        _ => hexio_format(bytes),
    }
}

/// `1A40:C005`: packet ID and sequence control of the TC, as `tc send` prints it.
fn request_id_text(id: RequestId) -> String {
    format!("{:04X}:{:04X}", id.packet_id, id.seq_ctrl)
}

fn request_id_json(id: RequestId) -> Value {
    json!({
        "text": request_id_text(id),
        "packet_id": id.packet_id,
        "seq_ctrl": id.seq_ctrl,
        "apid": id.apid().value(),
        "seq_count": id.seq_count().value(),
    })
}

/// A name from an enumeration, or the raw value in hex if undefined.
fn enum_name(name: Option<&'static str>, value: u8) -> String {
    name.map_or_else(|| format!("0x{value:02X}"), str::to_owned)
}

fn bank_name(v: u8) -> String {
    enum_name(Bank::from_value(v).map(Bank::name), v)
}

fn mode_name(v: u8) -> String {
    enum_name(Mode::from_value(v).map(Mode::name), v)
}

fn table_key(v: u8) -> String {
    enum_name(TableId::from_u8(v).map(TableId::key), v)
}

fn arm_target_name(v: u8) -> String {
    enum_name(ArmTarget::from_value(v).map(ArmTarget::name), v)
}

fn memory_name(v: u8) -> String {
    enum_name(
        Some(MemoryId::from_value(v)).filter(|m| MemoryId::ALL.contains(m)).map(|m| m.name()),
        v,
    )
}

fn version_text(v: u32) -> String {
    SwVersion(v).to_string()
}

// --- ST[01] ------------------------------------------------------------------------------------

fn stage_of(r: &verification::Report) -> Option<Stage> {
    Some(match r.subtype() {
        1 | 2 => Stage::Acceptance,
        3 | 4 => Stage::Start,
        5 | 6 => Stage::Progress,
        7 | 8 => Stage::Completion,
        _ => return None,
    })
}

/// What the failure data's subject names, per failure code (`docs/icd/services.md`), e.g.
/// `table crt`, `memory bank-a`, `parameter sw_version`; `None` when the code gives the subject
/// no meaning.
pub fn failure_subject(code: FailureCode, subject: u16) -> Option<String> {
    use FailureCode as C;
    let [hi, lo] = subject.to_be_bytes();
    let tc = || format!("TC {hi},{lo}");
    let function = || match subject {
        0x0100..=0x01FF => format!("arm target {}", arm_target_name(lo)),
        _ => {
            format!("function {}", enum_name(FunctionId::from_value(lo).map(FunctionId::name), lo))
        }
    };
    let low_byte = |f: fn(u8) -> String| (hi == 0).then(|| f(lo));
    match code {
        C::FunctionUnknown | C::ModeTransitionRefused | C::BankImageInvalid => {
            (hi == 0).then(function)
        }
        C::NotArmed | C::ArmExpired => Some(function()),
        C::NotAllowedInMode => Some(tc()),
        C::MemoryIdInvalid
        | C::AddressOutOfRange
        | C::WriteProtected
        | C::DataCrcMismatch
        | C::MemoryVerifyFailed => low_byte(memory_name).map(|m| format!("memory {m}")),
        C::TableIdInvalid
        | C::SegmentOutOfRange
        | C::TableLoadConflict
        | C::NothingToValidate
        | C::NothingToActivate
        | C::TableCrcMismatch
        | C::TableInvalid
        | C::TableIncomplete => low_byte(table_key).map(|t| format!("table {t}")),
        C::ParameterUnknown | C::ParameterOutOfRange | C::ParameterReadOnly => {
            Some(format!("parameter {}", ParamId(subject)))
        }
        C::ScheduleFull | C::ReleaseTimeInPast | C::ScheduledTcInvalid => Some(tc()),
        C::SidUnknown => Some(format!("SID {subject}")),
        C::EventIdUnknown => Some(format!("event {}", EventId::from_value(subject))),
        c if c.stage() == Stage::Acceptance && !matches!(c, FailureCode::Unknown(_)) => Some(tc()),
        _ => None,
    }
}

fn failure_text(f: &Failure) -> String {
    let FailureData { subject, index, field, value } = f.data;
    let subject = failure_subject(f.code, subject)
        .map_or_else(|| format!("subject=0x{subject:04X}"), |s| format!("subject={s}"));
    format!(
        "{} (0x{:04X}): {}; {subject} index={index} field={field} value={value} (0x{value:08X})",
        f.code.name(),
        f.code.value(),
        f.code.explanation(),
    )
}

fn failure_json(f: &Failure) -> Value {
    let d = f.data;
    json!({
        "code": f.code.name(),
        "code_value": f.code.value(),
        "explanation": f.code.explanation(),
        "subject": d.subject,
        "subject_name": failure_subject(f.code, d.subject),
        "index": d.index,
        "field": d.field,
        "value": d.value,
    })
}

fn verification_text(r: &verification::Report) -> Option<String> {
    let stage = stage_of(r)?;
    let id = request_id_text(r.request_id());
    Some(match r {
        verification::Report::ProgressSuccess(p) => {
            format!("{stage} success [{id}] step {}", p.step)
        }
        verification::Report::ProgressFailure(p) => {
            format!("{stage} failure [{id}] step {}: {}", p.step, failure_text(&p.failure))
        }
        _ => match r.failure() {
            Some(f) => format!("{stage} failure [{id}] {}", failure_text(f)),
            None => format!("{stage} success [{id}]"),
        },
    })
}

fn verification_json(r: &verification::Report) -> Option<Body> {
    let stage = stage_of(r)?;
    let failed = r.failure().is_some();
    let kind = match (stage, failed) {
        (Stage::Acceptance, false) => "acceptance_success",
        (Stage::Acceptance, true) => "acceptance_failure",
        (Stage::Start, false) => "start_success",
        (Stage::Start, true) => "start_failure",
        (Stage::Progress, false) => "progress_success",
        (Stage::Progress, true) => "progress_failure",
        (Stage::Completion, false) => "completion_success",
        (Stage::Completion, true) => "completion_failure",
    };
    let mut b = Body::new(kind)
        .with("stage", stage.name())
        .with("success", !failed)
        .with("request_id", request_id_json(r.request_id()));
    match r {
        verification::Report::ProgressSuccess(p) => b = b.with("step", p.step),
        verification::Report::ProgressFailure(p) => b = b.with("step", p.step),
        _ => {}
    }
    if let Some(f) = r.failure() {
        b = b.with("failure", failure_json(f));
    }
    Some(b)
}

// --- ST[03] ------------------------------------------------------------------------------------

fn housekeeping_text(r: &housekeeping::Report<'_>) -> Option<String> {
    let housekeeping::Report::Housekeeping(h) = r else { return None };
    Some(match h {
        HousekeepingReport::Ugts(hk) => hk_text(hk),
        HousekeepingReport::Other { sid, data } => {
            format!("HK sid={} (not decoded, {} octets) {}", sid.0, data.len(), hex_cut(data))
        }
    })
}

fn last_failure_name(code: FailureCode) -> &'static str {
    if code.value() == 0 { "none" } else { code.name() }
}

fn hk_text(hk: &HkReport) -> String {
    let mut s = format!(
        "HK sid=1 mode={} boot={}{} sw={} tc accepted={} rejected={} executed={} failed={} \
         last_failure={}",
        hk.mode,
        hk.boot_bank,
        if hk.boot_fallback { " (fallback)" } else { "" },
        version_text(hk.sw_version),
        hk.tc_accepted,
        hk.tc_rejected,
        hk.tc_executed,
        hk.tc_failed,
        last_failure_name(hk.last_failure),
    );
    let triggers = match (hk.crt_enabled, hk.imt_enabled) {
        (true, true) => "crt+imt",
        (true, false) => "crt",
        (false, true) => "imt",
        (false, false) => "off",
    };
    let _ = write!(s, " triggers={triggers}");
    if hk.in_saa || hk.saa_inhibited {
        let _ = write!(s, " saa={}", if hk.saa_inhibited { "inhibited" } else { "inside" });
    }
    if let Some(a) = hk.armed {
        let _ = write!(s, " armed={a} ({} ms left)", hk.arm_remaining_ms);
    }
    if hk.farm_lockout {
        let _ = write!(s, " FARM LOCKOUT (v_r={})", hk.farm_vr);
    }
    let _ = write!(
        s,
        " tables={} schedule={} ({} waiting) uptime={} s",
        hk.table_count,
        if hk.schedule_enabled { "on" } else { "off" },
        hk.schedule_entries,
        hk.uptime_s
    );
    s
}

fn hk_json(hk: &HkReport) -> Value {
    let tables: Vec<Value> = hk
        .tables
        .iter()
        .take(usize::from(hk.table_count))
        .map(|t| {
            json!({
                "table_id": t.table_id,
                "table": table_key(t.table_id),
                "active_version": t.active_version,
                "active_crc": t.active_crc,
                "inactive_state": t.inactive_state.name(),
            })
        })
        .collect();
    json!({
        "mode": hk.mode.name(),
        "boot_bank": hk.boot_bank.name(),
        "boot_fallback": hk.boot_fallback,
        "sw_version": hk.sw_version,
        "sw_version_text": version_text(hk.sw_version),
        "image_crc": hk.image_crc,
        "tc_accepted": hk.tc_accepted,
        "tc_rejected": hk.tc_rejected,
        "tc_executed": hk.tc_executed,
        "tc_failed": hk.tc_failed,
        "last_failure": last_failure_name(hk.last_failure),
        "last_failure_value": hk.last_failure.value(),
        "farm_vr": hk.farm_vr,
        "farm_lockout": hk.farm_lockout,
        "farm_lockout_count": hk.farm_lockout_count,
        "table_count": hk.table_count,
        "tables": tables,
        "crt_enabled": hk.crt_enabled,
        "imt_enabled": hk.imt_enabled,
        "saa_inhibited": hk.saa_inhibited,
        "in_saa": hk.in_saa,
        "sector_rates": hk.sector_rates,
        "armed": hk.armed.map(ArmTarget::name),
        "arm_remaining_ms": hk.arm_remaining_ms,
        "schedule_enabled": hk.schedule_enabled,
        "schedule_entries": hk.schedule_entries,
        "uptime_s": hk.uptime_s,
    })
}

fn housekeeping_json(r: &housekeeping::Report<'_>) -> Option<Body> {
    let housekeeping::Report::Housekeeping(h) = r else { return None };
    Some(match h {
        HousekeepingReport::Ugts(hk) => {
            Body::new("housekeeping").with("sid", 1).with("parameters", hk_json(hk))
        }
        HousekeepingReport::Other { sid, data } => {
            Body::new("housekeeping").with("sid", sid.0).with("data", hexio_format(data))
        }
    })
}

// --- ST[05] ------------------------------------------------------------------------------------

/// One decoded field of auxiliary data: its text and its JSON value.
struct Field {
    name: &'static str,
    text: String,
    json: Value,
}

impl Field {
    fn num(name: &'static str, v: impl Into<u64>) -> Self {
        let v = v.into();
        Field { name, text: v.to_string(), json: v.into() }
    }

    fn crc(name: &'static str, v: u32) -> Self {
        Field { name, text: format!("0x{v:08X}"), json: v.into() }
    }

    fn word(name: &'static str, text: String) -> Self {
        Field { name, json: Value::String(text.clone()), text }
    }
}

/// A cursor over auxiliary data; `None` when an octet is missing.
struct Aux<'a>(&'a [u8]);

impl Aux<'_> {
    fn u8(&mut self) -> Option<u8> {
        let (first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(*first)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_at_checked(N)?;
        self.0 = rest;
        head.try_into().ok()
    }

    fn u16(&mut self) -> Option<u16> {
        self.array().map(u16::from_be_bytes)
    }

    fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_be_bytes)
    }

    fn request_id(&mut self) -> Option<Field> {
        let id = RequestId { packet_id: self.u16()?, seq_ctrl: self.u16()? };
        Some(Field { name: "request_id", text: request_id_text(id), json: request_id_json(id) })
    }
}

/// The auxiliary data of a known event decoded per its layout (`EventId::aux_layout`);
/// `None` for unknown events or data that does not follow the layout.
fn event_fields(id: EventId, aux: &[u8]) -> Option<Vec<Field>> {
    let mut a = Aux(aux);
    let bank = |v| Field::word("bank", bank_name(v));
    let fields = match id {
        EventId::Boot => vec![bank(a.u8()?), Field::word("sw_version", version_text(a.u32()?))],
        EventId::FallbackBoot => {
            let none_or_bank = |v| if v == 0 { "none".to_owned() } else { bank_name(v) };
            vec![
                Field::word("selected", none_or_bank(a.u8()?)),
                Field::word("booted", none_or_bank(a.u8()?)),
            ]
        }
        EventId::ModeChanged => {
            vec![Field::word("from", mode_name(a.u8()?)), Field::word("to", mode_name(a.u8()?))]
        }
        EventId::BootBankSelected => vec![bank(a.u8()?)],
        EventId::TableActivated => vec![
            Field::word("table", table_key(a.u8()?)),
            Field::num("version", a.u16()?),
            Field::crc("crc", a.u32()?),
        ],
        EventId::TableLoadAborted => {
            vec![Field::word("table", table_key(a.u8()?)), Field::num("received", a.u32()?)]
        }
        EventId::TableValidationFailed => vec![
            Field::word("table", table_key(a.u8()?)),
            Field::word("code", FailureCode::from_value(a.u16()?).name().to_owned()),
            Field::num("entry", a.u16()?),
            Field::num("field", a.u16()?),
        ],
        EventId::MemoryLoadComplete => vec![
            Field::word("memory", memory_name(a.u8()?)),
            Field::crc("address", a.u32()?),
            Field::num("length", a.u16()?),
        ],
        EventId::TriggerEnabled | EventId::TriggerDisabled => {
            let v = a.u8()?;
            vec![Field::word(
                "trigger",
                enum_name(TriggerSelect::from_value(v).map(|t| t.name()), v),
            )]
        }
        EventId::AlertIssued => {
            let burst = a.u32()?;
            let seq = a.u16()?;
            let t = a.u8()?;
            vec![
                Field::num("burst_id", burst),
                Field::num("seq_num", seq),
                Field::word(
                    "trigger",
                    enum_name(trigger::TriggerType::from_value(t).map(|t| t.name()), t),
                ),
            ]
        }
        EventId::FarmLockout => vec![Field::num("v_r", a.u8()?)],
        EventId::CriticalArmed => vec![
            Field::word("target", arm_target_name(a.u8()?)),
            Field::num("timeout_ms", a.u32()?),
        ],
        EventId::ArmExpired | EventId::CriticalExecuted => {
            vec![Field::word("target", arm_target_name(a.u8()?))]
        }
        EventId::ScheduleReleased => vec![a.request_id()?],
        EventId::ScheduleReleaseFailed => vec![
            a.request_id()?,
            Field::word("code", FailureCode::from_value(a.u16()?).name().to_owned()),
        ],
        EventId::ParameterChanged => {
            let id = ParamId(a.u16()?);
            let (old, new) = (a.u32()?, a.u32()?);
            vec![
                Field::word("parameter", id.to_string()),
                Field { name: "old", text: value_text(id, old), json: value_json(id, old) },
                Field { name: "new", text: value_text(id, new), json: value_json(id, new) },
            ]
        }
        EventId::SaaEntry | EventId::SaaExit | EventId::CountersCleared => vec![],
        EventId::TmOverflow => {
            vec![Field::num("vcid", a.u8()?), Field::num("packets_lost", a.u16()?)]
        }
        _ => return None,
    };
    a.0.is_empty().then_some(fields)
}

fn event_text(r: &event::Report<'_>) -> Option<String> {
    let event::Report::Event(e) = r else { return None };
    let mut s = format!("event {} ({})", e.id, e.severity);
    match event_fields(e.id, e.aux) {
        Some(fields) => {
            for f in fields {
                let _ = write!(s, " {}={}", f.name, f.text);
            }
        }
        None if matches!(e.id, EventId::Unknown(_)) => {
            if !e.aux.is_empty() {
                let _ = write!(s, " aux={}", hex_cut(e.aux));
            }
        }
        None => {
            let _ = write!(
                s,
                " aux={} (not the documented layout: {})",
                hex_cut(e.aux),
                e.id.aux_layout()
            );
        }
    }
    Some(s)
}

fn event_json(r: &event::Report<'_>) -> Option<Body> {
    let event::Report::Event(e) = r else { return None };
    let aux = event_fields(e.id, e.aux).map(|fields| {
        Value::Object(fields.into_iter().map(|f| (f.name.to_owned(), f.json)).collect())
    });
    Some(
        Body::new("event")
            .with("event", e.id.name())
            .with("event_id", e.id.value())
            .with("severity", e.severity.name())
            .with("aux", aux.unwrap_or(Value::Null))
            .with("aux_hex", hexio_format(e.aux)),
    )
}

// --- ST[06] ------------------------------------------------------------------------------------

fn memory_text(r: &memory::Report<'_>) -> Option<String> {
    Some(match r {
        memory::Report::Dump(d) => format!(
            "memory dump {} address=0x{:08X} length={}: {}",
            d.memory_id,
            d.address,
            d.data.len(),
            hex_cut(d.data)
        ),
        memory::Report::Check(c) => format!(
            "memory check {} address=0x{:08X} length={} crc32=0x{:08X}",
            c.memory_id, c.address, c.length, c.crc
        ),
        _ => return None,
    })
}

fn memory_json(r: &memory::Report<'_>) -> Option<Body> {
    Some(match r {
        memory::Report::Dump(d) => Body::new("memory_dump")
            .with("memory", d.memory_id.to_string())
            .with("memory_id", d.memory_id.value())
            .with("address", d.address)
            .with("length", d.data.len())
            .with("data", hexio_format(d.data)),
        memory::Report::Check(c) => Body::new("memory_check")
            .with("memory", c.memory_id.to_string())
            .with("memory_id", c.memory_id.value())
            .with("address", c.address)
            .with("length", c.length)
            .with("crc32", c.crc),
        _ => return None,
    })
}

// --- ST[11] ------------------------------------------------------------------------------------

fn schedule_text(r: &tc_tm::service::schedule::Report<'_>) -> Option<String> {
    match r {
        tc_tm::service::schedule::Report::Summary(l) => {
            let items: Vec<String> = l
                .iter()
                .map(|e| {
                    format!(
                        "{} [{:04X}:{:04X}]",
                        e.release, e.request_id.packet_id, e.request_id.seq_ctrl
                    )
                })
                .collect();
            Some(format!("schedule summary: {} waiting {}", l.len(), items.join(", ")))
        }
        _ => None,
    }
}

fn schedule_json(r: &tc_tm::service::schedule::Report<'_>) -> Option<Body> {
    match r {
        tc_tm::service::schedule::Report::Summary(l) => {
            let items: Vec<Value> = l
                .iter()
                .map(|e| {
                    serde_json::json!({
                        "release_coarse": e.release.coarse,
                        "release_fine": e.release.fine,
                        "request_id": format!("{:04X}{:04X}", e.request_id.packet_id, e.request_id.seq_ctrl),
                    })
                })
                .collect();
            Some(Body::new("schedule_summary").with("entries", items))
        }
        _ => None,
    }
}

// --- ST[17] ------------------------------------------------------------------------------------

fn test_text(r: &test::Report) -> Option<String> {
    match r {
        test::Report::AreYouAlive => Some("are-you-alive: the unit is alive".to_owned()),
        _ => None,
    }
}

fn test_json(r: &test::Report) -> Option<Body> {
    match r {
        test::Report::AreYouAlive => Some(Body::new("are_you_alive")),
        _ => None,
    }
}

// --- ST[20] ------------------------------------------------------------------------------------

/// A parameter value as the operator reads it: `1000 ms`, `true`, `6.5 sigma`,
/// `1.0.0+0 (0x01000000)` for the software version, the raw value in hex when the ID is
/// unknown or the value is not one of its type.
fn value_text(id: ParamId, raw: u32) -> String {
    let Some(def) = id.def() else { return format!("0x{raw:08X} (unknown parameter)") };
    if id == SW_VERSION {
        return format!("{} (0x{raw:08X})", version_text(raw));
    }
    match def.decode(raw) {
        Some(v) if def.unit.is_empty() => v.to_string(),
        Some(v) => format!("{v} {}", def.unit),
        None => format!("0x{raw:08X} (not a {} value)", def.ty.name()),
    }
}

fn value_json(id: ParamId, raw: u32) -> Value {
    match id.def().and_then(|d| d.decode(raw)) {
        Some(ParamValue::U32(v)) => v.into(),
        Some(ParamValue::I32(v)) => v.into(),
        Some(ParamValue::F32(v)) => f64::from(v).into(),
        Some(ParamValue::Bool(v)) => v.into(),
        None => Value::Null,
    }
}

fn param_entry_json(e: ParamEntry) -> Value {
    let def = e.id.def();
    let mut v = json!({
        "id": e.id.0,
        "name": def.map(|d| d.name),
        "type": def.map(|d| d.ty.name()),
        "unit": def.map(|d| d.unit),
        "value": value_json(e.id, e.raw),
        "raw": e.raw,
    });
    if e.id == SW_VERSION
        && let Some(obj) = v.as_object_mut()
    {
        obj.insert("version".into(), version_text(e.raw).into());
    }
    v
}

fn parameter_text(r: &parameter::Report<'_>) -> Option<String> {
    let parameter::Report::Values(list) = r else { return None };
    let items: Vec<String> =
        list.iter().map(|e| format!("{} = {}", e.id, value_text(e.id, e.raw))).collect();
    Some(items.join(", "))
}

fn parameter_json(r: &parameter::Report<'_>) -> Option<Body> {
    let parameter::Report::Values(list) = r else { return None };
    let items: Vec<Value> = list.iter().map(param_entry_json).collect();
    Some(Body::new("parameter_values").with("parameters", items))
}

// --- ST[200] -----------------------------------------------------------------------------------

fn directory_item_text(e: &DirectoryEntry) -> String {
    let mut s = format!(
        "{} v{} 0x{:08X} {} {}",
        table_key(e.table_id),
        e.active_version,
        e.active_crc,
        e.active_len,
        e.inactive_state
    );
    if e.inactive_state != table::InactiveState::Empty {
        let _ = write!(
            s,
            " (v{} {}/{} octets",
            e.inactive_version, e.inactive_received, e.inactive_len
        );
        if e.inactive_crc != 0 {
            let _ = write!(s, " 0x{:08X}", e.inactive_crc);
        }
        s.push(')');
    }
    s
}

fn dump_segment_text(d: &DumpSegment<'_>) -> String {
    let end = u64::from(d.offset).saturating_add(d.data.len() as u64);
    format!(
        "table dump {} {} v{} octets {}..{} of {}: {}",
        table_key(d.table_id),
        d.buffer,
        d.version,
        d.offset,
        end,
        d.total_len,
        hex_cut(d.data)
    )
}

fn table_text(r: &table::Report<'_>) -> Option<String> {
    Some(match r {
        table::Report::DumpSegment(d) => dump_segment_text(d),
        table::Report::Directory(list) => {
            let items: Vec<String> = list.iter().map(|e| directory_item_text(&e)).collect();
            format!("table directory ({} tables): {}", list.len(), items.join("; "))
        }
        _ => return None,
    })
}

fn table_json(r: &table::Report<'_>) -> Option<Body> {
    Some(match r {
        table::Report::DumpSegment(d) => Body::new("table_dump_segment")
            .with("table", table_key(d.table_id))
            .with("table_id", d.table_id)
            .with("buffer", d.buffer.name())
            .with("version", d.version)
            .with("offset", d.offset)
            .with("length", d.data.len())
            .with("total_len", d.total_len)
            .with("data", hexio_format(d.data)),
        table::Report::Directory(list) => {
            let items: Vec<Value> = list
                .iter()
                .map(|e| {
                    json!({
                        "table": table_key(e.table_id),
                        "table_id": e.table_id,
                        "active_version": e.active_version,
                        "active_crc": e.active_crc,
                        "active_len": e.active_len,
                        "inactive_state": e.inactive_state.name(),
                        "inactive_version": e.inactive_version,
                        "inactive_crc": e.inactive_crc,
                        "inactive_len": e.inactive_len,
                        "inactive_received": e.inactive_received,
                    })
                })
                .collect();
            Body::new("table_directory").with("tables", items)
        }
        _ => return None,
    })
}

// --- ST[201] -----------------------------------------------------------------------------------

fn alert_text(a: &Alert) -> String {
    let catalogue = match a.catalogue_id {
        0 => "none".to_owned(),
        id => id.to_string(),
    };
    format!(
        "alert {} burst={} seq={} timescale={} ms window={:.3}..{:.3} s band={}-{} keV \
         snr rate={:.2} image={:.2} sigma y={:.4} z={:.4} ra={:.4} dec={:.4} r90={:.4} deg \
         catalogue={catalogue} slew={}",
        a.trigger_type,
        a.burst_id,
        a.seq_num,
        a.timescale_ms,
        a.window_start.seconds(),
        a.window_end.seconds(),
        a.energy_min_kev,
        a.energy_max_kev,
        a.rate_snr(),
        a.image_snr(),
        a.y_deg(),
        a.z_deg(),
        a.ra_deg(),
        a.dec_deg(),
        a.error_radius_deg(),
        a.slew,
    )
}

fn trigger_text(r: &trigger::Report) -> Option<String> {
    match r {
        trigger::Report::Alert(a) => Some(alert_text(a)),
        _ => None,
    }
}

fn trigger_json(r: &trigger::Report) -> Option<Body> {
    let trigger::Report::Alert(a) = r else { return None };
    Some(
        Body::new("alert")
            .with("trigger", a.trigger_type.name())
            .with("burst_id", a.burst_id)
            .with("seq_num", a.seq_num)
            .with("timescale_ms", a.timescale_ms)
            .with("window_start_s", a.window_start.seconds())
            .with("window_end_s", a.window_end.seconds())
            .with("energy_min_kev", a.energy_min_kev)
            .with("energy_max_kev", a.energy_max_kev)
            .with("rate_snr", a.rate_snr())
            .with("image_snr", a.image_snr())
            .with("y_deg", a.y_deg())
            .with("z_deg", a.z_deg())
            .with("ra_deg", a.ra_deg())
            .with("dec_deg", a.dec_deg())
            .with("r90_deg", a.error_radius_deg())
            .with("catalogue_id", a.catalogue_id)
            .with("slew", a.slew.name()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use tc_tm::service::List;
    use tc_tm::service::event::EventReport;
    use tc_tm::service::housekeeping::{HkTable, Sid};
    use tc_tm::service::memory::{CheckReport, DumpReport};
    use tc_tm::service::table::{BufferSel, InactiveState};
    use tc_tm::service::trigger::{CucTime, SlewRequest, TriggerType};
    use tc_tm::service::verification::Progress;

    const ID: RequestId = RequestId { packet_id: 0x1A40, seq_ctrl: 0xC005 };

    fn event(id: EventId, aux: &[u8]) -> Report<'_> {
        Report::Event(event::Report::Event(EventReport::new(id, aux)))
    }

    #[test]
    fn st01_verification() {
        let ok = Report::Verification(verification::Report::CompletionSuccess(ID));
        assert_eq!(text(&ok), "1,7 completion success [1A40:C005]");
        assert_eq!(
            json(&ok),
            json!({"service": 1, "subtype": 7, "type": "completion_success",
                "stage": "completion", "success": true,
                "request_id": {"text": "1A40:C005", "packet_id": 0x1A40, "seq_ctrl": 0xC005,
                    "apid": 0x240, "seq_count": 5}})
        );
        let fail = Failure {
            request_id: ID,
            code: FailureCode::TableInvalid,
            data: FailureData { subject: 3, index: 7, field: 2, value: 300 },
        };
        let r = Report::Verification(verification::Report::StartFailure(fail));
        assert_eq!(
            text(&r),
            "1,4 start failure [1A40:C005] table_invalid (0x0403): table content rejected by the \
             validator: failure data gives table, entry and field; subject=table crt index=7 \
             field=2 value=300 (0x0000012C)"
        );
        let j = json(&r);
        assert_eq!(j["type"], "start_failure");
        assert_eq!(j["success"], false);
        assert_eq!(
            j["failure"],
            json!({"code": "table_invalid", "code_value": 0x0403,
                "explanation": FailureCode::TableInvalid.explanation(),
                "subject": 3, "subject_name": "table crt", "index": 7, "field": 2, "value": 300})
        );
        // Acceptance failures name the refused TC; unknown codes pass through.
        let acc = Failure {
            request_id: ID,
            code: FailureCode::BadEnumValue,
            data: FailureData { subject: 0x1403, index: 0, field: 0, value: 9 },
        };
        let r = Report::Verification(verification::Report::AcceptanceFailure(acc));
        assert!(text(&r).starts_with("1,2 acceptance failure [1A40:C005] bad_enum_value (0x010B)"));
        assert!(text(&r).ends_with("; subject=TC 20,3 index=0 field=0 value=9 (0x00000009)"));
        let unknown = Failure { code: FailureCode::Unknown(0x0999), ..acc };
        let r = Report::Verification(verification::Report::CompletionFailure(unknown));
        assert!(text(&r).contains("unknown (0x0999): code not in this software's registry"));
        assert!(text(&r).contains("subject=0x1403 "));
        assert_eq!(json(&r)["failure"]["subject_name"], Value::Null);
        let p = Report::Verification(verification::Report::ProgressSuccess(Progress {
            request_id: ID,
            step: 9,
        }));
        assert_eq!(text(&p), "1,5 progress success [1A40:C005] step 9");
        assert_eq!(json(&p)["step"], 9);
        let pf = Report::parse(
            1,
            6,
            &[0x1A, 0x40, 0xC0, 0x05, 0, 2, 0x03, 0x01, 0, 2, 0, 4, 0, 0, 0, 0, 0x10, 0],
        )
        .unwrap();
        assert_eq!(
            text(&pf),
            "1,6 progress failure [1A40:C005] step 2: dump_interrupted (0x0301): dump \
             interrupted (telemetry queue full): request the remaining range again; \
             subject=0x0002 index=4 field=0 value=4096 (0x00001000)"
        );
        assert_eq!(json(&pf)["type"], "progress_failure");
        // Subjects per code family.
        assert_eq!(failure_subject(FailureCode::WriteProtected, 2).unwrap(), "memory bank-a");
        assert_eq!(
            failure_subject(FailureCode::ParameterReadOnly, 0x30).unwrap(),
            "parameter sw_version"
        );
        assert_eq!(failure_subject(FailureCode::NotArmed, 3).unwrap(), "function reset");
        assert_eq!(
            failure_subject(FailureCode::NotArmed, 0x0103).unwrap(),
            "arm target write-running-bank"
        );
        assert_eq!(failure_subject(FailureCode::EventIdUnknown, 0x99).unwrap(), "event 0x0099");
    }

    fn hk() -> HkReport {
        let mut tables = [HkTable::default(); 8];
        tables[0] = HkTable {
            table_id: 3,
            active_version: 2,
            active_crc: 0xCAFE_F00D,
            inactive_state: InactiveState::Loading,
        };
        HkReport {
            mode: Mode::Safe,
            sw_version: 0x0100_0000,
            tc_accepted: 12,
            tc_rejected: 1,
            tc_executed: 10,
            tc_failed: 1,
            last_failure: FailureCode::NotArmed,
            farm_vr: 5,
            table_count: 1,
            tables,
            crt_enabled: true,
            armed: Some(ArmTarget::Reset),
            arm_remaining_ms: 12_000,
            schedule_enabled: true,
            schedule_entries: 2,
            uptime_s: 3600,
            ..HkReport::default()
        }
    }

    #[test]
    fn st03_housekeeping() {
        let r = Report::Housekeeping(housekeeping::Report::Housekeeping(HousekeepingReport::Ugts(
            hk(),
        )));
        assert_eq!(
            text(&r),
            "3,25 HK sid=1 mode=safe boot=A sw=1.0.0+0 tc accepted=12 rejected=1 executed=10 \
             failed=1 last_failure=not_armed triggers=crt armed=reset (12000 ms left) tables=1 \
             schedule=on (2 waiting) uptime=3600 s"
        );
        let j = json(&r);
        assert_eq!((j["type"].as_str(), j["sid"].as_u64()), (Some("housekeeping"), Some(1)));
        let p = &j["parameters"];
        assert_eq!(p["mode"], "safe");
        assert_eq!(p["sw_version"], 0x0100_0000);
        assert_eq!(p["sw_version_text"], "1.0.0+0");
        assert_eq!(p["last_failure"], "not_armed");
        assert_eq!(p["armed"], "reset");
        assert_eq!(p["sector_rates"], json!([0, 0, 0, 0, 0, 0, 0, 0]));
        assert_eq!(
            p["tables"],
            json!([{"table_id": 3, "table": "crt", "active_version": 2,
                "active_crc": 0xCAFE_F00D_u32, "inactive_state": "loading"}])
        );
        // Notable states appear; a fresh report says none.
        let mut odd = HkReport { boot_fallback: true, farm_lockout: true, ..hk() };
        odd.in_saa = true;
        odd.saa_inhibited = true;
        odd.last_failure = FailureCode::Unknown(0);
        let t = text(&Report::Housekeeping(housekeeping::Report::Housekeeping(
            HousekeepingReport::Ugts(odd),
        )));
        assert_eq!(
            t,
            "3,25 HK sid=1 mode=safe boot=A (fallback) sw=1.0.0+0 tc accepted=12 rejected=1 \
             executed=10 failed=1 last_failure=none triggers=crt saa=inhibited armed=reset \
             (12000 ms left) FARM LOCKOUT (v_r=5) tables=1 schedule=on (2 waiting) uptime=3600 s"
        );
        let data = [0xAB; 20];
        let other =
            Report::Housekeeping(housekeeping::Report::Housekeeping(HousekeepingReport::Other {
                sid: Sid(7),
                data: &data,
            }));
        assert_eq!(
            text(&other),
            "3,25 HK sid=7 (not decoded, 20 octets) ABABABABABABABABABABABABABABABAB… (20 octets)"
        );
        assert_eq!(json(&other)["data"], "AB".repeat(20));
    }

    #[test]
    fn st05_events() {
        let aux = [0x00, 0x01, 0, 0, 0x03, 0xE8, 0, 0, 0x01, 0xF4];
        let r = event(EventId::ParameterChanged, &aux);
        assert_eq!(
            text(&r),
            "5,1 event parameter-changed (informative) parameter=hk_period_ms old=1000 ms new=500 ms"
        );
        assert_eq!(
            json(&r),
            json!({"service": 5, "subtype": 1, "type": "event", "event": "parameter-changed",
                "event_id": 0x70, "severity": "informative",
                "aux": {"parameter": "hk_period_ms", "old": 1000, "new": 500},
                "aux_hex": "0001000003E8000001F4"})
        );
        assert_eq!(
            text(&event(EventId::FallbackBoot, &[1, 2])),
            "5,4 event fallback-boot (high) selected=A booted=B"
        );
        assert_eq!(
            text(&event(EventId::FallbackBoot, &[0, 0])),
            "5,4 event fallback-boot (high) selected=none booted=none"
        );
        assert_eq!(
            text(&event(EventId::Boot, &[2, 1, 2, 3, 4])),
            "5,1 event boot (informative) bank=B sw_version=1.2.3+4"
        );
        assert_eq!(
            text(&event(EventId::ModeChanged, &[2, 5])),
            "5,1 event mode-changed (informative) from=safe to=maintenance"
        );
        assert_eq!(
            text(&event(EventId::TableValidationFailed, &[4, 0x04, 0x03, 0, 7, 0, 2])),
            "5,3 event table-validation-failed (medium) table=imt code=table_invalid entry=7 \
             field=2"
        );
        assert_eq!(
            text(&event(EventId::ScheduleReleaseFailed, &[0x1A, 0x40, 0xC0, 0x05, 0x02, 0x05])),
            "5,3 event schedule-release-failed (medium) request_id=1A40:C005 code=not_armed"
        );
        assert_eq!(
            json(&event(EventId::CriticalArmed, &[2, 0, 0, 0x75, 0x30]))["aux"],
            json!({"target": "reset", "timeout_ms": 30000})
        );
        assert_eq!(text(&event(EventId::SaaEntry, &[])), "5,1 event saa-entry (informative)");
        // Undefined enumeration values are shown by number, not dropped.
        assert_eq!(
            text(&event(EventId::MemoryLoadComplete, &[9, 0, 0, 1, 0, 0, 64])),
            "5,1 event memory-load-complete (informative) memory=0x09 address=0x00000100 \
             length=64"
        );
        // Data off its layout: hex, with the layout it should have had.
        assert_eq!(
            text(&event(EventId::Boot, &[1, 2])),
            "5,1 event boot (informative) aux=0102 (not the documented layout: bank u8, \
             software version u32)"
        );
        assert_eq!(json(&event(EventId::Boot, &[1, 2]))["aux"], Value::Null);
        let unknown = Report::parse(5, 3, &[0xAB, 0xCD, 0x01]).unwrap();
        assert_eq!(text(&unknown), "5,3 event 0xABCD (medium) aux=01");
        assert_eq!(json(&unknown)["event"], "unknown");
        assert_eq!(json(&unknown)["event_id"], 0xABCD);
    }

    #[test]
    fn every_known_event_has_a_decoded_layout() {
        for &id in EventId::ALL {
            let n = (0..=event::MAX_AUX_LEN).find(|&n| event_fields(id, &vec![0; n]).is_some());
            let n = n.unwrap_or_else(|| panic!("{} has no decoder", id.name()));
            assert!(event_fields(id, &vec![0; n + 1]).is_none(), "{} takes trailing", id.name());
            assert_eq!(id.aux_layout() == "none", n == 0, "{}", id.name());
        }
    }

    #[test]
    fn st06_memory() {
        let data: Vec<u8> = (0..20).collect();
        let d = Report::Memory(memory::Report::Dump(DumpReport {
            memory_id: MemoryId::BankA,
            address: 0x100,
            data: &data,
        }));
        assert_eq!(
            text(&d),
            "6,6 memory dump bank-a address=0x00000100 length=20: \
             000102030405060708090A0B0C0D0E0F… (20 octets)"
        );
        assert_eq!(
            json(&d),
            json!({"service": 6, "subtype": 6, "type": "memory_dump", "memory": "bank-a",
                "memory_id": 2, "address": 256, "length": 20,
                "data": "000102030405060708090A0B0C0D0E0F10111213"})
        );
        let c = Report::Memory(memory::Report::Check(CheckReport {
            memory_id: MemoryId::Unknown(9),
            address: 0,
            length: 65536,
            crc: 0xDEAD_BEEF,
        }));
        assert_eq!(
            text(&c),
            "6,10 memory check 0x09 address=0x00000000 length=65536 crc32=0xDEADBEEF"
        );
        assert_eq!(json(&c)["crc32"], 0xDEAD_BEEF_u32);
        assert_eq!(json(&c)["memory"], "0x09");
    }

    #[test]
    fn st17_test() {
        let r = Report::Test(test::Report::AreYouAlive);
        assert_eq!(text(&r), "17,2 are-you-alive: the unit is alive");
        assert_eq!(json(&r), json!({"service": 17, "subtype": 2, "type": "are_you_alive"}));
    }

    fn values(entries: &[(u16, u32)]) -> Vec<u8> {
        let mut out = vec![entries.len() as u8];
        for (id, raw) in entries {
            out.extend_from_slice(&id.to_be_bytes());
            out.extend_from_slice(&raw.to_be_bytes());
        }
        out
    }

    #[test]
    fn st20_parameters() {
        let data = values(&[(0x30, 0x0100_0000)]);
        let r = Report::parse(20, 2, &data).unwrap();
        assert_eq!(text(&r), "20,2 sw_version = 1.0.0+0 (0x01000000)");
        assert_eq!(
            json(&r),
            json!({"service": 20, "subtype": 2, "type": "parameter_values", "parameters": [
                {"id": 48, "name": "sw_version", "type": "u32", "unit": "", "value": 16777216,
                 "raw": 16777216, "version": "1.0.0+0"}]})
        );
        let data = values(&[
            (0x01, 1000),
            (0x05, (-250i32) as u32),
            (0x10, 1),
            (0x20, 6.5f32.to_bits()),
            (0x11, 7),
            (0x99, 16),
        ]);
        let r = Report::parse(20, 2, &data).unwrap();
        assert_eq!(
            text(&r),
            "20,2 hk_period_ms = 1000 ms, time_correction_ms = -250 ms, crt_enabled = true, \
             alert_min_snr = 6.5 sigma, imt_enabled = 0x00000007 (not a bool value), \
             0x0099 = 0x00000010 (unknown parameter)"
        );
        let j = json(&r);
        let p = &j["parameters"];
        assert_eq!(p[0]["value"], 1000);
        assert_eq!(p[0]["unit"], "ms");
        assert_eq!(p[1]["value"], -250);
        assert_eq!(p[1]["type"], "i32");
        assert_eq!(p[2]["value"], true);
        assert_eq!(p[3]["value"], 6.5);
        assert_eq!((p[4]["value"].clone(), p[4]["raw"].clone()), (Value::Null, json!(7)));
        assert_eq!((p[5]["name"].clone(), p[5]["id"].clone()), (Value::Null, json!(0x99)));
    }

    #[test]
    fn st200_tables() {
        let entries = [
            DirectoryEntry {
                table_id: 3,
                active_version: 2,
                active_crc: 0x1234_ABCD,
                active_len: 96,
                ..DirectoryEntry::default()
            },
            DirectoryEntry {
                table_id: 9,
                active_version: 1,
                active_crc: 0xCAFE_F00D,
                active_len: 2048,
                inactive_state: InactiveState::Validated,
                inactive_version: 3,
                inactive_crc: 0x0BAD_CAFE,
                inactive_len: 1024,
                inactive_received: 1024,
            },
        ];
        let mut buf = [0u8; 64];
        let list = List::encode_into(&entries, &mut buf).unwrap();
        let r = Report::Table(table::Report::Directory(list));
        assert_eq!(
            text(&r),
            "200,8 table directory (2 tables): crt v2 0x1234ABCD 96 empty; 0x09 v1 0xCAFEF00D \
             2048 validated (v3 1024/1024 octets 0x0BADCAFE)"
        );
        let j = json(&r);
        assert_eq!(j["type"], "table_directory");
        assert_eq!(j["tables"][0]["table"], "crt");
        assert_eq!(j["tables"][0]["active_crc"], 0x1234_ABCD);
        assert_eq!(j["tables"][1]["inactive_state"], "validated");
        assert_eq!(j["tables"][1]["table_id"], 9);
        let data = [0x5A; 4];
        let seg = Report::Table(table::Report::DumpSegment(DumpSegment {
            table_id: 1,
            buffer: BufferSel::Inactive,
            version: 4,
            total_len: 2000,
            offset: 1024,
            data: &data,
        }));
        assert_eq!(
            text(&seg),
            "200,6 table dump pixels inactive v4 octets 1024..1028 of 2000: 5A5A5A5A"
        );
        assert_eq!(
            json(&seg),
            json!({"service": 200, "subtype": 6, "type": "table_dump_segment", "table": "pixels",
                "table_id": 1, "buffer": "inactive", "version": 4, "offset": 1024, "length": 4,
                "total_len": 2000, "data": "5A5A5A5A"})
        );
        let empty = Report::parse(200, 8, &[0]).unwrap();
        assert_eq!(text(&empty), "200,8 table directory (0 tables): ");
    }

    #[test]
    fn st201_alert() {
        let a = Alert {
            trigger_type: TriggerType::Imt,
            burst_id: 12,
            seq_num: 1,
            timescale_ms: 20_480,
            window_start: CucTime { coarse: 1000, fine: 0x8000 },
            window_end: CucTime { coarse: 1020, fine: 0 },
            energy_min_kev: 4,
            energy_max_kev: 120,
            rate_snr_centi: 0,
            image_snr_centi: 920,
            y_udeg: 1_234_567,
            z_udeg: -2_000_000,
            ra_udeg: 123_456_789,
            dec_udeg: -45_000_000,
            error_radius_udeg: 200_000,
            catalogue_id: 0,
            slew: SlewRequest::Requested,
        };
        let r = Report::Trigger(trigger::Report::Alert(a));
        assert_eq!(
            text(&r),
            "201,1 alert imt burst=12 seq=1 timescale=20480 ms window=1000.500..1020.000 s \
             band=4-120 keV snr rate=0.00 image=9.20 sigma y=1.2346 z=-2.0000 ra=123.4568 \
             dec=-45.0000 r90=0.2000 deg catalogue=none slew=requested"
        );
        let j = json(&r);
        assert_eq!(j["type"], "alert");
        assert_eq!(j["trigger"], "imt");
        assert_eq!(j["image_snr"], 9.2);
        assert_eq!(j["dec_deg"], -45.0);
        assert_eq!(j["r90_deg"], 0.2);
        assert_eq!(j["catalogue_id"], 0);
        assert_eq!(j["slew"], "requested");
        assert_eq!(j["window_start_s"], 1000.5);
    }

    /// Service and subtype of every TM, with the size of one repeated item (0 if none).
    const TM: &[(u8, u8, usize)] = &[
        (1, 1, 0),
        (1, 2, 0),
        (1, 5, 0),
        (1, 6, 0),
        (1, 7, 0),
        (3, 25, 0),
        (5, 1, 0),
        (5, 2, 0),
        (5, 3, 0),
        (5, 4, 0),
        (6, 6, 0),
        (6, 10, 0),
        (17, 2, 0),
        (20, 2, 6),
        (200, 6, 0),
        (200, 8, 26),
        (201, 1, 0),
    ];

    fn check(service: u8, subtype: u8, data: &[u8]) -> bool {
        let Ok(r) = Report::parse(service, subtype, data) else { return false };
        let t = text(&r);
        assert!(t.starts_with(&format!("{service},{subtype} ")), "{t}");
        assert!(!t.contains('{') && !t.contains('}') && !t.contains('\n'), "{t}");
        let j = json(&r);
        assert_eq!(
            (j["service"].as_u64(), j["subtype"].as_u64()),
            (Some(service.into()), Some(subtype.into()))
        );
        assert!(j["type"].is_string());
        true
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Any bytes under any service: parse may refuse, text and json never panic.
        #[test]
        fn never_panics_on_arbitrary_bytes(
            service in prop_oneof![Just(1u8), Just(3), Just(5), Just(6), Just(17), Just(20),
                Just(200), Just(201), any::<u8>()],
            subtype in 0u8..=30,
            data in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            check(service, subtype, &data);
        }

        /// Bytes shaped for each TM (counts patched) so that most of them parse.
        #[test]
        fn never_panics_on_shaped_reports(
            which in 0..TM.len(),
            data in proptest::collection::vec(any::<u8>(), 0..300),
            small in any::<bool>(),
        ) {
            let (service, subtype, item) = TM[which];
            let mut data = data;
            if small {
                // Mostly small values: registry IDs and enumerations in range.
                data.iter_mut().for_each(|b| *b %= 8);
            }
            if item > 0 && !data.is_empty() {
                let n = ((data.len() - 1) / item).min(32);
                data.truncate(1 + n * item);
                data[0] = n as u8;
            }
            check(service, subtype, &data);
        }
    }

    /// One valid encoding of every TM (service, subtype, source data).
    fn samples() -> Vec<(u8, u8, Vec<u8>)> {
        let mut dir = [0u8; 64];
        let entries = [DirectoryEntry { table_id: 3, ..DirectoryEntry::default() }; 2];
        let list = List::encode_into(&entries, &mut dir).unwrap();
        let fail = Failure {
            request_id: ID,
            code: FailureCode::TableInvalid,
            data: FailureData { subject: 3, index: 7, field: 2, value: 300 },
        };
        let alert = Alert {
            trigger_type: TriggerType::Crt,
            burst_id: 1,
            seq_num: 1,
            timescale_ms: 1,
            window_start: CucTime::default(),
            window_end: CucTime::default(),
            energy_min_kev: 4,
            energy_max_kev: 120,
            rate_snr_centi: 1,
            image_snr_centi: 1,
            y_udeg: 0,
            z_udeg: 0,
            ra_udeg: 0,
            dec_udeg: 0,
            error_radius_udeg: 0,
            catalogue_id: 0,
            slew: SlewRequest::NotRequested,
        };
        let params = values(&[(0x30, 1), (0x10, 1)]);
        let reports = [
            Report::Verification(verification::Report::AcceptanceSuccess(ID)),
            Report::Verification(verification::Report::StartFailure(fail)),
            Report::Verification(verification::Report::ProgressSuccess(Progress {
                request_id: ID,
                step: 1,
            })),
            Report::Housekeeping(housekeeping::Report::Housekeeping(
                HousekeepingReport::Ugts(hk()),
            )),
            event(EventId::ParameterChanged, &[0, 1, 0, 0, 3, 0xE8, 0, 0, 1, 0xF4]),
            event(EventId::TableActivated, &[3, 0, 1, 0, 0, 0, 0]),
            Report::Memory(memory::Report::Dump(DumpReport {
                memory_id: MemoryId::Patch,
                address: 0,
                data: &[1, 2, 3],
            })),
            Report::Memory(memory::Report::Check(CheckReport {
                memory_id: MemoryId::BankB,
                address: 0,
                length: 1,
                crc: 0,
            })),
            Report::Test(test::Report::AreYouAlive),
            Report::parse(20, 2, &params).unwrap(),
            Report::Table(table::Report::DumpSegment(DumpSegment {
                table_id: 7,
                buffer: BufferSel::Active,
                version: 1,
                total_len: 8,
                offset: 4,
                data: &[1, 2, 3, 4],
            })),
            Report::Table(table::Report::Directory(list)),
            Report::Trigger(trigger::Report::Alert(alert)),
        ];
        reports
            .iter()
            .map(|r| {
                let (s, t) = r.service_subtype();
                (s, t, source_data(r))
            })
            .collect()
    }

    /// Every single-octet mutation and every truncation of a valid report of each kind:
    /// whatever parses is rendered without panic (this reaches every decoder, which arbitrary
    /// bytes rarely do).
    #[test]
    fn never_panics_near_valid_reports() {
        let mut parsed = 0usize;
        for (s, t, data) in samples() {
            assert!(check(s, t, &data), "sample {s},{t} must parse");
            for len in 0..data.len() {
                check(s, t, &data[..len]);
            }
            for at in 0..data.len() {
                for b in 0..=255u8 {
                    let mut m = data.clone();
                    m[at] = b;
                    parsed += usize::from(check(s, t, &m));
                }
            }
        }
        assert!(parsed > 10_000, "only {parsed} mutations parsed");
    }
}
