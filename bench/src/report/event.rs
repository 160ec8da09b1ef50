//! ST\[05\] events: the event's name and severity, then its auxiliary data decoded per the
//! event's documented layout (`EventId::aux_layout`), in hex with a note when it does not
//! follow it.

use std::fmt::Write as _;

use serde_json::Value;
use tc_tm::service::FailureCode;
use tc_tm::service::event::{self, EventId};
use tc_tm::service::function::TriggerSelect;
use tc_tm::service::parameter::ParamId;
use tc_tm::service::trigger;
use tc_tm::service::verification::RequestId;

use super::verification::{request_id_json, request_id_text};
use super::{Body, hex_cut, hexio_format, parameter};
use crate::names::{
    arm_target_name, bank_name, enum_name, memory_name, mode_name, table_key, version_text,
};

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
                Field {
                    name: "old",
                    text: parameter::value_text(id, old),
                    json: parameter::value_json(id, old),
                },
                Field {
                    name: "new",
                    text: parameter::value_text(id, new),
                    json: parameter::value_json(id, new),
                },
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

pub(super) fn text(r: &event::Report<'_>) -> Option<String> {
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

pub(super) fn json(r: &event::Report<'_>) -> Option<Body> {
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

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use tc_tm::service::Report;

    use super::*;
    use crate::report::fixtures::event;
    use crate::report::{json, text};

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
}
