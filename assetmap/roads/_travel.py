"""Travel minutes between points: multi-source Dijkstra on the road network, or an honest
straight-line estimate when there is none.

Each point is snapped to the nearest edge of the mode's network (a connector at
``connector_kmh`` plus the part of the edge to either end it may travel). Origins become
extra graph nodes, so a batch of origins is one ``scipy.sparse.csgraph.dijkstra`` call with
a ``limit``; a target's time is the better of arriving through either end of its edge.
A point farther than ``max_snap_km`` from the network, or any pair when no network was
imported, gets ``km x circuity / speed`` and the basis ``"estimated"``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from assetmap._errors import InputError
from assetmap.index import haversine_km, km_to_chord, to_xyz
from assetmap.roads._config import MODES, RoadConfig, road_config
from assetmap.roads._graph import RoadNetwork

__all__ = ["estimate_minutes", "travel_minutes", "reach_pairs", "check_mode"]

_CHUNK_BYTES = 128 * 2**20  # budget for one block of dense Dijkstra rows


def check_mode(mode: str) -> str:
    """The mode, or an :class:`InputError` naming the good ones."""
    if mode not in MODES:
        raise InputError(f"unknown travel mode {mode!r}: use --mode walk or --mode drive")
    return mode


def estimate_minutes(
    km: np.ndarray | float, mode: str, *, config: RoadConfig | None = None
) -> np.ndarray:
    """Straight-line km -> estimated minutes (``km x circuity / speed``)."""
    cfg = config or road_config()
    return np.asarray(km, dtype=float) * cfg.circuity / cfg.estimate_kmh(check_mode(mode)) * 60.0


@dataclass(frozen=True)
class _Snapped:
    edge: np.ndarray
    u: np.ndarray
    v: np.ndarray
    t: np.ndarray
    conn_s: np.ndarray  # seconds from the point to its snap position
    edge_s: np.ndarray  # seconds along the whole edge
    oneway: np.ndarray
    ok: np.ndarray  # close enough to the network


def _snap(net: RoadNetwork, mode: str, lat, lon, cfg: RoadConfig) -> _Snapped:
    edge, t, km = net.snap(mode, lat, lon)
    ok = (edge >= 0) & (km <= cfg.max_snap_km(mode))
    e = net.edges(mode)
    safe = np.where(edge >= 0, edge, 0)
    if len(e.u) == 0:
        z = np.zeros(len(edge), dtype=np.int64)
        return _Snapped(edge, z, z, t, np.zeros(len(edge)), np.zeros(len(edge)), z > 0, ok)
    return _Snapped(
        edge,
        e.u[safe].astype(np.int64),
        e.v[safe].astype(np.int64),
        t,
        km / cfg.connector_kmh(mode) * 3600.0,
        e.seconds[safe],
        e.oneway[safe],
        ok,
    )


def _with_sources(g: csr_matrix, o: _Snapped, rows: np.ndarray) -> csr_matrix:
    """``g`` with one extra node per origin in ``rows``, with edges to its edge's ends."""
    n = g.shape[0]
    k = len(rows)
    to_v = o.conn_s[rows] + (1 - o.t[rows]) * o.edge_s[rows]
    to_u = o.conn_s[rows] + o.t[rows] * o.edge_s[rows]
    back = ~o.oneway[rows]
    counts = 1 + back.astype(np.int64)
    cols = np.empty(int(counts.sum()), dtype=np.int32)
    data = np.empty(len(cols))
    first = np.cumsum(counts) - counts
    cols[first], data[first] = o.v[rows], to_v
    cols[first[back] + 1], data[first[back] + 1] = o.u[rows][back], to_u[back]
    data = np.maximum(data, 1e-3)
    indptr = np.concatenate([g.indptr, g.indptr[-1] + np.cumsum(counts)])
    return csr_matrix(
        (np.concatenate([g.data, data]), np.concatenate([g.indices, cols]), indptr),
        shape=(n + k, n + k),
    )


def _network_block(
    net: RoadNetwork, mode: str, o: _Snapped, rows: np.ndarray, tg: _Snapped, limit_s: float
) -> np.ndarray:
    """Seconds from the origins ``rows`` to every target (inf beyond ``limit_s``)."""
    g = net.graph(mode)
    n = g.shape[0]
    gx = _with_sources(g, o, rows)
    dist = dijkstra(gx, directed=True, indices=np.arange(n, n + len(rows)), limit=limit_s)
    via_u = dist[:, tg.u] + (tg.t * tg.edge_s + tg.conn_s)[None, :]
    via_v = dist[:, tg.v] + ((1 - tg.t) * tg.edge_s + tg.conn_s)[None, :]
    via_v[:, tg.oneway] = np.inf
    best = np.minimum(via_u, via_v)
    # origin and target on the same edge: straight along it (forward only on a one-way)
    same = o.edge[rows][:, None] == tg.edge[None, :]
    if same.any():
        r, c = np.nonzero(same)
        to, tt = o.t[rows][r], tg.t[c]
        along = np.abs(tt - to) * tg.edge_s[c]
        allowed = (tt >= to) | ~tg.oneway[c]
        direct = np.where(allowed, along + o.conn_s[rows][r] + tg.conn_s[c], np.inf)
        best[r, c] = np.minimum(best[r, c], direct)
    best[best > limit_s] = np.inf
    return best


def _rows_per_block(n_nodes: int, n_targets: int) -> int:
    return int(max(1, min(1024, _CHUNK_BYTES // (8 * (n_nodes + 3 * n_targets + 1)))))


def travel_minutes(
    network: RoadNetwork | None,
    mode: str,
    origin_lat,
    origin_lon,
    target_lat,
    target_lon,
    *,
    max_minutes: float | None = None,
    config: RoadConfig | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Minutes from every origin to every target, shape ``(n_origins, n_targets)``.

    Returns ``(minutes, on_network)``: ``inf`` where the target is beyond ``max_minutes``
    (or unreachable); ``on_network`` is False where the time is a straight-line estimate.
    """
    cfg = config or road_config()
    check_mode(mode)
    olat, olon = (
        np.atleast_1d(np.asarray(origin_lat, float)),
        np.atleast_1d(np.asarray(origin_lon, float)),
    )
    tlat, tlon = (
        np.atleast_1d(np.asarray(target_lat, float)),
        np.atleast_1d(np.asarray(target_lon, float)),
    )
    limit_s = np.inf if max_minutes is None else float(max_minutes) * 60.0
    km = haversine_km(olat[:, None], olon[:, None], tlat[None, :], tlon[None, :])
    est = estimate_minutes(km, mode, config=cfg)
    if network is None:
        on = np.zeros(est.shape, dtype=bool)
        return np.where(est * 60.0 <= limit_s, est, np.inf), on
    o = _snap(network, mode, olat, olon, cfg)
    tg = _snap(network, mode, tlat, tlon, cfg)
    out = np.full(est.shape, np.inf)
    step = _rows_per_block(network.n_nodes, len(tlat))
    good = np.flatnonzero(o.ok)
    for s in range(0, len(good), step):
        rows = good[s : s + step]
        out[rows] = _network_block(network, mode, o, rows, tg, limit_s) / 60.0
    on = o.ok[:, None] & tg.ok[None, :]
    out = np.where(on, out, np.where(est * 60.0 <= limit_s, est, np.inf))
    return out, on


def reach_pairs(
    network: RoadNetwork | None,
    mode: str,
    origin_lat,
    origin_lon,
    target_lat,
    target_lon,
    max_minutes: float,
    *,
    config: RoadConfig | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every (origin, target) pair within ``max_minutes``.

    Returns numpy arrays ``(origin_index, target_index, minutes, on_network)`` sorted by
    origin, minutes, target. Targets are screened first by the straight-line distance the
    fastest speed of the mode covers in ``max_minutes`` (exact: no path is shorter).
    """
    cfg = config or road_config()
    check_mode(mode)
    if not np.isfinite(max_minutes) or max_minutes < 0:
        raise InputError(f"--max-minutes must be a non-negative number, got {max_minutes}")
    olat, olon = np.asarray(origin_lat, float), np.asarray(origin_lon, float)
    tlat, tlon = np.asarray(target_lat, float), np.asarray(target_lon, float)
    empty = (np.array([], np.int64), np.array([], np.int64), np.array([]), np.array([], bool))
    if len(olat) == 0 or len(tlat) == 0:
        return empty
    oxyz, txyz = to_xyz(olat, olon), to_xyz(tlat, tlon)
    ttree = cKDTree(txyz)
    outs = []
    if network is None:
        r_km = max_minutes / 60.0 * cfg.estimate_kmh(mode) / cfg.circuity
        hits = ttree.query_ball_point(oxyz, float(km_to_chord(r_km)) + 1e-9)
        oi = np.repeat(np.arange(len(olat)), [len(h) for h in hits])
        tj = np.fromiter((j for h in hits for j in h), dtype=np.int64, count=len(oi))
        mins = estimate_minutes(
            haversine_km(olat[oi], olon[oi], tlat[tj], tlon[tj]), mode, config=cfg
        )
        keep = mins <= max_minutes + 1e-9
        outs.append((oi[keep], tj[keep], mins[keep], np.zeros(int(keep.sum()), bool)))
    else:
        o = _snap(network, mode, olat, olon, cfg)
        tg = _snap(network, mode, tlat, tlon, cfg)
        bound_km = max(
            max_minutes / 60.0 * network.top_kmh(mode, cfg),
            max_minutes / 60.0 * cfg.estimate_kmh(mode) / cfg.circuity,
        )
        limit_s = max_minutes * 60.0
        # targets a network origin may reach, screened per block of origins
        good = np.flatnonzero(o.ok)
        order = good[np.argsort(cKDTree(oxyz[good]).indices)] if len(good) else good
        step = _rows_per_block(network.n_nodes, 0)
        for s in range(0, len(order), step):
            rows = order[s : s + step]
            cand_lists = ttree.query_ball_point(oxyz[rows], float(km_to_chord(bound_km)) + 1e-9)
            cand = np.unique(np.fromiter((j for h in cand_lists for j in h), dtype=np.int64))
            if len(cand) == 0:
                continue
            sub = _Snapped(*(getattr(tg, f)[cand] for f in _Snapped.__dataclass_fields__))
            sec = _network_block(network, mode, o, rows, sub, limit_s)
            on = sub.ok[None, :]
            est = estimate_minutes(
                haversine_km(
                    olat[rows][:, None],
                    olon[rows][:, None],
                    tlat[cand][None, :],
                    tlon[cand][None, :],
                ),
                mode,
                config=cfg,
            )
            mins = np.where(on, sec / 60.0, est)
            r, c = np.nonzero(mins <= max_minutes + 1e-9)
            outs.append((rows[r], cand[c], mins[r, c], np.broadcast_to(on, mins.shape)[r, c]))
        off = np.flatnonzero(~o.ok)
        if len(off):  # origins off the network: estimated to every target
            oi, tj, mins, _ = reach_pairs(
                None, mode, olat[off], olon[off], tlat, tlon, max_minutes, config=cfg
            )
            outs.append((off[oi], tj, mins, np.zeros(len(oi), bool)))
    if not outs:
        return empty
    oi, tj, mins, on = (np.concatenate(x) for x in zip(*outs, strict=True))
    srt = np.lexsort((tj, mins, oi))
    return oi[srt], tj[srt], mins[srt], on[srt]
