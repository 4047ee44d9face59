"""Network editing and downloads for the Network & exports page.

Files are written by ``assetmap.export`` (the one export path: formula injection
neutralised, XLSX cells as text) into a temporary folder and handed to
``st.download_button`` as bytes. Downloads are deferred: a file is made only when its button
is pressed, and only for a principal the role gate allowed when the button was drawn.
"""

from __future__ import annotations

import logging
import re
import tempfile
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import streamlit as st

from assetmap import export
from assetmap._errors import PermissionDenied
from assetmap.settings import get_settings
from ui import auth

log = logging.getLogger(__name__)


class Format(NamedTuple):
    ext: str
    label: str
    mime: str


NETWORK_FORMATS: tuple[Format, ...] = (
    Format(
        ".xlsx",
        "Excel workbook",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    Format(".csv", "CSV table", "text/csv"),
    Format(".geojson", "GeoJSON (map)", "application/geo+json"),
    Format(".gpkg", "GeoPackage (QGIS)", "application/geopackage+sqlite3"),
    Format(".graphml", "GraphML (network graph)", "application/graphml+xml"),
    Format(".json", "Open Referral HSDS 3.0", "application/json"),
    Format(
        ".kumu.xlsx",
        "Kumu workbook",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    Format(".html", "Printable sheet (English)", "text/html"),
)

ROLES = ["lead", "backup", "gap", "remove"]


def slug(text: object) -> str:
    """A file-name-safe slug ('Hartford Public High School' -> 'hartford-public-high-school')."""
    s = re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")
    return s[:60] or "network"


def network_bytes(
    network: pd.DataFrame,
    ext: str,
    *,
    language: str = "en",
    extras: Mapping[str, pd.DataFrame] | None = None,
) -> bytes:
    """The network written in the format of ``ext`` (via a temporary file), as bytes.

    ``extras``: ``partners``, ``schools``, ``gaps``, ``profile`` frames for the richer formats.
    """
    with tempfile.TemporaryDirectory(prefix="assetmap-export-") as tmp:
        path = Path(tmp) / f"network{ext}"
        export.export_network(network, path, language=language, **dict(extras or {}))
        return path.read_bytes()


def _forget_media_file(data: bytes, mime: str, file_name: str | None) -> None:
    """Remove a generated download from Streamlit's media store (it serves ``/media/<id>``
    to anyone holding the link, cookies or not, until its own cleanup, minutes later)."""
    try:
        from streamlit.runtime import Runtime
        from streamlit.runtime.memory_media_file_storage import _calculate_file_id

        mgr = Runtime.instance().media_file_mgr
        file_id = _calculate_file_id(data, mime, file_name)
        with mgr._lock:  # noqa: SLF001 - no public API removes one file
            mgr._storage.delete_file(file_id)  # noqa: SLF001
            mgr._file_metadata.pop(file_id, None)  # noqa: SLF001
    except Exception:  # noqa: BLE001 - a Streamlit upgrade moved the internals
        log.warning("could not expire a download from the media store", exc_info=True)


def expiring(make: Callable[[], bytes], *, mime: str, file_name: str | None) -> Callable[[], bytes]:
    """A deferred download (``st.download_button(data=...)``): the bytes are made only when
    the signed-in session clicks, and removed from the server ``download_expiry_s`` seconds
    later (settings ``[app]``), so a copied ``/media/...`` link stops working."""
    delay = float(get_settings().download_expiry_s)

    def run() -> bytes:
        data = make()
        timer = threading.Timer(delay, _forget_media_file, args=(data, mime, file_name))
        timer.daemon = True
        timer.start()
        return data

    return run


def _checked(principal: auth.Principal, make: Callable[[], bytes]) -> Callable[[], bytes]:
    def run() -> bytes:
        if not auth.allowed(principal, "download"):
            raise PermissionDenied(f"role {principal.role!r} may not download networks")
        return make()

    return run


def deferred(
    network: pd.DataFrame,
    ext: str,
    *,
    extras: Mapping[str, pd.DataFrame] | None = None,
    mime: str = "application/octet-stream",
    file_name: str | None = None,
) -> Callable[[], bytes]:
    """A download callback for one format, bound to the role gate's principal; the file
    expires from the server soon after the click (:func:`expiring`)."""
    principal = auth.current_principal()
    if not auth.allowed(principal, "download"):
        raise PermissionDenied(f"role {principal.role!r} may not download networks")
    frame = network.copy()
    return expiring(
        _checked(principal, lambda: network_bytes(frame, ext, extras=extras)),
        mime=mime,
        file_name=file_name,
    )


def deferred_sheet(
    network: pd.DataFrame,
    language: str,
    ext: str = ".html",
    *,
    mime: str = "text/html",
    file_name: str | None = None,
) -> Callable[[], bytes]:
    """A download callback for the printable family sheet in ``language`` (``.html`` or
    ``.pdf``); expires like :func:`deferred`."""
    principal = auth.current_principal()
    if not auth.allowed(principal, "download"):
        raise PermissionDenied(f"role {principal.role!r} may not download networks")
    frame = network.copy()
    return expiring(
        _checked(principal, lambda: network_bytes(frame, ext, language=language)),
        mime=mime,
        file_name=file_name,
    )


def pdf_unavailable() -> str | None:
    """None when the PDF family sheet can be made here, else what to install."""
    return export.pdf_unavailable()


def apply_roles(network: pd.DataFrame, roles: pd.Series) -> tuple[pd.DataFrame, list[str]]:
    """The network with hand-set roles: 'remove' drops a row; ranks renumbered per need.

    Returns the new frame and notes about what was fixed up (two leads for one need → the
    first stays lead; backups but no lead → a note).
    """
    out = network.copy()
    out["role"] = roles.to_numpy()
    out = out[out["role"] != "remove"].copy()
    notes: list[str] = []
    ranks = []
    for (_school, need), grp in out.groupby(["school_id", "need"], sort=False):
        order = grp.sort_values("role", key=lambda r: r.map({"lead": 0, "backup": 1, "gap": 2}))
        leads = order.index[order["role"] == "lead"]
        if len(leads) > 1:
            out.loc[leads[1:], "role"] = "backup"
            notes.append(f"{need}: only one lead per need — the others became backups")
        partners = order[order["role"] != "gap"]
        if len(partners) and (out.loc[partners.index, "role"] != "lead").all():
            notes.append(f"{need}: has backups but no lead")
        r = 1 if len(leads) else 2
        for idx in order.index:
            if out.at[idx, "role"] == "gap":
                ranks.append((idx, 0))
            else:
                ranks.append((idx, r))
                r += 1
    for idx, r in ranks:
        out.at[idx, "rank"] = r
    return out.reset_index(drop=True), notes


def edit_roles(network: pd.DataFrame, *, key: str) -> pd.DataFrame:
    """Show the network with an editable role column; return the adjusted network."""
    if network.empty:
        st.info("The network is empty: no school or need to cover.")
        return network
    cols = [
        c
        for c in (
            "school_name",
            "need_label",
            "role",
            "partner_name",
            "distance_km",
            "language_coverage",
            "score",
            "reason",
            "stale",
            "example",
        )
        if c in network.columns
    ]
    view = network[cols].copy()
    edited = st.data_editor(
        view,
        key=key,
        hide_index=True,
        disabled=[c for c in cols if c != "role"],
        column_config={
            "role": st.column_config.SelectboxColumn("role", options=ROLES, required=True),
            "language_coverage": st.column_config.ProgressColumn(
                "language coverage", min_value=0.0, max_value=1.0, format="percent"
            ),
            "score": st.column_config.NumberColumn("score", format="%.2f"),
            "distance_km": st.column_config.NumberColumn("km", format="%.1f"),
        },
    )
    out, notes = apply_roles(network, edited["role"])
    for n in notes:
        st.warning(n)
    return out


def save_snapshot(network: pd.DataFrame, *, by: str) -> int:
    """Save each school's part of the network in the registry as today's snapshot."""
    import datetime as dt

    from ui import registry

    return len(registry.store().save_networks(network, as_of=dt.date.today(), by=by))
