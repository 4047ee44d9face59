"""The shipped Connecticut data in data/ct/ (built by scripts/build_data.py)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd
import pytest

from assetmap import data
from assetmap.languages import load_languages
from assetmap.model import EXAMPLE_SOURCE_PREFIX, PARTNER_COLUMNS, SCHOOL_COLUMNS, is_example
from assetmap.taxonomy import load_taxonomy

ROOT = Path(__file__).resolve().parents[1]
CT = ROOT / "data" / "ct"
# Connecticut's extent (with a small margin): lon -73.73..-71.78, lat 40.95..42.06
CT_BBOX = (-73.80, 40.90, -71.70, 42.10)
SURVEY_COLUMNS = [
    "response_id", "school_id", "school_name", "district_id", "submitted_on",
    "survey_language", "home_language", "preferred_language", "interpreter_needed",
    "preferred_contact", "needs", "top_need", "barriers", "best_times", "grades",
    "household_zip", "respondent_role", "consent_to_contact", "instrument",
]  # fmt: skip


@pytest.fixture(scope="module")
def partners():
    return data.load_partners()


@pytest.fixture(scope="module")
def schools():
    return data.load_schools()


@pytest.fixture(scope="module")
def survey():
    return pd.read_csv(data.survey_path(), dtype=str, keep_default_na=False)


def _in_ct(geoms) -> pd.Series:
    x, y = geoms.x, geoms.y
    return (x > CT_BBOX[0]) & (x < CT_BBOX[2]) & (y > CT_BBOX[1]) & (y < CT_BBOX[3])


# ----------------------------------------------------------------------------- files


def test_files_exist_and_data_stays_small():
    names = [
        "partners.geojson", "schools.geojson", "towns.geojson", "districts.geojson",
        "gazetteer.csv", "survey_synthetic.csv", "survey_synthetic_aggregated.csv",
    ]  # fmt: skip
    for n in names:
        assert (CT / n).is_file(), n
    for n in ("towns.geojson", "districts.geojson", "schools.geojson", "partners.geojson"):
        assert (CT / n).stat().st_size < 3_000_000, n
    total = sum(p.stat().st_size for p in (ROOT / "data").rglob("*") if p.is_file())
    assert total < 12_000_000
    readme = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    for n in names:
        assert n in readme, f"data/README.md does not describe {n}"
    assert "SYNTHETIC" in readme and "FICTIONAL" in readme


def test_boundaries_load_and_are_valid():
    towns = data.load_towns()
    districts = data.load_districts()
    assert len(towns) == 169 and towns["name"].is_unique
    assert set(towns["kind"]) == {"town"}
    assert {"boundary_id", "name", "kind", "county", "planning_region"} <= set(towns.columns)
    assert towns.geometry.is_valid.all() and not towns.geometry.is_empty.any()
    assert len(districts) == 166 and districts["boundary_id"].is_unique
    assert set(districts["kind"]) == {"district"}
    assert set(districts["district_type"]) == {"local", "regional"}
    assert districts.geometry.is_valid.all() and not districts.geometry.is_empty.any()
    town_names = set(towns["name"])
    for members in districts["member_towns"]:
        assert set(members.split(";")) <= town_names
    hartford = districts.loc[districts["boundary_id"] == "CT-0640011"].iloc[0]
    assert hartford["member_towns"] == "Hartford"
    for g in (towns, districts):
        minx, miny, maxx, maxy = g.total_bounds
        assert minx > CT_BBOX[0] and maxx < CT_BBOX[2] and miny > CT_BBOX[1] and maxy < CT_BBOX[3]


def test_towns_tile_without_overlap():
    towns = data.load_towns().to_crs("EPSG:32618")
    # coverage simplification keeps shared edges: pairwise overlaps stay negligible
    inter = towns.sjoin(towns, predicate="overlaps")
    inter = inter[inter.index < inter["index_right"]]
    worst = 0.0
    for i, j in zip(inter.index, inter["index_right"], strict=True):
        worst = max(worst, towns.geometry[i].intersection(towns.geometry[j]).area)
    assert worst < 1.0  # square metres


# ----------------------------------------------------------------------------- schools


def test_schools(schools):
    assert len(schools) == 1013
    assert list(schools.columns[: len(SCHOOL_COLUMNS) - 1]) == SCHOOL_COLUMNS[:-1]
    assert schools["school_id"].is_unique
    assert all(re.fullmatch(r"\d{7}", s) for s in schools["school_id"])
    assert all(re.fullmatch(r"\d{7}", s) for s in schools["district_id"])
    assert schools.loc[schools["school_id"] == "0010111", "name"].iloc[0].startswith("Andover")
    zips = schools["zip"].dropna()
    assert all(re.fullmatch(r"\d{5}", z) for z in zips) and len(zips) == len(schools)
    assert _in_ct(schools.geometry).all()
    assert schools["el_students"].notna().sum() > 600
    ok = schools.dropna(subset=["el_students", "total_students"])
    assert (ok["el_students"] <= ok["total_students"]).all()


# ----------------------------------------------------------------------------- partners


def test_partners_canonical_and_unique(partners):
    assert list(partners.columns[: len(PARTNER_COLUMNS) - 1]) == PARTNER_COLUMNS[:-1]
    assert partners["partner_id"].is_unique
    assert partners.geometry.geom_type.eq("Point").all()
    assert _in_ct(partners.geometry).all()
    assert len(partners) > 1800


def test_every_category_and_service_is_in_the_taxonomy(partners):
    tax = load_taxonomy()
    assert set(partners["category"]) <= set(tax.categories)
    for services, inferred in zip(partners["services"], partners["services_inferred"], strict=True):
        assert services, "every partner serves something"
        assert set(services) <= set(tax.needs)
        assert set(inferred) <= set(services)


def test_inferred_services_are_the_category_defaults(partners):
    tax = load_taxonomy()
    real = partners[~partners["example"]]
    for cat, inferred in zip(real["category"], real["services_inferred"], strict=True):
        assert inferred == list(tax.categories[cat].default_services)
    examples = partners[partners["example"]]
    assert all(inf == [] for inf in examples["services_inferred"])


def test_every_source_layer_is_present(partners):
    real = partners[~partners["example"]]
    prefix = real["partner_id"].str.extract(r"^([a-z]+(?:-hosp)?)-")[0]
    counts = prefix.value_counts().to_dict()
    assert counts == {"oec": 1483, "pls": 190, "ipeds": 86, "hifld-hosp": 46}
    cats = real["category"].value_counts().to_dict()
    assert cats == {
        "early_childhood": 1483,
        "library": 190,
        "anchor_college": 86,
        "anchor_hospital": 41,
        "behavioral_health": 5,
    }
    assert "oec-DCCC.70134-2" in set(real["partner_id"])  # the repeated licence number


def test_real_partners_are_not_examples_and_have_no_invented_languages(partners):
    real = partners[~partners["example"]]
    assert not any(is_example(s) for s in real["source"])
    assert all(langs == [] for langs in real["languages"])
    assert set(real["geocode_quality"]) == {"exact"}
    assert real["published"].all() and not real["sensitive"].any()


def test_example_partners_are_clearly_fictional(partners):
    ex = partners[partners["example"]]
    assert 60 <= len(ex) <= 90
    assert all(s.startswith(EXAMPLE_SOURCE_PREFIX) for s in ex["source"])
    assert all(n.startswith("Example: ") and n.endswith("(fictional)") for n in ex["name"])
    assert all(re.fullmatch(r"\((860|203)\) 555-01\d\d", p) for p in ex["phone"])
    assert ex["phone"].is_unique
    assert all("(fictional" in a for a in ex["address"])
    towns = set(ex["city"])
    for t in ("Hartford", "New Britain", "Danbury", "Windham", "New Haven", "Bridgeport",
              "Waterbury", "Stamford", "Norwalk", "Meriden", "New London", "Middletown"):  # fmt: skip
        assert t in towns
    need_cats = {
        "faith", "disability_family", "health", "human_services", "youth_development",
        "family_support", "immigrant_services", "legal_aid", "adult_education",
        "behavioral_health", "recreation", "housing",
    }  # fmt: skip
    assert need_cats <= set(ex["category"])
    langs = load_languages()
    for codes in ex["languages"]:
        assert codes and set(codes) <= set(langs.languages)
    assert ex["sensitive"].sum() == 2
    dv = ex[ex["sensitive"]]
    assert set(dv["category"]) == {"housing"}
    assert all({"safety.domestic_violence", "housing.shelter"} <= set(s) for s in dv["services"])
    assert (~ex["published"]).sum() == 2
    assert set(ex["mou_status"]) == {"none", "prospective", "active", "expired"}
    verified = pd.to_datetime(ex["last_verified"])
    age = (pd.Timestamp("2026-11-15") - verified).dt.days
    assert age.min() >= 0 and age.max() <= 731 and (age > 365).sum() >= 5


def test_example_partners_are_near_their_town_centre(partners):
    gaz = data.load_gazetteer()
    towns = gaz[gaz["kind"] == "town"].set_index("name")
    ex = partners[partners["example"]]
    import numpy as np

    lat0 = towns.loc[ex["city"], "lat"].to_numpy()
    lon0 = towns.loc[ex["city"], "lon"].to_numpy()
    dy = (ex.geometry.y.to_numpy() - lat0) * 111.32
    dx = (ex.geometry.x.to_numpy() - lon0) * 111.32 * np.cos(np.radians(lat0))
    assert (np.hypot(dx, dy) <= 1.55).all()


def test_zip_codes_are_five_character_text_in_the_files():
    # read the raw files: a ZIP stored as a number would lose its leading 0
    text = (CT / "partners.geojson").read_text(encoding="utf-8")
    zips = re.findall(r'"postal_code": ("?[^,]*"?)', text)
    assert zips and all(z == "null" or re.fullmatch(r'"\d{5}"', z) for z in zips)
    assert '"postal_code": "06' in text
    with open(CT / "gazetteer.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    zip_rows = [r for r in rows if r["kind"] == "zip"]
    assert zip_rows and all(re.fullmatch(r"\d{5}", r["zip"]) for r in zip_rows)
    assert all(r["name"] == r["zip"] for r in zip_rows)


# ----------------------------------------------------------------------------- gazetteer


def test_gazetteer():
    gaz = data.load_gazetteer()
    assert list(gaz.columns[:6]) == ["name", "kind", "town", "zip", "lat", "lon"]
    assert set(gaz["kind"]) == {"town", "village", "zip"}
    towns = set(data.load_towns()["name"])
    assert set(gaz.loc[gaz["kind"] == "town", "name"]) == towns
    assert set(gaz["town"]) <= towns
    assert gaz.loc[gaz["kind"] == "zip", "zip"].is_unique
    assert gaz["lat"].between(CT_BBOX[1], CT_BBOX[3]).all()
    assert gaz["lon"].between(CT_BBOX[0], CT_BBOX[2]).all()
    will = gaz[(gaz["name"] == "Willimantic") & (gaz["kind"] == "village")]
    assert len(will) == 1 and will["town"].iloc[0] == "Windham"
    hart = gaz[(gaz["name"] == "Hartford") & (gaz["kind"] == "town")].iloc[0]
    assert abs(hart["lat"] - 41.765) < 0.03 and abs(hart["lon"] + 72.68) < 0.03
    z = gaz[gaz["name"] == "06103"].iloc[0]  # downtown Hartford
    assert z["town"] == "Hartford"


# ----------------------------------------------------------------------------- survey


def test_survey_schema_and_synthetic_marking(survey):
    assert list(survey.columns) == SURVEY_COLUMNS
    assert "SYNTHETIC" in data.survey_path().name.upper()
    assert set(survey["instrument"]) == {"SYNTHETIC - assetmap demo survey (not real families)"}
    assert survey["response_id"].is_unique
    pii_header = re.compile(
        r"name(?!$)|^name$|address|street|email|phone|birth|dob|sasid|student_?id"
    )
    for col in survey.columns:
        if col == "school_name":
            continue
        assert not pii_header.search(col), col
    blob = "\n".join(survey.drop(columns=["school_name", "instrument"]).stack().tolist())
    assert not re.search(r"[\w.+-]+@[\w-]+\.\w+", blob)  # e-mails
    assert not re.search(r"\(?\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}", blob)  # phone numbers
    assert survey["household_zip"].map(lambda z: z == "" or re.fullmatch(r"\d{5}", z)).all()
    assert pd.to_datetime(survey["submitted_on"]).between("2026-01-01", "2026-11-15").all()


def test_survey_schools_and_districts(survey, schools):
    assert set(survey["school_id"]) <= set(schools["school_id"])
    assert survey["district_id"].nunique() >= 4
    assert {"0640011", "0890011", "0340011", "1630011"} <= set(survey["district_id"])
    per_school = survey.groupby("school_id").size()
    assert 25 <= len(per_school) <= 35
    assert per_school.min() <= 5  # a tiny school exercises small-cell suppression
    assert ((per_school >= 40) & (per_school <= 150)).sum() >= len(per_school) - 2
    by_id = schools.set_index("school_id")
    for sid, did, name in (
        survey[["school_id", "district_id", "school_name"]]
        .drop_duplicates("school_id")
        .itertuples(index=False)
    ):
        assert by_id.loc[sid, "district_id"] == did
        assert by_id.loc[sid, "name"] == name


def test_survey_answers_normalise(survey):
    tax = load_taxonomy()
    langs = load_languages()
    unknown_needs = 0
    for cell in survey["needs"]:
        codes, unknown = tax.normalize_needs(cell)
        assert codes or unknown
        unknown_needs += len(unknown)
    # the free-text needs families type are recognised through taxonomy synonyms
    assert unknown_needs == 0
    for text, code in (
        ("winter coats", "goods.clothing"),
        ("after school program", "out_of_school.afterschool"),
        ("help with the landlord", "housing.tenant_rights"),
    ):
        assert tax.normalize_needs(text)[0] == [code], text
    primaries = []
    for cell in survey["home_language"]:
        codes, _ = langs.normalize_list(cell)
        primaries.append(codes[0] if codes else "und")
    counts = pd.Series(primaries).value_counts()
    assert counts.index[0] in {"en", "es"}
    assert {"es", "pt", "ar", "pl", "zh", "ht"} <= set(counts.index)
    assert 0 < counts.get("und", 0) < 20  # bare "Creole" is ambiguous on purpose
    raw = set(survey["home_language"])
    assert {"Kreyol", "Portuguese (Brazil)", "Creole"} & raw
    top = survey["top_need"][survey["top_need"] != ""]
    assert set(top) <= set(tax.top_needs)


def test_aggregated_survey_matches_the_responses(survey):
    agg = pd.read_csv(CT / "survey_synthetic_aggregated.csv", dtype={"school_id": str})
    assert list(agg.columns) == ["school_id", "need", "language", "count"]
    totals = agg[agg["need"] == "total"].groupby("school_id")["count"].sum()
    assert totals.to_dict() == survey.groupby("school_id").size().to_dict()
    tax = load_taxonomy()
    assert set(agg["need"]) - {"total"} <= set(tax.top_needs)
    assert (agg["count"] > 0).all()


def test_survey_reads_through_assetmap_needs():
    from assetmap.needs import read_survey

    responses, report = read_survey(data.survey_path(), schools=data.load_schools())
    assert not report.errors
    assert len(responses) == report.rows_read
    assert responses["synthetic"].all()
