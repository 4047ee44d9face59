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
if frame is None or kind != "partners" or len(frame) == 0:
    st.stop()

frame = upload.geocode_missing(frame, key="data_geocode")
st.divider()
if not auth.allowed(principal, "import"):
    st.caption("District leaders and administrators can save uploaded partners to the registry.")
elif st.button(f"Save {len(frame)} partners to the registry", type="primary", key="data_save"):
    auth.require("import")
    upload.save_partners(frame, by=principal.user)
