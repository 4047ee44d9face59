"""Data: upload partner, school, boundary and survey files; see every problem by row; map columns."""

from __future__ import annotations

import streamlit as st

from assetmap.settings import get_settings
from ui import auth, upload

principal = auth.require("data")

st.title("Data")
st.write(
    "Upload a file to check it. Every problem is listed with its row number, column and how "
    "to fix it; rows with problems are not loaded, nothing is lost silently. Survey files are "
    "reduced on arrival: columns that identify people are dropped unread, and only "
    "suppressed figures are shown."
)
kind = st.radio(
    "What are you uploading?",
    list(upload.KINDS),
    format_func=upload.KINDS.get,
    horizontal=True,
    key="data_kind",
)
max_mb = get_settings().max_upload_mb
up = st.file_uploader(
    f"File (CSV, Excel, GeoJSON, GeoPackage or zipped shapefile; up to {max_mb} MB)",
    type=upload.FILE_TYPES,
    max_upload_size=max_mb,
    key=f"data_file_{kind}",
)
if up is None:
    st.stop()

frame = upload.handle_upload(kind, up.name, up.getvalue(), key=f"data_{kind}")
if frame is None or len(getattr(frame, "school_ids", frame)) == 0:
    st.stop()

if kind == "partners":
    frame = upload.geocode_missing(frame, key="data_geocode")
st.divider()
if not auth.allowed(principal, "import"):
    st.caption("District leaders and administrators can save uploads into the workspace.")
    st.stop()
if kind == "partners":
    st.caption(
        "Saved partners stay unpublished (staff only) until a district leader or administrator "
        "reviews and publishes them; the public never sees an unreviewed row."
    )
    if st.button(f"Save {len(frame)} partners to the registry", type="primary", key="data_save"):
        auth.require("import")
        upload.save_partners(frame, by=principal.user)
elif kind == "schools":
    if st.button(
        f"Replace the workspace's schools with these {len(frame)}", type="primary", key="data_save"
    ):
        auth.require("import")
        upload.save_schools(frame, by=principal.user)
elif kind == "boundaries":
    what = st.radio(
        "These areas are",
        ["district", "town", "school_zone"],
        format_func={
            "district": "school districts",
            "town": "towns / cities",
            "school_zone": "attendance zones",
        }.get,
        horizontal=True,
        key="data_boundary_kind",
    )
    if st.button(f"Save {len(frame)} areas", type="primary", key="data_save"):
        auth.require("import")
        upload.save_boundaries(frame, kind=what, by=principal.user)
elif kind == "survey":
    st.caption(
        "Only the survey's aggregated counts are kept (never its rows); every page shows them "
        "suppressed."
    )
    if st.button("Use this survey in the workspace", type="primary", key="data_save"):
        auth.require("import")
        upload.save_survey(frame, by=principal.user, source=up.name)
