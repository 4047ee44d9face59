"""The app's helpers in ui/: escaping of result cards, role edits, address detection, exports."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from shapely.geometry import Point

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from assetmap.i18n import get_translator  # noqa: E402
from ui import exports, family  # noqa: E402
from ui.i18n import direction_css  # noqa: E402

PAYLOAD = "<img src=x onerror=alert(1)><script>window.__pwned=1</script>${1}`"


@pytest.fixture(autouse=True, scope="module")
def _registry_in_a_temp_dir(tmp_path_factory):
    """The app's partner registry (a GeoPackage) lives in a temporary folder for these tests."""
    import os

    from assetmap.settings import get_settings

    old = os.environ.get("ASSETMAP_STORE_URL")
    os.environ["ASSETMAP_STORE_URL"] = str(tmp_path_factory.mktemp("registry") / "app.gpkg")
    get_settings.cache_clear()
    yield
    if old is None:
        os.environ.pop("ASSETMAP_STORE_URL", None)
    else:
        os.environ["ASSETMAP_STORE_URL"] = old
    get_settings.cache_clear()


def _row(**kw) -> pd.Series:
    base = {
        "name": PAYLOAD,
        "distance_km": 1.234,
        "languages": ["en", "es"],
        "address": "<b>1 Main St</b>",
        "city": "Hartford",
        "hours": "Mon 9-5 <script>x</script>",
        "phone": "(860) 555-0100",
        "website": "javascript:alert(1)",
        "example": True,
        "geometry": Point(-72.68, 41.76),
    }
    base.update(kw)
    return pd.Series(base)


def test_result_card_escapes_every_data_string_and_drops_unsafe_links():
    html = family.card_html(get_translator("es"), _row(), family_language="es")
    assert "<script" not in html and "<img" not in html and "<b>1 Main" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&#36;&#123;1&#125;&#96;" in html  # template-literal characters neutralised too
    assert "javascript:" not in html
    assert 'href="tel:+18605550100"' in html
    assert "https://www.openstreetmap.org/directions?to=41.76000%2C-72.68000" in html
    assert "a 0,8 millas" in html  # 1.234 km, in miles (the default display unit)
    assert "español" in html.split("English")[0]  # the family's language listed first


def test_result_card_keeps_a_safe_website_link():
    html = family.card_html(
        get_translator("en"), _row(website="example.org/help", example=False), family_language="en"
    )
    assert 'href="https://example.org/help"' in html
    assert "am-example" not in html


@pytest.mark.parametrize(
    "text, expected",
    [
        ("200 Main Street, Hartford", True),
        ("12 Park St", True),
        ("06106", False),
        ("06106-1234", False),
        ("Hartford", False),
        ("", False),
    ],
)
def test_only_street_addresses_are_offered_to_the_outside_geocoder(text, expected):
    assert family.looks_like_address(text) is expected


def test_direction_css_is_built_from_constants():
    assert "direction: rtl" in direction_css("family", rtl=True)
    assert "direction: ltr" in direction_css("family", rtl=False)
    assert ".st-key-family" in direction_css("family", rtl=True)


def _network() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "school_id": ["s1"] * 4,
            "need": ["food", "food", "food", "housing"],
            "role": ["lead", "backup", "backup", "gap"],
            "rank": [1, 2, 3, 0],
            "partner_id": ["a", "b", "c", None],
        }
    )


def test_hand_edits_keep_one_lead_per_need_and_renumber():
    net = _network()
    out, notes = exports.apply_roles(net, pd.Series(["lead", "lead", "remove", "gap"]))
    food = out[out["need"] == "food"].sort_values("rank")
    assert food["role"].tolist() == ["lead", "backup"]
    assert food["rank"].tolist() == [1, 2]
    assert "c" not in set(out["partner_id"])
    assert any("only one lead" in n for n in notes)
    assert net["role"].tolist() == ["lead", "backup", "backup", "gap"]  # input untouched


def test_backups_without_a_lead_are_flagged():
    _, notes = exports.apply_roles(_network(), pd.Series(["backup", "backup", "backup", "gap"]))
    assert any("no lead" in n for n in notes)


def test_network_bytes_writes_a_workbook_that_opens():
    from assetmap.auth import Principal
    from ui import analysis

    sch = pd.read_csv(
        ROOT / "data" / "ct" / "survey_synthetic.csv", dtype=str, usecols=["school_id"]
    )
    sid = sch["school_id"].iloc[0]
    p = Principal("t", "admin")
    net = analysis.build_network(p, school_id=sid)
    data = exports.network_bytes(net, ".xlsx", extras=analysis.export_context(p, net))
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert "network" in wb.sheetnames
    rows = list(wb["network"].iter_rows(values_only=True))
    assert len(rows) > 1 and "role" in rows[0]


def test_slugs_are_file_name_safe():
    assert exports.slug("Bulkeley High School / Hartford") == "bulkeley-high-school-hartford"
    assert exports.slug("***") == "network"
