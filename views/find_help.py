"""Find help (public, mobile-first): help near a town, ZIP or address, in the family's language.

Public: reads only published, non-sensitive partners and never touches survey data.
"""

from __future__ import annotations

import streamlit as st

from assetmap.settings import get_settings
from ui import cache, family
from ui import i18n as ui_i18n

codes = ui_i18n.language_codes()
if "find_lang" not in st.session_state:
    st.session_state["find_lang"] = ui_i18n.initial_language()

st.html(family.PAGE_CSS)
lang = st.selectbox(
    "🌐 Language · Idioma · Língua · Lang · اللغة · 语言 · Język",
    codes,
    format_func=ui_i18n.autonym,
    key="find_lang",
)
if st.query_params.get("lang") != lang:
    st.query_params["lang"] = lang  # a shared or bookmarked link keeps the language
t = ui_i18n.translator(lang)
st.html(ui_i18n.direction_css("family", rtl=t.rtl))

with st.container(key="family"):
    st.title(t("find.heading"))
    st.write(t("find.intro"))

    place = st.text_input(
        t("find.place_label"), placeholder=t("find.place_placeholder"), key="find_place"
    )
    need = st.pills(
        t("find.need_heading"),
        family.need_options(),
        format_func=lambda c: family.need_button_label(t, c),
        key="find_need",
        default="all",
        required=True,
    )
    when = st.pills(
        t("find.when_label"),
        family.WHEN_OPTIONS,
        format_func=lambda c: family.when_label(t, c),
        key="find_when",
        default="any",
        required=True,
    )
    miles = get_settings().distance_unit == "mi"
    reach = st.select_slider(
        t("find.radius_label_mi" if miles else "find.radius_label"),
        options=family.RADII_MI if miles else family.RADII_KM,
        value=family.DEFAULT_RADIUS_MI if miles else family.DEFAULT_RADIUS_KM,
        format_func=lambda v: f"{v:g}",
        key="find_radius",
    )
    radius = reach * family.KM_PER_MI if miles else reach
    st.button(t("find.search_button"), type="primary", key="find_search", width="stretch")

    origin = family.resolve_origin(t, place=place, gazetteer=cache.gazetteer())
    if origin is not None:
        programs = family.public_programs()
        results, within = family.search(
            cache.public_index(),
            origin,
            need=None if need == "all" else need,
            radius_km=radius,
            when=when,
            programs=programs,
        )
        results = family.with_walk_minutes(results, origin)
        if need == "all":  # programs carry no need codes: listed while no need is chosen
            family.show_programs(
                t, family.programs_near(programs, origin, radius_km=radius, when=when), lang=lang
            )
        family.show_results(t, results, lang=lang, origin=origin, within=within, radius_km=radius)
        family.show_confidential(
            t,
            family.confidential(cache.public_partners(), need=None if need == "all" else need),
            lang=lang,
        )
    st.caption(t("find.privacy_note"))
