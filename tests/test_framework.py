"""The framework config, principle coverage, plays, ESY overlap and their CLI."""

from __future__ import annotations

import datetime as dt
import json
import tomllib

import pytest
from _programs_world import make_store, parent_academy

from assetmap._errors import ConfigError
from assetmap.cli import main
from assetmap.framework import (
    check_framework,
    coverage,
    esy_overlap,
    load_framework,
    plays_table,
)
from assetmap.programs import list_programs, program_locations, save_program
from assetmap.settings import config_dir


@pytest.fixture
def store(tmp_path):
    s = make_store(str(tmp_path / "ws.gpkg"))
    yield s
    s.close()


def test_config_has_the_seven_principles_scale_and_plays_by_role():
    fw = load_framework()
    assert [p.number for p in fw.principles] == [1, 2, 3, 4, 5, 6, 7]
    assert [lv.id for lv in fw.levels] == [
        "informing",
        "connecting",
        "co_designing",
        "families_leading",
    ]
    assert {p.role for p in fw.plays} == {"district_leader", "principal", "teacher", "family"}
    assert all(p.source for p in fw.plays)
    # every principle carries the framework's examples, each placed on the scale
    assert all(p.examples and all(fw.level(lv) for _, lv in p.examples) for p in fw.principles)
    assert fw.is_low(None) and fw.is_low("informing") and not fw.is_low("connecting")


def test_config_problems_are_named_by_key(tmp_path):
    raw = tomllib.loads((config_dir() / "framework.toml").read_text())
    raw["plays"][0]["role"] = "mayor"
    raw["principles"][0]["examples"][0]["level"] = "shouting"
    raw["targets"][0]["measure"] = "smiles"
    problems = " ".join(check_framework(raw))
    assert (
        "role 'mayor'" in problems
        and "level 'shouting'" in problems
        and "measure 'smiles'" in problems
    )
    bad = tmp_path / "framework.toml"
    bad.write_text("[[levels]\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_framework(bad)


def test_coverage_changes_when_a_program_is_added(store):
    before = coverage(list_programs(store), schools=store.schools(), partners=store.partners(),
                      school="0640611")  # fmt: skip
    assert len(before) == 7 and before["programs"].map(len).sum() == 0
    row = before.set_index("principle_id").loc["modeling_learning"]
    assert row["highest_impact_level"] is None
    # the Parent Academy play fits and the library 1.1 km away could deliver it
    assert any(
        s.startswith("A Parent Academy") and "Test Library (1.1 km)" in s
        for s in row["suggestions"]
    )
    save_program(store, parent_academy(), by="ana")
    after = coverage(list_programs(store), schools=store.schools(), partners=store.partners(),
                     school="0640611").set_index("principle_id")  # fmt: skip
    assert after.loc["modeling_learning", "programs"] == ["Parent Academy"]
    assert after.loc["modeling_learning", "highest_impact_level"] == "connecting"
    assert after.loc["modeling_learning", "suggestions"] == []
    assert after.loc["relationships", "programs"] == []
    # an informing-only principle is "low impact": suggestions stay, above that level only
    save_program(store, {"name": "Welcome tour", "location_type": "school", "location_school_id": "0640611",
                         "principles": ["relationships"], "impact_level": "informing"}, by="ana")  # fmt: skip
    low = coverage(list_programs(store), schools=store.schools(), partners=store.partners(),
                   school="0640611").set_index("principle_id")  # fmt: skip
    assert low.loc["relationships", "highest_impact_level"] == "informing"
    assert low.loc["relationships", "suggestions"]
    assert not any(
        s.startswith("Start-of-school welcome tours")
        for s in low.loc["relationships", "suggestions"]
    )
    # the district sees the school's programs too; a school elsewhere does not
    dist = coverage(list_programs(store), schools=store.schools(), district="0640011").set_index(
        "principle_id"
    )
    assert dist.loc["modeling_learning", "programs"] == ["Parent Academy"]
    other = coverage(list_programs(store), schools=store.schools(), district="0990001")
    assert other["programs"].map(len).sum() == 0


def test_plays_link_programs_and_partners(store):
    save_program(store, parent_academy(), by="ana")
    table = plays_table(load_framework(), list_programs(store), store.partners())
    row = table.set_index("play").loc["parent_academy"]
    assert row["programs"] == ["Parent Academy"] and row["partners"] == ["Test Library"]
    assert set(plays_table(load_framework(), role="teacher")["role"]) == {"Teachers"}


def test_esy_overlap_is_accessible_and_near(store):
    camp = {"name": "Summer camp", "partner_id": "rec-1", "schedules": "MO-FR 09:00-15:00 (2027-06-28 to 2027-07-30)",
            "ada_accessible": "yes", "shared_staffing": "yes", "school_ids": ["0640611"]}  # fmt: skip
    save_program(store, camp, by="ana")
    save_program(store, {**camp, "name": "Inaccessible camp", "ada_accessible": "no"}, by="ana")
    save_program(store, {**camp, "name": "Spring camp", "schedules": "MO 09:00-15:00 (2027-03-01 to 2027-04-30)"},
                 by="ana")  # fmt: skip
    progs = list_programs(store)
    locs = program_locations(progs, partners=store.partners(), schools=store.schools())
    out = esy_overlap(progs, schools=store.schools(), locations=locs,
                      window=(dt.date(2027, 7, 6), dt.date(2027, 8, 6)), reach_km=5, district="0640011")  # fmt: skip
    assert list(out["program"]) == ["Summer camp", "Summer camp"]
    assert list(out["school_id"]) == ["0640111", "0640611"]
    assert out.set_index("school_id").loc["0640611", "distance_km"] == pytest.approx(2.22, abs=0.02)
    assert out["shared_staffing"].all()


def _cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_program_framework_outcome_journey(store, capsys):
    loc = store.location
    code, out, _ = _cli(capsys, "program", "add", "--store", loc, "--name", "Parent Academy", "--partner", "lib-1",
                        "--school", "0640611", "--language", "es", "--schedule", "TU 18:00-20:00",
                        "--principle", "modeling_learning", "--impact", "connecting", "--by", "ana", "--json")  # fmt: skip
    assert code == 0
    pid = json.loads(out)["program_id"]
    code, out, _ = _cli(capsys, "framework", "--store", loc, "--school", "0640611", "--json")
    rows = json.loads(out)
    assert code == 0 and len(rows) == 7
    assert set(rows[0]) == {"principle", "programs", "highest_impact_level", "suggestions"}
    assert (
        rows[2]["programs"] == ["Parent Academy"]
        and rows[2]["highest_impact_level"] == "connecting"
    )
    code, out, _ = _cli(capsys, "program", "list", "--store", loc, "--open", "evening", "--json")
    assert [p["name"] for p in json.loads(out)] == ["Parent Academy"]
    # without a survey in the workspace there is nothing to fit (no shipped-file fallback)
    code, out, _ = _cli(capsys, "program", "list", "--store", loc, "--school", "0640611", "--json")
    assert code == 0 and "fits_families_best_times" not in json.loads(out)[0]
    # once the workspace keeps a survey (here the shipped synthetic one, as `init --survey`
    # or the Data page would save it): the school's published best-time shares it meets
    from assetmap.data import load_schools, survey_path
    from assetmap.needs import load_profile
    from assetmap.workspace import Workspace

    profile, _ = load_profile(survey_path(), schools=load_schools())
    Workspace(store).save_profile(profile, by="ana", source=str(survey_path()))
    code, out, _ = _cli(capsys, "program", "list", "--store", loc, "--school", "0640611", "--json")
    fit = json.loads(out)[0]["fits_families_best_times"]
    assert code == 0 and fit.startswith("weekday_evening (") and fit.endswith(" %)")
    code, out, _ = _cli(capsys, "program", "list", "--store", loc, "--open", "weekend", "--json")
    assert json.loads(out) == []
    code, _, _ = _cli(capsys, "outcome", "record", "--store", loc, "--program", pid, "--measure", "families_served",
                      "--value", "12", "--period", "2026-27", "--by", "ana")  # fmt: skip
    assert code == 0
    code, out, _ = _cli(
        capsys, "outcome", "progress", "--store", loc, "--school", "0640611", "--json"
    )
    served = [r for r in json.loads(out) if r["measure"] == "families_served"][0]
    assert served["actual"] == 12 and served["needed"] == 50


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["framework", "--store", "S"], "--school ID or --district ID"),
        (["framework", "--store", "S", "--school", "9999999"], "no school '9999999'"),
        (["program", "add", "--store", "S", "--name", "X", "--schedule", "Tuesday nights", "--by", "a"],
         "not understood"),
        (["program", "add", "--store", "S", "--name", "X", "--impact", "huge", "--by", "a"], "impact_level 'huge'"),
        (["outcome", "record", "--store", "S", "--school", "0640611", "--measure", "smiles", "--value", "1",
          "--period", "x", "--by", "a"], "measure 'smiles'"),
        (["program"], "give an action"),
        (["esy", "--store", "S", "--district", "123"], "no district '123'"),
    ],
)  # fmt: skip
def test_cli_bad_input_exits_2_without_traceback(store, capsys, args, match):
    code, _, err = _cli(capsys, *[store.location if a == "S" else a for a in args])
    assert code == 2 and match in err and "Traceback" not in err


def test_cli_framework_on_the_shipped_workspace(tmp_path, capsys):
    """The issue's check: `assetmap framework --school 0640611 --json` prints 7 rows."""
    code, out, _ = _cli(capsys, "framework", "--store", str(tmp_path / "shipped.gpkg"), "--school", "0640611",
                        "--json")  # fmt: skip
    rows = json.loads(out)
    assert code == 0 and len(rows) == 7
    assert all(r["suggestions"] for r in rows)  # nothing recorded yet: every principle gets plays
