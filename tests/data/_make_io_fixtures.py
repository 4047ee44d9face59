"""Regenerate the small hand-made fixtures of tests/test_io.py and tests/test_schema.py.

Run from the repository root: ``.venv/bin/python tests/data/_make_io_fixtures.py``.
Every partner here is fictional; coordinates are approximate Connecticut town centres.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import openpyxl
from shapely.geometry import Point, box

HERE = Path(__file__).parent
HEADER = "name,category,services,languages,address,city,state,zip,lat,lon\n"
ROWS = [
    "Parkville Family Resource Center – North,family resource center,food pantry;counseling,Español;English,1 Main St,Hartford,CT,06106,41.7537,-72.7031",
    "Frog Hollow Library,public library,internet,Spanish,2 Park St,Hartford,CT,06106,41.7580,-72.6890",
    "Asylum Hill Pantry,food pantry,food pantry,Portuguese,3 Asylum Ave,Hartford,CT,06105,41.7702,-72.6960",
]


def write(name: str, data: bytes) -> None:
    (HERE / name).write_bytes(data)


def csvs() -> None:
    text = HEADER + "\n".join(ROWS) + "\n"
    write("partners_cp1252.csv", text.replace("\n", "\r\n").encode("cp1252"))
    write("partners_bom.csv", b"\xef\xbb\xbf" + text.encode("utf-8"))
    semi = "name;category;zip;lat;lon\n"
    semi += "Parkville Family Resource Center;family resource center;06106;41,7537;-72,7031\n"
    semi += "Frog Hollow Library;public library;06106;41,7580;-72,6890\n"
    write("partners_semicolon.csv", semi.encode("utf-8"))
    write(
        "partners_ct_zip.csv",
        (
            b"partner_id,name,address,city,state,zip,lat,lon\n"
            b"00123,Downtown Library,500 Main St,Hartford,CT,06103,41.7658,-72.6734\n"
            b"00124,Old ZIP as number,1 Elm St,Hartford,CT,6103,41.7650,-72.6740\n"
        ),
    )
    # 6 records; rows 3, 5 and 7 have an unquoted comma inside the address.
    ragged = "name,address,city,lat,lon\n"
    ragged += "A Center,1 Main St,Hartford,41.76,-72.68\n"
    ragged += "B Center,2 Main St, Suite 4,Hartford,41.76,-72.68\n"
    ragged += "C Center,3 Main St,Hartford,41.76,-72.68\n"
    ragged += "D Center,4 Main St, Floor 2,Hartford,41.76,-72.68\n"
    ragged += "E Center,5 Main St,Hartford,41.76,-72.68\n"
    ragged += "F Center,6 Main St, Rear,Hartford,41.76,-72.68\n"
    write("partners_ragged.csv", ragged.encode())
    swapped = "name,lat,lon\nGood Site,41.7637,-72.6851\nSwapped Site,-72.6851,41.7637\nOut Of Range Swap,172.5,41.2\n"
    write("partners_swapped.csv", swapped.encode())


def xlsx() -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Partners"
    ws["A1"] = "Hartford community partners — 2024"
    ws.merge_cells("A1:E1")
    ws["A2"] = "Prepared by the family engagement office"
    ws.merge_cells("A2:E2")
    ws.append(["Name", "Type", "ZIP", "Latitude", "Longitude"])
    ws.append(
        [
            "Parkville Family Resource Center",
            "family resource center",
            "06106",
            "41.7537",
            "-72.7031",
        ]
    )
    ws.append(["Frog Hollow Library", "public library", "06106", 41.758, -72.689])
    ws.append(["Total", None, None, None, None])
    ws["B6"] = 2
    notes = wb.create_sheet("Notes")
    notes["A1"] = "Some notes"
    buf = io.BytesIO()
    wb.save(buf)
    write("partners_merged_title.xlsx", buf.getvalue())

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sites"
    ws.append(["name", "capacity", "lat", "lon"])
    ws.append(["Parkville Family Resource Center", "=10*4", 41.7537, -72.7031])
    ws.append(["Frog Hollow Library", 25, 41.758, -72.689])
    buf = io.BytesIO()
    wb.save(buf)  # openpyxl stores formulas without a cached value
    write("partners_formula.xlsx", buf.getvalue())


def fc(features: list[dict], **extra: object) -> bytes:
    return json.dumps({"type": "FeatureCollection", **extra, "features": features}).encode()


def feat(props: dict, geom: dict | None) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geom}


def sq(x: float, y: float, d: float = 0.05) -> list[list[float]]:
    return [[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]


def geojson() -> None:
    write(
        "boundaries_unclosed_ring.geojson",
        fc(
            [
                feat(
                    {"name": "Good District", "district_id": "0640011"},
                    {"type": "Polygon", "coordinates": [sq(-72.7, 41.7)]},
                ),
                feat(
                    {"name": "Unclosed District", "district_id": "0640012"},
                    {"type": "Polygon", "coordinates": [sq(-72.6, 41.7)[:-1]]},
                ),
                feat(
                    {"name": "Other District", "district_id": "0640013"},
                    {"type": "Polygon", "coordinates": [sq(-72.5, 41.7)]},
                ),
            ]
        ),
    )
    bowtie = [[-72.7, 41.7], [-72.6, 41.8], [-72.6, 41.7], [-72.7, 41.8], [-72.7, 41.7]]
    hole_outside = [sq(-72.5, 41.7), sq(-72.3, 41.9, 0.01)]
    write(
        "boundaries_self_intersection.geojson",
        fc(
            [
                feat(
                    {"name": "Bowtie District", "district_id": "1"},
                    {"type": "Polygon", "coordinates": [bowtie]},
                ),
                feat(
                    {"name": "Hole Outside District", "district_id": "2"},
                    {"type": "Polygon", "coordinates": hole_outside},
                ),
                feat(
                    {"name": "Fine District", "district_id": "3"},
                    {"type": "Polygon", "coordinates": [sq(-72.9, 41.5)]},
                ),
            ]
        ),
    )
    write(
        "partners_null_geometry.geojson",
        fc(
            [
                feat(
                    {"name": "Null Geometry Center", "address": "1 Main St", "city": "Hartford"},
                    None,
                ),
                feat(
                    {"name": "Empty Point Center", "address": "2 Main St", "city": "Hartford"},
                    {"type": "Point", "coordinates": []},
                ),
                feat(
                    {"name": "Good Center"}, {"type": "Point", "coordinates": [-72.6851, 41.7637]}
                ),
            ]
        ),
    )
    text = (
        '{"type":"FeatureCollection","features":['
        '{"type":"Feature","properties":{"name":"NaN Center"},"geometry":{"type":"Point","coordinates":[NaN,41.7]}},'
        '{"type":"Feature","properties":{"name":"Infinity Center"},"geometry":{"type":"Point","coordinates":[-72.6,Infinity]}},'
        '{"type":"Feature","properties":{"name":"Huge Center"},"geometry":{"type":"Point","coordinates":[1e308,41.7]}},'
        '{"type":"Feature","properties":{"name":"Good Center"},"geometry":{"type":"Point","coordinates":[-72.6851,41.7637]}}]}'
    )
    write("partners_nonfinite.geojson", text.encode())
    # Hartford city hall area in NAD83 / Connecticut (ftUS), declared with the legacy member.
    pts = gpd.GeoSeries([Point(-72.6734, 41.7658), Point(-72.7031, 41.7537)], crs=4326).to_crs(2234)
    write(
        "partners_legacy_crs.geojson",
        fc(
            [
                feat(
                    {"name": "City Hall Center"},
                    {"type": "Point", "coordinates": [round(pts[0].x, 1), round(pts[0].y, 1)]},
                ),
                feat(
                    {"name": "Parkville Center"},
                    {"type": "Point", "coordinates": [round(pts[1].x, 1), round(pts[1].y, 1)]},
                ),
            ],
            crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2234"}},
        ),
    )
    write(
        "boundaries_mixed_types.geojson",
        fc(
            [
                feat(
                    {"name": "Polygon District"},
                    {"type": "Polygon", "coordinates": [sq(-72.7, 41.7)]},
                ),
                feat({"name": "Point District"}, {"type": "Point", "coordinates": [-72.6, 41.7]}),
                feat(
                    {"name": "Line District"},
                    {"type": "LineString", "coordinates": [[-72.6, 41.7], [-72.5, 41.8]]},
                ),
                feat(
                    {"name": "Multi District"},
                    {"type": "MultiPolygon", "coordinates": [[sq(-72.4, 41.7)], [sq(-72.3, 41.7)]]},
                ),
            ]
        ),
    )


def shapefile_zip(
    gdf: gpd.GeoDataFrame, *, drop: tuple[str, ...] = (), stem: str = "layer"
) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{stem}.shp"
        gdf.to_file(path, engine="pyogrio")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for part in sorted(Path(tmp).iterdir()):
                if part.suffix.lower() not in drop:
                    zf.write(part, part.name)
        return buf.getvalue()


def shapefiles() -> None:
    import warnings

    warnings.simplefilter("ignore")
    towns = gpd.GeoDataFrame(
        {"district_id": ["0640011", "0640012"], "district_name": ["Hartford", "West Hartford"]},
        geometry=[box(-72.72, 41.72, -72.65, 41.80), box(-72.80, 41.72, -72.72, 41.80)],
        crs=4326,
    )
    write("boundaries_dbf_truncated.zip", shapefile_zip(towns, stem="districts"))
    write("boundaries_no_shx.zip", shapefile_zip(towns, drop=(".shx",), stem="districts"))
    partners = gpd.GeoDataFrame(
        {
            "name": ["City Hall Center", "Parkville Center"],
            "organization": ["City", "Parkville FRC"],
        },
        geometry=[Point(-72.6734, 41.7658), Point(-72.7031, 41.7537)],
        crs=4326,
    ).to_crs(2234)
    write("partners_no_prj_2234.zip", shapefile_zip(partners, drop=(".prj",), stem="partners"))


if __name__ == "__main__":
    csvs()
    xlsx()
    geojson()
    shapefiles()
