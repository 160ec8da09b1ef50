//! `eic-bench tc send DEVICE REQUEST...`: one TC in the readable syntax, verified.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::json;
use tc_tm::service::MAX_TC_APP_DATA_LEN;
use tc_tm::service::text::parse_request;

use super::BadInput;
use super::exit::Exit;
use super::link_args::LinkArgs;
use crate::report::Rendered;
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
    /// words may be given as one quoted argument or several); the syntax is below (--help),
    /// every name with its meaning in `eic-bench tc requests`.
    #[arg(required = true, num_args = 1.., trailing_var_arg = true)]
    pub request: Vec<String>,
    /// Print one JSON object (outcome and the reports received) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `tc send`.
///
/// # Errors
/// Bad request text (exit 2), link or session failures (exit 4); see [`Exit`].
pub fn run(a: &SendArgs) -> anyhow::Result<ExitCode> {
    let text = a.request.join(" ");
    let mut data = [0u8; MAX_TC_APP_DATA_LEN];
    let (service, subtype, len) = parse_request(&text, &mut data).map_err(|e| {
        let names = super::tc_requests::names_hint(e.expected)
            .map(|n| format!("; {n}"))
            .unwrap_or_default();
        BadInput(format!(
            "request `{text}`: {e}{names} (the syntax and every name: `eic-bench tc requests`)"
        ))
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
    Ok(outcome_exit(&outcome).into())
}

/// The exit status of a TC's outcome: 0 completed, 1 refused or failed (an ST\[01\] failure),
/// 4 not delivered or not answered in time.
fn outcome_exit(o: &TcOutcome) -> Exit {
    match (o.delivery, o.verdict) {
        (Delivery::Failed(_), _) => Exit::Unreachable,
        (_, Verdict::Completed { .. }) => Exit::Ok,
        // Refused, or known not to have executed (the unit's history does not hold it).
        (_, Verdict::Failed(_) | Verdict::NotExecuted) => Exit::Failed,
        // Not answered, or in doubt: check before sending again.
        _ => Exit::Unreachable,
    }
}

/// One received report as JSON: the record every command prints for a packet
/// ([`crate::cmd::tm_listen::packet_json`]: header fields, decoded `report`, `text`,
/// `source_data`, virtual channel, receive time).
fn report_json(p: &TmPacket) -> serde_json::Value {
    super::tm_listen::packet_json(p)
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
                "details": crate::names::failure_details(f.code, f.data),
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
        println!("{}", Rendered::of(p.service, p.subtype, p.source_data()).text);
    }
    match (o.delivery, o.verdict) {
        (_, Verdict::Completed { .. }) => println!("{text} [{id}]: {}", o.verdict),
        (Delivery::Failed(f), Verdict::Pending { .. } | Verdict::TimedOut { .. }) => {
            eprintln!("{text} [{id}]: {f}")
        }
        (_, v) => eprintln!("{text} [{id}]: {v}"),
    }
}
