"""Public layouts recognised by header signature: each loads (>= 99 % of rows), gets the right
category from the source's own signals (>= 95 % for single-category layers) and reports its
mapping. Fixtures: tests/data/layouts/ (real rows; provenance in tests/data/README.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from assetmap.cli import main
from assetmap.ingest import (
    load_crosswalk,
    map_headers,
    match_header,
    parse_socrata_location,
    recognise,
)
from assetmap.schema import load_file, normalize_partners

LAYOUTS = Path(__file__).parent / "data" / "layouts"

CASES = [
    # file, kind, layout key (None: generic mapping), category expected for >= 95 % of rows
    ("imls_pls_ae_fy2022_ct.csv", "partners", "imls_pls_ae", "library"),
    ("imls_pls_outlet_layout_ct.csv", "partners", "imls_pls_outlet", "library"),
    ("hifld_hospitals_ct.csv", "partners", "hifld_point", "anchor_hospital"),
    ("hifld_colleges_ct.csv", "partners", "hifld_colleges", "anchor_college"),
    ("hifld_child_care_layout_ct.csv", "partners", "hifld_point", "early_childhood"),
    ("hifld_places_of_worship_layout_ct.csv", "partners", "hifld_point", "faith"),
    ("socrata_ct_child_care_location1.csv", "partners", None, "early_childhood"),
    ("irs_bmf_eo_ct_sample.csv", "partners", "irs_bmf", None),
    ("socrata_ct_schools_location1.csv", "schools", None, None),
    ("nces_edge_geocode_layout_ct.csv", "schools", "nces_edge_schools", None),
    ("hifld_public_schools_layout_ct.csv", "schools", "hifld_schools", None),
    ("tl_2020_09_cousub_sample.zip", "boundaries", "tiger_cousub", None),
    ("cb_2020_09_cousub_sample.geojson", "boundaries", "tiger_cousub", None),
    ("nces_school_districts_sy2020_21_ct.gpkg", "boundaries", None, None),
]


@pytest.mark.parametrize(("name", "kind", "layout", "category"), CASES)
def test_public_layout_loads_with_its_category_and_mapping(name, kind, layout, category):
    frame, rep = load_file(LAYOUTS / name, kind=kind)
    assert rep.rows_read > 0
    assert rep.rows_loaded >= 0.99 * rep.rows_read, rep.summary()
    assert rep.errors == []
    if layout is not None:
        assert recognise(_headers(LAYOUTS / name), kind).key == layout
        assert rep.notes["layout"]
    fields = {m["field"] for m in rep.notes["mapping"]}
    assert "name" in fields
    if kind != "boundaries":
        assert frame.geometry.notna().mean() >= 0.99 or layout == "irs_bmf"
    if category is not None:
        assert (frame["category"] == category).mean() >= 0.95, frame["category"].value_counts()
        assert rep.notes["category_other"] == 0


def _headers(path: Path) -> list[str]:
    from assetmap.io import read_any

    raw, _ = read_any(path)
    return list(raw.columns)


def test_imls_hours_are_annual_hours_not_opening_hours():
    frame, rep = load_file(LAYOUTS / "imls_pls_outlet_layout_ct.csv")
    assert (frame["hours"] == "").all()
    assert "HOURS" not in {m["column"] for m in rep.notes["mapping"]}
    assert frame["partner_id"].iloc[0] == "100-001"  # FSCSKEY-FSCS_SEQ
    assert frame["delivery"].iloc[-1] == ["mobile"]  # C_OUT_TY = BS, a bookmobile


def test_float_artefact_phones_are_repaired():
    frame, _ = load_file(LAYOUTS / "hifld_child_care_layout_ct.csv")
    assert not frame["phone"].str.endswith(".0").any()
    assert frame["phone"].str.fullmatch(r"\d{10}").all()
    raw = pd.DataFrame({"name": ["A", "B"], "phone": [3052923595.0, "3052923595.0"]})
    raw["lat"], raw["lon"] = "41.7", "-72.6"
    gdf, _ = normalize_partners(raw)
    assert list(gdf["phone"]) == ["3052923595", "3052923595"]


def test_child_care_is_found_by_need_without_a_category_flag():
    frame, _ = load_file(LAYOUTS / "hifld_child_care_layout_ct.csv")
    assert all("child_care" in s for s in frame["services"])


def test_hifld_type_adds_services_beyond_the_naics_category():
    frame, _ = load_file(LAYOUTS / "hifld_hospitals_ct.csv")
    psych = frame[frame["TYPE"] == "PSYCHIATRIC"]
    assert len(psych) == 5
    assert all("mental_health" in s for s in psych["services"])
    assert (frame["category"] == "anchor_hospital").all()


def test_socrata_location_column_gives_point_and_address_never_an_id():
    frame, rep = load_file(LAYOUTS / "socrata_ct_schools_location1.csv", kind="schools")
    mapped = {m["field"]: m["column"] for m in rep.notes["mapping"]}
    assert mapped["school_id"] == "Organization Code"
    assert mapped["lat"] == "lat (Location 1)"
    assert frame["address"].str.len().gt(0).all() and frame["town"].str.len().gt(0).all()
    assert frame.geometry.y.between(40.9, 42.1).all()
    assert match_header("Location 1").field != "partner_id"
    assert parse_socrata_location("POINT (-72.68 41.76)") == (41.76, -72.68, [])
    assert parse_socrata_location("12 Main St\nHartford, CT 06103\n(41.76, -72.68)") == (
        41.76,
        -72.68,
        ["12 Main St", "Hartford, CT 06103"],
    )
    assert parse_socrata_location("no coordinates here") is None


def test_tiger_vintage_suffixes_map_to_name_and_id():
    frame, rep = load_file(LAYOUTS / "tl_2020_09_cousub_sample.zip", kind="boundaries")
    assert frame["boundary_id"].str.fullmatch(r"09\d{8}").all()
    assert "Bethel" in set(frame["name"])
    assert match_header("NAME10", kind="boundaries").field == "name"
    assert match_header("GEOID10", kind="boundaries").method == "vintage"


def test_facility_words_rescue_rows_without_a_category_and_other_is_counted():
    raw = pd.DataFrame(
        {
            "name": ["Elm Street Park", "Hartford Public Library", "Acme Widgets LLC"],
            "lat": ["41.76", "41.77", "41.78"],
            "lon": ["-72.68", "-72.67", "-72.66"],
        }
    )
    gdf, rep = normalize_partners(raw)
    assert list(gdf["category"]) == ["recreation", "library", "other"]
    assert rep.notes["category_other"] == 1 and rep.notes["category_from_name"] == 2


def test_crosswalks_are_reviewable_tables():
    naics = load_crosswalk("naics")
    assert naics.lookup("622210").services == ("health", "mental_health")  # longest prefix
    assert naics.lookup("622110").category == "anchor_hospital"
    assert naics.lookup("999999") is None
    assert load_crosswalk("hifld_type").lookup("  general   acute care ").category == (
        "anchor_hospital"
    )
    assert load_crosswalk("no_such_table") is None


def test_one_header_mapper_for_validate_and_onboarding():
    from assetmap.onboard import suggest_mapping
    from assetmap.schema import map_columns

    cols = ["Phone #", "Zip/Postal", "Org. Name", "LATITUDE", "Lng"]
    by_validate = map_columns(cols)
    by_onboard = {s.source_column: s.canonical for s in suggest_mapping(cols) if s.canonical}
    assert by_validate == by_onboard
    assert by_validate["Phone #"] == "phone" and by_validate["Zip/Postal"] == "postal_code"
    assert [m.method for m in map_headers(["name", "Name"])] == ["exact", "none"]


def test_validate_prints_layout_and_mapping(capsys):
    code = main(["validate", str(LAYOUTS / "hifld_hospitals_ct.csv"), "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert {"field": "name", "column": "NAME", "confidence": 1.0} in doc["mapping"]
    assert doc["layout"].startswith("HIFLD") and doc["categories"] == {"anchor_hospital": 46}
    code = main(["validate", str(LAYOUTS / "imls_pls_ae_fy2022_ct.csv")])
    out = capsys.readouterr().out
    assert "layout: IMLS Public Libraries Survey" in out and "name <- 'LIBNAME'" in out
