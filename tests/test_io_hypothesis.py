"""Property tests: random bytes and random CSV cells either load or raise AssetmapError."""

from __future__ import annotations

import csv
import io
import json

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assetmap._errors import AssetmapError
from assetmap.io import read_any, read_geo, read_table
from assetmap.schema import load_file, normalize_boundaries, normalize_partners

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
# GIS round trips cost ~0.2 s each (GDAL + geopandas); fewer examples keep the file fast.
GEO_SETTINGS = settings(SETTINGS, max_examples=40)
CSV_SETTINGS = settings(SETTINGS, max_examples=100)
NAMES = ["x.csv", "x.txt", "x.xlsx", "x.geojson", "x.json", "x.gpkg", "x.zip", "x"]
MAGIC = [
    b"",
    b"PK\x03\x04",
    b"SQLite format 3\x00",
    b"{",
    b'{"type":"FeatureCollection","features":[',
    b"\xef\xbb\xbf",
]


def _load_or_own_error(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except AssetmapError:
        return None


@SETTINGS
@given(prefix=st.sampled_from(MAGIC), body=st.binary(max_size=600), name=st.sampled_from(NAMES))
def test_random_bytes_load_or_raise_our_error(prefix, body, name):
    result = _load_or_own_error(read_any, prefix + body, name=name)
    if result is not None:
        frame, report = result
        assert isinstance(frame, pd.DataFrame)
        assert report.file == name


@SETTINGS
@given(
    prefix=st.sampled_from(MAGIC),
    body=st.binary(max_size=400),
    kind=st.sampled_from(["partners", "boundaries", "schools"]),
)
def test_random_bytes_through_load_file(prefix, body, kind):
    result = _load_or_own_error(load_file, prefix + body, name="upload.csv", kind=kind)
    if result is not None:
        _, report = result
        assert report.rows_loaded <= max(report.rows_read, 0) or report.rows_read == 0


CELL = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=12,
) | st.sampled_from(
    ["41.7637", "-72.6851", "41,76", "NaN", "Infinity", "1e308", "06103", "", "=1+1", '"', "\r\n"]
)
HEADERS = st.lists(
    st.sampled_from(
        [
            "name",
            "lat",
            "lon",
            "zip",
            "services",
            "languages",
            "category",
            "id",
            "Latitude",
            "x",
            "y",
            "address",
        ]
    ),
    min_size=1,
    max_size=6,
)


@CSV_SETTINGS
@given(
    header=HEADERS,
    rows=st.lists(st.lists(CELL, min_size=0, max_size=7), max_size=8),
    delim=st.sampled_from([",", ";", "\t", "|"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]),
)
def test_random_csv_cells_load_or_raise_our_error(header, rows, delim, encoding):
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delim)
    writer.writerow(header)
    for r in rows:
        writer.writerow(r)
    try:
        data = buf.getvalue().encode(encoding)
    except UnicodeEncodeError:
        data = buf.getvalue().encode("utf-8")
    table = _load_or_own_error(read_table, data, name="cells.csv")
    if table is None:
        return
    frame, report = table
    assert all(isinstance(v, str) for v in frame.to_numpy().ravel())
    gdf, rep = _load_or_own_error(normalize_partners, frame, report=report) or (None, None)
    if gdf is not None:
        assert rep.rows_loaded == len(gdf) <= len(frame)
        bounds = [g for g in gdf.geometry if g is not None]
        for g in bounds:
            assert -180 <= g.x <= 180 and -90 <= g.y <= 90


COORD = st.floats(allow_nan=True, allow_infinity=True) | st.floats(min_value=-200, max_value=200)


@GEO_SETTINGS
@given(
    coords=st.lists(st.tuples(COORD, COORD), min_size=0, max_size=6),
    kind=st.sampled_from(["Point", "Polygon", "LineString", None]),
)
def test_random_geojson_coordinates(coords, kind):
    feats = []
    for i, (x, y) in enumerate(coords):
        if kind == "Point":
            geom = {"type": "Point", "coordinates": [x, y]}
        elif kind == "Polygon":
            geom = {"type": "Polygon", "coordinates": [[[x, y], [y, x], [x, x], [x, y]]]}
        elif kind == "LineString":
            geom = {"type": "LineString", "coordinates": [[x, y], [y, x]]}
        else:
            geom = None
        feats.append({"type": "Feature", "properties": {"name": f"n{i}"}, "geometry": geom})
    data = json.dumps({"type": "FeatureCollection", "features": feats}).encode()
    result = _load_or_own_error(read_geo, data, name="r.geojson")
    if result is None:
        return
    gdf, report = result
    assert len(gdf) == len(coords)
    out, rep = normalize_boundaries(gdf, report=report)
    for g in out.geometry:
        assert g.geom_type in ("Polygon", "MultiPolygon") and g.is_valid
    pts, rep2 = normalize_partners(gdf, file="r.geojson")
    assert len(pts) == len(coords)
