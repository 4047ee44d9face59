"""GeoJSON (RFC 7946) and GeoPackage exports of partners, schools, network lines and gaps."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from shapely.geometry import LineString, Point

from assetmap.export._common import Bundle
from assetmap.model import CRS

__all__ = ["bundle_geojson", "bundle_gpkg", "network_lines"]


def _plain(v: Any) -> Any:
    """A JSON/OGR-friendly property value: lists joined with ';', NaN -> None."""
    if isinstance(v, list | tuple | set):
        return ";".join(str(x) for x in v)
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if hasattr(v, "item") and not isinstance(v, str):
        try:
            return _plain(v.item())
        except (ValueError, AttributeError):
            return str(v)
    if isinstance(v, bool | int | str):
        return v
    return str(v)


def _valid_point(g: Any) -> bool:
    return (
        g is not None
        and not g.is_empty
        and math.isfinite(g.x)
        and math.isfinite(g.y)
        and -90 <= g.y <= 90
        and -180 <= g.x <= 180
    )


def network_lines(network: pd.DataFrame | None) -> gpd.GeoDataFrame:
    """School→partner LineStrings, one per lead/backup slot, with the slot's attributes."""
    cols = [
        "school_id", "school_name", "need", "need_label", "role", "rank", "partner_id",
        "partner_name", "distance_km", "language_coverage", "score", "example", "stale",
    ]  # fmt: skip
    if network is None or len(network) == 0:
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=gpd.GeoSeries([], crs=CRS), crs=CRS)
    recs, geoms = [], []
    for r in network.to_dict("records"):
        if r.get("role") not in ("lead", "backup"):
            continue
        vals = [r.get(k) for k in ("school_lon", "school_lat", "partner_lon", "partner_lat")]
        try:
            x1, y1, x2, y2 = (float(v) for v in vals)
        except (TypeError, ValueError):
            continue
        if not all(math.isfinite(v) for v in (x1, y1, x2, y2)):
            continue
        recs.append({c: _plain(r.get(c)) for c in cols})
        geoms.append(LineString([(x1, y1), (x2, y2)]))
    return gpd.GeoDataFrame(pd.DataFrame(recs, columns=cols), geometry=geoms, crs=CRS)


def _feature(geom: Any, props: dict[str, Any]) -> dict[str, Any]:
    if geom.geom_type == "Point":
        g = {"type": "Point", "coordinates": [round(geom.x, 6), round(geom.y, 6)]}
    else:
        g = {
            "type": "LineString",
            "coordinates": [[round(x, 6), round(y, 6)] for x, y in geom.coords],
        }
    return {"type": "Feature", "geometry": g, "properties": props}


def bundle_geojson(bundle: Bundle, path: Path) -> None:
    """One FeatureCollection: partner points (``feature_type: partner``), school points and
    school→partner lines (``feature_type: network_link``). No ``crs`` member (RFC 7946)."""
    feats: list[dict[str, Any]] = []
    p = bundle.partners
    skipped = 0
    for rec, g in zip(p.drop(columns="geometry").to_dict("records"), p.geometry, strict=True):
        if not _valid_point(g):
            skipped += 1
            continue
        props = {"feature_type": "partner"} | {k: _plain(v) for k, v in rec.items()}
        feats.append(_feature(g, props))
    if bundle.network is not None:
        for rec, g in zip(
            bundle.schools.drop(columns="geometry").to_dict("records"),
            bundle.schools.geometry,
            strict=True,
        ):
            if _valid_point(g):
                feats.append(
                    _feature(g, {"feature_type": "school"} | {k: _plain(v) for k, v in rec.items()})
                )
        lines = network_lines(bundle.network)
        for rec, g in zip(
            lines.drop(columns="geometry").to_dict("records"), lines.geometry, strict=True
        ):
            feats.append(_feature(g, {"feature_type": "network_link"} | rec))
    doc = {"type": "FeatureCollection", "features": feats}
    if skipped:
        doc["assetmap_note"] = f"{skipped} partner(s) without a usable location are not included"
    path.write_text(json.dumps(doc, ensure_ascii=False, allow_nan=False), encoding="utf-8")


def _ogr_frame(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = gdf.copy()
    for c in out.columns:
        if c == out.geometry.name:
            continue
        vals = [_plain(v) for v in out[c]]
        kinds = {type(v) for v in vals if v is not None}
        if kinds <= {bool}:
            out[c] = pd.array(vals, dtype="boolean")
        elif kinds <= {int}:
            out[c] = pd.array(vals, dtype="Int64")
        elif kinds <= {int, float}:
            out[c] = pd.array([None if v is None else float(v) for v in vals], dtype="Float64")
        else:
            out[c] = pd.array([None if v is None else str(v) for v in vals], dtype=object)
    return out


def _gaps_layer(bundle: Bundle) -> gpd.GeoDataFrame | None:
    if bundle.gaps is None:
        return None
    pts = {
        str(sid): g
        for sid, g in zip(bundle.schools["school_id"], bundle.schools.geometry, strict=True)
        if _valid_point(g)
    }
    gaps = bundle.gaps.copy()
    geom = [pts.get(str(s)) for s in gaps["school_id"]]
    return gpd.GeoDataFrame(gaps, geometry=geom, crs=CRS)


def bundle_gpkg(bundle: Bundle, path: Path) -> None:
    """A GeoPackage with layers ``partners`` (points), ``schools`` (points),
    ``network_lines`` (LineString) and ``gaps`` (points at the school), those present."""
    layers: list[tuple[str, gpd.GeoDataFrame, str]] = [("partners", bundle.partners, "Point")]
    if len(bundle.schools):
        layers.append(("schools", bundle.schools, "Point"))
    if bundle.network is not None:
        layers.append(("network_lines", network_lines(bundle.network), "LineString"))
    gaps = _gaps_layer(bundle)
    if gaps is not None:
        layers.append(("gaps", gaps, "Point"))
    for name, gdf, gtype in layers:
        frame = _ogr_frame(gdf)
        frame = frame.set_geometry(
            [g if g is None or _geom_ok(g) else None for g in frame.geometry]
        )
        frame = frame.set_crs(CRS, allow_override=True)
        frame.to_file(path, layer=name, driver="GPKG", engine="pyogrio", geometry_type=gtype)


def _geom_ok(g: Any) -> bool:
    if g.is_empty:
        return False
    if isinstance(g, Point):
        return _valid_point(g)
    return True
