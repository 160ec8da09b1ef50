"""The simulator and the event readers: numpy structured arrays and the ICD §6 files."""

from __future__ import annotations

import numpy as np
import pytest

import eic_bench as eb

SCENARIO = {
    "name": "tiny",
    "seed": 7,
    "start": "2026-03-01T12:00:00Z",
    "duration_s": 3.0,
    "attitude": {"mode": "fixed", "ra_deg": 150.0, "dec_deg": 20.0},
    "burst": [{"t0_s": 1.0, "y_deg": 2.0, "z_deg": 1.0, "peak_flux": 3.0, "rise_s": 0.2, "decay_s": 1.0, "index": 1.5}],
}


def test_dict_and_file_scenarios_give_the_same_events(tmp_path):
    ev = eb.simulate(SCENARIO)
    assert ev.events.dtype == eb.EVENT_DTYPE and len(ev) > 1000
    assert ev.attitude.dtype == eb.ATTITUDE_DTYPE and len(ev.attitude) >= 3
    assert ev.orbit.dtype == eb.ORBIT_DTYPE and len(ev.orbit) == len(ev.attitude)
    assert np.all(np.diff(ev.events["tick"].astype(np.int64)) >= 0)
    assert ev.events["y"].max() < 80 and ev.events["z"].max() < 80 and ev.events["mult"].min() >= 1
    assert ev.summary["events"] == len(ev)
    burst_arrivals = dict(ev.summary["arrivals"])["burst[0]"]
    assert burst_arrivals > 0
    toml = tmp_path / "tiny.toml"
    toml.write_text(
        'name = "tiny"\nseed = 7\nstart = 2026-03-01T12:00:00Z\nduration_s = 3.0\n'
        '[attitude]\nmode = "fixed"\nra_deg = 150.0\ndec_deg = 20.0\n'
        "[[burst]]\nt0_s = 1.0\ny_deg = 2.0\nz_deg = 1.0\npeak_flux = 3.0\nrise_s = 0.2\ndecay_s = 1.0\nindex = 1.5\n"
    )
    again = eb.simulate(toml)
    assert np.array_equal(again.events, ev.events) and np.array_equal(again.attitude, ev.attitude)
    other = eb.simulate(SCENARIO, seed=8)
    assert not np.array_equal(other.events["tick"][:100], ev.events["tick"][:100])
    assert eb.time_s(ev.events)[0] == pytest.approx(ev.events["tick"][0] * 20e-6)


def test_files_read_back_to_the_same_arrays(tmp_path):
    mem = eb.simulate(SCENARIO)
    out = eb.simulate(SCENARIO, output=tmp_path / "sim", csv=True)
    assert out["summary"]["events"] == len(mem) and out["files"]["events_written"] == len(mem)
    back = eb.read_events(tmp_path / "sim")
    assert np.array_equal(back.events, mem.events)
    assert np.array_equal(back.attitude["tick"], mem.attitude["tick"])
    np.testing.assert_array_equal(back.attitude["q"], mem.attitude["q"])
    np.testing.assert_array_equal(back.orbit["alt_km"], mem.orbit["alt_km"])
    csv = eb.read_events(out["files"]["csv"])
    assert np.array_equal(csv.events, mem.events)
    chunks = list(eb.iter_events(out["files"]["events"], chunk=1000))
    assert all(len(c) <= 1000 for c in chunks) and len(chunks) > 1
    assert np.array_equal(np.concatenate(chunks), mem.events)


def test_bad_scenarios_raise_with_their_location(tmp_path):
    with pytest.raises(eb.ScenarioError, match="unknown field") as e:
        eb.simulate({**SCENARIO, "burts": []})
    assert e.value.origin == "<scenario dict>" and e.value.line is not None
    bad = tmp_path / "bad.toml"
    bad.write_text('seed = 1\nstart = 2026-03-01T12:00:00Z\nduration_s = "long"\n')
    with pytest.raises(eb.ScenarioError, match="bad.toml:3:") as e:
        eb.simulate(bad)
    assert e.value.line == 3
    with pytest.raises(eb.ScenarioError, match="duration_s"):
        eb.simulate(SCENARIO, duration_s=-1.0)
    with pytest.raises(eb.InputError, match="cannot read"):
        eb.simulate(tmp_path / "none.toml")


def test_bad_event_files_raise_input_error_with_place(tmp_path):
    p = tmp_path / "ev.csv"
    p.write_text("TIME,Y,Z,PHA,MULT\n1.00000,3,4,100,1\n1.00002,300,4,100,1\n")
    with pytest.raises(eb.InputError, match="ev.csv:3") as e:
        eb.read_events(p)
    assert e.value.line == 3 and e.value.path.endswith("ev.csv")
    with pytest.raises(eb.InputError):
        eb.read_events(tmp_path / "missing.fits")
    (tmp_path / "x.fits").write_bytes(b"SIMPLE  = nonsense" + b" " * 3000)
    with pytest.raises(eb.InputError, match="x.fits"):
        list(eb.iter_events(tmp_path / "x.fits"))
