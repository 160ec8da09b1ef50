"""Tables: load, validate (the unit's validator), diff, text/FITS forms, images."""

from __future__ import annotations

import json

import pytest

import eic_bench as eb
from conftest import run_cli


def test_load_validate_and_diff_like_the_cli(root, cli, tmp_path):
    a = eb.TableSet.load(root / "examples/workplan-tables")
    b = eb.TableSet.load(root / "examples/regress/candidate-raised-imt")
    assert a.validate() == []
    a.check()
    cli_diff = json.loads(run_cli(cli, "tables", "diff", "examples/workplan-tables", "examples/regress/candidate-raised-imt", "--json").stdout)
    assert a.diff(b) == cli_diff
    assert a.diff_text(b) == run_cli(cli, "tables", "diff", "examples/workplan-tables", "examples/regress/candidate-raised-imt").stdout
    assert a.diff(a) == {"tables": []}
    assert a.dir is not None and "workplan-tables" in str(a.dir)
    assert eb.table_keys() == ["pixels", "bands", "crt", "imt", "catalog", "saa", "alert"]


def test_problems_name_table_entry_and_field(root, cli, tmp_path):
    base = eb.TableSet.load(root / "examples/workplan-tables")
    bad = base.with_text("alert", base.to_text("alert").replace("min_alert_snr = 6.5", "min_alert_snr = -1.0"))
    problems = bad.validate()
    assert problems, "a negative alert SNR must be refused"
    p = problems[0]
    assert p["table"] == "alert" and p["field"] and p["message"] and len(bytes.fromhex(p["compact"])) == 5
    bad.save(tmp_path / "bad")
    cli_out = run_cli(cli, "tables", "validate", str(tmp_path / "bad"), "--json", check=False)
    assert cli_out.returncode == 2
    assert problems == json.loads(cli_out.stdout)["problems"]
    with pytest.raises(eb.InvalidTablesError, match="problem") as e:
        bad.check()
    assert e.value.problems == problems
    with pytest.raises(eb.InvalidTablesError):
        bad.images()  # no image of an invalid set, as `tables build`


def test_text_errors_have_file_line_and_column(root, tmp_path):
    base = eb.TableSet.load(root / "examples/workplan-tables")
    with pytest.raises(eb.TablesError, match="alert.toml:") as e:
        base.with_text("alert", "version = 1\nmin_alert_snr = [\n")
    assert e.value.path == "alert.toml" and e.value.line is not None
    broken = tmp_path / "t"
    base.save(broken)
    (broken / "crt.toml").write_text("version = 2\nimage_snr = \"high\"\n")
    with pytest.raises(eb.TablesError, match="crt.toml:2:") as e:
        eb.TableSet.load(broken)
    assert e.value.line == 2
    with pytest.raises(eb.InputError, match="no such directory"):
        eb.TableSet.load(tmp_path / "missing")
    with pytest.raises(ValueError, match="unknown table"):
        base.to_text("pixel")


def test_save_reload_from_texts_and_images(root, tmp_path):
    base = eb.TableSet.load(root / "examples/workplan-tables")
    base.save(tmp_path / "copy")
    assert eb.TableSet.load(tmp_path / "copy") == base
    texts = {k: base.to_text(k) for k in eb.table_keys()}
    assert eb.TableSet.from_texts(texts) == base
    assert eb.TableSet.from_texts({"alert.toml": base.to_text("alert")}, base=base) == base
    images = base.images()
    assert list(images) == eb.table_keys()
    for key, img in images.items():
        assert img == base.image(key)
    assert eb.TableSet.from_images(list(images.values())) == base
    assert eb.TableSet.defaults() != base
    assert eb.TableSet.defaults().validate() == []
    assert base.version("crt") == 2


def test_build_images_match_the_cli(root, cli, tmp_path):
    base = eb.TableSet.load(root / "examples/workplan-tables")
    run_cli(cli, "tables", "build", "examples/workplan-tables", "-o", str(tmp_path / "build"))
    for key, img in base.images().items():
        assert (tmp_path / "build" / f"{key}.bin").read_bytes() == img


def test_fits_round_trip(root, tmp_path):
    base = eb.TableSet.load(root / "examples/workplan-tables")
    base.write_fits(tmp_path / "cal.fits")
    data = (tmp_path / "cal.fits").read_bytes()
    assert data[:30].startswith(b"SIMPLE  =") and len(data) % 2880 == 0
    assert base.with_fits(tmp_path / "cal.fits") == base
    other = eb.TableSet.defaults(seed=5)  # other gains and offsets
    other.write_fits(tmp_path / "other.fits")
    assert other.with_fits(tmp_path / "other.fits") == other
    assert base.with_fits(tmp_path / "other.fits") != base
    (tmp_path / "bad.fits").write_bytes(data[:2880])
    with pytest.raises(eb.TablesError, match="bad.fits"):
        base.with_fits(tmp_path / "bad.fits")
