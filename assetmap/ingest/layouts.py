"""Public file layouts recognised by header signature, and the crosswalks that turn a
source's own codes (NAICS, HIFLD TYPE, IMLS outlet type, NTEE, facility words) into
categories and services. Both are reviewable tables in ``config/crosswalks/``.

>>> lay = recognise(["LIBNAME", "ADDRESS", "C_OUT_TY", "LATITUDE", "LONGITUD", "HOURS"], "partners")
>>> lay.key, lay.category
('imls_pls_outlet', 'library')
>>> load_crosswalk("naics").lookup("624410").category
'early_childhood'
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assetmap._errors import ConfigError
from assetmap._text import fold
from assetmap.ingest.headers import header_key
from assetmap.settings import config_dir

__all__ = [
    "Entry",
    "Crosswalk",
    "Layout",
    "crosswalk_dir",
    "load_crosswalk",
    "load_layouts",
    "recognise",
    "resolve",
]

_VINTAGE = re.compile(r"^([a-z]+)\d{2}$")


def crosswalk_dir() -> Path:
    """``config/crosswalks``."""
    return config_dir() / "crosswalks"


@dataclass(frozen=True)
class Entry:
    """What one source value means: a category and/or services and delivery modes."""

    category: str | None = None
    services: tuple[str, ...] = ()
    delivery: tuple[str, ...] = ()
    sensitive: bool = False


@dataclass(frozen=True)
class Crosswalk:
    """A value -> :class:`Entry` table; ``match`` is exact, prefix (longest wins) or words."""

    name: str
    match: str
    table: dict[str, Entry]
    _words: tuple[tuple[re.Pattern[str], Entry], ...] = field(default=(), repr=False)

    def lookup(self, value: Any) -> Entry | None:
        """The entry for a cell value, or None when the table does not know it."""
        text = str(value).strip() if value is not None else ""
        if not text or text.lower() in ("nan", "none", "<na>"):
            return None
        if self.match == "prefix":
            code = re.sub(r"\.0$", "", text).upper()
            for n in range(len(code), 0, -1):
                if code[:n] in self.table:
                    return self.table[code[:n]]
            return None
        if self.match == "words":
            folded = fold(text)
            for pattern, entry in self._words:
                if pattern.search(folded):
                    return entry
            return None
        return self.table.get(_exact_key(text))


def _exact_key(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"\.0$", "", str(text)).strip().upper())


def _entry(spec: Any, where: str) -> Entry:
    if isinstance(spec, str):
        return Entry(category=spec)
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: expected a category or a table, got {spec!r}")
    return Entry(
        category=spec.get("category"),
        services=tuple(spec.get("services", ())),
        delivery=tuple(spec.get("delivery", ())),
        sensitive=bool(spec.get("sensitive", False)),
    )


@functools.lru_cache(maxsize=32)
def _crosswalk(path: str, name: str) -> Crosswalk | None:
    p = Path(path)
    if not p.is_file():
        return None
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read the crosswalk ({exc})") from exc
    match = raw.get("match", "exact")
    if match not in ("exact", "prefix", "words"):
        raise ConfigError(f"{p}: match must be exact, prefix or words, not {match!r}")
    table: dict[str, Entry] = {}
    words: list[tuple[re.Pattern[str], Entry]] = []
    for key, spec in raw.get("map", {}).items():
        entry = _entry(spec, f"{p} [{key}]")
        if match == "words":
            words.append((re.compile(r"\b" + re.escape(fold(key)) + r"\b"), entry))
        else:
            table[key.upper() if match == "prefix" else _exact_key(key)] = entry
    return Crosswalk(name=name, match=match, table=table, _words=tuple(words))


def load_crosswalk(name: str) -> Crosswalk | None:
    """``config/crosswalks/<name>.toml`` as a :class:`Crosswalk` (None when absent)."""
    return _crosswalk(str(crosswalk_dir() / f"{name}.toml"), name)


@dataclass(frozen=True)
class Layout:
    """One public layout (see ``config/crosswalks/layouts.toml`` for the fields)."""

    key: str
    label: str
    kind: str
    signature: tuple[str, ...]
    columns: dict[str, str]
    ignore: tuple[str, ...] = ()
    category: str | None = None
    crosswalk: tuple[tuple[str, str], ...] = ()
    classifier: str | None = None
    id: tuple[str, ...] = ()
    vintage: bool = False


@functools.lru_cache(maxsize=4)
def _layouts(path: str) -> tuple[Layout, ...]:
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the layouts ({exc})") from exc
    out = []
    for key, spec in raw.items():
        try:
            out.append(
                Layout(
                    key=key,
                    label=spec.get("label", key),
                    kind=spec["kind"],
                    signature=tuple(spec["signature"]),
                    columns=dict(spec.get("columns", {})),
                    ignore=tuple(spec.get("ignore", ())),
                    category=spec.get("category"),
                    crosswalk=tuple((c, x) for c, x in spec.get("crosswalk", ())),
                    classifier=spec.get("classifier"),
                    id=tuple(spec.get("id", ())),
                    vintage=bool(spec.get("vintage", False)),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{path} [{key}]: bad layout ({exc})") from exc
    return tuple(out)


def load_layouts() -> tuple[Layout, ...]:
    """Every layout of ``config/crosswalks/layouts.toml``."""
    return _layouts(str(crosswalk_dir() / "layouts.toml"))


def _keys(header: object, vintage: bool) -> set[str]:
    k = header_key(header)
    m = _VINTAGE.match(k) if vintage else None
    return {k, m.group(1)} if m else {k}


def resolve(columns: Iterable[object], wanted: str, vintage: bool = False) -> str | None:
    """The actual column of a frame that is the layout's header ``wanted`` (or None)."""
    key = header_key(wanted)
    for c in columns:
        if isinstance(c, str) and key in _keys(c, vintage):
            return c
    return None


def recognise(columns: Iterable[object], kind: str) -> Layout | None:
    """The layout whose whole signature is among the headers (longest signature wins)."""
    cols = [c for c in columns if isinstance(c, str)]
    best: Layout | None = None
    for lay in load_layouts():
        if lay.kind != kind:
            continue
        have: set[str] = set()
        for c in cols:
            have |= _keys(c, lay.vintage)
        if all(header_key(s) in have for s in lay.signature):
            if best is None or len(lay.signature) > len(best.signature):
                best = lay
    return best
