"""The Geocoder: cache -> services in the configured order -> offline gazetteer."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import requests

from assetmap._errors import ConfigError, GeocoderUnavailable, InputError
from assetmap.geocode._cache import GeocodeCache
from assetmap.geocode._census import CensusGeocoder
from assetmap.geocode._gazetteer import Gazetteer
from assetmap.geocode._nominatim import ATTRIBUTION, NominatimGeocoder
from assetmap.geocode._types import Address, GeocodeResult, parse_oneline
from assetmap.settings import Settings, get_settings

__all__ = ["Geocoder", "GeocodeSummary", "geocode_frame", "detect_address_columns", "PROVIDERS"]

log = logging.getLogger(__name__)

PROVIDERS = ("census", "nominatim", "gazetteer")
Progress = Callable[[int, int], None]
_ROLES = ("street", "city", "state", "zip")
_HOUSE_NUMBER = re.compile(r"\d")
_ROLE_CANON = {"street": "address", "city": "city", "state": "state", "zip": "postal_code"}


@dataclass
class GeocodeSummary:
    """Counts of one run: ``matched`` by a service, ``fallback`` (gazetteer), ``kept`` (record's
    own coordinates), ``failed``; ``failures`` lists the rows not geocoded and why."""

    total: int = 0
    matched: int = 0
    fallback: int = 0
    kept: int = 0
    failed: int = 0
    by_source: dict[str, int] = field(default_factory=dict)
    by_quality: dict[str, int] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)
    provider_errors: list[str] = field(default_factory=list)
    requests: dict[str, int] = field(default_factory=dict)
    attribution: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "matched": self.matched,
            "fallback": self.fallback,
            "kept": self.kept,
            "failed": self.failed,
            "by_source": dict(self.by_source),
            "by_quality": dict(self.by_quality),
            "failures": list(self.failures),
            "provider_errors": list(self.provider_errors),
            "requests": dict(self.requests),
            "attribution": self.attribution,
        }


class Geocoder:
    """Geocode addresses with a cache, the configured services and the offline gazetteer.

    Parameters
    ----------
    providers : names in order (default ``settings.geocode_providers``): census, nominatim,
        gazetteer.
    allow_external : ``False`` keeps every address on this machine: only the gazetteer is used
        and nothing is cached. Use it for anything private (family survey rows, a family's own
        search address) — RELIABILITY.md §2.
    cache : ``True`` (the SQLite file of ``settings.geocode_cache_path``), a
        :class:`GeocodeCache`, or ``False``.
    """

    def __init__(
        self,
        *,
        providers: Sequence[str] | None = None,
        allow_external: bool = True,
        cache: bool | GeocodeCache = True,
        settings: Settings | None = None,
        gazetteer: Gazetteer | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        names = tuple(providers) if providers else tuple(self.settings.geocode_providers)
        unknown = [n for n in names if n not in PROVIDERS]
        if unknown:
            raise ConfigError(
                f"unknown geocoding provider(s) {unknown}; choose from {', '.join(PROVIDERS)}"
            )
        self.allow_external = allow_external
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = self.settings.user_agent
        self._gazetteer = gazetteer
        self._providers: dict[str, Any] = {}
        self.provider_names = names
        if not allow_external:
            cache = False
        if cache is True:
            cache = GeocodeCache(self.settings.geocode_cache_path)
        self.cache: GeocodeCache | None = cache if isinstance(cache, GeocodeCache) else None
        self.requests: dict[str, int] = {}
        self.provider_errors: list[str] = []

    @property
    def attribution(self) -> str:
        """Attribution to show with results (Nominatim's ODbL notice when it may be used)."""
        return ATTRIBUTION if "nominatim" in self.provider_names and self.allow_external else ""

    def _provider(self, name: str) -> Any:
        if name not in self._providers:
            if name == "census":
                self._providers[name] = CensusGeocoder(self.settings, self.session)
            elif name == "nominatim":
                self._providers[name] = NominatimGeocoder(self.settings, self.session)
            elif self._gazetteer is not None:
                self._providers[name] = self._gazetteer
            else:
                # Not yet a workspace reader: the geocode/import commands still use the
                # shipped gazetteer (Connecticut places + ZIPs) when given none.
                from assetmap.data import load_gazetteer

                try:
                    frame = load_gazetteer()
                except (FileNotFoundError, OSError) as exc:
                    log.warning("gazetteer not available (%s); offline geocoding disabled", exc)
                    frame = pd.DataFrame(columns=["name", "kind", "town", "zip", "lat", "lon"])
                self._providers[name] = Gazetteer(frame, states=["CT"])
        return self._providers[name]

    def _count(self, name: str, n: int = 1) -> None:
        self.requests[name] = self.requests.get(name, 0) + n

    def geocode(self, address: str | Address) -> GeocodeResult:
        """Geocode one address (one-line text or :class:`Address`).

        Raises GeocoderUnavailable only when every provider tried was unavailable.
        """
        addr = address if isinstance(address, Address) else parse_oneline(address)
        result = self.geocode_many([addr])[0]
        return result

    def geocode_many(
        self, addresses: Sequence[Address], *, progress: Progress | None = None
    ) -> list[GeocodeResult]:
        """One result per address, in order. Identical addresses are asked once.

        ``progress(done, total)`` is called as unique addresses get their final answer.
        A provider that is down is skipped (its message is kept in ``provider_errors``); if no
        provider could be used at all, GeocoderUnavailable is raised.
        """
        self.provider_errors = []
        unique: dict[str, Address] = {}
        for a in addresses:
            if a:
                unique.setdefault(a.key, a)
        total = len(unique)
        final: dict[str, GeocodeResult] = {}
        negatives: dict[str, list[GeocodeResult]] = {k: [] for k in unique}
        done = 0

        def tick(n: int) -> None:
            nonlocal done
            done += n
            if progress is not None:
                progress(min(done, total), total)

        if progress is not None:
            progress(0, total)
        usable = [n for n in self.provider_names if self.allow_external or n == "gazetteer"]
        if not usable and unique:
            raise GeocoderUnavailable(
                "no geocoding provider may be used: external services are not allowed for these "
                "addresses and the gazetteer is not in the provider list"
            )
        worked = False
        for i, name in enumerate(usable):
            pending = [k for k in unique if k not in final]
            if not pending:
                break
            last = i == len(usable) - 1
            provider = self._provider(name)
            answers: dict[str, GeocodeResult] = {}
            if self.cache is not None and provider.external:
                for k, entry in self.cache.get_many(name, pending).items():
                    answers[k] = GeocodeResult.from_cache(name, entry)
            ask = [k for k in pending if k not in answers]
            matched_before = sum(1 for k in pending if k in answers and answers[k].matched)
            tick(matched_before if not last else sum(1 for k in pending if k in answers))
            fresh: dict[str, GeocodeResult] = {}
            try:
                self._ask(name, provider, [(k, unique[k]) for k in ask], last, tick, fresh)
                worked = True
            except GeocoderUnavailable as exc:
                log.warning("%s", exc)
                self.provider_errors.append(str(exc))
                worked = worked or bool(fresh)
                if last:
                    tick(len(ask) - len(fresh))
            if not ask:
                worked = True
            if self.cache is not None and provider.external:
                self.cache.put_many(
                    name,
                    {k: r.cache_entry() for k, r in fresh.items() if r.status != "error"},
                )
            answers.update(fresh)
            for k, res in answers.items():
                if res.matched:
                    final[k] = res
                else:
                    negatives[k].append(res)
        if unique and not worked:
            raise GeocoderUnavailable(" ".join(self.provider_errors))
        for k in unique:
            if k not in final:
                final[k] = _combine_negatives(negatives[k], self.provider_errors)
        if progress is not None:
            progress(total, total)
        empty = GeocodeResult("skipped", message="empty address")
        return [final[a.key] if a else empty for a in addresses]

    def _ask(
        self,
        name: str,
        provider: Any,
        rows: list[tuple[str, Address]],
        last: bool,
        tick: Callable[[int], None],
        out: dict[str, GeocodeResult],
    ) -> None:
        """Ask one provider; answers go into ``out`` as they come (kept if a later call fails)."""
        if not rows:
            return
        if name == "census":
            # The Census matches house numbers on street ranges; a bare town, ZIP or building
            # name is left to the other providers (no request spent on it).
            for k, a in rows:
                if not _HOUSE_NUMBER.search(a.street):
                    out[k] = GeocodeResult("no_match", source=name, message="no house number")
            rows = [(k, a) for k, a in rows if _HOUSE_NUMBER.search(a.street)]
            if not rows:
                return
        if name == "census" and len(rows) > 1:
            ids = {str(i + 1): k for i, (k, _) in enumerate(rows)}
            batch = [(str(i + 1), a) for i, (_, a) in enumerate(rows)]
            size = max(1, min(int(self.settings.census_batch_size), 10_000))
            for start in range(0, len(batch), size):
                chunk = batch[start : start + size]
                self._count(name, 1)
                got = provider.geocode_batch(chunk)
                for rid, res in got.items():
                    out[ids[rid]] = res
                    if res.status == "error" and res.message not in self.provider_errors:
                        self.provider_errors.append(res.message)
                tick(sum(1 for rid, _ in chunk if last or got[rid].matched))
            return
        for k, a in rows:
            if provider.external:
                self._count(name, 1)
            res = provider.geocode_one(a)
            out[k] = res
            tick(1 if last or res.matched else 0)


def _combine_negatives(results: list[GeocodeResult], errors: list[str]) -> GeocodeResult:
    statuses = [r.status for r in results]
    if "ambiguous" in statuses:
        status = "ambiguous"
    elif "no_match" in statuses:
        status = "no_match"
    elif results or errors:
        status = "error"
    else:
        status = "skipped"
    messages = [f"{r.source}: {r.message or r.status}" for r in results]
    if status == "error" and not results:
        messages = list(errors)
    return GeocodeResult(status, message="; ".join(messages))


def _valid(lat: Any, lon: Any) -> bool:
    try:
        y, x = float(lat), float(lon)
    except (TypeError, ValueError):
        return False
    return (
        math.isfinite(y)
        and math.isfinite(x)
        and -90 <= y <= 90
        and -180 <= x <= 180
        and (x, y) != (0, 0)
    )


def detect_address_columns(columns: Sequence[str]) -> dict[str, str]:
    """``role -> column`` (roles street, city, state, zip) from header synonyms."""
    from assetmap.onboard import match_header

    found: dict[str, str] = {}
    for col in columns:
        canon, _, method = match_header(col)
        if method in ("exact", "synonym"):
            for role, c in _ROLE_CANON.items():
                if canon == c and role not in found:
                    found[role] = col
    return found


def _address_reader(
    df: pd.DataFrame, address_columns: str | Sequence[str] | Mapping[str, str] | None
) -> Callable[[Mapping[str, Any]], Address]:
    cols = list(df.columns)
    if address_columns is None:
        roles = detect_address_columns(cols)
        if not roles:
            raise InputError(
                f"no address column found among {cols[:20]}; name one with address_columns "
                "(CLI: --address-column), e.g. --address-column 'Street Address'"
            )
        address_columns = roles
    if isinstance(address_columns, str):
        address_columns = [address_columns]
    if isinstance(address_columns, Mapping):
        bad = [r for r in address_columns if r not in _ROLES]
        if bad:
            raise InputError(f"address roles {bad} unknown; use {', '.join(_ROLES)}")
        roles = dict(address_columns)
        missing = [c for c in roles.values() if c not in df.columns]
        if missing:
            raise InputError(
                f"address column(s) {missing} not in the file; columns are {cols[:20]}"
            )

        def read_parts(row: Mapping[str, Any]) -> Address:
            a = Address.of(*(row.get(roles[r], "") if r in roles else "" for r in _ROLES))
            if a.street and not (a.city or a.zip):
                return parse_oneline(a.street)  # a one-line address in the street column
            return a

        return read_parts
    names = list(address_columns)
    missing = [c for c in names if c not in df.columns]
    if missing:
        raise InputError(f"address column(s) {missing} not in the file; columns are {cols[:20]}")

    def read_line(row: Mapping[str, Any]) -> Address:
        parts = [str(row.get(c, "") or "").strip() for c in names]
        parts = [p for p in parts if p and p.lower() not in ("nan", "none", "<na>")]
        return parse_oneline(", ".join(parts))

    return read_line


def geocode_frame(
    df: pd.DataFrame,
    *,
    address_columns: str | Sequence[str] | Mapping[str, str] | None = None,
    providers: Sequence[str] | None = None,
    allow_external: bool = True,
    keep_existing: bool = True,
    progress: Progress | None = None,
    geocoder: Geocoder | None = None,
) -> pd.DataFrame:
    """A copy of ``df`` with ``lat``, ``lon``, ``geocode_source`` and ``geocode_quality`` added.

    ``address_columns``: one column holding whole addresses, several columns joined into one
    line, or a mapping ``{'street','city','state','zip'} -> column``; by default found from
    the header synonyms. With ``keep_existing`` rows that already have valid ``lat``/``lon``
    keep them (source ``source``). ``allow_external=False`` uses only the offline gazetteer
    (the rule for family addresses). ``progress(done, total)`` reports progress. The run's
    :class:`GeocodeSummary` is in ``result.attrs['geocode_summary']`` (a dict); a failure's
    ``row`` is the index label when the index is named ``row`` (as :mod:`assetmap.io` gives),
    else the 1-based position.
    """
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"geocode_frame needs a DataFrame, got {type(df).__name__}")
    gc = geocoder or Geocoder(providers=providers, allow_external=allow_external)
    if geocoder is not None and not allow_external and gc.allow_external:
        raise InputError(
            "allow_external=False conflicts with the Geocoder passed (it allows external services)"
        )
    reader = _address_reader(df, address_columns)
    out = df.copy()
    records = out.to_dict("records")
    has_xy = keep_existing and "lat" in out.columns and "lon" in out.columns
    todo: list[int] = []
    addresses: list[Address] = []
    lat: list[float | None] = [None] * len(out)
    lon: list[float | None] = [None] * len(out)
    src = [""] * len(out)
    qual = ["none"] * len(out)
    summary = GeocodeSummary(total=len(out), attribution=gc.attribution)
    for i, row in enumerate(records):
        if has_xy and _valid(row.get("lat"), row.get("lon")):
            lat[i], lon[i] = float(row["lat"]), float(row["lon"])
            src[i], qual[i] = "source", "exact"
            summary.kept += 1
        else:
            todo.append(i)
            addresses.append(reader(row))
    results = gc.geocode_many(addresses, progress=progress)
    for i, addr, res in zip(todo, addresses, results, strict=True):
        if res.matched:
            lat[i], lon[i] = res.lat, res.lon
            src[i], qual[i] = res.source, res.quality
            if res.source == "gazetteer":
                summary.fallback += 1
            else:
                summary.matched += 1
        else:
            summary.failed += 1
            summary.failures.append(
                {
                    "row": int(out.index[i]) if out.index.name == "row" else i + 1,
                    "address": addr.oneline(),
                    "status": res.status,
                    "reason": res.message,
                }
            )
    out["lat"] = pd.array(lat, dtype="Float64").astype(float)
    out["lon"] = pd.array(lon, dtype="Float64").astype(float)
    out["geocode_source"] = src
    out["geocode_quality"] = qual
    for s, q in zip(src, qual, strict=True):
        if s:
            summary.by_source[s] = summary.by_source.get(s, 0) + 1
        summary.by_quality[q] = summary.by_quality.get(q, 0) + 1
    summary.provider_errors = list(gc.provider_errors)
    summary.requests = dict(gc.requests)
    out.attrs["geocode_summary"] = summary.to_dict()
    return out
