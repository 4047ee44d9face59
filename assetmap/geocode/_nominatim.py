"""Nominatim (OpenStreetMap) search, within its usage policy (RELIABILITY.md §4.2).

- an identifying User-Agent (settings.user_agent) and ``email=`` when a contact is set;
- at most one request per ``nominatim_min_interval_s`` summed over the whole process
  (:data:`assetmap.geocode._http.NOMINATIM_LIMITER`, shared by every Geocoder);
- answers are cached by the caller, so nothing is asked twice;
- results must be shown with :data:`ATTRIBUTION`.
"""

from __future__ import annotations

import requests

from assetmap._errors import GeocoderUnavailable
from assetmap.geocode import _http
from assetmap.geocode._types import Address, GeocodeResult
from assetmap.settings import Settings

__all__ = ["NominatimGeocoder", "ATTRIBUTION"]

SEARCH_PATH = "/search"
NAME = "nominatim"
#: Attribution the ODbL requires wherever Nominatim results are shown or exported.
ATTRIBUTION = "© OpenStreetMap contributors, ODbL"

_EXACT_CLASSES = {
    "building",
    "amenity",
    "office",
    "shop",
    "tourism",
    "leisure",
    "healthcare",
    "craft",
    "man_made",
    "historic",
    "club",
    "emergency",
}
_TOWN_TYPES = {
    "city",
    "town",
    "village",
    "hamlet",
    "suburb",
    "neighbourhood",
    "quarter",
    "municipality",
    "county",
    "state",
    "administrative",
    "locality",
    "isolated_dwelling",
}


def _quality(place: dict) -> str:
    cls = str(place.get("class") or place.get("category") or "")
    typ = str(place.get("type") or "")
    if typ in ("house", "building") or cls in _EXACT_CLASSES:
        return "exact"
    if typ == "postcode":
        return "zip"
    if cls == "highway":
        return "street"
    if cls in ("place", "boundary") and typ in _TOWN_TYPES:
        return "town"
    return "non_exact"


class NominatimGeocoder:
    """Client of a Nominatim ``/search`` endpoint (free-form ``q``, JSON)."""

    name = NAME
    external = True
    attribution = ATTRIBUTION

    def __init__(self, settings: Settings, session: requests.Session) -> None:
        self.settings = settings
        self.session = session
        self.base = settings.nominatim_url.rstrip("/")

    def geocode_one(self, address: Address) -> GeocodeResult:
        """Search one address (rate limited process-wide)."""
        s = self.settings
        params = {"q": address.oneline(), "format": "json", "countrycodes": "us", "limit": "1"}
        if s.contact_email:
            params["email"] = s.contact_email
        resp = _http.request(
            self.session,
            "GET",
            self.base + SEARCH_PATH,
            service="Nominatim",
            timeout=s.geocode_timeout_s,
            retries=s.geocode_retries,
            backoff=max(s.geocode_backoff_s, s.nominatim_min_interval_s),
            limiter=_http.NOMINATIM_LIMITER,
            min_interval=s.nominatim_min_interval_s,
            params=params,
        )
        try:
            places = resp.json()
        except ValueError as exc:
            raise GeocoderUnavailable(
                f"Nominatim at {self.base}: reply is not JSON: {resp.text[:200]!r}"
            ) from exc
        if not isinstance(places, list):
            raise GeocoderUnavailable(
                f"Nominatim at {self.base}: unexpected reply {str(places)[:200]!r}"
            )
        if not places:
            return GeocodeResult("no_match", source=NAME, message="no match")
        place = places[0]
        try:
            lat, lon = float(place["lat"]), float(place["lon"])  # strings in the API
        except (KeyError, TypeError, ValueError):
            return GeocodeResult("error", source=NAME, message="place without coordinates")
        return GeocodeResult(
            "matched",
            lat,
            lon,
            NAME,
            _quality(place),
            str(place.get("display_name", "")),
            extra={"place_id": str(place.get("place_id", "")), "licence": place.get("licence", "")},
        )
