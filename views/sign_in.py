"""Staff sign in: the district's identity provider (OIDC) when configured, else a local account."""

from __future__ import annotations

import streamlit as st

from ui import auth

st.title("Staff sign in")
st.write(
    "School coordinators, district leaders and administrators sign in here to see the "
    "district map, school partners, networks and data. Families do not need an account: "
    "use **Find help**."
)
if auth.current_principal().is_staff:
    st.success("You are signed in.")
    st.page_link("views/school_partners.py", label="Go to School partners", icon="🏫")
    st.stop()

if auth.oidc_configured():
    if st.button("Sign in with your district account", type="primary"):
        st.login()
    if getattr(st.user, "is_logged_in", False):
        st.error(
            "Your account is signed in but has no staff role in assetmap. "
            "Ask an administrator to add you."
        )
    st.divider()

if auth.local_accounts():
    with st.form("sign_in"):
        username = st.text_input("Username", key="signin_user")
        password = st.text_input("Password", type="password", key="signin_password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        if auth.sign_in_local(username, password) is not None:
            st.rerun()
        else:
            st.error("That username and password do not match a staff account.")
elif not auth.oidc_configured():
    st.info(
        "No staff accounts are configured yet. Start the app with `assetmap serve` (or "
        "`make run`) on this machine: the first run creates an `admin` account and prints its "
        "password once in the terminal. More accounts go in `.streamlit/secrets.toml` (see "
        "`.streamlit/secrets.toml.example`), or configure the district's sign-in under `[auth]`."
    )
