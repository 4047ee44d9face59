"""Persistent partner registry: one interface, two back ends.

``open_store(location)`` picks the back end from the location:

- a path ending in ``.gpkg`` (the default, ``settings.store_location``): :class:`GeoPackageStore`,
  one file that opens in QGIS and needs no server;
- a ``postgresql://`` URL: :class:`PostGISStore`, for a shared deployment.

Both keep partners (with ``version``, ``retired``, ``updated_at``/``updated_by``,
``verified_by``), schools, boundaries, aggregated need profiles (never survey rows), saved
networks with outcomes, and an audit log of every partner edit. Edits are atomic and durable
when they return; an edit based on a stale version raises :class:`StaleVersionError`.

>>> from assetmap.store import open_store  # doctest: +SKIP
>>> store = open_store("var/assetmap.gpkg")  # doctest: +SKIP
>>> v = store.update_partner("p-1", {"phone": "860-555-0100"}, expect_version=3, by="ana")  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from assetmap._errors import InputError, StaleVersionError
from assetmap.store._base import EDITABLE_FIELDS, FIELD_KINDS, Store

__all__ = [
    "Store",
    "GeoPackageStore",
    "PostGISStore",
    "StaleVersionError",
    "open_store",
    "is_postgis_url",
    "EDITABLE_FIELDS",
    "FIELD_KINDS",
]

_PG_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")


def is_postgis_url(location: str) -> bool:
    """True for a ``postgresql://`` URL."""
    return str(location).strip().lower().startswith(_PG_SCHEMES)


def open_store(location: str | Path | None = None) -> Store:
    """Open (creating when needed) the store at ``location`` (default ``settings.store_location``)."""
    if location is None or str(location).strip() == "":
        from assetmap.settings import get_settings

        location = get_settings().store_location
    loc = str(location).strip()
    if is_postgis_url(loc):
        from assetmap.store._postgis import PostGISStore

        return PostGISStore(loc)
    if loc.lower().endswith(".gpkg"):
        from assetmap.store._gpkg import GeoPackageStore

        return GeoPackageStore(loc)
    raise InputError(
        f"store location {loc!r} is neither a GeoPackage path ending in .gpkg nor a postgresql:// URL; "
        "use e.g. --store var/assetmap.gpkg or --store postgresql://user@127.0.0.1:5432/assetmap."
    )


def __getattr__(name: str) -> object:  # lazy: psycopg is only imported for PostGIS
    if name == "GeoPackageStore":
        from assetmap.store._gpkg import GeoPackageStore

        return GeoPackageStore
    if name == "PostGISStore":
        from assetmap.store._postgis import PostGISStore

        return PostGISStore
    raise AttributeError(name)
