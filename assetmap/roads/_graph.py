"""Walk and drive graphs built from OSM highway ways, saved as one ``.npz`` per workspace.

Nodes are the OSM nodes of highway ways; an edge is one way segment between consecutive
nodes, with its length (great circle), speed (by highway type, ``config/roads.toml``) and a
one-way flag (drive only; an ``oneway=-1`` way is stored reversed). Graph weights are
seconds. The file sits next to the workspace's store: ``var/assetmap.gpkg`` ->
``var/assetmap.roads.npz``; a PostGIS store uses ``var/roads-<hash of the URL>.npz``.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
import threading
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from assetmap._errors import InputError
from assetmap.index import haversine_km, to_xyz
from assetmap.roads._config import MODES, RoadConfig, road_config
from assetmap.roads._osm import OsmWay

__all__ = ["ModeEdges", "RoadNetwork", "build_network", "roads_path", "load_network"]

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
_SAMPLE_KM = 0.05  # snapping samples along every edge at least this often
_SNAP_CANDIDATES = 8
_MIN_SECONDS = 1e-3  # scipy csgraph: keep every edge weight strictly positive
_NO = {"no", "private"}
_YES = {"yes", "designated", "permissive", "destination"}


@dataclass
class ModeEdges:
    """The edges one mode may use; ``oneway`` edges run from ``u`` to ``v`` only."""

    u: np.ndarray  # int32 node positions
    v: np.ndarray
    length_km: np.ndarray  # float64
    kmh: np.ndarray  # float32
    oneway: np.ndarray  # bool

    @property
    def seconds(self) -> np.ndarray:
        return np.maximum(self.length_km / self.kmh * 3600.0, _MIN_SECONDS)


@dataclass
class Snapper:
    """Nearest usable edge for points: k-d tree over samples every 50 m along the edges of
    the mode's largest connected part (so a point is not stranded on a fragment, such as a
    street cut off at the edge of the extract). One-ways can still leave a point unreachable
    from some origins; that is reported as such, not guessed."""

    edges: np.ndarray  # edge ids that may be snapped to
    tree: cKDTree | None
    sample_edge: np.ndarray  # edge id of every sample


@dataclass
class RoadNetwork:
    """A street network for travel times: node coordinates and the edges of each mode."""

    lat: np.ndarray
    lon: np.ndarray
    modes: dict[str, ModeEdges]
    meta: dict[str, Any] = field(default_factory=dict)
    _cache: dict = field(default_factory=dict, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    @property
    def n_nodes(self) -> int:
        return len(self.lat)

    def top_kmh(self, mode: str, cfg: RoadConfig) -> float:
        """The fastest speed anything moves at in ``mode`` on this network (connectors
        included): a straight-line radius at this speed bounds every reachable point."""
        e = self.edges(mode)
        fastest = float(e.kmh.max()) if len(e.kmh) else 0.0
        return max(fastest, cfg.connector_kmh(mode))

    def summary(self) -> dict[str, Any]:
        """Counts and provenance for people (``assetmap roads info``)."""
        out = {"nodes": self.n_nodes, **self.meta}
        for m, e in self.modes.items():
            out[f"{m}_edges"] = int(len(e.u))
            out[f"{m}_km"] = round(float(e.length_km.sum()), 1)
        return out

    # ------------------------------------------------------------------ derived, cached
    def graph(self, mode: str) -> csr_matrix:
        """Directed graph of ``mode`` in seconds (two-way edges both ways; the fastest of
        parallel edges kept)."""
        return self._cached(("graph", mode), lambda: self._build_graph(mode))

    def snapper(self, mode: str) -> Snapper:
        """The snapping index of ``mode`` (built on first use)."""
        return self._cached(("snap", mode), lambda: self._build_snapper(mode))

    def _cached(self, key: tuple, build):
        with self._lock:
            if key not in self._cache:
                self._cache[key] = build()
            return self._cache[key]

    def edges(self, mode: str) -> ModeEdges:
        if mode not in self.modes:
            raise InputError(f"unknown travel mode {mode!r}: use one of {', '.join(MODES)}")
        return self.modes[mode]

    def _build_graph(self, mode: str) -> csr_matrix:
        e = self.edges(mode)
        sec = e.seconds
        two = ~e.oneway
        u = np.concatenate([e.u, e.v[two]]).astype(np.int64)
        v = np.concatenate([e.v, e.u[two]]).astype(np.int64)
        w = np.concatenate([sec, sec[two]])
        keep = u != v
        u, v, w = u[keep], v[keep], w[keep]
        n = self.n_nodes
        order = np.lexsort((w, v, u))  # fastest first within each (u, v)
        u, v, w = u[order], v[order], w[order]
        first = np.ones(len(u), dtype=bool)
        first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
        u, v, w = u[first], v[first], w[first]
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.add.at(indptr, u + 1, 1)
        return csr_matrix((w, v.astype(np.int32), np.cumsum(indptr)), shape=(n, n))

    def _build_snapper(self, mode: str) -> Snapper:
        e = self.edges(mode)
        if len(e.u) == 0:
            return Snapper(np.array([], dtype=np.int64), None, np.array([], dtype=np.int64))
        _, labels = connected_components(self.graph(mode), directed=True, connection="weak")
        used = np.concatenate([e.u, e.v])
        big = np.bincount(labels[used]).argmax()
        ok = (labels[e.u] == big) & (labels[e.v] == big)
        ids = np.flatnonzero(ok)
        n_s = np.maximum(1, np.ceil(e.length_km[ids] / _SAMPLE_KM)).astype(np.int64)
        sample_edge = np.repeat(ids, n_s)
        start = np.repeat(np.cumsum(n_s) - n_s, n_s)
        t = (np.arange(len(sample_edge)) - start + 0.5) / np.repeat(n_s, n_s)
        ua, va = e.u[sample_edge], e.v[sample_edge]
        lat = self.lat[ua] + t * (self.lat[va] - self.lat[ua])
        lon = self.lon[ua] + t * (self.lon[va] - self.lon[ua])
        return Snapper(ids, cKDTree(to_xyz(lat, lon)), sample_edge)

    def snap(self, mode: str, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, ...]:
        """Nearest usable edge of each point: ``(edge, t, snap_km)``; ``t`` in [0, 1] is the
        position along the edge from ``u``; ``edge`` is -1 when the mode has no edges."""
        lat = np.asarray(lat, dtype=float)
        lon = np.asarray(lon, dtype=float)
        s = self.snapper(mode)
        n = len(lat)
        if s.tree is None or n == 0:
            return np.full(n, -1, dtype=np.int64), np.zeros(n), np.full(n, np.inf)
        e = self.edges(mode)
        p = to_xyz(lat, lon)
        k = min(_SNAP_CANDIDATES, len(s.sample_edge))
        _, idx = s.tree.query(p, k=k)
        idx = idx.reshape(n, k)
        cand = s.sample_edge[idx]  # (n, k) edge ids
        a = to_xyz(self.lat[e.u[cand]].ravel(), self.lon[e.u[cand]].ravel()).reshape(n, k, 3)
        b = to_xyz(self.lat[e.v[cand]].ravel(), self.lon[e.v[cand]].ravel()).reshape(n, k, 3)
        ab = b - a
        den = (ab**2).sum(axis=2)
        t = np.where(den > 0, ((p[:, None, :] - a) * ab).sum(axis=2) / np.where(den > 0, den, 1), 0)
        t = np.clip(t, 0.0, 1.0)
        d = np.sqrt(((p[:, None, :] - (a + t[..., None] * ab)) ** 2).sum(axis=2))
        j = np.argmin(d, axis=1)
        rows = np.arange(n)
        return cand[rows, j].astype(np.int64), t[rows, j], d[rows, j]

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the network to ``path`` (``.npz``) atomically."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {"lat": self.lat, "lon": self.lon}
        for m, e in self.modes.items():
            arrays.update(
                {
                    f"{m}_u": e.u,
                    f"{m}_v": e.v,
                    f"{m}_length_km": e.length_km,
                    f"{m}_kmh": e.kmh,
                    f"{m}_oneway": e.oneway,
                }
            )
            g = self.graph(m)  # saved too: loading is then a read, not a rebuild
            arrays.update({f"{m}_indptr": g.indptr, f"{m}_indices": g.indices, f"{m}_w": g.data})
        meta = {**self.meta, "format": FORMAT_VERSION, "modes": list(self.modes)}
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> RoadNetwork:
        """Read a network written by :meth:`save`."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(bytes(z["meta"]).decode("utf-8"))
                if meta.get("format") != FORMAT_VERSION:
                    raise InputError(
                        f"{path}: road network format {meta.get('format')} is not "
                        f"{FORMAT_VERSION}; import the extract again (assetmap roads import FILE)."
                    )
                modes = {
                    m: ModeEdges(
                        z[f"{m}_u"],
                        z[f"{m}_v"],
                        z[f"{m}_length_km"],
                        z[f"{m}_kmh"],
                        z[f"{m}_oneway"],
                    )
                    for m in meta["modes"]
                }
                net = cls(z["lat"], z["lon"], modes, meta)
                n = net.n_nodes
                for m in modes:
                    if f"{m}_indptr" in z:
                        net._cache[("graph", m)] = csr_matrix(
                            (z[f"{m}_w"], z[f"{m}_indices"], z[f"{m}_indptr"]), shape=(n, n)
                        )
                return net
        except (OSError, KeyError, ValueError) as exc:
            raise InputError(
                f"{path}: not a readable road network ({exc}); import the extract again "
                "(assetmap roads import FILE)."
            ) from exc


# ---------------------------------------------------------------------- tag rules
def _walkable(tags: dict[str, str], cfg: RoadConfig) -> bool:
    if tags.get("highway") not in cfg.walk_highways or tags.get("area") == "yes":
        return False
    foot = tags.get("foot")
    if foot in _NO:
        return False
    return not (tags.get("access") in _NO and foot not in _YES)


def _drive_kmh(tags: dict[str, str], cfg: RoadConfig) -> float:
    kmh = cfg.drive_speeds_kmh.get(tags.get("highway", ""), 0.0)
    if not kmh or tags.get("area") == "yes":
        return 0.0
    mv = tags.get("motor_vehicle", tags.get("motorcar"))
    if mv in _NO or (tags.get("access") in _NO and mv not in _YES):
        return 0.0
    return float(kmh)


def _oneway(tags: dict[str, str]) -> int:
    ow = tags.get("oneway", "").lower()
    if ow in ("yes", "true", "1"):
        return 1
    if ow in ("-1", "reverse"):
        return -1
    if ow == "no":
        return 0
    if tags.get("junction") in ("roundabout", "circular") or tags.get("highway") == "motorway":
        return 1
    return 0


def build_network(
    ways: Iterable[OsmWay], *, config: RoadConfig | None = None, source: str = ""
) -> RoadNetwork:
    """Walk and drive graphs from highway ways (see the module docstring for the rules)."""
    cfg = config or road_config()
    refs, ys, xs = array("q"), array("q"), array("q")
    lens, walk_f, kmh_f, ow_f = array("q"), array("b"), array("d"), array("b")
    n_ways = 0
    for w in ways:
        n_ways += 1
        walk, kmh = _walkable(w.tags, cfg), _drive_kmh(w.tags, cfg)
        if (not walk and not kmh) or len(w.refs) < 2:
            continue
        refs.extend(w.refs)
        ys.extend(w.y)
        xs.extend(w.x)
        lens.append(len(w.refs))
        walk_f.append(walk)
        kmh_f.append(kmh)
        ow_f.append(_oneway(w.tags))
    r = np.frombuffer(refs, dtype=np.int64)
    y = np.frombuffer(ys, dtype=np.int64)
    x = np.frombuffer(xs, dtype=np.int64)
    way = np.repeat(np.arange(len(lens)), np.frombuffer(lens, dtype=np.int64))
    located = (np.abs(y) <= 900_000_000) & (np.abs(x) <= 1_800_000_000)
    seg = np.flatnonzero((way[:-1] == way[1:]) & located[:-1] & located[1:] & (r[:-1] != r[1:]))
    if len(seg) == 0:
        raise InputError(
            f"{source or 'the extract'}: no usable streets (highway ways with located nodes) "
            f"among {n_ways} highway ways. Is this the right OpenStreetMap extract?"
        )
    keep = np.zeros(len(r), dtype=bool)
    keep[seg] = keep[seg + 1] = True
    node_refs, inv = np.unique(r[keep], return_inverse=True)
    pos = np.full(len(r), -1, dtype=np.int64)
    pos[keep] = inv
    lat = np.empty(len(node_refs))
    lon = np.empty(len(node_refs))
    lat[inv] = y[keep] / 1e7
    lon[inv] = x[keep] / 1e7
    u, v = pos[seg].astype(np.int32), pos[seg + 1].astype(np.int32)
    seg_way = way[seg]
    walk_s = np.frombuffer(walk_f, dtype=np.int8)[seg_way].astype(bool)
    kmh_s = np.frombuffer(kmh_f, dtype=np.float64)[seg_way].astype(np.float32)
    ow_s = np.frombuffer(ow_f, dtype=np.int8)[seg_way]
    length = haversine_km(lat[u], lon[u], lat[v], lon[v])

    modes = {
        "walk": ModeEdges(
            u[walk_s],
            v[walk_s],
            length[walk_s],
            np.full(int(walk_s.sum()), cfg.walk_kmh, dtype=np.float32),
            np.zeros(int(walk_s.sum()), dtype=bool),
        )
    }
    d = kmh_s > 0
    rev = d & (ow_s < 0)
    du = np.where(rev, v, u)[d]
    dv = np.where(rev, u, v)[d]
    modes["drive"] = ModeEdges(du, dv, length[d], kmh_s[d], (ow_s != 0)[d])
    meta = {
        "source": Path(source).name if source else "",
        "imported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "highway_ways": n_ways,
    }
    return RoadNetwork(lat, lon, modes, meta)


def roads_path(store_location: str | Path) -> Path:
    """Where the road network of a workspace lives: next to its GeoPackage
    (``x.gpkg`` -> ``x.roads.npz``), or ``var/roads-<hash>.npz`` for a database URL."""
    loc = str(store_location)
    if "://" in loc:
        from assetmap.settings import project_root

        digest = hashlib.sha256(loc.encode("utf-8")).hexdigest()[:12]
        return project_root() / "var" / f"roads-{digest}.npz"
    p = Path(loc)
    return p.with_name(p.stem + ".roads.npz")


@functools.lru_cache(maxsize=2)
def _load_cached(path: str, mtime_ns: int, size: int) -> RoadNetwork:
    return RoadNetwork.load(path)


def load_network(store_location: str | Path) -> RoadNetwork | None:
    """The imported network of a workspace, or None when none was imported (cached per file
    version, so repeated queries reuse the graph and its snapping index)."""
    p = roads_path(store_location)
    try:
        st = p.stat()
    except FileNotFoundError:
        return None
    return _load_cached(str(p), st.st_mtime_ns, st.st_size)
