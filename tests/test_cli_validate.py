"""``assetmap validate``: exit codes, JSON shape, messages, no traceback, nothing written."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import Point, box

from assetmap.cli import main

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent
EXE = ROOT / ".venv" / "bin" / "assetmap"


@pytest.fixture
def sealed(tmp_path, monkeypatch):
    """Inputs copied into tmp_path/in; asserts nothing new appears there, in the temp dir
    or in the working directory."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    inbox = tmp_path / "in"
    inbox.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    cwd_before = sorted(os.listdir(os.getcwd()))
    yield inbox
    assert list(scratch.iterdir()) == []
    assert sorted(os.listdir(os.getcwd())) == cwd_before


def _put(inbox: Path, name: str) -> Path:
    return Path(shutil.copy(DATA / name, inbox / name))


def _run(capsys, *args: str) -> tuple[int, dict | None, str, str]:
    rc = main(["validate", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Traceback" not in out
    doc = json.loads(out) if "--json" in args else None
    return rc, doc, out, err


def _expect_clean_dir(inbox: Path, *names: str) -> None:
    assert sorted(os.listdir(inbox)) == sorted(names)


# (file, kind, exit code, rows_read, rows_loaded, n errors, text that must appear in a message)
CASES = [
    ("partners_cp1252.csv", "partners", 0, 3, 3, 0, "Windows-1252"),
    ("partners_bom.csv", "partners", 0, 3, 3, 0, "byte-order mark"),
    ("partners_semicolon.csv", "partners", 0, 2, 2, 0, None),
    ("partners_ct_zip.csv", "partners", 0, 2, 2, 0, "leading zero"),
    ("partners_ragged.csv", "partners", 0, 6, 3, 3, "6 fields but the header has 5"),
    ("partners_swapped.csv", "partners", 0, 3, 3, 1, "swapped"),
    ("partners_merged_title.xlsx", "partners", 0, 2, 2, 0, "footer"),
    ("partners_formula.xlsx", "partners", 0, 2, 2, 1, "formula without a saved value"),
    ("partners_null_geometry.geojson", "partners", 0, 3, 3, 0, "no location"),
    ("partners_nonfinite.geojson", "partners", 0, 4, 4, 3, "NaN or Infinity"),
    ("partners_legacy_crs.geojson", "partners", 0, 2, 2, 0, "EPSG:2234"),
    ("partners_no_prj_2234.zip", "partners", 2, 2, 0, 1, "EPSG:2234"),
    ("boundaries_unclosed_ring.geojson", "boundaries", 0, 3, 3, 0, "repaired"),
    ("boundaries_self_intersection.geojson", "boundaries", 0, 3, 3, 0, "Self-intersection"),
    ("boundaries_mixed_types.geojson", "boundaries", 0, 4, 2, 2, "must be polygons"),
    ("boundaries_dbf_truncated.zip", "boundaries", 0, 2, 2, 0, None),
]


@pytest.mark.parametrize(("name", "kind", "rc", "read", "loaded", "nerr", "text"), CASES)
def test_validate_json_for_every_hazard_fixture(
    capsys, sealed, name, kind, rc, read, loaded, nerr, text
):
    path = _put(sealed, name)
    code, doc, _, _ = _run(capsys, str(path), "--kind", kind, "--json")
    assert code == rc
    base = {"file", "kind", "rows_read", "rows_loaded", "errors", "warnings", "mapping"}
    assert base <= set(doc) <= base | {"layout", "categories", "category_other"}
    assert (doc["file"], doc["kind"]) == (name, kind)
    if loaded:
        assert {"field", "column", "confidence"} <= set(doc["mapping"][0])
    assert (doc["rows_read"], doc["rows_loaded"]) == (read, loaded)
    assert len(doc["errors"]) == nerr
    for p in doc["errors"] + doc["warnings"]:
        assert set(p) == {"row", "column", "value", "message", "hint"}
    if text:
        assert any(text in p["message"] + " " + p["hint"] for p in doc["errors"] + doc["warnings"])
    _expect_clean_dir(sealed, name)


def test_human_output_names_file_row_and_column(capsys, sealed):
    path = _put(sealed, "partners_formula.xlsx")
    code, _, out, _ = _run(capsys, str(path))
    assert code == 0
    assert "partners_formula.xlsx: 2 of 2 rows loaded, 1 errors" in out
    assert "partners_formula.xlsx, row 2, column 'capacity': formula without a saved value" in out


def test_missing_shx_exits_2_naming_the_part(capsys, sealed):
    path = _put(sealed, "boundaries_no_shx.zip")
    code, _, _, err = _run(capsys, str(path), "--kind", "boundaries")
    assert code == 2
    assert "boundaries_no_shx.zip" in err and "districts.shx" in err
    _expect_clean_dir(sealed, "boundaries_no_shx.zip")


def test_missing_shx_with_json_still_prints_one_object(capsys, sealed):
    path = _put(sealed, "boundaries_no_shx.zip")
    code, doc, _, _ = _run(capsys, str(path), "--kind", "boundaries", "--json")
    assert code == 2 and doc["rows_loaded"] == 0
    assert "districts.shx" in doc["errors"][0]["message"]


def test_no_prj_with_crs_option_loads(capsys, sealed):
    path = _put(sealed, "partners_no_prj_2234.zip")
    code, doc, _, _ = _run(capsys, str(path), "--crs", "EPSG:2234", "--json")
    assert code == 0 and doc["rows_loaded"] == 2


@pytest.mark.parametrize(
    ("name", "data", "needle"),
    [
        ("empty.csv", b"", "the file is empty"),
        ("junk.csv", bytes(range(256)) * 8, "binary data"),
        ("header_only.csv", b"name,lat,lon\n", "nothing usable"),
        ("nocols.csv", b"foo,bar\n1,2\n", "required column(s) missing"),
        ("junk.geojson", b"\x00\x01\x02", "not a GeoJSON"),
        ("junk.gpkg", b"SQLite format 3\x00" + b"\x00" * 200, "junk.gpkg"),
    ],
)
def test_unusable_files_exit_2_with_a_message(capsys, sealed, name, data, needle):
    path = sealed / name
    path.write_bytes(data)
    code, _, out, err = _run(capsys, str(path))
    assert code == 2
    assert needle in out + err
    _expect_clean_dir(sealed, name)


def test_deep_nesting_exits_2(capsys, sealed):
    path = sealed / "deep.geojson"
    path.write_bytes(
        b'{"type":"FeatureCollection","features":[' + b"[" * 50_000 + b"]" * 50_000 + b"]}"
    )
    code, _, _, err = _run(capsys, str(path))
    assert code == 2 and "deep.geojson" in err and "nested" in err


def test_zip_traversal_exits_2_and_writes_nothing(capsys, sealed, tmp_path):
    path = sealed / "evil.zip"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("../../evil.txt", "owned")
        zf.writestr("..\\..\\evil_backslash.txt", "owned")
    path.write_bytes(buf.getvalue())
    code, _, _, err = _run(capsys, str(path))
    assert code == 2 and "'../../evil.txt'" in err
    _expect_clean_dir(sealed, "evil.zip")
    assert not any(p.name.startswith("evil") for p in tmp_path.rglob("*") if p.name != "evil.zip")


def test_zip_bomb_exits_2(capsys, sealed):
    path = sealed / "bomb.zip"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("bomb.shp", b"\x00" * (8 * 1024 * 1024))
    path.write_bytes(buf.getvalue())
    code, _, _, err = _run(capsys, str(path))
    assert code == 2 and "zip bomb" in err


def test_multi_layer_gpkg_layer_choice(capsys, sealed):
    path = sealed / "two.gpkg"
    pyogrio.write_dataframe(
        gpd.GeoDataFrame({"name": ["D"]}, geometry=[box(-72.7, 41.7, -72.6, 41.8)], crs=4326),
        path,
        layer="districts",
    )
    pyogrio.write_dataframe(
        gpd.GeoDataFrame(
            {"name": ["S1", "S2"]}, geometry=[Point(-72.6, 41.7), Point(-72.5, 41.7)], crs=4326
        ),
        path,
        layer="sites",
    )
    code, doc, _, _ = _run(capsys, str(path), "--json")
    assert code == 0 and doc["rows_loaded"] == 1
    assert any("'sites'" in w["message"] for w in doc["warnings"])
    code, doc, _, _ = _run(capsys, str(path), "--layer", "sites", "--json")
    assert code == 0 and doc["rows_loaded"] == 2 and doc["warnings"] == []
    code, _, _, err = _run(capsys, str(path), "--layer", "nope")
    assert code == 2 and "no layer 'nope'" in err
    _expect_clean_dir(sealed, "two.gpkg")


def test_sheet_option(capsys, sealed):
    path = _put(sealed, "partners_merged_title.xlsx")
    code, _, _, err = _run(capsys, str(path), "--sheet", "Notes")
    assert code == 2  # the notes sheet has no partner columns
    code, doc, _, _ = _run(capsys, str(path), "--sheet", "Partners", "--json")
    assert code == 0 and doc["rows_loaded"] == 2


def test_hsds_package_validates(capsys):
    code, doc, _, _ = _run(capsys, str(DATA / "hsds" / "csv"), "--json")
    assert code == 0 and doc["rows_loaded"] == 1 and doc["file"] == "csv"


def test_survey_kind(capsys, sealed):
    path = sealed / "survey.csv"
    path.write_text("response_id,school_id,home_language,needs\nr1,0640111,español,food\n")
    code, doc, _, _ = _run(capsys, str(path), "--kind", "survey", "--json")
    assert code == 0 and doc["kind"] == "survey" and doc["rows_loaded"] == 1


def test_missing_file_and_url_exit_2(capsys):
    code, _, _, err = _run(capsys, "/nonexistent/partners.csv")
    assert code == 2 and "file not found" in err
    code, _, _, err = _run(capsys, "https://example.com/p.csv")
    assert code == 2 and "not a local file" in err


def test_bad_kind_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["validate", "x.csv", "--kind", "people"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_console_script_never_prints_a_traceback(tmp_path):
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"PK\x03\x04garbage" * 10)
    cmd = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "assetmap"]
    bad = subprocess.run(
        [*cmd, "validate", str(junk)], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr and "junk.xlsx" in bad.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["junk.xlsx"]
