"""The shared store: PostgreSQL + PostGIS through psycopg 3, the same tables as the GeoPackage.

Each write is one transaction: the partner row is locked with ``SELECT … FOR UPDATE``, its
version compared, the row updated with ``… WHERE version = expected`` and the audit entries
inserted before ``COMMIT``. With the server's default ``synchronous_commit = on`` a commit has
reached the write-ahead log on disk when it returns.
"""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Iterator
from typing import Any

from assetmap._errors import AssetmapError, InputError
from assetmap.store._base import FIELD_KINDS, Store

__all__ = ["PostGISStore"]

SCHEMA_VERSION = "1"
_SQL_TYPES = {
    "text": "TEXT",
    "list": "TEXT",
    "json": "TEXT",
    "real": "DOUBLE PRECISION",
    "bool": "BOOLEAN",
    "bool3": "BOOLEAN",
    "date": "TEXT",
}
_LOCK_ID = 0x61_73_73_65  # advisory lock serialising schema creation


class PostGISStore(Store):
    """A store in a PostGIS database given by a ``postgresql://`` URL."""

    kind = "postgis"

    def __init__(self, url: str, *, connect_timeout: int = 15) -> None:
        super().__init__(url)
        import psycopg

        self._psycopg = psycopg
        self._dsn = dsn = url.replace("postgresql+psycopg://", "postgresql://", 1).replace(
            "postgres://", "postgresql://", 1
        )
        try:
            self._conn = psycopg.connect(dsn, connect_timeout=connect_timeout, autocommit=False)
        except psycopg.Error as exc:
            raise InputError(
                f"cannot connect to the PostGIS store {self.display_location}: {str(exc).strip()}. "
                "Check the URL (postgresql://user:password@host:port/database) and that the server runs."
            ) from exc
        try:
            self._ensure_schema()
        except psycopg.Error as exc:
            self.close()
            raise InputError(
                f"{self.display_location}: cannot create the store tables: {str(exc).strip()}"
            ) from exc

    # ------------------------------------------------------------------ hooks
    def _q(self, sql: str) -> str:
        return sql.replace("?", "%s")

    def _geom_in(self, table: str) -> str:
        return "ST_SetSRID(ST_GeomFromWKB(?), 4326)"

    def _geom_out(self, column: str = "geometry") -> str:
        return f"ST_AsBinary({column})"

    def _encode_point(self, xy: tuple[float, float] | None) -> Any:
        if xy is None:
            return None
        return struct.pack("<BIdd", 1, 1, float(xy[0]), float(xy[1]))

    def _decode_point(self, value: Any) -> tuple[float, float] | None:
        if value is None:
            return None
        wkb = bytes(value)
        order = "<" if wkb[0] == 1 else ">"
        (gtype,) = struct.unpack(order + "I", wkb[1:5])
        if gtype == 1 and len(wkb) >= 21:
            x, y = struct.unpack(order + "dd", wkb[5:21])
            if x != x or y != y:  # POINT EMPTY
                return None
            return (x, y)
        g = self._decode_geom(wkb)
        return None if g is None or g.is_empty else (g.x, g.y)

    def _encode_geom(self, geom: Any) -> Any:
        if geom is None:
            return None
        import shapely

        return shapely.to_wkb(geom, byte_order=1, output_dimension=2, flavor="iso")

    def _decode_geom(self, value: Any) -> Any:
        if value is None:
            return None
        import shapely

        return shapely.from_wkb(bytes(value))

    def _lock_sql(self) -> str:
        return " FOR UPDATE"

    @contextlib.contextmanager
    def _write(self) -> Iterator[Any]:
        conn = self._live()
        cur = conn.cursor()
        try:
            yield cur
        except BaseException:
            conn.rollback()
            raise
        else:
            conn.commit()
        finally:
            cur.close()

    @contextlib.contextmanager
    def _read(self) -> Iterator[Any]:
        conn = self._live()
        cur = conn.cursor()
        try:
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield cur
        finally:
            conn.rollback()
            cur.close()

    def _live(self) -> Any:
        if self._conn is None:
            raise AssetmapError(f"the store {self.display_location} is closed.")
        if self._conn.closed or self._conn.broken:
            self._conn = self._psycopg.connect(self._dsn, autocommit=False)
        return self._conn

    def _engine_check(self) -> list[str]:
        problems = []
        with self._lock, self._read() as cur:
            cur.execute(
                "SELECT COUNT(*) FROM partners WHERE geometry IS NOT NULL AND "
                "(ST_SRID(geometry) <> 4326 OR GeometryType(geometry) <> 'POINT' OR NOT ST_IsValid(geometry))"
            )
            n = int(cur.fetchone()[0])
            if n:
                problems.append(f"{n} partner geometries are not valid EPSG:4326 points")
            cur.execute(
                "SELECT COUNT(*) FROM boundaries WHERE geometry IS NOT NULL AND ST_SRID(geometry) <> 4326"
            )
            n = int(cur.fetchone()[0])
            if n:
                problems.append(f"{n} boundaries are not in EPSG:4326")
        return problems

    def close(self) -> None:
        with self._lock:
            conn = getattr(self, "_conn", None)
            if conn is not None:
                conn.close()
                self._conn = None

    # ------------------------------------------------------------------ schema
    def _ensure_schema(self) -> None:
        with self._lock, self._write() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
            cur.execute("SELECT to_regclass('store_meta') IS NOT NULL")
            if cur.fetchone()[0]:
                cur.execute("SELECT value FROM store_meta WHERE key = 'schema_version'")
                row = cur.fetchone()
                if row is None or row[0] != SCHEMA_VERSION:
                    raise InputError(
                        f"{self.display_location}: store schema version {row[0] if row else 'unknown'} "
                        f"is not {SCHEMA_VERSION}."
                    )
                # partner fields added since the store was made: new, empty (unknown) columns
                for name, kind in FIELD_KINDS.items():
                    cur.execute(
                        f"ALTER TABLE partners ADD COLUMN IF NOT EXISTS {name} {_SQL_TYPES[kind]}"
                    )
                return
            cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            for sql in _schema_sql():
                cur.execute(sql)
            cur.execute(
                "INSERT INTO store_meta (key, value) VALUES ('schema_version', %s)",
                (SCHEMA_VERSION,),
            )


def _schema_sql() -> list[str]:
    partner_cols = ",\n  ".join(
        f"{name} {_SQL_TYPES[kind]}" + (" NOT NULL UNIQUE" if name == "partner_id" else "")
        for name, kind in FIELD_KINDS.items()
    )
    return [
        f"""CREATE TABLE partners (
  fid BIGSERIAL PRIMARY KEY,
  {partner_cols},
  version INTEGER NOT NULL DEFAULT 1,
  retired BOOLEAN NOT NULL DEFAULT FALSE,
  updated_at TEXT, updated_by TEXT,
  geometry geometry(Point, 4326))""",
        "CREATE INDEX partners_geom ON partners USING GIST (geometry)",
        """CREATE TABLE schools (
  fid BIGSERIAL PRIMARY KEY, school_id TEXT NOT NULL, name TEXT,
  district_id TEXT, district_name TEXT, town TEXT, address TEXT, grades TEXT, org_type TEXT,
  attributes TEXT, geometry geometry(Point, 4326))""",
        """CREATE TABLE boundaries (
  fid BIGSERIAL PRIMARY KEY, boundary_id TEXT NOT NULL, name TEXT,
  kind TEXT NOT NULL, attributes TEXT, geometry geometry(Geometry, 4326))""",
        """CREATE TABLE audit_log (
  id BIGSERIAL PRIMARY KEY, at TEXT NOT NULL, by_user TEXT NOT NULL,
  partner_id TEXT NOT NULL, action TEXT NOT NULL, field TEXT NOT NULL, before TEXT, after TEXT,
  version INTEGER NOT NULL, note TEXT)""",
        "CREATE INDEX audit_log_partner ON audit_log (partner_id, version)",
        """CREATE TABLE network_snapshots (
  id BIGSERIAL PRIMARY KEY, school_id TEXT NOT NULL, as_of TEXT NOT NULL,
  saved_by TEXT NOT NULL, saved_at TEXT NOT NULL, UNIQUE (school_id, as_of))""",
        """CREATE TABLE network_entries (
  id BIGSERIAL PRIMARY KEY,
  snapshot_id BIGINT NOT NULL REFERENCES network_snapshots(id),
  need TEXT NOT NULL, partner_id TEXT, role TEXT, distance_km DOUBLE PRECISION, data TEXT NOT NULL)""",
        "CREATE INDEX network_entries_snapshot ON network_entries (snapshot_id)",
        """CREATE TABLE network_outcomes (
  id BIGSERIAL PRIMARY KEY,
  snapshot_id BIGINT NOT NULL REFERENCES network_snapshots(id),
  need TEXT NOT NULL, partner_id TEXT NOT NULL DEFAULT '', term TEXT NOT NULL,
  referrals_made INTEGER, families_served INTEGER, updated_by TEXT, updated_at TEXT,
  UNIQUE (snapshot_id, need, partner_id, term))""",
        """CREATE TABLE need_profiles (
  id BIGSERIAL PRIMARY KEY, school_id TEXT NOT NULL, as_of TEXT NOT NULL,
  name TEXT NOT NULL, data TEXT NOT NULL, saved_by TEXT NOT NULL, saved_at TEXT NOT NULL)""",
        "CREATE TABLE store_meta (key TEXT PRIMARY KEY NOT NULL, value TEXT)",
    ]
