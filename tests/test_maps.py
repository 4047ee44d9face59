"""Folium builders: escaping of every data string, links, layers, scale (RELIABILITY.md §1.1)."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from _frames import boundaries, gaps, network, partners, schools

from assetmap.maps import escape_text, family_map, network_map, partner_map, safe_url, tel_href

RAW_PAYLOADS = [
    "<script>alert(1)</script>",
    "${alert(document.domain)}",
    "</script><script>",
    'onerror="alert(3)"',
    "`${alert(4)}`",
    "javascript:alert(1)",
]


@pytest.fixture(autouse=True)
def _without_vendored_libraries(monkeypatch):
    """These tests read the map's own script; the inlined Leaflet code (its own ``NaN``,
    ``bindPopup(``, ``L.tileLayer(``) is left out here and tested in
    tests/test_template_injection.py and tests/e2e/test_map_assets.py."""
    import assetmap.maps as maps

    monkeypatch.setattr(maps, "_inline_assets", lambda: "<!-- vendored map libraries -->")


def _assert_no_payload(html: str) -> None:
    for p in RAW_PAYLOADS:
        assert p not in html, p
    # The escaped forms are what reach the page.
    assert "alert(document.domain)" in html  # present, but only escaped
    assert "${alert" not in html
    assert 'href="javascript' not in html.lower()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("${x}", "&#36;&#123;x&#125;"),
        ("{{ 7*191 }}", "&#123;&#123; 7*191 &#125;&#125;"),
        ("`a`", "&#96;a&#96;"),
        ("a\\b", "a&#92;b"),
        ("\"q\" 's'", "&quot;q&quot; &#x27;s&#x27;"),
        ("Tom & Jerry", "Tom &amp; Jerry"),
        (None, ""),
        (float("nan"), ""),
        (12, "12"),
    ],
)
def test_escape_text(raw, expected):
    assert escape_text(raw) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.org/a?b=1", "https://example.org/a?b=1"),
        ("http://example.org", "http://example.org"),
        ("www.example.org/x", "https://www.example.org/x"),
        ("javascript:alert(1)", None),
        ("JaVaScRiPt:alert(1)", None),
        ("data:text/html,<script>alert(1)</script>", None),
        ("vbscript:msgbox", None),
        ("ftp://example.org", None),
        ("https://", None),
        ("https://exa mple.org", None),
        ("java\tscript:alert(1)", None),
        ("", None),
        (None, None),
        (float("nan"), None),
    ],
)
def test_safe_url(url, expected):
    assert safe_url(url) == expected


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("(860) 555-0101", "tel:+18605550101"),
        ("+1 860 555 0103", "tel:+18605550103"),
        ("1-860-555-0100 x12", "tel:+18605550100"),
        ('=HYPERLINK("http://x")', None),
        ("-2", None),
        (None, None),
    ],
)
def test_tel_href(phone, expected):
    assert tel_href(phone) == expected


def test_partner_map_escapes_every_payload_and_keeps_attribution():
    m = partner_map(
        partners(),
        schools=schools(),
        boundaries=boundaries(),
        gaps=gaps(),
        network=network(),
        reach_circle=(41.76, -72.69, 5.0),
    )
    html = m.get_root().render()
    _assert_no_payload(html)
    assert "OpenStreetMap" in html and "contributors" in html
    # Escaped name travels as JSON text (\u0026 is & inside the script block).
    assert "\\u0026lt;script\\u0026gt;alert(1)\\u0026lt;/script\\u0026gt; Clinic" in html
    # Layers per category, one cluster group, school and boundary layers.
    assert html.count("L.featureGroup.subGroup(") == 4
    assert html.count("L.markerClusterGroup(") == 1
    assert "Schools by gaps" in html
    assert "Districts" in html and "Towns" in html
    # No folium Popup/Tooltip object per marker.
    assert "bindPopup(" not in html.replace("assetmap", "")  # only the lazy helper opens popups
    assert "L.circle(" in html  # reach circle


def test_partner_map_drops_bad_coordinates_and_unpublished_when_public():
    p = partners()
    p.loc[0, "geometry"] = None
    p.loc[1, "published"] = False
    p.loc[3, "sensitive"] = True
    m = partner_map(p, public=True)
    html = m.get_root().render()
    rows = _rows(html)
    names = [r[4] for r in rows]
    assert "Hartford Food Pantry" not in names  # no location
    assert not any("Clinic" in n for n in names)  # unpublished
    strings = json.dumps(_strings(html))
    assert "Parent Center" not in html and "Oak Ave" not in strings  # sensitive: not plotted
    assert "Clinic" not in html and "sliding" not in strings  # unpublished: nothing at all
    assert names == ["=cmd|&#x27; /C calc&#x27;!A0"]


def test_nonfinite_coordinates_never_reach_the_page():
    df = pd.DataFrame(
        {
            "name": ["a", "b", "c"],
            "category": ["library"] * 3,
            "lat": [41.7, float("inf"), 95.0],
            "lon": [-72.7, -72.7, -72.7],
        }
    )
    html = partner_map(df).get_root().render()
    assert "Infinity" not in html and "NaN" not in html
    assert len(_rows(html)) == 1


def _rows(html: str) -> list:
    out = []
    for m in re.finditer(r"var rows = (\[.*?\]);\n", html):
        out += json.loads(m.group(1))
    return out


def _strings(html: str) -> list:
    out = []
    for m in re.finditer(r"var assetmap_style_\w+ = (\{.*?\});\n", html):
        out += json.loads(m.group(1))["str"]
    return out


def test_popup_fields_are_escaped_and_links_safe():
    html = partner_map(partners()).get_root().render()
    strings = _strings(html)
    flat = json.dumps(strings)
    assert "https://food.example.org" in flat
    assert "https://www.library.example.org" in flat
    assert "javascript" not in flat
    assert ["(860) 555-0101", "tel:+18605550101"] in strings
    # A formula-looking phone has no tel: link and is escaped text.
    assert ["=HYPERLINK(&quot;http://evil.example&quot;,&quot;x&quot;)", ""] in strings
    for s in strings:
        for part in s if isinstance(s, list) else [s]:
            assert "<" not in part and ">" not in part and "${" not in part


def test_example_and_stale_flags():
    rows = {r[4]: r for r in _rows(partner_map(partners()).get_root().render())}
    assert rows["=cmd|&#x27; /C calc&#x27;!A0"][3] & 1  # example partner
    assert rows["=cmd|&#x27; /C calc&#x27;!A0"][3] & 2  # never verified -> stale
    assert rows["Hartford Food Pantry"][3] == 0


def test_zip_and_town_placements_are_drawn_as_approximate():
    p = partners()
    p["geocode_quality"] = "exact"
    p.loc[p["name"] == "Hartford Food Pantry", "geocode_quality"] = "zip"
    html = partner_map(p).get_root().render()
    rows = {r[4]: r for r in _rows(html)}
    assert rows["Hartford Food Pantry"][3] & 4  # ZIP-area point: dashed, lighter, said so
    assert not any(r[3] & 4 for name, r in rows.items() if name != "Hartford Food Pantry")
    assert "Approximate location: the point is the ZIP or town area" in html
    assert "approx ? '2,3'" in html  # the marker style that draws it differently


def test_network_map_lines_and_escaping():
    html = network_map(network(), boundaries=boundaries()).get_root().render()
    _assert_no_payload(html)
    m = re.search(r"assetmap\.lines\((\[.*?\]), s\)", html)
    lines = json.loads(m.group(1))
    assert len(lines) == 3  # lead + lead + backup; gaps draw no line
    assert sorted(r[4] for r in lines) == [0, 0, 1]


def test_network_map_rejects_wrong_frame():
    with pytest.raises(ValueError, match="lacks columns"):
        network_map(pd.DataFrame({"school_id": ["s1"]}))


def test_family_map_small_and_public():
    res = partners().assign(distance_km=[0.5, 1.0, 2.5, 3.0])
    res.loc[3, "published"] = False
    html = family_map(res, (41.76, -72.69), language="es").get_root().render()
    _assert_no_payload(html)
    assert "L.markerClusterGroup(" not in html
    assert len(_rows(html)) == 3
    with pytest.raises(ValueError, match="center"):
        family_map(res, (200, 0))


def test_partner_map_rejects_bad_arguments():
    with pytest.raises(TypeError, match="partners must be"):
        partner_map([1, 2])
    with pytest.raises(ValueError, match="reach_circle"):
        partner_map(partners(), reach_circle=(1, 2))


def test_fifty_thousand_points_stay_one_layer_each(tmp_path):
    rng = np.random.default_rng(1)
    n = 50_000
    cats = ["health", "library", "faith", "human_services"]
    gdf = gpd.GeoDataFrame(
        {
            "name": [f"Partner {i}" for i in range(n)],
            "category": [cats[i % 4] for i in range(n)],
            "services": [["food"]] * n,
            "languages": [["en", "es"]] * n,
            "phone": ["860-555-0100"] * n,
            "hours": ["9-5"] * n,
        },
        geometry=gpd.points_from_xy(-73.6 + rng.random(n) * 1.8, 41.0 + rng.random(n)),
        crs=4326,
    )
    html = partner_map(gdf).get_root().render()
    assert len(_rows(html)) == n
    assert html.count("L.featureGroup.subGroup(") == 4
    assert len(html) < 6_000_000  # ~100 bytes a point, strings sent once


def test_cluster_is_filled_once_after_its_subgroups_and_fit_comes_first():
    html = partner_map(partners(), schools=schools()).get_root().render()
    cluster = re.search(r"var (marker_cluster_\w+) = L\.markerClusterGroup", html).group(1)
    last_sub = html.rfind("L.featureGroup.subGroup(")
    queue = html.find("_amQueue = c.addLayers")
    added = html.find(f"}})({cluster}, map_")
    assert 0 < queue < html.find("L.featureGroup.subGroup(") and last_sub < added
    assert f"{cluster}.addTo(" not in html  # only the deferred c.addTo(m)
    fit = html.find(".fitBounds(")
    assert 0 < fit < queue and "animate: false" in html[fit : fit + 200]


def test_public_maps_never_plot_sensitive_sites():
    p = partners()
    p.loc[0, "sensitive"] = True
    names = [r[4] for r in _rows(family_map(p, (41.76, -72.69)).get_root().render())]
    assert "Hartford Food Pantry" not in names and len(names) == 3
    staff = [r[4] for r in _rows(partner_map(p).get_root().render())]
    assert "Hartford Food Pantry" in staff


def test_tile_source_comes_from_settings_and_falls_back_to_a_plain_map(monkeypatch):
    from assetmap.settings import get_settings

    monkeypatch.setenv("ASSETMAP_MAP_TILES", "https://tiles.example.org/{z}/{x}/{y}.png")
    get_settings.cache_clear()
    try:
        html = partner_map(partners()).get_root().render()
        assert "https://tiles.example.org/{z}/{x}/{y}.png" in html
        assert "tile.openstreetmap.org" not in html
        # the first tile error drops the layer and shows a plain background
        assert "tileerror" in html and "am-no-tiles" in html
        monkeypatch.setenv("ASSETMAP_MAP_TILES", "")
        get_settings.cache_clear()
        html = partner_map(partners()).get_root().render()
        assert "L.tileLayer(" not in html and "plain();" in html
    finally:
        get_settings.cache_clear()
