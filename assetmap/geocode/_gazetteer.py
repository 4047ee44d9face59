"""Offline fallback: town, village and ZIP centroids from the shipped gazetteer.

``data/ct/gazetteer.csv`` (columns name, kind = town|village|zip, town, zip, lat, lon) is read
through :func:`assetmap.data.load_gazetteer`. A ZIP gives quality ``zip``; a town or village
name gives quality ``town``. No network is ever used, so this is the only provider allowed
for private addresses (family survey rows, a family's own search).
"""

from __future__ import annotations

import logging
import math
import re

import pandas as pd

from assetmap._text import fold
from assetmap.geocode._types import Address, GeocodeResult

__all__ = ["Gazetteer"]

log = logging.getLogger(__name__)
NAME = "gazetteer"
_ZIP = re.compile(r"\b(\d{5})(?:-\d{4})?\b")
_HOME_STATES = {"", "ct", "conn", "connecticut"}


def _key(text: object) -> str:
    return re.sub(r"[^a-z0-9]+", " ", fold(text)).strip()


class Gazetteer:
    """Look up a town, village or ZIP centroid. Build from a frame or the shipped file."""

    name = NAME
    external = False

    def __init__(self, frame: pd.DataFrame | None = None) -> None:
        if frame is None:
            try:
                from assetmap.data import load_gazetteer

                frame = load_gazetteer()
            except (FileNotFoundError, OSError) as exc:
                log.warning("gazetteer not available (%s); offline geocoding disabled", exc)
                frame = pd.DataFrame(columns=["name", "kind", "town", "zip", "lat", "lon"])
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
        if _key(address.state) not in _HOME_STATES:
            return GeocodeResult(
                "no_match", source=NAME, message=f"gazetteer covers CT only, not {address.state}"
            )
        zips = [address.zip] if address.zip else []
        zips += _ZIP.findall(address.street)
        for z in zips:
            hit = self._zips.get(z.zfill(5)[:5])
            if hit:
                return GeocodeResult("matched", hit[0], hit[1], NAME, "zip", hit[2])
        candidates = [address.city, *reversed(address.street.split(","))]
        for text in candidates:
            key = _key(_ZIP.sub(" ", text))
            key = re.sub(r"\s+(ct|conn|connecticut)$", "", key)
            hit = self._names.get(key)
            if hit:
                return GeocodeResult("matched", hit[0], hit[1], NAME, "town", hit[2])
        return GeocodeResult("no_match", source=NAME, message="no town, village or ZIP recognised")
