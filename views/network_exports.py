"""Network & exports: build a school's or district's coordinated network, adjust it, download it."""

from __future__ import annotations

import streamlit as st

from assetmap.maps import network_map
from ui import analysis, auth, exports, widgets
from ui import i18n as ui_i18n

principal = auth.require("network")

st.title("Network & exports")
scopes = ["school"] if principal.role == "coordinator" else ["school", "district"]
scope = st.radio(
    "Build for",
    scopes,
    horizontal=True,
    key="net_scope",
    format_func=lambda s: "One school" if s == "school" else "A whole district",
)
if scope == "school":
    schools = widgets.schools_for(principal)
    target = widgets.school_picker(key="net_school", schools=schools)
    label = schools.loc[schools["school_id"].astype(str) == target, "name"].iloc[0]
else:
    target = widgets.district_picker(key="net_district", principal=principal, allow_all=False)
    label = widgets.district_name(target)

key = f"{scope}:{target}"
resource = {"school_id": target} if scope == "school" else {"district_id": target}
if scope == "school":
    resource["district_id"] = widgets.district_of(target)
if not auth.allowed(principal, "view_network", resource):
    st.error("Your account does not cover this school or district.")
    st.stop()
if scope == "school" and not analysis.surveyed(target):
    st.info(
        "This school has no family survey responses yet, so its needs are unknown and no "
        "network can be built. Upload its survey on the Data page."
    )
    st.stop()
if st.button("Build network", type="primary", key="net_build"):
    with st.spinner("Choosing lead and backup partners…"):
        net = (
            analysis.build_network(principal, school_id=target)
            if scope == "school"
            else analysis.build_network(principal, district_id=target)
        )
    st.session_state["net"] = {"key": key, "frame": net, "label": label}

built = st.session_state.get("net")
if not built or built["key"] != key:
    st.info("Choose a school or district and press **Build network**.")
    st.stop()

net = built["frame"]
st.subheader(f"Network for {built['label']}")
st.caption(
    "One lead and up to two backups per need, chosen so that as many of the need's families "
    "as possible are served in their language by as few partners as possible. Change a role "
    "below to adjust the network by hand; downloads use your adjusted version."
)
edited = exports.edit_roles(net, key=f"net_editor_{key}")
if len(edited):
    s1, s2, s3 = st.columns(3)
    s1.metric("Needs with a lead", int((edited["role"] == "lead").sum()))
    s2.metric("Gaps", int((edited["role"] == "gap").sum()))
    s3.metric("Distinct partners", int(edited.loc[edited["role"] != "gap", "partner_id"].nunique()))
    over = edited["overloaded"].fillna(False).astype(bool) if "overloaded" in edited else None
    overloaded = [] if over is None else edited.loc[over, "partner_name"].dropna().unique()
    if len(overloaded):
        st.warning(
            "These partners lead for many schools; check they can take more families: "
            + ", ".join(widgets.md_literal(n) for n in overloaded[:10])
        )
    widgets.show_map(network_map(edited), height=460, key="net_map")

if auth.allowed(principal, "edit_network", resource):
    if st.button("Save this network to the registry (today's snapshot)", key="net_save"):
        saved = exports.save_snapshot(edited, by=principal.user)
        st.success(
            f"Saved {saved} school network(s) as of today; compare dates with "
            "`assetmap store diff`."
        )

st.subheader("Downloads")
extras = analysis.export_context(principal, edited)
dl = st.columns(4)
for i, fmt in enumerate(exports.NETWORK_FORMATS):
    with dl[i % 4]:
        fname = f"network_{exports.slug(built['label'])}{fmt.ext}"
        st.download_button(
            fmt.label,
            data=exports.deferred(edited, fmt.ext, extras=extras, mime=fmt.mime, file_name=fname),
            file_name=fname,
            mime=fmt.mime,
            key=f"net_dl_{fmt.ext}",
            on_click="ignore",
            width="stretch",
        )

st.subheader("Printable family resource sheet")
codes = ui_i18n.language_codes()
sheet_lang = st.selectbox(
    "Language of the sheet", codes, format_func=ui_i18n.autonym, key="net_sheet_lang"
)
if scope == "school":
    sheet_name = f"family_sheet_{exports.slug(built['label'])}_{sheet_lang}"
    c_html, c_pdf = st.columns(2)
    c_html.download_button(
        f"Family sheet ({ui_i18n.autonym(sheet_lang)}) — HTML, print from the browser",
        data=exports.deferred_sheet(edited, sheet_lang, file_name=f"{sheet_name}.html"),
        file_name=f"{sheet_name}.html",
        mime="text/html",
        key="net_dl_sheet",
        on_click="ignore",
    )
    missing = exports.pdf_unavailable()
    if missing:
        c_pdf.caption(f"PDF is not available on this server: {missing}")
    else:
        c_pdf.download_button(
            f"Family sheet ({ui_i18n.autonym(sheet_lang)}) — PDF, one page",
            data=exports.deferred_sheet(
                edited, sheet_lang, ".pdf", mime="application/pdf", file_name=f"{sheet_name}.pdf"
            ),
            file_name=f"{sheet_name}.pdf",
            mime="application/pdf",
            key="net_dl_sheet_pdf",
            on_click="ignore",
        )
else:
    st.caption("Family sheets are made per school: build the network of one school.")
