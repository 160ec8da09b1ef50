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

/// The application runs from the execution region the loader copies it to (a bank's payload:
/// 256 KiB minus the 32-octet image header); its RAM is the PSRAM above the 1 MiB of storage:
/// the unit with its trigger (2.7 MiB) is built on the stack before it moves into its static,
/// which the 4 MiB SSRAM could not hold twice.
const MEMORY: &str = "MEMORY
{
  FLASH : ORIGIN = 0x00010000, LENGTH = 262112
  RAM   : ORIGIN = 0x21100000, LENGTH = 15M
}
";
