"""The ECLAIRs bench from Python: the same Rust code as the ``eic-bench`` CLI.

Everything here calls the bench library (``eic_bench`` crate), the ``tables`` validator, the
``tc_tm`` codec and the ``onboard`` trigger through the extension module ``eic_bench._native``:
no second implementation. Records are dicts with the fields of the CLI's ``--json`` output;
events, attitude and orbit samples are numpy structured arrays; sky images are 2-D ``float32``
arrays. Long work (simulation, replay, campaigns, table loads) runs with the GIL released;
Ctrl-C interrupts a replay (``KeyboardInterrupt``).

Quick tour (paths relative to the repository)::

    import eic_bench as eb

    # Telemetry: one dict per packet, lazily (a capture, an archive or bytes)
    for rec in eb.decode_tm("examples/capture.eica"):
        print(rec.get("text") or rec["error"])

    # A telecommand in the readable syntax
    octets = eb.encode_tc("hk one-shot sid=1")
    eb.decode_tc(octets)["service"]                # 3

    # Tables: load, validate (the unit's validator), diff, images
    base = eb.TableSet.load("examples/workplan-tables")
    cand = base.with_text("alert", base.to_text("alert").replace("7.5", "9.0"))
    cand.validate()                                # [] or problem dicts
    base.diff(cand)                                # as `tables diff --json`

    # Simulate, then replay through the on-board trigger
    ev = eb.simulate("examples/scenarios/burst.toml", duration_s=60)
    out = eb.replay(ev, tables=base, images=True)
    for a in out.alerts:
        print(a["notice"]["ra"], a["notice"]["dec"], a["image"].shape)

Errors are exceptions deriving from :class:`EicError` whose message is the Rust one, with the
file and location; see ``docs/python.md``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from typing import Any, Union

import numpy as np

from . import _native
from ._native import (
    EicError,
    InputError,
    InvalidTablesError,
    RequestError,
    ScenarioError,
    TablesError,
    TableSet,
    TmReader,
    table_keys,
)

__all__ = [
    "ATTITUDE_DTYPE",
    "EVENT_DTYPE",
    "ORBIT_DTYPE",
    "TICK_S",
    "EicError",
    "Events",
    "InputError",
    "InvalidTablesError",
    "ReplayResult",
    "RequestError",
    "ScenarioError",
    "TableSet",
    "TablesError",
    "TmReader",
    "decode_tc",
    "decode_tm",
    "encode_tc",
    "iter_events",
    "load_report",
    "read_events",
    "regress",
    "replay",
    "simulate",
    "table_keys",
    "time_s",
]

__version__: str = _native.__version__

PathLike = Union[str, "os.PathLike[str]"]

#: Seconds per event tick (ICD §4: times are 20 µs ticks since MJDREF 57754 TT).
TICK_S: float = 20e-6

#: One detector event (ICD §6): ``tick`` (20 µs since MJDREF), pixel ``y`` and ``z`` (0–79),
#: pulse height ``pha`` (0–1023), multiplicity ``mult`` (≥ 1). Aligned C layout, 16 octets.
EVENT_DTYPE = np.dtype(
    {
        "names": ["tick", "y", "z", "pha", "mult"],
        "formats": ["<u8", "u1", "u1", "<u2", "u1"],
        "offsets": [0, 8, 9, 10, 12],
        "itemsize": 16,
    }
)
#: One attitude sample: ``tick`` and the instrument → J2000 quaternion ``q`` (scalar first).
ATTITUDE_DTYPE = np.dtype({"names": ["tick", "q"], "formats": ["<u8", ("<f8", (4,))], "offsets": [0, 8], "itemsize": 40})
#: One orbit sample: ``tick``, geographic ``lon_deg``, ``lat_deg`` and ``alt_km``.
ORBIT_DTYPE = np.dtype(
    {
        "names": ["tick", "lon_deg", "lat_deg", "alt_km"],
        "formats": ["<u8", "<f8", "<f8", "<f8"],
        "offsets": [0, 8, 16, 24],
        "itemsize": 32,
    }
)
assert EVENT_DTYPE.itemsize == _native.EVENT_ITEMSIZE
assert ATTITUDE_DTYPE.itemsize == _native.ATTITUDE_ITEMSIZE
assert ORBIT_DTYPE.itemsize == _native.ORBIT_ITEMSIZE


def _view(buf: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """A Rust-owned ``uint8`` buffer viewed as records (no copy)."""
    return buf.view(dtype)


def time_s(records: np.ndarray) -> np.ndarray:
    """Times in seconds since MJDREF 57754 TT of events or samples (their ``tick`` × 20 µs).

    >>> time_s(np.zeros(1, EVENT_DTYPE))
    array([0.])
    """
    return records["tick"] * TICK_S


# ---------------------------------------------------------------------------------------------
# Telemetry and telecommands


def decode_tm(source: PathLike | bytes, layer: str = "cadu") -> TmReader:
    """Decodes telemetry lazily, as ``eic-bench tm decode``.

    ``source`` is a path or bytes: a CADU capture (the serial downlink), an archive the bench
    wrote (detected by its header), or with ``layer="packet"`` concatenated TM packets. The
    reader yields one dict per packet (``apid``, ``seq_count``, ``service``, ``subtype``,
    ``time``, ``text``, ``report``..., ``vcid`` and ``frame_count`` for CADUs) or per damaged
    frame/packet (``error``, ``layer``, ``offset``); memory stays bounded whatever the file
    size. After the last record, ``reader.summary`` has the counters of ``tm decode --summary``
    and ``reader.damaged`` tells whether the CLI would exit 2.

    >>> reader = decode_tm("examples/capture.eica")           # doctest: +SKIP
    >>> [r["service"] for r in reader][:3]                    # doctest: +SKIP
    [1, 1, 20]
    """
    return _native.tm_decode(source, layer)


def encode_tc(request: str | None = None, **fields: Any) -> bytes:
    """Encodes one telecommand, as ``eic-bench tc encode``.

    Give the request in the readable syntax (``"hk one-shot sid=1"``; every request and name:
    ``eic-bench tc requests``), or ``service=``, ``subtype=`` and ``app_data=`` (bytes). Other
    keywords: ``apid`` (0x240), ``seq``, ``ack`` (0x9), ``source_id`` (1), ``layer``
    (``"packet"``, ``"frame"`` or ``"cltu"``), ``frame_seq``, ``bypass``, ``randomise``.
    Raises :class:`RequestError` with the CLI's message for a bad request.

    >>> encode_tc("test are-you-alive").hex()
    '1a40c000000629110100017655'
    """
    return _native.tc_encode(request, **fields)


def decode_tc(data: bytes, layer: str = "packet", *, randomised: bool = False, allow_bad_crc: bool = False) -> dict[str, Any]:
    """Decodes a telecommand (``eic-bench tc decode``): the dict it prints as JSON.

    >>> decode_tc(encode_tc("test are-you-alive"))["subtype"]
    1
    """
    return _native.tc_decode(data, layer, randomised=randomised, allow_bad_crc=allow_bad_crc)


# ---------------------------------------------------------------------------------------------
# Events: simulate, read


@dataclasses.dataclass
class Events:
    """Events with their attitude and orbit samples (numpy structured arrays).

    ``events`` has :data:`EVENT_DTYPE`, ``attitude`` :data:`ATTITUDE_DTYPE`, ``orbit``
    :data:`ORBIT_DTYPE`; ``summary`` is the simulator's summary (``simulate --json``) or None.
    """

    events: np.ndarray
    attitude: np.ndarray
    orbit: np.ndarray
    summary: dict[str, Any] | None = None

    def __len__(self) -> int:
        return len(self.events)


def simulate(
    scenario: dict[str, Any] | PathLike,
    *,
    seed: int | None = None,
    duration_s: float | None = None,
    output: PathLike | None = None,
    csv: bool = False,
    threads: int | None = None,
) -> Any:
    """Runs the seeded simulator (``eic-bench simulate``, ``docs/simulate.md``).

    ``scenario`` is a TOML file path or a dict with the same keys (``{"seed": 1, "start":
    "2026-03-01T12:00:00Z", "duration_s": 60, "burst": [{"time_s": 10, ...}]}``). ``seed`` and
    ``duration_s`` override the scenario's. Without ``output`` the result is an
    :class:`Events` in memory; with ``output`` the ICD §6 file triplet (and the CSV if ``csv``)
    is written there, streaming, and the result is ``{"summary", "files", "seed"}``. Raises
    :class:`ScenarioError` (origin, line, column) for a bad scenario.

    >>> ev = simulate({"seed": 1, "start": "2026-03-01T12:00:00Z", "duration_s": 2})  # doctest: +SKIP
    >>> ev.events.dtype == EVENT_DTYPE                                              # doctest: +SKIP
    True
    """
    if output is not None:
        return _native.simulate_files(scenario, output, seed=seed, duration_s=duration_s, csv=csv, threads=threads)
    e, a, o, summary = _native.simulate_arrays(scenario, seed=seed, duration_s=duration_s, threads=threads)
    return Events(_view(e, EVENT_DTYPE), _view(a, ATTITUDE_DTYPE), _view(o, ORBIT_DTYPE), summary)


def read_events(path: PathLike) -> Events:
    """Reads an event file (FITS ``EVENTS`` table or CSV) or a triplet directory (events,
    attitude, orbit) into memory. Raises :class:`InputError` with the file, HDU/row/column or
    line of the first defect. For files larger than memory use :func:`iter_events`."""
    e, a, o = _native.read_events_arrays(path)
    return Events(_view(e, EVENT_DTYPE), _view(a, ATTITUDE_DTYPE), _view(o, ORBIT_DTYPE))


def iter_events(path: PathLike, chunk: int = 1 << 20) -> Iterator[np.ndarray]:
    """Streams the events of a file or triplet in arrays of at most ``chunk`` events
    (:data:`EVENT_DTYPE`): memory stays bounded whatever the file size.

    >>> total = sum(len(c) for c in iter_events("sim/ECL-EVT-SEC_sim.fits"))  # doctest: +SKIP
    """
    for buf in _native.iter_event_chunks(path, chunk):
        yield _view(buf, EVENT_DTYPE)


# ---------------------------------------------------------------------------------------------
# Replay through the on-board trigger


@dataclasses.dataclass
class ReplayResult:
    """What a replay gave.

    ``alerts``: one dict per alert, the JSON object of ``eic-bench replay --local --json``
    (``notice`` is the GCN notice; ``trigger_type``, ``image_snr``, ``window_s``, ...) plus
    ``image`` (a 199 × 199 ``float32`` SNR map, row-major as ``docs/replay.md``) when the replay
    asked for images. ``events``, ``packets``, ``octets``: what was fed; ``stats``: the
    trigger's counters; ``attitudes``: the quaternion in force at each alert.
    """

    alerts: list[dict[str, Any]]
    events: int
    packets: int
    octets: int
    stats: dict[str, int]
    attitudes: list[list[float]]


def _as_records(arr: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``arr`` itself when it has ``dtype``, else a copy with it (fields by name)."""
    if arr.dtype == dtype:
        return arr
    out = np.empty(len(arr), dtype)
    for name in dtype.names or ():
        out[name] = arr[name]
    return out


def replay(
    source: PathLike | Events | np.ndarray,
    tables: TableSet | PathLike | None = None,
    *,
    attitude: np.ndarray | None = None,
    orbit: np.ndarray | None = None,
    images: bool = False,
) -> ReplayResult:
    """Replays events through the on-board trigger in this process (``replay --local``): the
    same stimulus frames and the same trigger code, so the same alerts.

    ``source`` is an event file or triplet directory, an :class:`Events`, or an events array
    (:data:`EVENT_DTYPE`, borrowed without a copy; other dtypes with the same field names are
    converted), with optional ``attitude`` and ``orbit`` arrays. Without attitude the default
    pointing (RA 0°, Dec 0°, roll 0°) is sent first, as the CLI does. ``tables`` is a
    :class:`TableSet`, a table directory, or None for the default set. ``images=True`` adds
    each alert's sky image as a numpy array (owned by the result, no copy).

    Runs with the GIL released; Ctrl-C raises ``KeyboardInterrupt`` within a fraction of a
    second.
    """
    tset = tables if isinstance(tables, TableSet) or tables is None else os.fspath(tables)
    if isinstance(source, (str, os.PathLike)):
        if attitude is not None or orbit is not None:
            raise TypeError("attitude and orbit go with event arrays; a file brings its own triplet")
        out = _native.replay_file(source, tset, images=images)
    else:
        if isinstance(source, Events):
            attitude = source.attitude if attitude is None else attitude
            orbit = source.orbit if orbit is None else orbit
            source = source.events
        ev = _as_records(np.asarray(source), EVENT_DTYPE)
        att = _as_records(np.asarray(attitude), ATTITUDE_DTYPE) if attitude is not None else np.zeros(0, ATTITUDE_DTYPE)
        orb = _as_records(np.asarray(orbit), ORBIT_DTYPE) if orbit is not None else np.zeros(0, ORBIT_DTYPE)
        # lon, lat, alt are consecutive f8 fields: an (n, 3) view of them, no copy.
        orb_xyz = np.lib.stride_tricks.as_strided(orb["lon_deg"], shape=(len(orb), 3), strides=(orb.strides[0], 8))
        out = _native.replay_columns(
            ev["tick"], ev["y"], ev["z"], ev["pha"], ev["mult"], att["tick"], att["q"], orb["tick"], orb_xyz, tset, images=images
        )
    return ReplayResult(**out)


# ---------------------------------------------------------------------------------------------
# Regression campaigns


def regress(
    suite: PathLike,
    baseline: PathLike,
    candidate: PathLike | None = None,
    *,
    target: str = "local",
    jobs: int | None = None,
    output: PathLike | None = None,
) -> dict[str, Any]:
    """Runs a regression campaign in this process (``eic-bench regress run``,
    ``docs/regress.md``) on every core (``jobs`` workers if given): the suite through the
    baseline and candidate table directories on ``target`` (``"local"``: the on-board trigger;
    ``"model"``: the seeded statistical model). Writes ``report.json``, ``report.html``,
    ``junit.xml`` and ``results.json`` into ``output`` when given. Returns the report (the dict
    of ``report.json``); ``report["verdict"]["regression"]`` is the verdict."""
    return _native.regress_run(suite, baseline, candidate, target=target, jobs=jobs, output=output)


def load_report(path: PathLike) -> dict[str, Any]:
    """Loads a campaign's ``report.json`` (checked against the report structure; raises
    :class:`InputError` with line and column otherwise)."""
    return _native.load_report(path)
