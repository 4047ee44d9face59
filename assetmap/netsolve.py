"""Choosing a school's coordinated network: the objective and its solvers.

See :mod:`assetmap.network` for the objective ``F``. Two shapes of the same problem:

* :class:`NetworkInstance` — one school, Python tables over every subset of candidates;
  used for exact enumeration, branch and bound and the greedy variant;
* :class:`Batch` — many schools on one (school x need x candidate) grid, solved with numpy
  (the sequential choice and the 1-swap search, vectorised over schools). The instance
  solvers :func:`solve_sequential` and :func:`_swap_search` run the batch code with one
  school, so a school gets the same choice whichever path it takes.
"""

from __future__ import annotations

import functools
import itertools
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "SLOTS",
    "Batch",
    "blank_arrays",
    "NetworkInstance",
    "n_choices",
    "objective",
    "solve",
    "solve_branch_and_bound",
    "solve_exact",
    "solve_greedy",
    "solve_sequential",
]

log = logging.getLogger(__name__)

SLOTS = 3


@dataclass
class NetworkInstance:
    """One school's choice problem. Candidates are identified by ``ids`` (partner positions).

    ``demand[n]`` — families of need n per language (L,); ``covers[n]`` — (K_n, L) bool, which
    languages candidate k serves; ``scores[n]`` — (K_n,) match scores; ``ids[n]`` — (K_n,)
    partner ids (the same id may appear under several needs). K_n is at most 12.
    """

    needs: list[str]
    demand: list[np.ndarray]
    covers: list[np.ndarray]
    scores: list[np.ndarray]
    ids: list[np.ndarray]
    mu: float = 0.1
    lam: float = 0.02

    def __post_init__(self) -> None:
        tot = np.array([float(np.sum(d)) for d in self.demand], dtype=float)
        n = len(tot)
        self.w = (tot / tot.sum() if tot.sum() > 0 else np.full(n, 1.0 / max(n, 1))).tolist()
        self.k = [min(SLOTS, len(i)) for i in self.ids]
        self.sc = [np.asarray(x, dtype=float).tolist() for x in self.scores]
        self.pid = [np.asarray(x).tolist() for x in self.ids]
        # coverage of every subset of candidates (bitmask -> share), one numpy pass per need
        self.cov_table: list[list[float]] = []
        for d, cov in zip(self.demand, self.covers, strict=True):
            kk = cov.shape[0]
            if kk > 12:
                raise ValueError("at most 12 candidates per need")
            subsets = (np.arange(2**kk)[:, None] >> np.arange(kk)[None, :]) & 1
            covered = (subsets @ cov.astype(np.int64)) > 0
            total = float(np.sum(d))
            table = covered @ np.asarray(d, dtype=float) / total if total > 0 else np.ones(2**kk)
            if total > 0:
                table[0] = 0.0
            self.cov_table.append(table.tolist())

    @property
    def weights(self) -> np.ndarray:
        return np.array(self.w)

    def slots(self, n: int) -> int:
        return self.k[n]

    def coverage(self, n: int, chosen: Iterable[int]) -> float:
        """cov_n of a set of candidate indexes."""
        return self.cov_table[n][sum(1 << c for c in set(chosen))]


def objective(inst: NetworkInstance, choice: list[tuple[int, ...]]) -> float:
    """F of a choice: ``choice[n]`` is the tuple of candidate indexes chosen for need n."""
    f = 0.0
    used: set = set()
    for n, sel in enumerate(choice):
        if not sel:
            continue
        sc = inst.sc[n]
        mean = sum(sc[c] for c in sel) / len(sel)
        f += inst.w[n] * (inst.cov_table[n][sum(1 << c for c in sel)] + inst.mu * mean)
        pid = inst.pid[n]
        used.update(pid[c] for c in sel)
    return f - inst.lam * len(used)


def n_choices(inst: NetworkInstance) -> int:
    total = 1
    for n in range(len(inst.needs)):
        total *= math.comb(len(inst.ids[n]), inst.slots(n))
        if total > 10**12:
            break
    return total


def solve_exact(inst: NetworkInstance) -> list[tuple[int, ...]]:
    """Best choice by enumeration (first best in lexicographic order on ties)."""
    options = [
        list(itertools.combinations(range(len(inst.ids[n])), inst.slots(n)))
        for n in range(len(inst.needs))
    ]
    best, best_f = None, -np.inf
    for choice in itertools.product(*options):
        f = objective(inst, list(choice))
        if f > best_f + 1e-12:
            best, best_f = list(choice), f
    return best if best is not None else [() for _ in inst.needs]


def solve_greedy(inst: NetworkInstance, *, local_search: bool = True) -> list[tuple[int, ...]]:
    """Greedy marginal-gain filling of every need's slots, then 1-swap local search."""
    chosen: list[list[int]] = [[] for _ in inst.needs]
    masks = [0] * len(inst.needs)
    used: set = set()
    for _ in range(sum(inst.k)):
        best, best_gain = None, -np.inf
        for n in range(len(inst.needs)):
            m = len(chosen[n])
            if m >= inst.k[n]:
                continue
            tab, sc, pid, wn = inst.cov_table[n], inst.sc[n], inst.pid[n], inst.w[n]
            base = tab[masks[n]]
            s_cur = sum(sc[c] for c in chosen[n])
            mean_old = s_cur / m if m else 0.0
            for c in range(len(sc)):
                if masks[n] >> c & 1:
                    continue
                gain = wn * (
                    tab[masks[n] | 1 << c] - base + inst.mu * ((s_cur + sc[c]) / (m + 1) - mean_old)
                ) - (0.0 if pid[c] in used else inst.lam)
                if gain > best_gain + 1e-12:
                    best, best_gain = (n, c), gain
        if best is None:
            break
        n, c = best
        chosen[n].append(c)
        masks[n] |= 1 << c
        used.add(inst.pid[n][c])
    choice = [tuple(sorted(c)) for c in chosen]
    if local_search:
        choice = _swap_search(inst, choice)
    return choice


def _options(inst: NetworkInstance, n: int) -> list[tuple[float, int, tuple[int, ...]]]:
    """Every set of ``k_n`` candidates of need n: (own value g_n, bitmask, indexes)."""
    key = ("options", n)
    cache = inst.__dict__.setdefault("_opt_cache", {})
    if key not in cache:
        sc, tab, wn = inst.sc[n], inst.cov_table[n], inst.w[n]
        opts = []
        for sel in itertools.combinations(range(len(sc)), inst.k[n]):
            mask = sum(1 << c for c in sel)
            mean = sum(sc[c] for c in sel) / len(sel) if sel else 0.0
            opts.append((wn * (tab[mask] + inst.mu * mean), mask, sel))
        opts.sort(key=lambda o: -o[0])
        cache[key] = opts
    return cache[key]


def solve_sequential(inst: NetworkInstance, *, local_search: bool = True) -> list[tuple[int, ...]]:
    """Needs in decreasing weight; each takes its best set given the partners already chosen
    (own value minus ``lam`` per new partner, exact per need), then 1-swap local search.
    With ``lam = 0`` the needs decouple and this is the exact optimum. (The batch solver
    with one school: one implementation for one school and for a whole state.)"""
    batch = Batch.from_instance(inst)
    choice = batch.sequential()
    if local_search:
        choice = batch.swap_search(choice)
    return batch.tuples(choice)[0]


def _swap_search(inst: NetworkInstance, choice: list[tuple[int, ...]]) -> list[tuple[int, ...]]:
    """Best-improvement 1-swap search from ``choice`` (see :meth:`Batch.swap_search`)."""
    batch = Batch.from_instance(inst)
    return batch.tuples(batch.swap_search(batch.option_of([choice])))[0]


def solve_branch_and_bound(
    inst: NetworkInstance, *, start: list[tuple[int, ...]] | None = None, max_nodes: int = 200_000
) -> tuple[list[tuple[int, ...]], bool]:
    """Exact search: depth-first over needs, options in decreasing order of their own value,
    pruned with the bound ``value so far + sum of the best remaining option values -
    lam * partners used so far`` (the partner penalty only grows). Starts from ``start``
    (default: greedy + swap). Returns ``(choice, proven_optimal)``; the proof fails only when
    ``max_nodes`` is exhausted, and then the best choice found is returned."""
    n_needs = len(inst.needs)
    if n_needs == 0:
        return [], True
    options = [
        [(g, sel, frozenset(inst.pid[n][c] for c in sel)) for g, _, sel in _options(inst, n)]
        for n in range(n_needs)
    ]
    # needs with the most spread in option values first prunes best
    order = sorted(range(n_needs), key=lambda n: -(options[n][0][0] - options[n][-1][0]))
    best_rest = [0.0] * (n_needs + 1)
    for i in range(n_needs - 1, -1, -1):
        best_rest[i] = best_rest[i + 1] + options[order[i]][0][0]
    best_choice = list(start) if start is not None else solve_sequential(inst)
    best_f = objective(inst, best_choice)
    picked: list[tuple[int, ...]] = [()] * n_needs
    nodes = 0
    complete = True

    def dfs(i: int, value: float, used: dict) -> None:
        nonlocal best_f, best_choice, nodes, complete
        if not complete:
            return
        if i == n_needs:
            f = value - inst.lam * len(used)
            if f > best_f + 1e-12:
                best_f, best_choice = f, list(picked)
            return
        n = order[i]
        for g, sel, ids in options[n]:
            nodes += 1
            if nodes > max_nodes:
                complete = False
                return
            base_bound = value + g + best_rest[i + 1] - inst.lam * len(used)
            if base_bound <= best_f + 1e-12:
                break  # options are sorted by g: no later option can do better
            n_new = sum(1 for x in ids if x not in used)
            if base_bound - inst.lam * n_new <= best_f + 1e-12:
                continue
            for x in ids:
                used[x] = used.get(x, 0) + 1
            picked[n] = sel
            dfs(i + 1, value + g, used)
            for x in ids:
                used[x] -= 1
                if used[x] == 0:
                    del used[x]
            picked[n] = ()

    dfs(0, 0.0, {})
    return best_choice, complete


def solve(
    inst: NetworkInstance,
    *,
    exact_limit: int = 256,
    bnb_limit: int = 10**7,
    method: str = "auto",
    max_nodes: int = 20_000,
) -> list[tuple[int, ...]]:
    """The school's choice. ``auto``: enumeration when there are at most ``exact_limit``
    choices; greedy + swap search refined by branch and bound up to ``bnb_limit`` choices
    (exact unless the ``max_nodes`` budget runs out — then the best choice found); beyond
    that, greedy + swap search. ``exact`` always enumerates; ``greedy`` stops after the swap
    search."""
    size = n_choices(inst)
    if method == "exact" or (method == "auto" and size <= exact_limit):
        return solve_exact(inst)
    start = solve_greedy(inst) if method == "greedy" else solve_sequential(inst)
    if method in ("greedy", "sequential") or (method == "auto" and size > bnb_limit):
        return start
    choice, proven = solve_branch_and_bound(inst, start=start, max_nodes=max_nodes)
    if not proven:
        log.debug("network: branch and bound budget reached; best choice found is used")
    return choice


# ------------------------------------------------------------------------------ batch solver
_TIE = 1e-12


@functools.lru_cache(maxsize=16)
def _option_table(k_max: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every set of up to SLOTS of ``k_max`` candidates, by size then in
    ``itertools.combinations`` order: (members (O, SLOTS) padded with ``k_max``, size (O,),
    bitmask (O,), lookup bitmask -> option index or -1 (2**k_max,))."""
    opts = [c for t in range(SLOTS + 1) for c in itertools.combinations(range(k_max), t)]
    members = np.full((len(opts), SLOTS), k_max, dtype=np.int64)
    for o, c in enumerate(opts):
        members[o, : len(c)] = c
    size = np.array([len(c) for c in opts], dtype=np.int64)
    mask = np.array([sum(1 << x for x in c) for c in opts], dtype=np.int64)
    lut = np.full(2**k_max, -1, dtype=np.int64)
    lut[mask] = np.arange(len(opts))
    return members, size, mask, lut


def blank_arrays(s: int, n: int, k: int, n_lang: int) -> dict[str, np.ndarray]:
    """Empty arrays for a :class:`Batch` of s schools, n needs, k candidates, n_lang languages."""
    return {
        "present": np.zeros((s, n), dtype=bool),
        "demand": np.zeros((s, n, n_lang)),
        "covers": np.zeros((s, n, k, n_lang), dtype=bool),
        "scores": np.zeros((s, n, k)),
        "ids": np.full((s, n, k), -1, dtype=np.int64),
        "count": np.zeros((s, n), dtype=np.int64),
    }


@dataclass
class Batch:
    """Many schools' choice problems on one grid: S schools x N needs x K candidates x L
    languages. A need is part of school s's problem where ``present[s, n]``; its candidates
    are the first ``count[s, n]`` of the K slots (best first)."""

    present: np.ndarray  # (S, N) bool
    demand: np.ndarray  # (S, N, L) families per language
    covers: np.ndarray  # (S, N, K, L) bool
    scores: np.ndarray  # (S, N, K) match scores
    ids: np.ndarray  # (S, N, K) partner ids (int), -1 where no candidate
    count: np.ndarray  # (S, N) number of candidates
    mu: float = 0.1
    lam: float = 0.02

    @classmethod
    def from_instance(cls, inst: NetworkInstance) -> Batch:
        n = len(inst.needs)
        k = max([len(i) for i in inst.ids] + [1])
        n_lang = max([len(d) for d in inst.demand] + [1])
        a = blank_arrays(1, n, k, n_lang)
        for j in range(n):
            kk = len(inst.ids[j])
            a["present"][0, j] = True
            a["demand"][0, j] = np.asarray(inst.demand[j], dtype=float)
            a["count"][0, j] = kk
            if kk:
                a["covers"][0, j, :kk] = np.asarray(inst.covers[j], dtype=bool)
                a["scores"][0, j, :kk] = np.asarray(inst.scores[j], dtype=float)
                a["ids"][0, j, :kk] = np.asarray(inst.ids[j], dtype=np.int64)
        return cls(**a, mu=inst.mu, lam=inst.lam)

    # ------------------------------------------------------------------ tables
    def __post_init__(self) -> None:
        s, n, k = self.scores.shape
        if k > 12:
            raise ValueError("at most 12 candidates per need")
        self.members, self.size, self.mask, self.lut = _option_table(k)
        n_opt = len(self.size)
        tot = np.where(self.present, self.demand.sum(axis=2), 0.0)
        total = tot.sum(axis=1, keepdims=True)
        n_present = np.maximum(self.present.sum(axis=1, keepdims=True), 1)
        self.w = np.where(
            total > 0, tot / np.where(total > 0, total, 1.0), self.present / n_present
        )
        self.k = np.minimum(SLOTS, self.count)
        # options of the right size whose members all exist
        exists = (self.members[None, None, :, :] < self.count[:, :, None, None]) | (
            self.members[None, None, :, :] == k
        )
        self.ok = (
            self.present[:, :, None]
            & (self.size[None, None, :] == self.k[:, :, None])
            & exists.all(axis=3)
        )
        sc = np.concatenate([self.scores, np.zeros((s, n, 1))], axis=2)
        self.sc = sc
        mean = sc[:, :, self.members].sum(axis=3) / np.maximum(self.size, 1)
        # coverage share of every option: chunks of schools keep the (S, N, O, L) table small
        cov = np.concatenate([self.covers, np.zeros((s, n, 1, self.covers.shape[3]), bool)], 2)
        tab = np.ones((s, n, n_opt))
        step = max(1, 2_000_000 // max(1, n * n_opt * SLOTS * self.covers.shape[3]))
        for a in range(0, s, step):
            c = cov[a : a + step][:, :, self.members].any(axis=3)  # (s', N, O, L)
            d = self.demand[a : a + step]
            t = d.sum(axis=2)
            share = np.einsum("snol,snl->sno", c, d) / np.where(t > 0, t, 1.0)[:, :, None]
            tab[a : a + step] = np.where(t[:, :, None] > 0, share, 1.0)
        self.tab = tab
        self.g = np.where(self.ok, self.w[:, :, None] * (tab + self.mu * mean), -np.inf)
        # one compact id per (school, partner): used-partner counts live in one flat array
        flat = np.where(self.ids >= 0, np.arange(s)[:, None, None] * (self.ids.max() + 2), -1)
        key = np.where(self.ids >= 0, flat + self.ids, -1)
        uniq, inv = np.unique(key, return_inverse=True)
        has_pad = len(uniq) and uniq[0] == -1
        uid = inv.reshape(key.shape) - (1 if has_pad else 0)
        self.n_uid = len(uniq) - (1 if has_pad else 0)
        self.dummy = self.n_uid
        uid = np.where(self.ids >= 0, uid, self.dummy)
        self.uid = np.concatenate([uid, np.full((s, n, 1), self.dummy, dtype=np.int64)], axis=2)

    def option_of(self, choices: list[list[tuple[int, ...]]]) -> np.ndarray:
        """Option indexes (S, N) of choices given as tuples of candidate indexes."""
        out = np.full(self.present.shape, -1, dtype=np.int64)
        for s, choice in enumerate(choices):
            for n, sel in enumerate(choice):
                out[s, n] = self.lut[sum(1 << c for c in sel)]
        return out

    def tuples(self, choice: np.ndarray) -> list[list[tuple[int, ...]]]:
        """Choices as tuples of candidate indexes, per school and need."""
        out = []
        for s in range(choice.shape[0]):
            row = []
            for n in range(choice.shape[1]):
                o = choice[s, n]
                row.append(tuple(int(c) for c in self.members[o, : self.size[o]]) if o >= 0 else ())
            out.append(row)
        return out

    def _counts(self, choice: np.ndarray) -> np.ndarray:
        counts = np.zeros(self.n_uid + 1, dtype=np.int64)
        s, n = np.nonzero(choice >= 0)
        mem = self.uid[s[:, None], n[:, None], self.members[choice[s, n]]]
        np.add.at(counts, mem.ravel(), 1)
        counts[self.dummy] = 0
        return counts

    # ------------------------------------------------------------------ solvers
    def sequential(self) -> np.ndarray:
        """Needs in decreasing weight (ties: need order); each takes its best option given the
        partners already used: value minus ``lam`` per new partner. Among options within
        1e-12 of the best value, the one with the highest own value (then first) wins."""
        s_count, n_count = self.present.shape
        choice = np.full((s_count, n_count), -1, dtype=np.int64)
        counts = np.zeros(self.n_uid + 1, dtype=np.int64)
        order = np.argsort(np.where(self.present, -self.w, np.inf), axis=1, kind="stable")
        rows_all = np.arange(s_count)
        for i in range(n_count):
            need = order[:, i]
            act = self.present[rows_all, need]
            if not act.any():
                break
            rows, nn = rows_all[act], need[act]
            g = self.g[rows, nn]  # (A, O)
            mem = self.uid[rows, nn][:, self.members]  # (A, O, SLOTS)
            new = ((counts[mem] == 0) & (mem != self.dummy)).sum(axis=2)
            v = g - self.lam * new
            by_g = np.argsort(-g, axis=1, kind="stable")
            vs = np.take_along_axis(v, by_g, axis=1)
            first = np.argmax(vs >= vs.max(axis=1, keepdims=True) - _TIE, axis=1)
            pick = by_g[np.arange(len(rows)), first]
            choice[rows, nn] = pick
            picked = self.uid[rows, nn][np.arange(len(rows))[:, None], self.members[pick]]
            np.add.at(counts, picked.ravel(), 1)
            counts[self.dummy] = 0
        return choice

    def swap_search(self, choice: np.ndarray, max_rounds: int = 1000) -> np.ndarray:
        """Best-improvement 1-swap search, every school at once: replace one chosen candidate
        of one need by another candidate of that need while the objective rises by more than
        1e-12 (first best move in need, slot, candidate order)."""
        choice = choice.copy()
        counts = self._counts(choice)
        s_count, n_count, k = self.scores.shape
        cand = np.arange(k)
        active = np.flatnonzero((choice >= 0).any(axis=1))
        for _ in range(max_rounds):
            if len(active) == 0:
                break
            ch = choice[active]  # (A, N)
            has = ch >= 0
            chs = np.where(has, ch, 0)
            mask = self.mask[chs]  # (A, N)
            out_c = self.members[chs]  # (A, N, SLOTS): candidate index or k (pad)
            kk = self.size[chs]
            ar = active[:, None]
            nidx = np.arange(n_count)[None, :]
            base = self.tab[ar, nidx, chs]  # (A, N)
            new_mask = (mask[:, :, None] & ~(1 << out_c))[:, :, :, None] | (1 << cand)
            o_new = self.lut[new_mask]  # (A, N, SLOTS, K)
            tab_new = self.tab[ar[:, :, None, None], nidx[:, :, None, None], np.maximum(o_new, 0)]
            sc = self.sc[active]  # (A, N, K+1)
            sc_out = np.take_along_axis(sc, out_c, axis=2)  # (A, N, SLOTS)
            uid = self.uid[active]
            rem = counts[np.take_along_axis(uid, out_c, axis=2)] == 1
            add = counts[uid[:, :, :k]] == 0  # (A, N, K)
            valid = (
                has[:, :, None, None]
                & (np.arange(SLOTS)[None, None, :, None] < kk[:, :, None, None])
                & (cand[None, None, None, :] < self.count[active][:, :, None, None])
                & ((mask[:, :, None, None] >> cand) & 1 == 0)
                & (o_new >= 0)
            )
            delta = self.w[active][:, :, None, None] * (
                tab_new
                - base[:, :, None, None]
                + self.mu
                * (sc[:, :, None, :k] - sc_out[:, :, :, None])
                / np.maximum(kk, 1)[:, :, None, None]
            ) - self.lam * (add[:, :, None, :].astype(float) - rem[:, :, :, None])
            delta = np.where(valid, delta, -np.inf).reshape(len(active), -1)
            best = np.argmax(delta, axis=1)
            gain = delta[np.arange(len(active)), best]
            move = gain > _TIE
            if not move.any():
                break
            rows = np.flatnonzero(move)
            n_m, j_m, c_m = np.unravel_index(best[rows], (n_count, SLOTS, k))
            s_m = active[rows]
            o_m = o_new[rows, n_m, j_m, c_m]
            out_uid = self.uid[s_m, n_m, out_c[rows, n_m, j_m]]
            in_uid = self.uid[s_m, n_m, c_m]
            np.add.at(counts, out_uid, -1)
            np.add.at(counts, in_uid, 1)
            choice[s_m, n_m] = o_m
            active = s_m
        return choice

    def solve(self) -> np.ndarray:
        """Sequential choice, then the 1-swap search."""
        return self.swap_search(self.sequential())
