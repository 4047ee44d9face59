"""Schedules, opening hours and best times: slots with answers known in advance."""

from __future__ import annotations

import pandas as pd
import pytest

from assetmap._errors import InputError
from assetmap.schedules import (
    best_times_profile,
    hours_slots,
    normalise_schedule,
    parse_open,
    schedule_text,
    slots,
    times_fit,
)


@pytest.mark.parametrize(
    ("sched", "expected"),
    [
        ({"byday": "TU", "opens_at": "18:00", "closes_at": "20:00"}, {"weekday_evening"}),
        ({"byday": "SA", "opens_at": "10:00", "closes_at": "12:00"}, {"weekend"}),
        ({"byday": "MO", "opens_at": "9:00", "closes_at": "11:00"}, {"weekday_morning", "weekday_day"}),
        # 16:30-17:30 has only 30 minutes in the evening window: not an evening session
        ({"byday": "WE", "opens_at": "16:30", "closes_at": "17:30"}, set()),
        (
            {"byday": "Mon-Fri", "opens_at": "09:00", "closes_at": "15:00",
             "valid_from": "2027-06-28", "valid_to": "2027-08-13"},
            {"weekday_morning", "weekday_day", "summer"},
        ),
        # dated, but only in the school year: not summer
        ({"byday": "TH", "opens_at": "18:00", "closes_at": "19:30",
          "valid_from": "2026-09-01", "valid_to": "2027-05-31"}, {"weekday_evening"}),
    ],
)  # fmt: skip
def test_schedule_slots(sched, expected):
    assert slots(sched) == expected


def test_normalise_and_text():
    s = normalise_schedule({"byday": "tue, thu", "opens_at": "6:00", "closes_at": "8:30"})
    assert s["byday"] == "TU,TH" and s["opens_at"] == "06:00" and s["freq"] == "WEEKLY"
    assert schedule_text({**s, "valid_from": "2027-07-01"}) == "TU TH 06:00-08:30 (2027-07-01 to …)"


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ({"byday": "XX", "opens_at": "18:00", "closes_at": "20:00"}, "day 'XX'"),
        ({"byday": "TU", "opens_at": "20:00", "closes_at": "18:00"}, "not after opens_at"),
        ({"byday": "TU", "opens_at": "7pm", "closes_at": "20:00"}, "HH:MM"),
        ({"opens_at": "18:00", "closes_at": "20:00"}, "needs its days"),
        (
            {"byday": "TU", "opens_at": "18:00", "closes_at": "20:00", "valid_from": "soon"},
            "YYYY-MM-DD",
        ),
    ],
)
def test_bad_schedules_name_the_field(bad, match):
    with pytest.raises(InputError, match=match):
        normalise_schedule(bad)


@pytest.mark.parametrize(
    ("hours", "expected"),
    [
        ("Mon-Thu 18:00-20:30", {"weekday_evening"}),
        ("Tue, Thu 17:00-19:00; Sat 10:00-13:00", {"weekday_evening", "weekend"}),
        ("Mon-Fri 9:00-17:00", {"weekday_morning", "weekday_day"}),
        ("by appointment", set()),
        (None, set()),
    ],
)
def test_partner_hours(hours, expected):
    assert hours_slots(hours) == expected


def test_open_choices():
    assert parse_open(["Evening", "summer"]) == ["evening", "summer"]
    with pytest.raises(InputError, match="--open 'night'"):
        parse_open(["night"])


def test_best_times_are_aggregated_and_suppressed():
    rows = [{"school_id": "A", "best_times": "weekday_evening;weekend"}] * 7
    rows += [{"school_id": "A", "best_times": "weekday_morning"}] * 3
    rows += [{"school_id": "B", "best_times": "weekday_evening"}] * 4
    prof = best_times_profile(pd.DataFrame(rows), min_cell=6)
    a = prof[prof.school_id == "A"].set_index("time")
    assert (
        a.loc["weekday_evening", "families"] == 7 and a.loc["weekday_evening", "respondents"] == 10
    )
    assert a.loc["weekday_morning", "suppressed"] and pd.isna(a.loc["weekday_morning", "families"])
    b = prof[prof.school_id == "B"]
    assert b["suppressed"].all() and b["families"].isna().all() and b["respondents"].isna().all()
    # 10 respondents: below the CSDE denominator of 20, so a count and no percentage
    assert (
        times_fit({"weekday_evening"}, prof[prof.school_id == "A"])
        == "weekday_evening (7 families)"
    )
    assert (
        times_fit({"weekday_evening"}, prof[prof.school_id == "A"], min_denominator=10)
        == "weekday_evening (70 %)"
    )
    # a suppressed cell never feeds matching
    assert times_fit({"weekday_morning"}, prof[prof.school_id == "A"]) == ""


def test_best_times_from_the_shipped_survey():
    from assetmap.data import load_schools, survey_path
    from assetmap.schedules import load_best_times

    prof = load_best_times(survey_path(), schools=load_schools())
    assert set(prof["time"]) == {"weekday_morning", "weekday_day", "weekday_evening", "weekend"}
    shown = prof[~prof["suppressed"]]
    assert len(shown) and (shown["families"] >= 6).all()
