"""Normalisation and validation (assetmap.schema): synonyms, codes, coordinates, ids, reports."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, Polygon, box

from assetmap._errors import InputError
from assetmap.model import PARTNER_COLUMNS
from assetmap.schema import (
    NO_LOCATION,
    load_file,
    load_partners_file,
    map_columns,
    normalize_boundaries,
    normalize_partners,
    normalize_schools,
    parse_number,
    stable_id,
)

DATA = Path(__file__).parent / "data"
HSDS = DATA / "hsds"


def _df(**cols):
    return pd.DataFrame({k: list(v) for k, v in cols.items()})


# ------------------------------------------------------------------ headers


def test_header_synonyms_ignore_case_accents_spaces_and_dashes():
    cols = ["Site Name", "LATITUDE", "Lng", "Zip-Code", "Dirección", "Languages_Spoken", "e.mail"]
    m = map_columns(cols, kind="partners")
    assert m == {
        "Site Name": "name",
        "LATITUDE": "lat",
        "Lng": "lon",
        "Zip-Code": "postal_code",
        "Dirección": "address",
        "Languages_Spoken": "languages",
        "e.mail": "email",
    }


def test_dbf_ten_character_truncations_are_mapped():
    assert map_columns(["organizati", "district_i"], kind="partners") == {
        "organizati": "organization"
    }
    assert map_columns(["district_i"], kind="boundaries") == {"district_i": "boundary_id"}
    assert map_columns(["district_n"], kind="schools") == {"district_n": "district_name"}


def test_two_columns_for_one_meaning_keep_the_first_and_warn():
    gdf, rep = normalize_partners(
        _df(Name=["A"], Nombre=["B"], lat=["41.7"], lon=["-72.6"]), file="t.csv"
    )
    assert gdf.loc[0, "name"] == "A"
    assert any("'Name' and 'Nombre' both mean 'name'" in p.message for p in rep.warnings)


def test_missing_required_columns_is_a_file_level_error_listing_columns_and_synonyms():
    gdf, rep = normalize_partners(_df(Foo=["x"], Bar=["y"]), file="f.csv")
    assert len(gdf) == 0 and rep.rows_loaded == 0
    [err] = rep.errors
    assert err.row is None and err.file == "f.csv"
    assert "name" in err.message and "'Foo', 'Bar'" in err.message
    assert "site name" in err.hint and "latitude" in err.hint


# ------------------------------------------------------------------ rows


def test_missing_name_is_a_row_error_and_good_rows_are_kept():
    raw = _df(name=["A", "", "C"], lat=["41.7", "41.7", "41.7"], lon=["-72.6", "-72.6", "-72.6"])
    gdf, rep = normalize_partners(raw, file="n.csv")
    assert list(gdf["name"]) == ["A", "C"]
    [err] = rep.errors
    assert (err.row, err.column) == (3, "name")
    assert (rep.rows_read, rep.rows_loaded) == (3, 2)


def test_input_frame_is_not_modified():
    raw = _df(Name=["A"], Latitude=["41.7"], Longitude=["-72.6"])
    before = raw.copy()
    normalize_partners(raw)
    pd.testing.assert_frame_equal(raw, before)


def test_output_conforms_to_the_canonical_partners_schema():
    gdf, _ = normalize_partners(_df(name=["A"], lat=["41.7"], lon=["-72.6"]))
    assert list(gdf.columns[: len(PARTNER_COLUMNS) - 1]) == PARTNER_COLUMNS[:-1]
    assert gdf.crs.to_epsg() == 4326 and gdf.geometry.name == "geometry"


def test_codes_from_free_text_and_unknowns_reported_never_dropped():
    raw = _df(
        name=["A", "B"],
        type=["Public Library", "Bowling alley"],
        services=["food pantry; Knitting circle", ""],
        languages=["Español, Kreyol", "Elvish"],
        lat=["41.7", "41.7"],
        lon=["-72.6", "-72.6"],
    )
    gdf, rep = normalize_partners(raw, file="c.csv")
    assert gdf.loc[0, "category"] == "library"
    assert gdf.loc[0, "services"] == ["food.pantry"]
    assert gdf.loc[0, "services_unmapped"] == "Knitting circle"
    assert gdf.loc[0, "languages"] == ["es", "ht"]
    assert gdf.loc[1, "category"] == "other" and gdf.loc[1, "category_unmapped"] == "Bowling alley"
    assert gdf.loc[1, "languages_unmapped"] == "Elvish"
    msgs = {(p.value, p.row, p.column) for p in rep.warnings}
    assert ("Knitting circle", 2, "services") in msgs
    assert ("Bowling alley", 3, "type") in msgs
    assert ("Elvish", 3, "languages") in msgs


def test_missing_services_come_from_the_category_and_are_marked_inferred():
    from assetmap.taxonomy import load_taxonomy

    gdf, _ = normalize_partners(_df(name=["A"], category=["library"], lat=["41.7"], lon=["-72.6"]))
    defaults = list(load_taxonomy().categories["library"].default_services)
    assert gdf.loc[0, "services"] == defaults
    assert gdf.loc[0, "services_inferred"] == defaults


def test_duplicate_ids_get_a_deterministic_suffix():
    raw = _df(id=["7", "7", "7-2"], name=["A", "B", "C"], lat=["41.7"] * 3, lon=["-72.6"] * 3)
    gdf, rep = normalize_partners(raw, file="d.csv")
    assert list(gdf["partner_id"]) == ["7", "7-3", "7-2"]
    [w] = [p for p in rep.warnings if "duplicate id" in p.message]
    assert (w.row, w.value) == (3, "7")


def test_generated_ids_are_stable_and_depend_on_source_name_address():
    raw = _df(
        name=["A", "A"], address=["1 Main St", "2 Main St"], lat=["41.7"] * 2, lon=["-72.6"] * 2
    )
    a, _ = normalize_partners(raw, file="g.csv")
    b, _ = normalize_partners(raw, file="g.csv")
    assert list(a["partner_id"]) == list(b["partner_id"])
    assert a.loc[0, "partner_id"] != a.loc[1, "partner_id"]
    assert a.loc[0, "partner_id"] == stable_id("g.csv", "A", "1 Main St", "")


def test_other_fields_are_normalised():
    raw = _df(
        name=["A"],
        cost=["Sliding scale fees"],
        ada=["Yes"],
        verified=["3/15/2024"],
        capacity=["1,200"],
        delivery=["In person; Telehealth"],
        mou=["signed"],
        lat=["41.7"],
        lon=["-72.6"],
    )
    gdf, rep = normalize_partners(raw)
    row = gdf.iloc[0]
    assert row["cost"] == "sliding_scale"
    assert bool(row["ada_accessible"]) is True
    assert row["last_verified"] == "2024-03-15"
    assert row["capacity"] == 1200
    assert row["delivery"] == ["in_person", "virtual"]
    assert row["mou_status"] == "active"
    assert rep.problems == []


def test_bad_dates_and_costs_are_warnings_naming_the_cell():
    raw = _df(name=["A"], cost=["ask us"], verified=["someday"], lat=["41.7"], lon=["-72.6"])
    gdf, rep = normalize_partners(raw, file="w.csv")
    assert gdf.loc[0, "cost"] == "unknown" and gdf.loc[0, "last_verified"] is None
    assert {(p.column, p.value) for p in rep.warnings} == {
        ("cost", "ask us"),
        ("verified", "someday"),
    }


def test_ct_zip_leading_zero_is_restored():
    gdf, rep = load_partners_file(DATA / "partners_ct_zip.csv")
    assert list(gdf["postal_code"]) == ["06103", "06103"]
    assert list(gdf["partner_id"]) == ["00123", "00124"]
    [w] = rep.warnings
    assert (w.row, w.column, w.value) == (3, "zip", "6103")


# ------------------------------------------------------------------ coordinates


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("41,7537", 41.7537),
        ("41,75", 41.75),
        ("-72.68", -72.68),
        ("72.68 W", -72.68),
        ("41.7°N", 41.7),
        ("1e308", 1e308),
        ("1,200", 1200.0),
    ],
)
def test_parse_number(text, value):
    assert parse_number(text) == pytest.approx(value)


def test_parse_number_rejects_text():
    with pytest.raises(ValueError):
        parse_number("near the park")


def test_decimal_comma_file_loads_coordinates():
    gdf, rep = load_partners_file(DATA / "partners_semicolon.csv")
    assert gdf.geometry[0].y == pytest.approx(41.7537)
    assert gdf.geometry[0].x == pytest.approx(-72.7031)
    assert gdf.loc[0, "postal_code"] == "06106" and rep.errors == []


def test_swapped_lat_lon_is_fixed_with_a_warning():
    gdf, rep = load_partners_file(DATA / "partners_swapped.csv")
    assert len(gdf) == 3
    assert gdf.geometry[1].equals(Point(-72.6851, 41.7637))
    assert [p.row for p in rep.warnings if "swapped" in p.message] == [3]
    # lat 172.5, lon 41.2 swapped would be (41.2, 172.5): in the Pacific, not Connecticut.
    # It is an error and the row keeps no location, never a point stored as "exact".
    assert [(p.row, "out of range" in p.message) for p in rep.errors] == [(4, True)]
    assert gdf.geometry[2] is None and gdf.loc[2, "geocode_quality"] == "none"


@pytest.mark.parametrize(
    ("lat", "lon", "verdict"),
    [
        ("41.76", "-72.68", "ok"),
        ("-72.68", "41.76", "swapped"),
        ("91.5", "-72.6", "out of range"),
        ("-72.6", "91.5", "outside the workspace region"),
        ("48.85", "2.35", "outside the workspace region"),
        ("41.76", "72.68", "outside the workspace region"),
    ],
)
def test_points_are_checked_against_the_region(lat, lon, verdict):
    gdf, rep = normalize_partners(_df(name=["A"], lat=[lat], lon=[lon]), file="r.csv")
    assert len(gdf) == 1
    if verdict == "ok":
        assert rep.problems == [] and gdf.geometry[0] is not None
    elif verdict == "swapped":
        assert gdf.geometry[0].equals(Point(-72.68, 41.76)) and rep.errors == []
    else:
        assert gdf.geometry[0] is None and len(rep.errors) == 1
        assert verdict in rep.errors[0].message
        assert ("Connecticut" in rep.errors[0].message) == (verdict != "out of range")
    gdf, rep = normalize_partners(_df(name=["A"], lat=["48.85"], lon=["2.35"]), region=None)
    assert gdf.geometry[0] is not None  # no region: only the valid ranges are checked


def test_out_of_range_and_non_numeric_coordinates_keep_the_row_without_location():
    raw = _df(name=["A", "B", "C"], lat=["95", "park", "41.7"], lon=["200", "-72.6", "-72.6"])
    gdf, rep = normalize_partners(raw, file="o.csv")
    assert len(gdf) == 3
    assert gdf.geometry[0] is None and gdf.geometry[1] is None and gdf.geometry[2] is not None
    assert {(p.row, p.column) for p in rep.errors} == {(2, "lat/lon"), (3, "lat")}
    assert gdf.loc[0, "geocode_quality"] == "none"


def test_nonfinite_coordinates_are_row_errors():
    gdf, rep = load_partners_file(DATA / "partners_nonfinite.geojson")
    assert len(gdf) == 4
    assert [p.row for p in rep.errors] == [1, 2, 3]
    assert "NaN or Infinity" in rep.errors[0].message and "out of range" in rep.errors[2].message
    assert gdf.geometry.notna().sum() == 1
    import numpy as np

    assert np.isfinite(gdf.geometry.dropna().total_bounds).all()


def test_null_geometry_rows_are_kept_and_flagged_no_location():
    gdf, rep = load_partners_file(DATA / "partners_null_geometry.geojson")
    assert len(gdf) == 3
    flagged = [p for p in rep.warnings if p.message == NO_LOCATION]
    assert [p.row for p in flagged] == [1, 2]
    assert flagged[0].value == "1 Main St, Hartford"


def test_rows_without_coordinates_are_kept_for_geocoding():
    gdf, rep = normalize_partners(_df(name=["A"], address=["1 Main St"], city=["Hartford"]))
    assert len(gdf) == 1 and gdf.geometry[0] is None
    assert rep.warnings[0].message == NO_LOCATION and "assetmap geocode" in rep.warnings[0].message


def test_projected_numbers_without_crs_are_an_error_with_a_hint():
    raw = _df(name=["A", "B"], x=["1020897.1", "1012586.4"], y=["839771.2", "835400.9"])
    gdf, rep = normalize_partners(raw, file="sp.csv")
    assert len(gdf) == 0
    [err] = rep.errors
    assert "EPSG:2234" in err.hint and "State Plane" in err.hint


def test_crs_parameter_reprojects_table_coordinates():
    raw = _df(name=["A"], x=["1020897.1"], y=["839771.2"])
    gdf, rep = normalize_partners(raw, crs="EPSG:2234")
    assert gdf.geometry[0].x == pytest.approx(-72.6734, abs=1e-3)
    assert gdf.geometry[0].y == pytest.approx(41.7658, abs=1e-3)


def test_shapefile_without_prj_in_state_plane():
    gdf, rep = load_partners_file(DATA / "partners_no_prj_2234.zip")
    assert len(gdf) == 0 and "EPSG:2234" in rep.errors[0].hint
    gdf, rep = load_partners_file(DATA / "partners_no_prj_2234.zip", crs="EPSG:2234")
    assert len(gdf) == 2
    assert list(gdf["organization"]) == ["City", "Parkville FRC"]  # 'organizati' in the DBF
    assert gdf.geometry[0].x == pytest.approx(-72.6734, abs=1e-4)


def test_legacy_crs_geojson_partners_land_in_hartford():
    gdf, _ = load_partners_file(DATA / "partners_legacy_crs.geojson")
    assert gdf.geometry[0].y == pytest.approx(41.7658, abs=1e-4)


def test_unknown_crs_is_a_clear_error():
    with pytest.raises(InputError, match="unknown CRS 'EPSG:999999'"):
        normalize_partners(_df(name=["A"], x=["1"], y=["2"]), crs="EPSG:999999")


def test_polygon_partner_uses_an_inside_point():
    gdf = gpd.GeoDataFrame({"name": ["A"]}, geometry=[box(-72.7, 41.7, -72.6, 41.8)], crs=4326)
    out, rep = normalize_partners(gdf)
    assert out.geometry[0].within(box(-72.7, 41.7, -72.6, 41.8))
    assert "Polygon" in rep.warnings[0].message


# ------------------------------------------------------------------ files


def test_cp1252_and_bom_files_load_fully():
    a, ra = load_partners_file(DATA / "partners_cp1252.csv")
    b, rb = load_partners_file(DATA / "partners_bom.csv")
    assert a.loc[0, "name"] == b.loc[0, "name"] == "Parkville Family Resource Center – North"
    assert a.loc[0, "languages"] == ["es", "en"]
    assert ra.rows_loaded == rb.rows_loaded == 3


def test_excel_with_title_and_footer_loads_two_rows():
    gdf, rep = load_partners_file(DATA / "partners_merged_title.xlsx")
    assert list(gdf["name"]) == ["Parkville Family Resource Center", "Frog Hollow Library"]
    assert list(gdf["postal_code"]) == ["06106", "06106"]
    assert rep.rows_loaded == 2


def test_ragged_file_keeps_the_good_rows():
    gdf, rep = load_partners_file(DATA / "partners_ragged.csv")
    assert list(gdf["name"]) == ["A Center", "C Center", "E Center"]
    assert (rep.rows_read, rep.rows_loaded) == (6, 3)


def test_hsds_normalises_into_partners_and_maps_taxonomy(tmp_path):
    doc = json.loads((HSDS / "organization_full.json").read_text())
    svc = doc["services"][0]
    loc = svc["service_at_locations"][0]["location"]
    loc["latitude"], loc["longitude"] = 41.7637, -72.6851
    svc["attributes"] = [
        {"taxonomy_term": {"code": "1130", "name": "Food Pantry"}},
        {"taxonomy_term": {"code": "x", "name": "Underwater basket weaving"}},
    ]
    path = tmp_path / "ct.json"
    path.write_text(json.dumps(doc))
    gdf, rep = load_partners_file(path)
    row = gdf.iloc[0]
    assert row["services"] == ["food.pantry"]
    assert row["services_unmapped"] == "Underwater basket weaving"
    assert row["languages"] == ["ur"]
    assert row["last_verified"] == "2005-01-01"
    assert row["cost"] == "fee" and bool(row["ada_accessible"]) is True
    assert row["source"] == "HSDS: ct.json"
    assert gdf.geometry[0].equals(Point(-72.6851, 41.7637))
    assert any(p.value == "Underwater basket weaving" for p in rep.warnings)


def test_hsds_example_with_impossible_coordinates_is_kept_and_reported():
    gdf, rep = load_partners_file(HSDS / "csv")
    assert len(gdf) == 1 and gdf.geometry[0] is None
    assert "out of range" in rep.errors[0].message and rep.errors[0].value == "lat 100, lon 101"


def test_load_file_rejects_unknown_kind():
    with pytest.raises(InputError, match="unknown kind 'people'"):
        load_file(DATA / "partners_bom.csv", kind="people")


# ------------------------------------------------------------------ schools


def test_schools_normalise():
    raw = _df(
        **{
            "School Code": ["0640111"],
            "School Name": ["Burns Latino Studies Academy"],
            "District": ["0640011"],
            "Latitude": ["41.7535"],
            "Longitude": ["-72.6962"],
        }
    )
    gdf, rep = normalize_schools(raw, file="s.csv")
    assert gdf.loc[0, "school_id"] == "0640111" and gdf.loc[0, "district_id"] == "0640011"
    assert rep.rows_loaded == 1 and rep.kind == "schools"


def test_schools_need_a_location_column():
    gdf, rep = normalize_schools(_df(name=["A"]))
    assert len(gdf) == 0 and "lat" in rep.errors[0].message


# ------------------------------------------------------------------ boundaries


def test_boundaries_mixed_geometry_types_error_per_non_polygon_row():
    gdf, rep = load_file(DATA / "boundaries_mixed_types.geojson", kind="boundaries")
    assert list(gdf["name"]) == ["Polygon District", "Multi District"]
    assert [(p.row, p.value) for p in rep.errors] == [(2, "Point"), (3, "LineString")]
    assert all(t in ("Polygon", "MultiPolygon") for t in gdf.geom_type)


def test_boundaries_self_intersection_and_hole_outside_are_repaired_with_reason():
    gdf, rep = load_file(DATA / "boundaries_self_intersection.geojson", kind="boundaries")
    assert len(gdf) == 3 and gdf.is_valid.all()
    reasons = [p.value for p in rep.warnings]
    assert any(r.startswith("Self-intersection") for r in reasons)
    assert any(r.startswith("Hole lies outside shell") for r in reasons)
    assert [p.row for p in rep.warnings] == [1, 2]


def test_boundaries_unclosed_ring_repaired():
    gdf, rep = load_file(DATA / "boundaries_unclosed_ring.geojson", kind="boundaries")
    assert list(gdf["boundary_id"]) == ["0640011", "0640012", "0640013"]
    assert gdf.is_valid.all()


def test_boundaries_dbf_truncated_district_id():
    gdf, _ = load_file(DATA / "boundaries_dbf_truncated.zip", kind="boundaries")
    assert list(gdf["boundary_id"]) == ["0640011", "0640012"]
    assert list(gdf["name"]) == ["Hartford", "West Hartford"]
    assert list(gdf["kind"]) == ["district", "district"]


def test_boundaries_null_geometry_rows_are_errors():
    g = gpd.GeoDataFrame({"name": ["A", "B"]}, geometry=[None, box(0, 0, 1, 1)], crs=4326)
    gdf, rep = normalize_boundaries(g)
    assert list(gdf["name"]) == ["B"] and rep.errors[0].row == 2


def test_boundaries_projected_without_crs():
    g = gpd.GeoDataFrame({"name": ["A"]}, geometry=[box(1_000_000, 800_000, 1_010_000, 810_000)])
    gdf, rep = normalize_boundaries(g, file="b.zip")
    assert len(gdf) == 0 and "EPSG:2234" in rep.errors[0].hint
    gdf, rep = normalize_boundaries(g, crs="EPSG:2234")
    assert len(gdf) == 1 and -74 < gdf.geometry[0].centroid.x < -71


def test_boundaries_need_geometry():
    gdf, rep = normalize_boundaries(_df(name=["A"]))
    assert len(gdf) == 0 and "no geometry" in rep.errors[0].message


def test_boundary_invalid_bowtie_made_valid_keeps_area():
    bowtie = Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])
    gdf, _ = normalize_boundaries(gpd.GeoDataFrame({"name": ["X"]}, geometry=[bowtie], crs=4326))
    assert gdf.geometry[0].area == pytest.approx(0.5)


# ------------------------------------------------------------------ survey


def test_survey_kind_loads_a_response_table(tmp_path):
    path = tmp_path / "survey.csv"
    path.write_text(
        "response_id,school_id,home_language,needs\n"
        "r1,0640111,español,food;housing\n"
        "r2,0640111,English,child care\n"
    )
    frame, rep = load_file(path, kind="survey")
    assert rep.kind == "survey" and rep.rows_loaded == 2 and len(frame) == 2


def test_a_canonical_column_wins_silently_over_its_synonyms():
    from assetmap.report import ValidationReport

    rep = ValidationReport(file="c.geojson")
    m = map_columns(["Site Name", "name", "geoid"], kind="partners", report=rep)
    assert m == {"name": "name"}
    assert rep.problems == []


def test_shipped_partners_validate_cleanly():
    # speed is measured in benchmarks/, not asserted here (a loaded CI machine is not a clock)
    from assetmap.io import read_geo

    frame, rep = read_geo(Path(__file__).parent.parent / "data" / "ct" / "partners.geojson")
    gdf, rep = normalize_partners(frame, report=rep)
    assert rep.errors == [] and rep.rows_loaded == len(frame) > 1000
    assert gdf["partner_id"].is_unique


def test_survey_kind_accepts_uploaded_bytes():
    data = b"response_id,school_id,home_language,needs\nr1,0640111,Kreyol,food\n"
    frame, rep = load_file(data, name="upload.csv", kind="survey")
    assert rep.kind == "survey" and rep.rows_loaded == 1 and rep.file == "upload.csv"
