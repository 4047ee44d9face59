"""Index benchmarks: build time and filtered k-nearest against a cached scipy k-d tree.

Ours: :class:`assetmap.index.PartnerIndex` (points on the sphere, one cached sub-index per
filter; ties broken by partner position).

Baseline (what a competent scipy user writes): the filter's rows found once with vectorised
pandas (explode + isin), one ``cKDTree`` per (need, language) filter on the same Earth-centred
coordinates, cached in a dict; each search is ``tree.query(k)``, mapped back to partner
positions and ordered by (distance, position) so ties come out in the same order as ours.
Both answers are compared (positions and distances must be identical). A naive numpy brute
force (every query against every filtered partner) is an extra, clearly named line.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from assetmap.index import PartnerIndex, chord_to_km, to_xyz
from benchmarks import synth
from benchmarks._harness import Result, paired

KD = "cached scipy cKDTree per (need, language) filter, (distance, position) order"


class KDTreeCache:
    """The competent baseline: one cKDTree per filter, built on first use and kept."""

    def __init__(self, partners: pd.DataFrame, xyz: np.ndarray) -> None:
        self.partners = partners
        self.xyz = xyz
        self.trees: dict[tuple[str, str], tuple[np.ndarray, cKDTree]] = {}

    def mask(self, need: str, lang: str) -> np.ndarray:
        svc = self.partners["services"].explode()
        top = svc.astype(str).str.split(".").str[0]
        need_ok = (top == need).groupby(level=0).any()
        lang_ok = self.partners["languages"].explode().eq(lang).groupby(level=0).any()
        return (need_ok & lang_ok).reindex(self.partners.index, fill_value=False).to_numpy()

    def knn(self, lat, lon, k: int, need: str, lang: str) -> tuple[np.ndarray, np.ndarray]:
        key = (need, lang)
        if key not in self.trees:
            pos = np.flatnonzero(self.mask(need, lang))
            self.trees[key] = (pos, cKDTree(self.xyz[pos]))
        pos, tree = self.trees[key]
        d, i = tree.query(to_xyz(lat, lon), k=k)
        d = np.asarray(d).reshape(-1, k)
        p = pos[np.asarray(i).reshape(-1, k)]
        o = np.lexsort((p, d), axis=-1)
        return chord_to_km(np.take_along_axis(d, o, 1)), np.take_along_axis(p, o, 1)


def _same(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> bool:
    return bool(np.array_equal(a[1], b[1]) and np.array_equal(a[0], b[0]))


def _brute(xyz: np.ndarray, pos: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    """Naive: every query against every filtered partner (chunks keep memory bounded)."""
    pts = xyz[pos]
    out = []
    for s in range(0, len(q), 500):
        d2 = ((q[s : s + 500, None, :] - pts[None, :, :]) ** 2).sum(axis=2)
        part = np.argpartition(d2, k - 1, axis=1)[:, :k]
        dd = np.take_along_axis(d2, part, 1)
        o = np.lexsort((pos[part], dd), axis=-1)
        out.append(pos[np.take_along_axis(part, o, 1)])
    return np.concatenate(out)


def run(
    *, n_partners: int = 50_000, n_queries: int = 10_000, label: str = "statewide"
) -> list[Result]:
    schools, partners = synth.statewide(n_partners=n_partners)
    qlat, qlon = synth.query_points(n_queries, schools)
    need, lang, k = "food", "pt", 5
    out: list[Result] = []

    # build: ours (coordinates, code tables, full tree) vs the bare cKDTree on the same points
    def base_build():
        p = partners.reset_index(drop=True)
        return cKDTree(to_xyz(p.geometry.y.to_numpy(), p.geometry.x.to_numpy()))

    build_s, base_build_s, idx, tree = paired(lambda: PartnerIndex.build(partners), base_build)
    probe = (qlat[:200], qlon[:200])
    d0, i0 = tree.query(to_xyz(*probe), k=k)
    same = _same(idx.knn_many(*probe, k), (chord_to_km(d0), i0))
    out.append(
        Result(
            f"index_build_{label}_{n_partners}",
            build_s,
            "s",
            base_build_s,
            note="ours also builds the filter code tables; answers: unfiltered 5-NN of 200 points",
            baseline="cKDTree on Earth-centred xyz (no filters)",
            equal=same,
        )
    )

    # cold: the first search of a filter (filter + sub-index build + search)
    cold_s, cold_base_s, cold_ours, cold_base = paired(
        lambda: PartnerIndex(idx.partners, idx.xyz, 0).knn_many(
            qlat, qlon, k, needs=[need], languages=[lang]
        ),
        lambda: KDTreeCache(idx.partners, idx.xyz).knn(qlat, qlon, k, need, lang),
        repeat=3,
    )
    out.append(
        Result(
            f"filtered_knn5_{n_queries}q_{label}_cold",
            cold_s,
            "s",
            cold_base_s,
            note="first search of a filter: index construction + filter + tree + search",
            baseline="pandas explode/isin filter + cKDTree build + query",
            equal=_same(cold_ours, cold_base),
        )
    )

    # warm: both caches hold the filter's tree
    cache = KDTreeCache(idx.partners, idx.xyz)
    cache.knn(qlat[:1], qlon[:1], k, need, lang)
    idx.knn_many(qlat[:1], qlon[:1], k, needs=[need], languages=[lang])
    warm_s, warm_base_s, ours, base = paired(
        lambda: idx.knn_many(qlat, qlon, k, needs=[need], languages=[lang]),
        lambda: cache.knn(qlat, qlon, k, need, lang),
        repeat=21,
    )
    out.append(
        Result(
            f"filtered_knn5_{n_queries}q_{label}",
            warm_s,
            "s",
            warm_base_s,
            note=f"{n_queries} origins, k=5, need food + language pt; medians of 21 alternating runs",
            baseline=KD,
            equal=_same(ours, base),
        )
    )
    pos = np.flatnonzero(idx.filter_mask(needs=[need], languages=[lang]))
    q = to_xyz(qlat, qlon)
    t0 = time.perf_counter()
    brute = _brute(idx.xyz, pos, q, k)
    brute_s = time.perf_counter() - t0
    out.append(
        Result(
            f"filtered_knn5_{n_queries}q_{label}_vs_naive_bruteforce",
            warm_s,
            "s",
            brute_s,
            note="naive extra line",
            baseline="naive numpy brute force (every query x every filtered partner)",
            equal=bool(np.array_equal(brute, ours[1])),
        )
    )

    # single warm searches: the arrays, and the rows as a frame (pandas dominates)
    def frame_base(i: int) -> pd.DataFrame:
        d, p = cache.knn([qlat[i]], [qlon[i]], k, need, lang)
        rows = idx.partners.iloc[p[0]].copy()
        rows["distance_km"] = np.round(d[0], 4)
        return rows.reset_index(drop=True)

    for label_q, fn, fb in (
        (
            "",
            lambda i: idx.knn_many([qlat[i]], [qlon[i]], k, needs=[need], languages=[lang]),
            lambda i: cache.knn([qlat[i]], [qlon[i]], k, need, lang),
        ),
        (
            "_frame",
            lambda i: idx.knn(float(qlat[i]), float(qlon[i]), k, needs=[need], languages=[lang]),
            frame_base,
        ),
    ):
        ts, tb, equal = [], [], True
        for i in range(300):
            t0 = time.perf_counter()
            a = fn(i)
            ts.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            b = fb(i)
            tb.append(time.perf_counter() - t0)
            if label_q:
                equal &= a["partner_id"].tolist() == b["partner_id"].tolist() and np.array_equal(
                    a["distance_km"].to_numpy(), b["distance_km"].to_numpy()
                )
            else:
                equal &= _same(a, b)
        for pct in (50, 95):
            out.append(
                Result(
                    f"single_filtered_knn5{label_q}_{label}_p{pct}",
                    float(np.percentile(ts, pct)) * 1000,
                    "ms",
                    float(np.percentile(tb, pct)) * 1000,
                    note="300 warm single searches",
                    baseline=KD + (" + rows as a frame" if label_q else ""),
                    equal=bool(equal),
                )
            )
    return out


def run_quick() -> list[Result]:
    return run()


def run_all() -> list[Result]:
    return run()
