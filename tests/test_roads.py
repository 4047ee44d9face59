"""Travel time on a hand-drawn OSM network: a river with one bridge and a one-way street.

Expected minutes are computed by hand along the only possible path: segment lengths
(great circle) / speed from config/roads.toml (walk 4.8 km/h, residential 30 km/h).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from assetmap._errors import InputError
from assetmap.cli import main
from assetmap.index import haversine_km
from assetmap.roads import (
    RoadNetwork,
    estimate_minutes,
    import_osm,
    load_network,
    reach_pairs,
    road_config,
    roads_path,
    travel_minutes,
)
from assetmap.roads._graph import _drive_kmh, _oneway, _walkable
from tests._osm_world import POS, write_osm, write_pbf

WALK, RESIDENTIAL = 4.8, 30.0


def km(a: str, b: str) -> float:
    return float(haversine_km(*POS[a], *POS[b]))


def path_km(*names: str) -> float:
    return sum(km(a, b) for a, b in zip(names, names[1:], strict=False))


def at(*names: str) -> tuple[list[float], list[float]]:
    return [POS[n][0] for n in names], [POS[n][1] for n in names]


@pytest.fixture(scope="module")
def osm_file(tmp_path_factory) -> Path:
    return write_osm(tmp_path_factory.mktemp("osm") / "river.osm")


@pytest.fixture(scope="module")
def net(osm_file) -> RoadNetwork:
    return import_osm(osm_file)


def test_walk_minutes_follow_the_only_bridge(net):
    lat, lon = at("A")
    tl, to = at("B", "C", "D", "F")
    mins, on = travel_minutes(net, "walk", lat, lon, tl, to)
    expected = [
        path_km("A", "B") / WALK * 60,
        path_km("A", "B", "C") / WALK * 60,
        path_km("A", "B", "C", "F", "E", "D") / WALK * 60,
        path_km("A", "B", "C", "F") / WALK * 60,
    ]
    np.testing.assert_allclose(mins[0], expected, atol=1e-3)
    assert on.all()
    # D is across the river: nearer by air than C, but farther on foot
    assert km("A", "D") < km("A", "C")
    assert mins[0][2] > mins[0][1]
    assert mins[0][2] == pytest.approx(23.54, abs=0.01)  # 1.882 km at 4.8 km/h


def test_walking_ignores_one_way_driving_does_not(net):
    lat, lon = at("A", "B")
    walk, _ = travel_minutes(net, "walk", lat, lon, lat, lon)
    drive, _ = travel_minutes(net, "drive", lat, lon, lat, lon)
    ab = km("A", "B")
    assert walk[1, 0] == pytest.approx(ab / WALK * 60, abs=1e-3)  # B -> A on foot
    assert drive[0, 1] == pytest.approx(ab / RESIDENTIAL * 60, abs=1e-3)  # A -> B with traffic
    assert np.isinf(drive[1, 0])  # B -> A against the one-way: no route (A is a dead end)


def test_a_point_mid_street_snaps_to_the_street(net):
    mid = ((POS["B"][0] + POS["C"][0]) / 2, (POS["B"][1] + POS["C"][1]) / 2)
    mins, on = travel_minutes(net, "walk", [mid[0]], [mid[1]], *at("C"))
    assert mins[0, 0] == pytest.approx(km("B", "C") / 2 / WALK * 60, rel=1e-4)
    assert on.all()


def test_footway_is_walk_only_and_motorway_drive_only(net):
    walk, drive = net.modes["walk"], net.modes["drive"]
    assert len(walk.u) == 6  # A-B, B-C, D-E, E-F, C-F, G-D (no motorway)
    assert len(drive.u) == 6  # A-B, B-C, D-E, E-F, C-F, H-I (no footway)
    assert drive.oneway.sum() == 2  # A->B and the motorway
    # G (end of the footway) to D on foot: along the footway
    mins, _ = travel_minutes(net, "walk", *at("G"), *at("D"))
    assert mins[0, 0] == pytest.approx(km("G", "D") / WALK * 60, abs=1e-3)


def test_max_minutes_cuts_off_and_reach_pairs_agree(net):
    names = ("A", "B", "C", "D", "E", "F", "G")
    lat, lon = at(*names)
    full, _ = travel_minutes(net, "walk", lat, lon, lat, lon)
    capped, _ = travel_minutes(net, "walk", lat, lon, lat, lon, max_minutes=12)
    np.testing.assert_array_equal(np.isfinite(capped), full <= 12)
    oi, tj, mins, on = reach_pairs(net, "walk", lat, lon, lat, lon, 12)
    r, c = np.nonzero(full <= 12)
    assert set(zip(oi.tolist(), tj.tolist(), strict=True)) == set(
        zip(r.tolist(), c.tolist(), strict=True)
    )
    np.testing.assert_allclose(mins, full[oi, tj])
    assert on.all()
    assert (np.diff(oi) >= 0).all()  # sorted by origin


def test_estimate_without_a_network_is_labelled():
    cfg = road_config()
    assert cfg.circuity == pytest.approx(1.3)
    lat, lon = at("A")
    mins, on = travel_minutes(None, "walk", lat, lon, *at("D"))
    assert mins[0, 0] == pytest.approx(km("A", "D") * 1.3 / WALK * 60, rel=1e-9)
    assert not on.any()
    assert float(estimate_minutes(1.0, "drive")) == pytest.approx(1.3 / 40 * 60)
    oi, tj, mins, on = reach_pairs(None, "walk", lat, lon, *at("B", "C", "D"), 8)
    assert tj.tolist() == [2, 0]  # D (0.22 km: 3.6 min), then B (0.42 km: 6.8 min); C is 10.1
    assert not on.any()


def test_point_far_from_streets_is_estimated(net):
    far = (41.690, -72.700)  # 1.1 km south of A, beyond walk.max_snap_km = 0.5
    mins, on = travel_minutes(net, "walk", [far[0]], [far[1]], *at("A"))
    assert not on[0, 0]
    assert mins[0, 0] == pytest.approx(
        float(haversine_km(*far, *POS["A"])) * 1.3 / WALK * 60, rel=1e-9
    )


def test_pbf_and_stdlib_xml_give_the_same_network(osm_file, net, tmp_path, monkeypatch):
    pytest.importorskip("osmium")
    pbf = import_osm(write_pbf(osm_file, tmp_path / "river.osm.pbf"))
    monkeypatch.setitem(sys.modules, "osmium", None)  # the fallback reader
    xml = import_osm(osm_file)
    for other in (pbf, xml):
        np.testing.assert_allclose(other.lat, net.lat)
        np.testing.assert_allclose(other.lon, net.lon)
        for m in ("walk", "drive"):
            np.testing.assert_array_equal(other.modes[m].u, net.modes[m].u)
            np.testing.assert_array_equal(other.modes[m].oneway, net.modes[m].oneway)


def test_save_load_round_trip_next_to_the_store(net, tmp_path):
    store = tmp_path / "ws.gpkg"
    assert roads_path(store) == tmp_path / "ws.roads.npz"
    assert roads_path("postgresql://u@127.0.0.1/db").name.startswith("roads-")
    assert load_network(store) is None
    net.save(roads_path(store))
    back = load_network(store)
    assert back is not None and back.summary()["walk_edges"] == 6
    a, _ = travel_minutes(back, "walk", *at("A"), *at("D"))
    b, _ = travel_minutes(net, "walk", *at("A"), *at("D"))
    assert a[0, 0] == pytest.approx(b[0, 0])


@pytest.mark.parametrize(
    ("tags", "walk", "drive", "oneway"),
    [
        ({"highway": "residential"}, True, 30.0, 0),
        ({"highway": "residential", "oneway": "-1"}, True, 30.0, -1),
        ({"highway": "primary", "junction": "roundabout"}, True, 60.0, 1),
        ({"highway": "motorway"}, False, 100.0, 1),
        ({"highway": "service", "access": "private"}, False, 0.0, 0),
        ({"highway": "service", "access": "private", "foot": "yes"}, True, 0.0, 0),
        ({"highway": "primary", "foot": "no"}, False, 60.0, 0),
        ({"highway": "footway"}, True, 0.0, 0),
        ({"highway": "pedestrian", "area": "yes"}, False, 0.0, 0),
        ({"highway": "residential", "motor_vehicle": "no"}, True, 0.0, 0),
    ],
)
def test_tag_rules(tags, walk, drive, oneway):
    cfg = road_config()
    assert _walkable(tags, cfg) is walk
    assert _drive_kmh(tags, cfg) == drive
    assert _oneway(tags) == oneway


def test_reversed_one_way_is_stored_forward(tmp_path):
    src = write_osm(tmp_path / "w.osm")
    text = src.read_text().replace('k="oneway" v="yes"', 'k="oneway" v="-1"')
    src.write_text(text)
    net = import_osm(src)
    drive, _ = travel_minutes(net, "drive", *at("A", "B"), *at("A", "B"))
    assert np.isinf(drive[0, 1]) and np.isfinite(drive[1, 0])


@pytest.mark.parametrize(
    ("content", "name", "match"),
    [
        (None, "missing.osm.pbf", "no such file"),
        ("name,lat\n", "streets.csv", "not an OpenStreetMap file"),
        ("<osm><way id='1'>", "broken.osm", "OpenStreetMap"),
        ('<osm version="0.6"><node id="1" lat="41" lon="-72"/></osm>', "empty.osm", "no usable"),
    ],
)
def test_bad_extracts_are_input_errors(tmp_path, content, name, match):
    p = tmp_path / name
    if content is not None:
        p.write_text(content)
    with pytest.raises(InputError, match=match):
        import_osm(p)


# ---------------------------------------------------------------------- near and the CLI
PARTNERS_CSV = """name,address,city,state,lat,lon,services,languages,category
Pantry C,1 South St,Hartford,CT,41.700,-72.690,food,en,human_services
Pantry D,1 North St,Hartford,CT,41.702,-72.700,food,es,human_services
"""


@pytest.fixture()
def workspace(tmp_path, osm_file):
    store = tmp_path / "ws.gpkg"
    assert main(["roads", "import", str(osm_file), "--store", str(store), "--json"]) == 0
    (tmp_path / "p.csv").write_text(PARTNERS_CSV)
    return store, tmp_path / "p.csv"


def test_cli_import_and_near_by_walking_time(workspace, capsys):
    store, partners = workspace
    capsys.readouterr()
    assert main(["roads", "info", "--store", str(store), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["travel_time_basis"] == "network" and info["walk_edges"] == 6
    args = ["near", "--lat", "41.700", "--lon", "-72.700", "--partners", str(partners)]
    assert main([*args, "--store", str(store), "--mode", "walk", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in res] == ["Pantry C", "Pantry D"]  # C first: no river to cross
    assert res[0]["travel_minutes"] == pytest.approx(10.4)
    assert res[1]["travel_minutes"] == pytest.approx(23.5)
    assert {r["mode"] for r in res} == {"walk"}
    assert {r["travel_time_basis"] for r in res} == {"network"}
    assert main([*args, "--store", str(store), "--mode", "walk", "--max-minutes", "15"]) == 0
    out = capsys.readouterr().out
    assert "Pantry C" in out and "Pantry D" not in out and "min walk" in out


def test_cli_near_without_network_says_estimated(tmp_path, workspace, capsys):
    _, partners = workspace
    args = ["near", "--lat", "41.700", "--lon", "-72.700", "--partners", str(partners)]
    empty = tmp_path / "none.gpkg"
    assert main([*args, "--store", str(empty), "--mode", "walk", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in res] == ["Pantry D", "Pantry C"]  # by air, D is nearer
    assert {r["travel_time_basis"] for r in res} == {"estimated"}
    assert main([*args, "--store", str(empty), "--mode", "walk"]) == 0
    assert "(estimated)" in capsys.readouterr().out
    assert main(["roads", "info", "--store", str(empty), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["travel_time_basis"] == "estimated"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["roads", "import", "nope.osm.pbf"], "no such file"),
        (["near", "--place", "06106", "--max-minutes", "20"], "needs a travel mode"),
        (["near", "--place", "06106", "--mode", "walk", "--max-minutes", "-3"], "positive"),
        (["near", "--place", "06106", "--mode", "bike"], "invalid choice"),
    ],
)
def test_cli_bad_input_exits_2(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main(argv))
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_compressed_xml_reads_with_and_without_pyosmium(osm_file, net, tmp_path, monkeypatch):
    import bz2

    packed = tmp_path / "river.osm.bz2"
    packed.write_bytes(bz2.compress(osm_file.read_bytes()))
    assert import_osm(packed).summary()["walk_edges"] == 6
    monkeypatch.setitem(sys.modules, "osmium", None)
    back = import_osm(packed)
    np.testing.assert_array_equal(back.modes["drive"].u, net.modes["drive"].u)


def test_near_by_minutes_with_open_hours(net):
    import geopandas as gpd
    from shapely.geometry import Point

    from assetmap.index import PartnerIndex
    from assetmap.model import conform_partners
    from assetmap.near import near

    partners = conform_partners(
        gpd.GeoDataFrame(
            {"partner_id": ["c", "d", "b"], "name": ["Pantry C", "Pantry D", "Pantry B"],
             "category": "human_services", "services": ["food"] * 3, "languages": ["en"] * 3,
             "hours": ["Mon-Fri 17:00-21:00", "Mon-Fri 17:00-21:00", "Mon-Fri 9-5"]},
            geometry=[Point(POS[k][1], POS[k][0]) for k in ("C", "D", "B")],
            crs="EPSG:4326",
        )
    )  # fmt: skip
    res = near(PartnerIndex.build(partners), lat=POS["A"][0], lon=POS["A"][1], mode="walk",
               roads=net, open_at=["evening"], max_minutes=30)  # fmt: skip
    assert res["name"].tolist() == ["Pantry C", "Pantry D"]  # B closes at 5
    assert res["travel_minutes"].tolist() == [10.4, 23.5]
    assert set(res["travel_time_basis"]) == {"network"}
