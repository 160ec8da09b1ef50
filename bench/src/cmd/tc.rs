//! `eic-bench tc encode | decode`: the scripting interface to the uplink codec.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;
use tc_tm::pus::{AckFlags, TcPacket, TcRepr};
use tc_tm::spp::{Apid, SeqCount, SeqFlags};
use tc_tm::tc_frame::{self, Body, ControlCommand};
use tc_tm::{cltu, mission};

use super::BadInput;
use crate::{hexio, locate};

/// Telecommand subcommands.
#[derive(Debug, Subcommand)]
pub enum TcCmd {
    /// Encodes one PUS-C TC packet, optionally wrapped in a TC frame and a CLTU; prints hex.
    ///
    /// Give the request either as numbers (--service, --subtype, --app-data) or in the readable
    /// syntax of docs/icd/services.md (--request).
    ///
    /// Examples:
    ///   eic-bench tc encode --service 17 --subtype 1
    ///   eic-bench tc encode --request "function select-boot-bank bank=B" --layer cltu --frame-seq 4
    ///   eic-bench tc encode --service 6 --subtype 5 --app-data "01 00000100 0040"
    #[command(verbatim_doc_comment)]
    Encode(EncodeArgs),
    /// Decodes one packet, frame or CLTU given as hex; prints one JSON object.
    ///
    /// A wrong CRC, truncated input or bad field is an error on stderr naming the layer, the
    /// offset and the expected value, with exit code 2 (unless --allow-bad-crc).
    ///
    /// Examples:
    ///   eic-bench tc decode 1A40C0000006 29110100017655
    ///   eic-bench tc decode 1A40C0000006 2911010001FFFF        # wrong PEC: exit 2
    ///   eic-bench tc encode --service 17 --subtype 1 --layer cltu | eic-bench tc decode --layer cltu -
    #[command(verbatim_doc_comment)]
    Decode(DecodeArgs),
    /// Sends one TC to a unit and waits for its verification (exit 1 if the unit refuses it,
    /// with the failure code explained, or it did not execute; exit 4 if it does not answer or
    /// its outcome is in doubt: reports and status queries lost, it may have executed once or
    /// not at all — check before sending again). A lost report is resolved by asking the unit
    /// (17,128), never by guessing.
    ///
    /// Examples:
    ///   eic-bench tc send twin test are-you-alive
    ///   eic-bench tc send /dev/ttyUSB0 function arm target=select-boot-bank
    ///   eic-bench tc send /dev/ttyUSB0 function select-boot-bank bank=B
    ///   eic-bench tc send twin --json param get id=hk_period_ms
    #[command(verbatim_doc_comment, after_long_help = super::tc_requests::syntax_help())]
    Send(super::tc_send::SendArgs),
    /// Lists the request syntax of `tc send` and `tc encode --request` and every name a request
    /// can use: functions, arm targets, modes, memories, tables, events (with severity and
    /// auxiliary data), parameters (with type, unit, range, default and meaning).
    ///
    /// Examples:
    ///   eic-bench tc requests
    ///   eic-bench tc requests --json
    #[command(verbatim_doc_comment)]
    Requests(super::tc_requests::RequestsArgs),
}

/// Layers a TC can be encoded to or decoded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Layer {
    /// A PUS-C TC space packet (with its PEC).
    Packet,
    /// A TC transfer frame (header, segment header, packet, FECF).
    Frame,
    /// A CLTU (start sequence, BCH(63,56) code blocks, tail sequence).
    Cltu,
}

/// Arguments of `tc encode`.
#[derive(Debug, Args)]
pub struct EncodeArgs {
    /// PUS service type (e.g. 17 for test).
    #[arg(long, required_unless_present = "request", conflicts_with = "request")]
    pub service: Option<u8>,
    /// PUS message subtype (e.g. 1 for are-you-alive).
    #[arg(long, required_unless_present = "request", conflicts_with = "request")]
    pub subtype: Option<u8>,
    /// Application data as hex (spaces, ':' and 0x prefixes allowed).
    #[arg(long, value_name = "HEX", conflicts_with = "request")]
    pub app_data: Option<String>,
    /// The request in the readable syntax, e.g. "test are-you-alive" or "hk one-shot sid=1".
    #[arg(long, value_name = "TEXT")]
    pub request: Option<String>,
    /// APID (11 bits); default the UGTS application 0x240.
    #[arg(long, value_parser = parse_u16, default_value = "0x240")]
    pub apid: u16,
    /// Packet sequence count (14 bits).
    #[arg(long, value_parser = parse_u16, default_value = "0")]
    pub seq: u16,
    /// Acknowledgement flags (4 bits: 8 acceptance, 4 start, 2 progress, 1 completion).
    #[arg(long, value_parser = parse_u8, default_value = "0x9")]
    pub ack: u8,
    /// PUS source ID (the bench is 1).
    #[arg(long, value_parser = parse_u16, default_value = "1")]
    pub source_id: u16,
    /// Output layer.
    #[arg(long, value_enum, default_value_t = Layer::Packet)]
    pub layer: Layer,
    /// Frame sequence number N(S) (frame and CLTU layers).
    #[arg(long, value_parser = parse_u8, default_value = "0")]
    pub frame_seq: u8,
    /// Send as a type-BD frame (bypass flag set) instead of type-AD.
    #[arg(long)]
    pub bypass: bool,
    /// Apply the TC randomiser inside the CLTU (off by default, as on the link).
    #[arg(long)]
    pub randomise: bool,
}

/// Arguments of `tc decode`.
#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// Input layer.
    #[arg(long, value_enum, default_value_t = Layer::Packet)]
    pub layer: Layer,
    /// The CLTU was randomised (CLTU layer only).
    #[arg(long)]
    pub randomised: bool,
    /// Decode even when a CRC is wrong, reporting `"crc_ok": false` instead of failing.
    #[arg(long)]
    pub allow_bad_crc: bool,
    /// Hex octets, as one or several arguments; `-` reads them from standard input.
    #[arg(required = true, value_name = "HEX")]
    pub hex: Vec<String>,
}

fn parse_int(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let r = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        u64::from_str_radix(h, 16)
    } else {
        t.parse()
    };
    r.map_err(|_| format!("{s:?} is not a number (decimal, or hex with 0x)"))
}

fn parse_u16(s: &str) -> Result<u16, String> {
    let v = parse_int(s)?;
    u16::try_from(v).map_err(|_| format!("{v} does not fit 16 bits"))
}

fn parse_u8(s: &str) -> Result<u8, String> {
    let v = parse_int(s)?;
    u8::try_from(v).map_err(|_| format!("{v} does not fit 8 bits"))
}

/// Runs a TC subcommand.
///
/// # Errors
/// Bad input ([`BadInput`], exit code 2) or I/O failures.
pub fn run(cmd: TcCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        TcCmd::Send(a) => return super::tc_send::run(&a),
        TcCmd::Requests(a) => return super::tc_requests::run(&a),
        TcCmd::Encode(a) => {
            let bytes = encode(&a)?;
            println!("{}", hexio::format(&bytes));
        }
        TcCmd::Decode(a) => {
            let text = if a.hex.len() == 1 && a.hex[0] == "-" {
                // One TC in hex is a few kilo-octets; bound what is read (an endless input is
                // refused rather than read until memory runs out).
                use std::io::Read as _;
                const MAX_HEX_INPUT: u64 = 1 << 20;
                let mut t = String::new();
                std::io::stdin()
                    .take(MAX_HEX_INPUT + 1)
                    .read_to_string(&mut t)
                    .context("reading standard input")?;
                if t.len() as u64 > MAX_HEX_INPUT {
                    return Err(BadInput(format!(
                        "standard input is longer than {MAX_HEX_INPUT} octets: not one TC in hex"
                    ))
                    .into());
                }
                t
            } else {
                a.hex.join(" ")
            };
            let bytes = hexio::parse(&text).map_err(|e| BadInput(e.to_string()))?;
            let value = decode(&bytes, a.layer, a.randomised, a.allow_bad_crc)?;
            println!("{value}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Encodes a TC as the arguments say.
///
/// # Errors
/// [`BadInput`] for out-of-range fields or an oversized packet.
pub fn encode(a: &EncodeArgs) -> anyhow::Result<Vec<u8>> {
    let (service, subtype, app_data) = match (&a.request, a.service, a.subtype) {
        (Some(text), _, _) => {
            let mut buf = vec![0u8; mission::MAX_TC_PACKET_LEN];
            let (service, subtype, n) = tc_tm::service::text::parse_request(text, &mut buf)
                .map_err(|e| {
                    let names = super::tc_requests::names_hint(e.expected)
                        .map(|n| format!("; {n}"))
                        .unwrap_or_default();
                    BadInput(format!(
                        "--request {text:?}: {e}{names} (the syntax and every name: `eic-bench \
                         tc requests`)"
                    ))
                })?;
            buf.truncate(n);
            (service, subtype, buf)
        }
        (None, Some(service), Some(subtype)) => {
            let app_data = match &a.app_data {
                Some(h) => hexio::parse(h).map_err(|e| BadInput(format!("--app-data: {e}")))?,
                None => Vec::new(),
            };
            (service, subtype, app_data)
        }
        _ => {
            return Err(BadInput("give --service and --subtype, or --request".into()).into());
        }
    };
    let apid = Apid::new(a.apid)
        .ok_or_else(|| BadInput(format!("--apid {:#x}: above the 11-bit maximum 0x7FF", a.apid)))?;
    let seq_count = SeqCount::new(a.seq)
        .ok_or_else(|| BadInput(format!("--seq {}: above the 14-bit maximum 16383", a.seq)))?;
    let ack = AckFlags::new(a.ack)
        .ok_or_else(|| BadInput(format!("--ack {:#x}: above the 4-bit maximum 0xF", a.ack)))?;
    let repr = TcRepr {
        apid,
        seq_flags: SeqFlags::Unsegmented,
        seq_count,
        ack,
        service,
        subtype,
        source_id: a.source_id,
        app_data: &app_data,
    };
    let mut packet = vec![0u8; repr.buffer_len()];
    repr.emit(&mut packet).map_err(|e| BadInput(format!("pus: {e}")))?;
    tc_tm::pus::tc::check_mission_len(packet.len()).map_err(|e| {
        BadInput(format!(
            "pus: {e}; the largest TC packet is {} octets (docs/icd.md, Deviations)",
            mission::MAX_TC_PACKET_LEN
        ))
    })?;
    if a.layer == Layer::Packet {
        return Ok(packet);
    }
    let frame_repr = tc_frame::Repr {
        bypass: a.bypass,
        scid: mission::SCID,
        vcid: mission::TC_VCID,
        seq_num: a.frame_seq,
        body: Body::Data {
            seq_flags: SeqFlags::Unsegmented,
            map_id: mission::TC_MAP_ID,
            data: &packet,
        },
    };
    let mut frame = vec![0u8; frame_repr.buffer_len()];
    frame_repr.emit(&mut frame).map_err(|e| BadInput(format!("tc-frame: {e}")))?;
    if a.layer == Layer::Frame {
        return Ok(frame);
    }
    let mut out = vec![0u8; cltu::encoded_len(frame.len())];
    let n =
        cltu::encode(&frame, a.randomise, &mut out).map_err(|e| BadInput(format!("cltu: {e}")))?;
    out.truncate(n);
    Ok(out)
}

/// Decodes `bytes` at `layer` into the JSON object `tc decode` prints.
///
/// # Errors
/// [`BadInput`] with the layer, offset and expected value.
pub fn decode(
    bytes: &[u8],
    layer: Layer,
    randomised: bool,
    allow_bad_crc: bool,
) -> anyhow::Result<serde_json::Value> {
    let bad = |e: tc_tm::Error, len: usize| BadInput(locate::describe(&e, 0, len));
    // An error is located within the unit the header declares, not the whole input (trailing
    // octets after it are reported as such).
    let packet_len =
        |b: &[u8]| tc_tm::spp::packet_len(b).filter(|&l| l <= b.len()).unwrap_or(b.len());
    let frame_len = |b: &[u8]| {
        tc_frame::Packet::new_checked(b)
            .map(|f| f.frame_len())
            .ok()
            .filter(|&l| l <= b.len())
            .unwrap_or(b.len())
    };
    match layer {
        Layer::Packet => {
            decode_packet(bytes, allow_bad_crc).map_err(|e| bad(e, packet_len(bytes)).into())
        }
        Layer::Frame => {
            decode_frame(bytes, allow_bad_crc).map_err(|e| bad(e, frame_len(bytes)).into())
        }
        Layer::Cltu => {
            let mut frame = vec![0u8; cltu::MAX_DECODED_LEN];
            let d = cltu::decode(bytes, randomised, &mut frame)
                .map_err(|e| bad(e.into(), bytes.len()))?;
            frame.truncate(d.len);
            let mut v = decode_frame(&frame, allow_bad_crc).map_err(|e| {
                BadInput(format!("inside the CLTU: {}", locate::describe(&e, 0, frame_len(&frame))))
            })?;
            v["corrected_bits"] = json!(d.corrected_bits);
            Ok(v)
        }
    }
}

fn decode_packet(bytes: &[u8], allow_bad_crc: bool) -> Result<serde_json::Value, tc_tm::Error> {
    let packet = TcPacket::new_checked(bytes)?;
    let crc_ok = packet.check_pec().is_ok();
    let repr = if allow_bad_crc {
        TcRepr::parse_without_crc_check(&packet)?
    } else {
        TcRepr::parse(&packet)?
    };
    let trailing = bytes.len() - packet.total_len();
    let mut v = json!({
        "apid": repr.apid.value(),
        "seq_flags": repr.seq_flags.bits(),
        "seq_count": repr.seq_count.value(),
        "ack": repr.ack.bits(),
        "service": repr.service,
        "subtype": repr.subtype,
        "source_id": repr.source_id,
        "app_data": hexio::format(repr.app_data),
        "crc_ok": crc_ok,
        "length": packet.total_len(),
    });
    if trailing > 0 {
        v["trailing_octets"] = json!(trailing);
    }
    // The readable form, when the application data is a request this mission defines.
    match tc_tm::service::Request::parse(repr.service, repr.subtype, repr.app_data) {
        Ok(request) => v["request"] = json!(request.to_string()),
        Err(e) => v["request_error"] = json!(e.to_string()),
    }
    Ok(v)
}

fn decode_frame(bytes: &[u8], allow_bad_crc: bool) -> Result<serde_json::Value, tc_tm::Error> {
    let frame = tc_frame::Packet::new_checked(bytes)?;
    let crc_ok = frame.check_fecf().is_ok();
    let repr = if allow_bad_crc {
        tc_frame::Repr::parse_without_fecf_check(&frame)?
    } else {
        tc_frame::Repr::parse(&frame)?
    };
    let mut v = match repr.body {
        Body::Data { seq_flags, map_id, data } => {
            let mut p = decode_packet(data, allow_bad_crc)?;
            p["map_id"] = json!(map_id);
            p["segment_flags"] = json!(seq_flags.bits());
            p
        }
        Body::Control(cmd) => {
            let c = match cmd {
                ControlCommand::Unlock => json!({"command": "unlock"}),
                ControlCommand::SetVr(v) => json!({"command": "set_v_r", "v_r": v}),
            };
            json!({ "control": c })
        }
    };
    // As the packet layer does: octets after the frame's declared length are reported.
    let frame_trailing = bytes.len().saturating_sub(frame.frame_len());
    if frame_trailing > 0 {
        v["frame_trailing_octets"] = json!(frame_trailing);
    }
    v["scid"] = json!(repr.scid);
    v["vcid"] = json!(repr.vcid);
    v["bypass"] = json!(repr.bypass);
    v["control_command"] = json!(matches!(repr.body, Body::Control(_)));
    v["frame_seq"] = json!(repr.seq_num);
    v["frame_crc_ok"] = json!(crc_ok);
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(layer: Layer) -> EncodeArgs {
        EncodeArgs {
            service: Some(17),
            subtype: Some(1),
            app_data: Some("DEADBEEF".into()),
            request: None,
            apid: 0x240,
            seq: 5,
            ack: 0x9,
            source_id: 1,
            layer,
            frame_seq: 7,
            bypass: false,
            randomise: false,
        }
    }

    #[test]
    fn encode_decode_each_layer() {
        for layer in [Layer::Packet, Layer::Frame, Layer::Cltu] {
            let bytes = encode(&args(layer)).unwrap();
            let v = decode(&bytes, layer, false, false).unwrap();
            assert_eq!(v["apid"], 0x240);
            assert_eq!(v["seq_count"], 5);
            assert_eq!(v["service"], 17);
            assert_eq!(v["subtype"], 1);
            assert_eq!(v["source_id"], 1);
            assert_eq!(v["app_data"], "DEADBEEF");
            assert_eq!(v["crc_ok"], true);
            if layer != Layer::Packet {
                assert_eq!(v["scid"], 0x53);
                assert_eq!(v["vcid"], 0);
                assert_eq!(v["bypass"], false);
                assert_eq!(v["frame_seq"], 7);
            }
            if layer == Layer::Cltu {
                assert_eq!(v["corrected_bits"], 0);
            }
        }
    }

    #[test]
    fn bad_crc_is_located() {
        let mut bytes = encode(&args(Layer::Packet)).unwrap();
        let n = bytes.len();
        bytes[n - 1] ^= 1;
        let e = decode(&bytes, Layer::Packet, false, false).unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with(&format!("pus error at offset {}", n - 2)), "{msg}");
        let v = decode(&bytes, Layer::Packet, false, true).unwrap();
        assert_eq!(v["crc_ok"], false);
        // With trailing octets the CRC is still where the header says (it was input len - 2).
        bytes.extend_from_slice(&[0xAA; 4]);
        let msg = decode(&bytes, Layer::Packet, false, false).unwrap_err().to_string();
        assert!(msg.starts_with(&format!("pus error at offset {}", n - 2)), "{msg}");
    }

    #[test]
    fn frame_layer_reports_trailing_octets_and_locates_its_fecf() {
        let mut bytes = encode(&args(Layer::Frame)).unwrap();
        let n = bytes.len();
        bytes.extend_from_slice(&[0x55; 3]);
        let v = decode(&bytes, Layer::Frame, false, false).unwrap();
        assert_eq!(v["frame_trailing_octets"], 3);
        bytes[n - 1] ^= 1;
        let msg = decode(&bytes, Layer::Frame, false, false).unwrap_err().to_string();
        assert!(msg.contains(&format!("at offset {}", n - 2)), "{msg}");
    }

    #[test]
    fn request_text_round_trips_through_decode() {
        let mut a = args(Layer::Cltu);
        a.service = None;
        a.subtype = None;
        a.app_data = None;
        a.request = Some("function select-boot-bank bank=B".into());
        let bytes = encode(&a).unwrap();
        let v = decode(&bytes, Layer::Cltu, false, false).unwrap();
        assert_eq!(v["service"], 8);
        assert_eq!(v["request"], "function select-boot-bank bank=B");
    }

    #[test]
    fn bad_request_text_is_bad_input() {
        let mut a = args(Layer::Packet);
        a.request = Some("function explode".into());
        let e = encode(&a).unwrap_err();
        assert!(e.chain().any(|c| c.is::<BadInput>()), "{e}");
        assert!(e.to_string().contains("column"), "{e}");
    }

    #[test]
    fn corrected_bit_is_counted() {
        let mut bytes = encode(&args(Layer::Cltu)).unwrap();
        bytes[5] ^= 0x04;
        let v = decode(&bytes, Layer::Cltu, false, false).unwrap();
        assert_eq!(v["corrected_bits"], 1);
    }
}
