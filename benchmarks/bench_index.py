"""Index benchmarks (issue 2): build time and filtered k-nearest against the geopandas way.

Ours: PartnerIndex (sphere k-d tree, one cached sub-index per filter).
Baseline: the plain geopandas way — filter the frame (need and language), project to UTM,
``sjoin_nearest`` (which returns only the single nearest, so the baseline does *less* work
than our k=5; the ratio is conservative).
Lower bound: brute force — every query against every filtered partner in numpy.
"""

from __future__ import annotations

import time

import geopandas as gpd
import numpy as np

from assetmap.index import PartnerIndex, haversine_km
from benchmarks import synth
from benchmarks._harness import Result, timed


def _geopandas_baseline(partners: gpd.GeoDataFrame, qlat, qlon, need: str, lang: str) -> float:
    t0 = time.perf_counter()
    mask = partners["services"].map(lambda s: any(x.split(".")[0] == need for x in s)) & partners[
        "languages"
    ].map(lambda ls: lang in ls)
    sub = partners[mask]
    crs = sub.estimate_utm_crs()
    q = gpd.GeoDataFrame(geometry=gpd.points_from_xy(qlon, qlat), crs="EPSG:4326").to_crs(crs)
    gpd.sjoin_nearest(q, sub[["partner_id", "geometry"]].to_crs(crs), distance_col="d")
    return time.perf_counter() - t0


def _brute(
    partners: gpd.GeoDataFrame, idx: PartnerIndex, qlat, qlon, need: str, lang: str
) -> float:
    pos = np.flatnonzero(idx.filter_mask(needs=[need], languages=[lang]))
    plat, plon = idx.lat[pos], idx.lon[pos]
    t0 = time.perf_counter()
    for s in range(0, len(qlat), 500):  # chunks keep memory bounded
        d = haversine_km(
            qlat[s : s + 500, None], qlon[s : s + 500, None], plat[None, :], plon[None, :]
        )
        np.argpartition(d, min(5, d.shape[1] - 1), axis=1)[:, :5]
    return time.perf_counter() - t0


def run(
    *, n_partners: int = 50_000, n_queries: int = 10_000, label: str = "statewide"
) -> list[Result]:
    schools, partners = synth.statewide(n_partners=n_partners)
    qlat, qlon = synth.query_points(n_queries, schools)
    need, lang = "food", "pt"
    out: list[Result] = []
    build_s, idx = timed(lambda: PartnerIndex.build(partners), repeat=3)
    out.append(Result(f"index_build_{label}_{n_partners}", build_s, "s"))
    base = min(_geopandas_baseline(partners, qlat, qlon, need, lang) for _ in range(2))
    cold_s, _ = timed(
        lambda: PartnerIndex.build(partners).knn_many(
            qlat, qlon, 5, needs=[need], languages=[lang]
        ),
        repeat=1,
    )
    cold_s -= build_s
    warm_s, _ = timed(lambda: idx.knn_many(qlat, qlon, 5, needs=[need], languages=[lang]), repeat=3)
    brute = _brute(partners, idx, qlat, qlon, need, lang)
    out.append(
        Result(
            f"filtered_knn5_{n_queries}q_{label}",
            warm_s,
            "s",
            base,
            note="baseline: filter + sjoin_nearest (k=1)",
        )
    )
    out.append(
        Result(
            f"filtered_knn5_{n_queries}q_{label}_cold",
            cold_s,
            "s",
            base,
            note="first query of a filter builds its sub-index",
        )
    )
    out.append(
        Result(
            f"filtered_knn5_{n_queries}q_{label}_vs_bruteforce",
            warm_s,
            "s",
            brute,
            note="baseline: numpy brute force",
        )
    )
    # single warm queries, one need + one language: the index query itself (arrays), and the
    # same query materialised as a GeoDataFrame of partner rows (pandas overhead dominates).
    for label_q, fn in (
        ("", lambda i: idx.knn_many([qlat[i]], [qlon[i]], 5, needs=[need], languages=[lang])),
        (
            "_frame",
            lambda i: idx.knn(float(qlat[i]), float(qlon[i]), 5, needs=[need], languages=[lang]),
        ),
    ):
        lat_s = []
        for i in range(300):
            t0 = time.perf_counter()
            fn(i)
            lat_s.append(time.perf_counter() - t0)
        out.append(
            Result(
                f"single_filtered_knn5{label_q}_{label}_p50",
                float(np.percentile(lat_s, 50)) * 1000,
                "ms",
            )
        )
        out.append(
            Result(
                f"single_filtered_knn5{label_q}_{label}_p95",
                float(np.percentile(lat_s, 95)) * 1000,
                "ms",
            )
        )
    return out


def run_quick() -> list[Result]:
    return run()


def run_all() -> list[Result]:
    return run()
