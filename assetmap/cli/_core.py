"""``assetmap near``: partners near a point, school, town or ZIP."""

from __future__ import annotations

import argparse
import json
import sys

from assetmap._errors import InputError
from assetmap._fresh import source_stale_flags
from assetmap.model import is_example, partners_to_records
from assetmap.units import distance_text, placement_label

JSON_FIELDS = (
    "partner_id",
    "name",
    "category",
    "services",
    "services_inferred",
    "languages",
    "address",
    "city",
    "postal_code",
    "phone",
    "hours",
    "lat",
    "lon",
    "distance_km",
    "distance",
    "service_inferred",
    "geocode_quality",
    "placement",
    "as_of",
    "example",
    "source",
)
TRAVEL_FIELDS = ("travel_minutes", "mode", "travel_time_basis")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "near",
        help="partners near a point, school, town or ZIP",
        description="Partners near an origin, nearest first. Example: "
        "assetmap near --place 06106 --need food --language es --radius-km 3",
    )
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--lat", type=float, help="latitude (with --lon)")
    where.add_argument("--school", help="school id or name")
    where.add_argument("--place", help="town, village or ZIP code (any US ZIP)")
    p.add_argument("--lon", type=float, help="longitude (with --lat)")
    p.add_argument(
        "--need", action="append", default=[], help="need/service code or name (repeatable)"
    )
    p.add_argument("--category", action="append", default=[], help="partner category (repeatable)")
    p.add_argument(
        "--language", action="append", default=[], help="language code or name (repeatable)"
    )
    p.add_argument("--radius-km", type=float, help="every match within this distance")
    p.add_argument("--limit", type=int, help="at most this many (default 10 without --radius-km)")
    p.add_argument(
        "--mode",
        choices=("walk", "drive"),
        help="rank by travel minutes walking or driving (network from 'assetmap roads import'; "
        "without one, estimated from straight-line distance)",
    )
    p.add_argument("--max-minutes", type=float, help="every match within this many minutes")
    store_arg(p)
    p.add_argument("--partners", help="a partner file instead of the workspace's partners")
    p.add_argument(
        "--staff",
        action="store_true",
        help="staff view of the workspace: include unpublished records and sensitive locations",
    )
    p.add_argument(
        "--open",
        action="append",
        default=[],
        choices=("evening", "weekend", "summer"),
        help="only partners open then, by their hours or a program they run (repeatable)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_near)


def store_arg(p: argparse.ArgumentParser) -> None:
    """Add ``--store LOCATION`` (the workspace every command reads)."""
    p.add_argument(
        "--store",
        metavar="LOCATION",
        help="workspace: a GeoPackage file (.gpkg) or postgresql:// URL (default "
        "var/assetmap.gpkg, seeded with the shipped Connecticut data; ASSETMAP_STORE_URL "
        "overrides the default)",
    )


def open_workspace(args: argparse.Namespace):
    """The workspace named by ``--store`` (or the default one)."""
    from assetmap.workspace import Workspace

    return Workspace.open(getattr(args, "store", None))


def _load_index(path: str | None, workspace=None, *, public: bool = False):
    """The workspace's index (public view unless ``public=False``) or one over a partner file."""
    from assetmap.index import PartnerIndex

    if not path:
        return workspace.index(public=public)
    from assetmap.schema import load_file

    gdf, report = load_file(path, kind="partners")
    for w in report.warnings[:10]:
        sys.stderr.write(f"warning: {w.describe()}\n")
    if not report.ok:
        raise InputError(f"{path}: no usable partner rows", report=report)
    return PartnerIndex.build(gdf)


def _near(args: argparse.Namespace) -> int:
    from assetmap.near import near

    if (args.lat is None) != (args.lon is None):
        raise InputError("give both --lat and --lon (e.g. --lat 41.7637 --lon -72.6851)")
    # a partner file with a point origin needs no workspace (e.g. a road network's --store)
    needs_ws = not args.partners or args.school or args.place or args.open
    ws = open_workspace(args) if needs_ws else None
    index = _load_index(args.partners, ws, public=not args.staff)
    roads = None
    if args.mode:
        from assetmap.roads import load_network
        from assetmap.settings import get_settings

        roads = load_network(args.store or get_settings().store_location)
    elif args.max_minutes is not None:
        raise InputError("--max-minutes needs a travel mode, e.g. --mode walk --max-minutes 20")
    res = near(
        index,
        schools=ws.schools() if ws is not None else None,
        gazetteer=ws.gazetteer() if ws is not None else None,
        lat=args.lat,
        lon=args.lon,
        school=args.school,
        place=args.place,
        needs=args.need,
        categories=args.category,
        languages=args.language,
        radius_km=args.radius_km,
        limit=args.limit,
        open_at=args.open,
        programs=_workspace_programs(ws, public=not args.staff) if args.open else (),
        mode=args.mode,
        max_minutes=args.max_minutes,
        roads=roads,
    )
    fields = (*JSON_FIELDS, "open_programs") if args.open else JSON_FIELDS
    fields = fields + (TRAVEL_FIELDS if args.mode else ())
    records = [{k: r.get(k) for k in fields} for r in partners_to_records(res)]
    for r in records:  # placement quality travels with the distance: "about 2 mi, ZIP area"
        quality = r.get("geocode_quality") or "exact"
        r["geocode_quality"] = quality
        r["placement"] = placement_label(quality)
        r["distance"] = distance_text(r.get("distance_km"), quality)
    stale = source_stale_flags([r.get("as_of") for r in records])
    for r, st in zip(records, stale, strict=True):  # the source layer's vintage
        r["as_of"] = str(r["as_of"])[:10] if r.get("as_of") is not None else None
        r["source_stale"] = st
    if args.json:
        json.dump(records, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return 0
    origin = res.attrs.get("origin")
    print(f"{len(records)} partners near {origin.label if origin else 'the point'}")
    for r in records:
        flag = " [EXAMPLE, fictional]" if is_example(r.get("source")) else ""
        langs = ",".join(r["languages"] or []) or "unknown"
        how = ""
        if args.mode:
            est = " (estimated)" if r["travel_time_basis"] == "estimated" else ""
            how = f"{r['travel_minutes']:5.1f} min {r['mode']}{est}  "
        print(f"{how}{r['distance']:>22}  {r['name']}{flag}  [{r['category']}]  languages: {langs}")
        if args.open:
            print(f"            open: {'; '.join(r['open_programs'] or []) or r['hours'] or '-'}")
    return 0


def _workspace_programs(ws, *, public: bool) -> list:
    """Programs of the workspace (public ones unless staff)."""
    from assetmap.programs import list_programs

    progs = list_programs(ws.store)
    return [p for p in progs if p.get("public", True)] if public else progs
