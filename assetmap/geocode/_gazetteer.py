"""Offline provider: town, village and ZIP centroids from a workspace's gazetteer.

Built from a frame with columns name, kind (town|village|district|zip), town, zip, lat, lon —
:meth:`assetmap.workspace.Workspace.gazetteer` (the workspace's places plus every US ZIP).
A ZIP gives quality ``zip``; a place name gives quality ``town``. No network is ever used,
so this is the only provider allowed for private addresses (family survey rows, a family's
own search).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable

import pandas as pd

from assetmap._text import fold
from assetmap.geocode._types import Address, GeocodeResult

__all__ = ["Gazetteer"]

log = logging.getLogger(__name__)
NAME = "gazetteer"
_ZIP = re.compile(r"\b(\d{5})(?:-\d{4})?\b")
_STATE_NAMES = {
    "ct": ("conn", "connecticut"), "ma": ("mass", "massachusetts"), "ny": ("new york",),
    "fl": ("fla", "florida"), "ri": ("rhode island",), "nj": ("new jersey",),
}  # fmt: skip


def _key(text: object) -> str:
    return re.sub(r"[^a-z0-9]+", " ", fold(text)).strip()


class Gazetteer:
    """Look up a town, village or ZIP centroid in a gazetteer frame.

    ``states`` (two-letter codes) are the workspace's states: an address naming another
    state is not matched by place name (a ZIP code still is, ZIPs being national).
    """

    name = NAME
    external = False

    def __init__(self, frame: pd.DataFrame, *, states: Iterable[str] = ()) -> None:
        if frame is None:
            raise TypeError("pass the gazetteer frame (Workspace.gazetteer())")
        self._states = {""}
        for st in states:
            code = _key(st)
            self._states.add(code)
            self._states.update(_STATE_NAMES.get(code, ()))
        self._zips: dict[str, tuple[float, float, str]] = {}
        self._names: dict[str, tuple[float, float, str]] = {}
        rank = {"town": 0, "village": 1}
        best: dict[str, int] = {}
        for row in frame.itertuples(index=False):
            try:
                lat, lon = float(row.lat), float(row.lon)
            except (TypeError, ValueError):
                continue
            if not (math.isfinite(lat) and math.isfinite(lon)):
                continue
            kind = str(row.kind).strip().lower()
            if kind == "zip":
                z = str(row.zip if pd.notna(row.zip) and str(row.zip).strip() else row.name).strip()
                z = z.split(".")[0].zfill(5)
                self._zips[z] = (lat, lon, f"ZIP {z}")
            else:
                key = _key(row.name)
                r = rank.get(kind, 2)
                if key and r < best.get(key, 9):  # a town beats a village of the same name
                    best[key] = r
                    label = str(row.name) if kind == "town" else f"{row.name} ({row.town})"
                    self._names[key] = (lat, lon, label)

    def __len__(self) -> int:
        return len(self._zips) + len(self._names)

    def geocode_one(self, address: Address) -> GeocodeResult:
        """ZIP first (more specific), then the city field, then any comma part naming a place."""
        zips = [address.zip] if address.zip else []
        zips += _ZIP.findall(address.street)
        for z in zips:
            hit = self._zips.get(z.zfill(5)[:5])
            if hit:
                return GeocodeResult("matched", hit[0], hit[1], NAME, "zip", hit[2])
        if len(self._states) > 1 and _key(address.state) not in self._states:
            return GeocodeResult(
                "no_match",
                source=NAME,
                message=f"the workspace gazetteer knows places in {', '.join(sorted(s.upper() for s in self._states if len(s) == 2))}, not {address.state}",
            )
        suffix = (
            re.compile(r"\s+(" + "|".join(sorted(s for s in self._states if s)) + r")$")
            if len(self._states) > 1
            else None
        )
        candidates = [address.city, *reversed(address.street.split(","))]
        for text in candidates:
            key = _key(_ZIP.sub(" ", text))
            if suffix is not None:
                key = suffix.sub("", key)
            hit = self._names.get(key)
            if hit:
                return GeocodeResult("matched", hit[0], hit[1], NAME, "town", hit[2])
        return GeocodeResult("no_match", source=NAME, message="no town, village or ZIP recognised")
