"""Trigger efficiency against burst flux, for two table sets: a notebook as a plain script.

Simulates a grid of bursts (peak flux × seed) in memory, replays every one through the
on-board trigger with the workplan's tables and with a candidate whose IMT thresholds are
raised, and plots the fraction of bursts detected against flux (matplotlib), or prints the
table when matplotlib is absent. CI runs it (scripts/test-python)::

    pip install ./python          # once, in a virtual environment
    python examples/python/efficiency.py --out out/python-example

Each cell below is what a notebook cell would hold.
"""

from __future__ import annotations

import argparse
import pathlib
import time

import numpy as np

import eic_bench as eb

ROOT = pathlib.Path(__file__).resolve().parents[2]

# %% Arguments (a notebook would set these directly)
parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--out", type=pathlib.Path, default=ROOT / "out" / "python-example", help="where the plot goes")
parser.add_argument("--seeds", type=int, default=2, help="bursts per flux")
args = parser.parse_args()
args.out.mkdir(parents=True, exist_ok=True)

# %% The two table sets: the workplan's, and a candidate with raised IMT thresholds
tables = {
    "workplan": eb.TableSet.load(ROOT / "examples/workplan-tables"),
    "raised IMT": eb.TableSet.load(ROOT / "examples/regress/candidate-raised-imt"),
}
for name, t in tables.items():
    t.check()  # the unit's validator: raises InvalidTablesError with every problem
print("differences:\n" + tables["workplan"].diff_text(tables["raised IMT"]))

# %% The burst grid: on-axis bursts (0.5 s rise, 20 s decay) 15 s into 60 s of background
FLUXES = [0.2, 0.3, 0.4, 0.45, 0.5, 0.6, 1.0]
ONSET_S, DURATION_S = 15.0, 60.0


def scenario(flux: float, seed: int) -> dict:
    return {
        "name": f"f{flux}-s{seed}",
        "seed": seed,
        "start": "2026-03-01T12:00:00Z",
        "duration_s": DURATION_S,
        "attitude": {"mode": "fixed", "ra_deg": 150.0, "dec_deg": 20.0},
        "burst": [{"t0_s": ONSET_S, "y_deg": 0.0, "z_deg": 0.0, "peak_flux": flux, "rise_s": 0.5, "decay_s": 20.0, "index": 1.5}],
    }


# %% Simulate and replay every burst with both table sets
started = time.monotonic()
detected = {name: np.zeros(len(FLUXES)) for name in tables}
events = 0
for i, flux in enumerate(FLUXES):
    for seed in range(1, args.seeds + 1):
        ev = eb.simulate(scenario(flux, seed))
        events += len(ev)
        onset_tick = ev.attitude["tick"][0] + int(ONSET_S / eb.TICK_S)
        for name, t in tables.items():
            out = eb.replay(ev, t)
            # A detection: an alert whose window ends after the burst's onset.
            hit = any(a["window_s"][1] >= onset_tick * eb.TICK_S for a in out.alerts)
            detected[name][i] += hit
efficiency = {name: d / args.seeds for name, d in detected.items()}
elapsed = time.monotonic() - started
print(f"{len(FLUXES) * args.seeds} bursts, {events} events simulated, replayed twice in {elapsed:.1f} s")

# %% The table (always) and the plot (when matplotlib is there)
print(f"{'peak flux':>10} " + " ".join(f"{name:>12}" for name in tables))
for i, flux in enumerate(FLUXES):
    print(f"{flux:>10.2f} " + " ".join(f"{efficiency[name][i]:>12.2f}" for name in tables))
try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("matplotlib not installed: table only (pip install matplotlib for the plot)")
else:
    fig, ax = plt.subplots(figsize=(6, 4))
    for name in tables:
        ax.plot(FLUXES, efficiency[name], marker="o", label=name)
    ax.set_xlabel("peak flux (ph/cm²/s, 4–150 keV)")
    ax.set_ylabel("fraction detected")
    ax.set_ylim(-0.05, 1.05)
    ax.legend()
    ax.set_title("ECLAIRs trigger efficiency (on axis)")
    fig.tight_layout()
    png = args.out / "efficiency.png"
    fig.savefig(png, dpi=100)
    print(f"plot: {png}")

# The bright end must trigger with the workplan tables: this script is also a test.
assert efficiency["workplan"][-1] == 1.0, "the brightest bursts must all be detected"
