"""Programs in the workspace: checking, store (history), HSDS / CSV / XLSX round trips,
outcomes and targets — on a tiny hand-made workspace."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from _programs_world import SCHOOLS, make_store, parent_academy

from assetmap._errors import InputError, StaleVersionError
from assetmap.framework import load_framework
from assetmap.outcomes import current_outcomes, outcome_history, progress, record_outcome
from assetmap.programs import (
    list_programs,
    normalise_program,
    program_history,
    program_locations,
    programs_near,
    programs_open,
    public_programs,
    read_programs,
    retire_program,
    save_program,
    to_hsds,
    write_programs,
)


@pytest.fixture(scope="session")
def pg():
    """The PostGIS server (never skipped: a server that cannot start fails the tests)."""
    from _postgis import release, shared_server

    yield shared_server()
    release()


@pytest.fixture(params=["gpkg", "postgis"])
def store(request, tmp_path):
    """The tiny workspace in a GeoPackage and in PostGIS: the program tables work in both."""
    loc = (
        str(tmp_path / "ws.gpkg")
        if request.param == "gpkg"
        else request.getfixturevalue("pg").new_schema()
    )
    s = make_store(loc)
    yield s
    s.close()


def test_normalise_fills_ids_codes_and_defaults():
    rec = normalise_program(parent_academy(), partner_ids=["lib-1"], school_ids=["0640611"])
    assert rec["program_id"].startswith("prog-") and rec["languages"] == ["es"]
    assert rec["location_type"] == "partner_site" and rec["public"] is True
    assert rec["schedules"][0]["byday"] == "TU" and rec["ada_accessible"] is True


def test_normalise_reports_every_problem_at_once():
    raw = parent_academy(
        partner_id="nope", principles=["kindness"], impact_level="huge", cost="cheap",
        languages=["Elvish"], school_ids=["1234567"], schedules="Tuesday evenings",
    )  # fmt: skip
    with pytest.raises(InputError) as exc:
        normalise_program(raw, partner_ids=["lib-1"], school_ids=["0640611"])
    msg = str(exc.value)
    for part in ("partner_id 'nope'", "'kindness'", "impact_level 'huge'", "cost 'cheap'",
                 "'Elvish'", "'1234567'", "'Tuesday evenings'"):  # fmt: skip
        assert part in msg


def test_school_location_needs_the_school():
    with pytest.raises(InputError, match="location_school_id"):
        normalise_program({"name": "Welcome tour", "location_type": "school"})
    rec = normalise_program(
        {"name": "Welcome tour", "location_type": "school", "location_school_id": "0640611"}
    )
    assert rec["school_ids"] == ["0640611"] and rec["partner_id"] is None


def test_store_versions_history_and_retire(store):
    rec = save_program(store, parent_academy(), by="ana")
    assert rec["version"] == 1
    again = save_program(store, parent_academy(program_id=rec["program_id"], capacity=20), by="ben",
                         expect_version=1)  # fmt: skip
    assert again["version"] == 2
    with pytest.raises(StaleVersionError, match="version 2, not 1"):
        save_program(
            store, parent_academy(program_id=rec["program_id"]), by="ana", expect_version=1
        )
    retire_program(store, rec["program_id"], by="ana")
    assert list_programs(store) == []
    kept = list_programs(store, include_retired=True)
    assert kept[0]["retired"] and kept[0]["capacity"] == 20
    hist = program_history(store, rec["program_id"])
    assert [(h["version"], h["action"], h["by"]) for h in hist] == [
        (1, "create", "ana"), (2, "update", "ben"), (3, "retire", "ana"),
    ]  # fmt: skip
    assert hist[0]["record"]["capacity"] is None


def test_save_checks_against_the_workspace(store):
    with pytest.raises(InputError, match="no such partner"):
        save_program(store, parent_academy(partner_id="ghost"), by="ana")


def test_hsds_round_trip(tmp_path):
    rec = normalise_program(parent_academy(capacity=25, plays=["parent_academy"]))
    doc = to_hsds([rec])
    svc = doc["services"][0]
    assert svc["organization_id"] == "lib-1" and svc["schedules"][0]["byday"] == "TU"
    assert {
        "code": "es",
        "id": f"{rec['program_id']}-lang-es",
        "service_id": rec["program_id"],
    } in svc["languages"]
    path = write_programs([rec], tmp_path / "programs.json")
    back = normalise_program(read_programs(path)[0])
    assert back == rec
    assert json.loads(path.read_text())["services"][0]["name"] == "Parent Academy"


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_table_round_trip_and_formula_cells(tmp_path, suffix):
    rec = normalise_program(parent_academy(description='=HYPERLINK("http://x")'))
    path = write_programs([rec], tmp_path / f"programs{suffix}")
    if suffix == ".csv":
        assert "'=HYPERLINK" in path.read_text(encoding="utf-8-sig")
    back = normalise_program(read_programs(path)[0])
    assert back == rec


def test_bad_import_file(tmp_path):
    bad = tmp_path / "p.json"
    bad.write_text('{"services": 3}')
    with pytest.raises(InputError, match="list of services"):
        read_programs(bad)
    with pytest.raises(InputError, match=r"\.json \(HSDS\), \.csv or \.xlsx"):
        write_programs([], tmp_path / "p.txt")


def test_public_view_near_and_open(store):
    academy = save_program(store, parent_academy(), by="ana")
    hidden = save_program(store, parent_academy(name="Staff-only planning", public=False), by="ana")
    online = save_program(
        store,
        {"name": "Online tech help", "location_type": "online", "schedules": "SA 10:00-11:00"},
        by="ana",
    )
    progs = list_programs(store)
    pub = public_programs(progs, public_partner_ids=["lib-1"])
    assert {p["program_id"] for p in pub} == {academy["program_id"], online["program_id"]}
    assert hidden["program_id"] not in {p["program_id"] for p in pub}
    locs = program_locations(pub, partners=store.partners(), schools=store.schools())
    assert locs[online["program_id"]] is None
    res = programs_near(pub, lat=41.76, lon=-72.69, radius_km=2, locations=locs)
    assert list(res["name"]) == ["Parent Academy", "Online tech help"]
    assert res.loc[0, "distance_km"] == pytest.approx(1.11, abs=0.02)
    assert res.loc[0, "when"] == "TU 18:00-20:00"
    assert [p["name"] for p in programs_open(pub, ["evening"])] == ["Parent Academy"]
    assert [p["name"] for p in programs_open(pub, ["weekend"])] == ["Online tech help"]
    assert programs_near(pub, lat=41.76, lon=-72.69, radius_km=0.5, locations=locs,
                         include_online=False).empty  # fmt: skip


def test_outcomes_history_and_targets(store):
    rec = save_program(store, parent_academy(), by="ana")
    record_outcome(store, program_id=rec["program_id"], measure="families_served", value=10,
                   period="2026-27", by="ana")  # fmt: skip
    # a correction: the latest row counts, the first stays in the history
    record_outcome(store, program_id=rec["program_id"], measure="families_served", value=12,
                   period="2026-27", by="ben")  # fmt: skip
    record_outcome(store, school_id="0640611", measure="home_visits_completed", value=20,
                   period="2026-27", by="ana")  # fmt: skip
    hist = outcome_history(store)
    assert len(hist) == 3 and list(hist["value"]) == [10, 12, 20]
    assert hist.loc[0, "school_id"] == "0640611" and hist.loc[0, "partner_id"] == "lib-1"
    cur = current_outcomes(hist)
    assert sorted(cur["value"]) == [12, 20]
    prog = progress(
        hist, schools=store.schools(), programs=list_programs(store), district="0640011"
    )
    burns = prog[prog.school_id == "0640611"].set_index("measure")
    # 10 % of 200 students = 20 home visits: met; 12 of 50 families served: not yet
    assert burns.loc["home_visits_completed", "needed"] == 20 and bool(
        burns.loc["home_visits_completed", "met"]
    )
    assert burns.loc["families_served", "actual"] == 12 and not burns.loc["families_served", "met"]
    assert burns.loc["families_served", "percent"] == 24.0
    sand = prog[prog.school_id == "0640111"].set_index("measure")
    assert (
        sand.loc["home_visits_completed", "needed"] == 5
        and sand.loc["families_served", "actual"] == 0
    )


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"measure": "smiles", "value": 1}, "measure 'smiles'"),
        ({"measure": "families_served", "value": -1}, "whole number"),
        ({"measure": "families_served", "value": 1.5}, "whole number"),
        ({"measure": "families_served", "value": 1, "period": ""}, "period"),
        ({"measure": "families_served", "value": 1, "school_id": None}, "--program, --partner"),
        ({"measure": "families_served", "value": 1, "school_id": "0000000"}, "no school"),
    ],
)
def test_outcome_errors(store, kw, match):
    args = {"period": "2026-27", "school_id": "0640611", "by": "ana", **kw}
    with pytest.raises(InputError, match=match):
        record_outcome(store, **args)


def test_progress_without_base_figure():
    fw = load_framework()
    schools = SCHOOLS.drop(columns=["total_students"])
    prog = progress(pd.DataFrame(columns=["outcome_id", "recorded_at", "recorded_by", "program_id",
                                          "partner_id", "school_id", "period", "measure", "value", "note"]),
                    schools=schools, framework=fw)  # fmt: skip
    hv = prog[prog.measure == "home_visits_completed"]
    assert hv["needed"].isna().all() and hv["met"].isna().all()
