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

import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from assetmap._errors import InputError
from assetmap._text import fold
from assetmap.ingest import headers as _headers
from assetmap.settings import get_settings

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
FUZZY_MIN_SCORE = _headers.FUZZY_MIN_SCORE
header_key = _headers.header_key
synonyms = _headers.synonyms


class Suggestion(NamedTuple):
    """One source column and the canonical column proposed for it (``None``: no proposal)."""

    source_column: str
    canonical: str | None
    score: float
    method: str  # saved | exact | synonym | truncated | vintage | fuzzy | none


def match_header(column: str, *, kind: str = "partners") -> tuple[str | None, float, str]:
    """Best canonical column for one header: ``(canonical, score, method)`` (the one header
    mapper of :mod:`assetmap.ingest.headers`)."""
    m = _headers.match_header(column, kind=kind)
    return m.field, m.score, m.method


def suggest_mapping(
    columns: Sequence[str], *, kind: str = "partners", source_key: str | None = None
) -> list[Suggestion]:
    """Propose a canonical column for every source column (one source column per canonical).

    A saved mapping for ``source_key`` wins; then exact names and synonyms; then fuzzy matches
    (best score first). Columns left without a proposal get ``canonical=None``.
    """
    from assetmap.ingest.prepare import layout_matches

    saved = load_mapping(source_key) if source_key else None
    fixed = layout_matches([str(c) for c in columns], kind)
    for col in columns:
        if saved is not None and col in saved:
            fld = saved[col] or None
            fixed[col] = _headers.HeaderMatch(col, fld, 100.0 if fld else 0.0, "saved")
    matches = _headers.map_headers(columns, kind=kind, fixed=fixed)
    by_col = {m.column: m for m in matches}
    out = []
    for col in columns:
        m = by_col.get(col) or _headers.HeaderMatch(str(col), None, 0.0, "none")
        method = m.method if m.field or m.method == "saved" else "none"
        out.append(Suggestion(col, m.field, m.score, method))
    return out


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
