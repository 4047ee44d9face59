"""App speed: server time of a re-render after a filter change, on the shipped data.

Each page runs headless through Streamlit's AppTest; after a warm-up (caches filled), a
filter is changed and the script re-run; the router records the script's own time in
``st.session_state["_render_ms"]`` (``ui.widgets.render_timer``). Target (issue 4): under
300 ms per filter change. ``python -m benchmarks.bench_app`` prints the figures and exits 1
when a median is over the target.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable
from pathlib import Path

from benchmarks._harness import Result, emit, header

ROOT = Path(__file__).resolve().parents[1]
TARGET_MS = 300.0
ROUNDS = 5


def _app():
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)


def _hartford_school() -> tuple[str, str]:
    import pandas as pd

    from assetmap.data import load_schools, survey_path

    sch = load_schools()
    surveyed = set(pd.read_csv(survey_path(), dtype=str, usecols=["school_id"])["school_id"])
    hf = sch[(sch["town"].astype(str) == "Hartford") & sch["school_id"].isin(surveyed)]
    row = hf.sort_values("name").iloc[0]
    return str(row["school_id"]), str(row["district_id"])


def _measure(at, changes: list[Callable[[], None]]) -> list[float]:
    out = []
    for i in range(ROUNDS * len(changes)):
        changes[i % len(changes)]()
        at.run()
        if at.exception:
            raise RuntimeError(f"page raised: {at.exception[0].message}")
        out.append(float(at.session_state["_render_ms"]))
    return out


def bench_find_help() -> list[float]:
    at = _app()
    at.run()
    at.text_input(key="find_place").set_value("06106")
    at.run()
    needs = ["food", "housing", "health", "all"]

    def setter(n: str) -> Callable[[], None]:
        return lambda: at.session_state.__setitem__("find_need", n)

    return _measure(at, [setter(n) for n in needs])


def _staff(role: str, page: str, **scope):
    from assetmap.auth import Principal

    at = _app()
    at.session_state["principal"] = Principal(f"bench-{role}", role, **scope)
    at.run()
    at.switch_page(page)
    at.run()
    return at


def bench_school_partners() -> list[float]:
    sid, _ = _hartford_school()
    at = _staff("coordinator", "views/school_partners.py", schools=frozenset({sid}))
    needs = ["food", "housing", "any", "health"]

    def setter(n: str) -> Callable[[], None]:
        return lambda: at.selectbox(key="sp_need").set_value(n)

    return _measure(at, [setter(n) for n in needs])


def bench_district_map() -> list[float]:
    _, did = _hartford_school()
    at = _staff("leader", "views/district_map.py", districts=frozenset({did}))
    at.selectbox(key="dm_district").set_value(did)
    at.run()
    needs = ["food", "housing", "health"]

    def set_need(n: str) -> Callable[[], None]:
        return lambda: at.selectbox(key="dm_need").set_value(n)

    def set_lang(i: int) -> Callable[[], None]:
        return lambda: at.selectbox(key="dm_language").select_index(i)

    changes = [set_need(n) for n in needs] + [set_lang(i) for i in (1, 2, 0)]
    return _measure(at, changes)


BENCHES = {
    "app.find_help.filter_change": bench_find_help,
    "app.school_partners.filter_change": bench_school_partners,
    "app.district_map.filter_change": bench_district_map,
}


def _temp_registry() -> None:
    """Run against a registry in a temporary folder: never touch the app's own store."""
    import os
    import tempfile

    from assetmap.settings import get_settings

    if "ASSETMAP_STORE_URL" not in os.environ:
        os.environ["ASSETMAP_STORE_URL"] = str(Path(tempfile.mkdtemp()) / "bench.gpkg")
        get_settings.cache_clear()


def run() -> list[Result]:
    _temp_registry()
    results = []
    for name, fn in BENCHES.items():
        times = fn()
        med = statistics.median(times)
        results.append(
            Result(
                f"{name} (median of {len(times)}, server ms)",
                med,
                "ms",
                TARGET_MS,
                note=f"max {max(times):.0f} ms; baseline = the {TARGET_MS:.0f} ms target",
            )
        )
    return results


def run_quick() -> list[Result]:
    return run()


def run_all() -> list[Result]:
    return run()


def main() -> int:
    header(False)
    results = run()
    for r in results:
        emit(r, json_lines=False)
    slow = [r for r in results if r.value >= TARGET_MS]
    for r in slow:
        print(f"OVER TARGET: {r.name}: {r.value:.0f} ms >= {TARGET_MS:.0f} ms", file=sys.stderr)
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
