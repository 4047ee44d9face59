"""Nearby search: who near this point, school, town or ZIP serves this need in this language.

The caller passes the data (a PartnerIndex, the schools, the gazetteer), usually from a
:class:`assetmap.workspace.Workspace`; nothing here reads shipped files.

>>> ws = Workspace.open()  # doctest: +SKIP
>>> res = near(ws.index(), lat=41.7637, lon=-72.6851, radius_km=2)  # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from assetmap._errors import InputError
from assetmap._text import fold
from assetmap.index import PartnerIndex
from assetmap.languages import load_languages
from assetmap.roads import RoadNetwork, check_mode, road_config, travel_minutes
from assetmap.schedules import parse_open
from assetmap.taxonomy import load_taxonomy

__all__ = [
    "Location",
    "resolve_school",
    "resolve_place",
    "resolve_location",
    "near",
    "open_filter",
    "AmbiguousName",
    "prefer_stated",
]

DEFAULT_LIMIT = 10
_ZIP = re.compile(r"^\s*(\d{5})(?:-\d{4})?\s*$")


@dataclass(frozen=True)
class Location:
    """A resolved search origin."""

    lat: float
    lon: float
    label: str
    kind: str  # point / school / town / village / zip
    quality: str = "exact"


class AmbiguousName(InputError):
    """A name that matches several records; ``candidates`` lists them (id, name, town)."""

    def __init__(self, message: str, candidates: list[dict[str, str]]) -> None:
        super().__init__(message)
        self.candidates = candidates


def _require(frame: object, what: str) -> None:
    if frame is None:
        raise TypeError(
            f"pass {what} (e.g. from assetmap.workspace.Workspace); assetmap does not load "
            "shipped data on its own"
        )


def _school_candidates(rows: pd.DataFrame) -> list[dict[str, str]]:
    town = next((c for c in ("town", "city") if c in rows.columns), None)
    return [
        {
            "school_id": str(r["school_id"]),
            "name": str(r["name"]),
            "town": "" if town is None or pd.isna(r[town]) else str(r[town]),
        }
        for _, r in rows.iterrows()
    ]


def _ambiguous_school(q: str, rows: pd.DataFrame) -> AmbiguousName:
    cands = _school_candidates(rows)
    listing = "; ".join(
        f"{c['school_id']} {c['name']} ({c['town'] or 'town unknown'})" for c in cands[:20]
    )
    more = f" … and {len(cands) - 20} more" if len(cands) > 20 else ""
    return AmbiguousName(
        f"{len(cands)} schools are named {q!r}: {listing}{more}. Give the school id "
        f"(e.g. --school {cands[0]['school_id']}).",
        cands,
    )


def _check_point(lat: float, lon: float) -> None:
    if not (np.isfinite(lat) and np.isfinite(lon)) or abs(lat) > 90 or abs(lon) > 180:
        raise InputError(
            f"--lat {lat} --lon {lon} is not a place on Earth: latitude must be within ±90 and "
            "longitude within ±180 (e.g. --lat 41.7637 --lon -72.6851 for Hartford)."
        )


def resolve_school(query: str, schools: gpd.GeoDataFrame) -> tuple[Location, pd.Series]:
    """A school by id (state or NCES id) or by name (exact, then fuzzy).

    A name shared by several schools raises :class:`AmbiguousName` listing them (id, town).
    """
    _require(schools, "schools")
    q = str(query).strip()
    ids = schools["school_id"].astype(str)
    hit = schools[ids == q]
    for col in ("nces_id", "nces_st_schid"):
        if hit.empty and col in schools.columns:
            hit = schools[schools[col].astype(str) == q]
    if hit.empty:
        keys = schools["name"].map(fold)
        hit = schools[keys == fold(q)]
        if len(hit) > 1:
            raise _ambiguous_school(q, hit)
        if hit.empty:
            contains = (
                schools[keys.str.contains(re.escape(fold(q)), regex=True)]
                if fold(q)
                else schools.iloc[0:0]
            )
            if len(contains) == 1:
                hit = contains
            else:
                choices = dict(zip(schools.index, keys, strict=True))
                best = process.extract(fold(q), choices, scorer=fuzz.WRatio, limit=5)
                if best and best[0][1] >= 92 and (len(best) == 1 or best[0][1] - best[1][1] >= 4):
                    hit = schools.loc[[best[0][2]]]
                else:
                    cands = contains if len(contains) > 1 else schools.loc[[b[2] for b in best]]
                    suggestions = "; ".join(
                        f"{c['name']} ({c['school_id']}, {c['town'] or 'town unknown'})"
                        for c in _school_candidates(cands.iloc[:5])
                    )
                    raise InputError(
                        f"no single school matches {q!r}. Closest: {suggestions or 'none'}. "
                        "Give the school id or the full name."
                    )
    row = hit.iloc[0]
    geom = row.geometry
    if geom is None or geom.is_empty:
        raise InputError(f"school {row['name']!r} ({row['school_id']}) has no location on file")
    return Location(geom.y, geom.x, f"{row['name']} ({row['school_id']})", "school"), row


_STATE_SUFFIX = re.compile(r",?\s+([A-Za-z]{2}|connecticut)\.?$", re.IGNORECASE)


def resolve_place(query: str, gazetteer: pd.DataFrame) -> Location:
    """A town, village, district or ZIP code from the workspace's gazetteer (works offline)."""
    _require(gazetteer, "gazetteer")
    q = str(query).strip()
    m = _ZIP.match(q)
    if m:
        rows = gazetteer[
            (gazetteer["kind"] == "zip") & (gazetteer["zip"].astype(str) == m.group(1))
        ]
        if rows.empty:
            raise InputError(
                f"ZIP code {m.group(1)} is not a US ZIP code area we know. Try the town name."
            )
        r = rows.iloc[0]
        town = "" if pd.isna(r["town"]) else str(r["town"]).strip()
        label = f"ZIP {m.group(1)} ({town})" if town else f"ZIP {m.group(1)}"
        return Location(float(r["lat"]), float(r["lon"]), label, "zip", "zip")
    key = fold(_STATE_SUFFIX.sub("", q))
    names = gazetteer["name"].map(fold)
    for kind in ("town", "village", "district"):
        rows = gazetteer[(gazetteer["kind"] == kind) & (names == key)]
        if not rows.empty:
            r = rows.iloc[0]
            return Location(float(r["lat"]), float(r["lon"]), str(r["name"]), kind, "town")
    places = gazetteer[gazetteer["kind"].isin(["town", "village", "district"])]
    best = process.extract(
        key,
        dict(zip(places.index, places["name"].map(fold), strict=True)),
        scorer=fuzz.WRatio,
        limit=3,
    )
    hint = ", ".join(str(gazetteer.at[b[2], "name"]) for b in best) if best else ""
    raise InputError(
        f"{q!r} is not a town, village or ZIP code of this workspace. Did you mean: {hint}?"
    )


def resolve_location(
    *,
    lat: float | None = None,
    lon: float | None = None,
    school: str | None = None,
    place: str | None = None,
    schools: gpd.GeoDataFrame | None = None,
    gazetteer: pd.DataFrame | None = None,
) -> Location:
    """Exactly one origin: a point, a school, or a town/ZIP."""
    given = sum(x is not None for x in (school, place)) + (lat is not None or lon is not None)
    if given != 1:
        raise InputError(
            "give exactly one origin: --lat/--lon, --school, or --place (e.g. --place 06106)"
        )
    if lat is not None or lon is not None:
        if lat is None or lon is None:
            raise InputError("give both --lat and --lon (e.g. --lat 41.7637 --lon -72.6851)")
        _check_point(float(lat), float(lon))
        return Location(float(lat), float(lon), f"{lat:.5f}, {lon:.5f}", "point")
    if school is not None:
        return resolve_school(school, schools)[0]  # type: ignore[arg-type]
    return resolve_place(str(place), gazetteer)  # type: ignore[arg-type]


def _normalise_filters(
    needs: Iterable[str], categories: Iterable[str], languages: Iterable[str]
) -> tuple[list[str], list[str], list[str]]:
    tax, langs = load_taxonomy(), load_languages()
    out_n, out_c, out_l = [], [], []
    for n in needs:
        code = tax.normalize_need(n)
        if code is None:
            raise InputError(
                f"unknown need {n!r}. Use a code such as: {', '.join(tax.top_needs[:8])} …"
            )
        out_n.append(code)
    for c in categories:
        code = tax.normalize_category(c)
        if code is None:
            raise InputError(
                f"unknown category {c!r}. Known: {', '.join(list(tax.categories)[:10])} …"
            )
        out_c.append(code)
    for lang in languages:
        code = langs.normalize(lang)
        if code is None:
            raise InputError(
                f"unknown language {lang!r}. Use a code or name, e.g. es, Spanish, español."
            )
        out_l.append(code)
    return out_n, out_c, out_l


def near(
    index: PartnerIndex,
    *,
    lat: float | None = None,
    lon: float | None = None,
    school: str | None = None,
    place: str | None = None,
    needs: Iterable[str] = (),
    categories: Iterable[str] = (),
    languages: Iterable[str] = (),
    radius_km: float | None = None,
    limit: int | None = None,
    open_at: Iterable[str] = (),
    programs: Iterable[Mapping[str, Any]] = (),
    mode: str | None = None,
    max_minutes: float | None = None,
    roads: RoadNetwork | None = None,
    schools: gpd.GeoDataFrame | None = None,
    gazetteer: pd.DataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Partners near an origin, filtered, sorted by ``distance_km``.

    With ``radius_km`` every match within it is returned (capped by ``limit`` if given);
    without it, the ``limit`` (default 10) nearest matches. ``open_at`` (evening, weekend,
    summer) keeps partners whose opening hours or whose ``programs`` (workspace programs,
    see :mod:`assetmap.programs`) fall in every chosen time; the names of those programs are
    in the ``open_programs`` column.

    With ``mode`` ("walk" or "drive") each result gets ``travel_minutes``, ``mode`` and
    ``travel_time_basis`` ("network" on the ``roads`` network, "estimated" from straight-line
    distance without one) and results are sorted by minutes; ``max_minutes`` keeps those
    within that many minutes. A ``school`` origin needs ``schools`` and a ``place``
    origin needs ``gazetteer`` (both from the workspace).
    """
    _require(index, "a PartnerIndex")
    where = resolve_location(
        lat=lat, lon=lon, school=school, place=place, schools=schools, gazetteer=gazetteer
    )
    n, c, lang = _normalise_filters(needs, categories, languages)
    if limit is not None and limit < 1:
        raise InputError(f"--limit must be at least 1, got {limit}")
    if max_minutes is not None and mode is None:
        raise InputError("--max-minutes needs a travel mode: add --mode walk or --mode drive")
    if mode is not None:
        return _near_by_time(
            index, where, n, c, lang, mode=mode, max_minutes=max_minutes, roads=roads,
            radius_km=radius_km, limit=limit, open_at=open_at, programs=programs,
        )  # fmt: skip
    choices = parse_open(open_at)
    if choices:
        if radius_km is not None:
            res = index.radius(
                where.lat, where.lon, float(radius_km), needs=n, categories=c, languages=lang
            )
        else:
            res = index.knn(
                where.lat, where.lon, max(len(index), 1), needs=n, categories=c, languages=lang
            )
        res = open_filter(res, choices, programs)
        res = res.iloc[: limit or (None if radius_km is not None else DEFAULT_LIMIT)]
        res.attrs["origin"] = where
        return res.reset_index(drop=True)

    def query(idx: PartnerIndex) -> gpd.GeoDataFrame:
        if radius_km is not None:
            return idx.radius(
                where.lat, where.lon, float(radius_km), needs=n, categories=c, languages=lang,
                limit=limit,
            )  # fmt: skip
        return idx.knn(
            where.lat, where.lon, limit or DEFAULT_LIMIT, needs=n, categories=c, languages=lang
        )

    res = query(index)
    if n:
        res = prefer_stated(res, query, index)
    res.attrs["origin"] = where
    return res


_STATED: dict[int, tuple[PartnerIndex, PartnerIndex]] = {}


def _stated_index(index: PartnerIndex) -> PartnerIndex:
    """The index over what partners *say* they serve: ``services`` minus ``services_inferred``
    (the category's defaults, a guess), rows left with none dropped. Cached per index."""
    hit = _STATED.get(id(index))
    if hit is not None and hit[0] is index:
        return hit[1]
    p = index.partners
    if "services_inferred" not in p.columns:
        return index
    stated = [
        [s for s in (svc or []) if s not in set(inf or [])]
        for svc, inf in zip(p["services"], p["services_inferred"], strict=True)
    ]
    keep = np.array([bool(s) for s in stated], dtype=bool)
    if keep.all():
        return index
    sub = p.assign(services=stated)[keep]
    out = PartnerIndex.build(sub.reset_index(drop=True))
    if len(_STATED) > 8:
        _STATED.clear()
    _STATED[id(index)] = (index, out)
    return out


def prefer_stated(res: gpd.GeoDataFrame, query, index: PartnerIndex) -> gpd.GeoDataFrame:
    """Partners that state the need first (nearest first), then those whose match rests only
    on services inferred from their category (``service_inferred`` True), up to the same
    number of rows. A congregation *may* run a pantry; a pantry says it does."""
    stated_idx = _stated_index(index)
    if stated_idx is index:
        return res.assign(service_inferred=False)
    stated = query(stated_idx)
    if len(stated):
        full = index.partners.set_index("partner_id")["services"]
        stated = stated.assign(services=[full.get(pid) for pid in stated["partner_id"]])
    ids = set(stated["partner_id"])
    rest = res[~res["partner_id"].isin(ids)]
    out = pd.concat(
        [stated.assign(service_inferred=False), rest.assign(service_inferred=True)],
        ignore_index=True,
    )
    out = gpd.GeoDataFrame(out, geometry=res.geometry.name, crs=res.crs)
    return out.iloc[: max(len(res), len(stated))].reset_index(drop=True)


def open_filter(
    partners: gpd.GeoDataFrame, choices: Iterable[str], programs: Iterable[Mapping[str, Any]] = ()
) -> gpd.GeoDataFrame:
    """Partners open at every chosen time (evening, weekend, summer), by their own hours or
    by a program they run; adds ``open_programs`` (names of the fitting programs)."""
    from assetmap.programs import programs_open
    from assetmap.schedules import OPEN_CHOICES, hours_slots

    choices = parse_open(choices)
    by_partner: dict[str, list[str]] = {}
    for p in programs_open(programs, choices):
        if p.get("partner_id"):
            by_partner.setdefault(str(p["partner_id"]), []).append(str(p["name"]))
    hours = partners["hours"] if "hours" in partners.columns else pd.Series([None] * len(partners))
    own = [all(hours_slots(h) & OPEN_CHOICES[c] for c in choices) for h in hours]
    fitting = [by_partner.get(str(pid), []) for pid in partners["partner_id"]]
    keep = np.array([o or bool(f) for o, f in zip(own, fitting, strict=True)], dtype=bool)
    out = partners.loc[keep].copy()
    out["open_programs"] = [f for f, k in zip(fitting, keep, strict=True) if k]
    return out


def _near_by_time(
    index: PartnerIndex,
    where: Location,
    n: list[str],
    c: list[str],
    lang: list[str],
    *,
    mode: str,
    max_minutes: float | None,
    roads: RoadNetwork | None,
    radius_km: float | None,
    limit: int | None,
    open_at: Iterable[str] = (),
    programs: Iterable[Mapping[str, Any]] = (),
) -> gpd.GeoDataFrame:
    """Candidates by straight line (a bound no faster trip can beat), then minutes."""
    check_mode(mode)
    choices = parse_open(open_at)
    if max_minutes is not None and (not np.isfinite(max_minutes) or max_minutes <= 0):
        raise InputError(f"--max-minutes must be a positive number, e.g. 20; got {max_minutes}")
    cfg = road_config()
    if max_minutes is not None:
        speed = (
            roads.top_kmh(mode, cfg) if roads is not None else cfg.estimate_kmh(mode) / cfg.circuity
        )
        bound = max_minutes / 60.0 * speed
        if roads is not None:  # points off the network fall back to the estimate
            bound = max(bound, max_minutes / 60.0 * cfg.estimate_kmh(mode) / cfg.circuity)
        if radius_km is not None:
            bound = min(bound, float(radius_km))
        res = index.radius(where.lat, where.lon, bound, needs=n, categories=c, languages=lang)
    elif radius_km is not None:
        res = index.radius(where.lat, where.lon, float(radius_km), needs=n, categories=c,
                           languages=lang)  # fmt: skip
    else:
        k = max(len(index), 1) if choices else limit or DEFAULT_LIMIT
        res = index.knn(where.lat, where.lon, k, needs=n, categories=c, languages=lang)
    if choices:
        res = open_filter(res, choices, programs)
        if max_minutes is None and radius_km is None:
            res = res.iloc[: limit or DEFAULT_LIMIT]
    mins, on = travel_minutes(
        roads,
        mode,
        [where.lat],
        [where.lon],
        res.geometry.y.to_numpy(),
        res.geometry.x.to_numpy(),
        max_minutes=max_minutes,
    )
    res = res.copy()
    res["travel_minutes"] = np.round(mins[0], 1)
    res["mode"] = mode
    res["travel_time_basis"] = np.where(on[0], "network", "estimated")
    res = res[np.isfinite(res["travel_minutes"].to_numpy())]
    res = res.sort_values(["travel_minutes", "distance_km"], kind="stable")
    if limit is not None or max_minutes is None and radius_km is None:
        res = res.head(limit or DEFAULT_LIMIT)
    res = res.reset_index(drop=True)
    res.attrs["origin"] = where
    return res
