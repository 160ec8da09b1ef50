//! `eic-bench tables ...` end to end, on the committed default set and edited copies.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eic-bench")).args(args).output().expect("runs eic-bench")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn defaults() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tables/defaults")
}

/// A fresh scratch directory under the target directory.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("eic-bench-tables-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn copy_defaults(name: &str) -> PathBuf {
    let d = scratch(name);
    for e in std::fs::read_dir(defaults()).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), d.join(e.file_name())).unwrap();
    }
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn validate_accepts_defaults() {
    let o = bench(&["tables", "validate", s(&defaults())]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("valid (7 tables)"));
    let o = bench(&["tables", "validate", s(&defaults()), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["valid"], true);
}

#[test]
fn validate_reports_problems_with_exit_2() {
    let d = copy_defaults("invalid");
    let path = d.join("alert.toml");
    let text =
        std::fs::read_to_string(&path).unwrap().replace("min_slew_snr = 8.0", "min_slew_snr = 6.0");
    std::fs::write(&path, text).unwrap();
    let o = bench(&["tables", "validate", s(&d)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stdout(&o)
            .contains("alert.toml: alert table, field MIN_SLEW_SNR: 6 sigma is outside 6.5..50"),
        "{}",
        stdout(&o)
    );
    assert!(stderr(&o).contains("1 problem"), "{}", stderr(&o));
    let o = bench(&["tables", "validate", s(&d), "--json"]);
    assert_eq!(o.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["problems"][0]["field"], "MIN_SLEW_SNR");
    assert_eq!(v["problems"][0]["compact"], "07ffff6101");
}

#[test]
fn parse_errors_name_file_line_column() {
    let d = copy_defaults("syntax");
    let path = d.join("bands.toml");
    let text =
        std::fs::read_to_string(&path).unwrap().replacen("low_kev = 5.0", "low_kev = five", 1);
    std::fs::write(&path, text).unwrap();
    let o = bench(&["tables", "validate", s(&d)]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with(&format!("error: {}:6:11: ", s(&path))), "{err}");
}

#[test]
fn show_summary_and_one_table() {
    let o = bench(&["tables", "show", s(&defaults())]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("0x01 pixels         1    6400    108812"), "{}", stdout(&o));
    let o = bench(&["tables", "show", s(&defaults()), "--table", "saa"]);
    assert_eq!(stdout(&o), std::fs::read_to_string(defaults().join("saa.toml")).unwrap());
    let o = bench(&["tables", "show", s(&defaults()), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["tables"][4]["entries"], 20);
    let o = bench(&["tables", "show", s(&defaults()), "--table", "nope"]);
    assert_eq!(o.status.code(), Some(3), "a refused option is a usage error");
    let o = bench(&["tables", "show", "/no/such/dir"]);
    assert_eq!(o.status.code(), Some(3), "a missing directory is a usage error");
    assert!(stderr(&o).contains("no such directory"), "{}", stderr(&o));
}

#[test]
fn diff_text_and_json() {
    let d = copy_defaults("diff");
    let path = d.join("imt.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replacen("version = 1", "version = 2", 1)
        .replacen("cycles = 64\nsnr = 6.5", "cycles = 64\nsnr = 7.0", 1);
    std::fs::write(&path, text).unwrap();
    let o = bench(&["tables", "diff", s(&defaults()), s(&d)]);
    assert!(o.status.success());
    assert_eq!(
        stdout(&o),
        "IMT table: version 1 -> 2, 1 change\n  accumulation 6, SNR: 6.5 -> 7\n"
    );
    let o = bench(&["tables", "diff", s(&defaults()), s(&d), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["tables"][0]["table"], "imt");
    assert_eq!(v["tables"][0]["changes"][0]["old"], "6.5");
}

#[test]
fn build_writes_images_and_manifest() {
    let out = scratch("build");
    let o = bench(&["tables", "build", s(&defaults()), "-o", s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    let images = manifest["images"].as_array().unwrap();
    assert_eq!(images.len(), 7);
    for m in images {
        let img = std::fs::read(out.join(m["file"].as_str().unwrap())).unwrap();
        assert_eq!(img.len() as u64, m["image_len"].as_u64().unwrap());
        let header = tables::ImageHeader::parse(&img).unwrap();
        assert_eq!(u64::from(header.table as u8), m["id"].as_u64().unwrap());
        let crc = tc_tm::crc::crc32(&img[..img.len() - 4]);
        assert_eq!(format!("0x{crc:08X}"), m["crc32"].as_str().unwrap());
        assert_eq!(&img[img.len() - 4..], &crc.to_be_bytes());
    }
    // A binary image converts back to the same text.
    let toml = out.join("crt.toml");
    let o = bench(&["tables", "convert", s(&out.join("crt.bin")), "-o", s(&toml)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(toml).unwrap(),
        std::fs::read_to_string(defaults().join("crt.toml")).unwrap()
    );
}

#[test]
fn build_refuses_invalid_set() {
    let d = copy_defaults("build-invalid");
    let path = d.join("saa.toml");
    let text =
        std::fs::read_to_string(&path).unwrap().replacen("lat_deg = -25.0", "lat_deg = -95.0", 1);
    std::fs::write(&path, text).unwrap();
    let out = scratch("build-invalid-out");
    let o = bench(&["tables", "build", s(&d), "-o", s(&out)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("SAA table, vertex 0, field LAT_DEG: -95 deg is outside -90..90"));
    assert!(!out.join("manifest.json").exists());
}

#[test]
fn convert_csv_fits_csv() {
    let out = scratch("convert");
    let fits = out.join("cal.fits");
    let o = bench(&["tables", "convert", s(&defaults().join("pixels.csv")), "-o", s(&fits)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::metadata(&fits).unwrap().len(), 74_880);
    let csv = out.join("pixels.csv");
    let base = defaults().join("pixels.csv");
    let o = bench(&["tables", "convert", s(&fits), "--base", s(&base), "-o", s(&csv)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(csv).unwrap(), std::fs::read_to_string(base).unwrap());
    let o = bench(&["tables", "convert", s(&fits), "-o", s(&out.join("x.toml"))]);
    assert_eq!(o.status.code(), Some(2));
    let truncated = out.join("short.fits");
    std::fs::write(&truncated, &std::fs::read(&fits).unwrap()[..2880 * 4]).unwrap();
    let o = bench(&["tables", "convert", s(&truncated), "-o", s(&out.join("y.csv"))]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("HDU 2, keyword NAXIS2"), "{}", stderr(&o));
}

#[test]
fn defaults_command_reproduces_committed_set() {
    let out = scratch("defaults");
    let o = bench(&["tables", "defaults", "-o", s(&out)]);
    assert!(o.status.success());
    let o = bench(&["tables", "diff", s(&defaults()), s(&out)]);
    assert_eq!(stdout(&o), "no differences\n");
}

#[test]
fn help_teaches_with_examples() {
    let o = bench(&["tables", "build", "--help"]);
    assert!(stdout(&o).contains("eic-bench tables build tables/defaults -o out/images"));
}

#[test]
fn build_over_a_previous_build_replaces_it_whole() {
    let root = scratch("build-atomic");
    let out = root.join("out");
    let o = bench(&["tables", "build", s(&defaults()), "-o", s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    // A file of the old build that the new one does not write: the directory is replaced as a
    // whole (written beside it, then renamed), so it is gone, and nothing is left aside.
    std::fs::write(out.join("stale.bin"), b"old").unwrap();
    let o = bench(&["tables", "build", s(&defaults()), "-o", s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!out.join("stale.bin").exists());
    assert!(out.join("manifest.json").exists());
    let names: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["out"], "no temporary or old directory left: {names:?}");
    // A build that fails (invalid set) leaves the previous build untouched.
    let d = copy_defaults("build-atomic-invalid");
    let path = d.join("saa.toml");
    let text =
        std::fs::read_to_string(&path).unwrap().replacen("lat_deg = -25.0", "lat_deg = -95.0", 1);
    std::fs::write(&path, text).unwrap();
    let before = std::fs::read(out.join("manifest.json")).unwrap();
    let o = bench(&["tables", "build", s(&d), "-o", s(&out)]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read(out.join("manifest.json")).unwrap(), before);
}

#[test]
fn a_table_file_of_endless_length_is_refused() {
    let d = copy_defaults("endless");
    std::fs::remove_file(d.join("pixels.csv")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", d.join("pixels.csv")).unwrap();
    let o = bench(&["tables", "validate", s(&d)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("larger than"), "{}", stderr(&o));
    let o = bench(&["tables", "convert", "/dev/zero", "-o", s(&d.join("x.csv"))]);
    assert_ne!(o.status.code(), Some(0));
}
