//! `eic-bench twin` as a subprocess, driven by `eic-bench tc send` / `tm listen` subprocesses.

use std::process::Command;
use std::time::{Duration, Instant};

mod twin_process;

const BIN: &str = env!("CARGO_BIN_EXE_eic-bench");

#[test]
fn twin_subprocess_answers_tc_send_and_stops_on_stdin_eof() {
    let state = tempfile::tempdir().unwrap();
    let (mut twin, v) = twin_process::spawn(
        Command::new(BIN).args(["twin", "--until-stdin-eof", "--state"]).arg(state.path()),
    );
    let dev = v["tctm"].as_str().unwrap().to_owned();
    assert!(v["stimulus"].as_str().unwrap().starts_with("/dev/"));

    let ok =
        Command::new(BIN).args(["tc", "send", &dev, "test", "are-you-alive"]).output().unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("completed"));

    let bad = Command::new(BIN)
        .args(["tc", "send", &dev, "function select-boot-bank bank=B"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("not_armed") && err.contains("arm"), "{err}");

    let json = Command::new(BIN)
        .args(["tc", "send", "--json", &dev, "test are-you-alive"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["verification"]["status"], "completed");

    // Reports read as the operator expects: names, units, the version as a version.
    let param = Command::new(BIN)
        .args(["tc", "send", &dev, "param get id=sw_version,hk_period_ms"])
        .output()
        .unwrap();
    assert!(param.status.success(), "{}", String::from_utf8_lossy(&param.stderr));
    let out = String::from_utf8_lossy(&param.stdout);
    assert!(
        out.lines().any(|l| l == "20,2 sw_version = 1.0.0+0 (0x01000000), hk_period_ms = 1000 ms"),
        "{out}"
    );

    let syntax = Command::new(BIN).args(["tc", "send", &dev, "nonsense"]).output().unwrap();
    assert_eq!(syntax.status.code(), Some(2));

    let tm =
        Command::new(BIN).args(["tm", "listen", &dev, "--json", "--count", "1"]).output().unwrap();
    assert!(tm.status.success());
    let v: serde_json::Value = serde_json::from_slice(&tm.stdout).unwrap();
    assert_eq!((v["service"].as_u64(), v["subtype"].as_u64()), (Some(3), Some(25)));
    assert_eq!(v["report"]["type"], "housekeeping");
    assert_eq!(v["report"]["parameters"]["sw_version_text"], "1.0.0+0");
    assert!(v["text"].as_str().unwrap().starts_with("3,25 HK sid=1 mode="), "{v}");

    drop(twin.stdin.take());
    let start = Instant::now();
    loop {
        if let Some(status) = twin.try_wait().unwrap() {
            assert!(status.success());
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "twin did not stop on EOF");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(state.path().read_dir().unwrap().next().is_some(), "state persisted");
}

#[test]
fn missing_device_is_named_with_a_hint_and_does_not_hang() {
    let start = Instant::now();
    let out = Command::new(BIN)
        .args(["tc", "send", "/dev/eic-no-such-port", "test", "are-you-alive"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "unit unreachable");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/dev/eic-no-such-port") && err.contains("twin"), "{err}");
    // Said once: the session error wraps the link error without repeating it.
    assert_eq!(err.matches("not found").count(), 1, "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(start.elapsed() < Duration::from_secs(5));
}
