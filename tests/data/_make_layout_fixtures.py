"""Regenerate tests/data/layouts/: a few real rows of each public layout assetmap recognises.

Run once from the repo root with the shared data next to it (never at test time):
    PYTHONPATH=$PWD .venv/bin/python tests/data/_make_layout_fixtures.py ../shared/data
Provenance of every file is in tests/data/README.md ("layouts/").
"""

from __future__ import annotations

import csv
import io
import sys
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

OUT = Path(__file__).parent / "layouts"


def _csv(name: str, frame: pd.DataFrame) -> None:
    frame.to_csv(OUT / name, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")


def imls(shared: Path) -> None:
    lib = pd.read_csv(shared / "us/us_public_libraries_pls_fy2022.csv", dtype=str)
    ct = lib[lib.state == "CT"].head(12).reset_index(drop=True)
    ae = pd.DataFrame(
        {
            "STABR": ct.state,
            "FSCSKEY": ct.libid.str.split("-").str[0],
            "LIBID": ct.libid,
            "LIBNAME": ct.name,
            "ADDRESS": ct.address,
            "CITY": ct.city,
            "C_RELATN": ct.c_relatn,
            "GEOCODE": ct.c_fscs_geocode,
            "POPU_LSA": ct.population_served,
            "BRANLIB": ct.branches,
            "LIBRARIA": ct.librarians,
            "TOTSTAFF": ct.staff,
            "VISITS": ct.visits,
            "TOTPRO": ct.programs,
            "LOCALE_ADD": ct.locale,
            "LONGITUD": ct.lon,
            "LATITUDE": ct.lat,
        }
    )
    _csv("imls_pls_ae_fy2022_ct.csv", ae)
    out = pd.DataFrame(
        {
            "STABR": ct.state,
            "FSCSKEY": ct.libid.str.split("-").str[0],
            "FSCS_SEQ": "001",
            "LIBID": ct.libid,
            "LIBNAME": ct.name,
            "ADDRESS": ct.address,
            "CITY": ct.city,
            "ZIP": "",
            "PHONE": "",
            "C_OUT_TY": ["CE"] * 11 + ["BS"],
            "HOURS": [2732, 2184, 1950, 2500, 1800, 2600, 2080, 2300, 1700, 2400, 2000, 520],
            "WKS_OPEN": 52,
            "LONGITUD": ct.lon,
            "LATITUDE": ct.lat,
        }
    )
    _csv("imls_pls_outlet_layout_ct.csv", out)


def hifld(shared: Path) -> None:
    h = pd.read_csv(shared / "us/us_hospitals_hifld.csv", dtype=str)
    h = h[h.state == "CT"].reset_index(drop=True)
    cols = {"hifld_id": "ID", "naics_code": "NAICS_CODE", "naics_desc": "NAICS_DESC"}
    cols |= {"county_fips": "COUNTYFIPS", "lat": "LATITUDE", "lon": "LONGITUDE"}
    cols |= {"phone": "TELEPHONE"}
    h = h.rename(columns=cols).rename(columns=str.upper)
    _csv("hifld_hospitals_ct.csv", h)
    c = pd.read_csv(shared / "us/us_colleges_universities_hifld.csv", dtype=str)
    c = c[c.state == "CT"].head(25).reset_index(drop=True)
    cols = {"ipeds_id": "IPEDSID", "ipeds_type": "TYPE", "level": "LEVEL_", "phone": "TELEPHONE"}
    cols |= {"lat": "LATITUDE", "lon": "LONGITUDE", "county_fips": "COUNTYFIPS"}
    c = c.rename(columns=cols).rename(columns=str.upper)
    _csv("hifld_colleges_ct.csv", c)
    cc = gpd.read_file(shared / "ct/partners/ct_child_care_centers_oec_2016.geojson")
    cc = cc[cc.facility_type == "Child Day Care Center"].head(20).reset_index(drop=True)
    digits = cc.phone.str.replace(r"\D", "", regex=True)
    child = pd.DataFrame(
        {
            "OBJECTID": range(1, len(cc) + 1),
            "ID": cc.license_no,
            "NAME": cc.name,
            "ADDRESS": cc.address,
            "CITY": cc.city,
            "STATE": cc.state,
            "ZIP": cc.zip.str[:5],
            "TELEPHONE": [f"{d}.0" if d else "" for d in digits],  # read as float upstream
            "TYPE": "CENTER BASED",
            "STATUS": "OPEN",
            "POPULATION": cc.total_capacity,
            "COUNTY": "",
            "COUNTRY": "USA",
            "LATITUDE": cc.lat.round(6),
            "LONGITUDE": cc.lon.round(6),
            "NAICS_CODE": "624410",
            "NAICS_DESC": "CHILD DAY CARE SERVICES",
            "SOURCE": "https://www.ctoec.org",
            "SOURCEDATE": "2016/07/24",
            "VAL_METHOD": "IMAGERY",
            "VAL_DATE": "2016/07/24",
            "WEBSITE": "NOT AVAILABLE",
            "CAPACITY": cc.total_capacity,
            "AGES_SERVED": cc.ages_served,
        }
    )
    _csv("hifld_child_care_layout_ct.csv", child)


def worship(shared: Path) -> None:
    bmf = pd.read_csv(shared / "ct/partners/ct_irs_exempt_organizations_bmf_2026_04.csv", dtype=str)
    z = pd.read_csv(shared / "ct/reference/ct_zcta_2010_centroids.csv", dtype=str)
    z = z.set_index("ZCTA5")
    ch = bmf[(bmf.FOUNDATION == "10") & ~bmf.STREET.str.startswith("PO BOX")].copy()
    ch["zip5"] = ch.ZIP.str[:5]
    ch = ch[ch.zip5.isin(z.index)].head(8).reset_index(drop=True)
    pow_ = pd.DataFrame(
        {
            "OBJECTID": range(1, len(ch) + 1),
            "NAME": ch.NAME,
            "ADDRESS": ch.STREET,
            "CITY": ch.CITY,
            "STATE": ch.STATE,
            "ZIP": ch.zip5,
            "TELEPHONE": "NOT AVAILABLE",
            "TYPE": "CHRISTIAN",
            "STATUS": "OPEN",
            "LATITUDE": [z.loc[k, "lat"] for k in ch.zip5],
            "LONGITUDE": [z.loc[k, "lon"] for k in ch.zip5],
            "NAICS_CODE": "813110",
            "NAICS_DESC": "RELIGIOUS ORGANIZATIONS",
            "SUBTYPE": "",
            "DENOM": "",
        }
    )
    _csv("hifld_places_of_worship_layout_ct.csv", pow_)
    sample = bmf[bmf.NTEE_CD.notna()].iloc[::400].head(40)
    churches = bmf[(bmf.FOUNDATION == "10") & bmf.NTEE_CD.isna()].head(5)
    _csv("irs_bmf_eo_ct_sample.csv", pd.concat([sample, churches]).reset_index(drop=True))


def socrata(shared: Path) -> None:
    d = pd.read_csv(shared / "ct/schools/ct_education_directory_2023.csv", dtype=str)
    d = d[d.org_type == "Public Schools"].dropna(subset=["lat"]).head(15).reset_index(drop=True)
    loc = [
        f"{a}\n{t}, CT {z}\n({la}, {lo})"
        for a, t, z, la, lo in zip(d.address, d.town, d.zip, d.lat, d.lon, strict=True)
    ]
    sch = pd.DataFrame(
        {
            "School Name": d.name,
            "Organization Code": d.org_code,
            "District Name": d.district_name,
            "District Code": d.district_org_code,
            "Grades": d.grades_offered,
            "Phone": d.phone,
            "Location 1": loc,
        }
    )
    _csv("socrata_ct_schools_location1.csv", sch)
    cc = gpd.read_file(shared / "ct/partners/ct_child_care_centers_oec_2016.geojson").head(20)
    loc = [
        f"{a}\n{c}, CT {z[:5]}\n({la:.6f}, {lo:.6f})"
        for a, c, z, la, lo in zip(cc.address, cc.city, cc.zip, cc.lat, cc.lon, strict=True)
    ]
    part = pd.DataFrame(
        {
            "Name": cc.name,
            "License Number": cc.license_no,
            "Facility Type": cc.facility_type,
            "Phone": cc.phone,
            "Total Capacity": cc.total_capacity,
            "Location 1": loc,
        }
    )
    _csv("socrata_ct_child_care_location1.csv", part)


def tiger(shared: Path) -> None:
    t = gpd.read_file(shared / "ct/boundaries/ct_towns.geojson").head(10)
    t = t.to_crs(4269)  # TIGER files are NAD83
    geom = t.geometry.simplify(0.003)
    area = t.to_crs(5070).area.round().astype("int64")
    g = gpd.GeoDataFrame(
        {
            "STATEFP20": "09",
            "COUNTYFP20": t.county_fips.str[2:],
            "COUSUBFP20": t.geoid.str[5:],
            "GEOID20": t.geoid,
            "NAME20": t["name"],
            "NAMELSAD20": t["name"] + " town",
            "LSAD20": "43",
            "ALAND20": area,
        },
        geometry=geom,
        crs=4269,
    )
    buf = io.BytesIO()
    tmp = OUT / "_tiger"
    tmp.mkdir(exist_ok=True)
    pyogrio.write_dataframe(g, tmp / "tl_2020_09_cousub.shp")
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for part in sorted(tmp.iterdir()):
            zf.write(part, part.name)
            part.unlink()
    tmp.rmdir()
    (OUT / "tl_2020_09_cousub_sample.zip").write_bytes(buf.getvalue())
    cb = g.rename(columns=lambda c: c[:-2] if c.endswith("20") else c)
    cb = cb.drop(columns=["ALAND"]).to_crs(4326)
    cb.to_file(OUT / "cb_2020_09_cousub_sample.geojson", driver="GeoJSON")
    sd = gpd.read_file(shared / "us/us_school_districts_sy2020_21.gpkg", where="state = 'CT'")
    sd = sd[sd.state == "CT"].head(8).copy()
    sd["geometry"] = sd.geometry.simplify(0.003)
    sd.to_file(OUT / "nces_school_districts_sy2020_21_ct.gpkg", layer="school_districts")


def dedupe_zip(shared: Path) -> None:
    """Schools and district offices of three towns, each placed only at its ZIP's centre."""
    d = pd.read_csv(shared / "ct/schools/ct_education_directory_2023.csv", dtype=str)
    z = pd.read_csv(shared / "ct/reference/ct_zcta_2010_centroids.csv", dtype=str).set_index(
        "ZCTA5"
    )
    d = d[d.town.isin(["Meriden", "Manchester", "Danbury"])].copy()
    d["zip5"] = d["zip"].str[:5]
    d = d[d.zip5.isin(z.index)].reset_index(drop=True)
    out = pd.DataFrame(
        {
            "partner_id": d.org_code,
            "name": d["name"],
            "city": d.town,
            "postal_code": d.zip5,
            "org_type": d.org_type,
            "lat": [z.loc[k, "lat"] for k in d.zip5],
            "lon": [z.loc[k, "lon"] for k in d.zip5],
            "geocode_quality": "zip",
        }
    )
    out.to_csv(OUT.parent / "dedupe_zip_centroid_schools.csv", index=False, lineterminator="\n")


def schools_layouts(shared: Path) -> None:
    """Real CT public schools typed into the NCES EDGE geocode and HIFLD school layouts.
    NCES ids were not available (SOURCES.md): NCESSCH/LEAID/NCESID hold the CT state codes."""
    d = pd.read_csv(shared / "ct/schools/ct_education_directory_2023.csv", dtype=str)
    d = d[d.org_type == "Public Schools"].dropna(subset=["lat"]).iloc[15:27].reset_index(drop=True)
    edge = pd.DataFrame(
        {
            "NCESSCH": d.org_code,
            "LEAID": d.district_org_code,
            "NAME": d["name"],
            "OPSTFIPS": "09",
            "STREET": d.address,
            "CITY": d.town,
            "STATE": "CT",
            "ZIP": d["zip"].str[:5],
            "STFIP": "09",
            "LAT": d.lat,
            "LON": d.lon,
        }
    )
    _csv("nces_edge_geocode_layout_ct.csv", edge)
    hifld = pd.DataFrame(
        {
            "OBJECTID": range(1, len(d) + 1),
            "NCESID": d.org_code,
            "NAME": d["name"],
            "ADDRESS": d.address,
            "CITY": d.town,
            "STATE": "CT",
            "ZIP": d["zip"].str[:5],
            "TELEPHONE": d.phone,
            "TYPE": "1",
            "STATUS": "1",
            "LATITUDE": d.lat,
            "LONGITUDE": d.lon,
            "NAICS_CODE": "611110",
            "NAICS_DESC": "ELEMENTARY AND SECONDARY SCHOOLS",
            "LEVEL_": "",
            "DISTRICTID": d.district_org_code,
        }
    )
    _csv("hifld_public_schools_layout_ct.csv", hifld)


def main() -> None:
    shared = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
    OUT.mkdir(exist_ok=True)
    imls(shared)
    hifld(shared)
    worship(shared)
    socrata(shared)
    tiger(shared)
    dedupe_zip(shared)
    schools_layouts(shared)


if __name__ == "__main__":
    main()
