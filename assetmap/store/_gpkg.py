"""The embedded store: one GeoPackage file (opens in QGIS/GDAL), written with sqlite3.

The file is a valid OGC GeoPackage 1.4: ``gpkg_spatial_ref_sys``, ``gpkg_contents`` and
``gpkg_geometry_columns`` are created here, partners/schools/boundaries are feature tables whose
geometries are GeoPackage binary blobs (header + little-endian WKB; points are encoded without
shapely), and the history tables are registered as ``attributes``. No R-tree index is created:
GDAL's R-tree triggers call SQL functions that plain sqlite3 connections lack, and the store's
own queries do not need it (QGIS builds its own when asked).

Durability: WAL journal, ``synchronous=FULL`` (a commit is on disk when it returns),
``BEGIN IMMEDIATE`` write transactions (one writer at a time, readers never blocked) and a
long ``busy_timeout`` so concurrent writers wait instead of failing.
"""

# ruff: noqa: S608 -- SQL is assembled only from constant table/column names; values are bound.
from __future__ import annotations

import contextlib
import os

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: SQLite's own busy handling only
    fcntl = None  # type: ignore[assignment]
import logging
import sqlite3
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from assetmap._errors import AssetmapError, InputError
from assetmap.store._base import FIELD_KINDS, Store

log = logging.getLogger(__name__)

__all__ = ["GeoPackageStore", "gpkg_point_blob", "gpkg_blob", "decode_gpkg_blob"]

_APPLICATION_ID = 0x47504B47  # "GPKG"
_USER_VERSION = 10400  # GeoPackage 1.4
SCHEMA_VERSION = "1"
_BUSY_MS = 120_000

_WGS84_WKT = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,'
    'AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,'
    'AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],'
    'AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]'
)

_SQL_TYPES = {
    "text": "TEXT",
    "list": "TEXT",
    "json": "TEXT",
    "real": "REAL",
    "bool": "BOOLEAN",
    "bool3": "BOOLEAN",
    "date": "TEXT",
}


def gpkg_point_blob(xy: tuple[float, float] | None, srs_id: int = 4326) -> bytes | None:
    """GeoPackage binary of a 2-D point (no envelope, little endian), or None."""
    if xy is None:
        return None
    return (
        b"GP\x00\x01"
        + struct.pack("<i", srs_id)
        + struct.pack("<BIdd", 1, 1, float(xy[0]), float(xy[1]))
    )


def gpkg_blob(geom: Any, srs_id: int = 4326) -> bytes | None:
    """GeoPackage binary of any shapely geometry (with an xy envelope unless it is a point)."""
    if geom is None:
        return None
    import shapely

    if geom.is_empty:
        wkb = shapely.to_wkb(geom, byte_order=1, output_dimension=2, flavor="iso")
        return b"GP\x00\x11" + struct.pack("<i", srs_id) + wkb
    if geom.geom_type == "Point":
        return gpkg_point_blob((geom.x, geom.y), srs_id)
    minx, miny, maxx, maxy = geom.bounds
    wkb = shapely.to_wkb(geom, byte_order=1, output_dimension=2, flavor="iso")
    return (
        b"GP\x00\x03" + struct.pack("<i", srs_id) + struct.pack("<4d", minx, maxx, miny, maxy) + wkb
    )


def _wkb_part(blob: bytes) -> bytes:
    if blob[:2] != b"GP":
        raise AssetmapError("not a GeoPackage geometry blob (missing 'GP' magic)")
    flags = blob[3]
    env = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}.get((flags >> 1) & 0x07)
    if env is None:
        raise AssetmapError(
            f"GeoPackage geometry blob has an invalid envelope code in flags {flags:#x}"
        )
    return blob[8 + env :]


def decode_gpkg_point(blob: bytes | None) -> tuple[float, float] | None:
    """(lon, lat) of a GeoPackage point blob; None for NULL or empty."""
    if blob is None:
        return None
    blob = bytes(blob)
    if blob[3] & 0x10:  # empty
        return None
    wkb = _wkb_part(blob)
    order = "<" if wkb[0] == 1 else ">"
    (gtype,) = struct.unpack(order + "I", wkb[1:5])
    if gtype == 1 and len(wkb) >= 21:
        x, y = struct.unpack(order + "dd", wkb[5:21])
        return (x, y)
    g = decode_gpkg_blob(blob)
    return None if g is None or g.is_empty else (g.x, g.y)


def decode_gpkg_blob(blob: bytes | None) -> Any:
    """A shapely geometry from a GeoPackage blob (None for NULL)."""
    if blob is None:
        return None
    import shapely

    return shapely.from_wkb(_wkb_part(bytes(blob)))


def _bounds(blob: bytes | None) -> tuple[float, float, float, float] | None:
    """(minx, maxx, miny, maxy) of a GeoPackage blob; None for NULL/empty."""
    if blob is None:
        return None
    blob = bytes(blob)
    if len(blob) < 8 or blob[:2] != b"GP" or blob[3] & 0x10:
        return None
    if (blob[3] >> 1) & 0x07:
        return struct.unpack("<4d" if blob[3] & 1 else ">4d", blob[8:40])
    xy = decode_gpkg_point(blob)
    if xy is not None:
        return (xy[0], xy[0], xy[1], xy[1])
    g = decode_gpkg_blob(blob)
    if g is None or g.is_empty:
        return None
    minx, miny, maxx, maxy = g.bounds
    return (minx, maxx, miny, maxy)


def _register_functions(conn: sqlite3.Connection) -> None:
    """The SQL functions GeoPackage R-tree triggers call (ST_IsEmpty, ST_MinX …).

    QGIS/GDAL add such triggers when someone builds a spatial index on a table; without these
    functions every later edit through plain sqlite3 would fail with "no such function".
    """

    def pick(i: int):  # noqa: ANN202
        def f(blob: bytes | None) -> float | None:
            b = _bounds(blob)
            return None if b is None else b[i]

        return f

    conn.create_function(
        "ST_IsEmpty", 1, lambda b: 1 if _bounds(b) is None else 0, deterministic=True
    )
    for i, name in enumerate(("ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY")):
        conn.create_function(name, 1, pick(i), deterministic=True)


class GeoPackageStore(Store):
    """A store in one GeoPackage file. See the module docstring for the durability rules."""

    kind = "gpkg"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        p = Path(path).expanduser()
        super().__init__(str(p))
        if p.suffix.lower() != ".gpkg":
            raise InputError(f"{p}: a GeoPackage store must be a file ending in .gpkg.")
        if p.exists() and p.is_dir():
            raise InputError(f"{p} is a folder; give a .gpkg file path.")
        p.parent.mkdir(parents=True, exist_ok=True)
        self.path = p
        self._lockfd: int | None = None
        if fcntl is not None:
            self._lockfd = os.open(str(p) + ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            self._conn = sqlite3.connect(
                str(p), timeout=_BUSY_MS / 1000, isolation_level=None, check_same_thread=False
            )
            _register_functions(self._conn)
            self._conn.execute(f"PRAGMA busy_timeout = {_BUSY_MS}")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = FULL")
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._ensure_schema()
        except sqlite3.DatabaseError as exc:
            raise InputError(f"{p}: cannot open as a GeoPackage store ({exc}).") from exc

    # ------------------------------------------------------------------ hooks
    def _q(self, sql: str) -> str:
        return sql

    def _geom_in(self, table: str) -> str:
        return "?"

    def _geom_out(self, column: str = "geometry") -> str:
        return column

    def _encode_point(self, xy: tuple[float, float] | None) -> Any:
        return gpkg_point_blob(xy)

    def _decode_point(self, value: Any) -> tuple[float, float] | None:
        return decode_gpkg_point(value)

    def _encode_geom(self, geom: Any) -> Any:
        return gpkg_blob(geom)

    def _decode_geom(self, value: Any) -> Any:
        return decode_gpkg_blob(value)

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Cursor]:
        # Writers of this package queue on a kernel lock (``<file>.lock``, released even on
        # SIGKILL) instead of SQLite's sleep-and-retry, so no writer starves; other programs
        # (QGIS) still meet SQLite's own locking through BEGIN IMMEDIATE + busy_timeout.
        if self._lockfd is not None:
            fcntl.flock(self._lockfd, fcntl.LOCK_EX)
        try:
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            else:
                cur.execute("COMMIT")
            finally:
                cur.close()
        finally:
            if self._lockfd is not None:
                fcntl.flock(self._lockfd, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Cursor]:
        cur = self._conn.cursor()
        cur.execute("BEGIN")  # one snapshot for all reads of the call
        try:
            yield cur
        finally:
            cur.execute("COMMIT")
            cur.close()

    def _after_write(self, cur: Any, tables: Iterable[str], *, bulk: bool = False) -> None:
        """Keep ``gpkg_contents`` current: last_change always, the extent after bulk loads.

        A single edit only touches ``last_change``; the extent is informational (QGIS reads the
        features themselves) and is recomputed by every bulk load and by ``refresh_extents``.
        """
        for table in tables:
            if not bulk:
                cur.execute(
                    "UPDATE gpkg_contents SET last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE table_name = ?",
                    (table,),
                )
                continue
            ext = self._extent(cur, table)
            cur.execute(
                "UPDATE gpkg_contents SET last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now'), "
                "min_x = ?, min_y = ?, max_x = ?, max_y = ? WHERE table_name = ?",
                (*ext, table),
            )

    def refresh_extents(self) -> None:
        """Recompute the extents in ``gpkg_contents`` from the stored geometries."""
        with self._lock, self._write() as cur:
            self._after_write(cur, ["partners", "schools", "boundaries"], bulk=True)

    def _extent(self, cur: Any, table: str) -> tuple[float | None, ...]:
        cur.execute(f"SELECT geometry FROM {table} WHERE geometry IS NOT NULL")  # noqa: S608
        minx = miny = float("inf")
        maxx = maxy = float("-inf")
        for (blob,) in cur.fetchall():
            blob = bytes(blob)
            if blob[3] & 0x10:
                continue
            env = (blob[3] >> 1) & 0x07
            if env:
                x0, x1, y0, y1 = struct.unpack("<4d" if blob[3] & 1 else ">4d", blob[8:40])
            else:
                xy = decode_gpkg_point(blob)
                if xy is None:
                    continue
                x0 = x1 = xy[0]
                y0 = y1 = xy[1]
            minx, maxx, miny, maxy = min(minx, x0), max(maxx, x1), min(miny, y0), max(maxy, y1)
        if minx == float("inf"):
            return (None, None, None, None)
        return (minx, miny, maxx, maxy)

    def _engine_check(self) -> list[str]:
        with self._lock:
            rows = self._conn.execute("PRAGMA integrity_check").fetchall()
            problems = (
                [] if rows == [("ok",)] else [f"sqlite integrity_check: {r[0]}" for r in rows]
            )
            fk = self._conn.execute("PRAGMA foreign_key_check").fetchall()
            problems += [f"foreign key problem: {r}" for r in fk]
            app = self._conn.execute("PRAGMA application_id").fetchone()[0]
            if app != _APPLICATION_ID:
                problems.append(f"application_id is {app:#x}, not GPKG")
            for table in ("partners", "schools", "boundaries"):
                n = self._conn.execute(
                    "SELECT COUNT(*) FROM gpkg_geometry_columns WHERE table_name = ?", (table,)
                ).fetchone()[0]
                if n != 1:
                    problems.append(f"{table} is not registered in gpkg_geometry_columns")
            bad = 0
            for (blob,) in self._conn.execute(
                "SELECT geometry FROM partners WHERE geometry IS NOT NULL"
            ):
                try:
                    decode_gpkg_point(blob)
                except Exception:
                    bad += 1
            if bad:
                problems.append(f"{bad} partner geometries are not valid GeoPackage blobs")
        return problems

    def close(self) -> None:
        with self._lock:
            conn = getattr(self, "_conn", None)
            if conn is not None:
                conn.close()
                self._conn = None  # type: ignore[assignment]
            if getattr(self, "_lockfd", None) is not None:
                os.close(self._lockfd)
                self._lockfd = None

    # ------------------------------------------------------------------ schema
    def _ensure_schema(self) -> None:
        with self._lock, self._read() as cur:  # the usual case: no write lock needed
            cur.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'store_meta'"
            )
            if cur.fetchone() is not None:
                cur.execute("SELECT value FROM store_meta WHERE key = 'schema_version'")
                row = cur.fetchone()
                if row is not None and row[0] == SCHEMA_VERSION and not _missing_fields(cur):
                    return
        with self._lock, self._write() as cur:
            cur.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'store_meta'"
            )
            if cur.fetchone() is not None:
                cur.execute("SELECT value FROM store_meta WHERE key = 'schema_version'")
                row = cur.fetchone()
                if row is None or row[0] != SCHEMA_VERSION:
                    raise InputError(
                        f"{self.path}: store schema version {row[0] if row else 'unknown'} is not "
                        f"{SCHEMA_VERSION}; export it with the matching assetmap version."
                    )
                # a store made by an earlier assetmap: partner fields added since are new,
                # empty (unknown) columns; nothing else changes
                for name in _missing_fields(cur):
                    cur.execute(
                        f"ALTER TABLE partners ADD COLUMN {name} {_SQL_TYPES[FIELD_KINDS[name]]}"
                    )
                    log.info("%s: added partner field %s (store made by an earlier version)",
                             self.path, name)  # fmt: skip
                return
            cur.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            existing = {r[0] for r in cur.fetchall()}
            if existing - {
                "gpkg_spatial_ref_sys",
                "gpkg_contents",
                "gpkg_geometry_columns",
                "gpkg_ogr_contents",
                "gpkg_extensions",
            }:
                raise InputError(
                    f"{self.path} is an existing GeoPackage that is not an assetmap store "
                    f"(tables: {', '.join(sorted(existing)[:8])}). Use `assetmap store import` to "
                    "load its partners into a store file, or choose a new .gpkg path."
                )
            cur.execute(f"PRAGMA application_id = {_APPLICATION_ID}")
            cur.execute(f"PRAGMA user_version = {_USER_VERSION}")
            for sql in _schema_sql():
                cur.execute(sql)
            cur.executemany(
                "INSERT OR IGNORE INTO gpkg_spatial_ref_sys (srs_name, srs_id, organization, "
                "organization_coordsys_id, definition, description) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        "Undefined cartesian SRS",
                        -1,
                        "NONE",
                        -1,
                        "undefined",
                        "undefined cartesian coordinate reference system",
                    ),
                    (
                        "Undefined geographic SRS",
                        0,
                        "NONE",
                        0,
                        "undefined",
                        "undefined geographic coordinate reference system",
                    ),
                    (
                        "WGS 84 geodetic",
                        4326,
                        "EPSG",
                        4326,
                        _WGS84_WKT,
                        "longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid",
                    ),
                ],
            )
            features = [("partners", "POINT", "Community partners (assetmap store)"),
                        ("schools", "POINT", "Schools"),
                        ("boundaries", "GEOMETRY", "Districts, towns and school zones")]  # fmt: skip
            for table, gtype, desc in features:
                cur.execute(
                    "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) "
                    "VALUES (?, 'features', ?, ?, 4326)",
                    (table, table, desc),
                )
                cur.execute(
                    "INSERT INTO gpkg_geometry_columns (table_name, column_name, geometry_type_name, srs_id, z, m) "
                    "VALUES (?, 'geometry', ?, 4326, 0, 0)",
                    (table, gtype),
                )
            for table, desc in (
                ("audit_log", "Every partner edit: who, when, field, before, after, version"),
                ("network_snapshots", "Saved school networks"),
                ("network_entries", "Partners per need in saved networks"),
                (
                    "network_outcomes",
                    "Referrals made and families served per network entry and term",
                ),
                ("need_profiles", "Aggregated, suppressed need profiles (never survey rows)"),
                ("store_meta", "Store facts"),
            ):
                cur.execute(
                    "INSERT INTO gpkg_contents (table_name, data_type, identifier, description) VALUES (?, 'attributes', ?, ?)",
                    (table, table, desc),
                )
            cur.execute(
                "INSERT INTO store_meta (key, value) VALUES ('schema_version', ?)",
                (SCHEMA_VERSION,),
            )


def _missing_fields(cur: Any) -> list[str]:
    """Partner fields of the field table that the store's partners table lacks."""
    cur.execute("PRAGMA table_info(partners)")
    have = {r[1] for r in cur.fetchall()}
    return [name for name in FIELD_KINDS if have and name not in have]


def _schema_sql() -> list[str]:
    partner_cols = ",\n  ".join(
        f"{name} {_SQL_TYPES[kind]}" + (" NOT NULL UNIQUE" if name == "partner_id" else "")
        for name, kind in FIELD_KINDS.items()
    )
    return [
        """CREATE TABLE IF NOT EXISTS gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL PRIMARY KEY, organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT)""",
        """CREATE TABLE IF NOT EXISTS gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
  description TEXT DEFAULT '', last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id))""",
        """CREATE TABLE IF NOT EXISTS gpkg_geometry_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id))""",
        f"""CREATE TABLE partners (
  fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  {partner_cols},
  version INTEGER NOT NULL DEFAULT 1,
  retired BOOLEAN NOT NULL DEFAULT 0,
  updated_at TEXT, updated_by TEXT,
  geometry POINT)""",
        """CREATE TABLE schools (
  fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, school_id TEXT NOT NULL, name TEXT,
  district_id TEXT, district_name TEXT, town TEXT, address TEXT, grades TEXT, org_type TEXT,
  attributes TEXT, geometry POINT)""",
        """CREATE TABLE boundaries (
  fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, boundary_id TEXT NOT NULL, name TEXT,
  kind TEXT NOT NULL, attributes TEXT, geometry GEOMETRY)""",
        """CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, at TEXT NOT NULL, by_user TEXT NOT NULL,
  partner_id TEXT NOT NULL, action TEXT NOT NULL, field TEXT NOT NULL, before TEXT, after TEXT,
  version INTEGER NOT NULL, note TEXT)""",
        "CREATE INDEX audit_log_partner ON audit_log (partner_id, version)",
        """CREATE TABLE network_snapshots (
  id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, school_id TEXT NOT NULL, as_of TEXT NOT NULL,
  saved_by TEXT NOT NULL, saved_at TEXT NOT NULL, UNIQUE (school_id, as_of))""",
        """CREATE TABLE network_entries (
  id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  snapshot_id INTEGER NOT NULL REFERENCES network_snapshots(id),
  need TEXT NOT NULL, partner_id TEXT, role TEXT, distance_km REAL, data TEXT NOT NULL)""",
        "CREATE INDEX network_entries_snapshot ON network_entries (snapshot_id)",
        """CREATE TABLE network_outcomes (
  id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  snapshot_id INTEGER NOT NULL REFERENCES network_snapshots(id),
  need TEXT NOT NULL, partner_id TEXT NOT NULL DEFAULT '', term TEXT NOT NULL,
  referrals_made INTEGER, families_served INTEGER, updated_by TEXT, updated_at TEXT,
  UNIQUE (snapshot_id, need, partner_id, term))""",
        """CREATE TABLE need_profiles (
  id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, school_id TEXT NOT NULL, as_of TEXT NOT NULL,
  name TEXT NOT NULL, data TEXT NOT NULL, saved_by TEXT NOT NULL, saved_at TEXT NOT NULL)""",
        "CREATE TABLE store_meta (key TEXT PRIMARY KEY NOT NULL, value TEXT)",
    ]
