//! `eic-bench tm decode`: the scripting interface to the downlink codec.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;
use tc_tm::pus::{TmPacket, TmRepr};
use tc_tm::spp;

use super::exit::Exit;
use crate::downlink::{Decoder, Event, Summary};
use crate::locate;

/// Telemetry subcommands.
#[derive(Debug, Subcommand)]
// Parsed once per run: the size of a command-line variant does not matter.
#[allow(clippy::large_enum_variant)]
pub enum TmCmd {
    /// Decodes recorded telemetry into one JSON line per packet: the decoded report and its
    /// text line, as `tm listen --json` prints them, plus the frame it came in.
    ///
    /// The input is a CADU stream as on the serial downlink (e.g. `cat` of the port), or an
    /// archive the bench wrote with --archive (`tm listen`, `tc send`, `hk`, `tables`), read
    /// record by record (a damaged or torn record counts as an error). Exit 2 if anything was
    /// damaged: errors, octets outside any CADU, a cut tail.
    /// `--layer packet` reads bare concatenated TM packets. To record a capture (the one in
    /// examples/ was made so, on a fresh twin state):
    ///   eic-bench tc send twin --archive capture.eica param get id=sw_version,hk_period_ms
    ///   eic-bench tm listen twin --count 20 --archive capture.eica
    ///
    /// Damaged frames and packets become JSON lines with an "error" field naming the layer and
    /// the stream offset; a summary (frames, packets, errors, gaps) goes to stderr. The exit
    /// code is 0 when everything decoded, 2 when anything was damaged, 3 when the input cannot
    /// be read.
    ///
    /// Examples:
    ///   eic-bench tm decode examples/capture.eica
    ///   eic-bench tm decode --summary examples/capture.eica
    ///   cat examples/capture.eica | eic-bench tm decode - | jq -r 'select(.service == 1) | .text'
    #[command(verbatim_doc_comment)]
    Decode(DecodeArgs),
    /// Live decoded telemetry from a unit, one line per packet, every CADU archived first
    /// (--archive). Runs until --count, --duration-s, Ctrl-C or SIGTERM, then prints a summary
    /// (packets, duration, frames, errors, gaps) on stderr.
    ///
    /// Examples:
    ///   eic-bench tm listen twin --count 3
    ///   eic-bench tm listen /dev/ttyUSB0 --archive today.eica --json --count 5 | jq -r .text
    #[command(verbatim_doc_comment)]
    Listen(super::tm_listen::ListenArgs),
}

/// What the input holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Layer {
    /// CADUs: ASM + randomised 1115-octet AOS frames, as on the serial downlink.
    Cadu,
    /// Concatenated PUS-C TM space packets.
    Packet,
}

/// Arguments of `tm decode`.
#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// Input file, or `-` for standard input.
    pub input: PathBuf,
    /// What the input holds.
    #[arg(long, value_enum, default_value_t = Layer::Cadu)]
    pub layer: Layer,
    /// Decode and check everything but print only the summary (as JSON on stdout).
    #[arg(long)]
    pub summary: bool,
}

/// Runs a TM subcommand.
///
/// # Errors
/// I/O failures; damaged input is reported in the output and the exit code.
pub fn run(cmd: TmCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        TmCmd::Decode(a) => decode(&a),
        TmCmd::Listen(a) => super::tm_listen::run(&a),
    }
}

fn open_input(path: &PathBuf) -> anyhow::Result<Box<dyn Read>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(io::stdin().lock()));
    }
    let f = File::open(path).map_err(|e| {
        Exit::Usage
            .error(format!("{}: cannot open ({e}); expected a CADU or packet file", path.display()))
    })?;
    Ok(Box::new(f))
}

/// The CADUs of an archive the bench wrote, as one stream: the record framing (headers,
/// CRC trailers) is the archive's, not damage of the telemetry; damaged or torn records are
/// counted.
pub struct ArchiveCadus<R: Read> {
    records: crate::archive::ArchiveReader<R>,
    cur: Vec<u8>,
    pos: usize,
    damaged: u64,
}

impl<R: Read> ArchiveCadus<R> {
    /// The CADU stream of the archive read from `src`.
    pub fn new(src: R) -> Self {
        ArchiveCadus {
            records: crate::archive::ArchiveReader::new(src),
            cur: Vec::new(),
            pos: 0,
            damaged: 0,
        }
    }

    /// Damaged or torn records skipped so far.
    pub fn damaged(&self) -> u64 {
        self.damaged
    }
}

impl<R: Read> Read for ArchiveCadus<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.cur.len() {
            match self.records.next() {
                None => return Ok(0),
                Some(Ok(r)) if r.kind == crate::archive::RecordKind::Cadu => {
                    self.cur = r.octets;
                    self.pos = 0;
                }
                Some(Ok(_)) => {}
                Some(Err(crate::archive::Error::Io { context, kind, detail })) => {
                    return Err(io::Error::new(kind, format!("{context}: {detail}")));
                }
                Some(Err(_)) => self.damaged += 1,
            }
        }
        let rest = self.cur.get(self.pos..).unwrap_or_default();
        let n = rest.len().min(buf.len());
        buf.get_mut(..n).unwrap_or_default().copy_from_slice(rest.get(..n).unwrap_or_default());
        self.pos += n;
        Ok(n)
    }
}

fn decode(a: &DecodeArgs) -> anyhow::Result<ExitCode> {
    let mut input = io::BufReader::with_capacity(1 << 16, open_input(&a.input)?);
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let print = !a.summary;
    let is_archive = io::BufRead::fill_buf(&mut input)
        .context("reading the input")?
        .starts_with(&crate::archive::SYNC);
    let summary = match a.layer {
        Layer::Cadu if is_archive => {
            let mut cadus = ArchiveCadus::new(input);
            let mut s = decode_cadus(&mut cadus, &mut out, print)?;
            s.errors += cadus.damaged;
            s
        }
        Layer::Cadu => decode_cadus(&mut input, &mut out, print)?,
        Layer::Packet => decode_packets(&mut input, &mut out, print)?,
    };
    let line = serde_json::to_string(&summary)?;
    if a.summary {
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    eprintln!(
        "summary: {} octets, {} frames ({} bad, {} idle), {} packets, {} errors, {} gaps",
        summary.octets,
        summary.frames,
        summary.bad_frames,
        summary.idle_frames,
        summary.packets,
        summary.errors,
        summary.gaps
    );
    Ok(if summary.damaged() { Exit::Invalid } else { Exit::Ok }.into())
}

/// Exit status of `tm decode` when anything in the input was damaged (errors, octets outside
/// any CADU, a cut tail).
pub const EXIT_DAMAGED_INPUT: u8 = 2;

/// The JSON line for one TM packet, or for the error that stops it parsing.
fn packet_line(octets: &[u8], offset: u64, with_frame: Option<(u8, u32)>) -> (String, bool) {
    let (v, ok) = packet_value(octets, offset, with_frame);
    (v.to_string(), ok)
}

/// The JSON object of one TM packet as `tm decode` prints it (with `vcid` and `frame_count`
/// when it came in a frame), or of the error that stops it parsing; and whether it decoded.
pub fn packet_value(
    octets: &[u8],
    offset: u64,
    with_frame: Option<(u8, u32)>,
) -> (serde_json::Value, bool) {
    let mut v = match TmPacket::new_checked(octets)
        .map_err(tc_tm::Error::from)
        .and_then(|p| TmRepr::parse(&p).map_err(tc_tm::Error::from))
    {
        Ok(r) => serde_json::Value::Object(crate::report::packet_record(&r)),
        // One offset per error: where the error is (the text says the same).
        Err(e) => json!({
            "error": locate::describe(&e, offset, octets.len()),
            "layer": e.layer(),
            "offset": offset + locate::offset_of(&e, octets.len()) as u64,
        }),
    };
    let ok = v.get("error").is_none();
    if let Some((vcid, frame_count)) = with_frame {
        v["vcid"] = json!(vcid);
        v["frame_count"] = json!(frame_count);
    }
    (v, ok)
}

/// The JSON object `tm decode` prints for a damaged frame or a reassembly error of the CADU
/// at stream offset `offset`.
pub fn frame_error_value(error: &tc_tm::Error, offset: u64, vcid: Option<u8>) -> serde_json::Value {
    let unit = tc_tm::mission::CADU_LEN;
    let mut v = json!({
        "error": locate::describe(error, offset, unit),
        "layer": error.layer(),
        "offset": offset + locate::offset_of(error, unit) as u64,
    });
    if let Some(vc) = vcid {
        v["vcid"] = json!(vc);
    }
    v
}

/// The JSON object `tm decode` prints when the input ends inside a CADU (`tail` octets after
/// the last whole one, the input `octets` long).
pub fn cut_tail_value(tail: u64, octets: u64) -> serde_json::Value {
    json!({
        "error": format!("the input ends inside a CADU: {tail} octets after the last complete one"),
        "layer": "cadu",
        "offset": octets.saturating_sub(tail),
    })
}

fn decode_cadus(input: &mut dyn Read, out: &mut dyn Write, print: bool) -> anyhow::Result<Summary> {
    let mut decoder = Decoder::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut io_err = None;
    let mut bad_packets = 0u64;
    loop {
        let n = input.read(&mut buf).context("reading the input")?;
        if n == 0 {
            break;
        }
        let chunk = buf.get(..n).unwrap_or_default();
        decoder.push(chunk, |ev| {
            let line = match ev {
                Event::Packet { vcid, frame_count, offset, octets } => {
                    // Checking the PEC is part of decoding, even when only the summary prints.
                    let (line, ok) = if print {
                        packet_line(octets, offset, Some((vcid, frame_count)))
                    } else {
                        (
                            String::new(),
                            TmPacket::new_checked(octets).is_ok_and(|p| TmRepr::parse(&p).is_ok()),
                        )
                    };
                    if !ok {
                        bad_packets += 1;
                    }
                    line
                }
                Event::Error { offset, vcid, error } => {
                    frame_error_value(&error, offset, vcid).to_string()
                }
                Event::Frame { .. } => return,
            };
            if print
                && io_err.is_none()
                && let Err(e) = writeln!(out, "{line}")
            {
                io_err = Some(e);
            }
        });
        if let Some(e) = io_err.take() {
            return Err(e).context("writing the output");
        }
    }
    decoder.count_packet_errors(bad_packets);
    let mut s = decoder.summary();
    let tail = decoder.pending_octets() as u64;
    if tail > 0 {
        s.trailing_octets = tail;
        s.errors += 1;
        if print {
            writeln!(out, "{}", cut_tail_value(tail, s.octets))?;
        }
    }
    Ok(s)
}

fn decode_packets(
    input: &mut dyn Read,
    out: &mut dyn Write,
    print: bool,
) -> anyhow::Result<Summary> {
    // Streaming: at most one packet (≤ 65 542 octets) plus one read is held.
    let mut s = Summary::default();
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 17);
    let mut chunk = vec![0u8; 1 << 16];
    let mut base = 0u64; // stream offset of buf[0]
    let mut eof = false;
    loop {
        // Decode every whole packet in the buffer.
        let mut pos = 0usize;
        loop {
            let rest = buf.get(pos..).unwrap_or_default();
            if rest.is_empty() {
                break;
            }
            let Some(len) = spp::packet_len(rest).filter(|&l| l <= rest.len()) else {
                if !eof {
                    break; // wait for more octets
                }
                s.errors += 1;
                s.trailing_octets = rest.len() as u64;
                let e: tc_tm::Error = spp::Error::Truncated {
                    found: rest.len(),
                    expected: spp::packet_len(rest).unwrap_or(spp::HEADER_LEN),
                }
                .into();
                if print {
                    let at = base + pos as u64;
                    let v = json!({"error": locate::describe(&e, at, rest.len()), "layer": e.layer(), "offset": at});
                    writeln!(out, "{v}")?;
                }
                pos = buf.len();
                break;
            };
            let octets = rest.get(..len).unwrap_or_default();
            let at = base + pos as u64;
            if print {
                let (line, ok) = packet_line(octets, at, None);
                writeln!(out, "{line}")?;
                if ok { s.packets += 1 } else { s.errors += 1 }
            } else {
                let ok = TmPacket::new_checked(octets).is_ok_and(|p| TmRepr::parse(&p).is_ok());
                if ok { s.packets += 1 } else { s.errors += 1 }
            }
            pos += len;
        }
        buf.drain(..pos.min(buf.len()));
        base += pos as u64;
        if eof {
            break;
        }
        let n = input.read(&mut chunk).context("reading the input")?;
        if n == 0 {
            eof = true;
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        s.octets += n as u64;
    }
    Ok(s)
}
