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

import heapq
import logging
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

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


class _Groups(NamedTuple):
    """Groups as flat arrays: group ``g`` is ``tot[g]`` (-1: none) = sum of
    ``mem[ptr[g]:ptr[g + 1]]`` (ascending)."""

    tot: np.ndarray
    ptr: np.ndarray
    mem: np.ndarray

    @classmethod
    def from_list(cls, groups: list[Group]) -> _Groups:
        sizes = [len(m) for _, m in groups]
        mem = [np.asarray(m, dtype=np.int64) for _, m in groups]
        return cls(
            np.array([t for t, _ in groups], dtype=np.int64),
            np.r_[0, np.cumsum(sizes, dtype=np.int64)].astype(np.int64),
            np.concatenate(mem) if mem else np.zeros(0, dtype=np.int64),
        )

    def as_list(self) -> list[Group]:
        p = self.ptr.tolist()
        return [(t, self.mem[p[g] : p[g + 1]]) for g, t in enumerate(self.tot.tolist())]

    def take(self, gids: np.ndarray) -> _Groups:
        """The groups ``gids`` (in that order)."""
        pos, sizes = _segments(self.ptr, gids)
        return _Groups(self.tot[gids], np.r_[0, np.cumsum(sizes)].astype(np.int64), self.mem[pos])


def _segments(ptr: np.ndarray, gids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions (into the flat member array) of the members of groups ``gids``, and sizes."""
    sizes = ptr[gids + 1] - ptr[gids]
    starts = np.cumsum(sizes) - sizes
    pos = np.repeat(ptr[gids] - starts, sizes) + np.arange(int(sizes.sum()), dtype=np.int64)
    return pos, sizes


def _factorize(col: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """``pd.factorize(col)``; for text in long runs of equal neighbours (a grid's school and
    district columns), factorising one value per run is the same and much cheaper."""
    arr = col.to_numpy(dtype=object)
    if len(arr) > 1:
        try:
            heads = np.flatnonzero(np.r_[True, np.asarray(arr[1:] != arr[:-1], dtype=bool)])
        except (TypeError, ValueError):  # values whose comparison is not a bool
            heads = np.arange(len(arr))
        if len(heads) * 4 < len(arr):
            codes, uniq = pd.factorize(arr[heads])
            if infer_dtype(uniq, skipna=False) in ("string", "empty"):
                return np.repeat(codes, np.diff(np.r_[heads, len(arr)])), pd.Index(uniq)
    codes, uniq = pd.factorize(col)
    return codes, pd.Index(uniq)


class _Keys:
    """The key columns of a cells frame as integer codes, each column factorised once."""

    def __init__(self, cells: pd.DataFrame) -> None:
        self.cells = cells
        self._fac: dict[str, tuple[np.ndarray, pd.Index, bool]] = {}
        self.dim, names = pd.factorize(cells["dimension"].astype(str))
        self._dims = list(names)
        self.is_school = self.factor("school_id")[0] >= 0  # school_id.notna()
        self.need = self.codes("need")
        self.lang = self.codes("language")
        self.dist = self.codes("district_id")
        self.unit = self.unit_codes()

    def factor(self, col: str) -> tuple[np.ndarray, pd.Index, bool]:
        """pd.factorize of a column (missing: -1), and whether every value is a str."""
        if col not in self._fac:
            codes, uniq = _factorize(self.cells[col])
            self._fac[col] = (codes, uniq, infer_dtype(uniq, skipna=False) in ("string", "empty"))
        return self._fac[col]

    def is_dim(self, name: str) -> np.ndarray:
        """Rows whose dimension is ``name``."""
        if name not in self._dims:
            return np.zeros(len(self.dim), dtype=bool)
        return self.dim == self._dims.index(name)

    def codes(self, col: str) -> np.ndarray:
        """Codes of the column as text, missing as "" (numbered by first appearance)."""
        codes, uniq, all_str = self.factor(col)
        if not all_str:
            series = self.cells[col]
            vals = series.astype(object).where(series.notna(), "")
            return pd.factorize(vals.astype(str))[0]
        if (codes < 0).any():
            empty = uniq.get_loc("") if "" in uniq else len(uniq)
            return pd.factorize(np.where(codes < 0, empty, codes))[0]
        return codes

    def str_codes(self, col: str, rows: np.ndarray) -> np.ndarray:
        """Codes of ``f"{v}"`` over ``rows`` (a mask), numbered by first appearance."""
        codes, _, all_str = self.factor(col)
        c = codes[rows]
        if all_str and not (c < 0).any():
            return c if len(c) == len(codes) else pd.factorize(c)[0]
        vals = self.cells[col].to_numpy(dtype=object)[rows]
        return pd.factorize(np.array([f"{v}" for v in vals.tolist()], dtype=object))[0]

    def missing(self, col: str) -> np.ndarray:
        """Per row: the value is None or a float NaN."""
        miss = self.factor(col)[0] < 0  # a superset: pd.NA, NaT are not missing here
        cand = np.flatnonzero(miss)
        if len(cand):
            vals = self.cells[col].to_numpy(dtype=object)[cand]
            for i, v in zip(cand.tolist(), vals.tolist(), strict=True):
                miss[i] = v is None or (isinstance(v, float) and bool(np.isnan(v)))
        return miss

    def unit_codes(self) -> np.ndarray:
        """Codes of the units 'S<school_id>' (school rows) / 'D<district_id>' (others),
        numbered by first appearance."""
        sch = ~self.missing("school_id")
        cs = self.str_codes("school_id", sch)
        if sch.all():
            return cs
        code = np.empty(len(sch), dtype=np.int64)
        code[sch] = cs
        code[~sch] = self.str_codes("district_id", ~sch) + (int(cs.max()) + 1 if len(cs) else 0)
        return pd.factorize(code)[0]


def _mix(*codes: np.ndarray, radix: list[int]) -> np.ndarray:
    """One int64 key per row from several non-negative code arrays."""
    key = np.zeros(len(codes[0]), dtype=np.int64)
    for c, r in zip(codes, radix, strict=True):
        key = key * r + c
    return key


def _lookup(keys: np.ndarray, rows: np.ndarray, query: np.ndarray) -> np.ndarray:
    """``dict(zip(keys, rows)).get(q, -1)`` per query key (the last row wins)."""
    if len(keys) == 0:
        return np.full(len(query), -1, dtype=np.int64)
    order = np.argsort(keys, kind="stable")
    k, r = keys[order], rows[order]
    last = np.r_[k[1:] != k[:-1], True]
    k, r = k[last], r[last]
    pos = np.minimum(np.searchsorted(k, query), len(k) - 1)
    return np.where(k[pos] == query, r[pos], -1)


def _runs(sel: np.ndarray, *keys: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Split row indexes ``sel`` (ascending) into runs of equal keys, in key order: (the keys
    of each run, run pointers, the reordered indexes; ascending within a run)."""
    ks = [k[sel] for k in keys]
    if len(sel) == 0:
        return ks, np.zeros(1, dtype=np.int64), sel
    order = np.lexsort(ks[::-1])
    s = sel[order]
    sk = [k[order] for k in ks]
    change = np.zeros(len(s), dtype=bool)
    change[0] = True
    for k in sk:
        change[1:] |= k[1:] != k[:-1]
    starts = np.flatnonzero(change)
    return [k[starts] for k in sk], np.r_[starts, len(s)].astype(np.int64), s


def _group_arrays(keys: _Keys) -> _Groups:
    is_school, unit, dim = keys.is_school, keys.unit, keys.dim
    need, lang, dist = keys.need, keys.lang, keys.dist
    idx = np.arange(len(unit), dtype=np.int64)
    dim = dim + 1  # missing: -1
    radix = [int(c.max(initial=0)) + 1 for c in (unit, dist, dim, need, lang)]
    r_unit, r_dist, r_dim, r_need, r_lang = radix
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (totals, run pointers, members)

    tot_rows = idx[keys.is_dim("total")]
    (u,), ptr, mem = _runs(idx[keys.is_dim("language")], unit)
    parts.append((_lookup(unit[tot_rows], tot_rows, u), ptr, mem))
    nl = idx[keys.is_dim("need_language")]
    need_rows = idx[keys.is_dim("need")]
    (u, n), ptr, mem = _runs(nl, unit, need)
    need_key = _mix(unit[need_rows], need[need_rows], radix=[r_unit, r_need])
    parts.append((_lookup(need_key, need_rows, _mix(u, n, radix=[r_unit, r_need])), ptr, mem))
    _, ptr, mem = _runs(nl, unit, lang)
    parts.append((np.full(len(ptr) - 1, -1, dtype=np.int64), ptr, mem))
    if (~is_school).any():
        drows = idx[~is_school]
        r4 = [r_dist, r_dim, r_need, r_lang]
        dkey = _mix(dist[drows], dim[drows], need[drows], lang[drows], radix=r4)
        run_keys, ptr, mem = _runs(idx[is_school], dist, dim, need, lang)
        t = _lookup(dkey, drows, _mix(*run_keys, radix=r4))
        ok = np.flatnonzero(t >= 0)
        g = _Groups(t, ptr, mem).take(ok)
        parts.append((g.tot, g.ptr, g.mem))
    tots, ptrs, mems, off = [], [np.zeros(1, dtype=np.int64)], [], 0
    for t, ptr, mem in parts:
        tots.append(t.astype(np.int64))
        ptrs.append(ptr[1:] + off)
        mems.append(mem)
        off += int(ptr[-1])
    return _Groups(np.concatenate(tots), np.concatenate(ptrs), np.concatenate(mems))


def build_groups(cells: pd.DataFrame) -> list[Group]:
    """Margin relations of a cells frame (RangeIndex) in the published layout.

    A *unit* is a school (``school_id`` set) or a district (``school_id`` empty). Per unit:
    total = sum of language cells; need[n] = sum of need_language[n, *]; and the language
    columns need_language[*, l] (no total, but the complementary rule applies to them).
    Per district with district rows: district cell = sum of its schools' cells.
    """
    return _group_arrays(_Keys(cells)).as_list()


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

    This is the plain reference used by :func:`recoverable_cells`; suppression itself runs
    the same test, vectorised, in :meth:`_Suppressor._pinned`.
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


def _null_pinned(a: np.ndarray) -> np.ndarray:
    """Columns of ``a`` whose unit vector lies in its row space (zero null-space component)."""
    _, s, vt = np.linalg.svd(a, full_matrices=True)
    rank = int((s > 1e-9 * max(1.0, s.max(initial=0.0))).sum())
    null = vt[rank:]
    norms = np.sqrt((null**2).sum(axis=0)) if len(null) else np.zeros(a.shape[1])
    return np.flatnonzero(norms < 1e-8)


_MAX_ROUNDS = 10_000


class _Suppressor:
    """Complementary suppression + the recoverability loop, over independent *blocks*.

    Every group lies inside one block (``gblock``); blocks share no cell, so each block runs
    exactly the sequence of the one-block algorithm (complementary fixed point, then one more
    cell hidden per round while a cell is recoverable), all blocks at once:

    * the complementary rule keeps, per group, the number of hidden cells; a pass over the
      groups only acts on groups with exactly one, so the fixed point is replayed with a heap
      of (pass, group) events in the order the passes would reach them;
    * the recoverability test is vectorised over the equations of the blocks still changing;
      only connected components that could pin a cell (several equations, or one equation in
      one unknown) go through the SVD.
    """

    def __init__(
        self,
        values: np.ndarray,
        primary: np.ndarray,
        lb: np.ndarray,
        ub: np.ndarray,
        groups: _Groups,
        gblock: np.ndarray,
    ) -> None:
        n, n_groups = len(values), len(groups.tot)
        self.values, self.lb, self.ub, self.g = values, lb, ub, groups
        self.supp = primary.copy()
        self.gblock = gblock
        sizes = np.diff(groups.ptr)
        self.seg = np.repeat(np.arange(n_groups, dtype=np.int64), sizes)
        has_t = groups.tot >= 0
        # cell -> its groups (as a member or as the total), in group order
        cell = np.concatenate([groups.mem, groups.tot[has_t]])
        grp = np.concatenate([self.seg, np.flatnonzero(has_t)])
        self.cg = grp[np.lexsort((grp, cell))]
        self.cg_ptr = np.r_[0, np.cumsum(np.bincount(cell, minlength=n))].tolist()
        self.cblock = np.full(n, -1, dtype=np.int64)
        self.cblock[cell] = gblock[grp]
        self.n_supp = np.bincount(self.seg, weights=self.supp[groups.mem], minlength=n_groups)
        self.n_supp = self.n_supp.astype(np.int64)
        self.n_supp[has_t] += self.supp[groups.tot[has_t]]
        # equations (groups with a total), by block
        self.eq = np.flatnonzero(has_t)
        eq_b = gblock[self.eq]
        o = np.argsort(eq_b, kind="stable")
        self.eq_by_block = self.eq[o]
        self.eq_bptr = np.searchsorted(eq_b[o], np.arange(int(gblock.max(initial=-1)) + 2))

    # ---- the complementary rule
    def _groups_of(self, cell: int) -> np.ndarray:
        return self.cg[self.cg_ptr[cell] : self.cg_ptr[cell + 1]]

    def _next_smallest(self, g: int) -> int:
        p = self.g.ptr
        return _next_smallest(self.values, self.supp, self.g.mem[p[g] : p[g + 1]], self.g.tot[g])

    def _hide(self, cell: int) -> list[int]:
        """Hide ``cell``; the groups that now have exactly one hidden cell."""
        self.supp[cell] = True
        hs = self._groups_of(cell)
        np.add.at(self.n_supp, hs, 1)
        return hs[self.n_supp[hs] == 1].tolist()

    def complementary(self, seeds: list[int]) -> None:
        """Replay ``_complementary`` (passes over all groups until nothing changes) from the
        groups that have exactly one hidden cell: a group with one hidden cell and no cell to
        add stays so until one of its cells is hidden, and then it has two."""
        heap = [(0, g) for g in sorted(seeds)]
        n_supp = self.n_supp
        while heap:
            p, g = heapq.heappop(heap)
            if n_supp[g] != 1:
                continue
            pick = self._next_smallest(g)
            if pick < 0:
                continue
            for h in self._hide(pick):  # reached later in this pass, or in the next one
                heapq.heappush(heap, (p if h > g else p + 1, h))

    # ---- the recoverability test
    def _pinned(self, blocks: np.ndarray) -> np.ndarray:
        """Hidden cells of ``blocks`` determined by the published cells (ascending)."""
        g, supp, values = self.g, self.supp, self.values
        lo, hi = self.eq_bptr[blocks], self.eq_bptr[blocks + 1]
        if len(blocks) == len(self.eq_bptr) - 1:
            gids = self.eq
        else:
            sizes = hi - lo
            pos = np.repeat(lo - (np.cumsum(sizes) - sizes), sizes) + np.arange(sizes.sum())
            gids = np.sort(self.eq_by_block[pos])
        pos, sizes = _segments(g.ptr, gids)
        flat = g.mem[pos]
        seg = np.repeat(np.arange(len(gids), dtype=np.int64), sizes)
        sm = supp[flat]
        t = g.tot[gids]
        st = supp[t]
        ne = len(gids)
        n_mu = np.bincount(seg, weights=sm, minlength=ne)
        known = np.bincount(seg, weights=np.where(sm, 0.0, values[flat]), minlength=ne)
        rhs = np.where(st, -known, values[t] - known)
        bnd = ~st & (n_mu > 0)
        lbs = np.bincount(seg, weights=np.where(sm, self.lb[flat], 0.0), minlength=ne)
        ubs = np.bincount(seg, weights=np.where(sm, self.ub[flat], 0.0), minlength=ne)
        with np.errstate(invalid="ignore"):
            hit = bnd & ((np.abs(rhs - lbs) < 1e-9) | (np.abs(rhs - ubs) < 1e-9))
        found = [flat[sm & hit[seg]]]
        # linear algebra: the unknowns of each equation (hidden members, hidden total)
        e_eq = np.concatenate([seg[sm], np.flatnonzero(st)])
        if len(e_eq):
            e_cell = np.concatenate([flat[sm], t[st]])
            e_coef = np.concatenate([np.ones(int(sm.sum())), -np.ones(int(st.sum()))])
            nodes, e_node = np.unique(e_cell, return_inverse=True)
            first = np.full(ne, -1, dtype=np.int64)
            first[e_eq] = e_node  # one unknown of each equation
            n_nodes = len(nodes)
            graph = coo_matrix(
                (np.ones(len(e_eq)), (e_node, first[e_eq])), shape=(n_nodes, n_nodes)
            )
            _, label = connected_components(graph, directed=False)
            has_unknown = first >= 0
            eq_label = label[first[has_unknown]]  # the equations with an unknown, in order
            e_row = (np.cumsum(has_unknown) - 1)[e_eq]  # entry -> its equation among those
            eq_count = np.bincount(eq_label, minlength=n_nodes)
            var_count = np.bincount(label, minlength=n_nodes)
            # one equation in >= 2 unknowns (all coefficients +-1) pins none
            need = (eq_count >= 2) | ((eq_count == 1) & (var_count == 1))
            if need[eq_label].any():
                pinned = self._svd_pinned(need, label, eq_label, e_row, e_node, e_coef)
                found.append(nodes[pinned])
        return np.unique(np.concatenate(found))

    @staticmethod
    def _svd_pinned(
        need: np.ndarray,
        label: np.ndarray,
        eq_label: np.ndarray,
        e_row: np.ndarray,
        e_node: np.ndarray,
        e_coef: np.ndarray,
    ) -> np.ndarray:
        """Nodes pinned by the SVD of each component flagged in ``need``: the matrices of the
        reference ``_determined`` (rows: its equations in order; columns: its unknowns in
        ascending order; coefficients +1 members, -1 total)."""
        comps = np.flatnonzero(need)
        bounds = np.r_[comps, comps[-1] + 1]

        def by_comp(lab: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            sel = np.flatnonzero(need[lab])
            sel = sel[np.argsort(lab[sel], kind="stable")]  # ascending within a component
            lo = np.searchsorted(lab[sel], bounds[:-1])
            hi = np.searchsorted(lab[sel], bounds[:-1] + 1)
            pos = np.empty(len(lab), dtype=np.int64)
            pos[sel] = np.arange(len(sel)) - np.repeat(lo, hi - lo)
            return sel, np.c_[lo, hi], pos

        nodes, n_rng, col_of = by_comp(label)
        _, q_rng, row_of = by_comp(eq_label)
        ents, e_rng, _ = by_comp(label[e_node])
        out = []
        for (n0, n1), (q0, q1), (e0, e1) in zip(n_rng, q_rng, e_rng, strict=True):
            a = np.zeros((q1 - q0, n1 - n0))
            e = ents[e0:e1]
            a[row_of[e_row[e]], col_of[e_node[e]]] = e_coef[e]
            out.append(nodes[n0:n1][_null_pinned(a)])
        return np.concatenate(out)

    # ---- one more cell for a recoverable one
    def _widen(self, k: int) -> int:
        """The smallest published nonzero cell of any group linked to cell ``k`` through
        hidden cells (k's own groups are all hidden, yet other margins still pin it); -1 if
        none."""
        g, supp, values = self.g, self.supp, self.values
        p = g.ptr
        reached, frontier, seen = {k}, [k], set()
        best, best_v = -1, np.inf
        while frontier:
            cell = frontier.pop()
            for h in self._groups_of(cell).tolist():
                if h in seen:
                    continue
                seen.add(h)
                t = int(g.tot[h])
                for c in ([t] if t >= 0 else []) + g.mem[p[h] : p[h + 1]].tolist():
                    if supp[c]:
                        if c not in reached:
                            reached.add(c)
                            frontier.append(c)
                    elif values[c] > 0 and (values[c], c) < (best_v, best):
                        best, best_v = c, values[c]
        return best

    def _cover(self, k: int) -> int:
        """The cell to hide for recoverable cell ``k``: the smallest next-smallest cell of its
        groups (first group on ties), else the widened choice; -1 if none."""
        best, best_v = -1, np.inf
        for h in self._groups_of(k).tolist():
            pick = self._next_smallest(h)
            if pick >= 0 and self.values[pick] < best_v:
                best, best_v = pick, self.values[pick]
        return best if best >= 0 else self._widen(k)

    def run(self) -> np.ndarray:
        self.complementary(np.flatnonzero(self.n_supp == 1).tolist())
        active = np.unique(self.gblock)
        rounds = np.zeros(int(self.gblock.max(initial=-1)) + 1, dtype=np.int64)
        while len(active):
            rounds[active] += 1
            rec = self._pinned(active)
            # Rule 4: zeros are published, so learning that a hidden cell is 0 is no disclosure
            rec = rec[self.values[rec] != 0]
            if len(rec) == 0:
                break
            rec = rec[np.argsort(self.cblock[rec], kind="stable")]  # by block, ascending
            blocks = self.cblock[rec]
            cut = np.flatnonzero(np.r_[True, blocks[1:] != blocks[:-1], True])
            seeds: list[int] = []
            nxt = []
            for a, b in zip(cut[:-1].tolist(), cut[1:].tolist(), strict=True):
                block = int(blocks[a])
                for k in rec[a:b].tolist():
                    best = self._cover(k)
                    if best >= 0:
                        new = self._hide(best)
                        if rounds[block] < _MAX_ROUNDS:  # re-check after each addition
                            seeds += new
                            nxt.append(block)
                        break
                else:
                    log.warning(
                        "suppression: %d cells stay recoverable (no cell left to hide)", b - a
                    )
            self.complementary(seeds)
            active = np.array(sorted(nxt), dtype=np.int64)
        return self.supp


#: A hidden cell must keep at least this many + 1 possible whole values under exact linear
#: bounds (``floor(max) - ceil(min) >= MIN_RANGE``); 1 means it is never pinned to one value.
MIN_RANGE = 1
_LP_CAP = 1e7  # a finite stand-in for "no upper bound" (keeps every LP bounded)


def _caps(keys: _Keys) -> tuple[np.ndarray, np.ndarray]:
    """Pairs ``(a, b)`` of cells with ``a <= b`` published together: need x language <= the
    unit's language cell (a family is counted once per need). need <= total and
    need x language <= need follow from the sums and non-negativity."""
    idx = np.arange(len(keys.unit), dtype=np.int64)
    nl = idx[keys.is_dim("need_language")]
    lr = idx[keys.is_dim("language")]
    if len(nl) == 0 or len(lr) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    radix = [int(keys.unit.max(initial=0)) + 1, int(keys.lang.max(initial=0)) + 1]
    b = _lookup(
        _mix(keys.unit[lr], keys.lang[lr], radix=radix),
        lr,
        _mix(keys.unit[nl], keys.lang[nl], radix=radix),
    )
    ok = b >= 0
    return nl[ok], b[ok]


class _LinearBounds:
    """Exact linear bounds of hidden cells (scipy's HiGHS), per block.

    Everything published together constrains a hidden cell: every margin equation, every
    ``need x language <= language`` pair, the published values (zeros included) and the
    bounds ``lb``/``ub``. A hidden nonzero cell is *narrow* when its whole-number range
    ``[ceil(min), floor(max)]`` is shorter than :data:`MIN_RANGE`. To keep the number of
    LPs small, a few LPs over all blocks at once give feasible points first; a cell whose
    known feasible values (the true value among them) already span the range is cleared,
    and only the others get their own min and max LP (inside their connected component).
    """

    def __init__(
        self,
        values: np.ndarray,
        lb: np.ndarray,
        ub: np.ndarray,
        groups: _Groups,
        caps: tuple[np.ndarray, np.ndarray],
        cblock: np.ndarray,
    ) -> None:
        from scipy.sparse import csr_matrix

        n = len(values)
        self.values, self.cblock = values, cblock
        self.lb = lb.astype(float)
        self.ub = np.minimum(ub.astype(float), _LP_CAP)
        has_t = groups.tot >= 0
        eq_ids = np.flatnonzero(has_t)
        pos, sizes = _segments(groups.ptr, eq_ids)
        rows = np.r_[np.repeat(np.arange(len(eq_ids)), sizes), np.arange(len(eq_ids))]
        cols = np.r_[groups.mem[pos], groups.tot[eq_ids]]
        data = np.r_[np.ones(len(pos)), -np.ones(len(eq_ids))]
        self.eq = csr_matrix((data, (rows, cols)), shape=(len(eq_ids), n))
        a, b = caps
        self.le_pairs = (np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64))
        k = len(a)
        self.le = csr_matrix(
            (np.r_[np.ones(k), -np.ones(k)], (np.r_[np.arange(k), np.arange(k)], np.r_[a, b])),
            shape=(k, n),
        )

    @staticmethod
    def _solve(cost: np.ndarray, a_ub: Any, b_ub: Any, a_eq: Any, b_eq: Any, bounds: Any):
        from scipy.optimize import linprog

        res = linprog(
            cost,
            A_ub=a_ub if a_ub.shape[0] else None,
            b_ub=b_ub if a_ub.shape[0] else None,
            A_eq=a_eq if a_eq.shape[0] else None,
            b_eq=b_eq if a_eq.shape[0] else None,
            bounds=bounds,
            method="highs",
        )
        return res.x if res.status == 0 else None

    def _moves(self, supp: np.ndarray, unknown: np.ndarray) -> np.ndarray:
        """Hidden cells (a mask over ``unknown``) that one exchange of 1 between two hidden
        cells of one equation provably moves: another feasible whole-number point, so
        their range is at least 1 wide without any LP. Only cells in exactly one equation
        take part (a cell also in a district sum is left to the LP); the need x language <=
        language pairs are respected with the other cell fixed at its true value."""
        v = self.values
        eq = self.eq
        n_eq = np.diff(eq.tocsc().indptr)
        ok_cell = supp & (n_eq == 1)
        a, b = self.le_pairs
        capceil = np.full(len(v), np.inf)
        np.minimum.at(capceil, a, v[b])
        capfloor = np.full(len(v), -np.inf)
        np.maximum.at(capfloor, b, v[a])
        up = (np.minimum(self.ub, capceil) - v) >= 1
        down = (v - np.maximum(self.lb, capfloor)) >= 1
        coo = eq.tocoo()
        r, c, d = coo.row, coo.col, coo.data
        keep = ok_cell[c]
        r, c, d = r[keep], c[keep], d[keep]
        mem, tot = d > 0, d < 0
        n_rows = eq.shape[0]

        def counts(up: np.ndarray) -> tuple[np.ndarray, ...]:
            n_up = np.bincount(r[mem], weights=up[c[mem]], minlength=n_rows)
            n_down = np.bincount(r[mem], weights=down[c[mem]], minlength=n_rows)
            t_up = np.zeros(n_rows, dtype=bool)
            t_down = np.zeros(n_rows, dtype=bool)
            t_up[r[tot]] = up[c[tot]]
            t_down[r[tot]] = down[c[tot]]
            return n_up, n_down, t_up, t_down

        n_up, n_down, t_up, t_down = counts(up)
        # A need x language cell held at its language cell can still rise when that hidden
        # language cell rises with it: paid for by a hidden total, or by another hidden
        # language cell of the same total that can fall.
        row_of = np.full(len(v), -1, dtype=np.int64)
        row_of[c[mem]] = r[mem]
        rb = row_of[b]
        lift = ok_cell[b] & (rb >= 0)
        lift[lift] = t_up[rb[lift]] | (n_down[rb[lift]] - down[b[lift]] >= 1)
        held = (v[a] + 1 > capceil[a]) & (self.ub[a] - v[a] >= 1) & ok_cell[a]
        up = up.copy()
        up[a[lift & held]] = True
        n_up, n_down, t_up, t_down = counts(up)
        moved = np.zeros(len(v), dtype=bool)
        cm, rm = c[mem], r[mem]
        um, dm = up[cm], down[cm]
        moved[cm] = (
            (um & (n_down[rm] - dm >= 1))
            | (dm & (n_up[rm] - um >= 1))
            | (um & t_up[rm])
            | (dm & t_down[rm])
        )
        ct, rt = c[tot], r[tot]
        moved[ct] = (t_up[rt] & (n_up[rt] >= 1)) | (t_down[rt] & (n_down[rt] >= 1))
        return moved[unknown]

    def narrow(
        self, supp: np.ndarray, blocks: np.ndarray, *, truth: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Hidden cells of ``blocks`` (ascending) whose exact range is too short, and the
        lowest whole value of each. With ``truth`` the hidden cells' true values are known
        (a feasible point to start from, and exchange moves clear most cells without an
        LP; cells equal to 0 are not reported: zeros are published, rule 4); without,
        ``values`` is only read where ``~supp``. LPs run per block."""
        in_b = np.isin(self.cblock, blocks)
        unknown = np.flatnonzero(supp & in_b)
        if len(unknown) == 0:
            return unknown, np.zeros(0)
        if truth:
            lo, hi = self.values[unknown].copy(), self.values[unknown].copy()
            open_mask = (self.values[unknown] != 0) & ~self._moves(supp, unknown)
        else:
            lo, hi = np.full(len(unknown), np.inf), np.full(len(unknown), -np.inf)
            open_mask = np.ones(len(unknown), dtype=bool)
        if not open_mask.any():
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        known_v = np.where(supp, 0.0, self.values)
        rhs_eq = -(self.eq @ known_v)
        rhs_le = -(self.le @ known_v)
        eq_c, le_c = self.eq.tocsc(), self.le.tocsc()

        def cleared(ks: np.ndarray) -> np.ndarray:
            return (np.floor(hi[ks] + 1e-7) - np.ceil(lo[ks] - 1e-7)) >= MIN_RANGE

        out: list[int] = []
        ublock = self.cblock[unknown]
        open_blocks = np.unique(ublock[open_mask])
        order = np.argsort(ublock, kind="stable")
        starts = np.searchsorted(ublock[order], open_blocks)
        ends = np.searchsorted(ublock[order], open_blocks, side="right")
        for b0, b1 in zip(starts.tolist(), ends.tolist(), strict=True):
            ks = np.sort(order[b0:b1])  # positions in ``unknown`` of this block's cells
            cols = unknown[ks]
            sub_eq, sub_le = eq_c[:, cols], le_c[:, cols]
            r_eq, r_le = np.unique(sub_eq.indices), np.unique(sub_le.indices)
            a_eq, b_eq = sub_eq.tocsr()[r_eq], rhs_eq[r_eq]
            a_ub, b_ub = sub_le.tocsr()[r_le], rhs_le[r_le]
            bounds = np.c_[self.lb[cols], self.ub[cols]]

            def seen(x: np.ndarray | None, ks: np.ndarray = ks) -> None:
                if x is not None:
                    lo[ks] = np.minimum(lo[ks], x)
                    hi[ks] = np.maximum(hi[ks], x)

            local_open = np.flatnonzero(open_mask[ks])
            rng = np.random.default_rng(len(cols))  # deterministic: releases repeat
            stuck = 0
            for _ in range(30):
                if len(local_open) == 0 or stuck >= 2:
                    break
                cost = np.zeros(len(cols))
                cost[local_open] = rng.uniform(-1.0, 1.0, len(local_open))
                seen(self._solve(cost, a_ub, b_ub, a_eq, b_eq, bounds))
                still = local_open[~cleared(ks[local_open])]
                stuck = stuck + 1 if len(still) == len(local_open) else 0
                local_open = still
            for j in local_open.tolist():
                if cleared(ks[[j]])[0]:
                    continue
                for sign in (1.0, -1.0):
                    cost = np.zeros(len(cols))
                    cost[j] = sign
                    seen(self._solve(cost, a_ub, b_ub, a_eq, b_eq, bounds))
                    if cleared(ks[[j]])[0]:
                        break
                else:
                    out.append(int(ks[j]))
        res = np.array(sorted(out), dtype=np.int64)
        return unknown[res], np.ceil(lo[res] - 1e-7)


def _harden(sup: _Suppressor, bounds: _LinearBounds) -> np.ndarray:
    """Hide one more cell per block and round while a block has a narrow hidden cell."""
    active = np.unique(sup.gblock)
    for _ in range(_MAX_ROUNDS):
        if len(active) == 0:
            break
        narrow, _ = bounds.narrow(sup.supp, active)
        if len(narrow) == 0:
            break
        seeds: list[int] = []
        nxt: list[int] = []
        by_block: dict[int, list[int]] = {}
        for k in narrow.tolist():
            by_block.setdefault(int(sup.cblock[k]), []).append(k)
        for block, cells in by_block.items():
            best = -1
            for k in cells:  # the margin choice for the first cell that has one
                best = sup._cover(k)  # noqa: SLF001
                if best >= 0:
                    break
            if best < 0:
                # pinned through a need x language <= language pair only: the block's
                # smallest published nonzero cell
                cand = np.flatnonzero((sup.cblock == block) & ~sup.supp & (sup.values > 0))
                if len(cand) == 0:
                    log.warning("suppression: %d hidden cells keep a narrow range", len(cells))
                    continue
                best = int(cand[np.argmin(sup.values[cand])])
            seeds += sup._hide(best)  # noqa: SLF001
            nxt.append(block)
        sup.complementary(seeds)
        active = np.array(sorted(nxt), dtype=np.int64)
    return sup.supp


def _next_smallest(values: np.ndarray, supp: np.ndarray, members: np.ndarray, total: int) -> int:
    cand = members[(~supp[members]) & (values[members] > 0)]
    if len(cand):
        return int(cand[np.argmin(values[cand])])
    if total >= 0 and not supp[total] and values[total] > 0:
        return int(total)
    return -1


def suppress_cells(
    values: np.ndarray,
    primary: np.ndarray,
    groups: list[Group],
    *,
    lb: np.ndarray | None = None,
    ub: np.ndarray | None = None,
) -> np.ndarray:
    """Complete suppression mask: primary cells + complementary cells, none recoverable."""
    lb = np.where(values > 0, 1.0, 0.0) if lb is None else lb
    ub = np.full(len(values), np.inf) if ub is None else ub
    g = _Groups.from_list(groups)
    gblock = np.zeros(len(g.tot), dtype=np.int64)
    return _Suppressor(values, primary, lb, ub, g, gblock).run()


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
    keys = _Keys(grid)
    is_school, unit = keys.is_school, keys.unit
    is_total = keys.is_dim("total")
    tot_rows = np.flatnonzero(is_total)
    tot_row = _lookup(unit[tot_rows], tot_rows, unit)
    unit_total = np.where(tot_row >= 0, values[tot_row], 0.0)
    small = is_school & (unit_total < mc)
    primary = small | ((values > 0) & (values < mc))
    lb = np.where(small, 0.0, np.where(values > 0, 1.0, 0.0))
    lb[small & is_total] = 1.0
    ub = np.where(small, float(mc - 1), np.inf)
    # blocks: one district (with district rows) or one school; no group spans two blocks
    every = np.ones(len(grid), dtype=bool)
    block = keys.str_codes("district_id" if (~is_school).any() else "school_id", every)
    groups = _group_arrays(keys)
    gblock = block[groups.mem[groups.ptr[:-1]]]
    seg = np.repeat(gblock, np.diff(groups.ptr))
    has_t = groups.tot >= 0
    if (block[groups.mem] != seg).any() or (block[groups.tot[has_t]] != gblock[has_t]).any():
        raise RuntimeError("suppression: a margin group spans two blocks")
    # a block whose rows all belong to small schools is left as it is (all hidden)
    all_small = np.bincount(block, weights=~small, minlength=int(block.max(initial=-1)) + 1) == 0
    keep = np.flatnonzero(~all_small[gblock])
    groups = groups.take(keep)
    gblock = pd.factorize(gblock[keep])[0]
    sup = _Suppressor(values, primary, lb, ub, groups, gblock)
    sup.run()
    keep_cells = np.isin(block, np.flatnonzero(~all_small))
    a, b = _caps(keys)
    ok = keep_cells[a] & keep_cells[b]
    cblock = np.where(keep_cells, sup.cblock, -1)
    supp = _harden(sup, _LinearBounds(values, lb, ub, groups, (a[ok], b[ok]), cblock))

    out = grid[["school_id", "school_name", "district_id", "dimension", "need", "language"]].copy()
    ints, inv = np.unique(values.astype(np.int64), return_inverse=True)
    ints = ints.tolist()
    count = np.array(ints + [None], dtype=object)[np.where(supp, len(ints), inv)]
    out["count"] = pd.Series(count, dtype=object)
    text = [str(v) for v in ints] + [suppressed_display(mc)]
    display = np.array(text, dtype=object)[np.where(supp, len(ints), inv)]
    display[small & is_total] = small_school_display(mc)
    out["display"] = pd.array(display, dtype="str")
    out["suppressed"] = supp
    out["pct"] = pd.Series(_percentages(keys, values, supp, mc, md), dtype=object)
    out["synthetic"] = synthetic
    keep_rows = ~small | is_total
    out = out.loc[keep_rows].reset_index(drop=True)
    return out[PUBLISHED_COLUMNS]


def _percentages(keys: _Keys, values: np.ndarray, supp: np.ndarray, mc: int, md: int) -> np.ndarray:
    """Per row: 100 * count / denominator (one decimal), or None when rule 6 hides it. The
    denominator is the unit's need total for a need x language cell, else its total."""
    unit = keys.unit
    need = keys.factor("need")[0]
    is_tot, is_need, is_nl = keys.is_dim("total"), keys.is_dim("need"), keys.is_dim("need_language")
    r_need = int(need.max(initial=-1)) + 2
    # (unit, 0) for a total, (unit, 1 + code) for a need (code -1 for no need)
    kind = np.where(is_nl | is_need, need + 2, 0)
    radix = [int(unit.max(initial=0)) + 1, r_need + 1]
    key = _mix(unit, kind, radix=radix)
    rows = np.flatnonzero(is_tot | is_need)
    query = np.where(is_nl, key, _mix(unit, np.zeros_like(unit), radix=radix))
    den_row = _lookup(key[rows], rows, query)
    den_ok = den_row >= 0
    den_ok[den_ok] = ~supp[den_row[den_ok]]
    den = np.where(den_ok, values[den_row], np.nan)
    with np.errstate(invalid="ignore"):
        show = ~is_tot & ~supp & ~(values < mc) & den_ok & ~(den < md)
    pct = np.full(len(unit), None, dtype=object)
    pct[show] = list(np.round(100.0 * values[show] / den[show], 1))
    return pct


# ---------------------------------------------------------------------------------------------
# independent check
# ---------------------------------------------------------------------------------------------
def recoverable_cells(published: pd.DataFrame, *, min_cell: int | None = None) -> pd.DataFrame:
    """Suppressed cells of a published frame that can be recovered from what is published.

    A cell is recoverable when its exact linear bounds (HiGHS; every margin, every
    need x language <= language pair, published zeros, non-negativity) leave fewer than
    :data:`MIN_RANGE` + 1 whole values; ``value`` is the lowest of them.
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
    keys = _Keys(pub)
    groups = _group_arrays(keys)
    bounds = _LinearBounds(values, lb, ub, groups, _caps(keys), np.zeros(len(pub), dtype=np.int64))
    det, recovered = bounds.narrow(supp, np.zeros(1, dtype=np.int64), truth=False)
    res = pub.iloc[det][["school_id", "district_id", "dimension", "need", "language"]].copy()
    res["value"] = recovered
    # Rule 4: zeros are published anyway; a hidden cell pinned to 0 discloses nothing
    res = res[res["value"] != 0]
    return res.reset_index(drop=True)
