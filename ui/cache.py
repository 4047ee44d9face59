"""Cached loaders of the data and indexes (one copy per server process).

Everything comes from the workspace (``ui.registry``: the store, seeded with the shipped data
on first start): partners, schools, boundaries, the gazetteer and the region's name.

Frames are cached with ``st.cache_resource`` (shared, not copied per call): every caller
treats them as read-only, which the library guarantees (it never mutates its inputs).
Each loader takes :func:`data_key` (data folder, workspace location and the store's
revision) as its cache key: an edit made anywhere — the Data page or ``assetmap store edit``
in a terminal — changes the revision, so the next page run reads the workspace anew.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import streamlit as st

from assetmap.auth import PUBLIC, Principal, visible_partners
from assetmap.index import PartnerIndex
from assetmap.languages import LanguageTable, load_languages
from assetmap.model import CRS
from assetmap.settings import get_settings
from assetmap.taxonomy import Taxonomy, load_taxonomy
from ui import registry


def data_key() -> str:
    """The cache key of the data: data folder, workspace location and the store's revision."""
    s = get_settings()
    return f"{s.data_dir}|{s.store_location}|{registry.revision()}"


@st.cache_resource(show_spinner="Loading partners…", max_entries=4)
def _partners(key: str) -> gpd.GeoDataFrame:
    return registry.partners()


@st.cache_resource(show_spinner=False, max_entries=4)
def _public_partners(key: str) -> gpd.GeoDataFrame:
    out = visible_partners(PUBLIC, _partners(key))
    return gpd.GeoDataFrame(out, geometry="geometry", crs=CRS).reset_index(drop=True)


PrincipalKey = tuple[str, tuple[str, ...], tuple[str, ...]]


@st.cache_resource(show_spinner=False, max_entries=32)
def _staff_partners(key: str, who: PrincipalKey) -> gpd.GeoDataFrame:
    role, schools, districts = who
    sch = _schools(key)
    school_districts = dict(
        zip(sch["school_id"].astype(str), sch["district_id"].astype(str), strict=True)
    )
    out = visible_partners(
        Principal("staff", role, frozenset(schools), frozenset(districts)),
        _partners(key),
        school_districts=school_districts,
    )
    return gpd.GeoDataFrame(out, geometry="geometry", crs=CRS).reset_index(drop=True)


@st.cache_resource(show_spinner=False, max_entries=32)
def _index(key: str, who: PrincipalKey | None) -> PartnerIndex:
    return PartnerIndex.build(_public_partners(key) if who is None else _staff_partners(key, who))


@st.cache_resource(show_spinner=False, max_entries=4)
def _schools(key: str) -> gpd.GeoDataFrame:
    return registry.workspace().schools()


@st.cache_resource(show_spinner=False, max_entries=4)
def _towns(key: str) -> gpd.GeoDataFrame:
    return registry.workspace().towns()


@st.cache_resource(show_spinner=False, max_entries=4)
def _districts(key: str) -> gpd.GeoDataFrame:
    return registry.workspace().districts()


@st.cache_resource(show_spinner=False, max_entries=4)
def _gazetteer(key: str) -> pd.DataFrame:
    return registry.workspace().gazetteer()


def region_name() -> str:
    """The workspace's region name (e.g. "Connecticut"), for page wording."""
    return registry.workspace().region_name


def who(principal: Principal) -> PrincipalKey:
    """The hashable cache key of what a principal may see."""
    return (principal.role, tuple(sorted(principal.schools)), tuple(sorted(principal.districts)))


def partners(principal: Principal) -> gpd.GeoDataFrame:
    """The workspace's partners this staff principal may see (``assetmap.auth.visible_partners``)."""
    return _staff_partners(data_key(), who(principal))


def public_partners() -> gpd.GeoDataFrame:
    """What a public session may see (``assetmap.auth.visible_partners``): published rows,
    public columns only; sensitive partners without address or map point."""
    return _public_partners(data_key())


def partner_index(principal: Principal) -> PartnerIndex:
    """The PartnerIndex over :func:`partners` for this principal."""
    return _index(data_key(), who(principal))


def public_index() -> PartnerIndex:
    """The PartnerIndex over :func:`public_partners` (Find help)."""
    return _index(data_key(), None)


def schools() -> gpd.GeoDataFrame:
    """The workspace's schools (points)."""
    return _schools(data_key())


def towns() -> gpd.GeoDataFrame:
    """Town boundaries."""
    return _towns(data_key())


def districts() -> gpd.GeoDataFrame:
    """School district boundaries, with ``district_id`` as the schools spell it."""
    return _districts(data_key())


def gazetteer() -> pd.DataFrame:
    """Town / village / ZIP centroids (offline place search)."""
    return _gazetteer(data_key())


@st.cache_resource(show_spinner=False)
def taxonomy() -> Taxonomy:
    """Needs and partner categories."""
    return load_taxonomy()


@st.cache_resource(show_spinner=False)
def languages() -> LanguageTable:
    """The language table (codes, autonyms, right-to-left flags)."""
    return load_languages()
