//! Every example of every `--help` and of the README's runnable blocks runs as shown and ends
//! with the exit code it documents.
//!
//! - Help examples: the lines starting with `eic-bench ` under `Example:`/`Examples:` in the
//!   long help of every subcommand (the tree is walked through the library's clap `Command`).
//! - README examples: the code blocks fenced as ```` ```sh runnable ````; `cargo run ... --`
//!   stands for `eic-bench`, a trailing `\` continues the line.
//! - Expected exit code: 0, or N when the line's comment says `exit N`.
//! - Where an example names a serial port (`/dev/ttyUSB0`, `/dev/pts/3`), it runs against a
//!   twin this test starts (the port replaced by the twin's pseudo-terminal); DEVICE `twin`
//!   runs on a temporary state (`EIC_TWIN_STATE`). `eic-bench twin` examples (which run until
//!   stopped) are stopped with SIGINT once they printed their device paths, and must exit 0;
//!   so are `eic-bench spare` examples (the firmware under QEMU), which run when the emulator
//!   is installed (`scripts/install-qemu.sh`) and must run when `EIC_REQUIRE_QEMU` is set, as
//!   `.ci/run` does.
//! - A help example may continue on the next line after a trailing `\`.
//! - Every example runs in order in one scratch directory where `tables/`, `examples/` and
//!   `bench/` are the repository's (so an example may use what an earlier one wrote).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::CommandFactory;

const BIN: &str = env!("CARGO_BIN_EXE_eic-bench");
const PORTS: [&str; 2] = ["/dev/ttyUSB0", "/dev/pts/3"];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// Subcommand paths of the command tree, depth first, in definition order.
fn paths(cmd: &clap::Command, prefix: &[String], out: &mut Vec<Vec<String>>) {
    for sub in cmd.get_subcommands() {
        let mut p = prefix.to_vec();
        p.push(sub.get_name().to_owned());
        out.push(p.clone());
        paths(sub, &p, out);
    }
}

/// The example lines of one help text.
fn help_examples(help: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_examples = false;
    for line in help.lines() {
        let t = line.trim();
        if t == "Examples:" || t == "Example:" {
            in_examples = true;
        } else if t.is_empty() {
            in_examples = false;
        } else if in_examples && t.starts_with("eic-bench ") {
            out.push(t.to_owned());
        } else if in_examples && out.last().is_some_and(|l| l.ends_with('\\')) {
            // A continuation line of the previous example.
            if let Some(last) = out.last_mut() {
                let head = last.trim_end_matches('\\').trim_end().to_owned();
                *last = format!("{head} {t}");
            }
        }
    }
    out
}

/// The runnable lines of the README.
fn readme_examples(readme: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_block = false;
    let mut pending = String::new();
    for line in readme.lines() {
        if line.starts_with("```") {
            in_block = line.trim() == "```sh runnable";
            continue;
        }
        if !in_block || line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        pending.push_str(line.trim());
        if let Some(cont) = pending.strip_suffix('\\') {
            pending = format!("{} ", cont.trim_end());
            continue;
        }
        // `eic` is the README's alias (Job 1) of the release build.
        let line = match pending.strip_prefix("eic ") {
            Some(rest) => format!("eic-bench {rest}"),
            None => pending.clone(),
        };
        let cmd = line
            .replace("cargo run --release -p eic-bench --", "eic-bench")
            .replace("cargo run -q --release -p eic-bench --", "eic-bench")
            .replace("cargo run -q -p eic-bench --", "eic-bench");
        out.push(cmd);
        pending.clear();
    }
    out
}

/// The exit code the example's comment documents (`exit N`), else 0.
fn expected_exit(line: &str) -> i32 {
    line.split_once(" # ")
        .and_then(|(_, comment)| {
            let words: Vec<&str> = comment.split_whitespace().collect();
            words.windows(2).find(|w| w[0].trim_end_matches(':') == "exit").map(|w| w[1])
        })
        .and_then(|n| n.trim_matches(|c: char| !c.is_ascii_digit()).parse().ok())
        .unwrap_or(0)
}

struct Env {
    work: tempfile::TempDir,
    twin_state: PathBuf,
    path_var: String,
}

impl Env {
    fn new() -> Self {
        let work = tempfile::tempdir().unwrap();
        for d in ["tables", "examples", "bench"] {
            std::os::unix::fs::symlink(repo().join(d), work.path().join(d)).unwrap();
        }
        let twin_state = work.path().join(".twin-state");
        let bin_dir = Path::new(BIN).parent().unwrap().display().to_string();
        let path_var = format!("{bin_dir}:{}", std::env::var("PATH").unwrap_or_default());
        Env { work, twin_state, path_var }
    }

    fn bash(&self, line: &str) -> Command {
        let mut c = Command::new("bash");
        c.args(["-o", "pipefail", "-c", line])
            .current_dir(self.work.path())
            .env("PATH", &self.path_var)
            .env("EIC_TWIN_STATE", &self.twin_state)
            .stdin(Stdio::null());
        c
    }

    /// Runs one example; `Err` says what went wrong.
    fn run(&self, shown: &str, device: &str) -> Result<(), String> {
        let mut line = shown.to_owned();
        for p in PORTS {
            line = line.replace(p, device);
        }
        let want = expected_exit(&line);
        if line.starts_with("eic-bench twin") && line.contains("--detach") {
            return self.run_detached(&line, want);
        }
        if line.starts_with("eic-bench twin") {
            return self.run_service(line.trim_end_matches('&').trim(), want);
        }
        if line.starts_with("eic-bench spare") {
            if !qemu_available() {
                return if std::env::var_os("EIC_REQUIRE_QEMU").is_some() {
                    Err("qemu-system-arm not found although EIC_REQUIRE_QEMU is set: run \
                         scripts/install-qemu.sh"
                        .into())
                } else {
                    eprintln!("not run (no qemu-system-arm; scripts/install-qemu.sh): {line}");
                    Ok(())
                };
            }
            return self.run_service(line.trim_end_matches('&').trim(), want);
        }
        let out = self
            .bash(&format!("timeout 120 {line}"))
            .output()
            .map_err(|e| format!("cannot run bash: {e}"))?;
        let code = out.status.code().unwrap_or(-1);
        if code != want {
            return Err(format!(
                "exit {code}, documented {want}\nstdout: {}\nstderr: {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(())
    }

    /// Runs a `twin --detach` example: it must return at once with the JSON line printed and
    /// the twin running (its --print-paths file complete), which this stops with SIGTERM.
    fn run_detached(&self, line: &str, want: i32) -> Result<(), String> {
        let cmd = line.split_once(" # ").map_or(line, |(c, _)| c).trim();
        let out = self
            .bash(&format!("timeout 30 {cmd}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| e.to_string())?;
        let code = out.status.code().unwrap_or(-1);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let v: serde_json::Value = serde_json::from_str(text.trim()).map_err(|e| {
            format!("exit {code}: stdout {text:?}: {e}: {}", String::from_utf8_lossy(&out.stderr))
        })?;
        let pid = v["pid"].as_u64().ok_or(format!("no pid in {text}"))?.to_string();
        let alive = || running(&pid);
        let running = alive();
        let file = cmd
            .split_whitespace()
            .skip_while(|w| *w != "--print-paths")
            .nth(1)
            .map(|f| std::fs::read_to_string(self.work.path().join(f)).unwrap_or_default());
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let start = Instant::now();
        while alive() && start.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(20));
        }
        if alive() {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
            return Err("the detached twin did not stop on SIGTERM".into());
        }
        if code != want || !running || !v["tctm"].is_string() {
            return Err(format!("exit {code} (documented {want}), running: {running}: {text}"));
        }
        if file.is_some_and(|f| f.trim() != text.trim()) {
            return Err("--print-paths file differs from the printed line".into());
        }
        Ok(())
    }

    /// Runs a twin example: waits for its JSON line, stops it with SIGINT.
    fn run_service(&self, line: &str, want: i32) -> Result<(), String> {
        let mut child = self
            .bash(&format!("exec {line}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .map_err(|e| e.to_string())?;
        let v: serde_json::Value =
            serde_json::from_str(&first).map_err(|e| format!("first line {first:?}: {e}"))?;
        if !v["tctm"].is_string() {
            return Err(format!("no device path in {first}"));
        }
        let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
                let code = status.code().unwrap_or(-1);
                return if code == want {
                    Ok(())
                } else {
                    Err(format!("exit {code}, documented {want}"))
                };
            }
            if start.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
                return Err("did not stop on SIGINT".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Whether process `pid` runs (exists and is not a zombie waiting for its reaper).
fn running(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next()) != Some("Z")
    })
}

/// Whether the firmware examples can run: QEMU on PATH or installed into the project.
fn qemu_available() -> bool {
    let local = repo().join(".tools/qemu/bin/qemu-system-arm");
    local.exists()
        || std::env::var_os("EIC_QEMU").is_some()
        || Command::new("qemu-system-arm")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

/// A twin for the examples that name a serial port.
struct RunningTwin {
    child: std::process::Child,
    tctm: String,
    _state: tempfile::TempDir,
}

impl RunningTwin {
    fn start() -> Self {
        let state = tempfile::tempdir().unwrap();
        let mut child = Command::new(BIN)
            .args(["twin", "--until-stdin-eof", "--state"])
            .arg(state.path().join("s"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        let tctm = v["tctm"].as_str().unwrap().to_owned();
        RunningTwin { child, tctm, _state: state }
    }
}

impl Drop for RunningTwin {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

#[test]
fn expected_exit_reads_the_comment() {
    assert_eq!(expected_exit("eic-bench tc decode 00   # wrong PEC: exit 2"), 2);
    assert_eq!(expected_exit("eic-bench tables pull twin -o x   # the unit's tables"), 0);
    assert_eq!(expected_exit("eic-bench tc requests"), 0);
}

#[test]
fn every_help_and_readme_example_runs_as_documented() {
    let mut tree = Vec::new();
    paths(&eic_bench::cli::Cli::command(), &[], &mut tree);
    let mut examples: Vec<(String, String)> = Vec::new();
    for path in &tree {
        if path.last().is_some_and(|n| n == "help") {
            continue;
        }
        let out = Command::new(BIN).args(path).arg("--help").output().unwrap();
        assert!(out.status.success(), "{path:?} --help");
        let help = String::from_utf8_lossy(&out.stdout).into_owned();
        for e in help_examples(&help) {
            examples.push((format!("eic-bench {} --help", path.join(" ")), e));
        }
    }
    let help_count = examples.len();
    assert!(help_count >= 30, "only {help_count} help examples found");
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    for e in readme_examples(&readme) {
        examples.push(("README.md".to_owned(), e));
    }
    assert!(examples.len() >= help_count + 14, "README runnable blocks not found");

    let twin = RunningTwin::start();
    let env = Env::new();
    let mut failures = Vec::new();
    for (origin, example) in &examples {
        if let Err(why) = env.run(example, &twin.tctm) {
            failures.push(format!("{origin}: `{example}`: {why}"));
        }
    }
    assert!(failures.is_empty(), "{} examples fail:\n{}", failures.len(), failures.join("\n\n"));
}

/// The README's Job 1 walk-through (the block fenced ```` ```sh walkthrough ```` under "Job 1"),
/// run as written as one bash script (`set -e`): `eic` stands for this build of `eic-bench`
/// (the alias line is the README's), the twin's state goes to a scratch directory instead of
/// `/tmp/st`. Then: the evidence page written with every time-tagged TC executed (`run
/// --wait`), the slots' tables active on the unit, the second plan empty, the twin stopped by
/// the block's last line. About 30 s: the twin's clock starts 13 s before the first slot.
#[test]
fn readme_job1_walkthrough_runs_as_written() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let job1 = &readme[readme.find("### Job 1").expect("README has Job 1")..];
    let start = job1.find("```sh walkthrough\n").expect("Job 1 has its walk-through block");
    let block = &job1[start + "```sh walkthrough\n".len()..];
    let block = &block[..block.find("```").unwrap()];
    let env = Env::new();
    let state = env.work.path().join("st");
    assert!(block.contains("/tmp/st") && block.contains("--detach"), "{block}");
    let script = format!(
        "set -e\nshopt -s expand_aliases\n{}",
        block
            .replace("cargo run -q --release -p eic-bench --", "eic-bench")
            .replace("/tmp/st", state.to_str().unwrap())
    );
    let out = env.bash(&script).output().unwrap();
    let twin_json = std::fs::read_to_string(env.work.path().join("twin.json")).unwrap_or_default();
    // Whatever happened, no twin is left running.
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&twin_json)
        && let Some(pid) = v["pid"].as_u64()
    {
        let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
    }
    let (stdout, stderr) =
        (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the walk-through failed:\n{stdout}\n{stderr}");
    let w = env.work.path();
    assert!(w.join("reports/week49.html").is_file() && w.join("reports/week49.json").is_file());
    let ev: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.join("reports/week49.json")).unwrap())
            .unwrap();
    assert_eq!(ev["ok"], true, "{}", ev["outcome"]);
    // `--wait`: every TC time-tagged by the run was released and executed on the unit.
    let released = ev["sections"]["released"].as_array().expect("the released TCs");
    assert!(
        released.len() >= 2 && released.iter().all(|r| r["outcome"] == "completed"),
        "{released:?}"
    );
    assert!(ev["sections"]["after wait"]["tables"].is_array(), "the directory after the wait");
    let wait = ev["steps"].as_array().unwrap().iter().find(|s| s["name"] == "wait");
    let wait = wait.expect("the evidence has the wait step");
    assert_eq!(wait["ok"], true, "{wait}");
    assert!(wait["data"]["executed"].as_u64().unwrap() >= 2, "{wait}");
    let catalog = std::fs::read_to_string(w.join("on-board/catalog.toml")).unwrap();
    let alert = std::fs::read_to_string(w.join("on-board/alert.toml")).unwrap();
    assert!(catalog.contains("version = 4"), "catalogue v4 active after the two slots");
    assert!(alert.contains("version = 2"), "alert v2 active after the survey slot");
    let again = std::fs::read_to_string(w.join("again.stack")).unwrap();
    assert!(!again.lines().any(|l| l.trim() == "[[tc]]"), "the second plan is empty:\n{again}");
    let pid = serde_json::from_str::<serde_json::Value>(&twin_json).unwrap()["pid"].to_string();
    let start = Instant::now();
    while running(&pid) && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!running(&pid), "the block's `kill` stopped the twin");
}
