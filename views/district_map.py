"""District map (leaders): boundaries, partners by category, schools, gaps for a need and language."""

from __future__ import annotations

import streamlit as st

from ui import analysis, auth, cache, widgets

principal = auth.require("district_map")

st.title("District map")
st.caption(
    "Partners by category, schools coloured by their gaps for the chosen need and language. "
    "Family figures are from the SYNTHETIC sample survey and are suppressed below 6."
)

did = widgets.district_picker(key="dm_district", principal=principal)
c1, c2 = st.columns(2)
with c1:
    need = st.selectbox(
        "Need", cache.taxonomy().top_needs, format_func=widgets.need_label, key="dm_need"
    )
with c2:
    language = st.selectbox(
        "Families' language",
        ["any", *analysis.survey_languages()],
        format_func=lambda c: (
            "Any language (need gaps only)" if c == "any" else widgets.language_label(c)
        ),
        key="dm_language",
    )
lang = None if language == "any" else language

view = analysis.district_view(principal, did)
gaps = analysis.gaps_for(principal, did, need=need, language=lang)

widgets.show_map(
    analysis.district_map(principal, did, need=need, language=lang), height=560, key="dm_map"
)

coverage = analysis.coverage_per_need(principal, did)
surveyed = int(coverage["schools_surveyed"].iloc[0]) if len(coverage) else 0
with_gap = gaps["school_id"].nunique() if len(gaps) else 0
k1, k2, k3 = st.columns(3)
k1.metric("Partners", f"{len(view.partners):,}")
k2.metric("Schools surveyed", f"{surveyed:,} of {len(view.schools):,}")
k3.metric(f"Surveyed schools with a gap: {cache.taxonomy().label(need)}", f"{with_gap:,}")
if len(gaps) and "reason" in gaps.columns:
    unknown = int((gaps["reason"] == "language_unknown").sum())
    missing = len(gaps) - unknown
    st.caption(
        f"{missing:,} gaps where the service or language is missing; {unknown:,} where the "
        "partners' languages are not recorded (a phone call may close them: `assetmap calllist`)."
    )

ch1, ch2 = st.columns(2)
with ch1:
    st.subheader("Partners per category")
    st.altair_chart(
        widgets.hbar(analysis.partners_per_category(principal, did), "category", "partners")
    )
with ch2:
    st.subheader("Coverage per need")
    st.caption(
        f"{coverage['surveyed_text'].iloc[0] if len(coverage) else 'No schools surveyed'}. "
        "Share of the surveyed schools whose families reported the need with at least one "
        "partner within reach (schools without survey data are not counted)."
    )
    st.altair_chart(
        widgets.hbar(coverage.dropna(subset=["covered_pct"]), "need", "covered_pct", pct=True)
    )

with st.expander("Outcome targets (programs)"):
    from ui import programs as programs_ui

    programs_ui.show_progress(principal, did)

with st.expander(f"Gaps for {cache.taxonomy().label(need)} ({len(gaps)})"):
    st.dataframe(analysis.gaps_table(gaps), hide_index=True)
