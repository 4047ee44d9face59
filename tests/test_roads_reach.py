"""Gaps and E2SFCA in travel minutes on the river world (tests/_osm_world.py).

One school at A (south bank). Pantry C (English) is 0.83 km east on the same bank:
10.4 min on foot. Pantry D (Spanish) is 0.22 km north, across the river: 23.5 min on foot
over the only bridge, but 3.6 min by the straight-line estimate.
"""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from assetmap.cli import main
from assetmap.index import PartnerIndex
from assetmap.match import prepare
from assetmap.model import conform_partners
from assetmap.needs import build_profile
from assetmap.roads import accessibility_in_minutes, gaps_in_minutes, import_osm
from tests._osm_world import POS, write_osm


def _schools() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"school_id": ["S_A"], "name": ["River School"], "district_id": ["D1"]},
        geometry=[Point(POS["A"][1], POS["A"][0])],
        crs="EPSG:4326",
    )


def _responses() -> pd.DataFrame:
    rows = []
    for lang, n in (("es", 12), ("en", 10)):
        for _ in range(n):
            rows.append(
                {"row": len(rows) + 2, "school_id": "S_A", "school_name": "River School",
                 "district_id": "D1", "language": lang, "languages": [lang], "needs": ["food"],
                 "weight": 1.0, "family": True, "synthetic": True}
            )  # fmt: skip
    return pd.DataFrame(rows)


def _partners() -> gpd.GeoDataFrame:
    return conform_partners(
        gpd.GeoDataFrame(
            {
                "partner_id": ["p_c", "p_d"],
                "name": ["Pantry C", "Pantry D"],
                "category": "human_services",
                "services": ["food", "food"],
                "languages": ["en", "es"],
                "capacity": [100, 10],
                "phone": "860-000-0000",
            },
            geometry=[Point(POS["C"][1], POS["C"][0]), Point(POS["D"][1], POS["D"][0])],
            crs="EPSG:4326",
        )
    )


@pytest.fixture(scope="module")
def ctx():
    schools = _schools()
    return prepare(
        partners_index=PartnerIndex.build(_partners()),
        profile=build_profile(_responses(), schools=schools),
        schools=schools,
    )


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    return import_osm(write_osm(tmp_path_factory.mktemp("osm") / "river.osm"))


def test_river_makes_a_spanish_food_desert_on_foot(ctx, net):
    g = gaps_in_minutes(ctx, mode="walk", roads=net)  # food walk reach: 15 min (roads.toml)
    assert len(g) == 1
    r = g.iloc[0]
    assert (r["need"], r["language"], r["gap_kind"]) == ("food", "es", "language")
    assert r["reach_minutes"] == 15
    assert r["families_display"] == "12"
    assert r["nearest_partner_name"] == "Pantry D"
    assert r["nearest_travel_minutes"] == pytest.approx(23.5)
    assert r["travel_time_basis"] == "network"


def test_straight_line_estimate_sees_no_river(ctx):
    assert gaps_in_minutes(ctx, mode="walk", roads=None).empty


def test_need_gap_with_the_nearest_partner_in_minutes(ctx, net):
    g = gaps_in_minutes(ctx, mode="walk", roads=net, max_minutes=8)
    need = g[g["gap_kind"] == "need"].iloc[0]
    assert need["nearest_partner_name"] == "Pantry C"
    assert need["nearest_travel_minutes"] == pytest.approx(10.4)
    # beyond twice the reach nothing is named
    g = gaps_in_minutes(ctx, mode="walk", roads=net, max_minutes=4)
    assert g[g["gap_kind"] == "need"]["nearest_partner_name"].isna().all()


def test_e2sfca_with_travel_time_catchments(ctx, net):
    # bands: thirds of 15 min -> (5, 1), (10, 0.68), (15, 0.22); C at 10.4 min -> 0.22,
    # D at 23.5 min -> outside. 22 families; C supplies 100.
    res = accessibility_in_minutes(ctx, "food", mode="walk", roads=net).set_index("place_id")
    ratio_c = 100 / (22 * 0.22)
    assert res.loc["S_A", "access"] == pytest.approx(0.22 * ratio_c)
    assert res.loc["S_A", "travel_time_basis"] == "network"
    est = accessibility_in_minutes(ctx, "food", mode="walk", roads=None).set_index("place_id")
    # estimate: D at 3.6 min (w 1, supply 10), C at 13.5 min (w 0.22, supply 100)
    expect = 1.0 * 10 / 22 + 0.22 * 100 / (22 * 0.22)
    assert est.loc["S_A", "access"] == pytest.approx(expect)
    assert est.loc["S_A", "travel_time_basis"] == "estimated"


def test_cli_gaps_in_minutes_names_the_mode(capsys, tmp_path):
    none = ["--roads-store", str(tmp_path / "none.gpkg")]  # a workspace without roads
    args = ["gaps", "--school", "0640611", "--mode", "walk", "--max-minutes", "5", *none]
    assert main([*args, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["gaps"] and {g["mode"] for g in out["gaps"]} == {"walk"}
    assert {g["reach_minutes"] for g in out["gaps"]} == {5.0}
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "within a 5-minute walk" in text and "ESTIMATED" in text
    assert main(["gaps", "--school", "0640611", "--max-minutes", "5"]) == 2


def test_matching_with_a_travel_time_decay_ranks_the_same_bank_first(net):
    from assetmap.match import match_all
    from assetmap.roads import use_travel_time

    partners = _partners()
    partners["languages"] = [["es"], ["es"]]
    partners["capacity"] = [50, 50]
    schools = _schools()

    def ranked(mode=None, roads=None):
        c = prepare(
            partners_index=PartnerIndex.build(partners),
            profile=build_profile(_responses(), schools=schools),
            schools=schools,
        )
        if mode:
            use_travel_time(c, mode=mode, roads=roads)
        m = match_all(profile=c.profile, context=c)
        return m, m.loc[m["need"] == "food"].sort_values("rank")["partner_name"].tolist()

    _, by_km = ranked()
    assert by_km == ["Pantry D", "Pantry C"]  # D is 0.22 km away by air
    m, by_walk = ranked("walk", net)
    assert by_walk == ["Pantry C", "Pantry D"]  # ... but across the river: 23.5 min
    decay = m.set_index("partner_name")["distance_decay"]
    assert decay["Pantry C"] == pytest.approx(np.exp(-10.38 / 15), abs=1e-3)
    assert decay["Pantry D"] == pytest.approx(np.exp(-23.54 / 15), abs=1e-3)
    _, by_estimate = ranked("walk", None)  # no network: the estimate sees no river
    assert by_estimate == ["Pantry D", "Pantry C"]


def test_match_rows_carry_minutes_and_basis(net):
    from assetmap.match import match_all
    from assetmap.roads import use_travel_time, with_travel_columns

    schools = _schools()
    c = prepare(
        partners_index=PartnerIndex.build(_partners()),
        profile=build_profile(_responses(), schools=schools),
        schools=schools,
    )
    plain = match_all(profile=c.profile, context=c)
    assert with_travel_columns(c, plain) is plain  # no travel mode set: unchanged
    use_travel_time(c, mode="walk", roads=net)
    rows = with_travel_columns(c, match_all(profile=c.profile, context=c)).set_index("partner_name")
    assert rows.loc["Pantry C", "travel_minutes"] == pytest.approx(10.4)
    assert rows.loc["Pantry D", "travel_minutes"] == pytest.approx(23.5)
    assert set(rows["travel_time_basis"]) == {"network"} and set(rows["mode"]) == {"walk"}


def test_cli_match_in_minutes_is_labelled(capsys, tmp_path):
    none = ["--roads-store", str(tmp_path / "none.gpkg")]
    args = ["match", "--school", "0640611", "--limit", "1", "--mode", "walk", *none]
    assert main([*args, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and {r["travel_time_basis"] for r in rows} == {"estimated"}
    assert all(r["mode"] == "walk" for r in rows)
    assert main(args) == 0
    assert "min walk (estimated)" in capsys.readouterr().out
