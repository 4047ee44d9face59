"""Tiny harness: timed runs, results with baselines, a table and JSON lines."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass
class Result:
    """One measurement against a named baseline measured in the same run.

    ``ratio`` = baseline / ours (higher is better for times). ``baseline`` names the
    approach (the best way a competent user would do it with the same libraries, unless the
    name says ``naive``); ``equal`` records whether both gave the same answer (a result with
    ``equal`` False fails the run).
    """

    name: str
    value: float
    unit: str
    baseline_value: float | None = None
    note: str = ""
    baseline: str | None = None
    equal: bool | None = None

    @property
    def ratio(self) -> float | None:
        if self.baseline_value is None or not self.value:
            return None
        return self.baseline_value / self.value

    def to_json(self) -> dict[str, Any]:
        r = self.ratio
        return {
            "name": self.name,
            "value": round(self.value, 6),
            "unit": self.unit,
            "baseline_value": None
            if self.baseline_value is None
            else round(self.baseline_value, 6),
            "ratio": None if r is None else round(r, 2),
            "baseline": self.baseline,
            "equal": self.equal,
            **({"note": self.note} if self.note else {}),
        }


def timed(fn: Callable[[], T], *, repeat: int = 3) -> tuple[float, T]:
    """Best wall time (s) over ``repeat`` runs, and the last result."""
    best = float("inf")
    out: T
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def paired(
    ours: Callable[[], T], base: Callable[[], Any], *, repeat: int = 5
) -> tuple[float, float, T, Any]:
    """Median wall times (s) of ``ours`` and ``base``, run alternately ``repeat`` times each
    (the machine is shared: alternating keeps both under the same load; which one goes first
    alternates as well), and their last results."""
    t_ours, t_base = [], []
    out_ours: T
    out_base: Any
    for i in range(repeat):
        for which in (0, 1) if i % 2 == 0 else (1, 0):  # who goes first alternates too
            t0 = time.perf_counter()
            if which == 0:
                out_ours = ours()
                t_ours.append(time.perf_counter() - t0)
            else:
                out_base = base()
                t_base.append(time.perf_counter() - t0)
    return statistics.median(t_ours), statistics.median(t_base), out_ours, out_base


def load() -> str:
    """The 1/5/15-minute load averages (other sessions share the cores)."""
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover - not on this platform
        return "unknown"


def emit(result: Result, *, json_lines: bool) -> None:
    """Print one result now (JSON line on stdout, or a table row)."""
    if json_lines:
        print(json.dumps(result.to_json()), flush=True)
    else:
        r = result.ratio
        base = "" if result.baseline_value is None else f"{result.baseline_value:12.4f}"
        ratio = "" if r is None else f"{r:8.1f}x"
        eq = {None: "", True: "equal", False: "UNEQUAL"}[result.equal]
        print(
            f"{result.name:58s} {result.value:12.4f} {result.unit:4s} {base:>12s} {ratio:>9s} "
            f"{eq:7s} {result.baseline or ''}  {result.note}",
            flush=True,
        )


def header(json_lines: bool) -> None:
    """Machine, Python, cores and load: to stderr for JSON lines (stdout stays JSON)."""
    text = (
        f"# assetmap benchmarks — {platform.platform()}, Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} cores, load average {load()}, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )
    if json_lines:
        print(text, file=sys.stderr, flush=True)
    else:
        print(text, flush=True)
        print(
            f"{'name':58s} {'value':>12s} {'unit':4s} {'baseline':>12s} {'ratio':>9s} equal",
            flush=True,
        )
