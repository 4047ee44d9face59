"""``assetmap roads import | info``: the street network behind travel times in minutes."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from assetmap._errors import InputError

_EXAMPLES = """examples:
  assetmap roads import connecticut-latest.osm.pbf        # next to var/assetmap.gpkg
  assetmap roads import town.osm --store var/pilot.gpkg
  assetmap roads info --json
  assetmap near --place 06106 --need food --mode walk --max-minutes 20
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "roads",
        help="import an OpenStreetMap extract for walking and driving times",
        description="Build walk and drive graphs from an OpenStreetMap extract (.osm.pbf or "
        ".osm) and keep them with the workspace: a store x.gpkg gets x.roads.npz beside it. "
        "Without an import, travel times are estimated from straight-line distance.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--store",
        metavar="LOCATION",
        help="the workspace's .gpkg path or postgresql:// URL (default: settings store_location)",
    )
    common.add_argument("--json", action="store_true", help="print JSON")
    cmds = p.add_subparsers(dest="roads_command", metavar="ACTION", parser_class=type(p))
    c = cmds.add_parser(
        "import", parents=[common], help="read an extract and save its walk and drive graphs"
    )
    c.add_argument("file", help="OpenStreetMap extract, e.g. connecticut-latest.osm.pbf")
    c.add_argument("--no-progress", action="store_true", help="no progress bar")
    c.set_defaults(handler=_import)
    c = cmds.add_parser("info", parents=[common], help="what network the workspace has")
    c.set_defaults(handler=_info)
    p.set_defaults(handler=lambda args: (p.print_help(), 2)[1])


def _location(args: argparse.Namespace) -> str:
    from assetmap.settings import get_settings

    return args.store or get_settings().store_location


def _import(args: argparse.Namespace) -> int:
    from assetmap.roads import import_osm, roads_path

    src = Path(args.file)
    if not src.is_file():
        raise InputError(
            f"{src}: no such file. Download a state extract (e.g. connecticut-latest.osm.pbf "
            "from an OpenStreetMap mirror such as Geofabrik) and give its path."
        )
    bar = None
    if not args.no_progress and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(desc=f"reading {src.name}", unit=" ways", unit_scale=True, file=sys.stderr)
    t0 = time.perf_counter()
    try:
        net = import_osm(src, progress=bar.update if bar else None)
    finally:
        if bar is not None:
            bar.close()
    out = net.save(roads_path(_location(args)))
    summary = {"file": str(src), "saved": str(out), **net.summary()}
    summary["seconds"] = round(time.perf_counter() - t0, 1)
    _print(args, summary)
    return 0


def _info(args: argparse.Namespace) -> int:
    from assetmap.roads import load_network, roads_path

    loc = _location(args)
    net = load_network(loc)
    if net is None:
        summary = {
            "saved": str(roads_path(loc)),
            "travel_time_basis": "estimated",
            "note": "no road network imported: travel times are estimated from straight-line "
            "distance (see config/roads.toml). Run: assetmap roads import FILE.osm.pbf",
        }
    else:
        summary = {"saved": str(roads_path(loc)), "travel_time_basis": "network", **net.summary()}
    _print(args, summary)
    return 0


def _print(args: argparse.Namespace, summary: dict) -> None:
    if args.json:
        json.dump(summary, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    else:
        for k, v in summary.items():
            print(f"{k}: {v}")
