"""The workspace (``assetmap.workspace``) as the app's single source of data.

The workspace's store lives at ``settings.store_location`` (default ``var/assetmap.gpkg``, a
GeoPackage: no server needed; a ``postgresql://`` URL selects PostGIS). On the app's first
start an empty default workspace is seeded with the shipped Connecticut data, so
``streamlit run app.py`` works with no setup. Partners, schools, boundaries, the gazetteer
and the survey-derived profile are all read from it; the cache key includes the store's
revision, so an edit made anywhere (Data page, ``assetmap store edit``) is seen by the next
page run without a restart.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import streamlit as st

from assetmap.settings import get_settings
from assetmap.store import Store
from assetmap.workspace import Workspace

log = logging.getLogger(__name__)

APP_USER = "assetmap app (first start)"


def location() -> str:
    """Where the registry is (GeoPackage path or PostGIS URL)."""
    return str(get_settings().store_location)


@st.cache_resource(show_spinner="Opening the workspace…")
def _workspace(loc: str) -> Workspace:
    return Workspace.open(loc)


def workspace() -> Workspace:
    """The open workspace (shared by every session; the store serialises its own writes)."""
    return _workspace(location())


def store() -> Store:
    """The workspace's store (the partner registry)."""
    return workspace().store


def revision() -> str:
    """The store's current revision (changes with every edit, load or upload)."""
    return workspace().revision()


def partners() -> gpd.GeoDataFrame:
    """Every current (non-retired) partner in the registry, with version/stale/owner columns."""
    return store().partners()


def refresh() -> None:
    """Forget every cached frame, index and analysis so the next run reads the registry anew."""
    st.cache_resource.clear()
    st.cache_data.clear()


# ---------------------------------------------------------------------- registry work
#: Fields offered in the browser edit form (text boxes), in this order, with their labels.
FORM_FIELDS: dict[str, str] = {
    "name": "Name",
    "organization": "Organization",
    "phone": "Phone",
    "email": "E-mail",
    "website": "Website",
    "address": "Street address",
    "city": "Town",
    "postal_code": "ZIP code",
    "hours": "Opening hours",
    "description": "Description",
    "eligibility": "Who can use it",
    "cost": "Cost",
    "mou_status": "MOU status",
}
#: Lists edited as "a; b; c" text.
LIST_FIELDS: dict[str, str] = {
    "languages": "Languages (codes, e.g. en; es)",
    "services": "Services",
}


def form_value(rec: dict, field: str) -> str:
    """A stored value as the text shown in the edit form ('' for none; lists joined by '; ')."""
    v = rec.get(field)
    if isinstance(v, list | tuple):
        return "; ".join(str(x) for x in v)
    if v is None or (isinstance(v, float) and v != v):
        return ""
    return str(v)


def form_changes(rec: dict, values: dict[str, str]) -> dict:
    """Only the fields the user changed (blank text clears a field; lists split on ';')."""
    out: dict = {}
    for field, text in values.items():
        text = (text or "").strip()
        if text == form_value(rec, field):
            continue
        if field in LIST_FIELDS:
            out[field] = [p.strip() for p in text.replace(",", ";").split(";") if p.strip()]
        else:
            out[field] = text or None
    return out
