"""De-duplicate partner sites across sources, with reasons and per-field provenance.

1. **Normalise** names (accents folded, ``Hosp.`` -> hospital, ``St.`` -> saint, legal
   suffixes and filler words such as *inc*, *the*, *public* dropped) and street addresses
   (``Street`` -> st, ``Avenue`` -> ave, suite/floor/room parts dropped, house number apart).
2. **Candidates**: pairs within ``radius_km`` of each other (a k-d tree on the sphere), plus
   pairs in the same ZIP or town whose names are alike (for records placed only roughly).
3. **Score** 0-100 with its reasons: name similarity (rapidfuzz ``token_set_ratio``), address
   similarity (a different house number counts as a different address), distance, and an
   equal phone number as a bonus. Different categories (a hospital and a college program at
   the same address) never merge automatically.
4. **Merge** pairs at or above ``threshold`` (clusters, transitively); pairs between
   ``review_threshold`` and ``threshold`` go to a review list. A merged record takes each field
   from the first member that has it (input order), the best-located point, the union of list
   fields (services, languages, ...), and a ``provenance`` dict: canonical field -> the source
   its value came from (defaults filled in by the model are not listed), plus ``_conflicts``
   (field -> every member's ``{source, id, value}``) where members disagreed and ``_merged``
   (the member ids). Every record, merged or not, has a provenance dict.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process
from scipy.spatial import cKDTree

from assetmap._errors import InputError
from assetmap._text import fold
from assetmap.model import CRS, LIST_COLUMNS, PARTNER_COLUMNS

__all__ = [
    "DedupeResult",
    "normalize_name",
    "normalize_address",
    "name_score",
    "GENERIC_NAME_WORDS",
    "haversine_km",
    "find_candidates",
    "score_pairs",
    "dedupe",
    "provenance_to_text",
]

EARTH_KM = 6371.0088
_WORD = re.compile(r"[a-z0-9]+")

_NAME_ABBREV = {
    "hosp": "hospital",
    "hsp": "hospital",
    "lib": "library",
    "libr": "library",
    "ctr": "center",
    "cntr": "center",
    "centre": "center",
    "univ": "university",
    "coll": "college",
    "st": "saint",
    "ste": "sainte",
    "mt": "mount",
    "ft": "fort",
    "ct": "connecticut",
    "conn": "connecticut",
    "dept": "department",
    "assn": "association",
    "assoc": "association",
    "comm": "community",
    "cmty": "community",
    "svc": "services",
    "svcs": "services",
    "intl": "international",
    "natl": "national",
    "med": "medical",
    "inst": "institute",
    "sch": "school",
    "acad": "academy",
    "hs": "high school",
    "elem": "elementary",
    "ymca": "ymca",
    "bros": "brothers",
}
#: Words that do not tell two sites apart ('Hartford Library' = 'The Hartford Public Library, Inc.').
NAME_STOP_WORDS = frozenset(
    {
        "the",
        "inc",
        "incorporated",
        "llc",
        "ltd",
        "corp",
        "corporation",
        "co",
        "company",
        "of",
        "a",
        "an",
        "at",
        "and",
        "public",
        "free",
        "pc",
        "pllc",
        "lp",
        "foundation",
    }
)
#: Facility words many distinct sites share ('Bristol Technical High School' is not 'Bristol
#: High School'; 'Hartford School District' is not 'West Hartford School District'): two
#: names agree only when their other words agree too.
GENERIC_NAME_WORDS = frozenset(
    """school schools high middle elementary primary intermediate secondary academy magnet
    district districts regional region office offices center centers centre library
    branch hospital medical health clinic church parish congregation temple community
    services service program programs department town city county state board education
    association society club house home care child children family families youth
    connecticut""".split()
)

_ADDR_ABBREV = {
    "street": "st",
    "str": "st",
    "avenue": "ave",
    "av": "ave",
    "road": "rd",
    "boulevard": "blvd",
    "drive": "dr",
    "lane": "ln",
    "place": "pl",
    "court": "ct",
    "square": "sq",
    "parkway": "pkwy",
    "highway": "hwy",
    "terrace": "ter",
    "circle": "cir",
    "turnpike": "tpke",
    "tpk": "tpke",
    "trail": "trl",
    "expressway": "expy",
    "extension": "ext",
    "plaza": "plz",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
    "mount": "mt",
    "saint": "st",
    "first": "1st",
    "second": "2nd",
    "third": "3rd",
    "fourth": "4th",
    "fifth": "5th",
    "route": "rte",
    "rt": "rte",
}
_UNIT = re.compile(
    r"\b(suite|ste|unit|apt|apartment|room|rm|floor|fl|bldg|building|dept|po box)\b\.?\s*#?\s*[\w-]*"
    r"|#\s*[\w-]+"
)
_QUALITY_RANK = {
    "source": 0,
    "exact": 0,
    "rooftop": 0,
    "non_exact": 1,
    "street": 2,
    "zip": 3,
    "town": 4,
}
_ROUGH = {"zip", "town", "none", ""}
#: Canonical fields that get a provenance entry.
_PROV_COLUMNS = [
    c
    for c in PARTNER_COLUMNS
    if c not in ("source", "geometry", "geocode_source", "geocode_quality")
]
#: Values conform_partners fills in when a source says nothing (not provenance).
_DEFAULTS: dict[str, Any] = {
    "cost": "unknown",
    "mou_status": "none",
    "example": False,
    "published": True,
    "sensitive": False,
}


def normalize_name(text: object) -> str:
    """Comparable form of a partner name: ``'Hartford Hosp., Inc.'`` -> ``'hartford hospital'``."""
    s = fold(text).replace("&", " and ").replace("'", "")
    words: list[str] = []
    for w in _WORD.findall(s):
        w = _NAME_ABBREV.get(w, w)
        for part in w.split():
            if part not in NAME_STOP_WORDS:
                words.append(part)
    return " ".join(words)


def normalize_address(text: object) -> tuple[str, str]:
    """``(house number, street)`` of a street address: ``'80 Seymour Street, Suite 2'`` ->
    ``('80', 'seymour st')``. Either part may be empty."""
    s = fold(text).replace("'", "")
    s = s.split(",")[0] if re.match(r"^\s*\d", s) else s
    s = _UNIT.sub(" ", s)
    words = [_ADDR_ABBREV.get(w, w) for w in _WORD.findall(s)]
    number = ""
    if words and re.fullmatch(r"\d+[a-z]?", words[0]):
        number = words.pop(0)
    return number, " ".join(words)


def haversine_km(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> np.ndarray:
    """Great-circle distance in km (arrays broadcast)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def _digits(phone: object) -> str:
    d = re.sub(r"\D", "", str(phone or ""))
    return d[-10:] if len(d) >= 10 else ""


def _text(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    s = str(v).strip()
    return "" if s.lower() in ("nan", "none", "<na>") else s


@dataclass
class _Prepared:
    names: list[str]
    numbers: list[str]
    streets: list[str]
    blocks_zip: list[str]
    blocks_city: list[str]
    lat: np.ndarray
    lon: np.ndarray
    rough: list[bool]
    phones: list[str]
    categories: list[str]


def _prepare(gdf: pd.DataFrame) -> _Prepared:
    n = len(gdf)

    def col(name: str) -> list[Any]:
        return list(gdf[name]) if name in gdf.columns else [None] * n

    lat = np.full(n, np.nan)
    lon = np.full(n, np.nan)
    if isinstance(gdf, gpd.GeoDataFrame) and gdf.geometry is not None:
        for i, g in enumerate(gdf.geometry):
            if g is not None and not g.is_empty:
                lat[i], lon[i] = g.y, g.x
    addr = [normalize_address(a) for a in col("address")]
    quality = [_text(q).lower() for q in col("geocode_quality")]
    return _Prepared(
        names=[normalize_name(x) for x in col("name")],
        numbers=[a[0] for a in addr],
        streets=[a[1] for a in addr],
        blocks_zip=[_text(z)[:5] for z in col("postal_code")],
        blocks_city=[fold(c) for c in col("city")],
        lat=lat,
        lon=lon,
        rough=[q in _ROUGH or math.isnan(lat[i]) for i, q in enumerate(quality)],
        phones=[_digits(p) for p in col("phone")],
        categories=[_text(c) for c in col("category")],
    )


def find_candidates(
    gdf: pd.DataFrame, *, radius_km: float = 0.5, name_block_score: float = 85.0
) -> list[tuple[int, int]]:
    """Positional pairs ``(i, j)``, ``i < j``, worth scoring.

    Pairs within ``radius_km``, plus pairs sharing a ZIP or town whose normalised names score at
    least ``name_block_score`` (so a record placed only at its town centre still meets its twin).
    """
    p = _prepare(gdf)
    pairs: set[tuple[int, int]] = set()
    ok = ~np.isnan(p.lat)
    idx = np.flatnonzero(ok)
    if len(idx) > 1:
        la, lo = np.radians(p.lat[idx]), np.radians(p.lon[idx])
        xyz = np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])
        chord = 2 * math.sin(radius_km / EARTH_KM / 2)
        for a, b in cKDTree(xyz).query_pairs(chord, output_type="ndarray"):
            i, j = sorted((int(idx[a]), int(idx[b])))
            pairs.add((i, j))
    for blocks in (p.blocks_zip, p.blocks_city):
        groups: dict[str, list[int]] = {}
        for i, b in enumerate(blocks):
            if b:
                groups.setdefault(b, []).append(i)
        for members in groups.values():
            if len(members) < 2:
                continue
            names = [p.names[i] for i in members]
            sim = process.cdist(
                names,
                names,
                scorer=fuzz.token_set_ratio,
                dtype=np.uint8,
                score_cutoff=name_block_score,
                workers=-1,
            )
            for a, b in zip(*np.nonzero(np.triu(sim, 1)), strict=True):
                if names[a] and names[b]:
                    pairs.add((members[a], members[b]))
    return sorted(pairs)


def _distinctive(name: str) -> str:
    return " ".join(w for w in name.split() if w not in GENERIC_NAME_WORDS)


def name_score(a: str, b: str) -> float:
    """Similarity 0-100 of two normalised names. Word-set overlap ('Hartford Hosp.' =
    'Hartford Hospital'), but the words beyond the generic facility words must agree too:
    an extra distinctive word ('technical', 'west') lowers the score."""
    if not a or not b:
        return 0.0
    score = float(fuzz.token_set_ratio(a, b))
    da, db = _distinctive(a), _distinctive(b)
    if da != db:
        if not da or not db:  # only generic words on one side ('High School')
            score = min(score, 60.0)
        else:
            score = min(score, float(fuzz.token_sort_ratio(da, db)))
    return score


def _score(p: _Prepared, i: int, j: int, threshold: float) -> tuple[float, dict[str, Any]]:
    reasons: list[str] = []
    parts: list[tuple[float, float]] = []  # (weight, score)
    name_s = name_score(p.names[i], p.names[j])
    parts.append((0.5, name_s))
    reasons.append(f"name {name_s:.0f}")
    addr_s: float | None = None
    if p.streets[i] and p.streets[j]:
        if p.numbers[i] and p.numbers[j] and p.numbers[i] != p.numbers[j]:
            addr_s = 0.0
            reasons.append(f"different street numbers ({p.numbers[i]} vs {p.numbers[j]})")
        else:
            addr_s = float(fuzz.token_set_ratio(p.streets[i], p.streets[j]))
            reasons.append("same address" if addr_s >= 99.5 else f"address {addr_s:.0f}")
        parts.append((0.3, addr_s))
    dist: float | None = None
    if not (math.isnan(p.lat[i]) or math.isnan(p.lat[j])):
        dist = float(haversine_km(p.lat[i], p.lon[i], p.lat[j], p.lon[j]))
    if dist is not None and not (p.rough[i] or p.rough[j]):
        dist_s = 100.0 if dist <= 0.05 else max(0.0, 100.0 * (1 - dist))
        parts.append((0.2, dist_s))
        reasons.append(f"{dist * 1000:.0f} m apart")
    elif dist is not None:
        reasons.append(f"{dist * 1000:.0f} m apart (location approximate, not scored)")
    total_w = sum(w for w, _ in parts)
    score = sum(w * s for w, s in parts) / total_w
    phone = bool(p.phones[i]) and p.phones[i] == p.phones[j]
    if phone:
        score = min(100.0, score + 10.0)
        reasons.append("same phone")
    rough = p.rough[i] or p.rough[j]
    if rough and addr_s is None and not phone and name_s < 95 and score >= threshold:
        # placed only at a ZIP/town centre: the shared point says nothing; without an
        # address or a phone to agree on, only near-identical names may merge
        score = threshold - 0.1
        reasons.append("location approximate and nothing else agrees: review")
    ci, cj = p.categories[i], p.categories[j]
    if ci and cj and ci != cj and "other" not in (ci, cj):
        score = min(score, threshold - 0.1)
        reasons.append(f"different categories ({ci} vs {cj}): review")
    return round(score, 1), {
        "name_score": name_s,
        "address_score": addr_s,
        "distance_km": None if dist is None else round(dist, 3),
        "same_phone": phone,
        "reasons": "; ".join(reasons),
    }


def score_pairs(
    gdf: pd.DataFrame, pairs: Sequence[tuple[int, int]] | None = None, *, threshold: float = 85.0
) -> pd.DataFrame:
    """One row per candidate pair: left, right (positions), ids, names, score and its reasons."""
    if pairs is None:
        pairs = find_candidates(gdf)
    p = _prepare(gdf)
    ids = list(gdf["partner_id"]) if "partner_id" in gdf.columns else list(range(len(gdf)))
    names = list(gdf["name"]) if "name" in gdf.columns else [""] * len(gdf)
    rows = []
    for i, j in pairs:
        score, detail = _score(p, i, j, threshold)
        rows.append(
            {
                "left": i,
                "right": j,
                "left_id": ids[i],
                "right_id": ids[j],
                "left_name": names[i],
                "right_name": names[j],
                "score": score,
                **detail,
            }
        )
    cols = [
        "left",
        "right",
        "left_id",
        "right_id",
        "left_name",
        "right_name",
        "score",
        "name_score",
        "address_score",
        "distance_km",
        "same_phone",
        "reasons",
    ]
    return pd.DataFrame(rows, columns=cols).sort_values("score", ascending=False, ignore_index=True)


@dataclass
class DedupeResult:
    """``partners``: one row per site (with ``provenance``); ``merged``: the pairs merged;
    ``review``: pairs a person should look at; ``pairs``: every scored candidate."""

    partners: gpd.GeoDataFrame
    merged: pd.DataFrame
    review: pd.DataFrame
    pairs: pd.DataFrame


def _blank(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    if isinstance(v, list | tuple | set | dict):
        return len(v) == 0
    return isinstance(v, str) and not v.strip()


def _plain(v: Any) -> Any:
    if hasattr(v, "item") and not isinstance(v, list | str):
        return v.item()
    return v


def _merge_rows(
    table: list[dict[str, Any]], columns: list[str], geom_col: str, members: list[int]
) -> dict[str, Any]:
    rows = [table[m] for m in members]
    sources = [_text(r.get("source")) or "unknown" for r in rows]
    if len(rows) == 1:  # fast path: a site found once keeps its record as it is
        row, src = dict(rows[0]), sources[0]
        prov1: dict[str, Any] = {}
        for col in _PROV_COLUMNS:
            v = row.get(col)
            if col in row and not _blank(v) and not (col in _DEFAULTS and v == _DEFAULTS[col]):
                prov1[col] = src
        g = row.get(geom_col)
        if g is not None and not g.is_empty:
            prov1["geometry"] = src
        row.pop("provenance", None)
        row["provenance"] = prov1
        return row
    out: dict[str, Any] = {}
    prov: dict[str, Any] = {}
    conflicts: dict[str, dict[str, Any]] = {}
    list_cols = set(LIST_COLUMNS)
    for col in columns:
        if col in (geom_col, "provenance", "geocode_source", "geocode_quality"):
            continue
        if col in list_cols:
            union: list[str] = []
            said: list[str] = []
            for r, src in zip(rows, sources, strict=True):
                vals = r.get(col)
                vals = (
                    list(vals)
                    if isinstance(vals, list | tuple)
                    else ([] if _blank(vals) else [str(vals)])
                )
                if vals and src not in said:
                    said.append(src)
                union += [v for v in vals if v not in union]
            out[col] = union
            if said:
                prov[col] = ";".join(said)
            continue
        chosen = None
        values: list[dict[str, Any]] = []
        for r, src in zip(rows, sources, strict=True):
            v = r.get(col)
            if not _blank(v):
                values.append(
                    {"source": src, "id": _plain(r.get("partner_id")), "value": _plain(v)}
                )
                if chosen is None:
                    chosen = (v, src)
        out[col] = chosen[0] if chosen else rows[0].get(col)
        if col not in PARTNER_COLUMNS or col == "source" or chosen is None:
            continue
        if col in _DEFAULTS and not _blank(out[col]) and out[col] == _DEFAULTS[col]:
            continue  # a default filled in, not something a source said
        prov[col] = chosen[1]
        distinct = {str(x["value"]).strip().lower() for x in values}
        if col != "partner_id" and len(distinct) > 1:
            conflicts[col] = values

    # the best-located member gives the point
    def rank(k: int) -> tuple[int, int]:
        r = rows[k]
        g = r.get(geom_col)
        if g is None or g.is_empty:
            return (9, k)
        q = _text(r.get("geocode_quality")).lower() or "exact"
        return (_QUALITY_RANK.get(q, 5), k)

    best = min(range(len(rows)), key=rank)
    out[geom_col] = rows[best].get(geom_col)
    for c in ("geocode_source", "geocode_quality"):
        if c in columns:
            out[c] = rows[best].get(c)
    if rank(best)[0] < 9:
        prov["geometry"] = sources[best]
    out["source"] = ";".join(dict.fromkeys(sources))
    if conflicts:
        prov["_conflicts"] = conflicts
    if len(members) > 1:
        prov["_merged"] = [str(r.get("partner_id")) for r in rows]
    out["provenance"] = prov
    return out


def dedupe(
    gdf: gpd.GeoDataFrame,
    *,
    threshold: float = 85.0,
    review_threshold: float = 60.0,
    radius_km: float = 0.5,
) -> DedupeResult:
    """Merge duplicate sites (score >= ``threshold``); list pairs to review (>= ``review_threshold``).

    The input is not changed; rows keep their input order (a merged site sits where its first
    member was). Earlier rows win field conflicts, so pass the most trusted source first.
    """
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise InputError(f"dedupe needs a GeoDataFrame of partners, got {type(gdf).__name__}")
    if not 0 <= review_threshold <= threshold <= 100:
        raise InputError(
            f"thresholds must satisfy 0 <= review_threshold ({review_threshold}) <= threshold ({threshold}) <= 100"
        )
    data = gdf.reset_index(drop=True)
    if data.crs is not None and data.crs.to_epsg() != 4326:
        data = data.to_crs(CRS)
    pairs = score_pairs(data, find_candidates(data, radius_km=radius_km), threshold=threshold)
    parent = list(range(len(data)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    auto = pairs[pairs["score"] >= threshold]
    for i, j in zip(auto["left"], auto["right"], strict=True):
        ri, rj = find(int(i)), find(int(j))
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    clusters: dict[int, list[int]] = {}
    for k in range(len(data)):
        clusters.setdefault(find(k), []).append(k)
    table = data.to_dict("records")
    columns = list(data.columns)
    geom_col = data.geometry.name
    records = [_merge_rows(table, columns, geom_col, clusters[root]) for root in sorted(clusters)]
    out = gpd.GeoDataFrame(records, geometry=data.geometry.name, crs=data.crs or CRS)
    order = [c for c in PARTNER_COLUMNS if c in out.columns and c != "geometry"]
    extra = [c for c in out.columns if c not in order and c not in ("geometry", "provenance")]
    out = out[[*order, *extra, "provenance", out.geometry.name]]
    same = (
        pairs.apply(lambda r: find(int(r["left"])) == find(int(r["right"])), axis=1)
        if len(pairs)
        else pd.Series([], dtype=bool)
    )
    review = pairs[(pairs["score"] >= review_threshold) & ~same.astype(bool)].reset_index(drop=True)
    merged = pairs[pairs["score"] >= threshold].reset_index(drop=True)
    return DedupeResult(out, merged, review, pairs)


def provenance_to_text(df: pd.DataFrame) -> pd.DataFrame:
    """A copy whose ``provenance`` dicts are JSON text (for CSV, XLSX, GeoJSON, GeoPackage)."""
    out = df.copy()
    if "provenance" in out.columns:
        out["provenance"] = [
            v
            if isinstance(v, str)
            else json.dumps(v, ensure_ascii=False, sort_keys=True, default=str)
            for v in out["provenance"]
        ]
    return out
