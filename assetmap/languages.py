"""Home-language table of ``config/languages.toml`` and free-text normalisation.

Order (DOMAIN.md §3): curated variants table, accent-folded match, then ``langcodes``;
otherwise the answer is queued for review (returned as unknown).

>>> langs = load_languages()
>>> [langs.normalize(x) for x in ["español", "Kreyol", "Portuguese (Brazil)", "Dari"]]
['es', 'ht', 'pt', 'prs']
>>> langs.normalize("Creole") is None
True
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from assetmap._errors import ConfigError
from assetmap._text import clean, drop_parentheticals, fold, split_list
from assetmap.settings import config_dir

__all__ = ["Language", "LanguageTable", "load_languages"]


@dataclass(frozen=True)
class Language:
    code: str
    iso639_3: str
    ui_locale: str
    english: str
    autonym: str
    variants: tuple[str, ...] = ()
    rtl: bool = False
    note: str = ""


@dataclass(frozen=True)
class LanguageTable:
    languages: dict[str, Language]
    ambiguous: frozenset[str] = frozenset()
    _keys: dict[str, str] = field(default_factory=dict, repr=False)

    def __contains__(self, code: object) -> bool:
        return code in self.languages

    def get(self, code: str) -> Language | None:
        return self.languages.get(code)

    def name(self, code: str, *, autonym: bool = False) -> str:
        lang = self.languages.get(code)
        if lang is None:
            return code
        return lang.autonym if autonym else lang.english

    def is_rtl(self, code: str) -> bool:
        lang = self.languages.get(code)
        return bool(lang and lang.rtl)

    def normalize(self, text: object) -> str | None:
        """The stored code (639-1, else 639-3) for a free-text answer, or None (review)."""
        raw = clean(text)
        if not raw:
            return None
        for key in (raw, drop_parentheticals(raw)):
            if key in self.ambiguous or fold(key) in self.ambiguous:
                return None
            hit = self._keys.get(key) or self._keys.get(fold(key))
            if hit:
                return hit
        return self._langcodes(drop_parentheticals(raw))

    def _langcodes(self, text: str) -> str | None:
        try:
            import langcodes

            try:
                lang = langcodes.find(text)
            except LookupError:
                lang = langcodes.Language.get(text)
                if not lang.is_valid():
                    return None
            code = lang.language or ""
        except (LookupError, ValueError, ImportError):
            return None
        if not code or code == "und":
            return None
        for lang_code, spec in self.languages.items():
            if code == spec.iso639_3:
                return lang_code
        # A real language outside our table (e.g. Tagalog 'tl') is kept as its code.
        return {"cmn": "zh", "yue": "zh", "kbj": "ksw"}.get(code, code)

    def normalize_list(self, value: object) -> tuple[list[str], list[str]]:
        """Split a list cell and normalise each: (codes, unknown answers)."""
        codes: list[str] = []
        unknown: list[str] = []
        for item in split_list(value, seps=";|,/"):
            code = self.normalize(item)
            if code is None:
                unknown.append(item)
            elif code not in codes:
                codes.append(code)
        return codes, unknown


@functools.lru_cache(maxsize=4)
def load_languages(path: Path | None = None) -> LanguageTable:
    """Read ``config/languages.toml`` (cached)."""
    path = path or config_dir() / "languages.toml"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        langs: dict[str, Language] = {}
        keys: dict[str, str] = {}
        for code, spec in raw["languages"].items():
            lang = Language(
                code=code,
                iso639_3=spec["iso639_3"],
                ui_locale=spec.get("ui_locale", code),
                english=spec["english"],
                autonym=spec["autonym"],
                variants=tuple(spec.get("variants", ())),
                rtl=bool(spec.get("rtl", False)),
                note=spec.get("note", ""),
            )
            langs[code] = lang
            for v in (*lang.variants, lang.english, lang.autonym, code, lang.iso639_3):
                keys.setdefault(clean(v), code)
                keys.setdefault(fold(v), code)
        amb = frozenset(clean(a) for a in raw.get("ambiguous", ()))
    except (OSError, tomllib.TOMLDecodeError, KeyError) as exc:
        raise ConfigError(f"{path}: cannot read the language table ({exc})") from exc
    return LanguageTable(languages=langs, ambiguous=amb, _keys=keys)
