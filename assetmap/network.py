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
the choice against brute force on small instances. The solvers live in
:mod:`assetmap.netsolve`; the sequential choice and the swap search run vectorised over
every school at once (one numpy grid of school x need x candidate), and a school solved
alone gets the same choice (tested).

Partners leading for more than ``settings.lead_partner_load_warning`` schools are flagged
``overloaded`` (``lead_load`` counts the schools they lead for).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd

from assetmap.index import PartnerIndex
from assetmap.languages import load_languages
from assetmap.match import (
    AnalysisContext,
    _lookup_text,
    _need_displays,
    _require_index,
    _schools_with_need,
    best_pairs,
    fixed_text,
    nearest_beyond,
    needs_of,
    prepare,
    round_exact,
)
from assetmap.needs import UNKNOWN_LANGUAGE, NeedProfile
from assetmap.netsolve import (
    SLOTS,
    Batch,
    NetworkInstance,
    blank_arrays,
    objective,
    solve,
    solve_exact,
    solve_greedy,
)
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
    bnb_limit: int = 10**7,
    method: str = "auto",
    mu: float = 0.1,
    lam: float = 0.02,
) -> pd.DataFrame:
    """The network frame (NETWORK_COLUMNS) for the given schools, or every surveyed school of
    ``district``, or all surveyed schools.

    Every school's problem sits on one (school x need x candidate) grid. ``auto``: schools
    with at most ``bnb_limit`` possible choices are solved one by one (enumeration up to
    ``exact_limit``, else branch and bound from the sequential choice); the rest all at once
    by the vectorised sequential choice + 1-swap search (:class:`assetmap.netsolve.Batch`).
    ``sequential`` uses the batch for every school, ``exact`` and ``greedy`` the per-school
    solvers.
    """
    if not 1 <= candidates <= 12:
        raise ValueError("candidates must be between 1 and 12")
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
    pos = pd.unique(np.asarray(pos, dtype=np.int64))
    needs = needs_of(ctx, pos)
    n_s, n_n, n_l = len(pos), len(needs), len(ctx.languages)
    if n_s == 0 or n_n == 0:
        return pd.DataFrame(columns=NETWORK_COLUMNS)
    row_of = np.full(len(ctx.schools), -1, dtype=np.int64)
    row_of[pos] = np.arange(n_s)
    arr = blank_arrays(n_s, n_n, candidates, n_l)
    dist = np.zeros((n_s, n_n, candidates))
    cover_share = np.zeros((n_s, n_n, candidates))
    gaps: list[tuple[np.ndarray, int, np.ndarray, np.ndarray]] = []
    for ni, need in enumerate(needs):
        with_need = _schools_with_need(ctx, need, pos)
        pairs = best_pairs(ctx, need, with_need, candidates)
        arr["demand"][:, ni] = ctx.demand(need)[1][pos]
        if len(pairs):
            r = row_of[pairs.school]
            first = np.r_[True, pairs.school[1:] != pairs.school[:-1]]
            rank = np.arange(len(pairs)) - np.maximum.accumulate(
                np.where(first, np.arange(len(pairs)), 0)
            )
            arr["ids"][r, ni, rank] = pairs.partner
            arr["scores"][r, ni, rank] = pairs.score
            arr["covers"][r, ni, rank] = ctx.partner_lang[pairs.partner]
            dist[r, ni, rank] = pairs.distance_km
            cover_share[r, ni, rank] = pairs.language_coverage
            arr["count"][:, ni] = np.bincount(r, minlength=n_s)
            arr["present"][:, ni] = arr["count"][:, ni] > 0
        lacking = with_need[~np.isin(with_need, pairs.school)]
        if len(lacking):
            d, j = nearest_beyond(ctx, need, lacking)
            gaps.append((row_of[lacking], ni, d, j))
    batch = Batch(**arr, mu=mu, lam=lam)
    choice = _choose(batch, needs, method, exact_limit, bnb_limit)
    return _frame(ctx, pos, needs, batch, choice, dist, cover_share, gaps)


def _choose(
    batch: Batch, needs: list[str], method: str, exact_limit: int, bnb_limit: int
) -> np.ndarray:
    """Option index per (school, need): the batch solver where the problem is large, the
    per-school solvers (exact, branch and bound, greedy) where asked or affordable."""
    if method not in ("auto", "exact", "greedy", "sequential"):
        raise ValueError(f"unknown network method {method!r}")
    choice = batch.solve()
    if method == "sequential":
        return choice
    combos = np.array([math.comb(c, min(SLOTS, c)) for c in range(13)], dtype=float)
    size = np.where(batch.present, combos[batch.count], 1.0).prod(axis=1)
    one_by_one = (
        np.ones(len(size), dtype=bool) if method in ("exact", "greedy") else size <= bnb_limit
    )
    for s in np.flatnonzero(one_by_one & batch.present.any(axis=1)):
        inst_needs = np.flatnonzero(batch.present[s])
        inst = NetworkInstance(
            needs=[needs[n] for n in inst_needs],
            demand=[batch.demand[s, n] for n in inst_needs],
            covers=[batch.covers[s, n, : batch.count[s, n]] for n in inst_needs],
            scores=[batch.scores[s, n, : batch.count[s, n]] for n in inst_needs],
            ids=[batch.ids[s, n, : batch.count[s, n]] for n in inst_needs],
            mu=batch.mu,
            lam=batch.lam,
        )
        picked = solve(inst, exact_limit=exact_limit, bnb_limit=bnb_limit, method=method)
        for n, sel in zip(inst_needs, picked, strict=True):
            choice[s, n] = batch.lut[sum(1 << c for c in sel)]
    return choice


# ------------------------------------------------------------------------------ the frame
def _frame(ctx, pos, needs, batch, choice, dist, cover_share, gaps) -> pd.DataFrame:
    """NETWORK_COLUMNS rows: per school, per need (taxonomy order), lead + backups or a gap."""
    tax = load_taxonomy()
    langs = np.array(ctx.languages, dtype=object)
    # chosen (school row, need, candidate), ranked by own coverage, score, distance
    s_i, n_i = np.nonzero(choice >= 0)
    o = choice[s_i, n_i]
    size = batch.size[o]
    s_c = np.repeat(s_i, size)
    n_c = np.repeat(n_i, size)
    c_c = np.concatenate([batch.members[x, : size[k]] for k, x in enumerate(o)] or [[]])
    c_c = c_c.astype(np.int64)
    cov = cover_share[s_c, n_c, c_c]
    sco = batch.scores[s_c, n_c, c_c]
    dkm = dist[s_c, n_c, c_c]
    order = np.lexsort((c_c, dkm, -sco, -cov, n_c, s_c))
    s_c, n_c, c_c, cov, sco, dkm = (x[order] for x in (s_c, n_c, c_c, cov, sco, dkm))
    first = np.r_[True, (s_c[1:] != s_c[:-1]) | (n_c[1:] != n_c[:-1])]
    rank = np.arange(len(s_c)) - np.maximum.accumulate(np.where(first, np.arange(len(s_c)), 0))
    rank = rank + 1
    ppos = batch.ids[s_c, n_c, c_c]
    plang = ctx.partner_lang[ppos]
    above = np.zeros_like(plang)
    for back in (1, 2):  # languages of the partners ranked above (at most two)
        ok = rank > back
        above[ok] |= plang[np.flatnonzero(ok) - back]
    needed = (batch.demand > 0) & (langs != UNKNOWN_LANGUAGE)[None, None, :]
    not_en = langs != "en"
    need_rows = needed[s_c, n_c]
    speaks = need_rows & plang & not_en
    adds = need_rows & plang & ~above & not_en
    reasons = _reasons(ctx, needs, s_c, n_c, rank, ppos, cov, sco, dkm, speaks, adds, pos, tax)
    # gap rows
    g_s = np.concatenate([g[0] for g in gaps]) if gaps else np.zeros(0, dtype=np.int64)
    g_n = np.concatenate([np.full(len(g[0]), g[1]) for g in gaps]) if gaps else g_s
    g_d = np.concatenate([g[2] for g in gaps]) if gaps else np.zeros(0)
    g_j = np.concatenate([g[3] for g in gaps]) if gaps else g_s
    pc = _pcols(ctx)
    gap_reason = [
        f"Gap: no partner serving {tax.label(needs[n])} within "
        f"{ctx.settings.reach_for(needs[n]):g} km ("
        + (
            f"nearest: {pc['name'][j]} at {d:.1f} km"
            if j >= 0
            else "no partner in the data serves this need"
        )
        + ")."
        for n, d, j in zip(g_n.tolist(), g_d.tolist(), g_j.tolist(), strict=True)
    ]
    # all rows in school, need, rank order
    n_chosen = len(s_c)
    s_all = np.concatenate([s_c, g_s]).astype(np.int64)
    n_all = np.concatenate([n_c, g_n]).astype(np.int64)
    r_all = np.concatenate([rank, np.zeros(len(g_s), dtype=np.int64)])
    p_all = np.concatenate([ppos, np.full(len(g_s), -1, dtype=np.int64)])
    order = np.lexsort((r_all, n_all, s_all))
    s_all, n_all, r_all, p_all = s_all[order], n_all[order], r_all[order], p_all[order]
    is_gap = order >= n_chosen
    src = np.where(is_gap, n_chosen, order)  # index into the chosen arrays (+ a gap slot)
    reason_all = np.array(reasons + gap_reason, dtype=object)[order]
    sp = pos[s_all]
    sch = ctx.schools
    sid = sch["school_id"].to_numpy(dtype=object)[sp]
    need_arr = np.array(needs, dtype=object)[n_all]
    # languages needed: one list per distinct (school, need) language set, a copy per row
    rows_needed = needed[s_all, n_all]
    if len(rows_needed):
        uniq, inv = np.unique(np.packbits(rows_needed, axis=1), axis=0, return_inverse=True)
        bits = np.unpackbits(uniq, axis=1, count=rows_needed.shape[1]).astype(bool)
        tables = [[str(x) for x in langs[b]] for b in bits]
        needed_list = [list(tables[i]) for i in np.asarray(inv).ravel().tolist()]
    else:
        needed_list = []
    shown = np.unique(p_all[p_all >= 0])
    pt = _ptext(ctx, shown)
    pj = np.where(p_all >= 0, p_all, len(ctx.index.partners))

    def part(values: np.ndarray) -> pd.Series:
        # a trailing None answers the gap rows (and works when there are no partners at all)
        return pd.Series(np.append(np.asarray(values, dtype=object), None)[pj], dtype=object)

    def num(values: np.ndarray, digits: int) -> pd.Series:
        vals = round_exact(np.append(np.asarray(values, dtype=float), np.nan)[src], digits)
        out = vals.astype(object)
        out[is_gap] = None
        return pd.Series(out, dtype=object)

    lang_lists = pc["languages"]
    frame = pd.DataFrame(
        {
            "school_id": pd.Series(sid, dtype=object),
            "school_name": pd.Series(sch["school_name"].to_numpy(dtype=object)[sp], dtype=object),
            "district_id": pd.Series(sch["district_id"].to_numpy(dtype=object)[sp], dtype=object),
            "need": pd.Series(need_arr, dtype=object),
            "need_label": pd.Series(
                np.array([tax.label(n) for n in needs] + [None], dtype=object)[:-1][n_all],
                dtype=object,
            ),
            "role": pd.Series(
                np.where(is_gap, "gap", np.where(r_all == 1, "lead", "backup")), dtype=object
            ),
            "rank": r_all.astype(int),
            "partner_id": part(pc["partner_id"]),
            "partner_name": part(pc["name"]),
            "category": part(pc["category"]),
            "distance_km": num(dkm, 3),
            "languages": pd.Series(_list_copies(lang_lists, p_all), dtype=object),
            "languages_needed": pd.Series(needed_list, dtype=object),
            "language_coverage": num(cov, 4),
            "score": num(sco, 4),
            "reason": pd.Series(reason_all, dtype=object),
            "mou_status": part(ctx.mou_status),
            "example": pd.Series(np.append(pt["example"], False)[pj].astype(object)),
            "stale": pd.Series(np.append(ctx.stale, False)[pj].astype(object)),
            "partner_lat": part(ctx.index.lat.astype(float)),
            "partner_lon": part(ctx.index.lon.astype(float)),
            "school_lat": pd.Series(sch["lat"].to_numpy(dtype=float)[sp].astype(object)),
            "school_lon": pd.Series(sch["lon"].to_numpy(dtype=float)[sp].astype(object)),
            "phone": part(pt["phone"]),
            "address": part(pt["address"]),
            "hours": part(pt["hours"]),
            "website": part(pt["website"]),
            "families_display": pd.Series(_displays(ctx, needs, n_all, sp), dtype=object),
        }
    )
    leads = frame[frame["role"] == "lead"].groupby("partner_id")["school_id"].nunique()
    frame["lead_load"] = frame["partner_id"].map(leads).fillna(0).astype(int)
    limit = ctx.settings.lead_partner_load_warning
    frame["overloaded"] = frame["lead_load"] > limit
    flag = frame["overloaded"].to_numpy() & (frame["role"] == "lead").to_numpy()
    frame.loc[flag, "reason"] = [
        f"{r} Note: leads for {k} schools (above {limit}); consider sharing the lead role."
        for r, k in zip(frame.loc[flag, "reason"], frame.loc[flag, "lead_load"], strict=True)
    ]
    return frame[NETWORK_COLUMNS]


def _row_names(ctx: AnalysisContext, masks: np.ndarray, lead: bool) -> list[str]:
    """Per row of a (rows x languages) bool matrix: the language names (English first for
    leads), computed once per distinct row."""
    if len(masks) == 0:
        return []
    packed = np.packbits(masks, axis=1)
    uniq, inverse = np.unique(packed, axis=0, return_inverse=True)
    langs = np.array(ctx.languages, dtype=object)
    bits = np.unpackbits(uniq, axis=1, count=masks.shape[1]).astype(bool)
    names = [
        _names(["en", *[str(x) for x in langs[m]]] if lead else [str(x) for x in langs[m]])
        for m in bits
    ]
    return [names[i] for i in np.asarray(inverse).ravel().tolist()]


def _reasons(ctx, needs, s_c, n_c, rank, ppos, cov, sco, dkm, speaks, adds, pos, tax) -> list[str]:
    """Why each chosen partner is there (lead: coverage and languages; backup: what it adds).

    Built column by column: numbers through :func:`assetmap.match.fixed_text`, language
    lists once per distinct set, "also chosen for" once per distinct set of needs."""
    n = len(s_c)
    if n == 0:
        return []
    names = _pcols(ctx)["name"][ppos].tolist()
    labels = [tax.label(x) for x in needs]
    label_of = np.array(labels + [None], dtype=object)[:-1][n_c].tolist()
    speaks_txt = _row_names(ctx, speaks, True)
    adds_txt = _row_names(ctx, adds, False)
    speaks_any = speaks.any(axis=1).tolist()
    adds_any = adds.any(axis=1).tolist()
    # other needs the same partner is chosen for at the same school: a bit mask of needs
    # per (school, partner), minus the row's own need
    _, group = np.unique(s_c * (len(ctx.index.partners) + 1) + ppos, return_inverse=True)
    bit = np.left_shift(np.int64(1), n_c.astype(np.int64))
    mask = np.bincount(group, weights=bit).astype(np.int64)  # each need once per group
    others = mask[group] & ~bit

    def also_text(m: int) -> str:
        if not m:
            return ""
        other = sorted({labels[x] for x in range(len(labels)) if m >> x & 1})
        return f" Also chosen for {', '.join(other)} (fewer partners to coordinate)."

    also = _lookup_text(others, also_text).tolist()
    mou = ctx.mou_status[ppos].tolist()
    dist_txt = fixed_text(dkm, 1).tolist()
    pct = fixed_text(np.asarray(cov, dtype=float) * 100, 0).tolist()
    sco_txt = fixed_text(sco, 2).tolist()
    out = []
    for i, r in enumerate(rank.tolist()):
        if r == 1:
            head = (
                f"Lead for {label_of[i]}: {names[i]} serves the need {dist_txt[i]} km away "
                f"and works in languages covering {pct[i]}% of the need's families"
            )
            lang_txt = f" ({speaks_txt[i]})" if speaks_any[i] else " (English)"
        else:
            head = f"Backup {r - 1} for {label_of[i]}: {names[i]}, {dist_txt[i]} km away"
            lang_txt = (
                f"; adds {adds_txt[i]} for families the lead does not cover"
                if adds_any[i]
                else "; same language coverage as the partners above, next best score"
            )
        out.append(f"{head}{lang_txt}; match score {sco_txt[i]}, MOU {mou[i]}.{also[i]}")
    return out


def _names(codes: Iterable[str]) -> str:
    langs = load_languages()
    return ", ".join(langs.name(c) for c in codes if c != UNKNOWN_LANGUAGE)


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
    return ctx.cache["pcols"]


def _ptext(ctx: AnalysisContext, shown: np.ndarray) -> dict[str, np.ndarray]:
    """Per partner: cleaned contact texts (None when empty) and flags, full length, filled
    in for the ``shown`` partner positions only (the rest stay None/False)."""
    p = _pcols(ctx)
    n = len(p["name"])
    shown = np.asarray(shown, dtype=np.int64)
    addr = np.full(n, None, dtype=object)
    for i, a, c, s in zip(
        shown.tolist(),
        p["address"][shown].tolist(),
        p["city"][shown].tolist(),
        p["sensitive"][shown].tolist(),
        strict=True,
    ):
        text = ", ".join(x for x in (_text(a), _text(c)) if x)
        # never show a sensitive site's address (e.g. a DV shelter)
        addr[i] = None if bool(s) or not text else text
    out = {"address": addr}
    for k in ("phone", "hours", "website"):
        col = np.full(n, None, dtype=object)
        col[shown] = np.array([_text(v) for v in p[k][shown]] + [None], dtype=object)[:-1]
        out[k] = col
    example = np.zeros(n, dtype=bool)
    example[shown] = [bool(v) for v in p["example"][shown]]
    out["example"] = example
    return out


def _list_copies(lists: np.ndarray, positions: np.ndarray) -> list[list]:
    """A fresh list per row: ``list(lists[p])`` for p >= 0, [] for -1; each partner's list
    is read once."""
    uniq, inv = np.unique(positions, return_inverse=True)
    tables = [list(lists[p]) if p >= 0 else [] for p in uniq.tolist()]
    return [list(tables[i]) for i in np.asarray(inv).ravel().tolist()]


def _displays(ctx: AnalysisContext, needs: list[str], need_idx: np.ndarray, school_pos: np.ndarray):
    """The suppressed family-count display per row (school position, need index)."""
    out = np.empty(len(need_idx), dtype=object)
    for k, need in enumerate(needs):
        rows = np.flatnonzero(need_idx == k)
        if len(rows):
            out[rows] = _need_displays(ctx, need)[school_pos[rows]]
    return out
