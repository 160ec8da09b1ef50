"""The package's docstring examples run (those that need files are marked +SKIP), and the
stubs cover the extension module."""

from __future__ import annotations

import doctest
import pathlib

import eic_bench as eb
from eic_bench import _native


def test_docstring_examples():
    result = doctest.testmod(eb, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted >= 3


def test_stubs_name_every_public_native_function_and_class():
    stub = (pathlib.Path(_native.__file__).parent / "_native.pyi").read_text()
    public = [n for n in dir(_native) if not n.startswith("_")]
    missing = [n for n in public if f"def {n}(" not in stub and f"class {n}" not in stub and f"{n}:" not in stub]
    assert missing == []
    assert (pathlib.Path(_native.__file__).parent / "py.typed").exists()
