"""Cached loaders of the data and indexes (one copy per server process).

Partners come from the registry (``ui.registry``: the store, filled with the shipped data on
first start); schools, boundaries and the gazetteer are the shipped files.

Frames are cached with ``st.cache_resource`` (shared, not copied per call): every caller
treats them as read-only, which the library guarantees (it never mutates its inputs).
Each loader takes the data folder as its cache key, so a different ``ASSETMAP_DATA_DIR``
never sees another folder's data.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import streamlit as st

from assetmap import data
from assetmap.auth import PUBLIC, Principal, visible_partners
from assetmap.index import PartnerIndex
from assetmap.languages import LanguageTable, load_languages
from assetmap.model import CRS
from assetmap.settings import get_settings
from assetmap.taxonomy import Taxonomy, load_taxonomy
from ui import registry


def data_key() -> str:
    """The cache key of the data: the data folder and the registry location in the settings."""
    s = get_settings()
    return f"{s.data_dir}|{s.store_location}"


@st.cache_resource(show_spinner="Loading partners…")
def _partners(key: str) -> gpd.GeoDataFrame:
    return registry.partners()


@st.cache_resource(show_spinner=False)
def _public_partners(key: str) -> gpd.GeoDataFrame:
    out = visible_partners(PUBLIC, _partners(key))
    return gpd.GeoDataFrame(out, geometry="geometry", crs=CRS).reset_index(drop=True)


PrincipalKey = tuple[str, tuple[str, ...], tuple[str, ...]]


@st.cache_resource(show_spinner=False)
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


@st.cache_resource(show_spinner=False)
def _index(key: str, who: PrincipalKey | None) -> PartnerIndex:
    return PartnerIndex.build(_public_partners(key) if who is None else _staff_partners(key, who))


@st.cache_resource(show_spinner=False)
def _schools(key: str) -> gpd.GeoDataFrame:
    return data.load_schools()


@st.cache_resource(show_spinner=False)
def _towns(key: str) -> gpd.GeoDataFrame:
    return data.load_towns()


@st.cache_resource(show_spinner=False)
def _districts(key: str) -> gpd.GeoDataFrame:
    d = data.load_districts()
    code = d["boundary_id"].astype(str).str.replace(r"^CT-", "", regex=True)
    return d.assign(district_id=code)


@st.cache_resource(show_spinner=False)
def _gazetteer(key: str) -> pd.DataFrame:
    return data.load_gazetteer()


def who(principal: Principal) -> PrincipalKey:
    """The hashable cache key of what a principal may see."""
    return (principal.role, tuple(sorted(principal.schools)), tuple(sorted(principal.districts)))


def partners(principal: Principal) -> gpd.GeoDataFrame:
    """The shipped partners this staff principal may see (``assetmap.auth.visible_partners``)."""
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
    """Shipped schools (points)."""
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
