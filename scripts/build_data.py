"""Rebuild the shipped Connecticut data in ``data/ct/`` from ``../shared/data`` (deterministic).

Usage::

    .venv/bin/python scripts/build_data.py [--shared ../shared] [--out data]

Every output is a pure function of the shared source files and the fixed seed below, so two
runs write byte-identical files. Provenance, licences and what we changed: ``data/README.md``.
This script is the ONLY part of the project that reads ``../shared``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import logging
import random
import re
import sys
from collections import Counter
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from shapely.geometry import Point

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assetmap.crosswalks import load_ntee_crosswalk  # noqa: E402
from assetmap.dedupe import dedupe  # noqa: E402
from assetmap.languages import load_languages  # noqa: E402
from assetmap.model import (  # noqa: E402
    CRS,
    PARTNER_COLUMNS,
    SCHOOL_COLUMNS,
    conform_partners,
    lists_to_text,
)
from assetmap.taxonomy import load_taxonomy  # noqa: E402

log = logging.getLogger("build_data")

SEED = 20261123
#: Fixed "today" for the fictional records (verification dates, survey dates): keeps the
#: build deterministic. Relative ages (stale > 12 months) are measured from this date.
REFERENCE_DATE = dt.date(2026, 11, 15)
SIMPLIFY_DEG = 0.0005  # coverage simplification tolerance for town polygons (~50 m)
METRIC_CRS = "EPSG:32618"  # UTM 18N: Connecticut lies within ~1 degree of its east edge
GEOJSON_OPTIONS = {"COORDINATE_PRECISION": "6", "RFC7946": "YES", "WRITE_NAME": "NO"}
#: As-of date of each shipped source layer (the newest date the copy vouches for).
LAYER_AS_OF = {
    "hospitals": "2023-05-06",  # HIFLD release undated; date of the copy's commit
    "colleges": "2019-10-01",  # IPEDS validation dates run to 2019
    "libraries": "2022-06-30",  # end of fiscal year 2022
    "child_care": "2016-07-24",  # date of the TrendCT copy of the OEC licensing list
    "irs_bmf": "2026-04-13",  # IRS EO BMF extract date
}
#: HIFLD publishes the Institute of Living (Hartford Hospital's psychiatric campus at
#: 200 Retreat Ave) as a third "HARTFORD HOSPITAL"; it is a separate site, named as such.
HOSPITAL_CAMPUS_NAMES = {"196784202": "Hartford Hospital Institute of Living"}
IRS_FILE = "ct/partners/ct_irs_exempt_organizations_bmf_2026_04.csv"
ZCTA_FILE = "ct/reference/ct_zcta_2010_centroids.csv"
SURVEY_INSTRUMENT = "SYNTHETIC - assetmap demo survey (not real families)"


# --------------------------------------------------------------------------------------------
# helpers


def _write_geojson(gdf: gpd.GeoDataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    pyogrio.write_dataframe(gdf, path, driver="GeoJSON", layer_options=GEOJSON_OPTIONS)


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)


def _s(v: object) -> str | None:
    """Clean text or None for empty/NaN."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    if v is pd.NA or v is pd.NaT:
        return None
    t = re.sub(r"\s+", " ", str(v)).strip()
    return t or None


def _zip5(v: object) -> str | None:
    t = _s(v)
    if not t:
        return None
    digits = re.sub(r"\D", "", t.split("-")[0])
    if not digits:
        return None
    return digits.zfill(5)[:5]


_KEEP_UPPER = {
    "YMCA",
    "YWCA",
    "CRT",
    "LLC",
    "CT",
    "II",
    "III",
    "IV",
    "ABC",
    "ABCD",
    "USA",
    "US",
    "VA",
    "HQ",
    "ECE",
    "RESC",
    "CES",
    "ACES",
    "EASTCONN",
    "LEARN",
    "SCSU",
    "CCSU",
    "ECSU",
    "WCSU",
    "UCONN",
    "AFB",
    "PO",
    "NE",
    "NW",
    "SE",
    "SW",
    "TEAM",
    "HRA",
    "NAEYC",
    "CCMC",
    "PC",
    "CDC",
    "AIDS",
    "HIV",
    "KIDS",
    "CARE",
    "ESL",
    "STEM",
    "MSB",
    "LLP",
    "DBA",
    "YNHH",
    "ST.",
}
_SPECIAL = {"UCONN": "UConn", "MCDONALD": "McDonald", "INC": "Inc", "INC.": "Inc.", "CO": "Co"}
#: Street / unit abbreviations: title case even though they look like acronyms.
_ABBREV = {
    "ST", "RD", "RM", "DR", "BLVD", "HWY", "PKWY", "TPKE", "STE", "LN", "PL", "SQ", "FL",
    "APT", "BLDG", "CTR", "MT", "FT", "TER", "CIR", "HTS", "JCT", "XING", "PK", "PR", "SCH",
}  # fmt: skip
_SMALL = {"a", "an", "and", "at", "by", "de", "for", "in", "of", "on", "or", "the", "to"}
_ACRONYM_EXCEPT = {"KIDS", "CARE", "TEAM", "LEARN"}  # look like acronyms but are words


def smart_title(text: object, *, address: bool = False) -> str | None:
    """Title-case an ALL-CAPS source name, keeping acronyms (YMCA, CRT, II) upper case.

    With ``address=True`` "CT" is Court (title case), not Connecticut.
    """
    t = _s(text)
    if t is None:
        return None
    if t != t.upper():  # already mixed case: leave it
        return t
    words = t.split(" ")
    out = []
    for i, w in enumerate(words):
        core = w.strip("(),-/&'\".")
        up = core.upper()
        if up in _ABBREV or (address and up == "CT"):
            out.append(re.sub(r"[A-Za-z]+", lambda m: m.group(0).capitalize(), w))
        elif up in _SPECIAL:
            out.append(w.replace(core, _SPECIAL[up]))
        elif up in _KEEP_UPPER and up not in _ACRONYM_EXCEPT:
            out.append(w)
        elif re.fullmatch(r"[A-Z](\.[A-Z])*\.?", core):
            out.append(w)  # initials: "H.", "M.E."
        elif re.fullmatch(r"[B-DF-HJ-NP-TV-XZ]{2,4}", core):
            out.append(w)  # no vowel: an acronym (CLC, CRT)
        elif re.fullmatch(r"\d+[A-Z]*", core):
            out.append(w.lower() if re.fullmatch(r"\d+(ST|ND|RD|TH)", core) else w)
        elif i > 0 and core.lower() in _SMALL:
            out.append(w.lower())
        else:
            out.append(re.sub(r"[A-Za-z]+", lambda m: m.group(0).capitalize(), w))
    res = " ".join(out)
    res = re.sub(r"\bMc([a-z])", lambda m: "Mc" + m.group(1).upper(), res)
    res = re.sub(r"'S\b", "'s", res)
    return res


def _date_text(v: object) -> str | None:
    if v is None:
        return None
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return pd.Timestamp(v).date().isoformat()


# --------------------------------------------------------------------------------------------
# boundaries


def build_towns(shared: Path) -> gpd.GeoDataFrame:
    """169 towns, coverage-simplified (shared edges stay shared), EPSG:4326."""
    towns = gpd.read_file(shared / "ct/boundaries/ct_towns.geojson", engine="pyogrio")
    towns = towns.sort_values("ct_town_no").reset_index(drop=True)
    geom = shapely.coverage_simplify(towns.geometry.values, tolerance=SIMPLIFY_DEG)
    geom = shapely.make_valid(geom)
    out = gpd.GeoDataFrame(
        {
            "boundary_id": towns["boundary_id"].astype(str),
            "name": towns["name"].astype(str),
            "kind": "town",
            "county": towns["county"].astype(str),
            "planning_region": towns["planning_region"].astype(str),
            "geoid": towns["geoid"].astype(str),
            "geoid_planning_region": towns["geoid_planning_region"].astype(str),
            "ct_town_no": towns["ct_town_no"].astype(int),
        },
        geometry=gpd.GeoSeries(geom, crs=CRS),
        crs=CRS,
    )
    return out


def build_districts(shared: Path, towns: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """School districts = the (simplified) member towns dissolved, so edges match the towns."""
    src = gpd.read_file(shared / "ct/boundaries/ct_school_districts.geojson", engine="pyogrio")
    by_town = dict(zip(towns["name"], towns.geometry, strict=True))
    geoms = []
    members = []
    for row in src.itertuples(index=False):
        names = [n.strip() for n in str(row.member_towns).split(";") if n.strip()]
        missing = [n for n in names if n not in by_town]
        if missing:
            raise SystemExit(f"district {row.name}: member towns not in towns file: {missing}")
        members.append(";".join(names))
        geoms.append(shapely.make_valid(shapely.union_all([by_town[n] for n in names])))
    out = gpd.GeoDataFrame(
        {
            "boundary_id": src["boundary_id"].astype(str),
            "name": src["name"].astype(str),
            "kind": "district",
            "district_type": src["district_type"].astype(str),
            "ct_district_code": src["ct_district_code"].map(_s),
            "nces_st_leaid": src["nces_st_leaid"].map(_s),
            "member_towns": members,
            "n_member_towns": src["n_member_towns"].astype(int),
            "regional_grade_levels": src["regional_grade_levels"].map(_s),
            "regional_district": src["regional_district"].map(_s),
            "regional_district_grades": src["regional_district_grades"].map(_s),
        },
        geometry=gpd.GeoSeries(geoms, crs=CRS),
        crs=CRS,
    )
    return out.sort_values("boundary_id").reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# schools


def build_schools(shared: Path) -> gpd.GeoDataFrame:
    """The 1,013 public schools with EL counts (EdSight 2016-17) joined by org code."""
    src = gpd.read_file(shared / "ct/schools/ct_public_schools_2023.geojson", engine="pyogrio")
    el = pd.read_csv(
        shared / "ct/demographics/ct_school_english_learners_2016_17.csv",
        dtype={"school_org_code": str, "district_org_code": str},
    )
    el = el.drop_duplicates("school_org_code").set_index("school_org_code")
    sid = src["school_id"].astype(str).str.zfill(7)
    district_id = [_s(v) for v in src["district_id"]]
    # Charter / technical / endowed schools carry no district code in the directory; the
    # EdSight file names their (single-school) district: take it from there.
    fill = sid.map(el["district_org_code"])
    district_id = [d if d else _s(f) for d, f in zip(district_id, fill, strict=True)]

    def _count(col: str) -> list[object]:
        vals = sid.map(el[col])
        return [None if pd.isna(v) else int(v) for v in vals]

    out = gpd.GeoDataFrame(
        {
            "school_id": sid,
            "name": src["name"].map(_s),
            "district_id": district_id,
            "district_name": src["district_name"].map(_s),
            "town": src["town"].map(_s),
            "address": src["address"].map(_s),
            "grades": src["grades"].map(_s),
            "org_type": src["org_type"].map(_s),
            "zip": src["zip"].map(_zip5),
            "phone": src["phone"].map(_s),
            "town_from_point": src["town_from_point"].map(_s),
            "nces_st_schid": src["nces_st_schid"].map(_s),
            "interdistrict_magnet": src["interdistrict_magnet"].map(lambda v: _s(v) == "1"),
            "el_students": pd.array(_count("el_students"), dtype="Int64"),
            "total_students": pd.array(_count("total_students"), dtype="Int64"),
            "el_school_year": ["2016-17" if s in el.index else None for s in sid],
        },
        geometry=gpd.GeoSeries(
            [Point(round(p.x, 6), round(p.y, 6)) for p in src.geometry], crs=CRS
        ),
        crs=CRS,
    )
    assert list(out.columns[: len(SCHOOL_COLUMNS) - 1]) == SCHOOL_COLUMNS[:-1]
    return out.sort_values("school_id").reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# real partners


def _partner_frame(rows: list[dict], geoms: list[Point]) -> gpd.GeoDataFrame:
    gdf = gpd.GeoDataFrame(rows, geometry=gpd.GeoSeries(geoms, crs=CRS), crs=CRS)
    return conform_partners(gdf)


def _point(lon: float, lat: float) -> Point:
    return Point(round(float(lon), 6), round(float(lat), 6))


def _defaults(tax, category: str) -> list[str]:
    return list(tax.categories[category].default_services)


def real_partners(shared: Path, tax) -> tuple[gpd.GeoDataFrame, dict[str, int]]:
    """Every layer in shared/data/ct/partners as canonical Partners."""
    rows: list[dict] = []
    geoms: list[Point] = []
    counts: dict[str, int] = {}
    pdir = shared / "ct/partners"

    def add(row: dict, lon: float, lat: float, *, explicit: list[str] | None = None) -> None:
        inferred = _defaults(tax, row["category"])
        explicit = explicit or []
        row["services"] = list(dict.fromkeys(explicit + inferred))
        row["services_inferred"] = [s for s in inferred if s not in explicit]
        row.setdefault("languages", [])
        row.setdefault("delivery", ["in_person"])
        row.setdefault("state", "CT")
        row.setdefault("mou_status", "none")
        row.setdefault("last_verified", None)
        row["example"] = False
        row["published"] = True
        row["sensitive"] = False
        row["geocode_source"] = "source"
        row["geocode_quality"] = "exact"
        rows.append(row)
        geoms.append(_point(lon, lat))

    # hospitals (HIFLD)
    hosp = gpd.read_file(pdir / "ct_hospitals_hifld.geojson", engine="pyogrio")
    hosp = hosp.sort_values("hifld_id")
    for r in hosp.itertuples(index=False):
        kind = _s(r.type) or ""
        category = "behavioral_health" if kind == "PSYCHIATRIC" else "anchor_hospital"
        name = smart_title(r.name)
        if str(r.hifld_id) in HOSPITAL_CAMPUS_NAMES:  # a campus published under its parent's name
            name = HOSPITAL_CAMPUS_NAMES[str(r.hifld_id)]
        beds = None if pd.isna(r.beds) else int(r.beds)
        desc = f"{kind.title()} hospital" + (f", {beds} beds" if beds else "")
        if _s(r.trauma):
            desc += f"; trauma center {_s(r.trauma).title()}"
        add(
            {
                "partner_id": f"hifld-hosp-{r.hifld_id}",
                "name": name,
                "organization": smart_title(r.name),
                "category": category,
                "address": smart_title(r.address, address=True),
                "city": smart_title(r.city),
                "postal_code": _zip5(r.zip),
                "phone": _s(r.phone),
                "website": _s(r.website),
                "description": desc,
                "eligibility": "Military health system beneficiaries"
                if kind == "MILITARY"
                else None,
                "cost": "unknown",
                "capacity": beds,
                "source": "HIFLD Hospitals (2023 copy)",
            },
            r.lon,
            r.lat,
        )
    counts["hospitals"] = len(hosp)

    # colleges (HIFLD / IPEDS): active only (IPEDS status A = active, R = restored/active)
    col = gpd.read_file(pdir / "ct_colleges_universities_hifld.geojson", engine="pyogrio")
    kept = col[col["status"].isin(["A", "R"])].sort_values("ipeds_id")
    counts["colleges_read"] = len(col)
    for r in kept.itertuples(index=False):
        web = _s(r.website)
        if web and not web.startswith("http"):
            web = "https://" + web.rstrip("/")
        enrol = None if pd.isna(r.tot_enroll) else int(r.tot_enroll)
        add(
            {
                "partner_id": f"ipeds-{r.ipeds_id}",
                "name": smart_title(r.name),
                "organization": smart_title(_college_org(r.name, r.city)),
                "category": "anchor_college",
                "address": smart_title(r.address, address=True),
                "city": smart_title(r.city),
                "postal_code": _zip5(r.zip),
                "phone": _s(r.phone),
                "website": web,
                "description": "College or university"
                + (f"; {enrol:,} students enrolled" if enrol else ""),
                "cost": "fee",
                "capacity": None,
                "source": "HIFLD Colleges and Universities / IPEDS (c. 2018-19)",
            },
            r.lon,
            r.lat,
        )
    counts["colleges"] = len(kept)

    # public libraries (IMLS PLS FY2022, administrative entities)
    lib = gpd.read_file(pdir / "ct_public_libraries_pls_fy2022.geojson", engine="pyogrio")
    lib = lib.sort_values("libid")
    for r in lib.itertuples(index=False):
        branches = int(r.branches) if not pd.isna(r.branches) else 0
        desc = "Public library (main library of the system)"
        if branches > 0:
            desc += f"; {branches} branch(es) not listed separately"
        add(
            {
                "partner_id": f"pls-{r.libid}",
                "name": smart_title(r.name),
                "organization": smart_title(r.name),
                "category": "library",
                "address": smart_title(r.address, address=True),
                "city": smart_title(r.city),
                "postal_code": None,
                "description": desc,
                "eligibility": f"Serves a legal population of {int(r.population_served):,}"
                if not pd.isna(r.population_served)
                else None,
                "cost": "free",
                "capacity": None,
                "source": "IMLS Public Libraries Survey FY2022",
            },
            r.lon,
            r.lat,
        )
    counts["libraries"] = len(lib)

    # licensed child care centers (CT OEC via TrendCT, 2016)
    cc = gpd.read_file(pdir / "ct_child_care_centers_oec_2016.geojson", engine="pyogrio")
    cc = cc.sort_values(["license_no", "name", "address"], kind="mergesort")
    seen: Counter[str] = Counter()
    for r in cc.itertuples(index=False):
        lic = str(r.license_no).strip()
        seen[lic] += 1
        pid = f"oec-{lic}" if seen[lic] == 1 else f"oec-{lic}-{seen[lic]}"
        ages = _s(r.ages_served) or ""
        explicit = _child_care_services(ages, r.capacity_under_3)
        desc = f"{r.facility_type}; ages {ages}" if ages else str(r.facility_type)
        if r.operator_is_ymca_ywca:
            desc += "; operated by a YMCA/YWCA"
        add(
            {
                "partner_id": pid,
                "name": smart_title(r.name),
                "organization": smart_title(r.legal_operator),
                "category": "early_childhood",
                "address": smart_title(r.address, address=True),
                "city": smart_title(r.city),
                "postal_code": _zip5(r.zip),
                "phone": _s(r.phone),
                "description": desc,
                "eligibility": f"Ages {ages}" if ages else None,
                "cost": "unknown",
                "capacity": None if pd.isna(r.total_capacity) else int(r.total_capacity),
                "source": "CT OEC licensed child care (TrendCT copy, 2016)",
                "license_expiration": _date_text(r.license_expiration),
            },
            r.lon,
            r.lat,
            explicit=explicit,
        )
    counts["child_care"] = len(cc)
    frame = _partner_frame(rows, geoms)
    layer = frame["partner_id"].str.extract(r"^(hifld-hosp|ipeds|pls|oec)-")[0]
    names = {
        "hifld-hosp": "hospitals",
        "ipeds": "colleges",
        "pls": "libraries",
        "oec": "child_care",
    }
    frame["source_id"] = [
        pid[len(pre) + 1 :] for pid, pre in zip(frame["partner_id"], layer, strict=True)
    ]
    frame["as_of"] = [LAYER_AS_OF[names[pre]] for pre in layer]
    return frame, counts


def merge_duplicates(partners: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, list[list[str]]]:
    """Merge the same site published twice across (or within) the exact-placed layers.

    ``assetmap.dedupe`` with its default thresholds over hospitals, colleges, libraries and
    child-care rows that repeat a licence number; the first member (input order) keeps its id
    and fields, list fields are united and ``merged_ids`` names every member. Distinct child-care
    licences at one address (separate classrooms/programs with their own capacity) stay apart.
    """
    pid = partners["partner_id"]
    lic = pid.str.replace(r"-\d+$", "", regex=True)
    oec = pid.str.startswith("oec-")
    pick = ~oec | (oec & lic.duplicated(keep=False))
    subset = partners[pick].copy()
    subset["_order"] = np.flatnonzero(pick.to_numpy())
    res = dedupe(subset)
    out = res.partners
    rest = partners[~pick].copy()
    rest["_order"] = np.flatnonzero((~pick).to_numpy())
    rest["provenance"] = None
    out = pd.concat([out, rest], ignore_index=True).sort_values("_order", kind="mergesort")
    out = out.drop(columns=["_order"]).reset_index(drop=True)
    merged: list[list[str]] = []
    ids: list[str | None] = []
    for prov in out["provenance"]:
        members = list(prov.get("_merged", [])) if isinstance(prov, dict) else []
        if members:
            merged.append(members)
        ids.append(";".join(members) if members else None)
    out = out.drop(columns=["provenance"])
    out["merged_ids"] = ids
    return gpd.GeoDataFrame(out, geometry="geometry", crs=CRS), merged


def zcta_points(shared: Path) -> dict[str, tuple[float, float]]:
    """ZIP (ZCTA5) -> (lat, lon) internal point, 2010 Census Gazetteer."""
    z = pd.read_csv(shared / ZCTA_FILE, dtype={"ZCTA5": str})
    return {str(r.ZCTA5).zfill(5): (float(r.lat), float(r.lon)) for r in z.itertuples()}


def irs_partners(
    shared: Path, tax, centres: dict[str, tuple[float, float]]
) -> tuple[gpd.GeoDataFrame, dict[str, object]]:
    """Community nonprofits from the IRS Business Master File, through the NTEE crosswalk.

    Placed at the ZIP area's internal point (``geocode_quality = "zip"``), or at the town's
    centre (``"town"``) when the ZIP has no ZCTA (PO-box ZIPs) and the postal city is a town;
    rows that can be placed neither way are counted and left out.
    """
    xw = load_ntee_crosswalk()
    bmf = pd.read_csv(shared / IRS_FILE, dtype=str, keep_default_na=False)
    bmf = bmf.sort_values("EIN", kind="mergesort")
    zpts = zcta_points(shared)
    town_key = {t.upper(): t for t in centres}
    rows: list[dict] = []
    geoms: list[Point] = []
    excluded: Counter[str] = Counter()
    unplaced = 0
    for r in bmf.to_dict("records"):
        v = xw.classify_row(r)
        if not v.included:
            excluded[v.reason] += 1
            continue
        z5 = _zip5(r["ZIP"])
        city = smart_title(r["CITY"])
        if z5 in zpts:
            lat, lon = zpts[z5]
            quality, how = "zip", "zip_centroid"
        elif str(r["CITY"]).strip().upper() in town_key:
            lat, lon = centres[town_key[str(r["CITY"]).strip().upper()]]
            quality, how = "town", "town_centroid"
        else:
            unplaced += 1
            continue
        inferred = [] if v.services else _defaults(tax, v.category)
        services = list(v.services) or inferred
        what = v.label or "Church"
        ntee = f"NTEE {v.ntee}" if v.ntee else "no NTEE code; IRS foundation code 10 (church)"
        desc = f"{what} ({ntee})"
        address = smart_title(r["STREET"], address=True)
        if v.sensitive:
            address = None
            desc += "; safe-haven organization: location never shown to the public"
        rows.append(
            {
                "partner_id": f"irs-{r['EIN']}",
                "name": smart_title(r["NAME"]),
                "organization": smart_title(r["NAME"]),
                "category": v.category,
                "services": services,
                "services_inferred": inferred,
                "languages": [],
                "address": address,
                "city": city,
                "state": "CT",
                "postal_code": z5,
                "phone": None,
                "description": desc,
                "eligibility": None,
                "cost": "unknown",
                "capacity": None,
                "delivery": ["in_person"],
                "mou_status": "none",
                "last_verified": None,
                "source": "IRS Exempt Organizations Business Master File (2026-04-13)",
                "example": False,
                "published": True,
                "sensitive": bool(v.sensitive),
                "geocode_source": how,
                "geocode_quality": quality,
                "source_id": r["EIN"],
                "as_of": LAYER_AS_OF["irs_bmf"],
            }
        )
        geoms.append(_point(lon, lat))
    stats = {
        "irs_read": len(bmf),
        "irs_kept": len(rows),
        "irs_unplaced": unplaced,
        "irs_zip_placed": sum(r["geocode_quality"] == "zip" for r in rows),
        "irs_sensitive": sum(r["sensitive"] for r in rows),
        "irs_excluded_top": dict(excluded.most_common(8)),
    }
    return _partner_frame(rows, geoms), stats


def _college_org(name: object, city: object) -> str | None:
    """'UNIVERSITY OF CONNECTICUT-HARTFORD CAMPUS' -> 'UNIVERSITY OF CONNECTICUT'."""
    t = _s(name)
    if not t or "-" not in t:
        return t
    head, tail = t.rsplit("-", 1)
    tail = tail.strip()
    if not tail or "CAMPUS" in tail.upper() or tail.upper() == str(city or "").upper():
        return head.strip() or t
    return t


def _ages_months(text: str) -> tuple[float, float] | None:
    """'1 year-12 years' / '6 weeks-5 years' -> (low, high) in years."""
    parts = re.findall(r"(\d+)\s*(week|month|year)", text.lower())
    if len(parts) < 2:
        return None
    unit = {"week": 1 / 52, "month": 1 / 12, "year": 1.0}
    lo = int(parts[0][0]) * unit[parts[0][1]]
    hi = int(parts[-1][0]) * unit[parts[-1][1]]
    return lo, hi


def _child_care_services(ages: str, under3: object) -> list[str]:
    """Sub-services read from the licence's ages (source data, so not 'inferred')."""
    rng = _ages_months(ages)
    out: list[str] = []
    u3 = 0 if under3 is None or pd.isna(under3) else float(under3)
    if (rng and rng[0] < 3) or u3 > 0:
        out.append("child_care.infant_toddler")
    if rng is None or (rng[0] <= 5 and rng[1] >= 3):
        out.append("child_care.preschool")
    if rng and rng[1] >= 7:
        out.append("out_of_school.afterschool")
    return out


# --------------------------------------------------------------------------------------------
# gazetteer


def town_centres(towns: gpd.GeoDataFrame) -> dict[str, tuple[float, float]]:
    """Town -> (lat, lon): polygon centroid in a metric CRS, or a point on the surface
    when the centroid falls outside (crescent-shaped towns)."""
    m = towns.to_crs(METRIC_CRS)
    out: dict[str, tuple[float, float]] = {}
    for name, geom in zip(m["name"], m.geometry, strict=True):
        c = geom.centroid
        if not geom.contains(c):
            c = geom.representative_point()
        p = gpd.GeoSeries([c], crs=METRIC_CRS).to_crs(CRS).iloc[0]
        out[name] = (round(p.y, 6), round(p.x, 6))
    return out


def _clean_place(name: str) -> str:
    t = re.sub(r"\s*\([^)]*\)\s*$", "", name)
    t = re.sub(r"\s+(CDP|city|borough|town)$", "", t)
    return t.strip()


def build_gazetteer(
    shared: Path,
    towns: gpd.GeoDataFrame,
    point_sets: list[pd.DataFrame],
) -> pd.DataFrame:
    """Towns, villages (Census places) and ZIPs with a centre point each.

    ``point_sets`` are frames with columns city, zip, town, lat, lon (real source points:
    schools, child care, hospitals, colleges) used to place villages and ZIPs better than
    the town centre.
    """
    centres = town_centres(towns)
    pts = pd.concat(point_sets, ignore_index=True)
    pts["city_key"] = pts["city"].fillna("").str.upper().str.strip()
    rows = []
    for name in sorted(centres):
        lat, lon = centres[name]
        rows.append(
            {
                "name": name,
                "kind": "town",
                "town": name,
                "zip": None,
                "lat": lat,
                "lon": lon,
                "quality": "town_centroid",
                "n_points": None,
            }
        )
    town_names = set(centres)

    vil = pd.read_csv(shared / "ct/reference/ct_village_to_town.csv")
    vil = vil.sort_values(["place_geoid", "overlap_pop", "town"], ascending=[True, False, True])
    vil = vil.drop_duplicates("place_geoid")  # a village spanning towns: its main town
    for r in vil.sort_values(["town", "place"]).itertuples(index=False):
        place = _clean_place(r.place)
        if place == r.town or place in town_names:
            continue  # the town's own city/borough: the town row covers it
        sel = pts[(pts["city_key"] == place.upper()) & (pts["town"] == r.town)]
        if len(sel) >= 2:
            lat, lon = float(sel["lat"].median()), float(sel["lon"].median())
            quality, n = "village_postal_points", len(sel)
        else:
            lat, lon = centres[r.town]
            quality, n = "village_town_centroid", None
        rows.append(
            {
                "name": place,
                "kind": "village",
                "town": r.town,
                "zip": None,
                "lat": round(lat, 6),
                "lon": round(lon, 6),
                "quality": quality,
                "n_points": n,
            }
        )

    z = pd.read_csv(shared / "ct/reference/ct_zip_to_town.csv", dtype={"zip": str})
    z["zip"] = z["zip"].str.zfill(5)
    z = z.sort_values(["zip", "pct_of_zip_pop", "town"], ascending=[True, False, True])
    main = z.drop_duplicates("zip")
    for r in main.itertuples(index=False):
        sel = pts[(pts["zip"] == r.zip)]
        if len(sel) >= 3:
            lat, lon = float(sel["lat"].median()), float(sel["lon"].median())
            quality, n = "zip_points_median", len(sel)
        else:
            lat, lon = centres[r.town]
            quality, n = "zip_main_town_centroid", None
        rows.append(
            {
                "name": r.zip,
                "kind": "zip",
                "town": r.town,
                "zip": r.zip,
                "lat": round(lat, 6),
                "lon": round(lon, 6),
                "quality": quality,
                "n_points": n,
            }
        )
    out = pd.DataFrame(rows)
    out["n_points"] = out["n_points"].astype("Int64")
    return out


# --------------------------------------------------------------------------------------------
# SYNTHETIC family survey

SURVEY_DISTRICTS = {  # district org code -> town whose home-language mix applies
    "0640011": "Hartford",
    "0890011": "New Britain",
    "0340011": "Danbury",
    "1630011": "Windham",
}
SURVEY_SCHOOLS_PER_DISTRICT = 8
SURVEY_WINDOW = (dt.date(2026, 9, 14), dt.date(2026, 10, 30))
SURVEY_COLUMNS = [
    "response_id",
    "school_id",
    "school_name",
    "district_id",
    "submitted_on",
    "survey_language",
    "home_language",
    "preferred_language",
    "interpreter_needed",
    "preferred_contact",
    "needs",
    "top_need",
    "barriers",
    "best_times",
    "grades",
    "household_zip",
    "respondent_role",
    "consent_to_contact",
    "instrument",
]

#: ACS language group -> specific languages (weights). Groups follow the ACS B16004
#: classification: Haitian Creole, Portuguese, Polish, Albanian, Slavic languages and the
#: Indo-Iranian languages (Hindi, Urdu, Bengali, Nepali, Gujarati, Pashto, Dari) are
#: "other Indo-European"; Chinese, Vietnamese, Karen are "Asian and Pacific Island";
#: Arabic, Somali, Tigrinya, Swahili are "other". Weights are plausible CT proportions
#: (DOMAIN.md §3 tiers: Portuguese, Haitian Creole, Polish, Albanian lead the group), NOT
#: measured: no public per-language table exists for CT towns (SOURCES.md "Not found").
GROUP_LANGUAGES: dict[str, dict[str, float]] = {
    "other_indo_european": {
        "pt": 30,
        "ht": 16,
        "pl": 14,
        "sq": 8,
        "ru": 5,
        "uk": 5,
        "fr": 4,
        "bs": 3,
        "it": 3,
        "hi": 3,
        "ur": 3,
        "bn": 3,
        "ps": 3,
        "prs": 3,
        "ne": 2,
        "gu": 2,
        "kea": 1,
    },
    "asian_pacific_island": {"zh": 55, "vi": 30, "ksw": 15},
    "other": {"ar": 60, "so": 15, "ti": 10, "sw": 10, "tw": 5},
}
#: Town adjustments (multipliers) reflecting well-known local communities.
TOWN_LANGUAGE_TWEAKS: dict[str, dict[str, float]] = {
    "Hartford": {
        "ht": 2.5,
        "bs": 4,
        "ne": 4,
        "ksw": 3,
        "so": 2,
        "ps": 3,
        "prs": 3,
        "pl": 1.5,
        "pt": 0.6,
    },
    "New Britain": {"pl": 5, "uk": 2, "ar": 1.5, "sq": 1.5, "pt": 0.4},
    "Danbury": {"pt": 4, "ht": 0.6, "sq": 0.5, "pl": 0.5},
    "Windham": {"pt": 0.5, "zh": 0.7},
}
#: Messy free-text answers per language (what families actually write).
LANGUAGE_ANSWERS: dict[str, list[str]] = {
    "en": ["English", "English", "English", "English", "english", "ENGLISH", "Eng"],
    "es": [
        "Spanish",
        "español",
        "Español",
        "Espanol",
        "spanish",
        "SPANISH",
        "Español ",
        "Castellano",
    ],
    "pt": ["Portuguese", "Português", "Portuguese (Brazil)", "portugues", "Brazilian Portuguese"],
    "ht": ["Kreyol", "Kreyòl ayisyen", "Haitian Creole", "Kreyòl", "Haitian", "Creole"],
    "pl": ["Polski", "Polish", "polish", "polski"],
    "sq": ["Albanian", "Shqip", "albanian"],
    "ru": ["Russian", "русский"],
    "uk": ["Ukrainian", "українська"],
    "fr": ["French", "Français"],
    "bs": ["Bosnian", "Bosanski"],
    "it": ["Italian", "italiano"],
    "hi": ["Hindi"],
    "ur": ["Urdu", "اردو"],
    "bn": ["Bengali", "Bangla"],
    "ps": ["Pashto", "پښتو", "Pushto"],
    "prs": ["Dari", "دری", "Afghan Persian"],
    "ne": ["Nepali", "नेपाली", "Nepalese"],
    "gu": ["Gujarati"],
    "kea": ["Cape Verdean Creole", "Kriolu"],
    "zh": ["Mandarin", "中文", "Chinese", "Cantonese", "普通话"],
    "vi": ["Vietnamese", "Tiếng Việt"],
    "ksw": ["Karen"],
    "ar": ["Arabic", "عربي", "العربية", "Arabe"],
    "so": ["Somali", "Soomaali"],
    "ti": ["Tigrinya"],
    "sw": ["Swahili"],
    "tw": ["Twi"],
}
SURVEY_FORM_LANGUAGES = {"en", "es", "pt", "ht", "ar", "zh", "pl"}
YES = {"en": "yes", "es": "sí", "pt": "sim", "ht": "wi", "pl": "tak"}
NO = {"en": "no", "es": "no", "pt": "não", "ht": "non", "pl": "nie"}

#: Need probabilities (top level) for an English-speaking family; language groups shift them.
NEED_BASE: dict[str, float] = {
    "food": 0.16,
    "housing": 0.12,
    "goods": 0.10,
    "health": 0.10,
    "mental_health": 0.14,
    "child_care": 0.12,
    "transportation": 0.10,
    "technology": 0.10,
    "adult_ed": 0.05,
    "employment": 0.10,
    "financial": 0.10,
    "legal": 0.03,
    "disability": 0.10,
    "out_of_school": 0.28,
    "tutoring": 0.26,
    "family_leadership": 0.08,
    "language_access": 0.01,
    "safety": 0.04,
}
NEED_SHIFT: dict[str, dict[str, float]] = {
    # newcomer / limited-English families: ESL, interpreting, immigration help, insurance
    "non_english": {
        "adult_ed": 0.45,
        "language_access": 0.35,
        "legal": 0.12,
        "health": 0.20,
        "employment": 0.20,
        "food": 0.24,
        "housing": 0.18,
        "technology": 0.16,
        "financial": 0.14,
    },
    # recent refugee arrivals: housing, jobs, transport, goods, immigration
    "refugee": {
        "housing": 0.38,
        "employment": 0.38,
        "transportation": 0.28,
        "goods": 0.28,
        "legal": 0.40,
        "adult_ed": 0.55,
        "language_access": 0.45,
        "mental_health": 0.18,
    },
}
REFUGEE_LANGS = {"ps", "prs", "so", "ksw", "ne", "uk", "ti", "sw"}
#: Free-text needs some families type instead of ticking a box (a few unrecognised on purpose).
NEED_FREE_TEXT: dict[str, list[str]] = {
    "food": ["food pantry", "comida"],
    "adult_ed": [
        "English classes",
        "clases de ingles",
        "kou angle",
        "aulas de inglês",
        "lekcje angielskiego",
        "GED",
    ],
    "housing": ["rent help"],
    "legal": ["immigration help", "lawyer"],
    "health": ["dentist", "health insurance"],
    "tutoring": ["homework help"],
    "goods": ["diapers"],
    "employment": ["trabajo", "job training"],
    "out_of_school": ["summer camp", "after school"],
    "language_access": ["interpreter"],
}
#: Answers no taxonomy synonym matches (about 1 % of responses): the reader must report
#: them, not drop the row.
NEED_UNRECOGNISED = ["after school program", "help with the landlord", "winter coats"]
BARRIER_BASE = {
    "work_schedule": 0.45,
    "transportation": 0.22,
    "child_care": 0.18,
    "language": 0.03,
    "cost": 0.15,
    "internet": 0.08,
    "not_informed": 0.25,
    "not_welcome": 0.05,
    "accessibility": 0.03,
    "immigration_concerns": 0.0,
}


def _weighted(rng: random.Random, weights: dict[str, float]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _town_language_model(summary: pd.DataFrame, town: str) -> tuple[float, dict[str, float]]:
    """(share of children 5-17 speaking a language other than English, language weights)."""
    row = summary.loc[summary["town"] == town].iloc[0]
    total = float(row["age5_17_total"])
    non_en = 1.0 - float(row["age5_17_english_only"]) / total
    weights: dict[str, float] = {"es": float(row["age5_17_spanish"])}
    tweaks = TOWN_LANGUAGE_TWEAKS.get(town, {})
    for group, langs in GROUP_LANGUAGES.items():
        speakers = float(row[f"age5_17_{group}"])
        adj = {c: w * tweaks.get(c, 1.0) for c, w in langs.items()}
        tot = sum(adj.values())
        for c, w in adj.items():
            weights[c] = weights.get(c, 0.0) + speakers * w / tot
    return non_en, weights


def _grade_label(g: str) -> str:
    return {"KG": "K", "PK": "PK"}.get(g, g.lstrip("0") or "0")


def build_survey(shared: Path, ct: Path, schools: gpd.GeoDataFrame) -> dict[str, object]:
    """Write survey_synthetic.csv and survey_synthetic_aggregated.csv (SYNTHETIC)."""
    tax = load_taxonomy()
    langs = load_languages()
    rng = random.Random(SEED + 1)
    summary = pd.read_csv(
        shared / "ct/demographics/ct_town_home_language_summary_acs2016_2020.csv",
        dtype={"geoid": str},
    )
    z2t = pd.read_csv(shared / "ct/reference/ct_zip_to_town.csv", dtype={"zip": str})
    z2t["zip"] = z2t["zip"].str.zfill(5)

    chosen = []
    for did, town in SURVEY_DISTRICTS.items():
        s = schools[(schools["district_id"] == did) & schools["el_students"].notna()].copy()
        s["el_share"] = s["el_students"].astype(float) / s["total_students"].astype(float)
        s = s.sort_values(["el_students", "school_id"], ascending=[False, True])
        s = s.head(SURVEY_SCHOOLS_PER_DISTRICT)
        s["lang_town"] = town
        chosen.append(s)
    sel = pd.concat(chosen, ignore_index=True)
    # response counts: 12-25 % of enrolment, 40..150; two tiny schools exercise suppression
    n_resp = []
    for r in sel.itertuples(index=False):
        n = int(round(float(r.total_students) * rng.uniform(0.12, 0.25)))
        n_resp.append(max(40, min(150, n)))
    sel["n_responses"] = n_resp
    last_windham = sel.index[sel["lang_town"] == "Windham"][-1]
    last_nb = sel.index[sel["lang_town"] == "New Britain"][-1]
    sel.loc[last_windham, "n_responses"] = 3
    sel.loc[last_nb, "n_responses"] = 14

    needs_top = tax.top_needs
    rows = []
    for r in sel.itertuples(index=False):
        non_en_town, weights = _town_language_model(summary, r.lang_town)
        p_non_en = min(0.92, max(0.05, float(r.el_share) + 0.5 * non_en_town))
        zips = z2t[z2t["town"] == r.lang_town]
        zip_w = dict(zip(zips["zip"], zips["inter_pop"].astype(float), strict=True))
        grades = [g for g in str(r.grades or "").split() if g]
        days = (SURVEY_WINDOW[1] - SURVEY_WINDOW[0]).days
        for i in range(int(r.n_responses)):
            rows.append(
                _one_response(rng, tax, r, i, p_non_en, weights, zip_w, grades, days, needs_top)
            )
    survey = pd.DataFrame(rows, columns=SURVEY_COLUMNS)
    survey = survey.sort_values(["school_id", "response_id"]).reset_index(drop=True)
    _write_csv(survey, ct / "survey_synthetic.csv")

    # the "already aggregated" form: families per school x need x primary home language,
    # plus need='total' rows (families per school x language)
    agg: Counter[tuple[str, str, str]] = Counter()
    for r in survey.itertuples(index=False):
        codes, _unknown = langs.normalize_list(r.home_language)
        lang = codes[0] if codes else "und"
        agg[(r.school_id, "total", lang)] += 1
        need_codes, _ = tax.normalize_needs(r.needs)
        for top in dict.fromkeys(tax.needs[c].top for c in need_codes):
            agg[(r.school_id, top, lang)] += 1
    order = {n: i for i, n in enumerate(["total", *needs_top])}
    agg_rows = sorted(agg.items(), key=lambda kv: (kv[0][0], order[kv[0][1]], kv[0][2]))
    agg_df = pd.DataFrame(
        [{"school_id": s, "need": n, "language": lg, "count": c} for (s, n, lg), c in agg_rows]
    )
    _write_csv(agg_df, ct / "survey_synthetic_aggregated.csv")
    return {
        "survey_responses": len(survey),
        "survey_schools": survey["school_id"].nunique(),
        "survey_districts": survey["district_id"].nunique(),
        "survey_aggregated_rows": len(agg_df),
    }


def _one_response(rng, tax, r, i, p_non_en, weights, zip_w, grades, days, needs_top) -> dict:
    # --- languages
    if rng.random() < p_non_en:
        primary = _weighted(rng, weights)
    else:
        primary = "en"
    variants = LANGUAGE_ANSWERS[primary]
    answer = rng.choices(variants, weights=[3] + [1] * (len(variants) - 1))[0]
    home = [answer]
    if primary != "en" and rng.random() < 0.22:
        home.append(rng.choice(LANGUAGE_ANSWERS["en"][:3]))
    sep = rng.choice(["; ", ";", ", ", "/"]) if len(home) > 1 else ""
    home_text = sep.join(home).strip()
    form = primary if primary in SURVEY_FORM_LANGUAGES and rng.random() < 0.85 else "en"
    lep = primary != "en" and rng.random() < 0.7  # limited English in the household
    preferred = (primary if lep or rng.random() < 0.4 else "en") if primary != "en" else "en"
    if rng.random() < 0.08:
        preferred = ""  # left blank: defaults to the first home language
    interp = lep and rng.random() < 0.8
    yn_lang = form if form in YES else "en"
    interp_text = (YES if interp else NO)[yn_lang]
    if rng.random() < 0.1:
        interp_text = interp_text.capitalize()
    # --- contact
    contact_w = {
        "phone": 0.45,
        "text": 0.5,
        "email": 0.3,
        "app": 0.2,
        "paper": 0.1,
        "in_person": 0.1,
        "whatsapp": 0.05,
    }
    if primary in {"es", "pt", "ht", "ar", "ps", "prs", "kea"}:
        contact_w["whatsapp"] = 0.4
        contact_w["email"] = 0.15
    contact = [c for c, p in contact_w.items() if rng.random() < p] or ["phone"]
    # --- needs
    probs = dict(NEED_BASE)
    group = "refugee" if primary in REFUGEE_LANGS else ("non_english" if primary != "en" else "")
    if group:
        for n, p in NEED_SHIFT["non_english"].items():
            probs[n] = max(probs[n], p)
        if group == "refugee":
            for n, p in NEED_SHIFT["refugee"].items():
                probs[n] = max(probs[n], p)
        if not lep:
            probs["language_access"] *= 0.3
            probs["adult_ed"] *= 0.5
    if primary in {"es", "ht", "pt"}:
        probs["legal"] = max(probs["legal"], 0.15)
    chosen = [n for n in needs_top if rng.random() < probs[n]]
    if not chosen:
        chosen = [_weighted(rng, probs)]
    items = []
    for n in chosen:
        roll = rng.random()
        if n in NEED_FREE_TEXT and roll < 0.12:
            items.append(rng.choice(NEED_FREE_TEXT[n]))
        elif roll < 0.6:
            subs = [c for c, nd in tax.needs.items() if nd.parent == n]
            items.append(rng.choice(subs) if subs else n)
        else:
            items.append(n)
    if rng.random() < 0.01:
        items.append(rng.choice(NEED_UNRECOGNISED))
    top = rng.choice(chosen) if rng.random() < 0.85 else ""
    # --- barriers, times, grades, zip, role
    bprob = dict(BARRIER_BASE)
    if lep:
        bprob["language"] = 0.55
    if primary in {"es", "pt", "ht", "ps", "prs", "ar"}:
        bprob["immigration_concerns"] = 0.12
    barriers = [b for b, p in bprob.items() if rng.random() < p]
    times = [
        t
        for t, p in (
            ("weekday_morning", 0.2),
            ("weekday_day", 0.15),
            ("weekday_evening", 0.55),
            ("weekend", 0.35),
        )
        if rng.random() < p
    ] or ["weekday_evening"]
    k = 1 if rng.random() < 0.6 else 2
    g = sorted(rng.sample(grades, min(k, len(grades))), key=grades.index) if grades else []
    hz = _weighted(rng, zip_w) if zip_w and rng.random() < 0.93 else ""
    role = _weighted(rng, {"parent": 80, "guardian": 7, "grandparent": 8, "foster": 2, "other": 3})
    submitted = SURVEY_WINDOW[0] + dt.timedelta(days=rng.randint(0, days))
    return {
        "response_id": f"syn-{r.school_id}-{i + 1:04d}",
        "school_id": r.school_id,
        "school_name": r.name,
        "district_id": r.district_id,
        "submitted_on": submitted.isoformat(),
        "survey_language": form,
        "home_language": home_text,
        "preferred_language": preferred,
        "interpreter_needed": interp_text,
        "preferred_contact": ";".join(contact),
        "needs": ";".join(items),
        "top_need": top,
        "barriers": ";".join(barriers),
        "best_times": ";".join(times),
        "grades": ";".join(_grade_label(x) for x in g),
        "household_zip": hz,
        "respondent_role": role,
        "consent_to_contact": "yes" if rng.random() < 0.62 else "no",
        "instrument": SURVEY_INSTRUMENT,
    }


# --------------------------------------------------------------------------------------------
# main


def build(shared: Path, out: Path) -> dict[str, object]:
    """Build every file; return row counts."""
    tax = load_taxonomy()
    data = shared / "data"
    ct = out / "ct"
    ct.mkdir(parents=True, exist_ok=True)
    stats: dict[str, object] = {}

    towns = build_towns(data)
    _write_geojson(towns, ct / "towns.geojson")
    districts = build_districts(data, towns)
    _write_geojson(districts, ct / "districts.geojson")
    stats["towns"] = len(towns)
    stats["districts"] = len(districts)

    schools = build_schools(data)
    _write_geojson(schools, ct / "schools.geojson")
    stats["schools"] = len(schools)

    exact, counts = real_partners(data, tax)
    stats.update({f"partners_{k}": v for k, v in counts.items()})
    exact, merged = merge_duplicates(exact)
    stats["partners_merged_duplicates"] = merged
    centres = town_centres(towns)
    irs, irs_stats = irs_partners(data, tax, centres)
    stats.update(irs_stats)
    real = pd.concat([exact, irs], ignore_index=True)
    real = gpd.GeoDataFrame(real, geometry="geometry", crs=CRS)
    partners = real
    if not partners["partner_id"].is_unique:
        dup = partners.loc[partners["partner_id"].duplicated(), "partner_id"].tolist()
        raise SystemExit(f"duplicate partner ids: {dup[:5]}")
    partners["ada_accessible"] = pd.array(
        [
            None if v is None or (isinstance(v, float) and pd.isna(v)) else bool(v)
            for v in partners["ada_accessible"]
        ],
        dtype="boolean",
    )
    partners["capacity"] = pd.array(
        [None if pd.isna(v) else int(v) for v in partners["capacity"]], dtype="Int64"
    )
    extra = [c for c in partners.columns if c not in PARTNER_COLUMNS]
    partners = partners[PARTNER_COLUMNS[:-1] + extra + ["geometry"]]
    _write_geojson(lists_to_text(partners), ct / "partners.geojson")
    stats["partners"] = len(partners)

    # gazetteer: points with a postal city / ZIP from the real sources
    pts = [
        pd.DataFrame(
            {
                "city": schools["town"],
                "zip": schools["zip"],
                "town": schools["town_from_point"],
                "lat": schools.geometry.y,
                "lon": schools.geometry.x,
            }
        ),
    ]
    rp = exact  # exact placements only: IRS rows sit on ZIP points already
    pts.append(
        pd.DataFrame(
            {
                "city": rp["city"],
                "zip": rp["postal_code"],
                "town": None,
                "lat": rp.geometry.y,
                "lon": rp.geometry.x,
            }
        )
    )
    pts_all = pd.concat(pts, ignore_index=True)
    # town of each point = the town polygon it falls in
    pg = gpd.GeoDataFrame(pts_all, geometry=gpd.points_from_xy(pts_all.lon, pts_all.lat), crs=CRS)
    joined = gpd.sjoin(pg, towns[["name", "geometry"]], how="left", predicate="within")
    joined = joined[~joined.index.duplicated()]
    pts_all["town"] = joined["name"].values
    gaz = build_gazetteer(data, towns, [pts_all])
    _write_csv(gaz, ct / "gazetteer.csv")
    stats["gazetteer"] = dict(Counter(gaz["kind"]))

    stats.update(build_survey(data, ct, schools))

    return stats


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--shared",
        type=Path,
        default=ROOT.parent / "shared",
        help="the shared folder holding data/ (default: ../shared)",
    )
    ap.add_argument("--out", type=Path, default=ROOT / "data", help="output data folder")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    stats = build(args.shared.resolve(), args.out.resolve())
    for k, v in stats.items():
        log.info("%s: %s", k, v)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
