"""Gaps, language deserts and E2SFCA accessibility (checked against PySAL access)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from access import Access, weights

sys.path.insert(0, str(Path(__file__).parent))
import _analysis_world as world  # noqa: E402

from assetmap.coverage import (  # noqa: E402
    accessibility,
    e2sfca,
    gaps,
    gaps_by_district,
    step_weights,
)


@pytest.fixture(scope="module")
def gap_frame():
    return gaps(partners_index=world.index(), profile=world.profile(), schools=world.schools())


def test_need_gap_with_nearest_partner_beyond_reach(gap_frame):
    legal = gap_frame[(gap_frame["school_id"] == "S_A") & (gap_frame["need"] == "legal")]
    assert len(legal) == 1
    row = legal.iloc[0]
    assert row["gap_kind"] == "need" and row["language"] is None
    assert row["nearest_partner_id"] == "p_legal_far"
    assert row["nearest_distance_km"] == pytest.approx(60.0, abs=0.05)
    assert row["reach_km"] == 25.0
    assert row["families_display"] == "10"


def test_language_desert(gap_frame):
    b = gap_frame[gap_frame["school_id"] == "S_B"]
    assert list(zip(b["need"], b["language"], b["gap_kind"], strict=True)) == [
        ("tutoring", "so", "language")
    ]
    row = b.iloc[0]
    assert row["nearest_partner_id"] == "p_tutor_so"
    assert row["nearest_distance_km"] == pytest.approx(30.0, abs=0.05)
    assert row["families_display"] == "7"
    # food at S_A: es and pt partners within reach, English always covered -> no desert
    a_food = gap_frame[(gap_frame["school_id"] == "S_A") & (gap_frame["need"] == "food")]
    assert a_food.empty


def test_small_school_gaps_show_no_figures(gap_frame):
    c = gap_frame[gap_frame["school_id"] == "S_C"]
    assert not c.empty and set(c["gap_kind"]) == {"need"}
    assert set(c["families_display"]) == {"fewer than 6 responses"}


def test_gaps_by_district(gap_frame):
    roll = gaps_by_district(gap_frame)
    d1 = roll[roll["district_id"] == "D1"].set_index(["need", "gap_kind"])
    assert d1.loc[("legal", "need"), "schools"] == 1
    assert d1.loc[("tutoring", "language"), "language"] == "so"


def test_e2sfca_hand_computed():
    # two demand sites (10 and 20 families) at 1 and 15 km from one partner with capacity 6
    a = e2sfca(
        np.array([10.0, 20.0]),
        np.array([6.0]),
        np.array([0, 1]),
        np.array([0, 0]),
        np.array([1.0, 15.0]),
        bands=((10.0, 1.0), (20.0, 0.68), (30.0, 0.22)),
    )
    r = 6 / (10 * 1.0 + 20 * 0.68)
    np.testing.assert_allclose(a, [r, 0.68 * r], rtol=1e-12)
    np.testing.assert_array_equal(
        step_weights(np.array([0, 10, 10.5, 30, 31]), ((10, 1), (20, 0.5), (30, 0.2))),
        [1, 1, 0.5, 0.2, 0],
    )


@pytest.mark.filterwarnings("ignore:The inplace keyword")
def test_e2sfca_equals_pysal_access_on_a_grid():
    # 6 x 6 grid of demand points 1 km apart, three providers; Euclidean distances
    xs, ys = np.meshgrid(np.arange(6.0), np.arange(6.0))
    dem_xy = np.column_stack([xs.ravel(), ys.ravel()])
    demand = np.arange(1, 37, dtype=float) * 3
    sup_xy = np.array([[0.5, 0.5], [4.2, 1.0], [2.5, 4.5]])
    supply = np.array([5.0, 12.0, 7.0])
    bands = {1.5: 1.0, 3.0: 0.68, 4.5: 0.22}
    d = np.linalg.norm(dem_xy[:, None, :] - sup_xy[None, :, :], axis=2)
    i, j = np.nonzero(d <= 4.5)
    ours = e2sfca(demand, supply, i, j, d[i, j], bands=tuple(bands.items()))
    cost = pd.DataFrame({"origin": i, "dest": j, "cost": d[i, j]})
    acc = Access(
        demand_df=pd.DataFrame({"id": np.arange(36), "pop": demand}),
        demand_index="id",
        demand_value="pop",
        supply_df=pd.DataFrame({"id": np.arange(3), "cap": supply}),
        supply_index="id",
        supply_value="cap",
        cost_df=cost,
        cost_origin="origin",
        cost_dest="dest",
        cost_name="cost",
    )
    res = acc.enhanced_two_stage_fca(weight_fn=weights.step_fn(bands))
    theirs = res.iloc[:, 0].reindex(np.arange(36)).fillna(0.0).to_numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)
    # known answer: every provider's supply is fully allocated to the demand that reaches it
    np.testing.assert_allclose((ours * demand).sum(), supply.sum(), rtol=1e-12)


def test_accessibility_adapter():
    idx, prof, sch = world.index(), world.profile(), world.schools()
    res = accessibility(partners_index=idx, profile=prof, need="food", schools=sch)
    res = res.set_index("place_id")
    assert set(res.index) == {"S_A", "S_B", "S_C"}
    # bands for food (reach 5 km): <=5/3 km 1, <=10/3 km 0.68, <=5 km 0.22.
    # es pantry (cap 100): S_A at 1 km (30 families, w 1) and S_C at 3.5 km (small school:
    # weight 1 per need, w 0.22); pt centre (cap unknown -> 1): S_A at 3 km (w 0.68) only.
    r_es = 100 / (30 * 1.0 + 1 * 0.22)
    r_pt = 1 / (30 * 0.68)
    expect = 1.0 * r_es + 0.68 * r_pt
    assert res.loc["S_A", "access"] == pytest.approx(expect, rel=1e-9)
    assert res.loc["S_A", "demand_display"] == "30"
    assert res.loc["S_C", "demand_display"] == "fewer than 6 responses"


def test_accessibility_per_town_sums_school_demand():
    import geopandas as gpd
    from shapely.geometry import box

    a, c = world.A, world.C
    towns = gpd.GeoDataFrame(
        {"boundary_id": ["T1", "T2"], "name": ["North Town", "Far Town"]},
        geometry=[
            box(a[1] - 0.02, c[0] - 0.005, a[1] + 0.02, a[0] + 0.005),  # holds S_A and S_C
            box(-71.0, 41.0, -70.9, 41.1),  # no school, no partner
        ],
        crs="EPSG:4326",
    )
    res = accessibility(
        towns,
        partners_index=world.index(),
        profile=world.profile(),
        need="food",
        schools=world.schools(),
    ).set_index("place_id")
    assert list(res.index) == ["T1", "T2"]
    assert res.loc["T1", "access"] > 0 and res.loc["T2", "access"] == 0
    assert (res["demand_display"] == "").all()


# ------------------------------------------------------------ unknown is not "no" (languages)


def _with_tutor(languages: str | None):
    """The world plus one tutoring partner 1 km from Beta School (ar 8, so 7 families)."""
    import geopandas as gpd

    from assetmap.index import PartnerIndex
    from assetmap.model import conform_partners

    extra = conform_partners(
        gpd.GeoDataFrame(
            {
                "partner_id": ["p_tutor_new"],
                "name": ["Neighbourhood Tutors"],
                "category": ["youth_development"],
                "services": ["tutoring"],
                "languages": [languages],
                "phone": ["860-000-0001"],
            },
            geometry=[world.north_of(world.B, 1.0)],
            crs="EPSG:4326",
        )
    )
    both = pd.concat([world.partners(), extra], ignore_index=True)
    return PartnerIndex.build(gpd.GeoDataFrame(both, geometry="geometry", crs="EPSG:4326"))


def _b_tutoring_gaps(index):
    g = gaps(["S_B"], partners_index=index, profile=world.profile(), schools=world.schools())
    return g[g["need"] == "tutoring"]


def test_every_gap_row_has_a_reason(gap_frame):
    from assetmap.coverage import GAP_REASONS

    assert set(gap_frame["reason"]) <= set(GAP_REASONS)
    need_rows = gap_frame[gap_frame["gap_kind"] == "need"]
    assert (need_rows["reason"] == "no_partner_within_reach").all()
    # Beta: the Arabic tutors in reach have recorded languages, none is Somali
    so = gap_frame[(gap_frame["school_id"] == "S_B") & (gap_frame["language"] == "so")]
    assert list(so["reason"]) == ["language_not_offered"]
    roll = gaps_by_district(gap_frame)
    assert "reason" in roll.columns and set(roll["reason"]) <= set(GAP_REASONS)


def test_unknown_languages_make_a_language_unknown_gap_that_entering_them_closes():
    # a tutoring partner in reach with no languages recorded: the Somali gap is not a
    # "not offered" gap any more, it is a data gap
    unknown = _b_tutoring_gaps(_with_tutor(None))
    assert list(zip(unknown["language"], unknown["reason"], strict=True)) == [
        ("so", "language_unknown")
    ]
    # someone calls them: they tutor in Somali and English -> no gap at all
    assert _b_tutoring_gaps(_with_tutor("so;en")).empty
    # ... or they do not: the gap is real, and says so
    told = _b_tutoring_gaps(_with_tutor("en"))
    assert list(zip(told["language"], told["reason"], strict=True)) == [
        ("so", "language_not_offered")
    ]


def test_matching_scores_unknown_languages_as_unknown_not_english_only():
    from assetmap.match import match_school

    def row(langs):
        m = match_school(
            "S_B", partners_index=_with_tutor(langs), profile=world.profile(),
            schools=world.schools(),
        )  # fmt: skip
        return m[(m["need"] == "tutoring") & (m["partner_id"] == "p_tutor_new")].iloc[0]

    unknown, english = row(None), row("en")
    # English-only: only the 12 English-speaking families of 27 are covered
    assert english["languages_known"] and english["language_coverage"] == pytest.approx(12 / 27)
    # unknown: the sure share plus half of the rest; ranked above a known English-only site
    assert not unknown["languages_known"]
    assert unknown["language_coverage"] == pytest.approx(12 / 27 + 0.5 * 15 / 27)
    assert unknown["score"] > english["score"]
    assert "languages not recorded (unknown, not English-only)" in unknown["explain"]


# ------------------------------------------- honest coverage, completeness and the call list


def test_coverage_counts_surveyed_schools_only():
    from assetmap.coverage import need_coverage
    from assetmap.match import prepare

    ctx = prepare(partners_index=world.index(), profile=world.profile(), schools=world.schools())
    # the district has 1,013 schools; 3 have survey data: never count the others as covered
    cov = need_coverage(ctx, n_schools=1013).set_index("need")
    assert set(cov["surveyed_text"]) == {"3 of 1,013 schools surveyed"}
    assert (cov["schools_surveyed"] == 3).all()
    food = cov.loc["food"]
    assert food["schools_with_need"] >= 1
    assert food["covered_pct"] == pytest.approx(
        100.0 * food["schools_covered"] / food["schools_with_need"], abs=0.05
    )
    legal = cov.loc["legal"]  # Alpha reported legal help; the only legal aid is 60 km away
    assert legal["schools_covered"] == 0 and legal["covered_pct"] == 0.0
    d1 = need_coverage(ctx, school_ids=["S_A", "S_B", "X1", "X2"], n_schools=4)
    assert set(d1["surveyed_text"]) == {"2 of 4 schools surveyed"}
    d1 = d1.set_index("need")
    assert pd.isna(d1.loc["transportation", "covered_pct"])  # nobody reported it: no figure
    assert d1.loc["tutoring", "covered_pct"] == 100.0


def test_completeness_shares_per_category():
    from assetmap.completeness import completeness

    p = world.partners()
    p.loc[p["partner_id"] == "p_food_es", "hours"] = "Mon 9-12"
    out = completeness(p).set_index("category")
    row = out.loc["human_services"]
    assert row["partners"] == 6 and row["with_languages"] == 6 and row["with_phone"] == 6
    assert row["with_hours"] == 1 and row["pct_hours"] == pytest.approx(16.7)
    assert row["with_last_verified"] == 4
    assert out.loc["(all)", "partners"] == 6


def test_call_list_ranks_partners_whose_languages_would_close_gaps():
    from assetmap.completeness import call_list
    from assetmap.match import prepare

    index = _with_tutor(None)  # an unrecorded tutoring partner next to Beta School
    ctx = prepare(partners_index=index, profile=world.profile(), schools=world.schools())
    g = gaps(profile=world.profile(), context=ctx)
    calls = call_list(ctx, g)
    assert list(calls["partner_id"]) == ["p_tutor_new"]
    row = calls.iloc[0]
    assert row["rank"] == 1 and row["phone"] == "860-000-0001"
    assert row["missing"] == ["languages", "hours"]
    assert row["gaps_resolvable"] == 1 and row["languages_to_ask"] == ["so"]
    # nothing to call about once every partner in reach has its languages recorded
    ctx2 = prepare(
        partners_index=_with_tutor("en"), profile=world.profile(), schools=world.schools()
    )
    assert call_list(ctx2, gaps(profile=world.profile(), context=ctx2)).empty
