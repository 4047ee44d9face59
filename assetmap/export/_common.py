"""What every export writer gets: one :class:`Bundle` of canonical frames, prepared once."""

from __future__ import annotations

import datetime as dt
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point

from assetmap._fresh import source_stale_flags, stale_flags
from assetmap.model import CRS, EXAMPLE_SOURCE_PREFIX, PARTNER_COLUMNS, conform_partners

__all__ = [
    "Bundle",
    "EXAMPLE_LABEL",
    "NETWORK_COLUMNS",
    "GAP_COLUMNS",
    "PROFILE_COLUMNS",
    "atomic_path",
    "present",
]

#: The label every fictional example partner carries in every export.
EXAMPLE_LABEL = EXAMPLE_SOURCE_PREFIX  # "EXAMPLE (fictional)"

NETWORK_COLUMNS = [
    "school_id", "school_name", "district_id", "need", "need_label", "role", "rank",
    "partner_id", "partner_name", "category", "distance_km", "languages", "languages_needed",
    "language_coverage", "score", "reason", "mou_status", "example", "stale", "partner_lat",
    "partner_lon", "school_lat", "school_lon", "phone", "address", "hours", "website",
    "lead_load", "overloaded",
]  # fmt: skip
GAP_COLUMNS = [
    "school_id", "school_name", "district_id", "need", "language", "gap_kind", "reason",
    "families_display", "reach_km", "nearest_partner_id", "nearest_partner_name",
    "nearest_distance_km",
]  # fmt: skip
PROFILE_COLUMNS = [
    "school_id", "school_name", "district_id", "dimension", "need", "language", "count",
    "display", "suppressed", "pct", "synthetic",
]  # fmt: skip


def present(v: Any) -> bool:
    """False for None, NaN, NA and blank text."""
    if v is None or v is pd.NA or v is pd.NaT:
        return False
    if isinstance(v, float) and math.isnan(v):
        return False
    if isinstance(v, list | tuple):
        return len(v) > 0
    return str(v).strip() not in ("", "nan", "None", "<NA>")


def _truthy(v: Any) -> bool:
    if isinstance(v, str):
        return v.strip().lower() in ("1", "true", "yes", "t")
    if not present(v):
        return False
    return bool(v)


def _with_columns(df: pd.DataFrame | None, columns: list[str], what: str) -> pd.DataFrame:
    if df is None:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"export: {what} must be a DataFrame, got {type(df).__name__}")
    out = df.copy()
    for c in columns:
        if c not in out.columns:
            out[c] = None
    extra = [c for c in out.columns if c not in columns and c != "geometry"]
    return pd.DataFrame(out[columns + extra]).reset_index(drop=True)


@dataclass(frozen=True)
class Bundle:
    """The frames an export writes. Build with :meth:`from_frames`; inputs are copied."""

    partners: gpd.GeoDataFrame  # canonical + example_label, stale
    network: pd.DataFrame | None  # Network frame (contract columns first) or None
    schools: gpd.GeoDataFrame  # school_id, name, district_id, geometry (maybe empty)
    gaps: pd.DataFrame | None
    profile: pd.DataFrame | None
    language: str = "en"

    @classmethod
    def from_frames(
        cls,
        *,
        partners: pd.DataFrame | None,
        network: pd.DataFrame | None = None,
        schools: pd.DataFrame | None = None,
        gaps: pd.DataFrame | None = None,
        profile: pd.DataFrame | None = None,
        language: str = "en",
    ) -> Bundle:
        net = None if network is None else _with_columns(network, NETWORK_COLUMNS, "network")
        if net is not None:
            net["example"] = [_truthy(v) for v in net["example"]]
            net["stale"] = [_truthy(v) for v in net["stale"]]
            net.insert(
                list(net.columns).index("example") + 1,
                "example_label",
                [EXAMPLE_LABEL if e else "" for e in net["example"]],
            )
        if partners is None:
            parts = _partners_from_network(net) if net is not None else None
        else:
            if not isinstance(partners, pd.DataFrame):
                raise TypeError(
                    f"export: partners must be a DataFrame, got {type(partners).__name__}"
                )
            parts = partners
        parts = _prepare_partners(parts)
        if net is not None and partners is not None:
            used = set(net["partner_id"].dropna().astype(str))
            if used:
                parts = parts[parts["partner_id"].astype(str).isin(used)].reset_index(drop=True)
        if net is not None and "geocode_quality" not in net.columns:
            # placement quality travels with every distance ("about 2 mi, ZIP area")
            quality = dict(
                zip(parts["partner_id"].astype(str), parts["geocode_quality"], strict=True)
            )
            net["geocode_quality"] = [quality.get(str(p)) for p in net["partner_id"]]
        sch = _prepare_schools(schools, net)
        return cls(
            partners=parts,
            network=net,
            schools=sch,
            gaps=None if gaps is None else _with_columns(gaps, GAP_COLUMNS, "gaps"),
            profile=None if profile is None else _with_columns(profile, PROFILE_COLUMNS, "profile"),
            language=language,
        )

    def partners_table(self) -> pd.DataFrame:
        """Partners as a flat table: canonical columns, lat/lon instead of geometry."""
        p = self.partners
        df = pd.DataFrame(p.drop(columns="geometry"))
        pts = [g if g is not None and not g.is_empty else None for g in p.geometry]
        df.insert(
            df.columns.get_loc("address"),
            "lat",
            [None if g is None else round(g.y, 6) for g in pts],
        )
        df.insert(
            df.columns.get_loc("address"),
            "lon",
            [None if g is None else round(g.x, 6) for g in pts],
        )
        return df

    def school_points(self) -> gpd.GeoDataFrame:
        return self.schools


def _prepare_partners(partners: pd.DataFrame | None) -> gpd.GeoDataFrame:
    if partners is None or len(partners) == 0:
        base = gpd.GeoDataFrame(
            {c: pd.Series(dtype=object) for c in PARTNER_COLUMNS if c != "geometry"},
            geometry=gpd.GeoSeries([], crs=CRS),
            crs=CRS,
        )
        base["example_label"] = pd.Series(dtype=object)
        base["stale"] = pd.Series(dtype=bool)
        return base
    if not isinstance(partners, gpd.GeoDataFrame):
        lat = partners["lat"] if "lat" in partners.columns else [None] * len(partners)
        lon = partners["lon"] if "lon" in partners.columns else [None] * len(partners)
        geom = [
            Point(float(x), float(y)) if present(x) and present(y) else None
            for x, y in zip(lon, lat, strict=True)
        ]
        partners = gpd.GeoDataFrame(
            partners.drop(columns=[c for c in ("lat", "lon") if c in partners.columns]),
            geometry=geom,
            crs=CRS,
        )
    out = conform_partners(partners)
    if out["partner_id"].isna().any():
        out["partner_id"] = [
            pid if present(pid) else f"row{i + 1}" for i, pid in enumerate(out["partner_id"])
        ]
    out["example"] = [
        bool(e) or str(s or "").startswith(EXAMPLE_LABEL)
        for e, s in zip(out["example"], out["source"], strict=True)
    ]
    out = out.drop(columns="example_label", errors="ignore")  # re-exporting an export
    pos = list(out.columns).index("geometry")
    out.insert(pos, "example_label", [EXAMPLE_LABEL if e else "" for e in out["example"]])
    if "stale" in out.columns:
        out["stale"] = [_truthy(v) for v in out["stale"]]
    else:
        out.insert(pos + 1, "stale", stale_flags(out["last_verified"]))
    if "as_of" in out.columns and "source_stale" not in out.columns:
        # the source layer's vintage (e.g. the 2016 child-care licences): stale to trust
        exp = out["license_expiration"] if "license_expiration" in out.columns else None
        out.insert(list(out.columns).index("stale") + 1, "source_stale",
                   source_stale_flags(out["as_of"], exp))  # fmt: skip
    return out.reset_index(drop=True)


def _partners_from_network(net: pd.DataFrame) -> pd.DataFrame:
    rows = net[net["partner_id"].map(present)]
    recs = []
    for pid, grp in rows.groupby("partner_id", sort=False):
        r = grp.iloc[0]
        recs.append(
            {
                "partner_id": pid,
                "name": r["partner_name"],
                "category": r["category"],
                "services": list(dict.fromkeys(str(n) for n in grp["need"] if present(n))),
                "languages": r["languages"] if isinstance(r["languages"], list) else r["languages"],
                "address": r["address"],
                "phone": r["phone"],
                "hours": r["hours"],
                "website": r["website"],
                "mou_status": r["mou_status"],
                "example": bool(r["example"]),
                "stale": bool(r["stale"]),
                "source": EXAMPLE_LABEL if r["example"] else "network",
                "lat": r["partner_lat"],
                "lon": r["partner_lon"],
            }
        )
    return pd.DataFrame(recs)


def _prepare_schools(schools: pd.DataFrame | None, net: pd.DataFrame | None) -> gpd.GeoDataFrame:
    if schools is not None:
        if not isinstance(schools, gpd.GeoDataFrame):
            raise TypeError(f"export: schools must be a GeoDataFrame, got {type(schools).__name__}")
        s = (
            schools.to_crs(CRS)
            if schools.crs is not None and schools.crs.to_epsg() != 4326
            else schools
        )
        s = s.copy()
        if "name" not in s.columns and "school_name" in s.columns:
            s = s.rename(columns={"school_name": "name"})
        if net is not None and len(net):
            ids = set(net["school_id"].astype(str))
            s = s[s["school_id"].astype(str).isin(ids)]
        return gpd.GeoDataFrame(s.reset_index(drop=True), geometry=s.geometry.name, crs=CRS)
    if net is None or len(net) == 0:
        return gpd.GeoDataFrame(
            {"school_id": [], "name": [], "district_id": []},
            geometry=gpd.GeoSeries([], crs=CRS),
            crs=CRS,
        )
    first = net.drop_duplicates("school_id")
    geom = [
        Point(float(lo), float(la)) if present(la) and present(lo) else None
        for la, lo in zip(first["school_lat"], first["school_lon"], strict=True)
    ]
    return gpd.GeoDataFrame(
        {
            "school_id": first["school_id"].astype(str).tolist(),
            "name": first["school_name"].tolist(),
            "district_id": first["district_id"].tolist(),
        },
        geometry=geom,
        crs=CRS,
    )


@contextmanager
def atomic_path(path: Path, *, suffix: str | None = None) -> Iterator[Path]:
    """A temporary path beside ``path``; moved over ``path`` only when the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=suffix or path.suffix, dir=path.parent
    )
    os.close(fd)
    os.unlink(tmp)  # writers (GDAL) want to create the file themselves
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def today() -> dt.date:
    return dt.date.today()


Writer = Callable[[Bundle, Path], None]
