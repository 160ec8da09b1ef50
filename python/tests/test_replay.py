"""Replay through the on-board trigger: the CLI's alerts exactly, arrays without copies,
images, Ctrl-C, errors."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import numpy as np
import pytest

import eic_bench as eb
from conftest import run_cli


def test_replay_gives_exactly_the_cli_alerts(root, cli, burst_dir):
    for tables in (None, root / "examples/regress/candidate-raised-imt"):
        args = ["replay", str(burst_dir), "--local", "--json"]
        if tables is not None:
            args += ["--tables", str(tables)]
        cli_alerts = [json.loads(line) for line in run_cli(cli, *args).stdout.splitlines()]
        out = eb.replay(burst_dir, tables)
        assert out.alerts == cli_alerts
        if tables is None:
            assert cli_alerts, "the burst must trigger with the default tables"
            assert out.alerts[0]["notice"]["mission"] == "SVOM"
        assert out.events > 100_000 and out.packets > 0


def test_arrays_replay_like_the_file_with_images(root, burst_dir):
    ev = eb.read_events(burst_dir)
    from_file = eb.replay(burst_dir, eb.TableSet.defaults(), images=True)
    from_arrays = eb.replay(ev, images=True)
    strip = lambda alerts: [{k: v for k, v in a.items() if k != "image"} for a in alerts]  # noqa: E731
    assert strip(from_arrays.alerts) == strip(from_file.alerts)
    assert from_arrays.events == from_file.events and from_arrays.octets == from_file.octets
    img = from_arrays.alerts[0]["image"]
    assert img.shape == (199, 199) and img.dtype == np.float32 and img.flags.c_contiguous
    assert img.base is not None  # a view of the Rust buffer, not a copy
    assert float(img.max()) >= from_arrays.alerts[0]["image_snr"] - 1e-3
    np.testing.assert_array_equal(img, from_file.alerts[0]["image"])
    # A packed dtype with the same fields is converted, not refused.
    packed = np.zeros(len(ev.events), dtype=[("tick", "<u8"), ("y", "u1"), ("z", "u1"), ("pha", "<u2"), ("mult", "u1")])
    for f in ("tick", "y", "z", "pha", "mult"):
        packed[f] = ev.events[f]
    assert strip(eb.replay(packed, attitude=ev.attitude, orbit=ev.orbit).alerts) == strip(from_file.alerts)


def test_bad_arrays_and_tables_raise(root, tmp_path):
    ev = np.zeros(3, eb.EVENT_DTYPE)
    ev["mult"] = 1
    ev["tick"] = [10, 5, 20]
    with pytest.raises(eb.InputError, match="time order"):
        eb.replay(ev)
    ev["tick"] = [1, 2, 3]
    ev["y"][1] = 80
    with pytest.raises(eb.InputError, match="outside"):
        eb.replay(ev)
    with pytest.raises(eb.TablesError, match="cannot read"):
        eb.replay(ev, tmp_path)
    with pytest.raises(eb.InputError):
        eb.replay(tmp_path / "nothing.fits")


def test_ctrl_c_interrupts_a_long_replay():
    # A regular pattern the trigger finds many "sources" in: about 30 s of replay uninterrupted.
    n = 1_000_000
    ev = np.zeros(n, eb.EVENT_DTYPE)
    ev["tick"] = np.arange(n, dtype=np.uint64) * 10
    ev["y"] = np.arange(n) % 80
    ev["z"] = (np.arange(n) // 80) % 80
    ev["pha"] = 200
    ev["mult"] = 1
    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    started = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            eb.replay(ev)
    finally:
        timer.cancel()
    assert time.monotonic() - started < 5.0
