"""Benchmark (not a test): replay speed from Python vs the CLI on the same file.

    pip install ./python
    cargo build --release -p eic-bench
    python python/bench/replay_bench.py [--duration-s 600] [--repeat 3] [--cli target/release/eic-bench]

Simulates examples/scenarios/burst.toml for --duration-s seconds into a triplet, then times,
median of --repeat runs: `eic-bench replay DIR --local --json` (a process), eic_bench.replay(DIR)
(file read in Rust), and eic_bench.replay(events) on arrays already in memory. Checks the three
give the same alerts.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import subprocess
import tempfile
import time

import eic_bench as eb

ROOT = pathlib.Path(__file__).resolve().parents[2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration-s", type=float, default=600.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cli", default=str(ROOT / "target/release/eic-bench"))
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        out = pathlib.Path(d) / "sim"
        info = eb.simulate(ROOT / "examples/scenarios/burst.toml", duration_s=a.duration_s, output=out)
        n = info["summary"]["events"]
        ev = eb.read_events(out)
        print(f"{n} events ({a.duration_s:.0f} s of burst.toml)")
        results = {}

        def cli():
            p = subprocess.run([a.cli, "replay", str(out), "--local", "--json"], capture_output=True, text=True, check=True)
            return [json.loads(line) for line in p.stdout.splitlines()]

        runs = {
            "CLI: eic-bench replay --local": cli,
            "Python: eb.replay(dir)": lambda: eb.replay(out).alerts,
            "Python: eb.replay(arrays)": lambda: eb.replay(ev).alerts,
        }
        medians = {}
        for name, fn in runs.items():
            times = []
            for _ in range(a.repeat):
                t = time.perf_counter()
                results[name] = fn()
                times.append(time.perf_counter() - t)
            medians[name] = statistics.median(times)
            print(f"{name:<32} median {medians[name]:.2f} s  ({n / medians[name] / 1e6:.2f} M events/s)")
        alerts = list(results.values())
        assert all(x == alerts[0] for x in alerts), "the same alerts from every path"
        base = medians["CLI: eic-bench replay --local"]
        for name, m in medians.items():
            print(f"{name:<32} {m / base:.2f} × the CLI's time")


if __name__ == "__main__":
    main()
