"""Travel-time reach on a statewide-sized synthetic street grid (SYNTHETIC, seeded).

The grid: 700 x 700 intersections 100 m apart (490,000 nodes, a 70 km square around
Hartford), residential streets at 30 km/h with every 10th street a primary road (60 km/h),
8 % of blocks removed (dead ends), every 7th minor street one-way, streets cut into OSM
ways of at most 8 nodes (161,183 ways). 1,500 schools and
50,000 partners are scattered over it.

Ours: :func:`assetmap.roads.reach_pairs` (straight-line screen + one multi-source
``scipy.sparse.csgraph.dijkstra`` with a limit per block of schools; points snapped to the
nearest edge). Measured for walking (20 min) and driving (10 min).

Baselines, in the same run:
* straight-line search: the same call without a network (the estimated fallback: a k-d
  tree radius search) -- different answers by design, so ``equal`` is not set;
* plain networkx on a subset of 25 schools: ``single_source_dijkstra_path_length`` with a
  cutoff from a virtual node per school, on the grid cropped to the schools' reach (exact:
  nothing farther is reachable), target times through either end of their edge. The pairs
  and minutes must equal ours for those schools.
* import: the same grid written as an .osm.pbf (pyosmium) and imported with
  :func:`assetmap.roads.import_osm` (no baseline).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from assetmap.index import to_xyz
from assetmap.roads import RoadNetwork, import_osm, reach_pairs, road_config
from assetmap.roads._travel import _snap
from assetmap.settings import project_root
from benchmarks._harness import Result, timed

SIDE = 700
STEP_DEG_LAT = 0.0009  # ~100 m
LAT0, LON0 = 41.45, -73.05
N_SCHOOLS, N_PARTNERS = 1500, 50_000
NX_SCHOOLS = 25


def _grid(seed: int = 7) -> tuple[np.ndarray, np.ndarray, list[tuple[np.ndarray, dict]]]:
    """Node coordinates and ways (node ids, tags) of the synthetic grid."""
    rng = np.random.default_rng(seed)
    step_lon = STEP_DEG_LAT / np.cos(np.radians(LAT0 + SIDE * STEP_DEG_LAT / 2))
    r, c = np.divmod(np.arange(SIDE * SIDE), SIDE)
    lat = LAT0 + r * STEP_DEG_LAT + rng.normal(0, STEP_DEG_LAT * 0.05, r.size)
    lon = LON0 + c * step_lon + rng.normal(0, step_lon * 0.05, c.size)
    ways = []
    for line in range(SIDE):
        for horizontal in (True, False):
            ids = line * SIDE + np.arange(SIDE) if horizontal else np.arange(SIDE) * SIDE + line
            major = line % 10 == 0
            tags = {"highway": "primary" if major else "residential"}
            if not major and line % 7 == 3:
                tags["oneway"] = "yes" if (line // 7) % 2 else "-1"
            # cut the street into ways at removed blocks (dead ends)
            cut = rng.random(SIDE - 1) < (0.0 if major else 0.08)
            starts = np.concatenate([[0], np.flatnonzero(cut) + 1])
            ends = np.concatenate([np.flatnonzero(cut) + 1, [SIDE]])
            for a, b in zip(starts, ends, strict=True):
                for c in range(a, b - 1, 7):  # ways of at most 8 nodes, as OSM ways are short
                    ways.append((ids[c : min(c + 8, b)], tags))
    return lat, lon, ways


def _write_pbf(path: Path, lat, lon, ways) -> Path:
    import osmium

    path.parent.mkdir(parents=True, exist_ok=True)
    w = osmium.SimpleWriter(str(path), overwrite=True)
    try:
        for i in range(len(lat)):
            w.add_node(osmium.osm.mutable.Node(id=i + 1, location=(lon[i], lat[i])))
        for k, (ids, tags) in enumerate(ways):
            w.add_way(osmium.osm.mutable.Way(id=k + 1, nodes=(ids + 1).tolist(), tags=tags))
    finally:
        w.close()
    return path


def _points(n: int, lat: np.ndarray, lon: np.ndarray, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    return (
        rng.uniform(lat.min(), lat.max(), n),
        rng.uniform(lon.min(), lon.max(), n),
    )


def _networkx_reach(net: RoadNetwork, mode: str, olat, olon, tlat, tlon, max_minutes: float):
    """The plain networkx implementation, for the given origins."""
    import networkx as nx

    cfg = road_config()
    e = net.edges(mode)
    o = _snap(net, mode, olat, olon, cfg)
    tg = _snap(net, mode, tlat, tlon, cfg)
    limit = max_minutes * 60.0
    bound_km = max_minutes / 60.0 * net.top_kmh(mode, cfg)
    # crop: edges with an end within reach of some origin (exact: nothing else is reachable)
    from scipy.spatial import cKDTree

    oxyz = to_xyz(olat, olon)
    near_o = cKDTree(oxyz)
    d_u, _ = near_o.query(to_xyz(net.lat[e.u], net.lon[e.u]))
    d_v, _ = near_o.query(to_xyz(net.lat[e.v], net.lon[e.v]))
    keep = np.flatnonzero((d_u <= bound_km + 0.5) | (d_v <= bound_km + 0.5))
    g = nx.DiGraph()
    sec = e.seconds
    for i in keep.tolist():
        u, v, w = int(e.u[i]), int(e.v[i]), float(sec[i])
        for a, b in ((u, v), (v, u)) if not e.oneway[i] else ((u, v),):
            if a != b and (not g.has_edge(a, b) or g[a][b]["weight"] > w):
                g.add_edge(a, b, weight=w)
    out = []
    for i in range(len(olat)):
        src = ("origin", i)
        g.add_edge(src, int(o.v[i]), weight=max(o.conn_s[i] + (1 - o.t[i]) * o.edge_s[i], 1e-3))
        if not o.oneway[i]:
            g.add_edge(src, int(o.u[i]), weight=max(o.conn_s[i] + o.t[i] * o.edge_s[i], 1e-3))
        dist = nx.single_source_dijkstra_path_length(g, src, cutoff=limit)
        g.remove_node(src)
        for j in range(len(tlat)):
            best = np.inf
            du = dist.get(int(tg.u[j]))
            if du is not None:
                best = du + tg.t[j] * tg.edge_s[j] + tg.conn_s[j]
            dv = dist.get(int(tg.v[j]))
            if dv is not None and not tg.oneway[j]:
                best = min(best, dv + (1 - tg.t[j]) * tg.edge_s[j] + tg.conn_s[j])
            if o.edge[i] == tg.edge[j]:
                along = abs(tg.t[j] - o.t[i]) * tg.edge_s[j]
                if tg.t[j] >= o.t[i] or not tg.oneway[j]:
                    best = min(best, along + o.conn_s[i] + tg.conn_s[j])
            if best <= limit and best / 60.0 <= max_minutes + 1e-9:
                out.append((i, j, best / 60.0))
    return out


def run() -> list[Result]:
    results: list[Result] = []
    t0 = time.perf_counter()
    lat, lon, ways = _grid()
    gen_s = time.perf_counter() - t0
    pbf = project_root() / "var" / "bench_cache" / "roads_grid_700.osm.pbf"
    t0 = time.perf_counter()
    _write_pbf(pbf, lat, lon, ways)
    write_s = time.perf_counter() - t0
    import_s, net = timed(lambda: import_osm(pbf), repeat=1)
    results.append(
        Result(
            "roads: import 490k-node, 161k-way grid .osm.pbf (walk + drive graphs)",
            import_s,
            "s",
            note=f"{net.n_nodes} nodes, {len(net.modes['drive'].u)} drive edges, "
            f"{pbf.stat().st_size / 1e6:.1f} MB pbf; generating {gen_s:.1f} s, writing {write_s:.1f} s",
        )
    )
    slat, slon = _points(N_SCHOOLS, lat, lon, 11)
    plat, plon = _points(N_PARTNERS, lat, lon, 12)
    # warm the cached graph and snapping index (built once per workspace)
    warm_s, _ = timed(lambda: [(net.graph(m), net.snapper(m)) for m in ("walk", "drive")], repeat=1)
    results.append(Result("roads: graphs + snapping index (first use)", warm_s, "s"))
    for mode, minutes in (("walk", 20.0), ("drive", 10.0)):
        ours_s, ours = timed(
            lambda m=mode, mm=minutes: reach_pairs(net, m, slat, slon, plat, plon, mm), repeat=1
        )
        line_s, line = timed(
            lambda m=mode, mm=minutes: reach_pairs(None, m, slat, slon, plat, plon, mm), repeat=1
        )
        results.append(
            Result(
                f"roads: {mode} {minutes:.0f} min reach, 1,500 schools x 50,000 partners",
                ours_s,
                "s",
                baseline_value=line_s,
                baseline="straight-line k-d tree search (the estimated fallback)",
                note=f"{len(ours[0]):,} network pairs vs {len(line[0]):,} straight-line pairs",
            )
        )
        ours_sub_s, sub_res = timed(
            lambda m=mode, mm=minutes: reach_pairs(
                net, m, slat[:NX_SCHOOLS], slon[:NX_SCHOOLS], plat, plon, mm
            ),
            repeat=1,
        )
        nx_s, nx_res = timed(
            lambda m=mode, mm=minutes: _networkx_reach(
                net, m, slat[:NX_SCHOOLS], slon[:NX_SCHOOLS], plat, plon, mm
            ),
            repeat=1,
        )
        oi, tj, mins, _ = sub_res
        ours_map = {(int(a), int(b)): float(c) for a, b, c in zip(oi, tj, mins, strict=True)}
        nx_map = {(a, b): c for a, b, c in nx_res}
        same = ours_map.keys() == nx_map.keys() and all(
            abs(ours_map[k] - nx_map[k]) < 1e-6 for k in ours_map
        )
        # the first 25 schools of the full run agree with the subset run
        first = ours[0] < NX_SCHOOLS
        full_first = np.array_equal(ours[0][first], oi) and np.array_equal(ours[1][first], tj)
        full_first = full_first and np.allclose(ours[2][first], mins)
        results.append(
            Result(
                f"roads: {mode} {minutes:.0f} min reach, {NX_SCHOOLS} schools x 50,000 partners",
                ours_sub_s,
                "s",
                baseline_value=nx_s,
                baseline="plain networkx single_source_dijkstra_path_length, cropped graph",
                equal=bool(same and full_first),
                note=f"{len(ours_map):,} pairs",
            )
        )
    return results


def run_quick() -> list[Result]:
    return run()


def run_all() -> list[Result]:
    return run()
