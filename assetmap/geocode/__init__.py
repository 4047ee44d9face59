"""Addresses to points: US Census Geocoder, Nominatim, and an offline gazetteer, with a cache.

>>> from assetmap.geocode import Geocoder, geocode_frame          # doctest: +SKIP
>>> geocode_frame(partners_df, address_columns="Address")       # doctest: +SKIP

Order of providers and their base URLs come from settings (``[geocoding]`` in
``config/settings.toml``; ``ASSETMAP_CENSUS_GEOCODER_URL``, ``ASSETMAP_NOMINATIM_URL``).
Every answer is cached (SQLite) so nothing is asked twice; Nominatim is limited to one
request per second across the process and its results carry :data:`ATTRIBUTION`.

Privacy (RELIABILITY.md §2): family addresses must never reach an outside service. Pass
``allow_external=False`` (``Geocoder(allow_external=False)``, ``geocode_frame(...,
allow_external=False)`` or :func:`geocode_offline`): only the offline gazetteer is used and
nothing is written to the cache.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from assetmap.geocode._cache import GeocodeCache, address_key
from assetmap.geocode._gazetteer import Gazetteer
from assetmap.geocode._geocoder import (
    PROVIDERS,
    Geocoder,
    GeocodeSummary,
    detect_address_columns,
    geocode_frame,
)
from assetmap.geocode._nominatim import ATTRIBUTION
from assetmap.geocode._types import QUALITIES, Address, GeocodeResult, parse_oneline

__all__ = [
    "ATTRIBUTION",
    "PROVIDERS",
    "QUALITIES",
    "Address",
    "GeocodeCache",
    "GeocodeResult",
    "GeocodeSummary",
    "Gazetteer",
    "Geocoder",
    "address_key",
    "detect_address_columns",
    "geocode_frame",
    "geocode_offline",
    "parse_oneline",
]


def geocode_offline(
    df: pd.DataFrame,
    *,
    address_columns: str | Sequence[str] | Mapping[str, str] | None = None,
    **kwargs: Any,
) -> pd.DataFrame:
    """:func:`geocode_frame` that never leaves this machine (gazetteer only, no cache)."""
    kwargs.pop("allow_external", None)
    kwargs.pop("providers", None)
    return geocode_frame(
        df,
        address_columns=address_columns,
        allow_external=False,
        providers=("gazetteer",),
        **kwargs,
    )
