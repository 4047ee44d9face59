"""US Census Geocoder: one-line addresses and the batch endpoint (RELIABILITY.md §4.1).

Batch requests are multipart ``addressFile`` uploads (no header; ``Unique ID, Street, City,
State, ZIP``) of at most ``census_batch_size`` rows; the reply (no header, every field quoted,
rows in any order) is merged back **by id**, never by position. Three-field ``No_Match``
rows, ``Tie`` rows (reported as ambiguous), missing rows and empty replies are handled.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Sequence

import requests

from assetmap._errors import GeocoderUnavailable
from assetmap.geocode import _http
from assetmap.geocode._types import Address, GeocodeResult
from assetmap.settings import Settings

__all__ = ["CensusGeocoder", "parse_batch_reply"]

log = logging.getLogger(__name__)

ONELINE_PATH = "/geocoder/locations/onelineaddress"
BATCH_PATH = "/geocoder/locations/addressbatch"
BENCHMARK = "Public_AR_Current"
NAME = "census"


def _quality(match_type: str) -> str:
    return "exact" if match_type.strip().lower() == "exact" else "non_exact"


def parse_batch_reply(text: str) -> dict[str, GeocodeResult]:
    """Parse a batch reply (CSV text) into ``id -> result``; unknown row shapes are skipped."""
    out: dict[str, GeocodeResult] = {}
    for row in csv.reader(io.StringIO(text)):
        if not row or not row[0].strip():
            continue
        rid = row[0].strip()
        status = row[2].strip().lower() if len(row) > 2 else ""
        if status == "match" and len(row) >= 6:
            try:
                lon_s, lat_s = row[5].split(",")
                lon, lat = float(lon_s), float(lat_s)
            except ValueError:
                out[rid] = GeocodeResult(
                    "error", source=NAME, message=f"bad coordinates {row[5]!r}"
                )
                continue
            out[rid] = GeocodeResult("matched", lat, lon, NAME, _quality(row[3]), row[4])
        elif status == "tie":
            out[rid] = GeocodeResult(
                "ambiguous", source=NAME, message="several equally good matches (Tie)"
            )
        elif status == "no_match":
            out[rid] = GeocodeResult("no_match", source=NAME, message="no match")
        else:
            log.warning("Census batch: unexpected row %r", row[:4])
    return out


class CensusGeocoder:
    """Client of the US Census Geocoder (``locations`` endpoints, benchmark Public_AR_Current)."""

    name = NAME
    external = True

    def __init__(self, settings: Settings, session: requests.Session) -> None:
        self.settings = settings
        self.session = session
        self.base = settings.census_geocoder_url.rstrip("/")

    def geocode_one(self, address: Address) -> GeocodeResult:
        """One address through ``onelineaddress``."""
        s = self.settings
        resp = _http.request(
            self.session,
            "GET",
            self.base + ONELINE_PATH,
            service="US Census Geocoder",
            timeout=s.geocode_timeout_s,
            retries=s.geocode_retries,
            backoff=s.geocode_backoff_s,
            params={"address": address.oneline(), "benchmark": BENCHMARK, "format": "json"},
        )
        try:
            matches = resp.json()["result"]["addressMatches"]
        except (ValueError, KeyError, TypeError) as exc:
            raise GeocoderUnavailable(
                f"US Census Geocoder at {self.base}: unexpected reply ({exc}): {resp.text[:200]!r}"
            ) from exc
        if not matches:
            return GeocodeResult("no_match", source=NAME, message="no match")
        best = matches[0]
        try:
            lon = float(best["coordinates"]["x"])
            lat = float(best["coordinates"]["y"])
        except (KeyError, TypeError, ValueError):
            return GeocodeResult("error", source=NAME, message="match without coordinates")
        quality = "exact" if len(matches) == 1 else "non_exact"
        return GeocodeResult(
            "matched", lat, lon, NAME, quality, str(best.get("matchedAddress", ""))
        )

    def _post_batch(self, rows: Sequence[tuple[str, Address]]) -> dict[str, GeocodeResult]:
        s = self.settings
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        for rid, a in rows:
            writer.writerow([rid, a.street, a.city, a.state, a.zip])
        payload = buf.getvalue().encode("utf-8")
        url = self.base + BATCH_PATH
        attempts = s.geocode_retries + 1
        for attempt in range(attempts):
            resp = _http.request(
                self.session,
                "POST",
                url,
                service="US Census Geocoder (batch)",
                timeout=s.geocode_batch_timeout_s,
                retries=s.geocode_retries,
                backoff=s.geocode_backoff_s,
                data={"benchmark": BENCHMARK},
                files={"addressFile": ("addresses.csv", payload, "text/csv")},
            )
            text = resp.content.decode("utf-8", errors="replace")
            if text.strip():
                return parse_batch_reply(text)
            log.warning("Census batch: empty reply (attempt %d/%d)", attempt + 1, attempts)
        raise GeocoderUnavailable(
            f"US Census Geocoder (batch) at {url} sent an empty reply {attempts} times for a chunk "
            f"of {len(rows)} addresses; those addresses were not geocoded."
        )

    def geocode_batch(
        self,
        rows: Sequence[tuple[str, Address]],
        *,
        progress: Callable[[int], None] | None = None,
    ) -> dict[str, GeocodeResult]:
        """Geocode ``(id, address)`` rows in chunks; ``id -> result`` for every id asked.

        A chunk that fails (service down, empty replies) gives ``error`` results for its ids and
        the next chunks are still tried unless the service is unreachable.
        """
        size = max(1, min(int(self.settings.census_batch_size), 10_000))
        out: dict[str, GeocodeResult] = {}
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            try:
                got = self._post_batch(chunk)
            except GeocoderUnavailable as exc:
                if "empty reply" not in str(exc):
                    raise
                log.warning("%s", exc)
                got = {}
                for rid, _ in chunk:
                    out[rid] = GeocodeResult("error", source=NAME, message=str(exc))
            wanted = {rid for rid, _ in chunk}
            for rid, res in got.items():
                if rid in wanted:
                    out[rid] = res
                else:
                    log.warning("Census batch: reply has an id that was not asked: %r", rid)
            for rid in wanted - out.keys():
                out[rid] = GeocodeResult("error", source=NAME, message="row missing from the reply")
            if progress is not None:
                progress(len(chunk))
        return out
