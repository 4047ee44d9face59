"""Reach in minutes for analysis: gaps ("no food help within a 15-minute walk") and E2SFCA
accessibility with travel-time catchments.

Both take an :class:`assetmap.match.AnalysisContext` (the same one ``gaps`` and ``match``
use), so family figures appear only as its suppressed displays. Times come from
:func:`assetmap.roads.reach_pairs`: on the workspace's road network when one is given,
otherwise estimated from straight-line distance (``travel_time_basis`` says which).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from assetmap.roads._config import RoadConfig, road_config
from assetmap.roads._graph import RoadNetwork
from assetmap.roads._travel import check_mode, reach_pairs

__all__ = [
    "TRAVEL_GAP_COLUMNS",
    "gaps_in_minutes",
    "accessibility_in_minutes",
    "use_travel_time",
    "with_travel_columns",
]

TRAVEL_GAP_COLUMNS = [
    "school_id",
    "school_name",
    "district_id",
    "need",
    "language",
    "gap_kind",
    "families_display",
    "mode",
    "reach_minutes",
    "nearest_partner_id",
    "nearest_partner_name",
    "nearest_travel_minutes",
    "travel_time_basis",
]

#: how far past the reach the nearest partner is still looked for (x reach)
BEYOND = 2.0


def _basis(on: bool | None) -> str | None:
    return None if on is None else ("network" if on else "estimated")


def gaps_in_minutes(
    context,
    school_ids: Iterable[str] | None = None,
    *,
    mode: str,
    roads: RoadNetwork | None,
    max_minutes: float | None = None,
    config: RoadConfig | None = None,
) -> pd.DataFrame:
    """Per school, each reported need with no partner within its reach in minutes
    (``gap_kind='need'``) and each need x home language whose partners within reach all
    lack that language (``'language'``), with the nearest partner up to twice the reach.

    ``max_minutes`` replaces the per-need reach of ``config/roads.toml`` [reach_minutes].
    """
    from assetmap.match import _schools_with_need, needs_of
    from assetmap.needs import UNKNOWN_LANGUAGE

    cfg = config or road_config()
    check_mode(mode)
    ctx = context
    pos = np.arange(len(ctx.schools)) if school_ids is None else ctx.school_pos(school_ids)
    small_d, need_d, nl_d = ctx.displays()
    sch = ctx.schools
    s_id = sch["school_id"].to_numpy(dtype=object)
    s_name = sch["school_name"].to_numpy(dtype=object)
    s_dist = sch["district_id"].to_numpy(dtype=object)
    s_lat = sch["lat"].to_numpy(dtype=float)
    s_lon = sch["lon"].to_numpy(dtype=float)
    idx = ctx.index
    pid = idx.partners["partner_id"].to_numpy(dtype=object)
    pname = idx.partners["name"].to_numpy(dtype=object)
    rows: list[dict] = []

    def add(s, need, lang, kind, reach, j, mins, on) -> None:
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
                "families_display": disp,
                "mode": mode,
                "reach_minutes": reach,
                "nearest_partner_id": pid[j] if j is not None else None,
                "nearest_partner_name": pname[j] if j is not None else None,
                "nearest_travel_minutes": round(float(mins), 1) if j is not None else None,
                "travel_time_basis": _basis(on) if j is not None else None,
            }
        )

    for need in needs_of(ctx, pos):
        reach = float(max_minutes) if max_minutes is not None else cfg.reach_minutes(mode, need)
        with_need = _schools_with_need(ctx, need, pos)
        with_need = with_need[np.isfinite(s_lat[with_need]) & np.isfinite(s_lon[with_need])]
        if len(with_need) == 0:
            continue
        serving = np.flatnonzero(idx.filter_mask(needs=[need]))
        oi, tj, mins, on = reach_pairs(
            roads,
            mode,
            s_lat[with_need],
            s_lon[with_need],
            idx.lat[serving],
            idx.lon[serving],
            reach * BEYOND,
            config=cfg,
        )
        pj = serving[tj]
        inside = mins <= reach + 1e-9
        served = np.zeros(len(with_need), dtype=bool)
        served[oi[inside]] = True
        first = np.full(len(with_need), -1)
        if len(oi):  # pairs are sorted by origin then minutes: the first is the nearest
            starts = np.flatnonzero(np.r_[True, oi[1:] != oi[:-1]])
            first[oi[starts]] = starts
        for k in np.flatnonzero(~served):
            f = first[k]
            add(int(with_need[k]), need, None, "need", reach,
                None if f < 0 else int(pj[f]), 0 if f < 0 else mins[f],
                None if f < 0 else bool(on[f]))  # fmt: skip
        _, mat = ctx.demand(need)
        for li, lang in enumerate(ctx.languages):
            if lang in ("en", UNKNOWN_LANGUAGE):
                continue
            needing = np.flatnonzero(served & (mat[with_need, li] > 0))
            if len(needing) == 0:
                continue
            speaks = ctx.partner_lang[pj, li]
            covered = np.zeros(len(with_need), dtype=bool)
            covered[oi[inside & speaks]] = True
            for k in needing[~covered[needing]]:
                cand = np.flatnonzero((oi == k) & speaks)
                f = int(cand[0]) if len(cand) else -1
                add(int(with_need[k]), need, lang, "language", reach,
                    None if f < 0 else int(pj[f]), 0 if f < 0 else mins[f],
                    None if f < 0 else bool(on[f]))  # fmt: skip
    if not rows:
        return pd.DataFrame(columns=TRAVEL_GAP_COLUMNS)
    out = pd.DataFrame(rows, columns=TRAVEL_GAP_COLUMNS).astype({"language": object})
    order = {s: i for i, s in enumerate(s_id)}
    return (
        out.assign(
            _o=out["school_id"].map(order), _k=out["gap_kind"].map({"need": 0, "language": 1})
        )
        .sort_values(["_o", "need", "_k", "language"], kind="stable", na_position="first")
        .drop(columns=["_o", "_k"])
        .reset_index(drop=True)
    )


def accessibility_in_minutes(
    context,
    need: str,
    *,
    mode: str,
    roads: RoadNetwork | None,
    bands: Sequence[tuple[float, float]] | None = None,
    config: RoadConfig | None = None,
) -> pd.DataFrame:
    """E2SFCA accessibility for ``need`` per surveyed school with travel-time catchments.

    Bands are in minutes: by default thirds of the need's reach in minutes with the Luo &
    Qi (2009) weights 1 / 0.68 / 0.22 (as :func:`assetmap.coverage.accessibility` does in
    km). Returns place_id, name, need, mode, access, demand_display, travel_time_basis
    ("network" when every pair of the place was timed on the network, else "estimated").
    """
    from assetmap.coverage import DEFAULT_BAND_SHARES, e2sfca

    cfg = config or road_config()
    check_mode(mode)
    ctx = context
    reach = cfg.reach_minutes(mode, need)
    bands = tuple(bands or tuple((reach * f, w) for f, w in DEFAULT_BAND_SHARES))
    fam, _ = ctx.demand(need)
    sch = ctx.schools
    lat = sch["lat"].to_numpy(dtype=float)
    lon = sch["lon"].to_numpy(dtype=float)
    ok = np.isfinite(lat) & np.isfinite(lon)
    mask = ctx.index.filter_mask(needs=[need])
    cap = ctx.capacity.copy()
    supply = np.where(np.isnan(cap), 1.0, cap) * mask
    serving = np.flatnonzero(mask)
    valid = np.flatnonzero(ok)
    oi, tj, mins, on = reach_pairs(
        roads,
        mode,
        lat[valid],
        lon[valid],
        ctx.index.lat[serving],
        ctx.index.lon[serving],
        max(b for b, _ in bands),
        config=cfg,
    )
    qi, pj = valid[oi], serving[tj]
    access = e2sfca(np.where(ok, fam, 0.0), supply, qi, pj, mins, bands=bands)
    estimated = np.bincount(qi, weights=(~on).astype(float), minlength=len(sch)) > 0
    small_d, need_d, _ = ctx.displays()
    ids = sch["school_id"].to_numpy()
    network = roads is not None
    return pd.DataFrame(
        {
            "place_id": ids,
            "name": sch["school_name"].to_numpy(),
            "need": need,
            "mode": mode,
            "access": access,
            "demand_display": [small_d.get(s) or need_d.get((s, need), "") for s in ids],
            "travel_time_basis": np.where(network & ~estimated, "network", "estimated"),
        }
    )


class _TravelDecay:
    """exp(-minutes / e-folding minutes) for (school, partner) pairs, one Dijkstra per school
    (limited to 4 e-folding lengths: beyond, the part is below 0.02 and counted as 0)."""

    def __init__(self, mode: str, roads: RoadNetwork | None, cfg: RoadConfig) -> None:
        self.mode, self.roads, self.cfg = mode, roads, cfg
        self.tau = float(cfg.decay_minutes.get(mode, 15.0))
        self.minutes: dict[tuple[int, int], tuple[float, bool]] = {}

    def __call__(self, ctx, sp: np.ndarray, pp: np.ndarray) -> np.ndarray:
        from assetmap.roads._travel import travel_minutes

        sp = np.asarray(sp, dtype=np.int64)
        pp = np.asarray(pp, dtype=np.int64)
        out = np.empty(len(sp))
        lat = ctx.schools["lat"].to_numpy(dtype=float)
        lon = ctx.schools["lon"].to_numpy(dtype=float)
        for s in np.unique(sp):
            rows = np.flatnonzero(sp == s)
            todo = [int(p) for p in np.unique(pp[rows]) if (int(s), int(p)) not in self.minutes]
            if todo:
                mins, on = travel_minutes(
                    self.roads, self.mode, [lat[s]], [lon[s]],
                    ctx.index.lat[todo], ctx.index.lon[todo],
                    max_minutes=4 * self.tau, config=self.cfg,
                )  # fmt: skip
                for p, m, o in zip(todo, mins[0], on[0], strict=True):
                    self.minutes[(int(s), p)] = (float(m), bool(o))
            out[rows] = [self.minutes[(int(s), int(p))][0] for p in pp[rows]]
        return np.exp(-out / self.tau)

    def columns(self, ctx, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` (school_id, partner_id rows) with travel_minutes, mode and
        travel_time_basis from the times the scores used."""
        from assetmap.index import frame_positions

        out = frame.copy()
        if frame.empty:
            return out.assign(travel_minutes=[], mode=[], travel_time_basis=[])
        sp = ctx.school_pos(frame["school_id"].astype(str))
        pp = frame_positions(ctx.index, frame["partner_id"].astype(str))
        self(ctx, sp[pp >= 0], pp[pp >= 0])  # fills any pair not scored yet
        got = [
            self.minutes.get((int(s), int(p)), (np.inf, False)) for s, p in zip(sp, pp, strict=True)
        ]
        mins = np.array([g[0] for g in got])
        out["travel_minutes"] = np.where(np.isfinite(mins), np.round(mins, 1), np.nan)
        out["mode"] = self.mode
        out["travel_time_basis"] = ["network" if g[1] else "estimated" for g in got]
        return out


def use_travel_time(
    context, *, mode: str, roads: RoadNetwork | None, config: RoadConfig | None = None
):
    """Make matching on ``context`` decay with travel minutes instead of km.

    The distance part of every score becomes exp(-minutes / e-folding minutes)
    (``config/roads.toml`` [decay_minutes]); candidates are still the partners within the
    need's reach in km. Call right after :func:`assetmap.match.prepare`, before scoring.
    Returns the context.
    """
    check_mode(mode)
    context.cache["travel_decay"] = _TravelDecay(mode, roads, config or road_config())
    return context


def with_travel_columns(context, frame: pd.DataFrame) -> pd.DataFrame:
    """Match rows with ``travel_minutes``, ``mode`` and ``travel_time_basis`` ("network" or
    "estimated") after :func:`use_travel_time`; unchanged without it. Minutes beyond four
    e-folding lengths are NaN (their decay part is 0)."""
    travel = context.cache.get("travel_decay")
    return frame if travel is None else travel.columns(context, frame)
