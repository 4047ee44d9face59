"""The families' page shows "about N min walk": on the workspace's road network, or
labelled estimated without one."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point

from assetmap.i18n import get_translator
from assetmap.near import Location
from assetmap.roads import import_osm, roads_path
from assetmap.settings import get_settings
from tests._osm_world import POS, write_osm
from ui import family


@pytest.fixture()
def workspace(tmp_path, monkeypatch):
    store = tmp_path / "ws.gpkg"
    monkeypatch.setenv("ASSETMAP_STORE_URL", str(store))
    get_settings.cache_clear()
    yield store
    get_settings.cache_clear()


def _results() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": ["Pantry C", "Pantry D <b>"], "distance_km": [0.83, 0.22],
         "languages": [["en"], ["es"]]},
        geometry=[Point(POS["C"][1], POS["C"][0]), Point(POS["D"][1], POS["D"][0])],
        crs="EPSG:4326",
    )  # fmt: skip


ORIGIN = Location(POS["A"][0], POS["A"][1], "A", "point")


def test_walk_minutes_on_the_network(workspace, tmp_path):
    import_osm(write_osm(tmp_path / "river.osm")).save(roads_path(workspace))
    res = family.with_walk_minutes(_results(), ORIGIN)
    assert res["travel_minutes"].round(1).tolist() == [10.4, 23.5]
    assert res["travel_time_basis"].tolist() == ["network", "network"]
    t = get_translator("en")
    html = family.card_html(t, res.iloc[1], family_language="en")
    assert "about 24 min walk" in html and "estimated" not in html
    assert "Pantry D &lt;b&gt;" in html
    es = family.card_html(get_translator("es"), res.iloc[0], family_language="es")
    assert "unos 10 min a pie" in es


def test_walk_minutes_estimated_without_a_network(workspace):
    res = family.with_walk_minutes(_results(), ORIGIN)
    assert res["travel_time_basis"].tolist() == ["estimated", "estimated"]
    html = family.card_html(get_translator("en"), res.iloc[1], family_language="en")
    assert "about 4 min walk (estimated)" in html  # 0.22 km x 1.3 / 4.8 km/h
    ar = family.card_html(get_translator("ar"), res.iloc[1], family_language="ar")
    assert "(تقديري)" in ar


def test_no_minutes_no_line():
    row = _results().iloc[0]
    assert family.walk_text(get_translator("en"), row) == ""
    assert "min walk" not in family.card_html(get_translator("en"), row, family_language="en")


def test_find_help_page_shows_estimated_walking_minutes(workspace):
    from streamlit.testing.v1 import AppTest

    from tests.test_app import APP, _html

    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["find_lang"] = "es"
    at.run()
    at.text_input(key="find_place").set_value("06106")
    at.session_state["find_need"] = "child_care"  # licensed sites at their own coordinates
    at.run()
    assert not at.exception
    assert "min a pie (estimado)" in _html(at)  # no road network in this workspace


def test_no_walk_line_beyond_two_hours(workspace):
    far = gpd.GeoDataFrame(
        {"name": ["Far"], "distance_km": [20.0], "languages": [["en"]]},
        geometry=[Point(POS["A"][1], POS["A"][0] + 20 / 111.195)],
        crs="EPSG:4326",
    )
    res = family.with_walk_minutes(far, ORIGIN)  # 20 km x 1.3 / 4.8 km/h = 325 min
    assert family.walk_text(get_translator("en"), res.iloc[0]) == ""
