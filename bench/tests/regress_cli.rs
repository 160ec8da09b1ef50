//! `eic-bench regress` end to end on the on-board trigger (`--target local`, the default): the
//! shipped smoke suite and the raised-IMT candidate, shards and merge, the same suite on the
//! twin over pseudo-terminals, the HTML page in a real browser, the JUnit XML against the
//! vendored schema; sweeps and the full example suite on the model target (fast).
//!
//! The browser and schema tests need `chromium` and `xmllint` (Debian `chromium`,
//! `libxml2-utils`; `.ci/run` installs them). Missing, they fail and say so: they never pass
//! by skipping.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_eic-bench");

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn regress(args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("regress")
        .args(args)
        .current_dir(root())
        .output()
        .expect("runs eic-bench")
}

fn example_args(out: &Path) -> Vec<String> {
    vec![
        "examples/regress/smoke.toml".into(),
        "--baseline".into(),
        "examples/workplan-tables".into(),
        "--candidate".into(),
        "examples/regress/candidate-raised-imt".into(),
        "-o".into(),
        out.display().to_string(),
    ]
}

fn run_example(out: &Path, extra: &[&str]) -> Output {
    let mut a = example_args(out);
    a.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = a.iter().map(String::as_str).collect();
    regress(&refs)
}

fn json(p: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn raised_imt_threshold_is_a_regression_naming_the_lost_bursts() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_example(dir.path(), &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(5), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("on host: the on-board trigger"), "{stdout}");
    assert!(stdout.contains("verdict: REGRESSION"), "{stdout}");
    let r = json(&dir.path().join("report.json"));
    let lost = r["verdict"]["lost_bursts"].as_array().unwrap();
    assert!(!lost.is_empty());
    for b in lost {
        let id = b["scenario"].as_str().unwrap();
        assert!(stdout.contains(&format!("lost burst: {id}")), "{id} not named:\n{stdout}");
        assert!(id.starts_with("grid/"));
    }
    let failed: Vec<&str> = r["verdict"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(failed.iter().any(|n| n.starts_with("efficiency loss")), "{failed:?}");
    // Every lost burst is a disappeared IMT alert among the changes.
    let changes = r["changes"].as_array().unwrap();
    for b in lost {
        assert!(changes.iter().any(|c| c["scenario"] == b["scenario"]
            && c["kind"] == "disappeared"
            && c["baseline"]["trigger"] == "IMT"));
    }
    html_opens_in_a_real_browser_with_every_plot(dir.path(), &r);
    junit_validates_against_the_junit_schema(dir.path());
}

#[test]
fn model_target_runs_the_full_example_suite() {
    let same = tempfile::tempdir().unwrap();
    let out = regress(&[
        "examples/regress/suite.toml",
        "--baseline",
        "examples/workplan-tables",
        "--target",
        "model",
        "-o",
        same.path().to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["regression"], false);
    assert_eq!(v["changes"], 0);
    let out = regress(&[
        "examples/regress/suite.toml",
        "--baseline",
        "examples/workplan-tables",
        "--candidate",
        "examples/regress/candidate-raised-imt",
        "--target",
        "model",
        "-o",
        same.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(5), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("on model (statistical model"));
}

#[test]
fn shards_merged_give_exactly_the_unsharded_report() {
    let whole = tempfile::tempdir().unwrap();
    let out = run_example(whole.path(), &[]);
    assert_eq!(out.status.code(), Some(5));
    let shards = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for k in 1..=3 {
        let s = format!("{k}/3");
        let out = run_example(shards.path(), &["--shard", &s]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        files.push(shards.path().join(format!("shard-{k}-of-3.json")).display().to_string());
    }
    let merged = tempfile::tempdir().unwrap();
    let mut args = vec!["merge".to_string()];
    args.extend(files.iter().rev().cloned());
    args.extend(["-o".into(), merged.path().display().to_string()]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = regress(&refs);
    assert_eq!(out.status.code(), Some(5), "{}", String::from_utf8_lossy(&out.stderr));
    let a = std::fs::read(whole.path().join("report.json")).unwrap();
    let b = std::fs::read(merged.path().join("report.json")).unwrap();
    assert!(a == b, "merged report.json differs from the single run");
    // The page is the same too (no timing in it).
    let a = std::fs::read(whole.path().join("report.html")).unwrap();
    let b = std::fs::read(merged.path().join("report.html")).unwrap();
    assert!(a == b, "merged report.html differs from the single run");
    // A missing shard is refused with the shard named.
    let out = regress(&["merge", &files[0], &files[1], "-o", merged.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing shards: 3/3"));
}

fn need(tool: &str, package: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths).map(|d| d.join(tool)).find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!("{tool} is required by this test: apt-get install -y {package} (.ci/run does)")
    })
}

fn html_opens_in_a_real_browser_with_every_plot(dir: &Path, r: &serde_json::Value) {
    let chromium = need("chromium", "chromium");
    let page = dir.join("report.html");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(!html.contains("http://") || !html.contains("src=\"http"), "page must be offline");
    let profile = tempfile::tempdir().unwrap();
    let dom = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            &format!("--user-data-dir={}", profile.path().display()),
            "--dump-dom",
            &format!("file://{}", page.display()),
        ])
        .output()
        .expect("runs chromium");
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains("Verdict: REGRESSION"),
        "chromium rendered no page:\n{}",
        &dom[..dom.len().min(500)]
    );
    // Every plot: the four summary plots, and a light curve and sky image per detailed change.
    let mut ids = vec![
        "plot-efficiency".to_string(),
        "plot-false-rate".into(),
        "plot-localisation".into(),
        "plot-latency".into(),
    ];
    let changes = r["changes"].as_array().unwrap().len();
    let detailed = changes.min(20);
    assert!(detailed > 0, "the example must show changed alerts");
    let mut found_changes = 0;
    for i in 0..changes {
        if dom.contains(&format!("id=\"plot-change-{i}-lc\"")) {
            ids.push(format!("plot-change-{i}-lc"));
            ids.push(format!("plot-change-{i}-sky"));
            found_changes += 1;
        }
    }
    assert_eq!(found_changes, detailed, "every detailed change has its plots");
    for id in &ids {
        let at = dom
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("{id} missing from the DOM"));
        let fig = &dom[at..];
        let end = fig.find("</figure>").unwrap();
        let fig = &fig[..end];
        assert!(fig.contains("<svg"), "{id} has no svg in the DOM");
        let marks: usize =
            ["<path", "<polyline", "<rect", "<circle"].iter().map(|t| fig.matches(t).count()).sum();
        assert!(marks > 3, "{id} draws nothing");
    }
}

fn junit_validates_against_the_junit_schema(dir: &Path) {
    let xmllint = need("xmllint", "libxml2-utils");
    let xsd = root().join("tests/vendor/junit/JUnit.xsd");
    let junit = dir.join("junit.xml");
    let v = Command::new(xmllint)
        .args(["--noout", "--schema", xsd.to_str().unwrap(), junit.to_str().unwrap()])
        .output()
        .expect("runs xmllint");
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
    let x = std::fs::read_to_string(&junit).unwrap();
    assert!(x.contains("<failure type=\"regression\""));
    assert!(x.contains("expected burst(s) lost by the candidate"));
}

#[test]
fn sweep_reports_the_trade_off() {
    let dir = tempfile::tempdir().unwrap();
    let out = regress(&[
        "examples/regress/suite.toml",
        "--baseline",
        "examples/workplan-tables",
        "--sweep",
        "imt.accumulations[*].snr=6.5:8.5:1",
        "--target",
        "model",
        "-o",
        dir.path().to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pts = v["points"].as_array().unwrap();
    assert_eq!(
        pts.iter().map(|p| p["value"].as_f64().unwrap()).collect::<Vec<_>>(),
        [6.5, 7.5, 8.5]
    );
    // The baseline's own value does not regress; higher thresholds lose efficiency.
    assert_eq!(pts[0]["regression"], false);
    let eff: Vec<f64> = pts.iter().map(|p| p["efficiency"].as_f64().unwrap()).collect();
    assert!(eff[2] < eff[0], "{eff:?}");
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(html.contains("id=\"plot-tradeoff\""));
    // A bad path is bad input, with the reason.
    let out = regress(&[
        "examples/regress/suite.toml",
        "--baseline",
        "examples/workplan-tables",
        "--sweep",
        "imt.nope=1:2:1",
        "--target",
        "model",
        "-o",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no field \"nope\""));
}

#[test]
fn same_suite_on_the_twin_gives_the_alerts_of_the_host() {
    let host = tempfile::tempdir().unwrap();
    let out = run_example(host.path(), &[]);
    assert_eq!(out.status.code(), Some(5), "{}", String::from_utf8_lossy(&out.stderr));
    let twin = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let state_dir = state.path().join("twin");
    let out =
        run_example(twin.path(), &["--on", "twin", "--twin-state", state_dir.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(5), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("on device twin (the embedded twin"), "{stdout}");
    // Every alert of every scenario, both table sets: the same over the pseudo-terminals.
    let h = json(&host.path().join("results.json"));
    let t = json(&twin.path().join("results.json"));
    assert_eq!(h["results"], t["results"]);
    assert!(t["errors"].as_array().unwrap().is_empty());
    // The reports differ only by the target that ran.
    let mut h = json(&host.path().join("report.json"));
    let mut t = json(&twin.path().join("report.json"));
    assert_ne!(h["target"], t["target"]);
    h["target"] = serde_json::Value::Null;
    t["target"] = serde_json::Value::Null;
    assert_eq!(h, t);
}
