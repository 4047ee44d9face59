"""Rebuild the national reference layers in ``data/us/`` from ``../shared/data/us`` (deterministic).

These let any US region build a workspace (``assetmap init --state XX``) and search any US
ZIP code offline:

All three are gzip-compressed (``.gz``, fixed timestamps) to keep ``data/`` small.

- ``zcta_points.csv``       every 2010 ZIP Code Tabulation Area: zip, lat, lon (internal point)
- ``partners_points.csv``   US hospitals (HIFLD), colleges (HIFLD/IPEDS) and public library
                            systems (IMLS PLS FY2022): source, source_id, category, name,
                            address, city, state, postal_code, phone, lat, lon
- ``school_districts.geojson`` NCES school district polygons SY2020-21 (state, name,
                            nces_st_leaid), simplified (0.003 degrees, about 300 m) and
                            rounded to 1e-5 degrees for size

Usage: ``python scripts/build_us.py [--shared ../shared/data] [--out data]``
"""

from __future__ import annotations

import argparse
import gzip
import io
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
SIMPLIFY_DEG = 0.003


def _write_gz(data: bytes, path: Path) -> None:
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        gz.write(data)
    path.write_bytes(buf.getvalue())


def build_zcta(shared: Path, out: Path) -> int:
    raw = pd.read_csv(shared / "us" / "us_zcta_2010_gazetteer.txt", sep="\t", dtype={"GEOID": str})
    raw.columns = [c.strip() for c in raw.columns]
    frame = pd.DataFrame(
        {
            "zip": raw["GEOID"].str.zfill(5),
            "lat": raw["INTPTLAT"].astype(float).round(5),
            "lon": raw["INTPTLONG"].astype(float).round(5),
        }
    ).sort_values("zip")
    _write_gz(
        frame.to_csv(index=False, lineterminator="\n").encode(), out / "us" / "zcta_points.csv.gz"
    )
    return len(frame)


def build_partner_points(shared: Path, out: Path) -> int:
    g = gpd.read_file(shared / "us" / "us_partner_points.geojson", engine="pyogrio")
    cols = ["source", "source_id", "category", "name", "address", "city", "state",
            "postal_code", "phone", "lat", "lon"]  # fmt: skip
    frame = pd.DataFrame(g[cols]).sort_values(["state", "category", "source_id"])
    frame["lat"] = frame["lat"].astype(float).round(6)
    frame["lon"] = frame["lon"].astype(float).round(6)
    _write_gz(
        frame.to_csv(index=False, lineterminator="\n").encode(),
        out / "us" / "partners_points.csv.gz",
    )
    return len(frame)


def build_districts(shared: Path, out: Path) -> int:
    g = gpd.read_file(shared / "us" / "us_school_districts_sy2020_21.gpkg", engine="pyogrio")
    import shapely

    g = g[["state", "name", "nces_st_leaid", "geometry"]].sort_values("nces_st_leaid")
    simple = g.geometry.simplify(SIMPLIFY_DEG, preserve_topology=True).values
    g["geometry"] = shapely.make_valid(shapely.set_precision(simple, 1e-5))
    _write_gz(g.to_json(drop_id=True).encode(), out / "us" / "school_districts.geojson.gz")
    return len(g)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--out", default=str(ROOT / "data"))
    ap.add_argument("--only", choices=("zcta", "partners", "districts"))
    a = ap.parse_args(argv)
    shared, out = Path(a.shared), Path(a.out)
    (out / "us").mkdir(parents=True, exist_ok=True)
    for name, fn in (("zcta", build_zcta), ("partners", build_partner_points),
                     ("districts", build_districts)):  # fmt: skip
        if a.only in (None, name):
            print(f"{name}: {fn(shared, out)} rows", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
