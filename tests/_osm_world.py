"""A hand-drawn street network with a river and one bridge, written as OSM XML (and .pbf).

South street (lat 41.700): A(-72.700) - B(-72.695) - C(-72.690); A->B is one-way eastbound.
North street (lat 41.702): D(-72.700) - E(-72.695) - F(-72.690).
A river (waterway, not a street) runs between them; the only crossing is the bridge C-F.
A footway G-D leaves the north street westward (walkable, not drivable); a motorway
H-I runs far east (drivable, not walkable).
"""

from __future__ import annotations

from pathlib import Path

LAT_S, LAT_N = 41.700, 41.702
NODES = {
    1: ("A", LAT_S, -72.700),
    2: ("B", LAT_S, -72.695),
    3: ("C", LAT_S, -72.690),
    4: ("D", LAT_N, -72.700),
    5: ("E", LAT_N, -72.695),
    6: ("F", LAT_N, -72.690),
    7: ("G", LAT_N, -72.705),
    8: ("H", 41.71, -72.60),
    9: ("I", 41.71, -72.58),
    20: ("r1", 41.701, -72.72),
    21: ("r2", 41.701, -72.67),
}
POS = {name: (lat, lon) for _, (name, lat, lon) in NODES.items()}

WAYS = [
    (100, [1, 2], {"highway": "residential", "oneway": "yes", "name": "South St <b>"}),
    (101, [2, 3], {"highway": "residential", "name": "South St"}),
    (102, [4, 5, 6], {"highway": "residential", "name": "North St"}),
    (103, [3, 6], {"highway": "residential", "bridge": "yes", "name": "Bridge St"}),
    (104, [7, 4], {"highway": "footway"}),
    (105, [8, 9], {"highway": "motorway"}),
    (106, [20, 21], {"waterway": "river", "name": "Park River"}),
]


def write_osm(path: Path) -> Path:
    """Write the network as OSM XML."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    for nid, (_, lat, lon) in NODES.items():
        lines.append(f' <node id="{nid}" version="1" lat="{lat}" lon="{lon}"/>')
    for wid, refs, tags in WAYS:
        lines.append(f' <way id="{wid}" version="1">')
        lines += [f'  <nd ref="{r}"/>' for r in refs]
        for k, v in tags.items():
            v = v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            lines.append(f'  <tag k="{k}" v="{v}"/>')
        lines.append(" </way>")
    lines.append("</osm>")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_pbf(xml_path: Path, pbf_path: Path) -> Path:
    """Convert the XML file to .osm.pbf with pyosmium."""
    import osmium

    writer = osmium.SimpleWriter(str(pbf_path), overwrite=True)
    try:
        for obj in osmium.FileProcessor(str(xml_path)):
            writer.add(obj)
    finally:
        writer.close()
    return pbf_path
