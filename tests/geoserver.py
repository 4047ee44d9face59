"""A loopback replay server speaking the US Census Geocoder and Nominatim formats.

Formats follow RELIABILITY.md §4 (recorded responses of the real services). The answers are
rule based, so any address gets a deterministic reply the tests can predict:

Census (``/geocoder/locations/onelineaddress`` JSON, ``/geocoder/locations/addressbatch`` CSV):
- street without a house number (or empty): ``No_Match`` (the Census matches address ranges)
- street containing ``NOWHERE`` or ``OSMONLY``: ``No_Match`` (3-field row in batches)
- ``TWIN``: ``Tie`` (3-field row)
- ``APPROX``: ``Match``/``Non_Exact``; anything else ``Match``/``Exact``
- ``SLOW``: the whole reply waits ``slow_s`` seconds (past the client's timeout)
- batch rows are returned in a shuffled order, every field quoted, no header;
  ``empty_batch_replies = n`` makes the next n batch requests answer 200 with an empty body.

Nominatim (``/search?q=...&format=json``):
- 403 when the User-Agent is missing or a stock library's;
- 429 with ``Retry-After: 1`` (or ``burst_status=503`` without it) when a request arrives less
  than ``nominatim_min_interval`` seconds after the previous one (bursts);
- ``[]`` when the query contains ``nowhere``; otherwise one place; ``lat``/``lon`` are strings,
  ``place_id`` alternates between a number and a string.

Every request is recorded (time of arrival, path, parameters, User-Agent, status sent).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
import re
import threading
import time
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

STOCK_AGENTS = ("python-requests", "python-urllib", "curl", "wget", "java", "go-http-client")


def norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def expected_point(street: str) -> tuple[float, float]:
    """The (lat, lon) this server gives a street (both services agree)."""
    h = hashlib.sha1(norm(street).encode()).digest()
    lat = 41.0 + int.from_bytes(h[:4], "big") / 2**32
    lon = -73.7 + 1.9 * int.from_bytes(h[4:8], "big") / 2**32
    return round(lat, 6), round(lon, 6)


def census_status(street: str) -> str:
    s = street.upper()
    if not re.search(r"\d", s) or "NOWHERE" in s or "OSMONLY" in s:
        return "No_Match"
    if "TWIN" in s:
        return "Tie"
    return "Non_Exact" if "APPROX" in s else "Exact"


@dataclass
class Hit:
    t: float
    method: str
    path: str
    params: dict[str, str]
    user_agent: str
    status: int = 200
    rows: list[list[str]] = field(default_factory=list)


class ReplayServer:
    """Start with ``with ReplayServer() as srv:``; ``srv.url`` is the base URL."""

    def __init__(
        self,
        *,
        nominatim_min_interval: float = 1.0,
        slow_s: float = 3.0,
        seed: int = 7,
        known: dict[str, tuple[float, float]] | None = None,
        burst_status: int = 429,
    ):
        self.burst_status = burst_status
        self.known = {norm(k): v for k, v in (known or {}).items()}
        self.nominatim_min_interval = nominatim_min_interval
        self.slow_s = slow_s
        self.empty_batch_replies = 0
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        self._last_search: float | None = None
        self._rng = random.Random(seed)
        self._place = 100000
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                server._handle(self, "GET")

            def do_POST(self) -> None:
                server._handle(self, "POST")

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> ReplayServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def point(self, street: str) -> tuple[float, float]:
        """(lat, lon) for a street: from ``known`` (real places) or :func:`expected_point`."""
        return self.known.get(norm(street)) or expected_point(street)

    # -- what the tests look at ------------------------------------------------------------
    def hits_for(self, path: str) -> list[Hit]:
        with self._lock:
            return [h for h in self.hits if h.path == path]

    def batch_streets(self) -> list[str]:
        """Every street sent in any batch (repeats show up twice)."""
        return [r[1] for h in self.hits_for("/geocoder/locations/addressbatch") for r in h.rows]

    def searches(self) -> list[str]:
        return [h.params.get("q", "") for h in self.hits_for("/search")]

    # -- handling --------------------------------------------------------------------------
    def _reply(
        self,
        h: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        ctype: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        try:
            h.send_response(status)
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                h.send_header(k, v)
            h.end_headers()
            h.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test)

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        now = time.monotonic()
        url = urlparse(h.path)
        params = {k: v[0] for k, v in parse_qs(url.query).items()}
        hit = Hit(now, method, url.path, params, h.headers.get("User-Agent", ""))
        body = b""
        if method == "POST":
            body = h.rfile.read(int(h.headers.get("Content-Length", "0")))
        with self._lock:
            self.hits.append(hit)
        if url.path == "/geocoder/locations/onelineaddress" and method == "GET":
            self._oneline(h, hit)
        elif url.path == "/geocoder/locations/addressbatch" and method == "POST":
            self._batch(h, hit, body)
        elif url.path == "/search" and method == "GET":
            self._search(h, hit, now)
        else:
            hit.status = 404
            self._reply(h, 404, b"not found", "text/plain")

    def _oneline(self, h: BaseHTTPRequestHandler, hit: Hit) -> None:
        address = hit.params.get("address", "")
        if hit.params.get("benchmark") != "Public_AR_Current":
            hit.status = 400
            self._reply(h, 400, b'{"errors":["Benchmark is required"]}', "application/json")
            return
        street = address.split(",")[0]
        if "SLOW" in address.upper():
            time.sleep(self.slow_s)
        status = census_status(street)
        matches = []
        if status in ("Exact", "Non_Exact"):
            lat, lon = self.point(street)
            matches.append(
                {
                    "matchedAddress": address.upper(),
                    "coordinates": {"x": lon, "y": lat},
                    "tigerLine": {"tigerLineId": "76225813", "side": "L"},
                    "addressComponents": {
                        "fromAddress": "1",
                        "toAddress": "99",
                        "streetName": street.upper(),
                        "city": "",
                        "state": "CT",
                        "zip": "",
                    },
                }
            )
        doc = {
            "result": {
                "input": {
                    "address": {"address": address},
                    "benchmark": {
                        "id": "4",
                        "benchmarkName": "Public_AR_Current",
                        "benchmarkDescription": "Public Address Ranges - Current Benchmark",
                        "isDefault": False,
                    },
                },
                "addressMatches": matches,
            }
        }
        self._reply(h, 200, json.dumps(doc).encode(), "application/json")

    def _batch(self, h: BaseHTTPRequestHandler, hit: Hit, body: bytes) -> None:
        head = f"Content-Type: {h.headers.get('Content-Type', '')}\r\n\r\n".encode()
        msg = BytesParser(policy=HTTP).parsebytes(head + body)
        fields: dict[str, bytes] = {}
        for part in msg.iter_parts():
            fields[part.get_param("name", header="content-disposition")] = part.get_payload(
                decode=True
            )
        if (
            "addressFile" not in fields
            or fields.get("benchmark", b"").decode() != "Public_AR_Current"
        ):
            hit.status = 400
            self._reply(h, 400, b"addressFile and benchmark are required", "text/plain")
            return
        rows = list(csv.reader(io.StringIO(fields["addressFile"].decode("utf-8"))))
        hit.rows = rows
        with self._lock:
            empty = self.empty_batch_replies > 0
            if empty:
                self.empty_batch_replies -= 1
        if empty:
            self._reply(h, 200, b"", "text/plain")
            return
        if any("SLOW" in r[1].upper() for r in rows if len(r) > 1):
            time.sleep(self.slow_s)
        out = io.StringIO()
        w = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
        order = list(rows)
        self._rng.shuffle(order)
        for r in order:
            rid, street, city, state, zip_ = (r + [""] * 5)[:5]
            line = f"{street}, {city}, {state}, {zip_}"
            status = census_status(street)
            if status == "No_Match":
                w.writerow([rid, line, "No_Match"])
            elif status == "Tie":
                w.writerow([rid, line, "Tie"])
            else:
                lat, lon = self.point(street)
                w.writerow(
                    [rid, line, "Match", status, line.upper(), f"{lon},{lat}", "76225813", "L"]
                )
        self._reply(
            h,
            200,
            out.getvalue().encode(),
            "text/plain",
            {"Content-Disposition": "attachment; filename=GeocodeResults.csv"},
        )

    def _search(self, h: BaseHTTPRequestHandler, hit: Hit, now: float) -> None:
        ua = hit.user_agent.strip().lower()
        if not ua or ua.startswith(STOCK_AGENTS):
            hit.status = 403
            self._reply(
                h, 403, b"<html><body>Access blocked: see usage policy</body></html>", "text/html"
            )
            return
        with self._lock:
            burst = (
                self._last_search is not None
                and now - self._last_search < self.nominatim_min_interval
            )
            self._last_search = now
            self._place += 1
            place_id: int | str = self._place if self._place % 2 else str(self._place)
        if burst:
            hit.status = self.burst_status
            if self.burst_status == 429:
                self._reply(h, 429, b"Too Many Requests", "text/html", {"Retry-After": "1"})
            else:  # an overloaded server: no Retry-After, the client must back off on its own
                self._reply(h, self.burst_status, b"<html>Service Unavailable</html>", "text/html")
            return
        q = hit.params.get("q", "")
        if hit.params.get("format") != "json":
            hit.status = 400
            self._reply(h, 400, b"format=json expected", "text/plain")
            return
        if "slow" in q.lower():
            time.sleep(self.slow_s)
        if "nowhere" in q.lower():
            self._reply(h, 200, b"[]", "application/json")
            return
        street = q.split(",")[0]
        lat, lon = self.point(street)
        place = {
            "place_id": place_id,
            "licence": "Data © OpenStreetMap contributors, ODbL 1.0. https://osm.org/copyright",
            "osm_type": "node",
            "osm_id": "107775",
            "boundingbox": [str(lat - 0.001), str(lat + 0.001), str(lon - 0.001), str(lon + 0.001)],
            "lat": f"{lat}",
            "lon": f"{lon}",
            "display_name": q,
            "class": "building",
            "type": "yes",
            "importance": 0.5,
        }
        self._reply(h, 200, json.dumps([place]).encode(), "application/json")


def configure(
    monkeypatch: Any, tmp_path: Any, server: ReplayServer | None = None, **extra: Any
) -> None:
    """Point settings at ``server``, a tmp cache and a tmp data dir holding the mini gazetteer."""
    import shutil
    from pathlib import Path

    from assetmap import data
    from assetmap.settings import get_settings

    data_dir = Path(tmp_path) / "data"
    (data_dir / "ct").mkdir(parents=True, exist_ok=True)
    shutil.copy(
        Path(__file__).parent / "data" / "gazetteer_mini.csv", data_dir / "ct" / "gazetteer.csv"
    )
    env = {
        "ASSETMAP_DATA_DIR": str(data_dir),
        "ASSETMAP_GEOCODE_CACHE_PATH": str(Path(tmp_path) / "var" / "geocode_cache.sqlite"),
        "ASSETMAP_GEOCODE_BACKOFF_S": "0.05",
        "ASSETMAP_GEOCODE_TIMEOUT_S": "5",
        "ASSETMAP_GEOCODE_RETRIES": "2",
        "ASSETMAP_USER_AGENT": "assetmap-tests/0.1 (test suite; tests@example.org)",
        "ASSETMAP_NOMINATIM_MIN_INTERVAL_S": "1.0",
    }
    if server is not None:
        env["ASSETMAP_CENSUS_GEOCODER_URL"] = server.url
        env["ASSETMAP_NOMINATIM_URL"] = server.url
    env.update({f"ASSETMAP_{k.upper()}": str(v) for k, v in extra.items()})
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    data._gazetteer.cache_clear()
