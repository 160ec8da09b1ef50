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

/// The loader lives in the first 32 KiB of the code memory (the "boot EEPROM"); its RAM is the
/// board RAM minus the 4 KiB hand-off area at its top.
const MEMORY: &str = "MEMORY
{
  FLASH : ORIGIN = 0x00000000, LENGTH = 32K
  RAM   : ORIGIN = 0x20000000, LENGTH = 4092K
}
";
