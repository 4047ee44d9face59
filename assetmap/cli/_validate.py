"""``assetmap validate``: load a file as partners, boundaries, schools or survey and report
every problem (file, row, column, value, message, hint). Exit 0 when rows load, 2 when not."""

from __future__ import annotations

import argparse
import json
import sys

from assetmap._errors import InputError
from assetmap.report import ValidationReport

_EXAMPLES = """examples:
  assetmap validate partners.csv
  assetmap validate districts.zip --kind boundaries --layer districts
  assetmap validate sites.xlsx --sheet "Partners 2024" --json
  assetmap validate stateplane.csv --crs EPSG:2234
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate",
        help="check a partner/boundary/school/survey file and list its problems",
        description="Load a file the way the app does and report every problem by row and column. "
        "Exit code 0 when the file loads (warnings allowed), 2 when nothing usable loads.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "path", help="CSV, XLSX, GeoJSON, GeoPackage, zipped shapefile, or HSDS JSON/folder/zip"
    )
    p.add_argument(
        "--kind",
        choices=("partners", "boundaries", "schools", "survey"),
        default="partners",
        help="what the file holds (default: partners)",
    )
    p.add_argument(
        "--sheet", help="Excel sheet name or 0-based number (default: first sheet with data)"
    )
    p.add_argument("--layer", help="GeoPackage layer or shapefile in a zip (default: the first)")
    p.add_argument("--crs", help="CRS of coordinates when the file gives none, e.g. EPSG:2234")
    p.add_argument("--json", action="store_true", help="print one JSON object (the report)")
    p.add_argument(
        "--store",
        metavar="LOCATION",
        help="workspace whose schools a survey is checked against (default var/assetmap.gpkg)",
    )
    p.set_defaults(handler=_validate)


def _explained(report: ValidationReport) -> dict:
    """What the reader decided: the layout, each field's source column, category counts."""
    mapping = [
        {k: m[k] for k in ("field", "column", "confidence")}
        for m in report.notes.get("mapping", [])
    ]
    out: dict = {"mapping": mapping}
    for key in ("layout", "categories", "category_other"):
        if key in report.notes:
            out[key] = report.notes[key]
    return out


def _validate(args: argparse.Namespace) -> int:
    from assetmap.io._common import display_name
    from assetmap.schema import load_file

    try:
        extra = {}
        if args.kind == "survey":  # survey rows name schools: the workspace's
            from assetmap.workspace import Workspace

            with Workspace.open(args.store) as ws:
                extra["schools"] = ws.schools()
        _frame, report = load_file(
            args.path, kind=args.kind, sheet=args.sheet, layer=args.layer, crs=args.crs, **extra
        )
    except InputError as exc:
        if not args.json:
            raise
        report = exc.report or ValidationReport(file=display_name(args.path), kind=args.kind)
        report.kind = args.kind
        report.add(str(exc), hint="fix the file and run 'assetmap validate' again")
    explain = _explained(report)
    if args.json:
        doc = report.to_dict() | explain
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2, default=str) + "\n")
    else:
        out = sys.stdout
        out.write(report.summary() + "\n")
        if explain.get("layout"):
            out.write(f"  layout: {explain['layout']}\n")
        for m in explain["mapping"]:
            out.write(f"  mapping: {m['field']} <- {m['column']!r} ({m['confidence']:.2f})\n")
        if explain.get("categories"):
            cats = ", ".join(f"{k} {v}" for k, v in explain["categories"].items())
            out.write(f"  categories: {cats}\n")
        for p in report.errors:
            out.write(f"  error: {p.describe()}\n")
        for p in report.warnings:
            out.write(f"  warning: {p.describe()}\n")
    if report.rows_loaded == 0:
        if not args.json:
            sys.stderr.write(f"assetmap: nothing usable loaded from {report.file or args.path}\n")
        return 2
    return 0
