"""assetmap app: the router. Each screen is one file in pages/; logic lives in assetmap/."""

from __future__ import annotations

import streamlit as st

from ui import auth, widgets

st.set_page_config(page_title="assetmap", page_icon="🧭", layout="wide")

principal = auth.current_principal()

find_help = st.Page(
    "pages/find_help.py", title="Find help", icon="🔎", url_path="find-help", default=True
)
pages: dict[str, list] = {"Families": [find_help]}
if principal.is_staff:
    staff = []
    if auth.allowed(principal, "district_map"):
        staff.append(
            st.Page("pages/district_map.py", title="District map", icon="🗺️", url_path="district")
        )
    staff += [
        st.Page("pages/school_partners.py", title="School partners", icon="🏫", url_path="school"),
        st.Page(
            "pages/network_exports.py", title="Network & exports", icon="🕸️", url_path="network"
        ),
        st.Page("pages/data.py", title="Data", icon="📥", url_path="data"),
        st.Page("pages/account.py", title="Account", icon="👤", url_path="account"),
    ]
    pages["Staff"] = staff
else:
    pages["Staff"] = [
        st.Page("pages/sign_in.py", title="Staff sign in", icon="🔐", url_path="sign-in")
    ]

page = st.navigation(pages)
with widgets.render_timer():
    page.run()
