"""Child process for the store's crash and concurrency tests (run as a script, not collected).

``python tests/_store_worker.py edits LOCATION SIDEFILE CHILD SEED``
    Edit forever (add a partner, then bump a shared record's phone under optimistic
    concurrency, sometimes verify) and, only after each call has returned, append a line
    describing the committed edit to SIDEFILE. The parent kills it with SIGKILL at a random time.

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
    while True:
        i += 1
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
        _append(fd, f"add {pid}")
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
        if i % 3 == 0:
            v = store.verify_partner(pid, by=f"child{child}", at="2026-01-15")
            _append(fd, f"ver {pid} {v}")


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
    elif mode == "counter":
        counter(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        raise SystemExit(f"unknown mode {mode}")
