"""Coordinated networks: the choice equals the brute-force optimum on small instances."""

from __future__ import annotations

import dataclasses
import itertools
import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import _analysis_world as world  # noqa: E402

from assetmap.netsolve import Batch, blank_arrays, solve_sequential  # noqa: E402
from assetmap.network import (  # noqa: E402
    NETWORK_COLUMNS,
    NetworkInstance,
    build_network,
    objective,
    solve,
    solve_greedy,
)
from assetmap.settings import get_settings  # noqa: E402


def random_instance(rng: np.random.Generator) -> NetworkInstance:
    n_needs = int(rng.integers(1, 4))
    n_lang = 4
    pool = list(range(int(rng.integers(3, 7))))  # partner ids shared between needs
    demand, covers, scores, ids = [], [], [], []
    for _ in range(n_needs):
        k = int(rng.integers(1, len(pool) + 1))
        demand.append(rng.integers(0, 12, n_lang).astype(float))
        cov = rng.random((k, n_lang)) < 0.4
        cov[:, 0] = True  # English
        covers.append(cov)
        scores.append(rng.random(k).round(3))
        ids.append(rng.choice(pool, size=k, replace=False))
    return NetworkInstance(
        needs=[f"n{i}" for i in range(n_needs)],
        demand=demand,
        covers=covers,
        scores=scores,
        ids=ids,
    )


def independent_objective(inst: NetworkInstance, choice) -> float:
    """The documented objective, written out again without the solver's tables."""
    tot = np.array([d.sum() for d in inst.demand])
    w = tot / tot.sum() if tot.sum() > 0 else np.full(len(tot), 1 / len(tot))
    f, used = 0.0, set()
    for n, sel in enumerate(choice):
        d = inst.demand[n]
        if d.sum() > 0:
            covered = np.zeros(len(d), dtype=bool)
            for c in sel:
                covered |= inst.covers[n][c]
            cov = (d * covered).sum() / d.sum()
        else:
            cov = 1.0
        f += w[n] * (cov + inst.mu * np.mean([inst.scores[n][c] for c in sel]))
        used |= {int(inst.ids[n][c]) for c in sel}
    return f - inst.lam * len(used)


def brute_force(inst: NetworkInstance) -> float:
    options = [
        list(itertools.combinations(range(len(inst.ids[n])), min(3, len(inst.ids[n]))))
        for n in range(len(inst.needs))
    ]
    return max(independent_objective(inst, list(ch)) for ch in itertools.product(*options))


@pytest.mark.parametrize("seed", range(40))
def test_choice_equals_brute_force_optimum(seed):
    inst = random_instance(np.random.default_rng(seed))
    choice = solve(inst)
    assert all(len(sel) == min(3, len(inst.ids[n])) for n, sel in enumerate(choice))
    assert objective(inst, choice) == pytest.approx(independent_objective(inst, choice), abs=1e-12)
    assert independent_objective(inst, choice) == pytest.approx(brute_force(inst), abs=1e-12)


@pytest.mark.parametrize("seed", range(20))
def test_greedy_coverage_within_the_documented_bound(seed):
    rng = np.random.default_rng(100 + seed)
    k = 8
    inst = NetworkInstance(
        needs=["n"],
        demand=[rng.integers(0, 10, 6).astype(float) + 0.5],
        covers=[rng.random((k, 6)) < 0.3],
        scores=[rng.random(k)],
        ids=[np.arange(k)],
        mu=0.0,
        lam=0.0,
    )
    greedy = solve_greedy(inst, local_search=False)
    best = max(inst.coverage(0, c) for c in itertools.combinations(range(k), 3))
    assert inst.coverage(0, greedy[0]) >= (1 - 1 / math.e) * best - 1e-12
    assert objective(inst, solve_greedy(inst)) >= objective(inst, greedy) - 1e-12


@pytest.fixture(scope="module")
def network():
    s = dataclasses.replace(get_settings(), lead_partner_load_warning=1)
    return build_network(
        partners_index=world.index(), profile=world.profile(), schools=world.schools(), settings=s
    )


def test_network_frame(network):
    assert list(network.columns) == NETWORK_COLUMNS
    a_food = network[(network["school_id"] == "S_A") & (network["need"] == "food")]
    assert list(a_food["role"]) == ["lead", "backup"] and list(a_food["rank"]) == [1, 2]
    lead = a_food.iloc[0]
    assert lead["partner_id"] == "p_food_es"  # covers es + en = 2/3, ahead of pt (2/3, lower score)
    assert lead["language_coverage"] == pytest.approx(2 / 3, abs=1e-4)
    assert set(lead["languages_needed"]) == {"en", "es", "pt"}
    assert "Lead for Food" in lead["reason"] and "Spanish Pantry" in lead["reason"]
    backup = a_food.iloc[1]
    assert "adds Portuguese" in backup["reason"]
    # the Portuguese centre also leads housing: one partner for two needs
    housing = network[(network["school_id"] == "S_A") & (network["need"] == "housing")]
    assert housing.iloc[0]["partner_id"] == "p_food_pt"
    gap = network[(network["school_id"] == "S_A") & (network["need"] == "legal")].iloc[0]
    assert gap["role"] == "gap" and gap["rank"] == 0 and gap["partner_id"] is None
    assert "Far Legal Aid" in gap["reason"]


def test_lead_load_and_overload_flags(network):
    leads = network[network["role"] == "lead"]
    load = leads.groupby("partner_id")["school_id"].nunique()
    for r in leads.itertuples():
        assert r.lead_load == load[r.partner_id]
        assert r.overloaded == (r.lead_load > 1)
    es = leads[leads["partner_id"] == "p_food_es"]
    assert (es["lead_load"] == 2).all() and es["overloaded"].all()  # S_A and tiny S_C
    assert "consider sharing the lead role" in es.iloc[0]["reason"]


def test_district_selection():
    net = build_network(
        partners_index=world.index(),
        profile=world.profile(),
        schools=world.schools(),
        district="D2",
    )
    assert set(net["school_id"]) == {"S_C"}
    assert set(net["families_display"]) == {"fewer than 6 responses"}


def _stack(instances: list[NetworkInstance]) -> Batch:
    """Several schools' instances on one grid (needs beyond a school's own are absent)."""
    n = max(len(i.needs) for i in instances)
    k = max(len(x) for i in instances for x in i.ids)
    a = blank_arrays(len(instances), n, k, len(instances[0].demand[0]))
    for s, inst in enumerate(instances):
        for j in range(len(inst.needs)):
            kk = len(inst.ids[j])
            a["present"][s, j] = True
            a["demand"][s, j] = inst.demand[j]
            a["count"][s, j] = kk
            a["covers"][s, j, :kk] = inst.covers[j]
            a["scores"][s, j, :kk] = inst.scores[j]
            a["ids"][s, j, :kk] = inst.ids[j]
    return Batch(**a, mu=instances[0].mu, lam=instances[0].lam)


def test_batch_of_schools_equals_each_school_alone_and_is_swap_optimal():
    rng = np.random.default_rng(7)
    instances = [random_instance(rng) for _ in range(60)]
    batch = _stack(instances)
    together = batch.tuples(batch.solve())
    for s, inst in enumerate(instances):
        alone = solve_sequential(inst)
        mine = together[s][: len(inst.needs)]
        assert mine == alone
        assert all(sel == () for sel in together[s][len(inst.needs) :])
        # no single swap (one chosen candidate of one need for another) improves F
        f = independent_objective(inst, mine)
        for n, sel in enumerate(mine):
            for out in sel:
                for c in range(len(inst.ids[n])):
                    if c in sel:
                        continue
                    moved = list(mine)
                    moved[n] = tuple(sorted([x for x in sel if x != out] + [c]))
                    assert independent_objective(inst, moved) <= f + 1e-9
