"""Registry (staff): edit a partner (stale-version check), mark verified, see its history and
a network's changes between two saved snapshots, review uploaded rows, record outcomes.

Every write goes through :mod:`assetmap.store` (audited with the signed-in user's name) after
a server-side role check; nothing here is reachable from the public Find help page.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from assetmap import review
from assetmap._errors import AssetmapError, StaleVersionError
from assetmap.auth import visible_partners
from ui import auth, registry, widgets

principal = auth.require("view_staff_page")
store = registry.store()

st.title("Registry")
st.caption(
    "Every change here is saved with your name and time in the audit history. "
    "Uploaded rows stay private until a district leader or administrator publishes them."
)

can_review = auth.allowed(principal, "publish_partners")
tab_names = ["Edit & verify", "History", "Network changes", "Outcomes"]
if can_review:
    tab_names.insert(1, "Review queue")
tabs = dict(zip(tab_names, st.tabs(tab_names), strict=True))

# ---------------------------------------------------------------- edit & verify
with tabs["Edit & verify"]:
    mine = visible_partners(principal, store.partners())
    if mine.empty:
        st.info("No partners you may edit are in the registry yet.")
    else:
        labels = dict(
            zip(
                mine["partner_id"].astype(str),
                (mine["name"].astype(str) + " — " + mine["city"].fillna("").astype(str)),
                strict=True,
            )
        )
        pid = st.selectbox(
            "Partner",
            sorted(labels, key=lambda k: labels[k].lower()),
            format_func=lambda k: labels[k],
            key="reg_partner",
        )
        rec = store.get_partner(pid)
        base_key = f"reg_base_{pid}"
        # the version the form was opened at: an edit saved meanwhile by someone else is caught
        st.session_state.setdefault(base_key, int(rec["version"]))
        base = st.session_state[base_key]
        st.caption(
            f"Version {rec['version']} · last verified {rec.get('last_verified') or 'never'}"
            + (" · **needs verifying**" if rec.get("stale") else "")
            + ("" if rec.get("published", True) else " · **not public (waiting for review)**")
        )
        kp = f"reg_{pid}_v{base}"  # new widgets (current values) whenever the base version moves
        with st.form("reg_form"):
            values: dict[str, str] = {}
            cols = st.columns(2)
            fields = {**registry.FORM_FIELDS, **registry.LIST_FIELDS}
            for i, (field, label) in enumerate(fields.items()):
                with cols[i % 2]:
                    values[field] = st.text_input(
                        label, registry.form_value(rec, field), key=f"{kp}_{field}"
                    )
            note = st.text_input("Note for the history (optional)", key=f"{kp}_note")
            saved = st.form_submit_button("Save changes", type="primary")
        if saved:
            if not auth.allowed(principal, "edit_partner"):
                st.error("Your role may not edit partners.")
            else:
                changes = registry.form_changes(rec, values)
                if not changes:
                    st.info("Nothing changed.")
                else:
                    try:
                        v = store.update_partner(
                            pid, changes, by=principal.user, expect_version=base, note=note or None
                        )
                    except StaleVersionError as exc:
                        st.error(
                            f"Not saved: someone changed this partner while you were editing "
                            f"({exc}). Below are the current values; make your change again."
                        )
                        st.session_state[base_key] = int(store.get_partner(pid)["version"])
                    except AssetmapError as exc:
                        st.error(f"Not saved: {exc}")
                    else:
                        st.session_state[base_key] = v
                        registry.refresh()
                        st.session_state["reg_flash"] = (
                            f"Saved version {v}: {', '.join(sorted(changes))} changed."
                        )
                        st.rerun()
        if st.button("Mark verified today", key=f"reg_verify_{pid}"):
            if not auth.allowed(principal, "verify_partner"):
                st.error("Your role may not verify partners.")
            else:
                try:
                    v = store.verify_partner(pid, by=principal.user)
                except AssetmapError as exc:
                    st.error(f"Not saved: {exc}")
                else:
                    st.session_state[base_key] = v
                    registry.refresh()
                    st.session_state["reg_flash"] = (
                        f"Marked verified on {dt.date.today().isoformat()} (version {v})."
                    )
                    st.rerun()
        if st.session_state.get("reg_flash"):
            st.success(st.session_state.pop("reg_flash"))

# ---------------------------------------------------------------- review queue
if can_review:
    with tabs["Review queue"]:
        queue = review.pending_partners(store)
        if queue.empty:
            st.info("Nothing waits for review.")
        else:
            st.caption(
                f"{len(queue)} uploaded or changed partner(s) are not public yet. Check each row "
                "(a point far outside the region, a wrong phone…), then publish or reject it. "
                "Rejected rows are retired: kept in the history, never shown."
            )
            table = pd.DataFrame(
                {
                    "Name": queue["name"].astype(str).to_numpy(),
                    "Town": queue["city"].fillna("").astype(str).to_numpy(),
                    "Phone": queue["phone"].fillna("").astype(str).to_numpy(),
                    "Latitude": queue.geometry.y.round(5).to_numpy(),
                    "Longitude": queue.geometry.x.round(5).to_numpy(),
                    "Saved by": queue["updated_by"].fillna("").astype(str).to_numpy(),
                    "ID": queue["partner_id"].astype(str).to_numpy(),
                }
            )
            st.dataframe(table, hide_index=True)
            names = dict(zip(table["ID"], table["Name"] + " — " + table["Town"], strict=True))
            ids = st.multiselect(
                "Rows to publish or reject", list(names), format_func=names.get, key="reg_review"
            )
            reason = st.text_input(
                "Reason for rejecting (kept in the history)", key="reg_reject_reason"
            )
            c1, c2 = st.columns(2)
            publish = c1.button(f"Publish selected ({len(ids)})", type="primary", key="reg_publish")
            reject = c2.button(f"Reject selected ({len(ids)})", key="reg_reject")
            if (publish or reject) and ids:
                if not auth.allowed(principal, "publish_partners"):
                    st.error("Your role may not publish or reject partners.")
                    st.stop()
                try:
                    if publish:
                        review.publish_partners(store, ids, by=principal.user)
                    else:
                        review.reject_partners(store, ids, by=principal.user, reason=reason)
                except AssetmapError as exc:
                    st.error(f"Not saved: {exc}")
                else:
                    registry.refresh()
                    st.session_state.pop("reg_review", None)
                    st.session_state["reg_review_flash"] = (
                        f"{'Published' if publish else 'Rejected'} {len(ids)} partner(s)."
                    )
                    st.rerun()
        if st.session_state.get("reg_review_flash"):
            st.success(st.session_state.pop("reg_review_flash"))

# ---------------------------------------------------------------- history
with tabs["History"]:
    pid_h = st.session_state.get("reg_partner")
    if not pid_h:
        st.info("Choose a partner under Edit & verify to see its history.")
    else:
        hist = store.history(pid_h)
        st.caption(f"Every change to {pid_h}, oldest first.")
        hist = hist.assign(
            after=[
                "(new record)" if a in ("add", "import") else v
                for a, v in zip(hist["action"], hist["after"], strict=True)
            ]
        )
        shown = hist.tail(50).rename(
            columns={
                "at": "When", "by": "Who", "action": "Action", "field": "Field",
                "before": "Before", "after": "After", "version": "Version", "note": "Note",
            }
        ).drop(columns=["id", "partner_id"])  # fmt: skip
        st.table(shown.fillna("").astype(str).set_index("When"))


# ---------------------------------------------------------------- network changes
def _saved_network_school(empty: str, *, key: str) -> tuple[str, list[str]] | None:
    """Pick one of the user's schools with saved networks; its id and the saved dates."""
    schools = widgets.schools_for(principal)
    snaps = store.networks()
    snaps = snaps[snaps["school_id"].astype(str).isin(set(schools["school_id"].astype(str)))]
    if snaps.empty:
        st.info(empty)
        return None
    names = dict(zip(schools["school_id"].astype(str), schools["name"].astype(str), strict=True))
    sid = st.selectbox(
        "School",
        sorted(set(snaps["school_id"].astype(str))),
        format_func=lambda s: names.get(s, s),
        key=key,
    )
    return sid, snaps.loc[snaps["school_id"].astype(str) == sid, "as_of"].astype(str).tolist()


with tabs["Network changes"]:
    picked = _saved_network_school(
        "No saved networks yet: save one on Network & exports.", key="reg_diff_school"
    )
    if picked is not None:
        sid, dates = picked
        c1, c2 = st.columns(2)
        a = c1.selectbox("From", dates, index=0, key="reg_diff_a")
        b = c2.selectbox("To", dates, index=len(dates) - 1, key="reg_diff_b")
        if a == b:
            st.info("Choose two different dates to compare (save the network again to get one).")
        else:
            d = store.network_diff(sid, a, b)
            lines = [
                ("Partners added", ", ".join(d.get("partners_added", [])) or "none"),
                ("Partners removed", ", ".join(d.get("partners_removed", [])) or "none"),
                ("Needs newly covered", ", ".join(d.get("needs_covered", [])) or "none"),
                (
                    "Needs that lost every partner",
                    ", ".join(d.get("needs_uncovered", [])) or "none",
                ),
                (
                    "Lead changed",
                    "; ".join(f"{n}: {o} → {w}" for n, (o, w) in d.get("leads_changed", {}).items())
                    or "none",
                ),
            ]
            st.table(pd.DataFrame(lines, columns=["Change", "What"]).set_index("Change"))

# ---------------------------------------------------------------- outcomes
with tabs["Outcomes"]:
    picked = _saved_network_school(
        "No saved networks yet: save one on Network & exports, then record outcomes here.",
        key="reg_out_school",
    )
    if picked is not None:
        sid, dates = picked
        as_of = st.selectbox("Network saved on", dates, index=len(dates) - 1, key="reg_out_date")
        net = store.network(sid, as_of=as_of)
        net = net[net["partner_id"].notna()] if "partner_id" in net.columns else net.iloc[0:0]
        entries = [
            (
                str(r["need"]),
                str(r["partner_id"]),
                f"{r['need']} — {r.get('partner_name') or r['partner_id']}",
            )
            for _, r in net.iterrows()
        ]
        if not entries:
            st.info("This network has no partners to record outcomes for.")
        else:
            with st.form("reg_outcome"):
                pick = st.selectbox(
                    "Need and partner",
                    range(len(entries)),
                    format_func=lambda i: entries[i][2],
                    key="reg_out_pick",
                )
                term = st.text_input(
                    "Term", value=f"{dt.date.today().year}-fall", key="reg_out_term"
                )
                c1, c2 = st.columns(2)
                referrals = c1.number_input(
                    "Referrals made", min_value=0, step=1, value=0, key="reg_out_referrals"
                )
                served = c2.number_input(
                    "Families served", min_value=0, step=1, value=0, key="reg_out_served"
                )
                ok = st.form_submit_button("Record outcome", type="primary")
            if ok:
                if not auth.allowed(principal, "record_outcome", {"school_id": sid}):
                    st.error("Your role may not record outcomes for this school.")
                else:
                    need, pid_o, _ = entries[pick]
                    try:
                        store.record_outcome(
                            sid, as_of=as_of, need=need, partner_id=pid_o, term=term,
                            by=principal.user, referrals_made=int(referrals),
                            families_served=int(served),
                        )  # fmt: skip
                    except AssetmapError as exc:
                        st.error(f"Not saved: {exc}")
                    else:
                        st.success(f"Recorded for {entries[pick][2]}, {term}.")
            out = store.outcomes(sid)
            if len(out):
                st.table(
                    out.rename(
                        columns={
                            "as_of": "Network of", "need": "Need", "partner_id": "Partner",
                            "term": "Term", "referrals_made": "Referrals made",
                            "families_served": "Families served",
                        }
                    ).drop(columns=["school_id"]).set_index("Network of")
                )  # fmt: skip
