"""Catalogs in config/locales and the translator of assetmap.i18n."""

from __future__ import annotations

import datetime as dt
import logging
import re
import shutil
import subprocess
import sys
import tomllib
import unicodedata
from pathlib import Path

import pytest
from babel import Locale

from assetmap import i18n
from assetmap._errors import ConfigError
from assetmap.i18n import (
    available_languages,
    catalog_codes,
    format_date,
    format_km,
    get_translator,
    load_catalog,
    placeholders,
)
from assetmap.languages import load_languages
from assetmap.settings import config_dir
from assetmap.taxonomy import load_taxonomy

# The i18n contract of the team brief (issue 4): every catalog has exactly these keys.
CONTRACT_KEYS = """
app.title find.heading find.intro find.place_label find.place_placeholder find.address_notice
find.address_consent find.search_button find.language_label find.need_heading find.all_needs find.radius_label find.radius_label_mi
find.results_heading find.results_count find.no_results find.place_not_found find.distance_km
find.distance_mi find.distance_zip_mi find.distance_zip_km find.distance_town_mi find.distance_town_km
find.languages find.hours find.call find.directions find.website find.print find.example_notice find.confidential
find.map_heading find.privacy_note find.when_label find.when_any find.when_evening find.when_weekend
find.when_summer find.programs_heading find.online find.free find.walk_minutes
find.walk_minutes_estimated sheet.title sheet.subtitle sheet.need sheet.partner
sheet.phone sheet.address sheet.languages sheet.hours sheet.distance sheet.footer
sheet.example_notice sheet.generated sheet.no_partner sheet.example_badge sheet.km sheet.mi
""".split()
CONTRACT_FIELDS = {
    "find.results_count": {"n"},
    "find.distance_km": {"km"},
    "find.walk_minutes": {"minutes"},
    "find.walk_minutes_estimated": {"minutes"},
    "find.distance_mi": {"mi"},
    "find.distance_zip_mi": {"mi"},
    "find.distance_zip_km": {"km"},
    "find.distance_town_mi": {"mi"},
    "find.distance_town_km": {"km"},
    "sheet.title": {"school"},
    "sheet.generated": {"date"},
    "sheet.km": {"km"},
    "sheet.mi": {"mi"},
}
REQUIRED = ("en", "es", "pt", "ht", "ar", "zh", "pl")
AUTONYMS = {
    "en": "English",
    "es": "español",
    "pt": "português",
    "ht": "Kreyòl ayisyen",
    "ar": "العربية",
    "zh": "中文",
    "pl": "polski",
}
# The only translated strings allowed to equal the English one: words that are the same.
SAME_AS_ENGLISH = {
    ("es", "categories", "anchor_hospital"),  # "Hospital"
    ("pt", "categories", "anchor_hospital"),  # "Hospital"
    # "{km} km": the symbol km is the same in these languages
    *((c, "strings", "sheet.km") for c in ("es", "pt", "ht", "pl", "vi", "sq")),
    # "{mi} mi": the US abbreviation mi is used as is in these languages
    *((c, "strings", "sheet.mi") for c in ("es", "pt", "ht")),
}
TABLES = ("strings", "needs", "categories")
OTHERS = [c for c in catalog_codes() if c != "en"]


@pytest.fixture(autouse=True)
def _fresh_caches():
    i18n.clear_caches()
    yield
    i18n.clear_caches()


def _raw(code: str) -> dict:
    return tomllib.loads((config_dir() / "locales" / f"{code}.toml").read_text(encoding="utf-8"))


def _entries(code: str):
    raw = _raw(code)
    for table in TABLES:
        for key, text in raw[table].items():
            yield table, key, text


def test_required_catalogs_exist_and_lead_the_picker():
    assert set(REQUIRED) <= set(catalog_codes())
    codes = [code for code, _ in available_languages()]
    assert codes[: len(REQUIRED)] == list(REQUIRED)
    assert len(codes) == len(set(codes))


def test_english_catalog_matches_the_contract_and_taxonomy():
    raw = _raw("en")
    tax = load_taxonomy()
    assert sorted(raw["strings"]) == sorted(CONTRACT_KEYS)
    assert set(raw["needs"]) == set(tax.top_needs)
    assert len(tax.top_needs) == 18
    assert set(raw["categories"]) == set(tax.categories)
    for key, fields in CONTRACT_FIELDS.items():
        assert placeholders(raw["strings"][key]) == fields
    others = set(CONTRACT_KEYS) - set(CONTRACT_FIELDS)
    assert all(not placeholders(raw["strings"][k]) for k in others)


@pytest.mark.parametrize("code", catalog_codes())
def test_catalog_meta_is_consistent(code):
    raw = _raw(code)
    meta = raw["meta"]
    assert meta["code"] == code
    assert set(raw) == {"meta", *TABLES}
    Locale.parse(meta["locale"].replace("-", "_"))  # a locale Babel knows
    lang = load_languages().get(code)
    assert lang is not None, f"{code} is not in config/languages.toml"
    assert meta["autonym"] == lang.autonym
    assert meta["rtl"] is lang.rtl
    assert meta["locale"] == lang.ui_locale


@pytest.mark.parametrize("code", OTHERS)
def test_catalog_has_every_key_and_no_extras(code):
    raw, en = _raw(code), _raw("en")
    for table in TABLES:
        assert sorted(raw[table]) == sorted(en[table]), f"{code} [{table}]"


@pytest.mark.parametrize("code", OTHERS)
def test_placeholders_match_english(code):
    en = _raw("en")
    for table, key, text in _entries(code):
        assert placeholders(text) == placeholders(en[table][key]), f"{code} {table}.{key}"


@pytest.mark.parametrize("code", OTHERS)
def test_strings_are_translated_not_copied(code):
    en = _raw("en")
    for table, key, text in _entries(code):
        assert text.strip(), f"{code} {table}.{key} is empty"
        if (code, table, key) not in SAME_AS_ENGLISH:
            assert text != en[table][key], f"{code} {table}.{key} is the English text"
        assert not re.search(r"\b(?:TODO|TBD|FIXME|XXX)\b|lorem ipsum", text)


@pytest.mark.parametrize("code", catalog_codes())
def test_labels_are_distinct_and_fit_buttons(code):
    raw = _raw(code)
    for table in ("needs", "categories"):
        labels = list(raw[table].values())
        assert len(labels) == len(set(labels)), f"{code} [{table}] has duplicate labels"
    assert max(len(v) for v in raw["needs"].values()) <= 40
    assert all(t == unicodedata.normalize("NFC", t) for _, _, t in _entries(code))


def _share(code: str, pattern: str) -> float:
    text = "".join(t for table, _, t in _entries(code) if table != "meta")
    letters = [ch for ch in text if ch.isalpha()]
    return sum(bool(re.match(pattern, ch)) for ch in letters) / len(letters)


def test_scripts_and_orthography():
    # Arabic and Chinese text is in its own script (Latin only for names like "Hartford").
    for code in catalog_codes():
        if get_translator(code).rtl:
            assert _share(code, r"[\u0600-\u06ff\ufb50-\ufdff\ufe70-\ufeff]") > 0.95, code
    assert _share("zh", r"[\u4e00-\u9fff]") > 0.95
    zh = "".join(t for _, _, t in _entries("zh"))
    traditional = set("這與們個體醫務書電話時間區網條學護單歲")
    assert not traditional & set(zh), "Chinese must use Simplified characters"
    pl = "".join(t for _, _, t in _entries("pl"))
    assert set("ąęłńóśźż") <= set(pl.lower()), "Polish diacritics are missing"
    ht = "".join(t for _, _, t in _entries("ht"))
    assert {"è", "ò"} <= set(ht)
    assert not re.search(r"\b(?:les|des|pour|avec|chez|être)\b", ht), "French words in Kreyòl"
    pt = " ".join(t for _, _, t in _entries("pt"))
    assert "você" in pt and "ç" in pt and "CEP" not in pt


def test_optional_catalogs_resolve_from_names():
    codes = set(catalog_codes())
    if "prs" in codes:
        assert get_translator("Dari").code == "prs"
        assert get_translator("Dari").locale == "fa-AF"
        assert format_km(1.5, "prs")  # Babel formats with the fa-AF locale
    if "fa" in codes:
        assert get_translator("Farsi").code == "fa"
    if "ur" in codes:
        assert get_translator("اردو").code == "ur"


def test_rtl_and_dir():
    for code in catalog_codes():
        t = get_translator(code)
        assert t.code == code
        if code in ("ar", "ur", "ps", "prs", "fa"):
            assert t.rtl is True and t.dir == "rtl"
        else:
            assert t.rtl is False and t.dir == "ltr"


def test_autonyms_and_locales():
    for code, name in AUTONYMS.items():
        t = get_translator(code)
        assert t.autonym == name
    assert dict(available_languages())["ht"] == "Kreyòl ayisyen"
    assert get_translator("pt").locale == "pt-BR"
    assert get_translator("zh").locale == "zh-Hans"
    assert get_translator("pt").lang == "pt-BR"


@pytest.mark.parametrize(
    ("given", "code"),
    [
        ("es", "es"),
        ("ES", "es"),
        ("es-419", "es"),
        ("es_MX", "es"),
        ("español", "es"),
        ("Espanol", "es"),
        ("pt-BR", "pt"),
        ("Brazilian Portuguese", "pt"),
        ("Kreyol", "ht"),
        ("Haitian Creole", "ht"),
        ("zh-Hans", "zh"),
        ("zh-TW", "zh"),
        ("Mandarin", "zh"),
        ("العربية", "ar"),
        ("Polski", "pl"),
        ("quc", "es"),  # K'iche': UI locale es
        ("kea", "pt"),  # Cape Verdean: UI locale pt-BR
    ],
)
def test_codes_and_variants_resolve(given, code):
    assert get_translator(given).code == code


@pytest.mark.parametrize("given", ["klingon", "xx", "", None, "Creole", "../etc/passwd", "  "])
def test_unknown_language_is_english(given):
    t = get_translator(given)
    assert t.code == "en"
    assert t("find.heading") == "Find help near you"


def test_call_formats_fields():
    es = get_translator("es")
    assert es("find.results_count", n=3) == "Lugares encontrados: 3"
    assert es("sheet.title", school="Burns Latino Studies Academy").endswith(
        "cerca de Burns Latino Studies Academy"
    )
    # A missing field stays visible instead of crashing; extra fields are ignored.
    assert es("find.results_count") == "Lugares encontrados: {n}"
    assert es("find.heading", n=1) == "Encuentre ayuda cerca de usted"
    # Values are inserted as text, never re-interpreted as format fields.
    assert es("sheet.title", school="{n} <b>") == "Ayuda para familias cerca de {n} <b>"
    assert get_translator("zh")("find.results_count", n=12) == "共找到 12 个地方"


def test_need_and_category_labels():
    en, es, ht = get_translator("en"), get_translator("es"), get_translator("ht")
    tax = load_taxonomy()
    for code in tax.top_needs:
        assert es.need_label(code) == _raw("es")["needs"][code]
    assert es.need_label("food.pantry") == es.need_label("food") == "Comida"
    assert ht.need_label("housing.rent_help") == "Lojman"
    assert en.need_label("food.pantry") == "Food pantry"  # the taxonomy's English sub label
    assert en.need_label("food") == "Food"
    assert es.need_label("no_such_need") == "no_such_need"
    assert es.category_label("library") == "Biblioteca pública"
    assert get_translator("ar").category_label("anchor_hospital") == "مستشفى"
    assert es.category_label("nope") == "nope"


def test_format_km_uses_the_language_style():
    assert format_km(1.5, "en") == "1.5"
    assert format_km(1.5, "pt") == "1,5"
    assert format_km(1.5, "pl") == "1,5"
    assert format_km(1.5, "es") == "1,5"
    assert format_km(0.04, "ht") == "0,0"
    assert format_km(12.6, "en") == "13"
    assert format_km(1234.4, "en") == "1,234"
    assert format_km(1234.4, "pt") == "1.234"
    assert format_km(1234.4, "pl") in {"1\u00a0234", "1 234", "1\u202f234"}
    assert format_km(2.25, "zh") == "2.2"
    assert format_km(2, "pt-BR") == "2,0"
    assert format_km(None, "pt") == "—"
    assert format_km(float("nan"), "pt") == "—"
    assert format_km("abc", "pt") == "—"
    assert format_km(1.5, "klingon") == "1.5"
    # miles by default (km stays the internal unit); ZIP-area placements never look exact
    assert get_translator("pt").distance(2.5) == "a 1,6 milhas"
    assert get_translator("en").distance(3.3, "zip") == "about 2 mi away, ZIP area"
    assert get_translator("es").distance(0.4, "town") == "a unas 1 millas, zona del pueblo"
    assert get_translator("pl").distance(0.8) == "0,5 mil stąd"


def test_distance_unit_setting_switches_to_km(monkeypatch):
    from assetmap.settings import get_settings

    monkeypatch.setenv("ASSETMAP_DISTANCE_UNIT", "km")
    get_settings.cache_clear()
    try:
        assert get_translator("pt").distance(2.5) == "a 2,5 km"
        assert get_translator("ar").distance(2.5) == "على بُعد 2.5 كم"
        assert get_translator("pl").distance(0.8) == "0,8 km stąd"
        assert get_translator("en").distance(3.3, "zip") == "about 3 km away, ZIP area"
    finally:
        monkeypatch.delenv("ASSETMAP_DISTANCE_UNIT")
        get_settings.cache_clear()


def test_format_date():
    day = dt.date(2026, 11, 23)
    assert format_date(day, "en") == "November 23, 2026"
    assert format_date(day, "es") == "23 de noviembre de 2026"
    assert format_date(day, "pt") == "23 de novembro de 2026"
    assert format_date(day, "pl") == "23 listopada 2026"
    assert format_date(day, "ht") == "23 novanm 2026"  # not Babel's French month names
    ht = get_translator("ht")
    assert ht("sheet.generated", date=ht.format_date(dt.date(2026, 7, 4))) == (
        "Prepare nan dat 4 jiyè 2026"
    )


@pytest.fixture
def config_copy(tmp_path, monkeypatch):
    """A copy of config/ the test may edit (ASSETMAP_CONFIG_DIR points at it)."""
    dest = tmp_path / "config"
    shutil.copytree(config_dir(), dest)
    monkeypatch.setenv("ASSETMAP_CONFIG_DIR", str(dest))
    i18n.clear_caches()
    return dest


def _drop_line(path: Path, startswith: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [ln for ln in lines if not ln.startswith(startswith)]
    assert len(kept) == len(lines) - 1
    path.write_text("".join(kept), encoding="utf-8")


def test_missing_key_falls_back_to_english_and_is_logged(config_copy, caplog):
    _drop_line(config_copy / "locales" / "es.toml", '"find.heading"')
    _drop_line(config_copy / "locales" / "es.toml", "library =")
    _drop_line(config_copy / "locales" / "es.toml", "safety =")
    _drop_line(config_copy / "locales" / "en.toml", "other =")
    _drop_line(config_copy / "locales" / "es.toml", "other =")
    es = get_translator("es")
    with caplog.at_level(logging.WARNING, logger="assetmap.i18n"):
        assert es("find.heading") == "Find help near you"
        assert es("find.heading") == "Find help near you"
        assert es("find.search_button") == "Buscar"
        assert es.category_label("library") == "Public library"
        assert es.need_label("safety.youth_violence") == "Safety"
        assert es.category_label("other") == "Other"  # the taxonomy's label
        assert es("no.such.key") == "no.such.key"
    messages = [r.getMessage() for r in caplog.records]
    assert sum("find.heading" in m for m in messages) == 1  # logged once, not per call
    assert any("library" in m for m in messages)
    assert any("no.such.key" in m for m in messages)


def test_broken_catalogs_raise_config_error_naming_the_file(config_copy):
    path = config_copy / "locales" / "pl.toml"
    path.write_text('[meta]\ncode = "pl"\n[strings]\n"app.title" = \n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"pl\.toml"):
        get_translator("pl")
    i18n.clear_caches()
    path.write_text('[meta]\ncode = "pl"\n[strings]\nfind.heading = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"quote dotted keys"):
        get_translator("pl")
    i18n.clear_caches()
    path.write_text('[meta]\ncode = "pt"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="differs from the file name"):
        load_catalog("pl")


def test_new_catalog_file_is_picked_up(config_copy):
    fr = config_copy / "locales" / "fr.toml"
    fr.write_text(
        '[meta]\ncode = "fr"\nlocale = "fr"\nautonym = "français"\nrtl = false\n'
        '[strings]\n"find.heading" = "Trouver de l\'aide près de chez vous"\n',
        encoding="utf-8",
    )
    langs = available_languages()
    assert ("fr", "français") in langs[len(REQUIRED) :]
    fr_t = get_translator("French")
    assert fr_t("find.heading") == "Trouver de l'aide près de chez vous"
    assert fr_t("find.search_button") == "Search"  # English fallback
    assert format_km(1.5, "fr") == "1,5"


def test_library_does_not_import_streamlit():
    code = (
        "import sys, assetmap.i18n as m; m.get_translator('ar')('find.heading'); "
        "m.format_km(1.5, 'pt'); assert 'streamlit' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("en", "Mon-Fri 9:00-17:00; Sat 10:00-14:00"),
        ("es", "lun-vie 9:00-17:00; sáb 10:00-14:00"),
        ("ht", "len-van 9:00-17:00; sam 10:00-14:00"),
        ("zh", "周一-周五 9:00-17:00; 周六 10:00-14:00"),
        ("ar", "الاثنين-الجمعة 9:00-17:00; السبت 10:00-14:00"),
    ],
)
def test_opening_hours_weekdays_in_the_language(code, expected):
    assert get_translator(code).hours("Mon-Fri 9:00-17:00; Sat 10:00-14:00") == expected


def test_opening_hours_keep_other_words_and_empty_values():
    t = get_translator("es")
    assert t.hours("24/7 hotline; Monday by phone") == "24/7 hotline; lun by phone"
    assert t.hours("Monitor Street office") == "Monitor Street office"  # whole words only
    assert t.hours(None) == "" and t.hours("") == ""
