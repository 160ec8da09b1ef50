//! Writes this binary's memory.x (docs/firmware.md) where the linker finds it and links with
#![allow(clippy::expect_used)] // a build script reports a broken environment by stopping
//! cortex-m-rt's link.x.
use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::write(out.join("memory.x"), MEMORY).expect("OUT_DIR is writable");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rustc-link-arg-bins=-Tlink.x");
    println!("cargo:rerun-if-changed=build.rs");
}

/// The self-test runs from QEMU's `-kernel` load at 0 (the 4 MiB SSRAM1); its RAM (an
/// imager, a trigger and the stack that builds them) is the PSRAM above the host's input area
/// (`board::SELFTEST_INPUT_BASE`, 6 MiB).
const MEMORY: &str = "MEMORY
{
  FLASH : ORIGIN = 0x00000000, LENGTH = 4M
  RAM   : ORIGIN = 0x21600000, LENGTH = 10M
}
";
