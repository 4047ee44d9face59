"""The workspace region: where points may lie (``config/regions.toml``).

>>> ct = Region("Connecticut", (-73.80, 40.90, -71.70, 42.10))
>>> place(41.76, -72.68, ct)[1], place(-72.68, 41.76, ct)[1], place(91.5, -72.6, ct)[1]
('ok', 'swapped', 'out_of_range')
>>> place(48.85, 2.35, ct)[1], place(91.5, -72.6, None)[1]
('outside_region', 'out_of_range')
"""

from __future__ import annotations

import functools
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

from assetmap._errors import ConfigError
from assetmap.settings import config_dir

__all__ = ["Region", "load_region", "settings_region", "place"]


@dataclass(frozen=True)
class Region:
    """A named box [west, south, east, north] in degrees."""

    name: str
    bbox: tuple[float, float, float, float]

    def contains(self, lat: float, lon: float) -> bool:
        w, s, e, n = self.bbox
        return s <= lat <= n and w <= lon <= e


@functools.lru_cache(maxsize=4)
def _regions(path: str) -> dict[str, Region]:
    p = Path(path)
    if not p.is_file():
        return {}
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
        return {k: Region(k, tuple(float(v) for v in spec["bbox"])) for k, spec in raw.items()}
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{p}: bad region table ({exc})") from exc


def load_region(name: str | None) -> Region | None:
    """The region of that name, or None (no region check) when it is not listed."""
    if not name:
        return None
    return _regions(str(config_dir() / "regions.toml")).get(name.strip())


def settings_region() -> Region | None:
    """The region named by ``region`` in config/settings.toml."""
    from assetmap.settings import get_settings

    return load_region(get_settings().region)


def _valid(lat: float, lon: float) -> bool:
    return -90 <= lat <= 90 and -180 <= lon <= 180


def _looks_swapped(lat: float, lon: float) -> bool:
    """Without a region: a western-hemisphere longitude in the latitude field and a northern
    latitude in the longitude field (Connecticut: lat -72.7, lon 41.8)."""
    return -180 <= lat <= -60 and 15 <= lon <= 75


def place(lat: float, lon: float, region: Region | None) -> tuple[tuple[float, float], str]:
    """``((lat, lon), verdict)``; verdict: ok, swapped, out_of_range, outside_region or
    not_finite. A pair is swapped only when the swapped point is valid and inside the
    region (without a region: only the western-hemisphere pattern above)."""
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return (lat, lon), "not_finite"
    if region is not None:
        if _valid(lat, lon) and region.contains(lat, lon):
            return (lat, lon), "ok"
        if _valid(lon, lat) and region.contains(lon, lat):
            return (lon, lat), "swapped"
        return (lat, lon), "outside_region" if _valid(lat, lon) else "out_of_range"
    if _looks_swapped(lat, lon):
        return (lon, lat), "swapped"
    return (lat, lon), "ok" if _valid(lat, lon) else "out_of_range"
