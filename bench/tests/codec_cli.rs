//! End-to-end tests of the scripting commands `tc encode`, `tc decode` and `tm decode`, run as
//! the user runs them: the built binary, its stdout, stderr and exit code.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use tc_tm::aos::{FRAME_LEN, Vcid};
use tc_tm::mission::{APID_UGTS, CADU_LEN, VC_HK};
use tc_tm::mpdu::Packer;
use tc_tm::pus::{Cuc, TmRepr};
use tc_tm::spp::{SeqCount, SeqFlags};
use tc_tm::sync::encode_cadu;

fn bench(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_eic-bench"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(data) = stdin {
        input.write_all(data).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn tm_packet(seq: u16, data_len: usize) -> Vec<u8> {
    let data: Vec<u8> = (0..data_len).map(|i| (i as u16 ^ seq) as u8).collect();
    let r = TmRepr {
        apid: APID_UGTS,
        seq_flags: SeqFlags::Unsegmented,
        seq_count: SeqCount::new_masked(seq),
        time_ref_status: 0,
        service: 3,
        subtype: 25,
        msg_counter: seq,
        dest_id: 1,
        time: Cuc::new(1000 + u32::from(seq), 0x8000),
        source_data: &data,
    };
    let mut b = vec![0u8; r.buffer_len()];
    r.emit(&mut b).unwrap();
    b
}

fn cadu_file(packets: &[Vec<u8>]) -> Vec<u8> {
    let mut packer = Packer::<65536>::new(Vcid::new_masked(VC_HK));
    let (mut f, mut c) = ([0u8; FRAME_LEN], [0u8; CADU_LEN]);
    let mut out = Vec::new();
    for p in packets {
        packer.push(p).unwrap();
        while packer.next_frame(0, &mut f) {
            encode_cadu(&f, &mut c);
            out.extend_from_slice(&c);
        }
    }
    if packer.flush_frame(0, &mut f) {
        encode_cadu(&f, &mut c);
        out.extend_from_slice(&c);
    }
    out
}

#[test]
fn encode_then_decode_through_a_pipe() {
    let enc = bench(
        &["tc", "encode", "--request", "test are-you-alive", "--layer", "cltu", "--frame-seq", "9"],
        None,
    );
    assert!(enc.status.success(), "{}", text(&enc.stderr));
    let hex = text(&enc.stdout);
    assert!(hex.trim().starts_with("EB90"), "{hex}");
    let dec = bench(&["tc", "decode", "--layer", "cltu", "-"], Some(hex.as_bytes()));
    assert!(dec.status.success(), "{}", text(&dec.stderr));
    let v: serde_json::Value = serde_json::from_slice(&dec.stdout).unwrap();
    for key in [
        "apid",
        "seq_count",
        "service",
        "subtype",
        "source_id",
        "app_data",
        "crc_ok",
        "scid",
        "vcid",
        "bypass",
        "frame_seq",
        "corrected_bits",
    ] {
        assert!(v.get(key).is_some(), "missing {key} in {v}");
    }
    assert_eq!(v["service"], 17);
    assert_eq!(v["frame_seq"], 9);
    assert_eq!(v["request"], "test are-you-alive");
}

#[test]
fn bad_input_is_one_line_exit_2_no_backtrace() {
    for (args, needle) in [
        (vec!["tc", "decode", "1A4"], "odd"),
        (vec!["tc", "decode", "1A40C0000006 2F110100011234"], "offset 11"),
        (vec!["tc", "decode", "1A40C000"], "offset"),
        (vec!["tc", "decode", "--layer", "cltu", "EB90 0102030405060708"], "cltu"),
        (vec!["tc", "encode", "--service", "17", "--subtype", "1", "--apid", "0x800"], "0x7FF"),
    ] {
        let out = bench(&args, None);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked") && !err.contains("backtrace"), "{err}");
    }
    // A missing input file is not damaged data: the command cannot run as given (exit 3).
    let out = bench(&["tm", "decode", "/definitely/not/here"], None);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("cannot open"), "{}", text(&out.stderr));
    // So is a command line clap refuses.
    let out = bench(&["tc", "decode", "--no-such-option", "00"], None);
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn tm_decode_cadus_prints_every_packet() {
    let packets: Vec<Vec<u8>> = (0..40).map(|i| tm_packet(i, 16 + usize::from(i) * 50)).collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clean.cadu");
    std::fs::write(&path, cadu_file(&packets)).unwrap();
    let out = bench(&["tm", "decode", path.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> =
        text(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), packets.len());
    for (i, v) in lines.iter().enumerate() {
        assert_eq!(v["seq_count"], i);
        assert_eq!(v["apid"], 0x240);
        assert_eq!(v["service"], 3);
        assert_eq!(v["subtype"], 25);
        assert_eq!(v["msg_counter"], i);
        assert_eq!(v["dest_id"], 1);
        assert_eq!(v["vcid"], 0);
        assert!(v["frame_count"].is_u64());
        assert_eq!(v["time"], 1000.5 + i as f64);
        assert_eq!(v["source_data"].as_str().unwrap().len(), 2 * (16 + i * 50));
    }
    assert!(text(&out.stderr).contains("40 packets, 0 errors, 0 gaps"), "{}", text(&out.stderr));
}

#[test]
fn tm_decode_reports_damage_and_keeps_going() {
    let packets: Vec<Vec<u8>> = (0..40).map(|i| tm_packet(i, 400)).collect();
    let mut stream = cadu_file(&packets);
    stream[CADU_LEN + 600] ^= 0x01; // second frame's body: FECF fails
    stream.splice(3 * CADU_LEN..3 * CADU_LEN, [0xAAu8; 37]); // garbage before the fourth CADU
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("damaged.cadu");
    std::fs::write(&path, &stream).unwrap();
    let out = bench(&["tm", "decode", path.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    let lines: Vec<serde_json::Value> =
        text(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let errors: Vec<_> = lines.iter().filter(|v| v.get("error").is_some()).collect();
    let good = lines.len() - errors.len();
    // The bad frame is the second CADU; its error is located at its FECF, once.
    assert!(
        errors.iter().any(|e| e["layer"] == "aos"
            && (CADU_LEN..2 * CADU_LEN).contains(&(e["offset"].as_u64().unwrap() as usize))),
        "{errors:?}"
    );
    for e in &errors {
        let at = format!("offset {}", e["offset"]);
        assert!(e["error"].as_str().unwrap().contains(&at), "one offset per error: {e}");
    }
    assert!(errors.iter().any(|e| e["layer"] == "m_pdu"), "the gap is reported: {errors:?}");
    assert!(good > 30 && good < 40, "only the packets the bad frame touched are lost: {good}");

    let summary = bench(&["tm", "decode", "--summary", path.to_str().unwrap()], None);
    assert_eq!(summary.status.code(), Some(2));
    let s: serde_json::Value = serde_json::from_slice(&summary.stdout).unwrap();
    assert_eq!(s["packets"], good);
    assert_eq!(s["bad_frames"], 1);
    assert_eq!(s["gaps"], 1);
    assert_eq!(s["garbage_octets"], 37);
}

#[test]
fn tm_decode_packet_layer_and_summary() {
    let mut file: Vec<u8> = (0..100).flat_map(|i| tm_packet(i, 16)).collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("packets.bin");
    std::fs::write(&path, &file).unwrap();
    let out =
        bench(&["tm", "decode", "--layer", "packet", "--summary", path.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["packets"], 100);
    assert_eq!(s["errors"], 0);

    file[37 * 10 + 20] ^= 0x80;
    std::fs::write(&path, &file).unwrap();
    let out = bench(&["tm", "decode", "--layer", "packet", path.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    let lines: Vec<serde_json::Value> =
        text(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 100);
    assert_eq!(lines[10]["layer"], "pus");
    // One offset per error, the right one: the PEC (it was the packet's start, 370, beside
    // "offset 405" in the text).
    assert_eq!(lines[10]["offset"], 405);
    assert!(lines[10]["error"].as_str().unwrap().contains("offset 405"), "{}", lines[10]);
}

#[test]
fn tm_decode_exits_2_on_random_octets_and_on_a_cut_last_cadu() {
    let dir = tempfile::tempdir().unwrap();
    // 1 MB of random octets: no CADU at all, every octet is garbage.
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let random: Vec<u8> = (0..1_000_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let path = dir.path().join("random.bin");
    std::fs::write(&path, &random).unwrap();
    let out = bench(&["tm", "decode", "--summary", path.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["packets"], 0);
    assert!(s["garbage_octets"].as_u64().unwrap() > 900_000, "{s}");

    // A clean stream whose last CADU is cut: damaged, with one error record at the cut.
    let packets: Vec<Vec<u8>> = (0..20).map(|i| tm_packet(i, 300)).collect();
    let mut stream = cadu_file(&packets);
    let whole = stream.len();
    stream.truncate(whole - 100);
    let path = dir.path().join("cut.cadu");
    std::fs::write(&path, &stream).unwrap();
    let out = bench(&["tm", "decode", path.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let last: serde_json::Value =
        serde_json::from_str(text(&out.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(last["layer"], "cadu");
    assert_eq!(last["offset"], whole - CADU_LEN, "{last}");
    // The same stream whole is clean.
    std::fs::write(&path, cadu_file(&packets)).unwrap();
    let out = bench(&["tm", "decode", "--summary", path.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn tm_decode_packet_layer_streams_and_reports_a_cut_packet() {
    // 3 000 packets of 1 000 octets of data: 3 MB through a 64 KiB buffer.
    let file: Vec<u8> = (0..3000).flat_map(|i| tm_packet(i as u16, 1000)).collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("packets.bin");
    std::fs::write(&path, &file).unwrap();
    let out =
        bench(&["tm", "decode", "--layer", "packet", "--summary", path.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (s["packets"].as_u64(), s["octets"].as_u64()),
        (Some(3000), Some(file.len() as u64))
    );
    std::fs::write(&path, &file[..file.len() - 10]).unwrap();
    let out =
        bench(&["tm", "decode", "--layer", "packet", "--summary", path.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["packets"], 2999);
    assert!(s["trailing_octets"].as_u64().unwrap() > 0);
}
