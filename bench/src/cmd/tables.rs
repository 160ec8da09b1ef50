//! `eic-bench tables ...`: validate, show, diff, build images, convert text/FITS/binary forms.
//!
//! A table directory holds `pixels.csv`, `bands.toml`, `crt.toml`, `imt.toml`,
//! `catalog.toml`, `saa.toml` and `alert.toml` (see `docs/tables.md`). Every command runs the
//! same validator as the unit (`tables` crate).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Subcommand;
use serde_json::json;
use tables::set::{TableSet, file_name};
use tables::text::TextError;
use tables::{ImageHeader, Problem, TableId, defaults, diff, fits, image};

use super::BadInput;
use super::exit::Exit;

/// Table subcommands.
#[derive(Debug, Subcommand)]
pub enum TablesCmd {
    /// Checks a table directory with the same validator the unit runs.
    ///
    /// Prints every problem (table, entry, field, what is wrong) and exits with 2 if there is
    /// any, 0 if the set is valid.
    ///
    /// Examples:
    ///   eic-bench tables validate tables/defaults
    ///   eic-bench tables validate examples/workplan-tables --json | jq .valid
    #[command(verbatim_doc_comment)]
    Validate {
        /// Directory holding the table sources.
        dir: PathBuf,
        /// Print a JSON report (`valid`, `problems` with table, entry, field, codes, message).
        #[arg(long)]
        json: bool,
    },
    /// Summarises a table directory, or prints one table in its text form.
    ///
    /// Without --table: one line per table with ID, version, entries, image size and CRC-32.
    ///
    /// Examples:
    ///   eic-bench tables show tables/defaults
    ///   eic-bench tables show tables/defaults --table crt
    ///   eic-bench tables show tables/defaults --json
    #[command(verbatim_doc_comment)]
    Show {
        /// Directory holding the table sources.
        dir: PathBuf,
        /// One table: pixels, bands, crt, imt, catalog, saa or alert.
        #[arg(long, short, value_parser = parse_table)]
        table: Option<TableId>,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Compares two table directories, per table and per entry.
    ///
    /// Examples:
    ///   eic-bench tables diff tables/defaults examples/workplan-tables
    ///   eic-bench tables diff tables/defaults examples/workplan-tables --json
    #[command(verbatim_doc_comment)]
    Diff {
        /// The reference directory.
        a: PathBuf,
        /// The directory compared with it.
        b: PathBuf,
        /// Print JSON: {"tables": [{"table", "old_version", "new_version", "changes": [...]}]}.
        #[arg(long)]
        json: bool,
    },
    /// Validates a directory and writes the binary images plus a manifest.
    ///
    /// Writes `<table>.bin` (header + payload + CRC-32, as loaded by the table management service 200) for every table
    /// and `manifest.json` with IDs, format and table versions, lengths and CRC-32s. Refuses
    /// (exit 2) if the set has any problem.
    ///
    /// Example:
    ///   eic-bench tables build tables/defaults -o out/images
    #[command(verbatim_doc_comment)]
    Build {
        /// Directory holding the table sources.
        dir: PathBuf,
        /// Output directory for the images (created if needed).
        #[arg(long, short)]
        output: PathBuf,
    },
    /// Converts between the forms of a table, chosen by file extension.
    ///
    /// - `pixels.csv -o cal.fits`: the pixel calibration as CALDB FITS (DETNUM, GAIN, OFFSET).
    /// - `cal.fits -o pixels.csv [--base pixels.csv]`: gains and offsets from FITS; status,
    ///   thresholds, efficiencies and version from --base (nominal values and version 1 without).
    /// - `crt.bin -o crt.toml` (or `pixels.bin -o pixels.csv`): decode a binary image, e.g. a
    ///   table dump, into its text form.
    ///
    /// Examples:
    ///   eic-bench tables convert tables/defaults/pixels.csv -o cal.fits
    ///   eic-bench tables convert cal.fits --base tables/defaults/pixels.csv -o pixels.csv
    ///   eic-bench tables convert out/images/crt.bin -o crt.toml
    #[command(verbatim_doc_comment)]
    Convert {
        /// Input file (.csv, .fits or .bin).
        input: PathBuf,
        /// Output file (.fits, .csv or .toml).
        #[arg(long, short)]
        output: PathBuf,
        /// Pixel table CSV giving the values FITS does not carry.
        #[arg(long)]
        base: Option<PathBuf>,
    },
    /// Dumps every active table of the unit and writes them as a table directory.
    ///
    /// Reads the table directory (service 200), dumps each active table (segments
    /// reassembled, CRC-32 checked against the directory), decodes it with the unit's own
    /// table codec and writes the text form (pixels.csv, bands.toml, ...), then prints ID,
    /// version, CRC and size per table. DEVICE `twin` uses the embedded twin (see the DEVICE
    /// argument below).
    ///
    /// Examples:
    ///   eic-bench tables pull /dev/ttyUSB0
    ///   eic-bench tables pull twin -o on-board --json
    #[command(verbatim_doc_comment)]
    Pull(super::tables_unit::PullArgs),
    /// Makes a table directory the unit's active tables, changing only what differs.
    ///
    /// Validates DIR with the unit's validator, pulls the unit's tables, shows the diff and
    /// asks for confirmation (--yes to skip; without a terminal --yes is required). Then, in
    /// maintenance mode, for each table that differs: load segments (990 octets each),
    /// validate with the expected CRC-32, activate (bands before the CRT, IMT and catalogue
    /// tables that depend on them), each TC verified through its completion report (1,7);
    /// then the mode the unit was in is restored (table loads exist only in maintenance mode,
    /// which is entered from safe; the command says both modes before it asks) and the unit
    /// is pulled again to confirm it holds DIR. On a refusal the loads not yet activated are
    /// aborted and the unit's reason is explained. The diff names entries as the tables do,
    /// e.g. a CRT threshold as `timescale 0 (10 ms), RATE_SNR`.
    ///
    /// Examples:
    ///   eic-bench tables push twin examples/workplan-tables --yes
    ///   eic-bench tables push /dev/ttyUSB0 tables/defaults --dry-run
    ///   eic-bench tables push /dev/ttyUSB0 tables/defaults --yes --json
    #[command(verbatim_doc_comment)]
    Push(super::tables_unit::PushArgs),
    /// Writes the default table set (nominal calibration with a seeded per-pixel spread).
    ///
    /// Example:
    ///   eic-bench tables defaults -o my-set
    #[command(verbatim_doc_comment)]
    Defaults {
        /// Output directory (created if needed).
        #[arg(long, short)]
        output: PathBuf,
        /// Generator seed (the committed `tables/defaults/` uses the default).
        #[arg(long, default_value_t = defaults::DEFAULT_SEED)]
        seed: u64,
    },
}

fn parse_table(s: &str) -> Result<TableId, String> {
    TableId::from_key(s).ok_or_else(|| {
        let keys: Vec<&str> = TableId::ALL.iter().map(|t| t.key()).collect();
        format!("unknown table {s:?}, expected one of {}", keys.join(", "))
    })
}

fn bad(e: TextError) -> anyhow::Error {
    BadInput(e.to_string()).into()
}

fn load(dir: &Path) -> anyhow::Result<TableSet> {
    if !dir.is_dir() {
        return Err(missing_dir(dir));
    }
    TableSet::load_dir(dir).map_err(bad)
}

/// A table directory that is not there: the command cannot run (exit 3), it is not damaged data.
pub(crate) fn missing_dir(dir: &Path) -> anyhow::Error {
    Exit::Usage.error(format!(
        "{}: no such directory (a table directory holds pixels.csv, bands.toml, crt.toml, \
         imt.toml, catalog.toml, saa.toml and alert.toml; `eic-bench tables defaults -o DIR` \
         writes one)",
        dir.display()
    ))
}

/// An input file that cannot be read: exit 3.
fn unreadable(shown: &str, e: &std::io::Error) -> anyhow::Error {
    Exit::Usage.error(format!("{shown}: cannot read: {e}"))
}

/// The JSON object of one validator problem, as `tables validate --json` lists it.
pub fn problem_json(p: &Problem) -> serde_json::Value {
    json!({
        "table": p.table.key(),
        "entry": p.entry,
        "field": p.field.name(),
        "field_code": p.field as u8,
        "kind_code": p.kind.code(),
        "compact": hex::encode(p.to_bytes()),
        "message": p.to_string(),
    })
}

fn entries(set: &TableSet, id: TableId) -> usize {
    match id {
        TableId::Pixels => set.pixels.entries.len(),
        TableId::Bands => set.bands.bands.len(),
        TableId::Crt => set.crt.timescales.len(),
        TableId::Imt => set.imt.accumulations.len(),
        TableId::Catalog => set.catalog.sources.len(),
        TableId::Saa => set.saa.vertices.len(),
        TableId::Alert => 1,
    }
}

/// Runs a table subcommand.
///
/// # Errors
/// [`BadInput`] for invalid tables (exit 2), missing directories or files (exit 3), other
/// failures with context; see [`super::exit::Exit`].
pub fn run(cmd: TablesCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        TablesCmd::Validate { dir, json } => validate(&dir, json),
        TablesCmd::Show { dir, table, json } => show(&dir, table, json),
        TablesCmd::Diff { a, b, json } => {
            let (sa, sb) = (load(&a)?, load(&b)?);
            let d = diff::diff(&sa, &sb);
            if json {
                println!("{}", serde_json::to_string_pretty(&diff::to_json(&d))?);
            } else {
                print!("{}", diff::to_text(&d));
            }
            Ok(ExitCode::SUCCESS)
        }
        TablesCmd::Build { dir, output } => build(&dir, &output),
        TablesCmd::Pull(a) => super::tables_unit::pull(&a),
        TablesCmd::Push(a) => super::tables_unit::push(&a),
        TablesCmd::Convert { input, output, base } => convert(&input, &output, base.as_deref()),
        TablesCmd::Defaults { output, seed } => {
            defaults::generate(seed)
                .save_dir(&output)
                .with_context(|| format!("writing {}", output.display()))?;
            println!("wrote the default table set (seed {seed:#x}) to {}", output.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn validate(dir: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let set = load(dir)?;
    let problems = set.problems();
    if json {
        let list: Vec<_> = problems.iter().map(problem_json).collect();
        let report = json!({ "dir": dir.display().to_string(), "valid": problems.is_empty(), "problems": list });
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(if problems.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(2) });
    }
    for p in &problems {
        println!("{}: {p}", dir.join(file_name(p.table)).display());
    }
    if problems.is_empty() {
        println!("{}: valid ({} tables)", dir.display(), TableId::ALL.len());
        Ok(ExitCode::SUCCESS)
    } else {
        let n = problems.len();
        Err(BadInput(format!("{}: {n} problem{}", dir.display(), if n == 1 { "" } else { "s" }))
            .into())
    }
}

fn show(dir: &Path, table: Option<TableId>, json: bool) -> anyhow::Result<ExitCode> {
    let set = load(dir)?;
    if let Some(id) = table {
        print!("{}", set.to_text(id));
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = Vec::new();
    for id in TableId::ALL {
        let img = set.image(id).context("encoding image")?;
        let mut problems = 0usize;
        set.validate_table(id, &mut |_| problems += 1);
        rows.push((id, img.len(), tc_tm::crc::crc32(&img), problems));
    }
    if json {
        let list: Vec<_> = rows
            .iter()
            .map(|&(id, len, crc, problems)| {
                json!({
                    "table": id.key(), "id": id as u8, "version": set.version(id),
                    "entries": entries(&set, id), "image_len": len,
                    "image_crc32": format!("0x{crc:08X}"), "problems": problems,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&json!({ "tables": list }))?);
    } else {
        println!(
            "{:<4} {:<8} {:>7} {:>7} {:>9} {:>10}  {:>8}",
            "ID", "TABLE", "VERSION", "ENTRIES", "IMAGE", "IMAGE CRC", "PROBLEMS"
        );
        for (id, len, crc, problems) in rows {
            println!(
                "0x{:02X} {:<8} {:>7} {:>7} {:>9} 0x{crc:08X}  {:>8}",
                id as u8,
                id.key(),
                set.version(id),
                entries(&set, id),
                len,
                problems
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn build(dir: &Path, output: &Path) -> anyhow::Result<ExitCode> {
    let set = load(dir)?;
    let problems = set.problems();
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("{}: {p}", dir.join(file_name(p.table)).display());
        }
        return Err(BadInput(format!(
            "{}: {}, no image written",
            dir.display(),
            super::count(problems.len(), "problem")
        ))
        .into());
    }
    // Atomic: everything is written into a temporary directory beside the target, which then
    // replaces it; an error midway leaves the previous build whole (never new images beside
    // an old manifest).
    let parent = output.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let name = output.file_name().map_or("build".into(), |n| n.to_string_lossy().into_owned());
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{name}.tmp-"))
        .tempdir_in(parent)
        .with_context(|| format!("creating a temporary directory in {}", parent.display()))?;
    let final_output = output;
    let output = staging.path();
    let mut manifest = Vec::new();
    for id in TableId::ALL {
        let img = set.image(id).context("encoding image")?;
        let header = ImageHeader::parse(&img).context("reading back the header")?;
        let crc = tc_tm::crc::crc32(&img[..img.len() - image::CRC_LEN]);
        let file = format!("{}.bin", id.key());
        let path = output.join(&file);
        std::fs::write(&path, &img).with_context(|| format!("writing {}", path.display()))?;
        println!(
            "{:<13} ID 0x{:02X} version {:>5} {:>7} octets CRC-32 0x{crc:08X}",
            file,
            id as u8,
            header.table_version,
            img.len()
        );
        manifest.push(json!({
            "table": id.key(), "id": id as u8, "file": file,
            "format_version": header.format_version, "table_version": header.table_version,
            "payload_len": header.payload_len, "image_len": img.len(),
            "crc32": format!("0x{crc:08X}"),
        }));
    }
    let path = output.join("manifest.json");
    let text = serde_json::to_string_pretty(
        &json!({ "source": dir.display().to_string(), "images": manifest }),
    )?;
    std::fs::write(&path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
    for f in std::fs::read_dir(output)? {
        std::fs::File::open(f?.path())?.sync_all()?;
    }
    replace_dir(staging.keep(), final_output)?;
    println!("manifest: {}", final_output.join("manifest.json").display());
    Ok(ExitCode::SUCCESS)
}

/// Moves the finished `staging` directory to `target`: a previous `target` is renamed aside
/// first and removed after, so `target` is always either the whole old build or the whole new
/// one.
fn replace_dir(staging: std::path::PathBuf, target: &Path) -> anyhow::Result<()> {
    let aside = target.with_file_name(format!(
        ".{}.old-{}",
        target.file_name().map_or("build".into(), |n| n.to_string_lossy().into_owned()),
        std::process::id()
    ));
    let had_old = target.exists();
    if had_old {
        std::fs::rename(target, &aside)
            .with_context(|| format!("moving the previous {} aside", target.display()))?;
    }
    if let Err(e) = std::fs::rename(&staging, target) {
        if had_old {
            let _ = std::fs::rename(&aside, target);
        }
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e).with_context(|| format!("moving the new build to {}", target.display()));
    }
    if had_old {
        let _ = std::fs::remove_dir_all(&aside);
    }
    Ok(())
}

fn ext(p: &Path) -> String {
    p.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase()
}

fn read_text(p: &Path) -> anyhow::Result<String> {
    tables::set::read_text_bounded(p, tables::set::MAX_TEXT_FILE_LEN)
        .map_err(|e| unreadable(&p.display().to_string(), &e))
}

/// Largest binary input read (a FITS calibration file, a table image): 64 MiB.
const MAX_BINARY_FILE_LEN: u64 = 64 << 20;

/// Reads a binary input of at most [`MAX_BINARY_FILE_LEN`] octets (a file of endless length,
/// such as a link to `/dev/zero`, is refused with a clear error).
fn read_binary(p: &Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    let shown = p.display();
    let f = std::fs::File::open(p).map_err(|e| unreadable(&shown.to_string(), &e))?;
    let mut v = Vec::new();
    f.take(MAX_BINARY_FILE_LEN + 1)
        .read_to_end(&mut v)
        .map_err(|e| unreadable(&shown.to_string(), &e))?;
    if v.len() as u64 > MAX_BINARY_FILE_LEN {
        return Err(BadInput(format!(
            "{shown}: larger than {MAX_BINARY_FILE_LEN} octets: not a table image or FITS file"
        ))
        .into());
    }
    Ok(v)
}

fn convert(input: &Path, output: &Path, base: Option<&Path>) -> anyhow::Result<ExitCode> {
    let shown = input.display().to_string();
    let out_shown = output.display().to_string();
    match (ext(input).as_str(), ext(output).as_str()) {
        ("csv", "fits" | "fit") => {
            let t = tables::text::pixels_from_csv(&shown, &read_text(input)?).map_err(bad)?;
            std::fs::write(output, fits::write_calibration(&t))
                .with_context(|| format!("writing {out_shown}"))?;
        }
        ("fits" | "fit", "csv") => {
            let bytes = read_binary(input)?;
            let mut t = match base {
                Some(b) => tables::text::pixels_from_csv(&b.display().to_string(), &read_text(b)?)
                    .map_err(bad)?,
                None => {
                    let mut t = Box::<tables::PixelTable>::default();
                    t.version = 1;
                    t
                }
            };
            fits::apply_calibration(&shown, &bytes, &mut t).map_err(bad)?;
            std::fs::write(output, tables::text::pixels_to_csv(&t))
                .with_context(|| format!("writing {out_shown}"))?;
        }
        ("bin", "csv" | "toml") => {
            let bytes = read_binary(input)?;
            let header =
                ImageHeader::parse(&bytes).map_err(|e| BadInput(format!("{shown}: {e}")))?;
            let mut set = defaults::generate(0);
            let decoded: Result<(), image::Error> = (|| {
                match header.table {
                    TableId::Pixels => set.pixels.load_image(&bytes)?,
                    TableId::Bands => set.bands = image::parse(&bytes)?,
                    TableId::Crt => set.crt = image::parse(&bytes)?,
                    TableId::Imt => set.imt = image::parse(&bytes)?,
                    TableId::Catalog => set.catalog = image::parse(&bytes)?,
                    TableId::Saa => set.saa = image::parse(&bytes)?,
                    TableId::Alert => set.alert = image::parse(&bytes)?,
                }
                Ok(())
            })();
            decoded.map_err(|e| BadInput(format!("{shown}: {e}")))?;
            let want = if header.table == TableId::Pixels { "csv" } else { "toml" };
            if ext(output) != want {
                return Err(BadInput(format!(
                    "{out_shown}: a {} table image converts to .{want}",
                    header.table.key()
                ))
                .into());
            }
            std::fs::write(output, set.to_text(header.table))
                .with_context(|| format!("writing {out_shown}"))?;
        }
        (i, o) => {
            return Err(BadInput(format!(
                "cannot convert .{i} to .{o}: expected .csv -> .fits, .fits -> .csv or .bin -> .csv/.toml"
            ))
            .into());
        }
    }
    println!("wrote {out_shown}");
    Ok(ExitCode::SUCCESS)
}
