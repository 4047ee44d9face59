"""Small hand-made frames following the shared contracts (team brief), for export/map tests.

Partners carry hostile text on purpose: formula-injection starts (OWASP CSV injection) and
HTML/JS payloads (RELIABILITY.md §1.1, §1.3).
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point, Polygon

from assetmap.model import conform_partners

XSS = [
    "<script>alert(1)</script>",
    "${alert(document.domain)}",
    "</script><script>alert(2)</script>",
    '<img src=x onerror="alert(3)">',
    "`${alert(4)}`",
]
FORMULAS = [
    '=HYPERLINK("http://evil.example","x")',
    "+1 860 555 0100",
    "-2",
    "@SUM(A1:A2)",
    "\t=1",
    "\r=2",
    "\n=3",
]


def partners() -> gpd.GeoDataFrame:
    rows = [
        dict(
            partner_id="p1",
            name="Hartford Food Pantry",
            organization="Foodshare",
            category="human_services",
            services=["food", "food.pantry"],
            languages=["en", "es"],
            address="1 Main St",
            city="Hartford",
            state="CT",
            postal_code="06103",
            phone="(860) 555-0101",
            website="https://food.example.org",
            hours="Mon-Fri 9-5",
            cost="free",
            eligibility="Hartford residents",
            ada_accessible=True,
            mou_status="active",
            last_verified="2026-10-01",
            source="test",
            capacity=200,
            description="Groceries for families.",
            lon=-72.68,
            lat=41.765,
        ),
        dict(
            partner_id="p2",
            name=XSS[0] + " Clinic",
            organization=XSS[1],
            category="health",
            services=["health", "mental_health"],
            languages=["es", "pt"],
            address=XSS[2],
            city="Hartford",
            state="CT",
            postal_code="06106",
            phone=FORMULAS[0],
            website="javascript:alert(1)",
            hours=XSS[3],
            cost="sliding_scale",
            eligibility=XSS[4],
            ada_accessible=False,
            mou_status="none",
            last_verified="2019-01-01",
            source="test",
            description=XSS[0],
            lon=-72.70,
            lat=41.75,
        ),
        dict(
            partner_id="p3",
            name="=cmd|' /C calc'!A0",
            organization="@SUM(1+1)",
            category="library",
            services=["technology", "adult_ed.esl"],
            languages=["ar", "ur"],
            address="-2 Elm St",
            city="New Britain",
            state="CT",
            postal_code="06051",
            phone="+1 860 555 0103",
            website="www.library.example.org",
            hours="\t=1",
            cost="fee",
            mou_status="prospective",
            last_verified=None,
            source="EXAMPLE (fictional) seed",
            example=True,
            lon=-72.78,
            lat=41.67,
        ),
        dict(
            partner_id="p4",
            name="Parent Center",
            organization="Parent Center Inc.",
            category="disability_family",
            services=["disability"],
            languages=["en"],
            address="5 Oak Ave",
            city="West Hartford",
            state="CT",
            postal_code="06107",
            phone="-2",
            website="http://parents.example.org",
            hours="By appointment",
            cost="unknown",
            mou_status="expired",
            last_verified="2026-06-01",
            source="test",
            lon=-72.74,
            lat=41.76,
        ),
    ]
    df = pd.DataFrame(rows)
    gdf = gpd.GeoDataFrame(
        df.drop(columns=["lon", "lat"]), geometry=gpd.points_from_xy(df.lon, df.lat), crs=4326
    )
    return conform_partners(gdf)


def schools() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "school_id": ["s1", "s2"],
            "name": ["Burns School", XSS[0] + " Academy"],
            "district_id": ["d1", "d1"],
            "district_name": ["Hartford", "Hartford"],
            "town": ["Hartford", "Hartford"],
            "grades": ["K-8", "9-12"],
        },
        geometry=[Point(-72.69, 41.76), Point(-72.71, 41.77)],
        crs=4326,
    )


def boundaries() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "boundary_id": ["d1", "t1"],
            "name": ["Hartford " + XSS[1], "Hartford town"],
            "kind": ["district", "town"],
        },
        geometry=[
            Polygon([(-72.75, 41.72), (-72.64, 41.72), (-72.64, 41.81), (-72.75, 41.81)]),
            Polygon([(-72.74, 41.73), (-72.65, 41.73), (-72.65, 41.80), (-72.74, 41.80)]),
        ],
        crs=4326,
    )


def network() -> pd.DataFrame:
    base = dict(
        school_id="s1",
        school_name="Burns School",
        district_id="d1",
        school_lat=41.76,
        school_lon=-72.69,
    )
    p = partners().set_index("partner_id")

    def slot(need, label, role, rank, pid, dist, langs_needed, cov, score):
        if pid is None:
            return dict(
                base,
                need=need,
                need_label=label,
                role=role,
                rank=rank,
                partner_id=None,
                partner_name=None,
                category=None,
                distance_km=None,
                languages=[],
                languages_needed=langs_needed,
                language_coverage=None,
                score=None,
                reason="no partner within reach",
                mou_status=None,
                example=False,
                stale=False,
                partner_lat=None,
                partner_lon=None,
                phone=None,
                address=None,
                hours=None,
                website=None,
                lead_load=0,
                overloaded=False,
            )
        r = p.loc[pid]
        return dict(
            base,
            need=need,
            need_label=label,
            role=role,
            rank=rank,
            partner_id=pid,
            partner_name=r["name"],
            category=r["category"],
            distance_km=dist,
            languages=list(r["languages"]),
            languages_needed=langs_needed,
            language_coverage=cov,
            score=score,
            reason=f"serves {need}; {dist} km",
            mou_status=r["mou_status"],
            example=bool(r["example"]),
            stale=pid == "p2",
            partner_lat=r.geometry.y,
            partner_lon=r.geometry.x,
            phone=r["phone"],
            address=r["address"],
            hours=r["hours"],
            website=r["website"],
            lead_load=1,
            overloaded=False,
        )

    rows = [
        slot("food", "Food", "lead", 1, "p1", 1.1, ["es", "en"], 1.0, 0.9),
        slot("health", "Health care", "lead", 1, "p2", 2.0, ["es"], 1.0, 0.8),
        slot("health", "Health care", "backup", 2, "p3", 9.5, ["es"], 0.0, 0.3),
        slot("legal", "Legal help", "gap", 0, None, None, ["es"], None, None),
    ]
    return pd.DataFrame(rows)


def gaps() -> pd.DataFrame:
    return pd.DataFrame(
        [
            dict(
                school_id="s1",
                school_name="Burns School",
                district_id="d1",
                need="legal",
                language=None,
                gap_kind="need",
                families_display="<6",
                reach_km=25.0,
                nearest_partner_id=None,
                nearest_partner_name=None,
                nearest_distance_km=None,
            ),
            dict(
                school_id="s2",
                school_name=XSS[0] + " Academy",
                district_id="d1",
                need="food",
                language="ar",
                gap_kind="language",
                families_display="12",
                reach_km=5.0,
                nearest_partner_id="p3",
                nearest_partner_name="=cmd|' /C calc'!A0",
                nearest_distance_km=8.2,
            ),
        ]
    )


def need_profile() -> pd.DataFrame:
    return pd.DataFrame(
        [
            dict(
                school_id="s1",
                school_name="Burns School",
                district_id="d1",
                dimension="total",
                need=None,
                language=None,
                count=40,
                display="40",
                suppressed=False,
                pct=None,
                synthetic=True,
            ),
            dict(
                school_id="s1",
                school_name="Burns School",
                district_id="d1",
                dimension="need",
                need="food",
                language=None,
                count=None,
                display="<6",
                suppressed=True,
                pct=None,
                synthetic=True,
            ),
            dict(
                school_id="s1",
                school_name="Burns School",
                district_id="d1",
                dimension="need",
                need="legal",
                language=None,
                count=12,
                display="12",
                suppressed=False,
                pct=30.0,
                synthetic=True,
            ),
        ]
    )
