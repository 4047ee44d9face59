"""Reading highway ways from an OpenStreetMap extract (.osm.pbf, .osm XML, .osm.bz2/.gz).

pyosmium (libosmium) reads every format; without it, plain ``.osm`` XML is parsed with the
standard library (fine for a town, slow for a state). Each way comes out as its node ids,
their coordinates and the tags the graph needs.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET  # noqa: S405 - parsing with entity expansion disabled below
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from assetmap._errors import DependencyMissing, InputError

__all__ = ["OsmWay", "read_ways"]

log = logging.getLogger(__name__)

# tags that decide whether and how a way is used
_KEEP = (
    "highway",
    "area",
    "access",
    "foot",
    "motor_vehicle",
    "motorcar",
    "oneway",
    "junction",
)


#: OSM fixed-point coordinate of a node the extract lacks (libosmium's undefined value)
MISSING = 2147483647


@dataclass(frozen=True)
class OsmWay:
    """One highway way: node ids and coordinates in order, and its routing tags.

    Coordinates are OSM fixed point (1e-7 degrees, ints), :data:`MISSING` where the extract
    lacks the node: plain lists, so a statewide import builds no array per way.
    """

    refs: list[int]
    y: list[int]  # latitude x 1e7
    x: list[int]  # longitude x 1e7
    tags: dict[str, str]


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for s in (".osm.pbf", ".pbf", ".osm.bz2", ".osm.gz", ".osm", ".xml"):
        if name.endswith(s):
            return s
    return path.suffix.lower()


def read_ways(
    path: str | Path, *, progress: Callable[[int], None] | None = None
) -> Iterator[OsmWay]:
    """Every ``highway=*`` way of an OSM file, with node coordinates.

    ``progress`` is called with the number of ways read since the last call (for a bar).
    Raises :class:`InputError` naming the file when it is missing or not OSM data.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(
            f"{p}: no such file. Give an OpenStreetMap extract, e.g. connecticut-latest.osm.pbf."
        )
    kind = _suffix(p)
    if kind not in (".osm.pbf", ".pbf", ".osm.bz2", ".osm.gz", ".osm", ".xml"):
        raise InputError(
            f"{p}: not an OpenStreetMap file (expected .osm.pbf or .osm, got {p.suffix or 'no extension'})."
        )
    try:
        import osmium  # noqa: F401
    except ImportError:
        if kind in (".osm", ".xml", ".osm.bz2", ".osm.gz"):
            log.info("pyosmium not installed: parsing %s as XML with the standard library", p)
            yield from _read_xml(p, progress)
            return
        raise DependencyMissing(
            f"{p}: reading {kind} needs pyosmium. Install it with: pip install osmium"
        ) from None
    yield from _read_osmium(p, progress)


def _read_osmium(p: Path, progress: Callable[[int], None] | None) -> Iterator[OsmWay]:
    import osmium

    try:
        fp = (
            osmium.FileProcessor(str(p), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations()
            .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
            .with_filter(osmium.filter.KeyFilter("highway"))
        )
        n = 0
        for w in fp:
            refs: list[int] = []
            ys: list[int] = []
            xs: list[int] = []
            for nd in w.nodes:  # one loop, attribute reads only: the import's hot path
                refs.append(nd.ref)
                loc = nd.location
                ys.append(loc.y)
                xs.append(loc.x)
            tags = {k: w.tags[k] for k in _KEEP if k in w.tags}
            yield OsmWay(refs, ys, xs, tags)
            n += 1
            if progress is not None and n == 1000:
                progress(n)
                n = 0
        if progress is not None and n:
            progress(n)
    except RuntimeError as exc:  # libosmium: unreadable or corrupt input
        raise InputError(f"{p}: cannot be read as OpenStreetMap data ({exc}).") from exc


def _read_xml(p: Path, progress: Callable[[int], None] | None) -> Iterator[OsmWay]:
    import bz2
    import gzip

    opener = {".osm.bz2": bz2.open, ".osm.gz": gzip.open}.get(_suffix(p), open)
    coords: dict[int, tuple[float, float]] = {}
    n = 0
    try:
        with opener(p, "rb") as fh:
            parser = ET.XMLPullParser(events=("end",))
            refs: list[int] = []
            tags: dict[str, str] = {}
            while chunk := fh.read(1 << 20):
                if b"<!ENTITY" in chunk:
                    raise InputError(f"{p}: XML entity declarations are not allowed in OSM files.")
                parser.feed(chunk)
                for _, el in parser.read_events():
                    if el.tag == "node":
                        coords[int(el.get("id"))] = (
                            round(float(el.get("lat")) * 1e7),
                            round(float(el.get("lon")) * 1e7),
                        )
                        refs, tags = [], {}
                        el.clear()
                    elif el.tag == "nd":
                        refs.append(int(el.get("ref")))
                    elif el.tag == "tag":
                        tags[el.get("k", "")] = el.get("v", "")
                    elif el.tag == "way":
                        if "highway" in tags and refs:
                            ll = [coords.get(x, (MISSING, MISSING)) for x in refs]
                            yield OsmWay(
                                refs,
                                [c[0] for c in ll],
                                [c[1] for c in ll],
                                {k: tags[k] for k in _KEEP if k in tags},
                            )
                            n += 1
                            if progress is not None and n == 1000:
                                progress(n)
                                n = 0
                        refs, tags = [], {}
                        el.clear()
                    elif el.tag in ("relation", "osm"):
                        refs, tags = [], {}
                        el.clear()
            parser.close()
    except (ET.ParseError, ValueError, TypeError, OSError, EOFError) as exc:
        raise InputError(f"{p}: not valid OpenStreetMap XML ({exc}).") from exc
    if progress is not None and n:
        progress(n)
