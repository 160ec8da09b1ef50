//! `eic-bench spare`: refused without `--qemu`; the QEMU runs are in `tests/` (e2e, `Target`).

use std::process::Command;

#[test]
fn spare_without_qemu_is_bad_input_and_says_what_to_do() {
    let out = Command::new(env!("CARGO_BIN_EXE_eic-bench")).arg("spare").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--qemu") && err.contains("/dev/ttyUSB0"), "{err}");
}
