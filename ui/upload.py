"""The Data page's upload flow: read bytes, map columns, validate, report, geocode, save.

Uploaded files are read from memory (never from a path or URL built from input). Any
problem reaches the user as ``st.error``/``st.warning`` naming the file, with the
validation report as a table; nothing raises to the page.
"""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
import pandas as pd
import streamlit as st

from assetmap import needs, schema
from assetmap._errors import AssetmapError
from assetmap.io import read_any
from assetmap.model import PARTNER_COLUMNS, SCHOOL_COLUMNS, lists_to_text
from assetmap.onboard import suggest_mapping
from assetmap.report import ValidationReport
from ui import cache, widgets

log = logging.getLogger(__name__)

KINDS: dict[str, str] = {
    "partners": "Partners (organisations and sites)",
    "schools": "Schools",
    "boundaries": "Boundaries (districts, towns, zones)",
    "survey": "Family survey",
}
FILE_TYPES = ["csv", "txt", "xlsx", "xls", "geojson", "json", "gpkg", "zip"]
_IGNORE = "(keep as is)"
_TARGETS: dict[str, list[str]] = {
    "partners": [c for c in PARTNER_COLUMNS if c != "geometry"] + ["lat", "lon"],
    "schools": [c for c in SCHOOL_COLUMNS if c != "geometry"] + ["lat", "lon"],
    "boundaries": ["boundary_id", "name", "kind"],
}


def mapping_editor(columns: list[str], *, kind: str, key: str) -> dict[str, str | None]:
    """Show the proposed column mapping (editable); return ``source -> canonical``."""
    sugg = suggest_mapping([str(c) for c in columns], kind=kind)
    targets = _TARGETS.get(kind, [])
    view = pd.DataFrame(
        {
            "column in your file": [s.source_column for s in sugg],
            "use as": [s.canonical if s.canonical in targets else _IGNORE for s in sugg],
            "how": [s.method for s in sugg],
        }
    )
    unknown = int((view["use as"] == _IGNORE).sum())
    with st.expander(
        f"Columns: {len(view) - unknown} recognised, {unknown} kept as they are — change the mapping here",
        expanded=unknown > 0,
    ):
        edited = st.data_editor(
            view,
            key=key,
            hide_index=True,
            disabled=["column in your file", "how"],
            column_config={
                "use as": st.column_config.SelectboxColumn(
                    "use as", options=[_IGNORE, *targets], required=True
                )
            },
        )
    out: dict[str, str | None] = {}
    seen: dict[str, str] = {}
    for src, dst in zip(edited["column in your file"], edited["use as"], strict=True):
        if dst == _IGNORE or not dst:
            out[src] = None
            continue
        if dst in seen:
            st.warning(
                f"Columns {seen[dst]!r} and {src!r} are both mapped to {dst!r}; only "
                f"{seen[dst]!r} is used."
            )
            out[src] = None
            continue
        seen[dst] = src
        out[src] = dst
    return out


def _problem_report(name: str, kind: str, exc: BaseException) -> ValidationReport:
    rep = getattr(exc, "report", None)
    if isinstance(rep, ValidationReport):
        return rep
    rep = ValidationReport(file=name, kind=kind, rows_read=0, rows_loaded=0)
    rep.add(str(exc), hint="check that the file is the right kind and not damaged")
    return rep


def handle_upload(kind: str, name: str, data: bytes, *, key: str) -> Any:
    """Read, map and validate one uploaded file; show progress, the report and a preview.

    Returns the canonical frame (partners, schools, boundaries) or the NeedProfile (survey),
    or ``None`` when nothing usable was read.
    """
    shown = widgets.md_literal(name)  # a file name is outside text: never Markdown
    bar = st.progress(0, text=f"Reading {shown}…")
    try:
        if kind == "survey":
            bar.progress(30, text=f"Reading {shown} (identifying columns are dropped)…")
            profile, rep = needs.load_profile(data, name=name, schools=cache.schools())
            bar.progress(100, text=f"{shown}: done")
            widgets.show_report(rep, success=f"{shown}: {rep.rows_loaded} responses read.")
            show_profile_summary(profile)
            return profile
        raw, rep = read_any(data, name=name, kind=kind)
        bar.progress(35, text=f"{shown}: {len(raw)} rows read; matching columns…")
        mapping = mapping_editor(
            [c for c in raw.columns if c != "geometry"], kind=kind, key=f"{key}_map"
        )
        bar.progress(65, text=f"{shown}: checking every row…")
        normalizer = {
            "partners": schema.normalize_partners,
            "schools": schema.normalize_schools,
            "boundaries": schema.normalize_boundaries,
        }[kind]
        extra = {}
        if kind in ("partners", "schools"):  # points must lie in the workspace's region
            from ui import registry

            extra["region"] = registry.workspace().check_region()
        frame, rep = normalizer(raw, file=name, report=rep, mapping=mapping, **extra)
        bar.progress(100, text=f"{shown}: done")
    except AssetmapError as exc:
        bar.empty()
        st.error(f"{widgets.md_literal(name)}: {widgets.md_literal(exc)}")
        rep = _problem_report(name, kind, exc)
        if rep.problems:
            widgets.show_report(rep)
        return None
    except Exception as exc:  # noqa: BLE001 - a damaged upload must never crash the page
        log.exception("upload %s failed", name)
        bar.empty()
        st.error(
            f"{widgets.md_literal(name)}: this file could not be read ({type(exc).__name__}). "
            "Check that it is a "
            "CSV, Excel, GeoJSON, GeoPackage or zipped shapefile and that it is not damaged."
        )
        return None
    widgets.show_report(rep, success=f"{shown}: all {rep.rows_loaded} rows loaded.")
    st.caption(f"{shown}: {rep.rows_loaded} of {rep.rows_read} rows loaded.")
    show_preview(frame)
    return frame


def show_preview(frame: pd.DataFrame) -> None:
    """The first rows of a canonical frame (lists as text, points as lat/lon)."""
    df = lists_to_text(pd.DataFrame(frame))
    if isinstance(frame, gpd.GeoDataFrame) and "geometry" in frame.columns:
        geom = frame.geometry
        if (geom.geom_type == "Point").any():
            pts = geom.where(geom.geom_type == "Point")
            df["lat"] = [p.y if p is not None and not p.is_empty else None for p in pts]
            df["lon"] = [p.x if p is not None and not p.is_empty else None for p in pts]
        df = df.drop(columns=["geometry"])
    st.dataframe(df.head(200), hide_index=True)


def show_profile_summary(profile: needs.NeedProfile) -> None:
    """What the survey gives, published (suppressed) figures only."""
    pub = profile.published()
    totals = pub[pub["dimension"] == "total"]
    st.write(
        f"{len(totals)} schools; figures below 6 are suppressed"
        + (" · SYNTHETIC survey" if profile.synthetic else "")
    )
    show = totals[["school_name", "display"]].rename(columns={"display": "families"})
    st.dataframe(show, hide_index=True)


def unlocated(frame: gpd.GeoDataFrame) -> int:
    """Rows without a usable point."""
    g = frame.geometry
    return int((g.isna() | g.is_empty).sum())


def geocode_missing(frame: gpd.GeoDataFrame, *, key: str) -> gpd.GeoDataFrame:
    """Offer to geocode partner rows without a point (organisation addresses only)."""
    from assetmap.geocode import geocode_frame

    sig = hash(tuple(frame["partner_id"].astype(str)))
    done = st.session_state.get(f"{key}_result")
    if done is not None and done[0] == sig:  # geocoded in an earlier run of this upload
        st.success(done[2])
        return done[1]
    missing = unlocated(frame)
    if not missing:
        return frame
    st.warning(f"{missing} row(s) have no location yet, so they cannot appear on maps.")
    if not st.button(f"Find the location of {missing} partner address(es)", key=key):
        return frame
    st.caption(
        "Organisation addresses are sent to the U.S. Census geocoder (then OpenStreetMap "
        "Nominatim, one request per second). Family addresses are never sent."
    )
    bar = st.progress(0, text="Geocoding…")

    def progress(done: int, total: int) -> None:
        bar.progress(min(done / max(total, 1), 1.0), text=f"Geocoding {done} of {total}…")

    try:
        rows = lists_to_text(pd.DataFrame(frame).drop(columns=["geometry"]))
        out = geocode_frame(
            rows,
            address_columns={
                "street": "address",
                "city": "city",
                "state": "state",
                "zip": "postal_code",
            },
            progress=progress,
        )
    except AssetmapError as exc:
        bar.empty()
        st.error(f"Geocoding stopped: {exc}")
        return frame
    pts = gpd.points_from_xy(out["lon"], out["lat"], crs=frame.crs)
    keep = frame.geometry.isna() | frame.geometry.is_empty
    result = frame.copy()
    result.loc[keep, "geometry"] = pts[keep.to_numpy()]
    found = int(keep.sum()) - unlocated(result)
    msg = f"Geocoding done: {found} of {int(keep.sum())} found"
    bar.progress(1.0, text=msg)
    st.session_state[f"{key}_result"] = (sig, result, msg)
    return result


def _saved(message: str) -> None:
    from ui import registry

    registry.refresh()
    st.success(message)


def save_partners(frame: gpd.GeoDataFrame, *, by: str) -> None:
    """Stage uploaded partners in the workspace (audited, unpublished until reviewed)."""
    from assetmap import review
    from ui import registry

    try:
        counts = review.stage_partners(registry.store(), frame, by=by)
    except AssetmapError as exc:
        st.error(f"Not saved: {exc}")
        return
    _saved(
        f"Saved: {counts['added']} added, {counts['updated']} updated, "
        f"{counts['unchanged']} unchanged (every change is in the audit history). They are "
        "not public until published under Registry → Review queue."
    )


def save_schools(frame: gpd.GeoDataFrame, *, by: str) -> None:
    """Replace the workspace's schools with an uploaded school list."""
    from assetmap import review
    from ui import registry

    try:
        n = review.save_schools(registry.store(), frame, by=by)
    except AssetmapError as exc:
        st.error(f"Not saved: {exc}")
        return
    _saved(f"Saved: the workspace now has {n} schools.")


def save_boundaries(frame: gpd.GeoDataFrame, *, kind: str, by: str) -> None:
    """Replace the workspace's boundaries of one kind with an uploaded layer."""
    from assetmap import review
    from ui import registry

    try:
        n = review.save_boundaries(registry.store(), frame, kind=kind, by=by)
    except AssetmapError as exc:
        st.error(f"Not saved: {exc}")
        return
    _saved(f"Saved: {n} areas ({kind.replace('_', ' ')}).")


def save_survey(profile: Any, *, by: str, source: str) -> None:
    """Keep an uploaded survey's aggregated counts as the workspace's need profile."""
    from assetmap import review
    from ui import registry

    try:
        n = review.save_survey(registry.store(), profile, by=by, source=source)
    except AssetmapError as exc:
        st.error(f"Not saved: {exc}")
        return
    _saved(f"Saved: the survey of {n} schools is used by every page now (figures suppressed).")
