#!/usr/bin/env bash
# Times a peer decoder against ours on the same packet file.
#
# - Installs the Python packages `ccsdspy` (NASA's CCSDS packet decoder) and `spacepackets`
#   (the Python sibling of the Rust crate) in a virtual environment under scripts/.venv.
# - Builds one packet file with spacepackets: N PUS-C TM packets of 37 octets (16 data octets,
#   CUC 4+2 time), APID 0x240, each with a valid PEC.
# - Times `ccsdspy.FixedLength(...).load(file)` (which splits and unpacks fields, but checks no
#   CRC) against `eic-bench tm decode --layer packet --summary FILE` (which splits, parses every
#   header and checks every PEC), best of several runs each, and prints both rates and the ratio.
#
# Usage: scripts/bench-peers.sh [N_PACKETS]   (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
n_packets=${1:-1000000}
venv=scripts/.venv
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ ! -x "$venv/bin/python" ]; then
  echo "== creating $venv (ccsdspy, spacepackets)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check ccsdspy spacepackets
fi

echo "== building eic-bench (release)"
cargo build --release -p eic-bench --quiet
bin=target/release/eic-bench

echo "== writing $n_packets packets with spacepackets"
"$venv/bin/python" - "$work/packets.bin" "$n_packets" <<'PY'
import sys
from spacepackets.ecss.tm import PusTm
path, n = sys.argv[1], int(sys.argv[2])
unique = min(n, 65536)
pkts = []
for i in range(unique):
    p = PusTm(service=3, message_subtype=25, timestamp=(i * 7919).to_bytes(4, "big") + b"\x80\x00",
              source_data=bytes((i + k) & 0xFF for k in range(16)), apid=0x240,
              seq_count=i & 0x3FFF, message_counter=i & 0xFFFF, destination_id=1)
    pkts.append(p.pack())
blob = b"".join(pkts)
with open(path, "wb") as f:
    full, rest = divmod(n, unique)
    for _ in range(full):
        f.write(blob)
    f.write(b"".join(pkts[:rest]))
PY

echo "== timing"
"$venv/bin/python" - "$work/packets.bin" "$n_packets" "$bin" <<'PY'
import logging, subprocess, sys, time
logging.disable(logging.CRITICAL)
import ccsdspy
from ccsdspy import PacketArray, PacketField
path, n, binary = sys.argv[1], int(sys.argv[2]), sys.argv[3]
pkt = ccsdspy.FixedLength([
    PacketField(name="PUS_VERSION", data_type="uint", bit_length=4),
    PacketField(name="TIME_REF", data_type="uint", bit_length=4),
    PacketField(name="SERVICE", data_type="uint", bit_length=8),
    PacketField(name="SUBTYPE", data_type="uint", bit_length=8),
    PacketField(name="MSG_COUNTER", data_type="uint", bit_length=16),
    PacketField(name="DEST_ID", data_type="uint", bit_length=16),
    PacketField(name="COARSE", data_type="uint", bit_length=32),
    PacketField(name="FINE", data_type="uint", bit_length=16),
    PacketArray(name="DATA", data_type="uint", bit_length=8, array_shape=16),
    PacketField(name="PEC", data_type="uint", bit_length=16),
])

def best(fn, runs=5):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter(); fn(); times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]

def peer():
    out = pkt.load(path)
    assert len(out["SERVICE"]) == n

def ours():
    r = subprocess.run([binary, "tm", "decode", "--layer", "packet", "--summary", path],
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"eic-bench failed: {r.stderr.strip()}")

t_peer, t_ours = best(peer), best(ours)
print(f"packets: {n} x 37 octets")
print(f"ccsdspy {ccsdspy.__version__} FixedLength.load (no CRC check): median {t_peer*1e3:8.1f} ms  {n/t_peer/1e6:6.2f} M packets/s")
print(f"eic-bench tm decode --summary (PEC checked) : median {t_ours*1e3:8.1f} ms  {n/t_ours/1e6:6.2f} M packets/s  (process start included)")
print(f"ratio eic-bench / ccsdspy: {t_peer/t_ours:.1f}x")
PY
