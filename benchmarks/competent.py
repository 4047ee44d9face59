"""The competent baseline for the statewide analysis: match + gaps + networks written the way
a capable scipy/numpy user would, without assetmap's analysis code.

Same inputs as ours (the suppression-safe family weights of the same need profile, the same
partners and schools, the same settings) and the same rules (reach per need, the five score
parts and weights, top 10 per school and need, nearest partner beyond reach, language
deserts, lead + two backups). Per need: one ``cKDTree`` on the partners serving it;
``sparse_distance_matrix`` against a tree of the schools gives every pair within reach;
scoring is vectorised over the pairs; one ``np.lexsort`` ranks them; the match
explanations are one f-string per row over the columns. Networks: per school, the same
choice problem solved with :func:`assetmap.netsolve.solve` (the per-school solver a user of
the objective would call), in a loop over schools.

It does not build the network reason texts, contact columns or lead loads (ours does), so
the ratio against it is conservative for networks.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from assetmap.languages import load_languages
from assetmap.needs import UNKNOWN_LANGUAGE
from assetmap.netsolve import NetworkInstance, solve
from assetmap.settings import get_settings
from assetmap.taxonomy import load_taxonomy

R = 6371.0088
MOU = {"active": 1.0, "prospective": 0.5, "expired": 0.25, "none": 0.0}


def _xyz(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(lat), np.radians(lon)
    c = np.cos(la)
    return R * np.column_stack((c * np.cos(lo), c * np.sin(lo), np.sin(la)))


def _km(chord: np.ndarray) -> np.ndarray:
    return 2 * R * np.arcsin(np.clip(np.asarray(chord, dtype=float) / (2 * R), 0.0, 1.0))


def _haversine(lat1, lon1, lat2, lon2) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * R * np.arcsin(np.sqrt(np.clip(h, 0, 1)))


def _chord(km: float) -> float:
    return 2 * R * np.sin(min(km, np.pi * R) / (2 * R))


def run(schools, partners, profile, *, limit: int = 10, candidates: int = 6) -> dict:
    """Match, gaps and network frames (key columns + match explanations)."""
    s = get_settings()
    tax = load_taxonomy()
    names = load_languages()
    w = np.array(
        [s.weight_distance, s.weight_language, s.weight_capacity, s.weight_verified, s.weight_mou]
    )
    # partners with a usable point, in frame order (positions break ties)
    g = partners.geometry
    ok = g.notna() & ~g.is_empty & (g.geom_type == "Point")
    P = partners.loc[ok].reset_index(drop=True)
    plat, plon = P.geometry.y.to_numpy(), P.geometry.x.to_numpy()
    pxyz = _xyz(plat, plon)
    pid = P["partner_id"].to_numpy(dtype=object)
    pname = P["name"].to_numpy(dtype=object)
    top_of = [{x.split(".")[0] for x in v} for v in P["services"]]
    langs = list(dict.fromkeys(["en", UNKNOWN_LANGUAGE, *profile.languages]))
    L = len(langs)
    col = {c: i for i, c in enumerate(langs)}
    plang = np.zeros((len(P), L), dtype=bool)
    for i, v in enumerate(P["languages"]):
        for c in v:
            if c in col:
                plang[i, col[c]] = True
    plang[:, :2] = True  # English and not stated: covered by every partner
    lang_sets, set_of = np.unique(plang, axis=0, return_inverse=True)
    lang_sets, set_of = lang_sets.astype(float), np.asarray(set_of).ravel()
    cap = pd.to_numeric(P["capacity"], errors="coerce").to_numpy(dtype=float)
    lv = pd.to_datetime(P["last_verified"], errors="coerce", utc=True)
    age = (pd.Timestamp(date.today(), tz="UTC") - lv).dt.days.to_numpy(dtype=float)
    ver = np.where(np.isnan(age), 0.0, 0.5 ** (np.clip(age, 0, None) / max(s.stale_after_days, 1)))
    mou_st = P["mou_status"].astype(str).str.lower().to_numpy(dtype=object)
    mou = np.array([MOU.get(m, 0.0) for m in mou_st])
    lv_txt = [
        None
        if v is None or (isinstance(v, float) and np.isnan(v)) or str(v) in ("", "NaT", "nan")
        else str(v)
        for v in P["last_verified"].to_numpy()
    ]
    # schools of the profile, in its order
    W = profile._analysis_weights()  # noqa: SLF001 - the same safe weights as ours
    sids = list(dict.fromkeys(profile._schools["school_id"]))  # noqa: SLF001
    srow = {x: i for i, x in enumerate(sids)}
    sids_arr = np.array(sids, dtype=object)
    geo = schools.assign(school_id=schools["school_id"].astype(str)).drop_duplicates("school_id")
    geo = geo.set_index("school_id").geometry.reindex(sids)
    slat = np.array([p.y if p is not None else np.nan for p in geo])
    slon = np.array([p.x if p is not None else np.nan for p in geo])
    S = len(sids)
    pub = profile.published()
    hidden = pub[(pub["dimension"] == "need_language") & pub["suppressed"].astype(bool)]
    hidden_by_need = hidden.groupby("need")["school_id"].agg(set).to_dict()
    small = set(W.loc[W["small"], "school_id"])
    sch_tree_pos = np.flatnonzero(np.isfinite(slat) & np.isfinite(slon))
    sxyz = _xyz(slat[sch_tree_pos], slon[sch_tree_pos])
    sch_tree = cKDTree(sxyz)

    match_rows, gap_rows, net_cands = [], [], {}
    for need in tax.top_needs:
        wn = W[W["need"] == need]
        if wn.empty:
            continue
        mat = np.zeros((S, L))
        np.add.at(
            mat,
            (wn["school_id"].map(srow).to_numpy(), wn["language"].map(col).to_numpy()),
            wn["families"].to_numpy(dtype=float),
        )
        fam = mat.sum(axis=1)
        reach = s.reach_for(need)
        serving = np.flatnonzero([need in t for t in top_of])
        if len(serving) == 0:  # nobody serves the need: every school has a gap
            for sc in np.flatnonzero(fam > 0):
                gap_rows.append((sids[sc], need, None, "need", None, None))
                net_cands.setdefault(sc, {}).setdefault(need, [])
                net_cands[sc].setdefault("_demand", {})[need] = mat[sc]
            continue
        tree = cKDTree(pxyz[serving])
        sm = sch_tree.sparse_distance_matrix(tree, _chord(reach + 1e-9), output_type="ndarray")
        sp = sch_tree_pos[sm["i"]]
        pp = serving[sm["j"]]
        dist = _km(sm["v"])
        keep = (dist <= reach + 1e-9) & (fam[sp] > 0)
        sp, pp, dist = sp[keep], pp[keep], dist[keep]
        lacking = np.setdiff1d(np.flatnonzero(fam > 0), sp)
        for sc in lacking[~np.isfinite(slat[lacking])]:
            gap_rows.append((sids[sc], need, None, "need", None, None))
        lacking = lacking[np.isfinite(slat[lacking])]
        within = np.ones(len(sp), dtype=bool)
        if len(lacking):
            d1, j1 = tree.query(_xyz(slat[lacking], slon[lacking]), k=1)
            jj = serving[j1]
            for sc, dd, j in zip(lacking, _km(d1), jj, strict=True):
                gap_rows.append((sids[sc], need, None, "need", pid[j], round(float(dd), 3)))
            bd = _haversine(slat[lacking], slon[lacking], plat[jj], plon[jj])
            sp = np.concatenate([sp, lacking])
            pp = np.concatenate([pp, jj])
            dist = np.concatenate([dist, bd])
            within = np.concatenate([within, bd <= reach + 1e-9])
        # score every pair; language coverage per (school, distinct language set)
        table = mat @ lang_sets.T
        covered = table[sp, set_of[pp]]
        cov = np.where(fam[sp] > 0, covered / np.where(fam[sp] > 0, fam[sp], 1.0), 1.0)
        decay = np.exp(-dist / max(s.distance_decay_km, 1e-9))
        c = cap[pp]
        capp = np.where(np.isnan(c), 0.5, c / np.maximum(c + fam[sp], 1e-9))
        capp = np.where(~np.isnan(c) & (c + fam[sp] <= 0), 0.0, capp)
        score = w[0] * decay + w[1] * cov + w[2] * capp + (w[3] * ver[pp] + w[4] * mou[pp])
        score = score / w.sum()
        o = np.lexsort((pp, dist, -score, ~within, sp))
        first = np.r_[True, sp[o][1:] != sp[o][:-1]]
        rank = np.arange(len(o)) - np.maximum.accumulate(np.where(first, np.arange(len(o)), 0))
        top = o[rank < limit]
        est_sch = np.isin(sids_arr, list(hidden_by_need.get(need, set()) | small))
        match_rows.append(
            pd.DataFrame(
                {
                    "school_id": sids_arr[sp[top]],
                    "need": need,
                    "rank": rank[rank < limit] + 1,
                    "partner_id": pid[pp[top]],
                    "within_reach": within[top],
                    "distance": dist[top],
                    "score": score[top],
                    "cov": cov[top],
                    "decay": decay[top],
                    "capp": capp[top],
                    "ppos": pp[top],
                    "est_school": est_sch[sp[top]],
                    "reach_km": reach,
                }
            )
        )
        # network candidates: the best `candidates` within reach
        wtop = o[(rank < candidates) & within[o]]
        for i in wtop.tolist():
            net_cands.setdefault(sp[i], {}).setdefault(need, []).append(
                (pp[i], score[i], dist[i], cov[i])
            )
        for sc in np.flatnonzero(fam > 0):
            net_cands.setdefault(sc, {}).setdefault(need, [])
        # language deserts: served schools whose families speak a language no partner
        # serving the need within reach does
        served = np.zeros(S, dtype=bool)
        served[sp[within]] = True
        for li, lang in enumerate(langs):
            if lang in ("en", UNKNOWN_LANGUAGE):
                continue
            have = np.zeros(S, dtype=bool)
            have[sp[within][plang[pp[within], li]]] = True
            desert = np.flatnonzero(served & (mat[:, li] > 0) & ~have)
            if len(desert) == 0:
                continue
            sl = serving[plang[serving, li]]
            if len(sl) == 0:
                for sc in desert:
                    gap_rows.append((sids[sc], need, lang, "language", None, None))
                continue
            d1, j1 = cKDTree(pxyz[sl]).query(_xyz(slat[desert], slon[desert]), k=1)
            for sc, dd, jj in zip(desert, _km(d1), sl[j1], strict=True):
                gap_rows.append((sids[sc], need, lang, "language", pid[jj], round(float(dd), 3)))
        # keep the need's demand for the networks
        for sc in np.flatnonzero(fam > 0):
            net_cands[sc].setdefault("_demand", {})[need] = mat[sc]

    m = pd.concat(match_rows, ignore_index=True)
    m["distance_km"] = m["distance"].round(3)
    # explanations: one f-string per row
    wsum = w.sum()
    lang_names = [", ".join(names.name(c) for c in v) or "none listed" for v in P["languages"]]
    texts = []
    for r in m.itertuples(index=False):
        p = r.ppos
        est = r.est_school and 0.0 < r.cov < 1.0
        reach_txt = f"{'within' if r.within_reach else 'beyond'} the {r.reach_km:g} km reach"
        cap_txt = "unknown capacity" if np.isnan(cap[p]) else f"capacity {cap[p]:g}"
        d = r.distance_km
        texts.append(
            f"{pname[p]} serves {tax.label(r.need)}; {d:.1f} km away ({reach_txt}) -> distance "
            f"{r.decay:.2f}; languages {lang_names[p]} cover {r.cov:.0%}"
            + (" (estimated: small counts hidden)" if est else "")
            + f" of the need's families -> language {r.cov:.2f}; {cap_txt} -> capacity "
            f"{r.capp:.2f}; verified: {lv_txt[p] or 'never verified'} -> {ver[p]:.2f}; "
            f"MOU {mou_st[p]} -> {mou[p]:.2f}. Score = ({w[0]:g}x{r.decay:.2f} + "
            f"{w[1]:g}x{r.cov:.2f} + {w[2]:g}x{r.capp:.2f} + {w[3]:g}x{ver[p]:.2f} + "
            f"{w[4]:g}x{mou[p]:.2f}) / {wsum:g} = {r.score:.3f}"
        )
    m["explain"] = texts

    # networks: per school, the same objective, solved school by school
    net_rows = []
    for sc in sorted(net_cands):
        per = net_cands[sc]
        demand = per.get("_demand", {})
        needs = [n for n in tax.top_needs if n in demand and per.get(n)]
        for n in tax.top_needs:
            if n in demand and not per.get(n):
                net_rows.append((sids[sc], n, "gap", 0, None))
        if not needs:
            continue
        inst = NetworkInstance(
            needs=needs,
            demand=[demand[n] for n in needs],
            covers=[plang[[c[0] for c in per[n]]] for n in needs],
            scores=[np.array([c[1] for c in per[n]]) for n in needs],
            ids=[np.array([c[0] for c in per[n]]) for n in needs],
        )
        choice = solve(inst)
        for k, n in enumerate(needs):
            # lead: the highest own coverage, then score, distance, candidate order
            rows = sorted((-per[n][c][3], -per[n][c][1], per[n][c][2], c) for c in choice[k])
            for r, (_, _, _, c) in enumerate(rows, start=1):
                p = per[n][c][0]
                net_rows.append((sids[sc], n, "lead" if r == 1 else "backup", r, pid[p]))
    net = pd.DataFrame(net_rows, columns=["school_id", "need", "role", "rank", "partner_id"])
    gaps = pd.DataFrame(
        gap_rows,
        columns=[
            "school_id",
            "need",
            "language",
            "gap_kind",
            "nearest_partner_id",
            "nearest_distance_km",
        ],
    )
    return {"match": m, "gaps": gaps, "network": net}


def same_answers(ours: dict[str, pd.DataFrame], base: dict[str, pd.DataFrame]) -> dict[str, bool]:
    """Compare assetmap's frames with the baseline's on their shared key columns."""
    out = {}
    keys = ["school_id", "need", "rank"]
    a = ours["match"].sort_values(keys).reset_index(drop=True)
    b = base["match"].sort_values(keys).reset_index(drop=True)
    out["match"] = bool(
        len(a) == len(b)
        and (a["partner_id"].astype(str).to_numpy() == b["partner_id"].astype(str).to_numpy()).all()
        and (a["within_reach"].to_numpy() == b["within_reach"].to_numpy()).all()
        and np.allclose(a["score"].to_numpy(float), b["score"].to_numpy(float), rtol=0, atol=1e-12)
        and np.array_equal(a["distance_km"].to_numpy(float), b["distance_km"].to_numpy(float))
        and a["explain"].tolist() == b["explain"].tolist()
    )
    gk = ["school_id", "need", "gap_kind", "language"]
    ga = ours["gaps"].sort_values(gk, na_position="first").reset_index(drop=True)
    gb = base["gaps"].sort_values(gk, na_position="first").reset_index(drop=True)
    out["gaps"] = bool(
        len(ga) == len(gb)
        and ga[gk + ["nearest_partner_id"]]
        .astype(str)
        .equals(gb[gk + ["nearest_partner_id"]].astype(str))
        and np.allclose(
            ga["nearest_distance_km"].to_numpy(float),
            gb["nearest_distance_km"].to_numpy(float),
            equal_nan=True,
            rtol=0,
            atol=1e-9,
        )
    )
    nk = ["school_id", "need", "rank"]
    na = ours["network"][["school_id", "need", "role", "rank", "partner_id"]]
    na = na.sort_values(nk).reset_index(drop=True).astype(str)
    nb = base["network"].sort_values(nk).reset_index(drop=True).astype(str)
    out["network"] = bool(na.equals(nb))
    return out
