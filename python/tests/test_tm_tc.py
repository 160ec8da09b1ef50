"""Telemetry decode and telecommand encode/decode against the CLI."""

from __future__ import annotations

import json

import pytest

import eic_bench as eb
from conftest import run_cli


def test_archive_decodes_lazily_to_the_cli_records(root, cli):
    path = root / "examples/capture.eica"
    reader = eb.decode_tm(path)
    assert reader.summary is None  # lazily: nothing read yet
    first = next(reader)
    records = [first, *reader]
    cli_lines = run_cli(cli, "tm", "decode", str(path)).stdout.splitlines()
    assert records == [json.loads(line) for line in cli_lines]
    assert records and all("service" in r for r in records)
    summary = json.loads(run_cli(cli, "tm", "decode", "--summary", str(path)).stdout)
    assert reader.summary == summary
    assert reader.damaged is False


def test_bytes_decode_like_the_file(root):
    data = (root / "examples/capture.eica").read_bytes()
    assert list(eb.decode_tm(data)) == list(eb.decode_tm(root / "examples/capture.eica"))


def cadus_of_archive(data: bytes) -> bytes:
    """The raw CADU stream inside a bench archive (records: "EICR", version, kind, source, 0,
    time 8, length 4, octets, CRC-32 4; kind 1 = CADU)."""
    out, pos = bytearray(), 0
    while pos < len(data):
        assert data[pos : pos + 4] == b"EICR"
        kind = data[pos + 5]
        n = int.from_bytes(data[pos + 16 : pos + 20], "big")
        if kind == 1:
            out += data[pos + 20 : pos + 20 + n]
        pos += 20 + n + 4
    return bytes(out)


def test_raw_cadu_capture_and_its_cut_tail(root, cli, tmp_path):
    archive = list(eb.decode_tm(root / "examples/capture.eica"))
    raw = cadus_of_archive((root / "examples/capture.eica").read_bytes())
    assert len(raw) % 1119 == 0 and raw[:4] == bytes.fromhex("1ACFFC1D")
    capture = tmp_path / "capture.cadu"
    capture.write_bytes(raw)
    assert list(eb.decode_tm(capture)) == archive
    cut = tmp_path / "cut.cadu"
    cut.write_bytes(raw[:-600])
    reader = eb.decode_tm(cut)
    records = list(reader)
    assert reader.damaged is True and reader.summary["trailing_octets"] == 1119 - 600
    assert records[-1]["layer"] == "cadu" and records[-1]["offset"] == len(raw) - 1119
    cli_out = run_cli(cli, "tm", "decode", str(cut), check=False)
    assert cli_out.returncode == 2
    assert records == [json.loads(line) for line in cli_out.stdout.splitlines()]


def test_packet_layer_like_the_cli(root, cli, tmp_path):
    text = (root / "tests/vectors/pus-tm-hk.hex").read_text()
    packet = bytes.fromhex("".join(line for line in text.splitlines() if not line.startswith("#")))
    path = tmp_path / "packets.bin"
    path.write_bytes(packet * 3 + packet[:10])
    reader = eb.decode_tm(path, layer="packet")
    records = list(reader)
    assert [r.get("service") for r in records[:3]] == [3, 3, 3] and "error" in records[3]
    assert reader.summary["packets"] == 3 and reader.damaged is True
    cli_out = run_cli(cli, "tm", "decode", "--layer", "packet", str(path), check=False)
    assert records == [json.loads(line) for line in cli_out.stdout.splitlines()]


def test_packet_layer_garbage_is_an_error_record():
    reader = eb.decode_tm(b"\x08\x01\xc0\x00\x00\x05abc", layer="packet")
    records = list(reader)
    assert len(records) == 1 and records[0]["layer"] and "offset" in records[0]
    assert reader.damaged is True


def test_missing_file_and_bad_layer_raise():
    with pytest.raises(eb.InputError, match="no/such.cadu: cannot open") as e:
        eb.decode_tm("no/such.cadu")
    assert e.value.path == "no/such.cadu" and e.value.place == "file"
    with pytest.raises(ValueError, match="layer"):
        eb.decode_tm(b"", layer="frames")


@pytest.mark.parametrize("layer", ["packet", "frame", "cltu"])
def test_encode_matches_the_cli_and_decodes(cli, layer):
    octets = eb.encode_tc("hk one-shot sid=1", layer=layer, seq=7)
    hexa = run_cli(cli, "tc", "encode", "--request", "hk one-shot sid=1", "--layer", layer, "--seq", "7").stdout
    assert octets.hex() == "".join(hexa.split()).lower()
    decoded = eb.decode_tc(octets, layer)
    cli_decoded = json.loads(run_cli(cli, "tc", "decode", "--layer", layer, octets.hex()).stdout)
    assert decoded == cli_decoded


def test_service_subtype_and_app_data():
    octets = eb.encode_tc(service=17, subtype=1)
    assert octets == eb.encode_tc("test are-you-alive")
    d = eb.decode_tc(eb.encode_tc(service=6, subtype=5, app_data=bytes.fromhex("0100000100 0040")))
    assert (d["service"], d["subtype"]) == (6, 5)


def test_bad_requests_raise_request_error_with_the_cli_message():
    with pytest.raises(eb.RequestError, match="eic-bench tc requests"):
        eb.encode_tc("hk one-shot sidd=1")
    with pytest.raises(eb.RequestError, match="11-bit"):
        eb.encode_tc("test are-you-alive", apid=0x800)
    with pytest.raises(eb.RequestError):
        eb.encode_tc("test are-you-alive", service=17)
    bad = bytearray(eb.encode_tc("test are-you-alive"))
    bad[-1] ^= 0xFF
    with pytest.raises(eb.RequestError, match="packet error control .* does not match"):
        eb.decode_tc(bytes(bad))
    assert eb.decode_tc(bytes(bad), allow_bad_crc=True)["crc_ok"] is False
    assert issubclass(eb.RequestError, eb.EicError)
