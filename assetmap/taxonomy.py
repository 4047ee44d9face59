"""The need/service codes and partner categories of ``config/taxonomy.toml``.

>>> tax = load_taxonomy()
>>> tax.normalize_need("Food Pantry")
'food.pantry'
>>> tax.normalize_category("Public Library")
'library'
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from assetmap._errors import ConfigError
from assetmap._text import clean, fold, split_list
from assetmap.settings import config_dir

__all__ = ["Need", "Category", "Taxonomy", "load_taxonomy"]


@dataclass(frozen=True)
class Need:
    """A need/service code, top level (``food``) or second level (``food.pantry``)."""

    code: str
    label: str
    icon: str = "circle"
    color: str = "#999999"
    oe_ids: tuple[str, ...] = ()
    airs: tuple[str, ...] = ()
    synonyms: tuple[str, ...] = ()
    parent: str | None = None

    @property
    def top(self) -> str:
        return self.code.split(".")[0]


@dataclass(frozen=True)
class Category:
    """A partner category (one per site)."""

    code: str
    label: str
    color: str = "#999999"
    icon: str = "circle"
    default_services: tuple[str, ...] = ()
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Taxonomy:
    """Needs and categories with lookups from free text."""

    name: str
    version: str
    uri: str
    needs: dict[str, Need]
    categories: dict[str, Category]
    _need_keys: dict[str, str] = field(default_factory=dict, repr=False)
    _cat_keys: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def top_needs(self) -> list[str]:
        """Top-level need codes in config order."""
        return [c for c, n in self.needs.items() if n.parent is None]

    def label(self, code: str) -> str:
        if code in self.needs:
            return self.needs[code].label
        if code in self.categories:
            return self.categories[code].label
        return code

    def normalize_need(self, text: object) -> str | None:
        """A need code for free text or a code ('Food pantry' -> 'food.pantry'); None if unknown."""
        key = clean(text)
        if not key:
            return None
        if key in self.needs:
            return key
        return self._need_keys.get(key) or self._need_keys.get(fold(key))

    def normalize_needs(self, value: object) -> tuple[list[str], list[str]]:
        """Split a list cell and normalise each item: (codes, unknown items)."""
        codes: list[str] = []
        unknown: list[str] = []
        for item in split_list(value, seps=";|,"):
            code = self.normalize_need(item)
            if code is None:
                unknown.append(item)
            elif code not in codes:
                codes.append(code)
        return codes, unknown

    def normalize_category(self, text: object) -> str | None:
        key = clean(text)
        if not key:
            return None
        if key in self.categories:
            return key
        return self._cat_keys.get(key) or self._cat_keys.get(fold(key))

    def expand(self, code: str) -> set[str]:
        """A code plus its top level: a partner serving 'food' serves any 'food.*' need."""
        return {code, code.split(".")[0]}

    def serves(self, services: list[str] | tuple[str, ...], need: str) -> bool:
        """True when a service list covers a need (top-level service covers every sub-need;
        a sub-service covers its own sub-need and the top-level need)."""
        top = need.split(".")[0]
        for s in services:
            if s == need or s == top or (s.split(".")[0] == top and "." not in need):
                return True
        return False


def _build(raw: dict) -> Taxonomy:
    needs: dict[str, Need] = {}
    need_keys: dict[str, str] = {}
    for code, spec in raw.get("needs", {}).items():
        needs[code] = Need(
            code=code,
            label=spec["label"],
            icon=spec.get("icon", "circle"),
            color=spec.get("color", "#999999"),
            oe_ids=tuple(spec.get("oe_ids", ())),
            airs=tuple(spec.get("airs", ())),
            synonyms=tuple(spec.get("synonyms", ())),
        )
        for sub, sspec in spec.get("sub", {}).items():
            scode = f"{code}.{sub}"
            needs[scode] = Need(
                code=scode,
                label=sspec["label"],
                icon=spec.get("icon", "circle"),
                color=spec.get("color", "#999999"),
                oe_ids=tuple(sspec.get("oe_ids", ())),
                synonyms=tuple(sspec.get("synonyms", ())),
                parent=code,
            )
    # Top-level synonyms first, so the more specific second-level code wins a shared phrase.
    for code, need in sorted(needs.items(), key=lambda kv: kv[1].parent is not None):
        for s in (*need.synonyms, need.label, code, code.replace("_", " ")):
            need_keys[clean(s)] = code
            need_keys[fold(s)] = code
    cats: dict[str, Category] = {}
    cat_keys: dict[str, str] = {}
    for code, spec in raw.get("categories", {}).items():
        for svc in spec.get("default_services", ()):
            if svc not in needs:
                raise ConfigError(f"taxonomy: category {code!r} lists unknown service {svc!r}")
        cats[code] = Category(
            code=code,
            label=spec["label"],
            color=spec.get("color", "#999999"),
            icon=spec.get("icon", "circle"),
            default_services=tuple(spec.get("default_services", ())),
            synonyms=tuple(spec.get("synonyms", ())),
        )
        for s in (*cats[code].synonyms, cats[code].label, code, code.replace("_", " ")):
            cat_keys[clean(s)] = code
            cat_keys[fold(s)] = code
    meta = raw.get("taxonomy", {})
    return Taxonomy(
        name=meta.get("name", "assetmap-needs"),
        version=str(meta.get("version", "1")),
        uri=meta.get("uri", ""),
        needs=needs,
        categories=cats,
        _need_keys=need_keys,
        _cat_keys=cat_keys,
    )


@functools.lru_cache(maxsize=4)
def load_taxonomy(path: Path | None = None) -> Taxonomy:
    """Read ``config/taxonomy.toml`` (cached)."""
    path = path or config_dir() / "taxonomy.toml"
    try:
        return _build(tomllib.loads(path.read_text(encoding="utf-8")))
    except (OSError, tomllib.TOMLDecodeError, KeyError) as exc:
        raise ConfigError(f"{path}: cannot read the taxonomy ({exc})") from exc
