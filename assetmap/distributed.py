"""Batch matching, gaps and networks on Dask (dask-geopandas), same answers as in memory.

For a state the in-memory engine (:mod:`assetmap.match`, :mod:`assetmap.coverage`,
:mod:`assetmap.network`) is the default. Beyond one machine these functions run the *same*
functions on spatial partitions of the schools:

1. The surveyed schools become a dask-geopandas frame; their Hilbert distances cut them
   into runs along the curve (as ``spatial_shuffle`` does), so each partition covers a
   compact area.
2. The located partners (and their Earth-centred coordinates) are scattered once to every
   worker. Each partition takes the partners inside a ball around its schools: centre ``c``,
   radius ``rho + R`` where ``rho`` is the farthest school from ``c`` and ``R`` the
   maximum reach of any need. Every partner within reach of any of its schools is inside.
3. Each partition builds a :class:`~assetmap.index.PartnerIndex` on that subset (same
   partners, same order) and a sub-profile of its schools, then calls the in-memory
   functions. Suppression is per school (blocks are schools), so a sub-profile publishes
   exactly the rows of the full one; the family weights follow from them.
4. Exactness of "nearest partner beyond reach": for school ``s`` at distance ``d_s`` from
   ``c`` every partner within ``G_s = rho + R - d_s`` (>= R) km is in the subset. Whenever a
   nearest partner the answer depends on is not provably inside ``G_s`` (or none was found)
   the partition is recomputed with ``R`` four times larger, up to all partners. Distance ties
   are broken by partner position in the index, which a subset preserves.
5. Results are concatenated in the in-memory order. For networks the lead load (schools a
   partner leads for) and the "overloaded" note are computed over all partitions, as
   :func:`assetmap.network.build_network` does over its schools.

A ``LocalCluster`` is started by default (``n_workers``); pass ``scheduler="tcp://host:8786"``
for any running ``dask.distributed`` scheduler, or an existing ``client``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from assetmap._errors import InputError
from assetmap.index import EARTH_RADIUS_KM, PartnerIndex, chord_to_km, km_to_chord, to_xyz
from assetmap.needs import NeedProfile
from assetmap.settings import Settings, get_settings
from assetmap.taxonomy import load_taxonomy

__all__ = ["match_dask", "gaps_dask", "network_dask", "analyse_dask", "dask_client"]

log = logging.getLogger(__name__)

_TOL_KM = 0.01  # distances in outputs are rounded to 1 m; keep well clear of the boundary
_NO_NOTE = 10**12  # lead-load warning threshold used inside partitions (notes added globally)


# ----------------------------------------------------------------------------- cluster
@contextlib.contextmanager
def dask_client(
    scheduler: str | None = None,
    *,
    n_workers: int = 2,
    threads_per_worker: int = 1,
    processes: bool = True,
    memory_limit: str | float | None = "auto",
    timeout: str = "20s",
) -> Iterator[Any]:
    """A ``dask.distributed.Client``: to ``scheduler`` (an address) or a new LocalCluster."""
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout=timeout)
        except OSError as exc:
            raise InputError(
                f"cannot reach the Dask scheduler at {scheduler} ({exc}); start one with "
                "'dask scheduler' or leave out --scheduler to use a local cluster"
            ) from exc
        try:
            yield client
        finally:
            client.close()
        return
    with warnings.catch_warnings():
        # No dashboard is served, but the scheduler's HTTP endpoint still tries port 8787 and
        # warns when another cluster holds it before taking a free port: not the user's concern.
        warnings.filterwarnings(
            "ignore", message=r"Port \d+ is already in use", category=UserWarning
        )
        cluster = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=threads_per_worker,
            processes=processes,
            memory_limit=memory_limit,
            dashboard_address=None,
            silence_logs=logging.WARNING,
        )
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


# ----------------------------------------------------------------------------- driver side
def _school_meta(profile: NeedProfile, schools: pd.DataFrame | None) -> pd.DataFrame:
    """school_id, school_name, district_id, lat, lon of the surveyed schools (as prepare)."""
    meta = profile._schools.copy()  # noqa: SLF001 - school list only, no figures
    if ("lat" not in meta.columns or meta["lat"].isna().all()) and schools is not None:
        sch = schools.assign(school_id=schools["school_id"].astype(str)).drop_duplicates(
            "school_id"
        )
        if "geometry" in sch.columns:
            g = gpd.GeoSeries(sch.geometry.values, index=sch["school_id"]).reindex(
                meta["school_id"]
            )
            meta["lat"] = [p.y if p is not None and not p.is_empty else np.nan for p in g]
            meta["lon"] = [p.x if p is not None and not p.is_empty else np.nan for p in g]
        else:
            sch = sch.set_index("school_id")
            meta["lat"] = sch["lat"].reindex(meta["school_id"]).to_numpy(dtype=float)
            meta["lon"] = sch["lon"].reindex(meta["school_id"]).to_numpy(dtype=float)
    if "lat" not in meta.columns:
        meta["lat"] = np.nan
        meta["lon"] = np.nan
    return meta.reset_index(drop=True)


def _targets(
    meta: pd.DataFrame, school_ids: Iterable[str] | None, district: str | None
) -> np.ndarray:
    """Positions (in ``meta``) of the schools asked for, in the in-memory engine's order."""
    if school_ids is not None:
        lookup = pd.Series(np.arange(len(meta)), index=meta["school_id"].astype(str))
        ids = [str(s) for s in school_ids]
        missing = [s for s in ids if s not in lookup.index]
        if missing:
            raise InputError(
                f"school(s) {', '.join(missing[:5])} have no survey responses or are unknown; "
                "check the id (run 'assetmap needs' to list the surveyed schools)"
            )
        return lookup.loc[ids].to_numpy()
    if district is not None:
        return np.flatnonzero(meta["district_id"].astype(str).to_numpy() == str(district))
    return np.arange(len(meta))


def _sub_profile(profile: NeedProfile, meta: pd.DataFrame, ids: Sequence[str]) -> NeedProfile:
    """The profile of some schools only, with the full profile's declared categories."""
    counts = profile._counts  # noqa: SLF001
    keep = set(ids)
    sub_meta = meta.loc[meta["school_id"].isin(keep)].reset_index(drop=True)
    return NeedProfile(
        counts.loc[counts["school_id"].isin(keep)].reset_index(drop=True),
        sub_meta,
        languages=profile.languages,
        needs=profile.needs,
        synthetic=profile.synthetic,
    )


def _partitions(meta: pd.DataFrame, pos: np.ndarray, npartitions: int) -> list[np.ndarray]:
    """Target school positions split spatially (dask-geopandas Hilbert distance); schools
    without coordinates go together in a last partition."""
    lat = meta["lat"].to_numpy(dtype=float)[pos]
    lon = meta["lon"].to_numpy(dtype=float)[pos]
    ok = np.isfinite(lat) & np.isfinite(lon)
    parts: list[np.ndarray] = []
    located = pos[ok]
    if len(located):
        import dask_geopandas

        k = max(1, min(npartitions, len(located)))
        gdf = gpd.GeoDataFrame(
            {"pos": located},
            geometry=gpd.points_from_xy(lon[ok], lat[ok]),
            crs="EPSG:4326",
        )
        # Hilbert distance of each school (dask-geopandas), then k contiguous runs of the
        # curve: compact areas of equal school counts (what spatial_shuffle does, no shuffle).
        if k > 1:
            dgdf = dask_geopandas.from_geopandas(gdf, npartitions=min(k, 8))
            hd = dgdf.hilbert_distance().compute().to_numpy()
            order = np.argsort(hd, kind="stable")
        else:
            order = np.arange(len(located))
        for chunk in np.array_split(located[order], k):
            if len(chunk):
                parts.append(np.sort(chunk))
    if (~ok).any():
        parts.append(pos[~ok])
    return parts


# ----------------------------------------------------------------------------- worker side
def _ball(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre (unit xyz * R) of some points and their great-circle distance (km) from it."""
    xyz = to_xyz(lat, lon)
    c = xyz.mean(axis=0)
    norm = np.linalg.norm(c)
    c = c / norm * EARTH_RADIUS_KM if norm > 0 else xyz[0]
    d = chord_to_km(np.linalg.norm(xyz - c, axis=1))
    return c, d


def _select(xyz: np.ndarray, centre: np.ndarray, radius_km: float) -> np.ndarray:
    """Sorted positions of the points within ``radius_km`` (great circle) of ``centre``."""
    if not np.isfinite(radius_km) or radius_km >= np.pi * EARTH_RADIUS_KM:
        return np.arange(len(xyz))
    chord = float(km_to_chord(radius_km)) + 1e-6
    d2 = ((xyz - centre) ** 2).sum(axis=1)
    return np.flatnonzero(d2 <= chord * chord)


def _partition_task(
    part_ids: list[str],
    sub_profile: NeedProfile,
    shared: tuple[gpd.GeoDataFrame, np.ndarray],
    settings: Settings,
    kinds: tuple[str, ...],
    options: dict[str, Any],
) -> dict[str, Any]:
    """Run the in-memory engine for one partition (see the module notes)."""
    from assetmap.coverage import gaps
    from assetmap.match import match_all, prepare
    from assetmap.network import build_network

    partners, xyz = shared
    meta = sub_profile._schools  # noqa: SLF001
    sel = meta.set_index("school_id").loc[part_ids]
    lat, lon = sel["lat"].to_numpy(dtype=float), sel["lon"].to_numpy(dtype=float)
    located = np.isfinite(lat) & np.isfinite(lon)
    reach = settings.max_reach_km
    if located.any():
        centre, d_centre = _ball(lat[located], lon[located])
        rho = float(d_centre.max())
    else:  # nothing is queried for schools without coordinates
        centre, d_centre, rho = np.zeros(3), np.zeros(0), 0.0
    grow = reach
    tries = 0
    net_settings = dataclasses.replace(settings, lead_partner_load_warning=_NO_NOTE)
    while True:
        tries += 1
        if located.any():
            take = _select(xyz, centre, rho + grow)
        else:
            take = np.arange(0)
        complete = len(take) == len(partners)
        index = PartnerIndex.build(partners.iloc[take])
        ctx = prepare(partners_index=index, profile=sub_profile, settings=settings)
        guarantee = np.full(len(part_ids), np.inf)
        guarantee[located] = rho + grow - d_centre
        ok = complete or _nearest_within(ctx, part_ids, guarantee)
        out: dict[str, Any] = {}
        if ok and "match" in kinds:
            out["match"] = match_all(
                part_ids,
                context=ctx,
                profile=sub_profile,
                limit=options.get("limit", 10),
                explain=options.get("explain", True),
            )
        if ok and "gaps" in kinds:
            g = gaps(part_ids, context=ctx, profile=sub_profile)
            out["gaps"] = g
            ok = complete or _gaps_within(g, part_ids, guarantee)
        if ok and "network" in kinds:
            net_ctx = dataclasses.replace(ctx, settings=net_settings, cache={})
            out["network"] = build_network(
                part_ids,
                context=net_ctx,
                profile=sub_profile,
                candidates=options.get("candidates", 6),
                exact_limit=options.get("exact_limit", 256),
                method=options.get("method", "auto"),
                mu=options.get("mu", 0.1),
                lam=options.get("lam", 0.02),
            )
        if ok:
            out["stats"] = {
                "schools": len(part_ids),
                "partners": int(len(take)),
                "tries": tries,
                "radius_km": rho + grow,
            }
            if options.get("out_dir"):
                out = _write_parts(out, Path(options["out_dir"]), options["part"])
            return out
        grow *= 4.0


def _write_parts(out: dict[str, Any], folder: Path, part: int) -> dict[str, Any]:
    """Write a partition's frames to ``folder/<kind>/part-NNNNN.parquet``; keep only the
    file names and row counts (a national match frame does not fit in memory at once)."""
    written: dict[str, Any] = {"stats": out["stats"]}
    for kind in ("match", "gaps"):
        if kind in out:
            path = folder / kind / f"part-{part:05d}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            out[kind].to_parquet(path, index=False)
            written[kind] = (str(path), len(out[kind]))
    return written


def _nearest_within(ctx: Any, part_ids: list[str], guarantee: np.ndarray) -> bool:
    """True when, for every school and need it reports, the nearest partner serving the need
    in the subset is provably the nearest of all partners (within the school's guarantee)."""
    from assetmap.match import needs_of

    pos = ctx.school_pos(part_ids)
    g = np.full(len(ctx.schools), np.inf)
    g[pos] = guarantee
    lat = ctx.schools["lat"].to_numpy(dtype=float)
    lon = ctx.schools["lon"].to_numpy(dtype=float)
    for need in needs_of(ctx, pos):
        fam, _ = ctx.demand(need)
        s = pos[(fam[pos] > 0) & np.isfinite(lat[pos]) & np.isfinite(lon[pos])]
        if len(s) == 0:
            continue
        d, _ = ctx.index.knn_many(lat[s], lon[s], 1, needs=[need])
        if not np.all(d[:, 0] <= g[s] - _TOL_KM):
            return False
    return True


def _gaps_within(g: pd.DataFrame, part_ids: list[str], guarantee: np.ndarray) -> bool:
    """True when every nearest partner named in a gaps frame is provably the nearest."""
    if g.empty:
        return True
    gmap = pd.Series(guarantee, index=pd.Index(part_ids))
    lim = gmap.reindex(g["school_id"]).to_numpy(dtype=float)
    d = pd.to_numeric(g["nearest_distance_km"], errors="coerce").to_numpy(dtype=float)
    fine = np.isinf(lim) | (np.isfinite(d) & (d <= lim - _TOL_KM))
    return bool(fine.all())


# ----------------------------------------------------------------------------- assembly
def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)


def _order_rows(df: pd.DataFrame, order: dict[str, int]) -> pd.DataFrame:
    """Rows grouped by school in ``order`` (stable: rows of one school keep their order)."""
    if df.empty:
        return df
    key = df["school_id"].map(order).to_numpy()
    return df.iloc[np.argsort(key, kind="stable")].reset_index(drop=True)


def _finish_network(net: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Lead load and overload notes over all schools (as build_network does)."""
    from assetmap.network import NETWORK_COLUMNS

    if net.empty:
        return pd.DataFrame(columns=NETWORK_COLUMNS)
    out = net.copy()
    leads = out[out["role"] == "lead"].groupby("partner_id")["school_id"].nunique()
    out["lead_load"] = out["partner_id"].map(leads).fillna(0).astype(int)
    out["overloaded"] = out["lead_load"] > settings.lead_partner_load_warning
    limit = settings.lead_partner_load_warning
    out["reason"] = [
        r + f" Note: leads for {k} schools (above {limit}); consider sharing the lead role."
        if o and role == "lead"
        else r
        for r, k, o, role in zip(
            out["reason"], out["lead_load"], out["overloaded"], out["role"], strict=True
        )
    ]
    return out[NETWORK_COLUMNS]


def analyse_dask(
    school_ids: Iterable[str] | None = None,
    *,
    partners: gpd.GeoDataFrame | PartnerIndex,
    profile: NeedProfile,
    schools: pd.DataFrame | None = None,
    settings: Settings | None = None,
    kinds: Sequence[str] = ("match", "gaps", "network"),
    district: str | None = None,
    scheduler: str | None = None,
    client: Any = None,
    n_workers: int = 2,
    npartitions: int | None = None,
    limit: int | None = 10,
    explain: bool = True,
    out_dir: str | Path | None = None,
    **network_options: Any,
) -> dict[str, Any]:
    """Match, gaps and/or networks on Dask in one pass over the partitions.

    Returns ``{kind: frame}`` for each of ``kinds`` plus ``"stats"`` (one dict per
    partition: schools, partners sent, tries, radius_km). Frames equal those of
    :func:`assetmap.match.match_all`, :func:`assetmap.coverage.gaps` and
    :func:`assetmap.network.build_network` on the same inputs.

    With ``out_dir`` (match and gaps only) every partition writes its rows to
    ``out_dir/<kind>/part-NNNNN.parquet`` on the worker and nothing but file names and row
    counts travels back: ``{kind: [(path, rows), ...]}`` in partition order (rows inside a
    file are in school, need, rank order). This is how a national run stays within memory.
    """
    from assetmap.coverage import GAP_COLUMNS
    from assetmap.match import MATCH_COLUMNS

    kinds = tuple(kinds)
    bad = [k for k in kinds if k not in ("match", "gaps", "network")]
    if bad or not kinds:
        raise InputError(f"unknown analysis kind(s) {bad}; use match, gaps and/or network")
    if out_dir is not None and "network" in kinds:
        raise InputError("out_dir writes match and gaps; networks need every school at once")
    s = settings or get_settings()
    index = partners if isinstance(partners, PartnerIndex) else PartnerIndex.build(partners)
    meta = _school_meta(profile, schools)
    pos = _targets(meta, school_ids, district)
    ids_all = meta["school_id"].astype(str).to_numpy()
    global_order = {sid: i for i, sid in enumerate(ids_all)}
    order = {sid: i for i, sid in enumerate(ids_all[pos])}
    options = {"limit": limit, "explain": explain, **network_options}
    with contextlib.ExitStack() as stack:
        if client is None:
            client = stack.enter_context(dask_client(scheduler, n_workers=n_workers))
        n_parts = npartitions or max(
            1, min(len(pos), 4 * max(1, len(client.scheduler_info().get("workers", {}))))
        )
        parts = _partitions(meta, pos, n_parts) if len(pos) else []
        shared = client.scatter([index.partners, index.xyz], broadcast=True, hash=False)
        tasks = []
        for i, part in enumerate(parts):
            part_ids = [str(x) for x in ids_all[part]]
            sub = _sub_profile(profile, meta, part_ids)
            tasks.append(
                client.submit(
                    _partition_task,
                    part_ids,
                    sub,
                    shared,
                    s,
                    kinds,
                    {**options, "out_dir": str(out_dir) if out_dir else None, "part": i},
                    pure=False,
                )
            )
        results = client.gather(tasks)
    out: dict[str, Any] = {"stats": [r["stats"] for r in results]}
    if out_dir is not None:
        return out | {k: [r[k] for r in results] for k in kinds}
    if "match" in kinds:
        m = _concat([r["match"] for r in results], MATCH_COLUMNS)
        if not m.empty:
            tax_order = {n: i for i, n in enumerate(load_taxonomy().top_needs)}
            m = m.assign(_s=m["school_id"].map(global_order), _n=m["need"].map(tax_order))
            m = (
                m.sort_values(["_s", "_n", "rank"], kind="stable")
                .drop(columns=["_s", "_n"])
                .reset_index(drop=True)
            )
        out["match"] = m
    if "gaps" in kinds:
        out["gaps"] = _order_rows(
            _concat([r["gaps"] for r in results], GAP_COLUMNS),
            global_order,
        )
    if "network" in kinds:
        net = _order_rows(_concat([r["network"] for r in results], []), order)
        out["network"] = _finish_network(net, s)
    return out


def match_dask(school_ids: Iterable[str] | None = None, **kwargs: Any) -> pd.DataFrame:
    """:func:`assetmap.match.match_all` on Dask (see :func:`analyse_dask` for the options)."""
    return analyse_dask(school_ids, kinds=("match",), **kwargs)["match"]


def gaps_dask(school_ids: Iterable[str] | None = None, **kwargs: Any) -> pd.DataFrame:
    """:func:`assetmap.coverage.gaps` on Dask (see :func:`analyse_dask`)."""
    return analyse_dask(school_ids, kinds=("gaps",), **kwargs)["gaps"]


def network_dask(school_ids: Iterable[str] | None = None, **kwargs: Any) -> pd.DataFrame:
    """:func:`assetmap.network.build_network` on Dask (see :func:`analyse_dask`)."""
    return analyse_dask(school_ids, kinds=("network",), **kwargs)["network"]
