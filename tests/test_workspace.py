"""One workspace feeds every command, in any US region (issue 12).

A second, non-Connecticut region end to end on small real fixtures (tests/data/fl, see
tests/data/README.md): NCES schools of Miami-Dade and Broward (no district column, so they
are joined to the NCES district polygons), IMLS library systems, and a SYNTHETIC survey.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from assetmap.cli import main
from assetmap.workspace import Workspace

FL = Path(__file__).parent / "data" / "fl"
SCHOOLS = str(FL / "fl_schools_nces.csv")
DISTRICTS = str(FL / "fl_districts_nces_2021.geojson")
LIBRARIES = str(FL / "fl_libraries_imls_pls_fy2022.csv")
SURVEY = str(FL / "fl_survey_synthetic.csv")
ADA_MERRITT = "120039004072"  # NCES id, Miami (ZIP 33130)
MAIN_LIBRARY = "FSCS5023"  # Miami-Dade Public Library System, 101 W Flagler St


def _run(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _km(lat1, lon1, lat2, lon2) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def _no_connecticut(text: str) -> None:
    assert "Connecticut" not in text and "Hartford" not in text, text[:300]


@pytest.fixture(scope="module")
def files_ws(tmp_path_factory) -> str:
    """A workspace built from the district's own files."""
    loc = str(tmp_path_factory.mktemp("fl") / "miami.gpkg")
    code = main(["init", "--store", loc, "--schools", SCHOOLS, "--boundaries", DISTRICTS,
                 "--partners", LIBRARIES, "--survey", SURVEY, "--region-name", "Miami-Dade",
                 "--by", "tester"])  # fmt: skip
    assert code == 0
    return loc


@pytest.fixture(scope="module")
def state_ws(tmp_path_factory) -> str:
    """A workspace from a school list only: national layers fill in partners and districts."""
    loc = str(tmp_path_factory.mktemp("fl") / "florida.gpkg")
    code = main(["init", "--store", loc, "--state", "FL", "--schools", SCHOOLS,
                 "--survey", SURVEY, "--by", "tester"])  # fmt: skip
    assert code == 0
    return loc


def test_init_joins_schools_to_the_containing_district(files_ws):
    with Workspace.open(files_ws) as ws:
        sch = ws.schools().set_index("school_id")
        assert len(sch) == 6
        assert sch.loc[ADA_MERRITT, "district_id"] == "FL-13"
        assert sch.loc[ADA_MERRITT, "district_name"] == "Dade County School District"
        assert sch.loc["120018008260", "district_id"] == "FL-06"  # Coral Springs: Broward
        assert ws.region_name == "Miami-Dade"
        assert len(ws.partners(public=False)) == 5
        assert ws.profile() is not None and ws.profile().synthetic
        gaz = ws.gazetteer()
        assert "MIAMI SPRINGS" in set(gaz["name"])  # a school's city
        assert (gaz["kind"] == "zip").sum() > 33_000  # every US ZIP


def test_near_a_school_by_nces_id_and_a_zip_outside_connecticut(files_ws, capsys):
    code, out, _ = _run(capsys, "near", "--store", files_ws, "--school", ADA_MERRITT, "--json")
    assert code == 0
    got = json.loads(out)
    assert [r["partner_id"] for r in got][:2] == [MAIN_LIBRARY, "FSCS5020"]
    first = got[0]
    expected = _km(25.7705671, -80.2057597, first["lat"], first["lon"])
    assert abs(first["distance_km"] - expected) < 0.005
    _no_connecticut(out)

    code, out, _ = _run(capsys, "near", "--store", files_ws, "--place", "33130", "--limit", "2")
    assert code == 0
    assert out.startswith("2 partners near ZIP 33130")
    assert "MIAMI-DADE PUBLIC LIBRARY SYSTEM" in out
    _no_connecticut(out)

    code, _, err = _run(capsys, "near", "--store", files_ws, "--place", "Atlantis")
    assert code == 2 and "not a town, village or ZIP code of this workspace" in err
    _no_connecticut(err)


def test_an_edit_in_the_registry_is_seen_by_the_next_near(files_ws, capsys):
    args = ("near", "--store", files_ws, "--lat", "25.7741", "--lon", "-80.1969",
            "--radius-km", "50", "--language", "ht", "--json")  # fmt: skip
    code, out, _ = _run(capsys, *args)
    assert code == 0 and MAIN_LIBRARY not in {r["partner_id"] for r in json.loads(out)}
    code, _, err = _run(capsys, "store", "edit", "--store", files_ws, "--partner", MAIN_LIBRARY,
                        "--set", "languages=ht", "--by", "coordinator")  # fmt: skip
    assert code == 0, err
    code, out, _ = _run(capsys, *args)
    assert code == 0
    assert [r["partner_id"] for r in json.loads(out)] == [MAIN_LIBRARY]


def test_national_layers_answer_match_gaps_network_and_export(state_ws, tmp_path, capsys):
    with Workspace.open(state_ws) as ws:
        assert ws.region_name == "Florida"
        held = len(ws.partners(public=False))
        assert held > 500  # FL hospitals, colleges, library systems
        assert ws.schools().set_index("school_id").loc[ADA_MERRITT, "district_id"] == "FL-13"

    code, out, _ = _run(capsys, "match", "--store", state_ws, "--school", ADA_MERRITT, "--json")
    assert code == 0
    rows = json.loads(out)
    assert rows and {r["school_id"] for r in rows} == {ADA_MERRITT}
    assert all(r["partner_id"].startswith("us-") for r in rows)
    _no_connecticut(out)

    code, out, _ = _run(capsys, "gaps", "--store", state_ws, "--district", "FL-13", "--json")
    assert code == 0
    gaps = json.loads(out)
    assert {g["district_id"] for g in gaps["gaps"]} == {"FL-13"}
    _no_connecticut(out)

    net = tmp_path / "network.csv"
    code, _, err = _run(capsys, "network", "--store", state_ws, "--school", ADA_MERRITT,
                        "--out", str(net))  # fmt: skip
    assert code == 0, err
    frame = pd.read_csv(net, dtype=str, encoding="utf-8-sig")
    assert set(frame["school_id"]) == {ADA_MERRITT}
    assert (frame["role"] == "lead").any()
    _no_connecticut(net.read_text(encoding="utf-8-sig"))

    out_csv = tmp_path / "partners.csv"
    code, _, err = _run(capsys, "export", "--store", state_ws, "--out", str(out_csv))
    assert code == 0, err
    assert len(pd.read_csv(out_csv, dtype=str, encoding="utf-8-sig")) == held


def test_init_refuses_what_it_cannot_build(tmp_path, capsys):
    loc = str(tmp_path / "x.gpkg")
    code, _, err = _run(capsys, "init", "--store", loc, "--schools", SCHOOLS)
    assert code == 2 and "--boundaries FILE" in err
    code, _, err = _run(capsys, "init", "--store", loc, "--schools", SCHOOLS, "--state", "ZZ")
    assert code == 2 and "not a US state" in err
    ct = str(Path(__file__).parents[1] / "data" / "ct" / "schools.geojson")
    code, _, err = _run(capsys, "init", "--store", loc, "--schools", ct, "--boundaries", DISTRICTS)
    assert code == 2 and "no school lies inside the district polygons" in err
    assert not Path(loc).exists()  # nothing half-built is left behind


def test_a_workspace_without_a_survey_says_how_to_add_one(tmp_path, capsys):
    loc = str(tmp_path / "nosurvey.gpkg")
    assert main(["init", "--store", loc, "--schools", SCHOOLS, "--boundaries", DISTRICTS,
                 "--by", "t"]) == 0  # fmt: skip
    code, _, err = _run(capsys, "match", "--store", loc)
    assert code == 2 and "holds no family survey" in err and "--survey FILE" in err
    code, _, err = _run(
        capsys, "near", "--store", str(tmp_path / "missing.gpkg"), "--place", "33130"
    )
    assert code == 2 and "no such workspace" in err and "assetmap init" in err


def test_the_app_sees_a_terminal_edit_without_a_restart(files_ws, monkeypatch, capsys):
    """The app's loaders key their caches on the store's revision (ui/cache.py)."""
    import streamlit as st

    from assetmap.settings import get_settings

    monkeypatch.setenv("ASSETMAP_STORE_URL", files_ws)
    get_settings.cache_clear()
    st.cache_resource.clear()
    try:
        import sys

        root = str(Path(__file__).parents[1])
        if root not in sys.path:
            sys.path.insert(0, root)
        from ui import cache, widgets

        assert widgets.district_name(None) == "All of Miami-Dade"
        assert set(cache.schools()["district_id"]) == {"FL-06", "FL-13"}
        before = cache.public_partners().set_index("partner_id")
        assert "pt" not in before.loc["FSCS5025", "languages"]
        key = cache.data_key()
        code, _, err = _run(capsys, "store", "edit", "--store", files_ws, "--partner", "FSCS5025",
                            "--set", "languages=pt;es", "--by", "coordinator")  # fmt: skip
        assert code == 0, err
        assert cache.data_key() != key
        after = cache.public_partners().set_index("partner_id")
        assert set(after.loc["FSCS5025", "languages"]) == {"pt", "es"}
        hits = cache.public_index().radius(25.8969, -80.1818, 1.0, languages=["pt"])
        assert "FSCS5025" in set(hits["partner_id"])
    finally:
        st.cache_resource.clear()
        get_settings.cache_clear()


def test_uploads_take_effect_and_partners_wait_for_review(tmp_path, capsys):
    """Library side of the Data page: staged partners stay private until published; schools,
    boundaries and surveys saved into the workspace are what the next command reads."""
    from assetmap import review
    from assetmap.needs import load_profile
    from assetmap.schema import load_file

    loc = str(tmp_path / "uploads.gpkg")
    assert main(["init", "--store", loc, "--schools", SCHOOLS, "--boundaries", DISTRICTS,
                 "--by", "t"]) == 0  # fmt: skip
    libs, _ = load_file(LIBRARIES, kind="partners", region="United States")
    with Workspace.open(loc) as ws:
        staged = review.stage_partners(ws.store, libs, by="uploader")
        assert staged["added"] == 5
        assert len(ws.partners(public=True)) == 0  # the public sees no unreviewed row
        assert set(review.pending_partners(ws.store)["partner_id"]) == set(staged["partner_ids"])
        review.publish_partners(ws.store, [MAIN_LIBRARY], by="leader")
        review.reject_partners(ws.store, ["FSCS5010"], by="leader", reason="duplicate")
        assert list(ws.partners(public=True)["partner_id"]) == [MAIN_LIBRARY]
        assert "FSCS5010" not in set(ws.partners(public=False)["partner_id"])
        hist = ws.store.history("FSCS5010")
        assert "reviewed: rejected (duplicate)" in set(hist["note"].dropna())
        with pytest.raises(Exception, match="reason"):
            review.reject_partners(ws.store, ["FSCS5020"], by="leader", reason=" ")

        profile, _ = load_profile(SURVEY, schools=ws.schools())
        assert review.save_survey(ws.store, profile, by="leader", source="survey.csv") == 3
        assert ws.survey_info() == {"source": "survey.csv", "schools": 3, "synthetic": True}
    code, out, _ = _run(capsys, "needs", "--store", loc, "--json")
    assert code == 0 and {r["school_id"] for r in json.loads(out)} >= {ADA_MERRITT}


def test_the_app_pages_on_a_florida_workspace(state_ws, monkeypatch):
    """Find help, District map, School partners and Network pages read the FL workspace:
    its region name, its schools and ZIPs, and nothing from Connecticut."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from assetmap.auth import Principal
    from assetmap.settings import get_settings

    app = str(Path(__file__).parents[1] / "app.py")
    monkeypatch.setenv("ASSETMAP_STORE_URL", state_ws)
    get_settings.cache_clear()
    st.cache_resource.clear()
    st.cache_data.clear()

    def texts(at) -> str:
        kinds = ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error")
        parts = [str(e.value) for k in kinds for e in getattr(at, k)]
        parts += [str(e.proto.body) for e in at.get("html")]
        for sb in at.selectbox:
            parts += [str(o) for o in sb.options]
        return "\n".join(parts)

    try:
        at = AppTest.from_file(app, default_timeout=90)
        at.run()
        at.text_input(key="find_place").set_value("33130").run()
        assert not at.exception
        page = texts(at)
        assert "MIAMI-DADE PUBLIC LIBRARY SYSTEM" in page
        _no_connecticut(page)

        at = AppTest.from_file(app, default_timeout=90)
        at.session_state["principal"] = Principal("test-admin", "admin")
        at.run()
        at.switch_page("views/district_map.py").run()
        assert not at.exception
        assert "All of Florida" in at.selectbox(key="dm_district").options
        _no_connecticut(texts(at))

        at.switch_page("views/school_partners.py").run()
        assert not at.exception
        at.selectbox(key="sp_school").set_value(ADA_MERRITT).run()
        assert not at.exception
        page = texts(at)
        assert "ADA MERRITT" in page
        _no_connecticut(page)
    finally:
        st.cache_resource.clear()
        st.cache_data.clear()
        get_settings.cache_clear()


@pytest.mark.postgis
def test_a_workspace_in_postgis_answers_the_same(capsys):
    """The same FL workspace built in PostGIS: tables, facts and the revision token work on
    both back ends."""
    from _postgis import shared_server  # stopped at exit (atexit) by its last user

    url = shared_server().new_database()
    assert main(["init", "--store", url, "--schools", SCHOOLS, "--boundaries", DISTRICTS,
                 "--partners", LIBRARIES, "--survey", SURVEY, "--by", "t"]) == 0  # fmt: skip
    with Workspace.open(url) as ws:
        assert ws.region_name == "the region"  # two districts, no --region-name
        assert ws.profile() is not None
        rev = ws.revision()
    code, out, _ = _run(capsys, "near", "--store", url, "--place", "33130", "--json")
    assert code == 0 and json.loads(out)[0]["partner_id"] == MAIN_LIBRARY
    assert main(["store", "edit", "--store", url, "--partner", "FSCS5020", "--set",
                 "languages=ht", "--by", "t"]) == 0  # fmt: skip
    with Workspace.open(url) as ws:
        assert ws.revision() != rev
        assert "ht" in ws.partners().set_index("partner_id").loc["FSCS5020", "languages"]


def test_offline_geocoding_uses_the_workspace_gazetteer(files_ws, tmp_path, capsys):
    src = tmp_path / "addresses.csv"
    src.write_text(
        "Address,City,State,Zip\n"
        "660 SW 3rd St,Miami,FL,33130\n"
        "1 Main St,Miami Springs,FL,\n"
        "2 Elm St,Nowhere,FL,\n",
        encoding="utf-8",
    )
    out = tmp_path / "geocoded.csv"
    code, _, err = _run(capsys, "geocode", str(src), str(out), "--offline", "--store", files_ws,
                        "--no-progress")  # fmt: skip
    assert code == 0, err
    got = pd.read_csv(out, dtype=str, encoding="utf-8-sig")
    assert list(got["geocode_quality"].fillna("")) == ["zip", "town", "none"]
    lat, lon = float(got.loc[0, "lat"]), float(got.loc[0, "lon"])
    assert 25.76 < lat < 25.79 and -80.22 < lon < -80.19  # ZCTA 33130 internal point


def test_the_app_school_picker_tells_shared_names_apart():
    """'Center School' is the name of 4 Connecticut schools: the picker shows town and id."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from assetmap.auth import Principal
    from assetmap.settings import get_settings

    get_settings.cache_clear()
    st.cache_resource.clear()
    try:
        at = AppTest.from_file(str(Path(__file__).parents[1] / "app.py"), default_timeout=90)
        at.session_state["principal"] = Principal("test-admin", "admin")
        at.run()
        at.switch_page("views/school_partners.py").run()
        assert not at.exception
        options = at.selectbox(key="sp_school").options
        centers = [o for o in options if o.startswith("Center School")]
        assert len(centers) == 4 and "Center School — Ellington (0480111)" in centers
        assert "Hartford Public High School — Hartford" in options  # a unique name stays short
    finally:
        st.cache_resource.clear()
        get_settings.cache_clear()


def test_best_times_are_kept_in_the_workspace_never_read_from_shipped_files(files_ws):
    """The Programs page and `program list --school` read best times from the workspace's
    survey aggregates: the shipped survey's figures never show up in another region."""
    from assetmap.data import load_schools, survey_path
    from assetmap.schedules import load_best_times

    with Workspace.open(files_ws) as ws:  # the Florida survey asks no best times
        assert ws.profile() is not None and ws.profile().best_times() is None
    with Workspace.open() as ws:  # the default workspace, seeded from the shipped survey
        kept = ws.profile().best_times()
    direct = load_best_times(survey_path(), schools=load_schools())
    key = ["school_id", "time"]
    kept = kept.sort_values(key).reset_index(drop=True)
    direct = direct.sort_values(key).reset_index(drop=True)
    assert len(kept) == len(direct) > 0
    assert kept["suppressed"].tolist() == direct["suppressed"].tolist()
    for col in ("families", "respondents"):  # hidden cells stay hidden after the round trip
        assert [None if pd.isna(v) else int(v) for v in kept[col]] == [
            None if pd.isna(v) else int(v) for v in direct[col]
        ]
    with pytest.raises(TypeError):
        load_best_times()
