"""``assetmap store …``: the persistent partner registry from the command line.

LOCATION is a GeoPackage path (default ``settings.store_location``) or a ``postgresql://`` URL.
``store edit`` exits 0 only once the edit is durable, 3 when ``--expect-version`` is stale.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import os
import sys
from pathlib import Path
from typing import Any

from assetmap._errors import AssetmapError, InputError

_EXAMPLES = """examples:
  assetmap store init                                   # var/assetmap.gpkg with the shipped data
  assetmap store init --store postgresql://me@127.0.0.1:5432/assetmap
  assetmap store import partners.xlsx --by ana
  assetmap store show --partner p-1a2b3c --json
  assetmap store edit --partner p-1a2b3c --set phone=860-555-0100 --expect-version 3 --by ana
  assetmap store edit --partner p-1a2b3c --verify --by ana
  assetmap store history --partner p-1a2b3c
  assetmap store diff --school 090111 --from 2026-01-15 --to 2026-06-01
  assetmap store stale --school 090111
  assetmap store export --out partners.gpkg
  assetmap store check
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "store",
        help="the persistent partner registry: init, import, edit, history, export, check",
        description="Work with the partner store (a GeoPackage file or a PostGIS database).",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--store",
        metavar="LOCATION",
        help="a .gpkg path or postgresql:// URL (default: settings store_location, var/assetmap.gpkg)",
    )
    common.add_argument("--json", action="store_true", help="print JSON")
    by = argparse.ArgumentParser(add_help=False)
    by.add_argument("--by", help="who makes the change (default: the login name)")
    cmds = p.add_subparsers(dest="store_command", metavar="ACTION", parser_class=type(p))

    c = cmds.add_parser(
        "init", parents=[common, by], help="create the store and load the shipped data"
    )
    c.add_argument("--empty", action="store_true", help="create the tables only")
    c.set_defaults(handler=_init)

    c = cmds.add_parser(
        "import",
        parents=[common, by],
        help="add or update partners (or schools/boundaries) from a file",
    )
    c.add_argument("file", help="CSV, XLSX, GeoJSON, GeoPackage, zipped shapefile or HSDS")
    c.add_argument("--kind", choices=("partners", "schools", "boundaries"), default="partners")
    c.add_argument(
        "--boundary-kind",
        default="district",
        help="for --kind boundaries: district, town, school_zone …",
    )
    c.add_argument("--layer", help="GeoPackage layer or shapefile in a zip")
    c.add_argument("--sheet", help="Excel sheet")
    c.set_defaults(handler=_import)

    c = cmds.add_parser(
        "export", parents=[common], help="write the partners to .gpkg, .geojson or .csv"
    )
    c.add_argument("--out", required=True, help="output file (.gpkg, .geojson or .csv)")
    c.add_argument("--include-retired", action="store_true")
    c.set_defaults(handler=_export)

    c = cmds.add_parser("history", parents=[common], help="the audit trail (of one partner)")
    c.add_argument("--partner", help="partner_id (default: every partner)")
    c.add_argument("--limit", type=int, help="at most this many entries (newest last)")
    c.set_defaults(handler=_history)

    c = cmds.add_parser(
        "diff", parents=[common], help="what changed in a school's network between two dates"
    )
    c.add_argument("--school", required=True)
    c.add_argument("--from", dest="date_from", required=True, help="YYYY-MM-DD of a saved network")
    c.add_argument("--to", dest="date_to", required=True, help="YYYY-MM-DD of a saved network")
    c.set_defaults(handler=_diff)

    c = cmds.add_parser("edit", parents=[common, by], help="change, verify or retire one partner")
    c.add_argument("--partner", required=True, help="partner_id")
    c.add_argument(
        "--set", action="append", default=[], metavar="FIELD=VALUE", help="repeatable; lists as a;b"
    )
    c.add_argument(
        "--expect-version",
        type=int,
        help="refuse (exit 3) unless the record is still at this version",
    )
    c.add_argument(
        "--verify", action="store_true", help="mark the record verified today (or --verified-on)"
    )
    c.add_argument("--verified-on", help="YYYY-MM-DD for --verify")
    c.add_argument("--retire", action="store_true", help="retire the partner (nothing is deleted)")
    c.add_argument("--note", help="why (kept in the audit trail)")
    c.set_defaults(handler=_edit)

    c = cmds.add_parser("show", parents=[common], help="one partner with its version")
    c.add_argument("--partner", required=True)
    c.set_defaults(handler=_show)

    c = cmds.add_parser(
        "stale", parents=[common], help="records not verified within stale_after_days"
    )
    c.add_argument("--school", help="only partners within reach of this school")
    c.add_argument("--reach-km", type=float, help="reach around the school (default: settings)")
    c.set_defaults(handler=_stale)

    c = cmds.add_parser("check", parents=[common], help="integrity check and audit replay")
    c.set_defaults(handler=_check)
    p.set_defaults(handler=lambda args: (p.print_help(), 2)[1])


def _open(args: argparse.Namespace) -> Any:
    from assetmap.store import open_store

    return open_store(args.store)


def _by(args: argparse.Namespace) -> str:
    if getattr(args, "by", None):
        return args.by
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "assetmap")


def _out(args: argparse.Namespace, obj: Any, text: str) -> None:
    sys.stdout.write(
        (json.dumps(obj, ensure_ascii=False, indent=2, default=str) if args.json else text) + "\n"
    )


def _init(args: argparse.Namespace) -> int:
    from assetmap.workspace import seed_shipped

    with _open(args) as store:
        loaded = {} if args.empty else seed_shipped(store, by=_by(args))
        counts = store.counts()
        text = f"store ready: {store.display_location}\n" + "\n".join(
            f"  {k}: {v}" for k, v in counts.items()
        )
        _out(args, {"store": store.display_location, "loaded": loaded, "counts": counts}, text)
    return 0


def _import(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.exists():
        raise InputError(
            f"{path}: no such file. Give the path of a partner file, e.g. partners.csv."
        )
    from assetmap.schema import load_file

    frame, report = load_file(str(path), kind=args.kind, layer=args.layer, sheet=args.sheet)
    for p in report.warnings[:20]:
        sys.stderr.write(f"warning: {p.describe()}\n")
    if report.errors:
        for p in report.errors[:20]:
            sys.stderr.write(f"error: {p.describe()}\n")
    if len(frame) == 0:
        raise InputError(f"{path}: no usable rows to import.", report=report)
    with _open(args) as store:
        by = _by(args)
        if args.kind == "partners":
            result: Any = store.upsert_partners(frame, by=by, note=f"import {path.name}")
        elif args.kind == "schools":
            result = {"schools": store.put_schools(frame, by=by)}
        else:
            result = {"boundaries": store.put_boundaries(frame, kind=args.boundary_kind, by=by)}
    summary = {"file": str(path), "rows_read": report.rows_read, "rows_loaded": report.rows_loaded,
               "errors": len(report.errors), "warnings": len(report.warnings), **result}  # fmt: skip
    _out(args, summary, ", ".join(f"{k}: {v}" for k, v in summary.items()))
    return 0


def _export(args: argparse.Namespace) -> int:
    from assetmap.model import lists_to_text

    out = Path(args.out)
    suffix = out.suffix.lower()
    if suffix not in (".gpkg", ".geojson", ".csv"):
        raise InputError(f"--out {out}: use a file ending in .gpkg, .geojson or .csv.")
    with _open(args) as store:
        gdf = store.partners(include_retired=args.include_retired)
    gdf = lists_to_text(gdf)
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        frame = gdf.drop(columns="geometry")
        frame.insert(
            len(frame.columns), "lat", [None if g is None else round(g.y, 6) for g in gdf.geometry]
        )
        frame.insert(
            len(frame.columns), "lon", [None if g is None else round(g.x, 6) for g in gdf.geometry]
        )
        from assetmap.export._tabular import write_csv

        write_csv(frame, out)  # the one spreadsheet guard every export uses
    else:
        import pyogrio

        if out.exists():
            out.unlink()
        pyogrio.write_dataframe(
            gdf, out, layer="partners", driver="GPKG" if suffix == ".gpkg" else "GeoJSON"
        )
    _out(args, {"out": str(out), "partners": len(gdf), "stale": int(gdf["stale"].sum())},
         f"wrote {len(gdf)} partners ({int(gdf['stale'].sum())} stale) to {out}")  # fmt: skip
    return 0


def _history(args: argparse.Namespace) -> int:
    with _open(args) as store:
        if args.partner:
            store.get_partner(args.partner)  # clear message for an unknown id
        h = store.history(args.partner)
    if args.limit:
        h = h.tail(args.limit)
    recs = h.to_dict("records")
    lines = [
        f"{r['at']}  v{r['version']}  {r['by']}  {r['partner_id']}  {r['action']}  {r['field']}: "
        f"{_short(r['before'])} -> {_short(r['after'])}"
        for r in recs
    ]
    _out(args, recs, "\n".join(lines) or "no audit entries")
    return 0


def _short(v: Any) -> str:
    s = json.dumps(v, ensure_ascii=False, default=str)
    return s if len(s) <= 80 else s[:77] + "..."


def _diff(args: argparse.Namespace) -> int:
    with _open(args) as store:
        d = store.network_diff(args.school, args.date_from, args.date_to)
    text = [f"school {d['school_id']}: {d['from']} -> {d['to']}"]
    for key in ("partners_added", "partners_removed", "needs_covered", "needs_uncovered"):
        text.append(f"  {key.replace('_', ' ')}: {', '.join(d[key]) or '-'}")
    for need, (a, b) in d["leads_changed"].items():
        text.append(f"  lead for {need}: {a or '-'} -> {b or '-'}")
    _out(args, d, "\n".join(text))
    return 0


def _parse_sets(items: list[str]) -> dict[str, str]:
    changes: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise InputError(f"--set {item!r}: write FIELD=VALUE, e.g. --set phone=860-555-0100.")
        k, v = item.split("=", 1)
        k = k.strip()
        if not k:
            raise InputError(f"--set {item!r}: the field name is empty.")
        changes[k] = v
    return changes


def _edit(args: argparse.Namespace) -> int:
    changes = _parse_sets(args.set)
    if not (changes or args.verify or args.retire):
        raise InputError("nothing to do: give --set FIELD=VALUE, --verify or --retire.")
    by = _by(args)
    expect = args.expect_version
    with _open(args) as store:
        version = None
        if changes:
            version = store.update_partner(
                args.partner, changes, by=by, expect_version=expect, note=args.note
            )
            expect = None if expect is None else version
        if args.verify:
            day = dt.date.fromisoformat(args.verified_on) if args.verified_on else None
            version = store.verify_partner(
                args.partner, by=by, at=day, expect_version=expect, note=args.note
            )
            expect = None if expect is None else version
        if args.retire:
            version = store.retire_partner(
                args.partner, by=by, expect_version=expect, note=args.note
            )
        rec = store.get_partner(args.partner)
    _out(args, rec, f"saved {args.partner}: now version {version}")
    return 0


def _show(args: argparse.Namespace) -> int:
    with _open(args) as store:
        rec = store.get_partner(args.partner)
    text = "\n".join(f"{k}: {';'.join(v) if isinstance(v, list) else v}" for k, v in rec.items())
    _out(args, rec, text)
    return 0


def _stale(args: argparse.Namespace) -> int:
    with _open(args) as store:
        gdf = store.stale_partners(school_id=args.school, reach_km=args.reach_km)
    cols = [
        c
        for c in ("partner_id", "name", "phone", "last_verified", "verified_by", "distance_km")
        if c in gdf.columns
    ]
    recs = [
        {k: (None if v != v else v) for k, v in r.items()} for r in gdf[cols].to_dict("records")
    ]
    lines = [
        f"{r['partner_id']}  {r['name']}  {r.get('phone') or '-'}  last verified {r['last_verified'] or 'never'}"
        + (f"  {r['distance_km']:.1f} km" if "distance_km" in r else "")
        for r in recs
    ]
    _out(args, recs, "\n".join(lines) or "no stale records")
    return 0


def _check(args: argparse.Namespace) -> int:
    try:
        with _open(args) as store:
            problems = store.integrity_check()
            counts = store.counts()
    except AssetmapError:
        raise
    _out(args, {"ok": not problems, "problems": problems, "counts": counts},
         ("ok: " if not problems else "PROBLEMS:\n  " + "\n  ".join(problems) + "\n")
         + ", ".join(f"{k} {v}" for k, v in counts.items()))  # fmt: skip
    return 0 if not problems else 1
