"""When a partner record counts as stale (not verified within ``settings.stale_after_days``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import pandas as pd

from assetmap.settings import get_settings

__all__ = ["stale_flags", "source_stale_flags"]


def stale_flags(
    last_verified: Iterable[object], *, days: int | None = None, today: dt.date | None = None
) -> list[bool]:
    """True for each record never verified or verified more than ``days`` ago.

    >>> stale_flags(["2020-01-01", None], days=365, today=dt.date(2020, 6, 1))
    [False, True]
    """
    days = get_settings().stale_after_days if days is None else days
    today = today or dt.date.today()
    out: list[bool] = []
    cache: dict[Any, bool] = {}
    for v in last_verified:
        try:
            out.append(cache[v])
            continue
        except (KeyError, TypeError):
            pass
        flag = _stale_one(v, days, today)
        try:
            cache[v] = flag
        except TypeError:
            pass
        out.append(flag)
    return out


def _stale_one(v: object, days: int, today: dt.date) -> bool:
    if v is None or v is pd.NaT or (isinstance(v, float) and pd.isna(v)) or str(v).strip() == "":
        return True
    try:
        ts = pd.Timestamp(str(v))
    except (ValueError, TypeError):
        return True
    if pd.isna(ts):
        return True
    return (today - ts.date()).days > days


def source_stale_flags(
    as_of: Iterable[object],
    expires: Iterable[object] | None = None,
    *,
    days: int | None = None,
    today: dt.date | None = None,
) -> list[bool]:
    """True for each record whose *source* is too old to trust without a call: its layer's
    ``as_of`` date is more than ``settings.source_stale_after_days`` ago, or its licence
    (``expires``, e.g. a child-care licence expiration) has passed. Unknown dates are not
    stale by this rule (:func:`stale_flags` covers "never verified").

    >>> source_stale_flags(["2016-07-24", "2026-04-13", None], today=dt.date(2026, 12, 6), days=1826)
    [True, False, False]
    >>> source_stale_flags(["2026-04-13"], ["2019-01-31"], today=dt.date(2026, 12, 6), days=1826)
    [True]
    """
    days = get_settings().source_stale_after_days if days is None else days
    today = today or dt.date.today()
    as_of = list(as_of)
    exp = list(expires) if expires is not None else [None] * len(as_of)
    out: list[bool] = []
    for a, e in zip(as_of, exp, strict=True):
        out.append(_older(a, days, today) or _older(e, 0, today))
    return out


def _older(v: object, days: int, today: dt.date) -> bool:
    """True when ``v`` is a date more than ``days`` before ``today`` (False if not a date)."""
    if v is None or v is pd.NaT or (isinstance(v, float) and pd.isna(v)) or str(v).strip() == "":
        return False
    try:
        ts = pd.Timestamp(str(v))
    except (ValueError, TypeError):
        return False
    if pd.isna(ts):
        return False
    return (today - ts.date()).days > days
