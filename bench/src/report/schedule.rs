//! ST\[11\] time-based scheduling: the summary report (release time and request ID of every
//! time-tagged TC waiting).

use serde_json::{Value, json};
use tc_tm::service::schedule;

use super::Body;

pub(super) fn text(r: &schedule::Report<'_>) -> Option<String> {
    match r {
        schedule::Report::Summary(l) => {
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

pub(super) fn json(r: &schedule::Report<'_>) -> Option<Body> {
    match r {
        schedule::Report::Summary(l) => {
            let items: Vec<Value> = l
                .iter()
                .map(|e| {
                    json!({
                        "release_coarse": e.release.coarse,
                        "release_fine": e.release.fine,
                        "request_id": format!("{:04X}:{:04X}", e.request_id.packet_id, e.request_id.seq_ctrl),
                    })
                })
                .collect();
            Some(Body::new("schedule_summary").with("entries", items))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use tc_tm::service::schedule::{ReleaseTime, ScheduledEntry};
    use tc_tm::service::verification::RequestId;
    use tc_tm::service::{List, Report};

    use super::*;
    use crate::report::{json, text};

    #[test]
    fn st11_summary() {
        let items = [ScheduledEntry {
            release: ReleaseTime { coarse: 300, fine: 0 },
            request_id: RequestId { packet_id: 0x1A40, seq_ctrl: 0xC007 },
        }];
        let mut buf = [0u8; 10];
        let r = Report::Schedule(schedule::Report::Summary(
            List::encode_into(&items, &mut buf).unwrap(),
        ));
        assert_eq!(text(&r), "11,13 schedule summary: 1 waiting 300:0 [1A40:C007]");
        let j = json(&r);
        assert_eq!(j["type"], "schedule_summary");
        assert_eq!(j["entries"][0]["request_id"], "1A40:C007");
    }
}
