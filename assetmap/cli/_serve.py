"""``assetmap serve``: start the Streamlit app on the shipped data.

First run: when no staff account exists yet and the app listens on a loopback address (this
machine only), an ``admin`` account with a random password is added to
``.streamlit/secrets.toml`` (hash only) and the password is printed once. On any other
address nothing is created: a public first-run password would be a race anyone could win.
A port already in use stops with exit code 2 and a message (no traceback).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
from pathlib import Path

from assetmap._errors import InputError
from assetmap.auth import first_run_admin, is_loopback
from assetmap.settings import project_root


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="start the app (Streamlit) on the shipped Connecticut data",
        description=(
            "Start the app. On the first run on this machine's loopback address an 'admin' "
            "account with a random password is created and the password printed once."
        ),
    )
    p.add_argument("--port", type=int, default=8501)
    p.add_argument(
        "--address",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 for all)",
    )
    p.add_argument("--headless", action="store_true", help="do not open a browser")
    p.set_defaults(handler=_serve)


def secrets_path() -> Path:
    """The secrets file the app reads: ``ASSETMAP_SECRETS_FILE`` or the project's
    ``.streamlit/secrets.toml``."""
    env = os.environ.get("ASSETMAP_SECRETS_FILE")
    return Path(env).expanduser() if env else project_root() / ".streamlit" / "secrets.toml"


def port_free(address: str, port: int) -> bool:
    """True when ``address:port`` can be bound now (nothing else is listening there)."""
    host = "127.0.0.1" if address in ("", "localhost") else address
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _first_run(address: str) -> None:
    path = secrets_path()
    if not is_loopback(address):
        return
    password = first_run_admin(path)
    if password is None:
        return
    print(
        "\nFirst run: no staff account existed, so one was created.\n"
        f"  Username: admin\n  Password: {password}\n"
        "This password is shown only this once (only its hash is stored in "
        f"{path}). Sign in under 'Staff sign in'; add more accounts in that file "
        "(see .streamlit/secrets.toml.example).\n",
        flush=True,
    )


def _prepare_workspace() -> None:
    """Open (and on a first start seed) the workspace before the app starts, so seeding —
    which reads the survey to keep its aggregated profile — never runs inside a family's
    request on Find help."""
    from assetmap.workspace import Workspace

    with Workspace.open():
        pass


def _serve(args: argparse.Namespace) -> int:
    if not 0 < args.port < 65536:
        raise InputError(f"--port {args.port}: use a port number between 1 and 65535")
    if not port_free(args.address, args.port):
        raise InputError(
            f"port {args.port} on {args.address} is already in use (another app or an "
            f"assetmap already running?). Stop it or choose another: assetmap serve --port "
            f"{args.port + 1}"
        )
    _first_run(args.address)
    _prepare_workspace()
    if not is_loopback(args.address):
        print(
            f"note: listening on {args.address} (reachable from other machines); no first-run "
            "account is created on a non-loopback address.",
            file=sys.stderr,
        )
    app = project_root() / "app.py"
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.port", str(args.port),
        "--server.address", args.address,
    ]  # fmt: skip
    if os.environ.get("ASSETMAP_SECRETS_FILE"):
        cmd += ["--secrets.files", str(secrets_path())]
    if args.headless:
        cmd += ["--server.headless", "true"]
    try:
        return subprocess.call(cmd, cwd=str(project_root()), env=os.environ.copy())
    except KeyboardInterrupt:
        return 0
