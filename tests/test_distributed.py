"""The Dask engine returns exactly what the in-memory engine returns (shipped and synthetic data)."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assetmap._errors import InputError
from assetmap.coverage import gaps
from assetmap.data import load_partners, load_schools, survey_path
from assetmap.distributed import analyse_dask, dask_client, gaps_dask, match_dask, network_dask
from assetmap.index import PartnerIndex
from assetmap.match import match_all, prepare
from assetmap.needs import load_profile
from assetmap.network import build_network
from assetmap.settings import get_settings

# The seeded benchmark generators (benchmarks/synth.py) double as test data generators.
_spec = importlib.util.spec_from_file_location(
    "assetmap_bench_synth", Path(__file__).resolve().parents[1] / "benchmarks" / "synth.py"
)
synth = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(synth)


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Equal frames, treating None and NaN alike (pandas may store a missing value as either
    depending on which rows were built together)."""

    def norm(df: pd.DataFrame) -> pd.DataFrame:
        out = df.astype(object)
        out = out.where(out.notna(), None)
        if "explain" in out.columns:  # the same missing date, printed from None or from NaN
            out["explain"] = out["explain"].str.replace(
                "verified: nan ->", "verified: never verified ->", regex=False
            )
        return out

    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    pd.testing.assert_frame_equal(norm(a), norm(b), check_dtype=False)


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    c = LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None)
    yield c
    c.close()


@pytest.fixture(scope="module")
def client(cluster):
    from distributed import Client

    with Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def shipped():
    schools = load_schools()
    profile, _ = load_profile(survey_path(), schools=schools)
    index = PartnerIndex.build(load_partners())
    ctx = prepare(partners_index=index, profile=profile, schools=schools)
    return schools, profile, index, ctx


def test_shipped_data_equal_in_memory(client, shipped):
    schools, profile, index, ctx = shipped
    res = analyse_dask(
        partners=index, profile=profile, schools=schools, client=client, npartitions=5
    )
    _same(res["match"], match_all(profile=profile, context=ctx))
    _same(res["gaps"], gaps(profile=profile, context=ctx))
    _same(res["network"], build_network(profile=profile, context=ctx))
    assert sum(s["schools"] for s in res["stats"]) == len(profile.school_ids)


def test_out_dir_writes_partitions_that_read_back_as_the_in_memory_frames(
    client, shipped, tmp_path
):
    schools, profile, index, ctx = shipped
    res = analyse_dask(
        partners=index,
        profile=profile,
        schools=schools,
        client=client,
        npartitions=4,
        kinds=("match", "gaps"),
        out_dir=tmp_path,
    )
    for kind, want in (
        ("match", match_all(profile=profile, context=ctx)),
        ("gaps", gaps(profile=profile, context=ctx)),
    ):
        parts = res[kind]
        assert len(parts) == 4 and all(Path(f).exists() for f, _ in parts)
        assert sum(n for _, n in parts) == len(want)
        got = pd.concat([pd.read_parquet(f) for f, _ in parts], ignore_index=True)
        order = {sid: i for i, sid in enumerate(profile.school_ids)}
        key = got["school_id"].map(order).to_numpy()
        got = got.iloc[np.argsort(key, kind="stable")].reset_index(drop=True)
        # parquet gives list cells back as arrays
        for col in ("languages", "languages_needed"):
            if col in got.columns:
                got[col] = [list(v) for v in got[col]]
        _same(got, want)
    with pytest.raises(InputError):
        analyse_dask(
            partners=index, profile=profile, client=client, kinds=("network",), out_dir=tmp_path
        )


@pytest.fixture(scope="module")
def synthetic():
    schools, partners = synth.statewide(n_schools=36, n_partners=1200, seed=4)
    # co-located sites (one building, several programmes) make distance ties
    partners = partners.copy()
    partners.loc[partners.index[1:25], "geometry"] = partners.geometry.iloc[0]
    profile = synth.need_profile(schools, seed=5, mean_families=40)
    # short reaches: many schools lack a partner within reach, so the nearest beyond reach
    # often lies outside a partition's first ball and partitions must widen it
    base = get_settings()
    settings = dataclasses.replace(
        base, reach_km={k: 1.5 for k in base.reach_km}, default_reach_km=1.5
    )
    index = PartnerIndex.build(partners)
    ctx = prepare(partners_index=index, profile=profile, settings=settings)
    return schools, partners, profile, settings, index, ctx


def test_synthetic_set_equal_in_memory_with_widening_partitions(client, synthetic):
    _, partners, profile, settings, _, ctx = synthetic
    res = analyse_dask(
        partners=partners, profile=profile, settings=settings, client=client, npartitions=5
    )
    _same(res["match"], match_all(profile=profile, context=ctx))
    _same(res["gaps"], gaps(profile=profile, context=ctx))
    _same(res["network"], build_network(profile=profile, context=ctx))
    assert any(s["tries"] > 1 for s in res["stats"]), "the short reach should force a widening"
    assert len(res["stats"]) == 5


def test_subsets_and_district_keep_the_in_memory_order(client, synthetic):
    _, _, profile, settings, index, ctx = synthetic
    ids = profile.school_ids[::-7][:6]  # reversed order on purpose
    kw = {"partners": index, "profile": profile, "settings": settings, "client": client}
    _same(match_dask(ids, npartitions=3, **kw), match_all(ids, profile=profile, context=ctx))
    _same(gaps_dask(ids, npartitions=2, **kw), gaps(ids, profile=profile, context=ctx))
    _same(network_dask(ids, npartitions=3, **kw), build_network(ids, profile=profile, context=ctx))
    district = profile.schools()["district_id"].value_counts().index[0]
    _same(
        network_dask(district=district, npartitions=2, **kw),
        build_network(district=district, profile=profile, context=ctx),
    )


def test_scheduler_by_address(cluster, synthetic):
    _, _, profile, settings, index, ctx = synthetic
    ids = profile.school_ids[:10]
    got = gaps_dask(
        ids,
        partners=index,
        profile=profile,
        settings=settings,
        scheduler=cluster.scheduler_address,
        npartitions=2,
    )
    _same(got, gaps(ids, profile=profile, context=ctx))


def test_unknown_school_and_unreachable_scheduler_are_input_errors(client, synthetic):
    _, _, profile, settings, index, _ = synthetic
    with pytest.raises(InputError, match="no survey responses or are unknown"):
        match_dask(["nope"], partners=index, profile=profile, settings=settings, client=client)
    with pytest.raises(InputError, match="cannot reach the Dask scheduler"):
        with dask_client("tcp://127.0.0.1:9", timeout="2s"):
            pass


def test_schools_without_coordinates_are_kept(client, synthetic):
    schools, _, profile, settings, index, _ = synthetic
    moved = schools.copy()
    moved.loc[moved.index[:3], "geometry"] = None
    prof = synth.need_profile(moved, seed=5, mean_families=40)
    ctx = prepare(partners_index=index, profile=prof, settings=settings)
    res = analyse_dask(
        partners=index, profile=prof, settings=settings, client=client, npartitions=3
    )
    want = gaps(profile=prof, context=ctx)
    assert want["school_id"].isin(moved["school_id"].iloc[:3]).any()
    _same(res["gaps"], want)
    _same(res["match"], match_all(profile=prof, context=ctx))
    assert np.isfinite([s["radius_km"] for s in res["stats"]]).all()


def test_cli_engine_dask_prints_what_the_memory_engine_prints(cluster, shipped, capsys):
    import json

    from assetmap.cli import main

    _, profile, _, _ = shipped
    school = profile.school_ids[0]
    out = {}
    for extra in ([], ["--engine", "dask", "--scheduler", cluster.scheduler_address]):
        assert main(["match", "--school", school, "--json", *extra]) == 0
        out[("match", bool(extra))] = json.loads(capsys.readouterr().out)
        assert main(["gaps", "--school", school, "--json", *extra]) == 0
        out[("gaps", bool(extra))] = json.loads(capsys.readouterr().out)
    assert out[("match", True)] == out[("match", False)]
    assert out[("gaps", True)] == out[("gaps", False)]
    assert len(out[("match", False)]) > 0
    # --scheduler without --engine dask is a usage error (exit 2, no traceback)
    assert main(["gaps", "--scheduler", cluster.scheduler_address]) == 2
    assert "--engine dask" in capsys.readouterr().err
