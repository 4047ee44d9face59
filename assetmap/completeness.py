"""What we do not know about partners yet, and whom to call first to find out.

* :func:`completeness` — per category (and optionally per district): how many partners, and
  the share with languages, hours, a phone number and a verification date recorded.
* :func:`call_list` — the partners whose missing language (or hours) data would resolve the
  most ``language_unknown`` gaps (:func:`assetmap.coverage.gaps`), with their phone numbers:
  a coordinator calls from the top.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from assetmap.match import AnalysisContext, score_pairs

__all__ = ["COMPLETENESS_FIELDS", "CALL_LIST_COLUMNS", "completeness", "call_list"]

#: Field -> how "recorded" is decided (a non-empty value).
COMPLETENESS_FIELDS = ("languages", "hours", "phone", "last_verified")

CALL_LIST_COLUMNS = [
    "rank",
    "partner_id",
    "name",
    "category",
    "phone",
    "city",
    "missing",
    "gaps_resolvable",
    "schools",
    "needs",
    "languages_to_ask",
    "geocode_quality",
]


def _recorded(v: object) -> bool:
    if v is None:
        return False
    if isinstance(v, float) and np.isnan(v):
        return False
    if isinstance(v, list | tuple | set | np.ndarray):
        return len(v) > 0
    return str(v).strip() not in ("", "nan", "None", "NaT", "<NA>")


def completeness(partners: pd.DataFrame, *, by: Iterable[str] = ("category",)) -> pd.DataFrame:
    """Per group (default: category): ``partners`` and, for each of
    :data:`COMPLETENESS_FIELDS`, the number (``with_<field>``) and share (``pct_<field>``,
    0-100, one decimal) of partners that have it recorded. A final row ``(all)`` sums up."""
    keys = list(by)
    flags = pd.DataFrame(
        {f"with_{f}": [_recorded(v) for v in partners[f]] for f in COMPLETENESS_FIELDS},
        index=partners.index,
    )
    frame = pd.concat([partners[keys], flags], axis=1)
    grouped = frame.groupby(keys, sort=True, dropna=False)
    out = grouped.size().rename("partners").to_frame()
    out = out.join(grouped[[f"with_{f}" for f in COMPLETENESS_FIELDS]].sum()).reset_index()
    total = {k: "(all)" for k in keys} | {"partners": len(partners)}
    total |= {f"with_{f}": int(flags[f"with_{f}"].sum()) for f in COMPLETENESS_FIELDS}
    out = pd.concat([out, pd.DataFrame([total])], ignore_index=True)
    for f in COMPLETENESS_FIELDS:
        n = out["partners"].where(out["partners"] > 0, 1)
        out[f"with_{f}"] = out[f"with_{f}"].astype(int)
        out[f"pct_{f}"] = (100.0 * out[f"with_{f}"] / n).round(1)
    return out


def call_list(ctx: AnalysisContext, gap_frame: pd.DataFrame) -> pd.DataFrame:
    """Partners ranked by how many ``language_unknown`` gaps their missing data could close.

    A gap (school, need, language) counts for a partner when the partner serves the need,
    is within reach of the school and has no languages recorded. ``gaps_resolvable`` is the
    number of such gaps; ``missing`` lists what to ask (languages; hours when absent too);
    ``languages_to_ask`` the families' languages involved. Partners with a phone number come
    first (they can be called), then by gaps; ties: partners that state the need (not a
    category guess), more schools, name. Rows in :data:`CALL_LIST_COLUMNS`.
    """
    if gap_frame is None or gap_frame.empty or "reason" not in gap_frame.columns:
        return pd.DataFrame(columns=CALL_LIST_COLUMNS)
    todo = gap_frame[gap_frame["reason"] == "language_unknown"]
    if todo.empty:
        return pd.DataFrame(columns=CALL_LIST_COLUMNS)
    p = ctx.index.partners
    gaps_of: dict[int, set[tuple[str, str, str]]] = {}
    schools_of: dict[int, set[str]] = {}
    needs_of: dict[int, set[str]] = {}
    langs_of: dict[int, set[str]] = {}
    for need, rows in todo.groupby("need", sort=True):
        pos = ctx.school_pos(rows["school_id"].astype(str).unique())
        pairs = score_pairs(ctx, need, pos)
        ok = pairs.within_reach & ~ctx.lang_known[pairs.partner]
        sids = ctx.schools["school_id"].astype(str).to_numpy()
        by_school: dict[str, list[int]] = {}
        for s, j in zip(pairs.school[ok], pairs.partner[ok], strict=True):
            by_school.setdefault(str(sids[s]), []).append(int(j))
        for sid, lang in zip(rows["school_id"].astype(str), rows["language"], strict=True):
            for j in by_school.get(sid, ()):
                gaps_of.setdefault(j, set()).add((sid, need, str(lang)))
                schools_of.setdefault(j, set()).add(sid)
                needs_of.setdefault(j, set()).add(need)
                langs_of.setdefault(j, set()).add(str(lang))
    if not gaps_of:
        return pd.DataFrame(columns=CALL_LIST_COLUMNS)
    rows_out = []
    for j, found in gaps_of.items():
        r = p.iloc[j]
        missing = ["languages"] + ([] if _recorded(r.get("hours")) else ["hours"])
        inferred = set(r.get("services_inferred") or []) if "services_inferred" in p else set()
        stated = {x.split(".")[0] for x in (r.get("services") or []) if x not in inferred}
        rows_out.append(
            {
                "partner_id": r["partner_id"],
                "name": r["name"],
                "category": r["category"],
                "phone": r.get("phone") if _recorded(r.get("phone")) else None,
                "city": r.get("city"),
                "missing": missing,
                "gaps_resolvable": len(found),
                "schools": len(schools_of[j]),
                "needs": sorted(needs_of[j]),
                "languages_to_ask": sorted(langs_of[j]),
                "geocode_quality": r.get("geocode_quality"),
                "_has_phone": _recorded(r.get("phone")),
                "_stated": bool(stated & needs_of[j]),
            }
        )
    out = pd.DataFrame(rows_out).sort_values(
        ["_has_phone", "gaps_resolvable", "_stated", "schools", "name"],
        ascending=[False, False, False, False, True],
        kind="mergesort",
    )
    out = out.drop(columns=["_has_phone", "_stated"]).reset_index(drop=True)
    out["phone"] = out["phone"].astype(object).where(out["phone"].notna(), None)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out[CALL_LIST_COLUMNS]
