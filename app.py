"""assetmap app: the router. Each screen is one file in views/ (not pages/: a pages/ folder
switches Streamlit into its legacy multipage mode, which runs page files without this router
until the first visit to "/"); logic lives in assetmap/."""

from __future__ import annotations

import streamlit as st

from ui import auth, widgets

st.set_page_config(page_title="assetmap", page_icon="🧭", layout="wide")

principal = auth.current_principal()

find_help = st.Page(
    "views/find_help.py", title="Find help", icon="🔎", default=not principal.is_staff
)
pages: dict[str, list] = {"Families": [find_help]}
if principal.is_staff:
    staff = []
    # the first staff screen: a leader's or admin's district overview, a coordinator's school
    overview = auth.allowed(principal, "district_map")
    if overview:
        staff.append(st.Page("views/district_map.py", title="District map", icon="🗺️", default=True))
    staff += [
        st.Page(
            "views/school_partners.py", title="School partners", icon="🏫", default=not overview
        ),
        st.Page("views/network_exports.py", title="Network & exports", icon="🕸️"),
        st.Page("views/programs.py", title="Programs", icon="📅"),
        st.Page("views/framework.py", title="Framework", icon="🧩"),
        st.Page("views/plays.py", title="Plays", icon="📋"),
        st.Page("views/registry.py", title="Registry", icon="🗂️"),
        st.Page("views/data.py", title="Data", icon="📥"),
        st.Page("views/account.py", title="Account", icon="👤"),
    ]
    pages["Staff"] = staff
else:
    pages["Staff"] = [st.Page("views/sign_in.py", title="Staff sign in", icon="🔐")]

page = st.navigation(pages)
with widgets.render_timer():
    page.run()
