"""Regression campaigns in this process, and their reports."""

from __future__ import annotations

import json

import pytest

import eic_bench as eb

SUITE = """
name = "py"
description = "one bright burst and a little background"

[tolerances]
max_efficiency_loss = 0.0
max_bin_efficiency_loss = 0.0
max_false_rate_increase_per_hour = 1.0
max_localisation_outside_increase = 1.0
max_latency_increase_s = 60.0

[[burst]]
name = "grid"
peak_flux = [0.35, 3.0]
duration_s = [20.0]
directions = [[0.0, 0.0]]
seeds = [1]
onset_s = 30.0
length_s = 80.0
"""


def test_campaign_in_process_writes_and_loads_its_report(root, tmp_path):
    suite = tmp_path / "suite.toml"
    suite.write_text(SUITE)
    base = root / "examples/workplan-tables"
    report = eb.regress(suite, base, root / "examples/regress/candidate-raised-imt", output=tmp_path / "out")
    assert set(report) >= {"verdict", "suite"}
    for name in ("report.json", "report.html", "junit.xml", "results.json"):
        assert (tmp_path / "out" / name).stat().st_size > 0
    assert eb.load_report(tmp_path / "out" / "report.json") == report
    same = eb.regress(suite, base, target="model", jobs=1)
    assert same["verdict"]["regression"] is False


def test_bad_suite_tables_and_reports_raise(root, tmp_path):
    suite = tmp_path / "suite.toml"
    suite.write_text(SUITE.replace("peak_flux", "peak_flx"))
    with pytest.raises(eb.ScenarioError, match="suite.toml"):
        eb.regress(suite, root / "examples/workplan-tables")
    suite.write_text(SUITE)
    with pytest.raises(eb.InputError, match="no such table directory"):
        eb.regress(suite, tmp_path / "none")
    with pytest.raises(ValueError, match="target"):
        eb.regress(suite, root / "examples/workplan-tables", target="gpu")
    bad = tmp_path / "report.json"
    bad.write_text(json.dumps({"verdict": 1}))
    with pytest.raises(eb.InputError, match="not a regression report") as e:
        eb.load_report(bad)
    assert e.value.line == 1
