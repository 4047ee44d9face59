"""Programs and their outcomes in the store: three tables added beside the partner tables.

``programs`` (current record, versioned), ``program_history`` (every saved version: who,
when, what) and ``program_outcomes`` (append-only: a correction is a new row, nothing is
overwritten, so the history of what was recorded is kept). The tables are created on first
use in either back end (GeoPackage: registered as attribute tables in ``gpkg_contents``).
Records are kept as JSON text beside their key columns, so one SQL text serves SQLite and
PostgreSQL.
"""

from __future__ import annotations

import json
import uuid
import weakref
from typing import TYPE_CHECKING, Any

from assetmap._errors import InputError, StaleVersionError

if TYPE_CHECKING:
    from assetmap.store._base import Store

__all__ = [
    "ensure_tables",
    "save_program",
    "retire_program",
    "program_records",
    "program_history",
    "add_outcome",
    "outcome_records",
]

_TABLES = {
    "programs": """CREATE TABLE IF NOT EXISTS programs (
  program_id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL, partner_id TEXT,
  data TEXT NOT NULL, version INTEGER NOT NULL, retired INTEGER NOT NULL DEFAULT 0,
  updated_by TEXT NOT NULL, updated_at TEXT NOT NULL)""",
    "program_history": """CREATE TABLE IF NOT EXISTS program_history (
  program_id TEXT NOT NULL, version INTEGER NOT NULL, at TEXT NOT NULL, by_user TEXT NOT NULL,
  action TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (program_id, version))""",
    "program_outcomes": """CREATE TABLE IF NOT EXISTS program_outcomes (
  outcome_id TEXT PRIMARY KEY NOT NULL, recorded_at TEXT NOT NULL, recorded_by TEXT NOT NULL,
  program_id TEXT, partner_id TEXT, school_id TEXT, period TEXT NOT NULL, measure TEXT NOT NULL,
  value INTEGER NOT NULL, note TEXT)""",
}
_DESCRIPTIONS = {
    "programs": "Programs and activities (HSDS services with schedules)",
    "program_history": "Every saved version of every program: who, when, what",
    "program_outcomes": "Outcomes recorded per program, partner and school (append-only)",
}
_ready: weakref.WeakSet[Any] = weakref.WeakSet()


def ensure_tables(store: Store) -> None:
    """Create the program tables when they are missing (idempotent, one transaction)."""
    if store in _ready:
        return
    with store._lock, store._write() as cur:
        for sql in _TABLES.values():
            cur.execute(sql)
        if store.kind == "gpkg":
            for table, desc in _DESCRIPTIONS.items():
                cur.execute(
                    "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description) "
                    "VALUES (?, 'attributes', ?, ?)",
                    (table, table, desc),
                )
    _ready.add(store)


def _now() -> str:
    from assetmap.store._base import _now as now

    return now()


def save_program(
    store: Store, record: dict[str, Any], *, by: str, expect_version: int | None = None
) -> int:
    """Insert or update one (already normalised) program; returns its new version.

    With ``expect_version`` an update based on an older version raises
    :class:`StaleVersionError` (exit 3 in the CLI).
    """
    by = store._check_by(by)
    ensure_tables(store)
    pid = str(record["program_id"])
    data = json.dumps(record, ensure_ascii=False, sort_keys=True)
    with store._lock, store._write() as cur:
        cur.execute(
            store._q(
                "SELECT version, retired FROM programs WHERE program_id = ?"  # noqa: S608
                + store._lock_sql()
            ),
            (pid,),
        )
        row = cur.fetchone()
        if row is None:
            if expect_version not in (None, 0):
                raise StaleVersionError(
                    f"program {pid!r} does not exist yet (you expected version {expect_version})."
                )
            version, action = 1, "create"
            cur.execute(
                store._q(
                    "INSERT INTO programs (program_id, name, partner_id, data, version, retired, updated_by, updated_at) "
                    "VALUES (?, ?, ?, ?, 1, 0, ?, ?)"
                ),
                (pid, record["name"], record.get("partner_id"), data, by, _now()),
            )
        else:
            current = int(row[0])
            if expect_version is not None and expect_version != current:
                raise StaleVersionError(
                    f"program {pid!r} is at version {current}, not {expect_version}: someone "
                    "changed it meanwhile. Reload it and apply your change again."
                )
            version, action = current + 1, "update"
            cur.execute(
                store._q(
                    "UPDATE programs SET name = ?, partner_id = ?, data = ?, version = ?, retired = 0, "
                    "updated_by = ?, updated_at = ? WHERE program_id = ?"
                ),
                (record["name"], record.get("partner_id"), data, version, by, _now(), pid),
            )
        cur.execute(
            store._q(
                "INSERT INTO program_history (program_id, version, at, by_user, action, data) "
                "VALUES (?, ?, ?, ?, ?, ?)"
            ),
            (pid, version, _now(), by, action, data),
        )
    return version


def retire_program(store: Store, program_id: str, *, by: str) -> int:
    """Mark a program retired (kept, with its history and outcomes); returns the new version."""
    by = store._check_by(by)
    ensure_tables(store)
    with store._lock, store._write() as cur:
        cur.execute(
            store._q(
                "SELECT version, data FROM programs WHERE program_id = ?"  # noqa: S608
                + store._lock_sql()
            ),
            (program_id,),
        )
        row = cur.fetchone()
        if row is None:
            raise InputError(f"no program {program_id!r} in the workspace (assetmap program list).")
        version = int(row[0]) + 1
        cur.execute(
            store._q(
                "UPDATE programs SET retired = 1, version = ?, updated_by = ?, updated_at = ? WHERE program_id = ?"
            ),
            (version, by, _now(), program_id),
        )
        cur.execute(
            store._q(
                "INSERT INTO program_history (program_id, version, at, by_user, action, data) "
                "VALUES (?, ?, ?, ?, 'retire', ?)"
            ),
            (program_id, version, _now(), by, row[1]),
        )
    return version


def program_records(store: Store, *, include_retired: bool = False) -> list[dict[str, Any]]:
    """Current programs (dicts with ``version``, ``retired``, ``updated_by``, ``updated_at``)."""
    ensure_tables(store)
    sql = "SELECT data, version, retired, updated_by, updated_at FROM programs"
    if not include_retired:
        sql += " WHERE retired = 0"
    with store._lock, store._read() as cur:
        cur.execute(sql + " ORDER BY name, program_id")
        rows = cur.fetchall()
    out = []
    for data, version, retired, ub, ua in rows:
        rec = json.loads(data)
        rec.update(version=int(version), retired=bool(retired), updated_by=ub, updated_at=ua)
        out.append(rec)
    return out


def program_history(store: Store, program_id: str | None = None) -> list[dict[str, Any]]:
    """Saved versions, oldest first: program_id, version, at, by, action, record."""
    ensure_tables(store)
    sql = "SELECT program_id, version, at, by_user, action, data FROM program_history"
    params: tuple[Any, ...] = ()
    if program_id is not None:
        sql += " WHERE program_id = ?"
        params = (program_id,)
    with store._lock, store._read() as cur:
        cur.execute(store._q(sql + " ORDER BY program_id, version"), params)
        rows = cur.fetchall()
    return [
        {
            "program_id": p,
            "version": int(v),
            "at": at,
            "by": b,
            "action": a,
            "record": json.loads(d),
        }
        for p, v, at, b, a, d in rows
    ]


def add_outcome(store: Store, row: dict[str, Any], *, by: str) -> str:
    """Append one outcome row (checked by the caller); returns its id."""
    by = store._check_by(by)
    ensure_tables(store)
    oid = uuid.uuid4().hex
    with store._lock, store._write() as cur:
        cur.execute(
            store._q(
                "INSERT INTO program_outcomes (outcome_id, recorded_at, recorded_by, program_id, partner_id, "
                "school_id, period, measure, value, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            ),
            (
                oid,
                _now(),
                by,
                row.get("program_id"),
                row.get("partner_id"),
                row.get("school_id"),
                row["period"],
                row["measure"],
                int(row["value"]),
                row.get("note") or None,
            ),
        )
    return oid


def outcome_records(store: Store) -> list[dict[str, Any]]:
    """Every recorded outcome row, oldest first."""
    ensure_tables(store)
    cols = (
        "outcome_id", "recorded_at", "recorded_by", "program_id", "partner_id", "school_id",
        "period", "measure", "value", "note",
    )  # fmt: skip
    sql = "SELECT " + ", ".join(cols) + " FROM program_outcomes ORDER BY recorded_at, outcome_id"  # noqa: S608
    with store._lock, store._read() as cur:
        cur.execute(sql)
        rows = cur.fetchall()
    return [dict(zip(cols, r, strict=True)) for r in rows]
