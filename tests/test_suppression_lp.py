"""Issue 10 (2): no suppressed survey cell has exact linear bounds.

Checked by an independent attacker (tests/_lp_check.py: scipy HiGHS over the published rows
alone, sharing no code with the engine) on the shipped survey, on ``needs --json`` and on
generated surveys. Before the fix, Parkville Community School (0641511) in the shipped
survey had 10 suppressed cells pinned to their true values (the Pashto family's needs).
"""

from __future__ import annotations

import json
import logging
from unittest import mock

import pandas as pd
import pytest
from _lp_check import exposed_cells
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_suppress import families, profile_of

import assetmap.suppress as engine
from assetmap.cli import main
from assetmap.needs import load_profile
from assetmap.suppress import publish, recoverable_cells

PARKVILLE = "0641511"


@pytest.fixture(scope="module")
def shipped():
    from assetmap.data import load_schools, survey_path

    profile, _ = load_profile(survey_path(), schools=load_schools())
    return profile


def test_shipped_survey_leaves_no_cell_with_exact_bounds(shipped):
    pub = shipped.published()
    assert pub["suppressed"].sum() > 1000
    exposed = exposed_cells(pub)
    assert exposed.empty, exposed.to_string()
    park = pub[(pub["school_id"] == PARKVILLE) & (pub["dimension"] == "language")]
    assert park.set_index("language").loc["ps", "suppressed"]


def test_the_margin_engine_alone_leaked_parkville_and_both_checkers_see_it(shipped):
    """Non-vacuous: without the exact-bounds pass the Parkville cells are pinned, and both
    the independent solver and the library's recoverable_cells find them."""
    with mock.patch.object(engine, "_harden", lambda sup, bounds: sup.supp):
        old = publish(shipped)
    exposed = exposed_cells(old)
    assert set(exposed["school_id"]) == {PARKVILLE}
    assert len(exposed) == 10
    ps = exposed[(exposed["dimension"] == "language") & (exposed["language"] == "ps")]
    assert len(ps) == 1 and ps.iloc[0]["lo"] == ps.iloc[0]["hi"] == 1
    rec = recoverable_cells(old)
    assert set(rec["school_id"]) == {PARKVILLE} and len(rec) == 10
    assert recoverable_cells(shipped.published()).empty


def test_needs_json_on_the_shipped_survey_passes_the_independent_check(capsys):
    from assetmap.data import survey_path

    assert main(["needs", "--json", "--survey", str(survey_path())]) == 0
    rows = json.loads(capsys.readouterr().out)
    pub = pd.DataFrame(rows)
    assert {"school_id", "dimension", "count", "display", "suppressed"} <= set(pub.columns)
    assert exposed_cells(pub).empty


def test_a_cell_pinned_only_by_need_x_language_le_language_gets_covered():
    """S0: total 7, housing 6 (all English) pinned en = 6 and pt = 1 although every margin
    had two hidden cells (found by generating surveys)."""
    spec = [
        [("pt", ["legal", "food"], 1), ("en", ["housing"], 6)],
        [("ht", ["housing"], 1), ("pt", [], 9), ("es", ["legal", "housing", "food"], 9)],
    ]
    pub = publish(profile_of(*[families(f"S{i}", s) for i, s in enumerate(spec)]))
    assert exposed_cells(pub).empty
    assert recoverable_cells(pub).empty


_family = st.tuples(
    st.sampled_from(["es", "en", "pt", "ht"]),
    st.lists(st.sampled_from(["food", "housing", "legal"]), max_size=3, unique=True),
    st.integers(min_value=1, max_value=12),
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    schools=st.lists(st.lists(_family, min_size=1, max_size=6), min_size=1, max_size=4),
    districts=st.booleans(),
)
def test_generated_surveys_leave_no_cell_with_exact_bounds(schools, districts):
    frames = [families(f"S{i}", s, district=f"D{i % 2}") for i, s in enumerate(schools)]
    with mock.patch.object(engine.log, "warning") as warn:
        pub = publish(profile_of(*frames), include_districts=districts)
    assert not warn.called, warn.call_args
    exposed = exposed_cells(pub)
    assert exposed.empty, exposed.to_string()
    shown = pd.to_numeric(pub["count"], errors="coerce")
    assert not ((shown >= 1) & (shown <= 5)).any()


def test_release_is_deterministic(shipped, caplog):
    caplog.set_level(logging.WARNING, logger="assetmap.suppress")
    a = publish(shipped)
    b = publish(shipped)
    assert a["suppressed"].equals(b["suppressed"])
    assert not caplog.records
