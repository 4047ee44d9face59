"""A quiet command line: a closed pipe ends silently (exit 141), the shipped demo survey does
not spam warnings (listed with --verbose), Dask logs only with --verbose. Real subprocesses
of ``python -m assetmap`` on the shipped data."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


_STORE = Path(tempfile.mkdtemp(prefix="assetmap-quiet-")) / "workspace.gpkg"


def _env() -> dict[str, str]:
    env = os.environ.copy()
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["ASSETMAP_STORE_URL"] = str(_STORE)  # a fresh workspace seeded with the shipped data
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


def test_shipped_survey_gives_one_note_and_verbose_lists_the_warnings():
    quiet = _run("gaps", "--school", "0640611", "--json")
    assert quiet.returncode == 0, quiet.stderr
    lines = [x for x in quiet.stderr.splitlines() if x.strip()]
    assert not [x for x in lines if x.startswith("warning:")], lines
    assert len(lines) == 1 and "SYNTHETIC" in lines[0], lines
    loud = _run("--verbose", "gaps", "--school", "0640611", "--json")
    assert loud.returncode == 0, loud.stderr
    if "--verbose lists them" in lines[0]:
        assert any(x.startswith("warning:") for x in loud.stderr.splitlines()), loud.stderr


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
