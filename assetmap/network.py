"""Coordinated partner networks: per school and need, a lead partner and up to two backups.

Objective (per school). For each need ``n`` with candidate partners ``C_n`` (the best
``candidates`` partners within reach by match score) choose a set ``S_n`` of
``k_n = min(3, |C_n|)`` partners, maximising

    F = sum_n w_n * [ cov_n(S_n) + mu * mean score(S_n) ]  -  lam * |union of all S_n|

where ``w_n`` is the need's share of the school's need-families, ``cov_n(S)`` the share of
the need's families whose home language at least one partner in ``S`` serves (English and
not stated count as covered), ``mu`` (default 0.1) rewards better-scoring partners and
``lam`` (default 0.02) charges every distinct partner, so the network uses as few
organisations as it can for the same coverage. In each ``S_n`` the partner with the highest
own coverage (then score) is the lead, the others are backups.

Method. When the number of possible choices is at most ``exact_limit`` the choice is
exact (enumeration). Otherwise the needs are taken in decreasing weight and each picks its
best set given the partners already chosen (its own value minus ``lam`` per new partner —
exact per need, and the exact optimum overall when ``lam = 0`` because the needs then
decouple); a best-improvement 1-swap local search follows, and for instances of up to
``bnb_limit`` choices a branch and bound search started from that choice proves it optimal
or finds a better one (exact unless its node budget runs out). ``method='greedy'`` instead
fills slots one at a time by marginal gain: per need the coverage term is a weighted
maximum-coverage problem under a cardinality constraint, for which that greedy is a
(1 - 1/e)-approximation (Nemhauser, Wolsey & Fisher 1978). The partner penalty and score
term make the full objective non-monotone, hence the exact refinements; the tests compare
the choice against brute force on small instances.

Partners leading for more than ``settings.lead_partner_load_warning`` schools are flagged
``overloaded`` (``lead_load`` counts the schools they lead for).
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from assetmap.index import PartnerIndex
from assetmap.languages import load_languages
from assetmap.match import (
    AnalysisContext,
    _require_index,
    _schools_with_need,
    best_pairs,
    nearest_beyond,
    needs_of,
    prepare,
)
from assetmap.needs import UNKNOWN_LANGUAGE, NeedProfile
from assetmap.settings import Settings
from assetmap.taxonomy import load_taxonomy

__all__ = [
    "NETWORK_COLUMNS",
    "NetworkInstance",
    "build_network",
    "objective",
    "solve",
    "solve_exact",
    "solve_greedy",
]

log = logging.getLogger(__name__)

NETWORK_COLUMNS = [
    "school_id",
    "school_name",
    "district_id",
    "need",
    "need_label",
    "role",
    "rank",
    "partner_id",
    "partner_name",
    "category",
    "distance_km",
    "languages",
    "languages_needed",
    "language_coverage",
    "score",
    "reason",
    "mou_status",
    "example",
    "stale",
    "partner_lat",
    "partner_lon",
    "school_lat",
    "school_lon",
    "phone",
    "address",
    "hours",
    "website",
    "lead_load",
    "overloaded",
    "families_display",
]

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
    With ``lam = 0`` the needs decouple and this is the exact optimum."""
    order = sorted(range(len(inst.needs)), key=lambda n: -inst.w[n])
    used: dict = {}
    choice: list[tuple[int, ...]] = [()] * len(inst.needs)
    for n in order:
        pid = inst.pid[n]
        best, best_v = (), -np.inf
        for g, _, sel in _options(inst, n):
            if g <= best_v:
                break  # sorted by g; the penalty only lowers values
            v = g - inst.lam * sum(1 for c in sel if pid[c] not in used)
            if v > best_v + 1e-12:
                best, best_v = sel, v
        choice[n] = best
        for c in best:
            used[pid[c]] = used.get(pid[c], 0) + 1
    return _swap_search(inst, choice) if local_search else choice


def _swap_search(inst: NetworkInstance, choice: list[tuple[int, ...]]) -> list[tuple[int, ...]]:
    """Best-improvement 1-swap search with O(1) objective deltas (replace one chosen
    candidate of one need by another candidate of that need)."""
    choice = [tuple(c) for c in choice]
    used: dict = {}
    for n, sel in enumerate(choice):
        for c in sel:
            used[inst.pid[n][c]] = used.get(inst.pid[n][c], 0) + 1
    for _ in range(1000):
        best_delta, best_move = 1e-12, None
        for n, sel in enumerate(choice):
            if not sel:
                continue
            tab, sc, pid, wn, k = inst.cov_table[n], inst.sc[n], inst.pid[n], inst.w[n], len(sel)
            mask = sum(1 << c for c in sel)
            base = tab[mask]
            for out in sel:
                rem = 1 if used[pid[out]] == 1 else 0
                m_out = mask & ~(1 << out)
                for c in range(len(sc)):
                    if mask >> c & 1:
                        continue
                    add = 0 if pid[c] in used and not (pid[c] == pid[out] and rem) else 1
                    delta = wn * (tab[m_out | 1 << c] - base + inst.mu * (sc[c] - sc[out]) / k)
                    delta -= inst.lam * (add - rem)
                    if delta > best_delta:
                        best_delta, best_move = delta, (n, out, c)
        if best_move is None:
            return choice
        n, out, c = best_move
        choice[n] = tuple(sorted([x for x in choice[n] if x != out] + [c]))
        po, pc = inst.pid[n][out], inst.pid[n][c]
        used[po] -= 1
        if used[po] == 0:
            del used[po]
        used[pc] = used.get(pc, 0) + 1
    return choice


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


# ------------------------------------------------------------------------------ the frame
def build_network(
    school_ids: Iterable[str] | None = None,
    *,
    partners_index: PartnerIndex | None = None,
    profile: NeedProfile,
    schools: pd.DataFrame | None = None,
    settings: Settings | None = None,
    zones: gpd.GeoDataFrame | None = None,
    context: AnalysisContext | None = None,
    district: str | None = None,
    candidates: int = 6,
    exact_limit: int = 256,
    method: str = "auto",
    mu: float = 0.1,
    lam: float = 0.02,
) -> pd.DataFrame:
    """The network frame (NETWORK_COLUMNS) for the given schools, or every surveyed school of
    ``district``, or all surveyed schools."""
    ctx = context or prepare(
        partners_index=_require_index(partners_index),
        profile=profile,
        schools=schools,
        settings=settings,
        zones=zones,
    )
    if school_ids is not None:
        pos = ctx.school_pos(school_ids)
    elif district is not None:
        pos = np.flatnonzero(ctx.schools["district_id"].astype(str).to_numpy() == str(district))
    else:
        pos = np.arange(len(ctx.schools))
    tax = load_taxonomy()
    needs = needs_of(ctx, pos)
    # candidates per (need, school) -> arrays
    per_need: dict[str, dict[int, dict[str, np.ndarray]]] = {}
    nearest: dict[str, dict[int, tuple[float, int]]] = {}
    mats: dict[str, np.ndarray] = {}
    for need in needs:
        with_need = _schools_with_need(ctx, need, pos)
        pairs = best_pairs(ctx, need, with_need, candidates)
        _, mats[need] = ctx.demand(need)
        groups: dict[int, dict[str, np.ndarray]] = {}
        if len(pairs):
            bounds = np.flatnonzero(np.r_[True, pairs.school[1:] != pairs.school[:-1], True])
            for a, b in zip(bounds[:-1], bounds[1:], strict=True):
                groups[int(pairs.school[a])] = {
                    "partner": pairs.partner[a:b],
                    "distance": pairs.distance_km[a:b],
                    "coverage": pairs.language_coverage[a:b],
                    "score": pairs.score[a:b],
                }
        per_need[need] = groups
        lacking = np.array([s for s in with_need if int(s) not in groups], dtype=np.int64)
        if len(lacking):
            d, j = nearest_beyond(ctx, need, lacking)
            nearest[need] = {
                int(s): (float(dd), int(jj)) for s, dd, jj in zip(lacking, d, j, strict=True)
            }
    rows: list[dict] = []
    for s in pos:
        s = int(s)
        s_needs = [n for n in needs if s in per_need[n] or s in nearest.get(n, {})]
        inst_needs = [n for n in s_needs if s in per_need[n]]
        inst = NetworkInstance(
            needs=inst_needs,
            demand=[mats[n][s] for n in inst_needs],
            covers=[ctx.partner_lang[per_need[n][s]["partner"]] for n in inst_needs],
            scores=[per_need[n][s]["score"] for n in inst_needs],
            ids=[per_need[n][s]["partner"] for n in inst_needs],
            mu=mu,
            lam=lam,
        )
        choice = solve(inst, exact_limit=exact_limit, method=method) if inst_needs else []
        chosen_by_need = dict(zip(inst_needs, choice, strict=True))
        all_chosen: dict[int, list[str]] = {}
        for n in inst_needs:
            for c in chosen_by_need[n]:
                all_chosen.setdefault(int(per_need[n][s]["partner"][c]), []).append(n)
        for need in s_needs:
            if need not in chosen_by_need:
                d, j = nearest[need][s]
                rows.append(_gap_row(ctx, s, need, d, j, tax))
                continue
            cand = per_need[need][s]
            sel = list(chosen_by_need[need])
            sel.sort(key=lambda c: (-cand["coverage"][c], -cand["score"][c], cand["distance"][c]))
            covered = np.zeros(len(ctx.languages), dtype=bool)
            for rank, c in enumerate(sel, start=1):
                ppos = int(cand["partner"][c])
                gained = ctx.partner_lang[ppos] & ~covered
                reason = _reason(ctx, s, need, rank, cand, c, gained, covered, all_chosen, ppos)
                covered |= ctx.partner_lang[ppos]
                rows.append(_row(ctx, s, need, rank, ppos, cand, c, reason, tax))
    out = pd.DataFrame(
        {
            c: pd.Series([r[c] for r in rows], dtype=object)
            for c in NETWORK_COLUMNS
            if c not in ("lead_load", "overloaded")
        }
    )
    for c in ("rank",):
        out[c] = out[c].astype(int) if len(out) else out[c]
    if out.empty:
        return pd.DataFrame(columns=NETWORK_COLUMNS)
    leads = out[out["role"] == "lead"].groupby("partner_id")["school_id"].nunique()
    out["lead_load"] = out["partner_id"].map(leads).fillna(0).astype(int)
    out["overloaded"] = out["lead_load"] > ctx.settings.lead_partner_load_warning
    limit = ctx.settings.lead_partner_load_warning
    out["reason"] = [
        r + f" Note: leads for {k} schools (above {limit}); consider sharing the lead role."
        if o and role == "lead"
        else r
        for r, k, o, role in zip(
            out["reason"], out["lead_load"], out["overloaded"], out["role"], strict=True
        )
    ]
    return out[NETWORK_COLUMNS]


def _names(codes: Iterable[str]) -> str:
    langs = load_languages()
    return ", ".join(langs.name(c) for c in codes if c != UNKNOWN_LANGUAGE)


def _needed_codes(ctx: AnalysisContext, s: int, need: str) -> list[str]:
    """Language codes (taxonomy order) of the need's families at school position s."""
    key = ("needed", need, s)
    hit = ctx.cache.get(key)
    if hit is None:
        row = ctx.demand(need)[1][s]
        hit = [
            c
            for c, v in zip(ctx.languages, row.tolist(), strict=True)
            if v > 0 and c != UNKNOWN_LANGUAGE
        ]
        ctx.cache[key] = hit
    return hit


def _reason(ctx, s, need, rank, cand, c, gained, covered, all_chosen, ppos) -> str:
    tax = load_taxonomy()
    needed = _needed_codes(ctx, s, need)
    pos = ctx.cache.setdefault("lang_pos", {x: i for i, x in enumerate(ctx.languages)})
    name = _pcols(ctx)["name"][ppos]
    cov = cand["coverage"][c]
    plang = ctx.partner_lang[ppos]
    other = sorted({tax.label(n) for n in all_chosen.get(ppos, ()) if n != need})
    also = f" Also chosen for {', '.join(other)} (fewer partners to coordinate)." if other else ""
    mou = ctx.mou_status[ppos]
    dist = cand["distance"][c]
    if rank == 1:
        speaks = [x for x in needed if x != "en" and plang[pos[x]]]
        head = (
            f"Lead for {tax.label(need)}: {name} serves the need {dist:.1f} km away "
            f"and works in languages covering {cov:.0%} of the need's families"
        )
        lang_txt = f" ({_names(['en', *speaks])})" if speaks else " (English)"
    else:
        head = f"Backup {rank - 1} for {tax.label(need)}: {name}, {dist:.1f} km away"
        add = [x for x in needed if x != "en" and gained[pos[x]]]
        lang_txt = (
            f"; adds {_names(add)} for families the lead does not cover"
            if add
            else "; same language coverage as the partners above, next best score"
        )
    return f"{head}{lang_txt}; match score {cand['score'][c]:.2f}, MOU {mou}.{also}"


def _base(ctx: AnalysisContext, s: int, need: str, tax) -> dict:
    _pcols(ctx)
    sch = ctx.cache["scols"]
    sid = sch["school_id"][s]
    small_d, need_d, _ = ctx.displays()
    disp = small_d.get(sid) or need_d.get((sid, need), "")
    return {
        "school_id": sid,
        "school_name": sch["school_name"][s],
        "district_id": sch["district_id"][s],
        "need": need,
        "need_label": tax.label(need),
        "languages_needed": _needed_codes(ctx, s, need),
        "school_lat": float(sch["lat"][s]),
        "school_lon": float(sch["lon"][s]),
        "families_display": disp,
    }


def _text(v) -> str | None:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    t = str(v)
    return t if t and t.lower() not in ("nan", "none") else None


def _pcols(ctx: AnalysisContext) -> dict[str, np.ndarray]:
    if "pcols" not in ctx.cache:
        p = ctx.index.partners
        cols = ["partner_id", "name", "category", "languages", "example", "sensitive"]
        cols += ["address", "city", "phone", "hours", "website"]
        ctx.cache["pcols"] = {
            c: p[c].to_numpy(dtype=object) if c in p.columns else np.full(len(p), None)
            for c in cols
        }
        sch = ctx.schools
        ctx.cache["scols"] = {c: sch[c].to_numpy(dtype=object) for c in sch.columns}
    return ctx.cache["pcols"]


def _row(ctx, s, need, rank, ppos, cand, c, reason, tax) -> dict:
    p = _pcols(ctx)
    addr = ", ".join(x for x in (_text(p["address"][ppos]), _text(p["city"][ppos])) if x)
    if bool(p["sensitive"][ppos]):
        addr = ""  # never show a sensitive site's address (e.g. a DV shelter)
    return {
        **_base(ctx, s, need, tax),
        "role": "lead" if rank == 1 else "backup",
        "rank": rank,
        "partner_id": p["partner_id"][ppos],
        "partner_name": p["name"][ppos],
        "category": p["category"][ppos],
        "distance_km": round(float(cand["distance"][c]), 3),
        "languages": list(p["languages"][ppos]),
        "language_coverage": round(float(cand["coverage"][c]), 4),
        "score": round(float(cand["score"][c]), 4),
        "reason": reason,
        "mou_status": ctx.mou_status[ppos],
        "example": bool(p["example"][ppos]),
        "stale": bool(ctx.stale[ppos]),
        "partner_lat": float(ctx.index.lat[ppos]),
        "partner_lon": float(ctx.index.lon[ppos]),
        "phone": _text(p["phone"][ppos]),
        "address": addr or None,
        "hours": _text(p["hours"][ppos]),
        "website": _text(p["website"][ppos]),
    }


def _gap_row(ctx, s, need, d, j, tax) -> dict:
    reach = ctx.settings.reach_for(need)
    if j >= 0:
        near = f"nearest: {_pcols(ctx)['name'][j]} at {d:.1f} km"
    else:
        near = "no partner in the data serves this need"
    return {
        **_base(ctx, s, need, tax),
        "role": "gap",
        "rank": 0,
        "partner_id": None,
        "partner_name": None,
        "category": None,
        "distance_km": None,
        "languages": [],
        "language_coverage": None,
        "score": None,
        "reason": f"Gap: no partner serving {tax.label(need)} within {reach:g} km ({near}).",
        "mou_status": None,
        "example": False,
        "stale": False,
        "partner_lat": None,
        "partner_lon": None,
        "phone": None,
        "address": None,
        "hours": None,
        "website": None,
    }
