"""Matching + gaps + networks (issues 3, 7 and 16) against the competent scipy/numpy way.

Ours: the whole analysis users get from the CLI and the app — ``PartnerIndex.build``, the
shared context, ``match_all`` **with explanations**, ``gaps`` and ``build_network`` over
every surveyed school. Suppression (``profile.published()`` and the safe weights) runs once
before, timed apart, and both sides use its weights.

Baseline: :mod:`benchmarks.competent` — the same rules written the way a capable
scipy/numpy user would (one cKDTree per need, ``sparse_distance_matrix`` pairs, vectorised
scoring, one lexsort, an f-string per explanation, the per-school network solver in a loop).
Both answers are compared (:func:`benchmarks.competent.same_answers`): match partners,
ranks, reach flags, distances, scores and explanation texts; gap rows and their nearest
partners; network roles and partners. Runs alternate (ours, baseline, ours, ...) so both see
the same load; the medians are reported, with CPU seconds in the note (the machine is
shared).

Data: the shipped data (every school of the shipped SYNTHETIC survey, the shipped partners)
and the synthetic statewide set (1,500 schools around real Connecticut schools, 50,000
partners, 18 needs, 20 languages, SYNTHETIC need profile); ``scaling`` runs other sizes.
"""

from __future__ import annotations

import statistics
import time

from assetmap.coverage import gaps
from assetmap.index import PartnerIndex
from assetmap.match import match_all, prepare
from assetmap.model import conform_partners
from assetmap.network import build_network
from benchmarks import competent, synth
from benchmarks._harness import Result

BASELINE = "competent scipy/numpy (benchmarks/competent.py: cKDTree pairs, vectorised scores)"


def ours(schools, partners, profile) -> tuple[dict[str, float], dict]:
    """Seconds per step (wall) and the frames, explanations on (what users get)."""
    steps: dict[str, float] = {}
    t = time.perf_counter()
    idx = PartnerIndex.build(partners)
    steps["index"] = time.perf_counter() - t
    t = time.perf_counter()
    ctx = prepare(partners_index=idx, profile=profile, schools=schools)
    steps["prepare"] = time.perf_counter() - t
    t = time.perf_counter()
    m = match_all(profile=profile, context=ctx, limit=10, explain=True)
    steps["match"] = time.perf_counter() - t
    t = time.perf_counter()
    g = gaps(profile=profile, context=ctx)
    steps["gaps"] = time.perf_counter() - t
    t = time.perf_counter()
    n = build_network(profile=profile, context=ctx)
    steps["network"] = time.perf_counter() - t
    return steps, {"match": m, "gaps": g, "network": n}


def compare(label: str, schools, partners, profile, *, runs: tuple[int, int]) -> list[Result]:
    """Alternate ours and the baseline (``runs`` = how many of each), medians, answers."""
    partners = conform_partners(partners)
    t = time.perf_counter()
    profile.published()
    profile._analysis_weights()  # noqa: SLF001 - suppression, shared by both sides
    publish_s = time.perf_counter() - t
    t_ours, t_base, c_ours, c_base, step_runs = [], [], [], [], []
    frames = base = None
    for i in range(max(runs)):
        if i < runs[0]:
            c, t = time.process_time(), time.perf_counter()
            steps, frames = ours(schools, partners, profile)
            t_ours.append(time.perf_counter() - t)
            c_ours.append(time.process_time() - c)
            step_runs.append(steps)
        if i < runs[1]:
            c, t = time.process_time(), time.perf_counter()
            base = competent.run(schools, partners, profile)
            t_base.append(time.perf_counter() - t)
            c_base.append(time.process_time() - c)
    eq = competent.same_answers(frames, base)
    med = {k: statistics.median(s[k] for s in step_runs) for k in step_runs[0]}
    rows = len(frames["match"])
    note = (
        f"median of {runs[0]} / {runs[1]} alternating runs; CPU {statistics.median(c_ours):.2f} s"
        f" vs {statistics.median(c_base):.2f} s; steps (wall) "
        + ", ".join(f"{k} {v:.2f}" for k, v in med.items())
        + f"; {rows} match rows with explanations, {len(frames['gaps'])} gap rows, "
        f"{len(frames['network'])} network rows; suppression before: {publish_s:.2f} s; "
        f"equal: {eq}"
    )
    return [
        Result(
            f"analysis_{label}_match_gaps_networks_explained",
            statistics.median(t_ours),
            "s",
            statistics.median(t_base),
            note=note,
            baseline=BASELINE,
            equal=all(eq.values()),
        )
    ]


def run_statewide(
    *, runs: tuple[int, int] = (2, 1), n_schools: int = 1500, n_partners: int = 50_000
) -> list[Result]:
    schools, partners = synth.statewide(n_schools=n_schools, n_partners=n_partners)
    profile = synth.need_profile(schools)
    label = f"statewide_{n_schools}x{n_partners // 1000}k"
    return compare(label, schools, partners, profile, runs=runs)


def run_shipped(*, runs: tuple[int, int] = (3, 3)) -> list[Result]:
    from assetmap.data import load_partners, load_schools
    from assetmap.needs import load_profile

    schools = load_schools()
    from assetmap.data import survey_path

    profile, _ = load_profile(survey_path(), schools=schools)
    partners = load_partners()
    n = len(profile.school_ids)
    return compare(f"shipped_{n}x{len(partners)}", schools, partners, profile, runs=runs)


def run_scaling(*, runs: tuple[int, int] = (1, 1)) -> list[Result]:
    """Schools 300 / 1,500 / 6,000 at 50k partners; partners 10k / 50k / 200k at 1,500."""
    out = []
    for n_s, n_p in ((300, 50_000), (6000, 50_000), (1500, 10_000), (1500, 200_000)):
        out += run_statewide(runs=runs, n_schools=n_s, n_partners=n_p)
    return out


def run_quick() -> list[Result]:
    return run_shipped() + run_statewide(runs=(2, 1))


def run_all() -> list[Result]:
    return run_shipped() + run_statewide(runs=(3, 2)) + run_scaling()
