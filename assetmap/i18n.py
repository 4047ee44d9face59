"""Translated strings for the families' view: one TOML catalog per language.

Catalogs live in ``config/locales/<code>.toml`` with four tables: ``[meta]`` (code, Babel
locale, autonym, rtl), ``[strings]`` (the UI keys), ``[needs]`` (top-level need labels for the
big buttons) and ``[categories]`` (partner category labels). English is the reference: a key
missing from another catalog falls back to English (and is logged once).

>>> t = get_translator("español")
>>> t("find.results_count", n=3)
'Lugares encontrados: 3'
>>> t.need_label("food.pantry")
'Comida'
>>> get_translator("ar").dir
'rtl'
>>> format_km(1.25, "pt")
'1,2'
"""

from __future__ import annotations

import datetime as _dt
import functools
import logging
import math
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from assetmap._errors import ConfigError
from assetmap.settings import config_dir

__all__ = [
    "DEFAULT_LANGUAGE",
    "PREFERRED_ORDER",
    "Catalog",
    "Translator",
    "available_languages",
    "catalog_codes",
    "clear_caches",
    "format_date",
    "format_km",
    "get_translator",
    "load_catalog",
    "locales_dir",
    "placeholders",
    "resolve_code",
]

log = logging.getLogger(__name__)

DEFAULT_LANGUAGE = "en"
#: Order of the language picker: CT's largest home-language groups first (DOMAIN.md §3).
PREFERRED_ORDER: tuple[str, ...] = ("en", "es", "pt", "ht", "ar", "zh", "pl")

_warned: set[tuple[str, str, str]] = set()


def locales_dir() -> Path:
    """``config/locales`` (follows ``ASSETMAP_CONFIG_DIR``)."""
    return config_dir() / "locales"


@dataclass(frozen=True)
class Catalog:
    """One language's strings, read from ``config/locales/<code>.toml``."""

    code: str
    locale: str
    autonym: str
    rtl: bool
    strings: Mapping[str, str]
    needs: Mapping[str, str]
    categories: Mapping[str, str]
    path: Path | None = None
    #: Month names for locales whose CLDR data lacks them (Babel's ``ht`` has French ones).
    months: tuple[str, ...] = ()
    days: tuple[str, ...] = ()  # short weekday names Monday..Sunday (when Babel has none)


def _table(raw: dict, name: str, path: Path) -> Mapping[str, str]:
    table = raw.get(name, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [{name}] must be a table of strings")
    out: dict[str, str] = {}
    for key, value in table.items():
        if not isinstance(value, str):
            raise ConfigError(
                f"{path}: [{name}] {key!r} must be a string (got {type(value).__name__}); "
                'quote dotted keys, e.g. "find.heading" = "..."'
            )
        out[key] = value
    return MappingProxyType(out)


@functools.lru_cache(maxsize=64)
def _load_catalog_file(path: Path) -> Catalog:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the language catalog ({exc})") from exc
    meta = raw.get("meta", {})
    code = meta.get("code", path.stem)
    if code != path.stem:
        raise ConfigError(f"{path}: [meta] code {code!r} differs from the file name {path.stem!r}")
    months = meta.get("months", [])
    if months and (len(months) != 12 or not all(isinstance(m, str) for m in months)):
        raise ConfigError(f"{path}: [meta] months must list the 12 month names as strings")
    days = meta.get("days", [])
    if days and (len(days) != 7 or not all(isinstance(d, str) for d in days)):
        raise ConfigError(f"{path}: [meta] days must list the 7 short weekday names, Monday first")
    return Catalog(
        code=code,
        locale=str(meta.get("locale", code)),
        autonym=str(meta.get("autonym", code)),
        rtl=bool(meta.get("rtl", False)),
        strings=_table(raw, "strings", path),
        needs=_table(raw, "needs", path),
        categories=_table(raw, "categories", path),
        path=path,
        months=tuple(months),
        days=tuple(days),
    )


def load_catalog(code: str) -> Catalog | None:
    """The catalog for an exact catalog code (``'pt'``), or None when there is no such file."""
    if not code or "/" in code or "\\" in code or code.startswith("."):
        return None
    path = locales_dir() / f"{code}.toml"
    if not path.is_file():
        return None
    return _load_catalog_file(path)


def catalog_codes() -> tuple[str, ...]:
    """Codes that have a catalog file, in picker order (PREFERRED_ORDER, then by code)."""
    found = {p.stem for p in locales_dir().glob("*.toml")} if locales_dir().is_dir() else set()
    first = [c for c in PREFERRED_ORDER if c in found]
    return (*first, *sorted(found - set(first)))


def available_languages() -> list[tuple[str, str]]:
    """``(code, autonym)`` for every catalog, English, Spanish, Portuguese, Haitian Creole,
    Arabic, Chinese, Polish first, then the others."""
    out: list[tuple[str, str]] = []
    for code in catalog_codes():
        cat = load_catalog(code)
        if cat is not None:
            out.append((cat.code, cat.autonym))
    return out


@functools.lru_cache(maxsize=256)
def resolve_code(code: str | None) -> str:
    """The catalog code to use for a language code, locale or name (``'pt-BR'``, ``'es_MX'``,
    ``'Kreyol'``); a language without a catalog uses its UI locale's language when one exists
    (K'iche' -> Spanish), otherwise English."""
    text = (code or "").strip()
    if not text:
        return DEFAULT_LANGUAGE
    candidates = [text, text.lower(), text.replace("_", "-").lower()]
    candidates.append(candidates[-1].split("-")[0])
    for cand in candidates:
        if load_catalog(cand) is not None:
            return cand
    from assetmap.languages import load_languages

    try:
        langs = load_languages()
    except ConfigError:
        log.warning("language table unreadable; %r shown in English", text)
        return DEFAULT_LANGUAGE
    norm = langs.normalize(text) or langs.normalize(candidates[-1])
    if norm:
        if load_catalog(norm) is not None:
            return norm
        lang = langs.get(norm)
        if lang is not None:
            ui = lang.ui_locale.replace("_", "-").split("-")[0].lower()
            if load_catalog(ui) is not None:
                return ui
    log.info("no catalog for language %r; using English", text)
    return DEFAULT_LANGUAGE


def _babel_locale(locale: str):
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse(locale.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse("en")


def _locale_for(code: str | None) -> str:
    cat = load_catalog(resolve_code(code))
    return cat.locale if cat is not None else DEFAULT_LANGUAGE


def format_km(km: float | int | None, code: str | None = DEFAULT_LANGUAGE) -> str:
    """A distance in km as a number in the language's style: one decimal below 10 km, whole
    km from 10 (``format_km(1.25, 'pt') == '1,2'``; ``format_km(1234, 'en') == '1,234'``).
    A missing or non-finite distance gives an em dash."""
    from babel.numbers import format_decimal

    try:
        value = float(km)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "—"
    if not math.isfinite(value):
        return "—"
    pattern = "#,##0.0" if abs(value) < 10 else "#,##0"
    return format_decimal(value, format=pattern, locale=_babel_locale(_locale_for(code)))


def format_date(day: _dt.date | None = None, code: str | None = DEFAULT_LANGUAGE) -> str:
    """A date in the language's long style (today when omitted), e.g. '23 de noviembre de 2026'.
    A catalog with ``[meta] months`` gives 'day month year' with those names."""
    from babel.dates import format_date as _fmt

    day = day or _dt.date.today()
    cat = load_catalog(resolve_code(code))
    if cat is not None and cat.months:
        return f"{day.day} {cat.months[day.month - 1]} {day.year}"
    locale = cat.locale if cat is not None else DEFAULT_LANGUAGE
    return _fmt(day, format="long", locale=_babel_locale(locale))


#: English weekday words in opening hours (``Mon-Fri 9:00-17:00``) -> Monday-based index.
_DAY_WORDS = {
    **{w: i for i, w in enumerate(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"))},
    **{w: i for i, w in enumerate(("Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                                   "Saturday", "Sunday"))},
    "Tues": 1, "Thur": 3, "Thurs": 3,
}  # fmt: skip
_DAY_RE = None


def format_hours(text: str | None, code: str | None = DEFAULT_LANGUAGE) -> str:
    """Opening hours with the weekday words in the language (``Mon-Fri 9:00-17:00`` ->
    ``lun-vie 9:00-17:00`` in Spanish); times and other words are kept as written. A
    language without weekday names in Babel keeps the English ones."""
    global _DAY_RE
    import re

    from babel.dates import get_day_names

    text = "" if text is None else str(text)
    cat = load_catalog(resolve_code(code))
    locale = cat.locale if cat is not None else DEFAULT_LANGUAGE
    if not text or locale.split("-")[0] == "en":
        return text
    loc = _babel_locale(locale)
    if cat is not None and cat.days:
        names = list(cat.days)
    elif loc.language == "en":
        return text
    else:
        names = get_day_names("abbreviated", locale=loc)
    if _DAY_RE is None:
        words = sorted(_DAY_WORDS, key=len, reverse=True)
        _DAY_RE = re.compile(r"\b(" + "|".join(words) + r")\b\.?")
    return _DAY_RE.sub(lambda m: names[_DAY_WORDS[m.group(1)]], text)


def placeholders(text: str) -> set[str]:
    """Names of the ``{...}`` format fields in a catalog string."""
    try:
        return {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
    except ValueError:
        return set()


class _KeepMissing(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _warn_once(code: str, table: str, key: str) -> None:
    tag = (code, table, key)
    if tag not in _warned:
        _warned.add(tag)
        log.warning("catalog %r has no %s %r; using English", code, table, key)


class Translator:
    """Strings, labels and formats for one language. Call it: ``t('find.heading')``."""

    def __init__(self, catalog: Catalog, fallback: Catalog | None = None) -> None:
        self._cat = catalog
        self._fb = fallback if fallback is not None and fallback is not catalog else None

    code = property(lambda self: self._cat.code, doc="Catalog code ('pt').")
    locale = property(lambda self: self._cat.locale, doc="Babel/BCP-47 locale ('pt-BR').")
    autonym = property(lambda self: self._cat.autonym, doc="The language's own name.")
    rtl = property(lambda self: self._cat.rtl, doc="True for right-to-left scripts.")

    @property
    def dir(self) -> str:
        """HTML ``dir`` value: ``'rtl'`` or ``'ltr'``."""
        return "rtl" if self.rtl else "ltr"

    @property
    def lang(self) -> str:
        """HTML ``lang`` value (the BCP-47 locale)."""
        return self._cat.locale

    def __repr__(self) -> str:
        return f"Translator({self.code!r})"

    def __call__(self, key: str, **fmt: object) -> str:
        """The string for ``key`` with ``{name}`` fields filled from ``fmt``. A key missing here
        comes from English (logged); a key missing everywhere is returned as is."""
        text = self._cat.strings.get(key)
        if text is None and self._fb is not None:
            text = self._fb.strings.get(key)
            if text is not None:
                _warn_once(self.code, "string", key)
        if text is None:
            if (self.code, "missing", key) not in _warned:
                _warned.add((self.code, "missing", key))
                log.warning("no catalog has the string %r; showing the key", key)
            return key
        if not fmt:
            return text
        try:
            return string.Formatter().vformat(text, (), _KeepMissing(fmt))
        except (ValueError, IndexError, AttributeError, KeyError):
            log.warning("catalog %r string %r has a bad format field", self.code, key)
            return text

    def has(self, key: str) -> bool:
        """True when this catalog itself (not the fallback) has ``key``."""
        return key in self._cat.strings

    def need_label(self, code: str) -> str:
        """Label of a need code; a sub-code (``'food.pantry'``) uses its own label when this
        catalog has one, else its top-level label (English: the taxonomy's sub label)."""
        code = (code or "").strip()
        top = code.split(".")[0]
        if code in self._cat.needs:
            return self._cat.needs[code]
        if code != top and self.code == DEFAULT_LANGUAGE:
            tax_label = _taxonomy_label(code)
            if tax_label:
                return tax_label
        if top in self._cat.needs:
            return self._cat.needs[top]
        if self._fb is not None and top in self._fb.needs:
            _warn_once(self.code, "need", top)
            return self._fb.needs[top]
        return _taxonomy_label(top) or code

    def category_label(self, code: str) -> str:
        """Label of a partner category (English, then the taxonomy's label as fallbacks)."""
        code = (code or "").strip()
        if code in self._cat.categories:
            return self._cat.categories[code]
        if self._fb is not None and code in self._fb.categories:
            _warn_once(self.code, "category", code)
            return self._fb.categories[code]
        return _taxonomy_label(code) or code

    def format_km(self, km: float | int | None) -> str:
        """The number of km in this language's style (see :func:`format_km`)."""
        return format_km(km, self.code)

    def distance(self, km: float | int | None, quality: object = "exact") -> str:
        """How far, in this language and ``settings.distance_unit`` (miles by default):
        '0,8 mi' style for an exact placement; for a partner placed at its ZIP area's (or
        town's) centre, a whole number and the area: 'about 2 mi away, ZIP area' — never an
        exact-looking figure (:mod:`assetmap.units`)."""
        from assetmap.units import APPROXIMATE_PLACEMENTS, display_unit, to_unit

        u = display_unit()
        value = to_unit(km, u) if km is not None else None
        area = str(quality or "").lower()
        if value is not None and area in APPROXIMATE_PLACEMENTS and math.isfinite(value):
            from babel.numbers import format_decimal

            whole = format_decimal(
                max(1, round(value)), format="#,##0", locale=_babel_locale(_locale_for(self.code))
            )
            return self(f"find.distance_{area}_{u}", **{u: whole})
        return self(f"find.distance_{u}", **{u: self.format_km(value)})

    def hours(self, text: str | None) -> str:
        """Opening hours with weekday words in this language (see :func:`format_hours`)."""
        return format_hours(text, self.code)

    def format_date(self, day: _dt.date | None = None) -> str:
        """A date in this language's long style (see :func:`format_date`)."""
        return format_date(day, self.code)


def _taxonomy_label(code: str) -> str | None:
    from assetmap.taxonomy import load_taxonomy

    try:
        tax = load_taxonomy()
    except ConfigError:
        return None
    if code in tax.needs or code in tax.categories:
        return tax.label(code)
    return None


@functools.lru_cache(maxsize=64)
def _translator(code: str) -> Translator:
    catalog = load_catalog(code)
    fallback = load_catalog(DEFAULT_LANGUAGE)
    if catalog is None:
        if fallback is None:
            raise ConfigError(f"{locales_dir()}: no English catalog en.toml")
        catalog = fallback
    return Translator(catalog, fallback)


def get_translator(code: str | None = DEFAULT_LANGUAGE) -> Translator:
    """The translator for a language code, locale or name; unknown languages get English."""
    return _translator(resolve_code(code))


def clear_caches() -> None:
    """Forget cached catalogs and translators (after editing catalogs or ASSETMAP_CONFIG_DIR)."""
    _load_catalog_file.cache_clear()
    resolve_code.cache_clear()
    _translator.cache_clear()
    _warned.clear()
