"""Reports that explain: workbook sheet picking (hidden sheets ignored and reported), the
mapping a person chose on the Data page wins, and a failed import says per file what is
missing and which columns come closest."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd
import pytest

from assetmap.cli import main
from assetmap.onboard import suggest_mapping
from assetmap.schema import load_file, normalize_partners
from assetmap.settings import get_settings


def _workbook() -> bytes:
    wb = openpyxl.Workbook()
    ins = wb.active
    ins.title = "Instructions"
    ins["A1"] = "Fill in the Partners sheet, one row per site. Do not rename the columns."
    ins["A2"] = "Questions: data@example.org"
    old = wb.create_sheet("Old list")
    old.append(["Site Name", "Address", "Town", "Latitude", "Longitude", "Type"])
    old.append(["Hidden Old Site", "1 Elm St", "Hartford", "41.76", "-72.68", "library"])
    old.sheet_state = "hidden"
    part = wb.create_sheet("Partners")
    part.append(["Site Name", "Address", "Town", "Latitude", "Longitude", "Type"])
    part.append(["Hartford Public Library", "500 Main St", "Hartford", "41.7637", "-72.6851",
                 "library"])  # fmt: skip
    part.append(["Elm Street Pantry", "12 Elm St", "Hartford", "41.76", "-72.69", "food pantry"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_workbook_sheet_with_the_best_header_is_read_and_hidden_sheets_reported():
    frame, rep = load_file(_workbook(), name="coalition.xlsx")
    assert rep.notes["sheet"] == "Partners"
    assert list(frame["name"]) == ["Hartford Public Library", "Elm Street Pantry"]
    msgs = [p.message for p in rep.warnings]
    assert any("hidden sheet(s) ignored: 'Old list'" in m for m in msgs)
    assert any("read 'Partners'" in m for m in msgs)
    frame, rep = load_file(_workbook(), name="coalition.xlsx", sheet="Old list")
    assert list(frame["name"]) == ["Hidden Old Site"]  # asked for by name: read


def test_a_person_s_mapping_wins_and_layout_columns_keep_their_meaning():
    raw = pd.DataFrame(
        {
            "LIBNAME": ["ANDOVER PUBLIC LIBRARY"],
            "C_OUT_TY": ["CE"],
            "HOURS": ["2732"],
            "LATITUDE": ["41.7395"],
            "LONGITUD": ["-72.3748"],
            "Notes": ["main library"],
        }
    )
    sugg = {s.source_column: s.canonical for s in suggest_mapping(list(raw.columns))}
    assert sugg["LIBNAME"] == "name" and sugg["HOURS"] is None  # annual hours, not opening
    sugg["Notes"] = "description"
    gdf, rep = normalize_partners(raw, mapping=sugg)
    assert gdf.loc[0, "description"] == "main library" and gdf.loc[0, "hours"] == ""
    assert gdf.loc[0, "category"] == "library"


@pytest.fixture
def var_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSETMAP_GEOCODE_CACHE_PATH", str(tmp_path / "var" / "cache.sqlite"))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_failed_import_lists_missing_fields_and_closest_columns(var_dir, capsys):
    bad = var_dir / "sites.csv"
    bad.write_text("Organisation Title,Where,Kind\nA,1 Main St,library\n", encoding="utf-8")
    worse = var_dir / "list.csv"
    worse.write_text("x\n1\n", encoding="utf-8")
    code = main(["import", str(bad), str(worse), "--out", str(var_dir / "o.csv"), "--no-geocode"])
    text = capsys.readouterr().err
    assert code == 2 and "Traceback" not in text
    assert "sites.csv: missing name (closest columns: 'Organisation Title')" in text
    assert "list.csv: missing name (closest columns: none)" in text
