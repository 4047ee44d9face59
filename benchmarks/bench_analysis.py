"""Timings of the survey-driven analysis: matching + gaps + coordinated networks.

Reusable building blocks for the benchmark harness:

- :func:`synthetic_profile` — a SYNTHETIC NeedProfile for any schools frame (families per
  school, 18 needs, up to 20 home languages), seeded;
- :func:`run` — times index build, suppression + context, ``match_all``, ``gaps`` and
  ``build_network`` for every school of the profile; returns ``{step: seconds}``.

>>> from benchmarks.synth import statewide
>>> schools, partners = statewide()
>>> timings = run(schools, partners, synthetic_profile(schools))
"""

from __future__ import annotations

import time

import geopandas as gpd
import numpy as np
import pandas as pd

from assetmap.index import PartnerIndex
from assetmap.needs import NeedProfile, build_profile
from assetmap.taxonomy import load_taxonomy

LANGS = ["en", "es", "pt", "ht", "ar", "zh", "pl", "sq", "ur", "ps", "prs", "uk", "bn", "vi"]
LANGS += ["ru", "fr", "tr", "gu", "ne", "so", "hi"]


def synthetic_profile(
    schools: gpd.GeoDataFrame,
    *,
    families: tuple[int, int] = (20, 150),
    seed: int = 0,
) -> NeedProfile:
    """A SYNTHETIC NeedProfile: per school a random number of families in ``families``, home
    languages skewed like Connecticut (English and Spanish first), 1-4 needs each."""
    rng = np.random.default_rng(seed)
    needs = np.array(load_taxonomy().top_needs, dtype=object)
    lang_w = np.array([40, 30, 6, 4, 3, 3, 2, 2, 1.5, 1, 1, 1, 1, 1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5])
    lang_w = lang_w / lang_w.sum()
    n_fam = rng.integers(families[0], families[1] + 1, len(schools))
    total = int(n_fam.sum())
    school_idx = np.repeat(np.arange(len(schools)), n_fam)
    langs = np.array(LANGS, dtype=object)[rng.choice(len(LANGS), total, p=lang_w)]
    k = rng.integers(1, 5, total)
    picks = rng.random((total, len(needs))).argsort(axis=1)[:, :4]
    need_lists = [list(needs[picks[i, : k[i]]]) for i in range(total)]
    ids = schools["school_id"].astype(str).to_numpy()
    responses = pd.DataFrame(
        {
            "row": np.arange(total) + 2,
            "school_id": ids[school_idx],
            "school_name": schools["name"].astype(str).to_numpy()[school_idx],
            "district_id": schools["district_id"].astype(str).to_numpy()[school_idx],
            "language": langs,
            "languages": [[x] for x in langs],
            "needs": need_lists,
            "weight": 1.0,
            "family": True,
            "synthetic": True,
        }
    )
    return build_profile(responses, schools=schools)


def run(
    schools: gpd.GeoDataFrame,
    partners: gpd.GeoDataFrame,
    profile: NeedProfile,
    *,
    explain: bool = False,
    limit: int = 10,
    network_method: str = "auto",
) -> dict[str, float]:
    """Seconds per step for full match + gaps + networks over every surveyed school.

    Steps: ``index`` (PartnerIndex.build), ``publish`` (suppression, cached on the profile
    afterwards), ``prepare`` (shared context), ``match`` (``match_all``), ``gaps``,
    ``network`` (``build_network``) and ``total`` (their sum). Also returns row counts
    (``match_rows``, ``gap_rows``, ``network_rows``) as floats.
    """
    from assetmap.coverage import gaps
    from assetmap.match import match_all, prepare
    from assetmap.model import conform_partners
    from assetmap.network import build_network

    partners = conform_partners(partners)
    out: dict[str, float] = {}
    t = time.perf_counter()
    idx = PartnerIndex.build(partners)
    out["index"] = time.perf_counter() - t
    t = time.perf_counter()
    profile.published()
    profile._analysis_weights()  # noqa: SLF001 - part of the suppression-derived weights
    out["publish"] = time.perf_counter() - t
    t = time.perf_counter()
    ctx = prepare(partners_index=idx, profile=profile, schools=schools)
    out["prepare"] = time.perf_counter() - t
    t = time.perf_counter()
    m = match_all(profile=profile, context=ctx, limit=limit, explain=explain)
    out["match"] = time.perf_counter() - t
    t = time.perf_counter()
    g = gaps(profile=profile, context=ctx)
    out["gaps"] = time.perf_counter() - t
    t = time.perf_counter()
    n = build_network(profile=profile, context=ctx, method=network_method)
    out["network"] = time.perf_counter() - t
    out["total"] = sum(out[k] for k in ("index", "publish", "prepare", "match", "gaps", "network"))
    out["match_rows"] = float(len(m))
    out["gap_rows"] = float(len(g))
    out["network_rows"] = float(len(n))
    return out


if __name__ == "__main__":  # pragma: no cover - manual run
    from assetmap.data import load_partners, load_schools
    from assetmap.needs import load_profile

    sch = load_schools()
    from assetmap.data import survey_path

    prof, _ = load_profile(survey_path(), schools=sch)
    for key, val in run(sch, load_partners(), prof).items():
        print(f"{key:14s} {val:10.3f}")
