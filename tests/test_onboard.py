"""Onboarding: column suggestions (synonyms, then fuzzy), saved mappings per source."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from assetmap._errors import InputError
from assetmap.onboard import (
    Suggestion,
    apply_mapping,
    header_key,
    load_mapping,
    mapping_dir,
    mapping_path,
    match_header,
    save_mapping,
    suggest_mapping,
)
from assetmap.settings import get_settings


@pytest.fixture(autouse=True)
def _var(monkeypatch, tmp_path):
    monkeypatch.setenv(
        "ASSETMAP_GEOCODE_CACHE_PATH", str(tmp_path / "var" / "geocode_cache.sqlite")
    )
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_header_key_ignores_case_accents_and_separators():
    assert header_key("Dirección_Postal") == header_key("direccion postal") == "direccionpostal"
    assert header_key(" ZIP-Code. ") == "zipcode"


@pytest.mark.parametrize(
    ("header", "canonical", "method"),
    [
        ("name", "name", "exact"),
        ("postal_code", "postal_code", "exact"),
        ("Zip Code", "postal_code", "synonym"),
        ("LATITUDE", "lat", "synonym"),
        ("Teléfono", "phone", "synonym"),
        ("Org Name", "name", "fuzzy"),
        ("Services Offered", "services", "fuzzy"),
        ("Website URL", "website", "fuzzy"),
        ("qwerty", None, "none"),
        ("County", None, "none"),
        ("Fax", None, "none"),
    ],
)
def test_match_header(header, canonical, method):
    got, score, how = match_header(header)
    assert (got, how) == (canonical, method)
    assert (score == 100.0) == (method in ("exact", "synonym"))


def test_suggest_mapping_one_source_column_per_canonical():
    cols = ["Site Name", "Street Address", "Town", "ZIP", "Zip Code", "Lat", "Long", "Notes?!"]
    got = suggest_mapping(cols)
    assert all(isinstance(s, Suggestion) for s in got)
    by_col = {s.source_column: s for s in got}
    assert by_col["Site Name"].canonical == "name"
    assert by_col["Street Address"] == Suggestion("Street Address", "address", 100.0, "synonym")
    assert by_col["Town"].canonical == "city"
    # ZIP and Zip Code both mean postal_code: the first keeps it, the other is left for a person
    assert by_col["ZIP"].canonical == "postal_code" and by_col["Zip Code"].canonical is None
    assert (by_col["Lat"].canonical, by_col["Long"].canonical) == ("lat", "lon")
    assert [s.source_column for s in got] == cols  # order kept


def test_saved_mapping_maps_the_next_upload_from_the_same_source():
    assert load_mapping("Coalition 2024") is None
    path = save_mapping("Coalition 2024", {"Org": "name", "Where": "address", "Misc": None})
    assert path.parent == mapping_dir() and path.name == "coalition_2024.json"
    assert json.loads(path.read_text())["mapping"]["Org"] == "name"
    got = {
        s.source_column: s
        for s in suggest_mapping(["Org", "Where", "Misc", "Phone"], source_key="Coalition 2024")
    }
    assert got["Org"] == Suggestion("Org", "name", 100.0, "saved")
    assert got["Where"].canonical == "address" and got["Where"].method == "saved"
    assert got["Misc"].canonical is None and got["Misc"].method == "saved"
    assert got["Phone"].method == "exact"  # a new column still gets a suggestion


def test_mapping_keys_become_safe_file_names(tmp_path):
    p = mapping_path("../../etc/passwd")
    assert p.parent == mapping_dir() and ".." not in p.name and "/" not in p.name
    assert mapping_path("Día de la Familia").name == "dia_de_la_familia.json"
    with pytest.raises(InputError, match="no usable characters"):
        mapping_path("../")


def test_unreadable_saved_mapping_is_ignored():
    path = mapping_path("broken")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json", encoding="utf-8")
    assert load_mapping("broken") is None


def test_apply_mapping_renames_without_overwriting_or_mutating():
    df = pd.DataFrame({"Org": ["A"], "name": ["legacy"], "Zip": ["06103"], "Other": [1]})
    before = df.copy()
    out = apply_mapping(df, {"Org": "name", "Zip": "postal_code", "Other": None})
    pd.testing.assert_frame_equal(df, before)
    assert list(out.columns) == ["name", "source_name", "postal_code", "Other"]
    assert out.loc[0, "name"] == "A" and out.loc[0, "source_name"] == "legacy"
    with pytest.raises(InputError, match="'Org' and 'Zip' are both mapped to 'name'"):
        apply_mapping(df, {"Org": "name", "Zip": "name"})
