"""Onboarding any spreadsheet: map its columns onto the canonical ones, and remember the mapping.

1. :func:`suggest_mapping` proposes, for each source column, a canonical column with a score and
   the method that found it: a saved mapping for this source, a header synonym from
   ``config/columns.toml`` (case, accents, spaces, ``_-.`` ignored), or fuzzy matching
   (rapidfuzz) against every canonical name and synonym.
2. :func:`save_mapping` / :func:`load_mapping` keep the confirmed mapping per source (JSON under
   ``var/mappings/``, next to the geocode cache), so the next upload from the same source maps
   itself.
3. :func:`apply_mapping` renames the columns (a copy; the input is never changed).
"""

from __future__ import annotations

import functools
import json
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import pandas as pd
from rapidfuzz import fuzz, process

from assetmap._errors import ConfigError, InputError
from assetmap._text import fold
from assetmap.settings import config_dir, get_settings

__all__ = [
    "Suggestion",
    "header_key",
    "synonyms",
    "match_header",
    "suggest_mapping",
    "mapping_dir",
    "mapping_path",
    "save_mapping",
    "load_mapping",
    "apply_mapping",
]

#: Fuzzy matches below this score are not suggested.
FUZZY_MIN_SCORE = 85.0
_KEY = re.compile(r"[^a-z0-9]+")


class Suggestion(NamedTuple):
    """One source column and the canonical column proposed for it (``None``: no proposal)."""

    source_column: str
    canonical: str | None
    score: float
    method: str  # saved | exact | synonym | fuzzy | none


def header_key(text: object) -> str:
    """Header comparison key: accents folded, lower case, no spaces/underscores/dashes/dots."""
    return _KEY.sub("", fold(text))


@functools.lru_cache(maxsize=4)
def _load_columns(path: str) -> dict[str, dict[str, list[str]]]:
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read header synonyms ({exc})") from exc
    return {kind: {canon: list(v) for canon, v in table.items()} for kind, table in raw.items()}


def synonyms(kind: str = "partners") -> dict[str, list[str]]:
    """``canonical -> [synonyms]`` for a kind (partners, schools, boundaries)."""
    table = _load_columns(str(config_dir() / "columns.toml"))
    if kind not in table:
        raise ConfigError(f"columns.toml has no [{kind}] table (known: {', '.join(sorted(table))})")
    return table[kind]


def _synonym_index(kind: str) -> dict[str, str]:
    index: dict[str, str] = {}
    for canon in synonyms(kind):
        index.setdefault(header_key(canon), canon)
    for canon, words in synonyms(kind).items():
        for w in words:
            index.setdefault(header_key(w), canon)
    return index


def _fuzzy_score(a: str, b: str, **_: object) -> float:
    """Best of plain similarity and (slightly discounted) word-set overlap."""
    subset = 0.95 * fuzz.token_set_ratio(a, b) if min(len(a), len(b)) >= 4 else 0.0
    return max(fuzz.ratio(a, b), subset)


def match_header(column: str, *, kind: str = "partners") -> tuple[str | None, float, str]:
    """Best canonical column for one header: ``(canonical, score, method)``."""
    key = header_key(column)
    if not key:
        return None, 0.0, "none"
    table = synonyms(kind)
    if key in {header_key(c) for c in table}:
        return next(c for c in table if header_key(c) == key), 100.0, "exact"
    index = _synonym_index(kind)
    if key in index:
        return index[key], 100.0, "synonym"
    # Fuzzy: compare the header (spaced form) with every name and synonym of 4+ letters (short
    # ones such as 'x', 'y', 'st' match anything), by plain similarity or word-set overlap.
    spaced = _KEY.sub(" ", fold(column)).strip()
    choices: dict[str, str] = {}
    for canon, words in table.items():
        for w in [canon.replace("_", " "), *words]:
            k = _KEY.sub(" ", fold(w)).strip()
            if len(k.replace(" ", "")) >= 4:
                choices.setdefault(k, canon)
    hit = process.extractOne(spaced, list(choices), scorer=_fuzzy_score)
    if hit and hit[1] >= FUZZY_MIN_SCORE:
        return choices[hit[0]], round(float(hit[1]), 1), "fuzzy"
    return None, round(float(hit[1]), 1) if hit else 0.0, "none"


def suggest_mapping(
    columns: Sequence[str], *, kind: str = "partners", source_key: str | None = None
) -> list[Suggestion]:
    """Propose a canonical column for every source column (one source column per canonical).

    A saved mapping for ``source_key`` wins; then exact names and synonyms; then fuzzy matches
    (best score first). Columns left without a proposal get ``canonical=None``.
    """
    saved = load_mapping(source_key) if source_key else None
    proposals: dict[str, tuple[str | None, float, str]] = {}
    for col in columns:
        if saved is not None and col in saved:
            proposals[col] = (saved[col], 100.0, "saved") if saved[col] else (None, 0.0, "saved")
        else:
            proposals[col] = match_header(col, kind=kind)
    method_rank = {"saved": 0, "exact": 1, "synonym": 2, "fuzzy": 3, "none": 4}
    order = sorted(columns, key=lambda c: (method_rank[proposals[c][2]], -proposals[c][1]))
    taken: set[str] = set()
    final: dict[str, Suggestion] = {}
    for col in order:
        canon, score, method = proposals[col]
        if canon is not None and canon in taken:
            final[col] = Suggestion(col, None, score, "none")
            continue
        if canon is not None:
            taken.add(canon)
        final[col] = Suggestion(col, canon, score, method)
    return [final[c] for c in columns]


def mapping_dir() -> Path:
    """Where saved mappings live: ``mappings/`` next to the geocode cache (``var/`` by default)."""
    return Path(get_settings().geocode_cache_path).parent / "mappings"


def mapping_path(source_key: str) -> Path:
    """The JSON file of one source; the key is reduced to a safe file name."""
    safe = re.sub(r"[^A-Za-z0-9_-]+", "_", fold(source_key)).strip("_.")[:80]
    if not safe:
        raise InputError(
            f"mapping source key {source_key!r} has no usable characters; use letters or digits"
        )
    return mapping_dir() / f"{safe}.json"


def save_mapping(source_key: str, mapping: Mapping[str, str | None]) -> Path:
    """Remember ``source column -> canonical column`` for a source (atomic write)."""
    path = mapping_path(source_key)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {
        "source": source_key,
        "mapping": {str(k): (str(v) if v else None) for k, v in mapping.items()},
    }
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(body, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)
    return path


def load_mapping(source_key: str) -> dict[str, str | None] | None:
    """The saved mapping of a source, or ``None`` when there is none (or it is unreadable)."""
    path = mapping_path(source_key)
    if not path.exists():
        return None
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        return {str(k): (str(v) if v else None) for k, v in body["mapping"].items()}
    except (OSError, ValueError, KeyError, AttributeError):
        return None


def apply_mapping(df: pd.DataFrame, mapping: Mapping[str, str | None]) -> pd.DataFrame:
    """A copy with source columns renamed to their canonical names.

    Columns mapped to ``None`` or not in the mapping keep their names unless that name is a
    canonical target (then they get a ``source_`` prefix, so nothing is silently overwritten).
    Two columns mapped to the same canonical name is an error.
    """
    targets: dict[str, str] = {}
    for src, canon in mapping.items():
        if canon and src in df.columns:
            if canon in targets:
                raise InputError(
                    f"columns {targets[canon]!r} and {src!r} are both mapped to {canon!r}; "
                    "map only one of them"
                )
            targets[canon] = src
    rename = {src: canon for canon, src in targets.items()}
    for col in df.columns:
        if col not in rename and col in targets and targets[col] != col:
            rename[col] = f"source_{col}"
    return df.rename(columns=rename)
