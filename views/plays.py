"""Plays by role (staff): what district leaders, principals, teachers and families can do,
from the Accelerate CT plays and the framework, with the programs and partners delivering each."""

from __future__ import annotations

import streamlit as st

from assetmap.framework import ROLE_LABELS, ROLES, plays_table
from ui import auth, cache
from ui import programs as ui

principal = auth.require("view_staff_page")
st.title("Plays by role")
st.caption(
    "Actions summarised in our own words from CSDE's Accelerate CT “Family and Community "
    "Connections” plays and the framework's stakeholder roles; each names its source."
)
fw = ui.framework()
progs = ui.programs()
partners = cache.partners(principal)
for tab, role in zip(st.tabs([ROLE_LABELS[r] for r in ROLES]), ROLES, strict=True):
    with tab:
        table = plays_table(fw, progs, partners, role=role)
        table["principles"] = table["principles"].map(", ".join)
        table["programs"] = table["programs"].map(", ".join)
        table["partners"] = table["partners"].map(", ".join)
        st.dataframe(table.drop(columns=["play", "role"]), hide_index=True, key=f"plays_{role}")
