"""Run the benchmarks.

python -m benchmarks quick   # statewide sizes only, JSON lines
python -m benchmarks all     # everything, as a table

Every line: name, value, unit, baseline (the named approach compared against),
baseline_value, ratio (baseline / ours) and equal (both gave the same answer). The run exits
1 when any comparison found different answers.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from benchmarks._harness import emit, header

QUICK = ["bench_index:run_quick", "bench_analysis_suite:run_quick"]
ALL = [
    "bench_index:run_all",
    "bench_analysis_suite:run_all",
    "bench_national:run_all",
    "bench_dask:run_all",
    "bench_browser:run_all",
    "bench_app:run_all",
    "bench_roads:run_all",
]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks")
    p.add_argument("mode", choices=["quick", "all"])
    p.add_argument("--table", action="store_true", help="print a table even in quick mode")
    p.add_argument("--json", action="store_true", help="print JSON lines even in all mode")
    args = p.parse_args(argv)
    json_lines = (args.mode == "quick" and not args.table) or args.json
    header(json_lines)
    unequal: list[str] = []
    for spec in QUICK if args.mode == "quick" else ALL:
        mod_name, fn_name = spec.split(":")
        try:
            mod = importlib.import_module(f"benchmarks.{mod_name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"benchmarks.{mod_name}":
                continue
            raise
        for result in getattr(mod, fn_name)():
            emit(result, json_lines=json_lines)
            if result.equal is False:
                unequal.append(result.name)
    if unequal:
        print(
            f"benchmarks FAILED: different answers from the baseline in {', '.join(unequal)}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
