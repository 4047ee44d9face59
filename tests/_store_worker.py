"""Child process for the store's crash and concurrency tests (run as a script, not collected).

``python tests/_store_worker.py edits LOCATION SIDEFILE CHILD SEED``
    Edit forever (add a partner, then bump a shared record's phone under optimistic
    concurrency, sometimes verify) and, only after each call has returned, append a line
    describing the committed edit to SIDEFILE. The parent kills it with SIGKILL at a random time.

``python tests/_store_worker.py zygote LOCATION TMPDIR``
    A fork server, so that 200 children do not each pay Python's start-up: reads commands on
    stdin — ``spawn I`` forks child I (which runs ``edits`` with side file TMPDIR/sideI.txt and
    stderr TMPDIR/errI.txt) and answers ``pid``; ``kill PID`` sends SIGKILL to that child,
    reaps it and answers ``killed PID SIGNAL EXITCODE``; ``poll PID`` answers ``running`` or
    ``exited PID SIGNAL EXITCODE``.

``python tests/_store_worker.py counter LOCATION WRITER N RECORDS``
    Make N increments of ``capacity`` on randomly chosen records (ids ``c0``…), each based on
    the version it read; a StaleVersionError means another writer got there first: re-read
    and retry. Prints one JSON line: landed edits and stale refusals.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from assetmap._errors import StaleVersionError  # noqa: E402
from assetmap.store import open_store  # noqa: E402


def _append(fd: int, line: str) -> None:
    os.write(fd, (line + "\n").encode("utf-8"))


def edits(location: str, sidefile: str, child: str, seed: int) -> None:
    rng = random.Random(seed)
    store = open_store(location)
    fd = os.open(sidefile, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    _append(fd, "started")
    i = 0
    mine: list[str] = []
    while True:
        i += 1
        op = rng.random()
        if op < 0.4 or (op >= 0.8 and not mine):
            pid = f"k{child}-{i}"
            store.add_partner(
                {
                    "partner_id": pid,
                    "name": f"Crash test {child}/{i}",
                    "services": "food",
                    "lat": 41.7,
                    "lon": -72.6,
                },
                by=f"child{child}",
            )
            mine.append(pid)
            _append(fd, f"add {pid}")
        elif op < 0.8:
            target = f"shared-{rng.randrange(5)}"
            token = f"{child}-{i}"
            while True:
                version = store.get_partner(target)["version"]
                try:
                    new = store.update_partner(
                        target, {"phone": token}, expect_version=version, by=f"child{child}"
                    )
                    break
                except StaleVersionError:
                    continue
            _append(fd, f"upd {target} {new} {token}")
        else:
            pid = rng.choice(mine)
            v = store.verify_partner(pid, by=f"child{child}", at="2026-01-15")
            _append(fd, f"ver {pid} {v}")


def zygote(location: str, tmpdir: str) -> None:
    import signal

    from assetmap.settings import get_settings
    from assetmap.store import is_postgis_url

    get_settings()  # read the settings once, before forking
    if is_postgis_url(location):
        import psycopg  # noqa: F401 - imported once here instead of in every child

        import assetmap.store._postgis  # noqa: F401
    else:
        import assetmap.store._gpkg  # noqa: F401
    out = sys.stdout
    for line in sys.stdin:
        cmd, arg = line.split()
        if cmd == "spawn":
            i = int(arg)
            pid = os.fork()
            if pid == 0:  # the child: never returns into this loop
                code = 1
                try:
                    devnull = os.open(os.devnull, os.O_WRONLY)
                    err = os.open(
                        os.path.join(tmpdir, f"err{i}.txt"),
                        os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                        0o644,
                    )
                    os.dup2(devnull, 1)
                    os.dup2(err, 2)
                    signal.signal(signal.SIGINT, signal.SIG_DFL)
                    edits(location, os.path.join(tmpdir, f"side{i}.txt"), str(i), i)
                except BaseException:
                    import traceback

                    traceback.print_exc()
                finally:
                    os._exit(code)
            out.write(f"{pid}\n")
        elif cmd == "kill":
            pid = int(arg)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            _, status = os.waitpid(pid, 0)
            out.write(
                f"killed {pid} {os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0} "
                f"{os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1}\n"
            )
        elif cmd == "poll":
            pid = int(arg)
            done, status = os.waitpid(pid, os.WNOHANG)
            if done == 0:
                out.write("running\n")
            else:
                out.write(
                    f"exited {pid} {os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0} "
                    f"{os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1}\n"
                )
        out.flush()


def counter(location: str, writer: str, n: int, records: int) -> None:
    rng = random.Random(writer)
    store = open_store(location)
    stale = 0
    t0 = time.perf_counter()
    for _ in range(n):
        pid = f"c{rng.randrange(records)}"
        while True:
            rec = store.get_partner(pid)
            try:
                store.update_partner(
                    pid,
                    {"capacity": (rec["capacity"] or 0) + 1},
                    expect_version=rec["version"],
                    by=f"writer{writer}",
                )
                break
            except StaleVersionError:
                stale += 1
    store.close()
    sys.stdout.write(
        json.dumps(
            {"writer": writer, "landed": n, "stale": stale, "seconds": time.perf_counter() - t0}
        )
        + "\n"
    )


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "edits":
        edits(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    elif mode == "zygote":
        zygote(sys.argv[2], sys.argv[3])
    elif mode == "counter":
        counter(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        raise SystemExit(f"unknown mode {mode}")
