"""Matching + gaps + networks (issues 3 and 7) against a straightforward geopandas version.

Ours: :func:`benchmarks.bench_analysis.run` (index, suppression-derived weights, shared
context, ``match_all``, ``gaps``, ``build_network`` over every surveyed school).

Baseline, measured in the same run on the same inputs (the suppression-safe family weights
of the same profile): the plain geopandas way — project to UTM; per need, filter the
partners with a Python predicate, buffer the schools by the need's reach and ``sjoin``
(within), distances with shapely, score every pair in Python (the same five parts and
weights), top 10 per school; schools with none within reach get ``sjoin_nearest``. Gaps:
per need x home language, filter again, buffer + ``sjoin``, deserts get ``sjoin_nearest``.
Networks: per school and need, a greedy Python pick of a lead and two backups by added
language coverage. It does less than ours (no explanations, no exact network refinement),
so the ratio is conservative.

Data: the synthetic statewide set (1,500 schools around real Connecticut schools, 50,000
partners, 18 needs, 20 languages, SYNTHETIC need profile) and the shipped data (every
school of the shipped SYNTHETIC survey, the shipped partners). In ``quick`` mode the
statewide baseline runs on a seeded sample of 10 schools, in ``all`` on 10 % (150),
and is scaled by the school count (its work is per school and per need, so it scales
linearly); :func:`run_full_baseline` runs it on every school.
"""

from __future__ import annotations

import math
import time
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd

from assetmap.model import conform_partners
from assetmap.settings import get_settings
from assetmap.taxonomy import load_taxonomy
from benchmarks import bench_analysis, synth
from benchmarks._harness import Result

MOU = {"active": 1.0, "prospective": 0.5, "expired": 0.25, "none": 0.0}


# ------------------------------------------------------------------------------ baseline
def geopandas_baseline(
    schools: gpd.GeoDataFrame, partners: gpd.GeoDataFrame, profile, *, limit: int = 10
) -> dict[str, float]:
    """Full match + gaps + networks the straightforward geopandas way; seconds per step."""
    s = get_settings()
    today = pd.Timestamp(date.today())
    t_all = time.perf_counter()
    weights = profile._analysis_weights()  # noqa: SLF001 - same inputs as ours
    ids = set(weights["school_id"])
    sch = schools.loc[schools["school_id"].astype(str).isin(ids), ["school_id", "geometry"]]
    sch = sch.assign(school_id=sch["school_id"].astype(str))
    crs = partners.estimate_utm_crs()
    P = partners.to_crs(crs)
    # per-partner parts parsed once (vectorised), as anyone would
    lv = pd.to_datetime(P["last_verified"], errors="coerce")
    age = (today - lv).dt.days
    P = P.assign(
        _ver=(0.5 ** (age.clip(lower=0) / s.stale_after_days)).fillna(0.0),
        _mou=P["mou_status"].astype(str).str.lower().map(MOU).fillna(0.0),
        _cap=pd.to_numeric(P["capacity"], errors="coerce"),
    )
    S = sch.to_crs(crs).set_index("school_id", drop=False)
    w_parts = np.array(
        [s.weight_distance, s.weight_language, s.weight_capacity, s.weight_verified, s.weight_mou]
    )
    match_rows, gap_rows, net_rows = [], [], []
    t_match = t_gaps = t_net = 0.0
    for need in load_taxonomy().top_needs:
        w = weights[weights["need"] == need]
        if w.empty:
            continue
        fam = w.groupby("school_id")["families"].sum()
        langs_of = {
            k: dict(zip(g["language"], g["families"], strict=True))
            for k, g in w.groupby("school_id")
        }
        reach = s.reach_for(need)
        t0 = time.perf_counter()
        serving = P[P["services"].apply(lambda v, n=need: any(x.split(".")[0] == n for x in v))]
        here = S.loc[S.index.isin(fam.index)]
        buf = gpd.GeoDataFrame(
            {"school_id": here["school_id"].to_numpy()},
            geometry=here.buffer(reach * 1000.0).to_numpy(),
            crs=crs,
        )
        j = gpd.sjoin(serving, buf, predicate="within")
        j["distance_km"] = (
            j.geometry.distance(
                gpd.GeoSeries(S.geometry.loc[j["school_id"]].to_numpy(), index=j.index, crs=crs)
            )
            / 1000.0
        )

        def score(row, langs_of=langs_of, fam=fam):
            ls = langs_of[row["school_id"]]
            total = fam[row["school_id"]]
            covered = sum(
                f for lang, f in ls.items() if lang in ("en", "und") or lang in row["languages"]
            )
            cov = covered / total if total > 0 else 1.0
            decay = math.exp(-row["distance_km"] / s.distance_decay_km)
            cap = row["_cap"]
            cap_p = 0.5 if pd.isna(cap) else cap / max(cap + total, 1e-9)
            parts = np.array([decay, cov, cap_p, row["_ver"], row["_mou"]])
            return pd.Series(
                {"coverage": cov, "score": float((w_parts * parts).sum() / w_parts.sum())}
            )

        if len(j):
            j = j.join(j.apply(score, axis=1))
            top = (
                j.sort_values(["school_id", "score"], ascending=[True, False])
                .groupby("school_id")
                .head(limit)
            )
            match_rows.append(top[["school_id", "partner_id", "distance_km", "score", "coverage"]])
        lacking = here.loc[~here.index.isin(j["school_id"])]
        if len(lacking) and len(serving):
            near = gpd.sjoin_nearest(
                lacking.reset_index(drop=True),
                serving[["partner_id", "geometry"]],
                distance_col="d",
            )
            match_rows.append(near[["school_id", "partner_id", "d"]])
            gap_rows.append(near[["school_id", "partner_id", "d"]].assign(need=need))
        t_match += time.perf_counter() - t0
        # gaps: need x language deserts
        t0 = time.perf_counter()
        served = set(j["school_id"])
        for lang in sorted({x for d in langs_of.values() for x in d} - {"en", "und"}):
            needing = [k for k, d in langs_of.items() if d.get(lang, 0) > 0 and k in served]
            if not needing:
                continue
            sl = serving[serving["languages"].apply(lambda v, lang=lang: lang in v)]
            bl = buf[buf["school_id"].isin(needing)]
            covered = set(gpd.sjoin(sl, bl, predicate="within")["school_id"]) if len(sl) else set()
            desert = S.loc[[k for k in needing if k not in covered]]
            if len(desert) and len(sl):
                near = gpd.sjoin_nearest(
                    desert.reset_index(drop=True), sl[["partner_id", "geometry"]], distance_col="d"
                )
                gap_rows.append(
                    near[["school_id", "partner_id", "d"]].assign(need=need, language=lang)
                )
        t_gaps += time.perf_counter() - t0
        # networks: greedy lead + 2 backups by added language coverage
        t0 = time.perf_counter()
        if len(j):
            for sid, g in j.sort_values("score", ascending=False).groupby("school_id"):
                ls = langs_of[sid]
                covered: set[str] = {"en", "und"}
                chosen = []
                cands = g.head(6)
                for _ in range(min(3, len(cands))):
                    best, gain = None, -1.0
                    for _, r in cands.iterrows():
                        if r["partner_id"] in chosen:
                            continue
                        add = sum(
                            f
                            for lang, f in ls.items()
                            if lang not in covered and lang in r["languages"]
                        )
                        if add + r["score"] * 1e-3 > gain:
                            best, gain = r, add + r["score"] * 1e-3
                    if best is None:
                        break
                    chosen.append(best["partner_id"])
                    covered |= set(best["languages"])
                    net_rows.append((sid, need, best["partner_id"], len(chosen)))
        t_net += time.perf_counter() - t0
    total = time.perf_counter() - t_all
    return {
        "match": t_match,
        "gaps": t_gaps,
        "network": t_net,
        "total": total,
        "rows": float(sum(len(x) for x in match_rows) + len(net_rows)),
    }


# ------------------------------------------------------------------------------ runs
def _ours(schools, partners, profile) -> dict[str, float]:
    return bench_analysis.run(schools, partners, profile)


def _report(label: str, ours: dict[str, float], base: dict[str, float], scale: float, note: str):
    out = []
    for step in ("index", "publish", "prepare"):
        out.append(Result(f"analysis_{label}_{step}", ours[step], "s"))
    for step in ("match", "gaps", "network"):
        out.append(
            Result(f"analysis_{label}_{step}", ours[step], "s", base[step] * scale, note=note)
        )
    core = ours["prepare"] + ours["match"] + ours["gaps"] + ours["network"]
    out.append(
        Result(
            f"analysis_{label}_match_gaps_networks",
            core + ours["index"],
            "s",
            base["total"] * scale,
            note="index + context + match + gaps + networks (suppression timed apart); " + note,
        )
    )
    return out


def run_statewide(*, sample: float | None) -> list[Result]:
    schools, partners = synth.statewide()
    partners = conform_partners(partners)
    profile = synth.need_profile(schools)
    t0 = time.perf_counter()
    profile.published()
    publish_s = time.perf_counter() - t0
    ours = _ours(schools, partners, profile)
    ours["publish"] = publish_s + ours["publish"]
    if sample:
        rng = np.random.default_rng(11)
        k = max(1, round(len(schools) * sample))
        pick = np.sort(rng.choice(len(schools), k, replace=False))
        sub = schools.iloc[pick]
        base = geopandas_baseline(sub, partners, _sub_profile(profile, sub))
        scale = len(schools) / k
        note = f"baseline: geopandas on a {k}-school sample x {scale:.0f}"
    else:
        base = geopandas_baseline(schools, partners, profile)
        scale, note = 1.0, "baseline: geopandas, every school"
    out = _report("statewide_1500x50k", ours, base, scale, note)
    out.append(Result("analysis_statewide_1500x50k_match_rows", ours["match_rows"], "rows"))
    return out


def _sub_profile(profile, schools):
    from assetmap.needs import NeedProfile

    ids = set(schools["school_id"].astype(str))
    c = profile._counts  # noqa: SLF001
    meta = profile._schools  # noqa: SLF001
    return NeedProfile(
        c.loc[c["school_id"].isin(ids)].reset_index(drop=True),
        meta.loc[meta["school_id"].isin(ids)].reset_index(drop=True),
        languages=profile.languages,
        needs=profile.needs,
        synthetic=profile.synthetic,
    )


def run_shipped() -> list[Result]:
    from assetmap.data import load_partners, load_schools
    from assetmap.needs import load_profile

    schools = load_schools()
    profile, _ = load_profile(schools=schools)
    partners = load_partners()
    ours = _ours(schools, partners, profile)
    base = geopandas_baseline(schools, partners, profile)
    n = len(profile.school_ids)
    return _report(f"shipped_{n}x{len(partners)}", ours, base, 1.0, "baseline: geopandas")


def run_quick() -> list[Result]:
    return run_shipped() + run_statewide(sample=10 / 1500)


def run_all() -> list[Result]:
    return run_shipped() + run_statewide(sample=0.1)


def run_full_baseline() -> list[Result]:
    """The statewide baseline on every school (about an hour on 2 cores)."""
    return run_statewide(sample=None)
