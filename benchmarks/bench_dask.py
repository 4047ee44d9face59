"""Dask engine (issue 7): match + gaps on a LocalCluster, scaling from 1 to 2 workers.

:func:`assetmap.distributed.analyse_dask` (dask-geopandas Hilbert partitions, partners
scattered once, per-partition ball of partners) on the synthetic statewide set and the
national set (100,000 schools, 2,000,000 partners, SYNTHETIC need profile). Each run starts
its own ``LocalCluster`` (processes, one thread each) and reports wall time (cluster start
excluded), the peak resident memory of the whole process tree (driver + workers, sampled
every 0.2 s) against the machine's memory, and the scaling ratio t(1 worker) / t(2 workers).
The statewide run also times the in-memory engine beside it (the default path) and checks
the Dask frames equal the in-memory ones.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd
import psutil

from assetmap.distributed import analyse_dask, dask_client
from benchmarks import synth
from benchmarks._harness import Result


@contextlib.contextmanager
def _peak_rss():
    """Peak RSS (bytes) of this process and all its descendants while the block runs."""
    me = psutil.Process(os.getpid())
    peak = [0]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            total = 0
            with contextlib.suppress(psutil.Error):
                total = me.memory_info().rss
                for c in me.children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        total += c.memory_info().rss
            peak[0] = max(peak[0], total)
            stop.wait(0.2)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    try:
        yield peak
    finally:
        stop.set()
        t.join()


def _run(
    label: str,
    schools,
    partners,
    profile,
    *,
    npartitions: int,
    compare: bool,
    workers_list: tuple[int, ...] = (1, 2),
) -> list[Result]:
    from assetmap.index import PartnerIndex

    out: list[Result] = []
    index = PartnerIndex.build(partners)
    times: dict[int, float] = {}
    mem_total = psutil.virtual_memory().total
    frames = None
    for workers in workers_list:
        # without the in-memory comparison (national) every partition writes its rows to
        # Parquet on the worker: 100,000 schools of match rows do not fit in memory at once
        with (
            _peak_rss() as peak,
            dask_client(n_workers=workers) as client,
            tempfile.TemporaryDirectory(prefix="assetmap_dask_") as folder,
        ):
            t0 = time.perf_counter()
            res = analyse_dask(
                partners=index,
                profile=profile,
                schools=schools,
                kinds=("match", "gaps"),
                client=client,
                npartitions=npartitions,
                explain=False,
                out_dir=None if compare else folder,
            )
            times[workers] = time.perf_counter() - t0
            if not compare:
                size = sum(f.stat().st_size for f in Path(folder).rglob("*.parquet"))
                rows = {k: sum(n for _, n in res[k]) for k in ("match", "gaps")}
                out.append(
                    Result(
                        f"dask_rows_written_{label}_{workers}w",
                        float(rows["match"] + rows["gaps"]),
                        "rows",
                        note=f"match {rows['match']:,} + gaps {rows['gaps']:,} rows in "
                        f"Parquet, {size / 1e6:.0f} MB",
                    )
                )
        frames = res
        out.append(
            Result(
                f"dask_match_gaps_{label}_{workers}w",
                times[workers],
                "s",
                note=f"{npartitions} partitions; peak memory {peak[0] / 1e9:.1f} GB of "
                f"{mem_total / 1e9:.0f} GB; partners sent per partition (mean) "
                f"{sum(s['partners'] for s in res['stats']) / max(len(res['stats']), 1):.0f}",
            )
        )
        out.append(Result(f"dask_peak_memory_{label}_{workers}w", peak[0] / 1e9, "GB"))
    if 1 in times and 2 in times:
        out.append(
            Result(
                f"dask_scaling_{label}_1_to_2_workers",
                times[2],
                "s",
                times[1],
                note="ratio = t(1 worker) / t(2 workers)",
            )
        )
    if compare:
        from assetmap.coverage import gaps
        from assetmap.match import match_all, prepare

        t0 = time.perf_counter()
        ctx = prepare(partners_index=index, profile=profile, schools=schools)
        m = match_all(profile=profile, context=ctx, explain=False)
        g = gaps(profile=profile, context=ctx)
        mem_s = time.perf_counter() - t0
        same = _equal(m, frames["match"]) and _equal(g, frames["gaps"])
        out.append(
            Result(
                f"inmemory_match_gaps_{label}",
                mem_s,
                "s",
                times[2],
                note="ratio > 1: in-memory faster than Dask on 2 workers",
                baseline="assetmap.distributed on Dask, 2 local workers",
                equal=same,
            )
        )
    return out


def _equal(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    def norm(df):
        o = df.astype(object)
        return o.where(o.notna(), None).reset_index(drop=True)

    try:
        pd.testing.assert_frame_equal(norm(a), norm(b), check_dtype=False)
    except AssertionError:
        return False
    return True


def run_statewide() -> list[Result]:
    schools, partners = synth.statewide()
    profile = synth.need_profile(schools)
    return _run("statewide_1500x50k", schools, partners, profile, npartitions=8, compare=True)


def run_national(
    n_schools: int = 100_000,
    n_partners: int = 2_000_000,
    workers_list: tuple[int, ...] = (1, 2),
) -> list[Result]:
    schools, partners = synth.national(n_schools=n_schools, n_partners=n_partners)
    profile = synth.need_profile(schools)
    label = f"national_{n_schools // 1000}kx{n_partners // 1_000_000}M"
    return _run(
        label, schools, partners, profile, npartitions=32, compare=False, workers_list=workers_list
    )


def run_all() -> list[Result]:
    # the whole national set on 2 workers (memory, time); the 1 -> 2 worker scaling on a
    # 10,000-school draw of it (all 2,000,000 partners), which takes minutes, not an hour
    return (
        run_statewide()
        + run_national(workers_list=(2,))
        + run_national(n_schools=10_000, workers_list=(1, 2))
    )


def run_quick() -> list[Result]:
    return run_statewide()
