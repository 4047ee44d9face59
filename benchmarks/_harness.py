"""Tiny harness: timed runs, results with baselines, a table and JSON lines."""

from __future__ import annotations

import json
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass
class Result:
    """One measurement; ``ratio`` = baseline / ours (higher is better for time)."""

    name: str
    value: float
    unit: str
    baseline_value: float | None = None
    note: str = ""

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


def emit(result: Result, *, json_lines: bool) -> None:
    """Print one result now (JSON line on stdout, or a table row)."""
    if json_lines:
        print(json.dumps(result.to_json()), flush=True)
    else:
        r = result.ratio
        base = "" if result.baseline_value is None else f"{result.baseline_value:12.4f}"
        ratio = "" if r is None else f"{r:8.1f}x"
        print(
            f"{result.name:58s} {result.value:12.4f} {result.unit:4s} {base:>12s} {ratio:>9s}  {result.note}",
            flush=True,
        )


def header(json_lines: bool) -> None:
    if not json_lines:
        print(
            f"# assetmap benchmarks — {platform.platform()}, Python {sys.version.split()[0]}",
            flush=True,
        )
        print(
            f"{'name':58s} {'value':>12s} {'unit':4s} {'baseline':>12s} {'ratio':>9s}", flush=True
        )
