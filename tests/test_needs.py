"""Survey ingest: PII stripped on reading, languages/needs normalised, schools matched."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
from shapely.geometry import Point

from assetmap._errors import InputError
from assetmap.needs import (
    build_profile,
    detect_pii_columns,
    read_survey,
    school_profile,
)

DATA = Path(__file__).parent / "data"
PII_VALUES = [
    "Zeldwhistle",
    "Quixby",
    "Marzipan",
    "example.org",
    "9900000001",
    "Quillfeather",
    "860-555-1001",
    "860-555-2001",
    "2015-01-10",
]


@pytest.fixture(scope="module")
def schools():
    return gpd.GeoDataFrame(
        {
            "school_id": ["0640611", "0640711", "0640811", "0640911"],
            "name": [
                "Burns Latino Studies Academy",
                "Dwight-Bellizzi Dual Language Academy",
                "M. D. Fox School",
                "Environmental Sciences Magnet at Hooker School",
            ],
            "district_id": ["0640011"] * 4,
            "nces_st_schid": [f"CT-0640011-0640{i}11" for i in (6, 7, 8, 9)],
        },
        geometry=[
            Point(-72.68, 41.75),
            Point(-72.70, 41.74),
            Point(-72.69, 41.77),
            Point(-72.70, 41.78),
        ],
        crs="EPSG:4326",
    )


def test_pii_columns_dropped_and_reported_by_name_only(schools, caplog):
    caplog.set_level(logging.DEBUG)
    responses, report = read_survey(DATA / "survey_pii.csv", schools=schools)
    dropped = set(report.notes["pii_columns_dropped"])
    assert {
        "Student Name",
        "Parent/Guardian Name",
        "Email",
        "SASID",
        "Date of Birth",
        "Home Address",
        "Phone",
        "contact_notes",
    } <= dropped
    text = json.dumps(report.to_dict()) + responses.to_json() + caplog.text
    text += " ".join(p.describe() for p in report.problems)
    for value in PII_VALUES:
        assert value not in text, value
    assert not (set(responses.columns) & dropped)


def test_pii_detected_by_content_under_harmless_headers():
    frame = pd.DataFrame(
        {
            "school_id": ["0640611"] * 3,
            "contact": ["a@b.org", "", "c@d.com"],
            "info": ["(860) 555-0100", "", "860.555.0101"],
            "kid": ["2014-03-07", "2013-11-02", "2015-01-30"],
            "home": ["12 Main St", "", "7 Oak Avenue"],
            "submitted_on": ["2019-10-01", "2019-10-02", "2019-10-03"],
            "needs": ["food", "housing", "legal"],
            "household_zip": ["06106", "06120", "06114"],
        }
    )
    found = detect_pii_columns(frame)
    assert set(found) == {"contact", "info", "kid", "home"}
    assert all("content" in why for why in found.values())


def test_schools_matched_by_id_nces_form_and_name(schools):
    responses, report = read_survey(DATA / "survey_pii.csv", schools=schools)
    counts = responses.groupby("school_id").size().to_dict()
    assert counts == {"0640611": 14, "0640711": 14, "0640811": 14, "0640911": 3}


def test_unmatched_schools_and_unknown_values_reported(schools):
    csv = (
        b"response_id,school_id,home_language,needs\n"
        b"r1,9999999,Klingonish,food;flying lessons\n"
        b"r2,0640611,Kreyol,food pantry\n"
        b"r3,Burns Latino Studies Acad.,Creole,housing\n"
    )
    responses, report = read_survey(csv, name="s.csv", schools=schools)
    assert len(responses) == 2
    msgs = [p for p in report.problems]
    unmatched = [p for p in msgs if "school not found" in p.message]
    assert unmatched and unmatched[0].row == 2 and unmatched[0].value == "9999999"
    creole = [p for p in msgs if p.value == "Creole"]
    assert creole and creole[0].row == 4 and creole[0].column == "home_language"
    r2 = responses.set_index("row").loc[3]
    assert r2["language"] == "ht" and r2["needs"] == ["food"]
    assert responses.set_index("row").loc[4, "language"] == "und"


def test_excel_survey_and_weights(schools, tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["School ID", "Home Language", "Needs", "Weight", "Parent Name"])
    for i in range(10):
        ws.append(["0640611", "Español", "food", "2.5", f"Secretname{i}"])
    ws.append(["0640611", "English", "housing", "", "Secretname99"])
    path = tmp_path / "survey.xlsx"
    wb.save(path)
    responses, report = read_survey(path, schools=schools)
    assert report.notes["pii_columns_dropped"] == ["Parent Name"]
    profile = build_profile(responses)
    pub = school_profile(profile, "0640611")
    total = pub[pub["dimension"] == "total"].iloc[0]
    # 10 x 2.5 + 1 = 26; shown with food 25 (all Spanish) it would pin English to 1 through
    # food x Spanish <= Spanish (issue 10), so the total is hidden
    assert total["count"] is None and total["suppressed"]
    food = pub[(pub["dimension"] == "need") & (pub["need"] == "food")].iloc[0]
    assert food["count"] == 25
    assert "Secretname" not in responses.to_json()


def test_aggregated_form(schools):
    csv = (
        b"school_id,need,language,count\n"
        b"0640611,total,es,30\n0640611,total,en,12\n"
        b"0640611,food,es,20\n0640611,food,en,8\n0640611,legal,es,7\n"
    )
    responses, report = read_survey(csv, name="agg.csv", schools=schools)
    pub = school_profile(build_profile(responses), "0640611")

    def get(dim, need=None, lang=None):
        return pub[
            (pub["dimension"] == dim)
            & (pub["need"].fillna("") == (need or ""))
            & (pub["language"].fillna("") == (lang or ""))
        ].iloc[0]

    assert get("total")["count"] == 42
    assert get("language", lang="es")["count"] == 30
    assert get("need", "food")["count"] == 28
    assert get("need_language", "food", "es")["count"] == 20


def test_profile_public_api_shows_only_suppressed_figures(schools):
    responses, _ = read_survey(DATA / "survey_pii.csv", schools=schools)
    profile = build_profile(responses, schools=schools)
    assert "0640611" not in repr(profile) and "14" not in repr(profile)
    tiny = school_profile(profile, "0640911")
    assert list(tiny["display"]) == ["fewer than 6 responses"]
    pub = profile.published()
    shown = pd.to_numeric(pub["count"], errors="coerce")
    assert not ((shown >= 1) & (shown <= 5)).any()


def test_no_usable_rows_is_an_input_error(schools):
    with pytest.raises(InputError) as exc:
        read_survey(io.BytesIO(b"").getvalue() or b"a,b\n1,2\n", name="x.csv", schools=schools)
    assert exc.value.report is not None


def _grid_by_merges(profile, include_districts):
    """The suppression grid as a cross merge of schools and the layout, then a left merge of
    the counts (what ``NeedProfile._grid`` builds by position)."""
    sch = profile._schools[["school_id", "school_name", "district_id"]].reset_index(drop=True)
    needs, langs = profile.needs, profile.languages
    layout = pd.concat(
        [
            pd.DataFrame({"dimension": ["total"], "need": [None], "language": [None]}),
            pd.DataFrame({"dimension": "need", "need": needs, "language": None}),
            pd.DataFrame({"dimension": "language", "need": None, "language": langs}),
            pd.DataFrame(
                {
                    "dimension": "need_language",
                    "need": np.repeat(needs, len(langs)),
                    "language": np.tile(langs, len(needs)),
                }
            ),
        ],
        ignore_index=True,
    )
    grid = sch.merge(layout, how="cross")
    c = profile._counts.copy()
    key = ["school_id", "dimension", "need", "language"]
    for frame in (grid, c):
        frame["need"] = frame["need"].where(frame["need"].notna(), "")
        frame["language"] = frame["language"].where(frame["language"].notna(), "")
    g = grid.merge(c[key + ["count"]], on=key, how="left")
    g["count"] = g["count"].fillna(0.0).round()
    g["need"] = g["need"].replace("", None)
    g["language"] = g["language"].replace("", None)
    if include_districts:
        cols = ["district_id", "dimension", "need", "language"]
        d = g.groupby(cols, dropna=False, sort=False)["count"].sum().reset_index()
        d["school_id"] = None
        d["school_name"] = None
        g = pd.concat([g, d[g.columns]], ignore_index=True)
    for col in ("need", "language", "school_id", "school_name", "district_id"):
        g[col] = g[col].astype(object).where(g[col].notna(), None)
    return g


@pytest.mark.parametrize("include_districts", [False, True])
def test_suppression_grid_is_the_merged_layout(schools, include_districts):
    responses, _ = read_survey(DATA / "survey_pii.csv", schools=schools)
    profile = build_profile(responses, schools=schools)
    expected = _grid_by_merges(profile, include_districts)
    got = profile._grid(include_districts=include_districts)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert got["count"].sum() > 0
    # a duplicated count row takes the merge path, with the merge's meaning (rows repeat)
    profile._counts = pd.concat([profile._counts, profile._counts.iloc[:1]], ignore_index=True)
    expected = _grid_by_merges(profile, include_districts)
    got = profile._grid(include_districts=include_districts)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_language_only_survey_loads_as_a_language_profile_with_the_same_suppression(schools):
    """A Home Language Survey summary: families per school and home language, no needs."""
    csv = (
        "School,Home Language,Number of Families\n"
        "Burns Latino Studies Academy,Español,30\n"
        "Burns Latino Studies Academy,English,12\n"
        "Burns Latino Studies Academy,Portuguese,3\n"
        "Dwight-Bellizzi Dual Language Academy,Spanish,8\n"
        "Dwight-Bellizzi Dual Language Academy,English,20\n"
    ).encode()
    responses, report = read_survey(csv, name="hls.csv", schools=schools)
    assert report.notes["language_only"] is True and report.errors == []
    assert all(n == [] for n in responses["needs"])
    profile = build_profile(responses, schools=schools)
    pub = school_profile(profile, "0640611")

    def count(lang):
        row = pub[(pub["dimension"] == "language") & (pub["language"] == lang)].iloc[0]
        return row["count"]

    assert count("es") == 30
    assert count("pt") is None  # 3 families: suppressed (and a complementary cell with it)
    shown = pd.to_numeric(profile.published()["count"], errors="coerce")
    assert not ((shown >= 1) & (shown <= 5)).any()
    # the same families as one row per response: the same published language figures
    lines = ["response_id,school_id,home_language,needs"]
    for sid, lang, n in [("0640611", "es", 30), ("0640611", "en", 12), ("0640611", "pt", 3),
                         ("0640711", "es", 8), ("0640711", "en", 20)]:  # fmt: skip
        lines += [f"{sid}-{lang}-{i},{sid},{lang}," for i in range(n)]
    rows, _ = read_survey("\n".join(lines).encode(), name="r.csv", schools=schools)
    by_row = build_profile(rows, schools=schools).published()
    cols = ["school_id", "dimension", "language", "count", "suppressed"]
    lang = ["total", "language"]
    a = profile.published().query("dimension in @lang")[cols].reset_index(drop=True)
    b = by_row.query("dimension in @lang")[cols].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_need_counts_without_languages_load_too(schools):
    csv = b"school_id,need,count\n0640611,total,40\n0640611,food,22\n0640611,housing,9\n"
    responses, report = read_survey(csv, name="needs.csv", schools=schools)
    assert report.errors == [] and "language_only" not in report.notes
    pub = school_profile(build_profile(responses, schools=schools), "0640611")
    food = pub[(pub["dimension"] == "need") & (pub["need"] == "food")].iloc[0]
    assert food["count"] == 22
