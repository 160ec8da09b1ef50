"""Type stubs of the Rust extension module ``eic_bench._native`` (the bench library through
pyo3). Use the documented wrappers of :mod:`eic_bench`; these are their building blocks."""

import os
from collections.abc import Iterator
from typing import Any, Union

import numpy as np
import numpy.typing as npt

_Path = Union[str, os.PathLike[str]]

__version__: str
EVENT_ITEMSIZE: int
ATTITUDE_ITEMSIZE: int
ORBIT_ITEMSIZE: int

class EicError(Exception):
    """Base class of every bench error; ``str()`` is the Rust message with its location."""

class InputError(EicError):
    """An input file that cannot be read or is damaged."""

    path: str | None
    place: str | None
    line: int | None
    column: str | None

class TablesError(EicError):
    """A table file that cannot be read or parsed."""

    path: str | None
    line: int | None
    column: str | None

class InvalidTablesError(EicError):
    """A table set the validator refuses."""

    problems: list[dict[str, Any]]

class ScenarioError(EicError):
    """A scenario or suite that cannot be used."""

    origin: str | None
    line: int | None
    column: int | None

class RequestError(EicError):
    """A telecommand that cannot be encoded or decoded."""

class TmReader(Iterator[dict[str, Any]]):
    """Lazy telemetry decoder: one dict per packet or error."""

    def __iter__(self) -> TmReader: ...
    def __next__(self) -> dict[str, Any]: ...
    @property
    def summary(self) -> dict[str, int] | None: ...
    @property
    def damaged(self) -> bool | None: ...

def tm_decode(source: _Path | bytes, layer: str = "cadu") -> TmReader: ...
def tc_encode(
    request: str | None = None,
    *,
    service: int | None = None,
    subtype: int | None = None,
    app_data: bytes | None = None,
    apid: int = 0x240,
    seq: int = 0,
    ack: int = 0x9,
    source_id: int = 1,
    layer: str = "packet",
    frame_seq: int = 0,
    bypass: bool = False,
    randomise: bool = False,
) -> bytes: ...
def tc_decode(data: bytes, layer: str = "packet", *, randomised: bool = False, allow_bad_crc: bool = False) -> dict[str, Any]: ...

class TableSet:
    """The seven tables of the instrument (pixels, bands, crt, imt, catalog, saa, alert)."""

    @staticmethod
    def load(dir: _Path) -> TableSet:
        """Loads a table directory; TablesError with file, line and column."""
    @staticmethod
    def defaults(seed: int | None = None) -> TableSet:
        """The factory default set (or the one generated from ``seed``)."""
    @staticmethod
    def from_texts(texts: dict[str, str], base: TableSet | None = None) -> TableSet:
        """A set from text forms by file name or table key; the rest from ``base``."""
    @staticmethod
    def from_images(images: list[bytes]) -> TableSet:
        """A set from binary table images."""
    @property
    def dir(self) -> str | None: ...
    def validate(self) -> list[dict[str, Any]]:
        """The unit's validator: problem dicts (table, entry, field, message, ...)."""
    def check(self) -> None:
        """Raises InvalidTablesError (with .problems) unless valid."""
    def version(self, table: str) -> int: ...
    def to_text(self, table: str) -> str: ...
    def with_text(self, table: str, text: str) -> TableSet: ...
    def save(self, dir: _Path) -> None: ...
    def image(self, table: str) -> bytes: ...
    def images(self) -> dict[str, bytes]: ...
    def write_fits(self, path: _Path) -> None: ...
    def with_fits(self, path: _Path) -> TableSet: ...
    def diff(self, other: TableSet) -> list[dict[str, Any]]: ...
    def diff_text(self, other: TableSet) -> str: ...
    def __eq__(self, other: object) -> bool: ...

def table_keys() -> list[str]: ...
def simulate_arrays(
    scenario: dict[str, Any] | _Path, *, seed: int | None = None, duration_s: float | None = None, threads: int | None = None
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8], npt.NDArray[np.uint8], dict[str, Any]]: ...
def simulate_files(
    scenario: dict[str, Any] | _Path,
    output: _Path,
    *,
    seed: int | None = None,
    duration_s: float | None = None,
    csv: bool = False,
    threads: int | None = None,
) -> dict[str, Any]: ...
def read_events_arrays(path: _Path) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8], npt.NDArray[np.uint8]]: ...

class EventChunks(Iterator[npt.NDArray[np.uint8]]):
    def __iter__(self) -> EventChunks: ...
    def __next__(self) -> npt.NDArray[np.uint8]: ...
    @property
    def events_read(self) -> int: ...

def iter_event_chunks(path: _Path, chunk: int = ...) -> EventChunks: ...
def replay_file(path: _Path, tables: TableSet | _Path | None = None, *, images: bool = False) -> dict[str, Any]: ...
def replay_columns(
    tick: npt.NDArray[np.uint64],
    y: npt.NDArray[np.uint8],
    z: npt.NDArray[np.uint8],
    pha: npt.NDArray[np.uint16],
    mult: npt.NDArray[np.uint8],
    att_tick: npt.NDArray[np.uint64],
    att_q: npt.NDArray[np.float64],
    orb_tick: npt.NDArray[np.uint64],
    orb: npt.NDArray[np.float64],
    tables: TableSet | _Path | None = None,
    *,
    images: bool = False,
) -> dict[str, Any]: ...
def regress_run(
    suite: _Path,
    baseline: _Path,
    candidate: _Path | None = None,
    *,
    target: str = "local",
    jobs: int | None = None,
    output: _Path | None = None,
) -> dict[str, Any]: ...
def load_report(path: _Path) -> dict[str, Any]: ...
