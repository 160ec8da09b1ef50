"""Shared fixtures: the repository, the CLI binary (to compare with), a simulated burst."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def root() -> pathlib.Path:
    return ROOT


@pytest.fixture(scope="session")
def cli() -> str:
    """The `eic-bench` binary: $EIC_BENCH_BIN, else the workspace's debug or release build."""
    env = os.environ.get("EIC_BENCH_BIN")
    candidates = [env] if env else [str(ROOT / "target" / p / "eic-bench") for p in ("debug", "release")]
    for c in candidates:
        if c and os.access(c, os.X_OK):
            return c
    found = shutil.which("eic-bench")
    if found:
        return found
    pytest.fail("no eic-bench binary: build it (cargo build -p eic-bench) or set EIC_BENCH_BIN")


def run_cli(cli: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([cli, *args], capture_output=True, text=True, check=check, cwd=ROOT)


@pytest.fixture(scope="session")
def burst_dir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """examples/scenarios/burst.toml shortened to 60 s, as the ICD §6 triplet."""
    import eic_bench as eb

    out = tmp_path_factory.mktemp("burst")
    eb.simulate(ROOT / "examples/scenarios/burst.toml", duration_s=60.0, output=out)
    return out
