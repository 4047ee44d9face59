"""Readers (assetmap.io): one fixture per hazard class of RELIABILITY.md §1.4-1.5."""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import Point, box

import assetmap.io._zip as zipmod
from assetmap._errors import InputError
from assetmap.io import list_layers, list_sheets, read_any, read_geo, read_hsds, read_table

DATA = Path(__file__).parent / "data"
HSDS = DATA / "hsds"


@pytest.fixture
def sealed_tmp(tmp_path, monkeypatch):
    """A private temp dir for the process; the test asserts nothing was written there."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    before_cwd = sorted(os.listdir(os.getcwd()))
    yield scratch
    assert list(scratch.iterdir()) == [], "something was written to the temp dir"
    assert sorted(os.listdir(os.getcwd())) == before_cwd, "something was written to the cwd"


def _copy(name: str, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(DATA / name, dest / name))


# ------------------------------------------------------------------ sources


@pytest.mark.parametrize(
    "bad",
    [
        "https://example.com/partners.csv",
        "/vsicurl/https://example.com/x.geojson",
        '{"type":"FeatureCollection","features":[]}',
    ],
)
def test_urls_virtual_paths_and_geojson_text_are_never_opened(bad):
    with pytest.raises(InputError, match="not a local file"):
        read_any(bad)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(InputError, match="nope.csv: file not found"):
        read_table(tmp_path / "nope.csv")


def test_path_and_bytes_give_the_same_frame():
    a, _ = read_table(DATA / "partners_bom.csv")
    b, rep = read_table((DATA / "partners_bom.csv").read_bytes(), name="upload.csv")
    assert a.equals(b)
    assert rep.file == "upload.csv"


# ------------------------------------------------------------------ CSV


def test_cp1252_is_detected_and_the_en_dash_survives():
    frame, rep = read_table(DATA / "partners_cp1252.csv")
    assert rep.notes["encoding"] == "cp1252"
    assert frame.loc[2, "name"] == "Parkville Family Resource Center – North"
    assert frame.loc[2, "languages"] == "Español;English"
    assert any("Windows-1252" in p.message for p in rep.warnings)
    assert len(frame) == 3


def test_utf8_bom_is_stripped_from_the_first_header():
    frame, rep = read_table(DATA / "partners_bom.csv")
    assert rep.notes["encoding"] == "utf-8-sig"
    assert list(frame.columns)[0] == "name"


def test_plain_utf8_has_no_encoding_warning():
    _, rep = read_table(b"name,lat,lon\nA,41.7,-72.6\n", name="a.csv")
    assert rep.notes["encoding"] == "utf-8"
    assert rep.warnings == []


def test_semicolon_and_decimal_comma_are_sniffed():
    frame, rep = read_table(DATA / "partners_semicolon.csv")
    assert rep.notes["delimiter"] == ";"
    assert rep.notes["decimal"] == ","
    assert list(frame.columns) == ["name", "category", "zip", "lat", "lon"]
    assert frame.loc[2, "lat"] == "41,7537"


@pytest.mark.parametrize("delim", ["\t", "|"])
def test_tab_and_pipe_delimiters(delim):
    text = delim.join(["name", "zip"]) + "\n" + delim.join(["A, Inc.", "06103"]) + "\n"
    frame, rep = read_table(text.encode(), name="x.txt")
    assert rep.notes["delimiter"] == delim
    assert frame.loc[2, "name"] == "A, Inc."


def test_ct_zip_codes_and_ids_keep_leading_zeros():
    frame, _ = read_table(DATA / "partners_ct_zip.csv")
    assert frame.loc[2, "zip"] == "06103"
    assert frame.loc[2, "partner_id"] == "00123"


def test_ragged_rows_are_reported_by_line_never_silently_skipped():
    frame, rep = read_table(DATA / "partners_ragged.csv")
    assert rep.rows_read == 6
    assert len(frame) == 3
    assert [p.row for p in rep.errors] == [3, 5, 7]
    assert all("6 fields but the header has 5" in p.message for p in rep.errors)
    assert rep.errors[0].file == "partners_ragged.csv"
    assert "Suite 4" in rep.errors[0].value


def test_short_rows_are_padded_with_a_warning():
    frame, rep = read_table(b"name,city,zip\nA,Hartford\n", name="s.csv")
    assert frame.loc[2, "zip"] == ""
    assert rep.warnings[0].row == 2


@pytest.mark.parametrize("data", [b"", b"   \n\n"])
def test_empty_file_is_a_clear_error(data):
    with pytest.raises(InputError, match="empty.csv: the file is empty"):
        read_table(data, name="empty.csv")


def test_binary_garbage_is_a_clear_error():
    with pytest.raises(InputError, match="binary data"):
        read_table(bytes(range(256)) * 4, name="junk.csv")


def test_header_only_gives_zero_rows():
    frame, rep = read_table(b"name,lat,lon\n", name="h.csv")
    assert len(frame) == 0 and rep.rows_read == 0


def test_duplicate_and_blank_headers_are_renamed():
    frame, rep = read_table(b"name,name,\nA,B,C\n", name="d.csv")
    assert list(frame.columns) == ["name", "name_2", "column_3"]
    assert any("duplicate column" in p.message for p in rep.warnings)


# ------------------------------------------------------------------ Excel


def test_merged_title_rows_and_total_footer():
    frame, rep = read_table(DATA / "partners_merged_title.xlsx")
    assert rep.notes["header_row"] == 3
    assert list(frame.columns) == ["Name", "Type", "ZIP", "Latitude", "Longitude"]
    assert list(frame.index) == [4, 5]
    assert frame.loc[4, "ZIP"] == "06106"
    assert frame.loc[5, "Latitude"] == "41.758"
    footer = [p for p in rep.warnings if "footer" in p.message]
    assert footer and footer[0].row == 6
    sheets = [p for p in rep.warnings if "sheets with data" in p.message]
    assert sheets and "'Notes'" in sheets[0].message and "'Partners'" in sheets[0].message


def test_sheet_choice_and_listing():
    assert list_sheets(DATA / "partners_merged_title.xlsx") == ["Partners", "Notes"]
    frame, rep = read_table(DATA / "partners_merged_title.xlsx", sheet="Notes")
    assert rep.notes["sheet"] == "Notes"
    frame, rep = read_table(DATA / "partners_merged_title.xlsx", sheet=0)
    assert rep.notes["sheet"] == "Partners"
    with pytest.raises(InputError, match="no sheet 'Nope'.*'Partners', 'Notes'"):
        read_table(DATA / "partners_merged_title.xlsx", sheet="Nope")


def test_formula_without_cached_value_is_reported_not_silently_empty():
    frame, rep = read_table(DATA / "partners_formula.xlsx")
    assert len(frame) == 2
    [err] = rep.errors
    assert (err.row, err.column, err.value) == (2, "capacity", "=10*4")
    assert "formula without a saved value" in err.message
    assert frame.loc[3, "capacity"] == "25"


def test_damaged_xlsx_is_a_clear_error():
    with pytest.raises(InputError, match="bad.xlsx"):
        read_table(b"PK\x03\x04" + b"\x00" * 100, name="bad.xlsx")


def test_old_xls_is_refused_with_advice():
    with pytest.raises(InputError, match="save as .xlsx"):
        read_table(b"\xd0\xcf\x11\xe0" + b"\x00" * 100, name="old.xls")


# ------------------------------------------------------------------ GeoJSON


def test_unclosed_ring_does_not_sink_the_file():
    gdf, rep = read_geo(DATA / "boundaries_unclosed_ring.geojson")
    assert len(gdf) == 3
    assert gdf.geometry.notna().all() and gdf.geometry.is_valid.all()
    [w] = [p for p in rep.warnings if p.column == "geometry"]
    assert w.row == 2 and "repaired" in w.message


def test_null_and_empty_geometries_keep_their_rows():
    gdf, _ = read_geo(DATA / "partners_null_geometry.geojson")
    assert len(gdf) == 3
    assert gdf.geometry[1] is None and gdf.geometry[2] is None
    assert gdf.geometry[3].equals(Point(-72.6851, 41.7637))


def test_nonfinite_coordinates_are_read_for_the_schema_to_judge():
    gdf, _ = read_geo(DATA / "partners_nonfinite.geojson")
    assert len(gdf) == 4


def test_deep_nesting_is_a_clear_error(tmp_path):
    path = tmp_path / "deep.geojson"
    depth = 100_000
    path.write_bytes(
        b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"a":'
        + b"[" * depth
        + b"]" * depth
        + b'},"geometry":null}]}'
    )
    with pytest.raises(InputError, match="deep.geojson: the file is nested too deeply"):
        read_geo(path)


def test_legacy_crs_member_is_honoured_and_reprojected():
    gdf, rep = read_geo(DATA / "partners_legacy_crs.geojson")
    assert gdf.crs.to_epsg() == 4326
    assert gdf.geometry[1].x == pytest.approx(-72.6734, abs=1e-4)
    assert gdf.geometry[1].y == pytest.approx(41.7658, abs=1e-4)
    assert any("EPSG:2234" in p.message and "reprojected" in p.message for p in rep.warnings)


def test_not_geojson_json_is_refused():
    with pytest.raises(InputError, match="x.geojson"):
        read_geo(b"hello", name="x.geojson")


# ------------------------------------------------------------------ GeoPackage


def _gpkg(path: Path) -> Path:
    a = gpd.GeoDataFrame({"name": ["A"]}, geometry=[box(-72.7, 41.7, -72.6, 41.8)], crs=4326)
    b = gpd.GeoDataFrame(
        {"name": ["B1", "B2"]}, geometry=[Point(-72.6, 41.7), Point(-72.5, 41.7)], crs=4326
    )
    pyogrio.write_dataframe(a, path, layer="districts")
    pyogrio.write_dataframe(b, path, layer="sites", append=False)
    return path


def test_multi_layer_geopackage_warns_and_lets_the_user_choose(tmp_path):
    path = _gpkg(tmp_path / "two.gpkg")
    assert list_layers(path) == ["districts", "sites"]
    gdf, rep = read_geo(path)
    assert len(gdf) == 1
    [w] = [p for p in rep.warnings if "layers" in p.message]
    assert "'districts'" in w.message and "'sites'" in w.message and "read the first" in w.message
    gdf, rep = read_geo(path.read_bytes(), name="two.gpkg", layer="sites")
    assert list(gdf["name"]) == ["B1", "B2"] and rep.notes["layer"] == "sites"
    with pytest.raises(InputError, match="no layer 'x'"):
        read_geo(path, layer="x")


# ------------------------------------------------------------------ zipped shapefiles


def test_zip_without_shx_names_the_missing_part(sealed_tmp, tmp_path):
    src = _copy("boundaries_no_shx.zip", tmp_path / "in")
    with pytest.raises(InputError, match=r"districts\.shp has no districts\.shx"):
        read_geo(src)
    assert os.listdir(src.parent) == ["boundaries_no_shx.zip"]


def test_zip_without_dbf_names_the_missing_part(tmp_path):
    with zipfile.ZipFile(DATA / "boundaries_dbf_truncated.zip") as z:
        parts = {n: z.read(n) for n in z.namelist() if not n.endswith(".dbf")}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n, d in parts.items():
            z.writestr(n, d)
    with pytest.raises(InputError, match=r"no districts\.dbf"):
        read_geo(buf.getvalue(), name="nodbf.zip")


def test_zip_without_prj_has_no_crs_and_says_so(sealed_tmp, tmp_path):
    src = _copy("partners_no_prj_2234.zip", tmp_path / "in")
    gdf, rep = read_geo(src)
    assert gdf.crs is None and rep.notes["crs"] is None
    assert gdf.geometry[1].x > 1_000_000  # feet, not degrees
    assert any("partners.prj" in p.message for p in rep.warnings)
    assert os.listdir(src.parent) == ["partners_no_prj_2234.zip"]


def test_dbf_truncates_long_field_names():
    gdf, rep = read_geo(DATA / "boundaries_dbf_truncated.zip")
    assert "district_i" in gdf.columns
    assert rep.notes["crs"] == "EPSG:4326"


def _two_shapefiles_zip(tmp_path: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for stem, pts in (
            ("a", [Point(-72.6, 41.7)]),
            ("b", [Point(-72.5, 41.7), Point(-72.4, 41.7)]),
        ):
            d = tmp_path / stem
            d.mkdir()
            gpd.GeoDataFrame(
                {"name": [f"{stem}{i}" for i in range(len(pts))]}, geometry=pts, crs=4326
            ).to_file(d / f"{stem}.shp")
            for f in d.iterdir():
                zf.write(f, f"data/{f.name}")
    return buf.getvalue()


def test_several_shapefiles_in_one_zip_are_layers(tmp_path):
    data = _two_shapefiles_zip(tmp_path)
    assert list_layers(data, name="two.zip") == ["data/a", "data/b"]
    gdf, rep = read_geo(data, name="two.zip")
    assert len(gdf) == 1 and any("'data/b'" in p.message for p in rep.warnings)
    gdf, _ = read_geo(data, name="two.zip", layer="data/b")
    assert len(gdf) == 2


def _zip_with(member: zipfile.ZipInfo | str, payload: bytes = b"x") -> bytes:
    with zipfile.ZipFile(DATA / "boundaries_dbf_truncated.zip") as z:
        good = {n: z.read(n) for n in z.namelist()}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n, d in good.items():
            zf.writestr(n, d)
        zf.writestr(member, payload)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("member", "why"),
    [
        ("../evil.txt", "contains '..'"),
        ("/etc/evil.txt", "absolute path"),
        ("..\\..\\evil_backslash.txt", "backslash"),
    ],
)
def test_zip_traversal_names_are_refused(member, why, sealed_tmp, tmp_path):
    src = tmp_path / "in" / "evil.zip"
    src.parent.mkdir()
    src.write_bytes(_zip_with(member))
    with pytest.raises(InputError, match=why):
        read_geo(src)
    assert os.listdir(src.parent) == ["evil.zip"]
    assert not (tmp_path / "evil.txt").exists()


def test_zip_symlink_is_refused(sealed_tmp, tmp_path):
    info = zipfile.ZipInfo("link.shp")
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    src = tmp_path / "in" / "link.zip"
    src.parent.mkdir()
    src.write_bytes(_zip_with(info, b"/etc/passwd"))
    with pytest.raises(InputError, match="symbolic link"):
        read_geo(src)
    assert os.listdir(src.parent) == ["link.zip"]


def test_zip_bomb_ratio_is_refused_before_inflating(sealed_tmp):
    info = zipfile.ZipInfo("bomb.dbf")
    info.compress_type = zipfile.ZIP_DEFLATED
    data = _zip_with(info, b"\x00" * (4 * 1024 * 1024))  # 4 MB of zeros: ~1000:1
    with pytest.raises(InputError, match="zip bomb"):
        read_geo(data, name="bomb.zip")


def test_zip_oversized_member_is_refused_before_inflating(monkeypatch, sealed_tmp):
    monkeypatch.setattr(zipmod, "MAX_MEMBER_BYTES", 1024 * 1024)
    data = _zip_with("big.dbf", os.urandom(2 * 1024 * 1024))
    with pytest.raises(InputError, match="big.dbf.*would unpack to 2 MB"):
        read_geo(data, name="big.zip")


def test_zip_without_shapefile_lists_what_it_found():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("notes.txt", "hello")
    with pytest.raises(InputError, match=r"no shapefile \(\.shp\).*notes\.txt"):
        read_geo(buf.getvalue(), name="n.zip")


def test_lone_shp_bytes_are_refused_with_advice():
    with pytest.raises(InputError, match="zip it with its .shx"):
        read_geo(b"\x00\x00\x27\x0a" + b"\x00" * 96, name="x.shp")


def test_local_shp_path_reads_its_sibling_parts(tmp_path):
    gpd.GeoDataFrame({"name": ["A"]}, geometry=[Point(-72.6, 41.7)], crs=4326).to_file(
        tmp_path / "s.shp"
    )
    gdf, _ = read_any(tmp_path / "s.shp")
    assert list(gdf["name"]) == ["A"]


# ------------------------------------------------------------------ HSDS 3.0


def _check_hsds_row(frame):
    assert len(frame) == 1
    row = frame.iloc[0]
    assert row["partner_id"] == "e94c9f38-1e8f-4564-91d4-d53501ab1765"
    assert row["name"] == "Community Counselling"
    assert row["organization"] == "Example Organization Inc."
    assert row["last_verified"] == "2005-01-01"
    assert row["cost"] == "fee"
    assert row["eligibility"].startswith("This service is intended for all people aged 12")
    assert (row["lat"], row["lon"]) == ("100", "101")


@pytest.mark.parametrize("name", ["organization_full.json", "service_full.json"])
def test_hsds_json_forms(name):
    frame, rep = read_hsds(HSDS / name)
    _check_hsds_row(frame)
    row = frame.iloc[0]
    assert row["languages"] == "ur"
    assert row["address"] == "1-30 Main Street, MyVillage" and row["city"] == "MyCity"
    assert row["ada_accessible"] is True  # "Wheelchair access is possible on all levels"
    assert row["phone"].startswith("+44 1234 234567")
    assert rep.notes["format"] == "hsds"


def test_hsds_service_at_location_list():
    frame, _ = read_any(HSDS / "service_at_location_list.json")
    _check_hsds_row(frame)


def test_hsds_csv_data_package_folder_and_zip(tmp_path):
    frame, rep = read_any(HSDS / "csv")
    _check_hsds_row(frame)
    assert frame.iloc[0]["languages"] == "ur"
    assert "service_at_location" in rep.notes["hsds_tables"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for f in (HSDS / "csv").glob("*.csv"):
            zf.write(f, f"package/{f.name}")
    zframe, _ = read_any(buf.getvalue(), name="package.zip")
    _check_hsds_row(zframe)


def test_hsds_csv_package_without_services_is_refused(tmp_path):
    (tmp_path / "services.csv").write_text("id,name\n")
    (tmp_path / "services.csv").unlink()
    (tmp_path / "organizations.csv").write_text("id,name\n1,A\n")
    with pytest.raises(InputError):
        read_hsds(tmp_path)


def test_hsds_dangling_service_id_is_reported(tmp_path):
    shutil.copytree(HSDS / "csv", tmp_path / "pkg")
    sal = tmp_path / "pkg" / "service_at_location.csv"
    sal.write_text(sal.read_text() + "x1,missing-service,missing-location,\n")
    frame, rep = read_hsds(tmp_path / "pkg")
    assert len(frame) == 1
    [err] = rep.errors
    assert err.row == 3 and err.column == "service_id" and err.value == "missing-service"


def test_hsds_json_that_is_geojson_goes_to_the_geo_reader():
    frame, rep = read_any(DATA / "partners_null_geometry.geojson")
    assert isinstance(frame, gpd.GeoDataFrame) and "format" not in rep.notes


def test_hsds_not_json_is_clear():
    with pytest.raises(InputError, match="not valid JSON"):
        read_hsds(b"{not json", name="h.json")
    with pytest.raises(InputError, match="not HSDS 3.0 JSON"):
        read_hsds(json.dumps({"foo": 1}).encode(), name="h.json")


def test_xlsx_zip_bomb_is_refused_before_openpyxl_inflates_it():
    with zipfile.ZipFile(DATA / "partners_formula.xlsx") as z:
        parts = {n: z.read(n) for n in z.namelist()}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in parts.items():
            z.writestr(n, d)
        z.writestr("xl/media/huge.bin", b"\x00" * (4 * 1024 * 1024))
    with pytest.raises(InputError, match="bomb.xlsx.*zip bomb"):
        read_table(buf.getvalue(), name="bomb.xlsx")


def test_deeply_nested_hsds_json_is_a_clear_error():
    data = b'{"services":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(InputError, match="h.json: the JSON is nested too deeply"):
        read_hsds(data, name="h.json")
