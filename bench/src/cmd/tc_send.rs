//! `eic-bench tc send DEVICE REQUEST...`: one TC in the readable syntax, verified.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::json;
use tc_tm::service::MAX_TC_APP_DATA_LEN;
use tc_tm::service::text::parse_request;

use super::BadInput;
use super::link_args::LinkArgs;
use crate::session::{Delivery, TcOutcome, TmPacket, Verdict};

/// Exit status of `tc send` when the TC's outcome is in doubt (it may have executed once or
/// not at all: check the unit before sending it again).
pub const EXIT_IN_DOUBT: u8 = 4;

/// Arguments of `tc send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// How to reach the unit.
    #[command(flatten)]
    pub link: LinkArgs,
    /// The request, e.g. `test are-you-alive` or `function select-boot-bank bank=B` (the
    /// words may be given as one quoted argument or several).
    #[arg(required = true, num_args = 1.., trailing_var_arg = true)]
    pub request: Vec<String>,
    /// Print one JSON object (outcome and the reports received) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `tc send`.
///
/// # Errors
/// Bad request text (exit 2), link or session failures (exit 1).
pub fn run(a: &SendArgs) -> anyhow::Result<ExitCode> {
    let text = a.request.join(" ");
    let mut data = [0u8; MAX_TC_APP_DATA_LEN];
    let (service, subtype, len) = parse_request(&text, &mut data).map_err(|e| {
        BadInput(format!("request `{text}`: {e}\n  see `eic-bench tc send --help` for the syntax"))
    })?;
    let mut s = a.link.connect()?;
    s.clear_packets();
    let id = s.send_raw(service, subtype, data.get(..len).unwrap_or(&[]))?;
    let outcome = s.wait(id)?;
    // Reports that answer the TC (a dump, a parameter report) may trail its completion a bit.
    let deadline = Instant::now() + Duration::from_millis(200);
    let mut reports = Vec::new();
    while let Some(p) = s.next_packet(deadline)? {
        if p.service != 1 && (p.service, p.subtype) != (3, 25) {
            reports.push(p);
        }
    }
    print_outcome(&text, &outcome, &reports, a.json);
    Ok(if outcome.is_success() {
        ExitCode::SUCCESS
    } else if outcome.is_in_doubt() {
        ExitCode::from(EXIT_IN_DOUBT)
    } else {
        ExitCode::FAILURE
    })
}

/// One received report as a line of text (see [`crate::report_text::text`]).
fn report_text(p: &TmPacket) -> String {
    match p.report() {
        Ok(r) => crate::report_text::text(&r),
        Err(e) => format!("{},{} undecodable ({e})", p.service, p.subtype),
    }
}

/// One received report as JSON: service, subtype, the text line, the structured report and
/// the source data in hex.
fn report_json(p: &TmPacket) -> serde_json::Value {
    let report = match p.report() {
        Ok(r) => crate::report_text::json(&r),
        Err(e) => json!({"undecodable": e.to_string()}),
    };
    json!({
        "service": p.service,
        "subtype": p.subtype,
        "text": report_text(p),
        "report": report,
        "source_data": crate::hexio::format(p.source_data()),
    })
}

fn print_outcome(text: &str, o: &TcOutcome, reports: &[TmPacket], json_out: bool) {
    let id = format!("{:04X}:{:04X}", o.request_id.packet_id, o.request_id.seq_ctrl);
    if json_out {
        let verdict = match o.verdict {
            Verdict::Completed { round_trip, progress_steps, from_history } => json!({
                "status": "completed",
                "round_trip_ms": round_trip.as_secs_f64() * 1e3,
                "progress_steps": progress_steps,
                "from_history": from_history,
            }),
            Verdict::NotExecuted => {
                json!({"status": "not_executed", "text": o.verdict.to_string()})
            }
            Verdict::InDoubt { waiting_for, doubt } => json!({
                "status": "in_doubt",
                "waiting_for": waiting_for.name(),
                "doubt": doubt.to_string(),
                "text": o.verdict.to_string(),
            }),
            Verdict::Failed(f) => json!({
                "status": "failed",
                "from_history": f.from_history,
                "stage": f.stage.name(),
                "code": f.code.name(),
                "code_value": f.code.value(),
                "explanation": f.code.explanation(),
                "subject": f.data.subject,
                "index": f.data.index,
                "field": f.data.field,
                "value": f.data.value,
            }),
            Verdict::TimedOut { waiting_for, waited } => json!({
                "status": "timed_out",
                "waiting_for": waiting_for.name(),
                "waited_s": waited.as_secs_f64(),
            }),
            Verdict::Pending { waiting_for } => {
                json!({"status": "pending", "waiting_for": waiting_for.name()})
            }
            Verdict::Unknown => json!({"status": "unknown"}),
        };
        let delivery = match o.delivery {
            Delivery::Failed(f) => json!({"status": "failed", "reason": f.to_string()}),
            d => json!({"status": format!("{d:?}").to_lowercase()}),
        };
        let reports: Vec<_> = reports.iter().map(report_json).collect();
        let v = json!({
            "request": text,
            "request_id": id,
            "delivery": delivery,
            "verification": verdict,
            "reports": reports,
        });
        println!("{v}");
        return;
    }
    for p in reports {
        println!("{}", report_text(p));
    }
    match (o.delivery, o.verdict) {
        (_, Verdict::Completed { .. }) => println!("{text} [{id}]: {}", o.verdict),
        (Delivery::Failed(f), Verdict::Pending { .. } | Verdict::TimedOut { .. }) => {
            eprintln!("{text} [{id}]: {f}")
        }
        (_, v) => eprintln!("{text} [{id}]: {v}"),
    }
}
