"""``assetmap init``: build a workspace for any US region from a district's own files."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys

EXAMPLES = """examples:
  assetmap init --store fl.gpkg --schools schools.csv --boundaries districts.geojson \\
      --partners libraries.csv --survey survey.csv --region-name "Miami-Dade"
  assetmap init --store fl.gpkg --state FL --schools schools.csv   # national layers fill in
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "init",
        help="build a workspace for any US region from your school list and boundaries",
        description="Build a new workspace (a GeoPackage file or PostGIS database) from a "
        "school list and district polygons in any layout assetmap reads (CSV, Excel, GeoJSON, "
        "GeoPackage, zipped shapefile). With --state the shipped national layers add that "
        "state's hospitals, colleges and public library systems as partners, and its NCES "
        "district polygons when --boundaries is not given. Schools without a district id are "
        "joined to the polygon that contains them. Every US ZIP code can be searched.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--store", required=True, metavar="LOCATION", help="new .gpkg file or postgresql:// URL"
    )
    p.add_argument("--schools", required=True, help="public school list (points or lat/lon)")
    p.add_argument("--boundaries", help="school district polygons")
    p.add_argument("--towns", help="town / city polygons (optional; named places for search)")
    p.add_argument("--zones", help="attendance zones (optional; with a school id per zone)")
    p.add_argument("--partners", action="append", default=[], help="partner file (repeatable)")
    p.add_argument("--survey", help="family survey (kept only as aggregated counts; staff only)")
    p.add_argument("--state", help="two-letter state: national partners (and districts) for it")
    p.add_argument("--region-name", help='name shown in the app, e.g. "Miami-Dade County"')
    p.add_argument("--by", help="who builds it (audit log; default: your login name)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(handler=_init)


def _by(args: argparse.Namespace) -> str:
    if args.by:
        return args.by
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "assetmap")


def _init(args: argparse.Namespace) -> int:
    from assetmap.workspace import build_workspace

    ws, summary = build_workspace(
        args.store,
        schools=args.schools,
        boundaries=args.boundaries,
        towns=args.towns,
        zones=args.zones,
        partners=args.partners,
        survey=args.survey,
        state=args.state,
        region_name=args.region_name,
        by=_by(args),
    )
    try:
        for w in summary["warnings"][:20]:
            sys.stderr.write(f"warning: {w}\n")
        if args.json:
            out = {k: v for k, v in summary.items() if k != "warnings"}
            out["store"] = ws.location
            json.dump(out, sys.stdout, indent=1)
            sys.stdout.write("\n")
        else:
            print(f"workspace ready: {ws.location} ({summary['region_name']})")
            for k in ("schools", "districts", "towns", "zones", "partners", "surveyed_schools"):
                if k in summary:
                    print(f"  {k}: {summary[k]}")
            if summary.get("unmatched_schools"):
                print(f"  schools outside every district polygon: {summary['unmatched_schools']}")
    finally:
        ws.close()
    return 0
