"""End-to-end fixtures: a real ``streamlit run app.py`` on 127.0.0.1 and Debian Chromium.

The server runs on a test-only copy of ``data/`` (``ASSETMAP_DATA_DIR``) that adds one
partner whose name and description carry script payloads, and on a temporary secrets file
holding two local staff accounts. Screenshots go to ``artifacts/screenshots/``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
XSS_NAME = "<img src=x onerror=alert(1)> <script>window.__pwned=1</script>"
XSS_ID = "TEST-XSS-1"
SHELTER_ID = "TEST-SHELTER-1"
SHELTER_NAME = "Example: E2E Safe Haven Shelter (fictional)"
#: A point inside Hartford ZIP 06106 (Frog Hollow), so a 06106 food search finds it.
XSS_POINT = (-72.6869, 41.7568)
PASSWORDS = {
    "coord": "coord-pass-e2e-1",
    "leader": "leader-pass-e2e-1",
    "admin": "admin-pass-e2e-1",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"streamlit did not answer {url} within {timeout}s")


@pytest.fixture(scope="session")
def e2e_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of data/ with one extra published food partner named with script payloads."""
    d = tmp_path_factory.mktemp("e2e") / "data"
    shutil.copytree(ROOT / "data", d)
    path = d / "ct" / "partners.geojson"
    fc = json.loads(path.read_text(encoding="utf-8"))
    props = {k: None for k in fc["features"][0]["properties"]}
    props.update(
        {
            "partner_id": XSS_ID,
            "name": XSS_NAME,
            "organization": XSS_NAME,
            "category": "human_services",
            "services": "food;food.pantry",
            "languages": "en;es",
            "address": "<b>1 Park St</b>",
            "city": "Hartford",
            "state": "CT",
            "postal_code": "06106",
            "phone": "860-555-0199",
            "hours": "<script>window.__pwned=2</script>",
            "description": "<img src=x onerror=alert(2)>",
            "website": "javascript:alert(3)",
            "published": True,
            "sensitive": False,
            "example": True,
            "source": "EXAMPLE (fictional) e2e test payload",
        }
    )
    fc["features"].append(
        {
            "type": "Feature",
            "properties": props,
            "geometry": {"type": "Point", "coordinates": list(XSS_POINT)},
        }
    )
    # a fictional safe haven next to Burns Latino Studies Academy (0640611): sensitive, so
    # every family-facing output shows it by phone only (no address, point or distance)
    shelter = {k: None for k in fc["features"][0]["properties"]}
    shelter.update(
        {
            "partner_id": SHELTER_ID,
            "name": SHELTER_NAME,
            "category": "human_services",
            "services": "safety;safety.domestic_violence;housing;housing.shelter",
            "languages": "en;es",
            "address": "12 Hidden Lane",
            "city": "Hartford",
            "state": "CT",
            "postal_code": "06106",
            "phone": "860-555-0145",
            "hours": "24/7 hotline",
            "published": True,
            "sensitive": True,
            "example": True,
            "source": "EXAMPLE (fictional) e2e safe haven",
        }
    )
    fc["features"].append(
        {
            "type": "Feature",
            "properties": shelter,
            "geometry": {"type": "Point", "coordinates": [-72.6915, 41.7620]},
        }
    )
    path.write_text(json.dumps(fc), encoding="utf-8")
    return d


@pytest.fixture(scope="session")
def e2e_school() -> dict:
    """A Hartford school with survey responses: the coordinator's school, the leader's district."""
    import pandas as pd

    from assetmap.data import load_schools, survey_path

    sch = load_schools()
    surveyed = set(pd.read_csv(survey_path(), dtype=str, usecols=["school_id"])["school_id"])
    hf = sch[(sch["town"].astype(str) == "Hartford") & sch["school_id"].isin(surveyed)]
    row = hf.sort_values("name").iloc[0]
    return {"school_id": str(row["school_id"]), "district_id": str(row["district_id"]),
            "name": str(row["name"])}  # fmt: skip


@pytest.fixture(scope="session")
def accounts(e2e_school: dict) -> dict:
    """username -> password of the two staff accounts in the server's secrets."""
    return dict(PASSWORDS)


@pytest.fixture(scope="session")
def secrets_file(tmp_path_factory: pytest.TempPathFactory, e2e_school: dict) -> Path:
    """A secrets.toml with local staff accounts (salted hashes, never plain passwords)."""
    from assetmap.auth import accounts_toml

    path = tmp_path_factory.mktemp("secrets") / "secrets.toml"
    spec = {
        "coord": ("coordinator", PASSWORDS["coord"], [e2e_school["school_id"]], []),
        "leader": ("leader", PASSWORDS["leader"], [], [e2e_school["district_id"]]),
        "admin": ("admin", PASSWORDS["admin"], [], []),
    }
    path.write_text(accounts_toml(spec), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def app_url(e2e_data_dir: Path, secrets_file: Path, tmp_path_factory: pytest.TempPathFactory):
    """Start ``streamlit run app.py`` on a free port; yield its URL; stop it."""
    port = _free_port()
    var = tmp_path_factory.mktemp("var")
    env = os.environ.copy()
    env.update(
        {
            "ASSETMAP_DATA_DIR": str(e2e_data_dir),
            "ASSETMAP_STORE_URL": str(var / "assetmap.gpkg"),
            "ASSETMAP_GEOCODE_CACHE_PATH": str(var / "geocode.sqlite"),
            # an address search must never leave the machine in tests
            "ASSETMAP_CENSUS_GEOCODER_URL": "http://127.0.0.1:9",
            "ASSETMAP_NOMINATIM_URL": "http://127.0.0.1:9",
        }
    )
    log = open(var / "streamlit.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
            "--server.headless", "true",
            "--server.port", str(port),
            "--server.address", "127.0.0.1",
            "--server.fileWatcherType", "none",
            "--secrets.files", str(secrets_file),
            "--global.developmentMode", "false",
        ],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(url + "/_stcore/health", proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        print(f"streamlit log: {var / 'streamlit.log'}")


@pytest.fixture(scope="session")
def browser():
    """Debian Chromium driven by Playwright."""
    for old in SHOTS.glob("FAILED_*.png"):
        old.unlink()
    if not Path(CHROMIUM).exists():
        raise RuntimeError(
            f"{CHROMIUM} missing: run scripts/install_system_deps.sh (make test does)"
        )
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def _serve_map_assets_locally(ctx) -> None:
    """Answer the CDN requests of the folium maps (Leaflet, clustering) from local npm copies.

    This machine has no internet, so without this the map iframes stay blank in screenshots.
    Tiles get a blank image (the map shows markers and boundaries on a plain background).
    If the npm copies cannot be had, maps stay blank and the journeys still run.
    """
    from benchmarks.bench_browser import _PNG_1PX, _local_files

    try:
        files = _local_files()
    except Exception as exc:  # npm registry unreachable: maps stay blank, nothing else changes
        print(f"map assets not served locally ({exc}); map iframes will be blank")
        return

    def route(r, _request=None):
        url = r.request.url
        if url.startswith(("http://127.0.0.1", "http://localhost")):
            return r.continue_()
        fname = url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
        local = files.get(fname)
        if local is not None and local.exists():
            return r.fulfill(path=str(local))
        if fname.endswith(".png") or "tile" in url:
            return r.fulfill(body=_PNG_1PX, content_type="image/png")
        ctype = "text/css" if fname.endswith(".css") else "text/javascript"
        return r.fulfill(body="", content_type=ctype)

    ctx.route("**/*", route)


@pytest.fixture
def page(browser, request):
    """A fresh context+page; dialogs are recorded (an XSS alert would land here)."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 2000}, accept_downloads=True)
    _serve_map_assets_locally(ctx)
    pg = ctx.new_page()
    pg.dialogs = []  # type: ignore[attr-defined]
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))  # type: ignore[attr-defined]
    yield pg
    ctx.close()


@pytest.fixture
def shot():
    """``shot(page, name)``: a full-page screenshot in artifacts/screenshots/ (path printed)."""

    def take(page, name: str) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        print(f"screenshot: {path}")
        return path

    return take


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failed browser test, keep a screenshot of the page as it was."""
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" and rep.failed:
        pg = item.funcargs.get("page")
        if pg is not None:
            SHOTS.mkdir(parents=True, exist_ok=True)
            path = SHOTS / f"FAILED_{item.name}.png"
            try:
                pg.screenshot(path=str(path), full_page=True)
                print(f"failure screenshot: {path}")
            except Exception:  # noqa: BLE001 - the page may be gone
                pass


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """List the screenshots of this run at the end of the test report (CI logs show them)."""
    shots = sorted(SHOTS.glob("*.png")) if SHOTS.exists() else []
    if shots:
        terminalreporter.section("browser screenshots")
        for p in shots:
            terminalreporter.write_line(str(p))
