"""``near --open evening|weekend|summer``: partner hours and workspace programs."""

from __future__ import annotations

import json

import pytest
from _programs_world import LAT, LON, make_store, parent_academy

from assetmap.cli import main
from assetmap.index import PartnerIndex
from assetmap.near import near
from assetmap.programs import list_programs, save_program


@pytest.fixture
def store(tmp_path):
    s = make_store(str(tmp_path / "ws.gpkg"))
    yield s
    s.close()


def test_open_by_hours_and_by_program(store):
    index = PartnerIndex.build(store.partners())
    # by hours alone: the library is open Mon-Thu until 20:00; the recreation centre on Saturdays
    ev = near(index, lat=LAT, lon=LON, radius_km=100, open_at=["evening"])
    assert list(ev["partner_id"]) == ["lib-1"] and ev.loc[0, "open_programs"] == []
    we = near(index, lat=LAT, lon=LON, open_at=["weekend"])
    assert list(we["partner_id"]) == ["rec-1"]
    # a summer program run by the family centre (hours Mon-Fri 9-16) makes it a summer match
    save_program(
        store,
        {"name": "Summer leaders", "partner_id": "fam-1",
         "schedules": "MO-FR 10:00-12:00 (2027-07-01 to 2027-08-15)"},
        by="ana",
    )  # fmt: skip
    save_program(store, parent_academy(), by="ana")
    su = near(
        index, lat=LAT, lon=LON, radius_km=100, open_at=["summer"], programs=list_programs(store)
    )
    assert list(su["partner_id"]) == ["fam-1"] and su.loc[0, "open_programs"] == ["Summer leaders"]
    ev = near(
        index, lat=LAT, lon=LON, radius_km=100, open_at=["evening"], programs=list_programs(store)
    )
    assert ev.loc[0, "open_programs"] == ["Parent Academy"]
    # both choices at once: nobody is open on weekends and in the evening here
    assert near(index, lat=LAT, lon=LON, open_at=["evening", "weekend"]).empty
    # without --open nothing changes
    assert len(near(index, lat=LAT, lon=LON, radius_km=100)) == 3


def test_cli_near_open(store, tmp_path, capsys):
    save_program(store, parent_academy(), by="ana")
    path = tmp_path / "partners.csv"
    frame = store.partners()
    frame.assign(lat=frame.geometry.y, lon=frame.geometry.x).drop(columns="geometry").to_csv(
        path, index=False
    )
    code = main(["near", "--lat", str(LAT), "--lon", str(LON), "--partners", str(path), "--open", "evening",
                 "--store", store.location, "--json"])  # fmt: skip
    out, err = capsys.readouterr()
    rows = json.loads(out)
    assert code == 0, err
    assert [r["name"] for r in rows] == ["Test Library"] and rows[0]["open_programs"] == [
        "Parent Academy"
    ]
    code = main(["near", "--lat", str(LAT), "--lon", str(LON), "--partners", str(path), "--open", "evening",
                 "--store", str(tmp_path / "missing.gpkg")])  # fmt: skip
    assert code == 2 and "no such workspace" in capsys.readouterr().err
