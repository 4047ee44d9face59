"""One workspace: everything a district works with, read from one store.

A :class:`Workspace` wraps a store (``assetmap.store``: a GeoPackage file or PostGIS) and
gives every command and page the same data: partners (public or staff view), schools,
boundaries (districts, towns, optional attendance zones), the place gazetteer, the
survey-derived need profile (staff only) and the region's name. Library functions take
these as arguments; none of them reads shipped files on its own.

The shipped Connecticut data only *seeds the default workspace* (``settings.store_location``,
``var/assetmap.gpkg`` unless ``ASSETMAP_STORE_URL`` says otherwise) the first time it is
opened empty. Any other location must be built first (``assetmap init`` or
``assetmap store init``).

>>> ws = Workspace.open("var/assetmap.gpkg")  # doctest: +SKIP
>>> near(ws.index(public=True), place="06106", schools=ws.schools(), gazetteer=ws.gazetteer())  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import json
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from assetmap._errors import InputError
from assetmap.settings import get_settings
from assetmap.store import Store, is_postgis_url, load_shipped, open_store

if TYPE_CHECKING:
    import geopandas as gpd

    from assetmap.index import PartnerIndex
    from assetmap.needs import NeedProfile

__all__ = [
    "Workspace",
    "GAZETTEER_COLUMNS",
    "national_zips",
    "SURVEY_TABLE",
]

log = logging.getLogger(__name__)

GAZETTEER_COLUMNS = ["name", "kind", "town", "zip", "lat", "lon"]
PLACES_TABLE = "places"
SURVEY_TABLE = "survey_counts"
SURVEY_SCHOOLS_TABLE = "survey_schools"
SURVEY_META = "survey"
SEED_BY = "assetmap (first start)"


@functools.lru_cache(maxsize=2)
def _national_zips(path: str) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype={"zip": str})
    frame["zip"] = frame["zip"].str.zfill(5)
    return frame


def national_zips() -> pd.DataFrame:
    """Every US ZIP code area (ZCTA internal points, shipped in ``data/us/``) as gazetteer rows.

    Reference data for any region (not a fallback for a workspace's own data): a workspace's
    gazetteer is its own places plus these.
    """
    path = Path(get_settings().data_dir) / "us" / "zcta_points.csv.gz"
    if not path.is_file():
        log.warning("national ZIP gazetteer %s missing; only workspace places are known", path)
        return pd.DataFrame(columns=GAZETTEER_COLUMNS)
    z = _national_zips(str(path))
    return pd.DataFrame(
        {
            "name": z["zip"],
            "kind": "zip",
            "town": "",
            "zip": z["zip"],
            "lat": z["lat"],
            "lon": z["lon"],
        }
    )


class Workspace:
    """The data of one district or region, read from one store (see module docstring)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._cache: dict[Any, Any] = {}
        self._rev: str | None = None

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, location: str | Path | None = None) -> Workspace:
        """Open the workspace at ``location`` (default: ``settings.store_location``).

        The default location is seeded with the shipped Connecticut data when it is empty;
        any other location must already hold a workspace (``assetmap init``), else
        :class:`InputError` says how to make one.
        """
        default = get_settings().store_location
        loc = str(location).strip() if location not in (None, "") else default
        is_default = _same_location(loc, default)
        if not is_default and not is_postgis_url(loc) and not Path(loc).is_file():
            raise InputError(
                f"--store {loc}: no workspace there. Build one with `assetmap init --store {loc} "
                "--schools FILE --boundaries FILE` (or `assetmap store init --store LOC` for the "
                "shipped Connecticut data)."
            )
        store = open_store(loc)
        try:
            counts = store.counts()
            empty = counts["partners"] + counts["retired"] == 0 and counts["schools"] == 0
            if empty and is_default:
                log.info("empty default workspace %s: seeding it with the shipped data", loc)
                seed_shipped(store, by=SEED_BY)
            elif empty:
                raise InputError(
                    f"--store {loc}: the workspace is empty. Build it with `assetmap init --store "
                    f"{loc} --schools FILE --boundaries FILE`."
                )
        except BaseException:
            store.close()
            raise
        return cls(store)

    def close(self) -> None:
        """Close the underlying store."""
        self.store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Workspace({self.store.display_location})"

    @property
    def location(self) -> str:
        return self.store.display_location

    def revision(self) -> str:
        """Changes whenever anything a view reads changes (cache key for the app)."""
        return self.store.revision()

    def _cached(self, key: Any, build: Any) -> Any:
        rev = self.store.revision()
        if rev != self._rev:
            self._cache.clear()
            self._rev = rev
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    # ------------------------------------------------------------------ facts
    @property
    def region_name(self) -> str:
        """The region's display name (``assetmap init --region-name``), e.g. "Miami-Dade"."""
        return self.store.meta().get("region_name") or "this region"

    @property
    def states(self) -> list[str]:
        """Two-letter states the workspace covers (for the gazetteer's address check)."""
        raw = self.store.meta().get("states", "")
        return [s for s in raw.split(",") if s]

    # ------------------------------------------------------------------ partners
    def partners(self, *, public: bool = True) -> gpd.GeoDataFrame:
        """Current partners: the public view (published rows, public columns, sensitive
        sites without a location) or, with ``public=False``, every current record (staff)."""

        def build() -> gpd.GeoDataFrame:
            import geopandas as gpd

            from assetmap.model import CRS

            frame = self.store.partners()
            if not public:
                return frame
            from assetmap.auth import PUBLIC, visible_partners

            out = visible_partners(PUBLIC, frame)
            return gpd.GeoDataFrame(out, geometry="geometry", crs=CRS).reset_index(drop=True)

        return self._cached(("partners", public), build)

    def index(self, *, public: bool = True) -> PartnerIndex:
        """A PartnerIndex over :meth:`partners`."""
        from assetmap.index import PartnerIndex

        return self._cached(
            ("index", public), lambda: PartnerIndex.build(self.partners(public=public))
        )

    # ------------------------------------------------------------------ schools & boundaries
    def schools(self) -> gpd.GeoDataFrame:
        """The workspace's schools (points, ids as text)."""

        def build() -> gpd.GeoDataFrame:
            sch = self.store.schools()
            for col in ("school_id", "district_id"):
                if col in sch.columns:
                    sch[col] = [None if pd.isna(v) else str(v) for v in sch[col]]
            return sch

        return self._cached("schools", build)

    def boundaries(self, kind: str) -> gpd.GeoDataFrame:
        """Stored boundaries of one kind (``district``, ``town``, ``school_zone``)."""
        return self._cached(("boundaries", kind), lambda: self.store.boundaries(kind))

    def districts(self) -> gpd.GeoDataFrame:
        """District polygons with ``district_id`` spelled as the schools spell it."""

        def build() -> gpd.GeoDataFrame:
            d = self.store.boundaries("district")
            if "district_id" not in d.columns:
                d["district_id"] = d["boundary_id"].astype(str)
            d["district_id"] = d["district_id"].fillna(d["boundary_id"]).astype(str)
            return d

        return self._cached("districts", build)

    def towns(self) -> gpd.GeoDataFrame:
        """Town (or city / county subdivision) polygons, possibly empty."""
        return self.boundaries("town")

    def zones(self) -> gpd.GeoDataFrame | None:
        """Attendance zones when the workspace has them, else None."""
        z = self.boundaries("school_zone")
        return None if z.empty else z

    # ------------------------------------------------------------------ gazetteer
    def places(self) -> pd.DataFrame:
        """The workspace's own named places (towns, villages, district and school cities)."""

        def build() -> pd.DataFrame:
            stored = self.store.table(PLACES_TABLE)
            parts = [stored] if stored is not None and len(stored) else []
            parts.append(_polygon_places(self.towns(), "town"))
            parts.append(_polygon_places(self.districts(), "district"))
            parts.append(_school_cities(self.schools()))
            frame = pd.concat([p for p in parts if len(p)], ignore_index=True)
            if frame.empty:
                return pd.DataFrame(columns=GAZETTEER_COLUMNS)
            frame = frame.reindex(columns=GAZETTEER_COLUMNS)
            frame["zip"] = frame["zip"].map(_zip_text)
            key = frame["name"].astype(str).str.casefold() + "|" + frame["kind"].astype(str)
            return frame[~key.duplicated()].reset_index(drop=True)

        return self._cached("places", build)

    def gazetteer(self) -> pd.DataFrame:
        """Place search table (name, kind, town, zip, lat, lon): the workspace's places plus
        every US ZIP code (a ZIP the workspace names itself keeps its town label)."""

        def build() -> pd.DataFrame:
            own = self.places()
            zips = national_zips()
            have = set(own.loc[own["kind"] == "zip", "zip"].astype(str))
            zips = zips[~zips["zip"].isin(have)]
            return pd.concat([own, zips], ignore_index=True)

        return self._cached("gazetteer", build)

    # ------------------------------------------------------------------ survey (staff only)
    def has_survey(self) -> bool:
        """True when a survey-derived need profile is kept in the workspace."""
        return SURVEY_META in self.store.meta()

    def profile(self) -> NeedProfile | None:
        """The survey-derived NeedProfile kept in the workspace (staff only), or None.

        Only aggregated counts are kept (never survey rows); figures leave the profile only
        through ``published()``, suppressed.
        """

        def build() -> NeedProfile | None:
            from assetmap.needs import NeedProfile

            info = self.store.meta().get(SURVEY_META)
            counts = self.store.table(SURVEY_TABLE)
            schools = self.store.table(SURVEY_SCHOOLS_TABLE)
            if not info or counts is None or schools is None:
                return None
            meta = json.loads(info)
            for frame in (counts, schools):
                for col in ("school_id", "district_id", "need", "language", "dimension"):
                    if col in frame.columns:
                        frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
                        frame[col] = [None if v is None else str(v) for v in frame[col]]
            counts["count"] = pd.to_numeric(counts["count"], errors="coerce").astype(float)
            return NeedProfile(
                counts,
                schools,
                languages=meta["languages"],
                needs=meta["needs"],
                synthetic=bool(meta.get("synthetic")),
            )

        return self._cached("profile", build)

    def save_profile(self, profile: NeedProfile, *, by: str, source: str = "") -> None:
        """Keep a survey's aggregated counts (not its rows) as the workspace's need profile."""
        counts = profile._counts  # noqa: SLF001 - aggregated counts, staff-only table
        schools = profile._schools  # noqa: SLF001
        self.store.put_table(SURVEY_TABLE, counts, by=by)
        self.store.put_table(SURVEY_SCHOOLS_TABLE, schools, by=by)
        info = {
            "languages": profile.languages,
            "needs": profile.needs,
            "synthetic": profile.synthetic,
            "source": Path(source).name if source else "",
            "schools": len(schools),
        }
        self.store.set_meta(SURVEY_META, json.dumps(info), by=by)

    def survey_info(self) -> dict[str, Any]:
        """What survey the workspace holds (file name, schools, synthetic) — no figures."""
        raw = self.store.meta().get(SURVEY_META)
        if not raw:
            return {}
        info = json.loads(raw)
        return {k: info.get(k) for k in ("source", "schools", "synthetic")}


# ---------------------------------------------------------------------- helpers
def _same_location(a: str, b: str) -> bool:
    if is_postgis_url(a) or is_postgis_url(b):
        return a.strip() == b.strip()
    return Path(a).expanduser().resolve() == Path(b).expanduser().resolve()


def _zip_text(v: Any) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return ""
    text = str(v).strip().split(".")[0]
    return text.zfill(5) if text.isdigit() else text


def _polygon_places(gdf: gpd.GeoDataFrame, kind: str) -> pd.DataFrame:
    if gdf is None or gdf.empty or "name" not in gdf.columns:
        return pd.DataFrame(columns=GAZETTEER_COLUMNS)
    g = gdf[gdf["name"].notna() & gdf.geometry.notna()]
    if g.empty:
        return pd.DataFrame(columns=GAZETTEER_COLUMNS)
    pts = g.geometry.representative_point()
    return pd.DataFrame(
        {
            "name": g["name"].astype(str).to_numpy(),
            "kind": kind,
            "town": g["name"].astype(str).to_numpy(),
            "zip": "",
            "lat": pts.y.to_numpy(),
            "lon": pts.x.to_numpy(),
        }
    )


def _school_cities(schools: gpd.GeoDataFrame) -> pd.DataFrame:
    col = next((c for c in ("town", "city") if c in schools.columns), None)
    if col is None or schools.empty:
        return pd.DataFrame(columns=GAZETTEER_COLUMNS)
    s = schools[schools[col].notna() & schools.geometry.notna() & ~schools.geometry.is_empty]
    if s.empty:
        return pd.DataFrame(columns=GAZETTEER_COLUMNS)
    frame = pd.DataFrame(
        {"name": s[col].astype(str).str.strip(), "lat": s.geometry.y, "lon": s.geometry.x}
    )
    frame = frame[frame["name"] != ""]
    mean = frame.groupby("name", sort=True)[["lat", "lon"]].mean().reset_index()
    mean["kind"] = "town"
    mean["town"] = mean["name"]
    mean["zip"] = ""
    return mean[GAZETTEER_COLUMNS]


_STATE_SUFFIX = re.compile(r",?\s+[A-Za-z]{2}\.?$")


def seed_shipped(store: Store, *, by: str) -> dict[str, object]:
    """Fill ``store`` with the shipped Connecticut seed: partners, schools, towns, districts,
    the Connecticut gazetteer's places, the SYNTHETIC survey's profile and the region name."""
    from assetmap import data

    loaded = load_shipped(store, by=by)
    ws = Workspace(store)
    gaz = data.load_gazetteer()
    store.put_table(PLACES_TABLE, gaz.reindex(columns=GAZETTEER_COLUMNS), by=by)
    store.set_meta("region_name", get_settings().region or "Connecticut", by=by)
    store.set_meta("states", "CT", by=by)
    path = data.survey_path()
    if path.is_file():
        from assetmap.needs import load_profile

        profile, _report = load_profile(path, schools=ws.schools())
        ws.save_profile(profile, by=by, source=str(path))
        loaded["survey_schools"] = len(profile.school_ids)
    return loaded
