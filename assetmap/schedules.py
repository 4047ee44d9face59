"""When families can go: HSDS-style schedules, partner opening hours and the survey's best times.

A schedule is one HSDS 3.0 ``schedule`` record: ``freq`` (WEEKLY or MONTHLY), ``byday``
(``"TU"``, ``"MO,WE"``), ``opens_at`` / ``closes_at`` (``"18:00"``), optional ``valid_from`` /
``valid_to`` dates and a ``description``. Each schedule falls into time *slots*:

- ``weekday_morning`` — a weekday session with at least an hour between 07:00 and 12:00;
- ``weekday_day`` — a weekday session with at least an hour between 09:00 and 17:00;
- ``weekday_evening`` — a weekday session with at least an hour between 17:00 and 21:00;
- ``weekend`` — any session on Saturday or Sunday;
- ``summer`` — dated (seasonal) schedules whose dates overlap July or August. A year-round
  schedule without dates is not a "summer program".

The first four are the survey's ``best_times`` answers; the choices offered to families
(``evening``, ``weekend``, ``summer``) map onto them with :data:`OPEN_CHOICES`.

>>> sorted(slots({"freq": "WEEKLY", "byday": "TU", "opens_at": "18:00", "closes_at": "20:00"}))
['weekday_evening']
>>> sorted(hours_slots("Mon-Fri 9:00-17:00; Sat 10:00-13:00"))
['weekday_day', 'weekday_morning', 'weekend']
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from assetmap._errors import InputError

__all__ = [
    "DAYS",
    "SLOTS",
    "OPEN_CHOICES",
    "normalise_schedule",
    "slots",
    "schedule_text",
    "hours_slots",
    "parse_open",
    "overlaps",
    "best_times_profile",
    "times_fit",
]

DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_WEEKDAYS = frozenset(DAYS[:5])
SLOTS = ("weekday_morning", "weekday_day", "weekday_evening", "weekend", "summer")
#: The choices on Find help and ``near --open``, and the slots each one accepts.
OPEN_CHOICES: Mapping[str, frozenset[str]] = {
    "evening": frozenset({"weekday_evening"}),
    "weekend": frozenset({"weekend"}),
    "summer": frozenset({"summer"}),
}
_WINDOWS = {
    "weekday_morning": (7 * 60, 12 * 60),
    "weekday_day": (9 * 60, 17 * 60),
    "weekday_evening": (17 * 60, 21 * 60),
}
_MIN_OVERLAP = 60
_DAY_NAMES = {
    "mo": "MO", "mon": "MO", "monday": "MO", "tu": "TU", "tue": "TU", "tues": "TU",
    "tuesday": "TU", "we": "WE", "wed": "WE", "wednesday": "WE", "th": "TH", "thu": "TH",
    "thur": "TH", "thurs": "TH", "thursday": "TH", "fr": "FR", "fri": "FR", "friday": "FR",
    "sa": "SA", "sat": "SA", "saturday": "SA", "su": "SU", "sun": "SU", "sunday": "SU",
}  # fmt: skip
_TIME = re.compile(r"^\s*(\d{1,2})(?::(\d{2}))?\s*$")
_HOURS_PART = re.compile(
    r"^\s*(?P<days>[A-Za-z ,\-–]+?)\s+(?P<o>\d{1,2}(?::\d{2})?)\s*[-–]\s*(?P<c>\d{1,2}(?::\d{2})?)\s*$"
)


def _minutes(value: Any, what: str) -> int:
    m = _TIME.match(str(value or ""))
    if not m or int(m.group(1)) > 24 or int(m.group(2) or 0) > 59:
        raise InputError(f"{what} {value!r} is not a time of day; write it as HH:MM, e.g. 18:00.")
    return int(m.group(1)) * 60 + int(m.group(2) or 0)


def _days(text: Any) -> list[str]:
    """'TU,TH', 'Tue, Thu', 'Mon-Fri' -> HSDS day codes in week order."""
    out: set[str] = set()
    for part in re.split(r"[,;/ ]+", str(text or "").strip()):
        if not part:
            continue
        if re.search(r"[-–]", part):
            a, b = (x.strip().lower() for x in re.split(r"[-–]", part, maxsplit=1))
            if a not in _DAY_NAMES or b not in _DAY_NAMES:
                raise InputError(
                    f"day range {part!r} is not understood; write e.g. Mon-Fri or MO,TU."
                )
            i, j = DAYS.index(_DAY_NAMES[a]), DAYS.index(_DAY_NAMES[b])
            out.update(DAYS[i : j + 1] if i <= j else DAYS[i:] + DAYS[: j + 1])
        elif part.lower() in _DAY_NAMES:
            out.add(_DAY_NAMES[part.lower()])
        else:
            raise InputError(f"day {part!r} is not understood; use MO TU WE TH FR SA SU.")
    return [d for d in DAYS if d in out]


def _date(value: Any, what: str) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)) or str(value).strip() == "":
        return None
    try:
        return dt.date.fromisoformat(str(value).strip()[:10]).isoformat()
    except ValueError:
        raise InputError(f"{what} {value!r} is not a date; write it as YYYY-MM-DD.") from None


def normalise_schedule(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A checked HSDS schedule dict (raises :class:`InputError` naming the bad field)."""
    freq = str(raw.get("freq") or "WEEKLY").strip().upper()
    if freq not in {"WEEKLY", "MONTHLY", "DAILY"}:
        raise InputError(f"schedule freq {freq!r}: use WEEKLY, MONTHLY or DAILY.")
    days = _days(raw.get("byday")) if freq != "DAILY" else list(DAYS)
    if not days:
        raise InputError("a schedule needs its days (byday), e.g. byday='TU' for Tuesdays.")
    opens = _minutes(raw.get("opens_at"), "opens_at")
    closes = _minutes(raw.get("closes_at"), "closes_at")
    if closes <= opens:
        raise InputError(
            f"schedule closes_at {raw.get('closes_at')!r} is not after opens_at {raw.get('opens_at')!r}."
        )
    vf, vt = _date(raw.get("valid_from"), "valid_from"), _date(raw.get("valid_to"), "valid_to")
    if vf and vt and vt < vf:
        raise InputError(f"schedule valid_to {vt} is before valid_from {vf}.")
    return {
        "freq": freq,
        "byday": ",".join(days),
        "opens_at": f"{opens // 60:02d}:{opens % 60:02d}",
        "closes_at": f"{closes // 60:02d}:{closes % 60:02d}",
        "valid_from": vf,
        "valid_to": vt,
        "description": str(raw.get("description") or "").strip(),
    }


def _session_slots(days: Iterable[str], opens: int, closes: int) -> set[str]:
    days = set(days)
    out: set[str] = set()
    if days & {"SA", "SU"}:
        out.add("weekend")
    if days & _WEEKDAYS:
        for slot, (a, b) in _WINDOWS.items():
            if min(closes, b) - max(opens, a) >= _MIN_OVERLAP:
                out.add(slot)
    return out


def _is_summer(valid_from: str | None, valid_to: str | None) -> bool:
    if not valid_from and not valid_to:
        return False
    start = dt.date.fromisoformat(valid_from) if valid_from else dt.date(1900, 1, 1)
    end = dt.date.fromisoformat(valid_to) if valid_to else dt.date(2999, 12, 31)
    for year in range(start.year, min(end.year, start.year + 5) + 1):
        if overlaps((start, end), (dt.date(year, 7, 1), dt.date(year, 8, 31))):
            return True
    return False


def slots(schedule: Mapping[str, Any]) -> set[str]:
    """The time slots one (normalised or raw) schedule falls into."""
    s = normalise_schedule(schedule)
    out = _session_slots(
        s["byday"].split(","), _minutes(s["opens_at"], ""), _minutes(s["closes_at"], "")
    )
    if _is_summer(s["valid_from"], s["valid_to"]):
        out.add("summer")
    return out


def schedule_text(schedule: Mapping[str, Any]) -> str:
    """'TU 18:00-20:00 (2027-07-06 to 2027-08-06)' — what a person reads."""
    s = normalise_schedule(schedule)
    text = f"{s['byday'].replace(',', ' ')} {s['opens_at']}-{s['closes_at']}"
    if s["freq"] == "MONTHLY":
        text = "monthly " + text
    if s["valid_from"] or s["valid_to"]:
        text += f" ({s['valid_from'] or '…'} to {s['valid_to'] or '…'})"
    return text


def hours_slots(hours: Any) -> set[str]:
    """Slots of a partner's free-text opening hours ('Mon-Thu 9:00-20:00; Fri 9:00-17:00').

    Parts that cannot be read are ignored (an empty set means "not known"), never guessed.
    """
    out: set[str] = set()
    for part in re.split(r"[;\n]+", str(hours or "")):
        m = _HOURS_PART.match(part)
        if not m:
            continue
        try:
            days = _days(m.group("days"))
            opens, closes = _minutes(m.group("o"), ""), _minutes(m.group("c"), "")
        except InputError:
            continue
        if closes > opens:
            out |= _session_slots(days, opens, closes)
    return out


def parse_open(choices: Iterable[str]) -> list[str]:
    """Checked ``--open`` choices (evening, weekend, summer)."""
    out = []
    for c in choices:
        key = str(c).strip().lower()
        if key not in OPEN_CHOICES:
            raise InputError(
                f"--open {c!r} is not a choice; use one of: {', '.join(OPEN_CHOICES)} "
                "(e.g. --open evening)."
            )
        out.append(key)
    return out


def overlaps(a: tuple[dt.date, dt.date], b: tuple[dt.date, dt.date]) -> bool:
    """Whether two closed date ranges share at least one day."""
    return a[0] <= b[1] and b[0] <= a[1]


def best_times_profile(
    survey: pd.DataFrame, *, min_cell: int, school_col: str = "school_id"
) -> pd.DataFrame:
    """Families per school naming each best time to meet, small cells suppressed.

    ``survey`` holds response rows with a ``best_times`` column (``;``-separated slots, as in
    the survey schema). Returns school_id, time, families (``None`` when suppressed),
    respondents (likewise) and suppressed. Counts below ``min_cell`` are hidden; so is every
    cell of a school whose respondent total is below ``min_cell``.
    """
    if "best_times" not in survey.columns or school_col not in survey.columns:
        raise InputError("the survey has no best_times column (or no school column).")
    rows = []
    for school, grp in survey.groupby(survey[school_col].astype(str)):
        total = len(grp)
        counts: dict[str, int] = {}
        for v in grp["best_times"].fillna(""):
            for t in {x.strip() for x in str(v).split(";")}:
                if t in SLOTS:
                    counts[t] = counts.get(t, 0) + 1
        for t in SLOTS[:4]:
            n = counts.get(t, 0)
            hide = total < min_cell or n < min_cell
            rows.append(
                {
                    "school_id": school,
                    "time": t,
                    "families": None if hide else n,
                    "respondents": None if total < min_cell else total,
                    "suppressed": hide,
                }
            )
    return pd.DataFrame(
        rows, columns=["school_id", "time", "families", "respondents", "suppressed"]
    )


def times_fit(
    program_slots: Iterable[str], school_times: pd.DataFrame, *, min_denominator: int = 20
) -> str:
    """'weekday_evening (62 %)' — which of a school's published best times a program meets.

    Only published (unsuppressed) cells are used; a share is shown only when the school's
    respondents reach ``min_denominator`` (CSDE rule), else the count of families. '' when
    none fits or nothing is published.
    """
    have = set(program_slots)
    parts = []
    for _, r in school_times.iterrows():
        if r["suppressed"] or r["time"] not in have or not r["respondents"]:
            continue
        if r["respondents"] >= min_denominator:
            parts.append(f"{r['time']} ({round(100 * r['families'] / r['respondents'])} %)")
        else:
            parts.append(f"{r['time']} ({int(r['families'])} families)")
    return "; ".join(parts)


def load_best_times(
    source: Any = None, *, schools: pd.DataFrame | None = None, min_cell: int | None = None
) -> pd.DataFrame:
    """The suppressed best-times profile of a survey file (a workspace keeps it with its need
    profile: ``Workspace.profile().best_times()``).

    Survey rows are read by :func:`assetmap.needs.read_survey` (identifying columns dropped)
    and only the aggregated, suppressed table of :func:`best_times_profile` is returned.
    """
    from assetmap.needs import read_survey
    from assetmap.settings import get_settings

    if source is None:
        raise TypeError("give the survey to read (a path or bytes)")
    if schools is None:
        raise TypeError("pass schools= (the workspace's schools) to match the survey against")
    responses, _ = read_survey(source, schools=schools)
    if "best_times" not in responses.columns:
        raise InputError(
            "the survey has no best_times column; add one (e.g. weekday_evening;weekend)."
        )
    return best_times_profile(
        responses.loc[responses["family"].astype(bool)],
        min_cell=int(min_cell if min_cell is not None else get_settings().min_cell),
    )
