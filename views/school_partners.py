"""School partners (coordinators): partners near a school, filtered, and its ranked matches."""

from __future__ import annotations

import streamlit as st

from assetmap.maps import partner_map
from assetmap.settings import get_settings
from ui import analysis, auth, cache, widgets

principal = auth.require("school_partners")

st.title("School partners")
schools = widgets.schools_for(principal)
sid = widgets.school_picker(key="sp_school", schools=schools)
school = schools[schools["school_id"].astype(str) == sid].iloc[0]

tax, langs = cache.taxonomy(), cache.languages()
c1, c2, c3 = st.columns(3)
with c1:
    need = st.selectbox(
        "Need",
        ["any", *tax.top_needs],
        format_func=lambda c: "Any need" if c == "any" else widgets.need_label(c),
        key="sp_need",
    )
with c2:
    categories = st.multiselect(
        "Categories", list(tax.categories), format_func=widgets.category_label, key="sp_cats"
    )
with c3:
    languages = st.multiselect(
        "Languages spoken",
        list(langs.languages),
        format_func=widgets.language_label,
        key="sp_langs",
    )
settings = get_settings()
default_reach = settings.reach_for(need) if need != "any" else settings.default_reach_km
reach = st.slider(
    "Reach (km)",
    1.0,
    40.0,
    float(default_reach),
    step=0.5,
    format="%.1f km",
    key=f"sp_reach_{need}",
)

lat, lon = school.geometry.y, school.geometry.x
near = cache.partner_index(principal).radius(
    lat,
    lon,
    reach,
    needs=[] if need == "any" else [need],
    categories=categories,
    languages=languages,
)
st.caption(f"{len(near)} partners within {reach:g} km of {widgets.md_literal(school['name'])}")
m = partner_map(
    near,
    schools=schools[schools["school_id"].astype(str) == sid],
    reach_circle=(lat, lon, reach),
)
widgets.show_map(m, height=480, key="sp_map")

tab_match, tab_near, tab_verify = st.tabs(
    ["Ranked matches", "All partners nearby", "To verify (call list)"]
)
with tab_match:
    st.caption(
        "Each need's candidates ranked by an explainable score: distance decay, the share of "
        "the need's families whose language the partner serves, capacity, how recently the "
        "record was verified, and MOU status."
    )
    if analysis.surveyed(sid):
        matches = analysis.match_school(principal, sid, need=None if need == "any" else need)
        st.dataframe(widgets.match_table(matches), hide_index=True)
    else:
        st.info(
            "This school has no family survey responses yet, so its needs are unknown. "
            "Upload a survey on the Data page; the partners nearby are listed in the next tab."
        )
with tab_near:
    st.dataframe(widgets.partner_table(near), hide_index=True)
with tab_verify:
    st.caption(
        f"Partners within {reach:g} km not verified in the last "
        f"{settings.stale_after_days} days, nearest first: call them and mark them verified."
    )
    stale = analysis.stale_near(principal, sid, reach)
    st.dataframe(widgets.partner_table(stale), hide_index=True)
    if len(stale) and auth.allowed(principal, "verify_partner"):
        names = dict(zip(stale["partner_id"].astype(str), stale["name"].astype(str), strict=True))
        called = st.multiselect(
            "Called and confirmed", list(names), format_func=names.get, key="sp_verified"
        )
        if st.button(f"Mark verified ({len(called)})", disabled=not called, key="sp_verify"):
            from assetmap._errors import AssetmapError
            from ui import registry

            done = 0
            for pid in called:
                try:
                    registry.store().verify_partner(pid, by=principal.user)
                    done += 1
                except AssetmapError as exc:
                    st.error(f"{widgets.md_literal(names[pid])}: {widgets.md_literal(exc)}")
            registry.refresh()
            st.session_state.pop("sp_verified", None)
            st.session_state["sp_flash"] = (
                f"Marked {done} partner(s) verified today (recorded in their history)."
            )
            st.rerun()
    if st.session_state.get("sp_flash"):
        st.success(st.session_state.pop("sp_flash"))
