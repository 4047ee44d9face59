"""``assetmap geocode`` (addresses to points) and ``assetmap import`` (any partner files to one
de-duplicated canonical partner file)."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from assetmap._errors import InputError

_GEOCODE_EXAMPLES = """examples:
  assetmap geocode partners.csv partners_geocoded.csv
  assetmap geocode sites.xlsx sites.geojson --address-column "Street Address" --address-column Town
  assetmap geocode families.csv out.csv --provider gazetteer      # never leaves this machine
  assetmap geocode partners.csv out.gpkg --json

Services and their base URLs come from config/settings.toml ([geocoding]) or
ASSETMAP_CENSUS_GEOCODER_URL / ASSETMAP_NOMINATIM_URL. Results from Nominatim are
© OpenStreetMap contributors, ODbL.
"""

_IMPORT_EXAMPLES = """examples:
  assetmap import state_libraries.geojson coalition.xlsx --out partners.gpkg
  assetmap import hospitals.geojson colleges.geojson --category anchor_hospital --category anchor_college --out anchors.csv
  assetmap import coalition.csv --mapping-source coalition --out partners.geojson --no-geocode

Column mappings are suggested from config/columns.toml (synonyms, then fuzzy matching) and
saved per source under var/mappings/<source>.json: edit that file to correct a mapping, and
the next file from the same source maps itself.
"""

FORMATS = (".csv", ".xlsx", ".geojson", ".gpkg")


def register(sub: argparse._SubParsersAction) -> None:
    g = sub.add_parser(
        "geocode",
        help="add lat/lon to an address file (Census, Nominatim, offline gazetteer)",
        description="Geocode every row of IN and write OUT with all input columns plus lat, lon, "
        "geocode_source and geocode_quality; rows that already have valid lat and lon columns keep "
        "them (geocode_source 'source'). OUT's extension picks the format "
        f"({', '.join(FORMATS)}). A summary (matched / fallback / failed) ends the run.",
        epilog=_GEOCODE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    g.add_argument("input", metavar="IN", help="CSV, XLSX, GeoJSON, GeoPackage or zipped shapefile")
    g.add_argument("output", metavar="OUT", help=f"output file ({', '.join(FORMATS)})")
    g.add_argument(
        "--provider",
        action="append",
        choices=("census", "nominatim", "gazetteer"),
        help="use only these providers, in this order (repeatable; default from settings)",
    )
    g.add_argument(
        "--address-column",
        action="append",
        metavar="COLUMN",
        help="column(s) holding the address; several are joined into one line "
        "(default: found from the headers, e.g. Address, City, State, Zip)",
    )
    g.add_argument(
        "--offline",
        action="store_true",
        help="never contact an outside service (gazetteer only); use for private addresses",
    )
    g.add_argument(
        "--personal-data-ok",
        action="store_true",
        help="geocode a file that looks like family or student records anyway (its addresses "
        "go to the outside services unless --offline, and are never cached)",
    )
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    g.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    _gazetteer_arg(g)
    g.set_defaults(handler=_geocode)

    imp = sub.add_parser(
        "import",
        help="map, geocode and de-duplicate partner files into one canonical partner file",
        description="Read each FILE, map its columns onto the canonical partner columns (saved "
        "per source), normalise, geocode rows without coordinates, merge duplicate sites across "
        "files (with per-field provenance), and write the result to --out.",
        epilog=_IMPORT_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    imp.add_argument("files", metavar="FILE", nargs="+", help="partner files, most trusted first")
    imp.add_argument("--out", required=True, help=f"output file ({', '.join(FORMATS)})")
    imp.add_argument(
        "--mapping-source",
        action="append",
        metavar="KEY",
        help="name under which each file's column mapping is saved (once for all files, or once "
        "per file in order; default: the file name without extension)",
    )
    imp.add_argument(
        "--category",
        action="append",
        metavar="CODE",
        help="category for rows whose file gives none or an unknown one (once for all files, or "
        "once per file in order), e.g. library",
    )
    imp.add_argument(
        "--no-geocode", action="store_true", help="do not geocode rows without coordinates"
    )
    imp.add_argument(
        "--provider",
        action="append",
        choices=("census", "nominatim", "gazetteer"),
        help="geocoding providers, in order (repeatable; default from settings)",
    )
    imp.add_argument(
        "--threshold",
        type=float,
        default=85.0,
        help="merge pairs scoring at least this (default 85)",
    )
    imp.add_argument(
        "--review-threshold",
        type=float,
        default=60.0,
        help="list pairs scoring at least this for review (default 60)",
    )
    imp.add_argument("--no-progress", action="store_true", help="no progress bar")
    imp.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    _gazetteer_arg(imp)
    imp.set_defaults(handler=_import)


def _gazetteer_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--store",
        metavar="LOCATION",
        help="workspace whose place gazetteer (its towns and schools' cities, every US ZIP) the "
        "offline provider uses; without it, the shipped Connecticut gazetteer",
    )


def _workspace_gazetteer(args: argparse.Namespace):
    """The offline provider over the workspace's gazetteer (None: the Geocoder's default)."""
    if not getattr(args, "store", None):
        return None
    from assetmap.geocode import Gazetteer
    from assetmap.workspace import Workspace

    with Workspace.open(args.store) as ws:
        return Gazetteer(ws.gazetteer(), states=ws.states)


# ------------------------------------------------------------------ shared helpers


def _check_out(path: str) -> Path:
    out = Path(path)
    if out.suffix.lower() not in FORMATS:
        raise InputError(
            f"{path}: cannot tell the output format from '{out.suffix or '(no extension)'}'; "
            f"end the name with one of {', '.join(FORMATS)}, e.g. out.csv"
        )
    if not out.parent.exists():
        raise InputError(f"{path}: the folder {out.parent} does not exist; create it first")
    return out


def _progress_bar(
    enabled: bool, desc: str
) -> tuple[Callable[[int, int], None] | None, Callable[[], None]]:
    if not enabled:
        return None, lambda: None
    from tqdm import tqdm

    bar = tqdm(
        total=0, desc=desc, unit="addr", file=sys.stderr, dynamic_ncols=True, mininterval=0.2
    )

    def update(done: int, total: int) -> None:
        if bar.total != total:
            bar.total = total
        bar.n = done
        bar.refresh()

    return update, bar.close


def _to_text_cells(df: pd.DataFrame) -> pd.DataFrame:
    """Lists as ``;``-joined text and dicts as JSON text (GIS formats hold neither)."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = [
                ";".join(map(str, v))
                if isinstance(v, list | tuple)
                else json.dumps(v, ensure_ascii=False, sort_keys=True, default=str)
                if isinstance(v, dict)
                else v
                for v in out[col]
            ]
    return out


def write_frame(df: pd.DataFrame, path: Path) -> None:
    """Write a table with ``lat``/``lon`` columns in the format of ``path``.

    CSV and XLSX go through the project's formula-safe writers (:mod:`assetmap.export`);
    GeoJSON and GeoPackage get a point per row with coordinates (rows without keep no geometry).
    """
    import geopandas as gpd

    from assetmap.export._common import atomic_path
    from assetmap.export._tabular import write_csv, write_xlsx

    suffix = path.suffix.lower()
    frame = _to_text_cells(df)
    with atomic_path(path, suffix=suffix) as tmp:
        if suffix == ".csv":
            write_csv(frame, tmp)
            return
        if suffix == ".xlsx":
            write_xlsx({"geocoded": frame}, tmp)
            return
        lat = pd.to_numeric(frame["lat"], errors="coerce")
        lon = pd.to_numeric(frame["lon"], errors="coerce")
        points = [
            None if (math.isnan(y) or math.isnan(x)) else p
            for p, y, x in zip(gpd.points_from_xy(lon, lat), lat, lon, strict=True)
        ]
        gdf = gpd.GeoDataFrame(
            frame, geometry=gpd.GeoSeries(points, crs="EPSG:4326"), crs="EPSG:4326"
        )
        if suffix == ".geojson":
            gdf.to_file(tmp, driver="GeoJSON", engine="pyogrio")
        else:
            gdf.to_file(tmp, driver="GPKG", layer=path.stem, engine="pyogrio")


def _read(path: str) -> pd.DataFrame:
    from assetmap.io import read_any

    if not Path(path).exists():
        raise InputError(f"{path}: no such file; check the name and folder")
    frame, report = read_any(path)
    if report.errors and len(frame) == 0:
        raise InputError(f"{path}: nothing could be read", report=report)
    return frame


def _per_file(values: Sequence[str] | None, files: Sequence[str], what: str) -> list[str | None]:
    if not values:
        return [None] * len(files)
    if len(values) == 1:
        return [values[0]] * len(files)
    if len(values) == len(files):
        return list(values)
    raise InputError(
        f"{len(values)} {what} values for {len(files)} files; give it once for all files or once "
        f"per file, in the order of the files"
    )


# ------------------------------------------------------------------ geocode


def _geocode(args: argparse.Namespace) -> int:
    import geopandas as gpd

    from assetmap.geocode import Geocoder, geocode_frame

    out_path = _check_out(args.output)
    frame = _read(args.input)
    if isinstance(frame, gpd.GeoDataFrame):
        frame = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    from assetmap.needs import personal_record_columns

    personal = personal_record_columns(frame)
    if personal and not (args.personal_data_ok or args.offline):
        cols = "; ".join(f"{c} ({r})" for c, r in list(personal.items())[:6])
        raise InputError(
            f"{args.input} looks like family or student records ({cols}); its home addresses "
            "would be sent to outside geocoders. Use --offline (town/ZIP only, nothing leaves "
            "this machine), remove those columns, or pass --personal-data-ok to go ahead "
            "(addresses are then never cached)."
        )
    providers = ("gazetteer",) if args.offline else args.provider
    geocoder = Geocoder(
        providers=providers,
        allow_external=not args.offline,
        cache=not personal,
        gazetteer=_workspace_gazetteer(args),
    )
    update, close = _progress_bar(not args.no_progress, "geocoding")
    started = time.perf_counter()
    try:
        result = geocode_frame(
            frame,
            address_columns=args.address_column,
            geocoder=geocoder,
            allow_external=not args.offline,
            keep_existing=True,
            progress=update,
        )
    finally:
        close()
    seconds = time.perf_counter() - started
    write_frame(result.reset_index(drop=True), out_path)
    summary = dict(result.attrs["geocode_summary"])
    summary.update({"input": args.input, "output": str(out_path), "seconds": round(seconds, 3)})
    if args.json:
        sys.stdout.write(json.dumps(summary, ensure_ascii=False, indent=2) + "\n")
    else:
        _print_geocode_summary(summary)
    return 0


def _print_geocode_summary(s: dict[str, Any]) -> None:
    w = sys.stdout.write
    sources = ", ".join(f"{k} {v}" for k, v in sorted(s["by_source"].items()))
    kept = f", {s['kept']} kept their own coordinates" if s.get("kept") else ""
    w(
        f"geocoded {s['total']} rows in {s['seconds']:.1f} s: {s['matched']} matched, "
        f"{s['fallback']} fallback (town/ZIP centroid), {s['failed']} failed{kept} "
        f"(by source: {sources or 'none'})\n"
    )
    w(f"wrote {s['output']}\n")
    for f in s["failures"][:20]:
        w(
            f"  not geocoded: row {f['row']}: {f['address'] or '(empty address)'} — {f['status']}: {f['reason']}\n"
        )
    if len(s["failures"]) > 20:
        w(f"  … and {len(s['failures']) - 20} more (use --json for the full list)\n")
    for e in s["provider_errors"]:
        sys.stderr.write(f"assetmap: warning: {e}\n")
    if s.get("attribution") and s["by_source"].get("nominatim"):
        w(f"Nominatim results: {s['attribution']}\n")


# ------------------------------------------------------------------ import


def _why_not_loaded(per_file: list[dict[str, Any]]) -> str:
    """Per file: the missing fields and the closest columns, or its first errors."""
    lines = []
    for f in per_file:
        name = Path(f["file"]).name
        missing = f.get("missing_fields") or {}
        if missing:
            parts = [
                f"{fld} (closest columns: {', '.join(map(repr, near)) or 'none'})"
                for fld, near in missing.items()
            ]
            lines.append(f"  {name}: missing {'; '.join(parts)}")
        elif f["errors"]:
            lines.append(f"  {name}: " + " | ".join(f["errors"][:3]))
        else:
            lines.append(f"  {name}: {f['rows_read']} rows read, none usable")
    return "\n".join(lines)


def _import(args: argparse.Namespace) -> int:
    import geopandas as gpd
    from shapely.geometry import Point

    from assetmap.dedupe import dedupe, provenance_to_text
    from assetmap.export import export_partners
    from assetmap.geocode import Geocoder, geocode_frame
    from assetmap.model import PARTNER_COLUMNS
    from assetmap.onboard import load_mapping, save_mapping, suggest_mapping
    from assetmap.schema import normalize_partners
    from assetmap.taxonomy import load_taxonomy

    out_path = _check_out(args.out)
    keys = _per_file(args.mapping_source, args.files, "--mapping-source")
    cats = _per_file(args.category, args.files, "--category")
    tax = load_taxonomy()
    for c in {c for c in cats if c}:
        if c not in tax.categories:
            raise InputError(
                f"--category {c!r} is not a category code; use one of {', '.join(sorted(tax.categories))}"
            )
    frames: list[gpd.GeoDataFrame] = []
    per_file: list[dict[str, Any]] = []
    for path, key, cat in zip(args.files, keys, cats, strict=True):
        raw = _read(path)
        key = key or Path(path).stem
        saved = load_mapping(key) or {}
        columns = [
            c
            for c in raw.columns
            if not (isinstance(raw, gpd.GeoDataFrame) and c == raw.geometry.name)
        ]
        suggestions = suggest_mapping(columns, source_key=key if saved else None)
        mapping = {s.source_column: s.canonical for s in suggestions}
        new_cols = [c for c in columns if c not in saved]
        if new_cols or not saved:
            save_mapping(key, mapping)
        gdf, report = normalize_partners(raw, file=Path(path).name, mapping=mapping)
        if cat:
            unknown = gdf["category"].isin(["other", "", None]) | gdf["category"].isna()
            gdf.loc[unknown, "category"] = cat
            defaults = list(tax.categories[cat].default_services)
            if defaults:
                no_svc = [not v for v in gdf["services"]]
                gdf["services"] = [
                    defaults if e else v for v, e in zip(gdf["services"], no_svc, strict=True)
                ]
                gdf["services_inferred"] = [
                    defaults if e else v
                    for v, e in zip(gdf["services_inferred"], no_svc, strict=True)
                ]
        per_file.append(
            {
                "file": path,
                "mapping_source": key,
                "mapping": {k: v for k, v in mapping.items() if v},
                "unmapped": [k for k, v in mapping.items() if not v],
                "rows_read": report.rows_read,
                "rows_loaded": report.rows_loaded,
                "errors": [p.describe() for p in report.errors],
                "missing_fields": report.notes.get("missing_fields", {}),
                "warnings": len(report.warnings),
            }
        )
        if len(gdf):
            frames.append(gdf)
    if not frames:
        raise InputError("no partner rows could be loaded:\n" + _why_not_loaded(per_file))
    allp = gpd.GeoDataFrame(
        pd.concat(frames, ignore_index=True), geometry="geometry", crs="EPSG:4326"
    )
    # partner ids must be unique across files
    seen: set[str] = set()
    ids = []
    for pid, src in zip(allp["partner_id"], allp["source"], strict=True):
        pid = str(pid)
        if pid in seen:
            pid = f"{Path(str(src)).stem}:{pid}"
        seen.add(pid)
        ids.append(pid)
    allp["partner_id"] = ids
    geo_summary: dict[str, Any] = {}
    missing = allp.geometry.isna() | allp.geometry.is_empty
    if missing.any() and not args.no_geocode:
        sub = pd.DataFrame(allp.loc[missing, ["address", "city", "state", "postal_code"]])
        update, close = _progress_bar(not args.no_progress, "geocoding")
        try:
            coded = geocode_frame(
                sub,
                address_columns={
                    "street": "address",
                    "city": "city",
                    "state": "state",
                    "zip": "postal_code",
                },
                geocoder=Geocoder(providers=args.provider, gazetteer=_workspace_gazetteer(args)),
                keep_existing=False,
                progress=update,
            )
        finally:
            close()
        geo_summary = coded.attrs["geocode_summary"]
        for idx, row in coded.iterrows():
            if not math.isnan(row["lat"]):
                allp.loc[idx, "geometry"] = Point(row["lon"], row["lat"])
            allp.loc[idx, "geocode_source"] = row["geocode_source"]
            allp.loc[idx, "geocode_quality"] = row["geocode_quality"]
    result = dedupe(allp, threshold=args.threshold, review_threshold=args.review_threshold)
    partners = result.partners
    cols = [c for c in PARTNER_COLUMNS if c in partners.columns and c != "geometry"]
    export_partners(provenance_to_text(partners[[*cols, "provenance", "geometry"]]), out_path)
    summary = {
        "files": per_file,
        "rows_loaded": int(len(allp)),
        "sites": int(len(partners)),
        "merged_pairs": int(len(result.merged)),
        "records_merged_away": int(len(allp) - len(partners)),
        "without_location": int((partners.geometry.isna() | partners.geometry.is_empty).sum()),
        "geocode": geo_summary,
        "review": [
            {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
            for r in result.review.drop(columns=["left", "right"]).to_dict("records")
        ],
        "output": str(out_path),
    }
    if args.json:
        sys.stdout.write(json.dumps(summary, ensure_ascii=False, indent=2, default=str) + "\n")
        return 0
    w = sys.stdout.write
    for f in per_file:
        mapped_txt = ", ".join(f"{k} -> {v}" for k, v in f["mapping"].items())
        w(
            f"{f['file']}: {f['rows_loaded']} of {f['rows_read']} rows loaded (mapping '{f['mapping_source']}': {mapped_txt})\n"
        )
        if f["unmapped"]:
            w(f"  columns not mapped (kept out): {', '.join(map(str, f['unmapped']))}\n")
        for e in f["errors"][:10]:
            w(f"  error: {e}\n")
    if geo_summary:
        w(
            f"geocoded {geo_summary['total']} rows without coordinates: {geo_summary['matched']} matched, "
            f"{geo_summary['fallback']} fallback, {geo_summary['failed']} failed\n"
        )
    w(
        f"{summary['rows_loaded']} records -> {summary['sites']} sites "
        f"({summary['records_merged_away']} duplicates merged); wrote {out_path}\n"
    )
    if summary["without_location"]:
        w(
            f"{summary['without_location']} sites have no location (run 'assetmap geocode' or add lat/lon)\n"
        )
    if summary["review"]:
        w(f"{len(summary['review'])} pairs to review (possible duplicates, not merged):\n")
        for r in summary["review"]:
            w(
                f"  {r['score']:5.1f}  {r['left_id']} {r['left_name']!r} ~ {r['right_id']} {r['right_name']!r}: {r['reasons']}\n"
            )
    return 0
