"""Big maps in a real browser (issue 7): time until a partner map is interactive.

Maps of 1,000 / 10,000 / 50,000 synthetic partners are built with
:func:`assetmap.maps.partner_map`, saved as HTML and served from a local ``http.server``.
Headless Debian Chromium (Playwright) opens each page; the JavaScript and CSS that folium
loads from CDNs (unreachable here) are answered from local copies of the npm packages
(``npm pack`` into ``var/bench_cache/npm`` on first use). Map tiles are answered with an
empty image (tiles load asynchronously and never gate interaction).

Time to interactive = navigation start -> the Leaflet map is loaded AND every partner
marker is in its layer (the sum over marker-cluster groups / feature groups of their
layers reaches the number of partners) AND the next animation frame has run. A zoom-in
(``setZoom`` -> ``zoomend`` -> next frame) is measured too. Baselines are not meaningful
here (no "plain" alternative runs in the same page budget); the target is < 3 s at 50,000.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import logging
import shutil
import subprocess
import tarfile
import tempfile
import threading
import time
from pathlib import Path

from benchmarks import synth
from benchmarks._harness import Result

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "var" / "bench_cache" / "npm"
CHROMIUM = "/usr/bin/chromium"
CHROME_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# npm package (version) -> files folium's pages ask for, by URL file name
NPM = {
    "leaflet@1.9.3": {"leaflet.js": "dist/leaflet.js", "leaflet.css": "dist/leaflet.css"},
    "leaflet.markercluster@1.1.0": {
        "leaflet.markercluster.js": "dist/leaflet.markercluster.js",
        "MarkerCluster.css": "dist/MarkerCluster.css",
        "MarkerCluster.Default.css": "dist/MarkerCluster.Default.css",
    },
    "leaflet.featuregroup.subgroup@1.0.2": {
        "leaflet.featuregroup.subgroup.js": "dist/leaflet.featuregroup.subgroup.js"
    },
    "jquery@3.7.1": {"jquery-3.7.1.min.js": "dist/jquery.min.js"},
    "bootstrap@5.2.2": {
        "bootstrap.bundle.min.js": "dist/js/bootstrap.bundle.min.js",
        "bootstrap.min.css": "dist/css/bootstrap.min.css",
    },
    "drmonty-leaflet-awesome-markers@2.0.2": {
        "leaflet.awesome-markers.js": "js/leaflet.awesome-markers.js",
        "leaflet.awesome-markers.css": "css/leaflet.awesome-markers.css",
    },
}
SIZES = (1_000, 10_000, 50_000)
_PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d"
    "49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)

_READY_JS = """
(n) => {
  const maps = [], groups = [];
  for (const k of Object.keys(window)) {
    let v; try { v = window[k]; } catch (e) { continue; }
    if (!v || typeof v !== 'object') continue;
    if (window.L && v instanceof L.Map) maps.push(v);
    else if (window.L && L.MarkerClusterGroup && v instanceof L.MarkerClusterGroup) groups.push(v);
  }
  if (!maps.length || !maps[0]._loaded) return false;
  let total = 0;
  if (groups.length) { for (const g of groups) total += g.getLayers().length; }
  else { maps[0].eachLayer(l => { if (l instanceof L.CircleMarker) total += 1; }); }
  return total >= n;
}
"""


def _local_files() -> dict[str, Path]:
    """URL file name -> local file (npm pack into the cache on first use)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    for spec, files in NPM.items():
        name, version = spec.rsplit("@", 1)
        pkg_dir = CACHE / f"{name}-{version}"
        if not pkg_dir.exists():
            tgz = CACHE / f"{name}-{version}.tgz"
            if not tgz.exists():
                subprocess.run(
                    ["npm", "pack", spec, "--silent"],
                    cwd=CACHE,
                    check=True,
                    capture_output=True,
                    timeout=180,
                )
            tmp = Path(tempfile.mkdtemp(dir=CACHE))
            with tarfile.open(tgz) as tf:
                tf.extractall(tmp, filter="data")
            shutil.move(str(tmp / "package"), pkg_dir)
            shutil.rmtree(tmp, ignore_errors=True)
        for url_name, rel in files.items():
            out[url_name] = pkg_dir / rel
    return out


@contextlib.contextmanager
def _serve(directory: Path):
    handler = functools.partial(_QuietHandler, directory=str(directory))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # noqa: D102 - keep benchmark output clean
        pass


def _build(n: int, directory: Path) -> tuple[Path, float, int]:
    from assetmap.maps import partner_map

    _, partners = synth.statewide(n_partners=n, seed=3)
    t0 = time.perf_counter()
    m = partner_map(partners)
    path = directory / f"partners_{n}.html"
    m.save(str(path))
    build_s = time.perf_counter() - t0
    return path, build_s, path.stat().st_size


def run(sizes: tuple[int, ...] = SIZES, repeat: int = 3) -> list[Result]:
    from playwright.sync_api import sync_playwright

    out: list[Result] = []
    files = _local_files()
    unserved: set[str] = set()
    with tempfile.TemporaryDirectory() as td, _serve(Path(td)) as base:
        pages = {n: _build(n, Path(td)) for n in sizes}
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS)
            try:
                for n in sizes:
                    path, build_s, size = pages[n]
                    out.append(Result(f"map_build_partner_map_{n}", build_s, "s"))
                    out.append(Result(f"map_html_size_{n}", size / 1e6, "MB"))
                    tti, zoom = [], []
                    for _ in range(repeat):
                        ctx = browser.new_context(viewport={"width": 1280, "height": 800})
                        page = ctx.new_page()

                        def route(r, _request=None):
                            url = r.request.url
                            if url.startswith(base):
                                return r.continue_()
                            fname = url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
                            local = files.get(fname)
                            if local is not None and local.exists():
                                return r.fulfill(path=str(local))
                            if fname.endswith(".png") or "tile" in url:
                                return r.fulfill(body=_PNG_1PX, content_type="image/png")
                            unserved.add(url.split("?")[0])
                            ctype = "text/css" if fname.endswith(".css") else "text/javascript"
                            return r.fulfill(body="", content_type=ctype)

                        page.route("**/*", route)
                        page.goto(f"{base}/{path.name}", wait_until="commit")
                        page.wait_for_function(_READY_JS, arg=n, timeout=120_000, polling=20)
                        page.evaluate("() => new Promise(r => requestAnimationFrame(() => r()))")
                        t_ready = page.evaluate("() => performance.now()")
                        tti.append(t_ready / 1000.0)
                        z = page.evaluate(
                            """() => new Promise(res => {
                                 let m = null;
                                 for (const k of Object.keys(window)) {
                                   try { if (window[k] instanceof L.Map) { m = window[k]; break; } }
                                   catch (e) {}
                                 }
                                 const t0 = performance.now();
                                 m.once('zoomend', () => requestAnimationFrame(
                                   () => res(performance.now() - t0)));
                                 m.setZoom(m.getZoom() + 1, {animate: false});
                               })"""
                        )
                        zoom.append(z / 1000.0)
                        ctx.close()
                    tti.sort()
                    zoom.sort()
                    out.append(
                        Result(
                            f"map_time_to_interactive_{n}",
                            tti[len(tti) // 2],
                            "s",
                            note="median; target < 3 s at 50,000",
                        )
                    )
                    out.append(Result(f"map_zoom_in_{n}", zoom[len(zoom) // 2], "s", note="median"))
            finally:
                browser.close()
    if unserved:
        log.warning("not served (answered empty): %s", ", ".join(sorted(unserved)))
        out.append(
            Result(
                "map_cdn_files_not_served",
                float(len(unserved)),
                "n",
                note="answered empty: " + ", ".join(sorted(u.rsplit("/", 1)[-1] for u in unserved)),
            )
        )
    return out


def run_statewide(repeat: int = 3) -> list[Result]:
    """The app's statewide District map on the shipped Connecticut data (every partner,
    every school, the district boundaries), with tiles refused: time until every partner is
    in its cluster and a frame has been drawn (issue 14: < 3 s)."""
    import geopandas as gpd
    from playwright.sync_api import sync_playwright

    from assetmap.data import load_partners, load_schools
    from assetmap.maps import partner_map
    from assetmap.settings import get_settings

    files = _local_files()
    partners, schools = load_partners(), load_schools()
    districts = gpd.read_file(get_settings().data_dir / "ct" / "districts.geojson")
    out: list[Result] = []
    with tempfile.TemporaryDirectory() as td, _serve(Path(td)) as base:
        t0 = time.perf_counter()
        m = partner_map(partners, schools=schools, boundaries=[districts])
        path = Path(td) / "statewide.html"
        m.save(str(path))
        out.append(Result("statewide_map_build", time.perf_counter() - t0, "s"))
        out.append(Result("statewide_map_html_size", path.stat().st_size / 1e6, "MB"))
        n = int((partners["published"].fillna(True).astype(bool) & partners.geometry.notna()).sum())
        tti = []
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS)
            try:
                for _ in range(repeat):
                    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
                    page = ctx.new_page()

                    def route(r, _request=None):
                        url = r.request.url
                        if url.startswith(base):
                            return r.continue_()
                        local = files.get(url.split("?")[0].rstrip("/").rsplit("/", 1)[-1])
                        if local is not None and local.exists():
                            return r.fulfill(path=str(local))
                        return r.abort()  # tiles and anything else external: offline

                    page.route("**/*", route)
                    page.goto(f"{base}/{path.name}", wait_until="commit")
                    page.wait_for_function(_READY_JS, arg=min(n, 1500), timeout=120_000, polling=20)
                    page.evaluate("() => new Promise(r => requestAnimationFrame(() => r()))")
                    tti.append(page.evaluate("() => performance.now()") / 1000.0)
                    ctx.close()
            finally:
                browser.close()
    tti.sort()
    out.append(
        Result(
            "statewide_map_time_to_interactive",
            tti[len(tti) // 2],
            "s",
            note=f"median of {repeat}; {len(partners)} partners, {len(schools)} schools; "
            "target < 3 s",
        )
    )
    return out


def run_all() -> list[Result]:
    return run() + run_statewide()


def run_quick() -> list[Result]:
    return run(sizes=(1_000, 10_000), repeat=1) + run_statewide(repeat=1)
