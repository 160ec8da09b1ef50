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

use super::BadInput;
use crate::downlink::{Decoder, Event, Summary};
use crate::{hexio, locate};

/// Telemetry subcommands.
#[derive(Debug, Subcommand)]
// Parsed once per run: the size of a command-line variant does not matter.
#[allow(clippy::large_enum_variant)]
pub enum TmCmd {
    /// Decodes a recorded CADU stream (or a bare packet stream) into one JSON line per packet.
    ///
    /// Damaged frames and packets become JSON lines with an "error" field naming the layer and
    /// the stream offset; a summary (frames, packets, errors, gaps) goes to stderr. The exit
    /// code is 0 when everything decoded, 2 when anything was damaged.
    ///
    /// Examples:
    ///   eic-bench tm decode capture.cadu
    ///   eic-bench tm decode --layer packet --summary packets.bin
    ///   cat capture.cadu | eic-bench tm decode - | jq 'select(.service == 1)'
    #[command(verbatim_doc_comment)]
    Decode(DecodeArgs),
    /// Live decoded telemetry from a unit, every CADU archived first (--archive).
    ///
    /// Examples:
    ///   eic-bench tm listen /dev/pts/3
    ///   eic-bench tm listen /dev/ttyUSB0 --archive today.eica --json | jq 'select(.service == 5)'
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
        BadInput(format!("{}: cannot open ({e}); expected a CADU or packet file", path.display()))
    })?;
    Ok(Box::new(f))
}

fn decode(a: &DecodeArgs) -> anyhow::Result<ExitCode> {
    let mut input = open_input(&a.input)?;
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let print = !a.summary;
    let summary = match a.layer {
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
    Ok(if summary.damaged() { ExitCode::from(EXIT_DAMAGED_INPUT) } else { ExitCode::SUCCESS })
}

/// Exit status of `tm decode` when anything in the input was damaged (errors, octets outside
/// any CADU, a cut tail).
pub const EXIT_DAMAGED_INPUT: u8 = 2;

/// The JSON line for one TM packet, or for the error that stops it parsing.
fn packet_line(octets: &[u8], offset: u64, with_frame: Option<(u8, u32)>) -> (String, bool) {
    let mut v = match TmPacket::new_checked(octets)
        .map_err(tc_tm::Error::from)
        .and_then(|p| TmRepr::parse(&p).map_err(tc_tm::Error::from))
    {
        Ok(r) => json!({
            "apid": r.apid.value(),
            "seq_count": r.seq_count.value(),
            "service": r.service,
            "subtype": r.subtype,
            "msg_counter": r.msg_counter,
            "dest_id": r.dest_id,
            "time": r.time.as_secs_f64(),
            "source_data": hexio::format(r.source_data),
        }),
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
    (v.to_string(), ok)
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
                    let unit = tc_tm::mission::CADU_LEN;
                    let mut v = json!({
                        "error": locate::describe(&error, offset, unit),
                        "layer": error.layer(),
                        "offset": offset + locate::offset_of(&error, unit) as u64,
                    });
                    if let Some(vc) = vcid {
                        v["vcid"] = json!(vc);
                    }
                    v.to_string()
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
            let at = s.octets.saturating_sub(tail);
            let v = json!({
                "error": format!("the input ends inside a CADU: {tail} octets after the last complete one"),
                "layer": "cadu",
                "offset": at,
            });
            writeln!(out, "{v}")?;
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
