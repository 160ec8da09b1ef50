//! Every TM report as one readable line ([`text`]) and as structured JSON ([`json()`]): the
//! renderer behind `tc send`, `tm listen` and `tm decode`.
//!
//! One file per service, mirroring `tc_tm::service`: [`verification`] (ST\[01\]),
//! [`housekeeping`] (ST\[03\]), [`event`] (ST\[05\]), [`memory`] (ST\[06\]), [`test`](mod@test) (ST\[17\]),
//! [`parameter`] (ST\[20\]), [`table`] (ST\[200\]), [`trigger`] (ST\[201\]). The function (ST\[08\])
//! and schedule (ST\[11\]) services send no report of their own: their refusals are ST\[01\]
//! failures and their outcomes events. Names come from the registries of the codec (failure
//! codes, event IDs, parameters, memory IDs, modes) and of the `tables` crate (table keys),
//! through [`crate::names`]; values are decoded per their documented layout
//! (`docs/icd/services.md`).
//!
//! [`text`] and [`json()`] accept any report [`Report::parse`] returns and never panic.
//! [`Rendered::of`] goes one step earlier: from a packet's service, subtype and source data to
//! the line and the JSON, or to the reason it is undecodable. Anything a registry does not know
//! is shown by its number (`0x0099`), and data that does not follow its documented layout is
//! shown in hex with a note, never dropped.
//!
//! ```
//! use tc_tm::service::Report;
//! let r = Report::parse(20, 2, &[1, 0x00, 0x01, 0x00, 0x00, 0x03, 0xE8]).unwrap();
//! assert_eq!(eic_bench::report::text(&r), "20,2 hk_period_ms = 1000 ms");
//! assert_eq!(eic_bench::report::json(&r)["parameters"][0]["value"], 1000);
//! ```

pub mod event;
pub mod housekeeping;
pub mod memory;
pub mod parameter;
pub mod schedule;
pub mod table;
pub mod test;
pub mod trigger;
pub mod verification;

use serde_json::{Map, Value, json};
use tc_tm::service::Report;

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
        Report::Verification(r) => verification::text(r),
        Report::Housekeeping(r) => housekeeping::text(r),
        Report::Event(r) => event::text(r),
        Report::Memory(r) => memory::text(r),
        Report::Schedule(r) => schedule::text(r),
        Report::Test(r) => test::text(r),
        Report::Parameter(r) => parameter::text(r),
        Report::Table(r) => table::text(r),
        Report::Trigger(r) => trigger::text(r),
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
        Report::Verification(r) => verification::json(r),
        Report::Housekeeping(r) => housekeeping::json(r),
        Report::Event(r) => event::json(r),
        Report::Memory(r) => memory::json(r),
        Report::Schedule(r) => schedule::json(r),
        Report::Test(r) => test::json(r),
        Report::Parameter(r) => parameter::json(r),
        Report::Table(r) => table::json(r),
        Report::Trigger(r) => trigger::json(r),
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

/// A packet's report rendered both ways, or the reason it could not be decoded: the one
/// "packet → readable line" step of every command that prints telemetry.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// The readable line, `service,subtype ...` ([`text`]), or
    /// `service,subtype undecodable (reason)`.
    pub text: String,
    /// The structured report ([`json()`]), or `{"undecodable": reason}`.
    pub json: Value,
}

impl Rendered {
    /// Decodes a report's source data and renders it.
    ///
    /// # Panics
    /// Never.
    pub fn of(service: u8, subtype: u8, source_data: &[u8]) -> Self {
        match Report::parse(service, subtype, source_data) {
            Ok(r) => Rendered { text: text(&r), json: json(&r) },
            Err(e) => Rendered {
                text: format!("{service},{subtype} undecodable ({e})"),
                json: json!({"undecodable": e.to_string()}),
            },
        }
    }
}

/// The decoded record of one TM packet: the same fields, in the same form, wherever a command
/// prints a packet as JSON (`tm decode`, `tm listen --json`), so that the same packet gives the
/// same record. Header fields by their standard names, on-board `time` in seconds, the decoded
/// `report` and its `text` line ([`Rendered`]), and the `source_data` in hex. Commands add
/// what only they know (virtual channel, frame count, receive time).
///
/// # Panics
/// Never.
pub fn packet_record(p: &tc_tm::pus::TmRepr<'_>) -> Map<String, Value> {
    let r = Rendered::of(p.service, p.subtype, p.source_data);
    let mut m = Map::new();
    m.insert("apid".into(), p.apid.value().into());
    m.insert("seq_count".into(), p.seq_count.value().into());
    m.insert("service".into(), p.service.into());
    m.insert("subtype".into(), p.subtype.into());
    m.insert("msg_counter".into(), p.msg_counter.into());
    m.insert("dest_id".into(), p.dest_id.into());
    m.insert("time".into(), p.time.as_secs_f64().into());
    m.insert("report".into(), r.json);
    m.insert("text".into(), r.text.into());
    m.insert("source_data".into(), hexio_format(p.source_data).into());
    m
}

/// Reports the per-service tests and the cross-service tests share.
#[cfg(test)]
mod fixtures {
    use tc_tm::service::FailureCode;
    use tc_tm::service::Report;
    use tc_tm::service::event::{self, EventId, EventReport};
    use tc_tm::service::function::{ArmTarget, Mode};
    use tc_tm::service::housekeeping::{HkReport, HkTable};
    use tc_tm::service::table::InactiveState;
    use tc_tm::service::verification::RequestId;

    pub const ID: RequestId = RequestId { packet_id: 0x1A40, seq_ctrl: 0xC005 };

    pub fn event(id: EventId, aux: &[u8]) -> Report<'_> {
        Report::Event(event::Report::Event(EventReport::new(id, aux)))
    }

    /// Source data of an ST\[20\] parameter report.
    pub fn values(entries: &[(u16, u32)]) -> Vec<u8> {
        let mut out = vec![entries.len() as u8];
        for (id, raw) in entries {
            out.extend_from_slice(&id.to_be_bytes());
            out.extend_from_slice(&raw.to_be_bytes());
        }
        out
    }

    pub fn hk() -> HkReport {
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
}

#[cfg(test)]
mod tests {
    use super::fixtures::{ID, event, hk, values};
    use super::*;
    use proptest::prelude::*;
    use tc_tm::service::List;
    use tc_tm::service::event::EventId;
    use tc_tm::service::housekeeping::{self, HousekeepingReport};
    use tc_tm::service::memory::{self, CheckReport, DumpReport, MemoryId};
    use tc_tm::service::table::{self, BufferSel, DirectoryEntry, DumpSegment};
    use tc_tm::service::trigger::{self, Alert, CucTime, SlewRequest, TriggerType};
    use tc_tm::service::verification::{self, Failure, FailureData, Progress};
    use tc_tm::service::{FailureCode, test};

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

    #[test]
    fn rendered_packet_or_undecodable() {
        let r = Rendered::of(20, 2, &values(&[(0x01, 1000)]));
        assert_eq!(r.text, "20,2 hk_period_ms = 1000 ms");
        assert_eq!(r.json["parameters"][0]["value"], 1000);
        let bad = Rendered::of(20, 2, &[3, 0]);
        assert!(bad.text.starts_with("20,2 undecodable ("), "{}", bad.text);
        assert!(bad.json["undecodable"].is_string());
    }
}
