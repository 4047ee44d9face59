"""When a partner record counts as stale (not verified within ``settings.stale_after_days``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

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
    for v in last_verified:
        if v is None or (isinstance(v, float) and pd.isna(v)) or str(v).strip() == "":
            out.append(True)
            continue
        try:
            ts = pd.Timestamp(str(v))
        except (ValueError, TypeError):
            out.append(True)
            continue
        if pd.isna(ts):
            out.append(True)
            continue
        d = ts.date()
        out.append((today - d).days > days)
    return out
