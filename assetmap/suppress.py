"""Small-cell suppression: the ONE way survey figures leave :mod:`assetmap.needs`.

Connecticut CSDE / EdSight rules (RELIABILITY.md §2), applied to a NeedProfile:

1. every count from 1 to ``min_cell - 1`` (default 1..5) is suppressed, **totals included**;
   a school whose total is below ``min_cell`` publishes only "fewer than 6 responses";
2. complementary suppression: when exactly one value of a row or a column of a table (its
   margin included) is suppressed, the next-smallest nonzero value is suppressed too
   (deterministically, so that repeated releases agree), iterated to a fixed point, across
   every published margin (school language totals, need rows of the need x language table,
   language columns, and district sums when they are published);
3. then an exact check: no suppressed cell may be determined by the published margins, by
   linear algebra (the cell's unit vector lies in the row space of the margin equations) or
   by bounds (a residual equal to the sum of the cells' lower or upper bounds). Any cell
   found recoverable gets one more complementary suppression in one of its groups, and the
   check runs again until nothing can be recovered;
4. zeros are shown (except inside a school that only shows "fewer than 6 responses");
5. every pre-declared category is shown, even when empty;
6. a percentage is hidden when its numerator is suppressed or ``<= 5`` (``< min_cell``) or
   its denominator is suppressed or ``< min_denominator``.

The thresholds come from settings, which refuse anything below the state rule.
:func:`recoverable_cells` is the independent check used by the tests.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from assetmap._errors import ConfigError
from assetmap.settings import STATE_MIN_CELL, STATE_MIN_DENOMINATOR, get_settings

if TYPE_CHECKING:
    from assetmap.needs import NeedProfile

__all__ = [
    "PUBLISHED_COLUMNS",
    "publish",
    "recoverable_cells",
    "suppressed_display",
    "small_school_display",
]

log = logging.getLogger(__name__)

PUBLISHED_COLUMNS = [
    "school_id",
    "school_name",
    "district_id",
    "dimension",
    "need",
    "language",
    "count",
    "display",
    "suppressed",
    "pct",
    "synthetic",
]
_KEY = ["school_id", "district_id", "dimension", "need", "language"]


def suppressed_display(min_cell: int) -> str:
    """Display text of a suppressed cell ("<6")."""
    return f"<{min_cell}"


def small_school_display(min_cell: int) -> str:
    """The only text a school with too few responses shows."""
    return f"fewer than {min_cell} responses"


def _thresholds(min_cell: int | None, min_denominator: int | None) -> tuple[int, int]:
    s = get_settings()
    mc = int(s.min_cell if min_cell is None else min_cell)
    md = int(s.min_denominator if min_denominator is None else min_denominator)
    if mc < STATE_MIN_CELL or md < STATE_MIN_DENOMINATOR:
        raise ConfigError(
            f"min_cell={mc}, min_denominator={md}: thresholds may be raised but never set below "
            f"the Connecticut rule (min_cell {STATE_MIN_CELL}, min_denominator "
            f"{STATE_MIN_DENOMINATOR})."
        )
    return mc, md


# ---------------------------------------------------------------------------------------------
# groups: linear relations "total = sum(members)" (total may be absent for a column)
# ---------------------------------------------------------------------------------------------
Group = tuple[int, np.ndarray]  # (index of the total cell or -1, member indexes)


def _unit_keys(frame: pd.DataFrame) -> np.ndarray:
    """'S<school_id>' for school rows, 'D<district_id>' for district rows."""
    return np.array(
        [
            f"S{s}" if s is not None and not (isinstance(s, float) and np.isnan(s)) else f"D{d}"
            for s, d in zip(frame["school_id"].tolist(), frame["district_id"].tolist(), strict=True)
        ],
        dtype=object,
    )


def _codes(series: pd.Series) -> np.ndarray:
    vals = series.astype(object).where(series.notna(), "")
    return pd.factorize(vals.astype(str))[0]


def _runs(sel: np.ndarray, *keys: np.ndarray) -> list[tuple[tuple, np.ndarray]]:
    """Split row indexes ``sel`` into runs of equal keys: [(key tuple, indexes)]."""
    if len(sel) == 0:
        return []
    ks = [k[sel] for k in keys]
    order = np.lexsort(ks[::-1])
    s = sel[order]
    sk = [k[order] for k in ks]
    change = np.zeros(len(s), dtype=bool)
    change[0] = True
    for k in sk:
        change[1:] |= k[1:] != k[:-1]
    starts = np.flatnonzero(change)
    ends = np.r_[starts[1:], len(s)]
    return [(tuple(int(k[a]) for k in sk), s[a:b]) for a, b in zip(starts, ends, strict=True)]


def build_groups(cells: pd.DataFrame) -> list[Group]:
    """Margin relations of a cells frame (RangeIndex) in the published layout.

    A *unit* is a school (``school_id`` set) or a district (``school_id`` empty). Per unit:
    total = sum of language cells; need[n] = sum of need_language[n, *]; and the language
    columns need_language[*, l] (no total, but the complementary rule applies to them).
    Per district with district rows: district cell = sum of its schools' cells.
    """
    is_school = cells["school_id"].notna().to_numpy()
    unit = pd.factorize(_unit_keys(cells))[0]
    dim_s = cells["dimension"].astype(str).to_numpy()
    dim = pd.factorize(dim_s)[0]
    need = _codes(cells["need"])
    lang = _codes(cells["language"])
    dist = _codes(cells["district_id"])
    idx = np.arange(len(cells))
    tot_rows = idx[dim_s == "total"]
    total_of = dict(zip(unit[tot_rows].tolist(), tot_rows.tolist(), strict=True))
    need_rows = idx[dim_s == "need"]
    need_of = dict(
        zip(
            zip(unit[need_rows].tolist(), need[need_rows].tolist(), strict=True),
            need_rows.tolist(),
            strict=True,
        )
    )
    groups: list[Group] = []
    for (u,), m in _runs(idx[dim_s == "language"], unit):
        groups.append((total_of.get(u, -1), m))
    nl = idx[dim_s == "need_language"]
    for (u, n), m in _runs(nl, unit, need):
        groups.append((need_of.get((u, n), -1), m))
    for _, m in _runs(nl, unit, lang):
        groups.append((-1, m))
    if (~is_school).any():
        drows = idx[~is_school]
        dkey = dict(
            zip(
                zip(
                    dist[drows].tolist(),
                    dim[drows].tolist(),
                    need[drows].tolist(),
                    lang[drows].tolist(),
                    strict=True,
                ),
                drows.tolist(),
                strict=True,
            )
        )
        for key, m in _runs(idx[is_school], dist, dim, need, lang):
            t = dkey.get(key, -1)
            if t >= 0:
                groups.append((t, m))
    return groups


# ---------------------------------------------------------------------------------------------
# the recoverability check (linear algebra + bounds)
# ---------------------------------------------------------------------------------------------
def _determined(
    values: np.ndarray, supp: np.ndarray, lb: np.ndarray, ub: np.ndarray, groups: list[Group]
) -> tuple[np.ndarray, np.ndarray]:
    """Suppressed cells that the published cells and margins determine exactly, with the
    value they are pinned to: ``(indexes, recovered values)``.

    ``values`` is only read where ``~supp``. Linear algebra: cell k is determined iff e_k is in
    the row space of the margin equations over the unknowns (its null-space component is 0);
    its value is then that of any solution (least squares). Bounds: when an equation's
    residual equals the sum of its unknowns' lower (or upper) bounds, every one of those
    unknowns sits at its bound.
    """
    unknown = np.flatnonzero(supp)
    if len(unknown) == 0:
        return unknown, np.array([])
    col = np.full(len(values), -1, dtype=np.int64)
    col[unknown] = np.arange(len(unknown))
    eqs: list[tuple[np.ndarray, np.ndarray, float]] = []  # (unknown columns, coefficients, rhs)
    found: dict[int, float] = {}
    for t, m in groups:
        if t < 0:
            continue
        mu = m[supp[m]]
        if len(mu) == 0 and not supp[t]:
            continue
        known_members = float(values[m[~supp[m]]].sum())
        cols = [col[mu]]
        coef = [np.ones(len(mu))]
        if supp[t]:
            cols.append(np.array([col[t]]))
            coef.append(np.array([-1.0]))
            rhs = -known_members
        else:
            rhs = float(values[t]) - known_members
        eqs.append((np.concatenate(cols), np.concatenate(coef), rhs))
        if not supp[t] and len(mu):
            if abs(rhs - lb[mu].sum()) < 1e-9:
                found.update({int(x): float(lb[x]) for x in mu})
            elif abs(rhs - ub[mu].sum()) < 1e-9:
                found.update({int(x): float(ub[x]) for x in mu})
    if eqs:
        # connected components of unknowns through equations keep each SVD small
        parent = np.arange(len(unknown))

        def root(a: int) -> int:
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return a

        for cols, _, _ in eqs:
            r0 = root(int(cols[0]))
            for c in cols[1:]:
                rc = root(int(c))
                if rc != r0:
                    parent[rc] = r0
        roots = np.array([root(i) for i in range(len(unknown))])
        eq_root = np.array([roots[cols[0]] for cols, _, _ in eqs])
        eq_count = np.bincount(eq_root, minlength=len(unknown))
        var_count = np.bincount(roots, minlength=len(unknown))
        for r in np.unique(eq_root):
            if eq_count[r] == 1 and var_count[r] >= 2:
                continue  # one equation in >= 2 unknowns (all coefficients +-1) pins none
            members = np.flatnonzero(roots == r)
            local = np.full(len(unknown), -1, dtype=np.int64)
            local[members] = np.arange(len(members))
            rows = [eqs[i] for i in np.flatnonzero(eq_root == r)]
            a = np.zeros((len(rows), len(members)))
            b = np.array([rhs for _, _, rhs in rows])
            for i, (cols, coef, _) in enumerate(rows):
                np.add.at(a[i], local[cols], coef)
            _, s, vt = np.linalg.svd(a, full_matrices=True)
            rank = int((s > 1e-9 * max(1.0, s.max(initial=0.0))).sum())
            null = vt[rank:]
            norms = np.sqrt((null**2).sum(axis=0)) if len(null) else np.zeros(len(members))
            pinned = np.flatnonzero(norms < 1e-8)
            if len(pinned):
                x = np.linalg.lstsq(a, b, rcond=None)[0]
                for j in pinned:
                    found[int(unknown[members[j]])] = float(np.round(x[j], 9))
    idx = np.array(sorted(found), dtype=np.int64)
    return idx, np.array([found[i] for i in idx.tolist()], dtype=float)


def _complementary(values: np.ndarray, supp: np.ndarray, groups: list[Group]) -> bool:
    """One fixed-point run of the 'exactly one suppressed in a row/column' rule."""
    changed_any = False
    changed = True
    while changed:
        changed = False
        for t, m in groups:
            n_supp = int(supp[m].sum()) + (1 if t >= 0 and supp[t] else 0)
            if n_supp != 1:
                continue
            pick = _next_smallest(values, supp, m, t)
            if pick >= 0:
                supp[pick] = True
                changed = changed_any = True
    return changed_any


def _next_smallest(values: np.ndarray, supp: np.ndarray, members: np.ndarray, total: int) -> int:
    cand = members[(~supp[members]) & (values[members] > 0)]
    if len(cand):
        return int(cand[np.argmin(values[cand])])
    if total >= 0 and not supp[total] and values[total] > 0:
        return total
    return -1


def _widen(values: np.ndarray, supp: np.ndarray, groups: list[Group], k: int) -> int:
    """The smallest published nonzero cell of any group linked to cell ``k`` through hidden
    cells (k's own groups are all hidden, yet other margins still pin it); -1 if none."""
    reached, frontier, seen = {k}, [k], set()
    best, best_v = -1, np.inf
    while frontier:
        cell = frontier.pop()
        for g, (t, m) in enumerate(groups):
            if g in seen or (cell != t and cell not in m):
                continue
            seen.add(g)
            for c in ([t] if t >= 0 else []) + m.tolist():
                if supp[c]:
                    if c not in reached:
                        reached.add(c)
                        frontier.append(c)
                elif values[c] > 0 and (values[c], c) < (best_v, best):
                    best, best_v = c, values[c]
    return best


def suppress_cells(
    values: np.ndarray,
    primary: np.ndarray,
    groups: list[Group],
    *,
    lb: np.ndarray | None = None,
    ub: np.ndarray | None = None,
) -> np.ndarray:
    """Complete suppression mask: primary cells + complementary cells, none recoverable."""
    supp = primary.copy()
    lb = np.where(values > 0, 1.0, 0.0) if lb is None else lb
    ub = np.full(len(values), np.inf) if ub is None else ub
    for _ in range(10_000):
        _complementary(values, supp, groups)
        rec, _ = _determined(values, supp, lb, ub, groups)
        # Rule 4: zeros are published, so learning that a hidden cell is 0 is no disclosure
        rec = rec[values[rec] != 0]
        if len(rec) == 0:
            return supp
        added = False
        for k in rec:
            best, best_v = -1, np.inf
            for t, m in groups:
                if k != t and k not in m:
                    continue
                pick = _next_smallest(values, supp, m, t)
                if pick >= 0 and values[pick] < best_v:
                    best, best_v = pick, values[pick]
            if best < 0:  # every cell of its own groups is hidden: widen to linked groups
                best = _widen(values, supp, groups, int(k))
            if best >= 0:
                supp[best] = True
                added = True
                break  # re-check after each addition: one may fix several
        if not added:
            log.warning("suppression: %d cells stay recoverable (no cell left to hide)", len(rec))
            return supp
    return supp


# ---------------------------------------------------------------------------------------------
# publish
# ---------------------------------------------------------------------------------------------
def publish(
    profile: NeedProfile,
    *,
    min_cell: int | None = None,
    min_denominator: int | None = None,
    include_districts: bool = False,
) -> pd.DataFrame:
    """The published (suppressed) NeedProfile frame — the shared contract.

    Columns: school_id, school_name, district_id, dimension ('total'|'need'|'language'|
    'need_language'), need, language, count (int or None when suppressed), display (the
    number, "<6", or "fewer than 6 responses" for a small school's total), suppressed, pct
    (None when hidden), synthetic. With ``include_districts`` district sums are added as rows
    with ``school_id`` None, and suppression runs across them too.
    """
    mc, md = _thresholds(min_cell, min_denominator)
    grid = profile._grid(include_districts=include_districts)  # noqa: SLF001 (internal use)
    return _publish_grid(grid, mc, md, synthetic=bool(profile.synthetic))


def _publish_grid(grid: pd.DataFrame, mc: int, md: int, *, synthetic: bool) -> pd.DataFrame:
    grid = grid.reset_index(drop=True)
    values = grid["count"].to_numpy(dtype=float).round()
    is_school = grid["school_id"].notna().to_numpy()
    totals = grid.loc[grid["dimension"] == "total"]
    unit_key = _unit_keys(grid)
    tot_key = _unit_keys(totals)
    total_of = dict(zip(tot_key, values[totals.index.to_numpy()], strict=True))
    unit_total = np.array([total_of.get(u, 0.0) for u in unit_key])
    small = is_school & (unit_total < mc)
    primary = small | ((values > 0) & (values < mc))
    lb = np.where(small, 0.0, np.where(values > 0, 1.0, 0.0))
    lb[small & (grid["dimension"].to_numpy() == "total")] = 1.0
    ub = np.where(small, float(mc - 1), np.inf)
    supp = primary.copy()
    block = np.array(
        [str(x) for x in (grid["district_id"] if (~is_school).any() else grid["school_id"])],
        dtype=object,
    )
    codes, inverse = np.unique(block, return_inverse=True)
    groups = build_groups(grid)
    by_block: dict[int, list[Group]] = {}
    for t, m in groups:
        by_block.setdefault(int(inverse[m[0]]), []).append((t, m))
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(codes) + 1))
    for b in range(len(codes)):
        rows = order[bounds[b] : bounds[b + 1]]
        if small[rows].all() or b not in by_block:
            continue
        # rows are ascending (stable sort), so a global index maps to its local one by bisection
        lg = [
            (int(np.searchsorted(rows, t)) if t >= 0 else -1, np.searchsorted(rows, m))
            for t, m in by_block[b]
        ]
        supp[rows] = suppress_cells(values[rows], primary[rows], lg, lb=lb[rows], ub=ub[rows])
    out = grid[["school_id", "school_name", "district_id", "dimension", "need", "language"]].copy()
    out["count"] = pd.Series(
        [None if s else int(v) for v, s in zip(values, supp, strict=True)], dtype=object
    )
    out["display"] = [
        suppressed_display(mc) if s else str(int(v)) for v, s in zip(values, supp, strict=True)
    ]
    is_total = (grid["dimension"] == "total").to_numpy()
    out.loc[small & is_total, "display"] = small_school_display(mc)
    out["suppressed"] = supp
    out["pct"] = pd.Series(_percentages(out, values, supp, mc, md, unit_key), dtype=object)
    out["synthetic"] = synthetic
    keep = ~small | is_total
    out = out.loc[keep].reset_index(drop=True)
    return out[PUBLISHED_COLUMNS]


def _percentages(
    out: pd.DataFrame, values: np.ndarray, supp: np.ndarray, mc: int, md: int, unit: np.ndarray
) -> list[float | None]:
    dim = out["dimension"].to_numpy()
    need = out["need"].astype(object).to_numpy()
    known: dict[tuple[str, str, object], float | None] = {}
    for i in np.flatnonzero((dim == "total") | (dim == "need")):
        known[(unit[i], dim[i], need[i] if dim[i] == "need" else None)] = (
            None if supp[i] else float(values[i])
        )
    pct: list[float | None] = []
    for i in range(len(out)):
        if dim[i] == "total":
            pct.append(None)
            continue
        den = (
            known.get((unit[i], "need", need[i]))
            if dim[i] == "need_language"
            else known.get((unit[i], "total", None))
        )
        num = values[i]
        if supp[i] or num < mc or den is None or den < md:
            pct.append(None)
        else:
            pct.append(round(100.0 * num / den, 1))
    return pct


# ---------------------------------------------------------------------------------------------
# independent check
# ---------------------------------------------------------------------------------------------
def recoverable_cells(published: pd.DataFrame, *, min_cell: int | None = None) -> pd.DataFrame:
    """Suppressed cells of a published frame that can be recovered from what is published.

    Rebuilds the margin relations from the published rows alone; a school that shows only
    "fewer than N responses" contributes unknown cells (bounded 0..N-1) to district sums.
    Returns the recoverable cells (school_id, district_id, dimension, need, language) with the
    recovered ``value``; empty when nothing leaks. Cells pinned to 0 are not reported: zeros
    are published under the CSDE rules (rule 4), so they disclose nothing.
    """
    mc = int(get_settings().min_cell if min_cell is None else min_cell)
    pub = published.reset_index(drop=True)
    small_tot = pub["display"].astype(str).str.startswith("fewer than")
    if small_tot.any() and pub["school_id"].isna().any():
        needs = sorted(pub.loc[pub["dimension"] == "need", "need"].dropna().unique())
        langs = sorted(pub.loc[pub["dimension"] == "language", "language"].dropna().unique())
        extra = []
        for _, r in pub.loc[small_tot].iterrows():
            base = {"school_id": r["school_id"], "district_id": r["district_id"], "count": None}
            extra += [{**base, "dimension": "need", "need": n, "language": None} for n in needs]
            extra += [
                {**base, "dimension": "language", "need": None, "language": la} for la in langs
            ]
            extra += [
                {**base, "dimension": "need_language", "need": n, "language": la}
                for n in needs
                for la in langs
            ]
        pub = pd.concat([pub, pd.DataFrame(extra)], ignore_index=True)
        small_tot = pub["display"].astype(str).str.startswith("fewer than")
        small_school = pub["school_id"].isin(pub.loc[small_tot, "school_id"])
    else:
        small_school = small_tot
    supp = pub["count"].isna().to_numpy()
    values = pd.to_numeric(pub["count"], errors="coerce").fillna(0).to_numpy(dtype=float)
    small_arr = small_school.to_numpy()
    lb = np.where(small_arr, 0.0, 1.0)
    lb[small_tot.to_numpy()] = 1.0
    ub = np.where(small_arr, float(mc - 1), np.inf)
    groups = build_groups(pub)
    det, recovered = _determined(values, supp, lb, ub, groups)
    res = pub.iloc[det][["school_id", "district_id", "dimension", "need", "language"]].copy()
    res["value"] = recovered
    # Rule 4: zeros are published anyway; a hidden cell pinned to 0 discloses nothing
    res = res[res["value"] != 0]
    return res.reset_index(drop=True)
