//! `eic-bench tm listen DEVICE`: live decoded telemetry, archived.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use nix::sys::signal::{SigSet, Signal};

use super::link_args::LinkArgs;
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

/// Runs `tm listen` until `--count`, `--duration-s`, SIGINT (Ctrl-C) or SIGTERM, then prints
/// the summary on stderr: packets, frames, errors, gaps, duration.
///
/// # Errors
/// Link or archive failures.
pub fn run(a: &ListenArgs) -> anyhow::Result<ExitCode> {
    // Block the stop signals before any thread starts (the embedded twin's inherit the mask);
    // one thread waits for them and raises `stop`, which the loop checks between packets.
    let stop = stop_on_signals()?;
    let started = Instant::now();
    let mut s = a.link.connect()?;
    let end = a.duration_s.map(|d| Instant::now() + Duration::from_secs_f64(d.clamp(0.0, 1e7)));
    let mut n = 0u64;
    let stdout = std::io::stdout();
    loop {
        if a.count.is_some_and(|c| n >= c)
            || end.is_some_and(|e| Instant::now() >= e)
            || stop.load(Ordering::Relaxed)
        {
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
        "{n} packets in {:.1} s; {} frames ({} bad, {} idle), {} packet errors, {} gaps, {} \
         garbage octets{}",
        started.elapsed().as_secs_f64(),
        st.frames,
        st.bad_frames,
        st.idle_frames,
        st.errors,
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

/// Blocks SIGINT and SIGTERM in this thread (and the threads it starts) and raises the flag
/// returned when one arrives.
fn stop_on_signals() -> anyhow::Result<Arc<AtomicBool>> {
    let mut signals = SigSet::empty();
    signals.add(Signal::SIGINT);
    signals.add(Signal::SIGTERM);
    signals.thread_block().context("blocking SIGINT/SIGTERM")?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    std::thread::spawn(move || {
        if signals.wait().is_ok() {
            flag.store(true, Ordering::Relaxed);
        }
    });
    Ok(stop)
}

/// One packet as a JSON object: the record every command prints for a packet
/// ([`crate::report::packet_record`]: header fields, decoded `report`, `text`, `source_data`)
/// plus the virtual channel and the receive time.
pub fn packet_json(p: &TmPacket) -> serde_json::Value {
    let mut m = match tc_tm::pus::TmRepr::parse_bytes(&p.bytes) {
        Ok(r) => crate::report::packet_record(&r),
        // The session checked the packet already; this cannot fail, but never panic.
        Err(e) => {
            let mut m = serde_json::Map::new();
            m.insert("error".into(), e.to_string().into());
            m
        }
    };
    m.insert("vcid".into(), p.vcid.into());
    m.insert("received_utc_ns".into(), p.received_utc_ns.into());
    serde_json::Value::Object(m)
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
