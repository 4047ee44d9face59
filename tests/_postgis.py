"""A real PostgreSQL + PostGIS server for the store tests, on 127.0.0.1.

``ASSETMAP_TEST_POSTGIS_URL`` (a ``postgresql://`` URL of a database where the test user may
``CREATE EXTENSION postgis`` and create tables) is used when set. Otherwise a throw-away
cluster is made with the Debian binaries (``initdb`` into a temporary folder, ``pg_ctl start``
on a free port, run as the ``postgres`` user when the tests run as root) and stopped at the end.

There is no skip: when no server can be had, :func:`start_postgis` raises with the reason and
the fix, and every PostGIS test fails.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["PostgisServer", "start_postgis", "shared_server", "release"]

_SHARED: list[PostgisServer] = []
_LEAVE: list = []

_FIX = (
    "Install the Debian packages with `bash scripts/install_system_deps.sh` "
    "(postgresql, postgresql-15-postgis-3), or set ASSETMAP_TEST_POSTGIS_URL to a PostGIS database."
)


@dataclass
class PostgisServer:
    """A running server: ``url`` of a fresh database; ``new_database()`` for another one."""

    url: str
    admin_url: str
    datadir: Path | None = None
    bindir: Path | None = None
    run_as: str | None = None
    _dbs: list[str] = field(default_factory=list)
    _template: str = ""

    def new_database(self) -> str:
        """Create a fresh database with PostGIS (copied from a template) and return its URL."""
        import psycopg

        base = self.admin_url.rsplit("/", 1)[0]
        if not self._template:
            name = f"assetmap_tmpl_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            with psycopg.connect(f"{base}/{name}", autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            self._template = name
        name = f"assetmap_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self._template}"')
        self._dbs.append(name)
        return f"{base}/{name}"

    def new_schema(self) -> str:
        """A URL whose tables land in a fresh schema of the main database (fast isolation)."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{name}"')
        sep = "&" if "?" in self.url else "?"
        return f"{self.url}{sep}options=-csearch_path%3D{name}%2Cpublic"

    def stop(self) -> None:
        """Stop the cluster this module started (an external server is left alone)."""
        if self.datadir is None:
            return
        cmd = [
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.datadir),
            "-m",
            "immediate",
            "-w",
            "stop",
        ]
        subprocess.run(_as_user(cmd, self.run_as), capture_output=True, timeout=60)
        shutil.rmtree(self.datadir.parent, ignore_errors=True)


def _as_user(cmd: list[str], user: str | None) -> list[str]:
    if not user:
        return cmd
    runuser = shutil.which("runuser") or "/usr/sbin/runuser"
    return [runuser, "-u", user, "--", *cmd]


def _bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    if found:
        return Path(found[0]).parent
    which = shutil.which("pg_ctl")
    if which:
        return Path(which).parent
    raise RuntimeError(
        f"PostGIS tests cannot run: no PostgreSQL server binaries (pg_ctl) found. {_FIX}"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_postgis() -> PostgisServer:
    """Return a server (external URL or a fresh local cluster); raise ``RuntimeError`` if impossible."""
    external = os.environ.get("ASSETMAP_TEST_POSTGIS_URL")
    if external:
        server = PostgisServer(url=external, admin_url=external)
        import psycopg

        try:
            with psycopg.connect(external, autocommit=True, connect_timeout=10) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        except Exception as exc:
            raise RuntimeError(
                f"ASSETMAP_TEST_POSTGIS_URL={external!r} is not usable: {exc}"
            ) from exc
        return server
    bindir = _bindir()
    if not glob.glob("/usr/share/postgresql/*/extension/postgis.control"):
        raise RuntimeError(
            f"PostGIS tests cannot run: the postgis extension is not installed. {_FIX}"
        )
    run_as = None
    root = Path(tempfile.mkdtemp(prefix="assetmap-pg-"))
    datadir = root / "data"
    if os.geteuid() == 0:  # initdb/postgres refuse to run as root
        run_as = "postgres"
        pw = pwd.getpwnam(run_as)
        os.chown(root, pw.pw_uid, pw.pw_gid)
    port = _free_port()
    init = [str(bindir / "initdb"), "-D", str(datadir), "-A", "trust", "-U", "postgres",
            "-E", "UTF8", "--no-sync"]  # fmt: skip
    res = subprocess.run(_as_user(init, run_as), capture_output=True, text=True, timeout=120)
    if res.returncode != 0:
        raise RuntimeError(f"PostGIS tests cannot run: initdb failed: {res.stderr.strip()} {_FIX}")
    opts = (
        f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={root} "
        "-c fsync=on -c synchronous_commit=on -c max_connections=60 -c shared_buffers=32MB"
    )
    start = [str(bindir / "pg_ctl"), "-D", str(datadir), "-o", opts, "-l", str(root / "server.log"),
             "-w", "-t", "60", "start"]  # fmt: skip
    res = subprocess.run(_as_user(start, run_as), capture_output=True, text=True, timeout=90)
    if res.returncode != 0:
        log = (
            (root / "server.log").read_text(errors="replace")[-2000:]
            if (root / "server.log").exists()
            else ""
        )
        raise RuntimeError(
            f"PostGIS tests cannot run: pg_ctl start failed: {res.stderr.strip()}\n{log}"
        )
    admin = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    server = PostgisServer(url="", admin_url=admin, datadir=datadir, bindir=bindir, run_as=run_as)
    deadline = time.monotonic() + 30
    while True:
        try:
            server.url = server.new_database()
            break
        except Exception as exc:
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(
                    f"PostGIS tests cannot run: server did not accept connections: {exc}"
                ) from exc
            time.sleep(0.3)
    return server


def shared_server() -> PostgisServer:
    """One server for the whole test run (started on first use, stopped by the last user).

    pytest-xdist workers of one run (``PYTEST_XDIST_TESTRUNUID``) share the server through a
    small JSON file guarded by a file lock, with a count of attached processes; the last
    process to leave stops it. A plain (non-xdist) run starts its own and stops it at exit.
    """
    if _SHARED:
        return _SHARED[0]
    import atexit
    import fcntl
    import json

    uid = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if not uid or os.environ.get("ASSETMAP_TEST_POSTGIS_URL"):
        server = start_postgis()
        _SHARED.append(server)
        _LEAVE.append(server.stop)
        atexit.register(release)
        return server
    base = Path(tempfile.gettempdir()) / f"assetmap-pg-run-{uid}"
    lockfd = os.open(str(base) + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    info_path = Path(str(base) + ".json")
    fcntl.flock(lockfd, fcntl.LOCK_EX)
    try:
        info = json.loads(info_path.read_text()) if info_path.exists() else None
        if info is None:
            server = start_postgis()
            info = {"url": server.url, "admin_url": server.admin_url, "datadir": str(server.datadir),
                    "bindir": str(server.bindir), "run_as": server.run_as, "template": server._template,
                    "users": 0}  # fmt: skip
        else:
            server = PostgisServer(url=info["url"], admin_url=info["admin_url"], datadir=Path(info["datadir"]),
                                   bindir=Path(info["bindir"]), run_as=info["run_as"], _template=info["template"])  # fmt: skip
        info["users"] += 1
        info_path.write_text(json.dumps(info))
    finally:
        fcntl.flock(lockfd, fcntl.LOCK_UN)

    def leave() -> None:
        fcntl.flock(lockfd, fcntl.LOCK_EX)
        try:
            data = json.loads(info_path.read_text())
            data["users"] -= 1
            if data["users"] <= 0:
                info_path.unlink()
                server.stop()
                Path(str(base) + ".lock").unlink(missing_ok=True)
            else:
                info_path.write_text(json.dumps(data))
        finally:
            fcntl.flock(lockfd, fcntl.LOCK_UN)
            os.close(lockfd)

    _SHARED.append(server)
    _LEAVE.append(leave)
    atexit.register(release)
    return server


def release() -> None:
    """Detach this process from the shared server (the last one stops it); safe to call twice."""
    while _LEAVE:
        _LEAVE.pop()()
