"""Issue 10 (1): partner data never reaches a template engine.

folium/branca compile every rendered map script a second time as a Jinja template, so a
partner named ``Food Hub {{ 7*191 }}`` used to render as "Food Hub 1337", ``{{lipsum...}}``
ran Python on the server and ``{#`` broke every map. Every map builder is run here over a
corpus of template payloads placed in every string that reaches a map; each payload must
arrive as literal text and nothing may run.
"""

from __future__ import annotations

import html as htmllib
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from _frames import boundaries, gaps, network, partners, schools

from assetmap.maps import family_map, network_map, partner_map


def _corpus(tmp: Path) -> list[str]:
    """Template payloads; the ``lipsum`` one would create ``tmp/pwned`` if evaluated."""
    target = str(tmp / "pwned")
    return [
        "Food Hub {{ 7*191 }}",
        "{{lipsum.__globals__.os.mkdir('" + target + "')}}",
        "{% for x in range(3) %}LOOP{% endfor %}",
        "{# unterminated comment",
        "{{ config }} {{ self }}",
        "{%raw%}{{ 7*191 }}{%endraw%}",
        "}} {% endmacro %} {{",
        "{{ '%c'|format(60) }}script",
        "{{ 'EVAL' ~ 'UATED' }}",
    ]


def _shown(html: str) -> str:
    """What a browser would show: JSON ``\\uXXXX`` escapes decoded, then HTML entities."""
    dec = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), html)
    return htmllib.unescape(htmllib.unescape(dec))


def _hostile_frames(p: str):
    part = partners()
    for col in ("name", "organization", "address", "city", "hours", "phone", "eligibility"):
        part[col] = [f"{p} {col} {i}" for i in range(len(part))]
    part["website"] = "https://example.org/" + p.replace(" ", "")
    part["category"] = [p, "human_services", "health"][: len(part)] + ["health"] * max(
        0, len(part) - 3
    )
    sch = schools()
    sch["name"] = [f"{p} school {i}" for i in range(len(sch))]
    if "district_name" in sch.columns:
        sch["district_name"] = p
    bnd = boundaries()
    bnd["name"] = [f"{p} boundary {i}" for i in range(len(bnd))]
    gp = gaps()
    if "families_display" in gp.columns:
        gp["families_display"] = p
    net = network()
    for col in ("partner_name", "school_name", "need_label", "phone", "address", "hours"):
        if col in net.columns:
            net[col] = p
    return part, sch, bnd, gp, net


def _builders(p: str):
    part, sch, bnd, gp, net = _hostile_frames(p)
    res = part.assign(published=True, sensitive=False, distance_km=1.2)
    return {
        "partner_map": lambda: partner_map(part, schools=sch, boundaries=bnd, gaps=gp, network=net),
        "partner_map_reach": lambda: partner_map(
            part, schools=sch, reach_circle=(41.76, -72.68, 3)
        ),
        "partner_map_public": lambda: partner_map(part, public=True, layers_by_category=False),
        "network_map": lambda: network_map(net, boundaries=bnd, gaps=gp),
        "family_map": lambda: family_map(res, (41.76, -72.69), language="en", radius_km=5),
        "family_map_es": lambda: family_map(res, (41.76, -72.69), language="es"),
    }


@pytest.mark.parametrize("builder", list(_builders("x")))
def test_every_map_builder_shows_template_payloads_as_literal_text(builder, tmp_path):
    for p in _corpus(tmp_path):
        m = _builders(p)[builder]()
        html = m.get_root().render()  # ``{#`` used to raise TemplateSyntaxError here
        shown = _shown(html)
        assert p in shown, (builder, p)  # arrives literally, once decoded by the browser
        assert "Hub 1337" not in shown and "EVALUATED" not in html, (builder, p)
        assert "LOOPLOOP" not in html, (builder, p)
        assert "<Config" not in html and "TemplateReference" not in html, (builder, p)
        # no raw Jinja opener survives in the page source at all
        for tok in ("{{ 7", "{{lipsum", "{% for", "{# unterminated", "{%raw"):
            assert tok not in html, (builder, p, tok)
    assert not (tmp_path / "pwned").exists()


def test_streamlit_folium_rendering_path_is_inert_too(tmp_path):
    """st_folium re-renders the map and reads the figure's script (the Find help path)."""
    from streamlit_folium import _get_map_string

    for p in _corpus(tmp_path):
        m = _builders(p)["family_map"]()
        m.get_root().render()
        script = _get_map_string(m)
        assert "Hub 1337" not in script and "LOOPLOOP" not in script
        assert "EVALUATED" not in script
        assert p in _shown(script)
    assert not (tmp_path / "pwned").exists()


def test_payloads_in_point_rows_are_valid_json():
    m = partner_map(_hostile_frames("{{ 7*191 }} {% x %} {# y")[0])
    html = m.get_root().render()
    arrays = re.findall(r"var rows = (\[.*?\]);\n", html)
    assert arrays
    for a in arrays:
        rows = json.loads(a)
        assert any("&#123;&#123; 7*191 &#125;&#125;" in str(r) for r in rows)


def test_family_map_of_a_name_with_comment_opener_renders():
    res = pd.DataFrame(
        [{"name": "Pantry {#", "lat": 41.76, "lon": -72.68, "published": True, "sensitive": False}]
    )
    html = family_map(res, (41.76, -72.69)).get_root().render()
    assert "Pantry {#" in _shown(html)


# --------------------------------------------------------------------------- issue 10 (4)
@pytest.mark.parametrize("builder", list(_builders("x")))
def test_no_map_loads_a_script_or_style_from_elsewhere(builder):
    html = _builders("plain")[builder]().get_root().render()
    assert not re.search(r"<script[^>]+src=", html), builder
    assert not re.search(r"<link[^>]+href=", html), builder
    for cdn in ("cdn.jsdelivr.net", "cdnjs.cloudflare.com", "code.jquery.com", "unpkg.com"):
        assert cdn not in html, (builder, cdn)
    assert "L.markerClusterGroup" in html and "Leaflet 1.9.3" in html  # inlined


def test_family_map_around_a_home_has_no_tile_layer():
    from urllib.parse import urlsplit

    from assetmap.settings import get_settings

    host = urlsplit(get_settings().map_tiles.replace("{s}", "a")).hostname
    res = partners().assign(published=True, sensitive=False)
    assert host in family_map(res, (41.76, -72.69)).get_root().render()
    assert host not in family_map(res, (41.76, -72.69), tiles=False).get_root().render()
