"""Text folding shared by the normalisers: lower case, no accents, no parentheticals."""

from __future__ import annotations

import re
import unicodedata

from anyascii import anyascii

_PAREN = re.compile(r"\s*[\(\[].*?[\)\]]\s*")
_SPACE = re.compile(r"[\s_]+")


def clean(text: object) -> str:
    """Lower-case, trimmed, single-spaced, NFC text ('' for None/NaN)."""
    if text is None:
        return ""
    s = str(text)
    if s.lower() in ("nan", "none", "<na>"):
        return ""
    s = unicodedata.normalize("NFC", s).strip().lower()
    return _SPACE.sub(" ", s)


def drop_parentheticals(text: str) -> str:
    return _PAREN.sub(" ", text).strip()


def fold(text: object) -> str:
    """Accent-folded ASCII key: 'Kreyòl' -> 'kreyol', 'Español' -> 'espanol'."""
    s = clean(text)
    if not s:
        return ""
    return _SPACE.sub(" ", anyascii(s).lower()).strip()


def split_list(value: object, seps: str = ";|,/") -> list[str]:
    """Split a list cell ('a; b|c') into trimmed, non-empty items, order kept, no duplicates."""
    if value is None:
        return []
    if isinstance(value, list | tuple | set):
        items = [str(v) for v in value]
    else:
        s = str(value)
        if s.strip().lower() in ("", "nan", "none", "<na>"):
            return []
        items = re.split("[" + re.escape(seps) + "]", s)
    out: list[str] = []
    for it in items:
        it = it.strip()
        if it and it not in out:
            out.append(it)
    return out
