"""Persistent geocode cache (SQLite, WAL) so no address is ever asked twice.

Key = provider + normalised address. Negative answers (no match, tie) are stored too, so a
``No_Match`` is not asked again; transport errors are never stored. Safe across threads and
processes (each call opens its own connection; SQLite WAL handles concurrent writers).
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from assetmap._text import fold

__all__ = ["GeocodeCache", "address_key"]

_NON_WORD = re.compile(r"[^a-z0-9]+")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS geocode (
    provider TEXT NOT NULL,
    key TEXT NOT NULL,
    status TEXT NOT NULL,
    lat REAL,
    lon REAL,
    quality TEXT NOT NULL,
    matched_address TEXT,
    created REAL NOT NULL,
    PRIMARY KEY (provider, key)
)
"""


def address_key(text: str) -> str:
    """Normalised cache key: accent-folded, lower case, punctuation collapsed."""
    return _NON_WORD.sub(" ", fold(text)).strip()


class GeocodeCache:
    """A tiny key-value store of geocoding answers in one SQLite file."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def get_many(self, provider: str, keys: Iterable[str]) -> dict[str, tuple]:
        """``key -> (status, lat, lon, quality, matched_address)`` for the keys that are cached."""
        keys = list(dict.fromkeys(keys))
        out: dict[str, tuple] = {}
        con = self._connect()
        try:
            for i in range(0, len(keys), 500):
                chunk = keys[i : i + 500]
                marks = ",".join("?" * len(chunk))
                rows = con.execute(
                    "SELECT key, status, lat, lon, quality, matched_address FROM geocode "  # noqa: S608
                    f"WHERE provider = ? AND key IN ({marks})",
                    [provider, *chunk],
                ).fetchall()
                for key, *rest in rows:
                    out[key] = tuple(rest)
        finally:
            con.close()
        return out

    def put_many(self, provider: str, entries: Mapping[str, tuple]) -> None:
        """Store ``key -> (status, lat, lon, quality, matched_address)``."""
        if not entries:
            return
        now = time.time()
        con = self._connect()
        try:
            with con:
                con.executemany(
                    "INSERT OR REPLACE INTO geocode "
                    "(provider, key, status, lat, lon, quality, matched_address, created) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [(provider, k, *v, now) for k, v in entries.items()],
                )
        finally:
            con.close()

    def __len__(self) -> int:
        con = self._connect()
        try:
            return int(con.execute("SELECT COUNT(*) FROM geocode").fetchone()[0])
        finally:
            con.close()
