"""A tiny, hand-checkable world for the match / coverage / network tests (no shipped data).

Schools A and B in Hartford, C (3 respondents, another district) 2.5 km south of A;
partners placed at known distances north of A and B. Families (internal responses) are built directly.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point, box

from assetmap.index import PartnerIndex
from assetmap.model import conform_partners
from assetmap.needs import build_profile

A = (41.76, -72.68)
B = (41.70, -72.70)
KM_LAT = 1 / 111.195  # degrees of latitude per km on the mean sphere
C = (A[0] - 2.5 * KM_LAT, A[1])  # 2.5 km south of A


def north_of(origin, km):
    return Point(origin[1], origin[0] + km * KM_LAT)


def schools() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "school_id": ["S_A", "S_B", "S_C"],
            "name": ["Alpha School", "Beta School", "Gamma School"],
            "district_id": ["D1", "D1", "D2"],
        },
        geometry=[Point(A[1], A[0]), Point(B[1], B[0]), Point(C[1], C[0])],
        crs="EPSG:4326",
    )


def responses() -> pd.DataFrame:
    spec = {
        "S_A": [
            ("es", ["food", "legal"], 10),
            ("en", ["food"], 10),
            ("pt", ["food", "housing"], 10),
        ],
        "S_B": [("en", ["tutoring"], 12), ("ar", ["tutoring"], 8), ("so", ["tutoring"], 7)],
        "S_C": [("en", ["food"], 3)],
    }
    names = {"S_A": "Alpha School", "S_B": "Beta School", "S_C": "Gamma School"}
    dist = {"S_A": "D1", "S_B": "D1", "S_C": "D2"}
    rows = []
    for sid, fams in spec.items():
        for lang, needs, n in fams:
            for _ in range(n):
                rows.append(
                    {
                        "row": len(rows) + 2,
                        "school_id": sid,
                        "school_name": names[sid],
                        "district_id": dist[sid],
                        "language": lang,
                        "languages": [lang],
                        "needs": needs,
                        "weight": 1.0,
                        "family": True,
                        "synthetic": True,
                    }
                )
    return pd.DataFrame(rows)


def profile():
    return build_profile(responses(), schools=schools())


def days_ago(n: int) -> str:
    return (dt.date.today() - dt.timedelta(days=n)).isoformat()


def partners() -> gpd.GeoDataFrame:
    rows = [
        # id, name, services, languages, capacity, mou, verified, point
        (
            "p_food_es",
            "Spanish Pantry",
            "food",
            "es",
            100,
            "active",
            days_ago(30),
            north_of(A, 1.0),
        ),
        (
            "p_food_pt",
            "Portuguese Center",
            "food;housing",
            "pt",
            None,
            "prospective",
            None,
            north_of(A, 3.0),
        ),
        ("p_food_far", "Far Pantry", "food", "es;pt", 50, "none", days_ago(400), north_of(A, 40.0)),
        (
            "p_legal_far",
            "Far Legal Aid",
            "legal",
            "es",
            None,
            "expired",
            days_ago(10),
            north_of(A, 60.0),
        ),
        (
            "p_tutor_ar",
            "Arabic Tutors",
            "tutoring",
            "ar",
            20,
            "none",
            days_ago(100),
            north_of(B, 0.5),
        ),
        ("p_tutor_so", "Somali Tutors", "tutoring", "so", None, "none", None, north_of(B, 30.0)),
    ]
    return conform_partners(
        gpd.GeoDataFrame(
            {
                "partner_id": [r[0] for r in rows],
                "name": [r[1] for r in rows],
                "category": "human_services",
                "services": [r[2] for r in rows],
                "languages": [r[3] for r in rows],
                "capacity": [r[4] for r in rows],
                "mou_status": [r[5] for r in rows],
                "last_verified": [r[6] for r in rows],
                "phone": "860-000-0000",
            },
            geometry=[r[7] for r in rows],
            crs="EPSG:4326",
        )
    )


def index() -> PartnerIndex:
    return PartnerIndex.build(partners())


def zones() -> gpd.GeoDataFrame:
    """S_A's attendance zone reaches 45 km north (it contains p_food_far, not p_legal_far)."""
    return gpd.GeoDataFrame(
        {"school_id": ["S_A"]},
        geometry=[box(A[1] - 0.05, A[0] - 0.01, A[1] + 0.05, A[0] + 45 * KM_LAT)],
        crs="EPSG:4326",
    )
