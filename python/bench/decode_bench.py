"""Benchmark (not a test): decoding 1 M TM packets from Python with eic_bench vs ccsdspy.

    pip install ./python ccsdspy
    python python/bench/decode_bench.py [--packets 1000000] [--repeat 3]

Builds a file of N concatenated PUS-C TM packets (the packets of examples/capture.eica, cycled
with increasing sequence counts; the file is checked to decode with eic_bench first), then
times, median of --repeat runs:

- eic_bench.decode_tm(path, layer="packet"): every packet checked (header, length, PEC CRC-16)
  and decoded to the dict of `tm decode` (service report included), lazily;
- ccsdspy.VariableLength(...).load(path): the primary and secondary header fields and the
  source data into numpy arrays (no PEC check, no service decoding).

The two do different amounts of work; the numbers are quoted with that said (docs/python.md).
"""

from __future__ import annotations

import argparse
import binascii
import itertools
import math
import pathlib
import statistics
import tempfile
import time

import eic_bench as eb

ROOT = pathlib.Path(__file__).resolve().parents[2]


def packet(rec: dict, seq: int) -> bytes:
    """A TM packet from a decoded record (the inverse of the decoder, checked below)."""
    src = bytes.fromhex(rec["source_data"])
    coarse = math.floor(rec["time"])
    fine = round((rec["time"] - coarse) * 65536)
    sec = bytes([0x20, rec["service"], rec["subtype"]]) + rec["msg_counter"].to_bytes(2, "big")
    sec += rec["dest_id"].to_bytes(2, "big") + coarse.to_bytes(4, "big") + fine.to_bytes(2, "big")
    body = sec + src
    data_len = len(body) + 2 - 1
    head = (0x0800 | rec["apid"]).to_bytes(2, "big") + (0xC000 | seq).to_bytes(2, "big") + data_len.to_bytes(2, "big")
    p = head + body
    return p + binascii.crc_hqx(p, 0xFFFF).to_bytes(2, "big")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    templates = [r for r in eb.decode_tm(ROOT / "examples/capture.eica") if "error" not in r]
    with tempfile.TemporaryDirectory() as d:
        path = pathlib.Path(d) / "packets.bin"
        with open(path, "wb") as f:
            for i in range(a.packets):
                f.write(packet(templates[i % len(templates)], i % 16384))
        size = path.stat().st_size
        first = list(itertools.islice(eb.decode_tm(path, layer="packet"), len(templates)))
        for got, want in zip(first, templates):
            want = {k: v for k, v in want.items() if k not in ("vcid", "frame_count")}
            assert got == {**want, "seq_count": got["seq_count"]}, (got, want)
        print(f"{a.packets} packets, {size / 1e6:.1f} MB ({size / a.packets:.0f} octets/packet)")

        def eic() -> int:
            reader = eb.decode_tm(path, layer="packet")
            n = sum(1 for _ in reader)
            assert reader.summary["errors"] == 0
            return n

        timings = {"eic_bench.decode_tm (dicts, PEC checked)": eic}
        try:
            import ccsdspy
            from ccsdspy import PacketArray, PacketField

            fields = [
                PacketField(name="VERSION_TREF", data_type="uint", bit_length=8),
                PacketField(name="SERVICE", data_type="uint", bit_length=8),
                PacketField(name="SUBTYPE", data_type="uint", bit_length=8),
                PacketField(name="MSG_COUNTER", data_type="uint", bit_length=16),
                PacketField(name="DEST_ID", data_type="uint", bit_length=16),
                PacketField(name="COARSE", data_type="uint", bit_length=32),
                PacketField(name="FINE", data_type="uint", bit_length=16),
                PacketArray(name="SOURCE_DATA", data_type="uint", bit_length=8, array_shape="expand"),
                PacketField(name="PEC", data_type="uint", bit_length=16),
            ]
            pkt = ccsdspy.VariableLength(fields)

            def ccsds() -> int:
                out = pkt.load(str(path), include_primary_header=True)
                return len(out["SERVICE"])

            timings["ccsdspy.VariableLength.load (arrays, no PEC)"] = ccsds
        except ImportError:
            print("ccsdspy not installed: pip install ccsdspy for the comparison")
        medians = {}
        for name, fn in timings.items():
            runs = []
            for _ in range(a.repeat):
                t = time.perf_counter()
                n = fn()
                runs.append(time.perf_counter() - t)
                assert n == a.packets, (name, n)
            medians[name] = statistics.median(runs)
            print(f"{name:<48} median {medians[name]:.2f} s  ({a.packets / medians[name] / 1e6:.2f} M packets/s)")
        if len(medians) == 2:
            e, c = medians.values()
            print(f"ratio eic_bench / ccsdspy time: {e / c:.2f}")


if __name__ == "__main__":
    main()
