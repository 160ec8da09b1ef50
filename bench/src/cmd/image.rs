//! `eic-bench image build PAYLOAD --version X.Y.Z -o IMAGE` and `eic-bench image inspect
//! IMAGE`: software images for the application banks.
//!
//! Both use the unit's own code, `onboard::image`: `build` writes the header with
//! [`onboard::image::build`] and `inspect` checks a file with [`onboard::image::check`], the
//! function the boot logic runs on a bank. There is no second, host-only description of the
//! format to drift from the one the unit runs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Subcommand;
use onboard::image::{self, ImageError, ImageInfo, SwVersion};
use onboard::limits::BANK_LEN;
use serde_json::json;

use super::BadInput;

/// Image subcommands.
#[derive(Debug, Subcommand)]
pub enum ImageCmd {
    /// Writes a software image: the 32-octet header of the unit's image format (magic, format
    /// 1, version, payload length and CRC-32, header CRC-32) followed by PAYLOAD.
    ///
    /// Refuses a payload that would not fit in a 256 KiB bank. The image written is checked
    /// again with the unit's parser before the command succeeds.
    ///
    /// Examples:
    ///   eic-bench image build examples/images/app-1.1.0.bin --version 1.1.0+7 -o ugts-1.1.0.img --json
    ///   eic-bench image build examples/images/app-1.1.0.bin --version 1.1.0 -o ugts-1.1.0.img
    #[command(verbatim_doc_comment, disable_version_flag = true)]
    Build {
        /// The application binary (any octets).
        payload: PathBuf,
        /// Software version: MAJOR.MINOR.PATCH, optionally +BUILD (each 0..=255).
        #[arg(long, value_parser = parse_version)]
        version: SwVersion,
        /// Image file to write.
        #[arg(long, short)]
        output: PathBuf,
        /// Print the image summary as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Checks an image file with the parser the unit's boot logic runs (`onboard::image`):
    /// magic, header CRC, format, reserved fields, payload length and CRC, and that it fits in
    /// a bank. Prints version, lengths and CRCs; exits with 2 if the image is not valid.
    ///
    /// Examples:
    ///   eic-bench image inspect ugts-1.1.0.img
    ///   eic-bench image inspect ugts-1.1.0.img --json | jq .version
    ///   eic-bench image inspect examples/images/app-1.1.0.bin   # not an image: exit 2
    #[command(verbatim_doc_comment)]
    Inspect {
        /// The image file.
        image: PathBuf,
        /// Print the result as one JSON object (`valid`, `error`, version, lengths, CRCs).
        #[arg(long)]
        json: bool,
    },
}

/// Parses `MAJOR.MINOR.PATCH` or `MAJOR.MINOR.PATCH+BUILD` (each part 0..=255).
///
/// # Errors
/// A message naming the part at fault.
pub fn parse_version(s: &str) -> Result<SwVersion, String> {
    let (main, build) = match s.split_once('+') {
        Some((m, b)) => (m, Some(b)),
        None => (s, None),
    };
    let part = |name: &str, v: &str| -> Result<u8, String> {
        v.parse::<u8>().map_err(|_| format!("version {s:?}: {name} {v:?} is not a number 0..=255"))
    };
    let parts: Vec<&str> = main.split('.').collect();
    let [ma, mi, pa] = parts.as_slice() else {
        return Err(format!("version {s:?}: expected MAJOR.MINOR.PATCH[+BUILD], e.g. 1.2.0"));
    };
    let build = match build {
        Some(b) => part("build", b)?,
        None => 0,
    };
    Ok(SwVersion::new(part("major", ma)?, part("minor", mi)?, part("patch", pa)?, build))
}

/// Builds an image of `payload`, refusing one larger than a bank.
///
/// # Errors
/// A payload that does not fit in a bank of [`BANK_LEN`] octets.
pub fn build_image(payload: &[u8], version: SwVersion) -> Result<Vec<u8>, String> {
    let len = image::HEADER_LEN + payload.len();
    if len > BANK_LEN {
        return Err(format!(
            "a {}-octet payload makes a {len}-octet image; a bank holds {BANK_LEN} octets \
             (payload at most {})",
            payload.len(),
            BANK_LEN - image::HEADER_LEN
        ));
    }
    let mut out = vec![0u8; len];
    image::build(payload, version, &mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Why an image file is not loadable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InspectError {
    /// The unit's parser refuses it.
    Image(ImageError),
    /// The image is larger than a bank.
    TooLarge {
        /// Image length in octets.
        len: usize,
    },
    /// The file holds octets after the image (a bank would ignore them; a file meant for
    /// loading should not carry them).
    TrailingOctets {
        /// Image length declared by the header.
        image_len: usize,
        /// File length.
        file_len: usize,
    },
}

impl std::fmt::Display for InspectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InspectError::Image(e) => write!(f, "{e}"),
            InspectError::TooLarge { len } => {
                write!(f, "image of {len} octets does not fit in a {BANK_LEN}-octet bank")
            }
            InspectError::TrailingOctets { image_len, file_len } => write!(
                f,
                "file of {file_len} octets holds {} octets after the {image_len}-octet image",
                file_len - image_len
            ),
        }
    }
}

impl std::error::Error for InspectError {}

/// Checks an image file's content as the unit would check a bank holding it, plus the two
/// file-level rules (fits in a bank, nothing after the image).
///
/// # Errors
/// [`InspectError`].
pub fn inspect(bytes: &[u8]) -> Result<ImageInfo, InspectError> {
    let info = image::check(bytes).map_err(InspectError::Image)?;
    let image_len = info.image_len();
    if image_len > BANK_LEN {
        return Err(InspectError::TooLarge { len: image_len });
    }
    if bytes.len() != image_len {
        return Err(InspectError::TrailingOctets { image_len, file_len: bytes.len() });
    }
    Ok(info)
}

/// Reads an image file and checks it ([`inspect`]).
///
/// # Errors
/// Unreadable file (exit 1), invalid image ([`BadInput`], exit 2).
pub fn load_checked(path: &Path) -> anyhow::Result<(Vec<u8>, ImageInfo)> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let info = inspect(&bytes)
        .map_err(|e| BadInput(format!("{}: not a valid software image: {e}", path.display())))?;
    Ok((bytes, info))
}

fn info_json(path: &Path, bytes: &[u8], info: &ImageInfo) -> serde_json::Value {
    json!({
        "file": path.display().to_string(),
        "valid": true,
        "version": info.sw_version.to_string(),
        "image_len": info.image_len(),
        "payload_len": info.payload_len,
        "payload_crc32": format!("0x{:08X}", info.payload_crc),
        "image_crc32": format!("0x{:08X}", tc_tm::crc::crc32(bytes)),
    })
}

fn print_info(path: &Path, bytes: &[u8], info: &ImageInfo) {
    println!("{}: valid software image", path.display());
    println!("  version      {}", info.sw_version);
    println!("  image        {} octets (header {} + payload)", info.image_len(), image::HEADER_LEN);
    println!("  payload      {} octets, CRC-32 0x{:08X}", info.payload_len, info.payload_crc);
    println!(
        "  image CRC-32 0x{:08X} (whole file, as ST[06] check reports it)",
        tc_tm::crc::crc32(bytes)
    );
}

/// Runs an `image` subcommand.
///
/// # Errors
/// Unreadable or unwritable files (exit 1); a payload too large or an invalid image (exit 2).
pub fn run(cmd: ImageCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        ImageCmd::Build { payload, version, output, json } => {
            let data = std::fs::read(&payload)
                .with_context(|| format!("reading {}", payload.display()))?;
            let img = build_image(&data, version).map_err(BadInput)?;
            // The unit's parser has the last word on what was written.
            let info = inspect(&img).context("the image just built does not check")?;
            std::fs::write(&output, &img)
                .with_context(|| format!("writing {}", output.display()))?;
            if json {
                println!("{}", info_json(&output, &img, &info));
            } else {
                print_info(&output, &img, &info);
            }
            Ok(ExitCode::SUCCESS)
        }
        ImageCmd::Inspect { image: path, json } => {
            let bytes =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            match inspect(&bytes) {
                Ok(info) => {
                    if json {
                        println!("{}", info_json(&path, &bytes, &info));
                    } else {
                        print_info(&path, &bytes, &info);
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    if json {
                        let v = json!({"file": path.display().to_string(), "valid": false,
                            "error": e.to_string(), "file_len": bytes.len()});
                        println!("{v}");
                    } else {
                        println!("{}: NOT a valid software image: {e}", path.display());
                    }
                    Ok(ExitCode::from(2))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(parse_version("1.2.3"), Ok(SwVersion::new(1, 2, 3, 0)));
        assert_eq!(parse_version("1.2.3+9"), Ok(SwVersion::new(1, 2, 3, 9)));
        assert!(parse_version("1.2").unwrap_err().contains("MAJOR.MINOR.PATCH"));
        assert!(parse_version("1.256.0").unwrap_err().contains("minor"));
        assert!(parse_version("1.2.3+x").unwrap_err().contains("build"));
        assert!(parse_version("1.2.3.4").is_err());
    }

    #[test]
    fn build_then_inspect() {
        let img = build_image(b"application", SwVersion::new(2, 0, 1, 0)).unwrap();
        let info = inspect(&img).unwrap();
        assert_eq!(info.sw_version.to_string(), "2.0.1+0");
        assert_eq!(info.payload_len, 11);
        assert_eq!(&img[..4], b"UGTS");
    }

    #[test]
    fn largest_payload_fits_one_more_does_not() {
        let max = BANK_LEN - image::HEADER_LEN;
        assert_eq!(build_image(&vec![7; max], SwVersion(1)).unwrap().len(), BANK_LEN);
        assert!(build_image(&vec![7; max + 1], SwVersion(1)).unwrap_err().contains("bank"));
    }

    #[test]
    fn inspect_refusals() {
        let img = build_image(b"abc", SwVersion(1)).unwrap();
        let mut long = img.clone();
        long.push(0);
        assert!(matches!(inspect(&long), Err(InspectError::TrailingOctets { .. })));
        let mut bad = img.clone();
        bad[33] ^= 1;
        assert!(matches!(
            inspect(&bad),
            Err(InspectError::Image(ImageError::BadPayloadCrc { .. }))
        ));
        assert!(matches!(
            inspect(&img[..20]),
            Err(InspectError::Image(ImageError::Truncated { .. }))
        ));
        assert!(matches!(inspect(&[0xFF; 64]), Err(InspectError::Image(ImageError::BadMagic(_)))));
    }
}
