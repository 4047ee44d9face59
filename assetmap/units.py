"""Distances as people read them: miles by default, and honest about approximate placement.

km is the internal unit everywhere; ``settings.distance_unit`` ("mi" or "km") picks what is
shown. A partner placed only at its ZIP area's (or town's) centre has no exact distance:
family-facing text says "about 2 mi, ZIP area", never "1.83 mi".

>>> distance_text(1.3, "exact", unit="mi")
'0.8 mi'
>>> distance_text(3.0, "zip", unit="mi")
'about 2 mi, ZIP area'
>>> distance_text(0.4, "zip", unit="km")
'under 1 km, ZIP area'
"""

from __future__ import annotations

import math

from assetmap.settings import get_settings

__all__ = [
    "KM_PER_MILE",
    "APPROXIMATE_PLACEMENTS",
    "display_unit",
    "to_unit",
    "is_approximate",
    "placement_label",
    "distance_text",
]

KM_PER_MILE = 1.609344
#: geocode_quality values that place a record at an area's centre, with how to say it.
APPROXIMATE_PLACEMENTS = {"zip": "ZIP area", "town": "town area"}


def display_unit(value: str | None = None) -> str:
    """The display unit: ``value`` when given, else ``settings.distance_unit``."""
    u = (value or get_settings().distance_unit or "mi").lower()
    return "km" if u == "km" else "mi"


def to_unit(km: float | None, unit: str | None = None) -> float | None:
    """A distance in km converted to the display unit (None/NaN stay None)."""
    if km is None or (isinstance(km, float) and math.isnan(km)):
        return None
    return float(km) / KM_PER_MILE if display_unit(unit) == "mi" else float(km)


def is_approximate(quality: object) -> bool:
    """True when a placement is an area's centre (ZIP area, town), not the site itself."""
    return str(quality or "").lower() in APPROXIMATE_PLACEMENTS


def placement_label(quality: object) -> str:
    """'ZIP area' / 'town area' for approximate placements, 'exact' otherwise."""
    return APPROXIMATE_PLACEMENTS.get(str(quality or "").lower(), "exact")


def distance_text(km: float | None, quality: object = "exact", *, unit: str | None = None) -> str:
    """How far, as a person should read it: '0.8 mi', or 'about 2 mi, ZIP area'."""
    u = display_unit(unit)
    d = to_unit(km, u)
    if d is None:
        return ""
    if is_approximate(quality):
        area = placement_label(quality)
        if d < 1:
            return f"under 1 {u}, {area}"
        return f"about {round(d):d} {u}, {area}"
    return f"{d:.1f} {u}" if d < 10 else f"{d:.0f} {u}"
