"""``assetmap serve``: start the Streamlit app on the shipped data."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from assetmap.settings import project_root


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="start the app (Streamlit) on the shipped Connecticut data")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--headless", action="store_true", help="do not open a browser")
    p.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    app = project_root() / "app.py"
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(args.port)]
    if args.headless:
        cmd += ["--server.headless", "true"]
    return subprocess.call(cmd, cwd=str(project_root()), env=os.environ.copy())
