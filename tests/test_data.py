"""The shipped Connecticut data in data/ct/ (built by scripts/build_data.py)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd
import pytest

from assetmap import data
from assetmap.languages import load_languages
from assetmap.model import PARTNER_COLUMNS, is_example
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
    for n in ("towns.geojson", "districts.geojson", "schools.geojson"):
        assert (CT / n).stat().st_size < 3_000_000, n
    # 7,352 real partners at about 1 kB each (the IRS nonprofits made it grow from 1.9 MB)
    assert (CT / "partners.geojson").stat().st_size < 8_000_000


def test_partners_canonical_and_unique(partners):
    assert list(partners.columns[: len(PARTNER_COLUMNS) - 1]) == PARTNER_COLUMNS[:-1]
    assert partners["partner_id"].is_unique
    assert partners["source_id"].notna().all()
    assert partners.geometry.geom_type.eq("Point").all()
    assert _in_ct(partners.geometry).all()
    assert len(partners) == 7352


def test_every_category_and_service_is_in_the_taxonomy(partners):
    tax = load_taxonomy()
    assert set(partners["category"]) <= set(tax.categories)
    for services, inferred in zip(partners["services"], partners["services_inferred"], strict=True):
        assert services, "every partner serves something"
        assert set(services) <= set(tax.needs)
        assert set(inferred) <= set(services)


def test_inferred_services_are_the_category_defaults(partners):
    tax = load_taxonomy()
    exact = partners[~partners["partner_id"].str.startswith("irs-")]
    for cat, inferred in zip(exact["category"], exact["services_inferred"], strict=True):
        assert inferred == list(tax.categories[cat].default_services)
    # IRS rows: the services their NTEE code states; the category defaults (inferred) only
    # when the code states none (e.g. a congregation, a general human-service agency)
    irs = partners[partners["partner_id"].str.startswith("irs-")]
    for cat, svc, inferred in zip(irs["category"], irs["services"], irs["services_inferred"]):
        assert inferred == [] or (inferred == svc == list(tax.categories[cat].default_services))
    pantry = irs[irs["partner_id"] == "irs-010694939"].iloc[0]  # Plymouth Community Food Pantry
    assert pantry["services"] == ["food.pantry"] and pantry["services_inferred"] == []


def test_every_source_layer_is_present(partners):
    prefix = partners["partner_id"].str.extract(r"^([a-z]+(?:-hosp)?)-")[0]
    counts = prefix.value_counts().to_dict()
    # one Hartford Hospital (two HIFLD records at 80 Seymour St merged) and one licence
    # DCCC.70134 (published twice) -> 45 hospitals and 1,482 child-care sites
    assert counts == {"irs": 5549, "oec": 1482, "pls": 190, "ipeds": 86, "hifld-hosp": 45}
    exact = partners[prefix != "irs"]
    cats = exact["category"].value_counts().to_dict()
    assert cats == {
        "early_childhood": 1482,
        "library": 190,
        "anchor_college": 86,
        "anchor_hospital": 40,
        "behavioral_health": 5,
    }
    assert "oec-DCCC.70134-2" not in set(partners["partner_id"])
    merged = partners.set_index("partner_id")["merged_ids"]
    assert merged["oec-DCCC.70134"] == "oec-DCCC.70134;oec-DCCC.70134-2"
    hh = partners[partners["name"].str.startswith("Hartford Hospital")]
    assert sorted(hh["name"]) == ["Hartford Hospital", "Hartford Hospital Institute of Living"]
    assert merged["hifld-hosp-196784913"] == "hifld-hosp-196784913;hifld-hosp-2106102"


def test_irs_nonprofits_fill_every_mission_category(partners):
    irs = partners[partners["partner_id"].str.startswith("irs-")]
    assert len(irs) >= 2000
    assert (irs["partner_id"] == "irs-" + irs["source_id"]).all()  # the EIN is the source id
    assert irs["source_id"].str.fullmatch(r"\d{9}").all()
    cats = irs["category"].value_counts().to_dict()
    minimum = {
        "faith": 3000, "human_services": 500, "youth_development": 400, "housing": 300,
        "behavioral_health": 150, "disability_family": 150, "family_support": 80,
        "adult_education": 50, "health": 40, "immigrant_services": 30, "legal_aid": 10,
    }  # fmt: skip
    for cat, n in minimum.items():
        assert cats.get(cat, 0) >= n, (cat, cats.get(cat))
    food = irs[[any(s.split(".")[0] == "food" for s in v) for v in irs["services_inferred"]]]
    stated_food = irs[[any(s.split(".")[0] == "food" for s in v) for v in irs["services"]]]
    assert len(stated_food) - len(food) >= 100  # pantries, soup kitchens, meal programs
    # placement: the ZIP area's point (or the town's centre for PO-box ZIPs), said so
    assert set(irs["geocode_quality"]) == {"zip", "town"}
    assert (irs["geocode_quality"] == "zip").mean() > 0.95
    assert set(pd.to_datetime(irs["as_of"])) == {pd.Timestamp("2026-04-13")}
    # not community partners: none of these words survive the crosswalk
    names = irs["name"].str.lower()
    assert not names.str.contains(r"\b(?:booster|boosters|pto|pta|lodge|homeowners)\b").any()


def test_no_fictional_partners_and_no_invented_languages(partners):
    assert not partners["example"].any()
    assert not any(is_example(s) for s in partners["source"])
    assert not partners["name"].str.contains("fictional", case=False).any()
    assert all(langs == [] for langs in partners["languages"])  # unknown, not "English only"
    exact = partners[~partners["partner_id"].str.startswith("irs-")]
    assert set(exact["geocode_quality"]) == {"exact"}
    assert partners["published"].all()


def test_family_violence_shelters_are_sensitive_and_have_no_address(partners):
    s = partners[partners["sensitive"]]
    assert 8 <= len(s) <= 15
    assert "Shelter for Women Inc" in set(s["name"])
    p43 = s[s["category"] == "housing"]
    assert all({"safety.domestic_violence", "housing.shelter"} <= set(v) for v in p43["services"])
    assert s["address"].isna().all()


def test_every_layer_has_its_as_of_date_and_old_child_care_is_marked(partners):
    prefix = partners["partner_id"].str.extract(r"^([a-z]+(?:-hosp)?)-")[0]
    dates = pd.to_datetime(partners["as_of"]).dt.strftime("%Y-%m-%d")
    as_of = dates.groupby(prefix).agg(set).to_dict()
    assert as_of == {
        "hifld-hosp": {"2023-05-06"},
        "ipeds": {"2019-10-01"},
        "pls": {"2022-06-30"},
        "oec": {"2016-07-24"},
        "irs": {"2026-04-13"},
    }
    cc = partners[prefix == "oec"]
    assert pd.to_datetime(cc["license_expiration"]).max() < pd.Timestamp("2020-01-01")
    # stale by vintage (settings.source_stale_after_days, 5 years): the 2016 licences and
    # the c. 2019 college list; not the 2022 libraries, 2023 hospitals or 2026 IRS rows
    import datetime as dt

    from assetmap._fresh import source_stale_flags

    stale = pd.Series(
        source_stale_flags(partners["as_of"], today=dt.date(2026, 12, 6)), index=partners.index
    )
    assert stale.groupby(prefix).all().to_dict() == {
        "hifld-hosp": False, "ipeds": True, "irs": False, "oec": True, "pls": False,
    }  # fmt: skip
    assert stale.groupby(prefix).any().to_dict() == stale.groupby(prefix).all().to_dict()


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
