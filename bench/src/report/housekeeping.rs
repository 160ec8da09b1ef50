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

/// One SID 1 parameter as the operator reads it, wherever it is shown (`hk`, the `3,25` line
/// of `tm listen`, `tm decode` and `tc send`): the registry name, the number a limit is checked
/// against, the readable text and the unit.
#[derive(Debug, Clone, PartialEq)]
pub struct HkValue {
    /// The registry name (`HkReport::fields`, `docs/icd/services.md`), as the limits file
    /// uses it.
    pub name: &'static str,
    /// The raw value, for limits.
    pub value: f64,
    /// The value as read: enumerations by name (`safe`, `A`, `not_armed`, `crt`), the software
    /// version as `1.0.0+0`, CRCs in hex (`0x1234ABCD`), flags as `true`/`false`, counts and
    /// durations in decimal.
    pub text: String,
    /// The unit (`ms`, `s`, `counts/s`), empty for counts, flags and names.
    pub unit: &'static str,
}

/// The readable text and unit of one SID 1 field, by name; `None` for a name the report does
/// not have.
fn field_text(hk: &HkReport, name: &str, value: f64) -> (String, &'static str) {
    let flag = |b: bool| b.to_string();
    let table = |slot: usize| hk.tables.get(slot).copied().unwrap_or_default();
    let slot = name
        .strip_prefix("table")
        .and_then(|r| r.split_once('_'))
        .and_then(|(n, _)| n.parse::<usize>().ok());
    match name {
        "mode" => (hk.mode.name().to_owned(), ""),
        "boot_bank" => (hk.boot_bank.name().to_owned(), ""),
        "boot_fallback" => (flag(hk.boot_fallback), ""),
        "sw_version" => (version_text(hk.sw_version), ""),
        "image_crc" => (format!("0x{:08X}", hk.image_crc), ""),
        "last_failure" => (last_failure_name(hk.last_failure).to_owned(), ""),
        "farm_lockout" => (flag(hk.farm_lockout), ""),
        "crt_enabled" => (flag(hk.crt_enabled), ""),
        "imt_enabled" => (flag(hk.imt_enabled), ""),
        "saa_inhibited" => (flag(hk.saa_inhibited), ""),
        "in_saa" => (flag(hk.in_saa), ""),
        "armed" => (hk.armed.map_or("none", ArmTarget::name).to_owned(), ""),
        "arm_remaining_ms" => (hk.arm_remaining_ms.to_string(), "ms"),
        "schedule_enabled" => (flag(hk.schedule_enabled), ""),
        "uptime_s" => (hk.uptime_s.to_string(), "s"),
        n if n.starts_with("rate_sector") => (format!("{value}"), "counts/s"),
        n if n.ends_with("_id") && slot.is_some() => {
            (table_key(table(slot.unwrap_or(0)).table_id), "")
        }
        n if n.ends_with("_active_crc") => {
            (format!("0x{:08X}", table(slot.unwrap_or(0)).active_crc), "")
        }
        n if n.ends_with("_inactive_state") => {
            (table(slot.unwrap_or(0)).inactive_state.name().to_owned(), "")
        }
        _ => (format!("{value}"), ""),
    }
}

/// Every SID 1 parameter of the report, in layout order, as [`HkValue`]s. The table slots
/// beyond `table_count` (unused, all zero) are left out.
pub fn hk_values(hk: &HkReport) -> Vec<HkValue> {
    let used = usize::from(hk.table_count);
    hk.fields()
        .filter(|(name, _)| {
            let slot = name
                .strip_prefix("table")
                .and_then(|r| r.split_once('_'))
                .and_then(|(n, _)| n.parse::<usize>().ok());
            slot.is_none_or(|s| s < used)
        })
        .map(|(name, value)| {
            let (text, unit) = field_text(hk, name, value);
            HkValue { name, value, text, unit }
        })
        .collect()
}

/// The readable text of one SID 1 field ([`hk_values`]).
fn v(hk: &HkReport, name: &str) -> String {
    field_text(hk, name, hk.field(name).unwrap_or_default()).0
}

fn hk_text(hk: &HkReport) -> String {
    let mut s = format!(
        "HK sid=1 mode={} boot={}{} sw={} tc accepted={} rejected={} executed={} failed={} \
         last_failure={}",
        v(hk, "mode"),
        v(hk, "boot_bank"),
        if hk.boot_fallback { " (fallback)" } else { "" },
        v(hk, "sw_version"),
        v(hk, "tc_accepted"),
        v(hk, "tc_rejected"),
        v(hk, "tc_executed"),
        v(hk, "tc_failed"),
        v(hk, "last_failure"),
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
    if hk.armed.is_some() {
        let _ = write!(s, " armed={} ({} ms left)", v(hk, "armed"), v(hk, "arm_remaining_ms"));
    }
    if hk.farm_lockout {
        let _ = write!(s, " FARM LOCKOUT (v_r={})", v(hk, "farm_vr"));
    }
    let _ = write!(
        s,
        " tables={} schedule={} ({} waiting) uptime={} s",
        v(hk, "table_count"),
        if hk.schedule_enabled { "on" } else { "off" },
        v(hk, "schedule_entries"),
        v(hk, "uptime_s")
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
    fn hk_values_read_as_the_line_does() {
        let mut h = hk();
        h.boot_bank = tc_tm::service::function::Bank::B;
        h.image_crc = 0x0BAD_CAFE;
        let values = hk_values(&h);
        let get = |n: &str| values.iter().find(|v| v.name == n).unwrap();
        assert_eq!(get("mode").text, "safe");
        assert_eq!(get("boot_bank").text, "B");
        assert_eq!(get("sw_version").text, "1.0.0+0");
        assert_eq!(get("image_crc").text, "0x0BADCAFE");
        assert_eq!(get("last_failure").text, "not_armed");
        assert_eq!(get("armed").text, "reset");
        assert_eq!(
            (get("arm_remaining_ms").text.as_str(), get("arm_remaining_ms").unit),
            ("12000", "ms")
        );
        assert_eq!((get("uptime_s").text.as_str(), get("uptime_s").unit), ("3600", "s"));
        assert_eq!(get("rate_sector3").unit, "counts/s");
        assert_eq!(get("crt_enabled").text, "true");
        assert_eq!(get("table0_id").text, "crt");
        assert_eq!(get("table0_active_crc").text, "0xCAFEF00D");
        assert_eq!(get("table0_inactive_state").text, "loading");
        assert!(values.iter().all(|v| !v.name.starts_with("table1_")), "unused slots left out");
        // The 3,25 line shows the same text for the same value.
        let line = text(&Report::Housekeeping(housekeeping::Report::Housekeeping(
            HousekeepingReport::Ugts(h),
        )));
        for (key, name) in [
            ("mode", "mode"),
            ("boot", "boot_bank"),
            ("sw", "sw_version"),
            ("last_failure", "last_failure"),
            ("armed", "armed"),
        ] {
            assert!(line.contains(&format!(" {key}={} ", get(name).text)), "{key}: {line}");
        }
    }

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
