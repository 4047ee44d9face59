"""Coverage: gaps (needs and languages with no partner within reach) and accessibility.

* :func:`gaps` — per school, each need with no partner within reach (``gap_kind='need'``)
  and each need x home language where partners serving the need are within reach but none
  is known to serve that language (``gap_kind='language'``), with the nearest partner beyond
  reach and its distance. Each row has a ``reason`` (:data:`GAP_REASONS`) that tells missing
  services from missing data: ``no_partner_within_reach``; ``language_not_offered`` (every
  partner in reach has recorded languages and none is this one); ``language_unknown`` (a
  partner in reach has no languages recorded: a phone call may close the gap). Family
  figures appear only as suppressed displays.
* :func:`gaps_by_district` — the same rolled up per district (numbers of schools).
* :func:`e2sfca` — the enhanced two-step floating catchment area method (Luo & Qi 2009) on
  arrays: ``R_j = S_j / sum_i W_ij D_i``; ``A_i = sum_j W_ij R_j`` — two ``np.bincount``
  passes over (i, j) pairs. :func:`accessibility` feeds it schools (or towns), families
  reporting a need and partner capacity (1 where unknown).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from assetmap.index import PartnerIndex
from assetmap.match import (
    AnalysisContext,
    _require_index,
    _schools_with_need,
    nearest_beyond,
    need_summary,
    needs_of,
    prepare,
)
from assetmap.needs import UNKNOWN_LANGUAGE, NeedProfile
from assetmap.settings import Settings

__all__ = [
    "GAP_COLUMNS",
    "GAP_REASONS",
    "gaps",
    "gaps_by_district",
    "need_coverage",
    "e2sfca",
    "step_weights",
    "accessibility",
    "DEFAULT_BAND_SHARES",
]

GAP_COLUMNS = [
    "school_id",
    "school_name",
    "district_id",
    "need",
    "language",
    "gap_kind",
    "reason",
    "families_display",
    "reach_km",
    "nearest_partner_id",
    "nearest_partner_name",
    "nearest_distance_km",
]

#: Why a gap is a gap (the ``reason`` column of :func:`gaps`).
GAP_REASONS = ("no_partner_within_reach", "language_not_offered", "language_unknown")

#: E2SFCA distance bands as shares of the need's reach, with the Luo & Qi (2009) weights.
DEFAULT_BAND_SHARES: tuple[tuple[float, float], ...] = ((1 / 3, 1.0), (2 / 3, 0.68), (1.0, 0.22))


def gaps(
    school_ids: Iterable[str] | None = None,
    *,
    partners_index: PartnerIndex | None = None,
    profile: NeedProfile,
    schools: pd.DataFrame | None = None,
    settings: Settings | None = None,
    zones: gpd.GeoDataFrame | None = None,
    context: AnalysisContext | None = None,
) -> pd.DataFrame:
    """The gaps frame (GAP_COLUMNS) for the given schools (all surveyed schools by default)."""
    ctx = context or prepare(
        partners_index=_require_index(partners_index),
        profile=profile,
        schools=schools,
        settings=settings,
        zones=zones,
    )
    pos = np.arange(len(ctx.schools)) if school_ids is None else ctx.school_pos(school_ids)
    small_d, need_d, nl_d = ctx.displays()
    p = ctx.index.partners
    pid = p["partner_id"].to_numpy(dtype=object)
    pname = p["name"].to_numpy(dtype=object)
    sch = ctx.schools
    rows: list[dict] = []

    s_id = sch["school_id"].to_numpy(dtype=object)
    s_name = sch["school_name"].to_numpy(dtype=object)
    s_dist = sch["district_id"].to_numpy(dtype=object)

    def add(
        s: int, need: str, lang: str | None, kind: str, reason: str, reach: float, d: float, j: int
    ):
        sid = s_id[s]
        disp = small_d.get(sid) or (
            need_d.get((sid, need), "") if lang is None else nl_d.get((sid, need, lang), "")
        )
        rows.append(
            {
                "school_id": sid,
                "school_name": s_name[s],
                "district_id": s_dist[s],
                "need": need,
                "language": lang,
                "gap_kind": kind,
                "reason": reason,
                "families_display": disp,
                "reach_km": reach,
                "nearest_partner_id": pid[j] if j >= 0 else None,
                "nearest_partner_name": pname[j] if j >= 0 else None,
                "nearest_distance_km": round(float(d), 3) if j >= 0 else None,
            }
        )

    for need in needs_of(ctx, pos):
        with_need = _schools_with_need(ctx, need, pos)
        summ = need_summary(ctx, need)
        reach = ctx.settings.reach_for(need)
        lacking = with_need[~summ.served[with_need]]
        if len(lacking):
            d, j = nearest_beyond(ctx, need, lacking)
            for s, dd, jj in zip(lacking, d, j, strict=True):
                add(int(s), need, None, "need", GAP_REASONS[0], reach, dd, int(jj))
        _, mat = ctx.demand(need)
        has = with_need[summ.served[with_need]]
        for li, lang in enumerate(ctx.languages):
            if lang in ("en", UNKNOWN_LANGUAGE):
                continue
            needing = has[mat[has, li] > 0]
            if len(needing) == 0:
                continue
            desert = needing[~summ.lang_covered[needing, li]]
            if len(desert) == 0:
                continue
            d, j = nearest_beyond(ctx, need, desert, languages=[lang])
            unknown = summ.lang_unknown
            for s, dd, jj in zip(desert, d, j, strict=True):
                why = GAP_REASONS[2] if unknown is not None and unknown[s] else GAP_REASONS[1]
                add(int(s), need, lang, "language", why, reach, dd, int(jj))
    if not rows:
        return pd.DataFrame(columns=GAP_COLUMNS)
    out = pd.DataFrame(rows, columns=GAP_COLUMNS)
    out = _none_for_missing(out, ["language", "nearest_partner_id", "nearest_partner_name"])
    order = {s: i for i, s in enumerate(sch["school_id"])}
    return (
        out.assign(
            _o=out["school_id"].map(order), _k=out["gap_kind"].map({"need": 0, "language": 1})
        )
        .sort_values(["_o", "need", "_k", "language"], kind="stable", na_position="first")
        .drop(columns=["_o", "_k"])
        .reset_index(drop=True)
    )


def need_coverage(
    ctx: AnalysisContext,
    *,
    school_ids: Iterable[str] | None = None,
    n_schools: int | None = None,
) -> pd.DataFrame:
    """Honest coverage per need over the **surveyed** schools only.

    ``school_ids``: the schools in scope (e.g. a district's; all by default); the surveyed
    ones among them are those in the context. Per top-level need: ``schools_in_scope``
    (``n_schools`` or the number of ids), ``schools_surveyed``, ``schools_with_need``
    (surveyed schools whose families reported it), ``schools_covered`` (of those, with a
    partner serving it within reach), ``covered_pct`` (over ``schools_with_need``; None when
    no surveyed school reported the need) and ``surveyed_text`` ("30 of 1,013 schools
    surveyed"). Unsurveyed schools are never counted as covered.
    """
    from assetmap.taxonomy import load_taxonomy

    ids = None if school_ids is None else {str(s) for s in school_ids}
    sch_ids = ctx.schools["school_id"].astype(str).to_numpy()
    pos = (
        np.arange(len(ctx.schools)) if ids is None else np.flatnonzero(np.isin(sch_ids, list(ids)))
    )
    in_scope = n_schools if n_schools is not None else (len(ids) if ids is not None else len(pos))
    surveyed = len(pos)
    text = f"{surveyed:,} of {in_scope:,} schools surveyed"
    rows = []
    for need in load_taxonomy().top_needs:
        with_need = _schools_with_need(ctx, need, pos) if surveyed else pos
        if len(with_need):
            covered = int(need_summary(ctx, need).served[with_need].sum())
            pct = round(100.0 * covered / len(with_need), 1)
        else:
            covered, pct = 0, None
        rows.append(
            {
                "need": need,
                "schools_in_scope": in_scope,
                "schools_surveyed": surveyed,
                "schools_with_need": int(len(with_need)),
                "schools_covered": covered,
                "covered_pct": pct,
                "surveyed_text": text,
            }
        )
    return pd.DataFrame(rows)


def _none_for_missing(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Text columns as objects with None (not NaN) where missing, as the contracts say."""
    for col in columns:
        df[col] = pd.Series(
            [None if v is None or (isinstance(v, float) and np.isnan(v)) else v for v in df[col]],
            index=df.index,
            dtype=object,
        )
    return df


def gaps_by_district(gap_frame: pd.DataFrame) -> pd.DataFrame:
    """District roll-up of a gaps frame: district_id, need, language, gap_kind, schools (count),
    school_names, nearest_distance_km_max (no family figures: those are per school only)."""
    if gap_frame.empty:
        return pd.DataFrame(
            columns=[
                "district_id",
                "need",
                "language",
                "gap_kind",
                "reason",
                "schools",
                "school_names",
                "nearest_distance_km_max",
            ]
        )
    g = gap_frame.assign(language=gap_frame["language"].fillna(""))
    out = (
        g.groupby(
            ["district_id", "need", "language", "gap_kind", "reason"], sort=True, dropna=False
        )
        .agg(
            schools=("school_id", "nunique"),
            school_names=("school_name", lambda s: "; ".join(sorted(set(map(str, s))))),
            nearest_distance_km_max=("nearest_distance_km", "max"),
        )
        .reset_index()
    )
    out["language"] = out["language"].replace("", np.nan)
    return _none_for_missing(out, ["language"])


# ------------------------------------------------------------------------------------ E2SFCA
def step_weights(dist: np.ndarray, bands: Sequence[tuple[float, float]]) -> np.ndarray:
    """Step distance-decay weights: the weight of the first band whose limit is >= distance
    (0 beyond the last band), as PySAL ``access.weights.step_fn``."""
    dist = np.asarray(dist, dtype=float)
    out = np.zeros(len(dist))
    done = np.zeros(len(dist), dtype=bool)
    for limit, w in sorted(bands):
        hit = ~done & (dist <= limit)
        out[hit] = w
        done |= hit
    return out


def e2sfca(
    demand: np.ndarray,
    supply: np.ndarray,
    pairs_i: np.ndarray,
    pairs_j: np.ndarray,
    dist: np.ndarray,
    *,
    bands: Sequence[tuple[float, float]] | None = None,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Enhanced two-step floating catchment area accessibility per demand location.

    Parameters
    ----------
    demand : (n_i,) demand at each location (families reporting a need)
    supply : (n_j,) supply of each provider (capacity; 1 where unknown)
    pairs_i, pairs_j, dist : aligned arrays of (location, provider, distance) pairs
    bands : ((limit, weight), ...) step weights (default 10/20/30 -> 1/0.68/0.22)
    weights : per-pair weights instead of ``bands``

    Returns ``A_i = sum_j W_ij * S_j / sum_k W_kj D_k`` (a provider nobody can reach adds 0).
    """
    demand = np.asarray(demand, dtype=float)
    supply = np.asarray(supply, dtype=float)
    pi = np.asarray(pairs_i, dtype=np.int64)
    pj = np.asarray(pairs_j, dtype=np.int64)
    if weights is None:
        w = step_weights(dist, bands or ((10.0, 1.0), (20.0, 0.68), (30.0, 0.22)))
    else:
        w = np.asarray(weights, dtype=float)
    catchment = np.bincount(pj, weights=w * demand[pi], minlength=len(supply))
    ratio = np.divide(supply, catchment, out=np.zeros(len(supply)), where=catchment > 0)
    return np.bincount(pi, weights=w * ratio[pj], minlength=len(demand))


def accessibility(
    places: gpd.GeoDataFrame | None = None,
    *,
    partners_index: PartnerIndex | None = None,
    profile: NeedProfile,
    need: str,
    schools: pd.DataFrame | None = None,
    settings: Settings | None = None,
    bands: Sequence[tuple[float, float]] | None = None,
    context: AnalysisContext | None = None,
) -> pd.DataFrame:
    """E2SFCA accessibility for ``need`` per surveyed school (default) or per town.

    Demand: families reporting the need at each school (suppression-safe weights), summed
    per town when ``places`` are polygons (schools located in them). Supply: capacity of each
    partner serving the need, 1 where unknown. Bands default to thirds of the need's reach
    with weights 1 / 0.68 / 0.22. Returns place id, name, need, demand_display (suppressed
    display or "" for towns), access (partners per family, distance-weighted).
    """
    ctx = context or prepare(
        partners_index=_require_index(partners_index),
        profile=profile,
        schools=schools,
        settings=settings,
    )
    reach = ctx.settings.reach_for(need)
    bands = tuple(bands or tuple((reach * f, w) for f, w in DEFAULT_BAND_SHARES))
    max_band = max(b for b, _ in bands)
    fam, _ = ctx.demand(need)
    sch = ctx.schools
    ok = np.isfinite(sch["lat"].to_numpy(dtype=float)) & np.isfinite(
        sch["lon"].to_numpy(dtype=float)
    )
    mask = ctx.index.filter_mask(needs=[need])
    cap = ctx.capacity.copy()
    supply = np.where(np.isnan(cap), 1.0, cap) * mask
    if places is None or (len(places) and places.geom_type.iloc[0] == "Point"):
        if places is None:
            ids = sch["school_id"].to_numpy()
            names = sch["school_name"].to_numpy()
            lat = sch["lat"].to_numpy(dtype=float)
            lon = sch["lon"].to_numpy(dtype=float)
            demand = np.where(ok, fam, 0.0)
        else:
            raise ValueError("point places other than the surveyed schools are not supported")
    else:
        poly = places.to_crs("EPSG:4326").reset_index(drop=True)
        id_col = "boundary_id" if "boundary_id" in poly.columns else poly.columns[0]
        pts = gpd.GeoDataFrame(
            {"s": np.flatnonzero(ok)},
            geometry=gpd.points_from_xy(sch["lon"][ok], sch["lat"][ok]),
            crs="EPSG:4326",
        )
        j = gpd.sjoin(pts, poly[["geometry"]], predicate="within")
        demand = np.bincount(
            j["index_right"].to_numpy(), weights=fam[j["s"].to_numpy()], minlength=len(poly)
        )
        cent = poly.to_crs(poly.estimate_utm_crs()).representative_point().to_crs("EPSG:4326")
        lat, lon = cent.y.to_numpy(), cent.x.to_numpy()
        ids = poly[id_col].astype(str).to_numpy()
        names = poly["name"].astype(str).to_numpy() if "name" in poly.columns else ids
    valid = np.isfinite(lat) & np.isfinite(lon)
    qi, pj, d = ctx.index.pairs_within(lat[valid], lon[valid], max_band, needs=[need])
    qi = np.flatnonzero(valid)[qi]
    access = e2sfca(demand, supply, qi, pj, d, bands=bands)
    out = pd.DataFrame({"place_id": ids, "name": names, "need": need, "access": access})
    if places is None:
        small_d, need_d, _ = ctx.displays()
        out["demand_display"] = [small_d.get(s) or need_d.get((s, need), "") for s in ids]
    else:
        out["demand_display"] = ""
    return out
