"""A quiet command line: a closed pipe ends silently (exit 141), the shipped demo survey does
not spam warnings (listed with --verbose), Dask logs only with --verbose. Real subprocesses
of ``python -m assetmap`` on the shipped data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _env() -> dict[str, str]:
    env = os.environ.copy()
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("DASK_LOGGING__DISTRIBUTED", None)
    return env


def _run(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "assetmap", *args],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=ROOT,
        timeout=timeout,
    )


def test_output_into_a_closed_pipe_ends_quietly():
    proc = subprocess.Popen(
        [sys.executable, "-m", "assetmap", "gaps", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
        cwd=ROOT,
    )
    assert proc.stdout.read(200)  # like `| head -c 200`: read a little, then close
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=240) == 141
    assert "BrokenPipe" not in err and "unexpected error" not in err and "Traceback" not in err


def test_shipped_survey_gives_one_note_only():
    # the workspace keeps the shipped survey as aggregated counts: no row warnings on every run
    for args in (("gaps",), ("--verbose", "gaps")):
        out = _run(*args, "--school", "0640611", "--json")
        assert out.returncode == 0, out.stderr
        lines = [x for x in out.stderr.splitlines() if x.strip()]
        assert lines == ["note: this survey is SYNTHETIC (demo data, not real families)"], lines


def test_a_given_survey_is_always_reported(tmp_path):
    survey = tmp_path / "survey.csv"
    survey.write_text(
        "response_id,school_id,home_language,needs\n"
        "r1,0640611,Creole,food\nr2,0640611,Spanish,xyzzy plugh\n",
        encoding="utf-8",
    )
    out = _run("gaps", "--school", "0640611", "--survey", str(survey), "--json")
    assert "warning:" in out.stderr and "xyzzy plugh" in out.stderr, out.stderr


@pytest.mark.slow
def test_dask_engine_logs_only_with_verbose():
    out = _run("gaps", "--engine", "dask", "--workers", "1", "--school", "0640611", "--json")
    assert out.returncode == 0, out.stderr
    assert "distributed" not in out.stderr and "INFO" not in out.stderr, out.stderr
    assert "already in use" not in out.stderr
