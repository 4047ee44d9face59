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
from assetmap.near import near, resolve_place, resolve_school

HARTFORD = (41.7637, -72.6851)


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


def test_near_place_zip_and_filters():
    res = near(place="06106", needs=["food"], limit=5)
    assert 0 < len(res) <= 5
    assert list(res["distance_km"]) == sorted(res["distance_km"])
    assert all(any(s.split(".")[0] == "food" for s in svc) for svc in res["services"])
    assert res.attrs["origin"].kind == "zip"


def test_near_school_by_name_and_id():
    loc, row = resolve_school("Hartford Public High School")
    assert row["town"] == "Hartford"
    loc2, _ = resolve_school(row["school_id"])
    assert (loc2.lat, loc2.lon) == (loc.lat, loc.lon)
    res = near(school=row["school_id"], radius_km=3)
    assert (res["distance_km"] <= 3).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"place": "Atlantis"}, "not a Connecticut town"),
        ({"place": "99999"}, "ZIP code 99999"),
        ({"school": "zzzz no such school qqq"}, "no single school"),
        ({"lat": 95.0, "lon": 0.0}, "not a place on Earth"),
        ({"lat": 41.7, "lon": -72.7, "needs": ["flying lessons"]}, "unknown need"),
        ({"lat": 41.7, "lon": -72.7, "languages": ["Zzyzx-qq"]}, "unknown language"),
    ],
)
def test_near_bad_input_is_a_clear_error(kwargs, message):
    with pytest.raises(InputError, match=message):
        near(**kwargs)


def test_resolve_place_town_village():
    assert resolve_place("Windham").kind == "town"
    assert resolve_place("hartford, ct").label == "Hartford"


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
