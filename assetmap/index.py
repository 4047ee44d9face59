"""PartnerIndex: one spatial index per dataset, answering radius and k-nearest queries with filters.

Points are placed on a sphere in 3-D Earth-centred coordinates (km). Straight-line (chord)
distance there is monotonic in great-circle distance, so a k-d tree on those coordinates
returns exactly the great-circle nearest partners anywhere in the country — no UTM zone
edges, no degree arithmetic. Reported distances are great-circle km (R = 6371.0088 km).

Filters follow the benchmarks in DESIGN.md: a filtered query never post-filters an over-fetch
(which returns short or wrong top-k for rare languages); it queries a sub-index built once for
that filter combination and cached.

>>> from assetmap.data import load_partners
>>> idx = PartnerIndex.build(load_partners())
>>> res = idx.knn(41.7637, -72.6851, 3, needs=["food"])
>>> list(res["distance_km"]) == sorted(res["distance_km"])
True
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from assetmap._errors import InputError
from assetmap.languages import load_languages
from assetmap.taxonomy import load_taxonomy

__all__ = [
    "PartnerIndex",
    "EARTH_RADIUS_KM",
    "to_xyz",
    "chord_to_km",
    "km_to_chord",
    "haversine_km",
]

log = logging.getLogger(__name__)

EARTH_RADIUS_KM = 6371.0088
_CACHE_SIZE = 256
_BLOCK = 128  # queries per dense block in pairs_within


def to_xyz(lat: np.ndarray | Sequence[float], lon: np.ndarray | Sequence[float]) -> np.ndarray:
    """Earth-centred coordinates (km) of points on the mean sphere, shape (n, 3)."""
    la = np.radians(np.asarray(lat, dtype=float))
    lo = np.radians(np.asarray(lon, dtype=float))
    c = np.cos(la)
    return EARTH_RADIUS_KM * np.column_stack((c * np.cos(lo), c * np.sin(lo), np.sin(la)))


def chord_to_km(chord: np.ndarray | float) -> np.ndarray:
    """Great-circle km for a chord length in km."""
    x = np.clip(np.asarray(chord, dtype=float) / (2 * EARTH_RADIUS_KM), 0.0, 1.0)
    return 2 * EARTH_RADIUS_KM * np.arcsin(x)


def km_to_chord(km: np.ndarray | float) -> np.ndarray:
    """Chord length (km) for a great-circle distance in km."""
    a = np.minimum(np.asarray(km, dtype=float), np.pi * EARTH_RADIUS_KM)
    return 2 * EARTH_RADIUS_KM * np.sin(a / (2 * EARTH_RADIUS_KM))


def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance in km (vectorised haversine)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    h = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0, 1)))


def _no_pairs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.array([], dtype=np.int64), np.array([], dtype=np.int64), np.array([], dtype=float)


@dataclass
class _Sub:
    positions: np.ndarray  # partner positions (into PartnerIndex.partners) in this sub-index
    tree: cKDTree | None
    coord: np.ndarray | None = None  # location code per partner of the sub-index
    _sites: _Sites | None = None

    def sites(self) -> _Sites | None:
        """The distinct locations of the sub-index (None when no two partners share one)."""
        if self._sites is None and self.tree is not None and self.coord is not None:
            codes, first = np.unique(self.coord, return_index=True)
            if len(codes) < len(self.positions):
                inverse = np.searchsorted(codes, self.coord)
                order = np.argsort(inverse, kind="stable")  # positions ascending per site
                counts = np.bincount(inverse, minlength=len(codes))
                offsets = np.zeros(len(codes) + 1, dtype=np.int64)
                offsets[1:] = np.cumsum(counts)
                self._sites = _Sites(
                    _tree(self.tree.data[first]), offsets, self.positions[order], counts
                )
            self.coord = None  # computed once either way
        return self._sites


@dataclass(frozen=True)
class _Sites:
    """Co-located partners grouped: one tree point per distinct location (site)."""

    tree: cKDTree
    offsets: np.ndarray  # members of site s: positions[offsets[s]:offsets[s + 1]]
    positions: np.ndarray  # partner positions, ascending within each site
    counts: np.ndarray


@dataclass(frozen=True)
class _CodeTable:
    """A list column (services, languages) as integer codes grouped by code (CSR layout).

    ``positions[offsets[c]:offsets[c + 1]]`` are the partners listing ``uniques[c]``.
    Built with pandas explode + factorize (hash based), never a Python loop per partner.
    """

    uniques: np.ndarray  # the distinct codes (str)
    offsets: np.ndarray  # (n_codes + 1,)
    positions: np.ndarray  # partner positions, grouped by code
    lens: np.ndarray  # number of codes listed per partner

    @classmethod
    def from_lists(cls, column: pd.Series) -> _CodeTable:
        vals = column.to_numpy(dtype=object)
        if not set(map(type, vals)) <= {list, tuple, np.ndarray}:
            vals = np.array([_as_list(v) for v in vals] + [None], dtype=object)[:-1]
        lens = np.fromiter(map(len, vals), dtype=np.int64, count=len(vals))
        flat = np.fromiter(itertools.chain.from_iterable(vals), dtype=object, count=int(lens.sum()))
        pos = np.repeat(np.arange(len(vals), dtype=np.int64), lens)
        keep = pd.notna(flat)
        if not keep.all():
            flat, pos = flat[keep], pos[keep]
            lens = np.bincount(pos, minlength=len(vals)).astype(np.int64)
        if len(flat) == 0:
            return cls(np.array([], dtype=str), np.zeros(1, dtype=np.int64), pos, lens)
        codes, uniques = pd.factorize(flat, sort=False)
        uniques = np.array([str(u) for u in uniques], dtype=str)
        if len(set(uniques)) < len(uniques):  # e.g. 5 and "5": one code after str()
            codes, uniques = pd.factorize(uniques[codes], sort=False)
            uniques = np.asarray(uniques, dtype=str)
        order = np.argsort(codes, kind="stable")
        offsets = np.zeros(len(uniques) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum(np.bincount(codes, minlength=len(uniques)))
        return cls(uniques, offsets, pos[order], lens)

    def mask(self, code_ids: np.ndarray, n: int) -> np.ndarray:
        """Boolean mask over ``n`` partners: True where the partner lists any of ``code_ids``."""
        out = np.zeros(n, dtype=bool)
        for c in code_ids:
            out[self.positions[self.offsets[c] : self.offsets[c + 1]]] = True
        return out


def _as_list(v: object) -> list:
    """A list cell as a list: None/NaN -> [], a bare string or number -> [it]."""
    if isinstance(v, (list, tuple, np.ndarray)):
        return list(v)
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return []
    return [v]


def _site_knn(
    sites: _Sites, q: np.ndarray, k: int, bound: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """k nearest partners through their sites: (chord distance, position, found), (n, k)."""
    n, n_sites = len(q), len(sites.counts)
    ks = min(k, n_sites)
    d, u = sites.tree.query(q, k=ks, distance_upper_bound=bound)
    d = np.asarray(d, dtype=float).reshape(n, ks)
    u = np.asarray(u).reshape(n, ks)
    ok = u < n_sites
    cnt = np.where(ok, sites.counts[np.where(ok, u, 0)], 0)
    before = np.cumsum(cnt, axis=1) - cnt
    take = np.clip(k - before, 0, cnt)  # members taken from each site, nearest site first
    r, j = np.nonzero(take)
    t = take[r, j]
    slot = np.repeat(before[r, j], t)
    within = np.arange(int(t.sum())) - np.repeat(np.cumsum(t) - t, t)
    rr = np.repeat(r, t)
    member = np.repeat(sites.offsets[u[r, j]], t) + within
    dist = np.full((n, k), np.inf)
    pos = np.zeros((n, k), dtype=np.int64)
    found = np.zeros((n, k), dtype=bool)
    dist[rr, slot + within] = np.repeat(d[r, j], t)
    pos[rr, slot + within] = sites.positions[member]
    found[rr, slot + within] = True
    return dist, pos, found


def _tree(points: np.ndarray) -> cKDTree:
    """A k-d tree: scipy's defaults (fastest queries) up to 100,000 points, tuned for fast
    builds above (exact queries either way; measured in benchmarks)."""
    if len(points) <= 100_000:
        return cKDTree(points)
    return cKDTree(points, leafsize=32, balanced_tree=False)


class PartnerIndex:
    """Spatial index over one Partners frame. Build with :meth:`build`.

    ``partners`` holds the located rows (valid point geometry) with a fresh 0..n-1 index;
    every array result refers to positions in it.
    """

    def __init__(self, partners: gpd.GeoDataFrame, xyz: np.ndarray, unlocated: int) -> None:
        self.partners = partners
        self.xyz = xyz
        self.lat = partners.geometry.y.to_numpy()
        self.lon = partners.geometry.x.to_numpy()
        self.unlocated = unlocated
        self._tax = load_taxonomy()
        self._langs = load_languages()
        # Integer-coded list columns grouped by code: a filter mask is a few slice
        # assignments, and building them is vectorised (no Python loop per partner).
        self._services = _CodeTable.from_lists(partners["services"])
        self._languages = _CodeTable.from_lists(partners["languages"])
        self._no_lang = self._languages.lens == 0
        cat_codes, cat_uniques = pd.factorize(partners["category"].astype(str), sort=False)
        self._category_code = np.asarray(cat_codes)
        self._category_uniques = pd.Index(cat_uniques)
        self._subs: OrderedDict[tuple, _Sub] = OrderedDict()
        self._lock = threading.Lock()
        # one integer code per distinct location: k-nearest searches group co-located
        # partners (the usual source of distance ties) and order them by position
        xy, _ = pd.factorize(xyz[:, 0] + 1j * xyz[:, 1]) if len(xyz) else (np.zeros(0), None)
        self._coord = np.asarray(pd.factorize(xy + 1j * xyz[:, 2])[0], dtype=np.int64)
        self._full = _Sub(
            np.arange(len(partners)), _tree(xyz) if len(partners) else None, self._coord
        )

    # ------------------------------------------------------------------ construction
    @classmethod
    def build(cls, partners: gpd.GeoDataFrame) -> PartnerIndex:
        """Index the partners that have a usable point; rows without one are counted, not lost."""
        if not isinstance(partners, gpd.GeoDataFrame):
            raise InputError(
                f"PartnerIndex.build needs a GeoDataFrame, got {type(partners).__name__}"
            )
        for col in ("partner_id", "services", "languages", "category"):
            if col not in partners.columns:
                raise InputError(f"PartnerIndex.build: partners lack the column {col!r}")
        gdf = partners
        if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
            gdf = gdf.to_crs("EPSG:4326")
        geom = gdf.geometry
        ok = geom.notna() & ~geom.is_empty & (geom.geom_type == "Point")
        located = gdf.loc[ok].reset_index(drop=True)
        lat = located.geometry.y.to_numpy()
        lon = located.geometry.x.to_numpy()
        finite = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
        if not finite.all():
            located = located.loc[finite].reset_index(drop=True)
            lat, lon = lat[finite], lon[finite]
        unlocated = len(gdf) - len(located)
        if unlocated:
            log.info("%d partners have no usable location and are not in the index", unlocated)
        return cls(located, to_xyz(lat, lon), unlocated)

    def __len__(self) -> int:
        return len(self.partners)

    # ------------------------------------------------------------------ filters
    def _need_mask(self, need: str) -> np.ndarray:
        code = self._tax.normalize_need(need) or need
        top = code.split(".")[0]
        vocab = self._services.uniques
        if "." in code:  # a sub-need: served by that sub-service or the whole top-level service
            wanted = (vocab == code) | (vocab == top)
        else:  # a top-level need: served by the top-level service or any of its sub-services
            wanted = np.array([c.split(".")[0] == top for c in vocab], dtype=bool)
        return self._services.mask(np.flatnonzero(wanted), len(self.partners))

    def _language_mask(self, language: str) -> np.ndarray:
        code = self._langs.normalize(language) or language
        mask = self._languages.mask(
            np.flatnonzero(self._languages.uniques == code), len(self.partners)
        )
        if code == "en":  # a partner listing no languages is taken to work in English
            mask |= self._no_lang
        return mask

    def filter_mask(
        self,
        *,
        needs: Iterable[str] = (),
        categories: Iterable[str] = (),
        languages: Iterable[str] = (),
    ) -> np.ndarray:
        """Boolean mask over ``partners``: any of the needs AND any of the categories AND any language."""
        mask = np.ones(len(self.partners), dtype=bool)
        needs, categories, languages = list(needs), list(categories), list(languages)
        if needs:
            m = np.zeros(len(self.partners), dtype=bool)
            for n in needs:
                m |= self._need_mask(n)
            mask &= m
        if categories:
            cats = [self._tax.normalize_category(c) or c for c in categories]
            ids = self._category_uniques.get_indexer(pd.Index(cats))
            mask &= np.isin(self._category_code, ids[ids >= 0])
        if languages:
            m = np.zeros(len(self.partners), dtype=bool)
            for lang in languages:
                m |= self._language_mask(lang)
            mask &= m
        return mask

    def _sub(
        self, needs: Iterable[str], categories: Iterable[str], languages: Iterable[str]
    ) -> _Sub:
        key = (
            tuple(sorted(set(needs))),
            tuple(sorted(set(categories))),
            tuple(sorted(set(languages))),
        )
        if key == ((), (), ()):
            return self._full
        with self._lock:
            sub = self._subs.get(key)
            if sub is not None:
                self._subs.move_to_end(key)
                return sub
        positions = np.flatnonzero(
            self.filter_mask(needs=key[0], categories=key[1], languages=key[2])
        )
        sub = _Sub(
            positions,
            _tree(self.xyz[positions]) if len(positions) else None,
            self._coord[positions],
        )
        with self._lock:
            self._subs[key] = sub
            while len(self._subs) > _CACHE_SIZE:
                self._subs.popitem(last=False)
        return sub

    # ------------------------------------------------------------------ array queries
    def knn_many(
        self,
        lats: Sequence[float] | np.ndarray,
        lons: Sequence[float] | np.ndarray,
        k: int,
        *,
        needs: Iterable[str] = (),
        categories: Iterable[str] = (),
        languages: Iterable[str] = (),
        max_km: float | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """k nearest matching partners for many points.

        Returns ``(distance_km, position)``, each shape (n, k); where fewer than k match,
        distance is ``inf`` and position ``-1``.
        """
        if k < 1:
            raise InputError(f"k must be at least 1, got {k}")
        q = to_xyz(lats, lons)
        n = len(q)
        sub = self._sub(needs, categories, languages)
        if sub.tree is None or n == 0:
            return np.full((n, k), np.inf), np.full((n, k), -1, dtype=np.int64)
        m = len(sub.positions)
        kk = min(k, m)
        bound = float(km_to_chord(max_km)) if max_km is not None else np.inf
        # Ties are broken by position, so any index holding the same partners in the same
        # order (e.g. a spatial partition's subset) answers identically. Co-located partners
        # (the usual ties) share one tree point (a site) whose members are taken in position
        # order; equal distances to different sites are ordered by position too.
        sites = sub.sites()
        if sites is None:
            d, i = sub.tree.query(q, k=kk, distance_upper_bound=bound)
            d = np.asarray(d, dtype=float).reshape(n, kk)
            i = np.asarray(i).reshape(n, kk)
            found = None if bound == np.inf else i < m
            p = sub.positions[i if found is None else np.where(found, i, 0)]
        else:
            d, p, found = _site_knn(sites, q, kk, bound)
        if kk > 1:
            tie = d[:, 1:] == d[:, :-1]
            if tie.any():
                tie &= p[:, 1:] < p[:, :-1]
                if found is not None:
                    tie &= found[:, 1:]
                rows = np.flatnonzero(tie.any(axis=1))
                o = np.lexsort((p[rows], d[rows]), axis=-1)
                d[rows] = np.take_along_axis(d[rows], o, 1)
                p[rows] = np.take_along_axis(p[rows], o, 1)
        if found is not None and found.all():
            found = None
        if kk == k and found is None:  # the usual case: every slot filled
            return chord_to_km(d), p
        dist = np.full((n, k), np.inf)
        pos = np.full((n, k), -1, dtype=np.int64)
        if found is None:
            dist[:, :kk], pos[:, :kk] = chord_to_km(d), p
        else:
            dist[:, :kk] = np.where(found, chord_to_km(np.where(found, d, 0.0)), np.inf)
            pos[:, :kk] = np.where(found, p, -1)
        return dist, pos

    def pairs_within(
        self,
        lats: Sequence[float] | np.ndarray,
        lons: Sequence[float] | np.ndarray,
        radius_km: float | Sequence[float] | np.ndarray,
        *,
        needs: Iterable[str] = (),
        categories: Iterable[str] = (),
        languages: Iterable[str] = (),
        sort: bool = True,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every (query, partner) pair within the radius (scalar or one per query).

        Returns numpy arrays ``(query_index, partner_position, distance_km)``, sorted by query,
        distance, partner when ``sort`` (else each query's pairs are contiguous, in no set
        order). Pairs stay in arrays (never Python lists) so millions are cheap.

        Method: queries are taken in spatially coherent blocks (the leaf order of a k-d tree
        on them); one ball query per block (centre, block radius + the largest reach) gives
        the candidate partners, and exact chord distances are computed densely for block x
        candidates. Exact by the triangle inequality; on a dense statewide set this is
        several times faster than ``sparse_distance_matrix``.
        """
        q = to_xyz(lats, lons)
        radius = np.broadcast_to(np.asarray(radius_km, dtype=float), (len(q),))
        sub = self._sub(needs, categories, languages)
        if sub.tree is None or len(q) == 0:
            return _no_pairs()
        chord = km_to_chord(radius + 1e-9)
        order = cKDTree(q, leafsize=_BLOCK // 2).indices  # leaf order: spatially coherent
        data = sub.tree.data
        out_q, out_p, out_d = [], [], []
        for start in range(0, len(order), _BLOCK):
            block = order[start : start + _BLOCK]
            bq = q[block]
            centre = bq.mean(axis=0)
            spread = float(np.sqrt(((bq - centre) ** 2).sum(axis=1)).max())
            cand = np.asarray(
                sub.tree.query_ball_point(centre, spread + float(chord[block].max()) + 1e-6),
                dtype=np.int64,
            )
            if len(cand) == 0:
                continue
            cd = data[cand]
            d2 = np.zeros((len(block), len(cand)))
            for axis in range(3):  # the tree's own formula: sqrt of summed squared differences
                d2 += np.subtract.outer(bq[:, axis], cd[:, axis]) ** 2
            r, c = np.nonzero(d2 <= (chord[block] ** 2)[:, None])
            dkm = chord_to_km(np.sqrt(d2[r, c]))
            keep = dkm <= radius[block[r]] + 1e-9
            out_q.append(block[r[keep]])
            out_p.append(sub.positions[cand[c[keep]]])
            out_d.append(dkm[keep])
        if not out_q:
            return _no_pairs()
        qi, pj, dkm = np.concatenate(out_q), np.concatenate(out_p), np.concatenate(out_d)
        if sort:
            o = np.lexsort((pj, dkm, qi))
            qi, pj, dkm = qi[o], pj[o], dkm[o]
        return qi, pj, dkm

    # ------------------------------------------------------------------ frame queries
    def _rows(self, positions: np.ndarray, distances: np.ndarray) -> gpd.GeoDataFrame:
        out = self.partners.iloc[positions].copy()
        out["distance_km"] = np.round(distances, 4)
        return out.reset_index(drop=True)

    def knn(
        self,
        lat: float,
        lon: float,
        k: int,
        *,
        needs: Iterable[str] = (),
        categories: Iterable[str] = (),
        languages: Iterable[str] = (),
        max_km: float | None = None,
    ) -> gpd.GeoDataFrame:
        """The k nearest matching partners to a point, with ``distance_km``, nearest first."""
        d, p = self.knn_many(
            [lat], [lon], k, needs=needs, categories=categories, languages=languages, max_km=max_km
        )
        found = p[0] >= 0
        return self._rows(p[0][found], d[0][found])

    def radius(
        self,
        lat: float,
        lon: float,
        radius_km: float,
        *,
        needs: Iterable[str] = (),
        categories: Iterable[str] = (),
        languages: Iterable[str] = (),
        limit: int | None = None,
    ) -> gpd.GeoDataFrame:
        """Every matching partner within ``radius_km`` of a point, nearest first."""
        if not np.isfinite(radius_km) or radius_km < 0:
            raise InputError(f"radius must be a non-negative number of km, got {radius_km}")
        sub = self._sub(needs, categories, languages)
        if sub.tree is None:
            return self._rows(np.array([], dtype=np.int64), np.array([]))
        q = to_xyz([lat], [lon])[0]
        hits = np.asarray(
            sub.tree.query_ball_point(q, float(km_to_chord(radius_km))), dtype=np.int64
        )
        pos = sub.positions[hits]
        d = haversine_km(lat, lon, self.lat[pos], self.lon[pos])
        keep = d <= radius_km + 1e-9
        pos, d = pos[keep], d[keep]
        order = np.lexsort((pos, d))
        if limit is not None:
            order = order[:limit]
        return self._rows(pos[order], d[order])


def frame_positions(index: PartnerIndex, partner_ids: Iterable[str]) -> np.ndarray:
    """Positions in ``index.partners`` of the given partner ids (-1 when absent)."""
    lookup = pd.Series(
        np.arange(len(index.partners)), index=index.partners["partner_id"].astype(str)
    )
    lookup = lookup[~lookup.index.duplicated()]
    return lookup.reindex([str(p) for p in partner_ids]).fillna(-1).astype(np.int64).to_numpy()
