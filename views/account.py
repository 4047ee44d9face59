"""The signed-in staff member: role, schools, sign out."""

from __future__ import annotations

import streamlit as st

from ui import auth

p = auth.current_principal()
st.title("Account")
if not p.is_staff:
    st.info("You are not signed in.")
    st.stop()
st.text(f"Signed in as {p.user} — role: {p.role}")
if p.schools:
    st.text("Schools: " + ", ".join(sorted(p.schools)))
if p.districts:
    st.text("Districts: " + ", ".join(sorted(p.districts)))
if st.button("Sign out"):
    auth.sign_out()
    st.rerun()
