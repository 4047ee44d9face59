"""The one header mapper: source column -> canonical field, with a confidence.

Used by ``validate``/``import`` (:func:`assetmap.schema.map_columns`), the Data page and
onboarding (:func:`assetmap.onboard.suggest_mapping`) and the store. The order of methods:

1. ``exact``     the header is the canonical name (``postal_code``)
2. ``synonym``   a synonym from ``config/columns.toml`` (case, accents, spaces, punctuation
                 ignored: ``Zip-Code``, ``Phone #``)
3. ``truncated`` DBF's 10-character cut of a synonym (``district_i`` -> ``district_id``)
4. ``vintage``   a Census vintage suffix dropped (``NAME20``, ``GEOID10``, ``NAMELSAD20``)
5. ``fuzzy``     rapidfuzz similarity >= :data:`FUZZY_MIN_SCORE` (``Org Name``)

One source column per field: the best method (then the best score, then the first column)
wins; the losers are left unmapped (and reported when a report is given).
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from rapidfuzz import fuzz, process

from assetmap._errors import ConfigError
from assetmap._text import fold
from assetmap.report import ValidationReport
from assetmap.settings import config_dir

__all__ = [
    "FUZZY_MIN_SCORE",
    "HeaderMatch",
    "header_key",
    "synonyms",
    "match_header",
    "map_headers",
    "closest_columns",
]

#: Fuzzy matches below this score are not used.
FUZZY_MIN_SCORE = 85.0
METHOD_RANK = {"saved": 0, "layout": 0, "exact": 1, "synonym": 2, "truncated": 3, "vintage": 3}
METHOD_RANK |= {"derived": 0, "fuzzy": 4, "none": 5}
#: Ids are never guessed: 'Location 1' is not 'location id'.
_NO_FUZZY = frozenset({"partner_id", "school_id", "boundary_id", "district_id"})
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_VINTAGE = re.compile(r"^([a-z]+)\d{2}$")


class HeaderMatch(NamedTuple):
    """One source column and the field it maps to (``field`` None: not mapped)."""

    column: str
    field: str | None
    score: float  # 0-100
    method: str  # layout | derived | saved | exact | synonym | truncated | vintage | fuzzy | none

    @property
    def confidence(self) -> float:
        """0-1, as shown in ``validate --json``."""
        return round(self.score / 100.0, 2)


@functools.lru_cache(maxsize=8192)
def header_key(text: object) -> str:
    """Header comparison key: accents folded, lower case, only letters and digits."""
    return _NON_ALNUM.sub("", fold(text))


@functools.lru_cache(maxsize=4)
def _load(path: str) -> dict[str, dict[str, list[str]]]:
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read header synonyms ({exc})") from exc
    return {kind: {canon: list(v) for canon, v in table.items()} for kind, table in raw.items()}


def synonyms(kind: str = "partners") -> dict[str, list[str]]:
    """``canonical -> [synonyms]`` for a kind (partners, schools, boundaries)."""
    table = _load(str(config_dir() / "columns.toml"))
    if kind not in table:
        raise ConfigError(f"columns.toml has no [{kind}] table (known: {', '.join(sorted(table))})")
    return table[kind]


@functools.lru_cache(maxsize=16)
def _indexes(path: str, kind: str) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    table = synonyms(kind)
    exact = {header_key(c): c for c in table}
    syn: dict[str, str] = dict(exact)
    trunc: dict[str, str] = {}
    for canon, words in table.items():
        for w in words:
            syn.setdefault(header_key(w), canon)
        for w in [canon, *words]:
            under = re.sub(r"[\s\-]+", "_", fold(w))
            if len(under) > 10:
                trunc.setdefault(under[:10], canon)
    return exact, syn, trunc


@functools.lru_cache(maxsize=16)
def _fuzzy_choices(path: str, kind: str) -> dict[str, str]:
    choices: dict[str, str] = {}
    for canon, words in synonyms(kind).items():
        if canon in _NO_FUZZY:
            continue
        for w in [canon.replace("_", " "), *words]:
            k = _NON_ALNUM.sub(" ", fold(w)).strip()
            if len(k.replace(" ", "")) >= 4:  # 'x', 'y', 'st' would match anything
                choices.setdefault(k, canon)
    return choices


def _fuzzy_score(a: str, b: str, **_: object) -> float:
    """Best of plain similarity and (slightly discounted) word-set overlap."""
    subset = 0.95 * fuzz.token_set_ratio(a, b) if min(len(a), len(b)) >= 4 else 0.0
    return max(fuzz.ratio(a, b), subset)


def match_header(column: object, *, kind: str = "partners", fuzzy: bool = True) -> HeaderMatch:
    """Best canonical field for one header (see the module docstring for the order)."""
    col = str(column)
    key = header_key(col)
    if not key:
        return HeaderMatch(col, None, 0.0, "none")
    path = str(config_dir() / "columns.toml")
    exact, syn, trunc = _indexes(path, kind)
    if key in exact:
        return HeaderMatch(col, exact[key], 100.0, "exact")
    if key in syn:
        return HeaderMatch(col, syn[key], 100.0, "synonym")
    if len(col) == 10 and fold(col).replace(" ", "_") in trunc:
        return HeaderMatch(col, trunc[fold(col).replace(" ", "_")], 95.0, "truncated")
    m = _VINTAGE.match(key)
    if m and m.group(1) in syn:
        return HeaderMatch(col, syn[m.group(1)], 95.0, "vintage")
    if not fuzzy:
        return HeaderMatch(col, None, 0.0, "none")
    choices = _fuzzy_choices(path, kind)
    spaced = _NON_ALNUM.sub(" ", fold(col)).strip()
    hit = process.extractOne(spaced, list(choices), scorer=_fuzzy_score)
    if hit and hit[1] >= FUZZY_MIN_SCORE:
        return HeaderMatch(col, choices[hit[0]], round(float(hit[1]), 1), "fuzzy")
    return HeaderMatch(col, None, round(float(hit[1]), 1) if hit else 0.0, "none")


def map_headers(
    columns: Iterable[object],
    *,
    kind: str = "partners",
    report: ValidationReport | None = None,
    fixed: dict[str, HeaderMatch] | None = None,
) -> list[HeaderMatch]:
    """A match for every column, in the given order, with at most one column per field.

    ``fixed`` holds matches decided beforehand (a recognised layout, a saved mapping); they
    win over everything else. When two columns mean the same field, the better method wins
    (an exact name beats a synonym, a synonym beats fuzzy) and, with a report, a warning
    names both (except when the winner is literally the canonical name).
    """
    cols = [str(c) for c in columns if isinstance(c, str) and c != "geometry"]
    fixed = fixed or {}
    proposals = {c: fixed.get(c) or match_header(c, kind=kind) for c in cols}
    order = sorted(
        cols, key=lambda c: (METHOD_RANK.get(proposals[c].method, 9), -proposals[c].score)
    )
    taken: dict[str, str] = {}
    final: dict[str, HeaderMatch] = {}
    for col in order:
        m = proposals[col]
        if m.field is not None and m.field in taken:
            winner = taken[m.field]
            if report is not None and winner != m.field and proposals[winner].method != "layout":
                report.warn(
                    f"columns {winner!r} and {col!r} both mean {m.field!r}; used {winner!r}",
                    hint=f"rename or remove {col!r}",
                    column=col,
                )
            final[col] = HeaderMatch(col, None, m.score, "none")
            continue
        if m.field is not None:
            taken[m.field] = col
        final[col] = m
    return [final[c] for c in cols]


def closest_columns(
    fld: str, columns: Iterable[object], *, kind: str = "partners", n: int = 3, floor: float = 50
) -> list[tuple[str, float]]:
    """The source columns most like a missing field (its name and synonyms), best first,
    with their score (0-100, at least ``floor``), for messages such as "name is missing;
    closest: 'Org'"."""
    words = [fld.replace("_", " "), *synonyms(kind).get(fld, [])]
    keys = [_NON_ALNUM.sub(" ", fold(w)).strip() for w in words]
    scored = []
    for c in columns:
        if not isinstance(c, str) or c == "geometry":
            continue
        spaced = _NON_ALNUM.sub(" ", fold(c)).strip()
        if not spaced:
            continue
        best = max(_fuzzy_score(spaced, k) for k in keys if k)
        if best >= floor:
            scored.append((c, round(float(best), 1)))
    scored.sort(key=lambda t: -t[1])
    return scored[:n]
