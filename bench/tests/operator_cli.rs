//! What an operator meets at the console: the same packet gives the same record in `tm decode`
//! and `tm listen`, `hk` and `tm listen` read a value the same way, the twin's lock file does
//! not outlive it, its banner says what matters.

use std::path::Path;
use std::process::{Command, Output};

mod twin_process;

const BIN: &str = env!("CARGO_BIN_EXE_eic-bench");

fn run(args: &[&str], state: &Path) -> Output {
    Command::new(BIN).args(args).env("EIC_TWIN_STATE", state).output().unwrap()
}

fn lines(o: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&o.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn tm_decode_and_tm_listen_give_the_same_record() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let archive = dir.path().join("listen.eica");
    let a = archive.to_str().unwrap();
    let listen = run(&["tm", "listen", "twin", "--json", "--count", "3", "--archive", a], &state);
    assert!(listen.status.success(), "{}", String::from_utf8_lossy(&listen.stderr));
    let err = String::from_utf8_lossy(&listen.stderr);
    assert!(err.contains("3 packets in ") && err.contains("packet errors"), "summary: {err}");
    let decode = run(&["tm", "decode", a], &state);
    assert!(decode.status.success(), "{}", String::from_utf8_lossy(&decode.stderr));
    let (live, recorded) = (lines(&listen), lines(&decode));
    assert!(recorded.len() >= 3);
    for (l, r) in live.iter().zip(&recorded) {
        let mut l = l.as_object().unwrap().clone();
        let mut r = r.as_object().unwrap().clone();
        // What only one of them can know: receive time, frame count.
        l.remove("received_utc_ns");
        r.remove("frame_count");
        assert_eq!(l, r, "the same packet gives the same record");
        assert!(r["report"].is_object() && r["text"].is_string());
    }
}

#[test]
fn hk_and_tm_listen_read_a_value_the_same_way() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let hk = run(&["hk", "twin", "--json", "--count", "1"], &state);
    assert!(hk.status.success(), "{}", String::from_utf8_lossy(&hk.stderr));
    let params = lines(&hk)[0]["params"].as_array().unwrap().clone();
    let text = |name: &str| {
        params.iter().find(|p| p["name"] == name).unwrap()["text"].as_str().unwrap().to_owned()
    };
    assert_eq!(text("mode"), "safe");
    assert_eq!(text("sw_version"), "1.0.0+0");
    assert!(text("image_crc").starts_with("0x"), "CRCs in hex");
    assert!(params.iter().all(|p| p["name"] != "table7_id"), "unused table slot shown");
    let uptime = params.iter().find(|p| p["name"] == "uptime_s").unwrap();
    assert_eq!(uptime["unit"], "s", "units without --limits");

    let listen = run(&["tm", "listen", "twin", "--count", "2"], &state);
    let out = String::from_utf8_lossy(&listen.stdout);
    let line = out.lines().find(|l| l.contains("3,25 HK")).expect("an HK report");
    for (key, name) in [("mode", "mode"), ("boot", "boot_bank"), ("sw", "sw_version")] {
        assert!(line.contains(&format!(" {key}={} ", text(name))), "{key}: {line}");
    }
    let human = run(&["hk", "twin", "--count", "1"], &state);
    let out = String::from_utf8_lossy(&human.stdout);
    assert!(out.lines().any(|l| l.split_whitespace().collect::<Vec<_>>()[..2] == ["mode", "safe"]));
    assert!(String::from_utf8_lossy(&human.stderr).contains("1 housekeeping report;"));
}

#[test]
fn twin_lock_file_is_removed_and_a_dead_holders_lock_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let lock = dir.path().join("state.lock");
    let o = run(&["tc", "send", "twin", "test", "are-you-alive"], &state);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!lock.exists(), "the lock file is removed on exit");
    // A lock file left by a killed process (no holder): taken over.
    std::fs::write(&lock, "999999\n").unwrap();
    let o = run(&["tc", "send", "twin", "test", "are-you-alive"], &state);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!lock.exists());

    // A living holder: refused (exit 3), naming its pid and this command's option.
    let (mut twin, banner) = twin_process::spawn(
        Command::new(BIN).args(["twin", "--until-stdin-eof", "--state"]).arg(&state),
    );
    assert_eq!(banner["faults"], serde_json::Value::Null, "no faults: null, not zeros");
    assert_eq!(banner["temporary"], false);
    let o = run(&["tc", "send", "twin", "test", "are-you-alive"], &state);
    assert_eq!(o.status.code(), Some(3));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("pid {}", twin.id())), "{err}");
    assert!(err.contains("--twin-state") && !err.contains("--state DIR"), "{err}");
    drop(twin.stdin.take());
    assert!(twin.wait().unwrap().success());
    assert!(!lock.exists());
}
