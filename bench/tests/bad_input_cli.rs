//! Bad input is caught before any work starts (issue 16 §2): every long command (`regress`,
//! `simulate`, `replay`, `plan`, `run`, `update`, `rollback`) checks all its input first and
//! stops with the file and the key named, nothing run: no scenario simulated, no output
//! written, no unit started (the embedded twin's state directory is never created).
//!
//! Exit codes are those of the one table (`cmd/exit.rs`): 2 for bad content (a file a suite
//! or a scenario names, a table set, a sweep, a stack), 3 for a command-line path that does
//! not exist or cannot be written. Each case takes well under a second (they would take
//! minutes if the work started).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_eic-bench");

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// A scratch directory with its own state home (so "no twin started" can be checked).
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Self {
        Scratch { dir: tempfile::tempdir().unwrap() }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path().join(name);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(&p, text).unwrap();
        p
    }

    /// Runs eic-bench from the repository root; returns (exit code, stderr, elapsed).
    fn run(&self, args: &[&str]) -> (i32, String, Duration) {
        let t = Instant::now();
        let o = Command::new(BIN)
            .args(args)
            .current_dir(root())
            .env("XDG_STATE_HOME", self.path().join("state"))
            .env("EIC_JOURNAL_DIR", self.path().join("journal"))
            .env_remove("EIC_TWIN_STATE")
            .env_remove("EIC_QEMU_STATE")
            .output()
            .expect("runs eic-bench");
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        (o.status.code().unwrap_or(-1), err, t.elapsed())
    }

    /// No embedded twin or QEMU unit was started (their state is created on first use).
    fn assert_no_unit_started(&self) {
        let state = self.path().join("state");
        assert!(!state.exists(), "a unit was started: {} exists", state.display());
    }

    fn s(&self, name: &str) -> String {
        self.path().join(name).display().to_string()
    }
}

/// A suite whose burst family alone would take many seconds to simulate and replay.
const SLOW_FAMILY: &str = r#"
name = "t"
[[burst]]
name = "grid"
peak_flux = [0.4, 2.0]
duration_s = [60.0]
directions = [[0.0, 0.0]]
seeds = [1, 2]
length_s = 300.0
"#;

fn assert_refused(code: i32, err: &str, expected_code: i32, named: &[&str]) {
    assert_eq!(code, expected_code, "exit code; stderr:\n{err}");
    for n in named {
        assert!(err.contains(n), "stderr does not name {n:?}:\n{err}");
    }
}

fn regress_args<'a>(suite: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a =
        vec!["regress", suite, "--baseline", "examples/workplan-tables", "-o", out, "--json"];
    a.extend_from_slice(extra);
    a
}

#[test]
fn regress_recorded_events_file_missing() {
    let d = Scratch::new();
    let suite = d.write(
        "suite.toml",
        &format!("{SLOW_FAMILY}\n[[recorded]]\nname = \"rec\"\nevents = \"recorded/evts.fits\"\n"),
    );
    let out = d.s("out");
    let (code, err, took) = d.run(&regress_args(suite.to_str().unwrap(), &out, &[]));
    assert_refused(
        code,
        &err,
        2,
        &["suite.toml", "[[recorded]] \"rec\"", "events = \"recorded/evts.fits\"", "cannot read"],
    );
    assert!(!Path::new(&out).exists(), "nothing run, nothing written");
    eprintln!("refused in {took:?}");
}

#[test]
fn regress_recorded_events_file_not_an_event_list() {
    let d = Scratch::new();
    d.write("rec/ECL-EVT-SEC_x.csv", "T,Y,Z\n1.0,3,4\n");
    let suite = d.write(
        "suite.toml",
        &format!(
            "{SLOW_FAMILY}\n[[recorded]]\nname = \"rec\"\nevents = \"rec/ECL-EVT-SEC_x.csv\"\n"
        ),
    );
    let out = d.s("out");
    let (code, err, _) = d.run(&regress_args(suite.to_str().unwrap(), &out, &[]));
    assert_refused(code, &err, 2, &["[[recorded]] \"rec\"", "events =", "ECL-EVT-SEC_x.csv:1"]);
    assert!(!Path::new(&out).exists());
}

#[test]
fn regress_recorded_context_triplet_bad() {
    let d = Scratch::new();
    let good = "TIME,Y,Z,PHA\n1.0,3,4,100\n";
    d.write("rec/ECL-EVT-SEC_x.csv", good);
    // The context directory holds another event file than `events` names.
    d.write("ctx/ECL-EVT-SEC_y.csv", good);
    let suite = d.write(
        "suite.toml",
        &format!(
            "{SLOW_FAMILY}\n[[recorded]]\nname = \"rec\"\nevents = \"rec/ECL-EVT-SEC_x.csv\"\n\
             context = \"ctx/\"\n"
        ),
    );
    let out = d.s("out");
    let (code, err, _) = d.run(&regress_args(suite.to_str().unwrap(), &out, &[]));
    assert_refused(code, &err, 2, &["[[recorded]] \"rec\"", "context = \"ctx/\"", "ECL-EVT-SEC_y"]);
    // A context directory with no triplet at all.
    std::fs::create_dir_all(d.path().join("empty")).unwrap();
    let suite = d.write(
        "suite2.toml",
        &format!(
            "{SLOW_FAMILY}\n[[recorded]]\nname = \"rec\"\nevents = \"rec/ECL-EVT-SEC_x.csv\"\n\
             context = \"empty\"\n"
        ),
    );
    let (code, err, _) = d.run(&regress_args(suite.to_str().unwrap(), &out, &[]));
    assert_refused(code, &err, 2, &["context = \"empty\"", "no ECL-EVT-SEC_"]);
    assert!(!Path::new(&out).exists());
}

#[test]
fn regress_recorded_file_on_the_model_target() {
    let d = Scratch::new();
    d.write("rec/ECL-EVT-SEC_x.csv", "TIME,Y,Z,PHA\n1.0,3,4,100\n");
    let suite = d.write(
        "suite.toml",
        &format!(
            "{SLOW_FAMILY}\n[[recorded]]\nname = \"rec\"\nevents = \"rec/ECL-EVT-SEC_x.csv\"\n"
        ),
    );
    let out = d.s("out");
    let (code, err, _) =
        d.run(&regress_args(suite.to_str().unwrap(), &out, &["--target", "model"]));
    assert_refused(code, &err, 2, &["[[recorded]] \"rec\"", "--target local"]);
    assert!(!Path::new(&out).exists());
}

#[test]
fn regress_table_directories() {
    let d = Scratch::new();
    let out = d.s("out");
    let (code, err, _) = d.run(&regress_args(
        "examples/regress/smoke.toml",
        &out,
        &["--candidate", "examples/no-such-tables"],
    ));
    assert_refused(code, &err, 2, &["--candidate", "examples/no-such-tables", "cannot read"]);
    // A candidate that does not validate: the file and the key.
    let cand = d.path().join("cand");
    std::fs::create_dir_all(&cand).unwrap();
    for e in std::fs::read_dir(root().join("examples/workplan-tables")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), cand.join(e.file_name())).unwrap();
    }
    let imt = std::fs::read_to_string(cand.join("imt.toml")).unwrap();
    std::fs::write(cand.join("imt.toml"), imt.replacen("snr = 6.5", "snr = -3.0", 1)).unwrap();
    let (code, err, _) = d.run(&regress_args(
        "examples/regress/smoke.toml",
        &out,
        &["--candidate", cand.to_str().unwrap()],
    ));
    assert_refused(code, &err, 2, &["--candidate", "cand", "IMT table, accumulation 0, field SNR"]);
    assert!(!Path::new(&out).exists());
}

#[test]
fn regress_sweep_path_and_values() {
    let d = Scratch::new();
    let out = d.s("out");
    let (code, err, _) = d.run(&regress_args(
        "examples/regress/smoke.toml",
        &out,
        &["--sweep", "imt.accumulations[*].bogus=1:2:1"],
    ));
    assert_refused(code, &err, 2, &["--sweep", "bogus"]);
    // A value the validator refuses, found before the first point runs.
    let (code, err, _) = d.run(&regress_args(
        "examples/regress/smoke.toml",
        &out,
        &["--sweep", "imt.accumulations[*].snr=7,-1"],
    ));
    assert_refused(code, &err, 2, &["--sweep imt.accumulations[*].snr=-1", "field SNR"]);
    let (code, err, _) = d.run(&regress_args(
        "examples/regress/smoke.toml",
        &out,
        &["--sweep", "imt.accumulations[*].snr=7:6:1"],
    ));
    assert_refused(code, &err, 2, &["--sweep"]);
    assert!(!Path::new(&out).exists());
}

#[test]
fn regress_on_a_device_path_without_its_stimulus_device() {
    let d = Scratch::new();
    let out = d.s("out");
    let (code, err, _) =
        d.run(&regress_args("examples/regress/smoke.toml", &out, &["--on", "/dev/null"]));
    assert_refused(code, &err, 3, &["--on /dev/null", "--stimulus"]);
    assert!(!Path::new(&out).exists());
}

#[test]
fn simulate_scenario_tables_missing() {
    let d = Scratch::new();
    let sc = d.write(
        "s.toml",
        "seed = 1\nstart = 2026-03-01T00:00:00Z\nduration_s = 3600\ntables = \"nope\"\n\
         [background]\nrate_cps = 5000\n",
    );
    let out = d.s("out");
    let (code, err, _) = d.run(&["simulate", sc.to_str().unwrap(), "-o", &out]);
    assert_refused(code, &err, 2, &["s.toml", "scenario tables", "nope"]);
    assert!(!Path::new(&out).exists(), "nothing simulated");
}

#[test]
fn replay_tables_and_images_checked_before_the_unit_starts() {
    let d = Scratch::new();
    let ev = d.write("e.csv", "TIME,Y,Z,PHA\n1.0,3,4,100\n");
    let ev = ev.to_str().unwrap();
    let (code, err, _) = d.run(&["replay", ev, "--on", "twin", "--tables", "examples/nope"]);
    assert_refused(code, &err, 2, &["examples/nope"]);
    // A bad row is found by the replay itself, but the file's form before the unit starts.
    let bad = d.write("bad.csv", "TIME,Y\n1.0,3\n");
    let (code, err, _) = d.run(&["replay", bad.to_str().unwrap(), "--on", "twin"]);
    assert_refused(code, &err, 2, &["bad.csv"]);
    d.assert_no_unit_started();
    // A device path without its stimulus device: said at once, not after connecting.
    let (code, err, _) = d.run(&["replay", ev, "--on", "/dev/null"]);
    assert_refused(code, &err, 3, &["--on /dev/null", "--stimulus"]);
    // --images where a file is: refused before the replay, not after it.
    let f = d.write("img", "");
    let (code, err, _) = d.run(&["replay", ev, "--local", "--images", f.to_str().unwrap()]);
    assert_refused(code, &err, 3, &["--images"]);
}

#[test]
fn plan_output_and_mode_checked_before_the_unit_is_contacted() {
    let d = Scratch::new();
    let wp = "examples/workplans/week49.toml";
    let out = d.s("no-such-dir/week49.stack");
    let (code, err, _) = d.run(&["plan", wp, "--against", "twin", "-o", &out]);
    assert_refused(code, &err, 3, &["-o", "no-such-dir", "does not exist"]);
    let out = d.s("week49.stack");
    let (code, err, _) = d.run(&["plan", wp, "--against", "twin", "-o", &out, "--mode", "sleepy"]);
    assert_refused(code, &err, 3, &["--mode \"sleepy\""]);
    let (code, err, _) =
        d.run(&["plan", "examples/workplans/invalid.toml", "--against", "twin", "-o", &out]);
    assert_refused(code, &err, 2, &["invalid.toml", "nothing written"]);
    d.assert_no_unit_started();
    assert!(!Path::new(&out).exists());
}

fn stack_with(request: &str, encoded: &str) -> String {
    format!(
        "format = \"eic-bench stack 1\"\nworkplan = \"w\"\nagainst = \"twin\"\n\
         planned_utc = \"2026-12-07T00:00:00Z\"\nunit_mode = \"safe\"\n\n\
         [[tc]]\nrelease = \"now\"\npurpose = \"ping\"\nrequest = \"test are-you-alive\"\n\
         encoded = \"17,1:\"\n\n\
         [[tc]]\nrelease = \"now\"\npurpose = \"p\"\nrequest = \"{request}\"\n\
         encoded = \"{encoded}\"\n"
    )
}

#[test]
fn run_stack_checked_before_the_unit_is_contacted() {
    let d = Scratch::new();
    let stack = d.write("bad.stack", &stack_with("param set id=bogus value=1", "20,1:00"));
    let ev = d.s("ev");
    let (code, err, _) =
        d.run(&["run", "twin", stack.to_str().unwrap(), "--evidence", &ev, "--json"]);
    assert_refused(code, &err, 2, &["bad.stack", "TC 2", "does not parse", "nothing was sent"]);
    // The place of the evidence, too (a file where its directory goes).
    let good = d.write("good.stack", &stack_with("test are-you-alive", "17,1:"));
    let blocker = d.write("blocker", "");
    let ev = format!("{}/ev", blocker.display());
    let (code, err, _) = d.run(&["run", "twin", good.to_str().unwrap(), "--evidence", &ev]);
    assert_refused(code, &err, 3, &["--evidence", "blocker"]);
    d.assert_no_unit_started();
    assert!(!d.path().join("ev.json").exists());
}

#[test]
fn update_acceptance_stack_checked_before_the_unit_is_contacted() {
    let d = Scratch::new();
    let img = d.s("app.img");
    let (code, err, _) = d.run(&[
        "image",
        "build",
        "examples/images/app-1.1.0.bin",
        "--version",
        "1.1.0",
        "-o",
        &img,
    ]);
    assert_eq!(code, 0, "{err}");
    let stack = d.write("acc.stack", &stack_with("test are-you-alive", "17,1:ff"));
    let (code, err, _) = d.run(&[
        "update",
        "twin",
        &img,
        "--bank",
        "B",
        "--acceptance",
        stack.to_str().unwrap(),
        "--evidence",
        &d.s("ev"),
    ]);
    assert_refused(code, &err, 2, &["acc.stack", "TC 2", "encoded form differs"]);
    // rollback checks the place of its evidence.
    let blocker = d.write("blocker", "");
    let ev = format!("{}/ev", blocker.display());
    let (code, err, _) = d.run(&["rollback", "twin", "--evidence", &ev]);
    assert_refused(code, &err, 3, &["--evidence", "blocker"]);
    d.assert_no_unit_started();
}
