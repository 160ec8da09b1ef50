//! `eic-bench tables pull/push` as subprocesses on the embedded `twin` device (and the same
//! test on the `qemu` device: the firmware under QEMU, `docs/firmware.md`), and the shipped
//! workplan example.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use tables::TableId;
use tables::set::TableSet;

mod twin_process;

const BIN: &str = env!("CARGO_BIN_EXE_eic-bench");

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn run(args: &[&str], state: &Path) -> Output {
    // The state option of the device word the command uses.
    let option = if args.contains(&"qemu") { "--qemu-state" } else { "--twin-state" };
    Command::new(BIN).args(args).arg(option).arg(state).stdin(Stdio::null()).output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn workplan_example_is_valid_and_changes_exactly_what_it_says() {
    let defaults = tables::defaults::default_set();
    let example = TableSet::load_dir(&root().join("examples/workplan-tables")).unwrap();
    assert!(example.problems().is_empty(), "{:?}", example.problems());
    let d = tables::diff::diff(&defaults, &example);
    let summary: Vec<(TableId, u16, usize)> =
        d.iter().map(|t| (t.table, t.new_version, t.changes.len())).collect();
    // Three pixels set noisy, the 10 ms CRT threshold raised, one source (5 fields) added.
    assert_eq!(summary, [(TableId::Pixels, 2, 3), (TableId::Crt, 2, 1), (TableId::Catalog, 2, 5)]);
    assert!(d[0].changes.iter().all(|c| c.field == "STATUS" && c.new.as_deref() == Some("noisy")));
    assert_eq!(example.catalog.sources.len(), defaults.catalog.sources.len() + 1);
}

#[test]
fn push_then_pull_on_the_twin_device() {
    push_then_pull("twin");
}

#[test]
#[ignore = "needs QEMU (scripts/install-qemu.sh) and the firmware build; scripts/test runs it"]
fn push_then_pull_on_the_qemu_device() {
    push_then_pull("qemu");
}

fn push_then_pull(device: &str) {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join(device);
    let example = root().join("examples/workplan-tables");
    let example = example.to_str().unwrap();

    // Without a terminal and without --yes: refused, nothing sent.
    let o = run(&["tables", "push", device, example], &state);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("--yes") && text(&o).contains("--dry-run"), "{}", text(&o));

    // Dry run: the diff and the TCs, nothing changed.
    let o = run(&["tables", "push", device, example, "--dry-run"], &state);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("STATUS: ok -> noisy"), "{out}");
    assert_eq!(out.lines().filter(|l| l.starts_with("table load id=1 ")).count(), 110);
    assert!(out.contains("function mode mode=maintenance") && out.contains("table activate id=5"));
    // Folded: the loads' octets as first octets, length and CRC-32; whole with --verbose.
    let longest = out.lines().map(str::len).max().unwrap_or(0);
    assert!(longest < 200, "a dry-run line of {longest} characters");
    assert!(out.contains("990 octets, CRC-32 0x"), "{out}");
    let o = run(&["tables", "push", device, example, "--dry-run", "--verbose"], &state);
    assert!(o.status.success(), "{}", text(&o));
    let whole = String::from_utf8_lossy(&o.stdout);
    assert!(whole.lines().any(|l| l.starts_with("table load id=1 ") && l.len() > 1980));

    let pulled = dir.path().join("pulled");
    let o = run(&["tables", "pull", device, "-o", pulled.to_str().unwrap()], &state);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(TableSet::load_dir(&pulled).unwrap(), tables::defaults::default_set());

    // The main job.
    let o = run(&["tables", "push", device, example, "--yes", "--json"], &state);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["changed"], serde_json::json!(["crt", "catalog", "pixels"]));
    assert_eq!(v["verified"], true);

    let o = run(&["tables", "pull", device, "-o", pulled.to_str().unwrap(), "--json"], &state);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["tables"].as_array().unwrap().len(), 7);
    assert_eq!(
        TableSet::load_dir(&pulled).unwrap(),
        TableSet::load_dir(Path::new(example)).unwrap()
    );

    // Again: nothing to do.
    let o = run(&["tables", "push", device, example, "--yes"], &state);
    assert!(o.status.success() && text(&o).contains("nothing to push"), "{}", text(&o));

    // An invalid directory is refused before the unit is touched.
    let bad = dir.path().join("bad");
    let mut set = tables::defaults::default_set();
    set.alert.min_alert_snr = 1000.0;
    set.save_dir(&bad).unwrap();
    let o = run(&["tables", "push", device, bad.to_str().unwrap(), "--yes"], &state);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("problem"), "{}", text(&o));
}

#[test]
fn blank_twin_in_boot_mode_explains_why_tables_cannot_be_pulled() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("blank");
    // Create the state erased through `eic-bench twin --blank`, then stop it.
    let (mut twin, v) = twin_process::spawn(
        Command::new(BIN).args(["twin", "--blank", "--until-stdin-eof", "--state"]).arg(&state),
    );
    assert_eq!((v["provisioned"].as_bool(), v["mode"].as_str()), (Some(false), Some("boot")));
    drop(twin.stdin.take());
    assert!(twin.wait().unwrap().success());

    let out = dir.path().join("out");
    let o = run(&["tables", "pull", "twin", "-o", out.to_str().unwrap()], &state);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("boot mode"), "{}", text(&o));
}
