"""The store interface and the logic both back ends share.

A back end supplies a DB-API connection, a write transaction that is durable when it returns,
a row lock, and the encoding of geometries. Everything else (validation of edits, versions,
the audit trail, stale records, network history, the integrity checks) lives here, so the
GeoPackage and the PostGIS store behave the same.

The edit path imports only the standard library (pandas, geopandas and shapely are imported
inside the functions that build frames), so short-lived processes can write quickly.
"""

# ruff: noqa: S608 -- SQL is assembled only from constant table/column names; values are bound.
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import math
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from assetmap._errors import InputError, StaleVersionError
from assetmap.ingest.fields import editable_fields, field_choices, field_kinds, partner_id_for

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

__all__ = [
    "Store",
    "FIELD_KINDS",
    "EDITABLE_FIELDS",
    "STORE_COLUMNS",
    "FORBIDDEN_PROFILE_COLUMNS",
    "coerce_value",
]

log = logging.getLogger(__name__)

#: Partner fields and how they are kept (text, list, real, bool, bool3 = nullable bool, date,
#: json): from the one field table, assetmap.ingest.fields.
FIELD_KINDS: dict[str, str] = field_kinds()
#: Book-keeping columns every stored partner has besides the canonical ones.
STORE_COLUMNS: tuple[str, ...] = ("version", "retired", "updated_at", "updated_by", "stale")
#: Fields an ``update_partner`` may change (plus ``geometry``, or ``lat`` and ``lon`` together).
EDITABLE_FIELDS: tuple[str, ...] = editable_fields()
_AUDITED = (*FIELD_KINDS, "geometry")
#: Names that are never taken into ``attributes`` (store book-keeping and derived columns).
_NOT_ATTRIBUTES = frozenset({"geometry", "lat", "lon", "version", "retired", "updated_at", "updated_by",
                             "stale", "distance_km", "fid", "id"})  # fmt: skip
_CHOICES = field_choices()
#: Columns that mark respondent-level survey data; a need profile holding one is refused.
FORBIDDEN_PROFILE_COLUMNS = frozenset(
    {
        "response_id",
        "respondent_id",
        "student_id",
        "student_name",
        "sasid",
        "dob",
        "date_of_birth",
        "household_zip",
        "home_address",
        "address",
        "email",
        "phone",
        "respondent_role",
        "consent_to_contact",
        "preferred_contact",
    }
)
_TABLE_PREFIX = "table:"
_TRUE = {"1", "true", "yes", "t", "y"}
_FALSE = {"0", "false", "no", "f", "n"}


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _is_missing(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    return str(v) in ("NaT", "<NA>") if not isinstance(v, str | list | tuple) else False


#: C0/C1 control characters except TAB and LF (NUL, ESC, CR, DEL…): dropped from every text
#: value a partner record is stored with (issue 10: a leading NUL hid a formula).
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def strip_controls(text: str) -> str:
    """``text`` without control characters (TAB and LF kept; CR LF becomes LF)."""
    return _CONTROL_RE.sub("", text.replace("\r\n", "\n"))


def _split(v: Any) -> list[str]:
    if isinstance(v, list | tuple | set):
        items = [str(x) for x in v]
    elif _is_missing(v):
        return []
    else:
        items = str(v).replace("|", ";").split(";")
    out: list[str] = []
    for it in items:
        it = strip_controls(it).strip()
        if it and it not in out:
            out.append(it)
    return out


def coerce_value(field: str, value: Any) -> Any:
    """The stored form of ``value`` for partner ``field``; raise ``InputError`` naming the fix."""
    kind = FIELD_KINDS.get(field)
    if kind is None:
        raise InputError(
            f"unknown partner field {field!r}. Editable fields: {', '.join(EDITABLE_FIELDS)}, "
            "geometry (or lat and lon together)."
        )
    if hasattr(value, "item") and not isinstance(value, list | str):
        value = value.item()  # numpy scalar
    if kind == "list":
        return _split(value)
    if kind == "json":
        if isinstance(value, str) and value.strip():
            try:
                value = json.loads(value)
            except ValueError:
                raise InputError(f"{field}={value!r} is not a JSON object.") from None
        if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
            return {}
        if not isinstance(value, Mapping):
            raise InputError(f"{field} must be a mapping of extra column -> value, got {value!r}.")
        return {str(k): _plain(v) for k, v in sorted(value.items()) if not _is_missing(v)}
    if _is_missing(value) or (isinstance(value, str) and value.strip() == "" and kind != "text"):
        return False if kind == "bool" else None
    if kind == "text":
        s = strip_controls(str(value)).strip()
        if field in _CHOICES and s and s not in _CHOICES[field]:
            raise InputError(
                f"{field}={value!r} is not allowed; use one of {', '.join(_CHOICES[field])}."
            )
        return s or None
    if kind == "real":
        try:
            f = float(value)
        except (TypeError, ValueError):
            raise InputError(f"{field}={value!r} is not a number; give e.g. {field}=120.") from None
        if not math.isfinite(f):
            raise InputError(f"{field}={value!r} must be a finite number.")
        return f
    if kind in ("bool", "bool3"):
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float) and value in (0, 1):
            return bool(value)
        s = str(value).strip().lower()
        if s in _TRUE:
            return True
        if s in _FALSE:
            return False
        raise InputError(
            f"{field}={value!r} is not true/false; give {field}=true or {field}=false."
        )
    if kind == "date":
        if isinstance(value, dt.datetime):
            return value.date().isoformat()
        if isinstance(value, dt.date):
            return value.isoformat()
        s = str(value).strip()[:10]
        try:
            return dt.date.fromisoformat(s).isoformat()
        except ValueError:
            raise InputError(
                f"{field}={value!r} is not a date; use YYYY-MM-DD, e.g. 2026-01-31."
            ) from None
    raise AssertionError(kind)  # pragma: no cover


def _coerce_point(value: Any) -> tuple[float, float] | None:
    """(lon, lat) of a point given as shapely Point, (lon, lat) pair or None."""
    if value is None:
        return None
    if hasattr(value, "geom_type"):
        if value.is_empty:
            return None
        if value.geom_type != "Point":
            raise InputError(f"partner geometry must be a Point, got {value.geom_type}.")
        x, y = float(value.x), float(value.y)
    else:
        try:
            x, y = (float(v) for v in value)
        except (TypeError, ValueError):
            raise InputError(f"geometry {value!r} is not a point; give lat=… and lon=….") from None
    if not (math.isfinite(x) and math.isfinite(y) and -180 <= x <= 180 and -90 <= y <= 90):
        raise InputError(
            f"point lon={x}, lat={y} is out of range (lat −90…90, lon −180…180); "
            "check that latitude and longitude are not swapped."
        )
    return (x, y)


def _jsonable(field: str, v: Any) -> Any:
    if field == "geometry":
        return None if v is None else [v[0], v[1]]
    return v


def _from_json(field: str, v: Any) -> Any:
    if field == "geometry":
        return None if v is None else (float(v[0]), float(v[1]))
    return v


def _same(field: str, a: Any, b: Any) -> bool:
    if field == "geometry":
        if a is None or b is None:
            return a is None and b is None
        return abs(a[0] - b[0]) < 1e-12 and abs(a[1] - b[1]) < 1e-12
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


def _fmt(v: Any) -> str:
    if isinstance(v, list):
        return repr(";".join(v))
    if isinstance(v, tuple):
        return f"lon={v[0]:.6f} lat={v[1]:.6f}"
    return repr(v)


def make_partner_id(record: Mapping[str, Any]) -> str:
    """A stable id from source + name + address + city, for records that come without one
    (the one partner-id rule, :func:`assetmap.ingest.fields.partner_id_for`)."""
    return partner_id_for(record)


def haversine_km(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> Any:
    """Great-circle distance in km (numpy arrays or floats)."""
    import numpy as np

    lat1, lon1, lat2, lon2 = (
        np.radians(np.asarray(v, dtype=float)) for v in (lat1, lon1, lat2, lon2)
    )
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


class Store(ABC):
    """Persistent partners, schools, boundaries, need profiles, networks and the audit log.

    Build one with :func:`assetmap.store.open_store`. Every write method is one transaction:
    when it returns, the change and its audit entries are durable; when it raises, nothing
    was written. A store object may be shared between threads.
    """

    #: ``gpkg`` or ``postgis``
    kind: str = ""
    _partner_cols: tuple[str, ...] = (
        *FIELD_KINDS,
        "version",
        "retired",
        "updated_at",
        "updated_by",
    )

    def __init__(self, location: str) -> None:
        self.location = location
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ back-end hooks
    @abstractmethod
    def _write(self) -> contextlib.AbstractContextManager[Any]:
        """A cursor in a write transaction; committed durably on normal exit."""

    @abstractmethod
    def _read(self) -> contextlib.AbstractContextManager[Any]:
        """A cursor for consistent reads."""

    @abstractmethod
    def _q(self, sql: str) -> str:
        """Adapt ``?`` placeholders to the driver."""

    @abstractmethod
    def _geom_in(self, table: str) -> str:
        """SQL for one geometry parameter."""

    @abstractmethod
    def _geom_out(self, column: str = "geometry") -> str:
        """SQL selecting a geometry column in the back end's transport form."""

    @abstractmethod
    def _encode_point(self, xy: tuple[float, float] | None) -> Any: ...

    @abstractmethod
    def _decode_point(self, value: Any) -> tuple[float, float] | None: ...

    @abstractmethod
    def _encode_geom(self, geom: Any) -> Any: ...

    @abstractmethod
    def _decode_geom(self, value: Any) -> Any: ...

    def _lock_sql(self) -> str:
        """Suffix making a SELECT lock its rows in a write transaction (PostGIS)."""
        return ""

    def _after_write(self, cur: Any, tables: Iterable[str], *, bulk: bool = False) -> None:  # noqa: B027
        """Hook after writes (GeoPackage keeps gpkg_contents up to date)."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection."""

    @abstractmethod
    def _engine_check(self) -> list[str]:
        """The database's own consistency check; problems as text."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.display_location!r})"

    @property
    def display_location(self) -> str:
        """The location with any password masked."""
        loc = self.location
        if "://" in loc and "@" in loc:
            scheme, rest = loc.split("://", 1)
            cred, host = rest.rsplit("@", 1)
            if ":" in cred:
                cred = cred.split(":", 1)[0] + ":***"
            return f"{scheme}://{cred}@{host}"
        return loc

    # ------------------------------------------------------------------ partner rows
    def _select_partner_sql(self, where: str = "") -> str:
        cols = ", ".join(self._partner_cols)
        return f"SELECT {cols}, {self._geom_out()} FROM partners {where}"  # noqa: S608

    def _row_to_record(self, row: Sequence[Any]) -> dict[str, Any]:
        rec: dict[str, Any] = {}
        for col, v in zip(self._partner_cols, row, strict=False):
            kind = FIELD_KINDS.get(col)
            if kind == "list":
                rec[col] = _split(v)
            elif kind == "bool":
                rec[col] = bool(v)
            elif kind == "bool3":
                rec[col] = None if v is None else bool(v)
            elif col == "retired":
                rec[col] = bool(v)
            elif col == "version":
                rec[col] = int(v)
            elif kind == "real":
                rec[col] = None if v is None else float(v)
            elif kind == "json":
                rec[col] = json.loads(v) if v else {}
            else:
                rec[col] = v
        rec["geometry"] = self._decode_point(row[len(self._partner_cols)])
        return rec

    def _db_value(self, field: str, v: Any) -> Any:
        kind = FIELD_KINDS.get(field)
        if kind == "list":
            return ";".join(v) if v else None
        if kind == "json":
            return json.dumps(v, ensure_ascii=False, sort_keys=True, default=str) if v else None
        return v

    def _fetch(self, cur: Any, partner_id: str, *, lock: bool = False) -> dict[str, Any] | None:
        sql = self._select_partner_sql("WHERE partner_id = ?") + (self._lock_sql() if lock else "")
        cur.execute(self._q(sql), (partner_id,))
        row = cur.fetchone()
        return None if row is None else self._row_to_record(row)

    def _audit(
        self,
        cur: Any,
        entries: Sequence[tuple[str, str, str, Any, Any, int]],
        *,
        at: str,
        by: str,
        note: str | None = None,
    ) -> None:
        rows = [
            (
                at,
                by,
                pid,
                action,
                field,
                json.dumps(_jsonable(field, before), ensure_ascii=False, default=str),
                json.dumps(_jsonable(field, after), ensure_ascii=False, default=str),
                version,
                note,
            )
            for pid, action, field, before, after, version in entries
        ]
        cur.executemany(
            self._q(
                "INSERT INTO audit_log (at, by_user, partner_id, action, field, before, after, version, note)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            ),
            rows,
        )

    @staticmethod
    def _check_by(by: str) -> str:
        by = str(by or "").strip()
        if not by:
            raise InputError("every edit needs the name of who made it (by='…', --by NAME).")
        return by

    def _normalise_record(self, record: Mapping[str, Any]) -> dict[str, Any]:
        rec: dict[str, Any] = {}
        extra = {
            k: v for k, v in record.items() if k not in FIELD_KINDS and k not in _NOT_ATTRIBUTES
        }
        for field in FIELD_KINDS:
            if field == "attributes":
                given = coerce_value(field, record.get(field))
                rec[field] = coerce_value(field, {**given, **extra})
                continue
            rec[field] = coerce_value(field, record.get(field))
        if "published" not in record or _is_missing(record.get("published")):
            rec["published"] = True
        for field, default in (("cost", "unknown"), ("mou_status", "none")):
            rec[field] = rec[field] or default
        geom: Any = record.get("geometry")
        if (
            geom is None
            and not _is_missing(record.get("lat"))
            and not _is_missing(record.get("lon"))
        ):
            geom = (record["lon"], record["lat"])
        rec["geometry"] = _coerce_point(geom)
        if not rec["partner_id"]:
            rec["partner_id"] = make_partner_id(rec)
        if not rec["name"]:
            raise InputError(f"partner {rec['partner_id']}: a name is required.")
        return rec

    def _insert_partner(
        self, cur: Any, rec: dict[str, Any], *, at: str, by: str, note: str | None
    ) -> None:
        cols = [c for c in FIELD_KINDS]
        values = [self._db_value(c, rec[c]) for c in cols]
        sql = (
            f"INSERT INTO partners ({', '.join(cols)}, version, retired, updated_at, updated_by, geometry) "  # noqa: S608
            f"VALUES ({', '.join('?' for _ in cols)}, 1, ?, ?, ?, {self._geom_in('partners')})"
        )
        cur.execute(self._q(sql), (*values, False, at, by, self._encode_point(rec["geometry"])))
        snapshot = {k: _jsonable(k, v) for k, v in rec.items()}
        cur.execute(
            self._q(
                "INSERT INTO audit_log (at, by_user, partner_id, action, field, before, after, version, note)"
                " VALUES (?, ?, ?, 'add', '*', 'null', ?, 1, ?)"
            ),
            (
                at,
                by,
                rec["partner_id"],
                json.dumps(snapshot, ensure_ascii=False, default=str),
                note,
            ),
        )

    def _apply_changes(
        self,
        cur: Any,
        current: dict[str, Any],
        changes: dict[str, Any],
        *,
        action: str,
        at: str,
        by: str,
        note: str | None,
    ) -> int:
        """Write the fields that differ; return the new version (unchanged when nothing differs)."""
        diff = {f: v for f, v in changes.items() if not _same(f, current.get(f), v)}
        if not diff:
            return int(current["version"])
        new_version = int(current["version"]) + 1
        sets, params = [], []
        for f, v in diff.items():
            if f == "geometry":
                sets.append(f"geometry = {self._geom_in('partners')}")
                params.append(self._encode_point(v))
            else:
                sets.append(f"{f} = ?")
                params.append(self._db_value(f, v))
        sql = (
            f"UPDATE partners SET {', '.join(sets)}, version = ?, updated_at = ?, updated_by = ? "  # noqa: S608
            "WHERE partner_id = ? AND version = ?"
        )
        cur.execute(
            self._q(sql), (*params, new_version, at, by, current["partner_id"], current["version"])
        )
        if cur.rowcount != 1:  # cannot happen under the row lock; refuse rather than lose an edit
            raise StaleVersionError(
                f"partner {current['partner_id']!r} changed while it was being edited; try again.",
                current={"version": current["version"]},
            )
        self._audit(
            cur,
            [
                (current["partner_id"], action, f, current.get(f), v, new_version)
                for f, v in diff.items()
            ],
            at=at,
            by=by,
            note=note,
        )
        return new_version

    def _stale_error(
        self, cur: Any, current: dict[str, Any], expect_version: int, fields: Iterable[str]
    ) -> StaleVersionError:
        cur.execute(
            self._q(
                "SELECT field, after, version, by_user, at FROM audit_log "
                "WHERE partner_id = ? AND version > ? ORDER BY id"
            ),
            (current["partner_id"], expect_version),
        )
        newer: dict[str, tuple[Any, int, str, str]] = {}
        for field, after, version, by_user, at in cur.fetchall():
            newer[field] = (_from_json(field, json.loads(after)), int(version), by_user, at)
        shown: dict[str, Any] = {"version": current["version"]}
        parts = []
        for field, (value, version, by_user, at) in newer.items():
            if field == "*":
                continue
            shown[field] = value
            parts.append(f"{field} is now {_fmt(value)} (version {version}, by {by_user} at {at})")
        for field in fields:
            if field not in newer and field in current:
                shown[field] = current[field]
                parts.append(f"{field} is {_fmt(current[field])}")
        return StaleVersionError(
            f"partner {current['partner_id']!r} was changed after version {expect_version}: it is now "
            f"version {current['version']}. "
            + ("; ".join(parts) + ". " if parts else "")
            + "Your edit was not saved; look at the newer values and make your edit again on "
            f"version {current['version']} (--expect-version {current['version']}).",
            current=shown,
        )

    def _changes(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        ch = dict(changes)
        lat, lon = ch.pop("lat", None), ch.pop("lon", None)
        if (lat is None) != (lon is None):
            raise InputError(
                "give lat and lon together to move a partner (e.g. lat=41.76 lon=-72.67)."
            )
        if lat is not None:
            ch["geometry"] = (lon, lat)
        for field, value in ch.items():
            if field == "geometry":
                out[field] = _coerce_point(value)
            elif field in (
                "partner_id",
                "version",
                "retired",
                "updated_at",
                "updated_by",
                "verified_by",
            ):
                hint = {
                    "retired": "use retire_partner (CLI: store edit --retire)",
                    "verified_by": "use verify_partner (CLI: store edit --verify)",
                }.get(field, "it is maintained by the store")
                raise InputError(f"field {field!r} cannot be set directly: {hint}.")
            else:
                out[field] = coerce_value(field, value)
        if not out:
            raise InputError("no changes given; use FIELD=VALUE, e.g. phone=860-555-0100.")
        return out

    # ------------------------------------------------------------------ partner edits
    def add_partner(
        self, record: Mapping[str, Any], *, by: str, at: str | None = None, note: str | None = None
    ) -> str:
        """Add one partner (version 1) and its audit entry; return its ``partner_id``."""
        by = self._check_by(by)
        rec = self._normalise_record(record)
        at = at or _now()
        with self._lock, self._write() as cur:
            if self._fetch(cur, rec["partner_id"], lock=True) is not None:
                raise InputError(
                    f"partner {rec['partner_id']!r} already exists; use update_partner "
                    "(CLI: store edit) to change it."
                )
            self._insert_partner(cur, rec, at=at, by=by, note=note)
            self._after_write(cur, ["partners"])
        return rec["partner_id"]

    def upsert_partners(self, partners: Any, *, by: str, note: str | None = None) -> dict[str, int]:
        """Add new partners and update changed ones from a frame or records, in one transaction.

        Returns counts ``added``, ``updated``, ``unchanged``. Retired partners are restored
        only when ``retired`` is false in the input; nothing is deleted.
        """
        by = self._check_by(by)
        records = _records(partners)
        recs = [self._normalise_record(r) for r in records]
        seen: set[str] = set()
        for r in recs:
            if r["partner_id"] in seen:
                raise InputError(
                    f"partner_id {r['partner_id']!r} occurs twice in the input; ids must be unique."
                )
            seen.add(r["partner_id"])
        at = _now()
        counts = {"added": 0, "updated": 0, "unchanged": 0}
        with self._lock, self._write() as cur:
            for rec in recs:
                current = self._fetch(cur, rec["partner_id"], lock=True)
                if current is None:
                    self._insert_partner(cur, rec, at=at, by=by, note=note)
                    counts["added"] += 1
                    continue
                changes = {k: v for k, v in rec.items() if k not in ("partner_id", "verified_by")}
                v = self._apply_changes(
                    cur, current, changes, action="import", at=at, by=by, note=note
                )
                counts["updated" if v != current["version"] else "unchanged"] += 1
            self._after_write(cur, ["partners"], bulk=True)
        return counts

    def update_partner(
        self,
        partner_id: str,
        changes: Mapping[str, Any],
        *,
        by: str,
        expect_version: int | None = None,
        at: str | None = None,
        note: str | None = None,
    ) -> int:
        """Change fields of a partner; return its new version.

        With ``expect_version`` the edit is refused with :class:`StaleVersionError` (showing the
        newer values) unless the stored record is still at that version.
        """
        by = self._check_by(by)
        ch = self._changes(changes)
        at = at or _now()
        with self._lock, self._write() as cur:
            current = self._require(cur, partner_id)
            if expect_version is not None and int(expect_version) != current["version"]:
                raise self._stale_error(cur, current, int(expect_version), ch)
            if current["retired"]:
                raise InputError(
                    f"partner {partner_id!r} is retired; it can be read but not edited."
                )
            version = self._apply_changes(
                cur, current, ch, action="update", at=at, by=by, note=note
            )
            self._after_write(cur, ["partners"])
        return version

    def retire_partner(
        self,
        partner_id: str,
        *,
        by: str,
        expect_version: int | None = None,
        note: str | None = None,
        retired: bool = True,
    ) -> int:
        """Mark a partner retired (``retired=False`` restores it). Nothing is ever deleted."""
        by = self._check_by(by)
        at = _now()
        with self._lock, self._write() as cur:
            current = self._require(cur, partner_id)
            if expect_version is not None and int(expect_version) != current["version"]:
                raise self._stale_error(cur, current, int(expect_version), ["retired"])
            version = self._apply_changes(
                cur, current, {"retired": bool(retired)}, action="retire" if retired else "restore",
                at=at, by=by, note=note,
            )  # fmt: skip
            self._after_write(cur, ["partners"])
        return version

    def verify_partner(
        self,
        partner_id: str,
        *,
        by: str,
        at: dt.date | str | None = None,
        expect_version: int | None = None,
        note: str | None = None,
    ) -> int:
        """Record that ``by`` confirmed the partner's details on ``at`` (default today)."""
        by = self._check_by(by)
        day = coerce_value("last_verified", at or dt.date.today())
        with self._lock, self._write() as cur:
            current = self._require(cur, partner_id)
            if expect_version is not None and int(expect_version) != current["version"]:
                raise self._stale_error(cur, current, int(expect_version), ["last_verified"])
            if current["retired"]:
                raise InputError(f"partner {partner_id!r} is retired; restore it before verifying.")
            version = self._apply_changes(
                cur, current, {"last_verified": day, "verified_by": by}, action="verify",
                at=_now(), by=by, note=note,
            )  # fmt: skip
            self._after_write(cur, ["partners"])
        return version

    #: Short names for the four edits (same methods).
    add = add_partner
    update = update_partner
    retire = retire_partner
    verify = verify_partner

    def _require(self, cur: Any, partner_id: str) -> dict[str, Any]:
        current = self._fetch(cur, str(partner_id), lock=True)
        if current is None:
            raise InputError(
                f"no partner with partner_id {partner_id!r} in {self.display_location}."
            )
        return current

    # ------------------------------------------------------------------ partner reads
    def get_partner(self, partner_id: str, *, today: dt.date | None = None) -> dict[str, Any]:
        """One partner as a plain dict (``lat``/``lon`` instead of geometry, ``version``, ``stale``)."""
        with self._lock, self._read() as cur:
            rec = self._fetch(cur, str(partner_id))
        if rec is None:
            raise InputError(
                f"no partner with partner_id {partner_id!r} in {self.display_location}."
            )
        return self._public_record(rec, today=today)

    def _public_record(self, rec: dict[str, Any], *, today: dt.date | None) -> dict[str, Any]:
        out = {k: v for k, v in rec.items() if k != "geometry"}
        g = rec["geometry"]
        out["lat"] = None if g is None else g[1]
        out["lon"] = None if g is None else g[0]
        out["stale"] = self.is_stale(rec.get("last_verified"), today=today)
        return out

    def is_stale(self, last_verified: str | None, *, today: dt.date | None = None) -> bool:
        """True when a record was never verified or not within ``settings.stale_after_days``."""
        from assetmap.settings import get_settings

        if not last_verified:
            return True
        today = today or dt.date.today()
        try:
            day = dt.date.fromisoformat(str(last_verified)[:10])
        except ValueError:
            return True
        return (today - day).days > get_settings().stale_after_days

    def partner_records(self, *, include_retired: bool = False) -> list[dict[str, Any]]:
        """Every partner as a stored record (geometry as a (lon, lat) pair)."""
        where = "" if include_retired else "WHERE retired = ?"
        with self._lock, self._read() as cur:
            cur.execute(
                self._q(self._select_partner_sql(where + " ORDER BY partner_id")),
                () if include_retired else (False,),
            )
            return [self._row_to_record(r) for r in cur.fetchall()]

    def partners(
        self, *, include_retired: bool = False, today: dt.date | None = None
    ) -> gpd.GeoDataFrame:
        """The stored partners as a canonical Partners frame plus version, retired, stale, … columns."""
        import geopandas as gpd
        import pandas as pd
        from shapely.geometry import Point

        from assetmap.model import CRS, PARTNER_COLUMNS

        recs = self.partner_records(include_retired=include_retired)
        store_cols = [
            c for c in self._partner_cols if c not in PARTNER_COLUMNS and c != "attributes"
        ] + ["stale"]
        attr_cols = sorted(
            {
                k
                for r in recs
                for k in r["attributes"]
                if k not in FIELD_KINDS and k not in _NOT_ATTRIBUTES
            }
        )
        cols = [c for c in PARTNER_COLUMNS if c != "geometry"] + attr_cols + store_cols
        rows = []
        for r in recs:
            row = {c: r.get(c) for c in cols}
            row.update({k: r["attributes"].get(k) for k in attr_cols})
            row["stale"] = self.is_stale(r.get("last_verified"), today=today)
            rows.append(row)
        frame = pd.DataFrame(rows, columns=cols)
        frame["capacity"] = pd.to_numeric(frame["capacity"], errors="coerce")
        frame["version"] = frame["version"].astype("int64")
        geoms = [None if r["geometry"] is None else Point(r["geometry"]) for r in recs]
        return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=CRS), crs=CRS)

    def history(self, partner_id: str | None = None, *, limit: int | None = None) -> pd.DataFrame:
        """The audit log (oldest first): id, at, by, partner_id, action, field, before, after, version, note."""
        import pandas as pd

        sql = "SELECT id, at, by_user, partner_id, action, field, before, after, version, note FROM audit_log"
        params: tuple[Any, ...] = ()
        if partner_id is not None:
            sql += " WHERE partner_id = ?"
            params = (str(partner_id),)
        sql += " ORDER BY id"
        if limit:
            sql += f" LIMIT {int(limit)}"
        with self._lock, self._read() as cur:
            cur.execute(self._q(sql), params)
            rows = cur.fetchall()
        cols = [
            "id",
            "at",
            "by",
            "partner_id",
            "action",
            "field",
            "before",
            "after",
            "version",
            "note",
        ]
        frame = pd.DataFrame([list(r) for r in rows], columns=cols)
        for col in ("before", "after"):
            frame[col] = pd.Series(
                [json.loads(v) if v is not None else None for v in frame[col]], dtype=object
            )
        return frame

    def stale_partners(
        self,
        *,
        school_id: str | None = None,
        reach_km: float | None = None,
        today: dt.date | None = None,
    ) -> gpd.GeoDataFrame:
        """Partners not verified within ``stale_after_days`` — near ``school_id`` when given.

        Sorted for a coordinator's call list: nearest first (with ``distance_km``), else oldest
        verification first.
        """
        from assetmap.settings import get_settings

        gdf = self.partners(today=today)
        gdf = gdf[gdf["stale"]].copy()
        if school_id is None:
            return gdf.sort_values(["last_verified", "name"], na_position="first").reset_index(
                drop=True
            )
        schools = self.schools()
        hit = schools[schools["school_id"].astype(str) == str(school_id)]
        if hit.empty:
            raise InputError(
                f"no school with school_id {school_id!r} in the store; load schools first."
            )
        pt = hit.geometry.iloc[0]
        reach = float(reach_km if reach_km is not None else get_settings().default_reach_km)
        has = gdf.geometry.notna() & ~gdf.geometry.is_empty
        gdf = gdf[has].copy()
        gdf["distance_km"] = haversine_km(
            pt.y, pt.x, gdf.geometry.y.to_numpy(), gdf.geometry.x.to_numpy()
        )
        gdf = gdf[gdf["distance_km"] <= reach]
        return gdf.sort_values("distance_km").reset_index(drop=True)

    # ------------------------------------------------------------------ schools & boundaries
    def put_schools(self, schools: Any, *, by: str) -> int:
        """Replace the stored schools (points) with ``schools``; return the count."""
        from assetmap.model import SCHOOL_COLUMNS

        by = self._check_by(by)
        cols = [c for c in SCHOOL_COLUMNS if c != "geometry"]
        rows = []
        for r in _records(schools):
            sid = r.get("school_id")
            if _is_missing(sid) or str(sid).strip() == "":
                raise InputError("every school needs a school_id.")
            extra = {
                k: _plain(v) for k, v in r.items() if k not in SCHOOL_COLUMNS and not _is_missing(v)
            }
            vals = [None if _is_missing(r.get(c)) else str(r.get(c)) for c in cols]
            rows.append(
                (
                    *vals,
                    json.dumps(extra, ensure_ascii=False, default=str),
                    self._encode_point(_coerce_point(r.get("geometry"))),
                )
            )
        with self._lock, self._write() as cur:
            cur.execute("DELETE FROM schools")
            cur.executemany(
                self._q(
                    f"INSERT INTO schools ({', '.join(cols)}, attributes, geometry) "  # noqa: S608
                    f"VALUES ({', '.join('?' for _ in cols)}, ?, {self._geom_in('schools')})"
                ),
                rows,
            )
            self._meta(cur, "schools_loaded", f"{_now()} by {by}")
            self._after_write(cur, ["schools"], bulk=True)
        return len(rows)

    def schools(self) -> gpd.GeoDataFrame:
        """Stored schools as a Schools frame."""
        import geopandas as gpd
        import pandas as pd
        from shapely.geometry import Point

        from assetmap.model import CRS, SCHOOL_COLUMNS

        cols = [c for c in SCHOOL_COLUMNS if c != "geometry"]
        with self._lock, self._read() as cur:
            cur.execute(
                f"SELECT {', '.join(cols)}, attributes, {self._geom_out()} FROM schools ORDER BY school_id"
            )  # noqa: S608
            rows = cur.fetchall()
        recs = []
        geoms = []
        for r in rows:
            rec = dict(zip(cols, r[: len(cols)], strict=True))
            rec.update(json.loads(r[len(cols)] or "{}"))
            recs.append(rec)
            xy = self._decode_point(r[len(cols) + 1])
            geoms.append(None if xy is None else Point(xy))
        frame = pd.DataFrame(recs, columns=cols) if not recs else pd.DataFrame(recs)
        return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=CRS), crs=CRS)

    def put_boundaries(self, boundaries: Any, *, kind: str, by: str) -> int:
        """Replace the stored boundaries of ``kind`` (district, town, school_zone …)."""
        import shapely

        by = self._check_by(by)
        rows = []
        for i, r in enumerate(_records(boundaries)):
            bid = r.get("boundary_id")
            name = r.get("name")
            geom = r.get("geometry")
            if _is_missing(bid):
                raise InputError(f"{kind} boundary in row {i + 1} has no boundary_id.")
            if geom is not None and not geom.is_valid:
                geom = shapely.make_valid(geom)
            extra = {
                k: _plain(v)
                for k, v in r.items()
                if k not in ("boundary_id", "name", "kind", "geometry") and not _is_missing(v)
            }
            rows.append((str(bid), None if _is_missing(name) else str(name), kind,
                         json.dumps(extra, ensure_ascii=False, default=str), self._encode_geom(geom)))  # fmt: skip
        with self._lock, self._write() as cur:
            cur.execute(self._q("DELETE FROM boundaries WHERE kind = ?"), (kind,))
            cur.executemany(
                self._q(
                    "INSERT INTO boundaries (boundary_id, name, kind, attributes, geometry) "
                    f"VALUES (?, ?, ?, ?, {self._geom_in('boundaries')})"
                ),
                rows,
            )
            self._meta(cur, f"boundaries_{kind}_loaded", f"{_now()} by {by}")
            self._after_write(cur, ["boundaries"], bulk=True)
        return len(rows)

    def boundaries(self, kind: str | None = None) -> gpd.GeoDataFrame:
        """Stored boundaries (all kinds, or one)."""
        import geopandas as gpd
        import pandas as pd

        from assetmap.model import CRS

        sql = f"SELECT boundary_id, name, kind, attributes, {self._geom_out()} FROM boundaries"  # noqa: S608
        params: tuple[Any, ...] = ()
        if kind:
            sql += " WHERE kind = ?"
            params = (kind,)
        with self._lock, self._read() as cur:
            cur.execute(self._q(sql + " ORDER BY kind, boundary_id"), params)
            rows = cur.fetchall()
        recs, geoms = [], []
        for r in rows:
            rec = {"boundary_id": r[0], "name": r[1], "kind": r[2], **json.loads(r[3] or "{}")}
            recs.append(rec)
            geoms.append(self._decode_geom(r[4]))
        frame = (
            pd.DataFrame(recs) if recs else pd.DataFrame(columns=["boundary_id", "name", "kind"])
        )
        return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=CRS), crs=CRS)

    # ------------------------------------------------------------------ need profiles
    def save_need_profile(
        self,
        school_id: str,
        profile: pd.DataFrame,
        *,
        as_of: dt.date | str,
        by: str,
        name: str = "needs",
    ) -> None:
        """Keep an aggregated, already-suppressed need profile frame for a school and date.

        Respondent-level survey rows are refused: the frame must carry a ``suppressed`` flag
        column and no identifier columns (``FORBIDDEN_PROFILE_COLUMNS``).
        """
        by = self._check_by(by)
        cols = {str(c).lower() for c in profile.columns}
        bad = sorted(cols & FORBIDDEN_PROFILE_COLUMNS)
        if bad:
            raise InputError(
                f"need profile for school {school_id!r} has respondent-level columns {bad}; only "
                "aggregated, suppressed profiles (assetmap.needs) may be stored, never survey rows."
            )
        if not any("suppressed" in c for c in cols):
            raise InputError(
                f"need profile for school {school_id!r} has no 'suppressed' column; run the small-cell "
                "suppression (assetmap.needs) before storing it."
            )
        if "suppressed" in profile.columns and "count" in profile.columns:
            leaked = profile["suppressed"].fillna(False).astype(bool) & profile["count"].notna()
            if leaked.any():
                raise InputError(
                    f"need profile for school {school_id!r} has {int(leaked.sum())} suppressed cells that "
                    "still carry a count; store only the published frame (counts blank where suppressed)."
                )
        if "school_id" in profile.columns:
            others = sorted({str(v) for v in profile["school_id"].dropna()} - {str(school_id)})
            if others:
                raise InputError(
                    f"need profile for school {school_id!r} also holds rows of {others[:5]}; use "
                    "save_need_profiles() for a frame of several schools."
                )
        day = coerce_value("last_verified", as_of)
        data = profile.to_json(orient="split", index=False, date_format="iso")
        with self._lock, self._write() as cur:
            cur.execute(
                self._q("DELETE FROM need_profiles WHERE school_id = ? AND as_of = ? AND name = ?"),
                (str(school_id), day, name),
            )
            cur.execute(
                self._q(
                    "INSERT INTO need_profiles (school_id, as_of, name, data, saved_by, saved_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)"
                ),
                (str(school_id), day, name, data, by, _now()),
            )

    def save_need_profiles(
        self, profile: Any, *, as_of: dt.date | str, by: str, name: str = "needs"
    ) -> int:
        """Save a published profile frame of many schools (or a ``NeedProfile``: its
        ``published()`` frame is used, never its raw counts), one entry per school.

        Rows without a school_id (district totals) are stored under ``district:<id>``.
        Returns the number of entries saved.
        """
        frame = profile.published() if hasattr(profile, "published") else profile
        if "school_id" not in frame.columns:
            raise InputError("a profile of several schools needs a school_id column.")
        keys = frame["school_id"].astype(object).where(frame["school_id"].notna(), None)
        if keys.isna().any() and "district_id" in frame.columns:
            keys = keys.where(keys.notna(), "district:" + frame["district_id"].astype(str))
        n = 0
        for key, part in frame.groupby(keys.fillna("unknown").astype(str), sort=True):
            part = part.copy()
            if str(key).startswith("district:"):
                part = part.drop(columns="school_id")
            self.save_need_profile(str(key), part, as_of=as_of, by=by, name=name)
            n += 1
        return n

    def need_profile(
        self, school_id: str, *, name: str = "needs", as_of: dt.date | str | None = None
    ) -> pd.DataFrame | None:
        """The stored profile frame (latest on or before ``as_of``), or None."""
        import io

        import pandas as pd

        sql = "SELECT data FROM need_profiles WHERE school_id = ? AND name = ?"
        params: list[Any] = [str(school_id), name]
        if as_of is not None:
            sql += " AND as_of <= ?"
            params.append(coerce_value("last_verified", as_of))
        with self._lock, self._read() as cur:
            cur.execute(self._q(sql + " ORDER BY as_of DESC LIMIT 1"), tuple(params))
            row = cur.fetchone()
        return None if row is None else pd.read_json(io.StringIO(row[0]), orient="split")

    def need_profile_index(self) -> pd.DataFrame:
        """Which profiles are stored: school_id, as_of, name, saved_by, saved_at."""
        import pandas as pd

        with self._lock, self._read() as cur:
            cur.execute(
                "SELECT school_id, as_of, name, saved_by, saved_at FROM need_profiles ORDER BY school_id, as_of"
            )
            rows = cur.fetchall()
        return pd.DataFrame(
            [list(r) for r in rows], columns=["school_id", "as_of", "name", "saved_by", "saved_at"]
        )

    # ------------------------------------------------------------------ networks & outcomes
    def save_network(
        self, school_id: str, network: pd.DataFrame, *, as_of: dt.date | str, by: str
    ) -> int:
        """Save a school's network (rows with ``need`` and ``partner_id``, optional ``role``) as of a date.

        Saving again for the same school and date replaces that snapshot; outcomes recorded
        for entries that remain (same need and partner) are kept. Returns the snapshot id.
        """
        by = self._check_by(by)
        if "need" not in network.columns:
            raise InputError(
                "a network frame needs a 'need' column (one row per need and partner)."
            )
        if "school_id" in network.columns:
            others = sorted({str(v) for v in network["school_id"].dropna()} - {str(school_id)})
            if others:
                raise InputError(
                    f"the network for school {school_id!r} also holds rows of {others[:5]}; use "
                    "save_networks() for a frame of several schools."
                )
        day = coerce_value("last_verified", as_of)
        entries = []
        for rec in network.to_dict("records"):
            need = rec.get("need")
            if _is_missing(need) or not str(need).strip():
                raise InputError(f"network row {rec!r} has no need.")
            pid = rec.get("partner_id")
            pid = None if _is_missing(pid) or str(pid).strip() == "" else str(pid)
            role = rec.get("role")
            role = None if _is_missing(role) else str(role)
            dist = rec.get("distance_km")
            dist = None if _is_missing(dist) else float(dist)
            data = {k: _plain(v) for k, v in rec.items() if k != "geometry"}
            entries.append(
                (str(need), pid, role, dist, json.dumps(data, ensure_ascii=False, default=str))
            )
        with self._lock, self._write() as cur:
            cur.execute(
                self._q(
                    "SELECT id FROM network_snapshots WHERE school_id = ? AND as_of = ?"
                    + self._lock_sql()
                ),
                (str(school_id), day),
            )
            old = cur.fetchone()
            kept: list[tuple[Any, ...]] = []
            if old is not None:
                cur.execute(
                    self._q(
                        "SELECT need, partner_id, term, referrals_made, families_served, updated_by, updated_at "
                        "FROM network_outcomes WHERE snapshot_id = ?"
                    ),
                    (old[0],),
                )
                kept = cur.fetchall()
                cur.execute(
                    self._q("DELETE FROM network_outcomes WHERE snapshot_id = ?"), (old[0],)
                )
                cur.execute(self._q("DELETE FROM network_entries WHERE snapshot_id = ?"), (old[0],))
                cur.execute(self._q("DELETE FROM network_snapshots WHERE id = ?"), (old[0],))
            cur.execute(
                self._q(
                    "INSERT INTO network_snapshots (school_id, as_of, saved_by, saved_at) VALUES (?, ?, ?, ?) RETURNING id"
                ),
                (str(school_id), day, by, _now()),
            )
            sid = int(cur.fetchone()[0])
            cur.executemany(
                self._q(
                    "INSERT INTO network_entries (snapshot_id, need, partner_id, role, distance_km, data) "
                    "VALUES (?, ?, ?, ?, ?, ?)"
                ),
                [(sid, *e) for e in entries],
            )
            keys = {(e[0], e[1] or "") for e in entries}
            cur.executemany(
                self._q(
                    "INSERT INTO network_outcomes (snapshot_id, need, partner_id, term, referrals_made, "
                    "families_served, updated_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                ),
                [(sid, *k) for k in kept if (k[0], k[1]) in keys],
            )
        return sid

    def save_networks(self, network: pd.DataFrame, *, as_of: dt.date | str, by: str) -> list[int]:
        """Save a network frame of several schools (``assetmap.network.build_network``), one
        snapshot per school_id; returns the snapshot ids."""
        if "school_id" not in network.columns:
            raise InputError("a network frame of several schools needs a school_id column.")
        return [
            self.save_network(str(sid), part, as_of=as_of, by=by)
            for sid, part in network.groupby(network["school_id"].astype(str), sort=True)
        ]

    def networks(self, school_id: str | None = None) -> pd.DataFrame:
        """Saved snapshots: school_id, as_of, saved_by, saved_at, entries (newest last)."""
        import pandas as pd

        sql = (
            "SELECT s.school_id, s.as_of, s.saved_by, s.saved_at, COUNT(e.id) FROM network_snapshots s "
            "LEFT JOIN network_entries e ON e.snapshot_id = s.id"
        )
        params: tuple[Any, ...] = ()
        if school_id is not None:
            sql += " WHERE s.school_id = ?"
            params = (str(school_id),)
        sql += " GROUP BY s.id, s.school_id, s.as_of, s.saved_by, s.saved_at ORDER BY s.school_id, s.as_of"
        with self._lock, self._read() as cur:
            cur.execute(self._q(sql), params)
            rows = cur.fetchall()
        return pd.DataFrame(
            [list(r) for r in rows],
            columns=["school_id", "as_of", "saved_by", "saved_at", "entries"],
        )

    def _snapshot_id(
        self, cur: Any, school_id: str, as_of: dt.date | str | None, *, exact: bool
    ) -> tuple[int, str]:
        sql = "SELECT id, as_of FROM network_snapshots WHERE school_id = ?"
        params: list[Any] = [str(school_id)]
        if as_of is not None:
            day = coerce_value("last_verified", as_of)
            sql += " AND as_of = ?" if exact else " AND as_of <= ?"
            params.append(day)
        cur.execute(self._q(sql + " ORDER BY as_of DESC LIMIT 1"), tuple(params))
        row = cur.fetchone()
        if row is None:
            when = (
                f" on {as_of}"
                if exact and as_of is not None
                else (f" on or before {as_of}" if as_of else "")
            )
            raise InputError(
                f"no saved network for school {school_id!r}{when}; saved dates: "
                f"{', '.join(self._dates(cur, school_id)) or 'none'}."
            )
        return int(row[0]), str(row[1])

    def _dates(self, cur: Any, school_id: str) -> list[str]:
        cur.execute(
            self._q("SELECT as_of FROM network_snapshots WHERE school_id = ? ORDER BY as_of"),
            (str(school_id),),
        )
        return [str(r[0]) for r in cur.fetchall()]

    def network(self, school_id: str, *, as_of: dt.date | str | None = None) -> pd.DataFrame:
        """Entries of the snapshot on or before ``as_of`` (latest when None), with ``as_of`` column."""
        import pandas as pd

        with self._lock, self._read() as cur:
            sid, day = self._snapshot_id(cur, school_id, as_of, exact=False)
            cur.execute(
                self._q("SELECT data FROM network_entries WHERE snapshot_id = ? ORDER BY id"),
                (sid,),
            )
            rows = [json.loads(r[0]) for r in cur.fetchall()]
        frame = pd.DataFrame(rows)
        frame["as_of"] = day
        return frame

    def network_diff(
        self, school_id: str, date_a: dt.date | str, date_b: dt.date | str
    ) -> dict[str, Any]:
        """What changed between two saved snapshots of a school's network.

        Returns ``partners_added``/``partners_removed`` (partner ids), ``needs_covered``/
        ``needs_uncovered`` (needs that gained/lost every partner) and ``leads_changed``
        (need -> [old lead, new lead]).
        """
        with self._lock, self._read() as cur:
            sa, day_a = self._snapshot_id(cur, school_id, date_a, exact=True)
            sb, day_b = self._snapshot_id(cur, school_id, date_b, exact=True)
            snap = {}
            for sid in (sa, sb):
                cur.execute(
                    self._q(
                        "SELECT need, partner_id, role FROM network_entries WHERE snapshot_id = ? ORDER BY id"
                    ),
                    (sid,),
                )
                snap[sid] = cur.fetchall()

        def summary(rows: list[Any]) -> tuple[set[str], set[str], dict[str, str]]:
            partners = {r[1] for r in rows if r[1]}
            covered = {r[0] for r in rows if r[1]}
            leads: dict[str, str] = {}
            for need, pid, role in rows:
                if pid and (role == "lead" or (role is None and need not in leads)):
                    leads.setdefault(need, pid)
            return partners, covered, leads

        pa, ca, la = summary(snap[sa])
        pb, cb, lb = summary(snap[sb])
        return {
            "school_id": str(school_id),
            "from": day_a,
            "to": day_b,
            "partners_added": sorted(pb - pa),
            "partners_removed": sorted(pa - pb),
            "needs_covered": sorted(cb - ca),
            "needs_uncovered": sorted(ca - cb),
            "leads_changed": {
                n: [la.get(n), lb.get(n)]
                for n in sorted(set(la) | set(lb))
                if la.get(n) != lb.get(n)
            },
        }

    def record_outcome(
        self,
        school_id: str,
        *,
        as_of: dt.date | str,
        need: str,
        partner_id: str | None,
        term: str,
        by: str,
        referrals_made: int | None = None,
        families_served: int | None = None,
    ) -> None:
        """Set referrals made / families served for one network entry and term (e.g. '2026-fall')."""
        by = self._check_by(by)
        term = str(term or "").strip()
        if not term:
            raise InputError("an outcome needs a term, e.g. term='2026-fall'.")
        vals = []
        for label, v in (("referrals_made", referrals_made), ("families_served", families_served)):
            if v is not None and (int(v) != v or int(v) < 0):
                raise InputError(f"{label}={v!r}: give a whole number ≥ 0.")
            vals.append(None if v is None else int(v))
        with self._lock, self._write() as cur:
            sid, _ = self._snapshot_id(cur, school_id, as_of, exact=True)
            pid = partner_id or ""
            cur.execute(
                self._q(
                    "SELECT COUNT(*) FROM network_entries WHERE snapshot_id = ? AND need = ? AND COALESCE(partner_id, '') = ?"
                ),
                (sid, need, pid),
            )
            if int(cur.fetchone()[0]) == 0:
                raise InputError(
                    f"the network of {school_id!r} on {as_of} has no entry for need {need!r} and partner {partner_id!r}."
                )
            cur.execute(
                self._q(
                    "INSERT INTO network_outcomes (snapshot_id, need, partner_id, term, referrals_made, families_served, "
                    "updated_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (snapshot_id, need, partner_id, term) "
                    "DO UPDATE SET referrals_made = excluded.referrals_made, families_served = excluded.families_served, "
                    "updated_by = excluded.updated_by, updated_at = excluded.updated_at"
                ),
                (sid, need, pid, term, *vals, by, _now()),
            )

    def outcomes(self, school_id: str | None = None, *, term: str | None = None) -> pd.DataFrame:
        """Recorded outcomes: school_id, as_of, need, partner_id, term, referrals_made, families_served."""
        import pandas as pd

        sql = (
            "SELECT s.school_id, s.as_of, o.need, o.partner_id, o.term, o.referrals_made, o.families_served, "
            "o.updated_by, o.updated_at FROM network_outcomes o JOIN network_snapshots s ON s.id = o.snapshot_id"
        )
        conds, params = [], []
        if school_id is not None:
            conds.append("s.school_id = ?")
            params.append(str(school_id))
        if term is not None:
            conds.append("o.term = ?")
            params.append(term)
        if conds:
            sql += " WHERE " + " AND ".join(conds)
        with self._lock, self._read() as cur:
            cur.execute(
                self._q(sql + " ORDER BY s.school_id, o.term, s.as_of, o.need"), tuple(params)
            )
            rows = cur.fetchall()
        cols = [
            "school_id",
            "as_of",
            "need",
            "partner_id",
            "term",
            "referrals_made",
            "families_served",
            "updated_by",
            "updated_at",
        ]
        frame = pd.DataFrame([list(r) for r in rows], columns=cols)
        frame["partner_id"] = frame["partner_id"].replace("", None)
        return frame

    def progress(self, school_id: str | None = None) -> pd.DataFrame:
        """Outcome totals per school and term."""
        out = self.outcomes(school_id)
        if out.empty:
            return out[["school_id", "term", "referrals_made", "families_served"]]
        return out.groupby(["school_id", "term"], as_index=False)[
            ["referrals_made", "families_served"]
        ].sum(min_count=1)

    # ------------------------------------------------------------------ meta & checks
    def _meta(self, cur: Any, key: str, value: str) -> None:
        cur.execute(
            self._q(
                "INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"
            ),
            (key, value),
        )

    def meta(self) -> dict[str, str]:
        """Store facts: schema version, when schools/boundaries were loaded, region name …

        Workspace tables kept by :meth:`put_table` are not listed (only when they were saved).
        """
        with self._lock, self._read() as cur:
            cur.execute("SELECT key, value FROM store_meta")
            return {k: v for k, v in cur.fetchall() if not k.startswith(_TABLE_PREFIX)}

    def set_meta(self, key: str, value: str, *, by: str) -> None:
        """Set one workspace fact (e.g. ``region_name``); the change is logged with who made it."""
        by = self._check_by(by)
        if str(key).startswith(_TABLE_PREFIX):
            raise InputError(f"meta key {key!r} is reserved for workspace tables")
        with self._lock, self._write() as cur:
            self._meta(cur, str(key), str(value))
            self._meta(cur, f"{key}_set", f"{_now()} by {by}")

    def put_table(self, name: str, frame: pd.DataFrame, *, by: str) -> int:
        """Keep a small workspace table (place gazetteer, survey-derived counts …) under ``name``.

        The frame is stored as JSON inside the store (no geometry); it replaces an earlier
        table of the same name. Returns the number of rows kept.
        """
        by = self._check_by(by)
        data = frame.to_json(orient="split", index=False, date_format="iso")
        with self._lock, self._write() as cur:
            self._meta(cur, f"{_TABLE_PREFIX}{name}", data)
            self._meta(cur, f"table_{name}_saved", f"{_now()} by {by}")
        return len(frame)

    def table(self, name: str) -> pd.DataFrame | None:
        """A table kept by :meth:`put_table` (a new frame), or None when there is none."""
        import io

        import pandas as pd

        with self._lock, self._read() as cur:
            cur.execute(
                self._q("SELECT value FROM store_meta WHERE key = ?"), (f"{_TABLE_PREFIX}{name}",)
            )
            row = cur.fetchone()
        if row is None or row[0] is None:
            return None
        return pd.read_json(io.StringIO(row[0]), orient="split", dtype=False)

    def revision(self) -> str:
        """A short token that changes whenever anything a view reads changes (partners,
        schools, boundaries, workspace tables and facts): a cache key for long-lived readers."""
        with self._lock, self._read() as cur:
            cur.execute("SELECT COUNT(*), MAX(id) FROM audit_log")
            n, last = cur.fetchone()
            cur.execute(
                self._q("SELECT key, value FROM store_meta WHERE key NOT LIKE ? ORDER BY key"),
                (f"{_TABLE_PREFIX}%",),
            )
            facts = cur.fetchall()
        digest = hashlib.sha1(repr(facts).encode(), usedforsecurity=False).hexdigest()[:12]
        return f"{n}-{last}-{digest}"

    def counts(self) -> dict[str, int]:
        """Row counts per table (partners, retired, schools, boundaries, audit, networks, profiles)."""
        queries = {
            "partners": "SELECT COUNT(*) FROM partners WHERE retired = ?",
            "retired": "SELECT COUNT(*) FROM partners WHERE retired = ?",
            "schools": "SELECT COUNT(*) FROM schools",
            "boundaries": "SELECT COUNT(*) FROM boundaries",
            "audit_entries": "SELECT COUNT(*) FROM audit_log",
            "network_snapshots": "SELECT COUNT(*) FROM network_snapshots",
            "need_profiles": "SELECT COUNT(*) FROM need_profiles",
        }
        out = {}
        with self._lock, self._read() as cur:
            for k, sql in queries.items():
                params = (k == "retired",) if "?" in sql else ()
                cur.execute(self._q(sql), params)
                out[k] = int(cur.fetchone()[0])
        return out

    def replay_audit(self) -> list[str]:
        """Rebuild every partner from the audit trail alone and compare with the stored state.

        Returns the differences (empty when the trail replays exactly to the stored records).
        """
        with self._lock, self._read() as cur:
            cur.execute(
                "SELECT id, at, by_user, partner_id, action, field, after, version FROM audit_log ORDER BY id"
            )
            entries = cur.fetchall()
            cur.execute(self._q(self._select_partner_sql("ORDER BY partner_id")))
            stored = {r["partner_id"]: r for r in (self._row_to_record(x) for x in cur.fetchall())}
        state: dict[str, dict[str, Any]] = {}
        problems: list[str] = []
        for eid, at, by_user, pid, action, field, after, version in entries:
            value = json.loads(after)
            if field == "*":
                if pid in state:
                    problems.append(f"audit entry {eid}: partner {pid!r} added twice")
                rec = {k: _from_json(k, v) for k, v in value.items()}
                rec.update(version=1, retired=False)
                state[pid] = rec
            else:
                if pid not in state:
                    problems.append(f"audit entry {eid}: {action} of {pid!r} before it was added")
                    continue
                state[pid][field] = _from_json(field, value)
                if int(version) < state[pid]["version"]:
                    problems.append(f"audit entry {eid}: version of {pid!r} went back to {version}")
                state[pid]["version"] = int(version)
            state[pid]["updated_at"] = at
            state[pid]["updated_by"] = by_user
        for pid in sorted(set(state) | set(stored)):
            if pid not in stored:
                problems.append(f"partner {pid!r} is in the audit trail but not stored")
                continue
            if pid not in state:
                problems.append(f"partner {pid!r} is stored but has no audit trail")
                continue
            a, b = state[pid], stored[pid]
            for field in (*_AUDITED, "version", "retired", "updated_at", "updated_by"):
                if not _same(field, a.get(field), b.get(field)):
                    problems.append(
                        f"partner {pid!r}: {field} replays to {_fmt(a.get(field))} but is stored as {_fmt(b.get(field))}"
                    )
        return problems

    def integrity_check(self) -> list[str]:
        """The database's own check plus the store's invariants; problems as text (empty = sound)."""
        problems = list(self._engine_check())
        with self._lock, self._read() as cur:
            cur.execute(
                "SELECT partner_id, COUNT(*) FROM partners GROUP BY partner_id HAVING COUNT(*) > 1"
            )
            problems += [f"partner_id {pid!r} stored {n} times" for pid, n in cur.fetchall()]
            cur.execute(
                "SELECT partner_id, version FROM partners WHERE version < 1 OR partner_id IS NULL"
            )
            problems += [f"partner {pid!r} has invalid version {v}" for pid, v in cur.fetchall()]
            cur.execute(
                "SELECT p.partner_id, p.version, MAX(a.version) FROM partners p LEFT JOIN audit_log a "
                "ON a.partner_id = p.partner_id GROUP BY p.partner_id, p.version"
            )
            for pid, v, av in cur.fetchall():
                if av is None or int(av) != int(v):
                    problems.append(
                        f"partner {pid!r} is at version {v} but its last audit entry is version {av}"
                    )
            cur.execute(
                "SELECT COUNT(*) FROM network_entries e LEFT JOIN network_snapshots s ON s.id = e.snapshot_id WHERE s.id IS NULL"
            )
            n = int(cur.fetchone()[0])
            if n:
                problems.append(f"{n} network entries belong to no snapshot")
        problems += self.replay_audit()
        return problems


def _plain(v: Any) -> Any:
    if isinstance(v, dt.date | dt.datetime):
        return v.isoformat()
    if hasattr(v, "isoformat") and hasattr(v, "to_pydatetime"):  # pandas Timestamp
        return v.isoformat()
    if hasattr(v, "item") and not isinstance(v, list | str):
        try:
            v = v.item()
        except (ValueError, AttributeError):
            return str(v)
    if hasattr(v, "tolist"):
        return v.tolist()
    if isinstance(v, float) and math.isnan(v):
        return None
    if hasattr(v, "geom_type"):
        return v.wkt
    return v


def _records(data: Any) -> list[dict[str, Any]]:
    """Rows of a (Geo)DataFrame or an iterable of mappings as plain dicts (frame unchanged)."""
    if hasattr(data, "to_dict") and hasattr(data, "columns"):
        if getattr(data, "crs", None) is not None and data.crs.to_epsg() != 4326:
            data = data.to_crs("EPSG:4326")
        return list(data.to_dict("records"))
    if isinstance(data, Mapping):
        return [dict(data)]
    return [dict(r) for r in data]
