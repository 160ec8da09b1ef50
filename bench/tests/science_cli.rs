//! `simulate` and `replay` as operators and scripts meet them: exit codes of the one table
//! (`cmd::exit`), located errors on stderr, the JSON summary.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_eic-bench");

fn run(args: &[&str], dir: &std::path::Path) -> (i32, String, String) {
    let o = Command::new(BIN).args(args).current_dir(dir).output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn bad_inputs_exit_with_the_documented_codes_and_say_where() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    // A missing scenario file: usage (3).
    let (code, _, err) = run(&["simulate", "nope.toml", "-o", "out"], p);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("nope.toml") && err.contains("cannot read"), "{err}");
    // A scenario with an unknown key: invalid input (2), with line and column.
    std::fs::write(
        p.join("s.toml"),
        "seed = 1\nstart = 2026-03-01T00:00:00Z\nduration_s = 1\nrate = 5\n",
    )
    .unwrap();
    let (code, _, err) = run(&["simulate", "s.toml", "-o", "out"], p);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("s.toml:4:1"), "{err}");
    // A CSV with a value out of range: invalid input (2), file:line:column.
    std::fs::write(p.join("e.csv"), "TIME,Y,Z,PHA\n1.0,3,4,100\n1.5,81,4,10\n").unwrap();
    let (code, _, err) = run(&["replay", "e.csv", "--local"], p);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("e.csv:3:2 (Y): 81 is not an integer in 0..79"), "{err}");
    // A missing input: usage (3).
    let (code, _, err) = run(&["replay", "missing.fits", "--local"], p);
    assert_eq!(code, 3, "{err}");
    // Neither --local nor --on: usage.
    let (code, _, _) = run(&["replay", "e.csv"], p);
    assert_ne!(code, 0);
}

#[test]
fn simulate_json_summary_and_replay_of_its_output() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::write(
        p.join("s.toml"),
        "name = \"cli\"\nseed = 4\nstart = 2026-03-01T00:00:00Z\nduration_s = 3\n\
         [background]\nrate_cps = 500\n",
    )
    .unwrap();
    let (code, out, err) = run(&["simulate", "s.toml", "-o", "out", "--json", "--csv"], p);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let events = v["summary"]["events"].as_u64().unwrap();
    assert!(events > 800, "{v}");
    assert_eq!(v["files"]["events_written"].as_u64(), Some(events));
    assert!(p.join("out/ECL-EVT-SEC_cli.fits").is_file());
    assert!(p.join("out/ECL-EVT-SEC_cli.csv").is_file());
    // Same seed, same bytes from the command line too.
    let first = std::fs::read(p.join("out/ECL-EVT-SEC_cli.fits")).unwrap();
    let (code, _, _) = run(&["simulate", "s.toml", "-o", "out2", "--threads", "1"], p);
    assert_eq!(code, 0);
    assert_eq!(std::fs::read(p.join("out2/ECL-EVT-SEC_cli.fits")).unwrap(), first);
    // Pure background: no alert, and the summary on stderr counts every event.
    let (code, out, err) = run(&["replay", "out", "--local", "--json"], p);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "");
    assert!(err.contains(&format!("replay: {events} events, 0 alerts")), "{err}");
}
