"""The persistent partner registry (``assetmap.store``) as the app's source of partners.

The store lives at ``settings.store_location`` (default ``var/assetmap.gpkg``, a GeoPackage:
no server needed; a ``postgresql://`` URL selects PostGIS). On the app's first start an
empty store is filled with the shipped Connecticut data, so ``streamlit run app.py`` works
with no setup. Edits made on the Data page are written to the store (audited) and the
app's caches are cleared so every session sees them.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import streamlit as st

from assetmap.settings import get_settings
from assetmap.store import Store, load_shipped, open_store

log = logging.getLogger(__name__)

APP_USER = "assetmap app (first start)"


def location() -> str:
    """Where the registry is (GeoPackage path or PostGIS URL)."""
    return str(get_settings().store_location)


@st.cache_resource(show_spinner="Opening the partner registry…")
def _store(loc: str) -> Store:
    store = open_store(loc)
    if store.counts().get("partners", 0) == 0:
        log.info("empty registry at %s: loading the shipped data", store.display_location)
        load_shipped(store, by=APP_USER)
    return store


def store() -> Store:
    """The open registry (shared by every session; the store serialises its own writes)."""
    return _store(location())


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


def review_queue() -> gpd.GeoDataFrame:
    """Uploaded partners waiting for review: unpublished and not retired (never public)."""
    p = store().partners()
    pending = p[~p["published"].fillna(False).astype(bool)]
    return pending.sort_values(["updated_at", "name"], ascending=[False, True])
