"""HSDS 3.0 export: the JSON validates against the schemas shipped in the package, and the
CSV data package has the tables and columns of the HSDS data package."""

from __future__ import annotations

import json
import zipfile

import pandas as pd
import pytest
from _frames import FORMULAS, network, partners

from assetmap.export import export_network, export_partners, validate_hsds
from assetmap.export._hsds import SCHEMA_DIR


def test_schemas_are_shipped_with_the_package():
    names = {p.name for p in SCHEMA_DIR.iterdir()}
    assert {
        "service.json",
        "organization.json",
        "location.json",
        "taxonomy_term.json",
        "datapackage.json",
    } <= names
    assert "LICENSE" in names and "SOURCE.md" in names
    assert "shared" not in str(SCHEMA_DIR)


@pytest.fixture
def doc(tmp_path):
    out = export_partners(partners(), tmp_path / "p.json")
    return json.loads(out.read_text(encoding="utf-8"))


def test_hsds_json_validates(doc):
    assert validate_hsds(doc) == []
    assert doc["version"] == "3.0"
    assert len(doc["services"]) == 4 and len(doc["locations"]) == 4
    assert len(doc["service_at_locations"]) == 4


def test_hsds_field_mapping(doc):
    svc = {s["name"]: s for s in doc["services"]}
    food = svc["Hartford Food Pantry"]
    assert food["assured_date"] == "2026-10-01"
    assert food["fees_description"] == "Free"
    assert food["cost_options"][0]["option"] == "Free"
    assert food["eligibility_description"] == "Hartford residents"
    assert food["schedules"][0]["description"] == "Mon-Fri 9-5"
    assert sorted(lang["code"] for lang in food["languages"]) == ["en", "es"]
    assert food["phones"][0]["number"] == "(860) 555-0101"
    ex = svc["=cmd|' /C calc'!A0"]
    assert "EXAMPLE (fictional)" in ex["alert"]
    assert "url" not in svc["<script>alert(1)</script> Clinic"]  # javascript: link dropped
    assert ex["url"] == "https://www.library.example.org"
    locs = {loc["external_identifier"]: loc for loc in doc["locations"]}
    assert locs["p1"]["accessibility"][0]["description"].startswith("Wheelchair accessible")
    assert locs["p2"]["accessibility"][0]["description"] == "Not wheelchair accessible"
    assert locs["p1"]["addresses"][0]["postal_code"] == "06103"
    assert locs["p1"]["latitude"] == pytest.approx(41.765)


def test_taxonomy_only_used_terms_and_oe_crosswalk(doc):
    codes = {t["code"] for t in doc["taxonomy_terms"] if t["taxonomy"] == "assetmap-needs"}
    assert codes == {
        "food",
        "food.pantry",
        "health",
        "mental_health",
        "technology",
        "adult_ed",
        "adult_ed.esl",
        "disability",
    }
    assert doc["taxonomies"][0]["name"] == "assetmap-needs"
    terms = {t["code"]: t for t in doc["taxonomy_terms"]}
    assert terms["food.pantry"]["parent_id"] == terms["food"]["id"]
    oe = {
        a["taxonomy_term_id"]: a["value"]
        for a in doc["attributes"]
        if a["link_type"] == "oe_crosswalk"
    }
    assert "1102" in oe[terms["food"]["id"]].split(";")
    food_svc = next(s for s in doc["services"] if s["name"] == "Hartford Food Pantry")
    linked = {a["taxonomy_term_id"] for a in food_svc["attributes"]}
    assert linked - {terms[c]["id"] for c in terms if ":" in c} == {
        terms["food"]["id"],
        terms["food.pantry"]["id"],
    }
    # the second taxonomy carries the partner's category and flags for a lossless re-import
    partner = {t["code"] for t in doc["taxonomy_terms"] if t["taxonomy"] == "assetmap-partner"}
    assert "category:human_services" in partner and "flag:example" in partner
    assert terms["category:human_services"]["id"] in linked


def test_validator_catches_schema_and_reference_errors(doc):
    bad = json.loads(json.dumps(doc))
    bad["services"][0]["status"] = "open"
    del bad["organizations"][0]["name"]
    bad["service_at_locations"][0]["location_id"] = "00000000-0000-0000-0000-000000000000"
    bad["locations"][1]["latitude"] = "north"
    problems = validate_hsds(bad)
    text = "\n".join(problems)
    assert "services[0].status" in text
    assert "organizations[0]" in text and "'name' is a required property" in text
    assert "service_at_locations[0].location_id" in text
    assert "locations[1].latitude" in text
    assert validate_hsds([]) == ["document: expected a JSON object, got list"]


def test_unpublished_and_sensitive_partners():
    p = partners()
    p.loc[0, "published"] = False
    p.loc[3, "sensitive"] = True
    from assetmap.export._common import Bundle
    from assetmap.export._hsds import hsds_document

    doc = hsds_document(Bundle.from_frames(partners=p))
    assert validate_hsds(doc) == []
    ids = {loc["external_identifier"]: loc for loc in doc["locations"]}
    assert "p1" not in ids
    assert "addresses" not in ids["p4"] and "latitude" not in ids["p4"]


def _package_fields() -> dict[str, tuple[str, list[str], list[str]]]:
    pkg = json.loads((SCHEMA_DIR / "datapackage.json").read_text(encoding="utf-8"))
    return {
        r["path"]: (
            r["name"],
            [f["name"] for f in r["schema"]["fields"]],
            [f["name"] for f in r["schema"]["fields"] if f.get("constraints", {}).get("required")],
        )
        for r in pkg["resources"]
    }


REQUIRED_FILES = {
    "organizations.csv", "services.csv", "locations.csv", "service_at_location.csv", "addresses.csv",
    "phones.csv", "languages.csv", "schedules.csv", "taxonomies.csv", "taxonomy_terms.csv",
    "attributes.csv", "cost_options.csv", "accessibility.csv", "datapackage.json",
}  # fmt: skip


def _check_package(files: dict[str, pd.DataFrame]) -> None:
    spec = _package_fields()
    for path, df in files.items():
        name, fields, required = spec[path]
        assert list(df.columns) == fields, path
        for col in required:
            assert df[col].astype(str).str.len().gt(0).all(), (path, col)
        for col in df.columns:
            for v in df[col]:
                if isinstance(v, str) and v and v[0] in "=+-@\t\r\n":
                    float(v)  # only plain numbers may start with '-'


def test_csv_package_folder(tmp_path):
    p = partners()
    p.loc[0, "phone"] = FORMULAS[1]
    out = export_partners(p, tmp_path / "hsds")
    names = {f.name for f in out.iterdir()}
    assert REQUIRED_FILES <= names
    files = {
        n: pd.read_csv(out / n, dtype=str, keep_default_na=False)
        for n in names
        if n.endswith(".csv")
    }
    _check_package(files)
    assert len(files["services.csv"]) == 4
    assert "'+1 860 555 0100" in set(files["phones.csv"]["number"])
    pkg = json.loads((out / "datapackage.json").read_text(encoding="utf-8"))
    assert {r["path"] for r in pkg["resources"]} == names - {"datapackage.json"}


def test_csv_package_zip_from_network(tmp_path):
    out = export_network(network(), tmp_path / "n.zip", partners=partners())
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        assert REQUIRED_FILES <= names
        files = {
            n: pd.read_csv(zf.open(n), dtype=str, keep_default_na=False)
            for n in names
            if n.endswith(".csv")
        }
    _check_package(files)
    assert len(files["services.csv"]) == 3  # partners used by the network only
