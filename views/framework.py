"""Framework (staff): Connecticut's 7 guiding principles per school or district — programs,
highest impact level, suggested plays and partners; outcome targets; summer/ESY overlap."""

from __future__ import annotations

import streamlit as st

from ui import auth, widgets
from ui import programs as ui

principal = auth.require("view_staff_page")
fw = ui.framework()

st.title("Family-engagement framework")
st.caption(
    "Connecticut's Definition and Framework for Family Engagement (“Full, Equal and Equitable "
    "Partnerships with Families”): which guiding principles your programs serve and how deeply. "
    "Impact scale: " + " → ".join(lv.name for lv in fw.levels) + " (config/framework.toml)."
)
scopes = ["school", "district"] if auth.allowed(principal, "view_district") else ["school"]
scope = (
    st.radio("Look at", scopes, format_func=str.capitalize, horizontal=True, key="fw_scope")
    if len(scopes) > 1
    else "school"
)
if scope == "school":
    sid = widgets.school_picker(key="fw_school", schools=widgets.schools_for(principal))
    did = widgets.district_of(sid)
    raw = ui.coverage_raw(principal, school=sid)
else:
    sid = None
    did = widgets.district_picker(key="fw_district", principal=principal, allow_all=False)
    raw = ui.coverage_raw(principal, district=did)
table = ui.coverage_table(raw)

served = int((table["programs"] != "").sum())
st.metric("Principles served", f"{served} of {len(table)}")
st.dataframe(table, hide_index=True, key="fw_table")
with st.expander(
    "Suggested plays and partners within reach (principles with nothing or only low impact)"
):
    st.html(ui.suggestions_html(raw))
with st.expander("The impact scale and the framework's examples"):
    st.dataframe(
        [
            {"principle": f"{p.number}. {p.name}", "example": text, "level": fw.level(lv).name}
            for p in fw.principles
            for text, lv in p.examples
        ],
        hide_index=True,
    )

if sid is not None:
    fit = ui.best_times_fit(principal, sid)
    if fit is not None and len(fit):
        st.subheader("Programs and the times families said suit them")
        st.caption(
            "From the survey's best_times answers: published shares only (small cells hidden)."
        )
        st.dataframe(fit, hide_index=True)

st.subheader("Outcome targets")
if sid is not None:
    st.dataframe(
        ui.progress_table(principal, None, sid).drop(columns=["school_id", "school", "source"]),
        hide_index=True,
    )
else:
    ui.show_progress(principal, did)

if did is not None:
    st.subheader("Summer programs alongside extended school year (ESY)")
    ui.show_esy(principal, did)
