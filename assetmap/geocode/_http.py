"""HTTP plumbing shared by the geocoders: one retry policy, one process-wide rate limiter.

All requests go through :func:`request` so every provider gets the same timeouts, retries
with exponential back-off (429, 5xx, timeouts, connection errors; ``Retry-After`` honoured)
and the same clear :class:`~assetmap._errors.GeocoderUnavailable` messages.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests

from assetmap._errors import GeocoderUnavailable

__all__ = ["RateLimiter", "NOMINATIM_LIMITER", "request", "STOCK_AGENTS"]

log = logging.getLogger(__name__)

#: User-Agent prefixes of stock HTTP libraries; Nominatim refuses them (usage policy).
STOCK_AGENTS = (
    "python-requests",
    "python-urllib",
    "curl",
    "wget",
    "java",
    "go-http-client",
    "okhttp",
)

_RETRY_STATUS = frozenset({429, 500, 502, 503, 504, 509})
_MAX_RETRY_AFTER_S = 120.0


class RateLimiter:
    """At most one request per ``interval`` seconds, counted across threads.

    Used as a context manager around the request: the lock is held while the request runs,
    and the next request may start only ``interval`` seconds after the previous one
    *finished*, so jitter in the network can never squeeze two arrivals closer than that.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next = 0.0

    @contextmanager
    def slot(self, interval: float) -> Iterator[None]:
        """Wait for a free slot, run the body, then block the next ``interval`` seconds."""
        with self._lock:
            wait = self._next - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            try:
                yield
            finally:
                self._next = time.monotonic() + max(0.0, interval)


#: The one Nominatim limiter of the process, shared by every Geocoder (usage policy: 1 req/s
#: summed over the whole application). A deliberate module-level object: the budget is global.
NOMINATIM_LIMITER = RateLimiter()


def _retry_after(resp: requests.Response) -> float | None:
    value = resp.headers.get("Retry-After")
    if not value:
        return None
    try:
        return min(_MAX_RETRY_AFTER_S, max(0.0, float(value)))
    except ValueError:
        return None  # an HTTP date: fall back to our own back-off


def request(
    session: requests.Session,
    method: str,
    url: str,
    *,
    service: str,
    timeout: float,
    retries: int,
    backoff: float,
    limiter: RateLimiter | None = None,
    min_interval: float = 0.0,
    **kwargs: Any,
) -> requests.Response:
    """Send one request with retries; return the 2xx response or raise GeocoderUnavailable.

    Retries ``retries`` times on 429/5xx, timeouts and connection errors, waiting
    ``backoff * 2**attempt`` seconds (or the server's ``Retry-After``). A 403 is not retried:
    it means the service refuses this client (usually the User-Agent policy).
    """
    last = ""
    for attempt in range(retries + 1):
        wait = backoff * (2**attempt)
        try:
            if limiter is not None:
                with limiter.slot(min_interval):
                    resp = session.request(method, url, timeout=timeout, **kwargs)
            else:
                resp = session.request(method, url, timeout=timeout, **kwargs)
        except requests.Timeout:
            last = f"no answer within {timeout:g} s"
        except requests.ConnectionError as exc:
            last = f"cannot connect ({type(exc).__name__})"
        except requests.RequestException as exc:
            raise GeocoderUnavailable(f"{service} at {url}: request failed: {exc}") from exc
        else:
            if resp.status_code < 300:
                return resp
            if resp.status_code == 403:
                raise GeocoderUnavailable(
                    f"{service} at {url} refused the request (HTTP 403). Its usage policy requires "
                    f"an identifying User-Agent (sent: {session.headers.get('User-Agent')!r}); set "
                    "[geocoding] user_agent in config/settings.toml or ASSETMAP_USER_AGENT to name "
                    "your application and a contact, and keep to 1 request per second."
                )
            if resp.status_code not in _RETRY_STATUS:
                raise GeocoderUnavailable(
                    f"{service} at {url} answered HTTP {resp.status_code}: {resp.text[:200]!r}"
                )
            last = f"HTTP {resp.status_code}"
            ra = _retry_after(resp)
            if ra is not None:
                wait = max(wait, ra)
        if attempt < retries:
            log.info("%s: %s; retry %d/%d in %.2f s", service, last, attempt + 1, retries, wait)
            time.sleep(wait)
    raise GeocoderUnavailable(
        f"{service} at {url} is unavailable after {retries + 1} attempts ({last}). Check the "
        "network or the service status, or geocode offline with --provider gazetteer."
    )
