"""A tiny workspace for the program / framework / outcome tests: 3 schools, 3 partners.

Hand-placed points in Hartford with distances known in advance (0.01° latitude ≈ 1.11 km).
"""

from __future__ import annotations

import geopandas as gpd
from shapely.geometry import Point

LAT, LON = 41.76, -72.69

SCHOOLS = gpd.GeoDataFrame(
    {
        "school_id": ["0640611", "0640111", "0990011"],
        "name": ["Burns Test Academy", "Sand Test School", "Far Test School"],
        "district_id": ["0640011", "0640011", "0990001"],
        "total_students": [200, 50, 10],
    },
    geometry=[Point(LON, LAT), Point(LON, LAT + 0.02), Point(LON, LAT + 1.0)],
    crs="EPSG:4326",
)

PARTNERS = [
    {"partner_id": "lib-1", "name": "Test Library", "category": "library",
     "services": ["adult_ed"], "languages": ["es"], "geometry": Point(LON, LAT + 0.01),
     "hours": "Mon-Thu 9:00-20:00; Fri 9:00-17:00"},
    {"partner_id": "rec-1", "name": "Test Recreation Center", "category": "recreation",
     "services": ["out_of_school"], "languages": ["en"], "geometry": Point(LON, LAT - 0.02),
     "hours": "Sat 10:00-14:00"},
    {"partner_id": "fam-1", "name": "Test Family Center", "category": "family_support",
     "services": ["family_leadership"], "languages": ["en", "es"],
     "geometry": Point(LON + 0.5, LAT), "hours": "Mon-Fri 9:00-16:00"},
]  # fmt: skip


def make_store(path: str):
    """An open store at ``path`` (.gpkg or postgresql:// URL) holding the schools and partners above."""
    from assetmap.store import open_store

    store = open_store(path)
    store.put_schools(SCHOOLS, by="test")
    for p in PARTNERS:
        store.add_partner(p, by="test")
    return store


def parent_academy(**over):
    """The journey's program: a library's Parent Academy, Tuesday evenings, in Spanish."""
    raw = {
        "name": "Parent Academy",
        "partner_id": "lib-1",
        "school_ids": ["0640611"],
        "languages": ["Spanish"],
        "cost": "free",
        "principles": ["modeling_learning", "family_leadership"],
        "impact_level": "connecting",
        "schedules": "TU 18:00-20:00",
        "ada_accessible": "yes",
    }
    raw.update(over)
    return raw
