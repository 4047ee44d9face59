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
SURVEY_BEST_TIMES_TABLE = "survey_best_times"
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
                f"--store {loc}: no such workspace. Build one with `assetmap init --store {loc} "
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
        return self.store.meta().get("region_name") or "the region"

    def check_region(self) -> Any:
        """Where new partner and school points may lie (an ``assetmap.ingest.region.Region``):
        the workspace's state box when known, else the United States."""
        return _check_region(self.states)

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
            parts = [p for p in parts if len(p)]
            if not parts:
                return pd.DataFrame(columns=GAZETTEER_COLUMNS)
            frame = pd.concat(parts, ignore_index=True)
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
                best_times=_best_times_from_table(self.store.table(SURVEY_BEST_TIMES_TABLE)),
            )

        return self._cached("profile", build)

    def save_profile(
        self, profile: NeedProfile, *, by: str, source: str = "", report: Any = None
    ) -> None:
        """Keep a survey's aggregated counts (not its rows) as the workspace's need profile;
        with ``report`` (the reading report) its warnings (answers not recognised) too."""
        counts = profile._counts  # noqa: SLF001 - aggregated counts, staff-only table
        schools = profile._schools  # noqa: SLF001
        self.store.put_table(SURVEY_TABLE, counts, by=by)
        self.store.put_table(SURVEY_SCHOOLS_TABLE, schools, by=by)
        best = profile.best_times()
        if best is not None:  # published (suppressed) figures only; hidden cells stored empty
            best = best.assign(
                school_id=best["school_id"].astype(str),
                families=pd.to_numeric(best["families"], errors="coerce").astype(float),
                respondents=pd.to_numeric(best["respondents"], errors="coerce").astype(float),
                suppressed=best["suppressed"].astype(int),
            )
            self.store.put_table(SURVEY_BEST_TIMES_TABLE, best, by=by)
        elif self.store.table(SURVEY_BEST_TIMES_TABLE) is not None:
            empty = pd.DataFrame(
                {"school_id": [], "time": [], "families": [], "respondents": [], "suppressed": []}
            )
            self.store.put_table(SURVEY_BEST_TIMES_TABLE, empty, by=by)
        info = {
            "languages": profile.languages,
            "needs": profile.needs,
            "synthetic": profile.synthetic,
            "source": Path(source).name if source else "",
            "schools": len(schools),
            "warnings": [w.describe() for w in report.warnings[:50]] if report is not None else [],
            "n_warnings": len(report.warnings) if report is not None else 0,
        }
        self.store.set_meta(SURVEY_META, json.dumps(info), by=by)

    def survey_info(self) -> dict[str, Any]:
        """What survey the workspace holds (file name, schools, synthetic) — no figures."""
        raw = self.store.meta().get(SURVEY_META)
        if not raw:
            return {}
        info = json.loads(raw)
        return {k: info.get(k) for k in ("source", "schools", "synthetic")}

    def survey_warnings(self) -> tuple[int, list[str]]:
        """How many answers of the kept survey were not recognised, and (up to 50) which."""
        raw = self.store.meta().get(SURVEY_META)
        info = json.loads(raw) if raw else {}
        return int(info.get("n_warnings", 0)), list(info.get("warnings", []))


# ---------------------------------------------------------------------- helpers
def _best_times_from_table(table: pd.DataFrame | None) -> pd.DataFrame | None:
    """The stored best-times table back in the shape best_times_profile returns."""
    if table is None or table.empty:
        return None
    out = pd.DataFrame({"school_id": table["school_id"].astype(str), "time": table["time"]})
    for col in ("families", "respondents"):
        vals = pd.to_numeric(table[col], errors="coerce")
        out[col] = [None if pd.isna(v) else int(v) for v in vals]
    out["suppressed"] = table["suppressed"].astype(bool).to_numpy()
    return out.reset_index(drop=True)


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
    if data.data_path("ct/gazetteer.csv").is_file():
        gaz = data.load_gazetteer()
        store.put_table(PLACES_TABLE, gaz.reindex(columns=GAZETTEER_COLUMNS), by=by)
    store.set_meta("region_name", get_settings().region or "Connecticut", by=by)
    store.set_meta("states", "CT", by=by)
    path = data.survey_path()
    if path.is_file():
        from assetmap.needs import load_profile

        profile, report = load_profile(path, schools=ws.schools())
        ws.save_profile(profile, by=by, source=str(path), report=report)
        loaded["survey_schools"] = len(profile.school_ids)
    return loaded


# ---------------------------------------------------------------------- building a workspace
STATE_NAMES = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
    "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota",
    "MS": "Mississippi", "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
    "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York",
    "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon",
    "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota",
    "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia",
    "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
    "PR": "Puerto Rico", "GU": "Guam", "VI": "U.S. Virgin Islands", "AS": "American Samoa",
    "MP": "Northern Mariana Islands",
}  # fmt: skip


def _state_code(state: str) -> str:
    s = str(state).strip()
    if s.upper() in STATE_NAMES:
        return s.upper()
    for code, name in STATE_NAMES.items():
        if name.casefold() == s.casefold():
            return code
    raise InputError(
        f"--state {state!r} is not a US state or territory; give its two-letter code (e.g. --state FL)."
    )


def national_districts(state: str) -> gpd.GeoDataFrame:
    """NCES school district polygons of one state (shipped ``data/us/school_districts``)."""
    import geopandas as gpd

    path = Path(get_settings().data_dir) / "us" / "school_districts.geojson.gz"
    if not path.is_file():
        raise InputError(
            f"the national district layer {path} is missing; rebuild it with scripts/build_us.py"
        )
    code = _state_code(state)
    g = gpd.read_file(f"/vsigzip/{path}", engine="pyogrio", where=f"state = '{code}'")
    g = g[g["state"] == code]
    return gpd.GeoDataFrame(
        {
            "boundary_id": g["nces_st_leaid"].astype(str).to_numpy(),
            "name": g["name"].astype(str).to_numpy(),
            "district_id": g["nces_st_leaid"].astype(str).to_numpy(),
            "source": "NCES EDGE school districts SY2020-21 (simplified ~300 m)",
        },
        geometry=g.geometry.to_numpy(),
        crs=g.crs,
    ).to_crs("EPSG:4326")


def national_partners(state: str) -> gpd.GeoDataFrame:
    """US hospitals, colleges and public library systems of one state as canonical Partners."""
    import geopandas as gpd

    from assetmap.model import CRS, conform_partners
    from assetmap.taxonomy import load_taxonomy

    path = Path(get_settings().data_dir) / "us" / "partners_points.csv.gz"
    if not path.is_file():
        raise InputError(
            f"the national partner layer {path} is missing; rebuild it with scripts/build_us.py"
        )
    code = _state_code(state)
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    raw = raw[raw["state"] == code].reset_index(drop=True)
    tax = load_taxonomy()
    services = [
        list(tax.categories[c].default_services) if c in tax.categories else []
        for c in raw["category"]
    ]
    frame = pd.DataFrame(
        {
            "partner_id": [
                f"us-{c}-{s}".replace(" ", "")
                for c, s in zip(raw["category"], raw["source_id"], strict=True)
            ],
            "name": raw["name"],
            "category": raw["category"],
            "services": services,
            "services_inferred": services,
            "languages": [[] for _ in range(len(raw))],
            "address": raw["address"],
            "city": raw["city"],
            "state": raw["state"],
            "postal_code": raw["postal_code"].str[:5],
            "phone": raw["phone"],
            "delivery": [["in_person"] for _ in range(len(raw))],
            "mou_status": "none",
            "source": raw["source"] + " (national layer, assetmap data/us)",
            "published": True,
            "sensitive": False,
            "example": False,
            "geocode_source": "source",
            "geocode_quality": "exact",
        }
    )
    geom = gpd.points_from_xy(pd.to_numeric(raw["lon"]), pd.to_numeric(raw["lat"]), crs=CRS)
    return conform_partners(gpd.GeoDataFrame(frame, geometry=geom, crs=CRS))


def _check_region(states: list[str]) -> Any:
    """Where points of a workspace may lie: its state's box when config/regions.toml has
    one, else the United States."""
    from assetmap.ingest.region import load_region

    names = [STATE_NAMES.get(s, "") for s in states]
    own = load_region(names[0]) if len(names) == 1 else None
    return own or load_region("United States")


def _read(path: str | Path, kind: str, *, states: list[str] = (), **kw: Any) -> Any:  # type: ignore[assignment]
    from assetmap.schema import load_file

    if not Path(path).is_file():
        raise InputError(f"{path}: no such file (the {kind} file to build the workspace from)")
    frame, report = load_file(str(path), kind=kind, region=_check_region(list(states)), **kw)
    if not report.ok or len(frame) == 0:
        raise InputError(f"{path}: no usable {kind} rows", report=report)
    return frame, report


def join_districts(schools: gpd.GeoDataFrame, districts: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Give schools without a district id the district polygon that contains them (id and name).

    A school outside every polygon keeps no district (its id stays empty).
    """
    import geopandas as gpd

    out = schools.copy()
    if districts is None or districts.empty:
        return out
    missing = out["district_id"].isna() | (out["district_id"].astype(str).str.strip() == "")
    if not missing.any():
        return out
    d = districts[["district_id", "name", "geometry"]].rename(columns={"name": "_district_name"})
    pts = gpd.GeoDataFrame(out.loc[missing, ["geometry"]], geometry="geometry", crs=out.crs)
    hit = gpd.sjoin(pts, d.to_crs(out.crs), how="left", predicate="within")
    hit = hit[~hit.index.duplicated(keep="first")]
    out.loc[hit.index, "district_id"] = hit["district_id"].where(hit["district_id"].notna(), None)
    if "district_name" in out.columns:
        blank = out.loc[hit.index, "district_name"].isna() | (
            out.loc[hit.index, "district_name"].astype(str).str.strip() == ""
        )
        idx = hit.index[blank.to_numpy()]
        out.loc[idx, "district_name"] = hit.loc[idx, "_district_name"]
    return out


def _any_inside(schools: gpd.GeoDataFrame, districts: gpd.GeoDataFrame) -> bool:
    import shapely

    has = schools.geometry.notna() & ~schools.geometry.is_empty
    if not has.any() or districts.empty:
        return False
    area = shapely.union_all(districts.to_crs(schools.crs).geometry.make_valid().to_numpy())
    return bool(schools.geometry[has].within(area).any())


def build_workspace(
    location: str | Path,
    *,
    schools: str | Path,
    boundaries: str | Path | None = None,
    towns: str | Path | None = None,
    zones: str | Path | None = None,
    partners: list[str | Path] = (),  # type: ignore[assignment]
    survey: str | Path | None = None,
    state: str | None = None,
    region_name: str | None = None,
    by: str,
) -> tuple[Workspace, dict[str, Any]]:
    """Build a new workspace at ``location`` from a district's own files.

    ``schools`` is required; district polygons come from ``boundaries`` or, with ``state``,
    from the national NCES layer. With ``state`` the national hospitals, colleges and library
    systems of that state are added as partners (published, with their source). Schools
    without a district id get the polygon that contains them. The workspace's gazetteer is
    its towns, districts and school cities plus every US ZIP. Returns the open workspace and
    a summary (counts and warnings).
    """
    if boundaries is None and state is None:
        raise InputError(
            "give --boundaries FILE (district polygons) or --state XX to use the national layer"
        )
    loc = str(location)
    if not is_postgis_url(loc) and Path(loc).exists():
        raise InputError(
            f"--store {loc} already exists; choose a new location (a workspace is built once)"
        )
    if not is_postgis_url(loc):
        Path(loc).parent.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {"warnings": []}
    states = [_state_code(state)] if state else []
    sch, rep = _read(schools, "schools", states=states)
    summary["warnings"] += [w.describe() for w in rep.warnings[:20]]
    if boundaries is not None:
        dist, rep = _read(boundaries, "boundaries")
        summary["warnings"] += [w.describe() for w in rep.warnings[:20]]
        dist = dist.copy()
        dist["district_id"] = dist["boundary_id"].astype(str)
    else:
        dist = national_districts(str(state))
        if dist.empty:
            raise InputError(f"the national layer has no school districts for {state}")
    # districts named by the schools file (district_id) but absent from the polygons keep
    # their own id; schools without one get the containing polygon
    sch = join_districts(sch, dist)
    if not _any_inside(sch, dist):
        raise InputError(
            f"{schools}: no school lies inside the district polygons; check that both files "
            "cover the same area"
        )
    town_frame = None
    if towns is not None:
        town_frame, rep = _read(towns, "boundaries")
        summary["warnings"] += [w.describe() for w in rep.warnings[:20]]
    zone_frame = None
    if zones is not None:
        zone_frame, rep = _read(zones, "boundaries")
    part_frames = []
    for p in partners:
        frame, rep = _read(p, "partners", states=states)
        summary["warnings"] += [w.describe() for w in rep.warnings[:20]]
        part_frames.append(frame)
    if state is not None:
        part_frames.append(national_partners(str(state)))

    store = open_store(loc)
    try:
        summary["schools"] = store.put_schools(sch, by=by)
        summary["districts"] = store.put_boundaries(dist, kind="district", by=by)
        if town_frame is not None:
            summary["towns"] = store.put_boundaries(town_frame, kind="town", by=by)
        if zone_frame is not None:
            summary["zones"] = store.put_boundaries(zone_frame, kind="school_zone", by=by)
        added = 0
        for frame in part_frames:
            res = store.upsert_partners(frame, by=by, note="assetmap init")
            added += int(res.get("added", 0)) + int(res.get("updated", 0))
        summary["partners"] = added
        store.set_meta("states", ",".join(states), by=by)
        name = region_name or (STATE_NAMES[_state_code(state)] if state else "")
        if not name:
            names = sorted(set(dist["name"].astype(str)))
            name = names[0] if len(names) == 1 else "the region"
        store.set_meta("region_name", name, by=by)
        summary["region_name"] = name
        ws = Workspace(store)
        if survey is not None:
            from assetmap.needs import load_profile

            if not Path(survey).is_file():
                raise InputError(f"--survey {survey}: no such file")
            profile, rep = load_profile(survey, schools=ws.schools())
            summary["warnings"] += [w.describe() for w in rep.warnings[:20]]
            ws.save_profile(profile, by=by, source=str(survey), report=rep)
            summary["surveyed_schools"] = len(profile.school_ids)
        summary["unmatched_schools"] = int(sch["district_id"].isna().sum())
    except BaseException:
        store.close()
        if not is_postgis_url(loc):
            for suffix in ("", "-wal", "-shm", ".lock"):
                Path(loc + suffix).unlink(missing_ok=True)
        raise
    return ws, summary
