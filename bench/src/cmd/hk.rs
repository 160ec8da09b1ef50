//! `eic-bench hk DEVICE`: a live housekeeping view with soft/hard limits and alarms.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::json;
use tc_tm::service::Report;
use tc_tm::service::housekeeping::{HkReport, HousekeepingReport, Report as HkMsg};

use super::exit::Exit;
use super::link_args::LinkArgs;
use crate::hk_limits::{LimitSet, LimitState};

/// Arguments of `hk`.
#[derive(Debug, Args)]
pub struct HkArgs {
    /// How to reach the unit.
    #[command(flatten)]
    pub link: LinkArgs,
    /// Soft/hard limits (TOML, see bench/hk-limits.toml); without it every value is shown
    /// with its unit and "no limits".
    #[arg(long)]
    pub limits: Option<PathBuf>,
    /// One JSON object per report instead of the text view.
    #[arg(long)]
    pub json: bool,
    /// Stop after this many reports.
    #[arg(long)]
    pub count: Option<u64>,
    /// Stop after this many seconds.
    #[arg(long)]
    pub duration_s: Option<f64>,
}

/// The SID 1 parameters as (name, value) pairs, in report order. The names are the
/// registry's (`HkReport::fields`, `docs/icd/services.md`), which the limits file uses; the
/// readable form of each is [`crate::report::housekeeping::hk_values`].
pub fn hk_values(r: &HkReport) -> Vec<(String, f64)> {
    r.fields().map(|(name, value)| (name.to_owned(), value)).collect()
}

fn mark(state: LimitState) -> &'static str {
    match state.severity() {
        0 => "  ",
        1 => "! ",
        _ => "!!",
    }
}

/// Runs `hk`.
///
/// # Errors
/// Limits file errors (exit 2, or 3 when it cannot be read), link failures (exit 4).
pub fn run(a: &HkArgs) -> anyhow::Result<ExitCode> {
    let limits = match &a.limits {
        Some(p) => LimitSet::load(p)?,
        None => LimitSet::default(),
    };
    let mut s = a.link.connect()?;
    let end = a.duration_s.map(|d| Instant::now() + Duration::from_secs_f64(d.clamp(0.0, 1e7)));
    let mut n = 0u64;
    let mut worst = 0u8;
    let stdout = std::io::stdout();
    while a.count.is_none_or(|c| n < c) && end.is_none_or(|e| Instant::now() < e) {
        let step = Instant::now() + Duration::from_millis(200);
        let Some(p) = s.next_packet(end.map_or(step, |e| e.min(step)))? else { continue };
        let Ok(Report::Housekeeping(HkMsg::Housekeeping(HousekeepingReport::Ugts(hk)))) =
            p.report()
        else {
            continue;
        };
        n += 1;
        let values = crate::report::housekeeping::hk_values(&hk);
        let states: Vec<LimitState> =
            values.iter().map(|v| limits.check(v.name, v.value)).collect();
        let alarms = states.iter().filter(|s| s.is_alarm()).count();
        worst = worst.max(states.iter().map(|s| s.severity()).max().unwrap_or(0));
        let mut out = stdout.lock();
        let written = if a.json {
            let params: Vec<_> = values
                .iter()
                .zip(&states)
                .map(|(v, st)| {
                    json!({"name": v.name, "value": v.value, "text": v.text, "unit": v.unit,
                        "state": st.to_string()})
                })
                .collect();
            let line = json!({"time": p.time.as_secs_f64(), "alarms": alarms, "params": params});
            writeln!(out, "{line}")
        } else {
            let mut text = format!(
                "--- housekeeping t={:.3} mode={} armed={} alarms={alarms}\n",
                p.time.as_secs_f64(),
                hk.mode,
                hk.armed.map_or("none".to_owned(), |t| t.to_string())
            );
            for (v, st) in values.iter().zip(&states) {
                text.push_str(&format!(
                    "{} {:<22} {:>12} {:<8} {st}\n",
                    mark(*st),
                    v.name,
                    v.text,
                    v.unit
                ));
            }
            write!(out, "{text}")
        };
        if written.and_then(|()| out.flush()).is_err() {
            break;
        }
    }
    let worst_text = match worst {
        0 => "every value nominal or without limits",
        1 => "a soft limit was crossed (!)",
        _ => "a HARD limit was crossed (!!): exit 5",
    };
    eprintln!("{n} housekeeping report{}; {worst_text}", if n == 1 { "" } else { "s" });
    Ok(if worst >= 2 { Exit::Alarm } else { Exit::Ok }.into())
}

#[cfg(test)]
mod limits_file_tests {
    use tc_tm::service::housekeeping::HkReport;

    use crate::hk_limits::LimitSet;

    #[test]
    fn example_limits_name_only_real_hk_fields() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/hk-limits.toml");
        let limits = LimitSet::load(path).unwrap();
        let fields: Vec<&str> = HkReport::field_names().collect();
        for name in limits.names() {
            assert!(fields.contains(&name), "{path}: `{name}` is not a SID 1 field");
        }
        assert!(limits.names().count() > 10);
    }
}
