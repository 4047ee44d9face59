"""The ``assetmap`` command line: a thin layer over the library.

Subcommands live in sibling modules, each exposing ``register(subparsers)``; a handler returns
the exit code. Exit codes: 0 success, 2 bad input (message, no traceback), 3 stale edit,
1 unexpected failure (short message; set ASSETMAP_DEBUG=1 for the traceback), 130 interrupted,
141 the reader of the output went away (``assetmap gaps --json | head``; nothing is printed).
Library and Dask log records reach the terminal only with ``--verbose``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from assetmap import __version__
from assetmap._errors import AssetmapError, InputError, StaleVersionError

__all__ = ["main", "build_parser"]

_COMMAND_MODULES = (
    "_core",
    "_validate",
    "_analysis",
    "_geocode",
    "_store",
    "_serve",
    "_framework",
    "_roads",
    "_init",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # exit 2 with an example, never a traceback
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\nRun '{self.prog} --help' for examples.\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="assetmap",
        description="Map community partners for schools: load, match, find gaps, export networks.",
    )
    parser.add_argument("--version", action="version", version=f"assetmap {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(f"assetmap.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"assetmap.cli.{name}":
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    # dask.distributed sets its own logger levels from its config when imported (INFO lines
    # about the scheduler and every worker): quiet unless --verbose or configured otherwise.
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "info" if args.verbose else "warning")
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except StaleVersionError as exc:
        sys.stderr.write(f"assetmap: {exc}\n")
        return 3
    except InputError as exc:
        sys.stderr.write(f"assetmap: {exc}\n")
        if exc.report is not None:
            for p in exc.report.errors[:20]:
                sys.stderr.write(f"  - {p.describe()}\n")
        return 2
    except AssetmapError as exc:
        sys.stderr.write(f"assetmap: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("assetmap: interrupted\n")
        return 130
    except BrokenPipeError:
        return _closed_pipe()
    except Exception as exc:  # last line of defence: no traceback for users
        if os.environ.get("ASSETMAP_DEBUG"):
            raise
        sys.stderr.write(
            f"assetmap: unexpected error: {type(exc).__name__}: {exc}\n"
            "Set ASSETMAP_DEBUG=1 to see the details, and please report it.\n"
        )
        return 1


def _closed_pipe() -> int:
    """The reader of stdout went away (``| head``): stop quietly. Later flushes of the dead
    stdout (at interpreter exit) go to /dev/null instead of printing a second error."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout without a file descriptor (tests, embedding)
        pass
    return 141


if __name__ == "__main__":
    raise SystemExit(main())
