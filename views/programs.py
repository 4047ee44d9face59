"""Programs (staff): what partners and schools run for families; add, import/export, outcomes."""

from __future__ import annotations

import streamlit as st

from ui import auth
from ui import programs as ui

principal = auth.require("view_staff_page")

st.title("Programs")
st.caption(
    "Programs and activities (HSDS services with schedules) tagged with the framework's guiding "
    "principles and impact level. Public programs appear on Find help under the times they run."
)
mine = ui.programs_for(principal)
tab_list, tab_add, tab_outcome, tab_files = st.tabs(
    ["Programs", "Add a program", "Record an outcome", "Import / export"]
)
with tab_list:
    st.write(f"{len(mine)} programs for your schools")
    if mine:
        st.dataframe(ui.program_table(mine), hide_index=True)
with tab_add:
    ui.add_program_form(principal)
with tab_outcome:
    ui.outcome_form(principal)
    st.subheader("Recorded outcomes (history)")
    hist = ui.history_for(principal)
    if hist.empty:
        st.caption("Nothing recorded yet.")
    else:
        st.dataframe(hist.drop(columns=["outcome_id"]), hide_index=True)
        ui.download_table(hist, name="outcomes", key="outcome_history")
with tab_files:
    upload = st.file_uploader(
        "Import programs (HSDS .json, .csv or .xlsx)",
        type=["json", "csv", "xlsx"],
        key="prog_upload",
    )
    if upload is not None and st.button("Import", key="prog_import"):
        ui.import_programs(principal, upload)
    ui.export_buttons(mine)
