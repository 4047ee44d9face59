"""The value types of the geocoders: an address query and a result."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from assetmap.geocode._cache import address_key

__all__ = ["Address", "GeocodeResult", "QUALITIES", "parse_oneline"]

#: Geocode quality, best first (coordinates that came with a record count as ``exact``).
QUALITIES = ("exact", "non_exact", "street", "zip", "town", "none")

_STATE_ZIP = re.compile(r"(?:^|[\s,]+)([A-Za-z]{2})\.?\s+(\d{5})(?:-\d{4})?\s*$")
_ZIP_ONLY = re.compile(r"(?:^|[\s,]+)(\d{5})(?:-\d{4})?\s*$")
_STATE_ONLY = re.compile(r"(?:^|,\s*)([A-Za-z]{2})\s*$")


def _s(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = str(value).strip()
    return "" if text.lower() in ("nan", "none", "<na>") else text


@dataclass(frozen=True)
class Address:
    """One address to geocode, in parts (any may be empty)."""

    street: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""

    @classmethod
    def of(
        cls, street: object = "", city: object = "", state: object = "", zip: object = ""
    ) -> Address:
        z = _s(zip)
        if z.isdigit() and len(z) < 5:  # a ZIP read as a number lost its leading zero
            z = z.zfill(5)
        return cls(_s(street), _s(city), _s(state), z)

    def oneline(self) -> str:
        """``street, city, state zip`` with empty parts left out."""
        tail = " ".join(p for p in (self.state, self.zip) if p)
        return ", ".join(p for p in (self.street, self.city, tail) if p)

    @property
    def key(self) -> str:
        return address_key(self.oneline())

    def __bool__(self) -> bool:
        return bool(self.street or self.city or self.zip)


def parse_oneline(text: object) -> Address:
    """Split ``'80 Seymour St, Hartford, CT 06106'`` into parts (best effort).

    The last comma-separated part may hold the state and ZIP; the one before it the city.
    Text without commas stays in ``street`` (a ZIP or state at its end is still split off).
    """
    s = _s(text)
    state = zip_ = ""
    m = _STATE_ZIP.search(s)
    if m:
        state, zip_ = m.group(1).upper(), m.group(2)
        s = s[: m.start()]
    else:
        m = _ZIP_ONLY.search(s)
        if m:
            zip_ = m.group(1)
            s = s[: m.start()]
        if "," in s:
            m = _STATE_ONLY.search(s)
            if m:
                state = m.group(1).upper()
                s = s[: m.start()]
    parts = [p.strip() for p in s.split(",") if p.strip()]
    if len(parts) >= 2:
        return Address(", ".join(parts[:-1]), parts[-1], state, zip_)
    return Address(parts[0] if parts else "", "", state, zip_)


@dataclass(frozen=True)
class GeocodeResult:
    """The answer for one address.

    ``status``: ``matched``, ``no_match``, ``ambiguous`` (several equally good candidates,
    e.g. a Census ``Tie``), ``error`` (the service failed; not cached) or ``skipped`` (empty
    address, or no provider allowed). ``source``: the provider that answered (census,
    nominatim, gazetteer, or ``source`` when coordinates came with the record).
    """

    status: str = "no_match"
    lat: float | None = None
    lon: float | None = None
    source: str = ""
    quality: str = "none"
    matched_address: str = ""
    message: str = ""
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def matched(self) -> bool:
        return self.status == "matched" and self.lat is not None and self.lon is not None

    def cache_entry(self) -> tuple:
        return (self.status, self.lat, self.lon, self.quality, self.matched_address)

    @classmethod
    def from_cache(cls, provider: str, entry: tuple) -> GeocodeResult:
        status, lat, lon, quality, matched = entry
        what = {"no_match": "no match", "ambiguous": "several equally good matches"}.get(
            status, status
        )
        return cls(status, lat, lon, provider, quality, matched or "", f"{what} (cached)")
