//! `eic-bench tm listen DEVICE`: live decoded telemetry, archived.

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::json;

use super::link_args::LinkArgs;
use crate::hexio;
use crate::report::Rendered;
use crate::session::TmPacket;

/// Arguments of `tm listen`.
#[derive(Debug, Args)]
pub struct ListenArgs {
    /// How to reach the unit.
    #[command(flatten)]
    pub link: LinkArgs,
    /// One JSON object per packet (for scripts and `jq`).
    #[arg(long)]
    pub json: bool,
    /// Stop after this many packets.
    #[arg(long)]
    pub count: Option<u64>,
    /// Stop after this many seconds.
    #[arg(long)]
    pub duration_s: Option<f64>,
}

/// Runs `tm listen`.
///
/// # Errors
/// Link or archive failures.
pub fn run(a: &ListenArgs) -> anyhow::Result<ExitCode> {
    let mut s = a.link.connect()?;
    let end = a.duration_s.map(|d| Instant::now() + Duration::from_secs_f64(d.clamp(0.0, 1e7)));
    let mut n = 0u64;
    let stdout = std::io::stdout();
    loop {
        if a.count.is_some_and(|c| n >= c) || end.is_some_and(|e| Instant::now() >= e) {
            break;
        }
        let step = Instant::now() + Duration::from_millis(200);
        let Some(p) = s.next_packet(end.map_or(step, |e| e.min(step)))? else { continue };
        n += 1;
        let line = if a.json { packet_json(&p).to_string() } else { packet_text(&p) };
        let mut out = stdout.lock();
        if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
            break; // stdout closed (e.g. `| head`): stop quietly
        }
    }
    let st = s.downlink_stats();
    eprintln!(
        "{} packets; {} frames ({} bad, {} idle), {} gaps, {} garbage octets{}",
        n,
        st.frames,
        st.bad_frames,
        st.idle_frames,
        st.gaps,
        st.garbage_octets,
        a.link
            .archive
            .as_ref()
            .map(|p| format!("; archived to {}", p.display()))
            .unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}

/// One packet as a JSON object: header fields, the decoded report
/// ([`crate::report::json`], or `{"undecodable": reason}`), its text line and the source
/// data in hex.
pub fn packet_json(p: &TmPacket) -> serde_json::Value {
    let r = Rendered::of(p.service, p.subtype, p.source_data());
    json!({
        "received_utc_ns": p.received_utc_ns,
        "vcid": p.vcid,
        "apid": p.apid,
        "seq_count": p.seq_count,
        "service": p.service,
        "subtype": p.subtype,
        "msg_counter": p.msg_counter,
        "time": p.time.as_secs_f64(),
        "report": r.json,
        "text": r.text,
        "source_data": hexio::format(p.source_data()),
    })
}

/// One packet as a line of text: on-board time, virtual channel, APID, sequence count, then
/// the report ([`crate::report::text`]).
pub fn packet_text(p: &TmPacket) -> String {
    format!(
        "t={:.3} vc={} apid=0x{:03X} seq={} {}",
        p.time.as_secs_f64(),
        p.vcid,
        p.apid,
        p.seq_count,
        Rendered::of(p.service, p.subtype, p.source_data()).text
    )
}
