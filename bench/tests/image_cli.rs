//! `eic-bench image build` and `image inspect` through the binary.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_eic-bench");

fn run(args: &[&str]) -> std::process::Output {
    Command::new(BIN).args(args).output().expect("runs eic-bench")
}

#[test]
fn build_then_inspect_and_corruptions_refused() {
    let dir = tempfile::tempdir().unwrap();
    let payload = dir.path().join("app.bin");
    let payload_bytes: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&payload, &payload_bytes).unwrap();
    let img = dir.path().join("app.img");
    let (p, i) = (payload.to_str().unwrap(), img.to_str().unwrap());

    let out = run(&["image", "build", p, "--version", "1.4.2", "-o", i, "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["version"], "1.4.2+0");
    assert_eq!(v["payload_len"], 5000);
    let bytes = std::fs::read(&img).unwrap();
    assert_eq!(bytes.len(), 5032);
    // The unit's own parser accepts it, and sees the payload unchanged.
    let info = onboard::image::check(&bytes).unwrap();
    assert_eq!(info.sw_version, onboard::image::SwVersion::new(1, 4, 2, 0));
    assert_eq!(&bytes[32..], &payload_bytes[..]);

    let out = run(&["image", "inspect", i, "--json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], true);

    // One flipped payload bit: refused with exit 2 and the reason.
    let mut bad = bytes.clone();
    bad[1000] ^= 0x04;
    std::fs::write(&img, &bad).unwrap();
    let out = run(&["image", "inspect", i]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("payload CRC"), "{out:?}");

    // A bad version string is refused by the parser with the part named (a usage error).
    let out = run(&["image", "build", p, "--version", "1.x.0", "-o", i]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("minor"));
}
