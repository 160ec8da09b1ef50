//! ST\[03\] housekeeping: the UGTS report (SID 1) as one line and as its parameters by name;
//! other SIDs in hex.

use std::fmt::Write as _;

use serde_json::{Value, json};
use tc_tm::service::FailureCode;
use tc_tm::service::function::ArmTarget;
use tc_tm::service::housekeeping::{self, HkReport, HousekeepingReport};

use super::{Body, hex_cut, hexio_format};
use crate::names::{table_key, version_text};

pub(super) fn text(r: &housekeeping::Report<'_>) -> Option<String> {
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

pub(super) fn json(r: &housekeeping::Report<'_>) -> Option<Body> {
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

#[cfg(test)]
mod tests {
    use tc_tm::service::housekeeping::Sid;
    use tc_tm::service::{FailureCode, Report};

    use super::*;
    use crate::report::fixtures::hk;
    use crate::report::{json, text};

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
}
