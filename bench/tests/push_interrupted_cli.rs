//! `tables push` killed at every step (as `kill -9`: `EIC_BENCH_CRASH_AFTER_STEP=N` aborts the
//! bench right after its N-th journal step is on disk) against a twin running in its own
//! process: the next contact reports the interrupted push, restores the mode, aborts the loads
//! left half done, reads the unit's tables back, and a re-push completes and verifies equal.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use tables::set::TableSet;

mod twin_process;

const BIN: &str = env!("CARGO_BIN_EXE_eic-bench");
/// Timeouts for a twin at full speed (as `SessionConfig::fast`).
const FAST: [&str; 6] = ["--t1-ms", "300", "--settle-ms", "100", "--report-timeout-s", "0.15"];

struct Twin {
    child: Child,
    dev: String,
}

impl Drop for Twin {
    fn drop(&mut self) {
        // Closing its standard input stops it (--until-stdin-eof).
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

fn start_twin(state: &Path) -> Twin {
    let (child, v) = twin_process::spawn(
        Command::new(BIN).args(["twin", "--until-stdin-eof", "--state"]).arg(state),
    );
    Twin { dev: v["tctm"].as_str().unwrap().to_owned(), child }
}

fn push(dev: &str, dir: &Path, journal: &Path, crash_after: Option<u32>) -> Output {
    let mut c = Command::new(BIN);
    // The twin runs at full speed: the fast twin's timeouts.
    c.args(["tables", "push", dev])
        .args(FAST)
        .arg(dir)
        .args(["--yes", "--journal-dir"])
        .arg(journal)
        .stdin(Stdio::null());
    if let Some(n) = crash_after {
        c.env("EIC_BENCH_CRASH_AFTER_STEP", n.to_string());
    }
    c.output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// Two targets that differ from each other and from the factory set in three small tables
/// (bands first in the safe order, the CRT validated against them, the alert table).
fn targets(root: &Path) -> [std::path::PathBuf; 2] {
    let mut out = Vec::new();
    for k in 1..=2u16 {
        let mut t = tables::defaults::default_set();
        t.bands.version += k;
        t.crt.version += k;
        t.crt.image_snr = 6.5 + f32::from(k) / 2.0;
        t.alert.version += k;
        assert!(t.problems().is_empty());
        let dir = root.join(format!("target{k}"));
        t.save_dir(&dir).unwrap();
        out.push(dir);
    }
    [out[0].clone(), out[1].clone()]
}

#[test]
fn a_push_killed_at_every_step_is_reported_restored_and_completed_at_the_next_contact() {
    let root = tempfile::tempdir().unwrap();
    let twin = start_twin(&root.path().join("state"));
    let journal = root.path().join("journal");
    let targets = targets(root.path());
    let mut step = 1;
    loop {
        let target = &targets[step as usize % 2];
        let o = push(&twin.dev, target, &journal, Some(step));
        if o.status.success() {
            // The push has fewer steps than this: every step was covered.
            assert!(step > 10, "only {step} steps?");
            break;
        }
        assert_eq!(o.status.code(), None, "killed by SIGABRT at step {step}: {}", text(&o));
        assert!(journal.read_dir().unwrap().count() == 1, "the journal is left behind");

        // The next contact: reported, mode restored, re-push completes and verifies equal.
        let o = push(&twin.dev, target, &journal, None);
        let out = text(&o);
        assert!(o.status.success(), "step {step}: {out}");
        assert!(out.contains("interrupted `tables push`"), "step {step}: {out}");
        assert!(out.contains("the unit holds (read back)"), "step {step}: {out}");
        if step >= 1 && !out.contains("last step done: mode safe") {
            // Killed in maintenance: the mode the unit was in (safe) is restored.
            assert!(
                out.contains("mode found: maintenance; restored to safe"),
                "step {step}: {out}"
            );
        }
        assert!(out.contains("the unit holds"), "{out}");
        assert_eq!(journal.read_dir().unwrap().count(), 0, "journal cleared after the push");
        let want = TableSet::load_dir(target).unwrap();
        // The push verified by pulling again; check from outside once more.
        let pulled = root.path().join(format!("pulled{step}"));
        let p = Command::new(BIN)
            .args(["tables", "pull", &twin.dev])
            .args(FAST)
            .arg("-o")
            .arg(&pulled)
            .arg("--journal-dir")
            .arg(&journal)
            .output()
            .unwrap();
        assert!(p.status.success(), "{}", text(&p));
        assert!(!text(&p).contains("interrupted"), "nothing left to recover: {}", text(&p));
        assert_eq!(TableSet::load_dir(&pulled).unwrap(), want, "step {step}");
        step += 1;
    }
}
