//! `run --wait` when a time-tagged TC fails at its release: the unit's refusal is reported
//! with its code and explanation, a TC marked `on_failure = "continue"` does not stop the
//! verdict, one marked `stop` exits 1; the evidence lists each released TC's outcome. (The
//! success path is the README's Job 1 walk-through, `help_examples.rs`.)

use std::process::Command;

use eic_bench::workflow::evidence::{unix_now, utc_text};

mod twin_process;

const BIN: &str = env!("CARGO_BIN_EXE_eic-bench");

#[test]
fn a_tc_refused_at_its_release_fails_the_wait_with_the_units_reason() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let (mut twin, v) = twin_process::spawn(
        Command::new(BIN).args(["twin", "--until-stdin-eof"]).env("XDG_STATE_HOME", w),
    );
    let dev = v["tctm"].as_str().unwrap().to_owned();

    // Selecting a boot bank is a critical function: without `function arm` the unit refuses
    // it at the start of execution (not_armed), which the insert's acceptance cannot see.
    // The twin's clock is the wall clock: release 11 to 12 s from now, later than the run's
    // margin (5 s: a TC due sooner is sent at once) after its start.
    let release = utc_text(unix_now().0 + 12, 0);
    let tc = |on_failure: &str| {
        format!(
            "[[tc]]\nrelease = \"{release}\"\npurpose = \"select bank B, not armed\"\n\
             request = \"function select-boot-bank bank=B\"\nencoded = \"8,1:0202\"\n\
             on_failure = \"{on_failure}\"\n"
        )
    };
    let stack = format!(
        "format = \"eic-bench stack 1\"\nunit_mode = \"safe\"\n\n{}\n{}",
        tc("continue"),
        tc("stop")
    );
    std::fs::write(w.join("bad.stack"), stack).unwrap();
    let out = Command::new(BIN)
        .args(["run", &dev, "bad.stack", "--evidence", "ev", "--wait"])
        .current_dir(w)
        .env("XDG_STATE_HOME", w)
        .output()
        .unwrap();
    drop(twin.stdin.take());
    let _ = twin.wait();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // Only the TC marked `stop` is the error; the unit's reason is given.
    assert!(stderr.contains("TC 2 (function select-boot-bank bank=B"), "{stderr}");
    assert!(!stderr.contains("TC 1 ("), "{stderr}");
    assert!(stderr.contains("not_armed") && stderr.contains("function arm"), "{stderr}");
    let ev: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.join("ev.json")).unwrap()).unwrap();
    assert_eq!(ev["ok"], false);
    let released = ev["sections"]["released"].as_array().unwrap();
    assert_eq!(released.len(), 2, "{released:?}");
    for r in released {
        let outcome = r["outcome"].as_str().unwrap();
        assert!(outcome.starts_with("failed: not_armed"), "{outcome}");
    }
    let wait = ev["steps"].as_array().unwrap().iter().find(|s| s["name"] == "wait").unwrap();
    assert_eq!(wait["ok"], false);
    assert_eq!(wait["data"]["executed"], 0, "{wait}");
    assert_eq!(wait["data"]["failed_continued"], 1, "{wait}");
}
