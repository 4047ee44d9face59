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
    "load_shipped",
    "is_postgis_url",
    "EDITABLE_FIELDS",
    "FIELD_KINDS",
]

_PG_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")


def is_postgis_url(location: str) -> bool:
    """True for a ``postgresql://`` URL."""
    return str(location).strip().lower().startswith(_PG_SCHEMES)


def open_store(location: str | Path | None = None, *, load_if_empty: bool = False) -> Store:
    """Open (creating when needed) the store at ``location`` (default ``settings.store_location``).

    With ``load_if_empty=True`` a store without partners and schools is first seeded with the
    shipped Connecticut workspace (:func:`assetmap.workspace.seed_shipped`: partners, schools,
    boundaries, places, the synthetic survey's profile) — what the app does on its first start.
    """
    store = _open(location)
    if load_if_empty:
        counts = store.counts()
        if counts["partners"] + counts["retired"] == 0 and counts["schools"] == 0:
            try:
                from assetmap.workspace import seed_shipped

                seed_shipped(store, by="assetmap (first start)")
            except BaseException:
                store.close()
                raise
    return store


def load_shipped(store: Store, *, by: str) -> dict[str, object]:
    """Load the shipped partners, schools, towns and districts into ``store``.

    Partners are upserted (running it again changes nothing); schools and boundaries are
    replaced. Returns what was loaded.
    """
    from assetmap import data

    for name in ("ct/partners.geojson", "ct/schools.geojson"):
        if not data.data_path(name).exists():
            raise InputError(
                f"shipped data file {data.data_path(name)} is missing; build it with `make data` "
                "or create an empty store with `assetmap store init --empty`."
            )
    loaded: dict[str, object] = {
        "partners": store.upsert_partners(data.load_partners(), by=by, note="shipped data"),
        "schools": store.put_schools(data.load_schools(), by=by),
    }
    for kind, loader, name in (("town", data.load_towns, "ct/towns.geojson"),
                               ("district", data.load_districts, "ct/districts.geojson")):  # fmt: skip
        if data.data_path(name).exists():
            frame = _boundaries(loader(), kind)
            if kind == "district" and "district_id" not in frame.columns:
                # the shipped polygons carry NCES state ids ("CT-0640011"); schools spell
                # their district "0640011"
                frame["district_id"] = (
                    frame["boundary_id"].astype(str).str.replace(r"^[A-Z]{2}-", "", regex=True)
                )
            loaded[f"{kind}s"] = store.put_boundaries(frame, kind=kind, by=by)
    return loaded


def _boundaries(gdf: object, kind: str) -> object:
    """Shipped boundaries with ``boundary_id`` and ``name`` (from common id/name columns)."""
    out = gdf.copy()  # type: ignore[attr-defined]
    if "boundary_id" not in out.columns:
        for c in (f"{kind}_id", "district_id", "town_id", "GEOID", "geoid", "id", "fips", "code"):
            if c in out.columns:
                out["boundary_id"] = out[c].astype(str)
                break
        else:
            out["boundary_id"] = [f"{kind}-{i + 1}" for i in range(len(out))]
    if "name" not in out.columns:
        for c in (f"{kind}_name", "NAME", "town", "district_name"):
            if c in out.columns:
                out["name"] = out[c]
                break
    return out


def _open(location: str | Path | None) -> Store:
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
