"""Matching: explainable, consistent scores; reach, zones and language coverage."""

from __future__ import annotations

import dataclasses
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import _analysis_world as world  # noqa: E402

from assetmap.match import MOU_PARTS, match_all, match_school  # noqa: E402
from assetmap.settings import get_settings  # noqa: E402


@pytest.fixture(scope="module")
def setup():
    return world.index(), world.profile(), world.schools()


def run(setup, **kw):
    idx, prof, sch = setup
    return match_all(partners_index=idx, profile=prof, schools=sch, **kw)


def test_score_is_recomputed_from_its_parts(setup):
    s = get_settings()
    res = run(setup)
    w = np.array(
        [s.weight_distance, s.weight_language, s.weight_capacity, s.weight_verified, s.weight_mou]
    )
    parts = res[
        ["distance_decay", "language_coverage", "capacity_part", "verified_part", "mou_part"]
    ].to_numpy(dtype=float)
    np.testing.assert_allclose(res["score"].to_numpy(dtype=float), parts @ w / w.sum(), rtol=1e-12)
    np.testing.assert_allclose(
        res["distance_decay"], np.exp(-res["distance_km"] / s.distance_decay_km), atol=1e-3
    )
    assert (res["mou_part"] == res["mou_status"].map(MOU_PARTS)).all()
    for r in res.itertuples():
        assert r.partner_name in r.explain and f"{r.score:.3f}" in r.explain


def test_components_hand_checked(setup):
    s = get_settings()
    res = run(setup)
    food = res[(res["school_id"] == "S_A") & (res["need"] == "food")].set_index("partner_id")
    es = food.loc["p_food_es"]
    assert es["distance_km"] == pytest.approx(1.0, abs=0.01)
    assert es["within_reach"] and es["reach_km"] == s.reach_for("food")
    # families: es 10, en 10, pt 10; English counts as covered by every partner
    assert es["language_coverage"] == pytest.approx(20 / 30)
    assert not es["language_coverage_estimated"]
    assert es["capacity_part"] == pytest.approx(100 / (100 + 30))
    assert es["verified_part"] == pytest.approx(0.5 ** (30 / s.stale_after_days))
    assert es["mou_part"] == 1.0 and not es["stale"]
    pt = food.loc["p_food_pt"]
    assert pt["capacity_part"] == 0.5 and pt["verified_part"] == 0.0 and pt["stale"]
    assert pt["mou_part"] == 0.5
    assert "p_food_far" not in food.index  # 40 km, beyond the 5 km food reach
    assert list(food["rank"]) == [1, 2]
    assert food["score"].is_monotonic_decreasing
    assert set(food["families_display"]) == {"30"}


def test_nearest_beyond_reach_when_nothing_within(setup):
    res = run(setup)
    legal = res[(res["school_id"] == "S_A") & (res["need"] == "legal")]
    assert len(legal) == 1
    row = legal.iloc[0]
    assert row["partner_id"] == "p_legal_far" and not row["within_reach"]
    assert row["distance_km"] == pytest.approx(60.0, abs=0.05)
    assert "beyond the 25 km reach" in row["explain"]


def test_attendance_zone_counts_as_within_reach(setup):
    idx, prof, sch = setup
    res = match_all(partners_index=idx, profile=prof, schools=sch, zones=world.zones())
    food = res[(res["school_id"] == "S_A") & (res["need"] == "food")].set_index("partner_id")
    far = food.loc["p_food_far"]
    assert far["in_zone"] and far["within_reach"] and far["distance_km"] > 39
    assert far["language_coverage"] == pytest.approx(1.0)
    assert "inside the attendance zone" in far["explain"]


def test_small_school_is_matched_without_its_figures(setup):
    res = run(setup)
    c = res[res["school_id"] == "S_C"]
    assert not c.empty
    assert set(c["families_display"]) == {"fewer than 6 responses"}
    assert (c["languages_needed"].map(len) == 0).all()


def test_weights_from_settings_and_match_school_agrees(setup):
    idx, prof, sch = setup
    s = dataclasses.replace(
        get_settings(),
        weight_distance=1.0,
        weight_language=0.0,
        weight_capacity=0.0,
        weight_verified=0.0,
        weight_mou=0.0,
    )
    res = match_school("S_A", partners_index=idx, profile=prof, schools=sch, settings=s)
    np.testing.assert_allclose(res["score"], res["distance_decay"])
    assert set(res["school_id"]) == {"S_A"}
    both = run(setup)
    one = match_school("S_B", partners_index=idx, profile=prof, schools=sch)
    sub = both[both["school_id"] == "S_B"].reset_index(drop=True)
    assert list(one["partner_id"]) == list(sub["partner_id"])
    assert all(math.isclose(a, b) for a, b in zip(one["score"], sub["score"], strict=True))


def _row_wise_explanations(res, idx, settings):
    """The reference: :func:`assetmap.match._explain` row by row (capacity from the index)."""
    from assetmap.match import _explain

    cap = dict(
        zip(
            idx.partners["partner_id"],
            pd.to_numeric(idx.partners["capacity"], errors="coerce"),
            strict=True,
        )
    )
    rows = res.assign(capacity=res["partner_id"].map(cap)).to_dict("records")
    return [_explain(r, settings) for r in rows]


@pytest.mark.parametrize("zoned", [False, True])
def test_column_wise_explanations_equal_the_row_wise_text(setup, zoned):
    idx, prof, sch = setup
    res = match_all(
        partners_index=idx, profile=prof, schools=sch, zones=world.zones() if zoned else None
    )
    assert res["explain"].tolist() == _row_wise_explanations(res, idx, get_settings())


def test_column_wise_explanations_equal_the_row_wise_text_on_shipped_data():
    from assetmap.data import load_partners, load_schools, survey_path
    from assetmap.index import PartnerIndex
    from assetmap.needs import load_profile

    schools = load_schools()
    profile, _ = load_profile(survey_path(), schools=schools)
    idx = PartnerIndex.build(load_partners())
    res = match_all(partners_index=idx, profile=profile, schools=schools)
    assert len(res) > 100
    assert res["explain"].tolist() == _row_wise_explanations(res, idx, get_settings())


def test_fixed_text_equals_python_formatting_including_rounding_ties():
    from assetmap.match import fixed_text

    rng = np.random.default_rng(3)
    values = np.concatenate(
        [
            rng.random(2000),
            rng.random(2000) * 80,
            np.arange(0, 2, 0.005),  # many decimal ties (0.125, 0.005 ...)
            np.array([0.0, -0.0, -1e-9, -0.3, 1e12, np.nan, np.inf, 0.145, 1.005, 2.675]),
        ]
    )
    for digits in (0, 1, 2, 3):
        got = fixed_text(values, digits).tolist()
        assert got == [f"{v:.{digits}f}" for v in values.tolist()], digits


def test_never_verified_partner_is_explained_as_such(setup):
    res = run(setup)
    row = res[(res["school_id"] == "S_A") & (res["partner_id"] == "p_food_pt")].iloc[0]
    assert "verified: never verified -> 0.00" in row["explain"]
    assert not res["explain"].str.contains("verified: nan").any()


def test_round_exact_equals_python_round_including_ties():
    from assetmap.match import round_exact

    rng = np.random.default_rng(8)
    values = np.concatenate(
        [rng.random(3000), rng.random(1000) * 90, np.arange(0, 3, 0.00005)[::7], [0.0, -0.0]]
    )
    values = np.concatenate([values, -values[:500]])
    for digits in (1, 3, 4):
        got = round_exact(values, digits)
        want = np.array([round(v, digits) for v in values.tolist()])
        assert np.array_equal(got, want), digits
