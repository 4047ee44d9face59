"""An independent attacker's check of a published need profile (issue 10, item 2).

Deliberately shares no code with :mod:`assetmap.suppress`: it reads only the published
frame (the rows a user of ``needs --json``, the network workbook or the Excel download
sees) and asks scipy's HiGHS linear-programming solver, for every suppressed cell, for the
smallest and largest value consistent with everything published together:

* per school (or district): total = sum of its language cells, need = sum of its
  need x language cells, need x language <= its language cell and <= its need cell;
* district cells = sum of their schools' cells (when districts are published);
* published numbers (zeros included) are fixed; a suppressed cell is >= 1 (zeros are shown,
  so a hidden cell is never 0); a school that shows only "fewer than N responses" has
  every cell in 0..N-1 and a total in 1..N-1.

A suppressed cell whose integer range ``[ceil(min), floor(max)]`` holds fewer than
``width + 1`` values is reported as exposed.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pandas as pd
from scipy.optimize import linprog
from scipy.sparse import csr_matrix


def _txt(v: object) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return ""
    return str(v)


def exposed_cells(pub: pd.DataFrame, *, min_cell: int = 6, width: int = 1) -> pd.DataFrame:
    """Suppressed published cells whose exact LP range is narrower than ``width``.

    Returns columns school_id, district_id, dimension, need, language, lo, hi.
    """
    # ---- variables: one per (unit, dimension, need, language)
    var: dict[tuple[str, str, str, str], int] = {}
    lo: list[float] = []
    hi: list[float] = []
    watched: list[tuple[int, dict]] = []  # (variable, published row) to report on

    def add(key: tuple[str, str, str, str], a: float, b: float) -> int:
        if key not in var:
            var[key] = len(lo)
            lo.append(a)
            hi.append(b)
        return var[key]

    needs = sorted({_txt(x) for x in pub.loc[pub["dimension"] == "need", "need"]} - {""})
    langs = sorted({_txt(x) for x in pub.loc[pub["dimension"] == "language", "language"]} - {""})
    small_schools = set()
    school_district: dict[str, str] = {}
    for rec in pub.to_dict("records"):
        sid, did = _txt(rec["school_id"]), _txt(rec["district_id"])
        unit = f"S:{sid}" if sid else f"D:{did}"
        if sid:
            school_district[sid] = did
        key = (unit, rec["dimension"], _txt(rec["need"]), _txt(rec["language"]))
        fewer = str(rec["display"]).startswith("fewer than")
        if fewer:
            small_schools.add(sid)
            i = add(key, 1.0, float(min_cell - 1))
        elif bool(rec["suppressed"]) or rec["count"] is None:
            i = add(key, 1.0, math.inf)
        else:
            v = float(rec["count"])
            i = add(key, v, v)
        if bool(rec["suppressed"]):
            watched.append((i, rec))
    district_rows = pub["school_id"].isna().any()
    if district_rows:  # a small school's hidden cells still enter its district's sums
        for sid in small_schools:
            u = f"S:{sid}"
            for n in needs:
                add((u, "need", n, ""), 0.0, float(min_cell - 1))
                for la in langs:
                    add((u, "need_language", n, la), 0.0, float(min_cell - 1))
            for la in langs:
                add((u, "language", "", la), 0.0, float(min_cell - 1))
    # ---- relations
    eq_rows: list[dict[int, float]] = []
    le_rows: list[dict[int, float]] = []
    by_unit: dict[str, dict[tuple[str, str, str], int]] = defaultdict(dict)
    for (unit, dim, n, la), i in var.items():
        by_unit[unit][(dim, n, la)] = i
    for _unit, cells in by_unit.items():
        tot = cells.get(("total", "", ""))
        lang_cells = {la: i for (d, _, la), i in cells.items() if d == "language"}
        need_cells = {n: i for (d, n, _), i in cells.items() if d == "need"}
        if tot is not None and lang_cells:
            row = {tot: 1.0}
            for i in lang_cells.values():
                row[i] = row.get(i, 0.0) - 1.0
            eq_rows.append(row)
        per_need: dict[str, list[int]] = defaultdict(list)
        for (d, n, la), i in cells.items():
            if d != "need_language":
                continue
            per_need[n].append(i)
            if la in lang_cells:
                le_rows.append({i: 1.0, lang_cells[la]: -1.0})
            if n in need_cells:
                le_rows.append({i: 1.0, need_cells[n]: -1.0})
        for n, members in per_need.items():
            if n in need_cells:
                row = {need_cells[n]: 1.0}
                for i in members:
                    row[i] = row.get(i, 0.0) - 1.0
                eq_rows.append(row)
        if tot is not None:
            for i in need_cells.values():
                le_rows.append({i: 1.0, tot: -1.0})
    if district_rows:
        members: dict[tuple[str, str, str, str], list[int]] = defaultdict(list)
        for (unit, dim, n, la), i in var.items():
            if unit.startswith("S:"):
                members[(school_district[unit[2:]], dim, n, la)].append(i)
        for (did, dim, n, la), ms in members.items():
            d = var.get((f"D:{did}", dim, n, la))
            if d is not None:
                row = {d: 1.0}
                for i in ms:
                    row[i] = row.get(i, 0.0) - 1.0
                eq_rows.append(row)
    lo_a, hi_a = np.array(lo), np.array(hi)
    free = lo_a < hi_a
    # ---- components of free variables linked by relations (keeps each LP small)
    parent = list(range(len(lo)))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for row in eq_rows + le_rows:
        fv = [i for i in row if free[i]]
        for i in fv[1:]:
            parent[find(i)] = find(fv[0])
    comp: dict[int, list[int]] = defaultdict(list)
    for i in np.flatnonzero(free).tolist():
        comp[find(i)].append(i)
    rows_of: dict[int, list[dict[int, float]]] = defaultdict(list)
    ub_of: dict[int, list[dict[int, float]]] = defaultdict(list)
    for row in eq_rows:
        fv = [i for i in row if free[i]]
        if fv:
            rows_of[find(fv[0])].append(row)
    for row in le_rows:
        fv = [i for i in row if free[i]]
        if fv:
            ub_of[find(fv[0])].append(row)

    def system(cols: list[int], rows: list[dict[int, float]]):
        pos = {c: k for k, c in enumerate(cols)}
        data, ri, ci, rhs = [], [], [], []
        for r, row in enumerate(rows):
            b = 0.0
            for i, coef in row.items():
                if i in pos:
                    data.append(coef)
                    ri.append(r)
                    ci.append(pos[i])
                else:
                    b -= coef * lo_a[i]  # a fixed (published) value
            rhs.append(b)
        if not rhs:
            return None, None
        return csr_matrix((data, (ri, ci)), shape=(len(rhs), len(cols))), np.array(rhs)

    watched_set = {i for i, _ in watched}
    ranges: dict[int, tuple[float, float]] = {}
    rng = np.random.default_rng(0)
    for root, cols in comp.items():
        targets = [k for k, c in enumerate(cols) if c in watched_set]
        if not targets:
            continue
        a_eq, b_eq = system(cols, rows_of[root])
        a_ub, b_ub = system(cols, ub_of[root])
        bounds = [(lo_a[c], None if math.isinf(hi_a[c]) else hi_a[c]) for c in cols]

        def solve(cost, a_eq=a_eq, b_eq=b_eq, a_ub=a_ub, b_ub=b_ub, bounds=bounds):
            res = linprog(
                cost, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs"
            )
            if res.status not in (0, 3):
                raise AssertionError(f"published figures are inconsistent: {res.message}")
            return res.status, (res.x if res.status == 0 else None)

        # Feasible points bound each cell's range from inside: a cell is settled once its
        # whole-number range over them is wide enough; the rest get exact min and max LPs.
        s_lo = {k: math.inf for k in targets}
        s_hi = {k: -math.inf for k in targets}

        def wide(k: int, s_lo=s_lo, s_hi=s_hi) -> bool:
            if not (math.isfinite(s_lo[k]) and math.isfinite(s_hi[k])):
                return False
            return math.floor(s_hi[k] + 1e-7) - math.ceil(s_lo[k] - 1e-7) >= width

        pending = list(targets)
        for _ in range(40):
            if not pending:
                break
            cost = np.zeros(len(cols))
            cost[pending] = rng.normal(size=len(pending))
            x = solve(cost)[1]
            if x is not None:
                for k in targets:
                    s_lo[k], s_hi[k] = min(s_lo[k], x[k]), max(s_hi[k], x[k])
            pending = [k for k in pending if not wide(k)]
        for k in pending:
            out = []
            for sign in (1.0, -1.0):
                cost = np.zeros(len(cols))
                cost[k] = sign
                status, x = solve(cost)
                out.append(math.inf if status == 3 else float(x[k]))
            ranges[cols[k]] = (out[0], out[1])
    rows = []
    for i, rec in watched:
        if i not in ranges:
            continue
        a, b = ranges[i]
        ia, ib = math.ceil(a - 1e-7), math.floor(b + 1e-7) if math.isfinite(b) else math.inf
        if ib - ia < width:
            rows.append(
                {
                    "school_id": rec["school_id"],
                    "district_id": rec["district_id"],
                    "dimension": rec["dimension"],
                    "need": rec["need"],
                    "language": rec["language"],
                    "lo": a,
                    "hi": b,
                }
            )
    cols = ["school_id", "district_id", "dimension", "need", "language", "lo", "hi"]
    return pd.DataFrame(rows, columns=cols)
