"""Cached staff-side analysis for the pages: need profile, gaps, matches, networks.

Staff only: the public Find help page never imports this module, so a public session never
reads the survey (issue 6). Survey figures reach the pages only as the published
(suppressed) NeedProfile and the Gaps frame built from it.
"""

from __future__ import annotations

from typing import NamedTuple

import folium
import geopandas as gpd
import pandas as pd
import streamlit as st

from assetmap import coverage, match, needs, network
from assetmap._errors import AssetmapError
from assetmap.auth import Principal, visible_partners, visible_profiles
from assetmap.maps import partner_map
from ui import cache, registry
from ui.widgets import KM_PER_MILE


class DistrictView(NamedTuple):
    partners: gpd.GeoDataFrame
    schools: gpd.GeoDataFrame
    boundaries: list[gpd.GeoDataFrame]


@st.cache_resource(show_spinner="Reading the family survey…", max_entries=4)
def _profile(key: str) -> needs.NeedProfile:
    profile = registry.workspace().profile()
    if profile is None:
        raise AssetmapError(
            "this workspace holds no family survey yet: upload one on the Data page "
            "(or `assetmap init --survey FILE`)."
        )
    return profile


def profile() -> needs.NeedProfile:
    """The workspace's survey-derived NeedProfile (aggregates only; figures leave it only
    through ``published()``, suppressed)."""
    return _profile(cache.data_key())


def published() -> pd.DataFrame:
    """The published (suppressed) NeedProfile frame."""
    return profile().published()


@st.cache_resource(show_spinner="Finding gaps…", max_entries=32)
def _gaps(key: str, who: cache.PrincipalKey) -> pd.DataFrame:
    return coverage.gaps(profile=profile(), context=_context(key, who))


def _principal(who: cache.PrincipalKey) -> Principal:
    role, schools, districts = who
    return Principal("staff", role, frozenset(schools), frozenset(districts))


def all_gaps(principal: Principal) -> pd.DataFrame:
    """The Gaps frame for every school, need and language (partners this principal sees)."""
    return _gaps(cache.data_key(), cache.who(principal))


def survey_languages() -> list[str]:
    """Home languages present in the published profile, most families first."""
    p = published()
    p = p[(p["dimension"] == "language") & p["language"].notna()]
    counts = pd.to_numeric(p["count"], errors="coerce").fillna(0)
    order = counts.groupby(p["language"]).sum().sort_values(ascending=False)
    known = [str(c) for c in order.index if c not in ("en", needs.UNKNOWN_LANGUAGE)]
    return known + [
        c for c in profile().languages if c not in known and c not in ("en", needs.UNKNOWN_LANGUAGE)
    ]


@st.cache_resource(show_spinner=False, max_entries=64)
def _district_view(key: str, who: cache.PrincipalKey, district_id: str | None) -> DistrictView:
    schools = cache.schools()
    parts = cache.partners(_principal(who))
    dists = cache.districts()
    if district_id is None:
        return DistrictView(parts, schools, [dists])
    d = dists[dists["district_id"] == str(district_id)]
    sch = schools[schools["district_id"].astype(str) == str(district_id)]
    if d.empty:
        bounds = sch.total_bounds
        bounds = bounds if len(sch) else parts.total_bounds
    else:
        bounds = d.total_bounds
    pad = 0.08  # degrees (~7-9 km): partners just across the line still serve the schools
    minx, miny, maxx, maxy = bounds
    near = parts.cx[minx - pad : maxx + pad, miny - pad : maxy + pad]
    towns = cache.towns()
    t = towns.cx[minx:maxx, miny:maxy]
    return DistrictView(near, sch, [t, d])


def district_view(principal: Principal, district_id: str | None) -> DistrictView:
    """Partners, schools and boundaries to draw for a district (None: the whole state)."""
    return _district_view(cache.data_key(), cache.who(principal), district_id)


def gaps_for(
    principal: Principal, district_id: str | None, *, need: str, language: str | None
) -> pd.DataFrame:
    """Gaps for one need (need-only gaps, or language gaps for one language)."""
    g = all_gaps(principal)
    if district_id is not None:
        g = g[g["district_id"].astype(str) == str(district_id)]
    g = g[g["need"] == need]
    if language is None:
        g = g[g["gap_kind"] == "need"]
    else:
        g = g[(g["gap_kind"] == "need") | (g["language"] == language)]
    return g.reset_index(drop=True)


@st.cache_data(show_spinner=False, max_entries=64)
def _per_category(key: str, who: cache.PrincipalKey, district_id: str | None) -> pd.DataFrame:
    p = _district_view(key, who, district_id).partners
    tax = cache.taxonomy()
    counts = p["category"].astype(str).value_counts()
    return pd.DataFrame(
        {
            "category": [
                tax.categories[c].label if c in tax.categories else c for c in counts.index
            ],
            "partners": counts.to_numpy(),
        }
    )


def partners_per_category(principal: Principal, district_id: str | None) -> pd.DataFrame:
    """Partner counts per category label (for a bar chart)."""
    return _per_category(cache.data_key(), cache.who(principal), district_id)


@st.cache_data(show_spinner=False, max_entries=64)
def _coverage(key: str, who: cache.PrincipalKey, district_id: str | None) -> pd.DataFrame:
    from assetmap.coverage import need_coverage

    tax = cache.taxonomy()
    sch = _district_view(key, who, district_id).schools
    cov = need_coverage(
        _context(key, who), school_ids=sch["school_id"].astype(str), n_schools=len(sch)
    )
    cov.insert(0, "code", cov["need"])
    cov["need"] = cov["code"].map(tax.label)
    return cov


def coverage_per_need(principal: Principal, district_id: str | None) -> pd.DataFrame:
    """Per need, over the surveyed schools whose families reported it: % with a partner
    serving it within reach (``assetmap.coverage.need_coverage``; ``surveyed_text`` says
    how many of the district's schools were surveyed)."""
    return _coverage(cache.data_key(), cache.who(principal), district_id)


def gaps_table(gaps: pd.DataFrame) -> pd.DataFrame:
    """The columns of a Gaps frame a person reads, codes shown as names."""
    tax, langs = cache.taxonomy(), cache.languages()
    out = pd.DataFrame(
        {
            "School": gaps["school_name"],
            "Need": gaps["need"].map(tax.label),
            "Families' language": gaps["language"].map(
                lambda c: langs.name(str(c)) if isinstance(c, str) and c else "(any)"
            ),
            "Gap": (gaps["reason"] if "reason" in gaps.columns else gaps["gap_kind"]).map(
                {
                    "no_partner_within_reach": "no partner within reach",
                    "language_not_offered": "none offers this language",
                    "language_unknown": "languages not recorded: call to check",
                    "need": "no partner within reach",
                    "language": "none in this language",
                }
            ),
            "Families": gaps["families_display"],
            "Reach (mi)": (pd.to_numeric(gaps["reach_km"]) / KM_PER_MILE).round(1),
            "Nearest partner": gaps["nearest_partner_name"],
            "Nearest (mi)": (pd.to_numeric(gaps["nearest_distance_km"]) / KM_PER_MILE).round(1),
        }
    )
    return out


@st.cache_resource(show_spinner="Preparing the analysis…", max_entries=32)
def _context(key: str, who: cache.PrincipalKey) -> match.AnalysisContext:
    return match.prepare(
        partners_index=cache.partner_index(_principal(who)),
        profile=profile(),
        schools=cache.schools(),
        zones=registry.workspace().zones(),
    )


def context(principal: Principal) -> match.AnalysisContext:
    """The shared matching context (profile, index, schools) for this principal's partners."""
    return _context(cache.data_key(), cache.who(principal))


def surveyed(school_id: str) -> bool:
    """True when the school has survey responses (matching and networks need them)."""
    return str(school_id) in set(profile().school_ids)


@st.cache_resource(show_spinner="Ranking partners…", max_entries=256)
def _matches(key: str, who: cache.PrincipalKey, school_id: str, limit: int) -> pd.DataFrame:
    return match.match_all([school_id], profile=profile(), context=_context(key, who), limit=limit)


def match_school(
    principal: Principal, school_id: str, *, need: str | None, limit: int = 10
) -> pd.DataFrame:
    """Ranked partner matches per need for one school, score parts included (cached per
    school; a need filter is a cheap selection)."""
    out = _matches(cache.data_key(), cache.who(principal), str(school_id), limit)
    if need:
        out = out[out["need"] == need]
    return out.reset_index(drop=True)


def build_network(
    principal: Principal, *, school_id: str | None = None, district_id: str | None = None
) -> pd.DataFrame:
    """The coordinated network (Network frame) of a school or a whole district."""
    return network.build_network(
        [school_id] if school_id else None,
        profile=profile(),
        context=context(principal),
        district=district_id,
    )


def export_context(principal: Principal, net: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """What the export files add to a network: its partners, schools, gaps and the published
    need profile of its schools (only what this principal may see)."""
    ids = set(net["school_id"].astype(str)) if len(net) else set()
    sch = cache.schools()
    sch = sch[sch["school_id"].astype(str).isin(ids)]
    parts = cache.partners(principal)
    used = set(net["partner_id"].dropna().astype(str)) if len(net) else set()
    gaps = all_gaps(principal)
    pub = visible_profiles(principal, published())
    return {
        "partners": parts[parts["partner_id"].astype(str).isin(used)],
        "schools": sch,
        "gaps": gaps[gaps["school_id"].astype(str).isin(ids)],
        "profile": pub[pub["school_id"].astype(str).isin(ids)],
    }


@st.cache_resource(show_spinner=False, max_entries=64)
def _district_map(
    key: str, who: cache.PrincipalKey, district_id: str | None, need: str, language: str | None
) -> folium.Map:
    principal = _principal(who)
    view = district_view(principal, district_id)
    return partner_map(
        view.partners,
        schools=view.schools,
        boundaries=view.boundaries,
        gaps=gaps_for(principal, district_id, need=need, language=language),
    )


def district_map(
    principal: Principal, district_id: str | None, *, need: str, language: str | None
) -> folium.Map:
    """The district's folium map (partners by category, schools coloured by their gaps for
    ``need``/``language``), built once per choice. Treat as read-only."""
    return _district_map(cache.data_key(), cache.who(principal), district_id, need, language)


@st.cache_data(show_spinner=False, ttl=300, max_entries=256)
def _stale_near(key: str, who: cache.PrincipalKey, school_id: str, reach_km: float) -> pd.DataFrame:
    try:
        stale = registry.store().stale_partners(school_id=school_id, reach_km=reach_km)
    except AssetmapError:
        return pd.DataFrame(columns=["name", "distance_km", "phone", "last_verified"])
    return pd.DataFrame(visible_partners(_principal(who), stale).drop(columns="geometry"))


def stale_near(principal: Principal, school_id: str, reach_km: float) -> pd.DataFrame:
    """The registry's unverified partners near a school that this principal may see (a
    coordinator's call list; re-read at most every 5 minutes or after an edit)."""
    return _stale_near(cache.data_key(), cache.who(principal), str(school_id), float(reach_km))
