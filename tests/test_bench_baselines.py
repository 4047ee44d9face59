"""The benchmark baselines give the same answers as assetmap (a benchmark with unequal answers
fails, so these keep them honest on small data)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import _analysis_world as world  # noqa: E402

from assetmap.index import PartnerIndex  # noqa: E402
from benchmarks import bench_analysis_suite, competent  # noqa: E402
from benchmarks.bench_index import KDTreeCache, _same  # noqa: E402


def test_competent_analysis_baseline_equals_assetmap_on_the_test_world():
    schools, partners, profile = world.schools(), world.partners(), world.profile()
    _, frames = bench_analysis_suite.ours(schools, partners, profile)
    base = competent.run(schools, partners, profile)
    assert len(frames["match"]) > 0 and len(frames["network"]) > 0
    assert competent.same_answers(frames, base) == {"match": True, "gaps": True, "network": True}
    # and the comparison is not vacuous: a changed partner is noticed
    base["match"].loc[0, "partner_id"] = "someone else"
    assert not competent.same_answers(frames, base)["match"]


def test_cached_kdtree_baseline_equals_knn_many():
    partners = world.partners()
    idx = PartnerIndex.build(partners)
    cache = KDTreeCache(idx.partners, idx.xyz)
    rng = np.random.default_rng(2)
    lat, lon = 41.7 + rng.random(50) * 0.3, -72.8 + rng.random(50) * 0.3
    k = 2
    ours = idx.knn_many(lat, lon, k, needs=["food"], languages=["es"])
    assert (ours[1] >= 0).all()
    assert _same(ours, cache.knn(lat, lon, k, "food", "es"))
