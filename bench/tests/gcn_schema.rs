//! Replay notices are valid GCN notices: every alert's `notice` object validates against the
//! vendored GCN schema for SVOM trigger alerts (`tests/schemas/`, provenance in its README),
//! every `$ref` resolved from the vendored files (no network). The upstream examples validate
//! too (the validator is set up right), and a notice with a wrong field does not.

use std::path::{Path, PathBuf};

use eic_bench::replay::{AlertRecord, run_local_with};
use eic_bench::sim::{Scenario, simulate_to_dir};
use jsonschema::{Registry, Validator};
use serde_json::Value;
use tc_tm::pus::time::Cuc;
use tc_tm::service::trigger::{Alert, CucTime, SlewRequest, TriggerType};

const BASE: &str = "https://gcn.nasa.gov/schema/main/gcn/notices/";

fn schemas() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/gcn/notices")
}

fn json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn validator() -> Validator {
    let core = [
        "AdditionalInfo",
        "Alert",
        "DateTime",
        "Event",
        "Localization",
        "Reporter",
        "Statistics",
        "Pointing",
        "GeoLocBase",
    ];
    let mut registry = Registry::new();
    for c in core {
        let uri = format!("{BASE}core/{c}.schema.json");
        registry =
            registry.add(uri, json(&schemas().join(format!("core/{c}.schema.json")))).unwrap();
    }
    let root = json(&schemas().join("svom/trigger.schema.json"));
    let registry = registry.prepare().unwrap();
    // The registry is leaked once per test binary: the validator borrows it.
    let registry: &'static Registry<'static> = Box::leak(Box::new(registry));
    jsonschema::options().with_registry(registry).build(&root).unwrap()
}

fn errors(v: &Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc).map(|e| format!("{e} at {}", e.instance_path())).collect()
}

fn alert(kind: TriggerType, seq: u16, slew: SlewRequest, cat: u16) -> Alert {
    let t0 = Cuc::from_unix_utc(1_772_366_400, 250_000_000).unwrap();
    Alert {
        trigger_type: kind,
        burst_id: 42,
        seq_num: seq,
        timescale_ms: if kind == TriggerType::Crt { 640 } else { 20_480 },
        window_start: CucTime { coarse: t0.coarse, fine: t0.fine },
        window_end: CucTime { coarse: t0.coarse + 20, fine: t0.fine },
        energy_min_kev: 5,
        energy_max_kev: 50,
        rate_snr_centi: if kind == TriggerType::Crt { 1130 } else { 0 },
        image_snr_centi: 795,
        y_udeg: -12_345_678,
        z_udeg: 7_000_000,
        ra_udeg: 359_999_999,
        dec_udeg: -89_000_000,
        error_radius_udeg: 165_000,
        catalogue_id: cat,
        slew,
    }
}

#[test]
fn upstream_examples_validate_and_a_broken_notice_does_not() {
    let v = validator();
    for e in ["catalog", "not-slewing", "slewing", "wakeup"] {
        let doc = json(&schemas().join(format!("svom/eclairs/trigger.{e}.example.json")));
        assert_eq!(errors(&v, &doc), Vec::<String>::new(), "{e}");
    }
    let mut n = serde_json::to_value(
        AlertRecord::new(&alert(TriggerType::Crt, 1, SlewRequest::Requested, 0), None).notice,
    )
    .unwrap();
    n["slew_status"] = Value::from("requested");
    assert!(!errors(&v, &n).is_empty(), "slew_status outside the enum must fail");
    let mut n2 = serde_json::to_value(
        AlertRecord::new(&alert(TriggerType::Imt, 2, SlewRequest::NotRequested, 3), None).notice,
    )
    .unwrap();
    n2["y_deg"] = Value::from(1.0);
    assert!(!errors(&v, &n2).is_empty(), "unknown properties are refused (unevaluatedProperties)");
}

#[test]
fn every_kind_of_alert_gives_a_valid_notice() {
    let v = validator();
    for kind in [TriggerType::Crt, TriggerType::Imt] {
        for (seq, slew, cat) in [(1, SlewRequest::Requested, 0), (3, SlewRequest::NotRequested, 81)]
        {
            let r = AlertRecord::new(&alert(kind, seq, slew, cat), None);
            let doc = serde_json::to_value(&r.notice).unwrap();
            assert_eq!(errors(&v, &doc), Vec::<String>::new(), "{doc}");
            // The JSON line keeps the notice as an object beside the bench's fields.
            let line = serde_json::to_value(r.without_image()).unwrap();
            assert_eq!(line["notice"], doc);
            assert!(line["y_deg"].is_number() && line["seq_num"] == seq);
        }
    }
}

#[test]
fn notices_of_a_replayed_burst_validate() {
    let sc = Scenario::parse(
        r#"
name = "gcn"
seed = 3
start = 2026-03-01T12:00:00Z
duration_s = 64
[background]
rate_cps = 800
[attitude]
mode = "fixed"
ra_deg = 40.0
dec_deg = -10.0
[[burst]]
t0_s = 45.0
y_deg = -4.0
z_deg = 6.0
peak_flux = 6.0
rise_s = 0.3
decay_s = 4.0
"#,
        "gcn.toml",
    )
    .unwrap();
    let dir = tempfile::Builder::new().prefix("gcn-replay").tempdir().unwrap();
    simulate_to_dir(&sc, dir.path(), false, |_| {}).unwrap();
    let set = tables::defaults::default_set();
    let out = run_local_with(dir.path(), &set, Default::default(), |_| {}).unwrap();
    assert!(!out.alerts.is_empty(), "a 6 ph/cm²/s burst 7° off axis triggers: {:?}", out.stats);
    let v = validator();
    for r in &out.alerts {
        let doc = serde_json::to_value(&r.notice).unwrap();
        assert_eq!(errors(&v, &doc), Vec::<String>::new(), "{doc}");
        assert!((r.y_deg + 4.0).abs() < 1.0 && (r.z_deg - 6.0).abs() < 1.0, "{}", r.line());
    }
}
