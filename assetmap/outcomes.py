"""Outcomes of programs: what happened (families served, referrals, home visits, events),
per program, partner and school, and progress against the district's targets.

Rows are append-only in the workspace: recording the same program / partner / school /
period / measure again is a correction — the latest row counts, the earlier ones stay in the
history. Targets come from ``config/framework.toml`` (``[[targets]]``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from assetmap._errors import InputError
from assetmap.framework import Framework, load_framework

__all__ = ["record_outcome", "outcome_history", "current_outcomes", "progress", "KEY"]

KEY = ["program_id", "partner_id", "school_id", "period", "measure"]
_COLS = ["outcome_id", "recorded_at", "recorded_by", *KEY, "value", "note"]


def record_outcome(
    store: Any,
    *,
    measure: str,
    value: int,
    period: str,
    by: str,
    program_id: str | None = None,
    partner_id: str | None = None,
    school_id: str | None = None,
    note: str | None = None,
    framework: Framework | None = None,
) -> dict[str, Any]:
    """Check and append one outcome; returns the stored row.

    A program's partner is filled in from the program; a program serving exactly one school
    gives its school when none is named.
    """
    from assetmap.programs import list_programs
    from assetmap.store import _programs

    fw = framework or load_framework()
    if measure not in fw.measures:
        raise InputError(f"measure {measure!r}: use one of {', '.join(fw.measures)}.")
    try:
        n = int(value)
        if n != float(value) or n < 0:
            raise ValueError
    except (TypeError, ValueError):
        raise InputError(f"value {value!r}: give a whole number ≥ 0 (e.g. --value 12).") from None
    period = str(period or "").strip()
    if not period:
        raise InputError("an outcome needs a period, e.g. --period 2026-27 or 2026-fall.")
    if not (program_id or partner_id or school_id):
        raise InputError("name what the outcome is for: --program, --partner and/or --school.")
    if program_id:
        prog = {p["program_id"]: p for p in list_programs(store, include_retired=True)}.get(
            program_id
        )
        if prog is None:
            raise InputError(f"no program {program_id!r} in the workspace (assetmap program list).")
        partner_id = partner_id or prog.get("partner_id")
        if not school_id and len(prog.get("school_ids") or []) == 1:
            school_id = prog["school_ids"][0]
    if school_id and school_id not in set(store.schools()["school_id"].astype(str)):
        raise InputError(
            f"no school {school_id!r} in the workspace (give a 7-digit id, e.g. 0640611)."
        )
    if partner_id and not any(
        r["partner_id"] == partner_id for r in store.partner_records(include_retired=True)
    ):
        raise InputError(f"no partner {partner_id!r} in the workspace.")
    row = {
        "program_id": program_id or None,
        "partner_id": partner_id or None,
        "school_id": school_id or None,
        "period": period,
        "measure": measure,
        "value": n,
        "note": note,
    }
    row["outcome_id"] = _programs.add_outcome(store, row, by=by)
    return row


def outcome_history(store: Any) -> pd.DataFrame:
    """Every recorded row, oldest first (corrections included)."""
    from assetmap.store import _programs

    return pd.DataFrame(_programs.outcome_records(store), columns=_COLS)


def current_outcomes(history: pd.DataFrame) -> pd.DataFrame:
    """The latest row per program / partner / school / period / measure."""
    if history.empty:
        return history.copy()
    key = history[KEY].fillna("")
    last = ~key.duplicated(keep="last")
    return history.loc[last.to_numpy()].reset_index(drop=True)


def _needed(target: Any, school: Mapping[str, Any]) -> float | None:
    if target.count is not None:
        return float(target.count)
    base = school.get(target.share_of)
    try:
        base = float(base)
    except (TypeError, ValueError):
        return None
    if math.isnan(base):
        return None
    return float(math.ceil(target.share * base))


def progress(
    history: pd.DataFrame,
    *,
    schools: pd.DataFrame,
    programs: Iterable[Mapping[str, Any]] = (),
    district: str | None = None,
    period: str | None = None,
    framework: Framework | None = None,
) -> pd.DataFrame:
    """Progress per school against each target: school_id, school, target, measure, actual,
    needed (None when the school lacks the target's base figure), percent, met.

    An outcome counts for a school when it names the school, or when it names only a
    program that serves exactly that one school.
    """
    fw = framework or load_framework()
    cur = current_outcomes(history)
    if period is not None and not cur.empty:
        cur = cur[cur["period"] == period]
    one_school = {
        p["program_id"]: p["school_ids"][0] for p in programs if len(p.get("school_ids") or []) == 1
    }
    if not cur.empty:
        cur = cur.assign(
            school_id=[
                s if isinstance(s, str) and s else one_school.get(p)
                for s, p in zip(cur["school_id"], cur["program_id"], strict=True)
            ]
        )
    sch = (
        schools
        if district is None
        else schools[schools["district_id"].astype(str) == str(district)]
    )
    if district is not None and sch.empty:
        raise InputError(
            f"no district {district!r} with schools; give a district id, e.g. 0640011."
        )
    rows = []
    for _, s in sch.iterrows():
        sid = str(s["school_id"])
        mine = cur[cur["school_id"] == sid] if not cur.empty else cur
        for t in fw.targets:
            actual = (
                int(mine.loc[mine["measure"] == t.measure, "value"].sum()) if not mine.empty else 0
            )
            need = _needed(t, s)
            rows.append(
                {
                    "school_id": sid,
                    "school": s.get("name"),
                    "target": t.label,
                    "measure": t.measure,
                    "actual": actual,
                    "needed": None if need is None else int(need),
                    "percent": None if not need else round(100 * actual / need, 1),
                    "met": None if need is None else actual >= need,
                    "source": t.source,
                }
            )
    cols = [
        "school_id",
        "school",
        "target",
        "measure",
        "actual",
        "needed",
        "percent",
        "met",
        "source",
    ]
    return pd.DataFrame(rows, columns=cols)
