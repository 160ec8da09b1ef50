//! ST\[01\] request verification: acceptance, start, progress and completion, success or failure
//! with the failure code, its explanation and the failure data named per code family.

use serde_json::{Value, json};
use tc_tm::service::Stage;
use tc_tm::service::verification::{self, Failure, RequestId};

use super::Body;
use crate::names;

/// `1A40:C005`: packet ID and sequence control of a TC, as `tc send` prints it.
pub fn request_id_text(id: RequestId) -> String {
    format!("{:04X}:{:04X}", id.packet_id, id.seq_ctrl)
}

/// A request ID as JSON: its text form, packet ID, sequence control, APID and count.
pub fn request_id_json(id: RequestId) -> Value {
    json!({
        "text": request_id_text(id),
        "packet_id": id.packet_id,
        "seq_ctrl": id.seq_ctrl,
        "apid": id.apid().value(),
        "seq_count": id.seq_count().value(),
    })
}

fn stage_of(r: &verification::Report) -> Option<Stage> {
    Some(match r.subtype() {
        1 | 2 => Stage::Acceptance,
        3 | 4 => Stage::Start,
        5 | 6 => Stage::Progress,
        7 | 8 => Stage::Completion,
        _ => return None,
    })
}

fn failure_text(f: &Failure) -> String {
    let details = names::failure_details(f.code, f.data);
    let mut s = format!("{} (0x{:04X}): {}", f.code.name(), f.code.value(), f.code.explanation());
    if !details.is_empty() {
        s.push_str("; ");
        s.push_str(&details);
    }
    s
}

fn failure_json(f: &Failure) -> Value {
    let d = f.data;
    json!({
        "code": f.code.name(),
        "code_value": f.code.value(),
        "explanation": f.code.explanation(),
        "subject": d.subject,
        "subject_name": names::failure_subject(f.code, d.subject),
        "details": names::failure_details(f.code, d),
        "index": d.index,
        "field": d.field,
        "value": d.value,
    })
}

pub(super) fn text(r: &verification::Report) -> Option<String> {
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

pub(super) fn json(r: &verification::Report) -> Option<Body> {
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

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use tc_tm::service::verification::{FailureData, Progress};
    use tc_tm::service::{FailureCode, Report};

    use super::*;
    use crate::report::fixtures::ID;
    use crate::report::{json, text};

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
             validator: failure data gives table, entry and field; table crt, entry 7, field 2, \
             value 300"
        );
        let j = json(&r);
        assert_eq!(j["type"], "start_failure");
        assert_eq!(j["success"], false);
        assert_eq!(
            j["failure"],
            json!({"code": "table_invalid", "code_value": 0x0403,
                "explanation": FailureCode::TableInvalid.explanation(),
                "subject": 3, "subject_name": "table crt", "index": 7, "field": 2, "value": 300,
                "details": "table crt, entry 7, field 2, value 300"})
        );
        // Acceptance failures name the refused TC; unknown codes pass through.
        let acc = Failure {
            request_id: ID,
            code: FailureCode::BadEnumValue,
            data: FailureData { subject: 0x1403, index: 0, field: 0, value: 9 },
        };
        let r = Report::Verification(verification::Report::AcceptanceFailure(acc));
        assert!(text(&r).starts_with("1,2 acceptance failure [1A40:C005] bad_enum_value (0x010B)"));
        assert!(text(&r).ends_with("; TC 20,3, value 9 (0x9)"), "{}", text(&r));
        let unknown = Failure { code: FailureCode::Unknown(0x0999), ..acc };
        let r = Report::Verification(verification::Report::CompletionFailure(unknown));
        assert!(text(&r).contains("unknown (0x0999): code not in this software's registry"));
        assert!(text(&r).ends_with("; subject 0x1403, value 9 (0x9)"), "{}", text(&r));
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
             subject 0x0002, step 4, next address or offset 0x00001000"
        );
        assert_eq!(json(&pf)["type"], "progress_failure");
    }
}
