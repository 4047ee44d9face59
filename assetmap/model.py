"""The canonical frames (DESIGN.md): Partners, Schools, Boundaries — column names and helpers.

Partners are GeoDataFrames in EPSG:4326, one row per site. List columns hold Python lists in
memory and ``;``-joined text in files (GeoJSON, GeoPackage, CSV).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import geopandas as gpd
import pandas as pd

from assetmap._text import split_list
from assetmap.ingest.fields import PARTNER_FIELDS, canonical_columns

__all__ = [
    "CRS",
    "PARTNER_COLUMNS",
    "LIST_COLUMNS",
    "SCHOOL_COLUMNS",
    "BOUNDARY_COLUMNS",
    "EXAMPLE_SOURCE_PREFIX",
    "empty_partners",
    "conform_partners",
    "partners_to_records",
    "lists_to_text",
    "text_to_lists",
    "is_example",
]

CRS = "EPSG:4326"

#: Canonical partner columns, in order (from the field table, assetmap.ingest.fields).
#: ``geometry`` is a Point in EPSG:4326.
PARTNER_COLUMNS: list[str] = canonical_columns()
LIST_COLUMNS: tuple[str, ...] = ("services", "services_inferred", "languages", "delivery")
BOOL_COLUMNS: tuple[str, ...] = ("example", "published", "sensitive")

SCHOOL_COLUMNS: list[str] = [
    "school_id",
    "name",
    "district_id",
    "district_name",
    "town",
    "address",
    "grades",
    "org_type",
    "geometry",
]
BOUNDARY_COLUMNS: list[str] = ["boundary_id", "name", "kind", "geometry"]

#: ``source`` of every fictional example partner starts with this.
EXAMPLE_SOURCE_PREFIX = "EXAMPLE (fictional)"

_DEFAULTS: dict[str, Any] = {
    f.name: f.default for f in PARTNER_FIELDS if f.canonical and f.default is not None
}


def empty_partners() -> gpd.GeoDataFrame:
    """A Partners frame with no rows and every canonical column."""
    cols = {c: pd.Series(dtype="object") for c in PARTNER_COLUMNS if c != "geometry"}
    return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries([], crs=CRS), crs=CRS)


def _as_list(v: Any) -> list[str]:
    if isinstance(v, list):
        return [str(x) for x in v]
    if isinstance(v, tuple | set):
        return [str(x) for x in v]
    return split_list(v, seps=";|")


def conform_partners(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A copy with every canonical column present (defaults filled), lists as lists, EPSG:4326.

    Extra columns are kept after the canonical ones.
    """
    out = gdf.copy()
    if out.crs is None:
        out = out.set_crs(CRS)
    elif out.crs.to_epsg() != 4326:
        out = out.to_crs(CRS)
    for col in PARTNER_COLUMNS:
        if col == "geometry":
            continue
        if col not in out.columns:
            out[col] = _DEFAULTS.get(col)
    for col in LIST_COLUMNS:
        out[col] = [_as_list(v) for v in out[col]]
    for col in BOOL_COLUMNS:
        out[col] = [
            _DEFAULTS[col]
            if v is None or (isinstance(v, float) and pd.isna(v))
            else (str(v).strip().lower() in ("1", "true", "yes", "t"))
            if isinstance(v, str)
            else bool(v)
            for v in out[col]
        ]
    out["capacity"] = pd.to_numeric(out["capacity"], errors="coerce")
    out["ada_accessible"] = [_as_optional_bool(v) for v in out["ada_accessible"]]
    out["last_verified"] = [_as_iso_date(v) for v in out["last_verified"]]
    for col, default in _DEFAULTS.items():
        if col not in BOOL_COLUMNS:
            out[col] = out[col].where(out[col].notna() & (out[col].astype(str) != ""), default)
    extra = [c for c in out.columns if c not in PARTNER_COLUMNS]
    return gpd.GeoDataFrame(
        out[PARTNER_COLUMNS[:-1] + extra + ["geometry"]], geometry="geometry", crs=CRS
    )


def _as_optional_bool(v: Any) -> bool | None:
    """True / False / None from booleans, 1.0/0.0, yes/no text; None when unknown."""
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return None
    if isinstance(v, str):
        t = v.strip().lower()
        if t in ("1", "true", "yes", "y", "t", "si", "sí"):
            return True
        if t in ("0", "false", "no", "n", "f"):
            return False
        return None
    return bool(v)


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:$|[T ])")


def _as_iso_date(v: Any) -> str | None:
    """ISO date text (YYYY-MM-DD) from dates, timestamps or text; None when empty or unreadable."""
    if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NaT:
        return None
    if hasattr(v, "strftime"):
        return v.strftime("%Y-%m-%d")
    text = str(v).strip()
    if _ISO_DATE.match(text):  # the common case, no parsing
        return text[:10]
    if not text or text.lower() in ("nan", "none", "nat"):
        return None
    ts = pd.to_datetime(text, errors="coerce")
    return None if pd.isna(ts) else ts.strftime("%Y-%m-%d")


def lists_to_text(df: pd.DataFrame, columns: Iterable[str] = LIST_COLUMNS) -> pd.DataFrame:
    """A copy whose list columns are ``;``-joined text (for files)."""
    out = df.copy()
    for col in columns:
        if col in out.columns:
            out[col] = [";".join(v) if isinstance(v, list | tuple) else v for v in out[col]]
    return out


def text_to_lists(df: pd.DataFrame, columns: Iterable[str] = LIST_COLUMNS) -> pd.DataFrame:
    """A copy whose ``;``-joined list columns are Python lists."""
    out = df.copy()
    for col in columns:
        if col in out.columns:
            out[col] = [_as_list(v) for v in out[col]]
    return out


def is_example(source: object) -> bool:
    """True for the fictional example partners shipped with the data."""
    return str(source or "").startswith(EXAMPLE_SOURCE_PREFIX)


def partners_to_records(gdf: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    """Plain dicts (lat/lon instead of geometry) for JSON output."""
    recs = []
    for row in gdf.to_dict("records"):
        geom = row.pop("geometry", None)
        row["lat"] = None if geom is None or geom.is_empty else round(geom.y, 6)
        row["lon"] = None if geom is None or geom.is_empty else round(geom.x, 6)
        for k, v in list(row.items()):
            if isinstance(v, float) and pd.isna(v):
                row[k] = None
            elif hasattr(v, "item") and not isinstance(v, list | str):
                row[k] = v.item()
        recs.append(row)
    return recs
