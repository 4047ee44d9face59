"""Uploads that take effect, safely: saving uploaded files into the workspace.

Uploaded partners are staged: saved (audited) with ``published = False``, so the public never
sees an unreviewed row. Someone with the right role (``auth`` action ``publish_partners``:
district leaders and administrators) then publishes or rejects them with
:func:`publish_partners` / :func:`reject_partners` (the app's Registry → Review queue does the
same); both are audited.
Schools, boundaries and surveys replace the workspace's own (surveys as aggregated counts
only, see :meth:`assetmap.workspace.Workspace.save_profile`).

>>> staged = stage_partners(store, uploaded, by="ana")  # doctest: +SKIP
>>> publish_partners(store, staged["partner_ids"], by="lee")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from assetmap._errors import InputError

if TYPE_CHECKING:
    import geopandas as gpd

    from assetmap.needs import NeedProfile
    from assetmap.store import Store

__all__ = [
    "stage_partners",
    "pending_partners",
    "publish_partners",
    "reject_partners",
    "save_schools",
    "save_boundaries",
    "save_survey",
]


def stage_partners(
    store: Store, partners: gpd.GeoDataFrame, *, by: str, note: str = "uploaded on the Data page"
) -> dict[str, Any]:
    """Save uploaded partners unpublished and pending review (new rows and updates alike).

    Returns the store's counts (added, updated, unchanged) and the staged ``partner_ids``.
    """
    if partners is None or len(partners) == 0:
        raise InputError("no partner rows to save")
    frame = partners.copy()
    frame["published"] = False
    counts = dict(store.upsert_partners(frame, by=by, note=f"{note} (pending review)"))
    counts["partner_ids"] = [str(p) for p in frame["partner_id"]]
    return counts


def pending_partners(store: Store) -> gpd.GeoDataFrame:
    """Current partners waiting for review: unpublished and not retired (never public)."""
    frame = store.partners()
    return frame[~frame["published"].fillna(False).astype(bool)].reset_index(drop=True)


def publish_partners(store: Store, partner_ids: Iterable[str], *, by: str) -> list[int]:
    """Publish reviewed partners (the public sees them from now on); returns new versions."""
    return [
        store.update_partner(str(pid), {"published": True}, by=by, note="reviewed: published")
        for pid in partner_ids
    ]


def reject_partners(store: Store, partner_ids: Iterable[str], *, by: str, reason: str) -> list[int]:
    """Reject staged partners: they are retired (kept with their history, never shown);
    ``reason`` is written to the audit log."""
    if not str(reason or "").strip():
        raise InputError("give a reason for rejecting (it is kept in the audit history)")
    return [
        store.retire_partner(str(pid), by=by, note=f"reviewed: rejected ({reason})")
        for pid in partner_ids
    ]


def save_schools(store: Store, schools: gpd.GeoDataFrame, *, by: str) -> int:
    """Replace the workspace's schools (the change is recorded with who made it)."""
    if schools is None or len(schools) == 0:
        raise InputError("no school rows to save")
    return store.put_schools(schools, by=by)


def save_boundaries(store: Store, boundaries: gpd.GeoDataFrame, *, kind: str, by: str) -> int:
    """Replace the workspace's boundaries of one kind (district, town, school_zone)."""
    if kind not in ("district", "town", "school_zone"):
        raise InputError(f"boundary kind {kind!r}: use district, town or school_zone")
    if boundaries is None or len(boundaries) == 0:
        raise InputError("no boundary rows to save")
    frame = boundaries.copy()
    if kind == "district" and "district_id" not in frame.columns:
        frame["district_id"] = frame["boundary_id"].astype(str)
    return store.put_boundaries(frame, kind=kind, by=by)


def save_survey(store: Store, profile: NeedProfile, *, by: str, source: str = "") -> int:
    """Keep a survey's aggregated counts (never its rows) as the workspace's need profile;
    returns the number of surveyed schools."""
    from assetmap.workspace import Workspace

    Workspace(store).save_profile(profile, by=by, source=source)
    return len(profile.school_ids)
