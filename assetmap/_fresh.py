"""When a partner record counts as stale (not verified within ``settings.stale_after_days``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import pandas as pd

from assetmap.settings import get_settings

__all__ = ["stale_flags"]


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
