"""Nearby search on the shipped data, and the `assetmap near` CLI."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
from pyproj import Geod

from assetmap._errors import InputError
from assetmap.auth import PUBLIC, visible_partners
from assetmap.cli import main
from assetmap.data import load_partners
from assetmap.near import AmbiguousName, near, resolve_place, resolve_school
from assetmap.workspace import Workspace

HARTFORD = (41.7637, -72.6851)


@pytest.fixture(scope="module")
def ws():
    """The default workspace (seeded with the shipped data; a temporary file in tests)."""
    w = Workspace.open()
    yield w
    w.close()


def _near(ws, **kwargs):
    return near(ws.index(), schools=ws.schools(), gazetteer=ws.gazetteer(), **kwargs)


def _gc_km(lat1, lon1, lat2, lon2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def test_cli_near_downtown_hartford_matches_independent_great_circle(capsys):
    assert (
        main(
            [
                "near",
                "--lat",
                str(HARTFORD[0]),
                "--lon",
                str(HARTFORD[1]),
                "--radius-km",
                "5",
                "--json",
            ]
        )
        == 0
    )
    got = json.loads(capsys.readouterr().out)
    partners = visible_partners(PUBLIC, load_partners())  # what the public may see
    partners = partners[partners.geometry.notna()]
    expected = {
        pid
        for pid, g in zip(partners["partner_id"], partners.geometry, strict=True)
        if _gc_km(*HARTFORD, g.y, g.x) <= 5.0
    }
    assert expected, "the shipped data has partners in downtown Hartford"
    assert {r["partner_id"] for r in got} == expected
    dists = [r["distance_km"] for r in got]
    assert dists == sorted(dists)
    geod = Geod(ellps="WGS84")
    for r in got:
        for key in (
            "partner_id",
            "name",
            "category",
            "services",
            "languages",
            "address",
            "lat",
            "lon",
            "distance_km",
        ):
            assert key in r
        _, _, metres = geod.inv(HARTFORD[1], HARTFORD[0], r["lon"], r["lat"])
        if metres > 50:  # relative error is meaningless at a few metres
            assert abs(r["distance_km"] - metres / 1000) / (metres / 1000) < 0.005


def test_near_place_zip_and_filters(ws):
    res = _near(ws, place="06106", needs=["food"], limit=5)
    assert 0 < len(res) <= 5
    assert list(res["distance_km"]) == sorted(res["distance_km"])
    assert all(any(s.split(".")[0] == "food" for s in svc) for svc in res["services"])
    assert res.attrs["origin"].kind == "zip"


def test_cli_food_near_06106_lists_real_organisations_with_their_placement(capsys):
    """Done-when of issue 13: >= 3 real organisations, each saying how it was placed."""
    assert main(["near", "--place", "06106", "--need", "food", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert len(got) >= 3
    assert not any(r["example"] for r in got)
    assert all(r["partner_id"].startswith("irs-") for r in got[:3])  # IRS nonprofits (EIN)
    for r in got:
        assert r["geocode_quality"] in ("exact", "zip", "town")
        if r["geocode_quality"] == "zip":
            assert r["placement"] == "ZIP area"
            assert r["distance"].endswith(" mi, ZIP area")
            assert r["distance"].startswith(("about ", "under "))
    # partners that state the need come before those whose food service is a category guess
    flags = [r["service_inferred"] for r in got]
    assert flags == sorted(flags) and not flags[0]
    names = {r["name"] for r in got}
    assert "Hartford Food System Inc" in names or "Malta Food Pantry Inc" in names
    # the text view says the same, in miles
    assert main(["near", "--place", "06106", "--need", "food", "--limit", "3"]) == 0
    out = capsys.readouterr().out
    assert out.count("mi, ZIP area") == 3 and " km " not in out


def test_near_school_by_name_and_id(ws):
    loc, row = resolve_school("Hartford Public High School", ws.schools())
    assert row["town"] == "Hartford"
    loc2, _ = resolve_school(row["school_id"], ws.schools())
    assert (loc2.lat, loc2.lon) == (loc.lat, loc.lon)
    res = _near(ws, school=row["school_id"], radius_km=3)
    assert (res["distance_km"] <= 3).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"place": "Atlantis"}, "not a town, village or ZIP code of this workspace"),
        ({"place": "99999"}, "ZIP code 99999"),
        ({"school": "zzzz no such school qqq"}, "no single school"),
        ({"lat": 95.0, "lon": 0.0}, "not a place on Earth"),
        ({"lat": 41.7, "lon": -72.7, "needs": ["flying lessons"]}, "unknown need"),
        ({"lat": 41.7, "lon": -72.7, "languages": ["Zzyzx-qq"]}, "unknown language"),
    ],
)
def test_near_bad_input_is_a_clear_error(ws, kwargs, message):
    with pytest.raises(InputError, match=message):
        _near(ws, **kwargs)


def test_resolve_place_town_village(ws):
    assert resolve_place("Windham", ws.gazetteer()).kind == "town"
    assert resolve_place("hartford, ct", ws.gazetteer()).label == "Hartford"


def test_library_functions_need_their_data():
    """No silent fallback to the shipped files: the caller passes the workspace's data."""
    with pytest.raises(TypeError, match="PartnerIndex"):
        near(None, lat=41.7, lon=-72.7)
    with pytest.raises(TypeError, match="schools"):
        resolve_school("Hartford Public High School", None)
    with pytest.raises(TypeError, match="gazetteer"):
        resolve_place("Hartford", None)


def test_any_us_zip_resolves_from_the_national_gazetteer(ws):
    loc = resolve_place("33130", ws.gazetteer())  # Miami, FL
    assert loc.kind == "zip" and loc.label == "ZIP 33130"
    assert 25.7 < loc.lat < 25.8 and -80.3 < loc.lon < -80.1
    assert resolve_place("06106", ws.gazetteer()).label == "ZIP 06106 (Hartford)"


def test_a_shared_school_name_lists_every_candidate(ws, capsys):
    with pytest.raises(AmbiguousName) as err:
        resolve_school("Center School", ws.schools())
    towns = {c["town"] for c in err.value.candidates}
    assert len(err.value.candidates) == 4
    assert {"East Hampton", "Ellington", "Old Lyme"} <= towns
    assert main(["near", "--school", "Center School"]) == 2
    msg = capsys.readouterr().err
    assert "4 schools are named 'Center School'" in msg
    for c in err.value.candidates:
        assert f"{c['school_id']} Center School ({c['town']})" in msg


def test_cli_bad_input_exits_2_without_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "assetmap", "near", "--place", "Atlantis", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "Atlantis" in proc.stderr


def test_near_public_view_hides_sensitive_and_unpublished(capsys):
    all_partners = load_partners()
    hidden = all_partners[all_partners["sensitive"] | ~all_partners["published"]]
    assert len(hidden) >= 2
    for _, row in hidden.iterrows():
        g = row.geometry
        assert (
            main(["near", "--lat", str(g.y), "--lon", str(g.x), "--radius-km", "0.5", "--json"])
            == 0
        )
        public_ids = {r["partner_id"] for r in json.loads(capsys.readouterr().out)}
        assert row["partner_id"] not in public_ids
        assert (
            main(
                [
                    "near",
                    "--lat",
                    str(g.y),
                    "--lon",
                    str(g.x),
                    "--radius-km",
                    "0.5",
                    "--staff",
                    "--json",
                ]
            )
            == 0
        )
        staff_ids = {r["partner_id"] for r in json.loads(capsys.readouterr().out)}
        assert row["partner_id"] in staff_ids
