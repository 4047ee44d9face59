"""Issue 10 (4): maps load Leaflet and its plugins from the page itself, never from a CDN.

Each map document is opened in Chromium with every network request blocked and recorded.
The map must still draw (Leaflet, clustering and the sub-group plugin are inlined), and the
only requests may be background tiles from the configured tile server. A family map centred
on a home address asks for no tiles at all.
"""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _frames import boundaries, network, partners, schools  # noqa: E402

from assetmap.maps import family_map, network_map, partner_map  # noqa: E402
from assetmap.settings import get_settings  # noqa: E402

pytestmark = pytest.mark.browser


def _open_offline(browser, html: str, tmp_path: Path) -> tuple[list[str], dict]:
    doc = tmp_path / "map.html"
    doc.write_text(html, encoding="utf-8")
    ctx = browser.new_context(viewport={"width": 900, "height": 700})
    requests: list[str] = []

    def route(r, _request=None):
        url = r.request.url
        if url.startswith(("file:", "data:", "about:")):
            return r.continue_()
        requests.append(url)
        return r.abort()

    ctx.route("**/*", route)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(doc.as_uri())
    page.wait_for_function("window.L !== undefined && document.querySelector('.leaflet-container')")
    page.wait_for_timeout(800)
    state = page.evaluate(
        """() => ({
            leaflet: L.version,
            cluster: typeof L.markerClusterGroup,
            subgroup: typeof L.featureGroup.subGroup,
            canvases: document.querySelectorAll('.leaflet-container canvas').length,
            clusters: document.querySelectorAll('.marker-cluster').length,
            layers_icon: getComputedStyle(document.querySelector('.leaflet-control-layers-toggle')
                || document.body).backgroundImage,
        })"""
    )
    ctx.close()
    assert not errors, errors
    return requests, state


def test_staff_maps_draw_with_every_request_blocked(browser, tmp_path):
    tile_host = urlsplit(get_settings().map_tiles.replace("{s}", "a")).hostname
    for m in (
        partner_map(partners(), schools=schools(), boundaries=boundaries(), network=network()),
        network_map(network(), boundaries=boundaries()),
    ):
        requests, state = _open_offline(browser, m.get_root().render(), tmp_path)
        assert state["leaflet"] == "1.9.3"
        assert state["cluster"] == "function" and state["subgroup"] == "function"
        assert state["canvases"] >= 1  # the points and lines were drawn
        hosts = {urlsplit(u).hostname for u in requests}
        assert hosts <= {tile_host}, hosts  # tiles only, from the configured server


def test_layer_control_icon_is_inlined(browser, tmp_path):
    requests, state = _open_offline(browser, partner_map(partners()).get_root().render(), tmp_path)
    assert state["layers_icon"].startswith('url("data:image/png;base64,')


def test_family_map_around_a_home_sends_nothing_anywhere(browser, tmp_path):
    res = partners().assign(published=True, sensitive=False, distance_km=1.0)
    m = family_map(res, (41.7655, -72.6737), tiles=False)
    requests, state = _open_offline(browser, m.get_root().render(), tmp_path)
    assert requests == []
    assert state["canvases"] >= 1
