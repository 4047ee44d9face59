"""Settings, taxonomy and language tables."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from assetmap._errors import ConfigError
from assetmap.languages import load_languages
from assetmap.settings import load_settings
from assetmap.taxonomy import load_taxonomy

ROOT = Path(__file__).resolve().parent.parent


def test_settings_env_overrides_and_frozen():
    s = load_settings(
        env={
            "ASSETMAP_MIN_CELL": "10",
            "ASSETMAP_REACH_KM__FOOD": "2.5",
            "ASSETMAP_CENSUS_GEOCODER_URL": "http://127.0.0.1:9",
        }
    )
    assert s.min_cell == 10
    assert s.reach_for("food.pantry") == 2.5
    assert s.reach_for("housing") == 15.0
    assert s.reach_for("no_such_need") == s.default_reach_km
    assert s.census_geocoder_url == "http://127.0.0.1:9"
    with pytest.raises(AttributeError):
        s.min_cell = 3  # type: ignore[misc]


@pytest.mark.parametrize("env", [{"ASSETMAP_MIN_CELL": "3"}, {"ASSETMAP_MIN_DENOMINATOR": "10"}])
def test_suppression_threshold_never_below_state_rule(env):
    with pytest.raises(ConfigError, match="never set below the Connecticut rule"):
        load_settings(env=env)


def test_bad_setting_value_is_named():
    with pytest.raises(ConfigError, match="min_cell"):
        load_settings(env={"ASSETMAP_MIN_CELL": "many"})


def test_taxonomy_has_the_domain_codes():
    tax = load_taxonomy()
    assert len(tax.top_needs) == 18
    for code in (
        "food",
        "housing",
        "mental_health",
        "language_access",
        "safety",
        "food.pantry",
        "adult_ed.esl",
    ):
        assert code in tax.needs
    for cat in (
        "health",
        "library",
        "faith",
        "disability_family",
        "anchor_hospital",
        "anchor_college",
        "recreation",
        "youth_development",
        "housing",
    ):
        assert cat in tax.categories
    assert tax.needs["food"].oe_ids[0] == "1102"
    assert tax.normalize_need("English classes") == "adult_ed.esl"
    assert tax.normalize_need("comida") == "food"
    assert tax.normalize_need("no idea") is None
    assert tax.normalize_category("Group Day Care Home") == "early_childhood"
    codes, unknown = tax.normalize_needs("food.pantry; Homework help;quantum physics")
    assert codes == ["food.pantry", "tutoring.homework"] and unknown == ["quantum physics"]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("español", "es"),
        ("Espanol", "es"),
        ("spa", "es"),
        ("Kreyol", "ht"),
        ("Kreyòl ayisyen", "ht"),
        ("Portuguese (Brazil)", "pt"),
        ("portugues", "pt"),
        ("عربي", "ar"),
        ("Mandarin", "zh"),
        ("粵語", "zh"),
        ("Dari", "prs"),
        ("Farsi", "fa"),
        ("Karen", "ksw"),
        ("اردو", "ur"),
        ("українська", "uk"),
        ("ASL", "ase"),
        ("Pushto", "ps"),
        ("Tagalog", "tl"),
    ],
)
def test_language_normalisation(text, code):
    assert load_languages().normalize(text) == code


@pytest.mark.parametrize("text", ["Creole", "", "  ", "xyzzy plugh"])
def test_ambiguous_or_unknown_language_goes_to_review(text):
    assert load_languages().normalize(text) is None


def test_language_table_has_domain_languages_with_rtl():
    langs = load_languages()
    for code in "es pt ar ht zh pl sq ur ps prs uk bn vi ru fr tr gu ne so hi it fa en ase".split():
        assert code in langs
    assert {c for c, lang in langs.languages.items() if lang.rtl} == {"ar", "ur", "ps", "prs", "fa"}
    assert langs.name("ht", autonym=True) == "Kreyòl ayisyen"


def test_library_never_imports_streamlit():
    code = (
        "import sys, pkgutil, importlib, assetmap\n"
        "for m in pkgutil.walk_packages(assetmap.__path__, 'assetmap.'):\n"
        "    if not m.name.endswith('__main__'): importlib.import_module(m.name)\n"
        "print('streamlit' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
