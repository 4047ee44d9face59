"""AppTest: the Programs, Framework and Plays pages and Find help's "When can you go?".

Drives the real ``app.py`` router on the shipped data with the registry in a temporary
folder; a program is saved through the Programs form and then seen by the other pages.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from assetmap.auth import Principal  # noqa: E402

APP = str(ROOT / "app.py")
TIMEOUT = 90
SCHOOL, DISTRICT, LIBRARY = (
    "0640611",
    "0640011",
    "pls-6400",
)  # Burns Latino Studies Academy, Hartford PL


@pytest.fixture(autouse=True, scope="module")
def _registry_in_a_temp_dir(tmp_path_factory):
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


def _app(role: str | None = None, **scope) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if role:
        at.session_state["principal"] = Principal(f"test-{role}", role, **scope)
    return at


def _html(at: AppTest) -> str:
    return "\n".join(str(e.proto.body) for e in at.get("html"))


def _frame(at: AppTest, column: str):
    """The first dataframe on the page with this column."""
    for df in at.dataframe:
        if column in df.value.columns:
            return df.value
    raise AssertionError(f"no dataframe with a {column!r} column")


@pytest.mark.parametrize("page", ["views/programs.py", "views/framework.py", "views/plays.py"])
def test_new_staff_pages_stop_for_a_public_session(page):
    at = AppTest.from_file(str(ROOT / page), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert any("sign in" in w.value.lower() for w in at.warning)
    assert not at.dataframe and not at.download_button and not at.file_uploader


def test_journey_add_program_see_it_on_find_help_framework_and_record_outcome():
    coordinator = {"schools": frozenset({SCHOOL})}
    # the Framework page before: principle 3 has no program at the school
    at = _app("coordinator", **coordinator).run()
    at.switch_page("views/framework.py").run()
    assert not at.exception
    before = _frame(at, "suggestions").set_index("principle")
    assert before.loc["3. Modelling high-quality learning", "programs"] == ""
    assert before.loc["3. Modelling high-quality learning", "suggestions"].endswith(" plays")
    assert "A Parent Academy (District leaders) — partners within reach:" in _html(at)

    # add the Parent Academy on the Programs page
    at = _app("coordinator", **coordinator).run()
    at.switch_page("views/programs.py").run()
    assert not at.exception
    at.text_input(key="prog_name").set_value("Parent Academy")
    at.selectbox(key="prog_partner").set_value(LIBRARY)
    at.multiselect(key="prog_schools").set_value([SCHOOL])
    at.multiselect(key="prog_langs").set_value(["es"])
    at.multiselect(key="prog_principles").set_value(["modeling_learning", "family_leadership"])
    at.selectbox(key="prog_impact").set_value("connecting")
    at.multiselect(key="prog_days").set_value(["TU"])
    at.time_input(key="prog_opens").set_value(dt.time(18, 0))
    at.time_input(key="prog_closes").set_value(dt.time(20, 0))
    at.button[0].click()  # the form's submit button is the only button before any save
    at.run()
    assert not at.exception
    assert any("Saved “Parent Academy”" in s.value for s in at.success), [e.value for e in at.error]

    # Find help, evenings: the program and its library are listed
    fh = _app().run()
    fh.text_input(key="find_place").set_value("06106").run()
    fh.session_state["find_when"] = "evening"
    fh.run()
    assert not fh.exception
    html = _html(fh)
    assert "Programs and classes" in [s.value for s in fh.subheader]
    assert "Parent Academy" in html and "Hartford Public Library" in html and "18:00–20:00" in html
    # weekends: not the Parent Academy
    fh.session_state["find_when"] = "weekend"
    fh.run()
    assert "Parent Academy" not in _html(fh)

    # the Framework page after: principle 3 is served at the connecting level
    at = _app("coordinator", **coordinator).run()
    at.switch_page("views/framework.py").run()
    after = _frame(at, "suggestions").set_index("principle")
    assert after.loc["3. Modelling high-quality learning", "programs"] == "Parent Academy"
    assert after.loc["3. Modelling high-quality learning", "highest_impact_level"] == "Connecting"
    assert after.loc["3. Modelling high-quality learning", "suggestions"] == ""

    # record 12 families served
    at = _app("coordinator", **coordinator).run()
    at.switch_page("views/programs.py").run()
    at.selectbox(key="out_measure").set_value("families_served")
    at.number_input(key="out_value").set_value(12)
    submit = [b for b in at.button if b.label == "Record"][0]
    submit.click()
    at.run()
    assert not at.exception
    assert any("Recorded 12 families served" in s.value for s in at.success), [
        e.value for e in at.error
    ]
    assert at.download_button  # the outcome history can be downloaded

    # the district view shows the progress
    leader = _app("leader", districts=frozenset({DISTRICT})).run()
    leader.switch_page("views/framework.py").run()
    leader.radio(key="fw_scope").set_value("district").run()
    assert not leader.exception
    prog = _frame(leader, "target")
    row = prog[(prog.school_id == SCHOOL) & (prog.measure == "families_served")].iloc[0]
    assert row["actual"] == 12 and row["needed"] == 50


def test_plays_page_lists_every_role():
    at = _app("leader", districts=frozenset({DISTRICT})).run()
    at.switch_page("views/plays.py").run()
    assert not at.exception
    assert len(at.tabs) == 4
    titles = " ".join(" ".join(df.value["title"]) for df in at.dataframe)
    assert (
        "Relational home visits" in titles
        and "Interactive homework" in titles
        and "Serve as a leader" in titles
    )


def test_find_help_program_cards_escape_program_text_and_hide_staff_only_programs():
    import os

    from assetmap.programs import save_program
    from assetmap.store import open_store

    AppTest.from_file(
        APP, default_timeout=TIMEOUT
    ).run()  # the app fills the registry on first start
    with open_store(os.environ["ASSETMAP_STORE_URL"]) as store:
        save_program(
            store,
            {"name": "<script>window.__pwned=1</script>Homework club", "partner_id": LIBRARY,
             "schedules": "SA 10:00-12:00", "languages": ["es"]},
            by="test",
        )  # fmt: skip
        save_program(
            store,
            {"name": "Staff planning night", "partner_id": LIBRARY, "schedules": "SA 09:00-11:00", "public": False},
            by="test",
        )  # fmt: skip
    fh = _app().run()
    fh.text_input(key="find_place").set_value("06106").run()
    fh.session_state["find_when"] = "weekend"
    fh.run()
    html = _html(fh)
    assert "Homework club" in html and "&lt;script&gt;" in html and "<script>window" not in html
    assert "Staff planning night" not in html


def test_staff_edit_a_program_keeps_versions_and_can_retire_it():
    import os

    from assetmap.programs import list_programs, program_history
    from assetmap.store import open_store

    at = _app("admin").run()
    at.switch_page("views/programs.py").run()
    at.text_input(key="prog_name").set_value("Community Cafe nights")
    at.selectbox(key="prog_partner").set_value(LIBRARY)
    at.multiselect(key="prog_days").set_value(["TH"])
    [b for b in at.button if b.label == "Save program"][0].click()
    at.run()
    assert any("version 1" in s.value for s in at.success), [e.value for e in at.error]
    with open_store(os.environ["ASSETMAP_STORE_URL"]) as store:
        pid = [p for p in list_programs(store) if p["name"] == "Community Cafe nights"][0][
            "program_id"
        ]
    at = _app("admin").run()
    at.switch_page("views/programs.py").run()
    at.selectbox(key="prog_edit").set_value(pid).run()
    # the form is filled from the stored program
    assert at.text_input(key="prog_name").value == "Community Cafe nights"
    assert at.multiselect(key="prog_days").value == ["TH"]
    at.multiselect(key="prog_principles").set_value(["listening"])
    [b for b in at.button if b.label == "Save program"][0].click()
    at.run()
    assert any("version 2" in s.value for s in at.success), [e.value for e in at.error]
    [b for b in at.button if b.label == "Retire this program"][0].click()
    at.run()
    assert any("Retired" in s.value for s in at.success)
    with open_store(os.environ["ASSETMAP_STORE_URL"]) as store:
        hist = program_history(store, pid)
        assert [h["action"] for h in hist] == ["create", "update", "retire"]
        assert hist[1]["record"]["principles"] == ["listening"]
        assert pid not in {p["program_id"] for p in list_programs(store)}


def test_a_school_level_outcome_without_a_program_is_scoped_to_own_schools():
    at = _app("coordinator", schools=frozenset({SCHOOL})).run()
    at.switch_page("views/programs.py").run()
    at.selectbox(key="out_program").set_value("")
    at.selectbox(key="out_measure").set_value("home_visits_completed")
    at.number_input(key="out_value").set_value(30)
    [b for b in at.button if b.label == "Record"][0].click()
    at.run()
    assert any("Choose the school" in e.value for e in at.error)
    at.selectbox(key="out_school").set_value(SCHOOL)
    [b for b in at.button if b.label == "Record"][0].click()
    at.run()
    assert any("Recorded 30 home visits completed for Burns" in s.value for s in at.success), [
        e.value for e in at.error
    ]
    # the coordinator's school list holds only their school: no way to pick another one
    assert at.selectbox(key="out_school").options[1:] == ["Burns Latino Studies Academy"]
