"""Small Streamlit building blocks shared by the pages (pickers, maps, reports, timing)."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd
import streamlit as st

from assetmap.auth import visible_schools
from assetmap.report import ValidationReport
from ui import cache

#: Emoji shown on the need buttons and in need pickers (UI only; codes come from the taxonomy).
NEED_ICONS: dict[str, str] = {
    "food": "🍎",
    "housing": "🏠",
    "goods": "👕",
    "health": "🩺",
    "mental_health": "💬",
    "child_care": "🧸",
    "transportation": "🚌",
    "technology": "💻",
    "adult_ed": "🎓",
    "employment": "💼",
    "financial": "💵",
    "legal": "⚖️",
    "disability": "♿",
    "out_of_school": "⚽",
    "tutoring": "📚",
    "family_leadership": "👪",
    "language_access": "🗣️",
    "safety": "🛡️",
}

RENDER_KEY = "_render_ms"

#: Staff tables show distances in miles (US districts), rounded to 0.1.
KM_PER_MILE = 1.609344

#: Human column labels for the staff tables (codes and raw names never reach the screen).
COLUMN_LABELS: dict[str, str] = {
    "name": "Partner",
    "partner_name": "Partner",
    "category": "Category",
    "distance_km": "Distance (mi)",
    "languages": "Languages",
    "services": "Services",
    "phone": "Phone",
    "address": "Address",
    "city": "Town",
    "hours": "Hours",
    "mou_status": "MOU",
    "last_verified": "Last verified",
    "example": "Example (fictional)",
    "need_label": "Need",
    "families_display": "Families",
    "rank": "Rank",
    "within_reach": "Within reach",
    "language_coverage": "Families' languages served",
    "score": "Score",
    "distance_decay": "Distance part",
    "capacity_part": "Capacity part",
    "verified_part": "Verified part",
    "mou_part": "MOU part",
    "stale": "Needs verifying",
    "explain": "Why",
}


def readable(frame: pd.DataFrame) -> pd.DataFrame:
    """Distances in miles (0.1), shares as whole percentages, scores to 2 decimals, and
    human column labels."""
    out = frame.copy()
    if "distance_km" in out.columns:
        out["distance_km"] = (
            pd.to_numeric(out["distance_km"], errors="coerce") / KM_PER_MILE
        ).round(1)
    if "language_coverage" in out.columns:
        out["language_coverage"] = (
            (pd.to_numeric(out["language_coverage"], errors="coerce") * 100)
            .round(0)
            .map(lambda v: "" if pd.isna(v) else f"{v:.0f} %")
        )
    for c in ("score", "distance_decay", "capacity_part", "verified_part", "mou_part"):
        if c in out.columns:
            out[c] = pd.to_numeric(out[c], errors="coerce").round(2)
    return out.rename(columns={c: COLUMN_LABELS[c] for c in out.columns if c in COLUMN_LABELS})


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()!<>|~:$=^\"'&])")


def md_literal(text: object) -> str:
    r"""Outside text (a geocoder's matched address, a file name, a partner name) made
    literal for Streamlit's Markdown: the characters that open links, images, emphasis,
    code, HTML, math or directives are backslash-escaped, as are a leading list or heading
    marker and the dot of ``www.`` (no URL autolink can form; issue 10).

    >>> print(md_literal("![x](http://e.example/p.png) *hi* www.e.example good.csv"))
    \!\[x\]\(http\://e.example/p.png\) \*hi\* www\.e.example good.csv
    """
    s = _MD_SPECIAL.sub(r"\\\1", str(text))
    s = re.sub(r"(?i)\bwww\.", r"www\\.", s)
    return re.sub(r"^(\s*)([#+\-]|\d+[.)])", r"\1\\\2", s)


@contextmanager
def render_timer() -> Iterator[None]:
    """Time one script run (server side) into ``st.session_state[RENDER_KEY]`` (ms)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        st.session_state[RENDER_KEY] = (time.perf_counter() - start) * 1000.0


def show_map(m: Any, *, height: int = 520, key: str | None = None) -> None:
    """Render a folium map as one self-contained HTML document in a sandboxed iframe.

    The page the browser gets is exactly :meth:`folium.Map.get_root().render()` (what the
    browser benchmarks time), not a re-assembly in a custom component: the statewide map
    (all schools and partners) draws in one pass, and panning or zooming never reruns the
    script. ``key`` is accepted for call-site stability; the document itself is the identity.
    """
    st.iframe(map_document(m), height=height)


def map_document(m: Any) -> str:
    """The full HTML document of a folium map (rendered once per map object)."""
    doc = getattr(m, "_am_document", None)
    if doc is None:
        doc = m.get_root().render()
        try:
            m._am_document = doc  # cached maps (st.cache_resource) render once
        except AttributeError:  # pragma: no cover - a map type without attributes
            pass
    return doc


def need_label(code: str) -> str:
    """'🍎 Food' for a need code."""
    return f"{NEED_ICONS.get(code, '•')} {cache.taxonomy().label(code)}"


def category_label(code: str) -> str:
    """A category's English label."""
    cat = cache.taxonomy().categories.get(code)
    return cat.label if cat else code


def language_label(code: str) -> str:
    """'Spanish — español' for a language code."""
    lang = cache.languages().get(code)
    if lang is None:
        return code
    return lang.english if lang.autonym == lang.english else f"{lang.english} — {lang.autonym}"


def school_picker(*, key: str, label: str = "School", schools: pd.DataFrame | None = None) -> str:
    """A searchable school selectbox; returns the chosen ``school_id``."""
    sch = cache.schools() if schools is None else schools
    if len(sch) == 0:
        st.info(
            "No schools are assigned to your account yet. Ask an administrator to add your "
            "schools (or your district) to your account."
        )
        st.stop()
    sch = sch.sort_values(["name"])
    ids = sch["school_id"].astype(str).tolist()
    names = dict(zip(ids, sch["name"].astype(str), strict=True))
    towns = dict(zip(ids, sch["town"].astype(str), strict=True)) if "town" in sch.columns else {}

    shared = {n for n, c in pd.Series(list(names.values())).value_counts().items() if c > 1}

    def fmt(sid: str) -> str:  # a name several schools share also shows the school id
        town = towns.get(sid)
        label = f"{names[sid]} — {town}" if town and town != "nan" else names[sid]
        return f"{label} ({sid})" if names[sid] in shared else label

    return st.selectbox(label, ids, format_func=fmt, key=key)


def show_report(report: ValidationReport, *, success: str | None = None) -> None:
    """Show a validation report: an error or warning naming the file, then the problem table."""
    errors, warnings = report.errors, report.warnings
    name = md_literal(report.file)
    if errors:
        st.error(
            f"{name}: {len(errors)} problem(s) stopped rows from loading "
            f"({report.rows_loaded} of {report.rows_read} rows loaded). "
            "Fix them in the file and upload it again — details below."
        )
    if warnings:
        st.warning(f"{name}: {len(warnings)} warning(s) — the rows loaded, but check them below.")
    if not errors and not warnings and success:
        st.success(success)
    if errors or warnings:
        rows = [
            {
                "row": p.row,
                "column": p.column,
                "value": None if p.value is None else str(p.value),
                "severity": p.severity,
                "message": p.message,
                "hint": p.hint,
            }
            for p in list(errors) + list(warnings)
        ]
        st.dataframe(pd.DataFrame(rows), hide_index=True)


def text_html(text: object) -> str:
    """Escape any data string for HTML (quotes too)."""
    return html.escape("" if text is None else str(text), quote=True)


def districts_for(principal: Any) -> list[str]:
    """District ids whose staff data (survey figures, gaps, networks) this principal may open."""
    sch = visible_schools(principal, cache.schools())
    return sorted(set(sch["district_id"].dropna().astype(str)))


def district_picker(
    *, key: str, principal: Any, label: str = "District", allow_all: bool | None = None
) -> str | None:
    """A district selectbox limited to the principal's districts; None means the whole state
    (administrators only, unless ``allow_all`` says otherwise). A leader starts on their own."""
    sch = cache.schools()
    names = (
        sch.dropna(subset=["district_id"])
        .drop_duplicates("district_id")
        .set_index("district_id")["district_name"]
        .astype(str)
        .sort_values()
    )
    mine = set(districts_for(principal))
    ids = [str(i) for i in names.index if str(i) in mine]
    if allow_all is None:
        allow_all = getattr(principal, "role", "") == "admin"
    options: list[str | None] = ([None] if allow_all else []) + ids
    if not options:
        st.info("No district is assigned to your account yet. Ask an administrator.")
        st.stop()
    own = sorted(getattr(principal, "districts", ()) or ())
    index = options.index(own[0]) if own and own[0] in options else 0
    region = cache.region_name()
    return st.selectbox(
        label,
        options,
        index=index,
        format_func=lambda i: f"All of {region}" if i is None else names.get(i, i),
        key=key,
    )


def schools_for(principal: Any) -> pd.DataFrame:
    """The schools whose staff data this principal may open (coordinator: own schools;
    leader: their districts; admin: all)."""
    return visible_schools(principal, cache.schools())


def _lists(v: Any) -> str:
    if isinstance(v, list | tuple):
        return ", ".join(str(x) for x in v)
    return "" if v is None else str(v)


def partner_table(partners: pd.DataFrame) -> pd.DataFrame:
    """Partners as a readable table (lists joined)."""
    cols = [
        "name",
        "category",
        "distance_km",
        "languages",
        "services",
        "phone",
        "address",
        "city",
        "hours",
        "mou_status",
        "last_verified",
        "example",
    ]
    out = pd.DataFrame(partners[[c for c in cols if c in partners.columns]]).copy()
    for c in ("languages", "services"):
        if c in out.columns:
            out[c] = out[c].map(_lists)
    if "category" in out.columns:
        out["category"] = out["category"].map(category_label)
    return readable(out)


def match_table(matches: pd.DataFrame) -> pd.DataFrame:
    """Ranked matches with their score parts (the columns a coordinator reads, in order)."""
    cols = [
        "need_label",
        "families_display",
        "rank",
        "partner_name",
        "category",
        "distance_km",
        "within_reach",
        "languages",
        "language_coverage",
        "score",
        "distance_decay",
        "capacity_part",
        "verified_part",
        "mou_part",
        "mou_status",
        "stale",
        "example",
        "explain",
    ]
    out = pd.DataFrame(matches)[[c for c in cols if c in matches.columns]].copy()
    for c in out.columns:
        if out[c].map(lambda v: isinstance(v, list | tuple)).any():
            out[c] = out[c].map(_lists)
    if "category" in out.columns:
        out["category"] = out["category"].map(category_label)
    return readable(out)


def district_name(district_id: str | None) -> str:
    """A district's name (or the state's)."""
    if district_id is None:
        return f"All of {cache.region_name()}"
    sch = cache.schools()
    hit = sch.loc[sch["district_id"].astype(str) == str(district_id), "district_name"]
    return str(hit.iloc[0]) if len(hit) else str(district_id)


def hbar(df: pd.DataFrame, label: str, value: str, *, pct: bool = False) -> Any:
    """A horizontal bar chart, largest first (altair)."""
    import altair as alt

    x = alt.X(f"{value}:Q", title="% of schools" if pct else value.replace("_", " "))
    if pct:
        x = alt.X(f"{value}:Q", title="% of schools", scale=alt.Scale(domain=[0, 100]))
    return (
        alt.Chart(df)
        .mark_bar(color="#1f6f8b")
        .encode(
            x=x,
            y=alt.Y(
                f"{label}:N",
                sort="-x",
                title=None,
                axis=alt.Axis(labelLimit=220, labelOverlap=False),
            ),
            tooltip=[label, value],
        )
        .properties(height=max(120, 24 * len(df)))
    )


def district_of(school_id: str) -> str | None:
    """The district id of a school."""
    sch = cache.schools()
    hit = sch.loc[sch["school_id"].astype(str) == str(school_id), "district_id"]
    return str(hit.iloc[0]) if len(hit) else None
